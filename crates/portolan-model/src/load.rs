//! Reading a spec from disk: one file, or a directory of `*.toml` merged in name order;
//! finding `ports.toml` upward from a directory like git does; and turning TOML/serde errors
//! into located [`SpecError`]s with "did you mean" help.

use std::path::{Path, PathBuf};

use crate::error::{LoadError, SpecError, did_you_mean};
use crate::model::Model;
use crate::source::{FileId, Loc, SourceMap};
use crate::spec::SpecFile;

/// The spec file name searched for.
pub const SPEC_FILE: &str = "ports.toml";

/// Looks for `ports.toml` in `start` and its ancestors.
pub fn find_spec(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|d| d.join(SPEC_FILE))
        .find(|p| p.exists())
}

fn display_path(path: &Path) -> String {
    let cwd = std::env::current_dir().ok();
    let shown = cwd
        .as_deref()
        .and_then(|c| path.strip_prefix(c).ok())
        .unwrap_or(path);
    shown.display().to_string()
}

/// How the loader parses: the defaults suit every caller; tests set them to compare the
/// chunked and the one-piece parse of the same text.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// A single file of at least twice this many bytes is cut at table headers into chunks of
    /// about this size, parsed (and, for chunks of services only, resolved) in parallel with
    /// bounded memory; `0` parses every file in one piece. The result is the same either way.
    pub chunk_bytes: usize,
    /// Threads that parse and resolve chunks (default: `$PORTOLAN_THREADS`, else the number
    /// of cores).
    pub threads: usize,
}

impl Default for LoadOptions {
    fn default() -> Self {
        let threads = std::env::var("PORTOLAN_THREADS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
            });
        LoadOptions {
            chunk_bytes: crate::chunk::CHUNK_BYTES,
            threads,
        }
    }
}

/// Loads the spec at `path` (a file, or a directory of `*.toml` files merged in name order).
pub fn load(path: &Path) -> Result<Model, LoadError> {
    load_with(path, &LoadOptions::default())
}

/// [`load`] with explicit [`LoadOptions`].
pub fn load_with(path: &Path, options: &LoadOptions) -> Result<Model, LoadError> {
    let meta = std::fs::metadata(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let files: Vec<PathBuf> = if meta.is_dir() {
        let mut v: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|source| LoadError::Io {
                path: path.to_path_buf(),
                source,
            })?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml") && p.is_file())
            .collect();
        v.sort();
        if v.is_empty() {
            return Err(LoadError::NotFound {
                message: format!("directory {} contains no *.toml spec file", path.display()),
            });
        }
        v
    } else {
        vec![path.to_path_buf()]
    };
    let mut inputs = Vec::new();
    for p in files {
        let bytes = std::fs::read(&p).map_err(|source| LoadError::Io {
            path: p.clone(),
            source,
        })?;
        inputs.push((display_path(&p), p, bytes));
    }
    load_inputs(inputs, options)
}

/// Loads a spec from text (tests, fuzzing, stdin).
pub fn load_str(name: &str, text: &str) -> Result<Model, LoadError> {
    load_str_with(name, text, &LoadOptions::default())
}

/// [`load_str`] with explicit [`LoadOptions`].
pub fn load_str_with(name: &str, text: &str, options: &LoadOptions) -> Result<Model, LoadError> {
    load_inputs(
        vec![(
            name.to_string(),
            PathBuf::from(name),
            text.as_bytes().to_vec(),
        )],
        options,
    )
}

