//! What can stop a run, each with what to do about it.

use std::io;
use std::path::PathBuf;

use gateway::GatewayError;
use pipeline::PipelineError;

use crate::measure::targets::TargetsError;
use crate::transport::session::SessionError;

/// Why a run could not start, or stopped before its end.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A setting that cannot work (checked before anything starts).
    #[error("{0}")]
    Config(String),
    #[error("targets file {path}: {source}")]
    Targets {
        path: String,
        #[source]
        source: TargetsError,
    },
    #[error("cannot create {what} {path}: {source}")]
    Create {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write {what}: {source}")]
    Write {
        what: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("cannot start the in-process gateway: {0}")]
    Gateway(#[from] GatewayError),
    #[error("pipeline: {0}")]
    Pipeline(#[from] PipelineError),
    #[error("{0}")]
    Session(#[from] SessionError),
    #[error("cannot set up polling: {0}")]
    Poll(#[source] io::Error),
    #[error(
        "the gateway has sent nothing on session {session} for {silent_ms} ms (heartbeats included): it is gone or stuck"
    )]
    Silent { session: u16, silent_ms: u64 },
}

impl RunError {
    /// `true` when the gateway went away (closed, reset or silent) during the run.
    pub fn is_disconnect(&self) -> bool {
        matches!(
            self,
            RunError::Session(SessionError::Closed { .. } | SessionError::Io { .. })
                | RunError::Silent { .. }
        )
    }
}
