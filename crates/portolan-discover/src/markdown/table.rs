//! Tables: what a table is — project ranges, a service/port inventory, reserved ports, an
//! assignment log, a list of machines, or outbound dependencies — from its columns, its
//! heading and its caption, and the tables that are not an inventory. Inventory rows are
//! read by [`super::inventory`], outbound rows and machine lists by [`super::egress`].

use std::collections::BTreeMap;

use portolan_model::knowledge;
use portolan_model::port::PortRange;

use super::Section;
use super::blocks::Table;
use super::cells::{self, Column};
use super::draft::Draft;

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
    /// Machines and their addresses.
    Hosts,
    /// Connections this system makes to others.
    Outbound,
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
            "don't use",
            "avoid",
            "blocked",
            "blacklist",
            "nicht verwenden",
            "no usar",
            "ne pas utiliser",
            "не использовать",
        ]
        .iter()
        .any(|w| h.contains(w))
        {
            Kind::Reserved
        } else {
            Kind::Inventory
        }
    } else if has(Column::Host) && (has(Column::Address) || has(Column::Bind)) {
        Kind::Hosts
    } else {
        Kind::Other
    }
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

/// Applies one table to the draft. `caption` is a text line right above the table.
pub fn apply(draft: &mut Draft, t: &Table, section: &Section, caption: Option<&str>) {
    let cols = columns(&t.header);
    let heading = section.innermost();
    let headings = section.headings();
    let mut k = kind(&cols, &heading);
    if matches!(k, Kind::Inventory | Kind::Other)
        && super::direction::outbound_table(&headings, caption, &t.header)
        && (cols.contains_key(&Column::Port)
            || cols.contains_key(&Column::Destination)
            || t.rows
                .iter()
                .any(|(r, _)| r.iter().any(|c| c.contains("://"))))
    {
        k = Kind::Outbound;
    }
    match k {
        Kind::Ranges => ranges(draft, t, &cols),
        Kind::Inventory | Kind::Reserved => {
            super::inventory::rows(draft, t, &cols, section, k == Kind::Reserved);
        }
        Kind::Log => log(draft, t, &cols),
        Kind::Hosts => super::egress::hosts(draft, t, &cols, section),
        Kind::Outbound => super::egress::rows(draft, t, &cols, section),
        Kind::Other => {}
    }
}

/// Why a table with port-like numbers added nothing.
pub fn why_unused(t: &Table) -> String {
    let cols = columns(&t.header);
    if cols.is_empty() {
        format!(
            "no column is recognised (header: {})",
            t.header
                .iter()
                .map(|h| format!("`{}`", cells::clean(h)))
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else if !cols.contains_key(&Column::Port) && !cols.contains_key(&Column::Range) {
        "no port column (a `Port`, `Ports` or `Port range` header)".to_string()
    } else {
        "no row has a service and a port".to_string()
    }
}

fn cell<'a>(row: &'a [String], cols: &BTreeMap<Column, usize>, c: Column) -> Option<&'a str> {
    cols.get(&c).and_then(|&i| row.get(i)).map(String::as_str)
}

fn ranges(draft: &mut Draft, t: &Table, cols: &BTreeMap<Column, usize>) {
    for (row, line) in &t.rows {
        let name = cell(row, cols, Column::Project)
            .or_else(|| cell(row, cols, Column::Service))
            .unwrap_or("");
        let key = cells::slug(name);
        if key.is_empty() {
            draft.skip(*line, "no project name");
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
            draft.skip(
                *line,
                format!("the log names `{name}`, which no table declares"),
            );
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
        draft.counts.refined += 1;
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
