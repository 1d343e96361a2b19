//! `portolan gen TARGET`: render an output from the spec, to stdout or atomically to a file.
//! What the target cannot express is in the output as WARNING comments and repeated on
//! stderr (unless `-q`). Per-host targets (firewalls, compose, nginx) need exactly one host
//! in scope: `--host`, or a spec/environment with one host.

use std::path::PathBuf;

use super::Subcommand;
use super::common::check_scope;
use crate::error::CliError;
use crate::exit::Exit;
use crate::output;
use crate::settings::Settings;

/// Examples shown after `--help`.
pub const HELP: &str = "\
Examples:
  portolan gen markdown -o PORTS.md
  portolan gen markdown --env production
  portolan gen nftables --host app1 -o portolan.nft && nft -c -f portolan.nft
  portolan gen iptables --host app1 > /etc/iptables/rules.v4
  portolan gen compose --host dev -o docker-compose.override.yml
  portolan gen terraform --env production -o security-groups.tf
  portolan gen k8s-netpol --env production | kubectl apply -f -
  portolan gen env --env development > .env

Firewall, compose and nginx targets render one machine: pass --host when several
hosts are in scope. What a target cannot express is written into the output as a
WARNING comment and repeated on stderr.";

/// `portolan gen`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to render.
    #[arg(value_parser = TargetParser)]
    pub target: &'static dyn portolan_render::Generator,
    /// Write to FILE (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Only this environment.
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
    /// Only this host (firewall, compose and nginx targets render one host).
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
}

impl Subcommand for Args {
    fn run(self, s: &Settings) -> Result<Exit, CliError> {
        run(
            s,
            self.target,
            self.output.as_deref(),
            self.env.as_deref(),
            self.host.as_deref(),
        )
    }
}

/// The targets of [`portolan_render::generators`] as clap values: names, one-line help
/// from each generator's description, "did you mean" and the list on a wrong one.
#[derive(Clone, Copy)]
struct TargetParser;

impl clap::builder::TypedValueParser for TargetParser {
    type Value = &'static dyn portolan_render::Generator;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Self::Value, clap::Error> {
        let name =
            clap::builder::PossibleValuesParser::new(self.possible_values().into_iter().flatten())
                .parse_ref(cmd, arg, value)?;
        portolan_render::generator(&name)
            .ok_or_else(|| clap::Error::new(clap::error::ErrorKind::InvalidValue).with_cmd(cmd))
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(portolan_render::generators().iter().map(|g| {
            clap::builder::PossibleValue::new(g.name()).help(g.description())
        })))
    }
}

fn run(
    s: &Settings,
    generator: &'static dyn portolan_render::Generator,
    out: Option<&std::path::Path>,
    env: Option<&str>,
    host: Option<&str>,
) -> Result<Exit, CliError> {
    let model = s.load()?;
    check_scope(&model, env, host)?;
    let target = generator.name();
    let analysis = portolan_lint::Analysis::compute(&model);
    portolan_model::timings::phase("reach");
    // only targets that print findings pay for the lint rules
    let report = if generator.needs_findings() {
        portolan_lint::lint_with(&model, &analysis).map_err(CliError::config(&model))?
    } else {
        portolan_lint::Report::default()
    };
    // the change log kept beside the spec by alloc/reserve/release/gc, when there is one
    let change_log = match s
        .spec_file()?
        .map(|spec| portolan_alloc::log::read(&portolan_alloc::log::path_for(&spec)))
    {
        Some(Ok((entries, _))) if !entries.is_empty() => Some(portolan_alloc::log::table(&entries)),
        _ => None,
    };
    let cx = portolan_render::RenderContext {
        model: &model,
        analysis: &analysis,
        report: &report,
        environment: env,
        host,
        change_log: change_log.as_deref(),
    };
    if generator.per_host() {
        let hosts = cx.hosts();
        if hosts.len() != 1 {
            let names: Vec<&str> = hosts.iter().map(|h| model.host(*h).name.as_str()).collect();
            return Err(CliError::Usage(if names.is_empty() {
                format!("`gen {target}` renders one host, and no host is in scope")
            } else {
                format!(
                    "`gen {target}` renders one host's configuration; pass --host (hosts in scope: {})",
                    names.join(", ")
                )
            }));
        }
    }
    let rendered = generator.render(&cx)?;
    portolan_model::timings::phase("render");
    if s.verbosity >= 0 {
        for w in &rendered.warnings {
            errln!("warning: {target}: {w}");
        }
    }
    match out {
        Some(p) => output::atomic_write(p, &rendered.text)?,
        None => output::stdout(&rendered.text)?,
    }
    portolan_model::timings::phase("write");
    Ok(Exit::Ok)
}
