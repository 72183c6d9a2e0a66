//! Reading replay text line by line, safely: bounded line length, UTF-8
//! checked, line numbers counted, one buffer reused.

use std::io::{self, BufRead, Read};

/// Longest line accepted; a longer one is an input error, not an allocation.
pub const MAX_LINE: usize = 1 << 20;

/// A line that cannot be read as text, or a failed read.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    #[error("line {number}: longer than {MAX_LINE} bytes")]
    TooLong { number: u64 },
    #[error("line {number}: not valid UTF-8")]
    NotUtf8 { number: u64 },
    #[error("reading input: {0}")]
    Read(#[from] io::Error),
}

impl From<LineError> for String {
    fn from(e: LineError) -> String {
        e.to_string()
    }
}

/// Calls `f(number, line)` for every line of `input` (1-based numbers,
/// without the newline), stopping at the first error of either.
pub fn for_each_line<E: From<LineError>>(
    mut input: impl BufRead,
    mut f: impl FnMut(u64, &str) -> Result<(), E>,
) -> Result<(), E> {
    let mut buf = Vec::with_capacity(256);
    let mut number = 0u64;
    loop {
        buf.clear();
        number += 1;
        let n = input
            .by_ref()
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(LineError::from)?;
        if n == 0 {
            return Ok(());
        }
        if buf.last() == Some(&b'\n') {
            buf.pop();
        } else if buf.len() > MAX_LINE {
            return Err(LineError::TooLong { number }.into());
        }
        let text = std::str::from_utf8(&buf).map_err(|_| LineError::NotUtf8 { number })?;
        f(number, text)?;
    }
}
