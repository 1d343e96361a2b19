//! nginx configuration: `listen` (→ [`Role::Listen`]), `proxy_pass`/`uwsgi_pass`/
//! `fastcgi_pass`/`grpc_pass` (→ [`RouteUse`]s, plus a [`Role::Connect`] use for an explicit
//! `host:port`), and `upstream NAME { server host:port; }` members (→ [`Role::Connect`] with
//! the group name as service).
//!
//! A small hand-written lexer keeps byte spans (directives `name args;`, blocks `{ }`, `#`
//! comments, quoted strings with escapes, `$var`/`${var}`); the parser builds a directive
//! tree without recursion (so deep nesting cannot overflow the stack). Unbalanced braces and
//! unterminated strings become a [`Problem`] naming line:col; what was parsed before is kept.
//!
//! `include` is not followed: the walker reads every file of the tree anyway, so an included
//! `conf.d/*.conf` or `sites-enabled/*` file is reported on its own (a `server` block at the
//! top level of such a file is understood). A route that passes to an upstream group defined
//! in another file keeps the group name as `upstream` and no port, like any group.
//!
//! `stream { server { listen 5432; proxy_pass db:5432; } }` (TCP/UDP proxying) is reported
//! with [`ProxyKind::Http`] and a snippet starting with `stream:`; a `server` without `listen`
//! in `http` listens on 80 (nginx's default).

use std::collections::BTreeSet;

use portolan_model::port::PortRange;
use portolan_model::spec::Transport;

use crate::cmdline::{host_port, normalize_host, snippet};
use crate::evidence::{
    Confidence, Context, FileReport, PortUse, Problem, ProxyKind, Role, RouteUse, SourceKind,
};
use crate::text::{LineIndex, port_number};

/// Reads one file.
pub fn parse(path: &str, text: &str, ctx: &Context) -> FileReport {
    let _ = ctx;
    let ix = LineIndex::new(path, text);
    let mut report = FileReport::default();
    let (tree, mut problems) = directives(text);
    let groups: BTreeSet<&str> = tree
        .iter()
        .flat_map(|d| all(d))
        .filter(|d| d.name.text == "upstream")
        .filter_map(|d| d.args.first().map(|a| a.text.as_str()))
        .collect();
    let mut w = Walker {
        ix: &ix,
        report: &mut report,
        groups: &groups,
    };
    w.block(&tree, Ctx::Top);
    problems.sort();
    for (at, reason) in problems {
        report.problems.push(Problem {
            at: ix.location(at),
            reason,
        });
    }
    report
}

/// The directive tree of nginx `text` (what [`parse`] walks; the Markdown import reads
/// `server` blocks in documents from it too) and what could not be read, as (byte offset,
/// reason). An unterminated string ends the tree; unbalanced braces do not.
pub(crate) fn directives(text: &str) -> (Vec<Directive>, Vec<(usize, String)>) {
    let (tokens, lex_problem) = lex(text);
    let (tree, mut problems) = build(&tokens);
    problems.extend(lex_problem);
    (tree, problems)
}

/// Whether a `*.conf` file looks like nginx configuration (for files outside the usual
/// `nginx/` directories).
pub fn looks_like(text: &str) -> bool {
    let squeezed = |needle: &str| {
        text.match_indices(needle).any(|(i, _)| {
            text.get(i + needle.len()..)
                .map(str::trim_start)
                .is_some_and(|r| r.starts_with('{'))
        })
    };
    squeezed("server") && (text.contains("listen") || text.contains("location"))
        || squeezed("http")
        || text.lines().any(|l| {
            let l = l.trim_start();
            (l.starts_with("listen ") || l.starts_with("proxy_pass ")) && l.contains(';')
                || (l.starts_with("upstream ") || l.starts_with("location ")) && l.ends_with('{')
        })
}

/// A lexed word with its byte offset.
#[derive(Debug, Clone)]
pub(crate) struct Tok {
    /// The word, quotes removed and escapes resolved.
    pub(crate) text: String,
    /// Offset of the token (of its opening quote when quoted).
    pub(crate) at: usize,
    /// 1 when quoted: the text starts one byte after `at`.
    q: usize,
}

#[derive(Debug, Clone)]
enum Token {
    Word(Tok),
    Semi(usize),
    Open(usize),
    Close(usize),
}

