//! Operator controls and pre-trade risk over real TCP (docs/protocol.md,
//! "Operator controls" and "Pre-trade risk"): an operator halts and
//! resumes an instrument and flips an account's kill switch; each limit of
//! the accounts file and the instruments' collar refuse orders with their
//! own reason; traders cannot send controls and operators cannot trade;
//! halts and kill switches survive a restart (they are journaled); and a
//! hostile run beside a well-behaved client that is fully served.

#![allow(clippy::unwrap_used)] // a test that cannot set up should fail loudly

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use gateway::auth::{AccountEntry, Accounts, LimitFields, Role, hash_password, password_field};
use gateway::protocol::{
    Cancel, ClientMessage, ControlAck, ControlAction, ControlStatus, Halt, KillSwitch, Logon,
    NewOrder, OrderRejectReason, ServerMessage, SessionRejectReason, Side, TimeInForce,
};
use gateway::{Auth, Gateway, GatewayConfig};
use matching::{Collar, CollarWidth};
use support::{Client, TempDir, config};

const PASSWORD: &str = "a test password";
const OPERATOR: u32 = 100;
/// A trader with tight limits.
const LIMITED: u32 = 7;
/// A trader with the defaults.
const PLAIN: u32 = 8;
const COLLARED: u32 = 2;

/// Accounts 7 (tight limits), 8 (defaults) and 100 (operator), all with
/// `PASSWORD`; the hash is made once and shared, so the test spends its
/// time on the gateway, not on Argon2.
fn accounts() -> Accounts {
    let hash = hash_password(PASSWORD.as_bytes()).unwrap();
    let mut accounts = Accounts::default();
    let entry = |role, limits| AccountEntry {
        role,
        password_hash: hash.clone(),
        enabled: true,
        limits,
    };
    accounts.set(
        LIMITED,
        entry(
            Role::Trader,
            LimitFields {
                max_order_qty: Some(100),
                max_order_notional: Some(15_000),
                max_open_orders: Some(5),
                max_open_orders_per_instrument: Some(3),
                max_position: Some(100),
                credit: Some(30_000),
            },
        ),
    );
    accounts.set(PLAIN, entry(Role::Trader, LimitFields::default()));
    accounts.set(OPERATOR, entry(Role::Operator, LimitFields::default()));
    accounts
}

fn controls_config(dir: &TempDir) -> GatewayConfig {
    let mut config = config(dir);
    config.auth = Some(Auth::Accounts(Arc::new(accounts())));
    config.collars = vec![(
        COLLARED,
        Collar {
            reference: 100,
            width: CollarWidth::Ticks(10),
        },
    )];
    config
}

fn logon(addr: SocketAddr, account: u32) -> Client {
    let mut c = Client::connect(addr);
    c.send(ClientMessage::Logon(Logon {
        account,
        cancel_on_disconnect: false,
        password: password_field(PASSWORD).unwrap(),
    }));
    c.expect("logon ack", |m| matches!(m, ServerMessage::LogonAck(_)));
    c
}

fn order(c: &mut Client, coid: u64, instrument: u32, side: Side, price: i64, qty: u64) {
    order_tif(c, coid, instrument, side, price, qty, TimeInForce::Gtc);
}

fn order_tif(
    c: &mut Client,
    coid: u64,
    instrument: u32,
    side: Side,
    price: i64,
    qty: u64,
    time_in_force: TimeInForce,
) {
    c.send(ClientMessage::NewOrder(NewOrder {
        client_order_id: coid,
        instrument,
        side,
        price,
        qty,
        time_in_force,
    }));
}

/// The answer to a new order: `None` when accepted, else the reason.
fn answer(c: &mut Client, coid: u64) -> Option<OrderRejectReason> {
    match c.expect("the order's answer", |m| match m {
        ServerMessage::Accepted(a) => a.order.client_order_id == coid,
        ServerMessage::Rejected(r) => r.order.client_order_id == coid,
        _ => false,
    }) {
        ServerMessage::Rejected(r) => Some(r.reason),
        _ => None,
    }
}

