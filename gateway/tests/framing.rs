//! The frame decoder over a read buffer, and every decode error it names.

mod common;

use gateway::protocol::*;

fn new_order() -> ClientMessage {
    ClientMessage::NewOrder(NewOrder {
        client_order_id: 42,
        instrument: 7,
        side: Side::Buy,
        price: 100,
        qty: 10,
        time_in_force: TimeInForce::Gtc,
    })
}

/// A frame around raw payload bytes, for payloads no encoder would write.
fn raw_frame(payload: &[u8]) -> Vec<u8> {
    let mut frame = u32::try_from(payload.len())
        .expect("short payload")
        .to_le_bytes()
        .to_vec();
    frame.extend_from_slice(payload);
    frame
}

/// The payload of a new order with `value` written over the `u32` at `offset`.
fn new_order_with_u32_at(offset: usize, value: u32) -> Vec<u8> {
    let mut payload = common::payload(new_order());
    payload[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
    payload
}

fn decode_err<M: Message>(frame: &[u8]) -> FrameError {
    decode_frame::<M>(frame).expect_err("must not decode")
}

#[test]
fn an_empty_or_short_buffer_needs_more() {
    for len in 0..LEN_PREFIX {
        let bytes = vec![0u8; len];
        assert_eq!(
            decode_frame::<ClientMessage>(&bytes),
            Ok(Decoded::NeedMore { needed: LEN_PREFIX })
        );
    }
}

#[test]
fn every_prefix_of_a_frame_needs_more_and_the_whole_frame_decodes() {
    let env = Envelope {
        seq: 1,
        msg: new_order(),
    };
    let frame = common::frame(&env);
    for cut in LEN_PREFIX..frame.len() {
        assert_eq!(
            decode_frame::<ClientMessage>(&frame[..cut]),
            Ok(Decoded::NeedMore {
                needed: frame.len()
            }),
            "cut at {cut}"
        );
    }
    assert_eq!(
        decode_frame::<ClientMessage>(&frame),
        Ok(Decoded::Message {
            envelope: env,
            consumed: frame.len()
        })
    );
}

#[test]
fn a_buffer_of_several_frames_decodes_one_at_a_time() {
    let envs: Vec<_> = common::every_client_message()
        .into_iter()
        .zip(1..)
        .map(|(msg, seq)| Envelope { seq, msg })
        .collect();
    let mut buf: Vec<u8> = envs.iter().flat_map(common::frame).collect();
    // And half of one more frame at the end.
    let next = common::frame(&Envelope {
        seq: 99,
        msg: ClientMessage::Heartbeat,
    });
    buf.extend_from_slice(&next[..next.len() / 2]);

    let mut pos = 0;
    for env in &envs {
        match decode_frame::<ClientMessage>(&buf[pos..]) {
            Ok(Decoded::Message { envelope, consumed }) => {
                assert_eq!(&envelope, env);
                pos += consumed;
            }
            other => panic!("expected {env:?}, got {other:?}"),
        }
    }
    assert_eq!(
        decode_frame::<ClientMessage>(&buf[pos..]),
        Ok(Decoded::NeedMore { needed: next.len() })
    );
}

#[test]
fn a_length_above_the_maximum_is_its_own_fatal_error() {
    let at_max = u32::try_from(MAX_FRAME_LEN).unwrap();
    // At the maximum the decoder waits for the bytes...
    assert_eq!(
        decode_frame::<ClientMessage>(&at_max.to_le_bytes()),
        Ok(Decoded::NeedMore {
            needed: MAX_FRAME_BYTES
        })
    );
    // ...one above, it refuses at once, without waiting for the payload.
    for len in [at_max + 1, u32::MAX] {
        let err = decode_err::<ClientMessage>(&len.to_le_bytes());
        assert_eq!(err.error, DecodeError::FrameTooLarge { len });
        assert_eq!(err.error.kind(), DecodeErrorKind::FrameTooLarge);
        assert!(err.is_fatal());
        assert_eq!((err.consumed, err.seq), (0, None));
    }
}

#[test]
fn a_short_payload_is_truncated_and_names_its_seq_when_it_has_one() {
    // No room for a sequence number.
    let err = decode_err::<ClientMessage>(&raw_frame(&[]));
    assert_eq!(
        (err.error, err.consumed, err.seq),
        (DecodeError::Truncated, LEN_PREFIX, None)
    );
    let err = decode_err::<ClientMessage>(&raw_frame(&[1, 0, 0, 0, 0, 0, 0]));
    assert_eq!((err.error, err.seq), (DecodeError::Truncated, None));

    // A sequence number, then not all of the message.
    let payload = common::payload(new_order());
    for cut in 8..payload.len() {
        let frame = raw_frame(&payload[..cut]);
        let err = decode_err::<ClientMessage>(&frame);
        assert_eq!(err.error, DecodeError::Truncated, "cut at {cut}");
        assert_eq!(err.consumed, frame.len());
        assert_eq!(err.seq, Some(common::SEQ));
        assert!(!err.is_fatal());
    }
}

#[test]
fn bytes_after_the_message_are_trailing() {
    let mut payload = common::payload(ClientMessage::Heartbeat);
    payload.extend_from_slice(&[0, 0, 0]);
    let frame = raw_frame(&payload);
    let err = decode_err::<ClientMessage>(&frame);
    assert_eq!(err.error, DecodeError::TrailingBytes { extra: 3 });
    assert_eq!((err.consumed, err.seq), (frame.len(), Some(common::SEQ)));
}

#[test]
fn an_unknown_tag_is_named() {
    for tag in [ClientMessage::TAG_COUNT, 0xdead_beef, u32::MAX] {
        let err = decode_err::<ClientMessage>(&raw_frame(&new_order_with_u32_at(8, tag)));
        assert_eq!(err.error, DecodeError::UnknownMessageTag { tag });
        assert_eq!(err.seq, Some(common::SEQ));
    }
    let mut payload = common::payload(ServerMessage::Heartbeat);
    payload[8..12].copy_from_slice(&ServerMessage::TAG_COUNT.to_le_bytes());
    assert_eq!(
        decode_err::<ServerMessage>(&raw_frame(&payload)).error,
        DecodeError::UnknownMessageTag {
            tag: ServerMessage::TAG_COUNT
        }
    );
}

#[test]
fn a_bad_side_or_time_in_force_is_named() {
    // Offsets from the NewOrder table: side at 24, time_in_force at 44.
    let err = decode_err::<ClientMessage>(&raw_frame(&new_order_with_u32_at(24, 2)));
    assert_eq!(err.error, DecodeError::BadEnumValue { field: "side" });
    assert_eq!(err.error.kind(), DecodeErrorKind::BadEnumValue);
    let err = decode_err::<ClientMessage>(&raw_frame(&new_order_with_u32_at(44, 5)));
    assert_eq!(
        err.error,
        DecodeError::BadEnumValue {
            field: "time_in_force"
        }
    );
}

#[test]
fn a_bad_reason_code_is_named() {
    let control_ack = ServerMessage::ControlAck(ControlAck {
        ref_seq: 1,
        action: ControlAction::Halt,
        target: 1,
        status: ControlStatus::Applied,
        command_seq: 1,
        cancelled: 0,
    });
    let cases: [(ServerMessage, usize, &str); 10] = [
        (
            ServerMessage::LogonReject(LogonReject {
                reason: LogonRejectReason::UnknownAccount,
            }),
            12,
            "logon_reject_reason",
        ),
        (
            ServerMessage::Rejected(Rejected {
                order: common::ORDER,
                exec: common::EXEC,
                reason: OrderRejectReason::BadQty,
            }),
            52,
            "order_reject_reason",
        ),
        (
            ServerMessage::Cancelled(Cancelled {
                order: common::ORDER,
                exec: common::EXEC,
                qty: 1,
                reason: CancelReason::User,
            }),
            60,
            "cancel_reason",
        ),
        (
            ServerMessage::Reject(Reject {
                ref_seq: 3,
                reason: SessionRejectReason::Throttled,
            }),
            20,
            "session_reject_reason",
        ),
        (
            ServerMessage::Logout(Logout {
                reason: LogoutReason::Shutdown,
            }),
            12,
            "logout_reason",
        ),
        (
            ServerMessage::BookLevel(BookLevel {
                instrument: 1,
                seq: 1,
                side: Side::Buy,
                price: 1,
                qty: 1,
            }),
            24,
            "side",
        ),
        (
            ServerMessage::OrderStatus(OrderStatus {
                ref_seq: 1,
                order: common::ORDER,
                state: OrderState::Live,
                side: Side::Buy,
                price: 1,
                leaves: 1,
            }),
            40,
            "order_state",
        ),
        (
            ServerMessage::OrderStatus(OrderStatus {
                ref_seq: 1,
                order: common::ORDER,
                state: OrderState::Live,
                side: Side::Buy,
                price: 1,
                leaves: 1,
            }),
            44,
            "side",
        ),
        // Offsets from the ControlAck table.
        (control_ack, 20, "control_action"),
        (control_ack, 28, "control_status"),
    ];
    for (msg, offset, field) in cases {
        let mut payload = common::payload(msg);
        payload[offset..offset + 4].copy_from_slice(&1000u32.to_le_bytes());
        let err = decode_err::<ServerMessage>(&raw_frame(&payload));
        assert_eq!(
            err.error,
            DecodeError::BadEnumValue { field },
            "{}",
            msg.name()
        );
    }
}

/// A `bool` byte other than 0 or 1 (Logon's `cancel_on_disconnect`, the
/// operator's `halt` and `kill`) is refused, and costs only its frame.
#[test]
fn a_bad_bool_is_malformed() {
    let cases: [(ClientMessage, usize); 3] = [
        (
            ClientMessage::Logon(Logon {
                account: 1,
                cancel_on_disconnect: false,
                password: [0; 32],
            }),
            16,
        ),
        (
            ClientMessage::Halt(Halt {
                instrument: 1,
                halt: true,
            }),
            16,
        ),
        (
            ClientMessage::KillSwitch(KillSwitch {
                account: 7,
                kill: false,
            }),
            16,
        ),
    ];
    for (msg, offset) in cases {
        let mut payload = common::payload(msg);
        for byte in [2, 0xff] {
            payload[offset] = byte;
            let err = decode_err::<ClientMessage>(&raw_frame(&payload));
            assert_eq!(
                err.error,
                DecodeError::Malformed {
                    reason: "invalid bool"
                },
                "{}",
                msg.name()
            );
            assert_eq!(err.error.kind(), DecodeErrorKind::Malformed);
            assert!(!err.is_fatal());
            assert_eq!(err.seq, Some(common::SEQ));
        }
    }
}

#[test]
fn a_bad_presence_flag_is_named() {
    let msg = ServerMessage::TopOfBook(TopOfBook {
        instrument: 1,
        bid: None,
        ask: None,
    });
    for offset in [16, 17] {
        let mut payload = common::payload(msg);
        payload[offset] = 2;
        let err = decode_err::<ServerMessage>(&raw_frame(&payload));
        assert_eq!(
            err.error,
            DecodeError::BadEnumValue {
                field: "presence flag"
            }
        );
    }
}

#[test]
fn payload_sizes_match_the_documented_tables() {
    let client: [(ClientMessage, usize); 14] = [
        (
            ClientMessage::Logon(Logon {
                account: 1,
                cancel_on_disconnect: false,
                password: [0; 32],
            }),
            49,
        ),
        (new_order(), 48),
        (ClientMessage::Cancel(Cancel { client_order_id: 1 }), 20),
        (
            ClientMessage::Replace(Replace {
                client_order_id: 1,
                price: 1,
                qty: 1,
            }),
            36,
        ),
        (ClientMessage::Heartbeat, 12),
        (ClientMessage::Logout, 12),
        (
            ClientMessage::Subscribe(Subscribe {
                instrument: 1,
                depth: 0,
            }),
            18,
        ),
        (
            ClientMessage::MassCancel(MassCancel {
                instrument: 0,
                side: None,
            }),
            17,
        ),
        (
            ClientMessage::Unsubscribe(Unsubscribe { instrument: 1 }),
            16,
        ),
        (
            ClientMessage::OrderStatusRequest(OrderStatusRequest { client_order_id: 1 }),
            20,
        ),
        (
            ClientMessage::MassStatusRequest(MassStatusRequest { instrument: 1 }),
            16,
        ),
        (
            ClientMessage::ReportReplayRequest(ReportReplayRequest {
                after_seq: 1,
                after_index: 1,
            }),
            24,
        ),
        (
            ClientMessage::Halt(Halt {
                instrument: 1,
                halt: true,
            }),
            17,
        ),
        (
            ClientMessage::KillSwitch(KillSwitch {
                account: 1,
                kill: true,
            }),
            17,
        ),
    ];
    for (msg, len) in client {
        assert_eq!(common::payload(msg).len(), len, "{}", msg.name());
    }
    let level = Some(Level { price: 1, qty: 1 });
    let o = common::ORDER;
    let e = common::EXEC;
    let server: [(ServerMessage, usize); 23] = [
        (
            ServerMessage::LogonAck(LogonAck {
                account: 1,
                heartbeat_interval_ms: 1,
                max_msgs_per_sec: 1,
            }),
            24,
        ),
        (
            ServerMessage::LogonReject(LogonReject {
                reason: LogonRejectReason::AccountInUse,
            }),
            16,
        ),
        (ServerMessage::Accepted(Accepted { order: o, exec: e }), 52),
        (
            ServerMessage::Rejected(Rejected {
                order: o,
                exec: e,
                reason: OrderRejectReason::BadQty,
            }),
            56,
        ),
        (
            ServerMessage::Fill(Fill {
                order: o,
                exec: e,
                price: 1,
                qty: 1,
                leaves: 1,
            }),
            76,
        ),
        (
            ServerMessage::Cancelled(Cancelled {
                order: o,
                exec: e,
                qty: 1,
                reason: CancelReason::User,
            }),
            64,
        ),
        (
            ServerMessage::Replaced(Replaced {
                order: o,
                exec: e,
                price: 1,
                qty: 1,
            }),
            68,
        ),
        (
            ServerMessage::Trade(Trade {
                instrument: 1,
                price: 1,
                qty: 1,
            }),
            32,
        ),
        (
            ServerMessage::TopOfBook(TopOfBook {
                instrument: 1,
                bid: None,
                ask: None,
            }),
            18,
        ),
        (
            ServerMessage::TopOfBook(TopOfBook {
                instrument: 1,
                bid: level,
                ask: None,
            }),
            34,
        ),
        (
            ServerMessage::TopOfBook(TopOfBook {
                instrument: 1,
                bid: None,
                ask: level,
            }),
            34,
        ),
        (
            ServerMessage::TopOfBook(TopOfBook {
                instrument: 1,
                bid: level,
                ask: level,
            }),
            50,
        ),
        (
            ServerMessage::Reject(Reject {
                ref_seq: 1,
                reason: SessionRejectReason::SeqGap,
            }),
            24,
        ),
        (ServerMessage::Heartbeat, 12),
        (
            ServerMessage::Logout(Logout {
                reason: LogoutReason::SlowReader,
            }),
            16,
        ),
        (
            ServerMessage::MassCancelAck(MassCancelAck {
                ref_seq: 1,
                count: 1,
            }),
            24,
        ),
        (
            ServerMessage::BookSnapshot(BookSnapshot {
                instrument: 1,
                seq: 1,
                bids: 1,
                asks: 1,
            }),
            32,
        ),
        (
            ServerMessage::BookLevel(BookLevel {
                instrument: 1,
                seq: 1,
                side: Side::Buy,
                price: 1,
                qty: 1,
            }),
            44,
        ),
        (
            ServerMessage::OrderStatus(OrderStatus {
                ref_seq: 1,
                order: o,
                state: OrderState::Live,
                side: Side::Buy,
                price: 1,
                leaves: 1,
            }),
            64,
        ),
        (
            ServerMessage::MassStatusEnd(MassStatusEnd {
                ref_seq: 1,
                count: 1,
            }),
            24,
        ),
        (
            ServerMessage::ReportReplayEnd(ReportReplayEnd {
                ref_seq: 1,
                status: ReplayStatus::Complete,
                count: 1,
                resume_seq: 1,
                resume_index: 1,
            }),
            40,
        ),
        (
            ServerMessage::ControlAck(ControlAck {
                ref_seq: 1,
                action: ControlAction::Kill,
                target: 1,
                status: ControlStatus::Applied,
                command_seq: 1,
                cancelled: 1,
            }),
            44,
        ),
        (ServerMessage::NotLeader(NotLeader::new(None)), 38),
    ];
    for (msg, len) in server {
        assert_eq!(common::payload(msg).len(), len, "{}", msg.name());
    }
}

#[test]
fn every_message_fits_the_maximum_frame() {
    let client = common::every_client_message()
        .into_iter()
        .map(|m| common::payload(m).len());
    let server = common::every_server_message()
        .into_iter()
        .map(|m| common::payload(m).len());
    let largest = client.chain(server).max().unwrap();
    assert_eq!(largest, LARGEST_PAYLOAD);
    assert!(largest <= MAX_FRAME_LEN);
}

#[test]
fn encoding_into_a_small_buffer_writes_nothing() {
    let env = Envelope {
        seq: 1,
        msg: new_order(),
    };
    let needed = frame_len(&env).unwrap();
    assert_eq!(needed, LEN_PREFIX + 48);
    for size in [0, 3, LEN_PREFIX, needed - 1] {
        let mut buf = vec![0xaau8; size];
        assert_eq!(
            encode_frame(&env, &mut buf),
            Err(EncodeError::BufferTooSmall {
                needed,
                available: size
            })
        );
        assert!(
            buf.iter().all(|&b| b == 0xaa),
            "buffer of {size} was written"
        );
    }
    let mut buf = vec![0u8; needed + 10];
    assert_eq!(encode_frame(&env, &mut buf), Ok(needed));
    let mut small = [0u8; 47];
    assert_eq!(
        encode_payload(&env, &mut small),
        Err(EncodeError::BufferTooSmall {
            needed: 48,
            available: 47
        })
    );
}

#[test]
fn decode_errors_read_as_sentences() {
    assert_eq!(
        DecodeError::FrameTooLarge { len: 1000 }.to_string(),
        "frame length 1000 is above the maximum of 256 bytes"
    );
    assert_eq!(
        DecodeError::BadEnumValue { field: "side" }.to_string(),
        "bad value for side"
    );
    assert_eq!(
        SessionRejectReason::DecodeFailed(DecodeError::Truncated.kind()).code(),
        7,
        "DecodeFailed(Truncated) is code 7 in the Reject table"
    );
}

#[test]
fn bad_depth_and_not_authorized_follow_the_decode_kinds() {
    assert_eq!(SessionRejectReason::BadDepth.code(), 12);
    assert_eq!(
        SessionRejectReason::from_code(12),
        Some(SessionRejectReason::BadDepth)
    );
    assert_eq!(SessionRejectReason::NotAuthorized.code(), 13);
    assert_eq!(
        SessionRejectReason::from_code(13),
        Some(SessionRejectReason::NotAuthorized)
    );
    assert_eq!(SessionRejectReason::from_code(14), None);
    assert_eq!(
        SessionRejectReason::ALL[SessionRejectReason::ALL.len() - 2..],
        [
            SessionRejectReason::BadDepth,
            SessionRejectReason::NotAuthorized
        ]
    );
}

/// A `Subscribe` of the layout before `depth` (16 bytes) is refused as
/// truncated, not read with a made-up depth.
#[test]
fn a_subscribe_without_depth_is_truncated() {
    let payload = common::payload(ClientMessage::Subscribe(Subscribe {
        instrument: 1,
        depth: 0,
    }));
    assert_eq!(payload.len(), 18);
    let err = decode_err::<ClientMessage>(&raw_frame(&payload[..16]));
    assert_eq!(err.error, DecodeError::Truncated);
    assert_eq!(err.seq, Some(common::SEQ));
}

/// The headings of docs/protocol.md ("### NewOrder (tag 1), 48 bytes") give
/// each message's tag and payload size; they must match the code.
#[test]
fn the_protocol_document_states_every_tag_and_size() {
    let doc = include_str!("../../docs/protocol.md");
    let (client_part, server_part) = doc
        .split_once("## Gateway → client messages")
        .expect("the document has a server section");
    // (name, tag, sizes) of every "### Name (tag N), sizes bytes" heading.
    let headings = |part: &str| -> Vec<(String, u32, Vec<usize>)> {
        part.lines()
            .filter_map(|line| {
                let rest = line.strip_prefix("### ")?;
                let (name, rest) = rest.split_once(" (tag ")?;
                let (tag, rest) = rest.split_once("), ")?;
                let sizes = rest.strip_suffix(" bytes")?;
                let sizes = sizes
                    .split([',', ' '])
                    .filter_map(|s| s.parse().ok())
                    .collect();
                Some((name.to_string(), tag.parse().ok()?, sizes))
            })
            .collect()
    };
    let check = |docs: Vec<(String, u32, Vec<usize>)>, name: &str, tag: u32, size: usize| {
        let Some((_, doc_tag, doc_sizes)) = docs.iter().find(|(n, ..)| n == name) else {
            panic!("docs/protocol.md has no heading for {name}");
        };
        assert_eq!(*doc_tag, tag, "tag of {name}");
        assert!(
            doc_sizes.contains(&size),
            "{name}: {size} bytes not in {doc_sizes:?}"
        );
    };
    // One heading per tag, tags 0, 1, 2, ... in order.
    let tags_in_order = |docs: &[(String, u32, Vec<usize>)], count: u32| {
        let tags: Vec<u32> = docs.iter().map(|(_, tag, _)| *tag).collect();
        assert_eq!(tags, (0..count).collect::<Vec<_>>());
    };
    let client_docs = headings(client_part);
    tags_in_order(&client_docs, ClientMessage::TAG_COUNT);
    for msg in common::every_client_message() {
        check(
            client_docs.clone(),
            msg.name(),
            msg.tag(),
            common::payload(msg).len(),
        );
    }
    let server_docs = headings(server_part);
    tags_in_order(&server_docs, ServerMessage::TAG_COUNT);
    for msg in common::every_server_message() {
        check(
            server_docs.clone(),
            msg.name(),
            msg.tag(),
            common::payload(msg).len(),
        );
    }
}
