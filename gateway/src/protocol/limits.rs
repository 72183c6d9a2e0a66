//! The size bounds of a frame.
//!
//! Both the framing layer (`frame.rs`), which enforces them, and the error
//! types (`error.rs`), which name them in their messages, need these numbers.
//! They live here, below both, so that neither has to import the other.

/// Bytes of the length prefix.
pub const LEN_PREFIX: usize = 4;

/// The largest payload of this version: `Fill`'s (the framing tests check it).
pub const LARGEST_PAYLOAD: usize = 76;

/// The largest payload length a prefix may announce. Every message of this
/// version is far smaller (`LARGEST_PAYLOAD`); the margin leaves
/// room for new fields and messages without changing the bound, which both
/// sides size their buffers by.
pub const MAX_FRAME_LEN: usize = 256;

/// The frame of the largest message of this version, prefix included.
pub const LARGEST_FRAME: usize = LEN_PREFIX + LARGEST_PAYLOAD;

/// The most bytes one frame can take, prefix included: what a read buffer must
/// be able to hold to make progress.
pub const MAX_FRAME_BYTES: usize = LEN_PREFIX + MAX_FRAME_LEN;
