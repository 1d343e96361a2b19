//! # portolan-firewall
//!
//! Everything portolan knows about host firewalls, below the spec rules that use it:
//!
//! - the rule model ([`Ruleset`], [`Chain`], [`FwRule`], [`Verdict`], [`Hook`]);
//! - importers for deployed rulesets — `iptables-save` ([`iptables`]), `nft list ruleset`
//!   ([`nft`]: lexer, parser, mapping) and `ufw status verbose` ([`ufw`]);
//! - parsers for firewall *commands* as people write them in documents (`ufw allow …`,
//!   `iptables -A INPUT …`: [`command`]), built on the same option grammar as the importers
//!   and the one ufw profile table in `portolan_model::knowledge::ufw`;
//! - the evaluator ([`eval`]) that turns a ruleset into "who can open a connection to this
//!   port".
//!
//! Every importer produces the same [`Ruleset`]: chains (with the netfilter hook and policy
//! of the base chains) holding [`FwRule`]s that keep only what reach depends on — sources as
//! an [`IpSet`] (address family restrictions such as `meta nfproto ipv4` or a `(v6)` ufw rule
//! are folded into it), transport, destination ports, interface, conntrack state, verdict and
//! the line the rule came from. Matches the model does not keep are listed in
//! [`FwRule::unmodelled`] so a finding can say its reading is an approximation. Errors are
//! typed and located ([`ParseError`]: line, column and reason); no importer panics on any
//! input (property tests and a fuzz target per format check that).
//!
//! Comparing an evaluated ruleset with the spec (`firewall-drift`) is `portolan-lint`'s job;
//! this crate knows nothing about specs beyond the address and port sets of
//! `portolan-model`.
#![deny(missing_docs)]

mod addr;
pub mod command;
pub mod eval;
pub mod index;
pub mod iptables;
pub mod nft;
pub mod shadow;
pub mod ufw;

pub use addr::{addr_set, all_v4, all_v6, range_set};

#[cfg(test)]
mod testutil;

use portolan_model::{IpSet, PortSet, Transport};

/// Which syntax a dump is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `iptables-save` / `ip6tables-save`.
    Iptables,
    /// `nft list ruleset`.
    Nftables,
    /// `ufw status verbose`.
    Ufw,
}

impl Kind {
    /// `iptables`, `nftables`, `ufw`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Iptables => "iptables",
            Kind::Nftables => "nftables",
            Kind::Ufw => "ufw",
        }
    }

    /// Parses a dump of this kind.
    ///
    /// # Errors
    /// The first place that is not valid syntax of this kind.
    pub fn parse(self, text: &str) -> Result<Ruleset, ParseError> {
        match self {
            Kind::Iptables => iptables::parse(text),
            Kind::Nftables => nft::parse(text),
            Kind::Ufw => ufw::parse(text),
        }
    }
}

/// What a rule does with a matching packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Let it in (`ACCEPT`, `accept`, ufw `ALLOW`/`LIMIT`).
    Accept,
    /// Drop or reject it.
    Drop,
    /// Return to the calling chain (at the end of a base chain: its policy).
    Return,
    /// Continue in another chain, then come back.
    Jump(String),
    /// Continue in another chain, without coming back.
    Goto(String),
    /// No verdict (a counter, `LOG`, `MARK`, `dnat`, …): the next rule decides.
    Continue,
}

/// The netfilter hook a base chain is attached to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Hook {
    /// Packets for this host (`INPUT`, `hook input`).
    Input,
    /// Packets routed through it — including Docker-published ports after DNAT
    /// (`FORWARD`, `hook forward`).
    Forward,
}

/// An interface match (`-i eth0`, `iifname != "lo"`, ufw `on eth0`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Iface {
    /// Interface names (`eth*` wildcards kept as written).
    pub names: Vec<String>,
    /// `!` / `!=`.
    pub negated: bool,
}

impl Iface {
    /// Whether only loopback traffic can match (`-i lo`): never a remote source.
    pub fn loopback_only(&self) -> bool {
        !self.negated && !self.names.is_empty() && self.names.iter().all(|n| n == "lo")
    }

