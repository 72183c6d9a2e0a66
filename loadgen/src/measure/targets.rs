//! The documented targets, read from `docs/targets.toml`.
//!
//! The values live in one small file beside `docs/targets.md`, which gives
//! the reason for each; the program reads only the file. It is typed here:
//! a table per scope, a key per metric, and each target a string
//! `"OP VALUE"`, so a key loadgen does not know, or a value of the wrong
//! kind, is an error that names its line rather than a target silently
//! skipped.
//!
//! ```toml
//! [tcp]
//! rate       = "1M/s"       # the rate the latency targets are stated at
//! ack.p99    = "<= 100us"
//! unanswered = "== 0"
//! achieved   = ">= 99%"
//!
//! [tcp.at.100k]            # checked only by runs at exactly this rate
//! cores         = "<= 0.6 cores"
//! cpu_per_order = "<= 6us"
//! ack.p99       = "<= 1ms"
//!
//! [engine]
//! replay.rate = ">= 30M/s"
//! ```
//!
//! Scopes: `tcp` (loadgen over TCP to a gateway), `inproc` (loadgen
//! `--transport inproc`, the pipeline alone), and `engine`, `pipeline`
//! (checked by their own benchmarks; loadgen only reads them). Metrics of
//! the loadgen scopes: `ack.P` (order→ack), `fill.P` (order→first fill),
//! `event.P` (inproc only: command→event, from the command's publish into
//! the pipeline to its first released event), `unanswered`, `achieved`;
//! and, in a table `[SCOPE.at.RATE]` that only a run at that requested rate
//! checks, `cores` (the whole process's CPU over the measured window / its
//! wall time), `cpu_per_order` (the process's CPU time / orders sent) and
//! `ack.P` (what any host should reach at that rate and CPU).

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::cli::duration::{format_duration, parse_duration};
use crate::cli::rate::{Rate, parse_rate};

/// The targets file of this repository, compiled in so the binary works
/// from any directory.
pub const BUILTIN: &str = include_str!("../../../docs/targets.toml");

/// The percentile metrics of a latency, as they are spelled in keys.
pub const PERCENTILES: [(&str, f64); 6] = [
    ("p50", 50.0),
    ("p90", 90.0),
    ("p99", 99.0),
    ("p99.9", 99.9),
    ("p99.99", 99.99),
    ("max", 100.0),
];

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    AtMost,
    AtLeast,
    Equal,
}

impl Op {
    fn symbol(self) -> &'static str {
        match self {
            Op::AtMost => "<=",
            Op::AtLeast => ">=",
            Op::Equal => "==",
        }
    }
}

/// A target's value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Latency(Duration),
    Count(u64),
    /// Percent (of the requested rate, for `achieved`).
    Percent(f64),
    Rate(Rate),
    /// Cores kept busy: CPU time over wall time.
    Cores(f64),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Latency(d) => f.write_str(&format_duration(*d)),
            Value::Count(n) => write!(f, "{n}"),
            Value::Percent(p) => write!(f, "{p}%"),
            Value::Rate(r) => write!(f, "{r}/s"),
            Value::Cores(c) => write!(f, "{c} cores"),
        }
    }
}

/// One target: `key op value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub key: String,
    pub op: Op,
    pub value: Value,
}

impl Target {
    /// `true` if `measured` meets the target. Values of another kind never do.
    pub fn met_by(&self, measured: Value) -> bool {
        let ord = match (measured, self.value) {
            (Value::Latency(a), Value::Latency(b)) => a.partial_cmp(&b),
            (Value::Count(a), Value::Count(b)) => a.partial_cmp(&b),
            (Value::Percent(a), Value::Percent(b)) => a.partial_cmp(&b),
            (Value::Rate(a), Value::Rate(b)) => a.partial_cmp(&b),
            (Value::Cores(a), Value::Cores(b)) => a.partial_cmp(&b),
            _ => None,
        };
        match (ord, self.op) {
            (Some(o), Op::AtMost) => o.is_le(),
            (Some(o), Op::AtLeast) => o.is_ge(),
            (Some(o), Op::Equal) => o.is_eq(),
            (None, _) => false,
        }
    }

