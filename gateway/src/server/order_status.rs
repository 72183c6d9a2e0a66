//! Order status: what the gateway knows of an account's orders, for a
//! client that asks (typically right after logon, to learn what survived
//! its absence: docs/protocol.md, "Order status").
//!
//! Answered from the same tables that route reports (`accounts.rs`,
//! `registry.rs`), which follow the released events: a status never shows
//! more than the reports already sent or on their way. A query changes
//! nothing, so it is not a command and is not journaled.

use super::accounts::{AccountRef, Accounts};
use super::registry::{OrderInfo, Registry};
use crate::protocol::{OrderRef, OrderState, OrderStatus, Side};

/// The status of the account's order `client_order_id`, answering the
/// request of sequence `ref_seq`.
pub fn order_status(
    ref_seq: u64,
    owner: AccountRef,
    client_order_id: u64,
    accounts: &Accounts,
    registry: &Registry,
) -> OrderStatus {
    match accounts.live_order(owner, client_order_id, registry) {
        Some((id, info)) => status(ref_seq, id, info),
        None => OrderStatus {
            ref_seq,
            order: OrderRef {
                client_order_id,
                order_id: 0,
                instrument: 0,
            },
            state: OrderState::Unknown,
            side: Side::Buy,
            price: 0,
            leaves: 0,
        },
    }
}

/// The status of every live order of the account (of `instrument`, or
/// all when 0), oldest first (engine ids rise with time), not in the
/// table's order: a query, so its allocation is no hot-path cost.
pub fn mass_status(
    ref_seq: u64,
    owner: AccountRef,
    instrument: u32,
    accounts: &Accounts,
    registry: &Registry,
) -> Vec<OrderStatus> {
    let mut statuses: Vec<OrderStatus> = accounts
        .live_orders(owner, registry)
        .filter(|(_, info)| instrument == 0 || info.instrument == instrument)
        .map(|(id, info)| status(ref_seq, id, info))
        .collect();
    statuses.sort_unstable_by_key(|s| s.order.order_id);
    statuses
}

fn status(ref_seq: u64, id: u64, info: &OrderInfo) -> OrderStatus {
    OrderStatus {
        ref_seq,
        order: OrderRef {
            client_order_id: info.client_order_id,
            order_id: id,
            instrument: info.instrument,
        },
        state: if info.accepted {
            OrderState::Live
        } else {
            OrderState::PendingNew
        },
        side: info.side().into(),
        price: info.price,
        leaves: info.leaves,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::registry::SessionRef;

    #[test]
    fn an_order_not_yet_acknowledged_is_pending_then_live() {
        let (mut accounts, mut registry) = (Accounts::default(), Registry::with_slots(64));
        let me = SessionRef {
            slot: 0,
            generation: 1,
        };
        let owner = accounts.log_on(7, me).unwrap();
        accounts.add(owner, 42, 5);
        let mut info = OrderInfo {
            owner,
            client_order_id: 42,
            instrument: 1,
            buy: false,
            rests: true,
            price: 101,
            accepted: false,
            leaves: 9,
        };
        registry.insert(5, info);
        let s = order_status(3, owner, 42, &accounts, &registry);
        assert_eq!(
            (s.state, s.order.order_id, s.side, s.price, s.leaves),
            (OrderState::PendingNew, 5, Side::Sell, 101, 9)
        );
        info.accepted = true;
        registry.insert(5, info);
        assert_eq!(
            order_status(3, owner, 42, &accounts, &registry).state,
            OrderState::Live
        );
        // Another account's request does not see it.
        let other = accounts
            .log_on(
                8,
                SessionRef {
                    slot: 1,
                    generation: 2,
                },
            )
            .unwrap();
        assert_eq!(
            order_status(4, other, 42, &accounts, &registry).state,
            OrderState::Unknown
        );
        let seen = mass_status(6, owner, 0, &accounts, &registry);
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].ref_seq, 6);
    }
}
