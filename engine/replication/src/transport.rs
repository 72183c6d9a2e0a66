//! How Raft messages travel between nodes: TCP, or an in-process network
//! with faults for tests.
//!
//! Raft tolerates loss, reordering and duplication, so a transport may
//! drop: a message to a peer that cannot be reached now, or whose queue is
//! full, is dropped rather than waited for, and Raft sends again. The node
//! thread never blocks on the network.
//!
//! On TCP the node's own thread does the I/O (mio): it writes each peer's
//! messages on one connection it keeps to that peer, reads the
//! connections the peers opened to it, and sleeps in `epoll` between
//! Raft's ticks, woken by a socket, by a proposal (`Transport::waker`), or
//! by the tick. No thread sits between the sockets and Raft: a message
//! costs the two threads at its ends one wake-up each, where a reader and
//! a writer thread per connection cost two more, each a trip through the
//! hypervisor on a VM (docs/replication.md, "Measurements"). A frame is
//! `len: u32 | protobuf Message`, little endian.

use std::collections::{HashMap, HashSet};
use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};
use protobuf::Message as _;
use raft::prelude::Message;

use crate::error::ReplicationError;
use crate::membership::Membership;
use crate::node::Input;

/// Moves a node's Raft messages. Neither method may block beyond `wait`'s timeout.
pub trait Transport: Send + 'static {
    /// Sends (or queues, or drops) messages to their peers.
    fn send(&mut self, messages: Vec<Message>);

    /// Waits up to `timeout` for input: messages from peers, and whatever
    /// arrives in the node's inbox (proposals). Everything received goes
    /// into `into`, in order of arrival. `Err` when the inbox is closed.
    fn wait(
        &mut self,
        inbox: &Receiver<Input>,
        timeout: Duration,
        into: &mut Vec<Input>,
    ) -> Result<(), Disconnected>;

    /// What a thread that put something in the inbox calls to end a
    /// `wait` at once (`None`: the inbox itself wakes `wait`).
    fn waker(&self) -> Option<Arc<dyn Fn() + Send + Sync>>;

    /// An fd that is readable whenever `wait` would find input (the
    /// sockets, and the waker), for a node stepped from another loop's
    /// poll (`Node::host`). `None`: only `wait` itself can wait.
    fn raw_fd(&self) -> Option<RawFd> {
        None
    }
}

/// The node's inbox was closed: the node is stopping.
#[derive(Debug, Clone, Copy)]
pub struct Disconnected;

/// Inputs taken per `wait` at most: proposals and acknowledgements that
/// arrive together go out (and to disk) together.
const MAX_INPUTS_PER_WAIT: usize = 4096;

/// Waits on the inbox alone (transports that deliver into it).
fn wait_on_inbox(
    inbox: &Receiver<Input>,
    timeout: Duration,
    into: &mut Vec<Input>,
) -> Result<(), Disconnected> {
    match inbox.recv_timeout(timeout) {
        Ok(input) => into.push(input),
        Err(RecvTimeoutError::Timeout) => return Ok(()),
        Err(RecvTimeoutError::Disconnected) => return Err(Disconnected),
    }
    drain(inbox, into)
}

/// Takes what the inbox holds now (at most `MAX_INPUTS_PER_WAIT`).
pub(crate) fn drain(inbox: &Receiver<Input>, into: &mut Vec<Input>) -> Result<(), Disconnected> {
    for _ in 0..MAX_INPUTS_PER_WAIT {
        match inbox.try_recv() {
            Ok(input) => into.push(input),
            Err(TryRecvError::Empty) => break,
            Err(TryRecvError::Disconnected) => return Err(Disconnected),
        }
    }
    Ok(())
}

