//! The gateway's poll loop: one pinned thread that owns every session.
//!
//! Each turn: wait for socket readiness (or the reply waker), read every
//! readable session and decode its frames into commands, publish the
//! commands in one batch, drain the released replies into the owning
//! sessions' buffers, and write each session's buffer once. One thread
//! owns all session state, so nothing here takes a lock.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use disruptor::Polling;
use matching::{Command, Event, Side};
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};
use pipeline::{Output, Pipeline, PipelineError, StageWait};

use super::REPLY_RING;
use super::bridge::ReplyPoller;
use super::registry::{OrderInfo, Registry, SessionRef};
use super::session::{Fill as ReadResult, Phase, Session, SlowReader};
use super::throttle::Throttle;
use crate::config::SessionLimits;
use crate::protocol::{
    Accepted, CancelReason, Cancelled, ClientMessage, Decoded, Fill, Level, LogonAck, LogonReject,
    LogonRejectReason, Logout, LogoutReason, OrderRef, OrderRejectReason, Reject, Rejected,
    Replaced, SeqCheck, ServerMessage, SessionRejectReason, TopOfBook, Trade, decode_frame,
};
use idtable::IdTable;

pub const LISTENER: Token = Token(0);
pub const WAKER: Token = Token(1);
const FIRST_SESSION: usize = 2;

/// Commands gathered in one loop turn before they are published.
const BATCH: usize = 4096;
/// How often timeouts and heartbeats are checked, and the longest idle wait.
const TICK: Duration = Duration::from_millis(50);
/// How long the loop keeps polling without blocking after its last message.
const STAY_AWAKE: Duration = Duration::from_millis(2);
/// How long shutdown waits for clients to take their Logout.
const LOGOUT_GRACE: Duration = Duration::from_millis(500);
/// Slots of the registry's direct table: lookups stay direct while the live
/// orders span fewer engine ids (commands) than this: a quarter of a second
/// at 1M commands/s, far longer than loadgen's resting orders live. 12 MiB,
/// so it stays in the L3 cache (2^20 slots, 48 MiB, did not: at 1M/s the
/// loop's registry lookups took ~16% of its core, against ~9% now).
const REGISTRY_SLOTS: usize = 1 << 18;
/// Slots of the table of requests in flight (12 MiB). A command is in
/// flight from its publication until its last reply is drained, so about
/// what the inbound, outbound and reply rings hold (2^16 each by default)
/// at most: any window of in-flight sequences fits without collisions.
const REQUEST_SLOTS: usize = 1 << 18;
/// How far ahead of the id being written the registry and the request table
/// prefetch: ids come from the command counter, so the slot `AHEAD` ids on
/// is written a few dozen commands later. Without it each new order's slot
/// was a cache miss on a line last used a quarter of a second earlier
/// (perf: the store into the slot took most of `IdTable::insert`'s time).
const PREFETCH_AHEAD: u64 = 32;

/// Counters reported when the loop ends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoopStats {
    pub sessions_accepted: u64,
    pub commands: u64,
    pub replies: u64,
    pub sessions_closed_for_cause: u64,
}

pub struct PollLoop {
    pub poll: Poll,
    pub listener: Option<TcpListener>,
    pub pipeline: Pipeline,
    pub replies: ReplyPoller,
    pub limits: SessionLimits,
    pub max_sessions: usize,
    pub instruments: Vec<u32>,
    pub stop: Arc<AtomicBool>,
    pub replies_closed: Arc<AtomicBool>,
    sessions: Vec<Option<Session>>,
    free: Vec<usize>,
    generation: u64,
    registry: Registry,
    /// Cancels and replaces in flight, by their command's sequence: who
    /// asked. Their target may complete (fill, expire) before they reach
    /// the engine; the engine's reject must still reach the requester.
    /// Sequences come from the publisher's counter: an `IdTable`, like the
    /// registry.
    requests: IdTable<OrderInfo>,
    batch: Vec<Command>,
    /// For each command of `batch`: who asked, when it is a cancel or replace.
    /// Keyed by sequence only once published, when the sequence is known.
    batch_requests: Vec<Option<OrderInfo>>,
    /// Sessions with output to write this turn.
    dirty: Vec<usize>,
    /// Instruments whose top of book may have changed (with subscribers).
    touched: Vec<u32>,
    /// The last command published, and the last whose replies were all released.
    published: u64,
    released: u64,
    epoch: Instant,
    /// The time of this loop turn.
    now: Instant,
    stats: LoopStats,
}

