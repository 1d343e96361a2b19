//! Compose files (`docker-compose*.yml`, `compose*.yaml`): `ports:` in short and long
//! syntax, `expose:`, `network_mode: host`, `command:`/`entrypoint:` port flags, and
//! interpolation against the `.env` beside the file.
//!
//! What each entry becomes:
//!
//! | written | use |
//! |---|---|
//! | `"127.0.0.1:8080:80"`, long syntax with `published` | [`Role::Publish`], `port` = host side, `target` = container side, `bind` = host IP as written (none: every interface), publisher Docker |
//! | `"80"`, `"127.0.0.1::80"` (no host port) | [`Role::Publish`] with `port` = `target` = the container port, medium confidence: Docker publishes it on an *ephemeral* host port, which the snippet says |
//! | `expose:` | [`Role::Expose`] |
//! | any of these under `network_mode: host` | [`Role::Listen`] on the container port, no publisher, medium confidence: Docker ignores `ports:` there and the process listens on the host directly |
//!
//! Scalars are read as written, so an unquoted `22:22` is the string `22:22` (YAML 1.2;
//! never the base-60 integer 1342 of YAML 1.1) and `8080` is `8080`. Interpolation follows
//! Compose (`${VAR:-default}` and friends, `$$` for `$`), except that an unset variable
//! without a default is reported as a [`Problem`] instead of silently becoming empty.

pub(crate) mod interpolate;
mod ports;

use std::collections::BTreeMap;
use std::ops::Range;

use portolan_model::port::PortRange;
use portolan_model::spec::{Publisher, Transport};

use crate::evidence::{
    Confidence, Context, FileReport, PortUse, Problem, Role, SourceKind, Unit, UnitKind,
};
use crate::redact::redact;
use crate::text::{LineIndex, join_path, parent_dir, port_token};
use crate::yaml::{self, Command, Doc, Node};

use interpolate::{Interpolated, interpolate};

/// Reads one compose file. A file without a top-level `services:` mapping is not a compose
/// file and yields an empty report.
pub fn parse(path: &str, text: &str, ctx: &Context) -> FileReport {
    let ix = LineIndex::new(path, text);
    let mut report = FileReport::default();
    for doc in yaml::documents(&ix, text) {
        let doc = match doc {
            Ok(doc) => doc,
            Err(problem) => {
                report.problems.push(problem);
                continue;
            }
        };
        let Some(services) = yaml::get(&doc.root, "services").filter(|s| yaml::is_mapping(s))
        else {
            continue;
        };
        let project = yaml::get(&doc.root, "name")
            .and_then(|n| doc.scalar(n))
            .and_then(|n| interpolate(&n, &ctx.vars).ok())
            .map(|n| n.text.trim().to_string())
            .filter(|n| !n.is_empty())
            .or_else(|| {
                let dir = parent_dir(path);
                dir.rsplit('/')
                    .next()
                    .filter(|d| !d.is_empty())
                    .map(str::to_string)
            });
        for (name, svc) in yaml::entries(services) {
            report
                .units
                .push(unit(&ix, &doc, path, name, svc, project.as_deref(), ctx));
            let mut cx = Service {
                ix: &ix,
                doc: &doc,
                vars: &ctx.vars,
                name,
                host_mode: false,
                report: &mut report,
            };
            cx.read(svc);
        }
    }
    report
}

/// The files and directories one compose service owns, as written (relative to the compose
/// file's directory): its build context and Dockerfile, its `env_file`s and the host side of
/// its bind mounts. `move` uses them to tell whose a `Dockerfile` or `Procfile` is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedPaths {
    /// The compose service.
    pub service: String,
    /// Paths as written; values with variables are left out.
    pub paths: Vec<String>,
}

