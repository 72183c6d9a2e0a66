//! Order entry: a session's `NewOrder`, `Cancel` and `Replace` become engine
//! commands, gathered into one batch per loop turn and published together.
//!
//! A new order's engine id is the sequence number its command will get, so
//! the order is registered (owning account, client order id, open quantity)
//! before it is published, and every event about it can be routed back
//! (`execution_reports.rs`). Its command carries the account and the client
//! order id into the journal, which is what lets a restart give the account
//! its orders back. A cancel or replace names its order by client order id;
//! the account's table turns that into the engine id, and the request is
//! remembered by its command's sequence so that a refusal reaches the
//! account, even if the order completed meanwhile.
//!
//! Refusals the gateway can decide alone (a client order id already live,
//! or not live) are returned as `Rejected` values; nothing here sends.

use matching::Command;
use pipeline::{Pipeline, PipelineError};

use super::accounts::{AccountRef, Accounts};
use super::operator::{Controls, PendingControl};
use super::registry::{OrderInfo, Registry};
use super::wall_clock::unix_now_ns;
use crate::protocol::{
    Cancel, Exec, NewOrder, OrderRef, OrderRejectReason, Rejected, Replace, Side, TimeInForce,
};
use idtable::IdTable;

/// Commands gathered in one loop turn before they are published.
const BATCH: usize = 4096;

/// How far ahead of the id being written the registry and the request table
/// prefetch: ids come from the command counter, so the slot `AHEAD` ids on
/// is written a few dozen commands later. Without it each new order's slot
/// is a cache miss on a line last used long before (see
/// docs/performance.md, section "loadgen over TCP").
pub const PREFETCH_AHEAD: u64 = 32;

/// How far a publication got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Every command of the batch is published.
    Done,
    /// The inbound ring is full: drain replies (which makes room), then
    /// call `try_publish` again; it goes on where it stopped.
    RingFull,
}

#[derive(Debug)]
pub struct OrderEntry {
    batch: Vec<Command>,
    /// For each command of `batch`: who asked, when it is a cancel or replace.
    /// Keyed by sequence only once published, when the sequence is known.
    requests: Vec<Option<OrderInfo>>,
    /// Operator controls in `batch`: their index there, and who asked.
    /// Keyed by sequence once published, like `requests`.
    controls: Vec<(usize, PendingControl)>,
    /// Commands of `batch` already published.
    sent: usize,
    /// The last command published.
    pub published: u64,
    /// Commands published in all.
    pub commands: u64,
}

impl OrderEntry {
    pub fn new(published: u64) -> Self {
        OrderEntry {
            batch: Vec::with_capacity(BATCH),
            requests: Vec::with_capacity(BATCH),
            controls: Vec::new(),
            sent: 0,
            published,
            commands: 0,
        }
    }

