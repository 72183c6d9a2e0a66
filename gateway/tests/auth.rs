//! Authentication (docs/protocol.md, "Authentication"), over real TCP: a
//! logon is checked against the accounts file; a wrong password, an
//! unknown account and a disabled one are all `BAD_CREDENTIALS`; failed
//! logons are slowed per address while other clients are served; and a
//! gateway without accounts refuses to start unless told to run insecure.

#![allow(clippy::unwrap_used)] // a test that cannot set up should fail loudly

mod support;

use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gateway::auth::{AccountEntry, Accounts, Role, hash_password, password_field};
use gateway::protocol::{
    ClientMessage, Logon, LogonRejectReason, ServerMessage, Side, TimeInForce,
};
use gateway::{Auth, Gateway, GatewayError};
use support::{Client, TempDir, config};

const SEVEN: &str = "seven's password";
const EIGHT: &str = "eight's password";
const NINE: &str = "nine's password";

/// Account 7 (trader), 8 (trader, disabled) and 9 (trader).
fn accounts() -> Accounts {
    let mut accounts = Accounts::default();
    for (id, password, enabled) in [(7, SEVEN, true), (8, EIGHT, false), (9, NINE, true)] {
        accounts.set(
            id,
            AccountEntry {
                role: Role::Trader,
                password_hash: hash_password(password.as_bytes()).unwrap(),
                enabled,
                limits: Default::default(),
            },
        );
    }
    accounts
}

fn start_with_accounts(dir: &TempDir) -> Gateway {
    let mut cfg = config(dir);
    cfg.auth = Some(Auth::Accounts(Arc::new(accounts())));
    Gateway::start(cfg).unwrap()
}

/// A client connected from `local` (any 127.x.y.z address: all are this
/// machine), so tests can be several addresses.
fn connect_from(local: &str, to: SocketAddr) -> Client {
    Client::connect_from(local, to)
}

/// Logs on as `account` with `password`; the answer.
fn logon(client: &mut Client, account: u32, password: &str) -> ServerMessage {
    client.send(ClientMessage::Logon(Logon {
        account,
        cancel_on_disconnect: false,
        password: password_field(password).unwrap(),
    }));
    // Up to 10 s of delay after failures, plus the check.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(m) = client.recv() {
            return m;
        }
        assert!(Instant::now() < deadline, "no answer to the logon");
    }
}

fn refused(answer: &ServerMessage) -> Option<LogonRejectReason> {
    match answer {
        ServerMessage::LogonReject(r) => Some(r.reason),
        _ => None,
    }
}

#[test]
fn a_logon_is_checked_and_every_refusal_looks_the_same() {
    let dir = TempDir::new("auth-check");
    let gw = start_with_accounts(&dir);
    let addr = gw.local_addr();
    let bad = Some(LogonRejectReason::BadCredentials);
    // Each refusal from an address of its own, so none is slowed.
    for (i, (account, password)) in [
        (7, "not seven's password"), // wrong password
        (42, SEVEN),                 // unknown account
        (8, EIGHT),                  // disabled, right password
        (0, SEVEN),                  // no account
        (7, ""),                     // no password
    ]
    .into_iter()
    .enumerate()
    {
        let mut c = connect_from(&format!("127.0.1.{}", i + 1), addr);
        let answer = logon(&mut c, account, password);
        assert_eq!(refused(&answer), bad, "account {account}: {answer:?}");
        assert!(c.closed(), "the connection is closed after the refusal");
    }
    // The right password opens the session, which trades.
    let mut seven = connect_from("127.0.1.10", addr);
    let answer = logon(&mut seven, 7, SEVEN);
    assert!(
        matches!(answer, ServerMessage::LogonAck(a) if a.account == 7),
        "{answer:?}"
    );
    seven.order(1, Side::Sell, 101, 5, TimeInForce::Gtc);
    seven.expect("accepted", |m| matches!(m, ServerMessage::Accepted(_)));
    let stats = gw.shutdown().unwrap();
    assert_eq!(stats.failed_logons, 5);
}

