//! The payload of a journal record: the ingest timestamp and one `Command`,
//! in a fixed little-endian layout.
//!
//! Hand-written rather than derived with `wincode`: the four command shapes
//! are small and fixed, so the codec is a few dozen lines whose layout is the
//! byte table in `docs/journal.md`, line for line. It needs no serialization
//! derives on `Command` (an engine type every stage shares), its enum tags are
//! one byte instead of bincode's four, and decoding is slice splitting that
//! returns an error on any bad byte instead of trusting the input.
//!
//! Layout (all integers little-endian):
//!
//! | bytes | field |
//! |---|---|
//! | 8 | ingest timestamp, ns (`u64`) |
//! | 1 | kind: `N` new, `M` market, `C` cancel, `R` replace; `H` halt, `K` kill switch, `L` limits, `P` collar (ASCII) |
//! | .. | the kind's fields, in `Command` declaration order |
//!
//! Sides are `B`/`S`, times in force `G`/`I`/`F`/`P` (ASCII), so a hex dump
//! of a segment is readable.

use matching::command::Command;
use matching::risk::{AccountLimits, Collar, CollarWidth};
use matching::types::{Side, TimeInForce};

/// Timestamp and kind, before the kind's fields.
const PREFIX_LEN: usize = 8 + 1;
/// `N`: symbol u32, id u64, account u32, client order id u64, side u8,
/// price i64, qty u64, tif u8.
const NEW_LEN: usize = PREFIX_LEN + 4 + 8 + 4 + 8 + 1 + 8 + 8 + 1;
/// `M`: symbol u32, id u64, account u32, client order id u64, side u8, qty u64.
const MARKET_LEN: usize = PREFIX_LEN + 4 + 8 + 4 + 8 + 1 + 8;
/// `C`: symbol u32, id u64.
const CANCEL_LEN: usize = PREFIX_LEN + 4 + 8;
/// `R`: symbol u32, id u64, price i64, qty u64.
const REPLACE_LEN: usize = PREFIX_LEN + 4 + 8 + 8 + 8;

/// `H`: symbol u32, halt u8 (1 halt, 0 resume).
const HALT_LEN: usize = PREFIX_LEN + 4 + 1;
/// `K`: account u32, block u8 (1 kill, 0 enable).
const BLOCK_LEN: usize = PREFIX_LEN + 4 + 1;
/// `L`: account u32, max order qty u64, max order notional u64, max open
/// orders u32, max open orders per instrument u32, max position u64,
/// credit u64 (each field's maximum: no limit).
const LIMITS_LEN: usize = PREFIX_LEN + 4 + 8 + 8 + 4 + 4 + 8 + 8;
/// `P`: symbol u32, reference i64, unit u8 (`T` ticks, `B` basis points), width u64.
const COLLAR_LEN: usize = PREFIX_LEN + 4 + 8 + 1 + 8;

/// The longest payload (account limits).
pub const MAX_PAYLOAD_LEN: usize = LIMITS_LEN;

const KIND_NEW: u8 = b'N';
const KIND_MARKET: u8 = b'M';
const KIND_CANCEL: u8 = b'C';
const KIND_REPLACE: u8 = b'R';
const KIND_HALT: u8 = b'H';
const KIND_BLOCK: u8 = b'K';
const KIND_LIMITS: u8 = b'L';
const KIND_COLLAR: u8 = b'P';

/// Why payload bytes are not a command. Only seen when the checksum matched,
/// so it means a writer of another format version or a bug, not a torn write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("unknown command kind byte {0:#04x} (expected N, M, C, R, H, K, L or P)")]
    UnknownKind(u8),
    #[error("payload of {len} bytes for kind `{kind}`, which takes {expected}")]
    LengthMismatch {
        kind: char,
        len: usize,
        expected: usize,
    },
    #[error("payload of {0} bytes is shorter than timestamp and kind")]
    TooShort(usize),
    #[error("side byte {0:#04x} is not B or S")]
    BadSide(u8),
    #[error("time-in-force byte {0:#04x} is not G, I, F or P")]
    BadTimeInForce(u8),
    #[error("flag byte {0:#04x} is not 0 or 1")]
    BadFlag(u8),
    #[error("collar unit byte {0:#04x} is not T or B")]
    BadCollarUnit(u8),
}

/// The payload length of `command`, in bytes.
#[inline]
pub fn payload_len(command: &Command) -> usize {
    match command {
        Command::New { .. } => NEW_LEN,
        Command::Market { .. } => MARKET_LEN,
        Command::Cancel { .. } => CANCEL_LEN,
        Command::Replace { .. } => REPLACE_LEN,
        Command::Halt { .. } => HALT_LEN,
        Command::Block { .. } => BLOCK_LEN,
        Command::Limits { .. } => LIMITS_LEN,
        Command::Collar { .. } => COLLAR_LEN,
    }
}

