//! Everything a pipeline is started with, and what can go wrong starting it.

use std::path::PathBuf;
use std::sync::Arc;

use super::health::StageFailure;
use super::placement::Placement;
use super::replicator::Replicator;
use super::topology::{Topology, TopologyError};
use super::wait::{WaitSetting, isolated_cores};
use journal::{Durability, JournalError, SegmentRetention, WriterOptions};
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
    /// Also snapshot while trading, every this many commands (`None`: only
    /// on shutdown), so a crash replays at most about this many commands
    /// (`snapshots.rs`).
    pub snapshot_every: Option<u64>,
    /// Also snapshot while trading once this much ingest time has passed
    /// since the last snapshot (`None`: no time trigger), so a quiet
    /// venue's crash replays at most about this long a stretch. Measured
    /// on the commands' ingest times, not a clock M reads.
    pub snapshot_interval: Option<std::time::Duration>,
    /// What becomes of journal segments wholly before the older of the two
    /// snapshots kept while trading: kept, deleted or archived.
    pub retain_segments: SegmentRetention,
    /// Which stages to run on the publisher's thread, if the cores allow
    /// (`Topology::place` decides what is granted). With `Hosted` or
    /// `AllHosted` granted, the publisher must call `Pipeline::poll`
    /// whenever it is not publishing: events are released only there (and
    /// inside a publish that waits for room). For owners with a loop of
    /// their own, like the gateway.
    pub placement: Placement,
    /// How stages wait when there is nothing to do (`wait.rs`): `Auto`
    /// spins only on isolated cores, and is adaptive (spin briefly, then
    /// sleep until rung) everywhere else.
    pub wait: WaitSetting,
    /// A replicated log (`replicator.rs`): J hands it every batch, and O
    /// releases only what it says the cluster committed. `None`: a single
    /// node, O gated on this machine's journal.
    pub replication: Option<Arc<dyn Replicator>>,
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
            snapshot_every: None,
            snapshot_interval: None,
            retain_segments: SegmentRetention::All,
            placement: Placement::Threads,
            wait: WaitSetting::Auto,
            replication: None,
        }
    }

    /// The topology the pipeline will run on: `topology`, or the cores
    /// found, checked to exist, with the placement decided
    /// (`Topology::place`) and, when M is hosted, M on the publisher's
    /// core. `pipeline::start` calls it; an owner that must prepare for the
    /// placement (the gateway's reply bridge needs a waker only when O has
    /// a thread) calls it first and starts with the result, which resolves
    /// to itself.
    pub fn resolve(&self) -> Result<Topology, TopologyError> {
        let mut topology = match self.topology {
            Some(t) => t,
            None => Topology::detect()?,
        };
        topology.validate()?;
        topology.placement = topology.place(self.placement, self.durability);
        if topology.placement.hosts_matching() {
            // M runs where the publisher does; its core is left to the guest.
            topology.matching = topology.publisher;
        }
        let cores = [
            topology.publisher,
            topology.journal,
            topology.matching,
            topology.output,
        ];
        (topology.wait, topology.wait_reason) = self.wait.resolve(&cores, &isolated_cores());
        Ok(topology)
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
    #[error("cannot start the snapshot writer thread: {0}")]
    Snapshots(std::io::Error),
    #[error(
        "the engine handed over writes the journal in {from}, not {to}: resume with the \
         handing pipeline's journal directory"
    )]
    HandoverElsewhere { from: PathBuf, to: PathBuf },
    #[error(
        "the pipeline could not hand over its engine and journal: a stage stopped without \
         giving them back (recover from the journal instead)"
    )]
    HandoverIncomplete,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolving_hosts_matching_on_the_publishers_core_and_is_idempotent() {
        let cores = Topology::available_cores().unwrap_or_default();
        let (Some(&first), Some(&second)) = (cores.first(), cores.get(1)) else {
            return; // needs two cores to place a guest on M's
        };
        let mut config = PipelineConfig::new("unused", vec![]);
        config.durability = Durability::Os;
        config.placement = Placement::AllHosted;
        config.topology = Some(Topology {
            guest: Some(second),
            ..Topology::fit(&[first, second])
        });
        let resolved = config.resolve().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(resolved.placement, Placement::AllHosted);
        assert_eq!(resolved.matching, resolved.publisher);
        config.topology = Some(resolved);
        assert_eq!(config.resolve().ok(), Some(resolved), "resolves to itself");
    }
}
