//! Who the client is when the server sits behind reverse proxies (`serve --trusted-proxy
//! CIDR`, repeatable, or `trusted_proxies` in the config file).
//!
//! The socket peer is the client unless the peer is inside a trusted range. Only then are
//! its forwarding headers read — anyone else can send whatever headers they like:
//!
//! - `Forwarded` (RFC 7239): the `for=` of each element, `for=192.0.2.60`,
//!   `for="192.0.2.60:4711"`, `for="[2001:db8::1]:4711"`;
//! - `X-Forwarded-For`: a comma-separated list of addresses (`[v6]:port` and `v4:port`
//!   accepted).
//!
//! Each header is a list of hops, each proxy appending the address it received the request
//! from. Walking it from the right (the hop the trusted peer wrote), hops inside a trusted
//! range are proxies and skipped; the first one outside is the client. What a client put on
//! the left of the header is never reached unless every hop to its right is a trusted
//! proxy. The peer is the client when the hop that would decide is malformed, `unknown` or
//! obfuscated (`_hidden`), when the header is empty, or when a trusted peer sends neither
//! header (a health check by the proxy itself).
//!
//! A proxy usually writes one of the two headers and passes the other through from the
//! client untouched — so when a request carries both and they name different clients,
//! neither is believed and the peer counts (the safe direction: a spoofed header can then
//! share the proxy's throttling bucket, never get a fresh one).
//!
//! The client address keys the failed-auth throttle ([`crate::auth::AuthThrottle`]) and is
//! the `client` field of the request log line. A trusted peer's `X-Forwarded-Proto:
//! https` (the last value, the one the nearest proxy wrote) also marks the dashboard's
//! cookies `Secure` ([`crate::web::CookiePolicy`]).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use portolan_model::net::IpNet;

use crate::state::AppState;

/// The peers whose forwarding headers are believed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Arc<[IpNet]>);

/// A `--trusted-proxy` value that is not a network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{given}` is not an address or CIDR network (e.g. 10.0.0.0/8, 127.0.0.1, fd00::/8): {why}"
)]
pub struct ProxyRangeError {
    /// What was written.
    pub given: String,
    /// Why it is not a network.
    pub why: String,
}

/// What the server knows of a request's client.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// The socket peer (`None` when the connection did not record it).
    pub peer: Option<IpAddr>,
    /// The client: the peer, or what a trusted proxy says it forwarded for.
    pub addr: Option<IpAddr>,
    /// A trusted proxy says the client reached it over TLS (`X-Forwarded-Proto: https`).
    pub forwarded_https: bool,
}

/// An IPv4 peer on a dual-stack socket shows up as `::ffff:a.b.c.d`: the IPv4 address.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 @ IpAddr::V4(_) => v4,
    }
}

impl TrustedProxies {
    /// These networks.
    pub fn new(nets: impl IntoIterator<Item = IpNet>) -> Self {
        let mut nets: Vec<IpNet> = nets.into_iter().collect();
        nets.sort();
        nets.dedup();
        TrustedProxies(nets.into())
    }

