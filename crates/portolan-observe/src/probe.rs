//! Reachability probes from here: TCP connect, UDP (best effort, with honest
//! `open|filtered`), and HTTP status over TCP. Bounded concurrency on a pool of threads, a
//! per-probe timeout, retries, and a global deadline so a sweep never hangs; results sorted.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::listener::Transport;

/// One thing to probe.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Target {
    /// Name as given (host name or address).
    pub host: String,
    /// Resolved address.
    pub addr: IpAddr,
    /// Port.
    pub port: u16,
    /// Transport.
    pub transport: Transport,
    /// HTTP path to request (`/health`), for an HTTP probe.
    pub http_path: Option<String>,
    /// Handshake TLS (and report the certificate).
    pub tls: bool,
}

/// What a probe found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// Something accepted the connection (TCP) or answered (UDP).
    Open,
    /// Actively refused (TCP RST, ICMP port unreachable).
    Closed,
    /// No answer within the timeout (TCP).
    Filtered,
    /// UDP without any answer: open, or dropped by a firewall — UDP cannot tell.
    OpenFiltered,
    /// The probe could not run (no route, …).
    Error(String),
    /// Not probed: the global deadline passed first.
    Skipped,
}

impl State {
    /// `open`, `closed`, `filtered`, `open|filtered`, `error`, `skipped`.
    pub fn as_str(&self) -> &str {
        match self {
            State::Open => "open",
            State::Closed => "closed",
            State::Filtered => "filtered",
            State::OpenFiltered => "open|filtered",
            State::Error(_) => "error",
            State::Skipped => "skipped",
        }
    }
}

/// One result.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    /// The target.
    pub target: Target,
    /// The state.
    pub state: State,
    /// Round-trip time of the deciding attempt, in microseconds.
    pub micros: u64,
    /// HTTP status line code, for HTTP probes that got an answer.
    pub http_status: Option<u16>,
    /// What the TLS handshake showed, for TLS probes.
    pub tls: Option<crate::tls::TlsInfo>,
}

/// Knobs.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Probes in flight at once.
    pub concurrency: usize,
    /// Per attempt.
    pub timeout: Duration,
    /// Extra attempts after a timeout.
    pub retries: u32,
    /// The whole run.
    pub deadline: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            concurrency: 256,
            timeout: Duration::from_secs(1),
            retries: 0,
            deadline: Duration::from_secs(60),
        }
    }
}

/// Why a target could not be parsed or resolved.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// Bad syntax.
    #[error("`{0}`: expected HOST:PORT, HOST:LO-HI, or an http:// URL")]
    Syntax(String),
    /// Bad port.
    #[error("`{0}`: {1}")]
    Port(String, String),
    /// The name does not resolve.
    #[error("`{0}` does not resolve: {1}")]
    Resolve(String, String),
}

fn resolve(host: &str) -> Result<IpAddr, TargetError> {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = h.parse() {
        return Ok(ip);
    }
    (h, 0)
        .to_socket_addrs()
        .map_err(|e| TargetError::Resolve(host.to_string(), e.to_string()))?
        .next()
        .map(|a| a.ip())
        .ok_or_else(|| TargetError::Resolve(host.to_string(), "no address".into()))
}

fn port_range(spec: &str, s: &str) -> Result<(u16, u16), TargetError> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let p = |x: &str| -> Result<u16, TargetError> {
        match x.trim().parse::<u32>() {
            Ok(n) if (1..=65535).contains(&n) => {
                u16::try_from(n).map_err(|e| TargetError::Port(spec.into(), e.to_string()))
            }
            Ok(n) => Err(TargetError::Port(
                spec.into(),
                format!("port {n} is out of range (expected 1-65535)"),
            )),
            Err(_) => Err(TargetError::Port(
                spec.into(),
                format!("`{x}` is not a port number"),
            )),
        }
    };
    let (lo, hi) = (p(a)?, p(b)?);
    if hi < lo {
        return Err(TargetError::Port(
            spec.into(),
            format!("range {lo}-{hi} is inverted"),
        ));
    }
    Ok((lo, hi))
}

