//! Framing of one journal record: length, checksum, sequence, payload.
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 4 | payload length `len` (`u32` LE) |
//! | 4 | 4 | CRC32C of bytes 8..16+len: sequence and payload (`u32` LE) |
//! | 8 | 8 | sequence (`u64` LE) |
//! | 16 | len | payload (`codec`): ingest timestamp and command |
//!
//! The length comes first so a reader knows how much to check before it
//! trusts anything. Only the four payload lengths of the four command kinds
//! are valid, which makes a garbage length (zeros from a torn write, say)
//! fail before any checksum; a length changed into another valid one makes
//! the checksum run over a different range and fail. So the checksum covers
//! one contiguous range, sequence and payload, computed in one call: it is
//! a large share of the cost of recovery, so one call per record matters.

use super::codec::{self, DecodeError, MAX_PAYLOAD_LEN};
use matching::command::Command;

/// Length, checksum and sequence.
pub const RECORD_HEADER_LEN: usize = 16;
/// The longest record on disk.
pub const MAX_RECORD_LEN: usize = RECORD_HEADER_LEN + MAX_PAYLOAD_LEN;

/// One sequenced inbound command as the journal holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    pub seq: u64,
    /// Ingest timestamp in ns, taken once by the gateway.
    pub ts: u64,
    pub command: Command,
}

/// Why the bytes at some offset are not a valid record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RecordProblem {
    #[error("record needs {needed} bytes but only {available} remain in the file")]
    Truncated { needed: usize, available: usize },
    #[error("length field {0} is not the length of any command payload")]
    BadLength(u32),
    #[error("checksum mismatch (stored {stored:#010x}, computed {computed:#010x})")]
    Checksum { stored: u32, computed: u32 },
    #[error("checksum matches but the payload does not decode: {0}")]
    Undecodable(DecodeError),
}

/// The on-disk length of the record of `command`.
#[inline]
pub fn record_len(command: &Command) -> usize {
    RECORD_HEADER_LEN + codec::payload_len(command)
}

/// Appends the record `(seq, ts, command)` to `out`: exactly
/// `record_len(command)` bytes, so a caller that reserved that much
/// capacity is never reallocated.
#[inline]
pub fn encode(out: &mut Vec<u8>, seq: u64, ts: u64, command: &Command) {
    let start = out.len();
    let len = codec::payload_len(command) as u32;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&seq.to_le_bytes());
    codec::encode_payload(out, ts, command);
    let crc = checksum(&out[start..]);
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// The CRC32C of a record's sequence and payload (all after the checksum).
#[inline]
fn checksum(record: &[u8]) -> u32 {
    super::checksum::crc32c(record.get(8..).unwrap_or(&[]))
}

/// Reads the record at the start of `bytes`, returning it and its length on
/// disk. Does not check the sequence: that is the caller's, who knows what
/// comes next.
#[inline]
pub fn decode(bytes: &[u8]) -> Result<(Record, usize), RecordProblem> {
    let Some((header, _)) = bytes.split_first_chunk::<RECORD_HEADER_LEN>() else {
        return Err(RecordProblem::Truncated {
            needed: RECORD_HEADER_LEN,
            available: bytes.len(),
        });
    };
    let [
        l0,
        l1,
        l2,
        l3,
        c0,
        c1,
        c2,
        c3,
        s0,
        s1,
        s2,
        s3,
        s4,
        s5,
        s6,
        s7,
    ] = *header;
    let len = u32::from_le_bytes([l0, l1, l2, l3]);
    if !codec::is_payload_len(len) {
        return Err(RecordProblem::BadLength(len));
    }
    let total = RECORD_HEADER_LEN + len as usize;
    let Some(record) = bytes.get(..total) else {
        return Err(RecordProblem::Truncated {
            needed: total,
            available: bytes.len(),
        });
    };
    let stored = u32::from_le_bytes([c0, c1, c2, c3]);
    let computed = checksum(record);
    if stored != computed {
        return Err(RecordProblem::Checksum { stored, computed });
    }
    let payload = record.get(RECORD_HEADER_LEN..).unwrap_or(&[]);
    let (ts, command) = codec::decode_payload(payload).map_err(RecordProblem::Undecodable)?;
    let seq = u64::from_le_bytes([s0, s1, s2, s3, s4, s5, s6, s7]);
    Ok((Record { seq, ts, command }, total))
}

/// The offset of the first whole, checksum-valid record in `bytes` at or
/// after `from`, if any. This is what tells a torn tail (nothing valid
/// after the bad record) from damage in the middle (valid data after it).
/// The length filter makes it cheap: almost every offset fails the
/// four-value length test before a checksum is computed.
pub fn next_valid_record(bytes: &[u8], from: usize) -> Option<usize> {
    let last_start = bytes.len().checked_sub(RECORD_HEADER_LEN)?;
    (from..=last_start).find(|&at| {
        let Some(rest) = bytes.get(at..) else {
            return false;
        };
        match rest.first_chunk::<4>() {
            Some(len) if codec::is_payload_len(u32::from_le_bytes(*len)) => decode(rest).is_ok(),
            _ => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use matching::types::{Side, TimeInForce};

    fn sample() -> Command {
        Command::New {
            symbol: 1,
            id: 42,
            account: 9,
            client_order_id: 0,
            side: Side::Buy,
            price: 100,
            qty: 5,
            tif: TimeInForce::Gtc,
        }
    }

    #[test]
    fn round_trip_and_length() {
        let mut buf = Vec::new();
        encode(&mut buf, 17, 99, &sample());
        assert_eq!(buf.len(), record_len(&sample()));
        let (record, len) = decode(&buf).unwrap();
        assert_eq!(len, buf.len());
        assert_eq!(
            record,
            Record {
                seq: 17,
                ts: 99,
                command: sample()
            }
        );
    }

    #[test]
    fn every_truncation_and_bit_flip_is_detected() {
        let mut buf = Vec::new();
        encode(&mut buf, 1, 2, &sample());
        for end in 0..buf.len() {
            assert!(matches!(
                decode(&buf[..end]),
                Err(RecordProblem::Truncated { .. })
            ));
        }
        for i in 0..buf.len() {
            for bit in 0..8 {
                let mut bad = buf.clone();
                bad[i] ^= 1 << bit;
                assert!(
                    decode(&bad).is_err(),
                    "flip of bit {bit} in byte {i} went unnoticed"
                );
            }
        }
    }

    #[test]
    fn finds_the_next_valid_record() {
        let mut buf = vec![0u8; 7];
        encode(&mut buf, 1, 2, &sample());
        assert_eq!(next_valid_record(&buf, 0), Some(7));
        assert_eq!(next_valid_record(&buf, 8), None);
        assert_eq!(next_valid_record(&buf[..10], 0), None);
    }
}
