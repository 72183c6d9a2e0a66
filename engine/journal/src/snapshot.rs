//! Snapshots: the engine's state after some sequence, so recovery replays
//! only the journal after it.
//!
//! `snapshot-<seq>.snap`, written atomically (temp file, fsync, rename,
//! fsync of the directory), so a crash leaves either the whole snapshot or
//! none. Layout, integers little-endian:
//!
//! | bytes | field |
//! |---|---|
//! | 8 | magic `MEJSNAPS` |
//! | 4 | format version (`u32`), 3 |
//! | 8 | last applied sequence (`u64`); equals the number in the name |
//! | 4 | instrument count `n` (`u32`) |
//! | 28 × n | instruments, as in the `instruments` file |
//! | 8 | resting order count `m` (`u64`) |
//! | 42 × m | orders in `Engine::for_each_order` order: symbol `u32`, id `u64`, account `u32`, client order id `u64`, side `u8` (`B`/`S`), price `i64`, leaves `u64`, post_only `u8` (0/1) |
//! | 4 | instruments with a halt or a collar, `k` (`u32`) |
//! | 31 × k | symbol `u32`, halted `u8`, has collar `u8`, collar reference `i64`, collar unit `u8` (`T`/`B`, 0 without), collar width `u64`, reference price now `i64` |
//! | 4 | tracked accounts `a` (`u32`) |
//! | a × .. | account `u32`; limits as in an `L` record (44 bytes); blocked `u8`; positions `p` (`u32`); `p` × (symbol `u32`, position `i128`, last fill price `i64`) |
//! | 4 | CRC32C of every byte before it |
//!
//! Orders are listed instruments ascending, bids then asks, best price
//! first, FIFO within a level, so restoring them in file order rebuilds
//! every level's queue. Take a snapshot only at a sequence the journal has
//! made durable: recovery skips a snapshot that is ahead of the journal.
//!
//! Version 3 added the control state after the orders (halts, collars,
//! tracked accounts with their limits, kill switches and positions:
//! docs/matching.md, "Controls and pre-trade risk"): a position cannot be
//! recounted from the book. A version-2 snapshot is read with no control
//! state, which is what the build that wrote it had.
//!
//! Version 2 added the client order id: who owns each resting order is
//! part of the state a snapshot restores (docs/architecture.md, "Where
//! ownership lives"). A version-1 snapshot is passed over like any other
//! unreadable one, and recovery replays the journal instead.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::codec::{self, Reader};
use super::error::JournalError;
use super::files;
use super::instruments::{CrcWriter, SPEC_LEN, check_crc, read_spec, write_spec};
use super::layout;
use matching::book::{InstrumentControl, SnapshotOrder};
use matching::engine::{Controls, Engine};
use matching::risk::{AccountLimits, AccountState, Collar, CollarWidth, PositionState};
use matching::types::InstrumentSpec;

const MAGIC: [u8; 8] = *b"MEJSNAPS";
const VERSION: u32 = 3;
/// Version 2 has no control state; read as having none.
const VERSION_WITHOUT_CONTROLS: u32 = 2;
const INSTRUMENT_CONTROL_LEN: usize = 4 + 1 + 1 + 8 + 1 + 8 + 8;
const ORDER_LEN: usize = 4 + 8 + 4 + 8 + 1 + 8 + 8 + 1;
/// An account with no positions: id, six limits, blocked, positions count.
const ACCOUNT_MIN_LEN: usize = 4 + (8 + 8 + 4 + 4 + 8 + 8) + 1 + 4;
const POSITION_LEN: usize = 4 + 16 + 8;

/// The content of a snapshot file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The last sequence whose command the state includes.
    pub last_seq: u64,
    pub instruments: Vec<InstrumentSpec>,
    /// Every resting order, in restore order.
    pub orders: Vec<SnapshotOrder>,
    /// Halts, collars and tracked accounts (restored before the orders).
    pub controls: Controls,
}

