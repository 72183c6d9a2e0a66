//! A read-only check of a whole journal directory, for `journal verify`:
//! every segment, every snapshot, and whether recovery would accept it.
//! Unlike recovery it does not stop at the first problem and changes
//! nothing on disk.

use std::path::{Path, PathBuf};

use super::damage::Damage;
use super::error::JournalError;
use super::instruments::read_instruments;
use super::layout;
use super::reader::{self, SegmentReport};
use super::snapshot::read_snapshot;
use matching::types::InstrumentSpec;

/// One segment as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentCheck {
    pub report: SegmentReport,
    /// Set when the segment's first sequence does not continue the one before.
    pub gap: Option<Damage>,
}

impl SegmentCheck {
    /// `true` when recovery would refuse this segment.
    pub fn refused(&self) -> bool {
        self.gap.is_some() || self.report.damage.is_some_and(|d| !d.is_repairable())
    }
}

/// What a snapshot is worth to recovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotStatus {
    /// Checks out; recovery may start from it.
    Usable { orders: u64 },
    /// Damaged or unreadable; recovery skips it.
    Damaged(String),
    /// Intact but not usable with this journal; recovery skips it.
    Unusable(String),
}

/// One snapshot as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotCheck {
    pub path: PathBuf,
    pub seq: u64,
    pub status: SnapshotStatus,
}

/// Everything `inspect` found.
#[derive(Debug, Clone)]
pub struct Inspection {
    /// The instrument definitions, or why they cannot be read.
    pub instruments: Result<Vec<InstrumentSpec>, String>,
    pub segments: Vec<SegmentCheck>,
    pub snapshots: Vec<SnapshotCheck>,
    /// The last whole record of the journal (0: none).
    pub last_seq: u64,
    /// Set when the first segment starts after sequence 1 and no usable
    /// snapshot covers the records before it: `(needed, first)`.
    pub missing_start: Option<(u64, u64)>,
}

impl Inspection {
    /// `true` when `recover` would return an error for this directory.
    pub fn recovery_refuses(&self) -> bool {
        self.instruments.is_err()
            || self.missing_start.is_some()
            || self.segments.iter().any(SegmentCheck::refused)
    }
}

/// Checks the journal in `dir` without changing it. An error only when the
/// directory cannot be listed or is not a journal at all.
pub fn inspect(dir: &Path) -> Result<Inspection, JournalError> {
    let instruments = match read_instruments(dir) {
        Ok(specs) => Ok(specs),
        Err(e @ (JournalError::NotAJournal { .. } | JournalError::Io { .. })) => return Err(e),
        Err(e) => Err(e.to_string()),
    };
    let listing = layout::list(dir)?;
    let mut segments: Vec<SegmentCheck> = Vec::with_capacity(listing.segments.len());
    let mut buf = Vec::new();
    for (i, seg) in listing.segments.iter().enumerate() {
        let is_last = i + 1 == listing.segments.len();
        let report = reader::scan_segment(&seg.path, seg.seq, is_last, &mut buf, |_| {
            std::ops::ControlFlow::Continue(())
        })?;
        let gap = segments.last().and_then(|prev| {
            let expected = prev.report.next_seq();
            (expected != seg.seq).then_some(Damage::SegmentGap {
                expected,
                found: seg.seq,
            })
        });
        segments.push(SegmentCheck { report, gap });
    }
    let last_seq = segments
        .last()
        .map_or(0, |s| s.report.next_seq().saturating_sub(1));
    let first_seq = segments.first().map_or(1, |s| s.report.first_seq);

    let mut snapshots = Vec::with_capacity(listing.snapshots.len());
    for snap in &listing.snapshots {
        let status = match read_snapshot(&snap.path) {
            Err(e) => SnapshotStatus::Damaged(super::recovery::snapshot_problem(e)),
            Ok(s) if instruments.as_ref().is_ok_and(|i| *i != s.instruments) => {
                SnapshotStatus::Unusable("its instruments differ from the journal's".into())
            }
            Ok(_) if snap.seq > last_seq => SnapshotStatus::Unusable(format!(
                "ahead of the journal, which ends at sequence {last_seq}"
            )),
            Ok(_) if snap.seq.saturating_add(1) < first_seq => SnapshotStatus::Unusable(format!(
                "the journal starts at {first_seq}, after this snapshot's next sequence"
            )),
            Ok(s) => SnapshotStatus::Usable {
                orders: s.orders.len() as u64,
            },
        };
        snapshots.push(SnapshotCheck {
            path: snap.path.clone(),
            seq: snap.seq,
            status,
        });
    }
    let covered = snapshots
        .iter()
        .any(|s| matches!(s.status, SnapshotStatus::Usable { .. }) && s.seq + 1 >= first_seq);
    let missing_start = (first_seq > 1 && !covered).then_some((1, first_seq));
    Ok(Inspection {
        instruments,
        segments,
        snapshots,
        last_seq,
        missing_start,
    })
}
