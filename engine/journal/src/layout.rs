//! The files of a journal directory and their names.
//!
//! ```text
//! DIR/instruments                          instrument definitions (written once, atomically)
//! DIR/00000000000000000001.seg             segment whose first record is sequence 1
//! DIR/00000000000000262145.seg             the next segment
//! DIR/snapshot-00000000000000250000.snap   engine state after sequence 250000
//! ```
//!
//! Sequence numbers are zero-padded to 20 digits (all of `u64`), so sorting
//! names sorts by sequence, in `ls` as in code. Anything else in the
//! directory (temporary `*.tmp` files of an interrupted atomic write,
//! notes) is ignored.

use std::path::{Path, PathBuf};

use super::error::JournalError;

/// The instrument definitions of the journal.
pub const INSTRUMENTS_FILE: &str = "instruments";
const SEGMENT_SUFFIX: &str = ".seg";
const SNAPSHOT_PREFIX: &str = "snapshot-";
const SNAPSHOT_SUFFIX: &str = ".snap";
const SEQ_DIGITS: usize = 20;

/// The file name of the segment whose first record is `first_seq`.
pub fn segment_name(first_seq: u64) -> String {
    format!("{first_seq:020}{SEGMENT_SUFFIX}")
}

/// The file name of the snapshot taken after sequence `seq`.
pub fn snapshot_name(seq: u64) -> String {
    format!("{SNAPSHOT_PREFIX}{seq:020}{SNAPSHOT_SUFFIX}")
}

/// The sequence in a name of `prefix`, 20 digits, `suffix`.
fn parse_seq(name: &str, prefix: &str, suffix: &str) -> Option<u64> {
    let digits = name.strip_prefix(prefix)?.strip_suffix(suffix)?;
    if digits.len() != SEQ_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A numbered file of the journal directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Numbered {
    /// The sequence in the name: a segment's first, a snapshot's last applied.
    pub seq: u64,
    pub path: PathBuf,
}

/// The segments and snapshots of a directory, each ascending by sequence.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub segments: Vec<Numbered>,
    pub snapshots: Vec<Numbered>,
}

/// Lists `dir`. A `.seg` or `.snap` file with a malformed name is an error
/// rather than ignored: it may be a renamed segment, and skipping it would
/// silently drop its records.
pub fn list(dir: &Path) -> Result<Listing, JournalError> {
    let mut listing = Listing::default();
    let entries = std::fs::read_dir(dir).map_err(JournalError::io("read directory", dir))?;
    for entry in entries {
        let entry = entry.map_err(JournalError::io("read directory", dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        let path = entry.path();
        if name.ends_with(SEGMENT_SUFFIX) {
            let seq =
                parse_seq(name, "", SEGMENT_SUFFIX).ok_or_else(|| bad_name(&path, "segment"))?;
            listing.segments.push(Numbered { seq, path });
        } else if name.ends_with(SNAPSHOT_SUFFIX) {
            let seq = parse_seq(name, SNAPSHOT_PREFIX, SNAPSHOT_SUFFIX)
                .ok_or_else(|| bad_name(&path, "snapshot"))?;
            listing.snapshots.push(Numbered { seq, path });
        }
    }
    listing.segments.sort_by_key(|s| s.seq);
    listing.snapshots.sort_by_key(|s| s.seq);
    Ok(listing)
}

fn bad_name(path: &Path, what: &str) -> JournalError {
    let example = match what {
        "segment" => segment_name(1),
        _ => snapshot_name(1),
    };
    JournalError::BadFile {
        file: path.to_path_buf(),
        problem: format!(
            "not a valid {what} name (expected 20 digits, like `{example}`); rename or move it"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_by_sequence_and_parse_back() {
        assert_eq!(segment_name(1), "00000000000000000001.seg");
        assert_eq!(
            snapshot_name(u64::MAX),
            "snapshot-18446744073709551615.snap"
        );
        assert_eq!(
            parse_seq(&segment_name(12345), "", SEGMENT_SUFFIX),
            Some(12345)
        );
        assert_eq!(parse_seq("1.seg", "", SEGMENT_SUFFIX), None);
        assert_eq!(
            parse_seq("99999999999999999999.seg", "", SEGMENT_SUFFIX),
            None
        );
        assert!(segment_name(9) < segment_name(10));
    }
}
