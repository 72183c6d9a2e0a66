//! The session rules of docs/protocol.md, each checked over loopback TCP
//! against a running gateway: what the document says the gateway sends is
//! what arrives, in that order.

#![allow(clippy::unwrap_used)] // a test that cannot set up should fail loudly

mod support;

use std::time::Duration;

use gateway::Gateway;
use gateway::protocol::{
    ClientMessage, Logon, LogoutReason, ServerMessage, SessionRejectReason, Side, TimeInForce,
};
use support::{Client, SLOW_READER_AFTER, TempDir, config, slow_reader_config};

/// Sends `n` heartbeats in one write, so the gateway sees them at once.
fn flood(c: &mut Client, n: usize) {
    let mut bytes = Vec::new();
    for _ in 0..n {
        bytes.extend(c.frame(ClientMessage::Heartbeat));
    }
    c.send_raw(&bytes);
}

/// Every message until the connection closes (or 5 s of silence).
fn until_closed(c: &mut Client) -> Vec<ServerMessage> {
    std::iter::from_fn(|| c.recv()).collect()
}

fn is_throttled_reject(m: &ServerMessage) -> bool {
    matches!(m, ServerMessage::Reject(r) if r.reason == SessionRejectReason::Throttled)
}

struct ThrottleCase {
    what: &'static str,
    /// `--throttle`.
    limit: u32,
    /// Heartbeats sent at once after the logon.
    frames: usize,
    /// How many `Reject { THROTTLED }` may arrive (the logon took a token,
    /// and the bucket may refill by one while the test runs).
    rejects: std::ops::RangeInclusive<usize>,
    /// Whether the flood ends the session with `Logout { THROTTLED }`.
    logout: bool,
}

/// docs/protocol.md, "Throttle": a frame over the limit gets
/// `Reject { THROTTLED }` and the session goes on; a client far beyond the
/// limit (here: over twice it) gets a last `Reject { THROTTLED }`, then
/// `Logout { THROTTLED }`; and a limit of 0 is no throttle.
#[test]
fn the_throttle_rejects_before_it_logs_out_and_zero_is_none() {
    let cases = [
        ThrottleCase {
            what: "a little over the limit",
            limit: 20,
            frames: 30,
            rejects: 10..=11,
            logout: false,
        },
        ThrottleCase {
            what: "far over the limit",
            limit: 20,
            frames: 100,
            rejects: 21..=22,
            logout: true,
        },
        ThrottleCase {
            what: "no throttle",
            limit: 0,
            frames: 5_000,
            rejects: 0..=0,
            logout: false,
        },
    ];
    for case in cases {
        let dir = TempDir::new("throttle-rules");
        let mut cfg = config(&dir);
        cfg.limits.max_msgs_per_sec = case.limit;
        let gw = Gateway::start(cfg).unwrap();
        let mut c = Client::connect(gw.local_addr());
        c.send(ClientMessage::Logon(Logon {
            account: 1,
            cancel_on_disconnect: false,
            password: [0; 32],
        }));
        match c.recv() {
            Some(ServerMessage::LogonAck(ack)) => {
                assert_eq!(ack.max_msgs_per_sec, case.limit, "{}", case.what);
            }
            other => panic!("{}: expected LogonAck, got {other:?}", case.what),
        }
        flood(&mut c, case.frames);
        let seen = if case.logout {
            until_closed(&mut c)
        } else {
            // Let the bucket refill, then an order must be served.
            std::thread::sleep(Duration::from_millis(1_100));
            c.order(1, Side::Buy, 50, 1, TimeInForce::Ioc);
            let mut seen = Vec::new();
            loop {
                match c.recv() {
                    Some(ServerMessage::Accepted(_)) => break seen,
                    Some(m) => seen.push(m),
                    None => panic!("{}: no answer to the order; got {seen:?}", case.what),
                }
            }
        };
        let rejects = seen.iter().filter(|m| is_throttled_reject(m)).count();
        assert!(
            case.rejects.contains(&rejects),
            "{}: {rejects} throttled rejects, expected {:?}",
            case.what,
            case.rejects
        );
        let logout = seen.iter().position(
            |m| matches!(m, ServerMessage::Logout(l) if l.reason == LogoutReason::Throttled),
        );
        assert_eq!(logout.is_some(), case.logout, "{}: {seen:?}", case.what);
        if let Some(at) = logout {
            assert_eq!(
                at,
                seen.len() - 1,
                "{}: the logout is the last message",
                case.what
            );
            assert!(
                at > 0 && is_throttled_reject(&seen[at - 1]),
                "{}: a Reject {{ THROTTLED }} comes first",
                case.what
            );
        }
        // Every reject names a frame of the flood, in order.
        let ref_seqs: Vec<u64> = seen
            .iter()
            .filter_map(|m| match m {
                ServerMessage::Reject(r) => Some(r.ref_seq),
                _ => None,
            })
            .collect();
        assert!(
            ref_seqs.windows(2).all(|w| w[1] == w[0] + 1),
            "{}",
            case.what
        );
        gw.shutdown().unwrap();
    }
}

/// Connects, sends `Logon { account }`, and returns the first answer.
fn logon_answer(gw: &Gateway, account: u32) -> (Client, Option<ServerMessage>) {
    let mut c = Client::connect(gw.local_addr());
    c.send(ClientMessage::Logon(Logon {
        account,
        cancel_on_disconnect: false,
        password: [0; 32],
    }));
    let answer = c.recv();
    (c, answer)
}

