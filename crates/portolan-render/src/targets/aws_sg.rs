//! `gen aws-sg`: AWS security groups as JSON, one group per host in scope (`--env`, `--host`
//! narrow it), in the shape `aws ec2 describe-security-groups` prints: `{"SecurityGroups":
//! [{GroupName, Description, IpPermissions, IpPermissionsEgress, Tags}]}`. Each
//! `IpPermissions` entry is also the input of `aws ec2 authorize-security-group-ingress
//! --ip-permissions` (and the egress list that of `authorize-security-group-egress`).
//!
//! A host is in exactly one environment, so "one group per host" is also "one per host ×
//! environment"; the group is named `portolan-<host>` and tagged with the environment.
//!
//! **Ingress** is exactly each binding's declared reach (exposure plus inbound flows)
//! narrowed to what its bind address can be reached from — the same sets the firewall
//! targets allow — as one `IpRanges`/`Ipv6Ranges` entry per CIDR (`public` is `0.0.0.0/0`
//! for an IPv4 bind, `::/0` for IPv6, both for a dual-stack `::`). A security group filters
//! at the instance's network interface, before Docker's DNAT, so Docker-published ports
//! need nothing special. Bindings reachable only from the host itself (`localhost`,
//! loopback binds) or its containers (`host-internal`) get no rule: their traffic never
//! crosses the interface. Reserved bindings get none either. Contiguous ports with the same
//! source are merged into one `FromPort`–`ToPort` range; the `Description` of each entry
//! names the bindings it lets in and their declared exposure.
//!
//! **Egress** is exactly the declared outbound flows of the services on the host (a source
//! service without bindings has no placement in the model, so its flows count for every
//! host): to `public`, a network or a CIDR as those CIDRs; to another service as a
//! reference to the destination host's group (`UserIdGroupPairs` by `GroupName`, which AWS
//! resolves only in the default VPC — a warning says so; `gen terraform` references ids).
//! A flow to a name pattern (`*.stripe.com:443`) cannot be expressed by a security group:
//! the group's egress is then left open (all traffic to `0.0.0.0/0` and `::/0`) and a
//! warning says why, rather than silently dropping the flow. Note that
//! `create-security-group` adds an allow-all egress rule of its own; revoke it when you
//! apply this file's egress.
//!
//! JSON has no comments: warnings go to [`Rendered::warnings`] only (the CLI prints them on
//! stderr). Descriptions are restricted to the characters AWS accepts and to 255 of them.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use portolan_model::{BindingId, FlowEnd, HostId, IpNet, IpSet, Status, Transport};
use serde::Serialize;

use crate::common;
use crate::{Generator, RenderContext, RenderError, Rendered};

/// The AWS security-group generator.
pub struct AwsSg;

/// Who is on the other side of a rule.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Peer {
    /// An IPv4 network.
    V4(IpNet),
    /// An IPv6 network.
    V6(IpNet),
    /// The security group of this host.
    Group(String),
}

/// One rule: a protocol, a port range and one peer.
#[derive(Clone, Debug)]
pub(crate) struct SgRule {
    /// `None`: all traffic (`-1`).
    pub proto: Option<Transport>,
    /// First and last port (`0`–`65535` for every port; unused when `proto` is `None`).
    pub ports: (u16, u16),
    /// Source (ingress) or destination (egress).
    pub peer: Peer,
    /// What the rule is for, in the characters AWS accepts.
    pub description: String,
    /// What the rule is for, as written in the spec (for comments).
    pub note: String,
}

/// The security group of one host.
#[derive(Clone, Debug)]
pub(crate) struct SecurityGroup {
    /// Host name.
    pub host: String,
    /// Environment of the host.
    pub environment: String,
    /// `portolan-<host>`.
    pub name: String,
    /// Group description (AWS characters).
    pub description: String,
    /// Inbound rules, sorted.
    pub ingress: Vec<SgRule>,
    /// Outbound rules, sorted.
    pub egress: Vec<SgRule>,
    /// Bindings without a rule, and why.
    pub skipped: Vec<String>,
}

