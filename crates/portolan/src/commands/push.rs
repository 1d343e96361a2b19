//! `portolan push`: upload the local spec into the registry (`PUT /api/v1/spec`, admin
//! token). The server validates it as `portolan lint` loads it; a spec that does not load
//! changes nothing there.

use crate::error::CliError;
use crate::exit::Exit;
use crate::output;
use crate::settings::{Remote, Settings};

use super::client::Client;

pub(crate) fn run(s: &Settings, remote: &Remote) -> Result<Exit, CliError> {
    let spec = s.spec_path()?;
    if spec.is_dir() {
        return Err(CliError::Usage(format!(
            "{} is a directory: push needs one ports.toml (the registry stores a single file)",
            spec.display()
        )));
    }
    // load first: errors render with carets here rather than as a server message
    s.load()?;
    let text = std::fs::read_to_string(&spec)
        .map_err(|e| CliError::io(format!("cannot read {}", spec.display()), e))?;
    let answer =
        Client::new(remote).send("PUT", "/api/v1/spec", Some(("application/toml", &text)))?;
    if s.json {
        output::stdout(&(answer.trim().to_string() + "\n"))?;
    } else if s.verbosity >= 0 {
        let v: serde_json::Value = serde_json::from_str(&answer).unwrap_or_default();
        output::stdout(&format!(
            "pushed {} to {}: {} projects, {} hosts, {} services, {} bindings, {} reservations; {} lint findings\n",
            super::alloc::shown(&spec),
            remote.server,
            v["projects"],
            v["hosts"],
            v["services"],
            v["bindings"],
            v["reservations"],
            v["findings"]
        ))?;
    }
    Ok(Exit::Ok)
}
