//! Every session of the gateway, by slot, and the ones with output to write.
//!
//! Sessions live in a table of slots that are reused; a slot's generation
//! tells a session apart from an earlier one in the same slot, so an order
//! or a subscription of a closed session never reaches the next one
//! ([`SessionRef`]). Sending queues bytes on the session and lists it for
//! this turn's flush; the list is written once per turn, one `write` per
//! session, however many messages it got.
//!
//! This file carries out what the session rules (`session.rs`) decide:
//! sending, logging out, closing. It is separate from the poll loop so that
//! order entry, execution reports and market data can all send through it
//! without reaching into each other.

use std::time::Instant;

use mio::net::TcpStream;
use mio::{Interest, Token};

use super::accounts::Accounts;
use super::connection::SlowReader;
use super::registry::SessionRef;
use super::report_replay::Answer;
use super::session::{Phase, Session};
use crate::config::SessionLimits;
use crate::protocol::{
    LogonReject, LogonRejectReason, Logout, LogoutReason, OrderRejectReason, ServerMessage,
    SessionRejectReason, WireCode,
};

/// The poll token of the session in slot 0; tokens below are the
/// listener's, the waker's and the loop guest's (`poll_loop.rs`).
pub const FIRST_SESSION: usize = 3;

#[derive(Debug)]
pub struct SessionTable {
    slots: Vec<Option<Session>>,
    free: Vec<usize>,
    generation: u64,
    /// Slots with output to write this turn (each listed once: see
    /// `Connection::queued`).
    to_flush: Vec<usize>,
    /// Slots whose input is to be read next turn without a poll event:
    /// their read buffer filled, or they resumed after a push-back. The
    /// loop does not sleep while there are any.
    to_read: Vec<usize>,
    /// Slots whose input waits for the pipeline to answer more of what is
    /// in flight (`Reading::Later`): tried again each turn, but nothing to
    /// stay awake for (the replies wake the loop).
    held: Vec<usize>,
    registry: mio::Registry,
    /// Connections open only to be refused (`open_refused`).
    refused: usize,
    /// Sessions ended by the gateway for a cause (not a user logout or shutdown).
    pub closed_for_cause: u64,
    /// What was sent, counted for the metrics (`metrics.rs`).
    pub sent: SentCounts,
    /// Live orders of sessions that ended with cancel-on-disconnect, for
    /// the poll loop to cancel (`take_orphaned`).
    orphaned: Vec<u64>,
    /// Set at shutdown: ending sessions keep their orders.
    keep_orders: bool,
    /// Every account with a session or a live order: what a session's end
    /// leaves behind (`close`).
    pub accounts: Accounts,
}

impl SessionTable {
    pub fn new(registry: mio::Registry) -> Self {
        SessionTable {
            slots: Vec::new(),
            free: Vec::new(),
            generation: 0,
            to_flush: Vec::with_capacity(1024),
            to_read: Vec::with_capacity(1024),
            held: Vec::with_capacity(1024),
            registry,
            refused: 0,
            closed_for_cause: 0,
            sent: SentCounts::default(),
            orphaned: Vec::new(),
            keep_orders: false,
            accounts: Accounts::default(),
        }
    }

    /// Sessions open now, not counting connections being refused.
    pub fn live(&self) -> usize {
        self.slots.len() - self.free.len() - self.refused
    }

    /// Connections open only to be refused.
    pub fn refusing(&self) -> usize {
        self.refused
    }

    /// Slots in the table, open or free: sessions are `0..slots()`.
    pub fn slots(&self) -> usize {
        self.slots.len()
    }

    #[inline]
    pub fn get(&self, slot: usize) -> Option<&Session> {
        self.slots.get(slot)?.as_ref()
    }

    #[inline]
    pub fn get_mut(&mut self, slot: usize) -> Option<&mut Session> {
        self.slots.get_mut(slot)?.as_mut()
    }

    /// The session `me`, if it is still open (not a later one in its slot).
    #[inline]
    pub fn find(&self, me: SessionRef) -> Option<&Session> {
        self.get(me.slot).filter(|s| s.me == me)
    }

    /// Takes a new connection into a free slot and registers it with the
    /// poll; `None` if it could not be registered (it is then dropped).
    pub fn open(
        &mut self,
        mut stream: TcpStream,
        limits: &SessionLimits,
        now: Instant,
    ) -> Option<SessionRef> {
        let slot = self.free.pop().unwrap_or_else(|| {
            self.slots.push(None);
            self.slots.len() - 1
        });
        let token = Token(slot + FIRST_SESSION);
        if self
            .registry
            .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
            .is_err()
        {
            self.free.push(slot);
            return None;
        }
        self.generation += 1;
        let me = SessionRef {
            slot,
            generation: self.generation,
        };
        self.slots[slot] = Some(Session::new(stream, me, limits, now));
        Some(me)
    }