    /// The latency a `<= latency` target allows, if that is what it is.
    pub fn latency_ceiling(&self) -> Option<Duration> {
        match (self.op, self.value) {
            (Op::AtMost, Value::Latency(d)) => Some(d),
            _ => None,
        }
    }

    /// `<= 100us`: the target as the report shows it.
    pub fn bound(&self) -> String {
        format!("{} {}", self.op.symbol(), self.value)
    }
}

/// The targets file, read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Targets {
    targets: Vec<Target>,
    /// `[scope] rate = "R/s"`: the rate a scope's targets are stated at.
    rates: Vec<(String, Rate)>,
    /// `[scope.at.RATE]`: the tables of targets checked only at that rate.
    at_rates: Vec<(String, Rate)>,
}

/// Why the targets could not be read: what is wrong, and at which line and
/// column of the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(transparent)]
pub struct TargetsError(#[from] toml::de::Error);

impl Targets {
    /// The target with this key (`tcp.ack.p99`), if the file has one.
    pub fn get(&self, key: &str) -> Option<&Target> {
        self.targets.iter().find(|t| t.key == key)
    }

    /// The rate `scope`'s targets are stated at, if the file says.
    pub fn stated_rate(&self, scope: &str) -> Option<Rate> {
        self.rates.iter().find(|(s, _)| s == scope).map(|(_, r)| *r)
    }

    /// `tcp.at.100k`: the prefix of `scope`'s targets for runs at exactly
    /// `rate`, if the file has a table for it.
    pub fn at_rate(&self, scope: &str, rate: Rate) -> Option<String> {
        self.at_rates
            .iter()
            .any(|(s, r)| s == scope && *r == rate)
            .then(|| format!("{scope}.at.{rate}"))
    }

    /// Every rate `scope` has a `[scope.at.RATE]` table for, ascending.
    pub fn rates_with_targets(&self, scope: &str) -> Vec<Rate> {
        let mut rates: Vec<Rate> = self
            .at_rates
            .iter()
            .filter(|(s, _)| s == scope)
            .map(|(_, r)| *r)
            .collect();
        rates.sort();
        rates
    }

    fn add<K>(&mut self, key: String, bound: Option<Bound<K>>) {
        if let Some(b) = bound {
            self.targets.push(Target {
                key,
                op: b.op,
                value: b.value,
            });
        }
    }
}

/// Reads a targets file (TOML, as `docs/targets.toml`).
pub fn parse_targets(text: &str) -> Result<Targets, TargetsError> {
    let file: File = toml::from_str(text)?;
    let mut targets = Targets::default();
    for (scope, s) in [("tcp", file.tcp), ("inproc", file.inproc)] {
        if let Some(StatedRate(rate)) = s.rate {
            targets.rates.push((scope.to_string(), rate));
        }
        for (metric, percentiles) in [("ack", s.ack), ("fill", s.fill), ("event", s.event)] {
            for (name, bound) in percentiles.by_name() {
                targets.add(format!("{scope}.{metric}.{name}"), bound);
            }
        }
        targets.add(format!("{scope}.unanswered"), s.unanswered);
        targets.add(format!("{scope}.achieved"), s.achieved);
        for (RateKey(rate), at) in s.at {
            targets.at_rates.push((scope.to_string(), rate));
            let prefix = format!("{scope}.at.{rate}");
            targets.add(format!("{prefix}.cores"), at.cores);
            targets.add(format!("{prefix}.cpu_per_order"), at.cpu_per_order);
            for (name, bound) in at.ack.by_name() {
                targets.add(format!("{prefix}.ack.{name}"), bound);
            }
        }
    }
    let replay = file.engine.replay;
    targets.add("engine.replay.rate".into(), replay.rate);
    targets.add("engine.replay.p99".into(), replay.p99);
    targets.add("pipeline.rate".into(), file.pipeline.rate);
    targets.add("pipeline.recovery".into(), file.pipeline.recovery);
    Ok(targets)
}

/// The file: a table per scope, each optional.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    tcp: LoadgenScope,
    #[serde(default)]
    inproc: LoadgenScope,
    #[serde(default)]
    engine: EngineScope,
    #[serde(default)]
    pipeline: PipelineScope,
}

