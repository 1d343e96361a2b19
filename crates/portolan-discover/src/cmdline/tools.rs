//! The programs [`super`] knows and how each takes its port (`--bind`, `-p`, `runserver
//! ADDR:PORT`, `docker run -p`, `socat TCP-LISTEN:`, `nc -l`), with their built-in defaults.

use std::collections::BTreeMap;

use portolan_model::port::PortRange;
use portolan_model::spec::{Publisher, Transport};

use crate::evidence::{Confidence, Role};
use crate::text::{port_number, port_token};

use super::words::{Word, base};
use super::{Emitter, Found, scan_text};

/// How a known program takes its port.
pub(super) struct Tool {
    names: &'static [&'static str],
    /// A subcommand that must follow (`flask run`, `next dev`); empty: none needed.
    subcommands: &'static [&'static str],
    /// Options whose value is a port.
    port: &'static [&'static str],
    /// Options whose value is a bind address.
    host: &'static [&'static str],
    /// Options whose value is `HOST:PORT` (or a port, or `unix:…`).
    addr: &'static [&'static str],
    /// Options whose value is `HOST:PORT` on UDP.
    udp_addr: &'static [&'static str],
    /// A positional `[HOST:]PORT` right after the subcommand (`runserver 0:8000`).
    positional: bool,
    /// The built-in default port and bind when nothing is given.
    default: Option<(u16, Option<&'static str>)>,
}

pub(super) const fn tool(names: &'static [&'static str]) -> Tool {
    Tool {
        names,
        subcommands: &[],
        port: &[],
        host: &[],
        addr: &[],
        udp_addr: &[],
        positional: false,
        default: None,
    }
}

pub(super) static TOOLS: &[Tool] = &[
    Tool {
        addr: &["--bind", "-b"],
        ..tool(&["gunicorn"])
    },
    Tool {
        addr: &["--bind", "-b", "--insecure-bind"],
        udp_addr: &["--quic-bind"],
        ..tool(&["hypercorn"])
    },
    Tool {
        port: &["--port"],
        host: &["--host"],
        default: Some((8000, Some("127.0.0.1"))),
        ..tool(&["uvicorn"])
    },
    Tool {
        port: &["--port", "-p"],
        host: &["--bind", "-b"],
        ..tool(&["daphne"])
    },
    Tool {
        subcommands: &["run"],
        port: &["--port", "-p"],
        host: &["--host", "-h"],
        default: Some((5000, Some("127.0.0.1"))),
        ..tool(&["flask"])
    },
    Tool {
        subcommands: &["runserver", "runserver_plus"],
        positional: true,
        default: Some((8000, Some("127.0.0.1"))),
        ..tool(&["manage.py", "django-admin", "django-admin.py"])
    },
    Tool {
        subcommands: &["dev", "start"],
        port: &["--port", "-p"],
        host: &["--hostname", "-H"],
        default: Some((3000, None)),
        ..tool(&["next"])
    },
    Tool {
        port: &["--port"],
        host: &["--host"],
        default: Some((5173, Some("localhost"))),
        ..tool(&["vite"])
    },
    Tool {
        port: &["--port", "-p"],
        host: &["-a"],
        default: Some((8080, None)),
        ..tool(&["http-server"])
    },
    Tool {
        host: &["--bind", "-b"],
        positional: true,
        default: Some((8000, None)),
        ..tool(&["http.server", "SimpleHTTPServer"])
    },
    Tool {
        addr: &["-S"],
        ..tool(&["php"])
    },
    Tool {
        subcommands: &["serve"],
        port: &["--port"],
        host: &["--host"],
        default: Some((8000, Some("127.0.0.1"))),
        ..tool(&["artisan"])
    },
    Tool {
        subcommands: &["s", "server"],
        port: &["--port", "-p"],
        host: &["--binding", "-b"],
        default: Some((3000, Some("localhost"))),
        ..tool(&["rails"])
    },
    Tool {
        port: &["--port"],
        host: &["--bind"],
        ..tool(&["redis-server"])
    },
    Tool {
        port: &["-p"],
        ..tool(&["postgres", "postmaster"])
    },
    Tool {
        port: &["--port"],
        host: &["--bind_ip"],
        ..tool(&["mongod", "mongos"])
    },
    Tool {
        port: &["--port"],
        host: &["--bind-address"],
        ..tool(&["mysqld", "mariadbd"])
    },
    Tool {
        port: &["--port", "-p"],
        host: &["--listen", "-l"],
        ..tool(&["memcached"])
    },
    Tool {
        port: &["--server.port"],
        host: &["--server.address"],
        ..tool(&["streamlit"])
    },
    Tool {
        port: &["--port"],
        host: &["--ip"],
        ..tool(&["jupyter", "jupyter-lab", "jupyter-notebook"])
    },
    Tool {
        subcommands: &["server", "serve"],
        port: &["--port", "-p"],
        host: &["--bind"],
        ..tool(&["hugo"])
    },
    Tool {
        subcommands: &["serve"],
        addr: &["--dev-addr", "-a"],
        ..tool(&["mkdocs"])
    },
    Tool {
        port: &["--port"],
        host: &["--host"],
        ..tool(&[
            "webpack-dev-server",
            "webpack",
            "ng",
            "astro",
            "nuxt",
            "nuxi",
        ])
    },
    Tool {
        addr: &["--listen", "-l"],
        port: &["-p", "--port"],
        ..tool(&["serve"])
    },
];

