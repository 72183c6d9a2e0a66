//! A follower's engine: committed batches published into a pipeline of its
//! own, so that it holds the same books as the leader, command for command.
//! The loop that publishes them also runs the node's Raft step
//! (raft_on_loop.rs): one thread takes an append off the socket,
//! acknowledges it, and applies what it commits.
//!
//! The pipeline is the one a leader runs (journal, matching, output), with
//! nobody to send output to: a follower serves no clients. It stops when
//! the node may lead (Raft says it leads and has handed over every
//! committed batch), and hands its engine and open journal to the gateway
//! that starts next (`pipeline::Pipeline::hand_over`): order entry opens
//! on the books as they stand, with nothing recovered or replayed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

use pipeline::{Handover, Output, Pipeline, PipelineConfig, Placement, Topology};
use replication::{Committed, Node};

use super::ClusterError;
use super::raft_on_loop::PolledRaft;

/// The longest the loop waits before looking at the node's state again.
/// With the Raft step on this loop (the TCP transport), Raft's tick
/// (10 ms) comes sooner, and an idle follower costs those wake-ups only
/// (docs/replication.md has the idle figure). Without it, how long the
/// loop waits for a committed batch: it bounds how late a follower
/// notices it may lead.
const TURN: Duration = Duration::from_millis(20);

/// How following ended.
pub(crate) enum Followed {
    /// The node leads, and the engine and journal handed over hold every
    /// committed command (draining the pipeline took this long). The Raft
    /// step, if this loop ran it, goes on to the leader's loop or thread.
    MayLead(Box<Handover>, Duration, Option<PolledRaft>),
    /// Asked to stop.
    Stopped,
}

/// Starts the follower's pipeline on the node's journal: its last sequence
/// is what the node's engine holds. One thread (this loop's) runs J, M and
/// O, on the core the leader's gateway thread would have: a follower has
/// no clients to answer, and on a machine shared by several nodes every
/// thread woken per batch is CPU taken from the leader (with `fsync`, J
/// keeps a thread of its own, so no fdatasync holds the loop).
pub(crate) fn start_pipeline(config: &PipelineConfig) -> Result<Pipeline, ClusterError> {
    let mut config = config.clone();
    config.replication = None;
    // No snapshot when it stops: it stops when the node stops or is
    // elected (then its engine goes to the gateway as it is), and writing
    // the books out would only hold either up (a restart replays from the
    // last periodic snapshot instead).
    config.snapshot_on_shutdown = false;
    let publisher = config
        .resolve()
        .map_err(pipeline::PipelineError::from)?
        .publisher;
    let mut one_core = Topology::fit(&[publisher]);
    one_core.guest = None;
    config.topology = Some(one_core);
    config.placement = Placement::AllHosted;
    Ok(pipeline::start(config, |_: &Output| {})?)
}

/// Publishes committed batches until the node may lead, or `stop`.
/// This loop runs the node's Raft step too (raft_on_loop.rs), where the
/// transport allows (`Node::host`; otherwise the Raft thread hands batches
/// over through `committed` as they commit).
pub(crate) fn follow(
    mut pipeline: Pipeline,
    config: &PipelineConfig,
    node: &mut Node,
    committed: &Receiver<Committed>,
    stop: &AtomicBool,
) -> Result<Followed, ClusterError> {
    let mut raft = match node.host() {
        Some(raft) => Some(PolledRaft::new(raft).map_err(|e| {
            ClusterError::Replication(format!("cannot poll the Raft transport: {e}"))
        })?),
        None => None,
    };
    let may_lead = loop {
        if stop.load(Ordering::Relaxed) {
            break false;
        }
        if let Some(why) = node.failure() {
            return Err(ClusterError::Replication(why));
        }
        if let Some(raft) = &mut raft {
            raft.step(TURN);
        }
        // Read before draining: every batch handed over before `can_lead`
        // turned true is in the channel by the time it is seen true.
        let may_lead = node.can_lead();
        let next = match raft {
            // The step just ran here: take what it handed over, no waiting.
            Some(_) => committed.try_recv().map_err(|e| match e {
                TryRecvError::Empty => RecvTimeoutError::Timeout,
                TryRecvError::Disconnected => RecvTimeoutError::Disconnected,
            }),
            None => committed.recv_timeout(TURN),
        };
        match next {
            Ok(first) => {
                for item in std::iter::once(first).chain(committed.try_iter()) {
                    pipeline = match item {
                        Committed::Batch { data, first, last } => {
                            apply(&mut pipeline, &data, first, last)?;
                            pipeline
                        }
                        Committed::Snapshot {
                            snapshot_seq,
                            engine,
                            tail,
                            last,
                        } => install(pipeline, config, snapshot_seq, &engine, &tail, last)?,
                    };
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                if may_lead {
                    break true;
                }
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(ClusterError::Replication(
                    node.failure()
                        .unwrap_or_else(|| "the raft thread stopped".into()),
                ));
            }
        }
        pipeline.poll();
    };
    if !may_lead {
        let report = pipeline.shutdown()?;
        tracing::debug!(?report, "follower pipeline stopped");
        return Ok(Followed::Stopped);
    }
    let draining = Instant::now();
    let handover = pipeline.hand_over()?;
    Ok(Followed::MayLead(
        Box::new(handover),
        draining.elapsed(),
        raft,
    ))
}

/// The leader's snapshot replaces this engine's state: the pipeline
/// stops, the journal takes the snapshot and the records after it, and a
/// new pipeline recovers from them.
fn install(
    pipeline: Pipeline,
    config: &PipelineConfig,
    snapshot_seq: u64,
    engine: &[u8],
    tail: &[u8],
    last: u64,
) -> Result<Pipeline, ClusterError> {
    let from = pipeline.shutdown()?.last_seq;
    let mut options = config.journal.clone();
    options.durability = config.durability;
    journal::install_snapshot(&config.journal_dir, snapshot_seq, engine, tail, options)?;
    tracing::info!(
        "installed the leader's snapshot: engine at command {last} (was {from}; \
         snapshot at {snapshot_seq} and {} commands after it)",
        last - snapshot_seq
    );
    start_pipeline(config)
}

/// Publishes a batch's commands past the engine's last, with the leader's
/// sequences and ingest times.
fn apply(pipeline: &mut Pipeline, data: &[u8], first: u64, last: u64) -> Result<(), ClusterError> {
    for record in replication::batch_records(data) {
        let record = record.map_err(|problem| {
            ClusterError::Replication(format!(
                "committed batch {first}..={last} does not decode: {problem}"
            ))
        })?;
        let next = pipeline.publisher().next_seq();
        if record.seq < next {
            continue;
        }
        if record.seq != next {
            return Err(ClusterError::Diverged {
                expected: next,
                found: record.seq,
            });
        }
        pipeline.publish(record.ts, &record.command)?;
    }
    Ok(())
}
