//! The discovery crate's integration tests: one binary (each extra test binary costs a link),
//! one module per concern.

mod corpus;
mod drafts;
mod hostile;
mod import_corpus;
mod import_input;
mod markdown;
mod moves;
mod text_formats;
mod walk;
mod yaml;
