//! Market data over real TCP: depth by price level as a snapshot and
//! numbered updates, rebuilt by subscribers that join mid-stream, one of
//! which loses an update and must notice; unsubscribe. The books the
//! subscribers build are checked against the engine's own, recovered from
//! the journal after the run.

#![allow(clippy::unwrap_used)] // a test that cannot set up should fail loudly

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use gateway::protocol::{
    ClientMessage, MAX_DEPTH, NewOrder, Reject, Replace, ServerMessage, SessionRejectReason, Side,
    Subscribe, TimeInForce, Unsubscribe,
};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;
use support::{Client, TempDir, config, start};

const INSTRUMENT: u32 = 1;

/// A subscriber's copy of one instrument's book, from the depth feed.
struct DepthWatcher {
    client: Client,
    depth: u16,
    /// Bids and asks: price → qty.
    book: [BTreeMap<i64, u64>; 2],
    /// The number of the last state applied; `None` until a snapshot.
    seq: Option<u64>,
    /// Levels of the current snapshot still to come.
    snapshot_left: u32,
    gaps: u32,
    /// Drop the next update, as a lossy link would.
    lose_next: bool,
}

fn side_index(side: Side) -> usize {
    usize::from(side == Side::Sell)
}

impl DepthWatcher {
    fn subscribe(addr: std::net::SocketAddr, account: u32, depth: u16) -> DepthWatcher {
        let mut w = DepthWatcher {
            client: Client::logon(addr, account),
            depth,
            book: Default::default(),
            seq: None,
            snapshot_left: 0,
            gaps: 0,
            lose_next: false,
        };
        w.resubscribe();
        w
    }

    fn resubscribe(&mut self) {
        self.seq = None;
        self.client.send(ClientMessage::Subscribe(Subscribe {
            instrument: INSTRUMENT,
            depth: self.depth,
        }));
    }

    fn apply(&mut self, msg: ServerMessage) {
        match msg {
            ServerMessage::BookSnapshot(s) => {
                assert_eq!(s.instrument, INSTRUMENT);
                assert!(s.bids <= u32::from(self.depth) && s.asks <= u32::from(self.depth));
                self.book = Default::default();
                self.seq = Some(s.seq);
                self.snapshot_left = s.bids + s.asks;
            }
            ServerMessage::BookLevel(l) => {
                let Some(seq) = self.seq else {
                    return; // waiting for a snapshot after a gap
                };
                if self.snapshot_left > 0 {
                    assert_eq!(l.seq, seq, "a snapshot's levels carry its number");
                    assert!(l.qty > 0);
                    self.book[side_index(l.side)].insert(l.price, l.qty);
                    self.snapshot_left -= 1;
                    return;
                }
                if self.lose_next {
                    self.lose_next = false;
                    return;
                }
                if l.seq != seq + 1 {
                    self.gaps += 1;
                    self.resubscribe();
                    return;
                }
                self.seq = Some(l.seq);
                let levels = &mut self.book[side_index(l.side)];
                if l.qty == 0 {
                    levels.remove(&l.price);
                } else {
                    levels.insert(l.price, l.qty);
                }
                self.trim();
            }
            _ => {}
        }
    }

    /// Keeps the best `depth` levels a side, as the feed does.
    fn trim(&mut self) {
        let depth = usize::from(self.depth);
        while self.book[0].len() > depth {
            self.book[0].pop_first();
        }
        while self.book[1].len() > depth {
            self.book[1].pop_last();
        }
    }

    /// As `settle`, applying what arrives meanwhile.
    fn settle(&mut self) {
        self.client
            .send(new_order(1, Side::Buy, 1, 1, TimeInForce::Ioc));
        loop {
            match self.client.recv() {
                Some(ServerMessage::Cancelled(x)) if x.order.client_order_id == 1 => return,
                Some(msg) => self.apply(msg),
                None => panic!("no answer to the probe"),
            }
        }
    }

    fn read_available(&mut self) {
        while let Some(msg) = self.client.recv_now() {
            self.apply(msg);
        }
    }

    /// Bids best first, asks best first.
    fn levels(&self) -> Levels {
        (
            self.book[0].iter().rev().map(|(&p, &q)| (p, q)).collect(),
            self.book[1].iter().map(|(&p, &q)| (p, q)).collect(),
        )
    }
}

/// Bids and asks, best first: `(price, qty)` each.
type Levels = (Vec<(i64, u64)>, Vec<(i64, u64)>);

