//! J and O on the publisher's thread: the same stages, driven by polling.
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

use disruptor::{EventPoller, Polling, SingleProducerBarrier};

use super::journal_stage::JournalStage;
use super::output_stage::{OutputSink, OutputStage};
use super::slots::{Inbound, Output};

/// The stages a publisher runs itself (boxed: the sink's type stays out of
/// `Publisher` and `Pipeline`).
pub(crate) trait HostedStages: Send {
    /// Journals what was published, then releases what M produced, at most
    /// `limit` events. Returns the number of events released.
    fn poll(&mut self, limit: usize) -> usize;
    /// The last command whose every event has been released.
    fn released(&self) -> u64;
}

pub(crate) struct Hosted<S> {
    journal_poller: EventPoller<Inbound, SingleProducerBarrier>,
    journal: JournalStage,
    output_poller: EventPoller<Output, SingleProducerBarrier>,
    output: OutputStage<S>,
    released: u64,
}

impl<S> Hosted<S> {
    pub fn new(
        journal_poller: EventPoller<Inbound, SingleProducerBarrier>,
        journal: JournalStage,
        output_poller: EventPoller<Output, SingleProducerBarrier>,
        output: OutputStage<S>,
        released: u64,
    ) -> Self {
        Hosted {
            journal_poller,
            journal,
            output_poller,
            output,
            released,
        }
    }
}

impl<S: OutputSink> HostedStages for Hosted<S> {
    #[inline]
    fn poll(&mut self, limit: usize) -> usize {
        // Polling::Shutdown cannot happen: the producers outlive the pollers
        // (both belong to the pipeline handle, which drops the pollers last).
        if let Ok(mut guard) = self.journal_poller.poll() {
            let commands = &mut guard;
            let n = commands.len();
            for (i, slot) in commands.enumerate() {
                self.journal.handle(slot, i + 1 == n);
            }
        }
        let mut released = 0;
        match self.output_poller.take(limit as u64) {
            Ok(mut guard) => {
                let events = &mut guard;
                let n = events.len();
                for (i, output) in events.enumerate() {
                    self.output.handle(output, i + 1 == n);
                    if output.last {
                        self.released = output.seq;
                    }
                }
                released = n;
            }
            Err(Polling::NoEvents | Polling::Shutdown) => {}
        }
        released
    }

    #[inline]
    fn released(&self) -> u64 {
        self.released
    }
}
