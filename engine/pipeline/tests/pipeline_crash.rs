//! `kill -9` at a random moment loses nothing a client saw.
//!
//! The parent test starts this same test binary as a child process that
//! runs the pipeline (with `fsync` durability when J has a thread, `os`
//! when J is hosted, in each placement of the stages) and prints the sequence of
//! every command whose events were released. It kills the child with
//! SIGKILL after a random delay, recovers from the journal, and checks that
//! every released command is in the recovered state, and that the state is
//! exactly the replay of the recovered prefix.

#![allow(clippy::unwrap_used)] // a test that cannot set up should fail loudly

mod pipeline_support;

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::process::{Command as Process, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use journal::{self, Durability};
use matching::{Engine, EngineConfig};
use pipeline::{self, Output, OutputSink};
use pipeline_support::{Placement, TempDir, check, config, placed, stream};

const CHILD_DIR: &str = "ENGINE_CRASH_CHILD_DIR";
/// How the child places its stages: `Hosted` or `AllHosted` (J and O, or
/// all three, on its publishing thread); unset: threads.
const CHILD_PLACEMENT: &str = "ENGINE_CRASH_CHILD_PLACEMENT";
const COMMANDS: usize = 400_000;
const SEED: u64 = 21;

/// Prints `released <seq>` for each command whose last event was released,
/// flushed at the end of every batch (so a line printed is a line released).
struct PrintReleased(BufWriter<std::io::Stdout>);

impl OutputSink for PrintReleased {
    fn output(&mut self, out: &Output) {
        if out.last {
            writeln!(self.0, "released {}", out.seq).unwrap();
        }
    }
    fn end_of_batch(&mut self) {
        self.0.flush().unwrap();
    }
}

/// The child's body; a no-op unless the parent started it.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let workload = stream(COMMANDS, SEED);
    // Hosted J never fsyncs on the publisher's thread (fsync keeps J's
    // thread); `os` is what it runs with, and a write the OS has survives
    // the process's SIGKILL just as well.
    let placement = match std::env::var(CHILD_PLACEMENT).as_deref() {
        Ok("Hosted") => Placement::Hosted,
        Ok("AllHosted") => Placement::AllHosted,
        _ => Placement::Threads,
    };
    let durability = if placement.hosts_stages() {
        Durability::Os
    } else {
        Durability::Fsync
    };
    let cfg = placed(
        config(dir.as_ref(), workload.instruments.clone(), durability),
        placement,
    );
    let sink = PrintReleased(BufWriter::new(std::io::stdout()));
    let mut p = pipeline::start(cfg, sink).unwrap();
    check(placement, &p);
    for chunk in workload.commands.chunks(64) {
        p.publish_batch(0, chunk).unwrap();
        p.poll();
    }
    // Wait to be killed (hosted: releasing the rest meanwhile).
    let until = std::time::Instant::now() + Duration::from_secs(600);
    while std::time::Instant::now() < until {
        if p.poll() == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

#[test]
fn released_commands_survive_sigkill() {
    let workload = stream(COMMANDS, SEED);
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let delays = [seed % 10, 20 + seed % 100, 150 + seed % 300];
    let runs = delays
        .iter()
        .flat_map(|&delay| Placement::ALL.map(|placement| (delay, placement)));
    for (delay_ms, placement) in runs {
        let dir = TempDir::new("crash");
        let mut child = Process::new(std::env::current_exe().unwrap());
        child
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_DIR, dir.path());
        child.env(CHILD_PLACEMENT, format!("{placement:?}"));
        let mut child = child
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (started, running) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut max = 0u64;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(seq) = line.strip_prefix("released ") {
                    if max == 0 {
                        let _ = started.send(());
                    }
                    max = max.max(seq.parse().unwrap());
                }
            }
            max
        });
        // The delay counts from the first released event, so the kill lands
        // while commands stream through the pipeline.
        let _ = running.recv_timeout(Duration::from_secs(120));
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let released = reader.join().unwrap();
        assert!(released > 0, "the child ({placement:?}) released nothing");

        let cfg = config(dir.path(), vec![], Durability::Fsync);
        let (recovered, report) = journal::recover(dir.path(), cfg.engine.clone()).unwrap();
        assert!(
            report.last_seq >= released,
            "killed after {delay_ms} ms (seed {seed}, {placement:?}): events of command \
             {released} were released but recovery found only {}",
            report.last_seq
        );
        // The recovered books are exactly those of the recovered prefix.
        let mut expected = Engine::new(EngineConfig {
            prefault: false,
            ..cfg.engine
        })
        .unwrap();
        for spec in &workload.instruments {
            expected.add_instrument(*spec).unwrap();
        }
        for command in &workload.commands[..report.last_seq as usize] {
            expected.execute(command, &mut Vec::new());
        }
        assert_eq!(recovered.resting_orders(), expected.resting_orders());
        eprintln!(
            "killed after {delay_ms} ms ({placement:?}): released up to {released}, recovered up to {}",
            report.last_seq
        );
    }
}
