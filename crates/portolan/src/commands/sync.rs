//! What `pull` and `push` share: the registry's spec with its generation, the base of the
//! three-way merge (what this file last received from that registry, kept outside the
//! working tree by `portolan_alloc::pulled`), the merge itself with its refusals, and the
//! write of the merged file.

use std::fmt::Write as _;
use std::path::Path;

use portolan_alloc::merge::{self, Merged, OnConflict};
use portolan_alloc::pulled::{self, Pulled};

use super::client::{Client, Remote};
use super::common::shown;
use crate::error::CliError;

/// The registry's spec and the generation it is at.
pub(crate) struct RegistrySpec {
    pub text: String,
    pub generation: i64,
}

/// `GET /api/v1/spec` with its `ETag`.
pub(crate) fn fetch(client: &Client<'_>, remote: &Remote) -> Result<RegistrySpec, CliError> {
    let a = client.exchange("GET", "/api/v1/spec", None, None)?;
    if !a.ok() {
        return Err(a.error());
    }
    let generation = a.generation().ok_or_else(|| CliError::Remote {
        status: a.status,
        message: format!(
            "the registry at {} did not say which generation its spec is (no ETag): it predates pull/push with merging; upgrade it",
            remote.server
        ),
    })?;
    Ok(RegistrySpec {
        text: a.text,
        generation,
    })
}

/// A refusal: the file and the registry disagree in a way portolan does not decide (exit 1).
pub(crate) fn refused(message: String) -> CliError {
    CliError::Remote {
        status: 409,
        message,
    }
}

/// Merges the registry's spec into the file's text against the recorded base, and checks
/// the result: it must load, and must not give one port to two holders where neither side
/// did (leases that ran out by `now` hold nothing). `what` names the command in messages
/// (`pull`, `push --merge`).
pub(crate) fn merge_checked(
    spec: &Path,
    base: Option<&Pulled>,
    local: &str,
    registry: &RegistrySpec,
    on_conflict: OnConflict,
    what: &str,
    now: i64,
) -> Result<Merged, CliError> {
    let name = shown(spec);
    // the file must load as it is (errors with carets, exit 2): a merge edits a spec
    if !local.trim().is_empty() {
        portolan_model::load_str(&name, local)?;
    }
    let m = merge::merge(
        base.map(|b| b.text.as_str()),
        local,
        &registry.text,
        &name,
        on_conflict,
    )
    .map_err(|e| CliError::Usage(e.to_string()))?;
    if !m.conflicts.is_empty() {
        let mut msg = format!(
            "{what} refused: {} changed both in {name} and in the registry{}; nothing was written",
            super::common::count(m.conflicts.len() as u64, "key", None),
            if base.is_some() {
                " since the last pull"
            } else {
                " (this file was never pulled from it)"
            }
        );
        for c in &m.conflicts {
            let _ = write!(msg, "\n  {c}");
        }
        msg.push_str(
            "\n  hint: to take the registry's values, `portolan pull --force`; to keep yours, pull --force, write them again and `portolan push`",
        );
        return Err(refused(msg));
    }
    if let Err(e) = portolan_model::load_str(&name, &m.text) {
        return Err(refused(format!(
            "{what} refused: {name} merged with the registry's spec would not load ({e}); nothing was written"
        )));
    }
    let clashes = merge::clashes(local, &registry.text, &m.text, now);
    if !clashes.is_empty() {
        let mut msg = format!(
            "{what} refused: merged, {name} and the registry would give a port to two holders; nothing was written"
        );
        for c in &clashes {
            let _ = write!(msg, "\n  {c}");
        }
        msg.push_str("\n  hint: the registry's allocations stand: release or move yours (`portolan release`, `portolan move`), then try again");
        return Err(refused(msg));
    }
    Ok(m)
}

/// Records what the file now shares with the registry (under the spec lock).
pub(crate) fn record(
    spec: &Path,
    remote: &Remote,
    generation: i64,
    text: &str,
) -> Result<(), CliError> {
    pulled::record(
        spec,
        &Pulled {
            server: remote.server.clone(),
            generation,
            text: text.to_string(),
        },
    )?;
    Ok(())
}

/// A list of keys for a summary line (`a, b, c and 4 more`).
pub(crate) fn keys(list: &[String]) -> String {
    const SHOWN: usize = 6;
    let mut s = list
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if list.len() > SHOWN {
        let _ = write!(s, " and {} more", list.len() - SHOWN);
    }
    s
}
