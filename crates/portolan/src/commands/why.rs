//! `portolan why TARGET [--from SOURCE] [--env E] [--host H] [--firewall KIND [--ruleset
//! FILE]]`: who reaches a binding, and why — layer by layer and per address family: the bind
//! address (with its spec line), the host's networks, the publisher (Docker/Podman/`NodePort`
//! DNAT before INPUT), the host firewall (the spec's rules first match, a spec-managed
//! firewall, or a deployed ruleset with its `file:line`), the proxy routes in front, and the
//! verdict. Without `--from`, every source class that gets in (the Internet, each declared
//! network, the containers on the host), each with its trace. `--json` gives
//! `{"target", "from", "instances": [{binding, host, environment, socket, publisher,
//! declared, "sources": [{from, same_host, "families": [{family, sources, reached, verdict,
//! "layers": [{layer, detail, passes, drops, location, decisions: [{what, allow, returned,
//! sources, location}]}], "routes": […]}]}],
//! "stopped_by": [{family, layer, what, location}]}]}` (`stopped_by`: when no source class
//! gets in, which layer stops every address, per family); each location has `file`, `line`,
//! `column` and the `text` of that line. Exit code 0;
//! 2 on a target or source that names nothing (with a suggestion).

use std::fmt::Write as _;
use std::path::PathBuf;

use portolan_lint::expect::{class_of, internet};
use portolan_lint::firewall_drift::show;
use portolan_lint::trace::{self, FamilyTrace, Source, Step};
use portolan_model::expect::{ExpectFrom, parse_source, parse_target};
use portolan_model::{BindingId, Loc, Model, NetId};
use serde_json::{Value, json};

use super::Subcommand;
use super::common::{check_scope, load_dump, pretty};
use crate::cli::FirewallArg;
use crate::error::CliError;
use crate::exit::Exit;
use crate::output;
use crate::settings::Settings;

/// Examples shown after `--help`.
pub const HELP: &str = "\
Examples:
  portolan why odoo.http                       # every source class that gets in
  portolan why postgres.db --from public       # the full trace for one source
  portolan why db1:5432 --from vpn --json
  portolan why kkt-adapter --env production --from pos-lan
  sudo portolan why web.https --host web1 --firewall nftables   # through the live ruleset
  portolan why web.https --host web1 --firewall iptables --ruleset web1.iptables-save

TARGET: service.binding, a service, host:port, or a project (`project:NAME`).
SOURCE: public (or internet), any, host-internal, a network, a host, a service, or a CIDR
(`network:NAME`, `host:NAME`, `service:NAME` when a name is ambiguous).";

/// `portolan why`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to explain: `service.binding`, a service, `host:port`, or a project.
    #[arg(value_name = "TARGET")]
    pub target: String,
    /// Who connects (default: every source class that gets in).
    #[arg(long, value_name = "SOURCE")]
    pub from: Option<String>,
    /// Only the target's instances in this environment.
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
    /// Only the target's instances on this host.
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// Trace the host firewall through its deployed ruleset (live, as root, or --ruleset)
    /// instead of what the spec says.
    #[arg(long, value_enum, value_name = "KIND")]
    pub firewall: Option<FirewallArg>,
    /// Read the deployed ruleset from FILE (`-`: standard input).
    #[arg(long, value_name = "FILE", requires = "firewall")]
    pub ruleset: Option<PathBuf>,
}

impl Subcommand for Args {
    fn run(self, s: &Settings) -> Result<Exit, CliError> {
        run(s, &self)
    }

    fn machine_output(&self) -> bool {
        false
    }
}

/// The source classes traced without `--from`.
fn classes(model: &Model) -> Vec<(String, ExpectFrom)> {
    let mut out = vec![("internet".to_string(), ExpectFrom::Internet)];
    for (k, n) in model.networks.iter().enumerate() {
        if !n.builtin {
            out.push((n.name.clone(), ExpectFrom::Network(NetId::from_index(k))));
        }
    }
    out.push(("host-internal".to_string(), ExpectFrom::HostInternal));
    out
}

