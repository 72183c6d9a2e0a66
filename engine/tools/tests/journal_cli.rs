//! The `journal` binary: `export | replay` reproduces the engine's events,
//! `verify` reports each segment and snapshot and fails on damage recovery
//! would refuse, and bad directories get clear errors.

#![allow(clippy::unwrap_used)] // a test that cannot set up should fail loudly

// The journal crate's test helpers: these tests check the same files.
#[path = "../../journal/tests/journal_support/mod.rs"]
mod journal_support;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use journal::{snapshot_name, write_snapshot};
use journal_support::*;
use matching::text::{write_event, write_instrument};

fn journal(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_journal"))
        .args(args)
        .output()
        .unwrap()
}

fn run_with_stdin(exe: &str, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(exe)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Feed stdin from another thread: the child's output can fill its pipe
    // before it has read all of its input.
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let output = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    output
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn export_piped_to_replay_gives_the_events_of_running_the_commands() {
    let dir = tempdir();
    let w = workload(20_000, 31);
    write_journal(
        dir.path(),
        &w.instruments,
        &w.commands,
        small_segments(64 << 10),
    );
    assert!(segments(dir.path()).len() > 3);

    let export = journal(&["export", path_str(dir.path())]);
    assert!(export.status.success(), "{}", text(&export.stderr));
    assert_eq!(text(&export.stderr), "");
    let mut expected_export = Vec::new();
    for spec in &w.instruments {
        write_instrument(&mut expected_export, spec).unwrap();
    }
    for command in &w.commands {
        matching::text::write_command(&mut expected_export, command).unwrap();
    }
    assert_eq!(text(&export.stdout), text(&expected_export));

    // replay's own limits must fit the instruments; its defaults do.
    let replay = run_with_stdin(env!("CARGO_BIN_EXE_replay"), &[], &export.stdout);
    assert!(replay.status.success(), "{}", text(&replay.stderr));
    let (_, events) = run_direct(&w.instruments, &w.commands);
    let mut expected = Vec::new();
    for event in &events {
        write_event(&mut expected, event).unwrap();
    }
    assert!(events.len() > w.commands.len());
    assert_eq!(text(&replay.stdout), text(&expected));
}

#[test]
fn export_with_seq_then_import_round_trips_the_records() {
    let dir = tempdir();
    let w = workload(2_000, 32);
    let records = write_journal(
        dir.path(),
        &w.instruments,
        &w.commands,
        small_segments(16 << 10),
    );
    let export = journal(&["export", "--seq", path_str(dir.path())]);
    assert!(export.status.success());
    assert!(text(&export.stdout).contains(&format!("# seq 1 ts {}\n", ts_of(1))));

    let copy = tempdir();
    let target = copy.path().join("imported");
    let import = run_with_stdin(
        env!("CARGO_BIN_EXE_journal"),
        &["import", path_str(&target), "--segment-bytes", "5000"],
        &export.stdout,
    );
    assert!(import.status.success(), "{}", text(&import.stderr));
    assert_eq!(read_all(&target), records);
    assert_eq!(journal::read_instruments(&target).unwrap(), w.instruments);

    // Importing into a journal is refused, and the journal is untouched.
    let again = run_with_stdin(
        env!("CARGO_BIN_EXE_journal"),
        &["import", path_str(&target)],
        &export.stdout,
    );
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again.stderr).contains("already holds a journal"),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(read_all(&target), records);
}

