//! Helpers shared by the `journal_*` tests: temp directories, realistic
//! command streams, writing and reading journals, and walking the record
//! layout documented in docs/journal.md (the tests parse the bytes
//! themselves, so they also check the documented format).

// Each test crate uses some of these helpers. They are test code: a failed
// unwrap is a test failure with a location (clippy.toml allows it in tests,
// but does not see this module as one).
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use journal::{self, JournalWriter, Record, WriterOptions};
use matching::{Engine, EngineConfig, Event, InstrumentSpec, SnapshotOrder};
use testkit::workload::{Workload, WorkloadConfig, generate};

pub const SEGMENT_HEADER_LEN: usize = 24;
pub const RECORD_HEADER_LEN: usize = 16;

/// Capacities that fit `workload`'s instruments, small enough to build an
/// engine per test case quickly (the ladders are allocated per band).
pub fn config() -> EngineConfig {
    EngineConfig {
        max_orders_per_book: 1 << 14,
        max_levels_per_side: 1 << 14,
        max_instruments: 8,
        prefault: false,
    }
}

/// A seeded, realistic stream of `commands` commands (after 300 that fill
/// the books) over two instruments. The generator's bands are 200,000
/// ticks wide; its prices stay within a few hundred ticks of 100,000 over
/// streams this short, so the bands are narrowed to 10,001 ticks around it
/// (any price outside would just be a `BAD_PRICE` reject, the same in
/// every run).
pub fn workload(commands: usize, seed: u64) -> Workload {
    let mut w = generate(&WorkloadConfig {
        commands,
        resting: 300,
        instruments: 2,
        accounts: 20,
        seed,
    })
    .unwrap();
    for spec in &mut w.instruments {
        spec.min_price = 95_000;
        spec.max_price = 105_000;
    }
    w
}

/// The ingest timestamp the tests give sequence `seq`.
pub fn ts_of(seq: u64) -> u64 {
    1_700_000_000_000_000_000 + seq * 1_000 + 7
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("journal-test-")
        .tempdir()
        .unwrap()
}

/// Writes `commands` as sequences 1.. into a new journal in `dir`,
/// committing every 50 records, and returns the records.
pub fn write_journal(
    dir: &Path,
    instruments: &[InstrumentSpec],
    commands: &[matching::Command],
    options: WriterOptions,
) -> Vec<Record> {
    let mut writer = JournalWriter::create(dir, instruments, options).unwrap();
    let records = append_all(&mut writer, commands);
    writer.close().unwrap();
    records
}

/// Appends `commands` at the writer's next sequences.
pub fn append_all(writer: &mut JournalWriter, commands: &[matching::Command]) -> Vec<Record> {
    let mut records = Vec::new();
    for command in commands {
        let seq = writer.next_seq();
        writer.append(seq, ts_of(seq), command).unwrap();
        records.push(Record {
            seq,
            ts: ts_of(seq),
            command: *command,
        });
        if seq.is_multiple_of(50) {
            writer.commit().unwrap();
        }
    }
    records
}

/// Every record of the journal, read back.
pub fn read_all(dir: &Path) -> Vec<Record> {
    let mut records = Vec::new();
    journal::read_journal(dir, 0, |r| records.push(*r)).unwrap();
    records
}

/// The segment files of `dir`, in sequence order.
pub fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    paths.sort();
    paths
}

/// The byte offsets where each record of a segment starts, from the
/// documented layout: a 24-byte header, then records of 16 + len bytes.
pub fn record_offsets(bytes: &[u8]) -> Vec<usize> {
    record_layout(bytes).0
}

/// The start of every record of a segment's bytes, and where the records
/// end (the free space, if any, starts there).
pub fn record_layout(bytes: &[u8]) -> (Vec<usize>, usize) {
    let mut offsets = Vec::new();
    let mut at = SEGMENT_HEADER_LEN;
    while at + RECORD_HEADER_LEN <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        // A zero length is where a mapped segment's free space starts.
        if len == 0 || at + RECORD_HEADER_LEN + len > bytes.len() {
            break;
        }
        offsets.push(at);
        at += RECORD_HEADER_LEN + len;
    }
    (offsets, at)
}

/// Copies the files of `from` into the (existing) directory `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// An engine with `instruments` that ran `commands`, and its events.
pub fn run_direct(
    instruments: &[InstrumentSpec],
    commands: &[matching::Command],
) -> (Engine, Vec<Event>) {
    let mut engine = Engine::new(config()).unwrap();
    for spec in instruments {
        engine.add_instrument(*spec).unwrap();
    }
    let mut events = Vec::new();
    for command in commands {
        engine.execute(command, &mut events);
    }
    (engine, events)
}

/// Every resting order with every snapshot field, in restore order.
pub fn all_orders(engine: &Engine) -> Vec<SnapshotOrder> {
    let mut orders = Vec::new();
    engine.for_each_order(|o| orders.push(o));
    orders
}

/// Options with small segments, so a short stream spans several.
pub fn small_segments(segment_bytes: u64) -> WriterOptions {
    WriterOptions {
        segment_bytes,
        buffer_bytes: 4096,
        ..WriterOptions::default()
    }
}
