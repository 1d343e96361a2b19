//! `portolan init`: write a starter spec that lints clean and shows every section.

use std::path::{Path, PathBuf};

use portolan_discover::draft;
use portolan_discover::walk::{self, WalkOptions};

use super::Subcommand;
use super::common::warn_problems;
use crate::error::CliError;
use crate::exit::Exit;
use crate::output;
use crate::settings::Settings;

/// Examples shown after `--help`.
pub const HELP: &str = "\
Examples:
  portolan init                 # ./ports.toml
  portolan init --spec infra/ports.toml --force
  sudo portolan init --from-host --print   # this machine's interfaces and listeners as a draft";

/// `portolan init`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Overwrite an existing spec.
    #[arg(long)]
    pub force: bool,
    /// Draft the spec from this machine: interfaces, the networks they imply, every listener.
    #[arg(long)]
    pub from_host: bool,
    /// Print the spec instead of writing it.
    #[arg(long)]
    pub print: bool,
    /// Draft the spec from the ports a repository uses (see `portolan discover`).
    #[arg(long, value_name = "PATH", conflicts_with = "from_host")]
    pub from_discover: Option<PathBuf>,
}

impl Subcommand for Args {
    fn run(self, s: &Settings) -> Result<Exit, CliError> {
        run(
            s,
            self.force,
            self.from_host,
            self.from_discover.as_deref(),
            self.print,
        )
    }
}

/// The starter spec.
pub(crate) const STARTER: &str = r#"# ports.toml — the single source of truth for this system's ports.
# Reference: docs/spec.md (or `portolan schema` for editor completion).

[spec]
name = "my-system"

[networks]
lan = "192.168.1.0/24"          # `public` and `localhost` are built in

[hosts.app1]
environment = "production"
addresses = ["192.168.1.10"]
networks = ["lan"]
firewall = "ufw"                # rules generated from this spec (`portolan gen`)

[projects.web]
range = "8000-8099"
blocks = { api = "8000-8019", admin = "8090-8099" }

[services.api]
project = "web"
block = "api"
purpose = "Public REST API"
hosts = ["app1"]
bindings.http = { port = 8000, bind = "127.0.0.1", app = "http", exposure = "lan", tls = "proxy" }

[services.postgres]
purpose = "Database"
hosts = ["app1"]
bindings.db = { port = 5432, bind = "127.0.0.1", app = "postgres", exposure = "localhost", auth = true }

[services.nginx]
purpose = "TLS reverse proxy"
hosts = ["app1"]
privileged = true
bindings.https = { port = 443, bind = "192.168.1.10", app = "https", tls = "native", exposure = "lan" }

[[routes]]
from = "nginx.https"
to = "api.http"
"#;

fn run(
    s: &Settings,
    force: bool,
    from_host: bool,
    from_discover: Option<&std::path::Path>,
    print: bool,
) -> Result<Exit, CliError> {
    let text = if let Some(root) = from_discover {
        starter(s, root)?
    } else if from_host {
        let (live, notes) = super::live::listeners(true)?;
        super::live::print_notes(s, &notes);
        let me = portolan_observe::IdentitySource::identity(
            &portolan_observe::SystemIdentity::default(),
        );
        portolan_observe::draft::draft(&me, &portolan_observe::draft::interfaces(), &live)
    } else {
        STARTER.to_string()
    };
    if print {
        output::stdout(&text)?;
        return Ok(Exit::Ok);
    }
    let path = s
        .spec
        .clone()
        .unwrap_or_else(|| portolan_model::SPEC_FILE.into());
    if path.exists() && !force {
        return Err(CliError::Usage(format!(
            "{} already exists (use --force to overwrite)",
            path.display()
        )));
    }
    output::atomic_write(&path, &text)?;
    if s.verbosity >= 0 {
        errln!("wrote {}; next: `portolan lint`", path.display());
    }
    Ok(Exit::Ok)
}

/// The starter spec of `init --from-discover ROOT`.
fn starter(s: &Settings, root: &Path) -> Result<String, CliError> {
    if !root.exists() {
        return Err(CliError::Usage(format!(
            "{}: no such file or directory",
            root.display()
        )));
    }
    let found = walk::discover(&[root.to_path_buf()], &WalkOptions::default());
    warn_problems(s, &found.report);
    let name = std::fs::canonicalize(root)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "my-system".into());
    let drafted = draft::draft(&found.report, &name);
    Ok(draft::starter_spec(&name, &drafted))
}
