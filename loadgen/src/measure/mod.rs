//! What a run measures and how it is reported: one clock, the latency
//! histograms and counters, the end report with each figure beside its
//! target, the files a run can write (`--record`, `--hist`), the progress
//! line, and the facts about the machine (its description, its own stalls)
//! without which no figure means anything.

pub mod clock;
pub mod hiccup;
pub mod histlog;
pub mod host;
pub mod progress;
pub mod record;
pub mod recorder;
pub mod report;
pub mod targets;