/// Writes `engine`'s state, as of having applied sequence `last_seq`, to
/// `dir/snapshot-<last_seq>.snap`, atomically. Returns the path. Streams
/// the orders, so a large book costs no extra memory.
pub fn write_snapshot(dir: &Path, engine: &Engine, last_seq: u64) -> Result<PathBuf, JournalError> {
    let instruments: Vec<InstrumentSpec> = engine.instruments().copied().collect();
    let mut orders = 0u64;
    engine.for_each_order(|_| orders += 1);
    let controls = engine.controls();
    write_file(dir, last_seq, &instruments, orders, &controls, |out| {
        // `for_each_order` takes a closure that cannot fail: keep the first
        // error and skip the rest.
        let mut result = Ok(());
        engine.for_each_order(|o| {
            if result.is_ok() {
                result = write_order(out, &o);
            }
        });
        result
    })
}

/// Writes `snapshot` to `dir/snapshot-<last_seq>.snap`, atomically, as
/// `write_snapshot` writes an engine's: for a snapshot copied out of the
/// engine at a consistent point and written by another thread while the
/// engine goes on (see the pipeline's `snapshots.rs`).
pub fn write_snapshot_of(dir: &Path, snapshot: &Snapshot) -> Result<PathBuf, JournalError> {
    let count = snapshot.orders.len() as u64;
    write_file(
        dir,
        snapshot.last_seq,
        &snapshot.instruments,
        count,
        &snapshot.controls,
        |out| snapshot.orders.iter().try_for_each(|o| write_order(out, o)),
    )
}

/// Header, instruments and order count; `orders` writes the orders.
fn write_file(
    dir: &Path,
    last_seq: u64,
    instruments: &[InstrumentSpec],
    order_count: u64,
    controls: &Controls,
    orders: impl FnOnce(&mut CrcWriter<&mut BufWriter<File>>) -> io::Result<()>,
) -> Result<PathBuf, JournalError> {
    let count = u32::try_from(instruments.len())
        .map_err(|_| JournalError::BadOptions("too many instruments for a snapshot".into()))?;
    files::write_atomically(dir, &layout::snapshot_name(last_seq), |out| {
        let mut out = CrcWriter::new(out);
        out.write_all(&MAGIC)?;
        out.write_all(&VERSION.to_le_bytes())?;
        out.write_all(&last_seq.to_le_bytes())?;
        out.write_all(&count.to_le_bytes())?;
        for spec in instruments {
            write_spec(&mut out, spec)?;
        }
        out.write_all(&order_count.to_le_bytes())?;
        orders(&mut out)?;
        write_controls(&mut out, controls)?;
        out.finish()
    })
}

/// What happens to journal segments that no retained snapshot needs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SegmentRetention {
    /// Keep every segment (disk use grows with the journal).
    #[default]
    All,
    /// Delete them.
    Delete,
    /// Move them into this directory (on the same file system).
    Archive(PathBuf),
}

/// Retires, per `retention`, every segment of `dir` wholly at or before
/// sequence `upto` (its successor starts at or before `upto + 1`): the
/// records a snapshot at `upto` has made unnecessary. The newest segment
/// is never touched. Returns how many were retired. The journal stage
/// never opens an older segment again, and a segment the preparer is still
/// trimming is trimmed through its open file, so removing its name is safe.
pub fn retire_segments(
    dir: &Path,
    upto: u64,
    retention: &SegmentRetention,
) -> Result<usize, JournalError> {
    if *retention == SegmentRetention::All {
        return Ok(0);
    }
    let listing = layout::list(dir)?;
    let whole = listing
        .segments
        .windows(2)
        .take_while(|pair| pair[1].seq <= upto.saturating_add(1))
        .count();
    for seg in &listing.segments[..whole] {
        match retention {
            SegmentRetention::All => {}
            SegmentRetention::Delete => {
                std::fs::remove_file(&seg.path).map_err(JournalError::io("delete", &seg.path))?
            }
            SegmentRetention::Archive(to) => {
                std::fs::create_dir_all(to).map_err(JournalError::io("create", to))?;
                let name = seg.path.file_name().unwrap_or_default();
                std::fs::rename(&seg.path, to.join(name))
                    .map_err(JournalError::io("move to the archive", &seg.path))?;
            }
        }
    }
    if whole > 0 {
        files::sync_dir(dir)?;
    }
    Ok(whole)
}

