//! `journal export DIR`: the journal as replay text.

use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use journal::{first_retained_seq, read_instruments, read_journal};
use matching::text::{write_command, write_instrument};

pub fn run(dir: &Path, seq: bool) -> Result<ExitCode, String> {
    let instruments = read_instruments(dir).map_err(|e| e.to_string())?;
    let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let mut written: io::Result<()> = Ok(());
    // Segments before the kept snapshots may have been retired
    // (docs/journal.md, "Retention"): export what is retained, and say so.
    let first = first_retained_seq(dir)
        .map_err(|e| e.to_string())?
        .unwrap_or(1);
    if first > 1 {
        eprintln!(
            "journal: the retained journal begins at sequence {first} (earlier segments were \
             retired; the book before it is in the directory's snapshots): this export alone \
             does not rebuild the venue's book"
        );
        written = writeln!(
            out,
            "# the retained journal begins at sequence {first}; earlier segments were retired"
        );
    }
    for spec in &instruments {
        if written.is_ok() {
            written = write_instrument(&mut out, spec);
        }
    }
    // The reader's callback cannot fail: keep the first write error and
    // stop writing (the journal is still read to the end).
    let read = read_journal(dir, first - 1, |rec| {
        if written.is_err() {
            return;
        }
        if seq {
            written = writeln!(out, "# seq {} ts {}", rec.seq, rec.ts);
        }
        if written.is_ok() {
            written = write_command(&mut out, &rec.command);
        }
    });
    let written = written.and_then(|()| out.flush());
    match written {
        Err(e) if crate::is_broken_pipe(&e) => return Ok(ExitCode::SUCCESS),
        Err(e) => return Err(format!("writing to stdout: {e}")),
        Ok(()) => {}
    }
    let summary = read.map_err(|e| e.to_string())?;
    for warning in &summary.warnings {
        eprintln!("journal: warning: {warning}");
    }
    Ok(ExitCode::SUCCESS)
}
