//! The gateway over real loopback TCP: order flow, fills to both parties,
//! cancel and replace, market data, restart with recovery.

#![allow(clippy::unwrap_used)] // a test that cannot set up should fail loudly

mod support;

use gateway::Gateway;
use gateway::protocol::{
    Cancel, CancelReason, ClientMessage, Logon, OrderRejectReason, Replace, ServerMessage, Side,
    Subscribe, TimeInForce,
};
use journal::Durability;
use support::{Client, TempDir, config, slow_reader_config, start};

#[test]
fn fills_reach_both_parties_with_their_own_ids() {
    fills_reach_both_parties_with(Durability::Os);
}

/// With `fsync` the journal and output stages keep threads of their own
/// (replies come back through the bridge's waker); with `os` they run on
/// the poll loop's thread on a 2-core machine. Both must answer alike.
#[test]
fn fills_reach_both_parties_with_fsync_and_stage_threads() {
    fills_reach_both_parties_with(Durability::Fsync);
}

/// Joined: M on the poll loop's thread too (an in-process client on M's
/// core), so one thread runs the whole pipeline.
#[test]
fn fills_reach_both_parties_with_every_stage_on_the_poll_loop() {
    let dir = TempDir::new("fills-joined");
    let mut cfg = config(&dir);
    let mut topology = pipeline::Topology::detect().unwrap();
    topology.guest = Some(topology.client_core());
    cfg.pipeline.topology = Some(topology);
    cfg.pipeline.placement = pipeline::Placement::AllHosted;
    fills_reach_both_parties_in(cfg);
}

fn fills_reach_both_parties_with(durability: Durability) {
    let dir = TempDir::new("fills");
    let mut cfg = config(&dir);
    cfg.pipeline.durability = durability;
    fills_reach_both_parties_in(cfg);
}

fn fills_reach_both_parties_in(cfg: gateway::GatewayConfig) {
    let gw = Gateway::start(cfg).unwrap();
    let mut seller = Client::logon(gw.local_addr(), 1);
    let mut buyer = Client::logon(gw.local_addr(), 2);

    seller.order(100, Side::Sell, 101, 5, TimeInForce::Gtc);
    let ServerMessage::Accepted(a) =
        seller.expect("accepted", |m| matches!(m, ServerMessage::Accepted(_)))
    else {
        unreachable!()
    };
    assert_eq!(a.order.client_order_id, 100);
    let maker_id = a.order.order_id;

    buyer.order(7, Side::Buy, 102, 8, TimeInForce::Ioc);
    buyer.expect(
        "accepted",
        |m| matches!(m, ServerMessage::Accepted(a) if a.order.client_order_id == 7),
    );
    let ServerMessage::Fill(f) = buyer.expect("fill", |m| matches!(m, ServerMessage::Fill(_)))
    else {
        unreachable!()
    };
    assert_eq!(
        (f.order.client_order_id, f.price, f.qty, f.leaves),
        (7, 101, 5, 3)
    );
    let ServerMessage::Cancelled(x) =
        buyer.expect("expired", |m| matches!(m, ServerMessage::Cancelled(_)))
    else {
        unreachable!()
    };
    assert_eq!((x.qty, x.reason), (3, CancelReason::Expired));

    let ServerMessage::Fill(f) =
        seller.expect("maker fill", |m| matches!(m, ServerMessage::Fill(_)))
    else {
        unreachable!()
    };
    assert_eq!(
        (f.order.client_order_id, f.order.order_id, f.qty, f.leaves),
        (100, maker_id, 5, 0)
    );
    gw.shutdown().unwrap();
}

