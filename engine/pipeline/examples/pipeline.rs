//! The pipeline in a few lines: start it, publish commands, read the
//! released events, shut it down. `cargo run --release -p pipeline --example pipeline`
//!
//! Run it twice: the second start recovers the books from the journal
//! (here, from the snapshot the first run wrote on shutdown).

use std::sync::mpsc;

use journal::Durability;
use matching::{Command, InstrumentSpec, Side, TimeInForce};
use pipeline::{self, Output, PipelineConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join("engine-example-journal");
    let instrument = InstrumentSpec {
        symbol: 1,
        min_price: 1,
        max_price: 10_000,
        max_qty: 1_000,
    };
    let mut config = PipelineConfig::new(&dir, vec![instrument]);
    config.durability = Durability::Fsync;

    // Released events arrive on the output thread; hand them to this one.
    let (tx, rx) = mpsc::channel::<Output>();
    let mut pipeline = pipeline::start(config, move |out: &Output| {
        let _ = tx.send(*out);
    })?;
    println!(
        "journal {}; {}",
        dir.display(),
        pipeline.topology().describe()
    );
    if let Some(recovered) = pipeline.recovered() {
        println!(
            "recovered up to sequence {} ({} records replayed)",
            recovered.last_seq, recovered.replayed
        );
    }

    let first = pipeline.publisher().next_seq() * 10;
    let orders = [
        Command::New {
            symbol: 1,
            id: first,
            account: 7,
            client_order_id: 0,
            side: Side::Sell,
            price: 101,
            qty: 5,
            tif: TimeInForce::Gtc,
        },
        Command::New {
            symbol: 1,
            id: first + 1,
            account: 8,
            client_order_id: 0,
            side: Side::Sell,
            price: 101,
            qty: 5,
            tif: TimeInForce::Gtc,
        },
        Command::New {
            symbol: 1,
            id: first + 2,
            account: 9,
            client_order_id: 0,
            side: Side::Buy,
            price: 102,
            qty: 7,
            tif: TimeInForce::Ioc,
        },
    ];
    let last = pipeline.publish_batch(0, &orders)?;
    pipeline.publish(
        0,
        &Command::Cancel {
            symbol: 1,
            id: first + 1,
        },
    )?;

    let report = pipeline.shutdown()?;
    for out in rx.try_iter() {
        println!("seq {:>3}: {:?}", out.seq, out.event);
    }
    println!(
        "published up to {last} (+1 cancel); shut down cleanly at {}",
        report.last_seq
    );
    Ok(())
}
