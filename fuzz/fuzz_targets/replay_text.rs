//! Random bytes as replay text into `parse_line`: never a panic, short error
//! messages, and parsed lines that write back unchanged. The check lives in
//! `checks/replay_text.rs`, which `engine/core/tests/fuzz_corpus.rs` replays over
//! `corpus/replay_text/`.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../checks/replay_text.rs"]
mod replay_text;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = replay_text::check(data) {
        panic!("replay_text: {e}");
    }
});