fn control(op: &mut Client, msg: ClientMessage) -> ControlAck {
    op.send(msg);
    match op.expect("control ack", |m| matches!(m, ServerMessage::ControlAck(_))) {
        ServerMessage::ControlAck(ack) => ack,
        _ => unreachable!(),
    }
}

fn halt(op: &mut Client, instrument: u32, halt: bool) -> ControlAck {
    control(op, ClientMessage::Halt(Halt { instrument, halt }))
}

fn kill(op: &mut Client, account: u32, kill: bool) -> ControlAck {
    control(op, ClientMessage::KillSwitch(KillSwitch { account, kill }))
}

fn not_authorized(c: &mut Client) {
    let seq = c.seq;
    c.expect("NOT_AUTHORIZED", |m| {
        matches!(m, ServerMessage::Reject(r)
            if r.ref_seq == seq && r.reason == SessionRejectReason::NotAuthorized)
    });
}

#[test]
fn an_operator_halts_and_resumes_an_instrument() {
    let dir = TempDir::new("controls-halt");
    let gw = Gateway::start(controls_config(&dir)).unwrap();
    let addr = gw.local_addr();
    let mut op = logon(addr, OPERATOR);
    let mut t = logon(addr, PLAIN);
    order(&mut t, 1, 1, Side::Buy, 90, 5);
    assert_eq!(answer(&mut t, 1), None);

    let ack = halt(&mut op, 1, true);
    assert_eq!(
        (ack.action, ack.target, ack.status),
        (ControlAction::Halt, 1, ControlStatus::Applied)
    );
    assert!(ack.command_seq > 0);
    order(&mut t, 2, 1, Side::Buy, 91, 5);
    assert_eq!(answer(&mut t, 2), Some(OrderRejectReason::Halted));
    // Another instrument trades on.
    order(&mut t, 3, 3, Side::Buy, 91, 5);
    assert_eq!(answer(&mut t, 3), None);
    // Cancels are allowed while halted; the resting order was kept.
    t.send(ClientMessage::Cancel(Cancel { client_order_id: 1 }));
    t.expect(
        "cancelled",
        |m| matches!(m, ServerMessage::Cancelled(c) if c.order.client_order_id == 1),
    );

    let ack = halt(&mut op, 1, false);
    assert_eq!(
        (ack.action, ack.status),
        (ControlAction::Resume, ControlStatus::Applied)
    );
    order(&mut t, 4, 1, Side::Buy, 91, 5);
    assert_eq!(answer(&mut t, 4), None);

    // An instrument the venue does not have.
    let ack = halt(&mut op, 99, true);
    assert_eq!(
        (ack.status, ack.command_seq),
        (ControlStatus::UnknownInstrument, 0)
    );

    // A trader may not halt; an operator may not trade.
    t.send(ClientMessage::Halt(Halt {
        instrument: 1,
        halt: true,
    }));
    not_authorized(&mut t);
    order(&mut op, 9, 1, Side::Buy, 90, 1);
    not_authorized(&mut op);
    order(&mut t, 5, 1, Side::Buy, 92, 5);
    assert_eq!(answer(&mut t, 5), None, "the trader's halt did nothing");
    gw.shutdown().unwrap();
}

