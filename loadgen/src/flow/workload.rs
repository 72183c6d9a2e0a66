//! The order flow: what each scheduled order is.
//!
//! A seeded, realistic stream over several instruments and sessions:
//!
//! - **passive**: a GTC limit order a few ticks behind the instrument's mid
//!   (1 to 8 ticks: the touch and the levels just behind it, where most
//!   resting liquidity of a real book sits);
//! - **cancel** and **replace** of the session's own live orders (accepted,
//!   resting, nothing in flight); a replace moves the order to a new price
//!   behind the current mid with a new quantity, so it usually loses its
//!   place in the queue, as real requotes do;
//! - **aggressive**: an IOC priced 1 to 4 ticks through the mid, which takes
//!   the resting orders of other sessions (or, when it meets its own
//!   session's, triggers self-trade prevention).
//!
//! Each instrument's mid takes a small random walk, so prices move and
//! orders left behind by the mid get filled or go stale, as in a market.
//! Each session trades for its own account, so sessions trade with each other.
//!
//! The number of live orders per instrument is steered towards a target:
//! above it a passive order becomes a cancel. Without that the book would
//! grow for the whole run (fewer orders leave than arrive) and the engine
//! would be measured on a deeper book at the end than at the start.
//!
//! Repeatability: every choice comes from one PCG generator seeded with
//! `--seed`, in integer arithmetic, so the same seed gives the same sequence
//! of decisions on any machine. Which live order a cancel names depends on
//! which answers have arrived by then (loadgen only cancels orders it knows
//! are live), so two runs with one seed have the same mix, prices and
//! sizes, but not necessarily byte-identical streams.

use gateway::protocol::{Side, TimeInForce};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;

use crate::cli::mix::Mix;
use crate::flow::orders::OrderTable;
use crate::flow::request::{Action, NewOrder};

/// The instruments' price band and where the mids start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Band {
    pub min_price: i64,
    pub max_price: i64,
    pub mid: i64,
    pub max_qty: u64,
}

impl Default for Band {
    /// The gateway's default instruments.
    fn default() -> Self {
        Band {
            min_price: gateway::instruments::DEFAULT_MIN_PRICE,
            max_price: gateway::instruments::DEFAULT_MAX_PRICE,
            mid: gateway::instruments::DEFAULT_MID_PRICE,
            max_qty: gateway::instruments::DEFAULT_MAX_QTY,
        }
    }
}

/// What flow to generate.
#[derive(Debug, Clone)]
pub struct WorkloadConfig {
    pub mix: Mix,
    pub sessions: u16,
    /// Instruments, symbols `1..=instruments`.
    pub instruments: u32,
    pub seed: u64,
    /// Live orders to steer towards, summed over the instruments.
    pub resting: usize,
    pub band: Band,
}

/// How far the passive orders sit behind the mid, and the aggressive ones
/// reach through it (ticks).
const PASSIVE_DEPTH: i64 = 8;
const AGGRESSIVE_REACH: i64 = 4;
/// Room the mid keeps from the band's edges, so every price stays valid.
const EDGE: i64 = PASSIVE_DEPTH + AGGRESSIVE_REACH + 2;

/// The generator. `next` decides the next request.
#[derive(Debug)]
pub struct Workload {
    config: WorkloadConfig,
    rng: Pcg64Mcg,
    mids: Vec<i64>,
    next_coid: u64,
    per_instrument: usize,
    /// Cumulative mix weights: passive, +cancel, +replace, +aggressive.
    bounds: [u32; 4],
}

impl Workload {
    pub fn new(config: WorkloadConfig) -> Workload {
        let band = config.band;
        let low = band.min_price.saturating_add(EDGE);
        let high = band.max_price.saturating_sub(EDGE);
        let mid = if low <= high {
            band.mid.clamp(low, high)
        } else {
            band.min_price + (band.max_price - band.min_price) / 2
        };
        let instruments = config.instruments.max(1);
        let m = config.mix;
        Workload {
            rng: Pcg64Mcg::seed_from_u64(config.seed),
            mids: vec![mid; instruments as usize],
            next_coid: 1,
            per_instrument: (config.resting / instruments as usize).max(1),
            bounds: [
                m.passive,
                m.passive + m.cancel,
                m.passive + m.cancel + m.replace,
                m.total(),
            ],
            config,
        }
    }

