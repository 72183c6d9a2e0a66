//! One monotonic nanosecond clock for every thread of a run.
//!
//! Intended send times, receive times and the pipeline's `ts_ns` are all
//! nanoseconds since the same `Instant`, so a latency is one subtraction
//! whichever thread took the two readings (the inproc transport reads it on
//! the pipeline's output thread). `Instant` is `CLOCK_MONOTONIC`: it never
//! jumps with NTP, and reading it through the vDSO costs tens of
//! nanoseconds, which loadgen pays once per batch, not per order.

use std::time::Instant;

/// Nanoseconds since a fixed origin.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin: Instant,
}

impl Clock {
    /// A clock whose origin is now.
    pub fn start() -> Clock {
        Clock {
            origin: Instant::now(),
        }
    }

    /// Nanoseconds since the origin.
    #[inline]
    pub fn now_ns(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}
