//! Kubernetes manifests (multi-document YAML, `kind: List` too): Service ports, workload
//! `containerPort`s, Ingress backends (as routes), `NetworkPolicy` ports.
//!
//! What each object becomes:
//!
//! | object | use |
//! |---|---|
//! | Service `spec.ports[].port` | [`Role::Expose`], `target` = a numeric `targetPort` (a named one is in the snippet) |
//! | Service of type `NodePort`/`LoadBalancer` with `nodePort` | also [`Role::Publish`] on the node port, publisher `k8s-nodeport` |
//! | `Pod` / `Deployment` / `StatefulSet` / `DaemonSet` / `ReplicaSet` / `Job` / `CronJob` `containerPort` | [`Role::Listen`], `service` = `metadata.name`, container name in the snippet; `command`/`args` are scanned for port flags |
//! | `hostPort` | also [`Role::Publish`] with `bind` = `hostIP`, publisher `k8s-nodeport` (like a node port it is DNAT on the node and bypasses the host's INPUT chain) |
//! | Ingress backend (`service.port.number` or the old `serviceName`/`servicePort`) | a [`crate::RouteUse`] to the Service, listening on 80 (and 443 with `tls:`) |
//! | `NetworkPolicy` `ingress[].ports[]` | [`Role::Expose`], medium confidence (`endPort` makes a range) |
//! | `NetworkPolicy` `egress[].ports[]` | [`Role::Connect`], medium confidence: an egress rule allows connecting *to* the port |
//!
//! Each document is read on its own: a malformed one is a [`crate::Problem`] and the others
//! are still read.

use portolan_model::port::PortRange;
use portolan_model::spec::{Publisher, Transport};

use crate::evidence::{
    Confidence, Context, FileReport, PortUse, Problem, ProxyKind, Role, RouteUse, SourceKind, Unit,
    UnitKind,
};
use crate::redact::redact;
use crate::text::{LineIndex, port_number, port_token};
use crate::yaml::{self, Command, Doc, Node};

/// Whether YAML text looks like a Kubernetes manifest (`apiVersion:` and `kind:`).
pub fn looks_like(text: &str) -> bool {
    text.contains("apiVersion:") && text.contains("kind:")
}

/// Reads one manifest file.
pub fn parse(path: &str, text: &str, ctx: &Context) -> FileReport {
    let _ = ctx;
    let ix = LineIndex::new(path, text);
    let mut report = FileReport::default();
    for doc in yaml::documents(&ix, text) {
        match doc {
            Ok(doc) => {
                let mut r = Reader {
                    ix: &ix,
                    doc: &doc,
                    report: &mut report,
                };
                r.object(&doc.root, 0);
            }
            Err(p) => report.problems.push(p),
        }
    }
    report
}

struct Reader<'a, 'd> {
    ix: &'a LineIndex<'a>,
    doc: &'a Doc<'d>,
    report: &'a mut FileReport,
}

/// A scalar's text and the file byte its content starts at.
struct Scalar {
    text: String,
    at: usize,
}

impl Reader<'_, '_> {
    fn scalar(&self, node: Option<&Node>) -> Option<Scalar> {
        let node = node?;
        let text = self.doc.scalar(node)?;
        let (at, _) = self.doc.content_start(node, &text);
        Some(Scalar { text, at })
    }

    fn str_at(&self, node: &Node, path: &[&str]) -> Option<String> {
        let mut n = node;
        for key in path {
            n = yaml::get(n, key)?;
        }
        self.doc.scalar(n)
    }

    fn problem(&mut self, at: usize, reason: String) {
        self.report.problems.push(Problem {
            at: self.ix.location(at),
            reason,
        });
    }

    fn snippet(&mut self, at: usize, note: &str) -> String {
        let loc = self.ix.location(at);
        let mut s = self.ix.window(loc.line as usize, loc.col as usize, 200);
        if !note.is_empty() {
            s.push_str(" (");
            s.push_str(note);
            s.push(')');
        }
        let (s, secret) = redact(&s);
        if secret {
            self.report.secrets.push(loc);
        }
        s
    }

    /// A port number written at `s`, or a problem.
    fn port(&mut self, s: &Scalar, what: &str) -> Option<u16> {
        let p = port_number(&s.text);
        if p.is_none() {
            self.problem(s.at, format!("`{}` is not a {what}", s.text));
        }
        p
    }

