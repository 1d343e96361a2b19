//! Inventory rows: one service (or device) and its ports per row, in any column order.
//! Besides name, port, protocol and purpose, a row may say where (a `Host` column naming
//! one or several machines, `pg1 (10.5.0.21), pg2 (10.5.0.22)`; or an `IP` column, which
//! makes the row's device a machine of its own), who may reach it (`Reachable from`,
//! `Zone`, `Who connects`, with CIDRs, network names or `nginx only`), whether it needs
//! authentication or TLS (`Auth required`, `HTTPS only`), its bind address, its status
//! (free ports are skipped, with the reason), and Kubernetes service types (`NodePort
//! 32000`, `ClusterIP`). Port cells may list several ports with labels (`5000 write, 5001
//! read`, `80<br>443`, `5025 / 80 / 161` beside `SCPI / HTTP / SNMP (UDP)`).

use std::collections::BTreeMap;
use std::net::IpAddr;

use portolan_model::knowledge;
use portolan_model::port::PortRange;
use portolan_model::spec::{Publisher, Transport};

use super::Section;
use super::blocks::Table;
use super::cells::{self, Column};
use super::draft::{BindingDraft, Draft, ReservationDraft};
use super::intent;
use super::mentions;

fn cell<'a>(row: &'a [String], cols: &BTreeMap<Column, usize>, c: Column) -> Option<&'a str> {
    cols.get(&c).and_then(|&i| row.get(i)).map(String::as_str)
}

fn status(text: &str) -> Result<Option<&'static str>, String> {
    let t = cells::clean(text).to_lowercase();
    let w = t
        .split(|c: char| !c.is_alphabetic())
        .find(|w| !w.is_empty())
        .unwrap_or("");
    Ok(match w {
        "available" | "free" | "unused" | "open" | "unassigned" | "tbd" | "frei" | "libre"
        | "disponible" | "свободен" | "свободно" => return Err(w.to_string()),
        "reserved" | "held" => Some("reserved"),
        "deprecated" | "legacy" | "retired" | "removed" | "disabled" | "decommissioned" => {
            Some("deprecated")
        }
        "planned" | "future" | "proposed" => Some("planned"),
        _ => None,
    })
}

/// Whether an `Owner` cell names a system account (`root`, `www-data`, `mysql`) — the
/// process owner of an `ss`/`netstat` listing — rather than a project or team.
fn system_user(s: &str) -> bool {
    [
        "root",
        "www-data",
        "www",
        "nobody",
        "daemon",
        "mysql",
        "postgres",
        "redis",
        "memcache",
        "memcached",
        "nginx",
        "apache",
        "httpd",
        "bind",
        "named",
        "postfix",
        "dovecot",
        "sshd",
        "systemd-resolve",
        "systemd-network",
        "chrony",
        "ntp",
        "syslog",
        "messagebus",
        "avahi",
        "dnsmasq",
        "haproxy",
        "caddy",
        "docker",
        "elasticsearch",
        "mongodb",
        "rabbitmq",
    ]
    .contains(&s)
        || s.starts_with('_')
        || s.starts_with("systemd-")
}

/// One port of a cell, with what the cell says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The port(s).
    pub port: PortRange,
    /// Bind address written with it.
    pub bind: Option<IpAddr>,
    /// Transport written with it.
    pub transport: Option<Transport>,
    /// A label (`write`, `metrics`, `admin API`).
    pub label: Option<String>,
}

/// The ports of a cell: strict first (`80, 443`, `127.0.0.1:5432`, `5000:5399`), then
/// leniently, piece by piece (`5000 write, 5001 read`, `80, 443, 8081, 9180 (metrics);
/// admin API on localhost:2019`, `6000 bis 6010`, `5025 / 80 / 161`).
pub fn port_items(text: &str) -> Result<Vec<Item>, String> {
    match cells::ports(text) {
        Ok(v) => Ok(v
            .into_iter()
            .map(|p| Item {
                port: p.port,
                bind: p.bind,
                transport: p.transport,
                label: None,
            })
            .collect()),
        Err(e) => {
            let items = lenient(text);
            if items.is_empty() {
                return Err(e);
            }
            Ok(items)
        }
    }
}

