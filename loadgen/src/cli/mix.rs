//! The order mix: how often each kind of message is sent.
//!
//! `--mix passive=50,cancel=30,replace=10,aggressive=10` gives relative
//! weights (they need not add up to 100). The default is close to what a
//! lit venue sees from market makers: most messages add or pull resting
//! liquidity, a minority takes it.

use std::fmt;

/// Relative weights of the four kinds of message the workload sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mix {
    /// New GTC limit orders placed near the mid, on the passive side.
    pub passive: u32,
    /// Cancels of the session's own live resting orders.
    pub cancel: u32,
    /// Replaces (new price and quantity) of the session's own live resting orders.
    pub replace: u32,
    /// IOC orders priced through the mid, meant to trade.
    pub aggressive: u32,
}

impl Default for Mix {
    fn default() -> Self {
        Mix {
            passive: 50,
            cancel: 30,
            replace: 10,
            aggressive: 10,
        }
    }
}

impl Mix {
    /// The sum of the weights (never 0 for a parsed mix).
    pub fn total(&self) -> u32 {
        self.passive + self.cancel + self.replace + self.aggressive
    }
}

impl fmt::Display for Mix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "passive={},cancel={},replace={},aggressive={}",
            self.passive, self.cancel, self.replace, self.aggressive
        )
    }
}

/// Why a mix could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MixError {
    #[error(
        "`{0}` is not a mix entry; write KIND=WEIGHT, e.g. passive=50,cancel=30,replace=10,aggressive=10"
    )]
    Syntax(String),
    #[error("unknown kind `{0}` in the mix; the kinds are passive, cancel, replace, aggressive")]
    UnknownKind(String),
    #[error("`{0}` is given twice in the mix")]
    Repeated(String),
    #[error("weight `{0}` is not a whole number from 0 to 1000000")]
    BadWeight(String),
    #[error("the mix has no weight above 0; nothing would be sent")]
    AllZero,
    #[error("the mix has cancels or replaces but no passive orders for them to act on")]
    NothingToCancel,
}

/// Parses `passive=50,cancel=30,replace=10,aggressive=10`. Kinds left out
/// weigh 0; at least one weight must be above 0.
pub fn parse_mix(text: &str) -> Result<Mix, MixError> {
    let mut mix = Mix {
        passive: 0,
        cancel: 0,
        replace: 0,
        aggressive: 0,
    };
    let mut seen = [false; 4];
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (kind, weight) = entry
            .split_once('=')
            .ok_or_else(|| MixError::Syntax(entry.to_string()))?;
        let kind = kind.trim();
        let weight = weight.trim();
        let (slot, index) = match kind {
            "passive" => (&mut mix.passive, 0),
            "cancel" => (&mut mix.cancel, 1),
            "replace" => (&mut mix.replace, 2),
            "aggressive" => (&mut mix.aggressive, 3),
            _ => return Err(MixError::UnknownKind(kind.to_string())),
        };
        if seen[index] {
            return Err(MixError::Repeated(kind.to_string()));
        }
        seen[index] = true;
        *slot = weight
            .parse::<u32>()
            .ok()
            .filter(|w| *w <= 1_000_000)
            .ok_or_else(|| MixError::BadWeight(weight.to_string()))?;
    }
    if mix.total() == 0 {
        return Err(MixError::AllZero);
    }
    if mix.passive == 0 && mix.cancel + mix.replace > 0 && mix.aggressive == 0 {
        return Err(MixError::NothingToCancel);
    }
    Ok(mix)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_and_prints_back() {
        let mix = parse_mix("passive=50,cancel=30,replace=10,aggressive=10").unwrap();
        assert_eq!(mix, Mix::default());
        assert_eq!(parse_mix(&mix.to_string()).unwrap(), mix);
        let partial = parse_mix(" aggressive = 1 , passive=3").unwrap();
        assert_eq!(partial.aggressive, 1);
        assert_eq!(partial.passive, 3);
        assert_eq!(partial.cancel, 0);
    }

    #[test]
    fn refuses_bad_mixes_with_a_reason() {
        assert!(matches!(parse_mix("passive"), Err(MixError::Syntax(_))));
        assert!(matches!(
            parse_mix("market=5"),
            Err(MixError::UnknownKind(_))
        ));
        assert!(matches!(
            parse_mix("passive=1,passive=2"),
            Err(MixError::Repeated(_))
        ));
        assert!(matches!(
            parse_mix("passive=-1"),
            Err(MixError::BadWeight(_))
        ));
        assert!(matches!(
            parse_mix("passive=x"),
            Err(MixError::BadWeight(_))
        ));
        assert_eq!(parse_mix("passive=0"), Err(MixError::AllZero));
        assert_eq!(parse_mix(""), Err(MixError::AllZero));
        assert_eq!(parse_mix("cancel=5"), Err(MixError::NothingToCancel));
    }
}
