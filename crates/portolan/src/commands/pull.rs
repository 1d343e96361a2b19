//! `portolan pull`: the registry's spec (`GET /api/v1/spec`) as `ports.toml`, printed or
//! written atomically with `-o`.

use std::path::Path;

use crate::error::CliError;
use crate::exit::Exit;
use crate::output;
use crate::settings::{Remote, Settings};

use super::client::Client;

pub(crate) fn run(s: &Settings, remote: &Remote, out: Option<&Path>) -> Result<Exit, CliError> {
    let text = Client::new(remote).send("GET", "/api/v1/spec", None)?;
    match out {
        Some(path) => {
            output::atomic_write(path, &text)?;
            if s.verbosity >= 0 {
                eprintln!("wrote {} from {}", path.display(), remote.server);
            }
        }
        None => output::stdout(&text)?,
    }
    Ok(Exit::Ok)
}
