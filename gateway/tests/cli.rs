//! The `gateway` binary's command line: every setting of the pipeline and
//! the sessions is there with its default in `--help`, a bad value is
//! refused with what is wrong, and a gateway started with non-default
//! settings serves.

#![allow(clippy::unwrap_used)] // a test that cannot set up should fail loudly

mod support;

use std::process::Command;

use gateway::protocol::{ServerMessage, Side, TimeInForce};
use support::{Client, TempDir};

/// Each setting, as `--help` names it.
const SETTINGS: [&str; 21] = [
    "--listen",
    "--journal",
    "--durability",
    "--layout",
    "--cores",
    "--inbound-ring",
    "--outbound-ring",
    "--segment-bytes",
    "--max-orders-per-book",
    "--max-band-ticks",
    "--heartbeat-ms",
    "--logon-timeout-ms",
    "--outbound-buffer",
    "--socket-send-buffer",
    "--throttle",
    "--max-sessions",
    "--wait",
    "--snapshot-every",
    "--snapshot-interval",
    "--retain-segments",
    "--metrics",
];

fn gateway() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gateway"))
}

#[test]
fn every_setting_is_in_help_with_its_default() {
    let out = gateway().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    // clap prints each option's text up to the next option.
    for setting in SETTINGS {
        let start = help
            .find(&format!("{setting} <"))
            .unwrap_or_else(|| panic!("{setting} is not in --help:\n{help}"));
        let text = &help[start..];
        let end = text[2..].find("\n      --").map_or(text.len(), |e| e + 2);
        let text = &text[..end];
        assert!(
            text.contains("[default: ") || text.contains("Default: "),
            "{setting} does not say its default: {text}"
        );
    }
}

#[test]
fn a_bad_setting_is_refused_with_what_is_wrong() {
    let dir = TempDir::new("cli-bad");
    for (args, says) in [
        (&["--inbound-ring", "1000"][..], "power of two"),
        (&["--cores", "1,2"][..], "four core ids"),
        (&["--layout", "split"][..], "hosted or joined"),
        (&["--max-orders-per-book", "0"][..], "max_orders_per_book"),
        (&["--segment-bytes", "10"][..], "segment_bytes"),
    ] {
        let out = gateway()
            .args(["--insecure-no-auth", "--listen", "127.0.0.1:0", "--journal"])
            .arg(dir.0.join("journal"))
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

#[test]
fn a_gateway_with_other_settings_serves() {
    let dir = TempDir::new("cli-settings");
    let args = [
        "--insecure-no-auth",
        "--durability",
        "os",
        "--layout",
        "joined",
        "--inbound-ring",
        "1024",
        "--outbound-ring",
        "1024",
        "--max-orders-per-book",
        "4096",
        "--heartbeat-ms",
        "1000",
        "--outbound-buffer",
        "65536",
        "--segment-bytes",
        "1048576",
    ];
    let gw = support::spawn_gateway(&dir.0, &args, &[]).unwrap();
    let addr = gw.addr;
    let mut seven = Client::logon(addr, 7);
    seven.order(1, Side::Sell, 101, 5, TimeInForce::Gtc);
    seven.expect("accepted", |m| matches!(m, ServerMessage::Accepted(_)));
    // The heartbeat setting reaches the sessions.
    let mut eight = Client::connect(addr);
    eight.send_logon(8, false);
    match eight.recv() {
        Some(ServerMessage::LogonAck(ack)) => assert_eq!(ack.heartbeat_interval_ms, 1000),
        other => panic!("expected a LogonAck, got {other:?}"),
    }
    drop(gw);
}
