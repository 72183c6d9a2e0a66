//! A seeded, realistic command stream for benchmarks.
//!
//! The mix the benchmark targets are stated for, and that venues see (see
//! docs/targets.md): about half passive limit
//! orders placed near the touch, four in ten cancels of random resting
//! orders, one in ten IOC orders that cross the spread and sweep a level or
//! a few. The number of resting orders is steered towards a target (10,000
//! by default) so the book's size is steady over the whole run.
//!
//! The generator runs every command it emits through a shadow `Engine`, so
//! it knows which orders are still live: a cancel always names a live order,
//! and an IOC always knows where the opposite touch is. The same seed gives
//! the same stream on every machine (PCG, integer arithmetic only).

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;

use matching::command::Command;
use matching::config::{EngineConfig, SetupError};
use matching::engine::Engine;
use matching::event::Event;
use matching::types::{InstrumentSpec, OrderId, Price, Side, Symbol, TimeInForce};

/// What stream to generate.
#[derive(Debug, Clone)]
pub struct WorkloadConfig {
    /// Commands to generate after the book is filled to `resting`.
    pub commands: usize,
    /// Resting orders to steer towards, summed over all instruments.
    pub resting: usize,
    pub instruments: u32,
    /// Distinct accounts placing orders (so self-trade prevention happens, rarely).
    pub accounts: u32,
    pub seed: u64,
}

impl Default for WorkloadConfig {
    fn default() -> Self {
        WorkloadConfig {
            commands: 1_000_000,
            resting: 10_000,
            instruments: 1,
            accounts: 100,
            seed: 1,
        }
    }
}

/// A generated stream: instrument definitions, then commands.
#[derive(Debug, Clone)]
pub struct Workload {
    pub instruments: Vec<InstrumentSpec>,
    pub commands: Vec<Command>,
}

/// Price band of every generated instrument, and where its mid starts.
const MIN_PRICE: Price = 1;
const MAX_PRICE: Price = 200_000;
const START_MID: Price = 100_000;

struct InstrumentState {
    symbol: Symbol,
    mid: Price,
    /// Ids that were live when last seen; filled ones are pruned lazily.
    live: Vec<OrderId>,
}

/// Generates the stream described by `config`.
pub fn generate(config: &WorkloadConfig) -> Result<Workload, SetupError> {
    let mut rng = Pcg64Mcg::seed_from_u64(config.seed);
    let mut shadow = Engine::new(EngineConfig::default())?;
    let mut instruments = Vec::new();
    let mut states = Vec::new();
    for symbol in 1..=config.instruments.max(1) {
        let spec = InstrumentSpec {
            symbol,
            min_price: MIN_PRICE,
            max_price: MAX_PRICE,
            max_qty: 1_000_000,
        };
        shadow.add_instrument(spec)?;
        instruments.push(spec);
        states.push(InstrumentState {
            symbol,
            mid: START_MID,
            live: Vec::new(),
        });
    }
    let mut commands = Vec::with_capacity(config.commands + config.resting);
    let mut next_id: OrderId = 1;
    let mut events: Vec<Event> = Vec::with_capacity(64);
    let per_instrument = (config.resting / states.len()).max(1);
    let total = config.resting + config.commands;
    while commands.len() < total {
        let filling = commands.len() < config.resting;
        let state = &mut states[rng.random_range(0..config.instruments.max(1) as usize)];
        let book = shadow.book(state.symbol).expect("defined above");
        if rng.random_ratio(1, 100) {
            state.mid =
                (state.mid + rng.random_range(-2..=2)).clamp(MIN_PRICE + 1000, MAX_PRICE - 1000);
        }
        let (best_bid, best_ask) = book.best_prices();
        let side = if rng.random_bool(0.5) {
            Side::Buy
        } else {
            Side::Sell
        };
        let roll = rng.random_range(0..100u32);
        // Steer the book size: a few more adds below target, a few fewer above.
        let add_share = if state.live.len() < per_instrument {
            55
        } else {
            45
        };
        let account = rng.random_range(1..=config.accounts.max(1));
        let command = if !filling && roll < 10 && best_bid.is_some() && best_ask.is_some() {
            // Aggressive IOC through the opposite touch, sweeping a few levels.
            let touch = if side == Side::Buy {
                best_ask
            } else {
                best_bid
            }
            .unwrap_or(state.mid);
            let through = rng.random_range(0..3);
            let price = if side == Side::Buy {
                touch + through
            } else {
                touch - through
            };
            let id = next_id;
            next_id += 1;
            Command::New {
                symbol: state.symbol,
                id,
                account,
                client_order_id: 0,
                side,
                price,
                qty: rng.random_range(1..=150),
                tif: TimeInForce::Ioc,
            }
        } else if filling || roll < 10 + add_share || state.live.is_empty() {
            // Passive limit order near the touch, never crossing.
            let depth = rng.random_range(0..8);
            let price = match side {
                Side::Buy => (state.mid - 1 - depth).min(best_ask.map_or(Price::MAX, |a| a - 1)),
                Side::Sell => (state.mid + 1 + depth).max(best_bid.map_or(Price::MIN, |b| b + 1)),
            };
            let id = next_id;
            next_id += 1;
            state.live.push(id);
            Command::New {
                symbol: state.symbol,
                id,
                account,
                client_order_id: 0,
                side,
                price,
                qty: rng.random_range(1..=100),
                tif: TimeInForce::Gtc,
            }
        } else {
            // Cancel a random order that is still live.
            let mut picked = None;
            while !state.live.is_empty() {
                let i = rng.random_range(0..state.live.len());
                let id = state.live.swap_remove(i);
                if book.is_live(id) {
                    picked = Some(id);
                    break;
                }
            }
            match picked {
                Some(id) => Command::Cancel {
                    symbol: state.symbol,
                    id,
                },
                None => continue,
            }
        };
        events.clear();
        shadow.execute(&command, &mut events);
        commands.push(command);
    }
    Ok(Workload {
        instruments,
        commands,
    })
}
