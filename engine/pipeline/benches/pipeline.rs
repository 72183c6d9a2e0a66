//! Pipeline benchmarks (criterion).
//!
//! - `ring_hop/one_event`: publish one event into a disruptor ring and wait
//!   until the consumer thread has seen it (a round of the two cache lines
//!   the hop moves). The floor under every stage boundary of the pipeline.
//! - `pipeline/<durability>`: 10,000 commands of the realistic stream
//!   published in batches of 100, timed until the last event is released:
//!   throughput through J, M and O with output gating on.
//! - `command_event/<durability>/joined/<n>`: publish `n` commands as one
//!   batch and poll until the last one's events are released, with J, M
//!   and O all on this thread: the pipeline's own command→event time for a
//!   batch of that size, without the host's stalls a loadgen percentile
//!   has in it (criterion's median discards them). `n` = 1 is one order
//!   arriving alone; 8 is about what a 1 µs send tick publishes at 1M/s
//!   after a short stall.
//! - `recovery/journal/<n>`: rebuild the engine from an `n`-command journal
//!   without a snapshot: the replay rate recovery achieves, and recovery
//!   time against journal length.
//! - `recovery/snapshot/<n>`: the same journal with a snapshot 50,000
//!   commands before its end: restore the snapshot, replay the rest.
//! - `recovery/history/<n>`: `journal::replay_span` over the whole journal
//!   from its start, keeping one account's commands: the journal part of
//!   the gateway's missed-report recovery at its widest.
//!
//! Thread placement follows `Topology::detect()`: on the 2-core reference
//! machine M spins on core 1 and everything else shares core 0.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use disruptor::{BusySpin, Producer, build_single_producer};
use journal::{self, Durability};
use matching::EngineConfig;
use pipeline::{self, Output, PipelineConfig, Placement, Topology};
use testkit::workload::{Workload, WorkloadConfig, generate};

fn temp_dir(name: &str) -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!(
        "engine-bench-{name}-{}-{nanos}",
        std::process::id()
    ))
}

fn ring_hop(c: &mut Criterion) {
    let seen = Arc::new(AtomicI64::new(-1));
    let mut producer = {
        let seen = Arc::clone(&seen);
        build_single_producer(1024, || 0u64, BusySpin)
            .handle_events_with(move |_: &u64, sequence, _| seen.store(sequence, Ordering::Release))
            .build()
    };
    let mut next = 0i64;
    c.bench_function("ring_hop/one_event", |b| {
        b.iter(|| {
            producer.publish(|slot| *slot = next as u64);
            while seen.load(Ordering::Acquire) < next {
                std::hint::spin_loop();
            }
            next += 1;
        })
    });
}

fn stream() -> Workload {
    generate(&WorkloadConfig {
        commands: 200_000,
        resting: 10_000,
        ..WorkloadConfig::default()
    })
    .expect("valid workload")
}

/// Lets this thread run on every core in `cores` again, after a run pinned
/// it: pinned, it sees one core, and the next pipeline would be placed (and
/// validated) as if the machine had only that one.
fn unpin(cores: &[usize]) {
    // SAFETY: a zeroed cpu_set_t is a valid empty set, CPU_SET only writes
    // inside it for ids below CPU_SETSIZE (checked), and sched_setaffinity
    // reads `size_of::<cpu_set_t>()` bytes of it for this thread (pid 0).
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &core in cores.iter().filter(|&&c| c < libc::CPU_SETSIZE as usize) {
            libc::CPU_SET(core, &mut set);
        }
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// A pipeline configuration in a fresh directory: no snapshot at shutdown,
/// stages placed as `placement` asks, threads on `topology`.
fn bench_config(
    name: &str,
    workload: &Workload,
    durability: Durability,
    placement: Placement,
    topology: Topology,
) -> (std::path::PathBuf, PipelineConfig) {
    let dir = temp_dir(name);
    let mut config = PipelineConfig::new(&dir, workload.instruments.clone());
    config.durability = durability;
    config.snapshot_on_shutdown = false;
    config.placement = placement;
    config.topology = Some(topology);
    (dir, config)
}

/// A sink that records the last command whose events were all released,
/// and the counter it writes.
fn release_tracker() -> (Arc<AtomicU64>, impl FnMut(&Output) + Send + 'static) {
    let released = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&released);
    let sink = move |out: &Output| {
        if out.last {
            // Release: pairs with the bench thread's Acquire load (O may
            // run on a thread of its own).
            counter.store(out.seq, Ordering::Release);
        }
    };
    (released, sink)
}

