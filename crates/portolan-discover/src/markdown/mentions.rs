//! Ports stated in list items and prose: `Jellyfin → 8096`, `Home Assistant: 8123`,
//! `53 — Pi-hole DNS (tcp and udp)`, `Node-RED editor — 1880, LAN only`, definition lists
//! (`Syncthing` / `: GUI on 127.0.0.1:8384`), sentences ("the torrent client listens on
//! 51413", "lauscht auf Port 631", "escucha en el puerto 8080", "écoute sur le port 13133",
//! "слушает порт 7071"), and outbound mentions ("calls `https://api.adyen.com`", "the relay
//! smtp.provider.example on 25", list items under a "clients"/"outbound" heading).
//!
//! A sentence about a service the document already declares on another port is a
//! contradiction: it becomes a note naming both lines, not a second binding. The same for
//! a sentence that says HTTP where a table says HTTPS only.

use std::net::IpAddr;
use std::sync::LazyLock;

use portolan_model::knowledge::scheme_port;
use portolan_model::port::PortRange;
use portolan_model::spec::Transport;
use regex::Regex;

use super::Section;
use super::cells;
use super::direction;
use super::draft::{BindingDraft, Draft, FlowDraft, FlowTarget};
use super::intent;

/// How a statement meets a service the document already declares under a matching name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    /// A new service of its own name (or a new binding of a service of exactly that name).
    #[default]
    Add,
    /// Lists: the same port confirms the declared binding, another port is one more binding
    /// of that service.
    Merge,
    /// Prose: the same port confirms, another port (or scheme) contradicts the declaration
    /// and becomes a note.
    Check,
    /// A configuration block: like [`Mode::Merge`], and its bind address is what runs (a
    /// different one declared elsewhere is noted and replaced).
    Config,
}

/// A port statement: a listener as one line of a document describes it.
#[derive(Debug, Clone, Default)]
pub struct Listener {
    /// Name as written.
    pub name: String,
    /// What it is for.
    pub purpose: Option<String>,
    /// Ports, each with its transport when written with one (`51820/udp`).
    pub ports: Vec<(PortRange, Option<Transport>)>,
    /// Transports the text names for all ports (`tcp and udp`); empty: TCP.
    pub transports: Vec<Transport>,
    /// Bind address.
    pub bind: Option<IpAddr>,
    /// App protocol.
    pub app: Option<String>,
    /// Said to speak TLS.
    pub tls: bool,
    /// Audience text (read with [`intent::audience`]).
    pub audience: String,
    /// Hosts named with it.
    pub hosts: Vec<String>,
    /// Line.
    pub line: usize,
    /// How it meets what the document already declares.
    pub mode: Mode,
    /// Redirect-only.
    pub redirect: bool,
}

static PORT_SPEC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)^\s*(?:(?:ports?|puertos?|portas?|порт[ыу]?)\s+)?",
        r"(?P<lo>\d{1,5})(?:\s*(?:-|–|—|\.\.|to|bis|a|à|до|through)\s*(?P<hi>\d{1,5}))?",
        r"(?:\s*/\s*(?P<proto>tcp|udp))?"
    ))
    .expect("static regex")
});

/// Units and words after a number that make it a quantity, not a port.
const UNITS: &[&str] = &[
    "mb", "gb", "tb", "kb", "ms", "s", "sec", "seconds", "min", "minutes", "h", "hours", "days",
    "%", "va", "w", "kw", "x", "mbps", "gbps", "rps", "requests", "users", "cores", "vcpus",
    "núcleos", "ядер", "readings", "studies", "benches", "kassen", "times", "items", "€", "$",
];

/// Ports with their transport (`None`: the text does not say).
pub type PortList = Vec<(PortRange, Option<Transport>)>;

/// Parses a list of ports at the start of `s` (`80, 443 and 8081`, `ports 47800 to
/// 47807`, `51820/udp`, `6000 bis 6010`): the ports and the rest of the text.
pub fn port_list(s: &str) -> Option<(PortList, &str)> {
    let mut out = Vec::new();
    let mut rest = s;
    loop {
        let c = PORT_SPEC.captures(rest)?;
        let whole = c.get(0)?;
        let after = &rest[whole.end()..];
        // a version, a time, a decimal, an address or a quantity is not a port
        let mut next = after.chars();
        match (next.next(), next.next()) {
            (None, _) => {}
            (Some(c), _) if c.is_whitespace() || ",;()—–-".contains(c) => {
                if c == ',' && after[1..].starts_with(|ch: char| ch.is_ascii_digit()) {
                    return None;
                }
            }
            (Some('.' | ':' | '!' | '?'), n) if n.is_none_or(char::is_whitespace) => {}
            (Some('/'), _) => {}
            _ => return None,
        }
        let next_word = after
            .trim_start()
            .split(|ch: char| ch.is_whitespace() || ch == ',' || ch == ')' || ch == ';')
            .next()
            .unwrap_or("")
            .to_lowercase();
        if UNITS.contains(&next_word.as_str()) {
            return None;
        }
        let lo = crate::text::port_number(&c["lo"])?;
        let range = match c.name("hi") {
            Some(h) => PortRange::new(lo, crate::text::port_number(h.as_str())?).ok()?,
            None => PortRange::single(lo),
        };
        let proto = c.name("proto").map(|p| {
            if p.as_str().eq_ignore_ascii_case("udp") {
                Transport::Udp
            } else {
                Transport::Tcp
            }
        });
        out.push((range, proto));
        rest = after;
        // `, 443`, ` and 8081`, ` / 80`, ` & 9100`
        let t = rest.trim_start();
        let cont = [",", "and ", "und ", "y ", "et ", "и ", "&", "/", "+"]
            .iter()
            .find_map(|sep| t.strip_prefix(sep));
        match cont {
            Some(more)
                if PORT_SPEC.is_match(more)
                    && more
                        .trim_start()
                        .starts_with(|c: char| c.is_ascii_digit() || c.is_alphabetic()) =>
            {
                // only continue if the next thing really is a port
                let probe = PORT_SPEC.captures(more);
                if probe.is_some_and(|p| {
                    let e = p.get(0).map_or(0, |m| m.end());
                    !more[e..].starts_with(|ch: char| ch.is_alphanumeric())
                }) {
                    rest = more;
                    continue;
                }
                break;
            }
            _ => break,
        }
    }
    if out.is_empty() {
        None
    } else {
        Some((out, rest))
    }
}

