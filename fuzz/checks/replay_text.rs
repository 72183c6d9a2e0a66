//! The check of the `replay_text` fuzz target, shared with the corpus replay
//! test `engine/core/tests/fuzz_corpus.rs` (both include this file with
//! `#[path]`, so the fuzzer and CI run the same code).
//!
//! Any bytes, taken as replay text (invalid UTF-8 replaced, as a lossy
//! reader would), split into lines: `parse_line` must never panic, an error
//! message must stay short whatever the line (it quotes at most 40
//! characters of a bad field), and every line that parses must come back
//! unchanged through `write_command` / `write_instrument` and `parse_line`.

use matching::text::{Line, parse_line, write_command, write_instrument};

/// The longest error message `parse_line` may give, in bytes: the longest
/// fixed text plus two quoted fields of 40 characters of up to 4 bytes each.
const MAX_MESSAGE: usize = 400;

/// Runs every check on every line of `data`; `Err` names the failing line.
pub fn check(data: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(data);
    for (n, line) in text.split('\n').enumerate() {
        match parse_line(line) {
            Ok(None) => {}
            Ok(Some(parsed)) => {
                let mut out = Vec::new();
                match parsed {
                    Line::Command(c) => write_command(&mut out, &c),
                    Line::Instrument(spec) => write_instrument(&mut out, &spec),
                }
                .map_err(|e| format!("line {n}: writing {parsed:?} failed: {e}"))?;
                let written = String::from_utf8(out)
                    .map_err(|e| format!("line {n}: {parsed:?} written as non-UTF-8: {e}"))?;
                let again = parse_line(written.trim_end_matches('\n'));
                if again != Ok(Some(parsed)) {
                    return Err(format!(
                        "line {n} {line:?} parsed as {parsed:?}, written as {written:?}, read back as {again:?}"
                    ));
                }
            }
            Err(e) => {
                let message = e.to_string();
                if message.len() > MAX_MESSAGE {
                    return Err(format!(
                        "line {n}: a {}-byte message for a {}-byte line: {message}",
                        message.len(),
                        line.len()
                    ));
                }
            }
        }
    }
    Ok(())
}
