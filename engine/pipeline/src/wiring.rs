//! The one function that builds the pipeline (`wire`), and its two ways
//! in: `start` (recover or create the journal) and `resume` (an engine and
//! journal another pipeline handed over: `handover.rs`).

use std::sync::Arc;

use disruptor::{ProcessorSettings, build_single_producer};

use super::config::{PipelineConfig, PipelineError};
use super::doorbell::Doorbell;
use super::gate::DurableGate;
use super::handle::{Pipeline, ShutdownReport};
use super::handover::{Handback, Handover};
use super::health::Health;
use super::hosted::{Hosted, HostedMatching, HostedStages};
use super::journal_stage::JournalStage;
use super::matching_stage::{MatchingStage, Outbox};
use super::output_stage::{OutputSink, OutputStage};
use super::publisher::Publisher;
use super::replicator::ReleaseGate;
use super::slots::{Inbound, Output};
use super::snapshots::Snapshots;
use super::startup::{Started, from_handover, open_or_create};
use super::stats::PipelineStats;
use super::topology::Topology;
use matching::types::Side;

/// Starts the pipeline: recovers (or creates) the journal, then wires the
/// stages around the engine (`wire`).
pub fn start(
    config: PipelineConfig,
    sink: impl OutputSink + Send + 'static,
) -> Result<Pipeline, PipelineError> {
    check_rings(&config)?;
    // Cores checked, placement decided: once, here (`PipelineConfig::resolve`).
    let topology = config.resolve()?;
    let started = open_or_create(&config)?;
    wire(config, topology, started, sink)
}

/// Starts the pipeline on the engine and open journal another pipeline
/// handed over (`Pipeline::hand_over`): nothing to recover, nothing to
/// replay. Everything else (placement, threads, sink, replicator) is this
/// `config`'s, so a cluster node's follower pipeline becomes the gateway's.
/// The journal directory must be the same.
pub fn resume(
    config: PipelineConfig,
    handover: Handover,
    sink: impl OutputSink + Send + 'static,
) -> Result<Pipeline, PipelineError> {
    check_rings(&config)?;
    let topology = config.resolve()?;
    let started = from_handover(&config, handover)?;
    wire(config, topology, started, sink)
}

fn check_rings(config: &PipelineConfig) -> Result<(), PipelineError> {
    for (name, size) in [
        ("inbound", config.inbound_ring),
        ("outbound", config.outbound_ring),
    ] {
        if size < 64 || !size.is_power_of_two() {
            return Err(PipelineError::RingSize { name, size });
        }
    }
    Ok(())
}

