//! The enumerations of the wire protocol and the `u32` code each value travels as.
//!
//! Every enumerated field (side, time in force, every reason) is a `u32`
//! little-endian code on the wire, the same width and byte order bincode gives
//! an enum's variant index. The codes are written out here, next to each
//! variant, instead of being left to the declaration order: the order of a
//! Rust enum is easy to change by accident, a published code is not. Codes
//! are append-only; a retired value is never reused.
//!
//! These are protocol-level twins of the engine's vocabulary rather than the
//! engine's own types, so that the wire format cannot change when the engine's
//! enums do (the `From` conversions in `engine_map.rs` stop compiling instead).

/// A value that travels as a `u32` code.
///
/// Implemented by every enumeration of the protocol. The wincode schema in
/// `code_schema.rs` uses it to write and read such a field, and to name the
/// field when a code is unknown.
pub trait WireCode: Sized + Copy + 'static {
    /// What the field is called in a decode error ("side", "time_in_force", ...).
    const FIELD: &'static str;
    /// Every value, in code order. Tests and property strategies walk it.
    const ALL: &'static [Self];
    /// The code this value is written as.
    fn code(self) -> u32;
    /// The value of a code, or `None` for a code this version does not know.
    fn from_code(code: u32) -> Option<Self>;
}

/// Declares a field-less protocol enum whose discriminants are its wire codes,
/// and implements [`WireCode`] for it.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident as $field:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u32)]
        pub enum $name {
            $( $(#[$vmeta])* $variant = $code, )+
        }

        impl WireCode for $name {
            const FIELD: &'static str = $field;
            const ALL: &'static [Self] = &[$(Self::$variant),+];

            #[inline]
            fn code(self) -> u32 {
                self as u32
            }

            #[inline]
            fn from_code(code: u32) -> Option<Self> {
                match code {
                    $( $code => Some(Self::$variant), )+
                    _ => None,
                }
            }
        }
    };
}

wire_enum! {
    /// Which side of the book an order is on.
    pub enum Side as "side" {
        /// A bid.
        Buy = 0,
        /// An offer.
        Sell = 1,
    }
}

wire_enum! {
    /// How long an order may live, and whether it may take liquidity.
    ///
    /// `Market` is an order type folded into this field instead of a separate
    /// one: a market order is exactly "immediate or cancel at any price", so a
    /// second field would only add combinations that mean nothing (a market
    /// FOK, a market post-only) and would have to be rejected.
    pub enum TimeInForce as "time_in_force" {
        /// Good till cancelled: matches, then rests.
        Gtc = 0,
        /// Immediate or cancel: matches, then the rest expires.
        Ioc = 1,
        /// Fill or kill: fills completely at once, or expires untouched.
        Fok = 2,
        /// Post only: rests without trading, or is rejected `WouldCross`.
        Post = 3,
        /// Market: immediate or cancel at any price. The order's price is not used.
        Market = 4,
    }
}

wire_enum! {
    /// Why a new order, cancel or replace was refused (execution report `Rejected`).
    ///
    /// Codes 0 to 6 are the engine's first `RejectReason`s, in the engine's
    /// order; the gateway's own order-level reasons follow (7, 8), then the
    /// engine's controls and pre-trade risk (9 to 17; docs/protocol.md,
    /// "Pre-trade risk").
    pub enum OrderRejectReason as "order_reject_reason" {
        /// The instrument was never defined.
        UnknownInstrument = 0,
        /// The quantity is 0 or above the instrument's maximum.
        BadQty = 1,
        /// The price is outside the instrument's band.
        BadPrice = 2,
        /// The engine order id is already live (a gateway bug if it is ever seen).
        DuplicateId = 3,
        /// The engine order is not live (already filled, cancelled or expired).
        UnknownOrder = 4,
        /// A post-only order would trade.
        WouldCross = 5,
        /// The book has no room for another resting order.
        BookFull = 6,
        /// The session already used this client order id for a live order.
        DuplicateClientOrderId = 7,
        /// The session has no live order with this client order id.
        UnknownClientOrderId = 8,
        /// The instrument is halted: no new orders or replaces.
        Halted = 9,
        /// The limit price is through the instrument's price collar.
        PriceCollar = 10,
        /// The account's kill switch is on.
        AccountBlocked = 11,
        /// Above the account's largest order quantity.
        RiskOrderQty = 12,
        /// Above the account's largest order notional.
        RiskOrderNotional = 13,
        /// The account has its most resting orders.
        RiskOpenOrders = 14,
        /// The account has its most resting orders in this instrument.
        RiskOpenOrdersInstrument = 15,
        /// The order could take the account's position past its limit.
        RiskPosition = 16,
        /// The order would take the account past its credit limit.
        RiskCredit = 17,
    }
}

