//! Waiting between ticks, and waking at once for replies.
//!
//! Loadgen shares a 2-core machine with the gateway and the engine, whose
//! matching thread spins on one core. A loadgen that busy-spun while idle
//! would take the other core from the gateway's poll loop, journal and
//! output stage, and measure the harm it did. So it waits in one of three
//! ways (`--idle`):
//!
//! - `yield` (default): a wait shorter than [`YIELD_BELOW`] polls the
//!   sockets without blocking and gives the core away (`sched_yield`) until
//!   a reply or the deadline comes; a longer one sleeps as `sleep` does.
//!   That is the pipeline's own policy for threads that share a core
//!   (spin-then-yield-then-park): whenever the gateway, journal or output
//!   stage has work, it gets the core within a yield, and loadgen still
//!   sees its tick and its replies within microseconds. On the 2-core
//!   reference VM it costs loadgen less CPU than sleeping: every sleep
//!   there is a timer interrupt and two context switches through the
//!   hypervisor (docs/performance.md, section "Hand-off costs on this
//!   VM"), and one per 20 µs tick costs more than the yields. Over TCP
//!   with a tick of [`SLEEP_FROM_TICK`] or more (the default tick below
//!   500k/s, see `TransportKind::default_tick`), `yield` sleeps as `sleep`
//!   does: a wake-up is then small beside the tick, and yielding through
//!   ticks that long would take a core whenever no one else wants it, for
//!   a client that has little to do.
//! - `sleep`: block in `epoll_wait` until a socket has replies or the next
//!   tick. `epoll_wait`'s own timeout is in milliseconds, far too coarse for
//!   20 µs ticks, so the tick is a `timerfd` (nanosecond resolution, no timer
//!   slack) registered in the same poll. Best when loadgen shares a core with
//!   threads that block rather than yield.
//! - `spin`: poll without blocking or yielding: for a core of loadgen's own
//!   (`--cpu N` on a host with cores to spare), the lowest and steadiest
//!   latency, and never on a core something else needs.
//!
//! Elsewhere than Linux `sleep` uses the poll timeout as it is, and ticks are
//! coarser.

use std::io;
use std::time::Duration;

use mio::{Events, Poll, Registry, Token};

/// The token of the tick timer in the poll.
pub const TIMER: Token = Token(usize::MAX - 1);

/// Waits shorter than this yield (in `yield` mode); longer ones sleep.
pub const YIELD_BELOW: Duration = Duration::from_micros(200);

/// Over TCP, `yield` with a tick at least this long sleeps instead.
pub const SLEEP_FROM_TICK: Duration = Duration::from_micros(50);

/// How loadgen waits when it has nothing to do (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Idle {
    /// Short waits yield the core, long ones sleep.
    #[default]
    Yield,
    /// Sleep in epoll_wait with a timerfd for the tick.
    Sleep,
    /// Busy-poll: only on a core of loadgen's own.
    Spin,
}

impl Idle {
    /// How a TCP run with ticks of `tick` waits: `yield` with a tick of
    /// [`SLEEP_FROM_TICK`] or more sleeps; anything else is as asked.
    pub fn with_tick(self, tick: Duration) -> Idle {
        match self {
            Idle::Yield if tick >= SLEEP_FROM_TICK => Idle::Sleep,
            other => other,
        }
    }
}

/// A mio poll with a precise one-shot timer in it.
#[derive(Debug)]
pub struct Waiter {
    poll: Poll,
    events: Events,
    idle: Idle,
    #[cfg(target_os = "linux")]
    timer: timerfd::TimerFd,
}

impl Waiter {
    pub fn new(idle: Idle) -> io::Result<Waiter> {
        let poll = Poll::new()?;
        #[cfg(target_os = "linux")]
        let timer = {
            let mut timer = timerfd::TimerFd::new()?;
            poll.registry()
                .register(&mut timer, TIMER, mio::Interest::READABLE)?;
            timer
        };
        Ok(Waiter {
            poll,
            events: Events::with_capacity(1024),
            idle,
            #[cfg(target_os = "linux")]
            timer,
        })
    }

    /// Where sockets are registered to wake the wait.
    pub fn registry(&self) -> &Registry {
        self.poll.registry()
    }

    /// Waits until `timeout` has passed or a registered source is ready,
    /// then calls `ready` with the token of each ready source (not the
    /// timer's) and whether its peer closed its side (read it to the end).
    /// A zero timeout only collects what is ready now.
    pub fn wait(
        &mut self,
        timeout: Duration,
        mut ready: impl FnMut(Token, bool),
    ) -> io::Result<()> {
        let busy = match self.idle {
            Idle::Sleep => false,
            Idle::Yield => timeout < YIELD_BELOW,
            Idle::Spin => true,
        };
        if busy {
            return self.poll_until(timeout, ready);
        }
        let poll_timeout = self.arm(timeout)?;
        match self.poll.poll(&mut self.events, poll_timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(()),
            Err(e) => return Err(e),
        }
        for event in self.events.iter() {
            if event.token() != TIMER {
                ready(event.token(), event.is_read_closed());
            }
        }
        Ok(())
    }

