//! The pipeline end to end, in process: determinism through the journal,
//! backpressure, clean shutdown, recovery, and a failing stage.

#![allow(clippy::unwrap_used)] // a test that cannot set up should fail loudly

mod pipeline_support;

use journal::Durability;
use matching::{Command, Event};
use pipeline::{self, Output, PipelineError};
use pipeline_support::{
    Placement, TempDir, check, collector, config, engine_events, placed, stream,
};

#[test]
fn a_small_ring_holds_the_publisher_back_and_loses_nothing() {
    a_small_ring_holds_the_publisher_back_and_loses_nothing_in(Placement::Threads);
}

#[test]
fn a_small_ring_holds_the_publisher_back_and_loses_nothing_hosted() {
    a_small_ring_holds_the_publisher_back_and_loses_nothing_in(Placement::Hosted);
}

#[test]
fn a_small_ring_holds_the_publisher_back_and_loses_nothing_all_hosted() {
    a_small_ring_holds_the_publisher_back_and_loses_nothing_in(Placement::AllHosted);
}

fn a_small_ring_holds_the_publisher_back_and_loses_nothing_in(placement: Placement) {
    let dir = TempDir::new("backpressure");
    let workload = stream(100_000, 12);
    let (seen, sink) = collector();
    let mut cfg = config(dir.path(), workload.instruments.clone(), Durability::None);
    cfg.inbound_ring = 64;
    cfg.outbound_ring = 64;
    let mut p = pipeline::start(placed(cfg, placement), sink).unwrap();
    check(placement, &p);
    // One at a time and in batches larger than the ring.
    let (first, rest) = workload.commands.split_at(10_000);
    for command in first {
        p.publish(1, command).unwrap();
    }
    for chunk in rest.chunks(1000) {
        p.publish_batch(2, chunk).unwrap();
    }
    let report = p.shutdown().unwrap();
    assert_eq!(report.last_seq, workload.commands.len() as u64);

    // Every command answered exactly once, in order, with the events a
    // plain engine gives.
    let seen = seen.lock().unwrap();
    let lasts: Vec<u64> = seen.iter().filter(|o| o.last).map(|o| o.seq).collect();
    assert_eq!(
        lasts,
        (1..=workload.commands.len() as u64).collect::<Vec<_>>()
    );
    let expected = engine_events(&workload.instruments, &[], &workload.commands);
    let got: Vec<Event> = seen.iter().map(|o| o.event).collect();
    assert!(got == expected, "pipeline events differ from the engine's");
}

#[test]
fn restart_recovers_the_books_and_continues_the_sequence() {
    restart_recovers_the_books_and_continues_the_sequence_in(Placement::Threads);
}

#[test]
fn restart_recovers_the_books_and_continues_the_sequence_hosted() {
    restart_recovers_the_books_and_continues_the_sequence_in(Placement::Hosted);
}

#[test]
fn restart_recovers_the_books_and_continues_the_sequence_all_hosted() {
    restart_recovers_the_books_and_continues_the_sequence_in(Placement::AllHosted);
}

fn restart_recovers_the_books_and_continues_the_sequence_in(placement: Placement) {
    let dir = TempDir::new("restart");
    let workload = stream(20_000, 13);
    let (half_a, half_b) = workload.commands.split_at(10_000);
    let run = |commands: &[Command], snapshot: bool| {
        let (seen, sink) = collector();
        // Hosted J runs with `os` (with fsync J keeps its thread).
        let durability = if placement.hosts_stages() {
            Durability::Os
        } else {
            Durability::Fsync
        };
        let mut cfg = config(dir.path(), workload.instruments.clone(), durability);
        cfg.snapshot_on_shutdown = snapshot;
        let mut p = pipeline::start(placed(cfg, placement), sink).unwrap();
        check(placement, &p);
        let recovered = p.recovered().map(|r| (r.last_seq, r.snapshot.is_some()));
        p.publish_batch(0, commands).unwrap();
        p.shutdown().unwrap();
        let events: Vec<Event> = seen.lock().unwrap().iter().map(|o| o.event).collect();
        (recovered, events)
    };
    let (recovered, _) = run(half_a, false);
    assert_eq!(recovered, None);
    // Second start: from the journal alone; third: from the snapshot.
    let (recovered, second) = run(&half_b[..5_000], true);
    assert_eq!(recovered, Some((10_000, false)));
    let (recovered, third) = run(&half_b[5_000..], true);
    assert_eq!(recovered, Some((15_000, true)));

    let expected = engine_events(&workload.instruments, half_a, half_b);
    let mut got = second;
    got.extend(third);
    assert!(
        got == expected,
        "events after recovery differ from an uninterrupted run"
    );
}

