//! The time-stamp counter, for loop timing and latency measurement.

/// Current TSC value (`rte_rdtsc`).
#[inline]
pub fn rdtsc() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: RDTSC has no memory effects and is available on every x86_64 CPU.
        unsafe { core::arch::x86_64::_rdtsc() }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        // SAFETY: wrapper of a static inline function without arguments.
        unsafe { crate::ffi::rte_rdtsc() }
    }
}

/// TSC frequency in Hz as measured by EAL (valid after EAL init).
pub fn tsc_hz() -> u64 {
    // SAFETY: plain getter without arguments.
    unsafe { crate::ffi::rte_get_tsc_hz() }
}
