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
//! ```

use std::path::Path;

use matching::InstrumentSpec;

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
}

/// Reads an instruments file (see the module doc for the format).
pub fn load_instruments(path: &Path) -> Result<Vec<InstrumentSpec>, InstrumentsError> {
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
pub fn parse_instruments(text: &str) -> Result<Vec<InstrumentSpec>, String> {
    let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
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
    Ok(specs)
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
        let specs = parse_instruments(&text).unwrap();
        assert_eq!(specs, default_instruments());
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
