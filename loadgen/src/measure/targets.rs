//! The documented targets, read from `docs/targets.md`.
//!
//! The targets live in the document that explains them, so a number cannot
//! change without its reason being in front of whoever changes it. The
//! program reads the document's fenced block tagged `targets`: one target
//! per line, `KEY OP VALUE`, where OP is `<=`, `>=` or `==`, and `KEY = VALUE`
//! for a fact the targets assume (the rate they are stated at). Everything
//! else in the document is prose for people.
//!
//! ```text
//! tcp.rate           =  1M/s
//! tcp.ack.p99        <= 100us
//! tcp.unanswered     == 0
//! tcp.achieved       >= 99%
//! engine.replay.rate >= 30M/s
//! ```
//!
//! Metrics: `ack.P` (order→ack), `fill.P` (order→first fill), `event.P`
//! (inproc only: command→event, from the command's publish into the
//! pipeline to its first released event), `unanswered`, `achieved`.
//!
//! Scopes: `tcp` (loadgen over TCP to a gateway), `inproc` (loadgen
//! `--transport inproc`, the pipeline alone), and `engine`, `pipeline`
//! (documented there, checked by their own benchmarks; loadgen only parses
//! them). A typo in a key of the loadgen scopes is an error, not a silently
//! skipped target.

use std::fmt;
use std::time::Duration;

use crate::cli::duration::{format_duration, parse_duration};
use crate::cli::rate::{Rate, parse_rate};

/// The targets document of this repository, compiled in so the binary works
/// from any directory.
pub const BUILTIN: &str = include_str!("../../../docs/targets.md");

/// The info string of the fenced block the targets are in.
const FENCE_TAG: &str = "targets";

/// Scopes whose keys loadgen checks.
pub const LOADGEN_SCOPES: [&str; 2] = ["tcp", "inproc"];
/// Scopes documented in the same block and checked elsewhere.
const OTHER_SCOPES: [&str; 2] = ["engine", "pipeline"];

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
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Latency(d) => f.write_str(&format_duration(*d)),
            Value::Count(n) => write!(f, "{n}"),
            Value::Percent(p) => write!(f, "{p}%"),
            Value::Rate(r) => write!(f, "{r}/s"),
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

/// The targets document, parsed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Targets {
    targets: Vec<Target>,
    /// `scope.rate = R`: the rate a scope's targets are stated at.
    rates: Vec<(String, Rate)>,
}

/// Why the targets could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetsError {
    #[error(
        "no ```{FENCE_TAG} block found; the targets must be in a fenced block tagged `{FENCE_TAG}`"
    )]
    NoBlock,
    #[error("the ```{FENCE_TAG} block starting at line {0} is never closed")]
    Unclosed(usize),
    #[error("line {line}: {message}")]
    Line { line: usize, message: String },
}

impl Targets {
    /// The target with this key, if the document has one.
    pub fn get(&self, key: &str) -> Option<&Target> {
        self.targets.iter().find(|t| t.key == key)
    }

    /// Every target, in document order.
    pub fn all(&self) -> &[Target] {
        &self.targets
    }

    /// The rate `scope`'s targets are stated at, if the document says.
    pub fn stated_rate(&self, scope: &str) -> Option<Rate> {
        self.rates.iter().find(|(s, _)| s == scope).map(|(_, r)| *r)
    }
}

/// Parses the `targets` block(s) of a markdown document.
pub fn parse_targets(markdown: &str) -> Result<Targets, TargetsError> {
    let mut targets = Targets::default();
    let mut in_block: Option<usize> = None;
    let mut found = false;
    for (index, raw) in markdown.lines().enumerate() {
        let line_no = index + 1;
        let trimmed = raw.trim();
        match in_block {
            None => {
                if let Some(info) = trimmed.strip_prefix("```")
                    && info.trim() == FENCE_TAG
                {
                    in_block = Some(line_no);
                    found = true;
                }
            }
            Some(_) => {
                if trimmed.starts_with("```") {
                    in_block = None;
                    continue;
                }
                parse_line(trimmed, &mut targets).map_err(|message| TargetsError::Line {
                    line: line_no,
                    message,
                })?;
            }
        }
    }
    if let Some(start) = in_block {
        return Err(TargetsError::Unclosed(start));
    }
    if !found {
        return Err(TargetsError::NoBlock);
    }
    Ok(targets)
}

