//! An account's live orders by client order id: client order id → engine id.
//!
//! The client chooses these ids, possibly to collide, so the table cannot
//! be indexed by the id's bits as the gateway's own ids are
//! (`idtable::IdTable`):
//! a client could send ids that all land in one slot, and the time its
//! lookups then took would be taken from every session on the shared poll
//! loop. Ids are hashed with foldhash (a multiply and a fold per `u64`),
//! keyed by a per-map seed from the OS's random source that the client
//! cannot know (`client_order_hasher`).
//!
//! Why not std's `HashMap` (which this replaced): every order that ends
//! (filled, cancelled, expired) removes its entry, and under load those
//! removals were the poll loop's most expensive lookups, a cache miss each
//! (the profile: docs/performance.md, section "loadgen over TCP"). The engine ids
//! of a batch of events are known before they are routed, and from the
//! registry their client order ids, so the poll loop can ask for the lines
//! those removals will touch ahead of time (`prefetch`); `HashMap` offers
//! no way to name the slot an id will use, this table does: its home slot.
//!
//! Open addressing with linear probing, 16-byte entries (four to a cache
//! line), at most half full, and deletion by shifting the rest of the probe
//! run back (no tombstones, so lookups never slow down with churn). Engine
//! ids start at 1, so id 0 marks a free slot. The table starts with room
//! for `MIN_SLOTS / 2` live orders and doubles when it needs to (an
//! allocation, as `HashMap`'s growth was; never shrinks).

use std::hash::{BuildHasher, Hasher, RandomState};

use foldhash::SharedSeed;
use foldhash::fast::SeedableRandomState;

/// Slots a session starts with.
const MIN_SLOTS: usize = 2048;

#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    client_order_id: u64,
    /// 0: the slot is free.
    engine_id: u64,
}

/// Client order id → engine id, for one session. See the module doc.
#[derive(Debug)]
pub struct ClientOrders {
    slots: Box<[Entry]>,
    mask: usize,
    len: usize,
    hasher: SeedableRandomState,
}

impl Default for ClientOrders {
    fn default() -> Self {
        ClientOrders::with_slots(MIN_SLOTS)
    }
}

impl ClientOrders {
    /// A table of `slots` slots (rounded up to a power of two, at least 2).
    pub fn with_slots(slots: usize) -> Self {
        let size = slots.max(2).next_power_of_two();
        ClientOrders {
            slots: vec![Entry::default(); size].into_boxed_slice(),
            mask: size - 1,
            len: 0,
            hasher: client_order_hasher(),
        }
    }

    /// Live orders.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.len
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    fn home(&self, client_order_id: u64) -> usize {
        (self.hasher.hash_one(client_order_id) as usize) & self.mask
    }

    /// The slot holding `client_order_id`, if it is live.
    #[inline]
    fn find(&self, client_order_id: u64) -> Option<usize> {
        let mut i = self.home(client_order_id);
        loop {
            let e = self.slots[i];
            if e.engine_id == 0 {
                return None;
            }
            if e.client_order_id == client_order_id {
                return Some(i);
            }
            i = (i + 1) & self.mask;
        }
    }

    /// The engine id of live order `client_order_id`.
    #[inline]
    pub fn get(&self, client_order_id: u64) -> Option<u64> {
        self.find(client_order_id).map(|i| self.slots[i].engine_id)
    }

    #[inline]
    pub fn contains(&self, client_order_id: u64) -> bool {
        self.find(client_order_id).is_some()
    }

    /// Records `client_order_id` → `engine_id` (engine ids are never 0),
    /// returning the engine id it replaces, if any.
    #[inline]
    pub fn insert(&mut self, client_order_id: u64, engine_id: u64) -> Option<u64> {
        debug_assert_ne!(engine_id, 0, "engine ids start at 1");
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let mut i = self.home(client_order_id);
        loop {
            let e = &mut self.slots[i];
            if e.engine_id == 0 {
                *e = Entry {
                    client_order_id,
                    engine_id,
                };
                self.len += 1;
                return None;
            }
            if e.client_order_id == client_order_id {
                return Some(std::mem::replace(&mut e.engine_id, engine_id));
            }
            i = (i + 1) & self.mask;
        }
    }

    /// Forgets `client_order_id`, returning its engine id.
    #[inline]
    pub fn remove(&mut self, client_order_id: u64) -> Option<u64> {
        let mut hole = self.find(client_order_id)?;
        let removed = self.slots[hole].engine_id;
        // Shift back every later entry of the probe run that may move into
        // the hole (its home is not between the hole and where it sits).
        let mut j = (hole + 1) & self.mask;
        loop {
            let e = self.slots[j];
            if e.engine_id == 0 {
                break;
            }
            let distance = j.wrapping_sub(self.home(e.client_order_id)) & self.mask;
            let gap = j.wrapping_sub(hole) & self.mask;
            if distance >= gap {
                self.slots[hole] = e;
                hole = j;
            }
            j = (j + 1) & self.mask;
        }
        self.slots[hole] = Entry::default();
        self.len -= 1;
        Some(removed)
    }

