//! Adjacencies: where a forwarding decision sends a packet (egress port and the Ethernet
//! header to write).

/// An egress port and the MAC addresses of the link to the next hop.
///
/// Sixteen bytes, aligned to eight: a copy (adjacencies are returned by value all along
/// the per-packet path) is two aligned 8-byte moves. At 14 bytes with 2-byte alignment the
/// compiler copied it as two *overlapping* 8-byte moves, and reading such a copy back
/// from the stack missed store-to-load forwarding: a stall of a dozen cycles or more per
/// packet, the largest single cost of SRoU transit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(C, align(8))]
pub struct Adjacency {
    /// Next hop's MAC (destination of the rewritten frame).
    pub dst_mac: [u8; 6],
    /// Egress interface MAC (source of the rewritten frame).
    pub src_mac: [u8; 6],
    /// Egress port id.
    pub port: u16,
}

impl Adjacency {
    /// Writes this adjacency's MACs into the frame's Ethernet header (no-op on a frame
    /// shorter than 12 bytes).
    #[inline]
    pub fn rewrite(&self, frame: &mut [u8]) {
        if let Some(hdr) = frame.get_mut(0..12) {
            hdr[0..6].copy_from_slice(&self.dst_mac);
            hdr[6..12].copy_from_slice(&self.src_mac);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_sixteen_bytes_aligned_to_eight() {
        assert_eq!(core::mem::size_of::<Adjacency>(), 16);
        assert_eq!(core::mem::align_of::<Adjacency>(), 8);
    }

    #[test]
    fn rewrites_both_macs_and_nothing_else() {
        let mut f = [0xAAu8; 20];
        let adj = Adjacency {
            port: 1,
            dst_mac: [1, 2, 3, 4, 5, 6],
            src_mac: [7, 8, 9, 10, 11, 12],
        };
        adj.rewrite(&mut f);
        assert_eq!(&f[0..12], &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        assert!(f[12..].iter().all(|b| *b == 0xAA));
        let mut short = [0u8; 5];
        adj.rewrite(&mut short);
        assert_eq!(short, [0u8; 5]);
    }
}
