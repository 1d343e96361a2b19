//! Fuzz target: arbitrary bytes as lines of firewall commands (`ufw …`, `iptables …`) the way
//! the Markdown import reads them. Nothing may panic; a rule that comes out has a valid
//! action and port ranges.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portolan_firewall::command::{self, Command};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for line in text.lines() {
        for parsed in [command::ufw(line), command::iptables(line)] {
            if let Some(Command::Add(r) | Command::Delete(r)) = parsed {
                assert!(matches!(r.action, "allow" | "deny"));
                assert!(r.ports.iter().all(|p| p.lo <= p.hi));
            }
        }
    }
});