/// `true` when `len` is the payload length of some command kind. Lets a
/// scan for valid records after a bad one skip most offsets without
/// computing a checksum.
#[inline]
pub fn is_payload_len(len: u32) -> bool {
    matches!(
        len as usize,
        NEW_LEN | MARKET_LEN | CANCEL_LEN | REPLACE_LEN | HALT_LEN | LIMITS_LEN | COLLAR_LEN
    )
}

/// Appends the payload of `command` stamped `ts` to `out`. Writes exactly
/// `payload_len(command)` bytes; never grows `out` past its capacity when
/// the caller reserved that much.
#[inline]
pub fn encode_payload(out: &mut Vec<u8>, ts: u64, command: &Command) {
    out.extend_from_slice(&ts.to_le_bytes());
    match *command {
        Command::New {
            symbol,
            id,
            account,
            client_order_id,
            side,
            price,
            qty,
            tif,
        } => {
            out.push(KIND_NEW);
            out.extend_from_slice(&symbol.to_le_bytes());
            out.extend_from_slice(&id.to_le_bytes());
            out.extend_from_slice(&account.to_le_bytes());
            out.extend_from_slice(&client_order_id.to_le_bytes());
            out.push(side_byte(side));
            out.extend_from_slice(&price.to_le_bytes());
            out.extend_from_slice(&qty.to_le_bytes());
            out.push(tif_byte(tif));
        }
        Command::Market {
            symbol,
            id,
            account,
            client_order_id,
            side,
            qty,
        } => {
            out.push(KIND_MARKET);
            out.extend_from_slice(&symbol.to_le_bytes());
            out.extend_from_slice(&id.to_le_bytes());
            out.extend_from_slice(&account.to_le_bytes());
            out.extend_from_slice(&client_order_id.to_le_bytes());
            out.push(side_byte(side));
            out.extend_from_slice(&qty.to_le_bytes());
        }
        Command::Cancel { symbol, id } => {
            out.push(KIND_CANCEL);
            out.extend_from_slice(&symbol.to_le_bytes());
            out.extend_from_slice(&id.to_le_bytes());
        }
        Command::Replace {
            symbol,
            id,
            price,
            qty,
        } => {
            out.push(KIND_REPLACE);
            out.extend_from_slice(&symbol.to_le_bytes());
            out.extend_from_slice(&id.to_le_bytes());
            out.extend_from_slice(&price.to_le_bytes());
            out.extend_from_slice(&qty.to_le_bytes());
        }
        Command::Halt { symbol, halt } => {
            out.push(KIND_HALT);
            out.extend_from_slice(&symbol.to_le_bytes());
            out.push(u8::from(halt));
        }
        Command::Block { account, block } => {
            out.push(KIND_BLOCK);
            out.extend_from_slice(&account.to_le_bytes());
            out.push(u8::from(block));
        }
        Command::Limits { account, limits } => {
            out.push(KIND_LIMITS);
            out.extend_from_slice(&account.to_le_bytes());
            out.extend_from_slice(&limits.max_order_qty.to_le_bytes());
            out.extend_from_slice(&limits.max_order_notional.to_le_bytes());
            out.extend_from_slice(&limits.max_open_orders.to_le_bytes());
            out.extend_from_slice(&limits.max_open_orders_per_instrument.to_le_bytes());
            out.extend_from_slice(&limits.max_position.to_le_bytes());
            out.extend_from_slice(&limits.credit.to_le_bytes());
        }
        Command::Collar { symbol, collar } => {
            out.push(KIND_COLLAR);
            out.extend_from_slice(&symbol.to_le_bytes());
            out.extend_from_slice(&collar.reference.to_le_bytes());
            let (unit, width) = match collar.width {
                CollarWidth::Ticks(w) => (b'T', w),
                CollarWidth::Bps(w) => (b'B', w),
            };
            out.push(unit);
            out.extend_from_slice(&width.to_le_bytes());
        }
    }
}