    fn transport(&self, port: &Node) -> Option<Transport> {
        match self.str_at(port, &["protocol"]).as_deref() {
            None | Some("TCP" | "tcp") => Some(Transport::Tcp),
            Some("UDP" | "udp") => Some(Transport::Udp),
            Some(_) => None,
        }
    }

    fn object(&mut self, obj: &Node, depth: usize) {
        let kind = self.str_at(obj, &["kind"]).unwrap_or_default();
        let name = self.str_at(obj, &["metadata", "name"]);
        let spec = yaml::get(obj, "spec");
        match (kind.as_str(), spec) {
            ("List", _) if depth < 8 => {
                if let Some(items) = yaml::get(obj, "items") {
                    for item in yaml::items(items) {
                        self.object(item, depth + 1);
                    }
                }
            }
            ("Service", Some(spec)) => {
                let selector = yaml::get(spec, "selector").map(|s| self.labels(s));
                self.unit(
                    obj,
                    UnitKind::KubeService,
                    selector.unwrap_or_default(),
                    None,
                );
                self.service(spec, name.as_deref());
            }
            ("Pod", Some(spec)) => {
                let labels = yaml::get(obj, "metadata")
                    .and_then(|m| yaml::get(m, "labels"))
                    .map(|l| self.labels(l));
                self.unit(
                    obj,
                    UnitKind::Workload,
                    labels.unwrap_or_default(),
                    Some(spec),
                );
                self.pod(spec, name.as_deref());
            }
            ("Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job", Some(spec)) => {
                let template = yaml::get(spec, "template");
                let labels = template
                    .and_then(|t| yaml::get(t, "metadata"))
                    .and_then(|m| yaml::get(m, "labels"))
                    .map(|l| self.labels(l));
                let pod = template.and_then(|t| yaml::get(t, "spec"));
                self.unit(obj, UnitKind::Workload, labels.unwrap_or_default(), pod);
                if let Some(pod) = pod {
                    self.pod(pod, name.as_deref());
                }
            }
            ("CronJob", Some(spec)) => {
                let pod = yaml::get(spec, "jobTemplate")
                    .and_then(|j| yaml::get(j, "spec"))
                    .and_then(|s| yaml::get(s, "template"))
                    .and_then(|t| yaml::get(t, "spec"));
                if let Some(pod) = pod {
                    self.pod(pod, name.as_deref());
                }
            }
            ("Ingress", Some(spec)) => self.ingress(spec),
            ("NetworkPolicy", Some(spec)) => self.network_policy(spec, name.as_deref()),
            _ => {}
        }
    }

