//! A gateway as one node of a Raft cluster: follow, lead, and when the
//! lead is lost, start again from what the cluster committed.
//!
//! ```text
//!            start: cut the journal back to the Raft log's commit
//!              │
//!              ▼
//!   ┌──▶ follow: committed batches ─▶ own pipeline (J, M, O; no clients)
//!   │          client address answers NotLeader(leader's address)
//!   │          │ Raft: this node leads, and holds every committed command
//!   │          │ (the engine and open journal pass to the gateway as they are)
//!   │          ▼
//!   │    lead: the gateway, its J handing batches to Raft, its O released
//!   │          by the majority's commit (durability `quorum`)
//!   │          │ deposed (a newer leader, or cut off from the majority)
//!   └──────────┘
//! ```
//!
//! Taking the lead hands the follower's engine and open journal to the
//! gateway (`pipeline::Pipeline::hand_over`): nothing is recovered or
//! replayed, so order entry opens as soon as the election is won.
//!
//! Leading ends only by restarting: as leader the engine ran commands
//! before the cluster committed them, and an engine cannot un-run one, so
//! a deposed node drops its engine and its Raft thread, cuts its journal
//! back to the commit, and follows again from there. The node's state
//! machine is the pipeline, so that is all a restart is. `docs/replication.md`
//! has the design and its measurements.

mod follower;
mod raft_on_loop;
mod redirect;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use replication::{Membership, Node, NodeConfig, TcpTransport, Transport};
use tracing::{info, warn};

use crate::config::GatewayConfig;
use crate::server::{Gateway, GatewayError, LoopGuest};
use follower::Followed;
use raft_on_loop::{PolledRaft, RaftOnLoop};
use redirect::Redirect;

/// A node's place in its cluster.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    pub membership: Membership,
    /// This node's id in the cluster file.
    pub node: u64,
    /// Where this node's Raft log lives.
    pub raft_dir: PathBuf,
    /// Bytes of one of its segment files.
    pub raft_segment_bytes: u64,
}

/// Why a cluster node stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("{0}")]
    Setup(#[from] replication::ReplicationError),
    #[error("{0}")]
    Gateway(#[from] GatewayError),
    #[error("{0}")]
    Pipeline(#[from] pipeline::PipelineError),
    #[error("journal: {0}")]
    Journal(#[from] journal::JournalError),
    #[error(
        "cannot answer clients on {addr} while following: {source} (is another process \
         there? check this node's `client` address in the cluster file)"
    )]
    Redirect {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("replication failed: {0}")]
    Replication(String),
    #[error(
        "the committed history does not follow this node's journal: command {found} came \
         where {expected} was due (the journal is not this cluster's: start the node on an \
         empty journal and Raft log directory to rebuild it from the others)"
    )]
    Diverged { expected: u64, found: u64 },
}

/// What a node did in one term of leadership (or none).
enum Led {
    Stopped,
    Deposed,
}

/// Runs this node until `stop` is set: follows, leads when elected, and
/// restarts from the committed history whenever it loses the lead.
/// `config.listen` is ignored: the client address is the cluster file's.
pub fn run_node(
    config: &GatewayConfig,
    cluster: &ClusterConfig,
    stop: &Arc<AtomicBool>,
) -> Result<(), ClusterError> {
    let me = *cluster
        .membership
        .member(cluster.node)
        .map_err(replication::ReplicationError::from)?;
    loop {
        let journal_dir = &config.pipeline.journal_dir;
        let committed = replication::agreed_seq(&cluster.raft_dir, journal_dir)?;
        if journal::exists(journal_dir) {
            let cut = journal::truncate_after(journal_dir, committed)?;
            if cut.records > 0 || cut.snapshots > 0 {
                warn!(
                    "node {}: cut {} commands after {committed} (run while leading, never \
                     committed as they are) and {} snapshots from {}",
                    me.id,
                    cut.records,
                    cut.snapshots,
                    journal_dir.display()
                );
            }
        }
        let pipeline = follower::start_pipeline(&config.pipeline)?;
        let engine_seq = pipeline.durable_seq();
        let node_config = NodeConfig {
            id: me.id,
            membership: cluster.membership.clone(),
            dir: cluster.raft_dir.clone(),
            segment_bytes: cluster.raft_segment_bytes,
            durability: config.pipeline.durability,
            engine_seq,
            journal_dir: Some(journal_dir.clone()),
        };
        let membership = cluster.membership.clone();
        let (mut node, committed_rx) = Node::start(node_config, move |_inbox| {
            Ok(Box::new(TcpTransport::start(me.id, &membership)?) as Box<dyn Transport>)
        })?;
        info!(
            "node {} following (raft {}, engine at command {engine_seq}, clients on {} get \
             NotLeader)",
            me.id, me.raft, me.client
        );
        let redirect = {
            let (watch, membership) = (node.watch(), cluster.membership.clone());
            let lookup: redirect::LeaderLookup = Arc::new(move || {
                let id = watch.leader();
                membership.member(id).ok().map(|m| (id, m.client))
            });
            Redirect::start(me.client, lookup).map_err(|source| ClusterError::Redirect {
                addr: me.client,
                source,
            })?
        };
        let followed =
            follower::follow(pipeline, &config.pipeline, &mut node, &committed_rx, stop)?;
        drop(redirect);
        let (handover, draining, raft) = match followed {
            Followed::Stopped => return Ok(()),
            Followed::MayLead(handover, draining, raft) => (*handover, draining, raft),
        };
        match lead(config, &me, &mut node, handover, draining, raft, stop)? {
            Led::Stopped => return Ok(()),
            Led::Deposed => {
                warn!(
                    "node {} lost the lead (term {}): restarting from the committed history",
                    me.id,
                    node.term()
                );
            }
        }
        // Dropping the node stops its Raft thread and closes its sockets.
        drop(node);
    }
}

