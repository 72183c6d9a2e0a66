//! How the protocol's values map to the engine's vocabulary.
//!
//! The protocol keeps its own twins of the engine's enums (see `codes.rs`), so
//! the mapping lives here, in one place. Every match is exhaustive: a variant
//! added to an engine enum stops this file compiling until it is given a wire
//! code, instead of reaching a client as something it cannot decode.

use engine::{Account, Command, OrderId};

use super::client::NewOrder;
use super::codes::{CancelReason, OrderRejectReason, Side, TimeInForce};

impl From<engine::Side> for Side {
    fn from(side: engine::Side) -> Self {
        match side {
            engine::Side::Buy => Side::Buy,
            engine::Side::Sell => Side::Sell,
        }
    }
}

impl From<Side> for engine::Side {
    fn from(side: Side) -> Self {
        match side {
            Side::Buy => engine::Side::Buy,
            Side::Sell => engine::Side::Sell,
        }
    }
}

impl From<engine::TimeInForce> for TimeInForce {
    fn from(tif: engine::TimeInForce) -> Self {
        match tif {
            engine::TimeInForce::Gtc => TimeInForce::Gtc,
            engine::TimeInForce::Ioc => TimeInForce::Ioc,
            engine::TimeInForce::Fok => TimeInForce::Fok,
            engine::TimeInForce::Post => TimeInForce::Post,
        }
    }
}

impl TimeInForce {
    /// The engine's time in force of a limit order; `None` for `Market`,
    /// which the engine takes as a command of its own (`Command::Market`).
    pub fn to_engine(self) -> Option<engine::TimeInForce> {
        match self {
            TimeInForce::Gtc => Some(engine::TimeInForce::Gtc),
            TimeInForce::Ioc => Some(engine::TimeInForce::Ioc),
            TimeInForce::Fok => Some(engine::TimeInForce::Fok),
            TimeInForce::Post => Some(engine::TimeInForce::Post),
            TimeInForce::Market => None,
        }
    }
}

impl From<engine::RejectReason> for OrderRejectReason {
    fn from(reason: engine::RejectReason) -> Self {
        match reason {
            engine::RejectReason::UnknownInstrument => OrderRejectReason::UnknownInstrument,
            engine::RejectReason::BadQty => OrderRejectReason::BadQty,
            engine::RejectReason::BadPrice => OrderRejectReason::BadPrice,
            engine::RejectReason::DuplicateId => OrderRejectReason::DuplicateId,
            engine::RejectReason::UnknownOrder => OrderRejectReason::UnknownOrder,
            engine::RejectReason::WouldCross => OrderRejectReason::WouldCross,
            engine::RejectReason::BookFull => OrderRejectReason::BookFull,
        }
    }
}

impl From<engine::CancelReason> for CancelReason {
    fn from(reason: engine::CancelReason) -> Self {
        match reason {
            engine::CancelReason::User => CancelReason::User,
            engine::CancelReason::Expired => CancelReason::Expired,
            engine::CancelReason::SelfTrade => CancelReason::SelfTrade,
        }
    }
}

impl NewOrder {
    /// The engine command for this order, given the engine order id the
    /// gateway assigned and the session's account. A `Market` order becomes
    /// `Command::Market` (its price is not used); the others `Command::New`.
    pub fn to_command(&self, id: OrderId, account: Account) -> Command {
        let side = self.side.into();
        match self.time_in_force.to_engine() {
            Some(tif) => Command::New {
                symbol: self.instrument,
                id,
                account,
                side,
                price: self.price,
                qty: self.qty,
                tif,
            },
            None => Command::Market {
                symbol: self.instrument,
                id,
                account,
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
        for side in [engine::Side::Buy, engine::Side::Sell] {
            assert_eq!(engine::Side::from(Side::from(side)), side);
        }
    }

    #[test]
    fn limit_time_in_force_round_trips_and_market_has_no_engine_twin() {
        use engine::TimeInForce as E;
        for tif in [E::Gtc, E::Ioc, E::Fok, E::Post] {
            assert_eq!(TimeInForce::from(tif).to_engine(), Some(tif));
        }
        assert_eq!(TimeInForce::Market.to_engine(), None);
    }

    #[test]
    fn engine_reject_reasons_keep_their_order_as_codes() {
        use super::super::codes::WireCode;
        use engine::RejectReason as E;
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
                side: engine::Side::Sell,
                price: 101,
                qty: 5,
                tif: engine::TimeInForce::Ioc,
            }
        );
        order.time_in_force = TimeInForce::Market;
        assert_eq!(
            order.to_command(78, 4),
            Command::Market {
                symbol: 3,
                id: 78,
                account: 4,
                side: engine::Side::Sell,
                qty: 5
            }
        );
    }
}
