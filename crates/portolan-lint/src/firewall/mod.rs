//! Importers for deployed firewall rulesets (`iptables-save`, …): each parses a dump into the
//! same typed [`FwRule`] list, with located errors ([`ParseError`]: line and reason), so
//! drift against the spec can be computed independently of the firewall's syntax.

pub mod iptables;

use portolan_model::{IpNet, PortRange, Transport};

/// What a rule does with a matching packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Let it in (`ACCEPT`, or `RETURN` from `DOCKER-USER`, which hands it on to Docker).
    Accept,
    /// Drop or reject it.
    Drop,
    /// Return to the calling chain.
    Return,
    /// Continue in another chain.
    Jump(String),
}

/// One imported rule (only what reach depends on).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FwRule {
    /// Line in the dump (1-based).
    pub line: usize,
    /// Table (`filter`, `nat`, …).
    pub table: String,
    /// Chain (`INPUT`, `DOCKER-USER`, …).
    pub chain: String,
    /// Source network (`None`: any).
    pub source: Option<IpNet>,
    /// Destination network (`None`: any).
    pub destination: Option<IpNet>,
    /// Transport (`None`: any, unless `other_protocol` is set).
    pub transport: Option<Transport>,
    /// A protocol without ports (`icmp`, `ipv6-icmp`): the rule lets in no binding.
    pub other_protocol: Option<String>,
    /// Destination ports (`None`: any).
    pub dports: Option<Vec<PortRange>>,
    /// Destination port before DNAT (`--ctorigdstport`), for published ports.
    pub orig_dport: Option<PortRange>,
    /// Input interface.
    pub in_iface: Option<String>,
    /// Connection-tracking states matched (`ESTABLISHED`, `DNAT`, …), upper case.
    pub ct_states: Vec<String>,
    /// The rule's comment.
    pub comment: Option<String>,
    /// What it does.
    pub verdict: Verdict,
}

/// A parsed dump.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ruleset {
    /// Default policy per `(table, chain)` of the built-in chains (`ACCEPT`/`DROP`).
    pub policies: Vec<(String, String, Verdict)>,
    /// Rules in file order.
    pub rules: Vec<FwRule>,
}

/// Why a dump could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("line {line}: {reason}")]
pub struct ParseError {
    /// Line (1-based).
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}
