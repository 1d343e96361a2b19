//! Three-way merge of a spec file with the registry's spec, written as a lossless edit of
//! the local file — what `pull` and `push --merge` do.
//!
//! The three sides are the spec as last pulled from (or pushed to) the registry (the
//! **base**; none when the file was never pulled — then every key counts as new on the side
//! that has it), the **local** file, and the **registry**'s spec. Key by key, recursively:
//!
//! | base vs local vs registry | result |
//! |---|---|
//! | local = registry | unchanged |
//! | local = base (only the registry changed it) | the registry's: value replaced, table added or removed |
//! | registry = base (only the file changed it) | the file's, kept |
//! | all differ, both tables | merged key by key (two edits of different keys of one service both survive) |
//! | all differ otherwise | a [`Conflict`]: refused, or with [`OnConflict::TakeRegistry`] the registry's |
//!
//! The top-level arrays of tables — `[[reservations]]`, `[[routes]]`, `[[flows]]`,
//! `[[expect]]` — are sets: an element either side added is kept, one either side removed
//! (and the other left as it was) is removed. Other arrays (a host's `addresses`, a
//! firewall's ordered `rules`) are values.
//!
//! Only what the merge changes is written: untouched tables keep their comments, order and
//! formatting byte for byte; a replaced value keeps its comment; a new table from the
//! registry is written in the file's usual style (`[services.NAME]` with `bindings.NAME =
//! { … }`) after its last sibling. Values compare as the registry stores them
//! ([`norm`]): a date equals its string, a reservation's `ports` is its set.
//!
//! Merging keys can still give a spec where two services hold one port (each side
//! allocated 8003 to another service) or that does not load (the registry removed a host a
//! new local service uses): [`clashes`] finds the first, and the caller loads the result.

mod clash;
mod lost;
mod norm;

use toml_edit::{ArrayOfTables, DocumentMut, InlineTable, Item, Table, TableLike, Value};

pub use clash::{Clash, clashes};
pub use lost::{Lost, lost};
use norm::Norm;

/// The top-level arrays merged as sets.
const SETS: [&str; 4] = ["reservations", "routes", "flows", "expect"];

/// What to do when both sides changed one key differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnConflict {
    /// Report it; the caller writes nothing.
    Refuse,
    /// Take the registry's (`pull --force`).
    TakeRegistry,
}

/// Both sides changed one key, differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The key (`services.api.bindings.http.port`).
    pub key: String,
    /// Its value when last pulled (`None`: absent, or nothing was pulled).
    pub base: Option<String>,
    /// The file's (`None`: removed).
    pub local: Option<String>,
    /// The registry's (`None`: removed).
    pub registry: Option<String>,
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(absent)".into());
        write!(
            f,
            "{}: this file has {}, the registry has {}",
            self.key,
            show(&self.local),
            show(&self.registry)
        )?;
        if self.base.is_some() {
            write!(
                f,
                " (both changed {} since the last pull)",
                show(&self.base)
            )?;
        }
        Ok(())
    }
}

/// A text that does not parse as TOML.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{which} is not valid TOML: {message}")]
pub struct MergeError {
    /// Which side (`the registry's spec`, `ports.toml`, `the last pulled spec`).
    pub which: String,
    /// The parser's message.
    pub message: String,
}

/// The merge's result.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Merged {
    /// The local file with the merge applied.
    pub text: String,
    /// Keys taken from the registry (`services.api.bindings.http.port`, `services.kpi (new)`).
    pub taken: Vec<String>,
    /// Keys the file changed since the base, kept.
    pub kept: Vec<String>,
    /// Keys both changed differently (empty unless [`OnConflict::Refuse`]; with
    /// [`OnConflict::TakeRegistry`] they are in `overwritten`).
    pub conflicts: Vec<Conflict>,
    /// Local changes the registry's replaced ([`OnConflict::TakeRegistry`]).
    pub overwritten: Vec<Conflict>,
}

impl Merged {
    /// Whether the file changes.
    pub fn changes_file(&self, local: &str) -> bool {
        self.text != local
    }
}

