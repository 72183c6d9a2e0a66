//! How a producer wakes a consumer that went to sleep, without a syscall
//! when none did.
//!
//! The disruptor's rings have no signalling: a consumer learns of new slots
//! only by looking at the producer's cursor again. Looking in a tight loop
//! costs a whole core whatever the load, and on a shared host a spinning
//! core is throttled into stalls of milliseconds (docs/performance.md, "The
//! machine's own floor"). So a waiting stage spins only briefly, then
//! sleeps, and the producer rings a doorbell after it publishes.
//!
//! The doorbell is an eventcount (the pattern of the Java disruptor's
//! lite blocking wait strategy and Aeron's back-off idle strategy), built on
//! the `event-listener` crate:
//!
//! - the producer publishes (the ring's cursor, the durable gate), copies the
//!   value it published into `published`, then notifies: with nobody
//!   listening that is one fence and one load, no syscall;
//! - a consumer that wants to sleep first *listens* (registers as a
//!   sleeper), then checks `published` once more, and sleeps only if it is
//!   still short of what it waits for.
//!
//! The order of those two steps is the whole protocol: checking before
//! listening would let the producer publish and notify in between, to
//! nobody, and the consumer would sleep through it (a lost wake-up).
//! `tests/loom.rs` checks the order, and under `--cfg planted_bug` the
//! twin that checks first, which loom must find deadlocked.
//!
//! A thread that sleeps elsewhere (the gateway's poll loop, in
//! `epoll_wait`) cannot listen; it *arms* the doorbell instead, checks
//! `published` once more, and sleeps only if still short; `ring` then calls
//! the hook it set (`set_hook`, a `mio::Waker` in the gateway) once, and
//! only while armed: the same protocol with a flag for the listener list.
//!
//! A sleep is still bounded (`SLEEP_AT_MOST`): the disruptor's shutdown
//! (`shutdown_at_sequence`) is stored without ringing, so a sleeping stage
//! notices it at the latest then; it costs an idle stage a few wake-ups a
//! second. A pipeline that stops `close`s its doorbells first: sleepers
//! wake, and sleep no more, so they see the shutdown as soon as it is
//! stored instead of up to `SLEEP_AT_MOST` later, once per ring (a cluster
//! node's hand-over, inside a failover, waits for that).

use std::fmt;
use std::sync::OnceLock;
use std::time::Duration;

use event_listener::{Event, Listener};
use matching::sync::{AtomicBool, AtomicI64, Ordering, fence};

/// The longest a waiting stage sleeps without being rung.
pub const SLEEP_AT_MOST: Duration = Duration::from_millis(100);

/// What `ring` calls for an armed sleeper that cannot listen.
pub type WakeHook = Box<dyn Fn() + Send + Sync>;

/// A producer's "published up to here", and the sleepers waiting for more.
pub struct Doorbell {
    published: AtomicI64,
    event: Event,
    /// Set by a sleeper that will be woken by `hook`, cleared by the ring
    /// that calls it.
    armed: AtomicBool,
    hook: OnceLock<WakeHook>,
    /// Set when the pipeline stops: from then on nobody sleeps here.
    closing: AtomicBool,
    /// Sleeps entered, and those a ring ended (the rest timed out): for
    /// the metrics (`stats.rs`). Counted only when a consumer really goes
    /// to sleep, a syscall beside which the add costs nothing; std atomics
    /// even under loom, whose model they are not part of.
    sleeps: std::sync::atomic::AtomicU64,
    rung: std::sync::atomic::AtomicU64,
}

impl fmt::Debug for Doorbell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Doorbell")
            .field("published", &self.published)
            .field("armed", &self.armed)
            .field("sleeps", &self.sleeps)
            .field("hook", &self.hook.get().is_some())
            .finish_non_exhaustive()
    }
}

