//! Replays a fuzz target's committed corpus through its check, for the
//! ordinary tests (`engine/core/tests/fuzz_corpus.rs`,
//! `gateway/tests/fuzz_corpus.rs`), so CI runs every corpus input without
//! a fuzzer. Included with `#[path]`, like the checks themselves.

use std::path::{Path, PathBuf};

/// `fuzz/corpus/<target>/` of this repository, from a crate directory
/// (`CARGO_MANIFEST_DIR` of a crate at any depth below the repository
/// root, such as `engine/core` or `gateway`): the nearest ancestor that
/// holds `fuzz/corpus`.
pub fn dir(manifest_dir: &str, target: &str) -> PathBuf {
    let corpus = Path::new(manifest_dir)
        .ancestors()
        .map(|dir| dir.join("fuzz").join("corpus"))
        .find(|corpus| corpus.is_dir())
        .unwrap_or_else(|| panic!("no fuzz/corpus above {manifest_dir}"));
    corpus.join(target)
}

/// Every file of the corpus `dir`, sorted by name.
pub fn inputs(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read the corpus {}: {e}", dir.display()));
    let mut paths: Vec<PathBuf> = entries
        .map(|entry| {
            entry
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .path()
        })
        .filter(|path| path.is_file())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (path, bytes)
        })
        .collect()
}

/// Runs `check` on every file of the corpus `dir` (at least `min_inputs`
/// of them, so an emptied or moved corpus fails instead of passing
/// vacuously), and panics listing every input that failed or panicked.
pub fn replay(dir: &Path, min_inputs: usize, check: fn(&[u8]) -> Result<(), String>) {
    let inputs = inputs(dir);
    assert!(
        inputs.len() >= min_inputs,
        "{} holds {} inputs, expected at least {min_inputs}",
        dir.display(),
        inputs.len()
    );
    let mut failures = Vec::new();
    for (path, bytes) in &inputs {
        match std::panic::catch_unwind(|| check(bytes)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failures.push(format!("{}: {e}", path.display())),
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("(no message)");
                failures.push(format!("{}: panicked: {message}", path.display()));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} corpus inputs failed:\n{}",
        failures.len(),
        inputs.len(),
        failures.join("\n")
    );
}

/// Writes `seeds` as files `seed-<name>` into the corpus `dir` (for the
/// ignored seed-writing tests).
pub fn write_seeds(dir: &Path, seeds: &[(String, Vec<u8>)]) {
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for (name, bytes) in seeds {
        let path = dir.join(format!("seed-{name}"));
        std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}
