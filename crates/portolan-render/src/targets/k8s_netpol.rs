//! `gen k8s-netpol`: Kubernetes `networking.k8s.io/v1` `NetworkPolicy` objects, one
//! multi-document YAML stream.
//!
//! Mapping (documented choices):
//! - **Namespace** = the environment (`production`, `development`), as a DNS label. Each
//!   namespace starts with a `default-deny-ingress` policy (`podSelector: {}`, `Ingress`),
//!   so a pod no policy names accepts nothing.
//! - **One policy per service** with a binding in the namespace's environment, selecting its
//!   pods by `app.kubernetes.io/name: <service>`. Ports are the container side (`target`
//!   when declared, else the port), with `endPort` for ranges.
//! - **Ingress**, one rule per binding, from its declared exposure: `public` → `ipBlock`
//!   `0.0.0.0/0` and `::/0`; a named network or CIDR → an `ipBlock` per CIDR; `internal` →
//!   every pod of the cluster (`namespaceSelector: {}`) plus an `ipBlock` per CIDR of the
//!   environment's private networks; `host-internal` → the pods of the same namespace
//!   (`podSelector: {}`); `localhost` → nothing (the port is local to the pod). Inbound
//!   flows add their sources: another service → `podSelector` on its name; a network, CIDR
//!   or `public` → `ipBlock`s; a proxy route → `podSelector` on the listener's service
//!   (nginx must reach its upstreams). A binding with no source gets no rule (a comment says why);
//!   reserved bindings are skipped.
//! - **Egress** only for services with declared outbound flows (the spec rarely declares
//!   every outbound connection, so restricting the others would break them; ingress is the
//!   default-deny side). Such a policy lists `Egress` and allows: DNS to `kube-dns` in
//!   `kube-system` (names must resolve), each flow to another service (`podSelector`, its
//!   container ports), to a network/CIDR/`public` (`ipBlock`s, the flow's ports). A flow to
//!   a name pattern (`*.stripe.com:443`) cannot be expressed (`NetworkPolicy` matches
//!   addresses): it is widened to any address on its ports, with a warning.
//!
//! Services without a binding (workers, host OS clients) have no pods to select and no
//! policy of their own; they are listed in a comment. Warnings are YAML comments in the
//! output and repeated on stderr.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use portolan_model::net::private_space;
use portolan_model::{
    EnvId, ExposureTerm, FlowEnd, IpNet, IpSet, Model, PortRange, ServiceId, Status, Transport,
};

use crate::common;
use crate::{Generator, RenderContext, RenderError, Rendered};

/// The Kubernetes `NetworkPolicy` generator.
pub struct K8sNetpol;

/// A DNS-1123 label: lowercase alphanumerics and `-`, at most 63, alphanumeric at both ends.
fn dns_label(s: &str) -> String {
    let mut out: String = s
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    out.truncate(63);
    let out = out.trim_matches('-').to_string();
    if out.is_empty() { "x".into() } else { out }
}

/// One line of comment text.
fn comment(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A YAML double-quoted string (JSON escaping is valid YAML).
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// One entry of `from` / `to`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Peer {
    /// Pods of this service (same namespace).
    Pods(String),
    /// Every pod of the namespace.
    Namespace,
    /// Every pod of every namespace.
    Cluster,
    /// Addresses.
    Ip(IpNet),
}

fn ip_peers(set: &IpSet, into: &mut BTreeSet<Peer>) {
    into.extend(set.to_nets().into_iter().map(Peer::Ip));
}

fn write_peers(out: &mut String, key: &str, peers: &BTreeSet<Peer>) {
    let _ = writeln!(out, "    - {key}:");
    for p in peers {
        match p {
            Peer::Pods(s) => {
                let _ = writeln!(
                    out,
                    "        - podSelector:\n            matchLabels:\n              app.kubernetes.io/name: {}",
                    q(&dns_label(s))
                );
            }
            Peer::Namespace => out.push_str("        - podSelector: {}\n"),
            Peer::Cluster => out.push_str("        - namespaceSelector: {}\n"),
            Peer::Ip(n) => {
                let _ = writeln!(
                    out,
                    "        - ipBlock:\n            cidr: {}",
                    q(&n.to_string())
                );
            }
        }
    }
}

