//! The rule registry: every rule id of DESIGN.md (stable; add, never rename), its default
//! severity and description, and the checks that need only the spec — one file per rule.

pub mod about;
mod browser_unsafe_port;
mod dangling_reference;
mod docker_bypasses_firewall;
mod duplicate_binding;
mod duplicate_host_identity;
mod ephemeral_port;
pub(crate) mod expectation_failed;
mod family_divergence;
mod internal_exposed;
mod out_of_range;
mod overlapping_ranges;
mod privileged_port;
mod public_without_tls;
mod range_exhausted;
mod rule_without_listener;
mod sensitive_without_auth;
pub(crate) mod shadowed_rule;
mod sweep;
mod well_known_collision;

use crate::Context;
use crate::finding::{Finding, Severity};

macro_rules! rules {
    ($($variant:ident => $id:literal, $sev:ident, $spec_only:literal, $desc:literal;)*) => {
        /// A rule id.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Rule { $(#[doc = $desc] $variant,)* }

        impl Rule {
            /// Every rule, in id order of the table.
            pub const ALL: &'static [Rule] = &[$(Rule::$variant,)*];

            /// The stable id (`duplicate-binding`).
            pub fn id(self) -> &'static str { match self { $(Rule::$variant => $id,)* } }

            /// Severity when not configured.
            pub fn default_severity(self) -> Severity { match self { $(Rule::$variant => Severity::$sev,)* } }

            /// One line: when it fires.
            pub fn description(self) -> &'static str { match self { $(Rule::$variant => $desc,)* } }

            /// Whether `portolan lint` runs it (the others need live observations or firewall dumps).
            pub fn spec_only(self) -> bool { match self { $(Rule::$variant => $spec_only,)* } }

            /// The rule with this id.
            pub fn from_id(id: &str) -> Option<Rule> { Rule::ALL.iter().copied().find(|r| r.id() == id) }
        }
    };
}

