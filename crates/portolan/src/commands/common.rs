//! Helpers several commands share: showing paths, stamping log entries, checking
//! `--env`/`--host` against the spec, and printing a findings report with its exit code.

use std::path::Path;

use portolan_alloc::log::{self, Action, Entry};
use portolan_lint::report::{Format, group, human, json, sarif};
use portolan_lint::{Report, Severity};
use portolan_model::Model;

use crate::cli::{FailOn, FormatArg, ReportArgs};
use crate::error::CliError;
use crate::exit::Exit;
use crate::settings::Settings;

/// The directory of a spec path (for `git config user.name`).
pub(crate) fn spec_dir(spec: &Path) -> &Path {
    if spec.is_dir() {
        spec
    } else {
        spec.parent().unwrap_or(Path::new("."))
    }
}

/// A path as the user gave it, relative to the current directory when inside it.
pub(crate) fn shown(p: &Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|c| p.strip_prefix(c).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| p.to_path_buf())
        .display()
        .to_string()
}

/// A log entry skeleton stamped with who and when.
pub(crate) fn entry(spec: &Path, now: i64, action: Action, ports: String) -> Entry {
    Entry::new(now, log::who(spec_dir(spec)), action, ports)
}

/// Tells the user (stderr) that opening `txn` finished a change an interrupted run left
/// journaled — which files it replaced now and where it logged the change — so files that
/// changed under them are never a surprise. Silent with `-qq`.
pub(crate) fn report_recovered(s: &Settings, txn: &portolan_alloc::txn::Transaction) {
    let Some(r) = txn.recovered() else { return };
    if s.verbosity < -1 {
        return;
    }
    let total = r.completed.len() + r.already.len();
    let mut line = format!(
        "note: finished an interrupted {}{}: {} of {} replaced now",
        r.what,
        r.at.as_deref()
            .map(|at| format!(" from {at}"))
            .unwrap_or_default(),
        r.completed.len(),
        count(total as u64, "file", None),
    );
    if !r.completed.is_empty() {
        let names: Vec<String> = r.completed.iter().map(|p| shown(p)).collect();
        line = format!("{line} ({})", names.join(", "));
    }
    match &r.logged {
        Some((path, 0)) => line = format!("{line}; already in {}", shown(path)),
        Some((path, _)) => line = format!("{line}; logged in {}", shown(path)),
        None => {}
    }
    errln!("{line}");
}

