//! The gateway's poll loop: one pinned thread that owns every session.
//!
//! A turn is five steps:
//!
//! 1. **poll**: wait for socket readiness (or the reply waker);
//! 2. **dispatch**: read every readable session (and those listed to be
//!    read without an event: a read buffer that filled last turn, a
//!    push-back that ended), decode its frames, let the session's rules
//!    decide on each (`session.rs`) and hand orders to order entry
//!    (`order_entry.rs`) and subscriptions to market data
//!    (`market_data.rs`). A session whose client is not reading its
//!    replies is not read (push-back: `Session::may_read`);
//! 3. **publish** the turn's commands in one batch;
//! 4. **drain** the released events into execution reports
//!    (`execution_reports.rs`) and market data;
//! 5. **flush** each session's output once (`session_table.rs`).
//!
//! Timers (logon timeout, heartbeats) are checked every `TICK`. One thread
//! owns all session state, so nothing here takes a lock.
//!
//! A cluster leader's Raft step can share the loop (`loop_guest.rs`): it
//! turns after the poll (acknowledgements in, commits out, before the
//! drain releases them) and after the drain (J's new batch to the peers);
//! while too many commands wait on its commit, the loop waits for it
//! alone instead of polling (`UNCOMMITTED`).

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use matching::Command;
use mio::net::TcpListener;
use mio::{Events, Poll, Token};
use pipeline::{Pipeline, PipelineError};

use super::accounts::{AccountRef, InUse};
use super::bridge::ReplyPoller;
use super::connection::ReadOutcome;
use super::execution_reports::{ExecutionReports, Router};
use super::logon_check::{LogonCheck, Logons};
use super::loop_guest::LoopGuest;
use super::market_data::{MarketData, SubscribeError};
use super::operator::{Controls, PendingControl};
use super::order_entry::{OrderEntry, Progress};
use super::order_status::{mass_status, order_status};
use super::registry::{OrderInfo, Registry};
use super::report_replay::{self, Job, ReportReplay};
use super::session::{LOGOUT_GRACE, Phase, Reading, Timer, Verdict, known_account};
use super::session_table::{FIRST_SESSION, SessionTable};
use super::stages::Stages;
use crate::auth::Role;
use crate::config::SessionLimits;
use crate::metrics::{LoopTotals, Metrics};
use crate::protocol::{
    ClientMessage, ControlAction, Decoded, LARGEST_FRAME, LogonRejectReason, LogoutReason,
    MassCancelAck, MassStatusEnd, Reject, ReplayStatus, ReportReplayEnd, ReportReplayRequest,
    ServerMessage, SessionRejectReason, decode_frame,
};
use idtable::IdTable;

pub const LISTENER: Token = Token(0);
pub const WAKER: Token = Token(1);
/// The loop guest's source (`loop_guest.rs`).
const GUEST: Token = Token(2);

/// How often timeouts and heartbeats are checked, and the longest idle wait.
const TICK: Duration = Duration::from_millis(50);
/// Connections over the session limit being told so at once: beyond this
/// many, more are closed without a word, so a storm of connections cannot
/// make the gateway hold a buffer for each.
const MAX_REFUSING: usize = 64;
/// Slots of the registry's direct table: lookups stay direct while the live
/// orders span fewer engine ids (commands) than this, far longer than
/// loadgen's resting orders live. Sized to stay in the L3 cache: a larger
/// table did not, and its lookups cost more (see docs/performance.md,
/// section "loadgen over TCP").
const REGISTRY_SLOTS: usize = 1 << 18;
/// Slots of the table of requests in flight. A command is in flight from
/// its publication until its last reply is drained, so about what the
/// inbound, outbound and reply rings hold (2^16 each by default) at most:
/// any window of in-flight sequences fits without collisions.
const REQUEST_SLOTS: usize = 1 << 18;
/// Events hosted O releases per turn, at most: bounds how long one turn
/// keeps the loop from its sockets.
const HOSTED_POLL: usize = 1 << 16;
/// Commands published whose reports wait on the loop guest (a cluster
/// leader's commit), beyond which the loop waits for the guest alone and
/// reads no more orders until it catches up. Without it, a leader that
/// falls behind its followers keeps taking orders at full speed, its loop
/// never sleeps, and on a machine it shares with its followers it takes
/// the CPU they need to catch up (at 500k/s on 2 vCPUs: backlogs of
/// seconds, and clients' buffers overflowing when the commit came). About
/// 4 ms of orders at 500k/s: far above what a commit has in flight when
/// it keeps up (docs/replication.md, "Measurements").
const UNCOMMITTED: u64 = 2048;

