//! One replica: the step that drives raft-rs's `RawNode`, on a thread of
//! its own or on its owner's loop.
//!
//! ```text
//!  leader:   J ──batch──▶ inbox ─▶ Raft step ─▶ log store (write/fsync) ─▶ peers
//!                                      │ majority has it (committed)
//!                                      └──▶ release gate ──▶ O sends reports
//!  follower: peers ─▶ inbox ─▶ Raft step ─▶ log store ─▶ ack
//!                                      │ committed
//!                                      └──▶ `Committed` batches ─▶ the node's own
//!                                           pipeline (same seqs, same ingest times)
//! ```
//!
//! `Node::start` starts the step on a Raft thread, which sleeps on the
//! transport between Raft's ticks (`membership::TICK`), so an idle node
//! costs a wake-up per tick, not a core. The owner may take the step onto
//! its own loop (`Node::host`, `HostedRaft`), and give it back
//! (`Node::resume`): the gateway runs it on the loop that uses what it
//! commits (a follower's apply loop; a leader's poll loop when J runs
//! there), so a batch goes from J to the peers' sockets, and a majority's
//! acknowledgement to O, with no thread woken in between
//! (docs/replication.md, "What runs"). Everything it
//! shares with the pipeline's side is in `Shared`: the role, the leader,
//! and two signals the node's owner acts on: `can_lead` (this node leads
//! and holds every committed command: open order entry) and `deposed` (it
//! was serving and has lost the lead: stop, and restart from what is
//! committed, since its engine may have run commands that never will be).

use std::os::fd::RawFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use journal::Durability;
use pipeline::{ReleaseGate, Replicator};
use raft::prelude::{Entry, EntryType, Message, MessageType, Snapshot, SnapshotMetadata};
use raft::{Config, RawNode, SnapshotStatus, StateRole, Storage as _};

use crate::batch;
use crate::error::ReplicationError;
use crate::log_store::LogStore;
use crate::membership::{Membership, TICK};
use crate::snapshot_writer::{Done, Job, SnapshotWriter};
use crate::transport::{self, Transport};

/// What the Raft step is handed.
#[derive(Debug)]
pub enum Input {
    /// A journal batch to replicate (leader), framed by `batch::encode`.
    Propose(Vec<u8>),
    /// A message from a peer.
    Raft(Box<Message>),
}

/// What a node's own pipeline must apply, in order: committed batches,
/// or, for a node too far behind for the log, the leader's snapshot.
#[derive(Debug)]
pub enum Committed {
    Batch {
        /// `batch::encode`d journal records; apply those past the engine's last sequence.
        data: Vec<u8>,
        first: u64,
        last: u64,
    },
    /// Replace the engine's state: install these into the journal
    /// (`journal::install_snapshot`) and restart the pipeline from it.
    Snapshot {
        /// The last command the engine snapshot holds.
        snapshot_seq: u64,
        /// An engine snapshot file's bytes.
        engine: Vec<u8>,
        /// Journal records after it, to the end of the snapshot's entry.
        tail: Vec<u8>,
        /// The last command of the whole: where the engine then stands.
        last: u64,
    },
}

/// How a replica is started.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub id: u64,
    pub membership: Membership,
    /// Where this node's Raft log lives.
    pub dir: PathBuf,
    /// Bytes of one of its segment files ([`crate::SEGMENT_BYTES`] unless
    /// a test wants them to roll often).
    pub segment_bytes: u64,
    /// How this node's own copy of the log is made durable before it is
    /// acknowledged: `os` (a write) or `fsync` (a write and an fdatasync).
    pub durability: Durability,
    /// The last command this node's engine holds (its journal's last
    /// sequence). Committed batches after it are handed to the owner.
    pub engine_seq: u64,
    /// Where the engine writes its snapshots: the Raft log is compacted to
    /// the newest of them the cluster has committed. `None`: never compacted.
    pub journal_dir: Option<PathBuf>,
}

/// The state the Raft step shares with the node's owner.
#[derive(Debug, Default)]
struct Shared {
    leader: AtomicU64,
    term: AtomicU64,
    is_leader: AtomicBool,
    /// The last command a majority holds.
    committed_seq: AtomicU64,
    can_lead: AtomicBool,
    /// Set once the release gate is attached (the node serves clients).
    serving: AtomicBool,
    deposed: AtomicBool,
    failed: OnceLock<String>,
    release: OnceLock<ReleaseGate>,
    wake: OnceLock<WakeHook>,
    /// The thread that steps the node while it is hosted (`HostedRaft`),
    /// as `this_thread()` numbers it; 0 while the Raft thread steps it. On
    /// the host nobody needs waking: it is the owner's loop, awake.
    host: AtomicU64,
}

