//! Failed logons, counted per address, and the delay they earn.
//!
//! A logon from an address with recent failures is not checked at once:
//! the check waits `delay`, which doubles with each failure past the first
//! few, up to a cap. So a client guessing passwords from one address gets
//! a handful of tries a minute, and an attacker cannot make the gateway
//! spend a hash's worth of CPU per connection faster than the delay allows.
//! A success clears the address's count; a quiet address is forgotten.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Failures an address may have before its logons are delayed: a user
/// mistyping a password is not slowed down.
const FREE_FAILURES: u32 = 3;
/// The first delay; each failure after doubles it.
const FIRST_DELAY: Duration = Duration::from_millis(250);
/// The longest delay.
pub const MAX_DELAY: Duration = Duration::from_secs(10);
/// An address without a failure for this long starts afresh.
const FORGET_AFTER: Duration = Duration::from_secs(600);
/// Addresses tracked at most; past it, the forgotten are dropped first.
const MAX_TRACKED: usize = 1 << 16;

#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    last: Instant,
}

/// Failed logons by address.
#[derive(Debug, Default)]
pub struct LogonFailures {
    by_addr: HashMap<IpAddr, Record>,
    /// Failed logons in all, since start.
    pub total: u64,
}

impl LogonFailures {
    /// How long a logon from `addr` waits before it is checked.
    pub fn delay(&self, addr: IpAddr, now: Instant) -> Duration {
        let Some(r) = self.by_addr.get(&addr) else {
            return Duration::ZERO;
        };
        if now.duration_since(r.last) > FORGET_AFTER || r.failures < FREE_FAILURES {
            return Duration::ZERO;
        }
        let doublings = (r.failures - FREE_FAILURES).min(16);
        FIRST_DELAY.saturating_mul(1 << doublings).min(MAX_DELAY)
    }

    /// A logon from `addr` failed.
    pub fn failed(&mut self, addr: IpAddr, now: Instant) {
        self.total += 1;
        if self.by_addr.len() >= MAX_TRACKED && !self.by_addr.contains_key(&addr) {
            self.by_addr
                .retain(|_, r| now.duration_since(r.last) <= FORGET_AFTER);
            if self.by_addr.len() >= MAX_TRACKED {
                // Still full: keep the addresses already being delayed.
                self.by_addr.retain(|_, r| r.failures >= FREE_FAILURES);
            }
        }
        let r = self.by_addr.entry(addr).or_insert(Record {
            failures: 0,
            last: now,
        });
        if now.duration_since(r.last) > FORGET_AFTER {
            r.failures = 0;
        }
        r.failures = r.failures.saturating_add(1);
        r.last = now;
    }

    /// A logon from `addr` succeeded: its count starts again.
    pub fn succeeded(&mut self, addr: IpAddr) {
        self.by_addr.remove(&addr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_grows_past_the_free_failures_and_is_capped() {
        let addr: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        let t0 = Instant::now();
        let mut f = LogonFailures::default();
        let mut delays = Vec::new();
        for _ in 0..12 {
            delays.push(f.delay(addr, t0).as_millis());
            f.failed(addr, t0);
        }
        assert_eq!(
            delays,
            [
                0, 0, 0, 250, 500, 1000, 2000, 4000, 8000, 10000, 10000, 10000
            ]
        );
        assert_eq!(f.total, 12);
        // Per address: another is not slowed.
        assert_eq!(f.delay(other, t0), Duration::ZERO);
        // Forgotten after a quiet while; cleared by a success.
        assert_eq!(f.delay(addr, t0 + FORGET_AFTER * 2), Duration::ZERO);
        f.succeeded(addr);
        assert_eq!(f.delay(addr, t0), Duration::ZERO);
    }
}
