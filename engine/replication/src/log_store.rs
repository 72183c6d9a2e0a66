//! The node's Raft log on disk: what Raft needs to survive a restart, and
//! the snapshot that lets it forget old entries.
//!
//! Raft's safety rests on three things a node must not forget once it has
//! said them: its term and vote (`HardState`), the entries it acknowledged,
//! and the voters (`ConfState`). raft-rs leaves storage to its user; this
//! store keeps the log in memory for raft-rs to read (it implements
//! `raft::Storage`) and makes it durable the plainest way there is:
//! append-only files of checksummed records (`log_segments`), written
//! (and, with durability `fsync`, fdatasync'd) before the messages that
//! promise them are sent, and replayed at start.
//!
//! A record is `len: u32 | crc32c: u32 | kind: u8 | body`, little endian,
//! the checksum over kind and body. Entries that conflict with a new
//! leader's are not rewritten: the new ones are appended, and replay
//! applies records in order, truncating the old tail exactly as it was
//! live. A torn last record (a crash mid-write) is cut off at open; a bad
//! record anywhere else is refused.
//!
//! Compaction: once the engine has a snapshot covering a prefix of the
//! log, that prefix is replaced by a Raft snapshot (`compact`): the engine
//! snapshot's bytes plus the records after it up to the end of one entry,
//! kept in `raft.snap`, and a record saying where the log now starts. The
//! segments it covers are deleted once that record is on disk (at once
//! with durability `fsync`, at the next segment with `os`); nothing is
//! rewritten. A follower that
//! needs a compacted entry is sent the snapshot instead, and installs it
//! (`install`: a new segment that starts from the snapshot, the older ones
//! deleted). So memory holds what was appended since the engine's last
//! snapshot, and disk that plus one segment.
//!
//! Replay reads the segments twice: first for the snapshot they end at,
//! then applying every record with that snapshot as the start, so that
//! the entries it covers (some of them in segments already deleted) are
//! skipped. A skipped entry still truncates the entries after it, as its
//! append did live.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use journal::Durability;
use protobuf::Message as _;
use raft::prelude::{ConfState, Entry, HardState, Snapshot, SnapshotMetadata};
use raft::{GetEntriesContext, RaftState, StorageError};

use crate::error::ReplicationError;
use crate::log_segments::{Found, SEGMENT_BYTES, Segments, log_error};

const SNAP_FILE: &str = "raft.snap";
const HEADER: usize = 9;

const KIND_ENTRY: u8 = 1;
const KIND_HARD_STATE: u8 = 2;
const KIND_CONF_STATE: u8 = 3;
/// `last_seq: u64 | SnapshotMetadata`: entries up to the index are gone
/// (compacted); the entries after it stay.
const KIND_SNAPSHOT: u8 = 4;
/// As `KIND_SNAPSHOT`, for a leader's snapshot installed: every entry
/// held before it is gone, those after its index too.
const KIND_INSTALL: u8 = 5;

/// The durable Raft log of one node.
pub struct LogStore {
    /// Entries after `snap.index`, in order.
    entries: Vec<Entry>,
    /// Where the log starts: the last entry a snapshot replaced.
    snap: SnapshotMetadata,
    /// The last command the snapshot holds.
    snap_seq: u64,
    /// The snapshot itself, with its data, to send to a follower.
    snapshot: Option<Snapshot>,
    hard_state: HardState,
    conf_state: ConfState,
    segments: Segments,
    dir: PathBuf,
    /// Records made since the last `persist`.
    pending: Vec<u8>,
    durability: Durability,
}

impl std::fmt::Debug for LogStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogStore")
            .field("dir", &self.dir)
            .field("first_index", &(self.snap.index + 1))
            .field("entries", &self.entries.len())
            .field("segments", &self.segments.count())
            .field("durability", &self.durability)
            .finish_non_exhaustive()
    }
}

/// One whole record in a segment's bytes.
struct Record<'a> {
    at: usize,
    kind: u8,
    body: &'a [u8],
}

/// The whole records of `bytes`, in order, then `Err(at)` where they stop
/// if they stop early: a torn last record (`Torn`) or a bad one before
/// the end (`Damaged`).
enum Stop {
    Torn(usize),
    Damaged(usize),
}