#[test]
fn cancel_replace_and_their_rejects() {
    let dir = TempDir::new("cancel");
    let gw = start(&dir);
    let mut c = Client::logon(gw.local_addr(), 1);
    c.order(1, Side::Buy, 100, 10, TimeInForce::Gtc);
    c.expect("accepted", |m| matches!(m, ServerMessage::Accepted(_)));
    c.send(ClientMessage::Replace(Replace {
        client_order_id: 1,
        price: 99,
        qty: 4,
    }));
    let ServerMessage::Replaced(r) =
        c.expect("replaced", |m| matches!(m, ServerMessage::Replaced(_)))
    else {
        unreachable!()
    };
    assert_eq!((r.order.client_order_id, r.price, r.qty), (1, 99, 4));
    c.send(ClientMessage::Cancel(Cancel { client_order_id: 1 }));
    let ServerMessage::Cancelled(x) =
        c.expect("cancelled", |m| matches!(m, ServerMessage::Cancelled(_)))
    else {
        unreachable!()
    };
    assert_eq!((x.qty, x.reason), (4, CancelReason::User));
    // The order is gone: the client order id is unknown now.
    c.send(ClientMessage::Cancel(Cancel { client_order_id: 1 }));
    let ServerMessage::Rejected(j) =
        c.expect("rejected", |m| matches!(m, ServerMessage::Rejected(_)))
    else {
        unreachable!()
    };
    assert_eq!(j.reason, OrderRejectReason::UnknownClientOrderId);
    // Engine rejects come back as order rejects.
    c.order(2, Side::Buy, 0, 10, TimeInForce::Gtc);
    let ServerMessage::Rejected(j) =
        c.expect("bad price", |m| matches!(m, ServerMessage::Rejected(_)))
    else {
        unreachable!()
    };
    assert_eq!(
        (j.order.client_order_id, j.reason),
        (2, OrderRejectReason::BadPrice)
    );
    // And a rejected new order frees its client order id.
    c.order(2, Side::Buy, 100, 10, TimeInForce::Gtc);
    c.expect(
        "accepted",
        |m| matches!(m, ServerMessage::Accepted(a) if a.order.client_order_id == 2),
    );
    gw.shutdown().unwrap();
}

#[test]
fn subscribers_get_trades_and_top_of_book() {
    let dir = TempDir::new("md");
    let gw = start(&dir);
    let mut watcher = Client::logon(gw.local_addr(), 9);
    watcher.send(ClientMessage::Subscribe(Subscribe {
        instrument: 1,
        depth: 0,
    }));
    let ServerMessage::TopOfBook(top) =
        watcher.expect("snapshot", |m| matches!(m, ServerMessage::TopOfBook(_)))
    else {
        unreachable!()
    };
    assert_eq!((top.bid, top.ask), (None, None));
    let mut a = Client::logon(gw.local_addr(), 1);
    a.order(1, Side::Sell, 105, 10, TimeInForce::Gtc);
    let ServerMessage::TopOfBook(top) = watcher.expect(
        "ask",
        |m| matches!(m, ServerMessage::TopOfBook(t) if t.ask.is_some()),
    ) else {
        unreachable!()
    };
    let ask = top.ask.unwrap();
    assert_eq!((ask.price, ask.qty), (105, 10));
    let mut b = Client::logon(gw.local_addr(), 2);
    b.order(1, Side::Buy, 105, 4, TimeInForce::Ioc);
    let ServerMessage::Trade(t) = watcher.expect("trade", |m| matches!(m, ServerMessage::Trade(_)))
    else {
        unreachable!()
    };
    assert_eq!((t.instrument, t.price, t.qty), (1, 105, 4));
    watcher.expect(
        "ask after trade",
        |m| matches!(m, ServerMessage::TopOfBook(t) if t.ask.map(|l| l.qty) == Some(6)),
    );
    gw.shutdown().unwrap();
}

#[test]
fn restart_keeps_every_acknowledged_order() {
    let dir = TempDir::new("restart");
    let gw = start(&dir);
    let mut maker = Client::logon(gw.local_addr(), 1);
    for i in 0..20u64 {
        maker.order(i, Side::Sell, 110 + i as i64 % 3, 10, TimeInForce::Gtc);
        maker.expect("accepted", |m| matches!(m, ServerMessage::Accepted(_)));
    }
    drop(maker);
    gw.shutdown().unwrap();

    let gw = Gateway::start(config(&dir)).unwrap();
    let mut taker = Client::logon(gw.local_addr(), 2);
    taker.order(1, Side::Buy, 200, 1_000, TimeInForce::Ioc);
    let mut filled = 0;
    loop {
        match taker.recv() {
            Some(ServerMessage::Fill(f)) => filled += f.qty,
            Some(ServerMessage::Cancelled(x)) => {
                assert_eq!(x.qty, 1_000 - 200);
                break;
            }
            Some(_) => {}
            None => panic!("no expiry after {filled} filled"),
        }
    }
    assert_eq!(filled, 200, "every acknowledged order survived the restart");
    gw.shutdown().unwrap();
}

