//! The inproc transport: the pipeline alone, without sockets or the gateway.
//!
//! Loadgen's thread is the pipeline's publisher: each tick's due orders go
//! into the inbound ring as one batch, as the gateway's poll loop would
//! publish them. The output stage's sink timestamps each command's events as
//! they are released (after the journal has them: output gating) and hands
//! them to loadgen's thread through a buffer it swaps once per batch. So the
//! latency here is schedule → ring → journal ∥ matching → release, which is
//! what the pipeline contributes to the TCP figure; the difference between
//! the two runs is the gateway and the kernel's TCP.
//!
//! Besides order→ack from the intended time, this transport measures what
//! the pipeline alone adds: *command→event*, from the moment a batch is
//! published into the ring (its `ts_ns`) to the release of each command's
//! first event. That excludes loadgen's tick and loop, which order→ack
//! rightly includes, and is the pipeline's figure in `docs/targets.md`.
//!
//! The engine order ids are loadgen's client order ids (unique per run), and
//! each session is an account, as on the gateway.
//!
//! Where J and O would share loadgen's core (2 cores), they run on
//! loadgen's thread, as they do on the gateway's (`Placement::Hosted`):
//! loadgen then polls the pipeline whenever it waits, so the release time
//! includes no thread hand-off, only the work.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use journal::Durability;
use matching::{Command, InstrumentSpec};
use pipeline::{
    self, Output, OutputSink, Pipeline, PipelineConfig, PipelineError, Placement, Topology,
    WaitSetting,
};

use crate::driver::Transport;
use crate::error::RunError;
use crate::flow::request::Action;
use crate::measure::clock::Clock;
use crate::transport::exec::Exec;
use crate::transport::local::journal_dir;
use crate::transport::wait::{Idle, Waiter, YIELD_BELOW};

/// Events handed over by the output thread, each with its release time.
type Released = Vec<(Output, u64)>;

/// Events the sink collects before it takes the lock, if its batch is long.
const SINK_BATCH: usize = 4096;

/// The running pipeline and the hand-over buffer.
pub struct InprocTransport {
    pipeline: Option<Pipeline>,
    shared: Arc<Mutex<Released>>,
    incoming: Released,
    batch: Vec<Command>,
    first_account: u32,
    clock: Clock,
    /// Command→event latencies of commands published from `measure_from` on.
    event: hdrhistogram::Histogram<u64>,
    measure_from: u64,
    last_seq: u64,
    waiter: Waiter,
    topology: String,
    /// The journal lives here for the run and is deleted after.
    _dir: tempfile::TempDir,
}

impl std::fmt::Debug for InprocTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InprocTransport")
            .field("topology", &self.topology)
            .finish_non_exhaustive()
    }
}

impl InprocTransport {
    /// Starts a pipeline with a journal in a new temporary directory.
    /// `joined`: every stage on the calling thread's core (the pipeline
    /// sees one core, so M is hosted with J and O), the other core idle.
    pub fn start(
        instruments: Vec<InstrumentSpec>,
        durability: Durability,
        first_account: u32,
        idle: Idle,
        clock: &Clock,
        joined: bool,
        wait: WaitSetting,
    ) -> Result<InprocTransport, RunError> {
        let dir = journal_dir("loadgen-inproc-")?;
        let mut config = PipelineConfig::new(dir.path(), instruments);
        config.durability = durability;
        config.wait = wait;
        // The gateway's setting: 8 books, a moderate preallocation each.
        config.engine.max_orders_per_book = 1 << 18;
        config.snapshot_on_shutdown = false;
        config.placement = Placement::Hosted;
        if joined {
            let detected = Topology::detect().map_err(PipelineError::from)?;
            config.topology = Some(Topology::fit(&[detected.publisher]));
        }
        let shared: Arc<Mutex<Released>> = Arc::new(Mutex::new(Vec::with_capacity(1 << 16)));
        let sink = Sink {
            shared: Arc::clone(&shared),
            local: Vec::with_capacity(SINK_BATCH),
            clock: *clock,
            last_seq: 0,
            last_ns: 0,
        };
        let pipeline = pipeline::start(config, sink)?;
        let topology = pipeline.topology().describe();
        Ok(InprocTransport {
            pipeline: Some(pipeline),
            shared,
            incoming: Vec::with_capacity(1 << 16),
            batch: Vec::with_capacity(1 << 12),
            first_account,
            clock: *clock,
            event: crate::measure::recorder::latency_histogram(),
            measure_from: u64::MAX,
            last_seq: 0,
            waiter: Waiter::new(idle).map_err(RunError::Poll)?,
            topology,
            _dir: dir,
        })
    }

    /// Where the pipeline's threads run.
    pub fn topology(&self) -> &str {
        &self.topology
    }

