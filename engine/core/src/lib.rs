//! The matching core: order books, matching, and the text format that
//! replays them.
//!
//! This crate is the single writer's world: it has no threads, no files, no
//! clock and no randomness, so the same commands always give the same events
//! and the same books (the journal's replay and every test rely on it). The
//! journal, the pipeline, the tools and the test kit are crates of their own
//! that depend on this one, never the other way round, so the compiler keeps
//! I/O and time out of it.
//!
//! See `docs/architecture.md` for the code map and the invariants, and
//! `docs/matching.md` for the matching rules this crate implements.

pub mod book;
pub mod command;
pub mod config;
pub mod engine;
pub mod event;
pub mod risk;
pub mod sync;
pub mod text;
pub mod types;

pub use book::{InstrumentControl, RestingOrder, RestoreError, SnapshotOrder};
pub use command::Command;
pub use config::{EngineConfig, SetupError};
pub use engine::{Controls, Engine};
pub use event::{CancelReason, ControlAction, Event, EventSink, RejectReason};
pub use risk::{AccountLimits, AccountState, Collar, CollarWidth, PositionState};
pub use types::{
    Account, ClientOrderId, InstrumentSpec, OrderId, Price, Qty, Side, Symbol, TimeInForce,
};
