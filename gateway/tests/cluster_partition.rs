//! A real network partition (scripts/cluster-partition.sh sets up the
//! network and runs this test): three `gateway --cluster` processes, each
//! in a Linux network namespace of its own with two links, one on a client
//! bridge (10.77.0.i:7000) and one on a raft bridge (10.77.1.i:7100).
//!
//! The leader's raft link is cut while a client keeps trading with it
//! through its client link. A leader releases a report only once a
//! majority holds its command, so from the cut on the old leader may still
//! deliver reports of commands the followers already held, and nothing
//! else: every report the client received, before or after the cut, must
//! be reproduced by the final committed history (report replay from the
//! new leader, and the command at its `exec.seq` in the journal), and no
//! order sent to the old leader after the cut may be answered at all. The
//! old leader steps down (check_quorum) and restarts from the committed
//! history, cutting what it ran alone; the other two elect a leader that
//! the client trades with; the link heals, the old leader follows the new
//! one, and all three journals end identical with equal state hashes.
//!
//! `#[ignore]`: it needs root and the script's namespaces.

#![allow(clippy::unwrap_used)] // a test that cannot set up should fail loudly

mod cluster_support;

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cluster_support::{Answer, Session, assert_reproduced, journal_state, logon_leader, order_at};
use gateway::protocol::ServerMessage;

/// Every node's client port (on its 10.77.0.i) and raft port (on 10.77.1.i).
const CLIENT_PORT: u16 = 7000;
const RAFT_PORT: u16 = 7100;
/// The cluster file's timers (the defaults, written out).
const ELECTION_TIMEOUT_MS: u64 = 500;
const HEARTBEAT_MS: u64 = 50;
/// How long the client keeps sending to the old leader after the cut.
const STICK: Duration = Duration::from_millis(2500);
/// Orders a client sends per turn (then it reads until a read times out).
const BURST: u64 = 4;
/// The account the test's own probes (who leads?) log on as.
const PROBE: u32 = 999;

/// The network scripts/cluster-partition.sh made, from its environment.
struct Net {
    namespaces: Vec<String>,
    client_ips: Vec<IpAddr>,
    raft_ips: Vec<IpAddr>,
    /// The namespace holding the bridges.
    hub: String,
    /// Each node's port on the raft bridge (in the hub namespace).
    raft_ports: Vec<String>,
}

fn env_list(name: &str) -> Vec<String> {
    let value = std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: this test runs in the network namespaces that \
             scripts/cluster-partition.sh sets up (as root); run that script"
        )
    });
    let items: Vec<String> = value.split(',').map(|s| s.trim().to_string()).collect();
    assert_eq!(
        items.len(),
        3,
        "{name}={value}: three comma-separated items, node 1 first"
    );
    items
}

impl Net {
    fn from_env() -> Net {
        let ips = |name: &str| -> Vec<IpAddr> {
            env_list(name)
                .iter()
                .map(|s| {
                    s.parse()
                        .unwrap_or_else(|e| panic!("{name}: `{s}` is not an IP address: {e}"))
                })
                .collect()
        };
        Net {
            namespaces: env_list("CLUSTER_PARTITION_NETNS"),
            client_ips: ips("CLUSTER_PARTITION_CLIENT_IPS"),
            raft_ips: ips("CLUSTER_PARTITION_RAFT_IPS"),
            hub: std::env::var("CLUSTER_PARTITION_HUB")
                .expect("CLUSTER_PARTITION_HUB is not set: run scripts/cluster-partition.sh"),
            raft_ports: env_list("CLUSTER_PARTITION_RAFT_PORTS"),
        }
    }

