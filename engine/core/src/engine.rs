//! The engine: every instrument's book, and the dispatch of commands to them.

use crate::book::{IdMap, InstrumentControl, OrderBook, RestingOrder, RestoreError, SnapshotOrder};
use crate::command::Command;
use crate::config::{EngineConfig, SetupError};
use crate::event::{ControlAction, Event, EventSink, RejectReason};
use crate::risk::{AccountState, NoRisk, Risk, RiskHook};
use crate::types::{Account, InstrumentSpec, Symbol};

/// The engine's control state: halts, collars and tracked accounts, as a
/// snapshot keeps it beside the resting orders.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Controls {
    /// Instruments with a halt or a collar, ascending symbol.
    pub instruments: Vec<InstrumentControl>,
    /// Tracked accounts, in the order they were first tracked.
    pub accounts: Vec<AccountState>,
}

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
    /// Tracked accounts: limits, kill switches, what each holds.
    risk: Risk,
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
            risk: Risk::default(),
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
            self.books.len() as u32,
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
        self.risk.add_instrument();
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

    /// Executes one command, writing its events into `sink` in order.
    #[inline]
    pub fn execute(&mut self, command: &Command, sink: &mut impl EventSink) {
        // One match both finds the instrument and takes the account
        // commands aside, so an order pays for one dispatch.
        let symbol = match *command {
            Command::New { symbol, .. }
            | Command::Market { symbol, .. }
            | Command::Cancel { symbol, .. }
            | Command::Replace { symbol, .. }
            | Command::Halt { symbol, .. }
            | Command::Collar { symbol, .. } => symbol,
            Command::Block { account, block } => return self.block(account, block, sink),
            Command::Limits { account, limits } => {
                let (slot, new) = self.risk.track(account);
                // Limits that need the sums switch them on: the one scan
                // below counts them with the orders (or alone, for an
                // account already tracked).
                let sums = self.risk.set_limits(slot, limits);
                if new || sums {
                    self.count_in(slot, account, new);
                }
                return sink.event(Event::Control {
                    action: ControlAction::LimitsSet,
                    target: account,
                });
            }
        };
        let Some(i) = self.index_of(symbol) else {
            return sink.event(crate::Event::Rejected {
                symbol,
                id: command.order_id(),
                reason: RejectReason::UnknownInstrument,
            });
        };
        let book = &mut self.books[i];
        // With no tracked account the hook is `NoRisk`, whose calls compile
        // to nothing: a stream without `L` or `K` lines pays for none of it.
        if self.risk.is_empty() {
            dispatch(book, command, &mut NoRisk, sink);
        } else {
            dispatch(book, command, &mut self.risk, sink);
        }
    }

    /// `K`: blocks or unblocks `account`.
    fn block(&mut self, account: Account, block: bool, sink: &mut impl EventSink) {
        let (slot, new) = self.risk.track(account);
        if new {
            self.count_in(slot, account, true);
        }
        self.risk.account_mut(slot).blocked = block;
        sink.event(Event::Control {
            action: if block {
                ControlAction::Killed
            } else {
                ControlAction::Enabled
            },
            target: account,
        });
    }

    /// Counts the resting orders of `account` (in `slot`) in: as orders
    /// (`new`: tracking starts, docs/matching.md: at its first `L` or `K`
    /// line), which adds them to the sums too if these are kept; or, for an
    /// account already tracked whose sums a limit has just switched on, to
    /// the sums only. Control path: scans the books.
    fn count_in(&mut self, slot: usize, account: Account, new: bool) {
        for book in &self.books {
            book.for_each_order(|o| {
                if o.account != account {
                    return;
                }
                let (b, side, price, leaves) = (book.index(), o.side, o.price, o.leaves);
                if new {
                    self.risk.count_resting(slot, b, side, price, leaves);
                } else {
                    self.risk.count_sums(slot, b, side, price, leaves);
                }
            });
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
        let i = self
            .index_of(order.symbol)
            .ok_or(RestoreError::UnknownInstrument(order.symbol))?;
        self.books[i].restore(order, &mut self.risk)
    }

    /// The control state: halts, collars and tracked accounts.
    pub fn controls(&self) -> Controls {
        let symbols: Vec<Symbol> = self.books.iter().map(|b| b.spec().symbol).collect();
        Controls {
            instruments: self
                .sorted
                .iter()
                .map(|&(_, i)| self.books[i].control())
                .filter(|c| c.halted || c.collar.is_some())
                .collect(),
            accounts: self.risk.states(&symbols),
        }
    }

    /// Puts back a control state from a snapshot. Call it before
    /// `restore_order`, so that the tracked accounts' resting orders are
    /// counted as they come back. Setup, not hot path.
    pub fn restore_controls(&mut self, controls: &Controls) -> Result<(), RestoreError> {
        for c in &controls.instruments {
            let i = self
                .index_of(c.symbol)
                .ok_or(RestoreError::UnknownInstrument(c.symbol))?;
            self.books[i].restore_control(c);
        }
        for a in &controls.accounts {
            let mut books = Vec::with_capacity(a.positions.len());
            for p in &a.positions {
                let i = self
                    .index_of(p.symbol)
                    .ok_or(RestoreError::UnknownInstrument(p.symbol))?;
                books.push(i as u32);
            }
            let (slot, _) = self.risk.track(a.account);
            // No orders are back yet: the sums start from nothing either way.
            self.risk.set_limits(slot, a.limits);
            self.risk.account_mut(slot).blocked = a.blocked;
            for (p, book) in a.positions.iter().zip(books) {
                self.risk
                    .restore_position(slot, book, p.position, p.last_fill);
            }
        }
        Ok(())
    }
}

/// Runs an instrument's command on its book with `risk` as the hook.
#[inline(always)]
fn dispatch(
    book: &mut OrderBook,
    command: &Command,
    risk: &mut impl RiskHook,
    sink: &mut impl EventSink,
) {
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
        } => book.new_limit(
            id,
            account,
            client_order_id,
            side,
            price,
            qty,
            tif,
            risk,
            sink,
        ),
        Command::Market {
            id,
            account,
            side,
            qty,
            ..
        } => book.new_market(id, account, side, qty, risk, sink),
        Command::Cancel { id, .. } => book.cancel(id, risk, sink),
        Command::Replace { id, price, qty, .. } => book.replace(id, price, qty, risk, sink),
        Command::Halt { symbol, halt } => {
            book.set_halted(halt);
            sink.event(Event::Control {
                action: if halt {
                    ControlAction::Halted
                } else {
                    ControlAction::Resumed
                },
                target: symbol,
            });
        }
        Command::Collar { symbol, collar } => {
            book.set_collar(collar);
            sink.event(Event::Control {
                action: ControlAction::CollarSet,
                target: symbol,
            });
        }
        // Handled by `Engine::execute` before the book is looked up.
        Command::Block { .. } | Command::Limits { .. } => {}
    }
}
