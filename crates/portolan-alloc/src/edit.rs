//! Lossless edits of a spec file with `toml_edit`: add a service (its one binding on
//! `127.0.0.1` with `exposure = "localhost"`, the least exposure, until edited), remove one, add a
//! reservation, take ports out of reservations, drop expired reservations. Everything the
//! edit does not touch — comments, blank lines, key order, quoting, inline tables — is kept
//! byte for byte. New tables go right after their last sibling (a new service after the last
//! service, a new reservation after the last reservation), with one blank line before.

use std::path::{Path, PathBuf};

use portolan_model::spec::Timestamp;
use portolan_model::{PortRange, PortSet, Transport};
use toml_edit::{ArrayOfTables, DocumentMut, InlineTable, Item, Table, Value};

use crate::error::AllocError;

/// A spec file opened for editing.
#[derive(Debug, Clone)]
pub struct SpecDoc {
    path: PathBuf,
    doc: DocumentMut,
    changed: bool,
}

/// A service to add (what `portolan alloc` writes).
#[derive(Debug, Clone)]
pub struct NewService<'a> {
    /// Service name.
    pub name: &'a str,
    /// Project.
    pub project: &'a str,
    /// Block.
    pub block: Option<&'a str>,
    /// Purpose (`--why`).
    pub purpose: Option<&'a str>,
    /// Host to run on.
    pub host: Option<&'a str>,
    /// `since` date (`YYYY-MM-DD`).
    pub since: Option<&'a str>,
    /// Lease end.
    pub lease_until: Option<Timestamp>,
    /// Name of the one binding.
    pub binding: &'a str,
    /// Its port(s).
    pub ports: PortRange,
    /// Its transport (written only when not tcp).
    pub transport: Transport,
}

/// A reservation to add.
#[derive(Debug, Clone)]
pub struct NewReservation<'a> {
    /// Ports.
    pub ports: &'a PortSet,
    /// Project.
    pub project: Option<&'a str>,
    /// Why.
    pub why: &'a str,
    /// Host.
    pub host: Option<&'a str>,
    /// Until (`YYYY-MM-DD`).
    pub until: Option<&'a str>,
}

/// A reservation changed by [`SpecDoc::release_reserved`] or [`SpecDoc::drop_expired_reservations`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReservationChange {
    /// Ports before.
    pub before: PortSet,
    /// Ports after (`None`: the entry was removed).
    pub after: Option<PortSet>,
    /// Its project.
    pub project: Option<String>,
    /// Its `why`.
    pub why: Option<String>,
}

fn ports_value(ports: &PortSet) -> Value {
    match ports.ranges() {
        [r] if r.lo == r.hi => Value::from(i64::from(r.lo)),
        _ => Value::from(ports.to_string()),
    }
}

fn range_value(r: PortRange) -> Value {
    if r.lo == r.hi {
        Value::from(i64::from(r.lo))
    } else {
        Value::from(r.to_string())
    }
}

fn datetime(text: &str) -> Option<Value> {
    text.parse::<toml_edit::Datetime>().ok().map(Value::from)
}

/// Reads a `ports` value (integer, string, or array of them) as a port set.
fn read_ports(v: &Value) -> Option<PortSet> {
    match v {
        Value::Integer(i) => u16::try_from(*i.value())
            .ok()
            .and_then(|p| PortRange::new(p, p).ok())
            .map(|r| PortSet::from_ranges([r])),
        Value::String(s) => s.value().parse().ok(),
        Value::Array(a) => {
            let mut ranges = Vec::new();
            for x in a {
                ranges.extend(read_ports(x)?.ranges().iter().copied());
            }
            Some(PortSet::from_ranges(ranges))
        }
        _ => None,
    }
}

fn read_string(t: &dyn toml_edit::TableLike, key: &str) -> Option<String> {
    t.get(key).and_then(Item::as_value).and_then(|v| match v {
        Value::String(s) => Some(s.value().clone()),
        Value::Datetime(d) => Some(d.value().to_string()),
        _ => None,
    })
}

