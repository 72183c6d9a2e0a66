//! The end report: what was asked, what was achieved, each latency beside
//! its documented target with PASS or FAIL. The same content goes to the
//! terminal as a table and to `--json` as JSON.

use std::fmt::Write as _;

use hdrhistogram::Histogram;

use crate::cli::rate::Rate;
use crate::flow::orders::Unanswered;
use crate::measure::cpu::CpuUsage;
use crate::measure::failover::FailoverSummary;
use crate::measure::hiccup::Floor;
use crate::measure::host::HostFacts;
use crate::measure::recorder::Counts;
use crate::measure::targets::{PERCENTILES, Target, Targets, Value};

/// Percentiles of one latency (ns); all `None` when there were no samples.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct LatencySummary {
    pub count: u64,
    pub p50_ns: Option<u64>,
    pub p90_ns: Option<u64>,
    pub p99_ns: Option<u64>,
    #[serde(rename = "p99.9_ns")]
    pub p99_9_ns: Option<u64>,
    #[serde(rename = "p99.99_ns")]
    pub p99_99_ns: Option<u64>,
    pub max_ns: Option<u64>,
    pub mean_ns: Option<f64>,
}

impl LatencySummary {
    pub fn of(h: &Histogram<u64>) -> LatencySummary {
        if h.is_empty() {
            return LatencySummary::default();
        }
        let q = |p: f64| Some(h.value_at_quantile(p / 100.0));
        LatencySummary {
            count: h.len(),
            p50_ns: q(50.0),
            p90_ns: q(90.0),
            p99_ns: q(99.0),
            p99_9_ns: q(99.9),
            p99_99_ns: q(99.99),
            max_ns: Some(h.max()),
            mean_ns: Some(h.mean()),
        }
    }

    /// The value of a percentile by its key name (`p50` ... `max`).
    pub fn get(&self, name: &str) -> Option<u64> {
        match name {
            "p50" => self.p50_ns,
            "p90" => self.p90_ns,
            "p99" => self.p99_ns,
            "p99.9" => self.p99_9_ns,
            "p99.99" => self.p99_99_ns,
            "max" => self.max_ns,
            _ => None,
        }
    }
}

/// One comparison with a documented target.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Check {
    /// The target's path in `docs/targets.toml`, e.g. `tcp.ack.p99`.
    pub key: String,
    /// The measured value as shown (`48.1µs`, `0`, `99.98%`), or `no samples`.
    pub measured: String,
    /// The bound, e.g. `<= 100us`.
    pub target: String,
    pub pass: bool,
    /// For a `<= latency` target, that latency (what `--hiccup` compares
    /// with the host's floor).
    #[serde(skip)]
    pub ceiling: Option<std::time::Duration>,
}

/// The whole report of a run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    /// `tcp` or `inproc`: the scope of the targets used.
    pub transport: String,
    /// What was driven: an address, "in-process gateway at ...", or "pipeline".
    pub driven: String,
    pub durability: Option<String>,
    pub topology: Option<String>,
    pub host: HostFacts,
    pub sessions: u16,
    pub instruments: u32,
    pub seed: u64,
    pub mix: String,
    pub tick: String,
    /// How loadgen waited between ticks (`--idle`).
    pub idle: String,
    pub warmup: String,
    pub duration: String,
    /// Orders per second asked for.
    pub requested_rate: u64,
    /// Measured orders sent per second of the measured window (which is
    /// stretched if loadgen fell behind and sent the last ones late).
    pub achieved_rate: f64,
    /// `achieved_rate` as a percentage of `requested_rate`.
    pub achieved_pct: f64,
    /// Measured orders answered per second of the same window.
    pub answered_rate: f64,
    /// The rate the targets are stated at, if `docs/targets.toml` says.
    pub targets_rate: Option<u64>,
    pub counts: Counts,
    pub rejects_by_reason: Vec<(String, u64)>,
    pub ack: LatencySummary,
    pub fill: LatencySummary,
    /// inproc only: command→event, from the publish into the pipeline to the
    /// command's first released event (the pipeline without loadgen's tick).
    pub event: Option<LatencySummary>,
    /// How late loadgen handed measured orders to the transport (tick
    /// batching included): loadgen's own share of the latency.
    pub send_lag: LatencySummary,
    pub unanswered: u64,
    /// The first unanswered requests (at most 20), oldest first.
    pub unanswered_first: Vec<Unanswered>,
    pub checks: Vec<Check>,
    /// Every check passed and the run completed.
    pub pass: bool,
    /// What ended the run early (the gateway went away, say).
    pub failure: Option<String>,
    pub notes: Vec<String>,
    /// The host's own stalls, measured before the run (`--hiccup`).
    pub floor: Option<Floor>,
    /// The CPU the whole process (loadgen and, in process, what it drives)
    /// used over the measured window; `None` without `/proc`.
    pub cpu: Option<CpuUsage>,
    /// Against a cluster, only when a session lost its node: the failovers,
    /// their longest gap, and the requests they left unanswered (in flight,
    /// and not sent), which `unanswered` and its check leave out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failover: Option<FailoverSummary>,
}

