//! The payload of a frame: a sequence number, then one message.
//!
//! The sequence number sits in a common header in front of the message rather
//! than inside each message, so that it is at the same place (offset 0, a
//! `u64`) in every payload. A frame whose body cannot be decoded still tells
//! the gateway which sequence number it had, so the `Reject` can name it
//! (`ref_seq`) and the sequence stays in step. Then comes the message's `u32`
//! tag at offset 8, and its fields.
//!
//! This is the layer wincode works at: a payload is exactly bincode's legacy
//! encoding of [`Envelope`], written and read with the configuration
//! [`WireConfig`].

use wincode::config::{Configuration, DEFAULT_PREALLOCATION_SIZE_LIMIT};
use wincode::error::{ReadError, WriteError};
use wincode::int_encoding::{FixInt, LittleEndian};
use wincode::len::BincodeLen;
use wincode::{SchemaRead, SchemaWrite};

use super::client::ClientMessage;
use super::error::{DecodeError, EncodeError};
use super::server::ServerMessage;

/// The wincode configuration of the wire, spelled out: little-endian,
/// fixed-width integers, `u32` enum tags. This is bincode's legacy layout
/// (`bincode::config::legacy()`). The length encoding is named only because
/// the type needs it; no message has a variable-length field.
pub type WireConfig =
    Configuration<true, DEFAULT_PREALLOCATION_SIZE_LIMIT, BincodeLen, LittleEndian, FixInt, u32>;

/// The value of [`WireConfig`]. Its type is checked against the alias above,
/// so the two cannot drift apart.
pub const WIRE_CONFIG: WireConfig = Configuration::default()
    .with_little_endian()
    .with_fixint_encoding();

/// Bytes in front of every message body: the `u64` sequence number and the `u32` tag.
pub const HEADER_LEN: usize = 12;

/// One message with the sender's sequence number: the whole payload of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, SchemaWrite, SchemaRead)]
pub struct Envelope<M> {
    /// The sender's per-session sequence number: 1 for the first message each
    /// way, then one more for every message (see docs/protocol.md).
    pub seq: u64,
    /// The message.
    pub msg: M,
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::ClientMessage {}
    impl Sealed for super::ServerMessage {}
}

/// A direction's message set: [`ClientMessage`] or [`ServerMessage`].
///
/// The codec functions are generic over it, so the gateway and a client (the
/// load generator) share one implementation of each direction.
pub trait Message:
    sealed::Sealed
    + Copy
    + core::fmt::Debug
    + SchemaWrite<WireConfig, Src = Self>
    + for<'de> SchemaRead<'de, WireConfig, Dst = Self>
{
    /// How many tags this direction has (tags are `0..TAG_COUNT`).
    const TAG_COUNT: u32;
    /// The message's wire tag.
    fn tag(&self) -> u32;
    /// The message's name, for logs.
    fn name(&self) -> &'static str;
}

impl Message for ClientMessage {
    const TAG_COUNT: u32 = ClientMessage::TAG_COUNT;
    fn tag(&self) -> u32 {
        ClientMessage::tag(self)
    }
    fn name(&self) -> &'static str {
        ClientMessage::name(self)
    }
}

impl Message for ServerMessage {
    const TAG_COUNT: u32 = ServerMessage::TAG_COUNT;
    fn tag(&self) -> u32 {
        ServerMessage::tag(self)
    }
    fn name(&self) -> &'static str {
        ServerMessage::name(self)
    }
}

/// The payload length of `envelope` in bytes.
pub fn payload_len<M: Message>(envelope: &Envelope<M>) -> Result<usize, EncodeError> {
    <Envelope<M> as SchemaWrite<WireConfig>>::size_of(envelope).map_err(write_error)
}

/// Writes `envelope` at the start of `out` and returns the number of bytes
/// written. Nothing is allocated; if `out` is too small, nothing is written.
pub fn encode_payload<M: Message>(
    envelope: &Envelope<M>,
    out: &mut [u8],
) -> Result<usize, EncodeError> {
    let len = payload_len(envelope)?;
    let available = out.len();
    let Some(dst) = out.get_mut(..len) else {
        return Err(EncodeError::BufferTooSmall {
            needed: len,
            available,
        });
    };
    wincode::config::serialize_into(dst, envelope, WIRE_CONFIG).map_err(write_error)?;
    Ok(len)
}

