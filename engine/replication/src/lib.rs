//! The command log replicated with Raft: three nodes, one sequence.
//!
//! The leader's gateway sequences commands as a single node does; its
//! journal stage (J) hands each batch to this crate (`pipeline::Replicator`),
//! which makes it one Raft log entry (`batch`). A majority's commit moves
//! the gate the output stage (O) waits on, so no report leaves for a
//! command a later leader could lack. Followers apply committed batches
//! through their own pipelines, so every node holds the same books.
//!
//! The files: `membership` (the cluster file), `log_store` (the node's
//! durable Raft log), `log_segments` (its files), `transport` (TCP
//! between nodes; an in-process network with faults for tests), `node`
//! (the step that drives raft-rs, on a thread of its own or hosted by the
//! owner's loop), `batch` (an
//! entry's data), `snapshot` (a Raft snapshot's data: an engine snapshot
//! and the records after it), `snapshot_writer` (compaction's file work,
//! off the loop that commits), `logger` (raft-rs's logs into `tracing`).
//! docs/replication.md explains the design and its measurements.

mod batch;
mod error;
mod log_segments;
mod log_store;
mod logger;
pub mod membership;
mod node;
mod snapshot;
mod snapshot_writer;
pub mod transport;

pub use batch::{encode as encode_batch, records as batch_records, span as batch_span};
pub use error::ReplicationError;
pub use log_segments::{MIN_SEGMENT_BYTES, SEGMENT_BYTES};
pub use log_store::LogStore;
pub use membership::{Member, Membership, MembershipError};
pub use node::{Committed, HostedRaft, Input, LeaderWatch, Node, NodeConfig, agreed_seq};
pub use transport::{LocalNet, TcpTransport, Transport};
