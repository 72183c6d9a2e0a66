//! One TCP session to the gateway, as a client: connect, log on, then send
//! batched frames and read replies without blocking.
//!
//! Sends are batched: requests are encoded into the session's outbound
//! buffer as they come due and written with one `write` per tick, the way a
//! trading client that wakes on a timer sends. Reads take whatever the
//! socket has, decode every whole frame in place and keep a partial frame for
//! the next read. Nothing here blocks after logon.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::measure::clock::Clock;
use gateway::protocol::{
    ClientMessage, Decoded, Envelope, FIRST_SEQ, LogoutReason, MAX_FRAME_BYTES, SeqCheck,
    SeqTracker, ServerMessage, decode_frame, encode_frame,
};

/// Bytes read per `read` call; a few hundred reports.
const READ_CHUNK: usize = 64 * 1024;

/// Why a session failed. Each names the session.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("session {session}: cannot connect to {addr}: {source}")]
    Connect {
        session: u16,
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },
    #[error("session {session}: logon for account {account} refused: {reason}")]
    LogonRejected {
        session: u16,
        account: u32,
        reason: String,
    },
    #[error("session {session}: no LogonAck within {timeout:?} (is {addr} a gateway?)")]
    LogonTimeout {
        session: u16,
        addr: SocketAddr,
        timeout: Duration,
    },
    #[error("session {session}: {addr} is a cluster node that does not lead{}", not_leader_note(.leader))]
    NotLeader {
        session: u16,
        addr: SocketAddr,
        /// The leader's client address, as that node knows it.
        leader: Option<SocketAddr>,
    },
    #[error(
        "session {session}: no node took the logon within {waited:?} (a cluster with no \
         leader, or no node running?); last answers: {tried}"
    )]
    NoLeader {
        session: u16,
        waited: Duration,
        /// Each address tried, with what it last answered.
        tried: String,
    },
    #[error("session {session}: the gateway closed the connection{}", logout_note(.logout))]
    Closed {
        session: u16,
        logout: Option<LogoutReason>,
    },
    #[error("session {session}: connection error: {source}")]
    Io {
        session: u16,
        #[source]
        source: io::Error,
    },
    #[error("session {session}: the gateway sent a frame loadgen cannot read: {message}")]
    Protocol { session: u16, message: String },
}

fn not_leader_note(leader: &Option<SocketAddr>) -> String {
    match leader {
        Some(addr) => format!(
            " (the leader is {addr}): give --target every node's address, comma-separated, \
             and loadgen logs on to whichever leads"
        ),
        None => " (no leader now: an election is under way)".to_string(),
    }
}

fn logout_note(logout: &Option<LogoutReason>) -> String {
    match logout {
        Some(reason) => format!(" (Logout {reason:?})"),
        // The gateway sends no Logout when the reason is that this client's
        // outbound buffer is full (it does not fit), or when it crashed.
        None => " without a Logout (a slow reader whose outbound buffer filled, or the gateway \
                 is gone)"
            .to_string(),
    }
}

/// What the gateway granted at logon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Granted {
    pub heartbeat_interval: Duration,
    /// Client messages per second the session may send (0: no limit).
    pub max_msgs_per_sec: u32,
}

/// A logged-on session.
#[derive(Debug)]
pub struct Session {
    pub index: u16,
    /// The node it is connected (or connecting) to.
    pub addr: SocketAddr,
    stream: mio::net::TcpStream,
    /// A non-blocking connect not yet seen complete (`start`).
    connecting: bool,
    /// The account it logs on as.
    account: u32,
    /// Encoded frames not yet written: `out[out_pos..]`.
    out: Vec<u8>,
    out_pos: usize,
    /// Read buffer: `inbuf[..in_len]` holds bytes not yet decoded.
    inbuf: Vec<u8>,
    in_len: usize,
    send_seq: u64,
    recv_seq: SeqTracker,
    pub granted: Granted,
    /// The gateway's Logout, once received.
    logout: Option<LogoutReason>,
    /// Set once loadgen has sent its own Logout.
    logging_out: bool,
    /// Frames encoded since the last write: the number of messages the next
    /// write carries.
    pub frames_queued: u64,
}

