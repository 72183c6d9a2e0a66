//! Order status over real TCP: a returning account asks what is live, after
//! a reconnect and after a restart (docs/protocol.md, "Order status").

#![allow(clippy::unwrap_used)] // a test that cannot set up should fail loudly

mod support;

use gateway::Gateway;
use gateway::protocol::{
    ClientMessage, MassStatusRequest, NewOrder, OrderState, OrderStatus, OrderStatusRequest,
    Replace, ServerMessage, Side, TimeInForce,
};
use support::{Client, TempDir, config, start};

fn order(c: &mut Client, coid: u64, instrument: u32, side: Side, price: i64, qty: u64) {
    c.send(ClientMessage::NewOrder(NewOrder {
        client_order_id: coid,
        instrument,
        side,
        price,
        qty,
        time_in_force: TimeInForce::Gtc,
    }));
}

/// The answer to a `MassStatusRequest` for `instrument`: the statuses, in
/// order, after checking the end's count and reference.
fn mass_status(c: &mut Client, instrument: u32) -> Vec<OrderStatus> {
    c.send(ClientMessage::MassStatusRequest(MassStatusRequest {
        instrument,
    }));
    let ref_seq = c.seq;
    let mut statuses = Vec::new();
    loop {
        match c.recv() {
            Some(ServerMessage::OrderStatus(s)) => {
                assert_eq!(s.ref_seq, ref_seq);
                statuses.push(s);
            }
            Some(ServerMessage::MassStatusEnd(end)) => {
                assert_eq!((end.ref_seq, end.count as usize), (ref_seq, statuses.len()));
                return statuses;
            }
            Some(_) => {}
            None => panic!("no MassStatusEnd"),
        }
    }
}

fn status(c: &mut Client, coid: u64) -> OrderStatus {
    c.send(ClientMessage::OrderStatusRequest(OrderStatusRequest {
        client_order_id: coid,
    }));
    let ServerMessage::OrderStatus(s) =
        c.expect("status", |m| matches!(m, ServerMessage::OrderStatus(_)))
    else {
        unreachable!()
    };
    assert_eq!(s.ref_seq, c.seq);
    s
}

/// (client order id, state, instrument, side, price, leaves) of each.
fn summary(statuses: &[OrderStatus]) -> Vec<(u64, OrderState, u32, Side, i64, u64)> {
    statuses
        .iter()
        .map(|s| {
            let o = s.order;
            (
                o.client_order_id,
                s.state,
                o.instrument,
                s.side,
                s.price,
                s.leaves,
            )
        })
        .collect()
}

#[test]
fn a_returning_account_learns_its_live_orders() {
    let dir = TempDir::new("status");
    let gw = start(&dir);
    let addr = gw.local_addr();
    let mut seven = Client::logon(addr, 7);
    order(&mut seven, 1, 1, Side::Sell, 101, 5);
    order(&mut seven, 2, 2, Side::Buy, 90, 3);
    order(&mut seven, 3, 1, Side::Sell, 120, 1);
    for coid in 1..=3 {
        seven.expect(
            "accepted",
            |m| matches!(m, ServerMessage::Accepted(a) if a.order.client_order_id == coid),
        );
    }
    // Account 8 takes 2 of order 1; 7 moves order 2 and cancels order 3.
    let mut eight = Client::logon(addr, 8);
    order(&mut eight, 1, 1, Side::Buy, 101, 2);
    seven.expect("fill", |m| matches!(m, ServerMessage::Fill(_)));
    seven.send(ClientMessage::Replace(Replace {
        client_order_id: 2,
        price: 91,
        qty: 3,
    }));
    seven.expect("replaced", |m| matches!(m, ServerMessage::Replaced(_)));
    seven.send(ClientMessage::Cancel(gateway::protocol::Cancel {
        client_order_id: 3,
    }));
    seven.expect("cancelled", |m| matches!(m, ServerMessage::Cancelled(_)));
    drop(seven);

    let expected = vec![
        (1, OrderState::Live, 1, Side::Sell, 101, 3),
        (2, OrderState::Live, 2, Side::Buy, 91, 3),
    ];
    let mut seven = Client::logon_again(addr, 7);
    assert_eq!(summary(&mass_status(&mut seven, 0)), expected);
    assert_eq!(summary(&mass_status(&mut seven, 2)), expected[1..]);
    assert_eq!(summary(&mass_status(&mut seven, 3)), []);
    assert_eq!(summary(&[status(&mut seven, 1)]), expected[..1]);
    for gone in [3, 99] {
        let s = status(&mut seven, gone);
        assert_eq!(s.state, OrderState::Unknown);
        assert_eq!(
            (s.order.client_order_id, s.order.order_id, s.leaves),
            (gone, 0, 0)
        );
    }
    // Another account sees none of them.
    assert_eq!(summary(&mass_status(&mut eight, 0)), []);
    drop(seven);
    drop(eight);
    gw.shutdown().unwrap();

    // After a restart, the same.
    let gw = Gateway::start(config(&dir)).unwrap();
    let mut seven = Client::logon(gw.local_addr(), 7);
    assert_eq!(summary(&mass_status(&mut seven, 0)), expected);
    gw.shutdown().unwrap();
}
