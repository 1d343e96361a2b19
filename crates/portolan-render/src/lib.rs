//! # portolan-render
//!
//! Everything portolan writes from a spec, one generator per target behind one
//! [`Generator`] trait (like capirca): adding a target touches one file in `targets/` plus
//! its tests. Generators read the resolved model, the reach analysis and the lint report;
//! they never re-parse a source format. Output is deterministic (sorted, stable).
#![deny(missing_docs)]

mod table;
pub mod targets;

use portolan_lint::{Analysis, Report};
use portolan_model::Model;

pub use table::Table;

/// What a generator reads.
pub struct RenderContext<'a> {
    /// The spec.
    pub model: &'a Model,
    /// Reach of every binding.
    pub analysis: &'a Analysis,
    /// Current lint findings.
    pub report: &'a Report,
    /// Only this environment, when set.
    pub environment: Option<&'a str>,
}

/// Why rendering failed.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The spec cannot be expressed in the target.
    #[error("{target}: {message}")]
    Unsupported {
        /// Target name.
        target: &'static str,
        /// What cannot be expressed.
        message: String,
    },
}

/// One output target.
pub trait Generator: Sync {
    /// Target name on the command line (`markdown`).
    fn name(&self) -> &'static str;
    /// One line for `--help`.
    fn description(&self) -> &'static str;
    /// Renders the whole output.
    fn render(&self, cx: &RenderContext<'_>) -> Result<String, RenderError>;
}

/// Every target.
pub fn generators() -> &'static [&'static dyn Generator] {
    &[&targets::markdown::Markdown]
}

/// The target called `name`.
pub fn generator(name: &str) -> Option<&'static dyn Generator> {
    generators().iter().copied().find(|g| g.name() == name)
}
