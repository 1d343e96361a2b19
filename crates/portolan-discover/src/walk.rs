//! Walking a tree: which files are which format ([`classify`]), reading them in parallel
//! (honouring `.gitignore`, like ripgrep), and collecting one sorted [`Discovery`].
//!
//! Only files whose name says they may hold ports are read at all; a YAML or `.conf` file is
//! sniffed (Kubernetes `apiVersion:`/`kind:`, nginx `server {`) before it is parsed. Files
//! that cannot be read (permissions, binary content where text was expected, larger than the
//! limit, a symlink loop) become [`Problem`]s, and the walk goes on.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;

use crate::evidence::{Context, FileReport, Location, Problem, SourceKind};
use crate::text::looks_binary;

/// How to walk.
#[derive(Debug, Clone)]
pub struct WalkOptions {
    /// Also read files `.gitignore`/`.ignore` exclude.
    pub no_ignore: bool,
    /// Follow symbolic links (loops are reported, not followed forever).
    pub follow_links: bool,
    /// Files larger than this are reported and skipped.
    pub max_filesize: u64,
    /// Worker threads (0: one per core).
    pub threads: usize,
}

impl Default for WalkOptions {
    fn default() -> Self {
        WalkOptions {
            no_ignore: false,
            follow_links: false,
            max_filesize: 8 * 1024 * 1024,
            threads: 0,
        }
    }
}

/// Everything found under the walked roots, sorted by file, line, column.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Discovery {
    /// Files whose name matched a format and that were read.
    pub files_read: usize,
    /// Ports, routes, problems and redacted secrets.
    #[serde(flatten)]
    pub report: FileReport,
}

/// What a file name says the file is; `None` for files discovery never reads. YAML and
/// `.conf` files are decided later by their content ([`Guess::Sniff`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guess {
    /// The name decides.
    Is(SourceKind),
    /// A `.yml`/`.yaml` file: Kubernetes if it looks like a manifest.
    SniffYaml,
    /// A `.conf` file: nginx if it looks like nginx.
    SniffConf,
}

/// Classifies a file by its path (only the name and a few parent directory names matter).
pub fn classify(path: &Path) -> Option<Guess> {
    let name = path.file_name()?.to_str()?;
    let lower = name.to_ascii_lowercase();
    let ext = lower.rsplit_once('.').map_or("", |(_, e)| e);
    let in_dir = |d: &str| {
        path.parent()
            .is_some_and(|p| p.components().any(|c| c.as_os_str().to_str() == Some(d)))
    };
    let is_yaml = ext == "yml" || ext == "yaml";
    let kind = if is_yaml
        && (lower.starts_with("docker-compose")
            || lower.starts_with("compose")
            || lower.contains(".compose."))
    {
        SourceKind::Compose
    } else if is_yaml && lower.starts_with("application") {
        SourceKind::Spring
    } else if is_yaml {
        return Some(Guess::SniffYaml);
    } else if lower == ".env"
        || lower.starts_with(".env.")
        || ext == "env"
        || lower == "env.example"
        || lower == ".envrc"
    {
        SourceKind::Env
    } else if lower == "nginx.conf"
        || ext == "nginx"
        || (ext == "conf" && (in_dir("nginx") || in_dir("conf.d")))
        || in_dir("sites-available")
        || in_dir("sites-enabled")
    {
        SourceKind::Nginx
    } else if ext == "conf" {
        return Some(Guess::SniffConf);
    } else if lower == "dockerfile"
        || lower.starts_with("dockerfile.")
        || ext == "dockerfile"
        || lower == "containerfile"
    {
        SourceKind::Dockerfile
    } else if ext == "socket" || ext == "service" {
        SourceKind::Systemd
    } else if lower == "procfile" || lower.starts_with("procfile.") {
        SourceKind::Procfile
    } else if lower == "package.json" {
        SourceKind::PackageJson
    } else if lower.starts_with("application") && ext == "properties" {
        SourceKind::Spring
    } else {
        match ext {
            "py" => SourceKind::Python,
            "js" | "mjs" | "cjs" | "ts" | "mts" | "cts" | "jsx" | "tsx" => SourceKind::Node,
            "go" => SourceKind::Go,
            "sh" | "bash" => SourceKind::Shell,
            _ => return None,
        }
    };
    Some(Guess::Is(kind))
}

