//! systemd units: a `.socket`'s `ListenStream=` (TCP), `ListenDatagram=` (UDP) and
//! `ListenSequentialPacket=` (`8080`, `0.0.0.0:8080`, `[::]:8080`; `/run/x.sock`, `@abstract`
//! and `vsock:` are not ports), and the port flags of a `.service`'s `ExecStart=` (through
//! [`cmdline`](crate::cmdline), with `$PORT`/`${PORT}` taken from `Environment=`). An
//! `Environment=PORT=…` no command line uses is reported as [`Role::Listen`], medium.
//!
//! The service is the unit file's stem (`api` for `api.socket`). `#`/`;` start comment lines,
//! `\` at the end of a line continues it, `[Section]` headers switch sections (keys are read
//! in `[Socket]` and `[Service]`, or anywhere when the file has no header).

use std::collections::BTreeMap;

use portolan_model::port::PortRange;
use portolan_model::spec::Transport;

use crate::cmdline::{self, host_port, normalize_host, snippet};
use crate::evidence::{Confidence, Context, FileReport, PortUse, Role, SourceKind};
use crate::text::{LineIndex, port_number};

/// Reads one file.
pub fn parse(path: &str, text: &str, ctx: &Context) -> FileReport {
    let _ = ctx;
    let ix = LineIndex::new(path, text);
    let service = unit_name(path);
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    let mut env_ports: Vec<PortUse> = Vec::new();
    let mut uses: Vec<PortUse> = Vec::new();
    let mut section: Option<String> = None;
    for line in logical_lines(text) {
        let t = line.text.trim();
        if t.starts_with('[') {
            section = Some(t.trim_matches(['[', ']']).to_string());
            continue;
        }
        if !matches!(section.as_deref(), None | Some("Socket" | "Service")) {
            continue;
        }
        let Some((key, value)) = line.text.split_once('=') else {
            continue;
        };
        let key = key.trim();
        let lead = value.len() - value.trim_start().len();
        let value_at = line.start + key_end(&line.text) + 1 + lead;
        let value = value.trim();
        match key {
            "ListenStream" | "ListenDatagram" | "ListenSequentialPacket" => {
                let Some((host, range)) = host_port(value) else {
                    continue;
                };
                let Some(p) = port_number(&value[range.clone()]) else {
                    continue;
                };
                let loc = ix.location(value_at + range.start);
                uses.push(PortUse {
                    service: service.clone(),
                    bind: host.map(|h| normalize_host(h).to_string()),
                    transport: if key == "ListenDatagram" {
                        Transport::Udp
                    } else {
                        Transport::Tcp
                    },
                    snippet: snippet(&ix, &loc),
                    ..PortUse::new(loc, SourceKind::Systemd, Role::Listen, PortRange::single(p))
                });
            }
            "Environment" => {
                for (name, val, at) in env_assignments(value) {
                    if name == "PORT"
                        && let Some(p) = port_number(&val)
                    {
                        let loc = ix.location(value_at + at);
                        env_ports.push(PortUse {
                            service: service.clone(),
                            variable: Some(name.clone()),
                            confidence: Confidence::Medium,
                            snippet: snippet(&ix, &loc),
                            ..PortUse::new(
                                loc,
                                SourceKind::Systemd,
                                Role::Listen,
                                PortRange::single(p),
                            )
                        });
                    }
                    vars.insert(name, val);
                }
            }
            "ExecStart" | "ExecStartPre" | "ExecStartPost" => {
                if key != "ExecStart" {
                    continue;
                }
                let prefix = value
                    .find(|c: char| !matches!(c, '-' | '@' | '+' | '!' | ':'))
                    .unwrap_or(value.len());
                let cmd = &value[prefix..];
                let found = cmdline::scan_with(
                    &ix,
                    SourceKind::Systemd,
                    cmd,
                    value_at + prefix,
                    &vars,
                    Confidence::Medium,
                );
                uses.extend(found.into_iter().map(|u| PortUse {
                    service: service.clone(),
                    ..u
                }));
            }
            _ => {}
        }
    }
    let used: Vec<String> = uses.iter().filter_map(|u| u.variable.clone()).collect();
    uses.extend(
        env_ports
            .into_iter()
            .filter(|u| u.variable.as_ref().is_none_or(|v| !used.contains(v))),
    );
    uses.sort_by_key(|a| (a.at.line, a.at.col));
    FileReport {
        uses,
        ..FileReport::default()
    }
}

/// `api` for `deploy/api.socket`; `None` for an empty stem.
fn unit_name(path: &str) -> Option<String> {
    let file = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let stem = file.rsplit_once('.').map_or(file, |(s, _)| s);
    let stem = stem.strip_suffix('@').unwrap_or(stem);
    (!stem.is_empty()).then(|| stem.to_string())
}

