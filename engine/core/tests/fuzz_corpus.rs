//! The committed fuzz corpora of the engine's targets (`fuzz/corpus/
//! engine_vs_naive/`, `fuzz/corpus/replay_text/`), replayed through the
//! same checks the fuzz targets run, so CI covers them with no fuzzer.
//!
//! The checks live in `fuzz/checks/` and are included here with `#[path]`,
//! as the fuzz targets include them: one copy of the logic. The seed inputs
//! (`seed-*`) were written by the ignored test `write_seeds`; the others are
//! what short fuzzing runs kept (see docs/verification.md, "Fuzzing").

#![allow(clippy::unwrap_used)] // a test that cannot set up should fail loudly

#[path = "../../../fuzz/checks/corpus.rs"]
mod corpus;
#[path = "../../../fuzz/checks/engine_vs_naive.rs"]
mod engine_vs_naive;
#[path = "../../../fuzz/checks/replay_text.rs"]
mod replay_text;

use matching::{AccountLimits, Collar, CollarWidth, Command, Side, TimeInForce};

fn corpus_dir(target: &str) -> std::path::PathBuf {
    corpus::dir(env!("CARGO_MANIFEST_DIR"), target)
}

#[test]
fn engine_vs_naive_corpus_passes() {
    corpus::replay(&corpus_dir("engine_vs_naive"), 10, engine_vs_naive::check);
}

#[test]
fn replay_text_corpus_passes() {
    corpus::replay(&corpus_dir("replay_text"), 10, replay_text::check);
}

/// Every 4-byte group decodes to a command that encodes back to a group
/// decoding to the same command, whenever its fields fit the seed encoding.
#[test]
fn engine_vs_naive_encoding_round_trips() {
    let mut encodable = 0;
    for i in 0..=u32::MAX / 65_521 {
        let bytes = (i.wrapping_mul(65_521)).to_le_bytes();
        let command = engine_vs_naive::decode(bytes);
        if let Some(again) = engine_vs_naive::encode(&command) {
            assert_eq!(engine_vs_naive::decode(again), command, "{bytes:?}");
            encodable += 1;
        }
    }
    assert!(encodable > 10_000, "{encodable}");
}

// ---- seeds -------------------------------------------------------------

fn new(
    symbol: u32,
    id: u64,
    account: u32,
    side: Side,
    price: i64,
    qty: u64,
    tif: TimeInForce,
) -> Command {
    Command::New {
        symbol,
        id,
        account,
        client_order_id: 0,
        side,
        price,
        qty,
        tif,
    }
}

fn gtc(id: u64, account: u32, side: Side, price: i64, qty: u64) -> Command {
    new(1, id, account, side, price, qty, TimeInForce::Gtc)
}

fn market(id: u64, account: u32, side: Side, qty: u64) -> Command {
    Command::Market {
        symbol: 1,
        id,
        account,
        client_order_id: 0,
        side,
        qty,
    }
}

fn cancel(symbol: u32, id: u64) -> Command {
    Command::Cancel { symbol, id }
}

fn replace(id: u64, price: i64, qty: u64) -> Command {
    Command::Replace {
        symbol: 1,
        id,
        price,
        qty,
    }
}

fn halt(symbol: u32, halt: bool) -> Command {
    Command::Halt { symbol, halt }
}

fn block(account: u32, block: bool) -> Command {
    Command::Block { account, block }
}

/// `L` with qty, notional, open, open_per_sym, position and credit limits
/// (`None` for `-`); each must be in `engine_vs_naive::LIMITS`.
fn limits(account: u32, l: [Option<u64>; 6]) -> Command {
    let amount = |v: Option<u64>| v.unwrap_or(AccountLimits::NO_LIMIT);
    let count = |v: Option<u64>| v.map_or(AccountLimits::NO_COUNT_LIMIT, |v| v as u32);
    Command::Limits {
        account,
        limits: AccountLimits {
            max_order_qty: amount(l[0]),
            max_order_notional: amount(l[1]),
            max_open_orders: count(l[2]),
            max_open_orders_per_instrument: count(l[3]),
            max_position: amount(l[4]),
            credit: amount(l[5]),
        },
    }
}

