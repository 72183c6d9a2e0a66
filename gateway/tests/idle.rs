//! CPU in proportion to work: an idle gateway (a logged-on client that
//! sends nothing) sleeps, every thread of it, and the first order after the
//! sleep is answered. Behaviour, not speed: the check reads the threads'
//! own CPU time from `/proc/self/task/*/stat` over an idle second, which a
//! spinning thread would fill.

#![allow(clippy::unwrap_used)] // a test that cannot set up should fail loudly

mod support;

use std::time::Duration;

use gateway::Gateway;
use gateway::protocol::{ServerMessage, Side, TimeInForce};
use journal::Durability;
use pipeline::WaitSetting;
use support::{Client, TempDir, config};
use testkit::cpu::thread_cpu_seconds;

const THREADS: [&str; 4] = ["gateway", "journal", "matching", "output"];

fn idle_gateway_sleeps(durability: Durability) {
    let dir = TempDir::new("idle-gateway");
    let mut cfg = config(&dir);
    cfg.pipeline.durability = durability;
    cfg.pipeline.wait = WaitSetting::Adaptive;
    let gw = Gateway::start(cfg).unwrap();
    let mut client = Client::logon(gw.local_addr(), 1);
    client.order(1, Side::Sell, 101, 5, TimeInForce::Gtc);
    client.expect("accepted", |m| matches!(m, ServerMessage::Accepted(_)));

    std::thread::sleep(Duration::from_millis(50));
    let before = thread_cpu_seconds(&THREADS);
    std::thread::sleep(Duration::from_secs(1));
    let used = thread_cpu_seconds(&THREADS) - before;
    assert!(
        used < 0.1,
        "the idle gateway used {used:.3} s of CPU in 1 s ({})",
        gw.topology()
    );

    // The first order after the sleep is answered.
    client.order(2, Side::Sell, 102, 5, TimeInForce::Gtc);
    client.expect(
        "accepted after idling",
        |m| matches!(m, ServerMessage::Accepted(a) if a.order.client_order_id == 2),
    );
    drop(client);
    gw.shutdown().unwrap();
}

/// `os`: J and O on the poll loop's thread (2 cores), M on its own.
#[test]
fn an_idle_gateway_sleeps() {
    idle_gateway_sleeps(Durability::Os);
}

/// `fsync`: J and O keep threads of their own, and O wakes the loop.
#[test]
fn an_idle_gateway_with_stage_threads_sleeps() {
    idle_gateway_sleeps(Durability::Fsync);
}
