//! What the stages have done, for an operator's metrics: batches per
//! stage, and the journal's fsyncs with their latency.
//!
//! Each counter has one writer, the stage that owns it, which adds to it
//! once per batch (never per command) with a plain load and store
//! (`Relaxed`: nothing is published through these counters; readers only
//! report them). The commands each stage has done are its sequences,
//! which the pipeline already keeps (`Pipeline::durable_seq`, M's last
//! sequence here). Fsyncs are timed only under `fsync`, where one costs
//! milliseconds and two clock reads nothing.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crossbeam_utils::CachePadded;

use super::doorbell::Doorbell;

/// Buckets of the fsync latency histogram: bucket `i` counts fsyncs that
/// took at most 2^i microseconds (1 µs .. about 8.4 s); the last also
/// counts longer ones.
pub const FSYNC_BUCKETS: usize = 24;

/// One stage's counters, on a cache line of its own.
#[derive(Debug, Default)]
pub struct StageCounters {
    batches: CachePadded<AtomicU64>,
}

impl StageCounters {
    /// The stage finished a batch (its only writer calls this).
    #[inline]
    pub(crate) fn batch(&self) {
        bump(&self.batches, 1);
    }

    pub fn batches(&self) -> u64 {
        self.batches.load(Ordering::Relaxed)
    }
}

/// Every stage's counters.
#[derive(Debug, Default)]
pub struct PipelineStats {
    pub journal: StageCounters,
    pub matching: StageCounters,
    pub output: StageCounters,
    /// The last sequence M applied.
    matched_seq: CachePadded<AtomicU64>,
    fsyncs: CachePadded<AtomicU64>,
    fsync_ns: AtomicU64,
    fsync_buckets: [AtomicU64; FSYNC_BUCKETS],
    /// The doorbells the stages sleep on: the inbound ring's (J and M wait
    /// for the publisher) and the outbound ring's (O waits for M).
    bells: OnceLock<[&'static Doorbell; 2]>,
}

/// Sleeps of the stages waiting on one ring, and how many a ring of its
/// doorbell ended (the others timed out, `doorbell::SLEEP_AT_MOST`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sleeps {
    pub sleeps: u64,
    pub woken: u64,
}

/// The journal's fsyncs: how many, their total time, and their latency by
/// bucket (`FSYNC_BUCKETS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsyncStats {
    pub count: u64,
    pub total_ns: u64,
    /// Per bucket, not cumulative: bucket `i` is `(2^i µs, fsyncs)`.
    pub buckets: Vec<(Duration, u64)>,
}

impl PipelineStats {
    /// The doorbells of the inbound and outbound rings (wiring, once).
    pub(crate) fn set_bells(&self, inbound: &'static Doorbell, outbound: &'static Doorbell) {
        let _ = self.bells.set([inbound, outbound]);
    }

    /// Sleeps of the stages waiting on the inbound ring (J, M) and on the
    /// outbound ring (O).
    pub fn sleeps(&self) -> [(&'static str, Sleeps); 2] {
        let of = |i: usize| {
            self.bells
                .get()
                .map(|b| {
                    let (sleeps, woken) = b[i].sleeps();
                    Sleeps { sleeps, woken }
                })
                .unwrap_or_default()
        };
        [("inbound", of(0)), ("outbound", of(1))]
    }

    /// M applied everything up to `seq` (once per batch).
    #[inline]
    pub(crate) fn matched(&self, seq: u64) {
        self.matched_seq.store(seq, Ordering::Relaxed);
    }

    pub fn matched_seq(&self) -> u64 {
        self.matched_seq.load(Ordering::Relaxed)
    }

    /// J's commit of a batch included an fsync that took `took`.
    #[inline]
    pub(crate) fn fsync(&self, took: Duration) {
        let ns = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        bump(&self.fsyncs, 1);
        bump(&self.fsync_ns, ns);
        let micros = ns.div_ceil(1_000).max(1);
        let bucket = (u64::BITS - (micros - 1).leading_zeros()) as usize;
        bump(&self.fsync_buckets[bucket.min(FSYNC_BUCKETS - 1)], 1);
    }

    pub fn fsyncs(&self) -> FsyncStats {
        FsyncStats {
            count: self.fsyncs.load(Ordering::Relaxed),
            total_ns: self.fsync_ns.load(Ordering::Relaxed),
            buckets: self
                .fsync_buckets
                .iter()
                .enumerate()
                .map(|(i, n)| (Duration::from_micros(1 << i), n.load(Ordering::Relaxed)))
                .collect(),
        }
    }
}

/// Adds `n` to a counter that only the calling thread writes.
#[inline]
fn bump(counter: &AtomicU64, n: u64) {
    counter.store(
        counter.load(Ordering::Relaxed).wrapping_add(n),
        Ordering::Relaxed,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fsyncs_land_in_their_power_of_two_bucket() {
        let stats = PipelineStats::default();
        for micros in [1, 2, 3, 4, 5, 1_000, 1_024, 1_025, 100_000_000] {
            stats.fsync(Duration::from_micros(micros));
        }
        let f = stats.fsyncs();
        assert_eq!(f.count, 9);
        let counted: Vec<(u64, u64)> = f
            .buckets
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(d, n)| (d.as_micros() as u64, *n))
            .collect();
        // ≤1: 1; ≤2: 2; ≤4: 3, 4; ≤8: 5; ≤1024: 1000, 1024; ≤2048: 1025;
        // the last bucket: 100 s.
        assert_eq!(
            counted,
            [
                (1, 1),
                (2, 1),
                (4, 2),
                (8, 1),
                (1024, 2),
                (2048, 1),
                (1 << 23, 1)
            ]
        );
    }
}
