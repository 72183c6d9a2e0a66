//! A deterministic hash of an engine's whole state, for tests that compare
//! engines built different ways (live, recovered from a snapshot and the
//! journal, recovered from the journal alone) without dumping and diffing
//! every order.
//!
//! The state of an [`Engine`] is its instruments and its resting orders:
//! nothing else changes what a later command does. The hash is 64-bit FNV-1a
//! over a canonical byte encoding of both, integers little-endian:
//!
//! | bytes | field |
//! |---|---|
//! | 8 | instrument count `n` (`u64`) |
//! | 28 × n | instruments ascending: symbol `u32`, min_price `i64`, max_price `i64`, max_qty `u64` |
//! | 34 × m | orders in [`Engine::for_each_order`] order: symbol `u32`, id `u64`, account `u32`, side `u8` (`B`/`S`), price `i64`, leaves `u64`, post_only `u8` (0/1) |
//! | 8 | resting order count `m` (`u64`) |
//!
//! The order is the snapshot's (instruments ascending, bids then asks, best
//! price first, FIFO within a level), so two engines hash equal exactly when
//! a snapshot of each would hold the same orders in the same queue
//! positions, up to FNV collisions. It is a test tool: it walks every
//! order, and is not meant for the hot path.

use matching::engine::Engine;
use matching::types::Side;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// 64-bit FNV-1a, fed byte slices.
#[derive(Debug, Clone, Copy)]
struct Fnv1a(u64);

impl Fnv1a {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(FNV_PRIME);
        }
    }
}

/// The hash of `engine`'s instruments and resting orders; see the module doc
/// for exactly what is hashed. Equal engines give equal hashes on every
/// machine and in every build.
pub fn state_hash(engine: &Engine) -> u64 {
    let mut h = Fnv1a(FNV_OFFSET);
    let count = engine.instruments().count() as u64;
    h.write(&count.to_le_bytes());
    for spec in engine.instruments() {
        h.write(&spec.symbol.to_le_bytes());
        h.write(&spec.min_price.to_le_bytes());
        h.write(&spec.max_price.to_le_bytes());
        h.write(&spec.max_qty.to_le_bytes());
    }
    let mut orders = 0u64;
    engine.for_each_order(|o| {
        orders += 1;
        h.write(&o.symbol.to_le_bytes());
        h.write(&o.id.to_le_bytes());
        h.write(&o.account.to_le_bytes());
        h.write(&[match o.side {
            Side::Buy => b'B',
            Side::Sell => b'S',
        }]);
        h.write(&o.price.to_le_bytes());
        h.write(&o.leaves.to_le_bytes());
        h.write(&[u8::from(o.post_only)]);
    });
    h.write(&orders.to_le_bytes());
    h.0
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use matching::{Command, EngineConfig, Event, InstrumentSpec, TimeInForce};

    const SPEC: InstrumentSpec = InstrumentSpec {
        symbol: 1,
        min_price: 1,
        max_price: 100,
        max_qty: 1000,
    };

    fn engine(commands: &[Command]) -> Engine {
        let config = EngineConfig {
            max_orders_per_book: 64,
            ..EngineConfig::default()
        };
        let mut e = Engine::new(config).unwrap();
        e.add_instrument(SPEC).unwrap();
        for c in commands {
            e.execute(c, &mut Vec::<Event>::new());
        }
        e
    }

    fn buy(id: u64, price: i64, qty: u64) -> Command {
        Command::New {
            symbol: 1,
            id,
            account: 1,
            client_order_id: 0,
            side: Side::Buy,
            price,
            qty,
            tif: TimeInForce::Gtc,
        }
    }

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        let hash = |s: &[u8]| {
            let mut h = Fnv1a(FNV_OFFSET);
            h.write(s);
            h.0
        };
        assert_eq!(hash(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(hash(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(hash(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn equal_books_hash_equal_and_any_difference_shows() {
        let base = [buy(1, 10, 5), buy(2, 10, 5), buy(3, 9, 5)];
        let h = state_hash(&engine(&base));
        assert_eq!(h, state_hash(&engine(&base)));
        // Queue position (FIFO within a level) is state.
        assert_ne!(
            h,
            state_hash(&engine(&[buy(2, 10, 5), buy(1, 10, 5), buy(3, 9, 5)]))
        );
        // So are leaves, prices, and the instruments themselves.
        assert_ne!(
            h,
            state_hash(&engine(&[buy(1, 10, 5), buy(2, 10, 4), buy(3, 9, 5)]))
        );
        assert_ne!(
            h,
            state_hash(&engine(&[buy(1, 10, 5), buy(2, 10, 5), buy(3, 8, 5)]))
        );
        assert_ne!(state_hash(&engine(&[])), {
            let mut e = engine(&[]);
            e.add_instrument(InstrumentSpec { symbol: 2, ..SPEC })
                .unwrap();
            state_hash(&e)
        });
    }
}
