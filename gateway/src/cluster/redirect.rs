//! A follower's client address: every `Logon` is answered with `NotLeader`
//! naming the leader's client address (or none, during an election), and
//! the connection is closed. Order entry is the leader's alone.
//!
//! Off the hot path entirely: a plain blocking listener, one short-lived
//! thread per connection (at most `MAX_CONNECTIONS` at a time), each
//! bounded by timeouts, so a client that sends nothing cannot hold it.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::protocol::{
    ClientMessage, Decoded, Envelope, FIRST_SEQ, MAX_FRAME_BYTES, NotLeader, ServerMessage,
    decode_frame, encode_frame,
};

/// Connections answered at once; more are closed unanswered.
const MAX_CONNECTIONS: usize = 64;
/// How long a connection may take to send its `Logon`.
const READ_TIMEOUT: Duration = Duration::from_secs(1);

/// Who leads now, as the node knows it: `(node id, client address)`.
pub(crate) type LeaderLookup = Arc<dyn Fn() -> Option<(u64, SocketAddr)> + Send + Sync>;

/// The redirecting listener; stops when dropped.
pub(crate) struct Redirect {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Redirect {
    pub(crate) fn start(addr: SocketAddr, leader: LeaderLookup) -> std::io::Result<Redirect> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("redirect".into())
                .spawn(move || accept_loop(listener, leader, stop))?
        };
        Ok(Redirect {
            addr,
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Redirect {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the blocking accept.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn accept_loop(listener: TcpListener, leader: LeaderLookup, stop: Arc<AtomicBool>) {
    let active = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let Ok(stream) = stream else { continue };
        if active.load(Ordering::Relaxed) >= MAX_CONNECTIONS {
            continue;
        }
        active.fetch_add(1, Ordering::Relaxed);
        let (leader, active) = (Arc::clone(&leader), Arc::clone(&active));
        let spawned = std::thread::Builder::new()
            .name("redirect-conn".into())
            .spawn(move || {
                answer(stream, leader());
                active.fetch_sub(1, Ordering::Relaxed);
            });
        if spawned.is_err() {
            tracing::warn!("cannot start a thread to answer a client with NotLeader");
        }
    }
}

/// Reads the client's first frame (its `Logon`), answers `NotLeader`, and closes.
fn answer(mut stream: TcpStream, leader: Option<(u64, SocketAddr)>) {
    let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
    let _ = stream.set_nodelay(true);
    let mut buf = vec![0u8; 4096];
    let mut have = 0;
    loop {
        match decode_frame::<ClientMessage>(&buf[..have]) {
            Ok(Decoded::NeedMore { needed }) if needed <= MAX_FRAME_BYTES => {
                if needed > buf.len() {
                    buf.resize(needed, 0);
                }
                match stream.read(&mut buf[have..]) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => have += n,
                }
            }
            // A whole frame, or bytes that are no frame: answer either way.
            _ => break,
        }
    }
    let reply = Envelope {
        seq: FIRST_SEQ,
        msg: ServerMessage::NotLeader(NotLeader::new(leader)),
    };
    let mut out = [0u8; 64];
    if let Ok(n) = encode_frame(&reply, &mut out) {
        let _ = stream.write_all(&out[..n]);
    }
    // Close our side, then let the client's close arrive, so that what it
    // sent unread does not turn our close into a reset that loses the reply.
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let mut sink = [0u8; 512];
    while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
}
