//! What loadgen sends, and when: the open-loop schedule of intended send
//! times, the seeded order flow, the requests it is made of, and the table
//! of what loadgen knows of its own orders (which are live, which wait for
//! an answer).
//!
//! Nothing here does I/O: the driver asks the schedule what is due, the
//! workload what to send, and tells the order table what was sent and what
//! came back. The imports run one way: `workload` → `orders` → `request`.

pub(crate) mod orders;
pub(crate) mod request;
pub(crate) mod schedule;
pub(crate) mod workload;
