//! Where portolan keeps the files that belong to a spec but are not part of it and must never
//! be committed: the writers' lock, the allocation cache of a large spec, and what was last
//! pulled from a registry (the base of `pull` and `push --merge`).
//!
//! | the spec is… | lock | cache, pull state |
//! |---|---|---|
//! | in a git work tree | `<git dir>/portolan/<key>.lock`, kept | `<git dir>/portolan/<key>.<kind>` |
//! | anywhere else | `.ports.toml.lock` beside the spec, **removed after use** | `$XDG_CACHE_HOME/portolan/` (cache), `$XDG_STATE_HOME/portolan/` (pull state), by default under `~/.cache` and `~/.local/state` |
//!
//! `<key>` is the spec's path inside the work tree with `%` written `%25` and `/` written
//! `%2F` (`deploy/ports.toml` → `deploy%2Fports.toml`); outside git it is the file name and a
//! 64-bit FNV-1a hash of the canonical path (`ports.toml-3f2a…`). A linked work tree or a
//! submodule (`.git` is a file `gitdir: …`) uses its own git dir.
//!
//! Why not `$XDG_RUNTIME_DIR` for the lock outside git: it is per user and per login session
//! (`sudo`, cron and systemd services run without it or with another one), so two writers of
//! one spec could lock two different files and both write. The git dir and the spec's own
//! directory are the same for every writer. A lock beside the spec is removed by its holder
//! while still holding it; a writer that opened the file before the removal sees, once it
//! holds the lock, that the path no longer names its file and opens it again — so two
//! writers never hold two different files of one spec.
//!
//! Every file here is opened with `O_NOFOLLOW`: a repository cannot plant a symlink that makes
//! `alloc` write somewhere else.

use std::fs::File;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::error::AllocError;

/// What a sidecar file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The allocation cache of a large spec (see [`cache`](crate::cache)).
    Cache,
    /// The registry's spec as last pulled (or pushed): the base of a three-way merge.
    PulledSpec,
    /// Which registry and generation that base came from (JSON).
    PulledMeta,
    /// The intent journal of an in-place append to a large spec (see
    /// [`append`](crate::append)): state, so it survives a reboot and is found again.
    AppendJournal,
    /// The journal of a change of several files (`move --apply`, see
    /// [`journal`](crate::journal)).
    ChangeJournal,
}

impl Kind {
    fn suffix(self) -> &'static str {
        match self {
            Kind::Cache => "alloc-cache",
            Kind::PulledSpec => "pulled.toml",
            Kind::PulledMeta => "pulled.json",
            Kind::AppendJournal => "append-journal",
            Kind::ChangeJournal => "change-journal",
        }
    }
}

/// The spec path with its directory made canonical (the file itself may not exist yet, e.g.
/// `pull -o NEW`); a spec directory is canonical as a whole.
pub fn canonical(spec: &Path) -> PathBuf {
    if let Ok(c) = std::fs::canonicalize(spec)
        && c.is_dir()
    {
        return c;
    }
    let parent = spec
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let parent = std::fs::canonicalize(parent).unwrap_or_else(|_| parent.to_path_buf());
    match spec.file_name() {
        Some(n) => parent.join(n),
        None => parent,
    }
}

/// The work tree root and git dir of the repository holding `path`, if any.
fn git_of(path: &Path) -> Option<(PathBuf, PathBuf)> {
    let mut dir = if path.is_dir() {
        Some(path)
    } else {
        path.parent()
    };
    while let Some(d) = dir {
        let dot = d.join(".git");
        match std::fs::symlink_metadata(&dot) {
            Ok(m) if m.is_dir() => return Some((d.to_path_buf(), dot)),
            Ok(m) if m.is_file() => {
                // a linked work tree or a submodule: `gitdir: PATH`
                let text = std::fs::read_to_string(&dot).ok()?;
                let target = text.lines().find_map(|l| l.strip_prefix("gitdir:"))?.trim();
                let target = d.join(target);
                return target.is_dir().then(|| (d.to_path_buf(), target));
            }
            _ => {}
        }
        dir = d.parent();
    }
    None
}

