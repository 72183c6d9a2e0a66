//! What the operator sees: metrics in the Prometheus text format, served
//! on `--metrics ADDR` (`GET /metrics`) by a thread of their own.
//!
//! Off the hot path by construction: the poll loop counts in plain
//! integers it owns (one add per message, no atomic, no lock) and hands
//! the totals to these metrics once per tick (`publish`, every 50 ms); the
//! HTTP thread encodes them when scraped, and reads what only the disk
//! knows (journal bytes, the newest snapshot and its age) then. So a scrape
//! is at most a tick behind, and costs the loop nothing.
//!
//! The format is the Prometheus project's Rust client (`prometheus-client`,
//! OpenMetrics text); the server is `tiny_http`, synchronous, on the
//! `metrics` thread, which sleeps until a scrape arrives.

use std::fmt::Debug;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::thread::JoinHandle;
use std::time::SystemTime;

use pipeline::PipelineStats;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::protocol::WireCode;

type Labels = Vec<(String, String)>;

/// `OrderRejectReason` codes from this one on are controls' and pre-trade
/// risk's refusals (HALTED .. RISK_CREDIT; codes.rs keeps them last).
const FIRST_RISK_REASON: crate::protocol::OrderRejectReason =
    crate::protocol::OrderRejectReason::Halted;

/// The totals the poll loop keeps, in plain integers, and hands over each
/// tick.
#[derive(Debug, Clone, Default)]
pub struct LoopTotals {
    pub commands: u64,
    pub events: u64,
    pub frames_in: u64,
    pub frames_out: u64,
    pub failed_logons: u64,
    pub closed_for_cause: u64,
    pub report_replays: u64,
    /// Refusals sent, by reason code: order rejects (`Rejected`), session
    /// rejects (`Reject`), logon refusals (`LogonReject`).
    pub order_rejects: Vec<u64>,
    pub session_rejects: Vec<u64>,
    pub logon_rejects: Vec<u64>,
    /// Sessions now: awaiting logon, authenticating, logged on, closing.
    pub sessions: [i64; 5],
    pub published_seq: u64,
    pub released_seq: u64,
    pub durable_seq: u64,
    /// Connections refused over the session limit: told, or not.
    pub refused_told: u64,
    pub refused_silently: u64,
    /// Operator controls applied, by `ControlAction` code.
    pub controls: [u64; 4],
}

/// The metrics, shared by the loop (which publishes) and the HTTP thread.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    commands: Counter,
    events: Counter,
    frames: Family<Labels, Counter>,
    failed_logons: Counter,
    closed_for_cause: Counter,
    report_replays: Counter,
    refused: Family<Labels, Counter>,
    rejects: Family<Labels, Counter>,
    risk_refusals: Family<Labels, Counter>,
    controls: Family<Labels, Counter>,
    sessions: Family<Labels, Gauge>,
    published_seq: Gauge<i64>,
    released_seq: Gauge<i64>,
    durable_seq: Gauge<i64>,
    in_flight: Gauge<i64>,
    durable_lag: Gauge<i64>,
    journal_bytes: Gauge<i64>,
    snapshot_seq: Gauge<i64>,
    snapshot_age: Gauge<f64, AtomicU64>,
    /// What was last published, so counters advance by the difference.
    last: std::sync::Mutex<LoopTotals>,
    journal_dir: PathBuf,
}

/// The pipeline's own counters (`pipeline::PipelineStats`), read when
/// scraped: batches per stage, M's sequence, the journal's fsyncs and
/// their latency.
#[derive(Debug)]
struct StageCollector {
    stats: Arc<PipelineStats>,
}

