//! Failovers: what a run against a cluster (`--target A,B,C`) lost while
//! its sessions moved from a leader that went away to the next one.
//!
//! A failover begins when a session loses its connection (the node closed
//! it, reset it, or went silent) while every session was connected, and
//! ends once every session is logged on again and the first request sent
//! to the new leader has been answered. Sessions that lose their node
//! while one is under way belong to it: a leader's death takes all of them
//! at once, and they find the next leader one by one.
//!
//! Its *gap* is what a client saw: from the first request that was never
//! answered (the oldest one in flight when the connection went; the loss
//! itself if nothing was in flight) to the first answer from the new
//! leader.
//!
//! Nothing a failover costs vanishes; each request is counted once, in one
//! of two kinds, both outside the `unanswered == 0` check (which keeps
//! meaning "a live node left a request unanswered": a bug) and reported
//! here instead:
//!
//! - **in flight**: sent to the old leader and never answered. Their fate is
//!   unknown to the client: the old leader may have committed some to the
//!   cluster before it died (the new leader then has them), or not.
//! - **not sent**: due while their session had no leader to send to. The
//!   schedule does not wait (open loop), and loadgen does not send them
//!   late: a client with no venue cannot trade, and sending a backlog to
//!   the new leader would measure a burst the schedule never asked for.
//!   They are not counted as sent (the achieved rate is what went out),
//!   and the `achieved` check compares the orders sent with those due
//!   while a leader served, so it keeps checking that loadgen kept up.

use std::net::SocketAddr;

use crate::flow::orders::Unanswered;

/// How many of the requests lost in flight the report lists.
const LIST_FIRST: usize = 20;

/// One failover, times in ns from the start of the run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Gap {
    /// When the gap began: the intended time of the oldest request lost in
    /// flight, or the first connection loss if that was earlier.
    pub from_ns: u64,
    /// When the first session's connection loss was seen.
    pub lost_ns: u64,
    /// When the last session logged on again (`None`: not by the end).
    pub restored_ns: Option<u64>,
    /// When the first answer from the new leader arrived (`None`: not by the end).
    pub answered_ns: Option<u64>,
    /// `answered_ns - from_ns`: how long no request was answered.
    pub gap_ns: Option<u64>,
    /// Where the sessions logged on again (the last one to).
    pub leader: Option<String>,
    /// Requests in flight when their connection went, never answered.
    pub in_flight: u64,
    /// Orders due while their session had no leader: not sent.
    pub not_sent: u64,
}

/// The failovers of a run, for the report (present only if there were any).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FailoverSummary {
    /// How many failovers there were (the last may be unfinished: see `gaps`).
    pub failovers: u64,
    /// The longest `gap_ns` of a finished failover.
    pub longest_gap_ns: Option<u64>,
    /// `in_flight + not_sent`: every request the failovers left unanswered.
    pub left_unanswered: u64,
    /// Requests sent and never answered because their node went away.
    pub in_flight: u64,
    /// Orders not sent because their session had no leader when they were due.
    pub not_sent: u64,
    /// ... of which due after the warm-up.
    pub not_sent_measured: u64,
    /// Requests answered from the last failover's first answer on.
    pub answered_after: u64,
    /// Each failover, oldest first.
    pub gaps: Vec<Gap>,
    /// The first requests lost in flight (at most 20), oldest first.
    pub in_flight_first: Vec<Unanswered>,
}

/// A failover under way (times on the run's clock).
#[derive(Debug, Clone)]
struct Open {
    from_ns: u64,
    lost_ns: u64,
    restored_ns: Option<u64>,
    answered_ns: Option<u64>,
    leader: Option<SocketAddr>,
    in_flight: u64,
    not_sent: u64,
}

/// Tracks the failovers as the driver sees sessions lost and restored.
#[derive(Debug)]
pub struct Failovers {
    /// The run's start and the end of its warm-up, on the run's clock.
    start_ns: u64,
    warmup_end_ns: u64,
    /// Sessions without a connection now.
    down: Vec<bool>,
    /// Sessions logged on again during the failover under way.
    restored: Vec<bool>,
    open: Option<Open>,
    done: Vec<Gap>,
    in_flight: u64,
    in_flight_first: Vec<Unanswered>,
    not_sent: u64,
    not_sent_measured: u64,
    answered_after: u64,
}

