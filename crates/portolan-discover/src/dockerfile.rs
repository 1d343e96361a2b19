//! Dockerfiles: `EXPOSE 80 443/tcp 53/udp 8000-8010` ([`Role::Expose`]), the port flags of
//! `CMD`/`ENTRYPOINT` in exec (`["gunicorn", "-b", ":8000"]`) and shell form (through
//! [`cmdline`](crate::cmdline)), `ENV PORT=8080` ([`Role::Listen`], medium: the image's
//! process is expected to read it, unless a command line already uses `$PORT`), and the URL
//! of a `HEALTHCHECK` (`curl -f http://localhost:8080/health` → [`Role::Connect`], low).
//!
//! Instructions are case-insensitive; `\` continues a line (or the character set with a
//! `# escape=` parser directive); comment lines (also inside a continued instruction) are
//! skipped. `$VAR`, `${VAR}`, `${VAR:-default}` in `EXPOSE` and commands are expanded from
//! earlier `ARG`/`ENV` values. In a multi-stage build, uses belong to the stage's `AS name`
//! (no name: no service).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use portolan_model::spec::Transport;
use portolan_model::words::raw_words;
use regex::Regex;

use crate::cmdline::{self, snippet};
use crate::evidence::{Confidence, Context, FileReport, PortUse, Role, SourceKind};
use crate::text::{LineIndex, port_token};

/// Reads one file.
pub fn parse(path: &str, text: &str, ctx: &Context) -> FileReport {
    let _ = ctx;
    let ix = LineIndex::new(path, text);
    let mut report = FileReport::default();
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    let mut stage: Option<String> = None;
    // `ENV PORT=…` uses, kept until the end of their stage: dropped if a command line of
    // the stage already used the variable.
    let mut env_ports: Vec<PortUse> = Vec::new();
    let mut stage_uses: Vec<PortUse> = Vec::new();
    for ins in instructions(text) {
        let Some((word, args_at)) = first_word(&ins.text) else {
            continue;
        };
        let args = ins.text.get(args_at..).unwrap_or("");
        let offset = ins.start + args_at;
        match word.to_ascii_uppercase().as_str() {
            "FROM" => {
                flush(&mut report, &mut env_ports, &mut stage_uses);
                let parts: Vec<&str> = args.split_whitespace().collect();
                stage = parts
                    .iter()
                    .position(|p| p.eq_ignore_ascii_case("as"))
                    .and_then(|i| parts.get(i + 1))
                    .map(|s| (*s).to_string());
            }
            "ARG" => {
                for (name, value, _) in assignments(args, false) {
                    if let Some(v) = value {
                        vars.entry(name).or_insert(v);
                    }
                }
            }
            "ENV" => {
                for (name, value, value_at) in assignments(args, true) {
                    let Some(v) = value else { continue };
                    let v = expand(&v, &vars).unwrap_or(v);
                    if name == "PORT"
                        && let Some(p) = port_token(&v)
                    {
                        let loc = ix.location(offset + value_at);
                        env_ports.push(PortUse {
                            service: stage.clone(),
                            variable: Some(name.clone()),
                            confidence: Confidence::Medium,
                            snippet: snippet(&ix, &loc),
                            ..PortUse::new(loc, SourceKind::Dockerfile, Role::Listen, p)
                        });
                    }
                    vars.insert(name, v);
                }
            }
            "EXPOSE" => {
                for (tok, at) in raw_words(args) {
                    let expanded = expand(tok, &vars);
                    let t = expanded.as_deref().unwrap_or(tok);
                    let (p, proto) = t.split_once('/').unwrap_or((t, "tcp"));
                    let Some(port) = port_token(p) else { continue };
                    let loc = ix.location(offset + at);
                    stage_uses.push(PortUse {
                        service: stage.clone(),
                        transport: if proto.eq_ignore_ascii_case("udp") {
                            Transport::Udp
                        } else {
                            Transport::Tcp
                        },
                        variable: expanded.as_ref().and_then(|_| var_name(tok)),
                        confidence: if expanded.is_some() {
                            Confidence::Medium
                        } else {
                            Confidence::High
                        },
                        snippet: snippet(&ix, &loc),
                        ..PortUse::new(loc, SourceKind::Dockerfile, Role::Expose, port)
                    });
                }
            }
            "CMD" | "ENTRYPOINT" => {
                let found = cmdline::scan_exec(
                    &ix,
                    SourceKind::Dockerfile,
                    args,
                    offset,
                    &vars,
                    Confidence::Medium,
                )
                .unwrap_or_else(|| {
                    cmdline::scan_with(
                        &ix,
                        SourceKind::Dockerfile,
                        args,
                        offset,
                        &vars,
                        Confidence::Medium,
                    )
                });
                stage_uses.extend(found.into_iter().map(|u| PortUse {
                    service: stage.clone(),
                    ..u
                }));
            }
            "HEALTHCHECK" => {
                for c in URL.captures_iter(args) {
                    let (Some(host), Some(port)) = (c.get(1), c.get(2)) else {
                        continue;
                    };
                    let Some(p) = port_token(port.as_str()) else {
                        continue;
                    };
                    let loc = ix.location(offset + port.start());
                    stage_uses.push(PortUse {
                        service: stage.clone(),
                        peer: Some(host.as_str().to_string()),
                        confidence: Confidence::Low,
                        snippet: snippet(&ix, &loc),
                        ..PortUse::new(loc, SourceKind::Dockerfile, Role::Connect, p)
                    });
                }
            }
            _ => {}
        }
    }
    flush(&mut report, &mut env_ports, &mut stage_uses);
    report
}

