//! Work that shares the poll loop's thread without being the gateway's:
//! a cluster leader's Raft step (`replication::HostedRaft`).
//!
//! With J and O hosted on the loop, a batch J hands to Raft and the
//! commit that releases its reports would otherwise cross a thread twice
//! (J → Raft thread → loop): each crossing a wake-up, and on a small or
//! shared machine a wait for a core. Run on the loop, the step proposes
//! the batch in the same turn J wrote it, and the majority's answer is
//! one more readable fd in the loop's own poll.

use std::io;
use std::time::Duration;

use mio::{Registry, Token};

/// What the loop runs besides its sessions and stages.
pub trait LoopGuest: Send {
    /// Registers whatever signals its input, readable, under `token`.
    fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()>;

    /// Does what is due. `woken`: its registered source fired since the
    /// last call (otherwise only what this thread handed it is new).
    /// Returns how long the loop may sleep before the next call: zero when
    /// it released output the loop must now send.
    fn turn(&mut self, woken: bool) -> Duration;

    /// Waits up to `at_most` for its own source alone, then turns, and
    /// returns as `turn` does. The loop calls this instead of its poll
    /// while too much of its output waits on the guest (`poll_loop.rs`,
    /// `UNCOMMITTED`): it reads no more orders until the guest catches up.
    fn wait(&mut self, at_most: Duration) -> Duration;
}
