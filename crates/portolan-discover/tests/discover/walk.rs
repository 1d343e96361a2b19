//! walking fixture repositories.