/// This thread's number, for `Shared::host`: unique in the process, never 0.
fn this_thread() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    thread_local! {
        static ME: u64 = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    ME.with(|me| *me)
}

/// What wakes the node's owner (a `mio::Waker` in the gateway).
struct WakeHook(Box<dyn Fn() + Send + Sync>);

impl std::fmt::Debug for WakeHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WakeHook")
    }
}

impl Shared {
    /// No more commits through this node: the serving pipeline stops
    /// releasing (and fails), and the owner is told to restart.
    fn abandon(&self, why: String) {
        if let Some(release) = self.release.get() {
            release.abandon(why);
        }
        self.deposed.store(true, Ordering::Relaxed);
        self.wake();
    }

    fn wake(&self) {
        if let Some(wake) = self.wake.get()
            && !self.on_host()
        {
            (wake.0)();
        }
    }

    /// Called on the thread that hosts the step (`HostedRaft`).
    fn on_host(&self) -> bool {
        // Relaxed: only the hosting thread writes its own number, and only
        // that thread can find it equal to its own.
        self.host.load(Ordering::Relaxed) == this_thread()
    }
}

/// A running replica: its Raft thread (unless its owner hosts the step),
/// and what the owner asks of it.
pub struct Node {
    id: u64,
    shared: Arc<Shared>,
    inbox: Sender<Input>,
    /// Ends the Raft thread's wait after something was put in its inbox
    /// (`Transport::waker`).
    wake_raft: Option<WakeRaft>,
    /// The Raft thread; it gives the driver back when it ends.
    thread: Option<JoinHandle<Driver>>,
    stop: Arc<AtomicBool>,
    /// Asks the Raft thread to end and give its driver back (`Node::host`).
    hand_off: Arc<AtomicBool>,
    /// The transport's readiness fd, if it can be stepped from another
    /// thread's poll (`Transport::raw_fd`).
    hostable: Option<RawFd>,
}

type WakeRaft = Arc<dyn Fn() + Send + Sync>;

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("id", &self.id)
            .field("leader", &self.leader())
            .finish_non_exhaustive()
    }
}

/// Where a restarting node must cut its journal: the last command up to
/// which its journal agrees, record for record, with what its Raft log
/// says is committed. A node that led may have journaled commands that
/// never committed, under numbers a newer leader then gave to commands of
/// its own: the cut is before the first such record, not merely at the
/// commit (the commit may already cover the newer leader's commands).
pub fn agreed_seq(
    raft_dir: &std::path::Path,
    journal_dir: &std::path::Path,
) -> Result<u64, ReplicationError> {
    let log = LogStore::open(raft_dir, &[], Durability::None)?;
    let commit = log.hard_state().commit;
    let committed = last_seq_through(&log, commit);
    let (snap_index, snap_seq) = log.snapshot_point();
    let mut expected = std::collections::HashMap::new();
    for i in snap_index + 1..=commit {
        let Some(entry) = log.entry(i) else { break };
        for record in batch::records(&entry.data) {
            let r = record.map_err(|e| ReplicationError::Log {
                path: raft_dir.to_owned(),
                message: format!("committed entry {i} does not decode: {e}"),
            })?;
            expected.insert(r.seq, r);
        }
    }
    if !journal::exists(journal_dir) {
        return Ok(committed);
    }
    let first_retained = journal::first_retained_seq(journal_dir)?.unwrap_or(1);
    let from = first_retained.max(snap_seq + 1);
    let mut agreed = committed;
    let mut diverged = false;
    journal::read_journal(journal_dir, from - 1, |r| {
        if diverged || r.seq > committed {
            return;
        }
        if expected.get(&r.seq) != Some(r) {
            diverged = true;
            agreed = r.seq - 1;
        }
    })?;
    Ok(agreed)
}

/// The last command in the batches at indexes `..=index`.
fn last_seq_through(log: &LogStore, index: u64) -> u64 {
    let (snap_index, snap_seq) = log.snapshot_point();
    (snap_index + 1..=index)
        .rev()
        .find_map(|i| log.entry(i).and_then(|e| batch::span(&e.data)))
        .map_or(snap_seq, |(_, last)| last)
}

