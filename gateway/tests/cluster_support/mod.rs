//! Three `gateway --cluster` processes on loopback, and clients that
//! follow the leader: what the cluster tests (cluster.rs) drive.

#![allow(dead_code)] // each test file uses its own part

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gateway::protocol::{
    ClientMessage, Decoded, Envelope, Logon, MAX_FRAME_BYTES, NewOrder, ReplayStatus,
    ReportReplayRequest, ServerMessage, Side, TimeInForce, decode_frame, encode_frame,
};

/// Cluster tests in one binary run one at a time: each starts three nodes
/// and loads them, and two clusters at once on a 2-vCPU machine starve
/// each other into timeouts that say nothing about either.
pub fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static CLUSTERS: std::sync::Mutex<()> = std::sync::Mutex::new(());
    // A test that failed holding it poisons it; the next may still run.
    CLUSTERS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Loopback ports free now (bound and released: the nodes bind them next).
pub fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// A cluster of `gateway` processes in a temporary directory.
pub struct Cluster {
    pub dir: PathBuf,
    pub file: PathBuf,
    pub clients: Vec<SocketAddr>,
    pub nodes: Vec<Option<Child>>,
    extra: Vec<String>,
}

impl Cluster {
    /// Writes the cluster file and starts `n` nodes.
    pub fn start(name: &str, n: usize, extra: &[&str]) -> Cluster {
        let dir = std::env::temp_dir().join(format!("cluster-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let ports = free_ports(2 * n);
        let mut text = String::new();
        let mut clients = Vec::new();
        for i in 0..n {
            let client: SocketAddr = format!("127.0.0.1:{}", ports[2 * i + 1]).parse().unwrap();
            text.push_str(&format!(
                "[[node]]\nid = {}\nraft = \"127.0.0.1:{}\"\nclient = \"{client}\"\n",
                i + 1,
                ports[2 * i]
            ));
            clients.push(client);
        }
        let file = dir.join("cluster.toml");
        std::fs::write(&file, text).unwrap();
        let mut cluster = Cluster {
            dir,
            file,
            clients,
            nodes: (0..n).map(|_| None).collect(),
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        for i in 0..n {
            cluster.spawn(i);
        }
        cluster
    }

    pub fn journal(&self, i: usize) -> PathBuf {
        self.dir.join(format!("journal-{}", i + 1))
    }

    pub fn raft_dir(&self, i: usize) -> PathBuf {
        self.dir.join(format!("journal-{}-raft", i + 1))
    }

    pub fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.dir.join(format!("node-{}.log", i + 1))).unwrap_or_default()
    }

    /// Starts node `i` (0-based) on its journal; its log is appended to.
    pub fn spawn(&mut self, i: usize) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("node-{}.log", i + 1)))
            .unwrap();
        // `os` unless the test asks otherwise.
        let durability = if self.extra.iter().any(|a| a == "--durability") {
            &[][..]
        } else {
            &["--durability", "os"][..]
        };
        let child = Command::new(env!("CARGO_BIN_EXE_gateway"))
            .arg("--cluster")
            .arg(&self.file)
            .args(["--node", &(i + 1).to_string(), "--journal"])
            .arg(self.journal(i))
            .args(durability)
            .args([
                "--insecure-no-auth",
                "--max-orders-per-book",
                "8192",
                "--max-band-ticks",
                "262144",
            ])
            .args(&self.extra)
            .env("RUST_LOG", "info,raft=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.nodes[i] = Some(child);
    }

    /// `kill -9`.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// Sends `signal` (SIGSTOP, SIGCONT, SIGTERM) to node `i`.
    pub fn signal(&self, i: usize, signal: libc::c_int) {
        let child = self.nodes[i].as_ref().expect("node running");
        let pid = libc::pid_t::try_from(child.id()).unwrap();
        // SAFETY: kill(2) signals our own child, not yet waited for, so
        // the pid is still its own.
        let sent = unsafe { libc::kill(pid, signal) };
        assert_eq!(sent, 0, "kill: {}", std::io::Error::last_os_error());
    }

    /// SIGTERM, and waits for it to exit; returns whether it exited cleanly.
    pub fn stop(&mut self, i: usize) -> bool {
        if self.nodes[i].is_none() {
            return true;
        }
        self.signal(i, libc::SIGCONT);
        self.signal(i, libc::SIGTERM);
        let mut child = self.nodes[i].take().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status.success();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops every node (SIGTERM), each of which must exit cleanly, and
    /// reads back what each journal holds.
    pub fn stop_all(&mut self) -> Vec<(Vec<journal::Record>, u64)> {
        (0..self.nodes.len())
            .map(|i| {
                assert!(
                    self.stop(i),
                    "node {} did not stop cleanly:\n{}",
                    i + 1,
                    self.log(i)
                );
                journal_state(&self.journal(i))
            })
            .collect()
    }

    /// The node serving clients: the one whose client address takes a
    /// `Logon`, asked in turn until `timeout`. Returns its index.
    pub fn leader(&self, timeout: Duration) -> Option<usize> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            for (i, addr) in self.clients.iter().enumerate() {
                if self.nodes[i].is_none() {
                    continue;
                }
                if let Ok(Answer::Ack(_)) = Session::logon(*addr, 999) {
                    return Some(i);
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in self.nodes.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// What a node answered a `Logon` with.
pub enum Answer {
    Ack(Session),
    NotLeader(Option<SocketAddr>),
    Other(Option<ServerMessage>),
}

/// A client session, nonblocking-ish (short read timeouts).
pub struct Session {
    stream: TcpStream,
    seq: u64,
    buf: Vec<u8>,
    pub closed: bool,
}

impl Session {
    /// Connects and logs on as `account`.
    pub fn logon(addr: SocketAddr, account: u32) -> std::io::Result<Answer> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_millis(300))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_millis(50)))?;
        let mut s = Session {
            stream,
            seq: 0,
            buf: Vec::new(),
            closed: false,
        };
        s.send(ClientMessage::Logon(Logon {
            account,
            cancel_on_disconnect: false,
            password: [0; 32],
        }));
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline && !s.closed {
            match s.recv() {
                Some(ServerMessage::LogonAck(_)) => return Ok(Answer::Ack(s)),
                Some(ServerMessage::NotLeader(n)) => return Ok(Answer::NotLeader(n.leader_addr())),
                Some(ServerMessage::Heartbeat) | None => {}
                other => return Ok(Answer::Other(other)),
            }
        }
        Ok(Answer::Other(None))
    }

    pub fn send(&mut self, msg: ClientMessage) {
        self.seq += 1;
        let mut frame = [0u8; MAX_FRAME_BYTES];
        let n = encode_frame(&Envelope { seq: self.seq, msg }, &mut frame).unwrap();
        if self.stream.write_all(&frame[..n]).is_err() {
            self.closed = true;
        }
    }

    pub fn order(&mut self, coid: u64, side: Side, price: i64) {
        self.send(ClientMessage::NewOrder(NewOrder {
            client_order_id: coid,
            instrument: 1,
            side,
            price,
            qty: 1,
            time_in_force: TimeInForce::Gtc,
        }));
    }

    /// Sends an order per client order id in `coids` (side and price from
    /// `order_at`), `pace` apart.
    pub fn orders(&mut self, coids: std::ops::RangeInclusive<u64>, pace: Duration) {
        for n in coids {
            let (side, price) = order_at(n);
            self.order(n, side, price);
            std::thread::sleep(pace);
        }
    }

    /// Reads until `n` orders are answered (accepted or rejected) or
    /// `within` has passed; returns how many were.
    pub fn answers(&mut self, n: usize, within: Duration) -> usize {
        let deadline = Instant::now() + within;
        let mut answered = 0;
        while answered < n && Instant::now() < deadline {
            if let Some(ServerMessage::Accepted(_) | ServerMessage::Rejected(_)) = self.recv() {
                answered += 1;
            }
        }
        answered
    }

    /// The next message, or `None` after one read timeout (or closed).
    pub fn recv(&mut self) -> Option<ServerMessage> {
        loop {
            if let Ok(Decoded::Message { envelope, consumed }) =
                decode_frame::<ServerMessage>(&self.buf)
            {
                self.buf.drain(..consumed);
                return Some(envelope.msg);
            }
            if self.closed {
                return None;
            }
            let mut chunk = [0u8; 65536];
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    self.closed = true;
                    return None;
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return None;
                }
                Err(_) => {
                    self.closed = true;
                    return None;
                }
            }
        }
    }

    /// Keeps reading for `quiet`, adding every execution report to `into`:
    /// what was still on its way when a client stopped sending.
    pub fn drain_reports(&mut self, quiet: Duration, into: &mut Vec<ServerMessage>) {
        let until = Instant::now() + quiet;
        while Instant::now() < until {
            if let Some(m) = self.recv()
                && m.exec().is_some()
            {
                into.push(m);
            }
        }
    }

    /// Every report of this account after `(0, 0)` up to its logon, as
    /// the node recomputes them from its journal.
    pub fn replay_all(&mut self) -> Vec<ServerMessage> {
        let mut after = (0, 0);
        let mut all = Vec::new();
        loop {
            self.send(ClientMessage::ReportReplayRequest(ReportReplayRequest {
                after_seq: after.0,
                after_index: after.1,
            }));
            let deadline = Instant::now() + Duration::from_secs(20);
            let mut got = Vec::new();
            let end = loop {
                assert!(
                    Instant::now() < deadline && !self.closed,
                    "no ReportReplayEnd"
                );
                match self.recv() {
                    Some(ServerMessage::ReportReplayEnd(end)) => break end,
                    Some(m) if m.exec().is_some() => got.push(m),
                    _ => {}
                }
            };
            all.extend(got.split_off(got.len() - end.count as usize));
            match end.status {
                ReplayStatus::Complete => return all,
                ReplayStatus::More => after = (end.resume_seq, end.resume_index),
                other => panic!("replay ended {other:?}"),
            }
        }
    }
}

