//! Bad input never crashes the gateway or touches another session.

#![allow(clippy::unwrap_used)] // a test that cannot set up should fail loudly

mod support;

use gateway::Gateway;
use gateway::protocol::{
    ClientMessage, DecodeErrorKind, LogoutReason, ServerMessage, SessionRejectReason, Side,
    TimeInForce,
};
use support::{Client, TempDir, config, slow_reader_config, start};

/// A healthy session on the same gateway still trades.
fn still_serves(gw: &Gateway, account: u32) {
    let mut c = Client::logon(gw.local_addr(), account);
    c.order(1, Side::Buy, 50, 1, TimeInForce::Ioc);
    c.expect("accepted", |m| matches!(m, ServerMessage::Accepted(_)));
}

#[test]
fn an_undecodable_frame_is_rejected_and_the_session_stays_up() {
    let dir = TempDir::new("badframe");
    let gw = start(&dir);
    let mut c = Client::logon(gw.local_addr(), 1);
    // seq 2, then an unknown message tag 99.
    let mut frame = Vec::new();
    frame.extend_from_slice(&12u32.to_le_bytes());
    frame.extend_from_slice(&2u64.to_le_bytes());
    frame.extend_from_slice(&99u32.to_le_bytes());
    c.send_raw(&frame);
    c.seq = 2;
    let ServerMessage::Reject(r) = c.expect("reject", |m| matches!(m, ServerMessage::Reject(_)))
    else {
        unreachable!()
    };
    assert_eq!(r.ref_seq, 2);
    assert_eq!(
        r.reason,
        SessionRejectReason::DecodeFailed(DecodeErrorKind::UnknownMessageTag)
    );
    c.order(5, Side::Buy, 50, 1, TimeInForce::Gtc);
    c.expect("accepted after the bad frame", |m| {
        matches!(m, ServerMessage::Accepted(_))
    });
    gw.shutdown().unwrap();
}

#[test]
fn an_oversized_length_prefix_closes_the_session_with_a_reason() {
    let dir = TempDir::new("oversized");
    let gw = start(&dir);
    let mut c = Client::logon(gw.local_addr(), 1);
    c.send_raw(&u32::MAX.to_le_bytes());
    c.expect(
        "logout",
        |m| matches!(m, ServerMessage::Logout(l) if l.reason == LogoutReason::FrameTooLarge),
    );
    assert!(c.closed());
    still_serves(&gw, 2);
    gw.shutdown().unwrap();
}

#[test]
fn a_message_before_logon_closes_the_session() {
    let dir = TempDir::new("nologon");
    let gw = start(&dir);
    let mut c = Client::connect(gw.local_addr());
    c.send(ClientMessage::Heartbeat);
    c.expect(
        "reject",
        |m| matches!(m, ServerMessage::Reject(r) if r.reason == SessionRejectReason::NotLoggedOn),
    );
    assert!(c.closed());
    gw.shutdown().unwrap();
}

#[test]
fn a_sequence_gap_is_reported_and_ends_the_session() {
    let dir = TempDir::new("gap");
    let gw = start(&dir);
    let mut c = Client::logon(gw.local_addr(), 1);
    c.send_with_seq(5, ClientMessage::Heartbeat);
    c.expect("gap", |m| matches!(m, ServerMessage::Reject(r) if r.reason == SessionRejectReason::SeqGap && r.ref_seq == 5));
    c.expect(
        "logout",
        |m| matches!(m, ServerMessage::Logout(l) if l.reason == LogoutReason::SeqGap),
    );
    assert!(c.closed());
    gw.shutdown().unwrap();
}

#[test]
fn random_bytes_and_half_frames_leave_the_gateway_serving() {
    let dir = TempDir::new("random");
    let gw = start(&dir);
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    for round in 0..20 {
        let mut c = Client::connect(gw.local_addr());
        if round % 2 == 0 {
            c.send(ClientMessage::Logon(gateway::protocol::Logon {
                account: 100 + round,
                cancel_on_disconnect: round % 4 == 0,
                password: [0; 32],
            }));
        }
        let bytes: Vec<u8> = (0..(round as usize * 37 % 300 + 1))
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        c.send_raw(&bytes);
        // Disconnect mid-frame: nothing of it may remain.
        drop(c);
    }
    still_serves(&gw, 1);
    gw.shutdown().unwrap();
}

#[test]
fn a_session_over_its_throttle_is_closed() {
    let dir = TempDir::new("throttle");
    let mut cfg = config(&dir);
    cfg.limits.max_msgs_per_sec = 20;
    let gw = Gateway::start(cfg).unwrap();
    let mut c = Client::logon(gw.local_addr(), 1);
    for _ in 0..100 {
        c.send(ClientMessage::Heartbeat);
    }
    c.expect(
        "logout",
        |m| matches!(m, ServerMessage::Logout(l) if l.reason == LogoutReason::Throttled),
    );
    assert!(c.closed());
    still_serves(&gw, 2);
    gw.shutdown().unwrap();
}

#[test]
fn a_client_that_stops_reading_is_closed_and_nobody_waits() {
    let dir = TempDir::new("slow");
    let gw = Gateway::start(slow_reader_config(&dir)).unwrap();
    // The slow client keeps sending orders but never reads a reply: its
    // replies back up through its tiny receive window into the gateway.
    let mut slow = Client::logon_with_small_receive_buffer(gw.local_addr(), 1);
    for i in 0..20_000u64 {
        slow.order(i, Side::Buy, 50 + (i % 40) as i64, 1, TimeInForce::Gtc);
    }
    let closed = slow.writes_fail();
    if !closed {
        let stats = gw.shutdown().unwrap();
        panic!("the slow reader was not closed: {stats:?}");
    }
    // Everyone else is served as before.
    still_serves(&gw, 2);
    let stats = gw.shutdown().unwrap();
    assert!(stats.sessions_closed_for_cause >= 1);
}
