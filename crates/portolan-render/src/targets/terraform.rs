//! `gen terraform`: the security groups of `gen aws-sg` as Terraform (AWS provider ≥ 5): one
//! `aws_security_group` per host in scope, and one `aws_vpc_security_group_ingress_rule` /
//! `aws_vpc_security_group_egress_rule` per CIDR × port range (the per-rule resources AWS
//! and the provider recommend over inline `ingress`/`egress` blocks).
//!
//! The rules are those of [`super::aws_sg`] (same reach, same merging of contiguous ports,
//! same egress). The VPC is `var.vpc_id`; `var.tags` is added to every resource. Egress to
//! another host's group is `referenced_security_group_id`: the group's resource when that
//! host is in scope, else a `data "aws_security_group"` lookup by its name in the VPC.
//! Terraform removes the allow-all egress rule AWS adds to a new group, so egress is exactly
//! what is written here: the declared outbound flows, or all traffic (with a warning) when
//! a flow names a host pattern, which a security group cannot match. Bindings without a
//! rule (local to the host, reserved) and every warning are listed as comments.
//!
//! Resource names are `[A-Za-z0-9_]` identifiers derived from host, direction, protocol,
//! ports and peer (`app1_in_tcp_443_v4_any`), unique within the file.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use portolan_model::Transport;

use crate::common::{self, ident};
use crate::targets::aws_sg::{self, Peer, SgRule};
use crate::{Generator, RenderContext, RenderError, Rendered};

/// The Terraform generator.
pub struct Terraform;

/// A Terraform identifier (letters, digits, `_`; not starting with a digit).
fn tf_ident(s: &str) -> String {
    let i = ident(s);
    if i.starts_with(|c: char| c.is_ascii_digit()) || i.is_empty() {
        format!("h_{i}")
    } else {
        i
    }
}

/// A quoted HCL string (escapes quotes, backslashes and template sequences).
fn hcl_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' | '\r' | '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out.replace("${", "$${").replace("%{", "%%{")
}

fn peer_ident(p: &Peer) -> String {
    match p {
        Peer::V4(n) if n.prefix == 0 => "v4_any".into(),
        Peer::V6(n) if n.prefix == 0 => "v6_any".into(),
        Peer::V4(n) => format!("v4_{}", ident(&n.to_string())),
        Peer::V6(n) => format!("v6_{}", ident(&n.to_string())),
        Peer::Group(h) => format!("sg_{}", ident(h)),
    }
}

fn ports_ident(r: &SgRule) -> String {
    match (r.proto, r.ports) {
        (None, _) | (Some(_), (0, 65535)) => "all".into(),
        (Some(_), (lo, hi)) if lo == hi => lo.to_string(),
        (Some(_), (lo, hi)) => format!("{lo}_{hi}"),
    }
}

/// Writes the rule resources of one direction.
fn rules(
    out: &mut String,
    used: &mut BTreeSet<String>,
    gid: &str,
    egress: bool,
    list: &[SgRule],
    group_ref: &dyn Fn(&str) -> String,
) {
    let (dir, kind) = if egress {
        ("out", "aws_vpc_security_group_egress_rule")
    } else {
        ("in", "aws_vpc_security_group_ingress_rule")
    };
    for r in list {
        let base = format!(
            "{gid}_{dir}_{}_{}_{}",
            r.proto.map_or("all", Transport::as_str),
            ports_ident(r),
            peer_ident(&r.peer)
        );
        let mut name = base.clone();
        let mut k = 2;
        while !used.insert(name.clone()) {
            name = format!("{base}_{k}");
            k += 1;
        }
        let _ = writeln!(out, "# {}", r.note);
        let mut args: Vec<(&str, String)> = vec![
            ("security_group_id", format!("aws_security_group.{gid}.id")),
            ("description", hcl_str(&r.description)),
        ];
        match r.proto {
            None => args.push(("ip_protocol", "\"-1\"".into())),
            Some(t) => {
                args.push(("ip_protocol", format!("\"{}\"", t.as_str())));
                args.push(("from_port", r.ports.0.to_string()));
                args.push(("to_port", r.ports.1.to_string()));
            }
        }
        match &r.peer {
            Peer::V4(n) => args.push(("cidr_ipv4", format!("\"{n}\""))),
            Peer::V6(n) => args.push(("cidr_ipv6", format!("\"{n}\""))),
            Peer::Group(h) => args.push(("referenced_security_group_id", group_ref(h))),
        }
        args.push(("tags", "var.tags".into()));
        let width = args.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        let _ = writeln!(out, "resource \"{kind}\" \"{name}\" {{");
        for (k, v) in args {
            let _ = writeln!(out, "  {k:width$} = {v}");
        }
        out.push_str("}\n\n");
    }
}

