//! One price level: a FIFO queue of orders, and its published depth.
//!
//! The matching thread (M) is the only writer of a level. Its queue links
//! (`head`, `tail`) are M's alone. Its depth (`qty`, `count`) is published
//! under a sequence lock so that a market-data thread can read a consistent
//! pair without a lock and without ever making M wait: M bumps `seq` to odd,
//! writes, bumps it to even; a reader retries if it saw an odd `seq` or if
//! `seq` changed while it read.
//!
//! Every field is an atomic so that sharing the ladder with readers is safe
//! Rust; M's own accesses are `Relaxed`, which compile to plain loads and
//! stores on x86-64 and AArch64.

use crate::sync::{AtomicU32, AtomicU64, Ordering::*, PUBLISH, fence};

/// Arena index meaning "no order" (slot 0 of the arena is never used).
pub const NIL: u32 = 0;

/// One price level. 40 bytes; the ladder pads each to a cache-line pair
/// (`crossbeam_utils::CachePadded`), see `docs/padding.md` for why and what it costs.
#[derive(Debug, Default)]
pub struct Level {
    /// Sequence lock over the depth fields: odd while M is writing them.
    seq: AtomicU64,
    /// Total open quantity of the orders at this level, low and high 64
    /// bits: quantities are `u64`, so a level's total can exceed one.
    qty_lo: AtomicU64,
    qty_hi: AtomicU64,
    /// Number of orders at this level.
    count: AtomicU32,
    /// Oldest order (arena index), or `NIL`.
    head: AtomicU32,
    /// Newest order (arena index), or `NIL`.
    tail: AtomicU32,
}

/// A consistent reading of a level's depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LevelDepth {
    /// Total open quantity (a sum of `u64` quantities, so wider).
    pub qty: u128,
    pub count: u32,
}

impl Level {
    /// Oldest order, for M.
    #[inline]
    pub fn head(&self) -> u32 {
        self.head.load(Relaxed)
    }

    /// Newest order, for M.
    #[inline]
    pub fn tail(&self) -> u32 {
        self.tail.load(Relaxed)
    }

    #[inline]
    pub fn set_head(&self, i: u32) {
        self.head.store(i, Relaxed)
    }

    #[inline]
    pub fn set_tail(&self, i: u32) {
        self.tail.store(i, Relaxed)
    }

    /// The depth as M last wrote it. Only M may call this: it skips the
    /// sequence check, which is sound only for the writer itself.
    #[inline]
    pub fn own_depth(&self) -> LevelDepth {
        LevelDepth {
            qty: join(self.qty_lo.load(Relaxed), self.qty_hi.load(Relaxed)),
            count: self.count.load(Relaxed),
        }
    }

    /// Publishes a new depth. Only M (the single writer) may call this.
    #[inline]
    pub fn publish(&self, depth: LevelDepth) {
        let s = self.seq.load(Relaxed);
        self.seq.store(s.wrapping_add(1), Relaxed);
        // Orders the odd `seq` before the data stores; pairs with the
        // reader's `fence(Acquire)` before its second `seq` load.
        fence(Release);
        self.qty_lo.store(depth.qty as u64, Relaxed);
        self.qty_hi.store((depth.qty >> 64) as u64, Relaxed);
        self.count.store(depth.count, Relaxed);
        // Release (PUBLISH): hands over the data; pairs with the reader's
        // first `seq` load (Acquire).
        self.seq.store(s.wrapping_add(2), PUBLISH);
    }

    /// Reads a consistent depth from any thread. Never blocks M; retries
    /// while M is mid-write (a few nanoseconds at most).
    #[inline]
    pub fn read_depth(&self) -> LevelDepth {
        loop {
            // Pairs with the writer's final `seq` store (Release).
            let s1 = self.seq.load(Acquire);
            if s1 & 1 == 1 {
                crate::sync::spin_hint();
                continue;
            }
            let depth = LevelDepth {
                qty: join(self.qty_lo.load(Relaxed), self.qty_hi.load(Relaxed)),
                count: self.count.load(Relaxed),
            };
            // Keeps the data loads before the second `seq` load; pairs with
            // the writer's `fence(Release)` after its odd `seq` store.
            fence(Acquire);
            let s2 = self.seq.load(Relaxed);
            if s1 == s2 {
                return depth;
            }
        }
    }
}

#[inline]
fn join(lo: u64, hi: u64) -> u128 {
    u128::from(hi) << 64 | u128::from(lo)
}
