//! Before the pipeline takes a command: recover the engine from the
//! journal, create a new journal, or take both from a pipeline that handed
//! them over (`handover.rs`).

use super::config::{PipelineConfig, PipelineError};
use super::handover::Handover;
use journal::{self, JournalWriter, Recovered, WriterOptions};
use matching::engine::Engine;

/// The engine, the journal writer positioned after its last record, the
/// last sequence applied, and what recovery did (when there was a journal).
pub(crate) struct Started {
    pub engine: Engine,
    pub writer: JournalWriter,
    pub last_seq: u64,
    pub recovered: Option<Recovered>,
}

pub(crate) fn open_or_create(config: &PipelineConfig) -> Result<Started, PipelineError> {
    let options = WriterOptions {
        durability: config.durability,
        ..config.journal.clone()
    };
    let dir = &config.journal_dir;
    if journal::exists(dir) {
        let (engine, recovered) = journal::recover(dir, config.engine.clone())?;
        log_recovery(dir, &recovered);
        check_instruments(config, &engine)?;
        let (writer, _report) = JournalWriter::open(dir, options)?;
        // Recovery already repaired the tail and reported it; `open` found
        // the journal as recovery left it.
        let last_seq = recovered.last_seq;
        Ok(Started {
            engine,
            writer,
            last_seq,
            recovered: Some(recovered),
        })
    } else {
        let mut engine = Engine::new(config.engine.clone())?;
        for spec in &config.instruments {
            engine.add_instrument(*spec)?;
        }
        let writer = JournalWriter::create(dir, &config.instruments, options)?;
        Ok(Started {
            engine,
            writer,
            last_seq: 0,
            recovered: None,
        })
    }
}

/// The engine and writer a drained pipeline handed over, checked against
/// `config`: the same journal, and the same instruments if any are given.
pub(crate) fn from_handover(
    config: &PipelineConfig,
    handover: Handover,
) -> Result<Started, PipelineError> {
    let Handover {
        engine,
        writer,
        last_seq,
    } = handover;
    if writer.dir() != config.journal_dir {
        return Err(PipelineError::HandoverElsewhere {
            from: writer.dir().to_path_buf(),
            to: config.journal_dir.clone(),
        });
    }
    check_instruments(config, &engine)?;
    tracing::info!(
        journal = %config.journal_dir.display(),
        last_seq,
        "took over the running engine (nothing replayed)"
    );
    Ok(Started {
        engine,
        writer,
        last_seq,
        recovered: None,
    })
}

/// The instruments given must be the journal's (none given: any).
fn check_instruments(config: &PipelineConfig, engine: &Engine) -> Result<(), PipelineError> {
    let journal_instruments: Vec<_> = engine.instruments().copied().collect();
    let mut given = config.instruments.clone();
    given.sort_by_key(|s| s.symbol);
    if !given.is_empty() && given != journal_instruments {
        return Err(PipelineError::InstrumentsDiffer {
            dir: config.journal_dir.clone(),
        });
    }
    Ok(())
}

/// What recovery did, for the operator: one line, and one per thing it
/// noticed or repaired (a torn tail cut off, with its file and offset; a
/// snapshot passed over, with why).
fn log_recovery(dir: &std::path::Path, recovered: &Recovered) {
    tracing::info!(
        journal = %dir.display(),
        last_seq = recovered.last_seq,
        snapshot = ?recovered.snapshot.as_ref().map(|s| s.1),
        restored_orders = recovered.restored_orders,
        replayed = recovered.replayed,
        "recovered"
    );
    for warning in &recovered.warnings {
        tracing::warn!("recovery: {warning}");
    }
}
