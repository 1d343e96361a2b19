//! Replays the saved cargo-fuzz corpus (`fuzz/corpus/spec_loader/`) through the loader and
//! the linter, so every input the fuzzer ever kept stays panic-free in the normal suite.

use std::path::Path;

#[test]
fn fuzz_corpus_replays_without_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/spec_loader");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("fuzz corpus directory") {
        let bytes = std::fs::read(entry.expect("entry").path()).expect("read");
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let _ = portolan_model::load_str("fuzz.toml", text);
        }
        n += 1;
    }
    assert!(n >= 20, "the corpus has only {n} inputs");
}