/// The generators this file defines (collected by `build.rs` into [`crate::generators`]).
pub(crate) const GENERATORS: &[&dyn Generator] = &[&Terraform];

impl Generator for Terraform {
    fn extension(&self) -> &'static str {
        "tf"
    }

    fn name(&self) -> &'static str {
        "terraform"
    }

    fn description(&self) -> &'static str {
        "Terraform: aws_security_group per host + one aws_vpc_security_group_*_rule per CIDR x port range"
    }

    fn render(&self, cx: &RenderContext<'_>) -> Result<Rendered, RenderError> {
        let (groups, warnings) = aws_sg::plan(cx, "a security group");
        if groups.is_empty() {
            return Err(RenderError::Unsupported {
                target: "terraform",
                message: "no host in scope (check --env and --host)".into(),
            });
        }
        let mut used = BTreeSet::new();
        let ids: BTreeMap<String, String> = groups
            .iter()
            .map(|g| {
                let mut id = tf_ident(&g.host);
                let mut k = 2;
                while !used.insert(id.clone()) {
                    id = format!("{}_{k}", tf_ident(&g.host));
                    k += 1;
                }
                (g.host.clone(), id)
            })
            .collect();
        // groups referenced by egress but not rendered here: looked up by name
        let outside: BTreeSet<String> = groups
            .iter()
            .flat_map(|g| g.egress.iter())
            .filter_map(|r| match &r.peer {
                Peer::Group(h) if !ids.contains_key(h) => Some(h.clone()),
                _ => None,
            })
            .collect();
        let group_ref = |h: &str| match ids.get(h) {
            Some(id) => format!("aws_security_group.{id}.id"),
            None => format!("data.aws_security_group.{}.id", tf_ident(h)),
        };
        let mut out = String::with_capacity(64 * 1024 + cx.model.bindings.len() * 256);
        out.push_str(&common::header(cx, "#", "Terraform: AWS security groups"));
        out.push_str("# One group per host; inbound is exactly the declared reach of its bindings, outbound\n# exactly the declared flows (Terraform removes the allow-all egress AWS adds to a new\n# group). Attach a group to the host's instances (vpc_security_group_ids).\n");
        out.push_str(&common::warnings_block("#", &warnings));
        out.push_str("\nterraform {\n  required_providers {\n    aws = {\n      source  = \"hashicorp/aws\"\n      version = \">= 5.0\"\n    }\n  }\n}\n\n");
        out.push_str("variable \"vpc_id\" {\n  description = \"The VPC the security groups are created in.\"\n  type        = string\n}\n\n");
        out.push_str("variable \"tags\" {\n  description = \"Tags added to every resource.\"\n  type        = map(string)\n  default     = {}\n}\n\n");
        for h in &outside {
            let _ = writeln!(
                out,
                "# Host `{h}` is outside this file's scope; its group is looked up by name.\ndata \"aws_security_group\" \"{}\" {{\n  name   = {}\n  vpc_id = var.vpc_id\n}}\n",
                tf_ident(h),
                hcl_str(&aws_sg::group_name(h))
            );
        }
        for g in &groups {
            let gid = &ids[&g.host];
            let _ = writeln!(
                out,
                "# ---- host `{}` (environment `{}`) ----",
                g.host, g.environment
            );
            for s in &g.skipped {
                let _ = writeln!(out, "# {s}");
            }
            let _ = writeln!(
                out,
                "resource \"aws_security_group\" \"{gid}\" {{\n  name        = {}\n  description = {}\n  vpc_id      = var.vpc_id\n  tags = merge(var.tags, {{\n    Name        = {}\n    Host        = {}\n    Environment = {}\n    ManagedBy   = \"portolan\"\n  }})\n}}\n",
                hcl_str(&g.name),
                hcl_str(&g.description),
                hcl_str(&g.name),
                hcl_str(&g.host),
                hcl_str(&g.environment),
            );
            rules(&mut out, &mut used, gid, false, &g.ingress, &group_ref);
            if g.egress.is_empty() {
                out.push_str("# No outbound flow is declared for this host: no egress rule (all outbound denied).\n\n");
            }
            rules(&mut out, &mut used, gid, true, &g.egress, &group_ref);
        }
        out.push_str("output \"security_group_ids\" {\n  description = \"Security group id per host.\"\n  value = {\n");
        for (h, id) in &ids {
            let _ = writeln!(out, "    {} = aws_security_group.{id}.id", hcl_str(h));
        }
        out.push_str("  }\n}\n");
        Ok(Rendered {
            text: out,
            warnings,
        })
    }
}

