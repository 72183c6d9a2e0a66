//! O: releases events once the commands that caused them are durable.
//!
//! Output gating: no event of a command leaves the process before the
//! journal's durable sequence covers that command. O remembers the last
//! durable sequence it read, so in the common case (J ahead) it checks a
//! local number, not the shared gate.

use std::sync::Arc;

use super::gate::DurableGate;
use super::guard::{guarded, guarded_batch};
use super::health::Health;
use super::slots::Output;
use super::stats::PipelineStats;
use super::wait::{Backoff, StageWait};

pub(crate) const STAGE: &str = "output";

/// Where released events go: the gateway's sessions, a test's buffer, a
/// callback. The sink a pipeline starts with (`pipeline::start`) runs on
/// the output thread, so it must be `Send + 'static`; a sink lent to one
/// hosted poll (`Pipeline::poll_up_to_with`) runs on the caller's thread
/// and may borrow the caller's state.
pub trait OutputSink {
    /// One released event, in order.
    fn output(&mut self, output: &Output);
    /// The ring has no more events for now: flush any batching.
    fn end_of_batch(&mut self) {}
}

impl<F: FnMut(&Output)> OutputSink for F {
    #[inline]
    fn output(&mut self, output: &Output) {
        self(output)
    }
}

pub(crate) struct OutputStage<S> {
    sink: S,
    gate: Arc<DurableGate>,
    /// The durable sequence as last read from the gate.
    durable: u64,
    health: Arc<Health>,
    wait: StageWait,
    stats: Arc<PipelineStats>,
}

impl<S: OutputSink> OutputStage<S> {
    pub fn new(
        sink: S,
        gate: Arc<DurableGate>,
        health: Arc<Health>,
        wait: StageWait,
        stats: Arc<PipelineStats>,
    ) -> Self {
        let durable = gate.durable();
        OutputStage {
            sink,
            gate,
            durable,
            health,
            wait,
            stats,
        }
    }

    /// The processor's step: `on_event`, with a panic (in the sink, say)
    /// reported, not propagated.
    #[inline]
    pub fn handle(&mut self, output: &Output, end_of_batch: bool) {
        if let Err(message) = guarded(|| self.on_event(output, end_of_batch)) {
            self.health.fail(STAGE, message);
        }
    }

    /// `handle` over a whole batch, for hosted polling: one panic guard
    /// for the batch (see `JournalStage::handle_batch`), released to the
    /// stage's own sink, or to `lent` when the caller lends one. Returns
    /// the sequence of the last command whose last event it released, if
    /// any.
    #[inline]
    pub fn handle_batch<'a>(
        &mut self,
        outputs: impl Iterator<Item = &'a Output>,
        n: usize,
        mut lent: Option<&mut dyn OutputSink>,
    ) -> Option<u64> {
        let mut released = None;
        if let Err(message) = guarded_batch(outputs, n, |output, end| {
            if !self.durable_for(output) {
                return;
            }
            match lent.as_deref_mut() {
                Some(sink) => release(sink, output, end),
                None => release(&mut self.sink, output, end),
            }
            if output.last {
                released = Some(output.seq);
            }
        }) {
            self.health.fail(STAGE, message);
        }
        if n > 0 {
            self.stats.output.batch();
        }
        released
    }

    #[inline]
    fn on_event(&mut self, output: &Output, end_of_batch: bool) {
        if self.durable_for(output) {
            release(&mut self.sink, output, end_of_batch);
            if end_of_batch {
                self.stats.output.batch();
            }
        }
    }

    /// Waits until the command behind `output` is durable: `false` if the
    /// pipeline failed first (nothing may be released then).
    #[inline]
    fn durable_for(&mut self, output: &Output) -> bool {
        if self.health.failed() {
            return false;
        }
        if output.seq > self.durable {
            let mut backoff = Backoff::new(self.wait);
            loop {
                self.durable = self.gate.durable();
                if output.seq <= self.durable {
                    break;
                }
                if self.health.failed() {
                    return false;
                }
                backoff.snooze_for(self.gate.bell(), output.seq as i64);
            }
        }
        true
    }
}

#[inline]
fn release(sink: &mut (impl OutputSink + ?Sized), output: &Output, end_of_batch: bool) {
    sink.output(output);
    if end_of_batch {
        sink.end_of_batch();
    }
}

impl<S> std::fmt::Debug for OutputStage<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutputStage")
            .field("durable", &self.durable)
            .finish_non_exhaustive()
    }
}
