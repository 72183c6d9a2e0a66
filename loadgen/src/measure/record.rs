//! `--record FILE`: every execution report received, one per line.
//!
//! The lines use the engine's replay format with engine order ids, one
//! order per line (a trade is one `F` line for each of loadgen's sides):
//!
//! ```text
//! A <sym> <id>                      accepted
//! J <sym> <id> <REASON>             rejected (new order, cancel or replace)
//! F <sym> <id> <price> <qty>        a fill of that order
//! X <sym> <id> <qty> <REASON>       open quantity cancelled (USER, EXPIRED, STP)
//! U <sym> <id> <price> <qty>        replaced: the order's price and leaves now
//! ```
//!
//! Reports are written in the order they were received (per session, the
//! engine's order). The file is flushed every second and at the end of the
//! run, including a run the gateway ended by going away: the record is the
//! evidence of what it said before it went.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use crate::transport::exec::{Exec, ExecKind, cancel_word, reject_word};

/// The record file.
#[derive(Debug)]
pub struct Record {
    out: BufWriter<File>,
    lines: u64,
}

impl Record {
    /// Creates (or truncates) the file.
    pub fn create(path: &Path) -> io::Result<Record> {
        Ok(Record {
            out: BufWriter::with_capacity(1 << 20, File::create(path)?),
            lines: 0,
        })
    }

    /// Appends one report.
    #[inline]
    pub fn write(&mut self, exec: &Exec) -> io::Result<()> {
        self.lines += 1;
        write_line(&mut self.out, exec)
    }

    /// Lines written so far.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Pushes everything written so far to the file.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Writes one report as one line.
pub fn write_line(out: &mut impl Write, exec: &Exec) -> io::Result<()> {
    let (sym, id) = (exec.symbol, exec.order_id);
    match exec.kind {
        ExecKind::Accepted => writeln!(out, "A {sym} {id}"),
        ExecKind::Rejected(reason) => writeln!(out, "J {sym} {id} {}", reject_word(reason)),
        ExecKind::Fill { price, qty, .. } => writeln!(out, "F {sym} {id} {price} {qty}"),
        ExecKind::Cancelled { qty, reason } => {
            writeln!(out, "X {sym} {id} {qty} {}", cancel_word(reason))
        }
        ExecKind::Replaced { price, qty } => writeln!(out, "U {sym} {id} {price} {qty}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use gateway::protocol::{CancelReason, OrderRejectReason};

    #[test]
    fn lines_are_in_the_documented_form() {
        let mut out = Vec::new();
        let e = |kind| Exec {
            coid: 1,
            order_id: 42,
            symbol: 3,
            kind,
        };
        for kind in [
            ExecKind::Accepted,
            ExecKind::Rejected(OrderRejectReason::UnknownClientOrderId),
            ExecKind::Fill {
                price: 100_001,
                qty: 7,
                leaves: Some(3),
            },
            ExecKind::Cancelled {
                qty: 3,
                reason: CancelReason::SelfTrade,
            },
            ExecKind::Replaced { price: -5, qty: 9 },
        ] {
            write_line(&mut out, &e(kind)).unwrap();
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "A 3 42\nJ 3 42 UNKNOWN_CLIENT_ORDER_ID\nF 3 42 100001 7\nX 3 42 3 STP\nU 3 42 -5 9\n"
        );
    }
}
