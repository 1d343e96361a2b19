//! A small blocking HTTP/1.1 client for a container engine's API: one request per connection
//! (`Connection: close`) over a unix socket or plain TCP to this machine, a status line,
//! headers and a body by `Content-Length`, chunked transfer coding or end of stream. Every
//! read runs under one deadline and the response is bounded, so a hung or hostile daemon
//! costs at most the timeout and the limit. No TLS: engines on other machines are not this
//! machine's containers anyway.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Most bytes of headers accepted.
const MAX_HEADERS: usize = 64 * 1024;

/// Where the engine listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A unix socket.
    Unix(PathBuf),
    /// Plain TCP (only to this machine).
    Tcp(SocketAddr),
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The connection could not be made.
    #[error("{0}")]
    Connect(std::io::Error),
    /// Reading or writing failed.
    #[error("{0}")]
    Io(std::io::Error),
    /// The deadline passed.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The response is larger than allowed.
    #[error("the response is larger than {0} bytes")]
    TooLarge(usize),
    /// Not HTTP/1.x as expected.
    #[error("malformed response: {0}")]
    Malformed(String),
}

/// A response.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers (names lowercased), in order.
    pub headers: Vec<(String, String)>,
    /// Body (decoded from chunked coding).
    pub body: Vec<u8>,
}

impl Response {
    /// The first header of that (lowercase) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A stream whose every read and write is bounded by one deadline.
struct Deadlined<S> {
    inner: S,
    deadline: Instant,
    timeout: Duration,
}

trait Timed {
    fn set_timeouts(&self, d: Duration) -> std::io::Result<()>;
}

impl Timed for UnixStream {
    fn set_timeouts(&self, d: Duration) -> std::io::Result<()> {
        self.set_read_timeout(Some(d))?;
        self.set_write_timeout(Some(d))
    }
}

impl Timed for TcpStream {
    fn set_timeouts(&self, d: Duration) -> std::io::Result<()> {
        self.set_read_timeout(Some(d))?;
        self.set_write_timeout(Some(d))
    }
}

impl<S: Timed> Deadlined<S> {
    fn arm(&self) -> std::io::Result<()> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "deadline passed",
            ));
        }
        self.inner.set_timeouts(left.max(Duration::from_millis(1)))
    }
}

impl<S: Read + Timed> Read for Deadlined<S> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.arm()?;
        self.inner.read(buf)
    }
}

impl<S: Write + Timed> Write for Deadlined<S> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.arm()?;
        self.inner.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn io_error(e: std::io::Error, timeout: Duration) -> HttpError {
    if matches!(
        e.kind(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
    ) {
        HttpError::Timeout(timeout)
    } else {
        HttpError::Io(e)
    }
}

/// Sends `METHOD path` with an empty body and reads the whole response (at most `max_body`
/// bytes of body) within `timeout`.
pub fn request(
    target: &Target,
    method: &str,
    path: &str,
    timeout: Duration,
    max_body: usize,
) -> Result<Response, HttpError> {
    let deadline = Instant::now() + timeout;
    match target {
        Target::Unix(p) => {
            let s = UnixStream::connect(p).map_err(HttpError::Connect)?;
            exchange(
                Deadlined {
                    inner: s,
                    deadline,
                    timeout,
                },
                method,
                path,
                max_body,
            )
        }
        Target::Tcp(a) => {
            let s = TcpStream::connect_timeout(a, timeout).map_err(HttpError::Connect)?;
            exchange(
                Deadlined {
                    inner: s,
                    deadline,
                    timeout,
                },
                method,
                path,
                max_body,
            )
        }
    }
}

fn exchange<S: Read + Write + Timed>(
    mut s: Deadlined<S>,
    method: &str,
    path: &str,
    max_body: usize,
) -> Result<Response, HttpError> {
    let timeout = s.timeout;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: docker\r\nUser-Agent: portolan/{}\r\nAccept: application/json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    );
    s.write_all(head.as_bytes())
        .map_err(|e| io_error(e, timeout))?;
    s.flush().map_err(|e| io_error(e, timeout))?;
    read_response(BufReader::new(s), max_body).map_err(|e| match e {
        HttpError::Io(io) => io_error(io, timeout),
        other => other,
    })
}

/// One line (CRLF or LF), counted against `budget`.
fn line<R: BufRead>(r: &mut R, budget: &mut usize) -> Result<String, HttpError> {
    let mut buf = Vec::new();
    let limit = u64::try_from(*budget).unwrap_or(u64::MAX);
    r.by_ref()
        .take(limit)
        .read_until(b'\n', &mut buf)
        .map_err(HttpError::Io)?;
    if !buf.ends_with(b"\n") {
        return Err(if buf.len() >= *budget {
            HttpError::TooLarge(MAX_HEADERS)
        } else {
            HttpError::Malformed("the connection closed mid-line".into())
        });
    }
    *budget -= buf.len();
    let text = String::from_utf8_lossy(&buf);
    Ok(text.trim_end_matches(['\r', '\n']).to_string())
}

