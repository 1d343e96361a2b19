//! Secrets out of what the registry prints and stores: database URLs (`dsn`) in messages
//! of `serve`, `token` and every [`StoreError`](crate::StoreError), and agents' process
//! command lines (`command_line`) before an observation is stored or served.
//!
//! Both are deliberately greedy: when it is unclear where a password ends (an unencoded
//! `@` or `/` in it, an `&` inside a query value), more is masked, never less. A value
//! that is already [`MASK`] or a `$VARIABLE` reference is left as it is.

/// What replaces a secret.
pub const MASK: &str = "***";

/// `url` (a database URL, or a libpq `key=value` string) with its password replaced by
/// [`MASK`]: the userinfo password (`postgres://u:pw@h/db`, also when the password holds
/// an unencoded `@`, `/` or `?`) and secret query parameters (`?password=…`,
/// `&sslpassword=…`) or keywords (`host=h password=…`).
#[must_use]
pub fn dsn(url: &str) -> String {
    let Some(sep) = url.find("://") else {
        return secret_pairs(url, b" \t\n");
    };
    let (scheme, rest) = (&url[..sep], &url[sep + 3..]);
    let rest = match userinfo_end(rest) {
        // `sqlite:///a:b@c.db` is a path, not userinfo
        Some(at) if !scheme.eq_ignore_ascii_case("sqlite") && !rest.starts_with('/') => {
            match rest[..at].split_once(':') {
                Some((user, _)) => format!("{user}:{MASK}{}", &rest[at..]),
                None => rest.to_string(),
            }
        }
        _ => rest.to_string(),
    };
    format!("{scheme}://{}", secret_pairs(&rest, b"?&;"))
}

/// Where the userinfo of `rest` (a URL after `scheme://`) ends: its last `@` — a password
/// may hold `@`, `/` and `?` unencoded — unless that `@` sits in a query (`?a=b@c`), then
/// the last `@` before the query.
fn userinfo_end(rest: &str) -> Option<usize> {
    let at = rest.rfind('@')?;
    match rest[..at].find('?') {
        Some(q) if rest[q..at].contains('=') => rest[..q].rfind('@'),
        _ => Some(at),
    }
}

/// `text` with the value of every `key=value` whose key names a secret masked; a pair
/// starts after one of `starts` (or at the beginning). A value runs to the next start
/// byte followed by another `key=`, so an unencoded separator inside it is masked too;
/// a quoted value (`'…'`, libpq style) to its closing quote.
fn secret_pairs(text: &str, starts: &[u8]) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let at_start = i == 0 || starts.contains(&bytes[i - 1]);
        let key_len = if at_start { key_at(&text[i..]) } else { 0 };
        if key_len == 0 || !is_secret_name(&text[i..i + key_len]) {
            let ch = text[i..].chars().next().map_or(1, char::len_utf8);
            out.push_str(&text[i..i + ch]);
            i += ch;
            continue;
        }
        // key and `=`
        out.push_str(&text[i..=i + key_len]);
        let start = i + key_len + 1;
        let end = value_end(text, start, starts);
        let value = &text[start..end];
        if value.is_empty() || value == MASK || value.starts_with('$') {
            out.push_str(value);
        } else if value.starts_with('\'') {
            out.push('\'');
            out.push_str(MASK);
            out.push('\'');
        } else {
            out.push_str(MASK);
        }
        i = end;
    }
    out
}

/// The length of `key` when `text` starts with `key=` (a key: letters, digits, `_`, `-`,
/// `.`), else 0.
fn key_at(text: &str) -> usize {
    let len = text
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || b"_-.".contains(b))
        .count();
    if len > 0 && text.as_bytes().get(len) == Some(&b'=') {
        len
    } else {
        0
    }
}

/// Where the value starting at `start` ends (see [`secret_pairs`]).
fn value_end(text: &str, start: usize, starts: &[u8]) -> usize {
    let bytes = text.as_bytes();
    if bytes.get(start) == Some(&b'\'') {
        let mut j = start + 1;
        while j < bytes.len() {
            match bytes[j] {
                b'\\' => j += 2,
                b'\'' => return j + 1,
                _ => j += 1,
            }
        }
        return bytes.len();
    }
    let mut j = start;
    while j < bytes.len() {
        if starts.contains(&bytes[j]) && key_at(&text[j + 1..]) > 0 {
            return j;
        }
        j += 1;
    }
    bytes.len()
}

