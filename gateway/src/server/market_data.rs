//! Market data: who subscribed to which instrument, and what they are sent.
//!
//! Each instrument the gateway has keeps its own list of subscribed
//! sessions, so a trade or a change of the top of book reaches exactly its
//! subscribers without looking at any other session. Instruments are found
//! by symbol with a binary search over the few the gateway has.
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
use pipeline::Pipeline;

use super::registry::SessionRef;
use super::session_table::SessionTable;
use crate::protocol::{Level, ServerMessage, TopOfBook, Trade};

#[derive(Debug)]
struct Book {
    symbol: u32,
    subscribers: Vec<SessionRef>,
    /// Listed in `touched` (saves searching the list).
    touched: bool,
}

#[derive(Debug)]
pub struct MarketData {
    /// By symbol, ascending.
    books: Vec<Book>,
    /// Books whose top may have changed this turn, with subscribers.
    touched: Vec<usize>,
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
                    subscribers: Vec::new(),
                    touched: false,
                })
                .collect(),
        }
    }

    #[inline]
    fn book(&self, symbol: u32) -> Option<usize> {
        self.books.binary_search_by_key(&symbol, |b| b.symbol).ok()
    }

    /// Adds `me` to the instrument's subscribers; `false` if the gateway
    /// does not have the instrument.
    pub fn subscribe(&mut self, symbol: u32, me: SessionRef) -> bool {
        let Some(i) = self.book(symbol) else {
            return false;
        };
        let subscribers = &mut self.books[i].subscribers;
        if !subscribers.contains(&me) {
            subscribers.push(me);
        }
        true
    }

    /// The instrument's top of book may have changed: its subscribers get
    /// it at the end of the drain (`publish_touched`).
    #[inline]
    pub fn touch(&mut self, symbol: u32) {
        if let Some(i) = self.book(symbol) {
            let book = &mut self.books[i];
            if !book.touched && !book.subscribers.is_empty() {
                book.touched = true;
                self.touched.push(i);
            }
        }
    }

    /// A trade: its subscribers get it, and its top of book later.
    #[inline]
    pub fn trade(
        &mut self,
        symbol: u32,
        price: i64,
        qty: u64,
        sessions: &mut SessionTable,
        now: Instant,
    ) {
        self.touch(symbol);
        if let Some(i) = self.book(symbol) {
            let trade = ServerMessage::Trade(Trade {
                instrument: symbol,
                price,
                qty,
            });
            send_to(&mut self.books[i].subscribers, trade, sessions, now);
        }
    }

    /// Sends the top of book of every touched instrument to its subscribers.
    pub fn publish_touched(
        &mut self,
        pipeline: &Pipeline,
        sessions: &mut SessionTable,
        now: Instant,
    ) {
        for &i in &self.touched {
            let book = &mut self.books[i];
            book.touched = false;
            let top = ServerMessage::TopOfBook(top_of_book(pipeline, book.symbol));
            send_to(&mut book.subscribers, top, sessions, now);
        }
        self.touched.clear();
    }
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

/// The instrument's best bid and offer, from the engine's depth views.
pub fn top_of_book(pipeline: &Pipeline, instrument: u32) -> TopOfBook {
    let best = |side| {
        let view = pipeline.depth(instrument, side)?;
        let price = view.best_price()?;
        let depth = view.at(price)?;
        (depth.count > 0).then(|| Level {
            price,
            qty: u64::try_from(depth.qty).unwrap_or(u64::MAX),
        })
    };
    TopOfBook {
        instrument,
        bid: best(Side::Buy),
        ask: best(Side::Sell),
    }
}