    /// Sets node `i`'s port on the raft bridge down (the cut) or up (the heal).
    fn set_raft_link(&self, i: usize, up: bool) {
        let state = if up { "up" } else { "down" };
        let args = ["-n", &self.hub, "link", "set", &self.raft_ports[i], state];
        let out = Command::new("ip").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Three `gateway --cluster` processes, node i in namespace i.
struct NsCluster {
    net: Net,
    dir: PathBuf,
    file: PathBuf,
    clients: Vec<SocketAddr>,
    nodes: Vec<Option<Child>>,
}

impl NsCluster {
    fn start(net: Net) -> NsCluster {
        let dir = std::env::temp_dir().join(format!("cluster-partition-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut text =
            format!("election_timeout_ms = {ELECTION_TIMEOUT_MS}\nheartbeat_ms = {HEARTBEAT_MS}\n");
        let mut clients = Vec::new();
        for i in 0..3 {
            let client = SocketAddr::new(net.client_ips[i], CLIENT_PORT);
            let raft = SocketAddr::new(net.raft_ips[i], RAFT_PORT);
            text.push_str(&format!(
                "\n[[node]]\nid = {}\nraft = \"{raft}\"\nclient = \"{client}\"\n",
                i + 1
            ));
            clients.push(client);
        }
        let file = dir.join("cluster.toml");
        std::fs::write(&file, text).unwrap();
        let mut cluster = NsCluster {
            net,
            dir,
            file,
            clients,
            nodes: (0..3).map(|_| None).collect(),
        };
        for i in 0..3 {
            cluster.spawn(i);
        }
        cluster
    }

    fn journal(&self, i: usize) -> PathBuf {
        self.dir.join(format!("journal-{}", i + 1))
    }

    fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.dir.join(format!("node-{}.log", i + 1))).unwrap_or_default()
    }

    /// Every node's log (its last 200 lines), for a failure message.
    fn logs(&self) -> String {
        (0..3)
            .map(|i| {
                let log = self.log(i);
                let lines: Vec<&str> = log.lines().collect();
                format!(
                    "---- node {} ({}) log, last {} of {} lines ----\n{}",
                    i + 1,
                    self.net.namespaces[i],
                    lines.len().min(200),
                    lines.len(),
                    lines[lines.len().saturating_sub(200)..].join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Panics if a node's process has exited (a node stops only when told).
    fn assert_running(&mut self, when: &str) {
        for (i, child) in self.nodes.iter_mut().enumerate() {
            if let Some(child) = child
                && let Some(status) = child.try_wait().unwrap()
            {
                panic!("{when}: node {} exited ({status})", i + 1);
            }
        }
    }

    /// Starts node `i` (0-based) inside its namespace: `ip netns exec`
    /// execs the gateway in place, so the child's pid is the gateway's.
    fn spawn(&mut self, i: usize) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("node-{}.log", i + 1)))
            .unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &self.net.namespaces[i]])
            .arg(env!("CARGO_BIN_EXE_gateway"))
            .arg("--cluster")
            .arg(&self.file)
            .args(["--node", &(i + 1).to_string(), "--journal"])
            .arg(self.journal(i))
            .args([
                "--durability",
                "os",
                "--insecure-no-auth",
                "--max-orders-per-book",
                "8192",
                "--max-band-ticks",
                "262144",
            ])
            .env("RUST_LOG", "info,raft=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.nodes[i] = Some(child);
    }

    /// SIGTERM, and waits for the exit; returns whether it exited 0.
    fn stop(&mut self, i: usize) -> bool {
        let Some(mut child) = self.nodes[i].take() else {
            return true;
        };
        let pid = libc::pid_t::try_from(child.id()).unwrap();
        // SAFETY: kill(2) signals our own child, not yet waited for, so
        // the pid is still its own.
        let sent = unsafe { libc::kill(pid, libc::SIGTERM) };
        assert_eq!(sent, 0, "kill: {}", std::io::Error::last_os_error());
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

    /// The node of `among` whose client address takes a `Logon`, asked in
    /// turn until `timeout`.
    fn leader(&mut self, among: &[usize], timeout: Duration) -> Option<usize> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            self.assert_running("looking for the leader");
            for &i in among {
                if let Ok(Answer::Ack(_)) = Session::logon(self.clients[i], PROBE) {
                    return Some(i);
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// What node `i`'s client address answers a `Logon` with, in words.
    fn answer(&self, i: usize) -> (String, Option<SocketAddr>) {
        match Session::logon(self.clients[i], PROBE) {
            Ok(Answer::Ack(_)) => ("LogonAck (it serves)".into(), None),
            Ok(Answer::NotLeader(to)) => (format!("NotLeader({to:?})"), to),
            Ok(Answer::Other(m)) => (format!("{m:?}"), None),
            Err(e) => (format!("no connection: {e}"), None),
        }
    }
}

impl Drop for NsCluster {
    fn drop(&mut self) {
        let failed = std::thread::panicking();
        if failed {
            eprintln!(
                "\n==== the test failed; the nodes' logs (files kept in {}) ====\n{}",
                self.dir.display(),
                self.logs()
            );
        }
        for child in self.nodes.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::env::var_os("CLUSTER_PARTITION_KEEP").is_some() {
            eprintln!("kept the journals and logs in {}", self.dir.display());
        } else if !failed {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Waits until `done`, or panics saying `what` (and `state()`).
fn wait_for(
    what: &str,
    timeout: Duration,
    mut done: impl FnMut() -> bool,
    state: impl Fn() -> String,
) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what} ({})",
            state()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// What the clients and the test share.
#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    /// When the raft link went down (set once it is down).
    cut: Mutex<Option<Instant>>,
    /// Execution reports received from the old leader's address.
    from_old: AtomicUsize,
    /// Execution reports received from the leader found after the cut.
    from_new: AtomicUsize,
}

struct Received {
    at: Instant,
    /// On a session opened to the old leader's client address.
    from_old: bool,
    msg: ServerMessage,
}

struct Sent {
    coid: u64,
    /// Just before the bytes were written.
    at: Instant,
    to_old: bool,
}

/// What one client did.
struct ClientLog {
    account: u32,
    sent: Vec<Sent>,
    received: Vec<Received>,
    /// When the old leader closed this client's session after the cut.
    old_closed: Option<Instant>,
    /// Logons the old leader refused (or could not take) after the cut.
    old_refused: usize,
}

/// One account's client: trades with the old leader (`old`) until
/// `STICK` after the cut, reconnecting to it whenever its session closes,
/// then with whichever node leads; records everything with its time.
fn client(account: u32, old: SocketAddr, addrs: Vec<SocketAddr>, shared: Arc<Shared>) -> ClientLog {
    let mut log = ClientLog {
        account,
        sent: Vec::new(),
        received: Vec::new(),
        old_closed: None,
        old_refused: 0,
    };
    let mut coid = u64::from(account) << 32;
    let mut session: Option<(Session, bool)> = None;
    let take = |log: &mut ClientLog, m: ServerMessage, from_old: bool| {
        if m.exec().is_some() {
            let counter = if from_old {
                &shared.from_old
            } else {
                &shared.from_new
            };
            counter.fetch_add(1, Ordering::Relaxed);
            log.received.push(Received {
                at: Instant::now(),
                from_old,
                msg: m,
            });
        }
    };
    while !shared.stop.load(Ordering::Relaxed) {
        let cut = *shared.cut.lock().unwrap();
        let stick = cut.is_none_or(|c| c.elapsed() < STICK);
        if !stick && matches!(session, Some((_, true))) {
            session = None;
        }
        let Some((s, to_old)) = session.as_mut() else {
            if stick {
                match Session::logon(old, account) {
                    Ok(Answer::Ack(s)) => session = Some((s, true)),
                    _ => {
                        if cut.is_some() {
                            log.old_refused += 1;
                        }
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
            } else {
                session = logon_leader(&addrs, account, Duration::from_secs(1)).map(|s| (s, false));
            }
            continue;
        };
        let to_old = *to_old;
        for _ in 0..BURST {
            coid += 1;
            let (side, price) = order_at(coid);
            let at = Instant::now();
            s.order(coid, side, price);
            log.sent.push(Sent { coid, at, to_old });
        }
        while let Some(m) = s.recv() {
            take(&mut log, m, to_old);
        }
        if s.closed {
            if to_old && cut.is_some() && log.old_closed.is_none() {
                log.old_closed = Some(Instant::now());
            }
            session = None;
        }
    }
    if let Some((s, to_old)) = session.as_mut() {
        let to_old = *to_old;
        let quiet = Instant::now() + Duration::from_millis(500);
        while Instant::now() < quiet {
            if let Some(m) = s.recv() {
                take(&mut log, m, to_old);
            }
        }
    }
    log
}

fn kind(m: &ServerMessage) -> &'static str {
    match m {
        ServerMessage::Accepted(_) => "Accepted",
        ServerMessage::Rejected(_) => "Rejected",
        ServerMessage::Fill(_) => "Fill",
        ServerMessage::Cancelled(_) => "Cancelled",
        ServerMessage::Replaced(_) => "Replaced",
        _ => "other",
    }
}

#[test]
#[ignore = "needs root and the network namespaces of scripts/cluster-partition.sh"]
fn a_leader_cut_off_from_its_followers_releases_nothing_it_cannot_commit() {
    let started = Instant::now();
    let mut cluster = NsCluster::start(Net::from_env());
    let clients = cluster.clients.clone();
    eprintln!(
        "cluster: {} (nodes in {}; journals in {})",
        cluster.file.display(),
        cluster.net.namespaces.join(", "),
        cluster.dir.display()
    );

    // 1. A leader, and both followers naming it: all three up and linked.
    let leader = cluster
        .leader(&[0, 1, 2], Duration::from_secs(30))
        .unwrap_or_else(|| panic!("no node took a logon within 30 s"));
    let found = started.elapsed();
    for f in (0..3).filter(|&f| f != leader) {
        wait_for(
            &format!("node {} to name node {} as leader", f + 1, leader + 1),
            Duration::from_secs(15),
            || cluster.answer(f).1 == Some(clients[leader]),
            || cluster.answer(f).0,
        );
    }
    eprintln!(
        "leader found: node {} (client {}, raft {}:{RAFT_PORT}), {:?} after the start; \
         both followers answer NotLeader({})",
        leader + 1,
        clients[leader],
        cluster.net.raft_ips[leader],
        found,
        clients[leader]
    );

    // 2. Clients trade with it.
    let shared = Arc::new(Shared::default());
    let traders: Vec<_> = [1u32, 2]
        .into_iter()
        .map(|account| {
            let (addrs, shared) = (clients.clone(), Arc::clone(&shared));
            let old = clients[leader];
            std::thread::spawn(move || client(account, old, addrs, shared))
        })
        .collect();
    wait_for(
        "300 reports from the leader before the cut",
        Duration::from_secs(30),
        || shared.from_old.load(Ordering::Relaxed) >= 300,
        || format!("{} so far", shared.from_old.load(Ordering::Relaxed)),
    );

    // 3. The cut: the leader's raft link goes down, its client link stays.
    cluster.assert_running("before the cut");
    let cutting = Instant::now();
    cluster.net.set_raft_link(leader, false);
    let cut = Instant::now();
    *shared.cut.lock().unwrap() = Some(cut);
    eprintln!(
        "cut: node {}'s raft link ({} in {}) down at {:?} after the start (`ip` took {:?}), \
         {} reports received before it; the client keeps sending to node {} for {STICK:?}",
        leader + 1,
        cluster.net.raft_ports[leader],
        cluster.net.hub,
        cut - started,
        cut - cutting,
        shared.from_old.load(Ordering::Relaxed),
        leader + 1
    );

    // 4. The other two elect a leader; the client reaches it once done
    // with the old one.
    let others: Vec<usize> = (0..3).filter(|&i| i != leader).collect();
    let new_leader = cluster
        .leader(&others, Duration::from_secs(15))
        .unwrap_or_else(|| panic!("no new leader among the other two within 15 s of the cut"));
    let elected = cut.elapsed();
    eprintln!(
        "new leader: node {} serving clients {elected:?} after the cut",
        new_leader + 1
    );
    wait_for(
        "200 reports from the new leader",
        STICK + Duration::from_secs(30),
        || shared.from_new.load(Ordering::Relaxed) >= 200,
        || format!("{} so far", shared.from_new.load(Ordering::Relaxed)),
    );
    // Still cut off, the old leader must not serve (no second leader).
    let (still_cut, _) = cluster.answer(leader);
    assert!(
        !still_cut.starts_with("LogonAck"),
        "the old leader, cut off from both followers, still takes logons {:?} after the cut",
        cut.elapsed()
    );
    eprintln!(
        "while cut off ({:?} after the cut) node {} answers a logon with {still_cut}",
        cut.elapsed(),
        leader + 1
    );

    // 5. Heal; the old leader follows the new one.
    cluster.net.set_raft_link(leader, true);
    let healed = Instant::now();
    eprintln!(
        "heal: node {}'s raft link up {:?} after the cut",
        leader + 1,
        healed - cut
    );
    wait_for(
        &format!(
            "node {} to rejoin and name node {} as leader",
            leader + 1,
            new_leader + 1
        ),
        Duration::from_secs(30),
        || cluster.answer(leader).1 == Some(clients[new_leader]),
        || format!("it answers {}", cluster.answer(leader).0),
    );
    let rejoined = healed.elapsed();
    let old_log = cluster.log(leader);
    let following = old_log.matches("following").count();
    eprintln!(
        "rejoined: node {} answers NotLeader({}) {rejoined:?} after the heal; its log says \
         \"following\" {following} times",
        leader + 1,
        clients[new_leader]
    );
    assert!(
        following >= 2,
        "node {}'s log does not show it following again after it led",
        leader + 1
    );
    // Trade on with all three linked, then stop the clients.
    cluster.assert_running("after the heal");
    let n = shared.from_new.load(Ordering::Relaxed);
    wait_for(
        "100 more reports after the heal",
        Duration::from_secs(30),
        || shared.from_new.load(Ordering::Relaxed) >= n + 100,
        || format!("{} so far", shared.from_new.load(Ordering::Relaxed) - n),
    );
    shared.stop.store(true, Ordering::Relaxed);
    let logs: Vec<ClientLog> = traders.into_iter().map(|t| t.join().unwrap()).collect();

    // 6. What the old leader released after the cut.
    let mut max_seq_before = 0;
    let mut before = 0;
    let mut after_cut: Vec<(u32, &Received)> = Vec::new();
    for log in &logs {
        for r in log.received.iter().filter(|r| r.from_old) {
            if r.at <= cut {
                before += 1;
                max_seq_before = max_seq_before.max(r.msg.exec().unwrap().seq);
            } else {
                after_cut.push((log.account, r));
            }
        }
    }
    after_cut.sort_by_key(|(_, r)| r.at);
    let last_before = logs
        .iter()
        .flat_map(|l| l.received.iter().filter(|r| r.from_old && r.at <= cut))
        .map(|r| r.at)
        .max();
    eprintln!(
        "the last report from the old leader before the cut came {:?} before it",
        cut - last_before.unwrap()
    );
    eprintln!(
        "reports from the old leader: {before} before the cut (highest exec.seq \
         {max_seq_before}), {} after it:",
        after_cut.len()
    );
    for (account, r) in &after_cut {
        let e = r.msg.exec().unwrap();
        eprintln!(
            "  cut+{:?}: account {account} {} exec.seq {} index {} (order {})",
            r.at - cut,
            kind(&r.msg),
            e.seq,
            e.index,
            r.msg.order_ref().unwrap().client_order_id & 0xffff_ffff
        );
    }
    // Orders that reached the old leader only after the cut: it sequenced
    // them alone, so none can ever commit, and none may be answered.
    let sent_after: HashSet<(u32, u64)> = logs
        .iter()
        .flat_map(|log| {
            log.sent
                .iter()
                .filter(|s| s.to_old && s.at > cut)
                .map(|s| (log.account, s.coid))
        })
        .collect();
    let old_closed = logs.iter().filter_map(|l| l.old_closed).min();
    eprintln!(
        "orders sent to the old leader after the cut: {}, answered: none may be; it closed \
         the client's session {:?} after the cut; it refused {} logons while the client \
         stuck to it",
        sent_after.len(),
        old_closed.map(|c| c - cut).unwrap_or_default(),
        logs.iter().map(|l| l.old_refused).sum::<usize>()
    );
    assert!(
        !sent_after.is_empty(),
        "the client sent nothing to the old leader after the cut: the check would not bite"
    );
    assert!(
        old_closed.is_some(),
        "the old leader never closed its clients' sessions after the cut (did it step down?)"
    );
    for log in &logs {
        for r in &log.received {
            let coid = r.msg.order_ref().unwrap().client_order_id;
            assert!(
                !sent_after.contains(&(log.account, coid)),
                "account {}: a report for an order sent to the old leader after the cut \
                 (never committable), received {:?} after the cut: {:?}",
                log.account,
                r.at.saturating_duration_since(cut),
                r.msg
            );
        }
    }

    // 7. Every report any client received is the final history's: report
    // replay from the (new) leader reproduces each, in order.
    for log in &logs {
        let live: Vec<ServerMessage> = log.received.iter().map(|r| r.msg).collect();
        let mut s = logon_leader(&clients, log.account, Duration::from_secs(10))
            .unwrap_or_else(|| panic!("account {}: no leader to replay from", log.account));
        let replayed = s.replay_all();
        assert!(
            live.len() > 100,
            "account {}: only {} reports",
            log.account,
            live.len()
        );
        assert_reproduced(log.account, &live, &replayed);
        eprintln!(
            "replay: account {}: all {} reports received ({} from the old leader, {} of them \
             after the cut) are in the new leader's replay of {} reports ({} committed but \
             never delivered live)",
            log.account,
            live.len(),
            log.received.iter().filter(|r| r.from_old).count(),
            after_cut.iter().filter(|(a, _)| *a == log.account).count(),
            replayed.len(),
            replayed.len() - live.len()
        );
    }

    // 8. Stop every node (the leader first, with its followers there to
    // commit its last commands) and compare what each holds.
    std::thread::sleep(Duration::from_millis(500));
    let order = [new_leader]
        .into_iter()
        .chain((0..3).filter(|&i| i != new_leader));
    for i in order {
        assert!(cluster.stop(i), "node {} did not stop cleanly", i + 1);
    }
    let states: Vec<_> = (0..3).map(|i| journal_state(&cluster.journal(i))).collect();
    for (i, (records, hash)) in states.iter().enumerate() {
        assert_eq!(
            records.len(),
            states[new_leader].0.len(),
            "node {}'s journal has {} commands, the new leader's {}",
            i + 1,
            records.len(),
            states[new_leader].0.len()
        );
        assert!(
            records == &states[new_leader].0,
            "node {}'s journal differs from the new leader's",
            i + 1
        );
        assert_eq!(
            hash,
            &states[new_leader].1,
            "node {}'s state hash differs",
            i + 1
        );
    }

    // 9. Strictly: the command behind every report received is in the
    // final journal at its `exec.seq` (same ingest time; for an order's
    // own answer, the same account and order), and no order sent to the old
    // leader after the cut is in it.
    let journal: HashMap<u64, &journal::Record> =
        states[new_leader].0.iter().map(|r| (r.seq, r)).collect();
    for log in &logs {
        for r in &log.received {
            let e = r.msg.exec().unwrap();
            let Some(record) = journal.get(&e.seq) else {
                panic!(
                    "account {}: a report for command {} (received {}) is not in the final \
                     journal: {:?}",
                    log.account,
                    e.seq,
                    if r.from_old {
                        "from the old leader"
                    } else {
                        "from the new leader"
                    },
                    r.msg
                );
            };
            assert_eq!(
                record.ts, e.transact_time_ns,
                "account {}: the journal's command {} is another than the report's: {:?} vs {:?}",
                log.account, e.seq, record, r.msg
            );
            if matches!(
                r.msg,
                ServerMessage::Accepted(_) | ServerMessage::Rejected(_)
            ) {
                let o = r.msg.order_ref().unwrap();
                assert!(
                    matches!(
                        record.command,
                        matching::Command::New { account, client_order_id, .. }
                            if account == log.account && client_order_id == o.client_order_id
                    ),
                    "account {}: command {} in the journal is not the reported order: {:?} vs {:?}",
                    log.account,
                    e.seq,
                    record,
                    r.msg
                );
            }
        }
    }
    for record in &states[new_leader].0 {
        if let matching::Command::New {
            account,
            client_order_id,
            ..
        } = record.command
        {
            assert!(
                !sent_after.contains(&(account, client_order_id)),
                "command {} in the final journal is an order sent to the old leader after the \
                 cut: {:?}",
                record.seq,
                record
            );
        }
    }

    // 10. The old leader stepped down and cut what it had run alone.
    let old_log = cluster.log(leader);
    let key: Vec<&str> = old_log
        .lines()
        .filter(|l| l.contains("lost the lead") || l.contains(" commands after "))
        .collect();
    assert!(
        old_log.contains("lost the lead"),
        "node {}'s log does not say it lost the lead",
        leader + 1
    );
    // "node 2: cut 8 commands after 192 (run while leading, never committed)"
    let (cut_commands, committed) = key
        .iter()
        .filter_map(|l| {
            let mut words = l.split(": cut ").nth(1)?.split(' ');
            let n = words.next()?.parse::<u64>().ok()?;
            let after = words.nth(2)?.parse::<u64>().ok()?;
            Some((n, after))
        })
        .next_back()
        .unwrap_or_else(|| {
            panic!(
                "node {} did not cut its journal back to the commit on stepping down: \
                 it ran nothing the others did not hold? (the check would not bite)",
                leader + 1
            )
        });
    let max_released = logs
        .iter()
        .flat_map(|l| l.received.iter().filter(|r| r.from_old))
        .map(|r| r.msg.exec().unwrap().seq)
        .max()
        .unwrap();
    assert!(
        max_released <= committed,
        "the old leader released a report of command {max_released}, after {committed}, \
         the last it knew committed"
    );
    assert!(cut_commands > 0, "{key:?}");
    // Of those, the ones the followers held before the cut: committed
    // after all, by the new leader (reports only by replay, or not at all).
    let sent_to_old: HashSet<(u32, u64)> = logs
        .iter()
        .flat_map(|log| {
            log.sent
                .iter()
                .filter(|s| s.to_old)
                .map(|s| (log.account, s.coid))
        })
        .collect();
    let adopted = states[new_leader]
        .0
        .iter()
        .filter(|r| r.seq > committed)
        .filter(|r| {
            matches!(r.command, matching::Command::New { account, client_order_id, .. }
                if sent_to_old.contains(&(account, client_order_id)))
        })
        .count();
    eprintln!(
        "old leader (node {}): released reports of commands up to {max_released}, its \
         commit was {committed}; it ran {cut_commands} more it never saw committed and cut \
         them from its journal ({adopted} of them the followers held, and the new leader \
         committed):",
        leader + 1
    );
    for line in &key {
        eprintln!("  {}", line.trim());
    }
    if let Some(line) = cluster
        .log(new_leader)
        .lines()
        .find(|l| l.contains(" leads (term"))
    {
        eprintln!("new leader (node {}):\n  {}", new_leader + 1, line.trim());
    }
    eprintln!(
        "final: {} commands in each of the three journals, record for record; state hash \
         {:#018x} on all three",
        states[0].0.len(),
        states[0].1
    );
    eprintln!(
        "timeline: leader found at start+{found:?}, cut at start+{:?}, new leader serving at \
         cut+{elected:?}, heal at cut+{:?}, rejoined at heal+{rejoined:?}; the test ran {:?}",
        cut - started,
        healed - cut,
        started.elapsed()
    );
}
