//! Ports and port ranges: parsing (`8069`, `"8069"`, `"5000-5399"`, `"5401-5431, 5433-5499"`),
//! validation (1–65535, no inverted ranges) and set arithmetic used by overlap checks.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// An inclusive range of ports, `lo..=hi`, with `1 <= lo <= hi <= 65535`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortRange {
    /// First port.
    pub lo: u16,
    /// Last port (inclusive).
    pub hi: u16,
}

/// Why a port or range failed to parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    /// Not a number.
    #[error("`{0}` is not a port number (expected 1-65535)")]
    NotANumber(String),
    /// Outside 1–65535.
    #[error("port {0} is out of range (expected 1-65535)")]
    OutOfRange(i64),
    /// `hi < lo`.
    #[error("range {lo}-{hi} is inverted (did you mean {hi}-{lo}?)")]
    Inverted {
        /// given first port
        lo: u16,
        /// given last port
        hi: u16,
    },
    /// Empty text.
    #[error("empty port range")]
    Empty,
}

impl PortRange {
    /// A single port.
    pub const fn single(port: u16) -> Self {
        Self { lo: port, hi: port }
    }

    /// `lo..=hi`, checked.
    pub fn new(lo: u16, hi: u16) -> Result<Self, PortError> {
        if lo == 0 {
            return Err(PortError::OutOfRange(0));
        }
        if hi < lo {
            return Err(PortError::Inverted { lo, hi });
        }
        Ok(Self { lo, hi })
    }

    /// Number of ports.
    pub fn len(&self) -> u32 {
        u32::from(self.hi) - u32::from(self.lo) + 1
    }

    /// Never empty; present for clippy's `len_without_is_empty`.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Whether `port` lies inside.
    pub fn contains(&self, port: u16) -> bool {
        self.lo <= port && port <= self.hi
    }

    /// Whether `other` lies entirely inside.
    pub fn covers(&self, other: &PortRange) -> bool {
        self.lo <= other.lo && other.hi <= self.hi
    }

    /// Whether the two ranges share a port.
    pub fn overlaps(&self, other: &PortRange) -> bool {
        self.lo <= other.hi && other.lo <= self.hi
    }

    /// The shared part, if any.
    pub fn intersect(&self, other: &PortRange) -> Option<PortRange> {
        let lo = self.lo.max(other.lo);
        let hi = self.hi.min(other.hi);
        (lo <= hi).then_some(PortRange { lo, hi })
    }

    /// Iterates the ports.
    pub fn ports(&self) -> impl Iterator<Item = u16> + use<> {
        self.lo..=self.hi
    }
}

fn parse_port(text: &str) -> Result<u16, PortError> {
    let t = text.trim().trim_matches('*');
    let n: i64 = t
        .parse()
        .map_err(|_| PortError::NotANumber(text.trim().to_string()))?;
    if !(1..=65535).contains(&n) {
        return Err(PortError::OutOfRange(n));
    }
    u16::try_from(n).map_err(|_| PortError::OutOfRange(n))
}

impl std::str::FromStr for PortRange {
    type Err = PortError;

    /// `8069`, `5000-5399` or `5000:5399` (the ufw/iptables spelling).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err(PortError::Empty);
        }
        match s.split_once(['-', ':']) {
            Some((a, b)) => PortRange::new(parse_port(a)?, parse_port(b)?),
            None => parse_port(s).map(PortRange::single),
        }
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.lo == self.hi {
            write!(f, "{}", self.lo)
        } else {
            write!(f, "{}-{}", self.lo, self.hi)
        }
    }
}

impl Serialize for PortRange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.lo == self.hi {
            s.serialize_u16(self.lo)
        } else {
            s.collect_str(self)
        }
    }
}

struct RangeVisitor;

impl Visitor<'_> for RangeVisitor {
    type Value = PortRange;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a port (1-65535) or a range like \"5000-5399\"")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<PortRange, E> {
        let p = u16::try_from(v)
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| E::custom(PortError::OutOfRange(v)))?;
        Ok(PortRange::single(p))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<PortRange, E> {
        self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<PortRange, E> {
        v.parse().map_err(E::custom)
    }
}

impl<'de> Deserialize<'de> for PortRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RangeVisitor)
    }
}

impl JsonSchema for PortRange {
    fn schema_name() -> Cow<'static, str> {
        "PortRange".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A port (1-65535) or an inclusive range \"LO-HI\".",
            "oneOf": [
                {"type": "integer", "minimum": 1, "maximum": 65535},
                {"type": "string", "pattern": "^\\s*[0-9]{1,5}\\s*([-:]\\s*[0-9]{1,5}\\s*)?$"}
            ]
        })
    }
}

/// A set of ports as sorted, disjoint, non-adjacent ranges (e.g. `5401-5431, 5433-5499`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct PortSet {
    ranges: Vec<PortRange>,
}

impl PortSet {
    /// The set of the given ranges (normalized).
    pub fn from_ranges(ranges: impl IntoIterator<Item = PortRange>) -> Self {
        let mut v: Vec<PortRange> = ranges.into_iter().collect();
        v.sort_unstable();
        let mut out: Vec<PortRange> = Vec::with_capacity(v.len());
        for r in v {
            match out.last_mut() {
                Some(last) if u32::from(r.lo) <= u32::from(last.hi) + 1 => {
                    last.hi = last.hi.max(r.hi);
                }
                _ => out.push(r),
            }
        }
        Self { ranges: out }
    }

    /// The normalized ranges.
    pub fn ranges(&self) -> &[PortRange] {
        &self.ranges
    }

    /// Number of ports.
    pub fn len(&self) -> u32 {
        self.ranges.iter().map(PortRange::len).sum()
    }

