//! `GET /findings`: every stored finding (lint and drift), narrowed by the filter form —
//! severity, rule, host (of a drift finding's source, or named by the finding) and a
//! search box matching rule, message, subjects and source, case-insensitively. Filtering is
//! done here, not in the browser: the page works without JavaScript and under the strict CSP,
//! and a filtered view is a link.

use std::collections::BTreeSet;

use axum::extract::{RawQuery, State};
use axum::response::Html;
use minijinja::context;
use serde::Serialize;

use portolan_store::FindingRecord;

use super::login::Viewer;
use super::pages::{FINDINGS_PAGE, query_param};
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
    let rank = match s {
        "error" => 0,
        "warning" => 1,
        "info" => 2,
        _ => 3,
    };
    (rank, s)
}

/// `GET /findings?severity=S&rule=R&host=H&q=TEXT&cursor=C`. Unfiltered or by severity
/// only, the store pages it ([`FINDINGS_PAGE`] a page); a rule, host or search narrows
/// every stored finding here and shows the first [`FINDINGS_PAGE`] that match.
pub async fn findings_page(
    State(state): State<AppState>,
    viewer: Viewer,
    RawQuery(query): RawQuery,
) -> Result<Html<String>, WebError> {
    let filter = Filter::from_query(query.as_deref());
    let cursor = query_param(query.as_deref(), "cursor").filter(|s| !s.is_empty());
    let mut severities: Vec<(String, u64)> = state.store.finding_counts().await?;
    severities.sort_by(|(a, _), (b, _)| severity_order(a).cmp(&severity_order(b)));
    let total: u64 = severities.iter().map(|(_, n)| n).sum();
    let paged = filter.rule.is_none() && filter.host.is_none() && filter.q.is_none();
    let (rows, next, matching) = if paged {
        let found = match state
            .store
            .findings_page(filter.severity.as_deref(), cursor.as_deref(), FINDINGS_PAGE)
            .await
        {
            Err(portolan_store::StoreError::Invalid { .. }) => {
                return Err(WebError::NotFound(
                    "There is no such page of findings.".into(),
                ));
            }
            other => other?,
        };
        let matching = filter.severity.as_ref().map_or(total, |s| {
            severities
                .iter()
                .find(|(name, _)| name == s)
                .map_or(0, |(_, n)| *n)
        });
        let rows: Vec<FindingRow> = found.items.iter().map(row).collect();
        (rows, found.next, matching)
    } else {
        let rows: Vec<FindingRow> = state
            .store
            .findings()
            .await?
            .iter()
            .map(row)
            .filter(|f| filter.keeps(f))
            .collect();
        let matching = rows.len() as u64;
        (
            rows.into_iter().take(FINDINGS_PAGE as usize).collect(),
            None,
            matching,
        )
    };
    // the choices: the rules and hosts of what is shown, the spec's hosts, and what is asked
    let mut rules: BTreeSet<String> = rows.iter().map(|f| f.rule.clone()).collect();
    rules.extend(filter.rule.clone());
    let mut hosts: BTreeSet<String> = rows.iter().flat_map(|f| f.hosts.clone()).collect();
    hosts.extend(state.store.hosts().await?.into_iter().map(|h| h.name));
    hosts.extend(filter.host.clone());
    let ctx = context! {
        ..viewer.context(),
        ..context! {
            findings => rows,
            total => total,
            matching => matching,
            filtered => !filter.is_empty(),
            severity => filter.severity.clone(),
            filter => filter,
            cursor => cursor,
            next => next,
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