#[test]
fn a_kill_switch_cancels_every_order_and_refuses_new_ones_until_enabled() {
    let dir = TempDir::new("controls-kill");
    let gw = Gateway::start(controls_config(&dir)).unwrap();
    let addr = gw.local_addr();
    let mut op = logon(addr, OPERATOR);
    let mut t = logon(addr, PLAIN);
    let mut other = logon(addr, LIMITED);
    for coid in 1..=3 {
        order(&mut t, coid, coid as u32, Side::Sell, 150, 2);
        assert_eq!(answer(&mut t, coid), None);
    }
    order(&mut other, 1, 1, Side::Buy, 90, 2);
    assert_eq!(answer(&mut other, 1), None);

    let ack = kill(&mut op, PLAIN, true);
    assert_eq!(
        (ack.action, ack.target, ack.status, ack.cancelled),
        (ControlAction::Kill, PLAIN, ControlStatus::Applied, 3)
    );
    for _ in 0..3 {
        t.expect("cancelled by the kill", |m| {
            matches!(m, ServerMessage::Cancelled(_))
        });
    }
    order(&mut t, 4, 1, Side::Sell, 150, 2);
    assert_eq!(answer(&mut t, 4), Some(OrderRejectReason::AccountBlocked));
    // The other account is untouched: its order still rests and it trades.
    order(&mut other, 2, 1, Side::Buy, 89, 2);
    assert_eq!(answer(&mut other, 2), None);
    other.send(ClientMessage::Cancel(Cancel { client_order_id: 1 }));
    other.expect(
        "its first order was still live",
        |m| matches!(m, ServerMessage::Cancelled(c) if c.order.client_order_id == 1),
    );

    let ack = kill(&mut op, PLAIN, false);
    assert_eq!(
        (ack.action, ack.status, ack.cancelled),
        (ControlAction::Enable, ControlStatus::Applied, 0)
    );
    order(&mut t, 5, 1, Side::Sell, 150, 2);
    assert_eq!(answer(&mut t, 5), None);
    // A trader cannot flip a kill switch.
    t.send(ClientMessage::KillSwitch(KillSwitch {
        account: LIMITED,
        kill: true,
    }));
    not_authorized(&mut t);
    gw.shutdown().unwrap();
}

#[test]
fn each_limit_and_the_collar_refuse_with_their_own_reason() {
    let dir = TempDir::new("controls-risk");
    let gw = Gateway::start(controls_config(&dir)).unwrap();
    let addr = gw.local_addr();
    let mut t = logon(addr, LIMITED);
    let mut maker = logon(addr, PLAIN);
    use OrderRejectReason::*;
    // Order quantity, then notional (qty × price): 100 × 151 > 15,000.
    order(&mut t, 1, 1, Side::Buy, 10, 101);
    assert_eq!(answer(&mut t, 1), Some(RiskOrderQty));
    order(&mut t, 2, 1, Side::Buy, 151, 100);
    assert_eq!(answer(&mut t, 2), Some(RiskOrderNotional));
    // Open orders per instrument (3), then in all (5).
    for coid in 10..13 {
        order(&mut t, coid, 1, Side::Buy, 10, 1);
        assert_eq!(answer(&mut t, coid), None);
    }
    order(&mut t, 13, 1, Side::Buy, 10, 1);
    assert_eq!(answer(&mut t, 13), Some(RiskOpenOrdersInstrument));
    for coid in 14..16 {
        order(&mut t, coid, 3, Side::Buy, 10, 1);
        assert_eq!(answer(&mut t, coid), None);
    }
    order(&mut t, 16, 4, Side::Buy, 10, 1);
    assert_eq!(answer(&mut t, 16), Some(RiskOpenOrders));
    // Position (limit 100): 3 open buys of 1 on instrument 1; a buy of 98
    // could make it 101. (IOC: an order that cannot rest is not held to the open-order
    // limits, which the account is at.)
    t.send(ClientMessage::MassCancel(gateway::protocol::MassCancel {
        instrument: 3,
        side: None,
    }));
    for _ in 0..2 {
        t.expect("cancelled", |m| matches!(m, ServerMessage::Cancelled(_)));
    }
    order_tif(&mut t, 17, 1, Side::Buy, 10, 98, TimeInForce::Ioc);
    assert_eq!(answer(&mut t, 17), Some(RiskPosition));
    // Credit 30,000: open notional 30 + 9,000 + 15,000; a buy of 14,900
    // passes the notional limit but not the credit left.
    order(&mut t, 18, 4, Side::Buy, 100, 90);
    assert_eq!(answer(&mut t, 18), None);
    order(&mut t, 19, 5, Side::Sell, 150, 100);
    assert_eq!(answer(&mut t, 19), None);
    order_tif(&mut t, 20, 6, Side::Buy, 149, 100, TimeInForce::Ioc);
    assert_eq!(answer(&mut t, 20), Some(RiskCredit));

    // The collar of instrument 2: [90, 110] around 100.
    order(&mut t, 30, COLLARED, Side::Buy, 111, 1);
    assert_eq!(answer(&mut t, 30), Some(PriceCollar));
    order(&mut maker, 31, COLLARED, Side::Sell, 105, 1);
    assert_eq!(answer(&mut maker, 31), None);
    order(&mut maker, 32, COLLARED, Side::Sell, 115, 1);
    assert_eq!(
        answer(&mut maker, 32),
        None,
        "a sell above the collar is passive: allowed"
    );
    // A market buy stops at the collar: fills at 105, its rest expires
    // rather than reach 115.
    t.send(ClientMessage::NewOrder(NewOrder {
        client_order_id: 33,
        instrument: COLLARED,
        side: Side::Buy,
        price: 0,
        qty: 2,
        time_in_force: TimeInForce::Market,
    }));
    t.expect(
        "fill at 105",
        |m| matches!(m, ServerMessage::Fill(f) if f.order.client_order_id == 33 && f.price == 105),
    );
    t.expect(
        "the rest expires at the collar",
        |m| matches!(m, ServerMessage::Cancelled(c) if c.order.client_order_id == 33 && c.qty == 1),
    );
    gw.shutdown().unwrap();
}