/// 64-bit FNV-1a: a stable, dependency-free name for a path (not a security measure).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn git_key(root: &Path, spec: &Path) -> String {
    let rel = spec.strip_prefix(root).unwrap_or(spec);
    let rel = rel.to_string_lossy();
    if rel.is_empty() {
        return "%2E".into();
    }
    rel.replace('%', "%25").replace('/', "%2F")
}

fn outside_key(spec: &Path) -> String {
    let name = spec
        .file_name()
        .map_or_else(|| "spec".into(), |n| n.to_string_lossy().into_owned());
    format!("{name}-{:016x}", fnv1a(spec.as_os_str().as_encoded_bytes()))
}

fn env_dir(var: &str, home_rel: &str) -> Option<PathBuf> {
    let abs = |p: PathBuf| p.is_absolute().then_some(p);
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .and_then(abs)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(home_rel))
                .and_then(abs)
        })
}

/// The file of `kind` for `spec` (its directory is created by [`prepare`]).
pub fn path(spec: &Path, kind: Kind) -> PathBuf {
    let spec = canonical(spec);
    if let Some((root, git)) = git_of(&spec) {
        return git
            .join("portolan")
            .join(format!("{}.{}", git_key(&root, &spec), kind.suffix()));
    }
    let base = match kind {
        Kind::Cache => env_dir("XDG_CACHE_HOME", ".cache"),
        Kind::PulledSpec | Kind::PulledMeta | Kind::AppendJournal | Kind::ChangeJournal => {
            env_dir("XDG_STATE_HOME", ".local/state")
        }
    };
    if let Some(b) = base {
        b.join("portolan")
            .join(format!("{}.{}", outside_key(&spec), kind.suffix()))
    } else {
        // no home at all (a bare container): beside the spec, hidden
        let name = spec
            .file_name()
            .map_or_else(|| "ports.toml".into(), |n| n.to_string_lossy().into_owned());
        spec.with_file_name(format!(".{name}.{}", kind.suffix()))
    }
}

/// Creates the directory of a sidecar file.
pub fn prepare(file: &Path) -> Result<(), AllocError> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| AllocError::io(format!("cannot create {}", dir.display()), e))?;
    }
    Ok(())
}

/// Where the lock of `spec` is, and whether its holder removes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockPlace {
    /// The lock file.
    pub path: PathBuf,
    /// Outside git: the holder removes it before unlocking.
    pub removed_after_use: bool,
}

/// The lock file of a spec (see the module docs).
pub fn lock_place(spec: &Path) -> LockPlace {
    let spec = canonical(spec);
    if let Some((root, git)) = git_of(&spec) {
        return LockPlace {
            path: git
                .join("portolan")
                .join(format!("{}.lock", git_key(&root, &spec))),
            removed_after_use: false,
        };
    }
    let path = if spec.is_dir() {
        spec.join(".portolan.lock")
    } else {
        let name = spec
            .file_name()
            .map_or_else(|| "ports.toml".into(), |n| n.to_string_lossy().into_owned());
        spec.with_file_name(format!(".{name}.lock"))
    };
    LockPlace {
        path,
        removed_after_use: true,
    }
}

