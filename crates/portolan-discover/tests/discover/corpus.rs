//! Replays every saved fuzz input (`fuzz/corpus/discover_*`) through its parser, so the
//! normal suite re-checks what the fuzzer found: no input panics.

use std::path::Path;

use portolan_discover::Context;

#[test]
fn fuzz_corpora_replay_without_panics() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    let mut replayed = 0usize;
    for target in [
        "discover_compose",
        "discover_env",
        "discover_kubernetes",
        "discover_nginx",
        "discover_dockerfile",
        "discover_systemd",
        "discover_procfile",
        "discover_code",
        "discover_markdown",
    ] {
        let Ok(dir) = std::fs::read_dir(root.join(target)) else {
            continue;
        };
        for entry in dir.flatten() {
            let bytes = std::fs::read(entry.path()).expect("corpus file");
            let text = String::from_utf8_lossy(&bytes);
            let ctx = Context::default();
            match target {
                "discover_compose" => {
                    let _ = portolan_discover::compose::parse("corpus", &text, &ctx);
                }
                "discover_env" => {
                    let _ = portolan_discover::env::parse("corpus", &text, &ctx);
                    // as the fuzz target does: also as a compose file's `.env`
                    let _ = portolan_discover::env::variables(&text);
                    let vars = portolan_discover::env::raw_variables(&text);
                    let refs: Vec<String> = vars
                        .keys()
                        .take(8)
                        .map(|k| format!("      - \"${{{k}}}:80\"\n"))
                        .collect();
                    let compose = format!("services:\n  s:\n    ports:\n{}", refs.concat());
                    let _ =
                        portolan_discover::compose::parse("corpus", &compose, &Context { vars });
                }
                "discover_kubernetes" => {
                    let _ = portolan_discover::kubernetes::parse("corpus", &text, &ctx);
                }
                "discover_nginx" => {
                    let _ = portolan_discover::nginx::parse("corpus", &text, &ctx);
                }
                "discover_dockerfile" => {
                    let _ = portolan_discover::dockerfile::parse("corpus", &text, &ctx);
                }
                "discover_systemd" => {
                    let _ = portolan_discover::systemd::parse("corpus", &text, &ctx);
                }
                "discover_procfile" => {
                    let _ = portolan_discover::procfile::parse("corpus", &text, &ctx);
                }
                "discover_code" => {
                    // as the fuzz target does: under every name that picks a language
                    for path in [
                        "corpus",
                        "package.json",
                        "application.yml",
                        "vite.config.ts",
                        "run.sh",
                    ] {
                        let _ = portolan_discover::code::parse(path, &text, &ctx);
                    }
                }
                "discover_markdown" => {
                    let _ = portolan_discover::markdown::import("corpus.md", &text);
                }
                _ => unreachable!(),
            }
            replayed += 1;
        }
    }
    // The corpora are seeded by hand and grown by `cargo fuzz`; an empty set means the
    // replay is not checking anything.
    assert!(
        replayed > 0,
        "no fuzz inputs found under {}",
        root.display()
    );
}
