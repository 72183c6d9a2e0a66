//! `journal export | replay` reproduces what the pipeline emitted live: the
//! audit trail works end to end, for each placement of the stages.

#![allow(clippy::unwrap_used)] // a test that cannot set up should fail loudly

// The pipeline crate's test helpers: these tests drive the same pipeline.
#[path = "../../pipeline/tests/pipeline_support/mod.rs"]
mod pipeline_support;

use std::process::Command as Process;

use journal::Durability;
use matching::text::write_event;
use pipeline::Output;
use pipeline_support::{Placement, TempDir, check, collector, config, placed, stream};

fn events_text(outputs: &[Output]) -> String {
    let mut out = Vec::new();
    for o in outputs {
        write_event(&mut out, &o.event).unwrap();
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn live_events_equal_journal_export_replayed() {
    live_events_equal_journal_export_replayed_in(Placement::Threads);
}

#[test]
fn live_events_equal_journal_export_replayed_hosted() {
    live_events_equal_journal_export_replayed_in(Placement::Hosted);
}

#[test]
fn live_events_equal_journal_export_replayed_all_hosted() {
    live_events_equal_journal_export_replayed_in(Placement::AllHosted);
}

/// The same with controls and limits through the stream: every risk
/// decision, halt and kill switch made live is made again by the replay.
#[test]
fn live_risk_decisions_equal_journal_export_replayed() {
    live_events_equal_journal_export_replayed_with(Placement::Threads, true);
}

fn live_events_equal_journal_export_replayed_in(placement: Placement) {
    live_events_equal_journal_export_replayed_with(placement, false);
}

/// `workload`'s commands with control commands spread through them: tight
/// limits for some accounts, a collar, a halt and resume, a kill switch
/// and its release.
fn with_controls(commands: &[matching::Command], symbols: &[u32]) -> Vec<matching::Command> {
    use matching::{AccountLimits, Collar, CollarWidth, Command};
    let mut out = Vec::with_capacity(commands.len() + 32);
    for account in 1..=8 {
        out.push(Command::Limits {
            account,
            limits: AccountLimits {
                max_order_qty: 60,
                max_open_orders: 30,
                max_open_orders_per_instrument: 12,
                max_position: 400,
                ..AccountLimits::NONE
            },
        });
    }
    let n = commands.len();
    for (i, c) in commands.iter().enumerate() {
        if i == n / 5 {
            out.push(Command::Collar {
                symbol: symbols[0],
                collar: Collar {
                    reference: 100_000,
                    width: CollarWidth::Ticks(1),
                },
            });
            out.push(Command::Block {
                account: 9,
                block: true,
            });
        }
        if i == 2 * n / 5 {
            out.push(Command::Halt {
                symbol: symbols[symbols.len() - 1],
                halt: true,
            });
        }
        if i == 3 * n / 5 {
            out.push(Command::Halt {
                symbol: symbols[symbols.len() - 1],
                halt: false,
            });
            out.push(Command::Block {
                account: 9,
                block: false,
            });
        }
        out.push(*c);
    }
    out
}

fn live_events_equal_journal_export_replayed_with(placement: Placement, controls: bool) {
    let dir = TempDir::new("export");
    let mut workload = stream(30_000, 11);
    if controls {
        let symbols: Vec<u32> = workload.instruments.iter().map(|s| s.symbol).collect();
        workload.commands = with_controls(&workload.commands, &symbols);
    }
    let (seen, sink) = collector();
    let mut p = pipeline::start(
        placed(
            config(dir.path(), workload.instruments.clone(), Durability::Os),
            placement,
        ),
        sink,
    )
    .unwrap();
    check(placement, &p);
    for chunk in workload.commands.chunks(100) {
        p.publish_batch(0, chunk).unwrap();
    }
    p.shutdown().unwrap();
    let live = events_text(&seen.lock().unwrap());

    let export = Process::new(env!("CARGO_BIN_EXE_journal"))
        .arg("export")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let exported = dir.path().join("export.txt");
    std::fs::write(&exported, &export.stdout).unwrap();
    let replayed = Process::new(env!("CARGO_BIN_EXE_replay"))
        .arg(&exported)
        .output()
        .unwrap();
    assert!(replayed.status.success());
    let replayed = String::from_utf8(replayed.stdout).unwrap();
    assert!(live.lines().count() > 30_000);
    if controls {
        for refusal in ["RISK_", "HALTED", "ACCOUNT_BLOCKED", "PRICE_COLLAR"] {
            assert!(
                live.contains(refusal),
                "no {refusal} refusal in the live run"
            );
        }
    }
    assert!(
        live == replayed,
        "live events differ from `journal export | replay`"
    );
}

/// After retention, `journal verify` and `journal export` work on what is
/// retained and say where it begins: export writes the records from the
/// first retained one, with a comment line first, and every record of the
/// last one (so nothing after the snapshots is missing).
#[test]
fn verify_and_export_say_where_retained_history_begins() {
    let dir = TempDir::new("export-retained");
    let workload = stream(20_000, 23);
    let mut cfg = config(dir.path(), workload.instruments.clone(), Durability::Os);
    cfg.snapshot_every = Some(2_000);
    cfg.journal.segment_bytes = 16 * 1024;
    cfg.retain_segments = journal::SegmentRetention::Delete;
    let (_, sink) = collector();
    let mut p = pipeline::start(cfg, sink).unwrap();
    for chunk in workload.commands.chunks(100) {
        p.publish_batch(0, chunk).unwrap();
    }
    p.shutdown().unwrap();
    let first = journal::first_retained_seq(dir.path()).unwrap().unwrap();
    assert!(first > 1, "segments were retired");

    let verify = Process::new(env!("CARGO_BIN_EXE_journal"))
        .arg("verify")
        .arg(dir.path())
        .output()
        .unwrap();
    let report = String::from_utf8(verify.stdout).unwrap();
    assert!(verify.status.success(), "{report}");
    assert!(
        report.contains(&format!("retained history begins at sequence {first}")),
        "{report}"
    );

    let export = Process::new(env!("CARGO_BIN_EXE_journal"))
        .args(["export", "--seq"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(export.status.success());
    let text = String::from_utf8(export.stdout).unwrap();
    assert!(text.starts_with(&format!(
        "# the retained journal begins at sequence {first}"
    )));
    let seqs: Vec<u64> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# seq "))
        .map(|l| l.split(' ').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(seqs.first(), Some(&first));
    let last = workload.commands.len() as u64;
    assert_eq!(seqs.last(), Some(&last));
    assert_eq!(seqs.len() as u64, last + 1 - first);
    assert!(String::from_utf8_lossy(&export.stderr).contains("does not rebuild"));
}
