//! The gateway loadgen starts for itself when no `--target` is given.
//!
//! A real `gateway::Gateway` on 127.0.0.1 with an OS-chosen port, its
//! journal in a new temporary directory (deleted after the run), so that
//! `loadgen --rate 1M` on a fresh clone measures the whole path (TCP,
//! sessions, journal, matching, output) with nothing to set up.

use std::net::SocketAddr;

use engine::InstrumentSpec;
use engine::journal::Durability;
use engine::pipeline::{PipelineError, Topology};
use gateway::{Gateway, GatewayConfig};

use crate::error::RunError;

/// A gateway running in this process.
#[derive(Debug)]
pub struct LocalGateway {
    gateway: Option<Gateway>,
    dir: tempfile::TempDir,
}

impl LocalGateway {
    /// Starts a gateway with these instruments and durability, for a
    /// client thread that runs on `client_core` (if pinned).
    pub fn start(
        instruments: Vec<InstrumentSpec>,
        durability: Durability,
        sessions: u16,
        client_core: Option<usize>,
    ) -> Result<LocalGateway, RunError> {
        let dir = tempfile::Builder::new()
            .prefix("loadgen-gateway-")
            .tempdir()
            .map_err(|source| RunError::Create {
                what: "the journal directory in",
                path: std::env::temp_dir(),
                source,
            })?;
        let listen = SocketAddr::from(([127, 0, 0, 1], 0));
        let mut config = GatewayConfig::new(listen, dir.path());
        config.pipeline.instruments = instruments;
        config.pipeline.durability = durability;
        config.pipeline.snapshot_on_shutdown = false;
        config.max_sessions = config.max_sessions.max(usize::from(sessions) + 1);
        // Loadgen's own thread is a guest on `client_core`: no stage
        // busy-spins there (see `client_core`).
        let mut topology = Topology::detect().map_err(PipelineError::from)?;
        topology.guest = client_core;
        config.pipeline.topology = Some(topology);
        let gateway = Gateway::start(config)?;
        Ok(LocalGateway {
            gateway: Some(gateway),
            dir,
        })
    }

    /// Where loadgen's thread should run beside a gateway in this process.
    ///
    /// On 2 cores the gateway's poll loop (with J and O on its thread) has
    /// core 0 and M has core 1, where it would spin on about 1% of real
    /// work; loadgen is about as busy as the poll loop (encode, send,
    /// receive, decode, record), so it goes to M's core, and M yields to it
    /// there instead of spinning. Measured on the 2-vCPU VM at 1M orders/s,
    /// loadgen on core 0 beside the poll loop fell behind in 2 of 3 runs;
    /// on core 1 it kept up in each (docs/performance.md). Elsewhere: the
    /// publisher's core, as before.
    pub fn client_core(topology: &Topology) -> usize {
        if topology.can_host() && topology.matching != topology.publisher {
            topology.matching
        } else {
            topology.publisher
        }
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
