//! Facts about machines and networks that documents state in prose and lists, read before
//! anything else so that tables and sentences can be placed on hosts: host introductions
//! (`**nas** — 192.168.178.20`, `` `lh-app01` (10.40.2.11) ``, `Host: pacs01 · DMZ
//! address: 192.0.2.80`), networks with their CIDRs (`the office network 10.40.0.0/16`,
//! `VPN (10.8.0.0/24)`), every address the document mentions (is it all private?), and
//! statements that the machines are not reachable from the Internet ("no public address",
//! "nur private Adressen", "Aucun n'a d'adresse publique").

use std::net::IpAddr;
use std::sync::LazyLock;

use regex::Regex;

use super::blocks::Block;
use super::cells;
use super::draft::Draft;

static IPV4: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[^0-9.])((?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3})(/[0-9]{1,2})?(?:$|[^0-9])")
        .expect("static regex")
});

static IPV6: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[^0-9A-Za-z:])((?:[0-9a-fA-F]{1,4}:){1,7}:?(?:[0-9a-fA-F]{1,4})?(?::[0-9a-fA-F]{1,4}){0,6})(/[0-9]{1,3})?")
        .expect("static regex")
});

/// Whether an address is private (RFC 1918, CGNAT, link-local, loopback, ULA).
pub fn is_private(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => {
            let o = v.octets();
            v.is_private()
                || v.is_loopback()
                || v.is_link_local()
                || v.is_unspecified()
                || (o[0] == 100 && (64..128).contains(&o[1]))
        }
        IpAddr::V6(v) => {
            let s = v.segments();
            v.is_loopback()
                || v.is_unspecified()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
        }
    }
}

/// The addresses and CIDRs in `text`: (address text, prefix if a CIDR, byte offset).
pub fn addresses(text: &str) -> Vec<(IpAddr, Option<u8>, usize)> {
    let mut out = Vec::new();
    for c in IPV4.captures_iter(text) {
        let Some(m) = c.get(1) else { continue };
        if let Ok(ip) = m.as_str().parse::<IpAddr>() {
            let prefix = c.get(2).and_then(|p| p.as_str()[1..].parse().ok());
            out.push((ip, prefix, m.start()));
        }
    }
    if text.contains("::") || text.matches(':').count() >= 3 {
        for c in IPV6.captures_iter(text) {
            let Some(m) = c.get(1) else { continue };
            let raw = m.as_str();
            let s = if raw.ends_with(':') && !raw.ends_with("::") {
                &raw[..raw.len() - 1]
            } else {
                raw
            };
            if s.len() < 3 || !s.contains(':') {
                continue;
            }
            if let Ok(ip) = s.parse::<std::net::Ipv6Addr>() {
                let prefix = c.get(2).and_then(|p| p.as_str()[1..].parse().ok());
                out.push((IpAddr::V6(ip), prefix, m.start()));
            }
        }
    }
    out.sort_by_key(|a| a.2);
    out
}

/// Words that never name a network (they say "network").
const GENERIC: &[&str] = &[
    "network",
    "networks",
    "net",
    "subnet",
    "range",
    "cidr",
    "is",
    "are",
    "the",
    "a",
    "an",
    "in",
    "inside",
    "on",
    "and",
    "of",
    "our",
    "its",
    "their",
    "both",
    "all",
    "home",
    "site",
    "réseau",
    "red",
    "netz",
    "netzwerk",
    "сеть",
    "im",
    "der",
    "das",
    "la",
    "el",
    "le",
    "de",
    "von",
    "y",
    "et",
    "и",
    "with",
    "via",
    "over",
    "from",
    "come",
    "in",
    "private",
    "interne",
    "interna",
    "internal",
    "(",
    "address",
    "addresses",
    "ip",
    "is",
    "lan's",
];

