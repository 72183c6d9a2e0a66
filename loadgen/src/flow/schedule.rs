//! The open-loop schedule: when each order is meant to be sent.
//!
//! Order `i` (counting from 0) is due at `start + floor(i * 1e9 / rate)`
//! nanoseconds, whatever happened to the orders before it. Latency is measured
//! from that intended time, not from when the order actually left, so a stall
//! anywhere (gateway, engine, the kernel, or loadgen itself) delays every
//! order behind it *and shows in the percentiles*. A closed-loop tester, or an
//! open-loop one that measures from the actual send, would quietly skip
//! sending during the stall and report it as one slow order: coordinated
//! omission.
//!
//! Everything is integer arithmetic in `u128`, so the schedule does not
//! drift: the millionth order of a 1M/s run is due exactly one second after
//! the first, not a rounding error away from it.

use std::time::Duration;

use crate::cli::rate::Rate;

const NS_PER_SEC: u128 = 1_000_000_000;

/// Intended send times for orders at a fixed rate, from offset 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    rate: u64,
    /// Orders in the whole run (warm-up included).
    total: u64,
    /// Orders whose intended time is before this offset are warm-up.
    warmup_ns: u64,
    /// Warm-up plus the measured duration: orders are due before it.
    end_ns: u64,
}

impl Schedule {
    /// A schedule of `rate` orders per second for `warmup + duration`. The
    /// orders of the first `warmup` are sent but not measured.
    pub fn new(rate: Rate, warmup: Duration, duration: Duration) -> Schedule {
        let rate = rate.per_sec();
        let warmup_ns = duration_ns(warmup);
        let total_ns = warmup_ns.saturating_add(duration_ns(duration));
        let mut schedule = Schedule {
            rate,
            total: 0,
            warmup_ns,
            end_ns: total_ns,
        };
        schedule.total = schedule.due_by(total_ns);
        schedule
    }

    /// Orders per second.
    pub fn rate(&self) -> u64 {
        self.rate
    }

    /// Orders in the whole run, warm-up included.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Orders in the warm-up (sent, not measured).
    pub fn warmup_orders(&self) -> u64 {
        self.due_by(self.warmup_ns).min(self.total)
    }

    /// The offset (ns) where measurement starts.
    pub fn warmup_ns(&self) -> u64 {
        self.warmup_ns
    }

    /// The intended send time of order `i`, in ns from the schedule's start:
    /// `floor(i * 1e9 / rate)`.
    #[inline]
    pub fn intended_ns(&self, i: u64) -> u64 {
        let ns = u128::from(i) * NS_PER_SEC / u128::from(self.rate);
        u64::try_from(ns).unwrap_or(u64::MAX)
    }

    /// How many orders are due strictly before offset `t_ns`: the number of
    /// `i` with `intended_ns(i) < t_ns`, which is `ceil(t_ns * rate / 1e9)`.
    /// (`floor(i * 1e9 / rate) < t` holds exactly when `i * 1e9 < t * rate`.)
    #[inline]
    pub fn due_by(&self, t_ns: u64) -> u64 {
        let scaled = u128::from(t_ns) * u128::from(self.rate);
        let count = scaled.div_ceil(NS_PER_SEC);
        u64::try_from(count).unwrap_or(u64::MAX)
    }

    /// How many orders are due at offset `now_ns` (intended time at or
    /// before it), capped at the run's total.
    #[inline]
    pub fn due_at(&self, now_ns: u64) -> u64 {
        self.due_by(now_ns.saturating_add(1)).min(self.total)
    }

    /// `true` if order `i` is measured (its intended time is at or after the warm-up).
    #[cfg(test)]
    pub fn is_measured(&self, intended_ns: u64) -> bool {
        intended_ns >= self.warmup_ns
    }

    /// The scheduled length of the run (ns): warm-up plus the measured duration.
    pub fn end_ns(&self) -> u64 {
        self.end_ns
    }

