//! How a spec names a machine, so that `agent`, `check` and the other commands can tell
//! which host they run on without `--host`: [`HostName`] (what `gethostname` answers, short
//! or fully qualified) and [`MachineId`] (systemd's `/etc/machine-id`), both validated when
//! the spec is read, so a typo is a located error rather than a host never recognised.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

/// Longest host name: a DNS name's limit (the kernel's own host name is at most 64
/// characters, but a fully qualified name may be longer).
const MAX_HOST_NAME: usize = 253;
/// Longest DNS label.
const MAX_LABEL: usize = 63;
/// Hexadecimal digits of a machine id.
const MACHINE_ID_DIGITS: usize = 32;

/// A host name as `gethostname` or DNS spells it: dot-separated labels of letters, digits,
/// `-` and `_`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct HostName(String);

impl HostName {
    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Checks `text` and keeps it as written (comparisons decide about case).
    pub fn parse(text: &str) -> Result<HostName, String> {
        if text.is_empty() {
            return Err("a host name cannot be empty".into());
        }
        if text.len() > MAX_HOST_NAME {
            return Err(format!(
                "host name `{}…` is {} characters long; a host name has at most {MAX_HOST_NAME}",
                text.chars().take(24).collect::<String>(),
                text.len()
            ));
        }
        if let Some(c) = text
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            return Err(format!(
                "host name `{text}` has the character {c:?}; a host name is letters, digits, `-`, `_` and dots"
            ));
        }
        if text.ends_with('.') {
            return Err(format!(
                "host name `{text}` ends with a dot; write it without (`{}`), as `hostname` prints it",
                text.trim_end_matches('.')
            ));
        }
        if let Some(label) = text
            .split('.')
            .find(|l| l.is_empty() || l.len() > MAX_LABEL)
        {
            return Err(if label.is_empty() {
                format!(
                    "host name `{text}` has an empty label (two dots in a row, or a leading dot)"
                )
            } else {
                format!(
                    "host name `{text}` has a label of {} characters; a label has at most {MAX_LABEL}",
                    label.len()
                )
            });
        }
        Ok(HostName(text.to_string()))
    }

    /// The first label (`web-1` of `web-1.prod.example`).
    pub fn short(&self) -> &str {
        short_name(&self.0)
    }
}

/// The first label of a host name (`web-1` of `web-1.prod.example`).
pub fn short_name(name: &str) -> &str {
    name.split('.').next().unwrap_or(name)
}

impl fmt::Display for HostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

struct HostNameVisitor;

impl Visitor<'_> for HostNameVisitor {
    type Value = HostName;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a host name such as \"web-1\" or \"web-1.prod.example\"")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<HostName, E> {
        HostName::parse(v).map_err(E::custom)
    }
}

impl<'de> Deserialize<'de> for HostName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(HostNameVisitor)
    }
}

impl JsonSchema for HostName {
    fn schema_name() -> Cow<'static, str> {
        "HostName".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A host name as `hostname` prints it, short or fully qualified: dot-separated labels of letters, digits, `-` and `_`.",
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_HOST_NAME,
            "pattern": "^[A-Za-z0-9_-]{1,63}(\\.[A-Za-z0-9_-]{1,63})*$"
        })
    }
}

/// A systemd machine id (`/etc/machine-id`): 32 lowercase hexadecimal digits, not all zero.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct MachineId(String);

