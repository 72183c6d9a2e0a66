//! The check of the `engine_vs_naive` fuzz target, shared with the corpus
//! replay test `engine/core/tests/fuzz_corpus.rs` (both include this file with
//! `#[path]`, so the fuzzer and CI run the same code).
//!
//! The input is a stream of 4-byte commands (a trailing partial one is
//! ignored), decoded by [`decode`] over the two small instruments of
//! `engine/core/tests/model_check.rs`. Every command goes to the fast [`Engine`]
//! and to the [`NaiveEngine`] oracle; the events of each command, the
//! resting orders after it and the control state (halts, collars, tracked
//! accounts' limits, kill switches and positions) must be identical.
//!
//! The decoding keeps every field in a small range so that the fuzzer's
//! byte mutations turn into meaningful book changes: 96 order ids
//! (duplicates, reuse and unknown orders are common), accounts 1..=3
//! (self-trade prevention), prices one tick and more beyond each band,
//! quantities 0 and above `max_qty`, and a never-defined symbol 3. About
//! one command in sixteen is a control line (`H`, `K`, `L`, `P`), with
//! limits small enough to be hit, and resumes and enables three times as
//! common as halts and kills, so that instruments and accounts are mostly
//! open.
//!
//! The ids are 0..32, each optionally with bit 32 or bit 63 set. An id and
//! its two aliases share their low bits, so they land in the same slot of
//! the book's direct-mapped order index (whatever its size, up to 2^32),
//! and the second and third go to its overflow map: without them, small
//! ids would never collide and the overflow path would go untested.
//!
//! | byte | bits | field |
//! |---|---|---|
//! | 0 | 0..3 | kind: 0 GTC, 1 IOC, 2 FOK, 3 POST (`N`); 4 `M`; 5 `C`; 6 `R`; 7 a control line if bit 4 of byte 1 is set, else GTC |
//! | 0 | 3..8 | symbol: 31 → 3 (undefined), else 1 + (value & 1) |
//! | 1 | 0..5 | order id, low bits |
//! | 1 | 5..8 | account: 1 + value % 3 |
//! | 2 | 0 | side: 0 buy, 1 sell |
//! | 2 | 1..8 | v: price = v % 22 − 7, so −7..=14; v / 22 = 4 sets id bit 32, v / 22 = 5 sets id bit 63 |
//! | 3 | all | qty: 0 → 0; 1..=219 → 1 + (b − 1) % 10; 220..=255 → 11 + (b − 220) × 7 / 5 |
//!
//! A control line (kind 7, bit 4 of byte 1 set) takes its symbol and
//! account from the same bits as an order; the rest:
//!
//! | byte | bits | field |
//! |---|---|---|
//! | 1 | 0..2 | line: 0 `H`, 1 `K`, 2 `L`, 3 `P` |
//! | 2 | 0..2 | `H`: HALT when 0, else RESUME; `K`: KILL when 0, else ENABLE |
//! | 2, 3 | 0..12 of `b2 \| b3 << 8` | `L`: two bits per limit, qty, notional, open, open_per_sym, position, credit, from bit 0: an index into [`LIMITS`] (0 is `-`) |
//! | 2 | 1..8 | `P`: reference = v % 22 − 7, like a price |
//! | 3 | all | `P`: bit 7 clear: TICKS, width (b & 127) % 8; set: BPS, width (b & 127) × 100 |

use matching::{
    AccountLimits, Collar, CollarWidth, Command, Engine, EngineConfig, Event, InstrumentSpec, Side,
    TimeInForce,
};
use testkit::naive::{NaiveEngine, comparable_controls};

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

/// `-` in [`LIMITS`].
const NO: u64 = AccountLimits::NO_LIMIT;

/// The values of each limit of an `L` line by its two bits (index 0 is
/// `-`): qty, notional, open, open_per_sym, position, credit. Small, for
/// the instruments above (quantities up to 10 or 50, prices up to 14 in
/// absolute value).
pub const LIMITS: [[u64; 4]; 6] = [
    [NO, 1, 3, 6],
    [NO, 10, 30, 60],
    [NO, 0, 2, 5],
    [NO, 0, 1, 3],
    [NO, 0, 5, 15],
    [NO, 0, 50, 200],
];

/// A count limit from [`LIMITS`] (`-` is the count's own maximum).
fn count(value: u64) -> u32 {
    if value == NO {
        AccountLimits::NO_COUNT_LIMIT
    } else {
        value as u32
    }
}

