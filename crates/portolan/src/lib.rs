//! # portolan (the CLI)
//!
//! `main` calls [`run`]; clap parses into [`cli::Cli`], whose global options are validated
//! into [`settings::Settings`]; each subcommand lives in its own module under `commands/`
//! (its arguments, their validation and the run). Errors map to [`exit::Exit`] codes (0 ok,
//! 1 findings, 2 usage/input), a broken pipe is success.
//!
//! The `registry` feature (on by default) adds the team-registry commands (`serve`, `token`,
//! `push`, `pull`, `agent`, `alloc --server`) and with them tokio, axum, sqlx and a TLS
//! HTTP client; `--no-default-features` builds the CLI without them.
#![deny(missing_docs)]

pub mod cli;
pub mod commands;
pub mod error;
pub mod exit;
pub mod output;
pub mod settings;

use clap::Parser;
use portolan_lint::report::human;
use portolan_model::{LoadError, SpecError};

use crate::error::CliError;
use crate::exit::Exit;
use crate::settings::Settings;

/// Parses the command line, runs the command, returns the exit code.
pub fn run() -> std::process::ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Input
            } else {
                Exit::Ok
            }
            .into();
        }
    };
    let json = cli.json || cli.command.machine_output();
    let settings = match Settings::from_cli(&cli) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
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
        width: 100,
    };
    let (sources, errors): (Option<&portolan_model::SourceMap>, Vec<SpecError>) = match e {
        CliError::Load(LoadError::Invalid { sources, errors }) => (Some(sources), errors.clone()),
        CliError::Config(c) => (
            None,
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
    let model_sources;
    let sources = match (sources, e) {
        (Some(src), _) => Some(src),
        (None, CliError::Config(_)) => {
            // re-load to get the sources for the snippet; the spec parsed fine a moment ago
            model_sources = s.load().ok().map(|m| m.sources);
            model_sources.as_ref()
        }
        _ => None,
    };
    if json {
        let list: Vec<serde_json::Value> = if errors.is_empty() {
            vec![serde_json::json!({"message": e.to_string()})]
        } else {
            errors
                .iter()
                .map(|x| {
                    let pos = x.loc.zip(sources).map(|(l, src)| src.position(l));
                    serde_json::json!({
                        "file": pos.as_ref().map(|p| p.file.clone()),
                        "line": pos.as_ref().map(|p| p.line),
                        "column": pos.as_ref().map(|p| p.column),
                        "message": x.message,
                        "help": x.help,
                    })
                })
                .collect()
        };
        let _ = output::stdout(
            &(serde_json::to_string_pretty(&serde_json::json!({"errors": list}))
                .unwrap_or_default()
                + "\n"),
        );
    }
    match sources {
        Some(src) if !errors.is_empty() => {
            eprint!("{}", human::spec_errors(src, &errors, style));
            eprintln!(
                "error: could not load the spec ({} error{})",
                errors.len(),
                if errors.len() == 1 { "" } else { "s" }
            );
        }
        _ => eprintln!("error: {e}"),
    }
}
