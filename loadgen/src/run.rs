//! One run, start to end: read the targets, measure the host, set up what
//! to drive, drive it on the schedule, and sum the outcome up as the report.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::SystemTime;

use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::IntervalLogWriterBuilder;

use crate::cli::duration::format_duration;
use crate::cli::options::{CpuChoice, Options};
use crate::driver::{DriveConfig, DriveOutcome, drive};
use crate::error::RunError;
use crate::flow::schedule::{Schedule, duration_ns};
use crate::flow::workload::{Band, Workload, WorkloadConfig};
use crate::measure::clock::Clock;
use crate::measure::hiccup::Floor;
use crate::measure::histlog::{IntervalSink, MAX_VALUE_DIVISOR};
use crate::measure::host::HostFacts;
use crate::measure::progress::Log;
use crate::measure::progress::Progress;
use crate::measure::record::Record;
use crate::measure::recorder::Metric;
use crate::measure::report::{LatencySummary, Summary, at_rate_checks, checks, format_latency};
use crate::measure::targets::{self, Targets, parse_targets};
use crate::transport::setup::{Setup, instruments, setup};

/// Runs loadgen as `options` say and returns the report. Errors are for
/// runs that could not start; a run that started and then failed (the
/// gateway went away) returns its report with `failure` set.
pub fn run(options: &Options, log: Log<'_>) -> Result<Summary, RunError> {
    options.validate().map_err(RunError::Config)?;
    let targets = load_targets(options)?;
    // Before pinning: pinning narrows what the process may use.
    let host = HostFacts::detect();
    // And before anything else runs: the host's own stalls, measured alone.
    let floor = match options.hiccup {
        Some(d) => {
            log(&format!(
                "loadgen: measuring this host's own stalls for {} (--hiccup)",
                format_duration(d)
            ));
            Some(Floor::measure(d).map_err(RunError::Config)?)
        }
        None => None,
    };
    let clock = Clock::start();
    let schedule = Schedule::new(options.rate, options.warmup, options.duration);
    let specs = instruments(options.instruments);

    // What to drive, and where loadgen's thread should run.
    let Setup {
        mut transport,
        local,
        driven,
        durability,
        topology,
        pin,
    } = setup(options, specs, &clock, log)?;
    let pin = match options.cpu {
        CpuChoice::Auto => pin,
        CpuChoice::None => None,
        CpuChoice::Core(c) => Some(c),
    };
    if let Some(core) = pin
        && !core_affinity::set_for_current(core_affinity::CoreId { id: core })
    {
        log(&format!(
            "note: could not pin loadgen to core {core}; running unpinned"
        ));
    }

    let mut workload = Workload::new(WorkloadConfig {
        mix: options.mix,
        sessions: options.sessions,
        instruments: options.instruments,
        seed: options.seed,
        resting: options.resting,
        band: Band::default(),
    });
    let drive_config = DriveConfig {
        schedule,
        tick: options.tick,
        drain: options.drain,
        instruments: options.instruments,
        sessions: options.sessions,
    };
    log(&format!(
        "loadgen: {} orders at {}/s: {} warm-up + {} measured, {} sessions, {} instruments{}",
        schedule.total(),
        options.rate,
        format_duration(options.warmup),
        format_duration(options.duration),
        options.sessions,
        options.instruments,
        pin.map(|c| format!(", loadgen on core {c}"))
            .unwrap_or_default()
    ));

    let mut record = match &options.record {
        Some(path) => Some(Record::create(path).map_err(|source| RunError::Create {
            what: "the record file",
            path: path.clone(),
            source,
        })?),
        None => None,
    };
    let mut progress = Progress::new(options.progress);
    let mut drive_with = |hist: Option<&mut dyn IntervalSink>| {
        drive(
            transport.as_mut(),
            &mut workload,
            &clock,
            &drive_config,
            record.as_mut(),
            hist,
            &mut progress,
        )
    };
    let outcome = match &options.hist {
        Some(path) => with_hist_log(path, options, drive_with)?,
        None => drive_with(None),
    };
    drop(transport);
    let mut notes = Vec::new();
    if let Some(gw) = local
        && let Err(e) = gw.shutdown()
    {
        notes.push(format!(
            "the in-process gateway did not shut down cleanly: {e}"
        ));
    }
    if let Some(r) = &record {
        notes.push(format!("{} execution reports recorded", r.lines()));
    }

    let mut summary = summarize(
        options, host, &schedule, &targets, outcome, driven, durability, topology, notes,
    );
    if let Some(floor) = floor {
        summary.note_floor(floor);
    }
    Ok(summary)
}

/// Runs `drive` with the `--hist` interval log open at `path`, and closes
/// the log after it.
fn with_hist_log(
    path: &Path,
    options: &Options,
    drive: impl FnOnce(Option<&mut dyn IntervalSink>) -> DriveOutcome,
) -> Result<DriveOutcome, RunError> {
    let file = File::create(path).map_err(|source| RunError::Create {
        what: "the histogram log",
        path: path.to_path_buf(),
        source,
    })?;
    let mut out = BufWriter::new(file);
    let mut serializer = V2DeflateSerializer::new();
    let mut builder = IntervalLogWriterBuilder::new();
    builder
        .add_comment(&format!(
            "loadgen {} at {}/s; values in ns; tags: ack (order→ack), fill (order→first fill)",
            options.transport.scope(),
            options.rate
        ))
        .with_start_time(SystemTime::now())
        .with_max_value_divisor(MAX_VALUE_DIVISOR);
    let mut writer = builder
        .begin_log_with(&mut out, &mut serializer)
        .map_err(|source| RunError::Write {
            what: "the histogram log",
            source,
        })?;
    let outcome = drive(Some(&mut writer));
    drop(writer);
    out.flush().map_err(|source| RunError::Write {
        what: "the histogram log",
        source,
    })?;
    Ok(outcome)
}

