//! Tables that are not listeners: outbound dependencies (each row a `[[flows]]` entry from
//! the service that connects — a `Called by` column, a host named in the header, or the
//! section's hosts — to the row's destination and port), and lists of machines (`Host` +
//! `Address`, with a role), which become hosts with addresses.

use std::collections::BTreeMap;
use std::net::IpAddr;

use portolan_model::knowledge::scheme_port;
use portolan_model::port::PortRange;
use portolan_model::spec::Transport;

use super::Section;
use super::blocks::Table;
use super::cells::{self, Column};
use super::draft::{Draft, FlowDraft, FlowTarget};
use super::inventory;

fn cell<'a>(row: &'a [String], cols: &BTreeMap<Column, usize>, c: Column) -> Option<&'a str> {
    cols.get(&c).and_then(|&i| row.get(i)).map(String::as_str)
}

/// A destination in a cell: a URL (`https://api.x.com/v1` → host, scheme port; also
/// `jdbc:sqlserver://db:1433;…`), a host name with a dot, a name the document declares
/// (`known`), or an address.
fn destination(text: &str, known: &[String]) -> Option<(String, Option<u16>)> {
    let t = cells::clean(text);
    for word in t.split([' ', ',', '(', ')', '`']) {
        let w = word.trim().trim_end_matches(['.', ';']);
        let w = w.strip_prefix("jdbc:").unwrap_or(w);
        if w.is_empty() {
            continue;
        }
        if let Some((scheme, rest)) = w.split_once("://") {
            let scheme = scheme.rsplit(':').next().unwrap_or(scheme);
            let hostport = rest.split(['/', ';', '?']).next().unwrap_or("");
            let hostport = hostport.rsplit_once('@').map_or(hostport, |(_, h)| h);
            let (host, port) = match hostport.rsplit_once(':') {
                Some((h, p)) if crate::text::port_number(p).is_some() => {
                    (h, crate::text::port_number(p))
                }
                _ => (hostport, None),
            };
            if host.contains('.') || known.contains(&host.to_lowercase()) || host == "localhost" {
                return Some((host.to_lowercase(), port.or_else(|| scheme_port(scheme))));
            }
            continue;
        }
        let (host, port) = match w.rsplit_once(':') {
            Some((h, p)) if crate::text::port_number(p).is_some() && !h.contains(':') => {
                (h, crate::text::port_number(p))
            }
            _ => (w, None),
        };
        if host.parse::<IpAddr>().is_ok() {
            return Some((host.to_string(), port));
        }
        let labels: Vec<&str> = host.split('.').collect();
        if labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '*')
            })
            && labels
                .last()
                .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()))
        {
            return Some((host.to_lowercase(), port));
        }
    }
    None
}

/// Headers of a first column that names the application that connects.
const CALLER_HEADERS: &[&str] = &[
    "app",
    "application",
    "anwendung",
    "aplicación",
    "aplicacion",
    "client",
    "consumer",
    "приложение",
];

/// The services a `Called by` cell names (`payments-api, ledger-worker`); `all hosts` and
/// the like name none.
fn callers(draft: &mut Draft, text: &str) -> Vec<String> {
    let t = cells::clean(text);
    let l = t.to_lowercase();
    if ["all", "every", "alle", "todos", "tous", "все"]
        .iter()
        .any(|w| l.split_whitespace().next() == Some(*w))
    {
        return Vec::new();
    }
    let mut out = Vec::new();
    for piece in t.split([',', ';', '/']).flat_map(|p| p.split(" and ")) {
        let key = cells::slug(piece.trim());
        if key.is_empty() || key.len() > 40 {
            continue;
        }
        // an existing service whose key contains this name (`ledger-worker` →
        // `ledger-worker-health`), else a service that only connects
        let found = draft
            .services
            .keys()
            .find(|k| **k == key)
            .or_else(|| {
                draft
                    .services
                    .keys()
                    .find(|k| k.starts_with(&format!("{key}-")))
            })
            .cloned();
        let k = found.unwrap_or_else(|| {
            let s = draft.service(&key, piece.trim());
            s.purpose
                .get_or_insert_with(|| "connects out (named in an outbound table)".into());
            key.clone()
        });
        if !out.contains(&k) {
            out.push(k);
        }
    }
    out
}

