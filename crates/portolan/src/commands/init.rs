//! `portolan init`: write a starter spec that lints clean and shows every section.

use crate::error::CliError;
use crate::exit::Exit;
use crate::output;
use crate::settings::Settings;

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

pub(crate) fn run(
    s: &Settings,
    force: bool,
    from_host: bool,
    from_discover: Option<&std::path::Path>,
    print: bool,
) -> Result<Exit, CliError> {
    let text = if let Some(root) = from_discover {
        super::discover::starter(s, root)?
    } else if from_host {
        let (live, note) = super::observe::listeners(true)?;
        if let Some(n) = note
            && s.verbosity >= 0
        {
            eprintln!("note: {n}");
        }
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map_or_else(|_| "this-host".to_string(), |h| h.trim().to_string());
        portolan_observe::draft::draft(&hostname, &portolan_observe::draft::interfaces(), &live)
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
        eprintln!("wrote {}; next: `portolan lint`", path.display());
    }
    Ok(Exit::Ok)
}
