//! Memory for the large lookup tables the data plane keeps outside DPDK's hugepage memory
//! (flow tables, FIB indices of a million entries): backed by 4 KiB pages unless the
//! kernel is asked otherwise (every random lookup then also misses the TLB), and, when
//! tables are replaced, a source of kernel work on the worker cores unless freed memory is
//! kept ([`HugeArray`], [`keep_freed_memory`]).

use std::mem::size_of;
use std::ptr::NonNull;

/// Size of an x86-64 transparent huge page.
pub const HUGE_PAGE: usize = 2 << 20;

#[cfg(target_os = "linux")]
mod sys {
    use std::ffi::{c_int, c_void};

    /// `MADV_HUGEPAGE` from `<sys/mman.h>` (Linux).
    pub const MADV_HUGEPAGE: c_int = 14;
    /// `PROT_READ` from `<sys/mman.h>`.
    pub const PROT_READ: c_int = 1;
    /// `PROT_WRITE` from `<sys/mman.h>`.
    pub const PROT_WRITE: c_int = 2;
    /// `MAP_PRIVATE` from `<sys/mman.h>`.
    pub const MAP_PRIVATE: c_int = 2;
    /// `MAP_ANONYMOUS` from `<sys/mman.h>` (Linux).
    pub const MAP_ANONYMOUS: c_int = 0x20;
    /// `MAP_FAILED` from `<sys/mman.h>`.
    pub const MAP_FAILED: *mut c_void = !0usize as *mut c_void;

    extern "C" {
        pub fn madvise(addr: *mut c_void, len: usize, advice: c_int) -> c_int;
        pub fn mmap(
            addr: *mut c_void,
            len: usize,
            prot: c_int,
            flags: c_int,
            fd: c_int,
            offset: i64,
        ) -> *mut c_void;
        pub fn munmap(addr: *mut c_void, len: usize) -> c_int;
        #[cfg(target_env = "gnu")]
        pub fn mallopt(param: c_int, value: c_int) -> c_int;
    }

    /// glibc's `M_TRIM_THRESHOLD` (`<malloc.h>`).
    #[cfg(target_env = "gnu")]
    pub const M_TRIM_THRESHOLD: c_int = -1;
    /// glibc's `M_MMAP_MAX` (`<malloc.h>`).
    #[cfg(target_env = "gnu")]
    pub const M_MMAP_MAX: c_int = -4;
    /// glibc's `M_ARENA_MAX` (`<malloc.h>`).
    #[cfg(target_env = "gnu")]
    pub const M_ARENA_MAX: c_int = -8;
}

/// A fixed-length array of `T` on a mapping of its own: 2 MiB-aligned and advised for
/// transparent huge pages before it is first touched (so it is backed by huge pages from
/// the start, not by 4 KiB pages that khugepaged collapses later, stopping whoever reads
/// them meanwhile). For the big arrays of tables that are rebuilt and replaced while
/// workers read them (LFIB indices, service hash slots).
///
/// Dropping one does not unmap it: the mapping goes to a small process-wide recycling pool
/// (at most [`RECYCLE_MAX_MAPPINGS`] mappings, [`RECYCLE_MAX_BYTES`] in all, the oldest
/// unmapped first when full) that the next [`HugeArray::filled`] of the same mapped size
/// takes, overwriting it on the allocating thread. Replacing a table then costs the kernel nothing: no munmap (whose TLB-shootdown
/// IPIs and RCU work interrupt the worker cores: see [`keep_freed_memory`]) and no page
/// faults. Arrays under one huge page, and any whose mapping fails, live in the heap.
pub struct HugeArray<T: Copy> {
    /// The first value, and how many: read by every lookup without looking at `storage`.
    ptr: NonNull<T>,
    len: usize,
    /// What owns the values (only drop and [`HugeArray::is_mapped`] look).
    storage: Storage<T>,
}

