//! The node's Raft log on disk: what Raft needs to survive a restart.
//!
//! Raft's safety rests on three things a node must not forget once it has
//! said them: its term and vote (`HardState`), the entries it acknowledged,
//! and the voters (`ConfState`). raft-rs leaves storage to its user and
//! ships `MemStorage`, an in-memory log; this file makes it durable the
//! plainest way there is: an append-only file of checksummed records,
//! written (and, with durability `fsync`, fdatasync'd) before the messages
//! that promise them are sent, and replayed into a `MemStorage` at start.
//!
//! A record is `len: u32 | crc32c: u32 | kind: u8 | protobuf body`, little
//! endian, the checksum over kind and body. Entries that conflict with a
//! new leader's are not rewritten: the new ones are appended, and replay
//! applies records in order, so `MemStorage::append` truncates the old
//! tail exactly as it did live. A torn last record (a crash mid-write) is
//! cut off at open; a bad record before the end is refused.
//!
//! The log is not compacted yet: it grows with the journal (see
//! docs/replication.md, "What is not done").

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use journal::Durability;
use protobuf::Message as _;
use raft::Storage as _;
use raft::prelude::{ConfState, Entry, HardState};
use raft::storage::MemStorage;

use crate::error::ReplicationError;

const LOG_FILE: &str = "raft.log";
const HEADER: usize = 9;

const KIND_ENTRY: u8 = 1;
const KIND_HARD_STATE: u8 = 2;
const KIND_CONF_STATE: u8 = 3;

/// The durable Raft log of one node, with the in-memory copy raft-rs reads.
pub struct LogStore {
    storage: MemStorage,
    file: File,
    path: PathBuf,
    /// Records made since the last `persist`.
    pending: Vec<u8>,
    durability: Durability,
}

impl std::fmt::Debug for LogStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogStore")
            .field("path", &self.path)
            .field("durability", &self.durability)
            .finish_non_exhaustive()
    }
}

impl LogStore {
    /// Opens the log in `dir` (created if missing). A new log starts with
    /// `voters` as the configuration; an existing one keeps its own.
    pub fn open(
        dir: &Path,
        voters: &[u64],
        durability: Durability,
    ) -> Result<LogStore, ReplicationError> {
        let io = |what: &str, e: std::io::Error| ReplicationError::Log {
            path: dir.join(LOG_FILE),
            message: format!("{what}: {e}"),
        };
        std::fs::create_dir_all(dir).map_err(|e| io("cannot create the directory", e))?;
        let path = dir.join(LOG_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(|e| io("cannot open", e))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|e| io("cannot read", e))?;
        let storage = MemStorage::new();
        let valid = replay(&bytes, &storage).map_err(|message| ReplicationError::Log {
            path: path.clone(),
            message,
        })?;
        if valid < bytes.len() {
            tracing::warn!(
                "{}: cut a torn last record ({} bytes) left by a crash mid-write",
                path.display(),
                bytes.len() - valid
            );
            file.set_len(valid as u64)
                .map_err(|e| io("cannot cut the torn tail", e))?;
        }
        let mut store = LogStore {
            storage,
            file,
            path,
            pending: Vec::new(),
            durability,
        };
        let voters_known = store
            .storage
            .initial_state()
            .is_ok_and(|s| !s.conf_state.voters.is_empty());
        if !voters_known {
            let conf = ConfState::from((voters.to_vec(), vec![]));
            store.storage.wl().set_conf_state(conf.clone());
            store.record(KIND_CONF_STATE, &conf);
            store.persist().map_err(|e| io("cannot write", e))?;
        }
        Ok(store)
    }

    /// The in-memory log raft-rs reads (a handle onto the same log).
    pub fn storage(&self) -> MemStorage {
        self.storage.clone()
    }

    /// Appends entries (replacing any conflicting tail), durable at the next `persist`.
    pub fn append(&mut self, entries: &[Entry]) -> Result<(), raft::Error> {
        self.storage.wl().append(entries)?;
        for e in entries {
            self.record(KIND_ENTRY, e);
        }
        Ok(())
    }

    /// Records the term, vote and commit index, durable at the next `persist`.
    pub fn set_hard_state(&mut self, hs: &HardState) {
        self.storage.wl().set_hardstate(hs.clone());
        self.record(KIND_HARD_STATE, hs);
    }

    /// Records a new commit index.
    pub fn set_commit(&mut self, commit: u64) {
        let mut hs = self.storage.rl().hard_state().clone();
        hs.commit = commit;
        self.set_hard_state(&hs);
    }

