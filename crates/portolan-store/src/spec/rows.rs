//! Spec ↔ rows, independent of the database engine.
//!
//! Import: the text is loaded with `portolan_model` (so it is validated exactly like the CLI
//! does); each top-level entity is stored twice over — its table as written (TOML → JSON,
//! dates as strings), from which the spec is exported losslessly, and the resolved facts
//! queries need (a project's range and blocks, a service's project/status/lease, every
//! binding instance with host, transport and ports).
//!
//! Export: the stored tables are assembled into one TOML document; sections without an
//! entity table of their own (`[spec]`, `[environments]`, `[[routes]]`, `[[flows]]`,
//! `[[expect]]`, `[lint]`) are kept whole. Reservations are rebuilt from their columns.

use portolan_model::{Model, PortSet};
use serde_json::Value as Json;
use toml::Value as Toml;

use crate::error::StoreError;

/// Top-level keys kept whole in `spec_sections`.
// `expect` was missing until issue 18: a pushed spec lost its expectations
pub(crate) const SECTIONS: [&str; 6] =
    ["spec", "environments", "routes", "flows", "expect", "lint"];

/// Name the spec text is loaded under (appears in error messages).
pub(crate) const SPEC_NAME: &str = "ports.toml";

/// A TOML value as JSON: dates and date-times become their RFC 3339 strings (the spec
/// accepts both forms).
pub(crate) fn to_json(v: &Toml) -> Json {
    match v {
        Toml::String(s) => Json::String(s.clone()),
        Toml::Integer(i) => Json::from(*i),
        Toml::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Toml::Boolean(b) => Json::Bool(*b),
        Toml::Datetime(d) => Json::String(d.to_string()),
        Toml::Array(a) => Json::Array(a.iter().map(to_json).collect()),
        Toml::Table(t) => Json::Object(t.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
    }
}

/// JSON back to TOML (`null` members are dropped: TOML has no null).
pub(crate) fn to_toml(v: &Json) -> Option<Toml> {
    Some(match v {
        Json::Null => return None,
        Json::Bool(b) => Toml::Boolean(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Toml::Integer(i),
            None => Toml::Float(n.as_f64()?),
        },
        Json::String(s) => Toml::String(s.clone()),
        Json::Array(a) => Toml::Array(a.iter().filter_map(to_toml).collect()),
        Json::Object(o) => Toml::Table(
            o.iter()
                .filter_map(|(k, v)| Some((k.clone(), to_toml(v)?)))
                .collect(),
        ),
    })
}

/// A network row.
pub(crate) struct NetworkRow {
    pub name: String,
    pub cidrs: String,
    pub doc: String,
}

/// A host row.
pub(crate) struct HostRow {
    pub name: String,
    pub environment: String,
    pub doc: String,
}

/// A project row with its blocks `(name, ports, purpose)`.
pub(crate) struct ProjectRow {
    pub name: String,
    pub range: Option<String>,
    pub doc: String,
    pub blocks: Vec<(String, String, Option<String>)>,
}

/// A service row.
pub(crate) struct ServiceRow {
    pub name: String,
    pub project: Option<String>,
    pub block: Option<String>,
    pub status: String,
    pub lease_until: Option<i64>,
    pub doc: String,
}

/// A binding instance row.
#[derive(Clone, sqlx::FromRow)]
pub(crate) struct BindingRow {
    pub service: String,
    pub name: String,
    pub host: String,
    pub environment: String,
    pub transport: String,
    #[sqlx(rename = "port_lo")]
    pub lo: i64,
    #[sqlx(rename = "port_hi")]
    pub hi: i64,
    pub bind: String,
    pub app: Option<String>,
    pub publisher: String,
    pub exposure: String,
    pub status: String,
}

/// A reservation row.
#[derive(sqlx::FromRow)]
pub(crate) struct ReservationRow {
    pub ports: String,
    pub project: Option<String>,
    pub host: Option<String>,
    pub why: String,
    #[sqlx(rename = "until_date")]
    pub until: Option<String>,
}

/// Everything an import writes.
pub(crate) struct SpecRows {
    pub sections: Vec<(String, String)>,
    pub networks: Vec<NetworkRow>,
    pub hosts: Vec<HostRow>,
    pub projects: Vec<ProjectRow>,
    pub services: Vec<ServiceRow>,
    pub bindings: Vec<BindingRow>,
    pub reservations: Vec<ReservationRow>,
}

fn json_text(v: &Toml) -> String {
    to_json(v).to_string()
}

fn corrupt(what: impl Into<String>) -> StoreError {
    StoreError::Corrupt(what.into())
}

/// Binding rows of one service of a model.
pub(crate) fn binding_rows(model: &Model, service: portolan_model::ServiceId) -> Vec<BindingRow> {
    let name = &model.service(service).name;
    model
        .bindings_of(service)
        .iter()
        .map(|b| BindingRow {
            service: name.clone(),
            name: b.name.clone(),
            host: model.host(b.host).name.clone(),
            environment: model.environment(b.environment).name.clone(),
            transport: b.transport.as_str().into(),
            lo: i64::from(b.ports.lo),
            hi: i64::from(b.ports.hi),
            bind: b.bind.to_string(),
            app: b.app.clone(),
            publisher: b.publisher.as_str().into(),
            exposure: b.exposure_label(model),
            status: b.status.as_str().into(),
        })
        .collect()
}

/// Validates `text` and turns it into rows. Errors: the spec does not load (typed, with
/// locations) — nothing is written then.
pub(crate) fn rows(text: &str) -> Result<(SpecRows, Model), StoreError> {
    let model =
        portolan_model::load_str(SPEC_NAME, text).map_err(|e| StoreError::Spec(Box::new(e)))?;
    let raw: toml::Table = toml::from_str(text).map_err(|e| corrupt(e.to_string()))?;
    let table = |key: &str| raw.get(key).and_then(Toml::as_table);

    let sections = SECTIONS
        .iter()
        .filter_map(|k| raw.get(*k).map(|v| ((*k).to_string(), json_text(v))))
        .collect();

    let mut networks = Vec::new();
    for (name, v) in table("networks").into_iter().flatten() {
        let id = model
            .network_named(name)
            .ok_or_else(|| corrupt(format!("network `{name}` not resolved")))?;
        let cidrs: Vec<String> = model
            .network(id)
            .cidrs
            .iter()
            .map(ToString::to_string)
            .collect();
        networks.push(NetworkRow {
            name: name.clone(),
            cidrs: cidrs.join(", "),
            doc: json_text(v),
        });
    }

    let mut hosts = Vec::new();
    for (name, v) in table("hosts").into_iter().flatten() {
        let id = model
            .host_named(name)
            .ok_or_else(|| corrupt(format!("host `{name}` not resolved")))?;
        let h = model.host(id);
        hosts.push(HostRow {
            name: name.clone(),
            environment: model.environment(h.environment).name.clone(),
            doc: json_text(v),
        });
    }

    let mut projects = Vec::new();
    for (name, v) in table("projects").into_iter().flatten() {
        let id = model
            .project_named(name)
            .ok_or_else(|| corrupt(format!("project `{name}` not resolved")))?;
        let p = model.project(id);
        projects.push(ProjectRow {
            name: name.clone(),
            range: p.range.as_ref().map(ToString::to_string),
            doc: json_text(v),
            blocks: p
                .blocks
                .iter()
                .map(|b| (b.name.clone(), b.ports.to_string(), b.purpose.clone()))
                .collect(),
        });
    }

    let mut services = Vec::new();
    let mut bindings = Vec::new();
    for (name, v) in table("services").into_iter().flatten() {
        let id = model
            .service_named(name)
            .ok_or_else(|| corrupt(format!("service `{name}` not resolved")))?;
        let s = model.service(id);
        let project = s.project.map(|p| model.project(p));
        services.push(ServiceRow {
            name: name.clone(),
            project: project.map(|p| p.name.clone()),
            block: project
                .zip(s.block)
                .and_then(|(p, b)| p.blocks.get(b))
                .map(|b| b.name.clone()),
            status: s.status.as_str().into(),
            lease_until: s.lease_until,
            doc: json_text(v),
        });
        bindings.extend(binding_rows(&model, id));
    }

    let reservations = model
        .reservations
        .iter()
        .map(|r| ReservationRow {
            ports: r.ports.to_string(),
            project: r.project.map(|p| model.project(p).name.clone()),
            host: r.host.map(|h| model.host(h).name.clone()),
            why: r.why.clone(),
            until: r.until.clone(),
        })
        .collect();

    let columns = projects
        .iter()
        .flat_map(|p| p.blocks.iter().filter_map(|b| b.2.as_deref()))
        .chain(reservations_text(&model))
        .chain(bindings.iter().filter_map(|b| b.app.as_deref()));
    for text in columns {
        no_nul("spec", text)?;
    }
    Ok((
        SpecRows {
            sections,
            networks,
            hosts,
            projects,
            services,
            bindings,
            reservations,
        },
        model,
    ))
}

fn reservations_text(model: &Model) -> impl Iterator<Item = &str> {
    model.reservations.iter().map(|r| r.why.as_str())
}

/// Refuses text with a NUL character: PostgreSQL's `text` cannot hold one, and both
/// backends must behave alike. (Spec tables are stored as JSON, where it is escaped.)
pub(crate) fn no_nul(field: &'static str, text: &str) -> Result<(), StoreError> {
    if text.contains('\0') {
        Err(StoreError::Invalid {
            field,
            message: "contains a NUL character".into(),
        })
    } else {
        Ok(())
    }
}

/// A reservation as a `[[reservations]]` table.
pub(crate) fn reservation_table(r: &ReservationRow) -> Result<Toml, StoreError> {
    let ports: PortSet = r
        .ports
        .parse()
        .map_err(|e| corrupt(format!("reservation ports `{}`: {e}", r.ports)))?;
    let mut t = toml::Table::new();
    t.insert(
        "ports".into(),
        match ports.ranges() {
            [one] if one.lo == one.hi => Toml::Integer(i64::from(one.lo)),
            [_] => Toml::String(ports.to_string()),
            many => Toml::Array(many.iter().map(|r| Toml::String(r.to_string())).collect()),
        },
    );
    if let Some(p) = &r.project {
        t.insert("project".into(), Toml::String(p.clone()));
    }
    t.insert("why".into(), Toml::String(r.why.clone()));
    if let Some(h) = &r.host {
        t.insert("host".into(), Toml::String(h.clone()));
    }
    if let Some(u) = &r.until {
        t.insert("until".into(), Toml::String(u.clone()));
    }
    Ok(Toml::Table(t))
}

/// Assembles a spec from stored documents. `named` holds `(top-level key, name, JSON doc)`
/// for networks, hosts, projects, services.
pub(crate) fn assemble(
    sections: &[(String, String)],
    named: &[(&str, String, String)],
    reservations: &[ReservationRow],
) -> Result<String, StoreError> {
    let parse = |what: &str, doc: &str| -> Result<Toml, StoreError> {
        let j: Json = serde_json::from_str(doc).map_err(|e| corrupt(format!("{what}: {e}")))?;
        to_toml(&j).ok_or_else(|| corrupt(format!("{what}: null document")))
    };
    let mut root = toml::Table::new();
    for (key, doc) in sections {
        root.insert(key.clone(), parse(key, doc)?);
    }
    for (kind, name, doc) in named {
        let entry = root
            .entry((*kind).to_string())
            .or_insert_with(|| Toml::Table(toml::Table::new()));
        if let Toml::Table(t) = entry {
            t.insert(name.clone(), parse(&format!("{kind} `{name}`"), doc)?);
        }
    }
    if !reservations.is_empty() {
        let list = reservations
            .iter()
            .map(reservation_table)
            .collect::<Result<Vec<_>, _>>()?;
        root.insert("reservations".into(), Toml::Array(list));
    }
    toml::to_string(&root).map_err(|e| corrupt(format!("cannot write TOML: {e}")))
}