impl Failovers {
    /// No failover yet, for `sessions` sessions of a run that started at
    /// `start_ns` and measures from `warmup_end_ns`.
    pub fn new(sessions: usize, start_ns: u64, warmup_end_ns: u64) -> Failovers {
        Failovers {
            start_ns,
            warmup_end_ns,
            down: vec![false; sessions],
            restored: vec![false; sessions],
            open: None,
            done: Vec::new(),
            in_flight: 0,
            in_flight_first: Vec::new(),
            not_sent: 0,
            not_sent_measured: 0,
            answered_after: 0,
        }
    }

    /// Whether a failover is under way.
    #[cfg(test)]
    pub fn is_open(&self) -> bool {
        self.open.is_some()
    }

    /// Session `session` lost its connection at `at_ns`; `abandoned` are its
    /// requests that were in flight (intended times on the run's clock).
    pub fn lost(&mut self, session: u16, at_ns: u64, abandoned: &[Unanswered]) {
        let i = usize::from(session);
        let open = self.open.get_or_insert_with(|| {
            self.restored.iter_mut().for_each(|r| *r = false);
            Open {
                from_ns: at_ns,
                lost_ns: at_ns,
                restored_ns: None,
                answered_ns: None,
                leader: None,
                in_flight: 0,
                not_sent: 0,
            }
        });
        if let Some(first) = abandoned.iter().map(|u| u.intended_ns).min() {
            open.from_ns = open.from_ns.min(first);
        }
        open.in_flight += abandoned.len() as u64;
        // Lost again before the failover ended: it is restored once more.
        open.restored_ns = None;
        if let Some(d) = self.down.get_mut(i) {
            *d = true;
        }
        if let Some(r) = self.restored.get_mut(i) {
            *r = false;
        }
        self.in_flight += abandoned.len() as u64;
        // The oldest over every session lost, not the first session's.
        self.in_flight_first
            .extend(abandoned.iter().map(|u| Unanswered {
                intended_ns: u.intended_ns.saturating_sub(self.start_ns),
                ..*u
            }));
        self.in_flight_first
            .sort_by_key(|u| (u.intended_ns, u.client_order_id));
        self.in_flight_first.truncate(LIST_FIRST);
    }

    /// Session `session` logged on again, to `addr`, at `at_ns`.
    pub fn restored(&mut self, session: u16, at_ns: u64, addr: SocketAddr) {
        let i = usize::from(session);
        if let Some(d) = self.down.get_mut(i) {
            *d = false;
        }
        if let Some(r) = self.restored.get_mut(i) {
            *r = true;
        }
        if let Some(open) = self.open.as_mut() {
            open.leader = Some(addr);
            if !self.down.iter().any(|d| *d) {
                open.restored_ns = Some(at_ns);
            }
        }
        self.try_close();
    }

    /// An order due at `intended_ns` was not sent: its session had no leader.
    pub fn not_sent(&mut self, intended_ns: u64) {
        self.not_sent += 1;
        if intended_ns >= self.warmup_end_ns {
            self.not_sent_measured += 1;
        }
        if let Some(open) = self.open.as_mut() {
            open.not_sent += 1;
        }
    }

    /// A request of session `session` was answered at `recv_ns`.
    #[inline]
    pub fn answered(&mut self, session: u16, recv_ns: u64) {
        if let Some(open) = self.open.as_mut()
            && open.answered_ns.is_none()
            && self.restored.get(usize::from(session)).copied() == Some(true)
        {
            // The first answer from the new leader.
            open.answered_ns = Some(recv_ns);
            self.answered_after = 1;
            self.try_close();
            return;
        }
        if !self.done.is_empty() || self.open.as_ref().is_some_and(|o| o.answered_ns.is_some()) {
            self.answered_after += 1;
        }
    }

    /// Ends the failover under way once every session is back and the new
    /// leader has answered.
    fn try_close(&mut self) {
        let finished = self
            .open
            .as_ref()
            .is_some_and(|o| o.answered_ns.is_some() && o.restored_ns.is_some());
        if finished && let Some(open) = self.open.take() {
            self.done.push(self.gap(&open));
        }
    }

    fn gap(&self, open: &Open) -> Gap {
        let rel = |ns: u64| ns.saturating_sub(self.start_ns);
        Gap {
            from_ns: rel(open.from_ns),
            lost_ns: rel(open.lost_ns),
            restored_ns: open.restored_ns.map(rel),
            answered_ns: open.answered_ns.map(rel),
            gap_ns: open.answered_ns.map(|a| a.saturating_sub(open.from_ns)),
            leader: open.leader.map(|a| a.to_string()),
            in_flight: open.in_flight,
            not_sent: open.not_sent,
        }
    }

