//! Serde helpers for the spec: [`Sp`] (a value with its byte span), [`List`] (one value or an
//! array of them) and [`ShortOr`] (a shorthand scalar or a full table), all schema-aware.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, Range};

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

/// A value and the byte span it was written at (compared by value only).
#[derive(Clone, Debug)]
pub struct Sp<T> {
    /// The value.
    pub value: T,
    /// Byte span in its file (`0..0` when not from a file).
    pub span: Range<usize>,
}

impl<T> Sp<T> {
    /// A value with a span.
    pub fn new(value: T, span: Range<usize>) -> Self {
        Self { value, span }
    }
}

impl<T: Default> Default for Sp<T> {
    fn default() -> Self {
        Sp {
            value: T::default(),
            span: 0..0,
        }
    }
}

impl<T> Deref for Sp<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: PartialEq> PartialEq for Sp<T> {
    fn eq(&self, o: &Self) -> bool {
        self.value == o.value
    }
}
impl<T: Eq> Eq for Sp<T> {}
impl<T: PartialOrd> PartialOrd for Sp<T> {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        self.value.partial_cmp(&o.value)
    }
}
impl<T: Ord> Ord for Sp<T> {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.value.cmp(&o.value)
    }
}
impl<T: std::hash::Hash> std::hash::Hash for Sp<T> {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.value.hash(h);
    }
}
impl std::borrow::Borrow<str> for Sp<String> {
    fn borrow(&self) -> &str {
        &self.value
    }
}

thread_local! {
    /// Offset added to every span deserialized on this thread: a chunk of a large file is
    /// parsed on its own, and its spans must still point into the whole file.
    static SPAN_BASE: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Runs `f` with spans shifted by `base` (see `chunk`).
pub(crate) fn with_span_base<R>(base: usize, f: impl FnOnce() -> R) -> R {
    let old = SPAN_BASE.with(|b| b.replace(base));
    let r = f();
    SPAN_BASE.with(|b| b.set(old));
    r
}

// The protocol `toml` uses to hand out spans (see `serde_spanned`).
const SPANNED_NAME: &str = "$__serde_spanned_private_Spanned";
const START_FIELD: &str = "$__serde_spanned_private_start";
const END_FIELD: &str = "$__serde_spanned_private_end";
const VALUE_FIELD: &str = "$__serde_spanned_private_value";
static SPANNED_FIELDS: [&str; 3] = [START_FIELD, END_FIELD, VALUE_FIELD];

struct SpVisitor<T>(PhantomData<T>);

/// A key of the span protocol, read without allocating (a `Cow<str>` key deserializes to an
/// owned `String`: three allocations per spanned value, a tenth of a large spec's parse).
enum SpField {
    Start,
    End,
    Value,
}

struct SpFieldVisitor;

impl Visitor<'_> for SpFieldVisitor {
    type Value = SpField;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a span field")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<SpField, E> {
        match v {
            START_FIELD => Ok(SpField::Start),
            END_FIELD => Ok(SpField::End),
            VALUE_FIELD => Ok(SpField::Value),
            other => Err(de::Error::unknown_field(other, &SPANNED_FIELDS)),
        }
    }
}

impl<'de> Deserialize<'de> for SpField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_identifier(SpFieldVisitor)
    }
}

macro_rules! forward_unspanned {
    ($($name:ident: $ty:ty),*) => {$(
        fn $name<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
            T::deserialize(v.into_deserializer()).map(|value| Sp { value, span: 0..0 })
        }
    )*};
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for SpVisitor<T> {
    type Value = Sp<T>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a value")
    }
    // Values that reach us without the span protocol (a shorthand inside `List`) get an
    // empty span; the resolver then uses the span of the enclosing value.
    forward_unspanned!(visit_str: &str, visit_i64: i64, visit_u64: u64, visit_bool: bool, visit_f64: f64);
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        T::deserialize(v.into_deserializer()).map(|value| Sp { value, span: 0..0 })
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut start, mut end, mut value) = (None, None, None);
        while let Some(key) = map.next_key::<SpField>()? {
            match key {
                SpField::Start => start = Some(map.next_value::<usize>()?),
                SpField::End => end = Some(map.next_value::<usize>()?),
                SpField::Value => value = Some(map.next_value::<T>()?),
            }
        }
        match (start, end, value) {
            (Some(s), Some(e), Some(value)) => {
                let base = SPAN_BASE.with(std::cell::Cell::get);
                Ok(Sp {
                    value,
                    span: s + base..e + base,
                })
            }
            _ => Err(de::Error::custom("incomplete spanned value")),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Sp<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_struct(SPANNED_NAME, &SPANNED_FIELDS, SpVisitor(PhantomData))
    }
}

impl<T: Serialize> Serialize for Sp<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(s)
    }
}

