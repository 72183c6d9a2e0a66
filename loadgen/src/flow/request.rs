//! One request to send: a new order, a cancel or a replace.
//!
//! The workload decides them, the order table notes each one sent (and
//! matches its answer to it), and a transport encodes it. They are in a
//! file of their own so that all three import them from here: the workload
//! reads the order table to pick what to cancel, and the order table must
//! not import the workload back.

use gateway::protocol::{Side, TimeInForce};

/// A new order to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewOrder {
    /// Index of the session that sends it.
    pub session: u16,
    /// Client order id: unique over every session of the run, so an id alone
    /// finds the order in the order table (and is a valid engine id inproc).
    pub coid: u64,
    pub symbol: u32,
    pub side: Side,
    pub price: i64,
    pub qty: u64,
    pub tif: TimeInForce,
    /// Priced to trade: its first fill is timed (order→fill).
    pub aggressive: bool,
}

/// One request to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    New(NewOrder),
    Cancel {
        session: u16,
        coid: u64,
        symbol: u32,
    },
    Replace {
        session: u16,
        coid: u64,
        symbol: u32,
        price: i64,
        qty: u64,
    },
}

impl Action {
    /// The session that sends it.
    pub fn session(&self) -> u16 {
        match *self {
            Action::New(NewOrder { session, .. })
            | Action::Cancel { session, .. }
            | Action::Replace { session, .. } => session,
        }
    }
}
