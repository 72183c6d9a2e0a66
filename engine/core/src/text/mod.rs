//! The replay text format of `docs/matching.md`: one command per line in,
//! one event per line out. It is how any run can be diffed against any other
//! implementation, line by line.

mod format;
mod lines;
mod parse;

pub use format::{write_command, write_event, write_instrument, write_resting};
pub use lines::{LineError, MAX_LINE, for_each_line};
pub use parse::{Line, ParseError, parse_line};
