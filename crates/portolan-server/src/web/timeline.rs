//! The host page's timeline: the host's listener history ([`Store::history`]) paired into
//! intervals — one per listener lifetime, "`0.0.0.0:8030/tcp` opened 12:03 by python3 (pid
//! 4121), changed 12:20, closed 12:40" — newest first, a page at a time.
//!
//! ## Pairing
//! Events are read oldest first; per listener (transport, address, port) an `opened` starts
//! an interval, `changed` events join the open one, a `closed` ends it. What the history
//! cannot pair is said, not guessed:
//! - an interval with no `closed` yet is **still open**;
//! - a `closed` or `changed` with no recorded `opened` before it belongs to a listener that
//!   was open **before history began** (its opening was compacted away by the retention, or
//!   came before the registry kept history).
//!
//! ## Order and pages
//! An interval's *anchor* is its first recorded event (its `opened`, else the first event
//! seen of it); intervals are listed by anchor, newest first, [`PAGE`] per page (`?limit=`,
//! at most [`MAX_PAGE`]). The next page is `?before=ANCHOR` of the last one shown — a cursor
//! that stays put while agents keep reporting. `?port=` keeps one port's intervals.
//!
//! ## Cost
//! Pairing needs each listener's earlier events, so a page reads the host's retained
//! history (bounded by `serve --history-retention`) in chunks of [`CHUNK`] events — for an
//! older page only until every interval it could show is settled — and keeps at most the
//! page's intervals, the listeners open at the moment, and [`MAX_CHANGES`] changes per
//! interval in memory.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::Value;

use portolan_store::{Change, HistoryEvent, HistoryQuery, ListenerKey};

use super::render::WebError;
use crate::AppState;

/// Intervals per page by default.
pub const PAGE: u32 = 50;
/// Most intervals per page (`?limit=`).
pub const MAX_PAGE: u32 = 200;
/// Events read from the store at a time.
pub const CHUNK: u32 = 5_000;
/// Changes kept per interval (the latest); the page counts the others.
pub const MAX_CHANGES: usize = 20;

/// Which intervals to show (the host page's query).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimelineQuery {
    /// Intervals whose anchor event id is below this (the next page's cursor).
    pub before: Option<i64>,
    /// Only this port's listeners.
    pub port: Option<u16>,
    /// Intervals per page (1 to [`MAX_PAGE`]).
    pub limit: u32,
}

impl Default for TimelineQuery {
    fn default() -> Self {
        TimelineQuery {
            before: None,
            port: None,
            limit: PAGE,
        }
    }
}

impl TimelineQuery {
    /// Reads `before`, `port` and `limit` from the page's query string; a value that is not
    /// one is an error naming the parameter (the page answers 422).
    pub fn parse(raw: Option<&str>) -> Result<TimelineQuery, WebError> {
        let param = |key: &str| super::pages::query_param(raw, key).filter(|v| !v.is_empty());
        let before =
            match param("before") {
                None => None,
                Some(v) => Some(v.trim().parse::<i64>().ok().filter(|b| *b > 0).ok_or_else(
                    || {
                        WebError::Invalid(format!(
                            "before: `{v}` is not a timeline cursor (a positive event id)"
                        ))
                    },
                )?),
            };
        let port =
            match param("port") {
                None => None,
                Some(v) => Some(v.trim().parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(
                    || WebError::Invalid(format!("port: `{v}` is not a port (1-65535)")),
                )?),
            };
        let limit = match param("limit") {
            None => PAGE,
            Some(v) => v
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|l| (1..=MAX_PAGE).contains(l))
                .ok_or_else(|| {
                    WebError::Invalid(format!("limit: `{v}` is not a page size (1-{MAX_PAGE})"))
                })?,
        };
        Ok(TimelineQuery {
            before,
            port,
            limit,
        })
    }
}

/// One instant of an interval: when, and who owned the listener then.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Moment {
    /// Event id.
    pub id: i64,
    /// Seconds since the epoch.
    pub at: i64,
    /// RFC 3339, UTC.
    pub iso: String,
    /// Relative to the page's now (`3 min ago`).
    pub ago: String,
    /// The owners (`python3 (pid 4121)`), empty when the agent saw none.
    pub by: String,
}

