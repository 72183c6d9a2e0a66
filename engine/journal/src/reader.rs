//! Reading segments: every record in order, with each problem found named
//! by file and byte offset and classified as a torn tail (what a crash
//! during a write leaves, safe to cut off) or damage (anything else).
//!
//! Zeros from a record boundary to the end of a file are free space, not
//! damage: the writer maps each segment at full size (`mapped_segment`),
//! so a live or crashed journal's last segment ends in zeros. The writer
//! stores a record's length last (`mapped_segment::store_in_order`), so a process
//! killed mid-copy leaves a zero length followed by at most one record's
//! bytes, then zeros: a torn tail of the last segment, like any other.
//!
//! The rule: a bad record is a torn tail only in the last segment and only
//! when no valid record follows it anywhere in that file. A crash can only
//! tear what was being written last; valid data after a bad record means
//! bytes changed after they were written, and those records may already
//! have been acknowledged, so guessing is not safe.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use super::damage::Damage;
use super::error::JournalError;
use super::layout::{self, Numbered};
use super::record::{self, Record, RecordProblem};
use super::segment::{self, SEGMENT_HEADER_LEN};
use super::warning::Warning;

/// What a scan of one segment found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentReport {
    pub path: PathBuf,
    /// The first sequence, from the file name.
    pub first_seq: u64,
    /// Size of the file (a live segment's includes its free space).
    pub file_bytes: u64,
    /// Whole valid records before any damage.
    pub records: u64,
    pub last_seq: Option<u64>,
    /// Where the valid part ends: the header plus those records. Zeros
    /// after it, to the end of the file, are free space.
    pub valid_bytes: u64,
    pub damage: Option<Damage>,
}

impl SegmentReport {
    /// The sequence the record after this segment's last must carry.
    pub fn next_seq(&self) -> u64 {
        self.last_seq
            .map_or(self.first_seq, |s| s.saturating_add(1))
    }
}

/// How much of a segment is read at a time. Small enough to stay in the
/// CPU's cache between the copy from the page cache and the scan that
/// follows it, and to be allocated once; large enough that the read
/// syscalls cost nothing next to the records. Reading whole 64 MiB
/// segments instead made recovery slower (page faults and cache misses on
/// a buffer that size).
const CHUNK: usize = 256 << 10;

