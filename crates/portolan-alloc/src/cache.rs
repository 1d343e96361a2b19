//! The allocation cache of a large spec: what `alloc` needs from a 20 MB spec (ranges and
//! blocks, hosts' ephemeral ranges, each service's ports and lease, reservations) in a small
//! text file kept with the spec's other sidecar files (`.git/portolan/ports.toml.alloc-cache`, see [`sidecar`](crate::sidecar)), stamped with the spec's size, mtime and
//! inode. A stale or unreadable cache is ignored (and rewritten after the next full load);
//! any other writer of the spec changes the stamp. Only `alloc` reads it, only under the lock
//! (or for a dry run), and only for a single-file spec above `APPEND_ABOVE_BYTES`.

use std::fmt::Write as _;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use portolan_model::{
    Binding, Block, EnvId, Environment, ExposureTerm, Firewall, FirewallKind, FirewallPolicy, Host,
    HostId, IpSet, Loc, Model, PortRange, PortSet, Project, Publisher, Reservation, Service,
    ServiceId, Status, Tls, Transport,
};

use crate::txn::APPEND_ABOVE_BYTES;

// version 2: hosts carry their environment and whether the spec declares them (`alloc`
// picks a host only among declared ones)
const MAGIC: &str = "portolan-alloc-cache 2";

/// The cache file of a spec file (never in the working tree: see
/// [`sidecar`](crate::sidecar)).
pub fn path_for(spec: &Path) -> PathBuf {
    crate::sidecar::path(spec, crate::sidecar::Kind::Cache)
}

fn stamp(spec: &Path) -> Option<String> {
    let m = std::fs::metadata(spec).ok()?;
    (m.is_file() && usize::try_from(m.len()).is_ok_and(|l| l > APPEND_ABOVE_BYTES))
        // fixed width, so `record` can rewrite the header in place
        .then(|| {
            format!(
                "{:020} {:020} {:09} {:020}",
                m.len(),
                m.mtime(),
                m.mtime_nsec(),
                m.ino()
            )
        })
}

fn set(s: &str) -> Option<PortSet> {
    if s == "-" {
        Some(PortSet::default())
    } else {
        s.parse().ok()
    }
}

fn opt(s: &str) -> Option<&str> {
    (s != "-").then_some(s)
}

/// The cache text for `model` (the spec as just loaded), or `None` when the spec is not
/// cacheable.
fn render(spec: &Path, model: &Model) -> Option<String> {
    let stamp = stamp(spec)?;
    let mut out = format!("{MAGIC} {stamp}\n");
    let implicit = model
        .host_named(portolan_model::IMPLICIT_HOST)
        .map_or(portolan_model::LINUX_EPHEMERAL, |h| model.host(h).ephemeral);
    let _ = writeln!(out, "E\t{implicit}");
    for h in &model.hosts {
        let _ = writeln!(
            out,
            "H\t{}\t{}\t{}\t{}",
            h.name,
            h.ephemeral,
            model.environment(h.environment).name,
            u8::from(h.loc.is_some())
        );
    }
    for p in &model.projects {
        let blocks: Vec<String> = p
            .blocks
            .iter()
            .map(|b| format!("{}={}", b.name, b.ports.to_string().replace(' ', "")))
            .collect();
        let range = p
            .range
            .as_ref()
            .map_or_else(|| "-".to_string(), |r| r.to_string().replace(' ', ""));
        let _ = writeln!(
            out,
            "P\t{}\t{range}\t{}",
            p.name,
            if blocks.is_empty() {
                "-".into()
            } else {
                blocks.join(";")
            }
        );
    }
    for s in &model.services {
        let ports =
            PortSet::from_ranges(model.bindings[s.bindings.clone()].iter().map(|b| b.ports));
        let lease = s.lease_until.map_or_else(|| "-".into(), |t| t.to_string());
        let _ = writeln!(
            out,
            "S\t{}\t{lease}\t{}",
            s.name,
            if ports.is_empty() {
                "-".into()
            } else {
                ports.to_string().replace(' ', "")
            }
        );
    }
    for r in &model.reservations {
        let _ = writeln!(
            out,
            "R\t{}\t{}",
            r.ports.to_string().replace(' ', ""),
            r.until.as_deref().unwrap_or("-")
        );
    }
    Some(out)
}

/// Writes the cache of `spec` from the fully loaded `model` (best effort).
pub fn store(spec: &Path, model: &Model) {
    if let Some(text) = render(spec, model) {
        let path = path_for(spec);
        if crate::sidecar::prepare(&path).is_ok() {
            let _ = crate::txn::write_atomic(&path, &text);
        }
    }
}

