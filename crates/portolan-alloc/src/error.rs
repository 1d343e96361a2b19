//! Errors of allocation, reservation, release and the spec transaction. Each knows whether it
//! is a conflict with the current state (exit 1: the range is full, the ports are taken) or a
//! bad request / unreadable input (exit 2).

use std::path::PathBuf;

use portolan_model::LoadError;

fn hint(suggestion: Option<&String>) -> String {
    suggestion
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default()
}

/// Why an allocation, reservation or release failed.
#[derive(Debug, thiserror::Error)]
pub enum AllocError {
    /// No such project.
    #[error("project `{name}` is not in the spec{}; projects: {known}", hint(.suggestion.as_ref()))]
    UnknownProject {
        /// Given name.
        name: String,
        /// Closest existing name.
        suggestion: Option<String>,
        /// Existing names, comma-separated.
        known: String,
    },
    /// No such block in the project.
    #[error("project `{project}` has no block `{name}`{}; blocks: {known}", hint(.suggestion.as_ref()))]
    UnknownBlock {
        /// Project.
        project: String,
        /// Given name.
        name: String,
        /// Closest existing name.
        suggestion: Option<String>,
        /// Existing names, comma-separated (or `none`).
        known: String,
    },
    /// No such host.
    #[error("host `{name}` is not in the spec{}; hosts: {known}", hint(.suggestion.as_ref()))]
    UnknownHost {
        /// Given name.
        name: String,
        /// Closest existing name.
        suggestion: Option<String>,
        /// Existing names, comma-separated (or `none`).
        known: String,
    },
    /// The spec declares several hosts (in the environment asked for) and none was named.
    #[error("which host? the spec declares {count} hosts{}: pass --host ({hosts})", .environment.as_ref().map(|e| format!(" in environment `{e}`")).unwrap_or_default())]
    HostRequired {
        /// How many candidates.
        count: usize,
        /// The environment asked for, if any.
        environment: Option<String>,
        /// The candidates, `name (environment)`, comma-separated.
        hosts: String,
    },
    /// `--host` names a host that the spec does not declare in the environment asked for.
    #[error("host `{host}` is in environment `{actual}`, not `{environment}`")]
    HostNotInEnvironment {
        /// The host.
        host: String,
        /// The environment asked for.
        environment: String,
        /// The host's environment.
        actual: String,
    },
    /// No such environment, or one without hosts.
    #[error("environment `{name}` has no hosts{}; environments with hosts: {known}", hint(.suggestion.as_ref()))]
    UnknownEnvironment {
        /// Given name.
        name: String,
        /// Closest existing name.
        suggestion: Option<String>,
        /// Environments with declared hosts, comma-separated (or `none`).
        known: String,
    },
    /// The project declares no range to allocate from.
    #[error(
        "project `{project}` has no `range` to allocate from; declare one, e.g. `range = \"5000-5099\"`"
    )]
    NoRange {
        /// Project.
        project: String,
    },
    /// Nothing free.
    #[error("{}", full_message(.pool, *.count, *.total, .usage))]
    Full {
        /// What was searched, e.g. "block `api` of project `p` (5021-5030)".
        pool: String,
        /// Consecutive ports asked for.
        count: u16,
        /// Ports in the pool.
        total: u32,
        /// Why the ports are unavailable, by reason, counted once each.
        usage: Vec<(String, u32)>,
    },
    /// A service of that name exists.
    #[error("service `{0}` already exists; choose another --name or `portolan release {0}` first")]
    ServiceExists(String),
    /// Not a valid spec name.
    #[error(
        "`{0}` is not a valid name: start with an ASCII letter or digit, continue with letters, digits, `-` and `_`"
    )]
    InvalidName(String),
    /// A lease duration that does not parse.
    #[error(
        "`{0}` is not a duration: write a number and a unit s, m, h, d or w (`90m`, `2h`, `1d12h`)"
    )]
    BadDuration(String),
    /// A duration that parses but is zero or longer than a century.
    #[error("`{0}` is out of range: a duration is at least 1s and at most 100 years")]
    DurationOutOfRange(String),
    /// A bad port argument.
    #[error("{0}")]
    BadPorts(String),
    /// The ports are taken (reserve).
    #[error("ports {ports} overlap {holder}")]
    Overlap {
        /// Requested ports.
        ports: String,
        /// Who holds them ("service `x` (port 5021 on host `h`)").
        holder: String,
    },
    /// Nothing to release, or a port held by a service (release it by name).
    #[error("{0}")]
    NotReleasable(String),
    /// The spec's structure cannot be edited automatically.
    #[error("cannot edit {path}: {message}")]
    Edit {
        /// File.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The edited spec no longer loads: a bug, the spec is left untouched.
    #[error("internal error: the edited spec would not load ({0}); the spec was left untouched")]
    Validate(String),
    /// The spec does not load.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// File-system trouble.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// The cause.
        source: std::io::Error,
    },
}

fn full_message(pool: &str, count: u16, total: u32, usage: &[(String, u32)]) -> String {
    let what = if count == 1 {
        "no free port".to_string()
    } else {
        format!("no {count} consecutive free ports")
    };
    let mut s = format!("{what} in {pool}: {total} port{}", plural(total));
    let parts: Vec<String> = usage.iter().map(|(why, n)| format!("{n} {why}")).collect();
    if !parts.is_empty() {
        s.push_str(", ");
        s.push_str(&parts.join(", "));
    }
    s.push_str(
        "\n  hint: widen the range or block, or free ports with `portolan release` / `portolan gc`",
    );
    s
}

fn plural(n: u32) -> &'static str {
    if n == 1 { "" } else { "s" }
}

impl AllocError {
    /// Whether the request conflicts with the current state (exit 1) rather than being bad
    /// input (exit 2).
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            AllocError::Full { .. } | AllocError::Overlap { .. } | AllocError::NotReleasable(_)
        )
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        AllocError::Io {
            context: context.into(),
            source,
        }
    }
}
