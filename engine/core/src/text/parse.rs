//! Parsing one line of the replay format.

use crate::command::Command;
use crate::risk::{AccountLimits, Collar, CollarWidth};
use crate::types::{InstrumentSpec, Side, TimeInForce};

/// One meaningful line of a replay file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    /// `I`: define an instrument.
    Instrument(InstrumentSpec),
    /// `N`, `M`, `C` or `R`.
    Command(Command),
}

/// Why a line is not a command. Reported as `line N: <this>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("unknown line type `{0}`: expected one of I, N, M, C, R, H, K, L, P")]
    UnknownKind(String),
    #[error("`{kind}` takes {expected} fields after the letter, got {got}")]
    FieldCount {
        kind: char,
        expected: &'static str,
        got: usize,
    },
    #[error("empty field: fields are separated by single spaces or tabs")]
    EmptyField,
    #[error("{field} `{value}` is not {what}")]
    BadNumber {
        field: &'static str,
        value: String,
        what: &'static str,
    },
    #[error("side `{0}` is not B or S")]
    BadSide(String),
    #[error("time in force `{0}` is not GTC, IOC, FOK or POST")]
    BadTimeInForce(String),
    #[error("{field} `{value}` is not {expected}")]
    BadWord {
        field: &'static str,
        value: String,
        expected: &'static str,
    },
}

/// Parses one line. Blank lines and `#` comments give `Ok(None)`.
pub fn parse_line(line: &str) -> Result<Option<Line>, ParseError> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.trim().is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let mut fields = [""; 9];
    let mut n = 0;
    for field in line.split([' ', '\t']) {
        if field.is_empty() {
            return Err(ParseError::EmptyField);
        }
        if n < fields.len() {
            fields[n] = field;
        }
        n += 1;
    }
    let kind = fields[0];
    let args = &fields[1..n.min(fields.len())];
    // `N` and `M` may end with a client order id (an extension of the
    // spec's format: `journal export` writes it for orders that came from a
    // client, so the export keeps who owns what).
    let expect = |k: char, counts: &[usize], expected: &'static str| {
        if counts.contains(&(n - 1)) {
            Ok(())
        } else {
            Err(ParseError::FieldCount {
                kind: k,
                expected,
                got: n - 1,
            })
        }
    };
    let client_order_id = |i: usize| match args.get(i) {
        Some(value) => number(value, "client_order_id", "an unsigned 64-bit integer"),
        None => Ok(0),
    };
    let parsed = match kind {
        "I" => {
            expect('I', &[4], "4")?;
            Line::Instrument(InstrumentSpec {
                symbol: number(args[0], "sym", "an unsigned 32-bit integer")?,
                min_price: number(args[1], "min_price", "a signed 64-bit integer")?,
                max_price: number(args[2], "max_price", "a signed 64-bit integer")?,
                max_qty: number(args[3], "max_qty", "an unsigned 64-bit integer")?,
            })
        }
        "N" => {
            expect('N', &[7, 8], "7 (8 with a client order id)")?;
            Line::Command(Command::New {
                symbol: number(args[0], "sym", "an unsigned 32-bit integer")?,
                id: number(args[1], "id", "an unsigned 64-bit integer")?,
                account: number(args[2], "acct", "an unsigned 32-bit integer")?,
                client_order_id: client_order_id(7)?,
                side: side(args[3])?,
                price: number(args[4], "price", "a signed 64-bit integer")?,
                qty: number(args[5], "qty", "an unsigned 64-bit integer")?,
                tif: time_in_force(args[6])?,
            })
        }
        "M" => {
            expect('M', &[5, 6], "5 (6 with a client order id)")?;
            Line::Command(Command::Market {
                symbol: number(args[0], "sym", "an unsigned 32-bit integer")?,
                id: number(args[1], "id", "an unsigned 64-bit integer")?,
                account: number(args[2], "acct", "an unsigned 32-bit integer")?,
                client_order_id: client_order_id(5)?,
                side: side(args[3])?,
                qty: number(args[4], "qty", "an unsigned 64-bit integer")?,
            })
        }
        "C" => {
            expect('C', &[2], "2")?;
            Line::Command(Command::Cancel {
                symbol: number(args[0], "sym", "an unsigned 32-bit integer")?,
                id: number(args[1], "id", "an unsigned 64-bit integer")?,
            })
        }
        "R" => {
            expect('R', &[4], "4")?;
            Line::Command(Command::Replace {
                symbol: number(args[0], "sym", "an unsigned 32-bit integer")?,
                id: number(args[1], "id", "an unsigned 64-bit integer")?,
                price: number(args[2], "price", "a signed 64-bit integer")?,
                qty: number(args[3], "qty", "an unsigned 64-bit integer")?,
            })
        }
        "H" => {
            expect('H', &[2], "2")?;
            Line::Command(Command::Halt {
                symbol: number(args[0], "sym", "an unsigned 32-bit integer")?,
                halt: word(
                    args[1],
                    "halt",
                    "HALT or RESUME",
                    &[("HALT", true), ("RESUME", false)],
                )?,
            })
        }
        "K" => {
            expect('K', &[2], "2")?;
            Line::Command(Command::Block {
                account: number(args[0], "acct", "an unsigned 32-bit integer")?,
                block: word(
                    args[1],
                    "kill switch",
                    "KILL or ENABLE",
                    &[("KILL", true), ("ENABLE", false)],
                )?,
            })
        }
        "L" => {
            expect('L', &[7], "7")?;
            let amount = |i: usize, field| limit(args[i], field, AccountLimits::NO_LIMIT);
            let count = |i: usize, field| limit(args[i], field, AccountLimits::NO_COUNT_LIMIT);
            Line::Command(Command::Limits {
                account: number(args[0], "acct", "an unsigned 32-bit integer")?,
                limits: AccountLimits {
                    max_order_qty: amount(1, "qty limit")?,
                    max_order_notional: amount(2, "notional limit")?,
                    max_open_orders: count(3, "open limit")?,
                    max_open_orders_per_instrument: count(4, "open_per_sym limit")?,
                    max_position: amount(5, "position limit")?,
                    credit: amount(6, "credit limit")?,
                },
            })
        }
        "P" => {
            expect('P', &[4], "4")?;
            let width = number(args[2], "width", "an unsigned 64-bit integer")?;
            Line::Command(Command::Collar {
                symbol: number(args[0], "sym", "an unsigned 32-bit integer")?,
                collar: Collar {
                    reference: number(args[1], "reference", "a signed 64-bit integer")?,
                    width: word(
                        args[3],
                        "collar unit",
                        "TICKS or BPS",
                        &[
                            ("TICKS", CollarWidth::Ticks(width)),
                            ("BPS", CollarWidth::Bps(width)),
                        ],
                    )?,
                },
            })
        }
        other => return Err(ParseError::UnknownKind(truncated(other))),
    };
    Ok(Some(parsed))
}

