//! One tracked account: its limits, its kill switch, and what it holds.

use super::{AccountLimits, Intent};
use crate::event::RejectReason;
use crate::types::{Account, Price, Qty, Side, Symbol};

/// What a tracked account holds in one instrument. All of an account's
/// holdings sit side by side in `Risk::holdings`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Holding {
    /// Net filled quantity: buys minus sells.
    position: i128,
    /// `|position| × |last_fill|`, saturated (it is above every limit long
    /// before): this instrument's share of `Tracked::position_notional`.
    position_notional: u128,
    /// Leaves of its resting buy orders (wide: a sum of `u64`s).
    open_buy: u128,
    /// Leaves of its resting sell orders.
    open_sell: u128,
    /// Price of its last fill here (0 before any).
    last_fill: Price,
    /// Resting orders.
    open: u32,
}

/// A tracked account's position in one instrument, as a snapshot keeps it
/// (the rest of `Holding` is recounted from the resting orders).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PositionState {
    pub symbol: Symbol,
    pub position: i128,
    pub last_fill: Price,
}

/// A tracked account as a snapshot keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccountState {
    pub account: Account,
    pub limits: AccountLimits,
    pub blocked: bool,
    /// The instruments where it has a position or has filled.
    pub positions: Vec<PositionState>,
}

/// A sum of notionals, exact: one is below 2^127, so a few of them
/// overflow a `u128` (three resting orders of `u64::MAX` lots at a price
/// near `i64::MIN` do). Kept in 256 bits, as a carry count above a `u128`,
/// so that adding and taking out again always gives back the same sum.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Wide {
    carries: u128,
    low: u128,
}

impl Wide {
    #[inline(always)]
    fn add(&mut self, x: u128) {
        let (low, carry) = self.low.overflowing_add(x);
        self.low = low;
        self.carries += u128::from(carry);
    }

    #[inline(always)]
    fn sub(&mut self, x: u128) {
        let (low, borrow) = self.low.overflowing_sub(x);
        self.low = low;
        self.carries -= u128::from(borrow);
    }

    /// The sum, or `u128::MAX` when it is larger: above every limit anyway.
    #[inline(always)]
    fn saturated(self) -> u128 {
        if self.carries == 0 {
            self.low
        } else {
            u128::MAX
        }
    }
}

/// `true` when `value` is above `limit`. Only for a limit that is set: a
/// `-` limit (the field's maximum) is no limit, and an order's notional
/// (up to 2^127) or a credit use can be above `u64::MAX`, so the caller
/// skips the check for it (`has_notional`, `has_credit`).
#[inline(always)]
fn over(value: u128, limit: u64) -> bool {
    value > u128::from(limit)
}

/// A tracked account's own state (its holdings are `Risk`'s).
#[derive(Debug)]
pub(crate) struct Tracked {
    pub(crate) account: Account,
    pub(crate) limits: AccountLimits,
    pub(crate) blocked: bool,
    /// No limit is set (`L <acct> - - - - - -`, or only a `K` line): only
    /// the kill switch is checked.
    unlimited: bool,
    /// Which of the limits that take arithmetic are set: checks of unset
    /// ones are skipped (the gateway's default limits set only the
    /// open-order counts; docs/performance.md, "Pre-trade risk").
    has_notional: bool,
    has_position: bool,
    has_credit: bool,
    /// `has_position || has_credit`: the open quantity per side, the open
    /// notional and the position notional are kept only then (the counts,
    /// positions and last fills always). When a limit that needs them is
    /// set, the engine counts them afresh from the books and the
    /// positions (`Engine::recount`).
    sums: bool,
    open: u32,
    /// `Σ leaves × |price|` over its resting orders.
    open_notional: Wide,
    /// `Σ Holding::position_notional`.
    position_notional: Wide,
}

/// `|position| × |price|`, saturated (it is above every limit long
/// before). A position within `u64` (all but absurd ones) takes one
/// multiply that cannot overflow.
#[inline(always)]
fn position_notional(position: i128, price: Price) -> u128 {
    let size = position.unsigned_abs();
    match u64::try_from(size) {
        Ok(size) => u128::from(size) * u128::from(price.unsigned_abs()),
        Err(_) => size.saturating_mul(u128::from(price.unsigned_abs())),
    }
}

#[inline(always)]
fn notional(qty: Qty, price: Price) -> u128 {
    u128::from(qty) * u128::from(price.unsigned_abs())
}

impl Tracked {
    pub(crate) fn new(account: Account) -> Self {
        Tracked {
            account,
            limits: AccountLimits::NONE,
            blocked: false,
            unlimited: true,
            has_notional: false,
            has_position: false,
            has_credit: false,
            sums: false,
            open: 0,
            open_notional: Wide::default(),
            position_notional: Wide::default(),
        }
    }

    fn set_limits(&mut self, limits: AccountLimits) {
        self.limits = limits;
        self.unlimited = limits == AccountLimits::NONE;
        self.has_notional = limits.max_order_notional != AccountLimits::NO_LIMIT;
        self.has_position = limits.max_position != AccountLimits::NO_LIMIT;
        self.has_credit = limits.credit != AccountLimits::NO_LIMIT;
    }

