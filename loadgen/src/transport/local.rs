//! The gateway loadgen starts for itself when no `--target` is given.
//!
//! A real `gateway::Gateway` on 127.0.0.1 with an OS-chosen port, its
//! journal in a new temporary directory (deleted after the run), so that
//! `loadgen --rate 1M` on a fresh clone measures the whole path (TCP,
//! sessions, journal, matching, output) with nothing to set up.

use std::net::SocketAddr;

use gateway::{Gateway, GatewayConfig};
use journal::Durability;
use matching::InstrumentSpec;
use pipeline::{PipelineError, Placement, Topology, WaitSetting};

use crate::error::RunError;

/// A new temporary directory for the journal of a run (deleted with it).
pub(crate) fn journal_dir(prefix: &str) -> Result<tempfile::TempDir, RunError> {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .map_err(|source| RunError::Create {
            what: "the journal directory in",
            path: std::env::temp_dir(),
            source,
        })
}

/// Outbound buffer per session of the gateway loadgen starts.
const LOCAL_OUTBOUND_BUFFER: usize = 512 << 20;

/// A gateway running in this process.
#[derive(Debug)]
pub struct LocalGateway {
    gateway: Option<Gateway>,
    dir: tempfile::TempDir,
}

impl LocalGateway {
    /// Starts a gateway with these instruments and durability, for a
    /// client thread that runs on `client_core` (if pinned); `joined` runs
    /// M on the gateway's thread too (`--layout joined`). Its sessions log
    /// on as `accounts`, which loadgen made (`credentials.rs`).
    pub fn start(
        instruments: Vec<InstrumentSpec>,
        durability: Durability,
        sessions: u16,
        client_core: Option<usize>,
        joined: bool,
        wait: WaitSetting,
        accounts: gateway::auth::Accounts,
    ) -> Result<LocalGateway, RunError> {
        let dir = journal_dir("loadgen-gateway-")?;
        let listen = SocketAddr::from(([127, 0, 0, 1], 0));
        let mut config = GatewayConfig::new(listen, dir.path());
        config.pipeline.instruments = instruments;
        config.pipeline.durability = durability;
        config.pipeline.wait = wait;
        config.pipeline.snapshot_on_shutdown = false;
        config.auth = Some(gateway::Auth::Accounts(std::sync::Arc::new(accounts)));
        config.max_sessions = config.max_sessions.max(usize::from(sessions) + 1);
        // Past saturation loadgen itself falls behind (it shares the host).
        // Before the gateway pushed back on clients that do not read, the
        // usual 8 MiB per session closed it as a slow reader within tens of
        // milliseconds, ending the run instead of measuring it; now that
        // would hold its orders back (docs/protocol.md, "Slow readers").
        // Its own gateway holds a second's worth of replies at a few
        // million a second instead, so an overloaded run measures the
        // gateway's backlog, not the push-back's. The buffer grows only as
        // far as the backlog does. An external gateway (`--target`) keeps
        // its own limit.
        config.limits.outbound_buffer_bytes = config
            .limits
            .outbound_buffer_bytes
            .max(LOCAL_OUTBOUND_BUFFER);
        // Loadgen's own thread is a guest on `client_core`: no stage
        // busy-spins there (see `client_core`).
        let mut topology = Topology::detect().map_err(PipelineError::from)?;
        topology.guest = client_core;
        config.pipeline.topology = Some(topology);
        // Joined: M on the gateway's thread too, loadgen alone on its core.
        if joined {
            config.pipeline.placement = Placement::AllHosted;
        }
        let gateway = Gateway::start(config)?;
        Ok(LocalGateway {
            gateway: Some(gateway),
            dir,
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.gateway.as_ref().map(Gateway::local_addr)
    }

    /// Where its threads run.
    pub fn topology(&self) -> String {
        self.gateway
            .as_ref()
            .map(|g| g.topology().to_string())
            .unwrap_or_default()
    }

    /// Its journal directory.
    pub fn journal_dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Stops it: answers what it has, logs sessions out, flushes the journal.
    pub fn shutdown(mut self) -> Result<(), RunError> {
        match self.gateway.take() {
            Some(g) => g.shutdown().map(|_| ()).map_err(RunError::from),
            None => Ok(()),
        }
    }
}
