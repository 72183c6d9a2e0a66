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

/// CPU seconds (user + system) used so far by this process's threads whose
/// names are in `names`.
fn thread_cpu(names: &[&str]) -> f64 {
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let mut total = 0.0;
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if !names.contains(&comm.trim()) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue; // the thread ended meanwhile
        };
        // After the command name (which may hold spaces and parentheses):
        // utime and stime are the 12th and 13th fields.
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = after.split_whitespace().collect();
        let utime: f64 = fields[11].parse().unwrap();
        let stime: f64 = fields[12].parse().unwrap();
        total += (utime + stime) / ticks;
    }
    total
}

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
    let before = thread_cpu(&THREADS);
    std::thread::sleep(Duration::from_secs(1));
    let used = thread_cpu(&THREADS) - before;
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