#[test]
fn a_panicking_stage_stops_the_pipeline_with_its_name() {
    a_panicking_stage_stops_the_pipeline_with_its_name_in(Placement::Threads);
}

#[test]
fn a_panicking_stage_stops_the_pipeline_with_its_name_hosted() {
    a_panicking_stage_stops_the_pipeline_with_its_name_in(Placement::Hosted);
}

#[test]
fn a_panicking_stage_stops_the_pipeline_with_its_name_all_hosted() {
    a_panicking_stage_stops_the_pipeline_with_its_name_in(Placement::AllHosted);
}

fn a_panicking_stage_stops_the_pipeline_with_its_name_in(placement: Placement) {
    let dir = TempDir::new("panic");
    let workload = stream(5_000, 14);
    let mut calls = 0;
    let sink = move |_: &Output| {
        calls += 1;
        if calls == 100 {
            panic!("sink exploded");
        }
    };
    let mut p = pipeline::start(
        placed(
            config(dir.path(), workload.instruments.clone(), Durability::None),
            placement,
        ),
        sink,
    )
    .unwrap();
    check(placement, &p);
    // Publishing may fail once the failure is seen; it must not hang.
    for chunk in workload.commands.chunks(500) {
        if p.publish_batch(0, chunk).is_err() {
            break;
        }
    }
    match p.shutdown() {
        Err(PipelineError::StageFailed(f)) => {
            assert_eq!(f.stage, "output");
            assert!(f.message.contains("sink exploded"), "{}", f.message);
        }
        other => panic!("expected a stage failure, got {other:?}"),
    }
}

#[test]
fn other_instruments_than_the_journals_are_refused() {
    let dir = TempDir::new("instruments");
    let workload = stream(100, 15);
    let p = pipeline::start(
        config(dir.path(), workload.instruments.clone(), Durability::None),
        |_: &Output| {},
    )
    .unwrap();
    p.shutdown().unwrap();
    let mut other = workload.instruments.clone();
    other[0].max_qty += 1;
    let err =
        pipeline::start(config(dir.path(), other, Durability::None), |_: &Output| {}).unwrap_err();
    assert!(
        matches!(err, PipelineError::InstrumentsDiffer { .. }),
        "{err}"
    );
    // Starting with no instruments takes the journal's.
    let p = pipeline::start(
        config(dir.path(), vec![], Durability::None),
        |_: &Output| {},
    )
    .unwrap();
    p.shutdown().unwrap();
}

#[test]
fn hosted_poll_up_to_releases_in_order_and_never_more_than_asked() {
    let dir = TempDir::new("poll-up-to");
    let workload = stream(2_000, 16);
    let (seen, sink) = collector();
    let mut p = pipeline::start(
        placed(
            config(dir.path(), workload.instruments.clone(), Durability::None),
            Placement::Hosted,
        ),
        sink,
    )
    .unwrap();
    let last = p.publish_batch(0, &workload.commands).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while seen
        .lock()
        .unwrap()
        .last()
        .is_none_or(|o| o.seq < last || !o.last)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "events stopped coming"
        );
        let before = seen.lock().unwrap().len();
        let released = p.poll_up_to(7);
        assert!(released <= 7, "released {released}");
        assert_eq!(seen.lock().unwrap().len(), before + released);
    }
    p.shutdown().unwrap();
    let lasts: Vec<u64> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|o| o.last)
        .map(|o| o.seq)
        .collect();
    assert_eq!(lasts, (1..=last).collect::<Vec<_>>());
}