#[cfg(test)]
mod tests {
    //! `terraform` is not packaged for Debian and the tests run offline, so the output is
    //! checked structurally instead of by `terraform validate`: braces balance (outside
    //! strings and comments), every block is `type "label"…{`, identifiers are valid and
    //! unique, each rule resource has exactly the arguments the provider requires, and every
    //! referenced group is declared.

    use std::collections::{BTreeMap, BTreeSet};

    use crate::testutil::{EXAMPLES, example, render, render_str};

    /// Top-level blocks: (header words, body lines).
    fn blocks(text: &str) -> Vec<(Vec<String>, Vec<String>)> {
        let mut out = Vec::new();
        let mut depth = 0i32;
        let mut cur: Option<(Vec<String>, Vec<String>)> = None;
        for line in text.lines() {
            let t = line.trim();
            if t.starts_with('#') || t.is_empty() {
                continue;
            }
            // braces outside strings
            let mut in_str = false;
            let mut prev = ' ';
            let mut delta = 0;
            for c in t.chars() {
                match c {
                    '"' if prev != '\\' => in_str = !in_str,
                    '{' if !in_str => delta += 1,
                    '}' if !in_str => delta -= 1,
                    _ => {}
                }
                prev = c;
            }
            assert!(!in_str, "unterminated string: {line}");
            if depth == 0 {
                assert!(t.ends_with('{'), "top level must open a block: {line}");
                let words = t
                    .trim_end_matches('{')
                    .split_whitespace()
                    .map(|w| w.trim_matches('"').to_string())
                    .collect();
                cur = Some((words, Vec::new()));
            } else if let Some((_, body)) = &mut cur {
                if depth == 1 {
                    body.push(t.to_string());
                }
            }
            depth += delta;
            assert!(depth >= 0, "unbalanced braces at: {line}");
            if depth == 0 {
                out.push(cur.take().expect("block"));
            }
        }
        assert_eq!(depth, 0, "unbalanced braces at end of file");
        out
    }

    fn args(body: &[String]) -> BTreeMap<String, String> {
        body.iter()
            .filter_map(|l| l.split_once(" = ").or_else(|| l.split_once('=')))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect()
    }

    fn valid_ident(s: &str) -> bool {
        s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    }

    /// Asserts the structure; returns (rule resources, groups).
    fn check(text: &str) -> (usize, usize) {
        let mut names = BTreeSet::new();
        let mut groups = BTreeSet::new();
        let mut data = BTreeSet::new();
        let mut refs = BTreeSet::new();
        let mut rules = 0;
        for (words, body) in blocks(text) {
            let a = args(&body);
            match words.first().map(String::as_str) {
                Some("terraform") => {
                    assert!(body.iter().any(|l| l.starts_with("required_providers")));
                }
                Some("variable") => assert!(a.contains_key("type"), "{words:?}"),
                Some("output") => assert!(body.iter().any(|l| l.starts_with("value"))),
                Some("data") => {
                    assert_eq!(words[1], "aws_security_group");
                    assert!(a.contains_key("name") && a.contains_key("vpc_id"));
                    data.insert(words[2].clone());
                }
                Some("resource") => {
                    assert_eq!(words.len(), 3, "{words:?}");
                    assert!(valid_ident(&words[2]), "bad identifier {}", words[2]);
                    assert!(
                        names.insert((words[1].clone(), words[2].clone())),
                        "duplicate {words:?}"
                    );
                    match words[1].as_str() {
                        "aws_security_group" => {
                            for k in ["name", "description", "vpc_id"] {
                                assert!(a.contains_key(k), "{words:?} lacks {k}");
                            }
                            assert_eq!(a["vpc_id"], "var.vpc_id");
                            assert!(body.iter().any(|l| l.starts_with("tags")));
                            groups.insert(words[2].clone());
                        }
                        "aws_vpc_security_group_ingress_rule"
                        | "aws_vpc_security_group_egress_rule" => {
                            rules += 1;
                            for k in ["security_group_id", "ip_protocol", "description", "tags"] {
                                assert!(a.contains_key(k), "{words:?} lacks {k}");
                            }
                            let peers = ["cidr_ipv4", "cidr_ipv6", "referenced_security_group_id"]
                                .iter()
                                .filter(|k| a.contains_key(**k))
                                .count();
                            assert_eq!(peers, 1, "{words:?}: exactly one peer");
                            let all = a["ip_protocol"] == "\"-1\"";
                            assert_eq!(a.contains_key("from_port"), !all, "{words:?}");
                            assert_eq!(a.contains_key("to_port"), !all, "{words:?}");
                            if !all {
                                let lo: u32 = a["from_port"].parse().expect("from_port");
                                let hi: u32 = a["to_port"].parse().expect("to_port");
                                assert!(lo <= hi && hi <= 65535);
                                assert!(
                                    a["ip_protocol"] == "\"tcp\"" || a["ip_protocol"] == "\"udp\""
                                );
                            }
                            let d = a["description"].trim_matches('"');
                            assert!(d.len() <= 255 && !d.contains("${"), "{d}");
                            refs.insert(a["security_group_id"].clone());
                            if let Some(r) = a.get("referenced_security_group_id") {
                                refs.insert(r.clone());
                            }
                        }
                        other => panic!("unexpected resource type {other}"),
                    }
                }
                other => panic!("unexpected block {other:?}"),
            }
        }
        for r in refs {
            let parts: Vec<&str> = r.split('.').collect();
            match parts.as_slice() {
                ["aws_security_group", g, "id"] => assert!(groups.contains(*g), "{r} undeclared"),
                ["data", "aws_security_group", g, "id"] => {
                    assert!(data.contains(*g), "{r} undeclared");
                }
                _ => panic!("bad reference {r}"),
            }
        }
        (rules, groups.len())
    }