impl Collector for StageCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let stats = &self.stats;
        let mut batches = encoder.encode_descriptor(
            "stage_batches",
            "Batches each pipeline stage has done (J: commits, M: matched, O: released)",
            None,
            MetricType::Counter,
        )?;
        for (stage, counters) in [
            ("journal", &stats.journal),
            ("matching", &stats.matching),
            ("output", &stats.output),
        ] {
            let labels = [("stage", stage)];
            ConstCounter::new(counters.batches()).encode(batches.encode_family(&labels)?)?;
        }
        let mut sleeps = encoder.encode_descriptor(
            "stage_sleeps",
            "Times a pipeline stage went to sleep waiting on a ring (inbound: J and M \
             waiting for the publisher; outbound: O waiting for M); 0 where the stage runs \
             on the poll loop's thread",
            None,
            MetricType::Counter,
        )?;
        let rings = stats.sleeps();
        for (ring, s) in rings {
            ConstCounter::new(s.sleeps).encode(sleeps.encode_family(&[("ring", ring)])?)?;
        }
        let mut woken = encoder.encode_descriptor(
            "stage_wakeups",
            "Sleeps a producer's ring ended (the rest timed out after 100 ms)",
            None,
            MetricType::Counter,
        )?;
        for (ring, s) in rings {
            ConstCounter::new(s.woken).encode(woken.encode_family(&[("ring", ring)])?)?;
        }
        let seq = i64::try_from(stats.matched_seq()).unwrap_or(i64::MAX);
        ConstGauge::new(seq).encode(encoder.encode_descriptor(
            "matched_seq",
            "The last sequence M applied",
            None,
            MetricType::Gauge,
        )?)?;
        let fsyncs = stats.fsyncs();
        ConstCounter::new(fsyncs.count).encode(encoder.encode_descriptor(
            "fsyncs",
            "The journal's fsyncs (durability fsync: one per group commit)",
            None,
            MetricType::Counter,
        )?)?;
        // The last bucket also counts longer fsyncs: it is +Inf (which the
        // encoder writes for `f64::MAX`).
        let last = fsyncs.buckets.len().saturating_sub(1);
        let buckets: Vec<(f64, u64)> = fsyncs
            .buckets
            .iter()
            .enumerate()
            .map(|(i, (upper, n))| {
                let bound = if i == last {
                    f64::MAX
                } else {
                    upper.as_secs_f64()
                };
                (bound, *n)
            })
            .collect();
        encoder
            .encode_descriptor(
                "fsync_seconds",
                "How long each fsync took",
                None,
                MetricType::Histogram,
            )?
            .encode_histogram::<NoLabelSet>(
                fsyncs.total_ns as f64 / 1e9,
                fsyncs.count,
                &buckets,
                None,
            )
    }
}

impl Metrics {
    /// Metrics of a gateway journaling to `journal_dir` through a pipeline
    /// whose stages count into `stats`.
    pub fn new(journal_dir: PathBuf, stats: Arc<PipelineStats>) -> Metrics {
        let mut registry = Registry::with_prefix("venue");
        registry.register_collector(Box::new(StageCollector { stats }));
        let m = Metrics {
            commands: Counter::default(),
            events: Counter::default(),
            frames: Family::default(),
            failed_logons: Counter::default(),
            closed_for_cause: Counter::default(),
            report_replays: Counter::default(),
            refused: Family::default(),
            rejects: Family::default(),
            risk_refusals: Family::default(),
            controls: Family::default(),
            sessions: Family::default(),
            published_seq: Gauge::default(),
            released_seq: Gauge::default(),
            durable_seq: Gauge::default(),
            in_flight: Gauge::default(),
            durable_lag: Gauge::default(),
            journal_bytes: Gauge::default(),
            snapshot_seq: Gauge::default(),
            snapshot_age: Gauge::default(),
            last: std::sync::Mutex::new(LoopTotals::default()),
            journal_dir,
            registry: Registry::default(),
        };
        registry.register(
            "commands",
            "Commands published to the pipeline",
            m.commands.clone(),
        );
        registry.register(
            "events",
            "Events released by the pipeline and routed",
            m.events.clone(),
        );
        registry.register(
            "frames",
            "Frames received (direction=in) and sent (out)",
            m.frames.clone(),
        );
        registry.register(
            "failed_logons",
            "Logons refused BAD_CREDENTIALS",
            m.failed_logons.clone(),
        );
        registry.register(
            "sessions_closed_for_cause",
            "Sessions the gateway ended (heartbeat, throttle, slow reader, sequence gap...)",
            m.closed_for_cause.clone(),
        );
        registry.register(
            "report_replays",
            "ReportReplayRequests answered",
            m.report_replays.clone(),
        );
        registry.register(
            "connections_refused",
            "Connections refused over the session limit: told SESSION_LIMIT (told=yes), or \
             closed unanswered during a storm (told=no)",
            m.refused.clone(),
        );
        registry.register(
            "rejects",
            "Refusals sent, by kind (order, session, logon) and reason",
            m.rejects.clone(),
        );
        registry.register(
            "risk_refusals",
            "Orders refused by a control or a pre-trade limit (halt, kill switch, collar, \
             account limits), by reason; also counted in rejects",
            m.risk_refusals.clone(),
        );
        registry.register(
            "controls",
            "Operator controls applied (halt, resume, kill, enable)",
            m.controls.clone(),
        );
        registry.register("sessions", "Sessions now, by state", m.sessions.clone());
        registry.register(
            "published_seq",
            "The last sequence published",
            m.published_seq.clone(),
        );
        registry.register(
            "released_seq",
            "The last sequence whose events were all released",
            m.released_seq.clone(),
        );
        registry.register(
            "durable_seq",
            "The last sequence the journal made durable",
            m.durable_seq.clone(),
        );
        registry.register(
            "in_flight_commands",
            "Commands published and not yet answered (ring occupancy)",
            m.in_flight.clone(),
        );
        registry.register(
            "durable_lag_commands",
            "Commands published and not yet durable",
            m.durable_lag.clone(),
        );
        registry.register(
            "journal_bytes",
            "Bytes of journal segments retained in the journal directory",
            m.journal_bytes.clone(),
        );
        registry.register(
            "snapshot_seq",
            "The sequence of the newest snapshot (0: none)",
            m.snapshot_seq.clone(),
        );
        registry.register(
            "snapshot_age_seconds",
            "Seconds since the newest snapshot was written (-1: none)",
            m.snapshot_age.clone(),
        );
        Metrics { registry, ..m }
    }

