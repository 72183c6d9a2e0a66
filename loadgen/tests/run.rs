//! Short real runs: the inproc pipeline, the in-process gateway over TCP,
//! a gateway that goes away in the middle, and a (fake) cluster whose
//! leader goes away.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use gateway::protocol::{
    Accepted, ClientMessage, Decoded, Envelope, Exec, LogonAck, MAX_FRAME_BYTES, NotLeader,
    OrderRef, ServerMessage, decode_frame, encode_frame,
};
use loadgen::mix::parse_mix;
use loadgen::options::Layout;
use loadgen::rate::parse_rate;
use loadgen::{Options, Summary, TransportKind};

/// One load run at a time: each starts threads that spin on both cores (the
/// gateway's poll loop, the matching stage), so runs side by side starve
/// each other's loadgen by hundreds of milliseconds and test the scheduler,
/// not loadgen.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

fn short(rate: &str) -> Options {
    Options {
        rate: parse_rate(rate).unwrap(),
        duration: Duration::from_millis(800),
        warmup: Duration::from_millis(200),
        progress: false,
        drain: Duration::from_secs(5),
        ..Options::default()
    }
}

fn run(options: &Options) -> Summary {
    let mut log = |line: &str| eprintln!("{line}");
    loadgen::run(options, &mut log).unwrap()
}

/// What every completed run's report must say.
fn check_fields(s: &Summary, options: &Options) {
    let total = 5_000 * (options.warmup + options.duration).as_millis() as u64 / 1_000;
    assert_eq!(s.failure, None, "{}", s.render());
    assert_eq!(s.requested_rate, 5_000);
    assert_eq!(s.counts.sent, total, "every scheduled order is sent");
    assert_eq!(s.counts.sent_measured, 4_000, "the warm-up is not measured");
    assert_eq!(
        s.counts.sent,
        s.counts.sent_new + s.counts.sent_cancel + s.counts.sent_replace
    );
    assert!(s.achieved_pct > 99.0, "{}", s.render());
    assert_eq!(s.ack.count, s.counts.answered_measured);
    assert!(s.ack.p50_ns.unwrap() <= s.ack.p99_ns.unwrap());
    assert!(s.ack.p99_ns.unwrap() <= s.ack.max_ns.unwrap());
    assert_eq!(s.counts.unexpected, 0, "{}", s.render());
    // Every documented target of the scope is checked.
    for key in ["ack.p99", "ack.p99.9", "unanswered", "achieved"] {
        let key = format!("{}.{key}", s.transport);
        assert!(s.checks.iter().any(|c| c.key == key), "{key} not checked");
    }
    let json: serde_json::Value = serde_json::to_value(s).unwrap();
    for field in [
        "requested_rate",
        "achieved_rate",
        "ack",
        "fill",
        "checks",
        "pass",
        "host",
    ] {
        assert!(json.get(field).is_some(), "JSON has no {field}");
    }
    assert!(json["ack"]["p99.9_ns"].is_u64());
    check_cpu(&json, s, options.duration);
    let table = s.render();
    for text in [
        "order→ack",
        "order→fill",
        "P99.9",
        "requested 5.0k/s",
        "result",
    ] {
        assert!(table.contains(text), "table has no {text}:\n{table}");
    }
}

