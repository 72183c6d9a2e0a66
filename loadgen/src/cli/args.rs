//! The command line. Every flag is documented here; `loadgen --help` prints it.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use journal::Durability;
use pipeline::WaitSetting;

use crate::cli::duration::parse_duration;
use crate::cli::mix::{Mix, parse_mix};
use crate::cli::options::{CpuChoice, Layout, Options, TransportKind};
use crate::cli::rate::{Rate, parse_rate};
use crate::transport::wait::Idle;

/// Open-loop load generator for the matching engine.
///
/// Sends orders at a fixed rate, each at its own intended time, and measures
/// every latency from that intended time, so stalls show in the percentiles
/// (no coordinated omission). With no --target it starts a gateway in this
/// process on 127.0.0.1 (journal in a temporary directory) and drives it over
/// real TCP; --transport inproc drives the engine's pipeline directly instead.
///
/// At the end it prints a table: requested and achieved rate, order→ack and
/// order→fill percentiles, each beside its target from docs/targets.toml, with
/// PASS or FAIL. Exit status: 0 done (and passed, with --check), 1 a target
/// failed (with --check), 2 bad command line, 3 the run failed (the gateway
/// went away, a file could not be written, ...).
#[derive(Debug, Parser)]
#[command(name = "loadgen", version, about, long_about)]
pub struct Cli {
    /// Orders per second, e.g. 500k, 1M, 2.5M, 250000. Cancels and replaces
    /// count as orders: this is the rate of requests sent.
    #[arg(long, default_value = "1M", value_parser = rate_arg)]
    pub rate: Rate,

    /// How long to measure, after the warm-up: 30s, 500ms, 2m.
    #[arg(long, default_value = "10s", value_parser = duration_arg)]
    pub duration: Duration,

    /// How long to send before measuring. Orders meant for the warm-up are
    /// sent but not timed, so connection setup, page faults and the
    /// journal's first segment do not count.
    #[arg(long, default_value = "2s", value_parser = duration_arg)]
    pub warmup: Duration,

    /// TCP sessions (each logs on with its own account, so they trade with
    /// each other). Orders are spread over them at random.
    #[arg(long, default_value_t = 4)]
    pub sessions: u16,

    /// Instruments to trade, symbols 1..=N (the gateway's default set has 8).
    #[arg(long, default_value_t = 8)]
    pub instruments: u32,

    /// Seed of the order flow: the same seed gives the same decisions.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Journal durability of the gateway or pipeline loadgen starts itself:
    /// none, os (written, not fsynced) or fsync (group commit). No effect
    /// with --target, whose gateway has its own setting.
    #[arg(long, default_value = "os", value_parser = durability_arg)]
    pub durability: Durability,

    /// Relative weights of the order kinds: passive GTC orders behind the
    /// mid, cancels and replaces of live orders, aggressive IOCs through the mid.
    #[arg(long, default_value = "passive=50,cancel=30,replace=10,aggressive=10", value_parser = mix_arg)]
    pub mix: Mix,

    /// Drive the gateway at HOST:PORT instead of starting one. A cluster:
    /// every node's client address, comma-separated (HOST:PORT,HOST:PORT,...).
    /// Each session then logs on to whichever node leads (following
    /// NotLeader, for up to 10s), and when its node goes away mid-run it
    /// logs on to the new leader and carries on: requests in flight are
    /// counted as lost in the failover, orders due meanwhile as not sent
    /// (both outside the unanswered check; the report's failover line has
    /// them and the gap). With one address, losing it fails the run.
    #[arg(long, value_name = "HOST:PORT[,HOST:PORT...]")]
    pub target: Option<String>,

    /// tcp: over TCP to a gateway. inproc: the engine's pipeline in this
    /// process, no sockets, to see what the pipeline alone costs.
    #[arg(long, value_enum, default_value = "tcp")]
    pub transport: TransportKind,

    /// Make any FAIL in the report (or a failed run) a non-zero exit.
    #[arg(long)]
    pub check: bool,

    /// Write the report as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Write the latencies as an HdrHistogram interval log (one ack and one
    /// fill histogram per second, V2 deflate) to FILE.
    #[arg(long, value_name = "FILE")]
    pub hist: Option<PathBuf>,

    /// Write every execution report received to FILE, one per line:
    /// `A sym id`, `J sym id REASON`, `F sym id price qty`, `X sym id qty REASON`,
    /// `U sym id price qty` (engine order ids). Flushed even if the gateway goes away.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,

