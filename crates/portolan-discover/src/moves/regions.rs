//! Where a port is written: the token a parser's evidence points at (`8000`,
//! `${API_PORT:-8000}`, `$PORT`), the whole-number occurrences of a port in a text, the
//! variables a token reads, and the variable a line defines (`API_PORT=8000`,
//! `ARG PORT=8000`, `ENV PORT 8000`, `export PORT=8000`, `Environment=PORT=8000`).

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

/// The token starting at byte `at`: a run of digits, a `${…}` expression (nested braces
/// counted) or `$NAME`. A leading quote is skipped. Empty when nothing port-like starts there.
pub(super) fn token_at(text: &str, at: usize) -> Range<usize> {
    let b = text.as_bytes();
    let mut i = at;
    if matches!(b.get(i), Some(b'"' | b'\'')) {
        i += 1;
    }
    match b.get(i) {
        Some(c) if c.is_ascii_digit() => {
            let end = i + b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
            i..end
        }
        Some(b'$') if b.get(i + 1) == Some(&b'{') => {
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                match b[j] {
                    b'$' if b.get(j + 1) == Some(&b'{') => {
                        depth += 1;
                        j += 1;
                    }
                    b'}' => {
                        depth -= 1;
                        if depth == 0 {
                            return i..j + 1;
                        }
                    }
                    b'\n' => break,
                    _ => {}
                }
                j += 1;
            }
            i..i
        }
        Some(b'$') => {
            let n = b[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                .count();
            i..i + 1 + n
        }
        _ => i..i,
    }
}

/// Byte offsets of `needle` in `text` as a whole number: not inside `18000`, `80001`,
/// `v8000`, `8000.5` or `0x8000`.
pub(super) fn occurrences(text: &str, needle: &str) -> Vec<usize> {
    let b = text.as_bytes();
    memchr::memmem::find_iter(b, needle.as_bytes())
        .filter(|&start| {
            let end = start + needle.len();
            let before = start.checked_sub(1).and_then(|i| b.get(i)).copied();
            let after = b.get(end).copied();
            !(before.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'.')
                || after.is_some_and(|c| c.is_ascii_alphanumeric())
                || (after == Some(b'.') && b.get(end + 1).is_some_and(u8::is_ascii_digit)))
        })
        .collect()
}

static VAR_REF: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)").expect("static regex"));

/// The variables a token reads (`API_PORT` in `${API_PORT:-8000}`).
pub(super) fn variables(token: &str) -> Vec<String> {
    VAR_REF
        .captures_iter(token)
        .filter_map(|c| c.get(1).map(|m| m.as_str().to_string()))
        .collect()
}

static DEFINITION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?:^|[\s;"'-])(?:export\s+|ENV\s+|ARG\s+|Environment=\s*)?["']?([A-Za-z_][A-Za-z0-9_]*)["']?(?:\s*=\s*|:\s+|\s+)["']?$"#,
    )
    .expect("static regex")
});

/// The variable whose value starts right at the end of `before` (the text of the line up to
/// a number): `API_PORT=` → `API_PORT`, `ENV PORT ` → `PORT`, `PORT: "` → `PORT`.
pub(super) fn defined_variable(before: &str) -> Option<String> {
    let c = DEFINITION.captures(before)?;
    let name = c.get(1)?.as_str();
    // keywords that read like `NAME ` but define nothing
    (!matches!(
        name,
        "EXPOSE" | "listen" | "server" | "port" | "ports" | "PORT_RANGE"
    ))
    .then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_digits_or_a_whole_expression() {
        let t = r#"- "127.0.0.1:${API_PORT:-${X:-8000}}:8000" $PORT 9"#;
        let at = t.find('$').expect("$");
        assert_eq!(&t[token_at(t, at)], "${API_PORT:-${X:-8000}}");
        assert_eq!(&t[token_at(t, t.rfind(":8000").expect(":") + 1)], "8000");
        assert_eq!(&t[token_at(t, t.find("$PORT").expect("$PORT"))], "$PORT");
        assert_eq!(token_at(t, 0), 0..0);
        assert_eq!(&t[token_at(t, 2)], "127", "a quote is skipped");
        assert_eq!(token_at("${unclosed", 0), 0..0);
    }

    #[test]
    fn whole_numbers_only() {
        let t = "18000 80001 8000.5 v8000 0x8000 8000 :8000/tcp 8000.";
        let got: Vec<&str> = occurrences(t, "8000")
            .iter()
            .map(|&o| &t[o - 1..o + 4])
            .collect();
        assert_eq!(got, vec![" 8000", ":8000", " 8000"]);
    }

    #[test]
    fn definitions_name_their_variable() {
        for (line, want) in [
            ("API_PORT=", Some("API_PORT")),
            ("ARG PORT=", Some("PORT")),
            ("ENV PORT ", Some("PORT")),
            ("export WEB_PORT=\"", Some("WEB_PORT")),
            ("Environment=PORT=", Some("PORT")),
            ("      PORT: ", Some("PORT")),
            ("      - PORT=", Some("PORT")),
            ("EXPOSE ", None),
            ("listen ", None),
            ("proxy_pass http://api:", None),
            ("server api:", None),
        ] {
            assert_eq!(defined_variable(line).as_deref(), want, "{line}");
        }
        assert_eq!(variables("${A:-${B_2:-1}}$C"), vec!["A", "B_2", "C"]);
    }
}