impl Summary {
    /// Adds the host's floor, and a note naming every latency target of the
    /// run below it (those cannot pass on this host).
    pub fn note_floor(&mut self, floor: Floor) {
        let below = below_floor(&self.checks, &floor);
        if !below.is_empty() {
            self.notes.push(format!(
                "below this host's floor (see `floor`), so no code can meet them here: {}",
                below.join(", ")
            ));
        }
        self.floor = Some(floor);
    }
}

/// The latency checks whose bound lies below `floor` at their percentile,
/// as `key (bound < floor)`.
fn below_floor(checks: &[Check], floor: &Floor) -> Vec<String> {
    checks
        .iter()
        .filter_map(|c| {
            // `tcp.ack.p99.9`: the percentile is what follows `.p`.
            let (_, percentile) = c.key.split_once(".p")?;
            let at = floor.at(&format!("p{percentile}"))?;
            let ceiling = c.ceiling?;
            (ceiling.as_nanos() < u128::from(at)).then(|| {
                let bound = crate::cli::duration::format_duration(ceiling);
                format!("{} ({bound} < {})", c.key, format_latency(at))
            })
        })
        .collect()
}

/// A latency in the unit that reads best: `850ns`, `12.3µs`, `1.52ms`, `2.10s`.
pub fn format_latency(ns: u64) -> String {
    let ns_f = ns as f64;
    if ns < 1_000 {
        format!("{ns}ns")
    } else if ns < 1_000_000 {
        format!("{:.1}µs", ns_f / 1e3)
    } else if ns < 1_000_000_000 {
        format!("{:.2}ms", ns_f / 1e6)
    } else {
        format!("{:.2}s", ns_f / 1e9)
    }
}

/// A rate in the unit that reads best: `999.8k`, `1.00M`, `350`.
pub fn format_rate(per_sec: f64) -> String {
    if per_sec >= 1e6 {
        format!("{:.2}M", per_sec / 1e6)
    } else if per_sec >= 1e3 {
        format!("{:.1}k", per_sec / 1e3)
    } else {
        format!("{per_sec:.0}")
    }
}

/// Compares the measured values with the targets of `scope`.
#[allow(clippy::too_many_arguments)]
pub fn checks(
    scope: &str,
    targets: &Targets,
    ack: &LatencySummary,
    fill: &LatencySummary,
    fill_expected: bool,
    event: Option<&LatencySummary>,
    unanswered: u64,
    achieved_pct: f64,
) -> Vec<Check> {
    let mut out = Vec::new();
    let none = LatencySummary::default();
    let metrics = [
        ("ack", ack, true),
        ("fill", fill, fill_expected),
        // Only a transport that measures it has it to check.
        ("event", event.unwrap_or(&none), event.is_some()),
    ];
    for (metric, summary, expected) in metrics {
        for (name, _) in PERCENTILES {
            let key = format!("{scope}.{metric}.{name}");
            let Some(target) = targets.get(&key) else {
                continue;
            };
            match summary.get(name) {
                Some(ns) => out.push(latency_check(key, target, ns)),
                // No aggressive orders in the mix: nothing to time, nothing to fail.
                None if !expected => {}
                None => out.push(Check {
                    measured: "no samples".into(),
                    target: target.bound(),
                    pass: false,
                    ceiling: target.latency_ceiling(),
                    key,
                }),
            }
        }
    }
    let key = format!("{scope}.unanswered");
    if let Some(t) = targets.get(&key) {
        out.push(Check {
            measured: unanswered.to_string(),
            target: t.bound(),
            pass: t.met_by(Value::Count(unanswered)),
            ceiling: None,
            key,
        });
    }
    let key = format!("{scope}.achieved");
    if let Some(t) = targets.get(&key) {
        out.push(Check {
            measured: format!("{achieved_pct:.2}%"),
            target: t.bound(),
            pass: t.met_by(Value::Percent(achieved_pct)),
            ceiling: None,
            key,
        });
    }
    out
}

/// A measured latency of `ns` beside its target.
fn latency_check(key: String, target: &Target, ns: u64) -> Check {
    Check {
        measured: format_latency(ns),
        target: target.bound(),
        pass: target.met_by(Value::Latency(std::time::Duration::from_nanos(ns))),
        ceiling: target.latency_ceiling(),
        key,
    }
}

