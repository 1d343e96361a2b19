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
];

/// Every source but the public one.
const PRIVATE: &[&str] = &["lan0", "lan", "pos-lan", "vpn", "docker", "private"];
/// Everyone.
const ALL: &[&str] = &[
    "public", "lan0", "lan", "pos-lan", "vpn", "docker", "private",
];
/// No one (from outside the host).
const NONE: &[&str] = &[];

/// What one host must let in.
struct Expect {
    example: &'static str,
    host: &'static str,
    /// The server's address (one of the host's, when the spec lists some).
    addr: &'static str,
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

const OPTICSERP_DEV: Expect = Expect {
    example: "opticserp-port-reference",
    host: "dev",
    addr: "192.168.1.20",
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

fn portolan_gen(e: &Expect, target: &str) -> String {
    let spec = repo().join("examples").join(e.example).join("ports.toml");
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
    let spec = repo().join("examples").join(e.example).join("ports.toml");
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

/// Listens on `ports` (every address) inside `ns` until dropped.
fn listen(ns: &str, ports: &[u16]) -> Listener {
    let code = format!(
        "import socket,time\nls=[]\nfor p in {ports:?}:\n    s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1); s.bind(('0.0.0.0',p)); s.listen(64); ls.append(s)\nprint('ready',flush=True)\ntime.sleep(300)\n"
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
        dir.join(format!("{}-{}.{ext}", e.example, e.host)),
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
    let out = Pair::exec(ns, prog).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{prog}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("dump");
    std::fs::write(&dump, &out.stdout).unwrap();
    let spec = repo().join("examples").join(e.example).join("ports.toml");
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

/// From the client, whether each (source, destination, port) connects.
fn connects(pair: &Pair, jobs: &[(&str, &str, u16)]) -> Vec<bool> {
    const PROBE: &str = "import socket,json,sys,concurrent.futures as cf
jobs=json.loads(sys.argv[1])
def go(j):
    s=socket.socket(); s.settimeout(1.5)
    try:
        s.bind((j[0],0)); s.connect((j[1],j[2])); return True
    except OSError:
        return False
    finally:
        s.close()
with cf.ThreadPoolExecutor(256) as ex:
    print(json.dumps(list(ex.map(go,jobs))))
";
    let arg = serde_json::to_string(jobs).unwrap();
    let out = Pair::exec(&pair.client, "python3")
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
    let client: Vec<String> = SOURCES.iter().map(|(_, a)| format!("{a}/32")).collect();
    let client: Vec<&str> = client.iter().map(String::as_str).collect();
    let server = format!("{}/32", e.addr);
    let mut pair = Pair::new(&[&server], &client);
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
    let mut jobs = Vec::new();
    let mut want = Vec::new();
    for (label, src) in SOURCES {
        for (spec, who) in e.allow {
            for p in ports(spec) {
                jobs.push((*src, e.addr, p));
                want.push(who.contains(label));
            }
        }
        for p in e.undeclared {
            jobs.push((*src, e.addr, *p));
            want.push(false);
        }
    }
    // without a firewall, everything connects: the wiring works
    let before = connects(&pair, &jobs);
    let down: Vec<_> = jobs.iter().zip(&before).filter(|(_, ok)| !**ok).collect();
    assert!(down.is_empty(), "unreachable before any firewall: {down:?}");
    // load the generated ruleset
    let text = portolan_gen(e, target);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rules");
    std::fs::write(&file, &text).unwrap();
    let (prog, args): (&str, Vec<&str>) = match target {
        "nftables" => ("nft", vec!["-f"]),
        _ => ("iptables-restore", vec![]),
    };
    let out = Pair::exec(&pair.server, prog)
        .args(args)
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("{prog}: {e}; {INSTALL}"));
    assert!(
        out.status.success(),
        "{prog} rejected the ruleset ({INSTALL}): {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    if !e.published.is_empty() {
        docker_forward(&pair.server, target);
    }
    capture(&pair.server, e, target);
    assert_no_drift(&pair.server, e, target);
    let after = connects(&pair, &jobs);
    let label = |src: &str| SOURCES.iter().find(|(_, a)| *a == src).unwrap().0;
    let wrong: Vec<String> = jobs
        .iter()
        .zip(after.iter().zip(&want))
        .filter(|(_, (got, want))| got != want)
        .map(|((src, _, p), (got, _))| {
            format!(
                "port {p} from {} ({src}): {}",
                label(src),
                if *got {
                    "connects but is not declared"
                } else {
                    "declared but blocked"
                }
            )
        })
        .collect();
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
