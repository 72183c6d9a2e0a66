//! The gateway's settings.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use journal::Durability;
use pipeline::PipelineConfig;

use crate::auth::Auth;
use crate::instruments::default_instruments;

/// Per-session limits: what a client may do before the gateway closes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionLimits {
    /// Messages per second a session may send (token bucket, burst = one
    /// second's worth); over it, the session is closed with a reason.
    pub max_msgs_per_sec: u32,
    /// Bytes of replies a session may have waiting to be written. Above a
    /// quarter of it the gateway reads no more of the session's orders
    /// (push-back); a client that then reads nothing for a heartbeat
    /// interval, or whose buffer fills anyway, is closed as a slow reader,
    /// so nobody waits for it (docs/protocol.md, "Slow readers").
    pub outbound_buffer_bytes: usize,
    /// The kernel send buffer of each session socket (`SO_SNDBUF`), or the
    /// kernel's autotuning when `None`. A small one bounds the memory a
    /// stalled client can pin in the kernel and finds slow readers sooner.
    pub socket_send_buffer: Option<usize>,
    /// How often the gateway expects a message (and sends heartbeats).
    pub heartbeat_interval: Duration,
    /// How long a connection may stay silent before Logon.
    pub logon_timeout: Duration,
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits {
            max_msgs_per_sec: 2_000_000,
            outbound_buffer_bytes: 8 << 20,
            socket_send_buffer: None,
            heartbeat_interval: Duration::from_secs(5),
            logon_timeout: Duration::from_secs(5),
        }
    }
}

/// Everything a gateway is started with.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    pub listen: SocketAddr,
    pub pipeline: PipelineConfig,
    pub limits: SessionLimits,
    /// Connections accepted at once; more are refused at accept.
    pub max_sessions: usize,
    /// Who may log on. No default: `Gateway::start` refuses `None`, so
    /// running without authentication is always said explicitly.
    pub auth: Option<Auth>,
    /// Serve Prometheus metrics on this address (`GET /metrics`); `None`:
    /// no metrics server.
    pub metrics: Option<SocketAddr>,
    /// Price collars, by instrument (the instruments file's `collar_*`
    /// fields): sequenced at start, like the accounts' limits.
    pub collars: Vec<(u32, matching::Collar)>,
}

impl GatewayConfig {
    /// Defaults: the default instruments, `os` durability, journal in
    /// `journal_dir`; `auth` must still be chosen.
    pub fn new(listen: SocketAddr, journal_dir: impl Into<PathBuf>) -> Self {
        let mut pipeline = PipelineConfig::new(journal_dir, default_instruments());
        pipeline.durability = Durability::Os;
        // 8 books: keep each one's preallocation moderate.
        pipeline.engine.max_orders_per_book = 1 << 18;
        GatewayConfig {
            listen,
            pipeline,
            limits: SessionLimits::default(),
            max_sessions: 1024,
            auth: None,
            metrics: None,
            collars: Vec::new(),
        }
    }
}
