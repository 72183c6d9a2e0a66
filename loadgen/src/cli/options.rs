//! Everything a run is started with, as the library takes it (the command
//! line in `cli/args.rs` is one way to fill it in; tests fill it in directly).

use std::path::PathBuf;
use std::time::Duration;

use journal::Durability;
use pipeline::WaitSetting;

use crate::cli::mix::Mix;
use crate::cli::rate::Rate;
use crate::transport::wait::Idle;

/// Where the in-process gateway's matching stage runs (2 cores).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// M on its own thread on loadgen's core: the gateway's core keeps
    /// room; every command then crosses to M's thread and back.
    Split,
    /// Every stage on the gateway's thread, loadgen alone on the other
    /// core: no hand-off between threads, so the least CPU and the lowest
    /// P50 (docs/performance.md, section "CPU in proportion to work").
    Joined,
}

/// How requests reach the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    /// TCP to a gateway: `--target`, or one loadgen starts in-process.
    Tcp,
    /// The engine's pipeline in-process, no gateway and no sockets.
    Inproc,
}

impl TransportKind {
    /// The send tick when `--tick` is not given, for `rate` over `sessions`.
    ///
    /// Over TCP a tick is one `write` per session that has something due
    /// (and a wake-up, and the replies' wake-ups), so the tick is sized to
    /// the rate: long enough that each write carries about
    /// [`ORDERS_PER_WRITE`] orders, from [`TCP_TICK_MIN`] (20 µs, at 5M/s
    /// and above with 4 sessions) up to [`TCP_TICK_MAX`] (300 µs, at 333k/s
    /// and below). A loopback write and its wake-ups cost microseconds of
    /// kernel time on a VM, so fewer, fuller writes are what keeps a run's
    /// CPU in proportion to its rate. Loadgen's wake-ups then follow the rate instead of a
    /// fixed 50,000 ticks a second, and each order waits at most one tick
    /// for its write, which is in its latency (measured from its intended
    /// time). The figures: docs/performance.md, section "CPU in proportion to work".
    /// In process a
    /// tick is a ring publish, which costs nothing like a syscall: orders go
    /// in as they come due (at 1M/s, one a microsecond), as a gateway's poll
    /// loop publishes what each turn read. A 20 µs tick there publishes
    /// batches of tens of commands at 1M/s, and every command of a batch
    /// waits for the batch's whole journal and matching work, so the 1 µs
    /// tick lowers cmd→event's median. The figures: docs/performance.md,
    /// section "Pipeline latency in process at 1M/s".
    pub fn default_tick(self, rate: Rate, sessions: u16) -> Duration {
        match self {
            TransportKind::Tcp => {
                let per_tick = ORDERS_PER_WRITE * u64::from(sessions.max(1));
                let ns = per_tick.saturating_mul(1_000_000_000) / rate.per_sec();
                Duration::from_nanos(ns).clamp(TCP_TICK_MIN, TCP_TICK_MAX)
            }
            TransportKind::Inproc => Duration::from_micros(1),
        }
    }

    /// The layout when `--layout` is not given. Over TCP, joined: with the
    /// stages sleeping when idle, a thread hand-off is a wake-up through
    /// the hypervisor, and joined has none (less CPU and a lower P50 at
    /// 100k/s and 1M/s alike: docs/performance.md, "CPU in proportion to
    /// work"). In process, split: M keeps a core of its own for the
    /// pipeline's sustained-rate target.
    pub fn default_layout(self) -> Layout {
        match self {
            TransportKind::Tcp => Layout::Joined,
            TransportKind::Inproc => Layout::Split,
        }
    }

    /// The scope (table) of this transport's targets in `docs/targets.toml`.
    pub fn scope(self) -> &'static str {
        match self {
            TransportKind::Tcp => "tcp",
            TransportKind::Inproc => "inproc",
        }
    }
}

/// Over TCP, the orders a session's write carries at rates where the
/// tick is between its bounds (see [`TransportKind::default_tick`]).
pub const ORDERS_PER_WRITE: u64 = 25;
/// The shortest default TCP tick: the batching at high rates.
pub const TCP_TICK_MIN: Duration = Duration::from_micros(20);
/// The longest default TCP tick: what an order may wait for its write at
/// low rates. At 100k/s, 300 µs against 500 µs costs about 0.13 cores
/// more and brings the P99 under the 1 ms target (docs/performance.md,
/// "CPU in proportion to work").
pub const TCP_TICK_MAX: Duration = Duration::from_micros(300);

