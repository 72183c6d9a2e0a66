//! The atomics the engine's shared structures use (the seqlock levels here,
//! the pipeline's durable gate), swapped for loom's under `--cfg loom` so the
//! same hot-path code is model-checked unchanged. Public so that the
//! pipeline crate's gate uses the same switch and the same planted bug.

#[cfg(loom)]
pub use loom::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering, fence};
#[cfg(not(loom))]
pub use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering, fence};

/// A busy-wait hint; under loom, a yield so the model explores other threads.
#[inline]
pub fn spin_hint() {
    #[cfg(loom)]
    loom::thread::yield_now();
    #[cfg(not(loom))]
    std::hint::spin_loop();
}

/// The ordering of the store that hands data to another thread: the end of
/// a seqlock write, and the durable gate. `--cfg planted_bug` weakens it to
/// `Relaxed`, so that `tests/loom.rs` can show it catches the missing
/// `Release` (`scripts/check-loom.sh` runs both ways). Never set it otherwise.
#[cfg(not(planted_bug))]
pub const PUBLISH: Ordering = Ordering::Release;
#[cfg(planted_bug)]
pub const PUBLISH: Ordering = Ordering::Relaxed;
