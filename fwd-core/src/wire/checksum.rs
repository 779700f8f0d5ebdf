//! The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
//!
//! Terms used here:
//! - a *sum* is the 16-bit one's-complement sum of the data taken as big-endian 16-bit
//!   words (odd trailing byte padded with a zero byte), not complemented;
//! - a *checksum* is the complement of a sum: the value stored in a header field. Summing a
//!   header that contains a correct checksum gives `0xffff`, so [`checksum`] over it gives 0.

use core::net::{Ipv4Addr, Ipv6Addr};

use super::IpProtocol;

/// Folds a 64-bit accumulator of 16-bit words into a 16-bit one's-complement sum.
///
/// Four end-around-carry steps, no loop: 2^32 and 2^16 are both 1 modulo 0xffff, so each
/// step keeps the value's residue, and the bounds shrink from 2^64 to 2^33, 2^18, 2^16 + 3
/// and then 0xffff; a non-zero value never folds to 0. Same result as folding 16 bits at
/// a time until it fits, without the data-dependent branch on every packet's checksum.
#[inline]
pub const fn fold(acc: u64) -> u16 {
    let a = (acc & 0xffff_ffff) + (acc >> 32);
    let a = (a & 0xffff) + (a >> 16);
    let a = (a & 0xffff) + (a >> 16);
    let a = (a & 0xffff) + (a >> 16);
    a as u16
}

/// Adds two one's-complement sums.
#[inline]
pub const fn add(a: u16, b: u16) -> u16 {
    fold(a as u64 + b as u64)
}

/// The one's-complement sum (not complemented) of `data` taken as big-endian 16-bit words;
/// an odd trailing byte is padded with zero.
///
/// One's-complement addition does not depend on byte order (RFC 1071, 2.B): the data is
/// summed as native little-endian 64-bit words with end-around carry (2^64 is 1 modulo
/// 0xffff), and the folded result is byte-swapped once, instead of a byte swap per word.
#[inline]
pub fn sum(data: &[u8]) -> u16 {
    let mut acc: u64 = 0;
    let mut carries: u64 = 0;
    let mut add = |w: u64| {
        let (s, o) = acc.overflowing_add(w);
        acc = s;
        carries += u64::from(o);
    };
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        add(u64::from_le_bytes([
            c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
        ]));
    }
    // The tail starts at an even offset, so its 16-bit words line up with the data's.
    let mut tail: u64 = 0;
    let mut rest = chunks.remainder();
    if let [a, b, c, d, more @ ..] = rest {
        tail += u64::from(u32::from_le_bytes([*a, *b, *c, *d]));
        rest = more;
    }
    if let [a, b, more @ ..] = rest {
        tail += u64::from(u16::from_le_bytes([*a, *b]));
        rest = more;
    }
    if let [last] = rest {
        // The high byte of a big-endian word padded with zero: the low byte here.
        tail += u64::from(*last);
    }
    add(tail);
    let (s, o) = acc.overflowing_add(carries);
    // After an overflow `s` is below `carries`, so adding the 1 back cannot overflow.
    fold(s + u64::from(o)).swap_bytes()
}

/// The Internet checksum of `data` (RFC 1071): the complement of [`sum`].
///
/// To fill a header's checksum field, zero it, compute this over the header and store the
/// result; to verify a header, compute this over it as received: a correct header gives 0.
#[inline]
pub fn checksum(data: &[u8]) -> u16 {
    !sum(data)
}

/// [`checksum`] of an IPv4 header without options (20 bytes): five 32-bit words summed
/// with no loop and no call, what the per-packet path verifies on every IPv4 packet.
#[inline(always)]
pub fn checksum20(h: &[u8; 20]) -> u16 {
    let w = |i: usize| u64::from(u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]));
    // Five 32-bit words cannot overflow 64 bits; fold keeps the residue (see `fold`).
    !fold(w(0) + w(4) + w(8) + w(12) + w(16)).swap_bytes()
}

/// Combines partial sums (e.g. pseudo-header and payload) into a checksum.
#[inline]
pub fn combine(sums: &[u16]) -> u16 {
    let acc: u64 = sums.iter().map(|s| u64::from(*s)).sum();
    !fold(acc)
}

/// Incrementally updates a checksum after a 16-bit word of the covered data changed from
/// `old` to `new` (RFC 1624, equation 3: `HC' = ~(~HC + ~m + m')`).
///
/// Equation 3 (rather than RFC 1141's) gives the same result as recomputing the checksum
/// over the changed data, whatever the data, except for data that sums to zero
/// (all-zero words), which no real IPv4 header does.
#[inline]
pub const fn update_u16(old_csum: u16, old: u16, new: u16) -> u16 {
    !fold(!old_csum as u64 + !old as u64 + new as u64)
}

