//! Where the pipeline's stages run relative to the poll loop, and what the
//! loop must do about it.
//!
//! On a small machine the journal (J) and output (O) stages, and sometimes
//! matching (M), run on the poll loop's own thread ("hosted"): they make
//! progress only when the loop polls them, and no thread wakes the loop
//! when replies are ready. On a bigger one they have threads of their own,
//! and O rings the loop's waker. Every question the gateway asks the
//! pipeline about placement is in this file, so that replacing them (with
//! one placement value) changes one file.

use engine::pipeline::{Pipeline, PipelineConfig, PipelineError, StageWait, Topology};

use super::REPLY_RING;

/// Settles the pipeline's topology in `config` (detecting it if unset) and
/// asks for J and O on the poll loop's thread wherever they would share its
/// core anyway (see engine/src/pipeline/hosted.rs). Returns `true` when
/// they still get threads of their own, so O must wake the loop when it
/// releases replies.
pub fn place(config: &mut PipelineConfig) -> Result<bool, PipelineError> {
    let topology = match config.topology {
        Some(t) => t,
        None => Topology::detect().map_err(PipelineError::from)?,
    };
    config.topology = Some(topology);
    config.stages_on_publisher = true;
    Ok(!config.hosts_stages(&topology))
}

/// What the running pipeline's placement means for the loop.
#[derive(Debug, Clone, Copy)]
pub struct Placement {
    hosted: bool,
    shared: bool,
}

impl Placement {
    pub fn of(pipeline: &Pipeline) -> Self {
        let topology = *pipeline.topology();
        Placement {
            hosted: topology.hosted,
            // Whether another thread runs on this core (J and O as threads,
            // an in-process client).
            shared: matches!(topology.wait_on(topology.publisher), StageWait::Shared(_)),
        }
    }

    /// `true` when J and O run only when this loop polls them: a command
    /// in flight then needs the loop awake to be answered.
    #[inline]
    pub fn hosted(&self) -> bool {
        self.hosted
    }

    /// `true` when another thread shares this core: a turn that does not
    /// sleep should yield to it. Alone on the core a yield is a syscall for
    /// nothing (see docs/performance.md, section "loadgen over TCP").
    #[inline]
    pub fn shares_core(&self) -> bool {
        self.shared
    }

    /// Runs hosted J and O (and M, if hosted too): at most as many events
    /// as the (empty) reply ring holds, so the bridge never waits for this
    /// thread. Nothing to do when they have threads of their own.
    #[inline]
    pub fn run_hosted(&self, pipeline: &mut Pipeline) {
        if self.hosted {
            pipeline.poll_up_to(REPLY_RING);
        }
    }
}