impl<T: JsonSchema> JsonSchema for Sp<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        T::json_schema(g)
    }
}

/// One value or an array of values (`hosts = "app1"` or `hosts = ["app1", "app2"]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct List<T>(pub Vec<T>);

impl<T> Default for List<T> {
    fn default() -> Self {
        List(Vec::new())
    }
}

impl<T> Deref for List<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

struct ListVisitor<T>(PhantomData<T>);

macro_rules! forward_scalar {
    ($($name:ident: $ty:ty),*) => {$(
        fn $name<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
            T::deserialize(v.into_deserializer()).map(|x| List(vec![x]))
        }
    )*};
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for ListVisitor<T> {
    type Value = List<T>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a value or an array of values")
    }
    forward_scalar!(visit_str: &str, visit_i64: i64, visit_u64: u64, visit_bool: bool, visit_f64: f64);
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        T::deserialize(v.into_deserializer()).map(|x| List(vec![x]))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut v = Vec::new();
        while let Some(x) = seq.next_element()? {
            v.push(x);
        }
        Ok(List(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(|x| List(vec![x]))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ListVisitor(PhantomData))
    }
}

impl<T: JsonSchema> JsonSchema for List<T> {
    fn schema_name() -> Cow<'static, str> {
        format!("List_of_{}", T::schema_name()).into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        let item = g.subschema_for::<T>();
        json_schema!({"anyOf": [item, {"type": "array", "items": item}]})
    }
}

/// A shorthand (`S`: a scalar or array) or a full table (`T`).
#[derive(Clone, Debug)]
pub enum ShortOr<S, T> {
    /// Written as a scalar or array.
    Short(S),
    /// Written as a table.
    Table(T),
}

struct ShortVisitor<S, T>(PhantomData<(S, T)>);

macro_rules! forward_short {
    ($($name:ident: $ty:ty),*) => {$(
        fn $name<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
            S::deserialize(v.into_deserializer()).map(ShortOr::Short)
        }
    )*};
}

impl<'de, S: Deserialize<'de>, T: Deserialize<'de>> Visitor<'de> for ShortVisitor<S, T> {
    type Value = ShortOr<S, T>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a value or a table")
    }
    forward_short!(visit_str: &str, visit_i64: i64, visit_u64: u64, visit_bool: bool);
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        S::deserialize(v.into_deserializer()).map(ShortOr::Short)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        S::deserialize(SeqAccessDeserializer::new(seq)).map(ShortOr::Short)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(ShortOr::Table)
    }
}

impl<'de, S: Deserialize<'de>, T: Deserialize<'de>> Deserialize<'de> for ShortOr<S, T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ShortVisitor(PhantomData))
    }
}

impl<S: JsonSchema, T: JsonSchema> JsonSchema for ShortOr<S, T> {
    fn schema_name() -> Cow<'static, str> {
        format!("{}_or_{}", S::schema_name(), T::schema_name()).into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        let s = g.subschema_for::<S>();
        let t = g.subschema_for::<T>();
        json_schema!({"anyOf": [s, t]})
    }
}

/// A small map kept as a vector of pairs in file order (`bindings`, `blocks`, `env`): a
/// `BTreeMap` allocates an 11-entry node even for one entry, which costs hundreds of bytes per
/// service on a 100,000-service spec. TOML already rejects duplicate keys.
#[derive(Clone, Debug)]
pub struct Pairs<K, V>(pub Vec<(K, V)>);

impl<K, V> Default for Pairs<K, V> {
    fn default() -> Self {
        Pairs(Vec::new())
    }
}

impl<K: std::borrow::Borrow<str>, V> Pairs<K, V> {
    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&V> {
        self.0
            .iter()
            .find(|(k, _)| k.borrow() == key)
            .map(|(_, v)| v)
    }

    /// Keys in file order.
    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.0.iter().map(|(k, _)| k)
    }

    /// Values in file order.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.0.iter().map(|(_, v)| v)
    }

    /// Pairs in file order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// Whether there is no entry.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl<'a, K, V> IntoIterator for &'a Pairs<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (K, V)>, fn(&'a (K, V)) -> (&'a K, &'a V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

struct PairsVisitor<K, V>(PhantomData<(K, V)>);

impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Visitor<'de> for PairsVisitor<K, V> {
    type Value = Pairs<K, V>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a table")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut v = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
        while let Some(kv) = map.next_entry()? {
            v.push(kv);
        }
        Ok(Pairs(v))
    }
}

impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for Pairs<K, V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(PairsVisitor(PhantomData))
    }
}

impl<K, V: JsonSchema> JsonSchema for Pairs<K, V> {
    fn schema_name() -> Cow<'static, str> {
        format!("Map_of_{}", V::schema_name()).into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        let v = g.subschema_for::<V>();
        json_schema!({"type": "object", "additionalProperties": v})
    }
}
