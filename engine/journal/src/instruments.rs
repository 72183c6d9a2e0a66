//! The `instruments` file: the instrument definitions a journal's commands
//! were executed against, so the journal alone can rebuild the engine and
//! `journal export` can start with the `I` lines.
//!
//! A separate file rather than a record in every segment: instruments are
//! set up once, before traffic (`Engine::add_instrument` is not a command),
//! and a file written once, atomically, is simplest to get right.
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 8 | magic `MEJINSTR` |
//! | 8 | 4 | format version (`u32` LE), 1 |
//! | 12 | 4 | instrument count `n` (`u32` LE) |
//! | 16 | 28 × n | instruments: symbol `u32`, min_price `i64`, max_price `i64`, max_qty `u64` |
//! | 16 + 28n | 4 | CRC32C of every byte before it |

use std::io::{self, Write};
use std::path::Path;

use super::codec::Reader;
use super::error::JournalError;
use super::files;
use super::layout::INSTRUMENTS_FILE;
use matching::types::InstrumentSpec;

const MAGIC: [u8; 8] = *b"MEJINSTR";
const VERSION: u32 = 1;
/// Bytes of one encoded instrument.
pub(crate) const SPEC_LEN: usize = 4 + 8 + 8 + 8;

/// Writes the instruments file of `dir` atomically.
pub fn write_instruments(dir: &Path, specs: &[InstrumentSpec]) -> Result<(), JournalError> {
    let count = u32::try_from(specs.len()).map_err(|_| {
        JournalError::BadOptions(format!("{} instruments is too many", specs.len()))
    })?;
    files::write_atomically(dir, INSTRUMENTS_FILE, |out| {
        let mut out = CrcWriter::new(out);
        out.write_all(&MAGIC)?;
        out.write_all(&VERSION.to_le_bytes())?;
        out.write_all(&count.to_le_bytes())?;
        for spec in specs {
            write_spec(&mut out, spec)?;
        }
        out.finish()
    })?;
    Ok(())
}

/// Reads the instruments file of `dir`. A missing file means the
/// directory holds no journal.
pub fn read_instruments(dir: &Path) -> Result<Vec<InstrumentSpec>, JournalError> {
    let path = dir.join(INSTRUMENTS_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound && dir.is_dir() => {
            return Err(JournalError::NotAJournal {
                dir: dir.to_path_buf(),
            });
        }
        Err(e) => return Err(JournalError::io("read", &path)(e)),
    };
    decode(&bytes).map_err(|problem| JournalError::BadFile {
        file: path,
        problem: format!(
            "{problem}; the instruments file is damaged: restore it from a backup, or \
             rebuild it from a snapshot of this journal"
        ),
    })
}

fn decode(bytes: &[u8]) -> Result<Vec<InstrumentSpec>, String> {
    let body = check_crc(bytes, &MAGIC, "instruments")?;
    let mut r = Reader { rest: body };
    let _magic = r.u64();
    let version = r.u32().unwrap_or(0);
    if version != VERSION {
        return Err(format!(
            "format version {version}; this build reads version {VERSION}"
        ));
    }
    let count = r.u32().unwrap_or(0) as usize;
    if r.rest.len() != count.saturating_mul(SPEC_LEN) {
        return Err(format!(
            "{count} instruments do not fill {} bytes",
            r.rest.len()
        ));
    }
    (0..count)
        .map(|_| read_spec(&mut r).ok_or_else(|| "truncated".to_string()))
        .collect()
}

/// Checks a file's magic and trailing CRC32C, returning the bytes before
/// the checksum. `what` names the file kind in messages.
pub(crate) fn check_crc<'a>(
    bytes: &'a [u8],
    magic: &[u8; 8],
    what: &str,
) -> Result<&'a [u8], String> {
    if !bytes.starts_with(magic) {
        return Err(format!("no {what} magic: not a journal {what} file"));
    }
    let Some((body, stored)) = bytes.split_last_chunk::<4>() else {
        return Err(format!("{} bytes is too short", bytes.len()));
    };
    let stored = u32::from_le_bytes(*stored);
    let computed = crc32c::crc32c(body);
    if stored != computed {
        return Err(format!(
            "checksum mismatch (stored {stored:#010x}, computed {computed:#010x})"
        ));
    }
    Ok(body)
}

pub(crate) fn write_spec(out: &mut impl Write, spec: &InstrumentSpec) -> io::Result<()> {
    out.write_all(&spec.symbol.to_le_bytes())?;
    out.write_all(&spec.min_price.to_le_bytes())?;
    out.write_all(&spec.max_price.to_le_bytes())?;
    out.write_all(&spec.max_qty.to_le_bytes())
}

pub(crate) fn read_spec(r: &mut Reader<'_>) -> Option<InstrumentSpec> {
    Some(InstrumentSpec {
        symbol: r.u32()?,
        min_price: r.i64()?,
        max_price: r.i64()?,
        max_qty: r.u64()?,
    })
}

/// A writer that keeps the CRC32C of what passes through it, and appends
/// it on `finish`: the trailing checksum of the instruments and snapshot
/// files, computed while streaming so a snapshot is never held in memory.
#[derive(Debug)]
pub(crate) struct CrcWriter<W> {
    inner: W,
    crc: u32,
}

impl<W: Write> CrcWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        CrcWriter { inner, crc: 0 }
    }

    /// Writes the checksum of everything written so far.
    pub(crate) fn finish(mut self) -> io::Result<()> {
        self.inner.write_all(&self.crc.to_le_bytes())
    }
}

impl<W: Write> Write for CrcWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc = crc32c::crc32c_append(self.crc, buf.get(..n).unwrap_or(&[]));
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
