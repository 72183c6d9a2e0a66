//! Accounts: who owns the live orders, and which session speaks for each
//! account now.
//!
//! Orders belong to accounts, not to connections (docs/architecture.md,
//! "Where ownership lives"). An account's live orders, by client order id,
//! stay here when its session ends; the next session that logs on as the
//! account finds them, can cancel and replace them by client order id, and
//! receives their fills. After a restart the table is filled again from
//! the orders the engine recovered, each with its account and client order
//! id from the journal (`Accounts::adopt`).
//!
//! Orders and requests name their account by an [`AccountRef`]: its slot
//! here, so routing an event is an index, not a hash lookup, and the
//! account number, so that a slot reused by another account is never
//! mistaken for the old one. A slot is freed when its account has neither a
//! session nor a live order, so accounts that come and go cost nothing.

use std::collections::HashMap;

use super::client_orders::ClientOrders;
use super::registry::{OrderInfo, Registry, SessionRef};

/// An account as its orders and requests name it (see the module doc).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct AccountRef {
    pub slot: u32,
    pub account: u32,
}

/// One account's state in the gateway.
#[derive(Debug)]
pub struct Account {
    /// The account number; 0 while the slot is free.
    account: u32,
    /// The session logged on as the account, if any.
    pub session: Option<SessionRef>,
    /// Live orders: client order id → engine id.
    pub client_orders: ClientOrders,
    /// Live orders in the registry, named or not (see `adopt`).
    live: u32,
}

/// The account is logged on in another session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InUse;

#[derive(Debug, Default)]
pub struct Accounts {
    /// Account number → slot. Used at logon and restart, not per order.
    slots_by_account: HashMap<u32, u32>,
    slots: Vec<Account>,
    free: Vec<u32>,
}

impl Accounts {
    /// The state of `r`'s account, if the slot still holds it.
    #[inline]
    pub fn get(&self, r: AccountRef) -> Option<&Account> {
        self.slots
            .get(r.slot as usize)
            .filter(|a| a.account == r.account)
    }

    /// As [`get`](Self::get), to change it.
    #[inline]
    pub fn get_mut(&mut self, r: AccountRef) -> Option<&mut Account> {
        self.slots
            .get_mut(r.slot as usize)
            .filter(|a| a.account == r.account)
    }

    /// The session logged on as `r`'s account now, if any.
    #[inline]
    pub fn session_of(&self, r: AccountRef) -> Option<SessionRef> {
        self.get(r)?.session
    }