fn records(bytes: &[u8]) -> (Vec<Record<'_>>, Option<Stop>) {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let Some(header) = bytes.get(at..at + HEADER) else {
            return (out, Some(Stop::Torn(at)));
        };
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let end = at + HEADER + len;
        let Some(record) = bytes.get(at + 8..end) else {
            return (out, Some(Stop::Torn(at)));
        };
        if crc32c::crc32c(record) != crc {
            let stop = if end == bytes.len() {
                Stop::Torn(at)
            } else {
                Stop::Damaged(at)
            };
            return (out, Some(stop));
        }
        out.push(Record {
            at,
            kind: record[0],
            body: &record[1..],
        });
        at = end;
    }
    (out, None)
}

fn parse_snapshot(body: &[u8]) -> Result<(u64, SnapshotMetadata), String> {
    let (seq, meta) = body
        .split_first_chunk::<8>()
        .ok_or("short snapshot record")?;
    let meta = SnapshotMetadata::parse_from_bytes(meta).map_err(|e| e.to_string())?;
    Ok((u64::from_le_bytes(*seq), meta))
}

impl LogStore {
    /// Opens the log in `dir` (created if missing). A new log starts with
    /// `voters` as the configuration; an existing one keeps its own.
    pub fn open(
        dir: &Path,
        voters: &[u64],
        durability: Durability,
    ) -> Result<LogStore, ReplicationError> {
        LogStore::open_with_segments_of(dir, voters, durability, SEGMENT_BYTES)
    }

    /// `open`, starting a new segment once one holds `segment_bytes`.
    pub fn open_with_segments_of(
        dir: &Path,
        voters: &[u64],
        durability: Durability,
        segment_bytes: u64,
    ) -> Result<LogStore, ReplicationError> {
        let (segments, found) = Segments::open(dir, segment_bytes)?;
        let mut store = LogStore {
            entries: Vec::new(),
            snap: SnapshotMetadata::default(),
            snap_seq: 0,
            snapshot: None,
            hard_state: HardState::default(),
            conf_state: ConfState::default(),
            segments,
            dir: dir.to_owned(),
            pending: Vec::new(),
            durability,
        };
        let (max_index, newest_whole) = store.replay(&found)?;
        store.segments.opened(&max_index, newest_whole)?;
        if store.snap.index > 0 {
            store.snapshot = read_snapshot_file(dir, store.snap.index)?;
        }
        let new_voters = store.conf_state.voters.is_empty();
        if new_voters {
            store.conf_state = ConfState::from((voters.to_vec(), vec![]));
        }
        if newest_whole == 0 {
            // A new log, or a segment whose header a crash tore: it starts
            // with the state, so it can be the oldest one left one day.
            store.pending = store.state_records(KIND_SNAPSHOT);
        } else if new_voters {
            store.record(KIND_CONF_STATE, &store.conf_state.clone());
        }
        let path = store.segments.newest_path().to_owned();
        store
            .persist()
            .map_err(|e| log_error(&path, "cannot write", e))?;
        Ok(store)
    }

    /// Appends entries (replacing any conflicting tail), durable at the next `persist`.
    pub fn append(&mut self, entries: &[Entry]) -> Result<(), String> {
        self.append_in_memory(entries)?;
        for e in entries {
            self.record(KIND_ENTRY, e);
            self.segments.holds_entry(e.index);
        }
        Ok(())
    }

    fn append_in_memory(&mut self, entries: &[Entry]) -> Result<(), String> {
        let Some(first) = entries.first() else {
            return Ok(());
        };
        if first.index <= self.snap.index || first.index > self.last() + 1 {
            return Err(format!(
                "entry {} does not follow the log ({}..={})",
                first.index,
                self.snap.index + 1,
                self.last()
            ));
        }
        let keep = (first.index - self.snap.index - 1) as usize;
        self.entries.truncate(keep);
        self.entries.extend_from_slice(entries);
        Ok(())
    }

    /// Records the term, vote and commit index, durable at the next `persist`.
    pub fn set_hard_state(&mut self, hs: &HardState) {
        self.hard_state = hs.clone();
        self.record(KIND_HARD_STATE, hs);
    }

    /// Records a new commit index.
    pub fn set_commit(&mut self, commit: u64) {
        let mut hs = self.hard_state.clone();
        hs.commit = commit;
        self.set_hard_state(&hs);
    }

    pub fn hard_state(&self) -> &HardState {
        &self.hard_state
    }

    /// The entries held after the snapshot, and the bytes of their data.
    pub fn kept(&self) -> (usize, usize) {
        let bytes = self.entries.iter().map(|e| e.data.len()).sum();
        (self.entries.len(), bytes)
    }