/// Parses `text` as `kind`. `path` is how evidence names the file.
pub fn parse_as(kind: SourceKind, path: &str, text: &str, ctx: &Context) -> FileReport {
    match kind {
        SourceKind::Compose => crate::compose::parse(path, text, ctx),
        SourceKind::Env => crate::env::parse(path, text, ctx),
        SourceKind::Nginx => crate::nginx::parse(path, text, ctx),
        SourceKind::Kubernetes => crate::kubernetes::parse(path, text, ctx),
        SourceKind::Dockerfile => crate::dockerfile::parse(path, text, ctx),
        SourceKind::Systemd => crate::systemd::parse(path, text, ctx),
        SourceKind::Procfile => crate::procfile::parse(path, text, ctx),
        SourceKind::Python
        | SourceKind::Node
        | SourceKind::PackageJson
        | SourceKind::Go
        | SourceKind::Spring
        | SourceKind::Shell => crate::code::parse(path, text, ctx),
        SourceKind::Markdown => crate::markdown::import(path, text).report,
    }
}

/// Reads and parses one file (already classified); every failure is a [`Problem`].
pub fn read_file(path: &Path, shown: &str, guess: Guess, opts: &WalkOptions) -> FileReport {
    read_file_in(path, shown, guess, opts, None)
}

/// [`read_file`] for a file found under the walked `root` (canonical), which bounds what
/// files beside it (a compose file's `.env`) may be read.
pub fn read_file_in(
    path: &Path,
    shown: &str,
    guess: Guess,
    opts: &WalkOptions,
    root: Option<&Path>,
) -> FileReport {
    let problem = |reason: String| FileReport {
        problems: vec![Problem {
            at: Location::new(shown, 1, 1),
            reason,
        }],
        ..FileReport::default()
    };
    let bytes = match read_regular(path, opts.max_filesize) {
        Ok(b) => b,
        Err(reason) => return problem(reason),
    };
    if looks_binary(&bytes) {
        return problem("skipped: binary content (a NUL byte) in a file named like text".into());
    }
    // valid UTF-8 (the usual case) is checked by the fast path and not copied
    let text = match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    };
    if is_generated(&text) {
        // portolan's own output (`gen env`, `gen compose`, `gen nginx`…) says what the
        // spec says: reading it back would report the spec as evidence for itself
        return FileReport::default();
    }
    parse_text_in(path, shown, guess, &text, root)
}

/// Reads a regular file of at most `max` bytes: one open (non-blocking, so a FIFO never
/// hangs the run), one fstat (FIFOs, devices such as `/dev/zero` and sockets are refused),
/// and a read that stops after `max` bytes even if the file grows meanwhile.
pub fn read_regular(path: &Path, max: u64) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options
        .open(path)
        .map_err(|e| format!("cannot read: {e}"))?;
    let meta = file.metadata().map_err(|e| format!("cannot read: {e}"))?;
    if !meta.is_file() {
        return Err("skipped: not a regular file (a FIFO, device or socket)".into());
    }
    if meta.len() > max {
        return Err(format!(
            "skipped: {} bytes is over the {max} byte limit (--max-filesize)",
            meta.len()
        ));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0) + 1);
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > max {
        return Err(format!(
            "skipped: grew past the {max} byte limit (--max-filesize) while being read"
        ));
    }
    Ok(bytes)
}

/// The words every file `portolan gen` writes carries in a comment on one of its first
/// lines (`# … — generated by portolan from ports.toml; edit the spec, not this file.`).
pub const GENERATED_MARK: &str = "generated by portolan";

