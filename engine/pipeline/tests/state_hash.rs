//! The state-hash recovery test, after exchange-core's: drive an engine
//! with a seeded command stream while journaling it, take a snapshot part
//! way, go on, and hash the engine's whole state (`state_hash`: the
//! instruments and every resting order in queue order). Then restart, from
//! the snapshot plus the journal after it and from the journal alone, and
//! require the same hash; and require that the restarted engines go on to
//! give the same events and hashes as the one that never stopped.
//!
//! Once through the journal writer in this thread, where the live engine
//! can be hashed directly, and once through the real pipeline (journal,
//! matching and output stages on their threads, snapshot on shutdown,
//! restart recovering from it), against a plain engine run.

#![allow(clippy::unwrap_used)] // a test that cannot set up should fail loudly

mod pipeline_support;

use std::path::Path;

use journal::{Durability, JournalWriter, WriterOptions, recover, snapshot_name, write_snapshot};
use matching::{Command, Engine, EngineConfig, Event};
use pipeline::{self, Output};
use testkit::state_hash::state_hash;
use testkit::workload::{Workload, WorkloadConfig, generate};

/// Small capacities, so each engine builds quickly.
fn engine_config() -> EngineConfig {
    EngineConfig {
        max_orders_per_book: 1 << 14,
        max_levels_per_side: 1 << 14,
        max_instruments: 8,
        prefault: false,
    }
}

/// A seeded stream over three instruments. The generator's prices stay
/// within a few hundred ticks of 100,000 over streams this short, so the
/// bands are narrowed to 10,001 ticks around it (anything outside would be
/// a `BAD_PRICE` reject, the same in every run).
fn stream(commands: usize, seed: u64) -> Workload {
    let mut w = generate(&WorkloadConfig {
        commands,
        resting: 1_500,
        instruments: 3,
        accounts: 10,
        seed,
    })
    .unwrap();
    for spec in &mut w.instruments {
        spec.min_price = 95_000;
        spec.max_price = 105_000;
    }
    w
}

fn fresh(w: &Workload) -> Engine {
    let mut engine = Engine::new(engine_config()).unwrap();
    for spec in &w.instruments {
        engine.add_instrument(*spec).unwrap();
    }
    engine
}

/// Runs `commands` through `engine`, returning their events.
fn run(engine: &mut Engine, commands: &[Command]) -> Vec<Event> {
    let mut events = Vec::new();
    for command in commands {
        engine.execute(command, &mut events);
    }
    events
}

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("state-hash-")
        .tempdir()
        .unwrap()
}

fn remove_snapshots(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "snap") {
            std::fs::remove_file(path).unwrap();
        }
    }
}

/// Recovers `dir` and checks what recovery says it did.
fn recovered(dir: &Path, snapshot: Option<u64>, last_seq: u64) -> Engine {
    let (engine, report) = recover(dir, engine_config()).unwrap();
    assert_eq!(report.last_seq, last_seq);
    assert_eq!(report.snapshot.as_ref().map(|s| s.1), snapshot);
    assert_eq!(report.replayed, last_seq - snapshot.unwrap_or(0));
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    engine
}

/// Both restarted engines and the live one run `more`: same events, same
/// hash, and the hash moved (the tail changes the books).
fn continue_all(live: &mut Engine, restarted: &mut [Engine], more: &[Command]) {
    let before = state_hash(live);
    let expected = run(live, more);
    let after = state_hash(live);
    assert_ne!(before, after, "the tail of the stream changes nothing");
    for (i, engine) in restarted.iter_mut().enumerate() {
        assert!(
            run(engine, more) == expected,
            "restarted engine {i} gives other events than the live one"
        );
        assert_eq!(state_hash(engine), after, "restarted engine {i}");
    }
}