    /// Polls without blocking until something is ready or `timeout` has
    /// passed, yielding the core between polls (spinning in `spin` mode).
    fn poll_until(
        &mut self,
        timeout: Duration,
        mut ready: impl FnMut(Token, bool),
    ) -> io::Result<()> {
        let until = std::time::Instant::now() + timeout;
        loop {
            match self.poll.poll(&mut self.events, Some(Duration::ZERO)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(()),
                Err(e) => return Err(e),
            }
            let mut any = false;
            for event in self.events.iter() {
                if event.token() != TIMER {
                    ready(event.token(), event.is_read_closed());
                    any = true;
                }
            }
            if any || std::time::Instant::now() >= until {
                return Ok(());
            }
            match self.idle {
                Idle::Spin => std::hint::spin_loop(),
                _ => std::thread::yield_now(),
            }
        }
    }

    #[cfg(target_os = "linux")]
    fn arm(&mut self, timeout: Duration) -> io::Result<Option<Duration>> {
        if timeout.is_zero() {
            return Ok(Some(Duration::ZERO));
        }
        self.timer.arm(timeout)?;
        Ok(None)
    }

    #[cfg(not(target_os = "linux"))]
    fn arm(&mut self, timeout: Duration) -> io::Result<Option<Duration>> {
        Ok(Some(timeout))
    }
}

#[cfg(target_os = "linux")]
mod timerfd {
    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::time::Duration;

    use mio::unix::SourceFd;
    use mio::{Interest, Registry, Token};

    /// A non-blocking `CLOCK_MONOTONIC` timerfd, armed one shot at a time.
    ///
    /// Registered edge-triggered (mio's default), each expiry is one wake-up;
    /// the expiry count is never read, since only the wake-up matters.
    #[derive(Debug)]
    pub struct TimerFd {
        fd: OwnedFd,
    }

    impl TimerFd {
        pub fn new() -> io::Result<TimerFd> {
            // SAFETY: timerfd_create takes no pointers; it returns a new
            // descriptor or -1, which is checked before the descriptor is owned.
            let fd = unsafe {
                libc::timerfd_create(
                    libc::CLOCK_MONOTONIC,
                    libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
                )
            };
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: `fd` is a descriptor just returned to us and owned by nothing else.
            let fd = unsafe { OwnedFd::from_raw_fd(fd) };
            Ok(TimerFd { fd })
        }

        /// Fires once, `after` from now (at least 1 ns).
        pub fn arm(&self, after: Duration) -> io::Result<()> {
            let after = after.max(Duration::from_nanos(1));
            let spec = libc::itimerspec {
                it_interval: libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                },
                it_value: libc::timespec {
                    tv_sec: libc::time_t::try_from(after.as_secs()).unwrap_or(libc::time_t::MAX),
                    tv_nsec: after.subsec_nanos() as libc::c_long,
                },
            };
            // SAFETY: `spec` is a valid itimerspec that lives across the call;
            // the old-value pointer may be null; the descriptor is ours and open.
            let rc = unsafe {
                libc::timerfd_settime(self.fd.as_raw_fd(), 0, &spec, std::ptr::null_mut())
            };
            if rc < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        }
    }

    impl mio::event::Source for TimerFd {
        fn register(
            &mut self,
            registry: &Registry,
            token: Token,
            interests: Interest,
        ) -> io::Result<()> {
            SourceFd(&self.fd.as_raw_fd()).register(registry, token, interests)
        }
        fn reregister(
            &mut self,
            registry: &Registry,
            token: Token,
            interests: Interest,
        ) -> io::Result<()> {
            SourceFd(&self.fd.as_raw_fd()).reregister(registry, token, interests)
        }
        fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
            SourceFd(&self.fd.as_raw_fd()).deregister(registry)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::time::Instant;

    #[test]
    fn a_short_wait_is_short_and_a_zero_wait_does_not_block() {
        for idle in [Idle::Yield, Idle::Sleep, Idle::Spin] {
            let mut w = Waiter::new(idle).unwrap();
            let start = Instant::now();
            w.wait(Duration::ZERO, |_, _| {}).unwrap();
            w.wait(Duration::from_micros(150), |_, _| {}).unwrap();
            w.wait(Duration::from_micros(300), |_, _| {}).unwrap();
            let took = start.elapsed();
            assert!(took >= Duration::from_micros(450), "{idle:?}: {took:?}");
            // Generous: CI machines are noisy, but not 50 ms noisy.
            assert!(took < Duration::from_millis(50), "{idle:?}: {took:?}");
        }
    }
}