wire_enum! {
    /// What an operator's control did (`ControlAck`).
    pub enum ControlAction as "control_action" {
        Halt = 0,
        Resume = 1,
        Kill = 2,
        Enable = 3,
    }
}

wire_enum! {
    /// Whether an operator's control took effect (`ControlAck`).
    pub enum ControlStatus as "control_status" {
        /// Sequenced, journaled and applied.
        Applied = 0,
        /// `Halt` named an instrument the venue does not have.
        UnknownInstrument = 1,
    }
}

wire_enum! {
    /// What the gateway knows of an order (`OrderStatus`).
    pub enum OrderState as "order_state" {
        /// The account has no live order of this client order id: never
        /// entered, or ended (filled, cancelled, rejected).
        Unknown = 0,
        /// Entered and sequenced, not yet acknowledged (`Accepted` is on
        /// its way, or a `Rejected`).
        PendingNew = 1,
        /// Acknowledged and live, with `leaves` open.
        Live = 2,
    }
}

wire_enum! {
    /// How a report replay ended (`ReportReplayEnd`).
    pub enum ReplayStatus as "replay_status" {
        /// Every report of the account up to the request was sent; what
        /// follows is live.
        Complete = 0,
        /// The replay stopped at `MAX_REPLAY_REPORTS`: ask again after the
        /// `resume` execution id. Live reports wait until the replay is
        /// complete.
        More = 1,
        /// The journal no longer holds the start of the span (retention):
        /// the reports up to the `resume` id are gone; ask again after it
        /// for the rest (or ask `MassStatusRequest` for where orders stand).
        NotRetained = 2,
        /// A replay of this session is already under way: wait for its end.
        Busy = 3,
        /// The journal could not be read; the gateway logged why. Asking
        /// again may work.
        Failed = 4,
    }
}

wire_enum! {
    /// Why open quantity was cancelled (execution report `Cancelled`).
    pub enum CancelReason as "cancel_reason" {
        /// The owner asked.
        User = 0,
        /// The unfilled rest of an IOC, FOK or market order.
        Expired = 1,
        /// Self-trade prevention removed a resting order of the aggressor's account.
        SelfTrade = 2,
    }
}

wire_enum! {
    /// Why a logon was refused (`LogonReject`). The gateway closes the
    /// connection after sending it.
    pub enum LogonRejectReason as "logon_reject_reason" {
        /// The account is not known to the gateway (account 0: see docs/protocol.md).
        UnknownAccount = 0,
        /// The account already has a session and the gateway allows one.
        AccountInUse = 1,
        /// The logon's sequence number was not 1.
        BadSequence = 2,
        /// The gateway has no room for another session (sent on connecting).
        SessionLimit = 3,
        /// The account, its password, or its state (disabled) does not
        /// allow this logon; which of them is not said.
        BadCredentials = 4,
    }
}

wire_enum! {
    /// Why the gateway ends a session (`Logout`). The connection is closed
    /// once the message is written, or after a short grace if the client
    /// does not read it (always so for `SlowReader`).
    pub enum LogoutReason as "logout_reason" {
        /// The client sent `Logout`; this is the answer.
        UserRequested = 0,
        /// Nothing arrived from the client for too long (see the heartbeat rule).
        HeartbeatTimeout = 1,
        /// No `Logon` arrived in time after the connection opened.
        LogonTimeout = 2,
        /// The client kept sending past its throttle.
        Throttled = 3,
        /// A client sequence number skipped ahead.
        SeqGap = 4,
        /// A length prefix was above the maximum frame length.
        FrameTooLarge = 5,
        /// The client stopped reading and its outbound buffer filled.
        SlowReader = 6,
        /// The gateway is shutting down.
        Shutdown = 7,
    }
}

wire_enum! {
    /// What was wrong with a frame that could not be decoded: the kind of a
    /// [`DecodeError`](super::DecodeError), without its details.
    pub enum DecodeErrorKind as "decode_error_kind" {
        /// The length prefix was above the maximum frame length.
        FrameTooLarge = 0,
        /// The payload ended before the message did.
        Truncated = 1,
        /// Bytes were left in the payload after the message.
        TrailingBytes = 2,
        /// The message tag is not one this direction knows.
        UnknownMessageTag = 3,
        /// An enumerated field (side, time in force, a reason, a presence flag)
        /// held a value it cannot have.
        BadEnumValue = 4,
        /// Anything else wincode refused (not produced by this version's messages).
        Malformed = 5,
    }
}

