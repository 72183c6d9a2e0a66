//! Torn tails and damage: a crash can only tear the end of the last
//! segment, and recovery cuts exactly that off; anything else is an error
//! that names the file and the byte offset, and leaves the files alone.

#![allow(clippy::unwrap_used)] // a test that cannot set up should fail loudly

mod journal_support;

use std::path::{Path, PathBuf};

use journal::{
    self, Damage, JournalError, JournalWriter, RecordProblem, Warning, inspect, read_journal,
    recover,
};
use journal_support::*;

/// A journal of a realistic stream over a few small segments, and its records.
fn base_journal() -> (tempfile::TempDir, Vec<journal::Record>) {
    let dir = tempdir();
    let w = workload(400, 11);
    let records = write_journal(
        dir.path(),
        &w.instruments,
        &w.commands,
        small_segments(12_000),
    );
    assert!(segments(dir.path()).len() >= 3);
    (dir, records)
}

fn fresh_copy(from: &Path) -> tempfile::TempDir {
    let dir = tempdir();
    copy_dir(from, dir.path());
    dir
}

fn last_segment(dir: &Path) -> PathBuf {
    segments(dir).pop().unwrap()
}

#[test]
fn truncation_at_every_offset_of_the_tail_keeps_exactly_the_whole_records() {
    let (base, records) = base_journal();
    let last = last_segment(base.path());
    let name = last.file_name().unwrap().to_owned();
    let bytes = std::fs::read(&last).unwrap();
    let offsets = record_offsets(&bytes);
    assert!(
        offsets.len() >= 8,
        "last segment holds {} records",
        offsets.len()
    );
    let first_in_last = records.len() - offsets.len(); // records in earlier segments
    // Every length from inside the header, and every length from the start
    // of the sixth-last record to the full file.
    let from_record = offsets[offsets.len() - 6];
    let lengths = (0..=SEGMENT_HEADER_LEN).chain(from_record..=bytes.len());
    let mut cases = 0;
    for len in lengths {
        let dir = fresh_copy(base.path());
        let path = dir.path().join(&name);
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len as u64)
            .unwrap();
        // Whole records that fit in `len` bytes.
        let whole = offsets
            .iter()
            .enumerate()
            .filter(|&(i, _)| offsets.get(i + 1).copied().unwrap_or(bytes.len()) <= len)
            .count();
        let kept_end = if whole == 0 {
            SEGMENT_HEADER_LEN
        } else {
            offsets.get(whole).copied().unwrap_or(bytes.len())
        };
        let expected_last = (first_in_last + whole) as u64;

        // Reading does not change the file and reports the torn part.
        let mut seen = Vec::new();
        let summary = read_journal(dir.path(), 0, |r| seen.push(*r)).unwrap();
        assert_eq!(
            seen,
            records[..expected_last as usize],
            "read, length {len}"
        );
        assert_eq!(summary.warnings.is_empty(), len == kept_end, "length {len}");
        assert_eq!(std::fs::metadata(&path).unwrap().len(), len as u64);

        let (_, recovered) = recover(dir.path(), config()).unwrap();
        assert_eq!(recovered.last_seq, expected_last, "length {len}");
        match recovered.warnings.as_slice() {
            [] => assert_eq!(len, kept_end, "no warning, yet the file was cut"),
            [
                Warning::TornTail {
                    offset,
                    dropped,
                    repaired: true,
                    ..
                },
            ] => {
                assert_eq!(*offset, kept_end as u64, "length {len}");
                assert_eq!(*dropped, (len - kept_end) as u64);
            }
            [Warning::TornHeader { repaired: true, .. }] => assert!(len < SEGMENT_HEADER_LEN),
            other => panic!("length {len}: unexpected warnings {other:?}"),
        }
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            kept_end as u64,
            "length {len}"
        );
        assert_eq!(read_all(dir.path()), records[..expected_last as usize]);

        // The writer continues right after the kept records.
        let (mut writer, report) = JournalWriter::open(dir.path(), small_segments(12_000)).unwrap();
        assert!(report.warnings.is_empty(), "recovery already repaired it");
        assert_eq!(writer.next_seq(), expected_last + 1);
        if let Some(next) = records.get(expected_last as usize) {
            writer.append(next.seq, next.ts, &next.command).unwrap();
            writer.close().unwrap();
            assert_eq!(read_all(dir.path()), records[..=expected_last as usize]);
        }
        cases += 1;
    }
    assert!(cases > 200, "only {cases} truncations tried");
}