/// The `[services.NAME]` table alloc writes.
fn service_table(s: &NewService<'_>) -> Result<Table, String> {
    let mut t = Table::new();
    t.decor_mut().set_prefix("\n");
    t.insert("project", toml_edit::value(s.project));
    if let Some(b) = s.block {
        t.insert("block", toml_edit::value(b));
    }
    if let Some(p) = s.purpose {
        t.insert("purpose", toml_edit::value(p));
    }
    if let Some(h) = s.host {
        let mut a = toml_edit::Array::new();
        a.push(h);
        t.insert("hosts", Item::Value(Value::Array(a)));
    }
    if let Some(d) = s.since.and_then(datetime) {
        t.insert("since", Item::Value(d));
    }
    if let Some(l) = s.lease_until {
        let v = datetime(&l.to_string()).ok_or("bad lease timestamp")?;
        t.insert("lease-until", Item::Value(v));
    }
    let mut binding = InlineTable::new();
    binding.insert("port", range_value(s.ports));
    // least exposure until someone says otherwise: lints clean on any host
    binding.insert("bind", Value::from("127.0.0.1"));
    binding.insert("exposure", Value::from("localhost"));
    if s.transport != Transport::Tcp {
        binding.insert("transport", Value::from(s.transport.as_str()));
    }
    let mut bindings = Table::new();
    bindings.set_dotted(true);
    bindings.insert(s.binding, Item::Value(Value::InlineTable(binding)));
    t.insert("bindings", Item::Table(bindings));
    Ok(t)
}

/// `[services.NAME]` as standalone TOML text, to append to a large file without parsing it
/// into an editable document (see `Transaction::append_service`).
pub fn service_fragment(s: &NewService<'_>) -> Result<String, String> {
    let mut services = Table::new();
    services.set_implicit(true);
    services.insert(s.name, Item::Table(service_table(s)?));
    let mut doc = DocumentMut::new();
    doc.as_table_mut().insert("services", Item::Table(services));
    Ok(doc.to_string())
}

