//! # portolan-render
//!
//! Everything portolan writes from a spec, one generator per target behind one
//! [`Generator`] trait (like capirca): adding a target touches one file in `targets/` plus
//! its tests. Generators read the resolved model, the reach analysis and the lint report;
//! they never re-parse a source format. Output is deterministic (sorted, stable).
//!
//! A generator returns its text plus **warnings**: whatever the spec says that the target
//! cannot express (an FQDN egress flow for iptables, a Docker-published port for ufw). Each
//! warning is also written as a comment into the output, so the file never silently
//! disagrees with the spec; the CLI repeats them on stderr. (JSON has no comments: `aws-sg`
//! explains its rules in their `Description`s and reports warnings only here.)
//!
//! Deployable per-machine targets (firewalls, compose, nginx) say so with
//! [`Generator::per_host`]; they render the one host selected by `--host` (or the only host
//! in scope).
#![deny(missing_docs)]

pub(crate) mod common;
pub(crate) mod fw;
mod table;
#[cfg(test)]
mod testutil;

/// The generators, one module per file of `src/targets/` (collected by `build.rs`).
pub mod targets {
    include!(concat!(env!("OUT_DIR"), "/targets.rs"));
}

use portolan_lint::{Analysis, Report};
use portolan_model::{Binding, BindingId, HostId, Model};

pub use table::Table;

/// What a generator reads.
pub struct RenderContext<'a> {
    /// The spec.
    pub model: &'a Model,
    /// Reach of every binding.
    pub analysis: &'a Analysis,
    /// Current lint findings (empty unless the generator [needs
    /// them](Generator::needs_findings)).
    pub report: &'a Report,
    /// Only this environment, when set.
    pub environment: Option<&'a str>,
    /// Only this host, when set.
    pub host: Option<&'a str>,
    /// The allocation/change log as a Markdown table (read by the caller from the log beside
    /// the spec), for targets that document history.
    pub change_log: Option<&'a str>,
}

impl RenderContext<'_> {
    /// Whether host `h` is selected by the environment and host filters.
    pub fn host_selected(&self, h: HostId) -> bool {
        let host = self.model.host(h);
        self.environment
            .is_none_or(|e| self.model.environment(host.environment).name == e)
            && self.host.is_none_or(|n| host.name == n)
    }

    /// The selected hosts, in name order.
    pub fn hosts(&self) -> Vec<HostId> {
        (0..self.model.hosts.len())
            .map(HostId::from_index)
            .filter(|h| self.host_selected(*h))
            .collect()
    }

    /// The binding instances on selected hosts, with their ids.
    pub fn bindings(&self) -> impl Iterator<Item = (BindingId, &Binding)> {
        self.model
            .binding_ids()
            .filter(|(_, b)| self.host_selected(b.host))
    }
}

/// A rendered output.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The file contents.
    pub text: String,
    /// What the target cannot express (also written into `text` as comments, where the
    /// format has them).
    pub warnings: Vec<String>,
}

impl From<String> for Rendered {
    fn from(text: String) -> Self {
        Self {
            text,
            warnings: Vec::new(),
        }
    }
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
    /// File name extension of the output (`nft`, `yml`), for files written per target.
    fn extension(&self) -> &'static str;
    /// Renders the whole output.
    fn render(&self, cx: &RenderContext<'_>) -> Result<Rendered, RenderError>;
    /// Whether the output is deployed on one machine (needs exactly one host in scope).
    fn per_host(&self) -> bool {
        false
    }
    /// Whether the output reads [`RenderContext::report`]. When not, the caller may pass an
    /// empty report and skip the lint rules (a tenth of `gen`'s time on a large spec).
    fn needs_findings(&self) -> bool {
        false
    }
}

impl std::fmt::Debug for dyn Generator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Every target, by name.
pub fn generators() -> &'static [&'static dyn Generator] {
    static ALL: std::sync::LazyLock<Vec<&'static dyn Generator>> = std::sync::LazyLock::new(|| {
        let mut all: Vec<&'static dyn Generator> = targets::BY_FILE
            .iter()
            .flat_map(|g| g.iter().copied())
            .collect();
        all.sort_by_key(|g| g.name());
        all
    });
    &ALL
}

/// The target called `name`.
pub fn generator(name: &str) -> Option<&'static dyn Generator> {
    generators().iter().copied().find(|g| g.name() == name)
}

#[cfg(test)]
mod layout_tests {
    /// `cargo fmt` cannot reach the target files (their `mod` declarations come from the
    /// build script), so they are checked here, where every engineer's `cargo test` runs.
    #[test]
    fn target_files_are_rustfmt_clean() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/targets");
        let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
            .expect("src/targets")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "rs"))
            .collect();
        files.sort();
        let out = std::process::Command::new("rustfmt")
            .args(["--edition", "2024", "--check"])
            .args(&files)
            .output()
            .expect("rustfmt is installed with the toolchain");
        assert!(
            out.status.success(),
            "run `rustfmt --edition 2024 crates/portolan-render/src/targets/*.rs`:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}
