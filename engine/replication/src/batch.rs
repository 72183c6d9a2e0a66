//! A Raft log entry's data: one journal batch.
//!
//! `first: u64 | last: u64 | journal records first..=last`, little endian.
//! The records are the journal's own encoding (`journal::record`), each
//! with its checksum, so a follower checks what it applies and writes the
//! same bytes into its journal as the leader did.

use journal::record::{self, Record, RecordProblem};

const HEADER: usize = 16;

/// Frames a batch of journal records for the log, in the records' own
/// buffer (the header goes in front, moving the records up): the leader's
/// J hands over a buffer per batch, and this keeps it at one allocation.
pub fn encode(mut records: Vec<u8>, first: u64, last: u64) -> Vec<u8> {
    let mut header = [0u8; HEADER];
    header[..8].copy_from_slice(&first.to_le_bytes());
    header[8..].copy_from_slice(&last.to_le_bytes());
    records.splice(0..0, header);
    records
}

/// The sequences a batch spans, or `None` for an entry that is not a
/// batch (Raft's own empty entries).
pub fn span(data: &[u8]) -> Option<(u64, u64)> {
    let (first, rest) = data.split_first_chunk::<8>()?;
    let (last, _) = rest.split_first_chunk::<8>()?;
    Some((u64::from_le_bytes(*first), u64::from_le_bytes(*last)))
}

/// The records of a batch, decoded and checked.
pub fn records(data: &[u8]) -> impl Iterator<Item = Result<Record, RecordProblem>> + '_ {
    let mut rest = data.get(HEADER..).unwrap_or(&[]);
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        match record::decode(rest) {
            Ok((record, used)) => {
                rest = &rest[used..];
                Some(Ok(record))
            }
            Err(problem) => {
                rest = &[];
                Some(Err(problem))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use matching::command::Command;
    use matching::types::OrderId;

    #[test]
    fn round_trips_records_and_span() {
        let mut recs = Vec::new();
        for seq in 5..=7 {
            let cancel = Command::Cancel {
                symbol: 1,
                id: seq as OrderId,
            };
            record::encode(&mut recs, seq, 100 + seq, &cancel);
        }
        let data = encode(recs, 5, 7);
        assert_eq!(span(&data), Some((5, 7)));
        let seqs: Vec<u64> = records(&data).map(|r| r.expect("valid").seq).collect();
        assert_eq!(seqs, vec![5, 6, 7]);
        assert_eq!(span(&[]), None);
        let mut bad = data.clone();
        let end = bad.len() - 1;
        bad[end] ^= 1;
        assert!(records(&bad).any(|r| r.is_err()));
    }
}