/// How often the leading node looks at its Raft state and the gateway.
/// (Only for restarting: a deposed node's output stops at once, from the
/// Raft thread, whatever this is.)
const WATCH: Duration = Duration::from_millis(20);

/// How long a leader asked to stop waits for the cluster to commit what it
/// has sequenced before it gives up on releasing it.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// Serves clients as leader until deposed or stopped.
fn lead(
    config: &GatewayConfig,
    me: &replication::Member,
    node: &mut Node,
    handover: pipeline::Handover,
    draining: Duration,
    raft: Option<PolledRaft>,
    stop: &AtomicBool,
) -> Result<Led, ClusterError> {
    let started = Instant::now();
    let mut config = config.clone();
    config.listen = me.client;
    config.pipeline.replication = Some(node.replicator());
    let gateway_stop = Arc::new(AtomicBool::new(false));
    let engine_seq = handover.last_seq();
    // The Raft step goes where J goes: onto the poll loop when J runs
    // there (raft_on_loop.rs), else onto a thread of its own.
    let guest = match raft {
        Some(raft) if Gateway::stages_on_loop(&config)? => {
            Some(Box::new(RaftOnLoop(raft)) as Box<dyn LoopGuest>)
        }
        Some(raft) => {
            node.resume(raft.into_inner())?;
            None
        }
        None => None,
    };
    let raft_on = if guest.is_some() {
        "the poll loop"
    } else {
        "its own thread"
    };
    let gateway = Gateway::take_over(config, Arc::clone(&gateway_stop), handover, guest)?;
    node.wake_with(gateway.wake_hook());
    info!(
        "node {} leads (term {}): serving clients on {} from command {engine_seq}, Raft \
         stepped on {raft_on} ({} µs to open order entry: {} µs draining the follower's \
         pipeline, {} µs starting the gateway on its engine)",
        me.id,
        node.term(),
        gateway.local_addr(),
        (draining + started.elapsed()).as_micros(),
        draining.as_micros(),
        started.elapsed().as_micros()
    );
    let led = loop {
        std::thread::sleep(WATCH);
        if stop.load(Ordering::Relaxed) {
            break Led::Stopped;
        }
        if node.deposed() || gateway.is_finished() {
            break Led::Deposed;
        }
    };
    let done = AtomicBool::new(false);
    let stopped = std::thread::scope(|scope| {
        if matches!(led, Led::Stopped) {
            // A clean stop releases what the cluster commits meanwhile; a
            // leader cut off from the majority would wait for ever, so
            // after a grace it gives up (what it holds was never released).
            scope.spawn(|| {
                let deadline = Instant::now() + STOP_GRACE;
                while !done.load(Ordering::Relaxed) && Instant::now() < deadline {
                    std::thread::sleep(WATCH);
                }
                if !done.load(Ordering::Relaxed) {
                    node.abandon("stopped without a majority to commit the last commands".into());
                }
            });
        }
        let result = gateway.shutdown();
        done.store(true, Ordering::Relaxed);
        result
    });
    if let Some(why) = node.failure() {
        return Err(ClusterError::Replication(why));
    }
    match stopped {
        Ok(_) => {}
        // The pipeline was abandoned (deposed, or a stop without a
        // majority): expected, and nothing uncommitted left.
        Err(GatewayError::Pipeline(pipeline::PipelineError::StageFailed(f)))
            if f.stage == pipeline::REPLICATION_STAGE =>
        {
            info!("node {}: {}", me.id, f.message);
        }
        Err(e) => return Err(e.into()),
    }
    Ok(led)
}
