//! Memory hints for the large lookup tables the data plane keeps in the Rust heap (flow
//! tables, FIB indices of a million entries): outside DPDK's own hugepage memory, these
//! are backed by 4 KiB pages unless the kernel is asked otherwise, and every random
//! lookup then also misses the TLB.

use std::mem::size_of;

/// Size of an x86-64 transparent huge page.
pub const HUGE_PAGE: usize = 2 << 20;

#[cfg(target_os = "linux")]
mod sys {
    use std::ffi::{c_int, c_void};

    /// `MADV_HUGEPAGE` from `<sys/mman.h>` (Linux).
    pub const MADV_HUGEPAGE: c_int = 14;

    extern "C" {
        pub fn madvise(addr: *mut c_void, len: usize, advice: c_int) -> c_int;
    }
}

/// Asks the kernel to back the spare (not yet initialised) capacity of `v` with
/// transparent huge pages (`madvise(MADV_HUGEPAGE)` over the whole 2 MiB pages it
/// covers), so that filling it afterwards faults in huge pages. Call it right after
/// `Vec::with_capacity`, before writing the elements. Returns whether any range was
/// advised: `false` for a capacity under a huge page, off Linux, or if the kernel refuses
/// (THP disabled: `/sys/kernel/mm/transparent_hugepage/enabled` = never). Only a hint:
/// the vector and its contents are unaffected either way.
pub fn advise_huge_pages<T>(v: &mut Vec<T>) -> bool {
    let spare = v.spare_capacity_mut();
    let start = spare.as_mut_ptr() as usize;
    let end = start.saturating_add(spare.len().saturating_mul(size_of::<T>()));
    let first = start.div_ceil(HUGE_PAGE).saturating_mul(HUGE_PAGE);
    let last = end / HUGE_PAGE * HUGE_PAGE;
    if last <= first {
        return false;
    }
    #[cfg(target_os = "linux")]
    {
        // SAFETY: [first, last) lies inside the vector's spare capacity: memory of its
        // allocation that we borrow mutably and that holds no initialised element yet.
        // MADV_HUGEPAGE only changes how the kernel backs those pages (and is refused
        // without effect where THP is off); it never changes their contents or mapping
        // rights, so no Rust value is affected.
        let ret = unsafe {
            sys::madvise(
                first as *mut std::ffi::c_void,
                last - first,
                sys::MADV_HUGEPAGE,
            )
        };
        ret == 0
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advice_leaves_the_vector_alone() {
        let mut small: Vec<u64> = Vec::with_capacity(16);
        assert!(!advise_huge_pages(&mut small));
        let n = 3 * HUGE_PAGE / size_of::<u64>();
        let mut big: Vec<u64> = Vec::with_capacity(n);
        // Whether the kernel accepts depends on its THP setting; either way nothing
        // changes for the vector.
        let _ = advise_huge_pages(&mut big);
        assert!(big.is_empty());
        big.resize(n, 7);
        assert!(big.iter().all(|&x| x == 7));
        let mut full = vec![1u8; 4 * HUGE_PAGE];
        assert!(!advise_huge_pages(&mut full), "no spare capacity");
        assert_eq!(full.len(), 4 * HUGE_PAGE);
    }
}