fn collar(symbol: u32, reference: i64, width: CollarWidth) -> Command {
    Command::Collar {
        symbol,
        collar: Collar { reference, width },
    }
}

/// One scenario per rule of `docs/matching.md` that the 4-byte encoding can
/// express, on instrument 1 (band 1..=12, max_qty 10) unless noted.
fn engine_scenarios() -> Vec<(&'static str, Vec<Command>)> {
    use Side::{Buy, Sell};
    use TimeInForce::{Fok, Ioc, Post};
    vec![
        ("empty", vec![]),
        ("cross", vec![gtc(1, 1, Sell, 10, 5), gtc(2, 2, Buy, 10, 3)]),
        (
            "fifo-at-maker-price",
            vec![
                gtc(1, 1, Sell, 9, 5),
                gtc(2, 2, Sell, 9, 5),
                gtc(3, 1, Sell, 10, 5),
                gtc(4, 3, Buy, 11, 10),
                cancel(1, 2),
            ],
        ),
        (
            "sweep-levels",
            vec![
                gtc(1, 1, Sell, 8, 2),
                gtc(2, 1, Sell, 9, 2),
                gtc(3, 1, Sell, 10, 2),
                gtc(4, 1, Sell, 11, 2),
                new(1, 5, 2, Buy, 12, 10, Ioc),
            ],
        ),
        (
            "stp",
            vec![
                gtc(1, 1, Sell, 10, 5),
                gtc(2, 2, Sell, 10, 5),
                gtc(3, 1, Buy, 10, 7),
            ],
        ),
        (
            "fok",
            vec![
                gtc(1, 1, Sell, 10, 3),
                gtc(2, 2, Sell, 11, 3),
                new(1, 3, 1, Buy, 11, 4, Fok),
                new(1, 4, 3, Buy, 11, 7, Fok),
                new(1, 5, 3, Buy, 11, 6, Fok),
            ],
        ),
        (
            "post",
            vec![
                gtc(1, 1, Sell, 10, 3),
                new(1, 2, 2, Buy, 10, 3, Post),
                new(1, 3, 2, Buy, 9, 3, Post),
                replace(3, 10, 3),
                replace(3, 8, 2),
            ],
        ),
        (
            "replace-priority",
            vec![
                gtc(1, 1, Buy, 5, 5),
                gtc(2, 2, Buy, 5, 5),
                replace(1, 5, 3),
                gtc(3, 3, Sell, 5, 4),
                replace(2, 5, 9),
                gtc(4, 3, Sell, 5, 9),
            ],
        ),
        (
            // Same price, qty equal to the leaves: keeps its place.
            "replace-equal-qty",
            vec![
                gtc(1, 1, Buy, 5, 5),
                gtc(2, 2, Buy, 5, 5),
                replace(1, 5, 5),
                gtc(3, 3, Sell, 5, 5),
            ],
        ),
        (
            "replace-crosses",
            vec![
                gtc(1, 1, Buy, 5, 5),
                gtc(2, 2, Sell, 7, 5),
                replace(1, 8, 6),
                replace(2, 7, 0),
            ],
        ),
        (
            "market",
            vec![
                market(1, 1, Buy, 5),
                gtc(2, 2, Sell, 12, 4),
                gtc(3, 2, Sell, 1, 4),
                market(4, 1, Buy, 10),
                market(5, 2, Sell, 3),
            ],
        ),
        (
            "rejects",
            vec![
                gtc(1, 1, Buy, 5, 0),
                gtc(1, 1, Buy, 0, 5),
                gtc(1, 1, Buy, 13, 5),
                gtc(1, 1, Buy, 5, 5),
                gtc(1, 2, Sell, 6, 5),
                gtc(1, 2, Sell, 6, 5),
                cancel(1, 9),
                replace(9, 5, 5),
                cancel(3, 1),
                new(3, 1, 1, Buy, 5, 5, TimeInForce::Gtc),
            ],
        ),
        (
            "negative-band",
            vec![
                new(2, 1, 1, Sell, -5, 7, TimeInForce::Gtc),
                new(2, 2, 1, Sell, 0, 7, TimeInForce::Gtc),
                new(2, 3, 1, Sell, 5, 7, TimeInForce::Gtc),
                new(2, 4, 2, Buy, 6, 10, TimeInForce::Gtc),
                new(2, 5, 2, Buy, 5, 10, Ioc),
                new(2, 6, 3, Buy, -6, 1, TimeInForce::Gtc),
            ],
        ),
        (
            // Ids that share their low bits share a slot of the order
            // index: the second and third go to its overflow map.
            "id-aliases",
            vec![
                gtc(1, 1, Buy, 5, 5),
                gtc(1 | 1 << 32, 2, Buy, 5, 3),
                gtc(1 | 1 << 63, 3, Buy, 4, 2),
                cancel(1, 1),
                gtc(1, 1, Buy, 3, 4),
                cancel(1, 1 | 1 << 32),
                replace(1 | 1 << 63, 5, 2),
                gtc(1 | 1 << 32, 2, Sell, 9, 1),
                gtc(2, 2, Sell, 3, 10),
                cancel(1, 1),
                cancel(1, 1 | 1 << 32),
            ],
        ),
        (
            "id-reuse",
            vec![
                gtc(1, 1, Buy, 5, 5),
                gtc(1, 2, Sell, 5, 5),
                gtc(1, 3, Buy, 6, 5),
                cancel(1, 1),
                gtc(1, 1, Sell, 7, 5),
                new(2, 1, 1, Buy, 0, 5, TimeInForce::Gtc),
            ],
        ),
        // The control lines (docs/matching.md, "Controls and pre-trade risk").
        (
            // N, M and R refused while halted, C allowed, places kept;
            // H of the undefined symbol 3 rejected.
            "halt",
            vec![
                gtc(1, 1, Buy, 5, 5),
                gtc(2, 2, Buy, 5, 5),
                halt(1, true),
                gtc(3, 3, Sell, 5, 5),
                market(3, 3, Sell, 5),
                replace(1, 5, 3),
                cancel(1, 2),
                halt(3, true),
                halt(1, false),
                gtc(3, 3, Sell, 5, 7),
            ],
        ),
        (
            // K blocks N, M and R of the account's orders; C allowed; its
            // resting orders still trade; ENABLE lifts it.
            "kill-switch",
            vec![
                gtc(1, 1, Buy, 5, 5),
                gtc(2, 1, Sell, 9, 5),
                block(1, true),
                gtc(3, 1, Buy, 6, 1),
                market(3, 1, Buy, 1),
                replace(1, 6, 5),
                gtc(4, 2, Sell, 5, 2),
                cancel(1, 2),
                block(1, false),
                gtc(3, 1, Buy, 6, 1),
            ],
        ),
        (
            // Collar [4, 8]: limits through it rejected, passive side fine;
            // the market buy stops at 8 though its trade at 7 would move
            // the collar to [5, 9]; the next one reaches 9; P resets it.
            "collar",
            vec![
                gtc(1, 1, Sell, 7, 1),
                gtc(2, 1, Sell, 9, 1),
                collar(1, 6, CollarWidth::Ticks(2)),
                gtc(3, 2, Buy, 9, 1),
                gtc(3, 2, Sell, 3, 1),
                gtc(3, 2, Buy, 1, 1),
                market(4, 2, Buy, 5),
                market(5, 2, Buy, 5),
                collar(1, 6, CollarWidth::Ticks(0)),
                gtc(6, 2, Sell, 5, 1),
                collar(3, 6, CollarWidth::Ticks(2)),
            ],
        ),
        (
            // 5,000 BPS of 6 is 3 ticks: [3, 9]; of 9 (after the trade),
            // 4.5, rounded down to 4: [5, 13]. Instrument 2's negative
            // reference uses its absolute value.
            "collar-bps",
            vec![
                collar(1, 6, CollarWidth::Bps(5000)),
                gtc(1, 1, Buy, 10, 1),
                gtc(1, 1, Sell, 2, 1),
                gtc(1, 1, Sell, 9, 1),
                new(1, 2, 2, Buy, 9, 1, Ioc),
                gtc(3, 1, Buy, 12, 1),
                gtc(4, 2, Sell, 4, 1),
                gtc(4, 2, Sell, 5, 1),
                collar(2, -5, CollarWidth::Bps(4000)),
                new(2, 1, 1, Sell, -5, 1, TimeInForce::Gtc),
                new(2, 2, 1, Buy, -2, 1, TimeInForce::Gtc),
                new(2, 3, 1, Buy, -3, 1, TimeInForce::Gtc),
            ],
        ),
        (
            // Each RISK_* reason in turn; the order 1 resting before the
            // first L counts, its fill before it does not.
            "limits",
            vec![
                gtc(1, 1, Buy, 5, 2),
                gtc(2, 2, Sell, 5, 1),
                limits(1, [Some(3), None, None, None, None, None]),
                gtc(3, 1, Buy, 4, 6),
                limits(1, [None, Some(10), None, None, None, None]),
                gtc(3, 1, Buy, 4, 3),
                limits(1, [None, None, Some(0), None, None, None]),
                gtc(3, 1, Buy, 4, 1),
                new(1, 3, 1, Buy, 4, 1, Ioc),
                limits(1, [None, None, None, Some(1), None, None]),
                gtc(3, 1, Buy, 4, 1),
                new(2, 3, 1, Buy, 4, 1, TimeInForce::Gtc),
                limits(1, [None, None, None, None, Some(5), None]),
                gtc(4, 1, Buy, 4, 5),
                gtc(4, 1, Buy, 4, 4),
                gtc(5, 3, Sell, 5, 1),
                replace(4, 4, 4),
                replace(4, 4, 3),
                limits(1, [None, None, None, None, None, Some(50)]),
                gtc(6, 1, Buy, 5, 3),
                gtc(7, 1, Buy, 5, 3),
                gtc(7, 1, Buy, 5, 2),
            ],
        ),
    ]
}

