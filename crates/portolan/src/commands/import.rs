//! `portolan import FILE.md`: a hand-written port document → a spec, printed or written
//! (atomically; never over an existing file without `--force`), with an account of every
//! part of the document: `--explain` prints it, `--json` carries it with the spec as data,
//! and stderr always gets the warnings (notes, parts not used, unreadable lines, where
//! secrets were — never the secrets) and a one-line summary. `-` reads standard input.
//! Bytes that are not text, or a document in which nothing names a port, are exit 2 with
//! the file and line.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use super::Subcommand;
use crate::error::CliError;
use crate::exit::Exit;
use crate::output;
use crate::settings::Settings;

/// Examples shown after `--help`.
pub const HELP: &str = "\
Examples:
  portolan import docs/PORTS.md                  # print the spec
  portolan import docs/PORTS.md -o ports.toml    # write it (refuses to overwrite without --force)
  portolan import docs/PORTS.md --explain        # what became of every table and block
  portolan --json import docs/PORTS.md | jq .explain
  curl -s https://wiki.example/ports.md | portolan import - -o ports.toml
  portolan import docs/PORTS.md -o ports.toml && portolan lint

Reads UTF-8 (with or without BOM) and UTF-16; tables in fences and HTML, lists, prose, and
compose, nginx, Caddy, HAProxy, Apache, firewalld, iptables-save, systemd, Kubernetes and
YAML inventory blocks. Outbound dependencies become [[flows]], never listeners.
Secrets in the document are redacted everywhere and their places reported on stderr.
Exit codes: 0 imported, 2 unreadable input or nothing to import (file:line).";

/// `portolan import`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The document (`-` for standard input).
    #[arg(value_name = "FILE.md")]
    pub file: PathBuf,
    /// Write the spec here instead of printing it.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite --output if it exists.
    #[arg(long, requires = "output")]
    pub force: bool,
    /// Print what became of every part of the document (line ranges, listeners, flows,
    /// routes, what was skipped and why) instead of the spec; with --output the spec is
    /// still written.
    #[arg(long)]
    pub explain: bool,
}

impl Subcommand for Args {
    fn run(self, s: &Settings) -> Result<Exit, CliError> {
        run(s, &self)
    }
}

fn read(file: &Path) -> Result<(Vec<u8>, String), CliError> {
    if file.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| CliError::io("cannot read standard input".to_string(), e))?;
        return Ok((bytes, "stdin".to_string()));
    }
    let bytes = std::fs::read(file)
        .map_err(|e| CliError::io(format!("cannot read {}", file.display()), e))?;
    let shown = file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    Ok((bytes, shown))
}

fn run(s: &Settings, a: &Args) -> Result<Exit, CliError> {
    if let Some(path) = &a.output {
        if path.exists() && !a.force {
            return Err(CliError::Usage(format!(
                "{} already exists (use --force to overwrite)",
                path.display()
            )));
        }
    }
    let (bytes, shown) = read(&a.file)?;
    let imported = portolan_discover::markdown::import_bytes(&shown, &bytes)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    if s.verbosity >= 0 {
        for w in imported.warnings() {
            eprintln!("warning: {w}");
        }
    }
    if let Some(path) = &a.output {
        output::atomic_write(path, &imported.spec)?;
    }
    if s.json {
        output::stdout(&(imported.to_json() + "\n"))?;
    } else if a.explain {
        let mut text = imported.explain_text();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        output::stdout(&text)?;
    } else if a.output.is_none() {
        output::stdout(&imported.spec)?;
    }
    if s.verbosity >= 0 {
        eprintln!("{}", imported.summary());
        if let Some(path) = &a.output {
            eprintln!(
                "wrote {}; next: `portolan --spec {} lint`",
                path.display(),
                path.display()
            );
        }
    }
    Ok(Exit::Ok)
}
