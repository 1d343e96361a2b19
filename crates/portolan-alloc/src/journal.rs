//! Several files replaced as one change (`move --apply`: the references in the code and
//! the spec): every new content is written in full to a temp file beside its target and
//! synced first; then a journal naming each (temp, target) pair is written atomically;
//! then the temps are renamed over their targets in order — the spec last, so a reader
//! that sees the new spec sees every reference already rewritten — and the journal goes.
//!
//! The journal also holds the change's log entries: they are appended to the spec's log
//! after the last rename and before the journal goes, so a change is in the log exactly when
//! it is in the files.
//!
//! A crash before the journal exists changes nothing (stray temps are swept by
//! [`crate::atomic::remove_stale_temps`]). A crash after it leaves a journal whose every
//! temp file is complete, so [`recover`] — which the next run calls before anything else —
//! rolls the change forward: it renames the temps still present, appends the log entries
//! (marked as finished by a later run) unless the interrupted run got that far, and removes
//! the journal; what it did comes back as [`Recovered`], for the caller to tell the user.
//! Rolling back would need the old contents; rolling forward needs nothing but the files.
//!
//! Test hook (feature `test-hooks` only): `PORTOLAN_TEST_ABORT_AFTER_RENAMES=N` aborts the
//! process after the N-th rename, to test recovery from any point.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::atomic::{self, Staged};
use crate::log::{self, Entry};

/// The environment variable of the crash hook (feature `test-hooks`).
pub const ABORT_AFTER_RENAMES: &str = "PORTOLAN_TEST_ABORT_AFTER_RENAMES";

#[derive(Serialize, Deserialize)]
struct Record {
    /// Always 1; a newer format is refused rather than misread.
    version: u32,
    /// What the change was, for a human reading a leftover journal.
    what: String,
    files: Vec<Pair>,
    /// The spec's log and the entries the change appends to it (absent in journals of
    /// versions that logged after the journal went: nothing to log then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    log: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    entries: Vec<Entry>,
}

#[derive(Serialize, Deserialize)]
struct Pair {
    temp: String,
    target: String,
}

/// What [`recover`] finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// What the interrupted change was (as given to [`apply`]).
    pub what: String,
    /// Files whose new content was still waiting in a temp file and is now in place.
    pub completed: Vec<PathBuf>,
    /// Files the interrupted run had already replaced.
    pub already: Vec<PathBuf>,
    /// When the interrupted change was made (its log entries' time; `None` for a journal
    /// without entries).
    pub at: Option<String>,
    /// The log the change's entries went to, and how many [`recover`] appended (0 when the
    /// interrupted run had appended them itself).
    pub logged: Option<(PathBuf, usize)>,
}

/// The log to append once every file is in place (see [`apply`]).
#[derive(Clone, Copy)]
pub struct LogEntries<'a> {
    /// The spec's log file ([`crate::log::path_for`]).
    pub path: &'a Path,
    /// The entries recording the change.
    pub entries: &'a [Entry],
}

fn utf8(p: &Path) -> io::Result<String> {
    p.to_str().map(str::to_string).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not UTF-8: it cannot be journaled", p.display()),
        )
    })
}

fn absolute(p: &Path) -> io::Result<PathBuf> {
    std::path::absolute(p)
}

/// Replaces every `(path, content)` of `changes` as one change recorded in `journal` (in
/// the order given: put the spec last), then appends `log`. Nothing is replaced if any
/// content cannot be written in full; once the journal is written, the change completes now
/// or on the next [`recover`]. Returns the files written (symlinks resolved).
pub fn apply(
    journal: &Path,
    what: &str,
    changes: &[(PathBuf, Vec<u8>)],
    log: Option<LogEntries<'_>>,
) -> io::Result<Vec<PathBuf>> {
    if journal.exists() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "{} exists: an interrupted change must be recovered first",
                journal.display()
            ),
        ));
    }
    // all or nothing up to here: a failed stage drops (and removes) every temp so far
    let mut staged: Vec<Staged> = Vec::with_capacity(changes.len());
    for (path, bytes) in changes {
        staged.push(atomic::stage(path, bytes).map_err(|e| {
            io::Error::new(e.kind(), format!("cannot write {}: {e}", path.display()))
        })?);
    }
    let mut files = Vec::with_capacity(staged.len());
    for s in &staged {
        files.push(Pair {
            temp: utf8(&absolute(s.temp())?)?,
            target: utf8(&absolute(s.target())?)?,
        });
    }
    let record = Record {
        version: 1,
        what: what.to_string(),
        files,
        log: log.map(|l| utf8(&absolute(l.path)?)).transpose()?,
        entries: log.map(|l| l.entries.to_vec()).unwrap_or_default(),
    };
    let text = serde_json::to_vec_pretty(&record).map_err(io::Error::other)?;
    atomic::write_atomic(journal, &text)?;
    let mut written = Vec::with_capacity(staged.len());
    #[cfg(feature = "test-hooks")]
    let abort_after: Option<usize> = std::env::var(ABORT_AFTER_RENAMES)
        .ok()
        .and_then(|v| v.parse().ok());
    for s in staged {
        written.push(s.commit()?);
        #[cfg(feature = "test-hooks")]
        if abort_after == Some(written.len()) {
            std::process::abort();
        }
    }
    if let Some(l) = log {
        append_log(l.path, l.entries)?;
    }
    remove_journal(journal)?;
    Ok(written)
}

