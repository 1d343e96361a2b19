//! The command parsers: `ufw …` and `iptables …` as documents write them.

use portolan_firewall::command::{Command, Rule, iptables, ufw};
use portolan_model::Transport;

#[test]
fn ufw_commands() {
    let Some(Command::Add(r)) = ufw("sudo ufw allow 8069/tcp") else {
        panic!()
    };
    assert_eq!(
        (r.action, r.ports[0].lo, r.from.as_deref()),
        ("allow", 8069, None)
    );
    let Some(Command::Add(r)) = ufw("ufw allow from 192.168.1.0/24 to any port 8000") else {
        panic!()
    };
    assert_eq!(
        (r.from.as_deref(), r.ports[0].lo, r.transport),
        (Some("192.168.1.0/24"), 8000, None)
    );
    let Some(Command::Add(r)) = ufw("ufw deny 5432") else {
        panic!()
    };
    assert_eq!((r.action, r.ports[0].lo), ("deny", 5432));
    let Some(Command::Add(r)) = ufw("ufw allow proto tcp from 10.0.0.0/8 to any port 80,443")
    else {
        panic!()
    };
    assert_eq!(r.ports.len(), 2);
    assert_eq!(
        ufw("ufw default deny incoming"),
        Some(Command::Default("deny"))
    );
    assert_eq!(ufw("ufw enable"), Some(Command::Other));
    assert_eq!(ufw("ufw allow NEW_PORT/tcp"), None);
    assert_eq!(ufw("echo ufw"), None);
}

#[test]
fn iptables_commands() {
    let Some(Command::Add(r)) =
        iptables("iptables -A INPUT -p tcp --dport 5432 -s 10.0.0.0/8 -j ACCEPT")
    else {
        panic!()
    };
    assert_eq!(
        (r.action, r.ports[0].lo, r.from.as_deref()),
        ("allow", 5432, Some("10.0.0.0/8"))
    );
    let Some(Command::Add(r)) =
        iptables("sudo iptables -I INPUT -p udp -m multiport --dports 53,123 -j DROP")
    else {
        panic!()
    };
    assert_eq!((r.action, r.ports.len(), r.insert), ("deny", 2, Some(1)));
    assert_eq!(
        iptables("iptables -P INPUT DROP"),
        Some(Command::Default("deny"))
    );
    assert_eq!(
        iptables("iptables -A OUTPUT -p tcp --dport 443 -j ACCEPT"),
        Some(Command::Other)
    );
}

#[test]
fn ufw_forms() {
    let Some(Command::Add(r)) =
        ufw("sudo ufw allow from 192.168.1.0/24 to any port 8000 proto tcp")
    else {
        panic!()
    };
    assert_eq!(
        (r.from.as_deref(), r.ports[0].lo, r.transport),
        (Some("192.168.1.0/24"), 8000, Some(Transport::Tcp))
    );
    let Some(Command::Add(r)) = ufw("ufw allow 5000:5399/tcp") else {
        panic!()
    };
    assert_eq!((r.ports[0].lo, r.ports[0].hi), (5000, 5399));
    assert_eq!(
        ufw("ufw default deny incoming"),
        Some(Command::Default("deny"))
    );
    assert_eq!(ufw("ufw default allow outgoing"), Some(Command::Other));
    assert!(matches!(
        ufw("ufw deny 5432"),
        Some(Command::Add(Rule { action: "deny", .. }))
    ));
    assert!(matches!(
        ufw("ufw delete allow 8069/tcp"),
        Some(Command::Delete(_))
    ));
    assert_eq!(ufw("ufw allow NEW_PORT/tcp"), None);
    assert!(matches!(ufw("ufw allow 'Nginx Full'"), Some(Command::Add(r)) if r.ports.len() == 2));
}

#[test]
fn iptables_forms() {
    let Some(Command::Add(r)) =
        iptables("iptables -A INPUT -p tcp --dport 5432 -s 10.0.0.0/8 -j ACCEPT")
    else {
        panic!()
    };
    assert_eq!(
        (r.from.as_deref(), r.ports[0].lo),
        (Some("10.0.0.0/8"), 5432)
    );
    assert_eq!(
        iptables("iptables -P INPUT DROP"),
        Some(Command::Default("deny"))
    );
    assert_eq!(
        iptables("iptables -A INPUT -i lo -j ACCEPT"),
        Some(Command::Other)
    );
    assert_eq!(
        iptables("iptables -A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT"),
        Some(Command::Other)
    );
}

