//! The segment the writer is appending to, in the form its durability
//! setting is fastest with:
//!
//! - `none`, `os`: **mapped** (`mapped_segment`), full size, made ready by
//!   the `preparer` thread; a batch is a copy into the page cache, no
//!   syscall. What `os` promises (survive a crash of the process) needs
//!   nothing more.
//! - `fsync`: **appended** with `write`, one call per batch, then
//!   `fdatasync`. The flush to the device is the cost there; a mapped,
//!   preallocated segment made each `fdatasync` slower (the extents
//!   `posix_fallocate` reserves are "unwritten", and converting them is a
//!   journal commit per flush; zeroing them ahead instead doubles the disk
//!   writes). The figures: docs/performance.md, section "Pipeline
//!   throughput and recovery".
//!
//! Both write the same format; a journal written one way opens the other.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::durability::Durability;
use super::error::JournalError;
use super::files;
use super::layout;
use super::mapped_segment::{self, MappedSegment};
use super::preparer::Preparer;
use super::segment;

#[derive(Debug)]
pub(crate) enum ActiveSegment {
    Mapped {
        segment: MappedSegment,
        /// Makes the next segment ready and retires full ones.
        preparer: Preparer,
    },
    Appended {
        file: File,
        path: PathBuf,
        /// `segment_bytes`: where it rolls.
        capacity: u64,
    },
}

impl ActiveSegment {
    /// The first segment of a new journal in `dir`, not yet fsynced.
    pub(crate) fn create(
        dir: &Path,
        bytes: u64,
        durability: Durability,
    ) -> Result<Self, JournalError> {
        mapped_segment::remove_stray(dir)?;
        if durability == Durability::Fsync {
            let file = segment::create(dir, 1)?;
            return Ok(ActiveSegment::Appended {
                file,
                path: dir.join(layout::segment_name(1)),
                capacity: bytes,
            });
        }
        let preparer = Preparer::start(dir, bytes)?;
        let mut segment = preparer.prepare_here()?;
        segment.install(dir, 1)?;
        Ok(ActiveSegment::Mapped { segment, preparer })
    }

    /// The existing segment `path`, whose records end at `end` (any bytes
    /// after are zeros), to append after them.
    pub(crate) fn open(
        dir: &Path,
        path: &Path,
        end: u64,
        bytes: u64,
        durability: Durability,
    ) -> Result<Self, JournalError> {
        mapped_segment::remove_stray(dir)?;
        if durability == Durability::Fsync {
            let (file, len) = files::open_segment(path, OpenOptions::new().append(true))?;
            // A segment a mapped writer left has free space: cut it, so
            // that appends follow the records.
            if len > end {
                file.set_len(end).map_err(JournalError::io("trim", path))?;
                file.sync_all().map_err(JournalError::io("fsync", path))?;
            }
            return Ok(ActiveSegment::Appended {
                file,
                path: path.to_path_buf(),
                capacity: bytes,
            });
        }
        let segment = mapped_segment::open_existing(path, end, bytes)?;
        let preparer = Preparer::start(dir, bytes)?;
        Ok(ActiveSegment::Mapped { segment, preparer })
    }

    /// How many bytes the segment may hold: a record that would pass this
    /// goes to the next segment.
    #[inline]
    pub(crate) fn capacity(&self) -> u64 {
        match self {
            ActiveSegment::Mapped { segment, .. } => segment.len(),
            ActiveSegment::Appended { capacity, .. } => *capacity,
        }
    }

    /// Appends whole `records` at byte `at`, the end of the records so
    /// far (`append` checks that they fit).
    #[inline]
    pub(crate) fn write(&mut self, at: u64, records: &[u8]) -> Result<(), JournalError> {
        match self {
            ActiveSegment::Mapped { segment, .. } => segment.store(at, records),
            ActiveSegment::Appended { file, path, .. } => file
                .write_all(records)
                .map_err(|e| JournalError::io("write", path.as_path())(e)),
        }
    }

    /// Rolls that had to prepare their segment on the journal thread,
    /// because the preparer had not finished it (always 0 for `fsync`).
    pub(crate) fn late_rolls(&self) -> u64 {
        match self {
            ActiveSegment::Mapped { preparer, .. } => preparer.late,
            ActiveSegment::Appended { .. } => 0,
        }
    }

    /// fdatasync: what was written (either way) is on the device.
    pub(crate) fn sync_data(&self) -> Result<(), JournalError> {
        let (file, path) = match self {
            ActiveSegment::Mapped { segment, .. } => (segment.file(), segment.path()),
            ActiveSegment::Appended { file, path, .. } => (file, path.as_path()),
        };
        file.sync_data().map_err(JournalError::io("fsync", path))
    }

    /// Starts the segment of `first_seq` in `dir`, leaving the current one
    /// (whose records end at `end`) to be fsynced by name later. On an
    /// error the current segment stays as it was: nothing is lost.
    pub(crate) fn roll(
        &mut self,
        dir: &Path,
        end: u64,
        first_seq: u64,
    ) -> Result<(), JournalError> {
        match self {
            ActiveSegment::Mapped { segment, preparer } => {
                let mut next = preparer.take()?;
                if let Err(e) = next.install(dir, first_seq) {
                    next.discard();
                    return Err(e);
                }
                let old = std::mem::replace(segment, next);
                preparer.retire(old, end);
            }
            ActiveSegment::Appended { file, path, .. } => {
                *file = segment::create(dir, first_seq)?;
                *path = dir.join(layout::segment_name(first_seq));
            }
        }
        Ok(())
    }

    /// A clean close, after everything was written and fsynced: stops the
    /// preparer and trims a mapped segment to its records (`end`).
    pub(crate) fn close(&mut self, end: u64) -> Result<(), JournalError> {
        match self {
            ActiveSegment::Mapped { segment, preparer } => {
                preparer.stop();
                segment.trim(end)
            }
            ActiveSegment::Appended { .. } => Ok(()),
        }
    }
}
