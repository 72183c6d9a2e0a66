//! Engine capacities, and the errors of setting an engine up.

use crate::types::{InstrumentSpec, Symbol};

/// Capacities fixed when the engine is built. Every structure is sized from
/// these once, so the hot path never allocates; reaching a limit is a
/// reject (`BOOK_FULL`) or a setup error, never a reallocation or a panic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// Resting orders one book can hold.
    pub max_orders_per_book: u32,
    /// Widest price band (in ticks) of an instrument: each side of a book is
    /// a dense array of this many levels at most. Memory is committed only
    /// for the levels that orders touch, so the limit bounds address space.
    pub max_levels_per_side: usize,
    /// Instruments one engine can hold.
    pub max_instruments: usize,
    /// Touch each book's order arena and id map when the instrument is
    /// defined, so their pages are committed before traffic instead of
    /// faulting in (a few microseconds each) on the hot path. Costs the
    /// memory up front: about 72 bytes per order of capacity.
    pub prefault: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            max_orders_per_book: 1 << 20,
            max_levels_per_side: 1 << 22,
            max_instruments: 1 << 12,
            prefault: false,
        }
    }
}

/// A setup mistake, with what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    #[error("instrument {0} is already defined; each symbol may be defined once")]
    DuplicateInstrument(Symbol),
    #[error("more than {limit} instruments; raise max_instruments in the engine configuration")]
    TooManyInstruments { limit: usize },
    #[error(
        "instrument {symbol}: price band [{min_price}, {max_price}] is {levels} ticks wide, \
         above the limit of {limit} levels per side; narrow the band or raise \
         max_levels_per_side (replay: --max-levels; gateway: --max-band-ticks)"
    )]
    BandTooWide {
        symbol: Symbol,
        min_price: i64,
        max_price: i64,
        levels: u128,
        limit: usize,
    },
    #[error("{field} must be between 1 and {max}, got {value}")]
    BadCapacity {
        field: &'static str,
        value: u64,
        max: u64,
    },
}

impl EngineConfig {
    /// Checks that the capacities can be honoured.
    pub fn validate(&self) -> Result<(), SetupError> {
        // Arena indices are u32 with 0 reserved, and the id map doubles its size.
        let max_orders = u64::from(u32::MAX / 4);
        if self.max_orders_per_book == 0 || u64::from(self.max_orders_per_book) > max_orders {
            return Err(SetupError::BadCapacity {
                field: "max_orders_per_book",
                value: self.max_orders_per_book.into(),
                max: max_orders,
            });
        }
        let max_levels = crate::book::MAX_LEVELS as u64;
        if self.max_levels_per_side as u64 > max_levels {
            return Err(SetupError::BadCapacity {
                field: "max_levels_per_side",
                value: self.max_levels_per_side as u64,
                max: max_levels,
            });
        }
        let max_instruments = 1u64 << 20;
        if self.max_instruments == 0 || self.max_instruments as u64 > max_instruments {
            return Err(SetupError::BadCapacity {
                field: "max_instruments",
                value: self.max_instruments as u64,
                max: max_instruments,
            });
        }
        Ok(())
    }

    /// The number of levels per side `spec`'s band needs (0 for an empty
    /// band, where every price is `BAD_PRICE`), or why it is too wide.
    pub fn levels_for(&self, spec: &InstrumentSpec) -> Result<usize, SetupError> {
        let width = (i128::from(spec.max_price) - i128::from(spec.min_price) + 1).max(0) as u128;
        if width > self.max_levels_per_side as u128 {
            return Err(SetupError::BandTooWide {
                symbol: spec.symbol,
                min_price: spec.min_price,
                max_price: spec.max_price,
                levels: width,
                limit: self.max_levels_per_side,
            });
        }
        Ok(width as usize)
    }
}
