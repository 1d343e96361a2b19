//! Report formats for findings and spec errors: `human` (rustc-style snippets with carets),
//! `json` (the finding shape of DESIGN.md) and `sarif` (SARIF 2.1.0 for code-scanning UIs).

pub mod group;
pub mod human;
pub mod json;
pub mod pretty;
pub mod sarif;

/// An output format of `lint`/`check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// rustc-style text.
    Human,
    /// JSON.
    Json,
    /// SARIF 2.1.0.
    Sarif,
}
