//! Pre-trade risk and the kill switch: the account side of the controls
//! (docs/matching.md, "Controls and pre-trade risk").
//!
//! Decided here, by the single writer, so a replay of the journal makes
//! every decision again. Only accounts named by an `L` or `K` line are
//! tracked; a stream that names none never reaches this module's tables
//! (`Engine::execute` passes the books `NoRisk`, whose calls compile to
//! nothing), so it runs exactly as the matching rules say, at the same cost.
//!
//! The book tells its `RiskHook` what happens to each order (rested,
//! reduced, traded) as it happens, because only the book knows a maker's
//! account when it is filled; the hook keeps each tracked account's open
//! orders, open quantity per side, open notional and position, so every
//! check is a handful of comparisons, never a scan. docs/performance.md,
//! "Pre-trade risk", has what it costs per command.

mod account;
mod limits;

pub use account::{AccountState, PositionState};
pub use limits::{AccountLimits, Collar, CollarWidth};

use crate::book::IdMap;
use crate::event::RejectReason;
use crate::types::{Account, Price, Qty, Side};
pub(crate) use account::{Holding, Tracked};

/// An order command as the checks see it.
#[derive(Debug, Clone, Copy)]
pub struct Intent {
    /// The book's index in the engine (`OrderBook::index`).
    pub book: u32,
    pub side: Side,
    /// The limit price, or for a market order the price it may trade to
    /// (docs/matching.md: the collar or the band's edge on its side).
    pub price: Price,
    pub qty: Qty,
    /// GTC or POST `N`: counts against the open-order limits.
    pub new_resting: bool,
    /// For `R`: the resting order's leaves and price, taken out first.
    pub replacing: Option<(Qty, Price)>,
}

/// What the book reports to the risk side. Every method has an empty
/// default and `NoRisk`'s `Slot` is `()`, so `NoRisk` costs nothing.
///
/// A command's own account is looked up once (`slot`) and the result
/// passed to the calls about it; a maker's account is looked up where it
/// trades or leaves.
pub trait RiskHook {
    /// Where an account's state is: found once per command.
    type Slot: Copy;
    /// The slot of `account` (untracked accounts have one that does nothing).
    fn slot(&self, account: Account) -> Self::Slot;
    /// The reject reason for an order of the account in `slot`, if any:
    /// `ACCOUNT_BLOCKED`, then the account's limits in their documented order.
    #[inline(always)]
    fn check(&mut self, _slot: Self::Slot, _intent: &Intent) -> Option<RejectReason> {
        None
    }
    /// An order of the account in `slot` started resting with `qty` at `price`.
    #[inline(always)]
    fn rested(&mut self, _slot: Self::Slot, _book: u32, _side: Side, _price: Price, _qty: Qty) {}
    /// `qty` of a resting order of `account` left the book without trading
    /// (cancelled, or a replace's cut); `gone` when the order left with it.
    #[inline(always)]
    fn reduced(
        &mut self,
        _account: Account,
        _book: u32,
        _side: Side,
        _price: Price,
        _qty: Qty,
        _gone: bool,
    ) {
    }
    /// A maker of `account` on `side` traded `qty` at `price`; `gone` when
    /// it is filled.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn maker_traded(
        &mut self,
        _account: Account,
        _book: u32,
        _side: Side,
        _price: Price,
        _qty: Qty,
        _gone: bool,
    ) {
    }
    /// The taker in `slot`, of `side`, traded `qty` in all in one command,
    /// the last of it at `last_price`: told once, after its sweep (a
    /// position's notional depends only on the position and the last fill).
    #[inline(always)]
    fn taker_traded(
        &mut self,
        _slot: Self::Slot,
        _book: u32,
        _side: Side,
        _last_price: Price,
        _qty: Qty,
    ) {
    }
}

/// The hook of an engine that tracks no account.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRisk;

impl RiskHook for NoRisk {
    type Slot = ();

    #[inline(always)]
    fn slot(&self, _account: Account) {}
}