/// Parses `host:port`, `host:lo-hi`, `[v6]:port`, `udp://host:port`, `http://host[:port]/path`,
/// `tls://host:port`, `https://host[:port]/path`.
pub fn parse_target(spec: &str) -> Result<Vec<Target>, TargetError> {
    let (scheme, rest) = spec
        .split_once("://")
        .map_or(("tcp", spec), |(s, r)| (s, r));
    let (hostport, path) = match rest.split_once('/') {
        Some((hp, p)) => (hp, Some(format!("/{p}"))),
        None => (rest, None),
    };
    let (host, ports) = match hostport.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() && (!h.contains(':') || h.ends_with(']')) => (h, Some(p)),
        _ => (hostport, None),
    };
    let (transport, http, default_port, tls) = match scheme {
        "tcp" => (Transport::Tcp, false, None, false),
        "udp" => (Transport::Udp, false, None, false),
        "http" => (Transport::Tcp, true, Some(80), false),
        "tls" => (Transport::Tcp, false, None, true),
        "https" => (Transport::Tcp, true, Some(443), true),
        _ => return Err(TargetError::Syntax(spec.into())),
    };
    let (lo, hi) = match (ports, default_port) {
        (Some(p), _) => port_range(spec, p)?,
        (None, Some(d)) => (d, d),
        (None, None) => return Err(TargetError::Syntax(spec.into())),
    };
    if host.is_empty() {
        return Err(TargetError::Syntax(spec.into()));
    }
    let addr = resolve(host)?;
    Ok((lo..=hi)
        .map(|port| Target {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            addr,
            port,
            transport,
            http_path: http.then(|| path.clone().unwrap_or_else(|| "/".into())),
            tls,
        })
        .collect())
}

/// A plain TCP connect, syscall-lean: on loopback a sweep of 65,535 ports is bound by
/// kernel time, so each worker keeps one socket, bound once to an ephemeral port, and reuses
/// it after every refused connect (Linux allows connecting a TCP socket again once an attempt
/// failed); only an accepted or timed-out connect costs a new socket. `SO_SNDTIMEO` bounds
/// the connect.
fn tcp_connect(
    sa: SocketAddr,
    timeout: Duration,
    cache: &mut Option<rustix::fd::OwnedFd>,
) -> State {
    use rustix::io::Errno;
    use rustix::net::{
        AddressFamily, SocketFlags, SocketType, bind, connect, socket_with, sockopt,
    };
    let fam = if sa.is_ipv4() {
        AddressFamily::INET
    } else {
        AddressFamily::INET6
    };
    let fd = match cache.take() {
        Some(fd)
            if rustix::net::getsockname(&fd)
                .ok()
                .and_then(|a| SocketAddr::try_from(a).ok())
                .is_some_and(|a| a.is_ipv4() == sa.is_ipv4()) =>
        {
            fd
        }
        _ => {
            let fd = match socket_with(fam, SocketType::STREAM, SocketFlags::CLOEXEC, None) {
                Ok(fd) => fd,
                Err(e) => return State::Error(e.to_string()),
            };
            let any: SocketAddr = if sa.is_ipv4() {
                SocketAddr::from(([0, 0, 0, 0], 0))
            } else {
                SocketAddr::from(([0u16; 8], 0))
            };
            let _ = bind(&fd, &any);
            let _ = sockopt::set_socket_timeout(&fd, sockopt::Timeout::Send, Some(timeout));
            fd
        }
    };
    match connect(&fd, &sa) {
        Ok(()) => {
            // connecting to a free port can pick that very port as the source and connect to
            // itself (TCP simultaneous open): that is not a listener
            let me = rustix::net::getsockname(&fd)
                .ok()
                .and_then(|a| SocketAddr::try_from(a).ok());
            if me == Some(sa) {
                State::Closed
            } else {
                State::Open
            }
        }
        Err(Errno::CONNREFUSED) => {
            *cache = Some(fd);
            State::Closed
        }
        Err(Errno::INPROGRESS | Errno::AGAIN | Errno::TIMEDOUT) => State::Filtered,
        Err(e) => State::Error(e.to_string()),
    }
}