/// The group name of host `host`.
pub(crate) fn group_name(host: &str) -> String {
    format!("portolan-{}", aws_text(host))
}

/// Keeps the characters AWS accepts in descriptions (`a-zA-Z0-9`, space, `._-:/()#,@[]+=&;`
/// — `{}!$*` are allowed by AWS but dropped here so the text is also a safe HCL string),
/// at most 255 of them.
pub(crate) fn aws_text(s: &str) -> String {
    let mut out: String = s
        .replace('→', "to")
        .replace('—', "-")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || " ._-:/()#,@[]+=&;".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.len() > 255 {
        out.truncate(252);
        out.push_str("...");
    }
    out
}

/// Accumulates rules by (protocol, peer), then merges contiguous port ranges.
#[derive(Default)]
struct Rules(BTreeMap<(Option<Transport>, Peer), Vec<Item>>);

/// Ports and what they are for.
type Item = ((u16, u16), String);

impl Rules {
    fn add(&mut self, proto: Option<Transport>, ports: (u16, u16), peer: Peer, what: String) {
        self.0.entry((proto, peer)).or_default().push((ports, what));
    }

    fn finish(self) -> Vec<SgRule> {
        let mut out = Vec::new();
        for ((proto, peer), mut items) in self.0 {
            items.sort();
            let mut merged: Vec<((u16, u16), Vec<String>)> = Vec::new();
            for (ports, what) in items {
                match merged.last_mut() {
                    Some((p, whats)) if u32::from(ports.0) <= u32::from(p.1) + 1 => {
                        p.1 = p.1.max(ports.1);
                        if !whats.contains(&what) {
                            whats.push(what);
                        }
                    }
                    _ => merged.push((ports, vec![what])),
                }
            }
            for (ports, whats) in merged {
                let note = whats.join("; ");
                out.push(SgRule {
                    proto,
                    ports,
                    peer: peer.clone(),
                    description: aws_text(&note),
                    note,
                });
            }
        }
        out.sort_by(|a, b| (a.proto, a.ports, &a.peer).cmp(&(b.proto, b.ports, &b.peer)));
        out
    }
}

fn peers(set: &IpSet) -> Vec<Peer> {
    set.to_nets()
        .into_iter()
        .map(|n| {
            if n.is_ipv4() {
                Peer::V4(n)
            } else {
                Peer::V6(n)
            }
        })
        .collect()
}

fn open_egress() -> Vec<SgRule> {
    [Peer::V4(IpNet::ANY_V4), Peer::V6(IpNet::ANY_V6)]
        .into_iter()
        .map(|peer| SgRule {
            proto: None,
            ports: (0, 65535),
            peer,
            description: "all traffic: a declared flow names a host pattern, which a security group cannot express".into(),
            note: "all traffic (a declared flow names a host pattern)".into(),
        })
        .collect()
}

/// The security groups of the hosts in scope, and what they cannot express (`target` names
/// the generator in the warnings).
pub(crate) fn plan(cx: &RenderContext<'_>, target: &str) -> (Vec<SecurityGroup>, Vec<String>) {
    let m = cx.model;
    let mut warnings = Vec::new();
    let mut groups = Vec::new();
    // binding instances by host, in one pass (not one pass over every binding per host)
    let mut by_host: Vec<Vec<BindingId>> = vec![Vec::new(); m.hosts.len()];
    for (id, b) in cx.bindings() {
        by_host[b.host.index()].push(id);
    }
    for h in cx.hosts() {
        let host = m.host(h);
        let name = group_name(&host.name);
        let mut ingress = Rules::default();
        let mut skipped = Vec::new();
        for (id, b) in by_host[h.index()].iter().map(|&id| (id, m.binding(id))) {
            let label = b.qualified_name(m);
            let what = format!("{label} {}/{}", b.ports, b.transport.as_str());
            if b.status == Status::Reserved {
                skipped.push(format!(
                    "{what}: status reserved (held, not running) - no rule"
                ));
                continue;
            }
            let r = cx.analysis.of(id);
            let sources = r.allowed.sources.intersection(&r.bound.sources);
            if sources.is_empty() {
                let why = if b.bind.is_loopback() {
                    format!("bound to {} (loopback only)", b.bind)
                } else if r.allowed.is_remote() {
                    "none of those sources is on a network of this host".to_string()
                } else {
                    "local to the host".to_string()
                };
                skipped.push(format!(
                    "{what}: declared {}, {why} - no rule",
                    common::declared(m, b)
                ));
                continue;
            }
            let text = format!("{label} declared {}", common::declared(m, b));
            for p in peers(&sources) {
                ingress.add(Some(b.transport), (b.ports.lo, b.ports.hi), p, text.clone());
            }
        }
        let (egress, open) = egress(cx, h, &name, target, &mut warnings);
        let egress = if open { open_egress() } else { egress.finish() };
        let ingress = ingress.finish();
        let mut description = format!(
            "portolan: host {} ({}); inbound is the declared reach of its bindings",
            host.name,
            m.environment(host.environment).name
        );
        if !skipped.is_empty() {
            let _ = write!(description, "; {} binding(s) need no rule", skipped.len());
        }
        groups.push(SecurityGroup {
            host: host.name.clone(),
            environment: m.environment(host.environment).name.clone(),
            description: aws_text(&description),
            name,
            ingress,
            egress,
            skipped,
        });
    }
    (groups, warnings)
}

