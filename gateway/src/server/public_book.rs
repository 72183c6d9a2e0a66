//! The book as the market sees it: open quantity per price level, built
//! from released events only.
//!
//! Market data must never run ahead of the journal: a subscriber may not see
//! a price that a crash could take back (docs/protocol.md, "Market data";
//! the model: docs/verification.md). The matching thread's own book is ahead
//! of the journal (M does not wait for J), so market data is not read from
//! it. This book is kept by the poll loop from the events the output stage
//! has released, which are durable under the configured setting, exactly
//! like the execution reports built from the same events.
//!
//! Each side is a vector of `(price, qty)` levels sorted with the best price
//! last: an order arriving near the top, where most arrive, moves few
//! levels, and a level is found by binary search. Nothing is allocated once
//! a side has held its largest number of levels.

use matching::Side;

/// One side: levels sorted worst first, best last.
#[derive(Debug, Default, Clone)]
struct Levels {
    levels: Vec<(i64, u64)>,
}

impl Levels {
    /// Where `price` is, or would go, in this side of `side`.
    #[inline]
    fn find(&self, price: i64, side: Side) -> Result<usize, usize> {
        match side {
            // Bids ascend: the highest (best) last.
            Side::Buy => self.levels.binary_search_by(|&(p, _)| p.cmp(&price)),
            // Asks descend: the lowest (best) last.
            Side::Sell => self.levels.binary_search_by(|&(p, _)| price.cmp(&p)),
        }
    }

    #[inline]
    fn add(&mut self, side: Side, price: i64, qty: u64) {
        match self.find(price, side) {
            Ok(i) => self.levels[i].1 = self.levels[i].1.saturating_add(qty),
            Err(i) => self.levels.insert(i, (price, qty)),
        }
    }

    #[inline]
    fn remove(&mut self, side: Side, price: i64, qty: u64) {
        if let Ok(i) = self.find(price, side) {
            let left = self.levels[i].1.saturating_sub(qty);
            if left == 0 {
                self.levels.remove(i);
            } else {
                self.levels[i].1 = left;
            }
        }
    }

    /// The best `n` levels, best first.
    #[inline]
    fn top(&self, n: usize) -> impl Iterator<Item = (i64, u64)> + '_ {
        self.levels.iter().rev().take(n).copied()
    }
}

/// One instrument's public book.
#[derive(Debug, Default, Clone)]
pub struct PublicBook {
    bids: Levels,
    asks: Levels,
}

impl PublicBook {
    #[inline]
    fn side(&self, side: Side) -> &Levels {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    /// `qty` more rests at `price` on `side`.
    #[inline]
    pub fn add(&mut self, side: Side, price: i64, qty: u64) {
        match side {
            Side::Buy => self.bids.add(side, price, qty),
            Side::Sell => self.asks.add(side, price, qty),
        }
    }

    /// `qty` less rests at `price` on `side` (filled, cancelled, moved).
    #[inline]
    pub fn remove(&mut self, side: Side, price: i64, qty: u64) {
        match side {
            Side::Buy => self.bids.remove(side, price, qty),
            Side::Sell => self.asks.remove(side, price, qty),
        }
    }

    /// The best `n` levels of `side`, best first.
    pub fn top(&self, side: Side, n: usize) -> impl Iterator<Item = (i64, u64)> + '_ {
        self.side(side).top(n)
    }

    /// The best level of `side`, if any.
    pub fn best(&self, side: Side) -> Option<(i64, u64)> {
        self.side(side).top(1).next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    proptest! {
        /// Against a map of price → qty per side: the same levels, best first.
        #[test]
        fn agrees_with_a_map(ops in prop::collection::vec(
            (any::<bool>(), any::<bool>(), 0i64..20, 1u64..5), 0..300)
        ) {
            let mut book = PublicBook::default();
            let mut model: [BTreeMap<i64, u64>; 2] = Default::default();
            for (buy, add, price, qty) in ops {
                let side = if buy { Side::Buy } else { Side::Sell };
                let m = &mut model[usize::from(!buy)];
                if add {
                    book.add(side, price, qty);
                    *m.entry(price).or_default() += qty;
                } else {
                    book.remove(side, price, qty);
                    if let Some(q) = m.get_mut(&price) {
                        *q = q.saturating_sub(qty);
                        if *q == 0 {
                            m.remove(&price);
                        }
                    }
                }
            }
            let bids: Vec<_> = model[0].iter().rev().map(|(&p, &q)| (p, q)).collect();
            let asks: Vec<_> = model[1].iter().map(|(&p, &q)| (p, q)).collect();
            prop_assert_eq!(book.top(Side::Buy, usize::MAX).collect::<Vec<_>>(), bids.clone());
            prop_assert_eq!(book.top(Side::Sell, usize::MAX).collect::<Vec<_>>(), asks.clone());
            prop_assert_eq!(book.best(Side::Buy), bids.first().copied());
            prop_assert_eq!(book.best(Side::Sell), asks.first().copied());
        }
    }
}
