//! The allocation policy against a brute-force oracle (property tests), and lossless edits
//! (snapshots of specs full of comments; parse → render is the identity on every example).

use portolan_alloc::edit::{NewReservation, NewService, SpecDoc};
use portolan_alloc::policy::{Taken, Unavailable, allocate_with, unavailable};
use portolan_alloc::{AllocError, Occupied, Request, allocate};
use portolan_model::knowledge::{blocked_by, is_collision_port};
use portolan_model::spec::Timestamp;
use portolan_model::{PortRange, PortSet, Transport};
use proptest::prelude::*;
use std::fmt::Write as _;

const NOW: i64 = 1_777_629_600; // 2026-05-01T10:00:00Z

/// A random state: a project range near interesting ports, a block, bound services (some with
/// leases, expired or not), reservations (some past `until`), a host ephemeral range.
#[derive(Debug, Clone)]
struct State {
    lo: u16,
    len: u16,
    block: Option<(u16, u16)>,
    bound: Vec<(u16, u16, Option<i64>, bool)>, // port, width, lease offset, udp
    reserved: Vec<(u16, u16, bool)>,           // port, width, expired
    ephemeral: (u16, u16),
    occupied: Vec<u16>,
}

fn state() -> impl Strategy<Value = State> {
    let base = prop::sample::select(vec![5000u16, 5420, 5990, 6660, 9085, 10070, 32750, 49140]);
    (base, 5u16..40).prop_flat_map(|(lo, len)| {
        let port = lo.saturating_sub(3)..lo + len + 3;
        (
            Just(lo),
            Just(len),
            prop::option::of((0..len, 1..len + 1)),
            prop::collection::vec(
                (
                    port.clone(),
                    1u16..3,
                    prop::option::of(-7200i64..7200),
                    any::<bool>(),
                ),
                0..12,
            ),
            prop::collection::vec((port.clone(), 1u16..4, any::<bool>()), 0..3),
            (lo..lo + len + 10, 0u16..20),
            prop::collection::vec(port, 0..4),
        )
            .prop_map(|(lo, len, block, bound, reserved, eph, occupied)| State {
                lo,
                len,
                block: block.map(|(a, w)| (lo + a, (lo + a + w).min(lo + len - 1))),
                bound,
                reserved,
                ephemeral: (eph.0, eph.0.saturating_add(eph.1)),
                occupied,
            })
    })
}

fn spec_text(s: &State) -> String {
    let mut t = format!(
        "[hosts.h1]\nephemeral = \"{}-{}\"\n\n[projects.p]\nrange = \"{}-{}\"\n",
        s.ephemeral.0,
        s.ephemeral.1,
        s.lo,
        s.lo + s.len - 1
    );
    if let Some((a, b)) = s.block {
        let _ = writeln!(t, "blocks = {{ b = \"{a}-{b}\" }}");
    }
    for (i, (p, w, lease, udp)) in s.bound.iter().enumerate() {
        let hi = p.saturating_add(*w - 1).max(*p);
        let _ = writeln!(t, "\n[services.s{i}]\nhosts = [\"h1\"]");
        if let Some(off) = lease {
            let _ = writeln!(t, "lease-until = {}", Timestamp(NOW + off));
        }
        let tr = if *udp { ", transport = \"udp\"" } else { "" };
        let _ = writeln!(t, "bindings.m = {{ port = \"{p}-{hi}\"{tr} }}");
    }
    for (p, w, expired) in &s.reserved {
        let until = if *expired { "2026-04-30" } else { "2026-05-01" };
        let _ = writeln!(
            t,
            "\n[[reservations]]\nports = \"{p}-{}\"\nwhy = \"x\"\nuntil = {until}",
            p.saturating_add(*w - 1)
        );
    }
    t
}

