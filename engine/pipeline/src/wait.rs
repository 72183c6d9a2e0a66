//! How a stage waits when it has nothing to do.
//!
//! A stage alone on its core busy-spins: nothing else wants the core, and
//! reacting within nanoseconds is the point. A stage that shares a core must
//! give it up, or it starves the thread it shares with, and on a 2-core
//! host busy-spinning three threads makes latency worse, not better. So it
//! spins briefly (work often arrives within microseconds), then yields
//! (lets a runnable neighbour in), then sleeps in short naps. The
//! disruptor's producers do not signal waiting consumers, so the nap is
//! timed; its length bounds the added latency after an idle spell.

use std::cell::Cell;
use std::time::Duration;

use disruptor::Sequence;
use disruptor::wait_strategies::WaitStrategy;

/// When to stop spinning, stop yielding, and how long to nap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpinYieldPark {
    pub spins: u32,
    pub yields: u32,
    pub park: Duration,
}

impl Default for SpinYieldPark {
    fn default() -> Self {
        SpinYieldPark {
            spins: 100,
            yields: 20_000,
            park: Duration::from_micros(20),
        }
    }
}

impl SpinYieldPark {
    /// Waits once, the `n`th time in a row.
    #[inline]
    pub fn step(&self, n: u32) {
        if n < self.spins {
            std::hint::spin_loop();
        } else if n < self.spins.saturating_add(self.yields) {
            std::thread::yield_now();
        } else {
            std::thread::park_timeout(self.park);
        }
    }
}

/// A stage's wait strategy, chosen by the topology at setup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageWait {
    /// The stage has a core to itself.
    BusySpin,
    /// The stage shares its core.
    Shared(SpinYieldPark),
}

thread_local! {
    /// The sequence this thread is waiting for and how many times it has
    /// waited for it: `WaitStrategy::wait_for` gets `&self` only, and each
    /// consumer thread waits for one thing at a time.
    static WAITING: Cell<(Sequence, u32)> = const { Cell::new((Sequence::MIN, 0)) };
}

impl WaitStrategy for StageWait {
    #[inline]
    fn wait_for(&self, sequence: Sequence) {
        match self {
            StageWait::BusySpin => std::hint::spin_loop(),
            StageWait::Shared(policy) => {
                let n = WAITING.with(|w| {
                    let (waiting_for, n) = w.get();
                    let n = if waiting_for == sequence {
                        n.saturating_add(1)
                    } else {
                        0
                    };
                    w.set((sequence, n));
                    n
                });
                policy.step(n);
            }
        }
    }
}

/// A wait loop of our own (a full ring, a closed gate), with the same policy.
#[derive(Debug)]
pub struct Backoff {
    wait: StageWait,
    n: u32,
}

impl Backoff {
    pub fn new(wait: StageWait) -> Self {
        Backoff { wait, n: 0 }
    }

    #[inline]
    pub fn snooze(&mut self) {
        match self.wait {
            StageWait::BusySpin => std::hint::spin_loop(),
            StageWait::Shared(policy) => policy.step(self.n),
        }
        self.n = self.n.saturating_add(1);
    }
}
