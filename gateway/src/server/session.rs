//! The session protocol: logon, sequence numbers, throttle, heartbeats and
//! logout (docs/protocol.md, "Session rules").
//!
//! A [`Session`] is one client connection's state under those rules. Its
//! methods take what arrived (a frame, the time) and return a decision, a
//! plain value such as [`Verdict`] or [`Timer`], which the poll loop carries
//! out: sending, closing, handing an order on. They do no I/O themselves, so
//! every rule of the document is in this file and can be read in one place;
//! the socket and its buffers are `connection.rs`.
//!
//! A session speaks for an account; the account, not the session, owns
//! the live orders (`accounts.rs`).

use std::time::{Duration, Instant};

use mio::net::TcpStream;

use super::accounts::AccountRef;
use super::connection::Connection;
use super::registry::SessionRef;
use super::throttle::{Pace, Throttle};
use crate::config::SessionLimits;
use crate::protocol::{
    ClientMessage, DecodeErrorKind, LogonAck, LogonRejectReason, LogoutReason, Reject, SeqCheck,
    SeqTracker, SessionRejectReason,
};

/// How long a session that is ending may take to write its last messages,
/// and then to close its side after our FIN, before it is dropped.
pub const LOGOUT_GRACE: Duration = Duration::from_millis(500);

/// Heartbeat intervals without a message from the client before the
/// gateway gives up on it ("several intervals" in docs/protocol.md).
const MISSED_HEARTBEATS: u32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Connected; only `Logon` is acceptable.
    AwaitingLogon,
    /// Its `Logon` is being checked (`logon_check.rs`); nothing else is
    /// acceptable until the answer.
    Authenticating,
    /// Logged on as this account (its entry in the gateway's account table).
    LoggedOn(AccountRef),
}

/// What the loop does with one decoded frame. Every refusal names its
/// reason; the frame's seq is the `ref_seq` of any `Reject`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Act on the message: the session is logged on as this account, the
    /// frame is in sequence and within the throttle.
    Process(AccountRef),
    /// A well-formed `Logon` for this account: the loop checks what only it
    /// can see (other sessions), then calls [`Session::log_on`] or refuses.
    Logon(u32),
    /// Answer `Reject { reason }`; the session goes on.
    Reject(SessionRejectReason),
    /// Answer `Reject { reason }`, then `Logout { logout }`, and close.
    RejectThenLogout(SessionRejectReason, LogoutReason),
    /// Answer `Reject { reason }` and close: there is no session to log out.
    RejectThenClose(SessionRejectReason),
    /// Answer `LogonReject { reason }` and close.
    RefuseLogon(LogonRejectReason),
}

/// Whether to read a session's input (see [`Session::may_read`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    Now,
    /// After the pipeline has answered more of what is in flight.
    Later,
    /// Not until the client has read its output down (`Session::resume`).
    Paused,
}

/// What a session's clock asks for (see [`Session::timer`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// The session had its grace to finish: drop the connection.
    Close,
    /// End the session with `Logout { reason }`.
    Logout(LogoutReason),
    /// Nothing was sent for an interval: send a `Heartbeat`.
    Heartbeat,
}

#[derive(Debug)]
pub struct Session {
    pub conn: Connection,
    pub me: SessionRef,
    /// The client's address (for logs and the failed-logon count), read
    /// once when the connection was accepted.
    pub peer: Option<std::net::SocketAddr>,
    pub phase: Phase,
    inbound: SeqTracker,
    throttle: Throttle,
    connected_at: Instant,
    last_received: Instant,
    /// Since when the session has been ending: its last message (a Logout,
    /// a LogonReject) is queued, nothing more is sent, and it closes once
    /// that is written, or after `LOGOUT_GRACE` if the client does not take it.
    closing_since: Option<Instant>,
    /// Opened only to be told `LogonReject { SESSION_LIMIT }`: not counted
    /// as a session.
    pub refused: bool,
    /// Asked for at logon: its live orders are cancelled when it ends
    /// (docs/protocol.md, "Cancel on disconnect"; `SessionTable::close`).
    pub cancel_on_disconnect: bool,
    /// The execution id of the first report routed after this session
    /// logged on: reports before it are history (a `ReportReplayRequest`
    /// recomputes them), reports from it on come live. The two never
    /// overlap.
    pub replay_boundary: (u64, u32),
    /// A `ReportReplayRequest` of this session is with the replay thread.
    pub replay_asking: bool,
    /// Logged on as an operator account: may send `Halt` and `KillSwitch`,
    /// and no order messages (docs/protocol.md, "Operator controls").
    pub operator: bool,
    /// Since when the session has been half-closed (our FIN sent after the
    /// Logout), reading and discarding until the client closes too. Closing
    /// at once would make the kernel answer the client's in-flight data with
    /// a reset, which can destroy the Logout before the client reads it.
    draining_since: Option<Instant>,
    /// Since when the gateway has not been reading this session's input:
    /// its output went above the high-water mark (push-back,
    /// docs/protocol.md, "Slow readers"). `None` while it is read.
    paused_since: Option<Instant>,
    /// In one of the session table's lists of sessions to read without a
    /// poll event (`SessionTable::read_later`, `hold`): a flag here, so
    /// that listing never has to search a list.
    pub listed: bool,
}

