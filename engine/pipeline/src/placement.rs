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
//! An owner asks for one (`PipelineConfig::placement`); `Placement::resolve`
//! decides what it gets on the cores found, once, in `PipelineConfig::resolve`,
//! and the result travels in the `Topology` the pipeline runs on
//! (`Pipeline::topology().placement`): nothing else decides it again.
//!
//! Why host at all: where J and O share the publisher's core anyway (2
//! cores: M has the other), threads buy no parallelism, only hand-offs
//! through the scheduler (`hosted.rs` says what that costs, and
//! docs/performance.md, section "Hand-off costs on this VM", has the
//! figures). Why host M too: when a client in
//! the same process needs M's core, or on one core, one thread doing
//! everything in turn saves every hand-off and context switch.

use journal::Durability;

use super::topology::Topology;

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

    /// What an owner that asked for `asked` gets on `topology` with
    /// `durability`. The rules, in order:
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
    pub fn resolve(asked: Placement, topology: &Topology, durability: Durability) -> Placement {
        let hosts_stages =
            asked != Placement::Threads && topology.can_host() && durability != Durability::Fsync;
        if !hosts_stages {
            return Placement::Threads;
        }
        let one_core = topology.matching == topology.publisher;
        let guest_wants_m =
            asked == Placement::AllHosted && topology.guest == Some(topology.matching);
        if one_core || guest_wants_m {
            Placement::AllHosted
        } else {
            Placement::Hosted
        }
    }

    /// J and O run on the publisher's thread (`Pipeline::poll` must be called).
    pub fn hosts_stages(self) -> bool {
        self != Placement::Threads
    }

    /// M runs on the publisher's thread too.
    pub fn hosts_matching(self) -> bool {
        self == Placement::AllHosted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Durability::{Fsync, Os};
    use Placement::{AllHosted, Hosted, Threads};

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
            assert_eq!(
                Placement::resolve(*asked, topology, *durability),
                *expected,
                "{why}"
            );
        }
    }
}
