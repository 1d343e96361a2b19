//! Lease durations (`90m`, `2h`, `1d12h`, `1w`). The clock they are measured against is
//! the caller's ([`portolan_model::clock::Clock`], read once at start).

use crate::error::AllocError;

/// Parses a duration: one or more `NUMBER UNIT` pairs, units `s`, `m`, `h`, `d`, `w`
/// (`90m`, `2h`, `1d12h`). Returns seconds; zero and overflow are rejected.
pub fn parse_duration(text: &str) -> Result<i64, AllocError> {
    let bad = || AllocError::BadDuration(text.to_string());
    let t = text.trim();
    if t.is_empty() {
        return Err(bad());
    }
    let mut total: i64 = 0;
    let mut digits = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: i64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(bad()),
        };
        let n: i64 = digits.parse().map_err(|_| bad())?;
        digits.clear();
        total = n
            .checked_mul(unit)
            .and_then(|x| total.checked_add(x))
            .ok_or_else(bad)?;
    }
    // a trailing number without a unit (`2`) is ambiguous
    if !digits.is_empty() || total <= 0 || total > 100 * 366 * 86_400 {
        return Err(bad());
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use portolan_model::spec::Timestamp;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s").ok(), Some(90));
        assert_eq!(parse_duration("2h").ok(), Some(7200));
        assert_eq!(parse_duration("1d12h").ok(), Some(129_600));
        assert_eq!(parse_duration("1w").ok(), Some(604_800));
        for bad in [
            "2x",
            "",
            "h",
            "2",
            "0h",
            "-1h",
            "1.5h",
            "99999999999999999999d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn timestamps_round_trip() {
        let t = Timestamp::parse("2026-11-27T10:00:00Z").expect("parses");
        assert_eq!(t.to_string(), "2026-11-27T10:00:00Z");
        let t2 = Timestamp::parse("2026-11-27T12:00:00+02:00").expect("parses");
        assert_eq!(t, t2);
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(Timestamp(951_782_400).to_string(), "2000-02-29T00:00:00Z");
        assert!(Timestamp::parse("2026-11-27").is_err());
        assert!(Timestamp::parse("2026-11-27T10:00:00").is_err());
    }
}
