//! `loadgen`: see `loadgen --help`, and `docs/targets.toml` for what it
//! checks (`docs/targets.md` for why).

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use loadgen::CSV_HEADER;
use loadgen::Cli;

/// Exit status of a run that failed to start or finish.
const RUN_FAILED: u8 = 3;
/// Exit status of `--check` with a FAIL.
const CHECK_FAILED: u8 = 1;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let options = match cli.options() {
        Ok(o) => o,
        Err(message) => {
            eprintln!("loadgen: {message}");
            return ExitCode::from(2);
        }
    };
    let mut log = |line: &str| eprintln!("{line}");
    let summary = match loadgen::run(&options, &mut log) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("loadgen: {e}");
            return ExitCode::from(RUN_FAILED);
        }
    };
    print!("{}", summary.render());
    let _ = std::io::stdout().flush();

    let mut write_failed = false;
    if let Some(path) = &cli.json {
        let written = serde_json::to_string_pretty(&summary)
            .map_err(std::io::Error::other)
            .and_then(|json| std::fs::write(path, json + "\n"));
        if let Err(e) = written {
            eprintln!("loadgen: cannot write {}: {e}", path.display());
            write_failed = true;
        }
    }
    if let Some(path) = &cli.csv {
        let new = std::fs::metadata(path).map_or(true, |m| m.len() == 0);
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| {
                if new {
                    writeln!(f, "{CSV_HEADER}")?;
                }
                writeln!(f, "{}", summary.csv_row())
            });
        if let Err(e) = written {
            eprintln!("loadgen: cannot write {}: {e}", path.display());
            write_failed = true;
        }
    }

    if let Some(failure) = &summary.failure {
        eprintln!("loadgen: the run did not complete: {failure}");
        return ExitCode::from(RUN_FAILED);
    }
    if write_failed {
        return ExitCode::from(RUN_FAILED);
    }
    if cli.check && !summary.pass {
        return ExitCode::from(CHECK_FAILED);
    }
    ExitCode::SUCCESS
}