/// The CPU over the measured window, in the JSON: the process, loadgen's
/// own thread, the rest, each thread, per order.
fn check_cpu(json: &serde_json::Value, s: &Summary, measured: Duration) {
    if !std::path::Path::new("/proc/self/task").exists() {
        assert!(json["cpu"].is_null());
        return;
    }
    let cpu = &json["cpu"];
    let window_s = cpu["window_ns"].as_u64().unwrap() as f64 / 1e9;
    // The window runs from the first send after the warm-up to the last.
    assert!((0.7..2.0).contains(&window_s), "{cpu}");
    let orders = cpu["orders"].as_u64().unwrap();
    // It opens at loadgen's first turn after the warm-up. On a busy host
    // that turn can be tens of milliseconds late (CI runs these tests side
    // by side on two cores): the window is then that much shorter and
    // leaves out the orders sent before it opened, about `rate` an
    // elapsed second. A window that closes late (a stall before the last
    // send) is longer and leaves nothing out, so this bounds both cases.
    let late_opened = s.requested_rate as f64 * (measured.as_secs_f64() - window_s).max(0.0);
    assert!(
        orders as f64 + late_opened + 100.0 >= s.counts.sent_measured as f64
            && orders <= s.counts.sent,
        "{cpu}"
    );
    let cores = |part: &str| {
        let p = &cpu[part];
        let user = p["user_ns"].as_u64().unwrap();
        let sys = p["sys_ns"].as_u64().unwrap();
        let cores = p["cores"].as_f64().unwrap();
        let expect = (user + sys) as f64 / cpu["window_ns"].as_u64().unwrap() as f64;
        assert!((cores - expect).abs() < 1e-6, "{part}: {cpu}");
        cores
    };
    let process = cores("process");
    // Never more than the host's cores (and a tick of rounding).
    assert!(process <= s.host.cores as f64 + 0.1, "{cpu}");
    // The times are in clock ticks (10 ms), and the kernel scales the
    // process's and each thread's apart: they agree to a tick or two.
    let slack = 0.021 / window_s;
    assert!(cores("loadgen") <= process + slack, "{cpu}");
    assert!((cores("loadgen") + cores("system") - process).abs() <= slack);
    let per_order = cpu["ns_per_order"].as_f64().unwrap();
    let expect = process * window_s * 1e9 / orders as f64;
    assert!((per_order - expect).abs() <= expect * 1e-6 + 1e-6, "{cpu}");
    let threads = cpu["threads"].as_array().unwrap();
    assert_eq!(
        threads.iter().filter(|t| t["loadgen"] == true).count(),
        1,
        "{cpu}"
    );
    for t in threads {
        assert!(t["tid"].is_u64() && t["name"].is_string() && t["user_ns"].is_u64());
    }
    assert!(s.render().contains("cpu by thread"), "{}", s.render());
}

#[test]
fn inproc_run_answers_every_order() {
    let _serial = serial();
    let mut options = short("5k");
    options.transport = TransportKind::Inproc;
    options.layout = TransportKind::Inproc.default_layout();
    // And the host's own stalls first (`--hiccup`): the floor is reported.
    options.hiccup = Some(Duration::from_millis(100));
    let s = run(&options);
    check_fields(&s, &options);
    assert_eq!(s.unanswered, 0, "{}", s.render());
    let floor = s.floor.clone().expect("--hiccup reports the floor");
    assert!(
        floor.measured_ms >= 100 && !floor.cores.is_empty(),
        "{floor:?}"
    );
    assert!(floor.p99_ns <= floor.p999_ns && floor.p999_ns <= floor.p9999_ns);
    assert!(s.render().contains("floor     this host's own stalls"));
    let json: serde_json::Value = serde_json::to_value(&s).unwrap();
    assert!(json["floor"]["p999_ns"].is_u64(), "{json}");
    assert_eq!(s.counts.answered, s.counts.sent);
    assert!(s.counts.fills > 0 && s.counts.cancelled > 0 && s.counts.replaced > 0);
    assert!(s.fill.count > 0, "aggressive orders trade");
    // The pipeline's own latency, from the publish, is measured too, and is
    // below order→ack, which also has loadgen's tick in it.
    let event = s.event.clone().expect("inproc measures command→event");
    // Counted by publish time: the orders of the tick that spans the end
    // of the warm-up may fall on either side, and orders sent late (a
    // loaded machine) count as measured, up to every order sent.
    assert!(
        event.count + 100 >= s.counts.sent_measured && event.count <= s.counts.sent,
        "{event:?}"
    );
    assert!(
        event.p50_ns.unwrap() <= s.ack.p50_ns.unwrap(),
        "{}",
        s.render()
    );
    assert!(s.checks.iter().any(|c| c.key == "inproc.event.p99"));
    assert!(s.render().contains("cmd→event"));
}

