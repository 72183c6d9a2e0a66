//! The Raft log's files: numbered segments of records, written one at a
//! time, deleted whole once a snapshot covers every entry in them.
//!
//! Why segments: compaction used to rewrite the one log file with every
//! entry after the snapshot, on the loop that commits, and that stalled
//! commits at 500k/s (docs/replication.md, "The Raft log on disk", has
//! the measured cost before and after). With segments nothing is
//! rewritten: the snapshot is one more record, and a segment whose
//! entries it covers is unlinked.
//!
//! The rules that keep a restart exact (docs/replication.md, "The Raft
//! log on disk"; modelled in docs/verification/RaftLogSegments.tla):
//!
//! - Segments are deleted oldest first, and only while every entry
//!   index a segment ever held is at or below the snapshot's: an entry
//!   the snapshot does not cover, or a record that truncated one, is
//!   always still on disk, in the order it was written.
//! - The record naming that snapshot is on disk (fdatasync) in the
//!   newest segment, and the snapshot file before it, before anything is
//!   unlinked. With durability `fsync` every write is synced, so covered
//!   segments go at the compaction; with `os`, at the next roll, whose
//!   new segment starts, synced, with the snapshot record.
//! - A full segment is synced before the next one is started, so the
//!   files on disk after a power loss are whole but for the newest one's
//!   tail, as with a single file.
//! - A new segment starts with the log's state (configuration, snapshot,
//!   term and vote), so the oldest segment left is a complete start.
//!
//! A segment is `raft-<number, 20 digits>.log`. A log written before
//! segments (one `raft.log`) becomes segment 0 at open.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::ReplicationError;

/// A segment is closed, and a new one started, once it holds this much.
/// Disk use is bounded by what the snapshot does not cover plus a segment
/// or two (with `os`, covered segments wait for the next roll). Each roll
/// syncs the full segment on the loop that commits: docs/replication.md,
/// "The window", has what one costs and how often at 500k/s.
pub const SEGMENT_BYTES: u64 = 64 << 20;

/// The smallest segment a node may be given (`gateway --raft-segment-bytes`):
/// below it, nearly every write would start a segment.
pub const MIN_SEGMENT_BYTES: u64 = 4096;

/// The single file of a log written before segments.
const LEGACY_FILE: &str = "raft.log";

fn segment_name(number: u64) -> String {
    format!("raft-{number:020}.log")
}

