//! The Raft step on the thread that uses what it commits, instead of a
//! Raft thread of its own (`replication::HostedRaft`).
//!
//! - A follower's loop (`follower.rs`) waits on the transport itself
//!   (`PolledRaft`): an append is acknowledged, and a committed batch
//!   reaches the engine, with no thread woken in between.
//! - A leader whose J runs on the gateway's poll loop (durability `os`:
//!   J's write is a `write(2)`) runs the step there (`RaftOnLoop`, a
//!   `LoopGuest`): J's batch is proposed and sent to the peers in the turn
//!   J wrote it, and the peers' acknowledgements wake the loop itself,
//!   which releases the reports they commit in the same turn.
//!
//! Each removes thread hand-offs from every commit: wake-ups that on a
//! small or shared machine are each a wait for a core (docs/replication.md,
//! "Measurements"). With `fsync` a leader's J has a thread of its own, so
//! that no fdatasync holds the poll loop, and the Raft step, which fsyncs
//! the node's own log, gets one back (`Node::resume`).

use std::io;
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Registry, Token};
use replication::HostedRaft;

use crate::server::LoopGuest;

/// `HostedRaft` as a guest of the gateway's poll loop: registered there,
/// and in a poll of its own for `LoopGuest::wait`.
pub(crate) struct RaftOnLoop(pub PolledRaft);

impl LoopGuest for RaftOnLoop {
    fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        registry.register(
            &mut SourceFd(&self.0.raft.raw_fd()),
            token,
            Interest::READABLE,
        )
    }

    fn turn(&mut self, woken: bool) -> Duration {
        self.0.turn(woken)
    }

    fn wait(&mut self, at_most: Duration) -> Duration {
        self.0.step(at_most)
    }
}

/// `HostedRaft` with a poll of its own: what a follower's loop waits on,
/// and a leader's poll loop when it must wait for the commit alone.
pub(crate) struct PolledRaft {
    poll: Poll,
    events: Events,
    raft: HostedRaft,
    /// How long the last turn said the next may wait.
    due: Duration,
}

impl PolledRaft {
    pub fn new(raft: HostedRaft) -> io::Result<Self> {
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut SourceFd(&raft.raw_fd()), Token(0), Interest::READABLE)?;
        Ok(PolledRaft {
            poll,
            events: Events::with_capacity(4),
            raft,
            // Registering reports what is already waiting: the first wait
            // returns with it.
            due: Duration::ZERO,
        })
    }

    /// Waits up to `at_most` (less if Raft's next tick is sooner) for
    /// input, then turns the step; returns as `turn` does.
    pub fn step(&mut self, at_most: Duration) -> Duration {
        let woken = match self
            .poll
            .poll(&mut self.events, Some(at_most.min(self.due)))
        {
            Ok(()) => !self.events.is_empty(),
            // Interrupted, or worse: look at everything.
            Err(_) => true,
        };
        self.turn(woken)
    }

    /// Turns the step without waiting (`HostedRaft::turn`).
    pub fn turn(&mut self, woken: bool) -> Duration {
        self.due = self.raft.turn(woken);
        self.due
    }

    /// The step, for a thread of its own (when the node leads with `fsync`).
    pub fn into_inner(self) -> HostedRaft {
        self.raft
    }
}