#[test]
fn tcp_run_against_the_in_process_gateway() {
    let _serial = serial();
    // New orders only: every one is answered whatever the gateway does with
    // cancels that race a fill (see the next test).
    let mut options = short("5k");
    options.mix = parse_mix("passive=60,aggressive=40").unwrap();
    let dir = tempfile::tempdir().unwrap();
    options.record = Some(dir.path().join("record.txt"));
    options.hist = Some(dir.path().join("latency.hlog"));
    let s = run(&options);
    check_fields(&s, &options);
    assert_eq!(s.unanswered, 0, "{}", s.render());
    assert!(s.fill.count > 0);
    assert!(s.event.is_none(), "command→event is an inproc measurement");
    // The in-process gateway's threads are in the process, beside loadgen's.
    let threads = &s.cpu.as_ref().unwrap().threads;
    assert!(
        threads.iter().any(|t| t.name == "gateway" && !t.loadgen),
        "{threads:?}"
    );
    // The record has one line per execution report, in the documented form.
    let record = std::fs::read_to_string(dir.path().join("record.txt")).unwrap();
    let reports = s.counts.accepted + s.counts.rejected + s.counts.fills + s.counts.cancelled;
    assert_eq!(record.lines().count() as u64, reports);
    for line in record.lines() {
        let words: Vec<&str> = line.split(' ').collect();
        let ok = match words[0] {
            "A" => words.len() == 3,
            "F" | "U" => words.len() == 5,
            "J" => words.len() == 4,
            "X" => words.len() == 5,
            _ => false,
        };
        assert!(ok, "bad record line `{line}`");
    }
    let hlog = std::fs::read_to_string(dir.path().join("latency.hlog")).unwrap();
    assert!(hlog.contains("Tag=ack,"), "{hlog}");
}

#[test]
fn tcp_run_with_cancels_and_replaces_answers_every_request() {
    let _serial = serial();
    // The default mix: cancels and replaces race fills from other sessions.
    let options = short("5k");
    let s = run(&options);
    check_fields(&s, &options);
    assert_eq!(s.unanswered, 0, "{}", s.render());
}

/// `--layout joined`: every stage on the gateway's thread. Where the machine
/// has two cores to place them on, the report says so.
#[test]
fn tcp_run_with_the_joined_layout_answers_every_request() {
    let _serial = serial();
    let mut options = short("5k");
    options.layout = Layout::Joined;
    let s = run(&options);
    check_fields(&s, &options);
    assert_eq!(s.unanswered, 0, "{}", s.render());
    if std::thread::available_parallelism().map_or(1, |n| n.get()) == 2 {
        let topology = s.topology.clone().unwrap_or_default();
        assert!(
            topology.contains("runs journal, matching and output"),
            "{topology}"
        );
    }
}

/// `--layout split`: M on a thread of its own, on loadgen's core. Where the
/// machine has two cores, the report says so.
#[test]
fn tcp_run_with_the_split_layout_answers_every_request() {
    let _serial = serial();
    let mut options = short("5k");
    options.layout = Layout::Split;
    let s = run(&options);
    check_fields(&s, &options);
    assert_eq!(s.unanswered, 0, "{}", s.render());
    if std::thread::available_parallelism().map_or(1, |n| n.get()) == 2 {
        let topology = s.topology.clone().unwrap_or_default();
        assert!(topology.contains("runs journal and output"), "{topology}");
    }
}

/// `--transport inproc --layout joined`: every stage on loadgen's own
/// thread, whatever the machine.
#[test]
fn inproc_run_with_the_joined_layout_answers_every_order() {
    let _serial = serial();
    let mut options = short("5k");
    options.transport = TransportKind::Inproc;
    options.layout = Layout::Joined;
    let s = run(&options);
    check_fields(&s, &options);
    assert_eq!(s.unanswered, 0, "{}", s.render());
    assert_eq!(s.counts.answered, s.counts.sent);
    let topology = s.topology.clone().unwrap_or_default();
    assert!(
        topology.contains("runs journal, matching and output"),
        "{topology}"
    );
}