/// Scans one command (its words).
pub(super) fn scan_command(
    em: &mut Emitter<'_, '_>,
    words: &[Word],
    vars: &BTreeMap<String, String>,
    depth: usize,
) {
    for (i, w) in words.iter().enumerate() {
        let name = base(&w.text);
        let rest = &words[i + 1..];
        match name {
            "sh" | "bash" | "dash" | "zsh" | "ash" => {
                if let Some(pos) = rest.iter().position(|w| w.text == "-c" || w.text == "-lc") {
                    if let Some(script) = rest.get(pos + 1) {
                        scan_text(em, &script.text, &script.offs, vars, depth + 1);
                    }
                    return;
                }
            }
            "docker" | "podman" => {
                let publisher = if name == "docker" {
                    Publisher::Docker
                } else {
                    Publisher::Podman
                };
                docker(em, rest, publisher, vars, depth);
                return;
            }
            "socat" => {
                socat(em, rest);
                return;
            }
            "nc" | "ncat" | "netcat" => {
                netcat(em, rest);
                return;
            }
            _ => {}
        }
        if let Some(tool) = TOOLS.iter().find(|t| t.names.contains(&name)) {
            if name == "php" && !rest.iter().any(|w| w.text.starts_with("-S")) {
                continue;
            }
            let before = em.out.len();
            let found = run_tool(em, tool, w, rest);
            let app = tool_app(tool.names[0]);
            for u in &mut em.out[before..] {
                u.app = Some(app.to_string());
            }
            if found {
                return;
            }
        }
    }
}

/// The protocol a known program serves (the program is the evidence; its port is not).
fn tool_app(first_name: &str) -> &'static str {
    match first_name {
        "redis-server" => "redis",
        "postgres" => "postgres",
        "mongod" => "mongodb",
        "mysqld" => "mysql",
        "memcached" => "memcached",
        "jupyter" => "jupyter",
        _ => "http",
    }
}

/// Whether `w` is option `opt` (`--port`, `--port=80`, `-p80`); the value's word and its
/// byte offset inside that word.
pub(super) fn option_value<'w>(
    words: &'w [Word],
    i: usize,
    opt: &str,
) -> Option<(&'w Word, usize)> {
    let w = words.get(i)?;
    if w.text == opt {
        return words.get(i + 1).map(|v| (v, 0));
    }
    if let Some(v) = w.text.strip_prefix(opt) {
        if opt.starts_with("--") && v.starts_with('=') {
            return Some((w, opt.len() + 1));
        }
        if !opt.starts_with("--") && opt.len() == 2 && !v.is_empty() {
            let skip = usize::from(v.starts_with('='));
            return Some((w, opt.len() + skip));
        }
    }
    None
}