    /// The engine id of every live order, in no particular order.
    pub fn engine_ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.slots
            .iter()
            .filter(|e| e.engine_id != 0)
            .map(|e| e.engine_id)
    }

    /// Starts loading the slot where `client_order_id`'s lookup begins (see
    /// `idtable::prefetch`): for an order the poll loop will look up soon.
    #[inline]
    pub fn prefetch(&self, client_order_id: u64) {
        idtable::prefetch(&self.slots[self.home(client_order_id)]);
    }

    /// Twice the slots, every live entry placed again.
    #[cold]
    fn grow(&mut self) {
        let old = std::mem::take(&mut self.slots);
        let size = old.len() * 2;
        self.slots = vec![Entry::default(); size].into_boxed_slice();
        self.mask = size - 1;
        self.len = 0;
        for e in old.iter().filter(|e| e.engine_id != 0) {
            self.insert(e.client_order_id, e.engine_id);
        }
    }
}

/// The hasher of a session's client orders: foldhash, with its per-map seed
/// drawn from std's `RandomState`, whose keys come from the OS's random
/// source. foldhash's own `RandomState` derives its seeds from addresses
/// (ASLR) and the clock, which its docs call minimal DoS resistance; these
/// keys are chosen by a client, so the seed they are mixed with is one the
/// client cannot guess. Once per session, so its cost does not matter.
fn client_order_hasher() -> SeedableRandomState {
    let seed = RandomState::new().build_hasher().finish();
    SeedableRandomState::with_seed(seed, SharedSeed::global_random())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    #[test]
    fn each_client_order_map_has_its_own_seed() {
        // Two maps hashing the same id the same way would let what a client
        // learns about one session's map carry over to the next.
        let (a, b) = (client_order_hasher(), client_order_hasher());
        assert_ne!(a.hash_one(42u64), b.hash_one(42u64));
        assert_eq!(a.hash_one(42u64), a.hash_one(42u64));
    }

    #[test]
    fn insert_get_remove() {
        let mut t = ClientOrders::with_slots(4);
        assert!(t.is_empty());
        assert_eq!(t.insert(7, 70), None);
        assert_eq!(t.insert(u64::MAX, 1), None);
        assert_eq!(
            t.insert(0, 2),
            None,
            "client order id 0 is an id like any other"
        );
        assert_eq!(t.get(7), Some(70));
        assert_eq!(t.get(0), Some(2));
        assert!(t.contains(u64::MAX));
        assert_eq!(t.insert(7, 71), Some(70));
        assert_eq!(t.len(), 3);
        assert_eq!(t.remove(7), Some(71));
        assert_eq!(t.remove(7), None);
        assert_eq!(t.get(7), None);
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn it_grows_and_keeps_every_entry() {
        let mut t = ClientOrders::with_slots(2);
        for id in 0..10_000u64 {
            t.insert(id * 7919, id + 1);
        }
        assert_eq!(t.len(), 10_000);
        assert!(t.slots.len() >= 20_000);
        for id in 0..10_000u64 {
            assert_eq!(t.get(id * 7919), Some(id + 1));
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u64, u64),
        Remove(u64),
        Get(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        // Few distinct ids in a small table: long probe runs, wrap-around
        // at the end of the table, and shifts on removal; some ids anywhere.
        let id = prop_oneof![9 => 0u64..64, 1 => any::<u64>()];
        prop_oneof![
            4 => (id.clone(), 1u64..u64::MAX).prop_map(|(k, v)| Op::Insert(k, v)),
            3 => id.clone().prop_map(Op::Remove),
            2 => id.prop_map(Op::Get),
        ]
    }

    proptest! {
        #[test]
        fn agrees_with_hashmap(ops in prop::collection::vec(op(), 0..500)) {
            let mut table = ClientOrders::with_slots(8);
            let mut model = HashMap::<u64, u64>::new();
            for op in ops {
                match op {
                    Op::Insert(k, v) => prop_assert_eq!(table.insert(k, v), model.insert(k, v)),
                    Op::Remove(k) => prop_assert_eq!(table.remove(k), model.remove(&k)),
                    Op::Get(k) => prop_assert_eq!(table.get(k), model.get(&k).copied()),
                }
                prop_assert_eq!(table.len(), model.len());
            }
            for (k, v) in &model {
                prop_assert_eq!(table.get(*k), Some(*v));
            }
        }
    }
}
