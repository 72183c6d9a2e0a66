//! A per-session message throttle: a token bucket, and an allowance for
//! the frames refused by it.
//!
//! Tokens refill at `rate` per second up to one second's worth, so a client
//! may burst up to its rate and sustain exactly its rate. A frame without a
//! token is refused (`Reject { THROTTLED }`), and takes one from a second
//! bucket of the same size and rate: the allowance for frames over the
//! limit. A client that empties that too (it sends more than twice its
//! limit for long enough) is ending its own session (`Logout { THROTTLED }`).
//! A rate of 0 is no throttle. Integer nanosecond arithmetic: no floats, no
//! drift.

use std::time::Instant;

/// What the throttle says about one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// Within the limit: process the frame.
    Within,
    /// Over the limit: refuse the frame, the session goes on.
    Over,
    /// Over the limit and past the allowance: refuse it and end the session.
    Flooding,
}

#[derive(Debug)]
pub struct Throttle {
    /// Messages per second; 0: no throttle.
    rate: u64,
    /// Tokens, in units of 1/1e9 of a message (so refill is exact).
    nano_tokens: u128,
    last: Instant,
    /// The allowance for refused frames, in the same units.
    nano_allowance: u128,
    allowance_last: Instant,
}

const NANOS: u128 = 1_000_000_000;

impl Throttle {
    pub fn new(rate_per_sec: u32, now: Instant) -> Self {
        let rate = u64::from(rate_per_sec);
        Throttle {
            rate,
            nano_tokens: u128::from(rate) * NANOS,
            last: now,
            nano_allowance: u128::from(rate) * NANOS,
            allowance_last: now,
        }
    }

    /// Takes one message's token.
    #[inline]
    pub fn take(&mut self, now: Instant) -> Pace {
        if self.rate == 0 {
            return Pace::Within;
        }
        if refill_and_take(self.rate, &mut self.nano_tokens, &mut self.last, now) {
            Pace::Within
        } else {
            self.over(now)
        }
    }

    #[cold]
    fn over(&mut self, now: Instant) -> Pace {
        let rate = self.rate;
        if refill_and_take(
            rate,
            &mut self.nano_allowance,
            &mut self.allowance_last,
            now,
        ) {
            Pace::Over
        } else {
            Pace::Flooding
        }
    }
}

/// Refills a bucket of one second's worth at `rate` for the time since
/// `last`, then takes one token from it if it has one.
#[inline]
fn refill_and_take(rate: u64, nano_tokens: &mut u128, last: &mut Instant, now: Instant) -> bool {
    let elapsed = now.saturating_duration_since(*last).as_nanos();
    *last = now;
    let cap = u128::from(rate) * NANOS;
    *nano_tokens = (*nano_tokens + elapsed * u128::from(rate)).min(cap);
    if *nano_tokens >= NANOS {
        *nano_tokens -= NANOS;
        true
    } else {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn allows_a_burst_of_one_second_then_the_rate() {
        let t0 = Instant::now();
        let mut throttle = Throttle::new(10, t0);
        let within = (0..20)
            .filter(|_| throttle.take(t0) == Pace::Within)
            .count();
        assert_eq!(within, 10);
        assert_eq!(throttle.take(t0 + Duration::from_millis(100)), Pace::Within);
        assert_eq!(throttle.take(t0 + Duration::from_millis(100)), Pace::Over);
    }

    #[test]
    fn refuses_one_seconds_worth_over_the_limit_then_floods() {
        let t0 = Instant::now();
        let mut throttle = Throttle::new(10, t0);
        let paces: Vec<Pace> = (0..21).map(|_| throttle.take(t0)).collect();
        assert!(paces[..10].iter().all(|&p| p == Pace::Within));
        assert!(paces[10..20].iter().all(|&p| p == Pace::Over));
        assert_eq!(paces[20], Pace::Flooding);
    }

    #[test]
    fn a_rate_of_zero_is_no_throttle() {
        let t0 = Instant::now();
        let mut throttle = Throttle::new(0, t0);
        assert!((0..1_000_000).all(|_| throttle.take(t0) == Pace::Within));
    }
}