    /// The measured part of the run (ns).
    #[cfg(test)]
    pub fn measured_ns(&self) -> u64 {
        self.end_ns - self.warmup_ns
    }
}

/// A duration in whole nanoseconds, saturating at `u64::MAX` (584 years).
pub fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn rate(n: u64) -> Rate {
        Rate::new(n).unwrap()
    }

    #[test]
    fn intended_times_are_exact_and_do_not_drift() {
        let s = Schedule::new(rate(1_000_000), Duration::ZERO, Duration::from_secs(10));
        assert_eq!(s.total(), 10_000_000);
        assert_eq!(s.intended_ns(0), 0);
        assert_eq!(s.intended_ns(1), 1_000);
        assert_eq!(s.intended_ns(1_000_000), 1_000_000_000);
        assert_eq!(s.intended_ns(9_999_999), 9_999_999_000);
        // A rate that does not divide a second: 3 orders per second.
        let s = Schedule::new(rate(3), Duration::ZERO, Duration::from_secs(1));
        assert_eq!(s.total(), 3);
        assert_eq!(
            [
                s.intended_ns(0),
                s.intended_ns(1),
                s.intended_ns(2),
                s.intended_ns(3)
            ],
            [0, 333_333_333, 666_666_666, 1_000_000_000]
        );
        // 2.5M/s: order 2,500,000 is due at exactly 1 s, 10^9 at 400 s.
        let s = Schedule::new(rate(2_500_000), Duration::ZERO, Duration::from_secs(1));
        assert_eq!(s.intended_ns(2_500_000), 1_000_000_000);
        assert_eq!(s.intended_ns(1_000_000_000), 400_000_000_000);
        // 7/s over an hour: the last order, no accumulated rounding.
        let s = Schedule::new(rate(7), Duration::ZERO, Duration::from_secs(3600));
        assert_eq!(s.total(), 25_200);
        assert_eq!(s.intended_ns(25_199), 3_599_857_142_857);
    }

    #[test]
    fn due_counts_agree_with_intended_times() {
        for r in [
            1,
            3,
            7,
            999,
            1_000,
            333_333,
            1_000_000,
            2_500_000,
            999_999_937,
        ] {
            let s = Schedule::new(rate(r), Duration::ZERO, Duration::from_secs(2));
            // Around many boundaries: due_by(t) == #{ i : intended(i) < t }.
            for i in (0..200u64).chain([s.total() / 2, s.total().saturating_sub(1)]) {
                let t = s.intended_ns(i);
                // Intended times rise by at least 1 ns per order (rate <=
                // 1e9/s), so orders before i-3 are all earlier than `t - 1`
                // and orders after i+2 all later than `t + 1`: counting the
                // window between is counting them all.
                let low = i.saturating_sub(3);
                let count = |pred: &dyn Fn(u64) -> bool| {
                    low + (low..=i + 2).filter(|&j| pred(s.intended_ns(j))).count() as u64
                };
                for probe in [t.saturating_sub(1), t, t + 1] {
                    let before = count(&|at| at < probe);
                    assert_eq!(s.due_by(probe), before, "rate {r} i {i} t {probe}");
                    let by = count(&|at| at <= probe).min(s.total());
                    assert_eq!(s.due_at(probe), by, "rate {r} i {i} t {probe}");
                }
            }
        }
    }

    #[test]
    fn warmup_orders_are_sent_but_not_measured() {
        let s = Schedule::new(
            rate(1_000),
            Duration::from_millis(500),
            Duration::from_secs(1),
        );
        assert_eq!(s.total(), 1_500);
        assert_eq!(s.warmup_orders(), 500);
        assert!(!s.is_measured(s.intended_ns(499)));
        assert!(s.is_measured(s.intended_ns(500)));
        assert_eq!(s.due_at(u64::MAX - 1), 1_500);
        assert_eq!(s.end_ns(), 1_500_000_000);
        assert_eq!(s.measured_ns(), 1_000_000_000);
    }
}
