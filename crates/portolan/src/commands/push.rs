//! `portolan push`: the spec file into the registry (`PUT /api/v1/spec`, admin token),
//! guarded by the registry's generation so nothing the registry learned since the last pull
//! is lost:
//!
//! - `push` sends `If-Match` with the generation the file last pulled (or pushed); a
//!   registry that moved on since answers 409 with what it has that the file lacks, and
//!   nothing changes. A file never pulled from this registry is pushed only when the
//!   registry has nothing it lacks.
//! - `push --merge` pulls first — the three-way merge of `pull`, into the file — and pushes
//!   the result: the registry's allocations survive; keys both sides changed differently,
//!   and ports the merge would give to two holders, are refused.
//! - `push --force` replaces the registry's spec whatever it holds; the registry logs every
//!   item dropped.
//!
//! The server validates the spec as `portolan lint` loads it, and logs every push with the
//! token that made it.

use std::fmt::Write as _;
use std::path::PathBuf;

use portolan_alloc::merge::{self, OnConflict};
use portolan_alloc::sidecar::SpecLock;

use super::Subcommand;
use super::client::{Answer, Client, Remote};
use super::common::{count, shown};
use super::sync::{self, refused};
use crate::cli::RemoteArgs;
use crate::error::CliError;
use crate::exit::Exit;
use crate::output;
use crate::settings::Settings;

/// Examples shown after `--help`.
pub const HELP: &str = "\
Examples:
  export PORTOLAN_SERVER=http://127.0.0.1:7878 PORTOLAN_TOKEN=ptk_…
  portolan push                      # refused if the registry changed since the last pull
  portolan push --merge              # merge the registry's changes in, then push
  portolan push --force              # replace the registry's spec (each dropped item is logged)
  portolan --spec infra/ports.toml push --server https://ports.example.org

Needs an admin token. A spec that does not load is refused and the registry is unchanged.
Exit codes: 0 pushed, 1 refused (stale, conflicting or clashing), 2 bad input.";

/// How many times `push --merge` starts over when another writer gets in between.
const MERGE_ATTEMPTS: u32 = 5;

/// `portolan push`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The registry.
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// Merge the registry's changes since the last pull into the file first (like `pull`),
    /// then push the result.
    #[arg(long, conflicts_with = "force")]
    pub merge: bool,
    /// Replace the registry's spec whatever it holds; what is dropped is logged there.
    #[arg(long)]
    pub force: bool,
}

impl Subcommand for Args {
    fn run(self, s: &Settings) -> Result<Exit, CliError> {
        run(
            s,
            &Remote::required(self.remote, &s.config)?,
            self.merge,
            self.force,
        )
    }
}

