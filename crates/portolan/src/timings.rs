//! `PORTOLAN_TIMINGS=1`: prints each phase the libraries mark
//! ([`portolan_model::timings::phase`], a `tracing` event) as a line on stderr —
//! `[timings]   12.3 ms  rss    45 MB  parse`: the wall time since start, the resident set
//! size, the phase. Only this binary reads the variable; it installs the subscriber below,
//! which listens to the timings target and nothing else.

use std::io::Write as _;
use std::time::Instant;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// The variable that turns the lines on (any value).
pub const ENV: &str = "PORTOLAN_TIMINGS";

/// Installs the printing subscriber when [`ENV`] is set; the clock starts now. Whether it
/// was installed (another global subscriber may have been first).
pub fn install_from_env() -> bool {
    std::env::var_os(ENV).is_some()
        && tracing::subscriber::set_global_default(Timings {
            start: Instant::now(),
        })
        .is_ok()
}

/// Prints phase events on stderr.
struct Timings {
    start: Instant,
}

/// The `phase` field of an event.
#[derive(Default)]
struct PhaseName(String);

impl Visit for PhaseName {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "phase" {
            value.clone_into(&mut self.0);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "phase" {
            self.0 = format!("{value:?}");
        }
    }
}

/// The resident set size in MB (0 when `/proc` does not say).
fn rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096 / (1024 * 1024))
}

/// One line of output.
fn line(elapsed_ms: f64, rss_mb: u64, phase: &str) -> String {
    format!("[timings] {elapsed_ms:>8.1} ms  rss {rss_mb:>5} MB  {phase}")
}

impl Subscriber for Timings {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target() == portolan_model::timings::TARGET
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::TRACE)
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        // phases are events; no span is ever enabled (see `enabled`)
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut phase = PhaseName::default();
        event.record(&mut phase);
        // not eprintln!: a closed stderr must not panic
        let _ = writeln!(
            std::io::stderr().lock(),
            "{}",
            line(
                self.start.elapsed().as_secs_f64() * 1000.0,
                rss_mb(),
                &phase.0
            )
        );
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_keep_the_shape_bench_notes_quote() {
        assert_eq!(
            line(12.34, 45, "parse"),
            "[timings]     12.3 ms  rss    45 MB  parse"
        );
    }

    #[test]
    fn only_the_timings_target_is_listened_to() {
        let t = Timings {
            start: Instant::now(),
        };
        let dispatch = tracing::Dispatch::new(t);
        tracing::dispatcher::with_default(&dispatch, || {
            assert!(tracing::enabled!(target: "portolan::timings", tracing::Level::TRACE));
            assert!(!tracing::enabled!(target: "portolan_server", tracing::Level::INFO));
        });
    }
}
