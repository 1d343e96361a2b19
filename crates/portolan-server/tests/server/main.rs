//! portolan-server's integration tests: one test binary, one module per area.
#![allow(clippy::doc_markdown)]

mod web;