fn lenient(text: &str) -> Vec<Item> {
    let clean = cells::clean(&text.replace("<br>", ", "));
    let mut out = Vec::new();
    for piece in clean.split([',', ';']).flat_map(|p| p.split(" / ")) {
        let piece = piece.trim();
        if piece.is_empty() {
            continue;
        }
        // `admin API on localhost:2019`, `localhost:4000`, `[::]:3001`
        if let Some((addr, port, before)) = addr_port(piece) {
            out.push(Item {
                port: PortRange::single(port),
                bind: addr,
                transport: None,
                label: (!before.is_empty()).then_some(before),
            });
            continue;
        }
        // `5000 write`, `9180 (metrics)`, `6000 bis 6010`, `123/udp`
        if let Some((ports, rest)) = mentions::port_list(piece) {
            let label = rest
                .trim()
                .trim_start_matches('(')
                .trim_end_matches(')')
                .trim()
                .to_string();
            for (p, t) in ports {
                out.push(Item {
                    port: p,
                    bind: None,
                    transport: t,
                    label: (!label.is_empty()).then(|| label.clone()),
                });
            }
            continue;
        }
        // `5000 write` where the word runs into the number: `port 22 (SFTP)`
        let words: Vec<&str> = piece.split_whitespace().collect();
        if let Some(i) = words
            .iter()
            .position(|w| crate::text::port_number(w.trim_matches(['(', ')'])).is_some())
        {
            if let Some(p) = crate::text::port_number(words[i].trim_matches(['(', ')'])) {
                let label = words
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, w)| *w)
                    .collect::<Vec<_>>()
                    .join(" ");
                if words.len() <= 4 {
                    out.push(Item {
                        port: PortRange::single(p),
                        bind: None,
                        transport: None,
                        label: (!label.is_empty()).then_some(label),
                    });
                }
            }
        }
    }
    out
}

/// `label on ADDR:PORT` / `ADDR:PORT`.
fn addr_port(piece: &str) -> Option<(Option<IpAddr>, u16, String)> {
    let (before, target) = match piece.rsplit_once(' ') {
        Some((b, t)) if t.contains(':') => (b.trim(), t),
        _ if piece.contains(':') && !piece.contains(' ') => ("", piece),
        _ => return None,
    };
    let (bind, port) = cells::split_bind(target.trim_matches(['(', ')', '`']));
    if bind.is_none() && !target.starts_with(':') {
        return None;
    }
    let port = crate::text::port_number(port)?;
    let before = before
        .trim_end_matches(" on")
        .trim_end_matches(" at")
        .trim()
        .to_string();
    Some((bind, port, before))
}

/// Machines a host cell names: `api-1, api-2`, `pg1 (10.5.0.21), pg2 (10.5.0.22)`,
/// `lab-gw<br>(10.77.3.1)`, `edge`; registered in the draft (with their addresses).
pub fn host_cell(draft: &mut Draft, text: &str, line: usize) -> Vec<String> {
    let clean = cells::clean(&text.replace("<br>", " "));
    let mut out: Vec<String> = Vec::new();
    let mut last: Option<String> = None;
    for piece in clean.split([',', ';']) {
        let piece = piece.trim();
        if piece.is_empty() {
            continue;
        }
        let (name, inner) = match piece.find('(') {
            Some(i) => (piece[..i].trim(), piece[i..].trim_matches(['(', ')', ' '])),
            None => (piece.trim_matches(['(', ')', ' ']), ""),
        };
        let addrs: Vec<String> = super::facts::addresses(&format!("{name} {inner}"))
            .into_iter()
            .filter(|(_, p, _)| p.is_none())
            .map(|(ip, _, _)| ip.to_string())
            .collect();
        let name_is_addr = name.parse::<IpAddr>().is_ok();
        let key = if name.is_empty() || name_is_addr {
            match &last {
                Some(k) => k.clone(),
                None => continue,
            }
        } else {
            let k = cells::slug(name.split_whitespace().next().unwrap_or(name));
            if k.is_empty() || k.len() > 40 {
                continue;
            }
            k
        };
        let display = if name.is_empty() || name_is_addr {
            key.clone()
        } else {
            name.split_whitespace().next().unwrap_or(name).to_string()
        };
        let h = draft.host(&key, &display);
        h.lines.insert(line);
        for a in addrs {
            h.addresses.insert(a);
        }
        if !out.contains(&key) {
            out.push(key.clone());
        }
        last = Some(key);
    }
    out
}

/// Splits a parallel cell (`SCPI raw / HTTP / SNMP (UDP)`, `SCPI<br>HTTP`) into `n` parts,
/// if it has exactly that many.
fn parallel(text: &str, n: usize) -> Option<Vec<String>> {
    if n < 2 {
        return None;
    }
    for sep in ["<br>", " / ", ", ", ";"] {
        let parts: Vec<String> = text.split(sep).map(|s| s.trim().to_string()).collect();
        if parts.len() == n {
            return Some(parts);
        }
    }
    None
}