/// Scans a known program's arguments; `false` if it was not the program after all (a
/// required subcommand is missing).
pub(super) fn run_tool(em: &mut Emitter<'_, '_>, tool: &Tool, prog: &Word, rest: &[Word]) -> bool {
    let mut args = rest;
    if !tool.subcommands.is_empty() {
        match rest
            .iter()
            .position(|w| tool.subcommands.contains(&w.text.as_str()))
        {
            Some(p) if p <= 2 => args = &rest[p + 1..],
            _ => return false,
        }
    }
    let mut host: Option<String> = None;
    let mut ports: Vec<(&Word, usize, PortRange)> = Vec::new();
    let mut found_any = false;
    let mut positional_done = !tool.positional;
    let mut i = 0;
    while i < args.len() {
        let w = &args[i];
        if matches!(w.text.as_str(), "--uds" | "--fd" | "-u" | "--unix-socket") {
            // A unix socket or an inherited descriptor: no default port.
            found_any = true;
        }
        if i + 1 == args.len() && tool.host.contains(&w.text.as_str()) {
            // `vite --host` alone: all addresses.
            host = Some("0.0.0.0".to_string());
            i += 1;
            continue;
        }
        if let Some((vw, at)) = tool.port.iter().find_map(|o| option_value(args, i, o)) {
            if let Some(p) = vw.text.get(at..).and_then(port_number) {
                ports.push((vw, at, PortRange::single(p)));
            }
            found_any = true;
            i += if std::ptr::eq(vw, w) { 1 } else { 2 };
            continue;
        }
        if let Some((vw, at)) = tool.host.iter().find_map(|o| option_value(args, i, o)) {
            let v = vw.text.get(at..).unwrap_or("");
            if std::ptr::eq(vw, w) || !v.starts_with('-') {
                host = Some(strip_brackets(v).to_string());
                i += if std::ptr::eq(vw, w) { 1 } else { 2 };
            } else {
                // `vite --host` alone: all addresses.
                host = Some("0.0.0.0".to_string());
                i += 1;
            }
            continue;
        }
        let addr = tool
            .addr
            .iter()
            .find_map(|o| option_value(args, i, o))
            .map(|v| (v, Transport::Tcp))
            .or_else(|| {
                tool.udp_addr
                    .iter()
                    .find_map(|o| option_value(args, i, o))
                    .map(|v| (v, Transport::Udp))
            });
        if let Some(((vw, at), transport)) = addr {
            found_any = true;
            let v = vw.text.get(at..).unwrap_or("");
            if let Some((h, range)) = host_port(v)
                && let Some(p) = port_number(&v[range.clone()])
            {
                let f = Found {
                    bind: h.map(|h| normalize_host(h).to_string()),
                    transport: Some(transport),
                    ..Found::default()
                };
                em.emit(
                    vw,
                    at + range.start..at + range.end,
                    PortRange::single(p),
                    f,
                );
            }
            i += if std::ptr::eq(vw, w) { 1 } else { 2 };
            continue;
        }
        if !positional_done && !w.text.starts_with('-') {
            positional_done = true;
            if let Some((h, range)) = host_port(&w.text)
                && let Some(p) = port_number(&w.text[range.clone()])
            {
                if let Some(h) = h {
                    host = Some(normalize_host(h).to_string());
                }
                ports.push((w, range.start, PortRange::single(p)));
            }
        } else if w.text.starts_with('-') && matches!(w.text.as_str(), "-d" | "--directory") {
            i += 1;
        }
        i += 1;
    }
    for (w, at, port) in &ports {
        let f = Found {
            bind: host.clone(),
            ..Found::default()
        };
        em.emit(w, *at..*at + w.text.len().saturating_sub(*at), *port, f);
    }
    if ports.is_empty()
        && !found_any
        && let Some((p, bind)) = tool.default
    {
        let f = Found {
            bind: host.or(bind.map(str::to_string)),
            confidence: Some(Confidence::Low),
            ..Found::default()
        };
        em.emit(prog, 0..prog.text.len(), PortRange::single(p), f);
    }
    true
}

