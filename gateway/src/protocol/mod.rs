//! The wire protocol: what clients and the gateway say to each other, and the
//! bytes it takes. `docs/protocol.md` has the byte table of every message and
//! the session rules; this module is their implementation.
//!
//! Layers, from the socket in:
//!
//! - `frame`: a `u32` little-endian length prefix, then the payload. Finds
//!   message boundaries in a read buffer, bounds the frame size.
//! - `limits`: those bounds (`MAX_FRAME_LEN`, ...), below both `frame` and
//!   `error` so that the two need not import each other.
//! - `envelope`: the payload is a `u64` sequence number and one message, in
//!   bincode's legacy fixed-int little-endian layout, written and read by
//!   wincode.
//! - `client`, `server`: the messages of each direction.
//! - `codes`, `code_schema`: the enumerations and the `u32` codes they travel as.
//! - `sequence`: the per-direction sequence counter and gap detection.
//! - `engine_map`: conversions to and from the engine's vocabulary.
//!
//! Nothing here allocates per message or panics on input: decoding returns a
//! [`DecodeError`] for any bytes, encoding writes into the caller's buffer.
//! The protocol knows no order books; the gateway's session layer owns the
//! rules (logon first, throttle, ...) that `docs/protocol.md` describes.

pub mod client;
mod code_schema;
pub mod codes;
mod engine_map;
pub mod envelope;
pub mod error;
pub mod frame;
mod limits;
pub mod sequence;
pub mod server;

pub use client::{
    Cancel, ClientMessage, Halt, KillSwitch, Logon, MAX_DEPTH, MAX_REPLAY_REPORTS, MassCancel,
    MassStatusRequest, NewOrder, OrderStatusRequest, Replace, ReportReplayRequest, Subscribe,
    Unsubscribe,
};
pub use codes::{
    CancelReason, ControlAction, ControlStatus, DecodeErrorKind, LogonRejectReason, LogoutReason,
    OrderRejectReason, OrderState, ReplayStatus, SessionRejectReason, Side, TimeInForce, WireCode,
};
pub use envelope::{
    Envelope, HEADER_LEN, Message, WIRE_CONFIG, WireConfig, decode_payload, encode_payload,
    payload_len, peek_seq,
};
pub use error::{DecodeError, EncodeError};
pub use frame::{
    Decoded, FrameError, LARGEST_FRAME, LARGEST_PAYLOAD, LEN_PREFIX, MAX_FRAME_BYTES,
    MAX_FRAME_LEN, decode_frame, encode_frame, frame_len,
};
pub use sequence::{FIRST_SEQ, SeqCheck, SeqTracker};
pub use server::{
    Accepted, BookLevel, BookSnapshot, Cancelled, ControlAck, Exec, Fill, Level, LogonAck,
    LogonReject, Logout, MassCancelAck, MassStatusEnd, NotLeader, OrderRef, OrderStatus, Reject,
    Rejected, Replaced, ReportReplayEnd, ServerMessage, TopOfBook, Trade,
};
