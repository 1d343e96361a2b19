//! Values as the merge compares them: the same spec written by hand and exported by the
//! registry must compare equal. A TOML date and its RFC 3339 string are one value (the
//! registry stores dates as strings); an inline table, a `[table]` and dotted keys are one
//! table; a reservation's `ports` is its port set however it is written (`8010`,
//! `"8010"`, `[8010]`).

use std::collections::BTreeMap;

use portolan_model::PortSet;
use toml_edit::{Item, Value};

/// A normalised value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Norm {
    /// A string, a date or a date-time (as RFC 3339 text).
    Str(String),
    /// An integer.
    Int(i64),
    /// A float, as written by Rust (`0.5`).
    Float(String),
    /// A boolean.
    Bool(bool),
    /// An array, in order.
    Array(Vec<Norm>),
    /// A table (inline, standard, dotted, or an element of an array of tables).
    Table(BTreeMap<String, Norm>),
}

impl Norm {
    /// The table inside, if this is one.
    pub fn as_table(&self) -> Option<&BTreeMap<String, Norm>> {
        match self {
            Norm::Table(t) => Some(t),
            _ => None,
        }
    }

    /// Short text for messages (`8003`, `"why"`, `{…}`).
    pub fn short(&self) -> String {
        match self {
            Norm::Str(s) => format!("{s:?}"),
            Norm::Int(i) => i.to_string(),
            Norm::Float(f) => f.clone(),
            Norm::Bool(b) => b.to_string(),
            Norm::Array(a) => {
                let parts: Vec<String> = a.iter().map(Norm::short).collect();
                let s = format!("[{}]", parts.join(", "));
                if s.len() > 60 { "[…]".into() } else { s }
            }
            Norm::Table(_) => "{…}".into(),
        }
    }
}

/// `Norm` of a value.
pub(crate) fn value(v: &Value) -> Norm {
    match v {
        Value::String(s) => Norm::Str(s.value().clone()),
        Value::Integer(i) => Norm::Int(*i.value()),
        Value::Float(f) => Norm::Float(f.value().to_string()),
        Value::Boolean(b) => Norm::Bool(*b.value()),
        Value::Datetime(d) => Norm::Str(d.value().to_string()),
        Value::Array(a) => Norm::Array(a.iter().map(value).collect()),
        Value::InlineTable(t) => {
            Norm::Table(t.iter().map(|(k, v)| (k.to_string(), value(v))).collect())
        }
    }
}

/// `Norm` of an item (`None` for an empty item).
pub(crate) fn item(i: &Item) -> Option<Norm> {
    match i {
        Item::None => None,
        Item::Value(v) => Some(value(v)),
        Item::Table(t) => Some(Norm::Table(
            t.iter()
                .filter_map(|(k, v)| Some((k.to_string(), item(v)?)))
                .collect(),
        )),
        Item::ArrayOfTables(a) => Some(Norm::Array(
            a.iter()
                .map(|t| {
                    Norm::Table(
                        t.iter()
                            .filter_map(|(k, v)| Some((k.to_string(), item(v)?)))
                            .collect(),
                    )
                })
                .collect(),
        )),
    }
}

/// A reservation's `ports` as its port set's text; anything else as it is.
pub(crate) fn reservation(n: Norm) -> Norm {
    let Norm::Table(mut t) = n else { return n };
    if let Some(p) = t.get("ports").and_then(port_set) {
        t.insert("ports".into(), Norm::Str(p.to_string()));
    }
    Norm::Table(t)
}

fn port_set(n: &Norm) -> Option<PortSet> {
    match n {
        Norm::Int(i) => u16::try_from(*i)
            .ok()
            .map(|p| PortSet::from_ranges([portolan_model::PortRange { lo: p, hi: p }])),
        Norm::Str(s) => s.parse().ok(),
        Norm::Array(a) => {
            let mut ranges = Vec::new();
            for x in a {
                ranges.extend(port_set(x)?.ranges().iter().copied());
            }
            Some(PortSet::from_ranges(ranges))
        }
        _ => None,
    }
}

/// The normalised root of a document: every top-level key, with the elements of the
/// top-level arrays the merge treats as sets normalised for comparison.
pub(crate) fn root(doc: &toml_edit::DocumentMut) -> BTreeMap<String, Norm> {
    doc.as_table()
        .iter()
        .filter_map(|(k, v)| {
            let mut n = item(v)?;
            if k == "reservations"
                && let Norm::Array(a) = n
            {
                n = Norm::Array(a.into_iter().map(reservation).collect());
            }
            Some((k.to_string(), n))
        })
        .collect()
}