/// Reads a payload back: `(ingest timestamp, command)`. Any length or byte
/// that `encode_payload` cannot produce is an error, never a panic.
#[inline]
pub fn decode_payload(payload: &[u8]) -> Result<(u64, Command), DecodeError> {
    let too_short = DecodeError::TooShort(payload.len());
    let mut r = Reader { rest: payload };
    let ts = r.u64().ok_or(too_short)?;
    let kind = r.u8().ok_or(too_short)?;
    let (letter, expected) = match kind {
        KIND_NEW => ('N', NEW_LEN),
        KIND_MARKET => ('M', MARKET_LEN),
        KIND_CANCEL => ('C', CANCEL_LEN),
        KIND_REPLACE => ('R', REPLACE_LEN),
        KIND_HALT => ('H', HALT_LEN),
        KIND_BLOCK => ('K', BLOCK_LEN),
        KIND_LIMITS => ('L', LIMITS_LEN),
        KIND_COLLAR => ('P', COLLAR_LEN),
        other => return Err(DecodeError::UnknownKind(other)),
    };
    if payload.len() != expected {
        return Err(DecodeError::LengthMismatch {
            kind: letter,
            len: payload.len(),
            expected,
        });
    }
    // The length is checked, so no field read below can run out of bytes;
    // they still return `TooShort` rather than assume it.
    let command = match kind {
        KIND_NEW => Command::New {
            symbol: r.u32().ok_or(too_short)?,
            id: r.u64().ok_or(too_short)?,
            account: r.u32().ok_or(too_short)?,
            client_order_id: r.u64().ok_or(too_short)?,
            side: side(r.u8().ok_or(too_short)?)?,
            price: r.i64().ok_or(too_short)?,
            qty: r.u64().ok_or(too_short)?,
            tif: tif(r.u8().ok_or(too_short)?)?,
        },
        KIND_MARKET => Command::Market {
            symbol: r.u32().ok_or(too_short)?,
            id: r.u64().ok_or(too_short)?,
            account: r.u32().ok_or(too_short)?,
            client_order_id: r.u64().ok_or(too_short)?,
            side: side(r.u8().ok_or(too_short)?)?,
            qty: r.u64().ok_or(too_short)?,
        },
        KIND_CANCEL => Command::Cancel {
            symbol: r.u32().ok_or(too_short)?,
            id: r.u64().ok_or(too_short)?,
        },
        KIND_REPLACE => Command::Replace {
            symbol: r.u32().ok_or(too_short)?,
            id: r.u64().ok_or(too_short)?,
            price: r.i64().ok_or(too_short)?,
            qty: r.u64().ok_or(too_short)?,
        },
        KIND_HALT => Command::Halt {
            symbol: r.u32().ok_or(too_short)?,
            halt: flag(r.u8().ok_or(too_short)?)?,
        },
        KIND_BLOCK => Command::Block {
            account: r.u32().ok_or(too_short)?,
            block: flag(r.u8().ok_or(too_short)?)?,
        },
        KIND_LIMITS => Command::Limits {
            account: r.u32().ok_or(too_short)?,
            limits: AccountLimits {
                max_order_qty: r.u64().ok_or(too_short)?,
                max_order_notional: r.u64().ok_or(too_short)?,
                max_open_orders: r.u32().ok_or(too_short)?,
                max_open_orders_per_instrument: r.u32().ok_or(too_short)?,
                max_position: r.u64().ok_or(too_short)?,
                credit: r.u64().ok_or(too_short)?,
            },
        },
        _ => {
            let symbol = r.u32().ok_or(too_short)?;
            let reference = r.i64().ok_or(too_short)?;
            let unit = r.u8().ok_or(too_short)?;
            let width = r.u64().ok_or(too_short)?;
            Command::Collar {
                symbol,
                collar: Collar {
                    reference,
                    width: match unit {
                        b'T' => CollarWidth::Ticks(width),
                        b'B' => CollarWidth::Bps(width),
                        other => return Err(DecodeError::BadCollarUnit(other)),
                    },
                },
            }
        }
    };
    Ok((ts, command))
}

/// A 0/1 flag byte.
#[inline]
fn flag(byte: u8) -> Result<bool, DecodeError> {
    match byte {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(DecodeError::BadFlag(other)),
    }
}

/// The byte of a side, shared with the snapshot format.
#[inline]
pub(crate) fn side_byte(side: Side) -> u8 {
    match side {
        Side::Buy => b'B',
        Side::Sell => b'S',
    }
}

#[inline]
pub(crate) fn side(byte: u8) -> Result<Side, DecodeError> {
    match byte {
        b'B' => Ok(Side::Buy),
        b'S' => Ok(Side::Sell),
        other => Err(DecodeError::BadSide(other)),
    }
}

#[inline]
fn tif_byte(tif: TimeInForce) -> u8 {
    match tif {
        TimeInForce::Gtc => b'G',
        TimeInForce::Ioc => b'I',
        TimeInForce::Fok => b'F',
        TimeInForce::Post => b'P',
    }
}

