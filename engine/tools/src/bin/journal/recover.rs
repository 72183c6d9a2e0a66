//! `journal recover DIR` and `journal snapshot DIR`.

use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use journal::{recover, write_snapshot};
use matching::text::write_resting;
use matching::{Engine, EngineConfig};

pub fn run(dir: &Path, config: EngineConfig, dump: bool) -> Result<ExitCode, String> {
    let start = Instant::now();
    let (engine, recovered) = recover(dir, config).map_err(|e| e.to_string())?;
    let elapsed = start.elapsed();
    for warning in &recovered.warnings {
        eprintln!("journal: warning: {warning}");
    }
    let seconds = elapsed.as_secs_f64();
    let rate = if seconds > 0.0 {
        recovered.replayed as f64 / seconds
    } else {
        0.0
    };
    let from = match &recovered.snapshot {
        Some((path, seq)) => format!(
            "snapshot {} (after seq {seq}, {} orders)",
            path.display(),
            recovered.restored_orders
        ),
        None => "the start of the journal".to_string(),
    };
    let report = format!(
        "recovered to sequence {} from {from}: replayed {} records in {:.3} s \
         ({rate:.0} commands/s, whole recovery including reads, checks and fsyncs); \
         {} resting orders",
        recovered.last_seq,
        recovered.replayed,
        seconds,
        count_orders(&engine),
    );
    if dump {
        eprintln!("{report}");
        let mut out = BufWriter::new(io::stdout().lock());
        let written = engine
            .resting_orders()
            .iter()
            .try_for_each(|o| write_resting(&mut out, o))
            .and_then(|()| out.flush());
        match written {
            Err(e) if !crate::is_broken_pipe(&e) => return Err(format!("writing to stdout: {e}")),
            _ => {}
        }
    } else {
        println!("{report}");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn snapshot(dir: &Path, config: EngineConfig) -> Result<ExitCode, String> {
    let (engine, recovered) = recover(dir, config).map_err(|e| e.to_string())?;
    for warning in &recovered.warnings {
        eprintln!("journal: warning: {warning}");
    }
    // Recovery fsynced the journal, so last_seq is durable: a snapshot of
    // it can never be ahead of the journal.
    let path = write_snapshot(dir, &engine, recovered.last_seq).map_err(|e| e.to_string())?;
    println!(
        "wrote {} (state after sequence {}, {} resting orders)",
        path.display(),
        recovered.last_seq,
        count_orders(&engine)
    );
    Ok(ExitCode::SUCCESS)
}

fn count_orders(engine: &Engine) -> u64 {
    let mut n = 0;
    engine.for_each_order(|_| n += 1);
    n
}
