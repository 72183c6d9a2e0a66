//! Messages a client sends to the gateway.
//!
//! Each message is a body struct wrapped in a variant of [`ClientMessage`]. On
//! the wire the variant's tag (a `u32`) comes first, then the body's fields in
//! declaration order, each at its fixed width: bincode's layout of the enum.
//! The tags are written out (`#[wincode(tag = N)]`) and equal the variant
//! index, so the bytes are bincode's; new messages are appended, never inserted.
//!
//! Integer fields use plain `u32`/`u64`/`i64` rather than the engine's type
//! aliases, so that a change of an alias in the engine cannot silently change
//! the wire.

use wincode::{SchemaRead, SchemaWrite};

use super::code_schema::Code;
use super::codes::{Side, TimeInForce};

/// Opens the session for an account. Must be the first message, with sequence number 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, SchemaWrite, SchemaRead)]
pub struct Logon {
    /// The account every order of this session belongs to.
    pub account: u32,
    /// Cancel every live order the session entered when the session ends
    /// for any reason but a gateway shutdown: closed connection, heartbeat
    /// timeout, slow reader, logout (docs/protocol.md, "Cancel on
    /// disconnect"). Off unless asked, as in FIX and iLink.
    pub cancel_on_disconnect: bool,
    /// The account's password: up to `PASSWORD_LEN` (32) bytes of UTF-8,
    /// the rest zeros (`auth::password_field` makes it). Checked against
    /// the accounts file; ignored by a gateway started `--insecure-no-auth`.
    pub password: [u8; 32],
}

/// A new order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, SchemaWrite, SchemaRead)]
pub struct NewOrder {
    /// The client's id for the order: unique among the session's live orders.
    /// Cancels, replaces and execution reports refer to it.
    pub client_order_id: u64,
    /// The instrument (symbol number).
    pub instrument: u32,
    /// Buy or sell.
    #[wincode(with = "Code<Side>")]
    pub side: Side,
    /// Limit price in ticks. Not used when `time_in_force` is `Market`; send 0.
    pub price: i64,
    /// Quantity in lots.
    pub qty: u64,
    /// GTC, IOC, FOK, POST, or MARKET (IOC at any price).
    #[wincode(with = "Code<TimeInForce>")]
    pub time_in_force: TimeInForce,
}

/// Cancel the open quantity of a live order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, SchemaWrite, SchemaRead)]
pub struct Cancel {
    /// The order to cancel, by the id the client gave it.
    pub client_order_id: u64,
}

/// Change a live order's price and open quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, SchemaWrite, SchemaRead)]
pub struct Replace {
    /// The order to change, by the id the client gave it.
    pub client_order_id: u64,
    /// The new limit price in ticks.
    pub price: i64,
    /// The new open quantity in lots.
    pub qty: u64,
}

/// Ask for the market data of an instrument: its trades, and its book as
/// the top of book (`depth` 0) or as `depth` price levels a side (a
/// `BookSnapshot`, then numbered `BookLevel` updates). Subscribing again
/// replaces the subscription and starts with a fresh snapshot: what a
/// subscriber does when it sees a gap in the numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, SchemaWrite, SchemaRead)]
pub struct Subscribe {
    /// The instrument.
    pub instrument: u32,
    /// Price levels a side, 0 for the top of book only; at most `MAX_DEPTH`.
    pub depth: u16,
}

/// The most depth levels a side a `Subscribe` may ask for.
pub const MAX_DEPTH: u16 = 64;

/// Ask for the state of one of the account's orders, by the id the client
/// gave it: answered with one `OrderStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, SchemaWrite, SchemaRead)]
pub struct OrderStatusRequest {
    pub client_order_id: u64,
}

/// Ask for every live order of the account, or of one instrument (0: every
/// instrument): answered with an `OrderStatus` for each, then a
/// `MassStatusEnd` with the count. What a client asks right after logon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, SchemaWrite, SchemaRead)]
pub struct MassStatusRequest {
    pub instrument: u32,
}

/// Ask for every execution report of the account whose execution id
/// (`exec_seq`, `exec_index`) comes after the given one, in order, as they
/// were sent or would have been (the session may have been away, or the
/// gateway restarted): recomputed from the journal (docs/protocol.md,
/// "Recovering missed reports"). `0, 0` asks for everything retained.
/// Answered with the reports, then a `ReportReplayEnd`; live reports wait
/// meanwhile, so the session sees execution ids in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, SchemaWrite, SchemaRead)]
pub struct ReportReplayRequest {
    pub after_seq: u64,
    pub after_index: u32,
}

/// The most reports one `ReportReplayRequest` is answered with; more wait
/// for the next request (`ReplayStatus::More`). Bounds the memory and the
/// output of one answer (about 1 MB of frames).
pub const MAX_REPLAY_REPORTS: u32 = 10_000;