/// The [`OwnedPaths`] of every service of a compose file (empty when it does not parse).
pub fn owned_paths(path: &str, text: &str) -> Vec<OwnedPaths> {
    let ix = LineIndex::new(path, text);
    let mut out = Vec::new();
    for doc in yaml::documents(&ix, text).into_iter().flatten() {
        let Some(services) = yaml::get(&doc.root, "services").filter(|s| yaml::is_mapping(s))
        else {
            continue;
        };
        for (name, svc) in yaml::entries(services) {
            let mut paths = Vec::new();
            let mut keep = |p: Option<String>| {
                if let Some(p) = p.map(|p| p.trim().to_string())
                    && !p.is_empty()
                    && !p.contains('$')
                {
                    paths.push(p);
                }
            };
            if let Some(build) = yaml::get(svc, "build") {
                if yaml::is_mapping(build) {
                    let context = yaml::get(build, "context")
                        .and_then(|n| doc.scalar(n))
                        .unwrap_or_else(|| ".".into());
                    if let Some(df) = yaml::get(build, "dockerfile").and_then(|n| doc.scalar(n)) {
                        keep(Some(format!("{}/{df}", context.trim_end_matches('/'))));
                    }
                    keep(Some(context));
                } else {
                    keep(doc.scalar(build));
                }
            }
            if let Some(env_file) = yaml::get(svc, "env_file") {
                keep(doc.scalar(env_file));
                for item in yaml::items(env_file) {
                    keep(
                        doc.scalar(item)
                            .or_else(|| yaml::get(item, "path").and_then(|n| doc.scalar(n))),
                    );
                }
            }
            for item in yaml::get(svc, "volumes")
                .map(yaml::items)
                .unwrap_or_default()
            {
                if yaml::is_mapping(item) {
                    let bind = yaml::get(item, "type")
                        .and_then(|n| doc.scalar(n))
                        .is_some_and(|t| t == "bind");
                    if bind {
                        keep(yaml::get(item, "source").and_then(|n| doc.scalar(n)));
                    }
                } else if let Some(v) = doc.scalar(item) {
                    // `SRC:DST[:MODE]`; a bind mount's source is a path, not a volume name
                    let src = v.split(':').next().unwrap_or("");
                    if src.starts_with(['.', '/', '~']) {
                        keep(Some(src.to_string()));
                    }
                }
            }
            out.push(OwnedPaths {
                service: name.to_string(),
                paths,
            });
        }
    }
    out
}

/// A scalar after interpolation, and how its text maps back to the file.
struct Value {
    /// The scalar as written (before interpolation).
    raw: String,
    /// Interpolated text.
    text: Interpolated,
    /// File byte where the scalar's content starts.
    start: usize,
    /// Whether `text` is the file's text verbatim from `start` (no quotes' escapes, no
    /// variables), so offsets inside it are offsets in the file.
    verbatim: bool,
    /// The scalar before interpolation, when it is the file's text verbatim from `start`
    /// (so offsets inside it are offsets in the file even though variables changed `text`).
    raw_verbatim: Option<String>,
}

/// What one service is being read with.
struct Service<'a, 'd> {
    ix: &'a LineIndex<'a>,
    doc: &'a Doc<'d>,
    vars: &'a BTreeMap<String, String>,
    name: &'a str,
    host_mode: bool,
    report: &'a mut FileReport,
}

impl Service<'_, '_> {
    fn read(&mut self, svc: &Node) {
        if let Some(mode) = yaml::get(svc, "network_mode").and_then(|n| self.value(n)) {
            self.host_mode = mode.text.text.trim() == "host";
        }
        if let Some(list) = yaml::get(svc, "ports") {
            for item in yaml::items(list) {
                if yaml::is_mapping(item) {
                    self.long(item);
                } else {
                    self.short(item);
                }
            }
        }
        if let Some(list) = yaml::get(svc, "expose") {
            for item in yaml::items(list) {
                self.expose(item);
            }
        }
        if let Some(env) = yaml::get(svc, "environment") {
            self.environment(env);
        }
        for key in ["entrypoint", "command"] {
            if let Some(node) = yaml::get(svc, key) {
                let mut cmd = Command::default();
                cmd.push(self.doc, node);
                for mut u in cmd.scan(self.ix, SourceKind::Compose) {
                    u.service = Some(self.name.to_string());
                    self.report.uses.push(u);
                }
            }
        }
    }

