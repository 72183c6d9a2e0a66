//! Writing and reading back: records survive exactly, across segment rolls,
//! reopening and every durability setting; the writer refuses what would
//! make a journal recovery cannot read.

#![allow(clippy::unwrap_used)] // a test that cannot set up should fail loudly

mod journal_support;

use journal::{
    self, Durability, JournalError, JournalWriter, WriterOptions, recover, segment_name,
};
use journal_support::*;

#[test]
fn round_trip_across_segments_and_reopen_in_every_durability() {
    for durability in [Durability::None, Durability::Os, Durability::Fsync] {
        let dir = tempdir();
        let w = workload(3_000, 7);
        let total = w.commands.len() as u64;
        let (first, rest) = w.commands.split_at(2_500);
        let options = WriterOptions {
            durability,
            ..small_segments(8_192)
        };
        let mut writer =
            JournalWriter::create(dir.path(), &w.instruments, options.clone()).unwrap();
        let mut expected = append_all(&mut writer, first);
        // Rolls every few hundred records, faster than the preparer can
        // keep up with: some rolls prepare their own segment. Nothing is
        // lost either way.
        let late = writer.late_rolls();
        assert!(late == 0 || durability != Durability::Fsync);
        writer.close().unwrap();
        assert_eq!(
            read_all(dir.path()),
            expected,
            "{durability}: read back after close"
        );
        let segs = segments(dir.path());
        assert!(
            segs.len() > 5,
            "{durability}: expected several segments, got {}",
            segs.len()
        );
        // Names sort by first sequence, and each name is its first record.
        let mut next = 1;
        for seg in &segs {
            let name = seg.file_name().unwrap().to_str().unwrap();
            assert_eq!(name, segment_name(next));
            assert!(std::fs::metadata(seg).unwrap().len() <= 8_192);
            let bytes = std::fs::read(seg).unwrap();
            assert_eq!(&bytes[..8], b"MEJRNSEG");
            let (offsets, end) = record_layout(&bytes);
            assert_eq!(end, bytes.len(), "{name}: free space left after close");
            next += offsets.len() as u64;
        }
        assert_eq!(stray_files(dir.path()), Vec::<String>::new());

        let (mut writer, report) = JournalWriter::open(dir.path(), options).unwrap();
        assert!(report.warnings.is_empty());
        assert_eq!(report.instruments, w.instruments);
        assert_eq!(writer.next_seq(), 2_501);
        assert_eq!(
            writer.synced_seq(),
            2_500,
            "open makes what it found durable"
        );
        expected.extend(append_all(&mut writer, rest));
        assert_eq!(writer.close().unwrap(), total);
        assert_eq!(
            read_all(dir.path()),
            expected,
            "{durability}: read back after reopen"
        );
    }
}

#[test]
fn durable_sequence_follows_the_setting() {
    let w = workload(10, 1);
    for (durability, after_append, after_write, after_sync) in [
        (Durability::None, 3, 3, 3),
        (Durability::Os, 0, 3, 3),
        (Durability::Fsync, 0, 0, 3),
    ] {
        let dir = tempdir();
        let options = WriterOptions {
            durability,
            ..WriterOptions::default()
        };
        let mut writer = JournalWriter::create(dir.path(), &w.instruments, options).unwrap();
        for seq in 1..=3 {
            writer
                .append(seq, ts_of(seq), &w.commands[seq as usize])
                .unwrap();
        }
        assert_eq!(writer.appended_seq(), 3);
        assert_eq!(
            writer.durable_seq(),
            after_append,
            "{durability} after append"
        );
        writer.write().unwrap();
        assert_eq!(writer.written_seq(), 3);
        assert_eq!(
            writer.durable_seq(),
            after_write,
            "{durability} after write"
        );
        writer.sync().unwrap();
        assert_eq!(writer.synced_seq(), 3);
        assert_eq!(writer.durable_seq(), after_sync, "{durability} after sync");
        assert_eq!(writer.commit().unwrap(), 3);
    }
}

#[test]
fn a_dropped_writer_hands_its_buffer_to_the_os() {
    for (durability, then) in [
        (Durability::Os, Durability::Fsync),
        (Durability::None, Durability::Os),
        (Durability::Fsync, Durability::Os),
    ] {
        let dir = tempdir();
        let w = workload(100, 2);
        let options = |durability| WriterOptions {
            durability,
            ..WriterOptions::default()
        };
        let mut writer =
            JournalWriter::create(dir.path(), &w.instruments, options(durability)).unwrap();
        let mut records = append_all(&mut writer, &w.commands[..40]);
        // Live, a mapped segment (`none`, `os`) has its full size: records,
        // then zeros; an appended one (`fsync`) holds its records only.
        let seg = segments(dir.path()).pop().unwrap();
        let live = std::fs::metadata(&seg).unwrap().len();
        assert_eq!(
            live == 64 << 20,
            durability != Durability::Fsync,
            "{durability}"
        );
        drop(writer);
        assert_eq!(read_all(dir.path()), records, "{durability}");
        // The spare segment the preparer had made is gone with the writer.
        assert_eq!(stray_files(dir.path()), Vec::<String>::new());

        // Reopened the other way, the writer appends right after them.
        let (mut writer, report) = JournalWriter::open(dir.path(), options(then)).unwrap();
        assert!(report.warnings.is_empty());
        records.extend(append_all(&mut writer, &w.commands[40..60]));
        writer.close().unwrap();
        assert_eq!(read_all(dir.path()), records, "{durability} then {then}");
        let bytes = std::fs::read(&seg).unwrap();
        assert_eq!(
            record_layout(&bytes).1,
            bytes.len(),
            "{durability} then {then}"
        );
    }
}