/// Splits nginx text into tokens; an unterminated string is a problem (the tokens before
/// it are kept).
fn lex(text: &str) -> (Vec<Token>, Option<(usize, String)>) {
    let mut out = Vec::new();
    let mut it = text.char_indices().peekable();
    while let Some(&(i, c)) = it.peek() {
        match c {
            c if c.is_whitespace() => {
                it.next();
            }
            '#' => {
                while it.peek().is_some_and(|&(_, c)| c != '\n') {
                    it.next();
                }
            }
            ';' => {
                it.next();
                out.push(Token::Semi(i));
            }
            '{' => {
                it.next();
                out.push(Token::Open(i));
            }
            '}' => {
                it.next();
                out.push(Token::Close(i));
            }
            '"' | '\'' => {
                it.next();
                let mut s = String::new();
                let mut closed = false;
                while let Some((_, d)) = it.next() {
                    if d == c {
                        closed = true;
                        break;
                    }
                    if d == '\\' {
                        if let Some((_, e)) = it.next() {
                            if e != c && e != '\\' {
                                s.push('\\');
                            }
                            s.push(e);
                        }
                        continue;
                    }
                    s.push(d);
                }
                if !closed {
                    return (out, Some((i, format!("unterminated {c}string{c}"))));
                }
                out.push(Token::Word(Tok {
                    text: s,
                    at: i,
                    q: 1,
                }));
            }
            _ => {
                let mut s = String::new();
                while let Some(&(_, d)) = it.peek() {
                    if d.is_whitespace() || matches!(d, ';' | '{' | '}') {
                        // `${var}` keeps its braces.
                        if d == '{' && s.ends_with('$') {
                            for (_, e) in it.by_ref() {
                                s.push(e);
                                if e == '}' {
                                    break;
                                }
                            }
                            continue;
                        }
                        break;
                    }
                    if d == '\\' {
                        it.next();
                        if let Some((_, e)) = it.next() {
                            if !matches!(e, '"' | '\'' | '\\') {
                                s.push('\\');
                            }
                            s.push(e);
                        }
                        continue;
                    }
                    s.push(d);
                    it.next();
                }
                out.push(Token::Word(Tok {
                    text: s,
                    at: i,
                    q: 0,
                }));
            }
        }
    }
    (out, None)
}

/// One directive: `name args;` or `name args { block }`.
#[derive(Debug, Clone)]
pub(crate) struct Directive {
    /// The directive's name (`listen`, `server`).
    pub(crate) name: Tok,
    /// Its arguments.
    pub(crate) args: Vec<Tok>,
    /// Its block, if it has one.
    pub(crate) block: Option<Vec<Directive>>,
}

impl Directive {
    /// The text of argument `i`.
    pub(crate) fn arg(&self, i: usize) -> Option<&str> {
        self.args.get(i).map(|a| a.text.as_str())
    }

    /// Whether one of the arguments is `word`.
    pub(crate) fn has_arg(&self, word: &str) -> bool {
        self.args.iter().any(|a| a.text == word)
    }
}

/// Every directive in `d` (itself first, then nested, in source order).
fn all(d: &Directive) -> Vec<&Directive> {
    let mut out = vec![d];
    let mut stack: Vec<&Directive> = d.block.iter().flatten().rev().collect();
    while let Some(x) = stack.pop() {
        out.push(x);
        stack.extend(x.block.iter().flatten().rev());
    }
    out
}

/// How deep blocks may nest (real configurations use fewer than ten levels). Deeper input
/// is a problem at the `{` that goes too deep and the rest of the file is not read, so every
/// walk over the tree (and dropping it) stays shallow.
pub const MAX_DEPTH: usize = 64;

