//! `journal import DIR [FILE]`: a new journal from replay text.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;
use std::process::ExitCode;

use journal::{JournalWriter, WriterOptions};
use matching::InstrumentSpec;
use matching::text::{Line, for_each_line, parse_line};

pub fn run(dir: &Path, file: Option<&Path>, segment_bytes: u64) -> Result<ExitCode, String> {
    let input: Box<dyn Read> = match file {
        Some(path) => {
            Box::new(File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?)
        }
        None => Box::new(io::stdin().lock()),
    };
    let mut input = BufReader::with_capacity(1 << 16, input);
    let options = WriterOptions {
        segment_bytes,
        durability: crate::IMPORT_DURABILITY,
        ..WriterOptions::default()
    };
    let mut instruments: Vec<InstrumentSpec> = Vec::new();
    let mut writer: Option<JournalWriter> = None;
    let mut ts = 0u64;
    for_each_line(&mut input, |number, text| -> Result<(), String> {
        let at = |what: String| format!("line {number}: {what}");
        if let Some(t) = timestamp_comment(text) {
            ts = t;
            return Ok(());
        }
        match parse_line(text).map_err(|e| at(e.to_string()))? {
            None => {}
            Some(Line::Instrument(spec)) => {
                if writer.is_some() {
                    return Err(at(
                        "instruments must be defined before the first command".into()
                    ));
                }
                if instruments.iter().any(|s| s.symbol == spec.symbol) {
                    return Err(at(format!("instrument {} is already defined", spec.symbol)));
                }
                instruments.push(spec);
            }
            Some(Line::Command(command)) => {
                let w = match &mut writer {
                    Some(w) => w,
                    None => writer.insert(create(dir, &instruments, &options)?),
                };
                let seq = w.next_seq();
                w.append(seq, ts, &command).map_err(|e| e.to_string())?;
                if seq % 4096 == 0 {
                    w.commit().map_err(|e| e.to_string())?;
                }
                ts = 0;
            }
        }
        Ok(())
    })?;
    let writer = match writer {
        Some(w) => w,
        None => create(dir, &instruments, &options)?,
    };
    let last = writer.close().map_err(|e| e.to_string())?;
    println!(
        "imported {last} commands and {} instruments into {}",
        instruments.len(),
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn create(
    dir: &Path,
    instruments: &[InstrumentSpec],
    options: &WriterOptions,
) -> Result<JournalWriter, String> {
    JournalWriter::create(dir, instruments, options.clone()).map_err(|e| e.to_string())
}

/// The timestamp of a `# seq <n> ts <ns>` comment, as `export --seq` writes.
fn timestamp_comment(line: &str) -> Option<u64> {
    let mut words = line.strip_prefix("# seq ")?.split(' ');
    let _seq = words.next()?;
    match (words.next(), words.next(), words.next()) {
        (Some("ts"), Some(ts), None) => ts.parse().ok(),
        _ => None,
    }
}