/// Files in a journal directory that are neither segments nor its fixed
/// files: a spare segment left behind, say.
fn stray_files(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.ends_with(".seg") && n != "instruments" && n != "lock")
        .collect()
}

#[test]
fn appends_must_be_the_next_sequence() {
    let dir = tempdir();
    let w = workload(10, 3);
    let mut writer =
        JournalWriter::create(dir.path(), &w.instruments, WriterOptions::default()).unwrap();
    writer.append(1, 0, &w.commands[0]).unwrap();
    for bad in [1, 3, 0, u64::MAX] {
        let err = writer.append(bad, 0, &w.commands[1]).unwrap_err();
        assert!(
            matches!(err, JournalError::OutOfSequence { expected: 2, got } if got == bad),
            "{err}"
        );
    }
    writer.append(2, 0, &w.commands[1]).unwrap();
    assert_eq!(writer.close().unwrap(), 2);
}

#[test]
fn setup_mistakes_are_clear_errors() {
    let w = workload(10, 4);
    let dir = tempdir();
    let missing = dir.path().join("nope");
    let err = recover(&missing, config()).unwrap_err().to_string();
    assert!(
        err.contains("nope") && err.contains("No such file"),
        "{err}"
    );
    let err = JournalWriter::open(dir.path(), WriterOptions::default()).unwrap_err();
    assert!(matches!(err, JournalError::NotAJournal { .. }), "{err}");

    let journal_dir = dir.path().join("j");
    JournalWriter::create(&journal_dir, &w.instruments, WriterOptions::default())
        .unwrap()
        .close()
        .unwrap();
    assert!(journal::exists(&journal_dir));
    let err =
        JournalWriter::create(&journal_dir, &w.instruments, WriterOptions::default()).unwrap_err();
    assert!(matches!(err, JournalError::AlreadyExists { .. }), "{err}");

    for options in [
        WriterOptions {
            segment_bytes: 50,
            ..WriterOptions::default()
        },
        WriterOptions {
            buffer_bytes: 10,
            ..WriterOptions::default()
        },
    ] {
        let err = JournalWriter::open(&journal_dir, options).unwrap_err();
        assert!(matches!(err, JournalError::BadOptions(_)), "{err}");
    }

    // A stray `.seg` file with a name that is not a sequence is refused,
    // not skipped: it may be a renamed segment.
    std::fs::write(journal_dir.join("backup.seg"), b"x").unwrap();
    let err = recover(&journal_dir, config()).unwrap_err().to_string();
    assert!(
        err.contains("backup.seg") && err.contains("20 digits"),
        "{err}"
    );
}

#[test]
fn an_empty_journal_recovers_to_sequence_zero_and_continues_at_one() {
    let dir = tempdir();
    let w = workload(10, 5);
    JournalWriter::create(dir.path(), &w.instruments, WriterOptions::default())
        .unwrap()
        .close()
        .unwrap();
    let (engine, recovered) = recover(dir.path(), config()).unwrap();
    assert_eq!(recovered.last_seq, 0);
    assert_eq!(
        engine.instruments().copied().collect::<Vec<_>>(),
        w.instruments
    );
    let (writer, _) = JournalWriter::open(dir.path(), WriterOptions::default()).unwrap();
    assert_eq!(writer.next_seq(), 1);
}

#[test]
fn recovery_replays_everything_and_the_writer_continues_after_it() {
    let dir = tempdir();
    let w = workload(2_000, 6);
    write_journal(
        dir.path(),
        &w.instruments,
        &w.commands[..1_500],
        small_segments(16_384),
    );
    let (recovered_engine, recovered) = recover(dir.path(), config()).unwrap();
    assert_eq!(recovered.last_seq, 1_500);
    assert_eq!(recovered.replayed, 1_500);
    assert!(recovered.warnings.is_empty());
    let (direct, _) = run_direct(&w.instruments, &w.commands[..1_500]);
    assert_eq!(all_orders(&recovered_engine), all_orders(&direct));

    let (mut writer, _) = JournalWriter::open(dir.path(), small_segments(16_384)).unwrap();
    assert_eq!(writer.next_seq(), recovered.last_seq + 1);
    append_all(&mut writer, &w.commands[1_500..]);
    writer.close().unwrap();
    let (engine, recovered) = recover(dir.path(), config()).unwrap();
    assert_eq!(recovered.last_seq, w.commands.len() as u64);
    let (direct, _) = run_direct(&w.instruments, &w.commands);
    assert_eq!(engine.resting_orders(), direct.resting_orders());
}

#[test]
fn one_writer_per_directory_and_no_recovery_under_a_live_writer() {
    let dir = tempdir();
    let w = workload(10, 8);
    let mut writer =
        JournalWriter::create(dir.path(), &w.instruments, WriterOptions::default()).unwrap();
    append_all(&mut writer, &w.commands[..5]);
    writer.commit().unwrap();
    let err = JournalWriter::open(dir.path(), WriterOptions::default()).unwrap_err();
    assert!(matches!(err, JournalError::Locked { .. }), "{err}");
    let err = recover(dir.path(), config()).map(|_| ()).unwrap_err();
    assert!(matches!(err, JournalError::Locked { .. }), "{err}");
    // Reading needs no lock.
    assert_eq!(read_all(dir.path()).len(), 5);
    drop(writer);
    let (_, recovered) = recover(dir.path(), config()).unwrap();
    assert_eq!(recovered.last_seq, 5);
    JournalWriter::open(dir.path(), WriterOptions::default()).unwrap();
}
