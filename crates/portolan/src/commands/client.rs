//! The HTTP client of the team-registry commands (`push`, `pull`, `alloc --server`,
//! `agent`): blocking `ureq` with rustls on ring. The CLI makes one request at a time, so a
//! blocking client is all it needs; ureq adds a handful of small crates to the binary and
//! shares rustls/ring with the TLS probes, where reqwest would bring hyper's client stack and
//! an async runtime per call.

use std::time::Duration;

use crate::cli::RemoteArgs;
use crate::config::Config;
use crate::error::CliError;

/// A registry to talk to: its base URL (no trailing `/`) and a token.
#[derive(Clone)]
pub(crate) struct Remote {
    /// `http://127.0.0.1:7878`.
    pub server: String,
    /// Bearer token.
    pub token: String,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("server", &self.server)
            .field("token", &"***")
            .finish()
    }
}

impl Remote {
    /// Validates `--server`/`--token` (or their environment variables, else the config
    /// file's `server` and `token_file`); `None` when no server is given.
    pub(crate) fn from_args(a: RemoteArgs, config: &Config) -> Result<Option<Remote>, CliError> {
        let Some(server) = a
            .server
            .filter(|s| !s.trim().is_empty())
            .or_else(|| config.server.clone())
        else {
            return Ok(None);
        };
        let server = server.trim().trim_end_matches('/').to_string();
        if !(server.starts_with("http://") || server.starts_with("https://")) {
            return Err(CliError::Usage(format!(
                "--server `{server}`: write http://HOST:PORT or https://HOST"
            )));
        }
        let token = match a
            .token
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
        {
            Some(t) => Some(t),
            None => config.token()?,
        };
        let token = token.ok_or_else(|| {
            CliError::Usage(
                "the registry needs a token: set PORTOLAN_TOKEN, pass --token, or name a file holding it as `token_file` in the config file; create one with `portolan token create`".into(),
            )
        })?;
        Ok(Some(Remote { server, token }))
    }

    /// Like [`Remote::from_args`], but a server is required.
    pub(crate) fn required(a: RemoteArgs, config: &Config) -> Result<Remote, CliError> {
        Self::from_args(a, config)?.ok_or_else(|| {
            CliError::Usage(
                "which registry? set PORTOLAN_SERVER, pass --server http://HOST:7878, or set `server` in the config file".into(),
            )
        })
    }
}

/// What the registry answered.
#[derive(Debug)]
pub(crate) struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The `ETag` header, as sent.
    pub etag: Option<String>,
    /// The body.
    pub text: String,
}

impl Answer {
    /// A 2xx status.
    pub(crate) fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as JSON (`Null` when it is not).
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.text).unwrap_or_default()
    }

    /// The registry's generation from an `ETag: "N"` (weak or strong).
    pub(crate) fn generation(&self) -> Option<i64> {
        let tag = self.etag.as_deref()?.trim();
        let tag = tag.strip_prefix("W/").unwrap_or(tag);
        tag.trim_matches('"').parse().ok()
    }

    /// The server's error as a [`CliError::Remote`].
    pub(crate) fn error(&self) -> CliError {
        let status = self.status;
        let v = self.json();
        let message = match (v["error"].as_str(), v["field"].as_str()) {
            (Some(e), Some(f)) => format!("registry: {e} (field `{f}`, HTTP {status})"),
            (Some(e), None) => format!("registry: {e} (HTTP {status})"),
            _ => format!("registry answered HTTP {status}: {}", self.text.trim()),
        };
        CliError::Remote { status, message }
    }
}

/// A registry client.
pub(crate) struct Client<'r> {
    remote: &'r Remote,
    agent: ureq::Agent,
}

impl<'r> Client<'r> {
    pub(crate) fn new(remote: &'r Remote) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .user_agent(concat!("portolan/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Client { remote, agent }
    }

    /// Sends a request; the body of a 2xx answer, else the server's error as a
    /// [`CliError::Remote`].
    pub(crate) fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<(&str, &str)>,
    ) -> Result<String, CliError> {
        let a = self.exchange(method, path, body, None)?;
        if a.ok() { Ok(a.text) } else { Err(a.error()) }
    }

    /// Sends a request, optionally with `If-Match`; any answer the server gives (only
    /// failing to reach it is an error).
    pub(crate) fn exchange(
        &self,
        method: &str,
        path: &str,
        body: Option<(&str, &str)>,
        if_match: Option<&str>,
    ) -> Result<Answer, CliError> {
        let url = format!("{}{path}", self.remote.server);
        let auth = format!("Bearer {}", self.remote.token);
        let res = match (method, body) {
            ("GET", _) => self.agent.get(&url).header("Authorization", &auth).call(),
            ("POST", Some((ct, b))) => self
                .agent
                .post(&url)
                .header("Authorization", &auth)
                .content_type(ct)
                .send(b),
            ("PUT", Some((ct, b))) => {
                let mut req = self
                    .agent
                    .put(&url)
                    .header("Authorization", &auth)
                    .content_type(ct);
                if let Some(m) = if_match {
                    req = req.header("If-Match", m);
                }
                req.send(b)
            }
            _ => {
                return Err(CliError::Usage(format!("internal: {method} {path}")));
            }
        };
        let mut res = res.map_err(|e| CliError::Remote {
            status: 0,
            message: format!("cannot reach the registry at {}: {e}", self.remote.server),
        })?;
        let status = res.status().as_u16();
        let etag = res
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = res
            .body_mut()
            .with_config()
            .limit(256 << 20)
            .read_to_string()
            .map_err(|e| CliError::Remote {
                status,
                message: format!("reading the registry's answer: {e}"),
            })?;
        Ok(Answer { status, etag, text })
    }

    /// POSTs JSON, returns the JSON answer.
    pub(crate) fn post_json(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, CliError> {
        let text = self.send("POST", path, Some(("application/json", &body.to_string())))?;
        serde_json::from_str(&text).map_err(|e| CliError::Remote {
            status: 200,
            message: format!("the registry's answer is not JSON: {e}"),
        })
    }
}
