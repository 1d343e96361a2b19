//! Adding text at the end of a large spec in O(change): the new service is appended in place
//! (one `write` to an `O_APPEND` descriptor, then `fdatasync`) instead of rewriting and
//! syncing the whole file through a temp file — 34 MB for a 100,000-service spec.
//!
//! Crash safety comes from an intent journal (a sidecar file, see [`journal_path`]):
//! before the append it records the file's length and the exact bytes to be added, synced;
//! after the append it is emptied. The next writer, under the spec lock, finishes the story
//! ([`recover`]): a file that ends with a *prefix* of the recorded bytes was torn by the crash
//! and is cut back to its old length (the allocation was never acknowledged); a file that
//! ends with all of them keeps them (the append happened, the crash came after); anything
//! else means someone edited the file since, and it is left alone. Either way no half
//! service stays in the spec and nothing acknowledged is lost.
//!
//! Readers that do not take the lock may, during the microseconds of the `write`, see the
//! file without the new text or — when it crosses a page boundary — with part of it; the
//! lock holder never does.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

const MAGIC: &str = "portolan-append-journal 1";

/// The journal of appends to `file`: a sidecar file (inside `.git/portolan/`, else under
/// `$XDG_STATE_HOME/portolan/`), never a stray file in the working tree.
pub fn journal_path(file: &Path) -> PathBuf {
    crate::sidecar::path(file, crate::sidecar::Kind::AppendJournal)
}

/// The file an append to `path` goes to: `path`, or the end of its symlink chain (a
/// symlinked spec is written through, like the atomic writer does).
fn target(path: &Path) -> io::Result<PathBuf> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(path),
        Ok(m) if !m.is_file() => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a regular file", path.display()),
        )),
        Ok(_) => Ok(path.to_path_buf()),
        Err(e) => Err(e),
    }
}

fn open_nofollow(path: &Path, write: bool, create: bool) -> io::Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(write)
        .create(create)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

fn sync_dir(file: &Path) {
    let dir = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Appends `text` to `path` (a newline first when the file does not end with one), crash-safe
/// through the journal. The caller holds the spec lock.
pub fn append(path: &Path, text: &str) -> io::Result<()> {
    let file_path = target(path)?;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .append(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&file_path)?;
    let len = file.metadata()?.len();
    let mut last = [0u8; 1];
    let needs_newline =
        len > 0 && file.read_exact_at(&mut last, len - 1).is_ok() && last[0] != b'\n';
    let mut bytes = Vec::with_capacity(text.len() + 1);
    if needs_newline {
        bytes.push(b'\n');
    }
    bytes.extend_from_slice(text.as_bytes());
    // 1. the intent, durable before the file changes
    let journal = journal_path(&file_path);
    if let Some(dir) = journal.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let existed = journal.exists();
    let j = open_nofollow(&journal, true, true)?;
    let mut intent = format!("{MAGIC}\n{len}\n{}\n", bytes.len()).into_bytes();
    intent.extend_from_slice(&bytes);
    j.set_len(0)?;
    j.write_all_at(&intent, 0)?;
    j.sync_data()?;
    if !existed {
        sync_dir(&journal);
    }
    // 2. the append, in one write
    file.write_all(&bytes)?;
    file.sync_data()?;
    // 3. done: an empty journal (a crash before this is recognised as a complete append)
    j.set_len(0)?;
    Ok(())
}

/// What [`recover`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovery {
    /// No interrupted append.
    Clean,
    /// An append was complete when the writer stopped: kept.
    Kept,
    /// An append was torn by a crash: the file was cut back to its old length.
    RolledBack {
        /// The file.
        file: PathBuf,
        /// Bytes removed.
        removed: u64,
    },
    /// The file changed since the interrupted append: left as it is.
    Changed,
}

