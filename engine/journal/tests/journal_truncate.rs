//! Cutting a journal back to a sequence (`truncate_after`): what a deposed
//! cluster leader does before it rejoins. Recovery afterwards must see
//! exactly the kept prefix, from the right snapshot, and the writer must
//! carry on from the cut.

#![allow(clippy::unwrap_used)] // a test that cannot set up should fail loudly

mod journal_support;

use journal::{JournalWriter, recover, snapshot_name, truncate_after, write_snapshot};
use journal_support::*;

#[test]
fn recovery_after_a_cut_sees_exactly_the_kept_prefix() {
    let w = workload(3_000, 41);
    let total = w.commands.len() as u64;
    for keep in [
        0,
        1,
        999,
        1_000,
        1_001,
        2_222,
        total - 1,
        total,
        total + 100,
    ] {
        let dir = tempdir();
        let records = write_journal(
            dir.path(),
            &w.instruments,
            &w.commands,
            small_segments(8 << 10),
        );
        assert!(segments(dir.path()).len() > 5, "spans many segments");
        for at in [1_000u64, 2_500] {
            let (engine, _) = run_direct(&w.instruments, &w.commands[..at as usize]);
            write_snapshot(dir.path(), &engine, at).unwrap();
        }
        let done = truncate_after(dir.path(), keep).unwrap();
        let kept = keep.min(total);
        assert_eq!(done.records, total - kept, "keep {keep}");
        assert_eq!(
            done.snapshots,
            [1_000, 2_500].iter().filter(|&&s| s > keep).count()
        );
        assert_eq!(
            read_all(dir.path()),
            records[..kept as usize],
            "keep {keep}"
        );
        assert_eq!(
            dir.path().join(snapshot_name(2_500)).exists(),
            keep >= 2_500,
            "a snapshot after the cut is gone"
        );
        let (engine, recovered) = recover(dir.path(), config()).unwrap();
        assert_eq!(recovered.last_seq, kept, "keep {keep}");
        let (direct, _) = run_direct(&w.instruments, &w.commands[..kept as usize]);
        assert_eq!(all_orders(&engine), all_orders(&direct), "keep {keep}");
        // The writer carries on from the cut.
        let (mut writer, _) = JournalWriter::open(dir.path(), small_segments(8 << 10)).unwrap();
        assert_eq!(writer.next_seq(), kept + 1);
        append_all(&mut writer, &w.commands[..10]);
        writer.close().unwrap();
        assert_eq!(read_all(dir.path()).len() as u64, kept + 10);
    }
}

#[test]
fn an_installed_snapshot_and_tail_recover_to_the_same_engine() {
    let w = workload(3_000, 43);
    let total = w.commands.len() as u64;
    let source = tempdir();
    let records = write_journal(
        source.path(),
        &w.instruments,
        &w.commands,
        small_segments(8 << 10),
    );
    let (at_1000, _) = run_direct(&w.instruments, &w.commands[..1_000]);
    let snap = write_snapshot(source.path(), &at_1000, 1_000).unwrap();
    let bytes = std::fs::read(snap).unwrap();
    let mut tail = Vec::new();
    for r in &records[1_000..] {
        journal::record::encode(&mut tail, r.seq, r.ts, &r.command);
    }
    // Into an empty directory, and over a journal that holds a stale prefix.
    let empty = tempdir();
    let stale = tempdir();
    write_journal(
        stale.path(),
        &w.instruments,
        &w.commands[..400],
        small_segments(8 << 10),
    );
    for dir in [empty.path().join("new"), stale.path().to_path_buf()] {
        let last =
            journal::install_snapshot(&dir, 1_000, &bytes, &tail, small_segments(8 << 10)).unwrap();
        assert_eq!(last, total);
        let (engine, recovered) = recover(&dir, config()).unwrap();
        assert_eq!(recovered.last_seq, total);
        assert_eq!(recovered.snapshot.as_ref().map(|s| s.1), Some(1_000));
        let (direct, _) = run_direct(&w.instruments, &w.commands);
        assert_eq!(all_orders(&engine), all_orders(&direct));
    }
    // A tail that skips a record is refused, and changes nothing.
    let broken = &tail[..];
    let (first, used) = journal::record::decode(broken).unwrap();
    assert_eq!(first.seq, 1_001);
    let err = journal::install_snapshot(
        stale.path(),
        1_000,
        &bytes,
        &broken[used..],
        small_segments(8 << 10),
    )
    .unwrap_err();
    assert!(err.to_string().contains("1001"), "{err}");
    assert_eq!(recover(stale.path(), config()).unwrap().1.last_seq, total);
}
