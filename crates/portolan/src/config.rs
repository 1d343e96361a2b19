//! The user's config file: `$PORTOLAN_CONFIG`, else `$XDG_CONFIG_HOME/portolan/config.toml`,
//! else `~/.config/portolan/config.toml`. It names the registry (`server`), where its token
//! is kept (`token_file`: the secret stays out of the config and out of `ps`), the registry
//! database of `serve`/`token` (`db`), which host of the spec this machine is (`host`) and
//! the reverse proxies `serve` trusts (`trusted_proxies = ["10.0.0.0/8"]`).
//! Every command reads it; a flag, then its environment variable, win over it. A missing
//! file is an empty config; a malformed one is an error naming `file:line:col` (exit 2).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::CliError;

/// The settings the config file can hold (all optional).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Registry URL, below `--server` and `$PORTOLAN_SERVER`.
    pub server: Option<String>,
    /// A file whose content is the API token, below `--token` and `$PORTOLAN_TOKEN`
    /// (relative to the config file's directory).
    pub token_file: Option<PathBuf>,
    /// Registry database of `serve` and `token`, below `--db` and `$PORTOLAN_DB`.
    pub db: Option<String>,
    /// The spec host this machine is (`check`, `agent`, `ls`, `who`), below `--host`.
    pub host: Option<String>,
    /// Reverse proxies (addresses or CIDR networks) whose forwarding headers `serve`
    /// believes, below `--trusted-proxy`.
    pub trusted_proxies: Option<Vec<String>>,
    /// Where the config was read from (`None`: no file).
    #[serde(skip)]
    pub path: Option<PathBuf>,
}

/// The default database of `serve` and `token`.
pub const DEFAULT_DB: &str = "sqlite://portolan.db";

/// Where the config file is looked for.
pub fn location() -> Option<PathBuf> {
    let non_empty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    if let Some(p) = std::env::var_os("PORTOLAN_CONFIG") {
        // set but empty: no config file at all
        return (!p.is_empty()).then(|| PathBuf::from(p));
    }
    non_empty("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| non_empty("HOME").map(|h| Path::new(&h).join(".config")))
        .map(|d| d.join("portolan").join("config.toml"))
}

impl Config {
    /// Reads the config file (an empty config when there is none).
    pub fn load() -> Result<Config, CliError> {
        let Some(path) = location() else {
            return Ok(Config::default());
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if std::env::var_os("PORTOLAN_CONFIG").is_some() {
                    return Err(CliError::Usage(format!(
                        "PORTOLAN_CONFIG names {}, which does not exist",
                        path.display()
                    )));
                }
                return Ok(Config::default());
            }
            Err(e) => {
                return Err(CliError::Usage(format!(
                    "cannot read the config file {}: {e}",
                    path.display()
                )));
            }
        };
        let mut c: Config = toml::from_str(&text).map_err(|e| {
            let at = e.span().map_or_else(String::new, |s| {
                let before = &text[..s.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                format!(":{line}:{column}")
            });
            CliError::Usage(format!(
                "{}{at}: {} (keys: server, token_file, db, host, trusted_proxies)",
                path.display(),
                e.message().trim()
            ))
        })?;
        if let Some(t) = &c.token_file
            && t.is_relative()
            && let Some(dir) = path.parent()
        {
            c.token_file = Some(dir.join(t));
        }
        c.path = Some(path);
        Ok(c)
    }

    /// The token from `token_file`, trimmed. A file others can read is used, with a
    /// warning: a token is a password.
    pub fn token(&self) -> Result<Option<String>, CliError> {
        let Some(file) = &self.token_file else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(file).map_err(|e| {
            CliError::Usage(format!(
                "token_file {} (from {}): {e}",
                file.display(),
                self.path.as_deref().unwrap_or(Path::new("?")).display()
            ))
        })?;
        if let Ok(meta) = std::fs::metadata(file) {
            use std::os::unix::fs::PermissionsExt as _;
            if meta.permissions().mode() & 0o077 != 0 {
                errln!(
                    "warning: {} can be read by other users; `chmod 600 {}`",
                    file.display(),
                    file.display()
                );
            }
        }
        Ok(Some(text.trim().to_string()).filter(|t| !t.is_empty()))
    }
}
