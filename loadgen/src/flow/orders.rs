//! What loadgen knows about its own orders: which request of each is waiting
//! for an answer, which are live, and when each was meant to be sent.
//!
//! Every request (new order, cancel, replace) expects exactly one answer:
//! `Accepted`/`Rejected` for a new order, `Cancelled`/`Rejected` for a cancel,
//! `Replaced`/`Rejected` for a replace. The table holds the request's intended
//! send time until the answer comes, so the answer's latency is measured from
//! the schedule, and whatever is still waiting at the end is an unanswered
//! order, listed by id.
//!
//! Loadgen sends a cancel or replace only for an order that is accepted,
//! resting, and has no request in flight, so an order has at most one
//! request waiting and an answer is never ambiguous. Those orders are kept
//! in a per-instrument "live" list that the workload picks from.

use gateway::protocol::{CancelReason, OrderRejectReason, Side};
use idtable::IdTable;

use crate::flow::request::Action;
use crate::transport::exec::{Exec, ExecKind};

/// What a request was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    New,
    Cancel,
    Replace,
}

impl RequestKind {
    /// The name reports use.
    pub fn name(self) -> &'static str {
        match self {
            RequestKind::New => "new order",
            RequestKind::Cancel => "cancel",
            RequestKind::Replace => "replace",
        }
    }
}

/// A request waiting for its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pending {
    kind: RequestKind,
    intended_ns: u64,
}

/// One order's state.
#[derive(Debug, Clone, Copy)]
struct OrderState {
    session: u16,
    /// Index of the instrument (symbol - 1).
    instrument: u32,
    side: Side,
    price: i64,
    /// Open quantity, as far as the reports so far say.
    leaves: u64,
    /// Sent as an aggressive (IOC) order: its first fill is timed.
    aggressive: bool,
    accepted: bool,
    filled: bool,
    /// Gone from the book (filled, cancelled, expired, or refused).
    done: bool,
    /// When the new order was meant to be sent (for order→fill).
    new_intended_ns: u64,
    pending: Option<Pending>,
    /// Position in the instrument's live list, or `NOT_LIVE`.
    live_pos: u32,
    /// The engine's id, once a report said it (0 until then).
    order_id: u64,
}

const NOT_LIVE: u32 = u32::MAX;

impl Default for OrderState {
    /// An empty slot's contents (never read as an order).
    fn default() -> Self {
        OrderState {
            session: 0,
            instrument: 0,
            side: Side::Buy,
            price: 0,
            leaves: 0,
            aggressive: false,
            accepted: false,
            filled: false,
            done: false,
            new_intended_ns: 0,
            pending: None,
            live_pos: NOT_LIVE,
            order_id: 0,
        }
    }
}

/// What one execution report meant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Observed {
    /// The session of the order it is about (0 if unknown).
    pub session: u16,
    /// It answered a request: which kind, and when that request was meant to be sent.
    pub answer: Option<(RequestKind, u64)>,
    /// It was the first fill of an aggressive order meant to be sent then.
    pub first_fill: Option<u64>,
    /// It was about no order loadgen knows, or did not fit the order's
    /// state (a second answer, say): a gateway or loadgen bug.
    pub unexpected: bool,
    /// An aggressive order expired without trading.
    pub unfilled_aggressive: bool,
}

/// A request that was never answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Unanswered {
    pub session: u16,
    pub client_order_id: u64,
    /// The engine's id of the order, if any report named it (0 if none did).
    pub order_id: u64,
    pub symbol: u32,
    pub kind: RequestKind,
    /// When it was meant to be sent, ns from the schedule's start.
    pub intended_ns: u64,
}

/// Slots of the order table's direct-mapped part: client order ids come
/// from loadgen's counter, so the live ones lie in a window that slides
/// forward and each report finds its order with one load, mostly in cache
/// (a hash map scattered them: two cache misses a report, a large share of
/// loadgen's core under load; the profile: docs/performance.md, section
/// "loadgen over TCP"). 2^19 slots of 64 bytes: 32 MiB, written
/// once at start. Older resting orders whose slot a new id wants share a
/// small overflow map (see `idtable::id_table`).
const ORDER_SLOTS: usize = 1 << 19;

/// Every order loadgen has sent and not yet seen finished.
#[derive(Debug)]
pub struct OrderTable {
    orders: IdTable<OrderState>,
    /// Per instrument: orders that are accepted, resting, with nothing in flight.
    live: Vec<Vec<u64>>,
    pending: u64,
}

impl OrderTable {
    /// A table for `instruments` instruments (symbols 1..=instruments).
    pub fn new(instruments: u32) -> OrderTable {
        OrderTable {
            orders: IdTable::with_slots(ORDER_SLOTS),
            live: (0..instruments).map(|_| Vec::new()).collect(),
            pending: 0,
        }
    }

