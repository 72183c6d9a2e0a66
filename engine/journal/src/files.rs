//! File-system steps that durability depends on: syncing a directory, and
//! replacing a file atomically.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::error::JournalError;

/// fsyncs `dir`, so that files created, renamed or removed in it survive a
/// power loss. On Linux a new file's data can be on disk while its
/// directory entry is not; without this the file may vanish.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), JournalError> {
    let handle = File::open(dir).map_err(JournalError::io("open directory", dir))?;
    handle
        .sync_all()
        .map_err(JournalError::io("fsync directory", dir))
}

/// Opens the segment `path` as `options` say, with its length.
pub(crate) fn open_segment(
    path: &Path,
    options: &OpenOptions,
) -> Result<(File, u64), JournalError> {
    let file = options
        .open(path)
        .map_err(JournalError::io("open segment", path))?;
    let len = file
        .metadata()
        .map_err(JournalError::io("stat", path))?
        .len();
    Ok((file, len))
}

/// Writes `dir/name` so that after a crash it is either absent (or its old
/// version) or complete: write `name.tmp`, fsync it, rename it over `name`,
/// fsync the directory. `fill` writes the content.
pub(crate) fn write_atomically(
    dir: &Path,
    name: &str,
    fill: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<PathBuf, JournalError> {
    let path = dir.join(name);
    let temp = dir.join(format!("{name}.tmp"));
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&temp)
        .map_err(JournalError::io("create", &temp))?;
    let mut out = BufWriter::with_capacity(1 << 16, file);
    fill(&mut out).map_err(JournalError::io("write", &temp))?;
    out.flush().map_err(JournalError::io("write", &temp))?;
    let file = out.get_ref();
    file.sync_all().map_err(JournalError::io("fsync", &temp))?;
    std::fs::rename(&temp, &path).map_err(JournalError::io("rename into place", &path))?;
    sync_dir(dir)?;
    Ok(path)
}