/// The control line of a 4-byte group of kind 7 with bit 4 of byte 1 set.
fn decode_control(b: [u8; COMMAND_BYTES], symbol: u32, account: u32) -> Command {
    let on = b[2] & 3 == 0;
    match b[1] & 3 {
        0 => Command::Halt { symbol, halt: on },
        1 => Command::Block { account, block: on },
        2 => {
            let bits = u16::from(b[2]) | u16::from(b[3]) << 8;
            let limit = |i: usize| LIMITS[i][usize::from((bits >> (2 * i)) & 3)];
            Command::Limits {
                account,
                limits: AccountLimits {
                    max_order_qty: limit(0),
                    max_order_notional: limit(1),
                    max_open_orders: count(limit(2)),
                    max_open_orders_per_instrument: count(limit(3)),
                    max_position: limit(4),
                    credit: limit(5),
                },
            }
        }
        _ => Command::Collar {
            symbol,
            collar: Collar {
                reference: i64::from((b[2] >> 1) % 22) - 7,
                width: if b[3] & 128 == 0 {
                    CollarWidth::Ticks(u64::from(b[3] & 127) % 8)
                } else {
                    CollarWidth::Bps(u64::from(b[3] & 127) * 100)
                },
            },
        },
    }
}

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
        7 if b[1] & 16 != 0 => decode_control(b, symbol, account),
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
/// −7..=14 (−7..=10 with bit 63), qty not 0..=10; for a control line, a
/// limit not in [`LIMITS`], a collar reference not −7..=14, or a width
/// other than 0..=7 ticks or a multiple of 100 up to 12,700 BPS).
pub fn encode(command: &Command) -> Option<[u8; COMMAND_BYTES]> {
    let (kind, symbol, id, account, side, price, qty) = match *command {
        Command::Halt { .. }
        | Command::Block { .. }
        | Command::Limits { .. }
        | Command::Collar { .. } => return encode_control(command),
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

/// [`encode`] for the control lines.
fn encode_control(command: &Command) -> Option<[u8; COMMAND_BYTES]> {
    let symbol_bits = |symbol| -> Option<u8> {
        match symbol {
            1 => Some(0),
            2 => Some(1),
            3 => Some(31),
            _ => None,
        }
    };
    let account_bits = |account: u32| -> Option<u8> {
        (1..=3)
            .contains(&account)
            .then(|| ((account - 1) as u8) << 5)
    };
    let off = |on: bool| u8::from(!on);
    let encoded = match *command {
        Command::Halt { symbol, halt } => [7 | symbol_bits(symbol)? << 3, 16, off(halt), 0],
        Command::Block { account, block } => [7, 16 | 1 | account_bits(account)?, off(block), 0],
        Command::Limits { account, limits } => {
            let count = |value: u32| {
                if value == AccountLimits::NO_COUNT_LIMIT {
                    NO
                } else {
                    u64::from(value)
                }
            };
            let values = [
                limits.max_order_qty,
                limits.max_order_notional,
                count(limits.max_open_orders),
                count(limits.max_open_orders_per_instrument),
                limits.max_position,
                limits.credit,
            ];
            let mut bits = 0u16;
            for (i, value) in values.into_iter().enumerate() {
                let index = LIMITS[i].iter().position(|&v| v == value)?;
                bits |= (index as u16) << (2 * i);
            }
            let [low, high] = bits.to_le_bytes();
            [7, 16 | 2 | account_bits(account)?, low, high]
        }
        Command::Collar { symbol, collar } => {
            if !(-7..=14).contains(&collar.reference) {
                return None;
            }
            let width = match collar.width {
                CollarWidth::Ticks(w) if w < 8 => w as u8,
                CollarWidth::Bps(w) if w % 100 == 0 && w <= 12_700 => 128 | (w / 100) as u8,
                _ => return None,
            };
            [
                7 | symbol_bits(symbol)? << 3,
                16 | 3,
                ((collar.reference + 7) as u8) << 1,
                width,
            ]
        }
        _ => return None,
    };
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
        let fast_controls = comparable_controls(fast.controls());
        let naive_controls = comparable_controls(naive.controls());
        if fast_controls != naive_controls {
            return Err(format!(
                "after command {i} ({command:?}): fast controls {fast_controls:?}, naive controls {naive_controls:?}"
            ));
        }
    }
    Ok(())
}
