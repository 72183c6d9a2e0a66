//! The instrument set: from a small TOML file, or the built-in default that
//! loadgen also uses, so `gateway` and `loadgen` work together unconfigured.
//!
//! ```toml
//! # instruments.toml
//! [[instrument]]
//! symbol = 1
//! min_price = 1
//! max_price = 200000
//! max_qty = 1000000
//! # Optional: a price collar (docs/matching.md, "Collars"), sequenced at
//! # start. Its reference price until the first trade, and its half-width
//! # in ticks or in basis points of the reference (one of the two).
//! collar_reference = 100000
//! collar_bps = 500
//! ```

use std::path::Path;

use matching::{Collar, CollarWidth, InstrumentSpec};

/// What an instruments file defines: the instruments, and the collars of
/// those that have one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstrumentSet {
    pub specs: Vec<InstrumentSpec>,
    pub collars: Vec<(u32, Collar)>,
}

/// Instruments of the default set: symbols 1 to 8.
pub const DEFAULT_COUNT: u32 = 8;
/// Their band (ticks) and where loadgen centres its prices.
pub const DEFAULT_MIN_PRICE: i64 = 1;
pub const DEFAULT_MAX_PRICE: i64 = 200_000;
pub const DEFAULT_MID_PRICE: i64 = 100_000;
pub const DEFAULT_MAX_QTY: u64 = 1_000_000;

/// The default set: 8 instruments, symbols 1..=8, each with the band
/// `[1, 200000]` and `max_qty` 1,000,000.
pub fn default_instruments() -> Vec<InstrumentSpec> {
    (1..=DEFAULT_COUNT)
        .map(|symbol| InstrumentSpec {
            symbol,
            min_price: DEFAULT_MIN_PRICE,
            max_price: DEFAULT_MAX_PRICE,
            max_qty: DEFAULT_MAX_QTY,
        })
        .collect()
}

/// Why an instruments file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum InstrumentsError {
    #[error("cannot read instruments file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("instruments file {path} is not valid: {message}")]
    Invalid { path: String, message: String },
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    instrument: Vec<Entry>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    symbol: u32,
    min_price: i64,
    max_price: i64,
    max_qty: u64,
    collar_reference: Option<i64>,
    collar_ticks: Option<u64>,
    collar_bps: Option<u64>,
}

impl Entry {
    /// The entry's collar, if it has one, or what is wrong with it.
    fn collar(&self) -> Result<Option<Collar>, String> {
        let width = match (self.collar_ticks, self.collar_bps) {
            (None, None) => None,
            (Some(t), None) => Some(CollarWidth::Ticks(t)),
            (None, Some(b)) => Some(CollarWidth::Bps(b)),
            (Some(_), Some(_)) => {
                return Err(format!(
                    "instrument {}: give collar_ticks or collar_bps, not both",
                    self.symbol
                ));
            }
        };
        match (self.collar_reference, width) {
            (None, None) => Ok(None),
            (Some(reference), Some(width)) => Ok(Some(Collar { reference, width })),
            _ => Err(format!(
                "instrument {}: a collar needs collar_reference and one of collar_ticks or collar_bps",
                self.symbol
            )),
        }
    }
}

/// Reads an instruments file (see the module doc for the format).
pub fn load_instruments(path: &Path) -> Result<InstrumentSet, InstrumentsError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| InstrumentsError::Read {
        path: shown.clone(),
        source,
    })?;
    parse_instruments(&text).map_err(|message| InstrumentsError::Invalid {
        path: shown,
        message,
    })
}

/// Parses the TOML text of an instruments file.
pub fn parse_instruments(text: &str) -> Result<InstrumentSet, String> {
    let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut collars = Vec::new();
    for e in &file.instrument {
        if let Some(collar) = e.collar()? {
            collars.push((e.symbol, collar));
        }
    }
    let mut specs: Vec<InstrumentSpec> = file
        .instrument
        .into_iter()
        .map(|e| InstrumentSpec {
            symbol: e.symbol,
            min_price: e.min_price,
            max_price: e.max_price,
            max_qty: e.max_qty,
        })
        .collect();
    specs.sort_by_key(|s| s.symbol);
    if let Some(pair) = specs.windows(2).find(|w| w[0].symbol == w[1].symbol) {
        return Err(format!("symbol {} is defined twice", pair[0].symbol));
    }
    if specs.is_empty() {
        return Err("no [[instrument]] entries".to_string());
    }
    Ok(InstrumentSet { specs, collars })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_example_and_refuses_duplicates() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/instruments.example.toml"
        ))
        .unwrap();
        let set = parse_instruments(&text).unwrap();
        assert_eq!(set.specs, default_instruments());
        assert!(set.collars.is_empty());
        let collared = "[[instrument]]\nsymbol = 1\nmin_price = 1\nmax_price = 2\nmax_qty = 3\n\
                        collar_reference = 2\ncollar_bps = 50\n";
        assert_eq!(
            parse_instruments(collared).unwrap().collars,
            [(
                1,
                Collar {
                    reference: 2,
                    width: CollarWidth::Bps(50)
                }
            )]
        );
        assert!(
            parse_instruments(&collared.replace("collar_bps", "collar_ticks = 1\ncollar_bps"))
                .unwrap_err()
                .contains("not both")
        );
        assert!(
            parse_instruments(&collared.replace("collar_reference = 2\n", ""))
                .unwrap_err()
                .contains("needs collar_reference")
        );
        let twice =
            "[[instrument]]\nsymbol = 1\nmin_price = 1\nmax_price = 2\nmax_qty = 3\n".repeat(2);
        assert_eq!(
            parse_instruments(&twice).unwrap_err(),
            "symbol 1 is defined twice"
        );
        assert!(
            parse_instruments("[[instrument]]\nsymbol = 1\n")
                .unwrap_err()
                .contains("missing field")
        );
    }
}
