//! A map from ids the gateway assigns itself (engine order ids, command
//! sequences) to small `Copy` values: a direct-mapped table with an overflow map.
//!
//! Both kinds of id come from a counter, so the live ones lie in a window
//! that slides forward. The table is indexed by the id's low bits: no
//! hashing, no probing, one slot holding the full id (to tell a live id from
//! an older or newer one sharing the slot) beside its value, and the live
//! window's slots sit next to each other, so the hot ones stay in cache. A
//! general hash map scatters consecutive ids over its whole table instead,
//! and std's pays for SipHash before each of those cache misses: with three
//! such maps they were where the poll loop spent most of its CPU (the
//! profile of the poll loop is in docs/performance.md, section "loadgen
//! over TCP").
//!
//! Two live ids share a slot only when one is older than the table is long:
//! a resting order that outlived a whole table's worth of commands. The
//! newcomer then goes to the overflow map, a seeded foldhash map: a client
//! that keeps many orders resting makes more newcomers go there, but each
//! costs one hash lookup, never a scan. Lookups consult the overflow map
//! only while it is not empty, and an id that went there comes back to its
//! slot if it is inserted again once the slot is free.
//!
//! Everything is allocated up front: the slots are written once at setup,
//! so their pages are committed then, not on the hot path. The overflow map
//! starts with room for `OVERFLOW_CAPACITY` ids and allocates only if more
//! are there at once.
//!
//! The same idea sits in the engine (`engine/core/src/book/order_index.rs`), tied
//! to its order arena; this one is generic and stores the id and value
//! itself. loadgen's order table uses it too (its client order ids come
//! from a counter as well).

use std::collections::HashMap;

use foldhash::fast::RandomState;

/// Overflow entries preallocated: collisions with long-lived entries are rare.
const OVERFLOW_CAPACITY: usize = 1024;

#[derive(Debug, Clone, Copy)]
struct Slot<V> {
    /// The id held here. A free slot `i` holds `!i`: its low bits are never
    /// `i` (the table has at least two slots), so no id that maps to slot `i`
    /// can equal it, and a lookup needs only the one comparison `key == id`.
    key: u64,
    value: V,
}

/// Ids (assigned from a counter) → values. See the module doc.
#[derive(Debug)]
pub struct IdTable<V> {
    slots: Box<[Slot<V>]>,
    mask: u64,
    /// Ids whose slot was held by another live id when they were inserted.
    overflow: HashMap<u64, V, RandomState>,
    len: usize,
}

impl<V: Copy + Default> IdTable<V> {
    /// A table of `slots` slots (rounded up to a power of two, at least 2).
    /// It holds any number of ids; it stays fast while the live ones span
    /// fewer than `slots` consecutive ids.
    pub fn with_slots(slots: usize) -> Self {
        let size = slots.max(2).next_power_of_two();
        let slots = (0..size)
            .map(|i| Slot {
                key: Self::free(i),
                value: V::default(),
            })
            .collect();
        IdTable {
            slots,
            mask: size as u64 - 1,
            overflow: HashMap::with_capacity_and_hasher(OVERFLOW_CAPACITY, RandomState::default()),
            len: 0,
        }
    }

    /// What a free slot `i` holds.
    #[inline]
    fn free(i: usize) -> u64 {
        !(i as u64)
    }

    #[inline]
    fn index(&self, id: u64) -> usize {
        (id & self.mask) as usize
    }