/// Compares the CPU used, and the order→ack percentiles, with the targets
/// of `scope` at exactly `rate` (`[tcp.at.100k]`); none when the file has
/// no table for this rate, and no CPU checks when the CPU could not be
/// measured.
pub fn at_rate_checks(
    scope: &str,
    targets: &Targets,
    rate: Rate,
    ack: &LatencySummary,
    cpu: Option<&CpuUsage>,
) -> Vec<Check> {
    let Some(prefix) = targets.at_rate(scope, rate) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, _) in PERCENTILES {
        let key = format!("{prefix}.ack.{name}");
        let (Some(target), Some(ns)) = (targets.get(&key), ack.get(name)) else {
            continue;
        };
        out.push(latency_check(key, target, ns));
    }
    let Some(cpu) = cpu else {
        return out;
    };
    let key = format!("{prefix}.cores");
    if let Some(t) = targets.get(&key) {
        out.push(Check {
            measured: format!("{:.2} cores", cpu.process.cores),
            target: t.bound(),
            pass: t.met_by(Value::Cores(cpu.process.cores)),
            ceiling: None,
            key,
        });
    }
    let key = format!("{prefix}.cpu_per_order");
    if let Some(t) = targets.get(&key) {
        out.push(match cpu.ns_per_order {
            Some(ns) => Check {
                measured: format_latency(ns.round() as u64),
                target: t.bound(),
                pass: t.met_by(Value::Latency(std::time::Duration::from_nanos(
                    ns.round() as u64
                ))),
                ceiling: None,
                key,
            },
            None => Check {
                measured: "no orders".into(),
                target: t.bound(),
                pass: false,
                ceiling: None,
                key,
            },
        });
    }
    out
}

/// Whether a check's key is one of those shown below the table: the
/// non-latency ones, and those that hold at one rate only.
fn is_other_check(key: &str) -> bool {
    key.contains(".at.")
        || [".unanswered", ".achieved", ".cores", ".cpu_per_order"]
            .iter()
            .any(|end| key.ends_with(end))
}

impl Summary {
    /// The table for the terminal: what ran where, what was sent and
    /// answered, the latencies beside their targets, the other checks, what
    /// to know about the run, and the verdict.
    pub fn render(&self) -> String {
        let mut s = String::from("\n");
        self.render_setup(&mut s);
        self.render_rate(&mut s);
        self.render_counts(&mut s);
        self.render_failover(&mut s);
        s.push('\n');
        self.render_latencies(&mut s);
        s.push('\n');
        self.render_other_checks(&mut s);
        self.render_cpu(&mut s);
        self.render_notes(&mut s);
        s.push('\n');
        self.render_result(&mut s);
        s
    }

    /// What was driven, on which host and threads, and with which settings.
    fn render_setup(&self, s: &mut String) {
        let _ = writeln!(
            s,
            "loadgen {} → {}{}",
            self.transport,
            self.driven,
            self.durability
                .as_ref()
                .map(|d| format!(", durability {d}"))
                .unwrap_or_default()
        );
        let _ = writeln!(s, "host      {}", self.host.describe());
        if let Some(t) = &self.topology {
            let _ = writeln!(s, "threads   {t}");
        }
        if let Some(f) = &self.floor {
            let _ = writeln!(
                s,
                "floor     this host's own stalls before the run (--hiccup, {} ms on cores {:?}, {:.1}% of the time lost): P99 {}, P99.9 {}, P99.99 {}",
                f.measured_ms,
                f.cores,
                f.lost_share * 100.0,
                format_latency(f.p99_ns),
                format_latency(f.p999_ns),
                format_latency(f.p9999_ns),
            );
        }
        let _ = writeln!(
            s,
            "run       {} sessions, {} instruments, seed {}, mix {}, tick {} (idle {}), warm-up {}, measured {}",
            self.sessions,
            self.instruments,
            self.seed,
            self.mix,
            self.tick,
            self.idle,
            self.warmup,
            self.duration
        );
    }

    /// The rate asked for, achieved and answered, and the targets' own rate
    /// when it is another.
    fn render_rate(&self, s: &mut String) {
        let of_what = match &self.failover {
            Some(f) if f.not_sent_measured > 0 => " of the orders due while a leader served",
            _ => "",
        };
        let _ = writeln!(
            s,
            "rate      requested {}/s, achieved {}/s ({:.2}%{of_what}), answered {}/s",
            format_rate(self.requested_rate as f64),
            format_rate(self.achieved_rate),
            self.achieved_pct,
            format_rate(self.answered_rate),
        );
        if let Some(r) = self.targets_rate
            && r != self.requested_rate
        {
            let _ = writeln!(
                s,
                "          (the targets are stated for {}/s; this run asked for {}/s)",
                format_rate(r as f64),
                format_rate(self.requested_rate as f64)
            );
        }
    }

    /// Requests sent and answered, and the execution reports by kind.
    fn render_counts(&self, s: &mut String) {
        let c = &self.counts;
        let _ = writeln!(
            s,
            "orders    sent {} ({} measured: {} new, {} cancel, {} replace in all), answered {}, unanswered {}",
            c.sent,
            c.sent_measured,
            c.sent_new,
            c.sent_cancel,
            c.sent_replace,
            c.answered,
            self.unanswered
        );
        let mut rejects = String::new();
        for (word, n) in &self.rejects_by_reason {
            let _ = write!(rejects, " {word} {n}");
        }
        let _ = writeln!(
            s,
            "reports   accepted {}, rejected {}{}, fills {}, cancelled {}, replaced {}; aggressive filled {}, expired unfilled {}{}",
            c.accepted,
            c.rejected,
            if rejects.is_empty() {
                String::new()
            } else {
                format!(" ({})", rejects.trim())
            },
            c.fills,
            c.cancelled,
            c.replaced,
            c.aggressive_filled,
            c.aggressive_unfilled,
            if c.unexpected > 0 {
                format!(", UNEXPECTED {}", c.unexpected)
            } else {
                String::new()
            }
        );
    }