impl Session {
    /// Connects, logs on as `account` with `password` (the `Logon` field)
    /// and waits for the LogonAck (blocking,
    /// at most `timeout`), then switches the socket to non-blocking.
    pub fn connect(
        index: u16,
        addr: SocketAddr,
        account: u32,
        password: [u8; gateway::auth::PASSWORD_LEN],
        timeout: Duration,
    ) -> Result<Session, SessionError> {
        let io_err = |source| SessionError::Io {
            session: index,
            source,
        };
        let stream =
            TcpStream::connect_timeout(&addr, timeout).map_err(|source| SessionError::Connect {
                session: index,
                addr,
                source,
            })?;
        // Replies and orders are small; Nagle would hold them back.
        stream.set_nodelay(true).map_err(io_err)?;
        // mio requires a non-blocking socket.
        stream.set_nonblocking(true).map_err(io_err)?;
        let mut session = Session::new(index, addr, mio::net::TcpStream::from_std(stream), false);
        // mio sockets are non-blocking; the logon waits by polling the socket
        // with a short sleep, which is fine once per session at start.
        session.queue_logon(account, password)?;
        let deadline = Instant::now() + timeout;
        let clock = Clock::start();
        loop {
            if session.poll_logon(&clock)?.is_some() {
                return Ok(session);
            }
            if Instant::now() >= deadline {
                return Err(SessionError::LogonTimeout {
                    session: index,
                    addr,
                    timeout,
                });
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }

    /// Starts connecting to `addr` without blocking, with the `Logon` of
    /// `account` queued: `poll_logon` moves it on.
    pub fn start(
        index: u16,
        addr: SocketAddr,
        account: u32,
        password: [u8; gateway::auth::PASSWORD_LEN],
    ) -> Result<Session, SessionError> {
        let stream =
            mio::net::TcpStream::connect(addr).map_err(|source| SessionError::Connect {
                session: index,
                addr,
                source,
            })?;
        let mut session = Session::new(index, addr, stream, true);
        session.queue_logon(account, password)?;
        Ok(session)
    }

    fn new(index: u16, addr: SocketAddr, stream: mio::net::TcpStream, connecting: bool) -> Session {
        Session {
            index,
            addr,
            stream,
            connecting,
            account: 0,
            out: Vec::with_capacity(1 << 20),
            out_pos: 0,
            inbuf: vec![0; READ_CHUNK * 4],
            in_len: 0,
            send_seq: FIRST_SEQ,
            recv_seq: SeqTracker::new(),
            granted: Granted {
                heartbeat_interval: Duration::from_secs(5),
                max_msgs_per_sec: 0,
            },
            logout: None,
            logging_out: false,
            frames_queued: 0,
        }
    }

    fn queue_logon(
        &mut self,
        account: u32,
        password: [u8; gateway::auth::PASSWORD_LEN],
    ) -> Result<(), SessionError> {
        self.account = account;
        self.queue(ClientMessage::Logon(gateway::protocol::Logon {
            account,
            cancel_on_disconnect: false,
            password,
        }))
    }

    /// Moves the logon on without blocking: finishes the connect, writes the
    /// `Logon`, reads the answer. `Some` once the gateway granted it; a
    /// refused logon, and a cluster node that does not lead (`NotLeader`),
    /// are errors.
    pub fn poll_logon(&mut self, clock: &Clock) -> Result<Option<Granted>, SessionError> {
        if self.connecting {
            let failed = |source| SessionError::Connect {
                session: self.index,
                addr: self.addr,
                source,
            };
            match self.stream.peer_addr() {
                Ok(_) => {
                    self.connecting = false;
                    // Replies and orders are small; Nagle would hold them back.
                    self.stream
                        .set_nodelay(true)
                        .map_err(|source| SessionError::Io {
                            session: self.index,
                            source,
                        })?;
                }
                Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                    return match self.stream.take_error() {
                        Ok(None) => Ok(None),
                        Ok(Some(source)) | Err(source) => Err(failed(source)),
                    };
                }
                Err(source) => return Err(failed(source)),
            }
        }
        self.flush()?;
        let mut granted = None;
        let mut rejected = None;
        let mut not_leader = None;
        let read = self.read(clock, true, |msg, _| match msg {
            ServerMessage::LogonAck(ack) => {
                granted = Some(Granted {
                    heartbeat_interval: Duration::from_millis(u64::from(
                        ack.heartbeat_interval_ms.max(1),
                    )),
                    max_msgs_per_sec: ack.max_msgs_per_sec,
                });
            }
            ServerMessage::LogonReject(r) => rejected = Some(format!("{:?}", r.reason)),
            ServerMessage::NotLeader(n) => not_leader = Some(n.leader_addr()),
            _ => {}
        });
        // The answer first: the gateway closes the connection right after
        // a refusal, often in the same read.
        if let Some(reason) = rejected {
            return Err(SessionError::LogonRejected {
                session: self.index,
                account: self.account,
                reason,
            });
        }
        if let Some(leader) = not_leader {
            return Err(SessionError::NotLeader {
                session: self.index,
                addr: self.addr,
                leader,
            });
        }
        read?;
        if let Some(g) = granted {
            self.granted = g;
        }
        Ok(granted)
    }

    /// The socket, for registering with a poll.
    pub fn stream(&mut self) -> &mut mio::net::TcpStream {
        &mut self.stream
    }

    /// Encodes `msg` with the next sequence number at the end of the
    /// outbound buffer. Nothing is written until `flush`.
    #[inline]
    pub fn queue(&mut self, msg: ClientMessage) -> Result<(), SessionError> {
        let mut frame = [0u8; MAX_FRAME_BYTES];
        let envelope = Envelope {
            seq: self.send_seq,
            msg,
        };
        let n = encode_frame(&envelope, &mut frame).map_err(|e| SessionError::Protocol {
            session: self.index,
            message: format!("cannot encode {}: {e}", msg.name()),
        })?;
        self.out.extend_from_slice(&frame[..n]);
        self.send_seq += 1;
        self.frames_queued += 1;
        Ok(())
    }

    /// Bytes waiting to be written.
    pub fn unsent(&self) -> usize {
        self.out.len() - self.out_pos
    }

    /// Writes as much of the outbound buffer as the socket takes now.
    /// Returns the bytes written.
    pub fn flush(&mut self) -> Result<usize, SessionError> {
        let mut written = 0;
        while self.out_pos < self.out.len() {
            match self.stream.write(&self.out[self.out_pos..]) {
                Ok(0) => {
                    return Err(SessionError::Closed {
                        session: self.index,
                        logout: self.logout,
                    });
                }
                Ok(n) => {
                    self.out_pos += n;
                    written += n;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_error(e)),
            }
        }
        if self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
            self.frames_queued = 0;
        } else if self.out_pos > self.out.len() / 2 {
            // Keep the buffer from growing without bound while the socket is slow.
            self.out.drain(..self.out_pos);
            self.out_pos = 0;
        }
        Ok(written)
    }