    /// Requests waiting for an answer.
    pub fn pending(&self) -> u64 {
        self.pending
    }

    /// Orders known to be resting in `instrument`'s book with nothing in flight.
    pub fn live_count(&self, instrument: u32) -> usize {
        self.live.get(instrument as usize).map_or(0, Vec::len)
    }

    /// Orders the table tracks (resting, or with a request in flight).
    #[cfg(test)]
    pub fn tracked(&self) -> usize {
        self.orders.len()
    }

    /// Takes the `index`-th live order of `instrument` out of the live list,
    /// for a cancel or replace: returns its id, session, side and price.
    pub fn take_live(&mut self, instrument: u32, index: usize) -> Option<(u64, u16, Side, i64)> {
        let list = self.live.get_mut(instrument as usize)?;
        if index >= list.len() {
            return None;
        }
        let coid = list.swap_remove(index);
        if let Some(&moved) = list.get(index)
            && let Some(m) = self.orders.get_mut(moved)
        {
            m.live_pos = index as u32;
        }
        let o = self.orders.get_mut(coid)?;
        o.live_pos = NOT_LIVE;
        Some((coid, o.session, o.side, o.price))
    }

    /// Notes a request as sent (queued to the transport), meant to go at `intended_ns`.
    pub fn on_send(&mut self, action: &Action, intended_ns: u64) {
        match *action {
            Action::New(ref n) => {
                self.orders.insert(
                    n.coid,
                    OrderState {
                        session: n.session,
                        instrument: n.symbol - 1,
                        side: n.side,
                        price: n.price,
                        leaves: n.qty,
                        aggressive: n.aggressive,
                        accepted: false,
                        filled: false,
                        done: false,
                        new_intended_ns: intended_ns,
                        pending: Some(Pending {
                            kind: RequestKind::New,
                            intended_ns,
                        }),
                        live_pos: NOT_LIVE,
                        order_id: 0,
                    },
                );
                self.pending += 1;
            }
            Action::Cancel { coid, .. } | Action::Replace { coid, .. } => {
                let kind = if matches!(action, Action::Cancel { .. }) {
                    RequestKind::Cancel
                } else {
                    RequestKind::Replace
                };
                if let Some(o) = self.orders.get_mut(coid)
                    && o.pending.is_none()
                {
                    o.pending = Some(Pending { kind, intended_ns });
                    self.pending += 1;
                }
            }
        }
    }

    /// Applies one execution report and says what it meant.
    pub fn on_exec(&mut self, exec: &Exec) -> Observed {
        let mut seen = Observed::default();
        let Some(o) = self.orders.get_mut(exec.coid) else {
            seen.unexpected = true;
            return seen;
        };
        seen.session = o.session;
        if exec.order_id != 0 {
            o.order_id = exec.order_id;
        }
        let pending_kind = o.pending.map(|p| p.kind);
        let mut answered = false;
        match exec.kind {
            ExecKind::Accepted => {
                if pending_kind == Some(RequestKind::New) && !o.accepted {
                    answered = true;
                    o.accepted = true;
                } else {
                    seen.unexpected = true;
                }
            }
            ExecKind::Rejected(reason) => {
                if pending_kind.is_some() {
                    answered = true;
                    // A refused new order never existed; a refused cancel or
                    // replace of an order loadgen thought live means the
                    // engine no longer has it (it traded or expired in the
                    // meantime, and that report is already here).
                    let order_gone = pending_kind == Some(RequestKind::New)
                        || matches!(
                            reason,
                            OrderRejectReason::UnknownOrder
                                | OrderRejectReason::UnknownClientOrderId
                        );
                    if order_gone {
                        o.done = true;
                    }
                } else {
                    seen.unexpected = true;
                }
            }
            ExecKind::Fill { qty, leaves, .. } => {
                if !o.filled && o.aggressive {
                    seen.first_fill = Some(o.new_intended_ns);
                }
                o.filled = true;
                o.leaves = leaves.unwrap_or(o.leaves.saturating_sub(qty));
                if o.leaves == 0 {
                    o.done = true;
                }
            }
            ExecKind::Cancelled { reason, .. } => {
                if pending_kind == Some(RequestKind::Cancel) && reason == CancelReason::User {
                    answered = true;
                }
                if o.aggressive && !o.filled {
                    seen.unfilled_aggressive = true;
                }
                o.done = true;
            }
            ExecKind::Replaced { price, qty } => {
                if pending_kind == Some(RequestKind::Replace) {
                    answered = true;
                    o.price = price;
                    o.leaves = qty;
                } else {
                    seen.unexpected = true;
                }
            }
        }
        if answered && let Some(p) = o.pending.take() {
            seen.answer = Some((p.kind, p.intended_ns));
            self.pending -= 1;
        }
        self.settle(exec.coid);
        seen
    }