/// Whether `text` is a file `portolan gen` wrote: a comment line among the first five
/// saying [`GENERATED_MARK`] (any case).
pub fn is_generated(text: &str) -> bool {
    text.lines().take(5).any(|l| {
        let t = l.trim_start();
        (t.starts_with('#')
            || t.starts_with("//")
            || t.starts_with("%%")
            || t.starts_with("<!--")
            || t.starts_with(';'))
            && t.to_ascii_lowercase().contains(GENERATED_MARK)
    })
}

/// Parses the text of a file already read: sniffs YAML/`.conf` files, gives a compose file
/// the variables of the `.env` beside it, and runs the format's parser.
pub fn parse_text(path: &Path, shown: &str, guess: Guess, text: &str) -> FileReport {
    parse_text_in(path, shown, guess, text, None)
}

/// [`parse_text`] for a file under the walked `root` (canonical; `None`: the file's own
/// directory bounds what may be read beside it).
pub fn parse_text_in(
    path: &Path,
    shown: &str,
    guess: Guess,
    text: &str,
    root: Option<&Path>,
) -> FileReport {
    let kind = match guess {
        Guess::Is(k) => k,
        Guess::SniffYaml if crate::kubernetes::looks_like(text) => SourceKind::Kubernetes,
        Guess::SniffConf if crate::nginx::looks_like(text) => SourceKind::Nginx,
        Guess::SniffYaml | Guess::SniffConf => return FileReport::default(),
    };
    let (ctx, problem) = if kind == SourceKind::Compose {
        compose_context_in(path, shown, root)
    } else {
        (Context::default(), None)
    };
    let mut report = parse_as(kind, shown, text, &ctx);
    report.problems.extend(problem);
    report
}

/// The most a compose file's `.env` may weigh.
pub const MAX_ENV_FILE: u64 = 1024 * 1024;

/// The variables a compose file interpolates: the `.env` beside it (as `docker compose`
/// reads it); the real environment is deliberately not consulted, so output does not
/// depend on the shell.
pub fn compose_context(compose_file: &Path) -> Context {
    compose_context_in(compose_file, "", None).0
}

/// [`compose_context`], contained: the `.env` is read only if it is a regular file inside
/// `root` (a symlink leaving it — say to `~/.aws/credentials` — is reported, not followed),
/// not over [`MAX_ENV_FILE`], without blocking. Its values stay unexpanded until a scalar
/// refers to them.
pub fn compose_context_in(
    compose_file: &Path,
    shown: &str,
    root: Option<&Path>,
) -> (Context, Option<Problem>) {
    let dir = compose_file.parent().unwrap_or_else(|| Path::new("."));
    let env = dir.join(".env");
    let env_shown = match shown.rsplit_once('/') {
        Some((d, _)) => format!("{d}/.env"),
        None => ".env".into(),
    };
    let problem = |reason: String| {
        Some(Problem {
            at: Location::new(env_shown.clone(), 1, 1),
            reason,
        })
    };
    let Ok(meta) = std::fs::symlink_metadata(&env) else {
        return (Context::default(), None);
    };
    if meta.file_type().is_symlink() {
        let bound = match root {
            Some(r) => Some(r.to_path_buf()),
            None => std::fs::canonicalize(dir).ok(),
        };
        let inside = match (std::fs::canonicalize(&env), bound) {
            (Ok(target), Some(bound)) => target.starts_with(&bound),
            _ => false,
        };
        if !inside {
            return (
                Context::default(),
                problem("not read: a symlink to outside the scanned tree".into()),
            );
        }
    }
    match read_regular(&env, MAX_ENV_FILE) {
        Ok(bytes) if looks_binary(&bytes) => (
            Context::default(),
            problem("not read: binary content (a NUL byte)".into()),
        ),
        Ok(bytes) => (
            Context {
                vars: crate::env::raw_variables(&String::from_utf8_lossy(&bytes)),
            },
            None,
        ),
        Err(reason) => (
            Context::default(),
            problem(reason.replace("skipped", "not read")),
        ),
    }
}

