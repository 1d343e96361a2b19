//! Tables: what a table is (project ranges, a service/port inventory, reserved ports, an
//! assignment log) from its columns and heading, and what each row adds to the draft.

use std::collections::BTreeMap;

use portolan_model::knowledge;
use portolan_model::port::PortRange;
use portolan_model::spec::Transport;

use super::Section;
use super::blocks::Table;
use super::cells::{self, Column};
use super::draft::{Audience, BindingDraft, Draft, ReservationDraft};

/// What a table holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Projects (or teams) and their port ranges.
    Ranges,
    /// Services and their ports.
    Inventory,
    /// Ports held or forbidden.
    Reserved,
    /// Dated assignments (checked against the inventory).
    Log,
    /// Nothing the import understands.
    Other,
}

/// The columns a header names (index → column; the first of a duplicated column wins).
pub fn columns(header: &[String]) -> BTreeMap<Column, usize> {
    let mut map = BTreeMap::new();
    for (i, h) in header.iter().enumerate() {
        if let Some(c) = cells::column(h) {
            map.entry(c).or_insert(i);
        }
    }
    map
}

/// Decides what a table is from its columns and the heading above it.
pub fn kind(cols: &BTreeMap<Column, usize>, heading: &str) -> Kind {
    let has = |c| cols.contains_key(&c);
    let h = heading.to_lowercase();
    if has(Column::Date) && (has(Column::Service) || has(Column::Port)) {
        Kind::Log
    } else if has(Column::Range)
        && !has(Column::Port)
        && (has(Column::Project) || has(Column::Service))
    {
        Kind::Ranges
    } else if has(Column::Port) || has(Column::ContainerPort) || has(Column::Range) {
        if [
            "reserved",
            "forbidden",
            "do not use",
            "avoid",
            "blocked",
            "blacklist",
        ]
        .iter()
        .any(|w| h.contains(w))
        {
            Kind::Reserved
        } else {
            Kind::Inventory
        }
    } else {
        Kind::Other
    }
}

fn cell<'a>(row: &'a [String], cols: &BTreeMap<Column, usize>, c: Column) -> Option<&'a str> {
    cols.get(&c).and_then(|&i| row.get(i)).map(String::as_str)
}

/// The audience an access text describes (`Public (LAN/WAN)`, `Internal only`, `LAN only`,
/// `Admin VPN`, `localhost`). Empty when it says nothing about reach; `None` when the port
/// is used only outbound.
pub fn audience(text: &str) -> Option<Vec<Audience>> {
    let t = cells::clean(text).to_lowercase();
    if t.contains("outbound") || t.contains("egress") || t.contains("client only") {
        return None;
    }
    let words: Vec<&str> = t
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let has = |w: &str| words.contains(&w);
    let mut out = Vec::new();
    if has("public")
        || has("wan")
        || has("internet")
        || has("anywhere")
        || has("world")
        || has("external")
    {
        out.push(Audience::Public);
    } else if has("localhost")
        || has("loopback")
        || t.contains("127.0.0.1")
        || has("local") && has("only")
    {
        out.push(Audience::Localhost);
    } else if has("vpn") {
        out.push(Audience::Network("vpn".into()));
    } else if has("pos") && has("lan") {
        out.push(Audience::Network("pos-lan".into()));
    } else if has("lan") || has("office") {
        out.push(Audience::Network("lan".into()));
    } else if has("internal") || has("private") || has("admin") || has("intranet") || has("cluster")
    {
        out.push(Audience::Internal);
    }
    Some(out)
}

fn status(text: &str) -> Result<Option<&'static str>, ()> {
    let t = cells::clean(text).to_lowercase();
    let w = t
        .split(|c: char| !c.is_ascii_alphabetic())
        .find(|w| !w.is_empty())
        .unwrap_or("");
    Ok(match w {
        "available" | "free" | "unused" | "open" | "unassigned" | "tbd" => return Err(()),
        "reserved" | "held" => Some("reserved"),
        "deprecated" | "legacy" | "retired" | "removed" | "disabled" => Some("deprecated"),
        "planned" | "future" | "proposed" => Some("planned"),
        _ => None,
    })
}

