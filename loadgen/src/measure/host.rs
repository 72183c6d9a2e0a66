//! The machine a run was on: every figure is only meaningful with it.

/// What the report says about the host. Fields the OS does not expose are `None`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HostFacts {
    /// Cores this process may run on.
    pub cores: usize,
    pub cpu_model: Option<String>,
    pub kernel: Option<String>,
    /// cpufreq governor of cpu0 (`performance` is what latency runs want).
    pub governor: Option<String>,
    /// Simultaneous multithreading: `on`, `off`, `notsupported`...
    pub smt: Option<String>,
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

impl HostFacts {
    /// Reads what it can; never fails.
    pub fn detect() -> HostFacts {
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        });
        HostFacts {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model,
            kernel: read_trimmed("/proc/sys/kernel/osrelease"),
            governor: read_trimmed("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
            smt: read_trimmed("/sys/devices/system/cpu/smt/control"),
        }
    }

    /// One line for the report.
    pub fn describe(&self) -> String {
        format!(
            "{} cores, {}, kernel {}, governor {}, SMT {}",
            self.cores,
            self.cpu_model.as_deref().unwrap_or("unknown CPU"),
            self.kernel.as_deref().unwrap_or("unknown"),
            self.governor.as_deref().unwrap_or("n/a"),
            self.smt.as_deref().unwrap_or("n/a"),
        )
    }
}
