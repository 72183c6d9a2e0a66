//! The CPU the process used over the measured window, thread by thread.
//!
//! On a shared VM a thread that spins is a thread the host throttles, so a
//! run reports what it cost beside what it measured: the cores the whole
//! process used (user + system time over wall time), the CPU time per order
//! sent, and each thread's share, loadgen's own thread apart from the rest
//! (the in-process gateway's or pipeline's threads: `gateway`, `journal`,
//! `matching`, `output`...).
//!
//! How: `/proc/self/stat` (the whole process, threads that ended included)
//! and `/proc/self/task/<tid>/stat` with `/proc/self/task/<tid>/comm` (each
//! live thread) are read at the start and at the end of the window and
//! subtracted. `getrusage(RUSAGE_THREAD)` would be finer, but only a thread
//! can ask it of itself. The times are in clock ticks (`_SC_CLK_TCK`,
//! usually 100 a second): over a window of seconds that is a fraction of a
//! percent of a core. A thread that ended during the window drops out of the
//! list (its time is still in the process's); one that started during it
//! counts from 0. Elsewhere than Linux there is no `/proc`, and no figure.

use std::collections::BTreeMap;

/// One thread's CPU times, in clock ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Times {
    pub user: u64,
    pub sys: u64,
}

impl Times {
    fn minus(self, earlier: Times) -> Times {
        Times {
            user: self.user.saturating_sub(earlier.user),
            sys: self.sys.saturating_sub(earlier.sys),
        }
    }
}

/// The utime and stime fields of a `/proc/.../stat` line. The second field
/// (the thread's name in parentheses) may itself hold spaces and
/// parentheses, so the fields are counted from after the *last* `)`.
pub fn parse_stat(line: &str) -> Option<Times> {
    let (_, rest) = line.rsplit_once(')')?;
    // After the name: state (field 3), ..., utime (14), stime (15).
    let mut fields = rest.split_whitespace().skip(11);
    let user = fields.next()?.parse().ok()?;
    let sys = fields.next()?.parse().ok()?;
    Some(Times { user, sys })
}

/// The process's and each live thread's times at one moment.
#[derive(Debug, Clone)]
pub struct Sample {
    /// When it was taken (the run's clock, ns).
    pub at_ns: u64,
    process: Times,
    /// By thread id: its name and its times.
    threads: BTreeMap<u32, (String, Times)>,
}

impl Sample {
    /// Reads `/proc/self`; `None` where there is none.
    pub fn take(at_ns: u64) -> Option<Sample> {
        let process = parse_stat(&std::fs::read_to_string("/proc/self/stat").ok()?)?;
        let mut threads = BTreeMap::new();
        for entry in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
            let Some(tid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
                continue;
            };
            // A thread may end between the listing and the read: skip it.
            let dir = entry.path();
            let Some(times) = std::fs::read_to_string(dir.join("stat"))
                .ok()
                .and_then(|l| parse_stat(&l))
            else {
                continue;
            };
            let name = std::fs::read_to_string(dir.join("comm"))
                .map(|s| s.trim_end_matches('\n').to_string())
                .unwrap_or_default();
            threads.insert(tid, (name, times));
        }
        Some(Sample {
            at_ns,
            process,
            threads,
        })
    }
}

/// The id of the calling thread (Linux), from `/proc/thread-self`.
pub fn current_tid() -> Option<u32> {
    let link = std::fs::read_link("/proc/thread-self").ok()?;
    link.file_name()?.to_str()?.parse().ok()
}

/// Clock ticks a second, for the times in `/proc`.
fn ticks_per_second() -> u64 {
    // SAFETY: sysconf takes a constant and reads no memory of ours.
    let n = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(n).ok().filter(|n| *n > 0).unwrap_or(100)
}

/// CPU time over a window, user and system apart.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct CpuTime {
    pub user_ns: u64,
    pub sys_ns: u64,
    /// (user + system) / the window's wall time: the cores it kept busy.
    pub cores: f64,
}

impl CpuTime {
    fn of(t: Times, tick_ns: u64, window_ns: u64) -> CpuTime {
        let user_ns = t.user.saturating_mul(tick_ns);
        let sys_ns = t.sys.saturating_mul(tick_ns);
        CpuTime {
            user_ns,
            sys_ns,
            cores: (user_ns + sys_ns) as f64 / window_ns.max(1) as f64,
        }
    }

    pub fn total_ns(&self) -> u64 {
        self.user_ns + self.sys_ns
    }

    /// `whole` less `part`. The kernel splits a process's and a thread's
    /// time into user and system apart (each scaled by its own ratio), so
    /// one side can come out short by a tick: the total is what is
    /// subtracted, and the split follows it, so `part + rest == whole`.
    fn rest(whole: CpuTime, part: CpuTime, window_ns: u64) -> CpuTime {
        let total = whole.total_ns().saturating_sub(part.total_ns());
        let user_ns = whole.user_ns.saturating_sub(part.user_ns).min(total);
        let sys_ns = total - user_ns;
        CpuTime {
            user_ns,
            sys_ns,
            cores: (user_ns + sys_ns) as f64 / window_ns.max(1) as f64,
        }
    }
}

/// One thread's CPU over the window.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ThreadCpu {
    pub tid: u32,
    /// Its name (`comm`): `gateway`, `matching`... loadgen's own thread has
    /// the name of the thread that called `run` (`main` for the binary).
    pub name: String,
    /// This is loadgen's own thread (the one that sends and receives).
    pub loadgen: bool,
    #[serde(flatten)]
    pub cpu: CpuTime,
}