    /// The account's live order `client_order_id`: its engine id and its
    /// registry entry. What a cancel, a replace and an order status look up.
    #[inline]
    pub fn live_order<'r>(
        &self,
        r: AccountRef,
        client_order_id: u64,
        registry: &'r Registry,
    ) -> Option<(u64, &'r OrderInfo)> {
        let id = self.get(r)?.client_orders.get(client_order_id)?;
        Some((id, registry.get(id)?))
    }

    /// Every live order of the account, in no particular order: what a
    /// mass cancel and a mass status go through.
    pub fn live_orders<'a>(
        &'a self,
        r: AccountRef,
        registry: &'a Registry,
    ) -> impl Iterator<Item = (u64, &'a OrderInfo)> + 'a {
        self.get(r)
            .into_iter()
            .flat_map(|a| a.client_orders.engine_ids())
            .filter_map(|id| Some((id, registry.get(id)?)))
    }

    /// The account `account`, if the gateway holds it (logged on, or with
    /// live orders).
    pub fn find(&self, account: u32) -> Option<AccountRef> {
        let &slot = self.slots_by_account.get(&account)?;
        Some(AccountRef { slot, account })
    }

    /// `true` while some session is logged on as `account`.
    #[cfg(test)]
    fn in_use(&self, account: u32) -> bool {
        self.slots_by_account
            .get(&account)
            .is_some_and(|&slot| self.slots[slot as usize].session.is_some())
    }

    /// Session `me` logs on as `account`: refused while another session is
    /// logged on as it (one session per account at a time).
    pub fn log_on(&mut self, account: u32, me: SessionRef) -> Result<AccountRef, InUse> {
        let r = self.find_or_add(account);
        let state = &mut self.slots[r.slot as usize];
        if state.session.is_some() {
            return Err(InUse);
        }
        state.session = Some(me);
        Ok(r)
    }

    /// Session `me` of `r`'s account has ended. With `cancel_orders`, the
    /// engine ids of the account's live orders are added to `orphaned`,
    /// for the caller to cancel; they stay the account's until the cancels'
    /// events say they ended, like any other order.
    pub fn log_off(
        &mut self,
        r: AccountRef,
        me: SessionRef,
        cancel_orders: bool,
        orphaned: &mut Vec<u64>,
    ) {
        let Some(state) = self.get_mut(r) else {
            return;
        };
        if state.session != Some(me) {
            return;
        }
        state.session = None;
        if cancel_orders {
            orphaned.extend(state.client_orders.engine_ids());
        }
        self.release_if_unused(r);
    }

    /// A live order recovered at start: `engine_id` of `account`, named
    /// `client_order_id`. `None` when the account already has a live order
    /// of that client order id (orders imported from a file without client
    /// order ids all have 0): the order keeps its place in the book and
    /// its fills are still reported to the account, but it cannot be
    /// named by client order id.
    pub fn adopt(&mut self, account: u32, client_order_id: u64, engine_id: u64) -> AccountRef {
        let r = self.find_or_add(account);
        let state = &mut self.slots[r.slot as usize];
        if !state.client_orders.contains(client_order_id) {
            state.client_orders.insert(client_order_id, engine_id);
        }
        state.live += 1;
        r
    }

    /// A new order of `r`'s account, `client_order_id` (not live: the
    /// caller checked) → `engine_id`.
    #[inline]
    pub fn add(&mut self, r: AccountRef, client_order_id: u64, engine_id: u64) {
        if let Some(state) = self.get_mut(r) {
            state.client_orders.insert(client_order_id, engine_id);
            state.live += 1;
        }
    }

    /// Order `engine_id` of `r`'s account, named `client_order_id`, has
    /// ended. An account with no session and no live order left frees its
    /// slot.
    #[inline]
    pub fn forget(&mut self, r: AccountRef, client_order_id: u64, engine_id: u64) {
        let Some(state) = self.get_mut(r) else {
            return;
        };
        // Only if the name is still this order's (see `adopt`).
        if state.client_orders.get(client_order_id) == Some(engine_id) {
            state.client_orders.remove(client_order_id);
        }
        state.live = state.live.saturating_sub(1);
        if state.session.is_none() {
            self.release_if_unused(r);
        }
    }

    /// Accounts with a slot now (a session, or live orders).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    fn find_or_add(&mut self, account: u32) -> AccountRef {
        if let Some(&slot) = self.slots_by_account.get(&account) {
            return AccountRef { slot, account };
        }
        let fresh = Account {
            account,
            session: None,
            client_orders: ClientOrders::default(),
            live: 0,
        };
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = fresh;
                slot
            }
            None => {
                self.slots.push(fresh);
                (self.slots.len() - 1) as u32
            }
        };
        self.slots_by_account.insert(account, slot);
        AccountRef { slot, account }
    }

    fn release_if_unused(&mut self, r: AccountRef) {
        let Some(state) = self.get_mut(r) else {
            return;
        };
        if state.session.is_some() || state.live > 0 {
            return;
        }
        state.account = 0;
        // Its table's memory goes back now, not when the slot is reused.
        state.client_orders = ClientOrders::with_slots(0);
        self.slots_by_account.remove(&r.account);
        self.free.push(r.slot);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(slot: usize) -> SessionRef {
        SessionRef {
            slot,
            generation: slot as u64 + 1,
        }
    }

    #[test]
    fn one_session_per_account_and_the_orders_stay_with_the_account() {
        let mut accounts = Accounts::default();
        let first = accounts.log_on(7, session(0)).unwrap();
        assert_eq!(accounts.log_on(7, session(1)), Err(InUse));
        assert!(accounts.in_use(7));
        accounts.add(first, 70, 1000);
        let mut orphaned = Vec::new();
        accounts.log_off(first, session(0), false, &mut orphaned);
        assert!(orphaned.is_empty());
        assert!(!accounts.in_use(7));
        // The next session of the account finds the order.
        let again = accounts.log_on(7, session(1)).unwrap();
        assert_eq!(again, first);
        assert_eq!(
            accounts.get(again).unwrap().client_orders.get(70),
            Some(1000)
        );
        assert_eq!(accounts.session_of(again), Some(session(1)));
        // A log-off of a session that is not the account's changes nothing.
        accounts.log_off(again, session(0), true, &mut orphaned);
        assert_eq!(accounts.session_of(again), Some(session(1)));
        accounts.log_off(again, session(1), true, &mut orphaned);
        assert_eq!(orphaned, [1000]);
    }

    #[test]
    fn an_account_with_nothing_left_frees_its_slot_for_another() {
        let mut accounts = Accounts::default();
        let a = accounts.log_on(7, session(0)).unwrap();
        accounts.add(a, 1, 11);
        accounts.log_off(a, session(0), false, &mut Vec::new());
        assert_eq!(accounts.len(), 1, "a live order keeps the account");
        accounts.forget(a, 1, 11);
        assert_eq!(accounts.len(), 0);
        let b = accounts.log_on(8, session(1)).unwrap();
        assert_eq!(b.slot, a.slot, "the slot is reused");
        assert!(
            accounts.get(a).is_none(),
            "but not mistaken for account 7's"
        );
        assert!(accounts.session_of(a).is_none());
    }

    #[test]
    fn a_recovered_name_taken_twice_keeps_the_first_order() {
        let mut accounts = Accounts::default();
        let r = accounts.adopt(9, 0, 5);
        assert_eq!(accounts.adopt(9, 0, 6), r);
        assert_eq!(accounts.get(r).unwrap().client_orders.get(0), Some(5));
        // The end of the unnamed order does not take the name from the
        // other, and the account stays while either is live.
        accounts.forget(r, 0, 5);
        assert_eq!(accounts.get(r).unwrap().client_orders.get(0), None);
        assert_eq!(accounts.len(), 1);
        accounts.forget(r, 0, 6);
        assert_eq!(accounts.len(), 0);
    }
}
