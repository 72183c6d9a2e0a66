//! M: the single writer of every order book.
//!
//! Executes each command and collects its events in a preallocated outbox,
//! which it publishes to the outbound ring in one batch at the end of each
//! inbound batch (or sooner, when the outbox fills). M never waits for the
//! journal: J runs beside it on the same sequence, and the output stage,
//! not M, holds events back until they are durable.

use std::path::PathBuf;
use std::sync::Arc;

use disruptor::{MissingFreeSlots, Producer, SingleConsumerBarrier, SingleProducer};

use super::doorbell::Doorbell;
use super::guard::{guarded, guarded_batch};
use super::handover::Handback;
use super::health::Health;
use super::slots::{Inbound, Output};
use super::snapshots::Snapshots;
use super::stats::PipelineStats;
use super::wait::{Backoff, StageWait};
use journal::write_snapshot;
use matching::engine::Engine;
use matching::event::{Event, EventSink};

pub(crate) const STAGE: &str = "matching";

pub(crate) type OutboundProducer = SingleProducer<Output, SingleConsumerBarrier>;

/// Events waiting to be published to the outbound ring.
pub(crate) struct Outbox {
    producer: OutboundProducer,
    pending: Vec<Output>,
    /// Events buffered before a flush (never more than the ring holds).
    capacity: usize,
    health: Arc<Health>,
    wait: StageWait,
    /// M runs on the thread that also runs O (`hosted.rs`): waiting for
    /// room in the outbound ring would wait for this very thread, so a
    /// flush publishes what fits and keeps the rest.
    hosted: bool,
    /// Events published so far.
    published: u64,
    /// Rung after every publish with the ring's last published slot, for
    /// an O asleep on the outbound ring.
    bell: &'static Doorbell,
}

impl Outbox {
    /// `capacity` events are buffered at most (never more than the ring
    /// holds), unless `hosted` and the ring is full: see `flush`.
    pub fn new(
        producer: OutboundProducer,
        capacity: usize,
        health: Arc<Health>,
        wait: StageWait,
        hosted: bool,
        bell: &'static Doorbell,
    ) -> Self {
        Outbox {
            producer,
            pending: Vec::with_capacity(capacity),
            capacity,
            health,
            wait,
            hosted,
            published: 0,
            bell,
        }
    }

    #[inline]
    fn push(&mut self, output: Output) {
        if self.pending.len() >= self.capacity {
            self.flush();
        }
        self.pending.push(output);
    }

    /// Publishes the pending events in one batch, waiting while the ring is
    /// full (backpressure from the output stage), unless the pipeline failed.
    /// Hosted, it never waits: it publishes what fits and keeps the rest,
    /// and the host publishes those (`flush_what_fits`) before M takes
    /// another command. Only a command with more events than the ring has
    /// room for grows the buffer past its capacity (an allocation, kept for
    /// next time), rather than stopping the thread that would make room.
    #[inline]
    pub fn flush(&mut self) {
        if self.hosted {
            self.flush_what_fits();
            return;
        }
        let n = self.pending.len();
        if n == 0 {
            return;
        }
        let mut backoff = Backoff::new(self.wait);
        let pending = &self.pending;
        while self
            .producer
            .try_batch_publish(n, |slots| {
                for (slot, output) in slots.zip(pending) {
                    *slot = *output;
                }
            })
            .is_err()
        {
            if self.health.failed() {
                break;
            }
            backoff.snooze();
        }
        self.published += n as u64;
        self.bell.ring(self.published as i64 - 1);
        self.pending.clear();
    }

    /// Publishes as many pending events as the ring has room for, oldest
    /// first, without waiting. `true` when none are left.
    pub fn flush_what_fits(&mut self) -> bool {
        let n = self.pending.len();
        if n == 0 {
            return true;
        }
        let fits = match self.publish_first(n) {
            Ok(()) => n,
            Err(MissingFreeSlots(missing)) => {
                let fits = n - (missing as usize).min(n);
                if fits > 0 && self.publish_first(fits).is_err() {
                    return false;
                }
                fits
            }
        };
        self.published += fits as u64;
        self.bell.ring(self.published as i64 - 1);
        self.pending.drain(..fits);
        self.pending.is_empty()
    }

    /// Publishes the first `n` pending events if the ring has room for them.
    fn publish_first(&mut self, n: usize) -> Result<(), MissingFreeSlots> {
        let pending = &self.pending[..n];
        self.producer
            .try_batch_publish(n, |slots| {
                for (slot, output) in slots.zip(pending) {
                    *slot = *output;
                }
            })
            .map(|_| ())
    }

    /// Events published to the ring so far.
    pub fn published(&self) -> u64 {
        self.published
    }
}

