//! Which session owns each live order, under which client order id.
//!
//! Engine order ids are the sequence numbers of the commands that created
//! the orders: unique, monotonic, and continued across restarts by the
//! journal, so the gateway assigns them without a counter of its own.
//! Events carry engine ids only; this registry turns them back into the
//! owning session and its client order id, and tracks leaves so fills can
//! report them.

use std::collections::HashMap;

/// A session as seen by its orders: its slot and the slot's generation, so
/// an order of a closed session is never routed to the next session that
/// reuses the slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionRef {
    pub slot: usize,
    pub generation: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderInfo {
    pub owner: SessionRef,
    pub client_order_id: u64,
    pub instrument: u32,
    pub leaves: u64,
}

/// Live orders by engine id. Preallocated for `capacity` orders; beyond it
/// the map grows (an allocation on the hot path, so size it for the load).
#[derive(Debug)]
pub struct Registry {
    orders: HashMap<u64, OrderInfo>,
}

impl Registry {
    pub fn with_capacity(capacity: usize) -> Self {
        Registry {
            orders: HashMap::with_capacity(capacity),
        }
    }

    #[inline]
    pub fn insert(&mut self, engine_id: u64, info: OrderInfo) {
        self.orders.insert(engine_id, info);
    }

    #[inline]
    pub fn get_mut(&mut self, engine_id: u64) -> Option<&mut OrderInfo> {
        self.orders.get_mut(&engine_id)
    }

    #[inline]
    pub fn remove(&mut self, engine_id: u64) -> Option<OrderInfo> {
        self.orders.remove(&engine_id)
    }

    #[inline]
    pub fn get(&self, engine_id: u64) -> Option<&OrderInfo> {
        self.orders.get(&engine_id)
    }
}
