//! Framing: a `u32` little-endian length prefix, then that many payload bytes.
//!
//! TCP is a byte stream, so the reader needs to know where a message ends
//! before it decodes it. The prefix says how long the payload is; a bound on
//! it ([`MAX_FRAME_LEN`]) keeps a hostile or broken prefix from making the
//! gateway wait for (or buffer) gigabytes: a prefix above the bound is an
//! error of its own, and the session is closed, because nothing after it can
//! be trusted to start a frame.
//!
//! [`decode_frame`] works on a read buffer as it is, with zero, one partial,
//! or several frames in it: it says "need more bytes", or gives the first
//! message and how many bytes it took, or an error and how many bytes to skip.
//! The server decodes straight from its read buffer and copies nothing.

use thiserror::Error;

use super::envelope::{Envelope, Message, decode_payload, encode_payload, payload_len, peek_seq};
use super::error::{DecodeError, EncodeError};
pub use super::limits::{
    LARGEST_FRAME, LARGEST_PAYLOAD, LEN_PREFIX, MAX_FRAME_BYTES, MAX_FRAME_LEN,
};

/// What [`decode_frame`] found at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded<M> {
    /// No whole frame yet. The buffer must hold at least `needed` bytes
    /// (counted from its start) before the call can make progress.
    NeedMore {
        /// Total bytes needed from the start of the buffer.
        needed: usize,
    },
    /// One whole, valid frame.
    Message {
        /// The sequenced message.
        envelope: Envelope<M>,
        /// Bytes the frame took, prefix included: drop them from the buffer.
        consumed: usize,
    },
}

/// A frame that could not be decoded, and what the reader needs to go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("undecodable frame: {error}")]
pub struct FrameError {
    /// What was wrong.
    pub error: DecodeError,
    /// Bytes to skip to reach the next frame. 0 when the error is fatal
    /// ([`DecodeError::is_fatal`]): the frame's end is unknown.
    pub consumed: usize,
    /// The frame's sequence number, when its payload was long enough to hold
    /// one: the `ref_seq` of the `Reject`, and a number the sequence tracker
    /// must count as used.
    pub seq: Option<u64>,
}

impl FrameError {
    /// `true` when the session must be closed: see [`DecodeError::is_fatal`].
    pub fn is_fatal(&self) -> bool {
        self.error.is_fatal()
    }
}

/// Decodes the first frame of `buf`, which may hold less or more than one frame.
///
/// Never panics and never allocates, whatever the bytes.
pub fn decode_frame<M: Message>(buf: &[u8]) -> Result<Decoded<M>, FrameError> {
    let Some((prefix, rest)) = buf.split_first_chunk::<LEN_PREFIX>() else {
        return Ok(Decoded::NeedMore { needed: LEN_PREFIX });
    };
    let announced = u32::from_le_bytes(*prefix);
    // A u32 always fits a usize on the 32- and 64-bit targets this runs on;
    // if it did not, the length is certainly too large.
    let len = match usize::try_from(announced) {
        Ok(len) if len <= MAX_FRAME_LEN => len,
        _ => {
            return Err(FrameError {
                error: DecodeError::FrameTooLarge { len: announced },
                consumed: 0,
                seq: None,
            });
        }
    };
    let Some(payload) = rest.get(..len) else {
        return Ok(Decoded::NeedMore {
            needed: LEN_PREFIX + len,
        });
    };
    let consumed = LEN_PREFIX + len;
    match decode_payload(payload) {
        Ok(envelope) => Ok(Decoded::Message { envelope, consumed }),
        Err(error) => Err(FrameError {
            error,
            consumed,
            seq: peek_seq(payload),
        }),
    }
}

/// Writes `envelope` as one frame (prefix and payload) at the start of `out`
/// and returns the number of bytes written. Nothing is allocated; on error
/// nothing is written.
pub fn encode_frame<M: Message>(
    envelope: &Envelope<M>,
    out: &mut [u8],
) -> Result<usize, EncodeError> {
    let len = payload_len(envelope)?;
    let announced = match u32::try_from(len) {
        Ok(announced) if len <= MAX_FRAME_LEN => announced,
        _ => return Err(EncodeError::FrameTooLarge { len }),
    };
    let needed = LEN_PREFIX + len;
    let available = out.len();
    let Some((prefix, body)) = out
        .get_mut(..needed)
        .and_then(|frame| frame.split_first_chunk_mut::<LEN_PREFIX>())
    else {
        return Err(EncodeError::BufferTooSmall { needed, available });
    };
    encode_payload(envelope, body)?;
    *prefix = announced.to_le_bytes();
    Ok(needed)
}

/// The number of bytes [`encode_frame`] writes for `envelope`.
pub fn frame_len<M: Message>(envelope: &Envelope<M>) -> Result<usize, EncodeError> {
    Ok(LEN_PREFIX + payload_len(envelope)?)
}
