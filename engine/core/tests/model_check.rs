//! The fast book against the naive one: random command streams covering
//! every command, order type and reject reason must give identical events
//! after every command and identical final books.

#![allow(clippy::unwrap_used)] // a test that cannot set up should fail loudly

use matching::{Command, Engine, EngineConfig, Event, InstrumentSpec, Side, TimeInForce};
use proptest::prelude::*;
use testkit::naive::NaiveEngine;

/// Two instruments with narrow bands (so levels fill up and sweeps happen)
/// and small quantities; symbol 3 is never defined.
const INSTRUMENTS: [InstrumentSpec; 2] = [
    InstrumentSpec {
        symbol: 1,
        min_price: 1,
        max_price: 12,
        max_qty: 10,
    },
    InstrumentSpec {
        symbol: 2,
        min_price: -5,
        max_price: 5,
        max_qty: 50,
    },
];

fn side() -> impl Strategy<Value = Side> {
    prop_oneof![Just(Side::Buy), Just(Side::Sell)]
}

fn tif() -> impl Strategy<Value = TimeInForce> {
    prop_oneof![
        4 => Just(TimeInForce::Gtc),
        2 => Just(TimeInForce::Ioc),
        2 => Just(TimeInForce::Fok),
        2 => Just(TimeInForce::Post),
    ]
}

/// Commands biased towards the valid range, with edges and invalid values
/// mixed in: symbols 1..=3, ids 0..24 (so duplicates, reuse and unknown
/// orders are common), accounts 1..=3 (so self-trade prevention happens),
/// prices one tick beyond each band, quantities 0 and above max_qty.
fn command() -> impl Strategy<Value = Command> {
    let symbol = prop_oneof![10 => 1u32..=2, 1 => Just(3u32)];
    let id = 0u64..24;
    let account = 1u32..=3;
    let price = -7i64..=14;
    let qty = prop_oneof![10 => 1u64..=10, 1 => Just(0u64), 1 => 11u64..=60];
    prop_oneof![
        6 => (symbol.clone(), id.clone(), account.clone(), side(), price.clone(), qty.clone(), tif())
            .prop_map(|(symbol, id, account, side, price, qty, tif)| Command::New {
                symbol, id, account, client_order_id: id + 100, side, price, qty, tif
            }),
        1 => (symbol.clone(), id.clone(), account, side(), qty.clone())
            .prop_map(|(symbol, id, account, side, qty)| Command::Market { symbol, id, account, client_order_id: id + 100, side, qty }),
        2 => (symbol.clone(), id.clone()).prop_map(|(symbol, id)| Command::Cancel { symbol, id }),
        2 => (symbol, id, price, qty)
            .prop_map(|(symbol, id, price, qty)| Command::Replace { symbol, id, price, qty }),
    ]
}

fn engines() -> (Engine, NaiveEngine) {
    // Small capacity so the test is cheap; it never fills (ids are < 24 per book).
    let config = EngineConfig {
        max_orders_per_book: 64,
        ..EngineConfig::default()
    };
    let mut fast = Engine::new(config).unwrap();
    let mut naive = NaiveEngine::new();
    for spec in INSTRUMENTS {
        fast.add_instrument(spec).unwrap();
        naive.add_instrument(spec).unwrap();
    }
    (fast, naive)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn fast_book_matches_naive_book(commands in prop::collection::vec(command(), 1..200)) {
        let (mut fast, mut naive) = engines();
        let (mut fast_events, mut naive_events) = (Vec::<Event>::new(), Vec::<Event>::new());
        for (i, command) in commands.iter().enumerate() {
            fast_events.clear();
            naive_events.clear();
            fast.execute(command, &mut fast_events);
            naive.execute(command, &mut naive_events);
            prop_assert_eq!(&fast_events, &naive_events, "events of command {} ({:?})", i, command);
        }
        prop_assert_eq!(fast.resting_orders(), naive.resting_orders());
        // Ownership: every resting order keeps the client order id it came
        // with (here id + 100), through fills, replaces and slot reuse.
        let mut kept = true;
        fast.for_each_order(|o| kept &= o.client_order_id == o.id + 100);
        prop_assert!(kept, "a resting order lost its client order id");
    }
}
