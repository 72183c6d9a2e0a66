//! A segment file the writer appends to through a shared memory map.
//!
//! Used with durability `none` and `os`. Appending with `write(2)` costs a
//! syscall per batch, and on a fresh part of the file the kernel also
//! allocates page-cache pages and disk blocks inside that call, on the
//! journal thread. On a virtual machine, a fresh guest page can even fault
//! in the host first (docs/performance.md, section "Fresh page-cache
//! pages"). So a segment is made ready before it is needed (`prepare`, run
//! by `preparer` on a thread of its own):
//!
//! 1. its whole size is reserved on disk (`posix_fallocate`), so running
//!    out of space is an error here, never a `SIGBUS` on a later store;
//! 2. it is mapped shared, and a zero is stored into every page, which
//!    leaves each allocated, dirty and writable: the journal thread's
//!    stores take no fault at all.
//!
//! Appending is then a copy into the map: the bytes are in the page cache
//! at once, which is what `os` durability promises (a crash of the process
//! loses nothing; the kernel owns the pages). With `fsync` the writer
//! appends with `write` instead (`writer`): there the device's flush is
//! the cost, and flushing a mapped, preallocated file is slower
//! (`active_segment` says why; docs/performance.md, section "Pipeline
//! throughput and recovery", has the figures).
//!
//! A mapped segment is full-size from its creation, with zeros after the
//! last record. The reader takes zeros to the end of a file as free space
//! (`reader`), and the writer trims a segment to its records when it is
//! done with it (`retire`), so a closed journal's files hold records only.
//!
//! Nothing else may shorten a file while it is mapped: a store past the
//! end of a file is a `SIGBUS`. The directory lock keeps other journal
//! writers and recovery away; an operator's `truncate` would not be.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering, compiler_fence};

use memmap2::{MmapMut, MmapOptions};

use super::error::JournalError;
use super::files;
use super::layout;
use super::record;
use super::segment::{SEGMENT_HEADER_LEN, encode_header};

/// Bytes between two touched addresses: the smallest page size.
const PAGE: usize = 4096;
/// Pages touched between two looks at the stop flag.
const PAGES_PER_CHECK: usize = 256;

/// An open, mapped, full-size segment file.
#[derive(Debug)]
pub(crate) struct MappedSegment {
    file: File,
    map: MmapMut,
    path: PathBuf,
}

/// Why `prepare` returned nothing: an error, or the stop flag.
#[derive(Debug)]
pub(crate) enum PrepareError {
    Failed(JournalError),
    Stopped,
}

impl From<JournalError> for PrepareError {
    fn from(e: JournalError) -> Self {
        PrepareError::Failed(e)
    }
}

/// The name of a prepared segment before it has a first sequence. Ends in
/// `.tmp`, which the directory listing ignores, so a crash leaves only a
/// stray file that the next writer removes (`remove_stray`).
fn temp_name(n: u64) -> String {
    format!("next-segment-{n}.tmp")
}

/// Removes prepared segments left by a writer that crashed. The caller
/// holds the directory's lock, so no live writer owns them.
pub(crate) fn remove_stray(dir: &Path) -> Result<(), JournalError> {
    let entries = std::fs::read_dir(dir).map_err(JournalError::io("read directory", dir))?;
    for entry in entries {
        let entry = entry.map_err(JournalError::io("read directory", dir))?;
        let name = entry.file_name();
        let stray = name
            .to_str()
            .is_some_and(|n| n.starts_with("next-segment-") && n.ends_with(".tmp"));
        if stray {
            let path = entry.path();
            std::fs::remove_file(&path).map_err(JournalError::io("remove", &path))?;
        }
    }
    Ok(())
}

/// Makes segment number `n` (a temporary name) of `bytes` bytes ready in
/// `dir`: reserved on disk, mapped, every page touched. Stops early, removing the file, when `stop` is set.
pub(crate) fn prepare(
    dir: &Path,
    n: u64,
    bytes: u64,
    stop: &AtomicBool,
) -> Result<MappedSegment, PrepareError> {
    let path = dir.join(temp_name(n));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .map_err(JournalError::io("create segment", &path))?;
    let result = reserve(&file, &path, bytes)
        .and_then(|()| map(file, &path, bytes))
        .map_err(PrepareError::Failed)
        .and_then(|mut seg| {
            seg.touch(0, stop)?;
            Ok(seg)
        });
    if result.is_err() {
        let _ = std::fs::remove_file(&path);
    }
    result
}

