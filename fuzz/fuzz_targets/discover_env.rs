//! Fuzz target: the env parser of portolan-discover never panics on any UTF-8 text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = portolan_discover::env::parse("fuzz", text, &portolan_discover::Context::default());
        // as a compose file's `.env`: expanded only when referenced, within the caps
        let _ = portolan_discover::env::variables(text);
        let vars = portolan_discover::env::raw_variables(text);
        let refs: Vec<String> = vars
            .keys()
            .take(8)
            .map(|k| format!("      - \"${{{k}}}:80\"\n"))
            .collect();
        let compose = format!("services:\n  s:\n    ports:\n{}", refs.concat());
        let _ = portolan_discover::compose::parse(
            "fuzz",
            &compose,
            &portolan_discover::Context { vars },
        );
    }
});
