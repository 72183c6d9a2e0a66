//! The wire bytes are bincode's: every message kind, encoded by wincode, is
//! compared with bincode 2.0.1's `config::legacy()` encoding of the same
//! message written as plain serde types.
//!
//! The serde types below are the byte tables of docs/protocol.md restated:
//! fields in table order, enum variants in code order, and the conversions
//! from the protocol's types match variants by *name*. So a wrong code in
//! `codes.rs`, a field out of place, or a width that differs from the table
//! shows up as a byte difference here, with bincode as the referee.

mod common;

use bincode::config::legacy;
use gateway::protocol::*;
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

// ---- The reference layout, as serde types -------------------------------------------------

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct EnvelopeRef<M> {
    seq: u64,
    msg: M,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
enum SideRef {
    Buy,
    Sell,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
enum TimeInForceRef {
    Gtc,
    Ioc,
    Fok,
    Post,
    Market,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
enum ClientRef {
    Logon {
        account: u32,
        cancel_on_disconnect: bool,
        password: [u8; 32],
    },
    NewOrder {
        client_order_id: u64,
        instrument: u32,
        side: SideRef,
        price: i64,
        qty: u64,
        time_in_force: TimeInForceRef,
    },
    Cancel {
        client_order_id: u64,
    },
    Replace {
        client_order_id: u64,
        price: i64,
        qty: u64,
    },
    Heartbeat,
    Logout,
    Subscribe {
        instrument: u32,
        depth: u16,
    },
    MassCancel {
        instrument: u32,
        side: Option<SideRef>,
    },
    Unsubscribe {
        instrument: u32,
    },
    OrderStatusRequest {
        client_order_id: u64,
    },
    MassStatusRequest {
        instrument: u32,
    },
    ReportReplayRequest {
        after_seq: u64,
        after_index: u32,
    },
    Halt {
        instrument: u32,
        halt: bool,
    },
    KillSwitch {
        account: u32,
        kill: bool,
    },
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
enum LogonRejectReasonRef {
    UnknownAccount,
    AccountInUse,
    BadSequence,
    SessionLimit,
    BadCredentials,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
enum OrderRejectReasonRef {
    UnknownInstrument,
    BadQty,
    BadPrice,
    DuplicateId,
    UnknownOrder,
    WouldCross,
    BookFull,
    DuplicateClientOrderId,
    UnknownClientOrderId,
    Halted,
    PriceCollar,
    AccountBlocked,
    RiskOrderQty,
    RiskOrderNotional,
    RiskOpenOrders,
    RiskOpenOrdersInstrument,
    RiskPosition,
    RiskCredit,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
enum ControlActionRef {
    Halt,
    Resume,
    Kill,
    Enable,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
enum ControlStatusRef {
    Applied,
    UnknownInstrument,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
enum OrderStateRef {
    Unknown,
    PendingNew,
    Live,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
enum ReplayStatusRef {
    Complete,
    More,
    NotRetained,
    Busy,
    Failed,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
enum CancelReasonRef {
    User,
    Expired,
    SelfTrade,
}

/// Flat on the wire: each decode-error kind is a code of its own.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
enum SessionRejectReasonRef {
    NotLoggedOn,
    AlreadyLoggedOn,
    Throttled,
    SeqGap,
    SeqDuplicate,
    UnknownInstrument,
    DecodeFrameTooLarge,
    DecodeTruncated,
    DecodeTrailingBytes,
    DecodeUnknownMessageTag,
    DecodeBadEnumValue,
    DecodeMalformed,
    BadDepth,
    NotAuthorized,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
enum LogoutReasonRef {
    UserRequested,
    HeartbeatTimeout,
    LogonTimeout,
    Throttled,
    SeqGap,
    FrameTooLarge,
    SlowReader,
    Shutdown,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct OrderRefRef {
    client_order_id: u64,
    order_id: u64,
    instrument: u32,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct ExecRef {
    seq: u64,
    index: u32,
    transact_time_ns: u64,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct LevelRef {
    price: i64,
    qty: u64,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
enum ServerRef {
    LogonAck {
        account: u32,
        heartbeat_interval_ms: u32,
        max_msgs_per_sec: u32,
    },
    LogonReject {
        reason: LogonRejectReasonRef,
    },
    Accepted {
        order: OrderRefRef,
        exec: ExecRef,
    },
    Rejected {
        order: OrderRefRef,
        exec: ExecRef,
        reason: OrderRejectReasonRef,
    },
    Fill {
        order: OrderRefRef,
        exec: ExecRef,
        price: i64,
        qty: u64,
        leaves: u64,
    },
    Cancelled {
        order: OrderRefRef,
        exec: ExecRef,
        qty: u64,
        reason: CancelReasonRef,
    },
    Replaced {
        order: OrderRefRef,
        exec: ExecRef,
        price: i64,
        qty: u64,
    },
    Trade {
        instrument: u32,
        price: i64,
        qty: u64,
    },
    TopOfBook {
        instrument: u32,
        bid: Option<LevelRef>,
        ask: Option<LevelRef>,
    },
    Reject {
        ref_seq: u64,
        reason: SessionRejectReasonRef,
    },
    Heartbeat,
    Logout {
        reason: LogoutReasonRef,
    },
    MassCancelAck {
        ref_seq: u64,
        count: u32,
    },
    BookSnapshot {
        instrument: u32,
        seq: u64,
        bids: u32,
        asks: u32,
    },
    BookLevel {
        instrument: u32,
        seq: u64,
        side: SideRef,
        price: i64,
        qty: u64,
    },
    OrderStatus {
        ref_seq: u64,
        order: OrderRefRef,
        state: OrderStateRef,
        side: SideRef,
        price: i64,
        leaves: u64,
    },
    MassStatusEnd {
        ref_seq: u64,
        count: u32,
    },
    ReportReplayEnd {
        ref_seq: u64,
        status: ReplayStatusRef,
        count: u32,
        resume_seq: u64,
        resume_index: u32,
    },
    ControlAck {
        ref_seq: u64,
        action: ControlActionRef,
        target: u32,
        status: ControlStatusRef,
        command_seq: u64,
        cancelled: u32,
    },
    NotLeader {
        leader: u64,
        ip: [u8; 16],
        port: u16,
    },
}

// ---- Protocol value -> reference value, matched by name ------------------------------------

fn side(v: Side) -> SideRef {
    match v {
        Side::Buy => SideRef::Buy,
        Side::Sell => SideRef::Sell,
    }
}

fn tif(v: TimeInForce) -> TimeInForceRef {
    match v {
        TimeInForce::Gtc => TimeInForceRef::Gtc,
        TimeInForce::Ioc => TimeInForceRef::Ioc,
        TimeInForce::Fok => TimeInForceRef::Fok,
        TimeInForce::Post => TimeInForceRef::Post,
        TimeInForce::Market => TimeInForceRef::Market,
    }
}

fn client(m: ClientMessage) -> ClientRef {
    match m {
        ClientMessage::Logon(Logon {
            account,
            cancel_on_disconnect,
            password,
        }) => ClientRef::Logon {
            account,
            cancel_on_disconnect,
            password,
        },
        ClientMessage::NewOrder(o) => ClientRef::NewOrder {
            client_order_id: o.client_order_id,
            instrument: o.instrument,
            side: side(o.side),
            price: o.price,
            qty: o.qty,
            time_in_force: tif(o.time_in_force),
        },
        ClientMessage::Cancel(Cancel { client_order_id }) => ClientRef::Cancel { client_order_id },
        ClientMessage::Replace(Replace {
            client_order_id,
            price,
            qty,
        }) => ClientRef::Replace {
            client_order_id,
            price,
            qty,
        },
        ClientMessage::Heartbeat => ClientRef::Heartbeat,
        ClientMessage::Logout => ClientRef::Logout,
        ClientMessage::Subscribe(Subscribe { instrument, depth }) => {
            ClientRef::Subscribe { instrument, depth }
        }
        ClientMessage::MassCancel(MassCancel {
            instrument,
            side: s,
        }) => ClientRef::MassCancel {
            instrument,
            side: s.map(side),
        },
        ClientMessage::Unsubscribe(Unsubscribe { instrument }) => {
            ClientRef::Unsubscribe { instrument }
        }
        ClientMessage::OrderStatusRequest(OrderStatusRequest { client_order_id }) => {
            ClientRef::OrderStatusRequest { client_order_id }
        }
        ClientMessage::MassStatusRequest(MassStatusRequest { instrument }) => {
            ClientRef::MassStatusRequest { instrument }
        }
        ClientMessage::ReportReplayRequest(ReportReplayRequest {
            after_seq,
            after_index,
        }) => ClientRef::ReportReplayRequest {
            after_seq,
            after_index,
        },
        ClientMessage::Halt(Halt { instrument, halt }) => ClientRef::Halt { instrument, halt },
        ClientMessage::KillSwitch(KillSwitch { account, kill }) => {
            ClientRef::KillSwitch { account, kill }
        }
    }
}

fn logon_reject(v: LogonRejectReason) -> LogonRejectReasonRef {
    match v {
        LogonRejectReason::UnknownAccount => LogonRejectReasonRef::UnknownAccount,
        LogonRejectReason::AccountInUse => LogonRejectReasonRef::AccountInUse,
        LogonRejectReason::BadSequence => LogonRejectReasonRef::BadSequence,
        LogonRejectReason::SessionLimit => LogonRejectReasonRef::SessionLimit,
        LogonRejectReason::BadCredentials => LogonRejectReasonRef::BadCredentials,
    }
}

fn order_reject(v: OrderRejectReason) -> OrderRejectReasonRef {
    use OrderRejectReason as R;
    use OrderRejectReasonRef as F;
    match v {
        R::UnknownInstrument => F::UnknownInstrument,
        R::BadQty => F::BadQty,
        R::BadPrice => F::BadPrice,
        R::DuplicateId => F::DuplicateId,
        R::UnknownOrder => F::UnknownOrder,
        R::WouldCross => F::WouldCross,
        R::BookFull => F::BookFull,
        R::DuplicateClientOrderId => F::DuplicateClientOrderId,
        R::UnknownClientOrderId => F::UnknownClientOrderId,
        R::Halted => F::Halted,
        R::PriceCollar => F::PriceCollar,
        R::AccountBlocked => F::AccountBlocked,
        R::RiskOrderQty => F::RiskOrderQty,
        R::RiskOrderNotional => F::RiskOrderNotional,
        R::RiskOpenOrders => F::RiskOpenOrders,
        R::RiskOpenOrdersInstrument => F::RiskOpenOrdersInstrument,
        R::RiskPosition => F::RiskPosition,
        R::RiskCredit => F::RiskCredit,
    }
}

fn control_action(v: ControlAction) -> ControlActionRef {
    match v {
        ControlAction::Halt => ControlActionRef::Halt,
        ControlAction::Resume => ControlActionRef::Resume,
        ControlAction::Kill => ControlActionRef::Kill,
        ControlAction::Enable => ControlActionRef::Enable,
    }
}

fn control_status(v: ControlStatus) -> ControlStatusRef {
    match v {
        ControlStatus::Applied => ControlStatusRef::Applied,
        ControlStatus::UnknownInstrument => ControlStatusRef::UnknownInstrument,
    }
}

fn order_state(v: OrderState) -> OrderStateRef {
    match v {
        OrderState::Unknown => OrderStateRef::Unknown,
        OrderState::PendingNew => OrderStateRef::PendingNew,
        OrderState::Live => OrderStateRef::Live,
    }
}

fn replay_status(v: ReplayStatus) -> ReplayStatusRef {
    match v {
        ReplayStatus::Complete => ReplayStatusRef::Complete,
        ReplayStatus::More => ReplayStatusRef::More,
        ReplayStatus::NotRetained => ReplayStatusRef::NotRetained,
        ReplayStatus::Busy => ReplayStatusRef::Busy,
        ReplayStatus::Failed => ReplayStatusRef::Failed,
    }
}

fn cancel_reason(v: CancelReason) -> CancelReasonRef {
    match v {
        CancelReason::User => CancelReasonRef::User,
        CancelReason::Expired => CancelReasonRef::Expired,
        CancelReason::SelfTrade => CancelReasonRef::SelfTrade,
    }
}

fn session_reject(v: SessionRejectReason) -> SessionRejectReasonRef {
    use DecodeErrorKind as K;
    use SessionRejectReason as R;
    use SessionRejectReasonRef as F;
    match v {
        R::NotLoggedOn => F::NotLoggedOn,
        R::AlreadyLoggedOn => F::AlreadyLoggedOn,
        R::Throttled => F::Throttled,
        R::SeqGap => F::SeqGap,
        R::SeqDuplicate => F::SeqDuplicate,
        R::UnknownInstrument => F::UnknownInstrument,
        R::DecodeFailed(K::FrameTooLarge) => F::DecodeFrameTooLarge,
        R::DecodeFailed(K::Truncated) => F::DecodeTruncated,
        R::DecodeFailed(K::TrailingBytes) => F::DecodeTrailingBytes,
        R::DecodeFailed(K::UnknownMessageTag) => F::DecodeUnknownMessageTag,
        R::DecodeFailed(K::BadEnumValue) => F::DecodeBadEnumValue,
        R::DecodeFailed(K::Malformed) => F::DecodeMalformed,
        R::BadDepth => F::BadDepth,
        R::NotAuthorized => F::NotAuthorized,
    }
}

fn logout_reason(v: LogoutReason) -> LogoutReasonRef {
    use LogoutReason as R;
    use LogoutReasonRef as F;
    match v {
        R::UserRequested => F::UserRequested,
        R::HeartbeatTimeout => F::HeartbeatTimeout,
        R::LogonTimeout => F::LogonTimeout,
        R::Throttled => F::Throttled,
        R::SeqGap => F::SeqGap,
        R::FrameTooLarge => F::FrameTooLarge,
        R::SlowReader => F::SlowReader,
        R::Shutdown => F::Shutdown,
    }
}

fn order(o: OrderRef) -> OrderRefRef {
    OrderRefRef {
        client_order_id: o.client_order_id,
        order_id: o.order_id,
        instrument: o.instrument,
    }
}

fn exec(e: Exec) -> ExecRef {
    ExecRef {
        seq: e.seq,
        index: e.index,
        transact_time_ns: e.transact_time_ns,
    }
}

fn level(l: Option<Level>) -> Option<LevelRef> {
    l.map(|l| LevelRef {
        price: l.price,
        qty: l.qty,
    })
}

fn server(m: ServerMessage) -> ServerRef {
    match m {
        ServerMessage::LogonAck(LogonAck {
            account,
            heartbeat_interval_ms,
            max_msgs_per_sec,
        }) => ServerRef::LogonAck {
            account,
            heartbeat_interval_ms,
            max_msgs_per_sec,
        },
        ServerMessage::LogonReject(m) => ServerRef::LogonReject {
            reason: logon_reject(m.reason),
        },
        ServerMessage::Accepted(m) => ServerRef::Accepted {
            order: order(m.order),
            exec: exec(m.exec),
        },
        ServerMessage::Rejected(m) => ServerRef::Rejected {
            order: order(m.order),
            exec: exec(m.exec),
            reason: order_reject(m.reason),
        },
        ServerMessage::Fill(m) => ServerRef::Fill {
            order: order(m.order),
            exec: exec(m.exec),
            price: m.price,
            qty: m.qty,
            leaves: m.leaves,
        },
        ServerMessage::Cancelled(m) => ServerRef::Cancelled {
            order: order(m.order),
            exec: exec(m.exec),
            qty: m.qty,
            reason: cancel_reason(m.reason),
        },
        ServerMessage::Replaced(m) => ServerRef::Replaced {
            order: order(m.order),
            exec: exec(m.exec),
            price: m.price,
            qty: m.qty,
        },
        ServerMessage::Trade(Trade {
            instrument,
            price,
            qty,
        }) => ServerRef::Trade {
            instrument,
            price,
            qty,
        },
        ServerMessage::TopOfBook(m) => ServerRef::TopOfBook {
            instrument: m.instrument,
            bid: level(m.bid),
            ask: level(m.ask),
        },
        ServerMessage::Reject(m) => ServerRef::Reject {
            ref_seq: m.ref_seq,
            reason: session_reject(m.reason),
        },
        ServerMessage::Heartbeat => ServerRef::Heartbeat,
        ServerMessage::Logout(m) => ServerRef::Logout {
            reason: logout_reason(m.reason),
        },
        ServerMessage::MassCancelAck(m) => ServerRef::MassCancelAck {
            ref_seq: m.ref_seq,
            count: m.count,
        },
        ServerMessage::BookSnapshot(BookSnapshot {
            instrument,
            seq,
            bids,
            asks,
        }) => ServerRef::BookSnapshot {
            instrument,
            seq,
            bids,
            asks,
        },
        ServerMessage::BookLevel(m) => ServerRef::BookLevel {
            instrument: m.instrument,
            seq: m.seq,
            side: side(m.side),
            price: m.price,
            qty: m.qty,
        },
        ServerMessage::OrderStatus(m) => ServerRef::OrderStatus {
            ref_seq: m.ref_seq,
            order: order(m.order),
            state: order_state(m.state),
            side: side(m.side),
            price: m.price,
            leaves: m.leaves,
        },
        ServerMessage::MassStatusEnd(MassStatusEnd { ref_seq, count }) => {
            ServerRef::MassStatusEnd { ref_seq, count }
        }
        ServerMessage::ReportReplayEnd(m) => ServerRef::ReportReplayEnd {
            ref_seq: m.ref_seq,
            status: replay_status(m.status),
            count: m.count,
            resume_seq: m.resume_seq,
            resume_index: m.resume_index,
        },
        ServerMessage::ControlAck(m) => ServerRef::ControlAck {
            ref_seq: m.ref_seq,
            action: control_action(m.action),
            target: m.target,
            status: control_status(m.status),
            command_seq: m.command_seq,
            cancelled: m.cancelled,
        },
        ServerMessage::NotLeader(NotLeader { leader, ip, port }) => {
            ServerRef::NotLeader { leader, ip, port }
        }
    }
}

// ---- The comparison ------------------------------------------------------------------------

/// bincode 2.0.1's legacy encoding of a reference value.
fn bincode_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    bincode::serde::encode_to_vec(value, legacy()).expect("bincode encodes")
}

/// Asserts that wincode's payload of `env` is bincode's encoding of `reference`,
/// and that each side decodes the other's bytes back to the same value.
fn assert_same_bytes<M, R>(env: Envelope<M>, reference: EnvelopeRef<R>)
where
    M: Message + PartialEq,
    R: Serialize + serde::de::DeserializeOwned + std::fmt::Debug + PartialEq,
{
    let expected = bincode_bytes(&reference);
    let mut buf = [0u8; MAX_FRAME_LEN];
    let len = encode_payload(&env, &mut buf).expect("wincode encodes");
    assert_eq!(&buf[..len], &expected[..], "{} ({env:?})", env.msg.name());
    assert_eq!(decode_payload::<M>(&expected), Ok(env));
    let (decoded, read): (EnvelopeRef<R>, usize) =
        bincode::serde::decode_from_slice(&buf[..len], legacy()).expect("bincode decodes");
    assert_eq!(read, len);
    assert_eq!(decoded, reference);
}

#[test]
fn every_client_message_is_bincode_legacy() {
    for msg in common::every_client_message() {
        let env = Envelope {
            seq: common::SEQ,
            msg,
        };
        assert_same_bytes(
            env,
            EnvelopeRef {
                seq: common::SEQ,
                msg: client(msg),
            },
        );
    }
}

#[test]
fn every_server_message_is_bincode_legacy() {
    for msg in common::every_server_message() {
        let env = Envelope {
            seq: common::SEQ,
            msg,
        };
        assert_same_bytes(
            env,
            EnvelopeRef {
                seq: common::SEQ,
                msg: server(msg),
            },
        );
    }
}

/// One literal byte string, checked by eye against the table in docs/protocol.md,
/// so that the reference types above cannot drift together with the code.
#[test]
fn a_new_order_has_the_documented_bytes() {
    let msg = ClientMessage::NewOrder(NewOrder {
        client_order_id: 0x0102_0304_0506_0708,
        instrument: 0x1112_1314,
        side: Side::Sell,
        price: -2,
        qty: 300,
        time_in_force: TimeInForce::Post,
    });
    let frame = common::frame(&Envelope { seq: 5, msg });
    #[rustfmt::skip]
    let expected: [u8; 52] = [
        48, 0, 0, 0,                                     // length prefix: 48
        5, 0, 0, 0, 0, 0, 0, 0,                          // seq: 5
        1, 0, 0, 0,                                      // tag: NewOrder
        0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,  // client_order_id
        0x14, 0x13, 0x12, 0x11,                          // instrument
        1, 0, 0, 0,                                      // side: Sell
        0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // price: -2
        0x2c, 0x01, 0, 0, 0, 0, 0, 0,                    // qty: 300
        3, 0, 0, 0,                                      // time_in_force: POST
    ];
    assert_eq!(frame, expected);
}

/// The protocol's first `u16`, checked by eye against the Subscribe table.
#[test]
fn a_subscribe_has_the_documented_bytes() {
    let msg = ClientMessage::Subscribe(Subscribe {
        instrument: 0x1112_1314,
        depth: MAX_DEPTH,
    });
    let frame = common::frame(&Envelope { seq: 3, msg });
    #[rustfmt::skip]
    let expected: [u8; 22] = [
        18, 0, 0, 0,                                     // length prefix: 18
        3, 0, 0, 0, 0, 0, 0, 0,                          // seq: 3
        6, 0, 0, 0,                                      // tag: Subscribe
        0x14, 0x13, 0x12, 0x11,                          // instrument
        64, 0,                                           // depth: 64
    ];
    assert_eq!(frame, expected);
}

/// A depth update, checked by eye against the BookLevel table.
#[test]
fn a_book_level_has_the_documented_bytes() {
    let msg = ServerMessage::BookLevel(BookLevel {
        instrument: 2,
        seq: 0x0102_0304_0506_0708,
        side: Side::Sell,
        price: -3,
        qty: 500,
    });
    let frame = common::frame(&Envelope { seq: 9, msg });
    #[rustfmt::skip]
    let expected: [u8; 48] = [
        44, 0, 0, 0,                                     // length prefix: 44
        9, 0, 0, 0, 0, 0, 0, 0,                          // seq: 9
        14, 0, 0, 0,                                     // tag: BookLevel
        2, 0, 0, 0,                                      // instrument
        0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,  // seq of the book
        1, 0, 0, 0,                                      // side: Sell
        0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // price: -3
        0xf4, 0x01, 0, 0, 0, 0, 0, 0,                    // qty: 500
    ];
    assert_eq!(frame, expected);
}

/// An order's status, checked by eye against the OrderStatus table.
#[test]
fn an_order_status_has_the_documented_bytes() {
    let msg = ServerMessage::OrderStatus(OrderStatus {
        ref_seq: 0x0102_0304_0506_0708,
        order: OrderRef {
            client_order_id: 0x1112_1314_1516_1718,
            order_id: 0x2122_2324_2526_2728,
            instrument: 3,
        },
        state: OrderState::Live,
        side: Side::Sell,
        price: -2,
        leaves: 300,
    });
    let frame = common::frame(&Envelope { seq: 6, msg });
    #[rustfmt::skip]
    let expected: [u8; 68] = [
        64, 0, 0, 0,                                     // length prefix: 64
        6, 0, 0, 0, 0, 0, 0, 0,                          // seq: 6
        15, 0, 0, 0,                                     // tag: OrderStatus
        0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,  // ref_seq
        0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11,  // client_order_id
        0x28, 0x27, 0x26, 0x25, 0x24, 0x23, 0x22, 0x21,  // order_id
        3, 0, 0, 0,                                      // instrument
        2, 0, 0, 0,                                      // state: LIVE
        1, 0, 0, 0,                                      // side: Sell
        0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // price: -2
        0x2c, 0x01, 0, 0, 0, 0, 0, 0,                    // leaves: 300
    ];
    assert_eq!(frame, expected);
}

/// A report replay's request and end, checked by eye against their tables.
#[test]
fn a_report_replay_has_the_documented_bytes() {
    let msg = ClientMessage::ReportReplayRequest(ReportReplayRequest {
        after_seq: 0x0102_0304_0506_0708,
        after_index: 3,
    });
    let frame = common::frame(&Envelope { seq: 2, msg });
    #[rustfmt::skip]
    let expected: [u8; 28] = [
        24, 0, 0, 0,                                     // length prefix: 24
        2, 0, 0, 0, 0, 0, 0, 0,                          // seq: 2
        11, 0, 0, 0,                                     // tag: ReportReplayRequest
        0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,  // after_seq
        3, 0, 0, 0,                                      // after_index: 3
    ];
    assert_eq!(frame, expected);

    let msg = ServerMessage::ReportReplayEnd(ReportReplayEnd {
        ref_seq: 2,
        status: ReplayStatus::NotRetained,
        count: 0,
        resume_seq: 0x1112_1314_1516_1718,
        resume_index: u32::MAX,
    });
    let frame = common::frame(&Envelope { seq: 9, msg });
    #[rustfmt::skip]
    let expected: [u8; 44] = [
        40, 0, 0, 0,                                     // length prefix: 40
        9, 0, 0, 0, 0, 0, 0, 0,                          // seq: 9
        17, 0, 0, 0,                                     // tag: ReportReplayEnd
        2, 0, 0, 0, 0, 0, 0, 0,                          // ref_seq: 2
        2, 0, 0, 0,                                      // status: NOT_RETAINED
        0, 0, 0, 0,                                      // count: 0
        0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11,  // resume_seq
        0xff, 0xff, 0xff, 0xff,                          // resume_index: u32::MAX
    ];
    assert_eq!(frame, expected);
}

/// The operator messages, checked by eye against the Halt, KillSwitch and
/// ControlAck tables.
#[test]
fn the_operator_messages_have_the_documented_bytes() {
    let msg = ClientMessage::Halt(Halt {
        instrument: 0x1112_1314,
        halt: true,
    });
    let frame = common::frame(&Envelope { seq: 2, msg });
    #[rustfmt::skip]
    let expected: [u8; 21] = [
        17, 0, 0, 0,                                     // length prefix: 17
        2, 0, 0, 0, 0, 0, 0, 0,                          // seq: 2
        12, 0, 0, 0,                                     // tag: Halt
        0x14, 0x13, 0x12, 0x11,                          // instrument
        1,                                               // halt: true
    ];
    assert_eq!(frame, expected);

    let msg = ClientMessage::KillSwitch(KillSwitch {
        account: 7,
        kill: false,
    });
    let frame = common::frame(&Envelope { seq: 3, msg });
    #[rustfmt::skip]
    let expected: [u8; 21] = [
        17, 0, 0, 0,                                     // length prefix: 17
        3, 0, 0, 0, 0, 0, 0, 0,                          // seq: 3
        13, 0, 0, 0,                                     // tag: KillSwitch
        7, 0, 0, 0,                                      // account: 7
        0,                                               // kill: false (enable)
    ];
    assert_eq!(frame, expected);

    let msg = ServerMessage::ControlAck(ControlAck {
        ref_seq: 3,
        action: ControlAction::Kill,
        target: 7,
        status: ControlStatus::Applied,
        command_seq: 0x0102_0304_0506_0708,
        cancelled: 0x1112_1314,
    });
    let frame = common::frame(&Envelope { seq: 4, msg });
    #[rustfmt::skip]
    let expected: [u8; 48] = [
        44, 0, 0, 0,                                     // length prefix: 44
        4, 0, 0, 0, 0, 0, 0, 0,                          // seq: 4
        18, 0, 0, 0,                                     // tag: ControlAck
        3, 0, 0, 0, 0, 0, 0, 0,                          // ref_seq: 3
        2, 0, 0, 0,                                      // action: KILL
        7, 0, 0, 0,                                      // target: account 7
        0, 0, 0, 0,                                      // status: APPLIED
        0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,  // command_seq
        0x14, 0x13, 0x12, 0x11,                          // cancelled
    ];
    assert_eq!(frame, expected);
}

/// A cluster follower's answer, checked by eye against the NotLeader table:
/// an IPv4 leader (mapped into IPv6), an IPv6 one, and no leader.
#[test]
fn a_not_leader_has_the_documented_bytes() {
    let v4: std::net::SocketAddr = "10.1.2.3:7001".parse().unwrap();
    let msg = ServerMessage::NotLeader(NotLeader::new(Some((2, v4))));
    let frame = common::frame(&Envelope { seq: 1, msg });
    #[rustfmt::skip]
    let expected: [u8; 42] = [
        38, 0, 0, 0,                                     // length prefix: 38
        1, 0, 0, 0, 0, 0, 0, 0,                          // seq: 1
        19, 0, 0, 0,                                     // tag: NotLeader
        2, 0, 0, 0, 0, 0, 0, 0,                          // leader: node 2
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,        // ip: ::ffff:
        10, 1, 2, 3,                                     //     10.1.2.3
        0x59, 0x1b,                                      // port: 7001
    ];
    assert_eq!(frame, expected);

    let v6: std::net::SocketAddr = "[2001:db8::42]:443".parse().unwrap();
    let msg = ServerMessage::NotLeader(NotLeader::new(Some((0x0102_0304_0506_0708, v6))));
    let frame = common::frame(&Envelope { seq: 1, msg });
    #[rustfmt::skip]
    let expected: [u8; 42] = [
        38, 0, 0, 0,                                     // length prefix: 38
        1, 0, 0, 0, 0, 0, 0, 0,                          // seq: 1
        19, 0, 0, 0,                                     // tag: NotLeader
        0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,  // leader
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,              // ip: 2001:db8::42,
        0, 0, 0, 0, 0, 0, 0, 0x42,                       //     network byte order
        0xbb, 0x01,                                      // port: 443
    ];
    assert_eq!(frame, expected);

    let msg = ServerMessage::NotLeader(NotLeader::new(None));
    let frame = common::frame(&Envelope { seq: 1, msg });
    #[rustfmt::skip]
    let expected: [u8; 42] = [
        38, 0, 0, 0,                                     // length prefix: 38
        1, 0, 0, 0, 0, 0, 0, 0,                          // seq: 1
        19, 0, 0, 0,                                     // tag: NotLeader
        0, 0, 0, 0, 0, 0, 0, 0,                          // leader: 0, none known
        0, 0, 0, 0, 0, 0, 0, 0,                          // ip: zeros
        0, 0, 0, 0, 0, 0, 0, 0,
        0, 0,                                            // port: 0
    ];
    assert_eq!(frame, expected);
}

/// The codes added with the operator controls, by number, as the Codes
/// tables of docs/protocol.md give them.
#[test]
fn the_operator_codes_have_the_documented_numbers() {
    use OrderRejectReason as R;
    let reasons = [
        (R::Halted, 9),
        (R::PriceCollar, 10),
        (R::AccountBlocked, 11),
        (R::RiskOrderQty, 12),
        (R::RiskOrderNotional, 13),
        (R::RiskOpenOrders, 14),
        (R::RiskOpenOrdersInstrument, 15),
        (R::RiskPosition, 16),
        (R::RiskCredit, 17),
    ];
    for (reason, code) in reasons {
        assert_eq!(reason.code(), code, "{reason:?}");
    }
    assert_eq!(OrderRejectReason::ALL.len(), 18);
    let actions = [
        (ControlAction::Halt, 0),
        (ControlAction::Resume, 1),
        (ControlAction::Kill, 2),
        (ControlAction::Enable, 3),
    ];
    for (action, code) in actions {
        assert_eq!(action.code(), code, "{action:?}");
    }
    assert_eq!(ControlAction::ALL.len(), 4);
    assert_eq!(ControlStatus::Applied.code(), 0);
    assert_eq!(ControlStatus::UnknownInstrument.code(), 1);
    assert_eq!(ControlStatus::ALL.len(), 2);
    assert_eq!(SessionRejectReason::NotAuthorized.code(), 13);
    assert_eq!(
        SessionRejectReason::from_code(13),
        Some(SessionRejectReason::NotAuthorized)
    );
    assert_eq!(SessionRejectReason::from_code(14), None);
}

proptest! {
    #[test]
    fn random_client_messages_are_bincode_legacy(env in common::envelope(common::client_message())) {
        assert_same_bytes(env, EnvelopeRef { seq: env.seq, msg: client(env.msg) });
    }

    #[test]
    fn random_server_messages_are_bincode_legacy(env in common::envelope(common::server_message())) {
        assert_same_bytes(env, EnvelopeRef { seq: env.seq, msg: server(env.msg) });
    }
}
