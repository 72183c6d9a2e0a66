//! Messages the gateway sends to a client: session answers, execution reports
//! and market data.
//!
//! Same layout rules as the client messages (see `client.rs`): a `u32` tag,
//! then the body's fields in order at fixed width, tags appended never inserted.

use wincode::{SchemaRead, SchemaWrite};

use super::code_schema::Code;
use super::codes::SessionRejectReason;
use super::codes::{
    CancelReason, ControlAction, ControlStatus, LogonRejectReason, LogoutReason, OrderRejectReason,
    OrderState, ReplayStatus, Side,
};

/// The order an execution report is about. Every report starts with it, so a
/// client can find its order before it looks at the report's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, SchemaWrite, SchemaRead)]
pub struct OrderRef {
    /// The id the client gave the order.
    pub client_order_id: u64,
    /// The id the engine knows the order by (assigned by the gateway at
    /// ingest; 0 when the order was refused before it got one).
    pub order_id: u64,
    /// The instrument (symbol number).
    pub instrument: u32,
}

/// Which execution this report is, and when its cause entered the venue.
/// Every execution report carries it, right after its `OrderRef`.
///
/// `(seq, index)` is the report's execution id: `seq` is the sequence of
/// the command that caused it (the journal's), `index` the report's place
/// among that command's reports, counted from 0 whether or not its session
/// was connected to receive it (a trade is two reports, the taker's fill
/// then the maker's). So ids are unique across the venue, increase in the
/// order reports are produced (compare `seq`, then `index`), and are the
/// same after a restart, when replaying the journal produces the same
/// reports. A refusal the gateway makes before its command is sequenced
/// has `seq` 0 and `index` 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, SchemaWrite, SchemaRead)]
pub struct Exec {
    /// The sequence of the command that caused this report (0: none).
    pub seq: u64,
    /// This report's place among the command's reports, from 0.
    pub index: u32,
    /// When the command entered the venue: nanoseconds since the Unix
    /// epoch, read once when the gateway published it, and journaled with
    /// it (so a restart reports the same time).
    pub transact_time_ns: u64,
}

/// The logon was accepted; the session is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, SchemaWrite, SchemaRead)]
pub struct LogonAck {
    /// The account the session trades for.
    pub account: u32,
    /// The client must send something (a `Heartbeat` if nothing else) at least
    /// this often, in milliseconds; the gateway does the same.
    pub heartbeat_interval_ms: u32,
    /// The session's throttle: most client messages accepted per second (0: none).
    pub max_msgs_per_sec: u32,
}

/// The logon was refused; the gateway closes the connection after this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, SchemaWrite, SchemaRead)]
pub struct LogonReject {
    /// Why.
    #[wincode(with = "Code<LogonRejectReason>")]
    pub reason: LogonRejectReason,
}

/// A new order was accepted by the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, SchemaWrite, SchemaRead)]
pub struct Accepted {
    /// The order.
    pub order: OrderRef,
    /// The execution.
    pub exec: Exec,
}

/// A new order, cancel or replace was refused and changed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, SchemaWrite, SchemaRead)]
pub struct Rejected {
    /// The order the refused message was about.
    pub order: OrderRef,
    /// The execution.
    pub exec: Exec,
    /// Why.
    #[wincode(with = "Code<OrderRejectReason>")]
    pub reason: OrderRejectReason,
}

/// Part or all of an order traded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, SchemaWrite, SchemaRead)]
pub struct Fill {
    /// The order.
    pub order: OrderRef,
    /// The execution.
    pub exec: Exec,
    /// The trade price in ticks (the resting order's price).
    pub price: i64,
    /// The quantity traded in this fill.
    pub qty: u64,
    /// The order's open quantity after this fill (0: the order is done).
    pub leaves: u64,
}

/// Open quantity of an order was cancelled; the order is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, SchemaWrite, SchemaRead)]
pub struct Cancelled {
    /// The order.
    pub order: OrderRef,
    /// The execution.
    pub exec: Exec,
    /// The open quantity that was cancelled.
    pub qty: u64,
    /// Why.
    #[wincode(with = "Code<CancelReason>")]
    pub reason: CancelReason,
}

