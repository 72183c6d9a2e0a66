//! The order book of one instrument, and the matching rules that change it.
//!
//! This is the hot path. Everything it touches was allocated when the
//! instrument was defined: the two ladders, the order arena and the id map.
//! It takes no locks, makes no syscalls, reads no clock and writes its
//! results only into the caller's `EventSink`.

mod arena;
mod bitmap;
mod depth;
mod id_map;
mod ladder;
mod level;
mod level_store;
mod order_index;

pub use arena::MAX_LEVELS;
pub use depth::DepthView;
pub use level::{Level, LevelDepth};
pub use level_store::LevelSlot;

pub(crate) use id_map::IdMap;

use arena::{Order, OrderArena};
use ladder::Ladder;
use level::NIL;
use order_index::OrderIndex;

use crate::event::{CancelReason, Event, EventSink, RejectReason};
use crate::risk::{Collar, Intent, RiskHook};
use crate::types::{
    Account, ClientOrderId, InstrumentSpec, OrderId, Price, Qty, Side, Symbol, TimeInForce,
};

/// Why a snapshot order cannot be put back (a snapshot from another
/// configuration, or a damaged one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestoreError {
    #[error("snapshot names instrument {0}, which is not defined")]
    UnknownInstrument(Symbol),
    #[error("snapshot order {0} has a price or quantity outside its instrument's limits")]
    OutOfBand(OrderId),
    #[error("snapshot order {0} appears twice")]
    DuplicateId(OrderId),
    #[error("snapshot order {0} would cross the book; snapshots hold uncrossed books only")]
    Crossed(OrderId),
    #[error("snapshot order {0} does not fit: raise max_orders_per_book")]
    BookFull(OrderId),
}

/// A resting order as `replay --dump` lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestingOrder {
    pub symbol: Symbol,
    pub side: Side,
    pub price: Price,
    pub id: OrderId,
    pub leaves: Qty,
}

/// A resting order with everything needed to rebuild the book from a
/// snapshot: restoring these in order reproduces every level's FIFO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SnapshotOrder {
    pub symbol: Symbol,
    pub id: OrderId,
    pub account: Account,
    /// The owner's id for the order (`types::ClientOrderId`).
    pub client_order_id: ClientOrderId,
    pub side: Side,
    pub price: Price,
    pub leaves: Qty,
    pub post_only: bool,
}

/// An instrument's control state, as a snapshot keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InstrumentControl {
    pub symbol: Symbol,
    pub halted: bool,
    pub collar: Option<Collar>,
    /// The collar's reference price now: the last trade's price, or the
    /// collar's own reference before any trade since it was set.
    pub reference: Price,
}

/// The book of one instrument.
#[derive(Debug)]
pub struct OrderBook {
    spec: InstrumentSpec,
    /// Its index among the engine's books: the risk side keeps each
    /// account's holdings in an array indexed by it.
    index: u32,
    /// `H`: no new orders or replaces.
    halted: bool,
    /// `P`: the price collar, if set.
    collar: Option<Collar>,
    /// The collar's reference price (see `InstrumentControl::reference`).
    reference: Price,
    /// The collar's bounds around `reference`, kept with it (a command
    /// reads them; only a trade or a `P` moves them), or `None`.
    bounds: Option<(Price, Price)>,
    bids: Ladder,
    asks: Ladder,
    orders: OrderArena,
    ids: OrderIndex,
}

impl OrderBook {
    /// An empty book over `spec`'s band with room for `max_orders` resting
    /// orders. `levels` is the band width, checked by the caller.
    /// `prefault` commits the order arena, id map and ladders now instead of on first use.
    pub(crate) fn new(
        spec: InstrumentSpec,
        index: u32,
        levels: usize,
        max_orders: u32,
        prefault: bool,
    ) -> Self {
        let mut orders = OrderArena::new(max_orders);
        let mut ids = OrderIndex::with_capacity(max_orders as usize);
        if prefault {
            orders.prefault();
            ids.prefault();
        }
        OrderBook {
            spec,
            index,
            halted: false,
            collar: None,
            reference: 0,
            bounds: None,
            bids: Ladder::new(Side::Buy, spec.min_price, levels, prefault),
            asks: Ladder::new(Side::Sell, spec.min_price, levels, prefault),
            orders,
            ids,
        }
    }

    pub fn spec(&self) -> &InstrumentSpec {
        &self.spec
    }

    /// Its index among the engine's books.
    #[inline]
    pub fn index(&self) -> u32 {
        self.index
    }

    /// Halts (`true`) or resumes the instrument.
    pub fn set_halted(&mut self, halted: bool) {
        self.halted = halted;
    }

