//! End to end: the generated firewall, loaded into a real kernel, lets in exactly the
//! declared reach.
//!
//! For one host of each example spec: a server namespace takes the host's address, the
//! `nftables` ruleset (or, separately, the `iptables` file) generated for that host is
//! loaded there with `nft -f` (`iptables-restore`), and a listener is opened on `0.0.0.0`
//! for every declared port — deliberately wider than the spec's bind addresses, so only the
//! firewall decides — plus a few undeclared ports. A client namespace holds one address per
//! kind of source (the public internet, each network of the specs, a Docker bridge, another
//! private range) and connects from each to each port. Before the firewall is loaded every
//! connection must succeed (the listeners and the wiring work); after, exactly the pairs
//! in the expectation table below — written by hand from each spec's declared exposure, not
//! computed by portolan — connect, and no other. The table must name every binding the host
//! declares (checked against `portolan exposure --json`).
//!
//! Docker-published ports (opticserp's `dev`) are simulated the way Docker wires them: the
//! server DNATs them in prerouting to a third, "container" namespace that listens, and (for
//! iptables) FORWARD jumps to `DOCKER-USER` first — so the generated forward-hook chain /
//! `DOCKER-USER` rules are what is tested, not the INPUT chain they bypass.
//!
//! **Egress**: the client namespace also listens, on a few ports per source address, and
//! the server connects out to them. Where the spec declares outbound flows for the host,
//! exactly the declared flows (and DNS) must get through; where it declares none, the output
//! is not filtered and everything must.
//!
//! **IPv6**: the examples bind nothing to `::` and name no IPv6 network, so a small fixture
//! (`tests/fixtures/netns/ipv6-egress.toml`) gives the server an IPv6 address too; the client
//! then also holds IPv6 sources, and the `ip6tables` file is loaded beside the `iptables`
//! one. The listeners bind `::` (dual-stack), so they accept both families.
//!
//! The ruleset the kernel then holds is read back (`nft list ruleset` / `iptables-save`)
//! and fed to `portolan check --firewall … --from`, which must report no `firewall-drift`.
//!
//! Needs root, iproute2, nftables, iptables and python3 (CI installs them); fails, never
//! skips, without them. Touches only the namespaces it creates (deleted on drop).

use std::collections::BTreeSet;
use std::io::BufRead;
use std::process::Command;

use crate::harness::repo;
use crate::netns::{Pair, sh};

const INSTALL: &str = "install: apt-get install -y iproute2 nftables iptables python3 (as root)";

/// Client source addresses: label → address.
const SOURCES: &[(&str, &str)] = &[
    ("public", "198.51.100.7"),
    ("lan0", "192.168.0.50"),     // business-platform-network `lan`
    ("lan", "192.168.1.50"),      // opticserp `lan`
    ("pos-lan", "192.168.10.50"), // opticserp `pos-lan`
    ("vpn", "10.8.0.50"),         // opticserp `vpn`
    ("docker", "172.17.0.50"),    // a container on a Docker bridge
    ("private", "10.77.0.5"),     // private (RFC 1918), in no named network
    // IPv6, for the fixture (tests/fixtures/netns/ipv6-egress.toml)
    ("public6", "2001:db8:77::7"), // the IPv6 internet
    ("lan6", "fd00:1::50"),        // `lan6`
    ("ops6", "fd00:8::50"),        // `ops` (IPv6 part)
    ("store", "fd00:9::7"),        // host `store` (its `blob.s3` is an outbound flow)
];

/// Every source but the public one.
const PRIVATE: &[&str] = &["lan0", "lan", "pos-lan", "vpn", "docker", "private"];
/// Everyone.
const ALL: &[&str] = &[
    "public", "lan0", "lan", "pos-lan", "vpn", "docker", "private",
];
/// No one (from outside the host).
const NONE: &[&str] = &[];

