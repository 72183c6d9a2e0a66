//! What can be wrong with a journal's bytes: a segment's header, or the
//! records after it.
//!
//! Its own file because three sides need these values: the reader finds
//! them, recovery repairs the ones it can, and `JournalError` carries the
//! rest to the operator. Kept apart from all three, each imports it and
//! none imports the others for it.

use std::fmt;

use super::record::RecordProblem;

/// Why a segment's header is not valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HeaderProblem {
    #[error("file of {0} bytes is shorter than the 24-byte segment header")]
    Short(usize),
    #[error("no segment magic: not a journal segment")]
    BadMagic,
    #[error(
        "segment format version {0}; this build reads version 2 (a version-1 journal predates client order ids in records: `journal export` it with the build that wrote it, then `journal import` the text into a new directory)"
    )]
    UnsupportedVersion(u32),
    #[error("header checksum mismatch")]
    Checksum,
    #[error("header says first sequence {header} but the file name says {name}")]
    FirstSeqMismatch { name: u64, header: u64 },
}

/// A problem in a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    /// The last segment ends inside a record: recovery truncates at `offset`.
    TornTail {
        offset: u64,
        dropped: u64,
        problem: RecordProblem,
    },
    /// The last segment ends inside its header: recovery rewrites it.
    TornHeader { bytes: u64 },
    /// The header is not this segment's.
    BadHeader(HeaderProblem),
    /// A bad record with valid data after it, or in a segment that is not
    /// the last, or a checksum-valid record that does not decode.
    Corrupt { offset: u64, problem: RecordProblem },
    /// A valid record whose sequence is not the next one.
    SequenceGap {
        offset: u64,
        expected: u64,
        found: u64,
    },
    /// The segment's first sequence does not continue the segment before it.
    SegmentGap { expected: u64, found: u64 },
}

impl Damage {
    /// `true` for what recovery repairs by itself (torn tails, torn headers).
    pub fn is_repairable(&self) -> bool {
        matches!(self, Damage::TornTail { .. } | Damage::TornHeader { .. })
    }

    /// The byte offset in the file where the problem starts.
    pub fn offset(&self) -> u64 {
        match *self {
            Damage::TornTail { offset, .. }
            | Damage::Corrupt { offset, .. }
            | Damage::SequenceGap { offset, .. } => offset,
            Damage::TornHeader { .. } | Damage::BadHeader(_) | Damage::SegmentGap { .. } => 0,
        }
    }
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Damage::TornTail {
                offset,
                dropped,
                problem,
            } => write!(
                f,
                "torn tail at byte {offset}: {dropped} bytes of an incomplete record ({problem})"
            ),
            Damage::TornHeader { bytes } => {
                write!(
                    f,
                    "torn header: the file ends after {bytes} bytes of its header"
                )
            }
            Damage::BadHeader(problem) => write!(f, "bad header at byte 0: {problem}"),
            Damage::Corrupt { offset, problem } => {
                write!(f, "corrupt record at byte {offset}: {problem}")
            }
            Damage::SequenceGap {
                offset,
                expected,
                found,
            } => write!(
                f,
                "sequence gap at byte {offset}: expected sequence {expected}, found {found}"
            ),
            Damage::SegmentGap { expected, found } => write!(
                f,
                "segment starts at sequence {found} but the previous segment ends before \
                 {expected}: records {expected}..{found} are missing or duplicated"
            ),
        }
    }
}