/// `[v6]` → `v6`.
pub(super) fn strip_brackets(h: &str) -> &str {
    h.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(h)
}

/// A bind address as reported: brackets removed, `*` and `0` (Django's shorthand) as
/// `0.0.0.0`.
pub(crate) fn normalize_host(h: &str) -> &str {
    match strip_brackets(h) {
        "*" | "0" => "0.0.0.0",
        h => h,
    }
}

/// Splits `HOST:PORT`, `[V6]:PORT`, `:PORT`, `PORT` (also `tcp://HOST:PORT`): the host (if
/// written) and the byte range of the port part. `None` for unix sockets, file descriptors
/// and anything without a port.
pub(crate) fn host_port(s: &str) -> Option<(Option<&str>, std::ops::Range<usize>)> {
    if s.starts_with("unix:") || s.starts_with('/') || s.starts_with("fd:") || s.is_empty() {
        return None;
    }
    let skip = ["tcp://", "http://", "https://", "tcp:"]
        .iter()
        .find(|p| s.starts_with(**p))
        .map_or(0, |p| p.len());
    let body = &s[skip..];
    let body = body.split('/').next().unwrap_or(body);
    if body.bytes().all(|b| b.is_ascii_digit()) {
        return Some((None, skip..skip + body.len()));
    }
    if body.starts_with('[') {
        let close = body.find(']')?;
        let after = body.get(close + 1..)?.strip_prefix(':')?;
        let start = skip + close + 2;
        return Some((Some(&body[..=close]), start..start + after.len()));
    }
    let (h, p) = body.rsplit_once(':')?;
    if h.contains(':') {
        // A bare IPv6 address: no port.
        return None;
    }
    let start = skip + h.len() + 1;
    Some(((!h.is_empty()).then_some(h), start..start + p.len()))
}

/// `docker run` / `podman run` options that take a value (so the image can be found).
pub(super) const DOCKER_VALUE_OPTS: &[&str] = &[
    "-e",
    "--env",
    "-v",
    "--volume",
    "--name",
    "-w",
    "--workdir",
    "--network",
    "--net",
    "-u",
    "--user",
    "--env-file",
    "--entrypoint",
    "-l",
    "--label",
    "--mount",
    "--restart",
    "-h",
    "--hostname",
    "-m",
    "--memory",
    "--cpus",
    "--add-host",
    "--log-driver",
    "--log-opt",
    "--platform",
    "--pull",
    "--ulimit",
    "--device",
    "--cap-add",
    "--cap-drop",
    "--security-opt",
    "--dns",
    "--tmpfs",
    "--shm-size",
    "--gpus",
    "--expose",
    "--link",
    "--pod",
];

/// `docker run … -p [ip:]host:container[/proto] … IMAGE [COMMAND…]`.
pub(super) fn docker(
    em: &mut Emitter<'_, '_>,
    words: &[Word],
    publisher: Publisher,
    vars: &BTreeMap<String, String>,
    depth: usize,
) {
    let Some(run) = words
        .iter()
        .take(3)
        .position(|w| matches!(w.text.as_str(), "run" | "create"))
    else {
        return;
    };
    let args = &words[run + 1..];
    let mut i = 0;
    while i < args.len() {
        let w = &args[i];
        if let Some((vw, at)) = ["--publish", "-p"]
            .iter()
            .find_map(|o| option_value(args, i, o))
        {
            publish(em, vw, at, publisher);
            i += if std::ptr::eq(vw, w) { 1 } else { 2 };
            continue;
        }
        if !w.text.starts_with('-') {
            // The image; what follows is the container's command.
            scan_command(em, &args[i + 1..], vars, depth + 1);
            return;
        }
        if DOCKER_VALUE_OPTS.contains(&w.text.as_str()) {
            i += 1;
        }
        i += 1;
    }
}