fn proto(t: Transport) -> &'static str {
    match t {
        Transport::Tcp => "TCP",
        Transport::Udp => "UDP",
    }
}

/// `ports:` entries; `None` ports = every port of the protocol.
fn write_ports(out: &mut String, ports: &BTreeSet<(Transport, Option<PortRange>)>) {
    if ports.is_empty() {
        return;
    }
    out.push_str("      ports:\n");
    for (t, p) in ports {
        let _ = writeln!(out, "        - protocol: {}", proto(*t));
        if let Some(p) = p {
            let _ = writeln!(out, "          port: {}", p.lo);
            if p.hi != p.lo {
                let _ = writeln!(out, "          endPort: {}", p.hi);
            }
        }
    }
}

/// One ingress rule (a binding) of a policy.
struct InRule {
    note: String,
    peers: BTreeSet<Peer>,
    ports: BTreeSet<(Transport, Option<PortRange>)>,
}

/// One egress rule (a flow) of a policy.
struct OutRule {
    note: String,
    peers: BTreeSet<Peer>,
    ports: BTreeSet<(Transport, Option<PortRange>)>,
}

fn flow_targets_binding(to: &FlowEnd, s: ServiceId, binding: &str) -> bool {
    match to {
        FlowEnd::Service(t) => *t == s,
        FlowEnd::Binding(t, b) => *t == s && b == binding,
        _ => false,
    }
}

/// The service a flow end names, if it names one.
fn end_service(e: &FlowEnd) -> Option<ServiceId> {
    match e {
        FlowEnd::Service(s) | FlowEnd::Binding(s, _) => Some(*s),
        _ => None,
    }
}

/// Flows and routes by service, built once (scanning every flow per binding is quadratic on
/// a large spec).
struct Index {
    /// Flow indices by destination service.
    flows_to: Vec<Vec<usize>>,
    /// Flow indices by source service.
    flows_from: Vec<Vec<usize>>,
    /// Route indices by the service of the upstream binding.
    routes_to: Vec<Vec<usize>>,
}

impl Index {
    fn of(m: &Model) -> Index {
        let n = m.services.len();
        let mut ix = Index {
            flows_to: vec![Vec::new(); n],
            flows_from: vec![Vec::new(); n],
            routes_to: vec![Vec::new(); n],
        };
        for (i, f) in m.flows.iter().enumerate() {
            if let Some(s) = end_service(&f.to) {
                ix.flows_to[s.index()].push(i);
            }
            if let Some(s) = end_service(&f.from) {
                ix.flows_from[s.index()].push(i);
            }
        }
        for (i, r) in m.routes.iter().enumerate() {
            ix.routes_to[m.binding(r.to).service.index()].push(i);
        }
        ix
    }
}

/// Container ports of service `t` (binding `only`, if given) in environment `env`, else in
/// any environment.
fn service_ports(
    m: &Model,
    t: ServiceId,
    only: Option<&str>,
    env: EnvId,
) -> BTreeSet<(Transport, Option<PortRange>)> {
    let pick = |same_env: bool| -> BTreeSet<(Transport, Option<PortRange>)> {
        m.bindings_of(t)
            .iter()
            .filter(|b| b.status != Status::Reserved)
            .filter(|b| only.is_none_or(|n| n == b.name))
            .filter(|b| !same_env || b.environment == env)
            .map(|b| (b.transport, Some(b.target.unwrap_or(b.ports))))
            .collect()
    };
    let here = pick(true);
    if here.is_empty() { pick(false) } else { here }
}

/// The generators this file defines (collected by `build.rs` into [`crate::generators`]).
pub(crate) const GENERATORS: &[&dyn Generator] = &[&K8sNetpol];

