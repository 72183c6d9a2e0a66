//! The `replay` binary on bad input: it reports `line N: ...`, exits 2,
//! keeps the events of earlier lines, and never panics, whatever it is fed.

#![allow(clippy::unwrap_used)] // a test that cannot set up should fail loudly

use std::io::Write;
use std::process::{Command, Output, Stdio};

use proptest::prelude::*;

fn replay(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_replay"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    // The child may exit before reading everything (an early bad line).
    let _ = pipe.write_all(stdin);
    drop(pipe);
    child.wait_with_output().unwrap()
}

/// A panic exits with 101; input errors with 2; success with 0.
fn assert_no_panic(out: &Output) {
    let code = out.status.code();
    assert!(
        code == Some(0) || code == Some(2),
        "replay exited {code:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    if code == Some(2) {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with("line "), "unexpected stderr: {stderr}");
    }
}

#[test]
fn bad_line_keeps_earlier_events_and_exits_2() {
    let out = replay(
        &[],
        b"I 1 1 100 10\nN 1 1 1 B 5 5 GTC\nN 1 2 1 B five 5 GTC\nC 1 1\n",
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "A 1 1\n");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "line 3: price `five` is not a signed 64-bit integer\n"
    );
}

#[test]
fn invalid_utf8_and_redefinition_are_input_errors() {
    let out = replay(&[], b"I 1 1 100 10\n\xff\xfe\n");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "line 2: not valid UTF-8\n"
    );
    let out = replay(&[], b"I 1 1 100 10\nI 1 1 100 10\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).starts_with("line 2: instrument 1 is already defined")
    );
}

#[test]
fn too_wide_band_is_a_clear_input_error() {
    let out = replay(&[], b"I 1 -9223372036854775808 9223372036854775807 10\n");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("raise max_levels_per_side (replay: --max-levels;"),
        "{stderr}"
    );
}

#[test]
fn full_book_rejects_instead_of_growing() {
    let out = replay(
        &["--max-orders", "2"],
        b"I 1 1 100 10\nN 1 1 1 B 5 5 GTC\nN 1 2 1 B 5 5 GTC\nN 1 3 1 B 5 5 GTC\nN 1 4 2 S 5 1 IOC\n",
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "A 1 1\nA 1 2\nJ 1 3 BOOK_FULL\nA 1 4\nT 1 4 1 5 1\n"
    );
}

#[test]
fn bench_prints_one_json_object() {
    let dir = std::env::temp_dir().join(format!("replay-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("stream.txt");
    std::fs::write(
        &file,
        "I 1 1 100 10\nN 1 1 1 B 5 5 GTC\nN 1 2 2 S 5 3 IOC\nC 1 1\n",
    )
    .unwrap();
    let out = replay(&["--bench", file.to_str().unwrap()], b"");
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = String::from_utf8(out.stdout).unwrap();
    for key in [
        "commands",
        "seconds",
        "commands_per_sec",
        "p50_ns",
        "p99_ns",
        "p999_ns",
        "max_ns",
    ] {
        assert!(
            json.contains(&format!("\"{key}\":")),
            "{key} missing from {json}"
        );
    }
    assert!(json.starts_with("{\"commands\":3,"), "{json}");
}

/// Lines that look almost right: valid lines with one field mangled.
fn mangled_line() -> impl Strategy<Value = String> {
    let valid = prop_oneof![
        Just("I 1 1 100 10"),
        Just("N 1 7 1 B 50 5 GTC"),
        Just("N 1 8 2 S 50 5 FOK"),
        Just("M 1 9 3 S 4"),
        Just("C 1 7"),
        Just("R 1 8 49 3"),
    ];
    (valid, any::<prop::sample::Index>(), ".{0,6}").prop_map(|(line, at, junk)| {
        let mut fields: Vec<String> = line.split(' ').map(str::to_string).collect();
        let i = at.index(fields.len());
        fields[i] = junk;
        fields.join(" ")
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(input in prop::collection::vec(any::<u8>(), 0..400)) {
        assert_no_panic(&replay(&["--dump"], &input));
    }

    #[test]
    fn mangled_lines_never_panic(lines in prop::collection::vec(mangled_line(), 1..30)) {
        let input = format!("I 1 1 100 10\n{}\n", lines.join("\n"));
        assert_no_panic(&replay(&["--dump"], input.as_bytes()));
    }
}

proptest! {
    #[test]
    fn parse_line_never_panics(line in ".{0,80}") {
        let _ = matching::text::parse_line(&line);
    }
}
