//! Compose variable interpolation: `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
//! `${VAR:?error}`, `${VAR?error}`, `${VAR:+alt}`, `${VAR+alt}`, `$VAR`, and `$$` for a
//! literal `$`. Defaults may nest (`${A:-${B:-80}}`).
//!
//! Unlike Docker Compose, an unset variable without a default is an error rather than an
//! empty string: an empty port is never what the author meant, and the run should say so.
//!
//! Variables' values may themselves refer to variables (a `.env` line `B=${A}${A}`): they
//! are expanded lazily, only when a scalar refers to them. Nesting (defaults inside
//! defaults, references inside values) stops at [`MAX_DEPTH`] levels and the output of one
//! scalar at [`MAX_OUTPUT`] bytes, so a few hundred hostile bytes cannot expand into
//! gigabytes or overflow the stack.

/// How deep `${…}` defaults and variable references may nest.
pub const MAX_DEPTH: usize = 16;
/// The most bytes one scalar may expand to.
pub const MAX_OUTPUT: usize = 64 * 1024;

use std::collections::BTreeMap;
use std::ops::Range;

/// Text after interpolation, and which output bytes came from which variable.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Interpolated {
    /// The resulting text.
    pub text: String,
    /// Output ranges that a `${VAR…}` expanded to, outermost first.
    pub spans: Vec<(Range<usize>, String)>,
}

impl Interpolated {
    /// The variable the output range `r` came from, if any.
    pub fn variable(&self, r: &Range<usize>) -> Option<&str> {
        self.spans
            .iter()
            .find(|(s, _)| s.start < r.end.max(r.start + 1) && r.start < s.end.max(s.start + 1))
            .map(|(_, v)| v.as_str())
    }
}

/// Why interpolation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Error {
    /// `${VAR}` / `$VAR` with `VAR` not set.
    Unset(String),
    /// `${VAR:?message}` with `VAR` unset (or empty).
    Required(String, String),
    /// `${` without `}`, or a bad variable name.
    Syntax(String),
    /// Defaults or references nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// The expansion grew past [`MAX_OUTPUT`] bytes.
    TooLong,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Unset(v) => write!(f, "`${{{v}}}` is not set in .env beside the file"),
            Error::Required(v, m) if m.is_empty() => {
                write!(
                    f,
                    "`${{{v}}}` is required and not set in .env beside the file"
                )
            }
            Error::Required(v, m) => write!(f, "`${{{v}}}` is required: {m}"),
            Error::Syntax(s) => write!(f, "invalid interpolation `{s}`"),
            Error::TooDeep => write!(
                f,
                "variables nest deeper than {MAX_DEPTH} levels (defaults or references); not expanded"
            ),
            Error::TooLong => write!(
                f,
                "variables expand to more than {MAX_OUTPUT} bytes; not expanded"
            ),
        }
    }
}

/// Interpolates `s` against `vars` (whose values may refer to other variables).
pub(crate) fn interpolate(s: &str, vars: &BTreeMap<String, String>) -> Result<Interpolated, Error> {
    let mut budget = MAX_OUTPUT;
    interpolate_at(s, vars, 0, &mut budget)
}

/// [`interpolate`] at nesting `depth`, with `budget` bytes of output left.
fn interpolate_at(
    s: &str,
    vars: &BTreeMap<String, String>,
    depth: usize,
    budget: &mut usize,
) -> Result<Interpolated, Error> {
    if depth > MAX_DEPTH {
        return Err(Error::TooDeep);
    }
    let mut out = Interpolated::default();
    if !s.contains('$') {
        out.text = s.to_string();
        return Ok(out);
    }
    let b = s.as_bytes();
    let mut i = 0;
    let mut lit = 0;
    while i < b.len() {
        if b[i] != b'$' {
            i += 1;
            continue;
        }
        out.text.push_str(&s[lit..i]);
        match b.get(i + 1) {
            Some(b'$') => {
                out.text.push('$');
                i += 2;
            }
            Some(b'{') => {
                let end = closing_brace(s, i + 2)
                    .ok_or_else(|| Error::Syntax(s[i..].chars().take(40).collect()))?;
                braced(&s[i + 2..end], &s[i..=end], vars, &mut out, depth, budget)?;
                i = end + 1;
            }
            Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {
                let n = name_len(&s[i + 1..]);
                let name = &s[i + 1..i + 1 + n];
                let value = vars
                    .get(name)
                    .ok_or_else(|| Error::Unset(name.to_string()))?;
                let value = expand_value(value, vars, depth, budget)?;
                push_var(&mut out, name, &value, Vec::new());
                i += 1 + n;
            }
            _ => {
                out.text.push('$');
                i += 1;
            }
        }
        lit = i;
    }
    out.text.push_str(&s[lit..]);
    spend(budget, out.text.len())?;
    Ok(out)
}

