//! Configuration blocks that say where a program listens, in the shapes documents quote:
//! systemd units (`[Socket]` `ListenStream=`/`ListenDatagram=`, `ExecStart=` command lines
//! through [`crate::systemd`], and any `--…listen…`/`--…bind…`/`--…addr…` flag with an
//! `ADDR:PORT`), key/value files (TOML, INI, `.properties`, `.conf`: `address =
//! "0.0.0.0:8686"`, `listen_port = 9000`, `bind = 127.0.0.1`), directive files
//! (mosquitto's `listener 8884` / `listener 1883 127.0.0.1`, `port 6379` + `bind
//! 0.0.0.0`), and XML elements with `port`/`address` attributes (Tomcat `<Connector>`).
//!
//! The program is named by the block: the file its first comment or the caption names
//! (`# /etc/mosquitto/conf.d/listeners.conf`, "Extrait de `vector.toml`"), else the
//! heading. What a config says binds the listener: a table's `localhost` beside a config's
//! `0.0.0.0` is what lint then reports.

use std::net::IpAddr;
use std::sync::LazyLock;

use portolan_model::port::PortRange;
use portolan_model::spec::Transport;
use regex::Regex;

use super::Section;
use super::blocks::Code;
use super::cells;
use super::code::parse_block;
use super::draft::Draft;
use super::mentions::{self, Listener, Mode};
use crate::evidence::{Context, Role};

/// The program a block configures: a file named in its first comment lines or the
/// caption (`/etc/mosquitto/conf.d/x.conf` → `mosquitto`, `vector.toml` → `vector`,
/// `cockpit.socket.d/listen.conf` → `cockpit`), else the heading's first word.
pub fn program(code: &Code, caption: Option<&str>, heading: &str) -> String {
    const EXT: &[&str] = &[
        "conf",
        "toml",
        "ini",
        "cfg",
        "yml",
        "yaml",
        "xml",
        "service",
        "socket",
        "properties",
        "json",
        "d",
        "cnf",
        "env",
    ];
    const GENERIC: &[&str] = &[
        "listen",
        "listeners",
        "config",
        "settings",
        "override",
        "local",
        "ports",
        "server",
        "default",
        "main",
        "etc",
        "system",
        "systemd",
        "conf",
        "zones",
        "sites-enabled",
        "sites-available",
        "conf.d",
        "app",
        "application",
    ];
    let comments: Vec<&str> = code
        .lines
        .iter()
        .take(3)
        .map(|(l, _)| l.trim())
        .filter(|l| l.starts_with('#') || l.starts_with(';') || l.starts_with("<!--"))
        .collect();
    for text in comments.iter().copied().chain(caption) {
        for token in text.split(|c: char| c.is_whitespace() || "`'\"()".contains(c)) {
            if !token.contains('.') && !token.contains('/') {
                continue;
            }
            // the last path component with a known extension, then the directories
            // (`/etc/systemd/system/cockpit.socket.d/listen.conf` → `cockpit`)
            for part in token.split('/').rev() {
                let mut pieces = part.split('.');
                let stem = pieces.next().unwrap_or("").to_lowercase();
                let ext_ok = part
                    .split('.')
                    .skip(1)
                    .any(|e| EXT.contains(&e.to_lowercase().as_str()));
                let dir_ok = token.starts_with("/etc/") && !part.contains('.') && !part.is_empty();
                if (ext_ok || dir_ok)
                    && !stem.is_empty()
                    && stem.chars().next().is_some_and(char::is_alphabetic)
                    && !GENERIC.contains(&stem.as_str())
                {
                    return stem;
                }
            }
        }
    }
    let h = cells::clean(heading);
    h.split(|c: char| !(c.is_alphanumeric() || c == '-'))
        .find(|w| !w.is_empty())
        .unwrap_or("service")
        .to_lowercase()
}

fn bind_of(s: &str) -> Option<IpAddr> {
    let s = s.trim().trim_matches(['"', '\'', '[', ']']);
    match s {
        "*" | "" => Some(IpAddr::from([0, 0, 0, 0])),
        "localhost" => Some(IpAddr::from([127, 0, 0, 1])),
        _ => s.parse().ok(),
    }
}