/// A network name for the words before a CIDR (`the office network` → `lan`, `VPN` →
/// `vpn`, `private interconnect` → `interconnect`).
fn network_name(before: &str) -> Option<String> {
    let words: Vec<String> = before
        .split(|c: char| !(c.is_alphanumeric() || c == '-'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let tail: Vec<&String> = words.iter().rev().take(4).collect();
    for w in &tail {
        match w.as_str() {
            "vpn" | "wireguard" => return Some("vpn".into()),
            "dmz" => return Some("dmz".into()),
            "vpc" => return Some("vpc".into()),
            "lan" | "office" | "büro" | "filialnetz" | "oficina" | "bureau" | "subnet" => {
                return Some("lan".into());
            }
            _ => {}
        }
    }
    tail.iter()
        .find(|w| {
            !GENERIC.contains(&w.as_str())
                && w.chars().next().is_some_and(char::is_alphabetic)
                && w.len() > 1
                && w.len() < 24
        })
        .map(|w| cells::slug(w))
        .filter(|w| !w.is_empty())
}

fn host_token(t: &str) -> Option<String> {
    let t = t.trim_matches(|c: char| "`*_[]".contains(c)).trim();
    let ok = !t.is_empty()
        && t.len() <= 63
        && t.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        && t.chars().any(|c| c.is_ascii_alphabetic())
        && t.parse::<IpAddr>().is_err()
        && !t.eq_ignore_ascii_case("localhost");
    ok.then(|| t.to_lowercase())
}

static HOST_INTRO: LazyLock<Regex> = LazyLock::new(|| {
    // `name` / **name** followed (within a few words) by an address
    Regex::new(r"(?:`([A-Za-z0-9][A-Za-z0-9.\-]{0,62})`|\*\*([A-Za-z0-9][A-Za-z0-9.\-]{0,62})\*\*)(?:\s*[:—–\-,(]\s*|\s+)")
        .expect("static regex")
});

static NOT_PUBLIC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)(?:no public (?:ip|address)|not (?:be )?reachable from (?:the internet|outside)|",
        r"nothing (?:here )?is reachable from (?:the internet|outside)|has no public|",
        r"have no public|only private addresses|nur private adressen|von außen ist nichts|",
        r"aucun n'a d'adresse publique|aucune adresse publique|pas accessible depuis internet|",
        r"sin dirección pública|solo red interna|no es accesible desde internet|",
        r"нет публичн|не доступ\w* из интернета|no host has a public)"
    ))
    .expect("static regex")
});

/// Reads the host and network facts of every list item and prose line, and every address
/// of the whole text.
pub fn scan(draft: &mut Draft, blocks: &[Block], text: &str) {
    for (ip, _, _) in addresses(text) {
        if ip.is_unspecified() || ip.is_loopback() {
            continue;
        }
        draft.mentioned.insert(ip.to_string(), is_private(&ip));
    }
    for b in blocks {
        let (t, line) = match b {
            Block::Item { text, line, .. } | Block::Text { text, line } => (text, *line),
            _ => continue,
        };
        if NOT_PUBLIC.is_match(t) {
            draft.says_private = true;
        }
        networks(draft, t, line);
        hosts(draft, t, line);
    }
}

fn networks(draft: &mut Draft, t: &str, line: usize) {
    let mut last_name: Option<String> = None;
    let mut last_end = 0usize;
    for (ip, prefix, at) in addresses(t) {
        let Some(prefix) = prefix else {
            continue;
        };
        let before = &t[last_end.min(at)..at];
        let name = network_name(before).or_else(|| last_name.clone());
        last_end = at;
        let Some(name) = name else { continue };
        last_name = Some(name.clone());
        let cidr = super::emit::cidr(&format!("{ip}/{prefix}"));
        let Some(cidr) = cidr else { continue };
        // host and single-address CIDRs are addresses, not networks
        if (ip.is_ipv4() && prefix >= 32) || (ip.is_ipv6() && prefix >= 128) {
            continue;
        }
        let entry = draft.networks.entry(name).or_insert((String::new(), line));
        if entry.0.is_empty() {
            entry.0 = cidr;
        } else if !entry.0.split(", ").any(|c| c == cidr) {
            entry.0 = format!("{}, {cidr}", entry.0);
        }
    }
}

