//! Whose a port reference is, and which side of a published binding it is on.
//!
//! A reference belongs to the moving binding only when evidence ties it:
//!
//! 1. **The format names the service**: a compose service key or Kubernetes name (the
//!    compose services tied to the binding are the one named like the spec's service and
//!    any that publishes the binding's host port under another name, unless that name is
//!    another service of the spec); the peer of a connection (`server api:8000`,
//!    `DATABASE_URL=…@db:5432`); a variable that a tied compose entry reads
//!    (`${API_PORT:-8000}` → `API_PORT=8000` in `.env`); the `API` of `API_PORT`; a Procfile
//!    process type equal to a service name.
//! 2. **The spec's `evidence`** names the line.
//! 3. **The file's home**: the deepest of — a file the spec's `evidence` lists, a file or
//!    directory a compose service owns (build context, `dockerfile`, `env_file`, bind
//!    mounts), a file named after a service (`api.service`, `Dockerfile.api`), a directory
//!    named after a service (`api/`, `services/admin/`). Two owners at the same depth tie
//!    nothing.
//!
//! A connection to a loopback address or to one of the binding's hosts reaches the host
//! side, unless the file belongs to another service (its own `localhost`).
//!
//! Sides, for a binding something publishes (the spec's `publisher`, or a tied compose
//! entry publishing its host port): the host part of `HOST:CONTAINER`, `-p HOST:…` and
//! host-side connections are the host side; the container part, `EXPOSE`, `expose:`, the
//! app's own listen config, the compose `command:` and connections by service name over
//! the container network are the container side. An unpublished binding has one side.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use portolan_model::port::PortRange;

use super::regions::{token_at, variables};
use super::scan::Scanned;
use super::{Side, Target};
use crate::evidence::{PortUse, Role, SourceKind};
use crate::text::LineIndex;

/// Who a reference belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Owner {
    /// The moving binding's service.
    Ours,
    /// Another service (of the spec, or a compose service it does not know).
    Other(String),
}

/// An owner and the evidence for it, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Tie {
    pub owner: Owner,
    pub why: String,
}

/// What a variable feeds.
#[derive(Debug, Clone, PartialEq, Eq)]
enum VarFact {
    One(Owner, Side),
    Mixed,
}

/// What a variable feeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Feeds {
    /// No compose entry reads it.
    Nothing,
    /// One side of one service.
    One(Owner, Side),
    /// Several services, or both sides.
    Several,
}

/// A name as compared: lower case, `_` as `-`.
pub(super) fn norm(s: &str) -> String {
    s.to_ascii_lowercase().replace('_', "-")
}

/// What the repository says about the binding, gathered once before any reference is
/// judged.
#[derive(Debug, Default)]
pub(super) struct Facts {
    ours: BTreeSet<String>,
    others: BTreeMap<String, String>,
    hosts: BTreeSet<String>,
    homes: BTreeMap<PathBuf, Vec<Tie>>,
    evidence_files: BTreeSet<PathBuf>,
    evidence_lines: BTreeSet<(PathBuf, u32)>,
    vars: BTreeMap<String, VarFact>,
    /// Whether something publishes the binding (the spec or a tied compose entry).
    pub published: bool,
    /// The container side as the spec or the code says (the host port when unpublished).
    pub container_port: u16,
    /// Compose / Kubernetes services tied to the binding, as written.
    pub tied: Vec<String>,
}

fn single(r: PortRange) -> Option<u16> {
    (r.lo == r.hi).then_some(r.lo)
}

