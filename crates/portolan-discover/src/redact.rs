//! Secrets never leave a parser: URL passwords (`postgresql://u:pw@db/x` →
//! `postgresql://u:***@db/x`), values of secret-looking variables (`DB_PASSWORD=…`), and
//! password options in commands (`-p secret`, `--password=…`, `PGPASSWORD=…`).

use std::sync::LazyLock;

use regex::Regex;

/// What replaces a secret.
pub const MASK: &str = "***";

static URL_PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
    // scheme://user:password@  (user may be empty: redis://:pw@host)
    Regex::new(r"(?P<pre>[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]*:)(?P<pw>[^\s@/]+)(?P<at>@)")
        .expect("static regex")
});

static SECRET_ASSIGN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)(?P<key>\b[A-Z0-9_.\-]*(?:PASSWORD|PASSWD|PWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIALS?)[A-Z0-9_]*\s*[=:]\s*)(?P<q>["']?)(?P<val>[^"'\s]+)"#,
    )
    .expect("static regex")
});

static PASSWORD_FLAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?P<flag>--password[= ]|--passwd[= ]|--token[= ])(?P<q>["']?)(?P<val>[^"'\s]+)"#)
        .expect("static regex")
});

/// `text` with every secret it can recognise replaced by [`MASK`], and whether anything was
/// replaced.
pub fn redact(text: &str) -> (String, bool) {
    let mut changed = false;
    let mut out = text.to_string();
    if out.contains("://") {
        let next = URL_PASSWORD.replace_all(&out, |c: &regex::Captures<'_>| {
            if &c["pw"] == MASK || c["pw"].starts_with("${") {
                c[0].to_string()
            } else {
                changed = true;
                format!("{}{MASK}{}", &c["pre"], &c["at"])
            }
        });
        out = next.into_owned();
    }
    // both regexes below need one of these words: most text has none, and skipping them
    // keeps long lines (one `EXPOSE` of 40,000 ports) linear
    let lower = out.to_ascii_lowercase();
    if !["pass", "pwd", "secret", "token", "key", "credential"]
        .iter()
        .any(|k| lower.contains(k))
    {
        return (out, changed);
    }
    let next = SECRET_ASSIGN.replace_all(&out, |c: &regex::Captures<'_>| {
        let val = &c["val"];
        if val == MASK || val.starts_with('$') || val.is_empty() {
            c[0].to_string()
        } else {
            changed = true;
            format!("{}{}{MASK}", &c["key"], &c["q"])
        }
    });
    out = next.into_owned();
    let next = PASSWORD_FLAG.replace_all(&out, |c: &regex::Captures<'_>| {
        if &c["val"] == MASK || c["val"].starts_with('$') {
            c[0].to_string()
        } else {
            changed = true;
            format!("{}{}{MASK}", &c["flag"], &c["q"])
        }
    });
    (next.into_owned(), changed)
}

/// Whether a variable name says its value is a secret (`DB_PASSWORD`, `API_TOKEN`).
pub fn is_secret_name(name: &str) -> bool {
    let up = name.to_ascii_uppercase();
    [
        "PASSWORD",
        "PASSWD",
        "SECRET",
        "TOKEN",
        "APIKEY",
        "API_KEY",
        "PRIVATE_KEY",
        "ACCESS_KEY",
        "CREDENTIAL",
    ]
    .iter()
    .any(|k| up.contains(k))
        || up.ends_with("_PWD")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_passwords_are_masked() {
        let (s, c) = redact("DATABASE_URL=postgresql://odoo:s3cret@db:5432/odoo");
        assert_eq!(s, "DATABASE_URL=postgresql://odoo:***@db:5432/odoo");
        assert!(c);
        let (s, _) = redact("redis://:pw@redis:6379/0");
        assert_eq!(s, "redis://:***@redis:6379/0");
    }

    #[test]
    fn secret_assignments_and_flags_are_masked() {
        assert_eq!(
            redact("POSTGRES_PASSWORD=hunter2").0,
            "POSTGRES_PASSWORD=***"
        );
        assert_eq!(redact("api_token: 'abc'").0, "api_token: '***'");
        assert_eq!(
            redact("mysql --password=abc -h db").0,
            "mysql --password=*** -h db"
        );
    }

    #[test]
    fn plain_text_and_references_are_kept() {
        for s in [
            "WEB_PORT=8000",
            "postgresql://odoo@db:5432/odoo",
            "DB_PASSWORD=${DB_PASSWORD}",
            "http://localhost:8080/health",
        ] {
            assert_eq!(redact(s), (s.to_string(), false), "{s}");
        }
    }
}
