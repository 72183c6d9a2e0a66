//! The running pipeline, as its owner sees it.

use std::sync::Arc;

use super::config::PipelineError;
use super::doorbell::{Doorbell, WakeHook};
use super::gate::DurableGate;
use super::handover::{Handback, Handover};
use super::health::{Health, StageFailure};
use super::hosted::HostedStages;
use super::output_stage::OutputSink;
use super::placement::Placement;
use super::publisher::Publisher;
use super::stats::PipelineStats;
use super::topology::Topology;
use super::wait::{Backoff, StageWait};
use journal::Recovered;
use matching::book::{DepthView, SnapshotOrder};
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
/// `shutdown` drains both rings, fsyncs the journal and joins every thread;
/// `hand_over` drains them too, and gives the engine and journal to the
/// next pipeline.
pub struct Pipeline {
    publisher: Publisher,
    /// The stages this thread runs (`Placement::Hosted` or `AllHosted`):
    /// driven by `poll`, and while a publish waits for room.
    hosted: Option<Box<dyn HostedStages>>,
    /// How a publish waits for room when nothing it can run makes any.
    wait: StageWait,
    /// Rung by M after each publish to the outbound ring.
    outbound_bell: &'static Doorbell,
    health: Arc<Health>,
    gate: Arc<DurableGate>,
    topology: Topology,
    recovered: Option<Recovered>,
    /// The resting orders the engine started with, until taken.
    live_orders: Vec<SnapshotOrder>,
    /// The control state the engine started with (`Engine::controls`).
    controls: matching::Controls,
    depth: Vec<(Symbol, DepthView, DepthView)>,
    report: ShutdownReport,
    /// What the stages have done (`stats.rs`).
    stats: Arc<PipelineStats>,
    /// Where the stages leave the engine and journal on `hand_over`.
    handback: Arc<Handback>,
}

impl Pipeline {
    #[allow(clippy::too_many_arguments)] // called once, by `start`
    pub(crate) fn new(
        publisher: Publisher,
        hosted: Option<Box<dyn HostedStages>>,
        wait: StageWait,
        outbound_bell: &'static Doorbell,
        health: Arc<Health>,
        gate: Arc<DurableGate>,
        topology: Topology,
        recovered: Option<Recovered>,
        live_orders: Vec<SnapshotOrder>,
        controls: matching::Controls,
        depth: Vec<(Symbol, DepthView, DepthView)>,
        report: ShutdownReport,
        stats: Arc<PipelineStats>,
        handback: Arc<Handback>,
    ) -> Self {
        Pipeline {
            publisher,
            hosted,
            wait,
            outbound_bell,
            health,
            gate,
            topology,
            recovered,
            live_orders,
            controls,
            depth,
            report,
            stats,
            handback,
        }
    }

    /// What the stages have done: batches, fsyncs and their latency, for
    /// metrics. Updated once per batch by each stage; read at will.
    pub fn stats(&self) -> Arc<PipelineStats> {
        Arc::clone(&self.stats)
    }

    /// Publishes one command taken in at `ts_ns`; returns its sequence.
    /// A full ring holds it back (running the hosted stages, which make
    /// room) until there is a slot.
    #[inline]
    pub fn publish(&mut self, ts_ns: u64, command: &Command) -> Result<u64, PipelineError> {
        let mut backoff = Backoff::new(self.wait);
        loop {
            if let Some(seq) = self.publisher.try_publish(ts_ns, command)? {
                return Ok(seq);
            }
            self.wait_for_room(&mut backoff);
        }
    }

    /// Publishes a batch of commands taken in at `ts_ns`, in as few ring
    /// operations as the ring's size allows; returns the last sequence.
    #[inline]
    pub fn publish_batch(
        &mut self,
        ts_ns: u64,
        commands: &[Command],
    ) -> Result<u64, PipelineError> {
        for chunk in commands.chunks(self.publisher.ring_size()) {
            let mut backoff = Backoff::new(self.wait);
            while self.publisher.try_publish_batch(ts_ns, chunk)?.is_none() {
                self.wait_for_room(&mut backoff);
            }
        }
        Ok(self.publisher.next_seq() - 1)
    }

    /// Waits once for room in the inbound ring: runs the hosted stages
    /// (they make room), or backs off.
    #[inline]
    fn wait_for_room(&mut self, backoff: &mut Backoff) {
        if self.poll() == 0 {
            backoff.snooze();
        }
    }

    /// Runs the stages hosted on this thread, if any (`Placement`): J
    /// journals every command published so far, M (when hosted too)
    /// executes it, and O releases what M produced to the sink. Returns the
    /// events released; always 0 when every stage has a thread of its own.
    /// Cheap when there is nothing to do.
    #[inline]
    pub fn poll(&mut self) -> usize {
        self.poll_up_to(usize::MAX)
    }

    /// As `poll`, releasing at most `limit` events (the rest wait for the
    /// next call): for a sink that can take only so many before its owner,
    /// this same thread, empties it.
    #[inline]
    pub fn poll_up_to(&mut self, limit: usize) -> usize {
        match self.hosted.as_mut() {
            Some(stages) => stages.poll(limit, None),
            None => 0,
        }
    }