    /// Takes the loop's totals (once per tick).
    pub fn publish(&self, now: &LoopTotals) {
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        let up = |c: &Counter, now: u64, before: u64| {
            c.inc_by(now.saturating_sub(before));
        };
        up(&self.commands, now.commands, last.commands);
        up(&self.events, now.events, last.events);
        up(
            &self.frames.get_or_create(&label("direction", "in")),
            now.frames_in,
            last.frames_in,
        );
        up(
            &self.frames.get_or_create(&label("direction", "out")),
            now.frames_out,
            last.frames_out,
        );
        up(&self.failed_logons, now.failed_logons, last.failed_logons);
        up(
            &self.closed_for_cause,
            now.closed_for_cause,
            last.closed_for_cause,
        );
        up(
            &self.report_replays,
            now.report_replays,
            last.report_replays,
        );
        up(
            &self.refused.get_or_create(&label("told", "yes")),
            now.refused_told,
            last.refused_told,
        );
        up(
            &self.refused.get_or_create(&label("told", "no")),
            now.refused_silently,
            last.refused_silently,
        );
        self.rejects_by_reason::<crate::protocol::OrderRejectReason>(
            "order",
            &now.order_rejects,
            &last.order_rejects,
        );
        self.rejects_by_reason::<crate::protocol::SessionRejectReason>(
            "session",
            &now.session_rejects,
            &last.session_rejects,
        );
        self.rejects_by_reason::<crate::protocol::LogonRejectReason>(
            "logon",
            &now.logon_rejects,
            &last.logon_rejects,
        );
        for action in crate::protocol::ControlAction::ALL {
            let i = action.code() as usize;
            up(
                &self
                    .controls
                    .get_or_create(&label("action", &format!("{action:?}"))),
                now.controls[i],
                last.controls[i],
            );
        }
        let states = [
            "awaiting_logon",
            "authenticating",
            "logged_on",
            "closing",
            "pushed_back",
        ];
        for (state, n) in states.iter().zip(now.sessions) {
            self.sessions.get_or_create(&label("state", state)).set(n);
        }
        let seq = |s: u64| i64::try_from(s).unwrap_or(i64::MAX);
        self.published_seq.set(seq(now.published_seq));
        self.released_seq.set(seq(now.released_seq));
        self.durable_seq.set(seq(now.durable_seq));
        self.in_flight
            .set(seq(now.published_seq.saturating_sub(now.released_seq)));
        self.durable_lag
            .set(seq(now.published_seq.saturating_sub(now.durable_seq)));
        *last = now.clone();
    }

