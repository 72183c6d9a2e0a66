//! Per-session sequence numbers, one counter per direction.
//!
//! TCP neither loses nor reorders bytes, so on a healthy session the numbers
//! simply count up from 1. They exist to catch the cases where the code on
//! either end is wrong: a client that skipped or resent a message, a gateway
//! that dropped an outbound message on the floor. A gap is reported once, with
//! what was expected and what came, and the count goes on from what came; a
//! duplicate (a number already seen) is reported and does not move the count.

/// The first sequence number of each direction of a session.
pub const FIRST_SEQ: u64 = 1;

/// The outcome of checking one received sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeqCheck {
    /// The number that was expected.
    Ok,
    /// The number skipped ahead: `got - expected` messages are missing.
    Gap {
        /// The number that was expected.
        expected: u64,
        /// The number that came.
        got: u64,
    },
    /// The number was already used (or is 0, which is never used).
    Duplicate {
        /// The number that was expected.
        expected: u64,
        /// The number that came.
        got: u64,
    },
}

/// One direction's sequence counter: checks numbers as they arrive, or hands
/// them out as messages are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SeqTracker {
    /// The next number expected (receiving) or handed out (sending).
    next: u64,
}

impl Default for SeqTracker {
    fn default() -> Self {
        Self::new()
    }
}

impl SeqTracker {
    /// A counter at the start of a session: the next number is [`FIRST_SEQ`].
    pub const fn new() -> Self {
        Self { next: FIRST_SEQ }
    }

    /// The next number expected or handed out.
    pub const fn expected(&self) -> u64 {
        self.next
    }

    /// Checks a received number. `Ok` and `Gap` move the counter to `got + 1`
    /// (a gap is reported once, not for every message after it); `Duplicate`
    /// leaves it where it was.
    pub fn check(&mut self, got: u64) -> SeqCheck {
        let expected = self.next;
        if got == expected {
            self.next = got.saturating_add(1);
            SeqCheck::Ok
        } else if got > expected {
            self.next = got.saturating_add(1);
            SeqCheck::Gap { expected, got }
        } else {
            SeqCheck::Duplicate { expected, got }
        }
    }

    /// Hands out the number for the next message sent, and counts it.
    pub fn next_outbound(&mut self) -> u64 {
        let seq = self.next;
        self.next = seq.saturating_add(1);
        seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_numbers_are_ok() {
        let mut t = SeqTracker::new();
        for seq in 1..=5 {
            assert_eq!(t.check(seq), SeqCheck::Ok);
        }
        assert_eq!(t.expected(), 6);
    }

    #[test]
    fn a_gap_is_reported_once_then_the_count_goes_on() {
        let mut t = SeqTracker::new();
        assert_eq!(t.check(1), SeqCheck::Ok);
        assert_eq!(
            t.check(4),
            SeqCheck::Gap {
                expected: 2,
                got: 4
            }
        );
        assert_eq!(t.check(5), SeqCheck::Ok);
    }

    #[test]
    fn duplicates_do_not_move_the_count() {
        let mut t = SeqTracker::new();
        assert_eq!(t.check(1), SeqCheck::Ok);
        assert_eq!(t.check(2), SeqCheck::Ok);
        assert_eq!(
            t.check(2),
            SeqCheck::Duplicate {
                expected: 3,
                got: 2
            }
        );
        assert_eq!(
            t.check(0),
            SeqCheck::Duplicate {
                expected: 3,
                got: 0
            }
        );
        assert_eq!(t.check(3), SeqCheck::Ok);
    }

    #[test]
    fn outbound_numbers_count_from_one() {
        let mut t = SeqTracker::new();
        assert_eq!(t.next_outbound(), 1);
        assert_eq!(t.next_outbound(), 2);
        assert_eq!(t.expected(), 3);
    }

    #[test]
    fn the_top_of_the_range_does_not_overflow() {
        let mut t = SeqTracker::new();
        assert_eq!(
            t.check(u64::MAX),
            SeqCheck::Gap {
                expected: 1,
                got: u64::MAX
            }
        );
        assert_eq!(t.check(u64::MAX), SeqCheck::Ok);
        assert_eq!(t.next_outbound(), u64::MAX);
    }
}