/// Records a service just appended to `spec` (after the write, under the lock), keeping the
/// cache fresh in O(change): the service's line is appended and synced, then the header is
/// rewritten in place with the spec's new stamp — a crash between the two leaves a stale
/// header, so the cache is ignored, never trusted with a missing line. Drops the cache when
/// it cannot.
pub fn record(spec: &Path, name: &str, ports: PortRange, lease_until: Option<i64>) {
    use std::io::Read;
    use std::os::unix::fs::{FileExt, OpenOptionsExt};
    let path = path_for(spec);
    let updated = (|| {
        // not O_APPEND: Linux would append the header rewrite too (the lock keeps other
        // writers away, so the end is where we left it)
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
            .ok()?;
        let mut head = [0u8; 128];
        let n = f.read(&mut head).ok()?;
        let end = head[..n].iter().position(|b| *b == b'\n')?;
        let old = std::str::from_utf8(&head[..end]).ok()?;
        let new = format!("{MAGIC} {}", stamp(spec)?);
        if !old.starts_with(MAGIC) || old.len() != new.len() {
            return None;
        }
        let lease = lease_until.map_or_else(|| "-".into(), |t| t.to_string());
        let end = f.metadata().ok()?.len();
        f.write_all_at(format!("S\t{name}\t{lease}\t{ports}\n").as_bytes(), end)
            .ok()?;
        f.sync_data().ok()?;
        f.write_all_at(new.as_bytes(), 0).ok()
    })();
    if updated.is_none() {
        let _ = std::fs::remove_file(&path);
    }
}

/// The name of the one service of a cached view that holds the ports of every service
/// without a lease (not a valid service name, so no request can name it).
pub const HOLDER: &str = "(services without a lease)";

/// The names of the services of a cached view, sorted, as spans of the cache text: a view
/// keeps one service per *leased* service (its lease may run out and its ports be reused) and
/// folds every other one into [`HOLDER`], so loading 100,000 services costs their names,
/// not 100,000 services and bindings (which was most of a writing `alloc`).
#[derive(Debug, Default)]
pub struct Names {
    text: String,
    spans: Vec<(u32, u32)>,
}

impl Names {
    fn name(&self, (a, b): (u32, u32)) -> &str {
        self.text.get(a as usize..b as usize).unwrap_or("")
    }

    /// Whether the spec has a service named `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.spans
            .binary_search_by(|s| self.name(*s).cmp(name))
            .is_ok()
    }

    /// How many services there are.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
}

