//! `portolan discover [PATH...]`: the ports a repository uses, with evidence — as a table
//! grouped by service, as JSON, as a comparison with the spec (`--diff`), or merged into the
//! spec (`--write`, additions only, under the spec lock, atomic and lossless). Also the
//! starter spec of `init --from-discover`.

use std::fmt::Write as _;
use std::path::PathBuf;

use portolan_alloc::log::Action;
use portolan_alloc::txn::Transaction;
use portolan_discover::draft::{self, Diff};
use portolan_discover::walk::{self, Discovery, WalkOptions};

use super::Subcommand;
use super::common::{count, entry, shown, warn_problems};
use crate::error::CliError;
use crate::exit::Exit;
use crate::output;
use crate::settings::Settings;

/// Examples shown after `--help`.
pub const HELP: &str = "\
Examples:
  portolan discover                      # this repository (honours .gitignore)
  portolan discover services/ deploy/ --json
  portolan discover --diff               # code vs spec, both ways (exit 1 when they differ)
  portolan discover --write              # add what the spec lacks; never overwrites
  portolan discover --min-confidence high

Secrets (passwords in URLs, *_PASSWORD values) are never printed.
Exit codes: 0 ok, 1 --diff found differences, 2 usage error or unreadable spec.";

/// `portolan discover`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files or directories to read (default: the current directory).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Compare with the spec: ports the code uses that the spec lacks, declarations the code
    /// no longer uses, and disagreements.
    #[arg(long, conflicts_with = "write")]
    pub diff: bool,
    /// Add what the spec lacks to it (new services and bindings; declared values are never
    /// overwritten).
    #[arg(long)]
    pub write: bool,
    /// With --write: print what would be added and write nothing.
    #[arg(long, requires = "write")]
    pub dry_run: bool,
    /// With --write: the host new services go on (default: the spec's only host).
    #[arg(long, requires = "write", value_name = "HOST")]
    pub host: Option<String>,
    /// Only evidence at least this sure.
    #[arg(long, value_enum, default_value_t = ConfidenceArg::Low, value_name = "LEVEL")]
    pub min_confidence: ConfidenceArg,
    /// Also read files .gitignore excludes.
    #[arg(long)]
    pub no_ignore: bool,
    /// Follow symbolic links.
    #[arg(short = 'L', long)]
    pub follow: bool,
    /// Skip files larger than this many bytes.
    #[arg(long, default_value_t = 8 * 1024 * 1024, value_name = "BYTES")]
    pub max_filesize: u64,
    /// Worker threads (default: one per core).
    #[arg(short = 'j', long, default_value_t = 0, value_name = "N")]
    pub threads: usize,
}

/// `--min-confidence`.
#[derive(Debug, Clone, Copy, clap::ValueEnum, PartialEq, Eq)]
pub enum ConfidenceArg {
    /// Everything.
    Low,
    /// Recognised idioms and better.
    Medium,
    /// Only what the format says is a port.
    High,
}

/// Validated `discover` options.
#[derive(Debug, Clone)]
struct DiscoverSettings {
    /// Roots to walk.
    paths: Vec<PathBuf>,
    /// Compare with the spec.
    diff: bool,
    /// Merge into the spec.
    write: bool,
    /// With `write`: write nothing.
    dry_run: bool,
    /// With `write`: the host of new services.
    host: Option<String>,
    /// Minimum confidence shown.
    min_confidence: portolan_discover::Confidence,
    /// Walk options.
    walk: WalkOptions,
}

impl Subcommand for Args {
    fn run(self, s: &Settings) -> Result<Exit, CliError> {
        run(
            s,
            &DiscoverSettings {
                paths: if self.paths.is_empty() {
                    vec![PathBuf::from(".")]
                } else {
                    self.paths
                },
                diff: self.diff,
                write: self.write,
                dry_run: self.dry_run,
                host: self.host,
                min_confidence: match self.min_confidence {
                    ConfidenceArg::Low => portolan_discover::Confidence::Low,
                    ConfidenceArg::Medium => portolan_discover::Confidence::Medium,
                    ConfidenceArg::High => portolan_discover::Confidence::High,
                },
                walk: WalkOptions {
                    no_ignore: self.no_ignore,
                    follow_links: self.follow,
                    max_filesize: self.max_filesize,
                    threads: self.threads,
                },
            },
        )
    }
}

/// Walks `d.paths` and keeps what is sure enough.
fn run_walk(d: &DiscoverSettings) -> Discovery {
    let mut found = walk::discover(&d.paths, &d.walk);
    found
        .report
        .uses
        .retain(|u| u.confidence >= d.min_confidence);
    found
}

