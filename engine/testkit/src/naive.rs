//! A naive reference implementation of the matching spec (`docs/matching.md`,
//! the contract of the `matching` crate), used as an oracle.
//!
//! Property tests run the same commands through the fast
//! [`Engine`](matching::Engine) and through [`NaiveEngine`] and require the same
//! events and the same final book; the golden scenarios of
//! `engine/tools/tests/scenarios/` are checked against both (see the tests
//! below). For that comparison to mean anything, this
//! engine is written independently of `book/`, `risk/` and `engine.rs`,
//! straight from the spec, and for clarity rather than speed:
//!
//! - one `BTreeMap<Price, VecDeque<NaiveOrder>>` per side, so "best price
//!   first" is the map's order and "oldest first" is the deque's order;
//! - one `HashMap` from live id to (side, price), and linear scans of a
//!   level to find an order in it;
//! - no capacities at all, so it never rejects `BOOK_FULL` and never fails to
//!   add an instrument except for a duplicate symbol;
//! - the controls ("Controls and pre-trade risk") kept as plain values: a
//!   halt flag, a collar and the last trade's price per book; per tracked
//!   account its limits, its kill switch and, per instrument, its position
//!   and the price of its last fill (the only things the books cannot tell
//!   afterwards). Everything else a check needs (open orders, open quantity,
//!   open notional) is recounted by scanning every book, at every check;
//! - every rule is one small piece of code next to the spec sentence it
//!   implements, quoted in a comment.
//!
//! It allocates, scans and is slow; do not use it anywhere but in tests and
//! tools that check the fast engine.

use std::collections::{BTreeMap, HashMap, VecDeque};

use matching::{
    Account, AccountLimits, AccountState, CancelReason, Collar, CollarWidth, Command,
    ControlAction, Controls, Event, EventSink, InstrumentControl, InstrumentSpec, OrderId,
    PositionState, Price, Qty, RejectReason, RestingOrder, SetupError, Side, Symbol, TimeInForce,
};

/// A resting order as the naive book keeps it. Its side and price are the
/// level it sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct NaiveOrder {
    id: OrderId,
    account: Account,
    leaves: Qty,
    /// Entered as POST: "A resting POST order stays post-only".
    post_only: bool,
}

/// One side of a book: price levels, each a FIFO queue (front = oldest).
type Ladder = BTreeMap<Price, VecDeque<NaiveOrder>>;

/// One account's side of a trade: `account` bought (`side` Buy) or sold
/// `qty` at `price`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fill {
    account: Account,
    side: Side,
    price: Price,
    qty: Qty,
}

/// The book of one instrument.
#[derive(Debug)]
struct NaiveBook {
    spec: InstrumentSpec,
    bids: Ladder,
    asks: Ladder,
    /// Every live (resting) order: id -> (side, price).
    live: HashMap<OrderId, (Side, Price)>,
    /// "`H <sym> HALT` stops new business in the instrument".
    halted: bool,
    /// "`P <sym> <reference> <width> <TICKS|BPS>` gives the instrument a
    /// price collar."
    collar: Option<Collar>,
    /// The price of the last trade since the collar was set (of any trade,
    /// while there is no collar); `None` before any.
    last_trade: Option<Price>,
    /// The fills of the command being run, in the order matching met them;
    /// the engine takes them when the command is over.
    fills: Vec<Fill>,
}

/// What the engine remembers of an account named by an `L` or `K` line.
#[derive(Debug, Default)]
struct NaiveAccount {
    /// `AccountLimits::NONE` until its first `L` line.
    limits: AccountLimits,
    /// "`K <acct> KILL` blocks the account".
    blocked: bool,
    /// Per instrument it filled in since its tracking started.
    positions: BTreeMap<Symbol, NaivePosition>,
}

/// "`position` is the account's net filled quantity in `sym` (buys minus
/// sells) since its first `L` or `K` line", and "the price of the account's
/// last fill there".
#[derive(Debug, Default, Clone, Copy)]
struct NaivePosition {
    net: i128,
    last_fill: Price,
}

/// The naive reference engine: same public shape as [`matching::Engine`].
#[derive(Debug, Default)]
pub struct NaiveEngine {
    books: BTreeMap<Symbol, NaiveBook>,
    /// "The account's tracking starts at its first `L` or `K` line".
    accounts: BTreeMap<Account, NaiveAccount>,
}

/// "buy: ask <= limit; sell: bid >= limit; market: any price" (`limit` is
/// `None` for a market order).
fn acceptable(side: Side, limit: Option<Price>, resting_price: Price) -> bool {
    match (side, limit) {
        (_, None) => true,
        (Side::Buy, Some(limit)) => resting_price <= limit,
        (Side::Sell, Some(limit)) => resting_price >= limit,
    }
}

/// `qty × |price|`, exactly (at most 2^127, so a `u128` holds it).
fn notional(qty: Qty, price: Price) -> u128 {
    u128::from(qty) * u128::from(price.unsigned_abs())
}

/// An amount limit of an `L` line: "each a number or `-` for none" (`-` is
/// read as the type's maximum, `AccountLimits::NO_LIMIT`).
fn amount_limit(value: u64) -> Option<u128> {
    (value != AccountLimits::NO_LIMIT).then_some(u128::from(value))
}

/// A count limit of an `L` line (`-`: `AccountLimits::NO_COUNT_LIMIT`).
fn count_limit(value: u32) -> Option<usize> {
    (value != AccountLimits::NO_COUNT_LIMIT).then_some(value as usize)
}

impl NaiveBook {
    fn new(spec: InstrumentSpec) -> Self {
        NaiveBook {
            spec,
            bids: Ladder::new(),
            asks: Ladder::new(),
            live: HashMap::new(),
            halted: false,
            collar: None,
            last_trade: None,
            fills: Vec::new(),
        }
    }

