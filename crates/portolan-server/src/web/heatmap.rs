//! The range heatmap of one project: one cell per port of its range, at most [`WINDOW`]
//! ports per page. A range of several pieces (`5400-5431, 5433-5499`) is drawn as one
//! labelled [`Segment`] per piece, with the ports between them named as a gap; each segment
//! is cut into rows of [`ROW`] ports counted from its own first port, so a row never spans a
//! gap and its label is its first port. A cell where a block begins or ends is marked as a
//! block boundary, and each cell links to what explains it ([`Link`]). Each cell has one
//! state, the first that applies in this order:
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

/// Where a cell leads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Link {
    /// `service` (its row in the project's services table), `host` (the host page of a
    /// binding of another project, or of a live listener) or `allocate` (the project page
    /// again with `?port=PORT`, which prefills the allocation form with the port and its
    /// block, for a free port; shown to writers only).
    pub kind: &'static str,
    /// The service or host name (empty for `allocate`).
    pub target: String,
}

/// One port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Cell {
    /// Port.
    pub port: u16,
    /// State (one of [`STATES`]).
    pub state: &'static str,
    /// Hover text: the owners and facts behind the state.
    pub title: String,
    /// The block holding the port, if any.
    pub block: Option<String>,
    /// A block begins or ends here: the port's block differs from the previous port's.
    pub boundary: bool,
    /// Where the cell leads, if anywhere (a reserved port leads nowhere).
    pub link: Option<Link>,
}

/// One row of cells, all of one segment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Row {
    /// First port of the row.
    pub label: u16,
    /// Cells.
    pub cells: Vec<Cell>,
}

/// One contiguous piece of the range, as far as this page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Segment {
    /// The whole piece (`5433-5499`), even when the page shows only part of it.
    pub range: String,
    /// The ports between the previous piece and this one (`5432`, `5432-5439`) when this
    /// page shows where the piece begins.
    pub gap_before: Option<String>,
    /// Ports in `gap_before`.
    pub gap_len: u32,
    /// Rows.
    pub rows: Vec<Row>,
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
    /// Segments (one per piece of the range shown on this page).
    pub segments: Vec<Segment>,
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
        self.rows().flat_map(|r| &r.cells).find(|c| c.port == port)
    }

    /// Every row shown, in order.
    pub fn rows(&self) -> impl Iterator<Item = &Row> {
        self.segments.iter().flat_map(|s| &s.rows)
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
    let rows = row_spans(&range);
    let offset = offset.min(total.saturating_sub(1));
    let first_row = rows
        .iter()
        .rposition(|r| r.index <= offset)
        .unwrap_or_default();
    let mut last_row = first_row;
    let mut shown = rows[first_row].len();
    while let Some(r) = rows.get(last_row + 1) {
        if shown + r.len() > WINDOW {
            break;
        }
        shown += r.len();
        last_row += 1;
    }
    let mut prev_row = first_row;
    let mut before = 0;
    while prev_row > 0 && before + rows[prev_row - 1].len() <= WINDOW {
        before += rows[prev_row - 1].len();
        prev_row -= 1;
    }
    let page = &rows[first_row..=last_row];
    let (first, last) = (page[0].lo, page[page.len() - 1].hi);
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

    let pieces = range.ranges();
    let mut segments: Vec<Segment> = Vec::new();
    for span in page {
        if segments.len() < 1 + span.piece - page[0].piece {
            let piece = pieces[span.piece];
            let starts = span.lo == piece.lo;
            let gap = span
                .piece
                .checked_sub(1)
                .and_then(|i| pieces.get(i))
                .filter(|_| starts)
                .map(|p| (p.hi + 1, piece.lo - 1));
            segments.push(Segment {
                range: piece.to_string(),
                gap_before: gap.map(|(lo, hi)| {
                    if lo == hi {
                        lo.to_string()
                    } else {
                        format!("{lo}-{hi}")
                    }
                }),
                gap_len: gap.map_or(0, |(lo, hi)| u32::from(hi - lo) + 1),
                rows: Vec::new(),
            });
        }
        let starts_piece = span.lo == pieces[span.piece].lo;
        let cells = (span.lo..=span.hi)
            .map(|port| {
                let mut cell = cell(
                    port,
                    project,
                    &services,
                    &blocks,
                    &reservations,
                    &bindings,
                    &live,
                    now,
                );
                if starts_piece && port == span.lo {
                    // the port before is outside the range: a block here starts anew
                    cell.boundary = cell.block.is_some();
                }
                cell
            })
            .collect();
        if let Some(segment) = segments.last_mut() {
            segment.rows.push(Row {
                label: span.lo,
                cells,
            });
        }
    }
    let legend = STATES
        .iter()
        .map(|&state| LegendItem {
            state,
            count: segments
                .iter()
                .flat_map(|s| &s.rows)
                .flat_map(|r| &r.cells)
                .filter(|c| c.state == state)
                .count(),
        })
        .collect();
    Some(Heatmap {
        project: project.name.clone(),
        range: range.to_string(),
        total,
        offset: page[0].index,
        segments,
        legend,
        prev: (first_row > 0).then(|| rows[prev_row].index),
        next: rows.get(last_row + 1).map(|r| r.index),
    })
}

