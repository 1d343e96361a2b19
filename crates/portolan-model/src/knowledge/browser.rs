//! Owns the lists of ports that web browsers refuse to connect to ("bad
//! ports"): a page cannot load `http://host:6000/` in Chromium or Firefox, so
//! a web service placed on one of these ports is unreachable from a browser
//! unless every user overrides the block.
//!
//! Both lists are the browsers' own restricted lists, checked against source:
//!
//! * Chromium — `net/base/port_util.cc`, `kRestrictedPorts`, the newest main
//!   revision found (2024–25: it has `kRestrictAbusePortsOnLocalhost` and an
//!   empty `kAllowablePorts`). It starts with port 0 (commented "Not in Fetch
//!   Spec." there) and does not have 4190 and 6679 yet.
//! * Firefox — `netwerk/base/nsIOService.cpp`, `gBadPortList`, the newest
//!   mozilla-central revision found (2025: it has the `network.lna.*`
//!   preferences). Its terminating `0` is only the array's sentinel, but Gecko
//!   refuses port 0 anyway (whatwg/fetch#1847, which added 0 to the standard
//!   in 2025, notes every engine already did), so 0 is listed here too.
//!
//! The WHATWG Fetch standard's "bad port" table (with 0 since whatwg/fetch#1847
//! and 4190/6679 since whatwg/fetch#1663) equals [`FIREFOX_BLOCKED`]; Chromium
//! lags it by 4190 (sieve) and 6679 (osaut). Chromium can additionally block
//! ports through field trials (`kRestrictAbusePorts`), which are not listed.

/// Ports Chromium refuses (`net/base/port_util.cc` `kRestrictedPorts`), sorted.
///
/// Checked against Chromium main (2024–25 revision). Older releases lacked
/// 0, 69, 137, 161, 554, 989, 990, 1719, 1720, 1723, 5060, 5061, 6566 and
/// 10080.
pub static CHROMIUM_BLOCKED: &[u16] = &[
    0,     // Not in Fetch Spec. (Chromium comment; the spec has it since 2025)
    1,     // tcpmux
    7,     // echo
    9,     // discard
    11,    // systat
    13,    // daytime
    15,    // netstat
    17,    // qotd
    19,    // chargen
    20,    // ftp data
    21,    // ftp access
    22,    // ssh
    23,    // telnet
    25,    // smtp
    37,    // time
    42,    // name
    43,    // nicname
    53,    // domain
    69,    // tftp
    77,    // priv-rjs
    79,    // finger
    87,    // ttylink
    95,    // supdup
    101,   // hostriame
    102,   // iso-tsap
    103,   // gppitnp
    104,   // acr-nema
    109,   // pop2
    110,   // pop3
    111,   // sunrpc
    113,   // auth
    115,   // sftp
    117,   // uucp-path
    119,   // nntp
    123,   // ntp
    135,   // loc-srv / epmap
    137,   // netbios
    139,   // netbios
    143,   // imap2
    161,   // snmp
    179,   // bgp
    389,   // ldap
    427,   // slp (also Apple Filing Protocol)
    465,   // smtp+ssl
    512,   // print / exec
    513,   // login
    514,   // shell
    515,   // printer
    526,   // tempo
    530,   // courier
    531,   // chat
    532,   // netnews
    540,   // uucp
    548,   // afp
    554,   // rtsp
    556,   // remotefs
    563,   // nntp+ssl
    587,   // smtp (rfc6409)
    601,   // syslog-conn (rfc3195)
    636,   // ldap+ssl
    989,   // ftps-data
    990,   // ftps
    993,   // imap+ssl
    995,   // pop3+ssl
    1719,  // h323gatestat
    1720,  // h323hostcall
    1723,  // pptp
    2049,  // nfs
    3659,  // apple-sasl / PasswordServer
    4045,  // lockd
    5060,  // sip
    5061,  // sips
    6000,  // x11
    6566,  // sane-port
    6665,  // irc (alternate)
    6666,  // irc (alternate)
    6667,  // irc (default)
    6668,  // irc (alternate)
    6669,  // irc (alternate)
    6697,  // irc + tls
    10080, // amanda
];