    /// Append one CSV line (rate, percentiles, result) to FILE, with a header
    /// if the file is new. For sweeps: scripts/sweep.sh uses it.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,

    /// No progress line (the report is still printed).
    #[arg(long, short)]
    pub quiet: bool,

    /// How often loadgen sends the orders that have come due: over TCP one
    /// write per session, by default sized to the rate (about 25 orders a
    /// write: 100us at 1M/s with 4 sessions, 200us at 500k/s, at most 300us);
    /// in process one ring publish, 1us by default (orders go in as they
    /// come due). The schedule does not move; a shorter tick adds less
    /// batching delay to the measured latency and costs more wake-ups.
    #[arg(long, value_parser = duration_arg)]
    pub tick: Option<Duration>,

    /// How long to wait for the last answers after the last order.
    #[arg(long, default_value = "5s", value_parser = duration_arg)]
    pub drain: Duration,

    /// Live resting orders to keep in the books, over all instruments.
    #[arg(long, default_value_t = 10_000)]
    pub resting: usize,

    /// Core for loadgen's thread: auto (in-process gateway on 2 cores: the
    /// matching thread's core, where it then yields instead of spinning;
    /// --transport inproc: the publisher's core; external gateway:
    /// unpinned), none, or a core number (stages there then yield to it).
    #[arg(long, default_value = "auto", value_parser = cpu_arg)]
    pub cpu: CpuChoice,

    /// Where the gateway loadgen starts runs its matching stage, on 2 cores:
    /// joined (every stage on the gateway's thread, loadgen alone on the
    /// other core; the default over TCP: no thread hand-off, so the least
    /// CPU and the lowest P50) or split (M on loadgen's core). With
    /// --transport inproc, joined runs every stage on loadgen's own thread
    /// (one core, no hand-off at all); split, the default there, gives M
    /// the other core. The figures: docs/performance.md, section "CPU in
    /// proportion to work".
    #[arg(long, value_enum)]
    pub layout: Option<Layout>,

    /// How the in-process gateway's and pipeline's threads wait when idle:
    /// auto (spin on isolated cores, adaptive elsewhere), spin, adaptive
    /// (spin briefly, then sleep until there is work) or block. Not used
    /// with --target (that gateway has its own --wait).
    #[arg(long, default_value = "auto")]
    pub wait: WaitSetting,

    /// How loadgen waits between ticks: yield (short waits give the core
    /// away with sched_yield, long ones sleep; right when it shares a core
    /// with the gateway and pipeline; over TCP with a tick of 50us or more,
    /// as below 500k/s by default, it sleeps), sleep (always block in
    /// epoll_wait with a timerfd tick), spin (busy-poll; only on a core of
    /// its own, --cpu N).
    #[arg(long, value_enum, default_value = "yield")]
    pub idle: Idle,

    /// Before the run, measure this host's own stalls for DURATION (a
    /// spinning thread on every core, as the `hiccup` binary does) and print
    /// the floor they put under P99, P99.9 and P99.99: a latency target below
    /// its floor cannot pass on this host, whatever the code does.
    #[arg(long, value_name = "DURATION", value_parser = duration_arg)]
    pub hiccup: Option<Duration>,

    /// Account of the first session; session i uses ACCOUNT + i.
    #[arg(long, default_value_t = 1)]
    pub account: u32,

    /// The passwords of an external gateway's accounts (`--target`): TOML,
    /// `[[account]]` tables of `id` and `password`. loadgen's own gateway
    /// needs none: loadgen makes the accounts it uses.
    #[arg(long, value_name = "FILE")]
    pub credentials: Option<PathBuf>,

    /// A targets file (TOML, as docs/targets.toml) to check against
    /// instead of the built-in docs/targets.toml (read at build time).
    #[arg(long, value_name = "FILE")]
    pub targets: Option<PathBuf>,
}

fn rate_arg(s: &str) -> Result<Rate, String> {
    parse_rate(s).map_err(|e| e.to_string())
}

fn duration_arg(s: &str) -> Result<Duration, String> {
    parse_duration(s).map_err(|e| e.to_string())
}

fn mix_arg(s: &str) -> Result<Mix, String> {
    parse_mix(s).map_err(|e| e.to_string())
}

fn durability_arg(s: &str) -> Result<Durability, String> {
    s.parse::<Durability>()
        .map_err(|_| format!("`{s}` is not a durability; use none, os or fsync"))
}

fn cpu_arg(s: &str) -> Result<CpuChoice, String> {
    match s {
        "auto" => Ok(CpuChoice::Auto),
        "none" => Ok(CpuChoice::None),
        n => n
            .parse()
            .map(CpuChoice::Core)
            .map_err(|_| format!("`{s}` is not a core; use auto, none or a core number")),
    }
}