    /// Ids stored.
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every id stored and its value, in no particular order (a scan of
    /// the whole table: for reports, not for the hot path).
    pub fn iter(&self) -> impl Iterator<Item = (u64, &V)> {
        let direct = self
            .slots
            .iter()
            .enumerate()
            .filter(|(i, slot)| slot.key != Self::free(*i))
            .map(|(_, slot)| (slot.key, &slot.value));
        direct.chain(self.overflow.iter().map(|(&id, v)| (id, v)))
    }

    /// Ids stored in the overflow map (that found their slot taken).
    #[cfg(test)]
    pub fn overflowed(&self) -> usize {
        self.overflow.len()
    }

    /// Asks the CPU to start loading `id`'s slot into the cache, without
    /// waiting for it: a caller that knows which ids it will touch next
    /// (the next ids of a counter, the events of a batch) overlaps those
    /// memory accesses instead of waiting for each in turn. A hint only
    /// (`crate::prefetch`): it changes no state. A slot may straddle two
    /// cache lines (the registry's are 48 bytes): both are asked for.
    #[inline]
    pub fn prefetch(&self, id: u64) {
        crate::prefetch(&self.slots[self.index(id)]);
    }

    #[inline]
    pub fn get(&self, id: u64) -> Option<&V> {
        let slot = &self.slots[self.index(id)];
        if slot.key == id {
            return Some(&slot.value);
        }
        if self.overflow.is_empty() {
            return None;
        }
        self.overflow.get(&id)
    }

    #[inline]
    pub fn get_mut(&mut self, id: u64) -> Option<&mut V> {
        let i = self.index(id);
        if self.slots[i].key == id {
            return Some(&mut self.slots[i].value);
        }
        if self.overflow.is_empty() {
            return None;
        }
        self.overflow.get_mut(&id)
    }

    /// Stores `value` for `id`, returning the value it replaces, if any.
    #[inline]
    pub fn insert(&mut self, id: u64, value: V) -> Option<V> {
        let i = self.index(id);
        let free = Self::free(i);
        let slot = &mut self.slots[i];
        if slot.key == id {
            return Some(std::mem::replace(&mut slot.value, value));
        }
        let replaced = if slot.key == free {
            // The id may be in the overflow map from when its slot was
            // taken: it comes back to its slot, so it is never in both.
            let old = if self.overflow.is_empty() {
                None
            } else {
                self.overflow.remove(&id)
            };
            *slot = Slot { key: id, value };
            old
        } else {
            self.overflow.insert(id, value)
        };
        if replaced.is_none() {
            self.len += 1;
        }
        replaced
    }

    /// Forgets `id`, returning its value.
    #[inline]
    pub fn remove(&mut self, id: u64) -> Option<V> {
        let i = self.index(id);
        let free = Self::free(i);
        let slot = &mut self.slots[i];
        let removed = if slot.key == id {
            slot.key = free;
            Some(slot.value)
        } else if self.overflow.is_empty() {
            None
        } else {
            self.overflow.remove(&id)
        };
        if removed.is_some() {
            self.len -= 1;
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn insert_get_remove() {
        let mut t = IdTable::<u32>::with_slots(8);
        assert!(t.is_empty());
        assert_eq!(t.get(5), None);
        assert_eq!(t.insert(5, 50), None);
        assert_eq!(t.insert(6, 60), None);
        assert_eq!(t.get(5), Some(&50));
        assert_eq!(t.get(6), Some(&60));
        assert_eq!(t.len(), 2);
        if let Some(v) = t.get_mut(6) {
            *v += 1;
        }
        assert_eq!(t.get(6), Some(&61));
        assert_eq!(t.insert(5, 55), Some(50), "insert replaces, like a map");
        assert_eq!(t.len(), 2);
        assert_eq!(t.remove(5), Some(55));
        assert_eq!(t.remove(5), None);
        assert_eq!(t.get(5), None);
        assert!(t.get(6).is_some());
        assert_eq!(t.len(), 1);
        assert_eq!(t.overflowed(), 0);
    }

    #[test]
    fn a_free_slot_matches_no_id() {
        // Slot i holds !i while free; ids 0 and u64::MAX (slot 7 of 8, whose
        // free marker is !7) must still be absent, then storable.
        let mut t = IdTable::<u32>::with_slots(8);
        for id in [0, 7, u64::MAX, !0u64 - 7, !7u64] {
            assert_eq!(t.get(id), None, "id {id:#x}");
            assert_eq!(t.remove(id), None, "id {id:#x}");
        }
        assert_eq!(t.insert(u64::MAX, 1), None);
        assert_eq!(t.get(u64::MAX), Some(&1));
        assert_eq!(t.get(7), None);
        assert_eq!(t.remove(u64::MAX), Some(1));
        assert_eq!(t.get(u64::MAX), None);
    }

    #[test]
    fn a_sliding_window_never_overflows() {
        let mut t = IdTable::<u64>::with_slots(16);
        for id in 0..1000u64 {
            t.insert(id, id * 10);
            if id >= 10 {
                assert_eq!(t.remove(id - 10), Some((id - 10) * 10));
            }
            assert_eq!(t.overflowed(), 0);
        }
        assert_eq!(t.len(), 10);
    }

    #[test]
    fn collisions_go_to_overflow_and_come_back() {
        let mut t = IdTable::<u32>::with_slots(8);
        // 3 is old and long-lived; 11 and 19 share its slot.
        t.insert(3, 30);
        t.insert(11, 110);
        t.insert(19, 190);
        assert_eq!(t.overflowed(), 2);
        assert_eq!(t.len(), 3);
        assert_eq!(
            (t.get(3), t.get(11), t.get(19)),
            (Some(&30), Some(&110), Some(&190))
        );
        assert_eq!(t.get(27), None, "same slot, never inserted");
        if let Some(v) = t.get_mut(19) {
            *v = 191;
        }
        assert_eq!(t.insert(11, 111), Some(110), "replaced in the overflow map");
        assert_eq!(t.overflowed(), 2);

        // The old one leaves: the slot is free, the others stay reachable.
        assert_eq!(t.remove(3), Some(30));
        assert_eq!(
            (t.get(3), t.get(11), t.get(19)),
            (None, Some(&111), Some(&191))
        );

        // Inserting an overflowed id again brings it back to its slot,
        // keeping one copy only.
        assert_eq!(t.insert(11, 112), Some(111));
        assert_eq!(t.overflowed(), 1);
        assert_eq!(t.get(11), Some(&112));
        assert_eq!(t.remove(11), Some(112));
        assert_eq!(t.get(11), None);

        // Once the overflow map is empty, lookups are direct again.
        assert_eq!(t.remove(19), Some(191));
        assert_eq!(t.overflowed(), 0);
        assert!(t.is_empty());
        t.insert(27, 270);
        assert_eq!(t.overflowed(), 0, "a free slot takes the next id directly");
        assert_eq!(t.get(27), Some(&270));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u64, u32),
        Remove(u64),
        Bump(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        // Ids near each other (a window over a 16-slot table, so most
        // collide) and a few anywhere in the u64 range.
        let id = prop_oneof![9 => 0u64..200, 1 => any::<u64>()];
        prop_oneof![
            4 => (id.clone(), any::<u32>()).prop_map(|(k, v)| Op::Insert(k, v)),
            3 => id.clone().prop_map(Op::Remove),
            1 => id.prop_map(Op::Bump),
        ]
    }

    proptest! {
        #[test]
        fn agrees_with_hashmap(ops in prop::collection::vec(op(), 0..400)) {
            let mut table = IdTable::<u32>::with_slots(16);
            let mut model = std::collections::HashMap::<u64, u32>::new();
            for op in ops {
                let id = match op {
                    Op::Insert(id, v) => {
                        prop_assert_eq!(table.insert(id, v), model.insert(id, v));
                        id
                    }
                    Op::Remove(id) => {
                        prop_assert_eq!(table.remove(id), model.remove(&id));
                        id
                    }
                    Op::Bump(id) => {
                        let t = table.get_mut(id).map(|v| { *v = v.wrapping_add(1); *v });
                        let m = model.get_mut(&id).map(|v| { *v = v.wrapping_add(1); *v });
                        prop_assert_eq!(t, m);
                        id
                    }
                };
                prop_assert_eq!(table.get(id), model.get(&id));
                prop_assert_eq!(table.len(), model.len());
            }
            for (id, v) in &model {
                prop_assert_eq!(table.get(*id), Some(v));
            }
            let mut listed: Vec<(u64, u32)> = table.iter().map(|(id, v)| (id, *v)).collect();
            let mut expected: Vec<(u64, u32)> = model.into_iter().collect();
            listed.sort_unstable();
            expected.sort_unstable();
            prop_assert_eq!(listed, expected);
        }
    }
}
