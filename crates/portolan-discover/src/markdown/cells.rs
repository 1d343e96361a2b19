//! Table headers and cells: which column is which (`Service`/`Name`/`Component`/`App`,
//! `Port`/`Host Port`/`Container Port`, …, in any order, case and markup) and what a cell
//! says (`80, 443`, `5401-5431, 5433-5499`, `**8069**`, `` `8069/tcp` ``, `127.0.0.1:5432`,
//! `[8000](http://…)`, `N/A`, `—`).

use std::net::IpAddr;

use portolan_model::port::PortRange;
use portolan_model::spec::Transport;

use super::repair;

/// What a table column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Column {
    /// The service (or component, app) name.
    Service,
    /// The port (host side when the table distinguishes).
    Port,
    /// The container-side port.
    ContainerPort,
    /// TCP/UDP, or the app protocol (`HTTP`).
    Protocol,
    /// What it is for.
    Purpose,
    /// Who may reach it (`Internal only`, `Public`, `LAN only`).
    Access,
    /// The bind address.
    Bind,
    /// `Active`, `Reserved`, `Available`, …
    Status,
    /// `Production`, `Development`, …
    Environment,
    /// Where the fact comes from.
    Evidence,
    /// A port range (ownership tables).
    Range,
    /// The owning project or team.
    Project,
    /// The host or server.
    Host,
    /// A date (assignment logs).
    Date,
    /// Whether authentication is required (`Auth required`, `Authentifizierung`).
    Auth,
    /// Whether only TLS is spoken (`HTTPS only`, `Nur HTTPS`, `TLS`).
    Tls,
    /// The machine's own address (`IP`, `Address` in a table of machines or devices).
    Address,
    /// Where an outbound connection goes (`Destination`, `Endpoint`, `Ziel`, `Destino`).
    Destination,
    /// Who makes an outbound connection (`Called by`, `Used by`).
    Caller,
}

/// The column a header cell names, if it is one the import understands.
pub fn column(header: &str) -> Option<Column> {
    let h = clean(header).to_lowercase().replace("(s)", "s");
    let h = h.trim_end_matches(['(', ')', ':', '*', ' ', '.']).trim();
    known_column(h).or_else(|| h.strip_suffix('s').and_then(known_column))
}

fn known_column(h: &str) -> Option<Column> {
    let words: Vec<&str> = h
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let has = |w: &str| words.contains(&w);
    Some(match h {
        "service" | "name" | "component" | "app" | "application" | "service name" | "proces"
        | "process" | "daemon" | "program" | "programm" | "programa" | "programme" | "what"
        | "instrument" | "device" | "exporter" | "dienst" | "servicio" | "сервис" | "служба"
        | "anwendung" | "aplicación" | "software" | "container" | "unit" | "provider"
        | "anbieter" | "proveedor" | "fournisseur" | "system" | "job" => Column::Service,
        "port" | "host port" | "external port" | "public port" | "published port"
        | "listen port" | "port number" | "number" | "tcp port" | "udp port" | "listens"
        | "listens on" | "listening on" | "port/proto" | "port/protocol" | "puerto" | "puertos"
        | "порт" | "порты" | "port(s)" | "ports" | "node port" => Column::Port,
        "container port" | "internal port" | "target port" | "target" => Column::ContainerPort,
        "protocol" | "transport" | "proto" | "type" | "protocols" | "protokoll" | "protocolo"
        | "protocole" | "протокол" => Column::Protocol,
        "purpose"
        | "description"
        | "note"
        | "comment"
        | "usage"
        | "use"
        | "used for"
        | "detail"
        | "remark"
        | "why"
        | "zweck"
        | "aufgabe"
        | "uso"
        | "notas"
        | "nota"
        | "usage prévu"
        | "remarques"
        | "remarque"
        | "зачем"
        | "назначение сервиса"
        | "описание"
        | "what for"
        | "bemerkung"
        | "role"
        | "rolle"
        | "rôle"
        | "función" => Column::Purpose,
        "acces" | "access" | "exposure" | "visibility" | "scope" | "reachability"
        | "exposed to" | "reachable from" | "who connects" | "who may reach it" | "meant for"
        | "zone" | "erreichbar von" | "zugriff" | "acceso" | "accès" | "exposition" | "доступ"
        | "source" | "allowed from" | "audience" | "sources" | "external access"
        | "reachable by" => Column::Access,
        "bind" | "binding" | "bind address" | "listen address" | "interface" | "listen"
        | "listening address" | "listen addr" | "local address" => Column::Bind,
        "address" | "addresses" | "ip" | "ips" | "ip address" | "adresse" | "adressen"
        | "dirección" | "direccion" | "адрес" | "addr" => Column::Address,
        "statu" | "status" | "state" | "estado" | "état" | "статус" => Column::Status,
        "environment" | "env" | "stage" | "tier" | "umgebung" | "entorno" => Column::Environment,
        "evidence" | "reference" | "config" | "defined in" => Column::Evidence,
        "range" | "port range" | "block" | "port block" | "allocation" | "allocated range" => {
            Column::Range
        }
        "project" | "owner" | "team" | "group" => Column::Project,
        "host" | "server" | "machine" | "node" | "hostname" | "host(s)" | "servers" | "hosts"
        | "nodes" | "vm" | "box" | "servidor" | "serveur" | "сервер" | "rechner" => {
            Column::Host
        }
        "date" | "assigned" | "since" | "added" | "assigned on" => Column::Date,
        "auth"
        | "auth required"
        | "authentication"
        | "authentifizierung"
        | "autenticación"
        | "authentification"
        | "аутентификация"
        | "login"
        | "requires auth" => Column::Auth,
        "https only" | "tls only" | "tls" | "nur https" | "solo https" | "https uniquement"
        | "только https" | "encrypted" | "https" => Column::Tls,
        "destination"
        | "endpoint"
        | "remote host"
        | "remote"
        | "target host"
        | "ziel"
        | "zielhost"
        | "destino"
        | "назначение"
        | "url"
        | "upstream"
        | "connects to"
        | "connection"
        | "connection string"
        | "dsn"
        | "verbindung"
        | "conexión"
        | "cadena de conexión"
        | "connexion"
        | "подключение"
        | "jdbc url" => Column::Destination,
        "called by"
        | "used by"
        | "caller"
        | "client"
        | "clients"
        | "from"
        | "aufgerufen von"
        | "llamado por"
        | "appelé par"
        | "кто вызывает" => Column::Caller,
        _ => {
            if has("container") || has("internal") && has("port") {
                Column::ContainerPort
            } else if has("range") || has("block") {
                Column::Range
            } else if has("port") || has("ports") {
                Column::Port
            } else if has("service") || has("component") {
                Column::Service
            } else if has("access") || has("exposure") || has("reachable") || has("reach") {
                Column::Access
            } else if has("auth") || has("authentication") {
                Column::Auth
            } else if has("outbound") || has("egress") {
                Column::Service
            } else {
                return None;
            }
        }
    })
}

