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

/// Where J sends each batch, and who moves the output gate.
pub trait Replicator: Send + Sync + std::fmt::Debug {
    /// Once, when the pipeline starts: the gate O waits on, starting at the
    /// last command recovered. Only the replicator publishes to it.
    fn attach(&self, release: Arc<DurableGate>);

    /// J, at the end of each batch: the batch's commands `first..=last` as
    /// journal records, appended to this node's journal already. Must not
    /// block: J is on the hot path.
    fn replicate(&self, records: Vec<u8>, first: u64, last: u64);
}
