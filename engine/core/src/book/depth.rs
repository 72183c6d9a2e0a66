//! Reading a book's depth from another thread, without locks.
//!
//! A `DepthView` shares one side's ladder with the matching thread. M keeps
//! writing; the view reads each level through its sequence lock (see
//! `level.rs`), so every level it reports is a consistent (quantity, count)
//! pair, and M never waits for it. The best price is published by M as a
//! hint: a top-N reading starts there and walks away from the touch. Levels
//! are read one at a time, so a top-N reading taken while M trades is a set
//! of individually consistent levels, not one instant of the whole book;
//! that is what a market-data feed of level updates shows too.

use std::sync::Arc;

use crossbeam_utils::CachePadded;

use super::level::LevelDepth;
use super::level_store::LevelStore;
use crate::sync::{AtomicU64, Ordering::Relaxed};
use crate::types::{Price, Side};

/// `best` value meaning "this side is empty".
pub(crate) const NO_BEST_HINT: u64 = u64::MAX;

/// A read-only, thread-safe view of one side of one book.
#[derive(Debug, Clone)]
pub struct DepthView {
    pub(crate) side: Side,
    pub(crate) min_price: Price,
    pub(crate) levels: Arc<LevelStore>,
    /// Ladder index of the best level as M last published it, or `NO_BEST_HINT`.
    pub(crate) best: Arc<CachePadded<AtomicU64>>,
}

impl DepthView {
    pub fn side(&self) -> Side {
        self.side
    }

    /// The depth at `price`, or `None` outside the instrument's band.
    pub fn at(&self, price: Price) -> Option<LevelDepth> {
        let i = usize::try_from(i128::from(price) - i128::from(self.min_price)).ok()?;
        Some(self.levels.get(i)?.read_depth())
    }

    /// The best price as M last published it.
    pub fn best_price(&self) -> Option<Price> {
        // A hint only: the level itself is read through its sequence lock.
        let best = self.best.load(Relaxed);
        (best != NO_BEST_HINT).then(|| self.min_price + best as Price)
    }

    /// Fills `out` with up to `n` non-empty levels from the best price
    /// outwards, looking at no more than `max_scan` levels. `out` is
    /// cleared first; pass the same vector each time to avoid allocating.
    pub fn top(&self, n: usize, max_scan: usize, out: &mut Vec<(Price, LevelDepth)>) {
        out.clear();
        let best = self.best.load(Relaxed);
        if best == NO_BEST_HINT {
            return;
        }
        let mut i = best as usize;
        for _ in 0..max_scan {
            if out.len() == n {
                break;
            }
            let Some(level) = self.levels.get(i) else {
                break;
            };
            let depth = level.read_depth();
            if depth.count > 0 {
                out.push((self.min_price + i as Price, depth));
            }
            i = match self.side {
                Side::Buy => match i.checked_sub(1) {
                    Some(next) => next,
                    None => break,
                },
                Side::Sell => i + 1,
            };
        }
    }
}
