//! `portolan agent`: report this host's listeners (the same observation as `portolan ls`)
//! to the registry (`POST /api/v1/observations`), once or every `--interval`. The server
//! stores them and computes the host's drift. A failed report is printed and retried at the
//! next interval; with `--once` it is the exit status.

use std::time::Duration;

use crate::error::CliError;
use crate::exit::Exit;
use crate::output;
use crate::settings::{AgentSettings, Settings};

use super::client::Client;

/// This machine's short host name.
fn hostname() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let name = name.trim();
    name.split('.').next().unwrap_or(name).to_string()
}

fn report(s: &Settings, client: &Client<'_>, host: &str) -> Result<(), CliError> {
    let (listeners, note) = super::observe::listeners(true)?;
    if let Some(n) = note
        && s.verbosity > 0
    {
        eprintln!("note: {n}");
    }
    let body = serde_json::json!({"host": host, "listeners": listeners});
    let answer = client.post_json("/api/v1/observations", &body)?;
    if s.json {
        output::stdout(&(answer.to_string() + "\n"))?;
    } else if s.verbosity >= 0 {
        let drift = answer["drift"].as_array().map_or(0, Vec::len);
        output::stdout(&format!(
            "reported {} listeners of host `{host}`: {drift} drift finding{}\n",
            listeners.len(),
            if drift == 1 { "" } else { "s" }
        ))?;
    }
    Ok(())
}

pub(crate) fn run(s: &Settings, a: &AgentSettings) -> Result<Exit, CliError> {
    let client = Client::new(&a.remote);
    let host = a.host.clone().unwrap_or_else(hostname);
    if host.is_empty() {
        return Err(CliError::Usage(
            "cannot tell this machine's host name: pass --host NAME".into(),
        ));
    }
    if a.once {
        report(s, &client, &host)?;
        return Ok(Exit::Ok);
    }
    loop {
        if let Err(e) = report(s, &client, &host) {
            if matches!(e, CliError::BrokenPipe) {
                return Ok(Exit::Ok);
            }
            eprintln!("error: {e} (retrying in {} s)", a.interval);
        }
        std::thread::sleep(Duration::from_secs(a.interval));
    }
}