/// Stop the market data of an instrument: nothing more of it follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, SchemaWrite, SchemaRead)]
pub struct Unsubscribe {
    /// The instrument.
    pub instrument: u32,
}

/// Cancel every live order the session entered, or those of one instrument,
/// or of one side.
/// Answered at once with `MassCancelAck` (how many cancels were sent), then
/// a `Cancelled` for each as the engine makes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, SchemaWrite, SchemaRead)]
pub struct MassCancel {
    /// The instrument, or 0 for every instrument (symbols start at 1).
    pub instrument: u32,
    /// Only buy orders, only sell orders, or (`None`) both.
    #[wincode(with = "Option<Code<Side>>")]
    pub side: Option<Side>,
}

/// Halt (`halt` true) or resume an instrument: no new orders or replaces
/// while halted, cancels allowed, resting orders kept. Operator sessions
/// only (`NOT_AUTHORIZED` otherwise). Sequenced and journaled; answered with
/// `ControlAck` once durable (docs/protocol.md, "Operator controls").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, SchemaWrite, SchemaRead)]
pub struct Halt {
    pub instrument: u32,
    pub halt: bool,
}

/// An account's kill switch: `kill` true cancels every live order of the
/// account and refuses its new orders until a `KillSwitch` with `kill`
/// false enables it again. Operator sessions only. Answered with
/// `ControlAck`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, SchemaWrite, SchemaRead)]
pub struct KillSwitch {
    pub account: u32,
    pub kill: bool,
}

/// Everything a client can send. The `u32` tag of each variant is its wire code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, SchemaWrite, SchemaRead)]
pub enum ClientMessage {
    /// Tag 0.
    #[wincode(tag = 0)]
    Logon(Logon),
    /// Tag 1.
    #[wincode(tag = 1)]
    NewOrder(NewOrder),
    /// Tag 2.
    #[wincode(tag = 2)]
    Cancel(Cancel),
    /// Tag 3.
    #[wincode(tag = 3)]
    Replace(Replace),
    /// Tag 4: "I am alive"; sent when the client has sent nothing for a heartbeat interval.
    #[wincode(tag = 4)]
    Heartbeat,
    /// Tag 5: end the session. The gateway answers `Logout { UserRequested }` and closes.
    #[wincode(tag = 5)]
    Logout,
    /// Tag 6.
    #[wincode(tag = 6)]
    Subscribe(Subscribe),
    /// Tag 7.
    #[wincode(tag = 7)]
    MassCancel(MassCancel),
    /// Tag 8.
    #[wincode(tag = 8)]
    Unsubscribe(Unsubscribe),
    /// Tag 9.
    #[wincode(tag = 9)]
    OrderStatusRequest(OrderStatusRequest),
    /// Tag 10.
    #[wincode(tag = 10)]
    MassStatusRequest(MassStatusRequest),
    /// Tag 11.
    #[wincode(tag = 11)]
    ReportReplayRequest(ReportReplayRequest),
    /// Tag 12: operator.
    #[wincode(tag = 12)]
    Halt(Halt),
    /// Tag 13: operator.
    #[wincode(tag = 13)]
    KillSwitch(KillSwitch),
}

impl ClientMessage {
    /// How many tags this direction has (tags are `0..TAG_COUNT`).
    pub const TAG_COUNT: u32 = 14;

    /// The message's wire tag.
    pub fn tag(&self) -> u32 {
        match self {
            Self::Logon(_) => 0,
            Self::NewOrder(_) => 1,
            Self::Cancel(_) => 2,
            Self::Replace(_) => 3,
            Self::Heartbeat => 4,
            Self::Logout => 5,
            Self::Subscribe(_) => 6,
            Self::MassCancel(_) => 7,
            Self::Unsubscribe(_) => 8,
            Self::OrderStatusRequest(_) => 9,
            Self::MassStatusRequest(_) => 10,
            Self::ReportReplayRequest(_) => 11,
            Self::Halt(_) => 12,
            Self::KillSwitch(_) => 13,
        }
    }

    /// The message's name, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Logon(_) => "Logon",
            Self::NewOrder(_) => "NewOrder",
            Self::Cancel(_) => "Cancel",
            Self::Replace(_) => "Replace",
            Self::Heartbeat => "Heartbeat",
            Self::Logout => "Logout",
            Self::Subscribe(_) => "Subscribe",
            Self::MassCancel(_) => "MassCancel",
            Self::Unsubscribe(_) => "Unsubscribe",
            Self::OrderStatusRequest(_) => "OrderStatusRequest",
            Self::MassStatusRequest(_) => "MassStatusRequest",
            Self::ReportReplayRequest(_) => "ReportReplayRequest",
            Self::Halt(_) => "Halt",
            Self::KillSwitch(_) => "KillSwitch",
        }
    }
}
