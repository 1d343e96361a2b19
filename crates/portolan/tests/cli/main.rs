//! Integration tests of the `portolan` binary (one test binary for the crate).

mod alloc;
mod commands;
mod containers;
mod diffs;
mod discover;
mod engine;
mod errors;
mod examples;
mod expect_input;
mod expect_live;
mod expect_mutations;
mod firewall;
mod r#gen;
mod harness;
mod moves;
mod netns;
mod observe;
mod reach;
#[cfg(feature = "registry")]
mod registry;
#[cfg(feature = "registry")]
mod roundtrip;
mod rules;
mod why;
