//! Ids from a counter, and the cache lines they live on.
//!
//! - `id_table`: `IdTable<V>`, a direct-mapped table for ids that come from
//!   a counter (the gateway's engine order ids and command sequences,
//!   loadgen's client order ids), with a seeded overflow map for the rare
//!   long-lived id.
//! - `prefetch`: asking the CPU for a cache line ahead of time.
//!
//! A crate of its own so that the gateway and loadgen share one table with
//! one set of tests, and loadgen need not depend on the gateway for it. The
//! matching core keeps its own two tables (`book/order_index.rs`,
//! `book/id_map.rs`): they are tied to its order arena and store no ids.

pub mod id_table;
pub mod prefetch;

pub use id_table::IdTable;
pub use prefetch::prefetch;