    /// Against a cluster whose sessions lost their node: how many failovers,
    /// the longest gap, what they left unanswered, and each one's timeline.
    fn render_failover(&self, s: &mut String) {
        let Some(f) = &self.failover else {
            return;
        };
        let secs = |ns: u64| format!("{:.3}s", ns as f64 / 1e9);
        let _ = writeln!(
            s,
            "failover  {} failover{}, longest gap {} (from the first unanswered request to the \
             first answer from the new leader); left unanswered {}: {} in flight (never \
             answered; the old leader may have committed them), {} not sent (due while no \
             leader served); answered after it {}",
            f.failovers,
            if f.failovers == 1 { "" } else { "s" },
            f.longest_gap_ns
                .map_or_else(|| "-".to_string(), format_latency),
            f.left_unanswered,
            f.in_flight,
            f.not_sent,
            f.answered_after,
        );
        for (i, g) in f.gaps.iter().enumerate() {
            let back = match (g.restored_ns, &g.leader) {
                (Some(at), Some(leader)) => format!("all sessions on {leader} at {}", secs(at)),
                (None, Some(leader)) => {
                    format!("not all sessions back by the end (last to {leader})")
                }
                _ => "no session back by the end".to_string(),
            };
            let gap = match (g.answered_ns, g.gap_ns) {
                (Some(at), Some(gap)) => {
                    format!("first answer at {}: gap {}", secs(at), format_latency(gap))
                }
                _ => "no answer from a new leader by the end".to_string(),
            };
            let _ = writeln!(
                s,
                "          #{} from {} (connection lost at {}), {back}, {gap}; {} in flight, {} not sent",
                i + 1,
                secs(g.from_ns),
                secs(g.lost_ns),
                g.in_flight,
                g.not_sent,
            );
        }
    }

    /// The latency table: a row per percentile, a column group per latency
    /// (order→ack, order→fill, and cmd→event when measured), each value
    /// beside its target and verdict; then the sample counts.
    fn render_latencies(&self, s: &mut String) {
        let _ = write!(
            s,
            "  {:<8} {:>10}  {:<10} {:<6} {:>10}  {:<10} {:<6}",
            "", "order→ack", "target", "", "order→fill", "target", ""
        );
        if self.event.is_some() {
            let _ = write!(s, " {:>10}  {:<10} {:<6}", "cmd→event", "target", "");
        }
        let _ = writeln!(s);
        for (name, label) in [
            ("p50", "P50"),
            ("p90", "P90"),
            ("p99", "P99"),
            ("p99.9", "P99.9"),
            ("p99.99", "P99.99"),
            ("max", "max"),
        ] {
            let (av, at, ar) = self.latency_cell("ack", &self.ack, name);
            let (fv, ft, fr) = self.latency_cell("fill", &self.fill, name);
            let _ = write!(
                s,
                "  {label:<8} {av:>10}  {at:<10} {ar:<6} {fv:>10}  {ft:<10} {fr:<6}"
            );
            if let Some(event) = &self.event {
                let (ev, et, er) = self.latency_cell("event", event, name);
                let _ = write!(s, " {ev:>10}  {et:<10} {er:<6}");
            }
            let _ = writeln!(s);
        }
        let _ = write!(
            s,
            "  {:<8} {:>10}  {:<10} {:<6} {:>10}",
            "samples", self.ack.count, "", "", self.fill.count
        );
        if let Some(event) = &self.event {
            let _ = write!(s, "  {:<10} {:<6} {:>10}", "", "", event.count);
        }
        let _ = writeln!(s);
    }

    /// One cell of the latency table: the value of percentile `name` of
    /// `metric`, its target and its verdict (`-` and nothing when it has
    /// no target).
    fn latency_cell(
        &self,
        metric: &str,
        summary: &LatencySummary,
        name: &str,
    ) -> (String, String, &'static str) {
        let key = format!("{}.{metric}.{name}", self.transport);
        let value = summary
            .get(name)
            .map_or_else(|| "-".to_string(), format_latency);
        match self.checks.iter().find(|c| c.key == key) {
            Some(c) => (value, c.target.clone(), verdict(c.pass)),
            None => (value, "-".to_string(), ""),
        }
    }

