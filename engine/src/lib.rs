//! The matching engine: order books, matching, and the text format that replays them.
//!
//! See `docs/architecture.md` for the code map and the invariants, and
//! `docs/matching.md` for the matching rules this crate implements.

pub mod book;
pub mod command;
pub mod config;
pub mod engine;
pub mod event;
pub mod journal;
pub mod naive;
pub mod pipeline;
pub mod prefetch;
pub mod state_hash;
mod sync;
pub mod text;
pub mod types;
pub mod workload;

pub use book::{RestingOrder, RestoreError, SnapshotOrder};
pub use command::Command;
pub use config::{EngineConfig, SetupError};
pub use engine::Engine;
pub use event::{CancelReason, Event, EventSink, RejectReason};
pub use types::{Account, InstrumentSpec, OrderId, Price, Qty, Side, Symbol, TimeInForce};
