//! Messages and property strategies shared by the protocol tests.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::collections::BTreeSet;

use gateway::protocol::*;
use proptest::prelude::*;

/// A value of every code of an enumeration.
pub fn code<T: WireCode + std::fmt::Debug>() -> impl Strategy<Value = T> {
    proptest::sample::select(T::ALL)
}

fn exec() -> impl Strategy<Value = Exec> {
    (any::<u64>(), any::<u32>(), any::<u64>()).prop_map(|(seq, index, transact_time_ns)| Exec {
        seq,
        index,
        transact_time_ns,
    })
}

fn order_ref() -> impl Strategy<Value = OrderRef> {
    (any::<u64>(), any::<u64>(), any::<u32>()).prop_map(
        |(client_order_id, order_id, instrument)| OrderRef {
            client_order_id,
            order_id,
            instrument,
        },
    )
}

fn level() -> impl Strategy<Value = Option<Level>> {
    proptest::option::of((any::<i64>(), any::<u64>()).prop_map(|(price, qty)| Level { price, qty }))
}

/// Any client message.
pub fn client_message() -> impl Strategy<Value = ClientMessage> {
    prop_oneof![
        (any::<u32>(), any::<bool>(), any::<[u8; 32]>()).prop_map(
            |(account, cancel_on_disconnect, password)| {
                ClientMessage::Logon(Logon {
                    account,
                    cancel_on_disconnect,
                    password,
                })
            }
        ),
        (
            any::<u64>(),
            any::<u32>(),
            code(),
            any::<i64>(),
            any::<u64>(),
            code()
        )
            .prop_map(
                |(client_order_id, instrument, side, price, qty, time_in_force)| {
                    ClientMessage::NewOrder(NewOrder {
                        client_order_id,
                        instrument,
                        side,
                        price,
                        qty,
                        time_in_force,
                    })
                }
            ),
        any::<u64>().prop_map(|client_order_id| ClientMessage::Cancel(Cancel { client_order_id })),
        (any::<u64>(), any::<i64>(), any::<u64>()).prop_map(|(client_order_id, price, qty)| {
            ClientMessage::Replace(Replace {
                client_order_id,
                price,
                qty,
            })
        }),
        Just(ClientMessage::Heartbeat),
        Just(ClientMessage::Logout),
        (any::<u32>(), any::<u16>()).prop_map(|(instrument, depth)| {
            ClientMessage::Subscribe(Subscribe { instrument, depth })
        }),
        (any::<u32>(), proptest::option::of(code())).prop_map(|(instrument, side)| {
            ClientMessage::MassCancel(MassCancel { instrument, side })
        }),
        any::<u32>().prop_map(|instrument| ClientMessage::Unsubscribe(Unsubscribe { instrument })),
        any::<u64>().prop_map(|client_order_id| {
            ClientMessage::OrderStatusRequest(OrderStatusRequest { client_order_id })
        }),
        any::<u32>().prop_map(|instrument| {
            ClientMessage::MassStatusRequest(MassStatusRequest { instrument })
        }),
        (any::<u64>(), any::<u32>()).prop_map(|(after_seq, after_index)| {
            ClientMessage::ReportReplayRequest(ReportReplayRequest {
                after_seq,
                after_index,
            })
        }),
        (any::<u32>(), any::<bool>())
            .prop_map(|(instrument, halt)| ClientMessage::Halt(Halt { instrument, halt })),
        (any::<u32>(), any::<bool>())
            .prop_map(|(account, kill)| ClientMessage::KillSwitch(KillSwitch { account, kill })),
    ]
}

