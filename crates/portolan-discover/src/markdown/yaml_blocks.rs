//! YAML blocks that are not compose files: Kubernetes manifests (through
//! [`crate::kubernetes`]: a NodePort/hostPort is a listener on the nodes, a Service port one
//! on the cluster's service network, a `containerPort` no Service publishes is not a host
//! listener, an Ingress is a route) and inventories — any tree that says where things
//! listen: `sites:` › `hosts:` › `web-1:` › `services:` › `- {name, port(s), proto, bind,
//! exposure}`, `egress:` lists (`- {to, port}`) as flows, and Ansible-style `*_port: N` keys
//! (`consul_http_port: 8500` → `consul`, binding `http`).

use std::net::IpAddr;

use portolan_model::port::PortRange;
use portolan_model::spec::{Publisher, Transport};

use super::Section;
use super::blocks::Code;
use super::cells;
use super::code::{body, parse_block};
use super::draft::{BindingDraft, Draft, FlowDraft, FlowTarget};
use super::mentions::{self, Listener, Mode};
use crate::evidence::{Context, Role};
use crate::text::LineIndex;
use crate::yaml::{self, Doc, Node};

/// Reads a Kubernetes manifest block; `true` if it said anything.
pub fn kubernetes(draft: &mut Draft, path: &str, code: &Code, section: &Section) -> bool {
    let found = parse_block(code, |t| {
        crate::kubernetes::parse(path, t, &Context::default())
    });
    draft.note_problems(&found.problems);
    let published: Vec<(String, u16)> = found
        .uses
        .iter()
        .filter(|u| u.role == Role::Publish)
        .filter_map(|u| Some((u.service.clone()?, u.target.map_or(u.port.lo, |t| t.lo))))
        .collect();
    let mut any = false;
    for u in &found.uses {
        let name = u.service.clone().unwrap_or_else(|| "workload".into());
        let line = u.at.line as usize;
        match u.role {
            Role::Publish => {
                any |= node_port(draft, section, &name, u.port, u.target, line);
            }
            Role::Expose if u.confidence == crate::Confidence::High => {
                if published.contains(&(name.clone(), u.port.lo)) {
                    continue;
                }
                // a Service port: on the cluster's service network
                let h = draft.host("cluster", "cluster");
                h.description = Some("the cluster's service network (ClusterIP services)".into());
                h.public = Some(false);
                h.synthetic = true;
                h.lines.insert(line);
                any |= mentions::add(
                    draft,
                    section,
                    &Listener {
                        name: name.clone(),
                        ports: vec![(
                            u.port,
                            (u.transport == Transport::Udp).then_some(Transport::Udp),
                        )],
                        hosts: vec!["cluster".into()],
                        line,
                        mode: Mode::Config,
                        ..Listener::default()
                    },
                );
            }
            Role::Listen => {
                draft.skip(
                    line,
                    format!(
                        "containerPort {} of `{name}`: inside the pod (a Service publishes it, or nothing outside reaches it)",
                        u.port
                    ),
                );
            }
            _ => {}
        }
    }
    any | draft.add_found_routes(&found.routes)
}

fn node_port(
    draft: &mut Draft,
    section: &Section,
    name: &str,
    port: PortRange,
    target: Option<PortRange>,
    line: usize,
) -> bool {
    let key = cells::slug(name);
    let existing = draft
        .bindings_on(port.lo, false)
        .into_iter()
        .find(|(s, _)| s == &key);
    if let Some((s, b)) = existing {
        if let Some(b) = draft
            .services
            .get_mut(&s)
            .and_then(|x| x.bindings.get_mut(&b))
        {
            b.lines.insert(line);
            b.publisher = Some(Publisher::K8sNodeport);
            b.target = b.target.or(target);
        }
        draft.counts.refined += 1;
        return true;
    }
    let app = super::table::app_for(target.map_or(port.lo, |t| t.lo), None, true);
    let bname = draft.binding_name(&key, app.as_deref(), Some(port));
    let hosts = section.hosts();
    let s = draft.service(&key, name);
    s.lines.insert(line);
    s.hosts.extend(hosts);
    draft.add_binding(
        &key,
        bname,
        BindingDraft {
            port: Some(port),
            target,
            publisher: Some(Publisher::K8sNodeport),
            app,
            lines: [line].into(),
            ..BindingDraft::default()
        },
    );
    true
}

/// Keys whose value lists things rather than naming one.
const CONTAINERS: &[&str] = &[
    "services",
    "service",
    "listeners",
    "ports",
    "items",
    "apps",
    "applications",
    "daemons",
    "programs",
    "processes",
    "components",
    "vars",
    "all",
    "children",
    "group_vars",
];

