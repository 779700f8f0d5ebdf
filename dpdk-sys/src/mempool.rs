//! Packet-buffer pools (`rte_pktmbuf_pool_create`).

use std::ffi::CString;
use std::ptr::NonNull;

use crate::error::{Errno, Error, Result};
use crate::mbuf::{Mbuf, PktBurst};

/// Default data room: 2048 bytes of packet plus the standard headroom.
pub const DEFAULT_DATA_ROOM: u16 = 2048 + 128;

/// A pool of packet mbufs. Freed when dropped (every mbuf must be back by then; keep ports
/// that use the pool alive no longer than the pool).
#[derive(Debug)]
pub struct PktMempool {
    ptr: NonNull<crate::ffi::rte_mempool>,
    name: String,
}

// SAFETY: DPDK mempools are multi-producer/multi-consumer safe; the per-lcore caches are
// indexed by the calling lcore id, never shared.
unsafe impl Send for PktMempool {}
// SAFETY: as above: all operations used through &self are thread-safe in DPDK.
unsafe impl Sync for PktMempool {}

impl PktMempool {
    /// Creates a pool of `n` mbufs with a per-lcore cache of `cache` and `data_room` bytes
    /// of buffer each, on NUMA socket `socket` (-1: any).
    pub fn create(name: &str, n: u32, cache: u32, data_room: u16, socket: i32) -> Result<Self> {
        let cname = CString::new(name).map_err(|_| Error::Nul(name.to_string()))?;
        // SAFETY: cname is a valid C string; the other arguments are plain integers.
        let p = unsafe {
            crate::ffi::rte_pktmbuf_pool_create(cname.as_ptr(), n, cache, 0, data_room, socket)
        };
        match NonNull::new(p) {
            Some(ptr) => Ok(PktMempool {
                ptr,
                name: name.to_string(),
            }),
            None => Err(Error::MempoolCreate {
                name: name.to_string(),
                n,
                errno: Errno::last(),
            }),
        }
    }

    /// Raw pointer, for the port layer's queue setup.
    pub(crate) fn as_ptr(&self) -> *mut crate::ffi::rte_mempool {
        self.ptr.as_ptr()
    }

    /// Pool name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Allocates one mbuf (reset, empty), or `None` if the pool is exhausted.
    pub fn alloc(&self) -> Option<Mbuf> {
        // SAFETY: the pool pointer is valid for the life of self.
        let m = unsafe { crate::ffi::rte_pktmbuf_alloc(self.ptr.as_ptr()) };
        // SAFETY: a non-null result is a freshly allocated mbuf we now own.
        NonNull::new(m).map(|m| unsafe { Mbuf::from_raw(m) })
    }

    /// Allocates `n` mbufs into the free slots of `burst` with one bulk call (all or
    /// nothing); returns how many were added (0 if the pool cannot supply them all, or if
    /// `burst` has fewer than `n` free slots).
    pub fn alloc_bulk(&self, burst: &mut PktBurst, n: usize) -> usize {
        let (ptr, spare) = burst.spare_raw();
        if n == 0 || n > spare {
            return 0;
        }
        // SAFETY: `ptr` has room for `n` mbuf pointers (n <= spare); the pool is valid for
        // the life of self. rte_pktmbuf_alloc_bulk fills all n slots or none.
        let ret = unsafe { crate::ffi::rte_pktmbuf_alloc_bulk(self.ptr.as_ptr(), ptr, n as u32) };
        if ret != 0 {
            return 0;
        }
        // SAFETY: the n slots now hold freshly allocated mbufs we own.
        unsafe { burst.commit(n) };
        n
    }

    /// Allocates `n` mbufs into the free slots of `burst` (all or nothing, like
    /// [`PktMempool::alloc_bulk`]) and hands each to `init` right after resetting it, in
    /// one pass: a traffic generator writes every header while its cache line is still
    /// hot, instead of DPDK resetting the whole burst first and the caller touching each
    /// mbuf again (what `dpdk-testpmd --forward-mode=txonly` does with
    /// `rte_mempool_get_bulk`). `init` gets the index within the new mbufs and the mbuf,
    /// reset and empty as [`PktMempool::alloc`] returns it. Returns how many were added.
    #[inline]
    pub fn alloc_bulk_with<F: FnMut(usize, &mut Mbuf)>(
        &self,
        burst: &mut PktBurst,
        n: usize,
        mut init: F,
    ) -> usize {
        let (ptr, spare) = burst.spare_raw();
        if n == 0 || n > spare {
            return 0;
        }
        // SAFETY: `ptr` has room for `n` object pointers (n <= spare); the pool is valid
        // for the life of self. rte_mempool_get_bulk fills all n slots or none.
        let ret =
            unsafe { crate::ffi::rte_mempool_get_bulk(self.ptr.as_ptr(), ptr.cast(), n as u32) };
        if ret != 0 {
            return 0;
        }
        // SAFETY: the n slots hold mbufs taken from a pktmbuf pool, which are in DPDK's
        // "raw" state (refcnt 1, one segment, no next: rte_mbuf_raw_alloc's contract), so
        // they are valid owned mbufs; each is reset below before `init` sees it.
        unsafe { burst.commit(n) };
        let len = burst.len();
        for (i, m) in burst.as_mut_slice()[len - n..].iter_mut().enumerate() {
            m.reset();
            init(i, m);
        }
        n
    }

    /// Number of mbufs currently available in the pool (including caches).
    pub fn available(&self) -> u32 {
        // SAFETY: read-only query on a valid pool.
        unsafe { crate::ffi::rte_mempool_avail_count(self.ptr.as_ptr()) }
    }

    /// Number of mbufs currently allocated from the pool.
    pub fn in_use(&self) -> u32 {
        // SAFETY: read-only query on a valid pool.
        unsafe { crate::ffi::rte_mempool_in_use_count(self.ptr.as_ptr()) }
    }
}

impl Drop for PktMempool {
    fn drop(&mut self) {
        // SAFETY: we created the pool and no port uses it any more by contract.
        unsafe { crate::ffi::rte_mempool_free(self.ptr.as_ptr()) }
    }
}