/// How a walked path is shown: as walked, without a leading `./`, with `/` separators.
fn shown(path: &Path) -> String {
    let p = path.strip_prefix(".").unwrap_or(path);
    let s = p.to_string_lossy();
    if std::path::MAIN_SEPARATOR == '/' {
        s.into_owned()
    } else {
        s.replace(std::path::MAIN_SEPARATOR, "/")
    }
}

/// The walker over `roots` (`None` when there are none): `.gitignore`/`.ignore` honoured
/// unless `no_ignore` (also outside a git repository), hidden files read (`.env` is one),
/// version-control internals skipped.
pub fn builder(roots: &[PathBuf], opts: &WalkOptions) -> Option<ignore::WalkBuilder> {
    let (first, rest) = roots.split_first()?;
    let mut builder = ignore::WalkBuilder::new(first);
    for r in rest {
        builder.add(r);
    }
    builder
        .hidden(false)
        .parents(true)
        .ignore(!opts.no_ignore)
        .git_ignore(!opts.no_ignore)
        .git_global(!opts.no_ignore)
        .git_exclude(!opts.no_ignore)
        .require_git(false)
        .follow_links(opts.follow_links)
        .threads(opts.threads)
        .filter_entry(|e| {
            !(e.file_type().is_some_and(|t| t.is_dir())
                && matches!(e.file_name().to_str(), Some(".git" | ".hg" | ".svn")))
        });
    Some(builder)
}

/// Walks `roots` (files or directories) and parses every file that may hold ports.
pub fn discover(roots: &[PathBuf], opts: &WalkOptions) -> Discovery {
    let Some(builder) = builder(roots, opts) else {
        return Discovery::default();
    };
    let results: Mutex<Vec<(usize, Vec<FileReport>)>> = Mutex::new(Vec::new());
    // each root as given (walked paths start with it) and where it really is
    let canonical_roots: Vec<(PathBuf, PathBuf)> = roots
        .iter()
        .map(|r| {
            let dir = if r.is_dir() {
                r.clone()
            } else {
                r.parent()
                    .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
            };
            let canonical = std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone());
            (r.clone(), canonical)
        })
        .collect();
    builder.build_parallel().run(|| {
        let results = &results;
        let mut local = Collector {
            read: 0,
            reports: Vec::new(),
            out: results,
            roots: &canonical_roots,
        };
        Box::new(move |entry| {
            local.visit(entry, opts);
            ignore::WalkState::Continue
        })
    });
    let per_thread = results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut discovery = Discovery::default();
    let all = || per_thread.iter().flat_map(|(_, r)| r.iter());
    let r = &mut discovery.report;
    r.uses.reserve_exact(all().map(|x| x.uses.len()).sum());
    r.routes.reserve_exact(all().map(|x| x.routes.len()).sum());
    r.problems
        .reserve_exact(all().map(|x| x.problems.len()).sum());
    r.secrets
        .reserve_exact(all().map(|x| x.secrets.len()).sum());
    // each report is one file's, already sorted: ordering the files orders everything,
    // without moving 100,000s of uses around in a global sort
    let mut reports: Vec<FileReport> = Vec::new();
    for (read, mut rs) in per_thread {
        discovery.files_read += read;
        reports.append(&mut rs);
    }
    reports.sort_by(|a, b| report_path(a).cmp(report_path(b)));
    for report in reports {
        discovery.report.extend(report);
    }
    // uses and routes are in order now; walk errors may name any path
    let r = &mut discovery.report;
    r.problems.sort();
    r.problems.dedup();
    r.secrets.sort();
    r.secrets.dedup();
    discovery
}

