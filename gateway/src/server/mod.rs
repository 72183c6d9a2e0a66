//! The TCP server: recovers the engine, listens, and runs the poll loop.
//!
//! ```text
//!  clients ─TCP─▶ poll loop (pinned; sessions, decode, publish) ─▶ pipeline: J ∥ M ─▶ O
//!                    ▲                                                          │
//!                    └────────────── reply ring + waker (bridge) ◀──────────────┘
//! ```
//!
//! The files, from the socket in:
//!
//! - `poll_loop.rs`: the loop itself, one short turn: poll, dispatch,
//!   publish, drain, flush; plus accepting connections and the timers.
//! - `connection.rs`: one client's socket and its read and write buffers.
//! - `logon_check.rs`: a `Logon`'s password checked against the accounts
//!   file on a thread of its own, with failures slowed per address.
//! - `session.rs`: the session protocol (logon, sequence numbers, throttle,
//!   heartbeats, logout) as decisions the loop carries out.
//! - `throttle.rs`: the per-session token bucket behind the throttle rule.
//! - `session_table.rs`: every session by slot; sending, logging out,
//!   closing, and the once-per-turn flush.
//! - `order_entry.rs`: orders, cancels and replaces into one command batch
//!   per turn, and its publication.
//! - `order_status.rs`: an account's orders as the gateway knows them, for
//!   `OrderStatusRequest` and `MassStatusRequest`.
//! - `execution_reports.rs`: released events routed to the owning session.
//! - `market_data.rs`: subscribers per instrument; trades, top of book and
//!   depth, published from the public book.
//! - `public_book.rs`: each instrument's price levels, built from released
//!   events only, so market data never runs ahead of the journal.
//! - `report_replay.rs`: missed reports, recomputed from the journal on a
//!   thread of its own (`ReportReplayRequest`).
//! - `registry.rs`: live orders by engine id (owner, client order id, leaves).
//! - `accounts.rs`: each account's live orders and its session now.
//! - `client_orders.rs`: one account's live orders by client order id.
//! - `worker.rs`: a helper thread the loop hands work to and never waits
//!   for (report replays, logon checks).
//! - `bridge.rs`: the reply ring from the output stage back to the loop.
//! - `stages.rs`: where the pipeline's stages run, and what that asks of the loop.
//! - `loop_guest.rs`: other work on the loop's thread (a cluster leader's
//!   Raft step).

mod accounts;
mod bridge;
mod client_orders;
mod connection;
mod execution_reports;
mod logon_check;
mod loop_guest;
mod market_data;
mod operator;
mod order_entry;
mod order_status;
mod poll_loop;
mod public_book;
mod registry;
mod report_replay;
mod session;
mod session_table;
mod stages;
mod throttle;
mod wall_clock;
mod worker;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use mio::net::TcpListener;
use mio::{Interest, Poll, Waker};
use pipeline::{self, PipelineError};

pub use loop_guest::LoopGuest;
pub use poll_loop::LoopStats;

use crate::auth::Auth;
use crate::config::GatewayConfig;
use crate::metrics::{Metrics, MetricsServer};
use logon_check::Logons;
use poll_loop::{LISTENER, PollLoop, WAKER};

/// Slots of the ring that carries replies from the output stage to the poll loop.
pub(crate) const REPLY_RING: usize = 1 << 16;