/// One `-p` value.
pub(super) fn publish(em: &mut Emitter<'_, '_>, w: &Word, at: usize, publisher: Publisher) {
    let v = w.text.get(at..).unwrap_or("");
    let (spec, proto) = v.split_once('/').unwrap_or((v, "tcp"));
    let transport = if proto.eq_ignore_ascii_case("udp") {
        Transport::Udp
    } else {
        Transport::Tcp
    };
    let (ip, rest, rest_at) = if let Some(inner) = spec.strip_prefix('[') {
        let Some(close) = inner.find("]:") else {
            return;
        };
        (Some(&inner[..close]), &inner[close + 2..], close + 3)
    } else {
        let parts: Vec<&str> = spec.split(':').collect();
        if parts.len() == 3 {
            let ip_len = parts[0].len() + 1;
            (Some(parts[0]), &spec[ip_len..], ip_len)
        } else {
            (None, spec, 0)
        }
    };
    let Some((host, container)) = rest.split_once(':') else {
        return;
    };
    let (Some(hp), Some(cp)) = (port_token(host), port_token(container)) else {
        return;
    };
    let start = at + rest_at;
    let f = Found {
        role: Some(Role::Publish),
        bind: ip.filter(|i| !i.is_empty()).map(str::to_string),
        transport: Some(transport),
        target: Some(cp),
        target_at: Some(start + host.len() + 1),
        publisher: Some(publisher),
        confidence: None,
    };
    em.emit(w, start..start + host.len(), hp, f);
}

/// `socat TCP-LISTEN:8080,fork,bind=127.0.0.1 …`.
pub(super) fn socat(em: &mut Emitter<'_, '_>, words: &[Word]) {
    for w in words {
        let upper = w.text.to_ascii_uppercase();
        let Some((kind, rest)) = upper.split_once(':') else {
            continue;
        };
        let transport = match kind {
            "TCP-LISTEN" | "TCP4-LISTEN" | "TCP6-LISTEN" | "TCP-L" | "TCP4-L" | "TCP6-L" => {
                Transport::Tcp
            }
            "UDP-LISTEN" | "UDP4-LISTEN" | "UDP6-LISTEN" | "UDP-L" | "UDP-RECV" | "UDP4-RECV" => {
                Transport::Udp
            }
            _ => continue,
        };
        let port_len = rest.find(',').unwrap_or(rest.len());
        let start = kind.len() + 1;
        let Some(p) = port_number(&rest[..port_len]) else {
            continue;
        };
        let bind = w
            .text
            .split(',')
            .find_map(|o| o.strip_prefix("bind="))
            .map(str::to_string);
        let f = Found {
            bind,
            transport: Some(transport),
            ..Found::default()
        };
        em.emit(w, start..start + port_len, PortRange::single(p), f);
    }
}

/// `nc -l [-p] PORT`, `nc -lvnp 4444`, `nc -u -l 5353`.
pub(super) fn netcat(em: &mut Emitter<'_, '_>, words: &[Word]) {
    let mut listen = false;
    let mut udp = false;
    let mut port: Option<(&Word, usize)> = None;
    let mut host: Option<&str> = None;
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        if let Some(flags) = w.text.strip_prefix('-').filter(|f| !f.starts_with('-')) {
            listen |= flags.contains('l');
            udp |= flags.contains('u');
            if let Some(p) = flags.find('p') {
                if p + 1 == flags.len() {
                    port = words.get(i + 1).map(|v| (v, 0));
                    i += 1;
                } else {
                    port = Some((w, p + 2));
                }
            }
        } else if port_number(&w.text).is_some() {
            port = Some((w, 0));
        } else if !w.text.starts_with('-') {
            host = Some(&w.text);
        }
        i += 1;
    }
    if !listen {
        return;
    }
    if let Some((w, at)) = port
        && let Some(p) = w.text.get(at..).and_then(port_number)
    {
        let f = Found {
            bind: host.map(str::to_string),
            transport: Some(if udp { Transport::Udp } else { Transport::Tcp }),
            ..Found::default()
        };
        em.emit(w, at..w.text.len(), PortRange::single(p), f);
    }
}