/// The allocation view of `spec` from its cache, when the cache is fresh: the model (hosts,
/// projects, reservations, leased services and [`HOLDER`]) and every service's name.
pub fn load(spec: &Path) -> Option<(Model, Names)> {
    let stamp = stamp(spec)?;
    let text = std::fs::read_to_string(path_for(spec)).ok()?;
    let mut lines = text.lines();
    if lines.next()? != format!("{MAGIC} {stamp}") {
        return None;
    }
    let base = text.as_ptr() as usize;
    // where a line's field starts in `text` (fields are slices of it)
    let span = |f: &str| -> Option<(u32, u32)> {
        let a = u32::try_from(f.as_ptr() as usize - base).ok()?;
        Some((a, a.checked_add(u32::try_from(f.len()).ok()?)?))
    };
    let mut spans: Vec<(u32, u32)> = Vec::with_capacity(text.len() / 24);
    let mut held: Vec<PortRange> = Vec::with_capacity(text.len() / 24);
    let mut leased: Vec<(&str, i64, PortSet)> = Vec::new();
    let mut m = Model::default();
    let mut implicit = portolan_model::LINUX_EPHEMERAL;
    let mut envs: Vec<String> = Vec::new();
    for line in lines {
        let mut split = line.split('\t');
        let mut f = [""; 6];
        let mut n = 0;
        for (slot, field) in f.iter_mut().zip(&mut split) {
            *slot = field;
            n += 1;
        }
        if split.next().is_some() {
            return None;
        }
        match &f[..n] {
            ["E", e] => implicit = e.parse().ok()?,
            ["H", name, e, env, declared] => {
                let mut h = host(name, e.parse().ok()?);
                // the environment's index is fixed once every host is read
                envs.push((*env).to_string());
                h.environment = EnvId::from_index(envs.len() - 1);
                h.loc = (*declared == "1").then(Loc::default);
                m.hosts.push(h);
            }
            ["P", name, range, blocks] => {
                let blocks = if *blocks == "-" {
                    Vec::new()
                } else {
                    blocks
                        .split(';')
                        .map(|b| {
                            let (n, r) = b.split_once('=')?;
                            Some(Block {
                                name: n.to_string(),
                                loc: Loc::default(),
                                ports: set(r)?,
                                purpose: None,
                            })
                        })
                        .collect::<Option<Vec<_>>>()?
                };
                let range = opt(range).map(set).map(|r| r.filter(|r| !r.is_empty()));
                m.projects.push(Project {
                    name: (*name).to_string(),
                    loc: Loc::default(),
                    range: range.flatten(),
                    range_loc: None,
                    blocks,
                    description: None,
                    owner: None,
                });
            }
            ["S", name, lease, ports] => {
                spans.push(span(name)?);
                match opt(lease) {
                    None => match ports.parse::<PortRange>() {
                        // one range: the common case, without building a set
                        Ok(r) => held.push(r),
                        Err(_) => held.extend_from_slice(set(ports)?.ranges()),
                    },
                    Some(l) => leased.push((name, l.parse().ok()?, set(ports)?)),
                }
            }
            ["R", ports, until] => m.reservations.push(Reservation {
                ports: set(ports)?,
                project: None,
                why: String::new(),
                host: None,
                until: opt(until).map(str::to_string),
                loc: Loc::default(),
            }),
            _ => return None,
        }
    }
    // environments sorted by name (the model looks them up by binary search)
    let mut names: Vec<String> = envs.clone();
    names.push(portolan_model::DEFAULT_ENV.into());
    names.sort();
    names.dedup();
    m.environments = names
        .iter()
        .map(|name| Environment {
            name: name.clone(),
            loc: None,
            description: None,
            hosts: Vec::new(),
            internal: IpSet::empty(),
        })
        .collect();
    for (i, h) in m.hosts.iter_mut().enumerate() {
        let name = envs.get(h.environment.index())?;
        let e = names.binary_search(name).ok()?;
        h.environment = EnvId::from_index(e);
        m.environments[e].hosts.push(HostId::from_index(i));
    }
    if m.host_named(portolan_model::IMPLICIT_HOST).is_none()
        && implicit != portolan_model::LINUX_EPHEMERAL
    {
        return None; // cannot express it; take the slow path
    }
    // the leased services one by one, every other one's ports in the holder; services
    // sorted by name (the model looks them up by binary search)
    leased.push((HOLDER, i64::MAX, PortSet::from_ranges(held)));
    leased.sort_by(|a, b| a.0.cmp(b.0));
    for (name, lease, ports) in leased {
        let sid = ServiceId::from_index(m.services.len());
        let start = m.bindings.len();
        for r in ports.ranges() {
            m.bindings.push(binding(sid, *r));
        }
        let lease = (name != HOLDER).then_some(lease);
        m.services
            .push(service(name, lease, start..m.bindings.len()));
    }
    // names written sorted from a model, then appended to by `record`: sort again; a name
    // twice means the cache is wrong
    let mut names = Names {
        text: String::new(),
        spans,
    };
    names.text = text;
    let ascending = |n: &Names| n.spans.windows(2).all(|w| n.name(w[0]) < n.name(w[1]));
    if !ascending(&names) {
        let mut spans = std::mem::take(&mut names.spans);
        spans.sort_unstable_by(|x, y| names.name(*x).cmp(names.name(*y)));
        names.spans = spans;
        if !ascending(&names) {
            return None;
        }
    }
    let sorted = |v: Vec<&str>| v.windows(2).all(|w| w[0] < w[1]);
    if !sorted(m.hosts.iter().map(|h| h.name.as_str()).collect())
        || !sorted(m.projects.iter().map(|p| p.name.as_str()).collect())
    {
        return None;
    }
    Some((m, names))
}

fn host(name: &str, ephemeral: PortRange) -> Host {
    Host {
        name: name.to_string(),
        loc: None,
        environment: EnvId::from_index(0),
        addresses: Vec::new(),
        networks: Vec::new(),
        networks_loc: None,
        firewall: Firewall {
            kind: FirewallKind::None,
            policy: FirewallPolicy::Open,
            loc: None,
        },
        ephemeral,
        ephemeral_loc: None,
        dual_stack: true,
        description: None,
        hostnames: Vec::new(),
        machine_id: None,
    }
}

