//! loadgen against a 3-node gateway cluster (`gateway --cluster`): the
//! leader is killed with SIGKILL 2 s into the run, and the run carries on
//! with the new leader. It completes (exit status 0, no `--check`), and its
//! report has exactly one failover, its gap (under 5 s; the election
//! timeout is 500 ms), answers from the new leader after it, and nothing
//! unanswered outside what the failover lost.
//!
//! The gateway binary is another package's, which `env!("CARGO_BIN_EXE_…")`
//! does not name: `cargo build -p gateway` makes it in this test's profile
//! (or finds it up to date) and says where it is.
#![allow(clippy::unwrap_used)] // a test that cannot set up should fail loudly

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long the nodes may take to elect a first leader (debug builds, a
/// shared 2-core machine).
const ELECTION: Duration = Duration::from_secs(30);
/// How long loadgen may take, start to end: its 8 s of orders, the
/// failover, the drain, and room for a slow machine.
const RUN: Duration = Duration::from_secs(60);

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("loadgen's parent is the workspace root")
        .to_path_buf()
}

/// The workspace's `gateway` binary, in the profile this test was built in.
fn gateway_binary() -> PathBuf {
    let loadgen = Path::new(env!("CARGO_BIN_EXE_loadgen"));
    let profile_dir = loadgen.parent().unwrap();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build.current_dir(workspace_root()).args([
        "build",
        "-p",
        "gateway",
        "--bin",
        "gateway",
        "--message-format=json-render-diagnostics",
    ]);
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        build.arg("--release");
    }
    let out = build.stderr(Stdio::inherit()).output().unwrap();
    assert!(out.status.success(), "cargo build -p gateway failed");
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] == "compiler-artifact"
            && msg["target"]["name"] == "gateway"
            && let Some(exe) = msg["executable"].as_str()
        {
            return PathBuf::from(exe);
        }
    }
    let beside = profile_dir.join("gateway");
    assert!(
        beside.exists(),
        "no gateway binary in {}",
        profile_dir.display()
    );
    beside
}

/// Loopback ports free now (bound and released: the nodes bind them next).
fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// Three `gateway --cluster` processes, killed when dropped.
struct Cluster {
    dir: tempfile::TempDir,
    clients: Vec<SocketAddr>,
    nodes: Vec<Option<Child>>,
}

