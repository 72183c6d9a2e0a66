//! `replay`: runs a replay-format command file through the engine and prints
//! its events (see docs/matching.md), or benchmarks the engine on it.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use matching::text::{Line, LineError, for_each_line, parse_line, write_event, write_resting};
use matching::{Engine, EngineConfig, Event};

mod bench;

/// Run commands in the replay text format through the matching engine.
#[derive(Debug, Parser)]
#[command(version, long_about = None)]
struct Args {
    /// Command file; standard input when absent.
    file: Option<PathBuf>,
    /// After the events, list every resting order (`O` lines).
    #[arg(long)]
    dump: bool,
    /// Benchmark instead: parse FILE, then print throughput and per-command
    /// latency percentiles as one JSON object.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["file", "dump"])]
    bench: Option<PathBuf>,
    /// Widest price band, in ticks, an instrument may have.
    #[arg(long, default_value_t = EngineConfig::default().max_levels_per_side)]
    max_levels: usize,
    /// Resting orders one book can hold.
    #[arg(long, default_value_t = EngineConfig::default().max_orders_per_book)]
    max_orders: u32,
}

/// How a run ended badly: the message for stderr and the exit status.
struct Failure {
    message: String,
    status: u8,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = EngineConfig {
        max_orders_per_book: args.max_orders,
        max_levels_per_side: args.max_levels,
        ..EngineConfig::default()
    };
    let result = match &args.bench {
        Some(path) => bench::run(path, config),
        None => replay(&args, config),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure { message, status }) => {
            eprintln!("{message}");
            ExitCode::from(status)
        }
    }
}

fn replay(args: &Args, config: EngineConfig) -> Result<(), Failure> {
    let input: Box<dyn Read> = match &args.file {
        Some(path) => Box::new(File::open(path).map_err(|e| Failure {
            message: format!("replay: cannot open {}: {e}", path.display()),
            status: 1,
        })?),
        None => Box::new(io::stdin().lock()),
    };
    let mut engine = Engine::new(config).map_err(|e| Failure {
        message: format!("replay: {e}"),
        status: 1,
    })?;
    let stdout = io::stdout().lock();
    let mut out = BufWriter::with_capacity(1 << 16, stdout);
    let result = run_lines(BufReader::new(input), &mut engine, &mut out, args.dump);
    // The events of every line before a bad one are written, whatever happens.
    let flushed = out.flush();
    match (result, flushed) {
        (Err(Outcome::Input(message)), _) => Err(Failure { message, status: 2 }),
        (Err(Outcome::Io(e)), _) | (Ok(()), Err(e)) => io_failure(e),
        (Ok(()), Ok(())) => Ok(()),
    }
}

enum Outcome {
    Input(String),
    Io(io::Error),
}

impl From<io::Error> for Outcome {
    fn from(e: io::Error) -> Self {
        Outcome::Io(e)
    }
}

fn run_lines(
    input: impl BufRead,
    engine: &mut Engine,
    out: &mut impl Write,
    dump: bool,
) -> Result<(), Outcome> {
    let mut events: Vec<Event> = Vec::with_capacity(64);
    for_each_command_line(input, |number, line| {
        match line {
            Line::Instrument(spec) => {
                let defined = engine.add_instrument(spec);
                defined.map_err(|e| Outcome::Input(format!("line {number}: {e}")))?;
            }
            Line::Command(command) => {
                events.clear();
                engine.execute(&command, &mut events);
                for event in &events {
                    write_event(out, event)?;
                }
            }
        }
        Ok(())
    })?;
    if dump {
        for order in engine.resting_orders() {
            write_resting(out, &order)?;
        }
    }
    Ok(())
}

/// Calls `f` with each meaningful line and its 1-based number, stopping at
/// the first line that does not parse (or that `f` refuses).
fn for_each_command_line(
    input: impl BufRead,
    mut f: impl FnMut(u64, Line) -> Result<(), Outcome>,
) -> Result<(), Outcome> {
    for_each_line(input, |number, text| {
        match parse_line(text).map_err(|e| Outcome::Input(format!("line {number}: {e}")))? {
            Some(line) => f(number, line),
            None => Ok(()),
        }
    })
}

impl From<LineError> for Outcome {
    fn from(e: LineError) -> Self {
        match e {
            LineError::Read(e) => Outcome::Io(e),
            other => Outcome::Input(other.to_string()),
        }
    }
}

/// A closed stdout (`replay ... | head`) is a normal end, not an error.
fn io_failure(e: io::Error) -> Result<(), Failure> {
    if e.kind() == io::ErrorKind::BrokenPipe {
        return Ok(());
    }
    Err(Failure {
        message: format!("replay: {e}"),
        status: 1,
    })
}