impl Facts {
    pub(super) fn gather(t: &Target, files: &[Scanned]) -> Facts {
        let mut f = Facts::default();
        f.ours.insert(norm(&t.service));
        for o in &t.others {
            f.others.insert(norm(o), o.clone());
        }
        f.hosts
            .extend(["localhost", "127.0.0.1", "::1", "0.0.0.0", "::", "[::1]"].map(String::from));
        f.hosts
            .extend(t.hosts.iter().map(|h| h.to_ascii_lowercase()));
        // compose (and Kubernetes) services tied to the binding
        let mut tied: BTreeSet<String> = BTreeSet::new();
        let mut container: Option<u16> = None;
        let mut published_here = false;
        for s in files {
            for u in &s.uses {
                if !matches!(u.source, SourceKind::Compose | SourceKind::Kubernetes) {
                    continue;
                }
                let Some(name) = &u.service else { continue };
                let n = norm(name);
                let by_port = u.role == Role::Publish
                    && u.transport == t.transport
                    && single(u.port) == Some(t.port)
                    && !f.others.contains_key(&n);
                if n == norm(&t.service) || by_port {
                    tied.insert(name.clone());
                    if u.role == Role::Publish && single(u.port) == Some(t.port) {
                        published_here = true;
                        container = container.or(u.target.and_then(single));
                    }
                }
            }
        }
        f.ours.extend(tied.iter().map(|n| norm(n)));
        f.tied = tied.into_iter().collect();
        for s in files {
            for o in &s.owned {
                let n = norm(&o.service);
                if !f.ours.contains(&n) {
                    f.others.entry(n).or_insert_with(|| o.service.clone());
                }
            }
            for u in s.uses.iter().filter(|u| u.source == SourceKind::Compose) {
                if let Some(name) = &u.service
                    && !f.ours.contains(&norm(name))
                {
                    f.others.entry(norm(name)).or_insert_with(|| name.clone());
                }
            }
        }
        f.published = t.published || published_here;
        f.container_port = t.target.or(container).unwrap_or(t.port);
        // homes: what compose services own, what the evidence lists
        for s in files {
            let Some(dir) = std::fs::canonicalize(&s.file)
                .ok()
                .and_then(|c| c.parent().map(Path::to_path_buf))
            else {
                continue;
            };
            for o in &s.owned {
                let owner = f.owner_named(&o.service);
                for written in &o.paths {
                    // `~` is someone's home directory, never part of the repository
                    if written.starts_with('~') {
                        continue;
                    }
                    if let Ok(c) = std::fs::canonicalize(dir.join(written)) {
                        let what = if c.is_dir() { "directory" } else { "file" };
                        f.homes.entry(c).or_default().push(Tie {
                            owner: owner.clone(),
                            why: format!("{what} `{written}` of compose service `{}`", o.service),
                        });
                    }
                }
            }
        }
        for (file, line) in &t.evidence {
            match line {
                Some(l) => f.evidence_lines.insert((file.clone(), *l)),
                None => f.evidence_files.insert(file.clone()),
            };
            f.evidence_files.insert(file.clone());
        }
        // variables read by compose entries: which owner and side each one feeds
        for s in files.iter().filter(|s| s.kind == Some(SourceKind::Compose)) {
            let ix = LineIndex::new(&s.shown, &s.text);
            for u in &s.uses {
                let Some(name) = &u.service else { continue };
                let owner = f.owner_named(name);
                let side_of = |container_side: bool| {
                    if !f.published {
                        Side::Only
                    } else if container_side {
                        Side::Container
                    } else {
                        Side::Host
                    }
                };
                let mut found: Vec<(String, Side)> = Vec::new();
                if let Some(o) = ix.offset(u.at.line, u.at.col) {
                    let r = token_at(&s.text, o);
                    let side = side_of(u.role != Role::Publish);
                    found.extend(variables(&s.text[r]).into_iter().map(|v| (v, side)));
                }
                if let Some(ta) = &u.target_at
                    && let Some(o) = ix.offset(ta.line, ta.col)
                {
                    let r = token_at(&s.text, o);
                    let side = side_of(true);
                    found.extend(variables(&s.text[r]).into_iter().map(|v| (v, side)));
                }
                for (v, side) in found {
                    let fact = VarFact::One(owner.clone(), side);
                    let e = f.vars.entry(v).or_insert_with(|| fact.clone());
                    if *e != fact {
                        *e = VarFact::Mixed;
                    }
                }
            }
        }
        f
    }

    fn owner_named(&self, name: &str) -> Owner {
        let n = norm(name);
        if self.ours.contains(&n) {
            Owner::Ours
        } else {
            Owner::Other(
                self.others
                    .get(&n)
                    .cloned()
                    .unwrap_or_else(|| name.to_string()),
            )
        }
    }

