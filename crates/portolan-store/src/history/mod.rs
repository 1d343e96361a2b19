//! Listener history: what each host's agent reported over time, as changes.
//!
//! An agent sends numbered [`Report`]s — the full listener set, or a delta (added and
//! removed listeners) against the last report the server acknowledged. [`ingest`] checks the
//! sequence (a delta must come from the agent instance that sent the acknowledged report and
//! continue its numbering exactly; anything else is refused with
//! [`StoreError::Sequence`](crate::StoreError::Sequence), and the agent answers with a full
//! report), applies it to the host's last state, and appends one [`HistoryEvent`] per
//! listener that opened, closed or changed, in the same transaction that stores the new
//! state as the host's observation. Nothing is lost on a refusal: the stored state is
//! untouched, and a full report after it records exactly the difference.
//!
//! [`query`] answers "what happened" ([`HostHistory`]) and "what was listening at T"
//! ([`HostState`]), and compacts: events older than the retention are folded into one
//! baseline per host (the listeners at the cutoff) and deleted, so the database grows with
//! churn, not with the number of reports.
//!
//! Events store their documents compactly (`stored`: a `changed` event keeps a patch back
//! to the previous document, not the whole of it) and are read back whole.
//!
//! A listener is identified by [`ListenerKey`] (transport, address, port); several sockets
//! on one key (`SO_REUSEPORT`) are one listener whose owners are merged.

mod ingest;
mod query;
mod stored;

pub(crate) use ingest::ingest;
pub(crate) use query::{compact, events, state_at};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::StoreError;

/// How far ahead of the server's clock an agent's `at` may be, in seconds.
pub const MAX_CLOCK_SKEW: i64 = 120;

/// What identifies a listening socket over time.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ListenerKey {
    /// `tcp` / `udp`.
    pub transport: String,
    /// Local address as reported (`0.0.0.0`, `::1`).
    pub addr: String,
    /// Local port.
    pub port: u16,
}

impl ListenerKey {
    /// The key of a listener as `portolan ls --json` prints it; `field` names it in errors.
    pub fn of(listener: &Value, field: &str) -> Result<ListenerKey, StoreError> {
        let bad = |what: &str| StoreError::Invalid {
            field: "listeners",
            message: format!("{field}: {what}"),
        };
        let transport = listener
            .get("transport")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("`transport` must be a string"))?;
        let addr = listener
            .get("addr")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("`addr` must be a string"))?;
        let port = listener
            .get("port")
            .and_then(Value::as_u64)
            .and_then(|p| u16::try_from(p).ok())
            .ok_or_else(|| bad("`port` must be an integer 0-65535"))?;
        if transport.contains('\0') || addr.contains('\0') {
            return Err(bad("contains a NUL character"));
        }
        Ok(ListenerKey {
            transport: transport.to_ascii_lowercase(),
            addr: addr.to_string(),
            port,
        })
    }
}

impl std::fmt::Display for ListenerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.addr.contains(':') {
            write!(f, "[{}]:{}/{}", self.addr, self.port, self.transport)
        } else {
            write!(f, "{}:{}/{}", self.addr, self.port, self.transport)
        }
    }
}

/// What a report carries.
#[derive(Clone, Debug, PartialEq)]
pub enum ReportBody {
    /// Every listener of the host (starts a sequence, or resynchronizes one).
    Full {
        /// The listeners, as `portolan ls --json` prints them.
        listeners: Vec<Value>,
    },
    /// The change since report `base`, the last one the server acknowledged.
    Delta {
        /// The sequence number this delta applies to.
        base: i64,
        /// Listeners that opened or changed (whole, as in a full report).
        added: Vec<Value>,
        /// Listeners that closed.
        removed: Vec<ListenerKey>,
    },
}

/// One agent report.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// Host name, as the registry knows it.
    pub host: String,
    /// The agent instance (a new one each time the agent starts); empty for the
    /// unsequenced `POST /api/v1/observations`.
    pub agent: String,
    /// This report's number: 1 for an agent's first report, then one more each time.
    /// 0 for unsequenced reports.
    pub seq: i64,
    /// When the listeners were observed, by the agent's clock (seconds since the epoch).
    pub at: i64,
    /// Full or delta.
    pub body: ReportBody,
}

/// What an accepted report changed.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportOutcome {
    /// Host.
    pub host: String,
    /// The sequence number now acknowledged.
    pub seq: i64,
    /// The time recorded for the report's changes (never before the host's previous one).
    pub at: i64,
    /// Listeners that opened.
    pub opened: usize,
    /// Listeners that closed.
    pub closed: usize,
    /// Listeners whose owners or details changed.
    pub changed: usize,
    /// Every listener of the host now, by key.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub listeners: Vec<Value>,
}