impl Generator for K8sNetpol {
    fn extension(&self) -> &'static str {
        "yaml"
    }

    fn name(&self) -> &'static str {
        "k8s-netpol"
    }

    fn description(&self) -> &'static str {
        "Kubernetes NetworkPolicy per service (namespace per environment, default deny ingress)"
    }

    fn render(&self, cx: &RenderContext<'_>) -> Result<Rendered, RenderError> {
        let m = cx.model;
        let hosts = cx.hosts();
        if hosts.is_empty() {
            return Err(RenderError::Unsupported {
                target: "k8s-netpol",
                message: "no host in scope (check --env and --host)".into(),
            });
        }
        let mut envs: Vec<EnvId> = hosts.iter().map(|h| m.host(*h).environment).collect();
        envs.sort_by(|a, b| m.environment(*a).name.cmp(&m.environment(*b).name));
        envs.dedup();
        let mut warnings = Vec::new();
        // ~460 bytes per binding on the benchmark spec: reserved once, not grown by doubling
        let mut docs = String::with_capacity(64 * 1024 + cx.bindings().count() * 512);
        let ix = Index::of(m);
        for env in envs {
            let e = m.environment(env);
            let ns = dns_label(&e.name);
            let internal = if e.internal.is_empty() {
                private_space().clone()
            } else {
                e.internal.clone()
            };
            // service → (binding key → rule)
            let mut services: BTreeMap<String, (ServiceId, BTreeMap<String, InRule>)> =
                BTreeMap::new();
            for (_, b) in cx.bindings().filter(|(_, b)| b.environment == env) {
                let sname = &m.service(b.service).name;
                let entry = services
                    .entry(sname.clone())
                    .or_insert_with(|| (b.service, BTreeMap::new()));
                let cport = b.target.unwrap_or(b.ports);
                let key = format!("{} {cport}/{}", b.name, b.transport.as_str());
                if b.status == Status::Reserved {
                    entry.1.entry(key).or_insert(InRule {
                        note: format!(
                            "{} {}/{}: status reserved (held, not running) — no rule",
                            b.qualified_name(m),
                            b.ports,
                            b.transport.as_str()
                        ),
                        peers: BTreeSet::new(),
                        ports: BTreeSet::new(),
                    });
                    continue;
                }
                let mut peers = BTreeSet::new();
                for t in &b.exposure {
                    match t {
                        ExposureTerm::Localhost => {}
                        ExposureTerm::HostInternal => {
                            peers.insert(Peer::Namespace);
                        }
                        ExposureTerm::Internal => {
                            peers.insert(Peer::Cluster);
                            ip_peers(&internal, &mut peers);
                        }
                        ExposureTerm::Public => ip_peers(&IpSet::everything(), &mut peers),
                        ExposureTerm::Network(n) => ip_peers(&m.network(*n).set, &mut peers),
                        ExposureTerm::Cidr(c) => {
                            peers.insert(Peer::Ip(*c));
                        }
                    }
                }
                let mut from_flows = Vec::new();
                for f in ix.flows_to[b.service.index()]
                    .iter()
                    .map(|&i| &m.flows[i])
                    .filter(|f| flow_targets_binding(&f.to, b.service, &b.name))
                {
                    from_flows.push(common::flow_end(m, &f.from));
                    match &f.from {
                        FlowEnd::Service(s) | FlowEnd::Binding(s, _) => {
                            peers.insert(Peer::Pods(m.service(*s).name.clone()));
                        }
                        FlowEnd::Network(n) => ip_peers(&m.network(*n).set, &mut peers),
                        FlowEnd::Cidr(c) => {
                            peers.insert(Peer::Ip(*c));
                        }
                        FlowEnd::Public => ip_peers(&IpSet::everything(), &mut peers),
                        FlowEnd::External { pattern, .. } => warnings.push(format!(
                            "flow from {pattern} to {}: a NetworkPolicy cannot match a source by name; not allowed",
                            b.qualified_name(m)
                        )),
                    }
                }
                for route in ix.routes_to[b.service.index()]
                    .iter()
                    .map(|&i| &m.routes[i])
                {
                    let up = m.binding(route.to);
                    if up.service == b.service && up.name == b.name {
                        let l = m.binding(route.from);
                        from_flows.push(format!("proxy route {}", l.qualified_name(m)));
                        peers.insert(Peer::Pods(m.service(l.service).name.clone()));
                    }
                }
                from_flows.sort();
                from_flows.dedup();
                let port_note = if b.target.is_some_and(|t| t != b.ports) {
                    format!("{} (container port {cport})", b.ports)
                } else {
                    b.ports.to_string()
                };
                let rule = entry.1.entry(key).or_insert_with(|| InRule {
                    note: format!(
                        "{} {port_note}/{} — declared: {}{}",
                        b.qualified_name(m),
                        b.transport.as_str(),
                        common::declared(m, b),
                        if from_flows.is_empty() {
                            String::new()
                        } else {
                            format!("; inbound: {}", from_flows.join(", "))
                        }
                    ),
                    peers: BTreeSet::new(),
                    ports: BTreeSet::new(),
                });
                rule.peers.extend(peers);
                rule.ports.insert((b.transport, Some(cport)));
            }
            let _ = writeln!(
                docs,
                "---\n# Namespace `{ns}` (environment `{}`): deny every inbound connection no policy below allows.\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: default-deny-ingress\n  namespace: {}\n  labels:\n    app.kubernetes.io/managed-by: portolan\nspec:\n  podSelector: {{}}\n  policyTypes:\n    - Ingress",
                e.name,
                q(&ns)
            );
            for (sname, (sid, rules)) in &services {
                let egress = Self::egress(cx, &ix, *sid, env, &mut warnings);
                let svc = m.service(*sid);
                let name = dns_label(sname);
                docs.push_str("---\n");
                if let Some(p) = &svc.purpose {
                    let _ = writeln!(docs, "# {sname}: {}", comment(p));
                }
                let _ = writeln!(
                    docs,
                    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {}\n  namespace: {}\n  labels:\n    app.kubernetes.io/managed-by: portolan",
                    q(&name),
                    q(&ns)
                );
                if let Some(p) = svc.project {
                    let _ = writeln!(
                        docs,
                        "    app.kubernetes.io/part-of: {}",
                        q(&dns_label(&m.project(p).name))
                    );
                }
                let _ = writeln!(
                    docs,
                    "spec:\n  podSelector:\n    matchLabels:\n      app.kubernetes.io/name: {}\n  policyTypes:\n    - Ingress",
                    q(&name)
                );
                if !egress.is_empty() {
                    docs.push_str("    - Egress\n");
                }
                let live: Vec<&InRule> = rules.values().filter(|r| !r.peers.is_empty()).collect();
                for r in rules.values().filter(|r| r.peers.is_empty()) {
                    if r.ports.is_empty() {
                        let _ = writeln!(docs, "  # {}", r.note);
                    } else {
                        let _ = writeln!(
                            docs,
                            "  # {}: no source beyond the pod itself, no rule",
                            r.note
                        );
                    }
                }
                if live.is_empty() {
                    docs.push_str("  ingress: []\n");
                } else {
                    docs.push_str("  ingress:\n");
                    for r in live {
                        let _ = writeln!(docs, "    # {}", r.note);
                        write_peers(&mut docs, "from", &r.peers);
                        write_ports(&mut docs, &r.ports);
                    }
                }
                if !egress.is_empty() {
                    docs.push_str("  egress:\n    # DNS: service names must resolve (kube-dns in kube-system)\n    - to:\n        - namespaceSelector:\n            matchLabels:\n              kubernetes.io/metadata.name: kube-system\n          podSelector:\n            matchLabels:\n              k8s-app: kube-dns\n      ports:\n        - protocol: UDP\n          port: 53\n        - protocol: TCP\n          port: 53\n");
                    for r in &egress {
                        let _ = writeln!(docs, "    # {}", r.note);
                        write_peers(&mut docs, "to", &r.peers);
                        write_ports(&mut docs, &r.ports);
                    }
                }
            }
        }
        // services without any binding in scope: no pods to select
        let mut portless: Vec<&str> = m
            .services
            .iter()
            .enumerate()
            .filter(|(i, _)| {
                m.bindings_of(ServiceId::from_index(*i)).is_empty() && !ix.flows_from[*i].is_empty()
            })
            .map(|(_, s)| s.name.as_str())
            .collect();
        portless.sort_unstable();
        warnings.sort();
        warnings.dedup();
        let mut out = common::header(cx, "#", "Kubernetes NetworkPolicies");
        out.push_str("# Apply: kubectl apply -f THIS_FILE. Namespaces are the spec's environments; pods are\n# selected by the label app.kubernetes.io/name=<service>. Inbound is denied unless a\n# binding's declared exposure or an inbound flow allows it; outbound is restricted only\n# for services with declared outbound flows.\n");
        if !portless.is_empty() {
            let _ = writeln!(
                out,
                "# Services without a binding have no policy of their own (their flows appear in the\n# policies of their destinations): {}.",
                portless.join(", ")
            );
        }
        out.push_str(&common::warnings_block("#", &warnings));
        // the header goes in front of the documents in place (no second 50 MB buffer)
        docs.insert_str(0, &out);
        Ok(Rendered {
            text: docs,
            warnings,
        })
    }
}

