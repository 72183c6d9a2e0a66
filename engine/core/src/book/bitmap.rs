//! A two-level bitmap of non-empty price levels.
//!
//! When the best level empties, the book must find the next non-empty one.
//! Walking the ladder level by level costs one cache line per empty level;
//! a bitmap answers the same question 64 levels per word, and a summary word
//! per 64 leaf words skips 4096 empty levels at a time. Finding the next set
//! bit is then a handful of `trailing_zeros`/`leading_zeros` instructions,
//! whatever the band width.

/// A fixed-size set of level indices with fast "next set at or after" and
/// "previous set at or before" queries.
#[derive(Debug)]
pub struct LevelBitmap {
    /// Bit `i % 64` of word `i / 64` is set when level `i` is non-empty.
    leaves: Vec<u64>,
    /// Bit `w % 64` of word `w / 64` is set when `leaves[w] != 0`.
    summary: Vec<u64>,
}

impl LevelBitmap {
    /// An empty bitmap for `len` levels. The words come from a zeroed
    /// allocation, so a wide band costs address space, not memory, until used.
    pub fn new(len: usize) -> Self {
        let leaf_words = len.div_ceil(64).max(1);
        LevelBitmap {
            leaves: vec![0; leaf_words],
            summary: vec![0; leaf_words.div_ceil(64)],
        }
    }

    #[inline]
    pub fn set(&mut self, i: usize) {
        let w = i / 64;
        self.leaves[w] |= 1 << (i % 64);
        self.summary[w / 64] |= 1 << (w % 64);
    }

    #[inline]
    pub fn clear(&mut self, i: usize) {
        let w = i / 64;
        self.leaves[w] &= !(1 << (i % 64));
        if self.leaves[w] == 0 {
            self.summary[w / 64] &= !(1 << (w % 64));
        }
    }

    #[cfg(test)]
    pub fn contains(&self, i: usize) -> bool {
        self.leaves[i / 64] & (1 << (i % 64)) != 0
    }

    /// The smallest set index `>= i`, if any.
    #[inline]
    pub fn next_at_or_after(&self, i: usize) -> Option<usize> {
        let w = i / 64;
        let word = *self.leaves.get(w)? & (u64::MAX << (i % 64));
        if word != 0 {
            return Some(w * 64 + word.trailing_zeros() as usize);
        }
        let w = self.next_word_after(w)?;
        Some(w * 64 + self.leaves[w].trailing_zeros() as usize)
    }

    /// The largest set index `<= i`, if any.
    #[inline]
    pub fn prev_at_or_before(&self, i: usize) -> Option<usize> {
        let w = (i / 64).min(self.leaves.len() - 1);
        let bit = if w == i / 64 { i % 64 } else { 63 };
        let word = self.leaves[w] & (u64::MAX >> (63 - bit));
        if word != 0 {
            return Some(w * 64 + 63 - word.leading_zeros() as usize);
        }
        let w = self.prev_word_before(w)?;
        Some(w * 64 + 63 - self.leaves[w].leading_zeros() as usize)
    }

    /// The first non-empty leaf word after word `w`.
    fn next_word_after(&self, w: usize) -> Option<usize> {
        let first = w + 1;
        let mut s = first / 64;
        let mut bits = *self.summary.get(s)? & (u64::MAX.checked_shl((first % 64) as u32)?);
        loop {
            if bits != 0 {
                return Some(s * 64 + bits.trailing_zeros() as usize);
            }
            s += 1;
            bits = *self.summary.get(s)?;
        }
    }

    /// The last non-empty leaf word before word `w`.
    fn prev_word_before(&self, w: usize) -> Option<usize> {
        let last = w.checked_sub(1)?;
        let mut s = last / 64;
        let mut bits = self.summary[s] & (u64::MAX >> (63 - last % 64));
        loop {
            if bits != 0 {
                return Some(s * 64 + 63 - bits.leading_zeros() as usize);
            }
            s = s.checked_sub(1)?;
            bits = self.summary[s];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    proptest! {
        #[test]
        fn agrees_with_btreeset(len in 1usize..20_000, ops in prop::collection::vec((any::<bool>(), any::<usize>()), 0..200), probes in prop::collection::vec(any::<usize>(), 0..50)) {
            let mut bm = LevelBitmap::new(len);
            let mut set = BTreeSet::new();
            for (insert, i) in ops {
                let i = i % len;
                if insert { bm.set(i); set.insert(i); } else { bm.clear(i); set.remove(&i); }
            }
            for p in probes {
                let p = p % len;
                prop_assert_eq!(bm.next_at_or_after(p), set.range(p..).next().copied());
                prop_assert_eq!(bm.prev_at_or_before(p), set.range(..=p).next_back().copied());
                prop_assert_eq!(bm.contains(p), set.contains(&p));
            }
        }
    }

    #[test]
    fn far_apart_bits_are_found_across_summary_words() {
        let mut bm = LevelBitmap::new(1 << 20);
        bm.set(3);
        bm.set((1 << 20) - 1);
        assert_eq!(bm.next_at_or_after(4), Some((1 << 20) - 1));
        assert_eq!(bm.prev_at_or_before((1 << 20) - 2), Some(3));
        bm.clear(3);
        assert_eq!(bm.prev_at_or_before((1 << 20) - 2), None);
    }
}