    /// The checks that are not latencies (unanswered, achieved), and
    /// loadgen's own send lag.
    fn render_other_checks(&self, s: &mut String) {
        for c in &self.checks {
            if is_other_check(&c.key) {
                let _ = writeln!(
                    s,
                    "  {:<22} {:>10}  {:<10} {}",
                    c.key.split_once('.').map_or(c.key.as_str(), |(_, k)| k),
                    c.measured,
                    c.target,
                    verdict(c.pass)
                );
                if c.key.ends_with(".unanswered")
                    && let Some(f) = &self.failover
                {
                    let _ = writeln!(
                        s,
                        "  {:<22} {:>10}  not checked: {} in flight when a node went, {} not \
                         sent while none led (see failover)",
                        "unanswered (failover)", f.left_unanswered, f.in_flight, f.not_sent
                    );
                }
            }
        }
        if let (Some(p99), Some(max)) = (self.send_lag.p99_ns, self.send_lag.max_ns) {
            let _ = writeln!(
                s,
                "  {:<22} {:>10}  (max {}; loadgen's own share: tick batching and its loop)",
                "send lag p99",
                format_latency(p99),
                format_latency(max)
            );
        }
    }

    /// The CPU over the measured window: the process, per order, loadgen's
    /// own thread beside the rest, and each thread.
    fn render_cpu(&self, s: &mut String) {
        let Some(cpu) = &self.cpu else {
            return;
        };
        let cores = |t: &crate::measure::cpu::CpuTime| {
            format!(
                "{:.2} cores (user {:.2}, sys {:.2})",
                t.cores,
                t.user_ns as f64 / cpu.window_ns as f64,
                t.sys_ns as f64 / cpu.window_ns as f64
            )
        };
        let _ = writeln!(
            s,
            "  cpu                    process {}, {} per order; loadgen's thread {:.2}, the rest {:.2}",
            cores(&cpu.process),
            cpu.ns_per_order
                .map_or_else(|| "-".to_string(), |ns| format_latency(ns.round() as u64)),
            cpu.loadgen.cores,
            cpu.system.cores,
        );
        let threads: Vec<String> = cpu
            .threads
            .iter()
            .map(|t| {
                format!(
                    "{}{} {:.2}",
                    t.name,
                    if t.loadgen { " (loadgen)" } else { "" },
                    t.cpu.cores
                )
            })
            .collect();
        let _ = writeln!(
            s,
            "  cpu by thread          {} (cores over {:.1}s)",
            threads.join(", "),
            cpu.window_ns as f64 / 1e9
        );
    }

    /// The first unanswered requests, the notes, and what ended the run early.
    fn render_notes(&self, s: &mut String) {
        for u in &self.unanswered_first {
            let _ = writeln!(
                s,
                "  unanswered: session {} {} of coid {} (engine id {}) symbol {} (meant for {:.6}s)",
                u.session,
                u.kind.name(),
                u.client_order_id,
                u.order_id,
                u.symbol,
                u.intended_ns as f64 / 1e9
            );
        }
        for n in &self.notes {
            let _ = writeln!(s, "  note: {n}");
        }
        if let Some(f) = &self.failure {
            let _ = writeln!(s, "  RUN FAILED: {f}");
        }
    }

    /// The verdict line.
    fn render_result(&self, s: &mut String) {
        let failed = self.checks.iter().filter(|c| !c.pass).count();
        let _ = writeln!(
            s,
            "result    {} ({} of {} checks passed{})",
            verdict(self.pass),
            self.checks.len() - failed,
            self.checks.len(),
            if self.failure.is_some() {
                "; the run did not complete"
            } else {
                ""
            }
        );
    }

    /// One CSV row (see `CSV_HEADER`).
    pub fn csv_row(&self) -> String {
        let v = |x: Option<u64>| x.map(|n| n.to_string()).unwrap_or_default();
        format!(
            "{},{},{:.0},{:.2},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            self.transport,
            self.requested_rate,
            self.achieved_rate,
            self.achieved_pct,
            v(self.ack.p50_ns),
            v(self.ack.p90_ns),
            v(self.ack.p99_ns),
            v(self.ack.p99_9_ns),
            v(self.ack.p99_99_ns),
            v(self.ack.max_ns),
            v(self.fill.p50_ns),
            v(self.fill.p99_ns),
            v(self.fill.p99_9_ns),
            v(self.event.as_ref().and_then(|e| e.p50_ns)),
            v(self.event.as_ref().and_then(|e| e.p99_ns)),
            v(self.event.as_ref().and_then(|e| e.p99_9_ns)),
            self.unanswered,
            if self.pass { "PASS" } else { "FAIL" },
            self.failure.as_deref().unwrap_or("").replace(',', ";"),
            self.cpu
                .as_ref()
                .map(|c| format!("{:.3}", c.process.cores))
                .unwrap_or_default(),
            self.cpu
                .as_ref()
                .map(|c| format!("{:.3}", c.loadgen.cores))
                .unwrap_or_default(),
            self.cpu
                .as_ref()
                .and_then(|c| c.ns_per_order)
                .map(|ns| format!("{ns:.0}"))
                .unwrap_or_default(),
        )
    }
}