/// Why the gateway refused one frame without ending the session (`Reject`).
///
/// A single `u32` code on the wire. `DecodeFailed` carries the kind of decode
/// error in the Rust type, but on the wire each kind is a code of its own
/// (6 + the kind's code), so that every `Reject` has the same size and a
/// client needs no second lookup to read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionRejectReason {
    /// A message other than `Logon` arrived before the session was logged on.
    NotLoggedOn,
    /// A second `Logon` arrived on a logged-on session.
    AlreadyLoggedOn,
    /// The frame was over the session's throttle and was dropped unprocessed.
    Throttled,
    /// The sequence number skipped ahead. The session is then closed (`Logout { SeqGap }`).
    SeqGap,
    /// The sequence number was already used; the frame was dropped unprocessed.
    SeqDuplicate,
    /// A `Subscribe` named an instrument the gateway does not have.
    UnknownInstrument,
    /// The frame could not be decoded.
    DecodeFailed(DecodeErrorKind),
    /// A `Subscribe` asked for more depth levels than the gateway sends
    /// (`MAX_DEPTH`).
    BadDepth,
    /// The session's role may not send this message: a trading account's
    /// `Halt` or `KillSwitch`, an operator's order messages.
    NotAuthorized,
}

impl SessionRejectReason {
    /// The code of `DecodeFailed(kind)` is this plus the kind's code.
    const DECODE_FAILED_BASE: u32 = 6;
    /// After the decode kinds' codes (6..=11), added later.
    const BAD_DEPTH: u32 = 12;
    const NOT_AUTHORIZED: u32 = 13;
}

impl WireCode for SessionRejectReason {
    const FIELD: &'static str = "session_reject_reason";
    const ALL: &'static [Self] = &[
        Self::NotLoggedOn,
        Self::AlreadyLoggedOn,
        Self::Throttled,
        Self::SeqGap,
        Self::SeqDuplicate,
        Self::UnknownInstrument,
        Self::DecodeFailed(DecodeErrorKind::FrameTooLarge),
        Self::DecodeFailed(DecodeErrorKind::Truncated),
        Self::DecodeFailed(DecodeErrorKind::TrailingBytes),
        Self::DecodeFailed(DecodeErrorKind::UnknownMessageTag),
        Self::DecodeFailed(DecodeErrorKind::BadEnumValue),
        Self::DecodeFailed(DecodeErrorKind::Malformed),
        Self::BadDepth,
        Self::NotAuthorized,
    ];

    #[inline]
    fn code(self) -> u32 {
        match self {
            Self::NotLoggedOn => 0,
            Self::AlreadyLoggedOn => 1,
            Self::Throttled => 2,
            Self::SeqGap => 3,
            Self::SeqDuplicate => 4,
            Self::UnknownInstrument => 5,
            Self::DecodeFailed(kind) => Self::DECODE_FAILED_BASE + kind.code(),
            Self::BadDepth => Self::BAD_DEPTH,
            Self::NotAuthorized => Self::NOT_AUTHORIZED,
        }
    }

    #[inline]
    fn from_code(code: u32) -> Option<Self> {
        match code {
            0 => Some(Self::NotLoggedOn),
            1 => Some(Self::AlreadyLoggedOn),
            2 => Some(Self::Throttled),
            3 => Some(Self::SeqGap),
            4 => Some(Self::SeqDuplicate),
            5 => Some(Self::UnknownInstrument),
            Self::BAD_DEPTH => Some(Self::BadDepth),
            Self::NOT_AUTHORIZED => Some(Self::NotAuthorized),
            _ => code
                .checked_sub(Self::DECODE_FAILED_BASE)
                .and_then(DecodeErrorKind::from_code)
                .map(Self::DecodeFailed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every enumeration's codes are 0, 1, 2, ... in `ALL` order (the bincode
    /// variant-index rule), and `from_code` inverts `code`.
    fn check<T: WireCode + PartialEq + core::fmt::Debug>() {
        for (i, value) in T::ALL.iter().enumerate() {
            let code = u32::try_from(i).unwrap();
            assert_eq!(value.code(), code, "{} {value:?}", T::FIELD);
            assert_eq!(T::from_code(code), Some(*value));
        }
        let past = u32::try_from(T::ALL.len()).unwrap();
        assert_eq!(T::from_code(past), None);
        assert_eq!(T::from_code(u32::MAX), None);
    }

    #[test]
    fn codes_are_dense_and_invertible() {
        check::<Side>();
        check::<TimeInForce>();
        check::<OrderRejectReason>();
        check::<CancelReason>();
        check::<LogonRejectReason>();
        check::<LogoutReason>();
        check::<DecodeErrorKind>();
        check::<SessionRejectReason>();
        check::<OrderState>();
        check::<ReplayStatus>();
        check::<ControlAction>();
        check::<ControlStatus>();
    }
}
