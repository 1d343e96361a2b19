//! Reading a spec from disk: one file, or a directory of `*.toml` merged in name order;
//! finding `ports.toml` upward from a directory like git does; and turning TOML/serde errors
//! into located [`SpecError`]s with "did you mean" help.

use std::path::{Path, PathBuf};

use crate::error::{LoadError, SpecError, did_you_mean};
use crate::model::Model;
use crate::source::{FileId, Loc, SourceMap};
use crate::spec::SpecFile;

/// A spec with more parse errors than this reports the first ones and says it stopped.
pub const MAX_ERRORS: usize = 50;

/// The spec file name searched for.
pub const SPEC_FILE: &str = "ports.toml";

/// The largest spec file read by default: 1 GiB, about three times a million-service spec.
/// Beyond it a file is refused before it is read (a 2 GB file of NULs once took 106 s and
/// 10.5 GB to reject).
pub const MAX_SPEC_BYTES: u64 = 1 << 30;

/// Bytes read at a time, each piece checked for NUL before the next is read.
const READ_PIECE: usize = 8 << 20;

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
    /// Threads that parse and resolve chunks (default: the number of cores).
    pub threads: usize,
    /// The largest file read, in bytes (default [`MAX_SPEC_BYTES`]).
    pub max_file_bytes: u64,
}

