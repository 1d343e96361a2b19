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
    /// Shell commands (ufw, iptables, firewall-cmd, `docker`/`podman run`, servers).
    Shell,
    /// A systemd unit.
    Systemd,
    /// A Caddyfile.
    Caddy,
    /// An `HAProxy` configuration.
    Haproxy,
    /// Apache httpd configuration.
    Apache,
    /// A firewalld zone file.
    FirewalldZone,
    /// An `iptables-save` dump.
    IptablesSave,
    /// Kubernetes manifests.
    Kubernetes,
    /// A YAML inventory (hosts, services, ports).
    Inventory,
    /// Key/value or directive settings (TOML, INI, `.conf`, `.properties`).
    Settings,
    /// XML with `port` attributes.
    Xml,
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
    let compose = code.lines.iter().any(|(l, _)| l.starts_with("services:"));
    let k8s = has_line("apiVersion:") && has_line("kind:");
    let nginx = body_has("proxy_pass") || (has_line("server {") && body_has("listen"));
    let units = has_line("[Service]") || has_line("[Socket]") || has_line("[Unit]");
    match lang {
        "yaml" | "yml" | "compose" | "docker-compose" | "ansible" if compose => Kind::Compose,
        "yaml" | "yml" | "ansible" | "k8s" | "kubernetes" if k8s => Kind::Kubernetes,
        "yaml" | "yml" | "ansible" | "inventory" => Kind::Inventory,
        "nginx" | "nginxconf" => Kind::Nginx,
        "caddy" | "caddyfile" => Kind::Caddy,
        "haproxy" => Kind::Haproxy,
        "apache" | "apacheconf" | "httpd" | "apache2" => Kind::Apache,
        "xml" if has_line("<zone") => Kind::FirewalldZone,
        "xml" => Kind::Xml,
        "ini" | "systemd" | "service" | "socket" | "unit" | "desktop" if units => Kind::Systemd,
        "conf" | "cfg" if nginx => Kind::Nginx,
        "conf" | "cfg" if super::haproxy::looks_like(code) => Kind::Haproxy,
        "conf" | "cfg" if super::apache::looks_like(code) => Kind::Apache,
        "conf" | "cfg" if super::caddy::looks_like(code) => Kind::Caddy,
        "toml" | "ini" | "conf" | "cfg" | "properties" | "config" | "hcl" => Kind::Settings,
        "env" | "dotenv" => Kind::Env,
        "python" | "py" => Kind::Python,
        "bash" | "sh" | "shell" | "console" | "zsh" | "shell-session" | "text" | "" | "txt"
        | "powershell" | "ps1" | "plaintext" => {
            if compose {
                Kind::Compose
            } else if k8s {
                Kind::Kubernetes
            } else if super::rulesets::is_iptables_save(code) {
                Kind::IptablesSave
            } else if nginx {
                Kind::Nginx
            } else if super::haproxy::looks_like(code) {
                Kind::Haproxy
            } else if super::apache::looks_like(code) {
                Kind::Apache
            } else if super::caddy::looks_like(code) {
                Kind::Caddy
            } else if units {
                Kind::Systemd
            } else if has_line("<zone") {
                Kind::FirewalldZone
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

/// The block's text (its lines, `\n`-terminated) and how many document lines come before
/// it.
pub(super) fn body(code: &Code) -> (String, usize) {
    let first = code.lines.first().map_or(code.line + 1, |(_, n)| *n);
    let mut s = String::with_capacity(code.lines.iter().map(|(l, _)| l.len() + 1).sum());
    for (l, _) in &code.lines {
        s.push_str(l);
        s.push('\n');
    }
    (s, first.saturating_sub(1))
}

/// Runs a format parser of this crate on a block and moves what it found to the
/// document's line numbers (the block is parsed on its own, not padded: a document of many
/// blocks stays linear).
pub(super) fn parse_block(code: &Code, parse: impl FnOnce(&str) -> FileReport) -> FileReport {
    let (text, before) = body(code);
    let mut r = parse(&text);
    let off = u32::try_from(before).unwrap_or(u32::MAX);
    for u in &mut r.uses {
        u.at.line = u.at.line.saturating_add(off);
    }
    for x in &mut r.routes {
        x.at.line = x.at.line.saturating_add(off);
    }
    for p in &mut r.problems {
        p.at.line = p.at.line.saturating_add(off);
    }
    for s in &mut r.secrets {
        s.line = s.line.saturating_add(off);
    }
    r
}

/// What a block is, for the explain report (`code block ```yaml (compose)`).
pub fn describe(code: &Code, heading: &str) -> String {
    let k = match kind(code, heading) {
        Kind::Compose => "compose",
        Kind::Nginx => "nginx",
        Kind::Env => ".env",
        Kind::Python => "python",
        Kind::Shell => "shell commands",
        Kind::Systemd => "systemd unit",
        Kind::Caddy => "Caddyfile",
        Kind::Haproxy => "HAProxy",
        Kind::Apache => "Apache httpd",
        Kind::FirewalldZone => "firewalld zone",
        Kind::IptablesSave => "iptables-save",
        Kind::Kubernetes => "Kubernetes",
        Kind::Inventory => "YAML inventory",
        Kind::Settings => "settings",
        Kind::Xml => "XML",
        Kind::Other => "not read",
    };
    if code.lang.is_empty() {
        format!("code block ({k})")
    } else {
        format!("code block ```{} ({k})", code.lang)
    }
}

/// Why a block with port-like numbers added nothing.
pub fn why_unused(code: &Code, heading: &str) -> String {
    match kind(code, heading) {
        Kind::Other => format!(
            "a `{}` block: no reader for it",
            if code.lang.is_empty() {
                "plain"
            } else {
                &code.lang
            }
        ),
        _ => "no listener, publish, route, flow or firewall rule recognised in it".to_string(),
    }
}

/// Applies one code block to the draft. `caption` is the text line right above it.
#[allow(clippy::too_many_arguments)]
pub fn apply(
    draft: &mut Draft,
    greps: &mut Vec<GrepCheck>,
    report: &mut FileReport,
    path: &str,
    code: &Code,
    section: &Section,
    caption: Option<&str>,
) {
    if section.is_procedure() {
        return;
    }
    let heading = section.innermost();
    let name = || super::configs::program(code, caption, &heading);
    match kind(code, &heading) {
        Kind::Compose => compose(draft, report, path, code, section),
        Kind::Nginx => super::nginx_block::apply(draft, report, path, code, &section.hosts()),
        Kind::Env => env(draft, report, path, code, section),
        Kind::Python => python(draft, code),
        Kind::Shell => shell(draft, greps, path, code, section),
        Kind::Systemd => {
            let n = name();
            super::configs::systemd(draft, path, code, section, &n);
            super::connects::apply(draft, section, code, &[], &|_| None);
        }
        Kind::Caddy => {
            super::caddy::apply(draft, section, code);
        }
        Kind::Haproxy => {
            super::haproxy::apply(draft, section, code);
        }
        Kind::Apache => {
            super::apache::apply(draft, section, code);
        }
        Kind::FirewalldZone => {
            let mut f = super::rulesets::Firewalld::default();
            if f.zone_file(code) {
                f.finish(draft, section);
            }
        }
        Kind::IptablesSave => {
            super::rulesets::iptables_save(draft, section, code);
        }
        Kind::Kubernetes => {
            super::yaml_blocks::kubernetes(draft, path, code, section);
            super::connects::apply(draft, section, code, &[], &|_| None);
        }
        Kind::Inventory => {
            super::yaml_blocks::inventory(draft, path, code, section);
        }
        Kind::Settings => {
            let n = name();
            super::configs::settings(draft, code, section, &n);
            super::connects::apply(draft, section, code, &[], &|_| None);
        }
        Kind::Xml => {
            let n = name();
            super::configs::xml(draft, code, section, &n);
        }
        Kind::Other => {}
    }
}

/// Compose services by line: the service key each line of the block sits under.
fn compose_services(code: &Code) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut in_services = false;
    let mut svc_indent: Option<usize> = None;
    for (l, n) in &code.lines {
        let t = l.trim_end();
        if t.trim().is_empty() || t.trim_start().starts_with('#') {
            continue;
        }
        let indent = t.len() - t.trim_start().len();
        if indent == 0 {
            in_services = t.starts_with("services:");
            svc_indent = None;
            continue;
        }
        if !in_services {
            continue;
        }
        let si = *svc_indent.get_or_insert(indent);
        if indent == si && t.trim_end().ends_with(':') {
            out.push((*n, t.trim().trim_end_matches(':').to_string()));
        }
    }
    out
}

fn compose(draft: &mut Draft, report: &mut FileReport, path: &str, code: &Code, section: &Section) {
    let found = parse_block(code, |t| {
        let mut r = crate::compose::parse(path, t, &Context::default());
        if r.uses.is_empty() && r.problems.is_empty() {
            r.uses = compose_fallback(path, t);
        }
        r
    });
    report.problems.extend(found.problems);
    let services = compose_services(code);
    let names: Vec<String> = services.iter().map(|(_, s)| s.to_lowercase()).collect();
    for u in found.uses.iter().filter(|u| u.role == Role::Expose) {
        draft.skip(
            u.at.line as usize,
            format!(
                "`expose: {}` of `{}`: not published on the host",
                u.port,
                u.service.as_deref().unwrap_or("?")
            ),
        );
    }
    super::connects::apply(draft, section, code, &names, &|line| {
        services
            .iter()
            .rev()
            .find(|(l, _)| *l <= line)
            .map(|(_, s)| cells::slug(s))
    });
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
            &section.hosts(),
            u.service.as_deref().unwrap_or("container"),
            u.port,
            u.target,
            bind,
            u.publisher.unwrap_or(Publisher::Docker),
            line,
        );
    }
}