/// What one host must let in and out.
struct Expect {
    /// An example's name, or a spec path relative to the repository.
    example: &'static str,
    host: &'static str,
    /// The server's address (one of the host's, when the spec lists some).
    addr: &'static str,
    /// Its IPv6 address, when it has one (IPv6 sources are then probed too).
    addr6: Option<&'static str>,
    /// Outbound: (client source label, port) → whether the server may connect to it.
    egress: &'static [(&'static str, u16, bool)],
    /// Declared ports (`80` or `5000-5010`) → sources that may connect.
    allow: &'static [(&'static str, &'static [&'static str])],
    /// Undeclared ports that listen anyway (must be unreachable).
    undeclared: &'static [u16],
    /// Ports Docker publishes: forwarded by the server (DNAT) to a container namespace, which listens.
    published: &'static [u16],
}

const BUSINESS: Expect = Expect {
    example: "business-platform-network",
    host: "server",
    addr: "192.168.0.104",
    addr6: None,
    // the only outbound flow, to *.stripe.com:443, is widened to any address on 443; DNS
    // stays open
    egress: &[
        ("public", 443, true),
        ("private", 443, true),
        ("public", 53, true),
        ("public", 8443, false),
        ("lan0", 5432, false),
    ],
    allow: &[
        ("80", ALL),         // nginx.http: public
        ("443", ALL),        // nginx.https: public
        ("8000", ALL),       // django.http: public
        ("8082", &["lan0"]), // crm.http: lan
        ("8083", &["lan0"]), // crm-gunicorn.http: lan
        ("5432", NONE),      // postgres.db: 127.0.0.1
        ("8081", NONE),      // stripe-dashboard.http: localhost
    ],
    undeclared: &[22, 8084, 9999],
    published: &[],
};

const ES: Expect = Expect {
    example: "es-dashboards-port-guide",
    host: "es-host",
    addr: "10.99.0.1",
    addr6: None,
    // no outbound flow declared: the output is not filtered
    egress: &[("public", 8443, true), ("private", 5000, true)],
    allow: &[
        ("80", ALL), // nginx: public
        ("443", ALL),
        ("5000-5010", PRIVATE), // the dashboards: internal
        ("5012-5025", PRIVATE),
        ("5400", &["docker"]), // es-api: host-internal
        ("5432", &["docker"]), // postgres: host-internal
    ],
    undeclared: &[22, 5011, 5399],
    published: &[],
};

const OPTICSERP_DB1: Expect = Expect {
    example: "opticserp-port-reference",
    host: "db1",
    addr: "10.99.0.1",
    addr6: None,
    // host-os → public:53/udp and :123/udp only (UDP is not probed): TCP is blocked, even 53
    // (the declared resolver flow replaces the DNS default)
    egress: &[
        ("public", 53, false),
        ("public", 443, false),
        ("lan", 5432, false),
    ],
    allow: &[
        ("22", &["vpn"]), // ssh: vpn
        // internal = the private networks the environment declares, plus containers
        ("5432", &["lan", "pos-lan", "vpn", "docker"]),
        ("6379", &["lan", "pos-lan", "vpn", "docker"]),
        // the exporters: internal, narrowed by the declared inbound flows
        ("9121", &["pos-lan", "vpn", "docker"]),
        ("9187", &["pos-lan", "vpn", "docker"]),
    ],
    undeclared: &[80, 443, 3000],
    published: &[],
};

/// The IPv6 and egress fixture: a dual-stack host (`::` bindings, an IPv6-only bind, an
/// IPv4-only bind; IPv6 networks) with outbound flows of every kind.
const V6: Expect = Expect {
    example: "tests/fixtures/netns/ipv6-egress.toml",
    host: "web",
    addr: "10.99.0.1",
    addr6: Some("fd00:99::1"),
    allow: &[
        // www.https on `::`, public: both families
        (
            "443",
            &[
                "public", "lan0", "lan", "pos-lan", "vpn", "docker", "private", "public6", "lan6",
                "ops6", "store",
            ],
        ),
        ("8443", &["lan6"]), // www.admin on `::`: lan6 (IPv6 only)
        ("9000", &["ops6"]), // ops-api.http on fd00:99::1: ops
        ("8080", &["vpn"]),  // legacy.http on 0.0.0.0: ops (its IPv4 part, 10.8.0.0/24)
    ],
    undeclared: &[22, 8444],
    published: &[],
    egress: &[
        ("store", 7000, true),    // www → blob.s3: the store host's address
        ("store", 7001, false),   // not that port
        ("lan6", 5000, true),     // www → lan6:5000
        ("ops6", 5000, false),    // not another network
        ("public", 8125, true),   // ops-api → 198.51.100.0/24:8125
        ("private", 8125, false), // not another CIDR
        ("public6", 8125, false), // not the other family
        ("public6", 9443, true),  // www → *.example.com:9443, widened to any address
        ("public", 9443, true),
        ("public6", 53, true), // DNS (no resolver declared)
        ("public", 8443, false),
        ("lan6", 8443, false),
    ],
};

