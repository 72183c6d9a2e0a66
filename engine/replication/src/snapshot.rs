//! A Raft snapshot's data: the engine's state at the end of one log entry.
//!
//! `snapshot_seq: u64 | engine_len: u64 | engine snapshot file | last: u64 |
//! journal records snapshot_seq+1..=last`. The engine snapshots when it
//! likes (every so many commands, or so often), not at entry boundaries;
//! the records after the snapshot up to the end of its entry make the
//! whole exactly the state after that entry, which is what Raft needs.

use std::path::{Path, PathBuf};

/// Frames a snapshot's parts.
pub(crate) fn encode(snapshot_seq: u64, engine: &[u8], tail: &[u8], last: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(24 + engine.len() + tail.len());
    out.extend_from_slice(&snapshot_seq.to_le_bytes());
    out.extend_from_slice(&(engine.len() as u64).to_le_bytes());
    out.extend_from_slice(engine);
    out.extend_from_slice(&last.to_le_bytes());
    out.extend_from_slice(tail);
    out
}

/// The parts: `(snapshot_seq, engine bytes, tail records, last)`.
pub(crate) fn parts(data: &[u8]) -> Option<(u64, &[u8], &[u8], u64)> {
    let (seq, rest) = data.split_first_chunk::<8>()?;
    let (len, rest) = rest.split_first_chunk::<8>()?;
    let len = usize::try_from(u64::from_le_bytes(*len)).ok()?;
    let engine = rest.get(..len)?;
    let (last, tail) = rest.get(len..)?.split_first_chunk::<8>()?;
    Some((
        u64::from_le_bytes(*seq),
        engine,
        tail,
        u64::from_le_bytes(*last),
    ))
}

/// The newest engine snapshot in a journal directory at or before `upto`.
pub(crate) fn newest_engine_snapshot(dir: &Path, upto: u64) -> Option<(u64, PathBuf)> {
    let entries = std::fs::read_dir(dir).ok()?;
    entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name();
            let seq = name
                .to_str()?
                .strip_prefix("snapshot-")?
                .strip_suffix(".snap")?
                .parse::<u64>()
                .ok()?;
            (e.file_name().to_str()? == journal::snapshot_name(seq)).then_some((seq, e.path()))
        })
        .filter(|&(seq, _)| seq <= upto)
        .max_by_key(|&(seq, _)| seq)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_round_trip() {
        let data = encode(7, b"engine", b"tail", 9);
        assert_eq!(parts(&data), Some((7, &b"engine"[..], &b"tail"[..], 9)));
        assert_eq!(parts(&data[..10]), None);
    }
}
