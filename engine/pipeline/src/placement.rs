//! Which stages run on the publisher's own thread: one value, decided once.
//!
//! There are three valid arrangements, and only three:
//!
//! | placement | publisher's thread runs | threads of their own |
//! |---|---|---|
//! | `Threads` | publishing | J, M, O |
//! | `Hosted` | publishing, J, O (in `Pipeline::poll`) | M |
//! | `AllHosted` | publishing, J, M, O (in `Pipeline::poll`) | none |
//!
//! An owner asks for one (`PipelineConfig::placement`); `Topology::place`
//! decides what it gets on the cores found (the rules are there: they are
//! about cores), once, in `PipelineConfig::resolve`, and the result travels
//! in the `Topology` the pipeline runs on (`Pipeline::topology().placement`):
//! nothing else decides it again.
//!
//! Why host at all: where J and O share the publisher's core anyway (2
//! cores: M has the other), threads buy no parallelism, only hand-offs
//! through the scheduler (`hosted.rs` says what that costs, and
//! docs/performance.md, section "Hand-off costs on this VM", has the
//! figures). Why host M too: when a client in
//! the same process needs M's core, or on one core, one thread doing
//! everything in turn saves every hand-off and context switch.

/// Where J, M and O run relative to the publisher's thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Placement {
    /// J, M and O each on a thread of its own, pinned per the topology.
    #[default]
    Threads,
    /// J and O on the publisher's thread, driven by `Pipeline::poll`; M on
    /// a thread of its own.
    Hosted,
    /// J, M and O all on the publisher's thread, driven by `Pipeline::poll`.
    AllHosted,
}

impl Placement {
    /// Every placement, for tests and benches that try each.
    pub const ALL: [Placement; 3] = [Placement::Threads, Placement::Hosted, Placement::AllHosted];

    /// J and O run on the publisher's thread (`Pipeline::poll` must be called).
    pub fn hosts_stages(self) -> bool {
        self != Placement::Threads
    }

    /// M runs on the publisher's thread too.
    pub fn hosts_matching(self) -> bool {
        self == Placement::AllHosted
    }
}