    /// As `poll_up_to`, releasing to `sink` instead of the pipeline's own
    /// sink: for a caller that owns what the events go to (the gateway's
    /// sessions), so they go there straight from the outbound ring instead
    /// of through a ring of the sink's own. Gating is the same. Always 0
    /// when O has a thread of its own (its events go to its own sink).
    /// Such a caller publishes with `Publisher::try_publish_batch`: the
    /// waiting `publish` and `publish_batch` poll too, to the own sink.
    #[inline]
    pub fn poll_up_to_with(&mut self, limit: usize, sink: &mut dyn OutputSink) -> usize {
        match self.hosted.as_mut() {
            Some(stages) => stages.poll(limit, Some(sink)),
            None => 0,
        }
    }

    /// With O hosted on this thread and M on another (`Placement::Hosted`),
    /// lets the caller sleep while M works: `hook` (a `mio::Waker`, say) is
    /// called when M publishes events to a caller that `arm_wake` said may
    /// sleep. Set once, before the caller first sleeps.
    pub fn wake_with(&self, hook: WakeHook) {
        self.outbound_bell.set_hook(hook);
    }

    /// Before sleeping while commands are in flight: arms the hook and
    /// returns `true` if O has nothing to take yet (sleep; `disarm_wake`
    /// on waking), `false` if events arrived meanwhile (poll instead).
    /// Always `false` unless O is hosted here and M is not: with M hosted
    /// too, commands in flight are work for the next `poll`, which nothing
    /// else would do while this thread slept.
    pub fn arm_wake(&self) -> bool {
        match &self.hosted {
            // The bell holds the last published slot; O has taken `taken`.
            Some(stages) if self.topology.placement == Placement::Hosted => {
                self.outbound_bell.arm() < stages.taken() as i64
            }
            _ => false,
        }
    }

    /// The caller is awake again (see `arm_wake`).
    pub fn disarm_wake(&self) {
        self.outbound_bell.disarm();
    }

    /// Hosted stages: the last command whose events have all been
    /// released (`None` when every stage has a thread of its own).
    pub fn released(&self) -> Option<u64> {
        self.hosted.as_ref().map(|stages| stages.released())
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

    /// The resting orders the engine started with (recovered from the
    /// journal), each with its account and client order id, in
    /// `Engine::for_each_order` order: what a gateway needs to give every
    /// account its live orders back after a restart. Empty after the
    /// first call.
    pub fn take_live_orders(&mut self) -> Vec<SnapshotOrder> {
        std::mem::take(&mut self.live_orders)
    }

    /// The control state the engine started with (recovered from the
    /// journal): halts, collars, tracked accounts and their limits. A
    /// gateway sequences only the limits and collars that differ from it,
    /// so a restart neither grows the journal nor resets a collar's
    /// reference price.
    pub fn recovered_controls(&self) -> &matching::Controls {
        &self.controls
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
        self.stop()
    }

    /// Stops as `shutdown` does, every command published executed,
    /// journalled and its events released, but instead of closing the
    /// journal and snapshotting the books, hands the engine and the open
    /// journal writer to the next pipeline (`pipeline::resume`): a cluster
    /// node taking the lead starts serving on the engine it followed with
    /// (`handover.rs`).
    pub fn hand_over(self) -> Result<Handover, PipelineError> {
        let handback = Arc::clone(&self.handback);
        handback.request();
        let report = self.stop()?;
        let (engine, writer) = handback.take().ok_or(PipelineError::HandoverIncomplete)?;
        Ok(Handover {
            engine,
            writer,
            last_seq: report.last_seq,
        })
    }

    fn stop(self) -> Result<ShutdownReport, PipelineError> {
        let Pipeline {
            publisher,
            mut hosted,
            health,
            mut report,
            outbound_bell,
            ..
        } = self;
        report.last_seq = publisher.next_seq() - 1;
        // Hosted J and O run only when polled: poll until every published
        // command is journalled and its events released. M meanwhile
        // empties the inbound ring (hosted M does so in these polls), so its
        // exit below has nothing to flush.
        if let Some(stages) = hosted.as_mut() {
            while stages.released() < report.last_seq && !health.failed() {
                if stages.poll(usize::MAX, None) == 0 {
                    std::thread::yield_now();
                }
            }
        }
        // Dropping the producer ends the inbound ring: J and M drain it and
        // exit; M's exit drops the outbound producer, so O drains and exits.
        // The disruptor joins each thread in turn. Closing the doorbells
        // first wakes the stages asleep on them, and keeps them awake, so
        // each sees its ring end at once rather than at the end of a
        // bounded sleep (`doorbell.rs`).
        publisher.bell().close();
        outbound_bell.close();
        // (The hosted pollers go after the producer, as they did when the
        // publisher held them.)
        drop(publisher);
        drop(hosted);
        match health.failure() {
            Some(failure) => Err(PipelineError::StageFailed(failure)),
            None => Ok(report),
        }
    }
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("publisher", &self.publisher)
            .field("topology", &self.topology)
            .field("recovered", &self.recovered)
            .finish_non_exhaustive()
    }
}
