//! IP networks (`192.168.1.0/24`, `fd00::/8`) and sets of addresses, the algebra behind the
//! reach computation: who can connect is a set of source addresses, compared by inclusion.

use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A CIDR network. The address has no host bits set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IpNet {
    /// Network address.
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix: u8,
}

/// Why a CIDR failed to parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetError {
    /// Not an address.
    #[error("`{0}` is not an IP address")]
    BadAddress(String),
    /// Bad prefix length.
    #[error("prefix /{prefix} is too long for {family} (max /{max})")]
    BadPrefix {
        /// given prefix
        prefix: String,
        /// IPv4 or IPv6
        family: &'static str,
        /// longest allowed
        max: u8,
    },
    /// Host bits set.
    #[error("`{given}` has host bits set (did you mean {suggestion}?)")]
    HostBits {
        /// what was written
        given: String,
        /// the network it denotes
        suggestion: IpNet,
    },
}

const fn max_prefix(addr: &IpAddr) -> u8 {
    if addr.is_ipv4() { 32 } else { 128 }
}

/// Address as a number (v4 in the low 32 bits).
pub fn ip_to_u128(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

fn u128_to_ip(v: u128, v4: bool) -> IpAddr {
    if v4 {
        IpAddr::V4(Ipv4Addr::from(u32::try_from(v).unwrap_or(u32::MAX)))
    } else {
        IpAddr::V6(Ipv6Addr::from(v))
    }
}

impl IpNet {
    /// All IPv4 addresses.
    pub const ANY_V4: IpNet = IpNet {
        addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        prefix: 0,
    };
    /// All IPv6 addresses.
    pub const ANY_V6: IpNet = IpNet {
        addr: IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        prefix: 0,
    };

    /// The /32 or /128 of one address.
    pub fn host(addr: IpAddr) -> Self {
        Self {
            addr,
            prefix: max_prefix(&addr),
        }
    }

    /// First and last address as numbers.
    pub fn bounds(&self) -> (u128, u128) {
        let bits = u32::from(max_prefix(&self.addr));
        let host_bits = bits - u32::from(self.prefix);
        let lo = ip_to_u128(self.addr);
        let span = if host_bits >= 128 {
            u128::MAX
        } else {
            (1u128 << host_bits) - 1
        };
        (lo, lo | span)
    }

    /// Whether `ip` is inside.
    pub fn contains(&self, ip: IpAddr) -> bool {
        if ip.is_ipv4() != self.addr.is_ipv4() {
            return false;
        }
        let (lo, hi) = self.bounds();
        (lo..=hi).contains(&ip_to_u128(ip))
    }

    /// Whether the network is IPv4.
    pub fn is_ipv4(&self) -> bool {
        self.addr.is_ipv4()
    }
}

impl std::str::FromStr for IpNet {
    type Err = NetError;

    fn from_str(s: &str) -> Result<Self, NetError> {
        let s = s.trim();
        let (a, p) = s.split_once('/').map_or((s, None), |(a, p)| (a, Some(p)));
        let addr: IpAddr = a
            .trim()
            .parse()
            .map_err(|_| NetError::BadAddress(a.trim().to_string()))?;
        let max = max_prefix(&addr);
        let family = if addr.is_ipv4() { "IPv4" } else { "IPv6" };
        let prefix = match p {
            None => max,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|n| *n <= max)
                .ok_or_else(|| NetError::BadPrefix {
                    prefix: p.trim().to_string(),
                    family,
                    max,
                })?,
        };
        let host_bits = u32::from(max - prefix);
        let mask = if host_bits >= 128 {
            u128::MAX
        } else {
            (1u128 << host_bits) - 1
        };
        let raw = ip_to_u128(addr);
        let net = IpNet {
            addr: u128_to_ip(raw & !mask, addr.is_ipv4()),
            prefix,
        };
        if raw & mask != 0 {
            return Err(NetError::HostBits {
                given: s.to_string(),
                suggestion: net,
            });
        }
        Ok(net)
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Serialize for IpNet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IpNet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Cow::<str>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for IpNet {
    fn schema_name() -> Cow<'static, str> {
        "Cidr".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "An IPv4 or IPv6 network in CIDR notation (\"192.168.1.0/24\", \"fd00::/8\"); a bare address means /32 or /128.",
            "type": "string",
            "pattern": "^[0-9a-fA-F:.]+(/[0-9]{1,3})?$"
        })
    }
}

/// Sorted, disjoint, non-adjacent inclusive intervals of one address family.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
struct Intervals(Vec<(u128, u128)>);

