//! Preallocated storage for resting orders, with a free list.
//!
//! Orders refer to each other by `u32` arena index instead of by pointer: a
//! level's FIFO is a doubly linked list threaded through the arena, so
//! cancelling an order is O(1) (unlink by index) and nothing is ever
//! allocated or freed on the hot path. Index 0 is never handed out, so that
//! 0 can mean "no order" (`NIL`) in the links.

use super::level::NIL;
use crate::types::{Account, ClientOrderId, OrderId, Qty, Side};

/// A resting order, linked into its level's FIFO. 32 bytes, so two share a
/// cache line and none straddles two: a cancel touches the order and its
/// two neighbours, and each is one line.
#[derive(Debug, Clone, Copy)]
#[repr(align(32))]
pub struct Order {
    pub id: OrderId,
    pub leaves: Qty,
    pub account: Account,
    /// Previous (older) order at the same level, or `NIL`.
    pub prev: u32,
    /// Next (newer) order at the same level, or `NIL`; the free list's link
    /// while the slot is free.
    pub next: u32,
    /// Ladder index of the price (bits 0-29), sell side (bit 30), post-only (bit 31).
    place: u32,
}

/// Largest ladder index an order can record (the band limit, see `EngineConfig`).
pub const MAX_LEVELS: usize = 1 << 30;
const LEVEL_BITS: u32 = (MAX_LEVELS - 1) as u32;
const SELL: u32 = 1 << 30;
const POST_ONLY: u32 = 1 << 31;

impl Order {
    /// An unlinked order at ladder index `level` (below `MAX_LEVELS`).
    #[inline(always)]
    pub fn new(
        id: OrderId,
        leaves: Qty,
        account: Account,
        side: Side,
        level: usize,
        post_only: bool,
    ) -> Self {
        let side_bit = if side == Side::Sell { SELL } else { 0 };
        let post_bit = if post_only { POST_ONLY } else { 0 };
        Order {
            id,
            leaves,
            account,
            prev: NIL,
            next: NIL,
            place: (level as u32 & LEVEL_BITS) | side_bit | post_bit,
        }
    }

    /// Index of the order's price in its side's ladder.
    #[inline(always)]
    pub fn level(&self) -> usize {
        (self.place & LEVEL_BITS) as usize
    }

    /// Moves the order to ladder index `level` (it must be unlinked).
    #[inline(always)]
    pub fn set_level(&mut self, level: usize) {
        self.place = (self.place & !LEVEL_BITS) | (level as u32 & LEVEL_BITS);
    }

    #[inline(always)]
    pub fn side(&self) -> Side {
        if self.place & SELL != 0 {
            Side::Sell
        } else {
            Side::Buy
        }
    }

    /// Post-only orders stay post-only when replaced.
    #[inline(always)]
    pub fn post_only(&self) -> bool {
        self.place & POST_ONLY != 0
    }
}

const EMPTY: Order = Order {
    id: 0,
    leaves: 0,
    account: 0,
    prev: NIL,
    next: NIL,
    place: 0,
};

/// A fixed-capacity slab of orders.
#[derive(Debug)]
pub struct OrderArena {
    /// Slots handed out so far (slot 0 is the unused sentinel). Reserved at
    /// full capacity up front and only pushed to while below it, so it never
    /// reallocates; untouched capacity is address space, not memory.
    slots: Vec<Order>,
    /// Each slot's client order id, beside `slots` rather than in `Order`:
    /// it is written when an order rests and read only by snapshots and
    /// dumps, so matching never loads it, and `Order` stays two to a line.
    client_order_ids: Vec<ClientOrderId>,
    /// Head of the free list (through `Order::next`), or `NIL`.
    free: u32,
    capacity: u32,
}

impl OrderArena {
    /// Room for `capacity` live orders.
    pub fn new(capacity: u32) -> Self {
        let mut slots = Vec::with_capacity(capacity as usize + 1);
        slots.push(EMPTY);
        let mut client_order_ids = Vec::with_capacity(capacity as usize + 1);
        client_order_ids.push(0);
        OrderArena {
            slots,
            client_order_ids,
            free: NIL,
            capacity,
        }
    }

    /// Touches all the reserved memory now, so that no page fault lands on
    /// the hot path later (the slots stay unused).
    pub fn prefault(&mut self) {
        for slot in self.slots.spare_capacity_mut() {
            slot.write(EMPTY);
        }
        for slot in self.client_order_ids.spare_capacity_mut() {
            slot.write(0);
        }
    }

    /// `true` when no slot is free.
    #[inline(always)]
    pub fn is_full(&self) -> bool {
        self.free == NIL && self.slots.len() > self.capacity as usize
    }

    /// Stores `order`, placed by its owner under `client_order_id`, and
    /// returns its index, or `None` when full.
    #[inline(always)]
    pub fn insert(&mut self, order: Order, client_order_id: ClientOrderId) -> Option<u32> {
        if self.free != NIL {
            let i = self.free;
            let slot = &mut self.slots[i as usize];
            self.free = slot.next;
            *slot = order;
            self.client_order_ids[i as usize] = client_order_id;
            Some(i)
        } else if self.slots.len() <= self.capacity as usize {
            let i = self.slots.len() as u32;
            self.slots.push(order);
            self.client_order_ids.push(client_order_id);
            Some(i)
        } else {
            None
        }
    }

    /// Returns slot `i` to the free list.
    #[inline(always)]
    pub fn remove(&mut self, i: u32) {
        self.slots[i as usize].next = self.free;
        self.free = i;
    }

    #[inline(always)]
    pub fn get(&self, i: u32) -> &Order {
        &self.slots[i as usize]
    }

    /// The client order id of the order in slot `i`.
    pub fn client_order_id(&self, i: u32) -> ClientOrderId {
        self.client_order_ids[i as usize]
    }

    #[inline(always)]
    pub fn get_mut(&mut self, i: u32) -> &mut Order {
        &mut self.slots[i as usize]
    }
}
