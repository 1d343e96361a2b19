//! Listening sockets the way `ss` reads them: one `NETLINK_SOCK_DIAG` dump per (family,
//! protocol), asking the kernel only for LISTEN (TCP) or unconnected (UDP) sockets. Messages
//! are built and parsed by hand (`inet_diag_req_v2` / `inet_diag_msg`, see `sock_diag(7)`), so
//! no unsafe code and no netlink crate are needed. `procfs` is the fallback.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rustix::net::netlink::{self, SocketAddrNetlink};
use rustix::net::{
    AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType, recv, sendto, socket_with,
};

use crate::ObserveError;
use crate::listener::{Listener, Transport};

const SOCK_DIAG_BY_FAMILY: u16 = 20;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;
const TCP_LISTEN: u32 = 10;
const TCP_CLOSE: u32 = 7;

/// A failed step, the errno kept.
fn failed(step: &'static str) -> impl Fn(rustix::io::Errno) -> ObserveError {
    move |e| ObserveError::Netlink {
        step,
        source: e.into(),
    }
}

/// A reply the kernel should not send (no errno: the reply itself is wrong).
fn malformed(what: &str) -> ObserveError {
    ObserveError::Netlink {
        step: "recv",
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string()),
    }
}

fn request(seq: u32, family: u8, protocol: u8, states: u32) -> Vec<u8> {
    let mut m = Vec::with_capacity(72);
    m.extend_from_slice(&72u32.to_ne_bytes()); // nlmsg_len
    m.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    m.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes()); // pid
    m.extend_from_slice(&[family, protocol, 0, 0]); // family, protocol, ext, pad
    m.extend_from_slice(&states.to_ne_bytes());
    m.extend_from_slice(&[0u8; 48]); // inet_diag_sockid: any
    m
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

/// Parses one `inet_diag_msg`.
fn parse_msg(b: &[u8], transport: Transport) -> Option<Listener> {
    let family = *b.first()?;
    let port = u16::from_be_bytes(b.get(4..6)?.try_into().ok()?);
    let dport = u16::from_be_bytes(b.get(6..8)?.try_into().ok()?);
    if transport == Transport::Udp && dport != 0 {
        return None; // a connected UDP socket is a client
    }
    let src = b.get(8..24)?;
    let addr = if family == AF_INET {
        IpAddr::V4(Ipv4Addr::new(src[0], src[1], src[2], src[3]))
    } else {
        IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(src).ok()?))
    };
    let uid = u32_at(b, 64)?;
    let inode = u64::from(u32_at(b, 68)?);
    Some(Listener {
        transport,
        addr,
        port,
        inode,
        uid,
        owners: Vec::new(),
        container: None,
    })
}

fn dump(
    seq: u32,
    family: u8,
    protocol: u8,
    states: u32,
    buf: &mut [u8],
) -> Result<Vec<Listener>, ObserveError> {
    let transport = if protocol == IPPROTO_TCP {
        Transport::Tcp
    } else {
        Transport::Udp
    };
    let fd = socket_with(
        AddressFamily::NETLINK,
        SocketType::RAW,
        SocketFlags::CLOEXEC,
        Some(netlink::SOCK_DIAG),
    )
    .map_err(failed("socket"))?;
    sendto(
        &fd,
        &request(seq, family, protocol, states),
        SendFlags::empty(),
        &SocketAddrNetlink::new(0, 0),
    )
    .map_err(failed("send"))?;
    let mut out = Vec::new();
    loop {
        let (_, n) = recv(&fd, &mut *buf, RecvFlags::empty()).map_err(failed("recv"))?;
        let data = buf.get(..n).unwrap_or_default();
        let mut off = 0;
        while off + 16 <= data.len() {
            let len = u32_at(data, off).map_or(0, |l| l as usize);
            let kind = u16_at(data, off + 4).unwrap_or(NLMSG_DONE);
            if len < 16 || off + len > data.len() {
                return Err(malformed("truncated netlink message"));
            }
            match kind {
                NLMSG_DONE => return Ok(out),
                NLMSG_ERROR => {
                    let errno = data
                        .get(off + 16..off + 20)
                        .and_then(|e| e.try_into().ok())
                        .map_or(0, i32::from_ne_bytes);
                    // the kernel's answer to the dump: a negative errno
                    return Err(ObserveError::Netlink {
                        step: "dump",
                        source: std::io::Error::from_raw_os_error(errno.saturating_neg()),
                    });
                }
                _ => {
                    if let Some(l) = data
                        .get(off + 16..off + len)
                        .and_then(|m| parse_msg(m, transport))
                    {
                        out.push(l);
                    }
                }
            }
            off += (len + 3) & !3;
        }
        if n == 0 {
            return Ok(out);
        }
    }
}

