//! The leader's Raft step as a guest of the gateway's poll loop.
//!
//! Where J runs on the loop (durability `os`: its write is a `write(2)`),
//! the step runs there too: J's batch is proposed and sent to the peers in
//! the turn J wrote it, and the peers' acknowledgements wake the loop
//! itself, which releases the reports they commit in the same turn. Two
//! thread hand-offs fewer per commit than with a Raft thread between them
//! (docs/replication.md, "Measurements"). With `fsync` J has a thread of
//! its own, so that no fdatasync holds the loop, and the Raft step, which
//! fsyncs the node's own log, keeps one too.

use std::io;
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use replication::HostedRaft;

use crate::server::LoopGuest;

/// `replication::HostedRaft`, registered by its transport's epoll fd.
pub(crate) struct RaftOnLoop(pub HostedRaft);

impl LoopGuest for RaftOnLoop {
    fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        registry.register(&mut SourceFd(&self.0.raw_fd()), token, Interest::READABLE)
    }

    fn turn(&mut self, woken: bool) -> Duration {
        self.0.turn(woken)
    }
}
