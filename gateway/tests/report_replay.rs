//! Recovering missed reports (docs/protocol.md, "Recovering missed
//! reports"): over real TCP, a returning account asks for every report
//! after the last execution id it saw and gets, in order, exactly the
//! reports it missed: fills while it was away, the cancels of its
//! cancel-on-disconnect, across a gateway restart, in answers of at most
//! `MAX_REPLAY_REPORTS`, and a clear `NOT_RETAINED` once retention has
//! removed the start of what it asks for.

#![allow(clippy::unwrap_used)] // a test that cannot set up should fail loudly

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use gateway::Gateway;
use gateway::protocol::{
    CancelReason, ClientMessage, MAX_REPLAY_REPORTS, ReplayStatus, ReportReplayEnd,
    ReportReplayRequest, ServerMessage, Side, TimeInForce,
};
use journal::SegmentRetention;
use support::{Client, TempDir, config, start};

/// An execution report's id.
fn id_of(msg: &ServerMessage) -> (u64, u32) {
    let exec = msg.exec().unwrap();
    (exec.seq, exec.index)
}

/// Asks for the reports after `after`; returns them and the end. Reports
/// that came live meanwhile (routed after the session's logon, so never in
/// a replay) are left out.
fn replay(client: &mut Client, after: (u64, u32)) -> (Vec<ServerMessage>, ReportReplayEnd) {
    let (live, replayed, end) = replay_and_live(client, after);
    assert!(live.is_empty(), "live meanwhile: {live:?}");
    (replayed, end)
}

/// As `replay`, also returning the reports that came live before the
/// answer (the answer's reports are contiguous, just before its end).
fn replay_and_live(
    client: &mut Client,
    after: (u64, u32),
) -> (Vec<ServerMessage>, Vec<ServerMessage>, ReportReplayEnd) {
    client.send(ClientMessage::ReportReplayRequest(ReportReplayRequest {
        after_seq: after.0,
        after_index: after.1,
    }));
    let mut reports = Vec::new();
    loop {
        match client.recv() {
            Some(ServerMessage::ReportReplayEnd(end)) => {
                let live = reports.len() - end.count as usize;
                let replayed = reports.split_off(live);
                return (reports, replayed, end);
            }
            Some(m) if m.exec().is_some() => reports.push(m),
            Some(_) => {}
            None => panic!("no ReportReplayEnd after {} reports", reports.len()),
        }
    }
}

/// Every report after `after`, asking again while the answer says `More`.
fn replay_all(client: &mut Client, mut after: (u64, u32)) -> Vec<ServerMessage> {
    let mut all = Vec::new();
    loop {
        let (reports, end) = replay(client, after);
        all.extend(reports);
        match end.status {
            ReplayStatus::Complete => return all,
            ReplayStatus::More => after = (end.resume_seq, end.resume_index),
            other => panic!("replay ended {other:?}"),
        }
    }
}

/// Execution reports until `n` have come (heartbeats and market data skipped).
fn reports(client: &mut Client, n: usize) -> Vec<ServerMessage> {
    let mut got = Vec::new();
    while got.len() < n {
        let m = client
            .recv()
            .unwrap_or_else(|| panic!("only {} of {n} reports", got.len()));
        if m.exec().is_some() {
            got.push(m);
        }
    }
    got
}

fn logon_cod(addr: SocketAddr, account: u32) -> Client {
    let mut c = Client::connect(addr);
    c.send_logon(account, true);
    c.expect("logon ack", |m| matches!(m, ServerMessage::LogonAck(_)));
    c
}

fn logout(mut client: Client) {
    client.send(ClientMessage::Logout);
    client.expect("logout", |m| matches!(m, ServerMessage::Logout(_)));
}

/// Account 8 sends an IOC buy of `qty` at `price` and waits for its end.
fn lift(eight: &mut Client, coid: u64, price: i64, qty: u64) {
    eight.order(coid, Side::Buy, price, qty, TimeInForce::Ioc);
    eight.expect(
        "the IOC's end",
        |m| matches!(m, ServerMessage::Cancelled(c) if c.order.client_order_id == coid)
            || matches!(m, ServerMessage::Fill(f) if f.order.client_order_id == coid && f.leaves == 0),
    );
}

