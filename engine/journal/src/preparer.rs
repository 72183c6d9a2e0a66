//! The thread that makes the next segment ready while the writer fills
//! the current one, and retires the segments it is done with.
//!
//! Reserving, mapping and touching a whole segment (64 MiB by default)
//! takes far longer than a batch, and unmapping it flushes the TLB of every core the process runs on: work
//! the journal thread should not do between two batches. So one helper
//! thread per writer does both. It keeps one segment ready, and makes the
//! next only when the writer takes it, so a writer never holds more than
//! two segments' worth of disk beyond its records.
//!
//! ```text
//!   writer (journal thread)                 preparer thread
//!   ───────────────────────                 ───────────────
//!   roll: take() ◀──── ready (1 slot) ◀──── prepare(next)
//!         ── Job::Prepare ───────────────▶  prepare(next) …
//!         ── Job::Retire(old, end) ──────▶  unmap, trim to `end`
//! ```
//!
//! When the ready segment is not there yet (a writer filling segments
//! faster than they can be made), `take` prepares one itself: the roll
//! is slow, nothing is lost. Once a job's send fails (the thread is
//! gone), the writer does everything itself.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TryRecvError};
use std::thread::JoinHandle;

use super::error::JournalError;
use super::mapped_segment::{self, MappedSegment, PrepareError};

/// What the writer asks of the thread.
enum Job {
    /// Make one more segment ready (the writer took the last one).
    Prepare,
    /// Unmap a full segment and trim it to its records.
    Retire(MappedSegment, u64),
}

/// The writer's handle on its preparer thread.
#[derive(Debug)]
pub(crate) struct Preparer {
    shared: Arc<Shared>,
    jobs: Option<Sender<Job>>,
    ready: Receiver<Result<MappedSegment, JournalError>>,
    thread: Option<JoinHandle<()>>,
    /// Segments the writer had to prepare itself: the thread was late.
    pub(crate) late: u64,
}

/// What the writer and the thread both read.
#[derive(Debug)]
struct Shared {
    dir: PathBuf,
    bytes: u64,
    /// Numbers the temporary names, so the thread's and the writer's
    /// never clash.
    next_name: AtomicU64,
    /// Set at shutdown: a preparation in progress stops and removes its file.
    stop: AtomicBool,
}

impl Shared {
    fn prepare(&self) -> Result<MappedSegment, PrepareError> {
        // Relaxed: the counter only has to hand out distinct numbers.
        let n = self.next_name.fetch_add(1, Ordering::Relaxed);
        mapped_segment::prepare(&self.dir, n, self.bytes, &self.stop)
    }
}

impl Preparer {
    /// Starts the thread, which makes the first spare segment at once.
    pub(crate) fn start(dir: &Path, bytes: u64) -> Result<Self, JournalError> {
        let shared = Arc::new(Shared {
            dir: dir.to_path_buf(),
            bytes,
            next_name: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        });
        let (jobs_tx, jobs_rx) = mpsc::channel();
        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("journal-prepare".into())
            .spawn({
                let shared = Arc::clone(&shared);
                move || run(&shared, &jobs_rx, &ready_tx)
            })
            .map_err(JournalError::io(
                "start the segment preparer thread for",
                dir,
            ))?;
        let preparer = Preparer {
            shared,
            jobs: Some(jobs_tx),
            ready: ready_rx,
            thread: Some(thread),
            late: 0,
        };
        preparer.send(Job::Prepare);
        Ok(preparer)
    }

    /// Prepares a segment on the calling thread (setup, or a late thread).
    pub(crate) fn prepare_here(&self) -> Result<MappedSegment, JournalError> {
        match self.shared.prepare() {
            Ok(seg) => Ok(seg),
            Err(PrepareError::Failed(e)) => Err(e),
            Err(PrepareError::Stopped) => Err(JournalError::Internal(
                "a segment was asked for after the journal writer began to shut down".into(),
            )),
        }
    }

    /// The ready segment, and a job to make the next; or, if the thread has
    /// not finished it, one made here.
    pub(crate) fn take(&mut self) -> Result<MappedSegment, JournalError> {
        match self.ready.try_recv() {
            Ok(result) => {
                self.send(Job::Prepare);
                result
            }
            Err(TryRecvError::Empty) => {
                self.late += 1;
                self.prepare_here()
            }
            Err(TryRecvError::Disconnected) => self.prepare_here(),
        }
    }

    /// Hands a full segment to the thread to unmap and trim to `end`.
    pub(crate) fn retire(&mut self, seg: MappedSegment, end: u64) {
        if let Some(Job::Retire(seg, end)) = self.send(Job::Retire(seg, end)) {
            let _ = seg.retire(end);
        }
    }

    /// Sends `job`, returning it if the thread is gone.
    fn send(&self, job: Job) -> Option<Job> {
        let jobs = self.jobs.as_ref()?;
        jobs.send(job).err().map(|e| e.0)
    }

    /// Stops the thread after the jobs sent so far (preparations, in
    /// progress or queued, are abandoned; retirements still happen), waits
    /// for it, and removes the spare segment.
    pub(crate) fn stop(&mut self) {
        // Relaxed: the join below orders everything the thread did.
        self.shared.stop.store(true, Ordering::Relaxed);
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        while let Ok(result) = self.ready.try_recv() {
            if let Ok(seg) = result {
                seg.discard();
            }
        }
    }
}

impl Drop for Preparer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Puts the calling thread in the scheduler's idle class (Linux
/// `SCHED_IDLE`): it runs only on a core no other thread wants.
///
/// Preparing a segment is tens of milliseconds of page faults. At normal
/// priority the scheduler lets it finish its slice on the core of a stage
/// that has just woken, and every order in flight waits that long (see
/// docs/performance.md, "CPU in proportion to work"). At idle priority a
/// waking stage takes the core back at once. If the thread is starved
/// (every core busy), the writer finds no segment ready and makes one
/// itself (`Preparer::take`): a slow roll, nothing lost. Failure (a
/// system without the policy) leaves the thread as it was.
fn background_priority() {
    use thread_priority::{
        NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy,
        set_thread_priority_and_policy, thread_native_id,
    };
    let _ = set_thread_priority_and_policy(
        thread_native_id(),
        ThreadPriority::Min,
        ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle),
    );
}

/// The thread: does each job in order, until the writer hangs up.
fn run(
    shared: &Shared,
    jobs: &Receiver<Job>,
    ready: &SyncSender<Result<MappedSegment, JournalError>>,
) {
    background_priority();
    while let Ok(job) = jobs.recv() {
        match job {
            Job::Retire(seg, end) => {
                // A failed trim leaves zeros after the records, which
                // readers take as free space: nothing to report.
                let _ = seg.retire(end);
            }
            Job::Prepare => {
                let result = match shared.prepare() {
                    Ok(seg) => Ok(seg),
                    Err(PrepareError::Failed(e)) => Err(e),
                    // Stopping: no segment is wanted any more, but the jobs
                    // behind this one may be retirements (trims), which
                    // must still happen. At idle priority this thread can
                    // be that far behind the writer when it closes.
                    Err(PrepareError::Stopped) => continue,
                };
                // One job per taken segment keeps the slot free for it.
                if let Err(e) = ready.try_send(result)
                    && let mpsc::TrySendError::Full(Ok(seg))
                    | mpsc::TrySendError::Disconnected(Ok(seg)) = e
                {
                    seg.discard();
                }
            }
        }
    }
}
