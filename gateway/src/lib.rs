//! The gateway: the wire protocol clients speak, their sessions, and the TCP server.
//!
//! - `protocol`: frames and messages (bincode's layout, written by wincode); used by
//!   clients too (loadgen).
//! - `server`: the mio poll loop, sessions, and the bridge from the pipeline's output.
//! - `config`, `instruments`: what a gateway is started with.

pub mod config;
pub mod instruments;
pub mod protocol;
pub mod server;

pub use config::{GatewayConfig, SessionLimits};
pub use instruments::{default_instruments, load_instruments};
pub use server::{Gateway, GatewayError, LoopStats};