#[test]
fn garbage_after_the_last_record_is_a_torn_tail() {
    let (base, records) = base_journal();
    let garbage_then_zeros = [b"\x2b\x00\x00\x00garbage".as_slice(), &[0; 4096]].concat();
    for tail in [
        vec![0xab; 37],
        b"\x2b\x00\x00\x00garbage".to_vec(),
        garbage_then_zeros,
    ] {
        let dir = fresh_copy(base.path());
        let last = last_segment(dir.path());
        let mut bytes = std::fs::read(&last).unwrap();
        let end = bytes.len();
        bytes.extend_from_slice(&tail);
        std::fs::write(&last, &bytes).unwrap();
        let (_, recovered) = recover(dir.path(), config()).unwrap();
        assert_eq!(recovered.last_seq, records.len() as u64);
        assert!(matches!(
            recovered.warnings.as_slice(),
            [Warning::TornTail { offset, .. }] if *offset == end as u64
        ));
        assert_eq!(std::fs::metadata(&last).unwrap().len(), end as u64);
    }
}

/// What a crashed writer leaves: segments mapped at full size, zeros after
/// their records (the last one's free space, and an earlier one whose
/// trim had not happened yet). Nothing is damaged, nothing is cut, and a
/// writer appends right after the records.
#[test]
fn zeros_after_the_records_are_free_space() {
    let (base, records) = base_journal();
    let dir = fresh_copy(base.path());
    let segs = segments(dir.path());
    let mut ends = Vec::new();
    for seg in [&segs[0], segs.last().unwrap()] {
        let mut bytes = std::fs::read(seg).unwrap();
        ends.push(bytes.len() as u64);
        bytes.resize(bytes.len() + 9_000, 0);
        std::fs::write(seg, &bytes).unwrap();
    }
    let inspection = inspect(dir.path()).unwrap();
    assert!(
        inspection
            .segments
            .iter()
            .all(|s| s.report.damage.is_none())
    );
    assert_eq!(inspection.segments[0].report.valid_bytes, ends[0]);
    assert_eq!(read_all(dir.path()), records);

    let (_, recovered) = recover(dir.path(), config()).unwrap();
    assert_eq!(recovered.last_seq, records.len() as u64);
    assert!(recovered.warnings.is_empty(), "{:?}", recovered.warnings);
    let last = segs.last().unwrap();
    assert_eq!(std::fs::metadata(last).unwrap().len(), ends[1] + 9_000);

    // The writer continues after the last record, and a clean close trims
    // the file to its records.
    let (mut writer, report) = JournalWriter::open(dir.path(), small_segments(12_000)).unwrap();
    assert!(report.warnings.is_empty());
    let next = records.len() as u64 + 1;
    let command = records[0].command;
    writer.append(next, ts_of(next), &command).unwrap();
    writer.close().unwrap();
    let all = read_all(dir.path());
    assert_eq!(all.len(), records.len() + 1);
    assert_eq!(all[..records.len()], records);
    let segs_after = segments(dir.path());
    let last_after = segs_after.last().unwrap();
    let bytes = std::fs::read(last_after).unwrap();
    assert_eq!(
        record_layout(&bytes).1,
        bytes.len(),
        "free space left after a clean close"
    );
}

/// A writer killed while copying a record into its mapped segment leaves
/// that record's bytes with its length still zero (the length is stored
/// last), then free space: a torn tail in the last segment, cut off like
/// any other. The same in an earlier segment, which no crash can tear, is
/// damage.
#[test]
fn a_record_killed_mid_copy_is_a_torn_tail_only_at_the_end() {
    let (base, records) = base_journal();
    let half_copied = |seg: &Path| -> (u64, u64) {
        let mut bytes = std::fs::read(seg).unwrap();
        let end = bytes.len();
        let (offsets, _) = record_layout(&bytes);
        let last = offsets[offsets.len() - 1];
        let mut body = bytes[last..end].to_vec();
        body[..4].fill(0);
        body.truncate(body.len() - 3); // its last bytes not stored yet
        let dropped = body.iter().rposition(|&b| b != 0).unwrap() as u64 + 1;
        bytes.extend_from_slice(&body);
        bytes.resize(bytes.len() + 5_000, 0);
        std::fs::write(seg, &bytes).unwrap();
        (end as u64, dropped)
    };

    let dir = fresh_copy(base.path());
    let last = last_segment(dir.path());
    let (end, dropped) = half_copied(&last);
    let (_, recovered) = recover(dir.path(), config()).unwrap();
    assert_eq!(recovered.last_seq, records.len() as u64);
    match recovered.warnings.as_slice() {
        [
            Warning::TornTail {
                offset,
                dropped: d,
                repaired: true,
                ..
            },
        ] => assert_eq!((*offset, *d), (end, dropped)),
        other => panic!("unexpected warnings {other:?}"),
    }
    assert_eq!(std::fs::metadata(&last).unwrap().len(), end);
    assert_eq!(read_all(dir.path()), records);

    let dir = fresh_copy(base.path());
    let first = segments(dir.path())[0].clone();
    let (end, _) = half_copied(&first);
    match recover(dir.path(), config()) {
        Err(JournalError::Damaged {
            file,
            damage: Damage::Corrupt { offset, .. },
        }) => assert_eq!((file, offset), (first, end)),
        other => panic!("expected damage, got {:?}", other.map(|r| r.1.last_seq)),
    }
}

