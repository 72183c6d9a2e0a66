//! Whether every stage is still working, and which one failed first.
//!
//! A stage that fails (an I/O error in the journal, a panic anywhere) must
//! stop the pipeline with an error that names it, and must never leave the
//! other threads waiting forever. So it records the failure here and keeps
//! consuming its ring without acting; every wait loop checks `failed()` and
//! gives up; the publisher refuses new commands; shutdown reports the failure.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_utils::CachePadded;

/// The first failure of a stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageFailure {
    pub stage: &'static str,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct Health {
    failed: CachePadded<AtomicBool>,
    first: Mutex<Option<StageFailure>>,
}

impl Health {
    /// `true` once any stage has failed. Cheap enough for every wait loop.
    #[inline]
    pub fn failed(&self) -> bool {
        // Acquire: pairs with the Release store in `fail`, so a thread that
        // sees the flag also sees the failure recorded before it.
        self.failed.load(Ordering::Acquire)
    }

    /// Records that `stage` failed (the first failure wins). Cold path.
    #[cold]
    pub fn fail(&self, stage: &'static str, message: String) {
        if let Ok(mut first) = self.first.lock()
            && first.is_none()
        {
            *first = Some(StageFailure { stage, message });
        }
        // Release: pairs with the Acquire load in `failed`.
        self.failed.store(true, Ordering::Release);
    }

    /// The first failure, if any.
    pub fn failure(&self) -> Option<StageFailure> {
        match self.first.lock() {
            Ok(first) => first.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

/// Turns a caught panic's payload into a message.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        format!("panicked: {s}")
    } else if let Some(s) = payload.downcast_ref::<String>() {
        format!("panicked: {s}")
    } else {
        "panicked".to_string()
    }
}