#[inline]
fn tif(byte: u8) -> Result<TimeInForce, DecodeError> {
    match byte {
        b'G' => Ok(TimeInForce::Gtc),
        b'I' => Ok(TimeInForce::Ioc),
        b'F' => Ok(TimeInForce::Fok),
        b'P' => Ok(TimeInForce::Post),
        other => Err(DecodeError::BadTimeInForce(other)),
    }
}

/// Little-endian reads off the front of a slice; `None` when too short.
/// Shared by every decoder of the journal's files.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    pub(crate) rest: &'a [u8],
}

impl Reader<'_> {
    #[inline]
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, tail) = self.rest.split_first_chunk::<N>()?;
        self.rest = tail;
        Some(*head)
    }

    #[inline]
    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|[b]| b)
    }

    #[inline]
    pub(crate) fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_le_bytes)
    }

    #[inline]
    pub(crate) fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_le_bytes)
    }

    #[inline]
    pub(crate) fn i64(&mut self) -> Option<i64> {
        self.take().map(i64::from_le_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> [Command; 9] {
        [
            Command::New {
                symbol: 7,
                id: u64::MAX,
                account: 3,
                client_order_id: 0x0102_0304_0506_0708,
                side: Side::Sell,
                price: -5,
                qty: 10,
                tif: TimeInForce::Post,
            },
            Command::Market {
                symbol: 1,
                id: 2,
                account: 4,
                client_order_id: u64::MAX,
                side: Side::Buy,
                qty: 9,
            },
            Command::Cancel { symbol: 1, id: 99 },
            Command::Replace {
                symbol: 2,
                id: 3,
                price: i64::MIN,
                qty: 1,
            },
            Command::Halt {
                symbol: 9,
                halt: true,
            },
            Command::Block {
                account: u32::MAX,
                block: false,
            },
            Command::Limits {
                account: 7,
                limits: AccountLimits {
                    max_order_qty: 100,
                    max_order_notional: AccountLimits::NO_LIMIT,
                    max_open_orders: 3,
                    max_open_orders_per_instrument: AccountLimits::NO_COUNT_LIMIT,
                    max_position: 0,
                    credit: 1 << 40,
                },
            },
            Command::Collar {
                symbol: 1,
                collar: Collar {
                    reference: -100,
                    width: CollarWidth::Bps(250),
                },
            },
            Command::Collar {
                symbol: u32::MAX,
                collar: Collar {
                    reference: i64::MAX,
                    width: CollarWidth::Ticks(u64::MAX),
                },
            },
        ]
    }

    #[test]
    fn round_trips_every_kind() {
        for command in samples() {
            let mut buf = Vec::new();
            encode_payload(&mut buf, 123_456_789, &command);
            assert_eq!(buf.len(), payload_len(&command));
            assert!(is_payload_len(buf.len() as u32));
            assert_eq!(decode_payload(&buf), Ok((123_456_789, command)));
        }
    }

    #[test]
    fn the_new_order_layout_is_the_documented_one() {
        let mut buf = Vec::new();
        encode_payload(&mut buf, 1, &samples()[0]);
        let mut expected = vec![1, 0, 0, 0, 0, 0, 0, 0, b'N', 7, 0, 0, 0];
        expected.extend_from_slice(&[0xff; 8]);
        expected.extend_from_slice(&[3, 0, 0, 0]);
        expected.extend_from_slice(&0x0102_0304_0506_0708u64.to_le_bytes());
        expected.push(b'S');
        expected.extend_from_slice(&(-5i64).to_le_bytes());
        expected.extend_from_slice(&[10, 0, 0, 0, 0, 0, 0, 0, b'P']);
        assert_eq!(buf, expected);
    }

    #[test]
    fn every_prefix_and_every_byte_flip_decodes_or_errs_without_panic() {
        for command in samples() {
            let mut buf = Vec::new();
            encode_payload(&mut buf, 5, &command);
            for end in 0..buf.len() {
                assert!(decode_payload(&buf[..end]).is_err());
            }
            for i in 0..buf.len() {
                for bit in 0..8 {
                    let mut bad = buf.clone();
                    bad[i] ^= 1 << bit;
                    let _ = decode_payload(&bad);
                }
            }
        }
    }

    #[test]
    fn names_bad_bytes() {
        let mut buf = Vec::new();
        encode_payload(&mut buf, 5, &samples()[2]);
        buf[8] = b'Z';
        assert_eq!(decode_payload(&buf), Err(DecodeError::UnknownKind(b'Z')));
        buf[8] = b'N';
        assert!(matches!(
            decode_payload(&buf),
            Err(DecodeError::LengthMismatch { kind: 'N', .. })
        ));
    }
}
