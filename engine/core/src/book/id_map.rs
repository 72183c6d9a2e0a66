//! A fixed-capacity map from order id to arena index.
//!
//! Open addressing with linear probing and backward-shift deletion: a lookup
//! is a multiply, a shift and (almost always) one cache line; a delete leaves
//! no tombstone, so the table never needs the rehash that a general-purpose
//! hash map performs when tombstones pile up, and never grows. The table is
//! sized to at least twice the capacity at construction, so it stays at most
//! half full and probe sequences stay short.
//!
//! The hash keeps neighbouring ids in neighbouring slots: the slot is the
//! id's low bits, XOR-folded with its higher bits. An engine assigns ids from
//! a counter, so the live orders' ids fall in a window and their slots form
//! a compact, cache-friendly run instead of being scattered over the whole
//! table (with a scrambling hash, every lookup in a large table is a cache
//! miss; docs/performance.md, section "Engine: `replay --bench`", has what
//! the direct-mapped layout bought on the benchmark stream). The folding spreads
//! ids that differ only in their high bits (strided ids). It is deterministic
//! and not keyed against adversarial ids; in the pipeline ids are
//! engine-assigned, so clients cannot choose them.

/// Value meaning "empty slot" (arena index 0 is never used).
const EMPTY: u64 = 0;

/// A map `u64 -> u32` (nonzero values) of bounded size that never allocates
/// after construction.
///
/// Robin Hood ordering: an insert that has probed further than the entry in
/// its way takes that slot and carries the displaced entry on. Entries then
/// sit in the order of their home slots, so a lookup stops as soon as it
/// meets an entry closer to home than itself, and a delete shifts entries
/// back only until one is at home. With consecutive ids every entry is at
/// home and both are O(1), however full the run is.
#[derive(Debug)]
pub struct IdMap {
    /// `key, value` pairs flattened (`slots[2i]`, `slots[2i + 1]`);
    /// `value == EMPTY` marks a free slot.
    slots: Vec<u64>,
    mask: usize,
    bits: u32,
}

impl IdMap {
    /// A map for up to `capacity` entries.
    pub fn with_capacity(capacity: usize) -> Self {
        let size = (capacity.max(1) * 2).next_power_of_two().max(16);
        IdMap {
            // Zeroed allocation: pages are committed as ids land in them.
            slots: vec![0; 2 * size],
            mask: size - 1,
            bits: size.trailing_zeros(),
        }
    }

    /// Touches every page now, so that no page fault lands on the hot path later.
    pub fn prefault(&mut self) {
        for page in self.slots.chunks_mut(512) {
            // An opaque zero: the compiler cannot drop a store it cannot see is redundant.
            page[0] = std::hint::black_box(EMPTY);
        }
    }

    #[inline]
    fn home(&self, key: u64) -> usize {
        let mut folded = key;
        let mut rest = key >> self.bits;
        while rest != 0 {
            folded ^= rest;
            rest >>= self.bits;
        }
        folded as usize & self.mask
    }

    #[inline]
    fn key(&self, i: usize) -> u64 {
        self.slots[2 * i]
    }

    #[inline]
    fn value(&self, i: usize) -> u64 {
        self.slots[2 * i + 1]
    }

    /// How far the entry in (occupied) slot `i` is from its home slot.
    #[inline]
    fn distance(&self, i: usize) -> usize {
        i.wrapping_sub(self.home(self.key(i))) & self.mask
    }

    /// The slot holding `key`, if present.
    #[inline]
    fn find(&self, key: u64) -> Option<usize> {
        let mut i = self.home(key);
        let mut dist = 0;
        loop {
            if self.value(i) == EMPTY {
                return None;
            }
            if self.key(i) == key {
                return Some(i);
            }
            // Robin Hood order: `key` would have displaced an entry closer to home.
            if self.distance(i) < dist {
                return None;
            }
            i = (i + 1) & self.mask;
            dist += 1;
        }
    }

    /// The value stored for `key`.
    #[inline]
    pub fn get(&self, key: u64) -> Option<u32> {
        self.find(key).map(|i| self.value(i) as u32)
    }

    /// Stores `value` (nonzero) for `key`, which must not be present. The
    /// caller bounds the number of entries to the capacity.
    #[inline]
    pub fn insert(&mut self, key: u64, value: u32) {
        debug_assert!(u64::from(value) != EMPTY);
        let (mut key, mut value) = (key, u64::from(value));
        let mut i = self.home(key);
        let mut dist = 0;
        loop {
            if self.value(i) == EMPTY {
                self.slots[2 * i] = key;
                self.slots[2 * i + 1] = value;
                return;
            }
            let theirs = self.distance(i);
            if theirs < dist {
                // Take the slot from the richer entry and carry it on.
                std::mem::swap(&mut key, &mut self.slots[2 * i]);
                std::mem::swap(&mut value, &mut self.slots[2 * i + 1]);
                dist = theirs;
            }
            i = (i + 1) & self.mask;
            dist += 1;
        }
    }

    /// Removes `key`, returning its value.
    #[inline]
    pub fn remove(&mut self, key: u64) -> Option<u32> {
        let mut hole = self.find(key)?;
        let value = self.value(hole) as u32;
        // Backward shift: pull the following entries of the run one slot
        // back, until an empty slot or an entry already at home.
        loop {
            let next = (hole + 1) & self.mask;
            if self.value(next) == EMPTY || self.distance(next) == 0 {
                break;
            }
            self.slots[2 * hole] = self.slots[2 * next];
            self.slots[2 * hole + 1] = self.slots[2 * next + 1];
            hole = next;
        }
        self.slots[2 * hole] = 0;
        self.slots[2 * hole + 1] = EMPTY;
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    proptest! {
        #[test]
        fn agrees_with_hashmap(ops in prop::collection::vec((0u8..3, 0u64..64, 1u32..1000), 0..400)) {
            let mut map = IdMap::with_capacity(64);
            let mut model = HashMap::new();
            for (op, key, value) in ops {
                // Spread keys so they share home slots and probe runs wrap.
                let key = key.wrapping_mul(0x1_0000_0001);
                match op {
                    0 if !model.contains_key(&key) => { map.insert(key, value); model.insert(key, value); }
                    1 => { prop_assert_eq!(map.remove(key), model.remove(&key)); }
                    _ => {}
                }
                prop_assert_eq!(map.get(key), model.get(&key).copied());
            }
            for (k, v) in &model {
                prop_assert_eq!(map.get(*k), Some(*v));
            }
        }
    }
}
