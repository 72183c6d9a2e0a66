//! Execution reports as loadgen sees them, whichever transport they came by.
//!
//! The TCP transport decodes the gateway's `ServerMessage`s; the inproc
//! transport reads the pipeline's `Event`s. Both become [`Exec`]: one report
//! about one order, with the client order id that finds the order in the
//! order table and the engine order id that the `--record` file prints. A
//! trade in the pipeline is two reports, one fill for each side, as the
//! gateway would send them.

use gateway::protocol::{CancelReason, OrderRejectReason, ServerMessage};
use matching::Event;

/// One execution report about one order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exec {
    /// The order, by the id loadgen gave it (unique over all sessions of a run).
    pub coid: u64,
    /// The engine's id of the order (0 when refused before it got one).
    pub order_id: u64,
    /// The instrument.
    pub symbol: u32,
    pub kind: ExecKind,
}

/// What happened to the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecKind {
    /// A new order was accepted.
    Accepted,
    /// A new order, cancel or replace was refused.
    Rejected(OrderRejectReason),
    /// Part or all of the order traded. `leaves` is the open quantity after
    /// the fill when the transport knows it (the gateway says; the pipeline's
    /// trade event does not, and the order table works it out).
    Fill {
        price: i64,
        qty: u64,
        leaves: Option<u64>,
    },
    /// Open quantity was cancelled; the order is gone.
    Cancelled { qty: u64, reason: CancelReason },
    /// A replace was accepted: the order's price and open quantity now.
    Replaced { price: i64, qty: u64 },
}

impl Exec {
    /// The execution report in a gateway message, if it is one.
    pub fn from_server(msg: &ServerMessage) -> Option<Exec> {
        let (order, kind) = match *msg {
            ServerMessage::Accepted(m) => (m.order, ExecKind::Accepted),
            ServerMessage::Rejected(m) => (m.order, ExecKind::Rejected(m.reason)),
            ServerMessage::Fill(m) => (
                m.order,
                ExecKind::Fill {
                    price: m.price,
                    qty: m.qty,
                    leaves: Some(m.leaves),
                },
            ),
            ServerMessage::Cancelled(m) => (
                m.order,
                ExecKind::Cancelled {
                    qty: m.qty,
                    reason: m.reason,
                },
            ),
            ServerMessage::Replaced(m) => (
                m.order,
                ExecKind::Replaced {
                    price: m.price,
                    qty: m.qty,
                },
            ),
            _ => return None,
        };
        Some(Exec {
            coid: order.client_order_id,
            order_id: order.order_id,
            symbol: order.instrument,
            kind,
        })
    }

    /// The reports of one pipeline event, passed to `out` in order: the
    /// inproc transport uses engine order ids as client order ids.
    pub fn from_event(event: &Event, mut out: impl FnMut(Exec)) {
        let one = |symbol, id, kind| Exec {
            coid: id,
            order_id: id,
            symbol,
            kind,
        };
        match *event {
            Event::Accepted { symbol, id } => out(one(symbol, id, ExecKind::Accepted)),
            Event::Rejected { symbol, id, reason } => {
                out(one(symbol, id, ExecKind::Rejected(reason.into())))
            }
            Event::Trade {
                symbol,
                taker,
                maker,
                price,
                qty,
            } => {
                let fill = ExecKind::Fill {
                    price,
                    qty,
                    leaves: None,
                };
                out(one(symbol, taker, fill));
                out(one(symbol, maker, fill));
            }
            Event::Cancelled {
                symbol,
                id,
                qty,
                reason,
            } => out(one(
                symbol,
                id,
                ExecKind::Cancelled {
                    qty,
                    reason: reason.into(),
                },
            )),
            Event::Replaced {
                symbol,
                id,
                price,
                qty,
            } => out(one(symbol, id, ExecKind::Replaced { price, qty })),
            // A control command answers no order.
            Event::Control { .. } => {}
        }
    }
}