/// A fixed-seed xorshift, so the random seeds are the same on every run.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn engine_seeds() -> Vec<(String, Vec<u8>)> {
    let mut seeds: Vec<(String, Vec<u8>)> = engine_scenarios()
        .into_iter()
        .map(|(name, commands)| {
            let bytes = commands
                .iter()
                .flat_map(|c| engine_vs_naive::encode(c).unwrap_or_else(|| panic!("{name}: {c:?}")))
                .collect();
            (name.to_string(), bytes)
        })
        .collect();
    let mut state = 0x9e37_79b9_7f4a_7c15;
    for i in 0..8 {
        let len = 4 * (20 + xorshift(&mut state) % 200) as usize;
        let bytes = (0..len).map(|_| xorshift(&mut state) as u8).collect();
        seeds.push((format!("random-{i}"), bytes));
    }
    seeds
}

fn text_seeds() -> Vec<(String, Vec<u8>)> {
    let mut seeds = Vec::new();
    let lines: &[(&str, &str)] = &[
        (
            "spec-example",
            "# The example of the spec\nI 1 1 1000 1000\nN 1 10 7 S 101 5 GTC\n\
             N 1 11 8 S 101 5 GTC\nN 1 12 9 B 102 7 IOC\nC 1 11\n",
        ),
        (
            "validation-order",
            "I 1 10 20 5\nN 1 1 1 B 15 3 GTC\nN 9 1 1 B 0 0 POST\nM 1 1 1 S 6\n\
             C 9 77\nR 1 77 0 5\nR 1 4 21 5\n",
        ),
        (
            "every-kind",
            "I 1 1 1000 1000\nN 1 10 7 S 101 5 GTC\nM 1 2 3 B 4\nC 1 2\nR 1 2 3 4\n",
        ),
        ("tabs-crlf", "N\t1 10 7 S -101 5 POST\r\nC 1 2\r\n"),
        ("comments-blank", "# comment\n\n   \n#N 1 1 1 B 1 1 GTC\n"),
        (
            "field-count",
            "C 1\nC 1 2 3 4 5 6 7 8 9 10\nI 1 2 3\nN 1\nM\nR 1 2 3\n",
        ),
        ("empty-field", "C  1 2\nC 1 2 \n C 1 2\n\tC 1 2\n"),
        (
            "bad-numbers",
            "C -1 2\nC 1 +2\nR 1 2 99999999999999999999 1\nN 1 2 3 B 1e3 1 GTC\nI 4294967296 1 2 3\n",
        ),
        (
            "bad-words",
            "N 1 2 3 Q 5 6 GTC\nN 1 2 3 B 5 6 DAY\nX 1\nn 1 2 3 b 5 6 gtc\n",
        ),
        (
            "extremes",
            "I 4294967295 -9223372036854775808 9223372036854775807 18446744073709551615\nN 0 0 0 B -9223372036854775808 0 FOK\nR 4294967295 18446744073709551615 9223372036854775807 18446744073709551615\n",
        ),
        (
            "long-field",
            "C 1 22222222222222222222222222222222222222222222222222222222222222222222222222\nZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ\n",
        ),
        (
            "unicode",
            "N 1 2 3 \u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9} 5 6 GTC\n\u{1f600} 1\nC \u{663}\u{663} 1\n",
        ),
        (
            "separators",
            "C\u{a0}1 2\nC 1\u{b}2\nC 1 2\r\r\nC 1 2\u{0}\n",
        ),
        (
            "zero-and-signs",
            "C 0 0\nN 1 1 1 S -0 1 IOC\nR 1 1 -1 0\nC 01 002\n",
        ),
        (
            // The control lines, good and bad; a limit equal to its
            // field's maximum is written back as `-`, which reads the same.
            "controls",
            "H 1 HALT\nH 1 RESUME\nK 7 KILL\nK 0 ENABLE\nL 7 1 2 3 4 5 6\nL 7 - - - - - -\n\
             L 7 18446744073709551615 - 4294967295 - - 0\nP 1 100 5 TICKS\nP 4294967295 -9223372036854775808 18446744073709551615 BPS\n\
             H 1 PAUSE\nK 7 kill\nL 7 1 2 3 4 5\nL 7 1 2 4294967296 4 5 6\nL 7 -1 - - - - -\nP 1 100 5 PCT\nP 1 100 -5 TICKS\nH 1\n",
        ),
    ];
    for (name, text) in lines {
        seeds.push((name.to_string(), text.as_bytes().to_vec()));
    }
    seeds.push((
        "invalid-utf8".into(),
        b"C 1 \xff\xfe\nN 1 2 3 B \xc3 5 GTC\n\xe2\x82\n".to_vec(),
    ));
    seeds
}

/// Rewrites the seed inputs of both engine targets:
/// `cargo test -p matching --test fuzz_corpus -- --ignored write_seeds`.
#[test]
#[ignore = "writes files; run by hand to regenerate the seeds"]
fn write_seeds() {
    corpus::write_seeds(&corpus_dir("engine_vs_naive"), &engine_seeds());
    corpus::write_seeds(&corpus_dir("replay_text"), &text_seeds());
}