/// Accounts below this are found by direct indexing (a table of at most
/// 256 KiB), as symbols are; the rest through a map.
const DIRECT_ACCOUNTS: usize = 1 << 16;

/// The tracked accounts.
#[derive(Debug)]
pub struct Risk {
    /// Account to `accounts` index + 1, for accounts below `DIRECT_ACCOUNTS`.
    direct: Vec<u32>,
    /// Account to `accounts` index + 1, for larger accounts.
    index: IdMap,
    /// Accounts `index` was built for, and holds.
    index_capacity: usize,
    index_len: usize,
    accounts: Vec<Tracked>,
    /// `instruments` holdings per account, in `accounts` order: account
    /// `i`'s holding in book `b` is `holdings[i * instruments + b]`.
    holdings: Vec<Holding>,
    /// Instruments defined so far.
    instruments: usize,
}

/// How many large account numbers the map is built for before it is
/// rebuilt (on an `L` or `K` line, never on an order).
const INITIAL_ACCOUNTS: usize = 64;

impl Default for Risk {
    fn default() -> Self {
        Risk {
            direct: Vec::new(),
            index: IdMap::with_capacity(INITIAL_ACCOUNTS),
            index_capacity: INITIAL_ACCOUNTS,
            index_len: 0,
            accounts: Vec::new(),
            holdings: Vec::new(),
            instruments: 0,
        }
    }
}

impl Risk {
    /// `true` when no account is tracked: the engine then skips the hook.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    /// A new instrument (book index `instruments`): one more holding per
    /// tracked account. Setup.
    pub(crate) fn add_instrument(&mut self) {
        let old = self.instruments;
        self.instruments += 1;
        let mut holdings = Vec::with_capacity(self.accounts.len() * self.instruments);
        for i in 0..self.accounts.len() {
            holdings.extend_from_slice(&self.holdings[i * old..(i + 1) * old]);
            holdings.push(Holding::default());
        }
        self.holdings = holdings;
    }

    /// The `accounts` index of `account`, if tracked.
    #[inline(always)]
    fn find(&self, account: Account) -> Option<usize> {
        let i = match self.direct.get(account as usize) {
            Some(&i) => i,
            None if (account as usize) < DIRECT_ACCOUNTS => 0,
            None => self.index.get(account.into())?,
        };
        (i as usize).checked_sub(1)
    }

    /// The tracked account in `slot` and its holding in `book`.
    #[inline(always)]
    fn entry(&mut self, slot: usize, book: u32) -> (&mut Tracked, &mut Holding) {
        let h = slot * self.instruments + book as usize;
        // One bounds check for both: `holdings` has `instruments` entries
        // per account, so a holding in range means an account in range.
        let holding = &mut self.holdings[h];
        // SAFETY: `slot * instruments <= h < holdings.len() ==
        // accounts.len() * instruments` (the index above would have
        // panicked otherwise), so `slot < accounts.len()`.
        let account = unsafe { self.accounts.get_unchecked_mut(slot) };
        (account, holding)
    }

    /// The tracked state of `account`, and `true` when it was not tracked
    /// before (the engine then counts its resting orders in). Control path:
    /// may allocate.
    pub(crate) fn track(&mut self, account: Account) -> (usize, bool) {
        if let Some(slot) = self.find(account) {
            return (slot, false);
        }
        self.accounts.push(Tracked::new(account));
        self.holdings
            .resize(self.accounts.len() * self.instruments, Holding::default());
        let slot = self.accounts.len() - 1;
        let value = slot as u32 + 1;
        if (account as usize) < DIRECT_ACCOUNTS {
            if self.direct.len() <= account as usize {
                self.direct.resize(account as usize + 1, 0);
            }
            self.direct[account as usize] = value;
        } else {
            if self.index_len == self.index_capacity {
                self.rebuild_index(self.index_capacity * 2);
            }
            self.index.insert(account.into(), value);
            self.index_len += 1;
        }
        (slot, true)
    }