/// Words of a name that make it a sentence, not a name.
const VERBS: &[&str] = &[
    "is", "are", "runs", "run", "has", "have", "was", "were", "uses", "use", "opens", "open",
    "allow", "allows", "ist", "sind", "es", "son", "est", "sont", "will", "should", "must", "see",
];

fn name_like(s: &str) -> bool {
    let c = cells::clean(s);
    let words: Vec<String> = c.split_whitespace().map(str::to_lowercase).collect();
    !words.is_empty()
        && words.len() <= 8
        && !words.iter().any(|w| VERBS.contains(&w.as_str()))
        && c.chars().next().is_some_and(char::is_alphanumeric)
}

/// Splits `Name (what it is)` into the name and the parenthesised text.
fn split_paren(s: &str) -> (String, Option<String>) {
    let c = cells::clean(s);
    match c.find('(') {
        Some(i) if i > 0 => {
            let name = c[..i].trim().to_string();
            let inner = c[i + 1..].trim_end_matches(')').trim().to_string();
            (name, (!inner.is_empty()).then_some(inner))
        }
        _ => (c.trim().to_string(), None),
    }
}

/// Whether the rest after a port list is a description (`(tcp and udp)`, `, LAN only`, `—
/// WireGuard`), not the continuation of a sentence (`are open to the world`).
fn rest_is_description(rest: &str) -> bool {
    let t = rest.trim();
    t.is_empty() || t.starts_with(['(', ',', ';', '—', '–', '-', ':', '.'])
}

