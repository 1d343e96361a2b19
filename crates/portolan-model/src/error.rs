//! Load errors: what stops a spec from being read at all (I/O, TOML syntax, wrong types,
//! unknown keys, invalid values). Each carries the location and, when we can guess, a help
//! line such as "did you mean `port`?". Semantic problems are findings, not errors.

use std::path::PathBuf;

use crate::source::{Loc, SourceMap};

/// One error in a spec file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// Where (`None` when the whole file is concerned and it is empty).
    pub loc: Option<Loc>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
    /// Other places that matter (e.g. the first definition of a duplicate).
    pub related: Vec<(Loc, String)>,
}

impl SpecError {
    /// An error at `loc`.
    pub fn new(loc: Option<Loc>, message: impl Into<String>) -> Self {
        Self {
            loc,
            message: message.into(),
            help: None,
            related: Vec::new(),
        }
    }

    /// Adds a help line.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// Why a spec could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A file or directory could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// No spec was found.
    #[error("{message}")]
    NotFound {
        /// What was searched.
        message: String,
    },
    /// The spec is malformed.
    #[error("{}", summary(errors, sources))]
    Invalid {
        /// The files, for rendering snippets.
        sources: Box<SourceMap>,
        /// The errors, in file order.
        errors: Vec<SpecError>,
    },
}

fn summary(errors: &[SpecError], sources: &SourceMap) -> String {
    errors
        .iter()
        .map(|e| match e.loc {
            Some(loc) => format!("{}: {}", sources.position(loc), e.message),
            None => e.message.clone(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The closest of `candidates` to `given`, when close enough to be a typo: an edit distance
/// (with transpositions) of 1 for short names, 2 for longer ones, or a Jaro-Winkler
/// similarity of at least 0.85.
pub fn did_you_mean<'a>(
    given: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let given_l = given.to_ascii_lowercase();
    let max_edits = if given_l.chars().count() <= 3 { 1 } else { 2 };
    candidates
        .into_iter()
        .filter_map(|c| {
            let cl = c.to_ascii_lowercase();
            let edits = strsim::osa_distance(&given_l, &cl);
            let jw = strsim::jaro_winkler(&given_l, &cl);
            (edits <= max_edits || jw >= 0.85).then_some((edits, -jw, c))
        })
        .min_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)).then(a.2.cmp(b.2)))
        .map(|(_, _, c)| c)
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(did_you_mean("prot", ["port", "host", "bind"]), Some("port"));
        assert_eq!(
            did_you_mean("exposre", ["exposure", "publisher"]),
            Some("exposure")
        );
        assert_eq!(did_you_mean("zzz", ["port", "host"]), None);
        assert_eq!(did_you_mean("tpc", ["tcp", "udp"]), Some("tcp"));
        assert_eq!(
            did_you_mean("dashbaord", ["dashboard", "inventory"]),
            Some("dashboard")
        );
    }
}