impl Cli {
    /// The run's options, checked.
    pub fn options(&self) -> Result<Options, String> {
        let options = Options {
            rate: self.rate,
            duration: self.duration,
            warmup: self.warmup,
            sessions: self.sessions,
            instruments: self.instruments,
            seed: self.seed,
            durability: self.durability,
            mix: self.mix,
            target: self.target.clone(),
            transport: self.transport,
            tick: self
                .tick
                .unwrap_or_else(|| self.transport.default_tick(self.rate, self.sessions)),
            drain: self.drain,
            resting: self.resting,
            cpu: self.cpu,
            layout: self.layout.unwrap_or(self.transport.default_layout()),
            wait: self.wait,
            idle: self.idle,
            first_account: self.account,
            credentials: self.credentials.clone(),
            record: self.record.clone(),
            hist: self.hist.clone(),
            targets_file: self.targets.clone(),
            progress: !self.quiet,
            hiccup: self.hiccup,
        };
        options.validate()?;
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn flags_parse_into_options() {
        let cli = Cli::try_parse_from([
            "loadgen",
            "--rate",
            "2.5M",
            "--duration",
            "30s",
            "--warmup",
            "500ms",
            "--durability",
            "fsync",
            "--mix",
            "passive=1,aggressive=1",
            "--cpu",
            "1",
            "-q",
        ])
        .unwrap();
        let o = cli.options().unwrap();
        assert_eq!(o.rate.per_sec(), 2_500_000);
        assert_eq!(o.duration, Duration::from_secs(30));
        assert_eq!(o.warmup, Duration::from_millis(500));
        assert_eq!(o.durability, Durability::Fsync);
        assert_eq!(o.mix.cancel, 0);
        assert_eq!(o.cpu, CpuChoice::Core(1));
        assert!(!o.progress);
    }

    #[test]
    fn the_tick_defaults_to_the_transport_and_can_be_set() {
        let tick = |args: &[&str]| {
            let mut all = vec!["loadgen"];
            all.extend_from_slice(args);
            Cli::try_parse_from(all).unwrap().options().unwrap().tick
        };
        assert_eq!(tick(&[]), Duration::from_micros(100));
        // Over TCP, sized to the rate: about 25 orders per session's write.
        assert_eq!(tick(&["--rate", "8M"]), Duration::from_micros(20));
        assert_eq!(tick(&["--rate", "2M"]), Duration::from_micros(50));
        assert_eq!(tick(&["--rate", "500k"]), Duration::from_micros(200));
        assert_eq!(
            tick(&["--rate", "500k", "--sessions", "2"]),
            Duration::from_micros(100)
        );
        assert_eq!(tick(&["--rate", "100k"]), Duration::from_micros(300));
        assert_eq!(tick(&["--rate", "1"]), Duration::from_micros(300));
        assert_eq!(tick(&["--transport", "inproc"]), Duration::from_micros(1));
        assert_eq!(
            tick(&["--transport", "inproc", "--rate", "100k"]),
            Duration::from_micros(1)
        );
        assert_eq!(
            tick(&["--rate", "100k", "--tick", "20us"]),
            Duration::from_micros(20)
        );
        assert_eq!(
            tick(&["--transport", "inproc", "--tick", "20us"]),
            Duration::from_micros(20)
        );
        assert_eq!(tick(&["--tick", "5us"]), Duration::from_micros(5));
    }

    #[test]
    fn bad_values_are_clear_errors() {
        let err = |args: &[&str]| {
            let mut all = vec!["loadgen"];
            all.extend_from_slice(args);
            match Cli::try_parse_from(all) {
                Ok(cli) => cli.options().unwrap_err(),
                Err(e) => e.to_string(),
            }
        };
        assert!(err(&["--rate", "fast"]).contains("500k, 1M, 2.5M"));
        assert!(err(&["--duration", "30"]).contains("no unit"));
        assert!(err(&["--durability", "maybe"]).contains("none, os or fsync"));
        assert!(err(&["--mix", "market=1"]).contains("unknown kind"));
        assert!(err(&["--sessions", "0"]).contains("--sessions must be"));
        assert!(err(&["--transport", "inproc", "--target", "x:1"]).contains("one or the other"));
        assert!(err(&["--cpu", "fast"]).contains("not a core"));
        assert!(err(&["--duration", "0s"]).contains("above 0"));
    }
}