    /// Whether there is no port.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Whether `port` is in the set.
    pub fn contains(&self, port: u16) -> bool {
        let i = self.ranges.partition_point(|r| r.hi < port);
        self.ranges.get(i).is_some_and(|r| r.contains(port))
    }

    /// Whether every port of `r` is in the set.
    pub fn covers(&self, r: &PortRange) -> bool {
        let i = self.ranges.partition_point(|x| x.hi < r.lo);
        self.ranges.get(i).is_some_and(|x| x.covers(r))
    }

    /// Whether any port of `r` is in the set.
    pub fn overlaps(&self, r: &PortRange) -> bool {
        let i = self.ranges.partition_point(|x| x.hi < r.lo);
        self.ranges.get(i).is_some_and(|x| x.overlaps(r))
    }

    /// Ports in both sets.
    #[must_use]
    pub fn intersection(&self, other: &PortSet) -> PortSet {
        let mut out = Vec::new();
        let (mut i, mut j) = (0, 0);
        while let (Some(a), Some(b)) = (self.ranges.get(i), other.ranges.get(j)) {
            if let Some(x) = a.intersect(b) {
                out.push(x);
            }
            if a.hi < b.hi { i += 1 } else { j += 1 }
        }
        PortSet { ranges: out }
    }

    /// Ports of `self` not in `other`.
    #[must_use]
    pub fn difference(&self, other: &PortSet) -> PortSet {
        let mut out = Vec::new();
        for r in &self.ranges {
            let mut lo = u32::from(r.lo);
            let hi = u32::from(r.hi);
            let start = other.ranges.partition_point(|x| x.hi < r.lo);
            for x in other.ranges.get(start..).unwrap_or(&[]) {
                if u32::from(x.lo) > hi {
                    break;
                }
                if u32::from(x.lo) > lo {
                    out.push(to_range(lo, u32::from(x.lo) - 1));
                }
                lo = lo.max(u32::from(x.hi) + 1);
            }
            if lo <= hi {
                out.push(to_range(lo, hi));
            }
        }
        PortSet { ranges: out }
    }

    /// Lowest and highest port.
    pub fn bounds(&self) -> Option<PortRange> {
        Some(PortRange {
            lo: self.ranges.first()?.lo,
            hi: self.ranges.last()?.hi,
        })
    }
}

fn to_range(lo: u32, hi: u32) -> PortRange {
    PortRange {
        lo: u16::try_from(lo).unwrap_or(u16::MAX),
        hi: u16::try_from(hi).unwrap_or(u16::MAX),
    }
}

impl fmt::Display for PortSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.ranges.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for PortSet {
    type Err = PortError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Result<Vec<PortRange>, PortError> = s.split(',').map(str::parse).collect();
        Ok(PortSet::from_ranges(parts?))
    }
}

impl Serialize for PortSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

struct SetVisitor;

impl<'de> Visitor<'de> for SetVisitor {
    type Value = PortSet;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a port, a range like \"5000-5399\", or a list of them")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<PortSet, E> {
        RangeVisitor.visit_i64(v).map(|r| PortSet::from_ranges([r]))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<PortSet, E> {
        RangeVisitor.visit_u64(v).map(|r| PortSet::from_ranges([r]))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<PortSet, E> {
        v.parse().map_err(E::custom)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PortSet, A::Error> {
        let mut v = Vec::new();
        while let Some(r) = seq.next_element::<PortRange>()? {
            v.push(r);
        }
        if v.is_empty() {
            return Err(de::Error::custom(PortError::Empty));
        }
        Ok(PortSet::from_ranges(v))
    }
}

impl<'de> Deserialize<'de> for PortSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SetVisitor)
    }
}

impl JsonSchema for PortSet {
    fn schema_name() -> Cow<'static, str> {
        "PortSet".into()
    }

    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        let range = g.subschema_for::<PortRange>();
        json_schema!({
            "description": "A port, a range \"LO-HI\", a comma-separated list of them, or an array.",
            "anyOf": [
                range,
                {"type": "string", "pattern": "^[0-9 ,:-]+$"},
                {"type": "array", "items": range, "minItems": 1}
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_singles_ranges_and_lists() {
        assert_eq!(
            "8069".parse::<PortRange>().unwrap(),
            PortRange::single(8069)
        );
        assert_eq!(
            "5000-5399".parse::<PortRange>().unwrap(),
            PortRange { lo: 5000, hi: 5399 }
        );
        assert_eq!(
            "5000:5399".parse::<PortRange>().unwrap(),
            PortRange { lo: 5000, hi: 5399 }
        );
        let set: PortSet = "5401-5431, 5433-5499".parse().unwrap();
        assert_eq!(set.len(), 98);
        assert!(!set.contains(5432));
        assert!(set.contains(5433));
    }

    #[test]
    fn rejects_bad_ports() {
        assert_eq!("0".parse::<PortRange>(), Err(PortError::OutOfRange(0)));
        assert_eq!(
            "70000".parse::<PortRange>(),
            Err(PortError::OutOfRange(70000))
        );
        assert!(matches!(
            "abc".parse::<PortRange>(),
            Err(PortError::NotANumber(_))
        ));
        assert_eq!(
            "5399-5000".parse::<PortRange>(),
            Err(PortError::Inverted { lo: 5399, hi: 5000 })
        );
    }

    #[test]
    fn difference_and_intersection() {
        let a: PortSet = "5000-5399".parse().unwrap();
        let b: PortSet = "5000, 5002-5010, 5399".parse().unwrap();
        assert_eq!(a.difference(&b).to_string(), "5001, 5011-5398");
        assert_eq!(a.intersection(&b), b);
    }
}
