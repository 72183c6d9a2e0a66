//! `journal`: reads, checks and writes the engine's journal directories
//! (see docs/journal.md).
//!
//! - `journal export DIR`: the instruments and every command in the replay
//!   text format, so `journal export DIR | replay` re-runs the journal.
//! - `journal verify DIR`: every segment and snapshot, and whether recovery
//!   would accept them; exits 1 when it would not.
//! - `journal import DIR [FILE]`: a new journal from replay text.
//! - `journal recover DIR`: recovers the engine and reports how long it took.
//! - `journal snapshot DIR`: recovers, then writes a snapshot.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use journal::Durability;
use matching::EngineConfig;

mod export;
mod import;
mod recover;
mod verify;

/// Read, check and write matching-engine journal directories.
#[derive(Debug, Parser)]
#[command(version, long_about = None)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write the instruments (`I` lines) and every command to stdout in the
    /// replay text format: `journal export DIR | replay` re-runs the journal.
    Export {
        dir: PathBuf,
        /// Before each command, a `# seq <n> ts <ns>` comment (replay
        /// ignores it; import reads the timestamp back).
        #[arg(long)]
        seq: bool,
    },
    /// Report every segment (records, sequence range, bytes, damage) and
    /// snapshot; exit 1 if recovery would refuse the journal.
    Verify { dir: PathBuf },
    /// Create a journal in DIR (which must not hold one) from replay-format
    /// text: FILE, or standard input when absent. `I` lines must come before
    /// the first command. Timestamps come from `# seq N ts T` comments
    /// (as `export --seq` writes them), else 0.
    Import {
        dir: PathBuf,
        file: Option<PathBuf>,
        /// Size at which a segment rolls.
        #[arg(long, default_value_t = 64 << 20)]
        segment_bytes: u64,
    },
    /// Recover the engine (newest usable snapshot, then the journal after
    /// it), repairing a torn tail, and report the time taken.
    Recover {
        dir: PathBuf,
        #[command(flatten)]
        engine: EngineArgs,
        /// List the resting orders after recovery (`O` lines, as
        /// `replay --dump`) on stdout; the report goes to stderr.
        #[arg(long)]
        dump: bool,
    },
    /// Recover, then write a snapshot of the state after the last sequence.
    Snapshot {
        dir: PathBuf,
        #[command(flatten)]
        engine: EngineArgs,
    },
}

/// The engine configuration the journal was written with.
#[derive(Debug, clap::Args)]
struct EngineArgs {
    /// Widest price band, in ticks, an instrument may have.
    #[arg(long, default_value_t = EngineConfig::default().max_levels_per_side)]
    max_levels: usize,
    /// Resting orders one book can hold.
    #[arg(long, default_value_t = EngineConfig::default().max_orders_per_book)]
    max_orders: u32,
}

impl EngineArgs {
    fn config(&self) -> EngineConfig {
        EngineConfig {
            max_orders_per_book: self.max_orders,
            max_levels_per_side: self.max_levels,
            ..EngineConfig::default()
        }
    }
}

/// Import writes with `os` durability and fsyncs once at the end: a crash
/// half way leaves a journal to delete and import again, not a wrong one.
const IMPORT_DURABILITY: Durability = Durability::Os;

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match &args.command {
        Command::Export { dir, seq } => export::run(dir, *seq),
        Command::Verify { dir } => verify::run(dir),
        Command::Import {
            dir,
            file,
            segment_bytes,
        } => import::run(dir, file.as_deref(), *segment_bytes),
        Command::Recover { dir, engine, dump } => recover::run(dir, engine.config(), *dump),
        Command::Snapshot { dir, engine } => recover::snapshot(dir, engine.config()),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("journal: {message}");
            ExitCode::FAILURE
        }
    }
}

/// A closed stdout (`journal export DIR | head`) ends the run quietly.
fn is_broken_pipe(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::BrokenPipe
}
