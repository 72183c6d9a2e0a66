//! What a run drives, started or connected: the pipeline in this process,
//! a gateway loadgen starts itself, or the gateway at `--target`.

use std::net::{SocketAddr, ToSocketAddrs};

use matching::InstrumentSpec;
use pipeline::Topology;

use crate::cli::options::{CpuChoice, Layout, Options, TransportKind};
use crate::driver::Transport;
use crate::error::RunError;
use crate::flow::workload::Band;
use crate::measure::clock::Clock;
use crate::measure::progress::Log;
use crate::transport::credentials::Credentials;
use crate::transport::inproc::InprocTransport;
use crate::transport::local::LocalGateway;
use crate::transport::tcp::TcpTransport;

/// The instruments loadgen defines when it starts the engine itself:
/// symbols `1..=n`, each with the gateway's default band.
pub fn instruments(n: u32) -> Vec<InstrumentSpec> {
    let band = Band::default();
    (1..=n)
        .map(|symbol| InstrumentSpec {
            symbol,
            min_price: band.min_price,
            max_price: band.max_price,
            max_qty: band.max_qty,
        })
        .collect()
}

/// What a run drives, set up and connected.
pub struct Setup {
    pub transport: Box<dyn Transport>,
    /// The gateway loadgen started, if it did.
    pub local: Option<LocalGateway>,
    pub driven: String,
    pub durability: Option<String>,
    pub topology: Option<String>,
    /// The core `--cpu auto` picks: the pipeline's publisher core when the
    /// engine runs in this process (the core its matching thread does not
    /// spin on), none for an external gateway.
    pub pin: Option<usize>,
}

/// Starts (or connects to) what the options say to drive.
pub fn setup(
    options: &Options,
    specs: Vec<InstrumentSpec>,
    clock: &Clock,
    log: Log<'_>,
) -> Result<Setup, RunError> {
    match (options.transport, &options.target) {
        (TransportKind::Inproc, _) => {
            let t = InprocTransport::start(
                specs,
                options.durability,
                options.first_account,
                options.idle,
                clock,
                options.layout == Layout::Joined,
                options.wait,
            )?;
            let topology = t.topology().to_string();
            let pin = Topology::detect().ok().map(|t| t.publisher);
            Ok(Setup {
                transport: Box::new(t),
                local: None,
                driven: "pipeline in this process (no gateway, no TCP)".into(),
                durability: Some(options.durability.to_string()),
                topology: Some(topology),
                pin,
            })
        }
        (TransportKind::Tcp, Some(target)) => {
            let addrs = resolve_all(target)?;
            if options.durability != journal::Durability::Os {
                log(
                    "note: --durability has no effect with --target (the gateway has its own setting)",
                );
            }
            let credentials = match &options.credentials {
                Some(path) => Credentials::load(path)?,
                None => Credentials::default(),
            };
            let idle = options.idle.with_tick(options.tick);
            let (t, driven) = match addrs.as_slice() {
                [addr] => {
                    let t = TcpTransport::connect(
                        *addr,
                        options.sessions,
                        options.first_account,
                        &credentials,
                        idle,
                        clock,
                    )?;
                    (t, format!("gateway at {addr}"))
                }
                nodes => {
                    let list: Vec<String> = nodes.iter().map(ToString::to_string).collect();
                    log(&format!(
                        "loadgen: logging on to whichever of {} leads",
                        list.join(", ")
                    ));
                    let t = TcpTransport::connect_cluster(
                        nodes,
                        options.sessions,
                        options.first_account,
                        &credentials,
                        idle,
                        clock,
                    )?;
                    let leader = t.node().map(|a| a.to_string()).unwrap_or_default();
                    log(&format!("loadgen: {leader} leads"));
                    (
                        t,
                        format!(
                            "gateway cluster at {} (leader at the start: {leader})",
                            list.join(", ")
                        ),
                    )
                }
            };
            warn_throttle(&t, options, log);
            Ok(Setup {
                transport: Box::new(t),
                local: None,
                driven,
                durability: None,
                topology: None,
                pin: None,
            })
        }
        (TransportKind::Tcp, None) => {
            let client_core = match options.cpu {
                CpuChoice::Auto => Topology::detect().ok().map(|t| t.client_core()),
                CpuChoice::None => None,
                CpuChoice::Core(c) => Some(c),
            };
            let joined = options.layout == Layout::Joined;
            // The accounts its sessions use, with passwords of its own.
            let accounts =
                (0..options.sessions).map(|i| options.first_account.saturating_add(u32::from(i)));
            let (credentials, gateway_accounts) = Credentials::generate(accounts)?;
            let gw = LocalGateway::start(
                specs,
                options.durability,
                options.sessions,
                client_core,
                joined,
                options.wait,
                gateway_accounts,
            )?;
            let addr = gw
                .addr()
                .ok_or_else(|| RunError::Config("the gateway has no address".into()))?;
            let topology = gw.topology();
            log(&format!(
                "loadgen: started a gateway on {addr} (journal {}, durability {})",
                gw.journal_dir().display(),
                options.durability
            ));
            let t = TcpTransport::connect(
                addr,
                options.sessions,
                options.first_account,
                &credentials,
                options.idle.with_tick(options.tick),
                clock,
            );
            let t = match t {
                Ok(t) => t,
                Err(e) => {
                    let _ = gw.shutdown();
                    return Err(e);
                }
            };
            warn_throttle(&t, options, log);
            Ok(Setup {
                transport: Box::new(t),
                local: Some(gw),
                driven: format!("in-process gateway at {addr}"),
                durability: Some(options.durability.to_string()),
                topology: Some(format!("gateway: {topology}")),
                pin: client_core,
            })
        }
    }
}

/// Resolves `--target`: one `HOST:PORT`, or a cluster's nodes, comma-separated.
fn resolve_all(target: &str) -> Result<Vec<SocketAddr>, RunError> {
    let parts: Vec<&str> = target.split(',').map(str::trim).collect();
    if parts.len() > 1 && parts.iter().any(|p| p.is_empty()) {
        return Err(RunError::Config(format!(
            "--target `{target}` has an empty address: give HOST:PORT or HOST:PORT,HOST:PORT,..."
        )));
    }
    if parts.len() == 1 {
        // One address, as it always was (not trimmed).
        return Ok(vec![resolve(target)?]);
    }
    parts.into_iter().map(resolve).collect()
}

/// Resolves `HOST:PORT` with a clear error.
fn resolve(target: &str) -> Result<SocketAddr, RunError> {
    let mut addrs = target.to_socket_addrs().map_err(|e| {
        RunError::Config(format!(
            "--target `{target}` is not a reachable HOST:PORT ({e})"
        ))
    })?;
    addrs
        .next()
        .ok_or_else(|| RunError::Config(format!("--target `{target}` resolves to no address")))
}

/// Says so when the gateway's throttle would refuse part of the rate.
fn warn_throttle(t: &TcpTransport, options: &Options, log: Log<'_>) {
    let limit = u64::from(t.throttle());
    let per_session = options.rate.per_sec().div_ceil(u64::from(options.sessions));
    if limit > 0 && per_session > limit {
        log(&format!(
            "warning: {per_session} orders/s per session is above the gateway's throttle of \
             {limit}/s; use more --sessions"
        ));
    }
}