impl Session {
    pub fn new(stream: TcpStream, me: SessionRef, limits: &SessionLimits, now: Instant) -> Self {
        Session {
            peer: stream.peer_addr().ok(),
            conn: Connection::new(stream, limits.outbound_buffer_bytes, now),
            me,
            phase: Phase::AwaitingLogon,
            inbound: SeqTracker::new(),
            throttle: Throttle::new(limits.max_msgs_per_sec, now),
            connected_at: now,
            last_received: now,
            closing_since: None,
            refused: false,
            cancel_on_disconnect: false,
            replay_boundary: (0, 0),
            replay_asking: false,
            operator: false,
            draining_since: None,
            paused_since: None,
            listed: false,
        }
    }

    /// Decides what to do with a decoded frame: throttle, logon state and
    /// sequence number, in that order.
    #[inline]
    pub fn admit(&mut self, seq: u64, msg: &ClientMessage, now: Instant) -> Verdict {
        self.last_received = now;
        match self.throttle.take(now) {
            Pace::Within => {}
            // Refused unprocessed; its seq is still used (when it is the
            // one expected: a gap shows on the next frame).
            pace => {
                self.use_seq(seq);
                return match pace {
                    Pace::Flooding => Verdict::RejectThenLogout(
                        SessionRejectReason::Throttled,
                        LogoutReason::Throttled,
                    ),
                    _ => Verdict::Reject(SessionRejectReason::Throttled),
                };
            }
        }
        match self.phase {
            Phase::AwaitingLogon => match msg {
                ClientMessage::Logon(logon) => match self.inbound.check(seq) {
                    SeqCheck::Ok => Verdict::Logon(logon.account),
                    _ => Verdict::RefuseLogon(LogonRejectReason::BadSequence),
                },
                _ => Verdict::RejectThenClose(SessionRejectReason::NotLoggedOn),
            },
            Phase::Authenticating => Verdict::RejectThenClose(SessionRejectReason::NotLoggedOn),
            Phase::LoggedOn(account) => match self.inbound.check(seq) {
                SeqCheck::Ok => match msg {
                    ClientMessage::Logon(_) => {
                        Verdict::Reject(SessionRejectReason::AlreadyLoggedOn)
                    }
                    _ => Verdict::Process(account),
                },
                SeqCheck::Duplicate { .. } => Verdict::Reject(SessionRejectReason::SeqDuplicate),
                SeqCheck::Gap { .. } => {
                    Verdict::RejectThenLogout(SessionRejectReason::SeqGap, LogoutReason::SeqGap)
                }
            },
        }
    }

    /// The `Reject` for a frame that did not decode. Its seq, if the payload
    /// held one, is used up when it is the one expected.
    pub fn undecodable(&mut self, seq: Option<u64>, kind: DecodeErrorKind, now: Instant) -> Reject {
        self.last_received = now;
        if let Some(seq) = seq {
            self.use_seq(seq);
        }
        Reject {
            ref_seq: seq.unwrap_or(0),
            reason: SessionRejectReason::DecodeFailed(kind),
        }
    }

    /// Counts `seq` as used by a frame that is refused unprocessed, if it is
    /// the one expected.
    fn use_seq(&mut self, seq: u64) {
        if seq == self.inbound.expected() {
            self.inbound.check(seq);
        }
    }

    /// Opens the session for `account`; the answer to send.
    pub fn log_on(
        &mut self,
        account: AccountRef,
        cancel_on_disconnect: bool,
        limits: &SessionLimits,
    ) -> LogonAck {
        self.phase = Phase::LoggedOn(account);
        self.cancel_on_disconnect = cancel_on_disconnect;
        LogonAck {
            account: account.account,
            heartbeat_interval_ms: limits.heartbeat_interval.as_millis() as u32,
            max_msgs_per_sec: limits.max_msgs_per_sec,
        }
    }

