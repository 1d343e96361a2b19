//! Fuzz target: the compose parser of portolan-discover never panics on any UTF-8 text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = portolan_discover::compose::parse("fuzz", text, &portolan_discover::Context::default());
    }
});