impl Node {
    /// Opens the node's Raft log and starts its thread. `transport` is
    /// given the node's inbox and returns how the node reaches its peers.
    /// Also returns the committed batches this node's engine does not hold
    /// yet, in order, for its owner to publish into its pipeline.
    pub fn start(
        config: NodeConfig,
        transport: impl FnOnce(Sender<Input>) -> Result<Box<dyn Transport>, ReplicationError>,
    ) -> Result<(Node, Receiver<Committed>), ReplicationError> {
        let membership = &config.membership;
        membership.member(config.id)?;
        let store = LogStore::open_with_segments_of(
            &config.dir,
            &membership.ids(),
            config.durability,
            config.segment_bytes,
        )?;
        let commit = store.hard_state().commit;
        // Applied: the longest committed prefix whose batches the engine
        // already holds. Batches after it are handed over again; the owner
        // skips the commands it has (a batch may have been half-journaled).
        // An engine behind the snapshot is handed the snapshot first.
        let (snap_index, snap_seq) = store.snapshot_point();
        let mut applied = snap_index;
        let last_index = store.last_index()?;
        for i in applied + 1..=commit.min(last_index) {
            match store.entry(i).and_then(|e| batch::span(&e.data)) {
                Some((_, last)) if last > config.engine_seq => break,
                _ => applied = i,
            }
        }
        let behind_snapshot = (config.engine_seq < snap_seq)
            .then(|| store.snapshot_data().cloned())
            .flatten();
        let raft_config = Config {
            id: config.id,
            election_tick: membership.election_ticks(),
            heartbeat_tick: membership.heartbeat_ticks(),
            applied,
            max_size_per_msg: 1 << 20,
            max_inflight_msgs: 256,
            // An isolated leader steps down after an election timeout
            // without a majority's answers; with pre-vote, a node cut off
            // and back does not depose a healthy leader.
            check_quorum: true,
            pre_vote: true,
            ..Config::default()
        };
        raft_config.validate()?;
        // A log with nothing in it, not even a term: a new cluster's node,
        // or one restarted from an empty directory (see `Driver::blank`).
        let blank = last_index == 0 && store.hard_state().term == 0;
        let raw = RawNode::new(&raft_config, store, &crate::logger::logger(config.id))?;
        let (inbox, rx) = channel();
        let transport = transport(inbox.clone())?;
        let wake_raft = transport.waker();
        let hostable = transport.raw_fd();
        let (committed_tx, committed_rx) = channel();
        let shared = Arc::new(Shared::default());
        let stop = Arc::new(AtomicBool::new(false));
        let hand_off = Arc::new(AtomicBool::new(false));
        let mut driver = Driver {
            raw,
            transport,
            inbox: rx,
            inputs: Vec::new(),
            next_tick: Instant::now() + TICK,
            shared: Arc::clone(&shared),
            committed: committed_tx,
            handed_seq: config.engine_seq,
            was_leader: false,
            blank,
            journal_dir: config.journal_dir.clone(),
            next_compaction: Instant::now(),
            writer: match config.journal_dir {
                Some(_) => Some(SnapshotWriter::start().map_err(ReplicationError::Thread)?),
                None => None,
            },
        };
        if let Some(snapshot) = behind_snapshot {
            driver.hand_snapshot(&snapshot)?;
        }
        let thread = spawn(config.id, driver, &stop, &hand_off)?;
        let node = Node {
            id: config.id,
            shared,
            inbox,
            wake_raft,
            thread: Some(thread),
            stop,
            hand_off,
            hostable,
        };
        Ok((node, committed_rx))
    }

    pub fn id(&self) -> u64 {
        self.id
    }

    /// Called whenever `can_lead`, `deposed` or the commit changes, so an
    /// owner asleep in a poll loop wakes (a `mio::Waker`). Set once.
    pub fn wake_with(&self, hook: Box<dyn Fn() + Send + Sync>) {
        let _ = self.shared.wake.set(WakeHook(hook));
    }

    /// The leader this node knows of (0: none yet).
    pub fn leader(&self) -> u64 {
        self.shared.leader.load(Ordering::Relaxed)
    }

    /// A view of who leads that other threads may keep (a listener
    /// answering `NotLeader`) without keeping the node alive.
    pub fn watch(&self) -> LeaderWatch {
        LeaderWatch(Arc::clone(&self.shared))
    }