/// Whether a variable, option or parameter name (`password`, `PGPASSWORD`,
/// `--requirepass`, `spring.datasource.password`, `api-key`, `client_secret`) names a
/// secret. Names of where a secret is kept (`password-file`, `token_path`) do not.
#[must_use]
pub fn is_secret_name(name: &str) -> bool {
    let n: String = name
        .trim_start_matches('-')
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if ["file", "path", "dir", "env"]
        .iter()
        .any(|s| n.ends_with(s))
    {
        return false;
    }
    [
        "password",
        "passwd",
        "passphrase",
        "pwd",
        "secret",
        "token",
        "apikey",
        "accesskey",
        "privatekey",
        "credential",
        "auth",
    ]
    .iter()
    .any(|s| n.contains(s))
        || n.ends_with("pass")
        || n.ends_with("key")
}

/// A process command line (arguments joined by spaces, as agents report them) with
/// secret values masked: values of secret-named options (`--password=…`, `--password …`,
/// `--requirepass …`, `-Dspring.datasource.password=…`) and assignments
/// (`PGPASSWORD=…`), database and service URLs in any argument (`postgres://u:pw@…`,
/// `redis://:pw@…`, `?password=…`), `Authorization: Bearer …`/`Basic …`, `curl -u
/// user:pw`, `mysql -pPW`, `redis-cli -a PW` and `sshpass -p PW`. Spacing is kept.
#[must_use]
pub fn command_line(cmd: &str) -> String {
    let program = cmd
        .split_whitespace()
        .next()
        .map(|p| p.rsplit('/').next().unwrap_or(p).to_ascii_lowercase())
        .unwrap_or_default();
    let mysql = program.starts_with("mysql") || program.starts_with("mariadb");
    let mut out = String::with_capacity(cmd.len());
    let mut mask_next = false;
    let mut user_next = false;
    let mut rest = cmd;
    while !rest.is_empty() {
        let space = rest.len() - rest.trim_start().len();
        out.push_str(&rest[..space]);
        rest = &rest[space..];
        let len = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let word = &rest[..len];
        rest = &rest[len..];
        if word.is_empty() {
            break;
        }
        if mask_next && !word.starts_with('-') {
            mask_next = false;
            out.push_str(if word == MASK || word.starts_with('$') {
                word
            } else {
                MASK
            });
            continue;
        }
        if user_next {
            user_next = false;
            out.push_str(&user_password(word));
            continue;
        }
        mask_next = false;
        let (masked, next) = argument(word, &program, mysql);
        out.push_str(&masked);
        match next {
            Next::Secret => mask_next = true,
            Next::UserPassword => user_next = true,
            Next::Plain => {}
        }
    }
    out
}

/// What the argument after this one is.
enum Next {
    /// Nothing special.
    Plain,
    /// A secret (`--password PW`).
    Secret,
    /// `user:password` (`curl -u`).
    UserPassword,
}

/// One argument, masked, and what the next one is.
fn argument(word: &str, program: &str, mysql: bool) -> (String, Next) {
    let lower = word.to_ascii_lowercase();
    if lower == "bearer" || lower == "basic" {
        return (word.to_string(), Next::Secret);
    }
    if mysql && word.len() > 2 && word.starts_with("-p") && !word.starts_with("-p=") {
        return (format!("-p{MASK}"), Next::Plain);
    }
    match word {
        "-a" if program.starts_with("redis-cli") => return (word.to_string(), Next::Secret),
        "-p" if program == "sshpass" => return (word.to_string(), Next::Secret),
        "-u" | "--user" if program == "curl" => return (word.to_string(), Next::UserPassword),
        _ => {}
    }
    let word = if word.contains("://") {
        dsn_in(word)
    } else {
        word.to_string()
    };
    if let Some((key, value)) = word.split_once('=') {
        let name = key.strip_prefix("-D").unwrap_or(key);
        if is_secret_name(name) && !value.is_empty() && value != MASK && !value.starts_with('$') {
            return (format!("{key}={MASK}"), Next::Plain);
        }
        return (word.clone(), Next::Plain);
    }
    if word.starts_with("--") && is_secret_name(&word) {
        return (word, Next::Secret);
    }
    (word, Next::Plain)
}

/// `word` with the URL in it (from its scheme on) passed through [`dsn`].
fn dsn_in(word: &str) -> String {
    let sep = word.find("://").unwrap_or(0);
    let start = word[..sep]
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || "+.-".contains(c)))
        .map_or(0, |i| i + 1);
    format!("{}{}", &word[..start], dsn(&word[start..]))
}

