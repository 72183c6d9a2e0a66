//! Which account owns each live order, under which client order id.
//!
//! Engine order ids are the sequence numbers of the commands that created
//! the orders: unique, monotonic, and continued across restarts by the
//! journal, so the gateway assigns them without a counter of its own.
//! Events carry engine ids only; this registry turns them back into the
//! owning account and its client order id, and tracks leaves so fills can
//! report them. The account's current session, if any, is the account
//! table's to say (`accounts.rs`).
//!
//! Because the ids come from the command counter, the live ones lie in a
//! window that slides forward, and the registry is an `IdTable` (a table
//! indexed by the id's low bits) rather than a hash map: every event of the
//! output looks an order up here, so this lookup is the poll loop's most
//! frequent one.

use super::accounts::AccountRef;
use idtable::IdTable;

/// A session as seen by its orders: its slot and the slot's generation, so
/// an order of a closed session is never routed to the next session that
/// reuses the slot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SessionRef {
    pub slot: usize,
    pub generation: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OrderInfo {
    pub owner: AccountRef,
    pub client_order_id: u64,
    pub instrument: u32,
    /// A buy order (else a sell): what a mass cancel by side selects.
    pub buy: bool,
    /// A time in force that rests (GTC, post-only): the order is in the
    /// public book (`public_book.rs`) from its `Accepted` until it ends.
    pub rests: bool,
    /// Its limit price (the latest, after a replace).
    pub price: i64,
    /// Its `Accepted` has been routed (an order status says `Live`, not
    /// `PendingNew`).
    pub accepted: bool,
    pub leaves: u64,
}

impl OrderInfo {
    /// The engine's side of the order.
    #[inline]
    pub fn side(&self) -> matching::Side {
        if self.buy {
            matching::Side::Buy
        } else {
            matching::Side::Sell
        }
    }
}

/// Live orders by engine id. Any number fit; lookups stay direct while the
/// live orders span fewer than `slots` consecutive ids (older orders that
/// collide with newer ones go to the table's overflow map).
#[derive(Debug)]
pub struct Registry {
    orders: IdTable<OrderInfo>,
}

impl Registry {
    pub fn with_slots(slots: usize) -> Self {
        Registry {
            orders: IdTable::with_slots(slots),
        }
    }

    #[inline]
    pub fn insert(&mut self, engine_id: u64, info: OrderInfo) {
        self.orders.insert(engine_id, info);
    }

    #[inline]
    pub fn get_mut(&mut self, engine_id: u64) -> Option<&mut OrderInfo> {
        self.orders.get_mut(engine_id)
    }

    #[inline]
    pub fn remove(&mut self, engine_id: u64) -> Option<OrderInfo> {
        self.orders.remove(engine_id)
    }

    #[inline]
    pub fn get(&self, engine_id: u64) -> Option<&OrderInfo> {
        self.orders.get(engine_id)
    }

    /// Starts loading `engine_id`'s entry into the cache (see `IdTable::prefetch`).
    #[inline]
    pub fn prefetch(&self, engine_id: u64) {
        self.orders.prefetch(engine_id);
    }
}
