//! Cutting a journal back to a sequence: what a replica that led a
//! cluster and lost the lead does before it rejoins.
//!
//! As leader it journaled (and its engine ran) commands as it sequenced
//! them, before the cluster committed them; those past the commit may
//! never be committed (a new leader's log wins). So at start a replica cuts
//! its journal back to what its Raft log says is committed, and drops the
//! snapshots taken after that point, and then applies the committed
//! history from the log like any follower. A single node never calls this.

use std::fs::OpenOptions;
use std::ops::ControlFlow;
use std::path::Path;

use super::error::JournalError;
use super::files::sync_dir;
use super::layout;
use super::reader;

/// What `truncate_after` removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Truncated {
    /// Records cut off, over every segment.
    pub records: u64,
    /// Segments deleted whole (they began after the kept sequence).
    pub segments: usize,
    /// Snapshots deleted (taken after the kept sequence).
    pub snapshots: usize,
}

/// Removes every record after `keep_last`, and every snapshot of a later
/// sequence, then fsyncs what changed. A journal that ends at or before
/// `keep_last` is left as it is.
pub fn truncate_after(dir: &Path, keep_last: u64) -> Result<Truncated, JournalError> {
    let listing = layout::list(dir)?;
    let mut done = Truncated::default();
    for snap in listing.snapshots.iter().filter(|s| s.seq > keep_last) {
        std::fs::remove_file(&snap.path).map_err(JournalError::io("remove", &snap.path))?;
        done.snapshots += 1;
    }
    let mut buf = Vec::new();
    let last_index = listing.segments.len().saturating_sub(1);
    for (i, seg) in listing.segments.iter().enumerate() {
        if seg.seq > keep_last.saturating_add(1) || (seg.seq > keep_last && i > 0) {
            // Wholly after the cut. (The first segment stays, even if empty
            // after the cut, so the journal still says where it starts.)
            let report =
                reader::scan_segment(&seg.path, seg.seq, i == last_index, &mut buf, |_| {
                    ControlFlow::Continue(())
                })?;
            done.records += report.records;
            std::fs::remove_file(&seg.path).map_err(JournalError::io("remove", &seg.path))?;
            done.segments += 1;
            continue;
        }
        let mut cut_at = None;
        let mut after = 0;
        let report = reader::scan_segment(&seg.path, seg.seq, i == last_index, &mut buf, |r| {
            if r.seq > keep_last {
                after += 1;
            }
            ControlFlow::Continue(())
        })?;
        if after == 0 {
            continue;
        }
        // Scan again, stopping after the last record kept: where to cut.
        if keep_last >= seg.seq {
            let kept = reader::scan_segment(&seg.path, seg.seq, i == last_index, &mut buf, |r| {
                if r.seq >= keep_last {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })?;
            cut_at = Some(kept.valid_bytes);
        }
        let cut_at = cut_at.unwrap_or(crate::segment::SEGMENT_HEADER_LEN as u64);
        let file = OpenOptions::new()
            .write(true)
            .open(&seg.path)
            .map_err(JournalError::io("open to truncate", &seg.path))?;
        // Shrink, then grow back: the bytes after the cut read as zeros,
        // which the reader and writer take for free space.
        file.set_len(cut_at)
            .and_then(|()| file.set_len(report.file_bytes))
            .and_then(|()| file.sync_all())
            .map_err(JournalError::io("truncate", &seg.path))?;
        done.records += after;
    }
    if done != Truncated::default() {
        sync_dir(dir)?;
    }
    Ok(done)
}