#[test]
fn recover_and_snapshot_commands() {
    let dir = tempdir();
    let w = workload(3_000, 33);
    write_journal(
        dir.path(),
        &w.instruments,
        &w.commands,
        small_segments(16 << 10),
    );
    let d = path_str(dir.path());
    let limits = ["--max-levels", "16384", "--max-orders", "16384"];
    let out = journal(&[&["snapshot", d][..], &limits].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let total = w.commands.len() as u64;
    assert!(dir.path().join(snapshot_name(total)).exists());

    let out = journal(&[&["recover", d, "--dump"][..], &limits].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains(&format!("recovered to sequence {total} from snapshot")));
    let (direct, _) = run_direct(&w.instruments, &w.commands);
    let mut dump = Vec::new();
    for order in direct.resting_orders() {
        matching::text::write_resting(&mut dump, &order).unwrap();
    }
    assert_eq!(text(&out.stdout), text(&dump));
}

#[test]
fn verify_reports_segments_snapshots_and_damage() {
    let dir = tempdir();
    let w = workload(1_000, 34);
    write_journal(
        dir.path(),
        &w.instruments,
        &w.commands,
        small_segments(16 << 10),
    );
    let (engine, _) = run_direct(&w.instruments, &w.commands[..500]);
    write_snapshot(dir.path(), &engine, 500).unwrap();
    let d = path_str(dir.path());
    let total = w.commands.len();

    let out = journal(&["verify", d]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    let report = text(&out.stdout);
    let segs = segments(dir.path());
    let first = segs[0].file_name().unwrap().to_str().unwrap();
    assert!(
        report.starts_with("instruments: 2 defined, ok\n"),
        "{report}"
    );
    assert!(report.contains(&format!("{first}: ")), "{report}");
    assert!(report.contains("records, seq 1..="), "{report}");
    assert!(
        report.contains(&format!("{}: after seq 500, ", snapshot_name(500))),
        "{report}"
    );
    assert!(
        report.ends_with(&format!("verdict: ok, last sequence {total}\n")),
        "{report}"
    );
    assert_eq!(
        report.lines().filter(|l| l.ends_with(", ok")).count(),
        segs.len() + 2
    );

    // A torn tail: reported, recoverable, exit 0, and not repaired by verify.
    let last = segs.last().unwrap();
    let len = std::fs::metadata(last).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(last)
        .unwrap()
        .set_len(len - 3)
        .unwrap();
    let out = journal(&["verify", d]);
    let report = text(&out.stdout);
    assert!(out.status.success(), "{report}");
    assert!(report.contains("torn tail at byte"), "{report}");
    assert!(report.contains("verdict: recoverable"), "{report}");
    assert_eq!(std::fs::metadata(last).unwrap().len(), len - 3);
    // export reads up to it, warning on stderr.
    let out = journal(&["export", d]);
    assert!(out.status.success());
    assert!(text(&out.stderr).contains("warning") && text(&out.stderr).contains("torn tail"));

    // Damage in the middle: named with file and offset, exit 1; a damaged
    // snapshot is reported too.
    let first_bytes = std::fs::read(&segs[0]).unwrap();
    let at = record_offsets(&first_bytes)[5];
    let mut bad = first_bytes.clone();
    bad[at + 17] ^= 0xff;
    std::fs::write(&segs[0], bad).unwrap();
    let snap = dir.path().join(snapshot_name(500));
    let mut bytes = std::fs::read(&snap).unwrap();
    bytes[40] ^= 1;
    std::fs::write(&snap, bytes).unwrap();
    let out = journal(&["verify", d]);
    let report = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(
        report.contains(&format!("{first}: "))
            && report.contains(&format!("DAMAGED: corrupt record at byte {at}")),
        "{report}"
    );
    assert!(
        report.contains("DAMAGED: ") && report.contains("recovery skips it"),
        "{report}"
    );
    assert!(report.contains("verdict: DAMAGED"), "{report}");
    // export stops there with the same message, exit 1.
    let out = journal(&["export", d]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(&format!("byte {at}")),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn missing_or_wrong_directories_are_clear_errors() {
    let dir = tempdir();
    let missing = dir.path().join("missing");
    for command in ["export", "verify", "recover"] {
        let out = journal(&[command, path_str(&missing)]);
        assert_eq!(out.status.code(), Some(1), "{command}");
        let err = text(&out.stderr);
        assert!(
            err.starts_with("journal: cannot ") && err.contains("missing"),
            "{command}: {err}"
        );
    }
    let out = journal(&["verify", path_str(dir.path())]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("holds no journal"),
        "{}",
        text(&out.stderr)
    );
    let out = journal(&["verify"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "clap reports usage errors with 2"
    );
}
