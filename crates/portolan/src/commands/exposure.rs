//! `portolan exposure [--env E] [--host H]`: per binding, declared exposure vs effective
//! reach, with the chain of reasons (bind address × networks, publisher, firewall, routes)
//! from the reach analysis — the table a security reviewer asks for. `--json` gives
//! `{"bindings": [{binding, service, name, host, environment, ports, transport, bind,
//! publisher, status, declared, allowed, effective, direct, via_proxy, wider, reasons}]}`.
//! Exit code 0: this is a report; `portolan lint` is the gate (`internal-exposed`).

use std::fmt::Write as _;

use portolan_model::{Binding, Model};
use serde_json::json;

use super::Subcommand;
use super::common::check_scope;
use crate::error::CliError;
use crate::exit::Exit;
use crate::output;
use crate::settings::Settings;

/// Examples shown after `--help`.
pub const HELP: &str = "\
Examples:
  portolan exposure
  portolan exposure --env production --host app1
  portolan exposure --json | jq '.bindings[] | select(.wider)'

A binding marked WIDER is reachable from more than its declared exposure
(`portolan lint` reports it as internal-exposed). Exit code 0; 2 on bad input.";

/// `portolan exposure`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this environment.
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
    /// Only this host.
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
}

impl Subcommand for Args {
    fn run(self, s: &Settings) -> Result<Exit, CliError> {
        run(s, self.env.as_deref(), self.host.as_deref())
    }
}

fn declared(m: &Model, b: &Binding) -> Vec<String> {
    b.exposure_terms(m)
}

fn run(s: &Settings, env: Option<&str>, host: Option<&str>) -> Result<Exit, CliError> {
    let model = s.load()?;
    check_scope(&model, env, host)?;
    let analysis = portolan_lint::Analysis::compute(&model);
    let mut idx: Vec<usize> = (0..model.bindings.len())
        .filter(|i| {
            let b = &model.bindings[*i];
            env.is_none_or(|e| model.environment(b.environment).name == e)
                && host.is_none_or(|h| model.host(b.host).name == h)
        })
        .collect();
    idx.sort_by_key(|i| {
        let b = &model.bindings[*i];
        (
            model.environment(b.environment).name.clone(),
            model.host(b.host).name.clone(),
            b.ports,
            b.transport,
            b.qualified_name(&model),
        )
    });
    let mut rows = Vec::new();
    for &i in &idx {
        let b = &model.bindings[i];
        let r = &analysis.reach[i];
        let mut decl = declared(&model, b).join(", ");
        if b.exposure_loc.is_none() {
            decl.push_str(" (default)");
        }
        rows.push(json!({
            "binding": b.qualified_name(&model),
            "service": model.service(b.service).name,
            "name": b.name,
            "host": model.host(b.host).name,
            "environment": model.environment(b.environment).name,
            "ports": b.ports.to_string(),
            "transport": b.transport.as_str(),
            "bind": b.bind.to_string(),
            "publisher": b.publisher.as_str(),
            "status": b.status.as_str(),
            "declared": declared(&model, b),
            "declared_text": decl,
            "allowed": r.allowed.describe(&model),
            "effective": r.total.describe(&model),
            "direct": r.direct.describe(&model),
            "via_proxy": !r.via_routes.is_empty() && r.proxied.is_remote(),
            "wider": !r.total.is_subset(&r.allowed),
            "reasons": analysis.explain(&model, i),
        }));
    }
    if s.json {
        let v = json!({ "bindings": rows });
        let mut text = serde_json::to_string_pretty(&v).unwrap_or_default();
        text.push('\n');
        output::stdout(&text)?;
        return Ok(Exit::Ok);
    }
    let str_of = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
    let header = ["binding", "host", "port", "declared", "effective reach", ""];
    let table: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                str_of(r, "binding"),
                str_of(r, "host"),
                format!("{}/{}", str_of(r, "ports"), str_of(r, "transport")),
                str_of(r, "declared_text"),
                format!(
                    "{}{}",
                    str_of(r, "effective"),
                    if r["via_proxy"].as_bool() == Some(true) {
                        " (via proxy)"
                    } else {
                        ""
                    }
                ),
                if r["wider"].as_bool() == Some(true) {
                    "WIDER".into()
                } else {
                    "ok".into()
                },
            ]
        })
        .collect();
    let mut width = header.map(str::len);
    for row in &table {
        for (w, c) in width.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: &[String; 6], out: &mut String| {
        let mut l = String::new();
        for (k, c) in cells.iter().enumerate() {
            if k + 1 == cells.len() {
                l.push_str(c);
            } else {
                let pad = width[k] - c.chars().count();
                let _ = write!(l, "{c}{}  ", " ".repeat(pad));
            }
        }
        let _ = writeln!(out, "{}", l.trim_end());
    };
    if table.is_empty() {
        out.push_str("No bindings in scope.\n");
    } else {
        line(&header.map(str::to_uppercase), &mut out);
        for (row, r) in table.iter().zip(&rows) {
            line(row, &mut out);
            for why in r["reasons"].as_array().into_iter().flatten() {
                let _ = writeln!(out, "    - {}", why.as_str().unwrap_or_default());
            }
            if r["wider"].as_bool() == Some(true) {
                let _ = writeln!(out, "    ! declared allows only: {}", str_of(r, "allowed"));
            }
        }
        let wider = table.iter().filter(|r| r[5] == "WIDER").count();
        let _ = writeln!(
            out,
            "\n{} bindings, {wider} reachable from more than declared.",
            table.len()
        );
    }
    output::stdout(&out)?;
    Ok(Exit::Ok)
}