const OPTICSERP_DEV: Expect = Expect {
    example: "opticserp-port-reference",
    host: "dev",
    addr: "192.168.1.20",
    addr6: None,
    // kkt-adapter → 0.0.0.0/0:443
    egress: &[
        ("public", 443, true),
        ("lan", 443, true),
        ("public", 80, false),
        ("public", 53, false),
    ],
    allow: &[
        ("22", &["vpn"]), // ssh: vpn
        // kkt-adapter.api, published by Docker: lan (+ the POS terminals' inbound flow)
        ("8000", &["lan", "pos-lan"]),
        ("8069", ALL), // odoo, published by Docker: public
        ("8072", ALL),
        ("5432", NONE), // postgres, flower, redis: published on 127.0.0.1 only
        ("5555", NONE),
        ("6379", NONE),
    ],
    undeclared: &[80, 443, 8001],
    published: &[8000, 8069, 8072],
};

fn ports(spec: &str) -> Vec<u16> {
    let (lo, hi) = spec.split_once('-').unwrap_or((spec, spec));
    (lo.parse().unwrap()..=hi.parse().unwrap()).collect()
}

/// The spec of `e`.
fn spec_of(e: &Expect) -> std::path::PathBuf {
    if e.example.contains('/') {
        repo().join(e.example)
    } else {
        repo().join("examples").join(e.example).join("ports.toml")
    }
}

fn portolan_gen(e: &Expect, target: &str) -> String {
    let spec = spec_of(e);
    let out = Command::new(assert_cmd::cargo::cargo_bin("portolan"))
        .arg("--spec")
        .arg(&spec)
        .args(["gen", target, "--host", e.host])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The table names exactly the host's declared bindings (all TCP here).
fn check_table_covers_the_spec(e: &Expect) {
    let spec = spec_of(e);
    let out = Command::new(assert_cmd::cargo::cargo_bin("portolan"))
        .arg("--spec")
        .arg(&spec)
        .args(["exposure", "--host", e.host, "--json"])
        .output()
        .unwrap();
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut declared = BTreeSet::new();
    for b in j["bindings"].as_array().unwrap() {
        assert_eq!(b["transport"], "tcp", "{b}");
        declared.extend(ports(b["ports"].as_str().unwrap()));
    }
    let table: BTreeSet<u16> = e.allow.iter().flat_map(|(p, _)| ports(p)).collect();
    assert_eq!(
        declared, table,
        "{} {}: the table must name every declared port",
        e.example, e.host
    );
}

/// Kills the listener on drop (before the namespaces go).
struct Listener(std::process::Child);

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Listens on `ports` (every address, both families) inside `ns` until dropped.
fn listen(ns: &str, ports: &[u16]) -> Listener {
    let code = format!(
        "import socket,time\nls=[]\nfor p in {ports:?}:\n    s=socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1); s.setsockopt(socket.IPPROTO_IPV6,socket.IPV6_V6ONLY,0); s.bind(('::',p)); s.listen(64); ls.append(s)\nprint('ready',flush=True)\ntime.sleep(300)\n"
    );
    let mut child = Listener(Pair::spawn(ns, &["python3", "-c", &code]));
    let mut line = String::new();
    std::io::BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(
        line.trim(),
        "ready",
        "listeners in namespace {ns}; {INSTALL}"
    );
    child
}

/// Simulates Docker publishing `ports` to the container at `ctr` the way `target`'s host
/// would: DNAT in prerouting (and, for iptables, FORWARD jumping to DOCKER-USER first,
/// added by [`docker_forward`] once the generated file has created the chain).
fn docker_dnat(ns: &str, target: &str, ports: &[u16], ctr: &str) {
    let list = ports.iter().map(ToString::to_string).collect::<Vec<_>>();
    if target == "nftables" {
        sh(&format!(
            "ip netns exec {ns} nft 'add table ip dockersim; add chain ip dockersim prerouting {{ type nat hook prerouting priority dstnat; }}; add rule ip dockersim prerouting tcp dport {{ {} }} dnat to {ctr}'",
            list.join(", ")
        ));
    } else {
        sh(&format!(
            "ip netns exec {ns} iptables -t nat -A PREROUTING -p tcp -m multiport --dports {} -j DNAT --to-destination {ctr}",
            list.join(",")
        ));
    }
}

/// Docker's jump from FORWARD to DOCKER-USER (iptables only).
fn docker_forward(ns: &str, target: &str) {
    if target == "iptables" {
        sh(&format!(
            "ip netns exec {ns} iptables -I FORWARD -j DOCKER-USER"
        ));
    }
}

/// With `PORTOLAN_CAPTURE_DUMPS=1`, saves what the kernel now holds (`nft list ruleset` /
/// `iptables-save`) as `tests/fixtures/firewall/EXAMPLE-HOST.{nft,iptables-save}`: real dumps
/// for the firewall importers' tests.
fn capture(ns: &str, e: &Expect, target: &str) {
    if std::env::var_os("PORTOLAN_CAPTURE_DUMPS").is_none() {
        return;
    }
    let (prog, args, ext): (&str, &[&str], &str) = if target == "nftables" {
        ("nft", &["list", "ruleset"], "nft")
    } else {
        ("iptables-save", &[], "iptables-save")
    };
    let out = Pair::exec(ns, prog).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{prog}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = repo().join("tests/fixtures/firewall");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(format!(
            "{}-{}.{ext}",
            e.example
                .rsplit('/')
                .next()
                .unwrap_or(e.example)
                .trim_end_matches(".toml"),
            e.host
        )),
        out.stdout,
    )
    .unwrap();
}