/// The word for a reject reason: the engine's replay-format word for the
/// engine's reasons, and the gateway's own in the same style.
pub fn reject_word(reason: OrderRejectReason) -> &'static str {
    match reason {
        OrderRejectReason::UnknownInstrument => "UNKNOWN_INSTRUMENT",
        OrderRejectReason::BadQty => "BAD_QTY",
        OrderRejectReason::BadPrice => "BAD_PRICE",
        OrderRejectReason::DuplicateId => "DUPLICATE_ID",
        OrderRejectReason::UnknownOrder => "UNKNOWN_ORDER",
        OrderRejectReason::WouldCross => "WOULD_CROSS",
        OrderRejectReason::BookFull => "BOOK_FULL",
        OrderRejectReason::DuplicateClientOrderId => "DUPLICATE_CLIENT_ORDER_ID",
        OrderRejectReason::UnknownClientOrderId => "UNKNOWN_CLIENT_ORDER_ID",
        OrderRejectReason::Halted => "HALTED",
        OrderRejectReason::PriceCollar => "PRICE_COLLAR",
        OrderRejectReason::AccountBlocked => "ACCOUNT_BLOCKED",
        OrderRejectReason::RiskOrderQty => "RISK_ORDER_QTY",
        OrderRejectReason::RiskOrderNotional => "RISK_ORDER_NOTIONAL",
        OrderRejectReason::RiskOpenOrders => "RISK_OPEN_ORDERS",
        OrderRejectReason::RiskOpenOrdersInstrument => "RISK_OPEN_ORDERS_INSTRUMENT",
        OrderRejectReason::RiskPosition => "RISK_POSITION",
        OrderRejectReason::RiskCredit => "RISK_CREDIT",
    }
}

/// The replay-format word for a cancel reason (`USER`, `EXPIRED`, `STP`).
pub fn cancel_word(reason: CancelReason) -> &'static str {
    match reason {
        CancelReason::User => "USER",
        CancelReason::Expired => "EXPIRED",
        CancelReason::SelfTrade => "STP",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gateway::protocol::{Fill, OrderRef, WireCode};
    use matching::RejectReason;

    #[test]
    fn reject_words_match_the_engine_words() {
        for reason in [
            RejectReason::UnknownInstrument,
            RejectReason::BadQty,
            RejectReason::BadPrice,
            RejectReason::DuplicateId,
            RejectReason::UnknownOrder,
            RejectReason::WouldCross,
            RejectReason::BookFull,
            RejectReason::Halted,
            RejectReason::PriceCollar,
            RejectReason::AccountBlocked,
            RejectReason::RiskOrderQty,
            RejectReason::RiskOrderNotional,
            RejectReason::RiskOpenOrders,
            RejectReason::RiskOpenOrdersInstrument,
            RejectReason::RiskPosition,
            RejectReason::RiskCredit,
        ] {
            assert_eq!(reject_word(reason.into()), reason.word());
        }
        // Every gateway reason has a distinct word.
        let mut words: Vec<_> = OrderRejectReason::ALL
            .iter()
            .map(|r| reject_word(*r))
            .collect();
        words.sort_unstable();
        words.dedup();
        assert_eq!(words.len(), OrderRejectReason::ALL.len());
    }

    #[test]
    fn a_trade_is_a_fill_for_each_side() {
        let mut got = Vec::new();
        Exec::from_event(
            &Event::Trade {
                symbol: 3,
                taker: 9,
                maker: 4,
                price: 100,
                qty: 5,
            },
            |e| got.push(e),
        );
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].coid, got[1].coid), (9, 4));
        let msg = ServerMessage::Fill(Fill {
            order: OrderRef {
                client_order_id: 7,
                order_id: 70,
                instrument: 3,
            },
            exec: gateway::protocol::Exec {
                seq: 70,
                index: 1,
                transact_time_ns: 0,
            },
            price: 100,
            qty: 5,
            leaves: 1,
        });
        let exec = Exec::from_server(&msg);
        assert_eq!(exec.map(|e| (e.coid, e.order_id)), Some((7, 70)));
        assert_eq!(Exec::from_server(&ServerMessage::Heartbeat), None);
    }
}
