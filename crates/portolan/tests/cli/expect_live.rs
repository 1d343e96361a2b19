//! Live agreement of `[[expect]]`: the static verdicts of `portolan lint` equal what real
//! packets do, for IPv4 and IPv6.
//!
//! The fixture (`tests/fixtures/netns/expect.toml`) describes a dual-stack host `srv` with a
//! spec-managed nftables firewall and bindings on `::`, `0.0.0.0` and loopback, plus nine
//! expectations — some hold, some fail in one family only. A server namespace takes the
//! host's addresses, loads `portolan gen nftables --host srv`, and listens exactly where the
//! spec says (bind address and port; plus an undeclared port 22). A client namespace holds
//! one address per source class and family (the Internet, the office network, the lab). From
//! each address, `portolan check --probe --source ADDR` (run inside the client namespace)
//! probes every expectation it can test; for each one it reports as held or failed, the
//! static verdict of that expectation *in that address family* (computed by
//! `portolan_lint::expect`) must be the same. Every expectation must be tested in every
//! family it is about and a source exists for.
//!
//! Needs root, iproute2, nftables and python3 (CI installs them); fails, never skips.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::process::Command;

use portolan_lint::trace::AddrFamily;

use crate::harness::repo;
use crate::netns::{Pair, sh};

/// Client addresses: (class label, address).
const SOURCES: &[(&str, &str)] = &[
    ("internet", "198.51.100.7"),
    ("internet", "2001:db8:77::7"),
    ("office", "192.168.50.7"),
    ("office", "fd00:50::7"),
    ("lab", "10.1.0.7"),
];

/// Where the server listens: (address, port) — the spec's bind addresses, and port 22
/// (declared by nobody) on every address.
const LISTEN: &[(&str, u16)] = &[
    ("::", 443),
    ("::", 8443),
    ("127.0.0.1", 5432),
    ("0.0.0.0", 8080),
    ("0.0.0.0", 9100),
    ("::", 22),
];

struct Listener(std::process::Child);

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn listen(ns: &str) -> Listener {
    let specs: Vec<String> = LISTEN.iter().map(|(a, p)| format!("('{a}',{p})")).collect();
    let code = format!(
        "import socket,time\nls=[]\nfor a,p in [{}]:\n    f=socket.AF_INET6 if ':' in a else socket.AF_INET\n    s=socket.socket(f); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n    if f==socket.AF_INET6: s.setsockopt(socket.IPPROTO_IPV6,socket.IPV6_V6ONLY,0)\n    s.bind((a,p)); s.listen(64); ls.append(s)\nprint('ready',flush=True)\ntime.sleep(300)\n",
        specs.join(",")
    );
    let mut child = Listener(Pair::spawn(ns, &["python3", "-c", &code]));
    let mut line = String::new();
    std::io::BufReader::new(child.0.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read");
    assert_eq!(
        line.trim(),
        "ready",
        "listeners in namespace {ns} (python3 needed)"
    );
    child
}

fn portolan(ns: Option<&str>, args: &[&str]) -> std::process::Output {
    let bin = assert_cmd::cargo::cargo_bin("portolan");
    let spec = repo().join("tests/fixtures/netns/expect.toml");
    let mut c = match ns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns]).arg(&bin);
            c
        }
        None => Command::new(&bin),
    };
    c.arg("--spec").arg(&spec).args(args);
    c.output().expect("portolan runs")
}

/// (expectation number, family) → whether the static model says it holds there.
fn static_verdicts() -> BTreeMap<(usize, AddrFamily), bool> {
    let model = portolan_model::load(&repo().join("tests/fixtures/netns/expect.toml"))
        .expect("fixture loads");
    let analysis = portolan_lint::Analysis::compute(&model);
    let mut out = BTreeMap::new();
    for o in portolan_lint::expect::evaluate(&model, &analysis) {
        let e = &model.expectations[o.expectation];
        for fam in AddrFamily::of(e.family) {
            let fails = o
                .failures
                .iter()
                .any(|f| f.family.is_none_or(|x| x == *fam));
            out.insert((e.index, *fam), !fails);
        }
    }
    out
}

#[test]
fn live_expectations_agree_with_the_static_model_in_both_families() {
    let verdicts = static_verdicts();
    // the fixture has failures in one family only, so agreement per family means something
    assert!(verdicts.values().any(|h| !h) && verdicts.values().any(|h| *h));
    assert_eq!(verdicts.get(&(5, AddrFamily::V4)), Some(&true));
    assert_eq!(verdicts.get(&(5, AddrFamily::V6)), Some(&false));
    let prefix = |a: &str| format!("{a}/{}", if a.contains(':') { 128 } else { 32 });
    let client: Vec<String> = SOURCES.iter().map(|(_, a)| prefix(a)).collect();
    let client: Vec<&str> = client.iter().map(String::as_str).collect();
    let pair = Pair::new(&["10.99.0.1/32", "fd00:99::1/128"], &client);
    let _listeners = listen(&pair.server);
    let rules = portolan(None, &["gen", "nftables", "--host", "srv"]);
    assert!(
        rules.status.success(),
        "{}",
        String::from_utf8_lossy(&rules.stderr)
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("srv.nft");
    std::fs::write(&file, &rules.stdout).expect("write");
    sh(&format!(
        "ip netns exec {} nft -f {}",
        pair.server,
        file.display()
    ));
    let mut tested: BTreeSet<(usize, AddrFamily)> = BTreeSet::new();
    let mut wrong = Vec::new();
    for (label, addr) in SOURCES {
        let fam = if addr.contains(':') {
            AddrFamily::V6
        } else {
            AddrFamily::V4
        };
        let out = portolan(
            Some(&pair.client),
            &[
                "check",
                "--probe",
                "--source",
                addr,
                "--format",
                "json",
                "--fail-on",
                "never",
            ],
        );
        assert!(
            out.status.success(),
            "check --probe from {addr}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        let lives = json["expectations"].as_array().expect("expectations");
        assert_eq!(lives.len(), 9, "{json:#}");
        for l in lives {
            let n = usize::try_from(l["expect"].as_u64().expect("number")).expect("small");
            let status = l["status"].as_str().expect("status");
            if status == "not-testable" {
                continue;
            }
            let live_held = status == "held";
            let Some(&static_held) = verdicts.get(&(n, fam)) else {
                wrong.push(format!(
                    "expect #{n} was probed from {addr} ({label}), over a family it is not about"
                ));
                continue;
            };
            tested.insert((n, fam));
            if live_held != static_held {
                wrong.push(format!(
                    "expect #{n} from {addr} ({label}, {}): live {status}, static {}; probes: {}",
                    fam.as_str(),
                    if static_held { "held" } else { "failed" },
                    l["probes"]
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "live and static disagree:\n  {}",
        wrong.join("\n  ")
    );
    // every expectation, in every family it is about that a source address exists for
    let lab_v6 = (7, AddrFamily::V6); // the lab network has no IPv6 address
    let untested: Vec<_> = verdicts
        .keys()
        .filter(|k| !tested.contains(k) && **k != lab_v6)
        .collect();
    assert!(untested.is_empty(), "never tested live: {untested:?}");
}
