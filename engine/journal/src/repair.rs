//! The only changes recovery makes to a journal: cutting off a torn tail
//! (or rewriting a torn header) of the last segment, and fsyncing what it
//! found so that it may be trusted as durable.
//!
//! Both the writer's `open` and `recover` run these, so either alone leaves
//! the journal consistent; on a clean journal they change nothing and the
//! fsyncs of clean files are cheap.

use std::fs::{File, OpenOptions};
use std::io::Write;

use super::damage::Damage;
use super::error::JournalError;
use super::layout::Numbered;
use super::reader::{self, SegmentReport};
use super::segment::{self, SEGMENT_HEADER_LEN};
use super::warning::Warning;

/// Scans the last segment and repairs a torn tail or header, returning the
/// segment as it now is. Any other damage is an error naming file and
/// offset, and the file is left untouched.
pub(crate) fn repair_last_segment(
    seg: &Numbered,
) -> Result<(SegmentReport, Vec<Warning>), JournalError> {
    let mut buf = Vec::new();
    let mut report = reader::scan_segment(&seg.path, seg.seq, true, &mut buf, |_| {
        std::ops::ControlFlow::Continue(())
    })?;
    let mut warnings = Vec::new();
    let open = || {
        OpenOptions::new()
            .write(true)
            .open(&seg.path)
            .map_err(JournalError::io("open for repair", &seg.path))
    };
    match report.damage {
        None => {}
        Some(Damage::TornTail {
            offset,
            dropped,
            problem,
        }) => {
            let file = open()?;
            file.set_len(offset)
                .map_err(JournalError::io("truncate", &seg.path))?;
            // Until this fsync the cut is only in the page cache: a crash now
            // could bring the torn bytes back, which is harmless (the next
            // recovery cuts them again), but nothing may count as durable
            // before the file is known to be whole.
            file.sync_all()
                .map_err(JournalError::io("fsync", &seg.path))?;
            warnings.push(Warning::TornTail {
                file: seg.path.clone(),
                offset,
                dropped,
                problem,
                repaired: true,
            });
            report.file_bytes = offset;
            report.damage = None;
        }
        Some(Damage::TornHeader { bytes }) => {
            let mut file = open()?;
            file.set_len(0)
                .map_err(JournalError::io("truncate", &seg.path))?;
            file.write_all(&segment::encode_header(seg.seq))
                .map_err(JournalError::io("write segment header", &seg.path))?;
            file.sync_all()
                .map_err(JournalError::io("fsync", &seg.path))?;
            warnings.push(Warning::TornHeader {
                file: seg.path.clone(),
                bytes,
                repaired: true,
            });
            report.file_bytes = SEGMENT_HEADER_LEN as u64;
            report.valid_bytes = SEGMENT_HEADER_LEN as u64;
            report.damage = None;
        }
        Some(damage) => {
            return Err(JournalError::Damaged {
                file: seg.path.clone(),
                damage,
            });
        }
    }
    Ok((report, warnings))
}

/// fsyncs every segment. Records a crashed process wrote with `os` or
/// `none` durability may still be only in the page cache; recovery is
/// about to build state on them and clients will see its effects, so they
/// must reach the disk first. (fsync through a read-only descriptor is
/// valid on Linux: it flushes the file, whoever wrote it.)
pub(crate) fn sync_segments(segments: &[Numbered]) -> Result<(), JournalError> {
    for seg in segments {
        let file = File::open(&seg.path).map_err(JournalError::io("open", &seg.path))?;
        file.sync_data()
            .map_err(JournalError::io("fsync", &seg.path))?;
    }
    Ok(())
}