/// Opens the existing segment `path` to append at `end` (its records end
/// there; every byte after it is zero): grows it to `bytes` if it is
/// shorter, maps it, and touches the pages from `end` on. Setup, not the
/// hot path: `JournalWriter::open` calls it once.
pub(crate) fn open_existing(
    path: &Path,
    end: u64,
    bytes: u64,
) -> Result<MappedSegment, JournalError> {
    let (file, len) = files::open_segment(path, OpenOptions::new().read(true).write(true))?;
    let size = len.max(bytes);
    reserve(&file, path, size)?;
    let mut seg = map(file, path, size)?;
    let start = usize::try_from(end).unwrap_or(usize::MAX);
    match seg.touch(start, &AtomicBool::new(false)) {
        Ok(()) | Err(PrepareError::Stopped) => Ok(seg),
        Err(PrepareError::Failed(e)) => Err(e),
    }
}

/// Reserves `bytes` bytes of disk for `file` (growing it with zeros).
fn reserve(file: &File, path: &Path, bytes: u64) -> Result<(), JournalError> {
    let len = libc::off_t::try_from(bytes).map_err(|_| {
        JournalError::BadOptions(format!("segment size {bytes} is too large for this system"))
    })?;
    // SAFETY: `posix_fallocate` only reads its integer arguments; the
    // descriptor is open for writing and owned by `file` for the call.
    let rc = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, len) };
    if rc != 0 {
        return Err(JournalError::io("reserve disk space for", path)(
            std::io::Error::from_raw_os_error(rc),
        ));
    }
    Ok(())
}

fn map(file: File, path: &Path, bytes: u64) -> Result<MappedSegment, JournalError> {
    let len = usize::try_from(bytes).map_err(|_| {
        JournalError::BadOptions(format!("segment size {bytes} does not fit in memory"))
    })?;
    // SAFETY: the file is at least `len` bytes long (reserved above) and
    // only this process changes it while it is mapped: the writer holds
    // the directory's lock, appends only through this map, and shortens
    // the file only after unmapping it (`retire`) or when it will not
    // touch the map again (`trim`). Other processes may read the file
    // meanwhile; they change nothing we read.
    let map = unsafe { MmapOptions::new().len(len).map_mut(&file) }
        .map_err(JournalError::io("map segment", path))?;
    // No read-ahead: the file is only ever written through this map. With
    // it, the first store to a page not yet in the page cache made the
    // kernel read ahead (zero-fill, the extents being unwritten) up to
    // megabytes of fresh pages inside that one fault, 20 ms and more on a
    // VM where fresh guest pages fault in the host too, and this kernel
    // does not preempt a fault: a stage woken meanwhile on that core
    // waited as long (docs/performance.md, "CPU in proportion to work").
    // One page per fault leaves a preemption point after every page. A
    // system without the advice only loses that.
    let _ = map.advise(memmap2::Advice::Random);
    Ok(MappedSegment {
        file,
        map,
        path: path.to_path_buf(),
    })
}

impl MappedSegment {
    /// Stores a zero into every page from byte `from` on (see the module's
    /// comment). It changes nothing: every byte from `from` on is zero.
    fn touch(&mut self, from: usize, stop: &AtomicBool) -> Result<(), PrepareError> {
        let len = self.map.len();
        let mut at = from;
        let mut pages = 0;
        while at < len {
            if pages % PAGES_PER_CHECK == 0 && stop.load(Ordering::Relaxed) {
                return Err(PrepareError::Stopped);
            }
            if let Some(byte) = self.map.get_mut(at) {
                *byte = 0;
            }
            pages += 1;
            at = (at / PAGE + 1) * PAGE;
        }
        Ok(())
    }

    /// Gives the prepared segment its place: writes the header of the
    /// segment starting at `first_seq` and renames the file to its name.
    /// The caller fsyncs the directory (the writer defers it to its next
    /// `sync`).
    pub(crate) fn install(&mut self, dir: &Path, first_seq: u64) -> Result<(), JournalError> {
        let header = encode_header(first_seq);
        let Some(at) = self.map.get_mut(..SEGMENT_HEADER_LEN) else {
            return Err(JournalError::Internal(format!(
                "segment {} is shorter than its header",
                self.path.display()
            )));
        };
        at.copy_from_slice(&header);
        let path = dir.join(layout::segment_name(first_seq));
        std::fs::rename(&self.path, &path).map_err(JournalError::io("name segment", &path))?;
        self.path = path;
        Ok(())
    }