/// What the kernel of `ns` now holds, read back as `portolan check --firewall` does
/// (`nft list ruleset` / `iptables-save`), must show no `firewall-drift`: the generated,
/// applied ruleset is exactly the spec.
fn assert_no_drift(ns: &str, e: &Expect, target: &str) {
    let (prog, args): (&str, &[&str]) = if target == "nftables" {
        ("nft", &["list", "ruleset"])
    } else {
        ("iptables-save", &[])
    };
    let mut out = Pair::exec(ns, prog).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{prog}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    if target == "iptables" && e.addr6.is_some() {
        // `iptables-save; ip6tables-save`, read as one file
        let v6 = Pair::exec(ns, "ip6tables-save").output().unwrap();
        assert!(
            v6.status.success(),
            "{}",
            String::from_utf8_lossy(&v6.stderr)
        );
        out.stdout.extend(v6.stdout);
    }
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("dump");
    std::fs::write(&dump, &out.stdout).unwrap();
    let spec = spec_of(e);
    let check = Command::new(assert_cmd::cargo::cargo_bin("portolan"))
        .arg("--spec")
        .arg(&spec)
        .args(["check", "--host", e.host, "--firewall", target, "--from"])
        .arg(&dump)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        matches!(check.status.code(), Some(0 | 1)),
        "check --firewall {target}: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    // and live, as root inside the namespace, with no --from
    let bin = assert_cmd::cargo::cargo_bin("portolan");
    let live = Pair::exec(ns, bin.to_str().unwrap())
        .arg("--spec")
        .arg(&spec)
        .args(["check", "--host", e.host, "--firewall", target])
        .args(["--format", "json"])
        .output()
        .unwrap();
    let lj: serde_json::Value = serde_json::from_slice(&live.stdout).unwrap_or_else(|err| {
        panic!(
            "live check --firewall {target}: {err}: {}",
            String::from_utf8_lossy(&live.stderr)
        )
    });
    assert!(
        !lj["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "firewall-drift"),
        "live check --firewall {target}: {lj:#}"
    );
    let j: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    let drift: Vec<&serde_json::Value> = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "firewall-drift")
        .collect();
    assert!(
        drift.is_empty(),
        "{} host {} via {target}: the live ruleset drifts from the spec: {drift:#?}\n--- dump\n{}",
        e.example,
        e.host,
        String::from_utf8_lossy(&out.stdout)
    );
}

