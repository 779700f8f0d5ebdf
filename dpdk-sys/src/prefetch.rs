//! Cache prefetch hints (DPDK's `rte_prefetch0`), safe to call on any reference.
//!
//! A prefetch never faults and has no architectural effect: it only asks the CPU to start
//! pulling a cache line in, so that a load a few packets later does not stall. DPDK's
//! `l3fwd` prefetches packet data and table entries this way, a few packets ahead of the
//! one being processed.

/// Hints the CPU to bring the cache line holding the start of `*r` into every cache level
/// (`prefetcht0`), for reading. A no-op on targets without a prefetch instruction.
#[inline(always)]
pub fn prefetch_read<T>(r: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `_mm_prefetch` is a hint: it never faults, reads nothing architecturally and
    // writes nothing; the address comes from a live reference anyway. SSE is part of the
    // x86_64 baseline, so the instruction always exists.
    unsafe {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>((r as *const T).cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = r;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefetch_is_harmless() {
        let table = vec![7u32; 1024];
        for e in &table {
            prefetch_read(e);
        }
        prefetch_read(&());
        prefetch_read(&table);
        assert!(table.iter().all(|&v| v == 7));
    }
}
