//! Where the pipeline's stages run relative to the poll loop, and what the
//! loop must do about it.
//!
//! On a small machine the journal (J) and output (O) stages, and sometimes
//! matching (M), run on the poll loop's own thread ("hosted"): they make
//! progress only when the loop polls them, and no thread wakes the loop
//! when replies are ready. On a bigger one they have threads of their own,
//! and O rings the loop's waker. The pipeline decides that once
//! (`pipeline::Placement`); this file is where the gateway asks for it and
//! reads the answer.

use std::time::Duration;

use pipeline::wait::SPIN_BEFORE_SLEEP;
use pipeline::{Pipeline, PipelineConfig, PipelineError, Placement, WaitPolicy};

/// Asks for J and O on the poll loop's thread wherever they would share
/// its core anyway (see engine/pipeline/src/hosted.rs), or M too if the
/// config asks, and settles the answer in `config` (`PipelineConfig::resolve`:
/// the pipeline then starts on the same one). Returns `true` when J and O
/// still get threads of their own, so O must wake the loop when it
/// releases replies.
pub fn place(config: &mut PipelineConfig) -> Result<bool, PipelineError> {
    if config.placement == Placement::Threads {
        config.placement = Placement::Hosted;
    }
    let topology = config.resolve()?;
    config.topology = Some(topology);
    Ok(!topology.placement.hosts_stages())
}

/// What the running pipeline's placement means for the loop.
#[derive(Debug, Clone, Copy)]
pub struct Stages {
    hosted: bool,
    shared: bool,
    wait: WaitPolicy,
}

impl Stages {
    pub fn of(pipeline: &Pipeline) -> Self {
        let topology = *pipeline.topology();
        Stages {
            hosted: topology.placement.hosts_stages(),
            // Whether another thread runs on this core (J and O as threads,
            // an in-process client).
            shared: topology.shares_core(topology.publisher),
            wait: topology.wait,
        }
    }

    /// Whether the loop, idle for `idle`, should look again without
    /// sleeping: always with `Spin` (yielding after each turn when it shares
    /// its core), for a bounded spin
    /// after the last activity with `Adaptive` (a wake-up costs more than
    /// the next message usually takes to come), never with `Block`.
    #[inline]
    pub fn keep_polling(&self, idle: Duration) -> bool {
        match self.wait {
            WaitPolicy::Spin => true,
            WaitPolicy::Adaptive => idle < SPIN_BEFORE_SLEEP,
            WaitPolicy::Block => false,
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
}