// SAFETY: a HugeArray owns its values like a Box<[T]> does (`ptr` points into its own
// `storage`, never shared with another HugeArray), so it can move to or be shared with
// another thread exactly when T can.
unsafe impl<T: Copy + Send> Send for HugeArray<T> {}
// SAFETY: as for Send; &HugeArray only gives out &[T].
unsafe impl<T: Copy + Sync> Sync for HugeArray<T> {}

enum Storage<T> {
    /// The values at the start of a mapping.
    Mapped(Mapping),
    /// The values in the heap (owned here, read through the array's pointer).
    Heap(#[allow(dead_code)] Box<[T]>),
}

/// Most mappings the recycling pool of [`HugeArray`] keeps.
pub const RECYCLE_MAX_MAPPINGS: usize = 16;
/// Most bytes the recycling pool of [`HugeArray`] keeps.
pub const RECYCLE_MAX_BYTES: usize = 1 << 30;

/// One anonymous private read-write mapping of `len` bytes (a multiple of
/// [`HUGE_PAGE`]) at `addr` (aligned to [`HUGE_PAGE`]).
struct Mapping {
    addr: NonNull<u8>,
    len: usize,
}

// SAFETY: a Mapping is exclusively owned memory, like a Box<[u8]>: nothing else refers to
// it, so moving it to another thread is sound.
unsafe impl Send for Mapping {}
// SAFETY: as for Send; through a shared HugeArray it is only read.
unsafe impl Sync for Mapping {}

/// Mappings of dropped [`HugeArray`]s, for the next ones. Taken only by the threads that
/// build and free tables (the control side), never by a worker's loop.
static RECYCLED: std::sync::Mutex<Vec<Mapping>> = std::sync::Mutex::new(Vec::new());

/// How many mappings the recycling pool holds now (for tests and reports).
pub fn recycled_mappings() -> usize {
    RECYCLED.lock().unwrap_or_else(|e| e.into_inner()).len()
}

impl Mapping {
    /// A recycled mapping of exactly `len` bytes, or a new one.
    fn take(len: usize) -> Option<Mapping> {
        let mut pool = RECYCLED.lock().unwrap_or_else(|e| e.into_inner());
        // The most recently released: the warmest, and the oldest age out of the pool.
        match pool.iter().rposition(|m| m.len == len) {
            Some(i) => Some(pool.remove(i)),
            None => {
                drop(pool);
                Mapping::map(len)
            }
        }
    }