    fn ladder(&self, side: Side) -> &Ladder {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    fn ladder_mut(&mut self, side: Side) -> &mut Ladder {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    /// The best price of `side`: highest bid, lowest ask.
    fn best_price(&self, side: Side) -> Option<Price> {
        match side {
            Side::Buy => self.bids.keys().next_back().copied(),
            Side::Sell => self.asks.keys().next().copied(),
        }
    }

    /// Every resting order with its side and price, in no particular order.
    fn orders(&self) -> impl Iterator<Item = (Side, Price, &NaiveOrder)> {
        let bids = self.bids.iter().map(|level| (Side::Buy, level));
        let asks = self.asks.iter().map(|level| (Side::Sell, level));
        bids.chain(asks)
            .flat_map(|(side, (&price, level))| level.iter().map(move |o| (side, price, o)))
    }

    /// "`BAD_QTY`: `qty` is 0 or above `max_qty`".
    fn bad_qty(&self, qty: Qty) -> bool {
        qty == 0 || qty > self.spec.max_qty
    }

    /// "`BAD_PRICE`: `price` outside `[min_price, max_price]`".
    fn bad_price(&self, price: Price) -> bool {
        price < self.spec.min_price || price > self.spec.max_price
    }

    /// "`WOULD_CROSS`: a POST order whose price would trade against the best
    /// opposite price (any account, including its own)".
    fn would_cross(&self, side: Side, price: Price) -> bool {
        self.best_price(side.opposite())
            .is_some_and(|best| acceptable(side, Some(price), best))
    }

    /// The collar `[low, high]` as the command starts, if the instrument has
    /// one. Computed in `i128`; a bound beyond every `i64` price is clamped
    /// to the last one (the same bound for every price comparison).
    fn collar_bounds(&self) -> Option<(Price, Price)> {
        let collar = self.collar?;
        // "Its reference price is the price of the instrument's last trade,
        // or `reference` before any trade since the collar was set".
        let reference = i128::from(self.last_trade.unwrap_or(collar.reference));
        // "The collar's half-width is `width` ticks, or `width` basis points
        // of the reference (`|reference| × width / 10000`, rounded down), so
        // the collar is `[reference - w, reference + w]`."
        let w = match collar.width {
            CollarWidth::Ticks(ticks) => i128::from(ticks),
            CollarWidth::Bps(bps) => reference.abs() * i128::from(bps) / 10_000,
        };
        let clamp =
            |p: i128| Price::try_from(p).unwrap_or(if p < 0 { Price::MIN } else { Price::MAX });
        Some((clamp(reference - w), clamp(reference + w)))
    }

    /// "A limit buy priced above `reference + w`, or a limit sell below
    /// `reference - w`, is rejected `PRICE_COLLAR`"; "A price on the passive
    /// side of the collar is fine".
    fn through_collar(&self, side: Side, price: Price) -> bool {
        match (self.collar_bounds(), side) {
            (None, _) => false,
            (Some((_, high)), Side::Buy) => price > high,
            (Some((low, _)), Side::Sell) => price < low,
        }
    }

    /// "the open quantity of other accounts at acceptable prices is summed"
    /// (FOK). Summed in `u128` so that no sum of `u64`s can overflow.
    fn available(&self, side: Side, limit: Price, account: Account) -> u128 {
        self.ladder(side.opposite())
            .iter()
            .filter(|(price, _)| acceptable(side, Some(limit), **price))
            .flat_map(|(_, level)| level.iter())
            .filter(|order| order.account != account)
            .map(|order| u128::from(order.leaves))
            .sum()
    }

    /// "rest at the back of their price level".
    fn rest(&mut self, side: Side, price: Price, order: NaiveOrder) {
        self.ladder_mut(side)
            .entry(price)
            .or_default()
            .push_back(order);
        self.live.insert(order.id, (side, price));
    }

    /// Takes a live order out of the book, wherever it is in its level.
    fn remove(&mut self, id: OrderId) -> Option<(Side, Price, NaiveOrder)> {
        let (side, price) = self.live.remove(&id)?;
        let ladder = self.ladder_mut(side);
        let level = ladder.get_mut(&price)?;
        let position = level.iter().position(|order| order.id == id)?;
        let order = level.remove(position)?;
        if level.is_empty() {
            ladder.remove(&price);
        }
        Some((side, price, order))
    }

    /// The matching loop of the spec, for an aggressor `taker` of `account`
    /// on `side` with `leaves` to fill and limit `limit` (`None`: market).
    /// Returns the leaves left when matching stops.
    fn match_aggressor(
        &mut self,
        taker: OrderId,
        account: Account,
        side: Side,
        limit: Option<Price>,
        mut leaves: Qty,
        sink: &mut impl EventSink,
    ) -> Qty {
        let symbol = self.spec.symbol;
        let opposite = side.opposite();
        // "While it has leaves and the best opposite level is acceptable ...
        // take the oldest order at that level".
        while leaves > 0 {
            let Some(best) = self.best_price(opposite) else {
                break;
            };
            if !acceptable(side, limit, best) {
                break;
            }
            let ladder = match opposite {
                Side::Buy => &mut self.bids,
                Side::Sell => &mut self.asks,
            };
            let Some(level) = ladder.get_mut(&best) else {
                break;
            };
            let Some(maker) = level.front_mut() else {
                // Empty levels are always removed, so this cannot happen.
                ladder.remove(&best);
                continue;
            };
            let maker_id = maker.id;
            if maker.account == account {
                // "same account as the aggressor: self-trade prevention
                // cancels the resting order, `X <sym> <maker_id>
                // <maker_leaves> STP`, and matching continues".
                sink.event(Event::Cancelled {
                    symbol,
                    id: maker_id,
                    qty: maker.leaves,
                    reason: CancelReason::SelfTrade,
                });
                maker.leaves = 0;
            } else {
                // "otherwise trade `q = min(taker_leaves, maker_leaves)`:
                // `T <sym> <taker_id> <maker_id> <maker_price> <q>`".
                let q = leaves.min(maker.leaves);
                sink.event(Event::Trade {
                    symbol,
                    taker,
                    maker: maker_id,
                    price: best,
                    qty: q,
                });
                // Both sides of the trade, for the positions of tracked
                // accounts and the collar's reference.
                self.fills.push(Fill {
                    account,
                    side,
                    price: best,
                    qty: q,
                });
                self.fills.push(Fill {
                    account: maker.account,
                    side: opposite,
                    price: best,
                    qty: q,
                });
                maker.leaves -= q;
                leaves -= q;
            }
            // "a maker with no leaves left leaves the book" (and so does an
            // STP-cancelled one).
            if maker.leaves == 0 {
                level.pop_front();
                if level.is_empty() {
                    ladder.remove(&best);
                }
                self.live.remove(&maker_id);
            }
        }
        leaves
    }
}

fn reject(sink: &mut impl EventSink, symbol: Symbol, id: OrderId, reason: RejectReason) {
    sink.event(Event::Rejected { symbol, id, reason });
}

fn expire(sink: &mut impl EventSink, symbol: Symbol, id: OrderId, qty: Qty) {
    sink.event(Event::Cancelled {
        symbol,
        id,
        qty,
        reason: CancelReason::Expired,
    });
}

/// An order command as the account checks see it (steps 9 and 10 of
/// "Validation").
#[derive(Debug, Clone, Copy)]
struct Proposed {
    /// "for R the resting order's account".
    account: Account,
    symbol: Symbol,
    side: Side,
    /// "`price` is the limit price" (for a market order, see `new_market`).
    price: Price,
    qty: Qty,
    /// A GTC or POST `N`: the open-order limits apply.
    rests: bool,
    /// For `R`, the id of the order being replaced.
    replacing: Option<OrderId>,
}

/// One resting order of an account, as the checks count it.
#[derive(Debug, Clone, Copy)]
struct Held {
    symbol: Symbol,
    side: Side,
    price: Price,
    leaves: Qty,
}

impl NaiveEngine {
    pub fn new() -> Self {
        Self::default()
    }

    /// Defines an instrument. Only a duplicate symbol is an error ("Redefining
    /// an instrument ... is an input error"); any band is allowed, even an
    /// empty one (`min_price > max_price`), where every price is `BAD_PRICE`.
    pub fn add_instrument(&mut self, spec: InstrumentSpec) -> Result<(), SetupError> {
        if self.books.contains_key(&spec.symbol) {
            return Err(SetupError::DuplicateInstrument(spec.symbol));
        }
        self.books.insert(spec.symbol, NaiveBook::new(spec));
        Ok(())
    }

    /// Runs one command, writing its events to `sink` in the spec's order.
    pub fn execute(&mut self, command: &Command, sink: &mut impl EventSink) {
        match *command {
            Command::New {
                symbol,
                id,
                account,
                side,
                price,
                qty,
                tif,
                ..
            } => self.new_limit(symbol, id, account, side, price, qty, tif, sink),
            Command::Market {
                symbol,
                id,
                account,
                side,
                qty,
                ..
            } => self.new_market(symbol, id, account, side, qty, sink),
            Command::Cancel { symbol, id } => self.cancel(symbol, id, sink),
            Command::Replace {
                symbol,
                id,
                price,
                qty,
            } => self.replace(symbol, id, price, qty, sink),
            Command::Halt { symbol, halt } => {
                // "`H` and `P` for an instrument that was never defined
                // answer `J <sym> 0 UNKNOWN_INSTRUMENT` instead."
                let Some(book) = self.books.get_mut(&symbol) else {
                    return reject(sink, symbol, 0, RejectReason::UnknownInstrument);
                };
                // "`H <sym> HALT` stops new business ... `H <sym> RESUME`
                // lifts it. Halting a halted instrument (or resuming an open
                // one) is allowed and changes nothing."
                book.halted = halt;
                // "Each takes effect at once and answers with one `S` line".
                let action = if halt {
                    ControlAction::Halted
                } else {
                    ControlAction::Resumed
                };
                sink.event(Event::Control {
                    action,
                    target: symbol,
                });
            }
            Command::Collar { symbol, collar } => {
                let Some(book) = self.books.get_mut(&symbol) else {
                    return reject(sink, symbol, 0, RejectReason::UnknownInstrument);
                };
                // "`reference` before any trade since the collar was set
                // (setting it again resets it)".
                book.collar = Some(collar);
                book.last_trade = None;
                sink.event(Event::Control {
                    action: ControlAction::CollarSet,
                    target: symbol,
                });
            }
            Command::Block { account, block } => {
                // "`K <acct> KILL` blocks the account ... `K <acct> ENABLE`
                // unblocks it. The `K` line itself cancels nothing".
                self.accounts.entry(account).or_default().blocked = block;
                let action = if block {
                    ControlAction::Killed
                } else {
                    ControlAction::Enabled
                };
                sink.event(Event::Control {
                    action,
                    target: account,
                });
            }
            Command::Limits { account, limits } => {
                // "sets every limit of the account at once, each a number or
                // `-` for none".
                self.accounts.entry(account).or_default().limits = limits;
                sink.event(Event::Control {
                    action: ControlAction::LimitsSet,
                    target: account,
                });
            }
        }
        self.settle(command.symbol());
    }

    /// After a command: its trades move the collar's reference ("The
    /// reference is taken when a command starts: the trades of one command
    /// do not move the collar under it", so only now) and the positions of
    /// tracked accounts ("fills before are not in its position": an
    /// account not yet tracked keeps none).
    fn settle(&mut self, symbol: Symbol) {
        let Some(book) = self.books.get_mut(&symbol) else {
            return;
        };
        let fills = std::mem::take(&mut book.fills);
        if let Some(last) = fills.last() {
            book.last_trade = Some(last.price);
        }
        for fill in fills {
            if let Some(account) = self.accounts.get_mut(&fill.account) {
                let position = account.positions.entry(symbol).or_default();
                match fill.side {
                    Side::Buy => position.net += i128::from(fill.qty),
                    Side::Sell => position.net -= i128::from(fill.qty),
                }
                position.last_fill = fill.price;
            }
        }
    }

    /// The resting orders of `account` in every book, found by scanning
    /// them ("resting orders it entered before are counted from then on as
    /// well (they are found in the books)"), without order `except` of
    /// instrument `symbol` ("For `R`, the order's current leaves and
    /// notional are taken out first").
    fn held(&self, account: Account, symbol: Symbol, except: Option<OrderId>) -> Vec<Held> {
        let mut held = Vec::new();
        for (&s, book) in &self.books {
            for (side, price, order) in book.orders() {
                let replaced = s == symbol && Some(order.id) == except;
                if order.account == account && !replaced {
                    held.push(Held {
                        symbol: s,
                        side,
                        price,
                        leaves: order.leaves,
                    });
                }
            }
        }
        held
    }

    /// Steps 9 and 10 of "Validation": `ACCOUNT_BLOCKED`, then the
    /// account's limits, "in this order: `RISK_ORDER_QTY`,
    /// `RISK_ORDER_NOTIONAL`, `RISK_OPEN_ORDERS`,
    /// `RISK_OPEN_ORDERS_INSTRUMENT`, `RISK_POSITION`, `RISK_CREDIT`", each
    /// "against what the account holds when the command starts".
    fn risk_check(&self, o: &Proposed) -> Option<RejectReason> {
        // An account never named by an `L` or `K` line is neither blocked
        // nor limited: "there is no default limit, collar, halt or block".
        let account = self.accounts.get(&o.account)?;
        // "9. `ACCOUNT_BLOCKED` (extension): the account is killed".
        if account.blocked {
            return Some(RejectReason::AccountBlocked);
        }
        let limits = account.limits;
        let held = self.held(o.account, o.symbol, o.replacing);
        let order_notional = notional(o.qty, o.price);
        // "`RISK_ORDER_QTY`: `qty > qty limit` (N, M; R: the new qty)".
        if amount_limit(limits.max_order_qty).is_some_and(|l| u128::from(o.qty) > l) {
            return Some(RejectReason::RiskOrderQty);
        }
        // "`RISK_ORDER_NOTIONAL`: `qty × |price| > notional limit`".
        if amount_limit(limits.max_order_notional).is_some_and(|l| order_notional > l) {
            return Some(RejectReason::RiskOrderNotional);
        }
        // "IOC, FOK and market orders never rest, so they are never rejected
        // for the open-order limits"; "`R` never counts as a new open order".
        if o.rests {
            // "`RISK_OPEN_ORDERS`: a GTC or POST `N` while the account has
            // `open` resting orders".
            if count_limit(limits.max_open_orders).is_some_and(|l| held.len() >= l) {
                return Some(RejectReason::RiskOpenOrders);
            }
            // "`RISK_OPEN_ORDERS_INSTRUMENT`: the same, counting the
            // account's orders in `sym` against `open_per_sym`".
            let in_symbol = held.iter().filter(|h| h.symbol == o.symbol).count();
            if count_limit(limits.max_open_orders_per_instrument).is_some_and(|l| in_symbol >= l) {
                return Some(RejectReason::RiskOpenOrdersInstrument);
            }
        }
        // "`RISK_POSITION`: a buy: `position + open buy qty + qty > position
        // limit`; a sell: `-position + open sell qty + qty > position
        // limit`", where "`open buy qty` and `open sell qty` are the leaves
        // of its resting orders in `sym` on each side".
        if let Some(limit) = amount_limit(limits.max_position) {
            let position = account.positions.get(&o.symbol).map_or(0, |p| p.net);
            let open_same_side: u128 = held
                .iter()
                .filter(|h| h.symbol == o.symbol && h.side == o.side)
                .map(|h| u128::from(h.leaves))
                .sum();
            let signed = match o.side {
                Side::Buy => position,
                Side::Sell => -position,
            };
            // Sums of at most 2^32 orders' leaves and fills: far from the
            // ends of `i128`.
            let exposure = signed + open_same_side as i128 + i128::from(o.qty);
            if exposure > limit as i128 {
                return Some(RejectReason::RiskPosition);
            }
        }
        // "`RISK_CREDIT`: `open notional + position notional + qty × |price|
        // > credit`", where "`open notional` is the sum of `leaves × |price|`
        // over the account's resting orders in every instrument; `position
        // notional` is the sum over instruments of `|position| × |price of
        // the account's last fill there|`". Saturating: anything past
        // `u128::MAX` is past every limit anyway.
        if let Some(limit) = amount_limit(limits.credit) {
            let open_notional = held
                .iter()
                .map(|h| notional(h.leaves, h.price))
                .fold(0u128, u128::saturating_add);
            let position_notional = account
                .positions
                .values()
                .map(|p| {
                    p.net
                        .unsigned_abs()
                        .saturating_mul(u128::from(p.last_fill.unsigned_abs()))
                })
                .fold(0u128, u128::saturating_add);
            let used = open_notional
                .saturating_add(position_notional)
                .saturating_add(order_notional);
            if used > limit {
                return Some(RejectReason::RiskCredit);
            }
        }
        None
    }

    /// `N`: a new limit order.
    #[allow(clippy::too_many_arguments)]
    fn new_limit(
        &mut self,
        symbol: Symbol,
        id: OrderId,
        account: Account,
        side: Side,
        price: Price,
        qty: Qty,
        tif: TimeInForce,
        sink: &mut impl EventSink,
    ) {
        // "1. `UNKNOWN_INSTRUMENT`: `sym` was never defined."
        let Some(book) = self.books.get(&symbol) else {
            return reject(sink, symbol, id, RejectReason::UnknownInstrument);
        };
        // "2. `BAD_QTY`" (N, M, R).
        if book.bad_qty(qty) {
            return reject(sink, symbol, id, RejectReason::BadQty);
        }
        // "3. `BAD_PRICE`" (N, R).
        if book.bad_price(price) {
            return reject(sink, symbol, id, RejectReason::BadPrice);
        }
        // "4. `DUPLICATE_ID`: `id` is live in this instrument (N, M)."
        if book.live.contains_key(&id) {
            return reject(sink, symbol, id, RejectReason::DuplicateId);
        }
        // "6. `HALTED` (extension): the instrument is halted (N, M, R ...)".
        if book.halted {
            return reject(sink, symbol, id, RejectReason::Halted);
        }
        // "7. `WOULD_CROSS`: a POST order whose price would trade against the
        // best opposite price (any account, including its own)".
        if tif == TimeInForce::Post && book.would_cross(side, price) {
            return reject(sink, symbol, id, RejectReason::WouldCross);
        }
        // "8. `PRICE_COLLAR` (extension): the instrument has a collar and the
        // limit price is through it".
        if book.through_collar(side, price) {
            return reject(sink, symbol, id, RejectReason::PriceCollar);
        }
        // "9. `ACCOUNT_BLOCKED`" and "10. The account's limits".
        let proposed = Proposed {
            account,
            symbol,
            side,
            price,
            qty,
            rests: matches!(tif, TimeInForce::Gtc | TimeInForce::Post),
            replacing: None,
        };
        if let Some(reason) = self.risk_check(&proposed) {
            return reject(sink, symbol, id, reason);
        }
        // "11. `BOOK_FULL`": the naive book has no capacity.
        let Some(book) = self.books.get_mut(&symbol) else {
            return;
        };
        // "`A` or `U` first".
        sink.event(Event::Accepted { symbol, id });
        // "FOK: before matching, the open quantity of other accounts at
        // acceptable prices is summed. If it is below `qty`, the order is
        // accepted and at once expired (`A`, then `X ... <qty> EXPIRED`) and
        // nothing else happens".
        if tif == TimeInForce::Fok && book.available(side, price, account) < u128::from(qty) {
            return expire(sink, symbol, id, qty);
        }
        let leaves = book.match_aggressor(id, account, side, Some(price), qty, sink);
        if leaves > 0 {
            match tif {
                // "GTC and POST orders rest at the back of their price level"
                TimeInForce::Gtc | TimeInForce::Post => book.rest(
                    side,
                    price,
                    NaiveOrder {
                        id,
                        account,
                        leaves,
                        post_only: tif == TimeInForce::Post,
                    },
                ),
                // "IOC, FOK and market orders are cancelled,
                // `X <sym> <id> <leaves> EXPIRED`"
                TimeInForce::Ioc | TimeInForce::Fok => expire(sink, symbol, id, leaves),
            }
        }
    }

    /// `M`: a new market order.
    fn new_market(
        &mut self,
        symbol: Symbol,
        id: OrderId,
        account: Account,
        side: Side,
        qty: Qty,
        sink: &mut impl EventSink,
    ) {
        let Some(book) = self.books.get(&symbol) else {
            return reject(sink, symbol, id, RejectReason::UnknownInstrument);
        };
        // "2. `BAD_QTY`" (N, M, R).
        if book.bad_qty(qty) {
            return reject(sink, symbol, id, RejectReason::BadQty);
        }
        // "4. `DUPLICATE_ID`" (N, M).
        if book.live.contains_key(&id) {
            return reject(sink, symbol, id, RejectReason::DuplicateId);
        }
        // "6. `HALTED`" (N, M, R).
        if book.halted {
            return reject(sink, symbol, id, RejectReason::Halted);
        }
        // "A market order trades as if it were an IOC limit order at the
        // collar (`reference + w` to buy, `reference - w` to sell)"; with no
        // collar it is "IOC at any price".
        let limit = book.collar_bounds().map(|(low, high)| match side {
            Side::Buy => high,
            Side::Sell => low,
        });
        // "A market order's [price] is the collar on its side if the
        // instrument has one, or else the band's edge on its side
        // (`max_price` to buy, `min_price` to sell)."
        let risk_price = limit.unwrap_or(match side {
            Side::Buy => book.spec.max_price,
            Side::Sell => book.spec.min_price,
        });
        let proposed = Proposed {
            account,
            symbol,
            side,
            price: risk_price,
            qty,
            rests: false,
            replacing: None,
        };
        if let Some(reason) = self.risk_check(&proposed) {
            return reject(sink, symbol, id, reason);
        }
        let Some(book) = self.books.get_mut(&symbol) else {
            return;
        };
        sink.event(Event::Accepted { symbol, id });
        // "A market order facing an empty side is accepted and expired"; with
        // a collar "it stops there, and its rest is expired (`X ...
        // EXPIRED`)".
        let leaves = book.match_aggressor(id, account, side, limit, qty, sink);
        if leaves > 0 {
            expire(sink, symbol, id, leaves);
        }
    }

    /// `C`: cancel. "`C` is always allowed" (neither a halt nor a kill
    /// switch stops it).
    fn cancel(&mut self, symbol: Symbol, id: OrderId, sink: &mut impl EventSink) {
        let Some(book) = self.books.get_mut(&symbol) else {
            return reject(sink, symbol, id, RejectReason::UnknownInstrument);
        };
        // "5. `UNKNOWN_ORDER`: `id` is not live in this instrument (C, R)."
        let Some((_, _, order)) = book.remove(id) else {
            return reject(sink, symbol, id, RejectReason::UnknownOrder);
        };
        // "`C`: `X <sym> <id> <leaves> USER`, and the order leaves the book."
        sink.event(Event::Cancelled {
            symbol,
            id,
            qty: order.leaves,
            reason: CancelReason::User,
        });
    }

    /// `R`: replace.
    fn replace(
        &mut self,
        symbol: Symbol,
        id: OrderId,
        price: Price,
        qty: Qty,
        sink: &mut impl EventSink,
    ) {
        let Some(book) = self.books.get(&symbol) else {
            return reject(sink, symbol, id, RejectReason::UnknownInstrument);
        };
        if book.bad_qty(qty) {
            return reject(sink, symbol, id, RejectReason::BadQty);
        }
        if book.bad_price(price) {
            return reject(sink, symbol, id, RejectReason::BadPrice);
        }
        // "5. `UNKNOWN_ORDER`" (C, R).
        let Some(&(side, old_price)) = book.live.get(&id) else {
            return reject(sink, symbol, id, RejectReason::UnknownOrder);
        };
        let Some(order) = book
            .ladder(side)
            .get(&old_price)
            .and_then(|level| level.iter().find(|order| order.id == id))
            .copied()
        else {
            return reject(sink, symbol, id, RejectReason::UnknownOrder);
        };
        // "6. `HALTED`" (N, M, R).
        if book.halted {
            return reject(sink, symbol, id, RejectReason::Halted);
        }
        // "7. ... for R, a resting POST order whose new price would cross.
        // The book is left unchanged."
        if order.post_only && book.would_cross(side, price) {
            return reject(sink, symbol, id, RejectReason::WouldCross);
        }
        // "8. `PRICE_COLLAR`": "(`N`, and `R` with its new price)".
        if book.through_collar(side, price) {
            return reject(sink, symbol, id, RejectReason::PriceCollar);
        }
        // "9. `ACCOUNT_BLOCKED` ... for R the resting order's account"; the
        // limits: "R: the new qty"; "the check is on what the account would
        // hold after the replace. `R` never counts as a new open order."
        let proposed = Proposed {
            account: order.account,
            symbol,
            side,
            price,
            qty,
            rests: false,
            replacing: Some(id),
        };
        if let Some(reason) = self.risk_check(&proposed) {
            return reject(sink, symbol, id, reason);
        }
        let Some(book) = self.books.get_mut(&symbol) else {
            return;
        };
        sink.event(Event::Replaced {
            symbol,
            id,
            price,
            qty,
        });
        if price == old_price && qty <= order.leaves {
            // "`R` with the same price and `qty <=` leaves: `U`, leaves
            // become `qty`, and the order keeps its place in the queue."
            if let Some(resting) = book
                .ladder_mut(side)
                .get_mut(&old_price)
                .and_then(|level| level.iter_mut().find(|order| order.id == id))
            {
                resting.leaves = qty;
            }
        } else {
            // "`R` otherwise (new price, or more quantity): `U`, the order
            // loses its place and re-enters as an aggressor with its account
            // and the new price and leaves; what is left rests at the back of
            // its new level."
            book.remove(id);
            let leaves = book.match_aggressor(id, order.account, side, Some(price), qty, sink);
            if leaves > 0 {
                book.rest(side, price, NaiveOrder { leaves, ..order });
            }
        }
    }

    /// Every resting order in `--dump` order: "instruments in ascending
    /// `sym`; per instrument all bids (best price first) then all asks (best
    /// price first); FIFO within a level."
    pub fn resting_orders(&self) -> Vec<RestingOrder> {
        let mut out = Vec::new();
        for (&symbol, book) in &self.books {
            let bids = book.bids.iter().rev().map(|level| (Side::Buy, level));
            let asks = book.asks.iter().map(|level| (Side::Sell, level));
            for (side, (&price, level)) in bids.chain(asks) {
                out.extend(level.iter().map(|order| RestingOrder {
                    symbol,
                    side,
                    price,
                    id: order.id,
                    leaves: order.leaves,
                }));
            }
        }
        out
    }

    /// The control state in the shape of [`matching::Engine::controls`]:
    /// instruments with a halt or a collar, ascending symbol; tracked
    /// accounts, ascending account (the fast engine lists them in the order
    /// they were first tracked, so compare them sorted); per account the
    /// instruments where it has a position or has filled, ascending symbol.
    /// An instrument's `reference` is the collar's reference price now, and
    /// without a collar the last trade's price (0 before any), which means
    /// nothing.
    pub fn controls(&self) -> Controls {
        let instruments = self
            .books
            .values()
            .filter(|book| book.halted || book.collar.is_some())
            .map(|book| InstrumentControl {
                symbol: book.spec.symbol,
                halted: book.halted,
                collar: book.collar,
                reference: book
                    .last_trade
                    .or(book.collar.map(|c| c.reference))
                    .unwrap_or(0),
            })
            .collect();
        let accounts = self
            .accounts
            .iter()
            .map(|(&account, a)| AccountState {
                account,
                limits: a.limits,
                blocked: a.blocked,
                positions: a
                    .positions
                    .iter()
                    .filter(|(_, p)| p.net != 0 || p.last_fill != 0)
                    .map(|(&symbol, p)| PositionState {
                        symbol,
                        position: p.net,
                        last_fill: p.last_fill,
                    })
                    .collect(),
            })
            .collect();
        Controls {
            instruments,
            accounts,
        }
    }
}

/// `controls` in a canonical form, for comparing the fast engine's with
/// the naive one's: tracked accounts in ascending order (the fast engine
/// lists them in the order they were first tracked), each one's positions
/// in ascending symbol order, and the `reference` of an instrument without
/// a collar, which means nothing, set to 0.
pub fn comparable_controls(mut controls: Controls) -> Controls {
    for instrument in &mut controls.instruments {
        if instrument.collar.is_none() {
            instrument.reference = 0;
        }
    }
    controls.instruments.sort_by_key(|i| i.symbol);
    controls.accounts.sort_by_key(|a| a.account);
    for account in &mut controls.accounts {
        account.positions.sort_by_key(|p| p.symbol);
    }
    controls
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(symbol: Symbol) -> InstrumentSpec {
        InstrumentSpec {
            symbol,
            min_price: 1,
            max_price: 1000,
            max_qty: 1000,
        }
    }

    fn new(
        id: OrderId,
        account: Account,
        side: Side,
        price: Price,
        qty: Qty,
        tif: TimeInForce,
    ) -> Command {
        Command::New {
            symbol: 1,
            id,
            account,
            client_order_id: 0,
            side,
            price,
            qty,
            tif,
        }
    }

    fn run(engine: &mut NaiveEngine, command: Command) -> Vec<Event> {
        let mut events = Vec::new();
        engine.execute(&command, &mut events);
        events
    }

    fn trade(taker: OrderId, maker: OrderId, price: Price, qty: Qty) -> Event {
        Event::Trade {
            symbol: 1,
            taker,
            maker,
            price,
            qty,
        }
    }

    fn cancelled(id: OrderId, qty: Qty, reason: CancelReason) -> Event {
        Event::Cancelled {
            symbol: 1,
            id,
            qty,
            reason,
        }
    }

    #[test]
    fn spec_example() {
        let mut e = NaiveEngine::new();
        assert_eq!(e.add_instrument(spec(1)), Ok(()));
        let mut events = Vec::new();
        for command in [
            new(10, 7, Side::Sell, 101, 5, TimeInForce::Gtc),
            new(11, 8, Side::Sell, 101, 5, TimeInForce::Gtc),
            new(12, 9, Side::Buy, 102, 7, TimeInForce::Ioc),
            Command::Cancel { symbol: 1, id: 11 },
        ] {
            e.execute(&command, &mut events);
        }
        assert_eq!(
            events,
            vec![
                Event::Accepted { symbol: 1, id: 10 },
                Event::Accepted { symbol: 1, id: 11 },
                Event::Accepted { symbol: 1, id: 12 },
                trade(12, 10, 101, 5),
                trade(12, 11, 101, 2),
                cancelled(11, 3, CancelReason::User),
            ]
        );
        assert!(e.resting_orders().is_empty());
    }

    #[test]
    fn duplicate_instrument_is_an_error_and_empty_band_is_not() {
        let mut e = NaiveEngine::new();
        assert_eq!(e.add_instrument(spec(1)), Ok(()));
        assert_eq!(
            e.add_instrument(spec(1)),
            Err(SetupError::DuplicateInstrument(1))
        );
        let empty = InstrumentSpec {
            symbol: 2,
            min_price: 10,
            max_price: 5,
            max_qty: 1,
        };
        assert_eq!(e.add_instrument(empty), Ok(()));
    }

    #[test]
    fn validation_order() {
        let mut e = NaiveEngine::new();
        e.add_instrument(spec(1)).expect("new symbol");
        // Unknown instrument wins over everything else.
        let bad = Command::New {
            symbol: 9,
            id: 1,
            account: 1,
            client_order_id: 0,
            side: Side::Buy,
            price: 0,
            qty: 0,
            tif: TimeInForce::Gtc,
        };
        let reject = |id, reason| Event::Rejected {
            symbol: 1,
            id,
            reason,
        };
        assert_eq!(
            run(&mut e, bad),
            vec![Event::Rejected {
                symbol: 9,
                id: 1,
                reason: RejectReason::UnknownInstrument
            }]
        );
        // BAD_QTY before BAD_PRICE.
        assert_eq!(
            run(&mut e, new(1, 1, Side::Buy, 0, 0, TimeInForce::Gtc)),
            vec![reject(1, RejectReason::BadQty)]
        );
        assert_eq!(
            run(&mut e, new(1, 1, Side::Buy, 1001, 5, TimeInForce::Gtc)),
            vec![reject(1, RejectReason::BadPrice)]
        );
        run(&mut e, new(1, 1, Side::Buy, 100, 5, TimeInForce::Gtc));
        // BAD_PRICE before DUPLICATE_ID; DUPLICATE_ID before WOULD_CROSS.
        assert_eq!(
            run(&mut e, new(1, 2, Side::Sell, 0, 5, TimeInForce::Post)),
            vec![reject(1, RejectReason::BadPrice)]
        );
        assert_eq!(
            run(&mut e, new(1, 2, Side::Sell, 100, 5, TimeInForce::Post)),
            vec![reject(1, RejectReason::DuplicateId)]
        );
        assert_eq!(
            run(&mut e, new(2, 2, Side::Sell, 100, 5, TimeInForce::Post)),
            vec![reject(2, RejectReason::WouldCross)]
        );
        assert_eq!(e.resting_orders().len(), 1);
    }

    #[test]
    fn stp_then_fok_kill_and_fill() {
        let mut e = NaiveEngine::new();
        e.add_instrument(spec(1)).expect("new symbol");
        run(&mut e, new(1, 5, Side::Sell, 100, 3, TimeInForce::Gtc));
        run(&mut e, new(2, 6, Side::Sell, 100, 3, TimeInForce::Gtc));
        // Only 3 lots of other accounts: killed untouched, no STP.
        assert_eq!(
            run(&mut e, new(3, 5, Side::Buy, 100, 4, TimeInForce::Fok)),
            vec![
                Event::Accepted { symbol: 1, id: 3 },
                cancelled(3, 4, CancelReason::Expired)
            ]
        );
        // Enough: the STP cancel is met on the way.
        assert_eq!(
            run(&mut e, new(3, 5, Side::Buy, 100, 3, TimeInForce::Fok)),
            vec![
                Event::Accepted { symbol: 1, id: 3 },
                cancelled(1, 3, CancelReason::SelfTrade),
                trade(3, 2, 100, 3),
            ]
        );
        assert!(e.resting_orders().is_empty());
    }

    #[test]
    fn replace_keeps_or_loses_priority() {
        let mut e = NaiveEngine::new();
        e.add_instrument(spec(1)).expect("new symbol");
        run(&mut e, new(1, 1, Side::Buy, 100, 5, TimeInForce::Gtc));
        run(&mut e, new(2, 2, Side::Buy, 100, 5, TimeInForce::Gtc));
        let replace = |id, price, qty| Command::Replace {
            symbol: 1,
            id,
            price,
            qty,
        };
        run(&mut e, replace(1, 100, 4));
        let ids: Vec<OrderId> = e.resting_orders().iter().map(|o| o.id).collect();
        assert_eq!(ids, vec![1, 2]);
        run(&mut e, replace(1, 100, 6));
        let ids: Vec<OrderId> = e.resting_orders().iter().map(|o| o.id).collect();
        assert_eq!(ids, vec![2, 1]);
    }

    fn control(action: ControlAction, target: u32) -> Event {
        Event::Control { action, target }
    }

    #[test]
    fn halt_and_collar_of_an_unknown_instrument_are_rejected_with_id_0() {
        let mut e = NaiveEngine::new();
        e.add_instrument(spec(1)).expect("new symbol");
        let collar = Collar {
            reference: 100,
            width: CollarWidth::Ticks(5),
        };
        for command in [
            Command::Halt {
                symbol: 9,
                halt: true,
            },
            Command::Collar { symbol: 9, collar },
        ] {
            assert_eq!(
                run(&mut e, command),
                vec![Event::Rejected {
                    symbol: 9,
                    id: 0,
                    reason: RejectReason::UnknownInstrument
                }]
            );
        }
        assert_eq!(
            run(&mut e, Command::Collar { symbol: 1, collar }),
            vec![control(ControlAction::CollarSet, 1)]
        );
        // Accounts need no definition.
        assert_eq!(
            run(
                &mut e,
                Command::Block {
                    account: 9,
                    block: true
                }
            ),
            vec![control(ControlAction::Killed, 9)]
        );
    }

    #[test]
    fn collar_reference_moves_after_the_command_not_during_it() {
        let mut e = NaiveEngine::new();
        e.add_instrument(spec(1)).expect("new symbol");
        run(&mut e, new(1, 1, Side::Sell, 101, 1, TimeInForce::Gtc));
        run(&mut e, new(2, 1, Side::Sell, 104, 1, TimeInForce::Gtc));
        run(&mut e, new(3, 1, Side::Sell, 106, 1, TimeInForce::Gtc));
        let collar = Collar {
            reference: 100,
            width: CollarWidth::Ticks(5),
        };
        run(&mut e, Command::Collar { symbol: 1, collar });
        let market = |id| Command::Market {
            symbol: 1,
            id,
            account: 2,
            client_order_id: 0,
            side: Side::Buy,
            qty: 5,
        };
        // [95, 105]: stops before 106 although the trade at 104 would
        // allow it (104 + 5).
        assert_eq!(
            run(&mut e, market(4)),
            vec![
                Event::Accepted { symbol: 1, id: 4 },
                trade(4, 1, 101, 1),
                trade(4, 2, 104, 1),
                cancelled(4, 3, CancelReason::Expired),
            ]
        );
        let controls = e.controls();
        assert_eq!(controls.instruments[0].reference, 104);
        assert_eq!(
            run(&mut e, market(5)),
            vec![
                Event::Accepted { symbol: 1, id: 5 },
                trade(5, 3, 106, 1),
                cancelled(5, 4, CancelReason::Expired),
            ]
        );
    }

    #[test]
    fn tracking_counts_resting_orders_from_before_but_not_fills() {
        let mut e = NaiveEngine::new();
        e.add_instrument(spec(1)).expect("new symbol");
        run(&mut e, new(1, 7, Side::Buy, 100, 5, TimeInForce::Gtc));
        run(&mut e, new(2, 8, Side::Sell, 100, 3, TimeInForce::Gtc));
        let limits = AccountLimits {
            max_position: 5,
            ..AccountLimits::NONE
        };
        assert_eq!(
            run(&mut e, Command::Limits { account: 7, limits }),
            vec![control(ControlAction::LimitsSet, 7)]
        );
        // Open buy 2 (order 1), position 0 (its fill came before the `L`).
        assert_eq!(
            run(&mut e, new(3, 7, Side::Buy, 90, 3, TimeInForce::Gtc)),
            vec![Event::Accepted { symbol: 1, id: 3 }]
        );
        assert_eq!(
            run(&mut e, new(4, 7, Side::Buy, 90, 1, TimeInForce::Ioc)),
            vec![Event::Rejected {
                symbol: 1,
                id: 4,
                reason: RejectReason::RiskPosition
            }]
        );
        run(&mut e, new(5, 8, Side::Sell, 100, 2, TimeInForce::Ioc));
        let account = &e.controls().accounts[0];
        assert_eq!(account.account, 7);
        assert_eq!(
            account.positions,
            vec![PositionState {
                symbol: 1,
                position: 2,
                last_fill: 100
            }]
        );
    }

    /// Runs a replay file through the naive engine the way `replay --dump`
    /// does: (stdout, stderr) of the run.
    fn naive_replay(text: &str) -> (String, String) {
        use matching::text::{Line, parse_line, write_event, write_resting};
        let mut engine = NaiveEngine::new();
        let mut out = Vec::new();
        for (index, line) in text.split_terminator('\n').enumerate() {
            let number = index + 1;
            let parsed = match parse_line(line) {
                Ok(parsed) => parsed,
                Err(e) => {
                    return (
                        String::from_utf8_lossy(&out).into(),
                        format!("line {number}: {e}\n"),
                    );
                }
            };
            match parsed {
                None => {}
                Some(Line::Instrument(spec)) => {
                    if let Err(e) = engine.add_instrument(spec) {
                        return (
                            String::from_utf8_lossy(&out).into(),
                            format!("line {number}: {e}\n"),
                        );
                    }
                }
                Some(Line::Command(command)) => {
                    let mut events = Vec::new();
                    engine.execute(&command, &mut events);
                    for event in &events {
                        write_event(&mut out, event).expect("write to a Vec");
                    }
                }
            }
        }
        for order in engine.resting_orders() {
            write_resting(&mut out, &order).expect("write to a Vec");
        }
        (String::from_utf8_lossy(&out).into(), String::new())
    }

    /// The golden scenarios (`engine/tools/tests/scenarios/`, beside the
    /// test that runs them through `replay`; expected outputs derived by
    /// hand from the spec) hold for the naive engine too, so that a golden
    /// file and the oracle can never silently disagree.
    #[test]
    fn golden_scenarios_hold_for_the_naive_engine() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/tests/scenarios");
        let mut inputs: Vec<_> = std::fs::read_dir(&dir)
            .expect("scenario directory")
            .map(|entry| entry.expect("directory entry").path())
            .filter(|path| path.extension().is_some_and(|e| e == "txt"))
            .collect();
        inputs.sort();
        assert!(!inputs.is_empty());
        let mut failures = Vec::new();
        for input in &inputs {
            let text = std::fs::read_to_string(input).expect("scenario input");
            let expected_out =
                std::fs::read_to_string(input.with_extension("out")).expect("scenario .out");
            let expected_err =
                std::fs::read_to_string(input.with_extension("err")).unwrap_or_default();
            let (out, err) = naive_replay(&text);
            if out != expected_out || err != expected_err {
                failures.push(format!(
                    "== {}\n--- expected\n{expected_out}{expected_err}--- naive\n{out}{err}---",
                    input.display()
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}