    /// The current mid of `symbol`'s instrument.
    #[cfg(test)]
    pub fn mid(&self, symbol: u32) -> Option<i64> {
        self.mids.get(symbol.checked_sub(1)? as usize).copied()
    }

    /// Decides the next request. The caller notes it in `orders`
    /// (`OrderTable::on_send`) before asking for another.
    pub fn next(&mut self, orders: &mut OrderTable) -> Action {
        let instruments = self.mids.len() as u32;
        let index = self.rng.random_range(0..instruments);
        let symbol = index + 1;
        self.walk_mid(index);
        let roll = self.rng.random_range(0..self.bounds[3]);
        let live = orders.live_count(index);
        let mut kind = self.bounds.iter().position(|b| roll < *b).unwrap_or(0);
        // Steer the book: cancel instead of adding above the target; add
        // when there is nothing to cancel or replace.
        if kind == 0 && live >= self.per_instrument && self.config.mix.cancel > 0 {
            kind = 1;
        }
        if (kind == 1 || kind == 2) && live == 0 {
            kind = if self.config.mix.passive > 0 { 0 } else { 3 };
        }
        match kind {
            1 | 2 => {
                let pick = self.rng.random_range(0..live);
                match orders.take_live(index, pick) {
                    Some((coid, session, _, _)) if kind == 1 => Action::Cancel {
                        session,
                        coid,
                        symbol,
                    },
                    Some((coid, session, side, _)) => {
                        let price = self.passive_price(index, side);
                        let qty = self
                            .rng
                            .random_range(1..=100u64)
                            .min(self.config.band.max_qty);
                        Action::Replace {
                            session,
                            coid,
                            symbol,
                            price,
                            qty,
                        }
                    }
                    None => self.new_order(index, false),
                }
            }
            3 => self.new_order(index, true),
            _ => self.new_order(index, false),
        }
    }

    /// Moves the mid now and then by a tick or two, within the band.
    fn walk_mid(&mut self, index: u32) {
        if !self.rng.random_ratio(1, 32) {
            return;
        }
        let step = self.rng.random_range(-2..=2i64);
        let band = self.config.band;
        let (low, high) = (band.min_price + EDGE, band.max_price - EDGE);
        if let Some(mid) = self.mids.get_mut(index as usize)
            && low <= high
        {
            *mid = (*mid + step).clamp(low, high);
        }
    }

    fn side(&mut self) -> Side {
        if self.rng.random_bool(0.5) {
            Side::Buy
        } else {
            Side::Sell
        }
    }

    /// A price 1 to `PASSIVE_DEPTH` ticks behind the mid on `side`'s side.
    fn passive_price(&mut self, index: u32, side: Side) -> i64 {
        let mid = self
            .mids
            .get(index as usize)
            .copied()
            .unwrap_or(self.config.band.mid);
        let depth = self.rng.random_range(1..=PASSIVE_DEPTH);
        let band = self.config.band;
        match side {
            Side::Buy => mid - depth,
            Side::Sell => mid + depth,
        }
        .clamp(band.min_price, band.max_price)
    }

