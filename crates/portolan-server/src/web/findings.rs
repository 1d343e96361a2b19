//! `GET /findings`: every stored finding (lint and drift), narrowed by the filter form —
//! severity, rule, host (of a drift finding's source, or named by the finding) and a
//! search box matching rule, message, subjects and source, case-insensitively. Filtering is
//! done here, not in the browser: the page works without JavaScript and under the strict CSP,
//! and a filtered view is a link.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::{RawQuery, State};
use axum::response::Html;
use minijinja::context;
use serde::Serialize;

use portolan_store::FindingRecord;

use super::login::Viewer;
use super::pages::query_param;
use super::render::{WebError, page};
use crate::AppState;

#[derive(Serialize)]
struct FindingRow {
    severity: String,
    rule: String,
    message: String,
    subjects: Vec<String>,
    hosts: Vec<String>,
    source: String,
    at: i64,
}

/// What the form asks for (empty fields ask for nothing).
#[derive(Default, Serialize)]
struct Filter {
    severity: Option<String>,
    rule: Option<String>,
    host: Option<String>,
    q: Option<String>,
}

impl Filter {
    fn from_query(raw: Option<&str>) -> Self {
        let get = |k| {
            query_param(raw, k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        Filter {
            severity: get("severity"),
            rule: get("rule"),
            host: get("host"),
            q: get("q"),
        }
    }

    fn is_empty(&self) -> bool {
        self.severity.is_none() && self.rule.is_none() && self.host.is_none() && self.q.is_none()
    }

    fn keeps(&self, row: &FindingRow) -> bool {
        let is = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        is(&self.severity, &row.severity)
            && is(&self.rule, &row.rule)
            && self
                .host
                .as_deref()
                .is_none_or(|h| row.hosts.iter().any(|x| x == h))
            && self.q.as_deref().is_none_or(|q| {
                let q = q.to_lowercase();
                [&row.rule, &row.message, &row.source]
                    .into_iter()
                    .chain(&row.subjects)
                    .any(|text| text.to_lowercase().contains(&q))
            })
    }
}

/// The strings of `doc[key]`, a string or an array of them.
fn strings(doc: &serde_json::Value, key: &str) -> Vec<String> {
    match doc.get(key) {
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

fn row(f: &FindingRecord) -> FindingRow {
    let mut hosts: BTreeSet<String> = strings(&f.doc, "hosts").into_iter().collect();
    hosts.extend(strings(&f.doc, "host"));
    if let Some(h) = f.source.strip_prefix("drift:") {
        hosts.insert(h.to_string());
    }
    FindingRow {
        severity: f.severity.clone(),
        rule: f.rule.clone(),
        message: f.message.clone(),
        subjects: strings(&f.doc, "subjects"),
        hosts: hosts.into_iter().collect(),
        source: f.source.clone(),
        at: f.at,
    }
}

fn severity_order(s: &str) -> (u8, &str) {
    match s {
        "error" => (0, s),
        "warning" => (1, s),
        "info" => (2, s),
        _ => (3, s),
    }
}

/// `GET /findings?severity=S&rule=R&host=H&q=TEXT`.
pub async fn findings_page(
    State(state): State<AppState>,
    viewer: Viewer,
    RawQuery(query): RawQuery,
) -> Result<Html<String>, WebError> {
    let filter = Filter::from_query(query.as_deref());
    let all: Vec<FindingRow> = state.store.findings().await?.iter().map(row).collect();
    let mut by_severity: BTreeMap<&str, usize> = BTreeMap::new();
    let mut rules = BTreeSet::new();
    let mut hosts = BTreeSet::new();
    for f in &all {
        *by_severity.entry(f.severity.as_str()).or_default() += 1;
        rules.insert(f.rule.as_str());
        hosts.extend(f.hosts.iter().map(String::as_str));
    }
    let mut severities: Vec<(&str, usize)> = by_severity.into_iter().collect();
    severities.sort_by_key(|(s, _)| severity_order(s));
    let total = all.len();
    let rows: Vec<&FindingRow> = all.iter().filter(|f| filter.keeps(f)).collect();
    let ctx = context! {
        ..viewer.context(),
        ..context! {
            findings => rows,
            total => total,
            filtered => !filter.is_empty(),
            filter => filter,
            rules => rules,
            hosts => hosts,
            severities => severities
                .iter()
                .map(|(name, count)| context! { name => name, count => count })
                .collect::<Vec<_>>(),
        }
    };
    page("findings.html", &ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(source: &str, rule: &str, message: &str, doc: serde_json::Value) -> FindingRow {
        row(&FindingRecord {
            source: source.into(),
            at: 0,
            rule: rule.into(),
            severity: "warning".into(),
            message: message.into(),
            doc,
        })
    }

    #[test]
    fn hosts_come_from_the_drift_source_and_the_finding() {
        let f = finding(
            "drift:app1",
            "r",
            "m",
            serde_json::json!({"hosts": ["app2"]}),
        );
        assert_eq!(f.hosts, ["app1", "app2"]);
        let f = finding("lint", "r", "m", serde_json::json!({"host": "db1"}));
        assert_eq!(f.hosts, ["db1"]);
    }

    #[test]
    fn the_search_matches_any_field_case_insensitively_and_filters_combine() {
        let f = finding(
            "drift:app1",
            "undeclared-listener",
            "`0.0.0.0:5000` (socat) listens",
            serde_json::json!({"subjects": ["Hub.HTTP"]}),
        );
        let with = |q: &str| Filter::from_query(Some(q)).keeps(&f);
        assert!(with(""));
        assert!(with("q=SOCAT"));
        assert!(with("q=hub.http"));
        assert!(with("q=drift%3Aapp"));
        assert!(!with("q=postgres"));
        assert!(with("rule=undeclared-listener&host=app1&severity=warning"));
        assert!(!with("rule=undeclared-listener&host=app2"));
        assert!(!with("severity=error&q=socat"));
        // empty fields (the form sends them) ask for nothing
        assert!(with("rule=&host=&severity=&q=+"));
    }
}