/// Wires the stages around a started engine and journal:
///
/// ```text
///  Publisher ──▶ inbound ring ──┬──▶ J  journal: append; per batch commit
///  (gateway)    (Inbound slots) │        → DurableGate ─────────────┐
///                               │        (with a Replicator: batch → cluster,
///                               │         whose commit moves O's gate instead)
///                               └──▶ M  matching: execute            │
///                                       → outbound ring (Output) ──▶ O  output:
///                                                                       wait for gate,
///                                                                       → OutputSink
/// ```
///
/// J and M consume the inbound ring in parallel; M is the outbound ring's
/// only producer; O releases an event only when the gate covers its command.
/// Threads are pinned per `Topology` (printed by `Pipeline::topology`), and
/// every stage runs inside a panic guard that reports to `Health`. With
/// `Placement::Hosted` (J and O on the publisher's core, and the config
/// asks), J and O are pollers the publisher's thread drives (the
/// `Pipeline` owns them), and only M has a thread:
///
/// ```text
///  Publisher ─▶ inbound ring ─▶ M ─▶ outbound ring
///  (its thread also runs, in Pipeline::poll: J (inbound poller) then O
///   (outbound poller) → OutputSink)
/// ```
///
/// And when an in-process client is to have M's core (`Topology::guest`
/// there, as loadgen's on 2 cores), or on one core, M is a poller too and
/// one thread runs every stage (`Placement::AllHosted`):
///
/// ```text
///  Publisher ─▶ inbound ring ─▶ outbound ring
///  (Pipeline::poll: J, then M (inbound poller) → outbound, then O → OutputSink)
/// ```
fn wire(
    config: PipelineConfig,
    topology: Topology,
    started: Started,
    sink: impl OutputSink + Send + 'static,
) -> Result<Pipeline, PipelineError> {
    let placement = topology.placement;
    let health = Arc::new(Health::default());
    let handback = Arc::new(Handback::default());
    let gate = Arc::new(DurableGate::new(started.last_seq));
    // What O waits on: the journal's gate, or with a replicator the
    // cluster's commit, which only the replicator moves (replicator.rs).
    let release = match &config.replication {
        None => Arc::clone(&gate),
        Some(replicator) => {
            let release = Arc::new(DurableGate::new(started.last_seq));
            replicator.attach(ReleaseGate::new(Arc::clone(&release), Arc::clone(&health)));
            release
        }
    };
    let depth = started
        .engine
        .instruments()
        .filter_map(|spec| started.engine.book(spec.symbol))
        .map(|book| {
            (
                book.spec().symbol,
                book.depth_view(Side::Buy),
                book.depth_view(Side::Sell),
            )
        })
        .collect();
    // Before M takes the engine: who owns each order recovered.
    let mut live_orders = Vec::new();
    started.engine.for_each_order(|o| live_orders.push(o));
    let controls = started.engine.controls();

    // The doorbells the producers ring after publishing, so that a stage
    // asleep for want of work wakes (doorbell.rs); -1: nothing published.
    let inbound_bell = Doorbell::leak(-1);
    let outbound_bell = Doorbell::leak(-1);
    let o_wait = topology.wait_on(topology.output, outbound_bell);
    let j_wait = topology.wait_on(topology.journal, inbound_bell);
    let m_wait = topology.wait_on(topology.matching, inbound_bell);
    let stats = Arc::new(PipelineStats::default());
    stats.set_bells(inbound_bell, outbound_bell);
    let output_stage = {
        let (gate, health, stats) = (
            Arc::clone(&release),
            Arc::clone(&health),
            Arc::clone(&stats),
        );
        // Hosted in a cluster, O's gate may be moved by the very thread it
        // runs on (the leader's Raft step on the gateway's loop): it holds
        // rather than waits (output_stage.rs), at most a ring's worth.
        let hold = (placement.hosts_stages() && config.replication.is_some())
            .then_some(config.outbound_ring);
        move || {
            let stage = OutputStage::new(sink, gate, health, o_wait, stats);
            match hold {
                Some(limit) => stage.holding(limit),
                None => stage,
            }
        }
    };
    let journal_stage = {
        let (gate, health, writer) = (Arc::clone(&gate), Arc::clone(&health), started.writer);
        let stats = Arc::clone(&stats);
        let timed = config.durability == journal::Durability::Fsync;
        let replicator = config.replication.clone();
        let handback = Arc::clone(&handback);
        move || JournalStage::new(writer, gate, health, stats, timed, replicator, handback)
    };

    // O: the outbound ring's consumer.
    let outbound = build_single_producer(config.outbound_ring, Output::default, o_wait);
    let (outbound, o_poller) = if placement.hosts_stages() {
        let (poller, builder) = outbound.new_event_poller();
        (builder.build(), Some((poller, output_stage())))
    } else {
        let producer = outbound
            .pin_at_core(topology.output)
            .thread_name("output")
            .handle_events_and_state_with_wait_strategy(
                |stage: &mut OutputStage<_>, output: &Output, _, end_of_batch| {
                    stage.handle(output, end_of_batch)
                },
                output_stage,
                o_wait,
            )
            .build();
        (producer, None)
    };

    // M: the inbound ring's consumer beside J.
    let m_state = {
        let health = Arc::clone(&health);
        let outbox = Outbox::new(
            outbound,
            config.outbound_ring.min(4096),
            Arc::clone(&health),
            m_wait,
            placement.hosts_matching(),
            outbound_bell,
        );
        let snapshot_dir = config
            .snapshot_on_shutdown
            .then(|| config.journal_dir.clone());
        let (engine, last_seq) = (started.engine, started.last_seq);
        let interval_ns = config
            .snapshot_interval
            .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        let snapshots = match (config.snapshot_every, interval_ns) {
            (None, None) => None,
            (every, interval_ns) => Some(
                Snapshots::start(
                    config.journal_dir.clone(),
                    every,
                    interval_ns,
                    config.retain_segments.clone(),
                    Arc::clone(&gate),
                    last_seq,
                    &engine,
                )
                .map_err(PipelineError::Snapshots)?,
            ),
        };
        let stats = Arc::clone(&stats);
        let handback = Arc::clone(&handback);
        move || {
            MatchingStage::new(
                engine,
                outbox,
                health,
                last_seq,
                snapshot_dir,
                snapshots,
                stats,
                handback,
            )
        }
    };
    let m_step = |stage: &mut MatchingStage, slot: &Inbound, _, end_of_batch| {
        stage.handle(slot, end_of_batch)
    };
    let inbound = build_single_producer(config.inbound_ring, Inbound::default, j_wait);
    let (inbound, hosted) = match o_poller {
        Some((o_poller, output_stage)) => {
            let (j_poller, builder) = inbound.new_event_poller();
            let (producer, matching) = if placement.hosts_matching() {
                let (m_poller, builder) = builder.new_event_poller();
                let matching = HostedMatching {
                    poller: m_poller,
                    stage: m_state(),
                    outbound_ring: config.outbound_ring as u64,
                };
                (builder.build(), Some(matching))
            } else {
                let producer = builder
                    .pin_at_core(topology.matching)
                    .thread_name("matching")
                    .handle_events_and_state_with_wait_strategy(m_step, m_state, m_wait)
                    .build();
                (producer, None)
            };
            let stages: Box<dyn HostedStages> = Box::new(Hosted::new(
                j_poller,
                journal_stage(),
                matching,
                o_poller,
                output_stage,
                started.last_seq,
            ));
            (producer, Some(stages))
        }
        None => {
            let producer = inbound
                .pin_at_core(topology.journal)
                .thread_name("journal")
                .handle_events_and_state_with_wait_strategy(
                    |stage: &mut JournalStage, slot: &Inbound, _, end_of_batch| {
                        stage.handle(slot, end_of_batch)
                    },
                    journal_stage,
                    j_wait,
                )
                .pin_at_core(topology.matching)
                .thread_name("matching")
                .handle_events_and_state_with_wait_strategy(m_step, m_state, m_wait)
                .build();
            (producer, None)
        }
    };

    let p_wait = topology.wait_on(topology.publisher, inbound_bell);
    let publisher = Publisher::new(
        inbound,
        config.inbound_ring,
        started.last_seq + 1,
        Arc::clone(&health),
        inbound_bell,
    );
    Ok(Pipeline::new(
        publisher,
        hosted,
        p_wait,
        outbound_bell,
        health,
        gate,
        topology,
        started.recovered,
        live_orders,
        controls,
        depth,
        ShutdownReport::default(),
        stats,
        handback,
    ))
}