    pub fn term(&self) -> u64 {
        self.shared.term.load(Ordering::Relaxed)
    }

    pub fn is_leader(&self) -> bool {
        self.shared.is_leader.load(Ordering::Relaxed)
    }

    /// The last command a majority holds, as this node knows it.
    pub fn committed_seq(&self) -> u64 {
        self.shared.committed_seq.load(Ordering::Relaxed)
    }

    /// This node leads, and every committed command has been handed to
    /// its owner: once they are applied, it may open order entry.
    pub fn can_lead(&self) -> bool {
        // Acquire: pairs with the Release swap in `Driver::observe`.
        self.shared.can_lead.load(Ordering::Acquire)
    }

    /// It served as leader and lost the lead.
    pub fn deposed(&self) -> bool {
        self.shared.deposed.load(Ordering::Relaxed)
    }

    /// Why the Raft step stopped, if it failed (a log it cannot write).
    pub fn failure(&self) -> Option<String> {
        self.shared.failed.get().cloned()
    }

    /// Stops the serving pipeline releasing anything more (a leader asked
    /// to stop that cannot reach a majority would otherwise wait forever).
    pub fn abandon(&self, why: String) {
        self.shared.abandon(why);
    }

    /// Ends the Raft thread and returns its step, for the caller's own loop
    /// to run (`HostedRaft`). A leader whose J runs on the gateway's poll
    /// loop hosts the step there: proposals and commits then cross no
    /// thread. `None` when the transport cannot be polled from another
    /// loop (`LocalNet`: the thread keeps running), or the thread has
    /// already ended (stopped, or failed: `failure` says why).
    pub fn host(&mut self) -> Option<HostedRaft> {
        let fd = self.hostable?;
        let thread = self.thread.take()?;
        self.hand_off.store(true, Ordering::Relaxed);
        if let Some(wake) = &self.wake_raft {
            wake();
        }
        let driver = thread.join().ok()?;
        if self.shared.failed.get().is_some() {
            return None;
        }
        Some(HostedRaft {
            driver: Box::new(driver),
            fd,
            stopped: false,
        })
    }

    /// Gives a hosted step back to a Raft thread of its own (a leader whose
    /// J has a thread: `fsync`).
    pub fn resume(&mut self, hosted: HostedRaft) -> Result<(), ReplicationError> {
        if self.thread.is_some() {
            return Ok(());
        }
        self.shared.host.store(0, Ordering::Relaxed);
        self.hand_off.store(false, Ordering::Relaxed);
        self.thread = Some(spawn(self.id, *hosted.driver, &self.stop, &self.hand_off)?);
        Ok(())
    }

    /// The `Replicator` for this node's serving pipeline.
    pub fn replicator(&self) -> Arc<dyn Replicator> {
        Arc::new(Link {
            shared: Arc::clone(&self.shared),
            inbox: self.inbox.clone(),
            wake_raft: self.wake_raft.clone(),
        })
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(wake) = &self.wake_raft {
            wake();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Starts a Raft thread stepping `driver` until the node stops or hands
/// the step off (`Node::host`); joining it gives the driver back.
fn spawn(
    id: u64,
    mut driver: Driver,
    stop: &Arc<AtomicBool>,
    hand_off: &Arc<AtomicBool>,
) -> Result<JoinHandle<Driver>, ReplicationError> {
    let (stop, hand_off) = (Arc::clone(stop), Arc::clone(hand_off));
    std::thread::Builder::new()
        .name(format!("raft-{id}"))
        .spawn(move || {
            driver.run(&stop, &hand_off);
            driver
        })
        .map_err(ReplicationError::Thread)
}

/// Who leads, as a node last knew it (`Node::watch`).
#[derive(Debug, Clone)]
pub struct LeaderWatch(Arc<Shared>);

impl LeaderWatch {
    /// The leader's id (0: none known).
    pub fn leader(&self) -> u64 {
        self.0.leader.load(Ordering::Relaxed)
    }
}

/// The serving pipeline's side of a node (`pipeline::Replicator`).
struct Link {
    shared: Arc<Shared>,
    inbox: Sender<Input>,
    wake_raft: Option<WakeRaft>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link").finish_non_exhaustive()
    }
}

impl Replicator for Link {
    fn attach(&self, release: ReleaseGate) {
        let _ = self.shared.release.set(release);
        self.shared.serving.store(true, Ordering::Relaxed);
    }

    fn replicate(&self, records: Vec<u8>, first: u64, last: u64) {
        // An unbounded channel: J never waits here. Raft's own flow control
        // (in-flight messages per follower) bounds what is sent, and the
        // release gate holds O, and so the clients, behind the commit.
        let _ = self
            .inbox
            .send(Input::Propose(batch::encode(records, first, last)));
        // Hosted on this very thread, the step takes the proposal when the
        // loop turns it next, with no wake-up.
        if let Some(wake) = &self.wake_raft
            && !self.shared.on_host()
        {
            wake();
        }
    }
}

/// A node's Raft step, run by its owner's loop instead of a thread of its
/// own (`Node::host`). The loop registers `raw_fd` for readability (the
/// transport's sockets and the inbox's waker), and calls `turn` when it
/// fires, after it hands the node a batch, and at the latest when the
/// last `turn` said the next tick is due.
pub struct HostedRaft {
    /// Boxed: it moves from loop to loop, and raft-rs's state is large.
    driver: Box<Driver>,
    fd: RawFd,
    /// The step can go no further (its log failed, or the node is
    /// stopping: `Driver::step`).
    stopped: bool,
}

impl std::fmt::Debug for HostedRaft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostedRaft")
            .field("fd", &self.fd)
            .finish_non_exhaustive()
    }
}