fn run(s: &Settings, d: &DiscoverSettings) -> Result<Exit, CliError> {
    for p in &d.paths {
        if !p.exists() {
            return Err(CliError::Usage(format!(
                "{}: no such file or directory",
                p.display()
            )));
        }
    }
    let found = run_walk(d);
    warn_problems(s, &found.report);
    if d.diff {
        let model = s.load()?;
        let diff = draft::diff(&model, &found.report);
        if s.json {
            output::stdout(&(serde_json::to_string_pretty(&diff).unwrap_or_default() + "\n"))?;
        } else {
            output::stdout(&diff_text(&diff))?;
        }
        return Ok(if diff.is_empty() {
            Exit::Ok
        } else {
            Exit::Findings
        });
    }
    if d.write {
        return write(s, d, &found);
    }
    if s.json {
        // streamed: 100,000s of uses never become one string
        let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
        serde_json::to_writer_pretty(&mut out, &found)
            .map_err(std::io::Error::from)
            .and_then(|()| std::io::Write::write_all(&mut out, b"\n"))
            .and_then(|()| std::io::Write::flush(&mut out))
            .map_err(|e| CliError::io("cannot write to stdout", e))?;
    } else {
        output::stdout_with(|mut out| {
            super::discover_table::write_table(&mut out, &found.report, s.width, d.walk.threads)
        })?;
        if s.verbosity >= 0 {
            errln!(
                "{}, {} in {} read{}",
                count(found.report.uses.len() as u64, "port use", None),
                count(found.report.routes.len() as u64, "route", None),
                count(found.files_read as u64, "file", None),
                if found.report.secrets.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; {} redacted",
                        count(found.report.secrets.len() as u64, "secret", None)
                    )
                }
            );
        }
    }
    // 100,000s of uses freed one by one cost as much as printing them (~80 ms for the
    // bench's tree, all on this thread), and the process exits right after, returning
    // the memory at once
    std::mem::forget(found);
    Ok(Exit::Ok)
}

/// `--diff` as text.
fn diff_text(diff: &Diff) -> String {
    let mut out = String::new();
    if diff.is_empty() {
        out.push_str("code and spec agree\n");
        return out;
    }
    for s in &diff.undeclared {
        for b in &s.bindings {
            let _ = writeln!(
                out,
                "+ {}.{} {}/{}  (in the code, not in the spec)  {}",
                s.name,
                b.name,
                b.port,
                b.transport.as_str(),
                b.evidence
                    .first()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            );
        }
    }
    for u in &diff.unused {
        let _ = writeln!(
            out,
            "- {} {}/{}  (declared, no longer used by the code)  {}",
            u.binding,
            u.port,
            u.transport.as_str(),
            u.declared_at
        );
    }
    for x in &diff.disagreements {
        let _ = writeln!(out, "! {} {}  {}  {}", x.binding, x.port, x.what, x.at);
    }
    out
}

/// `--write`: what the spec lacks, added; disagreements reported, never written.
fn write(s: &Settings, d: &DiscoverSettings, found: &Discovery) -> Result<Exit, CliError> {
    let spec = s.spec_path()?;
    let mut txn = Transaction::open(&spec, d.dry_run)?;
    super::common::report_recovered(s, &txn);
    let diff = draft::diff(txn.model(), &found.report);
    let main = txn.main_file();
    // new services go on a host the spec declares, never on an implicit `default`
    let host = if diff.undeclared.is_empty() {
        None
    } else {
        portolan_alloc::policy::pick_host(txn.model(), d.host.as_deref(), None)?
    };
    let mut added = Vec::new();
    for svc in &diff.undeclared {
        if let Some(id) = txn.model().service_named(&svc.name) {
            // an existing service: add its new bindings to the file that declares it
            let file = txn
                .file_of(txn.model().service(id).loc)
                .unwrap_or_else(|| main.clone());
            let taken = txn.model().service(id).binding_names.clone();
            for b in &svc.bindings {
                let mut name = b.name.clone();
                if taken.contains(&name) {
                    name = format!("{}-{}", b.name, b.port.lo);
                }
                txn.doc(&file)?
                    .add_binding_text(&svc.name, &name, &draft::binding_toml(b))?;
                added.push(format!("{}.{name} {}", svc.name, b.port));
            }
        } else {
            let text = draft::service_toml(svc, host.as_deref());
            txn.doc(&main)?.add_service_text(&svc.name, &text)?;
            for b in &svc.bindings {
                added.push(format!("{}.{} {}", svc.name, b.name, b.port));
            }
        }
    }
    for x in &diff.disagreements {
        if s.verbosity >= 0 {
            errln!(
                "warning: {}: {} {} disagrees with the spec ({}); not changed",
                x.at,
                x.binding,
                x.port,
                x.what
            );
        }
    }
    let verb = if d.dry_run { "would add" } else { "added" };
    let mut text = String::new();
    for a in &added {
        let _ = writeln!(text, "{verb} {a}");
    }
    if added.is_empty() {
        text.push_str("nothing to add: the spec declares every port the code uses\n");
    }
    if !d.dry_run && !added.is_empty() {
        let now = s.clock.now();
        let mut e = entry(&spec, now, Action::Discover, added.join(", "));
        e.why = Some(format!(
            "discovered in {}",
            d.paths
                .iter()
                .map(|p| shown(p))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        let written = txn.commit(&[e])?;
        for w in written {
            let _ = writeln!(text, "wrote {}", shown(&w));
        }
    }
    output::stdout(&text)?;
    Ok(if diff.disagreements.is_empty() {
        Exit::Ok
    } else {
        Exit::Findings
    })
}