/// The declared outbound flows of host `h`; `true` when one cannot be expressed (the group's
/// egress must then stay open).
fn egress(
    cx: &RenderContext<'_>,
    h: HostId,
    group: &str,
    target: &str,
    warnings: &mut Vec<String>,
) -> (Rules, bool) {
    let m = cx.model;
    let env = m.host(h).environment;
    let mut rules = Rules::default();
    let mut open = false;
    for f in &m.flows {
        let src = match &f.from {
            FlowEnd::Service(s) | FlowEnd::Binding(s, _) => *s,
            _ => continue,
        };
        let instances = m.bindings_of(src);
        if !(instances.is_empty() || instances.iter().any(|b| b.host == h)) {
            continue;
        }
        let to = match (&f.to, f.to_ports) {
            (FlowEnd::External { .. }, _) | (_, None) => common::flow_end(m, &f.to),
            (_, Some(p)) => format!("{}:{p}", common::flow_end(m, &f.to)),
        };
        let flow = format!("{} → {to}", common::flow_end(m, &f.from));
        let ports = f.to_ports.map_or((0, 65535), |p| (p.lo, p.hi));
        let what = format!("flow {flow}/{}", f.transport.as_str());
        match &f.to {
            FlowEnd::Public => {
                for p in peers(&IpSet::everything()) {
                    rules.add(Some(f.transport), ports, p, what.clone());
                }
            }
            FlowEnd::Network(n) => {
                for p in peers(&m.network(*n).set) {
                    rules.add(Some(f.transport), ports, p, what.clone());
                }
            }
            FlowEnd::Cidr(c) => {
                for p in peers(&IpSet::from_nets(&[*c])) {
                    rules.add(Some(f.transport), ports, p, what.clone());
                }
            }
            FlowEnd::External { .. } => {
                warnings.push(format!(
                    "{what} names a host pattern; {target} matches addresses, not names, so it cannot be expressed: egress of `{group}` is left open (all traffic)"
                ));
                open = true;
            }
            FlowEnd::Service(t) | FlowEnd::Binding(t, _) => {
                let only = match &f.to {
                    FlowEnd::Binding(_, name) => Some(name.as_str()),
                    _ => None,
                };
                for d in m.bindings_of(*t) {
                    if d.host == h
                        || d.environment != env
                        || d.status == Status::Reserved
                        || only.is_some_and(|n| n != d.name)
                    {
                        continue;
                    }
                    rules.add(
                        Some(d.transport),
                        (d.ports.lo, d.ports.hi),
                        Peer::Group(m.host(d.host).name.clone()),
                        if only.is_some() {
                            what.clone()
                        } else {
                            format!("{what} ({})", d.qualified_name(m))
                        },
                    );
                }
            }
        }
    }
    (rules, open)
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Output {
    security_groups: Vec<Group>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
#[allow(clippy::struct_field_names)] // AWS's names
struct Group {
    group_name: String,
    description: String,
    ip_permissions: Vec<Permission>,
    ip_permissions_egress: Vec<Permission>,
    tags: Vec<Tag>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Tag {
    key: &'static str,
    value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Permission {
    ip_protocol: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    from_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    to_port: Option<u16>,
    ip_ranges: Vec<V4Range>,
    ipv6_ranges: Vec<V6Range>,
    user_id_group_pairs: Vec<GroupPair>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct V4Range {
    cidr_ip: String,
    description: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct V6Range {
    cidr_ipv6: String,
    description: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GroupPair {
    group_name: String,
    description: String,
}

/// One permission per (protocol, port range), peers in rule order.
fn permissions(rules: &[SgRule]) -> Vec<Permission> {
    let mut out: Vec<Permission> = Vec::new();
    let mut keys: Vec<(Option<Transport>, (u16, u16))> = Vec::new();
    for r in rules {
        let key = (r.proto, r.ports);
        let idx = if let Some(i) = keys.iter().position(|k| *k == key) {
            i
        } else {
            keys.push(key);
            out.push(Permission {
                ip_protocol: r.proto.map_or("-1", Transport::as_str),
                from_port: r.proto.map(|_| r.ports.0),
                to_port: r.proto.map(|_| r.ports.1),
                ip_ranges: Vec::new(),
                ipv6_ranges: Vec::new(),
                user_id_group_pairs: Vec::new(),
            });
            out.len() - 1
        };
        let p = &mut out[idx];
        let description = r.description.clone();
        match &r.peer {
            Peer::V4(n) => p.ip_ranges.push(V4Range {
                cidr_ip: n.to_string(),
                description,
            }),
            Peer::V6(n) => p.ipv6_ranges.push(V6Range {
                cidr_ipv6: n.to_string(),
                description,
            }),
            Peer::Group(h) => p.user_id_group_pairs.push(GroupPair {
                group_name: group_name(h),
                description,
            }),
        }
    }
    out
}

/// The generators this file defines (collected by `build.rs` into [`crate::generators`]).
pub(crate) const GENERATORS: &[&dyn Generator] = &[&AwsSg];

impl Generator for AwsSg {
    fn extension(&self) -> &'static str {
        "json"
    }

    fn name(&self) -> &'static str {
        "aws-sg"
    }

    fn description(&self) -> &'static str {
        "AWS security groups as JSON, one per host (describe-security-groups shape)"
    }

    fn render(&self, cx: &RenderContext<'_>) -> Result<Rendered, RenderError> {
        let (groups, mut warnings) = plan(cx, "a security group");
        if groups.is_empty() {
            return Err(RenderError::Unsupported {
                target: "aws-sg",
                message: "no host in scope (check --env and --host)".into(),
            });
        }
        if groups
            .iter()
            .any(|g| g.egress.iter().any(|r| matches!(r.peer, Peer::Group(_))))
        {
            warnings.push(
                "egress to another host's group refers to it by GroupName (UserIdGroupPairs), which AWS resolves only in the default VPC; elsewhere replace each name by the group's id (or use `portolan gen terraform`, which references ids)".into(),
            );
        }
        let out = Output {
            security_groups: groups
                .iter()
                .map(|g| Group {
                    group_name: g.name.clone(),
                    description: g.description.clone(),
                    ip_permissions: permissions(&g.ingress),
                    ip_permissions_egress: permissions(&g.egress),
                    tags: vec![
                        Tag {
                            key: "Name",
                            value: g.name.clone(),
                        },
                        Tag {
                            key: "Host",
                            value: g.host.clone(),
                        },
                        Tag {
                            key: "Environment",
                            value: g.environment.clone(),
                        },
                        Tag {
                            key: "ManagedBy",
                            value: format!("portolan ({})", common::spec_files(cx.model)),
                        },
                    ],
                })
                .collect(),
        };
        // serialised into a buffer reserved once (~120 bytes per binding on the benchmark)
        let mut buf = Vec::with_capacity(64 * 1024 + cx.model.bindings.len() * 128);
        serde_json::to_writer_pretty(&mut buf, &out).map_err(|e| RenderError::Unsupported {
            target: "aws-sg",
            message: e.to_string(),
        })?;
        buf.push(b'\n');
        let text = String::from_utf8(buf).map_err(|e| RenderError::Unsupported {
            target: "aws-sg",
            message: e.to_string(),
        })?;
        Ok(Rendered { text, warnings })
    }
}

#[cfg(test)]
mod tests {
    use portolan_model::{IpNet, IpSet, Status};
    use serde_json::Value;

    use crate::testutil::{EXAMPLES, example, render, render_str};

    fn aws_ok(s: &str) -> bool {
        s.len() <= 255
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || " ._-:/()#,@[]+=&;{}!$*".contains(c))
    }

    /// Every ingress (CIDR, port) is a declared source of a binding on that host, and every
    /// declared remote source of every binding has its rule.
    #[test]
    fn ingress_is_exactly_the_declared_reach() {
        for ex in EXAMPLES {
            let m = example(ex);
            let a = portolan_lint::Analysis::compute(&m);
            let out = render(&m, "aws-sg");
            let v: Value = serde_json::from_str(&out.text).expect("valid JSON");
            let groups = v["SecurityGroups"].as_array().expect("SecurityGroups");
            assert_eq!(groups.len(), m.hosts.len(), "{ex}: one group per host");
            for g in groups {
                let name = g["GroupName"].as_str().expect("GroupName");
                assert!(aws_ok(name) && aws_ok(g["Description"].as_str().expect("Description")));
                let host = name.strip_prefix("portolan-").expect("prefix");
                let h = m.host_named(host).expect("host");
                // (proto, port, cidr) triples the JSON allows
                let mut allowed = Vec::new();
                for p in g["IpPermissions"].as_array().expect("IpPermissions") {
                    let proto = p["IpProtocol"].as_str().expect("IpProtocol");
                    assert!(proto == "tcp" || proto == "udp", "{ex}: {p}");
                    let lo = u16::try_from(p["FromPort"].as_u64().expect("FromPort")).unwrap();
                    let hi = u16::try_from(p["ToPort"].as_u64().expect("ToPort")).unwrap();
                    assert!(lo <= hi);
                    for (key, cidr) in [("IpRanges", "CidrIp"), ("Ipv6Ranges", "CidrIpv6")] {
                        for r in p[key].as_array().expect("ranges") {
                            assert!(aws_ok(r["Description"].as_str().expect("Description")));
                            let net: IpNet = r[cidr].as_str().expect("cidr").parse().expect("CIDR");
                            allowed.push((proto.to_string(), lo, hi, net));
                        }
                    }
                }
                for (lo_proto, lo, hi, net) in &allowed {
                    for port in *lo..=*hi {
                        let ok = m.bindings.iter().enumerate().any(|(i, b)| {
                            b.host == h
                                && b.status != Status::Reserved
                                && b.transport.as_str() == lo_proto
                                && b.ports.contains(port)
                                && IpSet::from_nets(&[*net]).is_subset(
                                    &a.reach[i]
                                        .allowed
                                        .sources
                                        .intersection(&a.reach[i].bound.sources),
                                )
                        });
                        assert!(
                            ok,
                            "{ex} {host}: {lo_proto}/{port} from {net} is not declared"
                        );
                    }
                }
                for (i, b) in m.bindings.iter().enumerate().filter(|(_, b)| b.host == h) {
                    let want = a.reach[i]
                        .allowed
                        .sources
                        .intersection(&a.reach[i].bound.sources);
                    if b.status == Status::Reserved || want.is_empty() {
                        continue;
                    }
                    for net in want.to_nets() {
                        assert!(
                            allowed
                                .iter()
                                .any(|(p, lo, hi, n)| p == b.transport.as_str()
                                    && *lo <= b.ports.lo
                                    && b.ports.hi <= *hi
                                    && *n == net),
                            "{ex} {host}: {} from {net} has no rule",
                            b.qualified_name(&m)
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn contiguous_ports_merge_and_localhost_gets_no_rule() {
        let out = render_str(
            r#"
[networks]
lan = "192.168.1.0/24"
[hosts.h]
addresses = ["192.168.1.5"]
networks = ["lan"]
[services.a]
hosts = ["h"]
bindings.http = { port = 5000, exposure = "lan" }
[services.b]
hosts = ["h"]
bindings.http = { port = 5001, exposure = "lan" }
bindings.grpc = { port = 5003, exposure = "lan" }
[services.db]
hosts = ["h"]
bindings.pg = { port = 5432, bind = "127.0.0.1", exposure = "localhost" }
"#,
            "aws-sg",
        );
        let v: Value = serde_json::from_str(&out.text).expect("json");
        let perms = v["SecurityGroups"][0]["IpPermissions"]
            .as_array()
            .expect("perms");
        let ranges: Vec<(u64, u64)> = perms
            .iter()
            .map(|p| {
                (
                    p["FromPort"].as_u64().unwrap(),
                    p["ToPort"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(ranges, vec![(5000, 5001), (5003, 5003)], "{}", out.text);
        assert_eq!(
            perms[0]["IpRanges"][0]["Description"],
            "a.http declared lan; b.http declared lan"
        );
        assert!(!out.text.contains("5432"), "{}", out.text);
        // no outbound flow declared: no egress at all
        assert_eq!(
            v["SecurityGroups"][0]["IpPermissionsEgress"],
            Value::Array(vec![])
        );
        assert!(out.warnings.is_empty());
    }

    #[test]
    fn egress_is_the_declared_flows_and_fqdn_leaves_it_open_with_a_warning() {
        let spec = r#"
[networks]
lan = "192.168.1.0/24"
[hosts.app]
addresses = ["192.168.1.5"]
networks = ["lan"]
[hosts.db]
addresses = ["192.168.1.6"]
networks = ["lan"]
[services.api]
hosts = ["app"]
bindings.http = { port = 8080, exposure = "lan" }
[services.pg]
hosts = ["db"]
bindings.pg = { port = 5432, exposure = "lan" }
[[flows]]
from = "api"
to = "pg.pg"
[[flows]]
from = "api"
to = "public:53"
transport = "udp"
"#;
        let out = render_str(spec, "aws-sg");
        let v: Value = serde_json::from_str(&out.text).expect("json");
        let app = &v["SecurityGroups"][0];
        assert_eq!(app["GroupName"], "portolan-app");
        let eg = app["IpPermissionsEgress"].as_array().expect("egress");
        assert_eq!(eg.len(), 2, "{}", out.text);
        assert_eq!(eg[0]["IpProtocol"], "tcp");
        assert_eq!(eg[0]["FromPort"], 5432);
        assert_eq!(eg[0]["UserIdGroupPairs"][0]["GroupName"], "portolan-db");
        assert_eq!(eg[1]["IpProtocol"], "udp");
        assert_eq!(eg[1]["IpRanges"][0]["CidrIp"], "0.0.0.0/0");
        assert_eq!(eg[1]["Ipv6Ranges"][0]["CidrIpv6"], "::/0");
        // db declares no flow: no egress
        assert_eq!(
            v["SecurityGroups"][1]["IpPermissionsEgress"],
            Value::Array(vec![])
        );
        assert!(out.warnings.iter().any(|w| w.contains("GroupName")));

        let out = render_str(
            &format!("{spec}\n[[flows]]\nfrom = \"api\"\nto = \"*.stripe.com:443\"\n"),
            "aws-sg",
        );
        let v: Value = serde_json::from_str(&out.text).expect("json");
        let eg = v["SecurityGroups"][0]["IpPermissionsEgress"]
            .as_array()
            .expect("egress");
        assert_eq!(eg.len(), 1, "{}", out.text);
        assert_eq!(eg[0]["IpProtocol"], "-1");
        assert!(eg[0].get("FromPort").is_none());
        assert!(
            out.warnings
                .iter()
                .any(|w| w.contains("*.stripe.com:443") && w.contains("left open")),
            "{:?}",
            out.warnings
        );
    }
}