impl Intervals {
    fn normalize(mut v: Vec<(u128, u128)>) -> Self {
        v.sort_unstable();
        let mut out: Vec<(u128, u128)> = Vec::with_capacity(v.len());
        for (lo, hi) in v {
            match out.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => out.push((lo, hi)),
            }
        }
        Self(out)
    }

    /// Linear: a merge of two sorted lists.
    fn union(&self, other: &Self) -> Self {
        if other.0.is_empty() {
            return self.clone();
        }
        if self.0.is_empty() {
            return other.clone();
        }
        let mut out: Vec<(u128, u128)> = Vec::with_capacity(self.0.len() + other.0.len());
        let (mut i, mut j) = (0, 0);
        loop {
            let next = match (self.0.get(i), other.0.get(j)) {
                (Some(a), Some(b)) if a.0 <= b.0 => {
                    i += 1;
                    *a
                }
                (_, Some(b)) => {
                    j += 1;
                    *b
                }
                (Some(a), None) => {
                    i += 1;
                    *a
                }
                (None, None) => break,
            };
            match out.last_mut() {
                Some(last) if next.0 <= last.1.saturating_add(1) => last.1 = last.1.max(next.1),
                _ => out.push(next),
            }
        }
        Self(out)
    }

    fn intersection(&self, other: &Self) -> Self {
        let mut out = Vec::new();
        let (mut i, mut j) = (0, 0);
        while let (Some(a), Some(b)) = (self.0.get(i), other.0.get(j)) {
            let lo = a.0.max(b.0);
            let hi = a.1.min(b.1);
            if lo <= hi {
                out.push((lo, hi));
            }
            if a.1 < b.1 { i += 1 } else { j += 1 }
        }
        Self(out)
    }

    /// Linear in both sizes: both lists are sorted and disjoint, so one pass over `other`
    /// serves every interval of `self` (an interval of `other` may span several of them, so
    /// the cursor stays on it until it ends before the next one).
    fn difference(&self, other: &Self) -> Self {
        let mut out = Vec::new();
        let mut j = 0;
        for &(lo0, hi) in &self.0 {
            while other.0.get(j).is_some_and(|o| o.1 < lo0) {
                j += 1;
            }
            let mut lo = Some(lo0);
            let mut k = j;
            while let (Some(cur), Some(&(olo, ohi))) = (lo, other.0.get(k)) {
                if olo > hi {
                    break;
                }
                if olo > cur {
                    out.push((cur, olo - 1));
                }
                lo = ohi.checked_add(1).filter(|n| *n <= hi);
                if ohi > hi {
                    break;
                }
                k += 1;
            }
            if let Some(cur) = lo {
                out.push((cur, hi));
            }
        }
        Self(out)
    }

    fn is_subset(&self, other: &Self) -> bool {
        self.difference(other).0.is_empty()
    }
}

/// A set of IPv4 and IPv6 addresses.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct IpSet {
    v4: Intervals,
    v6: Intervals,
}

impl IpSet {
    /// The empty set.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Every address of both families.
    pub fn everything() -> Self {
        Self::from_nets(&[IpNet::ANY_V4, IpNet::ANY_V6])
    }

    /// The union of networks.
    pub fn from_nets<'a>(nets: impl IntoIterator<Item = &'a IpNet>) -> Self {
        let (mut v4, mut v6) = (Vec::new(), Vec::new());
        for n in nets {
            if n.is_ipv4() {
                v4.push(n.bounds());
            } else {
                v6.push(n.bounds());
            }
        }
        Self {
            v4: Intervals::normalize(v4),
            v6: Intervals::normalize(v6),
        }
    }

    /// Whether no address is in the set.
    pub fn is_empty(&self) -> bool {
        self.v4.0.is_empty() && self.v6.0.is_empty()
    }

    /// Addresses in either set.
    #[must_use]
    pub fn union(&self, other: &IpSet) -> IpSet {
        IpSet {
            v4: self.v4.union(&other.v4),
            v6: self.v6.union(&other.v6),
        }
    }

    /// Addresses in both sets.
    #[must_use]
    pub fn intersection(&self, other: &IpSet) -> IpSet {
        IpSet {
            v4: self.v4.intersection(&other.v4),
            v6: self.v6.intersection(&other.v6),
        }
    }

    /// Addresses of `self` not in `other`.
    #[must_use]
    pub fn difference(&self, other: &IpSet) -> IpSet {
        IpSet {
            v4: self.v4.difference(&other.v4),
            v6: self.v6.difference(&other.v6),
        }
    }

    /// Whether every address of `self` is in `other`.
    pub fn is_subset(&self, other: &IpSet) -> bool {
        self.v4.is_subset(&other.v4) && self.v6.is_subset(&other.v6)
    }

    /// The IPv4 part.
    #[must_use]
    pub fn ipv4(&self) -> IpSet {
        IpSet {
            v4: self.v4.clone(),
            v6: Intervals::default(),
        }
    }

    /// The IPv6 part.
    #[must_use]
    pub fn ipv6(&self) -> IpSet {
        IpSet {
            v4: Intervals::default(),
            v6: self.v6.clone(),
        }
    }

    /// Whether the two sets share an address.
    pub fn intersects(&self, other: &IpSet) -> bool {
        !self.intersection(other).is_empty()
    }

    /// Whether `ip` is in the set.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let v = ip_to_u128(ip);
        let iv = if ip.is_ipv4() { &self.v4 } else { &self.v6 };
        let i = iv.0.partition_point(|r| r.1 < v);
        iv.0.get(i).is_some_and(|r| r.0 <= v)
    }

    /// The set as a minimal list of CIDRs (IPv4 first), for messages and firewall rules.
    pub fn to_nets(&self) -> Vec<IpNet> {
        let mut out = Vec::new();
        for (iv, v4) in [(&self.v4, true), (&self.v6, false)] {
            let bits: u32 = if v4 { 32 } else { 128 };
            for &(lo, hi) in &iv.0 {
                let mut cur = lo;
                loop {
                    // largest aligned block starting at `cur` that fits in [cur, hi]
                    let align = if cur == 0 {
                        bits
                    } else {
                        cur.trailing_zeros().min(bits)
                    };
                    let mut size = align;
                    while size > 0 {
                        let last = if size >= 128 {
                            u128::MAX
                        } else {
                            cur + ((1u128 << size) - 1)
                        };
                        if last <= hi {
                            break;
                        }
                        size -= 1;
                    }
                    let prefix = u8::try_from(bits - size).unwrap_or(0);
                    out.push(IpNet {
                        addr: u128_to_ip(cur, v4),
                        prefix,
                    });
                    let step_last = if size >= 128 {
                        u128::MAX
                    } else {
                        cur + ((1u128 << size) - 1)
                    };
                    if step_last >= hi {
                        break;
                    }
                    cur = step_last + 1;
                }
            }
        }
        out
    }
}

