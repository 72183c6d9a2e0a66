//! The TCP transport: every session on one thread, over real sockets.
//!
//! All sessions share one mio poll and one thread, which both sends and
//! receives. On a 2-core host that is the most loadgen can take without
//! taking cores from the gateway and the engine: one thread that sleeps in
//! `epoll_wait` whenever it has nothing to do.

use std::net::SocketAddr;
use std::time::Duration;

use gateway::protocol::{self, ClientMessage, ServerMessage};
use mio::{Interest, Token};

use crate::driver::Transport;
use crate::error::RunError;
use crate::flow::request::Action;
use crate::measure::clock::Clock;
use crate::transport::credentials::Credentials;
use crate::transport::exec::Exec;
use crate::transport::session::{Session, SessionError};
use crate::transport::wait::{Idle, Waiter};

/// How many heartbeat intervals of silence from the gateway mean it is gone.
const SILENT_INTERVALS: u64 = 3;
/// How long close waits for the gateway to answer the Logouts.
const LOGOUT_WAIT: Duration = Duration::from_secs(2);

/// The sessions and their poll.
#[derive(Debug)]
pub struct TcpTransport {
    sessions: Vec<Session>,
    waiter: Waiter,
    /// Sessions the poll said are readable since they were last read.
    ready: Vec<bool>,
    /// Sessions whose gateway side the poll said is closed: read to the end.
    peer_closed: Vec<bool>,
    last_recv_ns: Vec<u64>,
    last_send_ns: Vec<u64>,
    /// Session-level rejects by reason (throttled, sequence...), a loadgen or
    /// gateway problem worth reporting.
    session_rejects: Vec<(String, u64)>,
}

impl TcpTransport {
    /// Connects and logs on `sessions` sessions to `addr`, for accounts
    /// `first_account`, `first_account + 1`, ..., with their passwords from
    /// `credentials`.
    pub fn connect(
        addr: SocketAddr,
        sessions: u16,
        first_account: u32,
        credentials: &Credentials,
        idle: Idle,
        clock: &Clock,
    ) -> Result<TcpTransport, RunError> {
        let waiter = Waiter::new(idle).map_err(RunError::Poll)?;
        let mut list = Vec::with_capacity(usize::from(sessions));
        for index in 0..sessions {
            let account = first_account.saturating_add(u32::from(index));
            let password = credentials.field(account);
            let mut session =
                Session::connect(index, addr, account, password, Duration::from_secs(5))?;
            waiter
                .registry()
                .register(
                    session.stream(),
                    Token(usize::from(index)),
                    Interest::READABLE,
                )
                .map_err(RunError::Poll)?;
            list.push(session);
        }
        let now = clock.now_ns();
        let n = list.len();
        Ok(TcpTransport {
            sessions: list,
            waiter,
            ready: vec![true; n],
            peer_closed: vec![false; n],
            last_recv_ns: vec![now; n],
            last_send_ns: vec![now; n],
            session_rejects: Vec::new(),
        })
    }

    /// The throttle the gateway granted (per session, messages/s; 0: none).
    pub fn throttle(&self) -> u32 {
        self.sessions
            .iter()
            .map(|s| s.granted.max_msgs_per_sec)
            .min()
            .unwrap_or(0)
    }

    fn read_session(
        &mut self,
        index: usize,
        clock: &Clock,
        on_exec: &mut dyn FnMut(&Exec, u64),
    ) -> Result<(), SessionError> {
        let rejects = &mut self.session_rejects;
        let Some(session) = self.sessions.get_mut(index) else {
            return Ok(());
        };
        let to_end = self.peer_closed.get(index).copied().unwrap_or(true);
        let read = session.read(clock, to_end, |msg, now| {
            if let Some(exec) = Exec::from_server(&msg) {
                on_exec(&exec, now);
            } else if let ServerMessage::Reject(r) = msg {
                let reason = format!("{:?}", r.reason);
                match rejects.iter_mut().find(|(w, _)| *w == reason) {
                    Some((_, n)) => *n += 1,
                    None => rejects.push((reason, 1)),
                }
            }
        })?;
        if read > 0 {
            self.last_recv_ns[index] = clock.now_ns();
        }
        Ok(())
    }
}