#[test]
fn snapshot_plus_journal_and_journal_alone_rebuild_the_live_state_hash() {
    const SNAPSHOT_AT: usize = 3_000;
    const LIVE: usize = 6_000;
    let w = stream(LIVE + 1_000 - 1_500, 41);
    let (journaled, more) = w.commands.split_at(LIVE);
    let dir = tempdir();
    let options = WriterOptions {
        // Small segments, so the journal rolls a few times.
        segment_bytes: 64 << 10,
        durability: Durability::Os,
        ..WriterOptions::default()
    };
    let mut writer = JournalWriter::create(dir.path(), &w.instruments, options).unwrap();
    let mut live = fresh(&w);
    let mut snapshot_hash = None;
    for (i, command) in journaled.iter().enumerate() {
        let seq = i as u64 + 1;
        writer.append(seq, seq * 1_000, command).unwrap();
        live.execute(command, &mut Vec::new());
        if seq.is_multiple_of(100) {
            writer.commit().unwrap();
        }
        if seq == SNAPSHOT_AT as u64 {
            // Snapshots are taken at durable sequences only.
            writer.sync().unwrap();
            write_snapshot(dir.path(), &live, seq).unwrap();
            snapshot_hash = Some(state_hash(&live));
        }
    }
    writer.close().unwrap();
    let live_hash = state_hash(&live);
    assert_ne!(
        Some(live_hash),
        snapshot_hash,
        "the state moved after the snapshot"
    );
    assert!(live.resting_orders().len() > 500, "a book worth hashing");
    let segments = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "seg")
        })
        .count();
    assert!(
        segments >= 2,
        "{segments} segments: the journal should have rolled"
    );

    // A plain engine that ran the same commands agrees (the hash is a
    // function of the state, not of how it was reached).
    let mut replayed = fresh(&w);
    run(&mut replayed, journaled);
    assert_eq!(state_hash(&replayed), live_hash);

    // Restart from the snapshot and the journal after it.
    assert!(dir.path().join(snapshot_name(SNAPSHOT_AT as u64)).is_file());
    let from_snapshot = recovered(dir.path(), Some(SNAPSHOT_AT as u64), LIVE as u64);
    assert_eq!(state_hash(&from_snapshot), live_hash, "snapshot + journal");

    // Restart from the journal alone.
    remove_snapshots(dir.path());
    let from_journal = recovered(dir.path(), None, LIVE as u64);
    assert_eq!(state_hash(&from_journal), live_hash, "journal alone");

    continue_all(
        &mut live,
        &mut [from_snapshot, from_journal, replayed],
        more,
    );
}

#[test]
fn the_pipeline_restarts_to_the_same_state_hash() {
    const FIRST: usize = 4_000;
    let w = stream(6_000 - 1_500, 42);
    let total = w.commands.len();
    let (first, second) = w.commands.split_at(FIRST);
    let dir = tempdir();
    let start = |snapshot_on_shutdown: bool| {
        let mut cfg = pipeline_support::config(dir.path(), w.instruments.clone(), Durability::Os);
        cfg.engine = engine_config();
        cfg.snapshot_on_shutdown = snapshot_on_shutdown;
        pipeline::start(cfg, |_: &Output| {}).unwrap()
    };
    // First run: snapshot on shutdown, after FIRST commands.
    let mut p = start(true);
    p.publish_batch(0, first).unwrap();
    p.shutdown().unwrap();
    // Second run: recovers from that snapshot, runs the rest, no snapshot.
    let mut p = start(false);
    assert_eq!(
        p.recovered()
            .map(|r| (r.last_seq, r.snapshot.as_ref().map(|s| s.1))),
        Some((FIRST as u64, Some(FIRST as u64)))
    );
    p.publish_batch(0, second).unwrap();
    assert_eq!(p.shutdown().unwrap().last_seq, total as u64);

    let mut expected = fresh(&w);
    run(&mut expected, &w.commands);
    let expected_hash = state_hash(&expected);

    let from_snapshot = recovered(dir.path(), Some(FIRST as u64), total as u64);
    assert_eq!(
        state_hash(&from_snapshot),
        expected_hash,
        "snapshot + journal"
    );
    remove_snapshots(dir.path());
    let from_journal = recovered(dir.path(), None, total as u64);
    assert_eq!(state_hash(&from_journal), expected_hash, "journal alone");
}
