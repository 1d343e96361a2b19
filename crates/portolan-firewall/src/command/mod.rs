//! Firewall *commands* as people write them in documents — `ufw allow 8069/tcp`, `ufw allow
//! from 192.168.1.0/24 to any port 8000 proto tcp`, `ufw default deny incoming`, `iptables -A
//! INPUT -p tcp --dport 5432 -s 10.0.0.0/8 -j ACCEPT`, `iptables -P INPUT DROP` — each read
//! into a [`Command`] in spec terms (what it does to the inbound ruleset).
//!
//! `iptables` commands are read by the same option grammar as `iptables-save` dumps
//! (`crate::iptables::options`); ufw application profiles and service names come from the
//! one table in `portolan_model::knowledge::firewall`. A command that cannot be read
//! (`ufw allow NEW_PORT/tcp`, an unknown profile, a malformed address) is `None`: the caller
//! says it was not understood instead of guessing.

mod iptables;
mod ufw;

pub use iptables::iptables;
pub use ufw::ufw;

use portolan_model::port::PortRange;
use portolan_model::spec::Transport;
use portolan_model::words::{self, Syntax};

/// One rule in spec terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// `allow` or `deny`.
    pub action: &'static str,
    /// Destination ports (empty: every port).
    pub ports: Vec<PortRange>,
    /// `None`: both transports.
    pub transport: Option<Transport>,
    /// Source CIDR or address as written (`None`: any).
    pub from: Option<String>,
    /// `ufw insert N` / `iptables -I INPUT N`: 1-based position (`Some(1)` for a bare `-I`).
    pub insert: Option<usize>,
}

/// What a firewall command does to the inbound ruleset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Adds a rule.
    Add(Rule),
    /// Removes a rule (`ufw delete allow 8069/tcp`).
    Delete(Rule),
    /// Sets the default inbound policy (`allow`/`deny`).
    Default(&'static str),
    /// Recognised, but says nothing about inbound rules (`ufw enable`, `ufw status`,
    /// loopback and conntrack rules, outbound rules, other chains).
    Other,
}

/// The command without the prompt or privilege wrapper in front (`$ `, `# `, `sudo `,
/// `doas `).
fn strip_prefixes(cmd: &str) -> &str {
    let mut c = cmd.trim();
    loop {
        let before = c;
        for p in ["sudo ", "$ ", "# ", "doas "] {
            if let Some(r) = c.strip_prefix(p) {
                c = r.trim_start();
            }
        }
        if c == before {
            return c;
        }
    }
}

fn transport(s: &str) -> Option<Transport> {
    match s.to_ascii_lowercase().as_str() {
        "tcp" => Some(Transport::Tcp),
        "udp" => Some(Transport::Udp),
        _ => None,
    }
}

/// A source as a rule states it: `None` for "any source".
fn source(s: &str) -> Option<String> {
    match s.to_ascii_lowercase().as_str() {
        "any" | "anywhere" | "0.0.0.0/0" | "::/0" => None,
        _ => Some(s.to_string()),
    }
}

/// Splits a command line into words with their 1-based columns (in characters), honouring
/// single and double quotes (`'Nginx Full'`, `--comment "a b"`); quotes join into the word
/// they touch and are removed.
pub fn split_words(s: &str) -> Vec<(String, usize)> {
    words::split(s, Syntax::Quoted)
        .words()
        .into_iter()
        .filter(|w| !w.text.is_empty())
        .map(|w| {
            let col = w.column(s);
            (w.text, col)
        })
        .collect()
}

/// Splits a command line into words, honouring single and double quotes.
pub fn split_quoted(s: &str) -> Vec<String> {
    split_words(s).into_iter().map(|(w, _)| w).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_their_columns_and_lose_their_quotes() {
        assert_eq!(
            split_words("ufw allow 'Nginx Full'  x\"y z\"  ''"),
            [
                ("ufw".to_string(), 1),
                ("allow".to_string(), 5),
                ("Nginx Full".to_string(), 11),
                ("xy z".to_string(), 25)
            ]
        );
        assert_eq!(
            split_quoted("grep -E ':(80|443) '"),
            ["grep", "-E", ":(80|443) "]
        );
        assert!(split_words("").is_empty());
    }

    #[test]
    fn prompts_and_privilege_wrappers_are_stripped() {
        assert_eq!(strip_prefixes("  $ sudo  doas ufw enable"), "ufw enable");
        assert_eq!(strip_prefixes("# ufw status"), "ufw status");
    }
}
