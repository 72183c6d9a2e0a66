//! History: the events of a span of the journal, recomputed.
//!
//! The journal keeps commands, not events: events are a function of the
//! commands and the state before them, and the engine is deterministic. So
//! the events of the commands after sequence `after` are recomputed by
//! restoring the newest snapshot at or before `after` (or an empty engine,
//! if the journal still starts at sequence 1) and running every command
//! from there through a private engine. This is how the gateway answers a
//! client asking for the reports it missed (docs/protocol.md, "Recovering
//! missed reports"): nothing is stored per report, so the window is the
//! whole retained journal and it survives restarts.
//!
//! Read-only and lock-free, like `read_journal`: it runs beside the live
//! writer, which only appends, and reads no further than the `upto` the
//! caller knows to be released (and so written). A snapshot or segment that
//! retention removes while this reads is an error for this one call; the
//! caller may ask again.

use std::ops::ControlFlow;
use std::path::Path;

use super::error::JournalError;
use super::instruments::read_instruments;
use super::layout;
use super::reader;
use super::record::Record;
use super::recovery::{Restore, fresh_engine, restore};
use super::snapshot::read_snapshot;
use matching::config::EngineConfig;
use matching::event::Event;

/// What `replay_span` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// The state it started from: a snapshot's sequence, or 0 (empty).
    pub base: u64,
    /// Commands run from `base` on, including those before `after`.
    pub commands: u64,
    /// The last command whose events were passed on (`after` if none).
    pub last_seq: u64,
}

/// Why a span's events cannot be recomputed.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// Retention has removed what the span starts from: the journal now
    /// recomputes only the events of commands after `earliest`.
    #[error(
        "the events after sequence {asked} are no longer retained: the journal's history \
         begins after sequence {earliest}"
    )]
    NotRetained { asked: u64, earliest: u64 },
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// Calls `f` with each command after `after`, up to `upto`, and the events
/// it made, in sequence order, as the engine made them live. `config` must
/// be the configuration the journal was written with (capacities decide
/// `BOOK_FULL` rejects). `f` may stop the replay early (`Break`).
pub fn replay_span(
    dir: &Path,
    config: &EngineConfig,
    after: u64,
    upto: u64,
    mut f: impl FnMut(&Record, &[Event]) -> ControlFlow<()>,
) -> Result<Span, HistoryError> {
    let instruments = read_instruments(dir)?;
    let listing = layout::list(dir)?;
    let mut events = Vec::new();
    // The newest base at or before `after` that restores and whose next
    // record the journal holds; an older one if not.
    let mut bases = listing
        .snapshots
        .iter()
        .rev()
        .filter(|s| s.seq <= after)
        .map(|s| Some(s.path.clone()))
        .chain(std::iter::once(None));
    loop {
        let Some(candidate) = bases.next() else {
            return Err(not_retained(dir, after)?);
        };
        let (mut engine, base) = match candidate {
            Some(path) => {
                let Ok(snapshot) = read_snapshot(&path) else {
                    continue;
                };
                if snapshot.instruments != instruments {
                    continue;
                }
                match restore(&snapshot, config) {
                    Ok(engine) => (engine, snapshot.last_seq),
                    Err(Restore::Setup(e)) => return Err(e.into()),
                    Err(Restore::Order(_)) => continue,
                }
            }
            None => (fresh_engine(&instruments, config)?, 0),
        };
        let mut span = Span {
            base,
            commands: 0,
            last_seq: after,
        };
        let read = reader::read_segments(&listing.segments, base, |rec| {
            if rec.seq > upto {
                return ControlFlow::Break(());
            }
            events.clear();
            engine.execute(&rec.command, &mut events);
            span.commands += 1;
            if rec.seq <= after {
                return ControlFlow::Continue(());
            }
            span.last_seq = rec.seq;
            f(rec, &events)
        });
        match read {
            Ok(_) => return Ok(span),
            // Nothing was passed on: this base's next record is gone, so
            // try an older one.
            Err(JournalError::MissingStart { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// The error for a span starting at `after` that no base covers, naming
/// the earliest one that is covered.
fn not_retained(dir: &Path, after: u64) -> Result<HistoryError, JournalError> {
    let listing = layout::list(dir)?;
    let from_start = listing.segments.first().is_some_and(|s| s.seq == 1);
    let earliest = if from_start {
        0
    } else {
        listing
            .snapshots
            .first()
            .map_or_else(|| listing.segments.first().map_or(0, |s| s.seq), |s| s.seq)
    };
    Ok(HistoryError::NotRetained {
        asked: after,
        earliest,
    })
}