/// The scenario of the issue: account 7 rests orders, leaves, is filled
/// while away, comes back with cancel-on-disconnect and drops, and then
/// the gateway restarts. Each time it comes back it asks for what it
/// missed, and gets exactly that: the reports a session connected
/// throughout would have had, in order, with the same execution ids.
#[test]
fn an_account_gets_every_report_it_missed_in_order_across_reconnects_and_a_restart() {
    let dir = TempDir::new("replay-missed");
    let gw = start(&dir);
    let addr = gw.local_addr();
    let mut eight = Client::logon(addr, 8);

    // 1. Connected: three resting sells (3 accepted) and one partial fill.
    let mut seven = Client::logon(addr, 7);
    for (coid, price) in [(1, 101), (2, 102), (3, 103)] {
        seven.order(coid, Side::Sell, price, 5, TimeInForce::Gtc);
    }
    let mut seen = reports(&mut seven, 3);
    lift(&mut eight, 100, 101, 2);
    seen.extend(reports(&mut seven, 1));
    let last_seen = id_of(seen.last().unwrap());
    // Nothing is missed: the replay after the last report is empty.
    let (none, end) = replay(&mut seven, last_seen);
    assert!(none.is_empty());
    assert_eq!(end.status, ReplayStatus::Complete);
    assert_eq!((end.resume_seq, end.resume_index), last_seen);
    logout(seven);

    // 2. Away: fills on coid 1 (its rest) and coid 2 (all of it).
    lift(&mut eight, 101, 102, 8);

    // 3. Back, with cancel-on-disconnect: the replay after the last report
    // seen is the two fills, with the leaves as they were.
    let mut seven = logon_cod(addr, 7);
    let missed = replay_all(&mut seven, last_seen);
    let fills: Vec<(u64, u64, u64)> = missed
        .iter()
        .map(|m| match m {
            ServerMessage::Fill(f) => (f.order.client_order_id, f.qty, f.leaves),
            other => panic!("expected fills, got {other:?}"),
        })
        .collect();
    assert_eq!(fills, [(1, 3, 0), (2, 5, 0)]);
    assert!(missed.windows(2).all(|w| id_of(&w[0]) < id_of(&w[1])));
    seen.extend(missed);
    // It drops the connection: cancel-on-disconnect cancels coid 3.
    drop(seven);

    // 4. Back again: the cancel it could not receive is replayed, or, if
    // the gateway made it after this logon, came live (never both).
    let mut seven = Client::logon_again(addr, 7);
    let (live, mut missed, end) = replay_and_live(&mut seven, id_of(seen.last().unwrap()));
    assert_eq!(end.status, ReplayStatus::Complete);
    if missed.is_empty() && live.is_empty() {
        missed = reports(&mut seven, 1);
    }
    missed.extend(live);
    match missed.as_slice() {
        [ServerMessage::Cancelled(c)] => {
            assert_eq!((c.order.client_order_id, c.qty), (3, 5));
            assert_eq!(c.reason, CancelReason::User);
        }
        other => panic!("expected coid 3's cancel, got {other:?}"),
    }
    seen.extend(missed);
    drop(seven);
    drop(eight);

    // 5. After a restart the history is the same, ids and times included.
    gw.shutdown().unwrap();
    let gw = start(&dir);
    let mut seven = Client::logon(gw.local_addr(), 7);
    assert_eq!(replay_all(&mut seven, (0, 0)), seen);
    // From the middle: the suffix.
    let mid = id_of(&seen[2]);
    assert_eq!(replay_all(&mut seven, mid), seen[3..]);
    drop(seven);
    gw.shutdown().unwrap();
}

/// A report routed while the account is logged on reaches it live, and is
/// not replayed to it: replay and live never overlap.
#[test]
fn reports_after_logon_come_live_and_are_not_replayed() {
    let dir = TempDir::new("replay-boundary");
    let gw = start(&dir);
    let mut seven = Client::logon(gw.local_addr(), 7);
    seven.order(1, Side::Sell, 101, 5, TimeInForce::Gtc);
    let live = reports(&mut seven, 1);
    let (replayed, end) = replay(&mut seven, (0, 0));
    assert!(replayed.is_empty(), "{replayed:?}");
    assert_eq!(end.status, ReplayStatus::Complete);
    drop(seven);
    let mut seven = Client::logon_again(gw.local_addr(), 7);
    assert_eq!(replay_all(&mut seven, (0, 0)), live);
    drop(seven);
    gw.shutdown().unwrap();
}

