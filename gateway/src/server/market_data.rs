//! Market data: each instrument's public book, who subscribed to it, and
//! what they are sent.
//!
//! Everything here comes from released events (`public_book.rs` says why):
//! trades as they are routed, and the book's levels, which the execution
//! reports keep up to date through `add` and `remove`. At the end of each
//! drain, every instrument whose book changed sends its subscribers what
//! changed (`publish_touched`): the top of book to those who asked for it
//! (depth 0), and to those who asked for `n` levels a side, one numbered
//! `BookLevel` per level that changed among the best `n`. A book is never
//! published in the middle of a command's events (an aggressive order is
//! in the book until its trades take it out), so a subscriber sees only
//! states the engine was in between commands.
//!
//! Subscribers of the same depth share one numbering and one last
//! published state (a [`DepthFeed`]); a new subscriber gets a snapshot of
//! that state, numbered like it, at the next publication, so its updates
//! follow on without a gap.
//!
//! A subscriber that has closed is not removed when it closes (the session
//! table knows nothing of subscriptions): the lists hold [`SessionRef`]s,
//! whose generation tells a closed session from a later one in its slot,
//! and a list drops its closed sessions the next time it is sent to.
//!
//! It is separate from the execution reports (`execution_reports.rs`)
//! because it answers a different question: not "whose order is this" but
//! "who is watching this book".

use std::time::Instant;

use matching::Side;

use super::public_book::PublicBook;
use super::registry::SessionRef;
use super::session_table::SessionTable;
use crate::protocol::{self, BookLevel, BookSnapshot, Level, ServerMessage, TopOfBook, Trade};

/// The subscribers of one depth of one instrument, and what they last got.
#[derive(Debug)]
struct DepthFeed {
    depth: usize,
    /// The number of the last update sent (a snapshot carries it too).
    seq: u64,
    /// The best `depth` levels each side as last sent, best first.
    bids: Vec<(i64, u64)>,
    asks: Vec<(i64, u64)>,
    subscribers: Vec<SessionRef>,
    /// Subscribed since the last publication: a snapshot is due.
    joining: Vec<SessionRef>,
}

#[derive(Debug)]
struct Book {
    symbol: u32,
    public: PublicBook,
    /// Subscribers of the top of book (depth 0), and what they last got.
    top_subscribers: Vec<SessionRef>,
    top_joining: Vec<SessionRef>,
    last_top: Option<(Option<Level>, Option<Level>)>,
    feeds: Vec<DepthFeed>,
    /// Listed in `touched` (saves searching the list).
    touched: bool,
}

impl Book {
    fn has_subscribers(&self) -> bool {
        !self.top_subscribers.is_empty()
            || !self.top_joining.is_empty()
            || self
                .feeds
                .iter()
                .any(|f| !f.subscribers.is_empty() || !f.joining.is_empty())
    }

    fn unsubscribe(&mut self, me: SessionRef) {
        self.top_subscribers.retain(|&s| s != me);
        self.top_joining.retain(|&s| s != me);
        for feed in &mut self.feeds {
            feed.subscribers.retain(|&s| s != me);
            feed.joining.retain(|&s| s != me);
        }
        self.feeds
            .retain(|f| !f.subscribers.is_empty() || !f.joining.is_empty());
    }

    fn top_of_book(&self) -> TopOfBook {
        let level = |side| {
            self.public
                .best(side)
                .map(|(price, qty)| Level { price, qty })
        };
        TopOfBook {
            instrument: self.symbol,
            bid: level(Side::Buy),
            ask: level(Side::Sell),
        }
    }
}

/// Why a subscription was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscribeError {
    UnknownInstrument,
    BadDepth,
}

#[derive(Debug)]
pub struct MarketData {
    /// By symbol, ascending.
    books: Vec<Book>,
    /// Books changed (or joined) since the last publication, with subscribers.
    touched: Vec<usize>,
    /// Between the first and the last event of a command: not publishable.
    in_command: bool,
    /// Levels of the book being compared (kept, so publishing never allocates).
    scratch: Vec<(i64, u64)>,
}