/// A fake gateway: logs one session on, accepts `answer` orders, then drops
/// the connection without a Logout.
fn vanishing_gateway(answer: usize) -> (std::net::SocketAddr, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let thread = std::thread::spawn(move || {
        let (mut sock, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 1 << 16];
        let mut len = 0;
        let mut seq = 0u64;
        let mut answered = 0;
        let mut send = |sock: &mut std::net::TcpStream, msg: ServerMessage| {
            seq += 1;
            let mut frame = [0u8; MAX_FRAME_BYTES];
            let n = encode_frame(&Envelope { seq, msg }, &mut frame).unwrap();
            sock.write_all(&frame[..n]).unwrap();
        };
        while answered < answer {
            let n = sock.read(&mut buf[len..]).unwrap();
            assert!(n > 0);
            len += n;
            let mut pos = 0;
            while let Ok(Decoded::Message { envelope, consumed }) =
                decode_frame::<ClientMessage>(&buf[pos..len])
            {
                pos += consumed;
                match envelope.msg {
                    ClientMessage::Logon(l) => send(
                        &mut sock,
                        ServerMessage::LogonAck(LogonAck {
                            account: l.account,
                            heartbeat_interval_ms: 5_000,
                            max_msgs_per_sec: 0,
                        }),
                    ),
                    ClientMessage::NewOrder(o) if answered < answer => {
                        answered += 1;
                        send(
                            &mut sock,
                            ServerMessage::Accepted(Accepted {
                                order: OrderRef {
                                    client_order_id: o.client_order_id,
                                    order_id: 1_000 + o.client_order_id,
                                    instrument: o.instrument,
                                },
                                exec: Exec {
                                    seq: 1_000 + o.client_order_id,
                                    index: 0,
                                    transact_time_ns: 0,
                                },
                            }),
                        );
                    }
                    _ => {}
                }
            }
            buf.copy_within(pos..len, 0);
            len -= pos;
        }
        // Gone: no Logout, the socket just closes. Our side first (FIN), then
        // read until loadgen closes too: closing with its orders unread would
        // send a reset, and a reset makes the kernel drop answers loadgen has
        // not read yet (how many depends on timing).
        let _ = sock.shutdown(std::net::Shutdown::Write);
        let _ = sock.set_read_timeout(Some(Duration::from_secs(10)));
        while matches!(sock.read(&mut buf), Ok(n) if n > 0) {}
    });
    (addr, thread)
}

#[test]
fn a_gateway_that_goes_away_is_reported_and_the_record_is_kept() {
    let _serial = serial();
    let (addr, server) = vanishing_gateway(50);
    let dir = tempfile::tempdir().unwrap();
    let mut options = short("2k");
    options.sessions = 1;
    options.target = Some(addr.to_string());
    options.mix = parse_mix("passive=1").unwrap();
    options.record = Some(dir.path().join("record.txt"));
    let s = run(&options);
    server.join().unwrap();
    let failure = s.failure.clone().expect("the run must fail");
    assert!(failure.contains("closed the connection"), "{failure}");
    assert!(!s.pass);
    assert!(s.render().contains("RUN FAILED"));
    let record = std::fs::read_to_string(dir.path().join("record.txt")).unwrap();
    assert_eq!(
        record.lines().count(),
        50,
        "every report before the end is kept"
    );
    assert!(record.lines().all(|l| l.starts_with("A ")), "{record}");
}

#[test]
fn the_binary_exits_non_zero_when_the_gateway_goes_away() {
    let _serial = serial();
    let (addr, server) = vanishing_gateway(20);
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("record.txt");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args([
            "--target",
            &addr.to_string(),
            "--sessions",
            "1",
            "--rate",
            "2k",
        ])
        .args([
            "--duration",
            "2s",
            "--warmup",
            "0s",
            "--mix",
            "passive=1",
            "-q",
        ])
        .arg("--record")
        .arg(&record)
        .output()
        .unwrap();
    server.join().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("did not complete"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&record).unwrap().lines().count(),
        20
    );
}

/// A fake cluster node serving one connection at a time. `Leads(n)`:
/// takes logons, accepts new orders, and after `n` answers (if any) drops
/// the connection and stops listening. `Names(addr)`: answers each Logon
/// with `NotLeader` naming `addr`, and closes.
#[derive(Clone, Copy)]
enum Node {
    Leads(Option<usize>),
    Names(std::net::SocketAddr),
}

