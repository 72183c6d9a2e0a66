//! The running pipeline, as its owner sees it.

use std::sync::Arc;

use super::config::PipelineError;
use super::gate::DurableGate;
use super::health::{Health, StageFailure};
use super::publisher::Publisher;
use super::topology::Topology;
use journal::Recovered;
use matching::book::DepthView;
use matching::command::Command;
use matching::types::{Side, Symbol};

/// What a clean shutdown did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShutdownReport {
    /// The last sequence published (0: none since the journal was created).
    pub last_seq: u64,
}

/// A started pipeline (see `pipeline::start`). Publish commands through
/// it; released events arrive at the `OutputSink` it was started with.
/// `shutdown` drains both rings, fsyncs the journal and joins every thread.
#[derive(Debug)]
pub struct Pipeline {
    publisher: Publisher,
    health: Arc<Health>,
    gate: Arc<DurableGate>,
    topology: Topology,
    recovered: Option<Recovered>,
    depth: Vec<(Symbol, DepthView, DepthView)>,
    report: ShutdownReport,
}

impl Pipeline {
    pub(crate) fn new(
        publisher: Publisher,
        health: Arc<Health>,
        gate: Arc<DurableGate>,
        topology: Topology,
        recovered: Option<Recovered>,
        depth: Vec<(Symbol, DepthView, DepthView)>,
        report: ShutdownReport,
    ) -> Self {
        Pipeline {
            publisher,
            health,
            gate,
            topology,
            recovered,
            depth,
            report,
        }
    }

    /// Publishes one command taken in at `ts_ns`; returns its sequence.
    #[inline]
    pub fn publish(&mut self, ts_ns: u64, command: &Command) -> Result<u64, PipelineError> {
        self.publisher.publish(ts_ns, command)
    }

    /// Publishes a batch of commands taken in at `ts_ns`; returns the last sequence.
    #[inline]
    pub fn publish_batch(
        &mut self,
        ts_ns: u64,
        commands: &[Command],
    ) -> Result<u64, PipelineError> {
        self.publisher.publish_batch(ts_ns, commands)
    }

    /// Runs J and O if they are hosted on this thread (see
    /// `PipelineConfig::stages_on_publisher`), and M if it is too
    /// (`PipelineConfig::hosts_matching`): journals what was published, executes it,
    /// and releases what M produced to the sink. Returns the events
    /// released; always 0 when J and O have threads of their own.
    #[inline]
    pub fn poll(&mut self) -> usize {
        self.publisher.poll()
    }

    /// As `poll`, releasing at most `limit` events (see `Publisher::poll_up_to`).
    #[inline]
    pub fn poll_up_to(&mut self, limit: usize) -> usize {
        self.publisher.poll_up_to(limit)
    }

    /// The publisher itself, for a caller that publishes from a loop of its own.
    pub fn publisher(&mut self) -> &mut Publisher {
        &mut self.publisher
    }

    /// The journal's durable sequence: every command up to it is durable.
    pub fn durable_seq(&self) -> u64 {
        self.gate.durable()
    }

    /// Where each thread runs.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// What recovery did at start, if there was a journal.
    pub fn recovered(&self) -> Option<&Recovered> {
        self.recovered.as_ref()
    }

    /// The instruments' symbols, ascending.
    pub fn symbols(&self) -> Vec<Symbol> {
        self.depth.iter().map(|(s, _, _)| *s).collect()
    }

    /// A lock-free depth view of one side of `symbol`'s book.
    pub fn depth(&self, symbol: Symbol, side: Side) -> Option<DepthView> {
        self.depth
            .iter()
            .find(|(s, _, _)| *s == symbol)
            .map(|(_, bids, asks)| match side {
                Side::Buy => bids.clone(),
                Side::Sell => asks.clone(),
            })
    }

    /// The first stage failure, if any stage has failed.
    pub fn failure(&self) -> Option<StageFailure> {
        self.health.failure()
    }

    /// Stops taking commands, lets J, M and O finish every command already
    /// published (J fsyncs the journal, M writes a snapshot, O releases the
    /// last events), and joins their threads (hosted J and O: polls them
    /// until done). Errors name the failed stage.
    pub fn shutdown(self) -> Result<ShutdownReport, PipelineError> {
        let Pipeline {
            publisher,
            health,
            mut report,
            ..
        } = self;
        report.last_seq = publisher.next_seq() - 1;
        // Hosted J and O run only when polled: poll until every published
        // command is journalled and its events released. M meanwhile
        // empties the inbound ring (hosted M does so in these polls), so its
        // exit below has nothing to flush.
        let mut publisher = publisher;
        while publisher
            .released()
            .is_some_and(|released| released < report.last_seq)
            && !health.failed()
        {
            if publisher.poll() == 0 {
                std::thread::yield_now();
            }
        }
        // Dropping the producer ends the inbound ring: J and M drain it and
        // exit; M's exit drops the outbound producer, so O drains and exits.
        // The disruptor joins each thread in turn.
        drop(publisher);
        match health.failure() {
            Some(failure) => Err(PipelineError::StageFailed(failure)),
            None => Ok(report),
        }
    }
}
