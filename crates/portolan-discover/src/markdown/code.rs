//! Fenced code blocks: compose files (`crate::compose`), nginx configuration
//! (`crate::nginx`, and [`super::nginx_block`] for redirects and TLS), `.env`
//! blocks (`crate::env`), shell commands (ufw, iptables, `docker run -p`, `gunicorn
//! --bind`, `manage.py runserver`, `ss | grep` checks) and Python `app.run(...)`.

use std::net::IpAddr;

use portolan_model::port::PortRange;
use portolan_model::spec::Publisher;

use super::Section;
use super::blocks::Code;
use super::cells;
use super::draft::{BindingDraft, Draft, FirewallDraft, RuleDraft};
use crate::evidence::{Context, FileReport, PortUse, Role, SourceKind};
use crate::text::{LineIndex, port_number};
use portolan_firewall::command::{self as firewall, Command};

/// A `… | grep PATTERN` port check, evaluated once every service is known.
#[derive(Debug, Clone)]
pub struct GrepCheck {
    /// The patterns of the pipeline (all must match).
    pub patterns: Vec<String>,
    /// The comment above the command (what it claims to check).
    pub comment: String,
    /// Line of the command.
    pub line: usize,
}

/// What kind of code a block holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A compose file.
    Compose,
    /// nginx configuration.
    Nginx,
    /// A `.env` file.
    Env,
    /// Python source.
    Python,
    /// Shell commands.
    Shell,
    /// Anything else (diagrams, output, other languages).
    Other,
}

/// Classifies a block by its info string, its heading and its content.
pub fn kind(code: &Code, heading: &str) -> Kind {
    let has_line = |p: &str| {
        code.lines
            .iter()
            .any(|(l, _)| l.trim_start().starts_with(p))
    };
    let body_has = |p: &str| code.lines.iter().any(|(l, _)| l.contains(p));
    let lang = code.lang.as_str();
    let h = heading.to_lowercase();
    match lang {
        "yaml" | "yml" | "compose" | "docker-compose"
            if code.lines.iter().any(|(l, _)| l.starts_with("services:")) =>
        {
            Kind::Compose
        }
        "nginx" | "conf" | "nginxconf" => Kind::Nginx,
        "env" | "dotenv" | "properties" => Kind::Env,
        "python" | "py" => Kind::Python,
        "bash" | "sh" | "shell" | "console" | "zsh" | "shell-session" | "text" | ""
        | "powershell" | "ps1" => {
            if code.lines.iter().any(|(l, _)| l.starts_with("services:")) {
                Kind::Compose
            } else if body_has("proxy_pass") || (has_line("server {") && body_has("listen")) {
                Kind::Nginx
            } else if (h.contains(".env") || h.contains("environment variable"))
                && code.lines.iter().any(|(l, _)| env_pair(l).is_some())
            {
                Kind::Env
            } else {
                Kind::Shell
            }
        }
        _ => Kind::Other,
    }
}

