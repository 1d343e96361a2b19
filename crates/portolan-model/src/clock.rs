//! The one clock: the system clock, or one instant pinned by `PORTOLAN_NOW`
//! (`2026-11-27T10:00:00Z`) for tests and reproductions. Programs read it from the
//! environment once, at start — a malformed value is an error rather than some default
//! (token expiry, leases and logs depend on it) — and hand it down: the CLI in its
//! settings, the server in its state.

use crate::spec::Timestamp;

/// The environment variable that pins the clock.
pub const PORTOLAN_NOW: &str = "PORTOLAN_NOW";

/// Where "now" comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Clock {
    /// The system clock.
    #[default]
    System,
    /// Always this instant (seconds since the Unix epoch).
    Fixed(i64),
}

/// `PORTOLAN_NOW` is set but is not an instant.
#[derive(Debug, thiserror::Error)]
#[error("{PORTOLAN_NOW}: {message}")]
pub struct ClockError {
    /// What is wrong with the value.
    pub message: String,
}

impl Clock {
    /// `PORTOLAN_NOW` when set and not empty, else the system clock.
    pub fn from_env() -> Result<Clock, ClockError> {
        match std::env::var(PORTOLAN_NOW) {
            Ok(v) if !v.is_empty() => Self::parse(&v),
            Ok(_) | Err(std::env::VarError::NotPresent) => Ok(Clock::System),
            Err(std::env::VarError::NotUnicode(_)) => Err(ClockError {
                message: "not valid UTF-8".into(),
            }),
        }
    }

    /// A clock pinned to `text` (RFC 3339 with an offset: `2026-11-27T10:00:00Z`).
    pub fn parse(text: &str) -> Result<Clock, ClockError> {
        Timestamp::parse(text)
            .map(|t| Clock::Fixed(t.0))
            .map_err(|message| ClockError { message })
    }

    /// Seconds since the Unix epoch (negative before it: a clock set before 1970 still
    /// gives the true instant, never a default).
    pub fn now(self) -> i64 {
        match self {
            Clock::Fixed(t) => t,
            Clock::System => {
                match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
                    Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                    Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pinned_clock_is_parsed_once_and_malformed_values_are_errors() {
        assert_eq!(
            Clock::parse("2026-11-27T10:00:00Z").ok(),
            Some(Clock::Fixed(1_795_773_600))
        );
        assert_eq!(Clock::Fixed(5).now(), 5);
        // the bug this pins: a malformed PORTOLAN_NOW used to become 0, so no token ever
        // expired (fail open)
        for bad in ["yesterday", "2026-11-27", "2026-11-27T10:00:00", "0", " "] {
            let e = Clock::parse(bad).expect_err(bad);
            assert!(e.to_string().starts_with("PORTOLAN_NOW: "), "{e}");
        }
        assert!(Clock::System.now() > 1_700_000_000);
    }
}