/// The oracle: every constraint checked from the raw state, not from the model.
fn free(s: &State, port: u16) -> bool {
    let bound = s.bound.iter().any(|(p, w, lease, _)| {
        let hi = p.saturating_add(*w - 1).max(*p);
        let alive = lease.is_none_or(|off| off > 0);
        alive && (*p..=hi).contains(&port)
    });
    let reserved = s
        .reserved
        .iter()
        .any(|(p, w, expired)| !expired && (*p..=p.saturating_add(*w - 1)).contains(&port));
    !bound
        && !reserved
        && !is_collision_port(port)
        && blocked_by(port).is_none()
        && !(s.ephemeral.0..=s.ephemeral.1).contains(&port)
        && !s.occupied.contains(&port)
}

fn pool(s: &State, use_block: bool) -> Vec<u16> {
    match (use_block, s.block) {
        (true, Some((a, b))) => (a..=b).collect(),
        _ => (s.lo..s.lo + s.len).collect(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn allocation_satisfies_every_constraint_and_is_the_lowest(
        s in state(), count in 1u16..4, use_block in any::<bool>(), near in prop::option::of(4990u16..50000),
    ) {
        let model = portolan_model::load_str("ports.toml", &spec_text(&s)).expect("spec loads");
        let use_block = use_block && s.block.is_some();
        let req = Request {
            project: "p",
            block: use_block.then_some("b"),
            host: Some("h1"),
            transport: Transport::Tcp,
            count,
            near,
        };
        let occupied: Occupied = s.occupied.iter().copied().collect();
        let got = allocate(&model, &req, &occupied, NOW);
        let again = allocate(&model, &req, &occupied, NOW);
        prop_assert_eq!(format!("{got:?}"), format!("{again:?}"), "deterministic");
        let pool = pool(&s, use_block);
        let fits = |start: u16| {
            (0..count).all(|i| {
                start.checked_add(i).is_some_and(|p| pool.contains(&p) && free(&s, p))
            })
        };
        let starts: Vec<u16> = pool.iter().copied().filter(|p| fits(*p)).collect();
        match got {
            Ok(a) => {
                prop_assert_eq!(a.ports.len(), u32::from(count));
                for p in a.ports.ports() {
                    prop_assert!(pool.contains(&p), "{} outside the pool", p);
                    prop_assert!(free(&s, p), "{} is not free", p);
                    prop_assert_eq!(unavailable(&model, &req, &occupied, NOW, p).ok(), Some(None));
                }
                let want = match near {
                    None => starts[0],
                    Some(n) => *starts
                        .iter()
                        .min_by_key(|x| ((i32::from(**x) - i32::from(n)).abs(), **x))
                        .expect("a start"),
                };
                prop_assert_eq!(a.ports.lo, want);
            }
            Err(AllocError::Full { total, usage, .. }) => {
                prop_assert!(starts.is_empty(), "full, but {:?} fit", starts);
                prop_assert_eq!(total as usize, pool.len());
                // the tally (bound runs are skipped whole) counts each port by its first reason
                let mut want = std::collections::BTreeMap::<Unavailable, u32>::new();
                for p in &pool {
                    if let Ok(Some(why)) = unavailable(&model, &req, &occupied, NOW, *p) {
                        *want.entry(why).or_default() += 1;
                    }
                }
                let want: Vec<(String, u32)> =
                    want.into_iter().map(|(k, n)| (k.label().to_string(), n)).collect();
                prop_assert_eq!(usage, want);
            }
            Err(e) => prop_assert!(false, "unexpected error {e}"),
        }
    }

    /// A planner that marks the ports it handed out as bound ([`Taken::bind`]) and keeps
    /// planning gets the ports a fresh call with them occupied gets.
    #[test]
    fn bound_marks_pick_what_occupied_ports_pick(
        s in state(), count in 1u16..4, near in prop::option::of(4990u16..50000),
    ) {
        let model = portolan_model::load_str("ports.toml", &spec_text(&s)).expect("spec loads");
        let req = Request {
            project: "p",
            block: None,
            host: Some("h1"),
            transport: Transport::Tcp,
            count,
            near,
        };
        let occupied: Occupied = s.occupied.iter().copied().collect();
        let mut taken = Taken::new(&model, NOW);
        for p in &s.occupied {
            taken.bind(PortRange { lo: *p, hi: *p });
        }
        let fresh = allocate(&model, &req, &occupied, NOW).map(|a| a.ports);
        let marked = allocate_with(&model, &taken, &req, &Occupied::new()).map(|a| a.ports);
        prop_assert_eq!(fresh.ok(), marked.ok());
    }
}

#[test]
fn reasons_are_reported_in_order() {
    let model = portolan_model::load_str(
        "ports.toml",
        "[projects.p]\nrange = \"5430-5434\"\n[services.a]\nbindings.m = { port = 5430 }\n[[reservations]]\nports = 5431\nwhy = \"x\"\n",
    )
    .expect("loads");
    let req = Request {
        project: "p",
        block: None,
        host: None,
        transport: Transport::Tcp,
        count: 1,
        near: None,
    };
    let occ: Occupied = [5433].into_iter().collect();
    let why = |p| unavailable(&model, &req, &occ, NOW, p).expect("ok");
    assert_eq!(why(5430), Some(Unavailable::Bound));
    assert_eq!(why(5431), Some(Unavailable::Reserved));
    assert_eq!(why(5432), Some(Unavailable::WellKnown));
    assert_eq!(why(5433), Some(Unavailable::Occupied));
    assert_eq!(why(5434), None);
    let e = allocate(
        &model,
        &Request {
            count: 2,
            ..req.clone()
        },
        &occ,
        NOW,
    )
    .expect_err("full");
    assert_eq!(
        e.to_string().lines().next(),
        Some(
            "no 2 consecutive free ports in project `p` (5430-5434): 5 ports, 1 bound, 1 reserved, 1 well-known, 1 in use"
        )
    );
    assert!(e.is_conflict());
    let e = allocate(
        &model,
        &Request {
            project: "q",
            ..req
        },
        &occ,
        NOW,
    )
    .expect_err("unknown");
    assert!(!e.is_conflict());
    assert!(
        e.to_string().contains("project `q` is not in the spec"),
        "{e}"
    );
}

#[test]
fn expired_leases_are_free_and_displaced() {
    let text = format!(
        "[projects.p]\nrange = \"7000-7010\"\n[services.old]\nlease-until = {}\nbindings.m = {{ port = 7000 }}\n[services.live]\nlease-until = {}\nbindings.m = {{ port = 7001 }}\n",
        Timestamp(NOW - 1),
        Timestamp(NOW + 60)
    );
    let model = portolan_model::load_str("ports.toml", &text).expect("loads");
    let req = Request {
        project: "p",
        block: None,
        host: None,
        transport: Transport::Tcp,
        count: 1,
        near: None,
    };
    let a = allocate(&model, &req, &Occupied::new(), NOW).expect("allocates");
    assert_eq!(a.ports, PortRange::single(7000));
    assert_eq!(a.displaced, vec![model.service_named("old").expect("old")]);
    // an hour earlier the lease still held
    let a = allocate(&model, &req, &Occupied::new(), NOW - 3600).expect("allocates");
    assert_eq!(a.ports, PortRange::single(7002));
}

const COMMENTED: &str = r#"# ports.toml — kept by hand; every comment must survive an edit.
#:schema ./ports.schema.json

[spec]
name   = "commented"          # odd spacing on purpose
owner = 'ops@example.org'     # literal string

# Hosts ------------------------------------------------------------------
[hosts.app1]
environment = "production"    # prod box
ephemeral = "49152-65535"

# Projects ---------------------------------------------------------------
[projects.dash]
range = "5000-5099"
blocks = { api = "5000-5019", web = "5020-5039" }  # inline table, keep as is

# Services ---------------------------------------------------------------

# the hub: first service
[services.hub]
project = "dash"
block = "api"
hosts = ["app1"]
bindings.http = { port = 5000, app = "http" }   # main UI

# a long-lived worker
[services.worker]
project = "dash"
bindings.http = { port = 5001 }
[services.worker.env.production]
hosts = ["app1"]

# Reservations -----------------------------------------------------------
[[reservations]]
ports = "5090-5099"   # held
project = "dash"
why = "future"

# Lint --------------------------------------------------------------------
[lint]
allow = ["privileged-port"]
# trailing comment at the very end
"#;

fn new_service(name: &str, ports: PortRange) -> NewService<'_> {
    NewService {
        name,
        project: "dash",
        block: Some("api"),
        purpose: Some("CI \"smoke\" test"),
        host: Some("app1"),
        since: Some("2026-05-01"),
        lease_until: Some(Timestamp(NOW + 7200)),
        binding: "main",
        ports,
        transport: Transport::Udp,
    }
}

#[test]
fn add_service_is_lossless() {
    let mut d = SpecDoc::parse("ports.toml".as_ref(), COMMENTED).expect("parses");
    d.add_service(&new_service("ci-smoke", PortRange::single(5002)))
        .expect("adds");
    let out = d.render();
    portolan_model::load_str("ports.toml", &out).expect("still loads");
    insta::assert_snapshot!("add_service", out);
}

#[test]
fn remove_service_and_reservations_are_lossless() {
    let mut d = SpecDoc::parse("ports.toml".as_ref(), COMMENTED).expect("parses");
    assert!(d.remove_service("worker"));
    assert!(!d.remove_service("nope"));
    let ports: PortSet = "5095".parse().expect("ports");
    let changes = d.release_reserved(&ports);
    assert_eq!(changes.len(), 1);
    d.add_reservation(&NewReservation {
        ports: &"5080-5081".parse().expect("ports"),
        project: Some("dash"),
        why: "demo day",
        host: Some("app1"),
        until: Some("2026-06-30"),
    })
    .expect("adds");
    let out = d.render();
    portolan_model::load_str("ports.toml", &out).expect("still loads");
    insta::assert_snapshot!("remove_and_reserve", out);
    // gc of reservations past their date
    let mut d = SpecDoc::parse("ports.toml".as_ref(), &out).expect("parses");
    assert_eq!(d.drop_expired_reservations("2026-07-01").len(), 1);
    assert!(d.render().contains("ports = \"5090-5094, 5096-5099\""));
    assert!(!d.render().contains("demo day"));
}

#[test]
fn add_to_a_spec_without_services_or_reservations() {
    let text = "# only a project\n[projects.p]\nrange = \"6100-6199\" # r\n";
    let mut d = SpecDoc::parse("ports.toml".as_ref(), text).expect("parses");
    let mut s = new_service("a", PortRange::new(6100, 6102).expect("range"));
    s.block = None;
    s.transport = Transport::Tcp;
    s.lease_until = None;
    d.add_service(&s).expect("adds");
    d.add_reservation(&NewReservation {
        ports: &"6150".parse().expect("ports"),
        project: None,
        why: "x",
        host: None,
        until: None,
    })
    .expect("adds");
    let out = d.render();
    assert!(out.starts_with(text), "{out}");
    portolan_model::load_str("ports.toml", &out).expect("still loads");
    insta::assert_snapshot!("add_to_bare_spec", out);
    assert!(matches!(
        d.add_service(&s),
        Err(AllocError::ServiceExists(n)) if n == "a"
    ));
}

#[test]
fn parse_render_is_the_identity_on_the_examples() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut n = 0;
    for dir in ["examples", "tests/fixtures/lint"] {
        let Ok(rd) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for e in rd.filter_map(Result::ok) {
            let p = e.path().join("ports.toml");
            let Ok(text) = std::fs::read_to_string(&p) else {
                continue;
            };
            let d = SpecDoc::parse(&p, &text).expect("parses");
            assert_eq!(d.render(), text, "{}", p.display());
            n += 1;
        }
    }
    assert!(n > 10, "found only {n} specs");
}

