//! What loadgen sends, and when: the open-loop schedule of intended send
//! times, the seeded order flow, and the table of what loadgen knows of its
//! own orders (which are live, which wait for an answer).
//!
//! Nothing here does I/O: the driver asks the schedule what is due, the
//! workload what to send, and tells the order table what was sent and what
//! came back.

pub(crate) mod orders;
pub(crate) mod schedule;
pub(crate) mod workload;