fn append_log(path: &Path, entries: &[Entry]) -> io::Result<()> {
    log::append(path, entries).map_err(|e| io::Error::other(e.to_string()))
}

/// Whether `path` already ends with `entries` (the interrupted run appended them before it
/// could remove the journal).
fn logged_already(path: &Path, entries: &[Entry]) -> io::Result<bool> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    let mut tail = String::new();
    for e in entries {
        tail.push_str(&serde_json::to_string(e).map_err(io::Error::other)?);
        tail.push('\n');
    }
    Ok(text.ends_with(&tail))
}

fn remove_journal(journal: &Path) -> io::Result<()> {
    std::fs::remove_file(journal)?;
    let dir = journal
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::File::open(dir)?.sync_all()
}

/// Finishes a change an interrupted [`apply`] left in `journal`: renames each temp file
/// still present over its target, in the journal's order, then removes the journal.
/// `Ok(None)` when there is no journal.
pub fn recover(journal: &Path) -> io::Result<Option<Recovered>> {
    let text = match std::fs::read(journal) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let record: Record = serde_json::from_slice(&text).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: not a portolan journal: {e}", journal.display()),
        )
    })?;
    if record.version != 1 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{}: journal version {} is newer than this portolan",
                journal.display(),
                record.version
            ),
        ));
    }
    let mut out = Recovered {
        what: record.what,
        completed: Vec::new(),
        already: Vec::new(),
        at: record.entries.first().map(|e| e.at.clone()),
        logged: None,
    };
    for pair in &record.files {
        let (temp, target) = (Path::new(&pair.temp), PathBuf::from(&pair.target));
        match std::fs::symlink_metadata(temp) {
            Ok(m) if m.file_type().is_file() => {
                atomic::commit_rename(temp, &target)?;
                out.completed.push(target);
            }
            // renamed before the interruption (or never ours: a planted link is not followed)
            _ => out.already.push(target),
        }
    }
    if let Some(path) = record.log.as_deref().map(PathBuf::from)
        && !record.entries.is_empty()
    {
        let appended = if logged_already(&path, &record.entries)? {
            0
        } else {
            let entries: Vec<Entry> = record.entries.iter().map(finished_later).collect();
            append_log(&path, &entries)?;
            entries.len()
        };
        out.logged = Some((path, appended));
    }
    remove_journal(journal)?;
    Ok(Some(out))
}

