//! Replacing a journal's contents with another node's state: a snapshot
//! and the records after it. What a cluster node far behind (or started on
//! an empty directory) does when the leader sends it Raft's snapshot
//! instead of log entries it no longer has.
//!
//! The old segments and snapshots go (they are a prefix of the same
//! history, or nothing); the snapshot file is written as the leader's
//! bytes, checked by reading it back; the records after it start a
//! segment of their own at the snapshot's next sequence. Recovery then
//! starts from the snapshot, as it does after retention removed the
//! segments before one.

use std::io::Write;
use std::path::Path;

use super::error::JournalError;
use super::files::{sync_dir, write_atomically};
use super::instruments::write_instruments;
use super::layout::{self, INSTRUMENTS_FILE};
use super::record;
use super::snapshot::read_snapshot;
use super::writer::{JournalWriter, WriterOptions};

/// Makes `dir` hold exactly the state of `snapshot` (a snapshot file's
/// bytes, as `write_snapshot` wrote them for `snapshot_seq`) followed by `tail` (journal
/// records, `record::encode`d, from the snapshot's sequence + 1 on, gap
/// free). Returns the journal's last sequence. The journal must not be
/// open (its lock is taken).
pub fn install_snapshot(
    dir: &Path,
    snapshot_seq: u64,
    snapshot: &[u8],
    tail: &[u8],
    options: WriterOptions,
) -> Result<u64, JournalError> {
    std::fs::create_dir_all(dir).map_err(JournalError::io("create directory", dir))?;
    // Check everything before changing anything: a snapshot that does not
    // read back, or a tail that does not follow it, leaves the journal as it was.
    let incoming = dir.join("incoming");
    std::fs::create_dir_all(&incoming).map_err(JournalError::io("create directory", &incoming))?;
    let name = layout::snapshot_name(snapshot_seq);
    let staged = write_atomically(&incoming, &name, |out| out.write_all(snapshot))?;
    let decoded = match read_snapshot(&staged) {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&incoming);
            return Err(e);
        }
    };
    let mut records = Vec::new();
    let mut rest = tail;
    let mut expected = decoded.last_seq + 1;
    while !rest.is_empty() {
        let (r, used) = record::decode(rest).map_err(|p| JournalError::BadFile {
            file: dir.join("incoming tail"),
            problem: p.to_string(),
        })?;
        if r.seq != expected {
            return Err(JournalError::OutOfSequence {
                expected,
                got: r.seq,
            });
        }
        expected += 1;
        records.push(r);
        rest = &rest[used..];
    }

    let listing = layout::list(dir)?;
    for file in listing.segments.iter().chain(&listing.snapshots) {
        std::fs::remove_file(&file.path).map_err(JournalError::io("remove", &file.path))?;
    }
    let target = dir.join(layout::snapshot_name(decoded.last_seq));
    std::fs::rename(&staged, &target).map_err(JournalError::io("rename into place", &target))?;
    let _ = std::fs::remove_dir(&incoming);
    if !dir.join(INSTRUMENTS_FILE).exists() {
        write_instruments(dir, &decoded.instruments)?;
    }
    drop(super::segment::create(dir, decoded.last_seq + 1)?);
    sync_dir(dir)?;
    let (mut writer, _) = JournalWriter::open(dir, options)?;
    for r in &records {
        writer.append(r.seq, r.ts, &r.command)?;
    }
    let last = writer.close()?;
    // The journal now reads back as the snapshot and the tail.
    let mut read = decoded.last_seq;
    super::reader::read_journal(dir, decoded.last_seq, |r| {
        read = r.seq;
    })?;
    if read != last {
        return Err(JournalError::Internal(format!(
            "installed a snapshot at {} and records to {last}, but the journal reads back to {read}",
            decoded.last_seq
        )));
    }
    Ok(last)
}
