//! The CRC32C of one journal record, sized for records.
//!
//! The `crc32c` crate is built for buffers of kilobytes: it aligns the
//! start byte by byte, runs three interleaved streams with combining
//! tables, then finishes the tail byte by byte. On a record of 40 to 60
//! bytes that general path costs more instructions than the journal
//! stage's whole encode, and it runs once per command on the hot path and
//! once per record in recovery. Here the record is taken 8 bytes at a time
//! with the CPU's `crc32` instruction (unaligned loads cost nothing extra
//! on x86-64), and the last 0 to 7 bytes in at most three steps (4, 2, 1):
//! a fraction of the general path's instructions (the callgrind count is
//! in docs/performance.md, section "Pipeline command→event without
//! load"). The value is the same CRC32C (the tests compare it with the
//! crate's), and where the instruction is missing (not x86-64, or a CPU
//! without SSE4.2) the crate computes it.

/// The CRC32C (Castagnoli) of `bytes`, as `crc32c::crc32c` computes it.
#[inline]
pub fn crc32c(bytes: &[u8]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("sse4.2") {
        // SAFETY: `crc32c_sse42` needs SSE4.2, which the CPU was just
        // checked to have (the check reads a cached flag).
        return unsafe { crc32c_sse42(bytes) };
    }
    crc32c::crc32c(bytes)
}

/// `crc32c` with the SSE4.2 `crc32` instruction.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse4.2")]
fn crc32c_sse42(bytes: &[u8]) -> u32 {
    use std::arch::x86_64::{_mm_crc32_u8, _mm_crc32_u16, _mm_crc32_u32, _mm_crc32_u64};
    let (words, tail) = bytes.as_chunks::<8>();
    let mut crc = u64::from(u32::MAX);
    for word in words {
        crc = _mm_crc32_u64(crc, u64::from_le_bytes(*word));
    }
    // The instruction keeps the CRC in the low 32 bits. The 0 to 7 bytes
    // left: 4, then 2, then 1 at a time, at most three steps.
    let mut crc = crc as u32;
    let mut tail = tail;
    if let Some((four, rest)) = tail.split_first_chunk::<4>() {
        crc = _mm_crc32_u32(crc, u32::from_le_bytes(*four));
        tail = rest;
    }
    if let Some((two, rest)) = tail.split_first_chunk::<2>() {
        crc = _mm_crc32_u16(crc, u16::from_le_bytes(*two));
        tail = rest;
    }
    if let Some(&byte) = tail.first() {
        crc = _mm_crc32_u8(crc, byte);
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_values() {
        assert_eq!(crc32c(b""), 0);
        assert_eq!(crc32c(b"Hello world!"), 0x7B98_E751);
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    }

    proptest! {
        /// Every length around the 8-byte steps, at every alignment.
        #[test]
        fn agrees_with_the_crate(bytes in prop::collection::vec(any::<u8>(), 0..200), skip in 0usize..8) {
            let bytes = bytes.get(skip..).unwrap_or(&[]);
            prop_assert_eq!(crc32c(bytes), crc32c::crc32c(bytes));
        }
    }
}