fn fake_node(listener: TcpListener, node: Node) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for sock in listener.incoming() {
            let Ok(mut sock) = sock else { return };
            let mut buf = vec![0u8; 1 << 16];
            let (mut len, mut seq, mut answered) = (0, 0u64, 0);
            let mut send = |sock: &mut std::net::TcpStream, msg: ServerMessage| {
                seq += 1;
                let mut frame = [0u8; MAX_FRAME_BYTES];
                let n = encode_frame(&Envelope { seq, msg }, &mut frame).unwrap();
                sock.write_all(&frame[..n]).is_ok()
            };
            let done = 'conn: loop {
                let n = match sock.read(&mut buf[len..]) {
                    Ok(0) | Err(_) => break 'conn false,
                    Ok(n) => n,
                };
                len += n;
                let mut pos = 0;
                while let Ok(Decoded::Message { envelope, consumed }) =
                    decode_frame::<ClientMessage>(&buf[pos..len])
                {
                    pos += consumed;
                    let reply = match (node, envelope.msg) {
                        (Node::Names(leader), ClientMessage::Logon(_)) => {
                            send(
                                &mut sock,
                                ServerMessage::NotLeader(NotLeader::new(Some((3, leader)))),
                            );
                            break 'conn false;
                        }
                        (Node::Leads(_), ClientMessage::Logon(l)) => {
                            ServerMessage::LogonAck(LogonAck {
                                account: l.account,
                                heartbeat_interval_ms: 5_000,
                                max_msgs_per_sec: 0,
                            })
                        }
                        (Node::Leads(_), ClientMessage::Logout) => break 'conn false,
                        (Node::Leads(limit), ClientMessage::NewOrder(o)) => {
                            if limit.is_some_and(|n| answered >= n) {
                                continue;
                            }
                            answered += 1;
                            ServerMessage::Accepted(Accepted {
                                order: OrderRef {
                                    client_order_id: o.client_order_id,
                                    order_id: o.client_order_id,
                                    instrument: o.instrument,
                                },
                                exec: Exec {
                                    seq: o.client_order_id,
                                    index: 0,
                                    transact_time_ns: 0,
                                },
                            })
                        }
                        _ => continue,
                    };
                    if !send(&mut sock, reply) {
                        break 'conn false;
                    }
                }
                buf.copy_within(pos..len, 0);
                len -= pos;
                if let Node::Leads(Some(limit)) = node
                    && answered >= limit
                {
                    // Leave time for loadgen to send more, unanswered, then go.
                    std::thread::sleep(Duration::from_millis(50));
                    break 'conn true;
                }
            };
            drop(sock);
            if done {
                // Gone for good: the listener closes with the thread.
                return;
            }
        }
    })
}

#[test]
fn a_session_follows_not_leader_to_the_new_leader_and_counts_what_was_lost() {
    let _serial = serial();
    let bind = || TcpListener::bind("127.0.0.1:0").unwrap();
    let (a, b, c) = (bind(), bind(), bind());
    let (a_addr, b_addr, c_addr) = (
        a.local_addr().unwrap(),
        b.local_addr().unwrap(),
        c.local_addr().unwrap(),
    );
    let old = fake_node(a, Node::Leads(Some(200)));
    // B is a follower that names C; C leads after A.
    let _follower = fake_node(b, Node::Names(c_addr));
    let _new = fake_node(c, Node::Leads(None));
    let mut options = short("2k");
    options.sessions = 1;
    options.target = Some(format!("{a_addr},{b_addr},{c_addr}"));
    options.mix = parse_mix("passive=1").unwrap();
    options.drain = Duration::from_secs(2);
    let s = run(&options);
    old.join().unwrap();
    let report = s.render();
    assert_eq!(s.failure, None, "{report}");
    let f = s.failover.clone().expect("a failover is reported");
    assert_eq!(f.failovers, 1, "{report}");
    assert_eq!(f.gaps[0].leader, Some(c_addr.to_string()), "{report}");
    assert!(
        f.gaps[0].gap_ns.is_some() && f.answered_after > 0,
        "{report}"
    );
    // Every order is accounted for, once: answered, lost in flight, or not
    // sent while no leader served; and all but the lost were answered.
    assert!(f.in_flight > 0, "A went with orders in flight: {report}");
    assert_eq!(s.counts.sent + f.not_sent, 2_000, "{report}");
    assert_eq!(s.counts.answered + f.in_flight, s.counts.sent, "{report}");
    assert_eq!(s.unanswered, 0, "{report}");
    assert_eq!(s.counts.unexpected, 0, "{report}");
    assert!(s.checks.iter().any(|c| c.key == "tcp.unanswered" && c.pass));
    assert!(s.driven.starts_with("gateway cluster at "), "{}", s.driven);
    assert!(report.contains("unanswered (failover)"), "{report}");
}
