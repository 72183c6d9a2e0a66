//! loadgen: the open-loop load generator of the reference matching engine.
//!
//! `loadgen --rate 1M` starts a gateway in-process, drives it over TCP at a
//! million orders a second, and reports order→ack and order→fill latency
//! percentiles beside the targets in `docs/targets.toml` (their reasons are
//! in `docs/targets.md`).
//!
//! [`run()`] does one run as its [`Options`] say and returns its [`Summary`];
//! the `loadgen` binary fills the options in from the command line ([`Cli`])
//! and prints the summary. The `hiccup` binary measures the machine's own
//! stalls ([`hiccup`]).
//!
//! Against a Raft cluster of gateways (`--target A,B,C`), sessions log on
//! to whichever node leads and follow the leader when it goes away; the
//! report then says what the failovers cost ([`FailoverSummary`]).
//!
//! Threads: loadgen itself uses one (the caller's), which sleeps whenever it
//! has nothing to do. See `docs/targets.md` for what more cores would buy.

/// What people type: the command line, the options, rates, durations, the mix.
mod cli;
/// The one loop that sends on the schedule and takes the replies.
mod driver;
/// What can stop a run.
mod error;
/// What is sent and when: the schedule, the order flow, the order table.
mod flow;
/// Clock, histograms, the report and its targets, output files, host facts.
mod measure;
/// One run, start to end: set up, drive, sum up.
mod run;
/// TCP to a gateway, or the pipeline in process, and how to wait for either.
mod transport;

// What the binaries and the tests use.
pub use cli::options::{Options, TransportKind};
pub use cli::{Cli, duration, mix, options, rate};
pub use error::RunError;
pub use measure::hiccup;
pub use measure::host::HostFacts;
pub use measure::progress::Log;
pub use measure::report::{CSV_HEADER, Summary};
pub use measure::targets;
pub use run::run;

// Types inside the ones above (fields of `Options`, `Summary`, `RunError`),
// public so that they can be named.
pub use flow::orders::{RequestKind, Unanswered};
pub use measure::cpu::{CpuTime, CpuUsage, ThreadCpu};
pub use measure::failover::{FailoverSummary, Gap};
pub use measure::recorder::Counts;
pub use measure::report::{Check, LatencySummary};
pub use transport::session::SessionError;
pub use transport::wait::Idle;
