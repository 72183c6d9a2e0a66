//! From the pipeline's output stage back to the gateway's poll loop.
//!
//! The output stage releases events on its own thread; the sessions belong
//! to the poll loop's thread. The bridge is a disruptor ring (O produces,
//! the poll loop polls it), and a mio `Waker` rung once per released batch,
//! so an idle poll loop sleeps in `epoll_wait` instead of spinning on a core
//! it shares with the journal.
//!
//! When O runs on the poll loop's own thread (hosted, on 2 cores), the loop
//! lends O a sink of its own for each poll (`ExecutionReports::sink`), and
//! events go straight to routing: the bridge, which has no waker then,
//! gets only what `Pipeline::shutdown` releases after the loop has stopped.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use disruptor::{
    BusySpin, EventPoller, Producer, SingleConsumerBarrier, SingleProducer, SingleProducerBarrier,
    build_single_producer,
};
use mio::Waker;
use pipeline::{Output, OutputSink};

pub type ReplyPoller = EventPoller<Output, SingleProducerBarrier>;

/// The output stage's sink: copies each released event into the reply ring.
pub struct ReplyBridge {
    producer: SingleProducer<Output, SingleConsumerBarrier>,
    pending: Vec<Output>,
    /// `None` when O runs on the poll loop's thread.
    waker: Option<Arc<Waker>>,
    /// Set when the poll loop has stopped: replies are then dropped, so the
    /// output stage can never wait for a reader that is gone.
    closed: Arc<AtomicBool>,
}

/// Builds the reply ring: the sink for the pipeline and the poller for the loop.
pub fn reply_ring(
    size: usize,
    waker: Option<Arc<Waker>>,
    closed: Arc<AtomicBool>,
) -> (ReplyBridge, ReplyPoller) {
    let (poller, builder) =
        build_single_producer(size, Output::default, BusySpin).new_event_poller();
    let bridge = ReplyBridge {
        producer: builder.build(),
        pending: Vec::with_capacity(size.min(4096)),
        waker,
        closed,
    };
    (bridge, poller)
}

impl ReplyBridge {
    fn publish_pending(&mut self) {
        let n = self.pending.len();
        if n == 0 {
            return;
        }
        let pending = &self.pending;
        while self
            .producer
            .try_batch_publish(n, |slots| {
                for (slot, out) in slots.zip(pending) {
                    *slot = *out;
                }
            })
            .is_err()
        {
            // Acquire: pairs with the Release store when the loop stops.
            if self.closed.load(Ordering::Acquire) {
                break;
            }
            std::thread::yield_now();
        }
        self.pending.clear();
        if let Some(waker) = &self.waker {
            // A failed wake means the poll loop is gone; nothing to do.
            let _ = waker.wake();
        }
    }
}

impl OutputSink for ReplyBridge {
    #[inline]
    fn output(&mut self, output: &Output) {
        if self.pending.len() == self.pending.capacity() {
            self.publish_pending();
        }
        self.pending.push(*output);
    }

    #[inline]
    fn end_of_batch(&mut self) {
        self.publish_pending();
    }
}

impl Drop for ReplyBridge {
    fn drop(&mut self) {
        self.publish_pending();
    }
}
