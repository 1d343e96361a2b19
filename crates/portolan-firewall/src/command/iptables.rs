//! `iptables …` / `ip6tables …` commands on the `INPUT` chain: `-A`/`-I [N]`/`-D` with a rule
//! (read by the same option grammar as `iptables-save` dumps), `-P INPUT ACCEPT|DROP`; other
//! chains and tables, listing and flushing are [`Command::Other`], and so are rules that say
//! nothing about which ports are open: loopback (`-i lo`), conntrack state, ICMP, targets
//! without a verdict (`-j LOG`).

use portolan_model::port::PortRange;

use super::{Command, Rule, source, split_words, strip_prefixes};
use crate::Verdict;
use crate::iptables::options;

/// The command part of an iptables invocation: what it does to which chain.
#[derive(Default)]
struct Invocation<'a> {
    chain: Option<&'a str>,
    delete: bool,
    insert: Option<usize>,
    table: Option<&'a str>,
}

/// Parses one `iptables …` / `ip6tables …` command on the INPUT chain. `None`: not an
/// iptables command or one that cannot be read.
pub fn iptables(cmd: &str) -> Option<Command> {
    let c = strip_prefixes(cmd);
    let rest = c
        .strip_prefix("iptables ")
        .or_else(|| c.strip_prefix("ip6tables "))?;
    let words = split_words(rest);
    let mut inv = Invocation::default();
    let mut opts: Vec<(String, usize)> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let next = words.get(i + 1).map(|(w, _)| w.as_str());
        match words[i].0.as_str() {
            "-P" | "--policy" => {
                if next? != "INPUT" || inv.table.is_some_and(|t| t != "filter") {
                    return Some(Command::Other);
                }
                return Some(match words.get(i + 2)?.0.as_str() {
                    "ACCEPT" => Command::Default("allow"),
                    "DROP" | "REJECT" => Command::Default("deny"),
                    _ => return None,
                });
            }
            "-A" | "--append" | "-D" | "--delete" => {
                inv.chain = Some(next?);
                inv.delete = matches!(words[i].0.as_str(), "-D" | "--delete");
                i += 1;
            }
            "-I" | "--insert" => {
                inv.chain = Some(next?);
                i += 1;
                inv.insert = Some(1);
                if let Some(n) = words.get(i + 1).and_then(|(n, _)| n.parse::<usize>().ok()) {
                    inv.insert = Some(n);
                    i += 1;
                }
            }
            "-t" | "--table" => {
                inv.table = Some(next?);
                i += 1;
            }
            "-F" | "--flush" | "-X" | "--delete-chain" | "-Z" | "--zero" | "-L" | "--list"
            | "-S" | "--list-rules" | "-N" | "--new-chain" | "-E" | "--rename-chain" => {
                return Some(Command::Other);
            }
            _ => opts.push(words[i].clone()),
        }
        i += 1;
    }
    if inv.chain != Some("INPUT") || inv.table.is_some_and(|t| t != "filter") {
        return Some(Command::Other);
    }
    let parsed = options::rule(&opts, 0, 1, &[], &mut None).ok()?;
    let r = &parsed.rule;
    let target = parsed.target.as_deref()?;
    // a rule for replies (`ESTABLISHED,RELATED`) opens no port; one for `NEW` does
    let stateful = (!r.ct_states.is_empty() && !r.ct_states.iter().any(|s| s == "NEW"))
        || r.unmodelled
            .iter()
            .any(|u| u.contains("--state") || u.contains("--ctstate"));
    if r.in_iface.as_ref().is_some_and(crate::Iface::loopback_only)
        || stateful
        || r.other_protocol.is_some()
    {
        return Some(Command::Other);
    }
    let action = match (target, &r.verdict) {
        (_, Verdict::Accept) => "allow",
        ("DROP" | "REJECT", Verdict::Drop) => "deny",
        _ => return Some(Command::Other),
    };
    let from = match &parsed.source_text {
        Some((_, true)) => return None,
        Some((text, false)) => source(text),
        None => None,
    };
    let ports: Vec<PortRange> = r
        .dports
        .as_ref()
        .map(|p| p.ranges().to_vec())
        .unwrap_or_default();
    let rule = Rule {
        action,
        ports,
        transport: r.transport,
        from,
        insert: inv.insert,
    };
    Some(if inv.delete {
        Command::Delete(rule)
    } else {
        Command::Add(rule)
    })
}
