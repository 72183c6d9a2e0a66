//! `journal verify DIR`: a report of every segment and snapshot.

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use journal::{Inspection, SnapshotStatus, inspect};

pub fn run(dir: &Path) -> Result<ExitCode, String> {
    let inspection = inspect(dir).map_err(|e| e.to_string())?;
    let mut out = io::stdout().lock();
    match report(&mut out, &inspection).and_then(|()| out.flush()) {
        Err(e) if crate::is_broken_pipe(&e) => {}
        Err(e) => return Err(format!("writing to stdout: {e}")),
        Ok(()) => {}
    }
    Ok(if inspection.recovery_refuses() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

fn report(out: &mut impl Write, inspection: &Inspection) -> io::Result<()> {
    match &inspection.instruments {
        Ok(specs) => writeln!(out, "instruments: {} defined, ok", specs.len())?,
        Err(e) => writeln!(out, "instruments: DAMAGED: {e}")?,
    }
    let mut repairs = 0;
    let mut refusals = usize::from(inspection.instruments.is_err());
    for check in &inspection.segments {
        let r = &check.report;
        let range = match r.last_seq {
            Some(last) => format!("seq {}..={last}", r.first_seq),
            None => format!("seq {} (empty)", r.first_seq),
        };
        write!(
            out,
            "{}: {} bytes, {} records, {range}",
            name(&r.path),
            r.file_bytes,
            r.records
        )?;
        if r.damage.is_none() && r.file_bytes > r.valid_bytes {
            // A live (or crashed) writer's segment, mapped at full size.
            write!(out, ", {} bytes free", r.file_bytes - r.valid_bytes)?;
        }
        if let Some(gap) = &check.gap {
            refusals += 1;
            write!(out, ", DAMAGED: {gap}")?;
        }
        match &r.damage {
            None => {}
            Some(d) if d.is_repairable() => {
                repairs += 1;
                write!(out, ", {d}; recovery repairs it")?;
            }
            Some(d) => {
                refusals += 1;
                write!(out, ", DAMAGED: {d}")?;
            }
        }
        if check.gap.is_none() && r.damage.is_none() {
            write!(out, ", ok")?;
        }
        writeln!(out)?;
    }
    if inspection.segments.is_empty() {
        writeln!(out, "no segments: the journal holds no records")?;
    }
    for snap in &inspection.snapshots {
        write!(out, "{}: after seq {}, ", name(&snap.path), snap.seq)?;
        match &snap.status {
            SnapshotStatus::Usable { orders } => writeln!(out, "{orders} resting orders, ok")?,
            SnapshotStatus::Damaged(why) => writeln!(out, "DAMAGED: {why}; recovery skips it")?,
            SnapshotStatus::Unusable(why) => writeln!(out, "not usable: {why}; recovery skips it")?,
        }
    }
    if let Some(first) = inspection.segments.first().map(|c| c.report.first_seq)
        && first > 1
        && inspection.missing_start.is_none()
    {
        writeln!(
            out,
            "retained history begins at sequence {first}: earlier segments were retired, \
             and a snapshot covers what came before"
        )?;
    }
    if let Some((needed, first)) = inspection.missing_start {
        refusals += 1;
        writeln!(
            out,
            "DAMAGED: the journal starts at sequence {first}, and no usable snapshot covers \
             {needed}..{first}"
        )?;
    }
    if inspection.recovery_refuses() {
        writeln!(
            out,
            "verdict: DAMAGED, {refusals} problem(s) recovery would refuse"
        )
    } else if repairs > 0 {
        writeln!(
            out,
            "verdict: recoverable, last sequence {}; recovery repairs {repairs} torn tail(s)",
            inspection.last_seq
        )
    } else {
        writeln!(out, "verdict: ok, last sequence {}", inspection.last_seq)
    }
}
