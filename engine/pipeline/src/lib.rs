//! The pinned pipeline: the engine behind two rings, with a durable journal.
//!
//! `start` (`wiring`) wires it (see the diagram there). The files, one
//! concept each: `config` (settings, errors), `topology` (cores and wait
//! strategies), `placement` (which stages the publisher's thread runs,
//! decided once), `startup` (recover or create the journal), `slots` (ring
//! slot types), `publisher` (commands in), `journal_stage` (J),
//! `matching_stage` (M), `output_stage` (O), `hosted` (those stages as
//! pollers the publisher's thread drives), `gate` (the durable sequence J
//! publishes and O waits on), `replicator` (the seam a replicated log
//! plugs into: O then waits on what the cluster committed), `handover` (a
//! drained pipeline's engine and journal, given to the next), `wait`
//! (spin / yield / park), `health` and `guard` (a failed stage stops the
//! pipeline with its name), `handle` (the running `Pipeline`). `docs/pipeline.md` explains the design, and
//! `docs/architecture.md` maps every crate.

mod config;
pub mod doorbell;
pub mod gate;
mod guard;
mod handle;
mod handover;
mod health;
mod hosted;
mod journal_stage;
mod matching_stage;
mod output_stage;
mod placement;
mod publisher;
mod replicator;
mod slots;
mod snapshots;
mod startup;
mod stats;
mod topology;
pub mod wait;
mod wiring;

pub use config::{PipelineConfig, PipelineError};
pub use handle::{Pipeline, ShutdownReport};
pub use handover::Handover;
pub use health::StageFailure;
pub use output_stage::OutputSink;
pub use placement::Placement;
pub use publisher::Publisher;
pub use replicator::{ReleaseGate, Replicator, STAGE as REPLICATION_STAGE};
pub use slots::{Inbound, Output};
pub use stats::{FSYNC_BUCKETS, FsyncStats, PipelineStats, StageCounters};
pub use topology::{Topology, TopologyError};
pub use wait::{StageWait, WaitPolicy, WaitSetting};
pub use wiring::{resume, start};