    /// Whether every remote source can match (`! -i lo`).
    pub fn all_remote(&self) -> bool {
        self.negated && self.names.iter().all(|n| n == "lo")
    }
}

/// One imported rule (only what reach depends on).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FwRule {
    /// Line in the dump (1-based).
    pub line: usize,
    /// Sources it matches (`None`: any source the chain sees).
    pub source: Option<IpSet>,
    /// Destinations it matches (`None`: any).
    pub destination: Option<IpSet>,
    /// Transport (`None`: any, unless `other_protocol` is set).
    pub transport: Option<Transport>,
    /// A protocol without ports (`icmp`, `ipv6-icmp`): the rule lets in no binding.
    pub other_protocol: Option<String>,
    /// Destination ports (`None`: any).
    pub dports: Option<PortSet>,
    /// Destination ports before DNAT (`--ctorigdstport`, `ct original proto-dst`): what a
    /// published port is matched by in the forward path.
    pub orig_dports: Option<PortSet>,
    /// Input interface.
    pub in_iface: Option<Iface>,
    /// Connection-tracking states matched (`ESTABLISHED`, `NEW`, `DNAT`, …), upper case;
    /// empty: any.
    pub ct_states: Vec<String>,
    /// Matches kept as written but not modelled (`-m limit`, `tcp flags …`): the rule is read
    /// as if they always matched.
    pub unmodelled: Vec<String>,
    /// The rule's comment.
    pub comment: Option<String>,
    /// What it does.
    pub verdict: Verdict,
}

impl FwRule {
    /// A rule at `line` that matches everything and continues.
    pub fn new(line: usize) -> Self {
        Self {
            line,
            source: None,
            destination: None,
            transport: None,
            other_protocol: None,
            dports: None,
            orig_dports: None,
            in_iface: None,
            ct_states: Vec::new(),
            unmodelled: Vec::new(),
            comment: None,
            verdict: Verdict::Continue,
        }
    }

    /// Narrows the sources to `set` (intersection with what is already required).
    pub fn restrict_source(&mut self, set: &IpSet) {
        self.source = Some(match &self.source {
            Some(s) => s.intersection(set),
            None => set.clone(),
        });
    }
}

/// One chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chain {
    /// Table (`filter`, `inet portolan`, `ufw`).
    pub table: String,
    /// Chains that can jump to each other share a table group (iptables' IPv4 and IPv6
    /// `filter` tables are two groups).
    pub group: usize,
    /// Name (`INPUT`, `DOCKER-USER`, `input`).
    pub name: String,
    /// Line of its header (`:INPUT DROP [0:0]`, `chain input {`).
    pub line: usize,
    /// For a filtering base chain: its hook.
    pub hook: Option<Hook>,
    /// Priority among the base chains of one hook (lower first).
    pub priority: i64,
    /// Policy of a base chain, with its line.
    pub policy: Option<(Verdict, usize)>,
    /// The addresses this chain sees (an `ip` table only IPv4, an IPv6 dump only IPv6).
    pub scope: IpSet,
    /// Rules in order.
    pub rules: Vec<FwRule>,
}

/// A parsed dump.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ruleset {
    /// Chains in dump order.
    pub chains: Vec<Chain>,
    /// The address families the dump speaks for (`iptables-save` alone says nothing about
    /// IPv6).
    pub covered: IpSet,
    /// The firewall is switched off (`Status: inactive`).
    pub inactive: bool,
}

impl Ruleset {
    /// Every rule, with its chain.
    pub fn rules(&self) -> impl Iterator<Item = (&Chain, &FwRule)> {
        self.chains
            .iter()
            .flat_map(|c| c.rules.iter().map(move |r| (c, r)))
    }
}

/// Why a dump could not be read.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("line {line}, column {column}: {reason}")]
pub struct ParseError {
    /// Line (1-based).
    pub line: usize,
    /// Column (1-based, in characters).
    pub column: usize,
    /// What is wrong.
    pub reason: String,
}

impl ParseError {
    /// An error at `line`:`column`.
    pub fn new(line: usize, column: usize, reason: impl Into<String>) -> Self {
        Self {
            line,
            column,
            reason: reason.into(),
        }
    }
}