/// The listening sockets of other network namespaces (each named by an open
/// `/proc/PID/ns/net`), read by worker threads (one per core, up to four) that enter each in
/// turn (`setns`, which needs `CAP_SYS_ADMIN`; a worker and its namespace end with the call).
/// Far cheaper than `/proc/PID/net/*`, which walks the whole (machine-wide) socket hash
/// tables per read. One result per namespace, in order.
pub fn sockets_in(namespaces: &[std::fs::File]) -> Vec<Result<Vec<Listener>, ObserveError>> {
    use rustix::thread::{LinkNameSpaceType, move_into_link_name_space};
    use std::os::fd::AsFd;
    if namespaces.is_empty() {
        return Vec::new();
    }
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .clamp(1, 4);
    let per = namespaces.len().div_ceil(workers);
    std::thread::scope(|s| {
        let handles: Vec<_> = namespaces
            .chunks(per)
            .map(|chunk| {
                s.spawn(move || {
                    let mut buf = vec![0u8; RECV_BUFFER];
                    chunk
                        .iter()
                        .map(|ns| {
                            move_into_link_name_space(ns.as_fd(), Some(LinkNameSpaceType::Network))
                                .map_err(failed("setns"))?;
                            sockets_with(&mut buf)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .zip(namespaces.chunks(per))
            .flat_map(|(h, chunk)| {
                h.join().unwrap_or_else(|_| {
                    chunk
                        .iter()
                        .map(|_| {
                            Err(ObserveError::Netlink {
                                step: "setns",
                                source: std::io::Error::other("namespace worker panicked"),
                            })
                        })
                        .collect()
                })
            })
            .collect()
    })
}

/// Bytes per `recv` (one buffer per thread, reused for every dump: zeroing a fresh one per
/// dump cost more than the dumps themselves across many namespaces).
const RECV_BUFFER: usize = 64 * 1024;

/// Every listening TCP and bound UDP socket (IPv4 and IPv6) of this network namespace.
pub fn sockets() -> Result<Vec<Listener>, ObserveError> {
    sockets_with(&mut vec![0u8; RECV_BUFFER])
}

fn sockets_with(buf: &mut [u8]) -> Result<Vec<Listener>, ObserveError> {
    let mut out = Vec::new();
    let mut seq = 1;
    for family in [AF_INET, AF_INET6] {
        for (protocol, states) in [
            (IPPROTO_TCP, 1 << TCP_LISTEN),
            (IPPROTO_UDP, 1 << TCP_CLOSE),
        ] {
            out.extend(dump(seq, family, protocol, states, buf)?);
            seq += 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_namespace_through_setns() {
        // our own namespace, entered from the worker thread: the same sockets
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        let ns = std::fs::File::open("/proc/self/ns/net").unwrap();
        let got = sockets_in(&[ns]);
        let list = got[0].as_ref().expect("setns into our own namespace");
        assert!(
            list.iter()
                .any(|l| l.port == port && l.transport == Transport::Tcp)
        );
        drop(tcp);
    }

    /// Regression: netlink failures became a string (`kernel error 22`, `setns: …`) inside
    /// an `io::Error::other`, so callers could not tell EPERM from EINVAL.
    #[test]
    fn a_failed_setns_keeps_its_errno() {
        let not_a_namespace = std::fs::File::open("/proc/self/status").unwrap();
        let got = sockets_in(&[not_a_namespace]);
        match &got[0] {
            Err(ObserveError::Netlink { step, source }) => {
                assert_eq!(*step, "setns");
                assert_eq!(source.raw_os_error(), Some(22), "{source}"); // EINVAL
            }
            other => panic!("setns into a plain file: {other:?}"),
        }
    }

    #[test]
    fn agrees_with_procfs() {
        // other tests open sockets concurrently: compare on the sockets this test owns
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let udp = std::net::UdpSocket::bind("[::1]:0").unwrap();
        let ours = [
            (Transport::Tcp, tcp.local_addr().unwrap()),
            (Transport::Udp, udp.local_addr().unwrap()),
        ];
        let a = sockets().expect("netlink sock_diag");
        let b = crate::procfs::sockets(std::path::Path::new("/proc")).unwrap();
        for (t, sa) in ours {
            let find = |v: &[Listener]| {
                v.iter()
                    .find(|l| l.transport == t && l.port == sa.port() && l.addr == sa.ip())
                    .map(|l| (l.inode, l.uid))
            };
            let (x, y) = (find(&a), find(&b));
            assert!(x.is_some(), "netlink misses {t:?} {sa}");
            assert_eq!(x, y, "netlink and procfs disagree on {t:?} {sa}");
        }
    }
}