/// The app protocol of `port` when the table says only `TCP`/`UDP` (or nothing): the
/// well-known use, for ports where it is the main one.
pub fn app_for(port: u16, said: Option<&str>, several: bool) -> Option<String> {
    if let Some(a) = said {
        if !several {
            return Some(a.to_string());
        }
    }
    knowledge::primary_use(port)
        .filter(|w| w.major)
        .map(|w| w.name.to_string())
}

/// Applies one table to the draft.
pub fn apply(draft: &mut Draft, t: &Table, section: &Section) {
    let cols = columns(&t.header);
    let heading = section.innermost();
    match kind(&cols, &heading) {
        Kind::Ranges => ranges(draft, t, &cols),
        Kind::Inventory | Kind::Reserved => inventory(
            draft,
            t,
            &cols,
            section,
            kind(&cols, &heading) == Kind::Reserved,
        ),
        Kind::Log => log(draft, t, &cols),
        Kind::Other => {}
    }
}

fn ranges(draft: &mut Draft, t: &Table, cols: &BTreeMap<Column, usize>) {
    for (row, line) in &t.rows {
        let name = cell(row, cols, Column::Project)
            .or_else(|| cell(row, cols, Column::Service))
            .unwrap_or("");
        let key = cells::slug(name);
        if key.is_empty() {
            continue;
        }
        let range = match cells::ports(cell(row, cols, Column::Range).unwrap_or("")) {
            Ok(v) => v.into_iter().map(|p| p.port).collect::<Vec<_>>(),
            Err(e) => {
                draft.note(
                    *line,
                    format!("range of `{}` not read: {e}", cells::clean(name)),
                );
                Vec::new()
            }
        };
        let p = draft.projects.entry(key).or_default();
        p.display = cells::clean(name);
        if p.range.is_empty() {
            p.range = range;
        }
        if let Some(purpose) = cell(row, cols, Column::Purpose)
            .map(cells::clean)
            .filter(|s| !cells::is_empty(s))
        {
            p.description.get_or_insert(purpose);
        }
        p.lines.insert(*line);
    }
}

