//! Integration tests of the `portolan` binary (one test binary for the crate).

mod alloc;
mod commands;
mod config;
mod containers;
mod diffs;
mod discover;
mod engine;
mod errors;
mod examples;
mod exit_codes;
mod expect_input;
mod expect_live;
mod expect_mutations;
mod firewall;
mod r#gen;
mod harness;
mod identity;
mod import;
mod install;
mod json_contract;
mod moves;
mod netns;
mod observe;
mod output;
mod reach;
mod readme;
#[cfg(feature = "registry")]
mod registry;
#[cfg(feature = "registry")]
mod roundtrip;
mod rules;
mod secrets;
mod why;
mod wording;
