//! `streamgen`: writes a seeded, realistic command stream in the replay
//! format (see `testkit::workload`), for `replay --bench` and for diffing.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use clap::Parser;
use matching::text::{write_command, write_instrument};
use matching::{AccountLimits, Collar, CollarWidth, Command};
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
    /// Start with an `L` line for every account and a `P` collar for every
    /// instrument, with limits so wide they never refuse: the stream's
    /// events are the same but for those lines' `S` answers, and every
    /// order runs every pre-trade check (the cost of risk, measured with
    /// `replay --bench`; docs/performance.md, "Pre-trade risk").
    #[arg(long)]
    risk: bool,
    /// As `--risk`, with only the limits a gateway sets by default (the
    /// open-order counts) and the collar: the cost of risk as a venue
    /// running on its defaults pays it.
    #[arg(long, conflicts_with = "risk")]
    risk_counts: bool,
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
            "# streamgen --commands {} --resting {} --instruments {} --accounts {} --seed {}{}",
            args.commands,
            args.resting,
            args.instruments,
            args.accounts,
            args.seed,
            if args.risk {
                " --risk"
            } else if args.risk_counts {
                " --risk-counts"
            } else {
                ""
            }
        )?;
        for spec in &workload.instruments {
            write_instrument(&mut out, spec)?;
        }
        if args.risk || args.risk_counts {
            for command in wide_controls(&workload.instruments, args.accounts, args.risk_counts) {
                write_command(&mut out, &command)?;
            }
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

/// Limits for accounts `1..=accounts` and a collar per instrument, too
/// wide to refuse anything in the workload: every limit finite (so every
/// check runs), or with `counts_only` just the open-order counts.
fn wide_controls(
    instruments: &[matching::InstrumentSpec],
    accounts: u32,
    counts_only: bool,
) -> Vec<Command> {
    let limits = if counts_only {
        AccountLimits {
            max_open_orders: 1 << 30,
            max_open_orders_per_instrument: 1 << 30,
            ..AccountLimits::NONE
        }
    } else {
        AccountLimits {
            max_order_qty: 1 << 40,
            max_order_notional: 1 << 62,
            max_open_orders: 1 << 30,
            max_open_orders_per_instrument: 1 << 30,
            max_position: 1 << 50,
            credit: 1 << 62,
        }
    };
    let mut out: Vec<Command> = (1..=accounts.max(1))
        .map(|account| Command::Limits { account, limits })
        .collect();
    for spec in instruments {
        let width = (i128::from(spec.max_price) - i128::from(spec.min_price)).max(0) as u64;
        out.push(Command::Collar {
            symbol: spec.symbol,
            collar: Collar {
                reference: spec.min_price / 2 + spec.max_price / 2,
                width: CollarWidth::Ticks(width),
            },
        });
    }
    out
}
