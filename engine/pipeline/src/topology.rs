//! Which core each pipeline thread runs on, and so how each one waits.
//!
//! The threads: the publisher (the gateway's poll loop, or the caller), J
//! (journal), M (matching) and O (output). M is the one whose speed is the
//! engine's speed, so it gets a core of its own whenever there are two.
//!
//! | cores | publisher | J | M | O | waits |
//! |---|---|---|---|---|---|
//! | 1 | 0 | 0 | 0 | 0 | all shared |
//! | 2 | 0 | 0 | 1 | 0 | M spins; publisher, J, O share core 0 |
//! | 3 | 0 | 2 | 1 | 2 | M and the publisher spin; J and O share core 2 |
//! | 4+ | 0 | 2 | 1 | 3 | every stage spins on its own core |
//!
//! On the 2-core reference machine that means one core for matching and
//! one for everything that talks to the outside world. More cores buy J and
//! O their own cores, so fsync latency and socket writes stop sharing a core
//! with the gateway's reads.
//!
//! Where J and O share the publisher's core, they can run on the
//! publisher's own thread instead of threads of their own (`Placement`):
//! the publisher journals what it published and releases what M produced
//! whenever it calls `Pipeline::poll`. Three threads taking turns on one
//! core pay a context switch at every hand-off (a `sched_yield` hand-off
//! and a wake-up from sleep are measured in docs/performance.md, section
//! "Hand-off costs on this VM"); one
//! thread doing all three in turn pays none.

use journal::Durability;

use super::doorbell::Doorbell;
use super::placement::Placement;
use super::wait::{StageWait, WaitPolicy};

/// The core of each thread, by `core_affinity` id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Topology {
    /// The thread that publishes commands (the gateway). The pipeline does
    /// not pin it; its owner does (`Topology::pin_publisher`).
    pub publisher: usize,
    pub journal: usize,
    pub matching: usize,
    pub output: usize,
    /// Which stages run on the publisher's thread: decided once, by
    /// `PipelineConfig::resolve` (`Topology::place` has the rules). With
    /// `AllHosted`, `matching` is the publisher's core.
    pub placement: Placement,
    /// A core where a thread outside the pipeline also runs (an in-process
    /// client, as loadgen's): stages on it share it, so none busy-spins there.
    pub guest: Option<usize>,
    /// How waiting stages wait: decided once, by `PipelineConfig::resolve`
    /// (`WaitSetting::resolve`), with the reason, for the start line.
    pub wait: WaitPolicy,
    pub wait_reason: &'static str,
}

/// Why a topology cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopologyError {
    #[error("cannot list this machine's cores (core_affinity found none); run without pinning")]
    NoCores,
    #[error(
        "the {stage} stage is set to core {core}, but this machine's cores are {available:?}; \
         choose one of those (or leave the topology unset to fit the cores found)"
    )]
    MissingCore {
        stage: &'static str,
        core: usize,
        available: Vec<usize>,
    },
}

impl Topology {
    /// The core ids the calling thread may run on: the process's, unless
    /// this thread was pinned already (it then sees only its own core, so
    /// detect or validate a topology before pinning the thread that does).
    pub fn available_cores() -> Result<Vec<usize>, TopologyError> {
        let ids = core_affinity::get_core_ids().ok_or(TopologyError::NoCores)?;
        if ids.is_empty() {
            return Err(TopologyError::NoCores);
        }
        Ok(ids.into_iter().map(|c| c.id).collect())
    }

    /// The layout of the table above for the cores this process may use.
    pub fn fit(cores: &[usize]) -> Topology {
        let core = |i: usize| cores.get(i).or(cores.last()).copied().unwrap_or(0);
        match cores.len() {
            0 | 1 => Topology {
                publisher: core(0),
                journal: core(0),
                matching: core(0),
                output: core(0),
                placement: Placement::Threads,
                guest: None,
                wait: WaitPolicy::Adaptive,
                wait_reason: "not resolved yet",
            },
            2 => Topology {
                publisher: core(0),
                journal: core(0),
                matching: core(1),
                output: core(0),
                placement: Placement::Threads,
                guest: None,
                wait: WaitPolicy::Adaptive,
                wait_reason: "not resolved yet",
            },
            3 => Topology {
                publisher: core(0),
                journal: core(2),
                matching: core(1),
                output: core(2),
                placement: Placement::Threads,
                guest: None,
                wait: WaitPolicy::Adaptive,
                wait_reason: "not resolved yet",
            },
            _ => Topology {
                publisher: core(0),
                journal: core(2),
                matching: core(1),
                output: core(3),
                placement: Placement::Threads,
                guest: None,
                wait: WaitPolicy::Adaptive,
                wait_reason: "not resolved yet",
            },
        }
    }