    /// A mapping of string labels, sorted.
    fn labels(&self, node: &Node) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = yaml::entries(node)
            .filter_map(|(k, v)| Some((k.to_string(), self.doc.scalar(v)?)))
            .collect();
        out.sort();
        out
    }

    /// Records the object as a [`Unit`]: its labels (or selector), the first container's
    /// image and the named container ports of its pods.
    fn unit(
        &mut self,
        obj: &Node,
        kind: UnitKind,
        labels: Vec<(String, String)>,
        pod: Option<&Node>,
    ) {
        let Some(name) = self.str_at(obj, &["metadata", "name"]) else {
            return;
        };
        let mut image = None;
        let mut named_ports = Vec::new();
        for c in pod
            .and_then(|p| yaml::get(p, "containers"))
            .map(yaml::items)
            .unwrap_or_default()
        {
            if image.is_none() {
                image = self.str_at(c, &["image"]);
            }
            for p in yaml::items(yaml::get(c, "ports").unwrap_or(c)) {
                if let (Some(n), Some(cp)) = (
                    self.str_at(p, &["name"]),
                    self.str_at(p, &["containerPort"])
                        .and_then(|t| port_number(&t)),
                ) {
                    named_ports.push((n, cp));
                }
            }
        }
        let at = self.doc.byte(obj.span.start);
        self.report.units.push(Unit {
            at: self.ix.location(at),
            kind,
            name,
            scope: self.str_at(obj, &["metadata", "namespace"]),
            image,
            build: None,
            env_files: Vec::new(),
            mounts: Vec::new(),
            labels,
            named_ports,
        });
    }

    fn service(&mut self, spec: &Node, name: Option<&str>) {
        let ty = self.str_at(spec, &["type"]).unwrap_or_default();
        let node_ports = matches!(ty.as_str(), "NodePort" | "LoadBalancer");
        for p in yaml::items(yaml::get(spec, "ports").unwrap_or(spec)) {
            let Some(port_s) = self.scalar(yaml::get(p, "port")) else {
                continue;
            };
            let Some(port) = self.port(&port_s, "Service port") else {
                continue;
            };
            let Some(transport) = self.transport(p) else {
                continue;
            };
            let target_s = self.scalar(yaml::get(p, "targetPort"));
            let target = target_s.as_ref().and_then(|t| port_number(&t.text));
            let note = match &target_s {
                Some(t) if target.is_none() => format!("named targetPort `{}`", t.text),
                _ => String::new(),
            };
            let snippet = self.snippet(port_s.at, &note);
            let app = self
                .str_at(p, &["appProtocol"])
                .or_else(|| self.str_at(p, &["name"]))
                .and_then(|n| app_of_port_name(&n));
            let base = PortUse {
                service: name.map(str::to_string),
                target: target.map(PortRange::single),
                target_at: target_s
                    .as_ref()
                    .filter(|_| target.is_some())
                    .map(|t| self.ix.location(t.at)),
                transport,
                snippet,
                app,
                ..PortUse::new(
                    self.ix.location(port_s.at),
                    SourceKind::Kubernetes,
                    Role::Expose,
                    PortRange::single(port),
                )
            };
            self.report.uses.push(base.clone());
            if !node_ports {
                continue;
            }
            let Some(np_s) = self.scalar(yaml::get(p, "nodePort")) else {
                continue;
            };
            let Some(np) = self.port(&np_s, "nodePort") else {
                continue;
            };
            let snippet = self.snippet(np_s.at, &format!("type: {ty}"));
            self.report.uses.push(PortUse {
                at: self.ix.location(np_s.at),
                role: Role::Publish,
                port: PortRange::single(np),
                target: Some(PortRange::single(target.unwrap_or(port))),
                publisher: Some(Publisher::K8sNodeport),
                snippet,
                ..base
            });
        }
    }

    fn pod(&mut self, spec: &Node, name: Option<&str>) {
        let host_network = self.str_at(spec, &["hostNetwork"]).as_deref() == Some("true");
        for list in ["initContainers", "containers"] {
            let Some(containers) = yaml::get(spec, list) else {
                continue;
            };
            for c in yaml::items(containers) {
                let cname = self.str_at(c, &["name"]).unwrap_or_default();
                let mut note = format!("container `{cname}`");
                if host_network {
                    note.push_str(", hostNetwork: listens on the node");
                }
                for p in yaml::items(yaml::get(c, "ports").unwrap_or(c)) {
                    self.container_port(p, name, &note);
                }
                let mut cmd = Command::default();
                for key in ["command", "args"] {
                    if let Some(n) = yaml::get(c, key) {
                        cmd.push(self.doc, n);
                    }
                }
                for mut u in cmd.scan(self.ix, SourceKind::Kubernetes) {
                    u.service = name.map(str::to_string);
                    self.report.uses.push(u);
                }
            }
        }
    }

    fn container_port(&mut self, p: &Node, name: Option<&str>, note: &str) {
        let Some(cp_s) = self.scalar(yaml::get(p, "containerPort")) else {
            return;
        };
        let Some(cp) = self.port(&cp_s, "containerPort") else {
            return;
        };
        let Some(transport) = self.transport(p) else {
            return;
        };
        let snippet = self.snippet(cp_s.at, note);
        let base = PortUse {
            service: name.map(str::to_string),
            transport,
            snippet,
            app: self.str_at(p, &["name"]).and_then(|n| app_of_port_name(&n)),
            ..PortUse::new(
                self.ix.location(cp_s.at),
                SourceKind::Kubernetes,
                Role::Listen,
                PortRange::single(cp),
            )
        };
        self.report.uses.push(base.clone());
        if let Some(hp_s) = self.scalar(yaml::get(p, "hostPort"))
            && let Some(hp) = self.port(&hp_s, "hostPort")
        {
            let snippet = self.snippet(hp_s.at, note);
            self.report.uses.push(PortUse {
                at: self.ix.location(hp_s.at),
                role: Role::Publish,
                port: PortRange::single(hp),
                target: Some(PortRange::single(cp)),
                target_at: Some(self.ix.location(cp_s.at)),
                bind: self.str_at(p, &["hostIP"]),
                publisher: Some(Publisher::K8sNodeport),
                snippet,
                ..base
            });
        }
    }

    fn ingress(&mut self, spec: &Node) {
        let tls = yaml::get(spec, "tls").is_some_and(|t| !yaml::items(t).is_empty());
        let listen = if tls { vec![80, 443] } else { vec![80] };
        for key in ["defaultBackend", "backend"] {
            if let Some(b) = yaml::get(spec, key) {
                self.backend(b, &listen, Vec::new(), None);
            }
        }
        for rule in yaml::items(yaml::get(spec, "rules").unwrap_or(spec)) {
            let hosts: Vec<String> = self.str_at(rule, &["host"]).into_iter().collect();
            let paths = yaml::get(rule, "http").and_then(|h| yaml::get(h, "paths"));
            for p in yaml::items(paths.unwrap_or(rule)) {
                let path = self.str_at(p, &["path"]);
                if let Some(b) = yaml::get(p, "backend") {
                    self.backend(b, &listen, hosts.clone(), path);
                }
            }
        }
    }

    fn backend(&mut self, b: &Node, listen: &[u16], hosts: Vec<String>, path: Option<String>) {
        let (svc, port) = match yaml::get(b, "service") {
            Some(s) => {
                let port = yaml::get(s, "port");
                let number = port.and_then(|p| yaml::get(p, "number"));
                let named = port.and_then(|p| yaml::get(p, "name"));
                (yaml::get(s, "name"), number.or(named))
            }
            None => (yaml::get(b, "serviceName"), yaml::get(b, "servicePort")),
        };
        let Some(svc) = self.scalar(svc) else { return };
        let port_s = self.scalar(port);
        let number = port_s.as_ref().and_then(|p| port_number(&p.text));
        let at = match (&port_s, number) {
            (Some(p), Some(_)) => p.at,
            _ => svc.at,
        };
        self.report.routes.push(RouteUse {
            at: self.ix.location(at),
            source: SourceKind::Kubernetes,
            listen: listen.to_vec(),
            server_names: hosts,
            path,
            kind: ProxyKind::Http,
            upstream: svc.text,
            port: number,
        });
    }

    fn network_policy(&mut self, spec: &Node, name: Option<&str>) {
        let name = name.unwrap_or("");
        for (dir, role) in [("ingress", Role::Expose), ("egress", Role::Connect)] {
            let Some(rules) = yaml::get(spec, dir) else {
                continue;
            };
            for rule in yaml::items(rules) {
                let Some(ports) = yaml::get(rule, "ports") else {
                    continue;
                };
                for p in yaml::items(ports) {
                    let Some(port_s) = self.scalar(yaml::get(p, "port")) else {
                        continue;
                    };
                    let Some(lo) = port_number(&port_s.text) else {
                        // A named port: resolved against pods, not known here.
                        continue;
                    };
                    let end = self.scalar(yaml::get(p, "endPort"));
                    let range = if let Some(e) = &end {
                        let Some(r) = port_token(&format!("{lo}-{}", e.text)) else {
                            let reason = format!("`{}` is not an endPort ≥ {lo}", e.text);
                            self.problem(e.at, reason);
                            continue;
                        };
                        r
                    } else {
                        PortRange::single(lo)
                    };
                    let Some(transport) = self.transport(p) else {
                        continue;
                    };
                    let snippet = self.snippet(port_s.at, &format!("NetworkPolicy `{name}` {dir}"));
                    self.report.uses.push(PortUse {
                        transport,
                        confidence: Confidence::Medium,
                        snippet,
                        ..PortUse::new(
                            self.ix.location(port_s.at),
                            SourceKind::Kubernetes,
                            role,
                            range,
                        )
                    });
                }
            }
        }
    }
}

/// The application protocol a port name or `appProtocol` states (Kubernetes' convention:
/// `http`, `https`, `grpc`, `http-metrics`, `kubernetes.io/h2c`, `grpc-web`…).
fn app_of_port_name(name: &str) -> Option<String> {
    let n = name.rsplit('/').next().unwrap_or(name).to_ascii_lowercase();
    let first = n.split(['-', '_']).next().unwrap_or("");
    match first {
        "http" | "web" => Some("http".into()),
        "https" => Some("https".into()),
        "grpc" | "h2c" => Some("grpc".into()),
        "otlp" if n.contains("grpc") => Some("grpc".into()),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