/// The container a `docker run`/`podman run` names: `--name X`, else its image's name
/// (`docker.io/vaultwarden/server:1.30` → `vaultwarden`).
fn container_name(cmd: &str) -> Option<String> {
    let words: Vec<&str> = cmd.split_whitespace().collect();
    let run = words.windows(2).position(|w| {
        ["docker", "podman", "nerdctl"].contains(&w[0]) && ["run", "create"].contains(&w[1])
    })?;
    let mut i = run + 2;
    while i < words.len() {
        let w = words[i];
        if let Some(n) = w.strip_prefix("--name=") {
            return Some(n.to_string());
        }
        if w == "--name" {
            return words.get(i + 1).map(|s| (*s).to_string());
        }
        i += 1;
    }
    // the image: the first word after the options that is not an option's value
    let mut i = run + 2;
    while i < words.len() {
        let w = words[i];
        if w.starts_with('-') {
            let takes = matches!(
                w,
                "-p" | "-e"
                    | "-v"
                    | "--publish"
                    | "--env"
                    | "--volume"
                    | "--network"
                    | "--restart"
                    | "-u"
                    | "--user"
                    | "-w"
                    | "--label"
                    | "-l"
                    | "--mount"
                    | "--env-file"
                    | "--hostname"
                    | "-h"
            );
            i += if takes && !w.contains('=') { 2 } else { 1 };
            continue;
        }
        let image = w.rsplit_once(':').map_or(w, |(a, _)| a);
        let parts: Vec<&str> = image.split('/').collect();
        let name = match parts.as_slice() {
            [.., owner, "server" | "app" | "image"] => *owner,
            [.., last] => *last,
            [] => return None,
        };
        return Some(name.to_string());
    }
    None
}