    /// Sets the price collar; its reference price starts at the collar's.
    pub fn set_collar(&mut self, collar: Collar) {
        self.collar = Some(collar);
        self.set_reference(collar.reference);
    }

    /// The instrument's control state.
    pub fn control(&self) -> InstrumentControl {
        InstrumentControl {
            symbol: self.spec.symbol,
            halted: self.halted,
            collar: self.collar,
            reference: self.reference,
        }
    }

    /// Puts back a control state from a snapshot.
    pub(crate) fn restore_control(&mut self, control: &InstrumentControl) {
        self.halted = control.halted;
        self.collar = control.collar;
        self.set_reference(control.reference);
    }

    /// The collar's bounds as the command starts, if there is a collar.
    #[inline]
    fn collar_bounds(&self) -> Option<(Price, Price)> {
        self.bounds
    }

    /// A new reference price for the collar (a `P`, or the last trade).
    #[inline]
    fn set_reference(&mut self, reference: Price) {
        self.reference = reference;
        self.bounds = self.collar.map(|c| c.bounds(reference));
    }

    /// `true` when a limit order of `side` at `price` is through the collar.
    #[inline]
    fn through_collar(&self, side: Side, price: Price) -> bool {
        match self.collar_bounds() {
            Some((low, high)) => match side {
                Side::Buy => price > high,
                Side::Sell => price < low,
            },
            None => false,
        }
    }

    /// `true` when order `id` is resting in this book.
    pub fn is_live(&self, id: OrderId) -> bool {
        self.ids.get(id, &self.orders).is_some()
    }

    /// The best bid and best ask prices.
    pub fn best_prices(&self) -> (Option<Price>, Option<Price>) {
        (self.bids.best_price(), self.asks.best_price())
    }

    #[inline]
    fn ladder(&self, side: Side) -> &Ladder {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    #[inline]
    fn bad_qty(&self, qty: Qty) -> bool {
        qty == 0 || qty > self.spec.max_qty
    }

    #[inline]
    fn bad_price(&self, price: Price) -> bool {
        price < self.spec.min_price || price > self.spec.max_price
    }

    /// `true` when an order of `side` at `price` would trade against the
    /// best opposite level (whatever its account).
    #[inline]
    fn crosses(&self, side: Side, price: Price) -> bool {
        match self.ladder(side.opposite()).best_price() {
            Some(best) => side.accepts(price, best),
            None => false,
        }
    }

    #[inline]
    fn reject(&self, id: OrderId, reason: RejectReason, sink: &mut impl EventSink) {
        sink.event(Event::Rejected {
            symbol: self.spec.symbol,
            id,
            reason,
        });
    }

    /// `N`: a new limit order.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub fn new_limit(
        &mut self,
        id: OrderId,
        account: Account,
        client_order_id: ClientOrderId,
        side: Side,
        price: Price,
        qty: Qty,
        tif: TimeInForce,
        risk: &mut impl RiskHook,
        sink: &mut impl EventSink,
    ) {
        let rests = matches!(tif, TimeInForce::Gtc | TimeInForce::Post);
        let me = risk.slot(account);
        let reason = if self.bad_qty(qty) {
            Some(RejectReason::BadQty)
        } else if self.bad_price(price) {
            Some(RejectReason::BadPrice)
        } else if self.ids.get(id, &self.orders).is_some() {
            Some(RejectReason::DuplicateId)
        } else if self.halted {
            Some(RejectReason::Halted)
        } else if tif == TimeInForce::Post && self.crosses(side, price) {
            Some(RejectReason::WouldCross)
        } else if self.through_collar(side, price) {
            Some(RejectReason::PriceCollar)
        } else if let Some(reason) = risk.check(
            me,
            &Intent {
                book: self.index,
                side,
                price,
                qty,
                new_resting: rests,
                replacing: None,
            },
        ) {
            Some(reason)
        } else if rests && self.orders.is_full() {
            Some(RejectReason::BookFull)
        } else {
            None
        };
        if let Some(reason) = reason {
            return self.reject(id, reason, sink);
        }
        let symbol = self.spec.symbol;
        sink.event(Event::Accepted { symbol, id });
        if tif == TimeInForce::Fok && !self.can_fill(side, price, account, qty) {
            return self.expire(id, qty, sink);
        }
        let leaves = self.match_aggressor(id, account, side, Some(price), qty, risk, sink);
        if leaves == 0 {
            return;
        }
        if rests {
            let level = self.ladder(side).index_of(price);
            let order = Order::new(id, leaves, account, side, level, tif == TimeInForce::Post);
            // Cannot fail: `is_full` was checked above and matching only frees slots.
            if let Some(slot) = self.orders.insert(order, client_order_id) {
                self.ids.insert(id, slot);
                self.append(slot);
                risk.rested(me, self.index, side, price, leaves);
            }
        } else {
            self.expire(id, leaves, sink);
        }
    }

