//! raft-rs logs through `slog`; the project logs through `tracing`. This
//! drain forwards one to the other, so `RUST_LOG` governs both.

use slog::{Drain, Level, OwnedKVList, Record};

struct ToTracing;

impl Drain for ToTracing {
    type Ok = ();
    type Err = slog::Never;

    fn log(&self, record: &Record<'_>, _: &OwnedKVList) -> Result<(), slog::Never> {
        let message = record.msg();
        match record.level() {
            Level::Critical | Level::Error => tracing::error!(target: "raft", "{message}"),
            Level::Warning => tracing::warn!(target: "raft", "{message}"),
            Level::Info => tracing::info!(target: "raft", "{message}"),
            Level::Debug => tracing::debug!(target: "raft", "{message}"),
            Level::Trace => tracing::trace!(target: "raft", "{message}"),
        }
        Ok(())
    }
}

/// The logger raft-rs is given: everything to `tracing`, target `raft`.
pub(crate) fn logger(id: u64) -> slog::Logger {
    slog::Logger::root(ToTracing.fuse(), slog::o!("node" => id))
}
