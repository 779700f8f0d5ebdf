//! MPLS on a cross-connect: a label the LFIB does not hold, on a port with a cross-connect,
//! is kept and only its TTL decremented (the label-switching proper is [`crate::mpls`]).

use crate::drop::DropReason;
use crate::packet::PacketMeta;

/// Decrements the top label stack entry's TTL. TTL 0 or 1 on arrival expires.
#[inline]
pub fn forward(frame: &mut [u8], meta: &PacketMeta) -> Result<(), DropReason> {
    let at = meta.l3_offset as usize + 3;
    let Some(ttl) = frame.get_mut(at) else {
        return Err(DropReason::MplsTruncated);
    };
    if *ttl <= 1 {
        return Err(DropReason::TtlExpired);
    }
    *ttl -= 1;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::parse;

    fn mpls_frame(ttl: u8) -> Vec<u8> {
        let mut f = vec![0u8; 14 + 4 + 20];
        f[12..14].copy_from_slice(&[0x88, 0x47]);
        // label 1000, TC 0, S=1
        let lse: u32 = (1000 << 12) | (1 << 8) | ttl as u32;
        f[14..18].copy_from_slice(&lse.to_be_bytes());
        f[18] = 0x45;
        f
    }

    #[test]
    fn decrements_top_ttl_only() {
        let mut f = mpls_frame(64);
        let meta = parse(&f).expect("valid");
        forward(&mut f, &meta).expect("forwarded");
        let lse = u32::from_be_bytes([f[14], f[15], f[16], f[17]]);
        assert_eq!(lse >> 12, 1000);
        assert_eq!(lse & 0xff, 63);
        assert_eq!((lse >> 8) & 1, 1);
    }

    #[test]
    fn expiry() {
        let mut f = mpls_frame(1);
        let meta = parse(&f).expect("valid");
        assert_eq!(forward(&mut f, &meta), Err(DropReason::TtlExpired));
    }
}
