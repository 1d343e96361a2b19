//! The change log: one JSON object per line (`ports.log.jsonl` beside the spec), appended
//! under the spec lock by every alloc, release, reserve and gc — who (`$PORTOLAN_USER`, else
//! `git config user.name`, else `$USER`), when (UTC), what and why. Rendered as a Markdown
//! table like the "Port Assignment Log" of hand-written port documents.

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::AllocError;

/// What a change did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// A port handed to a new service.
    Alloc,
    /// A service or reserved ports given back.
    Release,
    /// Ports held for a project.
    Reserve,
    /// An expired lease or reservation removed.
    Gc,
    /// A service moved to another port (`portolan move --apply`).
    Move,
    /// Services or bindings the code uses added to the spec (`portolan discover --write`).
    Discover,
    /// A spec file replaced the registry's spec (`portolan push`).
    Push,
    /// An item the registry held that a `push --force` dropped (one entry per item).
    Drop,
}

impl Action {
    /// `alloc`, `release`, `reserve`, `gc`, `move`, `discover`, `push`, `drop`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Alloc => "alloc",
            Action::Release => "release",
            Action::Reserve => "reserve",
            Action::Gc => "gc",
            Action::Move => "move",
            Action::Discover => "discover",
            Action::Push => "push",
            Action::Drop => "drop",
        }
    }
}

/// One line of the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// When (`2026-11-27T10:00:00Z`).
    pub at: String,
    /// Who.
    pub who: String,
    /// What.
    pub action: Action,
    /// Service concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Project concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block: Option<String>,
    /// Host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Transport (`tcp`/`udp`; absent for reservations, which hold both).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<String>,
    /// Ports (`5021`, `5021-5023`, `8010-8011, 8013-8019`).
    pub ports: String,
    /// Lease end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until: Option<String>,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

impl Entry {
    /// An entry stamped with when (`now`, seconds since the epoch) and who, for `ports`;
    /// the optional fields empty.
    pub fn new(now: i64, who: impl Into<String>, action: Action, ports: String) -> Self {
        Entry {
            at: portolan_model::spec::Timestamp(now).to_string(),
            who: who.into(),
            action,
            service: None,
            project: None,
            block: None,
            host: None,
            transport: None,
            ports,
            lease_until: None,
            why: None,
        }
    }
}

/// The log file of a spec: `ports.toml` → `ports.log.jsonl` beside it; a spec directory →
/// `DIR/ports.log.jsonl`.
pub fn path_for(spec: &Path) -> PathBuf {
    if spec.is_dir() {
        return spec.join("ports.log.jsonl");
    }
    let stem = spec
        .file_stem()
        .map_or_else(|| "ports".into(), |s| s.to_string_lossy().into_owned());
    spec.with_file_name(format!("{stem}.log.jsonl"))
}

/// Appends entries (call it holding the spec lock).
pub fn append(path: &Path, entries: &[Entry]) -> Result<(), AllocError> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut text = String::new();
    for e in entries {
        let line = serde_json::to_string(e)
            .map_err(|e| AllocError::io("cannot encode a log entry", std::io::Error::other(e)))?;
        text.push_str(&line);
        text.push('\n');
    }
    let ctx = || format!("cannot append to {}", path.display());
    // never through a symlink: a repository must not make `alloc` append to another file
    let mut f = crate::sidecar::open_nofollow(path, true).map_err(|e| AllocError::io(ctx(), e))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_data())
        .map_err(|e| AllocError::io(ctx(), e))
}

/// Reads the log: the entries, and the 1-based numbers of lines that are not entries (a line
/// torn by a crash, a hand edit). A missing file is an empty log.
pub fn read(path: &Path) -> Result<(Vec<Entry>, Vec<usize>), AllocError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(AllocError::io(format!("cannot read {}", path.display()), e)),
    };
    let mut entries = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(e) => entries.push(e),
            Err(_) => bad.push(i + 1),
        }
    }
    Ok((entries, bad))
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The log as a Markdown table, oldest first.
pub fn table(entries: &[Entry]) -> String {
    let mut out =
        String::from("| When (UTC) | Who | Action | Service | Ports | Project | Host | Why |\n");
    out.push_str("|---|---|---|---|---|---|---|---|\n");
    for e in entries {
        let when = e.at.replace('T', " ").trim_end_matches('Z').to_string();
        let mut ports = e.ports.clone();
        if let Some(t) = &e.transport {
            ports.push('/');
            ports.push_str(t);
        }
        let mut why = e.why.clone().unwrap_or_default();
        if let Some(l) = &e.lease_until {
            if !why.is_empty() {
                why.push_str("; ");
            }
            why.push_str("lease until ");
            why.push_str(l);
        }
        let project = match (&e.project, &e.block) {
            (Some(p), Some(b)) => format!("{p}/{b}"),
            (Some(p), None) => p.clone(),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(&when),
            cell(&e.who),
            e.action.as_str(),
            cell(e.service.as_deref().unwrap_or("")),
            cell(&ports),
            cell(&project),
            cell(e.host.as_deref().unwrap_or("")),
            cell(&why),
        );
    }
    out
}

/// Who is making the change: `$PORTOLAN_USER`, else `git config user.name` (run in `dir`),
/// else `$USER` / `$USERNAME`, else `unknown`.
pub fn who(dir: &Path) -> String {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    if let Some(u) = env("PORTOLAN_USER") {
        return u;
    }
    let git = std::process::Command::new("git")
        .args(["config", "user.name"])
        .current_dir(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        })
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty());
    git.or_else(|| env("USER"))
        .or_else(|| env("USERNAME"))
        .unwrap_or_else(|| "unknown".into())
}
