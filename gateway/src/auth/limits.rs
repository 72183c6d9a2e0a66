//! Each trading account's pre-trade limits, as the accounts file gives
//! them: a `[limits]` table of defaults for every trader, and an optional
//! `limits` table per account that overrides them field by field.
//!
//! ```toml
//! [limits]                       # every trader, unless its own says otherwise
//! max_open_orders = 50000
//! max_order_qty = 10000
//!
//! [[account]]
//! id = 7
//! role = "trader"
//! password_hash = "..."
//! limits = { max_order_qty = 100, max_position = 1000 }
//! ```
//!
//! A field set nowhere has no limit, except the two open-order counts,
//! which default to `DEFAULT_MAX_OPEN_ORDERS` and
//! `DEFAULT_MAX_OPEN_ORDERS_PER_INSTRUMENT`: without them one account
//! could fill a book to `BOOK_FULL` and lock every other account out of it.
//! The gateway sequences the resolved limits as an `L` command per trader
//! at start, where they differ from the journal's (docs/protocol.md,
//! "Pre-trade risk"); the engine decides.

use matching::AccountLimits;
use serde::{Deserialize, Serialize};

/// Resting orders one account may have, with no limit in the file.
pub const DEFAULT_MAX_OPEN_ORDERS: u32 = 100_000;
/// Resting orders one account may have in one instrument, with no limit in
/// the file: below the gateway's orders per book (2^18 by default), so one
/// account alone cannot fill a book. With smaller books, a quarter of a
/// book (`LimitFields::resolve`).
pub const DEFAULT_MAX_OPEN_ORDERS_PER_INSTRUMENT: u32 = 25_000;

/// Limits as a file states them: any field may be left out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_order_qty: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_order_notional: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_open_orders: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_open_orders_per_instrument: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_position: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit: Option<u64>,
}

impl LimitFields {
    /// `true` when no field is set.
    pub fn is_empty(&self) -> bool {
        *self == LimitFields::default()
    }

    /// These fields, and `base`'s where these are not set.
    pub fn over(self, base: LimitFields) -> LimitFields {
        LimitFields {
            max_order_qty: self.max_order_qty.or(base.max_order_qty),
            max_order_notional: self.max_order_notional.or(base.max_order_notional),
            max_open_orders: self.max_open_orders.or(base.max_open_orders),
            max_open_orders_per_instrument: self
                .max_open_orders_per_instrument
                .or(base.max_open_orders_per_instrument),
            max_position: self.max_position.or(base.max_position),
            credit: self.credit.or(base.credit),
        }
    }

    /// The engine's limits: unset fields have none, but for the open-order
    /// defaults, the one per instrument at most a quarter of a book of
    /// `orders_per_book`, so that no account alone can fill one.
    pub fn resolve(self, orders_per_book: u32) -> AccountLimits {
        let per_book = DEFAULT_MAX_OPEN_ORDERS_PER_INSTRUMENT.min((orders_per_book / 4).max(1));
        AccountLimits {
            max_order_qty: self.max_order_qty.unwrap_or(AccountLimits::NO_LIMIT),
            max_order_notional: self.max_order_notional.unwrap_or(AccountLimits::NO_LIMIT),
            max_open_orders: self.max_open_orders.unwrap_or(DEFAULT_MAX_OPEN_ORDERS),
            max_open_orders_per_instrument: self.max_open_orders_per_instrument.unwrap_or(per_book),
            max_position: self.max_position.unwrap_or(AccountLimits::NO_LIMIT),
            credit: self.credit.unwrap_or(AccountLimits::NO_LIMIT),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_overrides_the_defaults_field_by_field() {
        let defaults = LimitFields {
            max_order_qty: Some(100),
            max_open_orders: Some(10),
            ..LimitFields::default()
        };
        let own = LimitFields {
            max_order_qty: Some(5),
            credit: Some(1000),
            ..LimitFields::default()
        };
        let l = own.over(defaults).resolve(1 << 18);
        assert_eq!(l.max_order_qty, 5);
        assert_eq!(l.max_open_orders, 10);
        assert_eq!(l.credit, 1000);
        assert_eq!(l.max_position, AccountLimits::NO_LIMIT);
        assert_eq!(
            l.max_open_orders_per_instrument,
            DEFAULT_MAX_OPEN_ORDERS_PER_INSTRUMENT
        );
        let none = LimitFields::default().resolve(1 << 18);
        assert_eq!(none.max_open_orders, DEFAULT_MAX_OPEN_ORDERS);
        // Small books: a quarter of one.
        let small = LimitFields::default().resolve(4096);
        assert_eq!(small.max_open_orders_per_instrument, 1024);
    }
}
