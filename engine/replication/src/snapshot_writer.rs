//! Writes compaction's Raft snapshots on a thread of their own.
//!
//! A compaction's file work reads the engine snapshot, frames it with the
//! records after it, and writes and fsyncs `raft.snap`. On the loop that
//! commits, that stalled commits (docs/replication.md, "What is not done",
//! has the figures, with `os` and with `fsync`). Here the loop hands the
//! job over and goes on. When the file is on disk, the loop appends the
//! record that names it (`LogStore::compact_written`), so the order the
//! model checks (docs/verification/RaftLogSegments.tla: the snapshot file
//! before its record) is kept.
//!
//! One job at a time: compaction looks once a second, and a job still
//! running is simply waited for at the next look. A leader's snapshot to
//! install is written on the loop, after any job in flight is finished
//! (`finish`), so the two never write `raft.snap` at once.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use raft::prelude::{Snapshot, SnapshotMetadata};

use crate::log_store::write_snapshot_file;

/// The error when the writer thread has ended (it only does if it panicked).
const GONE: &str = "the Raft snapshot writer thread is gone";

/// What to write: the engine snapshot file and the records after it up
/// to the end of the entry at `meta.index`.
pub(crate) struct Job {
    /// The Raft log's directory, where `raft.snap` goes.
    pub dir: PathBuf,
    pub engine_path: PathBuf,
    pub engine_seq: u64,
    pub tail: Vec<u8>,
    /// The last command the snapshot holds.
    pub last: u64,
    pub meta: SnapshotMetadata,
}

/// How a job ended.
pub(crate) enum Done {
    /// `raft.snap` holds the snapshot, on disk; `took`: the writer's time.
    Written {
        snapshot: Snapshot,
        last: u64,
        engine_seq: u64,
        took: Duration,
    },
    /// The engine snapshot was pruned meanwhile: the next look finds a newer one.
    Gone,
    Failed(String),
}

/// The writer thread, and the job in flight.
pub(crate) struct SnapshotWriter {
    jobs: Option<Sender<Job>>,
    done: Receiver<Done>,
    thread: Option<JoinHandle<()>>,
    busy: bool,
}

impl SnapshotWriter {
    pub fn start() -> std::io::Result<SnapshotWriter> {
        let (jobs, inbox) = channel::<Job>();
        let (report, done) = channel();
        let thread = std::thread::Builder::new()
            .name("raft-snapshot".into())
            .spawn(move || {
                // Sleeps in `recv` between jobs; ends when the sender goes.
                while let Ok(job) = inbox.recv() {
                    if report.send(write(job)).is_err() {
                        return;
                    }
                }
            })?;
        Ok(SnapshotWriter {
            jobs: Some(jobs),
            done,
            thread: Some(thread),
            busy: false,
        })
    }

    /// Whether a job is in flight.
    pub fn busy(&self) -> bool {
        self.busy
    }

    /// Hands a job over (the caller checks `busy` first).
    pub fn submit(&mut self, job: Job) -> Result<(), String> {
        let sent = self
            .jobs
            .as_ref()
            .is_some_and(|jobs| jobs.send(job).is_ok());
        if !sent {
            return Err(GONE.into());
        }
        self.busy = true;
        Ok(())
    }

    /// The job's end, if it has ended.
    pub fn poll(&mut self) -> Option<Done> {
        if !self.busy {
            return None;
        }
        match self.done.try_recv() {
            Ok(done) => {
                self.busy = false;
                Some(done)
            }
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => {
                self.busy = false;
                Some(Done::Failed(GONE.into()))
            }
        }
    }

    /// Waits for the job in flight, if any, and returns how it ended.
    pub fn finish(&mut self) -> Option<Done> {
        if !self.busy {
            return None;
        }
        self.busy = false;
        Some(
            self.done
                .recv()
                .unwrap_or_else(|_| Done::Failed(GONE.into())),
        )
    }
}

impl Drop for SnapshotWriter {
    fn drop(&mut self) {
        // Closing the channel ends the thread after the job in flight.
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn write(job: Job) -> Done {
    let started = Instant::now();
    let engine = match std::fs::read(&job.engine_path) {
        Ok(bytes) => bytes,
        Err(_) => return Done::Gone,
    };
    let mut snapshot = Snapshot::default();
    snapshot.set_metadata(job.meta);
    snapshot.data = crate::snapshot::encode(job.engine_seq, &engine, &job.tail, job.last).into();
    match write_snapshot_file(&job.dir, &snapshot) {
        Ok(()) => Done::Written {
            snapshot,
            last: job.last,
            engine_seq: job.engine_seq,
            took: started.elapsed(),
        },
        Err(e) => Done::Failed(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(dir: &std::path::Path, engine_path: PathBuf) -> Job {
        Job {
            dir: dir.to_owned(),
            engine_path,
            engine_seq: 7,
            tail: b"tail".to_vec(),
            last: 9,
            meta: SnapshotMetadata {
                index: 3,
                term: 2,
                ..Default::default()
            },
        }
    }

    #[test]
    fn writes_the_snapshot_off_the_caller_and_reports_a_pruned_engine_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = dir.path().join("snapshot-7.snap");
        std::fs::write(&engine, b"engine state").expect("engine file");
        let mut writer = SnapshotWriter::start().expect("thread");
        assert!(writer.poll().is_none(), "nothing in flight");
        writer.submit(job(dir.path(), engine)).expect("submit");
        assert!(writer.busy());
        let Some(Done::Written { snapshot, last, .. }) = writer.finish() else {
            panic!("written");
        };
        assert!(!writer.busy());
        assert_eq!((last, snapshot.get_metadata().index), (9, 3));
        let parts = crate::snapshot::parts(&snapshot.data).expect("framed");
        assert_eq!(parts, (7, &b"engine state"[..], &b"tail"[..], 9));
        let on_disk = std::fs::read(dir.path().join("raft.snap")).expect("raft.snap");
        assert!(
            on_disk.len() > snapshot.data.len(),
            "checksum and metadata too"
        );
        // Pruned before the writer read it: reported, nothing written.
        writer
            .submit(job(dir.path(), dir.path().join("gone.snap")))
            .expect("submit");
        let done = loop {
            if let Some(done) = writer.poll() {
                break done;
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        assert!(matches!(done, Done::Gone));
        assert!(writer.finish().is_none(), "nothing in flight");
    }
}
