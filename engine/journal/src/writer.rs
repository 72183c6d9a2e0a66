//! The journal writer: appends sequenced commands to segment files, for
//! the single journal thread of the pipeline.
//!
//! The hot path is `append`, which encodes a record into a buffer allocated
//! once (no allocation, no syscall). At the end of a batch the journal
//! stage calls `commit`, which does what the durability setting asks:
//! nothing (`none`), a copy of the batch into the segment's memory map
//! (`os`: the page cache, no syscall), or one `write` and one fdatasync
//! (`fsync`). One fsync per batch instead of per record is group commit:
//! under load a batch holds many commands, so the fsync's cost is shared,
//! and the batch size grows by itself when the disk is slow.
//!
//! With `none` and `os`, segments are mapped, full-size files made ready
//! ahead of time by a helper thread, so neither a batch nor a roll waits
//! for the file system (`active_segment` says which way and why).

use std::fs::File;
use std::path::{Path, PathBuf};

use super::active_segment::ActiveSegment;
use super::durability::Durability;
use super::error::JournalError;
use super::files;
use super::instruments;
use super::layout;
use super::lock::DirLock;
use super::record::{self, MAX_RECORD_LEN};
use super::repair;
use super::segment::SEGMENT_HEADER_LEN;
use super::warning::Warning;
use matching::command::Command;
use matching::types::InstrumentSpec;

/// Sizes and the durability setting of a writer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterOptions {
    /// A segment rolls when the next record would take it past this many
    /// bytes. Large enough that rolls are rare (each costs a rename and,
    /// at the next `sync`, a directory fsync); small enough that a damaged
    /// file or the read of the last segment at open is bounded. Each
    /// segment is reserved on disk at this size before it is used, and a
    /// writer keeps one spare: it holds up to twice this beyond its
    /// records.
    pub segment_bytes: u64,
    /// Capacity of the append buffer, allocated once. A batch larger than
    /// this is copied into the segment in several pieces.
    pub buffer_bytes: usize,
    pub durability: Durability,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            segment_bytes: 64 << 20,
            buffer_bytes: 1 << 20,
            durability: Durability::Fsync,
        }
    }
}

impl WriterOptions {
    /// Checks that a segment and the buffer each hold at least one record.
    pub fn validate(&self) -> Result<(), JournalError> {
        let min_segment = (SEGMENT_HEADER_LEN + MAX_RECORD_LEN) as u64;
        if !(min_segment..=1 << 40).contains(&self.segment_bytes) {
            return Err(JournalError::BadOptions(format!(
                "segment_bytes {} is outside {min_segment} (a header and one record)..=1 TiB",
                self.segment_bytes
            )));
        }
        if !(MAX_RECORD_LEN..=1 << 30).contains(&self.buffer_bytes) {
            return Err(JournalError::BadOptions(format!(
                "buffer_bytes {} is outside {MAX_RECORD_LEN}..=1 GiB",
                self.buffer_bytes
            )));
        }
        Ok(())
    }
}

/// What opening an existing journal found.
#[derive(Debug, Clone)]
pub struct OpenReport {
    pub instruments: Vec<InstrumentSpec>,
    /// Torn tails truncated on the way; print them.
    pub warnings: Vec<Warning>,
}

/// Appends records to the journal in one directory. One writer per
/// directory; it is not shared between threads (it is `Send`, so it can
/// be moved to the journal thread).
///
/// Sequences start at 1 and are gap-free: `append` takes the caller's
/// sequence and refuses any other than `next_seq()`, so a pipeline bug
/// cannot write a journal that recovery would then refuse.
///
/// It holds the directory's lock (`DIR/lock`) until dropped, so a second
/// writer, or a recovery run against the live journal, fails at once.
///
/// After an I/O error the writer is poisoned: what reached the file is
/// unknown (a failed fsync may even have dropped dirty pages), so every
/// later call fails, and the way on is to reopen, which lets recovery read
/// what is really there.
#[derive(Debug)]
pub struct JournalWriter {
    dir: PathBuf,
    options: WriterOptions,
    /// The segment being appended to.
    segment: ActiveSegment,
    /// Its first sequence (its name).
    segment_first: u64,
    /// Bytes of it in use: header plus records written so far.
    segment_len: u64,
    /// Records appended but not yet written; capacity fixed at creation.
    buf: Vec<u8>,
    next_seq: u64,
    written_seq: u64,
    synced_seq: u64,
    /// Rolled segments that no fsync has covered; `sync` opens them by
    /// name (a mapped one belongs to the preparer once rolled).
    unsynced: Vec<u64>,
    /// A segment was created since the last directory fsync.
    dir_unsynced: bool,
    poisoned: bool,
    /// Held for the writer's life: one writer per directory.
    _lock: DirLock,
}

