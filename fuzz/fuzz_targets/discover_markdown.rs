//! Fuzz target: the Markdown import of portolan-discover on any bytes (any encoding, junk
//! lines, truncated fences and tables). Nothing may panic, every output format must render,
//! and the spec it writes must load.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(imp) = portolan_discover::markdown::import_bytes("fuzz.md", data) {
        let _ = imp.to_json();
        let _ = imp.explain_text();
        let _ = imp.warnings();
        let _ = imp.summary();
        if let Err(e) = portolan_model::load_str("ports.toml", &imp.spec) {
            panic!("the imported spec does not load: {e}\n{}", imp.spec);
        }
    }
});