/// The engine's best `depth` levels a side of the instrument, from the
/// journal: bids best first, asks best first.
fn engine_levels(dir: &TempDir, depth: usize) -> Levels {
    let (engine, _) = journal::recover(&dir.0, config(dir).pipeline.engine).unwrap();
    let mut sides: [BTreeMap<i64, u64>; 2] = Default::default();
    engine.for_each_order(|o| {
        if o.symbol == INSTRUMENT {
            let i = usize::from(o.side == matching::Side::Sell);
            *sides[i].entry(o.price).or_default() += o.leaves;
        }
    });
    (
        sides[0]
            .iter()
            .rev()
            .take(depth)
            .map(|(&p, &q)| (p, q))
            .collect(),
        sides[1].iter().take(depth).map(|(&p, &q)| (p, q)).collect(),
    )
}

fn new_order(coid: u64, side: Side, price: i64, qty: u64, tif: TimeInForce) -> ClientMessage {
    ClientMessage::NewOrder(NewOrder {
        client_order_id: coid,
        instrument: INSTRUMENT,
        side,
        price,
        qty,
        time_in_force: tif,
    })
}

/// Waits until `client` has the answer to its order `coid` (an IOC far
/// from the book): everything it sent before is answered then.
fn settle(client: &mut Client, coid: u64) {
    client.send(new_order(coid, Side::Buy, 1, 1, TimeInForce::Ioc));
    client.expect(
        "the probe's expiry",
        |m| matches!(m, ServerMessage::Cancelled(x) if x.order.client_order_id == coid),
    );
}