    /// After a report: forget a finished order with nothing in flight; put
    /// an accepted resting order with nothing in flight on the live list.
    fn settle(&mut self, coid: u64) {
        let Some(o) = self.orders.get(coid).copied() else {
            return;
        };
        let resting = o.accepted && !o.done && !o.aggressive && o.pending.is_none() && o.leaves > 0;
        if resting {
            if o.live_pos == NOT_LIVE
                && let Some(list) = self.live.get_mut(o.instrument as usize)
            {
                let pos = list.len() as u32;
                list.push(coid);
                if let Some(m) = self.orders.get_mut(coid) {
                    m.live_pos = pos;
                }
            }
            return;
        }
        if o.live_pos != NOT_LIVE {
            let index = o.live_pos as usize;
            if let Some(list) = self.live.get_mut(o.instrument as usize)
                && index < list.len()
            {
                list.swap_remove(index);
                if let Some(&moved) = list.get(index)
                    && let Some(m) = self.orders.get_mut(moved)
                {
                    m.live_pos = index as u32;
                }
            }
            if let Some(m) = self.orders.get_mut(coid) {
                m.live_pos = NOT_LIVE;
            }
        }
        if o.done && o.pending.is_none() {
            self.orders.remove(coid);
        }
    }

    /// A cancel or replace the workload decided on was not sent (its
    /// session had no connection): its order goes back on the live list.
    pub fn not_sent(&mut self, action: &Action) {
        if let Action::Cancel { coid, .. } | Action::Replace { coid, .. } = *action {
            self.settle(coid);
        }
    }

    /// Session `session` lost its connection: its requests in flight will
    /// never be answered. They stop waiting and are returned (oldest
    /// first). Their orders stay known, neither live nor waiting, since the
    /// next leader may have them (the old one may have committed them
    /// before it went), so later reports about them are understood.
    pub fn abandon_session(&mut self, session: u16) -> Vec<Unanswered> {
        let lost: Vec<Unanswered> = self
            .unanswered()
            .into_iter()
            .filter(|u| u.session == session)
            .collect();
        for u in &lost {
            if let Some(o) = self.orders.get_mut(u.client_order_id)
                && o.pending.take().is_some()
            {
                self.pending -= 1;
            }
        }
        lost
    }