fn segment_number(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("raft-")?.strip_suffix(".log")?;
    (digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

pub(crate) fn log_error(path: &Path, what: &str, e: impl std::fmt::Display) -> ReplicationError {
    ReplicationError::Log {
        path: path.to_owned(),
        message: format!("{what}: {e}"),
    }
}

/// One segment on disk.
#[derive(Debug)]
struct Segment {
    number: u64,
    path: PathBuf,
    /// The highest entry index ever written to it (0: none), truncated
    /// or not: the segment may go only once a snapshot covers this.
    max_index: u64,
}

/// The segments of one log, oldest first; the newest is the one written.
#[derive(Debug)]
pub(crate) struct Segments {
    dir: PathBuf,
    list: Vec<Segment>,
    /// The newest segment, open for appending.
    file: File,
    /// Bytes in the newest segment.
    len: u64,
    /// Up to where the kernel was asked to write the newest segment out.
    written_back: u64,
    limit: u64,
}

/// A segment's bytes as found at open, for the store to replay.
pub(crate) struct Found {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
}

impl Segments {
    /// Opens the segments in `dir` (created, with an empty segment 0, if
    /// there are none) and reads them, oldest first.
    pub fn open(dir: &Path, limit: u64) -> Result<(Segments, Vec<Found>), ReplicationError> {
        std::fs::create_dir_all(dir).map_err(|e| log_error(dir, "cannot create", e))?;
        let mut numbers = list_segments(dir)?;
        let legacy = dir.join(LEGACY_FILE);
        if legacy.exists() {
            if !numbers.is_empty() {
                return Err(log_error(
                    &legacy,
                    "found beside segment files",
                    "a log is either the one file of an older version or segments, not \
                     both; move the directory aside and let the node catch up from the leader",
                ));
            }
            let to = dir.join(segment_name(0));
            std::fs::rename(&legacy, &to)
                .and_then(|()| sync_dir(dir))
                .map_err(|e| log_error(&legacy, "cannot rename to segment 0", e))?;
            tracing::info!(
                "{}: the log of an older version is now {}",
                legacy.display(),
                to.display()
            );
            numbers.push(0);
        }
        let created = numbers.is_empty();
        if created {
            numbers.push(0);
        }
        let mut list = Vec::with_capacity(numbers.len());
        let mut found = Vec::with_capacity(numbers.len());
        for &number in &numbers {
            let path = dir.join(segment_name(number));
            let bytes = match std::fs::read(&path) {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                Err(e) => return Err(log_error(&path, "cannot read", e)),
            };
            found.push(Found {
                path: path.clone(),
                bytes,
            });
            list.push(Segment {
                number,
                path,
                max_index: 0,
            });
        }
        let newest = &list[list.len() - 1].path;
        let file = append_to(newest)?;
        if created {
            // The new file's name, on disk with the directory.
            sync_dir(dir).map_err(|e| log_error(dir, "cannot sync", e))?;
        }
        let len = found[found.len() - 1].bytes.len() as u64;
        Ok((
            Segments {
                dir: dir.to_owned(),
                list,
                file,
                len,
                written_back: len,
                limit,
            },
            found,
        ))
    }

    /// After replay: the highest entry index each segment held, oldest
    /// first, and how many bytes of the newest were whole (a torn last
    /// record, from a crash mid-write, is cut off).
    pub fn opened(&mut self, max_index: &[u64], newest_whole: u64) -> Result<(), ReplicationError> {
        for (segment, &max) in self.list.iter_mut().zip(max_index) {
            segment.max_index = max;
        }
        if newest_whole < self.len {
            let path = &self.list[self.list.len() - 1].path;
            tracing::warn!(
                "{}: cut a torn last record ({} bytes) left by a crash mid-write",
                path.display(),
                self.len - newest_whole
            );
            self.file
                .set_len(newest_whole)
                .map_err(|e| log_error(path, "cannot cut the torn tail", e))?;
            self.len = newest_whole;
        }
        self.written_back = self.len;
        Ok(())
    }

    /// The newest segment's path, for error messages.
    pub fn newest_path(&self) -> &Path {
        &self.list[self.list.len() - 1].path
    }

    /// How many segments there are.
    pub fn count(&self) -> usize {
        self.list.len()
    }

    /// Notes that an entry with `index` goes into the newest segment.
    pub fn holds_entry(&mut self, index: u64) {
        let newest = self.list.len() - 1;
        let max = &mut self.list[newest].max_index;
        *max = (*max).max(index);
    }

    /// Appends `bytes` to the newest segment; `sync`: and waits for the
    /// disk. Without `sync`, every [`WRITEBACK_EVERY`] bytes the kernel is
    /// asked to start writing them out, without waiting, so that the sync
    /// when the segment is full has little left to do.
    pub fn write(&mut self, bytes: &[u8], sync: bool) -> std::io::Result<()> {
        self.file.write_all(bytes)?;
        self.len += bytes.len() as u64;
        if sync {
            self.file.sync_data()?;
            self.written_back = self.len;
        } else if self.len - self.written_back >= WRITEBACK_EVERY {
            start_writeback(&self.file, self.written_back, self.len - self.written_back);
            self.written_back = self.len;
        }
        Ok(())
    }

    /// Whether the newest segment is full, and the next write should start one.
    pub fn full(&self) -> bool {
        self.len >= self.limit
    }

    /// Starts a new segment with `header` (the log's state) in it. The
    /// closing segment is synced first: were a later file's records on
    /// disk ahead of it, a power loss could leave a gap no replay can
    /// cross, where one file loses only a tail. The header, and the new
    /// file's name, are on disk before it returns: the header's snapshot
    /// record is what lets older segments go (`delete_covered`).
    pub fn roll(&mut self, header: &[u8]) -> Result<(), ReplicationError> {
        let started = std::time::Instant::now();
        let closing = self.newest_path().to_owned();
        self.file
            .sync_data()
            .map_err(|e| log_error(&closing, "cannot sync the full segment", e))?;
        let synced = started.elapsed();
        let number = self.list[self.list.len() - 1].number + 1;
        let path = self.dir.join(segment_name(number));
        let mut file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| log_error(&path, "cannot create the next segment", e))?;
        file.write_all(header)
            .and_then(|()| file.sync_data())
            .and_then(|()| sync_dir(&self.dir))
            .map_err(|e| log_error(&path, "cannot start the segment", e))?;
        tracing::info!(
            "started Raft log segment {} after {} MB in {} (synced that in {:.1} ms, \
             the new one's header in {:.1} ms)",
            path.display(),
            self.len / 1_000_000,
            closing.display(),
            synced.as_secs_f64() * 1e3,
            (started.elapsed() - synced).as_secs_f64() * 1e3
        );
        self.file = file;
        self.len = header.len() as u64;
        self.written_back = self.len;
        self.list.push(Segment {
            number,
            path,
            max_index: 0,
        });
        Ok(())
    }

    /// Deletes the oldest segments while a snapshot at `index` covers
    /// every entry they held (never the newest). The caller must know the
    /// record of that snapshot is on disk in the newest segment (synced
    /// by `write` or by `roll`'s header): with it only in the page cache,
    /// a power loss would take both it and the entries it replaced.
    /// Returns how many were deleted.
    pub fn delete_covered(&mut self, index: u64) -> Result<usize, ReplicationError> {
        let covered = self.list[..self.list.len() - 1]
            .iter()
            .take_while(|s| s.max_index <= index)
            .count();
        self.delete_oldest(covered)
    }

    /// Deletes every segment but the newest (which must hold the whole
    /// state, on disk: after `roll` with a header that replaces everything).
    pub fn delete_all_but_newest(&mut self) -> Result<usize, ReplicationError> {
        self.delete_oldest(self.list.len() - 1)
    }

    fn delete_oldest(&mut self, count: usize) -> Result<usize, ReplicationError> {
        for segment in self.list.drain(..count) {
            std::fs::remove_file(&segment.path)
                .map_err(|e| log_error(&segment.path, "cannot delete", e))?;
        }
        Ok(count)
    }
}

/// How much is written without a sync before the kernel is asked to start
/// writing it out (`Segments::write`).
const WRITEBACK_EVERY: u64 = 4 << 20;

/// Asks the kernel to start writing `len` bytes at `offset` of `file` to
/// the device, without waiting (`sync_file_range(SYNC_FILE_RANGE_WRITE)`;
/// RocksDB's `bytes_per_sync` does the same). Nothing is promised by it:
/// a failure only leaves the later fdatasync more to do, so it is ignored.
#[cfg(target_os = "linux")]
fn start_writeback(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    // SAFETY: the descriptor belongs to `file`, open for the whole call;
    // the call reads no memory of ours, only the three integers.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE);
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_file: &File, _offset: u64, _len: u64) {}

/// The segment numbers in `dir`, ascending.
fn list_segments(dir: &Path) -> Result<Vec<u64>, ReplicationError> {
    let entries = std::fs::read_dir(dir).map_err(|e| log_error(dir, "cannot list", e))?;
    let mut numbers = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| log_error(dir, "cannot list", e))?;
        if let Some(n) = entry.file_name().to_str().and_then(segment_number) {
            numbers.push(n);
        }
    }
    numbers.sort_unstable();
    Ok(numbers)
}

fn append_to(path: &Path) -> Result<File, ReplicationError> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| log_error(path, "cannot open", e))
}

/// Makes the directory's entries (a rename, a new file) durable.
pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir).and_then(|d| d.sync_all())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_sort_as_their_numbers_and_others_are_ignored() {
        assert_eq!(segment_name(7), "raft-00000000000000000007.log");
        assert_eq!(segment_number(&segment_name(7)), Some(7));
        assert_eq!(segment_number(&segment_name(u64::MAX)), Some(u64::MAX));
        for other in [
            "raft.log",
            "raft.snap",
            "raft-7.log",
            "raft-0000000000000000000x.log",
        ] {
            assert_eq!(segment_number(other), None, "{other}");
        }
    }
}