/// The items of a 409 or forced push answer (`would_drop`, `dropped`), in words.
fn items(v: &serde_json::Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x["text"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn stale(spec: &str, answer: &Answer) -> CliError {
    let v = answer.json();
    let mut msg = format!(
        "push refused: {}",
        v["error"]
            .as_str()
            .unwrap_or("the registry changed since the last pull")
    );
    let lost = items(&v, "would_drop");
    if !lost.is_empty() {
        let _ = write!(
            msg,
            "\n  the registry has what {spec} lacks or says differently (a push would drop it):"
        );
        for l in &lost {
            let _ = write!(msg, "\n    {l}");
        }
    }
    msg.push_str("\n  hint: `portolan push --merge` merges the registry's changes in and pushes; `portolan pull` merges them into the file; `portolan push --force` drops them (logged)");
    refused(msg)
}

fn run(s: &Settings, remote: &Remote, merge: bool, force: bool) -> Result<Exit, CliError> {
    // `--spec -`: the text comes from standard input; there is no file to merge into or
    // to remember the pushed generation beside
    let stdin = s.spec_is_stdin();
    if stdin && merge {
        return Err(CliError::Usage(
            "push --merge writes the merged spec back to its file: give --spec FILE, not standard input".into(),
        ));
    }
    let spec = if stdin {
        PathBuf::from(crate::settings::STDIN_NAME)
    } else {
        s.spec_path()?
    };
    if !stdin && spec.is_dir() {
        return Err(CliError::Usage(format!(
            "{} is a directory: push needs one ports.toml (the registry stores a single file)",
            spec.display()
        )));
    }
    let _lock = if stdin {
        None
    } else {
        Some(SpecLock::acquire(&spec)?)
    };
    // load first: errors render with carets here rather than as a server message
    s.load()?;
    let local = if stdin {
        crate::settings::stdin_text()?.to_string()
    } else {
        std::fs::read_to_string(&spec)
            .map_err(|e| CliError::io(format!("cannot read {}", spec.display()), e))?
    };
    let client = Client::new(remote);
    let name = if stdin {
        crate::settings::STDIN_NAME.to_string()
    } else {
        shown(&spec)
    };
    let put = |text: &str, if_match: &str| {
        client.exchange(
            "PUT",
            "/api/v1/spec",
            Some(("application/toml", text)),
            Some(if_match),
        )
    };
    let (answer, pushed, merged) = if force {
        (put(&local, "*")?, local.clone(), None)
    } else if merge {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let got = sync::fetch(&client, remote)?;
            let base = portolan_alloc::pulled::read(&spec, &remote.server);
            let m = sync::merge_checked(
                &spec,
                base.as_ref(),
                &local,
                &got,
                OnConflict::Refuse,
                "push --merge",
                s.clock.now(),
            )?;
            let a = put(&m.text, &format!("\"{}\"", got.generation))?;
            if a.status == 412 || a.status == 409 {
                // another writer got in between: merge again with what it wrote
                if attempt < MERGE_ATTEMPTS {
                    continue;
                }
                return Err(stale(&name, &a));
            }
            let text = m.text.clone();
            break (a, text, Some(m));
        }
    } else {
        let base = if stdin {
            None
        } else {
            portolan_alloc::pulled::read(&spec, &remote.server)
        };
        let if_match = if let Some(b) = base {
            format!("\"{}\"", b.generation)
        } else {
            // never pulled from this registry: only when it has nothing the file lacks
            let got = sync::fetch(&client, remote)?;
            let lost =
                merge::lost(&got.text, &local).map_err(|e| CliError::Usage(e.to_string()))?;
            if !lost.is_empty() {
                let mut msg = format!(
                    "push refused: {name} was never pulled from {} and the registry has what it lacks or says differently (a push would drop it):",
                    remote.server
                );
                for l in &lost {
                    let _ = write!(msg, "\n    {l}");
                }
                msg.push_str("\n  hint: `portolan pull` merges the registry's spec into the file, then push; `portolan push --force` drops them (logged)");
                return Err(refused(msg));
            }
            format!("\"{}\"", got.generation)
        };
        (put(&local, &if_match)?, local.clone(), None)
    };
    if answer.status == 409 || answer.status == 412 {
        return Err(stale(&name, &answer));
    }
    if !answer.ok() {
        return Err(answer.error());
    }
    let v = answer.json();
    let generation = answer
        .generation()
        .or_else(|| v["generation"].as_i64())
        .ok_or_else(|| CliError::Remote {
            status: answer.status,
            message: "the registry did not say which generation it is at after the push".into(),
        })?;
    if let Some(m) = &merged
        && m.changes_file(&local)
    {
        portolan_alloc::txn::write_atomic(&spec, &m.text)?;
    }
    if !stdin {
        sync::record(&spec, remote, generation, &pushed)?;
    }
    let dropped = items(&v, "dropped");
    if s.json {
        output::stdout(&(answer.text.trim().to_string() + "\n"))?;
    } else if s.verbosity >= 0 {
        let n = |k: &str, word: &str| count(v[k].as_u64().unwrap_or(0), word, None);
        let mut out = String::new();
        if let Some(m) = &merged
            && !m.taken.is_empty()
        {
            let _ = writeln!(
                out,
                "merged {} from the registry into {name} ({})",
                super::common::count(m.taken.len() as u64, "change", None),
                sync::keys(&m.taken)
            );
        }
        let _ = writeln!(
            out,
            "pushed {name} to {} (generation {generation}): {}, {}, {}, {}, {}; {}",
            remote.server,
            n("projects", "project"),
            n("hosts", "host"),
            n("services", "service"),
            n("bindings", "binding"),
            n("reservations", "reservation"),
            n("findings", "lint finding"),
        );
        if !dropped.is_empty() {
            let _ = writeln!(
                out,
                "dropped from the registry by --force (each logged there):"
            );
            for d in &dropped {
                let _ = writeln!(out, "  {d}");
            }
        }
        output::stdout(&out)?;
    }
    Ok(Exit::Ok)
}