fn class_label(model: &Model, from: &ExpectFrom, name: &str) -> String {
    match from {
        ExpectFrom::Internet => format!("{name} (every address outside the private ranges)"),
        ExpectFrom::Any => "any (every address)".into(),
        ExpectFrom::HostInternal => "host-internal (containers on the host)".into(),
        ExpectFrom::Network(id) => format!("{name} ({})", model.network(*id).set),
        ExpectFrom::Host(h) => format!("host {name} ({})", addresses(model, *h)),
        ExpectFrom::Service(_) => format!("service {name}"),
        ExpectFrom::Cidr(n) => n.to_string(),
    }
}

fn addresses(model: &Model, h: portolan_model::HostId) -> String {
    model
        .host(h)
        .addresses
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn location(model: &Model, loc: Option<Loc>) -> Value {
    let Some(loc) = loc else {
        return Value::Null;
    };
    let p = model.sources.position(loc);
    let text = model
        .sources
        .file(loc.file)
        .map(|f| f.line_text(p.line).trim().to_string())
        .unwrap_or_default();
    json!({"file": p.file, "line": p.line, "column": p.column, "text": text})
}

fn at(model: &Model, loc: Option<Loc>) -> String {
    loc.map(|l| {
        let p = model.sources.position(l);
        format!("{}:{}:{}", p.file, p.line, p.column)
    })
    .unwrap_or_default()
}

fn verdict(ft: &FamilyTrace) -> &'static str {
    if ft.reached.is_empty() {
        "not reachable"
    } else if ft.reached == ft.sources {
        "reachable"
    } else {
        "partly reachable"
    }
}