/// A replace was accepted; the order now has this price and open quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, SchemaWrite, SchemaRead)]
pub struct Replaced {
    /// The order.
    pub order: OrderRef,
    /// The execution.
    pub exec: Exec,
    /// The order's price in ticks now.
    pub price: i64,
    /// The order's open quantity now.
    pub qty: u64,
}

/// Market data: a trade in a subscribed instrument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, SchemaWrite, SchemaRead)]
pub struct Trade {
    /// The instrument.
    pub instrument: u32,
    /// The trade price in ticks.
    pub price: i64,
    /// The quantity traded.
    pub qty: u64,
}

/// One side of the top of the book: the best price and the quantity resting there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, SchemaWrite, SchemaRead)]
pub struct Level {
    /// The best price in ticks.
    pub price: i64,
    /// The total open quantity at that price.
    pub qty: u64,
}

/// Market data: the best bid and offer of a subscribed instrument.
///
/// An empty side is `None`: bincode's option layout, one presence byte, 0 for
/// none or 1 for some, followed by the level only when it is 1. That is
/// explicit where a "price 0, qty 0" sentinel would be a convention every
/// reader must know, and 0 is a valid price for instruments that trade
/// around zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, SchemaWrite, SchemaRead)]
pub struct TopOfBook {
    /// The instrument.
    pub instrument: u32,
    /// The best bid, or `None` when no buy order rests.
    pub bid: Option<Level>,
    /// The best offer, or `None` when no sell order rests.
    pub ask: Option<Level>,
}

/// The gateway refused one frame; the session goes on (unless the reason says otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, SchemaWrite, SchemaRead)]
pub struct Reject {
    /// The sequence number of the refused frame, or 0 when the frame was too
    /// short to hold one (client sequence numbers start at 1).
    pub ref_seq: u64,
    /// Why.
    #[wincode(with = "Code<SessionRejectReason>")]
    pub reason: SessionRejectReason,
}

/// The gateway ends the session; the connection is closed after this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, SchemaWrite, SchemaRead)]
pub struct Logout {
    /// Why.
    #[wincode(with = "Code<LogoutReason>")]
    pub reason: LogoutReason,
}

/// The answer to a `MassCancel`: how many of the session's live orders it
/// cancels. A `Cancelled` for each follows as the engine makes it (an order
/// that fills first gets its fill instead, and a `Rejected` for its cancel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, SchemaWrite, SchemaRead)]
pub struct MassCancelAck {
    /// The sequence number of the `MassCancel` frame.
    pub ref_seq: u64,
    /// Cancels sent: the live orders that matched.
    pub count: u32,
}

/// Market data, depth: the start of a snapshot of an instrument's book,
/// `bids` then `asks` price levels, each a `BookLevel` carrying this `seq`,
/// best price first. The subscriber's book of the instrument is replaced by
/// them; the updates that follow are numbered `seq + 1`, `seq + 2`, ...
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, SchemaWrite, SchemaRead)]
pub struct BookSnapshot {
    /// The instrument.
    pub instrument: u32,
    /// The number of the book state the snapshot shows.
    pub seq: u64,
    /// `BookLevel`s of the bid side that follow.
    pub bids: u32,
    /// `BookLevel`s of the ask side that follow them.
    pub asks: u32,
}

/// Market data, depth: one price level of a snapshot (`seq` the snapshot's),
/// or an update (`seq` one more than the last): the level now has `qty`
/// open, 0 meaning it is gone (or has left the subscribed depth).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, SchemaWrite, SchemaRead)]
pub struct BookLevel {
    /// The instrument.
    pub instrument: u32,
    /// Its snapshot's number, or the update's (one more than the last).
    pub seq: u64,
    /// The side of the book.
    #[wincode(with = "Code<Side>")]
    pub side: Side,
    /// The level's price in ticks.
    pub price: i64,
    /// The open quantity at the level now; 0: the level is gone.
    pub qty: u64,
}

