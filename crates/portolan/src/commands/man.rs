//! `portolan man [COMMAND…] [--dir DIR]`: manual pages generated from the clap definition
//! (`clap_mangen`), so they cannot drift from `--help`: `portolan(1)` or one command's page on
//! stdout, or every page (`portolan.1`, `portolan-lint.1`, `portolan-token-create.1`, …)
//! written into a directory. A command's `Examples:` become an EXAMPLES section kept line
//! by line; portolan(1) adds EXIT STATUS, ENVIRONMENT and FILES.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::CommandFactory;

use super::Subcommand;
use crate::cli::Cli;
use crate::error::CliError;
use crate::exit::Exit;
use crate::output;
use crate::settings::Settings;

/// Examples shown after `--help`.
pub const HELP: &str = "\
Examples:
  portolan man | man -l -                        # read portolan(1)
  portolan man token create | man -l -           # one command's page
  sudo portolan man --dir /usr/local/share/man/man1 && sudo mandb";

/// `portolan man`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The command whose page to print (`lint`, `token create`); none: portolan(1).
    #[arg(value_name = "COMMAND")]
    pub command: Vec<String>,
    /// Write every page into DIR (created if missing) instead of printing one.
    #[arg(long, value_name = "DIR", conflicts_with = "command")]
    pub dir: Option<PathBuf>,
}

/// Sections of portolan(1) that no clap definition holds (roff).
const TOP_SECTIONS: &str = r#".SH "EXIT STATUS"
.TP
0
Nothing at or above \fB\-\-fail\-on\fR (default: error); the command did what it was asked.
.TP
1
Findings at or above \fB\-\-fail\-on\fR, whether or not the reader of standard output read them all.
.TP
2
A usage error, or input that cannot be read or parsed (the message names file:line:col or the field).
.SH ENVIRONMENT
.TP
\fBPORTOLAN_SPEC\fR
The spec, as \fB\-\-spec\fR.
.TP
\fBPORTOLAN_SERVER\fR, \fBPORTOLAN_TOKEN\fR
The registry and its API token, as \fB\-\-server\fR and \fB\-\-token\fR.
.TP
\fBPORTOLAN_DB\fR
The registry database of \fBserve\fR and \fBtoken\fR, as \fB\-\-db\fR.
.TP
\fBPORTOLAN_CONFIG\fR
The config file to read instead of the one below (empty: none).
.TP
\fBNO_COLOR\fR
No colours with \fB\-\-color auto\fR.
.SH FILES
.TP
\fI$XDG_CONFIG_HOME/portolan/config.toml\fR (else \fI~/.config/portolan/config.toml\fR)
Keys \fBserver\fR, \fBtoken_file\fR (a file holding the token, relative to the config file),
\fBdb\fR and \fBhost\fR. A flag, then its environment variable, win over the file.
.TP
\fIports.toml\fR
The spec, searched upward from the current directory when \fB\-\-spec\fR is not given.
"#;

/// The built command tree: subcommands named `portolan-lint`, … as the pages are.
fn tree() -> clap::Command {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// Escapes text for a roff line in no-fill mode.
fn roff_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    if line.starts_with(['.', '\'']) {
        out.push_str("\\&");
    }
    for c in line.chars() {
        match c {
            '\\' => out.push_str("\\e"),
            '-' => out.push_str("\\-"),
            '\'' => out.push_str("\\(aq"),
            '`' => out.push_str("\\(ga"),
            '~' => out.push_str("\\(ti"),
            '^' => out.push_str("\\(ha"),
            c => out.push(c),
        }
    }
    out
}

/// One page: `clap_mangen`'s sections, then the examples (from `after_help`) without
/// refilling, then, for portolan(1) itself, the sections above.
fn render(cmd: &clap::Command, top: bool) -> Result<Vec<u8>, CliError> {
    let io = |e| CliError::io("cannot render the manual page", e);
    let examples = cmd.get_after_help().map(ToString::to_string);
    let man = clap_mangen::Man::new(cmd.clone())
        .source(concat!("portolan ", env!("CARGO_PKG_VERSION")))
        .manual("portolan manual");
    let mut page = Vec::new();
    man.render_title(&mut page).map_err(io)?;
    man.render_name_section(&mut page).map_err(io)?;
    man.render_synopsis_section(&mut page).map_err(io)?;
    man.render_description_section(&mut page).map_err(io)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut page).map_err(io)?;
    }
    if cmd.get_subcommands().any(|c| !c.is_hide_set()) {
        man.render_subcommands_section(&mut page).map_err(io)?;
    }
    if let Some(text) = examples {
        let body = text.strip_prefix("Examples:").unwrap_or(&text);
        let mut section = String::from(".SH EXAMPLES\n.nf\n");
        for line in body.lines().skip_while(|l| l.trim().is_empty()) {
            section.push_str(&roff_line(line.strip_prefix("  ").unwrap_or(line)));
            section.push('\n');
        }
        section.push_str(".fi\n");
        page.write_all(section.as_bytes()).map_err(io)?;
    }
    if top {
        page.write_all(TOP_SECTIONS.as_bytes()).map_err(io)?;
    }
    if cmd.get_version().is_some() {
        man.render_version_section(&mut page).map_err(io)?;
    }
    Ok(page)
}

impl Subcommand for Args {
    fn run(self, s: &Settings) -> Result<Exit, CliError> {
        if let Some(dir) = &self.dir {
            std::fs::create_dir_all(dir)
                .map_err(|e| CliError::io(format!("cannot create {}", dir.display()), e))?;
            let mut written = Vec::new();
            write_all(&tree(), dir, true, &mut written)?;
            if s.verbosity >= 0 {
                errln!(
                    "wrote {} manual pages into {}",
                    written.len(),
                    dir.display()
                );
            }
            return Ok(Exit::Ok);
        }
        let mut cmd = tree();
        for (depth, name) in self.command.iter().enumerate() {
            let Some(sub) = cmd.find_subcommand(name).cloned() else {
                let names: Vec<&str> = cmd.get_subcommands().map(clap::Command::get_name).collect();
                return Err(CliError::Usage(format!(
                    "no command `{}`; {}: {}",
                    self.command[..=depth].join(" "),
                    if depth == 0 {
                        "commands"
                    } else {
                        "its subcommands"
                    },
                    names.join(", ")
                )));
            };
            cmd = sub;
        }
        let page = render(&cmd, self.command.is_empty())?;
        output::stdout(&String::from_utf8_lossy(&page))?;
        Ok(Exit::Ok)
    }
}

/// Writes `cmd`'s page and its subcommands' into `dir` (each atomically).
fn write_all(
    cmd: &clap::Command,
    dir: &Path,
    top: bool,
    written: &mut Vec<PathBuf>,
) -> Result<(), CliError> {
    for sub in cmd.get_subcommands().filter(|c| !c.is_hide_set()) {
        write_all(sub, dir, false, written)?;
    }
    let path = dir.join(clap_mangen::Man::new(cmd.clone()).get_filename());
    output::atomic_write(&path, &String::from_utf8_lossy(&render(cmd, top)?))?;
    written.push(path);
    Ok(())
}
