//! Phase timings for profiling large specs without a profiler: a library marks the end of
//! each phase of its work with [`phase`], a `tracing` event (target [`TARGET`], level
//! `TRACE`, field `phase`). Libraries only emit; they read no environment. The `portolan`
//! binary installs a subscriber printing each event as a line on stderr when
//! `PORTOLAN_TIMINGS` is set (its wall time since start and resident set size); without a
//! subscriber an event costs one relaxed atomic load.

/// The `tracing` target of phase events.
pub const TARGET: &str = "portolan::timings";

/// Marks the end of `phase` (`read`, `parse`, a lint rule's id…).
pub fn phase(phase: &str) {
    tracing::trace!(target: TARGET, phase);
}