/// Kubernetes service type in a `Type` cell: `NodePort 32000`, `ClusterIP`, `LoadBalancer`.
fn k8s_type(text: &str) -> Option<(&'static str, Option<u16>)> {
    let t = cells::clean(text);
    let mut w = t.split_whitespace();
    let kind = match w.next()?.to_ascii_lowercase().as_str() {
        "nodeport" => "NodePort",
        "clusterip" => "ClusterIP",
        "loadbalancer" => "LoadBalancer",
        "headless" => "ClusterIP",
        _ => return None,
    };
    Some((kind, w.next().and_then(crate::text::port_number)))
}

/// A heading that names one thing (`Cloud broker (mqtt-cloud)`) rather than a list
/// (`Ports`, `Services`, `Inbound`).
fn heading_subject(heading: &str) -> Option<String> {
    let h = cells::clean(heading);
    let base = h.split('(').next().unwrap_or(&h).trim();
    let l = base.to_lowercase();
    let generic = [
        "port",
        "ports",
        "service",
        "services",
        "inbound",
        "listeners",
        "overview",
        "network",
        "networking",
        "inventory",
        "who listens where",
        "what runs today",
        "list",
        "port list",
        "dienste",
        "servicios",
        "services qui écoutent",
        "сервисы",
        "eingehende dienste",
        "servicios que escuchan",
        "reference",
        "summary",
        "table",
    ];
    if base.is_empty() || base.len() > 40 || generic.iter().any(|g| l == *g || l.ends_with(g)) {
        return None;
    }
    Some(base.to_string())
}

