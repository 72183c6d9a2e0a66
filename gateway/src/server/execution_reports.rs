//! Execution reports: the engine's released events, turned into messages
//! for the session of the account that owns each order.
//!
//! Events carry engine ids only. The registry (`registry.rs`) turns an id
//! back into its owning account, client order id and open quantity, and
//! the account table (`accounts.rs`) into the session logged on as that
//! account now, whichever it is; with none, the report is not sent. An
//! order that ends (filled, cancelled, rejected) leaves the registry and
//! its account's client-order table here. A refused cancel or replace is
//! answered from the request table (`order_entry.rs` filled it), since its
//! order may be gone by then. Trades and book changes are also handed to
//! market data.
//!
//! It is separate from order entry because it runs on the other side of the
//! pipeline: commands go out in one place, their events come back here.

use std::time::Instant;

use disruptor::Polling;
use matching::Event;
use pipeline::{Output, OutputSink};

use super::accounts::AccountRef;
use super::bridge::ReplyPoller;
use super::market_data::MarketData;
use super::operator::Controls;
use super::registry::{OrderInfo, Registry};
use super::session_table::SessionTable;
use crate::protocol::{
    Accepted, CancelReason, Cancelled, ControlStatus, Exec, Fill, OrderRef, Rejected, Replaced,
    ServerMessage,
};
use idtable::IdTable;

/// Events taken from the reply ring at a time.
const DRAIN_CHUNK: usize = 256;

/// What routing an event reads and changes: borrowed from the poll loop
/// for one drain.
pub struct Router<'a> {
    pub sessions: &'a mut SessionTable,
    pub registry: &'a mut Registry,
    pub requests: &'a mut IdTable<OrderInfo>,
    /// Operators' controls waiting for their answer.
    pub controls: &'a mut Controls,
    pub market: &'a mut MarketData,
    pub now: Instant,
}

#[derive(Debug, Default)]
pub struct ExecutionReports {
    /// The last command whose events were all released.
    pub released: u64,
    /// Events routed in all.
    pub events: u64,
    /// Events taken and not yet routed: a batch for the prefetch passes
    /// (`route_batch`). Kept from turn to turn, so a turn neither
    /// allocates nor initialises one.
    batch: Vec<Output>,
    /// The command whose reports are being numbered, and the index its next
    /// report gets (`protocol::Exec`): a command's events may span batches.
    exec_seq: u64,
    next_index: u32,
}

impl ExecutionReports {
    pub fn new(released: u64) -> Self {
        ExecutionReports {
            released,
            events: 0,
            batch: Vec::with_capacity(DRAIN_CHUNK),
            exec_seq: 0,
            next_index: 0,
        }
    }

    /// The execution id the next routed report will have, whichever account
    /// it is for: reports route in execution-id order, so this splits them
    /// into those routed before now and those after (a session's logon
    /// boundary, `report_replay.rs`).
    pub fn next_exec_id(&self) -> (u64, u32) {
        if self.exec_seq > self.released {
            // Part of a command's reports are routed; the rest follow.
            (self.exec_seq, self.next_index)
        } else {
            (self.released + 1, 0)
        }
    }

    /// Routes every event the reply ring holds (O on a thread of its own).
    pub fn drain(&mut self, replies: &mut ReplyPoller, router: &mut Router<'_>) {
        loop {
            match replies.take(DRAIN_CHUNK as u64) {
                Ok(mut guard) => self.batch.extend(&mut guard),
                Err(Polling::NoEvents) | Err(Polling::Shutdown) => {}
            }
            if self.batch.is_empty() {
                break;
            }
            self.route_batch(router);
        }
    }

    /// The sink hosted O releases into (`Pipeline::poll_up_to_with`): events
    /// go from the pipeline's outbound ring to routing with one copy (into
    /// the batch the prefetch passes need), not through the reply ring.
    pub fn sink<'s, 'a>(&'s mut self, router: &'s mut Router<'a>) -> RouteSink<'s, 'a> {
        RouteSink {
            reports: self,
            router,
        }
    }

    /// Routes the batch, and empties it.
    fn route_batch(&mut self, router: &mut Router<'_>) {
        let outputs = &self.batch;
        // Every event looks its order up in the registry, and the orders a
        // batch touches are scattered (a fill reaches an order that rested
        // for a while): start all those loads first, so the misses overlap
        // instead of coming one after another.
        for out in outputs {
            router.prefetch_orders(out);
        }
        // Then, with those entries (mostly) in, the client-order slots that
        // the events ending an order will remove.
        for out in outputs {
            router.prefetch_client_orders(out);
        }
        for out in outputs {
            if out.seq != self.exec_seq {
                self.exec_seq = out.seq;
                self.next_index = 0;
            }
            let stamp = Stamp {
                seq: out.seq,
                index: self.next_index,
                transact_time_ns: out.ts_ns,
            };
            self.next_index = self.next_index.saturating_add(reports_of(&out.event));
            router.route(out, stamp);
            if out.last {
                router.market.command_done();
                self.released = out.seq;
                if !router.requests.is_empty() {
                    router.requests.remove(out.seq);
                }
            }
        }
        self.events += outputs.len() as u64;
        self.batch.clear();
    }
}

