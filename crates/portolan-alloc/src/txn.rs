//! A change to the spec as one transaction: take the spec's exclusive lock (a sidecar file,
//! inside `.git/` when the spec is in a git work tree, else beside it and removed after use:
//! see [`sidecar`](crate::sidecar)), load and validate the spec
//! *after* the lock is held (so a concurrent writer's change is seen), edit it losslessly,
//! check that the edited text still loads, write it atomically (temp file in the same
//! directory, `fsync`, rename, `fsync` of the directory), append the log, release the lock.
//!
//! The spec itself cannot be the lock: the rename replaces its inode.
//!
//! Test hook (feature `test-hooks` only, which the CLI's tests enable): with
//! `PORTOLAN_TEST_ABORT_AFTER_TEMP_WRITE=1` the process aborts after the temp file is written
//! and synced, before the rename — the spec must still be the old version.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use portolan_model::{Loc, Model};

use crate::edit::{NewService, SpecDoc};
use crate::error::AllocError;
use crate::journal::{LogEntries, Recovered};
use crate::log::{self, Entry};
use crate::sidecar::{self, SpecLock};

/// The environment variable of the crash-test hook (feature `test-hooks`).
pub const ABORT_AFTER_TEMP_WRITE: &str = "PORTOLAN_TEST_ABORT_AFTER_TEMP_WRITE";

/// The lock file of a spec (see [`sidecar::lock_place`]).
pub fn lock_path(spec: &Path) -> PathBuf {
    sidecar::lock_place(spec).path
}

/// Finishes an append a crashed writer left half done (under the lock), so the spec loads,
/// and a change of several files a crashed writer left journaled (returned: the caller
/// tells the user).
fn recover(spec: &Path) -> Result<Option<Recovered>, AllocError> {
    crate::append::recover_spec(spec).map(drop).map_err(|e| {
        AllocError::io(
            format!("cannot recover an interrupted append to {}", spec.display()),
            e,
        )
    })?;
    // a change of several files (a move) interrupted after its journal: finish it
    crate::journal::recover(&journal_path(spec)).map_err(|e| {
        AllocError::io(
            format!("cannot finish an interrupted change to {}", spec.display()),
            e,
        )
    })
}

/// The journal of multi-file changes to `spec` (a sidecar file, never in the work tree).
pub fn journal_path(spec: &Path) -> PathBuf {
    crate::sidecar::path(spec, crate::sidecar::Kind::ChangeJournal)
}

/// An open change to the spec: locked (unless read-only), loaded, with edited files pending.
#[derive(Debug)]
pub struct Transaction {
    spec: PathBuf,
    lock: Option<SpecLock>,
    model: Model,
    docs: BTreeMap<PathBuf, SpecDoc>,
    /// Text appended to a file that is not otherwise edited (large specs).
    appends: BTreeMap<PathBuf, String>,
    /// The model is the allocation view read from the cache, not the whole spec.
    from_cache: bool,
    /// Services appended to a large file, for the allocation cache (updated under the lock).
    appended: Vec<(String, portolan_model::PortRange, Option<i64>)>,
    /// Every service's name, when the model is the cached view (which folds the services
    /// without a lease into one).
    cached_names: Option<crate::cache::Names>,
    /// An interrupted change [`Transaction::begin`] finished before loading the spec.
    recovered: Option<Recovered>,
}

/// Files above this size get new services appended at their end instead of being parsed into
/// an editable document (which costs ~70x the file size in memory).
pub const APPEND_ABOVE_BYTES: usize = 1 << 20;

impl Transaction {
    /// Locks the spec (waiting for other writers), then loads it.
    pub fn begin(spec: &Path) -> Result<Self, AllocError> {
        let file = SpecLock::acquire(spec)?;
        let recovered = recover(spec)?;
        let model = portolan_model::load(spec)?;
        Ok(Self {
            spec: spec.to_path_buf(),
            lock: Some(file),
            model,
            docs: BTreeMap::new(),
            appends: BTreeMap::new(),
            from_cache: false,
            appended: Vec::new(),
            cached_names: None,
            recovered,
        })
    }

    /// Like [`Transaction::begin`] for `alloc`: a large single-file spec is read from its
    /// allocation cache when that is fresh (and the cache is written after a full load).
    pub fn begin_alloc(spec: &Path) -> Result<Self, AllocError> {
        let file = SpecLock::acquire(spec)?;
        let recovered = recover(spec)?;
        let mut t = Self::read_only_alloc(spec)?;
        t.lock = Some(file);
        t.recovered = recovered;
        Ok(t)
    }

