//! Recovery: rebuild the engine from the newest usable snapshot and the
//! journal after it, so the pipeline can accept traffic at `last_seq + 1`.
//!
//! Steps:
//! 1. Read the instruments file (a directory without one holds no journal).
//! 2. Repair the last segment's torn tail, if any, and fsync every segment
//!    and the directory: what recovery builds on must be on disk before
//!    anything it leads to is released.
//! 3. Take the newest snapshot that checks out: its checksum, its format,
//!    its instruments equal to the journal's, not ahead of the journal's
//!    end, and restorable. Each one passed over is a warning; with none,
//!    start from an empty engine at sequence 0.
//! 4. Replay every journal record after the snapshot through the engine,
//!    discarding the events (clients already saw them, or never will: they
//!    were not durable when the process stopped). Damage before the tail
//!    stops recovery with an error naming the file and offset.

use std::path::{Path, PathBuf};

use super::error::JournalError;
use super::files;
use super::instruments::read_instruments;
use super::layout;
use super::reader;
use super::repair;
use super::snapshot::{Snapshot, read_snapshot};
use super::warning::Warning;
use crate::book::RestoreError;
use crate::config::EngineConfig;
use crate::engine::Engine;
use crate::event::Event;
use crate::types::InstrumentSpec;

/// What recovery did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// The last sequence applied: the pipeline continues at `last_seq + 1`
    /// (0: an empty journal).
    pub last_seq: u64,
    /// The snapshot recovery started from, and its sequence.
    pub snapshot: Option<(PathBuf, u64)>,
    /// Journal records replayed after the snapshot.
    pub replayed: u64,
    /// Resting orders restored from the snapshot.
    pub restored_orders: u64,
    /// Torn tails cut off and snapshots passed over; print them.
    pub warnings: Vec<Warning>,
}

/// Recovers the engine from the journal in `dir`. See the module doc for
/// the steps. `config` must be the configuration the journal was written
/// with: capacities change which commands are rejected (`BOOK_FULL`).
pub fn recover(dir: &Path, config: EngineConfig) -> Result<(Engine, Recovered), JournalError> {
    let instruments = read_instruments(dir)?;
    let listing = layout::list(dir)?;
    let mut warnings = Vec::new();

    let journal_last = match listing.segments.last() {
        Some(last) => {
            let (report, repaired) = repair::repair_last_segment(last)?;
            warnings.extend(repaired);
            report.next_seq().saturating_sub(1)
        }
        None => 0,
    };
    repair::sync_segments(&listing.segments)?;
    files::sync_dir(dir)?;

    let journal_first = listing.segments.first().map_or(1, |s| s.seq);
    let mut base = None;
    for snap in listing.snapshots.iter().rev() {
        let mut skip = |reason: String| {
            warnings.push(Warning::SnapshotSkipped {
                file: snap.path.clone(),
                reason,
            })
        };
        if snap.seq > journal_last {
            skip(format!(
                "it holds the state after sequence {}, but the journal ends at {journal_last}; \
                 snapshots must only be taken of durable sequences",
                snap.seq
            ));
            continue;
        }
        if snap.seq.saturating_add(1) < journal_first {
            skip(format!(
                "the journal starts at {journal_first}, after the snapshot's next sequence"
            ));
            continue;
        }
        let snapshot = match read_snapshot(&snap.path) {
            Ok(s) => s,
            Err(e) => {
                skip(e.to_string());
                continue;
            }
        };
        if snapshot.instruments != instruments {
            skip("its instruments differ from the journal's `instruments` file".into());
            continue;
        }
        match restore(&snapshot, &config) {
            Ok(engine) => {
                base = Some((engine, snap.path.clone(), snapshot));
                break;
            }
            // The snapshot is fine; the configuration is too small for it.
            Err(Restore::Order(source @ RestoreError::BookFull(_))) => {
                return Err(JournalError::Restore {
                    file: snap.path.clone(),
                    source,
                });
            }
            Err(Restore::Order(e)) => skip(e.to_string()),
            Err(Restore::Setup(e)) => return Err(e),
        }
    }

    let (mut engine, snapshot, after, restored_orders) = match base {
        Some((engine, path, snap)) => {
            let restored = snap.orders.len() as u64;
            (engine, Some((path, snap.last_seq)), snap.last_seq, restored)
        }
        None => (fresh_engine(&instruments, &config)?, None, 0, 0),
    };
    let mut discard = |_: Event| {};
    let summary = reader::read_segments(&listing.segments, after, |rec| {
        engine.execute(&rec.command, &mut discard);
    })?;
    warnings.extend(summary.warnings);
    let last_seq = summary.last_seq.unwrap_or(0).max(after);
    Ok((
        engine,
        Recovered {
            last_seq,
            snapshot,
            replayed: summary.records,
            restored_orders,
            warnings,
        },
    ))
}

enum Restore {
    Order(RestoreError),
    Setup(JournalError),
}

fn fresh_engine(
    instruments: &[InstrumentSpec],
    config: &EngineConfig,
) -> Result<Engine, JournalError> {
    let mut engine = Engine::new(config.clone())?;
    for spec in instruments {
        engine.add_instrument(*spec)?;
    }
    Ok(engine)
}

/// An engine holding `snapshot`'s state.
fn restore(snapshot: &Snapshot, config: &EngineConfig) -> Result<Engine, Restore> {
    let mut engine = fresh_engine(&snapshot.instruments, config).map_err(Restore::Setup)?;
    for order in &snapshot.orders {
        engine.restore_order(order).map_err(Restore::Order)?;
    }
    Ok(engine)
}
