//! The run itself: the open-loop send schedule, the replies, the end.
//!
//! One thread does everything, for either transport:
//!
//! 1. wait (in `epoll_wait`) for replies or the next tick, whichever is first;
//! 2. take every reply that has arrived, timestamp it, and match it to its
//!    request in the order table (latency = receive time − intended time);
//! 3. on a tick: every order whose intended time has passed is decided by
//!    the workload, noted in the order table with its intended time, and
//!    encoded; then each session's batch is written with one `write`.
//!
//! The tick only decides how often loadgen *looks* at the schedule; it never
//! moves an intended time. An order that waits for the next tick, or for a
//! slow loop turn, has that wait in its latency, exactly as a client whose
//! send loop stalled would. If loadgen cannot keep up at all, orders pile
//! into the next batch, the lag histogram shows it, and the achieved rate
//! says it.
//!
//! After the last order: wait (up to `--drain`) for every answer, close the
//! transport cleanly, and list whatever was never answered.
//!
//! Against a cluster a session may lose its node mid-run (the transport
//! says so with a [`SessionEvent`]): its requests in flight stop waiting
//! and are counted as lost in the failover, orders due for it while it has
//! no leader are not sent (and counted), and the other sessions keep to the
//! schedule. `measure/failover.rs` has the accounting.

use std::net::SocketAddr;
use std::time::Duration;

use crate::error::RunError;
use crate::flow::orders::{OrderTable, RequestKind, Unanswered};
use crate::flow::request::Action;
use crate::flow::schedule::Schedule;
use crate::flow::workload::Workload;
use crate::measure::clock::Clock;
use crate::measure::cpu::{self, CpuUsage, Sample};
use crate::measure::failover::{FailoverSummary, Failovers};
use crate::measure::histlog::IntervalSink;
use crate::measure::progress::Progress;
use crate::measure::record::Record;
use crate::measure::recorder::Recorder;
use crate::transport::exec::{Exec, ExecKind, reject_word};

/// One way of getting requests to the engine and answers back.
pub trait Transport {
    /// Encodes (or stages) one request. Nothing need leave before `flush`.
    fn queue(&mut self, action: &Action, intended_ns: u64) -> Result<(), RunError>;
    /// Sends everything queued: one write per session, or one ring batch.
    fn flush(&mut self, now_ns: u64) -> Result<(), RunError>;
    /// Sleeps until `timeout` has passed or replies arrive.
    fn wait(&mut self, timeout: Duration) -> Result<(), RunError>;
    /// Hands every execution report received so far to `on_exec`, each with
    /// the clock time it was received at.
    fn receive(
        &mut self,
        clock: &Clock,
        on_exec: &mut dyn FnMut(&Exec, u64),
    ) -> Result<(), RunError>;
    /// Called about once a second: heartbeats, liveness checks.
    fn housekeeping(&mut self, _now_ns: u64) -> Result<(), RunError> {
        Ok(())
    }
    /// Ends cleanly (logout, pipeline shutdown), delivering the last reports.
    fn close(&mut self, clock: &Clock, on_exec: &mut dyn FnMut(&Exec, u64))
    -> Result<(), RunError>;
    /// The transport's own latency measurement, if it has one: inproc,
    /// command→event from the command's publish (see `transport/inproc.rs`).
    fn event_latency(&self) -> Option<hdrhistogram::Histogram<u64>> {
        None
    }
    /// Sets the clock time from which the transport's own latency is measured
    /// (the end of the warm-up).
    fn measure_from(&mut self, _clock_ns: u64) {}
    /// Things the report should mention (session rejects, say).
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }
    /// Whether `session` can send now: `false` while it looks for a
    /// cluster's new leader.
    fn is_up(&self, _session: u16) -> bool {
        true
    }
    /// Moves the sessions lost and restored since the last call into `into`,
    /// oldest first. Sessions are restored only in `receive`.
    fn take_events(&mut self, _into: &mut Vec<SessionEvent>) {}
}

/// A session of a cluster run lost its node, or logged on again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// The connection went (closed, reset, silent, not the leader) at
    /// `at_ns` on the run's clock.
    Lost {
        session: u16,
        at_ns: u64,
        why: String,
    },
    /// Logged on again, to `addr`, at `at_ns`.
    Restored {
        session: u16,
        at_ns: u64,
        addr: SocketAddr,
    },
}

/// How to drive.
#[derive(Debug, Clone)]
pub struct DriveConfig {
    pub schedule: Schedule,
    /// How often the schedule is looked at and batches are sent.
    pub tick: Duration,
    /// How long to wait for answers after the last order.
    pub drain: Duration,
    pub instruments: u32,
    pub sessions: u16,
}

/// What a drive produced.
#[derive(Debug)]
pub struct DriveOutcome {
    pub recorder: Recorder,
    /// Requests never answered (oldest first), intended times relative to the start.
    pub unanswered: Vec<Unanswered>,
    /// What stopped the run early, if anything did.
    pub failure: Option<RunError>,
    /// When the last order was handed to the transport (ns from the start).
    pub last_send_ns: u64,
    pub notes: Vec<String>,
    /// The transport's command→event latency (inproc), measured orders only.
    pub event: Option<hdrhistogram::Histogram<u64>>,
    /// The process's CPU from the end of the warm-up to the last send.
    pub cpu: Option<CpuUsage>,
    /// What failovers cost, if a session lost its node (cluster runs).
    pub failover: Option<FailoverSummary>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Sending,
    Draining { deadline: u64 },
}

