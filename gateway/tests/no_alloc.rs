//! Encoding and decoding do not allocate: checked with a counting global
//! allocator. This file holds a single test so that no other test thread
//! allocates while the count is armed.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use gateway::protocol::*;

struct Counting;

static ARMED: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged, so `System`'s guarantees are the allocator's; counting touches
// only atomics and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if ARMED.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `ptr` came from `System` via `alloc`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if ARMED.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged; the caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Encodes and decodes every message kind, and decodes every kind of bad
/// frame, with allocation counting armed; the count must stay at zero.
#[test]
fn encoding_and_decoding_do_not_allocate() {
    let client: Vec<_> = common::every_client_message();
    let server: Vec<_> = common::every_server_message();
    let bad: Vec<Vec<u8>> = vec![
        1000u32.to_le_bytes().to_vec(), // frame too large
        vec![3, 0, 0, 0, 1, 2, 3],      // truncated
        vec![12, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 99, 0, 0, 0], // unknown tag
    ];
    let mut buf = [0u8; MAX_FRAME_BYTES];
    let mut decoded = 0usize;

    ARMED.store(true, Ordering::SeqCst);
    for (seq, &msg) in (1..).zip(&client) {
        let len = encode_frame(&Envelope { seq, msg }, &mut buf).unwrap_or(0);
        if let Ok(Decoded::Message { .. }) = decode_frame::<ClientMessage>(&buf[..len]) {
            decoded += 1;
        }
    }
    for (seq, &msg) in (1..).zip(&server) {
        let len = encode_frame(&Envelope { seq, msg }, &mut buf).unwrap_or(0);
        if let Ok(Decoded::Message { .. }) = decode_frame::<ServerMessage>(&buf[..len]) {
            decoded += 1;
        }
    }
    for frame in &bad {
        if decode_frame::<ClientMessage>(frame).is_err() {
            decoded += 1;
        }
    }
    ARMED.store(false, Ordering::SeqCst);

    assert_eq!(decoded, client.len() + server.len() + bad.len());
    assert_eq!(ALLOCATIONS.load(Ordering::SeqCst), 0);
}
