//! What recovery or a read noticed and worked around: returned as values,
//! never printed by the library, so the caller decides where they go.

use std::fmt;
use std::path::PathBuf;

use super::record::RecordProblem;

/// A problem that did not stop the operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// The last segment ended inside a record, as a crash during a write
    /// leaves it. `repaired`: the file was truncated to `offset` and
    /// fsynced; otherwise (a read-only look) the bytes were just ignored.
    TornTail {
        file: PathBuf,
        offset: u64,
        dropped: u64,
        problem: RecordProblem,
        repaired: bool,
    },
    /// The last segment ended inside its header (a crash right after the
    /// segment was created). `repaired`: the header was rewritten.
    TornHeader {
        file: PathBuf,
        bytes: u64,
        repaired: bool,
    },
    /// A snapshot recovery did not use, and why; it used an older snapshot
    /// or the journal from its start instead.
    SnapshotSkipped { file: PathBuf, reason: String },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::TornTail {
                file,
                offset,
                dropped,
                problem,
                repaired: true,
            } => write!(
                f,
                "{}: truncated a torn tail at byte {offset}, dropping {dropped} bytes of an \
                 incomplete record ({problem})",
                file.display()
            ),
            Warning::TornTail {
                file,
                offset,
                dropped,
                problem,
                repaired: false,
            } => write!(
                f,
                "{}: torn tail at byte {offset}, {dropped} bytes of an incomplete record \
                 ({problem}); ignored here, recovery truncates it",
                file.display()
            ),
            Warning::TornHeader {
                file,
                bytes,
                repaired,
            } => write!(
                f,
                "{}: ends inside its header after {bytes} bytes (a crash right after the \
                 segment was created); {}",
                file.display(),
                if *repaired {
                    "rewrote the header"
                } else {
                    "recovery rewrites the header"
                }
            ),
            Warning::SnapshotSkipped { file, reason } => {
                write!(f, "{}: snapshot not used: {reason}", file.display())
            }
        }
    }
}