/// `http://host:port` in a health check.
static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"https?://([A-Za-z0-9.\-_]+|\[[0-9a-fA-F:]+\]):(\d{1,5})\b").expect("static regex")
});

/// Ends a stage: its `ENV PORT` uses join the report unless a command line used `PORT`.
fn flush(report: &mut FileReport, env_ports: &mut Vec<PortUse>, stage_uses: &mut Vec<PortUse>) {
    let used: Vec<String> = stage_uses
        .iter()
        .filter_map(|u| u.variable.clone())
        .collect();
    let mut all: Vec<PortUse> = std::mem::take(stage_uses);
    all.extend(
        env_ports
            .drain(..)
            .filter(|u| u.variable.as_ref().is_none_or(|v| !used.contains(v))),
    );
    all.sort_by_key(|a| (a.at.line, a.at.col));
    report.uses.extend(all);
}

/// The variable a token names, if it is one (`$PORT`, `${PORT:-80}`).
fn var_name(tok: &str) -> Option<String> {
    let t = tok.strip_prefix('$')?;
    let t = t.strip_prefix('{').unwrap_or(t);
    let n: String = t
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!n.is_empty()).then_some(n)
}

/// `tok` with `$VAR`/`${VAR}`/`${VAR:-d}` expanded, or `None` when it has no variable (or
/// one that cannot be resolved).
fn expand(tok: &str, vars: &BTreeMap<String, String>) -> Option<String> {
    if !tok.contains('$') {
        return None;
    }
    let mut out = String::new();
    let mut rest = tok;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(inner) = after.strip_prefix('{') {
            let close = inner.find('}')?;
            let body = &inner[..close];
            let name_len = body
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(body.len());
            let (name, op) = body.split_at(name_len);
            let value = match vars.get(name) {
                Some(v) if !v.is_empty() || !op.starts_with(':') => Some(v.clone()),
                _ => op
                    .strip_prefix(":-")
                    .or_else(|| op.strip_prefix('-'))
                    .map(str::to_string),
            };
            out.push_str(&value?);
            rest = &inner[close + 1..];
        } else {
            let name_len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            out.push_str(vars.get(&after[..name_len])?);
            rest = &after[name_len..];
        }
    }
    out.push_str(rest);
    Some(out)
}

