//! Three replicas in one process on a `LocalNet` (a network whose links a
//! test can cut): election, replication, output gated on the commit, and
//! a leader cut off from both followers.
//!
//! Each node's "engine" here is the list of commands it holds: a leader's
//! own batches (as its J would send them) and the committed batches a
//! follower is handed, which is what the gateway's node loop publishes
//! into a real pipeline (tested over TCP in the gateway's cluster tests).

use std::time::{Duration, Instant};

use matching::command::Command;
use matching::types::OrderId;
use pipeline::ReleaseGate;
use replication::{LocalNet, Membership, Node, NodeConfig, Transport};

fn membership() -> Membership {
    let text = (1..=3)
        .map(|i| {
            format!(
                "[[node]]\nid = {i}\nraft = \"127.0.0.1:{}\"\nclient = \"127.0.0.1:{}\"\n",
                17100 + i,
                17000 + i
            )
        })
        .collect::<String>();
    // Short timers keep the test quick; the defaults are tested in membership.rs.
    Membership::parse(&format!(
        "election_timeout_ms = 200\nheartbeat_ms = 20\n{text}"
    ))
    .expect("valid cluster file")
}

struct Replica {
    node: Node,
    /// Commands this node's engine holds, by sequence.
    engine: Vec<u64>,
    committed: std::sync::mpsc::Receiver<replication::Committed>,
    _dir: tempfile::TempDir,
}

impl Replica {
    fn start(id: u64, net: &LocalNet, engine: Vec<u64>, dir: tempfile::TempDir) -> Replica {
        let config = NodeConfig {
            id,
            membership: membership(),
            dir: dir.path().to_owned(),
            // Small: the log rolls through many segments, and a restart
            // replays them.
            segment_bytes: replication::MIN_SEGMENT_BYTES,
            durability: journal::Durability::Os,
            engine_seq: engine.last().copied().unwrap_or(0),
            journal_dir: None,
        };
        let net = net.clone();
        let (node, committed) = Node::start(config, move |inbox| {
            Ok(Box::new(net.join(id, inbox)) as Box<dyn Transport>)
        })
        .expect("node starts");
        Replica {
            node,
            engine,
            committed,
            _dir: dir,
        }
    }

    /// What the gateway's node loop does: publish committed batches past
    /// the engine's last command.
    fn apply(&mut self) {
        while let Ok(c) = self.committed.try_recv() {
            let replication::Committed::Batch { data, .. } = c else {
                panic!("no snapshot without compaction");
            };
            for record in replication::batch_records(&data) {
                let seq = record.expect("a committed batch decodes").seq;
                if seq > self.engine.last().copied().unwrap_or(0) {
                    assert_eq!(seq, self.engine.len() as u64 + 1, "gap-free");
                    self.engine.push(seq);
                }
            }
        }
    }
}

