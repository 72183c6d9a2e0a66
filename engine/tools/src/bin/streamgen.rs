//! `streamgen`: writes a seeded, realistic command stream in the replay
//! format (see `testkit::workload`), for `replay --bench` and for diffing.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use clap::Parser;
use matching::text::{write_command, write_instrument};
use testkit::workload::{WorkloadConfig, generate};

/// Generate a realistic order stream: ~50% passive adds near the touch,
/// ~40% cancels of live orders, ~10% IOC orders that cross.
#[derive(Debug, Parser)]
#[command(version, long_about = None)]
struct Args {
    /// Commands after the initial fill of the book.
    #[arg(long, default_value_t = 2_000_000)]
    commands: usize,
    /// Resting orders to steer towards (all instruments together).
    #[arg(long, default_value_t = 10_000)]
    resting: usize,
    #[arg(long, default_value_t = 1)]
    instruments: u32,
    #[arg(long, default_value_t = 100)]
    accounts: u32,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = WorkloadConfig {
        commands: args.commands,
        resting: args.resting,
        instruments: args.instruments,
        accounts: args.accounts,
        seed: args.seed,
    };
    let workload = match generate(&config) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("streamgen: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = BufWriter::new(io::stdout().lock());
    let written = (|| -> io::Result<()> {
        writeln!(
            out,
            "# streamgen --commands {} --resting {} --instruments {} --accounts {} --seed {}",
            args.commands, args.resting, args.instruments, args.accounts, args.seed
        )?;
        for spec in &workload.instruments {
            write_instrument(&mut out, spec)?;
        }
        for command in &workload.commands {
            write_command(&mut out, command)?;
        }
        out.flush()
    })();
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("streamgen: {e}");
            ExitCode::FAILURE
        }
    }
}