fn family_json(model: &Model, ft: &FamilyTrace) -> Value {
    let mut before = ft.sources.clone();
    let layers: Vec<Value> = ft
        .steps
        .iter()
        .map(|st| {
            let drops = before.difference(&st.passes);
            before = st.passes.clone();
            json!({
                "layer": st.layer.as_str(),
                "detail": st.detail,
                "passes": show(&st.passes),
                "drops": if drops.is_empty() { Value::Null } else { Value::String(show(&drops)) },
                "location": location(model, st.at),
                "decisions": st.decisions.iter().map(|d| json!({
                    "what": d.what,
                    "allow": d.allow,
                    "returned": d.returned,
                    "sources": show(&d.sources),
                    "location": location(model, d.at),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "family": ft.family.as_str(),
        "sources": show(&ft.sources),
        "reached": show(&ft.reached),
        "verdict": verdict(ft),
        "layers": layers,
        "routes": ft.routes.iter().map(|r| json!({
            "detail": r.detail,
            "brings_in": show(&r.passes),
            "location": location(model, Some(r.at)),
        })).collect::<Vec<_>>(),
    })
}

/// Where one layer stops some of every address.
struct Stop {
    layer: &'static str,
    what: String,
    location: Value,
    text: String,
}

/// The layers of `ft` that stop part of its sources, each with what decides there: the
/// firewall's dropping rules, or the layer itself.
fn stops(model: &Model, ft: &FamilyTrace) -> Vec<Stop> {
    let mut out = Vec::new();
    let mut before = ft.sources.clone();
    for st in &ft.steps {
        if !before.difference(&st.passes).is_empty() {
            let drops: Vec<_> = st
                .decisions
                .iter()
                .filter(|d| !d.allow && !d.returned)
                .collect();
            if drops.is_empty() {
                let w = at(model, st.at);
                out.push(Stop {
                    layer: st.layer.as_str(),
                    what: st.detail.clone(),
                    location: location(model, st.at),
                    text: format!(
                        "the {} — {}{}",
                        st.layer.as_str(),
                        st.detail,
                        if w.is_empty() {
                            String::new()
                        } else {
                            format!("  [{w}]")
                        }
                    ),
                });
            }
            for d in drops {
                let w = at(model, d.at);
                let w = if w.is_empty() {
                    d.at_text.clone().unwrap_or_default()
                } else {
                    w
                };
                out.push(Stop {
                    layer: st.layer.as_str(),
                    what: d.what.clone(),
                    location: location(model, d.at),
                    text: format!(
                        "the {} — {}{}",
                        st.layer.as_str(),
                        d.what,
                        if w.is_empty() {
                            String::new()
                        } else {
                            format!("  [{w}]")
                        }
                    ),
                });
            }
        }
        before = st.passes.clone();
    }
    if out.is_empty() {
        out.push(Stop {
            layer: "none",
            what: "nothing: every address of it gets in".into(),
            location: Value::Null,
            text: "nothing".into(),
        });
    }
    out
}

fn step_line(model: &Model, st: &Step, before: &portolan_model::IpSet, out: &mut String) {
    let where_ = at(model, st.at);
    let _ = writeln!(
        out,
        "      {:<9} {}{}",
        st.layer.as_str(),
        st.detail,
        if where_.is_empty() {
            String::new()
        } else {
            format!("  [{where_}]")
        }
    );
    for d in &st.decisions {
        let w = at(model, d.at);
        let w = if w.is_empty() {
            d.at_text.clone().unwrap_or_default()
        } else {
            w
        };
        let _ = writeln!(
            out,
            "                {} → {} {}{}",
            d.what,
            if d.returned {
                "passes on"
            } else if d.allow {
                "lets in"
            } else {
                "drops"
            },
            show(&d.sources),
            if w.is_empty() {
                String::new()
            } else {
                format!("  [{w}]")
            }
        );
    }
    let drops = before.difference(&st.passes);
    if !drops.is_empty() {
        let _ = writeln!(out, "                ✗ stops {}", show(&drops));
    }
}

fn family_text(model: &Model, ft: &FamilyTrace, out: &mut String) {
    let v = verdict(ft);
    let whom = match v {
        "reachable" => " — every address of it".to_string(),
        "partly reachable" => format!(" — {}", show(&ft.reached)),
        _ => String::new(),
    };
    let _ = writeln!(out, "    {}: {v}{whom}", ft.family.as_str());
    let mut before = ft.sources.clone();
    for st in &ft.steps {
        step_line(model, st, &before, out);
        before = st.passes.clone();
    }
    if ft.routes.is_empty() {
        let _ = writeln!(out, "      {:<9} no proxy route in front", "routes");
    }
    for r in &ft.routes {
        let _ = writeln!(
            out,
            "      {:<9} {}  [{}]",
            "route",
            r.detail,
            at(model, Some(r.at))
        );
        if !r.passes.is_empty() {
            let _ = writeln!(out, "                ✓ brings in {}", show(&r.passes));
        }
    }
    let _ = writeln!(
        out,
        "      {:<9} {}",
        "verdict",
        if ft.reached.is_empty() {
            "nobody of it gets in".to_string()
        } else {
            format!("{} gets in", show(&ft.reached))
        }
    );
}

fn run(s: &Settings, a: &Args) -> Result<Exit, CliError> {
    let mut model = s.load()?;
    check_scope(&model, a.env.as_deref(), a.host.as_deref())?;
    let to = parse_target(&model, &a.target)
        .map_err(|e| CliError::Usage(format!("TARGET `{}`: {e}", a.target)))?;
    let from = match &a.from {
        Some(f) => Some((
            f.clone(),
            parse_source(&model, f).map_err(|e| CliError::Usage(format!("--from `{f}`: {e}")))?,
        )),
        None => None,
    };
    let env = a
        .env
        .as_deref()
        .and_then(|e| model.environments.iter().position(|x| x.name == e))
        .map(portolan_model::EnvId::from_index);
    let host = a.host.as_deref().and_then(|h| model.host_named(h));
    let instances: Vec<BindingId> = to
        .instances(&model, env, None)
        .into_iter()
        .filter(|id| host.is_none_or(|h| model.binding(*id).host == h))
        .collect();
    let dump = match a.firewall {
        Some(k) => {
            let mut hosts: Vec<_> = instances.iter().map(|id| model.binding(*id).host).collect();
            hosts.sort_unstable();
            hosts.dedup();
            if hosts.len() > 1 {
                return Err(CliError::Usage(format!(
                    "`{}` is on {} hosts; a ruleset belongs to one: pass --host NAME",
                    a.target,
                    hosts.len()
                )));
            }
            Some(load_dump(&mut model, k.kind(), a.ruleset.as_deref())?)
        }
        None => None,
    };
    let analysis = portolan_lint::Analysis::compute(&model);
    let dump_view = dump.as_ref().map(super::common::LoadedDump::dump);
    let sources: Vec<(String, ExpectFrom)> = match &from {
        Some((name, f)) => vec![(name.clone(), f.clone())],
        None => classes(&model),
    };
    let mut text = String::new();
    let mut items = Vec::new();
    if instances.is_empty() {
        let _ = writeln!(
            text,
            "Nothing the spec declares matches `{}`{}: nothing listens there.",
            a.target,
            [
                a.env.as_deref().map(|e| format!(" in environment `{e}`")),
                a.host.as_deref().map(|h| format!(" on host `{h}`"))
            ]
            .into_iter()
            .flatten()
            .collect::<String>()
        );
    }
    for &id in &instances {
        let b = model.binding(id);
        let hname = &model.host(b.host).name;
        let socket = format!(
            "{}:{}/{}",
            if b.bind.is_ipv6() {
                format!("[{}]", b.bind)
            } else {
                b.bind.to_string()
            },
            b.ports,
            b.transport.as_str()
        );
        let declared = b.exposure_terms(&model).join(", ");
        let _ = writeln!(
            text,
            "{} on host `{hname}` — {socket}, opened by {}, declared: {}",
            b.qualified_name(&model),
            b.publisher.as_str(),
            if declared.is_empty() {
                "nobody"
            } else {
                &declared
            }
        );
        let mut srcs = Vec::new();
        let mut shown = 0;
        for (name, f) in &sources {
            let c = class_of(&model, f, b);
            let src = if matches!(f, ExpectFrom::Internet) {
                Source::addresses(internet().clone())
            } else {
                c.source.clone()
            };
            let traces = if src.set.is_empty() {
                Vec::new()
            } else {
                trace::trace(&model, &analysis, id, &src, dump_view.as_ref())
            };
            let gets_in = c.same_host || traces.iter().any(|t| !t.reached.is_empty());
            if from.is_none() && !gets_in {
                continue;
            }
            shown += 1;
            let _ = writeln!(text, "  from {}:", class_label(&model, f, name));
            if c.same_host {
                let _ = writeln!(
                    text,
                    "    the source runs on host `{hname}` itself: a host always reaches its own ports"
                );
            }
            if traces.is_empty() && !c.same_host {
                let _ = writeln!(text, "    (no address of it to trace)");
            }
            for ft in &traces {
                family_text(&model, ft, &mut text);
            }
            srcs.push(json!({
                "from": name,
                "same_host": c.same_host,
                "families": traces.iter().map(|t| family_json(&model, t)).collect::<Vec<_>>(),
            }));
        }
        let mut stopped = Vec::new();
        if shown == 0 {
            let _ = writeln!(
                text,
                "  nobody beyond the host itself gets in ({})",
                analysis.of(id).total.describe(&model)
            );
            let all = Source::addresses(portolan_model::IpSet::everything());
            for ft in trace::trace(&model, &analysis, id, &all, dump_view.as_ref()) {
                let stops = stops(&model, &ft);
                let _ = writeln!(
                    text,
                    "    {}: stopped by {}",
                    ft.family.as_str(),
                    stops
                        .iter()
                        .map(|s| s.text.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                );
                stopped.extend(stops.into_iter().map(|s| {
                    json!({"family": ft.family.as_str(), "layer": s.layer, "what": s.what,
                           "location": s.location})
                }));
            }
            let _ = writeln!(text, "    (`--from any` shows the whole trace)");
        }
        text.push('\n');
        items.push(json!({
            "binding": b.qualified_name(&model),
            "host": hname,
            "environment": model.environment(b.environment).name,
            "socket": socket,
            "publisher": b.publisher.as_str(),
            "declared": b.exposure_terms(&model),
            "sources": srcs,
            "stopped_by": stopped,
        }));
    }
    if s.json {
        output::stdout(&pretty(&json!({
            "target": a.target,
            "from": a.from,
            "instances": items,
        })))?;
    } else {
        output::stdout(text.trim_end_matches('\n'))?;
        output::stdout("\n")?;
    }
    Ok(Exit::Ok)
}
