//! Hosted O under a replicator's gate holds what is not committed and
//! never waits for it: in a cluster the thread that polls O (the gateway's
//! loop) may be the one whose Raft step moves that gate, so a waiting O
//! would wait for itself (output_stage.rs, "holding").

#![allow(clippy::unwrap_used)] // a test that cannot set up should fail loudly

mod pipeline_support;

use std::sync::{Arc, Mutex};

use journal::Durability;
use matching::Event;
use pipeline::{Output, Pipeline, PipelineError, ReleaseGate, Replicator};
use pipeline_support::{Placement, TempDir, collector, config, engine_events, placed, stream};
use testkit::workload::Workload;

/// A replicator that commits only when the test says so.
#[derive(Debug, Default)]
struct Manual {
    gate: Mutex<Option<ReleaseGate>>,
}

impl Manual {
    fn commit(&self, seq: u64) {
        self.gate.lock().unwrap().as_ref().unwrap().publish(seq);
    }

    fn abandon(&self) {
        let gate = self.gate.lock().unwrap();
        gate.as_ref().unwrap().abandon("test".into());
    }
}

impl Replicator for Manual {
    fn attach(&self, release: ReleaseGate) {
        *self.gate.lock().unwrap() = Some(release);
    }

    fn replicate(&self, _records: Vec<u8>, _first: u64, _last: u64) {}
}

fn lasts(seen: &Mutex<Vec<Output>>) -> Vec<u64> {
    let seen = seen.lock().unwrap();
    seen.iter().filter(|o| o.last).map(|o| o.seq).collect()
}

/// A pipeline whose O is hosted under `Manual`'s gate, with rings of
/// `ring` slots: what it releases, the gate, and the pipeline.
fn start_held(
    dir: &TempDir,
    workload: &Workload,
    ring: usize,
) -> (Arc<Mutex<Vec<Output>>>, Arc<Manual>, Pipeline) {
    let (seen, sink) = collector();
    let manual = Arc::new(Manual::default());
    let mut cfg = config(dir.path(), workload.instruments.clone(), Durability::Os);
    cfg.inbound_ring = ring;
    cfg.outbound_ring = ring;
    cfg.replication = Some(Arc::clone(&manual) as Arc<dyn Replicator>);
    let p = pipeline::start(placed(cfg, Placement::AllHosted), sink).unwrap();
    (seen, manual, p)
}

/// Polls the hosted stages `n` times (each returns: none waits).
fn poll(p: &mut Pipeline, n: usize) {
    for _ in 0..n {
        p.poll_up_to(usize::MAX);
    }
}

#[test]
fn uncommitted_events_are_held_and_released_in_order_as_the_commit_moves() {
    let dir = TempDir::new("held");
    let workload = stream(300, 21); // 2,000 resting orders first: 2,300 commands
    // Room for every event held: this test is about order, the next one
    // about the bound.
    let (seen, manual, mut p) = start_held(&dir, &workload, 4096);
    let (first, rest) = workload.commands.split_at(100);
    assert_eq!(
        p.publisher().try_publish_batch(1, first).unwrap(),
        Some(100)
    );
    poll(&mut p, 10);
    assert_eq!(p.durable_seq(), 100, "journaled");
    assert!(
        lasts(&seen).is_empty(),
        "nothing committed, nothing released"
    );

    manual.commit(40);
    poll(&mut p, 1);
    assert_eq!(lasts(&seen), (1..=40).collect::<Vec<_>>());

    let all = workload.commands.len() as u64;
    assert_eq!(p.publisher().try_publish_batch(2, rest).unwrap(), Some(all));
    poll(&mut p, 10);
    assert_eq!(lasts(&seen).len(), 40, "the commit has not moved");
    manual.commit(all);
    poll(&mut p, 1);
    assert_eq!(lasts(&seen), (1..=all).collect::<Vec<_>>());
    let expected = engine_events(&workload.instruments, &[], &workload.commands);
    let got: Vec<Event> = seen.lock().unwrap().iter().map(|o| o.event).collect();
    assert!(got == expected, "held events differ from the engine's");
    p.shutdown().unwrap();
}

#[test]
fn without_a_commit_the_rings_fill_and_an_abandoned_pipeline_releases_nothing() {
    let dir = TempDir::new("held-full");
    let workload = stream(5_000, 22);
    let (seen, manual, mut p) = start_held(&dir, &workload, 64);
    // O holds at most a ring's worth: with nothing committed, publishing
    // stops being accepted however long the stages are polled.
    let mut accepted = 0;
    for command in &workload.commands {
        poll(&mut p, 2);
        match p
            .publisher()
            .try_publish_batch(1, std::slice::from_ref(command))
            .unwrap()
        {
            Some(_) => accepted += 1,
            None => break,
        }
    }
    assert!(
        accepted < 1_000,
        "{accepted} commands taken with nothing committed"
    );
    assert!(lasts(&seen).is_empty());
    manual.abandon();
    poll(&mut p, 3);
    assert!(
        lasts(&seen).is_empty(),
        "abandoned: nothing held is released"
    );
    match p.shutdown() {
        Err(PipelineError::StageFailed(f)) => assert_eq!(f.stage, pipeline::REPLICATION_STAGE),
        other => panic!("expected the replication failure, got {other:?}"),
    }
}