/// `NAME=value` pairs (`ENV A=1 B="x y"`; legacy `ENV NAME value` when `legacy`), with the
/// byte offset of each value inside `args`.
fn assignments(args: &str, legacy: bool) -> Vec<(String, Option<String>, usize)> {
    let ws = raw_words(args);
    if legacy
        && let Some(((first, _), (_, second_at))) = ws.first().zip(ws.get(1))
        && !first.contains('=')
    {
        let value = args.get(*second_at..).unwrap_or("").trim_end();
        return vec![(first.to_string(), Some(unquote(value)), *second_at)];
    }
    ws.into_iter()
        .map(|(w, at)| match w.split_once('=') {
            Some((n, v)) => {
                let q = usize::from(v.starts_with('"') || v.starts_with('\''));
                (n.to_string(), Some(unquote(v)), at + n.len() + 1 + q)
            }
            None => (w.to_string(), None, at),
        })
        .collect()
}

fn unquote(v: &str) -> String {
    let v = v.trim();
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|v| v.strip_suffix(q)) {
            return inner.to_string();
        }
    }
    v.to_string()
}

/// The instruction keyword and where its arguments start.
fn first_word(s: &str) -> Option<(&str, usize)> {
    let start = s.find(|c: char| !c.is_whitespace())?;
    let rest = &s[start..];
    let len = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let args = rest[len..]
        .find(|c: char| !c.is_whitespace())
        .map_or(s.len(), |k| start + len + k);
    Some((&rest[..len], args))
}

/// One logical instruction: `text` has the same length as the source it came from (line
/// continuations and comment lines are blanked to spaces), so offsets inside it plus `start`
/// are offsets in the file.
struct Instruction {
    start: usize,
    text: String,
}