const SECOND: u64 = 1_000_000_000;
/// Most orders encoded in one loop turn (see the send step).
const MAX_PER_TURN: u64 = 8192;
/// The longest sleep while draining (answers are checked this often inproc).
const DRAIN_POLL: Duration = Duration::from_millis(1);

/// Runs the schedule over `transport`. Never returns an error: a failure
/// mid-run ends the run and is returned in the outcome with everything
/// measured up to then (the report says what happened).
pub fn drive(
    transport: &mut dyn Transport,
    workload: &mut Workload,
    clock: &Clock,
    config: &DriveConfig,
    record: Option<&mut Record>,
    mut hist: Option<&mut dyn IntervalSink>,
    progress: &mut Progress,
) -> DriveOutcome {
    let schedule = config.schedule;
    let tick_ns = crate::flow::schedule::duration_ns(config.tick).max(1);
    let start = clock.now_ns();
    transport.measure_from(start.saturating_add(schedule.warmup_ns()));
    let mut st = State {
        table: OrderTable::new(config.instruments),
        rec: Recorder::new(start.saturating_add(schedule.warmup_ns())),
        record,
        record_error: None,
        failovers: Failovers::new(
            usize::from(config.sessions),
            start,
            start.saturating_add(schedule.warmup_ns()),
        ),
        events: Vec::new(),
    };
    let total = schedule.total();
    let mut next: u64 = 0;
    let mut next_tick = start;
    let mut next_second = start + SECOND;
    let mut phase = Phase::Sending;
    let mut last_send = start;
    // CPU: sampled at the first turn after the warm-up and after the last send.
    let own_tid = cpu::current_tid();
    let window_from = start.saturating_add(schedule.warmup_ns());
    let mut cpu_start: Option<(Sample, u64)> = None;
    let mut cpu_tried = false;
    let mut cpu_end: Option<(Sample, u64)> = None;

    let failure: Option<RunError> = 'run: loop {
        // Replies first: they were waiting while we slept.
        if let Err(e) = transport.receive(clock, &mut |e, t| st.on_exec(e, t)) {
            break 'run Some(e);
        }
        // Sessions lost or back: before anything is sent on a new connection.
        st.session_events(transport, progress, start);
        let now = clock.now_ns();

        if phase == Phase::Sending && now >= next_tick {
            // Behind schedule, send at most a turn's worth before taking
            // replies again: the late orders keep their intended times (and
            // their lateness shows), but replies are not left unread while
            // a backlog of millions is encoded.
            let due = schedule.due_at(now - start).min(next + MAX_PER_TURN);
            while next < due {
                let intended = start + schedule.intended_ns(next);
                let action = workload.next(&mut st.table);
                if !transport.is_up(action.session()) {
                    // Its session has no leader now: not sent, and counted.
                    st.table.not_sent(&action);
                    st.failovers.not_sent(intended);
                    next += 1;
                    continue;
                }
                st.table.on_send(&action, intended);
                let kind = match action {
                    Action::New(_) => RequestKind::New,
                    Action::Cancel { .. } => RequestKind::Cancel,
                    Action::Replace { .. } => RequestKind::Replace,
                };
                st.rec.sent(kind, intended, now);
                if let Err(e) = transport.queue(&action, intended) {
                    break 'run Some(e);
                }
                next += 1;
            }
            if let Err(e) = transport.flush(now) {
                break 'run Some(e);
            }
            last_send = now;
            if !cpu_tried && now >= window_from {
                // After the flush, so this turn's orders are not held up.
                cpu_tried = true;
                cpu_start = Sample::take(clock.now_ns()).map(|s| (s, next));
            }
            if next >= total {
                if cpu_start.is_some() {
                    cpu_end = Sample::take(clock.now_ns()).map(|s| (s, next));
                }
                phase = Phase::Draining {
                    deadline: now.saturating_add(crate::flow::schedule::duration_ns(config.drain)),
                };
            } else if schedule.due_at(now - start) > next {
                // Still behind: look again at once, after the replies.
                next_tick = now;
            } else {
                // The next look: one tick on, or the next order's time if later.
                let next_due = start + schedule.intended_ns(next);
                next_tick = (now + tick_ns).max(next_due);
            }
        }

        if now >= next_second {
            let interval = st.rec.take_interval();
            if let Some(h) = hist.as_deref_mut()
                && let Err(source) = h.interval(
                    Duration::from_nanos(next_second - SECOND - start),
                    Duration::from_secs(1),
                    &interval,
                )
            {
                break 'run Some(RunError::Write {
                    what: "the histogram log",
                    source,
                });
            }
            progress.second(
                now - start,
                &schedule,
                &st.rec,
                &interval,
                st.table.pending(),
                next >= total,
            );
            if let Some(r) = st.record.as_deref_mut()
                && let Err(source) = r.flush()
            {
                break 'run Some(RunError::Write {
                    what: "the record file",
                    source,
                });
            }
            if let Err(e) = transport.housekeeping(now) {
                break 'run Some(e);
            }
            next_second += SECOND;
        }
        if let Some(e) = st.record_error.take() {
            break 'run Some(e);
        }

        let wait = match phase {
            Phase::Sending => Duration::from_nanos(next_tick.saturating_sub(now)),
            Phase::Draining { deadline } => {
                if st.table.pending() == 0 || now >= deadline {
                    break 'run None;
                }
                Duration::from_nanos(deadline - now).min(DRAIN_POLL)
            }
        };
        let wait = wait.min(Duration::from_nanos(next_second.saturating_sub(now)));
        if let Err(e) = transport.wait(wait) {
            break 'run Some(e);
        }
    };

    // Sessions lost in the last turn: their requests are the failover's.
    st.session_events(transport, progress, start);
    // A run that stopped early: its window ends here.
    if cpu_end.is_none() && cpu_start.is_some() {
        cpu_end = Sample::take(clock.now_ns()).map(|s| (s, next));
    }
    let cpu = match (cpu_start, cpu_end) {
        (Some((a, from)), Some((b, to))) => {
            Some(CpuUsage::between(&a, &b, to.saturating_sub(from), own_tid))
        }
        _ => None,
    };
    // Close cleanly even after a failure: the other sessions log out, the
    // pipeline drains, and their last reports are counted.
    let close = transport.close(clock, &mut |e, t| st.on_exec(e, t));
    let failure = failure.or(close.err()).or(st.record_error.take());
    let end = clock.now_ns();
    let last = st.rec.take_interval();
    if let Some(h) = hist {
        let from = next_second - SECOND - start;
        let _ = h.interval(
            Duration::from_nanos(from),
            Duration::from_nanos((end - start).saturating_sub(from)),
            &last,
        );
    }
    if let Some(r) = st.record.as_deref_mut() {
        // Flushed even when the run failed: the record is the evidence.
        let _ = r.flush();
    }
    progress.finish();
    let unanswered = st
        .table
        .unanswered()
        .into_iter()
        .map(|mut u| {
            u.intended_ns -= start;
            u
        })
        .collect();
    DriveOutcome {
        recorder: st.rec,
        unanswered,
        failure,
        last_send_ns: last_send - start,
        notes: transport.notes(),
        event: transport.event_latency(),
        cpu,
        failover: st.failovers.summary(),
    }
}

