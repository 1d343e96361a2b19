//! Secrets in text of any format, one line at a time or a whole document at once.
//!
//! What is recognised, on one line ([`redact`]): passwords in URLs
//! (`postgresql://u:pw@db/x`, `redis://:pw@h`, Go DSNs `u:pw@tcp(h:3306)/db`, key-only
//! userinfo such as a Sentry DSN), values of secret-looking names (`DB_PASSWORD=…`,
//! `api_token: …`, `consul_encrypt_key: "…"` when the value looks random), `Authorization:`
//! headers, password options of commands (`--password=…`, `--requirepass X`, `redis-cli -a
//! X`, `mysql -pX`, `sshpass -p X`, `curl -u user:pw`, `stats auth user:pw`), tokens by
//! their well-known shape (AWS access key ids, Stripe, GitHub, Slack, Google keys, JWTs), and
//! password words in prose in several languages (`Passwort: …`, `contraseña: …`, `le mot de
//! passe est …`, `пароль: …`). Across lines ([`redact_text`]): PEM private key bodies, the
//! cells of a table column headed `Password`, and the `value:` that follows a
//! `name: DB_PASSWORD` in a Kubernetes env list.
//!
//! The replacement keeps the text's structure: quotes around a value are kept, and a value
//! in YAML/JSON mapping position (`password: hunter2`) becomes `password: "***"` — a bare
//! `***` there would read as an alias and break the whole block ("unknown anchor"). Line
//! count and everything around the secret are unchanged, so a redacted compose file, `.env`
//! or command still parses to the same ports.

use std::borrow::Cow;
use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use regex::{Captures, Regex};

use crate::{MASK, is_secret_name};

fn re(s: &str) -> Regex {
    Regex::new(s).expect("static regex")
}

static URL_PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
    // scheme://user:password@  (user may be empty: redis://:pw@host)
    re(r"(?P<pre>[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]*:)(?P<val>[^\s@/]+)(?P<post>@)")
});

static URL_KEY_ONLY: LazyLock<Regex> = LazyLock::new(|| {
    // https://0123abcd...@host (a key as the whole userinfo: Sentry DSNs, token URLs)
    re(r"(?P<pre>\b(?:https?|wss?)://)(?P<val>[A-Za-z0-9_\-]{8,})(?P<post>@)")
});

static GO_DSN: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?P<pre>\b[A-Za-z0-9_.\-]+:)(?P<val>[^\s:@/]+)(?P<post>@(?:tcp|unix|udp)\()")
});

static AUTH_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?i)(?P<pre>\b(?:proxy-)?authorization\s*[:=]\s*(?:(?:bearer|basic|token|digest|negotiate|apikey|api-key|sso-key)\s+)?)(?P<q>["']?)(?P<val>[^\s"'`|]+)"#,
    )
});

static TOKEN_SHAPES: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"\b(?:",
        r"(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16}",
        r"|[sr]k_(?:live|test)_[0-9A-Za-z]{8,}",
        r"|gh[pousr]_[0-9A-Za-z]{20,}",
        r"|github_pat_[0-9A-Za-z_]{20,}",
        r"|glpat-[0-9A-Za-z_\-]{20,}",
        r"|xox[abprs]-[0-9A-Za-z\-]{10,}",
        r"|AIza[0-9A-Za-z_\-]{30,}",
        r"|eyJ[0-9A-Za-z_\-]{8,}\.[0-9A-Za-z_\-]{8,}\.[0-9A-Za-z_\-]{8,}",
        r")\b"
    ))
});

static SECRET_ASSIGN: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?i)(?P<key>\b[A-Z0-9_.\-]*(?:PASSWORD|PASSWD|PASSPHRASE|PWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIALS?)[A-Z0-9_]*["']?\s*[=:]\s*)(?P<q>["']?)(?P<val>[^"'\s,;`|}]+)"#,
    )
});

/// `*_key` names whose value is masked when it looks random (`consul_encrypt_key`).
static KEY_ASSIGN: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?i)(?P<key>\b[A-Z0-9_.\-]*(?:KEY|SALT|SEED)["']?\s*[=:]\s*)(?P<q>["']?)(?P<val>[^"'\s,;`|}]+)"#,
    )
});

static PASSWORD_FLAG: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?i)(?P<flag>--[a-z0-9\-]*(?:password|passwd|pass|token|secret|requirepass|masterauth|api-?key|access-key|secret-key)(?:=|\s+|["']\s*,\s*["']))(?P<q>["']?)(?P<val>[^"'\s,\]]+)"#,
    )
});

