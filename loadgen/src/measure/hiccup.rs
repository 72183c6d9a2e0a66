//! The machine's own stalls: how often, and for how long, a thread that
//! never blocks still loses its core.
//!
//! A thread pinned to a core reads the clock in a tight loop. Each step
//! takes a few tens of nanoseconds, so a gap between two readings longer
//! than `STALL_NS` is time the core ran something else: an interrupt, a
//! kernel thread, or (in a virtual machine) the hypervisor running another
//! guest or its own work. Nothing in this process can make such a gap
//! shorter, so they set a floor under every latency percentile measured on
//! the machine. (The idea is Azul's jHiccup and Solarflare's sysjitter.)
//!
//! The floor: a request that arrives at a random moment during a stall of
//! length `d` waits for the rest of it, uniformly between 0 and `d`. Over a
//! measurement of length `T`, the share of moments whose wait exceeds `x`
//! is `Σ max(d - x, 0) / T`; the floor at quantile `q` is the smallest `x`
//! where that share is at most `1 - q`. A stage pinned to the core cannot
//! do better than that at `q`, whatever its own cost; a request that needs
//! both cores of a pipeline adds (roughly) both cores' shares, which
//! `combined_floor` computes.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// A gap between two clock readings longer than this is a stall. The loop's
/// own step is two vDSO clock reads (tens of nanoseconds); 2 µs is far above it
/// and below any latency target this project has.
pub const STALL_NS: u64 = 2_000;

const HIGHEST_NS: u64 = 60_000_000_000;
const SIGFIG: u8 = 3;

/// One core's stalls over one measurement.
#[derive(Debug, Clone)]
pub struct CoreStalls {
    /// The core measured (`None`: the thread was not pinned).
    pub core: Option<usize>,
    /// How long the measurement lasted.
    pub measured_ns: u64,
    /// Every stall's length.
    stalls: Histogram<u64>,
}

impl CoreStalls {
    fn empty(core: Option<usize>) -> CoreStalls {
        let stalls = Histogram::new_with_bounds(1, HIGHEST_NS, SIGFIG)
            .expect("constant histogram bounds are valid");
        CoreStalls {
            core,
            measured_ns: 0,
            stalls,
        }
    }

    /// Spins on this thread for `duration`, recording every gap over `STALL_NS`.
    pub fn measure(core: Option<usize>, duration: Duration) -> CoreStalls {
        let mut result = CoreStalls::empty(core);
        let start = Instant::now();
        let mut last = start;
        loop {
            let now = Instant::now();
            let gap = now.duration_since(last).as_nanos() as u64;
            if gap > STALL_NS {
                result.stalls.saturating_record(gap);
            }
            last = now;
            if now.duration_since(start) >= duration {
                break;
            }
        }
        result.measured_ns = last.duration_since(start).as_nanos() as u64;
        result
    }

    /// A measurement made of the given stall lengths (for tests and tools).
    pub fn from_stalls(core: Option<usize>, measured_ns: u64, stalls: &[u64]) -> CoreStalls {
        let mut result = CoreStalls::empty(core);
        for &d in stalls.iter().filter(|&&d| d > STALL_NS) {
            result.stalls.saturating_record(d);
        }
        result.measured_ns = measured_ns;
        result
    }

    /// Stalls seen.
    pub fn count(&self) -> u64 {
        self.stalls.len()
    }

    /// Stalls longer than `ns`, per second of measurement.
    pub fn per_second_over(&self, ns: u64) -> f64 {
        let over: u64 = self
            .stalls
            .iter_recorded()
            .filter(|v| self.stalls.highest_equivalent(v.value_iterated_to()) > ns)
            .map(|v| v.count_at_value())
            .sum();
        over as f64 / self.seconds()
    }

    /// The longest stall.
    pub fn max_ns(&self) -> u64 {
        if self.stalls.is_empty() {
            0
        } else {
            self.stalls.max()
        }
    }

    /// The share of the measured time the core was away.
    pub fn lost_share(&self) -> f64 {
        self.excess_ns(0) as f64 / self.measured_ns.max(1) as f64
    }

    /// The share of moments at which work arriving would wait more than `x`
    /// for the core: `Σ max(d - x, 0) / T`.
    pub fn share_waiting_over(&self, x_ns: u64) -> f64 {
        self.excess_ns(x_ns) as f64 / self.measured_ns.max(1) as f64
    }