    /// Where the log's files are.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How many segment files the log is in now.
    pub fn segment_count(&self) -> usize {
        self.segments.count()
    }

    /// The entry at `index`, if the log holds it.
    pub fn entry(&self, index: u64) -> Option<&Entry> {
        let at = index.checked_sub(self.snap.index + 1)?;
        self.entries.get(at as usize)
    }

    /// The last index replaced by a snapshot, and the last command it holds.
    pub fn snapshot_point(&self) -> (u64, u64) {
        (self.snap.index, self.snap_seq)
    }

    /// The snapshot, with its data (for an owner whose engine is behind it).
    pub fn snapshot_data(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref()
    }

    fn last(&self) -> u64 {
        self.entries.last().map_or(self.snap.index, |e| e.index)
    }

    /// Writes what was recorded since the last call, and with durability
    /// `fsync` waits for the disk. Raft may promise it only after this.
    /// A segment that is full is closed, and the next one started.
    pub fn persist(&mut self) -> std::io::Result<()> {
        if self.pending.is_empty() || self.durability == Durability::None {
            self.pending.clear();
            return Ok(());
        }
        let sync = self.durability == Durability::Fsync;
        self.segments.write(&self.pending, sync)?;
        self.pending.clear();
        if self.segments.full() {
            let header = self.state_records(KIND_SNAPSHOT);
            self.segments.roll(&header).map_err(std::io::Error::other)?;
            // The new segment's header, on disk, names the snapshot.
            let deleted = self
                .segments
                .delete_covered(self.snap.index)
                .map_err(std::io::Error::other)?;
            if deleted > 0 {
                tracing::info!(
                    "deleted {deleted} Raft log segment(s) the snapshot at index {} covers",
                    self.snap.index
                );
            }
        }
        Ok(())
    }

    /// Replaces the log up to `snapshot`'s index with it: the snapshot is
    /// written to `raft.snap`, a record of it to the log, and with
    /// durability `fsync` the segments it covers are deleted (with `os`,
    /// at the next roll). `last_seq`: the last command it holds. Returns
    /// how many segments were deleted.
    pub fn compact(
        &mut self,
        snapshot: Snapshot,
        last_seq: u64,
    ) -> Result<usize, ReplicationError> {
        self.compact_to(snapshot, last_seq, true)
    }

    /// `compact` for a snapshot already in `raft.snap` (written, and
    /// fsynced, off the loop that commits: `snapshot_writer.rs`).
    pub(crate) fn compact_written(
        &mut self,
        snapshot: Snapshot,
        last_seq: u64,
    ) -> Result<usize, ReplicationError> {
        self.compact_to(snapshot, last_seq, false)
    }

    fn compact_to(
        &mut self,
        snapshot: Snapshot,
        last_seq: u64,
        write_file: bool,
    ) -> Result<usize, ReplicationError> {
        let index = snapshot.get_metadata().index;
        if index <= self.snap.index || index > self.last() {
            return Ok(0);
        }
        let drop = (index - self.snap.index) as usize;
        self.entries.drain(..drop);
        self.set_snapshot(snapshot, last_seq, write_file)?;
        self.record_snapshot(KIND_SNAPSHOT);
        let path = self.segments.newest_path().to_owned();
        self.persist()
            .map_err(|e| log_error(&path, "cannot write", e))?;
        // With `fsync` the record is on disk now, and the segments it
        // covers can go; with `os` they go at the next roll, whose synced
        // header repeats it (log_segments.rs says why it must be on disk).
        if self.durability != Durability::Fsync {
            return Ok(0);
        }
        self.segments.delete_covered(index)
    }

    /// Installs a snapshot a leader sent: every entry goes (the snapshot
    /// holds their effect), and the commit moves to its index. The log
    /// starts again in a new segment, and the older ones are deleted.
    pub fn install(&mut self, snapshot: Snapshot, last_seq: u64) -> Result<(), ReplicationError> {
        let meta = snapshot.get_metadata();
        self.entries.clear();
        self.hard_state.term = self.hard_state.term.max(meta.term);
        self.hard_state.commit = self.hard_state.commit.max(meta.index);
        self.conf_state = meta.get_conf_state().clone();
        self.set_snapshot(snapshot, last_seq, true)?;
        // Whatever was recorded and not written is replaced by the state.
        self.pending.clear();
        let header = self.state_records(KIND_INSTALL);
        self.segments.roll(&header)?;
        self.segments.delete_all_but_newest()?;
        Ok(())
    }