const HOST_CONTAINERS: &[&str] = &["hosts", "servers", "nodes", "machines", "vms", "instances"];

const SITE_CONTAINERS: &[&str] = &[
    "sites",
    "datacenters",
    "regions",
    "locations",
    "zones",
    "dcs",
];

const EGRESS: &[&str] = &[
    "egress",
    "outbound",
    "connects_to",
    "connects-to",
    "dependencies",
    "upstreams",
    "external",
    "flows",
    "calls",
];

struct Walk<'a, 'd> {
    doc: &'a Doc<'d>,
    ix: &'a LineIndex<'a>,
    /// Document lines before the block.
    before: usize,
    section: &'a Section,
    any: bool,
}

fn scalar(doc: &Doc<'_>, node: Option<&Node>) -> Option<String> {
    doc.scalar(node?)
}

impl Walk<'_, '_> {
    fn line(&self, node: &Node) -> usize {
        self.ix.location(self.doc.byte(node.span.start)).line as usize + self.before
    }

    /// The ports a `port:`/`ports:` value lists (`443`, `"3478/udp"`, `[a, b]`).
    fn ports(&self, node: &Node) -> Vec<(PortRange, Option<Transport>)> {
        let mut out = Vec::new();
        let mut one = |s: &str| {
            if let Some((v, _)) = mentions::port_list(s.trim()) {
                out.extend(v);
            }
        };
        let items = yaml::items(node);
        if items.is_empty() {
            if let Some(s) = self.doc.scalar(node) {
                one(&s);
            }
        } else {
            for i in items {
                if let Some(s) = self.doc.scalar(i) {
                    one(&s);
                }
            }
        }
        out
    }

    fn walk(&mut self, draft: &mut Draft, node: &Node, parent: &str, host: Option<&str>) {
        if yaml::is_mapping(node) {
            self.mapping(draft, node, parent, host);
        } else {
            for item in yaml::items(node) {
                self.walk(draft, item, parent, host);
            }
        }
    }

    #[allow(clippy::too_many_lines)]
    fn mapping(&mut self, draft: &mut Draft, node: &Node, parent: &str, host: Option<&str>) {
        let get = |k: &str| yaml::get(node, k);
        let port_node = get("port")
            .or_else(|| get("ports"))
            .or_else(|| get("listen_port"));
        let parent_l = parent.to_lowercase();
        // an outbound entry: `- {to: api.example.com, port: 443}`
        if EGRESS.contains(&parent_l.as_str()) {
            let to = scalar(
                self.doc,
                get("to")
                    .or_else(|| get("host"))
                    .or_else(|| get("destination"))
                    .or_else(|| get("endpoint")),
            );
            if let (Some(to), Some(pn)) = (to, port_node) {
                for (p, t) in self.ports(pn) {
                    let line = self.line(pn);
                    let target =
                        if draft.hosts.contains_key(&to) || draft.services.contains_key(&to) {
                            FlowTarget::Declared(to.clone())
                        } else {
                            FlowTarget::External(to.to_lowercase())
                        };
                    draft.flow(FlowDraft {
                        from: None,
                        from_hosts: host.map(str::to_string).into_iter().collect(),
                        to: target,
                        port: p,
                        transport: t,
                        purpose: scalar(
                            self.doc,
                            get("why")
                                .or_else(|| get("purpose"))
                                .or_else(|| get("description")),
                        ),
                        line,
                    });
                    self.any = true;
                }
            }
            return;
        }
        if let Some(pn) = port_node {
            let ports = self.ports(pn);
            if !ports.is_empty() {
                let name = scalar(
                    self.doc,
                    get("name")
                        .or_else(|| get("service"))
                        .or_else(|| get("app")),
                )
                .or_else(|| {
                    (!CONTAINERS.contains(&parent_l.as_str()) && !parent.is_empty())
                        .then(|| parent.to_string())
                });
                if let Some(name) = name {
                    let bind = scalar(
                        self.doc,
                        get("bind")
                            .or_else(|| get("address"))
                            .or_else(|| get("listen_address")),
                    )
                    .and_then(|b| b.trim_matches(['[', ']']).parse::<IpAddr>().ok());
                    let proto = scalar(
                        self.doc,
                        get("proto")
                            .or_else(|| get("protocol"))
                            .or_else(|| get("transport")),
                    )
                    .unwrap_or_default();
                    let audience = scalar(
                        self.doc,
                        get("exposure")
                            .or_else(|| get("access"))
                            .or_else(|| get("reachable_from"))
                            .or_else(|| get("audience")),
                    )
                    .unwrap_or_default();
                    let line = self.line(pn);
                    self.any |= mentions::add(
                        draft,
                        self.section,
                        &Listener {
                            name,
                            ports,
                            transports: super::intent::transports(&proto),
                            bind,
                            audience,
                            hosts: host.map(str::to_string).into_iter().collect(),
                            line,
                            mode: Mode::Config,
                            ..Listener::default()
                        },
                    );
                    return;
                }
            }
        }
        for (k, v) in yaml::entries(node) {
            let kl = k.to_lowercase();
            if HOST_CONTAINERS.contains(&parent_l.as_str()) && yaml::is_mapping(v) {
                // a machine
                let key = cells::slug(k);
                let line = self.line(v);
                let addr = scalar(
                    self.doc,
                    yaml::get(v, "address")
                        .or_else(|| yaml::get(v, "ansible_host"))
                        .or_else(|| yaml::get(v, "ip")),
                );
                let h = draft.host(&key, k);
                h.lines.insert(line);
                if let Some(a) = addr.filter(|a| a.parse::<IpAddr>().is_ok()) {
                    h.addresses.insert(a);
                }
                self.any = true;
                self.walk(draft, v, k, Some(&key));
                continue;
            }
            if SITE_CONTAINERS.contains(&parent_l.as_str()) && yaml::is_mapping(v) {
                if let Some(net) = scalar(
                    self.doc,
                    yaml::get(v, "network")
                        .or_else(|| yaml::get(v, "cidr"))
                        .or_else(|| yaml::get(v, "subnet")),
                ) {
                    if let Some(c) = super::emit::cidr(&net) {
                        let line = self.line(v);
                        draft.networks.entry(cells::slug(k)).or_insert((c, line));
                    }
                }
                self.walk(draft, v, k, host);
                continue;
            }
            // `consul_http_port: 8500`
            if let (Some(stem), Some(val)) = (kl.strip_suffix("_port"), self.doc.scalar(v)) {
                if let Some(p) = crate::text::port_number(&val) {
                    let (service, binding) = port_key(stem);
                    let line = self.line(v);
                    self.any |= mentions::add(
                        draft,
                        self.section,
                        &Listener {
                            name: service,
                            purpose: binding,
                            ports: vec![(PortRange::single(p), None)],
                            hosts: host.map(str::to_string).into_iter().collect(),
                            line,
                            mode: Mode::Merge,
                            ..Listener::default()
                        },
                    );
                }
                continue;
            }
            if !yaml::is_mapping(v) && yaml::items(v).is_empty() {
                continue;
            }
            self.walk(draft, v, k, host);
        }
    }
}