/// The answer to an `OrderStatusRequest`, or one order of a
/// `MassStatusRequest`'s answer: the order as the gateway knows it when it
/// answers. Reports already sent for the order are not repeated; those
/// still on their way follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, SchemaWrite, SchemaRead)]
pub struct OrderStatus {
    /// The sequence number of the request frame.
    pub ref_seq: u64,
    /// The order; `order_id` and `instrument` 0 when `Unknown`.
    pub order: OrderRef,
    #[wincode(with = "Code<OrderState>")]
    pub state: OrderState,
    /// The order's side (`Buy` when `Unknown`).
    #[wincode(with = "Code<Side>")]
    pub side: Side,
    /// Its limit price in ticks, the latest after a replace (0 when `Unknown`).
    pub price: i64,
    /// Its open quantity (0 when `Unknown`).
    pub leaves: u64,
}

/// The end of a `MassStatusRequest`'s answer: `count` `OrderStatus`es came
/// before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, SchemaWrite, SchemaRead)]
pub struct MassStatusEnd {
    /// The sequence number of the request frame.
    pub ref_seq: u64,
    pub count: u32,
}

/// The end of a `ReportReplayRequest`'s answer: `count` reports came
/// before it. `resume_seq`, `resume_index`: the execution id to ask after
/// next, when `status` is `More` or `NotRetained`; for `Complete`, the
/// last report sent (or the request's, if none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, SchemaWrite, SchemaRead)]
pub struct ReportReplayEnd {
    /// The sequence number of the request frame.
    pub ref_seq: u64,
    #[wincode(with = "Code<ReplayStatus>")]
    pub status: ReplayStatus,
    pub count: u32,
    pub resume_seq: u64,
    pub resume_index: u32,
}

/// The answer to an operator's `Halt` or `KillSwitch`, sent once its
/// command is durable (or at once, `status` not `Applied`, when it was not
/// sequenced). `command_seq` is the command's place in the journal (0 when
/// not sequenced); `cancelled` is how many cancels a kill sent after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, SchemaWrite, SchemaRead)]
pub struct ControlAck {
    /// The sequence number of the request frame.
    pub ref_seq: u64,
    #[wincode(with = "Code<ControlAction>")]
    pub action: ControlAction,
    /// The instrument (halt, resume) or the account (kill, enable).
    pub target: u32,
    #[wincode(with = "Code<ControlStatus>")]
    pub status: ControlStatus,
    pub command_seq: u64,
    pub cancelled: u32,
}

/// This node of a cluster is not its leader: order entry is the leader's.
/// Sent in answer to a `Logon`; the connection closes after it. The client
/// connects to the leader's address instead (or, with no leader known yet,
/// tries again shortly: an election is under way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, SchemaWrite, SchemaRead)]
pub struct NotLeader {
    /// The leader's node id in the cluster file; 0: no leader known now.
    pub leader: u64,
    /// The leader's client address: an IPv6 address, or an IPv4 one mapped
    /// into IPv6 (`::ffff:a.b.c.d`), network byte order. Zero with no leader.
    pub ip: [u8; 16],
    pub port: u16,
}

impl NotLeader {
    /// The reply naming `leader` at `addr` (`None`: no leader known).
    pub fn new(leader: Option<(u64, std::net::SocketAddr)>) -> Self {
        match leader {
            Some((id, addr)) => {
                let ip = match addr.ip() {
                    std::net::IpAddr::V4(v4) => v4.to_ipv6_mapped(),
                    std::net::IpAddr::V6(v6) => v6,
                };
                NotLeader {
                    leader: id,
                    ip: ip.octets(),
                    port: addr.port(),
                }
            }
            None => NotLeader {
                leader: 0,
                ip: [0; 16],
                port: 0,
            },
        }
    }

