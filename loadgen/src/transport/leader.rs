//! Finding a cluster's leader: `--target A,B,C` names every node's client
//! address, and only the leader takes a `Logon`. A follower answers
//! `NotLeader` with the leader's address (none during an election) and
//! closes; a node that is down refuses the connection. A session asks the
//! node it was told of first, then each address in turn, until one takes
//! its logon or [`FIND_LEADER`] has passed.
//!
//! At the start that is done blocking, one session after the other (each
//! starting at the node the one before found leading). During a run a
//! session that lost its node does it without blocking ([`Finder`]), one
//! step per loop turn, so the other sessions keep to the schedule.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use gateway::auth::PASSWORD_LEN;
use mio::{Interest, Registry, Token};

use crate::measure::clock::Clock;
use crate::transport::session::{Session, SessionError};

/// How long a session looks for a leader, at the start and after losing
/// its node, before the run fails. A failover takes about the election
/// timeout (500 ms by default) plus the new leader's start.
pub const FIND_LEADER: Duration = Duration::from_secs(10);
/// How long one node may take to connect and answer a `Logon`.
const ATTEMPT: Duration = Duration::from_secs(2);
/// The pause before asking again when a node refused, or none knew the leader.
const RETRY: Duration = Duration::from_millis(25);

/// The nodes a session may log on to, and what each last answered.
#[derive(Debug, Clone)]
struct Asked {
    nodes: Vec<SocketAddr>,
    /// Each address asked (hinted ones too), with its last answer.
    answers: Vec<(SocketAddr, String)>,
    /// The next address in turn.
    cursor: usize,
    /// The leader a node named, asked next.
    hint: Option<SocketAddr>,
}

impl Asked {
    fn new(nodes: &[SocketAddr], first: Option<SocketAddr>) -> Asked {
        Asked {
            nodes: nodes.to_vec(),
            answers: Vec::new(),
            cursor: 0,
            hint: first,
        }
    }

    /// The address to ask next: the hint, else the next in turn.
    fn next(&mut self) -> SocketAddr {
        if let Some(addr) = self.hint.take() {
            return addr;
        }
        let addr = self.nodes[self.cursor % self.nodes.len()];
        self.cursor += 1;
        addr
    }

    /// Notes what `addr` answered; says whether to ask again at once (a
    /// node named the leader) or after a pause.
    fn answered(&mut self, addr: SocketAddr, error: &SessionError) -> Duration {
        let (what, hint) = match error {
            SessionError::NotLeader {
                leader: Some(leader),
                ..
            } => (format!("not the leader, named {leader}"), Some(*leader)),
            SessionError::NotLeader { leader: None, .. } => {
                ("not the leader, knows none (election)".to_string(), None)
            }
            SessionError::Connect { source, .. } => (source.to_string(), None),
            SessionError::LogonTimeout { .. } => ("no answer to the Logon".to_string(), None),
            SessionError::Closed { .. } => ("closed the connection".to_string(), None),
            other => (other.to_string(), None),
        };
        match self.answers.iter_mut().find(|(a, _)| *a == addr) {
            Some((_, w)) => *w = what,
            None => self.answers.push((addr, what)),
        }
        // A node that names itself, or the one just asked, is not followed
        // round in a loop: the pause applies.
        match hint {
            Some(leader) if leader != addr => {
                self.hint = Some(leader);
                Duration::ZERO
            }
            _ => RETRY,
        }
    }

    fn give_up(&self, session: u16, waited: Duration) -> SessionError {
        let mut tried: Vec<String> = self
            .answers
            .iter()
            .map(|(addr, what)| format!("{addr}: {what}"))
            .collect();
        for addr in &self.nodes {
            if !self.answers.iter().any(|(a, _)| a == addr) {
                tried.push(format!("{addr}: not asked"));
            }
        }
        SessionError::NoLeader {
            session,
            waited,
            tried: tried.join("; "),
        }
    }
}

/// Whether a logon error ends the search: the leader refused the account
/// (a wrong password, say), which asking again will not change.
fn is_final(error: &SessionError) -> bool {
    matches!(error, SessionError::LogonRejected { .. })
}

/// Logs session `index` on as `account` to whichever of `nodes` leads,
/// asking `first` first (blocking, at most [`FIND_LEADER`]).
pub fn logon_leader(
    nodes: &[SocketAddr],
    first: Option<SocketAddr>,
    index: u16,
    account: u32,
    password: [u8; PASSWORD_LEN],
) -> Result<Session, SessionError> {
    let started = Instant::now();
    let deadline = started + FIND_LEADER;
    let mut asked = Asked::new(nodes, first);
    loop {
        let addr = asked.next();
        // Never zero: `connect_timeout` refuses a zero timeout.
        let timeout = ATTEMPT
            .min(deadline.saturating_duration_since(Instant::now()))
            .max(Duration::from_millis(10));
        let error = match Session::connect(index, addr, account, password, timeout) {
            Ok(session) => return Ok(session),
            Err(e) if is_final(&e) => return Err(e),
            Err(e) => e,
        };
        let pause = asked.answered(addr, &error);
        if Instant::now() + pause >= deadline {
            return Err(asked.give_up(index, started.elapsed()));
        }
        std::thread::sleep(pause);
    }
}

