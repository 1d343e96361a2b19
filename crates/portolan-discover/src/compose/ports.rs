//! The compose `ports:` short syntax, `[[HOST_IP:]PUBLISHED:]TARGET[/PROTOCOL]`, split the
//! way Docker splits it (the last `:` ends the host IP, so `::1:8080:80` and
//! `[::1]:8080:80` both bind `::1`), with the byte range of every part so evidence can
//! point at the token.

use std::ops::Range;

use portolan_model::port::PortRange;
use portolan_model::spec::Transport;

use crate::text::port_token;

/// One parsed short-syntax entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Short {
    /// The host IP without brackets, and where it is.
    pub host_ip: Option<(String, Range<usize>)>,
    /// The host port(s), `None` when Docker picks an ephemeral one.
    pub published: Option<(PortRange, Range<usize>)>,
    /// The container port(s).
    pub target: (PortRange, Range<usize>),
    /// `/tcp` or `/udp` (TCP when absent).
    pub transport: Transport,
}

/// Parses `tcp`/`udp` (any case).
pub(crate) fn transport(s: &str) -> Result<Transport, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "tcp" | "" => Ok(Transport::Tcp),
        "udp" => Ok(Transport::Udp),
        other => Err(format!("protocol `{other}` is not tcp or udp")),
    }
}

/// The `:`-separated parts of a short-syntax entry *before* interpolation (byte ranges of
/// `raw`, without a `/protocol`): colons and slashes inside `${…}` do not split. Lets
/// evidence point at `${API_PORT:-8000}` itself when a variable makes the interpolated text
/// differ from the file's.
pub(crate) fn raw_parts(raw: &str) -> Vec<Range<usize>> {
    let b = raw.as_bytes();
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'$' if b.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'}' if depth > 0 => depth -= 1,
            b':' if depth == 0 => {
                parts.push(start..i);
                start = i + 1;
            }
            b'/' if depth == 0 => break,
            _ => {}
        }
        i += 1;
    }
    parts.push(start..i);
    parts
}

/// Parses a short-syntax entry (ranges are byte offsets into `s`).
pub(crate) fn parse_short(s: &str) -> Result<Short, String> {
    let (body, transport) = match s.rsplit_once('/') {
        Some((body, proto)) => (body, self::transport(proto)?),
        None => (s, Transport::Tcp),
    };
    // `(start, text)` of each `:`-separated part.
    let mut parts: Vec<(usize, &str)> = Vec::new();
    let mut start = 0;
    for piece in body.split(':') {
        parts.push((start, piece));
        start += piece.len() + 1;
    }
    let (&(t_at, t), rest) = parts
        .split_last()
        .ok_or_else(|| "empty port entry".to_string())?;
    let target = (
        port_token(t).ok_or_else(|| format!("`{t}` is not a container port"))?,
        t_at..t_at + t.len(),
    );
    let mut published = None;
    let mut host_ip = None;
    if let Some((&(p_at, p), ip_parts)) = rest.split_last() {
        if !p.is_empty() {
            published = Some((
                port_token(p).ok_or_else(|| format!("`{p}` is not a host port"))?,
                p_at..p_at + p.len(),
            ));
        }
        if !ip_parts.is_empty() {
            let ip = &body[..p_at - 1];
            let (bare, at) = match ip.strip_prefix('[').and_then(|i| i.strip_suffix(']')) {
                Some(inner) => (inner, 1..ip.len() - 1),
                None => (ip, 0..ip.len()),
            };
            if bare.parse::<std::net::IpAddr>().is_err() {
                return Err(format!("`{ip}` is not an IP address"));
            }
            host_ip = Some((bare.to_string(), at));
        }
    } else if t.is_empty() {
        return Err("empty port entry".to_string());
    }
    if let Some((p, _)) = &published
        && target.0.len() > 1
        && p.len() != target.0.len()
    {
        return Err(format!(
            "host range {p} and container range {} differ in length",
            target.0
        ));
    }
    Ok(Short {
        host_ip,
        published,
        target,
        transport,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(p: u16) -> PortRange {
        PortRange::single(p)
    }

    #[test]
    fn container_only() {
        let s = parse_short("8069").expect("ok");
        assert_eq!(s.target, (one(8069), 0..4));
        assert_eq!(s.published, None);
        assert_eq!(s.host_ip, None);
    }

    #[test]
    fn host_and_container() {
        let s = parse_short("18069:8069").expect("ok");
        assert_eq!(s.published, Some((one(18069), 0..5)));
        assert_eq!(s.target, (one(8069), 6..10));
    }

    #[test]
    fn with_ipv4_and_protocol() {
        let s = parse_short("127.0.0.1:5432:5432/udp").expect("ok");
        assert_eq!(s.host_ip, Some(("127.0.0.1".into(), 0..9)));
        assert_eq!(s.published, Some((one(5432), 10..14)));
        assert_eq!(s.transport, Transport::Udp);
        assert_eq!(parse_short("80/TCP").expect("ok").transport, Transport::Tcp);
        assert!(parse_short("80/sctp").is_err());
    }

    #[test]
    fn ipv6_hosts_with_and_without_brackets() {
        let s = parse_short("[::1]:8080:80").expect("ok");
        assert_eq!(s.host_ip, Some(("::1".into(), 1..4)));
        assert_eq!(s.published, Some((one(8080), 6..10)));
        assert_eq!(s.target.0, one(80));
        let s = parse_short("::1:8080:80").expect("ok");
        assert_eq!(s.host_ip, Some(("::1".into(), 0..3)));
        assert_eq!(s.published, Some((one(8080), 4..8)));
        let s = parse_short("[fe80::1]::80").expect("ok");
        assert_eq!(s.host_ip.map(|h| h.0).as_deref(), Some("fe80::1"));
        assert_eq!(s.published, None);
    }

    #[test]
    fn ranges() {
        let s = parse_short("8000-8010:8000-8010").expect("ok");
        assert_eq!(s.published.map(|p| p.0), PortRange::new(8000, 8010).ok());
        assert_eq!(s.target.0, PortRange::new(8000, 8010).expect("range"));
        assert!(parse_short("8000-8010:80").is_ok());
        assert!(parse_short("8000-8010:80-81").is_err());
        assert!(parse_short("8010-8000:80").is_err());
    }

    #[test]
    fn garbage() {
        for s in [
            "",
            ":",
            "a:80",
            "80:b",
            "localhost:80:80",
            "0:80",
            "99999",
            "1:2:3:4",
        ] {
            assert!(parse_short(s).is_err(), "{s}");
        }
    }
}