impl SpecDoc {
    /// Parses `text` (the content of `path`).
    pub fn parse(path: &Path, text: &str) -> Result<Self, AllocError> {
        let doc: DocumentMut =
            text.parse()
                .map_err(|e: toml_edit::TomlError| AllocError::Edit {
                    path: path.to_path_buf(),
                    message: e.message().to_string(),
                })?;
        Ok(Self {
            path: path.to_path_buf(),
            doc,
            changed: false,
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether an edit changed it.
    pub fn changed(&self) -> bool {
        self.changed
    }

    /// The text.
    pub fn render(&self) -> String {
        self.doc.to_string()
    }

    fn err(&self, message: impl Into<String>) -> AllocError {
        AllocError::Edit {
            path: self.path.clone(),
            message: message.into(),
        }
    }

    /// The root table `key`, created (implicit, at the end) when absent.
    fn root_table(&mut self, key: &str) -> Result<&mut Table, AllocError> {
        let root = self.doc.as_table_mut();
        if !root.contains_key(key) {
            let mut t = Table::new();
            t.set_implicit(true);
            root.insert(key, Item::Table(t));
        }
        match root.get_mut(key) {
            Some(Item::Table(t)) => Ok(t),
            _ => Err(AllocError::Edit {
                path: self.path.clone(),
                message: format!(
                    "`{key}` is written as an inline table; write it as [{key}.NAME] tables to let portolan edit it"
                ),
            }),
        }
    }

    /// Whether a service of that name is defined in this file.
    pub fn has_service(&self, name: &str) -> bool {
        self.doc
            .get("services")
            .and_then(Item::as_table_like)
            .is_some_and(|t| t.contains_key(name))
    }

    /// Adds `[services.NAME]` after the last service.
    pub fn add_service(&mut self, s: &NewService<'_>) -> Result<(), AllocError> {
        if self.has_service(s.name) {
            return Err(AllocError::ServiceExists(s.name.to_string()));
        }
        let t = service_table(s).map_err(|m| self.err(m))?;
        self.root_table("services")?.insert(s.name, Item::Table(t));
        self.changed = true;
        Ok(())
    }

    /// Removes `[services.NAME]` with its sub-tables and the comments right above it.
    pub fn remove_service(&mut self, name: &str) -> bool {
        let removed = self
            .doc
            .get_mut("services")
            .and_then(Item::as_table_like_mut)
            .and_then(|t| t.remove(name))
            .is_some();
        self.changed |= removed;
        removed
    }

    /// Appends a `[[reservations]]` entry after the last one.
    pub fn add_reservation(&mut self, r: &NewReservation<'_>) -> Result<(), AllocError> {
        let mut t = Table::new();
        t.insert("ports", Item::Value(ports_value(r.ports)));
        if let Some(p) = r.project {
            t.insert("project", toml_edit::value(p));
        }
        t.insert("why", toml_edit::value(r.why));
        if let Some(h) = r.host {
            t.insert("host", toml_edit::value(h));
        }
        if let Some(u) = r.until.and_then(datetime) {
            t.insert("until", Item::Value(u));
        }
        let root = self.doc.as_table_mut();
        match root.get_mut("reservations") {
            None => {
                t.decor_mut().set_prefix("\n");
                let mut aot = ArrayOfTables::new();
                aot.push(t);
                root.insert("reservations", Item::ArrayOfTables(aot));
            }
            Some(Item::ArrayOfTables(aot)) => {
                t.decor_mut().set_prefix("\n");
                aot.push(t);
            }
            Some(Item::Value(Value::Array(a))) => {
                let mut it = t.into_inline_table();
                it.fmt();
                a.push(Value::InlineTable(it));
                a.fmt();
            }
            Some(_) => {
                return Err(
                    self.err("`reservations` is neither [[reservations]] tables nor an array")
                );
            }
        }
        self.changed = true;
        Ok(())
    }

    /// Applies `f` to each reservation (its ports, `until`, `project`, `why`); `f` returns the
    /// ports to keep (`None`: drop the entry). Returns what changed.
    fn edit_reservations(
        &mut self,
        mut f: impl FnMut(&PortSet, Option<&str>) -> Option<PortSet>,
    ) -> Vec<ReservationChange> {
        let mut changes = Vec::new();
        let mut visit = |t: &mut dyn toml_edit::TableLike| -> Option<bool> {
            let before = t
                .get("ports")
                .and_then(Item::as_value)
                .and_then(read_ports)?;
            let until = read_string(t, "until");
            let after = f(&before, until.as_deref());
            if after.as_ref() == Some(&before) {
                return Some(false);
            }
            let keep = after.as_ref().is_some_and(|a| !a.is_empty());
            changes.push(ReservationChange {
                before,
                after: after.clone().filter(|a| !a.is_empty()),
                project: read_string(t, "project"),
                why: read_string(t, "why"),
            });
            if keep && let (Some(a), Some(Item::Value(v))) = (after, t.get_mut("ports")) {
                let decor = v.decor().clone();
                *v = ports_value(&a);
                *v.decor_mut() = decor;
            }
            Some(!keep)
        };
        match self.doc.as_table_mut().get_mut("reservations") {
            Some(Item::ArrayOfTables(aot)) => {
                let mut drop = Vec::new();
                for (i, t) in aot.iter_mut().enumerate() {
                    if visit(t) == Some(true) {
                        drop.push(i);
                    }
                }
                for i in drop.into_iter().rev() {
                    aot.remove(i);
                }
            }
            Some(Item::Value(Value::Array(a))) => {
                let mut drop = Vec::new();
                for (i, v) in a.iter_mut().enumerate() {
                    if let Value::InlineTable(t) = v
                        && visit(t) == Some(true)
                    {
                        drop.push(i);
                    }
                }
                for i in drop.into_iter().rev() {
                    a.remove(i);
                }
            }
            _ => {}
        }
        if let Some(Item::ArrayOfTables(aot)) = self.doc.get("reservations")
            && aot.is_empty()
        {
            self.doc.as_table_mut().remove("reservations");
        }
        self.changed |= !changes.is_empty();
        changes
    }

    /// Takes `ports` out of every reservation that holds some of them; a reservation left
    /// empty is removed.
    pub fn release_reserved(&mut self, ports: &PortSet) -> Vec<ReservationChange> {
        self.edit_reservations(|held, _| {
            if held.intersection(ports).is_empty() {
                Some(held.clone())
            } else {
                Some(held.difference(ports))
            }
        })
    }

    /// Adds `[services.NAME]` from TOML text holding exactly that table (as drafted by
    /// discovery), after the last service.
    pub fn add_service_text(&mut self, name: &str, fragment: &str) -> Result<(), AllocError> {
        if self.has_service(name) {
            return Err(AllocError::ServiceExists(name.to_string()));
        }
        let doc: DocumentMut = fragment
            .parse()
            .map_err(|e: toml_edit::TomlError| self.err(e.message().to_string()))?;
        let mut t = doc
            .get("services")
            .and_then(Item::as_table)
            .and_then(|s| s.get(name))
            .and_then(Item::as_table)
            .cloned()
            .ok_or_else(|| self.err(format!("the fragment has no [services.{name}]")))?;
        t.decor_mut().set_prefix("\n");
        // after everything: a table without a position would print after its first sibling
        let last = max_position(self.doc.as_table());
        let mut next = last + 1;
        t.set_position(Some(next));
        for (_, item) in t.iter_mut() {
            if let Item::Table(sub) = item {
                next += 1;
                sub.set_position(Some(next));
            }
        }
        self.root_table("services")?.insert(name, Item::Table(t));
        self.changed = true;
        Ok(())
    }

    /// Adds `bindings.BINDING = { … }` (an inline table given as text) to an existing
    /// `[services.NAME]` of this file; an existing binding of that name is never replaced.
    pub fn add_binding_text(
        &mut self,
        service: &str,
        binding: &str,
        inline: &str,
    ) -> Result<(), AllocError> {
        let value: Value = inline
            .parse()
            .map_err(|e: toml_edit::TomlError| self.err(e.message().to_string()))?;
        let path = self.path.clone();
        let err = |m: String| AllocError::Edit {
            path: path.clone(),
            message: m,
        };
        let svc = self
            .doc
            .get_mut("services")
            .and_then(Item::as_table_like_mut)
            .and_then(|t| t.get_mut(service))
            .and_then(Item::as_table_like_mut)
            .ok_or_else(|| err(format!("no [services.{service}] table in this file")))?;
        if !svc.contains_key("bindings") {
            let mut b = Table::new();
            b.set_dotted(true);
            svc.insert("bindings", Item::Table(b));
        }
        let bindings = svc
            .get_mut("bindings")
            .and_then(Item::as_table_like_mut)
            .ok_or_else(|| err(format!("services.{service}.bindings is not a table")))?;
        if bindings.contains_key(binding) {
            return Err(err(format!(
                "services.{service}.bindings.{binding} already exists"
            )));
        }
        bindings.insert(binding, Item::Value(value));
        self.changed = true;
        Ok(())
    }

    /// Sets `services.NAME.bindings.BINDING.port` to `to`, keeping everything else as
    /// written (a container-side `target` stays: moving the host port does not change what
    /// the container listens on). Returns whether this file holds that binding.
    pub fn set_binding_port(
        &mut self,
        service: &str,
        binding: &str,
        to: u16,
    ) -> Result<bool, AllocError> {
        self.set_binding_number(service, binding, "port", to, false)
    }

    /// Sets `services.NAME.bindings.BINDING.target` (the container side) to `to`, adding
    /// the key when the binding has none. Returns whether this file holds that binding.
    pub fn set_binding_target(
        &mut self,
        service: &str,
        binding: &str,
        to: u16,
    ) -> Result<bool, AllocError> {
        self.set_binding_number(service, binding, "target", to, true)
    }

    fn set_binding_number(
        &mut self,
        service: &str,
        binding: &str,
        key: &str,
        to: u16,
        may_add: bool,
    ) -> Result<bool, AllocError> {
        let path = self.path.clone();
        let Some(item) = self
            .doc
            .get_mut("services")
            .and_then(Item::as_table_like_mut)
            .and_then(|t| t.get_mut(service))
            .and_then(Item::as_table_like_mut)
            .and_then(|t| t.get_mut("bindings"))
            .and_then(Item::as_table_like_mut)
            .and_then(|t| t.get_mut(binding))
        else {
            return Ok(false);
        };
        let mut v = Value::from(i64::from(to));
        if may_add
            && let Some(t) = item.as_inline_table_mut()
            && !t.contains_key(key)
        {
            // `{ a = 1, b = 2 }`: the space before `}` moves to the new last value
            let suffix = t.iter_mut().last().and_then(|(_, last)| {
                let s = last.decor().suffix().cloned();
                last.decor_mut().set_suffix("");
                s
            });
            v.decor_mut().set_prefix(" ");
            if let Some(s) = suffix {
                v.decor_mut().set_suffix(s);
            }
            t.insert(key, v);
            self.changed = true;
            return Ok(true);
        }
        let Some(b) = item.as_table_like_mut() else {
            return Ok(false);
        };
        match b.get_mut(key) {
            Some(item) => {
                if let Some(d) = item.as_value().map(|v| v.decor().clone()) {
                    *v.decor_mut() = d;
                }
                *item = Item::Value(v);
            }
            None if may_add => {
                b.insert(key, Item::Value(v));
            }
            None => {
                return Err(AllocError::Edit {
                    path,
                    message: format!("services.{service}.bindings.{binding} has no {key}"),
                });
            }
        }
        self.changed = true;
        Ok(true)
    }

    /// Removes reservations whose `until` date lies before `today` (`YYYY-MM-DD`).
    pub fn drop_expired_reservations(&mut self, today: &str) -> Vec<ReservationChange> {
        self.edit_reservations(|held, until| match until {
            Some(u) if u < today => None,
            _ => Some(held.clone()),
        })
    }
}

/// The largest document position of any table under `t` (0 when none has one).
fn max_position(t: &Table) -> isize {
    let mut max = t.position().unwrap_or(0);
    for (_, item) in t {
        match item {
            Item::Table(sub) => max = max.max(max_position(sub)),
            Item::ArrayOfTables(a) => {
                for sub in a {
                    max = max.max(max_position(sub));
                }
            }
            _ => {}
        }
    }
    max
}