/// `user:password` → `user:***`.
fn user_password(word: &str) -> String {
    match word.split_once(':') {
        Some((user, _)) => format!("{user}:{MASK}"),
        None => word.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::{command_line, dsn, is_secret_name};

    #[test]
    fn dsn_userinfo_passwords_are_masked_whatever_they_hold() {
        for (url, want) in [
            ("postgres://u:secret@h:5/db", "postgres://u:***@h:5/db"),
            ("postgres://u:p@ss@h/db", "postgres://u:***@h/db"),
            ("postgres://u:p/ss@h/db", "postgres://u:***@h/db"),
            ("postgres://u:p?ss@h/db", "postgres://u:***@h/db"),
            ("postgresql://u:p%40ss@h/db", "postgresql://u:***@h/db"),
            ("redis://:pw@h:6379/0", "redis://:***@h:6379/0"),
            (
                "postgres://u:pw@h/db?application_name=a@b",
                "postgres://u:***@h/db?application_name=a@b",
            ),
        ] {
            assert_eq!(dsn(url), want, "{url}");
        }
    }

    #[test]
    fn dsn_query_and_keyword_passwords_are_masked() {
        for (url, want) in [
            (
                "postgres://u@h/db?password=hunter2",
                "postgres://u@h/db?password=***",
            ),
            (
                "postgres://u@h/db?sslmode=require&password=a&b=c&sslpassword=x",
                "postgres://u@h/db?sslmode=require&password=***&b=c&sslpassword=***",
            ),
            // an unencoded `&` inside the value is masked with it
            (
                "postgres://h/db?password=a&b&sslmode=require",
                "postgres://h/db?password=***&sslmode=require",
            ),
            (
                "sqlite:///tmp/x.db?PASSWORD=pw",
                "sqlite:///tmp/x.db?PASSWORD=***",
            ),
            (
                "host=h password=secret dbname=x",
                "host=h password=*** dbname=x",
            ),
            (
                "host=h password='se cret\\'x' user=u",
                "host=h password='***' user=u",
            ),
        ] {
            assert_eq!(dsn(url), want, "{url}");
        }
    }

    #[test]
    fn dsn_without_secrets_is_unchanged() {
        for url in [
            "postgres://u@h/db",
            "postgres://h:5432/db?sslmode=require",
            "postgres://h/db?application_name=a@b",
            "sqlite://a/b.db",
            "sqlite:///tmp/a:b@c.db",
            "sqlite::memory:",
            "postgres://u@h/db?password=$PGPASSWORD",
        ] {
            assert_eq!(dsn(url), url);
        }
    }

    #[test]
    fn secret_names() {
        for n in [
            "password",
            "PGPASSWORD",
            "--requirepass",
            "masterauth",
            "spring.datasource.password",
            "api-key",
            "client_secret",
            "GITHUB_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "--pass",
        ] {
            assert!(is_secret_name(n), "{n}");
        }
        for n in [
            "port",
            "password-file",
            "token_path",
            "--listen",
            "host",
            "user",
        ] {
            assert!(!is_secret_name(n), "{n}");
        }
    }

    #[test]
    fn command_lines_lose_their_secrets_and_keep_the_rest() {
        for (cmd, want) in [
            (
                "/usr/bin/app --password=hunter2 --port 8080",
                "/usr/bin/app --password=*** --port 8080",
            ),
            ("app --password hunter2 -v", "app --password *** -v"),
            (
                "redis-server *:6379 --requirepass s3cret",
                "redis-server *:6379 --requirepass ***",
            ),
            (
                "java -Dspring.datasource.password=pw -jar a.jar",
                "java -Dspring.datasource.password=*** -jar a.jar",
            ),
            (
                "worker --db=postgres://app:pw@db:5432/x",
                "worker --db=postgres://app:***@db:5432/x",
            ),
            (
                "worker postgres://app@db/x?password=pw",
                "worker postgres://app@db/x?password=***",
            ),
            ("env PGPASSWORD=pw psql", "env PGPASSWORD=*** psql"),
            ("mysql -uroot -phunter2 db", "mysql -uroot -p*** db"),
            ("redis-cli -a hunter2 ping", "redis-cli -a *** ping"),
            ("sshpass -p hunter2 ssh h", "sshpass -p *** ssh h"),
            (
                "curl -u admin:pw -H Authorization: Bearer abc.def http://x",
                "curl -u admin:*** -H Authorization: Bearer *** http://x",
            ),
            (
                "nc -l -p 8080  --api-key=k1   x",
                "nc -l -p 8080  --api-key=***   x",
            ),
            (
                "app --token-file /run/secrets/t --password=$PW",
                "app --token-file /run/secrets/t --password=$PW",
            ),
            ("nginx: master process nginx", "nginx: master process nginx"),
        ] {
            assert_eq!(command_line(cmd), want, "{cmd}");
        }
    }
}