/// `[tcp]` or `[inproc]`: what loadgen measures.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoadgenScope {
    rate: Option<StatedRate>,
    #[serde(default)]
    ack: Percentiles,
    #[serde(default)]
    fill: Percentiles,
    /// Only the inproc transport measures it; a tcp target is never checked.
    #[serde(default)]
    event: Percentiles,
    unanswered: Option<Bound<Count>>,
    achieved: Option<Bound<Percent>>,
    /// `[tcp.at.100k]`: targets checked only by a run at that rate.
    #[serde(default)]
    at: std::collections::BTreeMap<RateKey, AtRate>,
}

/// `[SCOPE.at.RATE]`: what a run at exactly RATE may cost. CPU depends on
/// the rate, so each bound holds at one rate; runs at other rates report
/// the figures without a verdict.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AtRate {
    /// The whole process's cores over the measured window.
    cores: Option<Bound<CoresKind>>,
    /// The process's CPU time per order sent.
    cpu_per_order: Option<Bound<Latency>>,
    /// Order→ack percentiles that hold at this rate (with this CPU), beside
    /// the scope's own, which assume a host with cores to give.
    #[serde(default)]
    ack: Percentiles,
}

/// The `RATE` of `[SCOPE.at.RATE]`, as a rate is written (`100k`, `1M`;
/// `"1.5M"` needs quotes in TOML).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct RateKey(Rate);

impl<'de> Deserialize<'de> for RateKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse_rate(&text)
            .map(RateKey)
            .map_err(|e| serde::de::Error::custom(format!("[SCOPE.at.RATE]: {e}")))
    }
}

/// The percentiles of one latency (names as in [`PERCENTILES`]).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Percentiles {
    p50: Option<Bound<Latency>>,
    p90: Option<Bound<Latency>>,
    p99: Option<Bound<Latency>>,
    #[serde(rename = "p99.9")]
    p99_9: Option<Bound<Latency>>,
    #[serde(rename = "p99.99")]
    p99_99: Option<Bound<Latency>>,
    max: Option<Bound<Latency>>,
}

impl Percentiles {
    fn by_name(self) -> [(&'static str, Option<Bound<Latency>>); 6] {
        [
            ("p50", self.p50),
            ("p90", self.p90),
            ("p99", self.p99),
            ("p99.9", self.p99_9),
            ("p99.99", self.p99_99),
            ("max", self.max),
        ]
    }
}

/// `[engine]`: `replay --bench`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EngineScope {
    #[serde(default)]
    replay: Replay,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Replay {
    rate: Option<Bound<PerSecond>>,
    p99: Option<Bound<Latency>>,
}

/// `[pipeline]`: sustained rate and recovery.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PipelineScope {
    rate: Option<Bound<PerSecond>>,
    recovery: Option<Bound<PerSecond>>,
}

/// `rate = "1M/s"`: the rate a scope's targets are stated at.
#[derive(Debug)]
struct StatedRate(Rate);

impl<'de> Deserialize<'de> for StatedRate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.strip_suffix("/s")
            .ok_or_else(|| format!("`{text}`: a stated rate is a rate per second, like 1M/s"))
            .and_then(|r| parse_rate(r).map_err(|e| e.to_string()))
            .map(StatedRate)
            .map_err(serde::de::Error::custom)
    }
}

/// `"<= 100us"`: a target's comparison and its value, of the kind `K`.
#[derive(Debug)]
struct Bound<K> {
    op: Op,
    value: Value,
    kind: PhantomData<K>,
}

/// The kind of value a metric is measured in.
trait Kind {
    /// What the value must be, for the error message.
    const NEEDS: &'static str;
    fn fits(value: &Value) -> bool;
}

#[derive(Debug)]
struct Latency;
#[derive(Debug)]
struct Count;
#[derive(Debug)]
struct Percent;
#[derive(Debug)]
struct PerSecond;
#[derive(Debug)]
struct CoresKind;