static REDIS_CLI_A: LazyLock<Regex> =
    LazyLock::new(|| re(r#"(?P<flag>\s-a\s+)(?P<q>["']?)(?P<val>[^"'\s]+)"#));

static MYSQL_P: LazyLock<Regex> =
    LazyLock::new(|| re(r#"(?P<flag>\s-p)(?P<q>["']?)(?P<val>[^"'\s]+)"#));

static SSHPASS_P: LazyLock<Regex> =
    LazyLock::new(|| re(r#"(?P<flag>\bsshpass\s+-p\s*)(?P<q>["']?)(?P<val>[^"'\s]+)"#));

static USER_COLON_PASS: LazyLock<Regex> = LazyLock::new(|| {
    // curl -u user:pw, --user user:pw, haproxy `stats auth user:pw`, `basic_auth user:pw`
    re(
        r#"(?i)(?P<flag>(?:\s-u\s*|--user[=\s]+|\bstats\s+auth\s+|\bbasic_?auth\s+)["']?[^\s:"']+:)(?P<q>)(?P<val>[^\s"']+)"#,
    )
});

static PROSE_PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?i)(?P<key>(?:\b(?:password|passwort|kennwort|passcode|passphrase|contraseña|contrasena|senha|wachtwoord|hasło|haslo|mot de passe|pwd)|пароль)\b[^\n:=|`]{0,40}?(?:\s*[:=]\s*|\s+(?:is|est|ist|es|é|equals)\s+)(?:\*\*|__)?\s*)(?P<val>`[^`]+`|"[^"]+"|'[^']+'|[^\s`*|,;]+)"#,
    )
});

/// "password X" with nothing between, as comments say it (`// admin password hunter2`);
/// only values that look like one (see `looks_like_password`) are masked.
static PROSE_PASSWORD_BARE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?i)(?P<key>\b(?:password|passwd|passphrase|passwort|contraseña|pwd)\s+)(?P<val>[^\s`*|,;:='"()\[\]{}]+)"#,
    )
});

/// A bare word after "password" is the password when it mixes a digit with letters and is
/// not a port-like or duration-like setting (`8`, `90d`, `v2`).
fn looks_like_password(val: &str) -> bool {
    let v = val.trim_end_matches(['.', '!', '?']);
    v.chars().count() >= 5
        && v.chars().any(|c| c.is_ascii_digit())
        && v.chars().any(char::is_alphabetic)
        && !v
            .chars()
            .all(|c| c.is_ascii_digit() || "smhdwy".contains(c))
}

/// Words that follow "password is" in prose and are not the password.
const PROSE_WORDS: &[&str] = &[
    "required", "set", "stored", "in", "the", "a", "an", "not", "never", "managed", "rotated",
    "see", "from", "per", "unique", "changed", "empty", "none", "n/a", "-", "—",
];

fn is_reference(val: &str) -> bool {
    let v = val.trim_matches(['"', '\'', '`']);
    v.is_empty()
        || v == MASK
        || v.starts_with("***")
        || v.starts_with('$')
        || v.starts_with("{{")
        || v.starts_with('<')
        || v.starts_with('%')
        || v.starts_with("secretKeyRef")
        || v.eq_ignore_ascii_case("null")
        || v.eq_ignore_ascii_case("changeme")
        || v.chars()
            .all(|c| c == '*' || c == 'x' || c == 'X' || c == '.')
}

/// Whether a value is a setting rather than a secret (`true`, `no`, a number).
fn is_setting(val: &str) -> bool {
    let v = val.trim_matches(['"', '\'']).to_ascii_lowercase();
    [
        "true",
        "false",
        "yes",
        "no",
        "on",
        "off",
        "none",
        "required",
        "optional",
        "0",
        "1",
        "scram-sha-256",
        "md5",
        "trust",
        "peer",
        "ident",
        "plain",
        "bcrypt",
        "argon2",
    ]
    .contains(&v.as_str())
}

/// Whether a value looks like key material: long, and not a word, a path or a number.
fn looks_random(val: &str) -> bool {
    let v = val.trim_matches(['"', '\'']);
    if v.len() < 16 || v.starts_with(['/', '~', '.']) || v.contains("://") {
        return false;
    }
    let digits = v.chars().filter(char::is_ascii_digit).count();
    let upper = v.chars().filter(char::is_ascii_uppercase).count();
    let lower = v.chars().filter(char::is_ascii_lowercase).count();
    let classes = usize::from(digits > 0) + usize::from(upper > 0) + usize::from(lower > 0);
    classes >= 2 && !v.contains(' ')
}

/// One rule applied to `line` in place: every match of `re` whose `val` group is accepted
/// by `keep` is replaced by the mask (group `q` — the opening quote, if any — kept). Returns
/// whether `line` was rewritten (a line without a match is left alone, not copied).
fn apply(
    line: &mut String,
    re: &Regex,
    changed: &mut bool,
    accept: impl Fn(&Captures<'_>) -> bool,
) -> bool {
    let text = line.as_str();
    let rewritten = re.replace_all(text, |c: &Captures<'_>| {
        let Some(val) = c.name("val") else {
            return c[0].to_string();
        };
        if is_reference(val.as_str()) || !accept(c) {
            return c[0].to_string();
        }
        *changed = true;
        let whole = c.get(0).map_or(0..0, |m| m.range());
        let mut out = String::new();
        out.push_str(&text[whole.start..val.start()]);
        let v = val.as_str();
        // keep a quote or backtick pair around the value
        match v.chars().next() {
            Some(q @ ('`' | '"' | '\'')) if v.len() > 1 && v.ends_with(q) => {
                out.push(q);
                out.push_str(MASK);
                out.push(q);
            }
            _ => out.push_str(MASK),
        }
        out.push_str(&text[val.end()..whole.end]);
        out
    });
    match rewritten {
        Cow::Owned(new) => {
            *line = new;
            true
        }
        Cow::Borrowed(_) => false,
    }
}

/// The words that decide which rules can match a line, in the order of the bits below.
const WORDS: [&str; 22] = [
    "pass",
    "pwd",
    "secret",
    "token",
    "key",
    "credential",
    "salt",
    "seed",
    "masterauth",
    "redis-cli",
    "mysql",
    "mariadb",
    "sshpass",
    "authorization",
    "-u",
    "stats",
    "basic",
    "kennwort",
    "contrasena",
    "senha",
    "wachtwoord",
    "haslo",
];

/// The secret words that make the assignment and flag rules worth running.
const SECRET_WORDS: u32 = 0x1ff;
/// `redis-cli`.
const REDIS_CLI: u32 = 1 << 9;
/// `mysql`, `mariadb`.
const MYSQL: u32 = 1 << 10 | 1 << 11;
/// `sshpass`.
const SSHPASS: u32 = 1 << 12;
/// `authorization`.
const AUTHORIZATION: u32 = 1 << 13;
/// What `-u user:pw`, `--user`, `stats auth` and `basic_auth` start with.
const USER_FLAGS: u32 = 1 << 14 | 1 << 15 | 1 << 16;
/// `pass`, `pwd`: the ASCII words of the bare prose rule.
const PASSWORD_WORDS: u32 = 0b11;
/// The ASCII words of the prose rule (`mot de passe` holds `pass`).
const PROSE_WORDS_ASCII: u32 = PASSWORD_WORDS | 0x1f << 17;

/// Finds [`WORDS`] in any ASCII case, overlapping (`statsalt` holds `stats` and `salt`), in
/// one pass over the line.
static WORD_FINDER: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(WORDS)
        .expect("static words")
});

/// Which of [`WORDS`] `text` holds, one bit each: what `to_ascii_lowercase().contains(w)`
/// says for each word, in one pass.
fn words_in(text: &str) -> u32 {
    WORD_FINDER
        .find_overlapping_iter(text)
        .fold(0, |found, m| found | 1 << m.pattern().as_usize())
}

/// The line being redacted and the [`WORDS`] it holds, kept in step: the cheap test of
/// whether a rule can match at all, so most lines skip most regexes.
struct Line {
    text: String,
    words: u32,
}

impl Line {
    fn new(text: &str) -> Self {
        Line {
            text: text.to_string(),
            words: words_in(text),
        }
    }

    /// Applies one rule (see [`apply`]).
    fn apply(&mut self, re: &Regex, changed: &mut bool, accept: impl Fn(&Captures<'_>) -> bool) {
        if apply(&mut self.text, re, changed, accept) {
            self.words = words_in(&self.text);
        }
    }

    /// Whether the line holds one of `words`.
    fn holds(&self, words: u32) -> bool {
        self.words & words != 0
    }

    /// Whether the line may hold one of `words` in any case. Text that is not all ASCII
    /// always may: `(?i)` also folds `ſ` to `s` and the Kelvin sign to `k`, which ASCII
    /// case folding does not.
    fn may_hold(&self, words: u32) -> bool {
        !self.text.is_ascii() || self.holds(words)
    }
}

/// A bare mask where YAML or JSON expects a value reads as an alias (`key: ***`), which
/// breaks the whole document: quote it there.
fn keep_yaml_shape(line: &str) -> String {
    static BLOCK: LazyLock<Regex> = LazyLock::new(|| {
        re(r#"^(?P<pre>\s*(?:-\s+)?(?:[^\s#"'*][^:#]*:\s+)?)\*\*\*(?P<post>\s*(?:#.*)?)$"#)
    });
    static FLOW: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?P<pre>[\[{,]\s*(?:[^\s:,\[{]+:\s*)?)\*\*\*(?P<post>\s*[,\]}])"));
    if !line.contains(MASK) {
        return line.to_string();
    }
    let line = BLOCK.replace(line, "${pre}\"***\"${post}");
    if line.contains(['{', '[']) {
        FLOW.replace_all(&line, "${pre}\"***\"${post}").into_owned()
    } else {
        line.into_owned()
    }
}

/// Whether a `SECRET_ASSIGN` match assigns a secret: `POSTGRES_PASSWORD_FILE=/run/secrets/pg`
/// names where the secret is, `secretRequired="false"` is a setting.
fn secret_assignment(c: &Captures<'_>) -> bool {
    let key = c["key"].to_ascii_uppercase();
    let key = key.trim_end_matches(|ch: char| !ch.is_ascii_alphanumeric());
    ![
        "FILE",
        "PATH",
        "REF",
        "DIR",
        "NAME",
        "ENV",
        "REQUIRED",
        "LENGTH",
        "TTL",
        "ENCRYPTION",
        "POLICY",
        "EXPIRY",
        "EXPIRE",
        "PROMPT",
        "METHOD",
        "ALGORITHM",
    ]
    .iter()
    .any(|s| key.ends_with(s))
        && !is_setting(&c["val"])
}

/// Whether a `MYSQL_P` match is a password: `-p 3306` is a port for other tools,
/// `-pSECRET` (attached) is the password of `MySQL`.
fn mysql_password(c: &Captures<'_>) -> bool {
    !c["val"].chars().all(|ch| ch.is_ascii_digit()) && !c["val"].contains(':')
}

/// Whether a `PROSE_PASSWORD` match is a password rather than a word of the sentence
/// (quoted values always are).
fn prose_password(c: &Captures<'_>) -> bool {
    let v = &c["val"];
    let bare = v.trim_matches(['`', '"', '\'']);
    let quoted = v.len() > bare.len();
    let word = bare
        .trim_end_matches(['.', ',', ';', ':', '!', ')'])
        .to_lowercase();
    quoted || !PROSE_WORDS.contains(&word.as_str())
}

/// `text` (one line) with every secret it can recognise replaced by [`MASK`], and whether
/// anything was replaced.
pub fn redact(text: &str) -> (String, bool) {
    let mut changed = false;
    let mut line = Line::new(text);
    if line.text.contains("://") {
        line.apply(&URL_PASSWORD, &mut changed, |_| true);
        line.apply(&URL_KEY_ONLY, &mut changed, |c| {
            c["val"].chars().any(|ch| ch.is_ascii_digit())
        });
    }
    if line.text.contains('@') {
        line.apply(&GO_DSN, &mut changed, |_| true);
    }
    if line.may_hold(AUTHORIZATION) {
        line.apply(&AUTH_HEADER, &mut changed, |_| true);
    }
    if TOKEN_SHAPES.is_match(&line.text) {
        changed = true;
        line.text = TOKEN_SHAPES.replace_all(&line.text, MASK).into_owned();
        line.words = words_in(&line.text);
    }
    // the assignment and flag regexes need one of these words: most text has none, and
    // skipping them keeps long lines (one `EXPOSE` of 40,000 ports) linear
    if line.holds(SECRET_WORDS) {
        line.apply(&SECRET_ASSIGN, &mut changed, secret_assignment);
        line.apply(&KEY_ASSIGN, &mut changed, |c| looks_random(&c["val"]));
        line.apply(&PASSWORD_FLAG, &mut changed, |_| true);
    }
    // the tools are looked for once, before any of their rules rewrites the line
    let redis_cli = line.holds(REDIS_CLI);
    let mysql = line.holds(MYSQL);
    let sshpass = line.holds(SSHPASS);
    if redis_cli {
        line.apply(&REDIS_CLI_A, &mut changed, |_| true);
    }
    if mysql {
        line.apply(&MYSQL_P, &mut changed, mysql_password);
    }
    if sshpass {
        line.apply(&SSHPASS_P, &mut changed, |_| true);
    }
    // `-u user:pw`, `--user`, `stats auth`, `basic_auth`
    if line.text.contains(':') && line.may_hold(USER_FLAGS) {
        line.apply(&USER_COLON_PASS, &mut changed, |_| true);
    }
    if line.may_hold(PROSE_WORDS_ASCII) {
        line.apply(&PROSE_PASSWORD, &mut changed, prose_password);
    }
    if line.may_hold(PASSWORD_WORDS) {
        line.apply(&PROSE_PASSWORD_BARE, &mut changed, |c| {
            looks_like_password(&c["val"])
        });
    }
    let mut out = line.text;
    if changed {
        out = keep_yaml_shape(&out);
    }
    (out, changed)
}

/// A whole text redacted line by line, with the rules that need more than one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted {
    /// The text, same number of lines.
    pub text: String,
    /// Where each secret was: (1-based line, 1-based column in chars).
    pub at: Vec<(usize, usize)>,
}

fn first_diff_col(a: &str, b: &str) -> usize {
    a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count() + 1
}

fn is_secret_header(cell: &str) -> bool {
    let c = cell
        .trim()
        .trim_matches(['*', '_', '`', ' '])
        .to_lowercase();
    [
        "password",
        "passwords",
        "passwort",
        "kennwort",
        "contraseña",
        "contrasena",
        "mot de passe",
        "пароль",
        "senha",
        "wachtwoord",
        "secret",
        "secrets",
        "token",
        "api key",
        "api token",
        "credentials",
        "pwd",
        "pass",
    ]
    .contains(&c.as_str())
}

/// The cells of a pipe-table line: (start, end) byte ranges of each cell's content.
fn cell_ranges(line: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let bytes = line.as_bytes();
    let mut start: Option<usize> = None;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'|' => {
                if let Some(s) = start {
                    out.push((s, i));
                }
                start = Some(i + 1);
            }
            _ => {}
        }
        i += 1;
    }
    if let Some(s) = start {
        if s < line.len() && !line[s..].trim().is_empty() {
            out.push((s, line.len()));
        }
    }
    if !line.trim_start().starts_with('|') {
        // no leading pipe: the text before the first pipe is the first cell
        if let Some(first) = line.find('|') {
            out.insert(0, (0, first));
        }
    }
    out
}

/// `text` with every secret replaced, lines kept: [`redact`] on each line, plus PEM private
/// key bodies, table columns headed `Password` (or `Secret`, `Token`, `Passwort`, …) and
/// the `value:` after a `name: SOME_PASSWORD` in a YAML list.
pub fn redact_text(text: &str) -> Redacted {
    let mut out = String::with_capacity(text.len());
    let mut at = Vec::new();
    let mut in_pem = false;
    let mut secret_cols: Vec<usize> = Vec::new();
    let mut pending_value: Option<usize> = None;
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let n = i + 1;
        if in_pem {
            if line.contains("-----END") {
                in_pem = false;
                out.push_str(line);
            } else if line.trim().is_empty() {
                out.push_str(line);
            } else {
                at.push((n, 1));
                let indent = line.len() - line.trim_start().len();
                out.push_str(&line[..indent]);
                out.push_str(MASK);
            }
            continue;
        }
        if line.contains("-----BEGIN") && line.contains("PRIVATE KEY") {
            in_pem = true;
            out.push_str(line);
            continue;
        }
        let (mut red, mut changed) = redact(line);
        // a table column of secrets
        let t = red.trim();
        if t.contains('|') {
            let cells = cell_ranges(&red);
            if cells.iter().any(|(s, e)| is_secret_header(&red[*s..*e])) {
                secret_cols = cells
                    .iter()
                    .enumerate()
                    .filter(|(_, (s, e))| is_secret_header(&red[*s..*e]))
                    .map(|(k, _)| k)
                    .collect();
            } else if !secret_cols.is_empty() {
                let is_delimiter = t.chars().all(|c| matches!(c, '|' | '-' | ':' | ' '));
                if !is_delimiter {
                    let mut next = String::new();
                    let mut last = 0;
                    for (k, (s, e)) in cells.iter().enumerate() {
                        let cell = red[*s..*e].trim();
                        if secret_cols.contains(&k) && !is_reference(cell) && !cell.is_empty() {
                            next.push_str(&red[last..*s]);
                            next.push(' ');
                            next.push_str(MASK);
                            next.push(' ');
                            last = *e;
                            changed = true;
                        }
                    }
                    next.push_str(&red[last..]);
                    red = next;
                }
            }
        } else if t.is_empty() || !t.contains('|') {
            secret_cols.clear();
        }
        // `- name: DB_PASSWORD` then `value: …`
        let indent = red.len() - red.trim_start().len();
        let body = red.trim_start().trim_start_matches("- ").trim();
        if let Some(name) = body.strip_prefix("name:") {
            let name = name.trim().trim_matches(['"', '\'']);
            pending_value = is_secret_name(name).then_some(indent);
        } else if let (Some(pi), Some(v)) = (pending_value, body.strip_prefix("value:")) {
            if indent >= pi {
                let v = v.trim();
                if !v.is_empty() && !is_reference(v) {
                    let quote = v.starts_with('"') || v.starts_with('\'');
                    let q = if quote { &v[..1] } else { "\"" };
                    let key_end = red.find("value:").map_or(0, |p| p + "value:".len());
                    red = format!("{} {q}{MASK}{q}", &red[..key_end]);
                    changed = true;
                }
                pending_value = None;
            }
        } else if pending_value.is_some_and(|pi| indent < pi || red.trim_start().starts_with("- "))
        {
            pending_value = None;
        }
        if changed {
            at.push((n, first_diff_col(line, &red)));
        }
        out.push_str(&red);
    }
    Redacted { text: out, at }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `redact` as it was before rules were skipped on lines that lack their words: every
    /// rule run on every line. The reference the gated one must match.
    fn redact_every_rule(text: &str) -> (String, bool) {
        fn all(
            line: &str,
            re: &Regex,
            changed: &mut bool,
            ok: impl Fn(&Captures<'_>) -> bool,
        ) -> String {
            let mut s = line.to_string();
            apply(&mut s, re, changed, ok);
            s
        }
        let mut changed = false;
        let mut out = text.to_string();
        if out.contains("://") {
            out = all(&out, &URL_PASSWORD, &mut changed, |_| true);
            out = all(&out, &URL_KEY_ONLY, &mut changed, |c| {
                c["val"].chars().any(|ch| ch.is_ascii_digit())
            });
        }
        if out.contains('@') {
            out = all(&out, &GO_DSN, &mut changed, |_| true);
        }
        out = all(&out, &AUTH_HEADER, &mut changed, |_| true);
        if TOKEN_SHAPES.is_match(&out) {
            changed = true;
            out = TOKEN_SHAPES.replace_all(&out, MASK).into_owned();
        }
        let lower = out.to_ascii_lowercase();
        let words = [
            "pass",
            "pwd",
            "secret",
            "token",
            "key",
            "credential",
            "salt",
            "seed",
            "masterauth",
        ];
        if words.iter().any(|k| lower.contains(k)) {
            out = all(&out, &SECRET_ASSIGN, &mut changed, secret_assignment);
            out = all(&out, &KEY_ASSIGN, &mut changed, |c| looks_random(&c["val"]));
            out = all(&out, &PASSWORD_FLAG, &mut changed, |_| true);
        }
        let lower = out.to_ascii_lowercase();
        if lower.contains("redis-cli") {
            out = all(&out, &REDIS_CLI_A, &mut changed, |_| true);
        }
        if ["mysql", "mariadb"].iter().any(|w| lower.contains(w)) {
            out = all(&out, &MYSQL_P, &mut changed, mysql_password);
        }
        if lower.contains("sshpass") {
            out = all(&out, &SSHPASS_P, &mut changed, |_| true);
        }
        out = all(&out, &USER_COLON_PASS, &mut changed, |_| true);
        out = all(&out, &PROSE_PASSWORD, &mut changed, prose_password);
        out = all(&out, &PROSE_PASSWORD_BARE, &mut changed, |c| {
            looks_like_password(&c["val"])
        });
        if changed {
            out = keep_yaml_shape(&out);
        }
        (out, changed)
    }

    #[test]
    fn word_bits_name_the_words() {
        let bits = |ws: &[&str]| {
            ws.iter().fold(0u32, |b, w| {
                b | 1 << WORDS.iter().position(|x| x == w).expect("a word")
            })
        };
        assert_eq!(SECRET_WORDS, bits(&WORDS[..9]));
        assert_eq!(REDIS_CLI, bits(&["redis-cli"]));
        assert_eq!(MYSQL, bits(&["mysql", "mariadb"]));
        assert_eq!(SSHPASS, bits(&["sshpass"]));
        assert_eq!(AUTHORIZATION, bits(&["authorization"]));
        assert_eq!(USER_FLAGS, bits(&["-u", "stats", "basic"]));
        assert_eq!(PASSWORD_WORDS, bits(&["pass", "pwd"]));
        assert_eq!(
            PROSE_WORDS_ASCII,
            bits(&[
                "pass",
                "pwd",
                "kennwort",
                "contrasena",
                "senha",
                "wachtwoord",
                "haslo"
            ])
        );
        // one pass finds what a lowercase copy and `contains` find, overlaps included
        for text in [
            "statsalt",
            "MySQL -uroot",
            "x",
            "PaSsWd=1 sSHpass",
            "ſecret",
        ] {
            let lower = text.to_ascii_lowercase();
            let want = WORDS
                .iter()
                .enumerate()
                .filter(|(_, w)| lower.contains(*w))
                .fold(0, |b, (i, _)| b | 1 << i);
            assert_eq!(words_in(text), want, "{text}");
        }
    }

    #[test]
    fn skipping_rules_a_line_lacks_the_words_of_changes_nothing() {
        // every line of the repository's secret and import fixtures, and lines where only
        // Unicode case folding (`ſ`, the Kelvin sign) or a masked value holds the words
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures");
        let mut lines: Vec<String> = [
            "curl -U admin:hunter2x http://x:8080",
            "Authorization: Bearer abc.def.ghi",
            "AUTHORIZATION=Basic dXNlcjpwYXNz",
            "stats auth admin:s3cr3t",
            "basic_auth user:pa55word",
            "--user=me:pw123 --bind 0.0.0.0:80",
            "paſſword: Zq60x-rotated",
            "the \u{212a}ennwort is geheim99",
            "contraseña: abc123xyz",
            "пароль: qwerty123",
            "hasło to tajne123",
            "mot de passe est Xy12345",
            "redis-cli -a mysql -pfoo1",
            "redis-cli -a sshpass -p s3cret host",
            "PWD is hunter2x",
            "DB_URL=postgres://u:pw@db:5432/x password x1y2z3w4",
            "listen 8080;",
            "- \"127.0.0.1:8080:80\"",
        ]
        .iter()
        .map(|s| (*s).to_string())
        .collect();
        let mut dirs = vec![
            std::path::PathBuf::from(root).join("secrets"),
            std::path::PathBuf::from(root).join("import"),
        ];
        while let Some(dir) = dirs.pop() {
            for e in std::fs::read_dir(&dir).expect("fixtures").flatten() {
                let p = e.path();
                if p.is_dir() {
                    dirs.push(p);
                } else if let Ok(text) = std::fs::read_to_string(&p) {
                    lines.extend(text.lines().map(String::from));
                }
            }
        }
        assert!(lines.len() > 500, "{} lines", lines.len());
        let mut masked = 0;
        for l in &lines {
            let want = redact_every_rule(l);
            masked += usize::from(want.1);
            assert_eq!(redact(l), want, "{l:?}");
        }
        assert!(masked > 20, "the fixtures hold secrets: {masked}");
        // words only Unicode case folding finds are still found
        assert!(redact("paſſword: Zq60x-rotated").1);
        assert!(redact("the \u{212a}ennwort is geheim99").1);
        assert!(redact("redis-cli -a mysql -pfoo1").0.ends_with("-p***"));
    }

    #[test]
    fn a_password_named_in_a_comment_is_masked_when_it_looks_like_one() {
        assert_eq!(
            redact("listen(9100) // admin password Zq60x is rotated monthly").0,
            "listen(9100) // admin password *** is rotated monthly"
        );
        for kept in [
            "the password reset page on 8443",
            "password 8 characters minimum",
            "password rotation 90d",
            "password policy v2",
        ] {
            assert_eq!(redact(kept), (kept.to_string(), false), "{kept}");
        }
    }

    fn r(s: &str) -> String {
        redact(s).0
    }

    #[test]
    fn url_passwords_are_masked() {
        let (s, c) = redact("DATABASE_URL=postgresql://odoo:s3cret@db:5432/odoo");
        assert_eq!(s, "DATABASE_URL=postgresql://odoo:***@db:5432/odoo");
        assert!(c);
        assert_eq!(r("redis://:pw@redis:6379/0"), "redis://:***@redis:6379/0");
        assert_eq!(
            r("dsn: https://9f1c2b7e4d@o4471.ingest.sentry.io/22"),
            "dsn: https://***@o4471.ingest.sentry.io/22"
        );
        assert_eq!(
            r("DSN=app:Sup3r@tcp(db:3306)/shop"),
            "DSN=app:***@tcp(db:3306)/shop"
        );
    }

    #[test]
    fn secret_assignments_and_flags_are_masked() {
        assert_eq!(r("POSTGRES_PASSWORD=hunter2"), "POSTGRES_PASSWORD=***");
        assert_eq!(r("api_token: 'abc'"), "api_token: '***'");
        assert_eq!(
            r("mysql --password=abc -h db"),
            "mysql --password=*** -h db"
        );
        assert_eq!(
            r("command: redis-server --requirepass Qe4lantern77 --appendonly yes"),
            "command: redis-server --requirepass *** --appendonly yes"
        );
        assert_eq!(
            r(r#"command: ["redis-server", "--requirepass", "Qe4lantern77"]"#),
            r#"command: ["redis-server", "--requirepass", "***"]"#
        );
        assert_eq!(r("redis-cli -a Qe4lantern77 ping"), "redis-cli -a *** ping");
        assert_eq!(
            r("mysql -uroot -pPr1ntSh0p shop"),
            "mysql -uroot -p*** shop"
        );
        assert_eq!(r("mysql -h db -p 3306"), "mysql -h db -p 3306");
        assert_eq!(
            r("curl -u admin:s3cr3t http://x/"),
            "curl -u admin:*** http://x/"
        );
        assert_eq!(
            r("    stats auth opsadmin:Orb1tHaproxy9"),
            "    stats auth opsadmin:***"
        );
    }

    #[test]
    fn headers_and_token_shapes_are_masked() {
        assert_eq!(
            r(r#"curl -H "Authorization: Bearer sk_live_51QfinchDemoKey9x" https://x"#),
            r#"curl -H "Authorization: Bearer ***" https://x"#
        );
        assert_eq!(
            r("curl -H 'Authorization: Basic cHJpbnQ6c2hvcDEyMw==' http://x"),
            "curl -H 'Authorization: Basic ***' http://x"
        );
        assert_eq!(
            r("the key AKIAQ7RXW3M5FINCH2ZB (rotate)"),
            "the key *** (rotate)"
        );
        assert_eq!(
            r(r#"consul_encrypt_key: "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=""#),
            r#"consul_encrypt_key: "***""#
        );
        assert_eq!(
            r("ssh_key: ~/.ssh/id_ed25519"),
            "ssh_key: ~/.ssh/id_ed25519"
        );
    }

    #[test]
    fn prose_passwords_in_several_languages() {
        assert_eq!(r("- **Password:** Tr0ub4dor"), "- **Password:** ***");
        assert_eq!(
            r("Benutzer: ww_app, Passwort: Kw7-Lager-2024"),
            "Benutzer: ww_app, Passwort: ***"
        );
        assert_eq!(r("- contraseña: Villa-Pg-2025"), "- contraseña: \"***\"");
        assert_eq!(
            r("dont le mot de passe est `Tele-Kafka-5521` — à déplacer"),
            "dont le mot de passe est `***` — à déplacer"
        );
        assert_eq!(
            r("Пароль администратора ClickHouse: `Ch-Nsk-0042`."),
            "Пароль администратора ClickHouse: `***`."
        );
        assert_eq!(r("The password is required."), "The password is required.");
        assert_eq!(
            r("    command: [\"postgres\", \"-c\", \"password_encryption=scram-sha-256\"]"),
            "    command: [\"postgres\", \"-c\", \"password_encryption=scram-sha-256\"]"
        );
    }

    #[test]
    fn yaml_stays_yaml() {
        // Regression: `POSTGRES_PASSWORD: ***` is an alias to an unknown anchor, and the
        // whole compose block (with its `5432:5432`) failed to parse.
        assert_eq!(
            r("      POSTGRES_PASSWORD: Hx7corralTide"),
            "      POSTGRES_PASSWORD: \"***\""
        );
        assert_eq!(
            r("  - {name: X, password: hunter2}"),
            "  - {name: X, password: \"***\"}"
        );
        assert_eq!(
            r("      - POSTGRES_PASSWORD=x1"),
            "      - POSTGRES_PASSWORD=***"
        );
    }

    #[test]
    fn plain_text_and_references_are_kept() {
        for s in [
            "WEB_PORT=8000",
            "postgresql://odoo@db:5432/odoo",
            "DB_PASSWORD=${DB_PASSWORD}",
            "http://localhost:8080/health",
            "git clone ssh://git@github.com/x/y",
            "| System | User | Password |",
            "password: \"{{ vault_pg }}\"",
            "      - POSTGRES_PASSWORD_FILE=/run/secrets/pg",
            "docker run -p 3306:3306 mysql:8",
            r#"<Connector port="8009" secretRequired="false" />"#,
        ] {
            assert_eq!(redact(s), (s.to_string(), false), "{s}");
        }
    }

    #[test]
    fn multi_line_rules() {
        let t = "| System | User | Password |\n|---|---|---|\n| dash | admin | devbox-Qubit-19 |\n\nenv:\n  - name: DB_PASSWORD\n    value: \"St0refront\"\n  - name: PORT\n    value: \"8080\"\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\n";
        let red = redact_text(t);
        assert!(!red.text.contains("devbox-Qubit-19"), "{}", red.text);
        assert!(!red.text.contains("St0refront"), "{}", red.text);
        assert!(!red.text.contains("MIIEow"), "{}", red.text);
        assert!(red.text.contains("value: \"8080\""), "{}", red.text);
        assert_eq!(red.text.lines().count(), t.lines().count());
        let lines: Vec<usize> = red.at.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [3, 7, 11]);
    }
}