impl JournalWriter {
    /// Creates a journal in `dir` (created if missing; it must not hold a
    /// journal yet): the instruments file, then the first segment, starting
    /// at sequence 1. Everything is fsynced before this returns.
    pub fn create(
        dir: &Path,
        instruments: &[InstrumentSpec],
        options: WriterOptions,
    ) -> Result<Self, JournalError> {
        options.validate()?;
        let existed = dir.exists();
        std::fs::create_dir_all(dir).map_err(JournalError::io("create directory", dir))?;
        if !existed && let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            files::sync_dir(parent)?;
        }
        let lock = DirLock::acquire(dir)?;
        let listing = layout::list(dir)?;
        if dir.join(layout::INSTRUMENTS_FILE).exists() || !listing.segments.is_empty() {
            return Err(JournalError::AlreadyExists {
                dir: dir.to_path_buf(),
            });
        }
        instruments::write_instruments(dir, instruments)?;
        let segment = ActiveSegment::create(dir, options.segment_bytes, options.durability)?;
        segment.sync_data()?;
        files::sync_dir(dir)?;
        Ok(Self::new(
            dir,
            options,
            lock,
            segment,
            1,
            SEGMENT_HEADER_LEN as u64,
            1,
        ))
    }

    /// Opens the journal in `dir` to append after its last record. Cuts
    /// off a torn tail of the last segment (reported in the warnings) and
    /// fsyncs every segment, so everything found counts as durable. Other
    /// damage in the last segment is an error; the older segments are
    /// checked by `recover` and `journal verify`, not here, so that opening
    /// costs one segment's read.
    pub fn open(dir: &Path, options: WriterOptions) -> Result<(Self, OpenReport), JournalError> {
        options.validate()?;
        let instruments = instruments::read_instruments(dir)?;
        let lock = DirLock::acquire(dir)?;
        let listing = layout::list(dir)?;
        let mut warnings = Vec::new();
        let (first, len, next) = match listing.segments.last() {
            Some(last) => {
                let (report, w) = repair::repair_last_segment(last)?;
                warnings.extend(w);
                (last.seq, report.valid_bytes, report.next_seq())
            }
            None => {
                // Created but the first segment never reached the disk.
                drop(super::segment::create(dir, 1)?);
                (1, SEGMENT_HEADER_LEN as u64, 1)
            }
        };
        let listing = layout::list(dir)?;
        repair::sync_segments(&listing.segments)?;
        files::sync_dir(dir)?;
        let path = dir.join(layout::segment_name(first));
        let segment =
            ActiveSegment::open(dir, &path, len, options.segment_bytes, options.durability)?;
        let writer = Self::new(dir, options, lock, segment, first, len, next);
        Ok((
            writer,
            OpenReport {
                instruments,
                warnings,
            },
        ))
    }

    fn new(
        dir: &Path,
        options: WriterOptions,
        lock: DirLock,
        segment: ActiveSegment,
        segment_first: u64,
        segment_len: u64,
        next_seq: u64,
    ) -> Self {
        let last = next_seq.saturating_sub(1);
        JournalWriter {
            dir: dir.to_path_buf(),
            buf: Vec::with_capacity(options.buffer_bytes),
            options,
            segment,
            segment_first,
            segment_len,
            next_seq,
            written_seq: last,
            synced_seq: last,
            unsynced: Vec::with_capacity(4),
            dir_unsynced: false,
            poisoned: false,
            _lock: lock,
        }
    }

    /// Appends the command `seq` taken in at `ts` (ns) to the buffer. No
    /// allocation and, unless the buffer is full or the segment rolls, no
    /// syscall. `seq` must be `next_seq()`.
    #[inline]
    pub fn append(&mut self, seq: u64, ts: u64, command: &Command) -> Result<(), JournalError> {
        if self.poisoned {
            return Err(JournalError::Poisoned);
        }
        if seq != self.next_seq {
            return Err(JournalError::OutOfSequence {
                expected: self.next_seq,
                got: seq,
            });
        }
        let len = record::record_len(command);
        let pending = self.segment_len + self.buf.len() as u64;
        if pending + len as u64 > self.segment.capacity() && pending > SEGMENT_HEADER_LEN as u64 {
            self.roll()?;
        }
        if self.buf.len() + len > self.buf.capacity() {
            self.write()?;
        }
        record::encode(&mut self.buf, seq, ts, command);
        self.next_seq = seq.saturating_add(1);
        Ok(())
    }

    /// Hands the buffered records to the OS: copies them into the
    /// segment's map, which is the page cache (`none`, `os`: no syscall),
    /// or one `write` (`fsync`). After it they survive a crash of this
    /// process, not of the machine. Returns the written sequence.
    #[inline]
    pub fn write(&mut self) -> Result<u64, JournalError> {
        if self.poisoned {
            return Err(JournalError::Poisoned);
        }
        if !self.buf.is_empty() {
            if let Err(e) = self.segment.write(self.segment_len, &self.buf) {
                self.poisoned = true;
                return Err(e);
            }
            self.segment_len += self.buf.len() as u64;
            self.buf.clear();
        }
        self.written_seq = self.appended_seq();
        Ok(self.written_seq)
    }

    /// Writes, then makes everything written durable: fsyncs the segments
    /// rolled since the last sync, the directory if a segment was created,
    /// then fdatasyncs the current segment. Only when all succeeded does
    /// the synced sequence advance: a later segment's fsync says nothing
    /// about an earlier one's data. Call once per batch (group commit);
    /// when nothing new was written it makes no syscall.
    pub fn sync(&mut self) -> Result<u64, JournalError> {
        self.write()?;
        if self.synced_seq == self.written_seq && self.unsynced.is_empty() && !self.dir_unsynced {
            return Ok(self.synced_seq);
        }
        if let Err(e) = self.sync_all_pending() {
            self.poisoned = true;
            return Err(e);
        }
        self.synced_seq = self.written_seq;
        Ok(self.synced_seq)
    }

    fn sync_all_pending(&mut self) -> Result<(), JournalError> {
        for &first in &self.unsynced {
            let path = self.dir.join(layout::segment_name(first));
            let file = match File::open(&path) {
                Ok(file) => file,
                // Retired meanwhile (`retire_segments`): only a segment
                // wholly before a snapshot is, and the snapshot, fsynced
                // when written, holds what its records did.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(JournalError::io("open", &path)(e)),
            };
            file.sync_data().map_err(JournalError::io("fsync", &path))?;
        }
        self.unsynced.clear();
        if self.dir_unsynced {
            files::sync_dir(&self.dir)?;
            self.dir_unsynced = false;
        }
        self.segment.sync_data()
    }

    /// Ends a batch the way the durability setting asks (nothing, `write`,
    /// or `sync`) and returns the durable sequence, which gates output.
    pub fn commit(&mut self) -> Result<u64, JournalError> {
        match self.options.durability {
            Durability::None => {}
            Durability::Os => {
                self.write()?;
            }
            Durability::Fsync => {
                self.sync()?;
            }
        }
        Ok(self.durable_seq())
    }

    /// Writes and fsyncs whatever the setting, and trims the current
    /// segment to its records: a clean shutdown leaves the whole journal
    /// on disk, and files that hold records only. Returns the last
    /// sequence.
    pub fn close(mut self) -> Result<u64, JournalError> {
        let last = self.sync()?;
        // Nothing is written after this: the buffer is empty, and marking
        // the writer poisoned keeps `drop` from writing.
        self.poisoned = true;
        self.segment.close(self.segment_len)?;
        Ok(last)
    }

    /// Closes the current segment and starts the next at `next_seq`.
    fn roll(&mut self) -> Result<(), JournalError> {
        self.write()?;
        // A failed roll leaves the writer as it was: nothing was lost.
        self.segment
            .roll(&self.dir, self.segment_len, self.next_seq)?;
        self.unsynced.push(self.segment_first);
        self.segment_first = self.next_seq;
        self.segment_len = SEGMENT_HEADER_LEN as u64;
        self.dir_unsynced = true;
        Ok(())
    }

    /// The sequence the next `append` must carry.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The last sequence appended (0: none).
    pub fn appended_seq(&self) -> u64 {
        self.next_seq.saturating_sub(1)
    }

    /// The last sequence handed to the OS (0: none).
    pub fn written_seq(&self) -> u64 {
        self.written_seq
    }

    /// The last sequence known to be on disk (0: none).
    pub fn synced_seq(&self) -> u64 {
        self.synced_seq
    }

    /// The last sequence that is durable in the sense of the setting:
    /// appended (`none`), written (`os`) or synced (`fsync`). Output of
    /// commands up to it may leave the process.
    pub fn durable_seq(&self) -> u64 {
        match self.options.durability {
            Durability::None => self.appended_seq(),
            Durability::Os => self.written_seq,
            Durability::Fsync => self.synced_seq,
        }
    }

    /// Rolls that found no spare segment ready, and so prepared one on
    /// this thread (reserving, mapping and touching `segment_bytes`, far
    /// longer than a batch). More than a few means segments fill faster than
    /// the preparer makes them: make them larger.
    pub fn late_rolls(&self) -> u64 {
        self.segment.late_rolls()
    }

    pub fn options(&self) -> &WriterOptions {
        &self.options
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for JournalWriter {
    /// Best effort: hands buffered records to the OS, so a writer dropped
    /// on an error path loses nothing a process exit would not. Errors are
    /// ignored here; `close` is the checked way to stop.
    fn drop(&mut self) {
        if !self.poisoned && !self.buf.is_empty() {
            let _ = self.write();
        }
    }
}