impl Cluster {
    fn start(gateway: &Path) -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("loadgen-failover-")
            .tempdir()
            .unwrap();
        let ports = free_ports(6);
        // The timers are the defaults, written out.
        let mut text = String::from("election_timeout_ms = 500\nheartbeat_ms = 50\n");
        let mut clients = Vec::new();
        for i in 0..3 {
            let client: SocketAddr = format!("127.0.0.1:{}", ports[2 * i + 1]).parse().unwrap();
            text.push_str(&format!(
                "\n[[node]]\nid = {}\nraft = \"127.0.0.1:{}\"\nclient = \"{client}\"\n",
                i + 1,
                ports[2 * i]
            ));
            clients.push(client);
        }
        let file = dir.path().join("cluster.toml");
        std::fs::write(&file, text).unwrap();
        let nodes = (0..3)
            .map(|i| {
                let log =
                    std::fs::File::create(dir.path().join(format!("node-{}.log", i + 1))).unwrap();
                let child = Command::new(gateway)
                    .arg("--cluster")
                    .arg(&file)
                    .args(["--node", &(i + 1).to_string(), "--journal"])
                    .arg(dir.path().join(format!("journal-{}", i + 1)))
                    .args([
                        "--durability",
                        "os",
                        "--insecure-no-auth",
                        "--max-orders-per-book",
                        "65536",
                        "--max-band-ticks",
                        "262144",
                    ])
                    .env("RUST_LOG", "info,raft=warn")
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(log)
                    .spawn()
                    .unwrap();
                Some(child)
            })
            .collect();
        Cluster {
            dir,
            clients,
            nodes,
        }
    }

    fn logs(&self) -> String {
        (0..3)
            .map(|i| {
                let path = self.dir.path().join(format!("node-{}.log", i + 1));
                format!(
                    "--- node {}:\n{}",
                    i + 1,
                    std::fs::read_to_string(path).unwrap_or_default()
                )
            })
            .collect()
    }

    /// Waits until a node says it leads.
    fn wait_for_a_leader(&self) {
        let deadline = Instant::now() + ELECTION;
        while !self.logs().contains(" leads (term") {
            assert!(
                Instant::now() < deadline,
                "no leader in {ELECTION:?}:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL.
    fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
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

#[test]
fn the_run_follows_the_new_leader_when_the_leader_is_killed() {
    let started = Instant::now();
    let gateway = gateway_binary();
    let mut cluster = Cluster::start(&gateway);
    cluster.wait_for_a_leader();

    let json = cluster.dir.path().join("report.json");
    let targets: Vec<String> = cluster.clients.iter().map(ToString::to_string).collect();
    let mut loadgen = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(["--target", &targets.join(",")])
        // The default 2 s warm-up: the kill at 2 s leaves 6 s of run for
        // the failover and the new leader, however slow the machine.
        .args(["--rate", "5k", "--duration", "6s", "-q"])
        .arg("--json")
        .arg(&json)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Its stderr, line by line: it names the leader it logged on to.
    let (lines_tx, lines) = mpsc::channel::<String>();
    let stderr = loadgen.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let stdout = loadgen.stdout.take().unwrap();
    let report = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());

    let mut said = Vec::new();
    let leader = loop {
        let line = lines
            .recv_timeout(RUN)
            .unwrap_or_else(|_| panic!("loadgen named no leader: {said:?}"));
        said.push(line.clone());
        // `loadgen: 127.0.0.1:PORT leads`
        if let Some(addr) = line
            .strip_prefix("loadgen: ")
            .and_then(|rest| rest.strip_suffix(" leads"))
            && let Ok(addr) = addr.parse::<SocketAddr>()
        {
            break cluster.clients.iter().position(|c| *c == addr).unwrap();
        }
    };

    std::thread::sleep(Duration::from_secs(2));
    cluster.kill(leader);

    let deadline = Instant::now() + RUN;
    let status = loop {
        if let Some(status) = loadgen.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = loadgen.kill();
            let _ = loadgen.wait();
            panic!("loadgen did not end in {RUN:?}:\n{}", cluster.logs());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    reader.join().unwrap();
    said.extend(lines.try_iter());
    let said = said.join("\n");
    let table = report.join().unwrap();
    let context = format!("{table}\n{said}\n{}", cluster.logs());
    assert!(status.success(), "loadgen: {status}\n{context}");

    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let failover = &summary["failover"];
    assert_eq!(failover["failovers"], 1, "{context}");
    let gap = failover["longest_gap_ns"].as_u64().unwrap_or(u64::MAX);
    assert!(gap < 5_000_000_000, "gap of {gap} ns\n{context}");
    let gaps = failover["gaps"].as_array().unwrap();
    let new_leader = gaps[0]["leader"].as_str().unwrap();
    assert_ne!(
        new_leader,
        cluster.clients[leader].to_string(),
        "back on the killed node?\n{context}"
    );
    assert!(
        failover["answered_after"].as_u64().unwrap() > 1_000,
        "few answers from the new leader\n{context}"
    );
    // What the failover lost is counted, and counted once.
    let (in_flight, not_sent) = (
        failover["in_flight"].as_u64().unwrap(),
        failover["not_sent"].as_u64().unwrap(),
    );
    assert!(not_sent > 0, "orders were due during the gap\n{context}");
    assert_eq!(
        failover["left_unanswered"].as_u64().unwrap(),
        in_flight + not_sent
    );
    // Everything sent to a live leader is answered; nothing is unexplained.
    assert_eq!(summary["unanswered"], 0, "{context}");
    assert_eq!(summary["counts"]["unexpected"], 0, "{context}");
    assert!(summary["failure"].is_null(), "{context}");
    let unanswered_check = summary["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == "tcp.unanswered")
        .unwrap();
    assert_eq!(unanswered_check["pass"], true, "{context}");
    // The table says so too.
    for text in ["failover  1 failover,", "unanswered (failover)"] {
        assert!(table.contains(text), "no `{text}` in\n{table}");
    }
    assert!(said.contains("lost its node"), "{said}");
    eprintln!(
        "failover gap {:.2}s, {in_flight} in flight and {not_sent} not sent; test took {:.1}s",
        gap as f64 / 1e9,
        started.elapsed().as_secs_f64()
    );
}