/// An entry of an interrupted change as a recovery logs it: as made (who, when, what), its
/// `why` saying that a later run finished it.
fn finished_later(e: &Entry) -> Entry {
    let mut e = e.clone();
    let note = "interrupted, finished by a later run";
    e.why = Some(match e.why.take() {
        Some(w) if !w.is_empty() => format!("{w} ({note})"),
        _ => note.to_string(),
    });
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(p: &Path) -> String {
        std::fs::read_to_string(p).unwrap()
    }

    #[test]
    fn all_files_change_and_the_journal_goes() {
        let d = tempfile::tempdir().unwrap();
        let (a, b) = (d.path().join("a.yml"), d.path().join("ports.toml"));
        std::fs::write(&a, "port: 8000\n").unwrap();
        std::fs::write(&b, "port = 8000\n").unwrap();
        let j = d.path().join("move.journal");
        let done = apply(
            &j,
            "move api 8000 -> 8010",
            &[
                (a.clone(), b"port: 8010\n".to_vec()),
                (b.clone(), b"port = 8010\n".to_vec()),
            ],
            None,
        )
        .unwrap();
        assert_eq!(done.len(), 2);
        assert_eq!(read(&a), "port: 8010\n");
        assert_eq!(read(&b), "port = 8010\n");
        assert!(!j.exists());
        assert_eq!(recover(&j).unwrap(), None);
        assert_eq!(
            std::fs::read_dir(d.path()).unwrap().count(),
            2,
            "no temp left"
        );
    }

    #[test]
    fn a_failed_write_changes_nothing() {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("a.yml");
        std::fs::write(&a, "old\n").unwrap();
        let j = d.path().join("move.journal");
        let missing_dir = d.path().join("gone/b.yml");
        let e = apply(
            &j,
            "x",
            &[
                (a.clone(), b"new\n".to_vec()),
                (missing_dir, b"new\n".to_vec()),
            ],
            None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("gone/b.yml"), "{e}");
        assert_eq!(read(&a), "old\n");
        assert!(!j.exists());
        assert_eq!(
            std::fs::read_dir(d.path()).unwrap().count(),
            1,
            "no temp left"
        );
    }

    #[test]
    fn an_interrupted_change_is_rolled_forward_by_recover() {
        let d = tempfile::tempdir().unwrap();
        let files: Vec<PathBuf> = (0..3).map(|i| d.path().join(format!("f{i}"))).collect();
        for f in &files {
            std::fs::write(f, "old").unwrap();
        }
        // what an abort after the first rename leaves: f0 new, f1 and f2 waiting in temps
        let staged: Vec<Staged> = files
            .iter()
            .map(|f| atomic::stage(f, b"new").unwrap())
            .collect();
        let record = Record {
            version: 1,
            what: "move".into(),
            files: staged
                .iter()
                .map(|s| Pair {
                    temp: s.temp().to_str().unwrap().into(),
                    target: s.target().to_str().unwrap().into(),
                })
                .collect(),
            log: None,
            entries: Vec::new(),
        };
        let j = d.path().join("j");
        std::fs::write(&j, serde_json::to_vec(&record).unwrap()).unwrap();
        let mut it = staged.into_iter();
        it.next().unwrap().commit().unwrap();
        // the process dies here: the rest must survive it
        for s in it {
            std::mem::forget(s);
        }
        assert_eq!(read(&files[1]), "old");
        let r = recover(&j).unwrap().unwrap();
        assert_eq!(r.completed, files[1..].to_vec());
        assert_eq!(r.already, files[..1].to_vec());
        for f in &files {
            assert_eq!(read(f), "new");
        }
        assert!(!j.exists());
    }

    /// Issue 12: a recovery finished a move silently and the move never reached the log
    /// (the entries were appended after the journal went). Now the journal carries them.
    #[test]
    fn regression_a_recovered_change_is_logged_once_marked_as_finished_later() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("ports.toml");
        let log_path = d.path().join("ports.log.jsonl");
        std::fs::write(&f, "old").unwrap();
        let mut e = Entry::new(1_764_000_000, "ann", log::Action::Move, "8010".into());
        e.why = Some("from 8000".into());
        let journal_of = |staged: &Staged| Record {
            version: 1,
            what: "move api.http 8000 -> 8010".into(),
            files: vec![Pair {
                temp: staged.temp().to_str().unwrap().into(),
                target: staged.target().to_str().unwrap().into(),
            }],
            log: Some(log_path.to_str().unwrap().into()),
            entries: vec![e.clone()],
        };
        let j = d.path().join("j");
        // killed before the rename: the recovery renames and logs
        let staged = atomic::stage(&f, b"new").unwrap();
        std::fs::write(&j, serde_json::to_vec(&journal_of(&staged)).unwrap()).unwrap();
        std::mem::forget(staged);
        let r = recover(&j).unwrap().unwrap();
        assert_eq!(r.completed, vec![f.clone()]);
        assert_eq!(r.at.as_deref(), Some(e.at.as_str()));
        assert_eq!(r.logged, Some((log_path.clone(), 1)));
        let (entries, bad) = log::read(&log_path).unwrap();
        assert!(bad.is_empty());
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].at, e.at);
        assert_eq!(entries[0].who, "ann");
        assert_eq!(
            entries[0].why.as_deref(),
            Some("from 8000 (interrupted, finished by a later run)")
        );
        // killed after the log append, before the journal went: not logged twice
        std::fs::write(&log_path, "").unwrap();
        log::append(&log_path, std::slice::from_ref(&e)).unwrap();
        let staged = atomic::stage(&f, b"newer").unwrap();
        std::fs::write(&j, serde_json::to_vec(&journal_of(&staged)).unwrap()).unwrap();
        staged.commit().unwrap();
        let r = recover(&j).unwrap().unwrap();
        assert_eq!(r.already, vec![f.clone()]);
        assert_eq!(r.logged, Some((log_path.clone(), 0)));
        assert_eq!(log::read(&log_path).unwrap().0, vec![e]);
        assert_eq!(read(&f), "newer");
    }

    #[test]
    fn a_leftover_journal_blocks_a_new_change_and_garbage_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        let j = d.path().join("j");
        std::fs::write(&j, "{not json").unwrap();
        let e = apply(&j, "x", &[], None).unwrap_err();
        assert!(e.to_string().contains("recovered first"), "{e}");
        let e = recover(&j).unwrap_err();
        assert!(e.to_string().contains("not a portolan journal"), "{e}");
        assert!(j.exists(), "an unreadable journal is kept for a human");
    }
}