/// Bytes queued for one peer before its messages are dropped (a peer that
/// reads nothing: stopped, or cut off).
const MAX_QUEUED: usize = 64 << 20;
/// The largest frame accepted: a bound on what a broken peer can make us allocate.
const MAX_FRAME: usize = 256 << 20;
/// Bytes taken from a socket per `read` call.
const READ_CHUNK: usize = 64 << 10;
/// How long after a failed connection to a peer the next attempt waits.
const RECONNECT_AFTER: Duration = Duration::from_millis(100);

const WAKER: Token = Token(0);
const LISTENER: Token = Token(1);
/// Tokens of the connections to peers: `PEER_BASE + peer id`.
const PEER_BASE: usize = 1 << 32;
/// Tokens of accepted connections start here.
const ACCEPTED_BASE: usize = 2;

/// A peer this node sends to.
struct Peer {
    addr: SocketAddr,
    stream: Option<TcpStream>,
    /// Connected (a new connection is writable once its connect finished).
    ready: bool,
    /// Frames not yet written.
    out: Vec<u8>,
    next_attempt: Instant,
}

/// A connection a peer opened to this node.
struct Inbound {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// Raft over TCP between the nodes of a cluster file.
pub struct TcpTransport {
    poll: Poll,
    events: Events,
    waker: Arc<Waker>,
    listener: TcpListener,
    peers: HashMap<u64, Peer>,
    inbound: HashMap<Token, Inbound>,
    next_token: usize,
    frame: Vec<u8>,
    /// What one `read` takes from a socket; kept, so that reading neither
    /// allocates nor zeroes 64 KiB per call.
    chunk: Box<[u8]>,
    /// The events of one `wait`, and the peers one `send` wrote to: kept
    /// from call to call (the Raft step calls both for every batch).
    tokens: Vec<(Token, bool, bool)>,
    touched: Vec<u64>,
}

impl std::fmt::Debug for TcpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpTransport")
            .field("listener", &self.listener.local_addr().ok())
            .finish_non_exhaustive()
    }
}

