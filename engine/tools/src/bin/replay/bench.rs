//! `replay --bench FILE`: how fast the engine runs a command file.
//!
//! The whole file is parsed first, so parsing is never timed. Throughput is
//! one pass with no per-command timer (a timer costs about as much as a
//! command). The percentiles come from a second pass on a fresh engine with
//! a timer around each command, recorded into a preallocated HdrHistogram,
//! so they include the timer's own cost. The timer reads the TSC through
//! `quanta`, a fraction of the cost of `Instant::now` through the vDSO;
//! the conversion to nanoseconds happens after the second read, outside
//! the timed span. A third pass times the naive reference book
//! (`testkit::naive`) on the same order commands, so every run reports the
//! engine's speed against it (`vs_naive`): the naive book's controls scan
//! the books by design, so its pass leaves the control lines (`H`, `K`,
//! `L`, `P`) out, and measures the plain naive book a risk-checked engine
//! is compared with. docs/performance.md, section "Engine: `replay
//! --bench`", has the figures, timer included.

use std::fs::File;
use std::hint::black_box;
use std::io::BufReader;
use std::path::Path;
use std::time::Instant;

use hdrhistogram::Histogram;
use matching::text::Line;
use matching::{Command, Engine, EngineConfig, Event, EventSink, InstrumentSpec};

use super::{Failure, Outcome, for_each_command_line};

/// Counts events and folds in their quantities, so the optimiser cannot
/// drop the work, at the cost of a few instructions per event.
#[derive(Default)]
struct CountingSink {
    events: u64,
    traded: u64,
}

impl EventSink for CountingSink {
    #[inline]
    fn event(&mut self, event: Event) {
        self.events += 1;
        if let Event::Trade { qty, .. } = event {
            self.traded += qty;
        }
    }
}

pub fn run(path: &Path, mut config: EngineConfig) -> Result<(), Failure> {
    // Benchmark the steady state: memory committed before the clock starts.
    config.prefault = true;
    let failure = |message: String, status| Failure { message, status };
    let file = File::open(path)
        .map_err(|e| failure(format!("replay: cannot open {}: {e}", path.display()), 1))?;
    let mut instruments: Vec<InstrumentSpec> = Vec::new();
    let mut commands: Vec<Command> = Vec::new();
    let parsed = for_each_command_line(BufReader::new(file), |_, line| {
        match line {
            Line::Instrument(spec) => instruments.push(spec),
            Line::Command(command) => commands.push(command),
        }
        Ok(())
    });
    match parsed {
        Ok(()) => {}
        Err(Outcome::Input(message)) => return Err(failure(message, 2)),
        Err(Outcome::Io(e)) => return Err(failure(format!("replay: {e}"), 1)),
    }
    let fresh_engine = || -> Result<Engine, Failure> {
        let mut engine =
            Engine::new(config.clone()).map_err(|e| failure(format!("replay: {e}"), 1))?;
        for spec in &instruments {
            engine
                .add_instrument(*spec)
                .map_err(|e| failure(format!("replay: {e}"), 2))?;
        }
        Ok(engine)
    };

    // Pass 1: throughput, no per-command timer.
    let mut engine = fresh_engine()?;
    let mut sink = CountingSink::default();
    let start = Instant::now();
    for command in &commands {
        engine.execute(black_box(command), &mut sink);
    }
    let seconds = start.elapsed().as_secs_f64();
    black_box((sink.events, sink.traded));
    let resting = engine.resting_orders().len();
    drop(engine);

    // Pass 2: latency, one timer per command.
    let mut engine = fresh_engine()?;
    let mut sink = CountingSink::default();
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3)
        .map_err(|e| failure(format!("replay: histogram: {e}"), 1))?;
    let clock = quanta::Clock::new();
    for command in &commands {
        let t0 = clock.raw();
        engine.execute(black_box(command), &mut sink);
        let t1 = clock.raw();
        histogram.saturating_record(clock.delta_as_nanos(t0, t1).max(1));
    }
    black_box((sink.events, sink.traded));

    // Pass 3: the naive book, throughput only.
    let mut naive = testkit::naive::NaiveEngine::new();
    for spec in &instruments {
        naive
            .add_instrument(*spec)
            .map_err(|e| failure(format!("replay: {e}"), 2))?;
    }
    let orders: Vec<Command> = commands.iter().filter(|c| c.is_order()).copied().collect();
    let mut naive_sink = CountingSink::default();
    let start = Instant::now();
    for command in &orders {
        naive.execute(black_box(command), &mut naive_sink);
    }
    let naive_seconds = start.elapsed().as_secs_f64();
    black_box((naive_sink.events, naive_sink.traded));
    let naive_per_sec = if naive_seconds > 0.0 {
        orders.len() as f64 / naive_seconds
    } else {
        0.0
    };

    let n = commands.len();
    let per_sec = if seconds > 0.0 {
        n as f64 / seconds
    } else {
        0.0
    };
    println!(
        "{{\"commands\":{n},\"seconds\":{seconds:.6},\"commands_per_sec\":{per_sec:.0},\
         \"p50_ns\":{},\"p99_ns\":{},\"p999_ns\":{},\"max_ns\":{},\"events\":{},\"resting_at_end\":{resting},\
         \"naive_commands_per_sec\":{naive_per_sec:.0},\"vs_naive\":{:.2}}}",
        histogram.value_at_quantile(0.50),
        histogram.value_at_quantile(0.99),
        histogram.value_at_quantile(0.999),
        histogram.max(),
        sink.events,
        if naive_per_sec > 0.0 {
            per_sec / naive_per_sec
        } else {
            0.0
        },
    );
    Ok(())
}