impl fmt::Display for IpSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nets = self.to_nets();
        if nets.is_empty() {
            return f.write_str("nothing");
        }
        for (i, n) in nets.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{n}")?;
        }
        Ok(())
    }
}

/// The private (non-Internet-routable) address space: RFC 1918, CGNAT, link-local, ULA.
pub fn private_space() -> &'static IpSet {
    static SET: std::sync::LazyLock<IpSet> = std::sync::LazyLock::new(|| {
        let nets: Vec<IpNet> = [
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "100.64.0.0/10",
            "169.254.0.0/16",
            "fc00::/7",
            "fe80::/10",
        ]
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect();
        IpSet::from_nets(&nets)
    });
    &SET
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_rejects() {
        assert_eq!(net("192.168.1.0/24").to_string(), "192.168.1.0/24");
        assert_eq!(net("10.0.0.5").to_string(), "10.0.0.5/32");
        assert_eq!(net("::/0").to_string(), "::/0");
        assert!(matches!(
            "192.168.1.10/24".parse::<IpNet>(),
            Err(NetError::HostBits { .. })
        ));
        assert!(matches!(
            "10.0.0.0/33".parse::<IpNet>(),
            Err(NetError::BadPrefix { .. })
        ));
        assert!(matches!(
            "300.1.1.1/8".parse::<IpNet>(),
            Err(NetError::BadAddress(_))
        ));
    }

    #[test]
    fn set_algebra() {
        let lan = IpSet::from_nets(&[net("192.168.1.0/24")]);
        let all = IpSet::everything();
        assert!(lan.is_subset(&all));
        assert!(!all.is_subset(&lan));
        let rest = all.difference(&lan);
        assert!(!rest.contains("192.168.1.7".parse().unwrap()));
        assert!(rest.contains("192.168.2.7".parse().unwrap()));
        assert_eq!(lan.union(&rest), all);
        assert_eq!(all.to_nets().len(), 2);
        assert_eq!(
            IpSet::from_nets(&[net("10.0.0.0/25"), net("10.0.0.128/25")]).to_string(),
            "10.0.0.0/24"
        );
    }

    fn bits(iv: &Intervals) -> u64 {
        iv.0.iter()
            .flat_map(|&(lo, hi)| lo..=hi)
            .fold(0, |a, x| a | (1u64 << x))
    }

    fn intervals(raw: &[(u8, u8)]) -> Intervals {
        Intervals::normalize(
            raw.iter()
                .map(|&(a, b)| {
                    let (lo, hi) = (a.min(b) % 64, a.max(b) % 64);
                    (u128::from(lo.min(hi)), u128::from(lo.max(hi)))
                })
                .collect(),
        )
    }

    proptest::proptest! {
        /// The linear merges agree with bit sets on every small input.
        #[test]
        fn interval_algebra_matches_bit_sets(
            a in proptest::collection::vec((0u8..64, 0u8..64), 0..8),
            b in proptest::collection::vec((0u8..64, 0u8..64), 0..8),
        ) {
            let (x, y) = (intervals(&a), intervals(&b));
            proptest::prop_assert_eq!(bits(&x.union(&y)), bits(&x) | bits(&y));
            proptest::prop_assert_eq!(bits(&x.intersection(&y)), bits(&x) & bits(&y));
            proptest::prop_assert_eq!(bits(&x.difference(&y)), bits(&x) & !bits(&y));
            proptest::prop_assert_eq!(x.is_subset(&y), bits(&x) & !bits(&y) == 0);
            // results stay sorted, disjoint and non-adjacent
            for r in [x.union(&y), x.difference(&y), x.intersection(&y)] {
                proptest::prop_assert!(r.0.windows(2).all(|w| w[0].1 + 1 < w[1].0));
            }
        }
    }
}