/// Logs on to whichever node leads, following `NotLeader` answers, for
/// up to `timeout`.
pub fn logon_leader(addrs: &[SocketAddr], account: u32, timeout: Duration) -> Option<Session> {
    let deadline = Instant::now() + timeout;
    let mut next: Option<SocketAddr> = None;
    let mut i = 0;
    while Instant::now() < deadline {
        let addr = next.take().unwrap_or_else(|| {
            i += 1;
            addrs[i % addrs.len()]
        });
        match Session::logon(addr, account) {
            Ok(Answer::Ack(s)) => return Some(s),
            Ok(Answer::NotLeader(Some(leader))) => next = Some(leader),
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    None
}

/// Every report a client received, by execution id, in arrival order.
pub type Reports = Vec<ServerMessage>;

/// Checks that every report in `live` is in `replayed` with the same
/// execution id and content, in the same order.
pub fn assert_reproduced(account: u32, live: &Reports, replayed: &Reports) {
    let by_id: HashMap<(u64, u32), (usize, &ServerMessage)> = replayed
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let e = m.exec().unwrap();
            ((e.seq, e.index), (i, m))
        })
        .collect();
    let mut last = None;
    for m in live {
        let e = m.exec().unwrap();
        let Some(&(at, replay)) = by_id.get(&(e.seq, e.index)) else {
            panic!(
                "account {account}: a report the client received is not in the new leader's \
                 journal: {m:?}"
            );
        };
        assert_eq!(replay, m, "account {account}: the journal's report differs");
        assert!(last < Some(at), "account {account}: reports out of order");
        last = Some(at);
    }
}