/// The poll loop stops reading a socket after a short read (the socket is
/// empty then) instead of reading on to EAGAIN; data that arrives later must
/// still be read: a frame trickling in a byte at a time, then a burst of
/// frames larger than the session's read buffer in one write.
#[test]
fn frames_split_over_many_writes_or_packed_into_one_are_all_read() {
    let dir = TempDir::new("split");
    let gw = start(&dir);
    let mut c = Client::logon(gw.local_addr(), 1);

    let frame = c.frame(ClientMessage::NewOrder(gateway::protocol::NewOrder {
        client_order_id: 1,
        instrument: 1,
        side: Side::Buy,
        price: 100,
        qty: 1,
        time_in_force: TimeInForce::Gtc,
    }));
    for byte in &frame {
        c.send_raw(std::slice::from_ref(byte));
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    c.expect(
        "the trickled order's ack",
        |m| matches!(m, ServerMessage::Accepted(a) if a.order.client_order_id == 1),
    );

    // 20,000 orders (~1 MB) in one write: more than one read's worth.
    let orders = 20_000u64;
    let mut burst = Vec::new();
    for coid in 2..2 + orders {
        burst.extend(
            c.frame(ClientMessage::NewOrder(gateway::protocol::NewOrder {
                client_order_id: coid,
                instrument: 1,
                side: Side::Buy,
                price: 90,
                qty: 1,
                time_in_force: TimeInForce::Ioc,
            })),
        );
    }
    c.send_raw(&burst);
    let last = 1 + orders;
    c.expect(
        "the last order of the burst answered",
        |m| matches!(m, ServerMessage::Cancelled(x) if x.order.client_order_id == last),
    );
    gw.shutdown().unwrap();
}

/// A client that sends its last frame and closes at once (one write, then
/// the FIN, often one poll event) is seen to have closed: its account is
/// free for the next logon straight away, not after a heartbeat timeout.
/// The gateway stops reading at a short read, so an event that also says
/// "closed" must be read to the end (`Connection::fill`).
#[test]
fn a_close_that_comes_with_the_last_bytes_frees_the_account_at_once() {
    use std::io::Write;
    let dir = TempDir::new("close-with-bytes");
    let gw = start(&dir);
    let addr = gw.local_addr();
    let mut current = Client::logon(addr, 7);
    for round in 0..20 {
        let last = current.frame(ClientMessage::Heartbeat);
        current.stream.write_all(&last).unwrap();
        drop(current);
        // The next logon may race the gateway's read of the close, but
        // never by long: retry for at most a second.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
        current = loop {
            let mut next = Client::connect(addr);
            next.send(ClientMessage::Logon(Logon {
                account: 7,
                cancel_on_disconnect: false,
                password: [0; 32],
            }));
            match next.recv() {
                Some(ServerMessage::LogonAck(_)) => break next,
                other => assert!(
                    std::time::Instant::now() < deadline,
                    "round {round}: account 7 still in use a second after its client \
                     closed: {other:?}"
                ),
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
    }
    drop(current);
    gw.shutdown().unwrap();
}

/// docs/protocol.md, "Execution ids": every report of a command carries the
/// command's sequence, its own place among the command's reports (a trade
/// is two: the taker's fill, then the maker's) and the command's ingest
/// time on the wall clock; a refusal made before a command exists has
/// sequence 0.
#[test]
fn reports_carry_their_execution_id_and_the_commands_ingest_time() {
    let unix_ns = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
    };
    let dir = TempDir::new("exec-ids");
    let gw = start(&dir);
    let mut seller = Client::logon(gw.local_addr(), 1);
    let mut buyer = Client::logon(gw.local_addr(), 2);
    let before = unix_ns();

    seller.order(100, Side::Sell, 101, 5, TimeInForce::Gtc);
    let ServerMessage::Accepted(rest) =
        seller.expect("accepted", |m| matches!(m, ServerMessage::Accepted(_)))
    else {
        unreachable!()
    };
    // A new order's engine id is its command's sequence.
    assert_eq!((rest.exec.seq, rest.exec.index), (rest.order.order_id, 0));

    // The IOC: accepted (0), a trade (the taker's fill 1, the maker's 2),
    // the rest expired (3): four reports of one command.
    buyer.order(7, Side::Buy, 102, 8, TimeInForce::Ioc);
    let mut taker = Vec::new();
    for what in ["accepted", "fill", "expired"] {
        let m = buyer.recv().unwrap_or_else(|| panic!("no {what}"));
        let exec = match m {
            ServerMessage::Accepted(a) => a.exec,
            ServerMessage::Fill(f) => f.exec,
            ServerMessage::Cancelled(c) => c.exec,
            other => panic!("expected the {what}, got {other:?}"),
        };
        taker.push(exec);
    }
    let ServerMessage::Fill(maker) =
        seller.expect("maker fill", |m| matches!(m, ServerMessage::Fill(_)))
    else {
        unreachable!()
    };
    let after = unix_ns();
    let seq = taker[0].seq;
    assert!(seq > rest.exec.seq);
    let ids: Vec<(u64, u32)> = taker.iter().map(|e| (e.seq, e.index)).collect();
    assert_eq!(ids, [(seq, 0), (seq, 1), (seq, 3)]);
    assert_eq!((maker.exec.seq, maker.exec.index), (seq, 2));
    for e in taker.iter().chain([&maker.exec, &rest.exec]) {
        assert!(
            (before..=after).contains(&e.transact_time_ns),
            "{e:?} outside [{before}, {after}]"
        );
    }
    assert!(
        taker
            .iter()
            .all(|e| e.transact_time_ns == taker[0].transact_time_ns)
    );
    assert_eq!(maker.exec.transact_time_ns, taker[0].transact_time_ns);

    // Refused before it is sequenced: a live client order id used again.
    seller.order(200, Side::Sell, 150, 1, TimeInForce::Gtc);
    seller.expect("accepted", |m| matches!(m, ServerMessage::Accepted(_)));
    seller.order(200, Side::Sell, 151, 1, TimeInForce::Gtc);
    let ServerMessage::Rejected(dup) =
        seller.expect("duplicate", |m| matches!(m, ServerMessage::Rejected(_)))
    else {
        unreachable!()
    };
    assert_eq!((dup.exec.seq, dup.exec.index), (0, 0));
    assert!(dup.exec.transact_time_ns >= after);
    gw.shutdown().unwrap();
}

/// How a cancel-on-disconnect test's seller session ends.
#[derive(Debug, Clone, Copy)]
enum Ending {
    /// The client closes the connection.
    Close,
    /// The client goes silent; the gateway times its heartbeat out.
    Silence,
    /// The client logs out.
    Logout,
}

/// docs/protocol.md, "Cancel on disconnect": a session that asked for it at
/// logon has its resting orders cancelled when it ends, however it ends;
/// one that did not keeps them. Checked from another session: the book's
/// top goes empty, and an IOC that would have filled finds nothing.
#[test]
fn cancel_on_disconnect_cancels_a_sessions_orders_however_it_ends() {
    for (ending, cancel_on_disconnect) in [
        (Ending::Close, true),
        (Ending::Silence, true),
        (Ending::Logout, true),
        (Ending::Close, false),
    ] {
        let what = format!("{ending:?}, cancel_on_disconnect {cancel_on_disconnect}");
        let dir = TempDir::new("cod");
        let mut cfg = config(&dir);
        cfg.limits.heartbeat_interval = std::time::Duration::from_millis(100);
        let gw = Gateway::start(cfg).unwrap();
        let addr = gw.local_addr();

        let mut seller = Client::connect(addr);
        seller.send(ClientMessage::Logon(Logon {
            account: 1,
            cancel_on_disconnect,
            password: [0; 32],
        }));
        seller.expect("logon ack", |m| matches!(m, ServerMessage::LogonAck(_)));
        seller.order(100, Side::Sell, 101, 5, TimeInForce::Gtc);
        seller.expect("accepted", |m| matches!(m, ServerMessage::Accepted(_)));

        let mut buyer = Client::logon(addr, 2);
        buyer.send(ClientMessage::Subscribe(Subscribe {
            instrument: 1,
            depth: 0,
        }));
        buyer.expect(
            "the resting ask",
            |m| matches!(m, ServerMessage::TopOfBook(t) if t.ask.is_some_and(|a| a.price == 101)),
        );

        match ending {
            Ending::Close => drop(seller),
            Ending::Logout => seller.send(ClientMessage::Logout),
            // Silent, socket open: 3 missed heartbeats, then the grace.
            Ending::Silence => {}
        }
        if cancel_on_disconnect {
            buyer.expect_heartbeating(
                &format!("{what}: the ask cancelled"),
                |m| matches!(m, ServerMessage::TopOfBook(t) if t.ask.is_none()),
            );
        } else {
            // Time for the close to be seen, the buyer heartbeating.
            for _ in 0..15 {
                buyer.send(ClientMessage::Heartbeat);
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
        buyer.order(7, Side::Buy, 102, 5, TimeInForce::Ioc);
        buyer.expect(
            &format!("{what}: accepted"),
            |m| matches!(m, ServerMessage::Accepted(a) if a.order.client_order_id == 7),
        );
        let answer = buyer.expect(&format!("{what}: the IOC's end"), |m| {
            matches!(m, ServerMessage::Fill(_) | ServerMessage::Cancelled(_))
        });
        if cancel_on_disconnect {
            assert!(
                matches!(answer, ServerMessage::Cancelled(c) if c.reason == CancelReason::Expired),
                "{what}: {answer:?}"
            );
        } else {
            assert!(
                matches!(answer, ServerMessage::Fill(f) if f.qty == 5),
                "{what}: {answer:?}"
            );
        }
        gw.shutdown().unwrap();
    }
}

/// Cancel-on-disconnect when the gateway closes a slow reader: every one of
/// its thousands of resting orders is cancelled, and the book's bid side
/// empties.
#[test]
fn cancel_on_disconnect_cancels_a_slow_readers_orders() {
    let dir = TempDir::new("cod-slow");
    let gw = Gateway::start(slow_reader_config(&dir)).unwrap();
    let mut watcher = Client::logon(gw.local_addr(), 2);
    watcher.send(ClientMessage::Subscribe(Subscribe {
        instrument: 1,
        depth: 0,
    }));
    watcher.expect("top of book", |m| matches!(m, ServerMessage::TopOfBook(_)));
    let mut slow = Client::logon_small(gw.local_addr(), 1, true);
    let bytes = slow.resting_bids(3_000);
    slow.send_raw(&bytes);
    assert!(slow.writes_fail(), "the slow reader was not closed");
    watcher.expect_heartbeating(
        "the slow reader's bids cancelled",
        |m| matches!(m, ServerMessage::TopOfBook(t) if t.bid.is_none()),
    );
    let stats = gw.shutdown().unwrap();
    assert!(stats.sessions_closed_for_cause >= 1);
}

/// docs/protocol.md, "MassCancel": one instrument's live orders, then one
/// side's, then the rest, each answered with the count at once and a
/// `Cancelled` per order.
#[test]
fn mass_cancel_cancels_the_sessions_live_orders_with_a_count() {
    use gateway::protocol::{MassCancel, NewOrder};
    let dir = TempDir::new("mass-cancel");
    let gw = start(&dir);
    let mut c = Client::logon(gw.local_addr(), 1);
    let mut other = Client::logon(gw.local_addr(), 2);
    for (coid, instrument) in [(1, 1), (2, 1), (3, 1), (4, 2), (5, 2)] {
        c.send(ClientMessage::NewOrder(NewOrder {
            client_order_id: coid,
            instrument,
            side: Side::Buy,
            price: 90 + coid as i64,
            qty: 1,
            time_in_force: TimeInForce::Gtc,
        }));
        c.expect("accepted", |m| matches!(m, ServerMessage::Accepted(_)));
    }
    // Another session's order is not this session's to cancel.
    other.order(9, Side::Buy, 80, 1, TimeInForce::Gtc);
    other.expect("accepted", |m| matches!(m, ServerMessage::Accepted(_)));

    // A sell on instrument 2: the side filter leaves it for last.
    c.send(ClientMessage::NewOrder(NewOrder {
        client_order_id: 6,
        instrument: 2,
        side: Side::Sell,
        price: 200,
        qty: 1,
        time_in_force: TimeInForce::Gtc,
    }));
    c.expect("accepted", |m| matches!(m, ServerMessage::Accepted(_)));
    for (instrument, side, coids) in [
        (1, None, vec![1, 2, 3]),
        (0, Some(Side::Buy), vec![4, 5]),
        (0, None, vec![6]),
        (0, None, vec![]),
    ] {
        c.send(ClientMessage::MassCancel(MassCancel { instrument, side }));
        let ServerMessage::MassCancelAck(ack) =
            c.expect("ack", |m| matches!(m, ServerMessage::MassCancelAck(_)))
        else {
            unreachable!()
        };
        assert_eq!(ack.ref_seq, c.seq, "answers the MassCancel frame");
        assert_eq!(ack.count as usize, coids.len(), "instrument {instrument}");
        let mut cancelled: Vec<u64> = (0..coids.len())
            .map(|_| {
                let ServerMessage::Cancelled(x) =
                    c.expect("cancelled", |m| matches!(m, ServerMessage::Cancelled(_)))
                else {
                    unreachable!()
                };
                assert_eq!((x.qty, x.reason), (1, CancelReason::User));
                x.order.client_order_id
            })
            .collect();
        cancelled.sort_unstable();
        assert_eq!(cancelled, coids, "instrument {instrument}");
    }
    // The other session's order is still there: a sell at 80 fills it.
    c.order(20, Side::Sell, 80, 1, TimeInForce::Ioc);
    other.expect("its fill", |m| matches!(m, ServerMessage::Fill(_)));
    gw.shutdown().unwrap();
}