impl HostedRaft {
    /// Readable when there is input: register it (edge-triggered is enough:
    /// a `turn(true)` takes everything there is).
    pub fn raw_fd(&self) -> RawFd {
        self.fd
    }

    /// Takes what has arrived (from the sockets too if `woken`, otherwise
    /// only the proposals handed over on this thread), ticks when due, and
    /// runs raft-rs's Ready: appends, sends, commits, and moves the release
    /// gate. Returns how long the caller may wait before the next turn:
    /// zero when this one moved the commit (the released output is the
    /// caller's to send), else until the next tick. Once the step has
    /// stopped (its log failed: `Node::failure` says why, and the pipeline
    /// was abandoned; or the node is stopping) it does nothing.
    pub fn turn(&mut self, woken: bool) -> Duration {
        if self.stopped {
            return Duration::MAX;
        }
        let shared = &self.driver.shared;
        shared.host.store(this_thread(), Ordering::Relaxed);
        let committed = shared.committed_seq.load(Ordering::Relaxed);
        if !self.driver.step(woken.then_some(Duration::ZERO)) {
            self.stopped = true;
            return Duration::MAX;
        }
        if self.driver.shared.committed_seq.load(Ordering::Relaxed) != committed {
            return Duration::ZERO;
        }
        self.driver
            .next_tick
            .saturating_duration_since(Instant::now())
    }
}

struct Driver {
    raw: RawNode<LogStore>,
    transport: Box<dyn Transport>,
    /// Proposals (and, on `LocalNet`, peers' messages), and the inputs of one step.
    inbox: Receiver<Input>,
    inputs: Vec<Input>,
    next_tick: Instant,
    shared: Arc<Shared>,
    committed: Sender<Committed>,
    /// The last command handed to the owner (or held by its engine).
    handed_seq: u64,
    was_leader: bool,
    /// Started on an empty log, and no leader heard from since. A node
    /// restarted from an empty directory has forgotten whom it voted for;
    /// voting again in a term it voted in before could elect two leaders.
    /// So until it hears from a leader it grants votes only to candidates
    /// whose logs are empty too: a new cluster's first election. (Rejoining
    /// as a learner through a membership change would close even the first
    /// election's window: docs/replication.md, "What is not done".)
    blank: bool,
    journal_dir: Option<PathBuf>,
    /// When to look for a newer engine snapshot to compact the log to.
    next_compaction: Instant,
    /// Writes compaction's snapshots off this loop (with `journal_dir`).
    writer: Option<SnapshotWriter>,
}

/// How often a node looks for an engine snapshot to compact its log to.
const COMPACTION_CHECK: std::time::Duration = std::time::Duration::from_secs(1);

impl Driver {
    /// The Raft thread: steps until stopped, handed off (`Node::host`),
    /// or unable to go on.
    fn run(&mut self, stop: &AtomicBool, hand_off: &AtomicBool) {
        while !stop.load(Ordering::Relaxed) && !hand_off.load(Ordering::Relaxed) {
            let wait = self.next_tick.saturating_duration_since(Instant::now());
            if !self.step(Some(wait)) {
                return;
            }
        }
    }

