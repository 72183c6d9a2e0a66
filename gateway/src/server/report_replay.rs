//! Recovering missed reports: a client's `ReportReplayRequest`, answered
//! off the poll loop by recomputing the account's execution reports from
//! the journal.
//!
//! Why recompute rather than keep: the journal already holds every command,
//! the engine is deterministic, and an execution id is the command's
//! sequence and the report's place among its reports. So the reports after
//! any id are the journal's commands from there, run again from a snapshot
//! at or before it (`journal::replay_span`) through a private engine. Nothing
//! is stored per report on the hot path, the window is the whole retained
//! journal, and it is the same after a restart. The cost is paid by the
//! client that asks: docs/performance.md, "Missed-report recovery".
//!
//! What a replay covers: the reports before the session's logon boundary
//! (`Session::replay_boundary`, the execution id the next routed report had
//! when it logged on). Every report from the boundary on went to the
//! session live. So replayed and live reports never overlap, and nothing
//! falls between them, even when the session logged on in the middle of a
//! command's reports; each stream is in execution-id order.
//!
//! The work runs on a thread of its own (`report-replay`), which sleeps
//! until asked. The poll loop sends it a job and goes on; when the thread
//! rings the loop's waker, the loop queues the answer to the session: the
//! replayed reports, then `ReportReplayEnd`.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Arc;

use journal::{HistoryError, Record, SpanVisitor, replay_span};
use matching::book::SnapshotOrder;
use matching::config::EngineConfig;
use matching::{Command, Event};
use mio::Waker;

use super::execution_reports::{Stamp, reports_of};
use super::registry::SessionRef;
use super::worker::Worker;
use crate::protocol::{
    Accepted, Cancelled, Exec, Fill, MAX_REPLAY_REPORTS, OrderRef, Rejected, Replaced,
    ReplayStatus, ReportReplayEnd, ServerMessage,
};

/// One request, as the poll loop hands it over.
#[derive(Debug, Clone, Copy)]
pub struct Job {
    pub me: SessionRef,
    pub account: u32,
    /// The request frame's sequence number.
    pub ref_seq: u64,
    /// Reports with an execution id after this one ...
    pub after: (u64, u32),
    /// ... and before this one: the session's logon boundary.
    pub before: (u64, u32),
}

/// A job's answer: the reports, in order, and the end to send after them.
#[derive(Debug)]
pub struct Answer {
    pub me: SessionRef,
    pub reports: Vec<ServerMessage>,
    pub end: ReportReplayEnd,
}

/// The poll loop's side: the `report-replay` thread (`worker.rs`).
pub type ReportReplay = Worker<Job, Answer>;

/// Starts the thread that answers from the journal in `dir`, written with
/// `config`; it rings `waker` after each answer.
pub fn start(
    dir: PathBuf,
    config: EngineConfig,
    waker: Arc<Waker>,
) -> std::io::Result<ReportReplay> {
    // A private engine per replay: it need not be prefaulted (that is for
    // the hot path), and skipping it keeps a small replay quick.
    let config = EngineConfig {
        prefault: false,
        ..config
    };
    Worker::start("report-replay", waker, move |job: Job| {
        answer(&dir, &config, &job)
    })
}

/// The answer for a job that could not be handed to the thread.
pub fn failed(job: &Job) -> Answer {
    Answer {
        me: job.me,
        reports: Vec::new(),
        end: ReportReplayEnd {
            ref_seq: job.ref_seq,
            status: ReplayStatus::Failed,
            count: 0,
            resume_seq: job.after.0,
            resume_index: job.after.1,
        },
    }
}

/// Answers one job from the journal.
fn answer(dir: &std::path::Path, config: &EngineConfig, job: &Job) -> Answer {
    let (after_seq, after_index) = job.after;
    // The last command with a report before the boundary.
    let upto = if job.before.1 == 0 {
        job.before.0.saturating_sub(1)
    } else {
        job.before.0
    };
    let mut replay = AccountReplay {
        account: job.account,
        after: job.after,
        before: job.before,
        upto,
        orders: HashMap::new(),
        reports: Vec::new(),
        capped: false,
    };
    // The reports of command `after_seq` itself may be wanted (those after
    // `after_index`): start from the state before it. `u32::MAX` (what
    // `NotRetained` resumes after) wants none of them.
    let from = if after_index == u32::MAX {
        after_seq
    } else {
        after_seq.saturating_sub(1)
    };
    let result = if job.after >= job.before || after_seq > upto {
        Ok(())
    } else {
        replay_span(dir, config, from, upto, &mut replay).map(|_| ())
    };
    let (status, resume) = match result {
        Ok(()) if replay.capped => (ReplayStatus::More, replay.last_id()),
        Ok(()) => (ReplayStatus::Complete, replay.last_id()),
        // Everything up to the earliest base is gone: resume after all of
        // its command's reports.
        Err(HistoryError::NotRetained { earliest, .. }) => {
            (ReplayStatus::NotRetained, (earliest, u32::MAX))
        }
        Err(HistoryError::Journal(e)) => {
            tracing::warn!(
                account = job.account,
                after = ?job.after,
                "report replay failed: {e}"
            );
            (ReplayStatus::Failed, job.after)
        }
    };
    let reports = if status == ReplayStatus::NotRetained || status == ReplayStatus::Failed {
        Vec::new()
    } else {
        replay.reports
    };
    Answer {
        me: job.me,
        end: ReportReplayEnd {
            ref_seq: job.ref_seq,
            status,
            count: reports.len() as u32,
            resume_seq: resume.0,
            resume_index: resume.1,
        },
        reports,
    }
}

