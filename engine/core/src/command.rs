//! Commands: what the engine is asked to do.
//!
//! A `Command` is a small `Copy` value so that it can live in a preallocated
//! ring slot and be overwritten in place; it owns nothing on the heap.

use crate::risk::{AccountLimits, Collar};
use crate::types::{Account, ClientOrderId, OrderId, Price, Qty, Side, Symbol, TimeInForce};

/// One instruction to the matching engine. Instruments are defined at setup
/// (`Engine::add_instrument`), not by commands, so that the hot path never
/// allocates a book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// A new limit order (`N` in the replay format).
    New {
        symbol: Symbol,
        id: OrderId,
        account: Account,
        /// The owner's id for the order, kept while it rests (0 when the
        /// command did not come from a client, e.g. a spec replay file).
        client_order_id: ClientOrderId,
        side: Side,
        price: Price,
        qty: Qty,
        tif: TimeInForce,
    },
    /// A new market order: immediate or cancel at any price (`M`).
    Market {
        symbol: Symbol,
        id: OrderId,
        account: Account,
        /// As `New`'s; a market order never rests, so only the journal keeps it.
        client_order_id: ClientOrderId,
        side: Side,
        qty: Qty,
    },
    /// Cancel a live order (`C`).
    Cancel { symbol: Symbol, id: OrderId },
    /// Replace a live order's price and open quantity (`R`).
    Replace {
        symbol: Symbol,
        id: OrderId,
        price: Price,
        qty: Qty,
    },
    /// Halt (`halt: true`) or resume an instrument (`H`). The commands
    /// below are an operator's or the gateway's, never a trader's:
    /// docs/matching.md, "Controls and pre-trade risk".
    Halt { symbol: Symbol, halt: bool },
    /// Block (`block: true`, the kill switch) or unblock an account (`K`).
    Block { account: Account, block: bool },
    /// Set an account's limits (`L`).
    Limits {
        account: Account,
        limits: AccountLimits,
    },
    /// Set an instrument's price collar (`P`).
    Collar { symbol: Symbol, collar: Collar },
}

impl Command {
    /// The instrument the command is for (0 for the account commands
    /// `Block` and `Limits`).
    #[inline]
    pub fn symbol(&self) -> Symbol {
        match *self {
            Command::New { symbol, .. }
            | Command::Market { symbol, .. }
            | Command::Cancel { symbol, .. }
            | Command::Replace { symbol, .. }
            | Command::Halt { symbol, .. }
            | Command::Collar { symbol, .. } => symbol,
            Command::Block { .. } | Command::Limits { .. } => 0,
        }
    }

    /// The order the command is about (0 for the control commands).
    #[inline]
    pub fn order_id(&self) -> OrderId {
        match *self {
            Command::New { id, .. }
            | Command::Market { id, .. }
            | Command::Cancel { id, .. }
            | Command::Replace { id, .. } => id,
            Command::Halt { .. }
            | Command::Block { .. }
            | Command::Limits { .. }
            | Command::Collar { .. } => 0,
        }
    }

    /// `true` for an order command (`N`, `M`, `C`, `R`), `false` for a
    /// control command (`H`, `K`, `L`, `P`).
    #[inline]
    pub fn is_order(&self) -> bool {
        matches!(
            self,
            Command::New { .. }
                | Command::Market { .. }
                | Command::Cancel { .. }
                | Command::Replace { .. }
        )
    }
}

impl Default for Command {
    /// A harmless placeholder for preallocated ring slots.
    fn default() -> Self {
        Command::Cancel { symbol: 0, id: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_still_fits_in_48_bytes() {
        // Ring slots hold one; the control commands must not grow them.
        assert!(std::mem::size_of::<Command>() <= 48);
    }
}
