//! Snapshots: they round-trip, recovery from a snapshot plus the journal
//! after it rebuilds the same engine as the journal alone, and a snapshot
//! that does not check out is passed over with a warning.

#![allow(clippy::unwrap_used)] // a test that cannot set up should fail loudly

mod journal_support;

use std::path::Path;

use journal::{
    JournalError, Snapshot, Warning, inspect, read_snapshot, recover, snapshot_name, write_snapshot,
};
use journal_support::*;
use matching::{Engine, Event};

#[test]
fn a_snapshot_round_trips_every_order_field() {
    let dir = tempdir();
    let w = workload(2_000, 21);
    let (mut engine, _) = run_direct(&w.instruments, &w.commands);
    // The workload places no post-only orders and gives no client order
    // ids; add an order with both so they are covered.
    let mut events = Vec::new();
    engine.execute(
        &matching::Command::New {
            symbol: w.instruments[0].symbol,
            id: 1 << 40,
            account: 1,
            client_order_id: u64::MAX - 7,
            side: matching::Side::Buy,
            price: w.instruments[0].min_price,
            qty: 3,
            tif: matching::TimeInForce::Post,
        },
        &mut events,
    );
    assert!(
        matches!(events.as_slice(), [Event::Accepted { .. }]),
        "{events:?}"
    );
    let orders = all_orders(&engine);
    assert!(orders.len() > 100);
    assert_eq!(orders.iter().filter(|o| o.post_only).count(), 1);
    assert_eq!(
        orders
            .iter()
            .filter(|o| o.client_order_id == u64::MAX - 7)
            .count(),
        1
    );
    let path = write_snapshot(dir.path(), &engine, 2_300).unwrap();
    assert_eq!(
        path.file_name().unwrap().to_str().unwrap(),
        snapshot_name(2_300)
    );
    assert_eq!(
        read_snapshot(&path).unwrap(),
        Snapshot {
            last_seq: 2_300,
            instruments: w.instruments.clone(),
            orders,
            controls: engine.controls(),
        }
    );
    // No temporary file is left behind.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, [snapshot_name(2_300)]);
}

/// A journal of the whole workload with snapshots taken after `at`, each
/// from an engine that ran the commands up to it.
fn journal_with_snapshots(dir: &Path, at: &[usize]) -> testkit::workload::Workload {
    let w = workload(3_000, 22);
    write_journal(dir, &w.instruments, &w.commands, small_segments(20_000));
    for &n in at {
        let (engine, _) = run_direct(&w.instruments, &w.commands[..n]);
        write_snapshot(dir, &engine, n as u64).unwrap();
    }
    w
}

/// The engine recovered from `dir`, after also running `more` commands,
/// and the events of those.
fn continue_with(mut engine: Engine, more: &[matching::Command]) -> (Engine, Vec<Event>) {
    let mut events = Vec::new();
    for command in more {
        engine.execute(command, &mut events);
    }
    (engine, events)
}

#[test]
fn recovery_from_snapshot_and_journal_equals_recovery_from_the_journal() {
    let with = tempdir();
    let w = journal_with_snapshots(with.path(), &[800, 2_100]);
    let without = tempdir();
    write_journal(
        without.path(),
        &w.instruments,
        &w.commands,
        small_segments(20_000),
    );
    let total = w.commands.len() as u64;

    let (from_snapshot, rec) = recover(with.path(), config()).unwrap();
    assert_eq!(rec.last_seq, total);
    assert_eq!(rec.snapshot.as_ref().map(|s| s.1), Some(2_100));
    assert_eq!(rec.replayed, total - 2_100);
    assert!(rec.warnings.is_empty(), "{:?}", rec.warnings);
    let (from_journal, rec) = recover(without.path(), config()).unwrap();
    assert_eq!(
        (rec.last_seq, rec.replayed, rec.snapshot),
        (total, total, None)
    );

    assert_eq!(
        from_snapshot.resting_orders(),
        from_journal.resting_orders()
    );
    assert_eq!(all_orders(&from_snapshot), all_orders(&from_journal));
    // The same future: more commands give the same events on both.
    let more = workload(1_000, 23).commands;
    let (a, events_a) = continue_with(from_snapshot, &more);
    let (b, events_b) = continue_with(from_journal, &more);
    assert_eq!(events_a, events_b);
    assert_eq!(all_orders(&a), all_orders(&b));
}

#[test]
fn a_snapshot_at_the_last_sequence_replays_nothing() {
    let dir = tempdir();
    let w = workload(500, 24);
    write_journal(
        dir.path(),
        &w.instruments,
        &w.commands,
        small_segments(4_000),
    );
    let (engine, _) = run_direct(&w.instruments, &w.commands);
    write_snapshot(dir.path(), &engine, w.commands.len() as u64).unwrap();
    let (recovered, rec) = recover(dir.path(), config()).unwrap();
    assert_eq!(rec.replayed, 0);
    assert_eq!(rec.last_seq, w.commands.len() as u64);
    assert_eq!(all_orders(&recovered), all_orders(&engine));
}