/// Adds a listener statement to the draft; `false` when it says nothing usable.
pub fn add(draft: &mut Draft, section: &Section, l: &Listener) -> bool {
    let (name, paren) = split_paren(&l.name);
    let mut name = strip_articles(&name);
    let mut hosts = l.hosts.clone();
    for h in draft.hosts_in(&name) {
        if !hosts.contains(&h) {
            hosts.push(h.clone());
        }
        name = name
            .split_whitespace()
            .filter(|w| cells::slug(w) != h)
            .collect::<Vec<_>>()
            .join(" ");
        for p in [" auf", " on", " en", " sur", " на"] {
            if let Some(n) = name.strip_suffix(p) {
                name = n.to_string();
            }
        }
    }
    let key = cells::slug(&name);
    if key.is_empty() || l.ports.is_empty() {
        return false;
    }
    let key = match l.mode {
        Mode::Check => {
            if let Some(existing) = matching_service(draft, &key) {
                return check_against(draft, &existing, l);
            }
            key
        }
        Mode::Merge | Mode::Config => {
            let candidates = matching_services(draft, &key);
            let by_name = candidates
                .iter()
                .find(|k| {
                    draft.services.get(*k).is_some_and(|s| {
                        s.bindings.values().any(|b| {
                            l.ports
                                .iter()
                                .any(|(p, _)| b.port.is_some_and(|x| x.overlaps(p)))
                        })
                    })
                })
                .or(candidates.first())
                .cloned();
            // a configuration of a port the document already gives a service on the same
            // machine configures that service (the table calls it `Cloud broker`, the file
            // is `mosquitto.conf`)
            let by_port = || {
                let context: Vec<String> = if l.hosts.is_empty() {
                    section.hosts()
                } else {
                    l.hosts.clone()
                };
                let mut found: Vec<String> = Vec::new();
                for (p, t) in &l.ports {
                    let udp = t.or(l.transports.first().copied()) == Some(Transport::Udp);
                    for (sk, bk) in draft.bindings_on(p.lo, false) {
                        let Some(s) = draft.services.get(&sk) else {
                            continue;
                        };
                        let same_place = s.hosts.is_empty()
                            || context.is_empty()
                            || s.hosts.iter().any(|h| context.contains(h));
                        let same = s.bindings.get(&bk).is_some_and(|b| {
                            b.port == Some(*p) && (b.transport == Some(Transport::Udp)) == udp
                        });
                        if same_place && same && !found.contains(&sk) {
                            found.push(sk);
                        }
                    }
                }
                found.dedup();
                (found.len() == 1).then(|| found.remove(0))
            };
            match (by_name, l.mode) {
                (Some(k), _) => k,
                (None, Mode::Config) => by_port().unwrap_or(key),
                (None, _) => key,
            }
        }
        Mode::Add => key,
    };
    let purpose = l.purpose.clone().or(paren.clone());
    let said = format!(
        "{} {} {}",
        l.name,
        purpose.as_deref().unwrap_or(""),
        l.audience
    );
    let app = l
        .app
        .clone()
        .or_else(|| intent::app_from_words(&said).map(str::to_string));
    let tls = l.tls || intent::says_tls(&said);
    let exposure = intent::audience(draft, &l.audience).unwrap_or_default();
    let via_proxy = intent::via_proxy(&l.audience);
    let env = section.environment();
    let hosts = if hosts.is_empty() {
        section.hosts()
    } else {
        hosts
    };
    let mut transports: Vec<Transport> = l.transports.clone();
    if transports.is_empty() {
        transports = intent::transports(&said);
    }
    for (port, t) in &l.ports {
        let ts: Vec<Transport> = match t {
            Some(t) => vec![*t],
            None if transports.is_empty() => vec![Transport::Tcp],
            None => transports.clone(),
        };
        for t in ts {
            let app = app
                .clone()
                .filter(|a| !(t == Transport::Udp && (a == "http" || a == "https")))
                .or_else(|| super::table::app_for(port.lo, None, true));
            let app = match (app, tls) {
                (Some(a), true) if a == "http" => Some("https".to_string()),
                (a, _) => a,
            };
            let transport = (t == Transport::Udp).then_some(Transport::Udp);
            let exists = draft.services.get(&key).and_then(|s| {
                s.bindings
                    .iter()
                    .find(|(_, b)| b.port == Some(*port) && b.transport == transport)
                    .map(|(n, _)| n.clone())
            });
            if let Some(bn) = exists {
                let mut differs = None;
                if let Some(b) = draft
                    .services
                    .get_mut(&key)
                    .and_then(|s| s.bindings.get_mut(&bn))
                {
                    b.lines.insert(l.line);
                    match (b.bind, l.bind) {
                        (None, new) => b.bind = new,
                        (Some(old), Some(new)) if old != new && l.mode == Mode::Config => {
                            differs = Some((old, new, b.lines.first().copied().unwrap_or(0)));
                            b.bind = Some(new);
                        }
                        _ => {}
                    }
                }
                if let Some((old, new, first)) = differs {
                    draft.note(
                        l.line,
                        format!(
                            "the configuration binds `{key}` port {port} to {new}, but line {first} says {old}; the spec follows the configuration"
                        ),
                    );
                }
                draft.counts.refined += 1;
                continue;
            }
            let mut bname = draft.binding_name(&key, app.as_deref(), Some(*port));
            if transport == Some(Transport::Udp) && !bname.contains("udp") {
                let base = format!("{bname}-udp");
                bname = base;
            }
            let b = BindingDraft {
                port: Some(*port),
                bind: l.bind,
                transport,
                tls: (tls || app.as_deref() == Some("https")).then_some("native"),
                app,
                exposure: exposure.clone(),
                via_proxy,
                redirect: l.redirect,
                purpose: purpose.clone(),
                lines: [l.line].into(),
                ..BindingDraft::default()
            };
            draft.service(&key, &name);
            draft.add_binding(&key, bname, b);
        }
    }
    let s = draft.service(&key, &name);
    s.lines.insert(l.line);
    s.hosts.extend(hosts);
    if s.env.is_none() {
        s.env = env;
    }
    if s.purpose.is_none() {
        s.purpose = purpose.filter(|_| l.ports.len() == 1);
    }
    true
}

fn strip_articles(s: &str) -> String {
    let mut words: Vec<&str> = s.split_whitespace().collect();
    while let Some(first) = words.first() {
        let l = first.to_lowercase();
        if [
            "the", "its", "it's", "our", "a", "an", "der", "die", "das", "den", "el", "la", "los",
            "las", "le", "les", "l'", "un", "une", "also", "and", "y", "et", "und", "и",
        ]
        .contains(&l.as_str())
        {
            words.remove(0);
        } else {
            break;
        }
    }
    words
        .join(" ")
        .replace("'s ", " ")
        .replace("’s ", " ")
        .trim_end_matches([',', ';', ':'])
        .to_string()
}

/// The services whose names match, best first: the same key, then by the words shared.
fn matching_services(draft: &Draft, key: &str) -> Vec<String> {
    let subject: Vec<&str> = key.split('-').filter(|w| w.len() > 1).collect();
    let mut found: Vec<(usize, String)> = Vec::new();
    for k in draft.services_sharing_words(key) {
        let Some(s) = draft.services.get(&k) else {
            continue;
        };
        let k = &k;
        if s.bindings.is_empty() {
            continue;
        }
        if k == key {
            found.push((usize::MAX, k.clone()));
            continue;
        }
        let words: Vec<&str> = k.split('-').filter(|w| w.len() > 1).collect();
        let name_in_subject = !words.is_empty() && words.iter().all(|w| subject.contains(w));
        let subject_in_name = !subject.is_empty() && subject.iter().all(|w| words.contains(w));
        if name_in_subject || subject_in_name {
            found.push((
                words.iter().filter(|w| subject.contains(w)).count(),
                k.clone(),
            ));
        }
    }
    found.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    found.into_iter().map(|(_, k)| k).collect()
}