    /// `true` when the batch should be published before more is added.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.batch.len() >= BATCH
    }

    /// A new order: registered under the engine id its command will get,
    /// then batched.
    #[inline]
    pub fn new_order(
        &mut self,
        owner: AccountRef,
        order: &NewOrder,
        accounts: &mut Accounts,
        registry: &mut Registry,
        pipeline: &mut Pipeline,
    ) -> Result<(), Rejected> {
        let live = accounts
            .get(owner)
            .is_none_or(|a| a.client_orders.contains(order.client_order_id));
        if live {
            return Err(Rejected {
                order: OrderRef {
                    client_order_id: order.client_order_id,
                    order_id: 0,
                    instrument: order.instrument,
                },
                exec: unsequenced(),
                reason: OrderRejectReason::DuplicateClientOrderId,
            });
        }
        // The engine id is the sequence this command will get.
        let unpublished = (self.batch.len() - self.sent) as u64;
        let id = pipeline.publisher().next_seq() + unpublished;
        accounts.add(owner, order.client_order_id, id);
        registry.insert(
            id,
            OrderInfo {
                owner,
                client_order_id: order.client_order_id,
                instrument: order.instrument,
                buy: order.side == Side::Buy,
                rests: matches!(order.time_in_force, TimeInForce::Gtc | TimeInForce::Post),
                price: order.price,
                accepted: false,
                leaves: order.qty,
            },
        );
        registry.prefetch(id + PREFETCH_AHEAD);
        self.push(order.to_command(id, owner.account), None);
        Ok(())
    }

    /// A cancel of one of the session's live orders.
    #[inline]
    pub fn cancel(
        &mut self,
        owner: AccountRef,
        cancel: &Cancel,
        accounts: &Accounts,
        registry: &Registry,
    ) -> Result<(), Rejected> {
        let (id, request) = live_order(owner, cancel.client_order_id, accounts, registry)?;
        self.push_cancel(id, request.instrument, Some(request));
        Ok(())
    }

    /// Cancels of every live order of the account, or of those of
    /// `instrument` (0: every instrument) and of `side` (`None`: both): the
    /// same commands its single cancels would be, each remembered as a
    /// request so a refusal reaches the account. Returns how many.
    pub fn mass_cancel(
        &mut self,
        owner: AccountRef,
        instrument: u32,
        side: Option<Side>,
        accounts: &Accounts,
        registry: &Registry,
    ) -> u32 {
        let mut count = 0;
        for (id, info) in accounts.live_orders(owner, registry) {
            if instrument != 0 && info.instrument != instrument {
                continue;
            }
            if side.is_some_and(|side| (side == Side::Buy) != info.buy) {
                continue;
            }
            self.push_cancel(id, info.instrument, Some(*info));
            count += 1;
        }
        count
    }

    /// A cancel of order `id` (of `instrument`) whose account's session ended with
    /// cancel-on-disconnect (docs/protocol.md, "Cancel on disconnect"): the
    /// same command a client's cancel is, sequenced and journaled like it.
    /// No one asked, so no one is answered if the engine refuses it.
    pub fn cancel_orphan(&mut self, id: u64, instrument: u32) {
        self.push_cancel(id, instrument, None);
    }

    /// A control command (`Halt`, `Block`, `Limits`, `Collar`): `asked` when
    /// an operator is to be answered (`operator.rs`), `None` for the
    /// gateway's own (the limits and collars it sequences at start).
    pub fn control(&mut self, command: Command, asked: Option<PendingControl>) {
        if let Some(asked) = asked {
            self.controls.push((self.batch.len(), asked));
        }
        self.push(command, None);
    }

    /// Where the next command goes in the batch (for `ask_at`).
    pub fn control_index(&self) -> usize {
        self.batch.len()
    }

    /// The command at `index` (from `control_index`) is an operator's
    /// control, to be answered with `asked`.
    pub fn ask_at(&mut self, index: usize, asked: PendingControl) {
        self.controls.push((index, asked));
    }

    /// A kill switch's cancels: one for each live order of `account`, after
    /// its block. Returns how many.
    pub fn kill(&mut self, account: AccountRef, accounts: &Accounts, registry: &Registry) -> u32 {
        let mut count = 0;
        for (id, info) in accounts.live_orders(account, registry) {
            self.push_cancel(id, info.instrument, None);
            count += 1;
        }
        count
    }

    /// A replace of one of the session's live orders.
    #[inline]
    pub fn replace(
        &mut self,
        owner: AccountRef,
        replace: &Replace,
        accounts: &Accounts,
        registry: &Registry,
    ) -> Result<(), Rejected> {
        let (id, request) = live_order(owner, replace.client_order_id, accounts, registry)?;
        let command = Command::Replace {
            symbol: request.instrument,
            id,
            price: replace.price,
            qty: replace.qty,
        };
        self.push(command, Some(request));
        Ok(())
    }

    /// The one way a cancel enters the batch, whoever asked for it: a
    /// client's `Cancel`, its `MassCancel`, or cancel-on-disconnect.
    #[inline]
    fn push_cancel(&mut self, id: u64, instrument: u32, request: Option<OrderInfo>) {
        let command = Command::Cancel {
            symbol: instrument,
            id,
        };
        self.push(command, request);
    }

    #[inline]
    fn push(&mut self, command: Command, request: Option<OrderInfo>) {
        self.batch.push(command);
        self.requests.push(request);
    }

    /// Publishes the batch, in chunks of at most the inbound ring's size.
    /// It stops when the ring is full rather than wait: the output stage
    /// may be waiting for the loop to take its replies, and waiting here
    /// would close a cycle of full rings (gateway → J/M → O → gateway) and
    /// stop everything. On a failure the batch is dropped.
    pub fn try_publish(
        &mut self,
        pipeline: &mut Pipeline,
        requests: &mut IdTable<OrderInfo>,
        controls: &mut Controls,
    ) -> Result<Progress, PipelineError> {
        // When these commands entered the venue (see `wall_clock.rs`).
        let ts = unix_now_ns();
        let chunk_size = pipeline.publisher().ring_size().max(1);
        while self.sent < self.batch.len() {
            let end = (self.sent + chunk_size).min(self.batch.len());
            let chunk = &self.batch[self.sent..end];
            match pipeline.publisher().try_publish_batch(ts, chunk) {
                Ok(Some(last)) => {
                    self.published = last;
                    let first = last + 1 - chunk.len() as u64;
                    for (seq, request) in (first..).zip(&self.requests[self.sent..end]) {
                        if let Some(request) = request {
                            requests.insert(seq, *request);
                            requests.prefetch(seq + PREFETCH_AHEAD);
                        }
                    }
                    for &(i, control) in &self.controls {
                        if (self.sent..end).contains(&i) {
                            controls.insert(first + (i - self.sent) as u64, control);
                        }
                    }
                    self.commands += chunk.len() as u64;
                    self.sent = end;
                }
                Ok(None) => return Ok(Progress::RingFull),
                Err(e) => {
                    self.clear();
                    return Err(e);
                }
            }
        }
        self.clear();
        Ok(Progress::Done)
    }

    fn clear(&mut self) {
        self.batch.clear();
        self.requests.clear();
        self.controls.clear();
        self.sent = 0;
    }
}

/// The engine id of the account's live order `client_order_id`, and the
/// request that names the account as the one asking.
#[inline]
fn live_order(
    owner: AccountRef,
    client_order_id: u64,
    accounts: &Accounts,
    registry: &Registry,
) -> Result<(u64, OrderInfo), Rejected> {
    match accounts.live_order(owner, client_order_id, registry) {
        Some((id, info)) => Ok((id, OrderInfo { leaves: 0, ..*info })),
        None => Err(Rejected {
            order: OrderRef {
                client_order_id,
                order_id: 0,
                instrument: 0,
            },
            exec: unsequenced(),
            reason: OrderRejectReason::UnknownClientOrderId,
        }),
    }
}

/// The execution of a refusal made before its command was sequenced.
fn unsequenced() -> Exec {
    Exec {
        seq: 0,
        index: 0,
        transact_time_ns: unix_now_ns(),
    }
}