fn flip(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    let at = at.min(bytes.len() - 1);
    bytes[at] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_bad_newest_snapshot_falls_back_to_an_older_one_or_the_journal() {
    let newest = |dir: &Path| dir.join(snapshot_name(2_100));
    let older = |dir: &Path| dir.join(snapshot_name(800));
    // (what is done, which snapshot recovery should then use, reason words)
    type Damage = fn(&Path);
    let cases: [(&str, Damage, Option<u64>, &str); 7] = [
        (
            "flipped byte in the header",
            |d| flip(&d.join(snapshot_name(2_100)), 10),
            Some(800),
            "checksum",
        ),
        (
            "flipped byte in an order",
            |d| flip(&d.join(snapshot_name(2_100)), 500),
            Some(800),
            "checksum",
        ),
        (
            "flipped checksum byte",
            |d| flip(&d.join(snapshot_name(2_100)), usize::MAX),
            Some(800),
            "checksum",
        ),
        (
            "truncated",
            |d| {
                let p = d.join(snapshot_name(2_100));
                let len = std::fs::metadata(&p).unwrap().len();
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&p)
                    .unwrap()
                    .set_len(len / 2)
                    .unwrap();
            },
            Some(800),
            "checksum",
        ),
        (
            "empty file",
            |d| std::fs::write(d.join(snapshot_name(2_100)), b"").unwrap(),
            Some(800),
            "magic",
        ),
        (
            "renamed to a later sequence",
            |d| {
                std::fs::rename(d.join(snapshot_name(2_100)), d.join(snapshot_name(2_200)))
                    .unwrap();
            },
            Some(800),
            "does not match its name",
        ),
        (
            "both damaged",
            |d| {
                flip(&d.join(snapshot_name(2_100)), 100);
                flip(&d.join(snapshot_name(800)), 100);
            },
            None,
            "checksum",
        ),
    ];
    let base = tempdir();
    let w = journal_with_snapshots(base.path(), &[800, 2_100]);
    let (expected, _) = run_direct(&w.instruments, &w.commands);
    assert!(newest(base.path()).exists() && older(base.path()).exists());
    for (name, damage, used, reason) in cases {
        let dir = tempdir();
        copy_dir(base.path(), dir.path());
        damage(dir.path());
        let (engine, rec) = recover(dir.path(), config()).unwrap();
        assert_eq!(rec.snapshot.as_ref().map(|s| s.1), used, "{name}");
        assert_eq!(rec.last_seq, w.commands.len() as u64, "{name}");
        assert_eq!(all_orders(&engine), all_orders(&expected), "{name}");
        assert!(!rec.warnings.is_empty(), "{name}: no warning");
        for warning in &rec.warnings {
            let Warning::SnapshotSkipped { reason: why, .. } = warning else {
                panic!("{name}: unexpected {warning}");
            };
            assert!(
                why.contains(reason) || warning.to_string().contains(reason),
                "{name}: {warning}"
            );
        }
        // verify agrees: a snapshot problem alone does not stop recovery.
        let inspection = inspect(dir.path()).unwrap();
        assert!(!inspection.recovery_refuses(), "{name}");
    }
}

#[test]
fn a_snapshot_of_other_instruments_is_passed_over() {
    let dir = tempdir();
    let w = journal_with_snapshots(dir.path(), &[1_000]);
    let mut other = w.instruments.clone();
    other[0].max_qty += 1;
    let mut engine = Engine::new(config()).unwrap();
    for spec in &other {
        engine.add_instrument(*spec).unwrap();
    }
    write_snapshot(dir.path(), &engine, 2_000).unwrap();
    let (_, rec) = recover(dir.path(), config()).unwrap();
    assert_eq!(rec.snapshot.as_ref().map(|s| s.1), Some(1_000));
    assert!(
        rec.warnings[0].to_string().contains("instruments differ"),
        "{}",
        rec.warnings[0]
    );
}

#[test]
fn a_configuration_too_small_for_the_snapshot_is_an_error_not_a_fallback() {
    let dir = tempdir();
    journal_with_snapshots(dir.path(), &[2_000]);
    let tiny = matching::EngineConfig {
        max_orders_per_book: 4,
        ..config()
    };
    let err = recover(dir.path(), tiny).unwrap_err();
    assert!(matches!(err, JournalError::Restore { .. }), "{err}");
    assert!(err.to_string().contains("max_orders_per_book"), "{err}");
}

