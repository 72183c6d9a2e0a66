//! A follower's engine: committed batches published into a pipeline of its
//! own, so that it holds the same books as the leader, command for command.
//!
//! The pipeline is the one a leader runs (journal, matching, output), with
//! nobody to send output to: a follower serves no clients. It stops when
//! the node may lead (Raft says it leads and has handed over every
//! committed batch): the journal is then closed whole, and the gateway that
//! starts next recovers from it like any restart.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use pipeline::{Output, Pipeline, PipelineConfig, Placement, Topology};
use replication::{Committed, Node};

use super::ClusterError;

/// How long the loop waits for a committed batch before looking at the
/// node's state again: bounds how late a follower notices it may lead
/// (20 ms of a failover's 1.3-1.6 s), and is what an idle follower costs
/// (50 wake-ups a second; with the Raft thread's ticks, about 0.005 cores).
const TURN: Duration = Duration::from_millis(20);

/// How following ended.
pub(crate) enum Followed {
    /// The node leads and its journal holds every committed command
    /// (closing the pipeline took this long).
    MayLead(std::time::Duration),
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
    // No snapshot when it stops: it stops to hand its journal to the
    // gateway as the node is elected, and writing the books out then would
    // hold up order entry (recovery replays from the last periodic
    // snapshot instead: docs/replication.md, "Failover").
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
pub(crate) fn follow(
    mut pipeline: Pipeline,
    config: &PipelineConfig,
    node: &Node,
    committed: &Receiver<Committed>,
    stop: &AtomicBool,
) -> Result<Followed, ClusterError> {
    let outcome = loop {
        if stop.load(Ordering::Relaxed) {
            break Followed::Stopped;
        }
        if let Some(why) = node.failure() {
            return Err(ClusterError::Replication(why));
        }
        // Read before draining: every batch handed over before `can_lead`
        // turned true is in the channel by the time it is seen true.
        let may_lead = node.can_lead();
        match committed.recv_timeout(TURN) {
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
                    break Followed::MayLead(std::time::Duration::ZERO);
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
    let closing = std::time::Instant::now();
    let report = pipeline.shutdown()?;
    tracing::debug!(?report, "follower pipeline stopped");
    Ok(match outcome {
        Followed::MayLead(_) => Followed::MayLead(closing.elapsed()),
        stopped => stopped,
    })
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
