//! The TCP transport: every session on one thread, over real sockets.
//!
//! All sessions share one mio poll and one thread, which both sends and
//! receives. On a 2-core host that is the most loadgen can take without
//! taking cores from the gateway and the engine: one thread that sleeps in
//! `epoll_wait` whenever it has nothing to do.
//!
//! Against a cluster (`--target A,B,C`) a session whose node goes away
//! (closed, reset, silent) does not end the run: it is marked down, the
//! driver is told (`SessionEvent::Lost`), and it looks for the new leader
//! one step per loop turn (`leader.rs`) until it is logged on again
//! (`SessionEvent::Restored`). The other sessions carry on meanwhile.
//! Against one address, a session that goes away ends the run, as ever.

use std::net::SocketAddr;
use std::time::Duration;

use gateway::auth::PASSWORD_LEN;
use gateway::protocol::{self, ClientMessage, ServerMessage};
use mio::{Interest, Token};

use crate::driver::{SessionEvent, Transport};
use crate::error::RunError;
use crate::flow::request::Action;
use crate::measure::clock::Clock;
use crate::transport::credentials::Credentials;
use crate::transport::exec::Exec;
use crate::transport::leader::{Finder, Step, logon_leader};
use crate::transport::session::{Session, SessionError};
use crate::transport::wait::{Idle, Waiter};

/// How many heartbeat intervals of silence from the gateway mean it is gone.
const SILENT_INTERVALS: u64 = 3;
/// How long close waits for the gateway to answer the Logouts.
const LOGOUT_WAIT: Duration = Duration::from_secs(2);
/// The longest wait while a session looks for the leader: how often its
/// attempts move on when no socket wakes the poll.
const FINDING_WAIT: Duration = Duration::from_millis(5);

/// One session: logged on, or looking for the leader.
#[derive(Debug)]
enum Slot {
    Up(Session),
    Down(Box<Finder>),
}

/// What a session needs to log on again: the cluster's addresses and its
/// account.
#[derive(Debug, Clone)]
struct Follow {
    nodes: Vec<SocketAddr>,
    /// Per session: its account and `Logon` password field.
    accounts: Vec<(u32, [u8; PASSWORD_LEN])>,
}