    /// One step: takes input (waiting up to `wait` on the transport; with
    /// `None`, only what the inbox holds now), ticks when due, and runs the
    /// Ready. `false` once the node can go no further: its inbox closed
    /// (the node is stopping), or its log failed (then `failed` is set and
    /// the serving pipeline abandoned).
    fn step(&mut self, wait: Option<Duration>) -> bool {
        let mut inputs = std::mem::take(&mut self.inputs);
        let taken = match wait {
            Some(wait) => self.transport.wait(&self.inbox, wait, &mut inputs),
            None => transport::drain(&self.inbox, &mut inputs),
        };
        if taken.is_err() {
            return false;
        }
        for input in inputs.drain(..) {
            self.take(input);
        }
        self.inputs = inputs;
        let now = Instant::now();
        if now >= self.next_tick {
            self.raw.tick();
            self.next_tick = now + TICK;
        }
        if let Err(message) = self.on_ready() {
            tracing::error!("replication stopped: {message}");
            let _ = self.shared.failed.set(message.clone());
            self.shared.abandon(message);
            return false;
        }
        true
    }

    fn take(&mut self, input: Input) {
        match input {
            Input::Propose(data) => {
                // Only a leader proposes its own batches. raft-rs would
                // forward a follower's proposal to the leader, which would
                // commit a deposed node's batch under command numbers it
                // has given to commands of its own: dropped instead (the
                // node is deposed, and restarts from the committed history).
                if self.raw.raft.state == StateRole::Leader
                    && !self.shared.deposed.load(Ordering::Relaxed)
                {
                    let _ = self.raw.propose(Vec::new(), data);
                }
            }
            Input::Raft(mut m) => {
                match m.get_msg_type() {
                    MessageType::MsgRequestVote | MessageType::MsgRequestPreVote
                        if self.blank && m.index > 0 =>
                    {
                        return;
                    }
                    MessageType::MsgAppend
                    | MessageType::MsgHeartbeat
                    | MessageType::MsgSnapshot => {
                        self.blank = false;
                        // A leader that last saw this node with its old log
                        // sends a commit beyond what a wiped log holds, and
                        // raft-rs panics on that; a lower commit in a
                        // heartbeat is harmless (the append that follows
                        // brings the entries, and their commit).
                        let last = self.raw.raft.raft_log.last_index();
                        if m.get_msg_type() == MessageType::MsgHeartbeat && m.commit > last {
                            m.commit = last;
                        }
                    }
                    _ => {}
                }
                let _ = self.raw.step(*m);
            }
        }
    }

    /// raft-rs's `Ready` protocol: send what may go before the disk,
    /// apply what is committed, persist entries and hard state, then send
    /// what needed them persisted, and advance.
    fn on_ready(&mut self) -> Result<(), String> {
        if !self.raw.has_ready() {
            return Ok(());
        }
        let mut ready = self.raw.ready();
        if !ready.messages().is_empty() {
            let messages = ready.take_messages();
            self.send(messages);
        }
        if !ready.snapshot().is_empty() {
            let snapshot = ready.snapshot().clone();
            self.install(snapshot)?;
        }
        // Committed entries go where they delay least: a leader's release
        // the reports waiting on them before its disk write; a follower's
        // to its engine after it has acknowledged the new entries, so the
        // pipeline thread it wakes does not take the core before the
        // acknowledgement, which the leader's clients wait for, has gone.
        let mut committed = ready.take_committed_entries();
        if self.raw.raft.state == StateRole::Leader {
            self.apply(std::mem::take(&mut committed))?;
        }
        let store = self.raw.mut_store();
        if !ready.entries().is_empty() {
            store
                .append(ready.entries())
                .map_err(|e| format!("raft log append: {e}"))?;
        }
        if let Some(hs) = ready.hs() {
            store.set_hard_state(hs);
        }
        store
            .persist()
            .map_err(|e| format!("cannot write the raft log: {e}"))?;
        if !ready.persisted_messages().is_empty() {
            let messages = ready.take_persisted_messages();
            self.send(messages);
        }
        self.apply(committed)?;
        let mut light = self.raw.advance(ready);
        if let Some(commit) = light.commit_index() {
            self.raw.mut_store().set_commit(commit);
        }
        let messages = light.take_messages();
        self.send(messages);
        self.apply(light.take_committed_entries())?;
        self.raw.advance_apply();
        self.observe();
        // A compaction's snapshot written: its record goes in at once.
        if self.writer.as_ref().is_some_and(SnapshotWriter::busy) {
            self.compaction_written()?;
        }
        if Instant::now() >= self.next_compaction {
            self.next_compaction = Instant::now() + COMPACTION_CHECK;
            self.compact()?;
        }
        Ok(())
    }

