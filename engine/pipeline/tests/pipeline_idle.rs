//! CPU in proportion to work: an idle pipeline sleeps, and sleeping loses
//! nothing. A burst after a long sleep is answered in full, shutdown while
//! asleep is prompt, and a stage that fails while the others sleep still
//! stops the pipeline with its name.
//!
//! The CPU check reads the stage threads' own CPU time from
//! `/proc/self/task/*/stat` over an idle spell: behaviour (asleep or not),
//! not speed. A spinning stage would show the whole spell.

#![allow(clippy::unwrap_used)] // a test that cannot set up should fail loudly

mod pipeline_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use journal::Durability;
use pipeline::{self, Output, PipelineError, Placement, WaitSetting};
use pipeline_support::{TempDir, config, placed, stream};
use testkit::cpu::thread_cpu_seconds;

const STAGES: [&str; 3] = ["journal", "matching", "output"];

/// A sink that counts released commands (their last event).
fn counter() -> (Arc<AtomicU64>, impl FnMut(&Output) + Send + 'static) {
    let released = Arc::new(AtomicU64::new(0));
    let count = Arc::clone(&released);
    let sink = move |out: &Output| {
        if out.last {
            // Release: pairs with the test's Acquire load.
            count.store(out.seq, Ordering::Release);
        }
    };
    (released, sink)
}

fn wait_until_released(released: &AtomicU64, seq: u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    // Acquire: pairs with the sink's Release store.
    while released.load(Ordering::Acquire) < seq {
        assert!(Instant::now() < deadline, "not answered: {seq}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn idle_stages_sleep_and_a_burst_after_a_long_sleep_is_answered_in_full() {
    let dir = TempDir::new("idle");
    let workload = stream(20_000, 21);
    let (head, tail) = workload.commands.split_at(1_000);
    let mut cfg = config(dir.path(), workload.instruments.clone(), Durability::Os);
    cfg.wait = WaitSetting::Adaptive;
    let (released, sink) = counter();
    let mut p = pipeline::start(cfg, sink).unwrap();
    let last = p.publish_batch(0, head).unwrap();
    wait_until_released(&released, last);

    // Idle for a second: J, M and O have threads of their own here and
    // must all be asleep.
    std::thread::sleep(Duration::from_millis(50));
    let before = thread_cpu_seconds(&STAGES);
    std::thread::sleep(Duration::from_secs(1));
    let used = thread_cpu_seconds(&STAGES) - before;
    assert!(
        used < 0.1,
        "the idle stages used {used:.3} s of CPU in 1 s ({})",
        p.topology().describe()
    );

    // Then a burst, published as fast as the ring takes it: every command
    // is answered although every stage was asleep.
    let last = p.publish_batch(0, tail).unwrap();
    wait_until_released(&released, last);
    p.shutdown().unwrap();
}

#[test]
fn shutdown_while_asleep_is_prompt() {
    for placement in Placement::ALL {
        let dir = TempDir::new("idle-shutdown");
        let workload = stream(100, 22);
        let mut cfg = placed(
            config(dir.path(), workload.instruments.clone(), Durability::Os),
            placement,
        );
        cfg.wait = WaitSetting::Adaptive;
        let (released, sink) = counter();
        let mut p = pipeline::start(cfg, sink).unwrap();
        let last = p.publish_batch(0, &workload.commands).unwrap();
        while released.load(Ordering::Acquire) < last {
            p.poll();
        }
        std::thread::sleep(Duration::from_millis(300));
        let start = Instant::now();
        let report = p.shutdown().unwrap();
        assert_eq!(report.last_seq, last);
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{placement:?}: shutdown took {:?}",
            start.elapsed()
        );
    }
}

#[test]
fn a_stage_that_fails_while_the_others_sleep_names_itself() {
    let dir = TempDir::new("idle-panic");
    let workload = stream(2_000, 23);
    let mut cfg = config(dir.path(), workload.instruments.clone(), Durability::Os);
    cfg.wait = WaitSetting::Adaptive;
    let fuse = Arc::new(AtomicU64::new(0));
    let armed = Arc::clone(&fuse);
    let sink = move |_: &Output| {
        // Relaxed: a flag set before the publish that reaches this sink.
        if armed.load(Ordering::Relaxed) == 1 {
            panic!("sink exploded after a sleep");
        }
    };
    let mut p = pipeline::start(cfg, sink).unwrap();
    p.publish_batch(0, &workload.commands[..100]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    fuse.store(1, Ordering::Relaxed);
    for chunk in workload.commands[100..].chunks(100) {
        if p.publish_batch(0, chunk).is_err() {
            break;
        }
    }
    match p.shutdown() {
        Err(PipelineError::StageFailed(f)) => {
            assert_eq!(f.stage, "output");
            assert!(f.message.contains("after a sleep"), "{}", f.message);
        }
        other => panic!("expected the output stage's failure, got {other:?}"),
    }
}
