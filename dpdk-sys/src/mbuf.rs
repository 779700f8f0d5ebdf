//! Owned mbufs and fixed-capacity bursts of them.
//!
//! [`Mbuf`] owns one packet buffer and frees it when dropped; its data is exposed as byte
//! slices so packet logic never touches raw pointers. [`PktBurst`] is the array that RX
//! fills and TX drains, without allocation.

use std::ptr::NonNull;

use crate::ffi::rte_mbuf;

/// Bytes of headroom in front of a received packet (DPDK's `RTE_PKTMBUF_HEADROOM`): what
/// encapsulation can prepend without copying.
pub const HEADROOM: usize = crate::ffi::RTE_PKTMBUF_HEADROOM as usize;

/// An owned packet buffer (single segment view). Freed on drop.
#[repr(transparent)]
#[derive(Debug)]
pub struct Mbuf(NonNull<rte_mbuf>);

// SAFETY: an mbuf is owned by exactly one Mbuf value; moving it between threads is how DPDK
// is used (RX on one lcore, free on another) and mempool frees are thread-safe.
unsafe impl Send for Mbuf {}

impl Mbuf {
    /// Takes ownership of a raw mbuf.
    ///
    /// # Safety
    /// `m` must point to a valid mbuf that nothing else owns or will free.
    pub unsafe fn from_raw(m: NonNull<rte_mbuf>) -> Mbuf {
        Mbuf(m)
    }

    /// Gives up ownership without freeing.
    pub fn into_raw(self) -> NonNull<rte_mbuf> {
        let p = self.0;
        std::mem::forget(self);
        p
    }

    #[inline]
    fn raw(&self) -> &rte_mbuf {
        // SAFETY: we own a valid mbuf for the life of self.
        unsafe { self.0.as_ref() }
    }

    #[inline]
    fn raw_mut(&mut self) -> &mut rte_mbuf {
        // SAFETY: we own a valid mbuf, and &mut self guarantees exclusive access.
        unsafe { self.0.as_mut() }
    }

    /// Resets the header of a raw single-segment mbuf as `rte_pktmbuf_reset` does:
    /// empty, default headroom, no offloads, no port. Only for mbufs fresh from a pool
    /// (see [`crate::mempool::PktMempool::alloc_bulk_with`]): `next` is cleared, not freed.
    #[inline(always)]
    pub(crate) fn reset(&mut self) {
        let m = self.raw_mut();
        m.next = std::ptr::null_mut();
        m.pkt_len = 0;
        m.__bindgen_anon_3.tx_offload = 0;
        m.vlan_tci = 0;
        m.vlan_tci_outer = 0;
        m.nb_segs = 1;
        m.port = crate::ffi::RTE_MBUF_PORT_INVALID as u16;
        m.ol_flags &= crate::ffi::RTE_MBUF_F_EXTERNAL;
        m.__bindgen_anon_1.packet_type = 0;
        m.data_off = (HEADROOM as u16).min(m.buf_len);
        m.data_len = 0;
    }

    /// Bytes of data in the first segment.
    #[inline]
    pub fn data_len(&self) -> usize {
        self.raw().data_len as usize
    }

    /// Total packet length over all segments.
    #[inline]
    pub fn pkt_len(&self) -> usize {
        self.raw().pkt_len as usize
    }

    /// Number of segments.
    #[inline]
    pub fn segments(&self) -> u16 {
        self.raw().nb_segs
    }

    /// Free bytes in front of the data.
    #[inline]
    pub fn headroom(&self) -> usize {
        self.raw().data_off as usize
    }

    /// Free bytes after the data in the first (and, for appends, last) segment.
    #[inline]
    pub fn tailroom(&self) -> usize {
        let m = self.raw();
        m.buf_len as usize - m.data_off as usize - m.data_len as usize
    }

    /// Input port the packet arrived on.
    #[inline]
    pub fn port(&self) -> u16 {
        self.raw().port
    }

    /// The first segment's data.
    #[inline]
    pub fn data(&self) -> &[u8] {
        let m = self.raw();
        // SAFETY: buf_addr + data_off .. + data_len lies inside the mbuf's buffer by DPDK's
        // invariants, and the buffer lives as long as we own the mbuf.
        unsafe {
            std::slice::from_raw_parts(
                m.buf_addr.cast::<u8>().add(m.data_off as usize),
                m.data_len as usize,
            )
        }
    }

