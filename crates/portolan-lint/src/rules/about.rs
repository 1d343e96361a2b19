//! What each rule is for, in the words reports and documentation show: a human name, a
//! paragraph on why it matters, how to fix it (Markdown), tags and — for the rules about
//! who can reach what — a CVSS-like `security-severity` that code-scanning UIs rank by.
//! `docs/rules.md` is generated from this table (a test keeps it current), and SARIF's rule
//! descriptors link to its sections.

use crate::rules::Rule;

/// Where the rule reference lives; each rule has a section with its id as anchor.
pub const DOCS_URL: &str = "https://github.com/portolan/portolan/blob/main/docs/rules.md";

/// The documentation of one rule.
#[derive(Clone, Copy, Debug)]
pub struct About {
    /// A human name, distinct from the id (`DuplicateBinding`).
    pub name: &'static str,
    /// Why the rule exists, a paragraph of plain text.
    pub why: &'static str,
    /// How to fix or silence a finding (Markdown).
    pub fix: &'static str,
    /// Categories: `security` for reachability rules (code scanning lists those as security
    /// alerts), `correctness`, `maintainability`, `availability`; plus topic tags.
    pub tags: &'static [&'static str],
    /// 0.0–10.0 for security rules (GitHub: ≥ 9 critical, ≥ 7 high, ≥ 4 medium, else low).
    pub security_severity: Option<&'static str>,
}

impl Rule {
    /// The rule's documentation.
    pub fn about(self) -> About {
        about(self)
    }

    /// The link to the rule's section of `docs/rules.md`.
    pub fn help_uri(self) -> String {
        format!("{DOCS_URL}#{}", self.id())
    }
}

const SUPPRESS: &str = "If the finding is intended, suppress it for one service with a reason:\n\n```toml\n[[services.NAME.lint.allow]]\nrule = \"RULE\"\nreason = \"why this is fine\"\n```\n\nor for the whole spec with `[lint] allow = [\"RULE\"]`.";

