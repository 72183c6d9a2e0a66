//! The check of the `engine_vs_naive` fuzz target, shared with the corpus
//! replay test `engine/core/tests/fuzz_corpus.rs` (both include this file with
//! `#[path]`, so the fuzzer and CI run the same code).
//!
//! The input is a stream of 4-byte commands (a trailing partial one is
//! ignored), decoded by [`decode`] over the two small instruments of
//! `engine/core/tests/model_check.rs`. Every command goes to the fast [`Engine`]
//! and to the [`NaiveEngine`] oracle; the events of each command and the
//! resting orders after it must be identical.
//!
//! The decoding keeps every field in a small range so that the fuzzer's
//! byte mutations turn into meaningful book changes: 96 order ids
//! (duplicates, reuse and unknown orders are common), accounts 1..=3
//! (self-trade prevention), prices one tick and more beyond each band,
//! quantities 0 and above `max_qty`, and a never-defined symbol 3.
//!
//! The ids are 0..32, each optionally with bit 32 or bit 63 set. An id and
//! its two aliases share their low bits, so they land in the same slot of
//! the book's direct-mapped order index (whatever its size, up to 2^32),
//! and the second and third go to its overflow map: without them, small
//! ids would never collide and the overflow path would go untested.
//!
//! | byte | bits | field |
//! |---|---|---|
//! | 0 | 0..3 | kind: 0 GTC, 1 IOC, 2 FOK, 3 POST, 7 GTC (`N`); 4 `M`; 5 `C`; 6 `R` |
//! | 0 | 3..8 | symbol: 31 → 3 (undefined), else 1 + (value & 1) |
//! | 1 | 0..5 | order id, low bits |
//! | 1 | 5..8 | account: 1 + value % 3 |
//! | 2 | 0 | side: 0 buy, 1 sell |
//! | 2 | 1..8 | v: price = v % 22 − 7, so −7..=14; v / 22 = 4 sets id bit 32, v / 22 = 5 sets id bit 63 |
//! | 3 | all | qty: 0 → 0; 1..=219 → 1 + (b − 1) % 10; 220..=255 → 11 + (b − 220) × 7 / 5 |

use matching::{Command, Engine, EngineConfig, Event, InstrumentSpec, Side, TimeInForce};
use testkit::naive::NaiveEngine;

/// Bytes per command.
pub const COMMAND_BYTES: usize = 4;