impl K8sNetpol {
    /// Egress rules of service `s` in environment `env` (empty: egress is not restricted).
    fn egress(
        cx: &RenderContext<'_>,
        ix: &Index,
        s: ServiceId,
        env: EnvId,
        warnings: &mut Vec<String>,
    ) -> Vec<OutRule> {
        let m = cx.model;
        let mut out = Vec::new();
        for f in ix.flows_from[s.index()].iter().map(|&i| &m.flows[i]) {
            let to = match (&f.to, f.to_ports) {
                (FlowEnd::External { .. }, _) | (_, None) => common::flow_end(m, &f.to),
                (_, Some(p)) => format!("{}:{p}", common::flow_end(m, &f.to)),
            };
            let flow = format!("flow {} → {to}", common::flow_end(m, &f.from));
            let mut peers = BTreeSet::new();
            let mut ports = BTreeSet::new();
            let mut note = flow.clone();
            match &f.to {
                FlowEnd::Service(t) | FlowEnd::Binding(t, _) => {
                    let only = match &f.to {
                        FlowEnd::Binding(_, n) => Some(n.as_str()),
                        _ => None,
                    };
                    peers.insert(Peer::Pods(m.service(*t).name.clone()));
                    ports = service_ports(m, *t, only, env);
                    if ports.is_empty() {
                        continue;
                    }
                }
                FlowEnd::Network(n) => {
                    ip_peers(&m.network(*n).set, &mut peers);
                    ports.insert((f.transport, f.to_ports));
                }
                FlowEnd::Cidr(c) => {
                    peers.insert(Peer::Ip(*c));
                    ports.insert((f.transport, f.to_ports));
                }
                FlowEnd::Public => {
                    ip_peers(&IpSet::everything(), &mut peers);
                    ports.insert((f.transport, f.to_ports));
                }
                FlowEnd::External { ports: p, .. } => {
                    ip_peers(&IpSet::everything(), &mut peers);
                    ports.insert((f.transport, *p));
                    let to = p.map_or_else(|| "every port".to_string(), |p| format!("port {p}"));
                    warnings.push(format!(
                        "{flow}/{} names a host pattern; a NetworkPolicy matches addresses, not names, so it is widened to any address on {to}",
                        f.transport.as_str()
                    ));
                    let _ = write!(note, " (a name pattern: widened to any address on {to})");
                }
            }
            out.push(OutRule { note, peers, ports });
        }
        out.sort_by(|a, b| a.note.cmp(&b.note));
        out
    }
}

