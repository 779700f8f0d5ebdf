//! IPv4 and IPv6 forwarding rules: TTL / hop-limit decrement, expiry as a counted drop,
//! incremental IPv4 checksum update (RFC 1624).

use crate::drop::DropReason;
use crate::packet::PacketMeta;
use crate::wire::checksum;

/// Decrements the IPv4 TTL and patches the header checksum. TTL 0 or 1 on arrival expires.
#[inline]
pub fn forward_ipv4(frame: &mut [u8], meta: &PacketMeta) -> Result<(), DropReason> {
    let l3 = meta.l3_offset as usize;
    let Some(hdr) = frame.get_mut(l3..l3 + 20) else {
        return Err(DropReason::Ipv4Truncated);
    };
    let ttl = hdr[8];
    if ttl <= 1 {
        return Err(DropReason::TtlExpired);
    }
    let old_word = u16::from_be_bytes([hdr[8], hdr[9]]);
    hdr[8] = ttl - 1;
    let new_word = u16::from_be_bytes([hdr[8], hdr[9]]);
    let old_csum = u16::from_be_bytes([hdr[10], hdr[11]]);
    let new_csum = checksum::update_u16(old_csum, old_word, new_word);
    hdr[10..12].copy_from_slice(&new_csum.to_be_bytes());
    Ok(())
}

/// Decrements the IPv6 hop limit. Hop limit 0 or 1 on arrival expires.
#[inline]
pub fn forward_ipv6(frame: &mut [u8], meta: &PacketMeta) -> Result<(), DropReason> {
    let at = meta.l3_offset as usize + 7;
    let Some(hl) = frame.get_mut(at) else {
        return Err(DropReason::Ipv6Truncated);
    };
    if *hl <= 1 {
        return Err(DropReason::TtlExpired);
    }
    *hl -= 1;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::parse;

    fn ipv4_udp(ttl: u8) -> Vec<u8> {
        let mut f = vec![0u8; 14 + 20 + 8 + 4];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        let ip = &mut f[14..34];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&(20u16 + 8 + 4).to_be_bytes());
        ip[8] = ttl;
        ip[9] = 17;
        ip[12..16].copy_from_slice(&[10, 0, 0, 1]);
        ip[16..20].copy_from_slice(&[10, 0, 0, 2]);
        let c = checksum::checksum(ip);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        f[34..36].copy_from_slice(&1000u16.to_be_bytes());
        f[36..38].copy_from_slice(&2000u16.to_be_bytes());
        f[38..40].copy_from_slice(&12u16.to_be_bytes());
        f
    }

    #[test]
    fn ipv4_ttl_decrement_keeps_checksum_valid() {
        for ttl in 2..=255u8 {
            let mut f = ipv4_udp(ttl);
            let meta = parse(&f).expect("valid frame");
            forward_ipv4(&mut f, &meta).expect("forwarded");
            assert_eq!(f[14 + 8], ttl - 1);
            assert_eq!(checksum::checksum(&f[14..34]), 0, "ttl {ttl}");
            parse(&f).expect("still valid after rewrite");
        }
    }

    #[test]
    fn ipv4_ttl_expiry_is_a_drop() {
        for ttl in [0u8, 1] {
            let mut f = ipv4_udp(ttl);
            let meta = parse(&f).expect("valid frame");
            assert_eq!(forward_ipv4(&mut f, &meta), Err(DropReason::TtlExpired));
        }
    }

    #[test]
    fn ipv6_hop_limit() {
        let mut f = vec![0u8; 14 + 40];
        f[12..14].copy_from_slice(&[0x86, 0xdd]);
        f[14] = 0x60;
        f[14 + 6] = 59;
        f[14 + 7] = 64;
        let meta = parse(&f).expect("valid frame");
        forward_ipv6(&mut f, &meta).expect("forwarded");
        assert_eq!(f[14 + 7], 63);
        f[14 + 7] = 1;
        assert_eq!(forward_ipv6(&mut f, &meta), Err(DropReason::TtlExpired));
    }
}
