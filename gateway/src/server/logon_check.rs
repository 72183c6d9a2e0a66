//! Logon checks, off the poll loop: a `Logon`'s password is verified
//! against the accounts file on the `logon-check` thread (`worker.rs`),
//! since an Argon2id hash takes tens of milliseconds of one core and the
//! loop serves every other session meanwhile. A logon from an address with
//! recent failures waits before it is checked (`auth::LogonFailures`).
//!
//! Every refusal is the same `BAD_CREDENTIALS`, and costs the same: an
//! unknown account is checked against a hash of its own (made at start),
//! and a disabled account's password is checked too, so neither the answer
//! nor its timing tells which it was.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::Waker;

use super::registry::SessionRef;
use super::worker::Worker;
use crate::auth::{
    Accounts, LogonFailures, PASSWORD_LEN, Role, field_password, hash_of_random_password,
    verify_password,
};

/// A logon to check.
#[derive(Debug, Clone, Copy)]
pub struct LogonCheck {
    pub me: SessionRef,
    pub account: u32,
    pub password: [u8; PASSWORD_LEN],
    pub cancel_on_disconnect: bool,
    /// The client's address, for the failure count (`None`: unknown).
    pub addr: Option<IpAddr>,
}

/// A checked logon: the account's role if it may log on.
#[derive(Debug, Clone, Copy)]
pub struct Checked {
    pub me: SessionRef,
    pub account: u32,
    pub cancel_on_disconnect: bool,
    pub addr: Option<IpAddr>,
    pub allowed: Option<Role>,
}

/// The logons being checked, or waiting to be.
#[derive(Debug)]
pub struct Logons {
    checker: Worker<LogonCheck, Checked>,
    failures: LogonFailures,
    /// Logons from addresses with recent failures, and when each may be
    /// checked.
    waiting: Vec<(Instant, LogonCheck)>,
}

impl Logons {
    /// Starts the `logon-check` thread for `accounts`; it rings `waker`.
    pub fn start(accounts: Arc<Accounts>, waker: Arc<Waker>) -> std::io::Result<Logons> {
        // What an unknown account's password is checked against: a hash of
        // random bytes, with the same parameters as the real ones.
        let unknown = hash_of_random_password().map_err(std::io::Error::other)?;
        let checker = Worker::start("logon-check", waker, move |check: LogonCheck| {
            let entry = accounts.get(check.account);
            let hash = entry.map_or(unknown.as_str(), |e| e.password_hash.as_str());
            let matches = verify_password(hash, field_password(&check.password));
            Checked {
                me: check.me,
                account: check.account,
                cancel_on_disconnect: check.cancel_on_disconnect,
                addr: check.addr,
                allowed: entry.filter(|e| matches && e.enabled).map(|e| e.role),
            }
        })?;
        Ok(Logons {
            checker,
            failures: LogonFailures::default(),
            waiting: Vec::new(),
        })
    }

    /// Checks `check` now, or after its address's delay.
    pub fn ask(&mut self, check: LogonCheck, now: Instant) {
        let delay = check
            .addr
            .map_or(Duration::ZERO, |addr| self.failures.delay(addr, now));
        if delay.is_zero() {
            self.send(check);
        } else {
            self.waiting.push((now + delay, check));
        }
    }

    /// Sends the waiting logons whose delay is over to be checked.
    pub fn release_due(&mut self, now: Instant) {
        // In place: the poll loop calls this every turn, and a list of
        // waiting logons is exactly what a password guesser keeps long.
        let mut i = 0;
        while i < self.waiting.len() {
            if self.waiting[i].0 <= now {
                let (_, check) = self.waiting.swap_remove(i);
                self.send(check);
            } else {
                i += 1;
            }
        }
    }

    fn send(&mut self, check: LogonCheck) {
        // The thread only stops at shutdown: a logon then goes unanswered,
        // and the session is logged out with everyone else.
        let _ = self.checker.send(check);
    }

    /// A checked logon, if one is ready; its address's count is updated.
    pub fn answered(&mut self, now: Instant) -> Option<Checked> {
        let checked = self.checker.try_take()?;
        if let Some(addr) = checked.addr {
            if checked.allowed.is_some() {
                self.failures.succeeded(addr);
            } else {
                self.failures.failed(addr, now);
            }
        }
        Some(checked)
    }

    /// Failed logons since start.
    pub fn failures(&self) -> u64 {
        self.failures.total
    }

    pub fn stop(&mut self) {
        self.checker.stop();
    }
}