/// The service whose name the subject of a sentence names: every word of the service's
/// name is in the subject, or every word of the subject in the name.
fn matching_service(draft: &Draft, key: &str) -> Option<String> {
    let subject: Vec<&str> = key.split('-').filter(|w| w.len() > 1).collect();
    if subject.is_empty() {
        return None;
    }
    let mut best: Option<(usize, String)> = None;
    for k in draft.services_sharing_words(key) {
        let Some(s) = draft.services.get(&k) else {
            continue;
        };
        let k = &k;
        if s.bindings.is_empty() {
            continue;
        }
        let words: Vec<&str> = k.split('-').filter(|w| w.len() > 1).collect();
        let name_in_subject = !words.is_empty() && words.iter().all(|w| subject.contains(w));
        let subject_in_name = subject.iter().all(|w| words.contains(w));
        if name_in_subject || subject_in_name {
            let score = words.iter().filter(|w| subject.contains(w)).count();
            if best.as_ref().is_none_or(|(b, _)| score > *b) {
                best = Some((score, k.clone()));
            }
        }
    }
    best.map(|(_, k)| k)
}

/// A binding a service already declares: its port, name, first line, TLS and app.
type Declared = (
    PortRange,
    String,
    usize,
    Option<&'static str>,
    Option<String>,
);

/// A sentence about a declared service: the same port confirms it, another port or another
/// scheme is a contradiction (a note naming both lines).
fn check_against(draft: &mut Draft, key: &str, l: &Listener) -> bool {
    let Some(s) = draft.services.get(key) else {
        return false;
    };
    let declared: Vec<Declared> = s
        .bindings
        .iter()
        .filter_map(|(n, b)| {
            Some((
                b.port?,
                n.clone(),
                b.lines.first().copied().unwrap_or(0),
                b.tls,
                b.app.clone(),
            ))
        })
        .collect();
    let display = s.display.clone();
    let mut any = false;
    for (port, _) in &l.ports {
        if let Some((_, bn, _, tls, app)) = declared.iter().find(|(p, ..)| p.overlaps(port)) {
            any = true;
            let says_http = l.app.as_deref().is_some_and(|a| a == "http") && !l.tls;
            if says_http && (tls.is_some() || app.as_deref() == Some("https")) {
                let table_line = declared
                    .iter()
                    .find(|(p, ..)| p.overlaps(port))
                    .map_or(0, |d| d.2);
                draft.note(
                    l.line,
                    format!(
                        "the text says `{display}` serves plain HTTP on {port}, but line {table_line} declares it HTTPS/TLS"
                    ),
                );
            }
            if let Some(b) = draft
                .services
                .get_mut(key)
                .and_then(|s| s.bindings.get_mut(bn))
            {
                b.lines.insert(l.line);
                if b.bind.is_none() {
                    b.bind = l.bind;
                }
                if l.redirect && port.lo == 80 {
                    b.redirect = true;
                }
            }
            draft.counts.refined += 1;
        } else {
            let list = declared
                .iter()
                .map(|(p, _, line, ..)| format!("{p} (line {line})"))
                .collect::<Vec<_>>()
                .join(", ");
            draft.note(
                l.line,
                format!(
                    "the text says `{display}` listens on {port}, but the document declares it on {list}; the spec keeps the declaration"
                ),
            );
            any = true;
        }
    }
    any
}

static VERB: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)(?P<verb>\blistens?\b|\blistening\b|\bruns?\b|\brunning\b|\banswers?\b|\bis served\b|",
        r"\bserves\b|\bis reachable\b|\bis available\b|\bbinds?\b|\buses\b|\blauscht\b|\bläuft\b|",
        r"\bhört\b|\bescucha\b|\batiende\b|\bfunciona\b|\bécoute\b|\btourne\b|\brépond\b|",
        r"слушает|работает|доступен)",
        r"(?P<mid>[^.;:!?]{0,32}?)",
        r"(?P<port>\b\d{1,5}\b)"
    ))
    .expect("static regex")
});

/// Prepositions that end the words between a verb and its port.
const BEFORE_PORT: &[&str] = &[
    "on",
    "at",
    "port",
    "ports",
    "auf",
    "unter",
    "puerto",
    "en",
    "sur",
    "порт",
    "порту",
    "на",
];

static GERMAN_FINAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?P<subject>.+?)\s+(?:ist|wird)\b(?P<mid>.{0,60}?)\b(?:auf|unter)\s+(?:port\s+)?(?P<port>\d{1,5})\s+(?:zu erreichen|erreichbar)")
        .expect("static regex")
});

static NAME_ON: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?P<name>\b[A-Za-z][A-Za-z0-9_.\-]{2,30})\s+on\s+(?:port\s+)?(?P<port>\d{1,5})\b")
        .expect("static regex")
});

const NOT_NAMES: &[&str] = &[
    "it",
    "is",
    "files",
    "runs",
    "run",
    "and",
    "only",
    "also",
    "listens",
    "that",
    "this",
    "which",
    "what",
    "traffic",
    "requests",
    "them",
    "everything",
    "nothing",
    "based",
    "depends",
    "relies",
    "ports",
    "port",
    "open",
    "opened",
    "closed",
    "down",
    "up",
    "out",
    "running",
    "hosted",
    "forwards",
    "redirects",
    "deployed",
    "available",
    "live",
    "go",
];

/// A sentence's clause boundaries: where a new subject may start.
fn clause_start(before: &str) -> usize {
    let mut best = 0;
    for sep in [
        ". ", "; ", ": ", ", and ", " and ", " und ", " y ", " et ", " и ", ", ", "— ", "(", "—",
    ] {
        if let Some(i) = before.rfind(sep) {
            let e = i + sep.len();
            if e > best {
                best = e;
            }
        }
    }
    best
}

