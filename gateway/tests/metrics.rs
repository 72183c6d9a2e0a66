//! Metrics (`--metrics`): scraped over HTTP in the Prometheus text format,
//! the counters move with what the gateway does.

#![allow(clippy::unwrap_used)] // a test that cannot set up should fail loudly

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use gateway::Gateway;
use gateway::protocol::{ServerMessage, Side, TimeInForce};
use support::{Client, TempDir, config, slow_reader_config};

/// `GET path`: the status line and the body.
fn get(addr: SocketAddr, path: &str) -> (String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: test\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_string(), body.to_string())
}

/// The value of the sample `name` (with its labels, as written) in `text`.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// Scrapes until `ok` holds for the text (metrics are published once a
/// tick, 50 ms), or fails after 5 s with the last scrape.
fn scrape_until(addr: SocketAddr, ok: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (_, text) = get(addr, "/metrics");
        if ok(&text) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "the metrics never got there:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_scrape_shows_the_counters_moving() {
    let dir = TempDir::new("metrics");
    let mut cfg = config(&dir);
    cfg.metrics = Some("127.0.0.1:0".parse().unwrap());
    // Group commit with fsync, so the fsync latency histogram fills.
    cfg.pipeline.durability = journal::Durability::Fsync;
    let gw = Gateway::start(cfg).unwrap();
    let metrics = gw.metrics_addr().unwrap();
    let (status, text) = get(metrics, "/metrics");
    assert!(status.contains("200"), "{status}");
    assert_eq!(sample(&text, "venue_commands_total"), Some(0.0), "{text}");
    assert!(get(metrics, "/elsewhere").0.contains("404"));

    let mut seven = Client::logon(gw.local_addr(), 7);
    for coid in 1..=10 {
        seven.order(coid, Side::Sell, 101, 1, TimeInForce::Gtc);
    }
    seven.order(11, Side::Sell, 101, 0, TimeInForce::Gtc); // BAD_QTY
    for _ in 0..10 {
        seven.expect("accepted", |m| matches!(m, ServerMessage::Accepted(_)));
    }
    seven.expect("rejected", |m| matches!(m, ServerMessage::Rejected(_)));
    let mut zero = Client::connect(gw.local_addr());
    zero.send_logon(0, false);
    zero.expect("refused", |m| matches!(m, ServerMessage::LogonReject(_)));

    let text = scrape_until(metrics, |t| {
        sample(t, "venue_commands_total") == Some(11.0)
            && sample(
                t,
                r#"venue_rejects_total{kind="logon",reason="UnknownAccount"}"#,
            ) == Some(1.0)
    });
    for (name, at_least) in [
        ("venue_events_total", 11.0),
        (r#"venue_frames_total{direction="in"}"#, 12.0),
        (r#"venue_frames_total{direction="out"}"#, 12.0),
        (r#"venue_rejects_total{kind="order",reason="BadQty"}"#, 1.0),
        (r#"venue_sessions{state="logged_on"}"#, 1.0),
        ("venue_published_seq", 11.0),
        ("venue_released_seq", 11.0),
        ("venue_durable_seq", 11.0),
        ("venue_journal_bytes", 1.0),
        (r#"venue_stage_batches_total{stage="journal"}"#, 1.0),
        (r#"venue_stage_batches_total{stage="matching"}"#, 1.0),
        (r#"venue_stage_batches_total{stage="output"}"#, 1.0),
        ("venue_matched_seq", 11.0),
        ("venue_fsyncs_total", 1.0),
        (r#"venue_stage_sleeps_total{ring="inbound"}"#, 1.0),
        (r#"venue_stage_wakeups_total{ring="inbound"}"#, 1.0),
        ("venue_fsync_seconds_count", 1.0),
        (r#"venue_fsync_seconds_bucket{le="+Inf"}"#, 1.0),
    ] {
        let got = sample(&text, name).unwrap_or_else(|| panic!("no {name} in:\n{text}"));
        assert!(
            got >= at_least,
            "{name} = {got}, expected at least {at_least}"
        );
    }
    assert_eq!(sample(&text, "venue_in_flight_commands"), Some(0.0));
    assert_eq!(sample(&text, "venue_snapshot_age_seconds"), Some(-1.0));
    drop(seven);
    gw.shutdown().unwrap();
}

/// A connection over the session limit is told so, and counted.
#[test]
fn connections_over_the_session_limit_are_counted() {
    let dir = TempDir::new("metrics-limit");
    let mut cfg = config(&dir);
    cfg.metrics = Some("127.0.0.1:0".parse().unwrap());
    cfg.max_sessions = 1;
    let gw = Gateway::start(cfg).unwrap();
    let metrics = gw.metrics_addr().unwrap();
    let _one = Client::logon(gw.local_addr(), 1);
    let mut two = Client::connect(gw.local_addr());
    two.expect(
        "the session limit",
        |m| matches!(m, ServerMessage::LogonReject(r) if r.reason == gateway::protocol::LogonRejectReason::SessionLimit),
    );
    scrape_until(metrics, |t| {
        sample(t, r#"venue_connections_refused_total{told="yes"}"#) == Some(1.0)
            && sample(t, r#"venue_connections_refused_total{told="no"}"#) == Some(0.0)
            && sample(t, r#"venue_sessions{state="logged_on"}"#) == Some(1.0)
    });
    gw.shutdown().unwrap();
}

/// Refusals by a control or a limit are counted by reason, and operator
/// controls by action.
#[test]
fn risk_refusals_and_controls_are_counted() {
    use gateway::auth::{AccountEntry, Accounts, LimitFields, Role, hash_password, password_field};
    use gateway::protocol::{ClientMessage, Halt, Logon};
    let dir = TempDir::new("metrics-risk");
    let mut cfg = config(&dir);
    cfg.metrics = Some("127.0.0.1:0".parse().unwrap());
    let hash = hash_password(b"pw").unwrap();
    let mut accounts = Accounts::default();
    for (id, role, limits) in [
        (
            7,
            Role::Trader,
            LimitFields {
                max_order_qty: Some(10),
                ..LimitFields::default()
            },
        ),
        (100, Role::Operator, LimitFields::default()),
    ] {
        accounts.set(
            id,
            AccountEntry {
                role,
                password_hash: hash.clone(),
                enabled: true,
                limits,
            },
        );
    }
    cfg.auth = Some(gateway::Auth::Accounts(std::sync::Arc::new(accounts)));
    let gw = Gateway::start(cfg).unwrap();
    let metrics = gw.metrics_addr().unwrap();
    let logon = |account| {
        let mut c = Client::connect(gw.local_addr());
        c.send(ClientMessage::Logon(Logon {
            account,
            cancel_on_disconnect: false,
            password: password_field("pw").unwrap(),
        }));
        c.expect("logon ack", |m| matches!(m, ServerMessage::LogonAck(_)));
        c
    };
    let mut op = logon(100);
    let mut seven = logon(7);
    seven.order(1, Side::Sell, 101, 11, TimeInForce::Gtc); // RISK_ORDER_QTY
    seven.expect("rejected", |m| matches!(m, ServerMessage::Rejected(_)));
    op.send(ClientMessage::Halt(Halt {
        instrument: 1,
        halt: true,
    }));
    op.expect("ack", |m| matches!(m, ServerMessage::ControlAck(_)));
    seven.order(2, Side::Sell, 101, 1, TimeInForce::Gtc); // HALTED
    seven.expect("rejected", |m| matches!(m, ServerMessage::Rejected(_)));
    scrape_until(metrics, |t| {
        sample(t, r#"venue_risk_refusals_total{reason="RiskOrderQty"}"#) == Some(1.0)
            && sample(t, r#"venue_risk_refusals_total{reason="Halted"}"#) == Some(1.0)
            && sample(t, r#"venue_controls_total{action="Halt"}"#) == Some(1.0)
    });
    drop((op, seven));
    gw.shutdown().unwrap();
}

/// docs/protocol.md, "Slow readers": a client that sends without reading
/// shows as pushed back while it does not read, and as logged on again
/// once it has read its replies (every one of which arrives).
#[test]
fn a_pushed_back_session_shows_in_the_sessions_by_state() {
    let dir = TempDir::new("metrics-push-back");
    let mut cfg = slow_reader_config(&dir);
    cfg.metrics = Some("127.0.0.1:0".parse().unwrap());
    let gw = Gateway::start(cfg).unwrap();
    let metrics = gw.metrics_addr().unwrap();
    let pushed_back = r#"venue_sessions{state="pushed_back"}"#;
    let logged_on = r#"venue_sessions{state="logged_on"}"#;
    let mut client = Client::logon_with_small_receive_buffer(gw.local_addr(), 1);
    // Under the test books' 4,096 orders; replies far over the 32 KiB buffer.
    const ORDERS: u64 = 4_000;
    let bytes = client.resting_bids(ORDERS);
    let writer = client.writer();
    let sending = std::thread::spawn(move || writer.send_raw(&bytes));
    scrape_until(metrics, |t| sample(t, pushed_back) == Some(1.0));
    let mut accepted = 0;
    while accepted < ORDERS {
        match client.recv() {
            Some(ServerMessage::Accepted(_)) => accepted += 1,
            Some(ServerMessage::Heartbeat) => {}
            other => panic!("after {accepted} acceptances: {other:?}"),
        }
    }
    sending.join().unwrap();
    scrape_until(metrics, |t| {
        sample(t, pushed_back) == Some(0.0) && sample(t, logged_on) == Some(1.0)
    });
    gw.shutdown().unwrap();
}