/// Reads the targets: `--targets FILE`, or the built-in `docs/targets.toml`.
fn load_targets(options: &Options) -> Result<Targets, RunError> {
    match &options.targets_file {
        Some(path) => {
            let shown = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|source| RunError::Create {
                what: "(read) the targets file",
                path: path.clone(),
                source,
            })?;
            parse_targets(&text).map_err(|source| RunError::Targets {
                path: shown,
                source,
            })
        }
        None => parse_targets(targets::BUILTIN).map_err(|source| RunError::Targets {
            path: "docs/targets.toml (built in)".into(),
            source,
        }),
    }
}

#[allow(clippy::too_many_arguments)]
fn summarize(
    options: &Options,
    host: HostFacts,
    schedule: &Schedule,
    targets: &Targets,
    outcome: DriveOutcome,
    driven: String,
    durability: Option<String>,
    topology: Option<String>,
    mut notes: Vec<String>,
) -> Summary {
    let rec = &outcome.recorder;
    let ack = LatencySummary::of(rec.total(Metric::Ack));
    let fill = LatencySummary::of(rec.total(Metric::Fill));
    let send_lag = LatencySummary::of(rec.lag());
    let event = outcome.event.as_ref().map(LatencySummary::of);
    // The measured window: from the end of the warm-up to the scheduled end,
    // stretched to the last send if loadgen sent late.
    let window_ns = schedule
        .end_ns()
        .max(outcome.last_send_ns)
        .saturating_sub(schedule.warmup_ns())
        .max(1);
    let window_s = window_ns as f64 / 1e9;
    let achieved_rate = rec.counts.sent_measured as f64 / window_s;
    let answered_rate = rec.counts.answered_measured as f64 / window_s;
    let requested = schedule.rate();
    // Orders not sent because their session had no leader (a failover):
    // the achieved percentage is of the orders due while one served, so it
    // still says whether loadgen kept up; the failover section counts them.
    let not_sent = outcome.failover.as_ref().map_or(0, |f| f.not_sent_measured) as f64;
    let achieved_pct = if outcome.failure.is_some() {
        // A run that stopped early did not achieve its rate, whatever it sent.
        100.0 * rec.counts.sent_measured as f64
            / schedule
                .total()
                .saturating_sub(schedule.warmup_orders())
                .max(1) as f64
    } else if not_sent > 0.0 {
        100.0 * rec.counts.sent_measured as f64 / (requested as f64 * window_s - not_sent).max(1.0)
    } else {
        100.0 * achieved_rate / requested as f64
    };
    // Requests lost in a failover are not in it: they are the failover's.
    let unanswered = outcome.unanswered.len() as u64;
    let scope = options.transport.scope();
    let mut checks = checks(
        scope,
        targets,
        &ack,
        &fill,
        options.mix.aggressive > 0,
        event.as_ref(),
        unanswered,
        achieved_pct,
    );
    checks.extend(at_rate_checks(
        scope,
        targets,
        options.rate,
        &ack,
        outcome.cpu.as_ref(),
    ));
    if outcome.cpu.is_none() {
        notes.push("no CPU figures: this system has no /proc/self/task".into());
    }
    // The tick is batching by design; lateness beyond it is loadgen's.
    let tick_ns = duration_ns(options.tick);
    if let Some(lag) = send_lag.p99_ns
        && lag > tick_ns.saturating_add(1_000_000)
    {
        notes.push(format!(
            "loadgen sent orders late (send lag p99 {}, more than its {} tick): it did not \
             get the CPU in time, or could not generate {}/s, alongside what it drives on \
             this host; the latencies include that wait, as a real client's would",
            format_latency(lag),
            format_duration(options.tick),
            options.rate
        ));
    }
    notes.extend(outcome.notes);
    let failure = outcome.failure.map(|e| e.to_string());
    let pass = failure.is_none() && checks.iter().all(|c| c.pass);
    Summary {
        transport: scope.to_string(),
        driven,
        durability,
        topology,
        host,
        sessions: options.sessions,
        instruments: options.instruments,
        seed: options.seed,
        mix: options.mix.to_string(),
        tick: format_duration(options.tick),
        idle: format!("{:?}", options.effective_idle()).to_lowercase(),
        warmup: format_duration(options.warmup),
        duration: format_duration(options.duration),
        requested_rate: requested,
        achieved_rate,
        achieved_pct,
        answered_rate,
        targets_rate: targets.stated_rate(scope).map(|r| r.per_sec()),
        counts: rec.counts.clone(),
        rejects_by_reason: rec
            .reject_reasons
            .iter()
            .map(|(w, n)| ((*w).to_string(), *n))
            .collect(),
        ack,
        fill,
        event,
        send_lag,
        unanswered,
        unanswered_first: outcome.unanswered.iter().take(20).copied().collect(),
        checks,
        pass,
        failure,
        notes,
        floor: None,
        cpu: outcome.cpu,
        failover: outcome.failover,
    }
}