/// Per-thread results, handed over once when the thread's visitor is dropped (one lock
/// per thread, not per file).
struct Collector<'a> {
    read: usize,
    /// One report per file that said anything: merged once at the end into a vector of
    /// the exact size, instead of growing (and copying) per thread and again when merging.
    reports: Vec<FileReport>,
    out: &'a Mutex<Vec<(usize, Vec<FileReport>)>>,
    /// The walked roots as given, and canonical.
    roots: &'a [(PathBuf, PathBuf)],
}

impl Collector<'_> {
    fn visit(&mut self, entry: Result<ignore::DirEntry, ignore::Error>, opts: &WalkOptions) {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                self.reports.push(FileReport {
                    problems: vec![walk_problem(&e)],
                    ..FileReport::default()
                });
                return;
            }
        };
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            // A root given as a file arrives with depth 0; symlinks to files when following.
            if !(entry.depth() == 0 && entry.path().is_file()) {
                return;
            }
        }
        let Some(guess) = classify(entry.path()) else {
            return;
        };
        let shown = shown(entry.path());
        self.read += 1;
        let root = self
            .roots
            .iter()
            .filter(|(given, _)| entry.path().starts_with(given))
            .max_by_key(|(given, _)| given.as_os_str().len())
            .map(|(_, canonical)| canonical.as_path());
        let report = read_file_in(entry.path(), &shown, guess, opts, root);
        if report != FileReport::default() {
            let mut report = report;
            sort(&mut report);
            self.reports.push(report);
        }
    }
}

impl Drop for Collector<'_> {
    fn drop(&mut self) {
        let reports = std::mem::take(&mut self.reports);
        if let Ok(mut v) = self.out.lock() {
            v.push((self.read, reports));
        }
    }
}

/// A walk error (permission denied, symlink loop, vanished file) as a [`Problem`].
fn walk_problem(e: &ignore::Error) -> Problem {
    fn path_of(e: &ignore::Error) -> Option<PathBuf> {
        match e {
            ignore::Error::WithPath { path, .. } => Some(path.clone()),
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
                path_of(err)
            }
            ignore::Error::Loop { child, .. } => Some(child.clone()),
            _ => None,
        }
    }
    fn ancestor_of(e: &ignore::Error) -> Option<&Path> {
        match e {
            ignore::Error::Loop { ancestor, .. } => Some(ancestor),
            ignore::Error::WithPath { err, .. }
            | ignore::Error::WithDepth { err, .. }
            | ignore::Error::WithLineNumber { err, .. } => ancestor_of(err),
            _ => None,
        }
    }
    let path = path_of(e).map_or_else(|| "<walk>".to_string(), |p| shown(&p));
    let reason = match ancestor_of(e) {
        Some(ancestor) => format!(
            "skipped: symlink loop back to {}",
            match shown(ancestor) {
                s if s.is_empty() => ".".to_string(),
                s => s,
            }
        ),
        None => format!("skipped: {e}"),
    };
    Problem {
        at: Location::new(path, 1, 1),
        reason,
    }
}

/// The file a one-file report is about.
fn report_path(r: &FileReport) -> &str {
    r.uses
        .first()
        .map(|u| &u.at)
        .or(r.routes.first().map(|x| &x.at))
        .or(r.problems.first().map(|p| &p.at))
        .or(r.secrets.first())
        .or(r.units.first().map(|u| &u.at))
        .map_or("", |l| l.path.as_str())
}

/// Sorts a report so output does not depend on thread timing (cheap when already sorted:
/// the sort is adaptive).
pub fn sort(report: &mut FileReport) {
    report
        .uses
        .sort_by(|a, b| (&a.at, a.port, a.role).cmp(&(&b.at, b.port, b.role)));
    report
        .routes
        .sort_by(|a, b| (&a.at, &a.upstream, a.port).cmp(&(&b.at, &b.upstream, b.port)));
    report.problems.sort();
    report.problems.dedup();
    report.secrets.sort();
    report.secrets.dedup();
    report
        .units
        .sort_by(|a, b| (&a.at, &a.name).cmp(&(&b.at, &b.name)));
}