/// The header of `Summary::csv_row`.
pub const CSV_HEADER: &str = "transport,requested_rate,achieved_rate,achieved_pct,ack_p50_ns,ack_p90_ns,ack_p99_ns,ack_p99.9_ns,ack_p99.99_ns,ack_max_ns,fill_p50_ns,fill_p99_ns,fill_p99.9_ns,event_p50_ns,event_p99_ns,event_p99.9_ns,unanswered,result,failure,cores,loadgen_cores,cpu_ns_per_order";

fn verdict(pass: bool) -> &'static str {
    if pass { "PASS" } else { "FAIL" }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::flow::orders::RequestKind;
    use crate::measure::cpu::{CpuTime, ThreadCpu};
    use crate::measure::recorder::latency_histogram;
    use crate::measure::targets::parse_targets;

    #[test]
    fn latencies_and_rates_read_well() {
        assert_eq!(format_latency(850), "850ns");
        assert_eq!(format_latency(12_345), "12.3µs");
        assert_eq!(format_latency(1_520_000), "1.52ms");
        assert_eq!(format_latency(2_100_000_000), "2.10s");
        assert_eq!(format_rate(999_800.0), "999.8k");
        assert_eq!(format_rate(1_000_000.0), "1.00M");
        assert_eq!(format_rate(350.0), "350");
    }

    #[test]
    fn targets_below_the_hosts_floor_are_named() {
        let check = |key: &str, target: &str| {
            let (scope, rest) = key.split_once('.').unwrap();
            let file = match rest.split_once('.') {
                Some((metric, name)) => format!("[{scope}]\n{metric}.\"{name}\" = \"{target}\"\n"),
                None => format!("[{scope}]\n{rest} = \"{target}\"\n"),
            };
            let parsed = parse_targets(&file).unwrap();
            Check {
                key: key.into(),
                measured: "1ms".into(),
                target: target.into(),
                pass: false,
                ceiling: parsed.get(key).and_then(|t| t.latency_ceiling()),
            }
        };
        let checks = [
            check("tcp.ack.p50", "<= 50us"),
            check("tcp.ack.p99", "<= 100us"),
            check("tcp.ack.p99.9", "<= 1ms"),
            check("tcp.ack.p99.99", "<= 5ms"),
            check("tcp.unanswered", "== 0"),
        ];
        let floor = Floor {
            measured_ms: 1000,
            cores: vec![0, 1],
            lost_share: 0.06,
            p99_ns: 50_000,
            p999_ns: 3_900_000,
            p9999_ns: 7_500_000,
        };
        assert_eq!(
            below_floor(&checks, &floor),
            vec![
                "tcp.ack.p99.9 (1ms < 3.90ms)".to_string(),
                "tcp.ack.p99.99 (5ms < 7.50ms)".to_string()
            ]
        );
    }

    #[test]
    fn checks_compare_each_percentile_with_its_target() {
        let targets = parse_targets(
            "[tcp]\nack.p99 = \"<= 100us\"\nfill.p99 = \"<= 100us\"\nunanswered = \"== 0\"\n\
             achieved = \">= 99%\"\n",
        )
        .unwrap();
        let mut h = latency_histogram();
        for v in 1..=1000u64 {
            h.record(v * 100).unwrap();
        }
        let ack = LatencySummary::of(&h);
        assert!(ack.p99_ns.unwrap() <= 100_000);
        let empty = LatencySummary::of(&latency_histogram());
        let c = checks("tcp", &targets, &ack, &empty, false, None, 0, 100.0);
        assert_eq!(c.len(), 3, "no fill check without aggressive orders: {c:?}");
        assert!(c.iter().all(|c| c.pass), "{c:?}");
        let c = checks("tcp", &targets, &ack, &empty, true, None, 2, 50.0);
        assert_eq!(c.len(), 4);
        assert_eq!(c.iter().filter(|c| !c.pass).count(), 3, "{c:?}");
        assert_eq!(c[1].measured, "no samples");
    }

    fn lat(base: u64) -> LatencySummary {
        LatencySummary {
            count: 1234,
            p50_ns: Some(base),
            p90_ns: Some(base * 2),
            p99_ns: Some(base * 5),
            p99_9_ns: Some(base * 50),
            p99_99_ns: Some(base * 500),
            max_ns: Some(base * 5000),
            mean_ns: Some(base as f64),
        }
    }

    fn summary(full: bool) -> Summary {
        let check = |key: &str, pass: bool| Check {
            key: key.into(),
            measured: "12.3µs".into(),
            target: "<= 100us".into(),
            pass,
            ceiling: None,
        };
        Summary {
            transport: if full { "inproc" } else { "tcp" }.into(),
            driven: "gateway at 127.0.0.1:9000".into(),
            durability: full.then(|| "os".into()),
            topology: full.then(|| "gateway: P+J+O on 0, M on 1".into()),
            host: HostFacts {
                cores: 2,
                cpu_model: Some("AMD EPYC".into()),
                kernel: full.then(|| "6.1".into()),
                governor: None,
                smt: Some("off".into()),
            },
            sessions: 4,
            instruments: 8,
            seed: 1,
            mix: "passive=50,cancel=30,replace=10,aggressive=10".into(),
            tick: "20us".into(),
            idle: "yield".into(),
            warmup: "2s".into(),
            duration: "10s".into(),
            requested_rate: 1_000_000,
            achieved_rate: 999_812.5,
            achieved_pct: 99.98,
            answered_rate: 999_700.0,
            targets_rate: Some(if full { 500_000 } else { 1_000_000 }),
            counts: Counts {
                sent: 12_000_000,
                sent_measured: 10_000_000,
                sent_new: 6_000_000,
                sent_cancel: 4_000_000,
                sent_replace: 2_000_000,
                answered: 11_999_000,
                answered_measured: 9_999_000,
                accepted: 5,
                rejected: 6,
                fills: 7,
                cancelled: 8,
                replaced: 9,
                aggressive_filled: 10,
                aggressive_unfilled: 11,
                unexpected: if full { 3 } else { 0 },
                session_rejects: 0,
            },
            rejects_by_reason: if full {
                vec![("PRICE".into(), 4), ("QTY".into(), 2)]
            } else {
                vec![]
            },
            ack: lat(1000),
            fill: if full {
                lat(2000)
            } else {
                LatencySummary::default()
            },
            event: full.then(|| lat(300)),
            send_lag: if full {
                lat(700)
            } else {
                LatencySummary::default()
            },
            unanswered: 2,
            unanswered_first: if full {
                vec![Unanswered {
                    session: 1,
                    client_order_id: 42,
                    order_id: 43,
                    symbol: 3,
                    kind: RequestKind::Cancel,
                    intended_ns: 1_234_567_890,
                }]
            } else {
                vec![]
            },
            checks: vec![
                check(
                    &format!("{}.ack.p50", if full { "inproc" } else { "tcp" }),
                    true,
                ),
                check(
                    &format!("{}.ack.p99", if full { "inproc" } else { "tcp" }),
                    false,
                ),
                check("inproc.event.p99", true),
                check("inproc.fill.p99.9", false),
                check(
                    &format!("{}.unanswered", if full { "inproc" } else { "tcp" }),
                    false,
                ),
                check(
                    &format!("{}.achieved", if full { "inproc" } else { "tcp" }),
                    true,
                ),
            ],
            pass: !full,
            failure: full.then(|| "the gateway closed session 2".into()),
            notes: if full {
                vec!["one".into(), "two".into()]
            } else {
                vec![]
            },
            floor: full.then(|| Floor {
                measured_ms: 5000,
                cores: vec![0, 1],
                lost_share: 0.0123,
                p99_ns: 15_000,
                p999_ns: 250_000,
                p9999_ns: 3_000_000,
            }),
            cpu: full.then(|| {
                let t = |user_ns, sys_ns| CpuTime {
                    user_ns,
                    sys_ns,
                    cores: (user_ns + sys_ns) as f64 / 1e10,
                };
                CpuUsage {
                    window_ns: 10_000_000_000,
                    orders: 10_000_000,
                    process: t(9_000_000_000, 3_000_000_000),
                    ns_per_order: Some(1_200.0),
                    loadgen: t(2_000_000_000, 1_000_000_000),
                    system: t(7_000_000_000, 2_000_000_000),
                    threads: vec![
                        ThreadCpu {
                            tid: 2,
                            name: "matching".into(),
                            loadgen: false,
                            cpu: t(6_000_000_000, 0),
                        },
                        ThreadCpu {
                            tid: 1,
                            name: "main".into(),
                            loadgen: true,
                            cpu: t(2_000_000_000, 1_000_000_000),
                        },
                    ],
                }
            }),
            failover: None,
        }
    }

    #[test]
    fn a_failover_has_its_lines_and_json_only_when_there_was_one() {
        use crate::measure::failover::{FailoverSummary, Gap};
        let plain = summary(false);
        let json = serde_json::to_value(&plain).unwrap();
        assert!(json.get("failover").is_none(), "{json}");
        assert!(!plain.render().contains("failover"));
        let mut s = summary(false);
        s.failover = Some(FailoverSummary {
            failovers: 1,
            longest_gap_ns: Some(1_430_000_000),
            left_unanswered: 28_499,
            in_flight: 87,
            not_sent: 28_412,
            not_sent_measured: 28_000,
            answered_after: 171_000,
            gaps: vec![Gap {
                from_ns: 3_002_000_000,
                lost_ns: 3_004_000_000,
                restored_ns: Some(4_380_000_000),
                answered_ns: Some(4_432_000_000),
                gap_ns: Some(1_430_000_000),
                leader: Some("127.0.0.1:7002".into()),
                in_flight: 87,
                not_sent: 28_412,
            }],
            in_flight_first: vec![],
        });
        let text = s.render();
        let mut from = 0;
        for part in [
            "(99.98% of the orders due while a leader served)",
            "\norders ",
            "\nfailover  1 failover, longest gap 1.43s",
            "left unanswered 28499: 87 in flight",
            "28412 not sent",
            "answered after it 171000\n",
            "          #1 from 3.002s (connection lost at 3.004s), all sessions on \
             127.0.0.1:7002 at 4.380s, first answer at 4.432s: gap 1.43s; 87 in flight, \
             28412 not sent\n",
            "\n  unanswered ",
            "\n  unanswered (failover)       28499  not checked",
            "\n  achieved ",
        ] {
            let at = text[from..].find(part).map(|i| i + from);
            assert!(at.is_some(), "{part:?} not after byte {from} in\n{text}");
            from = at.unwrap_or(from) + 1;
        }
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["failover"]["longest_gap_ns"], 1_430_000_000u64);
        assert_eq!(json["failover"]["gaps"][0]["leader"], "127.0.0.1:7002");
    }

    #[test]
    fn cpu_is_checked_only_at_a_rate_with_targets() {
        let targets =
            parse_targets("[tcp.at.100k]\ncores = \"<= 0.6 cores\"\ncpu_per_order = \"<= 6us\"\n")
                .unwrap();
        let cpu = summary(true).cpu.unwrap();
        let at = |n| Rate::new(n).unwrap();
        assert!(
            at_rate_checks(
                "tcp",
                &targets,
                at(200_000),
                &LatencySummary::default(),
                Some(&cpu)
            )
            .is_empty()
        );
        assert!(
            at_rate_checks(
                "tcp",
                &targets,
                at(100_000),
                &LatencySummary::default(),
                None
            )
            .is_empty()
        );
        assert!(
            at_rate_checks(
                "inproc",
                &targets,
                at(100_000),
                &LatencySummary::default(),
                Some(&cpu)
            )
            .is_empty()
        );
        let c = at_rate_checks(
            "tcp",
            &targets,
            at(100_000),
            &LatencySummary::default(),
            Some(&cpu),
        );
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].key, "tcp.at.100k.cores");
        assert_eq!(c[0].measured, "1.20 cores");
        assert!(!c[0].pass, "1.2 cores > 0.6");
        assert_eq!(c[1].key, "tcp.at.100k.cpu_per_order");
        assert_eq!(c[1].measured, "1.2µs");
        assert!(c[1].pass);
    }

    #[test]
    fn ack_percentiles_at_a_rate_are_checked_only_at_that_rate() {
        let targets = parse_targets("[tcp.at.1M]\nack.p99 = \"<= 5ms\"\n").unwrap();
        let at = |n| Rate::new(n).unwrap();
        let ack = |p99_ns| LatencySummary {
            count: 1000,
            p99_ns: Some(p99_ns),
            ..LatencySummary::default()
        };
        assert!(at_rate_checks("tcp", &targets, at(100_000), &ack(1), None).is_empty());
        for (p99_ns, pass) in [(2_900_000, true), (5_000_000, true), (5_100_000, false)] {
            let c = at_rate_checks("tcp", &targets, at(1_000_000), &ack(p99_ns), None);
            assert_eq!(c.len(), 1, "{c:?}");
            assert_eq!(c[0].key, "tcp.at.1M.ack.p99");
            assert_eq!(c[0].target, "<= 5ms");
            assert_eq!(c[0].pass, pass, "{p99_ns} ns");
            assert!(is_other_check(&c[0].key), "shown below the table");
        }
    }

    #[test]
    fn render_shows_each_section_in_order() {
        let text = summary(true).render();
        let mut from = 0;
        for part in [
            "loadgen inproc → gateway",
            "\nhost ",
            "\nthreads ",
            "\nfloor ",
            "\nrun ",
            "\nrate ",
            "(the targets are stated for 500.0k/s",
            "\norders ",
            "\nreports ",
            "UNEXPECTED 3\n\n",
            "order→ack",
            "cmd→event",
            "\n  P50 ",
            "\n  max ",
            "\n  samples ",
            "\n\n  unanswered ",
            "\n  achieved ",
            "\n  send lag p99 ",
            "\n  cpu                    process 1.20 cores (user 0.90, sys 0.30), 1.2µs per order; \
             loadgen's thread 0.30, the rest 0.90\n",
            "\n  cpu by thread          matching 0.60, main (loadgen) 0.30 (cores over 10.0s)\n",
            "\n  unanswered: session 1 cancel of coid 42",
            "\n  note: one",
            "\n  RUN FAILED: ",
            "\n\nresult    FAIL (3 of 6 checks passed; the run did not complete)\n",
        ] {
            let at = text[from..].find(part).map(|i| i + from);
            assert!(at.is_some(), "{part:?} not after byte {from} in\n{text}");
            from = at.unwrap_or(from) + 1;
        }
        let short = summary(false).render();
        for absent in [
            "threads",
            "floor",
            "cmd→event",
            "stated for",
            "note:",
            "send lag",
            "cpu",
        ] {
            assert!(!short.contains(absent), "{absent} in\n{short}");
        }
        assert!(short.ends_with("\n\nresult    PASS (3 of 6 checks passed)\n"));
    }
}