/// Reads the rows of an inventory (or reserved-ports) table.
#[allow(clippy::too_many_lines)]
pub fn rows(
    draft: &mut Draft,
    t: &Table,
    cols: &BTreeMap<Column, usize>,
    section: &Section,
    reserved_table: bool,
) {
    let heading_project = section
        .headings()
        .iter()
        .rev()
        .find_map(|h| draft.project_in(h));
    let heading_env = section.environment();
    let heading_audience = section.audience();
    let heading_hosts = section.hosts();
    let subject = if cols.contains_key(&Column::Service) {
        None
    } else {
        heading_subject(&section.innermost())
    };
    for (row, line) in &t.rows {
        let line = *line;
        let name_raw = cell(row, cols, Column::Service).unwrap_or("");
        let purpose = cell(row, cols, Column::Purpose)
            .map(cells::clean)
            .filter(|s| !cells::is_empty(s));
        let port_text = cell(row, cols, Column::Port)
            .or_else(|| cell(row, cols, Column::Range))
            .unwrap_or("");
        let mut items = match port_items(port_text) {
            Ok(v) => v,
            Err(e) => {
                draft.note(line, format!("port cell not read: {e}"));
                continue;
            }
        };
        let targets = match cell(row, cols, Column::ContainerPort) {
            Some(c) if cols.contains_key(&Column::Port) || cols.contains_key(&Column::Range) => {
                cells::ports(c).unwrap_or_default()
            }
            _ => Vec::new(),
        };
        if items.is_empty() && !cols.contains_key(&Column::Port) {
            items = targets
                .iter()
                .map(|p| Item {
                    port: p.port,
                    bind: p.bind,
                    transport: p.transport,
                    label: None,
                })
                .collect();
        }
        let status = match cell(row, cols, Column::Status).map(status) {
            Some(Err(w)) => {
                draft.skip(line, format!("status `{w}`: a free port, not a service"));
                continue;
            }
            Some(Ok(s)) => s,
            None => None,
        };
        if items.is_empty() {
            // a service without a port of its own (`Cross-Vendor Checks | N/A | systemd`):
            // kept, so that the assignment log and flows can name it
            let display = cells::clean(name_raw);
            let key = cells::slug(&display);
            if key.is_empty() {
                draft.skip(line, "no port and no name in the row");
                continue;
            }
            let s = draft.service(&key, &display);
            s.lines.insert(line);
            if s.purpose.is_none() {
                s.purpose.clone_from(&purpose);
            }
            if s.status.is_none() {
                s.status = status;
            }
            if s.project.is_none() {
                s.project = cell(row, cols, Column::Project)
                    .map(cells::slug)
                    .filter(|s| !s.is_empty())
                    .or_else(|| heading_project.clone());
            }
            continue;
        }
        let project = cell(row, cols, Column::Project)
            .map(cells::slug)
            .filter(|s| {
                !s.is_empty() && !system_user(s) && !cells::slug(name_raw).starts_with(s.as_str())
            })
            .or_else(|| heading_project.clone());
        let (base_name, paren) = {
            let c = cells::clean(name_raw);
            match c.find('(') {
                Some(i) if i > 0 => (
                    c[..i].trim().to_string(),
                    Some(c[i + 1..].trim_end_matches(')').trim().to_string()),
                ),
                _ => (c, None),
            }
        };
        // `NodePort range`, `ephemeral range`: ports held, not a listener
        let lname = base_name.to_lowercase();
        let range_row = items.iter().all(|i| i.port.lo < i.port.hi)
            && ["range", "pool", "reserved", "ephemeral"]
                .iter()
                .any(|w| lname.contains(w));
        if reserved_table || range_row {
            draft.reservations.push(ReservationDraft {
                ports: items.iter().map(|p| p.port).collect(),
                project,
                why: purpose
                    .clone()
                    .or_else(|| Some(cells::clean(name_raw)))
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "reserved".into()),
                line,
            });
            continue;
        }
        // an `IP` column beside a device name: the device is a machine
        let mut hosts: Vec<String> = Vec::new();
        if let Some(h) =
            cell(row, cols, Column::Host).filter(|h| !cells::is_empty(&cells::clean(h)))
        {
            hosts = host_cell(draft, h, line);
        } else if let Some(a) = cell(row, cols, Column::Address) {
            let addrs: Vec<String> = super::facts::addresses(&cells::clean(a))
                .into_iter()
                .map(|(ip, _, _)| ip.to_string())
                .collect();
            let key = cells::slug(&base_name);
            if !addrs.is_empty() && !key.is_empty() && key.len() <= 40 {
                let h = draft.host(&key, &base_name);
                h.lines.insert(line);
                h.addresses.extend(addrs);
                hosts.push(key);
            }
        }
        if hosts.is_empty() {
            hosts.clone_from(&heading_hosts);
        }
        let display = if !cells::is_empty(&base_name) {
            base_name.clone()
        } else if let Some(s) = &subject {
            s.clone()
        } else {
            purpose.clone().unwrap_or_default()
        };
        let mut key = cells::slug(&display);
        if key.is_empty() {
            key = match items.first() {
                Some(p) => format!("port-{}", p.port.lo),
                None => continue,
            };
        }
        let proto_text = cell(row, cols, Column::Protocol).unwrap_or("");
        let k8s = k8s_type(proto_text);
        let protos: Option<Vec<String>> = parallel(proto_text, items.len());
        let access_text = cell(row, cols, Column::Access).unwrap_or("");
        let access = cell(row, cols, Column::Access).map(|a| intent::audience(draft, a));
        let via_proxy = intent::via_proxy(access_text);
        let env = cell(row, cols, Column::Environment)
            .and_then(|e| super::environment_of(&cells::clean(e)))
            .or_else(|| heading_env.clone());
        let bind_cell = cell(row, cols, Column::Bind)
            .map(cells::clean)
            .and_then(|b| b.split_whitespace().next().and_then(|w| w.parse().ok()));
        let outbound = matches!(access, Some(None));
        // no audience column: a restriction said in the notes (`office only (see
        // firewall)`, `nur intern`) counts
        let noted = purpose
            .as_deref()
            .filter(|_| access.is_none())
            .filter(|p| {
                let l = p.to_lowercase();
                [
                    "only",
                    "nur ",
                    "solo",
                    "uniquement",
                    "только",
                    "public",
                    "internet",
                ]
                .iter()
                .any(|w| l.contains(w))
            })
            .and_then(|p| intent::audience(draft, p))
            .filter(|a| !a.is_empty());
        let exposure = match access {
            Some(Some(a)) if !a.is_empty() => a,
            _ => noted.unwrap_or_else(|| heading_audience.clone()),
        };
        let auth = cell(row, cols, Column::Auth).and_then(intent::auth);
        let tls_only = cell(row, cols, Column::Tls).and_then(intent::yes_no);
        let all_text = format!(
            "{} {} {}",
            purpose.as_deref().unwrap_or(""),
            paren.as_deref().unwrap_or(""),
            proto_text
        );
        let redirect = all_text.to_lowercase().contains("redirect")
            || all_text.to_lowercase().contains("redirig")
            || all_text.to_lowercase().contains("redirige");
        if let Some(e) = &env {
            draft.environments.insert(e.clone());
        }
        let (row_transport, row_app) = if k8s.is_some() {
            (None, None)
        } else {
            cells::protocol(proto_text)
        };
        let several_apps =
            protos.is_none() && cells::clean(proto_text).contains('/') && row_app.is_none();
        let mut new_bindings: Vec<BindingDraft> = Vec::new();
        if !outbound {
            for (i, it) in items.iter().enumerate() {
                let target = if targets.len() == items.len() {
                    targets.get(i)
                } else {
                    targets.first()
                };
                let this_proto = protos.as_ref().and_then(|p| p.get(i)).map(String::as_str);
                let (transport, app) = match this_proto {
                    Some(p) => cells::protocol(p),
                    None => (row_transport, row_app.clone()),
                };
                let label_text = format!(
                    "{} {}",
                    it.label.as_deref().unwrap_or(""),
                    this_proto.unwrap_or("")
                );
                let app = app_for_row(
                    it.port.lo,
                    app.as_deref(),
                    several_apps,
                    items.len(),
                    &label_text,
                );
                let tls = tls_only == Some(true)
                    || app.as_deref() == Some("https")
                    || intent::says_tls(&label_text)
                    || (protos.is_none()
                        && !several_apps
                        && items.len() == 1
                        && intent::says_tls(proto_text))
                    || (intent::says_tls(purpose.as_deref().unwrap_or(""))
                        && app.as_deref() != Some("http"));
                let sensitive = (app.as_deref().is_some_and(|a| a.starts_with("http"))
                    && key.split('-').any(|w| {
                        w.len() > 2 && knowledge::app_traits(Some(w), it.port.lo).sensitive
                    }))
                .then_some(true);
                let (port, target, publisher) = match k8s {
                    Some(("NodePort", Some(np))) => (
                        PortRange::single(np),
                        Some(it.port),
                        Some(Publisher::K8sNodeport),
                    ),
                    _ => (it.port, target.map(|t| t.port), None),
                };
                let transport = it.transport.or(transport).or_else(|| {
                    let ts = intent::transports(&label_text);
                    (ts == [Transport::Udp]).then_some(Transport::Udp)
                });
                new_bindings.push(BindingDraft {
                    sensitive,
                    port: Some(port),
                    target,
                    publisher,
                    bind: it.bind.or(bind_cell),
                    transport: transport.filter(|t| *t == Transport::Udp),
                    tls: tls.then_some("native"),
                    app,
                    exposure: exposure.clone(),
                    auth,
                    via_proxy,
                    redirect: redirect && it.port.lo == 80,
                    purpose: it.label.clone().or_else(|| this_proto.map(cells::clean)),
                    lines: [line].into(),
                });
                // `TCP and UDP`: one binding each
                if transport.is_none() && intent::transports(proto_text).len() == 2 {
                    let mut udp = new_bindings.last().cloned().unwrap_or_default();
                    udp.transport = Some(Transport::Udp);
                    new_bindings.push(udp);
                }
            }
            // a range in the notes (`pasivo 50000..50010`) is one more binding
            if let Some(p) = &purpose {
                for (label, range) in note_ranges(p) {
                    new_bindings.push(BindingDraft {
                        port: Some(range),
                        exposure: exposure.clone(),
                        purpose: Some(label),
                        lines: [line].into(),
                        ..BindingDraft::default()
                    });
                }
            }
        }
        if k8s.is_some_and(|(k, _)| k == "ClusterIP") && cell(row, cols, Column::Host).is_none() {
            // cluster-internal: on the cluster's service network, not on the nodes
            let h = draft.host("cluster", "cluster");
            h.description = Some("the cluster's service network (ClusterIP services)".into());
            h.public = Some(false);
            h.synthetic = true;
            h.lines.insert(line);
            hosts = vec!["cluster".into()];
        }
        let existing_env = draft.services.get(&key).map(|s| s.env.clone());
        for b in new_bindings {
            let label = b
                .purpose
                .clone()
                .filter(|l| l.split_whitespace().count() <= 3);
            let name_hint = b.app.clone().or(label.clone());
            let name = {
                let base = draft.binding_name(&key, name_hint.as_deref(), b.port);
                if b.transport == Some(Transport::Udp)
                    && draft
                        .services
                        .get(&key)
                        .is_some_and(|s| s.bindings.contains_key(&base))
                {
                    format!("{base}-udp")
                } else {
                    base
                }
            };
            let s = draft.service(&key, &display);
            if let Some((_, old)) = s
                .bindings
                .iter_mut()
                .find(|(_, o)| o.port == b.port && o.transport == b.transport)
            {
                old.lines.extend(b.lines);
                draft.counts.refined += 1;
                continue;
            }
            draft.add_binding(&key, name, b);
        }
        let s = draft.service(&key, &display);
        s.lines.insert(line);
        s.hosts.extend(hosts);
        if s.project.is_none() {
            s.project = project;
        }
        if s.purpose.is_none() {
            s.purpose = purpose.or(paren).map(|p| {
                if outbound {
                    format!("{p} (outbound only)")
                } else {
                    p
                }
            });
        }
        if s.status.is_none() {
            s.status = status;
        }
        // A service found in sections of two environments is in both.
        s.env = match existing_env {
            None => env,
            Some(old) if old == env => old,
            Some(_) => None,
        };
    }
}

