//! The fast engine against the naive oracle on a command stream decoded from
//! the input. The check lives in `checks/engine_vs_naive.rs`, which
//! `engine/core/tests/fuzz_corpus.rs` replays over `corpus/engine_vs_naive/`.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../checks/engine_vs_naive.rs"]
#[allow(dead_code)] // `encode` is for the seed writer of the corpus test
mod engine_vs_naive;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = engine_vs_naive::check(data) {
        panic!("engine_vs_naive: {e}");
    }
});