fn tcp(
    t: &Target,
    timeout: Duration,
    cache: &mut Option<rustix::fd::OwnedFd>,
) -> (State, Option<u16>, Option<crate::tls::TlsInfo>) {
    let sa = SocketAddr::new(t.addr, t.port);
    if t.tls {
        return match tcp_connect(sa, timeout, cache) {
            State::Open => match crate::tls::probe(sa, &t.host, timeout, t.http_path.as_deref()) {
                Ok((info, status)) => (State::Open, status, Some(info)),
                Err(e) => (State::Error(e), None, None),
            },
            other => (other, None, None),
        };
    }
    let (state, status) = plain(t, sa, timeout, cache);
    (state, status, None)
}

fn plain(
    t: &Target,
    sa: SocketAddr,
    timeout: Duration,
    cache: &mut Option<rustix::fd::OwnedFd>,
) -> (State, Option<u16>) {
    if t.http_path.is_none() {
        return (tcp_connect(sa, timeout, cache), None);
    }
    match TcpStream::connect_timeout(&sa, timeout) {
        Ok(mut s) => {
            let path = t.http_path.as_deref().unwrap_or("/");
            let _ = s.set_read_timeout(Some(timeout));
            let _ = s.set_write_timeout(Some(timeout));
            let req = format!(
                "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nUser-Agent: portolan-probe\r\n\r\n",
                t.host
            );
            let mut buf = [0u8; 64];
            let status = s
                .write_all(req.as_bytes())
                .ok()
                .and_then(|()| s.read(&mut buf).ok())
                .and_then(|n| {
                    let head = std::str::from_utf8(buf.get(..n)?).ok()?;
                    head.strip_prefix("HTTP/")?
                        .split_whitespace()
                        .nth(1)?
                        .parse()
                        .ok()
                });
            (State::Open, status)
        }
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => (State::Closed, None),
        Err(e)
            if e.kind() == std::io::ErrorKind::TimedOut
                || e.kind() == std::io::ErrorKind::WouldBlock =>
        {
            (State::Filtered, None)
        }
        Err(e) => (State::Error(e.to_string()), None),
    }
}

fn udp(t: &Target, timeout: Duration) -> State {
    let bind: SocketAddr = if t.addr.is_ipv4() {
        "0.0.0.0:0".parse()
    } else {
        "[::]:0".parse()
    }
    .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
    let Ok(s) = UdpSocket::bind(bind) else {
        return State::Error("cannot open a UDP socket".into());
    };
    if let Err(e) = s.connect(SocketAddr::new(t.addr, t.port)) {
        return State::Error(e.to_string());
    }
    let _ = s.set_read_timeout(Some(timeout));
    if let Err(e) = s.send(&[]) {
        return if e.kind() == std::io::ErrorKind::ConnectionRefused {
            State::Closed
        } else {
            State::Error(e.to_string())
        };
    }
    let mut buf = [0u8; 512];
    match s.recv(&mut buf) {
        Ok(_) => State::Open,
        // the ICMP port-unreachable of a closed port surfaces as ECONNREFUSED
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => State::Closed,
        Err(_) => State::OpenFiltered,
    }
}