/// One of a few fixed words.
fn word<T: Copy>(
    value: &str,
    field: &'static str,
    expected: &'static str,
    words: &[(&str, T)],
) -> Result<T, ParseError> {
    words
        .iter()
        .find(|(w, _)| *w == value)
        .map(|&(_, t)| t)
        .ok_or_else(|| ParseError::BadWord {
            field,
            value: truncated(value),
            expected,
        })
}

/// A limit: a number, or `-` for none (`none`).
fn limit<T: std::str::FromStr>(value: &str, field: &'static str, none: T) -> Result<T, ParseError> {
    if value == "-" {
        Ok(none)
    } else {
        number(value, field, "an unsigned integer or `-`")
    }
}

fn number<T: std::str::FromStr>(
    value: &str,
    field: &'static str,
    what: &'static str,
) -> Result<T, ParseError> {
    // `str::parse` accepts a leading `+`; the format does not.
    if value.starts_with('+') {
        return Err(bad_number(value, field, what));
    }
    value.parse().map_err(|_| bad_number(value, field, what))
}

fn bad_number(value: &str, field: &'static str, what: &'static str) -> ParseError {
    ParseError::BadNumber {
        field,
        value: truncated(value),
        what,
    }
}

fn side(value: &str) -> Result<Side, ParseError> {
    match value {
        "B" => Ok(Side::Buy),
        "S" => Ok(Side::Sell),
        other => Err(ParseError::BadSide(truncated(other))),
    }
}

fn time_in_force(value: &str) -> Result<TimeInForce, ParseError> {
    match value {
        "GTC" => Ok(TimeInForce::Gtc),
        "IOC" => Ok(TimeInForce::Ioc),
        "FOK" => Ok(TimeInForce::Fok),
        "POST" => Ok(TimeInForce::Post),
        other => Err(ParseError::BadTimeInForce(truncated(other))),
    }
}