fn parse(which: &str, text: &str) -> Result<DocumentMut, MergeError> {
    text.parse::<DocumentMut>().map_err(|e| MergeError {
        which: which.into(),
        message: e.message().to_string(),
    })
}

/// Merges `registry` into `local` against `base` (see the module docs). `local_name` names
/// the file in errors.
pub fn merge(
    base: Option<&str>,
    local: &str,
    registry: &str,
    local_name: &str,
    on_conflict: OnConflict,
) -> Result<Merged, MergeError> {
    let base = base
        .map(|b| parse("the last pulled spec", b))
        .transpose()?
        .map(|d| norm::root(&d));
    let mut doc = parse(local_name, local)?;
    let remote = parse("the registry's spec", registry)?;
    let mut out = Merged::default();
    let mut cx = Cx {
        on_conflict,
        out: &mut out,
    };
    let remote_norm = norm::root(&remote);
    let local_norm = norm::root(&doc);
    let keys = union(
        base.as_ref().map(|b| b.keys().cloned().collect()),
        local_norm.keys().cloned().collect(),
        remote_norm.keys().cloned().collect(),
    );
    let root = doc.as_table_mut();
    for k in keys {
        let b = base.as_ref().and_then(|t| t.get(&k));
        let l = local_norm.get(&k);
        let r = remote_norm.get(&k);
        if SETS.contains(&k.as_str()) {
            if l != r {
                merge_set(root, &k, b, l, r, remote.get(&k), &mut cx);
            }
            continue;
        }
        merge_key(root, false, &k, &k, 0, b, l, r, remote.get(&k), &mut cx);
    }
    out.text = doc.to_string();
    out.taken.sort();
    out.kept.sort();
    Ok(out)
}

struct Cx<'o> {
    on_conflict: OnConflict,
    out: &'o mut Merged,
}

