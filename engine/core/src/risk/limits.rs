//! What an operator can set: an account's limits and an instrument's price
//! collar. Plain values carried by `Command::Limits` and `Command::Collar`.

use crate::types::{Price, Qty};

/// An account's pre-trade limits (`L` lines; docs/matching.md, "Account
/// limits"). `NONE` in a field (the type's maximum) means no limit, so every
/// check is one comparison whether the limit is set or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AccountLimits {
    /// Largest quantity of one order (`RISK_ORDER_QTY`).
    pub max_order_qty: Qty,
    /// Largest `qty × |price|` of one order (`RISK_ORDER_NOTIONAL`).
    pub max_order_notional: u64,
    /// Most resting orders across instruments (`RISK_OPEN_ORDERS`).
    pub max_open_orders: u32,
    /// Most resting orders in one instrument (`RISK_OPEN_ORDERS_INSTRUMENT`).
    pub max_open_orders_per_instrument: u32,
    /// Largest worst-case net position in one instrument (`RISK_POSITION`).
    pub max_position: u64,
    /// Largest open notional plus position notional (`RISK_CREDIT`).
    pub credit: u64,
}

impl AccountLimits {
    /// A `u64` field that is not set.
    pub const NO_LIMIT: u64 = u64::MAX;
    /// A `u32` field that is not set.
    pub const NO_COUNT_LIMIT: u32 = u32::MAX;

    /// No limits at all (`L <acct> - - - - - -`).
    pub const NONE: AccountLimits = AccountLimits {
        max_order_qty: Self::NO_LIMIT,
        max_order_notional: Self::NO_LIMIT,
        max_open_orders: Self::NO_COUNT_LIMIT,
        max_open_orders_per_instrument: Self::NO_COUNT_LIMIT,
        max_position: Self::NO_LIMIT,
        credit: Self::NO_LIMIT,
    };
}

impl Default for AccountLimits {
    fn default() -> Self {
        Self::NONE
    }
}

/// How wide a collar is on each side of its reference price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CollarWidth {
    /// A fixed number of ticks.
    Ticks(u64),
    /// Basis points (hundredths of a per cent) of the reference price,
    /// rounded down.
    Bps(u64),
}

/// An instrument's price collar (`P` lines; docs/matching.md, "Collars").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Collar {
    /// The reference price until the instrument trades.
    pub reference: Price,
    pub width: CollarWidth,
}

impl Collar {
    /// The half-width around `reference`, in ticks, saturated to `i64`.
    #[inline]
    pub fn half_width(&self, reference: Price) -> i64 {
        let ticks = match self.width {
            CollarWidth::Ticks(t) => u128::from(t),
            CollarWidth::Bps(bps) => {
                u128::from(reference.unsigned_abs()) * u128::from(bps) / 10_000
            }
        };
        i64::try_from(ticks).unwrap_or(i64::MAX)
    }

    /// The collar `[low, high]` around `reference`.
    #[inline]
    pub fn bounds(&self, reference: Price) -> (Price, Price) {
        let w = self.half_width(reference);
        (reference.saturating_sub(w), reference.saturating_add(w))
    }
}