/// Scans one segment file, calling `f` with each valid record in order,
/// and stops at the first problem, which the report names with its byte
/// offset. `is_last`: the segment is the newest one, the only place where
/// a torn tail can be. `f` may stop the scan (`Break`) after any record,
/// as a reader of a span of history does once it has what it needs.
/// `buf` is reused between calls. Errors are I/O errors only; damage is in
/// the report.
pub fn scan_segment(
    path: &Path,
    first_seq: u64,
    is_last: bool,
    buf: &mut Vec<u8>,
    mut f: impl FnMut(&Record) -> ControlFlow<()>,
) -> Result<SegmentReport, JournalError> {
    let mut file = File::open(path).map_err(JournalError::io("open", path))?;
    let file_bytes = file
        .metadata()
        .map_err(JournalError::io("stat", path))?
        .len();
    let mut report = SegmentReport {
        path: path.to_path_buf(),
        first_seq,
        file_bytes,
        records: 0,
        last_seq: None,
        valid_bytes: 0,
        damage: None,
    };
    let mut window = Window::new(buf);
    window
        .fill(&mut file)
        .map_err(JournalError::io("read", path))?;
    if let Err(problem) = segment::check_header(window.bytes(), first_seq) {
        // Rare: look at the whole file to tell a torn header from a bad one.
        let mut all = window.bytes().to_vec();
        file.read_to_end(&mut all)
            .map_err(JournalError::io("read", path))?;
        report.damage = Some(if is_last && segment::is_torn_header(&all, first_seq) {
            Damage::TornHeader {
                bytes: all.len() as u64,
            }
        } else {
            Damage::BadHeader(problem)
        });
        return Ok(report);
    }
    window.consume(SEGMENT_HEADER_LEN);
    let mut expected = first_seq;
    loop {
        if window.bytes().is_empty() {
            if window.eof {
                break;
            }
            window
                .fill(&mut file)
                .map_err(JournalError::io("read", path))?;
            continue;
        }
        match record::decode(window.bytes()) {
            Ok((rec, len)) => {
                if rec.seq != expected {
                    report.damage = Some(Damage::SequenceGap {
                        offset: window.offset(),
                        expected,
                        found: rec.seq,
                    });
                    break;
                }
                let flow = f(&rec);
                report.records += 1;
                report.last_seq = Some(rec.seq);
                expected = expected.saturating_add(1);
                window.consume(len);
                if flow.is_break() {
                    break;
                }
            }
            // The record continues past the window: read on. A chunk holds
            // the longest record, so after a fill it is whole or at the end.
            Err(RecordProblem::Truncated { .. }) if !window.eof => {
                window
                    .fill(&mut file)
                    .map_err(JournalError::io("read", path))?;
            }
            Err(problem) => {
                let offset = window.offset();
                // A zero length: free space of a segment the writer mapped
                // at full size, perhaps after the body of a record whose
                // length it had not stored yet (`mapped_segment::store_in_order`).
                if window.bytes().iter().take(4).all(|&b| b == 0) {
                    if !window.eof {
                        window
                            .fill(&mut file)
                            .map_err(JournalError::io("read", path))?;
                    }
                    let head = window.bytes().len().min(record::MAX_RECORD_LEN);
                    let body = window.bytes()[..head].iter().rposition(|&b| b != 0);
                    window.consume(head);
                    if zeros_to_end(&mut window, &mut file)
                        .map_err(JournalError::io("read", path))?
                    {
                        report.valid_bytes = offset;
                        report.damage = body.map(|last| {
                            if is_last {
                                Damage::TornTail {
                                    offset,
                                    dropped: last as u64 + 1,
                                    problem,
                                }
                            } else {
                                Damage::Corrupt { offset, problem }
                            }
                        });
                        return Ok(report);
                    }
                }
                // Rare: the rest of the file decides torn tail or damage.
                let mut rest = Vec::new();
                file.seek(SeekFrom::Start(offset))
                    .and_then(|_| file.read_to_end(&mut rest))
                    .map_err(JournalError::io("read", path))?;
                // A checksum-valid record that does not decode was written
                // that way: not a torn write.
                let torn = is_last
                    && !matches!(problem, RecordProblem::Undecodable(_))
                    && record::next_valid_record(&rest, 1).is_none();
                report.damage = Some(if torn {
                    Damage::TornTail {
                        offset,
                        dropped: rest.len() as u64,
                        problem,
                    }
                } else {
                    Damage::Corrupt { offset, problem }
                });
                break;
            }
        }
    }
    report.valid_bytes = window.offset();
    Ok(report)
}

/// `true` when every byte from the window's start to the end of the file
/// is zero. Consumes the window (and the file) as it reads.
fn zeros_to_end(window: &mut Window<'_>, file: &mut File) -> std::io::Result<bool> {
    loop {
        if window.bytes().iter().any(|&b| b != 0) {
            return Ok(false);
        }
        window.consume(window.bytes().len());
        if window.eof {
            return Ok(true);
        }
        window.fill(file)?;
    }
}

/// The part of a file in memory: `buf[start..end]` holds the bytes from
/// file offset `base + start` on.
struct Window<'a> {
    buf: &'a mut Vec<u8>,
    base: u64,
    start: usize,
    end: usize,
    eof: bool,
}

impl<'a> Window<'a> {
    fn new(buf: &'a mut Vec<u8>) -> Self {
        if buf.len() != CHUNK {
            buf.clear();
            buf.resize(CHUNK, 0);
        }
        Window {
            buf,
            base: 0,
            start: 0,
            end: 0,
            eof: false,
        }
    }

    #[inline]
    fn bytes(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or(&[])
    }

