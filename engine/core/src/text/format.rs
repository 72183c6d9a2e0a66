//! Writing events and resting orders as replay-format lines.

use std::io::{self, Write};

use crate::book::RestingOrder;
use crate::command::Command;
use crate::event::Event;
use crate::risk::{AccountLimits, CollarWidth};
use crate::types::InstrumentSpec;

/// Writes `event` as one line (with its newline).
pub fn write_event(out: &mut impl Write, event: &Event) -> io::Result<()> {
    match *event {
        Event::Accepted { symbol, id } => writeln!(out, "A {symbol} {id}"),
        Event::Rejected { symbol, id, reason } => {
            writeln!(out, "J {symbol} {id} {}", reason.word())
        }
        Event::Trade {
            symbol,
            taker,
            maker,
            price,
            qty,
        } => writeln!(out, "T {symbol} {taker} {maker} {price} {qty}"),
        Event::Cancelled {
            symbol,
            id,
            qty,
            reason,
        } => writeln!(out, "X {symbol} {id} {qty} {}", reason.word()),
        Event::Replaced {
            symbol,
            id,
            price,
            qty,
        } => writeln!(out, "U {symbol} {id} {price} {qty}"),
        Event::Control { action, target } => writeln!(out, "S {} {target}", action.word()),
    }
}

/// Writes a resting order as a `--dump` line: `O <sym> <B|S> <price> <id> <leaves>`.
pub fn write_resting(out: &mut impl Write, order: &RestingOrder) -> io::Result<()> {
    writeln!(
        out,
        "O {} {} {} {} {}",
        order.symbol,
        order.side.letter(),
        order.price,
        order.id,
        order.leaves
    )
}

/// Writes an instrument definition as an `I` line.
pub fn write_instrument(out: &mut impl Write, spec: &InstrumentSpec) -> io::Result<()> {
    writeln!(
        out,
        "I {} {} {} {}",
        spec.symbol, spec.min_price, spec.max_price, spec.max_qty
    )
}

/// Writes a command as an `N`, `M`, `C`, `R`, `H`, `K`, `L` or `P` line;
/// `parse_line` reads it back.
pub fn write_command(out: &mut impl Write, command: &Command) -> io::Result<()> {
    match *command {
        Command::New {
            symbol,
            id,
            account,
            client_order_id,
            side,
            price,
            qty,
            tif,
        } => {
            write!(
                out,
                "N {symbol} {id} {account} {} {price} {qty} {}",
                side.letter(),
                tif.word()
            )?;
            end_with_client_order_id(out, client_order_id)
        }
        Command::Market {
            symbol,
            id,
            account,
            client_order_id,
            side,
            qty,
        } => {
            write!(out, "M {symbol} {id} {account} {} {qty}", side.letter())?;
            end_with_client_order_id(out, client_order_id)
        }
        Command::Cancel { symbol, id } => writeln!(out, "C {symbol} {id}"),
        Command::Replace {
            symbol,
            id,
            price,
            qty,
        } => writeln!(out, "R {symbol} {id} {price} {qty}"),
        Command::Halt { symbol, halt } => {
            writeln!(out, "H {symbol} {}", if halt { "HALT" } else { "RESUME" })
        }
        Command::Block { account, block } => {
            writeln!(out, "K {account} {}", if block { "KILL" } else { "ENABLE" })
        }
        Command::Limits { account, limits: l } => writeln!(
            out,
            "L {account} {} {} {} {} {} {}",
            Limit(l.max_order_qty, AccountLimits::NO_LIMIT),
            Limit(l.max_order_notional, AccountLimits::NO_LIMIT),
            Limit(
                l.max_open_orders.into(),
                AccountLimits::NO_COUNT_LIMIT.into()
            ),
            Limit(
                l.max_open_orders_per_instrument.into(),
                AccountLimits::NO_COUNT_LIMIT.into()
            ),
            Limit(l.max_position, AccountLimits::NO_LIMIT),
            Limit(l.credit, AccountLimits::NO_LIMIT),
        ),
        Command::Collar { symbol, collar } => {
            let (width, unit) = match collar.width {
                CollarWidth::Ticks(w) => (w, "TICKS"),
                CollarWidth::Bps(w) => (w, "BPS"),
            };
            writeln!(out, "P {symbol} {} {width} {unit}", collar.reference)
        }
    }
}

/// A limit field: its number, or `-` when it is the "no limit" value.
struct Limit(u64, u64);

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0 == self.1 {
            f.write_str("-")
        } else {
            write!(f, "{}", self.0)
        }
    }
}

/// Ends an `N` or `M` line: with the client order id when there is one (not
/// 0), so a spec replay file written back out is unchanged.
fn end_with_client_order_id(out: &mut impl Write, client_order_id: u64) -> io::Result<()> {
    if client_order_id == 0 {
        writeln!(out)
    } else {
        writeln!(out, " {client_order_id}")
    }
}