/// Groups uses by the service they belong to (the name the source gives, else a guess
/// from the path), for display and drafting.
pub fn by_service(report: &FileReport) -> BTreeMap<String, Vec<&crate::PortUse>> {
    let mut out: BTreeMap<String, Vec<&crate::PortUse>> = BTreeMap::new();
    // uses come file by file, and a file's uses mostly belong to one service: one name and
    // one map lookup per run of them, not per use (100,000s in a large tree)
    let mut run: Vec<&crate::PortUse> = Vec::new();
    for u in &report.uses {
        if let Some(&last) = run.last()
            && !same_service(last, u)
        {
            out.entry(service_name(last)).or_default().append(&mut run);
        }
        run.push(u);
    }
    if let Some(&last) = run.last() {
        out.entry(service_name(last)).or_default().extend(run);
    }
    out
}

/// Whether [`service_name`] is sure to name `a` and `b` alike without being asked (the
/// same own service, or both unnamed in the same file and format family).
fn same_service(a: &crate::PortUse, b: &crate::PortUse) -> bool {
    let nginx = |u: &crate::PortUse| u.source == SourceKind::Nginx;
    match (&a.service, &b.service) {
        (Some(x), Some(y)) => x == y,
        (None, None) => nginx(a) == nginx(b) && (nginx(a) || a.at.path == b.at.path),
        _ => false,
    }
}

/// The service a use belongs to: its own `service`, else the nearest meaningful directory
/// name of its file (`services/api/app.py` → `api`), else the file stem.
pub fn service_name(u: &crate::PortUse) -> String {
    const GENERIC: &[&str] = &[
        "src",
        "app",
        "lib",
        "cmd",
        "main",
        "java",
        "resources",
        "server",
        "config",
        "conf",
        "deploy",
        "scripts",
        "bin",
        "internal",
        "pkg",
        "etc",
        "systemd",
        "docker",
        "nginx",
        "k8s",
        "kubernetes",
        "manifests",
        "conf.d",
        "sites-available",
        "sites-enabled",
    ];
    if let Some(s) = &u.service {
        return sanitize(s);
    }
    // an nginx file speaks for nginx, wherever it lives
    if u.source == SourceKind::Nginx {
        return "nginx".into();
    }
    let p = Path::new(&u.at.path);
    let dir = p
        .parent()
        .into_iter()
        .flat_map(Path::components)
        .filter_map(|c| c.as_os_str().to_str())
        .rfind(|c| *c != "." && *c != ".." && !GENERIC.contains(c));
    let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or("service");
    sanitize(dir.unwrap_or(stem))
}

