//! The seam a replicated log plugs into (a Raft cluster: the `replication` crate).
//!
//! Without a replicator, O releases an event once J has made its command
//! durable on this machine. With one, J also hands every batch it journals
//! to the replicator, and O waits on a second gate that only the
//! replicator moves: the sequence a majority of the cluster holds
//! ("committed"). So output gating generalises from "locally durable" to
//! "committed", and M still runs ahead of both, as it does of the journal.
//!
//! The pipeline knows nothing of Raft: a batch is the journal's own record
//! encoding (`journal::record`), which a follower decodes and publishes
//! into its pipeline with the same sequences and ingest times.

use std::sync::Arc;

use super::gate::DurableGate;
use super::health::Health;

/// The stage name a pipeline fails with when its replicator abandons it.
pub const STAGE: &str = "replication";

/// Where J sends each batch, and who moves the output gate.
pub trait Replicator: Send + Sync + std::fmt::Debug {
    /// Once, when the pipeline starts: the gate O waits on, starting at the
    /// last command recovered. Only the replicator publishes to it.
    fn attach(&self, release: ReleaseGate);

    /// J, at the end of each batch: the batch's commands `first..=last` as
    /// journal records, appended to this node's journal already. Must not
    /// block: J is on the hot path.
    fn replicate(&self, records: Vec<u8>, first: u64, last: u64);
}

/// The output gate as a replicator holds it: it moves it, or gives up.
#[derive(Debug, Clone)]
pub struct ReleaseGate {
    gate: Arc<DurableGate>,
    health: Arc<Health>,
}

impl ReleaseGate {
    pub(crate) fn new(gate: Arc<DurableGate>, health: Arc<Health>) -> Self {
        ReleaseGate { gate, health }
    }

    /// A gate with no pipeline behind it, for tests and tools that drive a
    /// replicator themselves: starts at `released`.
    pub fn detached(released: u64) -> Self {
        ReleaseGate::new(
            Arc::new(DurableGate::new(released)),
            Arc::new(Health::default()),
        )
    }

    /// `true` once `abandon` was called.
    pub fn abandoned(&self) -> bool {
        self.health.failed()
    }

    /// Every command up to `seq` is committed: O may release its events.
    pub fn publish(&self, seq: u64) {
        self.gate.publish(seq);
    }

    /// The highest sequence released so far.
    pub fn released(&self) -> u64 {
        self.gate.durable()
    }

    /// Nothing more will be committed through this node (it lost the lead):
    /// the pipeline fails with stage `replication`, O releases nothing
    /// more, and shutting it down returns that failure instead of waiting
    /// for a commit that will not come.
    pub fn abandon(&self, why: String) {
        self.health.fail(STAGE, why);
    }
}
