//! How the protocol's values map to the engine's vocabulary.
//!
//! The protocol keeps its own twins of the engine's enums (see `codes.rs`), so
//! the mapping lives here, in one place. Every match is exhaustive: a variant
//! added to an engine enum stops this file compiling until it is given a wire
//! code, instead of reaching a client as something it cannot decode.

use matching::{Account, Command, OrderId};

use super::client::NewOrder;
use super::codes::{CancelReason, OrderRejectReason, Side, TimeInForce};

impl From<matching::Side> for Side {
    fn from(side: matching::Side) -> Self {
        match side {
            matching::Side::Buy => Side::Buy,
            matching::Side::Sell => Side::Sell,
        }
    }
}

impl From<Side> for matching::Side {
    fn from(side: Side) -> Self {
        match side {
            Side::Buy => matching::Side::Buy,
            Side::Sell => matching::Side::Sell,
        }
    }
}

impl From<matching::TimeInForce> for TimeInForce {
    fn from(tif: matching::TimeInForce) -> Self {
        match tif {
            matching::TimeInForce::Gtc => TimeInForce::Gtc,
            matching::TimeInForce::Ioc => TimeInForce::Ioc,
            matching::TimeInForce::Fok => TimeInForce::Fok,
            matching::TimeInForce::Post => TimeInForce::Post,
        }
    }
}

impl TimeInForce {
    /// The engine's time in force of a limit order; `None` for `Market`,
    /// which the engine takes as a command of its own (`Command::Market`).
    pub fn to_engine(self) -> Option<matching::TimeInForce> {
        match self {
            TimeInForce::Gtc => Some(matching::TimeInForce::Gtc),
            TimeInForce::Ioc => Some(matching::TimeInForce::Ioc),
            TimeInForce::Fok => Some(matching::TimeInForce::Fok),
            TimeInForce::Post => Some(matching::TimeInForce::Post),
            TimeInForce::Market => None,
        }
    }
}

impl From<matching::RejectReason> for OrderRejectReason {
    fn from(reason: matching::RejectReason) -> Self {
        match reason {
            matching::RejectReason::UnknownInstrument => OrderRejectReason::UnknownInstrument,
            matching::RejectReason::BadQty => OrderRejectReason::BadQty,
            matching::RejectReason::BadPrice => OrderRejectReason::BadPrice,
            matching::RejectReason::DuplicateId => OrderRejectReason::DuplicateId,
            matching::RejectReason::UnknownOrder => OrderRejectReason::UnknownOrder,
            matching::RejectReason::WouldCross => OrderRejectReason::WouldCross,
            matching::RejectReason::BookFull => OrderRejectReason::BookFull,
            matching::RejectReason::Halted => OrderRejectReason::Halted,
            matching::RejectReason::PriceCollar => OrderRejectReason::PriceCollar,
            matching::RejectReason::AccountBlocked => OrderRejectReason::AccountBlocked,
            matching::RejectReason::RiskOrderQty => OrderRejectReason::RiskOrderQty,
            matching::RejectReason::RiskOrderNotional => OrderRejectReason::RiskOrderNotional,
            matching::RejectReason::RiskOpenOrders => OrderRejectReason::RiskOpenOrders,
            matching::RejectReason::RiskOpenOrdersInstrument => {
                OrderRejectReason::RiskOpenOrdersInstrument
            }
            matching::RejectReason::RiskPosition => OrderRejectReason::RiskPosition,
            matching::RejectReason::RiskCredit => OrderRejectReason::RiskCredit,
        }
    }
}

impl From<matching::CancelReason> for CancelReason {
    fn from(reason: matching::CancelReason) -> Self {
        match reason {
            matching::CancelReason::User => CancelReason::User,
            matching::CancelReason::Expired => CancelReason::Expired,
            matching::CancelReason::SelfTrade => CancelReason::SelfTrade,
        }
    }
}

impl NewOrder {
    /// The engine command for this order, given the engine order id the
    /// gateway assigned and the session's account, carrying the client's
    /// order id into the sequenced state. A `Market` order becomes
    /// `Command::Market` (its price is not used); the others `Command::New`.
    pub fn to_command(&self, id: OrderId, account: Account) -> Command {
        let side = self.side.into();
        match self.time_in_force.to_engine() {
            Some(tif) => Command::New {
                symbol: self.instrument,
                id,
                account,
                client_order_id: self.client_order_id,
                side,
                price: self.price,
                qty: self.qty,
                tif,
            },
            None => Command::Market {
                symbol: self.instrument,
                id,
                account,
                client_order_id: self.client_order_id,
                side,
                qty: self.qty,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sides_round_trip() {
        for side in [matching::Side::Buy, matching::Side::Sell] {
            assert_eq!(matching::Side::from(Side::from(side)), side);
        }
    }

    #[test]
    fn limit_time_in_force_round_trips_and_market_has_no_engine_twin() {
        use matching::TimeInForce as E;
        for tif in [E::Gtc, E::Ioc, E::Fok, E::Post] {
            assert_eq!(TimeInForce::from(tif).to_engine(), Some(tif));
        }
        assert_eq!(TimeInForce::Market.to_engine(), None);
    }

    #[test]
    fn engine_reject_reasons_keep_their_order_as_codes() {
        use super::super::codes::WireCode;
        use matching::RejectReason as E;
        let all = [
            E::UnknownInstrument,
            E::BadQty,
            E::BadPrice,
            E::DuplicateId,
            E::UnknownOrder,
            E::WouldCross,
            E::BookFull,
        ];
        for (code, reason) in (0u32..).zip(all) {
            assert_eq!(
                OrderRejectReason::from(reason).code(),
                code,
                "{}",
                reason.word()
            );
        }
    }

    #[test]
    fn new_orders_become_engine_commands() {
        let mut order = NewOrder {
            client_order_id: 9,
            instrument: 3,
            side: Side::Sell,
            price: 101,
            qty: 5,
            time_in_force: TimeInForce::Ioc,
        };
        assert_eq!(
            order.to_command(77, 4),
            Command::New {
                symbol: 3,
                id: 77,
                account: 4,
                client_order_id: 9,
                side: matching::Side::Sell,
                price: 101,
                qty: 5,
                tif: matching::TimeInForce::Ioc,
            }
        );
        order.time_in_force = TimeInForce::Market;
        assert_eq!(
            order.to_command(78, 4),
            Command::Market {
                symbol: 3,
                id: 78,
                account: 4,
                client_order_id: 9,
                side: matching::Side::Sell,
                qty: 5
            }
        );
    }
}