/// `0.0.0.0:8686`, `[::]:3001`, `:9000`, `*:80`, `8080` → (bind, port).
pub fn addr_port(v: &str) -> Option<(Option<IpAddr>, u16)> {
    let v = v.trim().trim_matches(['"', '\'', ',', ';']);
    if let Some(p) = crate::text::port_number(v) {
        return Some((None, p));
    }
    let (host, port) = v.rsplit_once(':')?;
    let port = crate::text::port_number(port)?;
    let host = host.trim_matches(['[', ']']);
    if host.is_empty() || host == "*" {
        return Some((Some(IpAddr::from([0, 0, 0, 0])), port));
    }
    Some((Some(bind_of(host)?), port))
}

#[allow(clippy::too_many_arguments)] // one call per config dialect, each with its own subset
fn add(
    draft: &mut Draft,
    section: &Section,
    name: &str,
    port: u16,
    bind: Option<IpAddr>,
    udp: bool,
    line: usize,
    purpose: Option<String>,
) -> bool {
    mentions::add(
        draft,
        section,
        &Listener {
            name: name.to_string(),
            ports: vec![(PortRange::single(port), udp.then_some(Transport::Udp))],
            bind,
            purpose,
            line,
            mode: Mode::Config,
            ..Listener::default()
        },
    )
}

/// A systemd unit block.
pub fn systemd(draft: &mut Draft, path: &str, code: &Code, section: &Section, name: &str) -> bool {
    let unit = format!("{name}.service");
    let found = parse_block(code, |t| {
        crate::systemd::parse(&unit, t, &Context::default())
    });
    let mut any = false;
    let mut lines_done = Vec::new();
    for u in &found.uses {
        if !matches!(u.role, Role::Listen) {
            continue;
        }
        let line = u.at.line as usize;
        lines_done.push(line);
        any |= add(
            draft,
            section,
            name,
            u.port.lo,
            u.bind.as_deref().and_then(bind_of),
            u.transport == Transport::Udp,
            line,
            None,
        );
    }
    let _ = path;
    // `ExecStart=… --health-listen 0.0.0.0:8081`: a flag the command-line reader does not
    // know
    for (l, n) in &code.lines {
        if lines_done.contains(n) {
            continue;
        }
        let t = l.trim();
        let Some(cmd) = t.strip_prefix("ExecStart=") else {
            continue;
        };
        for (bind, port) in listen_flags(cmd) {
            any |= add(draft, section, name, port, bind, false, *n, None);
        }
    }
    any
}

/// `--listen ADDR:PORT`, `--health-listen=0.0.0.0:8081`, `--bind-address 127.0.0.1
/// --port 9000`, `-l :8080`.
pub fn listen_flags(cmd: &str) -> Vec<(Option<IpAddr>, u16)> {
    let words: Vec<&str> = cmd.split_whitespace().collect();
    let mut out = Vec::new();
    let mut host: Option<IpAddr> = None;
    let mut port: Option<u16> = None;
    for (i, w) in words.iter().enumerate() {
        let (flag, inline) = match w.split_once('=') {
            Some((f, v)) if f.starts_with('-') => (f, Some(v)),
            _ => (*w, None),
        };
        if !flag.starts_with("--") {
            continue;
        }
        let f = flag.to_ascii_lowercase();
        let value = inline.or_else(|| words.get(i + 1).copied());
        let Some(value) = value else { continue };
        if f.contains("listen")
            || f.contains("bind")
            || f.ends_with("addr")
            || f.ends_with("address")
        {
            match addr_port(value) {
                Some((b, p)) if value.contains(':') || f.contains("port") => out.push((b, p)),
                _ => {
                    if let Some(b) = bind_of(value) {
                        host = Some(b);
                    }
                }
            }
        } else if f.ends_with("port")
            && !f.contains("proxy")
            && !f.contains("db")
            && !f.contains("redis")
        {
            port = crate::text::port_number(value);
        }
    }
    if let Some(p) = port {
        out.push((host, p));
    }
    out
}

static KV: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"^\s*(?P<key>[A-Za-z_][A-Za-z0-9_.\-]*)\s*[=:]\s*(?P<val>"[^"]*"|'[^']*'|[^\s#;]+)"#,
    )
    .expect("static regex")
});

static DIRECTIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?P<key>listener|listen|port|bind|http_port|https_port|server_port)\s+(?P<a>\S+)(?:\s+(?P<b>\S+))?\s*$")
        .expect("static regex")
});

/// The listener a settings block is describing: a port (and its line) waiting for the
/// bind address and transport that may follow it, under the current `[table]`.
#[derive(Default)]
struct PendingListener {
    table: String,
    port: Option<(u16, usize)>,
    bind: Option<IpAddr>,
    udp: bool,
}

impl PendingListener {
    /// Adds the waiting port (if any) to the draft and starts afresh; `true` if it added one.
    fn flush(&mut self, draft: &mut Draft, section: &Section, name: &str) -> bool {
        let mut added = false;
        if let Some((p, line)) = self.port.take() {
            let purpose = (!self.table.is_empty()).then(|| self.table.clone());
            added = add(draft, section, name, p, self.bind, self.udp, line, purpose);
        }
        self.bind = None;
        self.udp = false;
        added
    }
}

/// A key/value or directive config block; `true` if it said where something listens.
pub fn settings(draft: &mut Draft, code: &Code, section: &Section, name: &str) -> bool {
    let mut any = false;
    let mut at = PendingListener::default();
    // Adds what is waiting and starts a listener on `port` written at `line`.
    let start = |at: &mut PendingListener, draft: &mut Draft, port: u16, line: usize| {
        let added = at.flush(draft, section, name);
        at.port = Some((port, line));
        added
    };
    for (l, n) in &code.lines {
        let t = l.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with(';') || t.starts_with("//") {
            continue;
        }
        if t.starts_with('[') && t.ends_with(']') {
            any |= at.flush(draft, section, name);
            at.table = t.trim_matches(['[', ']']).to_string();
            continue;
        }
        if let Some(c) = DIRECTIVE.captures(t) {
            let key = c["key"].to_ascii_lowercase();
            let a = &c["a"];
            let b = c.name("b").map(|m| m.as_str());
            match key.as_str() {
                "listener" | "listen" | "http_port" | "https_port" | "server_port" => {
                    any |= at.flush(draft, section, name);
                    if let Some((bind, port)) = addr_port(a) {
                        let bind = bind.or_else(|| b.and_then(bind_of));
                        // mosquitto: `listener PORT` with no address binds every interface
                        let bind = bind.or(Some(IpAddr::from([0, 0, 0, 0])));
                        at.port = Some((port, *n));
                        at.bind = bind;
                    }
                }
                "port" => {
                    if let Some(p) = crate::text::port_number(a) {
                        any |= start(&mut at, draft, p, *n);
                    }
                }
                "bind" => {
                    if let Some(ip) = bind_of(a) {
                        at.bind = Some(ip);
                    }
                }
                _ => {}
            }
            continue;
        }
        let Some(c) = KV.captures(t) else { continue };
        let key = c["key"].to_ascii_lowercase();
        let val = c["val"].trim_matches(['"', '\'']);
        if key == "mode" || key == "protocol" || key == "transport" {
            at.udp = val.eq_ignore_ascii_case("udp");
            continue;
        }
        if is_listen_key(&key) {
            if let Some((bind, port)) = addr_port(val) {
                if val.contains(':') || bind.is_none() {
                    any |= start(&mut at, draft, port, *n);
                    at.bind = bind;
                    continue;
                }
            }
            if let Some(ip) = bind_of(val) {
                at.bind = Some(ip);
            }
        } else if is_own_port_key(&key) {
            if let Some(p) = crate::text::port_number(val) {
                any |= start(&mut at, draft, p, *n);
            }
        }
    }
    any | at.flush(draft, section, name)
}

/// The last part of a dotted or underscored key (`server.http_port` → `port`).
fn last_part(key: &str) -> &str {
    key.rsplit(['.', '_']).next().unwrap_or(key)
}

/// Whether a settings key names the address the program listens on (`listen`,
/// `http_addr`, `server.bind_address`).
fn is_listen_key(key: &str) -> bool {
    [
        "address",
        "addr",
        "listen",
        "bind",
        "listen_address",
        "bind_address",
        "http_addr",
    ]
    .iter()
    .any(|k| key == *k || key.ends_with(&format!("_{k}")) || key.ends_with(&format!(".{k}")))
        || last_part(key) == "listen"
}