/// Builds the directive tree; braces that do not balance are problems.
fn build(tokens: &[Token]) -> (Vec<Directive>, Vec<(usize, String)>) {
    let mut problems = Vec::new();
    // Each open block: its directive (without block yet), the `{` offset, its children.
    let mut stack: Vec<(Option<Directive>, usize, Vec<Directive>)> = vec![(None, 0, Vec::new())];
    let mut pending: Vec<Tok> = Vec::new();
    for t in tokens {
        match t {
            Token::Word(w) => pending.push(w.clone()),
            Token::Semi(at) => {
                let mut words = std::mem::take(&mut pending).into_iter();
                match words.next() {
                    Some(name) => {
                        if let Some(top) = stack.last_mut() {
                            top.2.push(Directive {
                                name,
                                args: words.collect(),
                                block: None,
                            });
                        }
                    }
                    None => problems.push((*at, "`;` without a directive".to_string())),
                }
            }
            Token::Open(at) => {
                if stack.len() > MAX_DEPTH {
                    problems.push((
                        *at,
                        format!("blocks nested deeper than {MAX_DEPTH} levels: the rest of the file is not read"),
                    ));
                    pending.clear();
                    break;
                }
                let mut words = std::mem::take(&mut pending).into_iter();
                let name = words.next().unwrap_or(Tok {
                    text: String::new(),
                    at: *at,
                    q: 0,
                });
                if name.text.is_empty() {
                    problems.push((*at, "`{` without a directive".to_string()));
                }
                stack.push((
                    Some(Directive {
                        name,
                        args: words.collect(),
                        block: None,
                    }),
                    *at,
                    Vec::new(),
                ));
            }
            Token::Close(at) => {
                if let Some(w) = pending.first() {
                    problems.push((w.at, format!("missing `;` after `{}`", w.text)));
                    pending.clear();
                }
                if stack.len() > 1 {
                    close_top(&mut stack);
                } else {
                    problems.push((*at, "unexpected `}` (no block is open)".to_string()));
                }
            }
        }
    }
    if let Some(w) = pending.first() {
        problems.push((
            w.at,
            format!("missing `;` after `{}` at end of file", w.text),
        ));
    }
    while stack.len() > 1 {
        if let Some((_, at, _)) = stack.last() {
            problems.push((*at, "`{` is never closed".to_string()));
        }
        close_top(&mut stack);
    }
    let tree = stack.pop().map(|s| s.2).unwrap_or_default();
    (tree, problems)
}

/// Closes the innermost open block into its parent.
fn close_top(stack: &mut Vec<(Option<Directive>, usize, Vec<Directive>)>) {
    if let Some((Some(mut d), _, children)) = stack.pop() {
        d.block = Some(children);
        if let Some(parent) = stack.last_mut() {
            parent.2.push(d);
        }
    }
}

/// Where a block is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Top,
    Http,
    Stream,
}

/// The server being read.
struct Server {
    listen: Vec<u16>,
    names: Vec<String>,
}

struct Walker<'r, 'i, 'a> {
    ix: &'i LineIndex<'a>,
    report: &'r mut FileReport,
    groups: &'r BTreeSet<&'r str>,
}

