//! `--hist FILE`: the run's latencies as an HdrHistogram interval log.
//!
//! One histogram per second per metric, tagged `ack` and `fill`, in the
//! standard interval-log format (V2 compressed histograms, base64), so the
//! usual tools (HdrHistogram's `HistogramLogAnalyzer`, `hdr-plot`, the
//! `hdrhistogram` crate's `IntervalLogIterator`) can plot percentiles over
//! time, merge runs, or find the second a stall happened in. Values are
//! nanoseconds; the `Interval_Max` column is in microseconds (max value
//! divisor 1000). Warm-up seconds have no samples and are left out.

use std::io;
use std::time::Duration;

use hdrhistogram::serialization::Serializer;
use hdrhistogram::serialization::interval_log::{IntervalLogWriter, Tag};

use crate::measure::recorder::Interval;

/// Where each second's histograms go.
pub trait IntervalSink {
    /// One interval: `start` from the beginning of the run, `length` long.
    fn interval(
        &mut self,
        start: Duration,
        length: Duration,
        interval: &Interval,
    ) -> io::Result<()>;
}

/// The divisor of the max column: ns / 1000 = µs.
pub const MAX_VALUE_DIVISOR: f64 = 1000.0;

impl<W: io::Write, S: Serializer> IntervalSink for IntervalLogWriter<'_, '_, W, S> {
    fn interval(
        &mut self,
        start: Duration,
        length: Duration,
        interval: &Interval,
    ) -> io::Result<()> {
        for (tag, h) in [("ack", &interval.ack), ("fill", &interval.fill)] {
            if h.is_empty() {
                continue;
            }
            self.write_histogram(h, start, length, Tag::new(tag))
                .map_err(|e| io::Error::other(format!("{e:?}")))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::measure::recorder::latency_histogram;
    use hdrhistogram::serialization::V2DeflateSerializer;
    use hdrhistogram::serialization::interval_log::{
        IntervalLogIterator, IntervalLogWriterBuilder, LogEntry,
    };

    #[test]
    fn the_log_reads_back_with_tags_and_times() {
        let mut buf = Vec::new();
        let mut ser = V2DeflateSerializer::new();
        {
            let mut log = IntervalLogWriterBuilder::new()
                .with_max_value_divisor(MAX_VALUE_DIVISOR)
                .begin_log_with(&mut buf, &mut ser)
                .unwrap();
            let mut ack = latency_histogram();
            ack.record(12_345).unwrap();
            let interval = Interval {
                ack,
                fill: latency_histogram(),
            };
            log.interval(Duration::from_secs(2), Duration::from_secs(1), &interval)
                .unwrap();
        }
        let entries: Vec<_> = IntervalLogIterator::new(&buf)
            .filter_map(|e| match e.unwrap() {
                LogEntry::Interval(h) => Some(h),
                _ => None,
            })
            .collect();
        assert_eq!(entries.len(), 1, "empty fill interval is skipped");
        assert_eq!(entries[0].tag().map(|t| t.as_str()), Some("ack"));
        assert_eq!(entries[0].start_timestamp(), Duration::from_secs(2));
    }
}