    fn deliver(&mut self, on_exec: &mut dyn FnMut(&Exec, u64)) {
        std::mem::swap(
            &mut self.incoming,
            &mut self.shared.lock().unwrap_or_else(PoisonError::into_inner),
        );
        for (out, at) in self.incoming.drain(..) {
            if out.seq != self.last_seq {
                self.last_seq = out.seq;
                if out.ts_ns >= self.measure_from {
                    self.event
                        .saturating_record(at.saturating_sub(out.ts_ns).max(1));
                }
            }
            Exec::from_event(&out.event, |e| on_exec(&e, at));
        }
    }
}

impl Transport for InprocTransport {
    #[inline]
    fn queue(&mut self, action: &Action, _intended_ns: u64) -> Result<(), RunError> {
        let account = |session: u16| self.first_account.saturating_add(u32::from(session));
        let command = match *action {
            Action::New(n) => Command::New {
                symbol: n.symbol,
                id: n.coid,
                account: account(n.session),
                client_order_id: n.coid,
                side: n.side.into(),
                price: n.price,
                qty: n.qty,
                // The workload sends GTC and IOC only, which the engine has.
                tif: n.tif.to_engine().unwrap_or(matching::TimeInForce::Ioc),
            },
            Action::Cancel { coid, symbol, .. } => Command::Cancel { symbol, id: coid },
            Action::Replace {
                coid,
                symbol,
                price,
                qty,
                ..
            } => Command::Replace {
                symbol,
                id: coid,
                price,
                qty,
            },
        };
        self.batch.push(command);
        Ok(())
    }

    fn flush(&mut self, _now_ns: u64) -> Result<(), RunError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        if let Some(p) = self.pipeline.as_mut() {
            // The batch's ingest time, as the gateway would stamp it: now,
            // just before the publish. Command→event is measured from it;
            // order→ack from each order's own intended time.
            // Commands published before the end of the warm-up are not
            // measured (`deliver` compares this time with `measure_from`).
            p.publish_batch(self.clock.now_ns(), &self.batch)?;
            p.poll();
        }
        self.batch.clear();
        Ok(())
    }

    fn wait(&mut self, timeout: Duration) -> Result<(), RunError> {
        let Some(p) = self
            .pipeline
            .as_mut()
            .filter(|p| p.topology().placement.hosts_stages())
        else {
            return self.waiter.wait(timeout, |_, _| {}).map_err(RunError::Poll);
        };
        // J and O run on this thread: poll them until they release
        // something or the wait is over (M, on the other core, produces
        // events within microseconds of a publish).
        let until = Instant::now() + timeout;
        while p.poll() == 0 && Instant::now() < until {
            if timeout < YIELD_BELOW {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        Ok(())
    }

    fn event_latency(&self) -> Option<hdrhistogram::Histogram<u64>> {
        Some(self.event.clone())
    }

    fn measure_from(&mut self, clock_ns: u64) {
        self.measure_from = clock_ns;
    }

    fn receive(
        &mut self,
        _clock: &Clock,
        on_exec: &mut dyn FnMut(&Exec, u64),
    ) -> Result<(), RunError> {
        if let Some(p) = self.pipeline.as_mut() {
            p.poll();
        }
        if let Some(failure) = self.pipeline.as_ref().and_then(Pipeline::failure) {
            return Err(RunError::Pipeline(pipeline::PipelineError::StageFailed(
                failure,
            )));
        }
        self.deliver(on_exec);
        Ok(())
    }

    fn close(
        &mut self,
        _clock: &Clock,
        on_exec: &mut dyn FnMut(&Exec, u64),
    ) -> Result<(), RunError> {
        let result = match self.pipeline.take() {
            // Drains both rings and joins every stage: every event is in the buffer after.
            Some(p) => p.shutdown().map(|_| ()).map_err(RunError::from),
            None => Ok(()),
        };
        self.deliver(on_exec);
        result
    }
}

/// The output stage's sink: stamps and collects released events.
struct Sink {
    shared: Arc<Mutex<Released>>,
    local: Released,
    clock: Clock,
    last_seq: u64,
    last_ns: u64,
}

impl Sink {
    fn hand_over(&mut self) {
        if self.local.is_empty() {
            return;
        }
        self.shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .append(&mut self.local);
    }
}

impl OutputSink for Sink {
    #[inline]
    fn output(&mut self, output: &Output) {
        // One clock read per command: its events are released together.
        if output.seq != self.last_seq {
            self.last_seq = output.seq;
            self.last_ns = self.clock.now_ns();
        }
        self.local.push((*output, self.last_ns));
        if self.local.len() >= SINK_BATCH {
            self.hand_over();
        }
    }

    fn end_of_batch(&mut self) {
        self.hand_over();
    }
}

impl Drop for Sink {
    /// The last events of a shutdown, if the ring ended without an end of batch.
    fn drop(&mut self) {
        self.hand_over();
    }
}