fn pipeline_throughput(c: &mut Criterion, workload: &Workload) {
    let mut group = c.benchmark_group("pipeline");
    group.throughput(Throughput::Elements(10_000));
    group.sample_size(20);
    // Each placement: J, M and O on threads; J and O on this thread (where
    // the topology allows: 2 cores); M too ("joined": what an in-process
    // client on M's core gets).
    // Detected once, before any run pins this thread: a pinned thread sees
    // one core, and every later run would put all its stages there.
    let cores = Topology::available_cores().expect("cores");
    let topology = Topology::fit(&cores);
    let joined_topology = Topology {
        guest: Some(topology.client_core()),
        ..topology
    };
    let runs = [Durability::None, Durability::Os, Durability::Fsync]
        .into_iter()
        .flat_map(|d| Placement::ALL.map(|p| (d, p)));
    for (durability, asked) in runs {
        let on = if asked == Placement::AllHosted {
            joined_topology
        } else {
            topology
        };
        let (dir, config) = bench_config("throughput", workload, durability, asked, on);
        let (released, sink) = release_tracker();
        let mut p = pipeline::start(config, sink).expect("pipeline starts");
        let granted = p.topology().placement;
        let name = if granted == Placement::AllHosted {
            p.topology().pin_publisher();
            format!("{}/joined", durability.word())
        } else if asked == Placement::AllHosted {
            // M is not hosted here (fsync, or J and O have cores of their own).
            p.shutdown().expect("clean shutdown");
            let _ = std::fs::remove_dir_all(&dir);
            continue;
        } else if granted == Placement::Hosted {
            // Pinned where the gateway's poll loop would run.
            p.topology().pin_publisher();
            format!("{}/hosted", durability.word())
        } else if asked == Placement::Hosted {
            // J and O have cores of their own here: nothing to host.
            p.shutdown().expect("clean shutdown");
            let _ = std::fs::remove_dir_all(&dir);
            continue;
        } else {
            durability.word().to_string()
        };
        let mut offset = 0usize;
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    if offset + 10_000 > workload.commands.len() {
                        offset = 0; // ids repeat: the engine rejects duplicates, still work
                    }
                    let chunk = &workload.commands[offset..offset + 10_000];
                    offset += 10_000;
                    let start = Instant::now();
                    let mut last = 0;
                    for batch in chunk.chunks(100) {
                        last = p.publish_batch(0, batch).expect("publish");
                        p.poll();
                    }
                    // Threads: yield, not spin: on 2 cores this thread
                    // shares core 0 with J and O, and spinning would starve
                    // them. Hosted: this thread is J and O, so it polls.
                    // Acquire: pairs with the sink's Release store.
                    while released.load(Ordering::Acquire) < last {
                        if p.poll() == 0 {
                            std::thread::yield_now();
                        }
                    }
                    total += start.elapsed();
                }
                total
            })
        });
        p.shutdown().expect("clean shutdown");
        let _ = std::fs::remove_dir_all(&dir);
        unpin(&cores);
    }
    group.finish();
}

fn command_event(c: &mut Criterion, workload: &Workload) {
    let mut group = c.benchmark_group("command_event");
    group.sample_size(50);
    let cores = Topology::available_cores().expect("cores");
    // Every stage on this thread: the pipeline sees one core.
    let topology = Topology::fit(&cores[..1]);
    for durability in [Durability::None, Durability::Os] {
        for n in [1usize, 8] {
            let (dir, config) = bench_config(
                "command-event",
                workload,
                durability,
                Placement::Hosted,
                topology,
            );
            let (released, sink) = release_tracker();
            let mut p = pipeline::start(config, sink).expect("pipeline starts");
            assert_eq!(
                p.topology().placement,
                Placement::AllHosted,
                "one core: every stage is hosted"
            );
            p.topology().pin_publisher();
            let mut offset = 0usize;
            let name = format!("{}/joined/{n}", durability.word());
            group.bench_function(BenchmarkId::from_parameter(name), |b| {
                b.iter(|| {
                    if offset + n > workload.commands.len() {
                        offset = 0; // ids repeat: the engine rejects duplicates, still work
                    }
                    let batch = &workload.commands[offset..offset + n];
                    offset += n;
                    let last = p.publish_batch(0, batch).expect("publish");
                    // Acquire: pairs with the sink's Release store.
                    while released.load(Ordering::Acquire) < last {
                        p.poll();
                    }
                })
            });
            p.shutdown().expect("clean shutdown");
            let _ = std::fs::remove_dir_all(&dir);
            unpin(&cores);
        }
    }
    group.finish();
}

