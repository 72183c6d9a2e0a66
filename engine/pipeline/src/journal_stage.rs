//! J: appends every command to the journal and publishes what is durable.
//!
//! Runs in parallel with M on the same inbound sequence. Each command is
//! appended to the writer's buffer (no syscall); at the end of each batch
//! the writer commits as the durability setting says (nothing, one `write`,
//! or `write` + one `fdatasync`: group commit) and the gate moves to the
//! durable sequence, releasing every event of the batch at once.

use std::sync::Arc;
use std::time::Instant;

use super::gate::DurableGate;
use super::guard::{guarded, guarded_batch};
use super::handover::Handback;
use super::health::Health;
use super::replicator::Replicator;
use super::slots::Inbound;
use super::stats::PipelineStats;
use journal::JournalWriter;

pub(crate) const STAGE: &str = "journal";

pub(crate) struct JournalStage {
    writer: Option<JournalWriter>,
    gate: Arc<DurableGate>,
    health: Arc<Health>,
    stats: Arc<PipelineStats>,
    /// Commits fsync (durability `fsync`): time them.
    timed: bool,
    /// A cluster's log (`replicator.rs`), with the batch being gathered for it.
    replication: Option<Replication>,
    /// Where the writer goes when the pipeline hands over (`handover.rs`).
    handback: Arc<Handback>,
}

/// The batch J gathers for the replicator: the same records it journals.
struct Replication {
    replicator: Arc<dyn Replicator>,
    records: Vec<u8>,
    first: u64,
}

/// Bytes a replicated batch starts with room for: a full batch of the
/// largest records allocates once (the log library takes the batch by value).
const BATCH_CAPACITY: usize = 16 << 10;

impl JournalStage {
    pub fn new(
        writer: JournalWriter,
        gate: Arc<DurableGate>,
        health: Arc<Health>,
        stats: Arc<PipelineStats>,
        timed: bool,
        replicator: Option<Arc<dyn Replicator>>,
        handback: Arc<Handback>,
    ) -> Self {
        JournalStage {
            writer: Some(writer),
            gate,
            health,
            stats,
            timed,
            replication: replicator.map(|replicator| Replication {
                replicator,
                records: Vec::with_capacity(BATCH_CAPACITY),
                first: 0,
            }),
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
    /// for the batch instead of one per command (a guard is a call through
    /// a function pointer that nothing can inline: see `guard.rs`).
    /// A panic ends the batch; the stage does nothing more once it has
    /// failed, so the commands after it would have been skipped anyway.
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
        let Some(writer) = self.writer.as_mut() else {
            return;
        };
        if let Err(e) = writer.append(slot.seq, slot.ts_ns, &slot.command) {
            return self.health.fail(STAGE, e.to_string());
        }
        if let Some(r) = self.replication.as_mut() {
            if r.records.is_empty() {
                r.first = slot.seq;
            }
            journal::record::encode(&mut r.records, slot.seq, slot.ts_ns, &slot.command);
        }
        if end_of_batch {
            if let Some(r) = self.replication.as_mut() {
                let records = std::mem::replace(&mut r.records, Vec::with_capacity(BATCH_CAPACITY));
                r.replicator.replicate(records, r.first, slot.seq);
            }
            let started = self.timed.then(Instant::now);
            match writer.commit() {
                Ok(durable) => self.gate.publish(durable),
                Err(e) => return self.health.fail(STAGE, e.to_string()),
            }
            if let Some(started) = started {
                self.stats.fsync(started.elapsed());
            }
            self.stats.journal.batch();
        }
    }
}

impl Drop for JournalStage {
    /// Shutdown: write and fsync whatever the setting, so a clean stop
    /// leaves the whole journal on disk, then open the gate for the rest.
    /// Handing over, the writer stays open for the next pipeline, committed
    /// as the setting asks: the process goes on, so an fsync would buy
    /// nothing the setting did not already promise.
    fn drop(&mut self) {
        let Some(mut writer) = self.writer.take() else {
            return;
        };
        if self.health.failed() {
            return;
        }
        if self.handback.wanted() {
            match writer.commit() {
                Ok(durable) => {
                    self.gate.publish(durable);
                    self.handback.give_writer(writer);
                }
                Err(e) => self
                    .health
                    .fail(STAGE, format!("handing the journal over: {e}")),
            }
            return;
        }
        match writer.close() {
            Ok(last) => self.gate.publish(last),
            Err(e) => self.health.fail(STAGE, format!("closing the journal: {e}")),
        }
    }
}

impl std::fmt::Debug for JournalStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JournalStage").finish_non_exhaustive()
    }
}
