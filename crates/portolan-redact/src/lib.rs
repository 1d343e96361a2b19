//! Secrets never leave portolan: every output path — discover snippets and warnings, `move`
//! reference lines, the Markdown import's spec, JSON and explain report, `serve`/`token`
//! messages and store errors, agents' command lines before they are uploaded, stored or
//! served — reads text only after it went through this crate.
//!
//! - [`redact`] one line of any format, [`redact_text`] a whole document (rules that span
//!   lines: PEM bodies, a `Password` table column, Kubernetes `name:`/`value:` pairs);
//! - [`dsn`] a database URL or libpq `key=value` string, greedy where the end of a
//!   password is unclear;
//! - [`command_line`] a process command line, argument by argument;
//! - [`is_secret_name`] whether a variable, option or parameter name names a secret.
//!
//! Everything replaces a secret by [`MASK`] and keeps the text's structure (quotes, line
//! count, YAML shape), so redacted text still parses to the same ports.
#![deny(missing_docs)]

mod command;
mod text;

pub use command::{command_line, dsn};
pub use text::{Redacted, redact, redact_text};

/// What replaces a secret.
pub const MASK: &str = "***";

/// Whether a variable, option or parameter name (`DB_PASSWORD`, `PGPASSWORD`,
/// `--requirepass`, `spring.datasource.password`, `api-key`, `client_secret`,
/// `EXPORTER_PASS`, `masterauth`) names a secret. Names of where a secret is kept
/// (`POSTGRES_PASSWORD_FILE`, `token_path`, `SECRET_DIR`) do not: their values are paths.
#[must_use]
pub fn is_secret_name(name: &str) -> bool {
    let n: String = name
        .trim_start_matches('-')
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if ["file", "path", "dir", "env", "ref"]
        .iter()
        .any(|s| n.ends_with(s))
    {
        return false;
    }
    [
        "password",
        "passwd",
        "passphrase",
        "secret",
        "token",
        "apikey",
        "accesskey",
        "privatekey",
        "credential",
    ]
    .iter()
    .any(|s| n.contains(s))
        || n.ends_with("pwd")
        || n.ends_with("pass")
        || n.ends_with("auth")
        || (n.ends_with("key") && n.len() > 3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_and_the_names_of_where_secrets_are_kept() {
        for yes in [
            "DB_PASSWORD",
            "PGPASSWORD",
            "--requirepass",
            "spring.datasource.password",
            "api-key",
            "client_secret",
            "EXPORTER_PASS",
            "MYSQL_PWD",
            "masterauth",
            "GITHUB_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
        ] {
            assert!(is_secret_name(yes), "{yes}");
        }
        for no in [
            "POSTGRES_PASSWORD_FILE",
            "token_path",
            "WEB_PORT",
            "DATABASE_URL",
            "AUTH_PORT",
            "key",
            "HOST",
        ] {
            assert!(!is_secret_name(no), "{no}");
        }
    }
}