#[test]
fn subscribers_joining_mid_stream_rebuild_the_engines_depth() {
    let dir = TempDir::new("md-depth");
    let gw = start(&dir);
    let addr = gw.local_addr();
    let mut traders: Vec<Client> = (1..=3).map(|a| Client::logon(addr, a)).collect();
    let mut rng = Pcg64::seed_from_u64(15);
    let mut early = None;
    let mut late = None;
    let mut top = None;
    const ORDERS: u64 = 3_000;
    for coid in 1..=ORDERS {
        if coid == ORDERS / 4 {
            early = Some(DepthWatcher::subscribe(addr, 10, 5));
        }
        if coid == ORDERS / 2 {
            let mut w = DepthWatcher::subscribe(addr, 11, 3);
            w.lose_next = true;
            late = Some(w);
            let mut t = Client::logon(addr, 12);
            t.send(ClientMessage::Subscribe(Subscribe {
                instrument: INSTRUMENT,
                depth: 0,
            }));
            top = Some(t);
        }
        let t = &mut traders[rng.random_range(0..3)];
        let side = if rng.random_bool(0.5) {
            Side::Buy
        } else {
            Side::Sell
        };
        let msg = match rng.random_range(0..10) {
            // Resting orders around 100, some aggressive.
            0..=5 => new_order(
                coid,
                side,
                rng.random_range(90..=110),
                rng.random_range(1..=20),
                TimeInForce::Gtc,
            ),
            6 => new_order(coid, side, rng.random_range(95..=105), 15, TimeInForce::Ioc),
            7 | 8 => ClientMessage::Cancel(gateway::protocol::Cancel {
                client_order_id: rng.random_range(coid.saturating_sub(200)..coid),
            }),
            _ => ClientMessage::Replace(Replace {
                client_order_id: rng.random_range(coid.saturating_sub(200)..coid),
                price: rng.random_range(90..=110),
                qty: rng.random_range(1..=20),
            }),
        };
        t.send(msg);
        if coid % 50 == 0 {
            for t in &mut traders {
                while t.recv_now().is_some() {}
            }
            for w in [&mut early, &mut late].into_iter().flatten() {
                w.read_available();
            }
            if let Some(t) = &mut top {
                while t.recv_now().is_some() {}
            }
        }
    }
    for (i, t) in traders.iter_mut().enumerate() {
        settle(t, ORDERS + 1 + i as u64);
    }
    let (mut early, mut late, mut top) = (early.unwrap(), late.unwrap(), top.unwrap());
    for w in [&mut early, &mut late] {
        w.settle();
        let until = Instant::now() + Duration::from_millis(300);
        while Instant::now() < until {
            w.read_available();
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    // The top-of-book subscriber: its probe's answer, then whatever is
    // still on the way, keeping the last top of book.
    let mut last_top = None;
    top.send(new_order(1, Side::Buy, 1, 1, TimeInForce::Ioc));
    let until = Instant::now() + Duration::from_secs(5);
    let mut answered = None;
    while answered.is_none_or(|at: Instant| at.elapsed() < Duration::from_millis(300)) {
        assert!(Instant::now() < until, "no answer to the probe");
        match top.recv_now() {
            Some(ServerMessage::TopOfBook(t)) => last_top = Some(t),
            Some(ServerMessage::Cancelled(x)) if x.order.client_order_id == 1 => {
                answered = Some(Instant::now());
            }
            Some(_) => {}
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    gw.shutdown().unwrap();

    assert_eq!(early.gaps, 0, "nothing lost, nothing skipped");
    assert_eq!(late.gaps, 1, "the lost update is noticed");
    let five = engine_levels(&dir, 5);
    assert!(!five.0.is_empty() && !five.1.is_empty(), "{five:?}");
    assert_eq!(early.levels(), five);
    assert_eq!(late.levels(), engine_levels(&dir, 3));
    let last_top = last_top.expect("top of book");
    assert_eq!(
        (
            last_top.bid.map(|l| (l.price, l.qty)),
            last_top.ask.map(|l| (l.price, l.qty))
        ),
        (five.0.first().copied(), five.1.first().copied())
    );
}

#[test]
fn unsubscribe_stops_an_instruments_data_and_depth_is_bounded() {
    let dir = TempDir::new("md-unsub");
    let gw = start(&dir);
    let addr = gw.local_addr();
    let mut watcher = Client::logon(addr, 9);
    watcher.send(ClientMessage::Subscribe(Subscribe {
        instrument: INSTRUMENT,
        depth: MAX_DEPTH + 1,
    }));
    let ServerMessage::Reject(Reject { reason, .. }) =
        watcher.expect("reject", |m| matches!(m, ServerMessage::Reject(_)))
    else {
        unreachable!()
    };
    assert_eq!(reason, SessionRejectReason::BadDepth);
    watcher.send(ClientMessage::Subscribe(Subscribe {
        instrument: INSTRUMENT,
        depth: MAX_DEPTH,
    }));
    watcher.expect("snapshot", |m| matches!(m, ServerMessage::BookSnapshot(_)));
    let mut trader = Client::logon(addr, 1);
    trader.send(new_order(1, Side::Sell, 105, 10, TimeInForce::Gtc));
    watcher.expect(
        "the new level",
        |m| matches!(m, ServerMessage::BookLevel(l) if (l.price, l.qty) == (105, 10)),
    );

    watcher.send(ClientMessage::Unsubscribe(Unsubscribe {
        instrument: INSTRUMENT,
    }));
    // Then a subscription to another instrument: its snapshot comes after
    // the gateway has taken the unsubscribe.
    watcher.send(ClientMessage::Subscribe(Subscribe {
        instrument: 2,
        depth: 0,
    }));
    watcher.expect(
        "instrument 2",
        |m| matches!(m, ServerMessage::TopOfBook(t) if t.instrument == 2),
    );
    trader.send(new_order(2, Side::Sell, 104, 10, TimeInForce::Gtc));
    trader.send(new_order(3, Side::Buy, 104, 3, TimeInForce::Ioc));
    trader.send(ClientMessage::NewOrder(NewOrder {
        client_order_id: 4,
        instrument: 2,
        side: Side::Buy,
        price: 50,
        qty: 1,
        time_in_force: TimeInForce::Gtc,
    }));
    // The order on instrument 2 comes last: up to its top of book, nothing
    // of instrument 1 may arrive.
    loop {
        match watcher.recv() {
            Some(ServerMessage::TopOfBook(t)) if t.instrument == 2 => break,
            Some(ServerMessage::Heartbeat) => {}
            other => panic!("after unsubscribing, got {other:?}"),
        }
    }
    gw.shutdown().unwrap();
}

/// A subscriber that stops reading is closed as a slow reader; the trader
/// whose orders flood its feed is answered throughout.
#[test]
fn a_subscriber_that_stops_reading_is_dropped_and_slows_no_one() {
    let dir = TempDir::new("md-slow");
    let gw = gateway::Gateway::start(support::slow_reader_config(&dir)).unwrap();
    let addr = gw.local_addr();
    let mut watcher = Client::logon_small(addr, 9, false);
    watcher.send(ClientMessage::Subscribe(Subscribe {
        instrument: INSTRUMENT,
        depth: MAX_DEPTH,
    }));
    // From here the watcher reads nothing.
    let mut trader = Client::logon(addr, 1);
    let started = Instant::now();
    for coid in 1..=4_000u64 {
        // Levels that come and go at the top of both sides: every order is
        // a change of the best 64.
        let side = if coid.is_multiple_of(2) {
            Side::Buy
        } else {
            Side::Sell
        };
        let price = if side == Side::Buy {
            100 - (coid % 50) as i64
        } else {
            101 + (coid % 50) as i64
        };
        trader.send(new_order(coid, side, price, 1 + coid % 7, TimeInForce::Gtc));
        trader.expect(
            "accepted",
            |m| matches!(m, ServerMessage::Accepted(a) if a.order.client_order_id == coid),
        );
    }
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(watcher.writes_fail(), "the slow subscriber was closed");
    gw.shutdown().unwrap();
}