/// Which core loadgen's thread runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuChoice {
    /// In-process runs: the pipeline's publisher core (the one the matching
    /// thread does not spin on). Against an external gateway: not pinned.
    Auto,
    /// Not pinned: the OS places it.
    None,
    /// This core.
    Core(usize),
}

/// A run's settings.
#[derive(Debug, Clone)]
pub struct Options {
    pub rate: Rate,
    pub duration: Duration,
    pub warmup: Duration,
    pub sessions: u16,
    pub instruments: u32,
    pub seed: u64,
    pub durability: Durability,
    pub mix: Mix,
    /// `HOST:PORT` of an external gateway, or a cluster's nodes'
    /// comma-separated; `None` starts one in-process.
    pub target: Option<String>,
    pub transport: TransportKind,
    pub tick: Duration,
    pub drain: Duration,
    /// Live orders to steer towards, over all instruments.
    pub resting: usize,
    pub cpu: CpuChoice,
    /// Where the in-process gateway runs M.
    pub layout: Layout,
    /// How the in-process gateway's and pipeline's threads wait.
    pub wait: WaitSetting,
    /// How loadgen waits when idle.
    pub idle: Idle,
    /// Account of session 0; session i uses `first_account + i`.
    pub first_account: u32,
    /// Passwords for an external gateway's accounts (`--credentials`).
    pub credentials: Option<PathBuf>,
    pub record: Option<PathBuf>,
    pub hist: Option<PathBuf>,
    /// A targets file other than the built-in `docs/targets.toml`.
    pub targets_file: Option<PathBuf>,
    pub progress: bool,
    /// Measure the host's own stalls for this long before the run
    /// (`--hiccup`), to print the floor beside the targets.
    pub hiccup: Option<Duration>,
}

/// Most instruments a run may use (each is a book the engine preallocates).
pub const MAX_INSTRUMENTS: u32 = 64;
/// Most sessions a run may open.
pub const MAX_SESSIONS: u16 = 256;

impl Default for Options {
    fn default() -> Self {
        Options {
            rate: crate::cli::rate::DEFAULT_RATE,
            duration: Duration::from_secs(10),
            warmup: Duration::from_secs(2),
            sessions: 4,
            instruments: gateway::instruments::DEFAULT_COUNT,
            seed: 1,
            durability: Durability::Os,
            mix: Mix::default(),
            target: None,
            transport: TransportKind::Tcp,
            tick: TCP_TICK_MIN,
            drain: Duration::from_secs(5),
            resting: 10_000,
            cpu: CpuChoice::Auto,
            layout: Layout::Joined,
            wait: WaitSetting::Auto,
            idle: Idle::Yield,
            first_account: 1,
            credentials: None,
            record: None,
            hist: None,
            targets_file: None,
            progress: true,
            hiccup: None,
        }
    }
}

impl Options {
    /// How loadgen's thread waits: `--idle`, but over TCP `yield` with a
    /// long tick sleeps (see `transport/wait.rs`).
    pub fn effective_idle(&self) -> Idle {
        match self.transport {
            TransportKind::Tcp => self.idle.with_tick(self.tick),
            TransportKind::Inproc => self.idle,
        }
    }

    /// Checks the settings that parse but cannot work together.
    pub fn validate(&self) -> Result<(), String> {
        if self.duration.is_zero() {
            return Err("--duration must be above 0".into());
        }
        if !(1..=MAX_SESSIONS).contains(&self.sessions) {
            return Err(format!("--sessions must be 1 to {MAX_SESSIONS}"));
        }
        if !(1..=MAX_INSTRUMENTS).contains(&self.instruments) {
            return Err(format!("--instruments must be 1 to {MAX_INSTRUMENTS}"));
        }
        if self.tick < Duration::from_micros(1) || self.tick > Duration::from_millis(100) {
            return Err("--tick must be from 1us to 100ms".into());
        }
        if self.transport == TransportKind::Inproc && self.target.is_some() {
            return Err(
                "--target drives a gateway over TCP; --transport inproc drives the pipeline \
                 in this process. Use one or the other."
                    .into(),
            );
        }
        if self.resting == 0 {
            return Err("--resting must be at least 1".into());
        }
        if self
            .first_account
            .checked_add(u32::from(self.sessions))
            .is_none()
        {
            return Err("--account plus --sessions is beyond the account range".into());
        }
        Ok(())
    }
}