fn env_pair(line: &str) -> Option<(&str, &str)> {
    let t = line.trim().trim_start_matches("export ").trim();
    let (k, v) = t.split_once('=')?;
    (!k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
    .then_some((k, v.split(" #").next().unwrap_or(v).trim()))
}

/// The block's text padded with blank lines so that line numbers are the document's.
pub(super) fn padded(code: &Code) -> String {
    let first = code.lines.first().map_or(code.line + 1, |(_, n)| *n);
    let mut s = "\n".repeat(first.saturating_sub(1));
    for (l, _) in &code.lines {
        s.push_str(l);
        s.push('\n');
    }
    s
}

/// Applies one code block to the draft.
pub fn apply(
    draft: &mut Draft,
    greps: &mut Vec<GrepCheck>,
    report: &mut FileReport,
    path: &str,
    code: &Code,
    section: &Section,
) {
    if section.is_procedure() {
        return;
    }
    let heading = section.innermost();
    match kind(code, &heading) {
        Kind::Compose => compose(draft, report, path, code, section),
        Kind::Nginx => super::nginx_block::apply(draft, report, path, code),
        Kind::Env => env(draft, report, path, code),
        Kind::Python => python(draft, code),
        Kind::Shell => shell(draft, greps, path, code, section),
        Kind::Other => {}
    }
}

fn compose(draft: &mut Draft, report: &mut FileReport, path: &str, code: &Code, section: &Section) {
    let text = padded(code);
    let mut found = crate::compose::parse(path, &text, &Context::default());
    if found.uses.is_empty() && found.problems.is_empty() {
        found.uses = compose_fallback(path, &text);
    }
    report.problems.extend(found.problems);
    let env = section.environment();
    for u in found.uses.into_iter().filter(|u| u.role == Role::Publish) {
        let line = u.at.line as usize;
        let bind = u
            .bind
            .as_deref()
            .and_then(|b| b.trim_matches(['[', ']']).parse::<IpAddr>().ok());
        publish(
            draft,
            env.as_ref(),
            u.service.as_deref().unwrap_or("container"),
            u.port,
            u.target,
            bind,
            u.publisher.unwrap_or(Publisher::Docker),
            line,
        );
    }
}

/// Records a container publish: onto the binding already declared on that host port (as
/// an override for the section's environment), or as a new service.
#[allow(clippy::too_many_arguments)]
fn publish(
    draft: &mut Draft,
    env: Option<&String>,
    name: &str,
    port: PortRange,
    target: Option<PortRange>,
    bind: Option<IpAddr>,
    publisher: Publisher,
    line: usize,
) {
    let change = BindingDraft {
        target,
        bind: Some(bind.unwrap_or(IpAddr::from([0, 0, 0, 0]))),
        publisher: Some(publisher),
        lines: [line].into(),
        ..BindingDraft::default()
    };
    let hits = draft.bindings_on(port.lo, false);
    if hits.is_empty() {
        let key = cells::slug(name);
        let key = if key.is_empty() {
            format!("port-{}", port.lo)
        } else {
            key
        };
        let app = super::table::app_for(port.lo, None, true);
        let bname = draft.binding_name(&key, app.as_deref(), Some(port));
        let s = draft.service(&key, name);
        s.lines.insert(line);
        if s.env.is_none() {
            s.env = env.cloned();
        }
        s.bindings.insert(
            bname,
            BindingDraft {
                port: Some(port),
                app,
                ..change
            },
        );
        return;
    }
    for (sk, bk) in hits {
        let Some(s) = draft.services.get_mut(&sk) else {
            continue;
        };
        s.lines.insert(line);
        match env {
            Some(e) if s.env.is_none() => {
                s.overrides
                    .entry(e.clone())
                    .or_default()
                    .insert(bk, change.clone());
            }
            _ => {
                if let Some(b) = s.bindings.get_mut(&bk) {
                    b.target = change.target;
                    b.bind = change.bind;
                    b.publisher = change.publisher;
                    b.lines.insert(line);
                }
            }
        }
    }
}

/// `ports:` short syntax, for when the compose reader finds nothing.
fn compose_fallback(path: &str, text: &str) -> Vec<PortUse> {
    let ix = LineIndex::new(path, text);
    let mut out = Vec::new();
    let mut in_services = false;
    let mut service: Option<(usize, String)> = None;
    let mut in_ports: Option<usize> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split(" #").next().unwrap_or(raw);
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        if indent == 0 {
            in_services = t == "services:";
            service = None;
            in_ports = None;
            continue;
        }
        if !in_services {
            continue;
        }
        if let Some(pi) = in_ports {
            if indent > pi && t.starts_with('-') {
                let v = t.trim_start_matches('-').trim().trim_matches(['"', '\'']);
                let v = v.split('/').next().unwrap_or(v);
                let parts: Vec<&str> = v.rsplitn(3, ':').collect();
                let (host, target, bind) = match parts.as_slice() {
                    [c, h] => (*h, Some(*c), None),
                    [c, h, b] => (*h, Some(*c), Some(*b)),
                    _ => continue,
                };
                if let Some(port) = crate::text::port_token(host) {
                    out.push(PortUse {
                        service: service.as_ref().map(|(_, s)| s.clone()),
                        target: target.and_then(crate::text::port_token),
                        bind: bind.map(str::to_string),
                        publisher: Some(Publisher::Docker),
                        snippet: t.to_string(),
                        ..PortUse::new(
                            ix.at(i + 1, indent + 1),
                            SourceKind::Compose,
                            Role::Publish,
                            port,
                        )
                    });
                }
                continue;
            }
            in_ports = None;
        }
        if t.ends_with(':') && service.as_ref().is_none_or(|(si, _)| indent <= *si) {
            service = Some((indent, t.trim_end_matches(':').to_string()));
        } else if t == "ports:" {
            in_ports = Some(indent);
        }
    }
    out
}

