//! `portolan exposure [--env E] [--host H]`: per binding, declared exposure vs effective
//! reach, with the chain of reasons (bind address × networks, publisher, firewall, routes)
//! from the reach analysis — the table a security reviewer asks for. `--json` gives
//! `{"bindings": [{binding, service, name, host, environment, ports, transport, bind,
//! publisher, status, declared, allowed, effective, direct, via_proxy, wider, reasons}]}`.
//! Exit code 0: this is a report; `portolan lint` is the gate (`internal-exposed`).

use std::fmt::Write as _;
use std::io::Write;

use portolan_model::{Binding, BindingId, Model};
use serde::Serialize;

use super::Subcommand;
use super::common::check_scope;
use crate::error::CliError;
use crate::exit::Exit;
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

/// One binding of `--json` (fields in the order `serde_json` sorts them).
#[derive(Serialize)]
struct Row<'a> {
    allowed: String,
    bind: String,
    binding: String,
    declared: Vec<String>,
    declared_text: String,
    direct: String,
    effective: String,
    environment: &'a str,
    host: &'a str,
    name: &'a str,
    ports: String,
    publisher: &'static str,
    reasons: Vec<String>,
    service: &'a str,
    status: &'static str,
    transport: &'static str,
    via_proxy: bool,
    wider: bool,
}

fn declared_text(m: &Model, b: &Binding) -> String {
    let mut decl = declared(m, b).join(", ");
    if b.exposure_loc.is_none() {
        decl.push_str(" (default)");
    }
    decl
}

fn row<'a>(m: &'a Model, analysis: &portolan_lint::Analysis, id: BindingId) -> Row<'a> {
    let b = m.binding(id);
    let r = analysis.of(id);
    Row {
        allowed: r.allowed.describe(m),
        bind: b.bind.to_string(),
        binding: b.qualified_name(m),
        declared: declared(m, b),
        declared_text: declared_text(m, b),
        direct: r.direct.describe(m),
        effective: r.total.describe(m),
        environment: &m.environment(b.environment).name,
        host: &m.host(b.host).name,
        name: &b.name,
        ports: b.ports.to_string(),
        publisher: b.publisher.as_str(),
        reasons: analysis.explain(m, id),
        service: &m.service(b.service).name,
        status: b.status.as_str(),
        transport: b.transport.as_str(),
        via_proxy: !r.via_routes.is_empty() && r.proxied.is_remote(),
        wider: !r.total.is_subset(&r.allowed),
    }
}

/// `{"bindings": [...]}`, written binding by binding.
fn write_json(
    out: &mut impl Write,
    m: &Model,
    analysis: &portolan_lint::Analysis,
    idx: &[BindingId],
) -> std::io::Result<()> {
    use portolan_lint::report::pretty;
    out.write_all(b"{\n")?;
    pretty::key(out, "bindings", 1)?;
    pretty::array(out, idx.iter().map(|&id| row(m, analysis, id)), 1)?;
    out.write_all(b"\n}\n")
}

fn run(s: &Settings, env: Option<&str>, host: Option<&str>) -> Result<Exit, CliError> {
    let model = s.load()?;
    check_scope(&model, env, host)?;
    let analysis = portolan_lint::Analysis::compute(&model);
    let mut idx: Vec<BindingId> = model
        .binding_ids()
        .filter(|(_, b)| {
            env.is_none_or(|e| model.environment(b.environment).name == e)
                && host.is_none_or(|h| model.host(b.host).name == h)
        })
        .map(|(id, _)| id)
        .collect();
    idx.sort_by_cached_key(|id| {
        let b = model.binding(*id);
        (
            model.environment(b.environment).name.as_str(),
            model.host(b.host).name.as_str(),
            b.ports,
            b.transport,
            b.qualified_name(&model),
        )
    });
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let written = if s.json {
        write_json(&mut out, &model, &analysis, &idx)
    } else {
        write_table(&mut out, &model, &analysis, &idx)
    };
    match written.and_then(|()| out.flush()) {
        Ok(()) => Ok(Exit::Ok),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Exit::Ok),
        Err(e) => Err(CliError::io("cannot write to stdout", e)),
    }
}

/// The table: column widths from every row first, then the rows with their reasons.
fn write_table(
    out: &mut impl Write,
    model: &Model,
    analysis: &portolan_lint::Analysis,
    idx: &[BindingId],
) -> std::io::Result<()> {
    let header = ["binding", "host", "port", "declared", "effective reach", ""];
    let table: Vec<[String; 6]> = idx
        .iter()
        .map(|&id| {
            let b = model.binding(id);
            let r = analysis.of(id);
            let via_proxy = !r.via_routes.is_empty() && r.proxied.is_remote();
            [
                b.qualified_name(model),
                model.host(b.host).name.clone(),
                format!("{}/{}", b.ports, b.transport.as_str()),
                declared_text(model, b),
                format!(
                    "{}{}",
                    r.total.describe(model),
                    if via_proxy { " (via proxy)" } else { "" }
                ),
                if r.total.is_subset(&r.allowed) {
                    "ok".into()
                } else {
                    "WIDER".into()
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
    let line = |cells: &[String; 6], out: &mut dyn Write| {
        let mut l = String::new();
        for (k, c) in cells.iter().enumerate() {
            if k + 1 == cells.len() {
                l.push_str(c);
            } else {
                let pad = width[k] - c.chars().count();
                let _ = write!(l, "{c}{}  ", " ".repeat(pad));
            }
        }
        writeln!(out, "{}", l.trim_end())
    };
    if table.is_empty() {
        return out.write_all(b"No bindings in scope.\n");
    }
    line(&header.map(str::to_uppercase), out)?;
    for (row, &id) in table.iter().zip(idx) {
        line(row, out)?;
        for why in analysis.explain(model, id) {
            writeln!(out, "    - {why}")?;
        }
        if row[5] == "WIDER" {
            let r = analysis.of(id);
            writeln!(
                out,
                "    ! declared allows only: {}",
                r.allowed.describe(model)
            )?;
        }
    }
    let wider = table.iter().filter(|r| r[5] == "WIDER").count();
    writeln!(
        out,
        "\n{}, {wider} reachable from more than declared.",
        super::common::count(table.len() as u64, "binding", None)
    )
}