/// Probes every target; results in target order (sorted by address, port, transport).
pub fn run(
    mut targets: Vec<Target>,
    opts: Options,
    progress: &(dyn Fn(usize) + Sync),
) -> Vec<Outcome> {
    targets.sort();
    targets.dedup();
    let start = Instant::now();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<Outcome>>> = targets.iter().map(|_| Mutex::new(None)).collect();
    let workers = opts.concurrency.clamp(1, targets.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                let mut cache = None;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(t) = targets.get(i) else { break };
                    let outcome = if start.elapsed() >= opts.deadline {
                        Outcome {
                            target: t.clone(),
                            state: State::Skipped,
                            micros: 0,
                            http_status: None,
                            tls: None,
                        }
                    } else {
                        let left = opts.deadline.saturating_sub(start.elapsed());
                        let timeout = opts.timeout.min(left).max(Duration::from_millis(1));
                        let mut attempt = 0;
                        loop {
                            let a = Instant::now();
                            let (state, http_status, tls) = match t.transport {
                                Transport::Tcp => tcp(t, timeout, &mut cache),
                                Transport::Udp => (udp(t, timeout), None, None),
                            };
                            let retry = matches!(state, State::Filtered | State::OpenFiltered)
                                && attempt < opts.retries
                                && start.elapsed() < opts.deadline;
                            if !retry {
                                break Outcome {
                                    target: t.clone(),
                                    state,
                                    micros: u64::try_from(a.elapsed().as_micros())
                                        .unwrap_or(u64::MAX),
                                    http_status,
                                    tls,
                                };
                            }
                            attempt += 1;
                        }
                    };
                    if let Ok(mut slot) = results[i].lock() {
                        *slot = Some(outcome);
                    }
                    progress(done.fetch_add(1, Ordering::Relaxed) + 1);
                }
            });
        }
    });
    results
        .into_iter()
        .filter_map(|m| m.into_inner().ok().flatten())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_targets() {
        let t = parse_target("127.0.0.1:8000-8002").unwrap();
        assert_eq!(
            t.iter().map(|x| x.port).collect::<Vec<_>>(),
            [8000, 8001, 8002]
        );
        assert_eq!(
            parse_target("[::1]:443").unwrap()[0].addr,
            "::1".parse::<IpAddr>().unwrap()
        );
        let h = parse_target("http://127.0.0.1:8080/health").unwrap();
        assert_eq!(h[0].http_path.as_deref(), Some("/health"));
        assert_eq!(
            parse_target("udp://127.0.0.1:53").unwrap()[0].transport,
            Transport::Udp
        );
        assert!(matches!(
            parse_target("127.0.0.1:abc"),
            Err(TargetError::Port(..))
        ));
        assert!(matches!(
            parse_target("127.0.0.1:70000"),
            Err(TargetError::Port(..))
        ));
        assert!(matches!(
            parse_target("127.0.0.1"),
            Err(TargetError::Syntax(_))
        ));
        assert!(matches!(
            parse_target("no-such-host.invalid:80"),
            Err(TargetError::Resolve(..))
        ));
    }

    #[test]
    fn tcp_open_closed_and_udp() {
        let open = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let op = open.local_addr().unwrap().port();
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let u = UdpSocket::bind("127.0.0.1:0").unwrap();
        let up = u.local_addr().unwrap().port();
        let mut targets = parse_target(&format!("127.0.0.1:{op}")).unwrap();
        targets.extend(parse_target(&format!("127.0.0.1:{closed}")).unwrap());
        targets.extend(parse_target(&format!("udp://127.0.0.1:{up}")).unwrap());
        targets.extend(parse_target(&format!("udp://127.0.0.1:{closed}")).unwrap());
        let opts = Options {
            timeout: Duration::from_millis(200),
            ..Options::default()
        };
        let r = run(targets, opts, &|_| {});
        let find = |p: u16, tr: Transport| {
            r.iter()
                .find(|o| o.target.port == p && o.target.transport == tr)
                .unwrap()
                .state
                .clone()
        };
        assert_eq!(find(op, Transport::Tcp), State::Open);
        assert_eq!(find(closed, Transport::Tcp), State::Closed);
        assert_eq!(
            find(up, Transport::Udp),
            State::OpenFiltered,
            "a silent UDP service is open|filtered"
        );
        assert_eq!(find(closed, Transport::Udp), State::Closed);
    }

    #[test]
    fn deadline_bounds_the_run() {
        let targets = parse_target("127.0.0.1:1-2000").unwrap();
        let opts = Options {
            concurrency: 1,
            deadline: Duration::from_millis(1),
            ..Options::default()
        };
        let r = run(targets, opts, &|_| {});
        assert_eq!(r.len(), 2000);
        assert!(r.iter().any(|o| o.state == State::Skipped));
    }
}
