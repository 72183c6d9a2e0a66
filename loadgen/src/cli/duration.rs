//! Durations as people write them: `30s`, `500ms`, `2m`, `1.5s`, `250us`.
//!
//! Kept as whole nanoseconds (the schedule's unit), parsed by digit
//! arithmetic so `0.1s` is exactly 100,000,000 ns.

use std::time::Duration;

/// Why a duration could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("`{0}` is not a duration; write it like 30s, 500ms, 2m, 1.5s or 250us")]
    Syntax(String),
    #[error("`{0}` has no unit; write 30s, 500ms, 2m (units: ns, us, ms, s, m, h)")]
    NoUnit(String),
    #[error("`{0}` is finer than a nanosecond")]
    Fractional(String),
    #[error("`{0}` is too long (at most 24h)")]
    TooLong(String),
}

/// The longest duration accepted: a day. Longer runs are not what this tool is for,
/// and the bound keeps every product in the schedule small.
pub const MAX_NS: u64 = 24 * 3600 * 1_000_000_000;

/// Parses a duration with a unit: `ns`, `us` (or `µs`), `ms`, `s`, `m`, `h`.
/// A fraction is allowed (`1.5s`) if it is a whole number of nanoseconds.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let original = text;
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let unit = unit.trim();
    let syntax = || DurationError::Syntax(original.to_string());
    let unit_ns: u128 = match unit {
        "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" | "sec" => 1_000_000_000,
        "m" | "min" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        "" if !number.is_empty() => return Err(DurationError::NoUnit(original.to_string())),
        _ => return Err(syntax()),
    };
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    let clean = |s: &str| -> Option<String> {
        s.bytes()
            .all(|b| b.is_ascii_digit() || b == b'_')
            .then(|| s.chars().filter(|c| *c != '_').collect())
    };
    let (Some(whole), Some(frac)) = (clean(whole), clean(frac)) else {
        return Err(syntax());
    };
    if whole.is_empty() && frac.is_empty() {
        return Err(syntax());
    }
    let too_long = || DurationError::TooLong(original.to_string());
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| too_long())?
    };
    let frac = frac.trim_end_matches('0');
    let mut ns = whole.checked_mul(unit_ns).ok_or_else(too_long)?;
    if !frac.is_empty() {
        let places = u32::try_from(frac.len()).map_err(|_| syntax())?;
        let denom = 10u128.checked_pow(places).ok_or_else(syntax)?;
        let value: u128 = frac.parse().map_err(|_| syntax())?;
        let scaled = value.checked_mul(unit_ns).ok_or_else(syntax)?;
        if scaled % denom != 0 {
            return Err(DurationError::Fractional(original.to_string()));
        }
        ns = ns.checked_add(scaled / denom).ok_or_else(too_long)?;
    }
    if ns > u128::from(MAX_NS) {
        return Err(too_long());
    }
    let ns = u64::try_from(ns).map_err(|_| too_long())?;
    Ok(Duration::from_nanos(ns))
}

/// A duration in the form `parse_duration` reads, as short as is exact.
pub fn format_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    for (unit_ns, unit) in [
        (3_600_000_000_000u128, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
        (1_000_000, "ms"),
        (1_000, "us"),
    ] {
        if ns >= unit_ns && ns.is_multiple_of(unit_ns) {
            return format!("{}{unit}", ns / unit_ns);
        }
    }
    format!("{ns}ns")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_units_and_fractions_exactly() {
        let cases = [
            ("30s", 30_000_000_000),
            ("500ms", 500_000_000),
            ("2m", 120_000_000_000),
            ("1.5s", 1_500_000_000),
            ("0.1s", 100_000_000),
            ("250us", 250_000),
            ("250µs", 250_000),
            ("7ns", 7),
            ("1h", 3_600_000_000_000),
            ("0s", 0),
            (" 10s ", 10_000_000_000),
            ("1_000ms", 1_000_000_000),
        ];
        for (text, ns) in cases {
            assert_eq!(parse_duration(text), Ok(Duration::from_nanos(ns)), "{text}");
        }
    }

    #[test]
    fn refuses_bad_durations_with_a_reason() {
        assert!(matches!(
            parse_duration("30"),
            Err(DurationError::NoUnit(_))
        ));
        for bad in ["", "s", "abc", "1.2.3s", "-1s", "5 parsecs", "1e3s", "10d"] {
            assert!(
                matches!(parse_duration(bad), Err(DurationError::Syntax(_))),
                "{bad}: {:?}",
                parse_duration(bad)
            );
        }
        assert!(matches!(
            parse_duration("1.5ns"),
            Err(DurationError::Fractional(_))
        ));
        assert!(matches!(
            parse_duration("25h"),
            Err(DurationError::TooLong(_))
        ));
        assert!(matches!(
            parse_duration("999999999999999999999999999999h"),
            Err(DurationError::TooLong(_))
        ));
    }

    #[test]
    fn formats_back_to_what_parses() {
        for text in ["30s", "500ms", "2m", "250us", "7ns", "1500ms", "1h"] {
            let d = parse_duration(text).unwrap();
            assert_eq!(format_duration(d), text);
        }
    }
}
