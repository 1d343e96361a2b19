//! Grouping for human output: a binding on five hosts with the same mistake is one finding
//! that names the five hosts, not five identical blocks pointing at the same line. JSON and
//! SARIF keep one finding per host (machines want one result per subject); only the human
//! report groups.
//!
//! Two findings group when they say the same thing about different hosts: same rule,
//! severity, locations, labels and help, and message and notes equal once the host name is
//! masked — every backticked word that names a host must name the same one (a message that
//! names two different hosts is about a pair and never groups).

use std::collections::{HashMap, HashSet};

use crate::finding::{Finding, Label};

/// At most this many hosts are named in a grouped message; the rest are counted.
const NAMED_HOSTS: usize = 12;

/// A finding with its host masked, and that host.
struct Masked {
    /// Message and notes with the host's backticked name replaced by a marker.
    texts: Vec<String>,
    /// The host the finding is about.
    host: String,
}

/// The marker that stands for the host in a masked text (never in a spec name: NUL).
const MARK: &str = "`\u{0}`";

/// Masks `host_names` in `text`: `Some((masked, host))` when the backticked words that name
/// hosts all name the same one, `None` when none or several do.
fn mask_text(text: &str, hosts: &HashSet<&str>) -> Option<(String, Option<String>)> {
    let mut host: Option<&str> = None;
    let mut out = String::with_capacity(text.len());
    for (i, part) in text.split('`').enumerate() {
        if i > 0 {
            out.push('`');
        }
        if i % 2 == 1 && hosts.contains(part) {
            match host {
                Some(h) if h != part => return None,
                _ => host = Some(part),
            }
            out.push('\u{0}');
        } else {
            out.push_str(part);
        }
    }
    Some((out, host.map(str::to_string)))
}

fn mask(f: &Finding, hosts: &HashSet<&str>) -> Option<Masked> {
    let mut host: Option<String> = None;
    let mut texts = Vec::with_capacity(1 + f.notes.len());
    for t in std::iter::once(&f.message).chain(&f.notes) {
        let (masked, h) = mask_text(t, hosts)?;
        match (&host, h) {
            (Some(a), Some(b)) if *a != b => return None,
            (None, Some(b)) => host = Some(b),
            _ => {}
        }
        texts.push(masked);
    }
    // the message itself must name the host, or the reader could not tell them apart
    if !texts[0].contains(MARK) {
        return None;
    }
    Some(Masked { texts, host: host? })
}

/// What must be equal, besides the masked texts.
#[derive(PartialEq, Eq, Hash)]
struct Key {
    rule: crate::Rule,
    severity: crate::Severity,
    labels: Vec<(portolan_model::Loc, Option<String>)>,
    help: Option<String>,
    texts: Vec<String>,
}

fn key(f: &Finding, texts: Vec<String>) -> Key {
    Key {
        rule: f.rule,
        severity: f.severity,
        labels: f
            .labels
            .iter()
            .map(|Label { loc, message }| (*loc, message.clone()))
            .collect(),
        help: f.help.clone(),
        texts,
    }
}

/// `web1`, `web2` and `web3` (or `web1`, …, and 40 more hosts).
fn host_list(hosts: &[String]) -> String {
    let named: Vec<String> = hosts
        .iter()
        .take(NAMED_HOSTS)
        .map(|h| format!("`{h}`"))
        .collect();
    let rest = hosts.len().saturating_sub(NAMED_HOSTS);
    match (named.split_last(), rest) {
        (None, _) => String::new(),
        (Some((last, [])), 0) => last.clone(),
        (Some((last, init)), 0) => format!("{} and {last}", init.join(", ")),
        (Some(_), n) => format!("{} and {n} more", named.join(", ")),
    }
}

/// Puts the host list where the host was: `host `a`` becomes `hosts `a`, `b` and `c``.
fn unmask(text: &str, hosts: &[String]) -> String {
    let list = host_list(hosts);
    text.replace(&format!("host {MARK}"), &format!("hosts {list}"))
        .replace(MARK, &list)
}

