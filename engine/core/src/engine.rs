//! The engine: every instrument's book, and the dispatch of commands to them.

use crate::book::{IdMap, OrderBook, RestingOrder, RestoreError, SnapshotOrder};
use crate::command::Command;
use crate::config::{EngineConfig, SetupError};
use crate::event::{EventSink, RejectReason};
use crate::types::{InstrumentSpec, Symbol};

/// Symbols below this are found by direct indexing (a table of at most 256 KiB).
const DIRECT_SYMBOLS: usize = 1 << 16;

/// The matching engine: a set of order books, one per instrument, with a
/// single owner. `execute` is the whole hot path.
#[derive(Debug)]
pub struct Engine {
    config: EngineConfig,
    books: Vec<OrderBook>,
    /// Symbol to `books` index + 1, for symbols below `DIRECT_SYMBOLS`: one
    /// indexed load on every command instead of a hash lookup.
    direct: Vec<u32>,
    /// Symbol to `books` index + 1, for larger symbols.
    by_symbol: IdMap,
    /// `(symbol, books index)` in ascending symbol order, for dumps.
    sorted: Vec<(Symbol, usize)>,
}

impl Engine {
    /// An engine with no instruments.
    pub fn new(config: EngineConfig) -> Result<Self, SetupError> {
        config.validate()?;
        Ok(Engine {
            books: Vec::with_capacity(config.max_instruments),
            direct: Vec::new(),
            by_symbol: IdMap::with_capacity(config.max_instruments),
            sorted: Vec::with_capacity(config.max_instruments),
            config,
        })
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Defines an instrument and allocates its book. Setup, not hot path.
    pub fn add_instrument(&mut self, spec: InstrumentSpec) -> Result<(), SetupError> {
        if self.index_of(spec.symbol).is_some() {
            return Err(SetupError::DuplicateInstrument(spec.symbol));
        }
        if self.books.len() >= self.config.max_instruments {
            return Err(SetupError::TooManyInstruments {
                limit: self.config.max_instruments,
            });
        }
        let levels = self.config.levels_for(&spec)?;
        self.books.push(OrderBook::new(
            spec,
            levels,
            self.config.max_orders_per_book,
            self.config.prefault,
        ));
        let index = self.books.len() - 1;
        let symbol = spec.symbol as usize;
        if symbol < DIRECT_SYMBOLS {
            if self.direct.len() <= symbol {
                self.direct.resize(symbol + 1, 0);
            }
            self.direct[symbol] = index as u32 + 1;
        } else {
            self.by_symbol.insert(spec.symbol.into(), index as u32 + 1);
        }
        let at = self.sorted.partition_point(|&(s, _)| s < spec.symbol);
        self.sorted.insert(at, (spec.symbol, index));
        Ok(())
    }

    /// The `books` index of `symbol`, if defined.
    #[inline]
    fn index_of(&self, symbol: Symbol) -> Option<usize> {
        let i = match self.direct.get(symbol as usize) {
            Some(&i) => i,
            None if (symbol as usize) < DIRECT_SYMBOLS => 0,
            None => self.by_symbol.get(symbol.into())?,
        };
        (i as usize).checked_sub(1)
    }

    /// The book of `symbol`, if defined.
    #[inline]
    pub fn book(&self, symbol: Symbol) -> Option<&OrderBook> {
        self.books.get(self.index_of(symbol)?)
    }

    #[inline]
    fn book_mut(&mut self, symbol: Symbol) -> Option<&mut OrderBook> {
        let i = self.index_of(symbol)?;
        self.books.get_mut(i)
    }

    /// Executes one command, writing its events into `sink` in order.
    #[inline]
    pub fn execute(&mut self, command: &Command, sink: &mut impl EventSink) {
        let Some(book) = self.book_mut(command.symbol()) else {
            return sink.event(crate::Event::Rejected {
                symbol: command.symbol(),
                id: command.order_id(),
                reason: RejectReason::UnknownInstrument,
            });
        };
        match *command {
            Command::New {
                id,
                account,
                client_order_id,
                side,
                price,
                qty,
                tif,
                ..
            } => book.new_limit(id, account, client_order_id, side, price, qty, tif, sink),
            Command::Market {
                id,
                account,
                side,
                qty,
                ..
            } => book.new_market(id, account, side, qty, sink),
            Command::Cancel { id, .. } => book.cancel(id, sink),
            Command::Replace { id, price, qty, .. } => book.replace(id, price, qty, sink),
        }
    }

    /// The instruments, in ascending symbol order.
    pub fn instruments(&self) -> impl Iterator<Item = &InstrumentSpec> {
        self.sorted.iter().map(|&(_, i)| self.books[i].spec())
    }

    /// Calls `f` with every resting order in `replay --dump` order:
    /// instruments ascending, bids best first, then asks best first, FIFO
    /// within a level. Restoring them in this order rebuilds the same books.
    pub fn for_each_order(&self, mut f: impl FnMut(SnapshotOrder)) {
        for &(_, i) in &self.sorted {
            self.books[i].for_each_order(&mut f);
        }
    }

    /// Every resting order in `replay --dump` order.
    pub fn resting_orders(&self) -> Vec<RestingOrder> {
        let mut out = Vec::new();
        self.for_each_order(|o| {
            out.push(RestingOrder {
                symbol: o.symbol,
                side: o.side,
                price: o.price,
                id: o.id,
                leaves: o.leaves,
            })
        });
        out
    }

    /// Puts a resting order back (from a snapshot) at the back of its
    /// level, without matching. Setup, not hot path.
    pub fn restore_order(&mut self, order: &SnapshotOrder) -> Result<(), RestoreError> {
        self.book_mut(order.symbol)
            .ok_or(RestoreError::UnknownInstrument(order.symbol))?
            .restore(order)
    }
}
