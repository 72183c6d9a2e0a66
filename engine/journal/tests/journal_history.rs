//! History: the events `replay_span` recomputes for a span of the journal
//! are the events the engine made live, whichever base (snapshot or the
//! journal's start) it starts from; it stops where asked; and once
//! retention has removed a span's start it says how far back history goes.

#![allow(clippy::unwrap_used)] // a test that cannot set up should fail loudly

mod journal_support;

use std::ops::ControlFlow;

use journal::{
    HistoryError, Record, SegmentRetention, SpanVisitor, replay_span, retire_segments,
    write_snapshot,
};
use journal_support::*;
use matching::book::SnapshotOrder;
use matching::{Engine, Event};

/// Keeps what a replay tells it: the base's orders, and `(seq, events)`
/// of each command; stops after `stop_after` commands, if set.
#[derive(Default)]
struct Seen {
    base_orders: Vec<SnapshotOrder>,
    commands: Vec<(u64, Vec<Event>)>,
    stop_after: Option<usize>,
}

impl SpanVisitor for Seen {
    fn base_order(&mut self, order: &SnapshotOrder) {
        self.base_orders.push(*order);
    }
    fn command(&mut self, record: &Record, events: &[Event]) -> ControlFlow<()> {
        self.commands.push((record.seq, events.to_vec()));
        if Some(self.commands.len()) == self.stop_after {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}

/// Each command's events, as the engine made them running the workload.
fn live_events(
    instruments: &[matching::types::InstrumentSpec],
    commands: &[matching::Command],
) -> Vec<Vec<Event>> {
    let mut engine = Engine::new(config()).unwrap();
    for spec in instruments {
        engine.add_instrument(*spec).unwrap();
    }
    commands
        .iter()
        .map(|c| {
            let mut events = Vec::new();
            engine.execute(c, &mut events);
            events
        })
        .collect()
}

/// `(seq, events)` of every command after `after` that `replay_span`
/// passes on, having checked that it starts at a base at or before
/// `after` whose orders are the engine's there.
fn replayed(
    dir: &std::path::Path,
    w: &testkit::workload::Workload,
    after: u64,
    upto: u64,
) -> Vec<(u64, Vec<Event>)> {
    let mut seen = Seen::default();
    let span = replay_span(dir, &config(), after, upto, &mut seen).unwrap();
    assert!(span.base <= after);
    let (at_base, _) = run_direct(&w.instruments, &w.commands[..span.base as usize]);
    assert_eq!(seen.base_orders, all_orders_if(span.base > 0, &at_base));
    assert_eq!(seen.commands.first().map(|c| c.0), Some(span.base + 1));
    seen.commands.retain(|(seq, _)| *seq > after);
    seen.commands
}

/// The engine's orders, if the base is a snapshot (none from the start).
fn all_orders_if(snapshot: bool, engine: &Engine) -> Vec<SnapshotOrder> {
    if snapshot {
        all_orders(engine)
    } else {
        Vec::new()
    }
}

#[test]
fn a_span_replays_the_events_made_live_from_any_base() {
    let dir = tempdir();
    let w = workload(2_000, 41);
    write_journal(
        dir.path(),
        &w.instruments,
        &w.commands,
        small_segments(20_000),
    );
    for n in [700usize, 1_500] {
        let (engine, _) = run_direct(&w.instruments, &w.commands[..n]);
        write_snapshot(dir.path(), &engine, n as u64).unwrap();
    }
    let live = live_events(&w.instruments, &w.commands);
    let total = w.commands.len() as u64;
    // Before any snapshot (from the journal's start), at a snapshot, between
    // snapshots, after the last one; to the end or to a bound.
    for (after, upto) in [
        (0, total),
        (450, 900),
        (700, total),
        (1_100, 1_600),
        (1_900, total),
    ] {
        let got = replayed(dir.path(), &w, after, upto);
        let want: Vec<(u64, Vec<Event>)> = (after + 1..=upto)
            .map(|seq| (seq, live[seq as usize - 1].clone()))
            .collect();
        assert_eq!(got.len(), want.len(), "after {after}, upto {upto}");
        assert!(got == want, "after {after}, upto {upto}: events differ");
    }
}

#[test]
fn a_replay_stops_when_asked_and_says_where() {
    let dir = tempdir();
    let w = workload(1_000, 42);
    write_journal(
        dir.path(),
        &w.instruments,
        &w.commands,
        small_segments(20_000),
    );
    let mut seen = Seen {
        stop_after: Some(25),
        ..Seen::default()
    };
    let span = replay_span(dir.path(), &config(), 100, 1_300, &mut seen).unwrap();
    assert_eq!((span.base, span.last_seq, seen.commands.len()), (0, 25, 25));
}

#[test]
fn a_span_before_the_retained_history_is_refused_with_where_history_begins() {
    let dir = tempdir();
    let w = workload(3_000, 43);
    write_journal(
        dir.path(),
        &w.instruments,
        &w.commands,
        small_segments(8_000),
    );
    let (engine, _) = run_direct(&w.instruments, &w.commands[..1_800]);
    write_snapshot(dir.path(), &engine, 1_800).unwrap();
    assert!(retire_segments(dir.path(), 1_800, &SegmentRetention::Delete).unwrap() > 0);

    match replay_span(dir.path(), &config(), 1_000, 3_000, &mut Seen::default()) {
        Err(HistoryError::NotRetained { asked, earliest }) => {
            assert_eq!((asked, earliest), (1_000, 1_800));
        }
        other => panic!("expected NotRetained, got {other:?}"),
    }
    // From the snapshot on, it is all there.
    let live = live_events(&w.instruments, &w.commands);
    let total = w.commands.len() as u64;
    let got = replayed(dir.path(), &w, 1_800, total);
    assert_eq!(got.len(), w.commands.len() - 1_800);
    assert!(
        got.iter()
            .all(|(seq, events)| *events == live[*seq as usize - 1])
    );
}
