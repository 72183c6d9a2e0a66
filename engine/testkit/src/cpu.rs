//! The CPU time this process's threads have used, by thread name: for
//! tests that check a thread sleeps when idle (behaviour, not speed: a
//! spinning thread fills the whole spell, a sleeping one a tick or two).

/// CPU seconds (user + system) used so far by this process's threads whose
/// names (`/proc/self/task/*/comm`) are in `names`. Threads that ended are
/// not counted. Zero where there is no `/proc`.
pub fn thread_cpu_seconds(names: &[&str]) -> f64 {
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    let mut total = 0.0;
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if !names.contains(&comm.trim()) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue; // the thread ended meanwhile
        };
        total += stat_cpu_ticks(&stat).unwrap_or(0) as f64 / ticks;
    }
    total
}

/// utime + stime, in clock ticks, from a `/proc/.../stat` line. The command
/// name may hold spaces and parentheses, so fields are counted after the
/// last `)`: utime and stime are then the 12th and 13th.
pub fn stat_cpu_ticks(stat: &str) -> Option<u64> {
    let after = stat.get(stat.rfind(')')? + 2..)?;
    let mut fields = after.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_is_read_after_the_last_parenthesis() {
        let line = "42 (a (b) c) S 1 2 3 4 5 6 7 8 9 10 17 5 0 0 20 0 3 0";
        assert_eq!(stat_cpu_ticks(line), Some(22));
        assert_eq!(stat_cpu_ticks("no parenthesis"), None);
    }
}
