//! One client's socket and its two byte buffers.
//!
//! This is the part of a session that does I/O: reading what the socket
//! has into the read buffer, framing outbound messages (with the session's
//! outbound sequence numbers) into the write buffer, and writing that
//! buffer out. It knows nothing of logons, throttles or orders; the
//! session's rules (`session.rs`) decide what to send and when to close,
//! and this file carries it out. It is separate so that those rules can be
//! read (and tested) without sockets in the way.

use std::io::{self, Read, Write};
use std::time::Instant;

use mio::net::TcpStream;

use crate::protocol::{Envelope, MAX_FRAME_BYTES, SeqTracker, ServerMessage, encode_frame};

/// Bytes of unread input a session buffers: many frames, so one `read`
/// call takes a whole burst. It is also what the poll loop reads of a
/// session in one turn, so a session whose outbound buffer is small gets
/// a smaller one (`read_buffer_len`).
pub const READ_BUFFER: usize = 64 * 1024;

/// The high-water mark of a session's output, as a fraction of its
/// buffer: above it the gateway reads no more of the session's input
/// (`Session::may_read`). A quarter leaves three quarters of the buffer
/// for what is already on its way to the session when it stops: the
/// replies to orders read but not yet answered, fills of its resting
/// orders, market data.
const HIGH_WATER_DIVISOR: usize = 4;
/// The low-water mark: once the client has read its output down to this,
/// the gateway reads its input again. Half the high-water mark, so a client
/// reading just at the mark is not paused and resumed at every message.
const LOW_WATER_DIVISOR: usize = 8;

/// What a read found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOutcome {
    /// The socket has nothing more for now (mio will signal new data).
    Drained,
    /// The buffer filled first: more may be waiting, and with edge-triggered
    /// readiness no new event will say so, so read again after decoding.
    Full,
    /// The peer closed the connection (or it failed).
    Closed,
}

/// The outbound buffer is full: the client stopped reading.
#[derive(Debug)]
pub struct SlowReader;

/// The read buffer of a session whose outbound buffer holds `write_limit`
/// bytes: at most a sixteenth of that, so the replies to one turn's read
/// (a reply or two per order, each about an order frame's size) fit
/// easily in the room above the high-water mark, whatever the outbound
/// buffer's size; and at least one frame of the largest size.
fn read_buffer_len(write_limit: usize) -> usize {
    (write_limit / 16).clamp(MAX_FRAME_BYTES, READ_BUFFER)
}

#[derive(Debug)]
pub struct Connection {
    pub stream: TcpStream,
    outbound: SeqTracker,
    read_buf: Box<[u8]>,
    /// Input not yet decoded: `read_buf[read_pos..read_len]`. Decoding
    /// moves `read_pos` on; the rest moves to the front once per read
    /// (`fill`), not once per frame.
    read_pos: usize,
    read_len: usize,
    write_buf: Vec<u8>,
    write_pos: usize,
    write_limit: usize,
    pub last_sent: Instant,
    /// Waiting for a writable event.
    pub blocked: bool,
    /// In the session table's list of connections to flush this turn: a
    /// flag here, so that adding to the list never has to search it.
    pub queued: bool,
}

impl Connection {
    pub fn new(stream: TcpStream, write_limit: usize, now: Instant) -> Self {
        Connection {
            stream,
            outbound: SeqTracker::new(),
            read_buf: vec![0; read_buffer_len(write_limit)].into_boxed_slice(),
            read_pos: 0,
            read_len: 0,
            write_buf: Vec::with_capacity(write_limit.min(1 << 16)),
            write_pos: 0,
            write_limit,
            last_sent: now,
            blocked: false,
            queued: false,
        }
    }

    /// Queues a message (with the session's next outbound sequence number)
    /// for the next flush.
    #[inline]
    pub fn send(&mut self, msg: ServerMessage, now: Instant) -> Result<(), SlowReader> {
        if self.backlog() + MAX_FRAME_BYTES > self.write_limit {
            // Full: give the socket a chance first. Only a client whose
            // socket will not take more is a slow reader.
            if self.flush(now).is_err() || self.backlog() + MAX_FRAME_BYTES > self.write_limit {
                return Err(SlowReader);
            }
        }
        self.push(msg);
        Ok(())
    }

    /// Queues the session's last message even when the buffer is full: the
    /// buffer may then hold up to one frame more than its limit.
    #[cold]
    pub fn send_last(&mut self, msg: ServerMessage) {
        self.push(msg);
    }

