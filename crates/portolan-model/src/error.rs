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
    /// A spec file is larger than [`crate::load::MAX_SPEC_BYTES`] (or the caller's limit).
    #[error("{} is {size} bytes, more than the limit of {limit} bytes for a spec file", path.display())]
    TooLarge {
        /// The path.
        path: PathBuf,
        /// Its size (at least; a file that grows while read is cut off at the limit).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// A spec path names a FIFO, device or socket: reading it could block or never end.
    #[error("{} is a {kind}, not a regular file; a spec is read from a regular file", path.display())]
    NotRegular {
        /// The path.
        path: PathBuf,
        /// What it is (`FIFO`, `character device`, …).
        kind: &'static str,
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
    closest(given, candidates)
}

/// [`did_you_mean`] over candidates of any string type (owned ones are built on the fly),
/// returning the suggestion as a `String`.
pub fn did_you_mean_owned<S: AsRef<str>>(
    given: &str,
    candidates: impl IntoIterator<Item = S>,
) -> Option<String> {
    closest(given, candidates).map(|c| c.as_ref().to_string())
}

fn lower(s: &str) -> std::borrow::Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(s.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

fn closest<S: AsRef<str>>(given: &str, candidates: impl IntoIterator<Item = S>) -> Option<S> {
    let given_l = lower(given);
    let max_edits = if given_l.chars().count() <= 3 { 1 } else { 2 };
    let mut best: Option<(usize, f64, S)> = None;
    for c in candidates {
        let cl = lower(c.as_ref());
        let jw = strsim::jaro_winkler(&given_l, &cl);
        // the edit distance is at least the difference in length: skip computing it for a
        // candidate that could not qualify anyway
        if jw < 0.85 && given_l.chars().count().abs_diff(cl.chars().count()) > max_edits {
            continue;
        }
        let edits = strsim::osa_distance(&given_l, &cl);
        if edits > max_edits && jw < 0.85 {
            continue;
        }
        let better = best.as_ref().is_none_or(|(e, j, b)| {
            edits
                .cmp(e)
                .then((-jw).total_cmp(&-j))
                .then(c.as_ref().cmp(b.as_ref()))
                .is_lt()
        });
        if better {
            best = Some((edits, jw, c));
        }
    }
    best.map(|(_, _, c)| c)
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
