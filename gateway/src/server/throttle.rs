//! A per-session message throttle: a token bucket.
//!
//! Tokens refill at `rate` per second up to one second's worth, so a client
//! may burst up to its rate and sustain exactly its rate. Integer
//! nanosecond arithmetic: no floats, no drift.

use std::time::Instant;

#[derive(Debug)]
pub struct Throttle {
    rate: u64,
    /// Tokens, in units of 1/1e9 of a message (so refill is exact).
    nano_tokens: u128,
    last: Instant,
}

const NANOS: u128 = 1_000_000_000;

impl Throttle {
    pub fn new(rate_per_sec: u32, now: Instant) -> Self {
        let rate = u64::from(rate_per_sec.max(1));
        Throttle {
            rate,
            nano_tokens: u128::from(rate) * NANOS,
            last: now,
        }
    }

    /// Takes one message's token; `false` when the session is over its rate.
    #[inline]
    pub fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_nanos();
        self.last = now;
        let cap = u128::from(self.rate) * NANOS;
        self.nano_tokens = (self.nano_tokens + elapsed * u128::from(self.rate)).min(cap);
        if self.nano_tokens >= NANOS {
            self.nano_tokens -= NANOS;
            true
        } else {
            false
        }
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
        assert_eq!((0..20).filter(|_| throttle.take(t0)).count(), 10);
        assert!(throttle.take(t0 + Duration::from_millis(100)));
        assert!(!throttle.take(t0 + Duration::from_millis(100)));
    }
}