/// Whether a settings key names the program's own port (`port`, `http_port`), not one it
/// connects to (`db_port`, `redis.port`, `upstream_port`).
fn is_own_port_key(key: &str) -> bool {
    let lk = last_part(key);
    (lk == "port" || key.ends_with("_port") || key == "port")
        && ![
            "proxy", "db", "database", "redis", "smtp", "upstream", "remote", "target", "client",
        ]
        .iter()
        .any(|w| key.contains(w))
}

static XML_EL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"<(?P<tag>[A-Za-z][\w:.\-]*)(?P<attrs>[^<>]*\bport\s*=\s*[^<>]*)/?>")
        .expect("static regex")
});

fn xml_attr<'a>(attrs: &'a str, name: &str) -> Option<&'a str> {
    let lower = attrs.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find(name) {
        let at = from + i;
        let before_ok = at == 0 || !lower.as_bytes()[at - 1].is_ascii_alphanumeric();
        let rest = attrs[at + name.len()..].trim_start();
        if before_ok {
            if let Some(r) = rest.strip_prefix('=') {
                let r = r.trim_start();
                let q = r.chars().next()?;
                if q == '"' || q == '\'' {
                    let end = r[1..].find(q)?;
                    return Some(&r[1..=end]);
                }
            }
        }
        from = at + name.len();
    }
    None
}

/// XML elements with a `port` attribute (and `address`/`host`/`bind`); `<zone>` files are
/// firewalld's and read elsewhere.
pub fn xml(draft: &mut Draft, code: &Code, section: &Section, name: &str) -> bool {
    let mut any = false;
    for (l, n) in &code.lines {
        for c in XML_EL.captures_iter(l) {
            let tag = c["tag"].to_string();
            if tag.eq_ignore_ascii_case("port") || tag.eq_ignore_ascii_case("forward-port") {
                continue;
            }
            let attrs = &c["attrs"];
            let Some(port) = xml_attr(attrs, "port").and_then(crate::text::port_number) else {
                continue;
            };
            let bind = xml_attr(attrs, "address")
                .or_else(|| xml_attr(attrs, "bind"))
                .or_else(|| xml_attr(attrs, "host"))
                .and_then(bind_of);
            let proto = xml_attr(attrs, "protocol").unwrap_or("").to_string();
            let app = if proto.to_ascii_lowercase().contains("ajp") {
                Some("ajp".to_string())
            } else if proto.to_ascii_lowercase().contains("http") {
                Some("http".to_string())
            } else {
                None
            };
            let purpose = (!proto.is_empty()).then(|| format!("{tag} {proto}"));
            any |= mentions::add(
                draft,
                section,
                &Listener {
                    name: name.to_string(),
                    ports: vec![(PortRange::single(port), None)],
                    bind: bind.or(Some(IpAddr::from([0, 0, 0, 0]))),
                    app,
                    purpose,
                    line: *n,
                    mode: Mode::Config,
                    ..Listener::default()
                },
            );
        }
    }
    any
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_addresses() {
        assert_eq!(
            listen_flags("/opt/x --health-listen 0.0.0.0:8081 --queue q"),
            [(Some(IpAddr::from([0, 0, 0, 0])), 8081)]
        );
        assert_eq!(
            listen_flags("srv --bind-address=127.0.0.1 --port 9000"),
            [(Some(IpAddr::from([127, 0, 0, 1])), 9000)]
        );
        assert_eq!(listen_flags("psql --db-port 5432"), []);
        assert_eq!(
            addr_port("\"0.0.0.0:8686\""),
            Some((Some(IpAddr::from([0, 0, 0, 0])), 8686))
        );
        assert_eq!(
            addr_port(":9000"),
            Some((Some(IpAddr::from([0, 0, 0, 0])), 9000))
        );
        assert_eq!(
            xml_attr(
                r#" protocol="AJP/1.3" address="0.0.0.0" port="8009""#,
                "port"
            ),
            Some("8009")
        );
    }
}
