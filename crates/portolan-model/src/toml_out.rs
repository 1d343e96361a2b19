//! Writing spec TOML text for the drafts: the one place that quotes keys and strings, and
//! lays out arrays, inline tables and comment text. `discover` (`init --from-discover`,
//! `discover --write`), `import` (Markdown) and `init --from-host` all write through it, so
//! they share one escaping policy.
//!
//! Strings are always TOML *basic* strings (`"…"`, escapes for `"`, `\` and control
//! characters), never the literal or multi-line forms a general-purpose writer would pick
//! for a string holding a quote or a newline: a draft's lines stay one value per line and
//! their look does not depend on what a value holds. The encoding is `toml_writer`'s, the
//! encoder under `toml`/`toml_edit`.

use std::fmt;

use toml_writer::{ToTomlKey as _, ToTomlValue as _, TomlKeyBuilder, TomlStringBuilder};

/// `s` as a TOML basic string (`"a\"b"`), whatever it holds.
pub fn string(s: &str) -> String {
    TomlStringBuilder::new(s).as_basic().to_toml_value()
}

/// `s` as a TOML key: bare when it may be (`web-1`), else a basic string (`"a b"`).
pub fn key(s: &str) -> String {
    let k = TomlKeyBuilder::new(s);
    k.as_unquoted()
        .unwrap_or_else(|| k.as_basic())
        .to_toml_key()
}

/// An array of values already written as TOML (`[1, "a"]`; `[]` when empty).
pub fn array<I>(values: I) -> String
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    let mut out = String::from("[");
    for (i, v) in values.into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(v.as_ref());
    }
    out.push(']');
    out
}

/// An array of strings (`["a", "b"]`).
pub fn string_array<I>(values: I) -> String
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    array(values.into_iter().map(|v| string(v.as_ref())))
}

/// Text fit for a `#` comment: control characters (other than tab) become `?`, so the
/// comment cannot end its line early.
pub fn comment_text(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() && c != '\t' { '?' } else { c })
        .collect()
}

/// The first `max` characters of `s` (cut on a character boundary, before any escaping,
/// so the written string never ends inside an escape).
pub fn truncate(s: &str, max: usize) -> &str {
    s.char_indices().nth(max).map_or(s, |(i, _)| &s[..i])
}

/// An inline table built field by field, written `{ k = v, … }` (`{ }` when empty).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InlineTable {
    fields: Vec<String>,
}

impl InlineTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `key = value`, `value` already written as TOML ([`string`], a number, an array).
    pub fn value(&mut self, key: &str, value: impl fmt::Display) -> &mut Self {
        self.fields.push(format!("{} = {value}", self::key(key)));
        self
    }

    /// Adds `key = "text"`.
    pub fn string(&mut self, key: &str, text: &str) -> &mut Self {
        self.value(key, string(text))
    }

    /// Whether no field was added.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The fields alone, `k = v, …` (for a caller that writes the braces itself).
    pub fn fields(&self) -> String {
        self.fields.join(", ")
    }
}

impl fmt::Display for InlineTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{ {} }}", self.fields())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Reads `v = <value>` back with `toml`.
    fn parse_value(value: &str) -> toml::Value {
        let doc: toml::Table =
            toml::from_str(&format!("v = {value}\n")).unwrap_or_else(|e| panic!("{e}\n{value}"));
        doc["v"].clone()
    }

    #[test]
    fn strings_are_basic_strings_even_with_quotes_and_newlines() {
        assert_eq!(string("a\"b\\c\n"), r#""a\"b\\c\n""#);
        assert_eq!(string("it's"), r#""it's""#);
        assert_eq!(string("tab\there"), r#""tab\there""#);
        assert_eq!(string("\u{1}"), r#""\u0001""#);
        assert_eq!(string(""), r#""""#);
    }

    #[test]
    fn keys_are_bare_when_they_may_be() {
        assert_eq!(key("tcp-8080"), "tcp-8080");
        assert_eq!(key("web_1"), "web_1");
        assert_eq!(key("a b"), r#""a b""#);
        assert_eq!(key("a.b"), r#""a.b""#);
        assert_eq!(key(""), r#""""#);
    }

    #[test]
    fn tables_and_arrays_lay_out_like_the_drafts() {
        let mut t = InlineTable::new();
        t.value("port", 8080).string("bind", "0.0.0.0");
        assert_eq!(t.to_string(), r#"{ port = 8080, bind = "0.0.0.0" }"#);
        assert_eq!(string_array(["a", "b"]), r#"["a", "b"]"#);
        assert_eq!(array(Vec::<String>::new()), "[]");
        let v = parse_value(&t.to_string());
        assert_eq!(v["bind"].as_str(), Some("0.0.0.0"));
    }

    #[test]
    fn truncation_cuts_on_a_character_boundary() {
        assert_eq!(truncate("aé\"b", 2), "aé");
        assert_eq!(truncate("ab", 5), "ab");
        assert_eq!(comment_text("a\nb\tc"), "a?b\tc");
    }

    /// Any text, control characters included (`any::<String>()` leaves them out).
    fn text() -> impl Strategy<Value = String> {
        proptest::collection::vec(any::<char>(), 0..40).prop_map(String::from_iter)
    }

    proptest! {
        /// Any string written by the writer parses back equal with `toml`.
        #[test]
        fn any_string_round_trips(s in text()) {
            let back = parse_value(&string(&s));
            prop_assert_eq!(back.as_str(), Some(s.as_str()));
        }

        /// Any key written by the writer names the same key when parsed back.
        #[test]
        fn any_key_round_trips(k in text(), s in text()) {
            let text = format!("{} = {}\n", key(&k), string(&s));
            let doc: toml::Table = toml::from_str(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
            prop_assert_eq!(doc.get(&k).and_then(toml::Value::as_str), Some(s.as_str()));
        }

        /// A string array parses back to the same strings, in order.
        #[test]
        fn string_arrays_round_trip(v in proptest::collection::vec(text(), 0..5)) {
            let parsed = parse_value(&string_array(&v));
            let back: Vec<&str> = parsed.as_array().map(|a| a.iter().filter_map(toml::Value::as_str).collect()).unwrap_or_default();
            prop_assert_eq!(back, v.iter().map(String::as_str).collect::<Vec<_>>());
        }
    }
}
