//! Three `gateway --cluster` processes on loopback (docs/replication.md):
//! followers answer `NotLeader` with the leader's address; the leader is
//! killed with `kill -9` under load and another serves within the
//! election timeout plus recovery; every report any client received is in
//! the new leader's journal; the old leader, restarted, drops what was
//! never committed and rejoins; and every node ends with the same journal
//! and state hash.

#![allow(clippy::unwrap_used)] // a test that cannot set up should fail loudly

mod cluster_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cluster_support::*;
use gateway::protocol::{ClientMessage, MassCancel, ServerMessage};

/// One account's client: sends orders at a steady pace to whichever node
/// leads, reconnecting (following `NotLeader`) when its node goes away,
/// and keeps every report it received.
fn trader(
    addrs: Vec<std::net::SocketAddr>,
    account: u32,
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicU64>,
) -> Reports {
    let mut reports = Vec::new();
    let mut coid = u64::from(account) << 32;
    let mut session = None;
    while !stop.load(Ordering::Relaxed) {
        let s = match session.as_mut() {
            Some(s) => s,
            None => {
                session = logon_leader(&addrs, account, Duration::from_secs(1));
                continue;
            }
        };
        coid += 1;
        let (side, price) = order_at(coid);
        s.order(coid, side, price);
        // Read what has come (one short read timeout at most).
        while let Some(m) = s.recv() {
            if m.exec().is_some() {
                answered.fetch_add(1, Ordering::Relaxed);
                reports.push(m);
            }
        }
        if s.closed {
            session = None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    if let Some(s) = session.as_mut() {
        s.drain_reports(Duration::from_millis(500), &mut reports);
    }
    reports
}

#[test]
fn kill_9_the_leader_under_load_and_nothing_acknowledged_is_lost() {
    let _alone = one_at_a_time();
    // Segments of 64 KiB: the killed leader's restart replays many.
    let mut cluster = Cluster::start("kill9", 3, &["--raft-segment-bytes", "65536"]);
    let leader = cluster
        .leader(Duration::from_secs(30))
        .unwrap_or_else(|| panic!("no leader; node 1 logged:\n{}", cluster.log(0)));
    // A follower names the leader.
    let follower = (leader + 1) % 3;
    match Session::logon(cluster.clients[follower], 1).unwrap() {
        Answer::NotLeader(addr) => assert_eq!(addr, Some(cluster.clients[leader])),
        _ => panic!("a follower took a logon"),
    }

    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicU64::new(0));
    let traders: Vec<_> = (1..=3)
        .map(|account| {
            let (addrs, stop, answered) = (
                cluster.clients.clone(),
                Arc::clone(&stop),
                Arc::clone(&answered),
            );
            std::thread::spawn(move || trader(addrs, account, stop, answered))
        })
        .collect();
    let wait_answers = |n: u64, what: &str| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while answered.load(Ordering::Relaxed) < n {
            assert!(
                Instant::now() < deadline,
                "{what}: only {answered:?} answered"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    wait_answers(600, "before the kill");

    cluster.kill(leader);
    let killed = Instant::now();
    let before = answered.load(Ordering::Relaxed);
    wait_answers(before + 1, "after the kill");
    let failover = killed.elapsed();
    let new_leader = cluster.leader(Duration::from_secs(10)).unwrap();
    assert_ne!(new_leader, leader);
    wait_answers(before + 600, "with the new leader");

    // The old leader comes back: it cuts what it ran but never committed,
    // and follows the new leader.
    cluster.spawn(leader);
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let live: Vec<Reports> = traders.into_iter().map(|t| t.join().unwrap()).collect();

    // Every report any client received, from either leader, is one the
    // new leader's journal reproduces, per order and in order.
    for (i, live) in live.iter().enumerate() {
        let account = i as u32 + 1;
        let mut s = logon_leader(&cluster.clients, account, Duration::from_secs(10)).unwrap();
        let replayed = s.replay_all();
        assert!(
            live.len() > 100,
            "account {account}: {} reports",
            live.len()
        );
        assert_reproduced(account, live, &replayed);
        // Ownership is sequenced state: on the new leader the account
        // still owns what rests, and can cancel it all.
        s.send(ClientMessage::MassCancel(MassCancel {
            instrument: 0,
            side: None,
        }));
        let deadline = Instant::now() + Duration::from_secs(10);
        let count = loop {
            assert!(
                Instant::now() < deadline,
                "account {account}: no MassCancelAck"
            );
            if let Some(ServerMessage::MassCancelAck(ack)) = s.recv() {
                break ack.count;
            }
        };
        assert!(
            count > 0,
            "account {account}: nothing of its own rests on the new leader"
        );
    }
    let fills = live
        .iter()
        .flatten()
        .filter(|m| matches!(m, ServerMessage::Fill(_)))
        .count();
    assert!(fills > 0, "the flow crosses");

    // The old leader follows again once it has recovered its journal
    // (seconds on a loaded machine: CI once stopped it 80 ms after it
    // began to follow). Then give the followers a few heartbeats to learn
    // the last commit, stop every node and compare what each holds.
    let deadline = Instant::now() + Duration::from_secs(30);
    while cluster.log(leader).matches("following").count() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    let states = cluster.stop_all();
    assert_same_history(&states);
    let restarted = cluster.log(leader);
    eprintln!(
        "failover: {failover:?} from kill -9 to the first report from the new leader; \
         {} commands in every journal",
        states[0].0.last().map_or(0, |r| r.seq)
    );
    assert!(
        failover < Duration::from_secs(5),
        "failover took {failover:?}"
    );
    assert!(restarted.matches("following").count() >= 2, "{restarted}");
}

#[test]
fn a_follower_restarted_from_an_empty_directory_catches_up_by_snapshot_and_log() {
    let _alone = one_at_a_time();
    // Engine snapshots every 200 commands, so the leader's Raft log is
    // compacted and the new node must be sent a snapshot; segments of 4 KiB,
    // so every node's log rolls, and deletes what compaction covers.
    let mut cluster = Cluster::start(
        "empty",
        3,
        &["--snapshot-every", "200", "--raft-segment-bytes", "4096"],
    );
    let leader = cluster.leader(Duration::from_secs(30)).unwrap();
    let mut s = logon_leader(&cluster.clients, 1, Duration::from_secs(5)).unwrap();
    let mut acks = 0;
    let mut await_acks = |s: &mut Session, n: usize| {
        acks += s.answers(n - acks, Duration::from_secs(30));
        assert_eq!(acks, n, "every order answered");
    };
    s.orders(1..=500, Duration::ZERO);
    await_acks(&mut s, 500);
    let follower = (leader + 1) % 3;
    cluster.kill(follower);
    std::fs::remove_dir_all(cluster.journal(follower)).unwrap();
    std::fs::remove_dir_all(cluster.raft_dir(follower)).unwrap();
    s.orders(501..=1000, Duration::ZERO);
    await_acks(&mut s, 1000);
    // The leader compacts its log (it looks once a second, onto the newest
    // engine snapshot the cluster has committed; on a loaded machine the
    // snapshot can take a while to be written, so wait for it).
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cluster.log(leader).contains("compacted the Raft log") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    cluster.spawn(follower);
    // It catches up while the cluster keeps trading: orders go on, answered
    // as they go, until the new node has installed the leader's snapshot
    // and restarted its engine from it (a loaded machine can take seconds
    // just to start a node), then 100 more, which it takes from the log.
    let installed = |c: &Cluster| {
        let log = c.log(follower);
        log.find("installed the leader's snapshot")
            .is_some_and(|at| log[at..].contains("pipeline::startup: recovered"))
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut next = 1001;
    while next <= 1500 || (!installed(&cluster) && Instant::now() < deadline) {
        s.orders(next..=next + 49, Duration::from_micros(500));
        next += 50;
        await_acks(&mut s, next as usize - 1);
    }
    s.orders(next..=next + 99, Duration::from_micros(500));
    next += 100;
    await_acks(&mut s, next as usize - 1);
    std::thread::sleep(Duration::from_millis(1000));
    let states = cluster.stop_all();
    let log = cluster.log(follower);
    assert!(
        log.contains("installed the leader's snapshot"),
        "the new node was not sent a snapshot:\n{log}"
    );
    assert!(cluster.log(leader).contains("compacted the Raft log"));
    // Every node rolled its log; the two that ran throughout also deleted
    // segments their compactions covered (the new node started from the
    // leader's snapshot, which replaced its whole log).
    for node in 0..3 {
        let log = cluster.log(node);
        assert!(
            log.contains("started Raft log segment"),
            "node {node} never rolled:\n{log}"
        );
        assert!(
            node == follower || log.contains("Raft log segment(s) the snapshot"),
            "node {node} deleted no segment:\n{log}"
        );
    }
    assert_same_history(&states);
    assert!(states[leader].0.last().unwrap().seq >= 1500);
}

/// A cluster of one is a gateway: it elects itself, serves, and after a
/// `kill -9` starts again from its own log and journal with every order it
/// acknowledged. With `fsync` (the other tests run `os`), so the leader's
/// Raft step runs on a thread of its own again, not on the poll loop
/// (gateway/src/cluster/raft_on_loop.rs).
#[test]
fn a_cluster_of_one_serves_alone_and_restarts_with_everything_acknowledged() {
    let _alone = one_at_a_time();
    let mut cluster = Cluster::start("one", 1, &["--durability", "fsync"]);
    let trade = |cluster: &Cluster, orders: std::ops::RangeInclusive<u64>| {
        assert_eq!(cluster.leader(Duration::from_secs(30)), Some(0));
        let mut s = logon_leader(&cluster.clients, 1, Duration::from_secs(5)).unwrap();
        let expected = orders.clone().count();
        s.orders(orders, Duration::ZERO);
        let answered = s.answers(expected, Duration::from_secs(30));
        assert_eq!(answered, expected, "every order answered");
    };
    trade(&cluster, 1..=200);
    cluster.kill(0);
    cluster.spawn(0);
    trade(&cluster, 201..=300);
    let states = cluster.stop_all();
    let log = cluster.log(0);
    assert_eq!(log.matches(" leads (term").count(), 2, "{log}");
    assert_eq!(
        log.matches("Raft stepped on its own thread").count(),
        2,
        "{log}"
    );
    let seqs: Vec<u64> = states[0].0.iter().map(|r| r.seq).collect();
    assert!(
        seqs.len() >= 300 && seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "one journal holds both runs' orders, in sequence: {} records",
        seqs.len()
    );
}

/// Setup errors of a cluster node say what was wrong and what to give:
/// a Raft log segment too small to be of use, and `--durability none`.
#[test]
fn a_node_refuses_settings_it_cannot_work_with() {
    let dir = std::env::temp_dir().join(format!("cluster-refuses-{}", std::process::id()));
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/cluster.example.toml");
    let run = |extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gateway"))
            .args(["--cluster", file, "--node", "1", "--insecure-no-auth"])
            .arg("--journal")
            .arg(dir.join("journal"))
            .args(extra)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stderr) = run(&["--raft-segment-bytes", "100"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("give at least 4096"), "{stderr}");
    let (code, stderr) = run(&["--durability", "none"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("use os or fsync"), "{stderr}");
    assert!(!dir.join("journal-raft").exists(), "nothing written");
    let _ = std::fs::remove_dir_all(&dir);
}