    /// Reads everything the socket has now and passes each message to `on_msg`.
    /// Returns the number of bytes read. A closed connection is an error
    /// (`Closed`, with the gateway's Logout reason if it sent one), unless
    /// loadgen logged out first.
    ///
    /// Each message comes with the time its bytes were read (`clock`, taken
    /// after the `read` that returned them): later than the arrival, never
    /// earlier, so a latency is never under-reported.
    ///
    /// A short read ends the call (the socket is drained), unless `to_end`:
    /// after the poll said the gateway closed its side, its last bytes and
    /// the end of the stream may have come in one event, and only reading
    /// on to the end (or `WouldBlock`) sees the close.
    pub fn read(
        &mut self,
        clock: &Clock,
        to_end: bool,
        mut on_msg: impl FnMut(ServerMessage, u64),
    ) -> Result<usize, SessionError> {
        let mut total = 0;
        loop {
            if self.inbuf.len() - self.in_len < MAX_FRAME_BYTES {
                self.inbuf.resize(self.inbuf.len() * 2, 0);
            }
            let room = self.inbuf.len() - self.in_len;
            let n = match self.stream.read(&mut self.inbuf[self.in_len..]) {
                Ok(0) => {
                    if self.logging_out {
                        return Ok(total);
                    }
                    return Err(SessionError::Closed {
                        session: self.index,
                        logout: self.logout,
                    });
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(total),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if self.logging_out && e.kind() == io::ErrorKind::ConnectionReset => {
                    return Ok(total);
                }
                Err(e) => return Err(self.io_error(e)),
            };
            let now = clock.now_ns();
            total += n;
            self.in_len += n;
            self.decode(&mut |msg| on_msg(msg, now))?;
            if n < room && !to_end {
                // A short read took everything the socket held, and data
                // arriving later raises a new edge (the gateway's
                // `Connection::fill` says why): reading on for the
                // `WouldBlock` would be a second syscall per read.
                return Ok(total);
            }
        }
    }

    /// Decodes every whole frame in the read buffer and keeps the rest.
    fn decode(&mut self, on_msg: &mut impl FnMut(ServerMessage)) -> Result<(), SessionError> {
        let mut pos = 0;
        while pos < self.in_len {
            match decode_frame::<ServerMessage>(&self.inbuf[pos..self.in_len]) {
                Ok(Decoded::NeedMore { .. }) => break,
                Ok(Decoded::Message { envelope, consumed }) => {
                    pos += consumed;
                    match self.recv_seq.check(envelope.seq) {
                        SeqCheck::Ok => {}
                        SeqCheck::Gap { expected, got } | SeqCheck::Duplicate { expected, got } => {
                            return Err(SessionError::Protocol {
                                session: self.index,
                                message: format!(
                                    "sequence number {got} where {expected} was expected"
                                ),
                            });
                        }
                    }
                    if let ServerMessage::Logout(l) = envelope.msg {
                        self.logout = Some(l.reason);
                    }
                    on_msg(envelope.msg);
                }
                Err(e) => {
                    return Err(SessionError::Protocol {
                        session: self.index,
                        message: e.to_string(),
                    });
                }
            }
        }
        self.inbuf.copy_within(pos..self.in_len, 0);
        self.in_len -= pos;
        Ok(())
    }

    /// The gateway's Logout reason, once it sent one.
    pub fn logout_reason(&self) -> Option<LogoutReason> {
        self.logout
    }

    /// Queues loadgen's Logout; the connection's end after it is not an error.
    pub fn start_logout(&mut self) -> Result<(), SessionError> {
        self.logging_out = true;
        self.queue(ClientMessage::Logout)
    }

    fn io_error(&self, source: io::Error) -> SessionError {
        match source.kind() {
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionAborted => SessionError::Closed {
                session: self.index,
                logout: self.logout,
            },
            _ => SessionError::Io {
                session: self.index,
                source,
            },
        }
    }
}