/// Takes `n` bytes from the output budget.
fn spend(budget: &mut usize, n: usize) -> Result<(), Error> {
    *budget = budget.checked_sub(n).ok_or(Error::TooLong)?;
    Ok(())
}

/// A variable's value with the variables it refers to expanded (one level deeper).
fn expand_value(
    value: &str,
    vars: &BTreeMap<String, String>,
    depth: usize,
    budget: &mut usize,
) -> Result<String, Error> {
    if value.contains('$') {
        Ok(interpolate_at(value, vars, depth + 1, budget)?.text)
    } else {
        spend(budget, value.len())?;
        Ok(value.to_string())
    }
}

/// Length of the variable name at the start of `s`.
fn name_len(s: &str) -> usize {
    s.bytes()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
        .count()
}

/// Index of the `}` closing a `${` whose body starts at `from` (nested `${…}` counted).
fn closing_brace(s: &str, from: usize) -> Option<usize> {
    let b = s.as_bytes();
    let mut depth = 1usize;
    let mut i = from;
    while i < b.len() {
        match b[i] {
            b'$' if b.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 2;
                continue;
            }
            b'$' if b.get(i + 1) == Some(&b'$') => {
                i += 2;
                continue;
            }
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Expands the body of one `${…}`.
fn braced(
    body: &str,
    whole: &str,
    vars: &BTreeMap<String, String>,
    out: &mut Interpolated,
    depth: usize,
    budget: &mut usize,
) -> Result<(), Error> {
    let n = name_len(body);
    let name = &body[..n];
    if n == 0 || body.as_bytes()[0].is_ascii_digit() {
        return Err(Error::Syntax(whole.to_string()));
    }
    let rest = &body[n..];
    let value = vars.get(name);
    let nonempty = value.is_some_and(|v| !v.is_empty());
    let (op, word) = [":-", ":?", ":+", "-", "?", "+"]
        .iter()
        .find_map(|op| rest.strip_prefix(op).map(|w| (*op, w)))
        .unwrap_or(("", rest));
    if op.is_empty() && !rest.is_empty() {
        return Err(Error::Syntax(whole.to_string()));
    }
    let use_value = match op {
        "" => Some(value.ok_or_else(|| Error::Unset(name.to_string()))?),
        ":-" | ":?" => value.filter(|_| nonempty),
        _ => value,
    };
    match (op, use_value) {
        ("" | ":-" | "-" | ":?" | "?", Some(v)) => {
            let v = expand_value(v, vars, depth, budget)?;
            push_var(out, name, &v, Vec::new());
        }
        (":?" | "?", None) => return Err(Error::Required(name.to_string(), word.to_string())),
        (":-" | "-", None) => {
            let inner = interpolate_at(word, vars, depth + 1, budget)?;
            push_var(out, name, &inner.text, inner.spans);
        }
        (":+", _) if nonempty => {
            let inner = interpolate_at(word, vars, depth + 1, budget)?;
            push_var(out, name, &inner.text, inner.spans);
        }
        ("+", Some(_)) => {
            let inner = interpolate_at(word, vars, depth + 1, budget)?;
            push_var(out, name, &inner.text, inner.spans);
        }
        _ => push_var(out, name, "", Vec::new()),
    }
    Ok(())
}

/// Appends a variable's expansion and records where it went.
fn push_var(out: &mut Interpolated, name: &str, text: &str, inner: Vec<(Range<usize>, String)>) {
    let start = out.text.len();
    out.text.push_str(text);
    out.spans.push((start..out.text.len(), name.to_string()));
    out.spans.extend(
        inner
            .into_iter()
            .map(|(r, v)| (r.start + start..r.end + start, v)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> BTreeMap<String, String> {
        [("WEB_PORT", "8080"), ("EMPTY", ""), ("HOST", "127.0.0.1")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn run(s: &str) -> Result<String, Error> {
        interpolate(s, &vars()).map(|i| i.text)
    }

    #[test]
    fn forms() {
        assert_eq!(run("${WEB_PORT}:80").as_deref(), Ok("8080:80"));
        assert_eq!(run("$WEB_PORT:80").as_deref(), Ok("8080:80"));
        assert_eq!(run("${NOPE:-81}").as_deref(), Ok("81"));
        assert_eq!(run("${EMPTY:-81}").as_deref(), Ok("81"));
        assert_eq!(run("${EMPTY-81}").as_deref(), Ok(""));
        assert_eq!(run("${NOPE-81}").as_deref(), Ok("81"));
        assert_eq!(run("${WEB_PORT:-81}").as_deref(), Ok("8080"));
        assert_eq!(run("${WEB_PORT:+x}").as_deref(), Ok("x"));
        assert_eq!(run("${NOPE:+x}").as_deref(), Ok(""));
        assert_eq!(run("${EMPTY+x}").as_deref(), Ok("x"));
        assert_eq!(run("$$WEB_PORT").as_deref(), Ok("$WEB_PORT"));
        assert_eq!(run("a$").as_deref(), Ok("a$"));
        assert_eq!(run("${NOPE:-${HOST:-x}}").as_deref(), Ok("127.0.0.1"));
        assert_eq!(run("é${HOST}é").as_deref(), Ok("é127.0.0.1é"));
    }

    #[test]
    fn errors() {
        assert_eq!(run("${NOPE}"), Err(Error::Unset("NOPE".into())));
        assert_eq!(run("$NOPE"), Err(Error::Unset("NOPE".into())));
        assert_eq!(
            run("${NOPE:?set it}"),
            Err(Error::Required("NOPE".into(), "set it".into()))
        );
        assert!(matches!(run("${EMPTY:?x}"), Err(Error::Required(..))));
        assert_eq!(run("${EMPTY?x}").as_deref(), Ok(""));
        assert!(matches!(run("${WEB_PORT"), Err(Error::Syntax(_))));
        assert!(matches!(run("${1A}"), Err(Error::Syntax(_))));
        assert!(matches!(run("${A B}"), Err(Error::Syntax(_))));
        assert_eq!(
            Error::Unset("WEB_PORT".into()).to_string(),
            "`${WEB_PORT}` is not set in .env beside the file"
        );
    }

    /// Regression (issue 12): `${A:-${A:-…}}` 5,941 levels deep overflowed the stack.
    #[test]
    fn deep_defaults_are_an_error_not_a_stack_overflow() {
        let n = 6000;
        let s = format!("{}80{}", "${A:-".repeat(n), "}".repeat(n));
        assert_eq!(run(&s), Err(Error::TooDeep));
        let ok = format!("{}80{}", "${A:-".repeat(MAX_DEPTH), "}".repeat(MAX_DEPTH));
        assert_eq!(run(&ok).as_deref(), Ok("80"));
    }

    /// Regression (issue 12): values referring to values (`B=${A}${A}`, `C=${B}${B}`, …)
    /// expanded to gigabytes; now expansion stops at the output cap.
    #[test]
    fn exponential_references_stop_at_the_output_cap() {
        let mut vars = BTreeMap::new();
        vars.insert("V0".to_string(), "x".repeat(64));
        for i in 1..12 {
            vars.insert(format!("V{i}"), format!("${{V{}}}", i - 1).repeat(8));
        }
        assert_eq!(
            interpolate("${V11}", &vars).map(|i| i.text.len()),
            Err(Error::TooLong)
        );
        assert_eq!(
            interpolate("${V2}", &vars).map(|i| i.text.len()),
            Ok(64 * 64)
        );
    }

    #[test]
    fn spans_name_the_variable() {
        let i = interpolate("${HOST}:${WEB_PORT:-1}:80", &vars()).expect("ok");
        assert_eq!(i.text, "127.0.0.1:8080:80");
        assert_eq!(i.variable(&(10..14)), Some("WEB_PORT"));
        assert_eq!(i.variable(&(0..9)), Some("HOST"));
        assert_eq!(i.variable(&(15..17)), None);
    }
}