/// Reads one payload. The whole of `payload` must be the message: bytes left
/// over are an error, because a length prefix that disagrees with the message
/// means the sender and receiver disagree on the layout.
///
/// Never panics and never allocates, whatever the bytes.
pub fn decode_payload<M: Message>(payload: &[u8]) -> Result<Envelope<M>, DecodeError> {
    let mut rest = payload;
    let envelope = <Envelope<M> as SchemaRead<'_, WireConfig>>::get(&mut rest)
        .map_err(|e| read_error::<M>(e, payload))?;
    if rest.is_empty() {
        Ok(envelope)
    } else {
        Err(DecodeError::TrailingBytes { extra: rest.len() })
    }
}

/// The sequence number of a payload, if it is long enough to hold one. Lets a
/// `Reject` name a frame whose message could not be decoded.
pub fn peek_seq(payload: &[u8]) -> Option<u64> {
    let (seq, _) = payload.split_first_chunk::<8>()?;
    Some(u64::from_le_bytes(*seq))
}

/// The message tag of a payload, if it is long enough to hold one.
fn peek_tag(payload: &[u8]) -> Option<u32> {
    let tag = payload.get(8..HEADER_LEN)?.first_chunk::<4>()?;
    Some(u32::from_le_bytes(*tag))
}

/// Turns a wincode read error into the protocol's own, naming the problem.
#[cold]
fn read_error<M: Message>(error: ReadError, payload: &[u8]) -> DecodeError {
    match error {
        // Every read from a slice fails this way when the slice runs out.
        ReadError::Io(_) => DecodeError::Truncated,
        // A `Code<T>` field: the schema named the field.
        ReadError::InvalidValue(field) => DecodeError::BadEnumValue { field },
        // A derived tag: the message tag itself, or (only other case in the
        // protocol) the presence byte of an `Option<Level>`. The message tag
        // is read first, so if it is unknown it is the culprit.
        ReadError::InvalidTagEncoding(_) => match peek_tag(payload) {
            Some(tag) if tag >= M::TAG_COUNT => DecodeError::UnknownMessageTag { tag },
            _ => DecodeError::BadEnumValue {
                field: "presence flag",
            },
        },
        ReadError::TrailingBytes => DecodeError::TrailingBytes { extra: 0 },
        ReadError::InvalidUtf8Encoding(_)
        | ReadError::InvalidUtf8Code(_)
        | ReadError::InvalidCharLead(_) => DecodeError::Malformed {
            reason: "invalid text",
        },
        ReadError::InvalidBoolEncoding(_) => DecodeError::Malformed {
            reason: "invalid bool",
        },
        ReadError::PointerSizedReadError
        | ReadError::LengthEncodingOverflow(_)
        | ReadError::PreallocationSizeLimit { .. } => DecodeError::Malformed {
            reason: "invalid length",
        },
        ReadError::TagEncodingOverflow(_) => DecodeError::Malformed {
            reason: "tag overflow",
        },
        ReadError::UnalignedPointerRead => DecodeError::Malformed {
            reason: "unaligned read",
        },
        ReadError::Custom(reason) => DecodeError::Malformed { reason },
    }
}

/// Turns a wincode write error into the protocol's own.
#[cold]
fn write_error(error: WriteError) -> EncodeError {
    match error {
        // Only a too-small destination; the size is checked before writing.
        WriteError::Io(_) => EncodeError::Unencodable("destination too small"),
        WriteError::InvalidUtf8Encoding(_) => EncodeError::Unencodable("invalid text"),
        WriteError::LengthEncodingOverflow(_) | WriteError::PreallocationSizeLimit { .. } => {
            EncodeError::Unencodable("length overflow")
        }
        WriteError::TagEncodingOverflow(_) => EncodeError::Unencodable("tag overflow"),
        WriteError::Custom(reason) => EncodeError::Unencodable(reason),
    }
}
