//! Loads a spec and prints a summary or the errors: `cargo run -p portolan-model --example check -- ports.toml`.

fn main() -> std::process::ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: check SPEC");
        return std::process::ExitCode::from(2);
    };
    match portolan_model::load(std::path::Path::new(&path)) {
        Ok(m) => {
            println!(
                "ok: {} networks, {} environments, {} hosts, {} projects, {} services, {} binding instances, {} routes, {} flows",
                m.networks.len(),
                m.environments.len(),
                m.hosts.len(),
                m.projects.len(),
                m.services.len(),
                m.bindings.len(),
                m.routes.len(),
                m.flows.len()
            );
            for u in &m.unresolved {
                println!(
                    "unresolved {} `{}` at {} ({})",
                    u.kind.noun(),
                    u.name,
                    m.sources.position(u.loc),
                    u.referrer
                );
            }
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::ExitCode::from(2)
        }
    }
}
