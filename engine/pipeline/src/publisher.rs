//! The publisher: how commands enter the pipeline.
//!
//! One thread publishes (the gateway's poll loop). It numbers the commands
//! (gap-free, continuing after the journal's last record) and writes them
//! into inbound ring slots, a batch at a time. A full ring holds the
//! publisher back instead of dropping anything; a failed stage turns the
//! wait into an error. Waiting is the `Pipeline`'s: it owns the stages that
//! may run on this thread (see `hosted.rs`), which are what makes room.

use std::sync::Arc;

use disruptor::{MultiConsumerBarrier, Producer, SingleProducer};

use super::config::PipelineError;
use super::doorbell::Doorbell;
use super::health::Health;
use super::slots::Inbound;
use matching::command::Command;

pub(crate) type InboundProducer = SingleProducer<Inbound, MultiConsumerBarrier>;

pub struct Publisher {
    producer: InboundProducer,
    ring: usize,
    next_seq: u64,
    health: Arc<Health>,
    /// Rung after every publish with the ring's last published slot, for
    /// J and M asleep on the inbound ring.
    bell: &'static Doorbell,
    /// Slots published so far (the ring's sequence of the next slot).
    slots: i64,
}

impl Publisher {
    pub(crate) fn new(
        producer: InboundProducer,
        ring: usize,
        next_seq: u64,
        health: Arc<Health>,
        bell: &'static Doorbell,
    ) -> Self {
        Publisher {
            producer,
            ring,
            next_seq,
            health,
            bell,
            slots: 0,
        }
    }

    /// `n` more slots are published: wakes J and M if they sleep.
    #[inline]
    fn published(&mut self, n: usize) {
        self.slots += n as i64;
        self.bell.ring(self.slots - 1);
    }

    /// The doorbell J and M sleep on.
    pub(crate) fn bell(&self) -> &'static Doorbell {
        self.bell
    }

    /// The sequence the next command will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Publishes one command taken in at `ts_ns` if the ring has a free
    /// slot now: its sequence, or `Ok(None)` without waiting.
    #[inline]
    pub fn try_publish(
        &mut self,
        ts_ns: u64,
        command: &Command,
    ) -> Result<Option<u64>, PipelineError> {
        let seq = self.next_seq;
        let published = self.producer.try_publish(|slot| {
            *slot = Inbound {
                seq,
                ts_ns,
                command: *command,
            }
        });
        if published.is_err() {
            self.check()?;
            return Ok(None);
        }
        self.next_seq += 1;
        self.published(1);
        Ok(Some(seq))
    }

    /// Publishes `commands` (at most the ring's size) if the ring has room
    /// for all of them now; `Ok(None)` if not, without waiting. For a
    /// publisher that must keep doing other work while the ring is full
    /// (the gateway drains replies meanwhile: waiting there would close a
    /// cycle of full rings). With hosted stages, the caller must
    /// `Pipeline::poll` before trying again: only that makes room.
    #[inline]
    pub fn try_publish_batch(
        &mut self,
        ts_ns: u64,
        commands: &[Command],
    ) -> Result<Option<u64>, PipelineError> {
        self.check()?;
        if commands.is_empty() {
            return Ok(Some(self.next_seq - 1));
        }
        let first = self.next_seq;
        let published = self.producer.try_batch_publish(commands.len(), |slots| {
            for (i, (slot, command)) in slots.zip(commands).enumerate() {
                *slot = Inbound {
                    seq: first + i as u64,
                    ts_ns,
                    command: *command,
                };
            }
        });
        if published.is_err() {
            return Ok(None);
        }
        self.next_seq += commands.len() as u64;
        self.published(commands.len());
        Ok(Some(self.next_seq - 1))
    }

    /// The inbound ring's size: the most commands one batch can hold.
    pub fn ring_size(&self) -> usize {
        self.ring
    }

    /// An error if a stage has failed.
    #[inline]
    pub fn check(&self) -> Result<(), PipelineError> {
        if self.health.failed()
            && let Some(failure) = self.health.failure()
        {
            return Err(PipelineError::StageFailed(failure));
        }
        Ok(())
    }
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("next_seq", &self.next_seq)
            .finish_non_exhaustive()
    }
}