#[test]
fn a_snapshot_ahead_of_the_journal_is_passed_over() {
    // The journal lost its tail (say it was never fsynced) but a snapshot
    // of the state after it was written: recovery must not start from a
    // state the journal cannot explain.
    let dir = tempdir();
    let w = journal_with_snapshots(dir.path(), &[800]);
    let (engine, _) = run_direct(&w.instruments, &w.commands);
    let ahead = w.commands.len() as u64 + 10;
    write_snapshot(dir.path(), &engine, ahead).unwrap();
    let (recovered, rec) = recover(dir.path(), config()).unwrap();
    assert_eq!(rec.snapshot.as_ref().map(|s| s.1), Some(800));
    assert_eq!(rec.last_seq, w.commands.len() as u64);
    assert_eq!(all_orders(&recovered), all_orders(&engine));
    let [Warning::SnapshotSkipped { file, reason }] = rec.warnings.as_slice() else {
        panic!("{:?}", rec.warnings);
    };
    assert_eq!(*file, dir.path().join(snapshot_name(ahead)));
    assert!(reason.contains("journal ends at"), "{reason}");
    let inspection = inspect(dir.path()).unwrap();
    assert!(!inspection.recovery_refuses());
}

/// The workload with control commands spread through it: limits for the
/// first accounts (tight enough to refuse some orders), a collar, a halt and
/// resume, a kill switch and its release.
fn workload_with_controls(commands: usize, seed: u64) -> testkit::workload::Workload {
    use matching::{AccountLimits, Collar, CollarWidth, Command};
    let mut w = workload(commands, seed);
    let (first, second) = (w.instruments[0], w.instruments[1 % w.instruments.len()]);
    let mut with = Vec::with_capacity(w.commands.len() + 16);
    for account in 0..6 {
        with.push(Command::Limits {
            account,
            limits: AccountLimits {
                max_open_orders: 40,
                max_open_orders_per_instrument: 15,
                max_position: 5_000,
                ..AccountLimits::NONE
            },
        });
    }
    let mid = (first.min_price + first.max_price) / 2;
    with.push(Command::Collar {
        symbol: first.symbol,
        collar: Collar {
            reference: mid,
            width: CollarWidth::Bps(2_000),
        },
    });
    let n = w.commands.len();
    for (i, c) in w.commands.iter().enumerate() {
        if i == n / 4 {
            with.push(Command::Halt {
                symbol: second.symbol,
                halt: true,
            });
            with.push(Command::Block {
                account: 2,
                block: true,
            });
        }
        if i == n / 2 {
            with.push(Command::Halt {
                symbol: second.symbol,
                halt: false,
            });
        }
        if i == 3 * n / 4 {
            with.push(Command::Block {
                account: 2,
                block: false,
            });
        }
        with.push(*c);
    }
    w.commands = with;
    w
}

/// Accounts with limits and nothing traded: each takes its fewest bytes, and
/// they end the file. A gateway with an accounts file starts this way
/// (every trader's limits, sequenced before any order).
#[test]
fn accounts_with_limits_and_no_positions_round_trip() {
    use matching::{AccountLimits, Command};
    let dir = tempdir();
    let w = workload(10, 33);
    let limits: Vec<Command> = (1..=8)
        .map(|account| Command::Limits {
            account,
            limits: AccountLimits {
                max_open_orders: 100,
                ..AccountLimits::NONE
            },
        })
        .collect();
    let (engine, _) = run_direct(&w.instruments, &limits);
    let controls = engine.controls();
    assert_eq!(controls.accounts.len(), 8);
    assert!(controls.accounts.iter().all(|a| a.positions.is_empty()));
    let path = write_snapshot(dir.path(), &engine, 8).unwrap();
    assert_eq!(read_snapshot(&path).unwrap().controls, controls);
}

#[test]
fn controls_survive_a_snapshot_and_recovery_makes_the_same_decisions() {
    let w = workload_with_controls(4_000, 31);
    let total = w.commands.len();
    let with = tempdir();
    write_journal(
        with.path(),
        &w.instruments,
        &w.commands,
        small_segments(40_000),
    );
    let cut = total / 3;
    let (engine, events) = run_direct(&w.instruments, &w.commands[..cut]);
    // The controls refuse something before the cut, so the snapshot
    // carries state that matters.
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Rejected { reason, .. } if reason.word().starts_with("RISK") || reason.word() == "HALTED" || reason.word() == "ACCOUNT_BLOCKED")),
        "no control refused anything before the cut"
    );
    let path = write_snapshot(with.path(), &engine, cut as u64).unwrap();
    let snapshot = read_snapshot(&path).unwrap();
    assert_eq!(snapshot.controls, engine.controls());
    assert!(!snapshot.controls.accounts.is_empty());
    assert!(!snapshot.controls.instruments.is_empty());

    let without = tempdir();
    write_journal(
        without.path(),
        &w.instruments,
        &w.commands,
        small_segments(40_000),
    );
    let (from_snapshot, rec) = recover(with.path(), config()).unwrap();
    assert_eq!(rec.snapshot.as_ref().map(|s| s.1), Some(cut as u64));
    let (from_journal, _) = recover(without.path(), config()).unwrap();
    assert_eq!(from_snapshot.controls(), from_journal.controls());
    assert_eq!(all_orders(&from_snapshot), all_orders(&from_journal));
    let more = workload_with_controls(1_500, 32).commands;
    let (a, events_a) = continue_with(from_snapshot, &more);
    let (b, events_b) = continue_with(from_journal, &more);
    assert_eq!(events_a, events_b);
    assert_eq!(a.controls(), b.controls());
}