/// A `changed` event inside an interval.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Changed {
    /// When, and the owners after it.
    #[serde(flatten)]
    pub moment: Moment,
    /// The owners before it.
    pub before: String,
}

/// One lifetime of one listener.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Interval {
    /// Id of its first recorded event (the order and the paging cursor).
    pub anchor: i64,
    /// `0.0.0.0:8030/tcp`, `[::1]:53/udp`.
    pub listener: String,
    /// Port.
    pub port: u16,
    /// When it opened; `None`: before history began.
    pub opened: Option<Moment>,
    /// When it closed; `None`: still open.
    pub closed: Option<Moment>,
    /// Its changes (owners, uid, container), the latest [`MAX_CHANGES`], oldest first.
    pub changes: Vec<Changed>,
    /// Changes not listed (older than those in `changes`).
    pub more_changes: usize,
    /// How long it was (or has been) open, when its opening is known (`37 min`).
    pub lasted: Option<String>,
    /// `open` or `closed`.
    pub state: &'static str,
}

/// One page of a host's timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Timeline {
    /// The intervals, newest anchor first.
    pub intervals: Vec<Interval>,
    /// The next (older) page's cursor, if there is one.
    pub older: Option<i64>,
    /// The query this page answers.
    pub before: Option<i64>,
    /// The port filter.
    pub port: Option<u16>,
    /// The page size, when not the default (kept in the page links).
    pub limit: Option<u32>,
    /// History before this instant was compacted away (RFC 3339), if it was.
    pub retained_from: Option<String>,
    /// Events read to build the page.
    pub events_read: usize,
}