/// From namespace `ns`, whether each (source, destination, port) connects (an empty source:
/// the kernel picks one).
fn connects(ns: &str, jobs: &[(&str, &str, u16)]) -> Vec<bool> {
    const PROBE: &str = "import socket,json,sys,concurrent.futures as cf
jobs=json.loads(sys.argv[1])
def go(j):
    s=socket.socket(socket.AF_INET6 if ':' in j[1] else socket.AF_INET); s.settimeout(1.5)
    try:
        if j[0]: s.bind((j[0],0))
        s.connect((j[1],j[2])); return True
    except OSError:
        return False
    finally:
        s.close()
with cf.ThreadPoolExecutor(256) as ex:
    print(json.dumps(list(ex.map(go,jobs))))
";
    let arg = serde_json::to_string(jobs).unwrap();
    let out = Pair::exec(ns, "python3")
        .args(["-c", PROBE, &arg])
        .output()
        .unwrap_or_else(|e| panic!("python3 in the client namespace: {e}; {INSTALL}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Loads `target`'s output for `e`'s host into a fresh server namespace and checks reach.
fn reach(e: &Expect, target: &str) {
    check_table_covers_the_spec(e);
    let prefix = |a: &str| format!("{a}/{}", if a.contains(':') { 128 } else { 32 });
    let client: Vec<String> = SOURCES.iter().map(|(_, a)| prefix(a)).collect();
    let client: Vec<&str> = client.iter().map(String::as_str).collect();
    let mut server = vec![prefix(e.addr)];
    server.extend(e.addr6.map(prefix));
    let server: Vec<&str> = server.iter().map(String::as_str).collect();
    let mut pair = Pair::new(&server, &client);
    // listeners on every declared and undeclared port, on every address; published ones in
    // the container
    let mut here: Vec<u16> = e.allow.iter().flat_map(|(p, _)| ports(p)).collect();
    here.extend(e.undeclared);
    here.retain(|p| !e.published.contains(p));
    let _server = listen(&pair.server, &here);
    let _container = if e.published.is_empty() {
        None
    } else {
        let ctr = pair.container();
        docker_dnat(&pair.server, target, e.published, ctr);
        Some(listen(pair.container.as_ref().unwrap(), e.published))
    };
    // the client listens for the server's outbound connections
    let mut out_ports: Vec<u16> = e.egress.iter().map(|(_, p, _)| *p).collect();
    out_ports.sort_unstable();
    out_ports.dedup();
    let _client = listen(&pair.client, &out_ports);
    let addr_of = |label: &str| SOURCES.iter().find(|(l, _)| *l == label).unwrap().1;
    let mut jobs = Vec::new();
    let mut want = Vec::new();
    for (label, src) in SOURCES {
        let Some(dst) = (if src.contains(':') {
            e.addr6
        } else {
            Some(e.addr)
        }) else {
            continue;
        };
        for (spec, who) in e.allow {
            for p in ports(spec) {
                jobs.push((*src, dst, p));
                want.push(who.contains(label));
            }
        }
        for p in e.undeclared {
            jobs.push((*src, dst, *p));
            want.push(false);
        }
    }
    let out_jobs: Vec<(&str, &str, u16)> = e
        .egress
        .iter()
        .map(|(label, p, _)| ("", addr_of(label), *p))
        .collect();
    let out_want: Vec<bool> = e.egress.iter().map(|(_, _, ok)| *ok).collect();
    // without a firewall, everything connects: the wiring works
    let before = connects(&pair.client, &jobs);
    let down: Vec<_> = jobs.iter().zip(&before).filter(|(_, ok)| !**ok).collect();
    assert!(down.is_empty(), "unreachable before any firewall: {down:?}");
    let before = connects(&pair.server, &out_jobs);
    let down: Vec<_> = out_jobs
        .iter()
        .zip(&before)
        .filter(|(_, ok)| !**ok)
        .collect();
    assert!(
        down.is_empty(),
        "outbound unreachable before any firewall: {down:?}"
    );
    // load the generated ruleset (for iptables, the ip6tables file too when IPv6 is probed)
    let mut loads = vec![(
        target,
        if target == "nftables" {
            "nft"
        } else {
            "iptables-restore"
        },
    )];
    if target == "iptables" && e.addr6.is_some() {
        loads.push(("ip6tables", "ip6tables-restore"));
    }
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for (t, prog) in loads {
        let rules = portolan_gen(e, t);
        let file = dir.path().join(t);
        std::fs::write(&file, &rules).unwrap();
        let args: &[&str] = if prog == "nft" { &["-f"] } else { &[] };
        let out = Pair::exec(&pair.server, prog)
            .args(args)
            .arg(&file)
            .output()
            .unwrap_or_else(|e| panic!("{prog}: {e}; {INSTALL}"));
        assert!(
            out.status.success(),
            "{prog} rejected the ruleset ({INSTALL}): {}\n{rules}",
            String::from_utf8_lossy(&out.stderr)
        );
        text.push_str(&rules);
    }
    if !e.published.is_empty() {
        docker_forward(&pair.server, target);
    }
    capture(&pair.server, e, target);
    assert_no_drift(&pair.server, e, target);
    let after = connects(&pair.client, &jobs);
    let label = |src: &str| SOURCES.iter().find(|(_, a)| *a == src).unwrap().0;
    let mut wrong: Vec<String> = jobs
        .iter()
        .zip(after.iter().zip(&want))
        .filter(|(_, (got, want))| got != want)
        .map(|((src, dst, p), (got, _))| {
            format!(
                "port {p} of {dst} from {} ({src}): {}",
                label(src),
                if *got {
                    "connects but is not declared"
                } else {
                    "declared but blocked"
                }
            )
        })
        .collect();
    let out_after = connects(&pair.server, &out_jobs);
    wrong.extend(
        out_jobs
            .iter()
            .zip(out_after.iter().zip(&out_want))
            .filter(|(_, (got, want))| got != want)
            .map(|((_, dst, p), (got, _))| {
                format!(
                    "outbound to {} ({dst}) port {p}: {}",
                    label(dst),
                    if *got {
                        "connects but is not declared"
                    } else {
                        "declared but blocked"
                    }
                )
            }),
    );
    assert!(
        wrong.is_empty(),
        "{} host {} via {target}: reach differs from the declaration:\n  {}\n--- ruleset\n{text}",
        e.example,
        e.host,
        wrong.join("\n  ")
    );
    assert!(want.iter().any(|w| *w) && want.iter().any(|w| !*w));
}

#[test]
fn nftables_business_platform_lets_in_exactly_the_declared_reach() {
    reach(&BUSINESS, "nftables");
}

#[test]
fn nftables_es_dashboards_lets_in_exactly_the_declared_reach() {
    reach(&ES, "nftables");
}

#[test]
fn nftables_opticserp_db1_lets_in_exactly_the_declared_reach() {
    reach(&OPTICSERP_DB1, "nftables");
}

#[test]
fn iptables_business_platform_lets_in_exactly_the_declared_reach() {
    reach(&BUSINESS, "iptables");
}

#[test]
fn iptables_es_dashboards_lets_in_exactly_the_declared_reach() {
    reach(&ES, "iptables");
}

#[test]
fn iptables_opticserp_db1_lets_in_exactly_the_declared_reach() {
    reach(&OPTICSERP_DB1, "iptables");
}

#[test]
fn nftables_docker_published_ports_are_filtered_where_they_take_effect() {
    reach(&OPTICSERP_DEV, "nftables");
}

#[test]
fn iptables_docker_published_ports_are_filtered_in_docker_user() {
    reach(&OPTICSERP_DEV, "iptables");
}

#[test]
fn nftables_ipv6_and_egress_are_exactly_the_declared_reach() {
    reach(&V6, "nftables");
}

#[test]
fn iptables_and_ip6tables_ipv6_and_egress_are_exactly_the_declared_reach() {
    reach(&V6, "iptables");
}