fn parse_line(line: &str, targets: &mut Targets) -> Result<(), String> {
    let line = line.split('#').next().unwrap_or("").trim();
    if line.is_empty() {
        return Ok(());
    }
    let mut words = line.split_whitespace();
    let (Some(key), Some(op), Some(value), None) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return Err(format!(
            "`{line}` is not `KEY OP VALUE` (e.g. `tcp.ack.p99 <= 100us`)"
        ));
    };
    check_key(key)?;
    if op == "=" {
        let rate = value
            .strip_suffix("/s")
            .ok_or_else(|| format!("`{key} = {value}`: only a rate (like 1M/s) can be stated"))
            .and_then(|r| parse_rate(r).map_err(|e| e.to_string()))?;
        let scope = key
            .strip_suffix(".rate")
            .ok_or_else(|| format!("`{key} = ...`: only `SCOPE.rate = RATE/s` is a statement"))?;
        if targets.rates.iter().any(|(s, _)| s == scope) {
            return Err(format!("`{key}` is stated twice"));
        }
        targets.rates.push((scope.to_string(), rate));
        return Ok(());
    }
    let op = match op {
        "<=" => Op::AtMost,
        ">=" => Op::AtLeast,
        "==" => Op::Equal,
        other => return Err(format!("`{other}` is not one of <=, >=, ==")),
    };
    let value = parse_value(value)?;
    check_kind(key, value)?;
    if targets.get(key).is_some() {
        return Err(format!("`{key}` has two targets"));
    }
    targets.targets.push(Target {
        key: key.to_string(),
        op,
        value,
    });
    Ok(())
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

/// Keys of the loadgen scopes must name something loadgen measures.
fn check_key(key: &str) -> Result<(), String> {
    let (scope, metric) = key
        .split_once('.')
        .ok_or_else(|| format!("`{key}` has no scope; keys look like tcp.ack.p99"))?;
    if OTHER_SCOPES.contains(&scope) {
        return Ok(());
    }
    if !LOADGEN_SCOPES.contains(&scope) {
        return Err(format!(
            "unknown scope `{scope}` in `{key}`; scopes are tcp, inproc, engine, pipeline"
        ));
    }
    let known = match metric.split_once('.') {
        Some(("ack" | "fill" | "event", p)) => PERCENTILES.iter().any(|(name, _)| *name == p),
        None => matches!(metric, "unanswered" | "achieved" | "rate"),
        _ => false,
    };
    if known {
        Ok(())
    } else {
        Err(format!(
            "`{key}`: loadgen measures ack.P, fill.P and (inproc) event.P (P one of p50, \
             p90, p99, p99.9, p99.99, max), unanswered, achieved"
        ))
    }
}

/// The value must be of the kind the metric is measured in.
fn check_kind(key: &str, value: Value) -> Result<(), String> {
    let Some(metric) = LOADGEN_SCOPES
        .iter()
        .find_map(|s| key.strip_prefix(s).and_then(|k| k.strip_prefix('.')))
    else {
        return Ok(());
    };
    let ok = match metric {
        "unanswered" => matches!(value, Value::Count(_)),
        "achieved" => matches!(value, Value::Percent(_)),
        _ => matches!(value, Value::Latency(_)),
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{key}` needs {}",
            match metric {
                "unanswered" => "a count (e.g. 0)",
                "achieved" => "a percentage of the requested rate (e.g. 99%)",
                _ => "a latency with a unit (e.g. 100us)",
            }
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reads_a_block_and_ignores_the_prose() {
        let doc = "# T\n\nprose tcp.ack.p99 <= 1s\n\n```targets\n# comment\ntcp.rate = 1M/s\n\
                   tcp.ack.p99 <= 100us   # why\ntcp.unanswered == 0\ntcp.achieved >= 99%\n\
                   engine.replay.rate >= 30M/s\n```\n\n```text\nnot.parsed x y\n```\n";
        let t = parse_targets(doc).unwrap();
        assert_eq!(t.all().len(), 4);
        assert_eq!(t.stated_rate("tcp"), Rate::new(1_000_000));
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
    }

    #[test]
    fn names_the_line_of_a_mistake() {
        let bad = |body: &str| parse_targets(&format!("```targets\n\n{body}\n```\n")).unwrap_err();
        for (body, says) in [
            ("tcp.ack.p98 <= 1ms", "loadgen measures"),
            ("tcp.ack.p99 < 1ms", "not one of"),
            ("tcp.ack.p99 <= 1", "a latency"),
            ("tcp.unanswered == 0ms", "a count"),
            ("tcp.achieved >= 101%", "percentage"),
            ("udp.ack.p99 <= 1ms", "unknown scope"),
            ("tcp.ack.p99 <= 1ms\ntcp.ack.p99 <= 2ms", "two targets"),
            ("tcp.ack.p99 <=", "KEY OP VALUE"),
            ("tcp.rate = fast", "rate"),
        ] {
            let err = bad(body).to_string();
            assert!(err.starts_with("line "), "{body}: {err}");
            assert!(err.contains(says), "{body}: {err}");
        }
        assert!(bad("tcp.ack.p99 <= 1").to_string().starts_with("line 3: "));
        assert_eq!(parse_targets("no block"), Err(TargetsError::NoBlock));
        assert_eq!(
            parse_targets("x\n```targets\ntcp.unanswered == 0\n"),
            Err(TargetsError::Unclosed(2))
        );
    }
}