/// docs/protocol.md, "LogonRejectReason": each refusal the gateway sends,
/// in the case the document gives, and then the connection is closed.
#[test]
fn each_logon_refusal_is_sent_in_its_documented_case_then_closed() {
    use gateway::protocol::LogonRejectReason as R;
    let dir = TempDir::new("logon-refusals");
    let mut cfg = config(&dir);
    cfg.max_sessions = 2;
    let gw = Gateway::start(cfg).unwrap();
    let _first = Client::logon(gw.local_addr(), 1);

    let cases: [(&str, u32, R); 2] = [
        ("account 0 is no account", 0, R::UnknownAccount),
        ("account 1 has a session", 1, R::AccountInUse),
    ];
    for (what, account, reason) in cases {
        let (mut c, answer) = logon_answer(&gw, account);
        assert!(
            matches!(answer, Some(ServerMessage::LogonReject(r)) if r.reason == reason),
            "{what}: {answer:?}"
        );
        assert!(c.closed(), "{what}: closed after the refusal");
        drop(c);
    }

    // A logon with seq 2.
    let mut c = Client::connect(gw.local_addr());
    c.send_with_seq(
        2,
        ClientMessage::Logon(Logon {
            account: 3,
            cancel_on_disconnect: false,
            password: [0; 32],
        }),
    );
    let answer = c.recv();
    assert!(
        matches!(answer, Some(ServerMessage::LogonReject(r)) if r.reason == R::BadSequence),
        "bad sequence: {answer:?}"
    );
    assert!(c.closed());
    drop(c);
    // The refused connections are gone once their clients close too.
    std::thread::sleep(Duration::from_millis(200));

    // The second session fits; a third does not, and is told so.
    let _second = Client::logon(gw.local_addr(), 2);
    let (mut c, answer) = logon_answer(&gw, 4);
    assert!(
        matches!(answer, Some(ServerMessage::LogonReject(r)) if r.reason == R::SessionLimit),
        "session limit: {answer:?}"
    );
    assert!(c.closed(), "closed after SESSION_LIMIT");
    // Without even a logon, the answer is the same.
    let mut c = Client::connect(gw.local_addr());
    let answer = c.recv();
    assert!(
        matches!(answer, Some(ServerMessage::LogonReject(r)) if r.reason == R::SessionLimit),
        "session limit before a logon: {answer:?}"
    );
    assert!(c.closed());
    // Refused connections do not use up the limit: once a session leaves,
    // another may log on.
    drop(_second);
    std::thread::sleep(Duration::from_millis(200));
    let _third = Client::logon(gw.local_addr(), 5);
    gw.shutdown().unwrap();
}

/// docs/protocol.md, "Slow readers": a client that sends without reading
/// is pushed back (the gateway reads no more of its orders), and when it
/// has read nothing for a heartbeat interval it gets `Logout { SLOW_READER }`
/// after everything queued before it, then the connection closes; nothing
/// follows the logout.
#[test]
fn a_slow_reader_is_told_so_before_the_close() {
    let dir = TempDir::new("slow-reader-logout");
    let gw = Gateway::start(slow_reader_config(&dir)).unwrap();
    let mut slow = Client::logon_with_small_receive_buffer(gw.local_addr(), 1);
    // Far more replies than the buffers hold, sent without reading.
    let bytes = slow.resting_bids(5_000);
    let writer = slow.writer();
    let sending = std::thread::spawn(move || writer.send_raw(&bytes));
    // Not reading for longer than the gateway waits. The client must then
    // read within the logout grace to get the logout.
    std::thread::sleep(SLOW_READER_AFTER + Duration::from_millis(300));
    let seen = until_closed(&mut slow);
    sending.join().unwrap();
    let last = seen.last();
    assert!(
        matches!(last, Some(ServerMessage::Logout(l)) if l.reason == LogoutReason::SlowReader),
        "the last message is the logout: {:?} ({} messages)",
        last,
        seen.len()
    );
    assert!(seen.len() < 5_000, "the client was cut off: {}", seen.len());
    let stats = gw.shutdown().unwrap();
    assert!(stats.sessions_closed_for_cause >= 1);
}

/// docs/protocol.md, "Slow readers": a client that stops reading for less
/// than a heartbeat interval is pushed back, not closed: when it reads
/// again, every order it sent is answered, in order. Its replies are
/// ten times what its outbound buffer holds, so without the push-back it
/// would have been closed as a slow reader.
#[test]
fn a_client_that_pauses_reading_is_pushed_back_and_answered_in_full() {
    let dir = TempDir::new("push-back");
    let gw = Gateway::start(slow_reader_config(&dir)).unwrap();
    let mut client = Client::logon_with_small_receive_buffer(gw.local_addr(), 1);
    // Under the test books' 4,096 orders.
    const ORDERS: u64 = 4_000;
    let bytes = client.resting_bids(ORDERS);
    let writer = client.writer();
    // The sends block while the gateway pushes back: from another thread.
    let sending = std::thread::spawn(move || writer.send_raw(&bytes));
    std::thread::sleep(SLOW_READER_AFTER / 4);
    let mut next = 0;
    while next < ORDERS {
        match client.recv() {
            Some(ServerMessage::Accepted(a)) => {
                assert_eq!(a.order.client_order_id, next, "answered in order");
                next += 1;
            }
            Some(ServerMessage::Heartbeat) => {}
            other => panic!("after {next} acceptances: {other:?}"),
        }
    }
    sending.join().unwrap();
    client.send(ClientMessage::Heartbeat);
    let stats = gw.shutdown().unwrap();
    assert_eq!(stats.sessions_closed_for_cause, 0, "{stats:?}");
}