/// Opens (creating) a file for writing without following a symlink at its path.
pub fn open_nofollow(path: &Path, append: bool) -> std::io::Result<File> {
    let mut o = std::fs::OpenOptions::new();
    o.create(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .mode(0o644);
    if append {
        o.append(true);
    } else {
        o.write(true).truncate(false);
    }
    o.open(path)
}

/// The exclusive lock of a spec, held until dropped.
#[derive(Debug)]
pub struct SpecLock {
    file: Option<File>,
    place: LockPlace,
}

impl SpecLock {
    /// Waits for the exclusive lock of `spec`.
    pub fn acquire(spec: &Path) -> Result<Self, AllocError> {
        let place = lock_place(spec);
        prepare(&place.path)?;
        let ctx = |what: &str| format!("cannot {what} the lock file {}", place.path.display());
        loop {
            let file =
                open_nofollow(&place.path, false).map_err(|e| AllocError::io(ctx("open"), e))?;
            fs4::FileExt::lock(&file).map_err(|e| AllocError::io(ctx("lock"), e))?;
            if !place.removed_after_use {
                return Ok(SpecLock {
                    file: Some(file),
                    place,
                });
            }
            // the previous holder may have removed (and another writer re-created) the file
            // between our open and our lock: hold it only if the path still names it
            let ours = file
                .metadata()
                .map_err(|e| AllocError::io(ctx("stat"), e))?;
            if let Ok(now) = std::fs::symlink_metadata(&place.path)
                && now.dev() == ours.dev()
                && now.ino() == ours.ino()
            {
                return Ok(SpecLock {
                    file: Some(file),
                    place,
                });
            }
        }
    }

    /// Where the lock is.
    pub fn place(&self) -> &LockPlace {
        &self.place
    }
}

impl Drop for SpecLock {
    fn drop(&mut self) {
        if self.place.removed_after_use {
            // removed while still held: see the module docs
            let _ = std::fs::remove_file(&self.place.path);
        }
        drop(self.file.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_readable_inside_git_and_hashed_outside() {
        assert_eq!(
            git_key(Path::new("/r"), Path::new("/r/deploy/ports.toml")),
            "deploy%2Fports.toml"
        );
        assert_eq!(
            git_key(Path::new("/r"), Path::new("/r/a%b.toml")),
            "a%25b.toml"
        );
        let a = outside_key(Path::new("/srv/a/ports.toml"));
        let b = outside_key(Path::new("/srv/b/ports.toml"));
        assert!(a.starts_with("ports.toml-") && a != b, "{a} {b}");
        assert_eq!(a, outside_key(Path::new("/srv/a/ports.toml")));
    }

    #[test]
    fn a_lock_outside_git_is_gone_after_use_and_serialises_writers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spec = dir.path().join("ports.toml");
        std::fs::write(&spec, "").expect("write");
        let place = lock_place(&spec);
        assert!(place.removed_after_use);
        let counter = std::sync::Arc::new(std::sync::Mutex::new((0u32, 0u32)));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let spec = spec.clone();
                let counter = counter.clone();
                std::thread::spawn(move || {
                    for _ in 0..25 {
                        let _l = SpecLock::acquire(&spec).expect("lock");
                        {
                            let mut c = counter.lock().expect("mutex");
                            c.0 += 1;
                            c.1 = c.1.max(c.0);
                        }
                        std::thread::yield_now();
                        counter.lock().expect("mutex").0 -= 1;
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
        assert_eq!(counter.lock().expect("mutex").1, 1, "two holders at once");
        assert!(!place.path.exists(), "the lock file stayed");
    }

    #[test]
    fn inside_git_everything_lives_in_the_git_dir() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join(".git")).expect("git");
        std::fs::create_dir_all(dir.path().join("deploy")).expect("deploy");
        let spec = dir.path().join("deploy/ports.toml");
        let git = std::fs::canonicalize(dir.path().join(".git")).expect("canon");
        let place = lock_place(&spec);
        assert_eq!(place.path, git.join("portolan/deploy%2Fports.toml.lock"));
        assert!(!place.removed_after_use);
        assert_eq!(
            path(&spec, Kind::PulledSpec),
            git.join("portolan/deploy%2Fports.toml.pulled.toml")
        );
        drop(SpecLock::acquire(&spec).expect("lock"));
        assert!(place.path.exists());
        // a linked work tree: `.git` is a file naming its git dir
        let linked = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            linked.path().join(".git"),
            format!("gitdir: {}\n", git.display()),
        )
        .expect("write");
        assert_eq!(
            lock_place(&linked.path().join("ports.toml")).path,
            git.join("portolan/ports.toml.lock")
        );
    }

    #[test]
    fn a_planted_symlink_is_not_followed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").expect("write");
        let spec = dir.path().join("ports.toml");
        std::os::unix::fs::symlink(&victim, lock_place(&spec).path).expect("symlink");
        let err = SpecLock::acquire(&spec).expect_err("followed a symlink");
        assert!(err.to_string().contains("lock file"), "{err}");
        assert_eq!(std::fs::read_to_string(&victim).expect("read"), "keep");
    }
}
