//! The venue's wall clock: when a command entered the venue.
//!
//! Read once per published batch (`OrderEntry::try_publish`), journaled
//! with each command, and carried by every execution report the command
//! causes (`protocol::Exec`), so a report's time is the same when a restart
//! replays the journal. The engine never reads it: matching stays
//! clock-free. Refusals made before a command exists read it themselves.

use std::time::{SystemTime, UNIX_EPOCH};

/// Nanoseconds since the Unix epoch, now (0 for a clock set before 1970,
/// which no report can mean).
#[inline]
pub fn unix_now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}