fn load_inputs(
    inputs: Vec<(String, PathBuf, Vec<u8>)>,
    options: &LoadOptions,
) -> Result<Model, LoadError> {
    crate::timings::phase("read");
    let mut sources = SourceMap::default();
    let mut errors = Vec::new();
    let mut parsed: Vec<(FileId, SpecFile)> = Vec::new();
    let mut texts = Vec::new();
    for (display, path, bytes) in inputs {
        match String::from_utf8(bytes) {
            Ok(text) => {
                let id = sources.add(&path, display, text);
                texts.push(id);
            }
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
                let id = sources.add(&path, display, text);
                errors.push(
                    SpecError::new(
                        Some(Loc::new(
                            id,
                            &(at..at + char::REPLACEMENT_CHARACTER.len_utf8()),
                        )),
                        "file is not UTF-8 text (a binary file?)",
                    )
                    .with_help("a spec is a TOML text file, see docs/spec.md"),
                );
            }
        }
    }
    let threads = options.threads.max(1);
    // One huge file: parse and resolve chunk by chunk (see `resolve_chunked`).
    if errors.is_empty()
        && let [id] = texts[..]
        && let Some(file) = sources.file(id)
    {
        let plan = crate::chunk::plan(&file.text, options.chunk_bytes);
        if plan.len() > 1 {
            let mut model = Model::default();
            return match crate::resolve::resolve_chunked(&file.text, id, &plan, threads, &mut model)
            {
                Err((message, span)) => Err(LoadError::Invalid {
                    sources: Box::new(sources),
                    errors: vec![toml_error(id, &message, span)],
                }),
                Ok(mut errors) if !errors.is_empty() => {
                    errors.sort_by_key(|e| e.loc);
                    Err(LoadError::Invalid {
                        sources: Box::new(sources),
                        errors,
                    })
                }
                Ok(_) => {
                    crate::timings::phase("resolve");
                    model.sources = sources;
                    Ok(model)
                }
            };
        }
    }
    for id in texts {
        let Some(file) = sources.file(id) else {
            continue;
        };
        let ranges: Vec<(usize, usize)> = crate::chunk::plan(&file.text, options.chunk_bytes)
            .iter()
            .map(|c| (c.start, c.end))
            .collect();
        match crate::chunk::parse_ranges(&file.text, &ranges, threads) {
            Ok(chunks) => parsed.extend(chunks.into_iter().map(|c| (id, c))),
            Err((message, span)) => errors.push(toml_error(id, &message, span)),
        }
    }
    crate::timings::phase("parse");
    if errors.is_empty() && parsed.iter().all(|(_, s)| is_empty(s)) {
        let id = parsed.first().map_or(FileId(0), |(id, _)| *id);
        errors.push(
            SpecError::new(Some(Loc::new(id, &(0..0))), "the spec is empty")
                .with_help("declare at least one project, host, network or service (`portolan init` writes a starter spec)"),
        );
    }
    if !errors.is_empty() {
        return Err(LoadError::Invalid {
            sources: Box::new(sources),
            errors,
        });
    }
    let mut model = Model::default();
    let errors = crate::resolve::resolve(&mut parsed, &mut model);
    crate::timings::phase("resolve");
    drop(parsed);
    crate::timings::phase("drop raw spec");
    model.sources = sources;
    if errors.is_empty() {
        Ok(model)
    } else {
        let mut errors = errors;
        errors.sort_by_key(|e| e.loc);
        Err(LoadError::Invalid {
            sources: Box::new(std::mem::take(&mut model.sources)),
            errors,
        })
    }
}

fn is_empty(s: &SpecFile) -> bool {
    s.spec.is_none()
        && s.networks.is_empty()
        && s.environments.is_empty()
        && s.hosts.is_empty()
        && s.projects.is_empty()
        && s.services.is_empty()
        && s.routes.is_empty()
        && s.flows.is_empty()
        && s.reservations.is_empty()
        && s.expect.is_empty()
        && s.lint.is_none()
}

/// Backticked words of a serde message (`unknown field `prot`, expected one of `port`, …`).
fn backticked(msg: &str) -> Vec<&str> {
    msg.split('`').skip(1).step_by(2).collect()
}

fn toml_error(file: FileId, message: &str, span: Option<std::ops::Range<usize>>) -> SpecError {
    let loc = span.map(|s| Loc::new(file, &s));
    let message = message.to_string();
    let mut err = SpecError::new(loc, message.clone());
    let words = backticked(&message);
    if (message.starts_with("unknown field") || message.starts_with("unknown variant"))
        && let Some((given, expected)) = words.split_first()
    {
        if let Some(s) = did_you_mean(given, expected.iter().copied()) {
            err.help = Some(format!("did you mean `{s}`?"));
            if let Some((head, _)) = message.split_once(", expected") {
                err.message = head.to_string();
            }
        } else if message.contains("there are no fields") {
            err.help = Some("this table takes no keys".into());
        } else if !expected.is_empty() {
            err.help = Some(format!("expected one of: {}", expected.join(", ")));
        }
    }
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errs(text: &str) -> Vec<SpecError> {
        match load_str("ports.toml", text) {
            Err(LoadError::Invalid { errors, .. }) => errors,
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("expected an error"),
        }
    }

    #[test]
    fn unknown_key_suggests() {
        let e = errs("[services.a]\nbindings.http = { prot = 80 }\n");
        assert!(e[0].message.contains("unknown field `prot`"), "{e:?}");
        assert_eq!(e[0].help.as_deref(), Some("did you mean `port`?"));
    }

    #[test]
    fn empty_and_binary() {
        assert!(errs("")[0].message.contains("empty"));
        assert!(errs("# only a comment\n")[0].message.contains("empty"));
        let e = load_inputs(
            vec![("b".into(), "b".into(), vec![0xff, 0xfe, 0])],
            &LoadOptions::default(),
        );
        assert!(matches!(e, Err(LoadError::Invalid { .. })));
    }

    #[test]
    fn bad_values_are_located() {
        for bad in [
            "port = 0",
            "port = 70000",
            "port = \"abc\"",
            "port = \"5399-5000\"",
        ] {
            let e = errs(&format!("[services.a.bindings.http]\n{bad}\n"));
            let loc = e[0].loc.expect("located");
            assert_eq!(loc.start, 27 + 7, "{bad}: {e:?}");
        }
        let e = errs("[networks]\nlan = \"192.168.1.10/24\"\n");
        assert_eq!(e[0].help, None);
        assert!(
            e[0].message.contains("did you mean 192.168.1.0/24"),
            "{e:?}"
        );
    }
}