impl Default for LoadOptions {
    fn default() -> Self {
        // a library reads no environment variable: callers that want fewer threads say so
        let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        LoadOptions {
            chunk_bytes: crate::chunk::CHUNK_BYTES,
            threads,
            max_file_bytes: MAX_SPEC_BYTES,
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
        match read_spec_file(&p, options.max_file_bytes)? {
            SpecBytes::Text(bytes) => inputs.push((display_path(&p), p, bytes)),
            SpecBytes::Nul { bytes, at } => {
                let mut sources = SourceMap::default();
                let text = String::from_utf8_lossy(&bytes).into_owned();
                let id = sources.add(&p, display_path(&p), text);
                return Err(LoadError::Invalid {
                    sources: Box::new(sources),
                    errors: vec![
                        SpecError::new(
                            Some(Loc::new(id, &(at..at + 1))),
                            "NUL byte: the file is not a TOML text file (a binary file?)",
                        )
                        .with_help("a spec is a TOML text file, see docs/spec.md"),
                    ],
                });
            }
        }
    }
    load_inputs(inputs, options)
}

/// What [`read_spec_file`] read.
#[derive(Debug)]
pub enum SpecBytes {
    /// The whole file, with no NUL byte in it.
    Text(Vec<u8>),
    /// The file up to and including its first NUL byte, at offset `at`: TOML allows NUL
    /// nowhere, so the rest is not read.
    Nul {
        /// What was read.
        bytes: Vec<u8>,
        /// Offset of the NUL byte.
        at: usize,
    },
}

/// Reads a spec file within bounds: only a regular file (it is opened non-blocking, so a FIFO
/// in its place is refused instead of waiting for a writer forever), at most `limit` bytes
/// (checked before reading and while reading, for a file that grows), and no further than
/// its first NUL byte.
///
/// # Errors
/// [`LoadError::Io`] if it cannot be opened or read, [`LoadError::NotRegular`] for a FIFO,
/// device, socket or directory, [`LoadError::TooLarge`] beyond `limit`.
pub fn read_spec_file(path: &Path, limit: u64) -> Result<SpecBytes, LoadError> {
    use std::io::Read as _;
    use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};
    let io = |source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    let t = meta.file_type();
    if !t.is_file() {
        let kind = if t.is_fifo() {
            "FIFO"
        } else if t.is_char_device() {
            "character device"
        } else if t.is_block_device() {
            "block device"
        } else if t.is_socket() {
            "socket"
        } else if t.is_dir() {
            "directory"
        } else {
            "special file"
        };
        return Err(LoadError::NotRegular {
            path: path.to_path_buf(),
            kind,
        });
    }
    let too_large = |size| LoadError::TooLarge {
        path: path.to_path_buf(),
        size,
        limit,
    };
    if meta.len() > limit {
        return Err(too_large(meta.len()));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    let mut reader = file.take(limit.saturating_add(1));
    loop {
        let start = bytes.len();
        let n = (&mut reader)
            .take(READ_PIECE as u64)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if let Some(i) = memchr::memchr(0, &bytes[start..]) {
            bytes.truncate(start + i + 1);
            return Ok(SpecBytes::Nul {
                bytes,
                at: start + i,
            });
        }
        if n == 0 {
            break;
        }
    }
    if bytes.len() as u64 > limit {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(SpecBytes::Text(bytes))
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
        let plan = crate::chunk::plan(&file.text, options.chunk_bytes, threads);
        if plan.len() > 1 {
            let mut model = Model::default();
            return match crate::resolve::resolve_chunked(&file.text, id, &plan, threads, &mut model)
            {
                Err(first) => {
                    let errors = all_parse_errors(id, &file.text, first);
                    Err(LoadError::Invalid {
                        sources: Box::new(sources),
                        errors,
                    })
                }
                Ok(mut errors) if !errors.is_empty() => {
                    errors.sort_by_key(|e| e.loc);
                    Err(LoadError::Invalid {
                        sources: Box::new(sources),
                        errors: limited(errors),
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
        let ranges: Vec<(usize, usize)> =
            crate::chunk::plan(&file.text, options.chunk_bytes, threads)
                .iter()
                .map(|c| (c.start, c.end))
                .collect();
        match crate::chunk::parse_ranges(&file.text, &ranges, threads) {
            Ok(chunks) => parsed.extend(chunks.into_iter().map(|c| (id, c))),
            Err(first) => errors.extend(all_parse_errors(id, &file.text, first)),
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
            errors: limited(errors),
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
            errors: limited(errors),
        })
    }
}

/// The parse errors of one file after its parse failed with `first`: every table's, not
/// only the first (see [`crate::chunk::parse_errors`]).
fn all_parse_errors(id: FileId, text: &str, first: crate::chunk::ParseError) -> Vec<SpecError> {
    crate::chunk::parse_errors(text, first, MAX_ERRORS + 1)
        .into_iter()
        .map(|(message, span)| {
            let span = span.or_else(|| unlocated(text, &message));
            toml_error(id, &message, span)
        })
        .collect()
}

/// At most [`MAX_ERRORS`] errors, then one that says the rest were not shown.
fn limited(mut errors: Vec<SpecError>) -> Vec<SpecError> {
    if errors.len() > MAX_ERRORS {
        errors.truncate(MAX_ERRORS);
        errors.push(
            SpecError::new(None, format!("stopped after {MAX_ERRORS} errors"))
                .with_help("fix these and run again to see the rest"),
        );
    }
    errors
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

/// The TOML parser's one error without a position: a dotted key (in a header or an
/// assignment) of 80 or more parts. Finds the first such key so the error can point at it.
const DEEP_KEY: usize = 80;

fn unlocated(text: &str, message: &str) -> Option<std::ops::Range<usize>> {
    if message != "recursion limit" {
        return None;
    }
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let body = line.trim_start();
        let start = offset + (line.len() - body.len());
        offset += line.len();
        let key = if body.starts_with('[') {
            body.find(']').map_or(body, |e| &body[..e])
        } else {
            body.find('=').map_or("", |e| &body[..e])
        };
        let mut quote = None;
        let mut dots = 0;
        for c in key.chars() {
            match (quote, c) {
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), _) if c == q => quote = None,
                (None, '.') => dots += 1,
                _ => {}
            }
        }
        if dots + 1 >= DEEP_KEY {
            return Some(start..start + key.trim_end().len());
        }
    }
    Some(0..0)
}

fn toml_error(file: FileId, message: &str, span: Option<std::ops::Range<usize>>) -> SpecError {
    let loc = span.map(|s| Loc::new(file, &s));
    let message = if message == "recursion limit" {
        format!(
            "a key of {DEEP_KEY} or more dotted parts: deeper than the parser's recursion limit"
        )
    } else {
        message.to_string()
    };
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
    use std::fmt::Write as _;

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

    /// Bug: the loader stopped at its first error, so a spec with three mistakes took three
    /// runs to fix.
    #[test]
    fn every_table_reports_its_error() {
        let text = "[services.a]\nbindings.http = { prot = 80 }\n\n[services.b]\nbindings.http = { port = 70000 }\n\n[hosts.h]\nnetwork = [\"lan\"]\n\n[services.c]\nbindings.http = { port = 8080 }\n\n[projects.p]\nrange = \"5399-5000\"\n";
        let e = errs(text);
        let lines: Vec<usize> = e
            .iter()
            .map(|x| {
                text[..x.loc.expect("located").start as usize]
                    .matches('\n')
                    .count()
                    + 1
            })
            .collect();
        assert_eq!(lines, [2, 5, 8, 14], "{e:?}");
        assert!(e[0].message.contains("prot"), "{e:?}");
        assert!(e[1].message.contains("70000"), "{e:?}");
        assert!(e[2].message.contains("network"), "{e:?}");
        assert!(e[3].message.contains("inverted"), "{e:?}");
        // a syntax error in one table does not hide a type error in another
        let e = errs("[services.a\nport = 1\n\n[services.b]\nbindings.http = { port = 0 }\n");
        assert_eq!(e.len(), 2, "{e:?}");
    }

    #[test]
    fn errors_stop_at_the_limit() {
        let mut text = String::new();
        for i in 0..(MAX_ERRORS + 30) {
            let _ = write!(text, "[services.s{i}]\nbindings.http = {{ port = 0 }}\n");
        }
        let e = errs(&text);
        assert_eq!(e.len(), MAX_ERRORS + 1);
        assert!(e[MAX_ERRORS].message.contains("stopped after"), "{e:?}");
        // the same through the chunked parse of a large file
        let mut big = String::new();
        for i in 0..40_000 {
            let _ = write!(
                big,
                "[services.s{i}]\nbindings.http = {{ port = {} }}\n",
                if i % 1000 == 7 { 0 } else { 1000 + i % 5000 }
            );
        }
        let e = errs(&big);
        assert_eq!(e.len(), 40, "{e:?}");
    }

    #[test]
    fn since_is_a_toml_date_or_a_date_string() {
        for (text, want) in [
            ("since = 2025-09-22", "2025-09-22"),
            ("since = \"2025-09-22\"", "2025-09-22"),
            ("since = 2024-02-29", "2024-02-29"),
        ] {
            let m = load_str("ports.toml", &format!("[services.a]\n{text}\n")).expect(text);
            assert_eq!(m.services[0].since.as_deref(), Some(want), "{text}");
        }
        for (text, why) in [
            ("since = 2025-09-22T10:00:00Z", "without time"),
            ("since = 2025-09-22 10:00:00", "without time"),
            ("since = 10:00:00", "without time"),
            ("since = \"2025-02-30\"", "not a date"),
            ("since = 2023-02-29", ""),
        ] {
            let e = errs(&format!("[services.a]\n{text}\n"));
            assert!(e[0].message.contains(why), "{text}: {e:?}");
            assert!(e[0].loc.is_some(), "{text}");
        }
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
