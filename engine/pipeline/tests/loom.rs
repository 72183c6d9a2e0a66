//! loom model checks of the concurrency the disruptor crate does not own:
//! the seqlock on price levels, the durable-sequence gate, and the doorbell
//! that wakes a sleeping stage.
//!
//! Run with `scripts/check-loom.sh`, which runs them twice: as they are
//! (they must pass), and with `--cfg planted_bug`, which weakens the one
//! `Release` store each of the first two depends on to `Relaxed`, and makes
//! the doorbell's sleeper check before it listens (they must fail: the
//! `should_panic` below then expects loom to find the bug).

#![cfg(loom)]
#![allow(clippy::unwrap_used)]

use std::mem::ManuallyDrop;

use loom::cell::UnsafeCell;
use loom::sync::{Arc, Notify};
use loom::thread;
use matching::book::{Level, LevelDepth};
use pipeline::doorbell::Doorbell;
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

/// A stage that finds nothing published goes to sleep; the producer's ring
/// after it publishes always wakes it, whatever the interleaving. Under
/// loom a sleep has no timeout, so a lost wake-up is a deadlock.
///
/// Under `--cfg planted_bug` loom reports the deadlock and the process then
/// aborts (event-listener's listener, dropped while loom unwinds, panics
/// again), so `should_panic` cannot catch it: `scripts/check-loom.sh` runs
/// each doorbell test alone and requires loom's "deadlock" report.
#[test]
fn doorbell_never_loses_a_wake_up() {
    loom::model(|| {
        // In `ManuallyDrop` behind std's `Arc`: see the next test.
        let bell = std::sync::Arc::new(ManuallyDrop::new(Doorbell::new(-1)));
        let producer = {
            let bell = std::sync::Arc::clone(&bell);
            thread::spawn(move || bell.ring(0))
        };
        while bell.published() < 0 {
            bell.sleep_for(0);
        }
        producer.join().unwrap();
        drop(ManuallyDrop::into_inner(
            std::sync::Arc::try_unwrap(bell).unwrap(),
        ));
    });
}

/// A stage asleep when its pipeline stops: `close` always wakes it (it then
/// sees the disruptor's shutdown at once), whatever the interleaving.
/// (Under `--cfg planted_bug`: as above, the sleeper looks before it listens.)
#[test]
fn doorbell_close_never_leaves_a_sleeper_asleep() {
    loom::model(|| {
        // In `ManuallyDrop` behind std's `Arc`: see the next test.
        let bell = std::sync::Arc::new(ManuallyDrop::new(Doorbell::new(-1)));
        let closer = {
            let bell = std::sync::Arc::clone(&bell);
            thread::spawn(move || bell.close())
        };
        // Nothing is ever published: only the close can end this sleep.
        bell.sleep_for(0);
        closer.join().unwrap();
        drop(ManuallyDrop::into_inner(
            std::sync::Arc::try_unwrap(bell).unwrap(),
        ));
    });
}

/// The same for a sleeper that cannot listen (the gateway's poll loop in
/// `epoll_wait`): it arms the doorbell, looks once more, and sleeps; the
/// producer's ring calls the hook (here: a loom `Notify`) while it is armed.
/// (Under `--cfg planted_bug`: as above.)
#[test]
fn doorbell_hook_never_loses_a_wake_up() {
    loom::model(|| {
        // Held in `ManuallyDrop` behind std's `Arc`, and dropped by hand at
        // the end: loom objects dropped while loom reports a deadlock panic
        // again and abort the process, and loom objects never dropped are
        // reported as leaks. The sharing is not what is checked here; the
        // doorbell's atomics are.
        let bell = std::sync::Arc::new(ManuallyDrop::new(Doorbell::new(-1)));
        // loom's park/unpark, as an object.
        let waker = std::sync::Arc::new(ManuallyDrop::new(Notify::new()));
        let hook = std::sync::Arc::clone(&waker);
        bell.set_hook(Box::new(move || hook.notify()));
        let producer = {
            let bell = std::sync::Arc::clone(&bell);
            thread::spawn(move || bell.ring(0))
        };
        while bell.arm() < 0 {
            waker.wait();
            bell.disarm();
        }
        bell.disarm();
        producer.join().unwrap();
        // The hook's clone of `waker` goes with the doorbell.
        drop(ManuallyDrop::into_inner(
            std::sync::Arc::try_unwrap(bell).unwrap(),
        ));
        drop(ManuallyDrop::into_inner(
            std::sync::Arc::try_unwrap(waker).unwrap(),
        ));
    });
}