    /// Interpolates a scalar; problems are recorded and give `None`.
    fn value(&mut self, node: &Node) -> Option<Value> {
        let raw = self.doc.scalar(node)?;
        let (start, verbatim) = self.doc.content_start(node, &raw);
        match interpolate(&raw, self.vars) {
            Ok(text) => Some(Value {
                verbatim: verbatim && text.text == raw,
                text,
                start,
                raw_verbatim: verbatim.then(|| raw.clone()),
                raw,
            }),
            Err(e) => {
                self.report.problems.push(Problem {
                    at: self.ix.location(start),
                    reason: e.to_string(),
                });
                None
            }
        }
    }

    /// A problem with value `v`: the reason as the parser gave it when the value is written
    /// literally, but never the substituted text (a variable from `.env` may hold a
    /// password), only the scalar as written.
    fn value_problem(&mut self, v: &Value, reason: &str, what: &str) {
        if v.text.spans.is_empty() {
            self.problem(v.start, reason);
        } else {
            let (raw, _) = redact(&v.raw);
            self.problem(
                v.start,
                &format!(
                    "`{raw}` is not {what} once its variables are substituted (values not shown)"
                ),
            );
        }
    }

    fn problem(&mut self, at: usize, reason: &str) {
        self.report.problems.push(Problem {
            at: self.ix.location(at),
            reason: format!("service `{}`: {reason}", self.name),
        });
    }

    /// The file byte of `r` inside `v` (the scalar's start when not verbatim).
    fn at(v: &Value, r: &Range<usize>) -> usize {
        if v.verbatim {
            v.start + r.start
        } else {
            v.start
        }
    }

    /// The trimmed, redacted source line of byte `at`, with notes.
    fn snippet(&mut self, at: usize, notes: &[&str]) -> String {
        let loc = self.ix.location(at);
        let mut s = self.ix.window(loc.line as usize, loc.col as usize, 200);
        for n in notes.iter().filter(|n| !n.is_empty()) {
            s.push_str(" (");
            s.push_str(n);
            s.push(')');
        }
        let (s, secret) = redact(&s);
        if secret {
            self.report.secrets.push(loc);
        }
        s
    }