    /// Sets the limits; `true` when the sums must be counted afresh
    /// (`sums` went on: they were not kept until now).
    pub(crate) fn set_limits_and_see(&mut self, limits: AccountLimits) -> bool {
        let before = self.sums;
        self.set_limits(limits);
        self.sums = self.has_position || self.has_credit;
        self.sums && !before
    }

    /// Clears the sums before they are counted afresh from `holdings`'
    /// positions (the caller then adds every resting order with `rested_sums`).
    pub(crate) fn clear_sums(&mut self, holdings: &mut [Holding]) {
        self.open_notional = Wide::default();
        self.position_notional = Wide::default();
        for h in holdings {
            h.open_buy = 0;
            h.open_sell = 0;
            h.position_notional = position_notional(h.position, h.last_fill);
            self.position_notional.add(h.position_notional);
        }
    }

    /// Adds a resting order to the sums only (its count is already in).
    pub(crate) fn rested_sums(&mut self, h: &mut Holding, side: Side, price: Price, qty: Qty) {
        self.open_notional.add(notional(qty, price));
        match side {
            Side::Buy => h.open_buy += u128::from(qty),
            Side::Sell => h.open_sell += u128::from(qty),
        }
    }

    /// The checks of docs/matching.md, "Account limits", in their order.
    #[inline(always)]
    pub(crate) fn check(&self, h: &Holding, o: &Intent) -> Option<RejectReason> {
        if self.blocked {
            return Some(RejectReason::AccountBlocked);
        }
        if self.unlimited {
            return None;
        }
        let limits = &self.limits;
        if o.qty > limits.max_order_qty {
            return Some(RejectReason::RiskOrderQty);
        }
        let order_notional = if self.has_notional || self.has_credit {
            notional(o.qty, o.price)
        } else {
            0
        };
        if self.has_notional && over(order_notional, limits.max_order_notional) {
            return Some(RejectReason::RiskOrderNotional);
        }
        if o.new_resting {
            if self.open >= limits.max_open_orders {
                return Some(RejectReason::RiskOpenOrders);
            }
            if h.open >= limits.max_open_orders_per_instrument {
                return Some(RejectReason::RiskOpenOrdersInstrument);
            }
        }
        if self.has_position {
            let old_qty = o.replacing.map_or(0, |(leaves, _)| u128::from(leaves));
            let (position, open_same_side) = match o.side {
                Side::Buy => (h.position, h.open_buy),
                Side::Sell => (-h.position, h.open_sell),
            };
            // At most 2^64 orders of at most 2^64 each: the sums fit in
            // i128 with room to spare.
            let exposure = position + (open_same_side - old_qty) as i128 + i128::from(o.qty);
            // `has_position`: the limit is set, so a plain comparison.
            if exposure > i128::from(limits.max_position) {
                return Some(RejectReason::RiskPosition);
            }
        }
        if self.has_credit {
            let old_notional = o
                .replacing
                .map_or(0, |(leaves, price)| notional(leaves, price));
            let mut open_notional = self.open_notional;
            open_notional.sub(old_notional);
            let used = open_notional
                .saturated()
                .saturating_add(self.position_notional.saturated())
                .saturating_add(order_notional);
            if over(used, limits.credit) {
                return Some(RejectReason::RiskCredit);
            }
        }
        None
    }

    #[inline(always)]
    pub(crate) fn rested(&mut self, h: &mut Holding, side: Side, price: Price, qty: Qty) {
        self.open += 1;
        h.open += 1;
        if self.sums {
            self.rested_sums(h, side, price, qty);
        }
    }

    #[inline(always)]
    pub(crate) fn reduced(
        &mut self,
        h: &mut Holding,
        side: Side,
        price: Price,
        qty: Qty,
        gone: bool,
    ) {
        self.open -= u32::from(gone);
        h.open -= u32::from(gone);
        if self.sums {
            self.open_notional.sub(notional(qty, price));
            match side {
                Side::Buy => h.open_buy -= u128::from(qty),
                Side::Sell => h.open_sell -= u128::from(qty),
            }
        }
    }

    #[inline(always)]
    pub(crate) fn filled(&mut self, h: &mut Holding, side: Side, price: Price, qty: Qty) {
        match side {
            Side::Buy => h.position += i128::from(qty),
            Side::Sell => h.position -= i128::from(qty),
        }
        self.set_position(h, h.position, price);
    }

    /// Sets the holding's position and last fill price, keeping the
    /// account's position notional in step.
    #[inline(always)]
    pub(crate) fn set_position(&mut self, h: &mut Holding, position: i128, last_fill: Price) {
        h.position = position;
        h.last_fill = last_fill;
        if !self.sums {
            return;
        }
        let old = h.position_notional;
        h.position_notional = position_notional(position, last_fill);
        self.position_notional.sub(old);
        self.position_notional.add(h.position_notional);
    }

    pub(crate) fn state(&self, holdings: &[Holding], symbols: &[Symbol]) -> AccountState {
        AccountState {
            account: self.account,
            limits: self.limits,
            blocked: self.blocked,
            positions: holdings
                .iter()
                .zip(symbols)
                .filter(|(h, _)| h.position != 0 || h.last_fill != 0)
                .map(|(h, &symbol)| PositionState {
                    symbol,
                    position: h.position,
                    last_fill: h.last_fill,
                })
                .collect(),
        }
    }
}