    /// Hints the CPU to pull the first cache line of the packet data into L1 (the DPDK
    /// idiom of prefetching a few packets ahead of the one being processed).
    #[inline]
    pub fn prefetch_data(&self) {
        let m = self.raw();
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a prefetch is only a hint: it never faults and has no memory effects, and
        // the address is inside the mbuf's buffer anyway.
        unsafe {
            use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            _mm_prefetch::<_MM_HINT_T0>(m.buf_addr.cast::<i8>().add(m.data_off as usize));
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = m;
    }

    /// The first segment's data, writable.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        let m = self.raw_mut();
        // SAFETY: as in `data`; &mut self makes the access exclusive.
        unsafe {
            std::slice::from_raw_parts_mut(
                m.buf_addr.cast::<u8>().add(m.data_off as usize),
                m.data_len as usize,
            )
        }
    }

    /// Grows the packet by `n` bytes at the front; returns the new (whole) data, or `None`
    /// if the headroom is too small.
    #[inline]
    pub fn prepend(&mut self, n: usize) -> Option<&mut [u8]> {
        if n > self.headroom() || n > u16::MAX as usize {
            return None;
        }
        // SAFETY: valid owned mbuf; n fits the headroom, which rte_pktmbuf_prepend rechecks.
        let p = unsafe { crate::ffi::rte_pktmbuf_prepend(self.0.as_ptr(), n as u16) };
        if p.is_null() {
            None
        } else {
            Some(self.data_mut())
        }
    }

    /// Removes `n` bytes from the front; `false` if the first segment is shorter.
    #[inline]
    pub fn adj(&mut self, n: usize) -> bool {
        if n > self.data_len() {
            return false;
        }
        // SAFETY: valid owned mbuf; n <= data_len.
        !unsafe { crate::ffi::rte_pktmbuf_adj(self.0.as_ptr(), n as u16) }.is_null()
    }

    /// Grows the packet by `n` bytes at the end; returns the new (whole) data of the
    /// first segment, or `None` without tailroom (or for multi-segment packets).
    #[inline]
    pub fn append(&mut self, n: usize) -> Option<&mut [u8]> {
        if self.segments() != 1 || n > self.tailroom() {
            return None;
        }
        // SAFETY: valid owned single-segment mbuf; n fits its tailroom.
        let p = unsafe { crate::ffi::rte_pktmbuf_append(self.0.as_ptr(), n as u16) };
        if p.is_null() {
            None
        } else {
            Some(self.data_mut())
        }
    }

    /// Removes `n` bytes from the end; `false` if the last segment is shorter.
    #[inline]
    pub fn trim(&mut self, n: usize) -> bool {
        if self.segments() != 1 || n > self.data_len() {
            return false;
        }
        // SAFETY: valid owned single-segment mbuf; n <= data_len.
        unsafe { crate::ffi::rte_pktmbuf_trim(self.0.as_ptr(), n as u16) == 0 }
    }

    /// Sets the data of a single-segment mbuf to a copy of `bytes`, keeping the headroom.
    /// Returns `false` (and changes nothing) if it does not fit or the mbuf is chained.
    /// No FFI call: the lengths are set directly, which is what makes it cheap enough for
    /// a traffic generator's per-packet path.
    #[inline]
    pub fn set_data(&mut self, bytes: &[u8]) -> bool {
        let m = self.raw_mut();
        let room = (m.buf_len as usize).saturating_sub(m.data_off as usize);
        if m.nb_segs != 1 || bytes.len() > room || bytes.len() > u16::MAX as usize {
            return false;
        }
        m.data_len = bytes.len() as u16;
        m.pkt_len = bytes.len() as u32;
        self.data_mut().copy_from_slice(bytes);
        true
    }
}

impl Drop for Mbuf {
    fn drop(&mut self) {
        // SAFETY: we own the mbuf; it is freed exactly once here.
        unsafe { crate::ffi::rte_pktmbuf_free(self.0.as_ptr()) }
    }
}

/// Capacity of a [`PktBurst`].
pub const BURST_CAPACITY: usize = 64;

/// A fixed-capacity array of owned mbufs: what RX fills and TX drains. Never allocates.
/// Dropping it frees what it still holds, in bulk.
pub struct PktBurst {
    // Invariant: slots[..len] are valid owned mbufs (non-null).
    slots: [*mut rte_mbuf; BURST_CAPACITY],
    len: usize,
}

// SAFETY: the burst owns its mbufs exclusively (see Mbuf's Send).
unsafe impl Send for PktBurst {}

impl Default for PktBurst {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for PktBurst {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PktBurst").field("len", &self.len).finish()
    }
}