    /// A container port outside a publish (`expose:`, or anything under host networking).
    fn container_port(
        &mut self,
        port: PortRange,
        transport: Transport,
        at: usize,
        var: Option<&str>,
        note: &str,
    ) {
        let (role, confidence, host_note) = if self.host_mode {
            (
                Role::Listen,
                Confidence::Medium,
                "network_mode: host: Docker ignores ports/expose, the container listens on the host directly",
            )
        } else {
            (Role::Expose, Confidence::High, "")
        };
        let snippet = self.snippet(at, &[note, host_note]);
        self.report.uses.push(PortUse {
            service: Some(self.name.to_string()),
            transport,
            variable: var.map(str::to_string),
            confidence,
            snippet,
            ..PortUse::new(self.ix.location(at), SourceKind::Compose, role, port)
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn publish(
        &mut self,
        published: Option<(PortRange, usize, Option<String>)>,
        target: (PortRange, usize, Option<String>),
        bind: Option<String>,
        transport: Transport,
        note: &str,
    ) {
        if self.host_mode {
            self.container_port(target.0, transport, target.1, target.2.as_deref(), note);
            return;
        }
        let ephemeral = published.is_none();
        let (port, at, var) = published.unwrap_or_else(|| target.clone());
        let eph_note = if ephemeral {
            "ephemeral host port: Docker picks a free one"
        } else {
            ""
        };
        let snippet = self.snippet(at, &[note, eph_note]);
        let target_at = (!ephemeral).then(|| self.ix.location(target.1));
        self.report.uses.push(PortUse {
            service: Some(self.name.to_string()),
            target: Some(target.0),
            target_at,
            transport,
            bind,
            publisher: Some(Publisher::Docker),
            variable: var.or(target.2),
            confidence: if ephemeral {
                Confidence::Medium
            } else {
                Confidence::High
            },
            snippet,
            ..PortUse::new(
                self.ix.location(at),
                SourceKind::Compose,
                Role::Publish,
                port,
            )
        });
    }

    fn short(&mut self, item: &Node) {
        let Some(v) = self.value(item) else { return };
        let text = v.text.text.trim_start();
        let lead = v.text.text.len() - text.len();
        let text = text.trim_end();
        match ports::parse_short(text) {
            Ok(s) => {
                let shift = |r: &Range<usize>| r.start + lead..r.end + lead;
                // variables changed the text: where the published and target parts start in
                // the file, when the written entry has as many parts as the interpolated one
                let written = v
                    .raw_verbatim
                    .as_deref()
                    .map(ports::raw_parts)
                    .filter(|raw| {
                        let body = text.rsplit_once('/').map_or(text, |(b, _)| b);
                        raw.len() == body.split(':').count()
                    });
                let from_raw = |last: usize| {
                    written
                        .as_ref()
                        .and_then(|w| w.len().checked_sub(last).and_then(|i| w.get(i)))
                        .map(|r| v.start + r.start)
                };
                let part = |r: &Range<usize>, last: usize| {
                    let r = shift(r);
                    let at = if v.verbatim {
                        Self::at(&v, &r)
                    } else {
                        from_raw(last).unwrap_or(v.start)
                    };
                    (at, v.text.variable(&r).map(str::to_string))
                };
                let published = s.published.as_ref().map(|(p, r)| {
                    let (at, var) = part(r, 2);
                    (*p, at, var)
                });
                let (t_at, t_var) = part(&s.target.1, 1);
                let bind = s.host_ip.map(|h| h.0);
                self.publish(published, (s.target.0, t_at, t_var), bind, s.transport, "");
            }
            Err(e) => self.value_problem(&v, &e, "a port mapping"),
        }
    }

    fn long(&mut self, item: &Node) {
        let field = |cx: &mut Self, key: &str| yaml::get(item, key).and_then(|n| cx.value(n));
        let target = field(self, "target");
        let published = field(self, "published");
        let host_ip = field(self, "host_ip");
        let protocol = field(self, "protocol");
        let mode = field(self, "mode");
        let Some(target) = target else {
            let at = self.doc.byte(item.span.start);
            self.problem(at, "a long-syntax port needs `target`");
            return;
        };
        let t_text = target.text.text.trim();
        let Some(t_port) = port_token(t_text) else {
            let reason = format!("`{t_text}` is not a container port");
            self.value_problem(&target, &reason, "a container port");
            return;
        };
        let t_var = target
            .text
            .variable(&(0..target.text.text.len()))
            .map(str::to_string);
        let t = (t_port, target.start, t_var);
        let transport = match protocol.as_ref().map(|p| ports::transport(&p.text.text)) {
            Some(Err(e)) => {
                let at = protocol.as_ref().map_or(target.start, |p| p.start);
                self.problem(at, &e);
                return;
            }
            Some(Ok(t)) => t,
            None => Transport::Tcp,
        };
        let mut p = None;
        if let Some(pv) = &published {
            let text = pv.text.text.trim();
            if !text.is_empty() {
                let Some(port) = port_token(text) else {
                    let reason = format!("`{text}` is not a host port");
                    self.value_problem(pv, &reason, "a host port");
                    return;
                };
                let var = pv
                    .text
                    .variable(&(0..pv.text.text.len()))
                    .map(str::to_string);
                p = Some((port, pv.start, var));
            }
        }
        let bind = host_ip
            .map(|h| h.text.text.trim().trim_matches(['[', ']']).to_string())
            .filter(|h| !h.is_empty());
        let mode_note = mode
            .map(|m| format!("mode: {}", m.text.text))
            .unwrap_or_default();
        self.publish(p, t, bind, transport, &mode_note);
    }

    /// `environment:` (a mapping or a list of `KEY=value`): the URLs the service connects
    /// to (`API_URL: http://api:8080`). Values are interpolated to find the host and port,
    /// but only the redacted source line is ever kept.
    fn environment(&mut self, env: &Node) {
        let mut pairs: Vec<(String, &Node, bool)> = yaml::entries(env)
            .map(|(k, v)| (k.to_string(), v, false))
            .collect();
        for item in yaml::items(env) {
            if let Some(text) = self.doc.scalar(item)
                && let Some((k, _)) = text.split_once('=')
            {
                pairs.push((k.trim().to_string(), item, true));
            }
        }
        for (key, node, listed) in pairs {
            if crate::redact::is_secret_name(&key) {
                continue;
            }
            let Some(raw) = self.doc.scalar(node) else {
                continue;
            };
            let (start, _) = self.doc.content_start(node, &raw);
            let Ok(value) = interpolate(&raw, self.vars) else {
                continue;
            };
            let value = value.text;
            let value = if listed {
                value.split_once('=').map_or("", |(_, v)| v)
            } else {
                value.as_str()
            };
            for (host, port, _, confidence) in crate::env::url_connects(value) {
                let snippet = self.snippet(start, &[]);
                self.report.uses.push(PortUse {
                    service: Some(self.name.to_string()),
                    peer: Some(host),
                    variable: Some(key.clone()),
                    confidence,
                    snippet,
                    ..PortUse::new(
                        self.ix.location(start),
                        SourceKind::Compose,
                        Role::Connect,
                        PortRange::single(port),
                    )
                });
            }
        }
    }

    fn expose(&mut self, item: &Node) {
        let Some(v) = self.value(item) else { return };
        let text = v.text.text.trim();
        let (port, transport) = match text.rsplit_once('/') {
            Some((p, proto)) => (p, ports::transport(proto)),
            None => (text, Ok(Transport::Tcp)),
        };
        match (port_token(port), transport) {
            (Some(range), Ok(transport)) => {
                let var = v.text.variable(&(0..v.text.text.len())).map(str::to_string);
                self.container_port(range, transport, v.start, var.as_deref(), "");
            }
            (None, _) => {
                let reason = format!("`{text}` is not a port to expose");
                self.value_problem(&v, &reason, "a port to expose");
            }
            (_, Err(e)) => self.value_problem(&v, &e, "a port to expose"),
        }
    }
}

/// The [`Unit`] of one compose service: image, build context, `env_file`s and bind
/// mounts, with paths resolved against the compose file's directory.
fn unit(
    ix: &LineIndex<'_>,
    doc: &Doc<'_>,
    path: &str,
    name: &str,
    svc: &Node,
    project: Option<&str>,
    ctx: &Context,
) -> Unit {
    let dir = parent_dir(path);
    let text = |n: &Node| {
        doc.scalar(n)
            .map(|s| interpolate(&s, &ctx.vars).map_or(s, |i| i.text))
    };
    let image = yaml::get(svc, "image").and_then(text);
    let build = yaml::get(svc, "build").and_then(|b| {
        if yaml::is_mapping(b) {
            yaml::get(b, "context")
                .and_then(text)
                .or_else(|| Some(".".into()))
        } else {
            text(b)
        }
    });
    let mut env_files = Vec::new();
    if let Some(ef) = yaml::get(svc, "env_file") {
        let list = yaml::items(ef);
        let nodes: Vec<&Node> = if list.is_empty() {
            vec![ef]
        } else {
            list.iter().collect()
        };
        for n in nodes {
            let p = if yaml::is_mapping(n) {
                yaml::get(n, "path").and_then(text)
            } else {
                text(n)
            };
            env_files.extend(p.and_then(|p| join_path(dir, &p)));
        }
    }
    let mut mounts = Vec::new();
    if let Some(vols) = yaml::get(svc, "volumes") {
        for v in yaml::items(vols) {
            let source = if yaml::is_mapping(v) {
                yaml::get(v, "source").and_then(text)
            } else {
                text(v).and_then(|s| s.split_once(':').map(|(a, _)| a.to_string()))
            };
            // named volumes (`pgdata:/var/lib/…`) are not paths
            if let Some(src) = source.filter(|s| s.starts_with('.') || s.contains('/')) {
                mounts.extend(join_path(dir, &src));
            }
        }
    }
    Unit {
        at: ix.location(doc.byte(svc.span.start)),
        kind: UnitKind::ComposeService,
        name: name.to_string(),
        scope: project.map(str::to_string),
        image,
        build: build.and_then(|b| join_path(dir, &b)),
        env_files,
        mounts,
        labels: Vec::new(),
        named_ports: Vec::new(),
    }
}

#[cfg(test)]
mod tests;