/// What the replies to one command in flight are counted as, against a
/// session's high-water mark before more of its input is read
/// (`Session::may_read`): one execution report, the largest (a `Fill`
/// frame). An order that fills against many gets more; the room above the
/// mark is for that.
const REPLY_BYTES: usize = LARGEST_FRAME;

/// Counters reported when the loop ends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoopStats {
    pub sessions_accepted: u64,
    pub commands: u64,
    pub replies: u64,
    pub sessions_closed_for_cause: u64,
    /// Logons refused `BAD_CREDENTIALS`.
    pub failed_logons: u64,
}

pub struct PollLoop {
    poll: Poll,
    listener: Option<TcpListener>,
    pipeline: Pipeline,
    stages: Stages,
    replies: ReplyPoller,
    limits: SessionLimits,
    max_sessions: usize,
    stop: Arc<AtomicBool>,
    replies_closed: Arc<AtomicBool>,
    sessions: SessionTable,
    /// Live orders by engine id: who owns each.
    registry: Registry,
    /// Cancels and replaces in flight, by their command's sequence: who
    /// asked. Their target may complete (fill, expire) before they reach
    /// the engine; the engine's reject must still reach the requester.
    /// Sequences come from the publisher's counter: an `IdTable`, like the
    /// registry.
    requests: IdTable<OrderInfo>,
    /// Operators' controls waiting for their answer (`operator.rs`).
    controls: Controls,
    entry: OrderEntry,
    reports: ExecutionReports,
    market: MarketData,
    /// Missed-report recovery, answered by a thread of its own.
    replay: ReportReplay,
    /// Logon checks against the accounts file, on a thread of their own;
    /// `None` without authentication (`Auth::Insecure`).
    logons: Option<Logons>,
    /// Where the loop's totals go once a tick, with `--metrics`.
    metrics: Option<Arc<Metrics>>,
    /// Frames decoded, for the metrics.
    frames_in: u64,
    /// Connections refused over the session limit, and how many of them
    /// the last tick's log line covered.
    refused: Refused,
    refused_logged: Refused,
    /// A cluster leader's Raft step, run on this thread (`loop_guest.rs`),
    /// and how long its last turn said the loop may sleep.
    guest: Option<Box<dyn LoopGuest>>,
    guest_due: Duration,
    /// This turn's sessions to read without a poll event
    /// (`SessionTable::take_listed`).
    to_read: Vec<usize>,
    /// The time of this loop turn.
    now: Instant,
    sessions_accepted: u64,
}