/// Where the retained journal in `dir` begins: its first segment's first
/// sequence (1 unless segments were retired), if it has any segment.
pub fn first_retained_seq(dir: &Path) -> Result<Option<u64>, JournalError> {
    Ok(layout::list(dir)?.segments.first().map(|s| s.seq))
}

/// The sequence of the oldest snapshot in `dir`, if any.
pub fn oldest_snapshot(dir: &Path) -> Result<Option<u64>, JournalError> {
    Ok(layout::list(dir)?.snapshots.first().map(|s| s.seq))
}

/// Deletes every snapshot of `dir` but the newest `keep` (at least one is
/// kept). Returns the sequence of the oldest kept, if any: what the
/// journal before may be retired up to (`retire_segments`). Recovery needs
/// only the newest that checks out; one older is kept in case the newest
/// is damaged.
pub fn prune_snapshots(dir: &Path, keep: usize) -> Result<Option<u64>, JournalError> {
    let listing = layout::list(dir)?;
    let old = listing.snapshots.len().saturating_sub(keep.max(1));
    for snap in &listing.snapshots[..old] {
        std::fs::remove_file(&snap.path).map_err(JournalError::io("delete", &snap.path))?;
    }
    Ok(listing.snapshots.get(old).map(|s| s.seq))
}

fn write_order(out: &mut impl Write, o: &SnapshotOrder) -> io::Result<()> {
    out.write_all(&o.symbol.to_le_bytes())?;
    out.write_all(&o.id.to_le_bytes())?;
    out.write_all(&o.account.to_le_bytes())?;
    out.write_all(&o.client_order_id.to_le_bytes())?;
    out.write_all(&[codec::side_byte(o.side)])?;
    out.write_all(&o.price.to_le_bytes())?;
    out.write_all(&o.leaves.to_le_bytes())?;
    out.write_all(&[u8::from(o.post_only)])
}

fn write_controls(out: &mut impl Write, controls: &Controls) -> io::Result<()> {
    out.write_all(&(controls.instruments.len() as u32).to_le_bytes())?;
    for c in &controls.instruments {
        out.write_all(&c.symbol.to_le_bytes())?;
        out.write_all(&[u8::from(c.halted), u8::from(c.collar.is_some())])?;
        let (reference, unit, width) = match c.collar {
            Some(Collar {
                reference,
                width: CollarWidth::Ticks(w),
            }) => (reference, b'T', w),
            Some(Collar {
                reference,
                width: CollarWidth::Bps(w),
            }) => (reference, b'B', w),
            None => (0, 0, 0),
        };
        out.write_all(&reference.to_le_bytes())?;
        out.write_all(&[unit])?;
        out.write_all(&width.to_le_bytes())?;
        out.write_all(&c.reference.to_le_bytes())?;
    }
    out.write_all(&(controls.accounts.len() as u32).to_le_bytes())?;
    for a in &controls.accounts {
        out.write_all(&a.account.to_le_bytes())?;
        let l = &a.limits;
        out.write_all(&l.max_order_qty.to_le_bytes())?;
        out.write_all(&l.max_order_notional.to_le_bytes())?;
        out.write_all(&l.max_open_orders.to_le_bytes())?;
        out.write_all(&l.max_open_orders_per_instrument.to_le_bytes())?;
        out.write_all(&l.max_position.to_le_bytes())?;
        out.write_all(&l.credit.to_le_bytes())?;
        out.write_all(&[u8::from(a.blocked)])?;
        out.write_all(&(a.positions.len() as u32).to_le_bytes())?;
        for p in &a.positions {
            out.write_all(&p.symbol.to_le_bytes())?;
            out.write_all(&p.position.to_le_bytes())?;
            out.write_all(&p.last_fill.to_le_bytes())?;
        }
    }
    Ok(())
}

