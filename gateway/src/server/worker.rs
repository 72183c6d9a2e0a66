//! A helper thread for work the poll loop must not wait for (a report
//! replay, a password hash): jobs go to it over a channel, answers come
//! back over another, and it rings the loop's waker after each, so the loop
//! sleeps in `epoll_wait` until an answer is there. The thread sleeps in
//! `recv` until it has a job: it costs nothing while idle.

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::thread::JoinHandle;

use mio::Waker;

/// The poll loop's side of a helper thread.
#[derive(Debug)]
pub struct Worker<Job, Answer> {
    jobs: Option<Sender<Job>>,
    answers: Receiver<Answer>,
    /// Jobs sent and not yet answered: the loop looks for answers only
    /// while there are some.
    in_flight: usize,
    thread: Option<JoinHandle<()>>,
}

impl<Job: Send + 'static, Answer: Send + 'static> Worker<Job, Answer> {
    /// Starts thread `name`, answering each job with `work`.
    pub fn start(
        name: &str,
        waker: Arc<Waker>,
        mut work: impl FnMut(Job) -> Answer + Send + 'static,
    ) -> std::io::Result<Self> {
        let (jobs, inbox) = mpsc::channel::<Job>();
        let (outbox, answers) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                // Ends when the loop drops its sender (`stop`).
                while let Ok(job) = inbox.recv() {
                    if outbox.send(work(job)).is_err() {
                        return;
                    }
                    let _ = waker.wake();
                }
            })?;
        Ok(Worker {
            jobs: Some(jobs),
            answers,
            in_flight: 0,
            thread: Some(thread),
        })
    }

    /// Hands `job` to the thread; gives it back if the thread is gone.
    pub fn send(&mut self, job: Job) -> Result<(), Job> {
        let Some(jobs) = &self.jobs else {
            return Err(job);
        };
        jobs.send(job).map_err(|e| e.0)?;
        self.in_flight += 1;
        Ok(())
    }

    /// An answer, if one is ready.
    #[inline]
    pub fn try_take(&mut self) -> Option<Answer> {
        if self.in_flight == 0 {
            return None;
        }
        match self.answers.try_recv() {
            Ok(answer) => {
                self.in_flight -= 1;
                Some(answer)
            }
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => {
                self.in_flight = 0;
                None
            }
        }
    }

    /// Stops the thread, after the job it is on, if any.
    pub fn stop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl<Job, Answer> Drop for Worker<Job, Answer> {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