    /// Writes what was recorded since the last call, and with durability
    /// `fsync` waits for the disk. Raft may promise it only after this.
    pub fn persist(&mut self) -> std::io::Result<()> {
        if self.pending.is_empty() || self.durability == Durability::None {
            self.pending.clear();
            return Ok(());
        }
        self.file.write_all(&self.pending)?;
        self.pending.clear();
        if self.durability == Durability::Fsync {
            self.file.sync_data()?;
        }
        Ok(())
    }

    fn record(&mut self, kind: u8, body: &impl protobuf::Message) {
        let start = self.pending.len();
        self.pending.extend_from_slice(&[0; 8]);
        self.pending.push(kind);
        // A protobuf message with every field set serialises; raft-rs's
        // types have no required fields, so this cannot fail.
        let _ = body.write_to_vec(&mut self.pending);
        let len = (self.pending.len() - start - HEADER) as u32;
        let crc = crc32c::crc32c(&self.pending[start + 8..]);
        self.pending[start..start + 4].copy_from_slice(&len.to_le_bytes());
        self.pending[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    }
}

/// Applies every whole record to `storage`; returns how many bytes were
/// whole. A torn last record is left out; a bad record followed by more
/// is an error (the log is damaged, not torn).
fn replay(bytes: &[u8], storage: &MemStorage) -> Result<usize, String> {
    let mut at = 0;
    while at < bytes.len() {
        let Some(header) = bytes.get(at..at + HEADER) else {
            return Ok(at);
        };
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let end = at + HEADER + len;
        let Some(record) = bytes.get(at + 8..end) else {
            return Ok(at);
        };
        if crc32c::crc32c(record) != crc {
            if end == bytes.len() {
                return Ok(at);
            }
            return Err(format!(
                "record at byte {at} fails its checksum and is not the last: the log is damaged"
            ));
        }
        let body = &record[1..];
        let damaged = |e: &dyn std::fmt::Display| format!("record at byte {at}: {e}");
        match record[0] {
            KIND_ENTRY => {
                let entry = Entry::parse_from_bytes(body).map_err(|e| damaged(&e))?;
                let (first, last) = (
                    storage.first_index().map_err(|e| damaged(&e))?,
                    storage.last_index().map_err(|e| damaged(&e))?,
                );
                // `append` panics on these: a damaged log is an error instead.
                if entry.index < first || entry.index > last + 1 {
                    return Err(damaged(&format!(
                        "entry {} does not follow the log (it holds {first}..={last})",
                        entry.index
                    )));
                }
                storage.wl().append(&[entry]).map_err(|e| damaged(&e))?;
            }
            KIND_HARD_STATE => {
                let hs = HardState::parse_from_bytes(body).map_err(|e| damaged(&e))?;
                storage.wl().set_hardstate(hs);
            }
            KIND_CONF_STATE => {
                let cs = ConfState::parse_from_bytes(body).map_err(|e| damaged(&e))?;
                storage.wl().set_conf_state(cs);
            }
            kind => return Err(damaged(&format!("unknown record kind {kind}"))),
        }
        at = end;
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(index: u64, term: u64, data: &[u8]) -> Entry {
        Entry {
            index,
            term,
            data: data.to_vec().into(),
            ..Default::default()
        }
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
        let storage = log.storage();
        let state = storage.initial_state().expect("state");
        assert_eq!(
            state.conf_state.voters,
            vec![1, 2, 3],
            "kept its own voters"
        );
        assert_eq!((state.hard_state.term, state.hard_state.vote), (2, 3));
        assert_eq!(state.hard_state.commit, 2);
        assert_eq!(storage.last_index().expect("last"), 2);
        let entries = storage
            .entries(1, 3, None, raft::GetEntriesContext::empty(false))
            .expect("entries");
        let data: Vec<&[u8]> = entries.iter().map(|e| &e.data[..]).collect();
        assert_eq!(data, vec![&b"a"[..], &b"B"[..]]);
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
        let path = dir.path().join(LOG_FILE);
        let whole = std::fs::read(&path).expect("read");
        std::fs::write(&path, &whole[..whole.len() - 3]).expect("tear");
        let log = LogStore::open(dir.path(), &[1], Durability::Os).expect("torn tail is cut");
        assert_eq!(log.storage().last_index().expect("last"), 1);
        drop(log);
        let mut damaged = whole.clone();
        let conf_len = {
            let len = u32::from_le_bytes([whole[0], whole[1], whole[2], whole[3]]) as usize;
            HEADER + len
        };
        damaged[conf_len + HEADER] ^= 0xff;
        std::fs::write(&path, &damaged).expect("damage");
        let err = LogStore::open(dir.path(), &[1], Durability::Os).expect_err("damaged");
        assert!(err.to_string().contains("damaged"), "{err}");
    }
}