/// The documented rules (a rule missing here gets a generic entry; a test fails).
const ABOUT: &[(Rule, About)] = &[
    (
        Rule::DuplicateBinding,
        About {
            name: "DuplicateBinding",
            why: "Two bindings on the same host and transport claim overlapping ports on overlapping addresses (0.0.0.0 and :: overlap every address of their family, and :: takes IPv4 too on a dual-stack host). Only one of the two processes can listen: the other fails to start, or — with SO_REUSEPORT — the kernel splits connections between them. A binding that overlaps more than three earlier ones (say, a thousand services on `1-65535`) is reported once, naming the first three and counting the rest.",
            fix: "Give one of the services another port (`portolan alloc` picks a free one), bind them to different addresses, or place them on different hosts. Two environments never collide: declare a per-environment override when a service moves.",
            tags: &["correctness", "availability", "ports"],
            security_severity: None,
        },
    ),
    (
        Rule::OutOfRange,
        About {
            name: "PortOutsideProjectRange",
            why: "A service uses a port outside the range (or block) of the project that owns it, or a block reaches outside its project's range. Ranges are how teams avoid stepping on each other; a port outside its range can be handed to another project by `portolan alloc`.",
            fix: "Move the service into its project's range (`portolan move SVC --to PORT`), widen the range, or attach the service to the project whose range holds the port.",
            tags: &["correctness", "maintainability", "ports"],
            security_severity: None,
        },
    ),
    (
        Rule::OverlappingRanges,
        About {
            name: "OverlappingProjectRanges",
            why: "Two projects' ranges, or two blocks of one project, share ports, so allocations from one can collide with the other. A range that overlaps more than three others is reported once, naming the first three and counting the rest.",
            fix: "Split the shared ports between the two ranges or blocks (a range may be a list: `range = \"5000-5099, 5200-5299\"`).",
            tags: &["correctness", "maintainability", "ports"],
            security_severity: None,
        },
    ),
    (
        Rule::WellKnownCollision,
        About {
            name: "WellKnownPortCollision",
            why: "A range, block or binding takes a port that well-known software listens on by default (5432 PostgreSQL, 6379 Redis, …). The next person who installs that software on the host gets a port conflict, and scanners misread the service.",
            fix: "Exclude the port from the range (`range = \"5400-5431, 5433-5499\"`) or move the binding; if the binding *is* that software, say so with `app = \"postgres\"`.",
            tags: &["correctness", "ports"],
            security_severity: None,
        },
    ),
    (
        Rule::InternalExposed,
        About {
            name: "ExposureWiderThanDeclared",
            why: "The computed reach of a binding — its bind address, the networks of its host, Docker or NodePort publishing, firewall rules and reverse-proxy routes — is wider than the exposure the spec declares. Something meant for localhost or a private network can be reached from further away.",
            fix: "Narrow the reach (bind to `127.0.0.1` or a private address, publish to `127.0.0.1:PORT` only, add a firewall rule, remove the route) or, if the wider reach is intended, declare it: `exposure = \"public\"` with `auth`/`tls` as needed. `portolan lint -v` shows each layer.",
            tags: &["security", "network", "exposure"],
            security_severity: Some("8.2"),
        },
    ),
    (
        Rule::DockerBypassesFirewall,
        About {
            name: "DockerPublishBypassesFirewall",
            why: "Docker (and rootful Podman, and Kubernetes NodePorts) publish ports with DNAT in PREROUTING, so packets never traverse the host's INPUT chain: ufw or iptables INPUT rules that seem to restrict the port do nothing.",
            fix: "Publish on a specific address (`127.0.0.1:8080:80`), filter in the `DOCKER-USER` chain or nftables' forward hook (`portolan gen nftables` writes those rules), or declare the port's real exposure.",
            tags: &["security", "network", "firewall", "docker"],
            security_severity: Some("8.6"),
        },
    ),
    (
        Rule::PublicWithoutTls,
        About {
            name: "PublicWithoutTls",
            why: "A binding reachable from the public Internet speaks cleartext: neither the service (`tls = \"native\"`) nor a TLS-terminating proxy route in front of it protects credentials and data in transit.",
            fix: "Terminate TLS in the service or in a reverse proxy (declare the route and `tls = \"proxy\"`), or narrow the exposure. A plain-HTTP listener that only redirects to HTTPS is declared with `redirect = true`.",
            tags: &["security", "network", "tls", "exposure"],
            security_severity: Some("7.4"),
        },
    ),
    (
        Rule::SensitiveWithoutAuth,
        About {
            name: "SensitiveServiceWithoutAuth",
            why: "A database, cache, message broker, metrics endpoint or admin/debug UI is reachable beyond localhost while the spec says it does not require authentication.",
            fix: "Require authentication (and declare `auth = true`), or bind it to localhost or a private network it is meant for. Declare `sensitive = false` when the guess from `app` is wrong.",
            tags: &["security", "network", "authentication"],
            security_severity: Some("7.5"),
        },
    ),
    (
        Rule::PrivilegedPort,
        About {
            name: "PrivilegedPort",
            why: "Ports below 1024 need root or CAP_NET_BIND_SERVICE on Linux. A service that is not declared privileged probably runs with more rights than it needs, or will fail to bind.",
            fix: "Use a port above 1023 behind a proxy or a published port, or declare `privileged = true` on the service when it is meant to bind it.",
            tags: &["maintainability", "ports"],
            security_severity: None,
        },
    ),
    (
        Rule::EphemeralPort,
        About {
            name: "FixedPortInEphemeralRange",
            why: "A fixed listening port inside the host's ephemeral range (Linux 32768–60999 by default) can already be in use as the source port of an outgoing connection when the service starts.",
            fix: "Move the binding below the ephemeral range, or declare the host's real range with `ephemeral = \"49152-65535\"`.",
            tags: &["correctness", "availability", "ports"],
            security_severity: None,
        },
    ),
    (
        Rule::BrowserUnsafePort,
        About {
            name: "BrowserBlockedPort",
            why: "Chromium and Firefox refuse to open http(s) URLs on a list of ports (6000 X11, 6665–6669 IRC, 10080, …): a web UI on such a port cannot be opened in a browser.",
            fix: "Move the binding to another port, or declare `browser = false` when no browser ever opens it.",
            tags: &["correctness", "web", "ports"],
            security_severity: None,
        },
    ),
    (
        Rule::DanglingReference,
        About {
            name: "DanglingReference",
            why: "A route, flow, service, reservation or firewall rule names a host, project, block, network, environment, service or binding that the spec does not declare, so the fact it states is lost.",
            fix: "Correct the name (the message suggests the closest existing one) or declare what it refers to.",
            tags: &["correctness", "spec"],
            security_severity: None,
        },
    ),
    (
        Rule::DuplicateHostIdentity,
        About {
            name: "HostIdentityClaimedTwice",
            why: "Two or more hosts claim the same host name (`hostname`/`hostnames`, compared ignoring case) or the same `machine-id`. `portolan check`, `agent` and `snapshot` recognise the machine they run on by these claims when no `--host` is given; a machine that matches two hosts is not recognised at all, and a report under either name would describe the other host too.",
            fix: "Keep each claim on the one host it belongs to: a machine id is `cat /etc/machine-id` on that machine, and a host name is what `hostname` prints there. If the two hosts are one machine, merge them into one host.",
            tags: &["correctness", "hosts"],
            security_severity: None,
        },
    ),
    (
        Rule::RangeExhausted,
        About {
            name: "RangeNearlyExhausted",
            why: "At least 90 % of a project's range or block is allocated, bound or reserved: the next allocations will fail or spill into other ranges.",
            fix: "Widen the range or block, or release what is no longer used (`portolan release`, `portolan gc` for expired leases).",
            tags: &["maintainability", "ports"],
            security_severity: None,
        },
    ),
    (
        Rule::FirewallDrift,
        About {
            name: "FirewallDrift",
            why: "The deployed firewall ruleset lets traffic through that the spec does not declare, from wider sources than declared, or blocks traffic the spec requires.",
            fix: "Regenerate the ruleset (`portolan gen nftables|iptables|ufw --host H`) and deploy it, or update the spec to what is deployed. The finding names the dump lines responsible.",
            tags: &["security", "firewall", "drift"],
            security_severity: Some("7.5"),
        },
    ),
    (
        Rule::UndeclaredListener,
        About {
            name: "UndeclaredListener",
            why: "A process listens on this host on a port no binding of the spec declares: an unknown service, a forgotten debug port, or a spec out of date.",
            fix: "Declare the service (`portolan init --from-host` drafts it), or stop the process (`portolan kill PORT`).",
            tags: &["security", "drift", "inventory"],
            security_severity: Some("5.3"),
        },
    ),
    (
        Rule::DeclaredNotListening,
        About {
            name: "DeclaredButNotListening",
            why: "An active binding that the spec places on this host has no live listener: the service is down, listens elsewhere, or the spec is out of date.",
            fix: "Start the service, correct the binding, or set `status = \"planned\"` or `\"deprecated\"`.",
            tags: &["availability", "drift"],
            security_severity: None,
        },
    ),
    (
        Rule::BindWiderThanDeclared,
        About {
            name: "BindWiderThanDeclared",
            why: "The live socket is bound to a wider address than declared (0.0.0.0 instead of 127.0.0.1), so it is reachable from networks the spec does not expect.",
            fix: "Configure the service to bind to the declared address, or declare the wider bind and its exposure.",
            tags: &["security", "drift", "exposure"],
            security_severity: Some("7.5"),
        },
    ),
    (
        Rule::UnexpectedProcess,
        About {
            name: "UnexpectedProcessOnPort",
            why: "The listener on a declared port belongs to another program than the spec's `process`: another service took the port, or the declared one was replaced.",
            fix: "Find the process (`portolan who PORT`) and move one of the two, or correct `process`.",
            tags: &["security", "drift", "inventory"],
            security_severity: Some("5.0"),
        },
    ),
    (
        Rule::Unreachable,
        About {
            name: "UnreachableBinding",
            why: "A declared binding does not accept connections from where `check --probe` runs, although the spec says it is reachable from there.",
            fix: "Check that the service runs and that firewalls and routes let the declared sources in, or narrow the declared exposure.",
            tags: &["availability", "network"],
            security_severity: None,
        },
    ),
    (
        Rule::ExpectationFailed,
        About {
            name: "ExpectationNotMet",
            why: "An `[[expect]]` states what must (or must not) reach a service; the reach model (or, with `check --probe`, the live network) disagrees, so the documents' promise does not hold.",
            fix: "Change what the expectation is about — bind address, exposure, firewall rules, routes — until it holds (`portolan why` shows the path layer by layer), or correct the expectation if the promise changed.",
            tags: &["security", "network", "exposure"],
            security_severity: Some("7.5"),
        },
    ),
    (
        Rule::FamilyDivergence,
        About {
            name: "AddressFamilyDivergence",
            why: "A binding listens on IPv4 and IPv6, and one family lets in sources the other keeps out — typically a firewall written for IPv4 only, so the service is open over IPv6.",
            fix: "Write the firewall rules for both families (ip6tables / nftables `inet`), or bind only the family the service needs.",
            tags: &["security", "network", "firewall", "ipv6"],
            security_severity: Some("6.5"),
        },
    ),
    (
        Rule::ShadowedRule,
        About {
            name: "ShadowedFirewallRule",
            why: "A firewall rule that no packet can reach, because earlier rules already accept or drop everything it matches: it does nothing, and whoever reads the ruleset is misled about what it allows.",
            fix: "Delete the rule, or move it above the rule that shadows it if it was meant to decide first.",
            tags: &["correctness", "maintainability", "firewall"],
            security_severity: None,
        },
    ),
    (
        Rule::RuleWithoutListener,
        About {
            name: "FirewallRuleWithoutListener",
            why: "A firewall rule opens ports that no binding of the host declares: an opening nobody owns, ready for whatever starts listening there next.",
            fix: "Remove the rule, or declare the service that needs it.",
            tags: &["security", "network", "firewall"],
            security_severity: Some("4.0"),
        },
    ),
    (
        Rule::PublishToDeadPort,
        About {
            name: "PublishedPortWithoutListener",
            why: "A container publishes a port that nothing listens on inside it, or that is only bound to loopback inside the container, so connections to the published port fail.",
            fix: "Make the process listen on the container's address (`0.0.0.0`, not `127.0.0.1`) on the published target port, or correct the port mapping.",
            tags: &["availability", "docker", "ports"],
            security_severity: None,
        },
    ),
];

