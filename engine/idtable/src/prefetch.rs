//! Software prefetch: asking the CPU to start loading a cache line that the
//! code will need soon, without waiting for it.
//!
//! The gateway's poll loop misses in cache on data it can name in advance:
//! the slot of an id its counter will hand out next, the registry entries
//! of a batch of events (`IdTable::prefetch`). Started
//! early, those misses overlap with useful work instead of stalling it one
//! after another. A prefetch is a hint: it changes no state the program can
//! see, never faults, and is one instruction (nothing where unsupported).
//!
//! Not everything gains: prefetching, a few commands ahead, what the
//! engine's cancels touch (the index slot, the order, its neighbours) made
//! `replay --bench` slower (docs/performance.md): the engine's working set
//! mostly stays in L2, and the look-ahead's own loads cost more than the
//! misses they hid.

/// Starts loading the cache line(s) holding `value` (both, if it straddles two).
#[inline(always)]
pub fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        let first: *const i8 = (value as *const T).cast();
        // SAFETY: prefetch reads nothing into the program and never
        // faults; both addresses are inside `value` (its first and last
        // byte), a live reference.
        unsafe {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            _mm_prefetch::<_MM_HINT_T0>(first);
            if std::mem::size_of::<T>() > 1 {
                _mm_prefetch::<_MM_HINT_T0>(first.add(std::mem::size_of::<T>() - 1));
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}