/// Reads and checks the snapshot at `path`: the checksum, the format, and
/// that the sequence inside matches the name. Any problem is an error
/// (`BadFile`) saying what is wrong; recovery then falls back to an older
/// snapshot.
pub fn read_snapshot(path: &Path) -> Result<Snapshot, JournalError> {
    let bytes = std::fs::read(path).map_err(JournalError::io("read", path))?;
    let bad = |problem: String| JournalError::BadFile {
        file: path.to_path_buf(),
        problem,
    };
    let snapshot = decode(&bytes).map_err(bad)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name != layout::snapshot_name(snapshot.last_seq) {
        return Err(bad(format!(
            "holds the state after sequence {}, which does not match its name",
            snapshot.last_seq
        )));
    }
    Ok(snapshot)
}

fn decode(bytes: &[u8]) -> Result<Snapshot, String> {
    let body = check_crc(bytes, &MAGIC, "snapshot")?;
    let mut r = Reader { rest: body };
    let truncated = || "truncated".to_string();
    let _magic = r.u64();
    let version = r.u32().ok_or_else(truncated)?;
    if version != VERSION && version != VERSION_WITHOUT_CONTROLS {
        return Err(format!(
            "format version {version}; this build reads version {VERSION}"
        ));
    }
    let last_seq = r.u64().ok_or_else(truncated)?;
    let count = r.u32().ok_or_else(truncated)? as usize;
    // Check sizes before allocating, so a bad count cannot ask for memory.
    if r.rest.len() < count.saturating_mul(SPEC_LEN) {
        return Err(format!("{count} instruments do not fit in the file"));
    }
    let instruments = (0..count)
        .map(|_| read_spec(&mut r).ok_or_else(truncated))
        .collect::<Result<Vec<_>, _>>()?;
    let orders = r.u64().ok_or_else(truncated)?;
    let order_bytes = usize::try_from(orders)
        .ok()
        .and_then(|m| m.checked_mul(ORDER_LEN));
    let fits = match order_bytes {
        // Version 2 ends with the orders; version 3 has the controls after.
        Some(len) if version == VERSION_WITHOUT_CONTROLS => len == r.rest.len(),
        Some(len) => len <= r.rest.len(),
        None => false,
    };
    if !fits {
        return Err(format!(
            "{orders} orders do not fit in the {} bytes left",
            r.rest.len()
        ));
    }
    let mut list = Vec::with_capacity(orders as usize);
    for _ in 0..orders {
        list.push(read_order(&mut r)?);
    }
    let controls = if version == VERSION_WITHOUT_CONTROLS {
        Controls::default()
    } else {
        read_controls(&mut r)?
    };
    if !r.rest.is_empty() {
        return Err(format!("{} bytes after the control state", r.rest.len()));
    }
    Ok(Snapshot {
        last_seq,
        instruments,
        orders: list,
        controls,
    })
}