/// Byte length of the key part (up to `=`).
fn key_end(line: &str) -> usize {
    line.find('=').unwrap_or(line.len())
}

/// `Environment=PORT=8080 "HOST=0.0.0.0"`: names, values, value offsets.
fn env_assignments(value: &str) -> Vec<(String, String, usize)> {
    portolan_model::words::raw_words(value)
        .into_iter()
        .filter_map(|(s, at)| {
            let (q, body) = match s.chars().next() {
                Some(c @ ('"' | '\'')) => (1, s.trim_matches(c)),
                _ => (0, s),
            };
            let (n, v) = body.split_once('=')?;
            Some((n.to_string(), v.to_string(), at + q + n.len() + 1))
        })
        .collect()
}

/// A logical line: continuations joined, with the text blanked (same length as the source)
/// so offsets inside it plus `start` are file offsets.
struct Line {
    start: usize,
    text: String,
}

fn logical_lines(text: &str) -> Vec<Line> {
    let mut out = Vec::new();
    let mut cur: Option<(usize, Vec<u8>)> = None;
    let mut pos = 0;
    for raw in text.split_inclusive('\n') {
        let start = pos;
        pos += raw.len();
        let body = raw.trim_end_matches(['\n', '\r']);
        let trimmed = body.trim_start();
        if trimmed.starts_with('#') || trimmed.starts_with(';') {
            if let Some((_, buf)) = cur.as_mut() {
                buf.extend(std::iter::repeat_n(b' ', raw.len()));
            }
            continue;
        }
        let mut bytes = raw.as_bytes().to_vec();
        for b in bytes.iter_mut().skip(body.len()) {
            *b = b' ';
        }
        let end = body.trim_end().len();
        let continues = body.trim_end().ends_with('\\');
        if continues && let Some(b) = bytes.get_mut(end - 1) {
            *b = b' ';
        }
        let (_, buf) = cur.get_or_insert_with(|| (start, Vec::new()));
        buf.extend(bytes);
        if !continues && let Some((s, buf)) = cur.take() {
            out.push(Line {
                start: s,
                text: String::from_utf8_lossy(&buf).into_owned(),
            });
        }
    }
    if let Some((s, buf)) = cur {
        out.push(Line {
            start: s,
            text: String::from_utf8_lossy(&buf).into_owned(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(path: &str, text: &str) -> Vec<PortUse> {
        parse(path, text, &Context::default()).uses
    }

    #[test]
    fn socket_units() {
        let u = run(
            "deploy/app.socket",
            "[Unit]\nDescription=x\n# ListenStream=1111\n; ListenStream=2222\n[Socket]\nListenStream=9000\nListenStream=127.0.0.1:9001\nListenStream=[::]:9002\nListenStream=/run/app.sock\nListenStream=@abstract\nListenDatagram=5353\nListenSequentialPacket=9003\n[Install]\nListenStream=7777\n",
        );
        let ports: Vec<u16> = u.iter().map(|u| u.port.lo).collect();
        assert_eq!(ports, [9000, 9001, 9002, 5353, 9003]);
        assert_eq!(u[0].service.as_deref(), Some("app"));
        assert_eq!(u[0].at.to_string(), "deploy/app.socket:6:14");
        assert_eq!(u[1].bind.as_deref(), Some("127.0.0.1"));
        assert_eq!(u[2].bind.as_deref(), Some("::"));
        assert_eq!(u[2].at.col, 19);
        assert_eq!(u[3].transport, Transport::Udp);
    }

    #[test]
    fn service_exec_start_with_environment() {
        let text = "[Service]\nEnvironment=\"PORT=8070\" HOST=127.0.0.1\nExecStart=-/usr/bin/gunicorn \\\n    --bind ${HOST}:${PORT} app:app\n";
        let u = run("/etc/systemd/system/api@.service", text);
        assert_eq!(u.len(), 1);
        assert_eq!(u[0].port.lo, 8070);
        assert_eq!(u[0].variable.as_deref(), Some("PORT"));
        assert_eq!(u[0].bind.as_deref(), Some("127.0.0.1"));
        assert_eq!(u[0].service.as_deref(), Some("api"));
        assert_eq!(u[0].at.line, 4);
        let u = run(
            "x.service",
            "[Service]\nEnvironment=PORT=8071\nExecStart=/usr/bin/node server.js\n",
        );
        assert_eq!(u.len(), 1);
        assert_eq!(u[0].at.to_string(), "x.service:2:18");
        let u = run(
            "y.service",
            "[Service]\nExecStart=/opt/venv/bin/uvicorn app:app --port 8072\n",
        );
        assert_eq!(u[0].port.lo, 8072);
        assert_eq!(u[0].confidence, Confidence::High);
    }
}