/// Two instruments with narrow bands (so levels fill up and sweeps happen)
/// and small quantities, as in `model_check.rs`.
pub const INSTRUMENTS: [InstrumentSpec; 2] = [
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

/// The command of one 4-byte group; see the module doc for the layout.
pub fn decode(b: [u8; COMMAND_BYTES]) -> Command {
    let symbol = match b[0] >> 3 {
        31 => 3,
        v => 1 + u32::from(v & 1),
    };
    let v = b[2] >> 1;
    let id = u64::from(b[1] & 31) | alias(v / 22);
    let account = 1 + u32::from(b[1] >> 5) % 3;
    let side = if b[2] & 1 == 0 { Side::Buy } else { Side::Sell };
    let price = i64::from(v % 22) - 7;
    let qty = match b[3] {
        0 => 0,
        q @ 1..=219 => 1 + u64::from(q - 1) % 10,
        q => 11 + u64::from(q - 220) * 7 / 5,
    };
    let new = |tif| Command::New {
        symbol,
        id,
        account,
        client_order_id: 0,
        side,
        price,
        qty,
        tif,
    };
    match b[0] & 7 {
        0 | 7 => new(TimeInForce::Gtc),
        1 => new(TimeInForce::Ioc),
        2 => new(TimeInForce::Fok),
        3 => new(TimeInForce::Post),
        4 => Command::Market {
            symbol,
            id,
            account,
            client_order_id: 0,
            side,
            qty,
        },
        5 => Command::Cancel { symbol, id },
        _ => Command::Replace {
            symbol,
            id,
            price,
            qty,
        },
    }
}

/// The id bits that `v / 22` of byte 2 adds (see the module doc).
fn alias(hi: u8) -> u64 {
    match hi {
        4 => 1 << 32,
        5 => 1 << 63,
        _ => 0,
    }
}

/// The 4 bytes [`decode`] turns into `command`, for writing seed inputs.
/// `None` when a field is outside what the decoding can express (symbol not
/// 1..=3, id not below 32 or an alias of one, account not 1..=3, price not
/// −7..=14 (−7..=10 with bit 63), qty not 0..=10).
pub fn encode(command: &Command) -> Option<[u8; COMMAND_BYTES]> {
    let (kind, symbol, id, account, side, price, qty) = match *command {
        Command::New {
            symbol,
            id,
            account,
            side,
            price,
            qty,
            tif,
            ..
        } => {
            let kind = match tif {
                TimeInForce::Gtc => 0,
                TimeInForce::Ioc => 1,
                TimeInForce::Fok => 2,
                TimeInForce::Post => 3,
            };
            (kind, symbol, id, account, side, price, qty)
        }
        Command::Market {
            symbol,
            id,
            account,
            side,
            qty,
            ..
        } => (4, symbol, id, account, side, 0, qty),
        Command::Cancel { symbol, id } => (5, symbol, id, 1, Side::Buy, 0, 0),
        Command::Replace {
            symbol,
            id,
            price,
            qty,
        } => (6, symbol, id, 1, Side::Buy, price, qty),
    };
    let symbol_bits: u8 = match symbol {
        1 => 0,
        2 => 1,
        3 => 31,
        _ => return None,
    };
    let hi: u8 = match id & !31 {
        0 => 0,
        a if a == alias(4) => 4,
        a if a == alias(5) => 5,
        _ => return None,
    };
    if !(1..=3).contains(&account) || !(-7..=14).contains(&price) || qty > 10 {
        return None;
    }
    let v = hi * 22 + (price + 7) as u8;
    if v > 127 {
        return None;
    }
    let side_bit = u8::from(side == Side::Sell);
    let encoded = [
        kind | symbol_bits << 3,
        (id & 31) as u8 | ((account - 1) as u8) << 5,
        side_bit | v << 1,
        qty as u8,
    ];
    debug_assert_eq!(decode(encoded), *command);
    Some(encoded)
}

/// The fast engine and the naive one, with [`INSTRUMENTS`] defined.
pub fn engines() -> (Engine, NaiveEngine) {
    // Capacity above the 96 ids a book can see, so `BOOK_FULL` (which the
    // naive engine has no notion of) never happens; small everything else,
    // since the fuzzer builds a pair of engines per input.
    let config = EngineConfig {
        max_orders_per_book: 128,
        max_levels_per_side: 64,
        max_instruments: 4,
        prefault: false,
    };
    let mut fast = Engine::new(config).expect("the test configuration is valid");
    let mut naive = NaiveEngine::new();
    for spec in INSTRUMENTS {
        fast.add_instrument(spec).expect("the test instruments fit");
        naive
            .add_instrument(spec)
            .expect("the test instruments are distinct");
    }
    (fast, naive)
}

/// Runs the commands of `data` through both engines; `Err` names the first
/// command after which they disagree.
pub fn check(data: &[u8]) -> Result<(), String> {
    let (mut fast, mut naive) = engines();
    let (mut fast_events, mut naive_events) = (Vec::<Event>::new(), Vec::<Event>::new());
    for (i, chunk) in data.chunks_exact(COMMAND_BYTES).enumerate() {
        let mut bytes = [0u8; COMMAND_BYTES];
        bytes.copy_from_slice(chunk);
        let command = decode(bytes);
        fast_events.clear();
        naive_events.clear();
        fast.execute(&command, &mut fast_events);
        naive.execute(&command, &mut naive_events);
        if fast_events != naive_events {
            return Err(format!(
                "command {i} ({command:?}): fast engine gave {fast_events:?}, naive gave {naive_events:?}"
            ));
        }
        let (fast_book, naive_book) = (fast.resting_orders(), naive.resting_orders());
        if fast_book != naive_book {
            return Err(format!(
                "after command {i} ({command:?}): fast book {fast_book:?}, naive book {naive_book:?}"
            ));
        }
    }
    Ok(())
}