/// The sessions and their poll.
#[derive(Debug)]
pub struct TcpTransport {
    slots: Vec<Slot>,
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
    /// With several addresses: how sessions find the leader again.
    follow: Option<Follow>,
    /// Sessions lost and restored, for the driver.
    events: Vec<SessionEvent>,
    /// Sessions down now.
    down: usize,
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
        Self::logon_all(sessions, idle, clock, None, |index| {
            let account = first_account.saturating_add(u32::from(index));
            let password = credentials.field(account);
            Session::connect(index, addr, account, password, Duration::from_secs(5))
        })
    }

    /// Logs `sessions` sessions on to whichever of `nodes` (a cluster's
    /// client addresses) leads, following `NotLeader`; during the run a
    /// session that loses its node finds the new leader.
    pub fn connect_cluster(
        nodes: &[SocketAddr],
        sessions: u16,
        first_account: u32,
        credentials: &Credentials,
        idle: Idle,
        clock: &Clock,
    ) -> Result<TcpTransport, RunError> {
        let accounts: Vec<(u32, [u8; PASSWORD_LEN])> = (0..sessions)
            .map(|index| {
                let account = first_account.saturating_add(u32::from(index));
                (account, credentials.field(account))
            })
            .collect();
        let follow = Follow {
            nodes: nodes.to_vec(),
            accounts: accounts.clone(),
        };
        let mut leader = None;
        Self::logon_all(sessions, idle, clock, Some(follow), |index| {
            let (account, password) = accounts[usize::from(index)];
            let session = logon_leader(nodes, leader, index, account, password)?;
            leader = Some(session.addr);
            Ok(session)
        })
    }

    fn logon_all(
        sessions: u16,
        idle: Idle,
        clock: &Clock,
        follow: Option<Follow>,
        mut logon: impl FnMut(u16) -> Result<Session, SessionError>,
    ) -> Result<TcpTransport, RunError> {
        let waiter = Waiter::new(idle).map_err(RunError::Poll)?;
        let mut slots = Vec::with_capacity(usize::from(sessions));
        for index in 0..sessions {
            let mut session = logon(index)?;
            waiter
                .registry()
                .register(
                    session.stream(),
                    Token(usize::from(index)),
                    Interest::READABLE,
                )
                .map_err(RunError::Poll)?;
            slots.push(Slot::Up(session));
        }
        let now = clock.now_ns();
        let n = slots.len();
        Ok(TcpTransport {
            slots,
            waiter,
            ready: vec![true; n],
            peer_closed: vec![false; n],
            last_recv_ns: vec![now; n],
            last_send_ns: vec![now; n],
            session_rejects: Vec::new(),
            follow,
            events: Vec::new(),
            down: 0,
        })
    }

    /// The throttle the gateway granted (per session, messages/s; 0: none).
    pub fn throttle(&self) -> u32 {
        self.up()
            .map(|s| s.granted.max_msgs_per_sec)
            .min()
            .unwrap_or(0)
    }

    /// Where the sessions are logged on (the first's node).
    pub fn node(&self) -> Option<SocketAddr> {
        self.up().next().map(|s| s.addr)
    }

    fn up(&self) -> impl Iterator<Item = &Session> {
        self.slots.iter().filter_map(|slot| match slot {
            Slot::Up(s) => Some(s),
            Slot::Down(_) => None,
        })
    }

    fn read_session(
        &mut self,
        index: usize,
        clock: &Clock,
        on_exec: &mut dyn FnMut(&Exec, u64),
    ) -> Result<(), SessionError> {
        let rejects = &mut self.session_rejects;
        let Some(Slot::Up(session)) = self.slots.get_mut(index) else {
            return Ok(());
        };
        let to_end = self.peer_closed.get(index).copied().unwrap_or(true);
        let mut not_leader = None;
        let read = session.read(clock, to_end, |msg, now| {
            if let Some(exec) = Exec::from_server(&msg) {
                on_exec(&exec, now);
            } else if let ServerMessage::Reject(r) = msg {
                let reason = format!("{:?}", r.reason);
                match rejects.iter_mut().find(|(w, _)| *w == reason) {
                    Some((_, n)) => *n += 1,
                    None => rejects.push((reason, 1)),
                }
            } else if let ServerMessage::NotLeader(n) = msg {
                not_leader = Some(n.leader_addr());
            }
        });
        // A node that no longer leads, and says so, names the new leader.
        if let Some(leader) = not_leader {
            return Err(SessionError::NotLeader {
                session: session.index,
                addr: session.addr,
                leader,
            });
        }
        if read? > 0 {
            self.last_recv_ns[index] = clock.now_ns();
        }
        Ok(())
    }

    /// Session `index` failed with `error` at `now_ns`. Against one address
    /// that ends the run (the error is returned). Against a cluster, a
    /// session whose node went away (closed, reset, silent, no longer the
    /// leader) is marked down and starts looking for the leader; other
    /// errors still end the run.
    fn lose(&mut self, index: usize, now_ns: u64, error: RunError) -> Result<(), RunError> {
        let Some(follow) = &self.follow else {
            return Err(error);
        };
        let hint = match &error {
            RunError::Session(SessionError::NotLeader { leader, .. }) => *leader,
            e if e.is_disconnect() => None,
            _ => return Err(error),
        };
        let Some((account, password)) = follow.accounts.get(index).copied() else {
            return Err(error);
        };
        let finder = Finder::new(&follow.nodes, hint, index as u16, account, password);
        if let Some(slot) = self.slots.get_mut(index) {
            let old = std::mem::replace(slot, Slot::Down(Box::new(finder)));
            if let Slot::Up(mut session) = old {
                let _ = self.waiter.registry().deregister(session.stream());
            }
        }
        self.down += 1;
        self.peer_closed[index] = false;
        self.events.push(SessionEvent::Lost {
            session: index as u16,
            at_ns: now_ns,
            why: error.to_string(),
        });
        Ok(())
    }

    /// Moves each session that is looking for the leader on by one step.
    fn find_leaders(&mut self, clock: &Clock) -> Result<(), RunError> {
        for index in 0..self.slots.len() {
            let Slot::Down(finder) = &mut self.slots[index] else {
                continue;
            };
            let step = finder.step(clock, self.waiter.registry(), Token(index))?;
            if let Step::LoggedOn(mut session) = step {
                self.waiter
                    .registry()
                    .reregister(session.stream(), Token(index), Interest::READABLE)
                    .map_err(RunError::Poll)?;
                let now = clock.now_ns();
                let addr = session.addr;
                self.slots[index] = Slot::Up(session);
                self.down -= 1;
                // Whatever came with the LogonAck is read at once.
                self.ready[index] = true;
                self.peer_closed[index] = false;
                self.last_recv_ns[index] = now;
                self.last_send_ns[index] = now;
                self.events.push(SessionEvent::Restored {
                    session: index as u16,
                    at_ns: now,
                    addr,
                });
            }
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
        match self.slots.get_mut(usize::from(action.session())) {
            Some(Slot::Up(s)) => Ok(s.queue(msg)?),
            Some(Slot::Down(_)) => Err(RunError::Config(format!(
                "an order was queued for session {}, which is not logged on",
                action.session()
            ))),
            None => Err(RunError::Config(format!(
                "the workload chose session {} of {}",
                action.session(),
                self.slots.len()
            ))),
        }
    }

    fn flush(&mut self, now_ns: u64) -> Result<(), RunError> {
        for i in 0..self.slots.len() {
            let Slot::Up(s) = &mut self.slots[i] else {
                continue;
            };
            if s.unsent() > 0 {
                if s.frames_queued > 0 {
                    self.last_send_ns[i] = now_ns;
                }
                if let Err(e) = s.flush() {
                    self.lose(i, now_ns, e.into())?;
                }
            }
        }
        Ok(())
    }

    fn wait(&mut self, timeout: Duration) -> Result<(), RunError> {
        let timeout = if self.down > 0 {
            timeout.min(FINDING_WAIT)
        } else {
            timeout
        };
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
        for i in 0..self.slots.len() {
            if self.ready[i] && matches!(self.slots[i], Slot::Up(_)) {
                self.ready[i] = false;
                if let Err(e) = self.read_session(i, clock, on_exec) {
                    self.lose(i, clock.now_ns(), e.into())?;
                }
            }
        }
        if self.down > 0 {
            self.find_leaders(clock)?;
        }
        Ok(())
    }

    fn housekeeping(&mut self, now_ns: u64) -> Result<(), RunError> {
        for i in 0..self.slots.len() {
            let Slot::Up(s) = &mut self.slots[i] else {
                continue;
            };
            let interval =
                u64::try_from(s.granted.heartbeat_interval.as_nanos()).unwrap_or(u64::MAX);
            let mut check = || -> Result<(), RunError> {
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
                Ok(())
            };
            if let Err(e) = check() {
                self.lose(i, now_ns, e)?;
            }
        }
        Ok(())
    }

    fn is_up(&self, session: u16) -> bool {
        matches!(self.slots.get(usize::from(session)), Some(Slot::Up(_)))
    }

    fn take_events(&mut self, into: &mut Vec<SessionEvent>) {
        into.append(&mut self.events);
    }

    fn close(
        &mut self,
        clock: &Clock,
        on_exec: &mut dyn FnMut(&Exec, u64),
    ) -> Result<(), RunError> {
        let mut first_error: Option<RunError> = None;
        let mut open: Vec<bool> = vec![true; self.slots.len()];
        for (i, slot) in self.slots.iter_mut().enumerate() {
            // A session the gateway already closed has nothing to log out,
            // and one looking for the leader has no one to log out from.
            let Slot::Up(s) = slot else {
                open[i] = false;
                continue;
            };
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
                        if let Slot::Up(s) = &self.slots[i]
                            && s.logout_reason().is_some()
                        {
                            *is_open = false;
                        }
                    }
                    Err(e) => {
                        *is_open = false;
                        // A session of a cluster may meet its node's death
                        // here too: that is a failover, not a failure.
                        let gone = matches!(
                            e,
                            SessionError::Closed { .. }
                                | SessionError::Io { .. }
                                | SessionError::NotLeader { .. }
                        ) && (self.follow.is_some()
                            || matches!(e, SessionError::Closed { .. }));
                        if !gone && first_error.is_none() {
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
