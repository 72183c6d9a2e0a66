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

/// The book of one instrument.
#[derive(Debug)]
pub struct OrderBook {
    spec: InstrumentSpec,
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
            bids: Ladder::new(Side::Buy, spec.min_price, levels, prefault),
            asks: Ladder::new(Side::Sell, spec.min_price, levels, prefault),
            orders,
            ids,
        }
    }

    pub fn spec(&self) -> &InstrumentSpec {
        &self.spec
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
    #[inline]
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
        sink: &mut impl EventSink,
    ) {
        let rests = matches!(tif, TimeInForce::Gtc | TimeInForce::Post);
        let reason = if self.bad_qty(qty) {
            Some(RejectReason::BadQty)
        } else if self.bad_price(price) {
            Some(RejectReason::BadPrice)
        } else if self.ids.get(id, &self.orders).is_some() {
            Some(RejectReason::DuplicateId)
        } else if tif == TimeInForce::Post && self.crosses(side, price) {
            Some(RejectReason::WouldCross)
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
        let leaves = self.match_aggressor(id, account, side, Some(price), qty, sink);
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
        sink: &mut impl EventSink,
    ) {
        if self.bad_qty(qty) {
            return self.reject(id, RejectReason::BadQty, sink);
        }
        if self.ids.get(id, &self.orders).is_some() {
            return self.reject(id, RejectReason::DuplicateId, sink);
        }
        let symbol = self.spec.symbol;
        sink.event(Event::Accepted { symbol, id });
        let leaves = self.match_aggressor(id, account, side, None, qty, sink);
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
    #[inline]
    pub fn cancel(&mut self, id: OrderId, sink: &mut impl EventSink) {
        let Some(slot) = self.ids.remove(id, &self.orders) else {
            return self.reject(id, RejectReason::UnknownOrder, sink);
        };
        sink.event(Event::Cancelled {
            symbol: self.spec.symbol,
            id,
            qty: self.orders.get(slot).leaves,
            reason: CancelReason::User,
        });
        self.unlink(slot);
        self.orders.remove(slot);
    }

    /// `R`: replace a live order's price and open quantity.
    #[inline]
    pub fn replace(&mut self, id: OrderId, price: Price, qty: Qty, sink: &mut impl EventSink) {
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
        if order.post_only() && self.crosses(side, price) {
            return self.reject(id, RejectReason::WouldCross, sink);
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
            return;
        }
        // Loses its place: leaves the queue and comes back as an aggressor.
        self.unlink(slot);
        let leaves = self.match_aggressor(id, order.account, side, Some(price), qty, sink);
        if leaves == 0 {
            self.ids.remove(id, &self.orders);
            self.orders.remove(slot);
        } else {
            let o = self.orders.get_mut(slot);
            o.set_level(new_level);
            o.leaves = leaves;
            self.append(slot);
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
    fn match_aggressor(
        &mut self,
        taker: OrderId,
        account: Account,
        side: Side,
        limit: Option<Price>,
        leaves: Qty,
        sink: &mut impl EventSink,
    ) -> Qty {
        if let Some(limit) = limit
            && !self.crosses(side, limit)
        {
            return leaves;
        }
        self.sweep(taker, account, side, limit, leaves, sink)
    }

    /// `match_aggressor`'s loop, for an aggressor that may trade.
    #[inline]
    fn sweep(
        &mut self,
        taker: OrderId,
        account: Account,
        side: Side,
        limit: Option<Price>,
        mut leaves: Qty,
        sink: &mut impl EventSink,
    ) -> Qty {
        let symbol = self.spec.symbol;
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
    pub(crate) fn restore(&mut self, o: &SnapshotOrder) -> Result<(), RestoreError> {
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
        Ok(())
    }

    /// A view of one side's depth that another thread can read while this
    /// book keeps matching.
    pub fn depth_view(&self, side: Side) -> DepthView {
        self.ladder(side).depth_view()
    }
}