/// Why the gateway could not start, or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error(
        "cannot listen on {addr}: {source} (is another gateway running there? choose another --listen)"
    )]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "no authentication chosen: give the gateway its accounts (GatewayConfig::auth = \
         Auth::Accounts, the binary's --accounts FILE) or say Auth::Insecure \
         (--insecure-no-auth) explicitly"
    )]
    NoAuth,
    #[error("cannot serve metrics on {addr}: {source} (choose another --metrics address)")]
    Metrics {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot set up the poll loop: {0}")]
    Poll(#[source] std::io::Error),
    #[error("{0}")]
    Pipeline(#[from] PipelineError),
    #[error("the poll loop thread panicked")]
    Panicked,
}

/// A running gateway.
#[derive(Debug)]
pub struct Gateway {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
    thread: Option<JoinHandle<Result<LoopStats, PipelineError>>>,
    topology: String,
    /// Serves `--metrics` until the gateway is dropped.
    metrics: Option<MetricsServer>,
}

impl Gateway {
    /// Recovers the engine from the journal (or creates one), binds the
    /// listening socket and starts the poll loop on the publisher's core.
    pub fn start(config: GatewayConfig) -> Result<Gateway, GatewayError> {
        Self::start_with_stop(config, Arc::new(AtomicBool::new(false)))
    }

    /// As `start`, stopping when `stop` is set (for signal handlers).
    pub fn start_with_stop(
        config: GatewayConfig,
        stop: Arc<AtomicBool>,
    ) -> Result<Gateway, GatewayError> {
        Self::launch(config, stop, None, None)
    }

    /// As `start_with_stop`, on the engine and open journal another
    /// pipeline handed over (`pipeline::Pipeline::hand_over`): a cluster
    /// node elected leader opens order entry on the engine it followed
    /// with, recovering and replaying nothing.
    /// `guest` runs on the poll loop's thread (`LoopGuest`): the leader's
    /// Raft step, when `stages_on_loop` says J runs there.
    pub fn take_over(
        config: GatewayConfig,
        stop: Arc<AtomicBool>,
        handover: pipeline::Handover,
        guest: Option<Box<dyn LoopGuest>>,
    ) -> Result<Gateway, GatewayError> {
        Self::launch(config, stop, Some(handover), guest)
    }

    /// Whether a gateway started on `config` runs J and O on its poll
    /// loop's thread (`stages.rs`): then work that follows J's every batch
    /// belongs there too (`take_over`'s guest).
    pub fn stages_on_loop(config: &GatewayConfig) -> Result<bool, GatewayError> {
        let mut pipeline_config = config.pipeline.clone();
        Ok(!stages::place(&mut pipeline_config)?)
    }

    fn launch(
        config: GatewayConfig,
        stop: Arc<AtomicBool>,
        handover: Option<pipeline::Handover>,
        guest: Option<Box<dyn LoopGuest>>,
    ) -> Result<Gateway, GatewayError> {
        let poll = Poll::new().map_err(GatewayError::Poll)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER).map_err(GatewayError::Poll)?);
        let replies_closed = Arc::new(AtomicBool::new(false));
        // Where J and O run decides whether O must wake the loop: stages.rs.
        let mut pipeline_config = config.pipeline.clone();
        let wake = stages::place(&mut pipeline_config)?.then(|| Arc::clone(&waker));
        let (bridge, replies) = bridge::reply_ring(REPLY_RING, wake, Arc::clone(&replies_closed));
        let pipeline = match handover {
            None => pipeline::start(pipeline_config, bridge)?,
            Some(handover) => pipeline::resume(pipeline_config, handover, bridge)?,
        };
        // With O hosted on the loop and M on its own core, M rings the loop
        // awake when it publishes events for a command the loop is waiting
        // on, and only then (`Pipeline::arm_wake`).
        let m_waker = Arc::clone(&waker);
        pipeline.wake_with(Box::new(move || {
            let _ = m_waker.wake();
        }));
        // Missed-report recovery reads the same journal, with the same
        // capacities, on a thread of its own.
        // Who may log on: checked on a thread of its own, or nobody checks.
        let logons = match &config.auth {
            Some(Auth::Accounts(accounts)) => Some(
                Logons::start(Arc::clone(accounts), Arc::clone(&waker))
                    .map_err(GatewayError::Poll)?,
            ),
            Some(Auth::Insecure) => None,
            None => return Err(GatewayError::NoAuth),
        };
        // Metrics, on a thread and port of their own, if asked for.
        let (metrics, metrics_server) = match config.metrics {
            Some(addr) => {
                let metrics = Arc::new(Metrics::new(
                    config.pipeline.journal_dir.clone(),
                    pipeline.stats(),
                ));
                let server = MetricsServer::start(addr, Arc::clone(&metrics))
                    .map_err(|source| GatewayError::Metrics { addr, source })?;
                (Some(metrics), Some(server))
            }
            None => (None, None),
        };
        let replay = report_replay::start(
            config.pipeline.journal_dir.clone(),
            config.pipeline.engine.clone(),
            Arc::clone(&waker),
        )
        .map_err(GatewayError::Poll)?;
        // What the venue's risk runs under, sequenced before any order:
        // each trader's limits, each instrument's collar; only where they
        // differ from what the journal already holds, so a restart neither
        // grows the journal nor moves a collar's reference price back.
        let held = pipeline.recovered_controls();
        let mut startup: Vec<matching::Command> = Vec::new();
        if let Some(Auth::Accounts(accounts)) = &config.auth {
            let per_book = config.pipeline.engine.max_orders_per_book;
            let limits = accounts.trader_limits(per_book);
            for (account, l) in &limits {
                if l.max_open_orders_per_instrument >= per_book {
                    tracing::warn!(
                        account,
                        max_open_orders_per_instrument = l.max_open_orders_per_instrument,
                        orders_per_book = per_book,
                        "this account alone may fill a book (BOOK_FULL for everyone): set its \
                         max_open_orders_per_instrument below --max-orders-per-book"
                    );
                }
            }
            startup.extend(
                limits
                    .into_iter()
                    .filter(|&(account, limits)| {
                        !held
                            .accounts
                            .iter()
                            .any(|a| a.account == account && a.limits == limits)
                    })
                    .map(|(account, limits)| matching::Command::Limits { account, limits }),
            );
        }
        startup.extend(
            config
                .collars
                .iter()
                .filter(|&&(symbol, collar)| {
                    !held
                        .instruments
                        .iter()
                        .any(|c| c.symbol == symbol && c.collar == Some(collar))
                })
                .map(|&(symbol, collar)| matching::Command::Collar { symbol, collar }),
        );
        if !startup.is_empty() {
            let limits = startup
                .iter()
                .filter(|c| matches!(c, matching::Command::Limits { .. }))
                .count();
            tracing::info!(
                traders = limits,
                collars = startup.len() - limits,
                "sequencing the traders' limits and the instruments' collars"
            );
        }
        let topology = pipeline.topology().describe();
        let pin = *pipeline.topology();
        let instruments = pipeline.symbols();

        let addr = config.listen;
        let mut listener = match TcpListener::bind(addr) {
            Ok(l) => l,
            Err(source) => {
                let _ = pipeline.shutdown();
                return Err(GatewayError::Listen { addr, source });
            }
        };
        let local = listener.local_addr().map_err(GatewayError::Poll)?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)
            .map_err(GatewayError::Poll)?;

        let event_loop = PollLoop::new(
            poll,
            listener,
            pipeline,
            replies,
            config.limits.clone(),
            config.max_sessions,
            instruments,
            Arc::clone(&stop),
            replies_closed,
            replay,
            logons,
            metrics,
            startup,
            guest,
        )
        .map_err(GatewayError::Poll)?;
        let thread = std::thread::Builder::new()
            .name("gateway".into())
            .spawn(move || {
                // Best effort: an unpinned gateway still works.
                let _ = pin.pin_publisher();
                event_loop.run()
            })
            .map_err(GatewayError::Poll)?;
        Ok(Gateway {
            addr: local,
            stop,
            waker,
            thread: Some(thread),
            topology,
            metrics: metrics_server,
        })
    }

    /// The address the gateway listens on (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where the metrics are served (`GatewayConfig::metrics`), if they are.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|m| m.addr)
    }

    /// Where each thread runs, for the startup banner.
    pub fn topology(&self) -> &str {
        &self.topology
    }

    /// A hook another thread calls to wake the poll loop: a cluster node's
    /// commit moves the gate the output stage waits on, and with O hosted
    /// on the loop, only a wake-up makes the loop release what it covers.
    pub fn wake_hook(&self) -> Box<dyn Fn() + Send + Sync> {
        let waker = Arc::clone(&self.waker);
        Box::new(move || {
            let _ = waker.wake();
        })
    }

    /// `true` once the poll loop has ended (after a stop, or a failure).
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Stops accepting, answers everything already received, logs every
    /// session out, fsyncs the journal and joins every thread.
    pub fn shutdown(mut self) -> Result<LoopStats, GatewayError> {
        self.stop_and_join()
    }

    fn stop_and_join(&mut self) -> Result<LoopStats, GatewayError> {
        // Release: pairs with the poll loop's Acquire load of `stop`.
        self.stop.store(true, Ordering::Release);
        let _ = self.waker.wake();
        match self.thread.take() {
            Some(thread) => match thread.join() {
                Ok(result) => Ok(result?),
                Err(_) => Err(GatewayError::Panicked),
            },
            None => Ok(LoopStats::default()),
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.stop_and_join();
    }
}
