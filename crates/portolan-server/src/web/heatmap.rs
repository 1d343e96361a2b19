//! The range heatmap of one project: one cell per port of its range, in rows of
//! [`ROW`] ports, at most [`WINDOW`] ports per page. Each cell has one state, the first that
//! applies in this order:
//!
//! | state | when |
//! |---|---|
//! | `conflict` | two services bind the port on the same host and transport; a service of another project (or of none) binds it; a service binds a reserved port; a live listener no binding declares holds a reserved port |
//! | `listening` | an agent reports a listener on the port (declared or not) |
//! | `leased` | a service with a lease binds it |
//! | `allocated` | a service binds it (allocated by the registry or declared in the spec) |
//! | `reserved` | a reservation holds it |
//! | `free` | none of these |
//!
//! The cell's `title` (shown on hover) names every owner and fact behind its state.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde::Serialize;

use portolan_model::PortSet;
use portolan_store::{BindingInfo, Observation, ProjectInfo, Reservation, ServiceInfo};

use super::drift::{Live, listeners};

/// Ports per row.
pub const ROW: u32 = 50;
/// Ports per page.
pub const WINDOW: u32 = 2000;

/// The states, in legend order.
pub const STATES: [&str; 6] = [
    "free",
    "allocated",
    "reserved",
    "leased",
    "listening",
    "conflict",
];

/// One port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Cell {
    /// Port.
    pub port: u16,
    /// State (one of [`STATES`]).
    pub state: &'static str,
    /// Hover text: the owners and facts behind the state.
    pub title: String,
}

/// One row of cells.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Row {
    /// First port of the row.
    pub label: u16,
    /// Cells.
    pub cells: Vec<Cell>,
}

/// A legend entry with its count on this page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LegendItem {
    /// State.
    pub state: &'static str,
    /// Cells in that state on this page.
    pub count: usize,
}

/// The heatmap of one page of a project's range.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Heatmap {
    /// Project.
    pub project: String,
    /// The whole range (`5000-5399`).
    pub range: String,
    /// Ports in the range.
    pub total: u32,
    /// Index of the first port shown (0-based within the range).
    pub offset: u32,
    /// Rows.
    pub rows: Vec<Row>,
    /// Legend with counts.
    pub legend: Vec<LegendItem>,
    /// Offset of the previous page, if any.
    pub prev: Option<u32>,
    /// Offset of the next page, if any.
    pub next: Option<u32>,
}

impl Heatmap {
    /// The cell of `port`, if shown.
    pub fn cell(&self, port: u16) -> Option<&Cell> {
        self.rows
            .iter()
            .flat_map(|r| &r.cells)
            .find(|c| c.port == port)
    }
}

/// What the registry holds, as the heatmap needs it.
#[derive(Clone, Copy, Debug)]
pub struct Registry<'a> {
    /// Services.
    pub services: &'a [ServiceInfo],
    /// Binding instances.
    pub bindings: &'a [BindingInfo],
    /// Reservations.
    pub reservations: &'a [Reservation],
    /// Last report of each host.
    pub observations: &'a [Observation],
}

/// The heatmap of `project` from the `offset`-th port of its range; `None` when the project
/// has no (valid) range.
pub fn heatmap(project: &ProjectInfo, reg: Registry<'_>, offset: u32, now: i64) -> Option<Heatmap> {
    let range: PortSet = project.range.as_deref()?.parse().ok()?;
    let total = range.len();
    if total == 0 {
        return None;
    }
    let offset = offset.min(total.saturating_sub(1)) / ROW * ROW;
    let ports: Vec<u16> = range
        .ranges()
        .iter()
        .flat_map(portolan_model::PortRange::ports)
        .skip(offset as usize)
        .take(WINDOW as usize)
        .collect();
    let (Some(&first), Some(&last)) = (ports.first(), ports.last()) else {
        return None;
    };
    let in_window = |lo: u16, hi: u16| hi >= first && lo <= last;

    let services: HashMap<&str, &ServiceInfo> =
        reg.services.iter().map(|s| (s.name.as_str(), s)).collect();
    let blocks: Vec<(&str, PortSet)> = project
        .blocks
        .iter()
        .filter_map(|b| Some((b.name.as_str(), b.ports.parse().ok()?)))
        .collect();
    let reservations: Vec<(&Reservation, PortSet)> = reg
        .reservations
        .iter()
        .filter_map(|r| Some((r, r.ports.parse::<PortSet>().ok()?)))
        .collect();
    let bindings: Vec<&BindingInfo> = reg
        .bindings
        .iter()
        .filter(|b| in_window(b.lo, b.hi))
        .collect();
    let live: Vec<(&str, Live)> = reg
        .observations
        .iter()
        .flat_map(|o| listeners(o).into_iter().map(move |l| (o.host.as_str(), l)))
        .filter(|(_, l)| in_window(l.port, l.port))
        .collect();

    let mut rows: Vec<Row> = Vec::new();
    for (i, &port) in ports.iter().enumerate() {
        let cell = cell(
            port,
            project,
            &services,
            &blocks,
            &reservations,
            &bindings,
            &live,
            now,
        );
        if i % ROW as usize == 0 {
            rows.push(Row {
                label: port,
                cells: Vec::with_capacity(ROW as usize),
            });
        }
        if let Some(r) = rows.last_mut() {
            r.cells.push(cell);
        }
    }
    let legend = STATES
        .iter()
        .map(|&state| LegendItem {
            state,
            count: rows
                .iter()
                .flat_map(|r| &r.cells)
                .filter(|c| c.state == state)
                .count(),
        })
        .collect();
    let shown = u32::try_from(ports.len()).unwrap_or(WINDOW);
    Some(Heatmap {
        project: project.name.clone(),
        range: range.to_string(),
        total,
        offset,
        rows,
        legend,
        prev: (offset > 0).then(|| offset.saturating_sub(WINDOW)),
        next: (offset + shown < total).then_some(offset + shown),
    })
}