/// Keys in a stable order: the file's, then the registry's new ones, then the base's.
fn union(base: Option<Vec<String>>, local: Vec<String>, remote: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for k in local
        .into_iter()
        .chain(remote)
        .chain(base.unwrap_or_default())
    {
        if seen.insert(k.clone()) {
            out.push(k);
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn merge_key(
    parent: &mut dyn TableLike,
    inline: bool,
    key: &str,
    path: &str,
    depth: usize,
    b: Option<&Norm>,
    l: Option<&Norm>,
    r: Option<&Norm>,
    remote: Option<&Item>,
    cx: &mut Cx<'_>,
) {
    if l == r {
        return;
    }
    if b == l {
        take(parent, inline, key, path, depth, l, r, remote, cx);
        return;
    }
    if b == r {
        changed_keys(path, b, l, &mut cx.out.kept);
        return;
    }
    if let (Some(Norm::Table(lt)), Some(Norm::Table(rt))) = (l, r)
        && let Some(child) = parent.get_mut(key)
        && let Some((local_t, child_inline)) = table_like_mut(child)
    {
        let bt = b.and_then(Norm::as_table);
        let keys = union(
            bt.map(|t| t.keys().cloned().collect()),
            lt.keys().cloned().collect(),
            rt.keys().cloned().collect(),
        );
        for k in keys {
            let sub = format!("{path}.{}", quote_key(&k));
            let remote_child = remote.and_then(|r| child_of(r, &k));
            merge_key(
                local_t,
                child_inline,
                &k,
                &sub,
                depth + 1,
                bt.and_then(|t| t.get(&k)),
                lt.get(&k),
                rt.get(&k),
                remote_child,
                cx,
            );
        }
        return;
    }
    let conflict = Conflict {
        key: path.to_string(),
        base: b.map(Norm::short),
        local: l.map(Norm::short),
        registry: r.map(Norm::short),
    };
    match cx.on_conflict {
        OnConflict::Refuse => cx.out.conflicts.push(conflict),
        OnConflict::TakeRegistry => {
            cx.out.overwritten.push(conflict);
            take(parent, inline, key, path, depth, l, r, remote, cx);
        }
    }
}

/// The keys (leaves where both sides are tables) where `before` and `after` differ, as
/// dotted paths: `services.api.purpose`, `services.new (new)`, `services.old (removed)`.
fn changed_keys(path: &str, before: Option<&Norm>, after: Option<&Norm>, out: &mut Vec<String>) {
    match (before, after) {
        (Some(Norm::Table(b)), Some(Norm::Table(a))) => {
            let keys: std::collections::BTreeSet<&String> = b.keys().chain(a.keys()).collect();
            for k in keys {
                if b.get(k) != a.get(k) {
                    changed_keys(&format!("{path}.{}", quote_key(k)), b.get(k), a.get(k), out);
                }
            }
        }
        (None, Some(_)) => out.push(format!("{path} (new)")),
        (Some(_), None) => out.push(format!("{path} (removed)")),
        _ => out.push(path.to_string()),
    }
}

/// Makes `parent[key]` the registry's, changing as little text as possible.
#[allow(clippy::too_many_arguments)]
fn take(
    parent: &mut dyn TableLike,
    inline: bool,
    key: &str,
    path: &str,
    depth: usize,
    l: Option<&Norm>,
    r: Option<&Norm>,
    remote: Option<&Item>,
    cx: &mut Cx<'_>,
) {
    let (Some(r), Some(remote)) = (r, remote) else {
        parent.remove(key);
        cx.out.taken.push(format!("{path} (removed)"));
        return;
    };
    // both tables: only the keys that differ
    if let (Some(Norm::Table(lt)), Norm::Table(rt)) = (l, r)
        && let Some(child) = parent.get_mut(key)
        && let Some((local_t, child_inline)) = table_like_mut(child)
    {
        let keys = union(
            None,
            lt.keys().cloned().collect(),
            rt.keys().cloned().collect(),
        );
        for k in keys {
            let sub = format!("{path}.{}", quote_key(&k));
            let lk = lt.get(&k);
            let rk = rt.get(&k);
            if lk != rk {
                take(
                    local_t,
                    child_inline,
                    &k,
                    &sub,
                    depth + 1,
                    lk,
                    rk,
                    child_of(remote, &k),
                    cx,
                );
            }
        }
        return;
    }
    // a value replacing a value: the comment and spacing around it stay
    if let Some(slot) = parent.get_mut(key)
        && let (Some(old), Some(new)) = (slot.as_value(), remote.as_value())
        && !matches!(new, Value::InlineTable(_))
    {
        let decor = old.decor().clone();
        let mut v = new.clone();
        *v.decor_mut() = decor;
        *slot = Item::Value(v);
        cx.out.taken.push(path.to_string());
        return;
    }
    let fresh = fresh_item(remote, depth, inline);
    let existed = parent.contains_key(key);
    parent.insert(key, fresh);
    cx.out.taken.push(if existed {
        path.to_string()
    } else {
        format!("{path} (new)")
    });
}

/// The child `key` of a remote item (table or inline table).
fn child_of<'r>(item: &'r Item, key: &str) -> Option<&'r Item> {
    item.as_table_like().and_then(|t| t.get(key))
}

/// A table or inline table to edit, and whether it is inline (only values go in it).
fn table_like_mut(item: &mut Item) -> Option<(&mut dyn TableLike, bool)> {
    match item {
        Item::Table(t) => Some((t, false)),
        Item::Value(Value::InlineTable(t)) => Some((t, true)),
        _ => None,
    }
}

/// A key as written in a dotted path (`services."my svc"` for a key that needs quotes).
fn quote_key(k: &str) -> String {
    if !k.is_empty()
        && k.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    {
        k.to_string()
    } else {
        format!("{k:?}")
    }
}

/// A registry item to insert into the file, in the file's usual style: entities
/// (`[hosts.NAME]`, `[services.NAME]`) as tables with a blank line before, what is inside
/// them as `key = value`, `bindings.NAME = { … }`.
fn fresh_item(remote: &Item, depth: usize, inline_parent: bool) -> Item {
    match remote {
        Item::None => Item::None,
        Item::Value(v) => Item::Value(fresh_value(v)),
        Item::ArrayOfTables(a) => {
            let mut out = ArrayOfTables::new();
            for t in a {
                let mut t = entity_table(t);
                t.decor_mut().set_prefix("\n");
                out.push(t);
            }
            Item::ArrayOfTables(out)
        }
        Item::Table(t) if inline_parent || depth >= 2 => inline_or_dotted(t),
        Item::Table(t) if depth == 0 && t.iter().all(|(_, v)| v.is_table()) => {
            // a collection (`[services]`): implicit, each entity its own table
            let mut out = Table::new();
            out.set_implicit(true);
            for (k, v) in t {
                if let Item::Table(e) = v {
                    let mut e = entity_table(e);
                    e.decor_mut().set_prefix("\n");
                    out.insert(k, Item::Table(e));
                }
            }
            Item::Table(out)
        }
        Item::Table(t) => {
            let mut e = entity_table(t);
            e.decor_mut().set_prefix("\n");
            Item::Table(e)
        }
    }
}

fn fresh_value(v: &Value) -> Value {
    let mut v = v.clone();
    v.decor_mut().clear();
    match &mut v {
        Value::InlineTable(t) => t.fmt(),
        Value::Array(a) => a.fmt(),
        _ => {}
    }
    v
}

/// Keys in the order people write them (the registry's writer sorts them by name):
/// identity and ownership first, then placement, ports, the rest by name.
const KEY_ORDER: [&str; 24] = [
    "name",
    "environment",
    "description",
    "project",
    "block",
    "purpose",
    "owner",
    "status",
    "hosts",
    "since",
    "lease-until",
    "addresses",
    "networks",
    "firewall",
    "range",
    "blocks",
    "port",
    "ports",
    "target",
    "bind",
    "transport",
    "app",
    "publisher",
    "exposure",
];

fn ordered<'t, V>(it: impl Iterator<Item = (&'t str, V)>) -> Vec<(&'t str, V)> {
    let mut v: Vec<(&str, V)> = it.collect();
    v.sort_by_key(|(k, _)| {
        (
            KEY_ORDER
                .iter()
                .position(|o| o == k)
                .unwrap_or(KEY_ORDER.len()),
            *k,
        )
    });
    v
}

