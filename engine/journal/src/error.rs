//! Why a journal operation failed, with what to do about it.

use std::io;
use std::path::PathBuf;

use super::damage::Damage;
use matching::book::RestoreError;
use matching::config::SetupError;

/// A journal error. Every variant names the file (and byte offset, for
/// damage) so an operator can find the problem, and says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "{} holds no journal (no `instruments` file): check the path, or create a journal \
         there (JournalWriter::create, `journal import`)",
        dir.display()
    )]
    NotAJournal { dir: PathBuf },
    #[error(
        "{} is locked by another journal writer or recovery (its `lock` file): stop that \
         process first; reading (`journal export`, `journal verify`) needs no lock",
        dir.display()
    )]
    Locked { dir: PathBuf },
    #[error(
        "{} already holds a journal: open it (JournalWriter::open) instead of creating one, \
         or choose an empty directory",
        dir.display()
    )]
    AlreadyExists { dir: PathBuf },
    #[error(
        "{}: {damage}. This is damage before the journal's tail, which recovery does not \
         repair because the records involved may have been acknowledged: restore the file \
         from a replica or backup (`journal verify` lists every problem)",
        file.display()
    )]
    Damaged { file: PathBuf, damage: Damage },
    #[error("{}: {problem}", file.display())]
    BadFile { file: PathBuf, problem: String },
    #[error(
        "append of sequence {got}, but the journal's next sequence is {expected}: \
         sequences must be gap-free and increasing"
    )]
    OutOfSequence { expected: u64, got: u64 },
    #[error(
        "the journal writer stopped after an earlier I/O error, since what reached the disk \
         is unknown; reopen the journal (recovery works out what is there)"
    )]
    Poisoned,
    #[error(
        "the journal's first record is sequence {first}, so sequences {needed}..{first} are \
         missing, and no usable snapshot covers them"
    )]
    MissingStart { needed: u64, first: u64 },
    #[error("engine setup: {0}")]
    Setup(#[from] SetupError),
    #[error("snapshot {}: {source}", file.display())]
    Restore {
        file: PathBuf,
        #[source]
        source: RestoreError,
    },
    #[error("journal writer options: {0}")]
    BadOptions(String),
    /// A state the writer's own checks rule out: a bug, reported as a
    /// value rather than a panic.
    #[error("journal internal error (a bug: please report it with this message): {0}")]
    Internal(String),
}

impl JournalError {
    /// An I/O error while doing `action` to `path`.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| JournalError::Io {
            action,
            path,
            source,
        }
    }
}