    /// Every request still waiting, oldest first.
    pub fn unanswered(&self) -> Vec<Unanswered> {
        let mut list: Vec<Unanswered> = self
            .orders
            .iter()
            .filter_map(|(coid, o)| {
                o.pending.map(|p| Unanswered {
                    session: o.session,
                    client_order_id: coid,
                    order_id: o.order_id,
                    symbol: o.instrument + 1,
                    kind: p.kind,
                    intended_ns: p.intended_ns,
                })
            })
            .collect();
        list.sort_by_key(|u| (u.intended_ns, u.client_order_id));
        list
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::flow::request::NewOrder;
    use gateway::protocol::TimeInForce;

    fn new(coid: u64, aggressive: bool) -> Action {
        Action::New(NewOrder {
            session: 0,
            coid,
            symbol: 1,
            side: Side::Buy,
            price: 100,
            qty: 10,
            tif: if aggressive {
                TimeInForce::Ioc
            } else {
                TimeInForce::Gtc
            },
            aggressive,
        })
    }

    fn exec(coid: u64, kind: ExecKind) -> Exec {
        Exec {
            coid,
            order_id: coid,
            symbol: 1,
            kind,
        }
    }

    #[test]
    fn a_passive_order_goes_live_and_its_cancel_is_answered() {
        let mut t = OrderTable::new(1);
        t.on_send(&new(1, false), 100);
        assert_eq!(t.pending(), 1);
        let seen = t.on_exec(&exec(1, ExecKind::Accepted));
        assert_eq!(seen.answer, Some((RequestKind::New, 100)));
        assert_eq!((t.pending(), t.live_count(0)), (0, 1));
        let (coid, ..) = t.take_live(0, 0).unwrap();
        assert_eq!((coid, t.live_count(0)), (1, 0));
        t.on_send(
            &Action::Cancel {
                session: 0,
                coid: 1,
                symbol: 1,
            },
            200,
        );
        let seen = t.on_exec(&exec(
            1,
            ExecKind::Cancelled {
                qty: 10,
                reason: CancelReason::User,
            },
        ));
        assert_eq!(seen.answer, Some((RequestKind::Cancel, 200)));
        assert_eq!((t.pending(), t.tracked()), (0, 0));
    }

    #[test]
    fn an_aggressive_order_times_its_first_fill_only() {
        let mut t = OrderTable::new(1);
        t.on_send(&new(5, true), 1_000);
        t.on_exec(&exec(5, ExecKind::Accepted));
        let fill = |leaves| ExecKind::Fill {
            price: 100,
            qty: 3,
            leaves,
        };
        assert_eq!(t.on_exec(&exec(5, fill(Some(7)))).first_fill, Some(1_000));
        assert_eq!(t.on_exec(&exec(5, fill(None))).first_fill, None);
        let seen = t.on_exec(&exec(
            5,
            ExecKind::Cancelled {
                qty: 4,
                reason: CancelReason::Expired,
            },
        ));
        assert!(!seen.unfilled_aggressive && seen.answer.is_none());
        assert_eq!((t.tracked(), t.live_count(0)), (0, 0));
    }

    #[test]
    fn a_cancel_that_loses_the_race_with_a_fill_is_still_answered() {
        let mut t = OrderTable::new(1);
        t.on_send(&new(1, false), 0);
        t.on_exec(&exec(1, ExecKind::Accepted));
        t.take_live(0, 0).unwrap();
        t.on_send(
            &Action::Cancel {
                session: 0,
                coid: 1,
                symbol: 1,
            },
            10,
        );
        let full_fill = ExecKind::Fill {
            price: 100,
            qty: 10,
            leaves: None,
        };
        assert_eq!(t.on_exec(&exec(1, full_fill)).answer, None);
        assert_eq!(t.unanswered().len(), 1);
        let seen = t.on_exec(&exec(
            1,
            ExecKind::Rejected(OrderRejectReason::UnknownClientOrderId),
        ));
        assert_eq!(seen.answer, Some((RequestKind::Cancel, 10)));
        assert!(t.unanswered().is_empty());
        assert_eq!(t.tracked(), 0);
    }

    #[test]
    fn a_lost_session_abandons_its_requests_and_their_orders_stay_known() {
        let mut t = OrderTable::new(1);
        let on = |session, coid| {
            let Action::New(mut n) = new(coid, false) else {
                unreachable!()
            };
            n.session = session;
            Action::New(n)
        };
        t.on_send(&on(0, 1), 10);
        t.on_exec(&exec(1, ExecKind::Accepted));
        t.on_send(&on(1, 2), 20);
        t.on_send(&on(0, 3), 30);
        let (coid, ..) = t.take_live(0, 0).unwrap();
        let cancel = Action::Cancel {
            session: 0,
            coid,
            symbol: 1,
        };
        t.on_send(&cancel, 40);
        assert_eq!(t.pending(), 3);
        let lost = t.abandon_session(0);
        let coids: Vec<u64> = lost.iter().map(|u| u.client_order_id).collect();
        assert_eq!(
            coids,
            [3, 1],
            "oldest first: the new order, then the cancel"
        );
        assert_eq!(t.pending(), 1, "session 1's order still waits");
        assert!(t.unanswered().iter().all(|u| u.session == 1));
        // A later report about a lost order is understood, not unexpected.
        let fill = ExecKind::Fill {
            price: 100,
            qty: 10,
            leaves: Some(0),
        };
        let seen = t.on_exec(&exec(3, fill));
        assert!(!seen.unexpected && seen.answer.is_none());
        assert_eq!(t.live_count(0), 0, "order 1's fate is unknown: not live");
    }

    #[test]
    fn an_unsent_cancel_puts_its_order_back_on_the_live_list() {
        let mut t = OrderTable::new(1);
        t.on_send(&new(1, false), 0);
        t.on_exec(&exec(1, ExecKind::Accepted));
        let (coid, ..) = t.take_live(0, 0).unwrap();
        assert_eq!(t.live_count(0), 0);
        t.not_sent(&Action::Cancel {
            session: 0,
            coid,
            symbol: 1,
        });
        assert_eq!((t.live_count(0), t.pending()), (1, 0));
    }

    #[test]
    fn unknown_and_doubled_answers_are_unexpected() {
        let mut t = OrderTable::new(1);
        assert!(t.on_exec(&exec(9, ExecKind::Accepted)).unexpected);
        t.on_send(&new(1, false), 0);
        assert!(!t.on_exec(&exec(1, ExecKind::Accepted)).unexpected);
        assert!(t.on_exec(&exec(1, ExecKind::Accepted)).unexpected);
        let left = t.unanswered();
        assert!(left.is_empty());
        t.on_send(&new(2, false), 7);
        let left = t.unanswered();
        assert_eq!(left.len(), 1);
        assert_eq!(
            (left[0].client_order_id, left[0].kind),
            (2, RequestKind::New)
        );
    }
}