    /// Parses addresses and CIDR networks (`10.0.0.0/8`, `127.0.0.1`, `fd00::/8`).
    pub fn parse<S: AsRef<str>>(texts: &[S]) -> Result<Self, ProxyRangeError> {
        let nets = texts
            .iter()
            .map(|t| {
                let t = t.as_ref();
                t.parse::<IpNet>().map_err(|e| ProxyRangeError {
                    given: t.to_string(),
                    why: e.to_string(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::new(nets))
    }

    /// No proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The networks, sorted.
    pub fn nets(&self) -> &[IpNet] {
        &self.0
    }

    /// Whether `ip` is inside a trusted range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|n| n.contains(ip))
    }

    /// The client of a request from `peer` with `headers` (see the module docs).
    pub fn client(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> ClientInfo {
        let peer = peer.map(canonical);
        let Some(p) = peer.filter(|p| self.contains(*p)) else {
            return ClientInfo {
                peer,
                addr: peer,
                forwarded_https: false,
            };
        };
        let forwarded = joined(headers, "forwarded").map(|v| self.decide(&forwarded_hops(&v)));
        let x_forwarded = joined(headers, "x-forwarded-for").map(|v| self.decide(&xff_hops(&v)));
        let addr = match (forwarded, x_forwarded) {
            (None, None) => p,
            (Some(one), None) | (None, Some(one)) => one.unwrap_or(p),
            (Some(a), Some(b)) if a == b => a.unwrap_or(p),
            (Some(_), Some(_)) => p,
        };
        ClientInfo {
            peer,
            addr: Some(addr),
            forwarded_https: forwarded_proto_https(headers),
        }
    }

    /// The rightmost hop outside the trusted ranges; `None` when the hop that decides is
    /// not an address (the caller falls back to the peer).
    fn decide(&self, hops: &[Option<IpAddr>]) -> Option<IpAddr> {
        for hop in hops.iter().rev() {
            match hop {
                None => return None,
                Some(ip) if self.contains(*ip) => {}
                Some(ip) => return Some(*ip),
            }
        }
        // every hop is a trusted proxy: the first of them is as far back as it goes
        hops.first().copied().flatten()
    }
}

/// Every line of header `name`, joined as one list; `None` without the header, `Some("")`
/// for a value that is not visible ASCII (never believed).
fn joined(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut values = headers.get_all(name).iter().peekable();
    values.peek()?;
    let mut out = String::new();
    for v in values {
        let Ok(text) = v.to_str() else {
            return Some(String::new());
        };
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(text);
    }
    Some(out)
}

/// The last `X-Forwarded-Proto` value is `https`.
fn forwarded_proto_https(headers: &HeaderMap) -> bool {
    headers
        .get_all("x-forwarded-proto")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .next_back()
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

/// An address as a hop writes it: `192.0.2.1`, `192.0.2.1:80`, `2001:db8::1`,
/// `[2001:db8::1]`, `[2001:db8::1]:4711` (a port may be obfuscated, `_x`).
fn node_address(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    if let Some(rest) = text.strip_prefix('[') {
        let (addr, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.starts_with(':') && port_ok(&after[1..])) {
            return None;
        }
        return addr.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6);
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    let (addr, port) = text.rsplit_once(':')?;
    if !port_ok(port) {
        return None;
    }
    addr.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

fn port_ok(port: &str) -> bool {
    port.parse::<u16>().is_ok()
        || port.strip_prefix('_').is_some_and(|o| {
            !o.is_empty()
                && o.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
        })
}

/// `X-Forwarded-For`'s hops, left to right.
fn xff_hops(value: &str) -> Vec<Option<IpAddr>> {
    value
        .split(',')
        .map(|hop| node_address(hop).map(canonical))
        .collect()
}

/// Splits `text` on `sep` outside quoted strings; the flag says a quote was left open (the
/// last piece is then malformed).
fn split_outside_quotes(text: &str, sep: char) -> (Vec<&str>, bool) {
    let mut pieces = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            pieces.push(&text[start..i]);
            start = i + 1;
        }
    }
    pieces.push(&text[start..]);
    (pieces, quoted)
}

/// The `for=` node of one `Forwarded` element, if it is an address.
fn element_for(element: &str) -> Option<IpAddr> {
    let (pairs, open) = split_outside_quotes(element, ';');
    if open {
        return None;
    }
    let mut found = None;
    for pair in pairs {
        let pair = pair.trim();
        if pair.is_empty() {
            continue;
        }
        let (name, value) = pair.split_once('=')?;
        let name = name.trim();
        if name.is_empty() || !name.bytes().all(is_tchar) {
            return None;
        }
        let value = value.trim();
        let value = if let Some(inner) = value.strip_prefix('"') {
            let inner = inner.strip_suffix('"')?;
            // a quoted-pair stands for its character
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                out.push(if c == '\\' { chars.next()? } else { c });
            }
            out
        } else {
            // unquoted: a token, though `1.2.3.4:80` (a colon) is common and harmless
            if value.is_empty() || !value.bytes().all(|b| is_tchar(b) || b == b':') {
                return None;
            }
            value.to_string()
        };
        if name.eq_ignore_ascii_case("for") {
            if found.is_some() {
                // two `for` in one element: not a well-formed hop
                return None;
            }
            found = Some(value);
        }
    }
    node_address(&found?).map(canonical)
}

/// RFC 7230 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `Forwarded`'s hops (one per element), left to right.
fn forwarded_hops(value: &str) -> Vec<Option<IpAddr>> {
    let (elements, open) = split_outside_quotes(value, ',');
    let last = elements.len() - 1;
    elements
        .iter()
        .enumerate()
        .map(|(i, e)| {
            if open && i == last {
                None
            } else {
                element_for(e)
            }
        })
        .collect()
}

/// Middleware: works out the request's [`ClientInfo`] once and leaves it in its extensions
/// for the auth throttle, the login form and the request log.
pub async fn identify(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let info = state.proxies.client(peer, req.headers());
    req.extensions_mut().insert(info);
    next.run(req).await
}

/// The request's client: what [`identify`] found, else the socket peer as it is.
pub fn client_of(parts: &Parts) -> ClientInfo {
    parts
        .extensions
        .get::<ClientInfo>()
        .copied()
        .unwrap_or_else(|| {
            let peer = parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| canonical(c.0.ip()));
            ClientInfo {
                peer,
                addr: peer,
                forwarded_https: false,
            }
        })
}

/// Extractor: the request's [`ClientInfo`] (never rejects).
#[derive(Debug, Clone, Copy)]
pub struct Client(pub ClientInfo);

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Client(client_of(parts)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).expect("name"),
                v.parse().expect("value"),
            );
        }
        h
    }

    fn proxies() -> TrustedProxies {
        TrustedProxies::parse(&["10.0.0.0/8", "::1", "fd00::/8"]).expect("valid")
    }

    fn client_of(peer: &str, pairs: &[(&str, &str)]) -> IpAddr {
        proxies()
            .client(Some(ip(peer)), &headers(pairs))
            .addr
            .expect("an address")
    }

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        for h in [
            ("x-forwarded-for", "198.51.100.7"),
            ("forwarded", "for=198.51.100.7"),
        ] {
            assert_eq!(client_of("203.0.113.5", &[h]), ip("203.0.113.5"), "{h:?}");
        }
        let none = TrustedProxies::default();
        let info = none.client(
            Some(ip("10.0.0.1")),
            &headers(&[
                ("x-forwarded-for", "1.2.3.4"),
                ("x-forwarded-proto", "https"),
            ]),
        );
        assert_eq!(info.addr, Some(ip("10.0.0.1")));
        assert!(!info.forwarded_https);
        assert_eq!(none.client(None, &HeaderMap::new()).addr, None);
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let p = "10.0.0.2";
        assert_eq!(
            client_of(p, &[("x-forwarded-for", "198.51.100.7")]),
            ip("198.51.100.7")
        );
        // what the client wrote on the left is never reached
        assert_eq!(
            client_of(p, &[("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.1.1.1")]),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_of(p, &[("x-forwarded-for", "garbage, 198.51.100.7")]),
            ip("198.51.100.7")
        );
        // header lines are one list
        assert_eq!(
            client_of(
                p,
                &[
                    ("x-forwarded-for", "6.6.6.6"),
                    ("x-forwarded-for", "198.51.100.8")
                ]
            ),
            ip("198.51.100.8")
        );
        // every hop a proxy: the first
        assert_eq!(
            client_of(p, &[("x-forwarded-for", "10.9.9.9, 10.1.1.1")]),
            ip("10.9.9.9")
        );
        // ports and brackets
        assert_eq!(
            client_of(p, &[("x-forwarded-for", "198.51.100.7:5555")]),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_of(p, &[("x-forwarded-for", "[2001:db8::1]:4711")]),
            ip("2001:db8::1")
        );
        assert_eq!(
            client_of(p, &[("x-forwarded-for", "2001:db8::2")]),
            ip("2001:db8::2")
        );
        // a trusted peer forwarding nothing is the client itself
        assert_eq!(client_of(p, &[]), ip("10.0.0.2"));
        // IPv4-mapped peers and hops are IPv4
        assert_eq!(
            client_of(
                "::ffff:10.0.0.2",
                &[("x-forwarded-for", "::ffff:198.51.100.7")]
            ),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn forwarded_elements_per_rfc_7239() {
        let p = "::1";
        for (value, want) in [
            ("for=192.0.2.60;proto=http;by=203.0.113.43", "192.0.2.60"),
            ("for=\"[2001:db8::1]:4711\"", "2001:db8::1"),
            ("For=\"[2001:db8:cafe::17]\"", "2001:db8:cafe::17"),
            ("for=\"192.0.2.43:47011\"", "192.0.2.43"),
            ("for=192.0.2.43:47011", "192.0.2.43"),
            // unquoted IPv6 is not RFC 7239, but unambiguous without a port
            ("for=2001:db8::3", "2001:db8::3"),
            ("for=\"198.51.100.17:_p1\"", "198.51.100.17"),
            ("for=6.6.6.6, for=192.0.2.61", "192.0.2.61"),
            ("for=\"x, y\";by=\"a;b\", for=192.0.2.62", "192.0.2.62"),
            ("for=192.0.2.63, for=\"[fd00::5]\"", "192.0.2.63"),
        ] {
            assert_eq!(client_of(p, &[("forwarded", value)]), ip(want), "{value}");
        }
    }

    #[test]
    fn malformed_or_unknown_hops_fall_back_to_the_peer() {
        let p = "10.0.0.2";
        for (name, value) in [
            ("forwarded", "for=unknown"),
            ("forwarded", "for=_hidden"),
            ("forwarded", "for=[2001:db8::1]"),
            ("forwarded", "for=\"[2001:db8::1]:99999\""),
            ("forwarded", "for=\"192.0.2.60"),
            ("forwarded", "for=192.0.2.60;for=192.0.2.61"),
            ("forwarded", "proto=https"),
            ("forwarded", "for"),
            ("forwarded", ""),
            ("forwarded", "192.0.2.60"),
            ("x-forwarded-for", "198.51.100.7, not-an-ip"),
            ("x-forwarded-for", "198.51.100.7,"),
            ("x-forwarded-for", ""),
            ("x-forwarded-for", "[2001:db8::1"),
            ("x-forwarded-for", "300.1.1.1"),
        ] {
            assert_eq!(client_of(p, &[(name, value)]), ip(p), "{name}: {value}");
        }
        // non-ASCII bytes in the header
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            axum::http::HeaderValue::from_bytes(b"198.51.100.7\xff").expect("opaque"),
        );
        assert_eq!(proxies().client(Some(ip(p)), &h).addr, Some(ip(p)));
    }

    #[test]
    fn two_headers_must_agree() {
        let p = "10.0.0.2";
        // the proxy wrote one, the client the other: neither is believed
        assert_eq!(
            client_of(
                p,
                &[
                    ("forwarded", "for=6.6.6.6"),
                    ("x-forwarded-for", "198.51.100.7")
                ]
            ),
            ip(p)
        );
        assert_eq!(
            client_of(
                p,
                &[
                    ("forwarded", "for=198.51.100.7"),
                    ("x-forwarded-for", "198.51.100.7")
                ]
            ),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn forwarded_https_counts_only_from_a_trusted_proxy() {
        let with = |values: &[&str]| {
            let mut h = HeaderMap::new();
            for v in values {
                h.append("x-forwarded-proto", v.parse().expect("header"));
            }
            h
        };
        let trusted = Some(ip("10.0.0.2"));
        let https = |peer: Option<IpAddr>, h: &HeaderMap| proxies().client(peer, h).forwarded_https;
        assert!(https(trusted, &with(&["https"])));
        assert!(https(trusted, &with(&["HTTPS "])));
        assert!(https(Some(ip("::ffff:10.0.0.2")), &with(&["https"])));
        assert!(https(Some(ip("::1")), &with(&["https"])));
        // the proxy's own value is the last one; what the client sent before it is not
        assert!(!https(trusted, &with(&["https, http"])));
        assert!(!https(trusted, &with(&["https", "http"])));
        assert!(https(trusted, &with(&["http, https"])));
        assert!(!https(trusted, &with(&["http"])));
        assert!(!https(trusted, &HeaderMap::new()));
        assert!(!https(Some(ip("192.168.0.3")), &with(&["https"])));
        assert!(!https(None, &with(&["https"])));
    }

    #[test]
    fn ranges_parse_or_name_the_value() {
        let p = TrustedProxies::parse(&["10.0.0.0/8", "10.0.0.0/8", "127.0.0.1"]).expect("ok");
        assert_eq!(p.nets().len(), 2, "deduplicated");
        assert!(p.contains(ip("10.200.1.1")));
        assert!(p.contains(ip("::ffff:127.0.0.1")));
        assert!(!p.contains(ip("127.0.0.2")));
        let e = TrustedProxies::parse(&["proxy.example"]).expect_err("a name");
        assert!(e.to_string().starts_with("`proxy.example` is not"), "{e}");
        assert!(TrustedProxies::parse(&["10.0.0.1/8"]).is_err(), "host bits");
        assert!(TrustedProxies::parse(&["10.0.0.0/33"]).is_err());
    }
}
