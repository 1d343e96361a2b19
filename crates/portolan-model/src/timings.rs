//! `PORTOLAN_TIMINGS=1`: print each phase's wall time and the resident set size to stderr,
//! for profiling large specs without a profiler.

use std::io::Write as _;
use std::sync::OnceLock;
use std::time::Instant;

fn start() -> Option<&'static Instant> {
    static START: OnceLock<Option<Instant>> = OnceLock::new();
    START
        .get_or_init(|| std::env::var_os("PORTOLAN_TIMINGS").map(|_| Instant::now()))
        .as_ref()
}

fn rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096 / (1024 * 1024))
}

/// Reports that `phase` just ended (no-op unless `PORTOLAN_TIMINGS` is set).
pub fn phase(phase: &str) {
    if let Some(t) = start() {
        // not eprintln!: a closed stderr must not panic
        let _ = writeln!(
            std::io::stderr().lock(),
            "[timings] {:>8.1} ms  rss {:>5} MB  {phase}",
            t.elapsed().as_secs_f64() * 1000.0,
            rss_mb()
        );
    }
}