impl Walker<'_, '_, '_> {
    fn snippet(&self, at: usize, ctx: Ctx) -> String {
        let s = snippet(self.ix, &self.ix.location(at));
        if ctx == Ctx::Stream {
            format!("stream: {s}")
        } else {
            s
        }
    }

    /// A use of `port` written at byte `at`, with its snippet.
    fn port_use(&self, at: usize, ctx: Ctx, role: Role, port: u16) -> PortUse {
        PortUse {
            snippet: self.snippet(at, ctx),
            ..PortUse::new(
                self.ix.location(at),
                SourceKind::Nginx,
                role,
                PortRange::single(port),
            )
        }
    }

    fn block(&mut self, items: &[Directive], ctx: Ctx) {
        for d in items {
            let Some(children) = &d.block else {
                continue;
            };
            match d.name.text.as_str() {
                "http" => self.block(children, Ctx::Http),
                "stream" => self.block(children, Ctx::Stream),
                "server" => self.server(children, ctx),
                "upstream" => self.upstream(d, children, ctx),
                // `events`, `mail`, `map`, `types`, `if` at top level…
                _ => {}
            }
        }
    }

    fn upstream(&mut self, d: &Directive, children: &[Directive], ctx: Ctx) {
        let name = d.args.first().map(|a| a.text.clone());
        for s in children.iter().filter(|s| s.name.text == "server") {
            let Some(arg) = s.args.first() else { continue };
            let Some((host, range)) = host_port(&arg.text) else {
                continue;
            };
            let Some(p) = port_number(&arg.text[range.clone()]) else {
                continue;
            };
            let at = arg.at + arg.q + range.start;
            let udp = ctx == Ctx::Stream && s.args.iter().any(|a| a.text == "udp");
            self.report.uses.push(PortUse {
                service: name.clone(),
                peer: host.map(|h| normalize_host(h).to_string()),
                transport: if udp { Transport::Udp } else { Transport::Tcp },
                ..self.port_use(at, ctx, Role::Connect, p)
            });
        }
    }

    fn server(&mut self, children: &[Directive], ctx: Ctx) {
        let mut server = Server {
            listen: Vec::new(),
            names: Vec::new(),
        };
        let mut saw_listen = false;
        let first_listen = self.report.uses.len();
        // `return 301 https://…` at server level with nothing passed on: a redirect-only server
        let redirects = ctx != Ctx::Stream
            && children.iter().any(|d| {
                d.name.text == "return"
                    && d.args
                        .first()
                        .is_some_and(|a| matches!(a.text.as_str(), "301" | "302" | "307" | "308"))
                    && d.args
                        .get(1)
                        .is_some_and(|a| a.text.starts_with("https://"))
            });
        for d in children {
            match d.name.text.as_str() {
                "listen" => {
                    saw_listen = true;
                    if let Some(u) = self.listen(d, ctx) {
                        if !server.listen.contains(&u.port.lo) {
                            server.listen.push(u.port.lo);
                        }
                        self.report.uses.push(u);
                    }
                }
                "server_name" => {
                    server
                        .names
                        .extend(d.args.iter().map(|a| a.text.clone()).filter(|n| n != "_"));
                }
                _ => {}
            }
        }
        if !saw_listen && ctx != Ctx::Stream {
            server.listen.push(80);
        }
        if redirects {
            for u in &mut self.report.uses[first_listen..] {
                u.redirect = true;
            }
        }
        self.locations(children, &server, None, ctx);
    }

    /// Pass directives in a server or location block (and nested locations).
    fn locations(&mut self, items: &[Directive], server: &Server, path: Option<&str>, ctx: Ctx) {
        for d in items {
            let kind = match d.name.text.as_str() {
                "proxy_pass" => Some(ProxyKind::Http),
                "uwsgi_pass" => Some(ProxyKind::Uwsgi),
                "fastcgi_pass" => Some(ProxyKind::Fastcgi),
                "grpc_pass" => Some(ProxyKind::Grpc),
                _ => None,
            };
            if let (Some(kind), Some(arg)) = (kind, d.args.first()) {
                self.pass(d, arg, kind, server, path, ctx);
            }
            if let Some(children) = &d.block {
                if d.name.text == "location" {
                    let p = d
                        .args
                        .iter()
                        .map(|a| a.text.as_str())
                        .rfind(|a| !matches!(*a, "=" | "~" | "~*" | "^~"))
                        .or_else(|| d.args.last().map(|a| a.text.as_str()));
                    self.locations(children, server, p, ctx);
                } else if matches!(d.name.text.as_str(), "if" | "limit_except") {
                    self.locations(children, server, path, ctx);
                }
            }
        }
    }

    fn pass(
        &mut self,
        d: &Directive,
        arg: &Tok,
        kind: ProxyKind,
        server: &Server,
        path: Option<&str>,
        ctx: Ctx,
    ) {
        let v = arg.text.as_str();
        let (body, body_at) = match v.find("://") {
            Some(i) => (&v[i + 3..], i + 3),
            None => (v, 0),
        };
        let hostport = body.split('/').next().unwrap_or(body);
        // `http://user:password@host:port`: credentials are never kept
        let hostport = match hostport.rsplit_once('@') {
            Some((_, h)) => {
                self.report.secrets.push(self.ix.location(arg.at));
                h
            }
            None => hostport,
        };
        let body_at = body_at + (body.split('/').next().unwrap_or(body).len() - hostport.len());
        let route_at = self.ix.location(d.name.at);
        let mut route = RouteUse {
            at: route_at,
            source: SourceKind::Nginx,
            listen: server.listen.clone(),
            server_names: server.names.clone(),
            path: path.map(str::to_string),
            kind,
            upstream: hostport.to_string(),
            port: None,
        };
        if v.starts_with("unix:") || body.starts_with("unix:") {
            route.upstream = body.to_string();
            self.report.routes.push(route);
            return;
        }
        if !self.groups.contains(hostport)
            && !hostport.contains('$')
            && let Some((Some(host), range)) = host_port(hostport)
            && let Some(p) = port_number(&hostport[range.clone()])
        {
            let host = normalize_host(host).to_string();
            route.upstream.clone_from(&host);
            route.port = Some(p);
            let at = arg.at + arg.q + body_at + range.start;
            self.report.uses.push(PortUse {
                peer: Some(host),
                confidence: Confidence::High,
                ..self.port_use(at, ctx, Role::Connect, p)
            });
        }
        self.report.routes.push(route);
    }

    fn listen(&mut self, d: &Directive, ctx: Ctx) -> Option<PortUse> {
        let arg = d.args.first()?;
        let v = arg.text.as_str();
        if v.starts_with("unix:") {
            return None;
        }
        let (host, port, port_at) = match host_port(v) {
            Some((h, range)) => (h, port_number(&v[range.clone()])?, range.start),
            // `listen localhost;` / `listen 127.0.0.1;`: port 80.
            None if !v.contains('/') && !v.is_empty() && !v.contains(':') => (Some(v), 80, 0),
            None => return None,
        };
        let udp = d.args.iter().any(|a| a.text == "quic" || a.text == "udp");
        let at = arg.at + arg.q + port_at;
        let app = match ctx {
            Ctx::Stream => None,
            _ if d.args.iter().any(|a| a.text == "ssl" || a.text == "quic") => Some("https".into()),
            _ => Some("http".into()),
        };
        Some(PortUse {
            app,
            bind: host.map(|h| normalize_host(h).to_string()),
            transport: if udp { Transport::Udp } else { Transport::Tcp },
            ..self.port_use(at, ctx, Role::Listen, port)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> FileReport {
        parse("nginx.conf", text, &Context::default())
    }

    fn listens(text: &str) -> Vec<(u16, Option<String>, Transport, String)> {
        run(text)
            .uses
            .into_iter()
            .filter(|u| u.role == Role::Listen)
            .map(|u| (u.port.lo, u.bind, u.transport, u.at.to_string()))
            .collect()
    }

    #[test]
    fn listen_forms() {
        let l = listens(
            "server {\n  listen 80;\n  listen 8080 default_server;\n  listen 127.0.0.1:8081;\n  listen [::]:443 ssl http2;\n  listen [::1]:82;\n  listen *:83;\n  listen localhost:8084;\n  listen unix:/run/nginx.sock;\n  listen 443 quic reuseport;\n  listen \"8085\";\n}\n",
        );
        let ports: Vec<u16> = l.iter().map(|x| x.0).collect();
        assert_eq!(ports, [80, 8080, 8081, 443, 82, 83, 8084, 443, 8085]);
        assert_eq!(l[0].1, None);
        assert_eq!(l[2].1.as_deref(), Some("127.0.0.1"));
        assert_eq!(l[3].1.as_deref(), Some("::"));
        assert_eq!(l[4].1.as_deref(), Some("::1"));
        assert_eq!(l[5].1.as_deref(), Some("0.0.0.0"));
        assert_eq!(l[6].1.as_deref(), Some("localhost"));
        assert_eq!(l[7].2, Transport::Udp);
        assert_eq!(l[3].2, Transport::Tcp);
        assert_eq!(l[0].3, "nginx.conf:2:10");
        assert_eq!(l[2].3, "nginx.conf:4:20");
        assert_eq!(l[8].3, "nginx.conf:11:11");
    }

    type Row<'a> = (Vec<u16>, Option<&'a str>, ProxyKind, &'a str, Option<u16>);

    #[test]
    fn routes_and_upstreams() {
        let text = "\
upstream backend {
    server 127.0.0.1:9001 weight=3;
    server app2:9002;
    server unix:/tmp/app.sock;
}
server {
    listen 443 ssl;
    listen [::]:443 ssl;
    server_name example.com www.example.com;
    location / { proxy_pass http://127.0.0.1:8000; }
    location /ws { proxy_pass http://backend/; }
    location ~ \\.php$ { fastcgi_pass 127.0.0.1:9000; }
    location /u { uwsgi_pass unix:/run/uwsgi.sock; }
    location /g { grpc_pass grpc://grpc-svc:50051; }
    location /v { proxy_pass http://$upstream_var; }
    location /h { proxy_pass http://other; }
}
server { location / { proxy_pass http://[::1]:7000; } }
";
        let r = run(text);
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        let connects: Vec<(u16, Option<&str>, Option<&str>)> = r
            .uses
            .iter()
            .filter(|u| u.role == Role::Connect)
            .map(|u| (u.port.lo, u.peer.as_deref(), u.service.as_deref()))
            .collect();
        assert_eq!(
            connects,
            [
                (9001, Some("127.0.0.1"), Some("backend")),
                (9002, Some("app2"), Some("backend")),
                (8000, Some("127.0.0.1"), None),
                (9000, Some("127.0.0.1"), None),
                (50051, Some("grpc-svc"), None),
                (7000, Some("::1"), None),
            ]
        );
        let routes: Vec<Row<'_>> = r
            .routes
            .iter()
            .map(|x| {
                (
                    x.listen.clone(),
                    x.path.as_deref(),
                    x.kind,
                    x.upstream.as_str(),
                    x.port,
                )
            })
            .collect();
        assert_eq!(
            routes[0],
            (
                vec![443],
                Some("/"),
                ProxyKind::Http,
                "127.0.0.1",
                Some(8000)
            )
        );
        assert_eq!(
            routes[1],
            (vec![443], Some("/ws"), ProxyKind::Http, "backend", None)
        );
        assert_eq!(routes[2].2, ProxyKind::Fastcgi);
        assert_eq!(routes[2].1, Some("\\.php$"));
        assert_eq!(routes[3].2, ProxyKind::Uwsgi);
        assert_eq!(routes[3].4, None);
        assert_eq!(
            routes[4],
            (
                vec![443],
                Some("/g"),
                ProxyKind::Grpc,
                "grpc-svc",
                Some(50051)
            )
        );
        assert_eq!(routes[5].4, None);
        assert_eq!(routes[6].3, "other");
        assert_eq!(routes[6].4, None);
        // A server without listen: port 80.
        assert_eq!(routes[7].0, vec![80]);
        assert_eq!(r.routes[0].server_names, ["example.com", "www.example.com"]);
        assert_eq!(r.routes[0].at.to_string(), "nginx.conf:10:18");
        let u8000 = r.uses.iter().find(|u| u.port.lo == 8000).expect("8000");
        assert_eq!(u8000.at.to_string(), "nginx.conf:10:46");
    }

    #[test]
    fn comments_are_not_ports() {
        let r = run("server {\n  # listen 8080;\n  listen 80; # proxy_pass http://x:1;\n}\n");
        assert_eq!(r.uses.len(), 1);
        assert!(r.routes.is_empty());
    }

    #[test]
    fn stream_block() {
        let r = run(
            "stream {\n  server {\n    listen 5432;\n    listen 53 udp;\n    proxy_pass db:5432;\n  }\n}\n",
        );
        assert_eq!(r.uses.len(), 3);
        assert_eq!(r.uses[1].transport, Transport::Udp);
        assert!(r.uses[2].snippet.starts_with("stream:"));
        assert_eq!(r.routes[0].listen, [5432, 53]);
        assert_eq!(r.routes[0].upstream, "db");
    }

    #[test]
    fn problems_keep_what_was_parsed() {
        let r = run("server {\n  listen 81;\n  location / {\n");
        assert_eq!(r.uses.len(), 1);
        assert_eq!(r.problems.len(), 2);
        assert_eq!(r.problems[0].at.to_string(), "nginx.conf:1:8");
        assert!(r.problems[0].reason.contains("never closed"));
        let r = run("}\nserver { listen 82; }\n");
        assert_eq!(r.uses.len(), 1);
        assert_eq!(r.problems[0].at.to_string(), "nginx.conf:1:1");
        let r = run("server { listen 83; }\nserver { server_name \"abc;\n");
        assert_eq!(r.uses.len(), 1);
        assert!(r.problems.iter().any(|p| p.reason.contains("unterminated")));
        assert!(
            r.problems
                .iter()
                .any(|p| p.at.to_string() == "nginx.conf:2:22")
        );
        let r = run("server { listen 84 }");
        assert_eq!(r.problems.len(), 1);
        assert!(r.uses.is_empty());
    }

    #[test]
    fn detection() {
        assert!(looks_like("server {\n listen 80;\n}"));
        assert!(looks_like("upstream x {\n server a:1;\n}"));
        assert!(looks_like("http{\n}"));
        assert!(!looks_like("[Unit]\nDescription=x\n"));
        assert!(!looks_like("listen = 80\n"));
    }
}