rules! {
    DuplicateBinding => "duplicate-binding", Error, true, "Two bindings on one host and transport overlap in port and bind address.";
    OutOfRange => "out-of-range", Error, true, "A service's port is outside its project's range or its block, or a block lies outside its project's range.";
    OverlappingRanges => "overlapping-ranges", Error, true, "Two projects' ranges, or two blocks of a project, intersect.";
    WellKnownCollision => "well-known-collision", Warning, true, "A range, block or binding takes a well-known port of other software.";
    InternalExposed => "internal-exposed", Error, true, "Effective reach is wider than the declared exposure.";
    DockerBypassesFirewall => "docker-bypasses-firewall", Error, true, "A Docker-published binding relies on host INPUT firewall rules that Docker skips.";
    PublicWithoutTls => "public-without-tls", Error, true, "Reachable from the public Internet without native TLS or a TLS proxy route.";
    SensitiveWithoutAuth => "sensitive-without-auth", Warning, true, "A database, cache, broker, metrics or admin endpoint is reachable beyond localhost without auth.";
    PrivilegedPort => "privileged-port", Info, true, "A port below 1024 for a service not declared privileged.";
    EphemeralPort => "ephemeral-port", Warning, true, "A fixed binding inside the host's ephemeral port range.";
    BrowserUnsafePort => "browser-unsafe-port", Error, true, "An HTTP(S) service on a port web browsers refuse to open.";
    DanglingReference => "dangling-reference", Error, true, "A name that refers to no host, project, block, network, environment, service or binding.";
    RangeExhausted => "range-exhausted", Warning, true, "A project range or block is at least 90 % used.";
    FirewallDrift => "firewall-drift", Error, false, "An imported firewall ruleset allows or denies differently than the spec requires.";
    UndeclaredListener => "undeclared-listener", Warning, false, "A live listener that no binding declares.";
    DeclaredNotListening => "declared-not-listening", Error, false, "An active binding on this host has no live listener.";
    BindWiderThanDeclared => "bind-wider-than-declared", Error, false, "The live bind address is wider than declared.";
    UnexpectedProcess => "unexpected-process", Warning, false, "The listener belongs to another program than declared.";
    Unreachable => "unreachable", Warning, false, "A declared binding does not accept connections from where portolan probes it (`check --probe`).";
    ExpectationFailed => "expectation-failed", Error, true, "An `[[expect]]` does not hold in the reach model (or live, with `check --probe`).";
    FamilyDivergence => "family-divergence", Warning, true, "A binding that listens on both address families is reachable over one of them from sources it is not reachable from over the other.";
    ShadowedRule => "shadowed-rule", Warning, true, "A firewall rule no packet can reach: earlier rules decide everything it matches.";
    RuleWithoutListener => "rule-without-listener", Warning, true, "A firewall rule opens ports that no binding of the host declares.";
    PublishToDeadPort => "publish-to-dead-port", Error, false, "A container publishes a port that nothing listens on inside it (or only on loopback inside).";
    DuplicateHostIdentity => "duplicate-host-identity", Error, true, "One host name or machine id is claimed by two or more hosts.";
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

type Check = fn(&Context<'_>, &mut Vec<Finding>);

/// The spec-only checks, in rule order.
pub(crate) const CHECKS: &[(Rule, Check)] = &[
    (Rule::DuplicateBinding, duplicate_binding::check),
    (Rule::OutOfRange, out_of_range::check),
    (Rule::OverlappingRanges, overlapping_ranges::check),
    (Rule::WellKnownCollision, well_known_collision::check),
    (Rule::InternalExposed, internal_exposed::check),
    (
        Rule::DockerBypassesFirewall,
        docker_bypasses_firewall::check,
    ),
    (Rule::PublicWithoutTls, public_without_tls::check),
    (Rule::SensitiveWithoutAuth, sensitive_without_auth::check),
    (Rule::PrivilegedPort, privileged_port::check),
    (Rule::EphemeralPort, ephemeral_port::check),
    (Rule::BrowserUnsafePort, browser_unsafe_port::check),
    (Rule::DanglingReference, dangling_reference::check),
    (Rule::RangeExhausted, range_exhausted::check),
    (Rule::ExpectationFailed, expectation_failed::check),
    (Rule::FamilyDivergence, family_divergence::check),
    (Rule::ShadowedRule, shadowed_rule::check),
    (Rule::RuleWithoutListener, rule_without_listener::check),
    (Rule::DuplicateHostIdentity, duplicate_host_identity::check),
];

/// `0.0.0.0:5000/tcp`, `[::]:443/tcp`.
pub(crate) fn socket(b: &portolan_model::Binding) -> String {
    let addr = if b.bind.is_ipv6() {
        format!("[{}]", b.bind)
    } else {
        b.bind.to_string()
    };
    format!("{addr}:{}/{}", b.ports, b.transport.as_str())
}

/// One binding instance per written binding (same service, name and location), so
/// host-independent rules report a line once, not once per host.
pub(crate) fn distinct_defs(
    model: &portolan_model::Model,
) -> impl Iterator<Item = &portolan_model::Binding> {
    // Instances of one written binding are adjacent (grouped by service, name, environment,
    // host), so comparing with the previous instance is enough.
    let mut prev: Option<&portolan_model::Binding> = None;
    model.bindings.iter().filter(move |b| {
        let same = prev.is_some_and(|p| {
            p.service == b.service
                && p.name == b.name
                && p.loc == b.loc
                && p.ports == b.ports
                && p.app == b.app
        });
        prev = Some(b);
        !same
    })
}

/// `service.binding`, plus ` on host H` when the service runs on several hosts.
pub(crate) fn where_(model: &portolan_model::Model, b: &portolan_model::Binding) -> String {
    let s = model.service(b.service);
    if model
        .bindings_of(b.service)
        .iter()
        .any(|x| x.host != b.host)
    {
        format!(
            "`{}.{}` on host `{}`",
            s.name,
            b.name,
            model.host(b.host).name
        )
    } else {
        format!("`{}.{}`", s.name, b.name)
    }
}

/// The declared exposure as written (`localhost`, `lan, vpn`).
pub(crate) fn exposure_label(model: &portolan_model::Model, b: &portolan_model::Binding) -> String {
    let s = b.exposure_label(model);
    if s.is_empty() { "nobody".into() } else { s }
}

/// Whether reach rules apply (a reserved service has no listener).
pub(crate) fn listens(b: &portolan_model::Binding) -> bool {
    b.status != portolan_model::Status::Reserved
}
