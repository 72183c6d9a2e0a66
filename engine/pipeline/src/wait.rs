//! How a stage waits when it has nothing to do: CPU in proportion to work.
//!
//! Three policies, one setting (`PipelineConfig::wait`, the gateway's and
//! loadgen's `--wait`):
//!
//! - `Spin`: look again at once, forever. Reacts within nanoseconds and
//!   costs a whole core whatever the load. Right only on a core nothing
//!   else wants (an isolated core, `isolcpus`); on a shared host, a VM or a
//!   container with a CPU limit, spinning cores are throttled by the host
//!   into stalls of milliseconds, which is worse than any wake-up
//!   (docs/performance.md, "The machine's own floor"). A stage that shares
//!   its core yields between looks instead, so the thread it shares with
//!   runs whenever it has work.
//! - `Adaptive` (the default): spin for a short, bounded time
//!   (`SPIN_BEFORE_SLEEP`: work under load arrives within microseconds, and
//!   a wake-up costs more than that), then sleep until the producer rings
//!   the doorbell (`doorbell.rs`); on a shared core, sleep at once. Idle, a
//!   stage costs nothing.
//! - `Block`: sleep at once. The least CPU, a wake-up on every command that
//!   finds the stage asleep.
//!
//! `WaitSetting::Auto` (the default setting) is `Spin` where every core
//! the pipeline uses is isolated (`/sys/devices/system/cpu/isolated`), and
//! `Adaptive` everywhere else; the resolved policy and the reason are in
//! `Topology::describe`, which the gateway prints at start.

use std::cell::Cell;
use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use disruptor::Sequence;
use disruptor::wait_strategies::WaitStrategy;

use super::doorbell::Doorbell;

/// How long an adaptive wait spins (or yields) before it sleeps.
pub const SPIN_BEFORE_SLEEP: Duration = Duration::from_micros(20);

/// How long a wait with nobody to ring it (room in a full ring) sleeps at a
/// time once its spin is over.
pub const NAP: Duration = Duration::from_micros(50);

/// What the owner asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WaitSetting {
    /// `Spin` on isolated cores, `Adaptive` elsewhere.
    #[default]
    Auto,
    Spin,
    Adaptive,
    Block,
}

/// What the stages do, once resolved (`WaitSetting::resolve`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WaitPolicy {
    Spin,
    #[default]
    Adaptive,
    Block,
}

impl WaitSetting {
    /// The policy for a pipeline on `cores`, given the host's isolated
    /// cores, and why (for the start line).
    pub fn resolve(self, cores: &[usize], isolated: &[usize]) -> (WaitPolicy, &'static str) {
        match self {
            WaitSetting::Spin => (WaitPolicy::Spin, "asked for"),
            WaitSetting::Adaptive => (WaitPolicy::Adaptive, "asked for"),
            WaitSetting::Block => (WaitPolicy::Block, "asked for"),
            WaitSetting::Auto
                if !cores.is_empty() && cores.iter().all(|c| isolated.contains(c)) =>
            {
                (WaitPolicy::Spin, "the pipeline's cores are isolated")
            }
            WaitSetting::Auto if isolated.is_empty() => (
                WaitPolicy::Adaptive,
                "the default: no isolated cores, so spinning would be throttled",
            ),
            WaitSetting::Auto => (
                WaitPolicy::Adaptive,
                "the default: not every core the pipeline uses is isolated",
            ),
        }
    }
}

impl FromStr for WaitSetting {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(WaitSetting::Auto),
            "spin" => Ok(WaitSetting::Spin),
            "adaptive" => Ok(WaitSetting::Adaptive),
            "block" => Ok(WaitSetting::Block),
            other => Err(format!(
                "unknown wait setting {other:?}: use auto, spin, adaptive or block"
            )),
        }
    }
}

impl fmt::Display for WaitPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WaitPolicy::Spin => "spin",
            WaitPolicy::Adaptive => "adaptive",
            WaitPolicy::Block => "block",
        })
    }
}

/// The host's isolated cores (`/sys/devices/system/cpu/isolated`, a list
/// like `2-3,5`); none if the file is missing or empty.
pub fn isolated_cores() -> Vec<usize> {
    std::fs::read_to_string("/sys/devices/system/cpu/isolated")
        .map(|list| parse_cpu_list(&list))
        .unwrap_or_default()
}

/// Parses the kernel's CPU list format (`0-2,5`); what does not parse is skipped.
pub fn parse_cpu_list(list: &str) -> Vec<usize> {
    let mut cores = Vec::new();
    for part in list.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.trim().parse::<usize>(), b.trim().parse::<usize>()) {
                    cores.extend(a..=b);
                }
            }
            None => cores.extend(part.trim().parse::<usize>().ok()),
        }
    }
    cores
}

