//! Events: what the engine answers, and the sink it writes them into.

use crate::types::{OrderId, Price, Qty, Symbol};

/// Why a command was rejected. Checked in the order of the variants (see
/// `docs/matching.md`); the first that fails is the one reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// The instrument was never defined.
    UnknownInstrument,
    /// The quantity is 0 or above the instrument's `max_qty`.
    BadQty,
    /// The price is outside the instrument's band.
    BadPrice,
    /// The order id is already live in this instrument.
    DuplicateId,
    /// The order id is not live in this instrument.
    UnknownOrder,
    /// The instrument is halted (`H`): no new orders or replaces.
    Halted,
    /// A post-only order would trade.
    WouldCross,
    /// A limit price through the instrument's collar (`P`).
    PriceCollar,
    /// The account is blocked by its kill switch (`K`).
    AccountBlocked,
    /// Above the account's largest order quantity (`L`).
    RiskOrderQty,
    /// Above the account's largest order notional.
    RiskOrderNotional,
    /// The account has its most resting orders.
    RiskOpenOrders,
    /// The account has its most resting orders in this instrument.
    RiskOpenOrdersInstrument,
    /// The order could take the account's position past its limit.
    RiskPosition,
    /// The order would take the account past its credit limit.
    RiskCredit,
    /// The book has no room for another resting order (a configured
    /// capacity, `EngineConfig::max_orders_per_book`). Not in the matching
    /// spec: an engine with bounded memory needs it, and it is checked last.
    BookFull,
}

impl RejectReason {
    /// The word of the replay format.
    pub fn word(self) -> &'static str {
        match self {
            RejectReason::UnknownInstrument => "UNKNOWN_INSTRUMENT",
            RejectReason::BadQty => "BAD_QTY",
            RejectReason::BadPrice => "BAD_PRICE",
            RejectReason::DuplicateId => "DUPLICATE_ID",
            RejectReason::UnknownOrder => "UNKNOWN_ORDER",
            RejectReason::Halted => "HALTED",
            RejectReason::WouldCross => "WOULD_CROSS",
            RejectReason::PriceCollar => "PRICE_COLLAR",
            RejectReason::AccountBlocked => "ACCOUNT_BLOCKED",
            RejectReason::RiskOrderQty => "RISK_ORDER_QTY",
            RejectReason::RiskOrderNotional => "RISK_ORDER_NOTIONAL",
            RejectReason::RiskOpenOrders => "RISK_OPEN_ORDERS",
            RejectReason::RiskOpenOrdersInstrument => "RISK_OPEN_ORDERS_INSTRUMENT",
            RejectReason::RiskPosition => "RISK_POSITION",
            RejectReason::RiskCredit => "RISK_CREDIT",
            RejectReason::BookFull => "BOOK_FULL",
        }
    }
}

/// Why open quantity was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CancelReason {
    /// The owner asked (`C`).
    User,
    /// An IOC, FOK or market order's unfilled rest.
    Expired,
    /// Self-trade prevention removed a resting order of the aggressor's account.
    SelfTrade,
}

impl CancelReason {
    /// The word of the replay format.
    pub fn word(self) -> &'static str {
        match self {
            CancelReason::User => "USER",
            CancelReason::Expired => "EXPIRED",
            CancelReason::SelfTrade => "STP",
        }
    }
}

/// What a control command (`H`, `K`, `L`, `P`) did: the `S` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ControlAction {
    Halted,
    Resumed,
    Killed,
    Enabled,
    LimitsSet,
    CollarSet,
}

impl ControlAction {
    /// The word of the replay format.
    pub fn word(self) -> &'static str {
        match self {
            ControlAction::Halted => "HALTED",
            ControlAction::Resumed => "RESUMED",
            ControlAction::Killed => "KILLED",
            ControlAction::Enabled => "ENABLED",
            ControlAction::LimitsSet => "LIMITS",
            ControlAction::CollarSet => "COLLAR",
        }
    }

    /// `true` when the target is an account (`K`, `L`), `false` for an
    /// instrument (`H`, `P`).
    pub fn targets_account(self) -> bool {
        matches!(
            self,
            ControlAction::Killed | ControlAction::Enabled | ControlAction::LimitsSet
        )
    }
}

/// One outcome of a command. Small and `Copy`, so that it can be written
/// into a preallocated ring slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// A new order was accepted (`A`).
    Accepted { symbol: Symbol, id: OrderId },
    /// A command was rejected and changed nothing (`J`).
    Rejected {
        symbol: Symbol,
        id: OrderId,
        reason: RejectReason,
    },
    /// A trade at the maker's price (`T`).
    Trade {
        symbol: Symbol,
        taker: OrderId,
        maker: OrderId,
        price: Price,
        qty: Qty,
    },
    /// `qty` open quantity of an order was cancelled (`X`).
    Cancelled {
        symbol: Symbol,
        id: OrderId,
        qty: Qty,
        reason: CancelReason,
    },
    /// A replace was accepted; the order now has this price and leaves (`U`).
    Replaced {
        symbol: Symbol,
        id: OrderId,
        price: Price,
        qty: Qty,
    },
    /// A control command took effect (`S`): `target` is the instrument
    /// (`H`, `P`) or the account (`K`, `L`).
    Control { action: ControlAction, target: u32 },
}

impl Default for Event {
    /// A placeholder for preallocated ring slots.
    fn default() -> Self {
        Event::Accepted { symbol: 0, id: 0 }
    }
}

/// Where the engine writes events. The engine calls it once per event, in
/// order, and never allocates or prints itself; the caller decides whether
/// events go to a ring, a buffer, a file or nowhere.
pub trait EventSink {
    fn event(&mut self, event: Event);
}

impl EventSink for Vec<Event> {
    #[inline]
    fn event(&mut self, event: Event) {
        self.push(event);
    }
}

impl<F: FnMut(Event)> EventSink for F {
    #[inline]
    fn event(&mut self, event: Event) {
        self(event)
    }
}