    /// Stores whole `records` at byte `at` of the map, in the order a
    /// killed process may leave them (`store_in_order`).
    #[inline]
    pub(crate) fn store(&mut self, at: u64, records: &[u8]) -> Result<(), JournalError> {
        let start = usize::try_from(at).unwrap_or(usize::MAX);
        let end = start.saturating_add(records.len());
        // The writer rolls before a record would pass the map's end, so
        // this always fits; if it did not, refuse rather than panic.
        let Some(to) = self.map.get_mut(start..end) else {
            return Err(JournalError::Internal(format!(
                "records up to byte {end} do not fit segment {}",
                self.path.display()
            )));
        };
        store_in_order(to, records);
        Ok(())
    }

    #[inline]
    pub(crate) fn len(&self) -> u64 {
        self.map.len() as u64
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn file(&self) -> &File {
        &self.file
    }

    /// Done with the segment: unmaps it and trims the file to its first
    /// `end` bytes, the records, dropping the zeros after them. Not on the
    /// journal thread (`preparer` does it): unmapping a whole segment
    /// costs page-table work and a TLB flush of every core the process
    /// runs on. A crash before the trim leaves zeros, which readers take
    /// as free space.
    pub(crate) fn retire(self, end: u64) -> Result<(), JournalError> {
        let MappedSegment { file, map, path } = self;
        drop(map);
        file.set_len(end).map_err(JournalError::io("trim", &path))
    }

    /// Trims the file to its first `end` bytes and makes that durable,
    /// keeping the map: the caller must not touch the map past `end` again
    /// (a store there would be a `SIGBUS`). For a clean close, which
    /// touches nothing after it.
    pub(crate) fn trim(&self, end: u64) -> Result<(), JournalError> {
        self.file
            .set_len(end)
            .map_err(JournalError::io("trim", &self.path))?;
        self.file
            .sync_all()
            .map_err(JournalError::io("fsync", &self.path))
    }

    /// Removes a prepared segment that was never installed.
    pub(crate) fn discard(self) {
        let MappedSegment { file, map, path } = self;
        drop(map);
        drop(file);
        let _ = std::fs::remove_file(path);
    }
}

/// Copies whole records from `records` into `to` (the same length) so that
/// a process killed at any instant leaves the records before some point
/// whole, then at most one record's bytes with its length still zero,
/// then the zeros that were there. Each record's length field, the first
/// thing a reader looks at, is stored after the rest of the record, with
/// a compiler barrier between (x86 and ARM alike retire stores in program
/// order, and a killed process's retired stores still reach the page
/// cache). A plain `memcpy` of the batch may store its end first, which
/// would leave valid records after a zero length: damage to a reader.
/// The reader's side of this is in `reader` (free space).
#[inline]
fn store_in_order(to: &mut [u8], records: &[u8]) {
    let mut to = to;
    let mut rest = records;
    while let Some(len) = rest.first_chunk::<4>() {
        let n = (record::RECORD_HEADER_LEN + u32::from_le_bytes(*len) as usize).min(rest.len());
        let (record, more) = rest.split_at(n);
        let k = n.min(to.len());
        let (into, after) = std::mem::take(&mut to).split_at_mut(k);
        if let (Some((to_len, to_body)), Some((len, body))) = (
            into.split_first_chunk_mut::<4>(),
            record.split_first_chunk::<4>(),
        ) {
            to_body.copy_from_slice(body);
            // SeqCst: a compiler barrier only (no instruction); it keeps the
            // stores of the body before the length's, and the next record's
            // after it. It pairs with the reader's free-space rule.
            compiler_fence(Ordering::SeqCst);
            *to_len = *len;
            compiler_fence(Ordering::SeqCst);
        }
        to = after;
        rest = more;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use matching::command::Command;
    use matching::types::{Side, TimeInForce};

    #[test]
    fn store_in_order_copies_every_record() {
        let mut records = Vec::new();
        for seq in 1..=40u64 {
            let command = if seq % 3 == 0 {
                Command::Cancel { symbol: 1, id: seq }
            } else {
                Command::New {
                    symbol: 1,
                    id: seq,
                    account: 2,
                    client_order_id: 0,
                    side: Side::Sell,
                    price: 100 + seq as i64,
                    qty: seq,
                    tif: TimeInForce::Gtc,
                }
            };
            record::encode(&mut records, seq, seq * 7, &command);
        }
        let mut to = vec![0u8; records.len()];
        store_in_order(&mut to, &records);
        assert_eq!(to, records);
    }
}
