//! Running a stage's step so that a panic stops the pipeline, not the process.

use std::panic::{AssertUnwindSafe, catch_unwind};

use super::health::panic_message;

/// Runs `step`, turning a panic into an error message. Unwinding out of a
/// processor thread would kill it silently and leave the threads around it
/// waiting forever; each stage records this error in `Health` instead.
/// Costs nothing when nothing panics.
#[inline]
pub fn guarded(step: impl FnOnce()) -> Result<(), String> {
    catch_unwind(AssertUnwindSafe(step)).map_err(|payload| panic_message(&*payload))
}
