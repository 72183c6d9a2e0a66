//! How durable a command is before its output may leave the process.

use std::fmt;
use std::str::FromStr;

/// The journal's durability setting. The output stage releases a command's
/// events only when the journal's durable sequence covers it, and this
/// setting decides what "durable" means. Every benchmark figure names it.
///
/// | setting | a command counts as durable once | a process crash loses | an OS crash or power loss loses |
/// |---|---|---|---|
/// | `none` | it is appended to the writer's buffer | the buffered records (up to one buffer) | everything not yet written back by the OS |
/// | `os` | `write` handed its batch to the OS | nothing that was released | everything the OS had not yet written back |
/// | `fsync` | `sync` (fdatasync) covered its batch | nothing that was released | nothing that was released |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Durability {
    /// No durability: measure the engine without the disk.
    None,
    /// Written to the OS page cache: survives a crash of the process only.
    Os,
    /// fdatasync with group commit: survives power loss.
    #[default]
    Fsync,
}

impl Durability {
    /// The word used in configuration and reports.
    pub fn word(self) -> &'static str {
        match self {
            Durability::None => "none",
            Durability::Os => "os",
            Durability::Fsync => "fsync",
        }
    }
}

impl fmt::Display for Durability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// A durability word that is not `none`, `os` or `fsync`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("durability `{0}` is not one of none, os, fsync")]
pub struct ParseDurabilityError(String);

impl FromStr for Durability {
    type Err = ParseDurabilityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(Durability::None),
            "os" => Ok(Durability::Os),
            "fsync" => Ok(Durability::Fsync),
            other => Err(ParseDurabilityError(other.chars().take(40).collect())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip() {
        for d in [Durability::None, Durability::Os, Durability::Fsync] {
            assert_eq!(d.to_string().parse::<Durability>(), Ok(d));
        }
        assert_eq!(
            "FSYNC".parse::<Durability>().unwrap_err().to_string(),
            "durability `FSYNC` is not one of none, os, fsync"
        );
    }
}