/// Parses a response from `r`.
pub fn read_response<R: BufRead>(mut r: R, max_body: usize) -> Result<Response, HttpError> {
    let mut budget = MAX_HEADERS;
    let status_line = line(&mut r, &mut budget)?;
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(HttpError::Malformed(format!(
            "status line `{}`",
            status_line.chars().take(80).collect::<String>()
        )));
    }
    let status = parts
        .next()
        .and_then(|c| c.parse::<u16>().ok())
        .ok_or_else(|| HttpError::Malformed("no status code".into()))?;
    let mut headers = Vec::new();
    loop {
        let l = line(&mut r, &mut budget)?;
        if l.is_empty() {
            break;
        }
        let Some((n, v)) = l.split_once(':') else {
            return Err(HttpError::Malformed(format!(
                "header line `{}`",
                l.chars().take(80).collect::<String>()
            )));
        };
        headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let find = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let chunked =
        find("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let body = if status == 204 || status == 304 {
        Vec::new()
    } else if chunked {
        read_chunked(&mut r, max_body)?
    } else if let Some(len) = find("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| HttpError::Malformed(format!("Content-Length `{len}`")))?;
        if len > max_body {
            return Err(HttpError::TooLarge(max_body));
        }
        let mut body = vec![0u8; len];
        r.read_exact(&mut body).map_err(HttpError::Io)?;
        body
    } else {
        read_bounded(&mut r, max_body)?
    };
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn read_bounded<R: Read>(r: &mut R, max: usize) -> Result<Vec<u8>, HttpError> {
    let mut body = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    r.take(limit)
        .read_to_end(&mut body)
        .map_err(HttpError::Io)?;
    if body.len() > max {
        return Err(HttpError::TooLarge(max));
    }
    Ok(body)
}

fn read_chunked<R: BufRead>(r: &mut R, max: usize) -> Result<Vec<u8>, HttpError> {
    let mut body = Vec::new();
    loop {
        let mut budget = 1024;
        let size_line = line(r, &mut budget)?;
        let hex = size_line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(hex, 16)
            .map_err(|_| HttpError::Malformed(format!("chunk size `{hex}`")))?;
        if size == 0 {
            // trailers until the empty line (or the end of the stream)
            let mut budget = MAX_HEADERS;
            while let Ok(l) = line(r, &mut budget) {
                if l.is_empty() {
                    break;
                }
            }
            return Ok(body);
        }
        if body.len().saturating_add(size) > max {
            return Err(HttpError::TooLarge(max));
        }
        let start = body.len();
        body.resize(start + size, 0);
        r.read_exact(&mut body[start..]).map_err(HttpError::Io)?;
        let mut crlf = [0u8; 2];
        r.read_exact(&mut crlf).map_err(HttpError::Io)?;
        if &crlf != b"\r\n" {
            return Err(HttpError::Malformed("chunk not followed by CRLF".into()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &[u8], max: usize) -> Result<Response, HttpError> {
        read_response(std::io::Cursor::new(raw.to_vec()), max)
    }

    #[test]
    fn content_length_chunked_and_eof_bodies() {
        let r = parse(
            b"HTTP/1.1 200 OK\r\nServer: Docker/20.10\r\nContent-Length: 2\r\n\r\n[]",
            100,
        )
        .unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"[]"[..]));
        assert_eq!(r.header("server"), Some("Docker/20.10"));
        let r = parse(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\n[{}\r\n1\r\n]\r\n0\r\nX-T: 1\r\n\r\n",
            100,
        )
        .unwrap();
        assert_eq!(r.body, b"[{}]");
        let r = parse(b"HTTP/1.0 404 Not Found\n\n{\"message\":\"x\"}", 100).unwrap();
        assert_eq!((r.status, r.body.len()), (404, 15));
    }

    #[test]
    fn bounds_and_malformed_responses_are_errors_not_panics() {
        assert!(matches!(
            parse(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", 10),
            Err(HttpError::TooLarge(10))
        ));
        assert!(matches!(
            parse(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfff\r\n",
                10
            ),
            Err(HttpError::TooLarge(10))
        ));
        assert!(matches!(
            parse(b"HTTP/1.1 200 OK\r\n\r\n0123456789ABC", 10),
            Err(HttpError::TooLarge(10))
        ));
        assert!(matches!(
            parse(b"SSH-2.0-OpenSSH\r\n", 10),
            Err(HttpError::Malformed(_))
        ));
        assert!(matches!(
            parse(b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", 10),
            Err(HttpError::Malformed(_))
        ));
        assert!(matches!(
            parse(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                10
            ),
            Err(HttpError::Malformed(_))
        ));
        let endless_header = [b"HTTP/1.1 200 OK\r\nX: ".as_slice(), &vec![b'a'; 70_000]].concat();
        assert!(matches!(
            parse(&endless_header, 10),
            Err(HttpError::TooLarge(_))
        ));
        assert!(parse(b"", 10).is_err());
    }

    #[test]
    fn a_daemon_that_never_answers_costs_the_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hung.sock");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let start = Instant::now();
        let e = request(
            &Target::Unix(path),
            "GET",
            "/containers/json",
            Duration::from_millis(300),
            1000,
        )
        .unwrap_err();
        assert!(matches!(e, HttpError::Timeout(_)), "{e:?}");
        assert!(start.elapsed() < Duration::from_secs(2));
        drop(listener);
    }
}
