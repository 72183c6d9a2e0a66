//! Orders belong to accounts, not connections: over real TCP, an account
//! that reconnects, or returns after a restart (clean or `kill -9`), cancels
//! and replaces its live orders by client order id and receives their
//! fills (docs/architecture.md, "Where ownership lives").

#![allow(clippy::unwrap_used)] // a test that cannot set up should fail loudly

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use gateway::Gateway;
use gateway::protocol::{
    Cancel, CancelReason, ClientMessage, OrderRejectReason, Replace, ReplayStatus,
    ReportReplayRequest, ServerMessage, Side, TimeInForce,
};
use support::{Client, GatewayProcess, TempDir, config, start};

fn accepted(client: &mut Client, coid: u64) -> u64 {
    let ServerMessage::Accepted(a) = client.expect(
        "accepted",
        |m| matches!(m, ServerMessage::Accepted(a) if a.order.client_order_id == coid),
    ) else {
        unreachable!()
    };
    a.order.order_id
}

fn cancel(client: &mut Client, coid: u64) {
    client.send(ClientMessage::Cancel(Cancel {
        client_order_id: coid,
    }));
}

/// The account's `Cancelled` for `coid`, with the quantity cancelled.
fn cancelled(client: &mut Client, coid: u64) -> u64 {
    let ServerMessage::Cancelled(x) = client.expect(
        "cancelled",
        |m| matches!(m, ServerMessage::Cancelled(x) if x.order.client_order_id == coid),
    ) else {
        unreachable!()
    };
    assert_eq!(x.reason, CancelReason::User);
    x.qty
}

/// Account 7's two resting sells: coid 1 at 101 and coid 2 at 105, 5 each.
fn place_two_sells(seven: &mut Client) {
    seven.order(1, Side::Sell, 101, 5, TimeInForce::Gtc);
    accepted(seven, 1);
    seven.order(2, Side::Sell, 105, 5, TimeInForce::Gtc);
    accepted(seven, 2);
}

/// `place_two_sells`, then a logout.
fn rest_two_sells(addr: SocketAddr) {
    let mut seven = Client::logon(addr, 7);
    place_two_sells(&mut seven);
    seven.send(ClientMessage::Logout);
    seven.expect("logout", |m| matches!(m, ServerMessage::Logout(_)));
}

/// What the new user tried: account 7 comes back, cancels one of
/// its orders by client order id, replaces the other, and gets the fill
/// when account 8 trades with it.
fn account_seven_comes_back(addr: SocketAddr) {
    let mut seven = Client::logon_again(addr, 7);
    cancel(&mut seven, 2);
    assert_eq!(cancelled(&mut seven, 2), 5);
    seven.send(ClientMessage::Replace(Replace {
        client_order_id: 1,
        price: 102,
        qty: 4,
    }));
    seven.expect(
        "replaced",
        |m| matches!(m, ServerMessage::Replaced(r) if r.order.client_order_id == 1 && r.qty == 4),
    );

    let mut eight = Client::logon(addr, 8);
    eight.order(1, Side::Buy, 102, 4, TimeInForce::Ioc);
    eight.expect("taker fill", |m| matches!(m, ServerMessage::Fill(_)));
    let ServerMessage::Fill(f) =
        seven.expect("maker fill", |m| matches!(m, ServerMessage::Fill(_)))
    else {
        unreachable!()
    };
    assert_eq!(
        (f.order.client_order_id, f.price, f.qty, f.leaves),
        (1, 102, 4, 0)
    );

    // Both orders have ended: their client order ids may be used again.
    seven.order(2, Side::Sell, 110, 1, TimeInForce::Gtc);
    accepted(&mut seven, 2);
    // A live one may not.
    seven.order(2, Side::Sell, 111, 1, TimeInForce::Gtc);
    let ServerMessage::Rejected(r) = seven.expect(
        "reject",
        |m| matches!(m, ServerMessage::Rejected(r) if r.order.client_order_id == 2),
    ) else {
        unreachable!()
    };
    assert_eq!(r.reason, OrderRejectReason::DuplicateClientOrderId);
}

#[test]
fn an_account_keeps_its_orders_across_a_reconnect() {
    let dir = TempDir::new("own-reconnect");
    let gw = start(&dir);
    rest_two_sells(gw.local_addr());
    account_seven_comes_back(gw.local_addr());
    gw.shutdown().unwrap();
}

#[test]
fn an_account_keeps_its_orders_across_a_dropped_connection() {
    // No logout: the connection just goes.
    let dir = TempDir::new("own-drop");
    let gw = start(&dir);
    let mut seven = Client::logon(gw.local_addr(), 7);
    place_two_sells(&mut seven);
    drop(seven);
    account_seven_comes_back(gw.local_addr());
    gw.shutdown().unwrap();
}