    /// The snapshot the log starts from; `write_file`: written to
    /// `raft.snap` here (else it already is), before any record of it.
    fn set_snapshot(
        &mut self,
        snapshot: Snapshot,
        last_seq: u64,
        write_file: bool,
    ) -> Result<(), ReplicationError> {
        if write_file {
            write_snapshot_file(&self.dir, &snapshot)?;
        }
        self.snap = snapshot.get_metadata().clone();
        self.snap_seq = last_seq;
        self.snapshot = Some(snapshot);
        Ok(())
    }

    /// The records that start a segment: the configuration, the snapshot
    /// (as a record of `kind`), the term and vote.
    fn state_records(&mut self, kind: u8) -> Vec<u8> {
        let before = std::mem::take(&mut self.pending);
        self.record(KIND_CONF_STATE, &self.conf_state.clone());
        if self.snap.index > 0 || kind == KIND_INSTALL {
            self.record_snapshot(kind);
        }
        self.record(KIND_HARD_STATE, &self.hard_state.clone());
        std::mem::replace(&mut self.pending, before)
    }

    /// A record of the snapshot the log starts from (`parse_snapshot`'s
    /// layout: `last_seq | SnapshotMetadata`), as `kind`.
    fn record_snapshot(&mut self, kind: u8) {
        let mut body = self.snap_seq.to_le_bytes().to_vec();
        let _ = self.snap.write_to_vec(&mut body);
        self.record_bytes(kind, &body);
    }

    fn record(&mut self, kind: u8, body: &impl protobuf::Message) {
        // raft-rs's types have no required fields: they always serialise.
        let bytes = body.write_to_bytes().unwrap_or_default();
        self.record_bytes(kind, &bytes);
    }

