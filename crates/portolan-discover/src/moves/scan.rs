//! The one walk `move` makes: every text file under the roots that holds the port, parsed
//! by its format's parser, plus every compose file whether or not it holds the port (a
//! compose file says which service publishes what, which variables feed which side, and
//! which files belong to which service).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::evidence::{Location, PortUse, Problem, SourceKind};
use crate::text::looks_binary;
use crate::walk::{self, Guess, WalkOptions};

/// One file read.
#[derive(Debug, Clone)]
pub(super) struct Scanned {
    /// The file as walked.
    pub file: PathBuf,
    /// Its path relative to the root it was found under (`/`-separated).
    pub relative: PathBuf,
    /// How it is shown (`api/Dockerfile`).
    pub shown: String,
    /// Its text (valid UTF-8; other files are never rewritten and are skipped).
    pub text: String,
    /// What its format's parser says.
    pub uses: Vec<PortUse>,
    /// Its format, when it has one.
    pub kind: Option<SourceKind>,
    /// Whether the number being moved occurs in it.
    pub has_needle: bool,
    /// For a compose file: which files each of its services owns.
    pub owned: Vec<crate::compose::OwnedPaths>,
}

/// Walks `roots`; returns the files worth judging, sorted by path, and what could not be
/// read.
pub(super) fn scan(
    roots: &[PathBuf],
    needle: &str,
    exclude: &BTreeSet<PathBuf>,
    opts: &WalkOptions,
) -> (Vec<Scanned>, Vec<Problem>) {
    let Some(builder) = walk::builder(roots, opts) else {
        return (Vec::new(), Vec::new());
    };
    let out: Mutex<(Vec<Scanned>, Vec<Problem>)> = Mutex::new((Vec::new(), Vec::new()));
    builder.build_parallel().run(|| {
        let out = &out;
        Box::new(move |entry| {
            let mut files = Vec::new();
            let mut problems = Vec::new();
            match entry {
                Err(e) => problems.push(Problem {
                    at: Location::new("<walk>", 1, 1),
                    reason: format!("skipped: {e}"),
                }),
                Ok(e) if e.file_type().is_some_and(|ft| ft.is_file()) => {
                    // a path lookup only for files named like an excluded one
                    let excluded = exclude.iter().any(|x| x.file_name() == Some(e.file_name()))
                        && std::fs::canonicalize(e.path()).is_ok_and(|c| exclude.contains(&c));
                    if !excluded {
                        read(e.path(), roots, needle, opts, &mut files, &mut problems);
                    }
                }
                Ok(_) => {}
            }
            if !(files.is_empty() && problems.is_empty())
                && let Ok(mut o) = out.lock()
            {
                o.0.extend(files);
                o.1.extend(problems);
            }
            ignore::WalkState::Continue
        })
    });
    let (mut files, mut problems) = out
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    files.sort_by(|a, b| a.shown.cmp(&b.shown));
    problems.sort();
    problems.dedup();
    (files, problems)
}

fn read(
    path: &Path,
    roots: &[PathBuf],
    needle: &str,
    opts: &WalkOptions,
    files: &mut Vec<Scanned>,
    problems: &mut Vec<Problem>,
) {
    let shown = {
        let p = path.strip_prefix(".").unwrap_or(path);
        p.to_string_lossy().into_owned()
    };
    let guess = walk::classify(path);
    let is_compose = guess == Some(Guess::Is(SourceKind::Compose));
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    if meta.len() > opts.max_filesize {
        return;
    }
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            problems.push(Problem {
                at: Location::new(shown, 1, 1),
                reason: format!("cannot read: {e}"),
            });
            return;
        }
    };
    let has_needle = memchr::memmem::find(&bytes, needle.as_bytes()).is_some();
    if !(has_needle || is_compose) || looks_binary(&bytes) {
        return;
    }
    // only valid UTF-8 is rewritten: a lossy copy would change other bytes
    let Ok(text) = String::from_utf8(bytes) else {
        return;
    };
    let (uses, kind) = match guess {
        Some(g) => {
            let report = walk::parse_text(path, &shown, g, &text);
            let kind = match g {
                Guess::Is(k) => Some(k),
                _ => report.uses.first().map(|u| u.source),
            };
            (report.uses, kind)
        }
        None => (Vec::new(), None),
    };
    let owned = if is_compose {
        crate::compose::owned_paths(&shown, &text)
    } else {
        Vec::new()
    };
    let relative = roots
        .iter()
        .find_map(|r| path.strip_prefix(r).ok())
        .unwrap_or(path)
        .to_path_buf();
    files.push(Scanned {
        file: path.to_path_buf(),
        relative,
        shown,
        text,
        uses,
        kind,
        has_needle,
        owned,
    });
}