    /// Like [`Transaction::read_only`] for `alloc` (see [`Transaction::begin_alloc`]).
    pub fn read_only_alloc(spec: &Path) -> Result<Self, AllocError> {
        let (model, cached_names) = if let Some((m, names)) = crate::cache::load(spec) {
            (m, Some(names))
        } else {
            let m = portolan_model::load(spec)?;
            crate::cache::store(spec, &m);
            (m, None)
        };
        Ok(Self {
            spec: spec.to_path_buf(),
            lock: None,
            model,
            docs: BTreeMap::new(),
            appends: BTreeMap::new(),
            from_cache: cached_names.is_some(),
            appended: Vec::new(),
            cached_names,
            recovered: None,
        })
    }

    /// Whether the model came from the allocation cache (a view, without the spec's text).
    pub fn from_cache(&self) -> bool {
        self.from_cache
    }

    /// Whether the spec has a service named `name` (asks the cache's names when the model is
    /// the cached view, whose services are not all there).
    pub fn has_service(&self, name: &str) -> bool {
        match &self.cached_names {
            Some(names) => names.contains(name),
            None => self.model.service_named(name).is_some(),
        }
    }

    /// Replaces a cached view by the whole spec (for edits beyond appending a service).
    pub fn reload_full(&mut self) -> Result<(), AllocError> {
        if self.from_cache {
            self.model = portolan_model::load(&self.spec)?;
            self.from_cache = false;
            self.cached_names = None;
        }
        Ok(())
    }

    /// [`Transaction::read_only`] for a dry run, else [`Transaction::begin`].
    pub fn open(spec: &Path, dry_run: bool) -> Result<Self, AllocError> {
        if dry_run {
            Self::read_only(spec)
        } else {
            Self::begin(spec)
        }
    }

    /// Loads the spec without locking (dry runs: nothing will be written).
    pub fn read_only(spec: &Path) -> Result<Self, AllocError> {
        Ok(Self {
            spec: spec.to_path_buf(),
            lock: None,
            model: portolan_model::load(spec)?,
            docs: BTreeMap::new(),
            appends: BTreeMap::new(),
            from_cache: false,
            appended: Vec::new(),
            cached_names: None,
            recovered: None,
        })
    }

    /// The change an interrupted run left journaled, which opening this transaction
    /// finished (files renamed, log appended) before loading the spec: say so to the user.
    pub fn recovered(&self) -> Option<&Recovered> {
        self.recovered.as_ref()
    }

    /// The spec as loaded under the lock.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The spec path (file or directory).
    pub fn spec(&self) -> &Path {
        &self.spec
    }

    /// The file a location points into.
    pub fn file_of(&self, loc: Loc) -> Option<PathBuf> {
        self.model.sources.file(loc.file).map(|f| f.path.clone())
    }

    /// The files of the spec, in load order.
    pub fn files(&self) -> Vec<PathBuf> {
        self.model
            .sources
            .files()
            .iter()
            .map(|f| f.path.clone())
            .collect()
    }

    /// The file new entries go to when no declaration says otherwise: the spec file, or the
    /// first file of a spec directory.
    pub fn main_file(&self) -> PathBuf {
        self.files()
            .into_iter()
            .next()
            .unwrap_or_else(|| self.spec.clone())
    }

    /// Opens `path` (a file of the spec) for editing, from the text loaded under the lock.
    pub fn doc(&mut self, path: &Path) -> Result<&mut SpecDoc, AllocError> {
        if !self.docs.contains_key(path) {
            let text = self
                .model
                .sources
                .files()
                .iter()
                .find(|f| f.path == path)
                .map(|f| f.text.clone())
                .ok_or_else(|| AllocError::Edit {
                    path: path.to_path_buf(),
                    message: "not a file of the spec".into(),
                })?;
            let doc = SpecDoc::parse(path, &text)?;
            self.docs.insert(path.to_path_buf(), doc);
        }
        self.docs.get_mut(path).ok_or_else(|| AllocError::Edit {
            path: path.to_path_buf(),
            message: "not a file of the spec".into(),
        })
    }

    /// Adds a service to `path`: after the last service when the file is small, or — for a
    /// file over [`APPEND_ABOVE_BYTES`] that is not otherwise edited — as text appended at the
    /// end, validated on its own, so a 20 MB spec is not parsed into a document.
    pub fn add_service(&mut self, path: &Path, s: &NewService<'_>) -> Result<(), AllocError> {
        let text = self
            .model
            .sources
            .files()
            .iter()
            .find(|f| f.path == path)
            .map(|f| f.text.as_str());
        let large = self.from_cache || text.is_some_and(|t| t.len() > APPEND_ABOVE_BYTES);
        // `services = { … }` at the root cannot take a `[services.NAME]` table after it
        let inline = text.is_some_and(|t| {
            t.lines().any(|l| {
                l.trim_start().starts_with("services")
                    && l.split('=').next().is_some_and(|k| k.trim() == "services")
            })
        });
        if !large || inline || self.docs.contains_key(path) {
            return self.doc(path)?.add_service(s);
        }
        if self.has_service(s.name)
            || self
                .appends
                .get(path)
                .is_some_and(|a| a.contains(&format!("[services.{}]", s.name)))
        {
            return Err(AllocError::ServiceExists(s.name.to_string()));
        }
        let fragment = crate::edit::service_fragment(s).map_err(|m| AllocError::Edit {
            path: path.to_path_buf(),
            message: m,
        })?;
        self.appends
            .entry(path.to_path_buf())
            .or_default()
            .push_str(&fragment);
        self.appended
            .push((s.name.to_string(), s.ports, s.lease_until.map(|t| t.0)));
        Ok(())
    }