/// The iptables command parser reads options with the dump grammar: negation, ICMP,
/// conntrack, tables and quoted comments mean what iptables makes of them.
#[test]
fn iptables_commands_share_the_dump_option_grammar() {
    // a negated source cannot be written as a spec rule's `from`: not understood
    assert_eq!(
        iptables("iptables -A INPUT ! -s 10.0.0.0/8 -p tcp --dport 22 -j ACCEPT"),
        None
    );
    // ICMP opens no port
    assert_eq!(
        iptables("iptables -A INPUT -p icmp --icmp-type echo-request -j ACCEPT"),
        Some(Command::Other)
    );
    // a NEW-state rule opens its port; a replies-only rule does not
    let Some(Command::Add(r)) =
        iptables("iptables -A INPUT -p tcp -m conntrack --ctstate NEW --dport 2222 -j ACCEPT")
    else {
        panic!()
    };
    assert_eq!((r.ports[0].lo, r.transport), (2222, Some(Transport::Tcp)));
    assert_eq!(
        iptables("iptables -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT"),
        Some(Command::Other)
    );
    // another table, a target without a verdict
    assert_eq!(
        iptables("iptables -t nat -A INPUT -p tcp --dport 80 -j ACCEPT"),
        Some(Command::Other)
    );
    assert_eq!(
        iptables("iptables -A INPUT -p tcp --dport 80 -j LOG --log-prefix 'in: '"),
        Some(Command::Other)
    );
    // quoted comments are one word; port ranges and negated ports are sets
    let Some(Command::Add(r)) = iptables(
        "iptables -A INPUT -p udp --dport 6000:6007 -m comment --comment 'x11 forwarding' -j REJECT --reject-with icmp-port-unreachable",
    ) else {
        panic!()
    };
    assert_eq!(
        (r.action, r.ports[0].lo, r.ports[0].hi, r.transport),
        ("deny", 6000, 6007, Some(Transport::Udp))
    );
    let Some(Command::Add(r)) = iptables("iptables -A INPUT -p tcp ! --dport 22 -j DROP") else {
        panic!()
    };
    assert_eq!(
        r.ports.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["0-21", "23-65535"]
    );
    // no target: not understood; a malformed address: not understood
    assert_eq!(iptables("iptables -A INPUT -p tcp --dport 22"), None);
    assert_eq!(
        iptables("iptables -A INPUT -s 10.0.0.300 -p tcp --dport 22 -j ACCEPT"),
        None
    );
    // `-D` anywhere deletes; `--src` is `-s`
    let Some(Command::Delete(r)) =
        iptables("iptables -p tcp --dport 22 --src 192.168.1.0/24 -D INPUT -j ACCEPT")
    else {
        panic!()
    };
    assert_eq!(r.from.as_deref(), Some("192.168.1.0/24"));
}

/// Profiles and service names come from the one table in `portolan_model::knowledge`, in any
/// letter case; a profile brings its transport, as ufw applies it.
#[test]
fn ufw_profiles_and_service_names_come_from_the_knowledge_table() {
    let Some(Command::Add(r)) = ufw("ufw allow 'nginx full'") else {
        panic!()
    };
    assert_eq!((r.ports.len(), r.transport), (2, Some(Transport::Tcp)));
    let Some(Command::Add(r)) = ufw("ufw allow from 10.0.0.0/8 to any app OpenSSH") else {
        panic!()
    };
    assert_eq!(
        (r.ports[0].lo, r.transport, r.from.as_deref()),
        (22, Some(Transport::Tcp), Some("10.0.0.0/8"))
    );
    let Some(Command::Add(r)) = ufw("ufw allow 'Dovecot Secure IMAP'") else {
        panic!()
    };
    assert_eq!(r.ports[0].lo, 993);
    let Some(Command::Add(r)) = ufw("ufw allow postgresql") else {
        panic!()
    };
    assert_eq!((r.ports[0].lo, r.transport), (5432, None));
    assert_eq!(ufw("ufw allow 'My App'"), None);
}

/// The `firewall_commands` fuzz corpus replays through both command parsers: no panic, and
/// the saved inputs still read as the rules they were written for.
#[test]
fn command_fuzz_corpus_replays_through_the_parsers() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus/firewall_commands");
    let mut rules = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus") {
        let bytes = std::fs::read(entry.expect("entry").path()).expect("read");
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue;
        };
        for line in text.lines() {
            for parsed in [ufw(line), iptables(line)] {
                if let Some(Command::Add(r) | Command::Delete(r)) = parsed {
                    assert!(matches!(r.action, "allow" | "deny"), "{line}");
                    rules += 1;
                }
            }
        }
    }
    assert!(rules >= 8, "only {rules} rules read from the corpus");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

    /// Arbitrary text after `ufw ` / `iptables ` never panics.
    #[test]
    fn command_parsers_never_panic(tail in "\\PC{0,120}") {
        let _ = ufw(&format!("ufw {tail}"));
        let _ = iptables(&format!("iptables {tail}"));
        let _ = iptables(&format!("sudo ip6tables -A INPUT {tail}"));
    }
}