    fn rejects_by_reason<R: WireCode + Debug>(&self, kind: &str, now: &[u64], before: &[u64]) {
        for (code, &n) in now.iter().enumerate() {
            let was = before.get(code).copied().unwrap_or(0);
            if n == was {
                continue;
            }
            let reason =
                R::from_code(code as u32).map_or_else(|| code.to_string(), |r| format!("{r:?}"));
            let labels = vec![
                ("kind".to_string(), kind.to_string()),
                ("reason".to_string(), reason),
            ];
            self.rejects.get_or_create(&labels).inc_by(n - was);
            if kind == "order" && code as u32 >= FIRST_RISK_REASON.code() {
                self.risk_refusals
                    .get_or_create(&labels[1..].to_vec())
                    .inc_by(n - was);
            }
        }
    }

    /// The text a scrape gets, with what only the disk knows read now.
    pub fn render(&self) -> String {
        let (bytes, newest) = journal_on_disk(&self.journal_dir);
        self.journal_bytes
            .set(i64::try_from(bytes).unwrap_or(i64::MAX));
        match newest {
            Some((seq, written)) => {
                self.snapshot_seq
                    .set(i64::try_from(seq).unwrap_or(i64::MAX));
                let age = SystemTime::now()
                    .duration_since(written)
                    .map_or(0.0, |d| d.as_secs_f64());
                self.snapshot_age.set(age);
            }
            None => {
                self.snapshot_seq.set(0);
                self.snapshot_age.set(-1.0);
            }
        }
        let mut text = String::new();
        let _ = encode(&mut text, &self.registry);
        text
    }
}

fn label(key: &str, value: &str) -> Labels {
    vec![(key.to_string(), value.to_string())]
}

/// Bytes of the journal's segments, and the newest snapshot's sequence and
/// modification time.
fn journal_on_disk(dir: &Path) -> (u64, Option<(u64, SystemTime)>) {
    let mut bytes = 0;
    let mut newest: Option<(u64, SystemTime)> = None;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return (0, None);
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        if name.ends_with(".seg") {
            bytes += meta.len();
        } else if let Some(seq) = name
            .strip_prefix("snapshot-")
            .and_then(|n| n.strip_suffix(".snap"))
            .and_then(|n| n.parse::<u64>().ok())
            && newest.is_none_or(|(s, _)| seq > s)
            && let Ok(written) = meta.modified()
        {
            newest = Some((seq, written));
        }
    }
    (bytes, newest)
}

/// The HTTP server of `--metrics`.
pub struct MetricsServer {
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
    pub addr: SocketAddr,
}

impl MetricsServer {
    /// Serves `metrics` on `addr` (port 0: any free port; `addr` says
    /// which).
    pub fn start(addr: SocketAddr, metrics: Arc<Metrics>) -> std::io::Result<MetricsServer> {
        let server = tiny_http::Server::http(addr).map_err(std::io::Error::other)?;
        let addr = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| std::io::Error::other("the metrics server has no IP address"))?;
        let server = Arc::new(server);
        let serving = Arc::clone(&server);
        let thread = std::thread::Builder::new()
            .name("metrics".into())
            .spawn(move || {
                for request in serving.incoming_requests() {
                    let response = if request.url() == "/metrics" {
                        let header = tiny_http::Header::from_bytes(
                            &b"Content-Type"[..],
                            &b"application/openmetrics-text; version=1.0.0; charset=utf-8"[..],
                        );
                        let mut response = tiny_http::Response::from_string(metrics.render());
                        if let Ok(header) = header {
                            response.add_header(header);
                        }
                        response
                    } else {
                        tiny_http::Response::from_string("metrics are at /metrics\n")
                            .with_status_code(404)
                    };
                    let _ = request.respond(response);
                }
            })?;
        Ok(MetricsServer {
            server,
            thread: Some(thread),
            addr,
        })
    }
}

impl std::fmt::Debug for MetricsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsServer")
            .field("addr", &self.addr)
            .finish()
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