/// Incrementally updates a checksum after a 32-bit field (two aligned words, e.g. an IPv4
/// address) changed from `old` to `new`.
#[inline]
pub const fn update_u32(old_csum: u16, old: u32, new: u32) -> u16 {
    let acc = !old_csum as u64
        + !(old >> 16) as u16 as u64
        + !(old as u16) as u64
        + (new >> 16) as u64
        + (new & 0xffff) as u64;
    !fold(acc)
}

/// The sum of the IPv4 pseudo-header used by UDP and TCP checksums (RFC 768).
#[inline]
pub fn pseudo_header_v4(src: Ipv4Addr, dst: Ipv4Addr, protocol: IpProtocol, len: u16) -> u16 {
    let s = src.octets();
    let d = dst.octets();
    let acc = u64::from(u16::from_be_bytes([s[0], s[1]]))
        + u64::from(u16::from_be_bytes([s[2], s[3]]))
        + u64::from(u16::from_be_bytes([d[0], d[1]]))
        + u64::from(u16::from_be_bytes([d[2], d[3]]))
        + u64::from(protocol.0)
        + u64::from(len);
    fold(acc)
}

/// The sum of the IPv6 pseudo-header used by upper-layer checksums (RFC 8200 §8.1).
#[inline]
pub fn pseudo_header_v6(src: Ipv6Addr, dst: Ipv6Addr, protocol: IpProtocol, len: u32) -> u16 {
    let acc = u64::from(sum(&src.octets()))
        + u64::from(sum(&dst.octets()))
        + u64::from(len >> 16)
        + u64::from(len & 0xffff)
        + u64::from(protocol.0);
    fold(acc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The IPv4 header example of RFC 1071 / common textbooks (checksum 0xb861).
    const HDR: [u8; 20] = [
        0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8, 0x00,
        0x01, 0xc0, 0xa8, 0x00, 0xc7,
    ];

    #[test]
    fn known_header_checksum() {
        let mut h = HDR;
        assert_eq!(checksum(&h), 0, "a correct header verifies to 0");
        h[10] = 0;
        h[11] = 0;
        assert_eq!(checksum(&h), 0xb861);
    }

    #[test]
    fn rfc1071_example_sum() {
        // RFC 1071 §3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to 0xddf2.
        assert_eq!(
            sum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0xddf2
        );
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(sum(&[0x12, 0x34, 0x56]), sum(&[0x12, 0x34, 0x56, 0x00]));
        assert_eq!(sum(&[0xab]), 0xab00);
        assert_eq!(sum(&[]), 0);
        assert_eq!(checksum(&[]), 0xffff);
    }

    #[test]
    fn combine_equals_sum_of_concatenation() {
        let a = [1u8, 2, 3, 4, 0xff, 0xfe];
        let b = [9u8, 8, 7, 6];
        let mut ab = a.to_vec();
        ab.extend_from_slice(&b);
        assert_eq!(combine(&[sum(&a), sum(&b)]), checksum(&ab));
        assert_eq!(add(0xffff, 0x0001), 0x0001);
        assert_eq!(add(0x8000, 0x8000), 0x0001);
    }

    fn with_ttl(ttl: u8) -> [u8; 20] {
        let mut h = HDR;
        h[8] = ttl;
        h[10] = 0;
        h[11] = 0;
        let c = checksum(&h);
        h[10..12].copy_from_slice(&c.to_be_bytes());
        h
    }

    #[test]
    fn ttl_decrement_incremental_equals_recompute() {
        for ttl in 1..=255u8 {
            let mut h = with_ttl(ttl);
            let old_word = u16::from_be_bytes([h[8], h[9]]);
            let old_csum = u16::from_be_bytes([h[10], h[11]]);
            h[8] = ttl - 1;
            let new_word = u16::from_be_bytes([h[8], h[9]]);
            let incremental = update_u16(old_csum, old_word, new_word);
            let recomputed = with_ttl(ttl - 1);
            assert_eq!(
                incremental,
                u16::from_be_bytes([recomputed[10], recomputed[11]]),
                "ttl {ttl}"
            );
            h[10..12].copy_from_slice(&incremental.to_be_bytes());
            assert_eq!(checksum(&h), 0, "ttl {ttl}");
        }
    }

    #[test]
    fn address_rewrite_incremental_equals_recompute() {
        let mut h = with_ttl(64);
        let old = u32::from_be_bytes([h[12], h[13], h[14], h[15]]);
        let new = u32::from_be_bytes([10, 1, 2, 3]);
        let old_csum = u16::from_be_bytes([h[10], h[11]]);
        h[12..16].copy_from_slice(&new.to_be_bytes());
        let inc = update_u32(old_csum, old, new);
        h[10..12].copy_from_slice(&inc.to_be_bytes());
        assert_eq!(checksum(&h), 0);
    }

    #[test]
    fn pseudo_headers() {
        let v4 = pseudo_header_v4(
            Ipv4Addr::new(192, 168, 0, 1),
            Ipv4Addr::new(192, 168, 0, 199),
            IpProtocol::UDP,
            12,
        );
        let mut bytes = vec![192, 168, 0, 1, 192, 168, 0, 199, 0, 17, 0, 12];
        assert_eq!(v4, sum(&bytes));
        let src = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
        let dst = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);
        let v6 = pseudo_header_v6(src, dst, IpProtocol::UDP, 0x0001_0010);
        bytes.clear();
        bytes.extend_from_slice(&src.octets());
        bytes.extend_from_slice(&dst.octets());
        bytes.extend_from_slice(&0x0001_0010u32.to_be_bytes());
        bytes.extend_from_slice(&[0, 0, 0, 17]);
        assert_eq!(v6, sum(&bytes));
    }

    /// The plain fold: 16 bits at a time until the value fits.
    fn fold_reference(mut acc: u64) -> u16 {
        while acc > 0xffff {
            acc = (acc & 0xffff) + (acc >> 16);
        }
        acc as u16
    }

    #[test]
    fn fold_edges_match_the_reference() {
        for acc in [
            0,
            1,
            0xfffe,
            0xffff,
            0x1_0000,
            0x1_fffe,
            0x1_ffff,
            0xffff_ffff,
            0x1_0000_0000,
            0xffff_ffff_ffff,
            u64::MAX - 1,
            u64::MAX,
        ] {
            assert_eq!(fold(acc), fold_reference(acc), "{acc:#x}");
        }
    }

    /// The plain definition: big-endian 16-bit words, odd byte padded, folded at the end.
    fn sum_reference(data: &[u8]) -> u16 {
        let mut acc: u64 = 0;
        for w in data.chunks(2) {
            acc += u64::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)]));
        }
        fold_reference(acc)
    }

    #[test]
    fn sum_edges_match_the_reference() {
        for len in 0..40 {
            for fill in [0x00u8, 0x01, 0x7f, 0x80, 0xfe, 0xff] {
                let data = vec![fill; len];
                assert_eq!(sum(&data), sum_reference(&data), "{len} x {fill:#x}");
            }
        }
        // Enough 0xff words to carry out of 64 bits many times over.
        let big = vec![0xffu8; 1 << 16];
        assert_eq!(sum(&big), sum_reference(&big));
        // The largest words checksum20 adds.
        assert_eq!(checksum20(&[0xff; 20]), !sum_reference(&[0xff; 20]));
        assert_eq!(checksum20(&[0; 20]), 0xffff);
    }

    proptest! {
        #[test]
        fn sum_matches_the_reference(
            data in proptest::collection::vec(any::<u8>(), 0..300),
            start in 0usize..8,
        ) {
            // Every length and every alignment of the slice.
            let data = data.get(start.min(data.len())..).unwrap_or(&[]);
            prop_assert_eq!(sum(data), sum_reference(data));
        }

        #[test]
        fn checksum20_matches_the_reference(h in any::<[u8; 20]>()) {
            prop_assert_eq!(checksum20(&h), !sum_reference(&h));
        }

        #[test]
        fn fold_matches_the_reference(acc in any::<u64>()) {
            prop_assert_eq!(fold(acc), fold_reference(acc));
        }

        #[test]
        fn incremental_update_matches_recompute(
            mut words in proptest::collection::vec(any::<u16>(), 10),
            idx in 0usize..10,
            new in any::<u16>(),
        ) {
            // Word 5 is the checksum field; never rewrite it as data.
            let idx = if idx == 5 { 4 } else { idx };
            words[5] = 0;
            let bytes = |w: &[u16]| w.iter().flat_map(|x| x.to_be_bytes()).collect::<Vec<u8>>();
            words[5] = checksum(&bytes(&words));
            let old = words[idx];
            words[idx] = new;
            let inc = update_u16(words[5], old, new);
            words[5] = 0;
            let full = checksum(&bytes(&words));
            // Both are valid encodings of the same one's-complement value; they only
            // differ for all-zero data, which a real header never is.
            prop_assert!(inc == full || (inc == 0xffff && full == 0) || (inc == 0 && full == 0xffff));
            words[5] = inc;
            let verify = checksum(&bytes(&words));
            prop_assert!(verify == 0 || verify == 0xffff);
        }

        #[test]
        fn sum_is_word_order_independent(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut even = data.clone();
            if even.len() % 2 == 1 { even.push(0); }
            let mut words: Vec<[u8; 2]> = even.chunks_exact(2).map(|c| [c[0], c[1]]).collect();
            words.reverse();
            let rev: Vec<u8> = words.into_iter().flatten().collect();
            prop_assert_eq!(sum(&data), sum(&rev));
        }
    }
}