#[test]
fn an_account_keeps_its_orders_across_a_clean_restart() {
    let dir = TempDir::new("own-restart");
    let gw = start(&dir);
    rest_two_sells(gw.local_addr());
    gw.shutdown().unwrap();
    let gw = Gateway::start(config(&dir)).unwrap();
    account_seven_comes_back(gw.local_addr());
    gw.shutdown().unwrap();
    // And again from the snapshot that shutdown wrote, not only the journal.
    let gw = Gateway::start(config(&dir)).unwrap();
    let mut seven = Client::logon_again(gw.local_addr(), 7);
    cancel(&mut seven, 2);
    assert_eq!(cancelled(&mut seven, 2), 1);
    gw.shutdown().unwrap();
}

/// The gateway binary on a free port, journaling to `dir` with `fsync`,
/// snapshotting every 1,000 commands.
fn spawn_gateway(dir: &TempDir) -> (GatewayProcess, SocketAddr) {
    let args = [
        "--durability",
        "fsync",
        "--snapshot-every",
        "1000",
        // Ownership, not authentication, is what this file tests.
        "--insecure-no-auth",
    ];
    let gw = support::spawn_gateway(&dir.0, &args, &[]).unwrap();
    let addr = gw.addr;
    (gw, addr)
}

/// `kill -9` with another account trading hard on another instrument: every
/// order account 7 saw acknowledged is its own after recovery, by client
/// order id, with its open quantity; the one that was partly filled before
/// the crash has the rest open.
#[test]
fn an_account_keeps_its_orders_across_kill_9_under_load() {
    let dir = TempDir::new("own-kill9");
    let (mut child, addr) = spawn_gateway(&dir);

    // Load: account 9 crosses its own prices on instrument 2 (self-trade
    // prevention cancels, so every order is work for the engine), in
    // bursts of 64 without waiting for answers (up to 32k orders/s), until
    // the gateway dies.
    let load = std::thread::spawn(move || {
        let mut nine = Client::logon(addr, 9);
        let mut coid = 0u64;
        loop {
            let mut burst = Vec::new();
            for _ in 0..64 {
                coid += 1;
                let side = if coid.is_multiple_of(2) {
                    Side::Buy
                } else {
                    Side::Sell
                };
                burst.extend(
                    nine.frame(ClientMessage::NewOrder(gateway::protocol::NewOrder {
                        client_order_id: coid,
                        instrument: 2,
                        side,
                        price: 100 + (coid % 7) as i64,
                        qty: 1,
                        time_in_force: TimeInForce::Gtc,
                    })),
                );
            }
            if std::io::Write::write_all(&mut nine.stream, &burst).is_err() {
                return coid;
            }
            while nine.recv_now().is_some() {}
            // Load, not a flood: unpaced, a debug gateway on a busy machine
            // fell seconds behind, and account 7's acks waited behind it.
            std::thread::sleep(Duration::from_millis(2));
        }
    });

    let mut seven = Client::logon(addr, 7);
    for coid in 1..=50u64 {
        seven.order(
            coid,
            Side::Sell,
            150 + (coid % 5) as i64,
            10,
            TimeInForce::Gtc,
        );
        accepted(&mut seven, coid);
    }
    // Account 8 takes 23 lots at 150, oldest first: coids 5 and 10 fill
    // whole, 15 keeps 7.
    let mut eight = Client::logon(addr, 8);
    eight.order(1, Side::Buy, 150, 23, TimeInForce::Ioc);
    let mut filled = 0;
    while filled < 23 {
        if let ServerMessage::Fill(f) =
            seven.expect("maker fill", |m| matches!(m, ServerMessage::Fill(_)))
        {
            filled += f.qty;
        }
    }
    std::thread::sleep(Duration::from_millis(200));
    child.child.kill().unwrap(); // SIGKILL
    child.child.wait().unwrap();
    let sent = load.join().unwrap();
    assert!(sent > 64, "the load ran ({sent} orders)");
    recovery_starts_from_the_newest_usable_snapshot(&dir);

    let gw = Gateway::start(config(&dir)).unwrap();
    let mut seven = Client::logon_again(gw.local_addr(), 7);
    // Its history, recovered: every report it was sent before the crash,
    // equal to what a run of the journal's commands says happened to its
    // orders (what `journal export | replay` computes).
    let history = report_history(&mut seven);
    assert_eq!(history, account_story_from_journal(&dir.0, 7));
    assert_eq!(history.iter().filter(|r| r.0 == 'A').count(), 50);
    let fills: Vec<u64> = history.iter().filter(|r| r.0 == 'F').map(|r| r.2).collect();
    assert_eq!(fills, [10, 10, 3]);
    for coid in 1..=50u64 {
        cancel(&mut seven, coid);
    }
    // Each cancel is answered: a `Cancelled` with the open quantity, or a
    // reject for the two orders that had filled.
    let mut open = std::collections::BTreeMap::new();
    let mut unknown = Vec::new();
    while open.len() + unknown.len() < 50 {
        match seven.recv() {
            Some(ServerMessage::Cancelled(x)) => {
                assert_eq!(x.reason, CancelReason::User);
                open.insert(x.order.client_order_id, x.qty);
            }
            Some(ServerMessage::Rejected(r)) => {
                assert_eq!(r.reason, OrderRejectReason::UnknownClientOrderId);
                unknown.push(r.order.client_order_id);
            }
            Some(_) => {}
            None => panic!("answers stopped: {open:?}, unknown {unknown:?}"),
        }
    }
    unknown.sort();
    assert_eq!(unknown, [5, 10], "the filled orders are gone");
    assert_eq!(open.len(), 48);
    assert_eq!(open[&15], 7, "the partly filled order kept its rest");
    assert!(
        open.iter().all(|(&coid, &qty)| coid == 15 || qty == 10),
        "{open:?}"
    );
    gw.shutdown().unwrap();
}