/// What a step of a [`Finder`] came to.
#[derive(Debug)]
pub enum Step {
    /// Still looking.
    Looking,
    /// Logged on: the session, registered with the poll under its token.
    LoggedOn(Session),
}

/// A session looking for the leader without blocking (during a run).
#[derive(Debug)]
pub struct Finder {
    index: u16,
    account: u32,
    password: [u8; PASSWORD_LEN],
    asked: Asked,
    /// The logon under way, and when it started.
    attempt: Option<(Session, Instant)>,
    /// When to start the next attempt.
    next_at: Instant,
    since: Instant,
}

impl Finder {
    /// Session `index` starts looking, at `hint` first if a node named one.
    pub fn new(
        nodes: &[SocketAddr],
        hint: Option<SocketAddr>,
        index: u16,
        account: u32,
        password: [u8; PASSWORD_LEN],
    ) -> Finder {
        let now = Instant::now();
        Finder {
            index,
            account,
            password,
            asked: Asked::new(nodes, hint),
            attempt: None,
            next_at: now,
            since: now,
        }
    }

    /// One step, never blocking: starts an attempt when one is due, moves
    /// the one under way on. The attempt's socket is registered with
    /// `registry` under `token`, so its answer wakes the poll. Errors end
    /// the run: the leader refused the logon, or none was found in time.
    pub fn step(
        &mut self,
        clock: &Clock,
        registry: &Registry,
        token: Token,
    ) -> Result<Step, SessionError> {
        let now = Instant::now();
        if self.attempt.is_none() {
            if now.duration_since(self.since) >= FIND_LEADER {
                return Err(self
                    .asked
                    .give_up(self.index, now.duration_since(self.since)));
            }
            if now < self.next_at {
                return Ok(Step::Looking);
            }
            let addr = self.asked.next();
            match Session::start(self.index, addr, self.account, self.password) {
                Ok(mut session) => {
                    match registry.register(
                        session.stream(),
                        token,
                        Interest::READABLE | Interest::WRITABLE,
                    ) {
                        Ok(()) => self.attempt = Some((session, now)),
                        Err(source) => {
                            let e = SessionError::Io {
                                session: self.index,
                                source,
                            };
                            self.failed(addr, &e, now);
                            return Ok(Step::Looking);
                        }
                    }
                }
                Err(e) => {
                    self.failed(addr, &e, now);
                    return Ok(Step::Looking);
                }
            }
        }
        let Some((session, started)) = self.attempt.as_mut() else {
            return Ok(Step::Looking);
        };
        let outcome = match session.poll_logon(clock) {
            Ok(Some(_)) => Ok(true),
            Ok(None) if now.duration_since(*started) >= ATTEMPT => {
                Err(SessionError::LogonTimeout {
                    session: self.index,
                    addr: session.addr,
                    timeout: ATTEMPT,
                })
            }
            Ok(None) => Ok(false),
            Err(e) => Err(e),
        };
        match outcome {
            Ok(false) => Ok(Step::Looking),
            Ok(true) => match self.attempt.take() {
                Some((session, _)) => Ok(Step::LoggedOn(session)),
                None => Ok(Step::Looking),
            },
            Err(e) => {
                if let Some((mut session, _)) = self.attempt.take() {
                    let _ = registry.deregister(session.stream());
                    if is_final(&e) {
                        return Err(e);
                    }
                    self.failed(session.addr, &e, now);
                }
                Ok(Step::Looking)
            }
        }
    }

    fn failed(&mut self, addr: SocketAddr, error: &SessionError, now: Instant) {
        let pause = self.asked.answered(addr, error);
        self.next_at = now + pause;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_named_leader_is_asked_next_then_the_addresses_in_turn() {
        let a: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let b: SocketAddr = "127.0.0.1:2".parse().unwrap();
        let mut asked = Asked::new(&[a, b], None);
        assert_eq!(asked.next(), a);
        let not_leader = |leader| SessionError::NotLeader {
            session: 0,
            addr: a,
            leader,
        };
        assert_eq!(asked.answered(a, &not_leader(Some(b))), Duration::ZERO);
        assert_eq!(asked.next(), b, "the leader named");
        assert_eq!(asked.next(), b, "then the next in turn");
        assert_eq!(asked.answered(a, &not_leader(None)), RETRY);
        assert_eq!(asked.next(), a);
        // A node naming itself is not asked again at once.
        assert_eq!(asked.answered(a, &not_leader(Some(a))), RETRY);
        let e = asked.give_up(3, Duration::from_secs(10));
        let text = e.to_string();
        assert!(text.contains("session 3: no node took the logon"), "{text}");
        assert!(
            text.contains("127.0.0.1:1: not the leader, named 127.0.0.1:1"),
            "{text}"
        );
        assert!(text.contains("127.0.0.1:2: not asked"), "{text}");
    }
}