impl MachineId {
    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Checks `text` (the file's content without its newline); the message says how to fix
    /// the usual mistakes (uppercase, the dashed UUID form, a truncated copy).
    pub fn parse(text: &str) -> Result<MachineId, String> {
        const WHERE: &str =
            "a machine id is the 32 lowercase hexadecimal digits of `cat /etc/machine-id`";
        let compact: String = text.chars().filter(|c| *c != '-').collect();
        let hex = |s: &str| s.chars().all(|c| c.is_ascii_hexdigit());
        if text.contains('-') && compact.len() == MACHINE_ID_DIGITS && hex(&compact) {
            return Err(format!(
                "machine id `{text}` is written as a UUID; {WHERE} (did you mean `{}`?)",
                compact.to_ascii_lowercase()
            ));
        }
        if let Some(c) = text.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Err(format!(
                "machine id `{text}` has the character {c:?}, which is not a hexadecimal digit; {WHERE}"
            ));
        }
        if text.len() != MACHINE_ID_DIGITS {
            return Err(format!(
                "machine id `{text}` has {} digits; {WHERE}",
                text.len()
            ));
        }
        if text.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(format!(
                "machine id `{text}` has uppercase digits; {WHERE} (did you mean `{}`?)",
                text.to_ascii_lowercase()
            ));
        }
        if text.chars().all(|c| c == '0') {
            return Err(format!(
                "machine id `{text}` is all zeros, which systemd never assigns; {WHERE}"
            ));
        }
        Ok(MachineId(text.to_string()))
    }
}

impl fmt::Display for MachineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

struct MachineIdVisitor;

impl Visitor<'_> for MachineIdVisitor {
    type Value = MachineId;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a machine id: 32 lowercase hexadecimal digits")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<MachineId, E> {
        MachineId::parse(v).map_err(E::custom)
    }
}

impl<'de> Deserialize<'de> for MachineId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(MachineIdVisitor)
    }
}

impl JsonSchema for MachineId {
    fn schema_name() -> Cow<'static, str> {
        "MachineId".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A systemd machine id, as in /etc/machine-id: 32 lowercase hexadecimal digits.",
            "type": "string",
            "pattern": "^[0-9a-f]{32}$"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_ids() {
        assert!(MachineId::parse("3d1219c7c4c5404aaa1f6d2a48adfda4").is_ok());
        let e = MachineId::parse("3D1219C7C4C5404AAA1F6D2A48ADFDA4").unwrap_err();
        assert!(
            e.contains("did you mean `3d1219c7c4c5404aaa1f6d2a48adfda4`"),
            "{e}"
        );
        let e = MachineId::parse("3d1219c7-c4c5-404a-aa1f-6d2a48adfda4").unwrap_err();
        assert!(
            e.contains("UUID") && e.contains("`3d1219c7c4c5404aaa1f6d2a48adfda4`"),
            "{e}"
        );
        let e = MachineId::parse("3d1219c7c4c5404aaa1f6d2a48adfda").unwrap_err();
        assert!(e.contains("has 31 digits"), "{e}");
        let e = MachineId::parse("3d1219c7c4c5404aaa1f6d2a48adfdaz").unwrap_err();
        assert!(e.contains("'z'"), "{e}");
        let e = MachineId::parse("3d1219c7c4c5404aaa1f6d2a48adfda4\n").unwrap_err();
        assert!(e.contains("'\\n'"), "{e}");
        let e = MachineId::parse(&"0".repeat(32)).unwrap_err();
        assert!(e.contains("all zeros"), "{e}");
        assert!(MachineId::parse("").unwrap_err().contains("has 0 digits"));
    }

    #[test]
    fn host_names() {
        for ok in ["web-1", "web-1.prod.example", "WEB_2", "a"] {
            assert!(HostName::parse(ok).is_ok(), "{ok}");
        }
        for (bad, says) in [
            ("", "empty"),
            ("web 1", "' '"),
            ("web-1.", "ends with a dot"),
            ("web..example", "empty label"),
            (".web", "empty label"),
            ("é", "'é'"),
        ] {
            let e = HostName::parse(bad).unwrap_err();
            assert!(e.contains(says), "{bad:?}: {e}");
        }
        assert!(
            HostName::parse(&"a".repeat(64))
                .unwrap_err()
                .contains("label of 64")
        );
        assert!(
            HostName::parse(&["a"; 130].join("."))
                .unwrap_err()
                .contains("at most 253")
        );
        assert_eq!(HostName::parse("web-1.prod").unwrap().short(), "web-1");
    }
}
