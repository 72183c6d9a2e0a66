//! The vocabulary of the engine: prices, quantities, ids, sides and order types.
//!
//! Prices are integer ticks and quantities are integer lots. There are no
//! floats anywhere in the engine: a float price cannot be compared for
//! equality, and rounding would make replays differ between machines.

/// A price in integer ticks. Signed, so spreads and some derivatives can go negative.
pub type Price = i64;
/// A quantity in integer lots. Always positive in a valid command.
pub type Qty = u64;
/// An order id. Unique among the live orders of one instrument.
pub type OrderId = u64;
/// The id an account's client gave an order: unique among the account's
/// live orders (the gateway checks it); the engine keeps it beside each
/// resting order, so that who owns what is part of the state the journal
/// and snapshots reproduce, and never matches on it.
pub type ClientOrderId = u64;
/// An account. Orders of the same account never trade with each other.
pub type Account = u32;
/// An instrument (symbol) number.
pub type Symbol = u32;

/// Which side of the book an order is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    /// The other side: the side an order of this side trades against.
    #[inline]
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }

    /// `true` when a resting order at `resting` is acceptable to an aggressor
    /// of this side with limit `limit` (buy: ask <= limit; sell: bid >= limit).
    #[inline]
    pub fn accepts(self, limit: Price, resting: Price) -> bool {
        match self {
            Side::Buy => resting <= limit,
            Side::Sell => resting >= limit,
        }
    }

    /// The letter of the replay format: `B` or `S`.
    pub fn letter(self) -> char {
        match self {
            Side::Buy => 'B',
            Side::Sell => 'S',
        }
    }
}

/// How long a limit order may live, and whether it may take liquidity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeInForce {
    /// Good till cancelled: matches, then rests.
    Gtc,
    /// Immediate or cancel: matches, then the rest expires.
    Ioc,
    /// Fill or kill: fills completely at once, or expires untouched.
    Fok,
    /// Post only: rests without trading, or is rejected `WOULD_CROSS`.
    Post,
}

impl TimeInForce {
    /// The word of the replay format.
    pub fn word(self) -> &'static str {
        match self {
            TimeInForce::Gtc => "GTC",
            TimeInForce::Ioc => "IOC",
            TimeInForce::Fok => "FOK",
            TimeInForce::Post => "POST",
        }
    }
}

/// An instrument's limits: its price band and largest order quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstrumentSpec {
    pub symbol: Symbol,
    pub min_price: Price,
    pub max_price: Price,
    pub max_qty: Qty,
}