/// One row's ports: `lo..=hi` of piece `piece` of the range, starting at the `index`-th port
/// of the range.
#[derive(Clone, Copy, Debug)]
struct RowSpan {
    piece: usize,
    lo: u16,
    hi: u16,
    index: u32,
}

impl RowSpan {
    fn len(self) -> u32 {
        u32::from(self.hi - self.lo) + 1
    }
}

/// The rows of the whole range: each piece cut into rows of [`ROW`] ports from its first
/// port (at most 65536 ports, so at most a few thousand rows).
fn row_spans(range: &PortSet) -> Vec<RowSpan> {
    let mut out = Vec::new();
    let mut index = 0;
    for (piece, r) in range.ranges().iter().enumerate() {
        let mut lo = u32::from(r.lo);
        while lo <= u32::from(r.hi) {
            let hi = (lo + ROW - 1).min(u32::from(r.hi));
            let (Ok(l), Ok(h)) = (u16::try_from(lo), u16::try_from(hi)) else {
                break;
            };
            out.push(RowSpan {
                piece,
                lo: l,
                hi: h,
                index,
            });
            index += hi - lo + 1;
            lo = hi + 1;
        }
    }
    out
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
    let block_of = |p: u16| {
        blocks
            .iter()
            .find(|(_, set)| set.contains(p))
            .map(|(name, _)| *name)
    };
    let block = block_of(port);
    let boundary = block != port.checked_sub(1).and_then(block_of);
    let mut title = vec![match block {
        Some(name) => format!("{port} · block {name}"),
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
    let own = |b: &&&BindingInfo| {
        services
            .get(b.service.as_str())
            .and_then(|s| s.project.as_deref())
            == Some(project.name.as_str())
    };
    let link = if let Some(b) = claims.iter().find(own) {
        Some(Link {
            kind: "service",
            target: b.service.clone(),
        })
    } else if let Some(b) = claims.first() {
        Some(Link {
            kind: "host",
            target: b.host.clone(),
        })
    } else if let Some((host, _)) = listening.first() {
        Some(Link {
            kind: "host",
            target: (*host).to_string(),
        })
    } else if held.is_empty() {
        Some(Link {
            kind: "allocate",
            target: String::new(),
        })
    } else {
        None
    };
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
        block: block.map(str::to_string),
        boundary,
        link,
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
        assert_eq!(h.rows().count(), 3);
        assert_eq!(h.rows().nth(1).map(|r| r.label), Some(150));
        let link = |p| h.cell(p).and_then(|c| c.link.clone());
        let to = |kind, target: &str| {
            Some(Link {
                kind,
                target: target.into(),
            })
        };
        assert_eq!(link(101), to("service", "a"));
        assert_eq!(link(104), to("host", "h1"), "another project's service");
        assert_eq!(link(109), to("host", "h1"), "a live listener");
        assert_eq!(link(105), None, "reserved");
        assert_eq!(link(100), to("allocate", ""));
        let edges: Vec<u16> = h
            .rows()
            .flat_map(|r| &r.cells)
            .filter(|c| c.boundary)
            .map(|c| c.port)
            .collect();
        assert_eq!(
            edges,
            [100, 110],
            "block api begins at 100 and ends before 110"
        );
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
        assert_eq!(h.rows().next().map(|r| r.label), Some(14950));
        assert_eq!((h.prev, h.next), (Some(2950), None));
    }

    /// Regression: rows of a split range were cut every 50 ports of the range, so the row
    /// labelled 5400 held 5400-5431 and 5433-5450 and the gap at 5432 was invisible.
    #[test]
    fn split_ranges_are_labelled_segments_with_gaps() {
        let project = ProjectInfo {
            name: "p".into(),
            range: Some("5433-5499, 5400-5431, 6000".into()),
            blocks: vec![BlockInfo {
                name: "b".into(),
                ports: "5420-5440".into(),
                purpose: None,
            }],
        };
        let reg = Registry {
            services: &[],
            bindings: &[],
            reservations: &[],
            observations: &[],
        };
        let h = heatmap(&project, reg, 0, 0).expect("range");
        let shape: Vec<_> = h
            .segments
            .iter()
            .map(|s| {
                (
                    s.range.as_str(),
                    s.gap_before.as_deref(),
                    s.rows.iter().map(|r| (r.label, r.cells.len())).collect(),
                )
            })
            .collect();
        assert_eq!(
            shape,
            [
                ("5400-5431", None, vec![(5400, 32)]),
                ("5433-5499", Some("5432"), vec![(5433, 50), (5483, 17)]),
                ("6000", Some("5500-5999"), vec![(6000, 1)]),
            ]
        );
        assert_eq!(h.segments[2].gap_len, 500);
        let edges: Vec<u16> = h
            .rows()
            .flat_map(|r| &r.cells)
            .filter(|c| c.boundary)
            .map(|c| c.port)
            .collect();
        assert_eq!(edges, [5420, 5433, 5441], "the block resumes after the gap");
        assert_eq!(h.legend.iter().map(|l| l.count).sum::<usize>(), 100);
    }

    #[test]
    fn pages_of_a_split_range_hold_whole_rows() {
        // 30 pieces of 70 ports: rows of 50 and 20, 2100 ports in all
        let range: Vec<String> = (0..30u16)
            .map(|i| format!("{}-{}", 10000 + i * 100, 10069 + i * 100))
            .collect();
        let project = ProjectInfo {
            name: "p".into(),
            range: Some(range.join(", ")),
            blocks: Vec::new(),
        };
        let reg = Registry {
            services: &[],
            bindings: &[],
            reservations: &[],
            observations: &[],
        };
        let first = heatmap(&project, reg, 0, 0).expect("range");
        let shown = |h: &Heatmap| h.rows().map(|r| r.cells.len()).sum::<usize>();
        assert_eq!(
            shown(&first),
            1960,
            "28 whole pieces; the next row would pass 2000"
        );
        assert_eq!((first.prev, first.next), (None, Some(1960)));
        let second = heatmap(&project, reg, 1960, 0).expect("range");
        assert_eq!(shown(&second), 140);
        assert_eq!(
            second.segments[0].gap_before.as_deref(),
            Some("12770-12799")
        );
        assert_eq!(second.prev, Some(0));
        // an offset inside a row starts the page at that row
        let mid = heatmap(&project, reg, 1975, 0).expect("range");
        assert_eq!(
            (mid.offset, mid.segments[0].gap_before.as_deref()),
            (1960, Some("12770-12799"))
        );
        let mid = heatmap(&project, reg, 2015, 0).expect("range");
        assert_eq!(
            (mid.offset, mid.segments[0].gap_before.as_deref()),
            (2010, None)
        );
        assert_eq!(mid.rows().next().map(|r| r.label), Some(12850));
    }
}
