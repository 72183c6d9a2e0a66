//! The test kit: what checks the matching core, kept out of it.
//!
//! - `naive`: a deliberately simple reference engine (BTreeMap book) with the
//!   same public shape as `matching::Engine`; property tests and the fuzz
//!   target require both to give the same events.
//! - `workload`: seeded, realistic command streams (new orders around a
//!   moving mid, cancels, replaces, aggressive orders) for tests, benches
//!   and `streamgen` (loadgen has its own flow, over sessions:
//!   `loadgen/src/flow/workload.rs`).
//! - `cpu`: the CPU time of this process's threads, for tests that check
//!   an idle thread sleeps.
//! - `state_hash`: a hash of every book's resting orders, to compare engines
//!   rebuilt by different routes (recovery, snapshots, replicas).
//!
//! A dev-dependency of the engine's crates, and a dependency of the tools
//! (`engine-tools`) and the fuzz targets only: the matching core never
//! links it.

pub mod cpu;
pub mod naive;
pub mod state_hash;
pub mod workload;