fn env(draft: &mut Draft, report: &mut FileReport, path: &str, code: &Code) {
    let text = padded(code);
    let found = crate::env::parse(path, &text, &Context::default());
    report.problems.extend(found.problems);
    let mut vars: Vec<(String, u16, usize)> = found
        .uses
        .iter()
        .filter_map(|u| Some((u.variable.clone()?, u.port.lo, u.at.line as usize)))
        .collect();
    if vars.is_empty() {
        for (l, n) in &code.lines {
            if let Some((k, v)) = env_pair(l) {
                if let (true, Some(p)) = (k.ends_with("_PORT"), port_number(v)) {
                    vars.push((k.to_string(), p, *n));
                }
            }
        }
    }
    for (var, port, line) in vars {
        let stem = cells::slug(var.trim_end_matches("_PORT"));
        if stem.is_empty() {
            continue;
        }
        let mut mismatch = Vec::new();
        for (k, s) in &draft.services {
            if !k.split('-').any(|w| w == stem) {
                continue;
            }
            let ports: Vec<PortRange> = s.bindings.values().filter_map(|b| b.port).collect();
            if !ports.is_empty() && !ports.iter().any(|p| p.contains(port)) {
                mismatch.push(format!(
                    "`{k}` port {}",
                    ports
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        if !mismatch.is_empty() {
            draft.note(
                line,
                format!(
                    "`.env` sets {var}={port}, but the document gives {}",
                    mismatch.join("; ")
                ),
            );
        }
    }
}

fn python(draft: &mut Draft, code: &Code) {
    for (l, n) in &code.lines {
        let t = l.trim();
        if t.starts_with('#') || !t.contains(".run(") {
            continue;
        }
        let host = kwarg(t, "host");
        let port = kwarg(t, "port").and_then(|p| port_number(&p));
        let debug = kwarg(t, "debug").is_some_and(|d| d == "True");
        let (Some(host), Some(port)) = (host, port) else {
            continue;
        };
        let Ok(ip) = host.parse::<IpAddr>() else {
            continue;
        };
        if debug && ip.is_unspecified() {
            draft.note(*n, format!("`app.run(host='{host}', port={port}, debug=True)`: the Werkzeug debugger (code execution) on every interface"));
        }
        for (sk, bk) in draft.bindings_on(port, false) {
            if let Some(b) = draft
                .services
                .get_mut(&sk)
                .and_then(|s| s.bindings.get_mut(&bk))
            {
                if b.bind.is_none() {
                    b.bind = Some(ip);
                    b.lines.insert(*n);
                }
            }
        }
    }
}

fn kwarg(t: &str, name: &str) -> Option<String> {
    let i = t.find(&format!("{name}="))?;
    let v = &t[i + name.len() + 1..];
    let v = v.split([',', ')']).next()?.trim().trim_matches(['\'', '"']);
    Some(v.to_string())
}

fn shell(
    draft: &mut Draft,
    greps: &mut Vec<GrepCheck>,
    path: &str,
    code: &Code,
    section: &Section,
) {
    let env = section.environment();
    let heading = section.innermost();
    let mut comment = String::new();
    let mut joined: Vec<(String, usize)> = Vec::new();
    let mut pending: Option<(String, usize)> = None;
    for (l, n) in &code.lines {
        let t = l.trim();
        let (mut acc, start) = pending.take().unwrap_or((String::new(), *n));
        if let Some(s) = t.strip_suffix('\\') {
            acc.push_str(s);
            acc.push(' ');
            pending = Some((acc, start));
            continue;
        }
        acc.push_str(t);
        joined.push((acc, start));
    }
    if let Some(p) = pending {
        joined.push(p);
    }
    let ix_text = padded(code);
    let ix = LineIndex::new(path, &ix_text);
    for (cmd, line) in joined {
        if cmd.is_empty() {
            comment.clear();
            continue;
        }
        if let Some(c) = cmd.strip_prefix('#') {
            comment = c.trim().to_string();
            continue;
        }
        let (body, trailing) = match cmd.split_once(" #") {
            Some((b, c)) => (b.trim().to_string(), c.trim().to_string()),
            None => (cmd.clone(), String::new()),
        };
        let why = if trailing.is_empty() {
            comment.clone()
        } else {
            trailing
        };
        for part in body.split("&&").flat_map(|p| p.split(';')) {
            let part = part.trim();
            let stripped = part.trim_start_matches("sudo ").trim();
            if stripped.starts_with("ufw ")
                || stripped.starts_with("iptables ")
                || stripped.starts_with("ip6tables ")
            {
                let kind = if stripped.starts_with("ufw") {
                    "ufw"
                } else {
                    "iptables"
                };
                let parsed = if kind == "ufw" {
                    firewall::ufw(stripped)
                } else {
                    firewall::iptables(stripped)
                };
                firewall_command(
                    draft,
                    kind,
                    env.clone(),
                    &heading,
                    parsed,
                    stripped,
                    &why,
                    line,
                );
            } else if part.contains("grep")
                && ["ss ", "netstat", "lsof"].iter().any(|c| part.contains(c))
            {
                let patterns = grep_patterns(part);
                if !patterns.is_empty() {
                    greps.push(GrepCheck {
                        patterns,
                        comment: why.clone(),
                        line,
                    });
                }
            } else {
                let mut uses = crate::cmdline::scan(&ix, SourceKind::Shell, part, 0);
                if uses.is_empty() {
                    uses = listen_flags(&ix, part, line);
                }
                for u in uses {
                    let bind = u.bind.as_deref().and_then(|b| b.parse::<IpAddr>().ok());
                    if u.role == Role::Publish {
                        publish(
                            draft,
                            env.as_ref(),
                            u.service.as_deref().unwrap_or("container"),
                            u.port,
                            u.target,
                            bind,
                            u.publisher.unwrap_or(Publisher::Docker),
                            line,
                        );
                    } else if u.role == Role::Listen {
                        listen(draft, &heading, u.port, bind, part, line);
                    }
                }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn firewall_command(
    draft: &mut Draft,
    kind: &'static str,
    env: Option<String>,
    heading: &str,
    parsed: Option<Command>,
    cmd: &str,
    why: &str,
    line: usize,
) {
    let Some(parsed) = parsed else {
        draft.note(line, format!("firewall command not understood: `{cmd}`"));
        return;
    };
    if parsed == Command::Other {
        return;
    }
    let idx = if let Some(i) = draft
        .firewalls
        .iter()
        .position(|f| f.kind == kind && f.heading == heading && f.env == env)
    {
        i
    } else {
        draft.firewalls.push(FirewallDraft {
            kind,
            env,
            inbound: None,
            rules: Vec::new(),
            line,
            heading: heading.to_string(),
            assumed: false,
        });
        draft.firewalls.len() - 1
    };
    let fw = &mut draft.firewalls[idx];
    let comment = if why.is_empty() {
        cmd.to_string()
    } else {
        format!("{cmd}  # {why}")
    };
    match parsed {
        Command::Default(p) => fw.inbound = Some(p),
        Command::Add(r) => {
            let rule = RuleDraft {
                action: r.action,
                ports: r.ports,
                transport: r.transport,
                from: r.from,
                comment,
                line,
            };
            match r.insert {
                Some(pos) => {
                    let at = pos.saturating_sub(1).min(fw.rules.len());
                    fw.rules.insert(at, rule);
                }
                None => fw.rules.push(rule),
            }
        }
        Command::Delete(r) => fw
            .rules
            .retain(|x| !(x.action == r.action && x.ports == r.ports && x.from == r.from)),
        Command::Other => {}
    }
}

/// `gunicorn --bind H:P`, `-b H:P`, `manage.py runserver H:P`, `--host H --port P`,
/// `docker run -p [IP:]H:C`.
fn listen_flags(ix: &LineIndex<'_>, cmd: &str, line: usize) -> Vec<PortUse> {
    let w: Vec<&str> = cmd.split_whitespace().collect();
    let mut out = Vec::new();
    let at = ix.at(line, 1);
    let docker = w.windows(2).any(|p| p[0] == "docker" && p[1] == "run");
    let mut name = None;
    let mut host = None;
    let mut port = None;
    for (i, t) in w.iter().enumerate() {
        let next = w.get(i + 1).copied();
        let (flag, inline) = match t.split_once('=') {
            Some((f, v)) if f.starts_with('-') => (f, Some(v)),
            _ => (*t, None),
        };
        let val = inline.or(next);
        match flag {
            "--name" if docker => name = val.map(str::to_string),
            "-p" | "--publish" if docker => {
                let Some(v) = val else { continue };
                let v = v.split('/').next().unwrap_or(v);
                let parts: Vec<&str> = v.rsplitn(3, ':').collect();
                if let [c, h, rest @ ..] = parts.as_slice() {
                    if let Some(p) = crate::text::port_token(h) {
                        out.push(PortUse {
                            target: crate::text::port_token(c),
                            bind: rest.first().map(|s| (*s).to_string()),
                            publisher: Some(Publisher::Docker),
                            ..PortUse::new(at.clone(), SourceKind::Shell, Role::Publish, p)
                        });
                    }
                }
            }
            "--bind" | "-b" | "runserver" => {
                let Some(v) = val else { continue };
                let (b, p) = cells::split_bind(v);
                let b = b.map(|b| b.to_string()).or_else(|| {
                    v.rsplit_once(':')
                        .map(|(h, _)| h.to_string())
                        .filter(|h| h == "0.0.0.0")
                });
                if let Some(p) = port_number(p) {
                    out.push(PortUse {
                        bind: b,
                        ..PortUse::new(
                            at.clone(),
                            SourceKind::Shell,
                            Role::Listen,
                            PortRange::single(p),
                        )
                    });
                }
            }
            "--host" => host = val.map(str::to_string),
            "--port" | "-p" => port = val.and_then(port_number),
            _ => {}
        }
    }
    if let Some(p) = port {
        out.push(PortUse {
            bind: host,
            ..PortUse::new(at, SourceKind::Shell, Role::Listen, PortRange::single(p))
        });
    }
    if let Some(n) = name {
        for u in &mut out {
            u.service.get_or_insert_with(|| n.clone());
        }
    }
    out
}

fn listen(
    draft: &mut Draft,
    heading: &str,
    port: PortRange,
    bind: Option<IpAddr>,
    cmd: &str,
    line: usize,
) {
    let program = cmd
        .split_whitespace()
        .find(|w| !w.contains('=') && *w != "sudo")
        .map(|w| w.rsplit('/').next().unwrap_or(w).to_string());
    let hits = draft.bindings_on(port.lo, false);
    if hits.is_empty() {
        let display = match heading.find('(') {
            Some(i) if i > 0 => heading[..i].trim().to_string(),
            _ => heading.to_string(),
        };
        let key = cells::slug(&display);
        let key = if key.is_empty() {
            format!("port-{}", port.lo)
        } else {
            key
        };
        let app = super::table::app_for(port.lo, None, true);
        let name = draft.binding_name(&key, app.as_deref(), Some(port));
        let s = draft.service(&key, &display);
        s.lines.insert(line);
        s.process = s.process.take().or(program);
        s.bindings.insert(
            name,
            BindingDraft {
                port: Some(port),
                bind,
                app,
                lines: [line].into(),
                ..BindingDraft::default()
            },
        );
        return;
    }
    for (sk, bk) in hits {
        if let Some(s) = draft.services.get_mut(&sk) {
            s.lines.insert(line);
            if let Some(b) = s.bindings.get_mut(&bk) {
                b.lines.insert(line);
                if bind.is_some() {
                    b.bind = bind;
                }
            }
        }
    }
}

/// The patterns of every `grep` in a pipeline (`grep -E ":(55[0-9][0-9])"` → `:(55[0-9][0-9])`).
pub fn grep_patterns(pipeline: &str) -> Vec<String> {
    let mut out = Vec::new();
    for stage in split_pipeline(pipeline) {
        let words = firewall::split_quoted(&stage);
        let Some(g) = words.iter().position(|w| w == "grep" || w == "egrep") else {
            continue;
        };
        let mut i = g + 1;
        while i < words.len() {
            let w = &words[i];
            if w == "-e" {
                if let Some(p) = words.get(i + 1) {
                    out.push(p.clone());
                }
                break;
            }
            if w.starts_with('-') && w.len() > 1 {
                i += 1;
                continue;
            }
            out.push(w.clone());
            break;
        }
    }
    out
}

/// Splits a pipeline on the `|` that are outside quotes.
fn split_pipeline(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                quote = None;
                cur.push(c);
            }
            (None, '\'' | '"') => {
                quote = Some(c);
                cur.push(c);
            }
            (None, '|') => out.push(std::mem::take(&mut cur)),
            (_, c) => cur.push(c),
        }
    }
    out.push(cur);
    out
}