/// A journal of `workload` in a new directory, written through a pipeline
/// (durability `os`, no snapshots).
fn journal_of(name: &str, workload: &Workload) -> std::path::PathBuf {
    let dir = temp_dir(name);
    let mut config = PipelineConfig::new(&dir, workload.instruments.clone());
    config.durability = Durability::Os;
    config.snapshot_on_shutdown = false;
    let mut p = pipeline::start(config, |_: &Output| {}).expect("pipeline starts");
    for batch in workload.commands.chunks(1000) {
        p.publish_batch(0, batch).expect("publish");
    }
    p.shutdown().expect("clean shutdown");
    dir
}

/// Writes the snapshot of the state after the first `n` commands.
fn snapshot_at(dir: &std::path::Path, workload: &Workload, n: usize, config: &EngineConfig) {
    let mut engine = matching::Engine::new(config.clone()).expect("engine");
    for spec in &workload.instruments {
        engine.add_instrument(*spec).expect("instrument");
    }
    let mut discard = |_: matching::Event| {};
    for command in &workload.commands[..n] {
        engine.execute(command, &mut discard);
    }
    journal::write_snapshot(dir, &engine, n as u64).expect("snapshot");
}

/// What the gateway's missed-report recovery does with a span, reduced to
/// its journal part: the account's commands are picked out, the rest only
/// run (`report_replay.rs` also builds each report).
struct OneAccount {
    account: u32,
    reports: u64,
}

impl journal::SpanVisitor for OneAccount {
    fn base_order(&mut self, order: &matching::book::SnapshotOrder) {
        self.reports += u64::from(order.account == self.account);
    }
    fn command(
        &mut self,
        record: &journal::Record,
        events: &[matching::Event],
    ) -> std::ops::ControlFlow<()> {
        if let matching::Command::New { account, .. } = record.command
            && account == self.account
        {
            self.reports += events.len() as u64;
        }
        std::ops::ControlFlow::Continue(())
    }
}

/// Recovery time against journal length, with and without a snapshot, and
/// the journal part of a missed-report replay over the same spans.
fn recovery(c: &mut Criterion, lengths: &[usize]) {
    // Time the replay, not the setup: no prefaulting of the books.
    let engine_config = EngineConfig {
        prefault: false,
        ..PipelineConfig::new("unused", Vec::new()).engine
    };
    let mut group = c.benchmark_group("recovery");
    group.sample_size(10);
    for &n in lengths {
        let workload = generate(&WorkloadConfig {
            commands: n,
            resting: 10_000,
            ..WorkloadConfig::default()
        })
        .expect("valid workload");
        let dir = journal_of("recovery", &workload);
        let len = workload.commands.len() as u64;
        group.throughput(Throughput::Elements(len));
        group.bench_with_input(BenchmarkId::new("journal", len), &dir, |b, dir| {
            b.iter(|| black_box(journal::recover(dir, engine_config.clone()).expect("recovers")))
        });
        group.bench_with_input(BenchmarkId::new("history", len), &dir, |b, dir| {
            b.iter(|| {
                let mut one = OneAccount {
                    account: 1,
                    reports: 0,
                };
                journal::replay_span(dir, &engine_config, 0, len, &mut one).expect("replays");
                black_box(one.reports)
            })
        });
        // A snapshot 50,000 commands before the end: what `--snapshot-every`
        // bounds the replay to.
        let at = workload.commands.len().saturating_sub(SNAPSHOT_TAIL);
        snapshot_at(&dir, &workload, at, &engine_config);
        group.bench_with_input(BenchmarkId::new("snapshot", len), &dir, |b, dir| {
            b.iter(|| black_box(journal::recover(dir, engine_config.clone()).expect("recovers")))
        });
        let _ = std::fs::remove_dir_all(&dir);
    }
    group.finish();
}

/// Commands after the snapshot in `recovery/snapshot`.
const SNAPSHOT_TAIL: usize = 50_000;

fn benches(c: &mut Criterion) {
    ring_hop(c);
    let workload = stream();
    pipeline_throughput(c, &workload);
    command_event(c, &workload);
    recovery(c, &[200_000, 1_000_000]);
}

criterion_group! {
    name = pipeline_benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(1));
    targets = benches
}
criterion_main!(pipeline_benches);
