//! Integration tests of the `portolan` binary (one test binary for the crate).

mod alloc;
mod commands;
mod errors;
mod examples;
mod harness;
mod observe;
mod rules;