/// `owners` of a stored listener as `python3 (pid 4121), nginx (pid 7)`, plus its container.
pub fn owners(listener: &Value) -> String {
    let mut parts: Vec<String> = listener
        .get("owners")
        .and_then(Value::as_array)
        .map(|owners| {
            owners
                .iter()
                .map(|o| {
                    let name = o.get("name").and_then(Value::as_str).unwrap_or("?");
                    match o.get("pid").and_then(Value::as_u64) {
                        Some(pid) => format!("{name} (pid {pid})"),
                        None => name.to_string(),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    if let Some(name) = listener
        .get("container")
        .and_then(|c| c.get("name"))
        .and_then(Value::as_str)
    {
        parts.push(format!("container {name}"));
    }
    parts.join(", ")
}

/// `125` → `2 min`.
pub fn span(seconds: i64) -> String {
    match seconds.max(0) {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 86_400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        s => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

/// How long ago `at` was, seen at `now` (an instant ahead of `now` — an agent's clock may
/// run up to two minutes fast — is `just now`).
fn ago(at: i64, now: i64) -> String {
    if at > now {
        "just now".into()
    } else {
        super::render::ago(now - at)
    }
}

/// An interval being built.
#[derive(Debug)]
struct Open {
    anchor: i64,
    key: ListenerKey,
    opened: Option<(i64, i64, String)>,
    closed: Option<(i64, i64, String)>,
    changes: Vec<(i64, i64, String, String)>,
    more_changes: usize,
}

impl Open {
    fn new(e: &HistoryEvent) -> Open {
        Open {
            anchor: e.id,
            key: e.change.key.clone(),
            opened: None,
            closed: None,
            changes: Vec::new(),
            more_changes: 0,
        }
    }

    fn change(&mut self, e: &HistoryEvent) {
        if self.changes.len() == MAX_CHANGES {
            self.changes.remove(0);
            self.more_changes += 1;
        }
        let before = e.change.previous.as_ref().map(owners).unwrap_or_default();
        self.changes
            .push((e.id, e.at, owners(&e.change.listener), before));
    }
}

/// Pairs events (fed oldest first) into the intervals of one page; see the module docs.
#[derive(Debug)]
pub struct Pairing {
    query: TimelineQuery,
    /// The interval of each listener open at the last event fed.
    open: HashMap<ListenerKey, Open>,
    /// The page's candidates so far, by anchor: at most `limit + 1` (the one more says
    /// whether an older page exists).
    page: BTreeMap<i64, Open>,
    /// Whether an event at or past the `before` cursor was fed.
    past_cursor: bool,
    read: usize,
}

impl Pairing {
    /// Pairing for `query`.
    pub fn new(query: TimelineQuery) -> Pairing {
        Pairing {
            query,
            open: HashMap::new(),
            page: BTreeMap::new(),
            past_cursor: false,
            read: 0,
        }
    }

    fn keep(&mut self, interval: Open) {
        if self.query.before.is_some_and(|b| interval.anchor >= b) {
            return;
        }
        self.page.insert(interval.anchor, interval);
        if self.page.len() > self.query.limit as usize + 1 {
            self.page.pop_first();
        }
    }

    /// Feeds the next event (events must come in id order).
    pub fn push(&mut self, e: &HistoryEvent) {
        self.read += 1;
        let key = &e.change.key;
        if self.query.port.is_some_and(|p| p != key.port) {
            return;
        }
        // past the cursor, nothing new can be on this page: only the intervals already
        // open may still change or close
        let past = self.query.before.is_some_and(|b| e.id >= b);
        self.past_cursor |= past;
        let moment = || (e.id, e.at, owners(&e.change.listener));
        match e.change.change {
            Change::Opened => {
                if let Some(previous) = self.open.remove(key) {
                    // never written by ingestion (an opened listener closes before it opens
                    // again); shown as open until the new opening rather than lost
                    self.keep(previous);
                }
                if !past {
                    let mut interval = Open::new(e);
                    interval.opened = Some(moment());
                    self.open.insert(key.clone(), interval);
                }
            }
            Change::Changed => match self.open.get_mut(key) {
                Some(interval) => interval.change(e),
                None if !past => {
                    let mut interval = Open::new(e);
                    interval.change(e);
                    self.open.insert(key.clone(), interval);
                }
                None => {}
            },
            Change::Closed => match self.open.remove(key) {
                Some(mut interval) => {
                    interval.closed = Some(moment());
                    self.keep(interval);
                }
                None if !past => {
                    let mut interval = Open::new(e);
                    interval.closed = Some(moment());
                    self.keep(interval);
                }
                None => {}
            },
        }
    }

    /// Whether no further event can change the page: past the cursor, and no listener
    /// still open could make it.
    pub fn settled(&self) -> bool {
        if !self.past_cursor {
            return false;
        }
        let full = self.page.len() > self.query.limit as usize;
        let lowest = self.page.keys().next().copied().unwrap_or(i64::MIN);
        !self
            .open
            .values()
            .any(|o| self.query.before.is_none_or(|b| o.anchor < b) && (!full || o.anchor > lowest))
    }

    /// The page, with the still-open intervals; `now` for the relative times.
    pub fn finish(mut self, now: i64, retained_from: Option<i64>) -> Timeline {
        let still_open: Vec<Open> = self.open.drain().map(|(_, o)| o).collect();
        for interval in still_open {
            self.keep(interval);
        }
        let limit = self.query.limit as usize;
        let older = (self.page.len() > limit).then(|| {
            // the oldest candidate is beyond this page: drop it, the page ends above it
            self.page.pop_first();
            self.page.keys().next().copied().unwrap_or_default()
        });
        let moment = |(id, at, by): (i64, i64, String)| Moment {
            id,
            at,
            iso: super::time(at),
            ago: ago(at, now),
            by,
        };
        let intervals = self
            .page
            .into_values()
            .rev()
            .map(|o| {
                let lasted = o.opened.as_ref().map(|(_, opened, _)| {
                    let end = o.closed.as_ref().map_or(now, |(_, at, _)| *at);
                    span(end - opened)
                });
                let listener = o.key.to_string();
                Interval {
                    anchor: o.anchor,
                    listener,
                    port: o.key.port,
                    state: if o.closed.is_some() { "closed" } else { "open" },
                    opened: o.opened.map(moment),
                    closed: o.closed.map(moment),
                    changes: o
                        .changes
                        .into_iter()
                        .map(|(id, at, by, before)| Changed {
                            moment: moment((id, at, by)),
                            before,
                        })
                        .collect(),
                    more_changes: o.more_changes,
                    lasted,
                }
            })
            .collect();
        Timeline {
            intervals,
            older,
            before: self.query.before,
            port: self.query.port,
            limit: (self.query.limit != PAGE).then_some(self.query.limit),
            retained_from: retained_from.map(super::time),
            events_read: self.read,
        }
    }
}

/// The page of `host`'s timeline that `query` asks for, read from the store.
pub async fn timeline(
    state: &AppState,
    host: &str,
    query: TimelineQuery,
) -> Result<Timeline, WebError> {
    let mut pairing = Pairing::new(query);
    let mut after = 0;
    let mut retained_from = None;
    loop {
        let chunk = state
            .store
            .history(
                host,
                HistoryQuery {
                    since: None,
                    until: None,
                    after,
                    limit: CHUNK,
                },
            )
            .await?;
        if after == 0 {
            retained_from = chunk.retained_from;
        }
        for e in &chunk.events {
            pairing.push(e);
        }
        match chunk.events.last() {
            Some(last) if chunk.events.len() == CHUNK as usize && !pairing.settled() => {
                after = last.id;
            }
            _ => break,
        }
    }
    Ok(pairing.finish(state.now(), retained_from))
}

#[cfg(test)]
mod tests {
    use portolan_store::ListenerChange;
    use serde_json::json;

    use super::*;

    fn event(id: i64, change: Change, port: u16, owner: &str) -> HistoryEvent {
        let listener = json!({"transport": "tcp", "addr": "0.0.0.0", "port": port,
                              "owners": [{"pid": port, "name": owner}]});
        HistoryEvent {
            id,
            at: 1_000 + id * 60,
            change: ListenerChange {
                change,
                key: ListenerKey {
                    transport: "tcp".into(),
                    addr: "0.0.0.0".into(),
                    port,
                },
                previous: (change == Change::Changed)
                    .then(|| json!({"owners": [{"pid": 1, "name": "old"}]})),
                listener,
            },
        }
    }

    fn page(events: &[HistoryEvent], query: TimelineQuery) -> Timeline {
        let mut p = Pairing::new(query);
        for e in events {
            p.push(e);
        }
        p.finish(100_000, None)
    }

    /// `(anchor, port, opened?, closed?, changes)` of each interval.
    fn shape(t: &Timeline) -> Vec<(i64, u16, bool, bool, usize)> {
        t.intervals
            .iter()
            .map(|i| {
                (
                    i.anchor,
                    i.port,
                    i.opened.is_some(),
                    i.closed.is_some(),
                    i.changes.len(),
                )
            })
            .collect()
    }

    fn history() -> Vec<HistoryEvent> {
        use Change::{Changed, Closed, Opened};
        vec![
            event(1, Closed, 22, "sshd"),
            event(2, Opened, 9000, "node"),
            event(3, Changed, 8030, "python3"),
            event(4, Changed, 9000, "node"),
            event(5, Closed, 9000, "node"),
            event(6, Opened, 9000, "node"),
            event(7, Opened, 5000, "socat"),
        ]
    }

    #[test]
    fn events_pair_into_intervals_newest_first() {
        let t = page(&history(), TimelineQuery::default());
        assert_eq!(
            shape(&t),
            vec![
                (7, 5000, true, false, 0),
                (6, 9000, true, false, 0),
                (3, 8030, false, false, 1),
                (2, 9000, true, true, 1),
                (1, 22, false, true, 0),
            ]
        );
        assert_eq!(t.older, None);
        let closed = &t.intervals[3];
        assert_eq!(closed.lasted.as_deref(), Some("3 min"));
        assert_eq!(closed.state, "closed");
        assert_eq!(
            closed.opened.as_ref().map(|m| m.by.as_str()),
            Some("node (pid 9000)")
        );
        assert_eq!(closed.changes[0].before, "old (pid 1)");
        assert_eq!(t.intervals[0].state, "open");
        assert_eq!(t.intervals[2].lasted, None, "opened before history began");
    }

    #[test]
    fn pages_follow_the_cursor_and_the_port_filter() {
        let events = history();
        let q = |before, port, limit| TimelineQuery {
            before,
            port,
            limit,
        };
        let first = page(&events, q(None, None, 2));
        assert_eq!(
            shape(&first).iter().map(|s| s.0).collect::<Vec<_>>(),
            [7, 6]
        );
        assert_eq!(first.older, Some(6));
        let second = page(&events, q(Some(6), None, 2));
        assert_eq!(
            shape(&second).iter().map(|s| s.0).collect::<Vec<_>>(),
            [3, 2]
        );
        // the interval anchored at 2 closed at 5, before the cursor: still paired
        assert!(second.intervals[1].closed.is_some());
        assert_eq!(second.older, Some(2));
        let third = page(&events, q(Some(2), None, 2));
        assert_eq!(shape(&third), vec![(1, 22, false, true, 0)]);
        assert_eq!(third.older, None);
        let port = page(&events, q(None, Some(9000), 50));
        assert_eq!(
            shape(&port),
            vec![(6, 9000, true, false, 0), (2, 9000, true, true, 1)]
        );
        // an interval anchored before the cursor that closes after it is closed
        let late_close = vec![
            event(1, Change::Opened, 80, "nginx"),
            event(2, Change::Opened, 81, "nginx"),
            event(3, Change::Closed, 80, "nginx"),
        ];
        let t = page(&late_close, q(Some(2), None, 5));
        assert_eq!(shape(&t), vec![(1, 80, true, true, 0)]);
    }

    #[test]
    fn an_older_page_stops_reading_once_settled() {
        let mut events = history();
        for id in 8..100 {
            let port = 10_000 + u16::try_from(id).expect("small");
            events.push(event(id, Change::Opened, port, "x"));
        }
        let mut p = Pairing::new(TimelineQuery {
            before: Some(3),
            port: None,
            limit: 50,
        });
        let mut fed = 0;
        for e in &events {
            p.push(e);
            fed += 1;
            if p.settled() {
                break;
            }
        }
        // anchors 1 and 2 only; 9000 (anchored at 2) closes at 5: settled there
        assert_eq!(fed, 5);
        assert!(!Pairing::new(TimelineQuery::default()).settled());
    }

    #[test]
    fn changes_are_bounded_per_interval() {
        let mut events = vec![event(1, Change::Opened, 80, "nginx")];
        for id in 2..200 {
            events.push(event(id, Change::Changed, 80, "nginx"));
        }
        let t = page(&events, TimelineQuery::default());
        assert_eq!(t.intervals[0].changes.len(), MAX_CHANGES);
        assert_eq!(t.intervals[0].more_changes, 198 - MAX_CHANGES);
        assert_eq!(
            t.intervals[0].changes.last().map(|c| c.moment.id),
            Some(199)
        );
    }

    #[test]
    fn queries_parse_or_name_the_parameter() {
        let q = TimelineQuery::parse(Some("before=12&port=8030&limit=5")).expect("valid");
        assert_eq!(
            q,
            TimelineQuery {
                before: Some(12),
                port: Some(8030),
                limit: 5
            }
        );
        assert_eq!(
            TimelineQuery::parse(Some("port=")).expect("empty"),
            TimelineQuery::default()
        );
        for (raw, field) in [
            ("port=0", "port:"),
            ("port=70000", "port:"),
            ("port=%3Cscript%3E", "port:"),
            ("before=-1", "before:"),
            ("limit=100000", "limit:"),
        ] {
            let e = TimelineQuery::parse(Some(raw)).expect_err(raw);
            assert!(e.to_string().starts_with(field), "{raw}: {e}");
        }
    }

    #[test]
    fn owners_and_spans_read_well() {
        let l = json!({"owners": [{"pid": 4121, "name": "python3"}, {"name": "x"}],
                       "container": {"name": "shop-web-1"}});
        assert_eq!(owners(&l), "python3 (pid 4121), x, container shop-web-1");
        assert_eq!(owners(&json!({})), "");
        assert_eq!(span(2220), "37 min");
        assert_eq!(span(7322), "2 h 2 min");
        assert_eq!(span(90_000), "1 d 1 h");
        assert_eq!(ago(200, 100), "just now");
    }
}