    /// Fits the cores found on this machine.
    pub fn detect() -> Result<Topology, TopologyError> {
        Ok(Topology::fit(&Topology::available_cores()?))
    }

    /// Checks that every core exists (the disruptor crate would panic on a
    /// missing one; this says what to change instead).
    pub fn validate(&self) -> Result<(), TopologyError> {
        let available = Topology::available_cores()?;
        for (stage, core) in self.stages() {
            if !available.contains(&core) {
                return Err(TopologyError::MissingCore {
                    stage,
                    core,
                    available,
                });
            }
        }
        Ok(())
    }

    /// Where a client thread in the same process (loadgen, a test or
    /// example client) should run beside a gateway, to be named as `guest`.
    ///
    /// On 2 cores the publisher (hosting J and O) has core 0 and M core 1,
    /// where it would mostly spin with little real work; a client is about
    /// as busy as the poll loop, so it goes to M's core, and M yields to it
    /// there instead of spinning (beside the poll loop on core 0, loadgen
    /// fell behind its schedule; on core 1 it kept up: docs/performance.md,
    /// section "loadgen over TCP", has the profile). Elsewhere: the
    /// publisher's core.
    pub fn client_core(&self) -> usize {
        if self.can_host() && self.matching != self.publisher {
            self.matching
        } else {
            self.publisher
        }
    }

    /// The placement an owner that asked for `asked` gets on these cores
    /// with `durability`. The rules, in order:
    ///
    /// - With `Fsync`, `Threads`: hosted, the publisher would wait for every
    ///   fdatasync instead of reading on while J syncs (group commits grow
    ///   while J waits; see docs/performance.md, section "Pipeline
    ///   throughput and recovery", and docs/pipeline.md).
    /// - J and O are hosted only where they share the publisher's core
    ///   (`Topology::can_host`); with cores of their own they keep threads.
    /// - M is hosted when asked (`AllHosted`) and an in-process client
    ///   (`Topology::guest`) was going to share M's core, leaving the client
    ///   that core; and, asked or not, when J and O are hosted and M's core
    ///   is the publisher's (one core).
    ///
    /// Idempotent: resolving a resolved topology again gives the same answer.
    pub fn place(&self, asked: Placement, durability: Durability) -> Placement {
        let hosts_stages =
            asked != Placement::Threads && self.can_host() && durability != Durability::Fsync;
        if !hosts_stages {
            return Placement::Threads;
        }
        let one_core = self.matching == self.publisher;
        let guest_wants_m = asked == Placement::AllHosted && self.guest == Some(self.matching);
        if one_core || guest_wants_m {
            Placement::AllHosted
        } else {
            Placement::Hosted
        }
    }

    /// Whether J and O can run on the publisher's thread: they share its core.
    pub fn can_host(&self) -> bool {
        self.journal == self.publisher && self.output == self.publisher
    }

    fn stages(&self) -> [(&'static str, usize); 4] {
        [
            ("publisher", self.publisher),
            ("journal", self.journal),
            ("matching", self.matching),
            ("output", self.output),
        ]
    }

    /// `true` when more than one thread runs on `core` (stages with
    /// threads of their own, the publisher, a guest).
    pub fn shares_core(&self, core: usize) -> bool {
        let threads = |(stage, c): &&(&str, usize)| {
            *c == core
                && !(self.placement.hosts_stages() && matches!(*stage, "journal" | "output"))
                && !(self.placement.hosts_matching() && *stage == "matching")
        };
        let guests = usize::from(self.guest == Some(core));
        self.stages().iter().filter(threads).count() + guests > 1
    }

    /// How a thread on `core` waits for what `bell` is rung for: the
    /// resolved policy (`wait`), never spinning on a shared core.
    pub fn wait_on(&self, core: usize, bell: &'static Doorbell) -> StageWait {
        StageWait::new(self.wait, self.shares_core(core), bell)
    }

    /// What a thread on `core` does when it waits.
    fn wait_word(&self, core: usize) -> &'static str {
        match self.wait {
            WaitPolicy::Spin if self.shares_core(core) => "spin, yielding",
            WaitPolicy::Spin => "spin",
            WaitPolicy::Adaptive if self.shares_core(core) => "sleep",
            WaitPolicy::Adaptive => "adaptive",
            WaitPolicy::Block => "sleep",
        }
    }

    /// Pins the calling thread to the publisher's core. Returns `false` if
    /// the OS refused.
    pub fn pin_publisher(&self) -> bool {
        core_affinity::set_for_current(core_affinity::CoreId { id: self.publisher })
    }

    /// One line for logs: what runs where and how it waits.
    pub fn describe(&self) -> String {
        format!(
            "{}; waiting: {} ({})",
            self.layout(),
            self.wait,
            self.wait_reason
        )
    }

