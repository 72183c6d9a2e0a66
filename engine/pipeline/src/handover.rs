//! A running engine handed from one pipeline to the next, without closing
//! the journal or replaying it.
//!
//! A cluster node follows with a pipeline of its own (one thread, nobody
//! to answer) and, once elected, leads with the gateway's (its threads,
//! its reply ring, its replicator). Closing the first and recovering the
//! second from the journal replays every command since the last snapshot
//! and fsyncs a journal the same process is about to append to: most of a
//! failover once the election is won (docs/replication.md, "Measurements").
//! Instead the first pipeline drains, and its stages give back what they
//! own instead of closing it: M its engine, J its open journal writer.
//! The second pipeline starts on them (`pipeline::resume`) exactly as it
//! would on a recovered engine.
//!
//! The stages run on threads of their own or on the publisher's, and give
//! their parts back as they are dropped; the handback is the one place
//! they leave them. A mutex, taken once per stage at the end of a
//! pipeline's life, never while it runs.

use std::path::Path;
use std::sync::Mutex;

use journal::JournalWriter;
use matching::engine::Engine;

/// What a drained pipeline hands to the next (`Pipeline::hand_over`,
/// `pipeline::resume`): the engine, with every command up to `last_seq`
/// executed, and the journal writer, with every one of them appended.
pub struct Handover {
    pub(crate) engine: Engine,
    pub(crate) writer: JournalWriter,
    pub(crate) last_seq: u64,
}

impl Handover {
    /// The last command the engine executed and the journal holds.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// The journal's directory.
    pub fn journal_dir(&self) -> &Path {
        self.writer.dir()
    }
}

impl std::fmt::Debug for Handover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handover")
            .field("last_seq", &self.last_seq)
            .field("journal", &self.writer.dir())
            .finish_non_exhaustive()
    }
}

/// Where the stages leave their parts when a hand-over is asked for.
#[derive(Default)]
pub(crate) struct Handback(Mutex<Parts>);

#[derive(Default)]
struct Parts {
    wanted: bool,
    engine: Option<Engine>,
    writer: Option<JournalWriter>,
}

impl Handback {
    fn parts(&self) -> std::sync::MutexGuard<'_, Parts> {
        // A stage that panicked while holding the lock left nothing half
        // done in it: each field is set in one move.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The pipeline is about to stop: its stages give their parts back
    /// instead of closing them.
    pub fn request(&self) {
        self.parts().wanted = true;
    }

    /// Whether the stages should give their parts back as they stop.
    pub fn wanted(&self) -> bool {
        self.parts().wanted
    }

    /// M's engine, as M stops.
    pub fn give_engine(&self, engine: Engine) {
        self.parts().engine = Some(engine);
    }

    /// J's writer, as J stops.
    pub fn give_writer(&self, writer: JournalWriter) {
        self.parts().writer = Some(writer);
    }

    /// What the stages gave back: both parts, or `None` if either did not
    /// come (a stage failed first).
    pub fn take(&self) -> Option<(Engine, JournalWriter)> {
        let mut parts = self.parts();
        match (parts.engine.take(), parts.writer.take()) {
            (Some(engine), Some(writer)) => Some((engine, writer)),
            _ => None,
        }
    }
}