/// Generic words that, alone, do not name a program (`its web UI`, `passive mode`).
const GENERIC_SUBJECT: &[&str] = &[
    "web",
    "ui",
    "gui",
    "admin",
    "interface",
    "api",
    "metrics",
    "health",
    "check",
    "passive",
    "mode",
    "it",
    "its",
    "it's",
    "port",
    "console",
    "dashboard",
    "the",
    "also",
];

/// Reads the sentences of one prose line for listener statements; returns whether any.
pub fn sentences(draft: &mut Draft, section: &Section, text: &str, line: usize) -> bool {
    let clean = cells::clean(text);
    let mut found = false;
    let mut previous: Option<String> = None;
    for sentence in split_sentences(&clean) {
        if direction::outbound_sentence(&format!(" {sentence}")) {
            continue;
        }
        let mut taken: Vec<(usize, usize)> = Vec::new();
        if let Some(c) = GERMAN_FINAL.captures(sentence) {
            let subject = c["subject"].to_string();
            if let Some(port) = crate::text::port_number(&c["port"]) {
                let mid = c["mid"].to_lowercase();
                let l = Listener {
                    name: subject.clone(),
                    ports: vec![(PortRange::single(port), None)],
                    app: (mid.contains("http") && !mid.contains("https")).then(|| "http".into()),
                    tls: mid.contains("https"),
                    line,
                    mode: Mode::Check,
                    ..Listener::default()
                };
                found |= add(draft, section, &l);
                let m = c.get(0).map_or(0..0, |m| m.range());
                taken.push((m.start, m.end));
            }
        }
        for c in VERB.captures_iter(sentence) {
            let (Some(v), Some(p)) = (c.name("verb"), c.name("port")) else {
                continue;
            };
            if taken.iter().any(|(a, b)| v.start() >= *a && v.start() < *b) {
                continue;
            }
            let mid = c["mid"].trim().to_lowercase();
            let verb = v.as_str().to_lowercase();
            let last = mid.split_whitespace().last().unwrap_or("");
            let ok_mid = if verb == "uses" {
                mid.is_empty() || BEFORE_PORT.contains(&last)
            } else {
                BEFORE_PORT.contains(&last)
            };
            if !ok_mid || mid.contains("://") {
                continue;
            }
            let after = &sentence[p.start()..];
            let Some((ports, rest)) = port_list(after) else {
                continue;
            };
            let before = &sentence[..v.start()];
            let start = clause_start(before);
            let mut subject = before[start..].trim().to_string();
            let words: Vec<String> = cells::slug(&subject)
                .split('-')
                .map(str::to_string)
                .filter(|w| !w.is_empty())
                .collect();
            let mut check = true;
            if words.iter().all(|w| GENERIC_SUBJECT.contains(&w.as_str())) {
                if let Some(prev) = &previous {
                    // `Its web UI` after `the torrent client …`: a part of that program
                    subject = format!("{prev} {}", strip_articles(&subject));
                    check = false;
                } else if words.is_empty() {
                    continue;
                }
            }
            let subject = drop_leading_phrase(&subject);
            let rest_l = rest.to_lowercase();
            let subj_l = subject.to_lowercase();
            // "also listens on", "écoute aussi": one more port of a declared program
            let also = [
                " also ",
                " aussi ",
                " auch ",
                " también ",
                " также ",
                " as well",
                " additionally ",
            ]
            .iter()
            .any(|w| format!(" {} ", sentence.to_lowercase()).contains(w));
            let check = check && !also;
            // `each container runs on port 5000 internally`: inside containers, not on a host
            if [
                "internally",
                "inside the container",
                "in the container",
                "in each container",
                "container port",
            ]
            .iter()
            .any(|w| rest_l.contains(w) || subj_l.contains(w))
                || [
                    "container",
                    "containers",
                    "each container",
                    "every container",
                    "pod",
                    "pods",
                ]
                .contains(&strip_articles(&subj_l).as_str())
                || subj_l.starts_with("each ")
                || subj_l.starts_with("every ")
            {
                draft.skip(
                    line,
                    format!(
                        "`{}`: a port inside a container, not on a host",
                        sentence.trim()
                    ),
                );
                taken.push((v.start(), p.end()));
                continue;
            }
            let l = Listener {
                name: subject.clone(),
                ports,
                transports: intent::transports(rest),
                bind: (rest_l.contains("127.0.0.1") || rest_l.contains("localhost"))
                    .then(|| IpAddr::from([127, 0, 0, 1])),
                audience: rest.to_string(),
                redirect: rest_l.contains("redirect"),
                line,
                mode: if check {
                    Mode::Check
                } else if also {
                    Mode::Merge
                } else {
                    Mode::Add
                },
                ..Listener::default()
            };
            if add(draft, section, &l) {
                found = true;
                previous = Some(strip_articles(&split_paren(&subject).0));
            }
            taken.push((v.start(), p.end()));
        }
        for c in NAME_ON.captures_iter(sentence) {
            let (Some(n), Some(p)) = (c.name("name"), c.name("port")) else {
                continue;
            };
            if taken.iter().any(|(a, b)| n.start() < *b && p.end() > *a) {
                continue;
            }
            let name = n.as_str();
            if NOT_NAMES.contains(&name.to_lowercase().as_str())
                || name.contains('.') && name.split('.').count() > 2
            {
                continue;
            }
            let Some((ports, rest)) = port_list(&sentence[p.start()..]) else {
                continue;
            };
            let l = Listener {
                name: name.to_string(),
                ports,
                transports: intent::transports(rest),
                audience: rest.to_string(),
                line,
                mode: Mode::Check,
                ..Listener::default()
            };
            if add(draft, section, &l) {
                found = true;
                previous = Some(name.to_string());
            }
        }
    }
    found
}

