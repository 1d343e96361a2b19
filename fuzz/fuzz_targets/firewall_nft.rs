//! Fuzz target: arbitrary bytes as `nft list ruleset` output → parse → evaluate every
//! port of a few bindings on both paths. Nothing may panic; errors must point inside the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portolan_firewall::{Hook, nft, eval};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match nft::parse(text) {
        Ok(rs) => {
            for hook in [Hook::Input, Hook::Forward] {
                for port in [0, 22, 80, 443, 8000, 65535] {
                    let _ = eval::evaluate(&rs, &eval::Packet {
                        hook,
                        transport: portolan_model::Transport::Tcp,
                        port,
                        orig_port: port,
                        dest: None,
                    });
                }
            }
        }
        Err(e) => assert!(e.line >= 1 && e.line <= text.lines().count().max(1) && e.column >= 1),
    }
});