    /// `M`: a new market order, immediate or cancel at any price.
    #[inline]
    pub fn new_market(
        &mut self,
        id: OrderId,
        account: Account,
        side: Side,
        qty: Qty,
        risk: &mut impl RiskHook,
        sink: &mut impl EventSink,
    ) {
        if self.bad_qty(qty) {
            return self.reject(id, RejectReason::BadQty, sink);
        }
        if self.ids.get(id, &self.orders).is_some() {
            return self.reject(id, RejectReason::DuplicateId, sink);
        }
        if self.halted {
            return self.reject(id, RejectReason::Halted, sink);
        }
        // A market order stops at the collar; with none it may reach the
        // band's edge, which is the price its risk is checked at.
        let limit = self.collar_bounds().map(|(low, high)| match side {
            Side::Buy => high,
            Side::Sell => low,
        });
        let worst = limit.unwrap_or(match side {
            Side::Buy => self.spec.max_price,
            Side::Sell => self.spec.min_price,
        });
        if let Some(reason) = risk.check(
            risk.slot(account),
            &Intent {
                book: self.index,
                side,
                price: worst,
                qty,
                new_resting: false,
                replacing: None,
            },
        ) {
            return self.reject(id, reason, sink);
        }
        let symbol = self.spec.symbol;
        sink.event(Event::Accepted { symbol, id });
        let leaves = match limit {
            Some(_) => self.match_aggressor(id, account, side, limit, qty, risk, sink),
            None => self.sweep(id, account, side, None, qty, risk, sink),
        };
        if leaves > 0 {
            self.expire(id, leaves, sink);
        }
    }

    /// The unfilled rest of an order that may not rest: `X ... EXPIRED`.
    #[inline]
    fn expire(&self, id: OrderId, qty: Qty, sink: &mut impl EventSink) {
        sink.event(Event::Cancelled {
            symbol: self.spec.symbol,
            id,
            qty,
            reason: CancelReason::Expired,
        });
    }

    /// `C`: cancel a live order.
    #[inline(always)]
    pub fn cancel(&mut self, id: OrderId, risk: &mut impl RiskHook, sink: &mut impl EventSink) {
        let Some(slot) = self.ids.remove(id, &self.orders) else {
            return self.reject(id, RejectReason::UnknownOrder, sink);
        };
        let order = *self.orders.get(slot);
        sink.event(Event::Cancelled {
            symbol: self.spec.symbol,
            id,
            qty: order.leaves,
            reason: CancelReason::User,
        });
        let price = self.ladder(order.side()).price_of(order.level());
        risk.reduced(
            order.account,
            self.index,
            order.side(),
            price,
            order.leaves,
            true,
        );
        self.unlink(slot);
        self.orders.remove(slot);
    }

    /// `R`: replace a live order's price and open quantity.
    #[inline]
    pub fn replace(
        &mut self,
        id: OrderId,
        price: Price,
        qty: Qty,
        risk: &mut impl RiskHook,
        sink: &mut impl EventSink,
    ) {
        let reason = if self.bad_qty(qty) {
            Err(RejectReason::BadQty)
        } else if self.bad_price(price) {
            Err(RejectReason::BadPrice)
        } else {
            self.ids
                .get(id, &self.orders)
                .ok_or(RejectReason::UnknownOrder)
        };
        let slot = match reason {
            Ok(slot) => slot,
            Err(reason) => return self.reject(id, reason, sink),
        };
        let order = *self.orders.get(slot);
        let side = order.side();
        let old_price = self.ladder(side).price_of(order.level());
        let owner = risk.slot(order.account);
        let reason = if self.halted {
            Some(RejectReason::Halted)
        } else if order.post_only() && self.crosses(side, price) {
            Some(RejectReason::WouldCross)
        } else if self.through_collar(side, price) {
            Some(RejectReason::PriceCollar)
        } else {
            risk.check(
                owner,
                &Intent {
                    book: self.index,
                    side,
                    price,
                    qty,
                    new_resting: false,
                    replacing: Some((order.leaves, old_price)),
                },
            )
        };
        if let Some(reason) = reason {
            return self.reject(id, reason, sink);
        }
        sink.event(Event::Replaced {
            symbol: self.spec.symbol,
            id,
            price,
            qty,
        });
        let new_level = self.ladder(side).index_of(price);
        if new_level == order.level() && qty <= order.leaves {
            // Keeps its place: only the level's depth changes.
            let level = self.ladder(side).level(new_level);
            let mut depth = level.own_depth();
            depth.qty -= u128::from(order.leaves - qty);
            level.publish(depth);
            self.orders.get_mut(slot).leaves = qty;
            risk.reduced(
                order.account,
                self.index,
                side,
                price,
                order.leaves - qty,
                false,
            );
            return;
        }
        // Loses its place: leaves the queue and comes back as an aggressor.
        risk.reduced(
            order.account,
            self.index,
            side,
            old_price,
            order.leaves,
            true,
        );
        self.unlink(slot);
        let leaves = self.match_aggressor(id, order.account, side, Some(price), qty, risk, sink);
        if leaves == 0 {
            self.ids.remove(id, &self.orders);
            self.orders.remove(slot);
        } else {
            let o = self.orders.get_mut(slot);
            o.set_level(new_level);
            o.leaves = leaves;
            self.append(slot);
            risk.rested(owner, self.index, side, price, leaves);
        }
    }