impl TcpTransport {
    /// Listens on node `id`'s raft address; connects to each peer when it
    /// first has something to send it.
    pub fn start(id: u64, membership: &Membership) -> Result<TcpTransport, ReplicationError> {
        let me = membership.member(id)?;
        let listen = |source| ReplicationError::Listen {
            addr: me.raft,
            source,
        };
        let poll = Poll::new().map_err(listen)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER).map_err(listen)?);
        let mut listener = TcpListener::bind(me.raft).map_err(listen)?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)
            .map_err(listen)?;
        let peers = membership
            .nodes
            .iter()
            .filter(|n| n.id != id)
            .map(|n| {
                let peer = Peer {
                    addr: n.raft,
                    stream: None,
                    ready: false,
                    out: Vec::new(),
                    next_attempt: Instant::now(),
                };
                (n.id, peer)
            })
            .collect();
        Ok(TcpTransport {
            poll,
            events: Events::with_capacity(256),
            waker,
            listener,
            peers,
            inbound: HashMap::new(),
            next_token: ACCEPTED_BASE,
            frame: Vec::new(),
            chunk: vec![0; READ_CHUNK].into_boxed_slice(),
            tokens: Vec::with_capacity(256),
            touched: Vec::with_capacity(membership.nodes.len()),
        })
    }

    /// Writes what peer `id` has queued, as far as its socket takes it.
    fn flush(&mut self, id: u64) {
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        if peer.stream.is_none() {
            if Instant::now() < peer.next_attempt {
                peer.out.clear();
                return;
            }
            match TcpStream::connect(peer.addr) {
                Ok(mut stream) => {
                    let token = Token(PEER_BASE + id as usize);
                    let registered = self.poll.registry().register(
                        &mut stream,
                        token,
                        Interest::WRITABLE | Interest::READABLE,
                    );
                    if registered.is_err() {
                        peer.next_attempt = Instant::now() + RECONNECT_AFTER;
                        peer.out.clear();
                        return;
                    }
                    let _ = stream.set_nodelay(true);
                    peer.stream = Some(stream);
                    peer.ready = false;
                }
                Err(_) => {
                    peer.next_attempt = Instant::now() + RECONNECT_AFTER;
                    peer.out.clear();
                    return;
                }
            }
        }
        if !peer.ready {
            return;
        }
        let Some(stream) = peer.stream.as_mut() else {
            return;
        };
        let mut written = 0;
        let mut failed = false;
        while written < peer.out.len() {
            match stream.write(&peer.out[written..]) {
                Ok(0) => {
                    failed = true;
                    break;
                }
                Ok(n) => written += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        if failed {
            // A frame may be half written: drop the connection and what is
            // queued (Raft sends again), and reconnect later.
            if let Some(mut stream) = peer.stream.take() {
                let _ = self.poll.registry().deregister(&mut stream);
            }
            peer.out.clear();
            peer.next_attempt = Instant::now() + RECONNECT_AFTER;
        } else {
            peer.out.drain(..written);
        }
    }

    fn accept(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((mut stream, _)) => {
                    let token = Token(self.next_token);
                    self.next_token += 1;
                    if self
                        .poll
                        .registry()
                        .register(&mut stream, token, Interest::READABLE)
                        .is_ok()
                    {
                        let _ = stream.set_nodelay(true);
                        self.inbound.insert(
                            token,
                            Inbound {
                                stream,
                                buf: Vec::new(),
                            },
                        );
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                // Out of descriptors, say: try again at the next event.
                Err(_) => return,
            }
        }
    }

    /// Reads what a peer sent and decodes whole frames into `into`.
    fn read(&mut self, token: Token, into: &mut Vec<Input>) {
        let chunk = &mut self.chunk;
        let Some(conn) = self.inbound.get_mut(&token) else {
            return;
        };
        let mut closed = false;
        loop {
            match conn.stream.read(chunk) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(n) => conn.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    closed = true;
                    break;
                }
            }
        }
        let mut at = 0;
        while let Some(len) = conn.buf.get(at..at + 4) {
            let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
            if len > MAX_FRAME {
                tracing::warn!("a raft peer sent a {len}-byte frame: connection closed");
                closed = true;
                break;
            }
            let Some(frame) = conn.buf.get(at + 4..at + 4 + len) else {
                break;
            };
            match Message::parse_from_bytes(frame) {
                Ok(m) => into.push(Input::Raft(Box::new(m))),
                Err(e) => {
                    tracing::warn!(
                        "a raft peer sent a message that does not decode ({e}): connection closed"
                    );
                    closed = true;
                    break;
                }
            }
            at += 4 + len;
        }
        conn.buf.drain(..at);
        if closed && let Some(mut conn) = self.inbound.remove(&token) {
            let _ = self.poll.registry().deregister(&mut conn.stream);
        }
    }
}

impl Transport for TcpTransport {
    fn send(&mut self, messages: Vec<Message>) {
        let mut touched = std::mem::take(&mut self.touched);
        touched.clear();
        for m in messages {
            let Some(peer) = self.peers.get_mut(&m.to) else {
                continue;
            };
            if peer.out.len() > MAX_QUEUED {
                continue;
            }
            self.frame.clear();
            self.frame.extend_from_slice(&[0; 4]);
            if m.write_to_vec(&mut self.frame).is_err() {
                continue;
            }
            let len = (self.frame.len() - 4) as u32;
            self.frame[..4].copy_from_slice(&len.to_le_bytes());
            peer.out.extend_from_slice(&self.frame);
            if !touched.contains(&m.to) {
                touched.push(m.to);
            }
        }
        for &id in &touched {
            self.flush(id);
        }
        self.touched = touched;
    }

