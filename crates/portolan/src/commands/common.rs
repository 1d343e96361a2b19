//! Helpers several commands share: showing paths, stamping log entries, checking
//! `--env`/`--host` against the spec, and printing a findings report with its exit code.

use std::path::Path;

use portolan_alloc::log::{self, Action, Entry};
use portolan_lint::report::{Format, human, json, sarif};
use portolan_lint::{Report, Severity};
use portolan_model::Model;

use crate::cli::{FailOn, FormatArg, ReportArgs};
use crate::error::CliError;
use crate::exit::Exit;
use crate::output;
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

/// Pretty JSON with a final newline.
pub(crate) fn pretty(v: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

/// How to report findings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReportSettings {
    /// Output format.
    pub format: Format,
    /// Lowest severity that fails (None: never).
    pub fail_on: Option<Severity>,
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
        ReportSettings { format, fail_on }
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
    report: ReportSettings,
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

/// [`print_report`] with an extra section.
pub(crate) fn print_report_with(
    s: &Settings,
    model: &Model,
    mut r: Report,
    report: ReportSettings,
    extra: Option<Extra>,
) -> Result<Exit, CliError> {
    if let Some(x) = &extra
        && report.format == Format::Human
        && s.verbosity >= 0
    {
        output::stdout(&x.human)?;
    }
    let text = match report.format {
        Format::Human => {
            if s.verbosity < 1 {
                for f in &mut r.findings {
                    f.notes.clear();
                }
            }
            let style = human::Style {
                color: s.color,
                width: 100,
            };
            match s.verbosity {
                i8::MIN..=-2 => String::new(),
                -1 => r
                    .findings
                    .iter()
                    .map(|f| human::finding(&model.sources, f, style) + "\n\n")
                    .collect(),
                _ => human::report(&model.sources, &r, style),
            }
        }
        Format::Json => {
            let mut v = json::report(&model.sources, &r);
            if let Some(x) = extra {
                v[x.key] = x.json;
            }
            pretty(&v)
        }
        Format::Sarif => pretty(&sarif::report(
            &model.sources,
            &r,
            env!("CARGO_PKG_VERSION"),
        )),
    };
    output::stdout(&text)?;
    Ok(if report.fail_on.is_some_and(|t| r.fails(t)) {
        Exit::Findings
    } else {
        Exit::Ok
    })
}

/// Problems go to stderr as warnings (the run never aborts on them).
pub(crate) fn warn_problems(s: &Settings, report: &portolan_discover::FileReport) {
    if s.verbosity < 0 {
        return;
    }
    for p in &report.problems {
        eprintln!("warning: {}: {}", p.at, p.reason);
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
                .map_err(|e| CliError::Usage(format!("{}: {e}", p.display())))?;
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
