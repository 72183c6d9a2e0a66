//! `hiccup`: how much of the time this machine takes its cores away from a
//! thread that never blocks, and what floor that sets under latency
//! percentiles. Run it on a quiet machine before believing any P99 measured
//! here (scripts/bench.sh does). See `loadgen::hiccup`.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use loadgen::HostFacts;
use loadgen::duration::parse_duration;
use loadgen::hiccup::{CoreStalls, STALL_NS, available_cores, combined_floor, measure_cores};

/// Measure the machine's own stalls: one thread per core spins on the
/// clock, and every gap over 2 µs between two readings is time the core was
/// taken away (interrupts, kernel threads, the hypervisor). Nothing else
/// should run meanwhile. The floors are the waits those stalls alone impose
/// on work arriving at random moments: no latency percentile measured on
/// these cores can be lower.
#[derive(Debug, Parser)]
#[command(name = "hiccup", version)]
struct Cli {
    /// How long to measure: 10s, 500ms, 1m.
    #[arg(long, default_value = "10s", value_parser = duration_arg)]
    duration: Duration,
    /// Cores to measure, e.g. 0,1 (default: every core this process may use).
    #[arg(long, value_delimiter = ',')]
    cores: Vec<usize>,
    /// Also write the figures as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    json: Option<std::path::PathBuf>,
}

fn duration_arg(text: &str) -> Result<Duration, String> {
    parse_duration(text).map_err(|e| e.to_string())
}

const QUANTILES: [(f64, &str); 3] = [(0.99, "P99"), (0.999, "P99.9"), (0.9999, "P99.99")];

fn main() -> ExitCode {
    let cli = Cli::parse();
    let cores = if cli.cores.is_empty() {
        available_cores()
    } else {
        cli.cores.clone()
    };
    eprintln!(
        "hiccup: {} spinning thread(s), cores {cores:?}, for {:?}; stalls are gaps over {} µs",
        cores.len(),
        cli.duration,
        STALL_NS / 1000
    );
    let measured = match measure_cores(&cores, cli.duration) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("hiccup: {e}");
            return ExitCode::from(2);
        }
    };
    print!("{}", render(&HostFacts::detect(), &measured));
    let _ = std::io::stdout().flush();
    if let Some(path) = &cli.json {
        let json = serde_json::to_string_pretty(&to_json(&measured)).expect("plain values");
        if let Err(e) = std::fs::write(path, json + "\n") {
            eprintln!("hiccup: cannot write {}: {e}", path.display());
            return ExitCode::from(3);
        }
    }
    ExitCode::SUCCESS
}

fn render(host: &HostFacts, cores: &[CoreStalls]) -> String {
    let mut out = format!("host      {}\n\n", host.describe());
    out += "core   lost    stalls/s: >10µs  >100µs    >1ms      max    floor:   P99    P99.9   P99.99\n";
    let row = |label: &str, lost: f64, over: [f64; 3], max: u64, floors: [u64; 3]| {
        format!(
            "{label:<5} {:>6.3}%  {:>14.1} {:>7.1} {:>7.2} {:>8}  {:>13} {:>8} {:>8}\n",
            lost * 100.0,
            over[0],
            over[1],
            over[2],
            us(max),
            us(floors[0]),
            us(floors[1]),
            us(floors[2]),
        )
    };
    for c in cores {
        let label = c.core.map_or("-".to_string(), |id| id.to_string());
        out += &row(
            &label,
            c.lost_share(),
            [10_000, 100_000, 1_000_000].map(|ns| c.per_second_over(ns)),
            c.max_ns(),
            QUANTILES.map(|(q, _)| c.floor(q)),
        );
    }
    if cores.len() > 1 {
        let lost = cores.iter().map(CoreStalls::lost_share).sum();
        let over = [10_000, 100_000, 1_000_000]
            .map(|ns| cores.iter().map(|c| c.per_second_over(ns)).sum());
        let max = cores.iter().map(CoreStalls::max_ns).max().unwrap_or(0);
        out += &row(
            "all",
            lost,
            over,
            max,
            QUANTILES.map(|(q, _)| combined_floor(cores, q)),
        );
        out += "\n`all`: work that needs every core (a pipeline across them) waits on either core's stalls.\n";
    }
    out
}

fn us(ns: u64) -> String {
    if ns >= 1_000_000 {
        format!("{:.2}ms", ns as f64 / 1e6)
    } else {
        format!("{:.1}µs", ns as f64 / 1e3)
    }
}

fn to_json(cores: &[CoreStalls]) -> serde_json::Value {
    let core = |c: &CoreStalls| {
        let mut v = serde_json::json!({
            "core": c.core,
            "measured_ns": c.measured_ns,
            "stalls": c.count(),
            "lost_share": c.lost_share(),
            "per_sec_over_10us": c.per_second_over(10_000),
            "per_sec_over_100us": c.per_second_over(100_000),
            "per_sec_over_1ms": c.per_second_over(1_000_000),
            "max_ns": c.max_ns(),
        });
        for (q, name) in QUANTILES {
            v[format!("floor_{}_ns", name.to_lowercase().replace('.', ""))] = c.floor(q).into();
        }
        v
    };
    let mut all = serde_json::json!({ "cores": cores.iter().map(core).collect::<Vec<_>>() });
    for (q, name) in QUANTILES {
        all[format!("combined_floor_{}_ns", name.to_lowercase().replace('.', ""))] =
            combined_floor(cores, q).into();
    }
    all
}
