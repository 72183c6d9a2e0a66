//! No bytes on disk make the journal panic: random segment, snapshot and
//! instruments contents, and random damage to a real journal, give either
//! a result or an error. With random damage to the last segment, what
//! recovery keeps is always a prefix of what was written.

#![allow(clippy::unwrap_used)] // a test that cannot set up should fail loudly

mod journal_support;

use std::path::Path;
use std::sync::OnceLock;

use journal::{
    self, JournalWriter, Record, inspect, read_journal, read_snapshot, recover, segment_name,
    snapshot_name, write_instruments,
};
use journal_support::*;
use proptest::prelude::*;
use proptest::sample::Index;

/// A valid journal's files as (name, bytes) pairs, and its records.
type Base = (Vec<(String, Vec<u8>)>, Vec<Record>);

/// The base journal, built once for all cases.
fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let dir = tempdir();
        let w = workload(300, 41);
        let records = write_journal(
            dir.path(),
            &w.instruments,
            &w.commands,
            small_segments(9_000),
        );
        let files = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().into_string().unwrap(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect();
        (files, records)
    })
}

fn materialize(dir: &Path) -> String {
    let mut last = String::new();
    for (name, bytes) in &base().0 {
        std::fs::write(dir.join(name), bytes).unwrap();
        if name.ends_with(".seg") && *name > last {
            last = name.clone();
        }
    }
    last
}

/// Runs every reader over `dir`; none may panic.
fn read_everything(dir: &Path) {
    let _ = read_journal(dir, 0, |_| {});
    let _ = inspect(dir);
    let _ = recover(dir, config());
    let _ = JournalWriter::open(dir, small_segments(9_000));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn random_damage_to_the_last_segment_keeps_a_prefix_or_errs(
        flips in prop::collection::vec((any::<Index>(), 1..=255u8), 0..4),
        cut in prop::option::of(any::<Index>()),
    ) {
        let dir = tempdir();
        let last = dir.path().join(materialize(dir.path()));
        let mut bytes = std::fs::read(&last).unwrap();
        for (at, mask) in &flips {
            let i = at.index(bytes.len());
            bytes[i] ^= mask;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        std::fs::write(&last, &bytes).unwrap();
        let records = &base().1;
        if let Ok((_, recovered)) = recover(dir.path(), config()) {
            let kept = read_all(dir.path());
            prop_assert_eq!(kept.len() as u64, recovered.last_seq);
            prop_assert_eq!(&kept[..], &records[..kept.len()]);
        }
        read_everything(dir.path());
    }

    #[test]
    fn random_segment_bytes_never_panic(
        body in prop::collection::vec(any::<u8>(), 0..400),
        with_header in any::<bool>(),
    ) {
        let dir = tempdir();
        write_instruments(dir.path(), &workload(1, 1).instruments[..1]).unwrap();
        let mut bytes = Vec::new();
        if with_header {
            // A real header, so the random bytes are read as records.
            let tmp = tempdir();
            JournalWriter::create(tmp.path(), &[], small_segments(9_000)).unwrap().close().unwrap();
            bytes = std::fs::read(tmp.path().join(segment_name(1))).unwrap();
        }
        bytes.extend_from_slice(&body);
        std::fs::write(dir.path().join(segment_name(1)), &bytes).unwrap();
        read_everything(dir.path());
    }

    #[test]
    fn random_snapshot_and_instruments_bytes_never_panic(
        body in prop::collection::vec(any::<u8>(), 0..400),
        magic in prop::sample::select(vec![&b""[..], b"MEJSNAPS", b"MEJINSTR"]),
    ) {
        let dir = tempdir();
        materialize(dir.path());
        let mut bytes = magic.to_vec();
        bytes.extend_from_slice(&body);
        // With a valid checksum, so the decoder behind it is exercised too.
        let crc = crc32c(&bytes);
        let mut checked = bytes.clone();
        checked.extend_from_slice(&crc.to_le_bytes());
        for content in [&bytes, &checked] {
            let snap = dir.path().join(snapshot_name(5));
            std::fs::write(&snap, content).unwrap();
            prop_assert!(read_snapshot(&snap).is_err() || content.len() >= 36);
            let _ = recover(dir.path(), config());
            std::fs::write(dir.path().join(journal::INSTRUMENTS_FILE), content).unwrap();
            read_everything(dir.path());
            materialize(dir.path());
        }
    }
}

/// CRC32C (Castagnoli), bit by bit: an independent check of the checksum
/// the journal's files use.
fn crc32c(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82f6_3b78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn the_reference_crc_matches_the_known_check_value() {
    assert_eq!(crc32c(b"123456789"), 0xe306_9283);
}
