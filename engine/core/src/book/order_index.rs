//! Finding a live order by id: a direct-mapped table with an overflow map.
//!
//! Ids in the pipeline are assigned by the engine from a counter, so the
//! live orders' ids lie in a window that slides forward. The table is
//! indexed by the id's low bits: one `u32` (the arena index) per slot, no
//! hashing, no probing, and the live window's slots sit next to each other
//! in a few hundred kilobytes that stay in cache. The slot does not store
//! the id; the order in the arena does, and reading it is the next thing a
//! cancel does anyway.
//!
//! Two live ids can share a slot only if one is older than the table is
//! long (or the ids were chosen adversarially, as a replay file may). The
//! second one then goes to the overflow map (Robin Hood hashing, see
//! `id_map.rs`), which is sized for the book's whole capacity, so nothing is
//! ever refused or reallocated; lookups pay for it only when the overflow
//! map is not empty.

use super::arena::OrderArena;
use super::id_map::IdMap;
use super::level::NIL;
use crate::types::OrderId;

#[derive(Debug)]
pub struct OrderIndex {
    /// Arena index of the order whose id maps to each slot, or `NIL`.
    direct: Vec<u32>,
    mask: u64,
    /// Orders whose direct slot was taken when they arrived.
    overflow: IdMap,
    overflowed: usize,
}

impl OrderIndex {
    /// An index for up to `capacity` live orders.
    pub fn with_capacity(capacity: usize) -> Self {
        let size = (capacity.max(1) * 2).next_power_of_two();
        OrderIndex {
            // Zeroed allocation: pages are committed as ids land in them.
            direct: vec![NIL; size],
            mask: size as u64 - 1,
            overflow: IdMap::with_capacity(capacity),
            overflowed: 0,
        }
    }

    /// Touches every page of the direct table now, so that no page fault
    /// lands on the hot path later.
    pub fn prefault(&mut self) {
        for page in self.direct.chunks_mut(1024) {
            // An opaque value: the compiler cannot drop a store it cannot see is redundant.
            page[0] = std::hint::black_box(NIL);
        }
        self.overflow.prefault();
    }

    #[inline(always)]
    fn slot(&self, id: OrderId) -> usize {
        (id & self.mask) as usize
    }

    /// The arena index of live order `id`.
    #[inline(always)]
    pub fn get(&self, id: OrderId, arena: &OrderArena) -> Option<u32> {
        let i = self.direct[self.slot(id)];
        if i != NIL && arena.get(i).id == id {
            return Some(i);
        }
        if self.overflowed == 0 {
            return None;
        }
        self.overflow.get(id)
    }

    /// Records that live order `id` is in arena slot `index`. `id` must not be live.
    #[inline(always)]
    pub fn insert(&mut self, id: OrderId, index: u32) {
        let slot = self.slot(id);
        if self.direct[slot] == NIL {
            self.direct[slot] = index;
        } else {
            self.overflow.insert(id, index);
            self.overflowed += 1;
        }
    }

    /// Forgets live order `id`, returning its arena index.
    #[inline(always)]
    pub fn remove(&mut self, id: OrderId, arena: &OrderArena) -> Option<u32> {
        let slot = self.slot(id);
        let i = self.direct[slot];
        if i != NIL && arena.get(i).id == id {
            self.direct[slot] = NIL;
            return Some(i);
        }
        if self.overflowed == 0 {
            return None;
        }
        let i = self.overflow.remove(id)?;
        self.overflowed -= 1;
        Some(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::arena::Order;
    use crate::types::Side;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn order(id: OrderId) -> Order {
        Order::new(id, 1, 0, Side::Buy, 0, false)
    }

    proptest! {
        /// A tiny table (16 slots) and ids up to 300, so most ids collide and
        /// the overflow map is exercised as much as the direct table.
        #[test]
        fn agrees_with_hashmap(ops in prop::collection::vec((any::<bool>(), 0u64..300), 0..300)) {
            let mut arena = OrderArena::new(8);
            let mut index = OrderIndex::with_capacity(8);
            let mut model: HashMap<OrderId, u32> = HashMap::new();
            for (insert, id) in ops {
                if insert && !model.contains_key(&id) && !arena.is_full() {
                    let slot = arena.insert(order(id), 0).unwrap();
                    index.insert(id, slot);
                    model.insert(id, slot);
                } else if !insert {
                    let removed = index.remove(id, &arena);
                    prop_assert_eq!(removed, model.remove(&id));
                    if let Some(slot) = removed {
                        arena.remove(slot);
                    }
                }
                prop_assert_eq!(index.get(id, &arena), model.get(&id).copied());
            }
            for (id, slot) in &model {
                prop_assert_eq!(index.get(*id, &arena), Some(*slot));
            }
        }
    }
}