/// Routes what hosted O releases, a batch at a time (see
/// `ExecutionReports::sink`).
pub struct RouteSink<'s, 'a> {
    reports: &'s mut ExecutionReports,
    router: &'s mut Router<'a>,
}

impl OutputSink for RouteSink<'_, '_> {
    #[inline]
    fn output(&mut self, output: &Output) {
        self.reports.batch.push(*output);
        if self.reports.batch.len() == DRAIN_CHUNK {
            self.reports.route_batch(self.router);
        }
    }

    #[inline]
    fn end_of_batch(&mut self) {
        self.reports.route_batch(self.router);
    }
}

impl Drop for RouteSink<'_, '_> {
    /// Nothing taken is left unrouted, whatever ended the poll.
    fn drop(&mut self) {
        if !self.reports.batch.is_empty() {
            self.reports.route_batch(self.router);
        }
    }
}

impl Router<'_> {
    /// Starts loading the registry entries `out` will look up.
    #[inline]
    fn prefetch_orders(&self, out: &Output) {
        match out.event {
            Event::Accepted { id, .. }
            | Event::Cancelled { id, .. }
            | Event::Replaced { id, .. } => self.registry.prefetch(id),
            Event::Rejected { id, .. } => {
                self.registry.prefetch(id);
                self.requests.prefetch(out.seq);
            }
            Event::Trade { taker, maker, .. } => {
                self.registry.prefetch(taker);
                self.registry.prefetch(maker);
            }
            Event::Control { .. } => {}
        }
    }

    /// Starts loading the client-order slots `out` may remove: an order
    /// that is cancelled, rejected or filled ends there.
    #[inline]
    fn prefetch_client_orders(&self, out: &Output) {
        let ending = |id: u64| {
            if let Some(info) = self.registry.get(id)
                && let Some(account) = self.sessions.accounts.get(info.owner)
            {
                account.client_orders.prefetch(info.client_order_id);
            }
        };
        match out.event {
            Event::Cancelled { id, .. } | Event::Rejected { id, .. } => ending(id),
            Event::Trade { taker, maker, .. } => {
                ending(taker);
                ending(maker);
            }
            Event::Accepted { .. } | Event::Replaced { .. } | Event::Control { .. } => {}
        }
    }

    #[inline]
    fn route(&mut self, out: &Output, stamp: Stamp) {
        let exec = stamp.exec(0);
        match out.event {
            Event::Accepted { id, .. } => {
                if let Some(info) = self.registry.get_mut(id) {
                    info.accepted = true;
                    // A resting kind enters the public book with all of
                    // it; its trades in this command take their part out.
                    enter_public_book(self.market, info, info.price, info.leaves);
                }
                if let Some((slot, order)) = self.owner(id) {
                    self.send(slot, ServerMessage::Accepted(Accepted { order, exec }));
                }
            }
            // A control command's refusal (engine ids start at 1).
            Event::Rejected { id: 0, .. } => {
                self.answer_control(out.seq, ControlStatus::UnknownInstrument)
            }
            Event::Control { action, target } => {
                tracing::info!(
                    seq = out.seq,
                    action = action.word(),
                    target,
                    "control applied"
                );
                self.answer_control(out.seq, ControlStatus::Applied);
            }
            Event::Rejected { id, reason, .. } => {
                let reason = reason.into();
                match self.requests.get(out.seq).copied() {
                    None => {
                        // A new order's reject ends it.
                        if let Some((slot, order)) = self.owner(id) {
                            let reject = Rejected {
                                order,
                                exec,
                                reason,
                            };
                            self.send(slot, ServerMessage::Rejected(reject));
                        }
                        self.forget(id);
                    }
                    Some(request) => {
                        // A refused cancel or replace: answer the account
                        // that asked, even if the order completed meanwhile;
                        // a live order stays live.
                        if let Some(slot) = self.session_of(request.owner) {
                            let order = OrderRef {
                                client_order_id: request.client_order_id,
                                order_id: id,
                                instrument: request.instrument,
                            };
                            let reject = Rejected {
                                order,
                                exec,
                                reason,
                            };
                            self.send(slot, ServerMessage::Rejected(reject));
                        }
                    }
                }
            }
            Event::Trade {
                symbol,
                taker,
                maker,
                price,
                qty,
            } => {
                self.fill(taker, price, qty, exec);
                self.fill(maker, price, qty, stamp.exec(1));
                self.market
                    .trade(symbol, price, qty, self.sessions, self.now);
            }
            Event::Cancelled {
                id, qty, reason, ..
            } => {
                if let Some((slot, order)) = self.owner(id) {
                    let reason: CancelReason = reason.into();
                    self.send(
                        slot,
                        ServerMessage::Cancelled(Cancelled {
                            order,
                            exec,
                            qty,
                            reason,
                        }),
                    );
                }
                if let Some(info) = self.registry.get(id) {
                    leave_public_book(self.market, info, info.price, qty);
                }
                self.forget(id);
            }
            Event::Replaced { id, price, qty, .. } => {
                if let Some(info) = self.registry.get_mut(id) {
                    leave_public_book(self.market, info, info.price, info.leaves);
                    enter_public_book(self.market, info, price, qty);
                    info.price = price;
                    info.leaves = qty;
                }
                if let Some((slot, order)) = self.owner(id) {
                    self.send(
                        slot,
                        ServerMessage::Replaced(Replaced {
                            order,
                            exec,
                            price,
                            qty,
                        }),
                    );
                }
            }
        }
    }

    /// Answers the operator who asked for the control sequenced as `seq`,
    /// if any (the gateway's own controls have nobody to answer).
    fn answer_control(&mut self, seq: u64, status: ControlStatus) {
        if self.controls.is_empty() {
            return;
        }
        if let Some((me, ack)) = self.controls.answer(seq, status)
            && self.sessions.find(me).is_some()
        {
            self.send(me.slot, ServerMessage::ControlAck(ack));
        }
    }

    /// One side of a trade: the order's fill, and its end if nothing is left.
    #[inline]
    fn fill(&mut self, id: u64, price: i64, qty: u64, exec: Exec) {
        let Some(info) = self.registry.get_mut(id) else {
            return;
        };
        info.leaves = info.leaves.saturating_sub(qty);
        let leaves = info.leaves;
        leave_public_book(self.market, info, info.price, qty);
        if let Some((slot, order)) = self.owner(id) {
            self.send(
                slot,
                ServerMessage::Fill(Fill {
                    order,
                    exec,
                    price,
                    qty,
                    leaves,
                }),
            );
        }
        if leaves == 0 {
            self.forget(id);
        }
    }

    /// The slot of the session logged on as the account `owner` now.
    #[inline]
    fn session_of(&self, owner: AccountRef) -> Option<usize> {
        let me = self.sessions.accounts.session_of(owner)?;
        self.sessions.find(me).map(|_| me.slot)
    }

    /// The slot of the session of the account owning order `id`, and the
    /// order's reference.
    #[inline]
    fn owner(&self, id: u64) -> Option<(usize, OrderRef)> {
        let info = *self.registry.get(id)?;
        let slot = self.session_of(info.owner)?;
        Some((
            slot,
            OrderRef {
                client_order_id: info.client_order_id,
                order_id: id,
                instrument: info.instrument,
            },
        ))
    }

    /// The order has ended: it leaves the registry and its account's table.
    #[inline]
    fn forget(&mut self, id: u64) {
        if let Some(info) = self.registry.remove(id) {
            self.sessions
                .accounts
                .forget(info.owner, info.client_order_id, id);
        }
    }

    #[inline]
    fn send(&mut self, slot: usize, msg: ServerMessage) {
        self.sessions.send(slot, msg, self.now);
    }
}