fn read_controls(r: &mut Reader<'_>) -> Result<Controls, String> {
    let truncated = || "truncated control state".to_string();
    let flag = |byte: u8, what: &str| match byte {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(format!("{what} byte {other} is not 0 or 1")),
    };
    let count = r.u32().ok_or_else(truncated)? as usize;
    if r.rest.len() < count.saturating_mul(INSTRUMENT_CONTROL_LEN) {
        return Err(format!(
            "{count} instrument controls do not fit in the file"
        ));
    }
    let mut instruments = Vec::with_capacity(count);
    for _ in 0..count {
        let symbol = r.u32().ok_or_else(truncated)?;
        let halted = flag(r.u8().ok_or_else(truncated)?, "halted")?;
        let has_collar = flag(r.u8().ok_or_else(truncated)?, "collar")?;
        let collar_reference = r.i64().ok_or_else(truncated)?;
        let unit = r.u8().ok_or_else(truncated)?;
        let width = r.u64().ok_or_else(truncated)?;
        let reference = r.i64().ok_or_else(truncated)?;
        let collar = match (has_collar, unit) {
            (false, _) => None,
            (true, b'T') => Some(CollarWidth::Ticks(width)),
            (true, b'B') => Some(CollarWidth::Bps(width)),
            (true, other) => return Err(format!("collar unit byte {other:#04x} is not T or B")),
        }
        .map(|width| Collar {
            reference: collar_reference,
            width,
        });
        instruments.push(InstrumentControl {
            symbol,
            halted,
            collar,
            reference,
        });
    }
    let count = r.u32().ok_or_else(truncated)? as usize;
    // No count can ask for more memory than the file could hold. (This
    // said 53 bytes, 4 more than an account without positions takes, and
    // refused every snapshot whose last accounts held none.)
    if r.rest.len() < count.saturating_mul(ACCOUNT_MIN_LEN) {
        return Err(format!("{count} accounts do not fit in the file"));
    }
    let mut accounts = Vec::with_capacity(count);
    for _ in 0..count {
        let account = r.u32().ok_or_else(truncated)?;
        let limits = AccountLimits {
            max_order_qty: r.u64().ok_or_else(truncated)?,
            max_order_notional: r.u64().ok_or_else(truncated)?,
            max_open_orders: r.u32().ok_or_else(truncated)?,
            max_open_orders_per_instrument: r.u32().ok_or_else(truncated)?,
            max_position: r.u64().ok_or_else(truncated)?,
            credit: r.u64().ok_or_else(truncated)?,
        };
        let blocked = flag(r.u8().ok_or_else(truncated)?, "blocked")?;
        let positions = r.u32().ok_or_else(truncated)? as usize;
        if r.rest.len() < positions.saturating_mul(POSITION_LEN) {
            return Err(format!("{positions} positions do not fit in the file"));
        }
        let mut list = Vec::with_capacity(positions);
        for _ in 0..positions {
            let symbol = r.u32().ok_or_else(truncated)?;
            let lo = r.u64().ok_or_else(truncated)?;
            let hi = r.u64().ok_or_else(truncated)?;
            let position = (i128::from(hi as i64) << 64) | i128::from(lo);
            let last_fill = r.i64().ok_or_else(truncated)?;
            list.push(PositionState {
                symbol,
                position,
                last_fill,
            });
        }
        accounts.push(AccountState {
            account,
            limits,
            blocked,
            positions: list,
        });
    }
    Ok(Controls {
        instruments,
        accounts,
    })
}

fn read_order(r: &mut Reader<'_>) -> Result<SnapshotOrder, String> {
    let truncated = || "truncated order".to_string();
    let symbol = r.u32().ok_or_else(truncated)?;
    let id = r.u64().ok_or_else(truncated)?;
    let account = r.u32().ok_or_else(truncated)?;
    let client_order_id = r.u64().ok_or_else(truncated)?;
    let side =
        codec::side(r.u8().ok_or_else(truncated)?).map_err(|e| format!("order {id}: {e}"))?;
    let price = r.i64().ok_or_else(truncated)?;
    let leaves = r.u64().ok_or_else(truncated)?;
    let post_only = match r.u8().ok_or_else(truncated)? {
        0 => false,
        1 => true,
        other => return Err(format!("order {id}: post-only byte {other} is not 0 or 1")),
    };
    Ok(SnapshotOrder {
        symbol,
        id,
        account,
        client_order_id,
        side,
        price,
        leaves,
        post_only,
    })
}
