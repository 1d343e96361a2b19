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
//! Needs root, iproute2, nftables, iptables and python3 (CI installs them); fails, never
//! skips, without them. Touches only the namespaces it creates (deleted on drop).

use std::collections::BTreeSet;
use std::io::BufRead;
use std::process::Command;

use crate::harness::repo;
use crate::netns::Pair;

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
    let pair = Pair::new(&[&server], &client);
    // listeners on every declared and undeclared port, on every address
    let mut all_ports: Vec<u16> = e.allow.iter().flat_map(|(p, _)| ports(p)).collect();
    all_ports.extend(e.undeclared);
    let code = format!(
        "import socket,time\nls=[]\nfor p in {all_ports:?}:\n    s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1); s.bind(('0.0.0.0',p)); s.listen(64); ls.append(s)\nprint('ready',flush=True)\ntime.sleep(300)\n"
    );
    let mut child = Listener(Pair::spawn(&pair.server, &["python3", "-c", &code]));
    let mut line = String::new();
    std::io::BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(
        line.trim(),
        "ready",
        "listeners in the server namespace; {INSTALL}"
    );
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
    drop(child);
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