/// The run's state that replies update.
struct State<'r> {
    table: OrderTable,
    rec: Recorder,
    record: Option<&'r mut Record>,
    /// The first failed write to the record file; ends the run.
    record_error: Option<RunError>,
    failovers: Failovers,
    /// Session events taken from the transport, reused.
    events: Vec<SessionEvent>,
}

impl State<'_> {
    /// Takes the transport's session events: a lost session's requests in
    /// flight are the failover's, a restored one is noted.
    fn session_events(
        &mut self,
        transport: &mut dyn Transport,
        progress: &mut Progress,
        start: u64,
    ) {
        transport.take_events(&mut self.events);
        for event in self.events.drain(..) {
            match event {
                SessionEvent::Lost {
                    session,
                    at_ns,
                    why,
                } => {
                    let lost = self.table.abandon_session(session);
                    progress.event(&format!(
                        "loadgen {:.3}s: session {session} lost its node ({why}); {} request(s) \
                         in flight will not be answered; looking for the leader",
                        at_ns.saturating_sub(start) as f64 / 1e9,
                        lost.len()
                    ));
                    self.failovers.lost(session, at_ns, &lost);
                }
                SessionEvent::Restored {
                    session,
                    at_ns,
                    addr,
                } => {
                    progress.event(&format!(
                        "loadgen {:.3}s: session {session} logged on to {addr}",
                        at_ns.saturating_sub(start) as f64 / 1e9
                    ));
                    self.failovers.restored(session, at_ns, addr);
                }
            }
        }
    }

    /// One execution report, received at `recv_ns`.
    #[inline]
    fn on_exec(&mut self, exec: &Exec, recv_ns: u64) {
        let rec = &mut self.rec;
        match exec.kind {
            ExecKind::Accepted => rec.counts.accepted += 1,
            ExecKind::Rejected(reason) => {
                rec.counts.rejected += 1;
                rec.reject_reason(reject_word(reason));
            }
            ExecKind::Fill { .. } => rec.counts.fills += 1,
            ExecKind::Cancelled { .. } => rec.counts.cancelled += 1,
            ExecKind::Replaced { .. } => rec.counts.replaced += 1,
        }
        let seen = self.table.on_exec(exec);
        rec.observed(&seen, recv_ns);
        if seen.answer.is_some() {
            self.failovers.answered(seen.session, recv_ns);
        }
        if let Some(r) = self.record.as_deref_mut()
            && self.record_error.is_none()
            && let Err(source) = r.write(exec)
        {
            self.record_error = Some(RunError::Write {
                what: "the record file",
                source,
            });
        }
    }
}