#[cfg(test)]
mod tests {
    //! The output is parsed back with saphyr and its structure checked against the spec.

    use std::collections::BTreeSet;

    use portolan_model::{ExposureTerm, Status};
    use saphyr::{LoadableYamlNode, Yaml};

    use crate::testutil::{EXAMPLES, example, render, render_str};

    fn get<'a>(y: &'a Yaml<'a>, path: &[&str]) -> Option<&'a Yaml<'a>> {
        path.iter().try_fold(y, |y, k| y.as_mapping_get(k))
    }

    fn s<'a>(y: &'a Yaml<'a>, path: &[&str]) -> &'a str {
        get(y, path)
            .and_then(Yaml::as_str)
            .unwrap_or_else(|| panic!("{path:?} missing"))
    }

    fn seq<'a>(y: &'a Yaml<'a>, path: &[&str]) -> Vec<&'a Yaml<'a>> {
        get(y, path)
            .and_then(Yaml::as_vec)
            .map(|v| v.iter().collect())
            .unwrap_or_default()
    }

    /// (protocol, port) pairs of a rule list.
    fn ports(rules: &[&Yaml<'_>]) -> BTreeSet<(String, i64)> {
        rules
            .iter()
            .flat_map(|r| seq(r, &["ports"]))
            .map(|p| {
                (
                    s(p, &["protocol"]).to_string(),
                    get(p, &["port"]).and_then(Yaml::as_integer).expect("port"),
                )
            })
            .collect()
    }

    fn dns_ok(n: &str) -> bool {
        !n.is_empty()
            && n.len() <= 63
            && n.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !n.starts_with('-')
            && !n.ends_with('-')
    }

    #[test]
    fn examples_parse_back_and_match_the_bindings() {
        for ex in EXAMPLES {
            let m = example(ex);
            let out = render(&m, "k8s-netpol");
            let docs = Yaml::load_from_str(&out.text).expect("valid YAML");
            assert!(docs.len() > 1, "{ex}");
            let mut namespaces_seen = BTreeSet::new();
            for d in &docs {
                assert_eq!(s(d, &["apiVersion"]), "networking.k8s.io/v1", "{ex}");
                assert_eq!(s(d, &["kind"]), "NetworkPolicy", "{ex}");
                let ns = s(d, &["metadata", "namespace"]);
                let name = s(d, &["metadata", "name"]);
                assert!(dns_ok(ns) && dns_ok(name), "{ns}/{name}");
                let types: Vec<&str> = seq(d, &["spec", "policyTypes"])
                    .iter()
                    .filter_map(|t| t.as_str())
                    .collect();
                assert!(types.contains(&"Ingress"));
                if namespaces_seen.insert(ns.to_string()) {
                    // the namespace opens with its default deny
                    assert_eq!(name, "default-deny-ingress");
                    assert!(
                        get(d, &["spec", "podSelector"]).is_some_and(Yaml::is_empty_collection)
                    );
                    assert!(get(d, &["spec", "ingress"]).is_none());
                    continue;
                }
                assert_eq!(
                    s(
                        d,
                        &[
                            "spec",
                            "podSelector",
                            "matchLabels",
                            "app.kubernetes.io/name"
                        ]
                    ),
                    name
                );
                assert_eq!(
                    types.contains(&"Egress"),
                    get(d, &["spec", "egress"]).is_some()
                );
                // the ingress ports are exactly the container ports of the service's
                // bindings in this environment that someone beyond the pod may reach
                let env = m
                    .environments
                    .iter()
                    .position(|e| e.name == ns)
                    .expect("env");
                let sid = m.service_named(name).expect("service");
                let want: BTreeSet<(String, i64)> = m
                    .bindings_of(sid)
                    .iter()
                    .filter(|b| b.environment.index() == env && b.status != Status::Reserved)
                    .filter(|b| {
                        b.exposure.iter().any(|t| *t != ExposureTerm::Localhost)
                            || m.flows
                                .iter()
                                .any(|f| super::flow_targets_binding(&f.to, sid, &b.name))
                            || m.routes.iter().any(|r| {
                                let u = m.binding(r.to);
                                u.service == sid && u.name == b.name
                            })
                    })
                    .map(|b| {
                        (
                            super::proto(b.transport).to_string(),
                            i64::from(b.target.unwrap_or(b.ports).lo),
                        )
                    })
                    .collect();
                assert_eq!(
                    ports(&seq(d, &["spec", "ingress"])),
                    want,
                    "{ex} {ns}/{name}"
                );
            }
            let envs: BTreeSet<String> = m
                .hosts
                .iter()
                .map(|h| m.environment(h.environment).name.clone())
                .collect();
            assert_eq!(namespaces_seen, envs, "{ex}: a namespace per environment");
        }
    }

    #[test]
    fn mapping_of_exposures_flows_and_fqdn_egress() {
        let out = render_str(
            r#"
[networks]
lan = "192.168.1.0/24"
[hosts.h]
addresses = ["192.168.1.5"]
networks = ["public", "lan"]
[services.web]
hosts = ["h"]
bindings.https = { port = 8443, target = 443, exposure = "public", tls = "native" }
bindings.admin = { port = 9000, exposure = "lan" }
[services.db]
hosts = ["h"]
bindings.pg = { port = 5432, bind = "127.0.0.1", exposure = "localhost" }
[services.cache]
hosts = ["h"]
bindings.redis = { port = 6379, exposure = "internal" }
[[flows]]
from = "web"
to = "db.pg"
[[flows]]
from = "web"
to = "*.stripe.com:443"
"#,
            "k8s-netpol",
        );
        let docs = Yaml::load_from_str(&out.text).expect("yaml");
        let by_name = |n: &str| {
            docs.iter()
                .find(|d| s(d, &["metadata", "name"]) == n)
                .unwrap_or_else(|| panic!("{n} missing:\n{}", out.text))
        };
        let web = by_name("web");
        let ing = seq(web, &["spec", "ingress"]);
        assert_eq!(
            ports(&ing),
            BTreeSet::from([("TCP".to_string(), 443), ("TCP".to_string(), 9000)]),
            "container port of https"
        );
        let cidrs: BTreeSet<&str> = ing
            .iter()
            .flat_map(|r| seq(r, &["from"]))
            .filter_map(|p| get(p, &["ipBlock", "cidr"]).and_then(Yaml::as_str))
            .collect();
        assert_eq!(
            cidrs,
            BTreeSet::from(["0.0.0.0/0", "::/0", "192.168.1.0/24"])
        );
        // egress: DNS, db pods on 5432, and the name pattern widened to any address on 443
        let eg = seq(web, &["spec", "egress"]);
        assert_eq!(eg.len(), 3, "{}", out.text);
        assert!(ports(&eg).contains(&("TCP".to_string(), 5432)));
        assert!(
            out.warnings
                .iter()
                .any(|w| w.contains("*.stripe.com:443") && w.contains("widened"))
        );
        assert!(out.text.contains("# WARNING: flow web → *.stripe.com:443"));
        // db: localhost, but web has a flow to it
        let db = by_name("db");
        let from = seq(db, &["spec", "ingress"])
            .iter()
            .flat_map(|r| seq(r, &["from"]))
            .map(|p| s(p, &["podSelector", "matchLabels", "app.kubernetes.io/name"]).to_string())
            .collect::<Vec<_>>();
        assert_eq!(from, vec!["web"]);
        assert!(get(db, &["spec", "egress"]).is_none());
        // internal: every pod of the cluster plus the private networks
        let cache = by_name("cache");
        let peers = seq(cache, &["spec", "ingress"])[0];
        assert!(
            seq(peers, &["from"])
                .iter()
                .any(|p| get(p, &["namespaceSelector"]).is_some_and(Yaml::is_empty_collection))
        );
    }
}