    /// Sends messages; a snapshot counts as delivered once handed to the
    /// transport (if it is lost, the follower's next refusal of an append
    /// makes the leader send it again).
    fn send(&mut self, messages: Vec<Message>) {
        let snapshots: Vec<u64> = messages
            .iter()
            .filter(|m| m.get_msg_type() == MessageType::MsgSnapshot)
            .map(|m| m.to)
            .collect();
        self.transport.send(messages);
        for to in snapshots {
            tracing::info!("sent node {to} a snapshot: it needs entries the log no longer has");
            self.raw.report_snapshot(to, SnapshotStatus::Finish);
        }
    }

    /// A leader's snapshot: into the Raft log, then to the owner's engine.
    fn install(&mut self, snapshot: Snapshot) -> Result<(), String> {
        let (snapshot_seq, _, _, last) = crate::snapshot::parts(&snapshot.data)
            .ok_or("a snapshot arrived whose data does not decode")?;
        tracing::info!(
            "installing the leader's snapshot: Raft index {}, commands to {last} \
             (engine snapshot at {snapshot_seq})",
            snapshot.get_metadata().index
        );
        // A compaction's write in flight would race this one for raft.snap.
        if let Some(writer) = self.writer.as_mut() {
            let _ = writer.finish();
        }
        self.raw
            .mut_store()
            .install(snapshot.clone(), last)
            .map_err(|e| e.to_string())?;
        self.hand_snapshot(&snapshot).map_err(|e| e.to_string())
    }

    /// Gives the owner a snapshot to install into its journal.
    fn hand_snapshot(&mut self, snapshot: &Snapshot) -> Result<(), ReplicationError> {
        let Some((snapshot_seq, engine, tail, last)) = crate::snapshot::parts(&snapshot.data)
        else {
            return Err(ReplicationError::Raft(raft::Error::Store(
                raft::StorageError::Other("the Raft snapshot's data does not decode".into()),
            )));
        };
        self.handed_seq = last;
        let _ = self.committed.send(Committed::Snapshot {
            snapshot_seq,
            engine: engine.to_vec(),
            tail: tail.to_vec(),
            last,
        });
        Ok(())
    }

    /// Replaces the applied, committed prefix of the log by a snapshot
    /// built on the engine's newest snapshot file the cluster committed.
    /// The snapshot file is written off this loop (`snapshot_writer.rs`);
    /// the step that finds it written appends its record.
    fn compact(&mut self) -> Result<(), String> {
        let Some(writer) = self.writer.as_mut() else {
            return Ok(());
        };
        if writer.busy() {
            return Ok(());
        }
        let Some(dir) = self.journal_dir.clone() else {
            return Ok(());
        };
        let committed = self.shared.committed_seq.load(Ordering::Relaxed);
        let applied = self.raw.raft.raft_log.applied;
        let store = self.raw.store();
        let (first, snap_seq) = store.snapshot_point();
        let Some((engine_seq, engine_path)) =
            crate::snapshot::newest_engine_snapshot(&dir, committed)
        else {
            return Ok(());
        };
        if engine_seq <= snap_seq {
            return Ok(());
        }
        // The entry holding the snapshot's last command: the compaction point.
        let Some(index) = (first + 1..=applied).find(|&i| {
            store
                .entry(i)
                .and_then(|e| batch::span(&e.data))
                .is_some_and(|(_, last)| last >= engine_seq)
        }) else {
            return Ok(());
        };
        let Some(entry) = store.entry(index) else {
            return Ok(());
        };
        let Some((_, last)) = batch::span(&entry.data) else {
            return Ok(());
        };
        let mut tail = Vec::new();
        for record in batch::records(&entry.data) {
            let r = record.map_err(|e| format!("entry {index} does not decode: {e}"))?;
            if r.seq > engine_seq {
                journal::record::encode(&mut tail, r.seq, r.ts, &r.command);
            }
        }
        let mut meta = SnapshotMetadata {
            index,
            term: entry.term,
            ..Default::default()
        };
        meta.set_conf_state(self.raw.raft.prs().conf().to_conf_state());
        let job = Job {
            dir: store.dir().to_owned(),
            engine_path,
            engine_seq,
            tail,
            last,
            meta,
        };
        writer.submit(job)
    }

