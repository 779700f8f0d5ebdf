//! The packet buffer the pipeline works on: a byte slice that can grow or shrink at the
//! front (MPLS push/pop, encapsulation/decapsulation).
//!
//! Implemented for DPDK's [`Mbuf`] and for [`VecBuf`], a plain heap buffer with headroom,
//! so every handler is tested without EAL.

use dpdk_sys::mbuf::Mbuf;

/// A packet whose data can be read, written, and grown or shrunk at the front.
pub trait PacketBuf {
    /// The packet bytes.
    fn data(&self) -> &[u8];
    /// The packet bytes, writable.
    fn data_mut(&mut self) -> &mut [u8];
    /// Adds `n` bytes at the front (their content is unspecified); `false` without room.
    fn prepend(&mut self, n: usize) -> bool;
    /// Removes `n` bytes from the front; `false` if the packet is shorter.
    fn adj(&mut self, n: usize) -> bool;
}

impl PacketBuf for Mbuf {
    #[inline]
    fn data(&self) -> &[u8] {
        Mbuf::data(self)
    }
    #[inline]
    fn data_mut(&mut self) -> &mut [u8] {
        Mbuf::data_mut(self)
    }
    #[inline]
    fn prepend(&mut self, n: usize) -> bool {
        Mbuf::prepend(self, n).is_some()
    }
    #[inline]
    fn adj(&mut self, n: usize) -> bool {
        Mbuf::adj(self, n)
    }
}

/// A heap buffer with headroom, for tests and for building packets off the fast path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VecBuf {
    buf: Vec<u8>,
    start: usize,
}

impl VecBuf {
    /// Default headroom, as in an mbuf.
    pub const HEADROOM: usize = 128;

    /// A buffer holding `data` with [`VecBuf::HEADROOM`] bytes of headroom.
    pub fn new(data: &[u8]) -> Self {
        Self::with_headroom(data, Self::HEADROOM)
    }

    /// A buffer holding `data` with `headroom` bytes in front.
    pub fn with_headroom(data: &[u8], headroom: usize) -> Self {
        let mut buf = vec![0u8; headroom + data.len()];
        buf[headroom..].copy_from_slice(data);
        VecBuf {
            buf,
            start: headroom,
        }
    }

    /// Free bytes in front of the data.
    pub fn headroom(&self) -> usize {
        self.start
    }
}

impl PacketBuf for VecBuf {
    fn data(&self) -> &[u8] {
        &self.buf[self.start..]
    }
    fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.start..]
    }
    fn prepend(&mut self, n: usize) -> bool {
        if n > self.start {
            return false;
        }
        self.start -= n;
        true
    }
    fn adj(&mut self, n: usize) -> bool {
        if n > self.buf.len() - self.start {
            return false;
        }
        self.start += n;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vecbuf_prepend_and_adj() {
        let mut b = VecBuf::with_headroom(b"abc", 2);
        assert!(b.prepend(2));
        b.data_mut()[..2].copy_from_slice(b"xy");
        assert_eq!(b.data(), b"xyabc");
        assert!(!b.prepend(1));
        assert!(b.adj(3));
        assert_eq!(b.data(), b"bc");
        assert!(!b.adj(3));
        assert!(b.adj(2));
        assert_eq!(b.data(), b"");
    }
}