/// How a listener changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// It started listening.
    Opened,
    /// It stopped listening.
    Closed,
    /// Same socket address, different owners or details.
    Changed,
}

impl Change {
    /// `opened` / `closed` / `changed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Opened => "opened",
            Change::Closed => "closed",
            Change::Changed => "changed",
        }
    }

    fn parse(text: &str) -> Change {
        match text {
            "opened" => Change::Opened,
            "closed" => Change::Closed,
            _ => Change::Changed,
        }
    }
}

/// A listener that changed between two states.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ListenerChange {
    /// How.
    pub change: Change,
    /// Which listener.
    #[serde(flatten)]
    pub key: ListenerKey,
    /// The listener after the change (before it, when it closed).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub listener: Value,
    /// The listener before the change (`changed` only).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<Value>,
}

/// One recorded change of a host's listeners.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryEvent {
    /// Increasing id (a cursor for paging).
    pub id: i64,
    /// When (seconds since the epoch).
    pub at: i64,
    /// What changed.
    #[serde(flatten)]
    pub change: ListenerChange,
}

/// Which events of a host to list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HistoryQuery {
    /// Events at or after this instant.
    pub since: Option<i64>,
    /// Events at or before this instant.
    pub until: Option<i64>,
    /// Events with an id above this one (paging).
    pub after: i64,
    /// At most this many.
    pub limit: u32,
}

/// A host's events.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostHistory {
    /// Host.
    pub host: String,
    /// History before this instant was compacted away (absent: never compacted).
    pub retained_from: Option<i64>,
    /// Events, oldest first.
    pub events: Vec<HistoryEvent>,
}

/// A host's listeners at one instant, rebuilt from its history.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostState {
    /// Host.
    pub host: String,
    /// The instant.
    pub at: i64,
    /// The listeners, by key.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub listeners: Vec<Value>,
}

/// What a compaction did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Compaction {
    /// Hosts whose old events were folded into their baseline.
    pub hosts: usize,
    /// Events deleted.
    pub events: u64,
}

/// Listeners by key; sockets sharing a key (`SO_REUSEPORT`) merge their owners.
pub type Listeners = BTreeMap<ListenerKey, Value>;

/// `listeners` by key (`field` names the list in errors), as the server keeps them: an
/// agent computing a delta keys its listeners with this too.
pub fn by_key(listeners: &[Value], field: &str) -> Result<Listeners, StoreError> {
    let mut out = Listeners::new();
    for (i, l) in listeners.iter().enumerate() {
        if !l.is_object() {
            return Err(StoreError::Invalid {
                field: "listeners",
                message: format!("{field}[{i}]: expected an object"),
            });
        }
        let key = ListenerKey::of(l, &format!("{field}[{i}]"))?;
        insert_merging(&mut out, key, l.clone());
    }
    Ok(out)
}

fn insert_merging(out: &mut Listeners, key: ListenerKey, listener: Value) {
    match out.get_mut(&key) {
        None => {
            out.insert(key, listener);
        }
        Some(existing) => {
            let more = listener
                .get("owners")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if let Some(owners) = existing.get_mut("owners").and_then(Value::as_array_mut) {
                for o in more {
                    if !owners.contains(&o) {
                        owners.push(o);
                    }
                }
            }
        }
    }
}

/// What changed from `before` to `after`, by key.
pub fn changes(before: &Listeners, after: &Listeners) -> Vec<ListenerChange> {
    let mut out = Vec::new();
    for (key, old) in before {
        match after.get(key) {
            None => out.push(ListenerChange {
                change: Change::Closed,
                key: key.clone(),
                listener: old.clone(),
                previous: None,
            }),
            Some(new) if new != old => out.push(ListenerChange {
                change: Change::Changed,
                key: key.clone(),
                listener: new.clone(),
                previous: Some(old.clone()),
            }),
            Some(_) => {}
        }
    }
    for (key, new) in after {
        if !before.contains_key(key) {
            out.push(ListenerChange {
                change: Change::Opened,
                key: key.clone(),
                listener: new.clone(),
                previous: None,
            });
        }
    }
    out.sort_by(|a, b| a.key.cmp(&b.key).then(a.change.cmp(&b.change)));
    out
}

/// The listeners of a state, as a map (for [`changes`] between two [`HostState`]s).
pub fn state_map(state: &HostState) -> Result<Listeners, StoreError> {
    by_key(&state.listeners, "listeners")
}
