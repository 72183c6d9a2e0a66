//! History: the events of a span of the journal, recomputed.
//!
//! The journal keeps commands, not events: events are a function of the
//! commands and the state before them, and the engine is deterministic. So
//! the events of the commands after sequence `after` are recomputed by
//! restoring the newest snapshot at or before `after` (or an empty engine,
//! if the journal still starts at sequence 1) and running every command
//! from there through a private engine. A snapshot that does not check
//! out is passed over for an older base, as recovery does. This is how the gateway answers a
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
use super::snapshot::{Snapshot, read_snapshot};
use matching::book::SnapshotOrder;
use matching::config::EngineConfig;
use matching::event::Event;

/// What `replay_span` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// The state it started from: a snapshot's sequence, or 0 (empty).
    pub base: u64,
    /// Commands run from `base` on.
    pub commands: u64,
    /// The last command run (`base` if none).
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

/// What a span's replay is told, in order: the resting orders of the state
/// it starts from, then every command after that, with its events.
pub trait SpanVisitor {
    /// A resting order of the base state (none when it is the journal's
    /// start), in snapshot order.
    fn base_order(&mut self, order: &SnapshotOrder);
    /// A command after the base, up to `upto`, and the events it made, as
    /// the engine made them live. `Break` stops the replay.
    fn command(&mut self, record: &Record, events: &[Event]) -> ControlFlow<()>;
}

/// Replays the journal in `dir` from the newest base (a snapshot, or the
/// journal's start) at or before sequence `after`, up to `upto`, telling
/// `visitor` the base's orders and each command's events. So every
/// command after `after` is seen, and those between the base and `after`
/// too (a caller may need the orders they entered). `config` must be the
/// configuration the journal was written with (capacities decide
/// `BOOK_FULL` rejects).
pub fn replay_span(
    dir: &Path,
    config: &EngineConfig,
    after: u64,
    upto: u64,
    visitor: &mut impl SpanVisitor,
) -> Result<Span, HistoryError> {
    let instruments = read_instruments(dir)?;
    let listing = layout::list(dir)?;
    // A base is usable only if the journal holds the record after it.
    let first = listing.segments.first().map_or(u64::MAX, |s| s.seq);
    let mut bases = listing
        .snapshots
        .iter()
        .rev()
        .filter(|s| s.seq <= after && first <= s.seq.saturating_add(1))
        .map(|s| Some(s.path.clone()))
        .chain((first <= 1).then_some(None));
    let (mut engine, base) = loop {
        match bases.next() {
            None => return Err(not_retained(&listing, after)),
            Some(None) => {
                break (fresh_engine(&instruments, config)?, None::<Snapshot>);
            }
            Some(Some(path)) => {
                let Ok(snapshot) = read_snapshot(&path) else {
                    continue;
                };
                if snapshot.instruments != instruments {
                    continue;
                }
                match restore(&snapshot, config) {
                    Ok(engine) => break (engine, Some(snapshot)),
                    Err(Restore::Setup(e)) => return Err(e.into()),
                    Err(Restore::Order(_)) => continue,
                }
            }
        }
    };
    let base_seq = base.as_ref().map_or(0, |s| s.last_seq);
    for order in base.iter().flat_map(|s| &s.orders) {
        visitor.base_order(order);
    }
    let mut span = Span {
        base: base_seq,
        commands: 0,
        last_seq: base_seq,
    };
    let mut events = Vec::new();
    reader::read_segments(&listing.segments, base_seq, |rec| {
        if rec.seq > upto {
            return ControlFlow::Break(());
        }
        events.clear();
        engine.execute(&rec.command, &mut events);
        span.commands += 1;
        span.last_seq = rec.seq;
        visitor.command(rec, &events)
    })?;
    Ok(span)
}

/// The error for a span starting at `after` that no base covers, naming
/// the earliest one that is covered.
fn not_retained(listing: &layout::Listing, after: u64) -> HistoryError {
    let earliest = listing
        .snapshots
        .first()
        .map_or_else(|| listing.segments.first().map_or(0, |s| s.seq), |s| s.seq);
    HistoryError::NotRetained {
        asked: after,
        earliest,
    }
}
