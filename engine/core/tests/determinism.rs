//! The same command stream gives byte-identical output on every run.

#![allow(clippy::unwrap_used)] // a test that cannot set up should fail loudly

use matching::text::{write_event, write_resting};
use matching::{Engine, EngineConfig, Event};
use testkit::workload::{WorkloadConfig, generate};

fn run_to_text(config: &WorkloadConfig) -> Vec<u8> {
    let workload = generate(config).unwrap();
    let mut engine = Engine::new(EngineConfig::default()).unwrap();
    for spec in &workload.instruments {
        engine.add_instrument(*spec).unwrap();
    }
    let mut out = Vec::new();
    let mut events: Vec<Event> = Vec::new();
    for command in &workload.commands {
        events.clear();
        engine.execute(command, &mut events);
        for event in &events {
            write_event(&mut out, event).unwrap();
        }
    }
    for order in engine.resting_orders() {
        write_resting(&mut out, &order).unwrap();
    }
    out
}

#[test]
fn same_stream_twice_gives_identical_bytes() {
    let config = WorkloadConfig {
        commands: 50_000,
        resting: 2_000,
        instruments: 3,
        accounts: 20,
        seed: 7,
    };
    let first = run_to_text(&config);
    let second = run_to_text(&config);
    assert!(
        first.len() > 500_000,
        "the stream should produce plenty of output: {}",
        first.len()
    );
    assert!(first == second, "two runs of the same stream differ");
}

#[test]
fn same_seed_gives_same_stream_and_different_seeds_differ() {
    let config = WorkloadConfig {
        commands: 10_000,
        resting: 500,
        ..WorkloadConfig::default()
    };
    let a = generate(&config).unwrap().commands;
    let b = generate(&config).unwrap().commands;
    let c = generate(&WorkloadConfig { seed: 2, ..config })
        .unwrap()
        .commands;
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn restoring_a_snapshot_rebuilds_the_same_book() {
    let config = WorkloadConfig {
        commands: 20_000,
        resting: 1_000,
        instruments: 2,
        ..WorkloadConfig::default()
    };
    let workload = generate(&config).unwrap();
    let (first, rest) = workload.commands.split_at(workload.commands.len() / 2);
    let fresh = || {
        let mut engine = Engine::new(EngineConfig::default()).unwrap();
        for spec in &workload.instruments {
            engine.add_instrument(*spec).unwrap();
        }
        engine
    };
    let mut original = fresh();
    let mut events: Vec<Event> = Vec::new();
    for command in first {
        original.execute(command, &mut events);
    }
    let mut restored = fresh();
    original.for_each_order(|o| restored.restore_order(&o).unwrap());
    assert_eq!(restored.resting_orders(), original.resting_orders());
    // Same future: the rest of the stream gives the same events.
    let (mut a, mut b) = (Vec::<Event>::new(), Vec::<Event>::new());
    for command in rest {
        original.execute(command, &mut a);
        restored.execute(command, &mut b);
    }
    assert_eq!(a, b);
    assert_eq!(restored.resting_orders(), original.resting_orders());
}