/// What a damage case does to a copy of the base journal: returns the file
/// it damaged and the offset where the damage starts.
type Mutation = fn(&Path) -> (PathBuf, u64);

/// Whether a case's damage is the kind expected.
type Expect = fn(&Damage) -> bool;

fn flip(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at] ^= 0x40;
    std::fs::write(path, bytes).unwrap();
}

/// A byte in the middle of the third-last record of the last segment.
fn flip_earlier_record_in_last_segment(dir: &Path) -> (PathBuf, u64) {
    let last = last_segment(dir);
    let offsets = record_offsets(&std::fs::read(&last).unwrap());
    let at = offsets[offsets.len() - 3];
    flip(&last, at + 20);
    (last, at as u64)
}

/// A byte in the last record of the first segment (not the last segment,
/// so not a tail even though it is that file's last record).
fn flip_last_record_of_first_segment(dir: &Path) -> (PathBuf, u64) {
    let first = segments(dir)[0].clone();
    let offsets = record_offsets(&std::fs::read(&first).unwrap());
    let at = *offsets.last().unwrap();
    flip(&first, at + 9);
    (first, at as u64)
}

/// The length field of a record in the middle of the last segment.
fn flip_length_field(dir: &Path) -> (PathBuf, u64) {
    let last = last_segment(dir);
    let offsets = record_offsets(&std::fs::read(&last).unwrap());
    let at = offsets[2];
    flip(&last, at);
    (last, at as u64)
}

/// Cuts a whole record out of the middle of the last segment: every
/// checksum is valid, but the sequences skip one.
fn remove_a_record(dir: &Path) -> (PathBuf, u64) {
    let last = last_segment(dir);
    let mut bytes = std::fs::read(&last).unwrap();
    let offsets = record_offsets(&bytes);
    bytes.drain(offsets[3]..offsets[4]);
    std::fs::write(&last, bytes).unwrap();
    (last, offsets[3] as u64)
}

/// Deletes a middle segment.
fn remove_a_segment(dir: &Path) -> (PathBuf, u64) {
    let segs = segments(dir);
    std::fs::remove_file(&segs[1]).unwrap();
    (segs[2].clone(), 0)
}

/// Cuts the first segment short in the middle of a record.
fn truncate_a_middle_segment(dir: &Path) -> (PathBuf, u64) {
    let first = segments(dir)[0].clone();
    let offsets = record_offsets(&std::fs::read(&first).unwrap());
    let at = offsets[offsets.len() - 2];
    std::fs::OpenOptions::new()
        .write(true)
        .open(&first)
        .unwrap()
        .set_len(at as u64 + 5)
        .unwrap();
    (first, at as u64)
}

/// Replaces the first segment's magic.
fn wrong_file(dir: &Path) -> (PathBuf, u64) {
    let first = segments(dir)[0].clone();
    flip(&first, 0);
    (first, 0)
}

