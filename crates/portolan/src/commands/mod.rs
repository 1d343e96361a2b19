//! One file per subcommand; `dispatch` picks it.

mod check;
mod completions;
mod discover;
mod exposure;
mod gen_;
mod import;
mod init;
mod kill;
mod lint;
mod ls;
mod move_;
mod observe;
mod probe;
mod schema;
mod who;
// alloc / reserve / release / gc / log
mod alloc;
mod gc;
mod log;
mod release;
mod reserve;
// team registry: serve / token / push / pull / agent, and the HTTP client they share
mod agent;
mod client;
mod pull;
mod push;
mod serve;
mod token;

use crate::error::CliError;
use crate::exit::Exit;
use crate::settings::{Command, Settings};

/// Runs the command of `s`.
pub fn dispatch(s: &Settings) -> Result<Exit, CliError> {
    match &s.command {
        Command::Init {
            force,
            from_host,
            from_discover,
            print,
        } => init::run(s, *force, *from_host, from_discover.as_deref(), *print),
        Command::Discover(d) => discover::run(s, d),
        Command::Import {
            file,
            output,
            force,
        } => import::run(s, file, output.as_deref(), *force),
        Command::Move(m) => move_::run(s, m),
        Command::Lint { report, list_rules } => lint::run(s, *report, *list_rules),
        Command::Check {
            report,
            host,
            probe,
            firewall,
        } => check::run(s, *report, host.as_deref(), *probe, firewall.as_ref()),
        Command::Ls(o) => ls::run(s, o),
        Command::Who { port } => who::run(s, *port),
        Command::Kill(k) => kill::run(s, k),
        Command::Probe(p) => probe::run(s, p),
        Command::Gen {
            target,
            output,
            env,
            host,
        } => gen_::run(
            s,
            target,
            output.as_deref(),
            env.as_deref(),
            host.as_deref(),
        ),
        Command::Exposure { env, host } => exposure::run(s, env.as_deref(), host.as_deref()),
        Command::Schema => schema::run(),
        Command::Completions(shell) => completions::run(*shell),
        Command::Alloc(a) => alloc::run(s, a),
        Command::Reserve(r) => reserve::run(s, r),
        Command::Release {
            target,
            why,
            dry_run,
        } => release::run(s, target, why.as_deref(), *dry_run),
        Command::Gc { dry_run } => gc::run(s, *dry_run),
        Command::Log { project, service } => log::run(s, project.as_deref(), service.as_deref()),
        Command::Serve(o) => serve::run(s, o),
        Command::Token(t) => token::run(s, t),
        Command::Push(r) => push::run(s, r),
        Command::Pull { remote, output } => pull::run(s, remote, output.as_deref()),
        Command::Agent(a) => agent::run(s, a),
    }
}

pub(crate) use lint::print_report;
