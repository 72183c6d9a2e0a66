//! The matching engine: order books, matching, and the text format that replays them.
//!
//! See `docs/architecture.md` for the code map and the invariants, and
//! `docs/matching.md` for the matching rules this crate implements.

pub mod command;
pub mod event;
pub mod types;

pub use command::Command;
pub use event::{CancelReason, Event, EventSink, RejectReason};
pub use types::{Account, InstrumentSpec, OrderId, Price, Qty, Side, Symbol, TimeInForce};
