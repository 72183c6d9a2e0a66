//! Segment files: the header that identifies one, and creating one.
//!
//! A segment is a 24-byte header followed by records (`record`):
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 8 | magic `MEJRNSEG` |
//! | 8 | 4 | format version (`u32` LE), 2 |
//! | 12 | 8 | first sequence (`u64` LE); equals the number in the file name |
//! | 20 | 4 | CRC32C of bytes 0..20 (`u32` LE) |
//!
//! The magic recognises a wrong file, the version a file from a future
//! format, and the first sequence a file renamed by hand.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

use super::damage::HeaderProblem;
use super::error::JournalError;
use super::layout;

pub const SEGMENT_MAGIC: [u8; 8] = *b"MEJRNSEG";
/// 2 since records of new orders carry the client order id (`codec`); 3
/// since records may be control commands (`H`, `K`, `L`, `P`). A version-2
/// segment holds only order commands, which version 3 encodes the same way,
/// so both are read.
pub const SEGMENT_VERSION: u32 = 3;
const OLDEST_READABLE_VERSION: u32 = 2;
pub const SEGMENT_HEADER_LEN: usize = 24;

/// The header of the segment whose first record is `first_seq`.
pub fn encode_header(first_seq: u64) -> [u8; SEGMENT_HEADER_LEN] {
    let mut h = [0u8; SEGMENT_HEADER_LEN];
    h[..8].copy_from_slice(&SEGMENT_MAGIC);
    h[8..12].copy_from_slice(&SEGMENT_VERSION.to_le_bytes());
    h[12..20].copy_from_slice(&first_seq.to_le_bytes());
    let crc = crc32c::crc32c(&h[..20]);
    h[20..24].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Checks the header at the start of `bytes` against the file name's
/// first sequence.
pub fn check_header(bytes: &[u8], first_seq: u64) -> Result<(), HeaderProblem> {
    let Some(h) = bytes.first_chunk::<SEGMENT_HEADER_LEN>() else {
        return Err(HeaderProblem::Short(bytes.len()));
    };
    let (magic, rest) = h.split_at(8);
    if magic != SEGMENT_MAGIC {
        return Err(HeaderProblem::BadMagic);
    }
    let mut r = super::codec::Reader { rest };
    let version = r.u32().unwrap_or(0);
    if !(OLDEST_READABLE_VERSION..=SEGMENT_VERSION).contains(&version) {
        return Err(HeaderProblem::UnsupportedVersion(version));
    }
    let header_seq = r.u64().unwrap_or(0);
    let stored = r.u32().unwrap_or(0);
    if stored != crc32c::crc32c(&h[..20]) {
        return Err(HeaderProblem::Checksum);
    }
    if header_seq != first_seq {
        return Err(HeaderProblem::FirstSeqMismatch {
            name: first_seq,
            header: header_seq,
        });
    }
    Ok(())
}

/// `true` when `bytes` look like a header that was being written when the
/// machine stopped: shorter than a header and a prefix of the right one,
/// or nothing but zeros (a file whose size reached the disk before its
/// data, which some file systems allow).
pub fn is_torn_header(bytes: &[u8], first_seq: u64) -> bool {
    let expected = encode_header(first_seq);
    let prefix = bytes.len() < SEGMENT_HEADER_LEN && expected.starts_with(bytes);
    prefix || bytes.iter().all(|&b| b == 0)
}

/// Creates the segment file for `first_seq` in `dir` and writes its header.
/// The caller fsyncs the directory (the writer defers it to its next
/// `sync`, so a roll costs no fsync on the hot path).
pub(crate) fn create(dir: &Path, first_seq: u64) -> Result<File, JournalError> {
    let path = dir.join(layout::segment_name(first_seq));
    let mut file = OpenOptions::new()
        .append(true)
        .create_new(true)
        .open(&path)
        .map_err(JournalError::io("create segment", &path))?;
    file.write_all(&encode_header(first_seq))
        .map_err(JournalError::io("write segment header", &path))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_checks() {
        let h = encode_header(42);
        assert_eq!(check_header(&h, 42), Ok(()));
        assert_eq!(
            check_header(&h, 43),
            Err(HeaderProblem::FirstSeqMismatch {
                name: 43,
                header: 42
            })
        );
        assert_eq!(check_header(&h[..10], 42), Err(HeaderProblem::Short(10)));
        let mut bad = h;
        bad[0] = b'X';
        assert_eq!(check_header(&bad, 42), Err(HeaderProblem::BadMagic));
        let mut bad = h;
        bad[13] ^= 1;
        assert_eq!(check_header(&bad, 42), Err(HeaderProblem::Checksum));
        for n in 0..SEGMENT_HEADER_LEN {
            assert!(is_torn_header(&h[..n], 42));
        }
        assert!(!is_torn_header(&h, 42));
        assert!(is_torn_header(&[0; 100], 42));
        assert!(!is_torn_header(b"hello", 42));
    }
}
