//! Operator controls: an operator session's `Halt` and `KillSwitch` become
//! control commands, sequenced and journaled like orders, and are answered
//! with a `ControlAck` once their event is released (durable).
//!
//! A halt is one `Command::Halt`. A kill switch is one `Command::Block`
//! followed, in the same batch, by a `Cancel` for each live order of the
//! account: the engine refuses the account's orders from the block on, and
//! the journal holds each cancel, so `journal export | replay` makes the
//! same ones (docs/matching.md, "Controls and pre-trade risk"). Which orders
//! are live is the gateway's view (`Accounts`), the same one
//! cancel-on-disconnect uses.
//!
//! Control path, not hot path: an operator sends a handful of these a day,
//! so the pending answers live in a plain `HashMap`.

use std::collections::HashMap;

use super::registry::SessionRef;
use crate::protocol::{ControlAck, ControlAction, ControlStatus};

/// An operator's control on its way through the pipeline.
#[derive(Debug, Clone, Copy)]
pub struct PendingControl {
    /// The operator session that asked.
    pub me: SessionRef,
    /// The request frame's sequence number.
    pub ref_seq: u64,
    pub action: ControlAction,
    pub target: u32,
    /// Cancels a kill sent after its block.
    pub cancelled: u32,
}

/// Controls sequenced and not yet answered, by command sequence.
#[derive(Debug, Default)]
pub struct Controls {
    pending: HashMap<u64, PendingControl>,
    /// Controls applied since start, by action (for metrics).
    pub applied: [u64; 4],
}

impl Controls {
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// The control sequenced as `seq`.
    pub fn insert(&mut self, seq: u64, control: PendingControl) {
        self.pending.insert(seq, control);
    }

    /// The answer to the control sequenced as `seq`, if an operator asked
    /// for it: who to send it to, and the `ControlAck`.
    pub fn answer(&mut self, seq: u64, status: ControlStatus) -> Option<(SessionRef, ControlAck)> {
        let p = self.pending.remove(&seq)?;
        if status == ControlStatus::Applied {
            self.applied[p.action as usize] += 1;
        }
        let applied = status == ControlStatus::Applied;
        Some((
            p.me,
            ControlAck {
                ref_seq: p.ref_seq,
                action: p.action,
                target: p.target,
                status,
                command_seq: if applied { seq } else { 0 },
                cancelled: if applied { p.cancelled } else { 0 },
            },
        ))
    }
}
