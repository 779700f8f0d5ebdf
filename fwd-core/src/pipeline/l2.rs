//! Ethernet rewrite for the egress port.

use super::XConnect;

/// Writes the next hop's destination MAC and the egress source MAC. The frame was parsed,
/// so it holds at least an Ethernet header.
#[inline]
pub fn rewrite(frame: &mut [u8], xc: &XConnect) {
    if let Some(hdr) = frame.get_mut(0..12) {
        hdr[0..6].copy_from_slice(&xc.dst_mac);
        hdr[6..12].copy_from_slice(&xc.src_mac);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_both_macs_and_nothing_else() {
        let mut f = [0xAAu8; 20];
        let xc = XConnect {
            out_port: 1,
            dst_mac: [1, 2, 3, 4, 5, 6],
            src_mac: [7, 8, 9, 10, 11, 12],
        };
        rewrite(&mut f, &xc);
        assert_eq!(&f[0..12], &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        assert!(f[12..].iter().all(|b| *b == 0xAA));
        let mut short = [0u8; 5];
        rewrite(&mut short, &xc);
        assert_eq!(short, [0u8; 5]);
    }
}