    /// Queues a report replay's answer: `reports`, then `end`. The buffer
    /// may go over its limit by one answer (`MAX_REPLAY_REPORTS` frames,
    /// about 1 MB): the client asked for them, and the next `send` applies
    /// the limit again.
    #[cold]
    pub fn send_replay(&mut self, reports: &[ServerMessage], end: ServerMessage) {
        for msg in reports {
            self.push(*msg);
        }
        self.push(end);
    }

    #[inline]
    fn push(&mut self, msg: ServerMessage) {
        let seq = self.outbound.next_outbound();
        let mut frame = [0u8; MAX_FRAME_BYTES];
        // Every server message fits a frame: the codec's tests check the sizes.
        let n = encode_frame(&Envelope { seq, msg }, &mut frame).unwrap_or(0);
        self.write_buf.extend_from_slice(&frame[..n]);
    }

    pub fn has_output(&self) -> bool {
        self.write_pos < self.write_buf.len()
    }

    /// Output queued and not yet written, in bytes.
    #[inline]
    pub fn backlog(&self) -> usize {
        self.write_buf.len() - self.write_pos
    }

    /// More output waits than the high-water mark (`HIGH_WATER_DIVISOR`),
    /// counting `owed` bytes more: replies on their way.
    #[inline]
    pub fn above_high_water(&self, owed: usize) -> bool {
        self.backlog() + owed > self.write_limit / HIGH_WATER_DIVISOR
    }

    /// The output waiting is down to the low-water mark (`LOW_WATER_DIVISOR`).
    #[inline]
    pub fn at_low_water(&self) -> bool {
        self.backlog() <= self.write_limit / LOW_WATER_DIVISOR
    }

    /// Writes as much queued output as the socket takes. `Ok(true)` when
    /// everything was written.
    pub fn flush(&mut self, now: Instant) -> io::Result<bool> {
        while self.write_pos < self.write_buf.len() {
            match self.stream.write(&self.write_buf[self.write_pos..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.write_pos += n;
                    self.last_sent = now;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.blocked = true;
                    return Ok(false);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.write_buf.clear();
        self.write_pos = 0;
        self.blocked = false;
        Ok(true)
    }

    /// Reads what the socket has into the read buffer. A short read ends
    /// it (the socket is drained), unless `to_end`: when the poll says the
    /// client closed its side, its last bytes and the end of the stream
    /// may have come in one event, and only reading on sees the end.
    pub fn fill(&mut self, to_end: bool) -> io::Result<ReadOutcome> {
        if self.read_pos > 0 {
            // A partial frame left from the last read goes to the front.
            self.read_buf.copy_within(self.read_pos..self.read_len, 0);
            self.read_len -= self.read_pos;
            self.read_pos = 0;
        }
        while self.read_len < self.read_buf.len() {
            let room = self.read_buf.len() - self.read_len;
            match self.stream.read(&mut self.read_buf[self.read_len..]) {
                Ok(0) => return Ok(ReadOutcome::Closed),
                // A short read took everything the socket held: a stream
                // socket's read space is exhausted (epoll(7), "Do I need to
                // continuously read ... until EAGAIN"), and data arriving
                // later raises a new edge. Reading on for the EAGAIN would
                // cost a syscall per session per turn (see
                // docs/performance.md, section "Gateway: one order's round
                // trip over loopback").
                Ok(n) if n < room && !to_end => {
                    self.read_len += n;
                    return Ok(ReadOutcome::Drained);
                }
                Ok(n) => self.read_len += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Ok(ReadOutcome::Drained);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(ReadOutcome::Full)
    }

    /// Sends our FIN: the client reads everything queued, then end of stream.
    pub fn half_close(&mut self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Write);
    }

    /// Reads and discards input; `false` once the client has closed.
    pub fn drain_input(&mut self) -> bool {
        loop {
            let fill = self.fill(true);
            self.read_len = 0;
            self.read_pos = 0;
            match fill {
                Ok(ReadOutcome::Full) => continue,
                Ok(ReadOutcome::Drained) => return true,
                Ok(ReadOutcome::Closed) | Err(_) => return false,
            }
        }
    }

    /// The unread input.
    pub fn input(&self) -> &[u8] {
        &self.read_buf[self.read_pos..self.read_len]
    }

    /// Drops the first `n` bytes of input (decoded frames).
    #[inline]
    pub fn consume(&mut self, n: usize) {
        self.read_pos += n;
        if self.read_pos == self.read_len {
            self.read_pos = 0;
            self.read_len = 0;
        }
    }

    /// Drops all unread input.
    pub fn discard_input(&mut self) {
        let n = self.input().len();
        self.consume(n);
    }
}
