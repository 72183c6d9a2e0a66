//! How Raft messages travel between nodes: TCP, or an in-process network
//! with faults for tests.
//!
//! Raft tolerates loss, reordering and duplication, so a transport may
//! drop: a message to a peer that cannot be reached now, or whose queue is
//! full, is dropped rather than waited for, and Raft sends again. The node
//! thread therefore never blocks on the network.
//!
//! On TCP each node listens on its `raft` address; for each peer one sender
//! thread keeps one connection, and each accepted connection has a reader
//! thread that hands messages to the node's inbox. A frame is `len: u32 |
//! protobuf Message`, little endian.

use std::collections::{HashMap, HashSet};
use std::io::{BufReader, BufWriter, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use protobuf::Message as _;
use raft::prelude::Message;

use crate::error::ReplicationError;
use crate::membership::Membership;
use crate::node::Input;

/// Sends a node's outgoing Raft messages. Must not block.
pub trait Transport: Send + 'static {
    fn send(&mut self, messages: Vec<Message>);
}

/// Messages queued per peer before new ones are dropped.
const PEER_QUEUE: usize = 4096;
/// The largest frame accepted: a bound on what a broken peer can make us allocate.
const MAX_FRAME: usize = 64 << 20;

/// Raft over TCP between the nodes of a cluster file.
pub struct TcpTransport {
    peers: HashMap<u64, SyncSender<Message>>,
    stop: Arc<AtomicBool>,
    addr: SocketAddr,
    accepted: Arc<Mutex<Vec<TcpStream>>>,
    /// Joined on drop, so the listening socket is closed when the
    /// transport is gone (a restarting node binds the address again).
    acceptor: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for TcpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpTransport")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl TcpTransport {
    /// Listens on node `id`'s raft address, delivering to `inbox`, and
    /// starts a sender per peer (which connects when it first has something to send).
    pub fn start(
        id: u64,
        membership: &Membership,
        inbox: Sender<Input>,
    ) -> Result<TcpTransport, ReplicationError> {
        let me = membership.member(id)?;
        let listener = TcpListener::bind(me.raft).map_err(|source| ReplicationError::Listen {
            addr: me.raft,
            source,
        })?;
        let addr = listener.local_addr().unwrap_or(me.raft);
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let acceptor = {
            let (stop, accepted) = (Arc::clone(&stop), Arc::clone(&accepted));
            std::thread::Builder::new()
                .name("raft-accept".into())
                .spawn(move || accept_loop(listener, inbox, stop, accepted))
                .map_err(ReplicationError::Thread)?
        };
        let mut peers = HashMap::new();
        for peer in membership.nodes.iter().filter(|n| n.id != id) {
            let (tx, rx) = sync_channel(PEER_QUEUE);
            let (to, stop) = (peer.raft, Arc::clone(&stop));
            std::thread::Builder::new()
                .name(format!("raft-send-{}", peer.id))
                .spawn(move || send_loop(to, rx, stop))
                .map_err(ReplicationError::Thread)?;
            peers.insert(peer.id, tx);
        }
        Ok(TcpTransport {
            peers,
            stop,
            addr,
            accepted,
            acceptor: Some(acceptor),
        })
    }
}

impl Transport for TcpTransport {
    fn send(&mut self, messages: Vec<Message>) {
        for m in messages {
            if let Some(peer) = self.peers.get(&m.to)
                && let Err(TrySendError::Full(_)) = peer.try_send(m)
            {
                tracing::debug!("raft queue to a peer is full: a message dropped");
            }
        }
    }
}

impl Drop for TcpTransport {
    /// Stops the threads: the senders when their queues close, the
    /// acceptor when woken by a connection, the readers when their
    /// connections are shut.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.peers.clear();
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(100));
        let accepted = self.accepted.lock().unwrap_or_else(PoisonError::into_inner);
        for stream in accepted.iter() {
            let _ = stream.shutdown(Shutdown::Both);
        }
        drop(accepted);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn accept_loop(
    listener: TcpListener,
    inbox: Sender<Input>,
    stop: Arc<AtomicBool>,
    accepted: Arc<Mutex<Vec<TcpStream>>>,
) {
    for stream in listener.incoming() {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let _ = stream.set_nodelay(true);
        if let Ok(clone) = stream.try_clone() {
            let mut list = accepted.lock().unwrap_or_else(PoisonError::into_inner);
            list.retain(|s| s.peer_addr().is_ok());
            list.push(clone);
        }
        let inbox = inbox.clone();
        let _ = std::thread::Builder::new()
            .name("raft-recv".into())
            .spawn(move || read_loop(stream, inbox));
    }
}

fn read_loop(stream: TcpStream, inbox: Sender<Input>) {
    let mut reader = BufReader::with_capacity(256 << 10, stream);
    let mut frame = Vec::new();
    loop {
        let mut len = [0; 4];
        if reader.read_exact(&mut len).is_err() {
            return;
        }
        let len = u32::from_le_bytes(len) as usize;
        if len > MAX_FRAME {
            tracing::warn!("a raft peer sent a {len}-byte frame: connection closed");
            return;
        }
        frame.resize(len, 0);
        if reader.read_exact(&mut frame).is_err() {
            return;
        }
        match Message::parse_from_bytes(&frame) {
            Ok(m) => {
                if inbox.send(Input::Raft(Box::new(m))).is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(
                    "a raft peer sent a message that does not decode ({e}): connection closed"
                );
                return;
            }
        }
    }
}

fn send_loop(to: SocketAddr, queue: Receiver<Message>, stop: Arc<AtomicBool>) {
    let mut conn: Option<BufWriter<TcpStream>> = None;
    let mut frame = Vec::new();
    while let Ok(first) = queue.recv() {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        if conn.is_none() {
            // Unreachable peer: drop this message (Raft resends) rather than
            // queue behind a connect; try again with the next one.
            conn = TcpStream::connect_timeout(&to, Duration::from_millis(200))
                .ok()
                .map(|s| {
                    let _ = s.set_nodelay(true);
                    BufWriter::with_capacity(256 << 10, s)
                });
        }
        let Some(writer) = conn.as_mut() else {
            continue;
        };
        let mut next = Some(first);
        let mut ok = true;
        while let Some(m) = next {
            frame.clear();
            frame.extend_from_slice(&[0; 4]);
            if m.write_to_vec(&mut frame).is_err() {
                next = queue.try_recv().ok();
                continue;
            }
            let len = (frame.len() - 4) as u32;
            frame[..4].copy_from_slice(&len.to_le_bytes());
            if writer.write_all(&frame).is_err() {
                ok = false;
                break;
            }
            next = queue.try_recv().ok();
        }
        if !ok || writer.flush().is_err() {
            conn = None;
        }
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