fn about(rule: Rule) -> About {
    ABOUT.iter().find(|(r, _)| *r == rule).map_or(
        About {
            name: "",
            why: "",
            fix: "See the rule reference.",
            tags: &["correctness"],
            security_severity: None,
        },
        |(_, a)| *a,
    )
}

/// Whether `rule` has its own entry in the table (tests).
pub fn documented(rule: Rule) -> bool {
    ABOUT.iter().any(|(r, _)| *r == rule)
}

/// `docs/rules.md`, generated from the table above.
pub fn reference_markdown() -> String {
    use std::fmt::Write as _;
    let mut out = String::from(
        "# Lint rules\n\n<!-- generated from crates/portolan-lint/src/rules/about.rs: UPDATE_DOCS=1 cargo test -p portolan-lint -->\n\n`portolan lint` runs the spec rules; `portolan check` adds the ones that need live data.\nIds are stable. Every rule can be configured in `[lint]` (`allow`, `severity`) and\nsuppressed per service with a reason (see [spec.md](spec.md#per-service-suppressions)).\n\n| id | name | default | tags |\n|---|---|---|---|\n",
    );
    for r in Rule::ALL {
        let a = r.about();
        let _ = writeln!(
            out,
            "| [`{id}`](#{id}) | {} | {} | {} |",
            a.name,
            r.default_severity(),
            a.tags.join(", "),
            id = r.id()
        );
    }
    for r in Rule::ALL {
        let a = r.about();
        let _ = write!(
            out,
            "\n## {id}\n\n**{}** — default severity `{}`{}{}.\n\n{}\n\n{}\n\n### Fix\n\n{}\n\n{}\n",
            a.name,
            r.default_severity(),
            if r.spec_only() {
                ""
            } else {
                ", needs live data (`portolan check`)"
            },
            a.security_severity
                .map(|s| format!(", security severity {s}"))
                .unwrap_or_default(),
            r.description(),
            a.why,
            a.fix,
            SUPPRESS.replace("RULE", r.id()),
            id = r.id()
        );
    }
    out
}

/// The help shown with a finding in SARIF viewers: the fix, then how to suppress (Markdown).
pub fn help_markdown(rule: Rule) -> String {
    let a = rule.about();
    format!(
        "{}\n\n{}\n\n{}\n\n[Rule reference]({})",
        a.why,
        a.fix,
        SUPPRESS.replace("RULE", rule.id()),
        rule.help_uri()
    )
}

/// The same help as plain text.
pub fn help_text(rule: Rule) -> String {
    let a = rule.about();
    format!(
        "{}\n\n{}\n\nTo suppress it for one service: [[services.NAME.lint.allow]] rule = \"{}\", reason = \"…\"; for the whole spec: [lint] allow = [\"{}\"].\n\nReference: {}",
        a.why,
        a.fix.replace('`', ""),
        rule.id(),
        rule.id(),
        rule.help_uri()
    )
}