    #[test]
    fn examples_are_structurally_valid_terraform() {
        for ex in EXAMPLES {
            let m = example(ex);
            let out = render(&m, "terraform");
            let (rules, groups) = check(&out.text);
            assert_eq!(groups, m.hosts.len(), "{ex}");
            assert!(rules > 0, "{ex}");
            // one rule resource per CIDR × port range: as many as aws-sg has peers
            let json: serde_json::Value =
                serde_json::from_str(&render(&m, "aws-sg").text).expect("json");
            let peers: usize = json["SecurityGroups"]
                .as_array()
                .expect("groups")
                .iter()
                .flat_map(|g| {
                    g["IpPermissions"]
                        .as_array()
                        .expect("in")
                        .iter()
                        .chain(g["IpPermissionsEgress"].as_array().expect("out"))
                })
                .map(|p| {
                    ["IpRanges", "Ipv6Ranges", "UserIdGroupPairs"]
                        .iter()
                        .map(|k| p[*k].as_array().map_or(0, Vec::len))
                        .sum::<usize>()
                })
                .sum();
            assert_eq!(rules, peers, "{ex}");
        }
    }

    #[test]
    fn names_are_sanitised_and_outside_groups_are_looked_up() {
        let spec = r#"
[environments.prod]
[environments.dev]
[hosts."9web-1"]
environment = "prod"
addresses = ["203.0.113.5"]
networks = ["public"]
[hosts.db]
environment = "prod"
addresses = ["203.0.113.6"]
networks = ["public"]
[services.api]
hosts = ["9web-1"]
bindings.http = { port = 8080, exposure = "public", tls = "native" }
[services.pg]
hosts = ["db"]
bindings.pg = { port = 5432, exposure = "internal" }
[[flows]]
from = "api"
to = "pg"
"#;
        let out = render_str(spec, "terraform");
        check(&out.text);
        assert!(
            out.text
                .contains("resource \"aws_security_group\" \"h_9web_1\""),
            "{}",
            out.text
        );
        assert!(
            out.text
                .contains("referenced_security_group_id = aws_security_group.db.id"),
            "{}",
            out.text
        );
        // only the web host in scope: db's group is a data lookup
        let m = portolan_model::load_str("ports.toml", spec).expect("spec");
        let analysis = portolan_lint::Analysis::compute(&m);
        let report = portolan_lint::lint_with(&m, &analysis).expect("lint");
        let cx = crate::RenderContext {
            model: &m,
            analysis: &analysis,
            report: &report,
            environment: None,
            host: Some("9web-1"),
            change_log: None,
        };
        let out = crate::generator("terraform")
            .unwrap()
            .render(&cx)
            .expect("render");
        check(&out.text);
        assert!(
            out.text.contains("data \"aws_security_group\" \"db\""),
            "{}",
            out.text
        );
        assert!(
            out.text.contains("data.aws_security_group.db.id"),
            "{}",
            out.text
        );
    }
}