impl Kind for Latency {
    const NEEDS: &'static str = "a latency with a unit (e.g. <= 100us)";
    fn fits(value: &Value) -> bool {
        matches!(value, Value::Latency(_))
    }
}

impl Kind for Count {
    const NEEDS: &'static str = "a count (e.g. == 0)";
    fn fits(value: &Value) -> bool {
        matches!(value, Value::Count(_))
    }
}

impl Kind for Percent {
    const NEEDS: &'static str = "a percentage of the requested rate (e.g. >= 99%)";
    fn fits(value: &Value) -> bool {
        matches!(value, Value::Percent(_))
    }
}

impl Kind for PerSecond {
    const NEEDS: &'static str = "a rate per second (e.g. >= 5M/s)";
    fn fits(value: &Value) -> bool {
        matches!(value, Value::Rate(_))
    }
}

impl Kind for CoresKind {
    const NEEDS: &'static str = "a number of cores (e.g. <= 0.6 cores)";
    fn fits(value: &Value) -> bool {
        matches!(value, Value::Cores(_))
    }
}

impl<'de, K: Kind> Deserialize<'de> for Bound<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse_bound::<K>(&text).map_err(serde::de::Error::custom)
    }
}

fn parse_bound<K: Kind>(text: &str) -> Result<Bound<K>, String> {
    let (op, value) = text
        .trim()
        .split_once(char::is_whitespace)
        .ok_or_else(|| format!("`{text}` is not `OP VALUE` (e.g. `<= 100us`)"))?;
    let op = match op {
        "<=" => Op::AtMost,
        ">=" => Op::AtLeast,
        "==" => Op::Equal,
        other => return Err(format!("`{other}` is not one of <=, >=, ==")),
    };
    let value = parse_value(value.trim())?;
    if !K::fits(&value) {
        return Err(format!("`{text}`: this target needs {}", K::NEEDS));
    }
    Ok(Bound {
        op,
        value,
        kind: PhantomData,
    })
}