    /// The leader's client address, if a leader is known.
    pub fn leader_addr(&self) -> Option<std::net::SocketAddr> {
        if self.leader == 0 {
            return None;
        }
        let v6 = std::net::Ipv6Addr::from(self.ip);
        let ip = match v6.to_ipv4_mapped() {
            Some(v4) => std::net::IpAddr::V4(v4),
            None => std::net::IpAddr::V6(v6),
        };
        Some(std::net::SocketAddr::new(ip, self.port))
    }
}

/// Everything the gateway can send. The `u32` tag of each variant is its wire code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, SchemaWrite, SchemaRead)]
pub enum ServerMessage {
    /// Tag 0.
    #[wincode(tag = 0)]
    LogonAck(LogonAck),
    /// Tag 1.
    #[wincode(tag = 1)]
    LogonReject(LogonReject),
    /// Tag 2: execution report.
    #[wincode(tag = 2)]
    Accepted(Accepted),
    /// Tag 3: execution report.
    #[wincode(tag = 3)]
    Rejected(Rejected),
    /// Tag 4: execution report.
    #[wincode(tag = 4)]
    Fill(Fill),
    /// Tag 5: execution report.
    #[wincode(tag = 5)]
    Cancelled(Cancelled),
    /// Tag 6: execution report.
    #[wincode(tag = 6)]
    Replaced(Replaced),
    /// Tag 7: market data.
    #[wincode(tag = 7)]
    Trade(Trade),
    /// Tag 8: market data.
    #[wincode(tag = 8)]
    TopOfBook(TopOfBook),
    /// Tag 9: session-level refusal of one frame.
    #[wincode(tag = 9)]
    Reject(Reject),
    /// Tag 10: "I am alive"; sent when the gateway has sent nothing for a heartbeat interval.
    #[wincode(tag = 10)]
    Heartbeat,
    /// Tag 11.
    #[wincode(tag = 11)]
    Logout(Logout),
    /// Tag 12.
    #[wincode(tag = 12)]
    MassCancelAck(MassCancelAck),
    /// Tag 13: market data.
    #[wincode(tag = 13)]
    BookSnapshot(BookSnapshot),
    /// Tag 14: market data.
    #[wincode(tag = 14)]
    BookLevel(BookLevel),
    /// Tag 15.
    #[wincode(tag = 15)]
    OrderStatus(OrderStatus),
    /// Tag 16.
    #[wincode(tag = 16)]
    MassStatusEnd(MassStatusEnd),
    /// Tag 17.
    #[wincode(tag = 17)]
    ReportReplayEnd(ReportReplayEnd),
    /// Tag 18: operator.
    #[wincode(tag = 18)]
    ControlAck(ControlAck),
    /// Tag 19: cluster; the connection closes after it.
    #[wincode(tag = 19)]
    NotLeader(NotLeader),
}

impl ServerMessage {
    /// How many tags this direction has (tags are `0..TAG_COUNT`).
    pub const TAG_COUNT: u32 = 20;

    /// The message's wire tag.
    pub fn tag(&self) -> u32 {
        match self {
            Self::LogonAck(_) => 0,
            Self::LogonReject(_) => 1,
            Self::Accepted(_) => 2,
            Self::Rejected(_) => 3,
            Self::Fill(_) => 4,
            Self::Cancelled(_) => 5,
            Self::Replaced(_) => 6,
            Self::Trade(_) => 7,
            Self::TopOfBook(_) => 8,
            Self::Reject(_) => 9,
            Self::Heartbeat => 10,
            Self::Logout(_) => 11,
            Self::MassCancelAck(_) => 12,
            Self::BookSnapshot(_) => 13,
            Self::BookLevel(_) => 14,
            Self::OrderStatus(_) => 15,
            Self::MassStatusEnd(_) => 16,
            Self::ReportReplayEnd(_) => 17,
            Self::ControlAck(_) => 18,
            Self::NotLeader(_) => 19,
        }
    }

