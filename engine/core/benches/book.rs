//! Micro-benchmarks of the order book (criterion).
//!
//! Each benchmark times only the operation named; building the book it runs
//! against happens outside the timed span (`iter_custom`). Every group's name
//! carries the level layout it was built with (`padded`, or `unpadded` with
//! `--features unpadded-levels`), so `scripts/bench-padding.sh` can put the
//! two builds side by side.
//!
//! - `add/passive`: a GTC limit order that rests near the touch of a book
//!   holding ~10,000 orders.
//! - `cancel/random`: cancelling a random resting order of such a book.
//! - `sweep/5_levels`: an IOC that takes 20 orders over 5 levels.
//! - `mix/realistic`: the `streamgen` stream (50% adds, 40% cancels, 10% IOC).
//! - `mix_with_reader/realistic`: the same, while a second thread reads the
//!   top 10 levels of both sides in a loop, as a market-data publisher would:
//!   the case cache-line padding is for.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use matching::{Command, Engine, EngineConfig, Event, EventSink, Side, TimeInForce};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use testkit::workload::{Workload, WorkloadConfig, generate};

const LAYOUT: &str = if cfg!(feature = "unpadded-levels") {
    "unpadded"
} else {
    "padded"
};

/// Counts events so the work cannot be optimised away.
#[derive(Default)]
struct Count(u64);

impl EventSink for Count {
    #[inline]
    fn event(&mut self, _: Event) {
        self.0 += 1;
    }
}

fn config() -> EngineConfig {
    EngineConfig {
        max_orders_per_book: 1 << 20,
        prefault: true,
        ..EngineConfig::default()
    }
}

/// An engine holding the book the realistic stream leaves after `commands`.
fn warm_engine(workload: &Workload, commands: usize) -> Engine {
    let mut engine = Engine::new(config()).expect("valid config");
    for spec in &workload.instruments {
        engine.add_instrument(*spec).expect("valid instrument");
    }
    let mut sink = Count::default();
    for command in &workload.commands[..commands.min(workload.commands.len())] {
        engine.execute(command, &mut sink);
    }
    engine
}

fn workload() -> Workload {
    generate(&WorkloadConfig {
        commands: 2_000_000,
        ..WorkloadConfig::default()
    })
    .expect("valid workload")
}

/// Passive GTC orders near the touch: `n` of them, ids from `first_id`.
fn passive_orders(engine: &Engine, rng: &mut Pcg64Mcg, first_id: u64, n: u64) -> Vec<Command> {
    let (bid, ask) = engine.book(1).expect("instrument 1").best_prices();
    let (bid, ask) = (bid.unwrap_or(99_990), ask.unwrap_or(100_010));
    (0..n)
        .map(|i| {
            let side = if i % 2 == 0 { Side::Buy } else { Side::Sell };
            let depth = rng.random_range(0..8);
            Command::New {
                symbol: 1,
                id: first_id + i,
                account: rng.random_range(1..100),
                client_order_id: 0,
                side,
                price: if side == Side::Buy {
                    bid - depth
                } else {
                    ask + depth
                },
                qty: rng.random_range(1..100),
                tif: TimeInForce::Gtc,
            }
        })
        .collect()
}

/// Adds and cancels `iters` passive orders in chunks, so the book stays near
/// its realistic size however many iterations criterion asks for; times
/// either the adds or the cancels.
fn add_cancel_cycle(workload: &Workload, iters: u64, time_adds: bool) -> Duration {
    const CHUNK: u64 = 50_000;
    let mut engine = warm_engine(workload, 20_000);
    let mut rng = Pcg64Mcg::seed_from_u64(iters);
    let mut sink = Count::default();
    let mut total = Duration::ZERO;
    let mut done = 0;
    while done < iters {
        let n = CHUNK.min(iters - done);
        let adds = passive_orders(&engine, &mut rng, 1 << 40 | done, n);
        let mut cancels: Vec<Command> = adds
            .iter()
            .map(|c| Command::Cancel {
                symbol: 1,
                id: c.order_id(),
            })
            .collect();
        cancels.shuffle(&mut rng);
        let start = Instant::now();
        for command in &adds {
            engine.execute(black_box(command), &mut sink);
        }
        let added = Instant::now();
        for command in &cancels {
            engine.execute(black_box(command), &mut sink);
        }
        total += if time_adds {
            added - start
        } else {
            added.elapsed()
        };
        done += n;
    }
    black_box(sink.0);
    total
}

fn bench_add_and_cancel(c: &mut Criterion, workload: &Workload) {
    let mut group = c.benchmark_group(format!("add/{LAYOUT}"));
    group.bench_function("passive", |b| {
        b.iter_custom(|iters| add_cancel_cycle(workload, iters, true))
    });
    group.finish();

    let mut group = c.benchmark_group(format!("cancel/{LAYOUT}"));
    group.bench_function("random", |b| {
        b.iter_custom(|iters| add_cancel_cycle(workload, iters, false))
    });
    group.finish();
}