    /// What runs on which core, and how each waits.
    fn layout(&self) -> String {
        let wait = |core| {
            let shared = if self.shares_core(core) {
                ", shared"
            } else {
                ""
            };
            format!("{}{shared}", self.wait_word(core))
        };
        if self.placement.hosts_matching() {
            let client = match self.guest {
                Some(core) if core != self.publisher => format!("; core {core} left to the client"),
                _ => String::new(),
            };
            return format!(
                "publisher core {} ({}) runs journal, matching and output{client}",
                self.publisher,
                wait(self.publisher),
            );
        }
        if self.placement.hosts_stages() {
            return format!(
                "publisher core {} ({}) runs journal and output, matching core {} ({})",
                self.publisher,
                wait(self.publisher),
                self.matching,
                wait(self.matching)
            );
        }
        format!(
            "publisher core {} ({}), journal core {} ({}), matching core {} ({}), output core {} ({})",
            self.publisher,
            wait(self.publisher),
            self.journal,
            wait(self.journal),
            self.matching,
            wait(self.matching),
            self.output,
            wait(self.output)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Durability::{Fsync, Os};
    use Placement::{AllHosted, Hosted, Threads};

    #[test]
    fn two_cores_give_matching_its_own() {
        let t = Topology::fit(&[0, 1]);
        assert_eq!(t.matching, 1);
        assert!(!t.shares_core(1));
        assert!(t.shares_core(0));
    }

    #[test]
    fn hosted_stages_leave_the_publisher_alone_on_its_core() {
        let t = Topology {
            placement: Placement::Hosted,
            ..Topology::fit(&[0, 1])
        };
        assert!(t.can_host());
        assert!(!t.shares_core(0));
        assert!(
            t.describe().contains("runs journal and output"),
            "{}",
            t.describe()
        );
        assert!(!Topology::fit(&[0, 1, 2, 3]).can_host());
    }

    #[test]
    fn hosted_matching_leaves_the_guest_its_core() {
        let t = Topology {
            placement: Placement::AllHosted,
            matching: 0,
            guest: Some(1),
            ..Topology::fit(&[0, 1])
        };
        assert!(!t.shares_core(0), "one thread on core 0");
        assert!(
            t.describe()
                .contains("runs journal, matching and output; core 1 left to the client"),
            "{}",
            t.describe()
        );
    }

    #[test]
    fn a_guest_thread_makes_its_core_shared() {
        let t = Topology {
            guest: Some(1),
            ..Topology::fit(&[0, 1])
        };
        assert!(t.shares_core(1));
        assert!(t.shares_core(0));
    }

    #[test]
    fn four_cores_give_every_stage_a_core_of_its_own() {
        let t = Topology::fit(&[0, 1, 2, 3]);
        for core in [t.publisher, t.journal, t.matching, t.output] {
            assert!(!t.shares_core(core));
        }
    }

    #[test]
    fn a_missing_core_is_a_clear_error() {
        let t = Topology {
            matching: 4096,
            ..Topology::fit(&[0])
        };
        let err = t.validate().unwrap_err().to_string();
        assert!(err.contains("matching stage is set to core 4096"), "{err}");
    }

    /// One row per case: what was asked, on which cores, with which guest
    /// core and durability, and what the pipeline gets.
    #[test]
    fn placement_follows_the_rules() {
        let two = Topology::fit(&[0, 1]);
        let four = Topology::fit(&[0, 1, 2, 3]);
        let one = Topology::fit(&[0]);
        let guest = |t: Topology, core| Topology {
            guest: Some(core),
            ..t
        };
        #[rustfmt::skip]
        let cases: &[(&str, Placement, Topology, Durability, Placement)] = &[
            ("not asked",                          Threads,   two,             Os,    Threads),
            ("asked, sharing the core",            Hosted,    two,             Os,    Hosted),
            ("J and O have cores of their own",    Hosted,    four,            Os,    Threads),
            ("fsync keeps J's thread",             Hosted,    two,             Fsync, Threads),
            ("M hosted for a guest on its core",   AllHosted, guest(two, 1),   Os,    AllHosted),
            ("no guest: M keeps its core",         AllHosted, two,             Os,    Hosted),
            ("guest on the publisher's core",      AllHosted, guest(two, 0),   Os,    Hosted),
            ("M asked, but fsync",                 AllHosted, guest(two, 1),   Fsync, Threads),
            ("one core: M hosted, not asked",      Hosted,    one,             Os,    AllHosted),
            ("one core, not asked at all",         Threads,   one,             Os,    Threads),
            ("one core, fsync",                    Hosted,    one,             Fsync, Threads),
        ];
        for (why, asked, topology, durability, expected) in cases {
            assert_eq!(topology.place(*asked, *durability), *expected, "{why}");
        }
    }
}