    /// What the clock asks of this session now, if anything.
    pub fn timer(&self, now: Instant, limits: &SessionLimits) -> Option<Timer> {
        if let Some(since) = self.draining_since {
            return (now.duration_since(since) > LOGOUT_GRACE).then_some(Timer::Close);
        }
        if let Some(since) = self.closing_since {
            // Ending, but the client is not taking its last messages.
            return (now.duration_since(since) > LOGOUT_GRACE).then_some(Timer::Close);
        }
        let heartbeat = limits.heartbeat_interval;
        if let Some(since) = self.paused_since {
            // Pushed back, and the client has taken none of its output for
            // a heartbeat interval: it is not reading. (Its silence is not
            // counted meanwhile: the gateway is not reading it.)
            let stalled = since.max(self.conn.last_sent);
            return (now.duration_since(stalled) > heartbeat)
                .then_some(Timer::Logout(LogoutReason::SlowReader));
        }
        match self.phase {
            Phase::AwaitingLogon
                if now.duration_since(self.connected_at) > limits.logon_timeout =>
            {
                Some(Timer::Logout(LogoutReason::LogonTimeout))
            }
            Phase::LoggedOn(_)
                if now.duration_since(self.last_received) > heartbeat * MISSED_HEARTBEATS =>
            {
                Some(Timer::Logout(LogoutReason::HeartbeatTimeout))
            }
            Phase::LoggedOn(_) if now.duration_since(self.conn.last_sent) >= heartbeat => {
                Some(Timer::Heartbeat)
            }
            _ => None,
        }
    }

    /// The account the session is logged on as, if it is.
    pub fn account(&self) -> Option<u32> {
        match self.phase {
            Phase::LoggedOn(account) => Some(account.account),
            _ => None,
        }
    }

    /// The session is ending: once its output is written, it closes.
    pub fn end(&mut self, now: Instant) {
        self.closing_since.get_or_insert(now);
    }

    /// `true` once the session is ending: its input is discarded.
    pub fn is_closing(&self) -> bool {
        self.closing_since.is_some()
    }

    /// `true` after our FIN: input is read only to see the client close.
    pub fn is_draining(&self) -> bool {
        self.draining_since.is_some()
    }

    /// Whether to read the session's input now, given `owed`: the bytes of
    /// the replies to every command in flight, any of which may be this
    /// session's. Not while its output is above the high-water mark: the
    /// gateway stops reading a client that does not read its replies (the
    /// kernel's buffers then fill and TCP stops the client sending),
    /// rather than queue replies it cannot hold; paused from here until
    /// `resume` finds the output drained. And not yet while the replies
    /// owed would take it there: its input waits for the pipeline to
    /// answer what it has, not for the client.
    #[inline]
    pub fn may_read(&mut self, now: Instant, owed: usize) -> Reading {
        if self.paused_since.is_none() && self.conn.above_high_water(0) {
            self.paused_since = Some(now);
        }
        if self.paused_since.is_some() {
            Reading::Paused
        } else if self.conn.above_high_water(owed) {
            Reading::Later
        } else {
            Reading::Now
        }
    }

    /// Pushed back: its input is not read until its client reads its
    /// output down (`may_read`).
    pub fn is_paused(&self) -> bool {
        self.paused_since.is_some()
    }

    /// After a flush: a paused session whose client has read its output
    /// down to the low-water mark is read again. `true` if it was paused
    /// and is not any more: its input must then be read without waiting
    /// for a poll event (readiness is edge-triggered, and the edge came
    /// while it was paused). The pause does not count as the client's
    /// silence.
    #[inline]
    pub fn resume(&mut self, now: Instant) -> bool {
        match self.paused_since {
            Some(since) if self.conn.at_low_water() => {
                self.paused_since = None;
                self.last_received += now.saturating_duration_since(since);
                true
            }
            _ => false,
        }
    }

    /// After a flush that wrote everything: an ending session sends its FIN
    /// and waits for the client's.
    pub fn written(&mut self, now: Instant) {
        if self.closing_since.is_some() && self.draining_since.is_none() {
            self.conn.half_close();
            self.draining_since = Some(now);
        }
    }
}

/// Whether a gateway without authentication (`Auth::Insecure`) takes
/// `account`: it keeps no list of accounts, so every account is known but
/// 0, which is no account (the engine's empty order slot carries it).
pub fn known_account(account: u32) -> bool {
    account != 0
}
