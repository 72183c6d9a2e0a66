//! What can go wrong turning bytes into messages and back.
//!
//! Decoding bytes from the network must never panic: every problem is one of
//! these values, small and `Copy` (no allocation on the error path either), so
//! the session can answer it with a `Reject` naming the problem, or close the
//! session when the problem leaves no way to find the next frame.

use thiserror::Error;

use super::codes::DecodeErrorKind;
use super::limits::MAX_FRAME_LEN;

/// Why a frame could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error)]
pub enum DecodeError {
    /// The length prefix is above [`MAX_FRAME_LEN`]. The stream cannot be
    /// trusted to find the next frame, so the session is closed.
    #[error("frame length {len} is above the maximum of {MAX_FRAME_LEN} bytes")]
    FrameTooLarge {
        /// The length prefix as received.
        len: u32,
    },
    /// The payload ended before the message did.
    #[error("payload truncated: it ends before the message does")]
    Truncated,
    /// Bytes were left in the payload after the message.
    #[error("{extra} trailing bytes after the message")]
    TrailingBytes {
        /// How many bytes were left over.
        extra: usize,
    },
    /// The message tag is not one this direction knows.
    #[error("unknown message tag {tag}")]
    UnknownMessageTag {
        /// The tag as received.
        tag: u32,
    },
    /// An enumerated field held a value it cannot have.
    #[error("bad value for {field}")]
    BadEnumValue {
        /// The field's name: "side", "time_in_force", a reason's name, or
        /// "presence flag" (the byte in front of an optional book level).
        field: &'static str,
    },
    /// wincode refused the payload for a reason none of this version's
    /// message types can produce (text, lengths, booleans). Kept so that a
    /// future field type turns such input into a reject, not a panic.
    #[error("malformed payload: {reason}")]
    Malformed {
        /// wincode's description of the problem.
        reason: &'static str,
    },
}

impl DecodeError {
    /// The kind of the error, as it travels in a `Reject`.
    pub fn kind(&self) -> DecodeErrorKind {
        match self {
            Self::FrameTooLarge { .. } => DecodeErrorKind::FrameTooLarge,
            Self::Truncated => DecodeErrorKind::Truncated,
            Self::TrailingBytes { .. } => DecodeErrorKind::TrailingBytes,
            Self::UnknownMessageTag { .. } => DecodeErrorKind::UnknownMessageTag,
            Self::BadEnumValue { .. } => DecodeErrorKind::BadEnumValue,
            Self::Malformed { .. } => DecodeErrorKind::Malformed,
        }
    }

    /// `true` when the session cannot go on after this error: the frame's end
    /// is unknown, so nothing after it can be read.
    pub fn is_fatal(&self) -> bool {
        matches!(self, Self::FrameTooLarge { .. })
    }
}

/// Why a message could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error)]
pub enum EncodeError {
    /// The caller's buffer is too small for the frame; nothing was written.
    #[error("buffer of {available} bytes is too small for a {needed}-byte frame")]
    BufferTooSmall {
        /// Bytes the frame needs (length prefix included).
        needed: usize,
        /// Bytes the buffer has.
        available: usize,
    },
    /// The payload would be above [`MAX_FRAME_LEN`], so the peer would refuse it.
    /// No message of this protocol version is that large.
    #[error("payload of {len} bytes is above the maximum of {MAX_FRAME_LEN} bytes")]
    FrameTooLarge {
        /// The payload's length.
        len: usize,
    },
    /// wincode refused to write the value. The protocol's messages are all
    /// plain integers and enums, so this is not expected; it exists so that
    /// a future field type wincode cannot write fails as a value, not a panic.
    #[error("the message cannot be encoded: {0}")]
    Unencodable(&'static str),
}