#[test]
fn halts_and_kill_switches_survive_a_restart() {
    let dir = TempDir::new("controls-restart");
    let gw = Gateway::start(controls_config(&dir)).unwrap();
    // A trade at 108 moves instrument 2's collar to [98, 118].
    let mut maker = logon(gw.local_addr(), PLAIN);
    let mut taker = logon(gw.local_addr(), LIMITED);
    order(&mut maker, 1, COLLARED, Side::Sell, 108, 1);
    assert_eq!(answer(&mut maker, 1), None);
    order_tif(&mut taker, 1, COLLARED, Side::Buy, 108, 1, TimeInForce::Ioc);
    taker.expect("fill", |m| matches!(m, ServerMessage::Fill(_)));
    drop((maker, taker));
    let mut op = logon(gw.local_addr(), OPERATOR);
    assert_eq!(halt(&mut op, 3, true).status, ControlStatus::Applied);
    assert_eq!(kill(&mut op, PLAIN, true).status, ControlStatus::Applied);
    drop(op);
    gw.shutdown().unwrap();

    let gw = Gateway::start(controls_config(&dir)).unwrap();
    let mut t = logon(gw.local_addr(), PLAIN);
    order(&mut t, 1, 1, Side::Buy, 90, 1);
    assert_eq!(answer(&mut t, 1), Some(OrderRejectReason::AccountBlocked));
    let mut other = logon(gw.local_addr(), LIMITED);
    order(&mut other, 1, 3, Side::Buy, 90, 1);
    assert_eq!(answer(&mut other, 1), Some(OrderRejectReason::Halted));
    order(&mut other, 2, 1, Side::Buy, 90, 1);
    assert_eq!(answer(&mut other, 2), None);
    // The collar kept its reference: the restart did not set it back to
    // the configured 100 (where 115 would be through it).
    order_tif(&mut other, 3, COLLARED, Side::Buy, 115, 1, TimeInForce::Ioc);
    assert_eq!(answer(&mut other, 3), None);
    order_tif(&mut other, 4, COLLARED, Side::Buy, 119, 1, TimeInForce::Ioc);
    assert_eq!(answer(&mut other, 4), Some(OrderRejectReason::PriceCollar));
    gw.shutdown().unwrap();
}