impl PollLoop {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        poll: Poll,
        listener: TcpListener,
        pipeline: Pipeline,
        replies: ReplyPoller,
        limits: SessionLimits,
        max_sessions: usize,
        instruments: Vec<u32>,
        stop: Arc<AtomicBool>,
        replies_closed: Arc<AtomicBool>,
    ) -> Self {
        let published = pipeline.durable_seq();
        PollLoop {
            poll,
            listener: Some(listener),
            pipeline,
            replies,
            limits,
            max_sessions,
            instruments,
            stop,
            replies_closed,
            sessions: Vec::new(),
            free: Vec::new(),
            generation: 0,
            registry: Registry::with_slots(REGISTRY_SLOTS),
            requests: IdTable::with_slots(REQUEST_SLOTS),
            batch: Vec::with_capacity(BATCH),
            batch_requests: Vec::with_capacity(BATCH),
            dirty: Vec::with_capacity(1024),
            touched: Vec::with_capacity(64),
            published,
            released: published,
            epoch: Instant::now(),
            now: Instant::now(),
            stats: LoopStats::default(),
        }
    }

    /// Runs until `stop` is set, then drains, logs every session out, and
    /// shuts the pipeline down (journal fsynced, threads joined).
    pub fn run(mut self) -> Result<LoopStats, PipelineError> {
        let mut events = Events::with_capacity(1024);
        let mut last_tick = Instant::now();
        let mut failure = None;
        let topology = *self.pipeline.topology();
        let hosted = topology.placement.hosts_stages();
        // Whether another thread runs on this core (J and O as threads, an
        // in-process client): then a turn that does not sleep ends with a
        // yield; alone on the core, a yield would be a syscall for nothing
        // (it cost ~14% of the core at 1M orders/s).
        let shared = matches!(topology.wait_on(topology.publisher), StageWait::Shared(_));
        let mut last_busy = Instant::now();
        // Acquire: pairs with the Release store of whoever asks to stop.
        while !self.stop.load(Ordering::Acquire) {
            // Hosted J and O run only when this loop polls them: while a
            // command awaits its replies, look at the sockets without
            // blocking. So also for a while after the last message: a
            // sleeping thread takes 6 µs to wake on its own core, and a
            // vCPU that halted for want of work about 40 µs (measured, see
            // docs/pipeline.md); only a quiet loop sleeps in epoll_wait.
            let in_flight = hosted && self.released < self.published;
            let busy = in_flight || self.now.duration_since(last_busy) < STAY_AWAKE;
            let timeout = if busy { Duration::ZERO } else { TICK };
            if let Err(e) = self.poll.poll(&mut events, Some(timeout))
                && e.kind() != io::ErrorKind::Interrupted
            {
                failure = Some(e);
                break;
            }
            let now = Instant::now();
            self.now = now;
            if !events.is_empty() {
                last_busy = now;
            }
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept(now),
                    WAKER => {}
                    Token(t) => {
                        let slot = t - FIRST_SESSION;
                        if event.is_readable() || event.is_read_closed() {
                            self.read_session(slot, now);
                        }
                        if event.is_writable() {
                            self.mark_dirty(slot);
                        }
                    }
                }
            }
            if let Err(e) = self.publish(now) {
                self.close_all(LogoutReason::Shutdown);
                self.flush_dirty(now);
                return Err(e);
            }
            self.drain_replies();
            self.flush_dirty(now);
            if busy && shared {
                // Not sleeping, so give a neighbour on this core its turn
                // before looking again.
                std::thread::yield_now();
            }
            if now.duration_since(last_tick) >= TICK {
                last_tick = now;
                self.check_timers(now);
                self.flush_dirty(now);
            }
        }
        if let Some(e) = failure {
            eprintln!("gateway: poll failed: {e}; shutting down");
        }
        self.shutdown()
    }

    fn shutdown(mut self) -> Result<LoopStats, PipelineError> {
        // Stop accepting; answer everything already published; log out.
        if let Some(mut listener) = self.listener.take() {
            let _ = self.poll.registry().deregister(&mut listener);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.released < self.published && Instant::now() < deadline {
            if self.pipeline.failure().is_some() {
                break;
            }
            self.drain_replies();
            self.flush_dirty(Instant::now());
            std::thread::yield_now();
        }
        self.close_all(LogoutReason::Shutdown);
        let grace = Instant::now() + LOGOUT_GRACE;
        while Instant::now() < grace && self.sessions.iter().flatten().any(Session::has_output) {
            let now = Instant::now();
            self.now = now;
            for slot in 0..self.sessions.len() {
                self.mark_dirty(slot);
            }
            self.flush_dirty(now);
            std::thread::sleep(Duration::from_millis(1));
        }
        // Release: pairs with the bridge's Acquire load; it stops waiting for us.
        self.replies_closed.store(true, Ordering::Release);
        let PollLoop {
            pipeline, stats, ..
        } = self;
        pipeline.shutdown()?;
        Ok(stats)
    }

    fn accept(&mut self, now: Instant) {
        let Some(listener) = &self.listener else {
            return;
        };
        loop {
            let (mut stream, _) = match listener.accept() {
                Ok(conn) => conn,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(_) => return,
            };
            let live = self.sessions.len() - self.free.len();
            if live >= self.max_sessions {
                // Refused: answer and drop the connection.
                let _ = stream.set_nodelay(true);
                continue;
            }
            let _ = stream.set_nodelay(true);
            if let Some(bytes) = self.limits.socket_send_buffer {
                let _ = socket2::SockRef::from(&stream).set_send_buffer_size(bytes);
            }
            let slot = self.free.pop().unwrap_or_else(|| {
                self.sessions.push(None);
                self.sessions.len() - 1
            });
            let token = Token(slot + FIRST_SESSION);
            if self
                .poll
                .registry()
                .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
                .is_err()
            {
                self.free.push(slot);
                continue;
            }
            self.generation += 1;
            let me = SessionRef {
                slot,
                generation: self.generation,
            };
            let throttle = Throttle::new(self.limits.max_msgs_per_sec, now);
            self.sessions[slot] = Some(Session::new(
                stream,
                me,
                throttle,
                self.limits.outbound_buffer_bytes,
                now,
            ));
            self.stats.sessions_accepted += 1;
        }
    }

    fn mark_dirty(&mut self, slot: usize) {
        if let Some(Some(s)) = self.sessions.get_mut(slot)
            && !s.blocked
            && !self.dirty.contains(&slot)
        {
            self.dirty.push(slot);
        } else if let Some(Some(s)) = self.sessions.get_mut(slot) {
            s.blocked = false;
            if !self.dirty.contains(&slot) {
                self.dirty.push(slot);
            }
        }
    }

    /// Reads and handles everything a session sent.
    fn read_session(&mut self, slot: usize, now: Instant) {
        loop {
            let Some(Some(session)) = self.sessions.get_mut(slot) else {
                return;
            };
            if session.draining_since.is_some() {
                if !session.drain_input() {
                    self.close(slot);
                }
                return;
            }
            // A read error closes the session like an orderly close does.
            let fill = session.fill().unwrap_or(ReadResult::Closed);
            self.decode_frames(slot, now);
            match fill {
                ReadResult::Closed => return self.close(slot),
                ReadResult::Drained => return,
                ReadResult::Full => {}
            }
        }
    }

    fn decode_frames(&mut self, slot: usize, now: Instant) {
        loop {
            let Some(Some(session)) = self.sessions.get_mut(slot) else {
                return;
            };
            if session.closing {
                let n = session.input().len();
                session.consume(n);
                return;
            }
            match decode_frame::<ClientMessage>(session.input()) {
                Ok(Decoded::NeedMore { .. }) => return,
                Ok(Decoded::Message { envelope, consumed }) => {
                    session.consume(consumed);
                    session.last_received = now;
                    self.handle(slot, envelope.seq, envelope.msg, now);
                }
                Err(e) if e.is_fatal() => {
                    self.logout(slot, LogoutReason::FrameTooLarge);
                    return;
                }
                Err(e) => {
                    session.consume(e.consumed);
                    session.last_received = now;
                    let ref_seq = e.seq.unwrap_or(0);
                    if let Some(seq) = e.seq
                        && seq == session.inbound.expected()
                    {
                        session.inbound.check(seq);
                    }
                    let reason = SessionRejectReason::DecodeFailed(e.error.kind());
                    self.send(slot, ServerMessage::Reject(Reject { ref_seq, reason }));
                }
            }
        }
    }

    fn handle(&mut self, slot: usize, seq: u64, msg: ClientMessage, now: Instant) {
        let Some(Some(session)) = self.sessions.get_mut(slot) else {
            return;
        };
        if !session.throttle.take(now) {
            return self.logout(slot, LogoutReason::Throttled);
        }
        match session.phase {
            Phase::AwaitingLogon => {
                let ClientMessage::Logon(logon) = msg else {
                    let reject = Reject {
                        ref_seq: seq,
                        reason: SessionRejectReason::NotLoggedOn,
                    };
                    self.send(slot, ServerMessage::Reject(reject));
                    return self.close_after_flush(slot);
                };
                if session.inbound.check(seq) != SeqCheck::Ok {
                    return self.reject_logon(slot, LogonRejectReason::BadSequence);
                }
                let in_use = self
                    .sessions
                    .iter()
                    .flatten()
                    .any(|s| s.phase == Phase::LoggedOn(logon.account));
                if in_use {
                    return self.reject_logon(slot, LogonRejectReason::AccountInUse);
                }
                let Some(Some(session)) = self.sessions.get_mut(slot) else {
                    return;
                };
                session.phase = Phase::LoggedOn(logon.account);
                let ack = LogonAck {
                    account: logon.account,
                    heartbeat_interval_ms: self.limits.heartbeat_interval.as_millis() as u32,
                    max_msgs_per_sec: self.limits.max_msgs_per_sec,
                };
                self.send(slot, ServerMessage::LogonAck(ack));
            }
            Phase::LoggedOn(account) => {
                match session.inbound.check(seq) {
                    SeqCheck::Ok => {}
                    SeqCheck::Duplicate { .. } => {
                        let reject = Reject {
                            ref_seq: seq,
                            reason: SessionRejectReason::SeqDuplicate,
                        };
                        return self.send(slot, ServerMessage::Reject(reject));
                    }
                    SeqCheck::Gap { .. } => {
                        let reject = Reject {
                            ref_seq: seq,
                            reason: SessionRejectReason::SeqGap,
                        };
                        self.send(slot, ServerMessage::Reject(reject));
                        return self.logout(slot, LogoutReason::SeqGap);
                    }
                }
                self.handle_logged_on(slot, account, seq, msg);
            }
        }
    }

    fn handle_logged_on(&mut self, slot: usize, account: u32, seq: u64, msg: ClientMessage) {
        match msg {
            ClientMessage::NewOrder(order) => {
                let Some(Some(session)) = self.sessions.get_mut(slot) else {
                    return;
                };
                if session.client_orders.contains(order.client_order_id) {
                    let rejected = Rejected {
                        order: OrderRef {
                            client_order_id: order.client_order_id,
                            order_id: 0,
                            instrument: order.instrument,
                        },
                        reason: OrderRejectReason::DuplicateClientOrderId,
                    };
                    return self.send(slot, ServerMessage::Rejected(rejected));
                }
                // The engine id is the sequence this command will get.
                let id = self.pipeline.publisher().next_seq() + self.batch.len() as u64;
                session.client_orders.insert(order.client_order_id, id);
                self.registry.insert(
                    id,
                    OrderInfo {
                        owner: session.me,
                        client_order_id: order.client_order_id,
                        instrument: order.instrument,
                        leaves: order.qty,
                    },
                );
                self.registry.prefetch(id + PREFETCH_AHEAD);
                self.push_command(order.to_command(id, account));
            }
            ClientMessage::Cancel(cancel) => {
                if let Some((id, instrument)) = self.live_order(slot, cancel.client_order_id) {
                    let request = self.request(slot, cancel.client_order_id, instrument);
                    self.push_request(
                        Command::Cancel {
                            symbol: instrument,
                            id,
                        },
                        request,
                    );
                } else {
                    self.reject_unknown_client_order(slot, cancel.client_order_id);
                }
            }
            ClientMessage::Replace(replace) => {
                if let Some((id, instrument)) = self.live_order(slot, replace.client_order_id) {
                    let request = self.request(slot, replace.client_order_id, instrument);
                    let command = Command::Replace {
                        symbol: instrument,
                        id,
                        price: replace.price,
                        qty: replace.qty,
                    };
                    self.push_request(command, request);
                } else {
                    self.reject_unknown_client_order(slot, replace.client_order_id);
                }
            }
            ClientMessage::Heartbeat => {}
            ClientMessage::Logout => self.logout(slot, LogoutReason::UserRequested),
            ClientMessage::Subscribe(sub) => {
                if !self.instruments.contains(&sub.instrument) {
                    let reject = Reject {
                        ref_seq: seq,
                        reason: SessionRejectReason::UnknownInstrument,
                    };
                    return self.send(slot, ServerMessage::Reject(reject));
                }
                if let Some(Some(session)) = self.sessions.get_mut(slot)
                    && !session.subscriptions.contains(&sub.instrument)
                {
                    session.subscriptions.push(sub.instrument);
                }
                self.send_top_of_book(slot, sub.instrument);
            }
            ClientMessage::Logon(_) => {
                let reject = Reject {
                    ref_seq: seq,
                    reason: SessionRejectReason::AlreadyLoggedOn,
                };
                self.send(slot, ServerMessage::Reject(reject));
            }
        }
    }

    /// Who sent the cancel or replace about to be pushed.
    fn request(&self, slot: usize, client_order_id: u64, instrument: u32) -> Option<OrderInfo> {
        let session = self.sessions.get(slot)?.as_ref()?;
        Some(OrderInfo {
            owner: session.me,
            client_order_id,
            instrument,
            leaves: 0,
        })
    }

    fn live_order(&self, slot: usize, client_order_id: u64) -> Option<(u64, u32)> {
        let session = self.sessions.get(slot)?.as_ref()?;
        let id = session.client_orders.get(client_order_id)?;
        let instrument = self.registry_instrument(id)?;
        Some((id, instrument))
    }

    fn registry_instrument(&self, id: u64) -> Option<u32> {
        self.registry.get(id).map(|o| o.instrument)
    }

    fn reject_unknown_client_order(&mut self, slot: usize, client_order_id: u64) {
        let rejected = Rejected {
            order: OrderRef {
                client_order_id,
                order_id: 0,
                instrument: 0,
            },
            reason: OrderRejectReason::UnknownClientOrderId,
        };
        self.send(slot, ServerMessage::Rejected(rejected));
    }

    fn push_command(&mut self, command: Command) {
        self.push_request(command, None);
    }

    fn push_request(&mut self, command: Command, request: Option<OrderInfo>) {
        self.batch.push(command);
        self.batch_requests.push(request);
        if self.batch.len() == BATCH {
            // A failure here is seen again by the turn's own publish.
            let _ = self.publish(Instant::now());
        }
    }

    /// Publishes the turn's commands. While the inbound ring is full it keeps
    /// draining replies: the output stage may be waiting for this loop to
    /// take them, and waiting here instead would close a cycle of full
    /// rings (gateway → J/M → O → gateway) and stop everything.
    fn publish(&mut self, now: Instant) -> Result<(), PipelineError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let ts = now.duration_since(self.epoch).as_nanos() as u64;
        let mut batch = std::mem::take(&mut self.batch);
        let chunk_size = self.pipeline.publisher().ring_size();
        let mut result = Ok(());
        let requests = std::mem::take(&mut self.batch_requests);
        for (chunk, chunk_requests) in batch.chunks(chunk_size).zip(requests.chunks(chunk_size)) {
            loop {
                match self.pipeline.publisher().try_publish_batch(ts, chunk) {
                    Ok(Some(last)) => {
                        self.published = last;
                        let first = last + 1 - chunk.len() as u64;
                        for (seq, request) in (first..).zip(chunk_requests) {
                            if let Some(request) = request {
                                self.requests.insert(seq, *request);
                                self.requests.prefetch(seq + PREFETCH_AHEAD);
                            }
                        }
                        break;
                    }
                    Ok(None) => {
                        self.drain_replies();
                        self.flush_dirty(Instant::now());
                        std::thread::yield_now();
                    }
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
            if result.is_err() {
                break;
            }
            self.stats.commands += chunk.len() as u64;
        }
        batch.clear();
        self.batch = batch;
        let mut requests = requests;
        requests.clear();
        self.batch_requests = requests;
        result
    }

    /// Turns released events into execution reports and market data.
    /// With J and O hosted on this thread, first runs them: at most as many
    /// events as the (empty) reply ring holds, so the bridge never waits for
    /// this thread.
    fn drain_replies(&mut self) {
        if self.pipeline.topology().placement.hosts_stages() {
            self.pipeline.poll_up_to(REPLY_RING);
        }
        let mut outputs = [Output::default(); 256];
        loop {
            let n = match self.replies.take(outputs.len() as u64) {
                Ok(mut guard) => {
                    let mut n = 0;
                    for (slot, out) in outputs.iter_mut().zip(&mut guard) {
                        *slot = *out;
                        n += 1;
                    }
                    n
                }
                Err(Polling::NoEvents) | Err(Polling::Shutdown) => 0,
            };
            if n == 0 {
                break;
            }
            // Every event looks its order up in the registry, and the
            // orders a batch touches are scattered (a fill reaches an order
            // that rested for a while): start all those loads first, so the
            // misses overlap instead of coming one after another.
            for out in &outputs[..n] {
                self.prefetch_orders(out);
            }
            // Then, with those entries (mostly) in, the client-order slots
            // that the events ending an order will remove.
            for out in &outputs[..n] {
                self.prefetch_client_orders(out);
            }
            for out in &outputs[..n] {
                self.route(out);
            }
        }
        let touched = std::mem::take(&mut self.touched);
        for &instrument in &touched {
            self.publish_top_of_book(instrument);
        }
        self.touched = touched;
        self.touched.clear();
    }

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
        }
    }

    /// Starts loading the client-order slots `out` may remove: an order
    /// that is cancelled, rejected or filled ends there.
    #[inline]
    fn prefetch_client_orders(&self, out: &Output) {
        let ending = |id: u64| {
            if let Some(info) = self.registry.get(id)
                && let Some(Some(session)) = self.sessions.get(info.owner.slot)
            {
                session.client_orders.prefetch(info.client_order_id);
            }
        };
        match out.event {
            Event::Cancelled { id, .. } | Event::Rejected { id, .. } => ending(id),
            Event::Trade { taker, maker, .. } => {
                ending(taker);
                ending(maker);
            }
            Event::Accepted { .. } | Event::Replaced { .. } => {}
        }
    }

    fn route(&mut self, out: &Output) {
        self.stats.replies += 1;
        self.route_event(out);
        if out.last {
            self.released = out.seq;
            if !self.requests.is_empty() {
                self.requests.remove(out.seq);
            }
        }
    }

    fn route_event(&mut self, out: &Output) {
        match out.event {
            Event::Accepted { id, .. } => {
                if let Some((slot, order)) = self.owner(id) {
                    self.send(slot, ServerMessage::Accepted(Accepted { order }));
                }
            }
            Event::Rejected { id, reason, .. } => {
                let reason = reason.into();
                let request = self.requests.get(out.seq).copied();
                if request.is_none() {
                    // A new order's reject ends it.
                    if let Some((slot, order)) = self.owner(id) {
                        self.send(slot, ServerMessage::Rejected(Rejected { order, reason }));
                    }
                    self.forget(id);
                } else if let Some(request) = request {
                    // A refused cancel or replace: answer whoever asked, even
                    // if the order completed meanwhile; a live order stays live.
                    let live = self.sessions.get(request.owner.slot);
                    if matches!(live, Some(Some(s)) if s.me == request.owner) {
                        let order = OrderRef {
                            client_order_id: request.client_order_id,
                            order_id: id,
                            instrument: request.instrument,
                        };
                        let slot = request.owner.slot;
                        self.send(slot, ServerMessage::Rejected(Rejected { order, reason }));
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
                self.fill(taker, price, qty);
                self.fill(maker, price, qty);
                self.market_trade(symbol, price, qty);
            }
            Event::Cancelled {
                id, qty, reason, ..
            } => {
                if let Some((slot, order)) = self.owner(id) {
                    let reason: CancelReason = reason.into();
                    self.send(
                        slot,
                        ServerMessage::Cancelled(Cancelled { order, qty, reason }),
                    );
                }
                if let Some(instrument) = self.registry_instrument(id) {
                    self.touch(instrument);
                }
                self.forget(id);
            }
            Event::Replaced { id, price, qty, .. } => {
                if let Some(info) = self.registry.get_mut(id) {
                    info.leaves = qty;
                    let instrument = info.instrument;
                    self.touch(instrument);
                }
                if let Some((slot, order)) = self.owner(id) {
                    self.send(
                        slot,
                        ServerMessage::Replaced(Replaced { order, price, qty }),
                    );
                }
            }
        }
        if let Event::Accepted { symbol, .. } = out.event {
            self.touch(symbol);
        }
    }

    fn fill(&mut self, id: u64, price: i64, qty: u64) {
        let Some(info) = self.registry.get_mut(id) else {
            return;
        };
        info.leaves = info.leaves.saturating_sub(qty);
        let leaves = info.leaves;
        if let Some((slot, order)) = self.owner(id) {
            self.send(
                slot,
                ServerMessage::Fill(Fill {
                    order,
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

    /// The live session owning order `id`, and the order's reference.
    fn owner(&self, id: u64) -> Option<(usize, OrderRef)> {
        let info = *self.registry.get(id)?;
        let session = self.sessions.get(info.owner.slot)?.as_ref()?;
        (session.me == info.owner).then_some((
            info.owner.slot,
            OrderRef {
                client_order_id: info.client_order_id,
                order_id: id,
                instrument: info.instrument,
            },
        ))
    }

    fn forget(&mut self, id: u64) {
        if let Some(info) = self.registry.remove(id)
            && let Some(Some(session)) = self.sessions.get_mut(info.owner.slot)
            && session.me == info.owner
        {
            session.client_orders.remove(info.client_order_id);
        }
    }

    fn touch(&mut self, instrument: u32) {
        if !self.touched.contains(&instrument) {
            self.touched.push(instrument);
        }
    }

    fn market_trade(&mut self, instrument: u32, price: i64, qty: u64) {
        self.touch(instrument);
        for slot in 0..self.sessions.len() {
            let subscribed =
                matches!(&self.sessions[slot], Some(s) if s.subscriptions.contains(&instrument));
            if subscribed {
                self.send(
                    slot,
                    ServerMessage::Trade(Trade {
                        instrument,
                        price,
                        qty,
                    }),
                );
            }
        }
    }

    fn top_of_book(&self, instrument: u32) -> TopOfBook {
        let best = |side| {
            let view = self.pipeline.depth(instrument, side)?;
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

    fn publish_top_of_book(&mut self, instrument: u32) {
        let subscribed = self
            .sessions
            .iter()
            .flatten()
            .any(|s| s.subscriptions.contains(&instrument));
        if !subscribed {
            return;
        }
        let top = self.top_of_book(instrument);
        for slot in 0..self.sessions.len() {
            let wants =
                matches!(&self.sessions[slot], Some(s) if s.subscriptions.contains(&instrument));
            if wants {
                self.send(slot, ServerMessage::TopOfBook(top));
            }
        }
    }

    fn send_top_of_book(&mut self, slot: usize, instrument: u32) {
        let top = self.top_of_book(instrument);
        self.send(slot, ServerMessage::TopOfBook(top));
    }

    /// Queues a message; a session whose buffer is full is closed (slow reader).
    fn send(&mut self, slot: usize, msg: ServerMessage) {
        let Some(Some(session)) = self.sessions.get_mut(slot) else {
            return;
        };
        match session.send(msg, self.now) {
            Ok(()) => {
                if !session.blocked && !self.dirty.contains(&slot) {
                    self.dirty.push(slot);
                }
            }
            Err(SlowReader) => {
                self.stats.sessions_closed_for_cause += 1;
                self.close(slot);
            }
        }
    }

    fn flush_dirty(&mut self, now: Instant) {
        let dirty = std::mem::take(&mut self.dirty);
        for &slot in &dirty {
            let Some(Some(session)) = self.sessions.get_mut(slot) else {
                continue;
            };
            match session.flush(now) {
                Ok(true) if session.closing && session.draining_since.is_none() => {
                    session.half_close(now)
                }
                Ok(_) => {}
                Err(_) => self.close(slot),
            }
        }
        self.dirty = dirty;
        self.dirty.clear();
    }

    fn logout(&mut self, slot: usize, reason: LogoutReason) {
        if !matches!(reason, LogoutReason::UserRequested | LogoutReason::Shutdown) {
            self.stats.sessions_closed_for_cause += 1;
        }
        self.send(slot, ServerMessage::Logout(Logout { reason }));
        self.close_after_flush(slot);
    }

    fn reject_logon(&mut self, slot: usize, reason: LogonRejectReason) {
        self.send(slot, ServerMessage::LogonReject(LogonReject { reason }));
        self.close_after_flush(slot);
    }

    fn close_after_flush(&mut self, slot: usize) {
        if let Some(Some(session)) = self.sessions.get_mut(slot) {
            session.closing = true;
            if !self.dirty.contains(&slot) {
                self.dirty.push(slot);
            }
        }
    }

    fn close_all(&mut self, reason: LogoutReason) {
        for slot in 0..self.sessions.len() {
            if matches!(&self.sessions[slot], Some(s) if !s.closing) {
                self.logout(slot, reason);
            }
        }
    }

    /// Drops a session. Its resting orders stay in the book (no
    /// cancel-on-disconnect); their later reports have nowhere to go.
    fn close(&mut self, slot: usize) {
        if let Some(Some(mut session)) = self.sessions.get_mut(slot).map(Option::take) {
            let _ = self.poll.registry().deregister(&mut session.stream);
            self.free.push(slot);
        }
    }

    fn check_timers(&mut self, now: Instant) {
        let heartbeat = self.limits.heartbeat_interval;
        for slot in 0..self.sessions.len() {
            let Some(Some(session)) = self.sessions.get(slot) else {
                continue;
            };
            if let Some(since) = session.draining_since {
                if now.duration_since(since) > LOGOUT_GRACE {
                    self.close(slot);
                }
                continue;
            }
            if session.closing {
                continue;
            }
            match session.phase {
                Phase::AwaitingLogon
                    if now.duration_since(session.connected_at) > self.limits.logon_timeout =>
                {
                    self.logout(slot, LogoutReason::LogonTimeout);
                }
                Phase::LoggedOn(_) if now.duration_since(session.last_received) > heartbeat * 3 => {
                    self.logout(slot, LogoutReason::HeartbeatTimeout);
                }
                Phase::LoggedOn(_) if now.duration_since(session.last_sent) >= heartbeat => {
                    self.send(slot, ServerMessage::Heartbeat);
                }
                _ => {}
            }
        }
    }
}