    /// The owner a name says, if it names any service known here.
    fn named(&self, name: &str) -> Option<Owner> {
        let n = norm(name);
        if self.ours.contains(&n) {
            Some(Owner::Ours)
        } else {
            self.others.get(&n).map(|o| Owner::Other(o.clone()))
        }
    }

    /// What a variable feeds, by what the compose entries reading it say.
    pub(super) fn variable(&self, name: &str) -> Feeds {
        match self.vars.get(name) {
            None => Feeds::Nothing,
            Some(VarFact::One(o, s)) => Feeds::One(o.clone(), *s),
            Some(VarFact::Mixed) => Feeds::Several,
        }
    }

    /// The home of a file (see the module docs); `Err` names the owners that tie.
    pub(super) fn home(&self, s: &Scanned) -> Result<Option<Tie>, String> {
        let Ok(canon) = std::fs::canonicalize(&s.file) else {
            return Ok(None);
        };
        // the file itself
        let mut level: Vec<Tie> = Vec::new();
        if self.evidence_files.contains(&canon) {
            level.push(Tie {
                owner: Owner::Ours,
                why: "a file the service's `evidence` lists".into(),
            });
        }
        level.extend(self.homes.get(&canon).cloned().unwrap_or_default());
        if let Some(name) = canon.file_name().and_then(|n| n.to_str()) {
            let lower = name.to_ascii_lowercase();
            let stem = lower
                .strip_prefix("dockerfile.")
                .or_else(|| lower.strip_prefix("procfile."))
                .unwrap_or_else(|| lower.split('.').next().unwrap_or(""));
            if let Some(owner) = self.named(stem) {
                level.push(Tie {
                    owner,
                    why: format!("file `{name}` is named after it"),
                });
            }
        }
        if let Some(t) = decide(&level)? {
            return Ok(Some(t));
        }
        // its directories, deepest first; names count only below the walked root
        let below_root = s.relative.components().count().saturating_sub(1);
        for (i, dir) in canon.ancestors().skip(1).enumerate() {
            if i > below_root {
                break;
            }
            let mut level: Vec<Tie> = self.homes.get(dir).cloned().unwrap_or_default();
            if i < below_root
                && let Some(name) = dir.file_name().and_then(|n| n.to_str())
                && let Some(owner) = self.named(name)
            {
                level.push(Tie {
                    owner,
                    why: format!("directory `{name}/` is named after it"),
                });
            }
            if let Some(t) = decide(&level)? {
                return Ok(Some(t));
            }
        }
        Ok(None)
    }

