//! `gateway`: the matching engine behind a TCP port.
//!
//! Recovers from its journal, listens, and serves until SIGINT or SIGTERM;
//! then it stops accepting, answers what it has received, logs every
//! session out, fsyncs the journal and exits 0.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use clap::Parser;
use gateway::auth::Accounts;
use gateway::{Auth, Gateway, GatewayConfig, load_instruments};
use journal::{Durability, SegmentRetention};
use pipeline::WaitSetting;

/// Serve the matching engine over TCP (protocol: docs/protocol.md).
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7001")]
    listen: SocketAddr,
    /// Journal directory: recovered from on start, appended to while running.
    #[arg(long, default_value = "gateway-journal")]
    journal: PathBuf,
    /// When a command counts as durable (and its replies may leave): none, os or fsync.
    #[arg(long, default_value = "fsync")]
    durability: Durability,
    /// Instruments file (TOML, see gateway/instruments.example.toml). Default:
    /// the built-in set loadgen also uses (8 instruments, symbols 1-8).
    #[arg(long)]
    instruments: Option<PathBuf>,
    /// Accounts file (TOML, see gateway/accounts.example.toml; written by
    /// `gateway-accounts add`): who may log on, with which password (stored
    /// as a hash). Required, unless --insecure-no-auth.
    #[arg(long, conflicts_with = "insecure_no_auth")]
    accounts: Option<PathBuf>,
    /// Run without authentication: anyone who reaches the port may trade as
    /// any account. For tests and benchmarks on a closed machine only; the
    /// start line says so.
    #[arg(long)]
    insecure_no_auth: bool,
    /// Messages per second a session may send (0: no throttle). Frames over
    /// it are rejected; a session sending more than twice it is logged out.
    #[arg(long, default_value_t = 2_000_000)]
    throttle: u32,
    /// Connections served at once.
    #[arg(long, default_value_t = 1024)]
    max_sessions: usize,
    /// How idle threads wait: auto (spin on isolated cores, adaptive
    /// elsewhere), spin (a core each, always busy), adaptive (spin briefly,
    /// then sleep until there is work) or block (sleep at once). The start
    /// line says which was chosen and why.
    #[arg(long, default_value = "auto")]
    wait: WaitSetting,
    /// Snapshot the books while trading every this many commands (0: only
    /// at a clean shutdown), so a crash replays at most about this many.
    /// Matching pauses only to copy the resting orders (docs/journal.md,
    /// "Snapshots while trading").
    #[arg(long, default_value_t = 1_000_000)]
    snapshot_every: u64,
    /// Also snapshot while trading once this many seconds of commands
    /// (by their ingest times) have passed since the last snapshot,
    /// whichever of the two comes first (0: no time trigger). A venue
    /// without traffic takes none: its books do not change.
    #[arg(long, default_value_t = 60)]
    snapshot_interval: u64,
    /// What becomes of journal segments that the kept snapshots make
    /// unnecessary: `archive` (moved to <journal>/archive, for the operator
    /// to ship elsewhere), `archive:DIR` (moved to DIR, on the same file
    /// system), `delete`, or `all` (kept: disk use grows with the journal).
    #[arg(long, default_value = "archive", value_parser = parse_retention)]
    retain_segments: Retain,
}

/// `--retain-segments`, before the journal directory is known.
#[derive(Debug, Clone)]
enum Retain {
    All,
    Delete,
    Archive(Option<PathBuf>),
}

fn parse_retention(s: &str) -> Result<Retain, String> {
    match s {
        "all" => Ok(Retain::All),
        "delete" => Ok(Retain::Delete),
        "archive" => Ok(Retain::Archive(None)),
        _ => match s.strip_prefix("archive:") {
            Some(dir) if !dir.is_empty() => Ok(Retain::Archive(Some(dir.into()))),
            _ => Err(format!("`{s}` is not all, delete, archive or archive:DIR")),
        },
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut config = GatewayConfig::new(args.listen, &args.journal);
    config.pipeline.durability = args.durability;
    config.limits.max_msgs_per_sec = args.throttle;
    config.max_sessions = args.max_sessions;
    config.pipeline.wait = args.wait;
    config.pipeline.snapshot_every = (args.snapshot_every > 0).then_some(args.snapshot_every);
    config.pipeline.snapshot_interval = (args.snapshot_interval > 0)
        .then(|| std::time::Duration::from_secs(args.snapshot_interval));
    config.pipeline.retain_segments = match &args.retain_segments {
        Retain::All => SegmentRetention::All,
        Retain::Delete => SegmentRetention::Delete,
        Retain::Archive(dir) => {
            SegmentRetention::Archive(dir.clone().unwrap_or_else(|| args.journal.join("archive")))
        }
    };
    if let Some(path) = &args.instruments {
        match load_instruments(path) {
            Ok(specs) => config.pipeline.instruments = specs,
            Err(e) => {
                eprintln!("gateway: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let auth = match (&args.accounts, args.insecure_no_auth) {
        (Some(path), _) => match Accounts::load(path) {
            Ok(accounts) => Auth::Accounts(Arc::new(accounts)),
            Err(e) => {
                eprintln!("gateway: {e}");
                return ExitCode::from(2);
            }
        },
        (None, true) => Auth::Insecure,
        (None, false) => {
            eprintln!(
                "gateway: no accounts file: give --accounts FILE (gateway/accounts.example.toml \
                 is an example; `gateway-accounts add` writes one), or run without \
                 authentication with --insecure-no-auth"
            );
            return ExitCode::from(2);
        }
    };
    let auth_line = match (&auth, &args.accounts) {
        (Auth::Accounts(accounts), Some(path)) => {
            format!("{} accounts from {}", accounts.len(), path.display())
        }
        _ => {
            "INSECURE: no authentication (--insecure-no-auth), any client may trade as any account"
                .to_string()
        }
    };
    config.auth = Some(auth);
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(signal, Arc::clone(&stop)) {
            eprintln!("gateway: cannot handle signal {signal}: {e}");
            return ExitCode::FAILURE;
        }
    }
    let gateway = match Gateway::start_with_stop(config, stop) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("gateway: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!(
        "gateway: listening on {} (journal {}, durability {}; {auth_line}); {}",
        gateway.local_addr(),
        args.journal.display(),
        args.durability,
        gateway.topology()
    );
    while !gateway.is_finished() {
        std::thread::sleep(Duration::from_millis(50));
    }
    match gateway.shutdown() {
        Ok(stats) => {
            eprintln!(
                "gateway: stopped cleanly ({} sessions, {} commands, {} replies)",
                stats.sessions_accepted, stats.commands, stats.replies
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gateway: {e}");
            ExitCode::FAILURE
        }
    }
}
