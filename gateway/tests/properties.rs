//! Properties of the codec: random bytes never panic the decoder, and every
//! message round-trips both ways (encode then decode gives the message back;
//! decode then encode gives the bytes back).

mod common;

use gateway::protocol::*;
use proptest::prelude::*;

/// Feeds `bytes` through the decoder the way the server does: frame after
/// frame, skipping undecodable frames, stopping at a fatal error or when more
/// bytes are needed. Every frame that decodes must re-encode to its own bytes.
fn drain<M: Message + PartialEq>(bytes: &[u8]) {
    let mut pos = 0;
    loop {
        match decode_frame::<M>(&bytes[pos..]) {
            Ok(Decoded::NeedMore { needed }) => {
                assert!(needed > bytes.len() - pos);
                assert!(needed <= MAX_FRAME_BYTES);
                return;
            }
            Ok(Decoded::Message { envelope, consumed }) => {
                let mut out = [0u8; MAX_FRAME_BYTES];
                let len = encode_frame(&envelope, &mut out).expect("re-encodes");
                assert_eq!(&out[..len], &bytes[pos..pos + consumed]);
                pos += consumed;
            }
            Err(e) if e.is_fatal() => {
                assert_eq!(e.consumed, 0);
                return;
            }
            Err(e) => {
                assert!(e.consumed >= LEN_PREFIX);
                pos += e.consumed;
            }
        }
        assert!(pos <= bytes.len());
    }
}

/// Bytes that often look like frames: a small length prefix, then a sequence
/// number and a plausible tag, then random bytes. Purely random bytes almost
/// always announce a frame far above the maximum, and test little else.
fn frame_like() -> impl Strategy<Value = Vec<u8>> {
    let one = (
        0u32..80,
        any::<u64>(),
        0..=ServerMessage::TAG_COUNT,
        proptest::collection::vec(any::<u8>(), 0..60),
    )
        .prop_map(|(len, seq, tag, rest)| {
            let mut f = len.to_le_bytes().to_vec();
            f.extend_from_slice(&seq.to_le_bytes());
            f.extend_from_slice(&tag.to_le_bytes());
            f.extend_from_slice(&rest);
            f
        });
    proptest::collection::vec(one, 1..6).prop_map(|frames| frames.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        drain::<ClientMessage>(&bytes);
        drain::<ServerMessage>(&bytes);
        let _ = decode_payload::<ClientMessage>(&bytes);
        let _ = decode_payload::<ServerMessage>(&bytes);
    }

    #[test]
    fn frame_like_bytes_never_panic_the_decoder(bytes in frame_like()) {
        drain::<ClientMessage>(&bytes);
        drain::<ServerMessage>(&bytes);
    }

    #[test]
    fn client_messages_round_trip(env in common::envelope(common::client_message())) {
        let frame = common::frame(&env);
        prop_assert_eq!(
            decode_frame::<ClientMessage>(&frame),
            Ok(Decoded::Message { envelope: env, consumed: frame.len() })
        );
        drain::<ClientMessage>(&frame);
    }

    #[test]
    fn server_messages_round_trip(env in common::envelope(common::server_message())) {
        let frame = common::frame(&env);
        prop_assert_eq!(
            decode_frame::<ServerMessage>(&frame),
            Ok(Decoded::Message { envelope: env, consumed: frame.len() })
        );
        drain::<ServerMessage>(&frame);
    }

    /// A stream of frames decodes the same whatever the reads it arrives in.
    #[test]
    fn a_stream_decodes_the_same_in_any_pieces(
        envs in proptest::collection::vec(common::envelope(common::client_message()), 1..8),
        cuts in proptest::collection::vec(any::<proptest::sample::Index>(), 0..6),
    ) {
        let stream: Vec<u8> = envs.iter().flat_map(common::frame).collect();
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
        cuts.push(stream.len());
        cuts.sort_unstable();

        // A read buffer that receives the stream in the given pieces.
        let mut buf = Vec::new();
        let mut fed = 0;
        let mut decoded = Vec::new();
        for cut in cuts {
            buf.extend_from_slice(&stream[fed..cut]);
            fed = cut;
            while let Ok(Decoded::Message { envelope, consumed }) =
                decode_frame::<ClientMessage>(&buf)
            {
                decoded.push(envelope);
                buf.drain(..consumed);
            }
        }
        prop_assert!(buf.is_empty());
        prop_assert_eq!(decoded, envs);
    }
}