/// The findings for human output: those that differ only by host merged into one that
/// lists the hosts, at the place of the first; everything else as it was.
pub fn by_host(findings: &[Finding], host_names: &HashSet<&str>) -> Vec<Finding> {
    // group index → (first finding's index, masked texts of the first, hosts)
    let mut groups: HashMap<Key, usize> = HashMap::new();
    let mut members: Vec<(usize, Vec<String>, Vec<String>)> = Vec::new();
    let mut order: Vec<Result<usize, usize>> = Vec::with_capacity(findings.len());
    for (i, f) in findings.iter().enumerate() {
        let Some(m) = mask(f, host_names) else {
            order.push(Err(i));
            continue;
        };
        let texts = m.texts.clone();
        match groups.entry(key(f, m.texts)) {
            std::collections::hash_map::Entry::Occupied(e) => {
                let g = &mut members[*e.get()];
                if !g.2.contains(&m.host) {
                    g.2.push(m.host);
                }
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(members.len());
                order.push(Ok(members.len()));
                members.push((i, texts, vec![m.host]));
            }
        }
    }
    order
        .into_iter()
        .map(|slot| match slot {
            Err(i) => findings[i].clone(),
            Ok(g) => {
                let (first, texts, hosts) = &members[g];
                let mut f = findings[*first].clone();
                if hosts.len() > 1 {
                    f.message = unmask(&texts[0], hosts);
                    f.notes = texts[1..].iter().map(|t| unmask(t, hosts)).collect();
                }
                f
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rule;
    use portolan_model::{FileId, Loc};

    fn finding(host: &str, line_start: u32) -> Finding {
        Finding::new(
            Rule::InternalExposed,
            format!("`ssh.ssh` on host `{host}` is reachable from public"),
        )
        .subject("ssh.ssh")
        .at(
            Loc::new(FileId(0), &(line_start as usize..line_start as usize + 4)),
            "declared `internal`",
        )
        .note(format!(
            "bound to 0.0.0.0 on host `{host}`, which is on: public"
        ))
    }

    fn hosts() -> HashSet<&'static str> {
        ["web1", "web2", "web3", "db"].into_iter().collect()
    }

    #[test]
    fn the_same_finding_on_three_hosts_is_one() {
        let f = [
            finding("web1", 10),
            finding("web2", 10),
            finding("web3", 10),
        ];
        let g = by_host(&f, &hosts());
        assert_eq!(g.len(), 1);
        assert_eq!(
            g[0].message,
            "`ssh.ssh` on hosts `web1`, `web2` and `web3` is reachable from public"
        );
        assert_eq!(
            g[0].notes,
            ["bound to 0.0.0.0 on hosts `web1`, `web2` and `web3`, which is on: public"]
        );
    }

    #[test]
    fn different_places_or_pairs_of_hosts_do_not_group() {
        let f = [finding("web1", 10), finding("web2", 20)];
        assert_eq!(by_host(&f, &hosts()).len(), 2);
        let pair = |a: &str, b: &str| {
            Finding::new(
                Rule::DuplicateBinding,
                format!("`x` on host `{a}` clashes with host `{b}`"),
            )
        };
        let f = [pair("web1", "web2"), pair("web2", "web3")];
        assert_eq!(by_host(&f, &hosts()).len(), 2);
        // no host in the message: nothing tells them apart, nothing groups
        let plain = Finding::new(Rule::PrivilegedPort, "`ssh.ssh` binds port 22");
        assert_eq!(by_host(&[plain.clone(), plain], &hosts()).len(), 2);
    }

    #[test]
    fn order_is_kept_and_long_lists_are_counted() {
        let names: Vec<String> = (0..20).map(|i| format!("h{i:02}")).collect();
        let set: HashSet<&str> = names.iter().map(String::as_str).collect();
        let other = Finding::new(Rule::PrivilegedPort, "first");
        let mut f = vec![other];
        f.extend(names.iter().map(|h| finding(h, 10)));
        let g = by_host(&f, &set);
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].message, "first");
        assert!(
            g[1].message.contains("`h11` and 8 more"),
            "{}",
            g[1].message
        );
    }
}
