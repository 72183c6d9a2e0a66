//! The check of the `wire_decode` fuzz target, shared with the corpus replay
//! test `gateway/tests/fuzz_corpus.rs` (both include this file with
//! `#[path]`, so the fuzzer and CI run the same code).
//!
//! Any bytes, read as a stream of frames in either direction and as one bare
//! payload, must never panic the decoder, and everything that decodes must
//! re-encode to exactly the bytes it came from. The decoder's answers must
//! also be consistent: "need more" asks for more than the buffer holds and
//! no more than one frame; a skippable error skips the whole frame and names
//! the frame's sequence number; a fatal one skips nothing.

use gateway::protocol::{
    ClientMessage, Decoded, LEN_PREFIX, MAX_FRAME_BYTES, Message, ServerMessage, decode_frame,
    decode_payload, encode_frame, encode_payload, payload_len, peek_seq,
};

/// Runs every check on `data`; `Err` says which one failed. A decoder that
/// panics panics through this function.
pub fn check(data: &[u8]) -> Result<(), String> {
    drain::<ClientMessage>(data)?;
    drain::<ServerMessage>(data)?;
    payload::<ClientMessage>(data)?;
    payload::<ServerMessage>(data)
}

/// Decodes `bytes` the way the gateway reads its buffer: frame after frame,
/// skipping undecodable frames, until a fatal error or "need more".
fn drain<M: Message>(bytes: &[u8]) -> Result<(), String> {
    let mut pos = 0;
    while pos <= bytes.len() {
        let rest = &bytes[pos..];
        match decode_frame::<M>(rest) {
            Ok(Decoded::NeedMore { needed }) => {
                if needed <= rest.len() || needed > MAX_FRAME_BYTES {
                    return Err(format!(
                        "at {pos}: NeedMore {{ needed: {needed} }} with {} bytes buffered",
                        rest.len()
                    ));
                }
                return Ok(());
            }
            Ok(Decoded::Message { envelope, consumed }) => {
                let Some(frame) = rest.get(..consumed).filter(|_| consumed > LEN_PREFIX) else {
                    return Err(format!(
                        "at {pos}: a message consumed {consumed} of {} bytes",
                        rest.len()
                    ));
                };
                let mut out = [0u8; MAX_FRAME_BYTES];
                let len = encode_frame(&envelope, &mut out).map_err(|e| {
                    format!("at {pos}: decoded {envelope:?} does not re-encode: {e}")
                })?;
                if &out[..len] != frame {
                    return Err(format!(
                        "at {pos}: {envelope:?} re-encodes to {:02x?}, decoded from {frame:02x?}",
                        &out[..len]
                    ));
                }
                pos += consumed;
            }
            Err(e) if e.is_fatal() => {
                if e.consumed != 0 {
                    return Err(format!("at {pos}: fatal {e} consumed {}", e.consumed));
                }
                return Ok(());
            }
            Err(e) => {
                let Some(frame) = rest.get(..e.consumed).filter(|_| e.consumed >= LEN_PREFIX)
                else {
                    return Err(format!(
                        "at {pos}: {e} consumed {} of {} bytes",
                        e.consumed,
                        rest.len()
                    ));
                };
                if e.seq != peek_seq(&frame[LEN_PREFIX..]) {
                    return Err(format!("at {pos}: {e} names seq {:?}", e.seq));
                }
                pos += e.consumed;
            }
        }
    }
    Err(format!("read past the end: at {pos} of {}", bytes.len()))
}

/// `bytes` as one bare payload: if it decodes, it re-encodes to itself.
fn payload<M: Message>(bytes: &[u8]) -> Result<(), String> {
    let Ok(envelope) = decode_payload::<M>(bytes) else {
        return Ok(());
    };
    let len = payload_len(&envelope).map_err(|e| format!("payload_len of {envelope:?}: {e}"))?;
    let mut out = vec![0u8; len];
    encode_payload(&envelope, &mut out)
        .map_err(|e| format!("decoded payload {envelope:?} does not re-encode: {e}"))?;
    if out != bytes {
        return Err(format!(
            "payload {envelope:?} re-encodes to {out:02x?}, decoded from {bytes:02x?}"
        ));
    }
    Ok(())
}