/// Writes the engine's events into the outbox, tagged with their command.
struct CommandSink<'a> {
    outbox: &'a mut Outbox,
    seq: u64,
    ts_ns: u64,
}

impl EventSink for CommandSink<'_> {
    #[inline]
    fn event(&mut self, event: Event) {
        self.outbox.push(Output {
            seq: self.seq,
            ts_ns: self.ts_ns,
            event,
            last: false,
        });
    }
}

pub(crate) struct MatchingStage {
    engine: Engine,
    outbox: Outbox,
    health: Arc<Health>,
    /// The last command applied.
    last_seq: u64,
    /// Where to write a snapshot on a clean shutdown, if anywhere.
    snapshot_dir: Option<PathBuf>,
    /// Snapshots while trading, if configured.
    snapshots: Option<Snapshots>,
    stats: Arc<PipelineStats>,
    /// Where the engine goes when the pipeline hands over (`handover.rs`).
    handback: Arc<Handback>,
}

impl MatchingStage {
    #[allow(clippy::too_many_arguments)] // called once, by `wire`
    pub fn new(
        engine: Engine,
        outbox: Outbox,
        health: Arc<Health>,
        last_seq: u64,
        snapshot_dir: Option<PathBuf>,
        snapshots: Option<Snapshots>,
        stats: Arc<PipelineStats>,
        handback: Arc<Handback>,
    ) -> Self {
        stats.matched(last_seq);
        MatchingStage {
            engine,
            outbox,
            health,
            last_seq,
            snapshot_dir,
            snapshots,
            stats,
            handback,
        }
    }

    /// The processor's step: `on_command`, with a panic reported, not propagated.
    #[inline]
    pub fn handle(&mut self, slot: &Inbound, end_of_batch: bool) {
        if let Err(message) = guarded(|| self.on_command(slot, end_of_batch)) {
            self.health.fail(STAGE, message);
        }
    }

    /// `handle` over a whole batch, for hosted polling: one panic guard
    /// for the batch (see `JournalStage::handle_batch`).
    #[inline]
    pub fn handle_batch<'a>(&mut self, slots: impl Iterator<Item = &'a Inbound>, n: usize) {
        if let Err(message) = guarded_batch(slots, n, |slot, end| self.on_command(slot, end)) {
            self.health.fail(STAGE, message);
        }
    }

    #[inline]
    fn on_command(&mut self, slot: &Inbound, end_of_batch: bool) {
        if self.health.failed() {
            return;
        }
        let mut sink = CommandSink {
            outbox: &mut self.outbox,
            seq: slot.seq,
            ts_ns: slot.ts_ns,
        };
        self.engine.execute(&slot.command, &mut sink);
        // Every command has at least one event, and `push` flushes before
        // it adds, so the command's last event is still pending here.
        if let Some(last) = self.outbox.pending.last_mut() {
            last.last = true;
        }
        self.last_seq = slot.seq;
        if end_of_batch {
            self.outbox.flush();
            self.stats.matching.batch();
            self.stats.matched(slot.seq);
        }
        if let Some(snapshots) = &mut self.snapshots {
            snapshots.after(slot.seq, slot.ts_ns, &self.engine);
        }
    }

    /// Hosted: publishes what an earlier flush could not; `true` when
    /// nothing is left, so M may take more commands.
    pub fn flush_what_fits(&mut self) -> bool {
        self.outbox.flush_what_fits()
    }

    /// Events published to the outbound ring so far.
    pub fn published(&self) -> u64 {
        self.outbox.published()
    }
}

impl Drop for MatchingStage {
    /// Shutdown: publish what is pending, and snapshot the books so the
    /// next start has nothing to replay. Handing over, the engine goes to
    /// the next pipeline instead, which has nothing to replay either.
    fn drop(&mut self) {
        if let Some(snapshots) = &mut self.snapshots {
            snapshots.close();
        }
        if self.health.failed() {
            return;
        }
        self.outbox.flush();
        if self.handback.wanted() {
            // An engine without instruments is a few empty vectors: what
            // is left behind in this stage, which is being dropped.
            match Engine::new(self.engine.config().clone()) {
                Ok(empty) => {
                    let engine = std::mem::replace(&mut self.engine, empty);
                    self.handback.give_engine(engine);
                }
                Err(e) => self
                    .health
                    .fail(STAGE, format!("handing the engine over: {e}")),
            }
            return;
        }
        if let Some(dir) = &self.snapshot_dir
            && self.last_seq > 0
            && let Err(e) = write_snapshot(dir, &self.engine, self.last_seq)
        {
            self.health
                .fail(STAGE, format!("writing the shutdown snapshot: {e}"));
        }
    }
}

impl std::fmt::Debug for MatchingStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MatchingStage")
            .field("last_seq", &self.last_seq)
            .finish_non_exhaustive()
    }
}