impl PktBurst {
    /// An empty burst.
    pub const fn new() -> Self {
        PktBurst {
            slots: [std::ptr::null_mut(); BURST_CAPACITY],
            len: 0,
        }
    }

    /// Number of mbufs held.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if no mbuf is held.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Free slots.
    #[inline]
    pub fn spare(&self) -> usize {
        BURST_CAPACITY - self.len
    }

    /// The held mbufs, mutable in place.
    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [Mbuf] {
        // SAFETY: Mbuf is repr(transparent) over NonNull<rte_mbuf>, which has the layout of
        // *mut rte_mbuf; slots[..len] are non-null owned mbufs by the invariant. Swapping
        // elements through the slice keeps each mbuf owned exactly once.
        unsafe { std::slice::from_raw_parts_mut(self.slots.as_mut_ptr().cast::<Mbuf>(), self.len) }
    }

    /// Adds an mbuf; gives it back if the burst is full.
    #[inline]
    pub fn push(&mut self, m: Mbuf) -> Result<(), Mbuf> {
        if self.len == BURST_CAPACITY {
            return Err(m);
        }
        self.slots[self.len] = m.into_raw().as_ptr();
        self.len += 1;
        Ok(())
    }

    /// Removes and returns every mbuf, in order. Mbufs not consumed from the iterator are
    /// freed when it is dropped.
    #[inline]
    pub fn drain(&mut self) -> Drain<'_> {
        let len = self.len;
        self.len = 0;
        Drain {
            burst: self,
            next: 0,
            end: len,
        }
    }

    /// Frees every held mbuf with one bulk call; returns how many.
    #[inline]
    pub fn free_all(&mut self) -> usize {
        let n = self.len;
        if n > 0 {
            // SAFETY: slots[..n] are owned mbufs; they are freed once and forgotten.
            unsafe { crate::ffi::rte_pktmbuf_free_bulk(self.slots.as_mut_ptr(), n as u32) };
            self.len = 0;
        }
        n
    }

    /// Pointer to the first free slot and the number of free slots, for RX.
    #[inline]
    pub(crate) fn spare_raw(&mut self) -> (*mut *mut rte_mbuf, usize) {
        // SAFETY: len <= capacity, so the offset stays inside the array.
        (
            unsafe { self.slots.as_mut_ptr().add(self.len) },
            self.spare(),
        )
    }

    /// Records that RX wrote `n` mbufs after the current ones.
    ///
    /// # Safety
    /// The `n` slots after `len` must hold valid owned mbufs.
    #[inline]
    pub(crate) unsafe fn commit(&mut self, n: usize) {
        debug_assert!(self.len + n <= BURST_CAPACITY);
        self.len += n;
    }

    /// Pointer to the held mbufs, for TX.
    #[inline]
    pub(crate) fn held_raw(&mut self) -> (*mut *mut rte_mbuf, usize) {
        (self.slots.as_mut_ptr(), self.len)
    }

    /// Forgets the first `n` mbufs (TX took them) and moves the rest to the front.
    #[inline]
    pub(crate) fn consume_front(&mut self, n: usize) {
        let n = n.min(self.len);
        self.slots.copy_within(n..self.len, 0);
        self.len -= n;
    }
}

impl Drop for PktBurst {
    fn drop(&mut self) {
        self.free_all();
    }
}

/// Iterator returned by [`PktBurst::drain`].
pub struct Drain<'a> {
    burst: &'a mut PktBurst,
    next: usize,
    end: usize,
}

impl Iterator for Drain<'_> {
    type Item = Mbuf;

    #[inline]
    fn next(&mut self) -> Option<Mbuf> {
        if self.next == self.end {
            return None;
        }
        let p = self.burst.slots[self.next];
        self.next += 1;
        // SAFETY: slots[next] was an owned mbuf under the invariant; len was set to 0 by
        // drain, so ownership moves to the returned Mbuf exactly once.
        Some(unsafe { Mbuf::from_raw(NonNull::new_unchecked(p)) })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.end - self.next;
        (n, Some(n))
    }
}

impl ExactSizeIterator for Drain<'_> {}

impl Drop for Drain<'_> {
    fn drop(&mut self) {
        let rest = self.end - self.next;
        if rest > 0 {
            // SAFETY: slots[next..end] are still owned and not yet handed out.
            unsafe {
                crate::ffi::rte_pktmbuf_free_bulk(
                    self.burst.slots.as_mut_ptr().add(self.next),
                    rest as u32,
                )
            };
        }
    }
}