/// An entity's table: values as they are, sub-tables inline (`bindings.http = { … }` when
/// every sub-table's children are tables, else `key = { … }`).
fn entity_table(t: &Table) -> Table {
    let mut out = Table::new();
    for (k, v) in ordered(t.iter()) {
        match v {
            Item::Value(v) => {
                out.insert(k, Item::Value(fresh_value(v)));
            }
            Item::Table(sub) => {
                out.insert(k, inline_or_dotted(sub));
            }
            Item::ArrayOfTables(a) => {
                let arr: toml_edit::Array =
                    a.iter().map(|t| Value::InlineTable(to_inline(t))).collect();
                out.insert(k, Item::Value(fresh_value(&Value::Array(arr))));
            }
            Item::None => {}
        }
    }
    out
}

fn inline_or_dotted(t: &Table) -> Item {
    if !t.is_empty() && t.iter().all(|(_, v)| v.is_table()) {
        let mut d = Table::new();
        d.set_dotted(true);
        for (k, v) in t {
            if let Item::Table(sub) = v {
                d.insert(k, Item::Value(Value::InlineTable(to_inline(sub))));
            }
        }
        Item::Table(d)
    } else {
        Item::Value(Value::InlineTable(to_inline(t)))
    }
}

fn to_inline(t: &Table) -> InlineTable {
    let mut out = InlineTable::new();
    for (k, v) in ordered(t.iter()) {
        match v {
            Item::Value(v) => {
                out.insert(k, fresh_value(v));
            }
            Item::Table(sub) => {
                out.insert(k, Value::InlineTable(to_inline(sub)));
            }
            Item::ArrayOfTables(a) => {
                let arr: toml_edit::Array =
                    a.iter().map(|t| Value::InlineTable(to_inline(t))).collect();
                out.insert(k, Value::Array(arr));
            }
            Item::None => {}
        }
    }
    out.fmt();
    out
}