    /// Validates and writes every edited file, then appends `entries` to the log. Returns the
    /// files written. A read-only transaction writes nothing.
    pub fn commit(self, entries: &[Entry]) -> Result<Vec<PathBuf>, AllocError> {
        self.commit_with_files(entries, Vec::new(), "")
    }

    /// [`commit`](Self::commit) together with other files (`move --apply`'s rewritten
    /// references) as one change: every new content is written and synced first, then a
    /// journal records them, then all are renamed — the spec last — and the journal goes
    /// ([`crate::journal`]), the log entries appended before it goes. A crash after the
    /// journal is finished (and logged) by the next transaction on this spec, so the spec, the
    /// files and the log never disagree for longer than that.
    pub fn commit_with_files(
        self,
        entries: &[Entry],
        files: Vec<(PathBuf, String)>,
        what: &str,
    ) -> Result<Vec<PathBuf>, AllocError> {
        if self.lock.is_none() {
            return Ok(Vec::new());
        }
        let mut pending = Vec::new();
        for (path, doc) in &self.docs {
            if !doc.changed() {
                continue;
            }
            let text = doc.render();
            if let Err(e) = portolan_model::load_str(&path.display().to_string(), &text) {
                let detail = match &e {
                    portolan_model::LoadError::Invalid { errors, .. } => errors
                        .iter()
                        .map(|x| x.message.clone())
                        .collect::<Vec<_>>()
                        .join("; "),
                    other => other.to_string(),
                };
                return Err(AllocError::Validate(detail));
            }
            pending.push((path.clone(), text));
        }
        for (path, fragment) in &self.appends {
            if self.docs.contains_key(path) {
                return Err(AllocError::Edit {
                    path: path.clone(),
                    message: "appended and edited in one transaction".into(),
                });
            }
            // the fragment alone must load (syntax, types, names); the rest is unchanged
            if let Err(e) = portolan_model::load_str("new service", fragment) {
                return Err(AllocError::Validate(e.to_string()));
            }
        }
        // no other files: the spec alone, written and logged as usual
        let spec_only = files.is_empty();
        if spec_only {
            for (path, text) in &pending {
                write_atomic(path, text)?;
            }
        } else {
            if !self.appends.is_empty() {
                return Err(AllocError::Edit {
                    path: self.spec.clone(),
                    message: "appended and journaled in one transaction".into(),
                });
            }
            let journal = journal_path(&self.spec);
            crate::sidecar::prepare(&journal)?;
            crate::atomic::remove_stale_temps(&self.spec);
            let changes: Vec<(PathBuf, Vec<u8>)> = files
                .into_iter()
                .chain(pending.iter().cloned())
                .map(|(p, t)| (p, t.into_bytes()))
                .collect();
            // the log goes with the journal: a recovery appends it if this run cannot
            let log = LogEntries {
                path: &log::path_for(&self.spec),
                entries,
            };
            crate::journal::apply(&journal, what, &changes, Some(log))
                .map_err(|e| AllocError::io(format!("cannot apply {what}"), e))?;
        }
        // appended in place: O(change), crash-safe through the append journal
        for (path, fragment) in &self.appends {
            crate::append::append(path, fragment)
                .map_err(|e| AllocError::io(format!("cannot append to {}", path.display()), e))?;
        }
        if spec_only {
            log::append(&log::path_for(&self.spec), entries)?;
        }
        // still under the lock: another writer must never see the new spec with the old cache
        if self.appends.len() == 1 && self.docs.values().all(|d| !d.changed()) {
            for (name, ports, lease) in &self.appended {
                crate::cache::record(&self.spec, name, *ports, *lease);
            }
        } else {
            let _ = std::fs::remove_file(crate::cache::path_for(&self.spec));
        }
        drop(self.lock);
        let mut written: Vec<PathBuf> = pending.into_iter().map(|(p, _)| p).collect();
        written.extend(self.appends.into_keys());
        Ok(written)
    }
}

/// Writes `text` to `path` atomically ([`crate::atomic::write_atomic`]). Stale temp files of
/// earlier crashed writers are removed first: callers hold the spec lock, so none is in use.
pub fn write_atomic(path: &Path, text: &str) -> Result<(), AllocError> {
    crate::atomic::remove_stale_temps(path);
    crate::atomic::write_atomic(path, text.as_bytes())
        .map(drop)
        .map_err(|e| AllocError::io(format!("cannot write {}", path.display()), e))
}