/// Wrong passwords in a loop, a trader trying every limit and sending
/// controls, and an operator halting and resuming, all at once, beside a
/// well-behaved trader whose every order must be answered.
#[test]
fn a_hostile_run_leaves_a_well_behaved_client_fully_served() {
    let dir = TempDir::new("controls-hostile");
    let gw = Gateway::start(controls_config(&dir)).unwrap();
    let addr = gw.local_addr();
    let stop = Arc::new(AtomicBool::new(false));
    let mut hostile = Vec::new();
    // Wrong credentials, over and over, from one address.
    let s = Arc::clone(&stop);
    hostile.push(std::thread::spawn(move || {
        let mut refused = 0;
        while !s.load(Ordering::Relaxed) {
            // From an address of its own: failed logons are slowed per
            // address, and this one's must not slow the others'.
            let mut c = Client::connect_from("127.0.2.1", addr);
            c.send(ClientMessage::Logon(Logon {
                account: PLAIN,
                cancel_on_disconnect: false,
                password: password_field("wrong").unwrap(),
            }));
            if matches!(c.recv(), Some(ServerMessage::LogonReject(_))) {
                refused += 1;
            }
        }
        refused
    }));
    // A trader over every limit, and sending controls it may not.
    let s = Arc::clone(&stop);
    hostile.push(std::thread::spawn(move || {
        let mut t = logon(addr, LIMITED);
        let mut refused = 0;
        let mut coid = 1_000;
        while !s.load(Ordering::Relaxed) {
            for (instrument, price, qty) in [(1, 10, 101), (1, 151, 100), (COLLARED, 200, 1)] {
                coid += 1;
                order(&mut t, coid, instrument, Side::Buy, price, qty);
                if answer(&mut t, coid).is_some() {
                    refused += 1;
                }
            }
            t.send(ClientMessage::Halt(Halt {
                instrument: 1,
                halt: true,
            }));
            not_authorized(&mut t);
            std::thread::sleep(Duration::from_millis(2));
        }
        refused
    }));
    // The operator halts and resumes an instrument the good client does
    // not use.
    let s = Arc::clone(&stop);
    hostile.push(std::thread::spawn(move || {
        let mut op = logon(addr, OPERATOR);
        let mut acks = 0;
        while !s.load(Ordering::Relaxed) {
            acks += u32::from(halt(&mut op, 5, true).status == ControlStatus::Applied);
            acks += u32::from(halt(&mut op, 5, false).status == ControlStatus::Applied);
            std::thread::sleep(Duration::from_millis(2));
        }
        acks
    }));

    // The well-behaved client: 300 orders, each answered, resting ones
    // cancelled, each within the deadline `answer` allows.
    std::thread::sleep(Duration::from_millis(100));
    let mut good = logon(addr, PLAIN);
    let started = Instant::now();
    for coid in 1..=300u64 {
        order(&mut good, coid, 1, Side::Sell, 160 + (coid % 5) as i64, 1);
        assert_eq!(answer(&mut good, coid), None, "order {coid}");
        good.send(ClientMessage::Cancel(Cancel {
            client_order_id: coid,
        }));
        good.expect(
            "cancelled",
            |m| matches!(m, ServerMessage::Cancelled(c) if c.order.client_order_id == coid),
        );
    }
    let served_in = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let counts: Vec<u32> = hostile.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(
        counts.iter().all(|&n| n > 0),
        "every hostile actor got answers: {counts:?}"
    );
    assert!(served_in < Duration::from_secs(60), "{served_in:?}");
    gw.shutdown().unwrap();
}

/// With the default limits one account cannot fill a book: at a quarter of
/// this test gateway's books (4,096 orders) it is refused, and another
/// account still rests orders there.
#[test]
fn one_account_cannot_fill_a_book_with_the_default_limits() {
    let dir = TempDir::new("controls-book-full");
    let config = controls_config(&dir);
    let per_book = config.pipeline.engine.max_orders_per_book;
    let gw = Gateway::start(config).unwrap();
    let mut t = logon(gw.local_addr(), PLAIN);
    let quarter = u64::from(per_book / 4);
    for coid in 1..=quarter {
        order(&mut t, coid, 1, Side::Buy, 10 + (coid % 50) as i64, 1);
    }
    for _ in 1..=quarter {
        t.expect("accepted", |m| matches!(m, ServerMessage::Accepted(_)));
    }
    order(&mut t, quarter + 1, 1, Side::Buy, 10, 1);
    assert_eq!(
        answer(&mut t, quarter + 1),
        Some(OrderRejectReason::RiskOpenOrdersInstrument)
    );
    let mut other = logon(gw.local_addr(), LIMITED);
    order(&mut other, 1, 1, Side::Buy, 10, 1);
    assert_eq!(answer(&mut other, 1), None);
    gw.shutdown().unwrap();
}