/// One stage's wait, chosen at setup by the topology (`Topology::wait_on`):
/// the policy, whether the stage shares its core, and the doorbell its
/// producer rings. `Copy`, as the disruptor's `WaitStrategy` must be.
#[derive(Debug, Clone, Copy)]
pub struct StageWait {
    policy: WaitPolicy,
    shared: bool,
    bell: &'static Doorbell,
}

impl StageWait {
    pub fn new(policy: WaitPolicy, shared: bool, bell: &'static Doorbell) -> Self {
        StageWait {
            policy,
            shared,
            bell,
        }
    }

    /// One look under `Spin`: alone on its core, a spin; on a shared core,
    /// a yield, so the thread it shares with runs if it has work (a yield
    /// costs nothing then, and returns at once if not).
    #[inline]
    fn spin_once(&self) {
        if self.shared {
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }

    /// Waits once more for `sequence`, which became awaited at `since`.
    #[inline]
    fn step(&self, sequence: i64, since: Instant, bell: Option<&Doorbell>) {
        match self.policy {
            WaitPolicy::Spin => self.spin_once(),
            // Alone on its core, an adaptive stage spins a little first. On
            // a shared core it sleeps at once: its producer is usually the
            // thread it shares with, which cannot publish while it spins,
            // and the doorbell wakes it as soon as that thread does.
            WaitPolicy::Adaptive if !self.shared && since.elapsed() < SPIN_BEFORE_SLEEP => {
                std::hint::spin_loop();
            }
            WaitPolicy::Adaptive | WaitPolicy::Block => match bell {
                Some(bell) => {
                    bell.sleep_for(sequence);
                }
                None => std::thread::sleep(NAP),
            },
        }
    }
}

thread_local! {
    /// The sequence this thread is waiting for and since when:
    /// `WaitStrategy::wait_for` gets `&self` only, and each consumer thread
    /// waits for one thing at a time.
    static WAITING: Cell<(Sequence, Option<Instant>)> = const { Cell::new((Sequence::MIN, None)) };
}

impl WaitStrategy for StageWait {
    #[inline]
    fn wait_for(&self, sequence: Sequence) {
        if self.policy == WaitPolicy::Spin {
            // No clock read: a spinning stage never sleeps.
            self.spin_once();
            return;
        }
        let since = WAITING.with(|w| match w.get() {
            (waiting_for, Some(since)) if waiting_for == sequence => since,
            _ => {
                let now = Instant::now();
                w.set((sequence, Some(now)));
                now
            }
        });
        self.step(sequence, since, Some(self.bell));
    }
}

/// A wait loop of our own (a full ring, a closed gate), with the same policy.
#[derive(Debug)]
pub struct Backoff {
    wait: StageWait,
    since: Option<Instant>,
}

impl Backoff {
    pub fn new(wait: StageWait) -> Self {
        Backoff { wait, since: None }
    }

    /// Waits once more for room that nobody rings for (a consumer freeing
    /// slots): after the spin, naps of `NAP`.
    #[inline]
    pub fn snooze(&mut self) {
        let since = *self.since.get_or_insert_with(Instant::now);
        self.wait.step(0, since, None);
    }

    /// Waits once more for `bell` to reach `sequence`: after the spin, sleeps
    /// until it is rung.
    #[inline]
    pub fn snooze_for(&mut self, bell: &Doorbell, sequence: i64) {
        let since = *self.since.get_or_insert_with(Instant::now);
        self.wait.step(sequence, since, Some(bell));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_parse_as_the_kernel_writes_them() {
        for (list, cores) in [
            ("", vec![]),
            ("\n", vec![]),
            ("3", vec![3]),
            ("2-3,5\n", vec![2, 3, 5]),
            ("0-1,x,4", vec![0, 1, 4]),
        ] {
            assert_eq!(parse_cpu_list(list), cores, "{list:?}");
        }
    }

    #[test]
    fn auto_spins_only_on_isolated_cores() {
        #[rustfmt::skip]
        let cases: &[(WaitSetting, &[usize], &[usize], WaitPolicy)] = &[
            (WaitSetting::Auto,     &[0, 1], &[],     WaitPolicy::Adaptive),
            (WaitSetting::Auto,     &[0, 1], &[1],    WaitPolicy::Adaptive),
            (WaitSetting::Auto,     &[1, 2], &[1, 2], WaitPolicy::Spin),
            (WaitSetting::Spin,     &[0, 1], &[],     WaitPolicy::Spin),
            (WaitSetting::Block,    &[1],    &[1],    WaitPolicy::Block),
            (WaitSetting::Adaptive, &[1],    &[1],    WaitPolicy::Adaptive),
        ];
        for &(setting, cores, isolated, expected) in cases {
            assert_eq!(
                setting.resolve(cores, isolated).0,
                expected,
                "{setting:?} {cores:?} {isolated:?}"
            );
        }
    }
}
