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

use std::io::IsTerminal;

use clap::Parser;
use gateway::auth::Accounts;
use gateway::cluster::{ClusterConfig, run_node};
use gateway::{Auth, Gateway, GatewayConfig, load_instruments};
use journal::{Durability, SegmentRetention};
use pipeline::{Placement, Topology, WaitSetting};
use replication::Membership;
use tracing::{error, info};

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
    /// In a cluster (--cluster), replies leave once a majority holds the
    /// command (`quorum`), and this says how each node makes its own copy
    /// durable (os or fsync).
    #[arg(long, default_value = "fsync")]
    durability: Durability,
    /// Run as one node of a Raft cluster (docs/replication.md): the file
    /// names every node's id, replication address and client address. The
    /// node serves clients on its client address while it leads (--listen
    /// is not used), and answers NotLeader with the leader's address while
    /// it follows.
    #[arg(long, requires = "node", value_name = "FILE")]
    cluster: Option<PathBuf>,
    /// This node's id in the cluster file.
    #[arg(long, requires = "cluster", value_name = "ID")]
    node: Option<u64>,
    /// Where this node keeps its Raft log. Default: beside the journal,
    /// the journal directory's name with `-raft` added.
    #[arg(long, requires = "cluster", value_name = "DIR")]
    raft_dir: Option<PathBuf>,
    /// Bytes of a Raft log segment file: a full one is synced and the
    /// next started; compaction deletes whole segments (docs/replication.md,
    /// "The Raft log on disk"). At least 4096.
    #[arg(long, requires = "cluster", default_value_t = replication::SEGMENT_BYTES)]
    raft_segment_bytes: u64,
    /// Instruments file (TOML, see gateway/instruments.example.toml). Default:
    /// the built-in set loadgen also uses (8 instruments, symbols 1-8).
    #[arg(long)]
    instruments: Option<PathBuf>,
    /// Where M runs: `hosted` (a core of its own; J and O on the gateway's
    /// thread) or `joined` (J, M and O all on the gateway's thread: one
    /// core for the whole venue). docs/pipeline.md has the layouts.
    #[arg(long, default_value = "hosted", value_parser = parse_layout)]
    layout: Placement,
    /// Cores of the gateway's thread, J, M and O, as four core ids
    /// (`0,0,1,0`). Default: fitted to the cores this process may use.
    #[arg(long, value_name = "P,J,M,O", value_parser = parse_cores)]
    cores: Option<[usize; 4]>,
    /// Slots of the ring from the gateway to J and M (a power of two):
    /// how far publishing may run ahead of the slower of the two.
    #[arg(long, default_value_t = 1 << 16)]
    inbound_ring: usize,
    /// Slots of the ring from M to O (a power of two): how far matching may
    /// run ahead of what the journal has made durable.
    #[arg(long, default_value_t = 1 << 16)]
    outbound_ring: usize,
    /// Bytes of a journal segment file: the unit retention retires and a
    /// recovery from a snapshot scans.
    #[arg(long, default_value_t = 64 << 20)]
    segment_bytes: u64,
    /// Resting orders one book can hold (memory is reserved for them at
    /// start, about 72 bytes each); more is a BOOK_FULL reject.
    #[arg(long, default_value_t = 1 << 18)]
    max_orders_per_book: u32,
    /// Widest price band (max price - min price + 1, in ticks) an
    /// instrument may have: each side of a book is a dense array of that
    /// many levels (address space; memory only for levels used).
    #[arg(long, default_value_t = 1 << 22)]
    max_band_ticks: usize,
    /// Milliseconds between heartbeats; a session silent for three is
    /// logged out.
    #[arg(long, default_value_t = 5_000)]
    heartbeat_ms: u64,
    /// Milliseconds a new connection has to send its Logon.
    #[arg(long, default_value_t = 5_000)]
    logon_timeout_ms: u64,
    /// Bytes of replies a session may have waiting to be written. Above a
    /// quarter of it the session's orders are not read until it reads its
    /// replies (push-back); if it reads nothing for a heartbeat interval,
    /// or the buffer fills, it is closed as a slow reader.
    #[arg(long, default_value_t = 8 << 20)]
    outbound_buffer: usize,
    /// The kernel send buffer of each session socket (SO_SNDBUF), in
    /// bytes. Default: the kernel's autotuning.
    #[arg(long)]
    socket_send_buffer: Option<usize>,
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
    /// Serve Prometheus metrics on this address (`GET /metrics`), as
    /// 127.0.0.1:9100. Default: none.
    #[arg(long)]
    metrics: Option<SocketAddr>,
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

fn parse_layout(s: &str) -> Result<Placement, String> {
    match s {
        "hosted" => Ok(Placement::Hosted),
        "joined" => Ok(Placement::AllHosted),
        other => Err(format!("`{other}` is not hosted or joined")),
    }
}

fn parse_cores(s: &str) -> Result<[usize; 4], String> {
    let ids: Vec<usize> = s
        .split(',')
        .map(|c| c.trim().parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("`{s}`: {e}; give four core ids, as 0,0,1,0"))?;
    ids.try_into()
        .map_err(|_| format!("`{s}`: give four core ids (gateway, J, M, O), as 0,0,1,0"))
}

/// Logs go to stderr, one line per event, filtered by `RUST_LOG` (as
/// `info`, `gateway=debug,pipeline=warn`; default `info`), in colour only
/// on a terminal.
fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