    /// The report's part, if there was any failover.
    pub fn summary(&self) -> Option<FailoverSummary> {
        let mut gaps = self.done.clone();
        if let Some(open) = &self.open {
            gaps.push(self.gap(open));
        }
        if gaps.is_empty() {
            return None;
        }
        Some(FailoverSummary {
            failovers: gaps.len() as u64,
            longest_gap_ns: self.done.iter().filter_map(|g| g.gap_ns).max(),
            left_unanswered: self.in_flight + self.not_sent,
            in_flight: self.in_flight,
            not_sent: self.not_sent,
            not_sent_measured: self.not_sent_measured,
            answered_after: self.answered_after,
            gaps,
            in_flight_first: self.in_flight_first.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::flow::orders::RequestKind;

    fn lost_request(session: u16, coid: u64, intended_ns: u64) -> Unanswered {
        Unanswered {
            session,
            client_order_id: coid,
            order_id: 0,
            symbol: 1,
            kind: RequestKind::New,
            intended_ns,
        }
    }

    #[test]
    fn no_failover_no_section() {
        let mut f = Failovers::new(2, 1_000, 2_000);
        f.answered(0, 5_000);
        assert_eq!(f.summary(), None);
    }

    #[test]
    fn a_leader_lost_by_every_session_is_one_failover_from_the_first_lost_order() {
        let addr: SocketAddr = "127.0.0.1:7002".parse().unwrap();
        let mut f = Failovers::new(2, 1_000, 2_000);
        f.answered(0, 9_000);
        f.lost(
            0,
            10_000,
            &[lost_request(0, 7, 9_500), lost_request(0, 8, 9_600)],
        );
        f.lost(1, 10_100, &[lost_request(1, 9, 9_400)]);
        f.not_sent(10_200);
        f.restored(0, 12_000, addr);
        // An answer on a session not yet back is not the new leader's.
        f.answered(1, 12_100);
        f.not_sent(12_200);
        f.restored(1, 12_500, addr);
        assert!(f.is_open(), "no answer from the new leader yet");
        f.answered(1, 13_000);
        assert!(!f.is_open());
        f.answered(0, 13_100);
        let s = f.summary().unwrap();
        assert_eq!(s.failovers, 1);
        assert_eq!(s.gaps[0].from_ns, 8_400, "the oldest lost request");
        assert_eq!(s.gaps[0].lost_ns, 9_000);
        assert_eq!(s.gaps[0].restored_ns, Some(11_500));
        assert_eq!(s.gaps[0].answered_ns, Some(12_000));
        assert_eq!(s.longest_gap_ns, Some(13_000 - 9_400));
        assert_eq!((s.in_flight, s.not_sent, s.left_unanswered), (3, 2, 5));
        assert_eq!(s.not_sent_measured, 2);
        assert_eq!(s.answered_after, 2);
        assert_eq!(s.gaps[0].leader.as_deref(), Some("127.0.0.1:7002"));
        let coids: Vec<u64> = s
            .in_flight_first
            .iter()
            .map(|u| u.client_order_id)
            .collect();
        assert_eq!(coids, [9, 7, 8], "oldest first");
        assert_eq!(s.in_flight_first[0].intended_ns, 8_400);
    }

    #[test]
    fn the_listed_requests_are_the_oldest_over_every_session() {
        let mut f = Failovers::new(2, 0, 0);
        let many: Vec<Unanswered> = (0..30)
            .map(|i| lost_request(0, 100 + i, 1_000 + i))
            .collect();
        f.lost(0, 2_000, &many);
        f.lost(1, 2_001, &[lost_request(1, 7, 500)]);
        let s = f.summary().unwrap();
        assert_eq!(s.in_flight_first.len(), 20);
        assert_eq!(s.in_flight_first[0].client_order_id, 7, "the oldest first");
        assert_eq!(s.in_flight_first[19].client_order_id, 118);
        assert_eq!(s.in_flight, 31);
    }

    #[test]
    fn a_second_loss_after_the_first_ended_is_a_second_failover() {
        let addr: SocketAddr = "127.0.0.1:7003".parse().unwrap();
        let mut f = Failovers::new(1, 0, 0);
        f.lost(0, 100, &[]);
        f.restored(0, 200, addr);
        f.answered(0, 250);
        f.lost(0, 1_000, &[]);
        let s = f.summary().unwrap();
        assert_eq!(s.failovers, 2);
        assert_eq!(
            s.gaps[0].gap_ns,
            Some(150),
            "nothing in flight: from the loss"
        );
        assert_eq!(s.gaps[1].answered_ns, None, "unfinished at the end");
        assert_eq!(s.longest_gap_ns, Some(150), "finished failovers only");
    }
}
