//! What people type: the command line, the settings it fills in, and the
//! values written on it (rates, durations, the order mix).
//!
//! The library takes an [`Options`](crate::Options); the command line is
//! one way to fill it in (tests fill it in directly). The value types live
//! here because this is where they are parsed; the schedule, the workload
//! and the targets use them as they are.

mod args;
pub mod duration;
pub mod mix;
pub mod options;
pub mod rate;

pub use args::Cli;