fn inventory(
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
    for (row, line) in &t.rows {
        let line = *line;
        let name_raw = cell(row, cols, Column::Service).unwrap_or("");
        let purpose = cell(row, cols, Column::Purpose)
            .map(cells::clean)
            .filter(|s| !cells::is_empty(s));
        let ports = match cells::ports(
            cell(row, cols, Column::Port)
                .or_else(|| cell(row, cols, Column::Range))
                .unwrap_or(""),
        ) {
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
        let ports = if ports.is_empty() && !cols.contains_key(&Column::Port) {
            targets.clone()
        } else {
            ports
        };
        let status = match cell(row, cols, Column::Status).map(status) {
            Some(Err(())) => continue, // free ports, not a service
            Some(Ok(s)) => s,
            None => None,
        };
        let project = cell(row, cols, Column::Project)
            .map(cells::slug)
            .filter(|s| !s.is_empty())
            .or_else(|| heading_project.clone());
        if reserved_table {
            draft.reservations.push(ReservationDraft {
                ports: ports.iter().map(|p| p.port).collect(),
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
        let display = if cells::is_empty(&cells::clean(name_raw)) {
            purpose.clone().unwrap_or_default()
        } else {
            cells::clean(name_raw)
        };
        let mut key = cells::slug(&display);
        if key.is_empty() {
            key = match ports.first() {
                Some(p) => format!("port-{}", p.port.lo),
                None => continue,
            };
        }
        let (transport, app) =
            cell(row, cols, Column::Protocol).map_or((None, None), cells::protocol);
        let several_apps = cell(row, cols, Column::Protocol)
            .is_some_and(|p| cells::clean(p).contains('/') && app.is_none());
        let access = cell(row, cols, Column::Access).map(audience);
        let env = cell(row, cols, Column::Environment)
            .and_then(|e| super::environment_of(&cells::clean(e)))
            .or_else(|| heading_env.clone());
        let bind_cell = cell(row, cols, Column::Bind)
            .map(cells::clean)
            .and_then(|b| b.split_whitespace().next().and_then(|w| w.parse().ok()));
        let outbound = matches!(access, Some(None));
        let exposure = match access {
            Some(Some(a)) if !a.is_empty() => a,
            _ => heading_audience.clone(),
        };
        let redirect = purpose
            .as_deref()
            .is_some_and(|p| p.to_lowercase().contains("redirect"));
        if let Some(e) = &env {
            draft.environments.insert(e.clone());
        }
        let mut new_bindings = Vec::new();
        if !outbound {
            for (i, pc) in ports.iter().enumerate() {
                let target = if targets.len() == ports.len() {
                    targets.get(i)
                } else {
                    targets.first()
                };
                let app = app_for(
                    pc.port.lo,
                    app.as_deref(),
                    several_apps
                        || ports.len() > 1 && app.as_deref().is_some_and(|a| a.contains("http")),
                );
                let app = app.or_else(|| {
                    if several_apps {
                        None
                    } else {
                        app_guess(transport)
                    }
                });
                let sensitive = (app.as_deref().is_some_and(|a| a.starts_with("http"))
                    && key.split('-').any(|w| {
                        w.len() > 2 && knowledge::app_traits(Some(w), pc.port.lo).sensitive
                    }))
                .then_some(true);
                let b = BindingDraft {
                    sensitive,
                    port: Some(pc.port),
                    target: target.map(|t| t.port),
                    bind: pc.bind.or(bind_cell),
                    transport: pc.transport.or(transport).filter(|t| *t == Transport::Udp),
                    tls: (app.as_deref() == Some("https")).then_some("native"),
                    app,
                    exposure: exposure.clone(),
                    redirect: redirect && pc.port.lo == 80,
                    lines: [line].into(),
                    ..BindingDraft::default()
                };
                new_bindings.push(b);
            }
        }
        let existing_env = draft.services.get(&key).map(|s| s.env.clone());
        for b in new_bindings {
            let name = draft.binding_name(&key, b.app.as_deref(), b.port);
            let s = draft.service(&key, &display);
            if let Some((_, old)) = s
                .bindings
                .iter_mut()
                .find(|(_, o)| o.port == b.port && o.transport == b.transport)
            {
                old.lines.extend(b.lines);
                continue;
            }
            s.bindings.insert(name, b);
        }
        let s = draft.service(&key, &display);
        s.lines.insert(line);
        if s.project.is_none() {
            s.project = project;
        }
        if s.purpose.is_none() {
            s.purpose = purpose.map(|p| {
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

fn app_guess(_t: Option<Transport>) -> Option<String> {
    None
}

fn log(draft: &mut Draft, t: &Table, cols: &BTreeMap<Column, usize>) {
    for (row, line) in &t.rows {
        let name = cells::clean(cell(row, cols, Column::Service).unwrap_or(""));
        let key = cells::slug(&name);
        let date = cells::clean(cell(row, cols, Column::Date).unwrap_or(""));
        let ports: Vec<PortRange> = cells::ports(cell(row, cols, Column::Port).unwrap_or(""))
            .unwrap_or_default()
            .into_iter()
            .map(|p| p.port)
            .collect();
        let Some(s) = draft.services.get_mut(&key) else {
            continue;
        };
        s.lines.insert(*line);
        if is_date(&date) && s.since.is_none() {
            s.since = Some(date.clone());
        }
        let declared: Vec<PortRange> = s.bindings.values().filter_map(|b| b.port).collect();
        let targets: Vec<PortRange> = s.bindings.values().filter_map(|b| b.target).collect();
        let lines: Vec<String> = s
            .bindings
            .values()
            .filter_map(|b| b.lines.first())
            .map(|l| format!(":{l}"))
            .collect();
        for p in ports {
            if !declared.iter().any(|d| d.overlaps(&p)) {
                let why = if targets.contains(&p) {
                    " (that is its container port)"
                } else {
                    ""
                };
                let msg = format!(
                    "the assignment log gives `{name}` port {p}{why}, but the port table ({}) gives {}",
                    lines.join(", "),
                    declared
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                draft.note(*line, msg);
            }
        }
    }
}

/// Whether `s` is a `YYYY-MM-DD` date.
pub fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && s[5..7].parse::<u8>().is_ok_and(|m| (1..=12).contains(&m))
        && s[8..10].parse::<u8>().is_ok_and(|d| (1..=31).contains(&d))
}