fn hosts(draft: &mut Draft, t: &str, line: usize) {
    // `Host: pacs01 · Internal address: 10.30.5.5 · DMZ address: 192.0.2.80`
    let clean = cells::clean(t);
    let segments: Vec<&str> = clean.split(['·', '•']).collect();
    let mut card_host: Option<String> = None;
    for seg in &segments {
        if let Some((k, v)) = seg.split_once(':') {
            let k = k.trim().to_lowercase();
            if matches!(
                k.as_str(),
                "host"
                    | "hostname"
                    | "server"
                    | "box"
                    | "machine"
                    | "vm"
                    | "rechner"
                    | "servidor"
                    | "serveur"
                    | "сервер"
            ) {
                if let Some(h) = v
                    .split(|c: char| c.is_whitespace() || c == ',' || c == '(')
                    .find(|w| !w.is_empty())
                    .and_then(host_token)
                {
                    let key = cells::slug(&h);
                    if !key.is_empty() {
                        let hd = draft.host(&key, &h);
                        hd.lines.insert(line);
                        card_host = Some(key);
                    }
                }
            }
        }
    }
    if let Some(h) = &card_host {
        let addrs: Vec<IpAddr> = addresses(&clean)
            .into_iter()
            .filter(|(ip, p, _)| p.is_none() && !ip.is_loopback() && !ip.is_unspecified())
            .map(|(ip, _, _)| ip)
            .collect();
        // `Host: localhost` in a service's card is where it binds, not a machine: a
        // machine is introduced with its address
        if addrs.is_empty() {
            if draft.hosts.get(h).is_some_and(|x| x.addresses.is_empty()) {
                draft.hosts.remove(h);
            }
            return;
        }
        let hd = draft.host(h, h);
        for a in addrs {
            hd.addresses.insert(a.to_string());
        }
        return;
    }
    // `name` (10.0.0.1) / **name** — 10.0.0.1 and fd00::1 / `a` (…) et `b` (…)
    let found: Vec<(usize, usize, String)> = HOST_INTRO
        .captures_iter(t)
        .filter_map(|c| {
            let m = c.get(1).or_else(|| c.get(2))?;
            let whole = c.get(0)?;
            Some((whole.start(), whole.end(), host_token(m.as_str())?))
        })
        .collect();
    for (i, (_, end, name)) in found.iter().enumerate() {
        let stop = found.get(i + 1).map_or(t.len(), |n| n.0);
        let span = &t[*end..stop];
        // the address must come soon: within 60 characters
        let addrs: Vec<(IpAddr, Option<u8>, usize)> = addresses(span)
            .into_iter()
            .filter(|(ip, p, at)| {
                *at < 60 && p.is_none() && !ip.is_unspecified() && !ip.is_loopback()
            })
            .collect();
        if addrs.is_empty() {
            continue;
        }
        let public_word = span.to_lowercase();
        let hd = draft.host(&cells::slug(name), name);
        hd.lines.insert(line);
        for (a, _, _) in addrs {
            hd.addresses.insert(a.to_string());
        }
        if public_word.contains("only private") || public_word.contains("solo red interna") {
            hd.public = Some(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(doc: &str) -> Draft {
        let mut d = Draft::default();
        let blocks = super::super::blocks::scan(doc);
        scan(&mut d, &blocks, doc);
        d
    }

    #[test]
    fn hosts_and_networks_from_prose() {
        let d = facts(
            "Everything runs on one VM, `lh-app01` (10.40.2.11), inside the office network 10.40.0.0/16; staff come in over the VPN (10.8.0.0/24). The VM has no public address.\n\n- **sede-web** — 203.0.113.77 (pública) y 10.2.0.10\n\n**Host:** pacs01 · **DMZ address:** 192.0.2.80\n",
        );
        assert_eq!(
            d.hosts["lh-app01"].addresses.iter().collect::<Vec<_>>(),
            ["10.40.2.11"]
        );
        assert_eq!(d.hosts["sede-web"].addresses.len(), 2);
        assert!(d.hosts["pacs01"].addresses.contains("192.0.2.80"));
        assert_eq!(d.networks["lan"].0, "10.40.0.0/16");
        assert_eq!(d.networks["vpn"].0, "10.8.0.0/24");
        assert!(d.says_private);
        assert_eq!(d.mentioned.get("203.0.113.77"), Some(&false));
    }

    #[test]
    fn ipv6_addresses() {
        let a = addresses("nas — 192.168.178.20 and fd42:7a1b::20 (ULA), LAN fd42:7a1b::/64");
        assert_eq!(a.len(), 3);
        assert!(a.iter().all(|(ip, _, _)| is_private(ip)));
        assert_eq!(a[2].1, Some(64));
    }
}