/// Drops a leading prepositional phrase (`For local debugging Envoy's admin interface` →
/// `Envoy's admin interface`).
fn drop_leading_phrase(s: &str) -> String {
    let words: Vec<&str> = s.split_whitespace().collect();
    let first = words.first().map(|w| w.to_lowercase()).unwrap_or_default();
    if [
        "for", "in", "on", "during", "with", "für", "para", "pour", "в", "при",
    ]
    .contains(&first.as_str())
    {
        if let Some(i) = words
            .iter()
            .enumerate()
            .skip(1)
            .find(|(_, w)| w.chars().next().is_some_and(char::is_uppercase))
            .map(|(i, _)| i)
        {
            return words[i..].join(" ");
        }
    }
    s.to_string()
}

fn split_sentences(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let b = s.as_bytes();
    for i in 0..b.len() {
        if (b[i] == b'.' || b[i] == b'!' || b[i] == b'?')
            && b.get(i + 1) == Some(&b' ')
            && b.get(i + 2)
                .is_some_and(|c| c.is_ascii_uppercase() || *c >= 0x80)
        {
            out.push(&s[start..=i]);
            start = i + 2;
        }
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

/// A list item (or definition) in one of the port-list shapes; returns whether it was one.
pub fn item(
    draft: &mut Draft,
    section: &Section,
    text: &str,
    term: Option<&str>,
    line: usize,
) -> bool {
    let clean = cells::clean(text);
    if let Some(term) = term {
        return definition(draft, section, term, &clean, line);
    }
    // name → port
    for arrow in ["→", "->", "=>", "⟶", "➜"] {
        if let Some((name, rest)) = clean.split_once(arrow) {
            if let Some((ports, after)) = port_list(rest.trim()) {
                if name_like(name) && rest_is_description(after) {
                    return add_named(draft, section, name, ports, after, line);
                }
            }
        }
    }
    // port — name
    if let Some((ports, after)) = port_list(&clean) {
        let t = after.trim_start();
        if let Some(rest) = ["—", "–", "- ", ":", "="]
            .iter()
            .find_map(|sep| t.strip_prefix(sep))
        {
            let rest = rest.trim();
            let (name, tail) = match rest.split_once([',', ';']) {
                Some((n, t)) => (n.trim(), t.trim()),
                None => (rest, ""),
            };
            if name_like(&split_paren(name).0) {
                return add(
                    draft,
                    section,
                    &Listener {
                        name: name.to_string(),
                        ports,
                        audience: format!("{tail} {}", split_paren(name).1.unwrap_or_default()),
                        line,
                        mode: Mode::Merge,
                        ..Listener::default()
                    },
                );
            }
        }
    }
    // name — port
    for sep in [" — ", " – ", " - ", " -- "] {
        if let Some((name, rest)) = clean.split_once(sep) {
            if let Some((ports, after)) = port_list(rest.trim()) {
                if name_like(&split_paren(name).0) && rest_is_description(after) {
                    return add_named(draft, section, name, ports, after, line);
                }
            }
        }
    }
    false
}

/// `Name: 8123` (a key that is a name, a value that is a port list).
pub fn named_port(
    draft: &mut Draft,
    section: &Section,
    key: &str,
    value: &str,
    line: usize,
) -> bool {
    let Some((ports, after)) = port_list(value.trim()) else {
        return false;
    };
    if !name_like(key) || !rest_is_description(after) {
        return false;
    }
    add_named(draft, section, key, ports, after, line)
}

/// Adds (merging) the listener `name` on `ports` that a list item or key names, `after`
/// being the words that followed the ports (its audience and description).
fn add_named(
    draft: &mut Draft,
    section: &Section,
    name: &str,
    ports: PortList,
    after: &str,
    line: usize,
) -> bool {
    add(
        draft,
        section,
        &Listener {
            name: name.trim().to_string(),
            ports,
            audience: after.to_string(),
            purpose: description(after),
            line,
            mode: Mode::Merge,
            ..Listener::default()
        },
    )
}

fn description(after: &str) -> Option<String> {
    let t = after
        .trim()
        .trim_start_matches([',', ';', '—', '–', '-', ':', ' '])
        .trim();
    let t = t.trim_start_matches('(').trim_end_matches(')').trim();
    (!t.is_empty()).then(|| t.to_string())
}

static ADDR_PORT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?P<addr>\[[0-9a-fA-F:]+\]|\d{1,3}(?:\.\d{1,3}){3}|localhost)?:(?P<port>\d{1,5})\b",
    )
    .expect("static regex")
});