impl Doorbell {
    /// A doorbell whose producer has published up to `published`.
    pub fn new(published: i64) -> Self {
        Doorbell {
            published: AtomicI64::new(published),
            event: Event::new(),
            armed: AtomicBool::new(false),
            hook: OnceLock::new(),
            closing: AtomicBool::new(false),
            sleeps: std::sync::atomic::AtomicU64::new(0),
            rung: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// A doorbell that lives as long as the process: a stage's wait
    /// strategy must be `Copy` (the disruptor's `WaitStrategy`), so it holds
    /// a `&'static`. One per ring per pipeline start, a few dozen bytes.
    pub fn leak(published: i64) -> &'static Doorbell {
        Box::leak(Box::new(Doorbell::new(published)))
    }

    /// Producer: everything up to `published` is available; wakes every
    /// sleeper. Call after the publish itself (the cursor store).
    #[inline]
    pub fn ring(&self, published: i64) {
        // Release: pairs with the Acquire loads in `published` and `arm`, so
        // a consumer that sees this value also sees the publish before it.
        self.published.store(published, Ordering::Release);
        // `notify` starts with a SeqCst fence (event-listener's documented
        // default): it orders the store above before the checks for
        // sleepers after it, against the fences in `listen` and `arm`.
        self.event.notify(usize::MAX);
        // Relaxed: ordered by the fence above; the swap claims the wake-up.
        if self.armed.load(Ordering::Relaxed)
            && self.armed.swap(false, Ordering::Relaxed)
            && let Some(hook) = self.hook.get()
        {
            hook();
        }
    }

    /// The pipeline is stopping: wakes every sleeper, and makes every later
    /// `sleep_for` return at once, so stages waiting here notice the
    /// disruptor's shutdown as soon as it is stored.
    pub fn close(&self) {
        self.closing.store(true, Ordering::Relaxed);
        // `notify` starts with a SeqCst fence: it orders the store above
        // before the check for sleepers, against the fence in `listen`
        // (the same pairing as `ring`'s).
        self.event.notify(usize::MAX);
    }

    /// Sets what `ring` calls for an armed sleeper (once; later calls are
    /// ignored).
    pub fn set_hook(&self, hook: WakeHook) {
        let _ = self.hook.set(hook);
    }

    /// A sleeper that `ring` wakes through the hook: arms the doorbell and
    /// returns what is published now. Sleep only if that is still short of
    /// what is awaited, and `disarm` on waking.
    pub fn arm(&self) -> i64 {
        #[cfg(not(planted_bug))]
        {
            self.armed.store(true, Ordering::Relaxed);
            // SeqCst fence: orders the store above before the load below,
            // against `ring`'s store, fence (in `notify`), load of `armed`.
            fence(Ordering::SeqCst);
            self.published()
        }
        #[cfg(planted_bug)]
        {
            // The lost wake-up: looked before arming.
            let published = self.published();
            self.armed.store(true, Ordering::Relaxed);
            fence(Ordering::SeqCst);
            published
        }
    }

    /// The sleeper is awake: no need to call the hook any more.
    pub fn disarm(&self) {
        self.armed.store(false, Ordering::Relaxed);
    }

    /// What the producer has published so far.
    #[inline]
    pub fn published(&self) -> i64 {
        // Acquire: pairs with the Release store in `ring`.
        self.published.load(Ordering::Acquire)
    }

    /// Consumer: sleeps until the producer rings, unless `sequence` is
    /// published already (then returns at once). Also returns after
    /// `SLEEP_AT_MOST`; the caller looks again either way. `false` only
    /// when it slept that long without a ring.
    pub fn sleep_for(&self, sequence: i64) -> bool {
        #[cfg(not(planted_bug))]
        {
            let listener = self.event.listen();
            // Relaxed `closing`: ordered after the listen by its fence.
            if self.published() >= sequence || self.closing.load(Ordering::Relaxed) {
                return true;
            }
            self.count(wait(listener))
        }
        #[cfg(planted_bug)]
        {
            // The lost wake-up: checked before listening.
            if self.published() >= sequence || self.closing.load(Ordering::Relaxed) {
                return true;
            }
            self.count(wait(self.event.listen()))
        }
    }

    /// Counts a sleep that ended rung (`true`) or timed out.
    fn count(&self, rung: bool) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        // Relaxed: counters for reports, publishing nothing.
        self.sleeps.fetch_add(1, Relaxed);
        if rung {
            self.rung.fetch_add(1, Relaxed);
        }
        rung
    }

    /// Sleeps consumers have entered on this doorbell, and how many of them
    /// a ring ended (the others hit `SLEEP_AT_MOST`).
    pub fn sleeps(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        // Relaxed: counters for reports, publishing nothing.
        (self.sleeps.load(Relaxed), self.rung.load(Relaxed))
    }
}

#[cfg(not(loom))]
fn wait(listener: event_listener::EventListener) -> bool {
    listener.wait_timeout(SLEEP_AT_MOST).is_some()
}

/// Under loom: no timeout (loom has no time), so a lost wake-up is a
/// deadlock the model checker reports.
#[cfg(loom)]
fn wait(listener: event_listener::EventListener) -> bool {
    listener.wait();
    true
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn a_published_sequence_is_not_waited_for() {
        let bell = Doorbell::new(5);
        assert!(bell.sleep_for(5));
    }

    /// However late either thread runs, the sleep that ends with the value
    /// published ended by the ring (or saw it before sleeping), never by
    /// the timeout. (Sleeps before the ring may time out.)
    #[test]
    fn a_ring_wakes_a_sleeper_not_its_timeout() {
        for delay_us in [0, 100, 10_000] {
            let bell = Arc::new(Doorbell::new(0));
            let sleeper = {
                let bell = Arc::clone(&bell);
                std::thread::spawn(move || {
                    let mut rung = bell.sleep_for(1);
                    while bell.published() < 1 {
                        rung = bell.sleep_for(1);
                    }
                    rung
                })
            };
            std::thread::sleep(Duration::from_micros(delay_us));
            bell.ring(1);
            assert!(
                sleeper.join().unwrap(),
                "woke by timeout after {delay_us} µs"
            );
        }
    }
}
