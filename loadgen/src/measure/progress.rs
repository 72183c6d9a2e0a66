//! What a run tells the person running it: its setup messages (`Log`) and,
//! once a second on stderr, the progress line: what the run is doing now.
//!
//! A plain line per second rather than a progress bar: it works the same in
//! a terminal, a CI log and a `tee`d file, and needs no dependency. In a
//! terminal the line rewrites itself in place.

use std::io::{IsTerminal, Write};

use crate::flow::schedule::Schedule;
use crate::measure::recorder::{Interval, Recorder};
use crate::measure::report::{format_latency, format_rate};

/// Messages for the person running loadgen (stderr in the binary).
pub type Log<'a> = &'a mut dyn FnMut(&str);

/// Writes the progress line (or nothing, when quiet).
#[derive(Debug)]
pub struct Progress {
    enabled: bool,
    tty: bool,
    last_sent: u64,
    last_answered: u64,
    printed: bool,
}

impl Progress {
    pub fn new(enabled: bool) -> Progress {
        Progress {
            enabled,
            tty: std::io::stderr().is_terminal(),
            last_sent: 0,
            last_answered: 0,
            printed: false,
        }
    }

    /// The line for the second that ended at `elapsed_ns` into the run.
    pub fn second(
        &mut self,
        elapsed_ns: u64,
        schedule: &Schedule,
        rec: &Recorder,
        interval: &Interval,
        in_flight: u64,
        all_sent: bool,
    ) {
        let sent = rec.counts.sent - self.last_sent;
        let answered = rec.counts.answered - self.last_answered;
        self.last_sent = rec.counts.sent;
        self.last_answered = rec.counts.answered;
        if !self.enabled {
            return;
        }
        let phase = if all_sent {
            "draining"
        } else if elapsed_ns < schedule.warmup_ns() {
            "warm-up "
        } else {
            "measured"
        };
        let p99 = |h: &hdrhistogram::Histogram<u64>| {
            if h.is_empty() {
                "-".to_string()
            } else {
                format_latency(h.value_at_quantile(0.99))
            }
        };
        let line = format!(
            "loadgen {:>4}s {phase}  sent {:>8}/s  answered {:>8}/s  in flight {:>6}  p99 ack {:>8}  fill {:>8}",
            elapsed_ns / 1_000_000_000,
            format_rate(sent as f64),
            format_rate(answered as f64),
            in_flight,
            p99(&interval.ack),
            p99(&interval.fill),
        );
        let mut err = std::io::stderr().lock();
        let _ = if self.tty {
            write!(err, "\r\x1b[K{line}")
        } else {
            writeln!(err, "{line}")
        };
        let _ = err.flush();
        self.printed = true;
    }

    /// A line about something that happened (a session lost its node, say),
    /// on a line of its own; printed even when quiet, as setup messages are.
    pub fn event(&mut self, line: &str) {
        let mut err = std::io::stderr().lock();
        let _ = if self.enabled && self.tty && self.printed {
            // The progress line is rewritten after it.
            writeln!(err, "\r\x1b[K{line}")
        } else {
            writeln!(err, "{line}")
        };
        let _ = err.flush();
    }

    /// Ends the line (in a terminal) so the report starts on its own.
    pub fn finish(&mut self) {
        if self.enabled && self.tty && self.printed {
            let _ = writeln!(std::io::stderr());
        }
    }
}
