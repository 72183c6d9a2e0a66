//! The gateway: the wire protocol clients speak, their sessions, and the TCP server.
//!
//! - `protocol`: frames and messages (bincode's layout, written by wincode); used by
//!   clients too (loadgen).
//! - `server`: the mio poll loop, sessions, and the bridge from the pipeline's output.
//! - `auth`: the accounts file, password hashes, failed-logon delays.
//! - `metrics`: Prometheus metrics on `--metrics ADDR`, published by the loop once a tick.
//! - `config`, `instruments`: what a gateway is started with.

pub mod auth;
pub mod cluster;
pub mod config;
pub mod instruments;
pub mod metrics;
pub mod protocol;
pub mod server;

pub use auth::Auth;
pub use config::{GatewayConfig, SessionLimits};
pub use instruments::{InstrumentSet, default_instruments, load_instruments};
pub use server::{Gateway, GatewayError, LoopStats};