    /// The smallest wait `x` that at most `1 - quantile` of arrivals exceed.
    pub fn floor(&self, quantile: f64) -> u64 {
        combined_floor(std::slice::from_ref(self), quantile)
    }

    /// `Σ max(d - x, 0)` over the stalls.
    fn excess_ns(&self, x_ns: u64) -> u64 {
        self.stalls
            .iter_recorded()
            .map(|v| {
                let d = self.stalls.median_equivalent(v.value_iterated_to());
                d.saturating_sub(x_ns) * v.count_at_value()
            })
            .sum()
    }

    fn seconds(&self) -> f64 {
        (self.measured_ns as f64 / 1e9).max(1e-9)
    }
}

/// The floor at `quantile` for work that needs every one of `cores`, each
/// stalling on its own: arrivals waiting more than `x` on any of them, at
/// most the sum of the cores' shares (a union bound, exact when their
/// stalls do not overlap).
pub fn combined_floor(cores: &[CoreStalls], quantile: f64) -> u64 {
    let allowed = (1.0 - quantile).max(0.0);
    let share = |x: u64| cores.iter().map(|c| c.share_waiting_over(x)).sum::<f64>();
    // The share falls as x grows and is 0 at the longest stall.
    let (mut lo, mut hi) = (
        0u64,
        cores.iter().map(CoreStalls::max_ns).max().unwrap_or(0),
    );
    if share(lo) <= allowed {
        return 0;
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if share(mid) <= allowed {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

/// The cores this thread may run on, in order (the engine's
/// `Topology::available_cores`; none if the OS will not say).
pub fn available_cores() -> Vec<usize> {
    let mut ids = pipeline::Topology::available_cores().unwrap_or_default();
    ids.sort_unstable();
    ids
}

/// Measures every core in `cores` at once, a pinned spinning thread on each,
/// for `duration`. Fails if a core cannot be pinned (it does not exist, or
/// this process may not run there).
pub fn measure_cores(cores: &[usize], duration: Duration) -> Result<Vec<CoreStalls>, String> {
    let available = available_cores();
    if let Some(core) = cores.iter().find(|c| !available.contains(c)) {
        return Err(format!(
            "core {core} does not exist or this process may not run there; \
             cores available: {available:?}"
        ));
    }
    let handles: Vec<_> = cores
        .iter()
        .map(|&core| {
            std::thread::Builder::new()
                .name(format!("hiccup-{core}"))
                .spawn(move || {
                    if !core_affinity::set_for_current(core_affinity::CoreId { id: core }) {
                        return Err(format!(
                            "cannot pin a thread to core {core} (see `taskset -p $$`)"
                        ));
                    }
                    Ok(CoreStalls::measure(Some(core), duration))
                })
                .map_err(|e| format!("cannot start a measuring thread: {e}"))
        })
        .collect::<Result<_, _>>()?;
    handles
        .into_iter()
        .map(|h| {
            h.join()
                .map_err(|_| "a measuring thread panicked".to_string())?
        })
        .collect()
}

/// What loadgen's report says of the host's stalls (`loadgen --hiccup`):
/// the floor for work that needs every core measured.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Floor {
    /// How long each core was measured, in milliseconds.
    pub measured_ms: u64,
    pub cores: Vec<usize>,
    /// Share of the time lost to stalls, summed over the cores.
    pub lost_share: f64,
    pub p99_ns: u64,
    pub p999_ns: u64,
    pub p9999_ns: u64,
}

impl Floor {
    /// Measures every core this thread may run on for `duration`.
    pub fn measure(duration: Duration) -> Result<Floor, String> {
        let cores = available_cores();
        Ok(Floor::of(&measure_cores(&cores, duration)?))
    }

    /// The combined floor of `measured`.
    pub fn of(measured: &[CoreStalls]) -> Floor {
        Floor {
            measured_ms: measured.iter().map(|c| c.measured_ns).max().unwrap_or(0) / 1_000_000,
            cores: measured.iter().filter_map(|c| c.core).collect(),
            lost_share: measured.iter().map(CoreStalls::lost_share).sum(),
            p99_ns: combined_floor(measured, 0.99),
            p999_ns: combined_floor(measured, 0.999),
            p9999_ns: combined_floor(measured, 0.9999),
        }
    }

    /// The floor at a percentile of a latency check (`p99`, `p99.9`,
    /// `p99.99`), if it is one of those.
    pub fn at(&self, percentile: &str) -> Option<u64> {
        match percentile {
            "p99" => Some(self.p99_ns),
            "p99.9" => Some(self.p999_ns),
            "p99.99" => Some(self.p9999_ns),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;
    const SECOND: u64 = 1_000_000_000;

    fn close(actual: u64, expected: u64) -> bool {
        // The histogram keeps 3 significant figures.
        actual.abs_diff(expected) <= expected / 500 + 1
    }

    #[test]
    fn no_stalls_no_floor() {
        let c = CoreStalls::from_stalls(Some(0), SECOND, &[]);
        assert_eq!(c.count(), 0);
        assert_eq!(c.max_ns(), 0);
        assert_eq!(c.lost_share(), 0.0);
        assert_eq!(c.floor(0.9999), 0);
    }

    #[test]
    fn gaps_at_or_below_the_threshold_are_not_stalls() {
        let c = CoreStalls::from_stalls(None, SECOND, &[100, STALL_NS]);
        assert_eq!(c.count(), 0);
    }

    #[test]
    fn one_stall_of_a_hundredth_of_the_time() {
        // One 10 ms stall in 1 s: 1% of arrivals wait at all, uniformly up
        // to 10 ms; 0.1% wait more than 9 ms, 0.01% more than 9.9 ms.
        let c = CoreStalls::from_stalls(Some(1), SECOND, &[10 * MS]);
        assert_eq!(c.count(), 1);
        assert!(close(c.max_ns(), 10 * MS));
        assert!((c.lost_share() - 0.01).abs() < 1e-4);
        assert!(c.floor(0.99) <= 1, "p99: {}", c.floor(0.99));
        assert!(close(c.floor(0.999), 9 * MS), "p99.9: {}", c.floor(0.999));
        assert!(
            close(c.floor(0.9999), 9_900_000),
            "p99.99: {}",
            c.floor(0.9999)
        );
        assert_eq!(c.per_second_over(MS), 1.0);
        assert_eq!(c.per_second_over(20 * MS), 0.0);
    }

    #[test]
    fn many_short_stalls_raise_the_floor_less_than_one_long_one() {
        // The same 1% lost as 1000 stalls of 10 µs: p99.9 floor 9 µs.
        let short = CoreStalls::from_stalls(None, SECOND, &[10_000; 1000]);
        assert!((short.lost_share() - 0.01).abs() < 1e-4);
        assert!(close(short.floor(0.999), 9_000), "{}", short.floor(0.999));
        assert_eq!(short.per_second_over(5_000), 1000.0);
    }

    #[test]
    fn two_cores_add_their_shares() {
        // Each core alone: 0.1% waits over 9 ms. Both: 0.2% does, so the
        // p99.9 floor of the pair is where each has 0.05%: 9.5 ms.
        let a = CoreStalls::from_stalls(Some(0), SECOND, &[10 * MS]);
        let b = CoreStalls::from_stalls(Some(1), SECOND, &[10 * MS]);
        let both = combined_floor(&[a.clone(), b], 0.999);
        assert!(close(a.floor(0.999), 9 * MS));
        assert!(close(both, 9_500_000), "{both}");
    }

    #[test]
    fn a_short_measurement_reports_its_length() {
        let c = CoreStalls::measure(None, Duration::from_millis(20));
        assert!(c.measured_ns >= 20 * MS);
        assert!(c.lost_share() <= 1.0);
    }

    #[test]
    fn the_report_floor_combines_the_cores() {
        let a = CoreStalls::from_stalls(Some(0), SECOND, &[10 * MS]);
        let b = CoreStalls::from_stalls(Some(1), SECOND, &[10 * MS]);
        let floor = Floor::of(&[a, b]);
        assert_eq!(floor.cores, vec![0, 1]);
        assert_eq!(floor.measured_ms, 1_000);
        assert!((floor.lost_share - 0.02).abs() < 1e-4);
        assert!(close(floor.p999_ns, 9_500_000), "{}", floor.p999_ns);
        assert_eq!(floor.at("p99.9"), Some(floor.p999_ns));
        assert_eq!(floor.at("p50"), None);
    }

    #[test]
    fn a_core_that_does_not_exist_is_an_error() {
        let err = measure_cores(&[100_000], Duration::from_millis(1)).unwrap_err();
        assert!(err.contains("core 100000"), "{err}");
    }
}
