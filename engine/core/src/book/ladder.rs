//! One side of a book: a dense array of price levels over the instrument's
//! band, and a bitmap of which levels hold orders.
//!
//! A price maps to its level by one subtraction (`price - min_price`), with no
//! tree to walk and no hashing. The cost is address space proportional to the
//! band; the levels are fresh zero pages (`level_store.rs`), so the OS commits
//! a page only when an order first lands in it.

use std::sync::Arc;

use crossbeam_utils::CachePadded;

use super::bitmap::LevelBitmap;
use super::depth::{DepthView, NO_BEST_HINT};
use super::level::Level;
use super::level_store::LevelStore;
use crate::sync::{AtomicU64, Ordering::Relaxed};
use crate::types::{Price, Side};

/// Index meaning "this side is empty".
const NO_BEST: usize = usize::MAX;

/// The levels of one side of one book.
#[derive(Debug)]
pub struct Ladder {
    side: Side,
    min_price: Price,
    levels: Arc<LevelStore>,
    occupied: LevelBitmap,
    best: usize,
    /// `best` published for depth readers (on its own cache line).
    best_hint: Arc<CachePadded<AtomicU64>>,
}

impl Ladder {
    /// A ladder of `len` empty levels, the first at `min_price`; with
    /// `prefault`, their memory committed now rather than on first use.
    pub fn new(side: Side, min_price: Price, len: usize, prefault: bool) -> Self {
        Ladder {
            side,
            min_price,
            levels: Arc::new(LevelStore::zeroed(len, prefault)),
            occupied: LevelBitmap::new(len),
            best: NO_BEST,
            best_hint: Arc::new(CachePadded::new(AtomicU64::new(NO_BEST_HINT))),
        }
    }

    /// The level index of `price`. The caller has checked the band.
    #[inline]
    pub fn index_of(&self, price: Price) -> usize {
        price.wrapping_sub(self.min_price) as usize
    }

    /// The price of level `i`.
    #[inline]
    pub fn price_of(&self, i: usize) -> Price {
        self.min_price.wrapping_add(i as Price)
    }

    #[inline]
    pub fn level(&self, i: usize) -> &Level {
        &self.levels[i]
    }

    /// The index of the best non-empty level, if any.
    #[inline]
    pub fn best(&self) -> Option<usize> {
        (self.best != NO_BEST).then_some(self.best)
    }

    /// The best price, if any.
    #[inline]
    pub fn best_price(&self) -> Option<Price> {
        self.best().map(|i| self.price_of(i))
    }

    /// Records that level `i` now holds orders.
    #[inline]
    pub fn mark_occupied(&mut self, i: usize) {
        self.occupied.set(i);
        let better = match self.side {
            Side::Buy => self.best == NO_BEST || i > self.best,
            Side::Sell => i < self.best,
        };
        if better {
            self.set_best(i);
        }
    }

    /// Records that level `i` is now empty, moving the best if it was.
    #[inline]
    pub fn mark_empty(&mut self, i: usize) {
        self.occupied.clear(i);
        if i == self.best {
            let next = match self.side {
                Side::Buy => self.occupied.prev_at_or_before(i),
                Side::Sell => self.occupied.next_at_or_after(i),
            };
            self.set_best(next.unwrap_or(NO_BEST));
        }
    }

    #[inline]
    fn set_best(&mut self, i: usize) {
        self.best = i;
        let hint = if i == NO_BEST { NO_BEST_HINT } else { i as u64 };
        // A hint for readers, who check each level under its own sequence lock.
        self.best_hint.store(hint, Relaxed);
    }

    /// A view of this side for depth readers on other threads.
    pub fn depth_view(&self) -> DepthView {
        DepthView {
            side: self.side,
            min_price: self.min_price,
            levels: Arc::clone(&self.levels),
            best: Arc::clone(&self.best_hint),
        }
    }

    /// The next non-empty level after `i` in priority order (worse price).
    #[inline]
    pub fn next_worse(&self, i: usize) -> Option<usize> {
        match self.side {
            Side::Buy => self.occupied.prev_at_or_before(i.checked_sub(1)?),
            Side::Sell => self.occupied.next_at_or_after(i + 1),
        }
    }
}
