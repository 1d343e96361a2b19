//! `gen mermaid`: the topology as a Mermaid flowchart — environments and hosts as
//! subgraphs, each service on a host as a node listing its ports, networks as nodes linked to
//! the hosts on them, proxy routes as thick arrows, flows as dashed arrows (outbound ones to
//! external nodes).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use portolan_model::FlowEnd;

use crate::common;
use crate::{Generator, RenderContext, RenderError, Rendered};

/// The Mermaid generator.
pub struct Mermaid;

fn label(s: &str) -> String {
    s.replace('"', "#quot;")
}

fn svc_node(svc: usize, host: usize) -> String {
    format!("s{svc}_h{host}")
}

/// The generators this file defines (collected by `build.rs` into [`crate::generators`]).
pub(crate) const GENERATORS: &[&dyn Generator] = &[&Mermaid];

impl Generator for Mermaid {
    fn extension(&self) -> &'static str {
        "mmd"
    }

    fn name(&self) -> &'static str {
        "mermaid"
    }

    fn description(&self) -> &'static str {
        "a Mermaid flowchart of networks, hosts, services, routes and flows"
    }

    fn render(&self, cx: &RenderContext<'_>) -> Result<Rendered, RenderError> {
        let m = cx.model;
        let hosts = cx.hosts();
        // (host, service) → port labels, and service → the hosts it is placed on
        let mut nodes: BTreeMap<(usize, usize), Vec<String>> = BTreeMap::new();
        let mut placed_on: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
        for (_, b) in cx.bindings() {
            placed_on
                .entry(b.service.index())
                .or_default()
                .insert(b.host.index());
            nodes
                .entry((b.host.index(), b.service.index()))
                .or_default()
                .push(format!("{} :{}/{}", b.name, b.ports, b.transport.as_str()));
        }
        let mut out = common::header(cx, "%%", "topology");
        let mut body = String::from("flowchart LR\n");
        let mut nets = BTreeSet::new();
        for e in 0..m.environments.len() {
            let env = &m.environments[e];
            let hs: Vec<_> = env.hosts.iter().filter(|h| hosts.contains(h)).collect();
            if hs.is_empty() {
                continue;
            }
            let _ = writeln!(
                body,
                "  subgraph env{e}[\"environment {}\"]",
                label(&env.name)
            );
            for h in hs {
                let host = m.host(*h);
                let _ = writeln!(
                    body,
                    "    subgraph h{}[\"host {}\"]",
                    h.index(),
                    label(&host.name)
                );
                for ((hh, s), ports) in nodes.range((h.index(), 0)..(h.index() + 1, 0)) {
                    let _ = writeln!(
                        body,
                        "      {}[\"{}<br/>{}\"]",
                        svc_node(*s, *hh),
                        label(&m.services[*s].name),
                        label(&ports.join("<br/>"))
                    );
                }
                body.push_str("    end\n");
                for n in &host.networks {
                    nets.insert(n.index());
                    let _ = writeln!(body, "    n{} --- h{}", n.index(), h.index());
                }
            }
            body.push_str("  end\n");
        }
        for n in &nets {
            let net = &m.networks[*n];
            let cidrs: Vec<String> = net.cidrs.iter().map(ToString::to_string).collect();
            let _ = writeln!(
                body,
                "  n{n}((\"{}<br/>{}\"))",
                label(&net.name),
                label(&cidrs.join(", "))
            );
        }
        let mut edges = BTreeSet::new();
        for r in &m.routes {
            let (l, u) = (m.binding(r.from), m.binding(r.to));
            if !hosts.contains(&l.host) || !hosts.contains(&u.host) {
                continue;
            }
            let what = format!(
                "{}{}",
                r.host.clone().unwrap_or_default(),
                r.path.clone().unwrap_or_default()
            );
            edges.insert(format!(
                "  {} ==>|\"route {}\"| {}",
                svc_node(l.service.index(), l.host.index()),
                label(if what.is_empty() { "*" } else { &what }),
                svc_node(u.service.index(), u.host.index())
            ));
        }
        let mut externals: BTreeMap<String, usize> = BTreeMap::new();
        let placed = |s: usize| -> Vec<usize> {
            placed_on
                .get(&s)
                .map(|hs| hs.iter().copied().collect())
                .unwrap_or_default()
        };
        let mut free = BTreeSet::new();
        for f in &m.flows {
            let from: Vec<String> = match &f.from {
                FlowEnd::Service(s) | FlowEnd::Binding(s, _) => {
                    let hs = placed(s.index());
                    if hs.is_empty() && m.bindings_of(*s).is_empty() {
                        free.insert(s.index());
                        vec![format!("s{}", s.index())]
                    } else {
                        hs.into_iter().map(|h| svc_node(s.index(), h)).collect()
                    }
                }
                FlowEnd::Network(n) if nets.contains(&n.index()) => vec![format!("n{}", n.index())],
                other => {
                    let k = common::flow_end(m, other);
                    let next = externals.len();
                    vec![format!("x{}", *externals.entry(k).or_insert(next))]
                }
            };
            let to: Vec<String> = match &f.to {
                FlowEnd::Service(s) | FlowEnd::Binding(s, _) => placed(s.index())
                    .into_iter()
                    .map(|h| svc_node(s.index(), h))
                    .collect(),
                other => {
                    let mut k = common::flow_end(m, other);
                    if let (FlowEnd::External { .. }, _) | (_, None) = (&f.to, f.to_ports) {
                    } else if let Some(p) = f.to_ports {
                        let _ = write!(k, ":{p}");
                    }
                    let next = externals.len();
                    vec![format!("x{}", *externals.entry(k).or_insert(next))]
                }
            };
            for a in &from {
                for b in &to {
                    edges.insert(format!("  {a} -.->|{}| {b}", f.transport.as_str()));
                }
            }
        }
        for s in free {
            let _ = writeln!(
                body,
                "  s{s}[\"{}<br/>(no port; placement not in the model)\"]",
                label(&m.services[s].name)
            );
        }
        let mut ext: Vec<_> = externals.into_iter().collect();
        ext.sort_by_key(|(_, i)| *i);
        for (k, i) in ext {
            let _ = writeln!(body, "  x{i}{{{{\"{}\"}}}}", label(&k));
        }
        for e in edges {
            let _ = writeln!(body, "{e}");
        }
        out.push_str(&body);
        Ok(out.into())
    }
}
