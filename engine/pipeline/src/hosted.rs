//! J and O (and, for an in-process client, M) on the publisher's thread:
//! the same stages, driven by polling.
//!
//! When J and O would share the publisher's core anyway (2 cores: M has the
//! other), running them as threads buys no parallelism, only hand-offs:
//! every command would wait for the scheduler to switch from the publisher
//! to J, then to O, then back. Hosted, they are `EventPoller`s of the same
//! two rings, and the publisher's thread drives them in `poll`, between
//! its own work: first J journals every command published so far (one
//! commit for the lot: group commit as before), then O releases every
//! event M has produced.
//!
//! Output gating still holds, and O never waits for it: every event in the
//! outbound ring comes from a command already published, the publisher is
//! this thread, and J has just journalled everything it published; so the
//! gate covers every event O can see. `JournalStage` and `OutputStage` are
//! the threaded stages' own code, so the two modes cannot drift apart.
//!
//! M too, when a client in the same process needs M's core (2 cores: the
//! gateway's poll loop on one, loadgen on the other). Then every stage is
//! a poller on one thread, the client has a core to itself, and nothing
//! waits for the scheduler between them: sharing a core with M, the client
//! and M took turns by `sched_yield`, and each command waited for the
//! client's turn to end. M comes between J and O (J has journalled every
//! command M can see), takes a bounded batch, and never waits for room in
//! the outbound ring, which only this thread empties: it takes commands
//! only while the ring has room for their events, and what a large sweep
//! cannot publish waits in its outbox for the next poll (`Outbox::flush`).

use disruptor::{EventPoller, Polling, SingleProducerBarrier};

use super::journal_stage::JournalStage;
use super::matching_stage::MatchingStage;
use super::output_stage::{OutputSink, OutputStage};
use super::slots::{Inbound, Output};

/// Commands hosted M takes per poll, at most: a bound on how long one poll
/// keeps the thread from its own work (the work grows linearly with the
/// batch: docs/performance.md, section "Pipeline command→event without
/// load").
const MATCH_BATCH: u64 = 4096;
/// Outbound slots M keeps free per command it takes: commands average one
/// to three events; more than this many only in a sweep through many
/// resting orders, which its outbox absorbs.
const ROOM_PER_COMMAND: u64 = 8;

/// M as a poller of the inbound ring beside J.
pub(crate) struct HostedMatching {
    pub poller: EventPoller<Inbound, SingleProducerBarrier>,
    pub stage: MatchingStage,
    /// The outbound ring's size.
    pub outbound_ring: u64,
}

/// The stages a publisher runs itself (boxed: the sink's type stays out of
/// `Publisher` and `Pipeline`).
pub(crate) trait HostedStages: Send {
    /// Journals what was published, executes it when M is hosted too, then
    /// releases what M produced, at most `limit` events, to `lent` if the
    /// caller lends a sink, else to O's own. Returns the number of events
    /// released.
    fn poll(&mut self, limit: usize, lent: Option<&mut dyn OutputSink>) -> usize;
    /// The last command whose every event has been released.
    fn released(&self) -> u64;
    /// Events O has taken from the outbound ring so far.
    fn taken(&self) -> u64;
}

pub(crate) struct Hosted<S> {
    journal_poller: EventPoller<Inbound, SingleProducerBarrier>,
    journal: JournalStage,
    /// M, when it is hosted too (otherwise it has a thread).
    matching: Option<HostedMatching>,
    output_poller: EventPoller<Output, SingleProducerBarrier>,
    output: OutputStage<S>,
    released: u64,
    /// Events O has taken from the outbound ring.
    taken: u64,
}

impl<S> Hosted<S> {
    pub fn new(
        journal_poller: EventPoller<Inbound, SingleProducerBarrier>,
        journal: JournalStage,
        matching: Option<HostedMatching>,
        output_poller: EventPoller<Output, SingleProducerBarrier>,
        output: OutputStage<S>,
        released: u64,
    ) -> Self {
        Hosted {
            journal_poller,
            journal,
            matching,
            output_poller,
            output,
            released,
            taken: 0,
        }
    }

    /// Hosted M: executes what J has journalled, as far as the outbound
    /// ring has room for the events (see the module doc).
    #[inline]
    fn poll_matching(&mut self) {
        let Some(m) = self.matching.as_mut() else {
            return;
        };
        // Events left over from a large sweep go first, in order.
        if !m.stage.flush_what_fits() {
            return;
        }
        let occupied = m.stage.published() - self.taken;
        let room = m.outbound_ring.saturating_sub(occupied) / ROOM_PER_COMMAND;
        let take = room.min(MATCH_BATCH);
        if take == 0 {
            return;
        }
        if let Ok(mut guard) = m.poller.take(take) {
            let commands = &mut guard;
            let n = commands.len();
            m.stage.handle_batch(commands, n);
        }
    }
}

impl<S: OutputSink + Send> HostedStages for Hosted<S> {
    #[inline]
    fn poll(&mut self, limit: usize, lent: Option<&mut dyn OutputSink>) -> usize {
        // Polling::Shutdown cannot happen: the producers outlive the pollers
        // (both belong to the pipeline handle, which drops the pollers last).
        if let Ok(mut guard) = self.journal_poller.poll() {
            let commands = &mut guard;
            let n = commands.len();
            self.journal.handle_batch(commands, n);
        }
        self.poll_matching();
        let mut released = 0;
        // Held events the gate now covers go before any newer ones.
        let mut lent = lent;
        if let Some(seq) = self.output.release_held(lent.as_deref_mut()) {
            self.released = seq;
        }
        let limit = limit.min(self.output.room());
        match self.output_poller.take(limit as u64) {
            Ok(mut guard) => {
                let events = &mut guard;
                let n = events.len();
                if let Some(seq) = self.output.handle_batch(events, n, lent) {
                    self.released = seq;
                }
                released = n;
                self.taken += n as u64;
            }
            Err(Polling::NoEvents | Polling::Shutdown) => {}
        }
        released
    }

    #[inline]
    fn released(&self) -> u64 {
        self.released
    }

    #[inline]
    fn taken(&self) -> u64 {
        self.taken
    }
}