/// Reads the rows of an outbound table as flows.
pub fn rows(draft: &mut Draft, t: &Table, cols: &BTreeMap<Column, usize>, section: &Section) {
    // `Outbound from daq-01`: the header names the connecting host
    let header_hosts: Vec<String> = t
        .header
        .iter()
        .flat_map(|h| draft.hosts_in(&cells::clean(h)))
        .collect();
    let from_hosts: Vec<String> = if header_hosts.is_empty() {
        section.hosts()
    } else {
        header_hosts
    };
    for (row, line) in &t.rows {
        let line = *line;
        let known: Vec<String> = draft
            .hosts
            .keys()
            .chain(draft.services.keys())
            .cloned()
            .collect();
        let dest = [
            Column::Destination,
            Column::Host,
            Column::Address,
            Column::Service,
            Column::Purpose,
        ]
        .iter()
        .filter_map(|c| cell(row, cols, *c))
        .chain(row.iter().map(String::as_str))
        .find_map(|c| destination(c, &known));
        let Some((host, url_port)) = dest else {
            draft.skip(line, "outbound row without a destination host or URL");
            continue;
        };
        let port_cell = cell(row, cols, Column::Port).unwrap_or("");
        let items = inventory::port_items(port_cell).unwrap_or_default();
        let ports: Vec<(PortRange, Option<Transport>)> = if items.is_empty() {
            url_port
                .map(|p| vec![(PortRange::single(p), None)])
                .unwrap_or_default()
        } else {
            items.iter().map(|i| (i.port, i.transport)).collect()
        };
        if ports.is_empty() {
            draft.skip(line, format!("outbound row to `{host}` without a port"));
            continue;
        }
        let proto = cell(row, cols, Column::Protocol).unwrap_or("");
        let transports = super::intent::transports(&format!("{proto} {port_cell}"));
        let transport = (transports == [Transport::Udp]).then_some(Transport::Udp);
        // `App | Connects to`: the first column is who connects, not a provider
        let caller_cell = cell(row, cols, Column::Caller).or_else(|| {
            let i = *cols.get(&Column::Service)?;
            let h = cells::clean(t.header.get(i)?).to_lowercase();
            CALLER_HEADERS
                .contains(&h.as_str())
                .then(|| row.get(i).map(String::as_str))?
        });
        let from = caller_cell.map(|c| callers(draft, c)).unwrap_or_default();
        let purpose = [Column::Purpose, Column::Service]
            .iter()
            .filter_map(|c| cell(row, cols, *c))
            .map(cells::clean)
            .find(|p| !cells::is_empty(p) && !p.contains(&host));
        let local = host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
        let target = if local {
            // the same machine: whatever the document declares on that port
            FlowTarget::Declared(String::new())
        } else if draft.hosts.contains_key(&host) || draft.services.contains_key(&host) {
            FlowTarget::Declared(host.clone())
        } else {
            FlowTarget::External(host.clone())
        };
        let sources: Vec<Option<String>> = if from.is_empty() {
            vec![None]
        } else {
            from.into_iter().map(Some).collect()
        };
        for src in sources {
            for (p, t) in &ports {
                draft.flow(FlowDraft {
                    from: src.clone(),
                    from_hosts: from_hosts.iter().cloned().collect(),
                    to: target.clone(),
                    port: *p,
                    transport: t.or(transport),
                    purpose: purpose.clone(),
                    line,
                });
            }
        }
    }
}

/// Reads a table of machines (`Host | Address | Role`).
pub fn hosts(draft: &mut Draft, t: &Table, cols: &BTreeMap<Column, usize>, section: &Section) {
    let env = section.environment();
    for (row, line) in &t.rows {
        let Some(name) = cell(row, cols, Column::Host) else {
            continue;
        };
        let addr_text = cell(row, cols, Column::Address)
            .or_else(|| cell(row, cols, Column::Bind))
            .unwrap_or("");
        let keys = inventory::host_cell(draft, &format!("{name} ({addr_text})"), *line);
        if keys.is_empty() {
            draft.skip(*line, "no host name");
            continue;
        }
        let role = cell(row, cols, Column::Purpose)
            .or_else(|| cell(row, cols, Column::Service))
            .map(cells::clean)
            .filter(|r| !cells::is_empty(r));
        for k in keys {
            let h = draft.host(&k, &k);
            if h.description.is_none() {
                h.description.clone_from(&role);
            }
            if h.env.is_none() {
                h.env.clone_from(&env);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations() {
        let d = |t: &str| destination(t, &["ww-db".to_string()]);
        assert_eq!(d("api.stripe.com"), Some(("api.stripe.com".into(), None)));
        assert_eq!(
            d("`https://api.adyen.com/checkout`"),
            Some(("api.adyen.com".into(), Some(443)))
        );
        assert_eq!(
            d("otlp.eu.example:4317"),
            Some(("otlp.eu.example".into(), Some(4317)))
        );
        assert_eq!(
            d("jdbc:sqlserver://ww-db:1433;databaseName=ww"),
            Some(("ww-db".into(), Some(1433)))
        );
        assert_eq!(d("DHL Versand-API"), None);
        assert_eq!(d("card charges"), None);
    }
}