/// Finishes an interrupted append to `path` (see the module documentation). The caller
/// holds the spec lock.
pub fn recover(path: &Path) -> io::Result<Recovery> {
    let Ok(file_path) = target(path) else {
        return Ok(Recovery::Clean);
    };
    let journal = journal_path(&file_path);
    let mut j = match open_nofollow(&journal, true, false) {
        Ok(j) => j,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Recovery::Clean),
        Err(e) => return Err(e),
    };
    let mut intent = Vec::new();
    j.read_to_end(&mut intent)?;
    if intent.is_empty() {
        return Ok(Recovery::Clean);
    }
    let parsed = (|| {
        let mut parts = intent.splitn(4, |b| *b == b'\n');
        let magic = parts.next()?;
        let len: u64 = std::str::from_utf8(parts.next()?).ok()?.parse().ok()?;
        let n: usize = std::str::from_utf8(parts.next()?).ok()?.parse().ok()?;
        let bytes = parts.next()?;
        (magic == MAGIC.as_bytes() && bytes.len() == n).then_some((len, bytes.to_vec()))
    })();
    // an intent torn by the crash: the append itself never started
    let Some((old_len, bytes)) = parsed else {
        j.set_len(0)?;
        return Ok(Recovery::Clean);
    };
    let mut file = open_nofollow(&file_path, true, false)?;
    let now = file.metadata()?.len();
    let outcome = if now < old_len {
        Recovery::Changed
    } else {
        let mut tail = Vec::new();
        file.seek(SeekFrom::Start(old_len))?;
        Read::by_ref(&mut file)
            .take(bytes.len() as u64 + 1)
            .read_to_end(&mut tail)?;
        if tail == bytes {
            Recovery::Kept
        } else if tail.len() < bytes.len() && bytes.starts_with(&tail) {
            file.set_len(old_len)?;
            file.sync_all()?;
            Recovery::RolledBack {
                file: file_path.clone(),
                removed: now - old_len,
            }
        } else {
            Recovery::Changed
        }
    };
    j.set_len(0)?;
    j.sync_data()?;
    Ok(outcome)
}

/// Recovers every file of a spec (a file, or the `*.toml` files of a directory).
pub fn recover_spec(spec: &Path) -> io::Result<Vec<Recovery>> {
    if !spec.is_dir() {
        return Ok(vec![recover(spec)?]);
    }
    let mut out = Vec::new();
    for e in std::fs::read_dir(spec)?.filter_map(Result::ok) {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "toml") && journal_path(&p).exists() {
            out.push(recover(&p)?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("portolan-append-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("mkdir");
        d
    }

    /// A crash is simulated by writing the journal and part of the text by hand.
    fn interrupted(file: &Path, old: &str, text: &str, written: usize) {
        std::fs::write(file, format!("{old}{}", &text[..written])).expect("write");
        let mut intent = format!("{MAGIC}\n{}\n{}\n", old.len(), text.len()).into_bytes();
        intent.extend_from_slice(text.as_bytes());
        let journal = journal_path(file);
        std::fs::create_dir_all(journal.parent().expect("a directory")).expect("mkdir");
        std::fs::write(journal, intent).expect("journal");
    }

    #[test]
    fn appends_in_place_and_leaves_an_empty_journal() {
        let d = tmp("ok");
        let f = d.join("ports.toml");
        std::fs::write(&f, "[hosts.a]").expect("write");
        let ino = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&f).expect("meta"));
        append(&f, "[services.x]\nport = 1\n").expect("append");
        assert_eq!(
            std::fs::read_to_string(&f).expect("read"),
            "[hosts.a]\n[services.x]\nport = 1\n"
        );
        assert_eq!(
            std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&f).expect("meta")),
            ino
        );
        assert_eq!(
            std::fs::metadata(journal_path(&f)).expect("journal").len(),
            0
        );
        assert_eq!(recover(&f).expect("recover"), Recovery::Clean);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_torn_append_is_cut_back_and_a_complete_one_kept() {
        let d = tmp("torn");
        let f = d.join("ports.toml");
        let (old, text) = ("[hosts.a]\n", "[services.x]\nhosts = [\"a\"]\n");
        for written in [0, 1, 7, text.len() - 1] {
            interrupted(&f, old, text, written);
            let r = recover(&f).expect("recover");
            if written == 0 {
                assert_eq!(
                    r,
                    Recovery::RolledBack {
                        file: f.clone(),
                        removed: 0
                    }
                );
            } else {
                assert!(
                    matches!(r, Recovery::RolledBack { removed, .. } if removed == written as u64),
                    "{r:?}"
                );
            }
            assert_eq!(std::fs::read_to_string(&f).expect("read"), old);
            assert_eq!(recover(&f).expect("again"), Recovery::Clean);
        }
        interrupted(&f, old, text, text.len());
        assert_eq!(recover(&f).expect("recover"), Recovery::Kept);
        assert_eq!(
            std::fs::read_to_string(&f).expect("read"),
            format!("{old}{text}")
        );
        // edited by hand after the crash: left alone
        interrupted(&f, old, text, 5);
        std::fs::write(&f, "[hosts.b]\nenvironment = \"x\"\n").expect("edit");
        assert_eq!(recover(&f).expect("recover"), Recovery::Changed);
        assert_eq!(
            std::fs::read_to_string(&f).expect("read"),
            "[hosts.b]\nenvironment = \"x\"\n"
        );
        let _ = std::fs::remove_dir_all(&d);
    }
}