    fn record_bytes(&mut self, kind: u8, body: &[u8]) {
        let start = self.pending.len();
        self.pending.extend_from_slice(&[0; 8]);
        self.pending.push(kind);
        self.pending.extend_from_slice(body);
        let len = (self.pending.len() - start - HEADER) as u32;
        let crc = crc32c::crc32c(&self.pending[start + 8..]);
        self.pending[start..start + 4].copy_from_slice(&len.to_le_bytes());
        self.pending[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    }

    /// Applies every whole record of the segments, oldest first. Returns
    /// the highest entry index each segment held, and how many bytes of
    /// the newest were whole. A torn last record of the newest segment is
    /// left out; any other bad or torn record is an error (the log is
    /// damaged, not torn).
    fn replay(&mut self, found: &[Found]) -> Result<(Vec<u64>, u64), ReplicationError> {
        let newest = found.len().saturating_sub(1);
        let mut parsed = Vec::with_capacity(found.len());
        for (i, segment) in found.iter().enumerate() {
            let (records, stop) = records(&segment.bytes);
            let whole = match stop {
                None => segment.bytes.len(),
                Some(Stop::Torn(at)) if i == newest => at,
                Some(Stop::Torn(at) | Stop::Damaged(at)) => {
                    return Err(ReplicationError::Log {
                        path: segment.path.clone(),
                        message: format!(
                            "record at byte {at} fails its checksum and is not the last: \
                             the log is damaged"
                        ),
                    });
                }
            };
            parsed.push((records, whole));
        }
        // First the snapshot the log ends at: the start of what replay keeps.
        for (segment, (records, _)) in found.iter().zip(&parsed) {
            for r in records
                .iter()
                .filter(|r| r.kind == KIND_SNAPSHOT || r.kind == KIND_INSTALL)
            {
                let (seq, meta) = parse_snapshot(r.body).map_err(|e| damaged(segment, r, &e))?;
                self.snap = meta;
                self.snap_seq = seq;
            }
        }
        let mut max_index = Vec::with_capacity(found.len());
        for (segment, (records, _)) in found.iter().zip(&parsed) {
            let mut max = 0;
            for r in records {
                self.apply(r)
                    .map_err(|e| damaged(segment, r, &e))?
                    .inspect(|&index| max = max.max(index));
            }
            max_index.push(max);
        }
        let newest_whole = parsed.last().map_or(0, |(_, whole)| *whole as u64);
        Ok((max_index, newest_whole))
    }

    /// Applies one record in replay; an entry's index is returned.
    fn apply(&mut self, r: &Record<'_>) -> Result<Option<u64>, String> {
        match r.kind {
            KIND_ENTRY => {
                let entry = Entry::parse_from_bytes(r.body).map_err(|e| e.to_string())?;
                let index = entry.index;
                if index <= self.snap.index {
                    // Covered by the snapshot; its append cut what followed.
                    self.entries.clear();
                } else {
                    self.append_in_memory(&[entry])?;
                }
                return Ok(Some(index));
            }
            KIND_HARD_STATE => {
                self.hard_state = HardState::parse_from_bytes(r.body).map_err(|e| e.to_string())?;
            }
            KIND_CONF_STATE => {
                self.conf_state = ConfState::parse_from_bytes(r.body).map_err(|e| e.to_string())?;
            }
            KIND_SNAPSHOT => {
                let (_, meta) = parse_snapshot(r.body)?;
                let covered = self.entries.partition_point(|e| e.index <= meta.index);
                self.entries.drain(..covered);
            }
            KIND_INSTALL => self.entries.clear(),
            kind => return Err(format!("unknown record kind {kind}")),
        }
        Ok(None)
    }
}

fn damaged(segment: &Found, r: &Record<'_>, e: &dyn std::fmt::Display) -> ReplicationError {
    ReplicationError::Log {
        path: segment.path.clone(),
        message: format!("record at byte {}: {e}", r.at),
    }
}

/// Writes `snapshot` to `raft.snap`: a new file, fsynced, renamed over the old.
pub(crate) fn write_snapshot_file(dir: &Path, snapshot: &Snapshot) -> Result<(), ReplicationError> {
    let path = dir.join(SNAP_FILE);
    let temp = dir.join(format!("{SNAP_FILE}.tmp"));
    let bytes = snapshot.write_to_bytes().unwrap_or_default();
    let crc = crc32c::crc32c(&bytes).to_le_bytes();
    File::create(&temp)
        .and_then(|mut f| {
            f.write_all(&crc)
                .and_then(|()| f.write_all(&bytes))
                .and_then(|()| f.sync_all())
        })
        .and_then(|()| std::fs::rename(&temp, &path))
        .map_err(|e| log_error(&path, "cannot write the snapshot", e))
}

fn read_snapshot_file(dir: &Path, index: u64) -> Result<Option<Snapshot>, ReplicationError> {
    let path = dir.join(SNAP_FILE);
    let Ok(bytes) = std::fs::read(&path) else {
        return Ok(None);
    };
    let Some((crc, body)) = bytes.split_first_chunk::<4>() else {
        return Ok(None);
    };
    if crc32c::crc32c(body) != u32::from_le_bytes(*crc) {
        return Err(log_error(&path, "snapshot", "fails its checksum"));
    }
    let snapshot = Snapshot::parse_from_bytes(body).map_err(|e| log_error(&path, "snapshot", e))?;
    // The log names the snapshot it was compacted to; an older file (a
    // crash between writing the log and the snapshot) is of no use.
    Ok((snapshot.get_metadata().index == index).then_some(snapshot))
}

impl raft::Storage for LogStore {
    fn initial_state(&self) -> raft::Result<RaftState> {
        Ok(RaftState::new(
            self.hard_state.clone(),
            self.conf_state.clone(),
        ))
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        _context: GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        if low <= self.snap.index {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        if high > self.last() + 1 || low > high {
            return Err(raft::Error::Store(StorageError::Unavailable));
        }
        let from = (low - self.snap.index - 1) as usize;
        let to = (high - self.snap.index - 1) as usize;
        let mut out = self.entries[from..to].to_vec();
        raft::util::limit_size(&mut out, max_size.into());
        Ok(out)
    }

    fn term(&self, idx: u64) -> raft::Result<u64> {
        if idx == self.snap.index {
            return Ok(self.snap.term);
        }
        if idx < self.snap.index {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        self.entry(idx)
            .map(|e| e.term)
            .ok_or(raft::Error::Store(StorageError::Unavailable))
    }

    fn first_index(&self) -> raft::Result<u64> {
        Ok(self.snap.index + 1)
    }

    fn last_index(&self) -> raft::Result<u64> {
        Ok(self.last())
    }

    fn snapshot(&self, request_index: u64, _to: u64) -> raft::Result<Snapshot> {
        match &self.snapshot {
            Some(s) if s.get_metadata().index >= request_index => Ok(s.clone()),
            _ => Err(raft::Error::Store(
                StorageError::SnapshotTemporarilyUnavailable,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use raft::Storage as _;

    fn entry(index: u64, term: u64, data: &[u8]) -> Entry {
        Entry {
            index,
            term,
            data: data.to_vec().into(),
            ..Default::default()
        }
    }

    fn data(log: &LogStore, low: u64, high: u64) -> Vec<Vec<u8>> {
        log.entries(low, high, None, GetEntriesContext::empty(false))
            .expect("entries")
            .iter()
            .map(|e| e.data.to_vec())
            .collect()
    }

    #[test]
    fn survives_a_restart_with_a_conflicting_tail_replaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let mut log = LogStore::open(dir.path(), &[1, 2, 3], Durability::Os).expect("open");
            log.append(&[entry(1, 1, b"a"), entry(2, 1, b"b"), entry(3, 1, b"c")])
                .expect("append");
            let hs = HardState {
                term: 2,
                vote: 3,
                ..Default::default()
            };
            log.set_hard_state(&hs);
            // A new leader's entry 2 replaces the old 2 and 3.
            log.append(&[entry(2, 2, b"B")]).expect("append");
            log.set_commit(2);
            log.persist().expect("persist");
        }
        let log = LogStore::open(dir.path(), &[9], Durability::Os).expect("reopen");
        let state = log.initial_state().expect("state");
        assert_eq!(
            state.conf_state.voters,
            vec![1, 2, 3],
            "kept its own voters"
        );
        assert_eq!((state.hard_state.term, state.hard_state.vote), (2, 3));
        assert_eq!(state.hard_state.commit, 2);
        assert_eq!(log.last_index().expect("last"), 2);
        assert_eq!(data(&log, 1, 3), vec![b"a".to_vec(), b"B".to_vec()]);
    }

    #[test]
    fn a_torn_last_record_is_cut_and_a_damaged_middle_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let mut log = LogStore::open(dir.path(), &[1], Durability::Os).expect("open");
            log.append(&[entry(1, 1, b"one"), entry(2, 1, b"two")])
                .expect("append");
            log.persist().expect("persist");
        }
        let path = dir.path().join("raft-00000000000000000000.log");
        let whole = std::fs::read(&path).expect("read");
        std::fs::write(&path, &whole[..whole.len() - 3]).expect("tear");
        let log = LogStore::open(dir.path(), &[1], Durability::Os).expect("torn tail is cut");
        assert_eq!(log.last_index().expect("last"), 1);
        drop(log);
        // The first record (the voters) damaged, with records after it.
        let mut damaged = whole.clone();
        let first_len = u32::from_le_bytes([whole[0], whole[1], whole[2], whole[3]]) as usize;
        assert!(first_len > 1 && HEADER + first_len < whole.len());
        damaged[HEADER] ^= 0xff;
        std::fs::write(&path, &damaged).expect("damage");
        let err = LogStore::open(dir.path(), &[1], Durability::Os).expect_err("damaged");
        assert!(err.to_string().contains("damaged"), "{err}");
    }

    #[test]
    fn compaction_keeps_the_snapshot_and_the_entries_after_it_across_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let mut log = LogStore::open(dir.path(), &[1, 2, 3], Durability::Os).expect("open");
            let entries: Vec<Entry> = (1..=10).map(|i| entry(i, 1, &[i as u8])).collect();
            log.append(&entries).expect("append");
            log.set_commit(8);
            log.persist().expect("persist");
            let mut snapshot = Snapshot::default();
            snapshot.mut_metadata().index = 6;
            snapshot.mut_metadata().term = 1;
            snapshot.data = b"engine at 6".to_vec().into();
            log.compact(snapshot, 600).expect("compact");
            log.append(&[entry(11, 2, b"k")]).expect("append");
            log.persist().expect("persist");
        }
        let log = LogStore::open(dir.path(), &[1, 2, 3], Durability::Os).expect("reopen");
        assert_eq!(log.first_index().expect("first"), 7);
        assert_eq!(log.last_index().expect("last"), 11);
        assert_eq!(log.term(6).expect("term at the snapshot"), 1);
        assert!(
            log.entries(5, 7, None, GetEntriesContext::empty(false))
                .is_err()
        );
        assert_eq!(data(&log, 7, 9), vec![vec![7u8], vec![8u8]]);
        assert_eq!(log.snapshot_point(), (6, 600));
        let snap = log.snapshot(0, 2).expect("a snapshot to send");
        assert_eq!(&snap.data[..], b"engine at 6");
        assert_eq!(log.hard_state().commit, 8);
    }
}