impl Transport for TcpTransport {
    #[inline]
    fn queue(&mut self, action: &Action, _intended_ns: u64) -> Result<(), RunError> {
        let msg = match *action {
            Action::New(n) => ClientMessage::NewOrder(protocol::NewOrder {
                client_order_id: n.coid,
                instrument: n.symbol,
                side: n.side,
                price: n.price,
                qty: n.qty,
                time_in_force: n.tif,
            }),
            Action::Cancel { coid, .. } => ClientMessage::Cancel(protocol::Cancel {
                client_order_id: coid,
            }),
            Action::Replace {
                coid, price, qty, ..
            } => ClientMessage::Replace(protocol::Replace {
                client_order_id: coid,
                price,
                qty,
            }),
        };
        match self.sessions.get_mut(usize::from(action.session())) {
            Some(s) => Ok(s.queue(msg)?),
            None => Err(RunError::Config(format!(
                "the workload chose session {} of {}",
                action.session(),
                self.sessions.len()
            ))),
        }
    }

    fn flush(&mut self, now_ns: u64) -> Result<(), RunError> {
        for (i, s) in self.sessions.iter_mut().enumerate() {
            if s.unsent() > 0 {
                if s.frames_queued > 0 {
                    self.last_send_ns[i] = now_ns;
                }
                s.flush()?;
            }
        }
        Ok(())
    }

    fn wait(&mut self, timeout: Duration) -> Result<(), RunError> {
        let ready = &mut self.ready;
        let peer_closed = &mut self.peer_closed;
        self.waiter
            .wait(timeout, |token, closed| {
                if let Some(r) = ready.get_mut(token.0) {
                    *r = true;
                }
                if closed && let Some(c) = peer_closed.get_mut(token.0) {
                    *c = true;
                }
            })
            .map_err(RunError::Poll)
    }

    fn receive(
        &mut self,
        clock: &Clock,
        on_exec: &mut dyn FnMut(&Exec, u64),
    ) -> Result<(), RunError> {
        for i in 0..self.sessions.len() {
            if self.ready[i] {
                self.ready[i] = false;
                self.read_session(i, clock, on_exec)?;
            }
        }
        Ok(())
    }

    fn housekeeping(&mut self, now_ns: u64) -> Result<(), RunError> {
        for (i, s) in self.sessions.iter_mut().enumerate() {
            let interval =
                u64::try_from(s.granted.heartbeat_interval.as_nanos()).unwrap_or(u64::MAX);
            // Send a heartbeat well before the gateway would miss us.
            if now_ns.saturating_sub(self.last_send_ns[i]) >= interval / 2 {
                s.queue(ClientMessage::Heartbeat)?;
                s.flush()?;
                self.last_send_ns[i] = now_ns;
            }
            let silent = now_ns.saturating_sub(self.last_recv_ns[i]);
            if silent > interval.saturating_mul(SILENT_INTERVALS) {
                return Err(RunError::Silent {
                    session: s.index,
                    silent_ms: silent / 1_000_000,
                });
            }
            // Writes that the socket refused earlier go out now.
            if s.unsent() > 0 {
                s.flush()?;
            }
        }
        Ok(())
    }

    fn close(
        &mut self,
        clock: &Clock,
        on_exec: &mut dyn FnMut(&Exec, u64),
    ) -> Result<(), RunError> {
        let mut first_error: Option<RunError> = None;
        let mut open: Vec<bool> = vec![true; self.sessions.len()];
        for (i, s) in self.sessions.iter_mut().enumerate() {
            // A session the gateway already closed has nothing to log out.
            if s.logout_reason().is_some() || s.start_logout().and_then(|()| s.flush()).is_err() {
                open[i] = false;
            }
        }
        let deadline = clock.now_ns() + LOGOUT_WAIT.as_nanos() as u64;
        while open.iter().any(|o| *o) && clock.now_ns() < deadline {
            self.wait(Duration::from_millis(10))?;
            for (i, is_open) in open.iter_mut().enumerate() {
                if !*is_open {
                    continue;
                }
                self.ready[i] = false;
                match self.read_session(i, clock, on_exec) {
                    Ok(()) => {
                        if self.sessions[i].logout_reason().is_some() {
                            *is_open = false;
                        }
                    }
                    Err(e) => {
                        *is_open = false;
                        if !matches!(e, SessionError::Closed { .. }) && first_error.is_none() {
                            first_error = Some(e.into());
                        }
                    }
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn notes(&self) -> Vec<String> {
        self.session_rejects
            .iter()
            .map(|(reason, n)| {
                format!("the gateway refused {n} frame(s) at session level: {reason}")
            })
            .collect()
    }
}