    fn new_order(&mut self, index: u32, aggressive: bool) -> Action {
        let side = self.side();
        let session = self.rng.random_range(0..self.config.sessions.max(1));
        let (price, qty, tif) = if aggressive {
            let mid = self
                .mids
                .get(index as usize)
                .copied()
                .unwrap_or(self.config.band.mid);
            let reach = self.rng.random_range(1..=AGGRESSIVE_REACH);
            let price = match side {
                Side::Buy => mid + reach,
                Side::Sell => mid - reach,
            };
            (price, self.rng.random_range(1..=150u64), TimeInForce::Ioc)
        } else {
            (
                self.passive_price(index, side),
                self.rng.random_range(1..=100u64),
                TimeInForce::Gtc,
            )
        };
        let coid = self.next_coid;
        self.next_coid += 1;
        Action::New(NewOrder {
            session,
            coid,
            symbol: index + 1,
            side,
            price: price.clamp(self.config.band.min_price, self.config.band.max_price),
            qty: qty.min(self.config.band.max_qty).max(1),
            tif,
            aggressive,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::transport::exec::{Exec, ExecKind};

    fn config(seed: u64) -> WorkloadConfig {
        WorkloadConfig {
            mix: Mix::default(),
            sessions: 4,
            instruments: 8,
            seed,
            resting: 800,
            band: Band::default(),
        }
    }

    /// Runs the workload against a book that accepts every new order at once.
    fn run(seed: u64, n: usize) -> (Vec<Action>, OrderTable) {
        let mut w = Workload::new(config(seed));
        let mut t = OrderTable::new(8);
        let mut out = Vec::new();
        for i in 0..n {
            let a = w.next(&mut t);
            t.on_send(&a, i as u64);
            let (coid, symbol) = match a {
                Action::New(n) => (n.coid, n.symbol),
                Action::Cancel { coid, symbol, .. } | Action::Replace { coid, symbol, .. } => {
                    (coid, symbol)
                }
            };
            let kind = match a {
                Action::New(n) if n.aggressive => {
                    ExecKind::Rejected(gateway::protocol::OrderRejectReason::UnknownInstrument)
                }
                Action::New(_) => ExecKind::Accepted,
                Action::Cancel { .. } => ExecKind::Cancelled {
                    qty: 1,
                    reason: gateway::protocol::CancelReason::User,
                },
                Action::Replace { price, qty, .. } => ExecKind::Replaced { price, qty },
            };
            let seen = t.on_exec(&Exec {
                coid,
                order_id: coid,
                symbol,
                kind,
            });
            assert!(seen.answer.is_some(), "{a:?}");
            out.push(a);
        }
        (out, t)
    }

    #[test]
    fn the_same_seed_gives_the_same_stream() {
        let (a, _) = run(7, 20_000);
        let (b, _) = run(7, 20_000);
        let (c, _) = run(8, 20_000);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn the_mix_prices_and_book_size_are_as_documented() {
        let (actions, table) = run(1, 100_000);
        let mut counts = [0usize; 4];
        for a in &actions {
            match a {
                Action::New(n) => {
                    assert!((1..=8).contains(&n.symbol));
                    assert!(n.session < 4);
                    assert!((1..=150).contains(&n.qty));
                    counts[if n.aggressive { 3 } else { 0 }] += 1;
                }
                Action::Cancel { .. } => counts[1] += 1,
                Action::Replace { .. } => counts[2] += 1,
            }
        }
        // Default mix 50/30/10/10, bent a little by the steering.
        let pct = |n: usize| n * 100 / actions.len();
        assert!((40..=60).contains(&pct(counts[0])), "{counts:?}");
        assert!((20..=40).contains(&pct(counts[1])), "{counts:?}");
        assert!((7..=13).contains(&pct(counts[2])), "{counts:?}");
        assert!((7..=13).contains(&pct(counts[3])), "{counts:?}");
        // Steered towards 100 live orders per instrument.
        for i in 0..8 {
            assert!(table.live_count(i) <= 101, "{}", table.live_count(i));
        }
        // Coids are unique and increasing.
        let coids: Vec<u64> = actions
            .iter()
            .filter_map(|a| match a {
                Action::New(n) => Some(n.coid),
                _ => None,
            })
            .collect();
        assert!(coids.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn passive_orders_rest_behind_the_mid_and_aggressive_ones_cross_it() {
        let mut w = Workload::new(config(3));
        let mut t = OrderTable::new(8);
        for _ in 0..10_000 {
            let a = w.next(&mut t);
            if let Action::New(n) = a {
                let mid = w.mid(n.symbol).unwrap();
                let behind = match n.side {
                    Side::Buy => n.price < mid,
                    Side::Sell => n.price > mid,
                };
                assert_eq!(behind, !n.aggressive, "{n:?} mid {mid}");
                assert!((mid - n.price).abs() <= PASSIVE_DEPTH);
            }
            t.on_send(&a, 0);
        }
    }
}
