//! A drained pipeline hands its engine and open journal to the next
//! (`Pipeline::hand_over`, `pipeline::resume`), as a cluster node does
//! when it is elected: the next pipeline goes on from the same command,
//! releases exactly what an engine that never stopped would, and leaves
//! one journal without a gap that recovers to the same state.

#![allow(clippy::unwrap_used)] // a test that cannot set up should fail loudly

mod pipeline_support;

use journal::Durability;
use matching::{Engine, Event};
use pipeline::{Output, PipelineError};
use pipeline_support::{
    Placement, TempDir, check, collector, config, engine_events, placed, stream,
};
use testkit::state_hash::state_hash;

/// Each case: where the handing pipeline's stages ran, where the next
/// one's run, and the durability both use. The follower-to-gateway case
/// of a cluster node is the first (`AllHosted` → `Hosted`, `os`).
const CASES: &[(Placement, Placement, Durability)] = &[
    (Placement::AllHosted, Placement::Hosted, Durability::Os),
    (Placement::AllHosted, Placement::Hosted, Durability::Fsync),
    (Placement::Threads, Placement::AllHosted, Durability::Os),
    (Placement::Hosted, Placement::Threads, Durability::Fsync),
    (Placement::Threads, Placement::Threads, Durability::None),
];

#[test]
fn the_next_pipeline_goes_on_where_the_handing_one_stopped() {
    for &(from, to, durability) in CASES {
        let case = format!("{from:?} -> {to:?}, {durability:?}");
        let w = stream(6_000, 7);
        let total = w.commands.len() as u64;
        let (first, second) = w.commands.split_at(w.commands.len() / 2);
        let dir = TempDir::new("handover");
        let mut base = config(dir.path(), w.instruments.clone(), durability);
        // The journal after the hand-over must hold every command itself:
        // no snapshot to recover from instead.
        base.snapshot_on_shutdown = false;

        let mut a = pipeline::start(placed(base.clone(), from), |_: &Output| {}).unwrap();
        a.publish_batch(1, first).unwrap();
        let handover = a.hand_over().unwrap();
        assert_eq!(handover.last_seq(), first.len() as u64, "{case}");
        assert_eq!(handover.journal_dir(), dir.path(), "{case}");

        let (seen, sink) = collector();
        let mut b = pipeline::resume(placed(base.clone(), to), handover, sink).unwrap();
        if durability != Durability::Fsync {
            // (With `fsync`, J keeps a thread whatever was asked.)
            check(to, &b);
        }
        assert!(b.recovered().is_none(), "{case}: nothing recovered");
        assert_eq!(b.publisher().next_seq(), first.len() as u64 + 1, "{case}");
        b.publish_batch(2, second).unwrap();
        assert_eq!(b.shutdown().unwrap().last_seq, total, "{case}");

        let released: Vec<Event> = seen.lock().unwrap().iter().map(|o| o.event).collect();
        assert!(
            released == engine_events(&w.instruments, first, second),
            "{case}: the next pipeline released other events than an engine that never stopped"
        );
        let first_seq = seen.lock().unwrap().first().map(|o| o.seq);
        assert_eq!(first_seq, Some(first.len() as u64 + 1), "{case}");

        let (recovered, report) = journal::recover(dir.path(), base.engine.clone()).unwrap();
        assert_eq!(
            (report.last_seq, report.replayed, report.snapshot.is_none()),
            (total, total, true),
            "{case}: one journal, every command, no gap at the hand-over"
        );
        assert!(report.warnings.is_empty(), "{case}: {:?}", report.warnings);
        let mut plain = Engine::new(base.engine.clone()).unwrap();
        for spec in &w.instruments {
            plain.add_instrument(*spec).unwrap();
        }
        for command in &w.commands {
            plain.execute(command, &mut Vec::new());
        }
        assert_eq!(state_hash(&recovered), state_hash(&plain), "{case}");
    }
}

#[test]
fn a_hand_over_to_another_journal_or_other_instruments_is_refused() {
    let w = stream(1_000, 8);
    let dir = TempDir::new("handover-from");
    let elsewhere = TempDir::new("handover-to");
    let base = config(dir.path(), w.instruments.clone(), Durability::Os);
    let start = || {
        let mut p = pipeline::start(base.clone(), |_: &Output| {}).unwrap();
        p.publish_batch(1, &w.commands).unwrap();
        p.hand_over().unwrap()
    };

    let other_dir = config(elsewhere.path(), w.instruments.clone(), Durability::Os);
    match pipeline::resume(other_dir, start(), |_: &Output| {}) {
        Err(PipelineError::HandoverElsewhere { from, to }) => {
            assert_eq!(
                (from.as_path(), to.as_path()),
                (dir.path(), elsewhere.path())
            );
        }
        other => panic!("expected HandoverElsewhere, got {other:?}"),
    }

    let mut other_instruments = base.clone();
    other_instruments.instruments.truncate(1);
    match pipeline::resume(other_instruments, start(), |_: &Output| {}) {
        Err(PipelineError::InstrumentsDiffer { .. }) => {}
        other => panic!("expected InstrumentsDiffer, got {other:?}"),
    }

    // Refused hand-overs lose nothing: the journal still recovers whole
    // (both runs' commands, the second's after the first's).
    let (_, report) = journal::recover(dir.path(), base.engine.clone()).unwrap();
    assert_eq!(report.last_seq, 2 * w.commands.len() as u64);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}
