//! The memory a ladder's levels live in: zero pages from the kernel.
//!
//! A ladder spans the instrument's whole price band (hundreds of thousands
//! of levels, 128 bytes each once padded), and all-zero bits are an empty
//! level. So the levels should cost nothing until an order lands on them:
//! fresh anonymous pages are zero, and the kernel commits each on first
//! touch. A zeroed heap allocation would not do: `CachePadded` levels are
//! 128-byte aligned, and for alignments above 16 Rust's `System` allocator
//! cannot use `calloc`, so it writes every zero itself. That `memset` was a
//! large share of recovery's time (docs/performance.md, section "Pipeline
//! throughput and recovery"). An anonymous map
//! (`memmap2`) is page-aligned, zero, and lazily committed; or, when the
//! engine prefaults (the pipeline does), committed at once by the kernel
//! (`MAP_POPULATE`), so that no page fault lands on the matching thread.

use std::ops::Deref;

use super::level::Level;

/// How a level is stored in the ladder. Padded to its own cache lines by
/// default so that M writing one level never invalidates a market-data
/// reader's copy of another; `--features unpadded-levels` packs them for the
/// comparison in `docs/padding.md`.
#[cfg(not(feature = "unpadded-levels"))]
pub type LevelSlot = crossbeam_utils::CachePadded<Level>;
#[cfg(feature = "unpadded-levels")]
pub type LevelSlot = Unpadded<Level>;

/// A level stored without padding (measurement builds only).
#[cfg(feature = "unpadded-levels")]
#[derive(Debug, Default)]
#[repr(transparent)]
pub struct Unpadded<T>(T);

#[cfg(feature = "unpadded-levels")]
impl<T> std::ops::Deref for Unpadded<T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        &self.0
    }
}

/// A ladder's levels, shared (through an `Arc`) with the depth views that
/// read them from other threads.
#[derive(Debug)]
pub struct LevelStore {
    storage: Storage,
    #[cfg_attr(loom, allow(dead_code))] // the heap slice knows its length
    len: usize,
}

#[derive(Debug)]
enum Storage {
    /// The normal case: an anonymous map of `len` levels.
    #[cfg(not(loom))]
    Mapped(memmap2::MmapMut),
    /// If the map cannot be made (or under loom): a heap allocation.
    Heap(Box<[LevelSlot]>),
}

impl LevelStore {
    /// `len` empty levels; with `prefault`, their pages committed now.
    pub fn zeroed(len: usize, prefault: bool) -> Self {
        #[cfg(not(loom))]
        {
            let mut options = memmap2::MmapOptions::new();
            options.len((len * size_of::<LevelSlot>()).max(1));
            if prefault {
                options.populate();
            }
            if let Ok(map) = options.map_anon() {
                return LevelStore {
                    storage: Storage::Mapped(map),
                    len,
                };
            }
        }
        #[cfg(loom)]
        let _ = prefault;
        LevelStore {
            storage: Storage::Heap((0..len).map(|_| LevelSlot::default()).collect()),
            len,
        }
    }
}

impl Deref for LevelStore {
    type Target = [LevelSlot];

    #[inline]
    fn deref(&self) -> &[LevelSlot] {
        match &self.storage {
            // SAFETY: the map is `len * size_of::<LevelSlot>()` bytes (or one
            // byte when `len` is 0), page-aligned (more than `LevelSlot`'s
            // 128 bytes), and lives as long as `self`. Its bytes start zero,
            // which is a valid empty `Level` (integer atomics: seq 0, no
            // orders, no depth) and `LevelSlot` adds only padding; after
            // that they change only through those atomics, whose interior
            // mutability makes shared references to them sound.
            #[cfg(not(loom))]
            Storage::Mapped(map) => unsafe {
                std::slice::from_raw_parts(map.as_ptr().cast::<LevelSlot>(), self.len)
            },
            Storage::Heap(levels) => levels,
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::book::LevelDepth;

    #[test]
    fn mapped_levels_start_empty_and_keep_what_is_published() {
        let store = LevelStore::zeroed(100_000, false);
        assert!(matches!(store.storage, Storage::Mapped(_)));
        assert_eq!(store.len(), 100_000);
        assert_eq!(store[99_999].read_depth(), LevelDepth::default());
        store[12_345].publish(LevelDepth { qty: 7, count: 2 });
        assert_eq!(store[12_345].read_depth(), LevelDepth { qty: 7, count: 2 });
        assert_eq!(LevelStore::zeroed(0, true).len(), 0);
    }
}