fn bench_sweep(c: &mut Criterion) {
    let mut group = c.benchmark_group(format!("sweep/{LAYOUT}"));
    group.bench_function("5_levels", |b| {
        b.iter_custom(|iters| {
            let mut engine = Engine::new(config()).expect("valid config");
            engine
                .add_instrument(matching::InstrumentSpec {
                    symbol: 1,
                    min_price: 1,
                    max_price: 200_000,
                    max_qty: 1_000_000,
                })
                .expect("valid instrument");
            let mut sink = Count::default();
            let mut total = Duration::ZERO;
            let mut id = 1u64;
            for _ in 0..iters {
                // Untimed: 5 ask levels of 4 orders of 10 lots.
                for level in 0..5 {
                    for _ in 0..4 {
                        id += 1;
                        engine.execute(
                            &Command::New {
                                symbol: 1,
                                id,
                                account: 1,
                                client_order_id: 0,
                                side: Side::Sell,
                                price: 100_000 + level,
                                qty: 10,
                                tif: TimeInForce::Gtc,
                            },
                            &mut sink,
                        );
                    }
                }
                id += 1;
                let sweep = Command::New {
                    symbol: 1,
                    id,
                    account: 2,
                    client_order_id: 0,
                    side: Side::Buy,
                    price: 100_004,
                    qty: 200,
                    tif: TimeInForce::Ioc,
                };
                let start = Instant::now();
                engine.execute(black_box(&sweep), &mut sink);
                total += start.elapsed();
            }
            black_box(sink.0);
            total
        })
    });
    group.finish();
}

/// Runs `iters` commands of the stream, starting a fresh engine (untimed)
/// whenever the stream runs out.
fn run_mix(workload: &Workload, iters: u64) -> Duration {
    let warm = 20_000;
    let mut total = Duration::ZERO;
    let mut left = iters as usize;
    while left > 0 {
        let mut engine = warm_engine(workload, warm);
        let chunk = &workload.commands[warm..(warm + left).min(workload.commands.len())];
        let mut sink = Count::default();
        let start = Instant::now();
        for command in chunk {
            engine.execute(black_box(command), &mut sink);
        }
        total += start.elapsed();
        black_box(sink.0);
        left -= chunk.len();
    }
    total
}

fn bench_mix(c: &mut Criterion, workload: &Workload) {
    let mut group = c.benchmark_group(format!("mix/{LAYOUT}"));
    group.bench_function("realistic", |b| {
        b.iter_custom(|iters| run_mix(workload, iters))
    });
    group.finish();

    let mut group = c.benchmark_group(format!("mix_with_reader/{LAYOUT}"));
    group.bench_function("realistic", |b| {
        b.iter_custom(|iters| {
            let warm = 20_000;
            let mut total = Duration::ZERO;
            let mut left = iters as usize;
            while left > 0 {
                let mut engine = warm_engine(workload, warm);
                let book = engine.book(1).expect("instrument 1");
                let views = [book.depth_view(Side::Buy), book.depth_view(Side::Sell)];
                let stop = Arc::new(AtomicBool::new(false));
                let reader = {
                    let stop = Arc::clone(&stop);
                    std::thread::spawn(move || {
                        let mut top = Vec::with_capacity(10);
                        let mut reads = 0u64;
                        while !stop.load(Ordering::Relaxed) {
                            for view in &views {
                                view.top(10, 64, &mut top);
                                reads += top.len() as u64;
                            }
                        }
                        reads
                    })
                };
                let chunk = &workload.commands[warm..(warm + left).min(workload.commands.len())];
                let mut sink = Count::default();
                let start = Instant::now();
                for command in chunk {
                    engine.execute(black_box(command), &mut sink);
                }
                total += start.elapsed();
                stop.store(true, Ordering::Relaxed);
                black_box(reader.join().expect("reader thread"));
                black_box(sink.0);
                left -= chunk.len();
            }
            total
        })
    });
    group.finish();
}

/// What a snapshot taken while trading stops matching for: copying every
/// resting order out (`Engine::for_each_order` into a kept vector), for
/// books of 10k, 100k and 1M resting orders (passive orders near the touch).
fn bench_snapshot_copy(c: &mut Criterion, workload: &Workload) {
    let mut group = c.benchmark_group("snapshot_copy");
    for n in [10_000u64, 100_000, 1_000_000] {
        let mut engine = warm_engine(workload, 0);
        let mut rng = Pcg64Mcg::seed_from_u64(7);
        let mut sink = Count::default();
        for command in passive_orders(&engine, &mut rng, 1 << 40, n) {
            engine.execute(&command, &mut sink);
        }
        let mut orders = Vec::new();
        group.bench_function(format!("{n}"), |b| {
            b.iter(|| {
                orders.clear();
                engine.for_each_order(|o| orders.push(o));
                orders.len()
            })
        });
    }
    group.finish();
}

fn benches(c: &mut Criterion) {
    let workload = workload();
    bench_add_and_cancel(c, &workload);
    bench_sweep(c);
    bench_mix(c, &workload);
    bench_snapshot_copy(c, &workload);
}

criterion_group! {
    name = book;
    config = Criterion::default().measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(1));
    targets = benches
}
criterion_main!(book);