    /// A connection over the session limit: it is told
    /// `LogonReject { SESSION_LIMIT }` at once, and closed once that is
    /// written. It holds a slot meanwhile, but does not count as a session.
    pub fn open_refused(&mut self, stream: TcpStream, limits: &SessionLimits, now: Instant) {
        if let Some(me) = self.open(stream, limits, now)
            && let Some(session) = self.get_mut(me.slot)
        {
            session.refused = true;
            self.refused += 1;
            self.refuse_logon(me.slot, LogonRejectReason::SessionLimit, now);
        }
    }

    /// Queues a message. Nothing is sent after a session's last message
    /// (its Logout). A session whose buffer is full is a slow reader: it
    /// gets `Logout { SLOW_READER }` after what it has queued, and is
    /// closed once that is written or after the logout grace.
    #[inline]
    pub fn send(&mut self, slot: usize, msg: ServerMessage, now: Instant) {
        let Some(session) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        if session.is_closing() {
            return;
        }
        self.sent.count(&msg);
        match session.conn.send(msg, now) {
            Ok(()) => {
                if !session.conn.blocked {
                    self.queue(slot);
                }
            }
            Err(SlowReader) => {
                let reason = LogoutReason::SlowReader;
                tracing::warn!(
                    account = session.account(),
                    peer = ?session.peer,
                    "closing a slow reader: its outbound buffer is full"
                );
                session
                    .conn
                    .send_last(ServerMessage::Logout(Logout { reason }));
                self.closed_for_cause += 1;
                self.close_after_flush(slot, now);
            }
        }
    }

    /// Queues a report replay's answer (`report_replay.rs`) to its session,
    /// if that is still open.
    #[cold]
    pub fn send_replay(&mut self, answer: Answer) {
        let slot = answer.me.slot;
        let Some(session) = self
            .slots
            .get_mut(slot)
            .and_then(Option::as_mut)
            .filter(|s| s.me == answer.me)
        else {
            return;
        };
        session.replay_asking = false;
        if session.is_closing() {
            return;
        }
        self.sent.frames += answer.reports.len() as u64 + 1;
        self.sent.replays += 1;
        let end = ServerMessage::ReportReplayEnd(answer.end);
        session.conn.send_replay(&answer.reports, end);
        if !session.conn.blocked {
            self.queue(slot);
        }
    }

    /// Lists the session for this turn's flush.
    #[inline]
    fn queue(&mut self, slot: usize) {
        if let Some(session) = self.get_mut(slot)
            && !session.conn.queued
        {
            session.conn.queued = true;
            self.to_flush.push(slot);
        }
    }

    /// The socket can take more: flush the session this turn.
    pub fn writable(&mut self, slot: usize) {
        if let Some(session) = self.get_mut(slot) {
            session.conn.blocked = false;
            self.queue(slot);
        }
    }

    /// Lists every session for the next flush (shutdown).
    pub fn writable_all(&mut self) {
        for slot in 0..self.slots.len() {
            self.writable(slot);
        }
    }

    /// `true` while some session still has output to write.
    pub fn any_output(&self) -> bool {
        self.slots.iter().flatten().any(|s| s.conn.has_output())
    }

    /// Writes every listed session's output: one `write` each.
    pub fn flush(&mut self, now: Instant) {
        let to_flush = std::mem::take(&mut self.to_flush);
        for &slot in &to_flush {
            let Some(session) = self.get_mut(slot) else {
                continue;
            };
            if !session.conn.queued {
                // Listed for a session since closed; a new one in the slot
                // is listed again if it has output.
                continue;
            }
            session.conn.queued = false;
            match session.conn.flush(now) {
                Ok(true) => session.written(now),
                Ok(false) => {}
                Err(_) => {
                    self.close(slot);
                    continue;
                }
            }
            if session.resume(now) {
                self.read_later(slot);
            }
        }
        self.to_flush = to_flush;
        self.to_flush.clear();
    }

    /// Lists the session to be read next turn without a poll event.
    pub fn read_later(&mut self, slot: usize) {
        if let Some(session) = self.get_mut(slot)
            && !session.listed
        {
            session.listed = true;
            self.to_read.push(slot);
        }
    }

    /// Lists the session to be read when the pipeline has answered more
    /// (tried each turn).
    pub fn hold(&mut self, slot: usize) {
        if let Some(session) = self.get_mut(slot)
            && !session.listed
        {
            session.listed = true;
            self.held.push(slot);
        }
    }

    /// `true` while some session is listed to be read next turn
    /// (`read_later`): the loop must not sleep.
    pub fn any_to_read(&self) -> bool {
        !self.to_read.is_empty()
    }

    /// Moves the listed sessions, both lists, into `out` (emptied first),
    /// and unlists them: reading them may list them again.
    pub fn take_listed(&mut self, out: &mut Vec<usize>) {
        out.clear();
        out.append(&mut self.to_read);
        out.append(&mut self.held);
        for &slot in out.iter() {
            if let Some(session) = self.get_mut(slot) {
                session.listed = false;
            }
        }
    }