fn records(first: u64, last: u64) -> Vec<u8> {
    let mut out = Vec::new();
    for seq in first..=last {
        let command = Command::Cancel {
            symbol: 1,
            id: seq as OrderId,
        };
        journal::record::encode(&mut out, seq, seq * 10, &command);
    }
    out
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn leader_of(replicas: &mut [Replica]) -> usize {
    let mut found = None;
    wait_for("a leader that can serve", || {
        for r in replicas.iter_mut() {
            r.apply();
        }
        found = replicas.iter().position(|r| r.node.can_lead());
        found.is_some()
    });
    found.expect("found")
}

/// The leader's serving side: attach a release gate (as the pipeline does
/// at start), then "journal" batches as J would. Returns the gate.
fn serve(leader: &mut Replica) -> ReleaseGate {
    let last = leader.engine.last().copied().unwrap_or(0);
    let gate = ReleaseGate::detached(last);
    leader.node.replicator().attach(gate.clone());
    gate
}

fn propose(leader: &mut Replica, n: u64) -> u64 {
    let replicator = leader.node.replicator();
    let first = leader.engine.len() as u64 + 1;
    let last = first + n - 1;
    replicator.replicate(records(first, last), first, last);
    leader.engine.extend(first..=last);
    last
}

fn three(net: &LocalNet) -> Vec<Replica> {
    (1..=3)
        .map(|id| Replica::start(id, net, Vec::new(), tempfile::tempdir().expect("tempdir")))
        .collect()
}

#[test]
fn a_majority_commit_releases_and_every_follower_applies_the_same_commands() {
    let net = LocalNet::default();
    let mut replicas = three(&net);
    let l = leader_of(&mut replicas);
    let gate = serve(&mut replicas[l]);
    let mut last = 0;
    for _ in 0..50 {
        last = propose(&mut replicas[l], 7);
    }
    wait_for("the release gate to reach the last batch", || {
        gate.released() == last
    });
    wait_for("every follower to apply every command", || {
        replicas.iter_mut().for_each(Replica::apply);
        replicas.iter().all(|r| r.engine.len() as u64 == last)
    });
    for r in &replicas {
        assert_eq!(r.engine, (1..=last).collect::<Vec<_>>());
        assert_eq!(r.node.committed_seq(), last);
    }
}

#[test]
fn a_leader_cut_off_releases_nothing_after_the_cut_and_is_deposed() {
    let net = LocalNet::default();
    let mut replicas = three(&net);
    let l = leader_of(&mut replicas);
    let gate = serve(&mut replicas[l]);
    let before = propose(&mut replicas[l], 10);
    wait_for("the first batch to be released", || {
        gate.released() == before
    });

    net.isolate(replicas[l].node.id());
    let after = propose(&mut replicas[l], 10);
    // The other two elect a leader of their own and take new commands.
    let mut others: Vec<Replica> = Vec::new();
    let mut isolated = None;
    for (i, r) in replicas.into_iter().enumerate() {
        if i == l {
            isolated = Some(r);
        } else {
            others.push(r);
        }
    }
    let isolated = isolated.expect("the old leader");
    let n = leader_of(&mut others);
    serve(&mut others[n]);
    let new_last = propose(&mut others[n], 5);
    wait_for("the old leader to step down", || isolated.node.deposed());
    assert!(
        gate.abandoned(),
        "a deposed leader's pipeline is told to stop releasing"
    );
    assert_eq!(
        gate.released(),
        before,
        "the isolated leader released a command ({after} proposed) no majority holds"
    );
    assert_eq!(
        new_last,
        before + 5,
        "the new leader continues after the committed prefix"
    );

    net.heal();
    wait_for("the survivors to apply the new leader's commands", || {
        others.iter_mut().for_each(Replica::apply);
        others.iter().all(|r| r.engine.len() as u64 == new_last)
    });
    // The old leader's uncommitted batch is gone from its Raft log: what it
    // is handed now is the committed history (it restarts from that in the
    // gateway; here its log is checked).
    wait_for("the old leader to learn the new commit", || {
        isolated.node.committed_seq() == new_last
    });
    assert_eq!(others[0].engine, others[1].engine);
    // Its J still hands over what it had sequenced: a deposed node's
    // batch must not reach the new leader (raft-rs forwards a follower's
    // proposals), where it would be committed under numbers the new leader
    // gave to commands of its own.
    let stale = records(before + 1, before + 20);
    isolated
        .node
        .replicator()
        .replicate(stale, before + 1, before + 20);
    std::thread::sleep(Duration::from_millis(300));
    others.iter_mut().for_each(Replica::apply);
    for r in &others {
        assert_eq!(
            r.engine.len() as u64,
            new_last,
            "a deposed node's batch was committed"
        );
        assert_eq!(r.node.committed_seq(), new_last);
    }
    assert_eq!(gate.released(), before, "and it released nothing meanwhile");
}

#[test]
fn a_node_restarted_on_its_log_rejoins_and_catches_up() {
    let net = LocalNet::default();
    let mut replicas = three(&net);
    let l = leader_of(&mut replicas);
    serve(&mut replicas[l]);
    let first = propose(&mut replicas[l], 20);
    wait_for("everyone to apply", || {
        replicas.iter_mut().for_each(Replica::apply);
        replicas.iter().all(|r| r.engine.len() as u64 == first)
    });
    // Stop a follower; the others go on; restart it on its own log and engine.
    let f = (l + 1) % 3;
    let stopped = replicas.remove(f);
    let (id, engine, dir) = (stopped.node.id(), stopped.engine.clone(), stopped._dir);
    drop(stopped.node);
    let l = replicas
        .iter()
        .position(|r| r.node.is_leader())
        .expect("leader kept");
    let last = propose(&mut replicas[l], 30);
    let mut back = Replica::start(id, &net, engine, dir);
    wait_for("the restarted follower to catch up", || {
        back.apply();
        back.engine.len() as u64 == last
    });
    assert_eq!(back.engine, (1..=last).collect::<Vec<_>>());
}
