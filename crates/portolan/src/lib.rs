//! # portolan (the CLI)
//!
//! `main` calls [`run`]; clap parses into [`cli::Cli`], whose global options are validated
//! into [`settings::Settings`]; each subcommand lives in its own module under `commands/`
//! (its arguments, their validation and the run). Errors map to [`exit::Exit`] codes (0 ok,
//! 1 findings, 2 usage/input); a broken pipe stops output, never changes the code.
//!
//! Under `--json` (or `--format json|sarif`) every failure — a clap usage error, a bad
//! global option, a spec that does not load, a command that fails — is also one object on
//! stdout, `{"errors": [{"message", "help", "file", "line", "column"}]}` (keys always
//! present, `null` when unknown), so a script reads one shape whatever went wrong.
//!
//! The `registry` feature (on by default) adds the team-registry commands (`serve`, `token`,
//! `push`, `pull`, `agent`, `alloc --server`) and with them tokio, axum, sqlx and a TLS
//! HTTP client; `--no-default-features` builds the CLI without them.
#![deny(missing_docs)]
// stderr may be a closed pipe: `errln!` (output.rs) ignores the failure, `eprintln!` panics
#![deny(clippy::print_stderr, clippy::print_stdout)]

#[macro_use]
pub mod output;
pub mod cli;
pub mod commands;
pub mod config;
pub mod error;
pub mod exit;
pub mod fit;
pub mod settings;
pub mod timings;

use clap::Parser;
use portolan_lint::report::human;
use portolan_model::{LoadError, SpecError};

use crate::error::CliError;
use crate::exit::Exit;
use crate::settings::Settings;

/// Parses the command line, runs the command, returns the exit code.
pub fn run() -> std::process::ExitCode {
    timings::install_from_env();
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            if !e.use_stderr() {
                // --help, --version
                return Exit::Ok.into();
            }
            if json_asked(std::env::args_os().skip(1)) {
                let text = e.render().to_string();
                let message = text
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .trim_start_matches("error: ");
                print_json_errors(&[error_object(message, None, None)]);
            }
            return Exit::Input.into();
        }
    };
    let json = cli.json || cli.command.machine_output();
    let settings = match Settings::from_cli(&cli) {
        Ok(s) => s,
        Err(e) => {
            errln!("error: {e}");
            if json {
                print_json_errors(&[error_object(&e.to_string(), None, None)]);
            }
            return Exit::Input.into();
        }
    };
    match cli.command.run(&settings) {
        Ok(code) => code.into(),
        Err(CliError::BrokenPipe) => Exit::Ok.into(),
        Err(e) => {
            report_error(&settings, &e, json);
            e.exit().into()
        }
    }
}

/// Prints an error: located errors as snippets on stderr, and as JSON on stdout when the
/// caller asked for machine output.
fn report_error(s: &Settings, e: &CliError, json: bool) {
    let style = human::Style {
        color: s.color_stderr,
        width: s.stderr_width(),
    };
    let (sources, mut errors): (Option<&portolan_model::SourceMap>, Vec<SpecError>) = match e {
        CliError::Load(LoadError::Invalid { sources, errors }) => (Some(sources), errors.clone()),
        CliError::Config { error: c, sources } => (
            Some(&**sources),
            vec![
                SpecError::new(Some(c.loc), format!("unknown lint rule `{}`", c.id)).with_help(
                    c.suggestion.as_ref().map_or_else(
                        || "see `portolan lint --list-rules`".to_string(),
                        |s| format!("did you mean `{s}`?"),
                    ),
                ),
            ],
        ),
        _ => (None, Vec::new()),
    };
    if json {
        let list: Vec<serde_json::Value> = if errors.is_empty() {
            vec![error_object(&e.to_string(), None, None)]
        } else {
            errors
                .iter()
                .map(|x| {
                    let pos = x.loc.zip(sources).map(|(l, src)| src.position(l));
                    error_object(&x.message, x.help.as_deref(), pos.as_ref())
                })
                .collect()
        };
        print_json_errors(&list);
    }
    if let Some(w) = s.width_stderr {
        for x in &mut errors {
            let last_line = x
                .loc
                .into_iter()
                .chain(x.related.iter().map(|(l, _)| *l))
                .filter_map(|l| sources.map(|src| src.position(l).line))
                .max()
                .unwrap_or(0);
            let gutter = last_line.max(1).to_string().len() + 1 + "= help: ".len();
            x.message = fit::wrap(&x.message, w.saturating_sub("error: ".len()));
            x.help = x
                .help
                .as_deref()
                .map(|h| fit::wrap(h, w.saturating_sub(gutter)));
        }
    }
    match sources {
        Some(src) if !errors.is_empty() => {
            output::stderr(&human::spec_errors(src, &errors, style));
            errln!(
                "error: could not load the spec ({} error{})",
                errors.len(),
                if errors.len() == 1 { "" } else { "s" }
            );
        }
        _ => errln!("error: {e}"),
    }
}

/// One error in the JSON error shape (every key present).
fn error_object(
    message: &str,
    help: Option<&str>,
    pos: Option<&portolan_model::Position>,
) -> serde_json::Value {
    serde_json::json!({
        "message": message,
        "help": help,
        "file": pos.map(|p| p.file.clone()),
        "line": pos.map(|p| p.line),
        "column": pos.map(|p| p.column),
    })
}

/// `{"errors": [...]}` on stdout.
fn print_json_errors(list: &[serde_json::Value]) {
    let v = serde_json::json!({ "errors": list });
    let _ = output::stdout(&(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"));
}

/// Whether a command line that clap rejected asked for machine output (`--json`,
/// `--format json|sarif`), read before any `--`.
fn json_asked(args: impl Iterator<Item = std::ffi::OsString>) -> bool {
    let args: Vec<String> = args
        .map(|a| a.to_string_lossy().into_owned())
        .take_while(|a| a != "--")
        .collect();
    args.iter().enumerate().any(|(i, a)| {
        a == "--json"
            || matches!(a.as_str(), "--format=json" | "--format=sarif")
            || (a == "--format" && args.get(i + 1).is_some_and(|v| v == "json" || v == "sarif"))
    })
}