/// A sink lent to one poll (`poll_up_to_with`, the gateway's way of
/// routing straight from the outbound ring) gets exactly what the
/// pipeline's own sink would have: every event, in order, the same as the
/// engine's, and the own sink gets none of them.
#[test]
fn a_lent_sink_gets_every_event_in_order_and_the_own_sink_none() {
    for placement in [Placement::Hosted, Placement::AllHosted] {
        let dir = TempDir::new("lent-sink");
        let workload = stream(3_000, 21);
        let (own, sink) = collector();
        let mut p = pipeline::start(
            placed(
                config(dir.path(), workload.instruments.clone(), Durability::Os),
                placement,
            ),
            sink,
        )
        .unwrap();
        // Published as the gateway does, without waiting: `publish_batch`
        // would run the stages itself, to the pipeline's own sink.
        let last = workload.commands.len() as u64;
        let mut pending = &workload.commands[..];
        let mut lent: Vec<Output> = Vec::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while lent.last().is_none_or(|o| o.seq < last || !o.last) {
            assert!(
                std::time::Instant::now() < deadline,
                "{placement:?}: events stopped coming"
            );
            let chunk = &pending[..pending.len().min(50)];
            if p.publisher().try_publish_batch(0, chunk).unwrap().is_some() {
                pending = &pending[chunk.len()..];
            }
            let before = lent.len();
            let mut take = |o: &Output| lent.push(*o);
            let released = p.poll_up_to_with(11, &mut take);
            assert!(released <= 11, "{placement:?}: released {released}");
            assert_eq!(lent.len(), before + released, "{placement:?}");
        }
        p.shutdown().unwrap();
        assert!(own.lock().unwrap().is_empty(), "{placement:?}");
        let expected = engine_events(&workload.instruments, &[], &workload.commands);
        let got: Vec<Event> = lent.iter().map(|o| o.event).collect();
        assert!(
            got == expected,
            "{placement:?}: events differ from the engine's"
        );
    }
}

#[test]
fn fsync_keeps_the_journal_on_its_own_thread() {
    let dir = TempDir::new("fsync-thread");
    let workload = stream(100, 17);
    let cfg = placed(
        config(dir.path(), workload.instruments.clone(), Durability::Fsync),
        Placement::AllHosted,
    );
    let p = pipeline::start(cfg, |_: &Output| {}).unwrap();
    assert_eq!(
        p.topology().placement,
        Placement::Threads,
        "fsync: nothing hosted"
    );
    p.shutdown().unwrap();
}

/// Hosted M never waits for room in the outbound ring (only its own thread
/// empties it): one order that sweeps far more resting orders than the ring
/// holds must still come out whole and in order, its events kept in M's
/// outbox until O has made room.
#[test]
fn a_sweep_larger_than_the_outbound_ring_comes_out_whole_all_hosted() {
    use matching::{Side, TimeInForce};
    let dir = TempDir::new("sweep");
    let workload = stream(10, 18);
    let symbol = workload.instruments[0].symbol;
    let price = (workload.instruments[0].min_price + workload.instruments[0].max_price) / 2;
    let resting = 2_000u64;
    let mut commands: Vec<Command> = (1..=resting)
        .map(|id| Command::New {
            symbol,
            id,
            account: 1,
            client_order_id: 0,
            side: Side::Sell,
            price,
            qty: 1,
            tif: TimeInForce::Gtc,
        })
        .collect();
    commands.push(Command::New {
        symbol,
        id: resting + 1,
        account: 2,
        client_order_id: 0,
        side: Side::Buy,
        price,
        qty: resting,
        tif: TimeInForce::Ioc,
    });
    let (seen, sink) = collector();
    let mut cfg = config(dir.path(), workload.instruments.clone(), Durability::None);
    cfg.inbound_ring = 64;
    cfg.outbound_ring = 64;
    let mut p = pipeline::start(placed(cfg, Placement::AllHosted), sink).unwrap();
    check(Placement::AllHosted, &p);
    p.publish_batch(0, &commands).unwrap();
    p.shutdown().unwrap();

    let expected = engine_events(&workload.instruments, &[], &commands);
    let trades = expected
        .iter()
        .filter(|e| matches!(e, Event::Trade { .. }))
        .count();
    assert_eq!(
        trades as u64, resting,
        "the sweep fills every resting order"
    );
    let got: Vec<Event> = seen.lock().unwrap().iter().map(|o| o.event).collect();
    assert!(got == expected, "pipeline events differ from the engine's");
}