/// `alloc` picks a host only among the hosts the spec declares (regression, issue 13: a
/// service written without a host landed on an implicit host `default`, and `gen nftables`
/// then asked for `--host` among `default, local`).
#[test]
fn a_host_is_picked_only_from_the_spec() {
    use portolan_alloc::policy::pick_host;
    let load = |t: &str| portolan_model::load_str("ports.toml", t).expect("loads");
    let one = load("[hosts.local]\n[projects.p]\nrange = \"5000-5009\"\n");
    assert_eq!(
        pick_host(&one, None, None).unwrap().as_deref(),
        Some("local")
    );
    // the implicit host is never a choice, even when services of the spec sit on it
    let mixed = load(
        "[hosts.local]\n[projects.p]\nrange = \"5000-5009\"\n[services.old]\nbindings.m = { port = 5000 }\n",
    );
    assert!(mixed.host_named("default").is_some());
    assert_eq!(
        pick_host(&mixed, None, None).unwrap().as_deref(),
        Some("local")
    );
    let err = pick_host(&mixed, Some("default"), None).unwrap_err();
    assert!(
        matches!(err, AllocError::UnknownHost { .. }) && err.to_string().contains("hosts: local"),
        "{err}"
    );
    // several: name one; per environment, the one of that environment
    let two = load(
        "[hosts.app1]\nenvironment = \"production\"\n[hosts.laptop]\nenvironment = \"development\"\n",
    );
    let err = pick_host(&two, None, None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "which host? the spec declares 2 hosts: pass --host (app1 (production), laptop (development))"
    );
    assert_eq!(
        pick_host(&two, None, Some("production"))
            .unwrap()
            .as_deref(),
        Some("app1")
    );
    assert!(
        pick_host(&two, Some("laptop"), Some("production"))
            .unwrap_err()
            .to_string()
            .contains("is in environment `development`, not `production`")
    );
    assert!(
        pick_host(&two, None, Some("prod"))
            .unwrap_err()
            .to_string()
            .contains("did you mean `production`?")
    );
    assert_eq!(
        pick_host(&two, Some("app1"), None).unwrap().as_deref(),
        Some("app1")
    );
    // a spec that declares no host keeps its one implicit host for every service
    let none = load("[projects.p]\nrange = \"5000-5009\"\n");
    assert_eq!(pick_host(&none, None, None).unwrap(), None);
}