    /// FOK pre-check: is there at least `qty` open quantity of other accounts
    /// at prices acceptable to `side` at `limit`?
    fn can_fill(&self, side: Side, limit: Price, account: Account, qty: Qty) -> bool {
        let ladder = self.ladder(side.opposite());
        let mut available: Qty = 0;
        let mut next = ladder.best();
        while let Some(i) = next {
            if !side.accepts(limit, ladder.price_of(i)) {
                break;
            }
            let mut cur = ladder.level(i).head();
            while cur != NIL {
                let o = self.orders.get(cur);
                if o.account != account {
                    available = available.saturating_add(o.leaves);
                    if available >= qty {
                        return true;
                    }
                }
                cur = o.next;
            }
            next = ladder.next_worse(i);
        }
        false
    }

    /// Matches an aggressor against the opposite side while it has leaves and
    /// the best opposite price is acceptable (`limit: None` is a market
    /// order). Returns the leaves left.
    ///
    /// Half the commands are passive orders that cross nothing: for them
    /// this is one comparison with the best opposite price, inlined, and
    /// the sweep (a call with its register saves) is never entered.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn match_aggressor(
        &mut self,
        taker: OrderId,
        account: Account,
        side: Side,
        limit: Option<Price>,
        leaves: Qty,
        risk: &mut impl RiskHook,
        sink: &mut impl EventSink,
    ) -> Qty {
        if let Some(limit) = limit
            && !self.crosses(side, limit)
        {
            return leaves;
        }
        self.sweep(taker, account, side, limit, leaves, risk, sink)
    }

    /// `match_aggressor`'s loop, for an aggressor that may trade.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    fn sweep(
        &mut self,
        taker: OrderId,
        account: Account,
        side: Side,
        limit: Option<Price>,
        mut leaves: Qty,
        risk: &mut impl RiskHook,
        sink: &mut impl EventSink,
    ) -> Qty {
        let symbol = self.spec.symbol;
        let book = self.index;
        // The price of the last trade, for the collar's reference: set once
        // at the end rather than stored on every fill.
        let mut traded_at = None;
        let mut taken: Qty = 0;
        let ladder = match side {
            Side::Buy => &mut self.asks,
            Side::Sell => &mut self.bids,
        };
        while leaves > 0 {
            let Some(i) = ladder.best() else { break };
            let price = ladder.price_of(i);
            if let Some(limit) = limit
                && !side.accepts(limit, price)
            {
                break;
            }
            let level = ladder.level(i);
            let mut depth = level.own_depth();
            let mut cur = level.head();
            // Walk the FIFO from the oldest order. Every order visited is
            // either removed (filled or self-trade cancelled) or partly
            // filled with the taker exhausted, so removals are always at the head.
            while cur != NIL && leaves > 0 {
                let maker = self.orders.get_mut(cur);
                let next = maker.next;
                if maker.account == account {
                    sink.event(Event::Cancelled {
                        symbol,
                        id: maker.id,
                        qty: maker.leaves,
                        reason: CancelReason::SelfTrade,
                    });
                    risk.reduced(
                        maker.account,
                        book,
                        side.opposite(),
                        price,
                        maker.leaves,
                        true,
                    );
                    depth.qty -= u128::from(maker.leaves);
                } else {
                    let q = leaves.min(maker.leaves);
                    sink.event(Event::Trade {
                        symbol,
                        taker,
                        maker: maker.id,
                        price,
                        qty: q,
                    });
                    leaves -= q;
                    maker.leaves -= q;
                    depth.qty -= u128::from(q);
                    risk.maker_traded(
                        maker.account,
                        book,
                        side.opposite(),
                        price,
                        q,
                        maker.leaves == 0,
                    );
                    taken += q;
                    traded_at = Some(price);
                    if maker.leaves > 0 {
                        break;
                    }
                }
                let maker_id = maker.id;
                depth.count -= 1;
                self.ids.remove(maker_id, &self.orders);
                self.orders.remove(cur);
                cur = next;
            }
            level.set_head(cur);
            if cur == NIL {
                level.set_tail(NIL);
            } else {
                self.orders.get_mut(cur).prev = NIL;
            }
            level.publish(depth);
            if depth.count == 0 {
                ladder.mark_empty(i);
            }
        }
        if let Some(price) = traded_at {
            self.set_reference(price);
            risk.taker_traded(risk.slot(account), book, side, price, taken);
        }
        leaves
    }

    /// Appends the order in `slot` (price, side and leaves set) to the back of its level.
    #[inline(always)]
    fn append(&mut self, slot: u32) {
        let order = *self.orders.get(slot);
        let ladder = match order.side() {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        let i = order.level();
        let level = ladder.level(i);
        let tail = level.tail();
        if tail == NIL {
            level.set_head(slot);
        } else {
            self.orders.get_mut(tail).next = slot;
        }
        level.set_tail(slot);
        let o = self.orders.get_mut(slot);
        o.prev = tail;
        o.next = NIL;
        let mut depth = level.own_depth();
        depth.qty += u128::from(order.leaves);
        depth.count += 1;
        level.publish(depth);
        if depth.count == 1 {
            ladder.mark_occupied(i);
        }
    }

    /// Takes the order in `slot` out of its level's queue (the slot stays allocated).
    #[inline(always)]
    fn unlink(&mut self, slot: u32) {
        let order = *self.orders.get(slot);
        let ladder = match order.side() {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        let i = order.level();
        let level = ladder.level(i);
        if order.prev == NIL {
            level.set_head(order.next);
        } else {
            self.orders.get_mut(order.prev).next = order.next;
        }
        if order.next == NIL {
            level.set_tail(order.prev);
        } else {
            self.orders.get_mut(order.next).prev = order.prev;
        }
        let mut depth = level.own_depth();
        depth.qty -= u128::from(order.leaves);
        depth.count -= 1;
        level.publish(depth);
        if depth.count == 0 {
            ladder.mark_empty(i);
        }
    }

    /// Calls `f` with every resting order: bids best price first, then asks
    /// best price first, FIFO within a level (the order of `replay --dump`).
    pub fn for_each_order(&self, mut f: impl FnMut(SnapshotOrder)) {
        for side in [Side::Buy, Side::Sell] {
            let ladder = self.ladder(side);
            let mut next = ladder.best();
            while let Some(i) = next {
                let mut cur = ladder.level(i).head();
                while cur != NIL {
                    let o = self.orders.get(cur);
                    f(SnapshotOrder {
                        symbol: self.spec.symbol,
                        id: o.id,
                        account: o.account,
                        client_order_id: self.orders.client_order_id(cur),
                        side,
                        price: ladder.price_of(i),
                        leaves: o.leaves,
                        post_only: o.post_only(),
                    });
                    cur = o.next;
                }
                next = ladder.next_worse(i);
            }
        }
    }

    /// Puts a snapshot order back at the back of its level, without matching.
    pub(crate) fn restore(
        &mut self,
        o: &SnapshotOrder,
        risk: &mut impl RiskHook,
    ) -> Result<(), RestoreError> {
        if self.bad_qty(o.leaves) || self.bad_price(o.price) {
            return Err(RestoreError::OutOfBand(o.id));
        }
        if self.ids.get(o.id, &self.orders).is_some() {
            return Err(RestoreError::DuplicateId(o.id));
        }
        if self.crosses(o.side, o.price) {
            return Err(RestoreError::Crossed(o.id));
        }
        let level = self.ladder(o.side).index_of(o.price);
        let order = Order::new(o.id, o.leaves, o.account, o.side, level, o.post_only);
        let slot = self
            .orders
            .insert(order, o.client_order_id)
            .ok_or(RestoreError::BookFull(o.id))?;
        self.ids.insert(o.id, slot);
        self.append(slot);
        risk.rested(risk.slot(o.account), self.index, o.side, o.price, o.leaves);
        Ok(())
    }

    /// A view of one side's depth that another thread can read while this
    /// book keeps matching.
    pub fn depth_view(&self, side: Side) -> DepthView {
        self.ladder(side).depth_view()
    }
}
