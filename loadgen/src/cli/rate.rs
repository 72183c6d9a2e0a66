//! Order rates as people write them: `500k`, `1M`, `2.5M`, `250000`.
//!
//! A rate is a whole number of orders per second, kept as an integer so the
//! schedule (see `flow/schedule.rs`) can compute every intended send time exactly.
//! Parsing is exact too: `2.5M` is 2,500,000 by digit arithmetic, never by a
//! float that could come out as 2,499,999.

use std::fmt;

/// Orders per second. Always at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rate(u64);

/// The highest rate accepted: far above what one host can drive, low enough
/// that `index * 1e9` products in the schedule stay far from `u128` limits.
pub const MAX_RATE: u64 = 1_000_000_000;

/// The rate the documented targets are stated at, and loadgen's default.
pub const DEFAULT_RATE: Rate = Rate(1_000_000);

impl Rate {
    /// A rate of `per_sec` orders per second; `None` for 0 or above [`MAX_RATE`].
    pub fn new(per_sec: u64) -> Option<Rate> {
        (1..=MAX_RATE).contains(&per_sec).then_some(Rate(per_sec))
    }

    /// Orders per second.
    pub fn per_sec(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Rate {
    /// The short form (`1M`, `2.5M`, `500k`, `1234`) that parses back to the same rate.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&short_count(self.0))
    }
}

/// A count in the short form used for rates: `1M`, `2.5M`, `500k`, `1234`.
/// Exact: a suffix is used only when it loses no digits.
pub fn short_count(n: u64) -> String {
    for (div, suffix) in [(1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")] {
        if n >= div {
            let whole = n / div;
            let frac = n % div;
            if frac == 0 {
                return format!("{whole}{suffix}");
            }
            let width = div.ilog10() as usize;
            let digits = format!("{frac:0width$}");
            let digits = digits.trim_end_matches('0');
            // Only a short fraction of a small number reads better than
            // the plain number (2.5M, 1.234k, but 1234567 not 1234.567k).
            if digits.len() <= 3 && whole < 1000 {
                return format!("{whole}.{digits}{suffix}");
            }
        }
    }
    n.to_string()
}

/// Why a rate could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateError {
    #[error("empty rate; write it like 500k, 1M, 2.5M or 250000")]
    Empty,
    #[error("`{0}` is not a rate; write it like 500k, 1M, 2.5M or 250000 (orders per second)")]
    Syntax(String),
    #[error("`{0}` is not a whole number of orders per second")]
    Fractional(String),
    #[error("`{0}` is zero; the rate must be at least 1 order per second")]
    Zero(String),
    #[error("`{0}` is above the largest rate loadgen takes ({MAX_RATE} orders per second)")]
    TooHigh(String),
}

/// Parses `500k`, `1M`, `2.5M`, `1.25m`, `250000`, `250_000`, optionally
/// followed by `/s`. Suffixes: `k` (thousand), `M` or `m` (million), `G` or
/// `g` (billion); case does not matter for `k`.
pub fn parse_rate(text: &str) -> Result<Rate, RateError> {
    let original = text;
    let text = text.trim();
    let text = text.strip_suffix("/s").unwrap_or(text).trim_end();
    if text.is_empty() {
        return Err(RateError::Empty);
    }
    let syntax = || RateError::Syntax(original.to_string());
    let (number, scale): (&str, u32) = match text.as_bytes().last() {
        Some(b'k' | b'K') => (&text[..text.len() - 1], 3),
        Some(b'm' | b'M') => (&text[..text.len() - 1], 6),
        Some(b'g' | b'G') => (&text[..text.len() - 1], 9),
        _ => (text, 0),
    };
    let number = number.trim_end();
    let (whole, frac) = match number.split_once('.') {
        Some((w, f)) => (w, f),
        None => (number, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit() || b == b'_');
    if whole.is_empty() && frac.is_empty()
        || !digits(whole)
        || !digits(frac)
        || whole.starts_with('_')
        || number.contains("..")
    {
        return Err(syntax());
    }
    let whole: String = whole.chars().filter(|c| *c != '_').collect();
    let frac: String = frac.chars().filter(|c| *c != '_').collect();
    let frac = frac.trim_end_matches('0');
    if frac.len() > scale as usize {
        return Err(RateError::Fractional(original.to_string()));
    }
    let too_high = || RateError::TooHigh(original.to_string());
    // whole * 10^scale + frac * 10^(scale - frac digits), all checked.
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| too_high())?
    };
    let frac_value: u128 = if frac.is_empty() {
        0
    } else {
        frac.parse().map_err(|_| syntax())?
    };
    let value = whole
        .checked_mul(10u128.pow(scale))
        .and_then(|v| v.checked_add(frac_value * 10u128.pow(scale - frac.len() as u32)))
        .ok_or_else(too_high)?;
    if value == 0 {
        return Err(RateError::Zero(original.to_string()));
    }
    let value = u64::try_from(value).map_err(|_| too_high())?;
    Rate::new(value).ok_or_else(too_high)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_the_usual_forms_exactly() {
        let cases = [
            ("500k", 500_000),
            ("500K", 500_000),
            ("1M", 1_000_000),
            ("1m", 1_000_000),
            ("2.5M", 2_500_000),
            ("1.25M", 1_250_000),
            ("0.5M", 500_000),
            (".5M", 500_000),
            ("2.000M", 2_000_000),
            ("250000", 250_000),
            ("250_000", 250_000),
            ("1", 1),
            ("1M/s", 1_000_000),
            (" 3k ", 3_000),
            ("1G", 1_000_000_000),
            ("1.5k", 1_500),
        ];
        for (text, want) in cases {
            assert_eq!(parse_rate(text).map(Rate::per_sec), Ok(want), "{text}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_rate_with_a_reason() {
        assert_eq!(parse_rate(""), Err(RateError::Empty));
        for bad in ["abc", "1x", "M", "1.2.3M", "-5", "1e6", "k", "_1", "1 000"] {
            assert!(
                matches!(parse_rate(bad), Err(RateError::Syntax(_))),
                "{bad}: {:?}",
                parse_rate(bad)
            );
        }
        assert!(matches!(parse_rate("1.5"), Err(RateError::Fractional(_))));
        assert!(matches!(
            parse_rate("1.0005k"),
            Err(RateError::Fractional(_))
        ));
        assert!(matches!(parse_rate("0"), Err(RateError::Zero(_))));
        assert!(matches!(parse_rate("0k"), Err(RateError::Zero(_))));
        assert!(matches!(parse_rate("2G"), Err(RateError::TooHigh(_))));
        assert!(matches!(
            parse_rate("99999999999999999999999999999999999999999M"),
            Err(RateError::TooHigh(_))
        ));
        let message = parse_rate("fast").unwrap_err().to_string();
        assert!(message.contains("500k, 1M, 2.5M"), "{message}");
    }

    #[test]
    fn displays_in_the_short_form_that_parses_back() {
        for (n, text) in [
            (1_000_000, "1M"),
            (2_500_000, "2.5M"),
            (500_000, "500k"),
            (1_234, "1.234k"),
            (1_234_567, "1234567"),
            (999, "999"),
            (100_000, "100k"),
        ] {
            let rate = Rate::new(n).unwrap();
            assert_eq!(rate.to_string(), text);
            assert_eq!(parse_rate(text).unwrap(), rate);
        }
    }
}