/// A spec-safe name: lowercase ASCII letters, digits and `-`.
pub fn sanitize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = if c.is_ascii_alphanumeric() {
            c.to_ascii_lowercase()
        } else {
            '-'
        };
        if !(c == '-' && (out.is_empty() || out.ends_with('-'))) {
            out.push(c);
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        "service".into()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(p: &str) -> Option<Guess> {
        classify(Path::new(p))
    }

    #[test]
    fn names_decide_formats() {
        use SourceKind as S;
        assert_eq!(k("docker-compose.yml"), Some(Guess::Is(S::Compose)));
        assert_eq!(k("a/compose.prod.yaml"), Some(Guess::Is(S::Compose)));
        assert_eq!(k("x/app.compose.yml"), Some(Guess::Is(S::Compose)));
        assert_eq!(k(".env"), Some(Guess::Is(S::Env)));
        assert_eq!(k(".env.example"), Some(Guess::Is(S::Env)));
        assert_eq!(k("prod.env"), Some(Guess::Is(S::Env)));
        assert_eq!(
            k("etc/nginx/sites-available/default"),
            Some(Guess::Is(S::Nginx))
        );
        assert_eq!(k("nginx/site.conf"), Some(Guess::Is(S::Nginx)));
        assert_eq!(k("other.conf"), Some(Guess::SniffConf));
        assert_eq!(k("k8s/deploy.yaml"), Some(Guess::SniffYaml));
        assert_eq!(
            k("src/main/resources/application.yml"),
            Some(Guess::Is(S::Spring))
        );
        assert_eq!(k("application-prod.properties"), Some(Guess::Is(S::Spring)));
        assert_eq!(k("Dockerfile"), Some(Guess::Is(S::Dockerfile)));
        assert_eq!(k("Dockerfile.dev"), Some(Guess::Is(S::Dockerfile)));
        assert_eq!(k("app.socket"), Some(Guess::Is(S::Systemd)));
        assert_eq!(k("Procfile"), Some(Guess::Is(S::Procfile)));
        assert_eq!(k("web/package.json"), Some(Guess::Is(S::PackageJson)));
        assert_eq!(k("main.go"), Some(Guess::Is(S::Go)));
        assert_eq!(k("x.tsx"), Some(Guess::Is(S::Node)));
        assert_eq!(k("run.sh"), Some(Guess::Is(S::Shell)));
        assert_eq!(k("README.md"), None);
        assert_eq!(k("image.png"), None);
        assert_eq!(k("Cargo.lock"), None);
    }

    #[test]
    fn service_names_come_from_meaningful_directories() {
        let u = |p: &str| {
            crate::PortUse::new(
                Location::new(p, 1, 1),
                SourceKind::Python,
                crate::Role::Listen,
                portolan_model::port::PortRange::single(80),
            )
        };
        assert_eq!(service_name(&u("services/api/app.py")), "api");
        assert_eq!(
            service_name(&u(
                "services/billing/src/main/resources/application.properties"
            )),
            "billing"
        );
        assert_eq!(service_name(&u("main.go")), "main");
        assert_eq!(service_name(&u("./deploy/app.socket")), "app");
        assert_eq!(sanitize("My App_2!"), "my-app-2");
        assert_eq!(sanitize("---"), "service");
    }

    #[test]
    fn grouping_by_runs_matches_grouping_use_by_use() {
        let mut uses = Vec::new();
        for (i, (path, service, source)) in [
            ("api/app.py", None, SourceKind::Python),
            ("api/app.py", None, SourceKind::Python),
            ("api/app.py", Some("DB"), SourceKind::Python),
            ("api/app.py", Some("db"), SourceKind::Python),
            ("web/app.py", None, SourceKind::Python),
            ("etc/nginx/a.conf", None, SourceKind::Nginx),
            ("etc/nginx/b.conf", None, SourceKind::Nginx),
            ("api/run.sh", None, SourceKind::Shell),
            ("compose.yaml", Some("api"), SourceKind::Compose),
            ("compose.yaml", Some("web"), SourceKind::Compose),
            ("compose.yaml", Some("api"), SourceKind::Compose),
        ]
        .into_iter()
        .enumerate()
        {
            let mut u = crate::PortUse::new(
                Location::new(path, u32::try_from(i).unwrap_or(0) + 1, 1),
                source,
                crate::Role::Listen,
                portolan_model::port::PortRange::single(8000),
            );
            u.service = service.map(String::from);
            uses.push(u);
        }
        let report = FileReport {
            uses,
            ..FileReport::default()
        };
        let mut one_by_one: BTreeMap<String, Vec<&crate::PortUse>> = BTreeMap::new();
        for u in &report.uses {
            one_by_one.entry(service_name(u)).or_default().push(u);
        }
        let grouped = by_service(&report);
        assert_eq!(grouped, one_by_one);
        assert_eq!(
            grouped.keys().map(String::as_str).collect::<Vec<_>>(),
            ["api", "db", "nginx", "web"]
        );
        assert_eq!(grouped["api"].len(), 5);
    }
}