    /// The message's name, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::LogonAck(_) => "LogonAck",
            Self::LogonReject(_) => "LogonReject",
            Self::Accepted(_) => "Accepted",
            Self::Rejected(_) => "Rejected",
            Self::Fill(_) => "Fill",
            Self::Cancelled(_) => "Cancelled",
            Self::Replaced(_) => "Replaced",
            Self::Trade(_) => "Trade",
            Self::TopOfBook(_) => "TopOfBook",
            Self::Reject(_) => "Reject",
            Self::Heartbeat => "Heartbeat",
            Self::Logout(_) => "Logout",
            Self::MassCancelAck(_) => "MassCancelAck",
            Self::BookSnapshot(_) => "BookSnapshot",
            Self::BookLevel(_) => "BookLevel",
            Self::OrderStatus(_) => "OrderStatus",
            Self::MassStatusEnd(_) => "MassStatusEnd",
            Self::ReportReplayEnd(_) => "ReportReplayEnd",
            Self::ControlAck(_) => "ControlAck",
            Self::NotLeader(_) => "NotLeader",
        }
    }

    /// An execution report's execution id and time; `None` for other messages.
    pub fn exec(&self) -> Option<&Exec> {
        match self {
            Self::Accepted(m) => Some(&m.exec),
            Self::Rejected(m) => Some(&m.exec),
            Self::Fill(m) => Some(&m.exec),
            Self::Cancelled(m) => Some(&m.exec),
            Self::Replaced(m) => Some(&m.exec),
            _ => None,
        }
    }

    /// The order an execution report is about; `None` for other messages.
    pub fn order_ref(&self) -> Option<&OrderRef> {
        match self {
            Self::Accepted(m) => Some(&m.order),
            Self::Rejected(m) => Some(&m.order),
            Self::Fill(m) => Some(&m.order),
            Self::Cancelled(m) => Some(&m.order),
            Self::Replaced(m) => Some(&m.order),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

    use super::*;

    /// A leader's address goes into `NotLeader` and comes back out the same:
    /// an IPv4 address as `::ffff:a.b.c.d`, an IPv6 one as it is; no
    /// leader is all zeros and no address.
    #[test]
    fn not_leader_round_trips_the_leader_address() {
        let v4 = SocketAddr::new(Ipv4Addr::new(10, 1, 2, 3).into(), 7001);
        let m = NotLeader::new(Some((2, v4)));
        assert_eq!(m.leader, 2);
        assert_eq!(
            m.ip,
            [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3]
        );
        assert_eq!(m.port, 7001);
        assert_eq!(m.leader_addr(), Some(v4));

        let v6 = SocketAddr::new(
            Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x42).into(),
            u16::MAX,
        );
        let m = NotLeader::new(Some((u64::MAX, v6)));
        assert_eq!(m.leader, u64::MAX);
        assert_eq!(
            m.ip,
            [
                0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42
            ]
        );
        assert_eq!(m.port, u16::MAX);
        assert_eq!(m.leader_addr(), Some(v6));

        let loopback6 = SocketAddr::new(Ipv6Addr::LOCALHOST.into(), 1);
        assert_eq!(
            NotLeader::new(Some((1, loopback6))).leader_addr(),
            Some(loopback6)
        );

        let none = NotLeader::new(None);
        assert_eq!(
            none,
            NotLeader {
                leader: 0,
                ip: [0; 16],
                port: 0,
            }
        );
        assert_eq!(none.leader_addr(), None);
        // Leader 0 means none, whatever the address bytes say.
        let stray = NotLeader { leader: 0, ..m };
        assert_eq!(stray.leader_addr(), None);
    }

    /// The tag and name of the cluster's message.
    #[test]
    fn not_leader_is_tag_19_the_last() {
        let msg = ServerMessage::NotLeader(NotLeader::new(None));
        assert_eq!(msg.tag(), 19);
        assert_eq!(msg.tag(), ServerMessage::TAG_COUNT - 1);
        assert_eq!(msg.name(), "NotLeader");
        assert_eq!(msg.exec(), None);
        assert_eq!(msg.order_ref(), None);
    }
}