#[test]
fn damage_before_the_tail_is_an_error_naming_file_and_offset() {
    let (base, _) = base_journal();
    let cases: [(&str, Mutation, Expect); 7] = [
        (
            "flipped byte, earlier record of the last segment",
            flip_earlier_record_in_last_segment,
            |d| {
                matches!(
                    d,
                    Damage::Corrupt {
                        problem: RecordProblem::Checksum { .. },
                        ..
                    }
                )
            },
        ),
        (
            "flipped byte, last record of a non-last segment",
            flip_last_record_of_first_segment,
            |d| matches!(d, Damage::Corrupt { .. }),
        ),
        (
            "flipped length field followed by valid records",
            flip_length_field,
            |d| matches!(d, Damage::Corrupt { .. }),
        ),
        ("record removed: sequence gap", remove_a_record, |d| {
            matches!(d, Damage::SequenceGap { .. })
        }),
        (
            "segment removed: gap between segments",
            remove_a_segment,
            |d| matches!(d, Damage::SegmentGap { .. }),
        ),
        (
            "non-last segment cut mid-record",
            truncate_a_middle_segment,
            |d| {
                matches!(
                    d,
                    Damage::Corrupt {
                        problem: RecordProblem::Truncated { .. },
                        ..
                    }
                )
            },
        ),
        ("not a segment file", wrong_file, |d| {
            matches!(d, Damage::BadHeader(_))
        }),
    ];
    for (name, mutate, expected) in cases {
        let dir = fresh_copy(base.path());
        let (file, offset) = mutate(dir.path());
        let before: Vec<Vec<u8>> = segments(dir.path())
            .iter()
            .map(|p| std::fs::read(p).unwrap())
            .collect();

        for err in [
            recover(dir.path(), config()).map(|_| ()).unwrap_err(),
            read_journal(dir.path(), 0, |_| {}).map(|_| ()).unwrap_err(),
        ] {
            let JournalError::Damaged {
                file: named,
                damage,
            } = &err
            else {
                panic!("{name}: expected damage, got {err}");
            };
            assert_eq!(*named, file, "{name}");
            assert!(expected(damage), "{name}: unexpected {damage:?}");
            assert_eq!(damage.offset(), offset, "{name}");
            let message = err.to_string();
            let file_name = file.file_name().unwrap().to_str().unwrap();
            assert!(message.contains(file_name), "{name}: {message}");
            if offset > 0 {
                assert!(
                    message.contains(&format!("byte {offset}")),
                    "{name}: {message}"
                );
            }
        }
        let after: Vec<Vec<u8>> = segments(dir.path())
            .iter()
            .map(|p| std::fs::read(p).unwrap())
            .collect();
        assert_eq!(
            before, after,
            "{name}: a refused recovery must not change the files"
        );
        assert!(inspect(dir.path()).unwrap().recovery_refuses(), "{name}");
        assert!(
            JournalWriter::open(dir.path(), small_segments(12_000)).is_err()
                || !is_last(&file, dir.path())
        );
    }
}

fn is_last(file: &Path, dir: &Path) -> bool {
    last_segment(dir) == file
}

#[test]
fn a_damaged_last_record_is_indistinguishable_from_a_torn_write() {
    // Nothing valid follows it, so recovery treats it as the torn tail it
    // most likely is: the record was being written when the crash came.
    let (base, records) = base_journal();
    let dir = fresh_copy(base.path());
    let last = last_segment(dir.path());
    let offsets = record_offsets(&std::fs::read(&last).unwrap());
    let at = *offsets.last().unwrap();
    flip(&last, at + 30);
    let (_, recovered) = recover(dir.path(), config()).unwrap();
    assert_eq!(recovered.last_seq, records.len() as u64 - 1);
    assert!(
        matches!(recovered.warnings.as_slice(), [Warning::TornTail { offset, .. }] if *offset == at as u64)
    );
}

/// The reader reads segments 256 KiB at a time (`reader::CHUNK`).
const CHUNK: usize = 256 << 10;

#[test]
fn records_straddling_read_chunks_are_read_cut_and_checked_exactly() {
    let dir = tempdir();
    let w = workload(30_000, 12);
    let records = write_journal(
        dir.path(),
        &w.instruments,
        &w.commands,
        journal::WriterOptions::default(),
    );
    let seg = segments(dir.path()).pop().unwrap();
    assert_eq!(segments(dir.path()).len(), 1);
    let bytes = std::fs::read(&seg).unwrap();
    assert!(bytes.len() > 4 * CHUNK, "{} bytes", bytes.len());
    // Later chunk boundaries fall at varying offsets; reading the whole
    // file crosses several.
    assert_eq!(read_all(dir.path()), records);

    let offsets = record_offsets(&bytes);
    for cut in CHUNK - 100..=CHUNK + 100 {
        std::fs::write(&seg, &bytes[..cut]).unwrap();
        let whole = offsets
            .iter()
            .enumerate()
            .filter(|&(i, _)| offsets.get(i + 1).copied().unwrap_or(bytes.len()) <= cut)
            .count();
        let mut seen = Vec::new();
        let summary = read_journal(dir.path(), 0, |r| seen.push(*r)).unwrap();
        assert_eq!(seen, records[..whole], "cut at {cut}");
        let at_boundary = offsets.get(whole) == Some(&cut);
        assert_eq!(summary.warnings.is_empty(), at_boundary, "cut at {cut}");
    }
    // A flipped byte in the record across the first boundary, and in the
    // one after it: valid records follow, so it is damage, at its start.
    let straddling = offsets.partition_point(|&o| o < CHUNK) - 1;
    for i in [straddling, straddling + 1] {
        let mut bad = bytes.clone();
        bad[offsets[i] + 12] ^= 0x10;
        std::fs::write(&seg, &bad).unwrap();
        let err = read_journal(dir.path(), 0, |_| {}).unwrap_err();
        let JournalError::Damaged { damage, .. } = &err else {
            panic!("{err}");
        };
        assert_eq!(damage.offset(), offsets[i] as u64, "{err}");
    }
}
