//! A naive reference implementation of the matching spec (`docs/matching.md`,
//! the contract of the `matching` crate), used as an oracle.
//!
//! Property tests run the same commands through the fast
//! [`Engine`](matching::Engine) and through [`NaiveEngine`] and require the same
//! events and the same final book; the golden scenarios of
//! `engine/tools/tests/scenarios/` are checked against both (see the tests
//! below). For that comparison to mean anything, this
//! engine is written independently of `book/` and `engine.rs`, straight from
//! the spec, and for clarity rather than speed:
//!
//! - one `BTreeMap<Price, VecDeque<NaiveOrder>>` per side, so "best price
//!   first" is the map's order and "oldest first" is the deque's order;
//! - one `HashMap` from live id to (side, price), and linear scans of a
//!   level to find an order in it;
//! - no capacities at all, so it never rejects `BOOK_FULL` and never fails to
//!   add an instrument except for a duplicate symbol;
//! - every rule is one small piece of code next to the spec sentence it
//!   implements, quoted in a comment.
//!
//! It allocates, scans and is slow; do not use it anywhere but in tests and
//! tools that check the fast engine.

use std::collections::{BTreeMap, HashMap, VecDeque};

use matching::{
    Account, CancelReason, Command, Event, EventSink, InstrumentSpec, OrderId, Price, Qty,
    RejectReason, RestingOrder, SetupError, Side, Symbol, TimeInForce,
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

/// The book of one instrument.
#[derive(Debug)]
struct NaiveBook {
    spec: InstrumentSpec,
    bids: Ladder,
    asks: Ladder,
    /// Every live (resting) order: id -> (side, price).
    live: HashMap<OrderId, (Side, Price)>,
}

/// The naive reference engine: same public shape as [`matching::Engine`].
#[derive(Debug, Default)]
pub struct NaiveEngine {
    books: BTreeMap<Symbol, NaiveBook>,
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

impl NaiveBook {
    fn new(spec: InstrumentSpec) -> Self {
        NaiveBook {
            spec,
            bids: Ladder::new(),
            asks: Ladder::new(),
            live: HashMap::new(),
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

    /// "`BAD_QTY`: `qty` is 0 or above `max_qty`".
    fn bad_qty(&self, qty: Qty) -> bool {
        qty == 0 || qty > self.spec.max_qty
    }

    /// "`BAD_PRICE`: `price` outside `[min_price, max_price]`".
    fn bad_price(&self, price: Price) -> bool {
        price < self.spec.min_price || price > self.spec.max_price
    }

    /// "`WOULD_CROSS`: a POST order whose price would trade against the best
    /// opposite price (any account)".
    fn would_cross(&self, side: Side, price: Price) -> bool {
        self.best_price(side.opposite())
            .is_some_and(|best| acceptable(side, Some(price), best))
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
            let ladder = self.ladder_mut(opposite);
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
        let symbol = command.symbol();
        let id = command.order_id();
        // "1. `UNKNOWN_INSTRUMENT`: `sym` was never defined."
        let Some(book) = self.books.get_mut(&symbol) else {
            reject(sink, symbol, id, RejectReason::UnknownInstrument);
            return;
        };
        match *command {
            Command::New {
                account,
                side,
                price,
                qty,
                tif,
                ..
            } => {
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
                // "6. `WOULD_CROSS`: a POST order whose price would trade
                // against the best opposite price (any account)".
                if tif == TimeInForce::Post && book.would_cross(side, price) {
                    return reject(sink, symbol, id, RejectReason::WouldCross);
                }
                // "`A` or `U` first".
                sink.event(Event::Accepted { symbol, id });
                // "FOK: before matching, the open quantity of other accounts at
                // acceptable prices is summed. If it is below `qty`, the order
                // is accepted and at once expired (`A`, then `X ... <qty>
                // EXPIRED`) and nothing else happens".
                if tif == TimeInForce::Fok && book.available(side, price, account) < u128::from(qty)
                {
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
            Command::Market {
                account, side, qty, ..
            } => {
                // "2. `BAD_QTY`" (N, M, R).
                if book.bad_qty(qty) {
                    return reject(sink, symbol, id, RejectReason::BadQty);
                }
                // "4. `DUPLICATE_ID`" (N, M).
                if book.live.contains_key(&id) {
                    return reject(sink, symbol, id, RejectReason::DuplicateId);
                }
                sink.event(Event::Accepted { symbol, id });
                // "new market order (IOC at any price)"; "A market order facing
                // an empty side is accepted and expired."
                let leaves = book.match_aggressor(id, account, side, None, qty, sink);
                if leaves > 0 {
                    expire(sink, symbol, id, leaves);
                }
            }
            Command::Cancel { .. } => {
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
            Command::Replace { price, qty, .. } => {
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
                // "6. ... for R, a resting POST order whose new price would
                // cross. The book is left unchanged."
                if order.post_only && book.would_cross(side, price) {
                    return reject(sink, symbol, id, RejectReason::WouldCross);
                }
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
                    // "`R` otherwise (new price, or more quantity): `U`, the
                    // order leaves its place and re-enters as an aggressor with
                    // its account and the new price and leaves; what is left
                    // rests at the back of its new level."
                    book.remove(id);
                    let leaves =
                        book.match_aggressor(id, order.account, side, Some(price), qty, sink);
                    if leaves > 0 {
                        book.rest(side, price, NaiveOrder { leaves, ..order });
                    }
                }
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
