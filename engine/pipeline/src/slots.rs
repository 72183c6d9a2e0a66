//! What travels through the rings: preallocated, `Copy`, overwritten in place.

use matching::command::Command;
use matching::event::Event;

/// One inbound ring slot: a command with its sequence and ingest time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Inbound {
    /// Gap-free sequence, assigned by the publisher; the journal's record number.
    pub seq: u64,
    /// When the gateway took the command in (ns, the publisher's clock).
    /// The engine never reads a clock; this travels for latency reports.
    pub ts_ns: u64,
    pub command: Command,
}

/// One outbound ring slot: an event and the command that caused it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Output {
    /// Sequence of the command that caused the event.
    pub seq: u64,
    /// Ingest time of that command (ns).
    pub ts_ns: u64,
    pub event: Event,
    /// `true` on the last event of its command: every command has at least one.
    pub last: bool,
}