/// Snapshots while trading: written every `snapshot_every` commands by the
/// writer thread, two kept; a crash (no shutdown snapshot) recovers from
/// the newest and replays only the journal after it, to the same books as
/// an uninterrupted run. A snapshot left half-written (its `.tmp`) by a
/// crash in the middle of writing it is passed over.
#[test]
fn snapshots_while_trading_bound_what_recovery_replays() {
    let dir = TempDir::new("periodic-snapshots");
    let workload = stream(20_000, 17);
    let (first, rest) = workload.commands.split_at(15_000);
    let mut cfg = config(dir.path(), workload.instruments.clone(), Durability::Os);
    cfg.snapshot_on_shutdown = false;
    cfg.snapshot_every = Some(1_000);
    let (_, sink) = collector();
    let mut p = pipeline::start(cfg.clone(), sink).unwrap();
    for (i, chunk) in first.chunks(100).enumerate() {
        p.publish_batch(0, chunk).unwrap();
        if i % 10 == 9 {
            // Time for the writer (M skips a snapshot while it is busy).
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    p.shutdown().unwrap();
    let snaps: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".snap"))
        .collect();
    assert!(
        (1..=2).contains(&snaps.len()),
        "all but the two newest are deleted: {snaps:?}"
    );
    // A crash in the middle of writing a later snapshot leaves its temp file.
    std::fs::write(
        dir.path()
            .join(format!("{}.tmp", journal::snapshot_name(15_000))),
        b"MEJSNAPS half of it",
    )
    .unwrap();

    let (seen, sink) = collector();
    let mut p = pipeline::start(cfg, sink).unwrap();
    let recovered = p.recovered().unwrap();
    let (from, replayed) = (recovered.snapshot.clone().unwrap().1, recovered.replayed);
    assert!(
        from >= 1_000 && from + replayed == 15_000,
        "recovered from the snapshot at {from}, then replayed {replayed}"
    );
    p.publish_batch(0, rest).unwrap();
    p.shutdown().unwrap();
    let got: Vec<Event> = seen.lock().unwrap().iter().map(|o| o.event).collect();
    assert!(
        got == engine_events(&workload.instruments, first, rest),
        "events after recovery from a snapshot taken while trading differ"
    );
}

/// The time trigger: with `snapshot_interval` and no count, a snapshot is
/// taken at the first command ingested at least the interval after the
/// previous one (by the commands' ingest times, which M reads instead of a
/// clock), so the snapshots fall exactly where the times say.
#[test]
fn snapshots_follow_the_ingest_time_interval() {
    let dir = TempDir::new("interval-snapshots");
    let workload = stream(1_000, 18);
    let mut cfg = config(dir.path(), workload.instruments.clone(), Durability::Os);
    cfg.snapshot_on_shutdown = false;
    cfg.snapshot_interval = Some(std::time::Duration::from_secs(1));
    let (seen, sink) = collector();
    let mut p = pipeline::start(cfg, sink).unwrap();
    let base = 1_700_000_000_000_000_000u64;
    // Batches of 100 ingested 0.4 s apart: the first command sets the clock
    // (t = 0); snapshots at the first batch at or past t = 1 s (the third,
    // t = 0.8 s, is not; the fourth, t = 1.2 s, is) and 1 s after that
    // (the seventh, t = 2.4 s).
    let mut snapshots_seen = Vec::new();
    for (i, chunk) in workload.commands.chunks(100).take(8).enumerate() {
        let ts = base + i as u64 * 400_000_000;
        p.publish_batch(ts, chunk).unwrap();
        // Wait for the batch to be matched and any snapshot written.
        let last = (i as u64 + 1) * 100;
        while seen.lock().unwrap().last().map(|o| o.seq) < Some(last) {
            p.poll();
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        std::thread::sleep(std::time::Duration::from_millis(30));
        snapshots_seen.extend(snapshot_seqs(dir.path()));
    }
    p.shutdown().unwrap();
    snapshots_seen.sort();
    snapshots_seen.dedup();
    assert_eq!(snapshots_seen, [301, 601]);
}

/// The sequences of the snapshots in `dir`.
fn snapshot_seqs(dir: &std::path::Path) -> Vec<u64> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            let seq = name.strip_prefix("snapshot-")?.strip_suffix(".snap")?;
            seq.parse().ok()
        })
        .collect()
}

