//! Random bytes into the wire decoder: never a panic, and whatever decodes
//! re-encodes to the same bytes. The check lives in `checks/wire.rs`, which
//! `gateway/tests/fuzz_corpus.rs` replays over `corpus/wire_decode/`.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../checks/wire.rs"]
mod wire;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = wire::check(data) {
        panic!("wire_decode: {e}");
    }
});
