//! The durable-sequence gate between the journal stage and the output stage.
//!
//! J publishes the highest sequence its durability setting has made
//! durable; O releases an event only when that sequence covers the command
//! that caused it. The gate is one monotonic counter: J is its only writer,
//! so a plain store suffices (no read-modify-write), and it sits on its own
//! cache line because O polls it while J writes it.

use crossbeam_utils::CachePadded;

use super::doorbell::Doorbell;
use matching::sync::{AtomicU64, Ordering, PUBLISH};

#[derive(Debug)]
pub struct DurableGate {
    durable: CachePadded<AtomicU64>,
    /// Rung with every new durable sequence, for an O asleep at the gate.
    bell: Doorbell,
}

impl DurableGate {
    /// A gate that says everything up to `durable` is durable already
    /// (what recovery found on disk).
    pub fn new(durable: u64) -> Self {
        DurableGate {
            durable: CachePadded::new(AtomicU64::new(durable)),
            bell: Doorbell::new(durable as i64),
        }
    }

    /// J: every command up to `seq` is durable. Call only after the write or
    /// fsync that made it so has returned.
    #[inline]
    pub fn publish(&self, seq: u64) {
        // Release (PUBLISH): pairs with the Acquire load in `durable`, so
        // whatever J did before (the journal write) happens-before O's release.
        self.durable.store(seq, PUBLISH);
        self.bell.ring(seq as i64);
    }

    /// The doorbell `publish` rings, with the durable sequence.
    pub fn bell(&self) -> &Doorbell {
        &self.bell
    }

    /// The highest durable sequence.
    #[inline]
    pub fn durable(&self) -> u64 {
        // Acquire: pairs with the Release store in `publish`.
        self.durable.load(Ordering::Acquire)
    }

    /// `true` when the command `seq` is durable.
    #[inline]
    pub fn covers(&self, seq: u64) -> bool {
        self.durable() >= seq
    }
}