/// A JSON value as pretty text with a final newline (small documents; reports stream).
pub(crate) fn pretty(v: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

/// How to report findings.
#[derive(Debug, Clone)]
pub(crate) struct ReportSettings {
    /// Output format.
    pub format: Format,
    /// Lowest severity that fails (None: never).
    pub fail_on: Option<Severity>,
    /// `--sarif-root`.
    pub sarif_root: Option<std::path::PathBuf>,
}

impl ReportSettings {
    /// `--format`/`--fail-on` (and the global `--json`) validated.
    pub(crate) fn new(a: &ReportArgs, json: bool) -> Self {
        let format = match (a.format, json) {
            (Some(FormatArg::Sarif), _) => Format::Sarif,
            (Some(FormatArg::Json), _) | (None, true) => Format::Json,
            (Some(FormatArg::Human) | None, _) => Format::Human,
        };
        let fail_on = match a.fail_on {
            FailOn::Error => Some(Severity::Error),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Info => Some(Severity::Info),
            FailOn::Never => None,
        };
        ReportSettings {
            format,
            fail_on,
            sarif_root: a.sarif_root.clone(),
        }
    }
}

/// Checks `--env` and `--host` against the spec (usage error naming the choices).
pub(crate) fn check_scope(
    model: &Model,
    env: Option<&str>,
    host: Option<&str>,
) -> Result<(), CliError> {
    if let Some(e) = env
        && !model.environments.iter().any(|x| x.name == e)
    {
        let names: Vec<&str> = model.environments.iter().map(|x| x.name.as_str()).collect();
        return Err(CliError::Usage(format!(
            "environment `{e}` is not in the spec; environments: {}",
            names.join(", ")
        )));
    }
    if let Some(h) = host {
        let Some(id) = model.host_named(h) else {
            let names: Vec<&str> = model.hosts.iter().map(|x| x.name.as_str()).collect();
            return Err(CliError::Usage(format!(
                "host `{h}` is not in the spec; hosts: {}",
                names.join(", ")
            )));
        };
        let he = &model.environment(model.host(id).environment).name;
        if let Some(e) = env
            && he != e
        {
            return Err(CliError::Usage(format!(
                "host `{h}` is in environment `{he}`, not `{e}`"
            )));
        }
    }
    Ok(())
}

/// Prints a report in the chosen format and picks the exit code.
pub(crate) fn print_report(
    s: &Settings,
    model: &Model,
    r: Report,
    report: &ReportSettings,
) -> Result<Exit, CliError> {
    print_report_with(s, model, r, report, None)
}

/// A section a command adds to its report: text before the human findings, a key of the
/// JSON report.
pub(crate) struct Extra {
    /// Human text, printed before the findings.
    pub human: String,
    /// JSON key.
    pub key: &'static str,
    /// JSON value.
    pub json: serde_json::Value,
}

/// [`print_report`] with an extra section. Written finding by finding (a report with an
/// extra JSON key is built in memory first); a closed pipe stops the output, not the verdict.
pub(crate) fn print_report_with(
    s: &Settings,
    model: &Model,
    r: Report,
    report: &ReportSettings,
    extra: Option<Extra>,
) -> Result<Exit, CliError> {
    let exit = verdict(&r, report);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let written = write_report(&mut out, s, model, r, report, exit, extra)?;
    match written.and_then(|()| std::io::Write::flush(&mut out)) {
        Ok(()) => Ok(exit),
        // a closed pipe stops the output, not the verdict
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(exit),
        Err(e) => Err(CliError::io("cannot write to stdout", e)),
    }
}

/// The exit code a report earns: 1 with findings at or above `--fail-on`, else 0.
pub(crate) fn verdict(r: &Report, report: &ReportSettings) -> Exit {
    if report.fail_on.is_some_and(|t| r.fails(t)) {
        Exit::Findings
    } else {
        Exit::Ok
    }
}

/// A report as text (for commands that print several, one per spec).
pub(crate) fn render_report(
    s: &Settings,
    model: &Model,
    r: Report,
    report: &ReportSettings,
) -> Result<String, CliError> {
    let exit = verdict(&r, report);
    let mut out = Vec::new();
    write_report(&mut out, s, model, r, report, exit, None)?
        .map_err(|e| CliError::io("cannot render the report", e))?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Streams a report in the chosen format, finding by finding (human text honours -q/-v and
/// groups one finding seen on several hosts into one block; JSON and SARIF keep one per
/// host), with a command's extra section before the human findings or as a JSON key. The
/// outer error is bad settings; the inner one, writing.
fn write_report<W: std::io::Write>(
    out: &mut W,
    s: &Settings,
    model: &Model,
    mut r: Report,
    report: &ReportSettings,
    exit: Exit,
    extra: Option<Extra>,
) -> Result<std::io::Result<()>, CliError> {
    Ok(match report.format {
        Format::Human => {
            if s.verbosity < 1 {
                for f in &mut r.findings {
                    f.notes.clear();
                }
            }
            let style = human::Style {
                color: s.color,
                width: s.stdout_width(),
            };
            let hosts: std::collections::HashSet<&str> =
                model.hosts.iter().map(|h| h.name.as_str()).collect();
            let mut grouped = Report {
                findings: group::by_host(&r.findings, &hosts),
                suppressed: Vec::new(),
            };
            if let Some(w) = s.width {
                for f in &mut grouped.findings {
                    let last_line = f
                        .labels
                        .iter()
                        .map(|l| model.sources.position(l.loc).line)
                        .max()
                        .unwrap_or(0);
                    crate::fit::finding(f, w, last_line);
                }
            }
            let head = match &extra {
                Some(x) if s.verbosity >= 0 => out.write_all(x.human.as_bytes()),
                _ => Ok(()),
            };
            head.and_then(|()| match s.verbosity {
                i8::MIN..=-2 => Ok(()),
                -1 => human::write_findings(out, &model.sources, &grouped, style),
                // the summary counts every finding, not the grouped blocks
                _ => human::write_findings(out, &model.sources, &grouped, style).and_then(|()| {
                    out.write_all(human::summary(&r).as_bytes())?;
                    out.write_all(b"\n")
                }),
            })
        }
        Format::Json => match extra {
            Some(x) => {
                let mut v = json::report(&model.sources, &r);
                v[x.key] = x.json;
                out.write_all(pretty(&v).as_bytes())
            }
            None => json::write(out, &model.sources, &r),
        },
        Format::Sarif => {
            let root = match &report.sarif_root {
                Some(dir) => {
                    sarif::SarifRoot::at(dir).map_err(|e| CliError::Usage(e.to_string()))?
                }
                None => sarif::SarifRoot::discover(&s.spec_path()?),
            };
            let options = sarif::SarifOptions {
                root: &root,
                version: env!("CARGO_PKG_VERSION"),
                exit_code: exit as i32,
            };
            match sarif::write(out, &model.sources, &r, &options) {
                Err(sarif::SarifError::Io(e)) => Err(e),
                Err(e) => return Err(CliError::Usage(e.to_string())),
                Ok(()) => Ok(()),
            }
        }
    })
}

/// Problems go to stderr as warnings (the run never aborts on them).
pub(crate) fn warn_problems(s: &Settings, report: &portolan_discover::FileReport) {
    if s.verbosity < 0 {
        return;
    }
    for p in &report.problems {
        errln!("warning: {}: {}", p.at, p.reason);
    }
}

/// Runs `prog args` and returns its standard output; a program that cannot be started or
/// fails is a [`CliError::External`] with its status and standard error.
pub(crate) fn capture(prog: &str, args: &[&str]) -> Result<String, CliError> {
    let cmd = std::iter::once(prog)
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    let out = std::process::Command::new(prog)
        .args(args)
        .output()
        .map_err(|e| CliError::External {
            cmd: cmd.clone(),
            status: None,
            stderr: if e.kind() == std::io::ErrorKind::NotFound {
                format!("`{prog}` is not installed (or not on PATH)")
            } else {
                format!("cannot run it: {e}")
            },
        })?;
    if !out.status.success() {
        return Err(CliError::External {
            cmd,
            status: out.status.code(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `1 host`, `2 hosts`, `0 hosts` (`plural` for the irregular: `process`/`processes`).
pub(crate) fn count(n: impl Into<u64>, one: &str, plural: Option<&str>) -> String {
    let n = n.into();
    match (n, plural) {
        (1, _) => format!("1 {one}"),
        (_, Some(p)) => format!("{n} {p}"),
        (_, None) => format!("{n} {one}s"),
    }
}

/// Whether this process runs as root (effective uid 0).
pub(crate) fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|st| {
            st.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// The dump (from `--from`, standard input or the live firewall) and how to name it.
fn read_dump(
    kind: portolan_firewall::Kind,
    from: Option<&Path>,
) -> Result<(String, String), CliError> {
    use portolan_firewall::Kind;
    match from {
        Some(p) if p.as_os_str() == "-" => {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                .map_err(|e| CliError::io("reading the firewall dump from standard input", e))?;
            Ok(("<stdin>".into(), text))
        }
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| CliError::io(format!("cannot read {}", p.display()), e))?;
            Ok((p.display().to_string(), text))
        }
        None => {
            let (what, cmd) = match kind {
                Kind::Ufw => ("ufw status verbose", "ufw status verbose"),
                Kind::Iptables => ("iptables-save", "iptables-save; ip6tables-save"),
                Kind::Nftables => ("nft list ruleset", "nft list ruleset"),
            };
            if !is_root() {
                return Err(CliError::Usage(format!(
                    "reading the live {} firewall needs root: run as root, or save `{cmd}` to a file and pass --from FILE",
                    kind.as_str()
                )));
            }
            let text = match kind {
                Kind::Ufw => capture("ufw", &["status", "verbose"])?,
                Kind::Nftables => capture("nft", &["list", "ruleset"])?,
                Kind::Iptables => {
                    let mut t = capture("iptables-save", &[])?;
                    // IPv6 too, when the host has it
                    if let Ok(v6) = capture("ip6tables-save", &[]) {
                        t.push_str(&v6);
                    }
                    t
                }
            };
            Ok((format!("<{what}>"), text))
        }
    }
}

/// A deployed ruleset read for a command: its text (added to the model's source map, so
/// findings and traces point into it), name and parsed rules.
pub(crate) struct LoadedDump {
    /// Syntax.
    pub kind: portolan_firewall::Kind,
    /// `<iptables-save>`, the file name, or `<stdin>`.
    pub name: String,
    /// The text.
    pub text: String,
    /// Its file in the model's source map.
    pub file: portolan_model::FileId,
    /// The rules.
    pub ruleset: portolan_firewall::Ruleset,
}

impl LoadedDump {
    /// The dump as the lint crate reads it.
    pub(crate) fn dump(&self) -> portolan_lint::firewall_drift::Dump<'_> {
        portolan_lint::firewall_drift::Dump::new(
            self.kind,
            &self.ruleset,
            Some(self.file),
            &self.text,
            &self.name,
        )
    }
}

/// Reads (from `from`, `-` for stdin, or live as root) and parses a firewall dump; a dump
/// that is not `kind`'s syntax is a usage error naming `file:line:col`.
pub(crate) fn load_dump(
    model: &mut Model,
    kind: portolan_firewall::Kind,
    from: Option<&Path>,
) -> Result<LoadedDump, CliError> {
    let (name, text) = read_dump(kind, from)?;
    let ruleset = kind.parse(&text).map_err(|e| {
        CliError::Usage(format!(
            "{name}:{}:{}: not {} output: {}",
            e.line,
            e.column,
            match kind {
                portolan_firewall::Kind::Ufw => "`ufw status verbose`",
                portolan_firewall::Kind::Iptables => "`iptables-save`",
                portolan_firewall::Kind::Nftables => "`nft list ruleset`",
            },
            e.reason
        ))
    })?;
    let file = model
        .sources
        .add(Path::new(&name), name.clone(), text.clone());
    Ok(LoadedDump {
        kind,
        name,
        text,
        file,
        ruleset,
    })
}