/// (kind, engine order id, quantity) of a report: `A`ccepted, `F`ill,
/// `C`ancelled, re`J`ected, `R`eplaced.
type Told = (char, u64, u64);

/// Every report of the session's account before its logon, asked for with
/// `ReportReplayRequest` until the answer is complete.
fn report_history(client: &mut Client) -> Vec<Told> {
    let mut after = (0, 0);
    let mut told = Vec::new();
    loop {
        client.send(ClientMessage::ReportReplayRequest(ReportReplayRequest {
            after_seq: after.0,
            after_index: after.1,
        }));
        let end = loop {
            match client.recv() {
                Some(ServerMessage::ReportReplayEnd(end)) => break end,
                Some(ServerMessage::Accepted(a)) => told.push(('A', a.order.order_id, 0)),
                Some(ServerMessage::Fill(f)) => told.push(('F', f.order.order_id, f.qty)),
                Some(ServerMessage::Cancelled(c)) => told.push(('C', c.order.order_id, c.qty)),
                Some(ServerMessage::Rejected(r)) => told.push(('J', r.order.order_id, 0)),
                Some(ServerMessage::Replaced(r)) => told.push(('R', r.order.order_id, r.qty)),
                Some(_) => {}
                None => panic!("no ReportReplayEnd"),
            }
        };
        match end.status {
            ReplayStatus::Complete => return told,
            ReplayStatus::More => after = (end.resume_seq, end.resume_index),
            other => panic!("the replay ended {other:?}"),
        }
    }
}

/// What happened to `account`'s orders, from the journal alone: its
/// commands run through a fresh engine (`journal export | replay` in
/// process), each event about one of its orders as a report would tell it.
fn account_story_from_journal(dir: &std::path::Path, account: u32) -> Vec<Told> {
    let mut engine = matching::Engine::new(matching::EngineConfig::default()).unwrap();
    for spec in journal::read_instruments(dir).unwrap() {
        engine.add_instrument(spec).unwrap();
    }
    let mut mine = std::collections::HashSet::new();
    let mut told = Vec::new();
    let mut events = Vec::new();
    journal::read_journal(dir, 0, |rec| {
        if let matching::Command::New { id, account: a, .. }
        | matching::Command::Market { id, account: a, .. } = rec.command
            && a == account
        {
            mine.insert(id);
        }
        events.clear();
        engine.execute(&rec.command, &mut events);
        for event in &events {
            match *event {
                matching::Event::Accepted { id, .. } if mine.contains(&id) => {
                    told.push(('A', id, 0))
                }
                matching::Event::Rejected { id, .. } if mine.contains(&id) => {
                    told.push(('J', id, 0))
                }
                matching::Event::Cancelled { id, qty, .. } if mine.contains(&id) => {
                    told.push(('C', id, qty))
                }
                matching::Event::Replaced { id, qty, .. } if mine.contains(&id) => {
                    told.push(('R', id, qty))
                }
                matching::Event::Trade {
                    taker, maker, qty, ..
                } => {
                    for id in [taker, maker] {
                        if mine.contains(&id) {
                            told.push(('F', id, qty));
                        }
                    }
                }
                _ => {}
            }
        }
    })
    .unwrap();
    told
}

/// What the gateway's start will do with the journal a `kill -9` left,
/// done first on a copy: recovery starts from the newest snapshot taken
/// while trading that the journal covers (a newer one may be ahead of what
/// was durable, and is passed over), and replays only the records after it.
fn recovery_starts_from_the_newest_usable_snapshot(dir: &TempDir) {
    let copy = TempDir::new("own-kill9-copy");
    let mut snapshots = Vec::new();
    for entry in std::fs::read_dir(&dir.0).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), copy.0.join(entry.file_name())).unwrap();
        }
        let name = entry.file_name().into_string().unwrap();
        if let Some(seq) = name
            .strip_prefix("snapshot-")
            .and_then(|n| n.strip_suffix(".snap"))
        {
            snapshots.push(seq.parse::<u64>().unwrap());
        }
    }
    assert!(!snapshots.is_empty(), "no snapshot was taken under load");
    let config = support::config(&copy).pipeline.engine;
    let (_, recovered) = journal::recover(&copy.0, config).unwrap();
    let newest_covered = snapshots
        .iter()
        .copied()
        .filter(|&s| s <= recovered.last_seq)
        .max();
    assert_eq!(
        recovered.snapshot.as_ref().map(|s| s.1),
        newest_covered,
        "snapshots {snapshots:?}, recovered {recovered:?}"
    );
    assert_eq!(
        recovered.replayed,
        recovered.last_seq - newest_covered.unwrap_or(0)
    );
}