fn parse_value(text: &str) -> Result<Value, String> {
    if let Some(p) = text.strip_suffix('%') {
        return p
            .parse::<f64>()
            .ok()
            .filter(|p| (0.0..=100.0).contains(p))
            .map(Value::Percent)
            .ok_or_else(|| format!("`{text}` is not a percentage from 0% to 100%"));
    }
    if let Some(c) = text.strip_suffix("cores") {
        return c
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|c| c.is_finite() && *c >= 0.0)
            .map(Value::Cores)
            .ok_or_else(|| format!("`{text}` is not a number of cores (e.g. 0.6 cores)"));
    }
    if let Some(r) = text.strip_suffix("/s") {
        return parse_rate(r).map(Value::Rate).map_err(|e| e.to_string());
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse()
            .map(Value::Count)
            .map_err(|_| format!("`{text}` is too large"));
    }
    parse_duration(text)
        .map(Value::Latency)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reads_the_scopes_and_their_targets() {
        let file = "# comment\n[tcp]\nrate = \"1M/s\"\nack.p99 = \"<= 100us\"  # why\n\
                    unanswered = \"== 0\"\nachieved = \">= 99%\"\n\n\
                    [engine]\nreplay.rate = \">= 30M/s\"\n";
        let t = parse_targets(file).unwrap();
        assert_eq!(t.targets.len(), 4);
        assert_eq!(t.stated_rate("tcp"), Rate::new(1_000_000));
        assert_eq!(t.stated_rate("inproc"), None);
        let p99 = t.get("tcp.ack.p99").unwrap();
        assert_eq!(p99.bound(), "<= 100us");
        assert!(p99.met_by(Value::Latency(Duration::from_micros(100))));
        assert!(!p99.met_by(Value::Latency(Duration::from_nanos(100_001))));
        assert!(!p99.met_by(Value::Count(1)));
        assert!(t.get("tcp.unanswered").unwrap().met_by(Value::Count(0)));
        assert!(!t.get("tcp.unanswered").unwrap().met_by(Value::Count(1)));
        assert!(t.get("tcp.achieved").unwrap().met_by(Value::Percent(99.5)));
        assert!(
            t.get("engine.replay.rate")
                .unwrap()
                .met_by(Value::Rate(Rate::new(31_000_000).unwrap()))
        );
        assert_eq!(parse_targets("").unwrap(), Targets::default());
    }

    #[test]
    fn reads_the_targets_at_a_rate() {
        let file = "[tcp]\nack.p99 = \"<= 100us\"\n\n[tcp.at.100k]\ncores = \"<= 0.6 cores\"\n\
                    cpu_per_order = \"<= 6us\"\n\n[tcp.at.\"1.5M\"]\ncores = \"<= 1.3 cores\"\n\n\
                    [inproc.at.1000000]\ncores = \"<= 2cores\"\n";
        let t = parse_targets(file).unwrap();
        let r = |n| Rate::new(n).unwrap();
        assert_eq!(t.at_rate("tcp", r(100_000)).as_deref(), Some("tcp.at.100k"));
        assert_eq!(
            t.at_rate("tcp", r(1_500_000)).as_deref(),
            Some("tcp.at.1.5M")
        );
        assert_eq!(t.at_rate("tcp", r(200_000)), None);
        assert_eq!(
            t.at_rate("inproc", r(1_000_000)).as_deref(),
            Some("inproc.at.1M")
        );
        assert_eq!(t.rates_with_targets("tcp"), vec![r(100_000), r(1_500_000)]);
        let cores = t.get("tcp.at.100k.cores").unwrap();
        assert_eq!(cores.bound(), "<= 0.6 cores");
        assert!(cores.met_by(Value::Cores(0.6)));
        assert!(!cores.met_by(Value::Cores(0.61)));
        assert!(!cores.met_by(Value::Percent(0.1)));
        let per_order = t.get("tcp.at.100k.cpu_per_order").unwrap();
        assert!(per_order.met_by(Value::Latency(Duration::from_nanos(5_999))));
        assert!(
            t.get("inproc.at.1M.cores")
                .unwrap()
                .met_by(Value::Cores(1.9))
        );
        assert!(t.get("tcp.at.1.5M.cpu_per_order").is_none());
    }

    #[test]
    fn names_the_line_and_the_mistake() {
        for (body, says) in [
            ("[tcp]\nack.p98 = \"<= 1ms\"", "unknown field `p98`"),
            ("[tcp]\nack.p99 = \"< 1ms\"", "not one of"),
            ("[tcp]\nack.p99 = \"<= 1\"", "a latency"),
            ("[tcp]\nunanswered = \"== 0ms\"", "a count"),
            ("[tcp]\nachieved = \">= 101%\"", "percentage"),
            ("[udp]\nack.p99 = \"<= 1ms\"", "unknown field `udp`"),
            (
                "[tcp]\nack.p99 = \"<= 1ms\"\nack.p99 = \"<= 2ms\"",
                "duplicate key",
            ),
            ("[tcp]\nack.p99 = \"<=\"", "OP VALUE"),
            ("[tcp]\nack.p99 = 100", "a string"),
            ("[tcp]\nrate = \"fast\"", "rate"),
            ("[engine]\nreplay.rate = \">= 30ms\"", "a rate per second"),
            ("[tcp\nack.p99 = \"<= 1ms\"", "unclosed table"),
            ("[tcp.at.fast]\ncores = \"<= 1 cores\"", "not a rate"),
            ("[tcp.at.1M]\ncores = \"<= 1\"", "a number of cores"),
            (
                "[tcp.at.1M]\ncores = \"<= -1 cores\"",
                "not a number of cores",
            ),
            ("[tcp.at.1M]\nfill.p99 = \"<= 1ms\"", "unknown field `fill`"),
        ] {
            let err = parse_targets(&format!("# targets\n{body}\n"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("at line "), "{body}: {err}");
            assert!(err.contains(says), "{body}: {err}");
        }
        let err = parse_targets("# targets\n\n[tcp]\nack.p99 = \"<= 1\"\n").unwrap_err();
        assert!(err.to_string().contains("at line 4, column 11"), "{err}");
    }
}
