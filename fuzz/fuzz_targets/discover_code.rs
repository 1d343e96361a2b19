//! Fuzz target: the code parser of portolan-discover never panics on any UTF-8 text, whatever
//! the file name says it is (an unknown name runs every language).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        for path in ["fuzz", "package.json", "application.yml", "vite.config.ts", "run.sh"] {
            let _ = portolan_discover::code::parse(path, text, &portolan_discover::Context::default());
        }
    }
});
