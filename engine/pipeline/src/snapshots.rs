//! Snapshots while trading: every `snapshot_every` commands, or every
//! `snapshot_interval` of ingest time, whichever comes first, M copies the
//! books out at a consistent point (between two commands, where it stands
//! anyway) and a thread of its own writes the copy to disk, so a crash
//! replays only the journal after the newest snapshot.
//!
//! M stops matching only for the copy: one pass over the resting orders
//! into a vector kept from one snapshot to the next (docs/journal.md,
//! "Snapshots while trading", has the measured pause per resting order).
//! Writing, fsync and rename are the writer's. If the writer is still busy
//! with the previous snapshot when the next is due, M skips it rather than
//! wait: a snapshot is an optimisation of recovery, never a condition of
//! progress. A snapshot may be of a sequence the journal has not yet made
//! durable; recovery passes over a snapshot ahead of the journal, so that
//! is safe (docs/journal.md). After each write the writer deletes all but
//! the two newest snapshots, and retires (deletes or archives, per
//! `PipelineConfig::retain_segments`) the journal segments wholly before
//! the older of the two, so disk use stays bounded.
//!
//! The time trigger reads no clock: it compares the ingest times the
//! gateway stamped on the commands (`Inbound::ts_ns`), so M stays free of
//! clocks, and a quiet venue, whose books do not change, takes no
//! snapshots.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::thread::JoinHandle;

use super::gate::DurableGate;
use journal::{
    JournalError, SegmentRetention, Snapshot, prune_snapshots, retire_segments, write_snapshot_of,
};
use matching::book::SnapshotOrder;
use matching::engine::Engine;
use matching::types::InstrumentSpec;

/// Snapshots kept on disk: the newest, and one in case it is damaged.
const KEEP: usize = 2;

/// M's side of the periodic snapshots.
pub(crate) struct Snapshots {
    every: u64,
    /// The sequence at or after which the next snapshot is taken.
    next_at: u64,
    /// The ingest time between two snapshots, in ns (`u64::MAX`: none).
    interval_ns: u64,
    /// The ingest time at or after which the next snapshot is taken; set
    /// from the first command seen.
    next_ts: Option<u64>,
    instruments: Vec<InstrumentSpec>,
    /// To the writer; `None` once closed.
    jobs: Option<SyncSender<Snapshot>>,
    /// Order vectors the writer is done with, for the next copy.
    spare: Receiver<Vec<SnapshotOrder>>,
    /// The vector of the next copy, when the writer has given one back.
    orders: Option<Vec<SnapshotOrder>>,
    writer: Option<JoinHandle<()>>,
    /// Snapshots skipped because the writer was busy.
    pub skipped: u64,
}

impl Snapshots {
    /// A snapshot every `every` commands (at least 1; `None`: no count)
    /// after `last_seq`, or every `interval_ns` of ingest time (`None`: no
    /// time), written into `dir`. Setup: starts the writer thread.
    pub fn start(
        dir: PathBuf,
        every: Option<u64>,
        interval_ns: Option<u64>,
        retention: SegmentRetention,
        gate: Arc<DurableGate>,
        last_seq: u64,
        engine: &Engine,
    ) -> std::io::Result<Snapshots> {
        let every = every.map_or(u64::MAX, |n| n.max(1));
        let (jobs, todo) = sync_channel::<Snapshot>(1);
        let (give_back, spare) = sync_channel::<Vec<SnapshotOrder>>(1);
        let writer = std::thread::Builder::new()
            .name("snapshot".into())
            .spawn(move || {
                for snapshot in todo {
                    let written = write_snapshot_of(&dir, &snapshot)
                        .and_then(|_| prune_snapshots(&dir, KEEP))
                        .and_then(|oldest| retire(&dir, oldest, &retention, gate.durable()));
                    match written {
                        Ok(retired) => tracing::info!(
                            seq = snapshot.last_seq,
                            orders = snapshot.orders.len(),
                            retired_segments = retired,
                            "snapshot written"
                        ),
                        // The journal still has everything: recovery
                        // replays more, nothing is lost.
                        Err(e) => tracing::warn!(
                            seq = snapshot.last_seq,
                            "could not write the snapshot: {e}"
                        ),
                    }
                    let mut orders = snapshot.orders;
                    orders.clear();
                    let _ = give_back.try_send(orders);
                }
            })?;
        Ok(Snapshots {
            every,
            next_at: last_seq.saturating_add(every),
            interval_ns: interval_ns.map_or(u64::MAX, |ns| ns.max(1)),
            next_ts: None,
            instruments: engine.instruments().copied().collect(),
            jobs: Some(jobs),
            spare,
            orders: Some(Vec::new()),
            writer: Some(writer),
            skipped: 0,
        })
    }

    /// After M applied command `seq`, ingested at `ts_ns`: a snapshot if
    /// one is due.
    #[inline]
    pub fn after(&mut self, seq: u64, ts_ns: u64, engine: &Engine) {
        let next_ts = *self
            .next_ts
            .get_or_insert_with(|| ts_ns.saturating_add(self.interval_ns));
        if seq >= self.next_at || ts_ns >= next_ts {
            self.take(seq, ts_ns, engine);
        }
    }

    #[cold]
    fn take(&mut self, seq: u64, ts_ns: u64, engine: &Engine) {
        self.next_at = seq.saturating_add(self.every);
        self.next_ts = Some(ts_ns.saturating_add(self.interval_ns));
        if self.orders.is_none() {
            match self.spare.try_recv() {
                Ok(orders) => self.orders = Some(orders),
                Err(TryRecvError::Empty) => {
                    // The writer still has the last one.
                    self.skipped += 1;
                    return;
                }
                Err(TryRecvError::Disconnected) => return,
            }
        }
        let (Some(mut orders), Some(jobs)) = (self.orders.take(), &self.jobs) else {
            return;
        };
        engine.for_each_order(|o| orders.push(o));
        let snapshot = Snapshot {
            last_seq: seq,
            instruments: self.instruments.clone(),
            orders,
            controls: engine.controls(),
        };
        if jobs.try_send(snapshot).is_err() {
            self.skipped += 1;
        }
    }

    /// Waits for the writer to finish what it has (shutdown).
    pub fn close(&mut self) {
        self.jobs = None;
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

/// Retires the segments wholly before the older retained snapshot, so
/// either snapshot can still be recovered from, and never past the durable
/// sequence: a snapshot ahead of the journal is one recovery passes over,
/// so the records before it must stay until the journal has caught up.
fn retire(
    dir: &std::path::Path,
    oldest_kept: Option<u64>,
    retention: &SegmentRetention,
    durable: u64,
) -> Result<usize, JournalError> {
    match oldest_kept {
        Some(oldest) => retire_segments(dir, oldest.min(durable), retention),
        None => Ok(0),
    }
}

impl Drop for Snapshots {
    fn drop(&mut self) {
        self.close();
    }
}