/// What the process used over the measured window.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CpuUsage {
    /// The window the samples span (ns of wall time).
    pub window_ns: u64,
    /// Orders handed to the transport between the two samples.
    pub orders: u64,
    /// The whole process, threads that ended during the window included.
    pub process: CpuTime,
    /// Process CPU time per order: `process` (ns) / `orders`.
    pub ns_per_order: Option<f64>,
    /// loadgen's own thread.
    pub loadgen: CpuTime,
    /// Everything else in the process: what is driven, when it runs in
    /// process (the gateway's or the pipeline's threads).
    pub system: CpuTime,
    /// Every thread alive at the end, busiest first.
    pub threads: Vec<ThreadCpu>,
}

impl CpuUsage {
    /// The difference of two samples; `own` is loadgen's thread id.
    pub fn between(start: &Sample, end: &Sample, orders: u64, own: Option<u32>) -> CpuUsage {
        let tick_ns = 1_000_000_000 / ticks_per_second();
        let window_ns = end.at_ns.saturating_sub(start.at_ns).max(1);
        let process = CpuTime::of(end.process.minus(start.process), tick_ns, window_ns);
        let mut threads: Vec<ThreadCpu> = end
            .threads
            .iter()
            .map(|(tid, (name, times))| {
                let before = start.threads.get(tid).map(|(_, t)| *t).unwrap_or_default();
                ThreadCpu {
                    tid: *tid,
                    name: name.clone(),
                    loadgen: Some(*tid) == own,
                    cpu: CpuTime::of(times.minus(before), tick_ns, window_ns),
                }
            })
            .collect();
        threads.sort_by(|a, b| {
            b.cpu
                .total_ns()
                .cmp(&a.cpu.total_ns())
                .then(a.tid.cmp(&b.tid))
        });
        let loadgen = threads
            .iter()
            .find(|t| t.loadgen)
            .map(|t| t.cpu)
            .unwrap_or_default();
        CpuUsage {
            window_ns,
            orders,
            process,
            ns_per_order: (orders > 0).then(|| process.total_ns() as f64 / orders as f64),
            loadgen,
            system: CpuTime::rest(process, loadgen, window_ns),
            threads,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_stat_line_is_read_after_the_last_parenthesis() {
        let line = "4242 (sleep) S 1 4242 4242 34816 4242 4194304 95 0 0 0 17 3 0 0 20 0 1 0 \
                    123456 5558272 224 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
        assert_eq!(parse_stat(line), Some(Times { user: 17, sys: 3 }));
        // A name with spaces and parentheses, as `comm` allows.
        let line = "77 (my (odd) thread) )) R 1 2 3 4 5 6 7 8 9 10 1234 56 0 0 20 0 1 0 9\n";
        assert_eq!(
            parse_stat(line),
            Some(Times {
                user: 1234,
                sys: 56
            })
        );
        assert_eq!(parse_stat("77 (x) R 1 2"), None);
        assert_eq!(parse_stat("no parenthesis 1 2 3"), None);
        assert_eq!(parse_stat("1 (x) R 1 2 3 4 5 6 7 8 9 10 u 5"), None);
    }

    #[test]
    fn the_window_is_the_difference_of_two_samples() {
        let thread = |name: &str, user, sys| (name.to_string(), Times { user, sys });
        let start = Sample {
            at_ns: 1_000_000_000,
            process: Times { user: 100, sys: 50 },
            threads: BTreeMap::from([
                (1, thread("main", 40, 10)),
                (2, thread("matching", 60, 40)),
                (3, thread("ended", 0, 0)),
            ]),
        };
        let end = Sample {
            at_ns: 3_000_000_000,
            process: Times {
                user: 200,
                sys: 100,
            },
            threads: BTreeMap::from([
                (1, thread("main", 60, 20)),
                (2, thread("matching", 120, 70)),
                (4, thread("new", 5, 0)),
            ]),
        };
        let u = CpuUsage::between(&start, &end, 1_000, Some(1));
        let tick = 1_000_000_000 / ticks_per_second();
        assert_eq!(u.window_ns, 2_000_000_000);
        assert_eq!(u.process.user_ns, 100 * tick);
        assert_eq!(u.process.sys_ns, 50 * tick);
        assert_eq!(u.loadgen.user_ns, 20 * tick);
        assert_eq!(u.loadgen.sys_ns, 10 * tick);
        assert_eq!(u.system.total_ns(), 120 * tick);
        assert!((u.process.cores - 150.0 * tick as f64 / 2e9).abs() < 1e-9);
        assert_eq!(u.ns_per_order, Some(150.0 * tick as f64 / 1_000.0));
        let names: Vec<&str> = u.threads.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            ["matching", "main", "new"],
            "busiest first, the ended one gone"
        );
        assert!(u.threads[1].loadgen && !u.threads[0].loadgen);
        assert_eq!(
            u.threads[2].cpu.user_ns,
            5 * tick,
            "a new thread counts from 0"
        );
    }

    #[test]
    fn this_process_can_be_sampled() {
        let Some(a) = Sample::take(0) else {
            return; // no /proc here
        };
        let own = current_tid().unwrap();
        assert!(a.threads.contains_key(&own), "{:?}", a.threads);
        let b = Sample::take(1_000).unwrap();
        let u = CpuUsage::between(&a, &b, 0, Some(own));
        assert_eq!(u.ns_per_order, None);
        assert!(u.threads.iter().any(|t| t.loadgen));
    }
}
