//! `portolan schema`: the JSON Schema of `ports.toml`, for editors (taplo, VS Code).

use crate::error::CliError;
use crate::exit::Exit;
use crate::output;

pub(crate) fn run() -> Result<Exit, CliError> {
    let mut s = portolan_model::json_schema();
    s.push('\n');
    output::stdout(&s)?;
    Ok(Exit::Ok)
}