/// Retention: with snapshots while trading, segments wholly before the
/// older kept snapshot are deleted, or moved to an archive, so the
/// journal directory stays bounded; recovery from what is retained gives
/// the same books as an uninterrupted run.
#[test]
fn segments_before_the_kept_snapshots_are_retired() {
    for archive in [false, true] {
        let dir = TempDir::new("retention");
        let workload = stream(30_000, 19);
        let (first, rest) = workload.commands.split_at(25_000);
        let mut cfg = config(dir.path(), workload.instruments.clone(), Durability::Os);
        cfg.snapshot_on_shutdown = false;
        cfg.snapshot_every = Some(2_000);
        // Small segments: about 300 records each.
        cfg.journal.segment_bytes = 16 * 1024;
        let archive_dir = dir.path().join("archive");
        cfg.retain_segments = if archive {
            journal::SegmentRetention::Archive(archive_dir.clone())
        } else {
            journal::SegmentRetention::Delete
        };
        let (_, sink) = collector();
        let mut p = pipeline::start(cfg.clone(), sink).unwrap();
        for (i, chunk) in first.chunks(100).enumerate() {
            p.publish_batch(0, chunk).unwrap();
            if i % 20 == 19 {
                // A snapshot is due about now: give the writer time to
                // write it (a busy writer makes M skip one, by design).
                std::thread::sleep(std::time::Duration::from_millis(30));
            }
        }
        p.shutdown().unwrap();
        // Whatever was skipped: nothing wholly before the older kept
        // snapshot is left.
        let oldest = journal::oldest_snapshot(dir.path()).unwrap().unwrap();
        let first_kept = journal::first_retained_seq(dir.path()).unwrap().unwrap();
        assert!(
            first_kept > 1 && first_kept <= oldest + 1,
            "first retained {first_kept}, oldest snapshot {oldest}"
        );
        let segments = |d: &std::path::Path| {
            std::fs::read_dir(d).map_or(0, |entries| {
                entries
                    .filter(|e| {
                        let name = e.as_ref().unwrap().file_name();
                        name.to_str().unwrap().ends_with(".seg")
                    })
                    .count()
            })
        };
        // What is kept is what follows the older snapshot: at least 244
        // records (of at most 67 bytes) fill a 16 KiB segment.
        let kept = segments(dir.path());
        let bound = (first.len() as u64 - oldest) / 244 + 2;
        assert!(
            kept as u64 <= bound,
            "{kept} segments kept; those after the snapshot at {oldest} fit in {bound}"
        );
        let archived = segments(&archive_dir);
        assert_eq!(archived > 0, archive, "{archived} segments archived");

        let (seen, sink) = collector();
        let mut p = pipeline::start(cfg, sink).unwrap();
        assert!(p.recovered().unwrap().snapshot.is_some());
        p.publish_batch(0, rest).unwrap();
        p.shutdown().unwrap();
        let got: Vec<Event> = seen.lock().unwrap().iter().map(|o| o.event).collect();
        assert!(
            got == engine_events(&workload.instruments, first, rest),
            "events after recovery from a retired journal differ"
        );
    }
}
