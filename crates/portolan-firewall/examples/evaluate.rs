//! Benchmark driver for `bench/firewall.sh`: parses a dump and asks the evaluator who
//! reaches each of PORTS ports spread over 1-65535 (TCP, input hook), either through the
//! port index or by the plain walk over every rule (the reference the index is tested
//! against). Prints the rule count, the ports evaluated and a checksum of the answers (the
//! two modes must print the same first line; the script compares them), then the seconds
//! spent building the evaluator and evaluating (parsing excluded).
//!
//! `cargo run --release -p portolan-firewall --example evaluate -- iptables|nftables|ufw
//! FILE indexed|plain PORTS`

use std::process::ExitCode;

use portolan_firewall::Kind;
use portolan_firewall::eval::{Evaluator, Packet};
use portolan_model::Transport;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [kind, file, mode, ports] = args.as_slice() else {
        eprintln!("usage: evaluate iptables|nftables|ufw FILE indexed|plain PORTS");
        return ExitCode::from(2);
    };
    let kind = match kind.as_str() {
        "iptables" => Kind::Iptables,
        "nftables" => Kind::Nftables,
        "ufw" => Kind::Ufw,
        k => {
            eprintln!("unknown kind `{k}`");
            return ExitCode::from(2);
        }
    };
    let Ok(ports) = ports.parse::<u32>() else {
        eprintln!("PORTS: a number");
        return ExitCode::from(2);
    };
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{file}: {e}");
            return ExitCode::from(2);
        }
    };
    let rs = match kind.parse(&text) {
        Ok(rs) => rs,
        Err(e) => {
            eprintln!("{file}:{e}");
            return ExitCode::from(2);
        }
    };
    let start = std::time::Instant::now();
    let ev = match mode.as_str() {
        "indexed" => Evaluator::new(&rs),
        "plain" => Evaluator::unindexed(&rs),
        m => {
            eprintln!("unknown mode `{m}`");
            return ExitCode::from(2);
        }
    };
    let built = start.elapsed();
    let eval_start = std::time::Instant::now();
    let step = (65535 / ports.max(1)).max(1);
    let mut checksum = 0usize;
    let mut n = 0;
    let mut port = 1u32;
    while port <= 65535 && n < ports {
        let p = u16::try_from(port).unwrap_or(u16::MAX);
        let out = ev.evaluate(&Packet {
            hook: portolan_firewall::Hook::Input,
            transport: Transport::Tcp,
            port: p,
            orig_port: p,
            dest: None,
        });
        checksum = checksum
            .wrapping_mul(31)
            .wrapping_add(out.decisions.len())
            .wrapping_add(out.decisions.iter().map(|d| d.line).sum::<usize>());
        n += 1;
        port += step;
    }
    let evaluated = eval_start.elapsed();
    let rules = rs.rules().count();
    println!("rules={rules} ports={n} checksum={checksum}");
    println!(
        "build_s={:.6} eval_s={:.6}",
        built.as_secs_f64(),
        evaluated.as_secs_f64()
    );
    ExitCode::SUCCESS
}
