//! Address sets from the forms rulesets write them in: addresses, CIDRs and inclusive ranges
//! (`10.0.0.1-10.0.0.9`), and the two address families as sets.

use portolan_model::{IpNet, IpSet};

/// All IPv4 addresses.
pub fn all_v4() -> IpSet {
    IpSet::from_nets(&[IpNet::ANY_V4])
}

/// All IPv6 addresses.
pub fn all_v6() -> IpSet {
    IpSet::from_nets(&[IpNet::ANY_V6])
}

/// The networks of an inclusive address range (`10.0.0.1-10.0.0.9`), or `None` when the two
/// ends are of different families or reversed.
pub fn range_set(lo: std::net::IpAddr, hi: std::net::IpAddr) -> Option<IpSet> {
    use portolan_model::net::ip_to_u128;
    if lo.is_ipv4() != hi.is_ipv4() {
        return None;
    }
    let (a, b) = (ip_to_u128(lo), ip_to_u128(hi));
    if a > b {
        return None;
    }
    let bits: u32 = if lo.is_ipv4() { 32 } else { 128 };
    let mut nets = Vec::new();
    let mut cur = a;
    loop {
        let mut size = if cur == 0 {
            bits
        } else {
            cur.trailing_zeros().min(bits)
        };
        while size > 0 && (size >= 128 || cur + ((1u128 << size) - 1) > b) {
            if size >= 128 && cur == 0 && b == u128::MAX {
                break;
            }
            size -= 1;
        }
        let last = if size >= 128 {
            u128::MAX
        } else {
            cur + ((1u128 << size) - 1)
        };
        let addr = if lo.is_ipv4() {
            std::net::IpAddr::V4(std::net::Ipv4Addr::from(
                u32::try_from(cur).unwrap_or(u32::MAX),
            ))
        } else {
            std::net::IpAddr::V6(std::net::Ipv6Addr::from(cur))
        };
        let prefix = u8::try_from(bits - size).unwrap_or(0);
        nets.push(IpNet { addr, prefix });
        if last >= b {
            break;
        }
        cur = last + 1;
    }
    Some(IpSet::from_nets(&nets))
}

/// Parses an address, a CIDR or an address range (`a-b`) into a set.
pub fn addr_set(s: &str) -> Result<IpSet, String> {
    if let Some((lo, hi)) = s.split_once('-')
        && let (Ok(lo), Ok(hi)) = (
            lo.trim().parse::<std::net::IpAddr>(),
            hi.trim().parse::<std::net::IpAddr>(),
        )
    {
        return range_set(lo, hi).ok_or_else(|| format!("`{s}` is not an address range"));
    }
    s.parse::<IpNet>()
        .map(|n| IpSet::from_nets(&[n]))
        .map_err(|e| format!("`{s}` is not an address or network: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_become_networks() {
        let s = addr_set("10.0.0.1-10.0.0.6").unwrap();
        assert_eq!(
            s.to_nets()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"]
        );
        assert_eq!(addr_set("0.0.0.0-255.255.255.255").unwrap(), all_v4());
        assert_eq!(
            addr_set("::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").unwrap(),
            all_v6()
        );
        assert!(addr_set("10.0.0.9-10.0.0.1").is_err());
        assert!(addr_set("10.0.0.1-::1").is_err());
        assert!(addr_set("10.0.0.1/33").is_err());
    }
}