/// Records a container publish: onto the binding already declared on that host port (as
/// an override for the section's environment), or as a new service.
#[allow(clippy::too_many_arguments)]
fn publish(
    draft: &mut Draft,
    env: Option<&String>,
    hosts: &[String],
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
        // the app is the container's: what the container port usually is
        let app = super::table::app_for(target.map_or(port.lo, |t| t.lo), None, true);
        let bname = draft.binding_name(&key, app.as_deref(), Some(port));
        let s = draft.service(&key, name);
        s.lines.insert(line);
        s.hosts.extend(hosts.iter().cloned());
        if s.env.is_none() {
            s.env = env.cloned();
        }
        draft.add_binding(
            &key,
            bname,
            BindingDraft {
                port: Some(port),
                app,
                ..change
            },
        );
        return;
    }
    draft.counts.refined += 1;
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

fn env(draft: &mut Draft, report: &mut FileReport, path: &str, code: &Code, section: &Section) {
    super::connects::apply(draft, section, code, &[], &|_| None);
    let found = parse_block(code, |t| crate::env::parse(path, t, &Context::default()));
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
    let mut firewalld = super::rulesets::Firewalld::default();
    let hosts = section.hosts();
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
            if firewalld.command(stripped, line) {
                continue;
            }
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
                    &hosts,
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
                // locations are not used: evidence is the command's line
                let ix = LineIndex::new(path, part);
                let mut uses = crate::cmdline::scan(&ix, SourceKind::Shell, part, 0);
                if uses.is_empty() {
                    uses = listen_flags(&ix, part, line);
                }
                let run_name = container_name(part);
                for u in uses {
                    let bind = u
                        .bind
                        .as_deref()
                        .and_then(|b| b.trim_matches(['[', ']']).parse::<IpAddr>().ok());
                    if u.role == Role::Publish {
                        publish(
                            draft,
                            env.as_ref(),
                            &hosts,
                            u.service
                                .as_deref()
                                .or(run_name.as_deref())
                                .unwrap_or("container"),
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
    firewalld.finish(draft, section);
}

#[allow(clippy::too_many_arguments)]
fn firewall_command(
    draft: &mut Draft,
    kind: &'static str,
    env: Option<String>,
    heading: &str,
    hosts: &[String],
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
    // the ruleset of this section: one of the latest (a section's commands come together;
    // looking further back would make a long document quadratic)
    let n = draft.firewalls.len();
    let idx = if let Some(i) = draft
        .firewalls
        .iter()
        .enumerate()
        .skip(n.saturating_sub(8))
        .find(|(_, f)| f.kind == kind && f.heading == heading && f.env == env)
        .map(|(i, _)| i)
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
            hosts: hosts.to_vec(),
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
        draft.add_binding(
            &key,
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

#[cfg(test)]
mod podman_tests {
    use super::*;

    #[test]
    fn podman_run_publishes() {
        let ix = LineIndex::new("x", "");
        for cmd in [
            "podman run -d --name vaultwarden -p 127.0.0.1:8222:80 -e ADMIN_TOKEN=*** docker.io/vaultwarden/server:1.30.5",
            "podman run -d --name uptime-kuma -p [::]:3001:3001 docker.io/louislam/uptime-kuma:1",
        ] {
            let uses = crate::cmdline::scan(&ix, SourceKind::Shell, cmd, 0);
            assert!(!uses.is_empty(), "{cmd}");
        }
    }
}

#[cfg(test)]
mod podman_doc_tests {
    #[test]
    fn podman_block_in_a_document() {
        let doc = "# x\n\nContainers (podman, rootless)\n-----------------------------\n\n```\npodman run -d --name vaultwarden -p 127.0.0.1:8222:80 -e ADMIN_TOKEN=Vw4rden \\\n    docker.io/vaultwarden/server:1.30.5\npodman run -d --name uptime-kuma -p [::]:3001:3001 docker.io/louislam/uptime-kuma:1\n```\n";
        let imp = crate::markdown::import("d.md", doc);
        assert!(
            imp.spec.contains("8222"),
            "{}\n{}",
            imp.spec,
            imp.explain_text()
        );
    }
}