/// What a replay knows of one of the account's orders.
#[derive(Debug, Clone, Copy)]
struct Known {
    client_order_id: u64,
    instrument: u32,
    leaves: u64,
}

/// Turns a span's events into the reports of one account, as
/// `execution_reports.rs` made them live.
struct AccountReplay {
    account: u32,
    after: (u64, u32),
    before: (u64, u32),
    /// The last command with reports before `before`.
    upto: u64,
    /// Every order of the account seen in the span, ended ones included: a
    /// refused cancel of an order that had just ended is still its owner's
    /// report, and engine ids are never reused.
    orders: HashMap<u64, Known>,
    reports: Vec<ServerMessage>,
    /// Stopped at `MAX_REPLAY_REPORTS` before `upto`.
    capped: bool,
}

impl AccountReplay {
    /// The id to resume after: the last report's, or the request's.
    fn last_id(&self) -> (u64, u32) {
        self.reports
            .last()
            .and_then(ServerMessage::exec)
            .map_or(self.after, |e| (e.seq, e.index))
    }

    /// The account's order `id`, if it is one: its reference, and its open
    /// quantity after `leaves` (given the open quantity before) sets it,
    /// as the event being replayed changes it.
    fn touch(&mut self, id: u64, leaves: impl FnOnce(u64) -> u64) -> Option<(OrderRef, u64)> {
        let known = self.orders.get_mut(&id)?;
        known.leaves = leaves(known.leaves);
        let order = OrderRef {
            client_order_id: known.client_order_id,
            order_id: id,
            instrument: known.instrument,
        };
        Some((order, known.leaves))
    }

    /// Keeps `msg`, with execution `exec`, if that is in the span asked for.
    fn report(&mut self, exec: Exec, msg: ServerMessage) {
        let id = (exec.seq, exec.index);
        if id > self.after && id < self.before {
            self.reports.push(msg);
        }
    }

    /// One side of a trade: the account's order `id`, if it is one, filled.
    fn fill(&mut self, id: u64, price: i64, qty: u64, exec: Exec) {
        if let Some((order, leaves)) = self.touch(id, |l| l.saturating_sub(qty)) {
            let fill = Fill {
                order,
                exec,
                price,
                qty,
                leaves,
            };
            self.report(exec, ServerMessage::Fill(fill));
        }
    }
}

impl SpanVisitor for AccountReplay {
    fn base_order(&mut self, order: &SnapshotOrder) {
        if order.account == self.account {
            self.orders.insert(
                order.id,
                Known {
                    client_order_id: order.client_order_id,
                    instrument: order.symbol,
                    leaves: order.leaves,
                },
            );
        }
    }

    fn command(&mut self, record: &Record, events: &[Event]) -> ControlFlow<()> {
        let (entered, is_new) = match record.command {
            Command::New {
                symbol,
                id,
                account,
                client_order_id,
                qty,
                ..
            }
            | Command::Market {
                symbol,
                id,
                account,
                client_order_id,
                qty,
                ..
            } => (
                (account == self.account).then_some((
                    id,
                    Known {
                        client_order_id,
                        instrument: symbol,
                        leaves: qty,
                    },
                )),
                true,
            ),
            Command::Cancel { .. }
            | Command::Replace { .. }
            | Command::Halt { .. }
            | Command::Block { .. }
            | Command::Limits { .. }
            | Command::Collar { .. } => (None, false),
        };
        if let Some((id, known)) = entered {
            self.orders.insert(id, known);
        }
        let mut index = 0u32;
        for event in events {
            let stamp = Stamp {
                seq: record.seq,
                index,
                transact_time_ns: record.ts,
            };
            index = index.saturating_add(reports_of(event));
            let exec = stamp.exec(0);
            match *event {
                Event::Accepted { id, .. } => {
                    if let Some((order, _)) = self.touch(id, |l| l) {
                        self.report(exec, ServerMessage::Accepted(Accepted { order, exec }));
                    }
                }
                // A new order's reject ends it; a refused cancel or replace
                // of one of the account's orders (the gateway sends cancels
                // and replaces only for the owner's orders) leaves it as it
                // was.
                Event::Rejected { id, reason, .. } => {
                    let left = |l| if is_new { 0 } else { l };
                    if let Some((order, _)) = self.touch(id, left) {
                        let reason = reason.into();
                        let reject = Rejected {
                            order,
                            exec,
                            reason,
                        };
                        self.report(exec, ServerMessage::Rejected(reject));
                    }
                }
                Event::Trade {
                    taker,
                    maker,
                    price,
                    qty,
                    ..
                } => {
                    self.fill(taker, price, qty, exec);
                    self.fill(maker, price, qty, stamp.exec(1));
                }
                Event::Cancelled {
                    id, qty, reason, ..
                } => {
                    if let Some((order, _)) = self.touch(id, |_| 0) {
                        let cancelled = Cancelled {
                            order,
                            exec,
                            qty,
                            reason: reason.into(),
                        };
                        self.report(exec, ServerMessage::Cancelled(cancelled));
                    }
                }
                Event::Replaced { id, price, qty, .. } => {
                    if let Some((order, _)) = self.touch(id, |_| qty) {
                        let replaced = Replaced {
                            order,
                            exec,
                            price,
                            qty,
                        };
                        self.report(exec, ServerMessage::Replaced(replaced));
                    }
                }
                // Controls report to no account.
                Event::Control { .. } => {}
            }
        }
        // Stop at a command's end once the cap is reached: a command's
        // reports are never split between two answers.
        if self.reports.len() >= MAX_REPLAY_REPORTS as usize && record.seq < self.upto {
            self.capped = true;
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }
}
