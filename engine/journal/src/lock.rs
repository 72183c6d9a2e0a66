//! One writer per journal directory, enforced with an advisory lock on
//! `DIR/lock`.
//!
//! Two processes appending to one journal would interleave records, and a
//! recovery run against a live journal would cut off the record being
//! written as a "torn tail". So the writer and recovery (the two that
//! change files) hold an exclusive lock for as long as they work; readers
//! (`read_journal`, `inspect`, `journal export`/`verify`) take none and may
//! run any time. The lock is released when its holder closes or its
//! process dies, so a crash never leaves a stale lock behind.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

use super::error::JournalError;

/// The lock file's name.
pub const LOCK_FILE: &str = "lock";

/// Holds the directory's lock until dropped.
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: File,
}

impl DirLock {
    /// Takes the lock of `dir`, or fails at once if another writer or
    /// recovery holds it.
    pub(crate) fn acquire(dir: &Path) -> Result<Self, JournalError> {
        let path = dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(JournalError::io("open lock file", &path))?;
        match file.try_lock() {
            Ok(()) => Ok(DirLock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(JournalError::Locked {
                dir: dir.to_path_buf(),
            }),
            Err(TryLockError::Error(e)) => Err(JournalError::io("lock", &path)(e)),
        }
    }
}
