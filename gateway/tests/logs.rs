//! What the operator reads: the `gateway` binary logs one line per event
//! that matters (start and its settings, logons and logouts with reasons,
//! refusals, a torn journal tail repaired with its offset, snapshots), to
//! stderr, filtered by `RUST_LOG`; and nothing per order.

#![allow(clippy::unwrap_used)] // a test that cannot set up should fail loudly

mod support;

use std::io::Write;
use std::time::{Duration, Instant};

use gateway::protocol::{ClientMessage, ServerMessage, Side, TimeInForce};
use support::{Client, GatewayProcess, TempDir};

/// The binary on `dir`, with `RUST_LOG` = `filter`.
fn run(dir: &TempDir, filter: &str) -> GatewayProcess {
    let args = [
        "--insecure-no-auth",
        "--durability",
        "fsync",
        "--snapshot-every",
        "50",
    ];
    support::spawn_gateway(&dir.0, &args, &[("RUST_LOG", filter)]).unwrap()
}

#[test]
fn the_events_that_matter_are_logged_and_orders_are_not() {
    let dir = TempDir::new("logs");
    let gw = run(&dir, "info");
    let mut seven = Client::logon(gw.addr, 7);
    for coid in 1..=120 {
        seven.order(coid, Side::Buy, 90, 1, TimeInForce::Ioc);
    }
    let mut ended = 0;
    while ended < 120 {
        if let Some(ServerMessage::Cancelled(_)) = seven.recv() {
            ended += 1;
        }
    }
    seven.send(ClientMessage::Logout);
    seven.expect("logout", |m| matches!(m, ServerMessage::Logout(_)));
    let mut zero = Client::connect(gw.addr);
    zero.send_logon(0, false);
    zero.expect("refused", |m| matches!(m, ServerMessage::LogonReject(_)));
    // Account 7's connection closes: its session ends.
    drop(seven);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !gw.log.lock().unwrap().contains("session ended") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = gw.terminate();
    for event in [
        " INFO gateway: listening on ",
        " INFO gateway: settings ",
        "logged on account=7",
        "logout account=7",
        "reason=UserRequested",
        "session ended account=7",
        "logon refused",
        "reason=UnknownAccount",
        "snapshot written seq=",
        " INFO gateway: stopped cleanly",
    ] {
        assert!(log.contains(event), "no {event:?} in:\n{log}");
    }
    // 120 orders, and not a line for any of them: a few dozen lines in all.
    assert!(
        log.lines().count() < 30,
        "{} lines:\n{log}",
        log.lines().count()
    );
}

#[test]
fn a_torn_tail_repaired_at_start_is_logged_with_its_offset_and_rust_log_filters() {
    let dir = TempDir::new("logs-torn");
    let gw = run(&dir, "info");
    let mut seven = Client::logon(gw.addr, 7);
    seven.order(1, Side::Sell, 101, 5, TimeInForce::Gtc);
    seven.expect("accepted", |m| matches!(m, ServerMessage::Accepted(_)));
    drop(seven);
    gw.terminate();
    // Half a record after the last one: what a crash mid-write leaves.
    let mut segments: Vec<_> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    segments.sort();
    let last = segments.last().unwrap();
    let len = std::fs::metadata(last).unwrap().len();
    std::fs::OpenOptions::new()
        .append(true)
        .open(last)
        .unwrap()
        .write_all(&[40, 0, 0, 0, 1, 2, 3])
        .unwrap();

    // Warnings and worse, but the binary's own lines (the start line): the
    // repair is there, the pipeline's information ("recovered") is not.
    let gw = run(&dir, "warn,gateway=info");
    let log = gw.terminate();
    assert!(
        log.contains("WARN") && log.contains(&format!("truncated a torn tail at byte {len}")),
        "{log}"
    );
    assert!(log.contains(" INFO gateway: listening on "), "{log}");
    assert!(
        !log.contains(" INFO pipeline"),
        "RUST_LOG let the pipeline's info through:\n{log}"
    );
}