/// The logical instructions of a Dockerfile.
fn instructions(text: &str) -> Vec<Instruction> {
    let mut escape = '\\';
    let mut directives = true;
    let mut out = Vec::new();
    let mut cur: Option<(usize, Vec<u8>)> = None;
    let mut pos = 0;
    for raw in text.split_inclusive('\n') {
        let line_start = pos;
        pos += raw.len();
        let body = raw.trim_end_matches(['\n', '\r']);
        let trimmed = body.trim_start();
        if trimmed.starts_with('#') {
            if directives && cur.is_none() {
                let d = trimmed.trim_start_matches('#').trim();
                if let Some((k, v)) = d.split_once('=') {
                    if k.trim().eq_ignore_ascii_case("escape") {
                        escape = match v.trim() {
                            "`" => '`',
                            _ => '\\',
                        };
                    }
                    continue;
                }
            }
            directives = false;
            if let Some((_, buf)) = cur.as_mut() {
                buf.extend(std::iter::repeat_n(b' ', raw.len()));
            }
            continue;
        }
        directives = false;
        if trimmed.is_empty() && cur.is_none() {
            continue;
        }
        let mut bytes = raw.as_bytes().to_vec();
        // Blank the line break and a trailing escape (continuation).
        let content_end = body.trim_end().len();
        let continues = body.trim_end().ends_with(escape);
        for b in bytes.iter_mut().skip(body.len()) {
            *b = b' ';
        }
        if continues && let Some(b) = bytes.get_mut(content_end - 1) {
            *b = b' ';
        }
        let (_, buf) = cur.get_or_insert_with(|| (line_start, Vec::new()));
        buf.extend(bytes);
        if !continues && let Some((start, buf)) = cur.take() {
            out.push(Instruction {
                start,
                text: String::from_utf8_lossy(&buf).into_owned(),
            });
        }
    }
    if let Some((start, buf)) = cur.take() {
        out.push(Instruction {
            start,
            text: String::from_utf8_lossy(&buf).into_owned(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use portolan_model::port::PortRange;

    fn run(text: &str) -> Vec<(u16, Role, Transport, Option<String>, String, Confidence)> {
        parse("Dockerfile", text, &Context::default())
            .uses
            .into_iter()
            .map(|u| {
                (
                    u.port.lo,
                    u.role,
                    u.transport,
                    u.service,
                    format!("{}:{}", u.at.line, u.at.col),
                    u.confidence,
                )
            })
            .collect()
    }

    #[test]
    fn expose_forms() {
        let u = run("FROM python:3.12\nEXPOSE 80 443/tcp 53/udp 8000-8010\n");
        assert_eq!(u.len(), 4);
        assert_eq!(u[0].0, 80);
        assert_eq!(u[0].1, Role::Expose);
        assert_eq!(u[0].4, "2:8");
        assert_eq!(u[1].4, "2:11");
        assert_eq!(u[2].2, Transport::Udp);
        let r = parse("Dockerfile", "EXPOSE 8000-8010", &Context::default());
        assert_eq!(r.uses[0].port, PortRange::new(8000, 8010).expect("range"));
        assert!(run("expose   7000").first().is_some_and(|u| u.0 == 7000));
        assert!(run("EXPOSE 0 99999 abc").is_empty());
    }

    #[test]
    fn expose_from_arg_and_env() {
        let u = run("ARG PORT=8080\nEXPOSE ${PORT}\nEXPOSE ${OTHER:-9090}\nEXPOSE $NOPE\n");
        assert_eq!(u.len(), 2);
        assert_eq!((u[0].0, u[0].5), (8080, Confidence::Medium));
        assert_eq!(u[1].0, 9090);
        let r = parse(
            "Dockerfile",
            "ENV APP_PORT 7070\nEXPOSE $APP_PORT",
            &Context::default(),
        );
        assert_eq!(r.uses[0].variable.as_deref(), Some("APP_PORT"));
        assert_eq!(r.uses[0].port.lo, 7070);
    }

    #[test]
    fn comments_and_continuations() {
        let u = run("# EXPOSE 1111\nFROM x\nEXPOSE 80 \\\n  # EXPOSE 2222\n  81\n  # trailing\n");
        let ports: Vec<u16> = u.iter().map(|x| x.0).collect();
        assert_eq!(ports, [80, 81]);
        assert_eq!(u[1].4, "5:3");
        let u = run("# escape=`\nFROM x\nEXPOSE 80 `\n  82\n");
        assert_eq!(u.iter().map(|x| x.0).collect::<Vec<_>>(), [80, 82]);
    }

    #[test]
    fn commands_exec_and_shell_form() {
        let u = run(
            "FROM python AS api\nEXPOSE 8000\nCMD [\"gunicorn\", \"-b\", \"0.0.0.0:8000\", \"app:app\"]\n",
        );
        assert_eq!(u.len(), 2);
        assert_eq!(u[1].1, Role::Listen);
        assert_eq!(u[1].3.as_deref(), Some("api"));
        assert_eq!(u[1].4, "3:33");
        let u = run("FROM node\nENTRYPOINT next start \\\n   -p 3000\n");
        assert_eq!((u[0].0, u[0].4.as_str()), (3000, "3:7"));
        assert_eq!(u[0].3, None);
        let u = run(
            "FROM a AS build\nRUN gunicorn -b :1\nFROM b AS web\nCMD uvicorn x:y --port 8001\n",
        );
        assert_eq!(u.len(), 1);
        assert_eq!(u[0].3.as_deref(), Some("web"));
    }

    #[test]
    fn env_port_and_its_use() {
        // ENV PORT alone: the process is expected to read it.
        let u = run("FROM x\nENV PORT=8080\nCMD node server.js\n");
        assert_eq!(u.len(), 1);
        assert_eq!(
            (u[0].0, u[0].1, u[0].5),
            (8080, Role::Listen, Confidence::Medium)
        );
        assert_eq!(u[0].4, "2:10");
        // Used by the command: reported once, at the command.
        let u = run("FROM x\nENV PORT=8080\nCMD gunicorn -b 0.0.0.0:$PORT app\n");
        assert_eq!(u.len(), 1);
        assert_eq!(u[0].4, "3:25");
        assert_eq!(u[0].5, Confidence::Medium);
    }

    #[test]
    fn healthcheck() {
        let u = run(
            "FROM x\nHEALTHCHECK --interval=30s CMD curl -f http://localhost:8080/health || exit 1\n",
        );
        assert_eq!(u.len(), 1);
        assert_eq!(
            (u[0].0, u[0].1, u[0].5),
            (8080, Role::Connect, Confidence::Low)
        );
    }
}
