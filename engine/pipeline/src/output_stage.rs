//! O: releases events once the commands that caused them are durable.
//!
//! Output gating: no event of a command leaves the process before the
//! journal's durable sequence covers that command. O remembers the last
//! durable sequence it read, so in the common case (J ahead) it checks a
//! local number, not the shared gate.
//!
//! O waits for the gate, except where the gate's mover may be the thread
//! O runs on: hosted on the gateway's poll loop in a cluster, where the
//! leader's Raft step (which moves the gate on the majority's commit) can
//! run on that loop too. There O holds what is not committed yet and
//! releases it on a later poll (`holding`), and the loop stays free to
//! read orders and step Raft meanwhile.

use std::collections::VecDeque;
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
    /// Held events, oldest first, and how many it may hold (`holding`).
    held: Option<Held>,
}

/// Events taken from the outbound ring but not released yet: their
/// commands are not committed. Allocated once, at most `limit`: the
/// caller takes no more from the ring than there is room for (`room`), so
/// a commit that does not come stops M through the full rings, as a
/// waiting O would.
struct Held {
    events: VecDeque<Output>,
    limit: usize,
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
            held: None,
        }
    }

    /// Hosted under a gate this thread may be the one to move: hold up to
    /// `limit` events not yet released instead of waiting for the gate
    /// (module doc). `handle_batch` then never waits.
    pub fn holding(mut self, limit: usize) -> Self {
        self.held = Some(Held {
            events: VecDeque::with_capacity(limit),
            limit,
        });
        self
    }

    /// How many more events `handle_batch` may be given now (unbounded
    /// unless `holding`).
    #[inline]
    pub fn room(&self) -> usize {
        self.held
            .as_ref()
            .map_or(usize::MAX, |h| h.limit - h.events.len())
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
        if let Some(held) = &mut self.held {
            held.events.extend(outputs.take(n).copied());
            if n > 0 {
                self.stats.output.batch();
            }
            return self.release_held(lent);
        }
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

    /// Releases the held events the gate now covers, oldest first, to
    /// `lent` or the own sink (see `handle_batch`). After a failure nothing
    /// held is ever released.
    pub fn release_held<'s>(
        &mut self,
        mut lent: Option<&mut (dyn OutputSink + 's)>,
    ) -> Option<u64> {
        let held = self.held.as_mut()?;
        if held.events.is_empty() {
            return None;
        }
        if self.health.failed() {
            held.events.clear();
            return None;
        }
        self.durable = self.gate.durable();
        let durable = self.durable;
        let sink = &mut self.sink;
        let mut released = None;
        if let Err(message) = guarded(|| {
            while let Some(output) = held.events.front().copied()
                && output.seq <= durable
            {
                held.events.pop_front();
                let end = held.events.front().is_none_or(|next| next.seq > durable);
                match lent.as_deref_mut() {
                    Some(sink) => release(sink, &output, end),
                    None => release(sink, &output, end),
                }
                if output.last {
                    released = Some(output.seq);
                }
            }
        }) {
            self.health.fail(STAGE, message);
        }
        released
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
