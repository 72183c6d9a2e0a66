//! What a run measures and how it is reported: one clock, the latency
//! histograms and counters, the end report with each figure beside its
//! target, the files a run can write (`--record`, `--hist`), the progress
//! line, and the facts about the machine (its description, its own stalls)
//! without which no figure means anything.

pub(crate) mod clock;
pub mod cpu;
pub(crate) mod failover;
pub mod hiccup;
pub(crate) mod histlog;
pub(crate) mod host;
pub(crate) mod progress;
pub(crate) mod record;
pub(crate) mod recorder;
pub(crate) mod report;
pub mod targets;