impl MarketData {
    pub fn new(mut symbols: Vec<u32>) -> Self {
        symbols.sort_unstable();
        symbols.dedup();
        MarketData {
            touched: Vec::with_capacity(symbols.len()),
            books: symbols
                .into_iter()
                .map(|symbol| Book {
                    symbol,
                    public: PublicBook::default(),
                    top_subscribers: Vec::new(),
                    top_joining: Vec::new(),
                    last_top: None,
                    feeds: Vec::new(),
                    touched: false,
                })
                .collect(),
            in_command: false,
            scratch: Vec::with_capacity(usize::from(protocol::MAX_DEPTH)),
        }
    }

    #[inline]
    fn book(&self, symbol: u32) -> Option<usize> {
        self.books.binary_search_by_key(&symbol, |b| b.symbol).ok()
    }

    /// `me` subscribes to the instrument at `depth` levels a side (0: top
    /// of book), replacing any subscription it had to it. Its snapshot
    /// comes with the next publication.
    pub fn subscribe(
        &mut self,
        symbol: u32,
        depth: u16,
        me: SessionRef,
    ) -> Result<(), SubscribeError> {
        let i = self.book(symbol).ok_or(SubscribeError::UnknownInstrument)?;
        if depth > protocol::MAX_DEPTH {
            return Err(SubscribeError::BadDepth);
        }
        let book = &mut self.books[i];
        book.unsubscribe(me);
        if depth == 0 {
            book.top_joining.push(me);
        } else {
            let depth = usize::from(depth);
            match book.feeds.iter_mut().find(|f| f.depth == depth) {
                Some(feed) => feed.joining.push(me),
                None => {
                    let top = |side| book.public.top(side, depth).collect();
                    let feed = DepthFeed {
                        depth,
                        seq: 0,
                        bids: top(Side::Buy),
                        asks: top(Side::Sell),
                        subscribers: Vec::new(),
                        joining: vec![me],
                    };
                    book.feeds.push(feed);
                }
            }
        }
        self.mark(i);
        Ok(())
    }

    /// `me` stops the instrument's market data; `false` if the gateway
    /// does not have the instrument.
    pub fn unsubscribe(&mut self, symbol: u32, me: SessionRef) -> bool {
        let Some(i) = self.book(symbol) else {
            return false;
        };
        self.books[i].unsubscribe(me);
        true
    }

    #[inline]
    fn mark(&mut self, i: usize) {
        let book = &mut self.books[i];
        if !book.touched && book.has_subscribers() {
            book.touched = true;
            self.touched.push(i);
        }
    }

    /// `qty` more rests at `price` on `side` of the instrument.
    #[inline]
    pub fn add(&mut self, symbol: u32, side: Side, price: i64, qty: u64) {
        self.change(symbol, |book| book.add(side, price, qty));
    }

    /// `qty` less rests at `price` on `side` of the instrument.
    #[inline]
    pub fn remove(&mut self, symbol: u32, side: Side, price: i64, qty: u64) {
        self.change(symbol, |book| book.remove(side, price, qty));
    }

    /// Changes the instrument's public book, to be published once the
    /// command's events are all in.
    #[inline]
    fn change(&mut self, symbol: u32, f: impl FnOnce(&mut PublicBook)) {
        if let Some(i) = self.book(symbol) {
            self.in_command = true;
            f(&mut self.books[i].public);
            self.mark(i);
        }
    }

    /// The last event of a command has been routed: the books are in a
    /// state the engine was in, and may be published.
    #[inline]
    pub fn command_done(&mut self) {
        self.in_command = false;
    }

    /// A trade: its subscribers get it now, and the book at the next
    /// publication.
    #[inline]
    pub fn trade(
        &mut self,
        symbol: u32,
        price: i64,
        qty: u64,
        sessions: &mut SessionTable,
        now: Instant,
    ) {
        let Some(i) = self.book(symbol) else {
            return;
        };
        let trade = ServerMessage::Trade(Trade {
            instrument: symbol,
            price,
            qty,
        });
        let book = &mut self.books[i];
        send_to(&mut book.top_subscribers, trade, sessions, now);
        for feed in &mut book.feeds {
            send_to(&mut feed.subscribers, trade, sessions, now);
        }
    }

