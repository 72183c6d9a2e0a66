//! Running a stage's step so that a panic stops the pipeline, not the process.

use std::panic::{AssertUnwindSafe, catch_unwind};

use super::health::panic_message;

/// Runs `step`, turning a panic into an error message. Unwinding out of a
/// processor thread would kill it silently and leave the threads around it
/// waiting forever; each stage records this error in `Health` instead.
/// The closure is called through a function pointer that the compiler
/// cannot inline (tens of instructions a call, as much as a small stage's
/// own work; docs/performance.md, section "Pipeline command→event without
/// load", has the per-command count), so hosted stages guard a whole batch
/// (`handle_batch`), not each item.
#[inline]
pub fn guarded(step: impl FnOnce()) -> Result<(), String> {
    catch_unwind(AssertUnwindSafe(step)).map_err(|payload| panic_message(&*payload))
}

/// `step` over every item of a batch under one guard: `step` gets each
/// item and whether it ends the batch. A panic ends the batch (a failed
/// stage acts on nothing after it anyway).
#[inline]
pub fn guarded_batch<'a, T: 'a>(
    items: impl Iterator<Item = &'a T>,
    n: usize,
    mut step: impl FnMut(&'a T, bool),
) -> Result<(), String> {
    guarded(|| {
        for (i, item) in items.enumerate() {
            step(item, i + 1 == n);
        }
    })
}
