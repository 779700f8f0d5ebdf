//! Transit: a packet to one of our locators with Segments Left > 0 is re-addressed to the
//! next locator, in place (no length change).
//!
//! 1. First SRoU hop (Last Entry == Segments Left): NAT ALG, the SRoU Source becomes the
//!    outer source IP/port as received.
//! 2. Segments Left -= 1; outer destination IP/port := Segment List\[Segments Left\];
//!    outer source IP/port := the locator it arrived on.
//! 3. TTL / hop limit decremented; IPv4 header checksum and a non-zero UDP checksum
//!    updated incrementally (RFC 1624) for every rewritten field.
//! 4. MACs rewritten for the next hop's adjacency.

use super::csum::Delta;
use super::encap::write_ip;
use super::wire::{encode_segment, Header};
use super::{addr_offsets, Received, SrouCounters, SrouTables};
use crate::adjacency::Adjacency;
use crate::drop::DropReason;
use crate::wire::{ipv4, ipv6, udp};

/// Forwards a classified packet ([`super::classify`]) to its next segment; returns the
/// adjacency it must leave on (MACs already written).
///
/// Errors: Segments Left already 0 ([`DropReason::SrouSegmentsLeftZero`]), the next
/// segment is a service segment ([`DropReason::SrouBadServiceSegment`]), no adjacency for
/// it ([`DropReason::SrouNoNextHop`]), TTL / hop limit 1 or 0 ([`DropReason::TtlExpired`]),
/// or `frame` is not the frame `rx` was classified from (a header error).
pub fn transit(
    t: &SrouTables,
    frame: &mut [u8],
    rx: &Received,
    c: &SrouCounters,
) -> Result<Adjacency, DropReason> {
    let v4 = rx.v4;
    let (ip_min, truncated) = if v4 {
        (ipv4::HEADER_LEN, DropReason::Ipv4Truncated)
    } else {
        (ipv6::HEADER_LEN, DropReason::Ipv6Truncated)
    };
    if rx.l3 + ip_min > rx.l4 || rx.l4 + udp::HEADER_LEN != rx.srou {
        return Err(truncated);
    }
    let bytes = frame
        .get(rx.srou..rx.udp_end)
        .ok_or(DropReason::SrouTruncated)?;
    let h = Header::new_checked(bytes)?;
    let sl = h.segments_left();
    if sl == 0 {
        return Err(DropReason::SrouSegmentsLeftZero);
    }
    let new_sl = sl - 1;
    if h.service_segment(usize::from(new_sl)).is_some() {
        return Err(DropReason::SrouBadServiceSegment);
    }
    let next = h
        .segment(usize::from(new_sl))
        .ok_or(DropReason::SrouSegmentListTruncated)?;
    if next.is_ipv4() != v4 {
        return Err(DropReason::SrouFamilyMismatch);
    }
    let adj = t.next_hop(&next.ip()).ok_or(DropReason::SrouNoNextHop)?;
    let alg = h.last_entry() == sl;
    let sl_at = h.segments_left_offset();
    let src_at = h.source_offset();
    let src_len = h.address_len() + super::wire::PORT_LEN;

    // Everything below indexes inside ..udp_end, which the checks above bound.
    let l3 = rx.l3;
    let l4 = rx.l4;
    let srou = rx.srou;
    let ttl_at = if v4 { l3 + 8 } else { l3 + 7 };
    let ttl = frame[ttl_at];
    if ttl <= 1 {
        return Err(DropReason::TtlExpired);
    }
    let (src_off, dst_off, alen) = addr_offsets(v4);
    let mut src_buf = [0u8; 16];
    src_buf[..alen].copy_from_slice(&frame[l3 + src_off..l3 + src_off + alen]);
    let mut dst_buf = [0u8; 16];
    dst_buf[..alen].copy_from_slice(&frame[l3 + dst_off..l3 + dst_off + alen]);
    let mut next_buf = [0u8; 16];
    write_ip(&mut next_buf[..alen], &next.ip());
    // The old destination is our locator: it becomes the new source.
    let old_src = &src_buf[..alen];
    let locator = &dst_buf[..alen];
    let new_dst = &next_buf[..alen];

    let old_sport = u16::from_be_bytes([frame[l4], frame[l4 + 1]]);
    let old_dport = u16::from_be_bytes([frame[l4 + 2], frame[l4 + 3]]);
    let new_sport = old_dport;
    let new_dport = next.port();
    let udp_csum = u16::from_be_bytes([frame[l4 + 6], frame[l4 + 7]]);

    // UDP checksum: pseudo-header addresses, ports, Segments Left, ALG Source.
    let mut ud = Delta::default();
    ud.bytes(0, old_src, locator);
    ud.bytes(0, locator, new_dst);
    ud.word(old_sport, new_sport);
    ud.word(old_dport, new_dport);
    ud.bytes(udp::HEADER_LEN + sl_at, &[sl], &[new_sl]);
    let mut alg_new = [0u8; 18];
    if alg {
        encode_segment(&rx.outer_src, &mut alg_new);
        let at = srou + src_at;
        ud.bytes(
            udp::HEADER_LEN + src_at,
            &frame[at..at + src_len],
            &alg_new[..src_len],
        );
    }

    // IP header.
    if v4 {
        let mut ipd = Delta::default();
        let proto = frame[l3 + 9];
        ipd.word(
            u16::from_be_bytes([ttl, proto]),
            u16::from_be_bytes([ttl - 1, proto]),
        );
        ipd.bytes(src_off, old_src, locator);
        ipd.bytes(dst_off, locator, new_dst);
        let old = u16::from_be_bytes([frame[l3 + 10], frame[l3 + 11]]);
        frame[l3 + 10..l3 + 12].copy_from_slice(&ipd.apply(old).to_be_bytes());
    }
    frame[ttl_at] = ttl - 1;
    frame[l3 + src_off..l3 + src_off + alen].copy_from_slice(locator);
    frame[l3 + dst_off..l3 + dst_off + alen].copy_from_slice(new_dst);

    // UDP header.
    frame[l4..l4 + 2].copy_from_slice(&new_sport.to_be_bytes());
    frame[l4 + 2..l4 + 4].copy_from_slice(&new_dport.to_be_bytes());
    if udp_csum != 0 {
        let c = match ud.apply(udp_csum) {
            0 => 0xffff,
            c => c,
        };
        frame[l4 + 6..l4 + 8].copy_from_slice(&c.to_be_bytes());
    }

    // SRoU header.
    frame[srou + sl_at] = new_sl;
    if alg {
        let at = srou + src_at;
        frame[at..at + src_len].copy_from_slice(&alg_new[..src_len]);
        c.nat_alg.add(1);
    }

    adj.rewrite(frame);
    c.transited.add(1);
    Ok(adj)
}