/// Each node's journal, read back whole, with its state hash.
pub fn journal_state(dir: &Path) -> (Vec<journal::Record>, u64) {
    let mut records = Vec::new();
    let first = journal::first_retained_seq(dir).unwrap().unwrap_or(1);
    journal::read_journal(dir, first - 1, |r| records.push(*r)).unwrap();
    let config = matching::config::EngineConfig {
        max_orders_per_book: 8192,
        max_levels_per_side: 262_144,
        ..Default::default()
    };
    let (engine, _) = journal::recover(dir, config).unwrap();
    (records, testkit::state_hash::state_hash(&engine))
}

/// Every node ends at the same command with the same state hash, and
/// where their journals overlap (retention and snapshot installs remove
/// the start of some), they hold the same records.
pub fn assert_same_history(states: &[(Vec<journal::Record>, u64)]) {
    let last = |records: &[journal::Record]| records.last().map_or(0, |r| r.seq);
    let (first_records, first_hash) = &states[0];
    for (i, (records, hash)) in states.iter().enumerate() {
        assert_eq!(
            last(records),
            last(first_records),
            "node {} ends elsewhere",
            i + 1
        );
        assert_eq!(hash, first_hash, "node {}'s state hash differs", i + 1);
        let from = records
            .first()
            .map_or(0, |r| r.seq)
            .max(first_records.first().map_or(0, |r| r.seq));
        let a: Vec<_> = records.iter().filter(|r| r.seq >= from).collect();
        let b: Vec<_> = first_records.iter().filter(|r| r.seq >= from).collect();
        assert_eq!(a, b, "node {}'s journal differs from node 1's", i + 1);
    }
}

/// Sides and prices that cross now and then, so fills happen.
pub fn order_at(n: u64) -> (Side, i64) {
    let side = if n.is_multiple_of(2) {
        Side::Buy
    } else {
        Side::Sell
    };
    let price = match side {
        Side::Buy => 100 + (n % 7) as i64,
        Side::Sell => 103 + (n % 5) as i64,
    };
    (side, price)
}