    /// A fresh anonymous mapping of `len` bytes, aligned to [`HUGE_PAGE`].
    #[cfg(target_os = "linux")]
    fn map(len: usize) -> Option<Mapping> {
        // Over-map by one huge page to align the start, then give back the margins.
        let over = len.checked_add(HUGE_PAGE)?;
        // SAFETY: a new anonymous private mapping at an address of the kernel's choice
        // touches no existing memory; the result is checked before use.
        let raw = unsafe {
            sys::mmap(
                std::ptr::null_mut(),
                over,
                sys::PROT_READ | sys::PROT_WRITE,
                sys::MAP_PRIVATE | sys::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if raw == sys::MAP_FAILED {
            return None;
        }
        let start = raw as usize;
        let aligned = start.div_ceil(HUGE_PAGE) * HUGE_PAGE;
        let head = aligned - start;
        let tail = over - head - len;
        // SAFETY: [start, aligned) and [aligned + len, start + over) are the unused margins
        // of the mapping just made, referred to by nothing. MADV_HUGEPAGE on the rest only
        // changes how the kernel backs it (refused without effect where THP is off).
        unsafe {
            if head > 0 {
                sys::munmap(raw, head);
            }
            if tail > 0 {
                sys::munmap((aligned + len) as *mut std::ffi::c_void, tail);
            }
            // Before the first touch, so the first write faults in a huge page.
            sys::madvise(aligned as *mut std::ffi::c_void, len, sys::MADV_HUGEPAGE);
        }
        Some(Mapping {
            addr: NonNull::new(aligned as *mut u8)?,
            len,
        })
    }

    #[cfg(not(target_os = "linux"))]
    fn map(_len: usize) -> Option<Mapping> {
        None
    }

    /// Into the recycling pool, the pool's oldest mappings unmapped as far as needed to
    /// stay within its bounds (so that it follows the sizes tables have now rather than
    /// keeping those of tables long gone); a mapping larger than the whole pool is
    /// unmapped at once.
    fn release(self) {
        if self.len > RECYCLE_MAX_BYTES {
            self.unmap();
            return;
        }
        let mut pool = RECYCLED.lock().unwrap_or_else(|e| e.into_inner());
        let mut held: usize = pool.iter().map(|m| m.len).sum();
        let mut stale = Vec::new();
        while !pool.is_empty()
            && (pool.len() >= RECYCLE_MAX_MAPPINGS || held + self.len > RECYCLE_MAX_BYTES)
        {
            let old = pool.remove(0);
            held -= old.len;
            stale.push(old);
        }
        pool.push(self);
        drop(pool);
        stale.into_iter().for_each(Mapping::unmap);
    }

    /// Gives the mapping back to the kernel.
    fn unmap(self) {
        #[cfg(target_os = "linux")]
        // SAFETY: the mapping is ours and nothing refers to it any more (its HugeArray was
        // dropped, or it left the pool); `self` is consumed.
        unsafe {
            sys::munmap(self.addr.as_ptr().cast(), self.len);
        }
    }
}

impl<T: Copy> HugeArray<T> {
    /// `len` copies of `value`: on a huge-page mapping (recycled or new) from one huge
    /// page of data up, in the heap below that or if mapping fails.
    pub fn filled(len: usize, value: T) -> Self {
        let bytes = len.saturating_mul(size_of::<T>());
        if bytes >= HUGE_PAGE && std::mem::align_of::<T>() <= HUGE_PAGE {
            let map_len = bytes.div_ceil(HUGE_PAGE).saturating_mul(HUGE_PAGE);
            if let Some(m) = Mapping::take(map_len) {
                let base = m.addr.as_ptr().cast::<T>();
                for i in 0..len {
                    // SAFETY: the mapping is ours (new, or taken out of the pool), read-
                    // write, aligned for T (huge-page aligned, align_of::<T>() checked)
                    // and at least len * size_of::<T>() bytes; T is Copy, so overwriting
                    // whatever bytes were there drops nothing.
                    unsafe { base.add(i).write(value) };
                }
                return HugeArray {
                    ptr: m.addr.cast::<T>(),
                    len,
                    storage: Storage::Mapped(m),
                };
            }
        }
        Self::from_heap(vec![value; len].into_boxed_slice())
    }

    /// Values in the heap.
    fn from_heap(mut values: Box<[T]>) -> Self {
        // The Box's pointer stays valid when the Box moves into `storage` (its heap block
        // does not move), and is non-null and aligned even when empty.
        let ptr = NonNull::from(&mut values[..]).cast::<T>();
        HugeArray {
            ptr,
            len: values.len(),
            storage: Storage::Heap(values),
        }
    }

    /// Whether the values live on a huge-page mapping of their own (not in the heap).
    pub fn is_mapped(&self) -> bool {
        matches!(self.storage, Storage::Mapped(_))
    }
}

impl<T: Copy> std::ops::Deref for HugeArray<T> {
    type Target = [T];
    #[inline]
    fn deref(&self) -> &[T] {
        // SAFETY: ptr and len describe the values `storage` owns (a mapping of ours,
        // aligned for T, holding len values written by `filled`, or a Box<[T]>), which
        // live as long as self and change only through &mut self.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl<T: Copy> std::ops::DerefMut for HugeArray<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as in Deref; &mut self makes this the only reference.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl<T: Copy> Drop for HugeArray<T> {
    fn drop(&mut self) {
        if let Storage::Mapped(m) =
            std::mem::replace(&mut self.storage, Storage::Heap(Box::new([])))
        {
            m.release();
        }
    }
}

impl<T: Copy> Clone for HugeArray<T> {
    fn clone(&self) -> Self {
        match self.first() {
            Some(&first) => {
                let mut copy = HugeArray::filled(self.len(), first);
                copy.copy_from_slice(self);
                copy
            }
            None => Self::from_heap(Box::new([])),
        }
    }
}

impl<T: Copy> std::fmt::Debug for HugeArray<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HugeArray")
            .field("len", &self.len())
            .field("mapped", &self.is_mapped())
            .finish()
    }
}

/// Makes the C allocator keep the memory the process frees instead of giving it back to
/// the kernel (glibc: no mmap for large blocks, no trimming, one arena). Returns whether it
/// took effect (`false` off glibc). Call it first thing in `main`, before any thread.
///
/// Why a forwarder wants this: every munmap or `MADV_DONTNEED` the control side does when
/// it frees a replaced table (or a builder's scratch) makes the kernel flush the TLB of
/// every core the process runs on, the worker cores included (a remote-shootdown IPI), and
/// queues RCU work that preempts them; measured on this project's table-replacement
/// benchmark, those made the first loop on a new table take up to ~100 us instead of ~6 us.
/// Freed memory stays in the process and serves the next table build instead.
pub fn keep_freed_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes glibc's allocation policy parameters; it is called
        // before the program's threads exist (the documented contract), and every value is
        // one glibc accepts for its parameter.
        unsafe {
            sys::mallopt(sys::M_ARENA_MAX, 1) == 1
                && sys::mallopt(sys::M_MMAP_MAX, 0) == 1
                && sys::mallopt(sys::M_TRIM_THRESHOLD, std::ffi::c_int::MAX) == 1
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_arrays_hold_their_values_and_recycle_their_mappings() {
        // A size no other test uses, so the pool's matching is this test's alone.
        let len = (3 * HUGE_PAGE + 4096) / size_of::<u64>();
        let mut a = HugeArray::filled(len, 7u64);
        assert!(a.is_mapped());
        assert_eq!(a.len(), len);
        assert!(a.iter().all(|&x| x == 7));
        assert_eq!(a.as_ptr() as usize % HUGE_PAGE, 0, "huge-page aligned");
        a[len - 1] = 9;
        a[0] = 3;
        let b = a.clone();
        assert_eq!(&b[..], &a[..]);
        assert_ne!(b.as_ptr(), a.as_ptr());
        let at = a.as_ptr() as usize;
        let before = recycled_mappings();
        drop(a);
        assert_eq!(recycled_mappings(), before + 1, "kept, not unmapped");
        // The next array of the same mapped size takes that mapping, dirty as it is, and
        // overwrites every value.
        let c = HugeArray::filled(len - 1, 0u64);
        assert_eq!(c.as_ptr() as usize, at, "the recycled mapping");
        assert_eq!(recycled_mappings(), before);
        assert!(c.iter().all(|&x| x == 0));
        drop((b, c));
        // Small arrays stay in the heap; empty ones are fine.
        let small = HugeArray::filled(100, 1u32);
        assert!(!small.is_mapped());
        assert_eq!(small.iter().sum::<u32>(), 100);
        let empty = HugeArray::<u32>::filled(0, 1).clone();
        assert!(empty.is_empty());

        // The pool is bounded (in the same test: the pool is process-wide).
        let len = (HUGE_PAGE + 8192) / size_of::<u32>();
        let arrays: Vec<HugeArray<u32>> = (0..RECYCLE_MAX_MAPPINGS + 4)
            .map(|i| HugeArray::filled(len, i as u32))
            .collect();
        assert!(arrays
            .iter()
            .enumerate()
            .all(|(i, a)| a[len / 2] == i as u32));
        let newest = arrays.last().map(|a| a.as_ptr() as usize);
        drop(arrays);
        assert_eq!(recycled_mappings(), RECYCLE_MAX_MAPPINGS, "full, not over");
        // The pool kept the newest mappings: the last one dropped is there to take.
        let again = HugeArray::filled(len, 1u32);
        assert_eq!(Some(again.as_ptr() as usize), newest);
    }
}
