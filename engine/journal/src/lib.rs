//! The durable journal: every inbound command, sequenced, in append-only
//! segment files, so the engine can be rebuilt after any crash and every
//! run can be audited and re-run (`journal export DIR | replay`).
//!
//! The journal stage of the pipeline appends each command with its
//! sequence and ingest timestamp (`JournalWriter::append`), and at the end
//! of each batch commits it (`commit`: write, fsync, or neither, per the
//! `Durability` setting). The output stage releases a command's events only
//! once `durable_seq()` covers it. On start, `recover` rebuilds the engine
//! from the newest snapshot and the records after it, and
//! `JournalWriter::open` continues at the next sequence.
//!
//! Files, one concept each: `codec` (payload bytes), `record` (framing and
//! checksum), `segment` (file header), `layout` (names in the directory),
//! `writer`, `active_segment` (the segment being appended to: mapped or
//! appended, by durability), `mapped_segment` (one appended to through a
//! memory map), `preparer` (the thread that makes the next one ready),
//! `lock` (one writer per directory), `reader` (scanning and
//! classifying damage), `repair` (what recovery changes on disk), `snapshot`, `instruments`, `recovery`, `history` (the events of a
//! span of the journal, recomputed for a client's missed reports),
//! `inspect` (`journal verify`), `durability`, `damage` (what a scan can
//! find wrong), `error`, `warning`.
//! `docs/journal.md` has the byte tables and the reasoning.

mod active_segment;
mod checksum;
mod codec;
mod damage;
mod durability;
mod error;
mod files;
mod history;
mod inspect;
mod install;
mod instruments;
mod layout;
mod lock;
mod mapped_segment;
mod preparer;
mod reader;
pub mod record;
mod recovery;
mod repair;
mod segment;
mod snapshot;
mod truncate;
mod warning;
mod writer;

pub use codec::{DecodeError, MAX_PAYLOAD_LEN};
pub use damage::{Damage, HeaderProblem};
pub use durability::{Durability, ParseDurabilityError};
pub use error::JournalError;
pub use history::{HistoryError, Span, SpanVisitor, replay_span};
pub use inspect::{Inspection, SegmentCheck, SnapshotCheck, SnapshotStatus, inspect};
pub use install::install_snapshot;
pub use instruments::{read_instruments, write_instruments};
pub use layout::{INSTRUMENTS_FILE, segment_name, snapshot_name};
pub use lock::LOCK_FILE;
pub use reader::{ReadSummary, SegmentReport, read_journal};
pub use record::{Record, RecordProblem};
pub use recovery::{Recovered, recover};
pub use segment::SEGMENT_HEADER_LEN;
pub use snapshot::{
    SegmentRetention, Snapshot, first_retained_seq, oldest_snapshot, prune_snapshots,
    read_snapshot, retire_segments, write_snapshot, write_snapshot_of,
};
pub use truncate::{Truncated, truncate_after};
pub use warning::Warning;
pub use writer::{JournalWriter, OpenReport, WriterOptions};

/// `true` when `dir` holds a journal (its `instruments` file): decides
/// between `JournalWriter::create` on first start and `recover` + `open`.
pub fn exists(dir: &std::path::Path) -> bool {
    dir.join(INSTRUMENTS_FILE).is_file()
}