#[allow(clippy::too_many_arguments)]
fn cell(
    port: u16,
    project: &ProjectInfo,
    services: &HashMap<&str, &ServiceInfo>,
    blocks: &[(&str, PortSet)],
    reservations: &[(&Reservation, PortSet)],
    bindings: &[&BindingInfo],
    live: &[(&str, Live)],
    now: i64,
) -> Cell {
    let mut title = vec![match blocks.iter().find(|(_, set)| set.contains(port)) {
        Some((name, _)) => format!("{port} · block {name}"),
        None => port.to_string(),
    }];
    let mut conflicts: Vec<String> = Vec::new();

    let claims: Vec<&BindingInfo> = bindings
        .iter()
        .copied()
        .filter(|b| (b.lo..=b.hi).contains(&port))
        .collect();
    let held: Vec<&Reservation> = reservations
        .iter()
        .filter(|(_, set)| set.contains(port))
        .map(|(r, _)| *r)
        .collect();
    let listening: Vec<&(&str, Live)> = live.iter().filter(|(_, l)| l.port == port).collect();

    let mut leased = false;
    for b in &claims {
        let svc = services.get(b.service.as_str());
        let how = if svc.is_some_and(|s| s.allocated) {
            "allocated"
        } else {
            "declared"
        };
        let mut line = format!(
            "{}.{} on {} ({}) — {how}, {}",
            b.service, b.name, b.host, b.transport, b.status
        );
        if let Some(until) = svc.and_then(|s| s.lease_until) {
            leased = true;
            let verb = if until <= now { "expired" } else { "until" };
            let _ = write!(line, ", lease {verb} {}", super::time(until));
        }
        title.push(line);
        let owner = svc.and_then(|s| s.project.as_deref());
        if owner != Some(project.name.as_str()) {
            conflicts.push(format!(
                "{} belongs to {}",
                b.service,
                owner.map_or_else(|| "no project".to_string(), |p| format!("project {p}"))
            ));
        }
        for r in &held {
            if r.host.as_deref().is_none_or(|h| h == b.host) {
                conflicts.push(format!("{} binds a reserved port", b.service));
            }
        }
    }
    for (i, a) in claims.iter().enumerate() {
        for b in &claims[i + 1..] {
            if a.service != b.service
                && a.host == b.host
                && a.transport.eq_ignore_ascii_case(&b.transport)
            {
                conflicts.push(format!(
                    "{} and {} both bind it on {} ({})",
                    a.service, b.service, a.host, a.transport
                ));
            }
        }
    }
    for r in &held {
        let mut line = format!(
            "reserved for {}: {}",
            r.project.as_deref().unwrap_or("no project"),
            r.why
        );
        if let Some(h) = &r.host {
            let _ = write!(line, " (host {h})");
        }
        if let Some(u) = &r.until {
            let _ = write!(line, " until {u}");
        }
        title.push(line);
    }
    for (host, l) in &listening {
        let declared = claims
            .iter()
            .any(|b| b.host == *host && b.transport.eq_ignore_ascii_case(&l.transport));
        let mut line = format!("listening on {host}: {} {}", l.local, l.transport);
        if let Some(p) = &l.process {
            let _ = write!(line, " ({p})");
        }
        if !declared {
            line.push_str(" — undeclared");
            if held
                .iter()
                .any(|r| r.host.as_deref().is_none_or(|h| h == *host))
            {
                conflicts.push(format!(
                    "an undeclared listener on {host} holds a reserved port"
                ));
            }
        }
        title.push(line);
    }
    conflicts.dedup();
    for c in &conflicts {
        title.push(format!("conflict: {c}"));
    }
    let state = if !conflicts.is_empty() {
        "conflict"
    } else if !listening.is_empty() {
        "listening"
    } else if leased {
        "leased"
    } else if !claims.is_empty() {
        "allocated"
    } else if !held.is_empty() {
        "reserved"
    } else {
        title.push("free".into());
        "free"
    };
    Cell {
        port,
        state,
        title: title.join("\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portolan_store::BlockInfo;

    fn service(name: &str, project: Option<&str>, lease: Option<i64>) -> ServiceInfo {
        ServiceInfo {
            name: name.into(),
            project: project.map(str::to_string),
            block: None,
            status: "active".into(),
            lease_until: lease,
            allocated: true,
            doc: serde_json::Value::Null,
        }
    }

    fn binding(service: &str, host: &str, port: u16) -> BindingInfo {
        BindingInfo {
            service: service.into(),
            name: "main".into(),
            host: host.into(),
            environment: "default".into(),
            transport: "tcp".into(),
            lo: port,
            hi: port,
            bind: "0.0.0.0".into(),
            app: None,
            publisher: "host".into(),
            exposure: "internal".into(),
            status: "active".into(),
        }
    }

    #[test]
    fn every_state() {
        let project = ProjectInfo {
            name: "p".into(),
            range: Some("100-219".into()),
            blocks: vec![BlockInfo {
                name: "api".into(),
                ports: "100-109".into(),
                purpose: None,
            }],
        };
        let services = [
            service("a", Some("p"), None),
            service("b", Some("p"), None),
            service("l", Some("p"), Some(50)),
            service("x", Some("q"), None),
        ];
        let bindings = [
            binding("a", "h1", 101),
            binding("b", "h2", 101), // another host: no conflict
            binding("l", "h1", 102),
            binding("a", "h1", 103),
            binding("b", "h1", 103), // same host and transport: conflict
            binding("x", "h1", 104), // another project: conflict
            binding("a", "h1", 106), // reserved: conflict
            binding("a", "h1", 107),
        ];
        let reservations = [Reservation {
            id: 1,
            ports: "105-106, 108".into(),
            project: Some("p".into()),
            host: None,
            why: "later".into(),
            until: None,
        }];
        let observations = [Observation {
            host: "h1".into(),
            listeners: serde_json::json!([{"port": 107, "transport": "tcp"},
                                          {"port": 108, "transport": "tcp"},
                                          {"port": 109, "transport": "udp"}]),
            at: 0,
        }];
        let reg = Registry {
            services: &services,
            bindings: &bindings,
            reservations: &reservations,
            observations: &observations,
        };
        let h = heatmap(&project, reg, 0, 100).expect("has a range");
        let state = |p| h.cell(p).map(|c| c.state);
        assert_eq!(state(100), Some("free"));
        assert_eq!(state(101), Some("allocated"));
        assert_eq!(state(102), Some("leased"));
        assert_eq!(state(103), Some("conflict"));
        assert_eq!(state(104), Some("conflict"));
        assert_eq!(state(105), Some("reserved"));
        assert_eq!(state(106), Some("conflict"));
        assert_eq!(state(107), Some("listening"));
        assert_eq!(state(108), Some("conflict"));
        assert_eq!(state(109), Some("listening"));
        let t = &h.cell(102).expect("cell").title;
        assert!(t.starts_with("102 · block api\nl.main on h1 (tcp)"), "{t}");
        assert!(t.contains("lease expired 1970-01-01T00:00:50Z"), "{t}");
        assert_eq!(h.rows.len(), 3);
        assert_eq!(h.rows[1].label, 150);
        assert_eq!((h.prev, h.next), (None, None));
        assert_eq!(h.legend.iter().map(|l| l.count).sum::<usize>(), 120);
        let none = ProjectInfo {
            range: None,
            ..project
        };
        assert!(heatmap(&none, reg, 0, 0).is_none());
    }

    #[test]
    fn large_ranges_page() {
        let project = ProjectInfo {
            name: "p".into(),
            range: Some("10000-14999".into()),
            blocks: Vec::new(),
        };
        let reg = Registry {
            services: &[],
            bindings: &[],
            reservations: &[],
            observations: &[],
        };
        let h = heatmap(&project, reg, 0, 0).expect("range");
        assert_eq!((h.prev, h.next), (None, Some(WINDOW)));
        let h = heatmap(&project, reg, 4999, 0).expect("range");
        assert_eq!(h.offset, 4950);
        assert_eq!(h.rows[0].label, 14950);
        assert_eq!((h.prev, h.next), (Some(2950), None));
    }
}
