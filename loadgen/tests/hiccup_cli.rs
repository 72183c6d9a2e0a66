//! The `hiccup` binary: its report, its JSON, and its errors.

use std::process::Command;

fn hiccup(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hiccup"))
        .args(args)
        .output()
        .expect("hiccup runs")
}

#[test]
fn reports_each_core_and_writes_json() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("hiccup.json");
    let out = hiccup(&[
        "--duration",
        "50ms",
        "--cores",
        "0",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("floor:"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("0 ")), "{text}");

    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let core = &v["cores"][0];
    assert_eq!(core["core"], 0);
    assert!(core["measured_ns"].as_u64().unwrap() >= 50_000_000);
    for field in [
        "lost_share",
        "max_ns",
        "floor_p99_ns",
        "floor_p999_ns",
        "floor_p9999_ns",
    ] {
        assert!(!core[field].is_null(), "{field} missing: {v}");
    }
    assert!(!v["combined_floor_p999_ns"].is_null());
}

#[test]
fn a_missing_core_or_a_bad_duration_is_a_clear_error() {
    let out = hiccup(&["--duration", "10ms", "--cores", "4096"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("core 4096 does not exist"), "{err}");

    let out = hiccup(&["--duration", "ten"]);
    assert_eq!(out.status.code(), Some(2));
}
