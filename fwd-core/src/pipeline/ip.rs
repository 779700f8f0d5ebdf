//! IPv4 and IPv6 forwarding rules: TTL / hop-limit decrement, expiry as a counted drop,
//! incremental IPv4 checksum update (RFC 1624).

use crate::drop::DropReason;
use crate::packet::{PacketMeta, MAX_FRAME_LEN};
use crate::wire::{checksum, ipv4, udp};

/// Where the IPv4 header of an untagged Ethernet frame starts.
const FAST_L3: usize = 14;
/// Where its upper layer starts when the header has no options.
const FAST_L4: usize = FAST_L3 + ipv4::HEADER_LEN;

/// Decrements the IPv4 TTL and patches the header checksum. TTL 0 or 1 on arrival expires.
#[inline]
pub fn forward_ipv4(frame: &mut [u8], meta: &PacketMeta) -> Result<(), DropReason> {
    let l3 = meta.l3_offset as usize;
    let Some(hdr) = frame
        .get_mut(l3..)
        .and_then(|r| r.first_chunk_mut::<{ ipv4::HEADER_LEN }>())
    else {
        return Err(DropReason::Ipv4Truncated);
    };
    if hdr[8] <= 1 {
        return Err(DropReason::TtlExpired);
    }
    decrement_ttl(hdr);
    Ok(())
}

/// Decrements the TTL of the IPv4 header `hdr` (TTL above 0) and patches its checksum
/// incrementally (RFC 1624).
#[inline]
fn decrement_ttl(hdr: &mut [u8; ipv4::HEADER_LEN]) {
    let old_word = u16::from_be_bytes([hdr[8], hdr[9]]);
    hdr[8] -= 1;
    let new_word = u16::from_be_bytes([hdr[8], hdr[9]]);
    let old_csum = u16::from_be_bytes([hdr[10], hdr[11]]);
    let new_csum = checksum::update_u16(old_csum, old_word, new_word);
    hdr[10..12].copy_from_slice(&new_csum.to_be_bytes());
}

/// The IPv4 cross-connect without the general parse, for a node whose tables claim no
/// IPv4 ([`super::Pipeline`] calls it only then): an untagged Ethernet frame carrying an
/// IPv4 header of 20 bytes (version 4, header checksum and total length valid, not a
/// fragment, TTL above 1; for UDP, a header and a length the parser accepts) has its TTL
/// decremented, its checksum patched and its MACs rewritten, exactly as
/// [`forward_ipv4`] and the adjacency do on the general path. Anything else returns
/// `false` with the frame untouched, for the general path to decide (and count, if it
/// drops). `pipeline::fast_xconnect_tests` proves it against the general path.
#[inline]
pub fn xconnect_ipv4_fast(frame: &mut [u8], adj: &crate::adjacency::Adjacency) -> bool {
    // The parser looks at no more than MAX_FRAME_LEN bytes: such frames are its call.
    let len = frame.len();
    if len > MAX_FRAME_LEN {
        return false;
    }
    let Some(h) = frame.first_chunk_mut::<FAST_L4>() else {
        return false;
    };
    let (eth, ip) = h.split_at_mut(FAST_L3);
    // IPv4 without options, neither a later fragment nor one with more to come.
    if eth[12..14] != [0x08, 0x00] || ip[0] != 0x45 || ip[6] & 0x3f != 0 || ip[7] != 0 {
        return false;
    }
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    if total < ipv4::HEADER_LEN || FAST_L3 + total > len || ip[8] <= 1 {
        return false;
    }
    let Ok(ip20) = <&mut [u8; ipv4::HEADER_LEN]>::try_from(ip) else {
        return false;
    };
    if checksum::checksum20(ip20) != 0 {
        return false;
    }
    if ip20[9] == 17 {
        // The parser's UDP checks: a whole header, a length within the IP payload.
        let payload = total - ipv4::HEADER_LEN;
        let Some(u) = frame.get(FAST_L4..FAST_L4 + udp::HEADER_LEN) else {
            return false;
        };
        let udp_len = usize::from(u16::from_be_bytes([u[4], u[5]]));
        if payload < udp::HEADER_LEN || udp_len < udp::HEADER_LEN || udp_len > payload {
            return false;
        }
    }
    let Some(ip) = frame
        .get_mut(FAST_L3..)
        .and_then(|r| r.first_chunk_mut::<{ ipv4::HEADER_LEN }>())
    else {
        return false;
    };
    decrement_ttl(ip);
    adj.rewrite(frame);
    true
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
