//! What a spec file last received from (or sent to) a registry: the registry's URL, the
//! generation it was at, and the spec text itself — the base of the three-way
//! [`merge`](crate::merge) of the next `pull` or `push --merge`, and the `If-Match` of the
//! next `push`. Kept in the spec's [`sidecar`](crate::sidecar) files (inside `.git/` in a
//! git work tree), never in the working tree; written atomically under the spec lock.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::AllocError;
use crate::sidecar::{self, Kind};

/// The last exchange with a registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pulled {
    /// The registry (`http://127.0.0.1:7878`).
    pub server: String,
    /// Its generation when the text was current there.
    pub generation: i64,
    /// The spec as the registry had it then.
    #[serde(skip)]
    pub text: String,
}

/// The record of `spec` for `server`, if any (a record of another registry is none: its
/// base says nothing about this one). A torn or missing record is none.
pub fn read(spec: &Path, server: &str) -> Option<Pulled> {
    let meta = std::fs::read_to_string(sidecar::path(spec, Kind::PulledMeta)).ok()?;
    let mut p: Pulled = serde_json::from_str(&meta).ok()?;
    if p.server.trim_end_matches('/') != server.trim_end_matches('/') {
        return None;
    }
    p.text = std::fs::read_to_string(sidecar::path(spec, Kind::PulledSpec)).ok()?;
    Some(p)
}

/// Records an exchange (call it holding the spec lock). The text is written before the
/// metadata, so a crash in between leaves the old generation with a newer text — which the
/// next push sends as a stale `If-Match` and the registry refuses: safe.
pub fn record(spec: &Path, p: &Pulled) -> Result<(), AllocError> {
    let text_path = sidecar::path(spec, Kind::PulledSpec);
    let meta_path = sidecar::path(spec, Kind::PulledMeta);
    sidecar::prepare(&text_path)?;
    crate::txn::write_atomic(&text_path, &p.text)?;
    let meta = serde_json::to_string(p)
        .map_err(|e| AllocError::io("cannot encode the pull record", std::io::Error::other(e)))?;
    crate::txn::write_atomic(&meta_path, &(meta + "\n"))
}

/// Forgets the record of `spec` (after `pull -o` replaced the file wholesale elsewhere).
pub fn forget(spec: &Path) {
    let _ = std::fs::remove_file(sidecar::path(spec, Kind::PulledMeta));
    let _ = std::fs::remove_file(sidecar::path(spec, Kind::PulledSpec));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_per_registry_and_round_trips() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join(".git")).expect("git");
        let spec = dir.path().join("ports.toml");
        assert_eq!(read(&spec, "http://a"), None);
        let p = Pulled {
            server: "http://a/".into(),
            generation: 7,
            text: "[projects.p]\n".into(),
        };
        record(&spec, &p).expect("record");
        assert_eq!(read(&spec, "http://a"), Some(p.clone()));
        assert_eq!(read(&spec, "http://b"), None);
        // nothing beside the spec
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("dir")
            .filter_map(Result::ok)
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(".git")]);
        forget(&spec);
        assert_eq!(read(&spec, "http://a"), None);
    }
}