/// The app of one port of a row: said in the row, implied by its label, or the port's
/// main well-known use.
fn app_for_row(
    port: u16,
    said: Option<&str>,
    several: bool,
    n: usize,
    label: &str,
) -> Option<String> {
    let said_http_many = n > 1 && said.is_some_and(|a| a.contains("http"));
    if let Some(a) = said {
        if !several && !said_http_many {
            return Some(a.to_string());
        }
    }
    if let Some(a) = intent::app_from_words(label) {
        return Some(a.to_string());
    }
    super::table::app_for(port, None, true)
}

/// Port ranges written in a notes cell with words before them (`pasivo 50000..50010`,
/// `passive 30000-30009`): (label, range). Single ports in notes are not listeners (`moved
/// from 8080`).
fn note_ranges(text: &str) -> Vec<(String, PortRange)> {
    let mut out = Vec::new();
    let words: Vec<&str> = text.split_whitespace().collect();
    for (i, w) in words.iter().enumerate() {
        if !w.starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        let rest = words[i..].join(" ");
        if let Some((ports, _)) = mentions::port_list(&rest) {
            for (p, _) in ports {
                if p.lo < p.hi {
                    let label = words[..i].join(" ");
                    let label = if label.is_empty() {
                        "range".to_string()
                    } else {
                        label
                    };
                    out.push((label, p));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ports(s: &str) -> Vec<String> {
        port_items(s)
            .unwrap_or_default()
            .iter()
            .map(|i| {
                format!(
                    "{}{}{}",
                    i.bind.map(|b| format!("{b}:")).unwrap_or_default(),
                    i.port,
                    i.label
                        .as_ref()
                        .map(|l| format!(" ({l})"))
                        .unwrap_or_default()
                )
            })
            .collect()
    }

    #[test]
    fn port_cells_with_labels() {
        assert_eq!(
            ports("5000 write, 5001 read, 8404 stats"),
            ["5000 (write)", "5001 (read)", "8404 (stats)"]
        );
        assert_eq!(
            ports("80, 443, 8081, 9180 (metrics); admin API on localhost:2019"),
            [
                "80",
                "443",
                "8081",
                "9180 (metrics)",
                "127.0.0.1:2019 (admin API)"
            ]
        );
        assert_eq!(
            ports("localhost:4000, localhost:4001"),
            ["127.0.0.1:4000", "127.0.0.1:4001"]
        );
        assert_eq!(ports("5025 / 80 / 161"), ["5025", "80", "161"]);
        assert_eq!(ports("5025<br>80"), ["5025", "80"]);
        assert_eq!(ports("6000 bis 6010"), ["6000-6010"]);
        assert_eq!(ports("22 (SFTP)"), ["22"]);
        assert_eq!(
            ports("port 22 (SFTP), 990 (FTPS)"),
            ["22 (SFTP)", "990 (FTPS)"]
        );
        assert!(port_items("lots").is_err());
    }

    #[test]
    fn host_cells() {
        let mut d = Draft::default();
        assert_eq!(
            host_cell(&mut d, "pg1 (10.5.0.21), pg2 (10.5.0.22)", 3),
            ["pg1", "pg2"]
        );
        assert_eq!(host_cell(&mut d, "lab-gw<br>(10.77.3.1)", 4), ["lab-gw"]);
        assert!(d.hosts["lab-gw"].addresses.contains("10.77.3.1"));
        assert_eq!(host_cell(&mut d, "api-1, api-2", 5), ["api-1", "api-2"]);
    }
}