/// The elements of a top-level array of tables, normalised for comparison.
fn elements(key: &str, n: Option<&Norm>) -> Vec<Norm> {
    match n {
        Some(Norm::Array(a)) => a
            .iter()
            .cloned()
            .map(|e| {
                if key == "reservations" {
                    norm::reservation(e)
                } else {
                    e
                }
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Three-way merge of a top-level array of tables as a set (see the module docs).
fn merge_set(
    root: &mut Table,
    key: &str,
    b: Option<&Norm>,
    l: Option<&Norm>,
    r: Option<&Norm>,
    remote: Option<&Item>,
    cx: &mut Cx<'_>,
) {
    let (be, le, re) = (elements(key, b), elements(key, l), elements(key, r));
    let keep: Vec<bool> = le
        .iter()
        .map(|e| re.contains(e) || !be.contains(e))
        .collect();
    let add: Vec<usize> = (0..re.len())
        .filter(|&j| !le.contains(&re[j]) && !be.contains(&re[j]))
        .collect();
    for (e, k) in le.iter().zip(&keep) {
        if !k {
            cx.out
                .taken
                .push(format!("{key}: {} (removed)", describe(e)));
        } else if !re.contains(e) {
            cx.out.kept.push(format!("{key}: {}", describe(e)));
        }
    }
    let remote_tables: Vec<Table> = match remote {
        Some(Item::ArrayOfTables(a)) => a.iter().cloned().collect(),
        Some(Item::Value(Value::Array(a))) => a
            .iter()
            .filter_map(|v| v.as_inline_table().map(|t| t.clone().into_table()))
            .collect(),
        _ => Vec::new(),
    };
    for &j in &add {
        cx.out
            .taken
            .push(format!("{key}: {} (new)", describe(&re[j])));
    }
    match root.get_mut(key) {
        Some(Item::ArrayOfTables(aot)) => {
            for i in (0..keep.len()).rev() {
                if !keep[i] {
                    aot.remove(i);
                }
            }
            for &j in &add {
                if let Some(t) = remote_tables.get(j) {
                    let mut t = entity_table(t);
                    t.decor_mut().set_prefix("\n");
                    aot.push(t);
                }
            }
        }
        Some(Item::Value(Value::Array(arr))) => {
            for i in (0..keep.len()).rev() {
                if !keep[i] {
                    arr.remove(i);
                }
            }
            for &j in &add {
                if let Some(t) = remote_tables.get(j) {
                    arr.push(Value::InlineTable(to_inline(t)));
                }
            }
            arr.fmt();
        }
        _ => {
            if !add.is_empty() {
                let mut aot = ArrayOfTables::new();
                for &j in &add {
                    if let Some(t) = remote_tables.get(j) {
                        let mut t = entity_table(t);
                        t.decor_mut().set_prefix("\n");
                        aot.push(t);
                    }
                }
                root.insert(key, Item::ArrayOfTables(aot));
            }
        }
    }
    if matches!(root.get(key), Some(Item::ArrayOfTables(a)) if a.is_empty()) {
        root.remove(key);
    }
}

/// A set element in words (`ports "8010"`, `from "nginx.https" to "odoo.http"`).
fn describe(e: &Norm) -> String {
    match e {
        Norm::Table(t) => {
            let parts: Vec<String> = ["ports", "project", "from", "to", "why"]
                .iter()
                .filter_map(|k| t.get(*k).map(|v| format!("{k} {}", v.short())))
                .collect();
            parts.join(" ")
        }
        other => other.short(),
    }
}

/// Whether two spec texts say the same as the registry compares them (false when either
/// does not parse).
pub fn same_spec(a: &str, b: &str) -> bool {
    match (a.parse::<DocumentMut>(), b.parse::<DocumentMut>()) {
        (Ok(a), Ok(b)) => norm::root(&a) == norm::root(&b),
        _ => false,
    }
}

#[cfg(test)]
mod tests;
