//! The generators, one module per target.

pub mod markdown;