/// `consul_http_port` → (`consul`, `http`); `node_exporter_port` → (`node_exporter`, —);
/// `ansible_port` → (`ssh`, `ansible_port`).
fn port_key(stem: &str) -> (String, Option<String>) {
    if stem == "ansible" || stem == "ansible_ssh" {
        return ("ssh".into(), Some("ansible_port".into()));
    }
    let words: Vec<&str> = stem.split(['_', '-']).filter(|w| !w.is_empty()).collect();
    match words.as_slice() {
        [] => (stem.to_string(), None),
        [one] => ((*one).to_string(), None),
        [a, "exporter", rest @ ..] => (
            format!("{a}_exporter"),
            (!rest.is_empty()).then(|| rest.join("-")),
        ),
        [a, rest @ ..] => ((*a).to_string(), Some(rest.join("-"))),
    }
}

/// Reads a YAML inventory block; `true` if it said where anything listens or connects.
pub fn inventory(draft: &mut Draft, path: &str, code: &Code, section: &Section) -> bool {
    let (text, before) = body(code);
    let ix = LineIndex::new(path, &text);
    let mut any = false;
    for doc in yaml::documents(&ix, &text) {
        match doc {
            Ok(doc) => {
                let mut w = Walk {
                    doc: &doc,
                    ix: &ix,
                    before,
                    section,
                    any: false,
                };
                w.walk(draft, &doc.root, "", None);
                any |= w.any;
            }
            // a YAML fragment quoted for another purpose (a Prometheus job, a snippet):
            // listed, not a note in the spec
            Err(p) => draft.skip(p.at.line as usize + before, p.reason),
        }
    }
    any
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ansible_port_keys() {
        assert_eq!(
            port_key("consul_http"),
            ("consul".into(), Some("http".into()))
        );
        assert_eq!(port_key("node_exporter"), ("node_exporter".into(), None));
        assert_eq!(
            port_key("consul_serf_lan"),
            ("consul".into(), Some("serf-lan".into()))
        );
        assert_eq!(
            port_key("ansible"),
            ("ssh".into(), Some("ansible_port".into()))
        );
    }
}
