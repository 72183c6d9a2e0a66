//! Latency histograms and counters of a run.
//!
//! Samples go into per-second interval histograms (what the progress line's
//! "p99 now" and the `--hist` interval log show); each second the interval
//! is added into the run's totals and cleared. Recording is one
//! `saturating_record` into a preallocated histogram: no allocation per
//! sample, and a sample beyond the range is clamped to it, never dropped.

use hdrhistogram::Histogram;

use crate::flow::orders::{Observed, RequestKind};

/// Highest latency a histogram holds exactly: a minute. A run that sees more
/// than that has failed long before the percentiles matter.
const HIGHEST_NS: u64 = 60_000_000_000;
/// Three significant digits: 0.1% resolution at every scale.
const SIGFIG: u8 = 3;

/// A new, empty latency histogram (ns).
pub fn latency_histogram() -> Histogram<u64> {
    // Constant bounds that hdrhistogram accepts (low >= 1, high >= 2 * low,
    // sigfig <= 5): this cannot fail.
    Histogram::new_with_bounds(1, HIGHEST_NS, SIGFIG).expect("constant histogram bounds are valid")
}

/// The two latencies loadgen reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// From a request's intended send time to its answer.
    Ack,
    /// From an aggressive order's intended send time to its first fill.
    Fill,
}

/// Counters of a run (warm-up included unless the name says "measured").
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    /// Requests handed to the transport.
    pub sent: u64,
    /// ... of which intended after the warm-up.
    pub sent_measured: u64,
    pub sent_new: u64,
    pub sent_cancel: u64,
    pub sent_replace: u64,
    /// Requests answered.
    pub answered: u64,
    pub answered_measured: u64,
    /// Execution reports received, by kind.
    pub accepted: u64,
    pub rejected: u64,
    pub fills: u64,
    pub cancelled: u64,
    pub replaced: u64,
    /// Aggressive orders that traded, and that expired without trading.
    pub aggressive_filled: u64,
    pub aggressive_unfilled: u64,
    /// Reports that fit no order or no request: a bug somewhere.
    pub unexpected: u64,
    /// Session-level rejects from the gateway (throttle, sequence, decode).
    pub session_rejects: u64,
}

/// The run's measurements.
#[derive(Debug, Clone)]
pub struct Recorder {
    warmup_ns: u64,
    pub counts: Counts,
    ack_total: Histogram<u64>,
    fill_total: Histogram<u64>,
    ack_interval: Histogram<u64>,
    fill_interval: Histogram<u64>,
    /// How late loadgen handed each measured request to the transport.
    lag: Histogram<u64>,
    /// Reject counts by reason word, in order of first appearance.
    pub reject_reasons: Vec<(&'static str, u64)>,
}

/// One second's latency histograms, taken by `Recorder::take_interval`.
#[derive(Debug, Clone)]
pub struct Interval {
    pub ack: Histogram<u64>,
    pub fill: Histogram<u64>,
}

impl Recorder {
    /// A recorder that measures requests intended at or after `warmup_ns`.
    pub fn new(warmup_ns: u64) -> Recorder {
        Recorder {
            warmup_ns,
            counts: Counts::default(),
            ack_total: latency_histogram(),
            fill_total: latency_histogram(),
            ack_interval: latency_histogram(),
            fill_interval: latency_histogram(),
            lag: latency_histogram(),
            reject_reasons: Vec::new(),
        }
    }

    /// A request was handed to the transport at `now_ns`, meant for `intended_ns`.
    #[inline]
    pub fn sent(&mut self, kind: RequestKind, intended_ns: u64, now_ns: u64) {
        self.counts.sent += 1;
        match kind {
            RequestKind::New => self.counts.sent_new += 1,
            RequestKind::Cancel => self.counts.sent_cancel += 1,
            RequestKind::Replace => self.counts.sent_replace += 1,
        }
        if intended_ns >= self.warmup_ns {
            self.counts.sent_measured += 1;
            self.lag
                .saturating_record(now_ns.saturating_sub(intended_ns));
        }
    }

    /// What an execution report received at `recv_ns` meant.
    #[inline]
    pub fn observed(&mut self, seen: &Observed, recv_ns: u64) {
        if let Some((_, intended)) = seen.answer {
            self.counts.answered += 1;
            if intended >= self.warmup_ns {
                self.counts.answered_measured += 1;
                self.ack_interval
                    .saturating_record(recv_ns.saturating_sub(intended).max(1));
            }
        }
        if let Some(intended) = seen.first_fill {
            self.counts.aggressive_filled += 1;
            if intended >= self.warmup_ns {
                self.fill_interval
                    .saturating_record(recv_ns.saturating_sub(intended).max(1));
            }
        }
        if seen.unfilled_aggressive {
            self.counts.aggressive_unfilled += 1;
        }
        if seen.unexpected {
            self.counts.unexpected += 1;
        }
    }

    /// Counts a reject by its reason word.
    pub fn reject_reason(&mut self, word: &'static str) {
        match self.reject_reasons.iter_mut().find(|(w, _)| *w == word) {
            Some((_, n)) => *n += 1,
            None => self.reject_reasons.push((word, 1)),
        }
    }

    /// Ends the current interval: adds it to the totals and returns it.
    pub fn take_interval(&mut self) -> Interval {
        // Same bounds, so `add` cannot fail; if it did, the totals would
        // miss one interval, which the counts would show.
        let _ = self.ack_total.add(&self.ack_interval);
        let _ = self.fill_total.add(&self.fill_interval);
        let interval = Interval {
            ack: self.ack_interval.clone(),
            fill: self.fill_interval.clone(),
        };
        self.ack_interval.reset();
        self.fill_interval.reset();
        interval
    }

    /// The 99th percentile of the current interval so far (ns), if it has samples.
    #[cfg(test)]
    pub fn interval_p99(&self, metric: Metric) -> Option<u64> {
        let h = match metric {
            Metric::Ack => &self.ack_interval,
            Metric::Fill => &self.fill_interval,
        };
        (!h.is_empty()).then(|| h.value_at_quantile(0.99))
    }

    /// The totals of a metric (call `take_interval` first to include the last interval).
    pub fn total(&self, metric: Metric) -> &Histogram<u64> {
        match metric {
            Metric::Ack => &self.ack_total,
            Metric::Fill => &self.fill_total,
        }
    }

    /// How late loadgen handed measured requests to the transport.
    pub fn lag(&self) -> &Histogram<u64> {
        &self.lag
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_samples_are_counted_but_not_timed() {
        let mut r = Recorder::new(1_000);
        let answer = |intended| Observed {
            answer: Some((RequestKind::New, intended)),
            ..Observed::default()
        };
        r.observed(&answer(999), 5_000);
        r.observed(&answer(1_000), 5_000);
        r.observed(&answer(2_000), 3_000);
        assert_eq!(r.counts.answered, 3);
        assert_eq!(r.counts.answered_measured, 2);
        // Three significant digits: 4000 reads back as its bucket's top.
        let p99 = r.interval_p99(Metric::Ack).unwrap();
        assert!((4_000..=4_004).contains(&p99), "{p99}");
        let interval = r.take_interval();
        assert_eq!(interval.ack.len(), 2);
        assert_eq!(r.interval_p99(Metric::Ack), None);
        assert_eq!(r.total(Metric::Ack).len(), 2);
        assert!((4_000..=4_004).contains(&r.total(Metric::Ack).max()));
        assert_eq!(r.total(Metric::Ack).min(), 1_000);
    }
}