    fn rebuild_index(&mut self, capacity: usize) {
        let mut index = IdMap::with_capacity(capacity);
        for (i, a) in self.accounts.iter().enumerate() {
            if a.account as usize >= DIRECT_ACCOUNTS {
                index.insert(a.account.into(), i as u32 + 1);
            }
        }
        self.index = index;
        self.index_capacity = capacity;
    }

    /// The tracked account in `slot`.
    pub(crate) fn account_mut(&mut self, slot: usize) -> &mut Tracked {
        &mut self.accounts[slot]
    }

    /// Sets the limits of the account in `slot`; `true` when its sums must
    /// be counted afresh: they are cleared (positions kept) for the caller
    /// to add every resting order of the account with `count_sums`.
    pub(crate) fn set_limits(&mut self, slot: usize, limits: AccountLimits) -> bool {
        let n = self.instruments;
        let recount = self.accounts[slot].set_limits_and_see(limits);
        if recount {
            let holdings = &mut self.holdings[slot * n..(slot + 1) * n];
            self.accounts[slot].clear_sums(holdings);
        }
        recount
    }

    /// Adds a resting order of the account in `slot` to its sums only.
    pub(crate) fn count_sums(
        &mut self,
        slot: usize,
        book: u32,
        side: Side,
        price: Price,
        qty: Qty,
    ) {
        let (a, h) = self.entry(slot, book);
        a.rested_sums(h, side, price, qty);
    }

    /// Counts in a resting order of the account in `slot`.
    #[inline(always)]
    pub(crate) fn count_resting(
        &mut self,
        slot: usize,
        book: u32,
        side: Side,
        price: Price,
        qty: Qty,
    ) {
        let (a, h) = self.entry(slot, book);
        a.rested(h, side, price, qty);
    }

    /// Puts back a position from a snapshot.
    pub(crate) fn restore_position(
        &mut self,
        slot: usize,
        book: u32,
        position: i128,
        last_fill: Price,
    ) {
        let (a, h) = self.entry(slot, book);
        a.set_position(h, position, last_fill);
    }

    /// Every tracked account's state, in the order they were first tracked
    /// (for snapshots). `symbols` maps a book index to its symbol.
    pub fn states(&self, symbols: &[u32]) -> Vec<AccountState> {
        let n = self.instruments;
        self.accounts
            .iter()
            .enumerate()
            .map(|(i, a)| a.state(&self.holdings[i * n..(i + 1) * n], symbols))
            .collect()
    }
}

impl RiskHook for Risk {
    type Slot = Option<usize>;

    #[inline(always)]
    fn slot(&self, account: Account) -> Option<usize> {
        self.find(account)
    }

    #[inline(always)]
    fn check(&mut self, slot: Option<usize>, intent: &Intent) -> Option<RejectReason> {
        let (a, h) = self.entry(slot?, intent.book);
        a.check(h, intent)
    }

    #[inline(always)]
    fn rested(&mut self, slot: Option<usize>, book: u32, side: Side, price: Price, qty: Qty) {
        if let Some(slot) = slot {
            self.count_resting(slot, book, side, price, qty);
        }
    }

    #[inline(always)]
    fn reduced(
        &mut self,
        account: Account,
        book: u32,
        side: Side,
        price: Price,
        qty: Qty,
        gone: bool,
    ) {
        if let Some(slot) = self.find(account) {
            let (a, h) = self.entry(slot, book);
            a.reduced(h, side, price, qty, gone);
        }
    }

    #[inline(always)]
    fn maker_traded(
        &mut self,
        account: Account,
        book: u32,
        side: Side,
        price: Price,
        qty: Qty,
        gone: bool,
    ) {
        if let Some(slot) = self.find(account) {
            let (a, h) = self.entry(slot, book);
            a.filled(h, side, price, qty);
            a.reduced(h, side, price, qty, gone);
        }
    }

    #[inline(always)]
    fn taker_traded(
        &mut self,
        slot: Option<usize>,
        book: u32,
        side: Side,
        last_price: Price,
        qty: Qty,
    ) {
        if let Some(slot) = slot {
            let (a, h) = self.entry(slot, book);
            a.filled(h, side, last_price, qty);
        }
    }
}