/// Any server message.
pub fn server_message() -> impl Strategy<Value = ServerMessage> {
    prop_oneof![
        (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(
            |(account, heartbeat_interval_ms, max_msgs_per_sec)| {
                ServerMessage::LogonAck(LogonAck {
                    account,
                    heartbeat_interval_ms,
                    max_msgs_per_sec,
                })
            }
        ),
        code().prop_map(|reason| ServerMessage::LogonReject(LogonReject { reason })),
        (order_ref(), exec())
            .prop_map(|(order, exec)| ServerMessage::Accepted(Accepted { order, exec })),
        (order_ref(), exec(), code()).prop_map(|(order, exec, reason)| {
            ServerMessage::Rejected(Rejected {
                order,
                exec,
                reason,
            })
        }),
        (
            order_ref(),
            exec(),
            any::<i64>(),
            any::<u64>(),
            any::<u64>()
        )
            .prop_map(
                |(order, exec, price, qty, leaves)| ServerMessage::Fill(Fill {
                    order,
                    exec,
                    price,
                    qty,
                    leaves
                })
            ),
        (order_ref(), exec(), any::<u64>(), code()).prop_map(|(order, exec, qty, reason)| {
            ServerMessage::Cancelled(Cancelled {
                order,
                exec,
                qty,
                reason,
            })
        }),
        (order_ref(), exec(), any::<i64>(), any::<u64>()).prop_map(|(order, exec, price, qty)| {
            ServerMessage::Replaced(Replaced {
                order,
                exec,
                price,
                qty,
            })
        }),
        (any::<u32>(), any::<i64>(), any::<u64>()).prop_map(|(instrument, price, qty)| {
            ServerMessage::Trade(Trade {
                instrument,
                price,
                qty,
            })
        }),
        (any::<u32>(), level(), level()).prop_map(|(instrument, bid, ask)| {
            ServerMessage::TopOfBook(TopOfBook {
                instrument,
                bid,
                ask,
            })
        }),
        (any::<u64>(), code())
            .prop_map(|(ref_seq, reason)| ServerMessage::Reject(Reject { ref_seq, reason })),
        Just(ServerMessage::Heartbeat),
        code().prop_map(|reason| ServerMessage::Logout(Logout { reason })),
        (any::<u64>(), any::<u32>()).prop_map(|(ref_seq, count)| {
            ServerMessage::MassCancelAck(MassCancelAck { ref_seq, count })
        }),
        (any::<u32>(), any::<u64>(), any::<u32>(), any::<u32>()).prop_map(
            |(instrument, seq, bids, asks)| {
                ServerMessage::BookSnapshot(BookSnapshot {
                    instrument,
                    seq,
                    bids,
                    asks,
                })
            }
        ),
        (
            any::<u32>(),
            any::<u64>(),
            code(),
            any::<i64>(),
            any::<u64>()
        )
            .prop_map(|(instrument, seq, side, price, qty)| {
                ServerMessage::BookLevel(BookLevel {
                    instrument,
                    seq,
                    side,
                    price,
                    qty,
                })
            }),
        (
            any::<u64>(),
            order_ref(),
            code(),
            code(),
            any::<i64>(),
            any::<u64>()
        )
            .prop_map(|(ref_seq, order, state, side, price, leaves)| {
                ServerMessage::OrderStatus(OrderStatus {
                    ref_seq,
                    order,
                    state,
                    side,
                    price,
                    leaves,
                })
            }),
        (any::<u64>(), any::<u32>()).prop_map(|(ref_seq, count)| {
            ServerMessage::MassStatusEnd(MassStatusEnd { ref_seq, count })
        }),
        (
            any::<u64>(),
            code(),
            any::<u32>(),
            any::<u64>(),
            any::<u32>()
        )
            .prop_map(|(ref_seq, status, count, resume_seq, resume_index)| {
                ServerMessage::ReportReplayEnd(ReportReplayEnd {
                    ref_seq,
                    status,
                    count,
                    resume_seq,
                    resume_index,
                })
            }),
        (
            any::<u64>(),
            code(),
            any::<u32>(),
            code(),
            any::<u64>(),
            any::<u32>()
        )
            .prop_map(
                |(ref_seq, action, target, status, command_seq, cancelled)| {
                    ServerMessage::ControlAck(ControlAck {
                        ref_seq,
                        action,
                        target,
                        status,
                        command_seq,
                        cancelled,
                    })
                }
            ),
        (any::<u64>(), any::<[u8; 16]>(), any::<u16>()).prop_map(|(leader, ip, port)| {
            ServerMessage::NotLeader(NotLeader { leader, ip, port })
        }),
    ]
}

/// Any envelope of `message`.
pub fn envelope<M: std::fmt::Debug>(
    message: impl Strategy<Value = M>,
) -> impl Strategy<Value = Envelope<M>> {
    (any::<u64>(), message).prop_map(|(seq, msg)| Envelope { seq, msg })
}

/// An order reference whose bytes are all different, so a field written at
/// the wrong place or width shows in a byte comparison.
pub const ORDER: OrderRef = OrderRef {
    client_order_id: 0x1112_1314_1516_1718,
    order_id: 0x2122_2324_2526_2728,
    instrument: 0x3132_3334,
};

/// A report's execution, every byte distinct.
pub const EXEC: Exec = Exec {
    seq: 0x8182_8384_8586_8788,
    index: 0x9192_9394,
    transact_time_ns: 0xa1a2_a3a4_a5a6_a7a8,
};

/// Every client message kind, with every value of each enumerated field and
/// the extremes of the integer fields.
pub fn every_client_message() -> Vec<ClientMessage> {
    let mut all = vec![
        ClientMessage::Logon(Logon {
            account: 0x0102_0304,
            cancel_on_disconnect: false,
            password: [0; 32],
        }),
        ClientMessage::Logon(Logon {
            account: 0x0102_0304,
            cancel_on_disconnect: true,
            password: *b"a password of 32 bytes, exactly!",
        }),
        ClientMessage::Cancel(Cancel {
            client_order_id: u64::MAX,
        }),
        ClientMessage::Replace(Replace {
            client_order_id: 7,
            price: i64::MIN,
            qty: u64::MAX,
        }),
        ClientMessage::Replace(Replace {
            client_order_id: 0,
            price: -1,
            qty: 0,
        }),
        ClientMessage::Heartbeat,
        ClientMessage::Logout,
        ClientMessage::Subscribe(Subscribe {
            instrument: u32::MAX,
            depth: 0,
        }),
        ClientMessage::Subscribe(Subscribe {
            instrument: 0x0102_0304,
            depth: MAX_DEPTH,
        }),
        ClientMessage::Subscribe(Subscribe {
            instrument: 0x1112_1314,
            depth: u16::MAX,
        }),
        ClientMessage::MassCancel(MassCancel {
            instrument: 0x0102_0304,
            side: None,
        }),
        ClientMessage::Unsubscribe(Unsubscribe {
            instrument: 0x2122_2324,
        }),
        ClientMessage::OrderStatusRequest(OrderStatusRequest {
            client_order_id: 0x3132_3334_3536_3738,
        }),
        ClientMessage::OrderStatusRequest(OrderStatusRequest {
            client_order_id: u64::MAX,
        }),
        ClientMessage::MassStatusRequest(MassStatusRequest {
            instrument: 0x4142_4344,
        }),
        // Every instrument.
        ClientMessage::MassStatusRequest(MassStatusRequest { instrument: 0 }),
        ClientMessage::ReportReplayRequest(ReportReplayRequest {
            after_seq: 0x5152_5354_5556_5758,
            after_index: 0x6162_6364,
        }),
        // Everything retained; and after a NOT_RETAINED's resume id.
        ClientMessage::ReportReplayRequest(ReportReplayRequest {
            after_seq: 0,
            after_index: 0,
        }),
        ClientMessage::ReportReplayRequest(ReportReplayRequest {
            after_seq: 1,
            after_index: u32::MAX,
        }),
        // The operator's controls, both ways each.
        ClientMessage::Halt(Halt {
            instrument: 0x7172_7374,
            halt: true,
        }),
        ClientMessage::Halt(Halt {
            instrument: u32::MAX,
            halt: false,
        }),
        ClientMessage::KillSwitch(KillSwitch {
            account: 0x8182_8384,
            kill: true,
        }),
        ClientMessage::KillSwitch(KillSwitch {
            account: 0,
            kill: false,
        }),
    ];
    for &side in Side::ALL {
        all.push(ClientMessage::MassCancel(MassCancel {
            instrument: 0,
            side: Some(side),
        }));
        for &time_in_force in TimeInForce::ALL {
            all.push(ClientMessage::NewOrder(NewOrder {
                client_order_id: 0x0102_0304_0506_0708,
                instrument: 0x1112_1314,
                side,
                price: -0x2122_2324_2526_2728,
                qty: 0x3132_3334_3536_3738,
                time_in_force,
            }));
        }
    }
    assert_covers_every_tag(all.iter().map(ClientMessage::tag), ClientMessage::TAG_COUNT);
    all
}

/// Every server message kind, with every value of each enumerated field, both
/// states of each optional book side, and the extremes of the integer fields.
pub fn every_server_message() -> Vec<ServerMessage> {
    let mut all = vec![
        ServerMessage::LogonAck(LogonAck {
            account: 0x0102_0304,
            heartbeat_interval_ms: 0x1112_1314,
            max_msgs_per_sec: 0x2122_2324,
        }),
        ServerMessage::Accepted(Accepted {
            order: ORDER,
            exec: EXEC,
        }),
        ServerMessage::Fill(Fill {
            order: ORDER,
            exec: EXEC,
            price: i64::MIN,
            qty: 0x4142_4344_4546_4748,
            leaves: u64::MAX,
        }),
        ServerMessage::Replaced(Replaced {
            order: ORDER,
            exec: EXEC,
            price: i64::MAX,
            qty: 1,
        }),
        ServerMessage::Trade(Trade {
            instrument: 9,
            price: -5,
            qty: 0x5152_5354_5556_5758,
        }),
        ServerMessage::Heartbeat,
    ];
    let levels = [
        None,
        Some(Level {
            price: -0x0102_0304_0506_0708,
            qty: 0x1112_1314_1516_1718,
        }),
    ];
    for bid in levels {
        for ask in levels {
            all.push(ServerMessage::TopOfBook(TopOfBook {
                instrument: 0x6162_6364,
                bid,
                ask,
            }));
        }
    }
    all.extend(
        LogonRejectReason::ALL
            .iter()
            .map(|&reason| ServerMessage::LogonReject(LogonReject { reason })),
    );
    all.extend(OrderRejectReason::ALL.iter().map(|&reason| {
        ServerMessage::Rejected(Rejected {
            order: ORDER,
            exec: EXEC,
            reason,
        })
    }));
    all.extend(CancelReason::ALL.iter().map(|&reason| {
        ServerMessage::Cancelled(Cancelled {
            order: ORDER,
            exec: EXEC,
            qty: 0x7172_7374_7576_7778,
            reason,
        })
    }));
    all.extend(SessionRejectReason::ALL.iter().map(|&reason| {
        ServerMessage::Reject(Reject {
            ref_seq: 0x0a0b_0c0d_0e0f_1011,
            reason,
        })
    }));
    all.extend(
        LogoutReason::ALL
            .iter()
            .map(|&reason| ServerMessage::Logout(Logout { reason })),
    );
    all.push(ServerMessage::MassCancelAck(MassCancelAck {
        ref_seq: 0x0102_0304_0506_0708,
        count: 0x1112_1314,
    }));
    all.push(ServerMessage::BookSnapshot(BookSnapshot {
        instrument: 0x0102_0304,
        seq: 0x1112_1314_1516_1718,
        bids: 0x2122_2324,
        asks: 0x3132_3334,
    }));
    all.extend(Side::ALL.iter().map(|&side| {
        ServerMessage::BookLevel(BookLevel {
            instrument: 0x4142_4344,
            seq: 0x5152_5354_5556_5758,
            side,
            price: -0x6162_6364_6566_6768,
            qty: 0x7172_7374_7576_7778,
        })
    }));
    // An empty book's snapshot, and a level that is gone (qty 0).
    all.push(ServerMessage::BookSnapshot(BookSnapshot {
        instrument: u32::MAX,
        seq: u64::MAX,
        bids: 0,
        asks: 0,
    }));
    all.push(ServerMessage::BookLevel(BookLevel {
        instrument: 1,
        seq: 0,
        side: Side::Sell,
        price: i64::MAX,
        qty: 0,
    }));
    for &state in OrderState::ALL {
        for &side in Side::ALL {
            all.push(ServerMessage::OrderStatus(OrderStatus {
                ref_seq: 0x0102_0304_0506_0708,
                order: ORDER,
                state,
                side,
                price: -0x4142_4344_4546_4748,
                leaves: 0x5152_5354_5556_5758,
            }));
        }
    }
    // What an unknown order's status carries: zeros but for the client's id.
    all.push(ServerMessage::OrderStatus(OrderStatus {
        ref_seq: u64::MAX,
        order: OrderRef {
            client_order_id: u64::MAX,
            order_id: 0,
            instrument: 0,
        },
        state: OrderState::Unknown,
        side: Side::Buy,
        price: 0,
        leaves: 0,
    }));
    all.push(ServerMessage::MassStatusEnd(MassStatusEnd {
        ref_seq: 0x6162_6364_6566_6768,
        count: 0x7172_7374,
    }));
    all.push(ServerMessage::MassStatusEnd(MassStatusEnd {
        ref_seq: 1,
        count: 0,
    }));
    for &status in ReplayStatus::ALL {
        all.push(ServerMessage::ReportReplayEnd(ReportReplayEnd {
            ref_seq: 0x0102_0304_0506_0708,
            status,
            count: 0x1112_1314,
            resume_seq: 0x2122_2324_2526_2728,
            resume_index: u32::MAX,
        }));
    }
    for &action in ControlAction::ALL {
        for &status in ControlStatus::ALL {
            all.push(ServerMessage::ControlAck(ControlAck {
                ref_seq: 0x0102_0304_0506_0708,
                action,
                target: 0x1112_1314,
                status,
                command_seq: 0x2122_2324_2526_2728,
                cancelled: 0x3132_3334,
            }));
        }
    }
    // Not sequenced (an unknown instrument): no command, nothing cancelled;
    // and the most a kill can have cancelled.
    all.push(ServerMessage::ControlAck(ControlAck {
        ref_seq: u64::MAX,
        action: ControlAction::Halt,
        target: u32::MAX,
        status: ControlStatus::UnknownInstrument,
        command_seq: 0,
        cancelled: 0,
    }));
    all.push(ServerMessage::ControlAck(ControlAck {
        ref_seq: 1,
        action: ControlAction::Kill,
        target: 1,
        status: ControlStatus::Applied,
        command_seq: u64::MAX,
        cancelled: u32::MAX,
    }));
    // A cluster follower's answer: a leader at an IPv4 address (mapped into
    // IPv6), one at an IPv6 address, and no leader known (all zeros).
    let leaders: [(u64, std::net::SocketAddr); 2] = [
        (
            0x0102_0304_0506_0708,
            (std::net::Ipv4Addr::new(0x81, 0x82, 0x83, 0x84), 0x9192).into(),
        ),
        (
            u64::MAX,
            (
                std::net::Ipv6Addr::new(
                    0xa1a2, 0xa3a4, 0xa5a6, 0xa7a8, 0xb1b2, 0xb3b4, 0xb5b6, 0xb7b8,
                ),
                u16::MAX,
            )
                .into(),
        ),
    ];
    for leader in leaders {
        all.push(ServerMessage::NotLeader(NotLeader::new(Some(leader))));
    }
    all.push(ServerMessage::NotLeader(NotLeader::new(None)));
    assert_covers_every_tag(all.iter().map(ServerMessage::tag), ServerMessage::TAG_COUNT);
    all
}

fn assert_covers_every_tag(tags: impl Iterator<Item = u32>, count: u32) {
    let seen: BTreeSet<u32> = tags.collect();
    assert_eq!(
        seen,
        (0..count).collect(),
        "the sample must hold every message kind"
    );
}

/// A sequence number whose bytes are all different.
pub const SEQ: u64 = 0xf1f2_f3f4_f5f6_f7f8;

/// The payload bytes of `msg` at sequence number [`SEQ`].
pub fn payload<M: Message>(msg: M) -> Vec<u8> {
    let mut buf = [0u8; MAX_FRAME_LEN];
    let len = encode_payload(&Envelope { seq: SEQ, msg }, &mut buf).expect("encodes");
    buf[..len].to_vec()
}

/// The frame bytes (prefix and payload) of `envelope`.
pub fn frame<M: Message>(envelope: &Envelope<M>) -> Vec<u8> {
    let mut buf = [0u8; MAX_FRAME_BYTES];
    let len = encode_frame(envelope, &mut buf).expect("encodes");
    buf[..len].to_vec()
}