    /// If the writer has finished: the log now starts after its snapshot.
    fn compaction_written(&mut self) -> Result<(), String> {
        match self.writer.as_mut().and_then(SnapshotWriter::poll) {
            Some(Done::Written {
                snapshot,
                last,
                engine_seq,
                took,
            }) => self.compacted(snapshot, last, engine_seq, took),
            Some(Done::Failed(e)) => Err(e),
            // Pruned meanwhile: the next look finds the newer one.
            Some(Done::Gone) | None => Ok(()),
        }
    }

    /// A snapshot the writer has put on disk: the log now starts after it.
    fn compacted(
        &mut self,
        snapshot: Snapshot,
        last: u64,
        engine_seq: u64,
        took: std::time::Duration,
    ) -> Result<(), String> {
        // Timed for the log line: this part runs in the Raft step, on the
        // loop that commits.
        let started = Instant::now();
        let index = snapshot.get_metadata().index;
        let deleted = self
            .raw
            .mut_store()
            .compact_written(snapshot, last)
            .map_err(|e| e.to_string())?;
        let (kept, bytes) = self.raw.store().kept();
        tracing::info!(
            "compacted the Raft log to index {index} (commands to {last}, on the engine \
             snapshot at {engine_seq}): snapshot written in {:.1} ms off the loop, the \
             log in {:.1} ms on it, keeping {kept} entries ({} MB), deleting {deleted} \
             segment(s)",
            took.as_secs_f64() * 1e3,
            started.elapsed().as_secs_f64() * 1e3,
            bytes as f64 / 1e6
        );
        Ok(())
    }

    fn apply(&mut self, entries: Vec<Entry>) -> Result<(), String> {
        let mut newest = None;
        for entry in entries {
            if entry.get_entry_type() != EntryType::EntryNormal {
                continue;
            }
            let Some((first, last)) = batch::span(&entry.data) else {
                continue;
            };
            newest = Some(last);
            // A serving leader's engine ran its own batches already.
            if last > self.handed_seq && !self.shared.serving.load(Ordering::Relaxed) {
                self.handed_seq = last;
                // The owner may be gone (shutting down): nothing to hand to.
                let _ = self.committed.send(Committed::Batch {
                    data: entry.data.to_vec(),
                    first,
                    last,
                });
            }
        }
        if let Some(last) = newest {
            self.shared.committed_seq.store(last, Ordering::Relaxed);
            // Only while leading: once a newer leader's entries commit here
            // (this node deposed in the same step), the command numbers are
            // that leader's, not those of what this engine ran.
            if let Some(release) = self.shared.release.get()
                && self.raw.raft.state == StateRole::Leader
                && !self.shared.deposed.load(Ordering::Relaxed)
            {
                release.publish(last);
            }
            self.shared.wake();
        }
        Ok(())
    }

    /// Publishes the role, and whether the owner may serve or must stop.
    fn observe(&mut self) {
        let raft = &self.raw.raft;
        let leader = raft.state == StateRole::Leader;
        self.shared.leader.store(raft.leader_id, Ordering::Relaxed);
        self.shared.term.store(raft.term, Ordering::Relaxed);
        self.shared.is_leader.store(leader, Ordering::Relaxed);
        // A new leader knows what is committed only once an entry of its
        // own term is (Raft §5.4.2): until then it must not serve.
        let committed = raft.raft_log.committed;
        let own_term_committed = raft.raft_log.term(committed).ok() == Some(raft.term);
        let can_lead = leader && own_term_committed && raft.raft_log.applied >= committed;
        // Release: pairs with the Acquire load in `Node::can_lead`, so an
        // owner that sees `true` also sees every batch sent before it.
        if can_lead != self.shared.can_lead.swap(can_lead, Ordering::Release) {
            self.shared.wake();
        }
        if self.was_leader && !leader && self.shared.serving.load(Ordering::Relaxed) {
            self.shared.abandon(format!(
                "node {} lost the lead in term {}",
                raft.id, raft.term
            ));
        }
        self.was_leader = leader;
    }
}