/// The plain text of a cell: mojibake and entities repaired, Markdown emphasis, code spans,
/// links (`[text](url)` → `text`), images and HTML tags removed, whitespace collapsed.
pub fn clean(cell: &str) -> String {
    let s = repair::mojibake(cell);
    let mut out = String::with_capacity(s.len());
    let mut rest = s.as_str();
    while let Some(c) = rest.chars().next() {
        if c == '!' && rest[1..].starts_with('[') {
            rest = &rest[1..];
            continue;
        }
        if c == '[' {
            if let Some(close) = rest.find("](") {
                if let Some(end) = rest[close..].find(')') {
                    out.push_str(&rest[1..close]);
                    rest = &rest[close + end + 1..];
                    continue;
                }
            }
        }
        if c == '<' {
            if let Some(end) = rest.find('>') {
                let tag = &rest[1..end];
                if tag
                    .chars()
                    .next()
                    .is_some_and(|t| t.is_ascii_alphabetic() || t == '/')
                {
                    if tag.eq_ignore_ascii_case("br")
                        || tag.eq_ignore_ascii_case("br/")
                        || tag.eq_ignore_ascii_case("br /")
                    {
                        out.push_str(", ");
                    }
                    rest = &rest[end + 1..];
                    continue;
                }
            }
        }
        if matches!(c, '*' | '`' | '~') || (c == '_' && (rest.starts_with("__"))) {
            rest = &rest[c.len_utf8()..];
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    repair::entities(&out)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether a cleaned cell says "nothing here" (`N/A`, `-`, `—`, `none`, empty).
pub fn is_empty(cell: &str) -> bool {
    matches!(
        cell.trim().to_lowercase().as_str(),
        "" | "-"
            | "--"
            | "—"
            | "–"
            | "n/a"
            | "na"
            | "none"
            | "tbd"
            | "tba"
            | "?"
            | "n.a."
            | "nil"
            | "null"
    )
}

/// One port entry of a cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortCell {
    /// The port or range.
    pub port: PortRange,
    /// The bind address written with it (`127.0.0.1:5432`).
    pub bind: Option<IpAddr>,
    /// The transport written with it (`8069/tcp`).
    pub transport: Option<Transport>,
}

/// The ports a cell lists (`80, 443`; `5401-5431, 5433-5499`; `8069/tcp`;
/// `127.0.0.1:5432`; `5000:5399`; `8069 (web)`). `Ok(vec![])` for an empty cell, `Err` for
/// text that is not a port list.
pub fn ports(cell: &str) -> Result<Vec<PortCell>, String> {
    let text = clean(cell);
    if is_empty(&text) {
        return Ok(Vec::new());
    }
    let text = strip_parens(&text);
    let mut out = Vec::new();
    for piece in text
        .split([',', ';', '&', '+'])
        .flat_map(|p| p.split(" and "))
    {
        let piece = piece.trim();
        if piece.is_empty() || is_empty(piece) {
            continue;
        }
        out.push(
            port_piece(piece).ok_or_else(|| format!("`{piece}` is not a port or port range"))?,
        );
    }
    if out.is_empty() {
        return Err(format!("`{text}` lists no port"));
    }
    Ok(out)
}

fn strip_parens(s: &str) -> String {
    let mut out = String::new();
    let mut depth = 0u32;
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out.trim().to_string()
}

fn port_piece(piece: &str) -> Option<PortCell> {
    let mut s = piece.trim().trim_end_matches('.').to_string();
    let mut transport = None;
    let lower = s.to_ascii_lowercase();
    for (suffix, t) in [
        ("/tcp", Transport::Tcp),
        ("/udp", Transport::Udp),
        (" tcp", Transport::Tcp),
        (" udp", Transport::Udp),
    ] {
        if lower.ends_with(suffix) {
            transport = Some(t);
            s.truncate(s.len() - suffix.len());
            break;
        }
    }
    let s = s.trim().trim_start_matches(':');
    let (bind, port_text) = split_bind(s);
    let port_text = port_text.replace(['–', '—'], "-").replace(' ', "");
    let port = if port_text.contains(['-', ':']) {
        port_text.parse::<PortRange>().ok()?
    } else {
        PortRange::single(crate::text::port_number(&port_text)?)
    };
    Some(PortCell {
        port,
        bind,
        transport,
    })
}

/// `127.0.0.1:5432` → (`127.0.0.1`, `5432`); `[::1]:80` → (`::1`, `80`); `5000:5399` → no
/// address.
pub fn split_bind(s: &str) -> (Option<IpAddr>, &str) {
    if let Some(rest) = s.strip_prefix('[') {
        if let Some((addr, port)) = rest.split_once("]:") {
            if let Ok(ip) = addr.parse() {
                return (Some(ip), port);
            }
        }
    }
    if let Some((addr, port)) = s.rsplit_once(':') {
        if let Ok(ip) = addr.parse::<IpAddr>() {
            return (Some(ip), port);
        }
        if addr == "localhost" {
            return (Some(IpAddr::from([127, 0, 0, 1])), port);
        }
    }
    (None, s)
}

/// What a protocol cell says: the transport and the app protocol (`HTTP` → tcp/http,
/// `UDP` → udp/none, `TCP` → tcp/none, `HTTP/HTTPS` → tcp/none: one per port).
pub fn protocol(cell: &str) -> (Option<Transport>, Option<String>) {
    let p = clean(cell).to_lowercase();
    let p = p.trim();
    if is_empty(p) {
        return (None, None);
    }
    match p {
        "tcp" | "tcp/ip" => (Some(Transport::Tcp), None),
        "udp" => (Some(Transport::Udp), None),
        "tcp/udp" | "udp/tcp" | "tcp+udp" | "both" => (None, None),
        _ => {
            let word = p.split([' ', '(']).next().unwrap_or(p);
            if word.contains('/') || word.is_empty() {
                return (Some(Transport::Tcp), None);
            }
            if !word
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            {
                return (None, None);
            }
            match word {
                "systemd" | "cron" | "timer" | "n/a" | "internal" | "-" => (None, None),
                "quic" | "dns" | "ntp" | "snmp" | "syslog" | "dhcp" | "wireguard"
                | "openvpn-udp" => (Some(Transport::Udp), Some(word.to_string())),
                _ => (Some(Transport::Tcp), Some(word.to_string())),
            }
        }
    }
}

/// A name usable as a spec key: lowercase ASCII letters, digits and `-`, from free text
/// (`**Odoo Web**` → `odoo-web`, `Re-Opened Tickets` → `re-opened-tickets`).
pub fn slug(text: &str) -> String {
    let text = clean(text);
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty()
            && !out.ends_with('-')
            && (c.is_whitespace() || "-_/.:+&".contains(c))
        {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').to_string();
    if out.len() > 48 {
        out[..48].trim_end_matches('-').to_string()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells() {
        let p = |s| {
            ports(s).map(|v| {
                v.iter()
                    .map(|c| c.port.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            })
        };
        assert_eq!(p("80, 443").as_deref(), Ok("80,443"));
        assert_eq!(p("**8069**").as_deref(), Ok("8069"));
        assert_eq!(p("`8069/tcp`").as_deref(), Ok("8069"));
        assert_eq!(
            p("5401-5431, 5433-5499").as_deref(),
            Ok("5401-5431,5433-5499")
        );
        assert_eq!(p("N/A").as_deref(), Ok(""));
        assert_eq!(p("—").as_deref(), Ok(""));
        assert!(ports("lots").is_err());
        assert_eq!(
            ports("127.0.0.1:5432").unwrap()[0].bind,
            Some(IpAddr::from([127, 0, 0, 1]))
        );
        assert_eq!(slug("**Odoo Web**"), "odoo-web");
        assert_eq!(clean("[8000](http://x:8000) &amp; `y`"), "8000 & y");
    }
}
