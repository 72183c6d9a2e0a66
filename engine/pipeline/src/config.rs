//! Everything a pipeline is started with, and what can go wrong starting it.

use std::path::PathBuf;

use super::health::StageFailure;
use super::topology::{Topology, TopologyError};
use journal::{Durability, JournalError, WriterOptions};
use matching::config::{EngineConfig, SetupError};
use matching::types::InstrumentSpec;

/// A pipeline's settings. `PipelineConfig::new` gives working defaults.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    pub engine: EngineConfig,
    /// The instruments of a new journal. When the journal directory already
    /// holds a journal, its instruments are used, and these must be equal or
    /// empty.
    pub instruments: Vec<InstrumentSpec>,
    pub journal_dir: PathBuf,
    pub durability: Durability,
    /// Segment size and buffer of the journal writer (its durability is
    /// taken from `durability`).
    pub journal: WriterOptions,
    /// Cores per thread; `None` fits the cores found (see `Topology`).
    pub topology: Option<Topology>,
    /// Slots in the inbound ring (a power of two). Bounds how far the
    /// publisher can run ahead of the slower of J and M before it is held back.
    pub inbound_ring: usize,
    /// Slots in the outbound ring (a power of two). Bounds how far M can run
    /// ahead of O (and so of the journal's durable sequence).
    pub outbound_ring: usize,
    /// Write a snapshot of the books on clean shutdown, so the next start
    /// replays nothing.
    pub snapshot_on_shutdown: bool,
    /// Run J and O on the publisher's thread when the topology puts them on
    /// its core (as on 2 cores), instead of threads of their own. The
    /// publisher must then call `Pipeline::poll` whenever it is not
    /// publishing: events are released only there (and inside a publish
    /// that waits for room). For owners with a loop of their own, like the
    /// gateway; see `Topology`. Ignored with `Durability::Fsync`: J keeps
    /// a thread, so the publisher never waits for an fsync.
    pub stages_on_publisher: bool,
    /// With J and O on the publisher's thread, M too when an in-process
    /// client is to run on M's core (`Topology::guest` there): the client
    /// gets that core to itself instead of taking turns with M, and the
    /// publisher's thread does all the pipeline's work. See
    /// `hosts_matching`, and docs/performance.md for when it pays (lower
    /// latency while the publisher's core has room; less throughput). On
    /// one core M is hosted without being asked.
    pub matching_on_publisher: bool,
}

impl PipelineConfig {
    pub fn new(journal_dir: impl Into<PathBuf>, instruments: Vec<InstrumentSpec>) -> Self {
        PipelineConfig {
            engine: EngineConfig {
                prefault: true,
                ..EngineConfig::default()
            },
            instruments,
            journal_dir: journal_dir.into(),
            durability: Durability::Fsync,
            journal: WriterOptions::default(),
            topology: None,
            inbound_ring: 1 << 16,
            outbound_ring: 1 << 16,
            snapshot_on_shutdown: true,
            stages_on_publisher: false,
            matching_on_publisher: false,
        }
    }

    /// Whether J and O will run on the publisher's thread with `topology`:
    /// asked for, sharing its core, and not with fsync (the publisher would
    /// wait for every fdatasync). `pipeline::start` decides with this; an
    /// owner that must prepare for it (the gateway's reply bridge needs a
    /// waker only when O has its own thread) asks the same question.
    pub fn hosts_stages(&self, topology: &Topology) -> bool {
        self.stages_on_publisher && topology.can_host() && self.durability != Durability::Fsync
    }

    /// Whether M will run on the publisher's thread as well: J and O are
    /// hosted, it is asked for, and a guest (an in-process client) was
    /// going to share M's core. One thread then runs the whole pipeline
    /// and the guest has M's core alone (`hosted.rs` says why).
    ///
    /// Also, asked or not, whenever J and O are hosted and M's core is the
    /// publisher's (one core): M would only take turns with the thread
    /// that hosts the others, and one thread doing all of it saves every
    /// hand-off and context switch (a gateway's round trip: p50 19 µs
    /// against 28 µs, docs/performance.md).
    pub fn hosts_matching(&self, topology: &Topology) -> bool {
        self.hosts_stages(topology)
            && (topology.matching == topology.publisher
                || (self.matching_on_publisher && topology.guest == Some(topology.matching)))
    }
}

/// Why a pipeline could not start, or stopped.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("{0}")]
    Topology(#[from] TopologyError),
    #[error("journal: {0}")]
    Journal(#[from] JournalError),
    #[error("engine: {0}")]
    Engine(#[from] SetupError),
    #[error("{name} ring size {size} must be a power of two of at least 64")]
    RingSize { name: &'static str, size: usize },
    #[error(
        "the journal in {dir} was created with other instruments than the ones given; \
         start with the journal's instruments (or none), or use a new directory"
    )]
    InstrumentsDiffer { dir: PathBuf },
    #[error("the {} stage failed: {}", .0.stage, .0.message)]
    StageFailed(StageFailure),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_are_hosted_only_when_asked_sharing_the_core_and_not_with_fsync() {
        let two = Topology::fit(&[0, 1]);
        let mut config = PipelineConfig::new("unused", vec![]);
        config.durability = Durability::Os;
        assert!(!config.hosts_stages(&two), "not asked");
        config.stages_on_publisher = true;
        assert!(config.hosts_stages(&two));
        assert!(
            !config.hosts_stages(&Topology::fit(&[0, 1, 2, 3])),
            "own cores"
        );
        config.durability = Durability::Fsync;
        assert!(!config.hosts_stages(&two), "fsync keeps J's thread");
    }

    #[test]
    fn matching_is_hosted_only_for_a_guest_on_its_core() {
        let two = Topology::fit(&[0, 1]);
        let guest = Topology {
            guest: Some(two.matching),
            ..two
        };
        let mut config = PipelineConfig::new("unused", vec![]);
        config.durability = Durability::Os;
        config.stages_on_publisher = true;
        assert!(!config.hosts_matching(&guest), "not asked");
        config.matching_on_publisher = true;
        assert!(config.hosts_matching(&guest));
        assert!(!config.hosts_matching(&two), "no guest: M keeps its core");
        let guest_on_publisher = Topology {
            guest: Some(two.publisher),
            ..two
        };
        assert!(!config.hosts_matching(&guest_on_publisher));
        config.stages_on_publisher = false;
        assert!(!config.hosts_matching(&guest), "J and O not hosted");
        config.stages_on_publisher = true;
        config.durability = Durability::Fsync;
        assert!(!config.hosts_matching(&guest), "fsync");
    }

    #[test]
    fn on_one_core_matching_is_hosted_with_the_other_stages() {
        let one = Topology::fit(&[0]);
        let mut config = PipelineConfig::new("unused", vec![]);
        config.durability = Durability::Os;
        assert!(!config.hosts_matching(&one), "J and O not hosted");
        config.stages_on_publisher = true;
        assert!(config.hosts_matching(&one), "not asked, still hosted");
        config.durability = Durability::Fsync;
        assert!(!config.hosts_matching(&one), "fsync keeps J's thread");
    }
}
