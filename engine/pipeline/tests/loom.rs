//! loom model checks of the concurrency the disruptor crate does not own:
//! the seqlock on price levels and the durable-sequence gate.
//!
//! Run with `scripts/check-loom.sh`, which runs them twice: as they are
//! (they must pass), and with `--cfg planted_bug`, which weakens the one
//! `Release` store each depends on to `Relaxed` (they must fail: the
//! `should_panic` below then expects loom to find the bug).

#![cfg(loom)]
#![allow(clippy::unwrap_used)]

use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::thread;
use matching::book::{Level, LevelDepth};
use pipeline::gate::DurableGate;

/// A reader taking a depth while M updates the level twice sees one of the
/// three states the writer went through, never a mix of two.
#[test]
#[cfg_attr(planted_bug, should_panic(expected = "torn read"))]
fn seqlock_reader_never_sees_a_torn_level() {
    loom::model(|| {
        let level = Arc::new(Level::default());
        let writer = {
            let level = Arc::clone(&level);
            thread::spawn(move || {
                level.publish(LevelDepth { qty: 1, count: 1 });
                level.publish(LevelDepth { qty: 2, count: 2 });
            })
        };
        let depth = level.read_depth();
        assert_eq!(depth.qty, u128::from(depth.count), "torn read: {depth:?}");
        writer.join().unwrap();
    });
}

/// When O sees the gate cover a command, it also sees everything J did
/// before opening it (here: the journal write, as a plain memory write).
#[test]
#[cfg_attr(planted_bug, should_panic(expected = "Causality violation"))]
fn gate_orders_the_journal_write_before_release() {
    loom::model(|| {
        let gate = Arc::new(DurableGate::new(0));
        let journal = Arc::new(UnsafeCell::new(0u64));
        let j = {
            let (gate, journal) = (Arc::clone(&gate), Arc::clone(&journal));
            thread::spawn(move || {
                // SAFETY: J is the only writer, and O reads only after the
                // gate says J's write is done; loom checks exactly that.
                journal.with_mut(|record| unsafe { *record = 42 });
                gate.publish(1);
            })
        };
        if gate.covers(1) {
            // SAFETY: as above; a race here is what loom reports.
            let record = journal.with(|record| unsafe { *record });
            assert_eq!(record, 42, "released before the journal write was visible");
        }
        j.join().unwrap();
    });
}
