//! Integration tests of portolan-lint (one test binary): property tests of the overlap and
//! reach logic against brute force, and replay of the fuzz corpus through the linter.

use std::fmt::Write as _;
use std::path::Path;

use portolan_lint::{Analysis, Rule, lint};
use portolan_model::load_str;
use proptest::prelude::*;

const BINDS: [&str; 5] = ["0.0.0.0", "127.0.0.1", "192.168.1.10", "::", "::1"];

#[derive(Debug, Clone)]
struct B {
    host: u8,
    lo: u16,
    len: u16,
    udp: bool,
    bind: usize,
}

fn binding() -> impl Strategy<Value = B> {
    (
        0u8..2,
        1000u16..1030,
        0u16..4,
        any::<bool>(),
        0usize..BINDS.len(),
    )
        .prop_map(|(host, lo, len, udp, bind)| B {
            host,
            lo,
            len,
            udp,
            bind,
        })
}

fn spec(bs: &[B], dual: bool) -> String {
    let mut s = String::from("[networks]\nlan = \"192.168.1.0/24\"\n");
    for h in 0..2 {
        let _ = writeln!(s, "[hosts.h{h}]\nnetworks = [\"lan\"]\ndual-stack = {dual}");
    }
    for (i, b) in bs.iter().enumerate() {
        let _ = writeln!(
            s,
            "[services.s{i}]\nhosts = [\"h{}\"]\nbindings.b = {{ port = \"{}-{}\", transport = \"{}\", bind = \"{}\", exposure = \"lan\" }}",
            b.host,
            b.lo,
            b.lo + b.len,
            if b.udp { "udp" } else { "tcp" },
            BINDS[b.bind]
        );
    }
    s
}

fn overlap_brute(a: &B, b: &B, dual: bool) -> bool {
    if a.host != b.host || a.udp != b.udp || a.lo + a.len < b.lo || b.lo + b.len < a.lo {
        return false;
    }
    let (x, y) = (BINDS[a.bind], BINDS[b.bind]);
    let v6 = |s: &str| s.contains(':');
    x == y
        || (v6(x) == v6(y) && (x == "0.0.0.0" || y == "0.0.0.0" || x == "::" || y == "::"))
        || (dual && ((x == "::" && !v6(y)) || (y == "::" && !v6(x))))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn duplicate_binding_finds_exactly_the_overlapping_pairs(bs in proptest::collection::vec(binding(), 0..10), dual in any::<bool>()) {
        let model = load_str("p.toml", &spec(&bs, dual)).expect("valid spec");
        let report = lint(&model).expect("lint");
        let mut found: Vec<(String, String)> = report.findings.iter().filter(|f| f.rule == Rule::DuplicateBinding).map(|f| {
            let mut v = [f.subjects[0].clone(), f.subjects[1].clone()];
            v.sort();
            (v[0].clone(), v[1].clone())
        }).collect();
        found.sort();
        let mut want = Vec::new();
        for i in 0..bs.len() {
            for j in i + 1..bs.len() {
                if overlap_brute(&bs[i], &bs[j], dual) {
                    let mut v = [format!("s{i}.b"), format!("s{j}.b")];
                    v.sort();
                    want.push((v[0].clone(), v[1].clone()));
                }
            }
        }
        want.sort();
        prop_assert_eq!(found, want);
    }

    #[test]
    fn reach_follows_bind_and_firewall(bind in 0usize..BINDS.len(), firewall in 0usize..3, docker in any::<bool>(), exposure in 0usize..3) {
        let fw = ["\"none\"", "\"ufw\"", "{ kind = \"ufw\", rules = [{ action = \"allow\", port = 8000, from = \"lan\" }] }"][firewall];
        let exp = ["localhost", "lan", "public"][exposure];
        let text = format!(
            "[networks]\nlan = \"192.168.1.0/24\"\n[hosts.h]\nnetworks = [\"lan\", \"public\"]\nfirewall = {fw}\n[services.s]\nhosts = [\"h\"]\nbindings.b = {{ port = 8000, bind = \"{}\", publisher = \"{}\", exposure = \"{exp}\", auth = true }}\n",
            BINDS[bind], if docker { "docker" } else { "host" });
        let model = load_str("p.toml", &text).expect("valid");
        let a = Analysis::compute(&model);
        let r = &a.reach[0];
        // loopback binds never reach beyond the host
        if BINDS[bind].ends_with("127.0.0.1") || BINDS[bind] == "::1" {
            prop_assert!(!r.total.is_remote());
        }
        // a firewall never widens reach
        prop_assert!(r.direct.is_subset(&r.bound));
        // without Docker, a spec-managed firewall keeps reach within the declared exposure
        if firewall == 1 && !docker {
            prop_assert!(r.direct.is_subset(&r.allowed));
        }
        // Docker ignores INPUT rules entirely
        if docker {
            prop_assert_eq!(&r.direct, &r.bound);
        }
        // internal-exposed fires exactly when reach exceeds the declaration
        let report = lint(&model).expect("lint");
        let fired = report.findings.iter().any(|f| f.rule == Rule::InternalExposed);
        prop_assert_eq!(fired, !r.total.is_subset(&r.allowed));
        // and docker-bypasses-firewall only for published ports behind a filtering firewall
        let bypass = report.findings.iter().any(|f| f.rule == Rule::DockerBypassesFirewall);
        prop_assert!(!bypass || (docker && firewall > 0));
    }
}

#[test]
fn fuzz_corpus_replays_through_the_linter() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/spec_loader");
    let mut linted = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus") {
        let bytes = std::fs::read(entry.expect("entry").path()).expect("read");
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue;
        };
        if let Ok(model) = load_str("fuzz.toml", text)
            && let Ok(report) = lint(&model)
        {
            let _ = portolan_lint::report::human::report(
                &model.sources,
                &report,
                portolan_lint::report::human::Style::default(),
            );
            let _ = portolan_lint::report::sarif::report(&model.sources, &report, "test");
            linted += 1;
        }
    }
    assert!(linted >= 10, "only {linted} corpus inputs linted");
}