impl PollLoop {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        poll: Poll,
        listener: TcpListener,
        mut pipeline: Pipeline,
        replies: ReplyPoller,
        limits: SessionLimits,
        max_sessions: usize,
        instruments: Vec<u32>,
        stop: Arc<AtomicBool>,
        replies_closed: Arc<AtomicBool>,
        replay: ReportReplay,
        logons: Option<Logons>,
        metrics: Option<Arc<Metrics>>,
        startup: Vec<Command>,
        mut guest: Option<Box<dyn LoopGuest>>,
    ) -> io::Result<Self> {
        if let Some(guest) = &mut guest {
            guest.register(poll.registry(), GUEST)?;
        }
        let published = pipeline.durable_seq();
        let mut sessions = SessionTable::new(poll.registry().try_clone()?);
        let mut registry = Registry::with_slots(REGISTRY_SLOTS);
        let mut market = MarketData::new(instruments);
        // Every order the engine recovered goes back to its account, under
        // the client order id the journal kept: a returning client finds
        // its orders as it left them.
        for order in pipeline.take_live_orders() {
            let owner = sessions
                .accounts
                .adopt(order.account, order.client_order_id, order.id);
            registry.insert(
                order.id,
                OrderInfo {
                    owner,
                    client_order_id: order.client_order_id,
                    instrument: order.symbol,
                    buy: order.side == matching::Side::Buy,
                    rests: true,
                    price: order.price,
                    accepted: true,
                    leaves: order.leaves,
                },
            );
            market.add(order.symbol, order.side, order.price, order.leaves);
        }
        market.command_done();
        // The limits and collars the venue runs under that the journal does
        // not hold yet, sequenced before any order: the journal then holds
        // what every risk decision after them was made under
        // (docs/protocol.md, "Pre-trade risk").
        let mut entry = OrderEntry::new(published);
        for command in startup {
            entry.control(command, None);
        }
        Ok(PollLoop {
            poll,
            listener: Some(listener),
            stages: Stages::of(&pipeline),
            pipeline,
            replies,
            limits,
            max_sessions,
            stop,
            replies_closed,
            sessions,
            registry,
            requests: IdTable::with_slots(REQUEST_SLOTS),
            controls: Controls::default(),
            entry,
            reports: ExecutionReports::new(published),
            market,
            replay,
            logons,
            metrics,
            frames_in: 0,
            refused: Refused::default(),
            refused_logged: Refused::default(),
            // Registering reports what is already waiting: the first poll
            // returns with it.
            guest_due: if guest.is_some() {
                Duration::ZERO
            } else {
                Duration::MAX
            },
            guest,
            to_read: Vec::with_capacity(1024),
            now: Instant::now(),
            sessions_accepted: 0,
        })
    }

    /// Runs until `stop` is set, then drains, logs every session out, and
    /// shuts the pipeline down (journal fsynced, threads joined).
    pub fn run(mut self) -> Result<LoopStats, PipelineError> {
        let mut events = Events::with_capacity(1024);
        let mut last_tick = Instant::now();
        let mut failure = None;
        let mut last_busy = Instant::now();
        // Acquire: pairs with the Release store of whoever asks to stop.
        while !self.stop.load(Ordering::Acquire) {
            // CPU in proportion to work: after a bounded spin (the wait
            // policy's, `Stages::keep_polling`) the loop sleeps in
            // epoll_wait. Sockets wake it; so does O's waker when O has a
            // thread of its own (bridge.rs). With O hosted here, a command
            // in flight (M working on the other core) is answered only when
            // this loop polls: it arms M's doorbell first, which then rings
            // the waker when M publishes (`Pipeline::arm_wake`).
            let in_flight = self.stages.hosted() && self.reports.released < self.entry.published;
            let busy = self.stages.keep_polling(self.now.duration_since(last_busy));
            let mut armed = false;
            let lagging = self.lagging();
            let timeout = if busy || (self.sessions.any_to_read() && !lagging) {
                Duration::ZERO
            } else if in_flight {
                armed = self.pipeline.arm_wake();
                if armed { TICK } else { Duration::ZERO }
            } else {
                TICK
            }
            .min(self.guest_due);
            // 1. poll (or, while the guest is far behind, wait for it alone:
            // the sockets' readiness stays in the poll for later)
            if lagging {
                events.clear();
                if let Some(guest) = &mut self.guest {
                    self.guest_due = guest.wait(TICK);
                }
            } else if let Err(e) = self.poll.poll(&mut events, Some(timeout))
                && e.kind() != io::ErrorKind::Interrupted
            {
                failure = Some(e);
                break;
            }
            if armed {
                self.pipeline.disarm_wake();
            }
            let now = Instant::now();
            self.now = now;
            let released = self.reports.released;
            // 2. dispatch (the guest first: a majority's acknowledgement
            // releases reports this turn drains)
            let guest_woken = events.iter().any(|e| e.token() == GUEST);
            self.turn_guest(guest_woken);
            if !lagging {
                self.read_listed(now);
            }
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept(now),
                    WAKER | GUEST => {}
                    Token(t) => {
                        let slot = t - FIRST_SESSION;
                        if event.is_readable() || event.is_read_closed() {
                            self.read_session(slot, now, event.is_read_closed());
                        }
                        if event.is_writable() {
                            self.sessions.writable(slot);
                        }
                    }
                }
            }
            // 3. publish (with the cancels of sessions that ended since the
            // last turn with cancel-on-disconnect)
            self.cancel_orphans();
            if let Err(e) = self.publish() {
                self.sessions.logout_all(LogoutReason::Shutdown, now);
                self.sessions.flush(now);
                return Err(e);
            }
            // 4. drain (and deliver the report replays and logon checks
            // that are ready)
            self.drain_replies();
            self.deliver_replays();
            self.finish_logons(now);
            // The batch J just wrote goes to the peers now, not next turn.
            self.turn_guest(false);
            // 5. flush
            self.sessions.flush(now);
            if !events.is_empty() || self.reports.released != released {
                last_busy = now;
            }
            if timeout.is_zero() && self.stages.shares_core() {
                // Not sleeping, so give a neighbour on this core its turn
                // before looking again.
                std::thread::yield_now();
            }
            if now.duration_since(last_tick) >= TICK {
                last_tick = now;
                self.check_timers(now);
                self.sessions.flush(now);
                self.log_refusals();
                self.publish_metrics();
            }
        }
        if let Some(e) = failure {
            tracing::error!("poll failed: {e}; shutting down");
        }
        self.shutdown()
    }

    fn shutdown(mut self) -> Result<LoopStats, PipelineError> {
        // Stop accepting; answer everything already published; log out.
        // The orders of sessions ending now stay: the venue is stopping,
        // not the client (docs/protocol.md, "Cancel on disconnect").
        self.sessions.keep_orders_of_ending_sessions();
        if let Some(mut listener) = self.listener.take() {
            let _ = self.poll.registry().deregister(&mut listener);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.reports.released < self.entry.published && Instant::now() < deadline {
            if self.pipeline.failure().is_some() {
                break;
            }
            self.turn_guest(true);
            self.drain_replies();
            self.sessions.flush(Instant::now());
            std::thread::yield_now();
        }
        self.sessions
            .logout_all(LogoutReason::Shutdown, Instant::now());
        let grace = Instant::now() + LOGOUT_GRACE;
        while Instant::now() < grace && self.sessions.any_output() {
            let now = Instant::now();
            self.now = now;
            self.sessions.writable_all();
            self.sessions.flush(now);
            std::thread::sleep(Duration::from_millis(1));
        }
        self.replay.stop();
        if let Some(logons) = &mut self.logons {
            logons.stop();
        }
        // Release: pairs with the bridge's Acquire load; it stops waiting for us.
        self.replies_closed.store(true, Ordering::Release);
        let stats = LoopStats {
            sessions_accepted: self.sessions_accepted,
            commands: self.entry.commands,
            replies: self.reports.events,
            sessions_closed_for_cause: self.sessions.closed_for_cause,
            failed_logons: self.logons.as_ref().map_or(0, Logons::failures),
        };
        self.pipeline.shutdown()?;
        Ok(stats)
    }

    fn accept(&mut self, now: Instant) {
        let Some(listener) = &self.listener else {
            return;
        };
        // Until the listener has nothing more (WouldBlock) or fails.
        while let Ok((stream, _)) = listener.accept() {
            let _ = stream.set_nodelay(true);
            let full = self.sessions.live() >= self.max_sessions;
            if full && self.sessions.refusing() >= MAX_REFUSING {
                // Refused without a word: too many refusals under way.
                self.refused.silently += 1;
                continue;
            }
            if let Some(bytes) = self.limits.socket_send_buffer {
                let _ = socket2::SockRef::from(&stream).set_send_buffer_size(bytes);
            }
            if full {
                self.refused.told += 1;
                self.sessions.open_refused(stream, &self.limits, now);
            } else if self.sessions.open(stream, &self.limits, now).is_some() {
                self.sessions_accepted += 1;
            }
        }
    }

    /// Reads and handles what a session sent: up to a read buffer's worth
    /// a turn, to the end of the stream if `closed` (the client closed its
    /// side). Nothing while the session is pushed back (its output above
    /// the high-water mark, `Session::may_read`).
    fn read_session(&mut self, slot: usize, now: Instant, closed: bool) {
        let Some(session) = self.sessions.get_mut(slot) else {
            return;
        };
        if session.is_draining() {
            if !session.conn.drain_input() {
                self.sessions.close(slot);
            }
            return;
        }
        let in_flight = self.entry.published.saturating_sub(self.reports.released);
        let owed = usize::try_from(in_flight)
            .unwrap_or(usize::MAX)
            .saturating_mul(REPLY_BYTES);
        match session.may_read(now, owed) {
            Reading::Now => {}
            Reading::Later => return self.sessions.hold(slot),
            // Its resumption lists it to be read (`SessionTable::flush`).
            Reading::Paused => return,
        }
        // A read error closes the session like an orderly close does.
        let outcome = session.conn.fill(closed).unwrap_or(ReadOutcome::Closed);
        self.decode_frames(slot, now);
        match outcome {
            ReadOutcome::Closed => self.sessions.close(slot),
            ReadOutcome::Drained => {}
            // More may wait: read it next turn, after this turn's orders
            // are published and answered, so that the replies a session's
            // input causes are counted against its high-water mark before
            // more of it is read, and one busy session cannot hold the
            // turn from the others.
            ReadOutcome::Full => self.sessions.read_later(slot),
        }
    }

    /// Reads the sessions listed for this turn: those whose read buffer
    /// filled, those resumed after a push-back, and those held for the
    /// pipeline. To the end of the stream: a close the poll reported
    /// while they were not being read is seen only so.
    fn read_listed(&mut self, now: Instant) {
        let mut listed = std::mem::take(&mut self.to_read);
        self.sessions.take_listed(&mut listed);
        for &slot in &listed {
            self.read_session(slot, now, true);
        }
        self.to_read = listed;
    }

    fn decode_frames(&mut self, slot: usize, now: Instant) {
        loop {
            let Some(session) = self.sessions.get_mut(slot) else {
                return;
            };
            if session.is_closing() {
                session.conn.discard_input();
                return;
            }
            match decode_frame::<ClientMessage>(session.conn.input()) {
                Ok(Decoded::NeedMore { .. }) => return,
                Ok(Decoded::Message { envelope, consumed }) => {
                    session.conn.consume(consumed);
                    self.frames_in += 1;
                    self.dispatch(slot, envelope.seq, envelope.msg, now);
                }
                Err(e) if e.is_fatal() => {
                    self.sessions.logout(slot, LogoutReason::FrameTooLarge, now);
                    return;
                }
                Err(e) => {
                    session.conn.consume(e.consumed);
                    let reject = session.undecodable(e.seq, e.error.kind(), now);
                    self.sessions.send(slot, ServerMessage::Reject(reject), now);
                }
            }
        }
    }

    /// Carries out what the session's rules decide about one message.
    fn dispatch(&mut self, slot: usize, seq: u64, msg: ClientMessage, now: Instant) {
        let Some(session) = self.sessions.get_mut(slot) else {
            return;
        };
        let reject = |reason| {
            ServerMessage::Reject(Reject {
                ref_seq: seq,
                reason,
            })
        };
        match session.admit(seq, &msg, now) {
            Verdict::Process(owner) => self.process(slot, owner, seq, msg, now),
            Verdict::Logon(account) => {
                let ClientMessage::Logon(logon) = msg else {
                    return;
                };
                match &mut self.logons {
                    // No authentication: every account but 0 may log on.
                    None if !known_account(account) => {
                        self.sessions
                            .refuse_logon(slot, LogonRejectReason::UnknownAccount, now);
                    }
                    // Nobody is an operator without an accounts file.
                    None => self.log_on(slot, account, logon.cancel_on_disconnect, false, now),
                    Some(logons) => {
                        session.phase = Phase::Authenticating;
                        let check = LogonCheck {
                            me: session.me,
                            account,
                            password: logon.password,
                            cancel_on_disconnect: logon.cancel_on_disconnect,
                            addr: session.peer.map(|a| a.ip()),
                        };
                        logons.ask(check, now);
                    }
                }
            }
            Verdict::Reject(reason) => self.sessions.send(slot, reject(reason), now),
            Verdict::RejectThenLogout(reason, logout) => {
                self.sessions.send(slot, reject(reason), now);
                self.sessions.logout(slot, logout, now);
            }
            Verdict::RejectThenClose(reason) => {
                self.sessions.send(slot, reject(reason), now);
                self.sessions.close_after_flush(slot, now);
            }
            Verdict::RefuseLogon(reason) => self.sessions.refuse_logon(slot, reason, now),
        }
    }

    /// A message of a logged-on session, in sequence and within its throttle.
    fn process(
        &mut self,
        slot: usize,
        owner: AccountRef,
        seq: u64,
        msg: ClientMessage,
        now: Instant,
    ) {
        let Some(session) = self.sessions.get(slot) else {
            return;
        };
        let me = session.me;
        if !allowed(session.operator, &msg) {
            tracing::warn!(
                account = owner.account,
                operator = session.operator,
                message = msg.name(),
                "refused: not authorized"
            );
            let reject = Reject {
                ref_seq: seq,
                reason: SessionRejectReason::NotAuthorized,
            };
            return self.sessions.send(slot, ServerMessage::Reject(reject), now);
        }
        let accounts = &mut self.sessions.accounts;
        let entered = match &msg {
            ClientMessage::Halt(halt) => {
                let asked = PendingControl {
                    me,
                    ref_seq: seq,
                    action: if halt.halt {
                        ControlAction::Halt
                    } else {
                        ControlAction::Resume
                    },
                    target: halt.instrument,
                    cancelled: 0,
                };
                let command = Command::Halt {
                    symbol: halt.instrument,
                    halt: halt.halt,
                };
                tracing::info!(
                    operator = owner.account,
                    instrument = halt.instrument,
                    halt = halt.halt,
                    "halt requested"
                );
                self.entry.control(command, Some(asked));
                Ok(())
            }
            ClientMessage::KillSwitch(kill) => {
                // The block first, then (for a kill) a cancel of each live
                // order: all in this batch, in this order.
                let command = Command::Block {
                    account: kill.account,
                    block: kill.kill,
                };
                let at = self.entry.control_index();
                self.entry.control(command, None);
                let cancelled = match accounts.find(kill.account) {
                    Some(target) if kill.kill => self.entry.kill(target, accounts, &self.registry),
                    _ => 0,
                };
                self.entry.ask_at(
                    at,
                    PendingControl {
                        me,
                        ref_seq: seq,
                        action: if kill.kill {
                            ControlAction::Kill
                        } else {
                            ControlAction::Enable
                        },
                        target: kill.account,
                        cancelled,
                    },
                );
                tracing::info!(
                    operator = owner.account,
                    account = kill.account,
                    kill = kill.kill,
                    cancels = cancelled,
                    "kill switch requested"
                );
                Ok(())
            }
            ClientMessage::NewOrder(order) => self.entry.new_order(
                owner,
                order,
                accounts,
                &mut self.registry,
                &mut self.pipeline,
            ),
            ClientMessage::Cancel(cancel) => {
                self.entry.cancel(owner, cancel, accounts, &self.registry)
            }
            ClientMessage::Replace(replace) => {
                self.entry.replace(owner, replace, accounts, &self.registry)
            }
            ClientMessage::Subscribe(sub) => {
                // The snapshot follows at the end of this turn's drain
                // (`MarketData::publish_touched`).
                let refused = match self.market.subscribe(sub.instrument, sub.depth, me) {
                    Ok(()) => return,
                    Err(SubscribeError::UnknownInstrument) => {
                        SessionRejectReason::UnknownInstrument
                    }
                    Err(SubscribeError::BadDepth) => SessionRejectReason::BadDepth,
                };
                let reject = Reject {
                    ref_seq: seq,
                    reason: refused,
                };
                self.sessions.send(slot, ServerMessage::Reject(reject), now);
                return;
            }
            ClientMessage::OrderStatusRequest(req) => {
                let status =
                    order_status(seq, owner, req.client_order_id, accounts, &self.registry);
                self.sessions
                    .send(slot, ServerMessage::OrderStatus(status), now);
                return;
            }
            ClientMessage::MassStatusRequest(req) => {
                let statuses = mass_status(seq, owner, req.instrument, accounts, &self.registry);
                let end = MassStatusEnd {
                    ref_seq: seq,
                    count: statuses.len() as u32,
                };
                for status in statuses {
                    self.sessions
                        .send(slot, ServerMessage::OrderStatus(status), now);
                }
                self.sessions
                    .send(slot, ServerMessage::MassStatusEnd(end), now);
                return;
            }
            ClientMessage::ReportReplayRequest(req) => {
                return self.request_replay(slot, owner, seq, req, now);
            }
            ClientMessage::Unsubscribe(unsub) => {
                if !self.market.unsubscribe(unsub.instrument, me) {
                    let reject = Reject {
                        ref_seq: seq,
                        reason: SessionRejectReason::UnknownInstrument,
                    };
                    self.sessions.send(slot, ServerMessage::Reject(reject), now);
                }
                return;
            }
            ClientMessage::MassCancel(mass) => {
                let count = self.entry.mass_cancel(
                    owner,
                    mass.instrument,
                    mass.side,
                    accounts,
                    &self.registry,
                );
                let ack = MassCancelAck {
                    ref_seq: seq,
                    count,
                };
                self.sessions
                    .send(slot, ServerMessage::MassCancelAck(ack), now);
                Ok(())
            }
            ClientMessage::Logout => {
                return self.sessions.logout(slot, LogoutReason::UserRequested, now);
            }
            // Nothing to do: receiving it was the point.
            ClientMessage::Heartbeat => return,
            // The session answered a second logon itself (ALREADY_LOGGED_ON).
            ClientMessage::Logon(_) => return,
        };
        match entered {
            Ok(()) if self.entry.is_full() => {
                // A failure here is seen again by the turn's own publish.
                let _ = self.publish();
            }
            Ok(()) => {}
            Err(rejected) => self
                .sessions
                .send(slot, ServerMessage::Rejected(rejected), now),
        }
    }

    /// Opens the session in `slot` as `account`, unless the account has a
    /// session already.
    fn log_on(
        &mut self,
        slot: usize,
        account: u32,
        cancel_on_disconnect: bool,
        operator: bool,
        now: Instant,
    ) {
        let Some(me) = self.sessions.get(slot).map(|s| s.me) else {
            return;
        };
        match self.sessions.accounts.log_on(account, me) {
            Err(InUse) => {
                self.sessions
                    .refuse_logon(slot, LogonRejectReason::AccountInUse, now);
            }
            Ok(account) => {
                if let Some(session) = self.sessions.get_mut(slot) {
                    tracing::info!(
                        account = account.account,
                        peer = ?session.peer,
                        cancel_on_disconnect,
                        operator,
                        "logged on"
                    );
                    let ack = session.log_on(account, cancel_on_disconnect, &self.limits);
                    session.operator = operator;
                    session.replay_boundary = self.reports.next_exec_id();
                    self.sessions.send(slot, ServerMessage::LogonAck(ack), now);
                }
            }
        }
    }

    /// Carries out the logon checks the `logon-check` thread has answered,
    /// and sends the delayed ones whose time has come.
    fn finish_logons(&mut self, now: Instant) {
        let Some(logons) = &mut self.logons else {
            return;
        };
        logons.release_due(now);
        while let Some(checked) = self.logons.as_mut().and_then(|l| l.answered(now)) {
            let Some(session) = self.sessions.find(checked.me) else {
                continue;
            };
            if session.phase != Phase::Authenticating || session.is_closing() {
                continue;
            }
            let slot = checked.me.slot;
            match checked.allowed {
                Some(role) => self.log_on(
                    slot,
                    checked.account,
                    checked.cancel_on_disconnect,
                    role == Role::Operator,
                    now,
                ),
                None => {
                    self.sessions
                        .refuse_logon(slot, LogonRejectReason::BadCredentials, now);
                }
            }
        }
    }

    /// Hands a `ReportReplayRequest` to the replay thread
    /// (`report_replay.rs`); one at a time per session.
    fn request_replay(
        &mut self,
        slot: usize,
        owner: AccountRef,
        seq: u64,
        req: &ReportReplayRequest,
        now: Instant,
    ) {
        let Some(session) = self.sessions.get_mut(slot) else {
            return;
        };
        let after = (req.after_seq, req.after_index);
        if session.replay_asking {
            let busy = ReportReplayEnd {
                ref_seq: seq,
                status: ReplayStatus::Busy,
                count: 0,
                resume_seq: after.0,
                resume_index: after.1,
            };
            self.sessions
                .send(slot, ServerMessage::ReportReplayEnd(busy), now);
            return;
        }
        let job = Job {
            me: session.me,
            account: owner.account,
            ref_seq: seq,
            after,
            before: session.replay_boundary,
        };
        session.replay_asking = true;
        if let Err(job) = self.replay.send(job) {
            self.sessions.send_replay(report_replay::failed(&job));
        }
    }

    /// Queues the report replays the thread has answered to their sessions.
    fn deliver_replays(&mut self) {
        while let Some(answer) = self.replay.try_take() {
            self.sessions.send_replay(answer);
        }
    }

    /// Publishes the turn's commands. While the inbound ring is full it keeps
    /// draining replies: the output stage may be waiting for this loop to
    /// take them (see `OrderEntry::try_publish`).
    fn publish(&mut self) -> Result<(), PipelineError> {
        loop {
            match self.entry.try_publish(
                &mut self.pipeline,
                &mut self.requests,
                &mut self.controls,
            )? {
                Progress::Done => return Ok(()),
                Progress::RingFull => {
                    // In a cluster the rings drain as fast as the majority
                    // commits: the guest's step is what moves that.
                    self.turn_guest(true);
                    self.drain_replies();
                    self.sessions.flush(Instant::now());
                    std::thread::yield_now();
                }
            }
        }
    }

    /// Cancels every live order of the sessions that ended with
    /// cancel-on-disconnect (docs/protocol.md, "Cancel on disconnect"):
    /// commands like a client's, in this turn's batch.
    fn cancel_orphans(&mut self) {
        for id in self.sessions.take_orphaned() {
            if let Some(info) = self.registry.get(id) {
                self.entry.cancel_orphan(id, info.instrument);
            }
        }
    }

    /// More than `UNCOMMITTED` commands wait on the guest for their
    /// release (and the pipeline can still release them).
    fn lagging(&self) -> bool {
        self.guest.is_some()
            && self.entry.published.saturating_sub(self.reports.released) > UNCOMMITTED
            && self.pipeline.failure().is_none()
    }

    /// Runs the loop guest, if there is one (`loop_guest.rs`).
    fn turn_guest(&mut self, woken: bool) {
        if let Some(guest) = &mut self.guest {
            self.guest_due = guest.turn(woken);
        }
    }

    /// Turns released events into execution reports and market data: with
    /// J and O hosted on this thread, by running them and routing what O
    /// releases as it releases it; otherwise from the reply ring O fills.
    fn drain_replies(&mut self) {
        let mut router = Router {
            sessions: &mut self.sessions,
            registry: &mut self.registry,
            requests: &mut self.requests,
            controls: &mut self.controls,
            market: &mut self.market,
            now: self.now,
        };
        if self.stages.hosted() {
            let mut sink = self.reports.sink(&mut router);
            self.pipeline.poll_up_to_with(HOSTED_POLL, &mut sink);
        } else {
            self.reports.drain(&mut self.replies, &mut router);
        }
        self.market.publish_touched(&mut self.sessions, self.now);
    }

    /// One line a tick for the connections refused over the session limit
    /// since the last, rather than one per connection: a connection storm
    /// must not become a log storm.
    fn log_refusals(&mut self) {
        let told = self.refused.told - self.refused_logged.told;
        let silently = self.refused.silently - self.refused_logged.silently;
        if told + silently > 0 {
            tracing::warn!(
                told,
                without_a_word = silently,
                limit = self.max_sessions,
                "connections refused over the session limit (SESSION_LIMIT, or closed \
                 unanswered while {MAX_REFUSING} refusals were under way)"
            );
            self.refused_logged = self.refused;
        }
    }

    /// Hands the loop's totals to the metrics (once a tick, `metrics.rs`).
    fn publish_metrics(&self) {
        let Some(metrics) = &self.metrics else {
            return;
        };
        let mut sessions = [0i64; 5];
        for slot in 0..self.sessions.slots() {
            if let Some(s) = self.sessions.get(slot) {
                let state = match s.phase {
                    _ if s.is_closing() => 3,
                    _ if s.is_paused() => 4,
                    Phase::AwaitingLogon => 0,
                    Phase::Authenticating => 1,
                    Phase::LoggedOn(_) => 2,
                };
                sessions[state] += 1;
            }
        }
        let sent = &self.sessions.sent;
        metrics.publish(&LoopTotals {
            commands: self.entry.commands,
            events: self.reports.events,
            frames_in: self.frames_in,
            frames_out: sent.frames,
            failed_logons: self.logons.as_ref().map_or(0, Logons::failures),
            closed_for_cause: self.sessions.closed_for_cause,
            report_replays: sent.replays,
            order_rejects: sent.order_rejects.clone(),
            session_rejects: sent.session_rejects.clone(),
            logon_rejects: sent.logon_rejects.clone(),
            sessions,
            published_seq: self.entry.published,
            released_seq: self.reports.released,
            durable_seq: self.pipeline.durable_seq(),
            refused_told: self.refused.told,
            refused_silently: self.refused.silently,
            controls: self.controls.applied,
        });
    }

    fn check_timers(&mut self, now: Instant) {
        for slot in 0..self.sessions.slots() {
            let Some(session) = self.sessions.get(slot) else {
                continue;
            };
            match session.timer(now, &self.limits) {
                None => {}
                Some(Timer::Close) => self.sessions.close(slot),
                Some(Timer::Logout(reason)) => self.sessions.logout(slot, reason, now),
                Some(Timer::Heartbeat) => self.sessions.send(slot, ServerMessage::Heartbeat, now),
            }
        }
    }
}

/// Connections refused because the gateway had as many sessions as it
/// allows: told so (`LogonReject { SESSION_LIMIT }`), or closed without a
/// word while `MAX_REFUSING` refusals were already under way.
#[derive(Debug, Clone, Copy, Default)]
struct Refused {
    told: u64,
    silently: u64,
}

/// Whether a session of this role may send `msg`: operators send controls
/// and no order business; traders the reverse. Both may heartbeat, log
/// out and subscribe to market data.
fn allowed(operator: bool, msg: &ClientMessage) -> bool {
    match msg {
        ClientMessage::Halt(_) | ClientMessage::KillSwitch(_) => operator,
        ClientMessage::NewOrder(_)
        | ClientMessage::Cancel(_)
        | ClientMessage::Replace(_)
        | ClientMessage::MassCancel(_)
        | ClientMessage::OrderStatusRequest(_)
        | ClientMessage::MassStatusRequest(_)
        | ClientMessage::ReportReplayRequest(_) => !operator,
        ClientMessage::Logon(_)
        | ClientMessage::Heartbeat
        | ClientMessage::Logout
        | ClientMessage::Subscribe(_)
        | ClientMessage::Unsubscribe(_) => true,
    }
}