/// `qty` of order `info` now rests at `price`, in the public book
/// (`public_book.rs`) if the order is of a kind that rests.
#[inline]
fn enter_public_book(market: &mut MarketData, info: &OrderInfo, price: i64, qty: u64) {
    if info.rests {
        market.add(info.instrument, info.side(), price, qty);
    }
}

/// `qty` of order `info` no longer rests at `price` (filled, cancelled,
/// moved by a replace).
#[inline]
fn leave_public_book(market: &mut MarketData, info: &OrderInfo, price: i64, qty: u64) {
    if info.rests {
        market.remove(info.instrument, info.side(), price, qty);
    }
}

/// The execution id and time of an event's reports (see `protocol::Exec`):
/// its command's sequence, the index of the event's first report, and the
/// command's ingest time.
#[derive(Debug, Clone, Copy)]
pub(super) struct Stamp {
    pub seq: u64,
    pub index: u32,
    pub transact_time_ns: u64,
}

impl Stamp {
    /// The event's report number `k` (a trade has two: taker 0, maker 1).
    #[inline]
    pub(super) fn exec(self, k: u32) -> Exec {
        Exec {
            seq: self.seq,
            index: self.index.saturating_add(k),
            transact_time_ns: self.transact_time_ns,
        }
    }
}

/// The execution reports an event makes, whether or not their sessions
/// are there to receive them: a trade one per side, a control none,
/// anything else one.
#[inline]
pub(super) fn reports_of(event: &Event) -> u32 {
    match event {
        Event::Trade { .. } => 2,
        // Control commands report to no account (an operator's answer is
        // a `ControlAck`, not an execution report).
        Event::Control { .. } => 0,
        _ => 1,
    }
}