#[test]
fn binding_ports_and_targets_are_set_in_place() {
    let text = "[services.api]   # the API\nproject = \"web\"\nbindings.http = { port = 8000, bind = \"127.0.0.1\" } # keep\n\n[services.web.bindings.main]\nport = 8001 # here\ntarget = 80\n";
    let mut doc = SpecDoc::parse(std::path::Path::new("ports.toml"), text).expect("parse");
    assert!(doc.set_binding_port("api", "http", 8010).expect("port"));
    assert!(doc.set_binding_target("api", "http", 8000).expect("target"));
    assert!(doc.set_binding_target("web", "main", 8080).expect("target"));
    assert!(!doc.set_binding_port("nope", "http", 1).expect("absent"));
    assert_eq!(
        doc.render(),
        "[services.api]   # the API\nproject = \"web\"\nbindings.http = { port = 8010, bind = \"127.0.0.1\", target = 8000 } # keep\n\n[services.web.bindings.main]\nport = 8001 # here\ntarget = 8080\n"
    );
}

/// A fleet spec made `alloc` without `--host` print all 1,000 host names in one error line;
/// the message names the first eight and counts the rest.
#[test]
fn regression_which_host_names_a_few_hosts_not_the_fleet() {
    use std::fmt::Write as _;
    let mut spec = String::from("[projects.p]\nrange = \"9000-9099\"\n");
    for i in 0..1000 {
        let _ = writeln!(spec, "[hosts.h{i:04}]");
    }
    let model = portolan_model::load_str("ports.toml", &spec).expect("loads");
    let e = portolan_alloc::policy::pick_host(&model, None, None).expect_err("ambiguous");
    let msg = e.to_string();
    assert!(msg.contains("declares 1000 hosts"), "{msg}");
    assert!(msg.contains("h0007 ("), "{msg}");
    assert!(!msg.contains("h0008 ("), "{msg}");
    assert!(msg.ends_with("992 more)"), "{msg}");
}