    /// Judges a parser's use whose token holds the number: who it belongs to and which side
    /// it is on. `container_part`: the number is the container part of a publish.
    pub(super) fn judge(
        &self,
        u: &PortUse,
        container_part: bool,
        file: &Scanned,
        home: &Result<Option<Tie>, String>,
    ) -> Judgement {
        let side_for = |container: bool| {
            if !self.published {
                Side::Only
            } else if container {
                Side::Container
            } else {
                Side::Host
            }
        };
        let ours = |side: Option<Side>, why: String| Judgement {
            tie: Some(Tie {
                owner: Owner::Ours,
                why,
            }),
            side,
            unsure: None,
        };
        let theirs = |owner: Owner, why: String| Judgement {
            tie: Some(Tie { owner, why }),
            side: None,
            unsure: None,
        };
        let home_other = match home {
            Ok(Some(t)) if t.owner != Owner::Ours => Some(t.clone()),
            _ => None,
        };
        if u.role == Role::Connect {
            let Some(peer) = u.peer.as_deref() else {
                return Judgement::unowned(home);
            };
            let p = peer.to_ascii_lowercase();
            return match self.named(&p) {
                Some(Owner::Ours) => ours(
                    Some(side_for(true)),
                    format!("connects to `{peer}` over the container network"),
                ),
                Some(o) => theirs(o, format!("connects to `{peer}`")),
                None if self.hosts.contains(&p) => match home_other {
                    Some(t) => theirs(t.owner, format!("connects to its own `{peer}` ({})", t.why)),
                    None => ours(
                        Some(side_for(false)),
                        format!("connects to `{peer}`, where the binding listens"),
                    ),
                },
                None => Judgement::unowned(home),
            };
        }
        let named = match u.source {
            SourceKind::Compose | SourceKind::Kubernetes => u.service.as_deref().map(|n| {
                (
                    self.owner_named(n),
                    format!("{} service `{n}`", u.source.as_str()),
                )
            }),
            SourceKind::Procfile | SourceKind::Systemd => u.service.as_deref().and_then(|n| {
                self.named(n)
                    .map(|o| (o, format!("{} entry `{n}`", u.source.as_str())))
            }),
            _ => None,
        };
        if let Some((owner, why)) = named {
            return match owner {
                Owner::Ours => ours(
                    Some(side_for(u.role != Role::Publish || container_part)),
                    why,
                ),
                o @ Owner::Other(_) => theirs(o, why),
            };
        }
        // a variable a compose entry reads, or the service a `*_PORT` name says
        if let Some(v) = &u.variable {
            match self.variable(v) {
                Feeds::One(Owner::Ours, side) => {
                    return ours(Some(side), format!("`{v}` feeds the compose entry"));
                }
                Feeds::One(o, _) => return theirs(o, format!("`{v}` feeds its compose entry")),
                Feeds::Several => {
                    return Judgement {
                        tie: None,
                        side: None,
                        unsure: Some(format!(
                            "`{v}` feeds several services or both sides of the binding"
                        )),
                    };
                }
                Feeds::Nothing => {}
            }
        }
        if u.source == SourceKind::Env
            && let Some(n) = &u.service
            && let Some(owner) = self.named(n)
        {
            let why = format!(
                "variable `{}` is named after it",
                u.variable.as_deref().unwrap_or(n)
            );
            return match owner {
                // which side a `.env` value sets is unknown when the binding is published
                Owner::Ours if self.published => Judgement {
                    tie: Some(Tie {
                        owner: Owner::Ours,
                        why,
                    }),
                    side: None,
                    unsure: Some("cannot tell which side of the binding it sets".into()),
                },
                Owner::Ours => ours(Some(Side::Only), why),
                o @ Owner::Other(_) => theirs(o, why),
            };
        }
        if let Ok(canon) = std::fs::canonicalize(&file.file)
            && self.evidence_lines.contains(&(canon, u.at.line))
        {
            return ours(
                Some(side_for(u.role != Role::Publish || container_part)),
                "the service's `evidence` names the line".into(),
            );
        }
        match home {
            Ok(Some(t)) if t.owner == Owner::Ours => ours(
                Some(side_for(u.role != Role::Publish || container_part)),
                t.why.clone(),
            ),
            Ok(Some(t)) => theirs(t.owner.clone(), t.why.clone()),
            _ => Judgement::unowned(home),
        }
    }
}

/// The owner of one level of homes: one owner, or none (nothing there), or a tie.
fn decide(level: &[Tie]) -> Result<Option<Tie>, String> {
    let Some(first) = level.first() else {
        return Ok(None);
    };
    if level.iter().all(|t| t.owner == first.owner) {
        Ok(Some(first.clone()))
    } else {
        let mut names: Vec<String> = level
            .iter()
            .map(|t| match &t.owner {
                Owner::Ours => "this service".to_string(),
                Owner::Other(o) => format!("`{o}`"),
            })
            .collect();
        names.sort();
        names.dedup();
        Err(format!("its place is shared by {}", names.join(" and ")))
    }
}

/// What [`Facts::judge`] decided.
#[derive(Debug, Clone)]
pub(super) struct Judgement {
    /// Whose it is (`None`: nothing ties it).
    pub tie: Option<Tie>,
    /// Its side, when it is ours and the side is known.
    pub side: Option<Side>,
    /// Why it cannot be decided, when that is the reason it is left.
    pub unsure: Option<String>,
}

impl Judgement {
    fn unowned(home: &Result<Option<Tie>, String>) -> Judgement {
        Judgement {
            tie: None,
            side: None,
            unsure: home.as_ref().err().cloned(),
        }
    }
}
