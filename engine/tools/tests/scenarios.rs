//! Golden scenarios: every `scenarios/NAME.txt` is run through the `replay`
//! binary with `--dump`, and its stdout must equal `NAME.out` byte for byte.
//! When `NAME.err` exists the run must fail with status 2 and exactly that
//! stderr; otherwise it must succeed with nothing on stderr.
//!
//! To add a case, drop in a `.txt` and its `.out`; no code changes.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn scenario_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("readable scenario entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    files
}

fn check(input: &Path) -> Result<(), String> {
    let expected_out = fs::read_to_string(input.with_extension("out"))
        .map_err(|e| format!("missing {}: {e}", input.with_extension("out").display()))?;
    let expected_err = fs::read_to_string(input.with_extension("err")).ok();
    let run = Command::new(env!("CARGO_BIN_EXE_replay"))
        .arg("--dump")
        .arg(input)
        .output()
        .map_err(|e| format!("cannot run replay: {e}"))?;
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    let mut problems = Vec::new();
    if stdout != expected_out {
        problems.push(format!(
            "stdout differs\n--- expected\n{expected_out}--- actual\n{stdout}---"
        ));
    }
    match &expected_err {
        Some(err) => {
            if run.status.code() != Some(2) {
                problems.push(format!(
                    "expected exit status 2, got {:?}",
                    run.status.code()
                ));
            }
            if stderr != *err {
                problems.push(format!(
                    "stderr differs\n--- expected\n{err}--- actual\n{stderr}---"
                ));
            }
        }
        None => {
            if !run.status.success() || !stderr.is_empty() {
                problems.push(format!("failed with {:?}: {stderr}", run.status.code()));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

#[test]
fn golden_scenarios() {
    let files = scenario_files();
    assert!(!files.is_empty(), "no scenarios found");
    let failures: Vec<String> = files
        .iter()
        .filter_map(|f| check(f).err().map(|e| format!("== {}\n{e}", f.display())))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} scenarios failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}
