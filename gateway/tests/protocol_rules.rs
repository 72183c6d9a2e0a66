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
use support::{Client, TempDir, config};

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
        c.send(ClientMessage::Logon(Logon { account: 1 }));
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