    /// Sends every touched instrument's changes to its subscribers, and
    /// their snapshots to those who joined. Not between two events of one
    /// command: the books wait for the command's last event.
    pub fn publish_touched(&mut self, sessions: &mut SessionTable, now: Instant) {
        if self.in_command {
            return;
        }
        for &i in &self.touched {
            let book = &mut self.books[i];
            book.touched = false;
            publish_top(book, sessions, now);
            for feed in &mut book.feeds {
                publish_depth(
                    &book.public,
                    book.symbol,
                    feed,
                    &mut self.scratch,
                    sessions,
                    now,
                );
            }
        }
        self.touched.clear();
    }
}

/// The top of book to its subscribers when it changed, and to those who
/// joined in any case.
fn publish_top(book: &mut Book, sessions: &mut SessionTable, now: Instant) {
    if book.top_subscribers.is_empty() && book.top_joining.is_empty() {
        return;
    }
    let top = book.top_of_book();
    let msg = ServerMessage::TopOfBook(top);
    if book.last_top != Some((top.bid, top.ask)) {
        book.last_top = Some((top.bid, top.ask));
        send_to(&mut book.top_subscribers, msg, sessions, now);
    }
    for me in book.top_joining.drain(..) {
        sessions.send(me.slot, msg, now);
        if sessions.find(me).is_some() {
            book.top_subscribers.push(me);
        }
    }
}

/// One depth feed: an update per level that changed among the best
/// `depth`, each numbered; then a snapshot of the new state to those who
/// joined.
fn publish_depth(
    public: &PublicBook,
    instrument: u32,
    feed: &mut DepthFeed,
    scratch: &mut Vec<(i64, u64)>,
    sessions: &mut SessionTable,
    now: Instant,
) {
    for side in [Side::Buy, Side::Sell] {
        scratch.clear();
        scratch.extend(public.top(side, feed.depth));
        let last = match side {
            Side::Buy => &mut feed.bids,
            Side::Sell => &mut feed.asks,
        };
        if last == scratch {
            continue;
        }
        feed.subscribers.retain(|&s| sessions.find(s).is_some());
        let mut send = |price: i64, qty: u64, seq: &mut u64| {
            *seq += 1;
            let msg = book_level(instrument, *seq, side, price, qty);
            for s in &feed.subscribers {
                sessions.send(s.slot, msg, now);
            }
        };
        // Levels gone from the best `depth` (or emptied), then levels new
        // or changed: a subscriber applying them in order, and keeping its
        // best `depth`, holds exactly `scratch`.
        for &(price, _) in last.iter() {
            if !scratch.iter().any(|&(p, _)| p == price) {
                send(price, 0, &mut feed.seq);
            }
        }
        for &(price, qty) in scratch.iter() {
            if !last.contains(&(price, qty)) {
                send(price, qty, &mut feed.seq);
            }
        }
        last.clear();
        last.extend_from_slice(scratch);
    }
    for me in feed.joining.drain(..) {
        let snapshot = ServerMessage::BookSnapshot(BookSnapshot {
            instrument,
            seq: feed.seq,
            bids: feed.bids.len() as u32,
            asks: feed.asks.len() as u32,
        });
        sessions.send(me.slot, snapshot, now);
        for (side, levels) in [(Side::Buy, &feed.bids), (Side::Sell, &feed.asks)] {
            for &(price, qty) in levels {
                let level = book_level(instrument, feed.seq, side, price, qty);
                sessions.send(me.slot, level, now);
            }
        }
        if sessions.find(me).is_some() {
            feed.subscribers.push(me);
        }
    }
}

/// A `BookLevel`: of a snapshot numbered `seq`, or the update `seq`.
#[inline]
fn book_level(instrument: u32, seq: u64, side: Side, price: i64, qty: u64) -> ServerMessage {
    ServerMessage::BookLevel(BookLevel {
        instrument,
        seq,
        side: side.into(),
        price,
        qty,
    })
}

/// Sends `msg` to every open subscriber, dropping the closed ones.
#[inline]
fn send_to(
    subscribers: &mut Vec<SessionRef>,
    msg: ServerMessage,
    sessions: &mut SessionTable,
    now: Instant,
) {
    subscribers.retain(|&s| sessions.find(s).is_some());
    for s in subscribers.iter() {
        sessions.send(s.slot, msg, now);
    }
}