/// Quotes at most 40 characters of a bad field, so a huge line gives a short message.
fn truncated(value: &str) -> String {
    match value.char_indices().nth(40) {
        Some((end, _)) => format!("{}...", &value[..end]),
        None => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind() {
        assert_eq!(
            parse_line("I 1 1 1000 1000"),
            Ok(Some(Line::Instrument(InstrumentSpec {
                symbol: 1,
                min_price: 1,
                max_price: 1000,
                max_qty: 1000
            })))
        );
        assert_eq!(
            parse_line("N\t1 10 7 S -101 5 POST\r"),
            Ok(Some(Line::Command(Command::New {
                symbol: 1,
                id: 10,
                account: 7,
                client_order_id: 0,
                side: Side::Sell,
                price: -101,
                qty: 5,
                tif: TimeInForce::Post
            })))
        );
        assert!(matches!(
            parse_line("M 1 2 3 B 4"),
            Ok(Some(Line::Command(Command::Market { .. })))
        ));
        assert!(matches!(
            parse_line("C 1 2"),
            Ok(Some(Line::Command(Command::Cancel { .. })))
        ));
        assert!(matches!(
            parse_line("R 1 2 3 4"),
            Ok(Some(Line::Command(Command::Replace { .. })))
        ));
        assert_eq!(parse_line(""), Ok(None));
        assert_eq!(parse_line("   "), Ok(None));
    }

    #[test]
    fn new_and_market_lines_may_end_with_a_client_order_id() {
        let cases = [
            ("N 1 10 7 S 101 5 GTC 18446744073709551615", u64::MAX),
            ("N 1 10 7 S 101 5 GTC", 0),
            ("M 1 10 7 B 5 42", 42),
            ("M 1 10 7 B 5", 0),
        ];
        for (line, expected) in cases {
            let Ok(Some(Line::Command(command))) = parse_line(line) else {
                panic!("{line} does not parse");
            };
            let coid = match command {
                Command::New {
                    client_order_id, ..
                }
                | Command::Market {
                    client_order_id, ..
                } => client_order_id,
                _ => unreachable!(),
            };
            assert_eq!(coid, expected, "{line}");
            // Written back, it is the same line: 0 is left off.
            let mut out = Vec::new();
            crate::text::format::write_command(&mut out, &command).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), format!("{line}\n"));
        }
        let err = |l: &str| parse_line(l).unwrap_err().to_string();
        assert_eq!(
            err("N 1 10 7 S 101 5 GTC 1 2"),
            "`N` takes 7 (8 with a client order id) fields after the letter, got 9"
        );
        assert_eq!(
            err("M 1 10 7 B 5 -1"),
            "client_order_id `-1` is not an unsigned 64-bit integer"
        );
        assert_eq!(parse_line("# comment"), Ok(None));
    }

    #[test]
    fn names_what_is_wrong() {
        let err = |l: &str| parse_line(l).unwrap_err().to_string();
        assert_eq!(
            err("X 1"),
            "unknown line type `X`: expected one of I, N, M, C, R, H, K, L, P"
        );
        assert_eq!(err("H 1 STOP"), "halt `STOP` is not HALT or RESUME");
        assert_eq!(
            err("L 7 1 2 3 4 5 x"),
            "credit limit `x` is not an unsigned integer or `-`"
        );
        assert_eq!(
            err("P 1 100 5 PCT"),
            "collar unit `PCT` is not TICKS or BPS"
        );
        assert_eq!(err("C 1"), "`C` takes 2 fields after the letter, got 1");
        assert_eq!(
            err("C 1 2 3 4 5 6 7 8 9 10"),
            "`C` takes 2 fields after the letter, got 10"
        );
        assert_eq!(
            err("C  1 2"),
            "empty field: fields are separated by single spaces or tabs"
        );
        assert_eq!(
            err("C 1 2 "),
            "empty field: fields are separated by single spaces or tabs"
        );
        assert_eq!(err("C -1 2"), "sym `-1` is not an unsigned 32-bit integer");
        assert_eq!(err("C 1 +2"), "id `+2` is not an unsigned 64-bit integer");
        assert_eq!(err("N 1 2 3 Q 5 6 GTC"), "side `Q` is not B or S");
        assert_eq!(
            err("N 1 2 3 B 5 6 DAY"),
            "time in force `DAY` is not GTC, IOC, FOK or POST"
        );
        assert_eq!(
            err("R 1 2 99999999999999999999 1"),
            "price `99999999999999999999` is not a signed 64-bit integer"
        );
    }
}