fn definition(draft: &mut Draft, section: &Section, term: &str, text: &str, line: usize) -> bool {
    let lower = text.to_lowercase();
    // `GUI on 127.0.0.1:8384`
    if let Some(c) = ADDR_PORT.captures(text) {
        if let Some(port) = crate::text::port_number(&c["port"]) {
            let bind = c.name("addr").and_then(|a| {
                let a = a.as_str().trim_matches(['[', ']']);
                if a == "localhost" {
                    Some(IpAddr::from([127, 0, 0, 1]))
                } else {
                    a.parse().ok()
                }
            });
            return add(
                draft,
                section,
                &Listener {
                    name: term.to_string(),
                    purpose: Some(text.to_string()),
                    ports: vec![(PortRange::single(port), None)],
                    bind,
                    audience: text.to_string(),
                    line,
                    ..Listener::default()
                },
            );
        }
    }
    // `sync protocol on 22000, TCP and UDP`
    for prep in [" on ", " port ", " auf ", " en ", " sur ", " порт "] {
        if let Some(i) = lower.find(prep) {
            if let Some((ports, after)) = port_list(&text[i + prep.len()..]) {
                return add(
                    draft,
                    section,
                    &Listener {
                        name: term.to_string(),
                        purpose: Some(text.to_string()),
                        ports,
                        transports: intent::transports(after),
                        audience: after.to_string(),
                        line,
                        ..Listener::default()
                    },
                );
            }
        }
    }
    false
}

static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?P<scheme>https?|wss?|ldaps?|smtps?|mqtts?|amqps?|postgres(?:ql)?|mysql|redis|sftp|ftp)://(?:[^\s@/]*@)?(?P<host>[A-Za-z0-9][A-Za-z0-9.\-]*\.[A-Za-z]{2,})(?::(?P<port>\d{1,5}))?")
        .expect("static regex")
});

static FQDN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?P<host>\b[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)+\.[A-Za-z]{2,24}\b)(?::(?P<port>\d{1,5}))?")
        .expect("static regex")
});

const FILE_EXT: &[&str] = &[
    "yml",
    "yaml",
    "md",
    "toml",
    "xml",
    "conf",
    "json",
    "txt",
    "sh",
    "py",
    "js",
    "ts",
    "ini",
    "cfg",
    "env",
    "log",
    "sql",
    "service",
    "socket",
    "pem",
    "crt",
    "key",
    "html",
    "php",
    "rb",
    "go",
    "rs",
    "cnf",
    "properties",
    "lock",
    "gz",
    "tar",
    "zip",
    "d",
    "timer",
    "cer",
    "csv",
];

/// Outbound mentions in a sentence or list item: URLs and host names with a port (written,
/// `on N`, `(N)`, or the scheme's). Only for outbound sentences or under an outbound
/// heading. Returns whether any.
pub fn outbound(
    draft: &mut Draft,
    section: &Section,
    text: &str,
    line: usize,
    heading_out: bool,
) -> bool {
    let clean = cells::clean(text);
    if !heading_out && !direction::outbound_sentence(&format!(" {clean}")) {
        return false;
    }
    let mut found = false;
    let mut seen: Vec<(usize, usize)> = Vec::new();
    let from = subject_service(draft, &clean);
    for c in URL.captures_iter(&clean) {
        let Some(h) = c.name("host") else { continue };
        let port = c
            .name("port")
            .and_then(|p| crate::text::port_number(p.as_str()))
            .or_else(|| port_after(&clean[h.end()..]))
            .or_else(|| scheme_port(&c["scheme"]));
        if let Some(p) = port {
            found |= add_flow(draft, section, from.clone(), h.as_str(), p, line);
        }
        seen.push((h.start(), h.end()));
    }
    for c in FQDN.captures_iter(&clean) {
        let Some(h) = c.name("host") else { continue };
        if seen.iter().any(|(a, b)| h.start() >= *a && h.start() < *b) {
            continue;
        }
        let host = h.as_str();
        let ext = host.rsplit('.').next().unwrap_or("").to_lowercase();
        if FILE_EXT.contains(&ext.as_str()) || host.parse::<IpAddr>().is_ok() {
            continue;
        }
        let port = c
            .name("port")
            .and_then(|p| crate::text::port_number(p.as_str()))
            .or_else(|| port_after(&clean[h.end()..]));
        if let Some(p) = port {
            found |= add_flow(draft, section, from.clone(), host, p, line);
        }
    }
    found
}

/// `on 443`, `(443)`, `port 25`, `:25` right after a host name.
fn port_after(s: &str) -> Option<u16> {
    let t = s.trim_start();
    let t = t
        .strip_prefix("on port ")
        .or_else(|| t.strip_prefix("on "))
        .or_else(|| t.strip_prefix("port "))
        .or_else(|| t.strip_prefix("auf Port "))
        .or_else(|| t.strip_prefix("auf "))
        .or_else(|| t.strip_prefix('('))
        .or_else(|| t.strip_prefix("` on "))
        .or_else(|| t.strip_prefix("` ("))?;
    let (ports, _) = port_list(t)?;
    ports.first().map(|(p, _)| p.lo)
}

fn subject_service(draft: &Draft, sentence: &str) -> Option<String> {
    let words: Vec<String> = sentence
        .split(|c: char| !(c.is_alphanumeric() || c == '-'))
        .take(6)
        .map(str::to_lowercase)
        .collect();
    draft
        .services
        .keys()
        .find(|k| words.iter().any(|w| w == *k))
        .cloned()
}

