//! The publisher: how commands enter the pipeline.
//!
//! One thread publishes (the gateway's poll loop). It numbers the commands
//! (gap-free, continuing after the journal's last record) and writes them
//! into inbound ring slots, a batch at a time. A full ring holds the
//! publisher back instead of dropping anything; a failed stage turns the
//! wait into an error. When J and O (and perhaps M) are hosted on the
//! publisher's thread (see `hosted.rs`), the publisher drives them: in
//! `poll`, and while it waits for room (the room J and M must make).

use std::sync::Arc;

use disruptor::{MultiConsumerBarrier, Producer, SingleProducer};

use super::config::PipelineError;
use super::health::Health;
use super::hosted::HostedStages;
use super::slots::Inbound;
use super::wait::{Backoff, StageWait};
use matching::command::Command;

pub(crate) type InboundProducer = SingleProducer<Inbound, MultiConsumerBarrier>;

pub struct Publisher {
    producer: InboundProducer,
    ring: usize,
    next_seq: u64,
    health: Arc<Health>,
    wait: StageWait,
    /// J and O, when this thread runs them.
    hosted: Option<Box<dyn HostedStages>>,
}

impl Publisher {
    pub(crate) fn new(
        producer: InboundProducer,
        ring: usize,
        next_seq: u64,
        health: Arc<Health>,
        wait: StageWait,
        hosted: Option<Box<dyn HostedStages>>,
    ) -> Self {
        Publisher {
            producer,
            ring,
            next_seq,
            health,
            wait,
            hosted,
        }
    }

    /// Runs the stages hosted on this thread, if any: journals every
    /// command published so far, then releases every event M has produced
    /// to the sink. Returns the number of events released (always 0 when J
    /// and O have threads of their own). Cheap when there is nothing to do.
    #[inline]
    pub fn poll(&mut self) -> usize {
        self.poll_up_to(usize::MAX)
    }

    /// As `poll`, releasing at most `limit` events (the rest wait for the
    /// next call): for a sink that can take only so many before its owner,
    /// this same thread, empties it.
    #[inline]
    pub fn poll_up_to(&mut self, limit: usize) -> usize {
        match self.hosted.as_mut() {
            Some(stages) => stages.poll(limit),
            None => 0,
        }
    }

    /// `true` when J and O run on this thread (`poll` must be called).
    pub fn hosts_stages(&self) -> bool {
        self.hosted.is_some()
    }

    /// Hosted stages: the last command whose events have all been released.
    pub(crate) fn released(&self) -> Option<u64> {
        self.hosted.as_ref().map(|stages| stages.released())
    }

    /// Waits once for room in the ring: runs the hosted stages (they make
    /// room), or backs off.
    #[inline]
    fn wait_for_room(&mut self, backoff: &mut Backoff) {
        if self.poll() == 0 {
            backoff.snooze();
        }
    }

    /// The sequence the next command will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Publishes one command taken in at `ts_ns`; returns its sequence.
    #[inline]
    pub fn publish(&mut self, ts_ns: u64, command: &Command) -> Result<u64, PipelineError> {
        let seq = self.next_seq;
        let mut backoff = Backoff::new(self.wait);
        while self
            .producer
            .try_publish(|slot| {
                *slot = Inbound {
                    seq,
                    ts_ns,
                    command: *command,
                }
            })
            .is_err()
        {
            self.check()?;
            self.wait_for_room(&mut backoff);
        }
        self.next_seq += 1;
        Ok(seq)
    }

    /// Publishes commands taken in at the same time, in as few ring
    /// operations as the ring's size allows; returns the last sequence.
    #[inline]
    pub fn publish_batch(
        &mut self,
        ts_ns: u64,
        commands: &[Command],
    ) -> Result<u64, PipelineError> {
        for chunk in commands.chunks(self.ring) {
            let mut backoff = Backoff::new(self.wait);
            while self.try_publish_batch(ts_ns, chunk)?.is_none() {
                self.wait_for_room(&mut backoff);
            }
        }
        Ok(self.next_seq - 1)
    }

    /// Publishes `commands` (at most the ring's size) if the ring has room
    /// for all of them now; `Ok(None)` if not, without waiting. For a
    /// publisher that must keep doing other work while the ring is full
    /// (the gateway drains replies meanwhile: waiting there would close a
    /// cycle of full rings). With hosted stages, the caller must `poll`
    /// before trying again: only that makes room.
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
