//! Flow hashing for ECMP and affinity: the same flow always hashes the same, whatever its
//! packet lengths, IDs or TTLs.
//!
//! Hashed fields: for MPLS, the labels of the stack (values only; an entropy label after an
//! ELI stands for the flow by itself, RFC 6790) plus the IP flow under the stack; for IP, the
//! addresses, the protocol and, for UDP/TCP first fragments, the ports (IPv6 adds the flow
//! label). The mixing is a 32-bit multiply-xorshift (murmur3's finaliser per word).

use crate::packet::{L3Kind, PacketMeta};

#[inline]
fn mix(h: u32, w: u32) -> u32 {
    let mut k = w.wrapping_mul(0xcc9e_2d51);
    k = k.rotate_left(15).wrapping_mul(0x1b87_3593);
    (h ^ k)
        .rotate_left(13)
        .wrapping_mul(5)
        .wrapping_add(0xe654_6b64)
}

#[inline]
fn finish(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

#[inline]
fn word(b: &[u8], at: usize) -> u32 {
    match b.get(at..at + 4) {
        Some(w) => u32::from_be_bytes([w[0], w[1], w[2], w[3]]),
        None => 0,
    }
}

/// Hashes the IP flow of the packet starting at `at` (first nibble 4 or 6).
#[inline]
fn ip_flow(b: &[u8], at: usize, mut h: u32) -> u32 {
    let Some(&first) = b.get(at) else {
        return h;
    };
    match first >> 4 {
        4 => {
            let ihl = usize::from(first & 0x0f) * 4;
            let proto = b.get(at + 9).copied().unwrap_or(0);
            h = mix(h, word(b, at + 12));
            h = mix(h, word(b, at + 16));
            h = mix(h, u32::from(proto));
            let frag = word(b, at + 4) & 0x1fff;
            if (proto == 6 || proto == 17) && frag == 0 && ihl >= 20 {
                h = mix(h, word(b, at + ihl));
            }
            h
        }
        6 => {
            h = mix(h, word(b, at) & 0x000f_ffff);
            for i in 0..8 {
                h = mix(h, word(b, at + 8 + 4 * i));
            }
            let nh = b.get(at + 6).copied().unwrap_or(0);
            h = mix(h, u32::from(nh));
            if nh == 6 || nh == 17 {
                h = mix(h, word(b, at + 40));
            }
            h
        }
        _ => h,
    }
}

/// The flow hash of a parsed frame.
#[inline]
pub fn flow_hash(frame: &[u8], meta: &PacketMeta) -> u32 {
    let l3 = meta.l3_offset as usize;
    let mut h = 0x9747_b28c;
    match meta.l3 {
        L3Kind::Mpls => {
            let mut at = l3;
            for _ in 0..8 {
                let lse = word(frame, at);
                let label = lse >> 12;
                at += 4;
                if label == 7 {
                    // ELI: the entropy label below it is the flow's hash input (RFC 6790).
                    return finish(mix(h, word(frame, at) >> 12));
                }
                h = mix(h, label);
                if lse & 0x100 != 0 {
                    break;
                }
            }
            finish(ip_flow(frame, at, h))
        }
        L3Kind::Ipv4 | L3Kind::Ipv6 => finish(ip_flow(frame, l3, h)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::parse;

    fn ipv4_udp(src: [u8; 4], sport: u16, ttl: u8, id: u16, payload: usize) -> Vec<u8> {
        let mut f = vec![0u8; 14];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        let mut ip = vec![0u8; 20];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&((28 + payload) as u16).to_be_bytes());
        ip[4..6].copy_from_slice(&id.to_be_bytes());
        ip[8] = ttl;
        ip[9] = 17;
        ip[12..16].copy_from_slice(&src);
        ip[16..20].copy_from_slice(&[10, 9, 9, 9]);
        let c = crate::wire::checksum::checksum(&ip);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        f.extend_from_slice(&ip);
        f.extend_from_slice(&sport.to_be_bytes());
        f.extend_from_slice(&53u16.to_be_bytes());
        f.extend_from_slice(&((8 + payload) as u16).to_be_bytes());
        f.extend_from_slice(&[0, 0]);
        f.extend(std::iter::repeat_n(7u8, payload));
        f
    }

    fn h(f: &[u8]) -> u32 {
        flow_hash(f, &parse(f).expect("valid"))
    }

    #[test]
    fn same_flow_same_hash_whatever_ttl_id_and_length() {
        let a = h(&ipv4_udp([10, 0, 0, 1], 1000, 64, 1, 10));
        assert_eq!(a, h(&ipv4_udp([10, 0, 0, 1], 1000, 3, 999, 300)));
        assert_ne!(a, h(&ipv4_udp([10, 0, 0, 2], 1000, 64, 1, 10)));
        assert_ne!(a, h(&ipv4_udp([10, 0, 0, 1], 1001, 64, 1, 10)));
    }

    #[test]
    fn mpls_hash_covers_labels_and_inner_flow() {
        let mk = |label: u32, sport: u16, ttl: u8| {
            let inner = ipv4_udp([10, 0, 0, 1], sport, 64, 1, 10);
            let mut f = inner[..14].to_vec();
            f[12..14].copy_from_slice(&[0x88, 0x47]);
            f.extend_from_slice(&((label << 12) | 0x100 | u32::from(ttl)).to_be_bytes());
            f.extend_from_slice(&inner[14..]);
            f
        };
        let a = h(&mk(100, 1, 64));
        assert_eq!(a, h(&mk(100, 1, 5)), "TTL is not part of the flow");
        assert_ne!(a, h(&mk(101, 1, 64)));
        assert_ne!(a, h(&mk(100, 2, 64)));
    }

    #[test]
    fn hashes_spread_over_ecmp_buckets() {
        let mut buckets = [0u32; 4];
        for sport in 0..4000u16 {
            buckets[(h(&ipv4_udp([10, 0, 0, 1], sport, 64, 1, 10)) % 4) as usize] += 1;
        }
        for b in buckets {
            assert!((800..1200).contains(&b), "{buckets:?}");
        }
    }
}