/// A second request while the first is with the replay thread is answered
/// `BUSY`; the first is answered in full.
#[test]
fn a_second_request_while_one_is_under_way_is_busy() {
    let dir = TempDir::new("replay-busy");
    let gw = start(&dir);
    let mut seven = Client::logon(gw.local_addr(), 7);
    seven.order(1, Side::Sell, 101, 5, TimeInForce::Gtc);
    reports(&mut seven, 1);
    drop(seven);
    let mut seven = Client::logon_again(gw.local_addr(), 7);
    // Both requests in one write: the gateway reads them in one turn, so
    // the second arrives while the first is with the thread.
    let ask = ClientMessage::ReportReplayRequest(ReportReplayRequest {
        after_seq: 0,
        after_index: 0,
    });
    let mut bytes = seven.frame(ask);
    bytes.extend(seven.frame(ask));
    seven.send_raw(&bytes);
    let mut ends = Vec::new();
    let mut got = 0;
    while ends.len() < 2 {
        match seven.recv() {
            Some(ServerMessage::ReportReplayEnd(end)) => ends.push(end.status),
            Some(m) if m.exec().is_some() => got += 1,
            Some(_) => {}
            None => panic!("ends so far: {ends:?}"),
        }
    }
    assert_eq!(ends, [ReplayStatus::Busy, ReplayStatus::Complete]);
    assert_eq!(got, 1);
    drop(seven);
    gw.shutdown().unwrap();
}

/// More than `MAX_REPLAY_REPORTS` missed: they come in answers of at most
/// that many, `MORE` until the last, and together equal what a connected
/// session received.
#[test]
fn a_long_history_comes_in_bounded_answers() {
    let dir = TempDir::new("replay-more");
    let gw = start(&dir);
    let mut seven = Client::logon(gw.local_addr(), 7);
    // IOCs against an empty book: an accept and an expiry each.
    let orders = MAX_REPLAY_REPORTS as u64 / 2 + 300;
    let mut live = Vec::new();
    for chunk in (0..orders).collect::<Vec<_>>().chunks(200) {
        for &coid in chunk {
            seven.order(coid + 1, Side::Buy, 100, 1, TimeInForce::Ioc);
        }
        live.extend(reports(&mut seven, 2 * chunk.len()));
    }
    drop(seven);
    let mut seven = Client::logon_again(gw.local_addr(), 7);
    let (first, end) = replay(&mut seven, (0, 0));
    assert_eq!(end.status, ReplayStatus::More);
    assert!(first.len() >= MAX_REPLAY_REPORTS as usize);
    assert_eq!(
        (end.resume_seq, end.resume_index),
        id_of(first.last().unwrap())
    );
    let rest = replay_all(&mut seven, (end.resume_seq, end.resume_index));
    assert_eq!(first.len() + rest.len(), live.len());
    assert!(first.iter().chain(&rest).eq(live.iter()));
    drop(seven);
    gw.shutdown().unwrap();
}

/// Once retention has removed the start of what is asked, the answer is
/// `NOT_RETAINED` with where history now begins; asking after that gives
/// the rest, equal to what was received live.
#[test]
fn a_replay_from_before_the_retained_history_says_where_it_begins() {
    let dir = TempDir::new("replay-retained");
    let mut cfg = config(&dir);
    cfg.pipeline.snapshot_every = Some(100);
    cfg.pipeline.journal.segment_bytes = 8 * 1024;
    cfg.pipeline.retain_segments = SegmentRetention::Delete;
    let gw = Gateway::start(cfg).unwrap();
    let mut seven = Client::logon(gw.local_addr(), 7);
    let mut live = Vec::new();
    // Paced, so the snapshot thread keeps up and retires segments.
    for round in 0..12u64 {
        for i in 0..50 {
            seven.order(round * 50 + i + 1, Side::Buy, 100, 1, TimeInForce::Ioc);
        }
        live.extend(reports(&mut seven, 100));
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(seven);
    // The snapshot thread retires segments after it writes: give it time.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while journal::first_retained_seq(&dir.0).unwrap().unwrap() == 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "no segment was retired"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut seven = Client::logon_again(gw.local_addr(), 7);
    let (none, end) = replay(&mut seven, (0, 0));
    assert!(none.is_empty());
    assert_eq!(end.status, ReplayStatus::NotRetained);
    assert_eq!(end.resume_index, u32::MAX);
    assert!(end.resume_seq > 0);
    let rest = replay_all(&mut seven, (end.resume_seq, end.resume_index));
    let expected: Vec<&ServerMessage> = live
        .iter()
        .filter(|m| id_of(m).0 > end.resume_seq)
        .collect();
    assert!(!expected.is_empty());
    assert!(rest.iter().eq(expected.iter().copied()));
    drop(seven);
    gw.shutdown().unwrap();
}