/// Ports Firefox refuses (`netwerk/base/nsIOService.cpp` `gBadPortList`),
/// sorted.
///
/// Checked against mozilla-central (2025 revision); identical to the WHATWG Fetch
/// standard's bad-port table. Port 0 is the C array's sentinel there but is
/// refused by Gecko all the same.
pub static FIREFOX_BLOCKED: &[u16] = &[
    0,     // refused (sentinel in gBadPortList; Fetch "bad port" since 2025)
    1,     // tcpmux
    7,     // echo
    9,     // discard
    11,    // systat
    13,    // daytime
    15,    // netstat
    17,    // qotd
    19,    // chargen
    20,    // ftp-data
    21,    // ftp
    22,    // ssh
    23,    // telnet
    25,    // smtp
    37,    // time
    42,    // name
    43,    // nicname
    53,    // domain
    69,    // tftp
    77,    // priv-rjs
    79,    // finger
    87,    // ttylink
    95,    // supdup
    101,   // hostriame
    102,   // iso-tsap
    103,   // gppitnp
    104,   // acr-nema
    109,   // pop2
    110,   // pop3
    111,   // sunrpc
    113,   // auth
    115,   // sftp
    117,   // uucp-path
    119,   // nntp
    123,   // ntp
    135,   // loc-srv / epmap
    137,   // netbios
    139,   // netbios
    143,   // imap2
    161,   // snmp
    179,   // bgp
    389,   // ldap
    427,   // afp (alternate)
    465,   // smtp (alternate)
    512,   // print / exec
    513,   // login
    514,   // shell
    515,   // printer
    526,   // tempo
    530,   // courier
    531,   // chat
    532,   // netnews
    540,   // uucp
    548,   // afp
    554,   // rtsp
    556,   // remotefs
    563,   // nntp+ssl
    587,   // smtp (outgoing)
    601,   // syslog-conn
    636,   // ldap+ssl
    989,   // ftps-data
    990,   // ftps
    993,   // imap+ssl
    995,   // pop3+ssl
    1719,  // h323gatestat
    1720,  // h323hostcall
    1723,  // pptp
    2049,  // nfs
    3659,  // apple-sasl
    4045,  // lockd
    4190,  // sieve
    5060,  // sip
    5061,  // sips
    6000,  // x11
    6566,  // sane-port
    6665,  // irc (alternate)
    6666,  // irc (alternate)
    6667,  // irc (default)
    6668,  // irc (alternate)
    6669,  // irc (alternate)
    6679,  // osaut
    6697,  // irc+tls
    10080, // amanda
];

/// Which browsers block a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BrowserBlock {
    /// Chromium-based browsers (Chrome, Edge, Brave, Opera, …) refuse the port.
    pub chromium: bool,
    /// Firefox refuses the port.
    pub firefox: bool,
}

/// `None` when no known browser blocks `port`.
pub fn blocked_by(port: u16) -> Option<BrowserBlock> {
    let block = BrowserBlock {
        chromium: CHROMIUM_BLOCKED.binary_search(&port).is_ok(),
        firefox: FIREFOX_BLOCKED.binary_search(&port).is_ok(),
    };
    (block.chromium || block.firefox).then_some(block)
}

/// The blocked ports in `lo..=hi`, ascending, with who blocks them: the two sorted lists
/// merged, so a wide range (`1-65535`) costs the ~100 blocked ports, not 65,535 lookups.
pub fn blocked_in(lo: u16, hi: u16) -> impl Iterator<Item = (u16, BrowserBlock)> {
    let from = |list: &'static [u16]| {
        let start = list.partition_point(|p| *p < lo);
        list[start..].iter().copied().take_while(move |p| *p <= hi)
    };
    let mut ports: Vec<u16> = from(CHROMIUM_BLOCKED)
        .chain(from(FIREFOX_BLOCKED))
        .collect();
    ports.sort_unstable();
    ports.dedup();
    ports
        .into_iter()
        .filter_map(|p| blocked_by(p).map(|b| (p, b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocked_in_agrees_with_blocked_by() {
        for (lo, hi) in [
            (1, 65535),
            (6000, 6000),
            (6660, 6670),
            (10080, 10081),
            (2, 1),
            (8000, 9000),
        ] {
            let fast: Vec<u16> = blocked_in(lo, hi).map(|(p, _)| p).collect();
            let slow: Vec<u16> = (lo..=hi).filter(|p| blocked_by(*p).is_some()).collect();
            assert_eq!(fast, slow, "{lo}-{hi}");
        }
    }

    fn assert_strictly_sorted(list: &[u16], what: &str) {
        for pair in list.windows(2) {
            assert!(pair[0] < pair[1], "{what}: {} then {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn lists_are_sorted_and_deduplicated() {
        assert_strictly_sorted(CHROMIUM_BLOCKED, "chromium");
        assert_strictly_sorted(FIREFOX_BLOCKED, "firefox");
    }

    #[test]
    fn list_sizes_match_sources() {
        assert_eq!(CHROMIUM_BLOCKED.len(), 81);
        assert_eq!(FIREFOX_BLOCKED.len(), 83);
    }

    #[test]
    fn x11_is_blocked_by_both() {
        assert_eq!(
            blocked_by(6000),
            Some(BrowserBlock {
                chromium: true,
                firefox: true
            })
        );
    }

    #[test]
    fn common_web_ports_are_not_blocked() {
        for port in [80, 443, 3000, 5000, 8000, 8080, 8443, 8888, 9000] {
            assert_eq!(blocked_by(port), None, "{port}");
        }
    }

    #[test]
    fn newer_additions_are_blocked() {
        for port in [
            69, 137, 161, 554, 1719, 1720, 1723, 5060, 5061, 6566, 6697, 10080,
        ] {
            assert_eq!(
                blocked_by(port),
                Some(BrowserBlock {
                    chromium: true,
                    firefox: true
                }),
                "{port}"
            );
        }
    }

    #[test]
    fn differences_are_kept() {
        for port in [4190, 6679] {
            assert_eq!(
                blocked_by(port),
                Some(BrowserBlock {
                    chromium: false,
                    firefox: true
                }),
                "{port}"
            );
        }
        let only_chromium: Vec<_> = CHROMIUM_BLOCKED
            .iter()
            .filter(|p| FIREFOX_BLOCKED.binary_search(p).is_err())
            .collect();
        assert!(only_chromium.is_empty(), "{only_chromium:?}");
    }
}