    fn wait(
        &mut self,
        inbox: &Receiver<Input>,
        timeout: Duration,
        into: &mut Vec<Input>,
    ) -> Result<(), Disconnected> {
        let before = into.len();
        drain(inbox, into)?;
        let timeout = if into.len() > before {
            Duration::ZERO
        } else {
            timeout
        };
        if let Err(e) = self.poll.poll(&mut self.events, Some(timeout))
            && e.kind() != ErrorKind::Interrupted
        {
            tracing::warn!("raft transport poll failed: {e}");
        }
        let mut tokens = std::mem::take(&mut self.tokens);
        tokens.clear();
        tokens.extend(
            self.events
                .iter()
                .map(|e| (e.token(), e.is_readable(), e.is_writable() || e.is_error())),
        );
        for &(token, readable, writable) in &tokens {
            match token {
                WAKER => {}
                LISTENER => self.accept(),
                Token(t) if t >= PEER_BASE => {
                    let id = (t - PEER_BASE) as u64;
                    if let Some(peer) = self.peers.get_mut(&id) {
                        if writable || readable {
                            let alive = peer.stream.as_ref().is_some_and(|s| {
                                s.take_error().ok().flatten().is_none() && s.peer_addr().is_ok()
                            });
                            if alive {
                                peer.ready = true;
                            } else if let Some(mut stream) = peer.stream.take() {
                                let _ = self.poll.registry().deregister(&mut stream);
                                peer.out.clear();
                                peer.next_attempt = Instant::now() + RECONNECT_AFTER;
                            }
                        }
                        self.flush(id);
                    }
                }
                token => self.read(token, into),
            }
        }
        self.tokens = tokens;
        drain(inbox, into)
    }

    fn waker(&self) -> Option<Arc<dyn Fn() + Send + Sync>> {
        let waker = Arc::clone(&self.waker);
        Some(Arc::new(move || {
            let _ = waker.wake();
        }))
    }

    /// The transport's own epoll fd: readable while it has events, so
    /// another poll can watch it (epoll nests).
    fn raw_fd(&self) -> Option<RawFd> {
        Some(self.poll.as_raw_fd())
    }
}

/// An in-process network for tests: every node's inbox, and which links are cut.
#[derive(Debug, Clone, Default)]
pub struct LocalNet {
    inner: Arc<Mutex<LocalInner>>,
}

#[derive(Debug, Default)]
struct LocalInner {
    inboxes: HashMap<u64, Sender<Input>>,
    cut: HashSet<(u64, u64)>,
}

impl LocalNet {
    fn inner(&self) -> std::sync::MutexGuard<'_, LocalInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Node `id`'s transport on this network, delivering to `inbox`.
    pub fn join(&self, id: u64, inbox: Sender<Input>) -> LocalTransport {
        self.inner().inboxes.insert(id, inbox);
        LocalTransport { net: self.clone() }
    }

    /// Cuts every link to and from `id` (both directions).
    pub fn isolate(&self, id: u64) {
        let mut inner = self.inner();
        let ids: Vec<u64> = inner.inboxes.keys().copied().collect();
        for other in ids.into_iter().filter(|&o| o != id) {
            inner.cut.insert((id, other));
            inner.cut.insert((other, id));
        }
    }

    /// Restores every link.
    pub fn heal(&self) {
        self.inner().cut.clear();
    }
}

/// One node's end of a `LocalNet`.
#[derive(Debug)]
pub struct LocalTransport {
    net: LocalNet,
}

impl Transport for LocalTransport {
    fn wait(
        &mut self,
        inbox: &Receiver<Input>,
        timeout: Duration,
        into: &mut Vec<Input>,
    ) -> Result<(), Disconnected> {
        wait_on_inbox(inbox, timeout, into)
    }

    fn waker(&self) -> Option<Arc<dyn Fn() + Send + Sync>> {
        None
    }

    fn send(&mut self, messages: Vec<Message>) {
        let inner = self.net.inner();
        for m in messages {
            if inner.cut.contains(&(m.from, m.to)) {
                continue;
            }
            if let Some(inbox) = inner.inboxes.get(&m.to) {
                let _ = inbox.send(Input::Raft(Box::new(m)));
            }
        }
    }
}
