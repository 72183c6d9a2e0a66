//! Recovery: rebuild the engine from the newest usable snapshot and the
//! journal after it, so the pipeline can accept traffic at `last_seq + 1`.
//!
//! Steps:
//! 1. Read the instruments file (a directory without one holds no journal),
//!    and take the directory's lock: recovering a journal that a writer is
//!    still appending to would cut off the record being written.
//! 2. Take the newest snapshot that checks out: its checksum, its format,
//!    its instruments equal to the journal's, and restorable. Each one
//!    passed over is a warning; with none, start from an empty engine at
//!    sequence 0.
//! 3. Replay every journal record after the snapshot through the engine,
//!    discarding the events (clients already saw them, or never will: they
//!    were not durable when the process stopped). Damage before the tail
//!    stops recovery with an error naming the file and offset. If the
//!    journal ends before the snapshot's sequence, the snapshot is ahead
//!    of what is durable: pass it over and go back to step 2.
//! 4. Cut off the torn tail of the last segment, if the replay found one,
//!    and fsync every segment and the directory: what recovery built on
//!    must be on disk before anything it leads to is released.
//!
//! Each segment is read once: the replay is also the scan that finds the
//! torn tail, which is why the tail is repaired after it rather than before.

use std::path::{Path, PathBuf};

use super::error::JournalError;
use super::files;
use super::instruments::read_instruments;
use super::layout::{self, Numbered};
use super::lock::DirLock;
use super::reader::{self, ReadSummary};
use super::repair;
use super::snapshot::{Snapshot, read_snapshot};
use super::warning::Warning;
use matching::book::RestoreError;
use matching::config::EngineConfig;
use matching::engine::Engine;
use matching::event::Event;
use matching::types::InstrumentSpec;

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
    let _lock = DirLock::acquire(dir)?;
    let listing = layout::list(dir)?;
    let mut warnings = Vec::new();
    let mut candidates = listing.snapshots.iter().rev();

    let (engine, snapshot, restored_orders, summary) = loop {
        let start = next_snapshot(&mut candidates, &instruments, &config, &mut warnings)?;
        let (mut engine, snapshot, restored) = match start {
            Some((engine, path, snap)) => (engine, Some((path, snap.last_seq)), snap.orders.len()),
            None => (fresh_engine(&instruments, &config)?, None, 0),
        };
        let after = snapshot.as_ref().map_or(0, |s| s.1);
        let mut discard = |_: Event| {};
        let replayed = reader::read_segments(&listing.segments, after, |rec| {
            engine.execute(&rec.command, &mut discard);
            std::ops::ControlFlow::Continue(())
        });
        let skip = |reason: String| {
            let file = snapshot.as_ref().map(|s| s.0.clone()).unwrap_or_default();
            Warning::SnapshotSkipped { file, reason }
        };
        match replayed {
            Ok(summary) if summary.last_seq < after => {
                warnings.push(skip(format!(
                    "it holds the state after sequence {after}, but the journal ends at {}; \
                     snapshots must only be taken of durable sequences",
                    summary.last_seq
                )));
            }
            Err(JournalError::MissingStart { first, .. }) if snapshot.is_some() => {
                warnings.push(skip(format!(
                    "the journal starts at {first}, after the snapshot's next sequence"
                )));
            }
            Ok(summary) => break (engine, snapshot, restored as u64, summary),
            Err(e) => return Err(e),
        }
    };

    let ReadSummary {
        last_seq,
        records: replayed,
        warnings: found,
    } = summary;
    warnings.extend(repair_tail(&listing.segments, found)?);
    repair::sync_segments(&listing.segments)?;
    files::sync_dir(dir)?;
    Ok((
        engine,
        Recovered {
            last_seq: last_seq.max(snapshot.as_ref().map_or(0, |s| s.1)),
            snapshot,
            replayed,
            restored_orders,
            warnings,
        },
    ))
}

/// The next snapshot, newest first, that checks out and restores, with an
/// engine holding its state. Snapshots passed over become warnings. Only a
/// configuration too small to hold the snapshot is an error: falling back
/// to an older state would hide it.
fn next_snapshot<'a>(
    candidates: &mut impl Iterator<Item = &'a Numbered>,
    instruments: &[InstrumentSpec],
    config: &EngineConfig,
    warnings: &mut Vec<Warning>,
) -> Result<Option<(Engine, PathBuf, Snapshot)>, JournalError> {
    for snap in candidates {
        let mut skip = |reason: String| {
            warnings.push(Warning::SnapshotSkipped {
                file: snap.path.clone(),
                reason,
            })
        };
        let snapshot = match read_snapshot(&snap.path) {
            Ok(s) => s,
            Err(e) => {
                skip(snapshot_problem(e));
                continue;
            }
        };
        if snapshot.instruments != instruments {
            skip("its instruments differ from the journal's `instruments` file".into());
            continue;
        }
        match restore(&snapshot, config) {
            Ok(engine) => return Ok(Some((engine, snap.path.clone(), snapshot))),
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
    Ok(None)
}

/// Repairs the torn tail or header the replay found (reads never change
/// files; recovery does, now that it knows exactly where the tail is).
fn repair_tail(segments: &[Numbered], found: Vec<Warning>) -> Result<Vec<Warning>, JournalError> {
    let Some(last) = segments.last() else {
        return Ok(found);
    };
    if found.is_empty() {
        return Ok(found);
    }
    // The replay and the repair scan agree, since both read the same bytes
    // under the lock; repairing through the scan keeps one code path that
    // changes files.
    let (_, repaired) = repair::repair_last_segment(last)?;
    Ok(repaired)
}

/// What is wrong with a snapshot, without its path (the warning names it).
pub(crate) fn snapshot_problem(e: JournalError) -> String {
    match e {
        JournalError::BadFile { problem, .. } => problem,
        JournalError::Io { action, source, .. } => format!("cannot {action} it: {source}"),
        other => other.to_string(),
    }
}

pub(crate) enum Restore {
    Order(RestoreError),
    Setup(JournalError),
}

pub(crate) fn fresh_engine(
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
pub(crate) fn restore(snapshot: &Snapshot, config: &EngineConfig) -> Result<Engine, Restore> {
    let mut engine = fresh_engine(&snapshot.instruments, config).map_err(Restore::Setup)?;
    // Controls first: a tracked account's orders are counted as they return.
    engine
        .restore_controls(&snapshot.controls)
        .map_err(Restore::Order)?;
    for order in &snapshot.orders {
        engine.restore_order(order).map_err(Restore::Order)?;
    }
    Ok(engine)
}
