//! A deterministic hash of an engine's whole state, for tests that compare
//! engines built different ways (live, recovered from a snapshot and the
//! journal, recovered from the journal alone) without dumping and diffing
//! every order.
//!
//! The state of an [`Engine`] is its instruments, its resting orders and
//! its controls ([`Engine::controls`]: halts, collars, tracked accounts):
//! nothing else changes what a later command does. The hash is 64-bit
//! FNV-1a over a canonical byte encoding of all three, integers
//! little-endian:
//!
//! | bytes | field |
//! |---|---|
//! | 8 | instrument count `n` (`u64`) |
//! | 28 × n | instruments ascending: symbol `u32`, min_price `i64`, max_price `i64`, max_qty `u64` |
//! | 34 × m | orders in [`Engine::for_each_order`] order: symbol `u32`, id `u64`, account `u32`, side `u8` (`B`/`S`), price `i64`, leaves `u64`, post_only `u8` (0/1) |
//! | 8 | resting order count `m` (`u64`) |
//! | 8 | count `c` of instruments halted or with a collar (`u64`) |
//! | 30 × c | those instruments ascending: symbol `u32`, halted `u8`, collar `u8` (0 none, 1 TICKS, 2 BPS), collar reference `i64`, width `u64`, reference price now `i64` (all three 0 without a collar) |
//! | 8 | tracked account count `a` (`u64`) |
//! | per account, ascending | account `u32`, limits (qty `u64`, notional `u64`, open `u32`, open_per_sym `u32`, position `u64`, credit `u64`; the type's maximum for `-`), blocked `u8`, count `p` (`u64`), then 28 × p: the instruments where its position is not 0, ascending: symbol `u32`, position `i128`, last fill price `i64` |
//!
//! The orders are in the snapshot's order (instruments ascending, bids then
//! asks, best price first, FIFO within a level); the controls are sorted
//! (the engine lists accounts in the order it first tracked them, which
//! changes nothing), and what cannot change a later command is left out:
//! the reference price of an instrument without a collar (a `P` line sets
//! its own), the last fill price of a flat position (the next fill sets
//! it). So two engines hash equal exactly when they would answer every
//! later command the same and a snapshot of each would hold the same
//! orders in the same queue positions, up to FNV collisions. It is a test
//! tool: it walks every order, and is not meant for the hot path.

use matching::engine::Engine;
use matching::types::Side;
use matching::{Collar, CollarWidth};

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
    write_controls(&mut h, engine);
    h.0
}

/// The controls part of the encoding (see the module doc).
fn write_controls(h: &mut Fnv1a, engine: &Engine) {
    let mut controls = engine.controls();
    controls.instruments.sort_by_key(|c| c.symbol);
    h.write(&(controls.instruments.len() as u64).to_le_bytes());
    for c in &controls.instruments {
        h.write(&c.symbol.to_le_bytes());
        h.write(&[u8::from(c.halted)]);
        let (kind, reference, width, now) = match c.collar {
            None => (0u8, 0, 0, 0),
            Some(Collar {
                reference,
                width: CollarWidth::Ticks(w),
            }) => (1, reference, w, c.reference),
            Some(Collar {
                reference,
                width: CollarWidth::Bps(w),
            }) => (2, reference, w, c.reference),
        };
        h.write(&[kind]);
        h.write(&reference.to_le_bytes());
        h.write(&width.to_le_bytes());
        h.write(&now.to_le_bytes());
    }
    controls.accounts.sort_by_key(|a| a.account);
    h.write(&(controls.accounts.len() as u64).to_le_bytes());
    for a in &mut controls.accounts {
        h.write(&a.account.to_le_bytes());
        let l = a.limits;
        h.write(&l.max_order_qty.to_le_bytes());
        h.write(&l.max_order_notional.to_le_bytes());
        h.write(&l.max_open_orders.to_le_bytes());
        h.write(&l.max_open_orders_per_instrument.to_le_bytes());
        h.write(&l.max_position.to_le_bytes());
        h.write(&l.credit.to_le_bytes());
        h.write(&[u8::from(a.blocked)]);
        a.positions.retain(|p| p.position != 0);
        a.positions.sort_by_key(|p| p.symbol);
        h.write(&(a.positions.len() as u64).to_le_bytes());
        for p in &a.positions {
            h.write(&p.symbol.to_le_bytes());
            h.write(&p.position.to_le_bytes());
            h.write(&p.last_fill.to_le_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use matching::{AccountLimits, Command, EngineConfig, Event, InstrumentSpec, TimeInForce};

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

    fn sell(id: u64, account: u32, price: i64, qty: u64) -> Command {
        Command::New {
            symbol: 1,
            id,
            account,
            client_order_id: 0,
            side: Side::Sell,
            price,
            qty,
            tif: TimeInForce::Gtc,
        }
    }

    fn limits(max_order_qty: u64) -> Command {
        Command::Limits {
            account: 1,
            limits: AccountLimits {
                max_order_qty,
                ..AccountLimits::NONE
            },
        }
    }

    fn collar(reference: i64, width: CollarWidth) -> Command {
        Command::Collar {
            symbol: 1,
            collar: Collar { reference, width },
        }
    }

    #[test]
    fn every_control_is_state() {
        let base = [buy(1, 10, 5)];
        let h = state_hash(&engine(&base));
        let with = |controls: &[Command]| {
            let commands: Vec<Command> = base.iter().chain(controls).copied().collect();
            state_hash(&engine(&commands))
        };
        let halt = Command::Halt {
            symbol: 1,
            halt: true,
        };
        let resume = Command::Halt {
            symbol: 1,
            halt: false,
        };
        let kill = Command::Block {
            account: 2,
            block: true,
        };
        let enable = Command::Block {
            account: 2,
            block: false,
        };
        let mut seen = vec![h];
        for controls in [
            &[halt][..],
            &[collar(10, CollarWidth::Ticks(2))],
            &[collar(10, CollarWidth::Bps(2))],
            &[collar(11, CollarWidth::Ticks(2))],
            &[collar(10, CollarWidth::Ticks(3))],
            &[limits(5)],
            &[limits(6)],
            &[kill],
            &[enable],
            // Account 2 tracked, then sells 2 to account 1: a position.
            &[enable, sell(2, 2, 10, 2)],
            // The same fill before the tracking: no position.
            &[sell(2, 2, 10, 2), enable],
            // A trade moves the collar's reference.
            &[collar(10, CollarWidth::Ticks(2)), sell(2, 2, 10, 2)],
        ] {
            let hash = with(controls);
            assert!(
                !seen.contains(&hash),
                "{controls:?} hashes like an earlier state"
            );
            seen.push(hash);
        }
        // What changes no later command changes nothing: a resume of an
        // open instrument, or the order in which accounts were tracked.
        assert_eq!(with(&[resume]), h);
        assert_eq!(with(&[halt, resume]), h);
        let other_limits = Command::Limits {
            account: 2,
            limits: AccountLimits::NONE,
        };
        assert_eq!(
            with(&[limits(5), other_limits]),
            with(&[other_limits, limits(5)])
        );
        // A collar's reference resets with the collar: set again after a
        // trade, it hashes as if set after it in the first place.
        assert_eq!(
            with(&[
                collar(10, CollarWidth::Ticks(2)),
                sell(2, 2, 10, 2),
                collar(10, CollarWidth::Ticks(2))
            ]),
            with(&[sell(2, 2, 10, 2), collar(10, CollarWidth::Ticks(2))]),
        );
    }
}
