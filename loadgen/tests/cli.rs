//! The binary's command line and the targets file it reads.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use loadgen::targets::{Value, parse_targets};

fn loadgen(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn help_explains_every_flag() {
    let out = loadgen(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--rate",
        "--duration",
        "--warmup",
        "--sessions",
        "--instruments",
        "--seed",
        "--durability",
        "--mix",
        "--target",
        "--transport",
        "--check",
        "--json",
        "--hist",
        "--record",
        "--quiet",
        "--tick",
        "--csv",
        "--idle",
        "--cpu",
    ] {
        assert!(help.contains(flag), "--help does not mention {flag}");
    }
    assert!(help.contains("coordinated omission"));
}

#[test]
fn bad_values_exit_2_with_the_reason() {
    for (args, says) in [
        (&["--rate", "lots"][..], "500k, 1M, 2.5M"),
        (&["--duration", "10"][..], "no unit"),
        (&["--durability", "disk"][..], "none, os or fsync"),
        (&["--mix", "passive=1,passive=2"][..], "twice"),
        (&["--instruments", "0"][..], "--instruments must be"),
    ] {
        let out = loadgen(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn an_unreachable_target_is_a_clear_error() {
    // A port nothing listens on: bind one, learn it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let target = format!("127.0.0.1:{port}");
    let out = loadgen(&["--target", &target, "--duration", "1s", "-q"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("cannot connect"), "{stderr}");
    let out = loadgen(&["--target", "no-such-host.invalid:1", "-q"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("--target"), "{stderr}");
}

#[test]
fn the_real_targets_file_parses_and_states_the_issue_targets() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/targets.toml"))
            .unwrap();
    let targets = parse_targets(&text).unwrap();
    let latency = |key: &str| match targets.get(key).map(|t| t.value) {
        Some(Value::Latency(d)) => d.as_nanos() as u64,
        other => panic!("{key}: {other:?}"),
    };
    assert_eq!(latency("tcp.ack.p99"), 100_000);
    assert_eq!(latency("tcp.ack.p99.9"), 1_000_000);
    assert_eq!(latency("inproc.event.p99"), 10_000);
    assert_eq!(latency("engine.replay.p99"), 150);
    assert_eq!(
        targets.get("tcp.unanswered").map(|t| t.value),
        Some(Value::Count(0))
    );
    assert!(targets.get("tcp.fill.p99").is_some());
    assert_eq!(
        targets.stated_rate("tcp").map(|r| r.per_sec()),
        Some(1_000_000)
    );
    // The built-in copy is the same file.
    assert_eq!(parse_targets(loadgen::targets::BUILTIN).unwrap(), targets);
}