/// A guesser in a loop is slowed from its fourth failure on, doubling,
/// while a client from another address logs on at once and is served in
/// full throughout.
#[test]
fn failed_logons_are_slowed_per_address_while_others_are_served() {
    let dir = TempDir::new("auth-slow");
    let gw = start_with_accounts(&dir);
    let addr = gw.local_addr();
    let guesser = std::thread::spawn(move || {
        let mut took = Vec::new();
        for guess in 0..6 {
            let mut c = connect_from("127.0.2.1", addr);
            let t = Instant::now();
            let answer = logon(&mut c, 7, &format!("guess {guess}"));
            took.push(t.elapsed());
            assert_eq!(refused(&answer), Some(LogonRejectReason::BadCredentials));
        }
        took
    });
    // Meanwhile account 9, from elsewhere: its logon is not delayed, and
    // each of its orders is answered.
    std::thread::sleep(Duration::from_millis(300));
    let mut nine = connect_from("127.0.2.2", addr);
    let t = Instant::now();
    let answer = logon(&mut nine, 9, NINE);
    assert!(matches!(answer, ServerMessage::LogonAck(_)), "{answer:?}");
    assert!(
        t.elapsed() < Duration::from_millis(2_000),
        "{:?}",
        t.elapsed()
    );
    let mut coid = 0;
    while !guesser.is_finished() {
        coid += 1;
        nine.order(coid, Side::Buy, 90, 1, TimeInForce::Ioc);
        nine.expect(
            "the IOC's end",
            |m| matches!(m, ServerMessage::Cancelled(c) if c.order.client_order_id == coid),
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = guesser.join().unwrap();
    // The first three are not delayed (the check itself is quick); the
    // fourth waits 0.25 s, the fifth 0.5 s, the sixth 1 s.
    for (i, min) in [(3, 250), (4, 500), (5, 1_000)] {
        assert!(
            took[i] >= Duration::from_millis(min),
            "failure {}: {:?} (all: {took:?})",
            i + 1,
            took[i]
        );
    }
    assert!(coid > 5, "account 9 was served ({coid} orders)");
    let stats = gw.shutdown().unwrap();
    assert_eq!(stats.failed_logons, 6);
}

#[test]
fn a_gateway_without_accounts_does_not_start_unless_told_to_be_insecure() {
    let dir = TempDir::new("auth-none");
    let mut cfg = config(&dir);
    cfg.auth = None;
    match Gateway::start(cfg) {
        Err(e @ GatewayError::NoAuth) => assert!(e.to_string().contains("--insecure-no-auth")),
        other => panic!("expected NoAuth, got {other:?}"),
    }

    // The binary: refused without either flag, with what to do.
    let out = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .args(["--listen", "127.0.0.1:0", "--journal"])
        .arg(&dir.0)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--accounts FILE") && stderr.contains("--insecure-no-auth"),
        "{stderr}"
    );

    // Insecure, said on the start line.
    let line = start_line(&["--insecure-no-auth"], &dir);
    assert!(line.contains("INSECURE: no authentication"), "{line}");
}

/// `gateway-accounts add` writes a file the gateway starts with, and whose
/// account logs on with the password given on standard input.
#[test]
fn gateway_accounts_writes_a_file_the_gateway_uses() {
    let dir = TempDir::new("auth-tool");
    let file = dir.0.join("accounts.toml");
    for (account, password, role) in [(5, "five", "trader"), (6, "six", "operator")] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gateway-accounts"))
            .arg("add")
            .arg(&file)
            .args(["--account", &account.to_string(), "--role", role])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        !text.contains("five") && !text.contains("\"six\""),
        "a password in plain text:\n{text}"
    );
    let accounts = Accounts::load(&file).unwrap();
    assert_eq!(accounts.len(), 2);
    assert_eq!(accounts.get(6).unwrap().role, Role::Operator);

    let journal = dir.0.join("journal");
    let line = start_line(
        &["--accounts", file.to_str().unwrap()],
        &TempDir(journal.clone()),
    );
    assert!(line.contains("2 accounts from"), "{line}");

    let mut cfg = config(&TempDir::new("auth-tool-gw"));
    cfg.auth = Some(Auth::Accounts(Arc::new(accounts)));
    let gw = Gateway::start(cfg).unwrap();
    let mut five = Client::connect(gw.local_addr());
    assert!(matches!(
        logon(&mut five, 5, "five"),
        ServerMessage::LogonAck(_)
    ));
    drop(five);
    gw.shutdown().unwrap();
}

/// Starts the `gateway` binary with `args`, returns its start line, stops it.
fn start_line(args: &[&str], dir: &TempDir) -> String {
    let gw =
        support::spawn_gateway(&dir.0, &[&["--durability", "os"], args].concat(), &[]).unwrap();
    let line = gw.start_line.clone();
    gw.terminate();
    line
}

/// The example file the README points at loads, and its passwords are the
/// ones the README and the file's comment give.
#[test]
fn the_example_accounts_file_has_the_documented_passwords() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("accounts.example.toml");
    let accounts = Accounts::load(&path).unwrap();
    for id in 1..=8 {
        let entry = accounts.get(id).unwrap();
        assert_eq!((entry.role, entry.enabled), (Role::Trader, true));
        let password = format!("example-{id}");
        assert!(gateway::auth::verify_password(
            &entry.password_hash,
            password.as_bytes()
        ));
    }
    let operator = accounts.get(100).unwrap();
    assert_eq!(operator.role, Role::Operator);
    assert!(gateway::auth::verify_password(
        &operator.password_hash,
        b"example-operator"
    ));
}