fn main() -> ExitCode {
    let args = Args::parse();
    init_logs();
    let mut config = GatewayConfig::new(args.listen, &args.journal);
    config.pipeline.durability = args.durability;
    config.limits.max_msgs_per_sec = args.throttle;
    config.max_sessions = args.max_sessions;
    config.pipeline.wait = args.wait;
    config.pipeline.placement = args.layout;
    config.metrics = args.metrics;
    if let Some([publisher, journal, matching, output]) = args.cores {
        let mut topology = Topology::fit(&[publisher]);
        topology.publisher = publisher;
        topology.journal = journal;
        topology.matching = matching;
        topology.output = output;
        config.pipeline.topology = Some(topology);
    }
    config.pipeline.inbound_ring = args.inbound_ring;
    config.pipeline.outbound_ring = args.outbound_ring;
    config.pipeline.journal.segment_bytes = args.segment_bytes;
    config.pipeline.engine.max_orders_per_book = args.max_orders_per_book;
    config.pipeline.engine.max_levels_per_side = args.max_band_ticks;
    config.limits.heartbeat_interval = Duration::from_millis(args.heartbeat_ms.max(1));
    config.limits.logon_timeout = Duration::from_millis(args.logon_timeout_ms.max(1));
    config.limits.outbound_buffer_bytes = args.outbound_buffer;
    config.limits.socket_send_buffer = args.socket_send_buffer;
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
            Ok(set) => {
                config.pipeline.instruments = set.specs;
                config.collars = set.collars;
            }
            Err(e) => {
                error!("{e}");
                return ExitCode::from(2);
            }
        }
    }
    let auth = match (&args.accounts, args.insecure_no_auth) {
        (Some(path), _) => match Accounts::load(path) {
            Ok(accounts) => Auth::Accounts(Arc::new(accounts)),
            Err(e) => {
                error!("{e}");
                return ExitCode::from(2);
            }
        },
        (None, true) => Auth::Insecure,
        (None, false) => {
            error!(
                "no accounts file: give --accounts FILE (gateway/accounts.example.toml \
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
            error!("cannot handle signal {signal}: {e}");
            return ExitCode::FAILURE;
        }
    }
    if let (Some(file), Some(node)) = (&args.cluster, args.node) {
        return run_cluster_node(&args, file, node, &config, &stop, &auth_line);
    }
    let gateway = match Gateway::start_with_stop(config, stop) {
        Ok(g) => g,
        Err(e) => {
            error!("{e}");
            return ExitCode::FAILURE;
        }
    };
    info!(
        "listening on {} (journal {}, durability {}; {auth_line}); {}",
        gateway.local_addr(),
        args.journal.display(),
        args.durability,
        gateway.topology()
    );
    if let Some(addr) = gateway.metrics_addr() {
        info!("metrics on http://{addr}/metrics");
    }
    info!(
        snapshot_every = args.snapshot_every,
        snapshot_interval_s = args.snapshot_interval,
        retain_segments = ?args.retain_segments,
        inbound_ring = args.inbound_ring,
        outbound_ring = args.outbound_ring,
        segment_bytes = args.segment_bytes,
        max_orders_per_book = args.max_orders_per_book,
        max_band_ticks = args.max_band_ticks,
        heartbeat_ms = args.heartbeat_ms,
        logon_timeout_ms = args.logon_timeout_ms,
        outbound_buffer = args.outbound_buffer,
        throttle = args.throttle,
        max_sessions = args.max_sessions,
        "settings"
    );
    while !gateway.is_finished() {
        std::thread::sleep(Duration::from_millis(50));
    }
    match gateway.shutdown() {
        Ok(stats) => {
            info!(
                "stopped cleanly ({} sessions, {} commands, {} replies, {} failed logons)",
                stats.sessions_accepted, stats.commands, stats.replies, stats.failed_logons
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            error!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// `--cluster FILE --node ID`: this process is one node of the cluster,
/// following, leading when elected, until a signal stops it.
fn run_cluster_node(
    args: &Args,
    file: &std::path::Path,
    node: u64,
    config: &GatewayConfig,
    stop: &Arc<AtomicBool>,
    auth_line: &str,
) -> ExitCode {
    let membership = match Membership::load(file) {
        Ok(m) => m,
        Err(e) => {
            error!("{e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = membership.member(node) {
        error!("{e}: give --node one of the file's ids");
        return ExitCode::from(2);
    }
    if args.durability == Durability::None {
        error!(
            "--durability none cannot be used in a cluster: a node's Raft log must survive \
             a restart of its process (use os or fsync)"
        );
        return ExitCode::from(2);
    }
    if args.raft_segment_bytes < replication::MIN_SEGMENT_BYTES {
        error!(
            "--raft-segment-bytes {} is too small: give at least {} (the default is {})",
            args.raft_segment_bytes,
            replication::MIN_SEGMENT_BYTES,
            replication::SEGMENT_BYTES
        );
        return ExitCode::from(2);
    }
    let raft_dir = args.raft_dir.clone().unwrap_or_else(|| {
        let mut name = args.journal.file_name().unwrap_or_default().to_os_string();
        name.push("-raft");
        args.journal.with_file_name(name)
    });
    info!(
        "node {node} of {} ({} nodes; election timeout {} ms), journal {}, raft log {}, \
         durability quorum (own copy: {}); {auth_line}",
        file.display(),
        membership.nodes.len(),
        membership.election_timeout.as_millis(),
        args.journal.display(),
        raft_dir.display(),
        args.durability
    );
    let cluster = ClusterConfig {
        membership,
        node,
        raft_dir,
        raft_segment_bytes: args.raft_segment_bytes,
    };
    match run_node(config, &cluster, stop) {
        Ok(()) => {
            info!("node {node} stopped cleanly");
            ExitCode::SUCCESS
        }
        Err(e) => {
            error!("node {node}: {e}");
            ExitCode::FAILURE
        }
    }
}
