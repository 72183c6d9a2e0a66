//! Shared by the pipeline tests: temp directories, a stream, a collecting sink.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use journal::Durability;
use matching::{Command, Engine, EngineConfig, Event, InstrumentSpec};
use pipeline::{Output, PipelineConfig, Topology};
use testkit::workload::{Workload, WorkloadConfig, generate};

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "engine-{name}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn stream(commands: usize, seed: u64) -> Workload {
    generate(&WorkloadConfig {
        commands,
        resting: 2_000,
        instruments: 2,
        accounts: 20,
        seed,
    })
    .unwrap()
}

/// A small-footprint configuration for tests (no prefault, small rings
/// so that backpressure is exercised).
pub fn config(
    dir: &Path,
    instruments: Vec<InstrumentSpec>,
    durability: Durability,
) -> PipelineConfig {
    let mut config = PipelineConfig::new(dir, instruments);
    config.durability = durability;
    config.engine.prefault = false;
    config.engine.max_orders_per_book = 1 << 16;
    config.inbound_ring = 256;
    config.outbound_ring = 256;
    config
}

pub use pipeline::Placement;

/// Asserts that `pipeline` runs its stages as `asked` placed them (see
/// `placed`): on one core M is hosted with J and O, asked or not.
pub fn check(asked: Placement, pipeline: &pipeline::Pipeline) {
    let topology = pipeline.topology();
    let one_core = topology.matching == topology.publisher;
    let expected = match asked {
        Placement::Hosted if one_core => Placement::AllHosted,
        other => other,
    };
    assert_eq!(topology.placement, expected, "asked {asked:?}");
    assert_eq!(
        pipeline.released().is_some(),
        asked.hosts_stages(),
        "{asked:?}"
    );
}

/// `config`, with its stages placed as asked (the topology then puts the
/// hosted stages on the publisher's core, whatever the machine, so that
/// the mode asked for is what runs; `AllHosted` needs two cores).
pub fn placed(mut config: PipelineConfig, placement: Placement) -> PipelineConfig {
    if placement != Placement::Threads {
        let cores = Topology::available_cores().unwrap();
        let (first, last) = (cores[0], cores[cores.len() - 1]);
        let guest = (placement == Placement::AllHosted).then_some(last);
        config.topology = Some(Topology {
            publisher: first,
            journal: first,
            matching: last,
            output: first,
            guest,
            ..Topology::fit(&cores)
        });
        config.placement = placement;
    }
    config
}

/// Collects every released event.
pub fn collector() -> (
    Arc<Mutex<Vec<Output>>>,
    impl FnMut(&Output) + Send + 'static,
) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = {
        let seen = Arc::clone(&seen);
        move |out: &Output| seen.lock().unwrap().push(*out)
    };
    (seen, sink)
}

/// What the engine alone gives for `commands` on `instruments`, after
/// running `before` (whose events are dropped): the events a pipeline must
/// release, in order.
pub fn engine_events(
    instruments: &[InstrumentSpec],
    before: &[Command],
    commands: &[Command],
) -> Vec<Event> {
    let mut engine = Engine::new(EngineConfig::default()).unwrap();
    for spec in instruments {
        engine.add_instrument(*spec).unwrap();
    }
    for command in before {
        engine.execute(command, &mut Vec::new());
    }
    let mut expected: Vec<Event> = Vec::new();
    for command in commands {
        engine.execute(command, &mut expected);
    }
    expected
}
