//! What can go wrong starting or running a replica.

use std::path::PathBuf;

/// Why a replica could not start, or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReplicationError {
    #[error("{0}")]
    Membership(#[from] crate::membership::MembershipError),
    #[error("raft log {path}: {message}")]
    Log { path: PathBuf, message: String },
    #[error("raft: {0}")]
    Raft(#[from] raft::Error),
    #[error(
        "cannot listen for replication on {addr}: {source} (is another node running there? \
         check this node's `raft` address in the cluster file)"
    )]
    Listen {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("journal: {0}")]
    Journal(#[from] journal::JournalError),
    #[error("cannot start the replication thread: {0}")]
    Thread(#[source] std::io::Error),
}