fn service(name: &str, lease_until: Option<i64>, bindings: std::ops::Range<usize>) -> Service {
    Service {
        name: name.to_string(),
        loc: Loc::default(),
        project: None,
        block: None,
        block_loc: None,
        purpose: None,
        owner: None,
        status: Status::Active,
        since: None,
        evidence: Vec::new(),
        privileged: false,
        process: None,
        suppressions: Vec::new(),
        binding_names: vec!["cached".into()],
        bindings,
        lease_until,
    }
}

fn binding(service: ServiceId, ports: PortRange) -> Binding {
    Binding {
        service,
        name: "cached".into(),
        host: HostId::from_index(0),
        environment: EnvId::from_index(0),
        loc: Loc::default(),
        ports,
        port_loc: Loc::default(),
        bind: std::net::IpAddr::from([127, 0, 0, 1]),
        bind_loc: None,
        transport: Transport::Tcp,
        app: None,
        target: None,
        publisher: Publisher::Host,
        publisher_loc: None,
        exposure: vec![ExposureTerm::Localhost],
        exposure_loc: None,
        auth: None,
        auth_loc: None,
        tls: Tls::None,
        tls_loc: None,
        redirect: false,
        health: None,
        sensitive: None,
        browser: None,
        purpose: None,
        status: Status::Active,
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use portolan_model::spec::Timestamp;

    use super::*;
    use crate::{Occupied, Request, allocate};

    const NOW: i64 = 1_800_000_000;

    /// The cached view folds the services without a lease into [`HOLDER`] and keeps the
    /// leased ones: an allocation from it takes the same ports and displaces the same expired
    /// lease as one from the whole spec, and every service's name is still known.
    #[test]
    fn cached_view_allocates_like_the_whole_spec_and_knows_every_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        // inside a git work tree the cache goes to `.git/portolan/` (no $XDG_CACHE_HOME)
        std::fs::create_dir_all(dir.path().join(".git")).expect("git");
        let spec = dir.path().join("ports.toml");
        let mut text = String::from("[projects.p]\nrange = \"20000-29999\"\n");
        for i in 0..12_000 {
            let lease = match i % 1000 {
                7 => format!("lease-until = {}\n", Timestamp(NOW - 60)),
                8 => format!("lease-until = {}\n", Timestamp(NOW + 60)),
                _ => String::new(),
            };
            let _ = write!(
                text,
                "\n[services.s{i:05}]\nproject = \"p\"\n{lease}bindings.main = {{ port = {}, bind = \"127.0.0.1\", exposure = \"localhost\" }}\n",
                20_000 + i
            );
        }
        assert!(text.len() > APPEND_ABOVE_BYTES, "{}", text.len());
        std::fs::write(&spec, &text).expect("write");
        let model = portolan_model::load(&spec).expect("loads");
        store(&spec, &model);
        let (view, names) = load(&spec).expect("a fresh cache");
        assert_eq!(names.len(), 12_000);
        assert!(names.contains("s00000") && names.contains("s11999") && names.contains("s05007"));
        assert!(!names.contains("s12000") && !names.contains(HOLDER));
        // 12 + 12 leased services one by one, the rest in the holder
        assert_eq!(view.services.len(), 25);
        let holder = view.service_named(HOLDER).expect("the holder");
        assert_eq!(view.service(holder).lease_until, None);
        let req = Request {
            project: "p",
            block: None,
            host: None,
            transport: portolan_model::Transport::Tcp,
            count: 1,
            near: None,
        };
        let displaced = |m: &Model, a: &crate::policy::Allocation| -> Vec<String> {
            a.displaced
                .iter()
                .map(|s| m.service(*s).name.clone())
                .collect()
        };
        for near in [None, Some(25_008), Some(29_999)] {
            let req = Request {
                near,
                ..req.clone()
            };
            let whole = allocate(&model, &req, &Occupied::new(), NOW).expect("allocates");
            let cached = allocate(&view, &req, &Occupied::new(), NOW).expect("allocates");
            assert_eq!(whole.ports, cached.ports, "{near:?}");
            assert_eq!(
                displaced(&model, &whole),
                displaced(&view, &cached),
                "{near:?}"
            );
        }
        let first = allocate(&view, &req, &Occupied::new(), NOW).expect("allocates");
        assert_eq!(
            first.ports,
            PortRange::single(20_007),
            "the expired lease's port"
        );
        // a name twice (a cache that went wrong) is not trusted
        let mut cache = std::fs::read_to_string(path_for(&spec)).expect("cache");
        cache.push_str("S\ts00042\t-\t30000\n");
        std::fs::write(path_for(&spec), cache).expect("write");
        assert!(load(&spec).is_none());
    }
}
