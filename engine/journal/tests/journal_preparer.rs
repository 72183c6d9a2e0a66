//! The segment preparer is background work: it runs in the scheduler's idle
//! class, so a stage that wakes on its core takes the core back at once
//! (see `preparer::background_priority`).

#![allow(clippy::unwrap_used)] // a test that cannot set up should fail loudly

mod journal_support;

use journal::{Durability, JournalWriter, WriterOptions};
use journal_support::*;

/// Linux's number for `SCHED_IDLE` (sched(7)).
const SCHED_IDLE: u32 = 5;

/// The scheduling policy of each thread of this process named `name`:
/// field 41 of /proc/self/task/TID/stat (proc(5)).
fn policies_of(name: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let task = task.unwrap().path();
        let Ok(comm) = std::fs::read_to_string(task.join("comm")) else {
            continue; // the thread ended meanwhile
        };
        if comm.trim_end() != name {
            continue;
        }
        let stat = std::fs::read_to_string(task.join("stat")).unwrap();
        // The name (field 2) is in parentheses and may hold spaces: count
        // from the last ')', which is followed by field 3.
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        let policy = after.split(' ').nth(41 - 3).unwrap();
        out.push(policy.parse().unwrap());
    }
    out
}

#[test]
#[cfg(target_os = "linux")]
fn the_segment_preparer_runs_at_idle_priority() {
    let dir = tempdir();
    let w = workload(10, 1);
    let options = WriterOptions {
        durability: Durability::Os,
        ..small_segments(8_192)
    };
    let mut writer = JournalWriter::create(dir.path(), &w.instruments, options).unwrap();
    append_all(&mut writer, &w.commands);
    // The thread sets its class first thing; give it a moment to start.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut seen = policies_of("journal-prepare");
    while !seen.contains(&SCHED_IDLE) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
        seen = policies_of("journal-prepare");
    }
    assert!(
        seen.contains(&SCHED_IDLE),
        "journal-prepare threads' policies: {seen:?} (want {SCHED_IDLE}, SCHED_IDLE)"
    );
    writer.close().unwrap();
}