    #[inline]
    fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
    }

    /// The file offset of the first unconsumed byte.
    #[inline]
    fn offset(&self) -> u64 {
        self.base + self.start as u64
    }

    /// Moves the unconsumed bytes to the front and reads until the buffer
    /// is full or the file ends.
    fn fill(&mut self, file: &mut File) -> std::io::Result<()> {
        self.buf.copy_within(self.start..self.end, 0);
        self.base += self.start as u64;
        self.end -= self.start;
        self.start = 0;
        while let Some(free) = self.buf.get_mut(self.end..).filter(|f| !f.is_empty()) {
            match file.read(free) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => self.end += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// What `read_journal` read.
#[derive(Debug, Clone, Default)]
pub struct ReadSummary {
    /// The sequence of the journal's last whole record (0: none).
    pub last_seq: u64,
    /// Records passed to the callback (those after `after`).
    pub records: u64,
    /// Torn tails ignored (not repaired: reading changes nothing).
    pub warnings: Vec<Warning>,
}

/// Calls `f` with every record whose sequence is above `after`, in order,
/// from the journal in `dir`. Read-only: a torn tail is reported as a
/// warning and left in place; any other damage, or a gap between
/// segments, is an error naming the file and offset (the records before it
/// have been passed to `f`). Segments wholly at or below `after` are not
/// read, which is how a snapshot bounds recovery time.
pub fn read_journal(
    dir: &Path,
    after: u64,
    f: impl FnMut(&Record),
) -> Result<ReadSummary, JournalError> {
    let listing = layout::list(dir)?;
    let mut f = f;
    read_segments(&listing.segments, after, |rec| {
        f(rec);
        ControlFlow::Continue(())
    })
}

/// As `read_journal`, over a listing already taken; `f` may stop the read
/// (`Break`), and no later segment is opened then.
pub(crate) fn read_segments(
    segments: &[Numbered],
    after: u64,
    mut f: impl FnMut(&Record) -> ControlFlow<()>,
) -> Result<ReadSummary, JournalError> {
    let mut summary = ReadSummary::default();
    let Some(first) = segments.first() else {
        return Ok(summary);
    };
    let needed = after.saturating_add(1);
    if first.seq > needed {
        return Err(JournalError::MissingStart {
            needed,
            first: first.seq,
        });
    }
    // The newest segment that starts at or before the first needed record.
    let start = segments
        .partition_point(|s| s.seq <= needed)
        .saturating_sub(1);
    let mut buf = Vec::new();
    let mut expected: Option<u64> = None;
    for (i, seg) in segments.iter().enumerate().skip(start) {
        if let Some(expected) = expected
            && seg.seq != expected
        {
            return Err(JournalError::Damaged {
                file: seg.path.clone(),
                damage: Damage::SegmentGap {
                    expected,
                    found: seg.seq,
                },
            });
        }
        let is_last = i + 1 == segments.len();
        let mut stopped = false;
        let report = scan_segment(&seg.path, seg.seq, is_last, &mut buf, |rec| {
            if rec.seq <= after {
                return ControlFlow::Continue(());
            }
            summary.records += 1;
            let flow = f(rec);
            stopped = flow.is_break();
            flow
        })?;
        if stopped {
            summary.last_seq = report.next_seq().saturating_sub(1);
            return Ok(summary);
        }
        match report.damage {
            None => {}
            Some(Damage::TornTail {
                offset,
                dropped,
                problem,
            }) => summary.warnings.push(Warning::TornTail {
                file: seg.path.clone(),
                offset,
                dropped,
                problem,
                repaired: false,
            }),
            Some(Damage::TornHeader { bytes }) => summary.warnings.push(Warning::TornHeader {
                file: seg.path.clone(),
                bytes,
                repaired: false,
            }),
            Some(damage) => {
                return Err(JournalError::Damaged {
                    file: seg.path.clone(),
                    damage,
                });
            }
        }
        summary.last_seq = report.next_seq().saturating_sub(1);
        expected = Some(report.next_seq());
    }
    Ok(summary)
}
