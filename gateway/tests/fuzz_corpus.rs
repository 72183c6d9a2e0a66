//! The committed fuzz corpus of the `wire_decode` target
//! (`fuzz/corpus/wire_decode/`), replayed through the same check the fuzz
//! target runs, so CI covers it with no fuzzer.
//!
//! The check lives in `fuzz/checks/wire.rs` and is included here with
//! `#[path]`, as the fuzz target includes it: one copy of the logic. The
//! seed inputs (`seed-*`) were written by the ignored test `write_seeds`;
//! the others are what short fuzzing runs kept (see docs/verification.md,
//! "Fuzzing").

#![allow(clippy::unwrap_used)] // a test that cannot set up should fail loudly

mod common;
#[path = "../../fuzz/checks/corpus.rs"]
mod corpus;
#[path = "../../fuzz/checks/wire.rs"]
mod wire;

use gateway::protocol::*;

fn corpus_dir() -> std::path::PathBuf {
    corpus::dir(env!("CARGO_MANIFEST_DIR"), "wire_decode")
}

#[test]
fn wire_decode_corpus_passes() {
    corpus::replay(&corpus_dir(), 10, wire::check);
}

// ---- seeds -------------------------------------------------------------

fn frame<M: Message>(seq: u64, msg: M) -> Vec<u8> {
    common::frame(&Envelope { seq, msg })
}

/// `frame` with its length prefix changed to `len`.
fn with_prefix(mut frame: Vec<u8>, len: u32) -> Vec<u8> {
    frame[..LEN_PREFIX].copy_from_slice(&len.to_le_bytes());
    frame
}

fn seeds() -> Vec<(String, Vec<u8>)> {
    let mut seeds: Vec<(String, Vec<u8>)> = Vec::new();
    // Every client message kind, one frame each (the first of each tag).
    let clients = common::every_client_message();
    for tag in 0..ClientMessage::TAG_COUNT {
        let msg = *clients.iter().find(|m| m.tag() == tag).unwrap();
        seeds.push((
            format!("client-{}", msg.name()),
            frame(u64::from(tag) + 1, msg),
        ));
    }
    // Every server message kind: all the sample's messages of a tag, as
    // consecutive frames.
    let servers = common::every_server_message();
    for tag in 0..ServerMessage::TAG_COUNT {
        let of_tag: Vec<ServerMessage> =
            servers.iter().copied().filter(|m| m.tag() == tag).collect();
        let bytes = of_tag
            .iter()
            .enumerate()
            .flat_map(|(i, &m)| frame(i as u64 + 1, m))
            .collect();
        seeds.push((format!("server-{}", of_tag[0].name()), bytes));
    }
    let new_order = frame(
        2,
        ClientMessage::NewOrder(NewOrder {
            client_order_id: 7,
            instrument: 1,
            side: Side::Buy,
            price: 100,
            qty: 5,
            time_in_force: TimeInForce::Gtc,
        }),
    );
    let len = (new_order.len() - LEN_PREFIX) as u32;
    // A session's worth of frames, one of them undecodable in the middle.
    let mut session = frame(
        1,
        ClientMessage::Logon(Logon {
            account: 3,
            cancel_on_disconnect: false,
            password: [0; 32],
        }),
    );
    session.extend(&new_order);
    session.extend(frame(
        3,
        ClientMessage::Cancel(Cancel { client_order_id: 7 }),
    ));
    session.extend(with_prefix(frame(4, ClientMessage::Heartbeat), 13));
    session.push(0xee);
    session.extend(frame(5, ClientMessage::Logout));
    seeds.push(("session".into(), session));
    // Framing edge cases.
    seeds.push(("empty".into(), vec![]));
    seeds.push(("short-prefix".into(), vec![12, 0, 0]));
    seeds.push(("prefix-only".into(), vec![12, 0, 0, 0]));
    seeds.push((
        "too-large".into(),
        with_prefix(new_order.clone(), MAX_FRAME_LEN as u32 + 1),
    ));
    seeds.push((
        "largest-announced".into(),
        with_prefix(new_order.clone(), MAX_FRAME_LEN as u32),
    ));
    seeds.push((
        "truncated".into(),
        with_prefix(new_order[..new_order.len() - 1].to_vec(), len - 1),
    ));
    let mut trailing = with_prefix(new_order.clone(), len + 1);
    trailing.push(0);
    seeds.push(("trailing-byte".into(), trailing));
    let mut bad_tag = new_order.clone();
    bad_tag[LEN_PREFIX + 8] = 99;
    seeds.push(("unknown-tag".into(), bad_tag));
    // The side field follows the tag, the id and the instrument.
    let mut bad_side = new_order.clone();
    bad_side[LEN_PREFIX + 12 + 8 + 4] = 7;
    seeds.push(("bad-side".into(), bad_side));
    let mut bad_presence = frame(
        1,
        ServerMessage::TopOfBook(TopOfBook {
            instrument: 1,
            bid: None,
            ask: None,
        }),
    );
    bad_presence[LEN_PREFIX + 12 + 4] = 2;
    seeds.push(("bad-presence-flag".into(), bad_presence));
    // Bare payloads (no prefix), for the payload round trip.
    seeds.push(("payload-new-order".into(), new_order[LEN_PREFIX..].to_vec()));
    let top = frame(
        9,
        ServerMessage::TopOfBook(TopOfBook {
            instrument: 2,
            bid: Some(Level { price: -3, qty: 4 }),
            ask: None,
        }),
    );
    seeds.push(("payload-top-of-book".into(), top[LEN_PREFIX..].to_vec()));
    seeds
}

/// Rewrites the seed inputs of `wire_decode`:
/// `cargo test -p gateway --test fuzz_corpus -- --ignored write_seeds`.
#[test]
#[ignore = "writes files; run by hand to regenerate the seeds"]
fn write_seeds() {
    corpus::write_seeds(&corpus_dir(), &seeds());
}
