//! The one way portolan replaces a file: write a new file beside it and rename it over the
//! old one, so a reader (or a crash) sees the old file or the new one, never half of one.
//!
//! The temp file is created with `O_CREAT|O_EXCL|O_NOFOLLOW` under a name no one else uses
//! (a planted file or symlink makes the create fail and another name is tried, so a
//! repository cannot redirect the write), readable by nobody else until it takes the target's
//! mode, and given the target's owner and group when the writer may (root). File and
//! directory are `fsync`ed. A target that is a symlink is written through to the file it
//! names (the link stays a link); a dangling one is refused.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// How many temp names are tried before giving up.
const ATTEMPTS: u32 = 64;

/// The file a write to `path` must replace: `path` itself, or the end of its symlink chain.
fn resolve(path: &Path) -> io::Result<PathBuf> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(path).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "{} is a symlink to a file that cannot be reached: {e}",
                    path.display()
                ),
            )
        }),
        Ok(m) if !m.is_file() => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a regular file", path.display()),
        )),
        _ => Ok(path.to_path_buf()),
    }
}

/// The temp-file prefix of writes to `target`: `.NAME.portolan-`.
fn temp_prefix(target: &Path) -> String {
    let name = target
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    format!(".{name}.portolan-")
}

fn dir_of(target: &Path) -> &Path {
    target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Creates a fresh temp file beside `target`: never an existing file, never through a
/// symlink. Mode 0600 while it is written when the target exists (it gets the target's mode
/// before the rename), else 0666 less the umask, like any new file.
fn create_temp(target: &Path, existing: bool) -> io::Result<(PathBuf, File)> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let dir = dir_of(target);
    let prefix = temp_prefix(target);
    let mut last = None;
    for _ in 0..ATTEMPTS {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let tmp = dir.join(format!("{prefix}{}-{n}-{nanos:x}.tmp", std::process::id()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .mode(if existing { 0o600 } else { 0o666 })
            .open(&tmp)
        {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free temp file name")))
}

/// A new file written in full beside its target and synced, not yet renamed over it: the
/// first half of an atomic write, for callers that replace several files together (see
/// [`crate::journal`]). Dropped without [`Staged::commit`], the temp file is removed.
#[derive(Debug)]
pub struct Staged {
    tmp: PathBuf,
    target: PathBuf,
    done: bool,
}

impl Staged {
    /// The temp file holding the new content.
    pub fn temp(&self) -> &Path {
        &self.tmp
    }

    /// The file it will replace (the end of the symlink chain when the path named a link).
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Renames the temp file over the target and syncs the directory.
    pub fn commit(mut self) -> io::Result<PathBuf> {
        commit_rename(&self.tmp, &self.target)?;
        self.done = true;
        Ok(self.target.clone())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Renames `tmp` over `target` and syncs their directory: the second half of a write.
pub(crate) fn commit_rename(tmp: &Path, target: &Path) -> io::Result<()> {
    std::fs::rename(tmp, target)?;
    File::open(dir_of(target))?.sync_all()
}

/// Writes `bytes` to a fresh temp file beside `path`'s target with the target's mode and
/// owner, synced; the rename is [`Staged::commit`].
pub fn stage(path: &Path, bytes: &[u8]) -> io::Result<Staged> {
    let target = resolve(path)?;
    let old = std::fs::metadata(&target).ok();
    let (tmp, mut file) = create_temp(&target, old.is_some())?;
    let staged = Staged {
        tmp,
        target,
        done: false,
    };
    file.write_all(bytes)?;
    if let Some(meta) = &old {
        // owner first: a chown may clear set-id bits the mode then restores
        if meta.uid() != file.metadata()?.uid() || meta.gid() != file.metadata()?.gid() {
            // only root may give a file away; anyone else keeps their own ownership
            if let Err(e) = std::os::unix::fs::fchown(&file, Some(meta.uid()), Some(meta.gid()))
                && e.kind() != io::ErrorKind::PermissionDenied
            {
                return Err(e);
            }
        }
        file.set_permissions(std::fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    }
    file.sync_all()?;
    Ok(staged)
}

/// Replaces the file at `path` (or creates it) with `bytes`, atomically; see the module
/// docs. Returns the file actually written (the symlink's target when `path` is one).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<PathBuf> {
    let staged = stage(path, bytes)?;
    #[cfg(feature = "test-hooks")]
    if std::env::var_os(crate::txn::ABORT_AFTER_TEMP_WRITE).is_some_and(|v| v == "1") {
        std::process::abort();
    }
    staged.commit()
}

/// Removes temp files left beside `path` by writers that crashed. Only for callers that
/// hold the lock every writer of `path` takes (else another writer's temp file could go).
/// Symlinks and other non-files with our prefix are removed as links, never followed.
pub fn remove_stale_temps(path: &Path) {
    let Ok(target) = resolve(path) else { return };
    let prefix = temp_prefix(&target);
    let Ok(rd) = std::fs::read_dir(dir_of(&target)) else {
        return;
    };
    for e in rd.filter_map(Result::ok) {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.starts_with(&prefix) && Path::new(&n).extension().is_some_and(|x| x == "tmp") {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> tempfile::TempDir {
        tempfile::tempdir().expect("temp dir")
    }

    fn leftovers(d: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .expect("read dir")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".portolan-"))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn creates_and_replaces_leaving_no_temp_file() {
        let d = dir();
        let p = d.path().join("ports.toml");
        write_atomic(&p, b"one\n").expect("create");
        write_atomic(&p, b"two\n").expect("replace");
        assert_eq!(std::fs::read_to_string(&p).expect("read"), "two\n");
        assert!(leftovers(d.path()).is_empty());
    }

    #[test]
    fn keeps_the_mode_of_a_private_file() {
        let d = dir();
        let p = d.path().join("ports.toml");
        std::fs::write(&p, "secret = 1\n").expect("write");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        write_atomic(&p, b"secret = 2\n").expect("replace");
        let mode = std::fs::metadata(&p).expect("meta").mode() & 0o777;
        assert_eq!(mode, 0o600, "a 0600 spec stays 0600");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        write_atomic(&p, b"secret = 3\n").expect("replace");
        assert_eq!(std::fs::metadata(&p).expect("meta").mode() & 0o777, 0o640);
    }

    #[test]
    fn regression_a_planted_symlink_at_the_temp_name_is_never_followed() {
        // the old writer created `.NAME.alloc-PID.tmp` with File::create, which followed a
        // planted symlink and overwrote the file it named
        let d = dir();
        let outside = d.path().join("outside.txt");
        std::fs::write(&outside, "keep me\n").expect("write");
        let p = d.path().join("ports.toml");
        let prefix = temp_prefix(&p);
        // plant links at every name a predictable writer might use
        for n in 0..4 {
            let link = d
                .path()
                .join(format!("{prefix}{}-{n}-0.tmp", std::process::id()));
            std::os::unix::fs::symlink(&outside, &link).expect("symlink");
        }
        write_atomic(&p, b"spec\n").expect("write");
        assert_eq!(
            std::fs::read_to_string(&outside).expect("read"),
            "keep me\n"
        );
        assert_eq!(std::fs::read_to_string(&p).expect("read"), "spec\n");
    }

    #[test]
    fn a_symlinked_target_is_written_through_and_stays_a_link() {
        let d = dir();
        let real = d.path().join("real.toml");
        std::fs::write(&real, "old\n").expect("write");
        let link = d.path().join("ports.toml");
        std::os::unix::fs::symlink("real.toml", &link).expect("symlink");
        let written = write_atomic(&link, b"new\n").expect("write");
        assert_eq!(written, std::fs::canonicalize(&real).expect("canon"));
        assert!(
            std::fs::symlink_metadata(&link)
                .expect("meta")
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&real).expect("read"), "new\n");
    }

    #[test]
    fn a_dangling_symlink_or_a_directory_is_refused() {
        let d = dir();
        let link = d.path().join("ports.toml");
        std::os::unix::fs::symlink("missing.toml", &link).expect("symlink");
        assert!(write_atomic(&link, b"x").is_err());
        assert!(!d.path().join("missing.toml").exists());
        assert!(write_atomic(d.path(), b"x").is_err());
    }

    #[test]
    fn stale_temps_are_removed_on_request() {
        let d = dir();
        let p = d.path().join("ports.toml");
        std::fs::write(d.path().join(".ports.toml.portolan-1-0-0.tmp"), "crash").expect("w");
        std::fs::write(d.path().join("other.tmp"), "not ours").expect("w");
        remove_stale_temps(&p);
        assert!(leftovers(d.path()).is_empty());
        assert!(d.path().join("other.tmp").exists());
    }
}