    /// Ends the session with `Logout { reason }`, closing it once written.
    pub fn logout(&mut self, slot: usize, reason: LogoutReason, now: Instant) {
        let (account, peer) = self
            .get(slot)
            .map_or((None, None), |s| (s.account(), s.peer));
        if matches!(reason, LogoutReason::UserRequested | LogoutReason::Shutdown) {
            tracing::info!(account, peer = ?peer, reason = ?reason, "logout");
        } else {
            self.closed_for_cause += 1;
            tracing::warn!(account, peer = ?peer, reason = ?reason, "logged out for cause");
        }
        self.send_last(slot, ServerMessage::Logout(Logout { reason }));
        self.close_after_flush(slot, now);
    }

    /// Queues a session's last message (its Logout, its LogonReject), over
    /// the buffer's limit if it must: the session is ending for its own
    /// reason, which the client is told, not turned into a slow reader's
    /// end (nor counted twice).
    fn send_last(&mut self, slot: usize, msg: ServerMessage) {
        let Some(session) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        if session.is_closing() {
            return;
        }
        self.sent.count(&msg);
        session.conn.send_last(msg);
        if !session.conn.blocked {
            self.queue(slot);
        }
    }

    /// Refuses a logon with `reason`, closing once the answer is written.
    pub fn refuse_logon(&mut self, slot: usize, reason: LogonRejectReason, now: Instant) {
        // Over the session limit, the loop logs the refusals of a tick in
        // one line (`PollLoop::log_refusals`).
        if reason != LogonRejectReason::SessionLimit {
            let peer = self.get(slot).and_then(|s| s.peer);
            tracing::warn!(peer = ?peer, reason = ?reason, "logon refused");
        }
        self.send_last(slot, ServerMessage::LogonReject(LogonReject { reason }));
        self.close_after_flush(slot, now);
    }

    /// Closes the session once what it has queued is written.
    pub fn close_after_flush(&mut self, slot: usize, now: Instant) {
        if let Some(session) = self.get_mut(slot) {
            session.end(now);
            self.queue(slot);
        }
    }

    /// The engine ids of live orders whose sessions ended with
    /// cancel-on-disconnect since the last call.
    pub fn take_orphaned(&mut self) -> std::vec::Drain<'_, u64> {
        self.orphaned.drain(..)
    }

    /// From now on sessions that end keep their orders (a gateway shutdown).
    pub fn keep_orders_of_ending_sessions(&mut self) {
        self.keep_orders = true;
    }

    /// Logs every session out that is not already ending.
    pub fn logout_all(&mut self, reason: LogoutReason, now: Instant) {
        for slot in 0..self.slots.len() {
            if matches!(self.get(slot), Some(s) if !s.is_closing()) {
                self.logout(slot, reason, now);
            }
        }
    }

    /// Drops a session; its account is free for another. With
    /// cancel-on-disconnect the account's live orders are listed for the
    /// poll loop to cancel (`take_orphaned`); without, they stay in the
    /// book, still the account's: its next session can cancel them, and
    /// receives their reports.
    pub fn close(&mut self, slot: usize) {
        if let Some(mut session) = self.slots.get_mut(slot).and_then(Option::take) {
            if let Phase::LoggedOn(account) = session.phase {
                let cancel = session.cancel_on_disconnect && !self.keep_orders;
                let before = self.orphaned.len();
                self.accounts
                    .log_off(account, session.me, cancel, &mut self.orphaned);
                tracing::info!(
                    account = account.account,
                    peer = ?session.peer,
                    cancel_on_disconnect = cancel,
                    orders_to_cancel = self.orphaned.len() - before,
                    "session ended"
                );
            }
            let _ = self.registry.deregister(&mut session.conn.stream);
            self.free.push(slot);
            if session.refused {
                self.refused -= 1;
            }
        }
    }
}

/// Frames sent and refusals by reason: plain counters the loop owns,
/// handed to the metrics once a tick.
#[derive(Debug)]
pub struct SentCounts {
    pub frames: u64,
    pub replays: u64,
    pub order_rejects: Vec<u64>,
    pub session_rejects: Vec<u64>,
    pub logon_rejects: Vec<u64>,
}

impl Default for SentCounts {
    fn default() -> Self {
        SentCounts {
            frames: 0,
            replays: 0,
            order_rejects: vec![0; OrderRejectReason::ALL.len()],
            session_rejects: vec![0; SessionRejectReason::ALL.len()],
            logon_rejects: vec![0; LogonRejectReason::ALL.len()],
        }
    }
}

impl SentCounts {
    #[inline]
    fn count(&mut self, msg: &ServerMessage) {
        self.frames += 1;
        let (counts, code) = match msg {
            ServerMessage::Rejected(r) => (&mut self.order_rejects, r.reason.code()),
            ServerMessage::Reject(r) => (&mut self.session_rejects, r.reason.code()),
            ServerMessage::LogonReject(r) => (&mut self.logon_rejects, r.reason.code()),
            _ => return,
        };
        if let Some(n) = counts.get_mut(code as usize) {
            *n += 1;
        }
    }
}