fn add_flow(
    draft: &mut Draft,
    section: &Section,
    from: Option<String>,
    host: &str,
    port: u16,
    line: usize,
) -> bool {
    let to = host.trim_end_matches('.').to_lowercase();
    let declared = draft.hosts.contains_key(&to);
    draft.flow(FlowDraft {
        from,
        from_hosts: section.hosts().into_iter().collect(),
        to: if declared {
            FlowTarget::Declared(to)
        } else {
            FlowTarget::External(to)
        },
        port: PortRange::single(port),
        transport: None,
        purpose: None,
        line,
    });
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ports(s: &str) -> Option<Vec<String>> {
        port_list(s).map(|(v, _)| {
            v.iter()
                .map(|(p, t)| {
                    format!(
                        "{p}{}",
                        if *t == Some(Transport::Udp) {
                            "/udp"
                        } else {
                            ""
                        }
                    )
                })
                .collect()
        })
    }

    #[test]
    fn port_lists() {
        assert_eq!(
            ports("80, 443 and 8081 are open"),
            Some(vec!["80".into(), "443".into(), "8081".into()])
        );
        assert_eq!(
            ports("ports 47800 to 47807"),
            Some(vec!["47800-47807".into()])
        );
        assert_eq!(ports("30000–30009"), Some(vec!["30000-30009".into()]));
        assert_eq!(ports("6000 bis 6010"), Some(vec!["6000-6010".into()]));
        assert_eq!(
            ports("51820/udp — WireGuard"),
            Some(vec!["51820/udp".into()])
        );
        assert_eq!(
            ports("5025 / 80 / 161"),
            Some(vec!["5025".into(), "80".into(), "161".into()])
        );
        assert_eq!(ports("8192 MB RAM"), None);
        assert_eq!(ports("3.4.1"), None);
        assert_eq!(ports("02:30 UTC"), None);
        assert_eq!(ports("1200 requests"), None);
    }

    fn run(doc: &str) -> Draft {
        let mut d = Draft::default();
        let s = Section::default();
        for (i, l) in doc.lines().enumerate() {
            if item(&mut d, &s, l, None, i + 1) {
                continue;
            }
            if let Some((k, v)) = l.split_once(':') {
                if named_port(&mut d, &s, k, v, i + 1) {
                    continue;
                }
            }
            sentences(&mut d, &s, l, i + 1);
        }
        d
    }

    fn ports_of(d: &Draft) -> Vec<String> {
        let mut v: Vec<String> = d
            .services
            .iter()
            .flat_map(|(k, s)| {
                s.bindings.values().map(move |b| {
                    format!(
                        "{k} {}{}",
                        b.port.map(|p| p.to_string()).unwrap_or_default(),
                        if b.transport == Some(Transport::Udp) {
                            "/udp"
                        } else {
                            ""
                        }
                    )
                })
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn list_shapes_and_sentences() {
        let d = run(
            "Jellyfin → 8096\nHome Assistant: 8123\n53 — Pi-hole DNS (tcp and udp)\nNode-RED editor — 1880, LAN only\nThe torrent client listens on 51413 (TCP and UDP) for peers. Its web UI runs on port 9091.\nThe scanner drops files into vsftpd on 21; passive mode uses 30000–30009.\nEl GeoServer escucha en el puerto 8080, y solo atiende a `127.0.0.1`.\nThe VM has 8192 MB RAM and the job runs at 02:30 UTC.\n",
        );
        assert_eq!(
            ports_of(&d),
            [
                "geoserver 8080",
                "home-assistant 8123",
                "jellyfin 8096",
                "node-red-editor 1880",
                "passive-mode 30000-30009",
                "pi-hole-dns 53",
                "pi-hole-dns 53/udp",
                "torrent-client 51413",
                "torrent-client 51413/udp",
                "torrent-client-web-ui 9091",
                "vsftpd 21",
            ]
        );
    }

    #[test]
    fn prose_that_contradicts_a_declaration_is_a_note() {
        let mut d = run("Envoy admin: 9901\n");
        let s = Section::default();
        sentences(
            &mut d,
            &s,
            "For local debugging Envoy's admin interface listens on 9902.",
            5,
        );
        assert_eq!(ports_of(&d), ["envoy-admin 9901"]);
        assert!(
            d.notes
                .iter()
                .any(|(l, n)| *l == 5 && n.contains("9902") && n.contains("9901")),
            "{:?}",
            d.notes
        );
    }
}

/// The key of the service `name` (or the declared service matching it) that has a binding
/// on `port`: the proxy a route starts from.
pub fn service_on(draft: &Draft, name: &str, port: u16) -> Option<String> {
    let key = cells::slug(name);
    matching_services(draft, &key)
        .into_iter()
        .find(|k| {
            draft.services.get(k).is_some_and(|s| {
                s.bindings
                    .values()
                    .any(|b| b.port.is_some_and(|p| p.contains(port)))
            })
        })
        .or_else(|| draft.services.contains_key(&key).then_some(key))
}

#[cfg(test)]
mod outbound_tests {
    use super::*;

    #[test]
    fn outbound_sentences() {
        let mut d = Draft::default();
        let s = Section::default();
        assert!(outbound(
            &mut d,
            &s,
            "The storefront also calls `https://api.adyen.com` for payments and pushes traces to `otlp.eu.observability.example:4317`.",
            3,
            false
        ));
        let to: Vec<String> = d
            .flows
            .iter()
            .map(|f| format!("{:?}:{}", f.to, f.port))
            .collect();
        assert_eq!(to.len(), 2, "{to:?}");
    }
}
