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
use super::wire::{self, PORT_LEN, SERVICE_SEGMENT_MARK};
use super::{addr_offsets, Rx, SrouCounters, SrouTables, TokenDecision, ETH_LEN};
use crate::adjacency::Adjacency;
use crate::drop::DropReason;
use crate::packet::MAX_FRAME_LEN;
use crate::wire::{checksum, ipv4, ipv6, udp};

/// Outer IPv4 header, UDP header and SRoU header offsets of an untagged frame.
const FAST_L3: usize = ETH_LEN;
const FAST_L4: usize = FAST_L3 + ipv4::HEADER_LEN;
const FAST_SROU: usize = FAST_L4 + udp::HEADER_LEN;

/// Transit without the general path (the parse, the STAMP checks, [`super::classify`]
/// and [`super::dispatch`]): an untagged Ethernet frame with an IPv4 header of 20 bytes
/// (not a fragment, header checksum and lengths valid) carrying a UDP datagram to one of
/// our locators, whose destination port `claimed` does not reserve for a handler that
/// runs before SRoU (STAMP), with a valid SRoU header of the IPv4 family, a permitted
/// token and a next segment that the general transit forwards. The frame is rewritten exactly as
/// the general path would, the same counters are counted, and the adjacency is
/// returned; anything else returns `None` with the frame and the counters untouched, for
/// the general path to decide (and count, if it drops). Most of a transit locator's
/// traffic, without the general path's parse and dispatch (about a fifth more packets per
/// second through a worker; perf/RESULTS.md).
#[inline]
pub fn transit_fast(
    t: &SrouTables,
    frame: &mut [u8],
    claimed: impl Fn(u16) -> bool,
    c: &SrouCounters,
) -> Option<Adjacency> {
    // The parser looks at no more than MAX_FRAME_LEN bytes: such frames are its call.
    if frame.len() > MAX_FRAME_LEN {
        return None;
    }
    let h: &[u8; FAST_SROU] = frame.first_chunk()?;
    let ip: &[u8; ipv4::HEADER_LEN] = h[FAST_L3..FAST_L4].try_into().ok()?;
    // IPv4, IHL 5, UDP, neither a later fragment nor one with more to come.
    if h[12..14] != [0x08, 0x00] || ip[0] != 0x45 || ip[9] != 17 || ip[6] & 0x3f != 0 || ip[7] != 0
    {
        return None;
    }
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    if total < ipv4::HEADER_LEN + udp::HEADER_LEN || FAST_L3 + total > frame.len() {
        return None;
    }
    if checksum::checksum20(ip) != 0 {
        return None;
    }
    let u = &h[FAST_L4..FAST_SROU];
    let udp_len = usize::from(u16::from_be_bytes([u[4], u[5]]));
    if udp_len < udp::HEADER_LEN || udp_len > total - ipv4::HEADER_LEN {
        return None;
    }
    let dst_port = u16::from_be_bytes([u[2], u[3]]);
    if claimed(dst_port) {
        return None;
    }
    let locator = t.locator_raw(&ip[16..20], dst_port)?;
    let udp_end = FAST_L4 + udp_len;
    let srou = frame.get(FAST_SROU..udp_end)?;
    let lay = wire::Header::new_unchecked(srou).layout().ok()?;
    // IPv4 family: neither OAM nor IPv6 locators.
    if lay.address_len != 4 {
        return None;
    }
    let flow_id = srou.get(wire::FIXED_LEN..lay.source)?;
    if t.acl().check(flow_id) != TokenDecision::Permitted {
        return None;
    }
    let rx = Rx::new(true, locator, FAST_L3, FAST_L4, udp_end, &lay);
    // Segments Left 0 and a service segment next (decapsulation or a drop) are declined
    // by transit itself, which fails before it writes or counts anything.
    let adj = transit_family::<true>(t, frame, &rx, c).ok()?;
    c.tokens_permitted.add(1);
    Some(adj)
}

/// Forwards a classified packet ([`super::classify`]) to its next segment; returns the
/// adjacency it must leave on (MACs already written).
///
/// Every check comes before the first write and the first count: an error leaves the
/// frame and the counters as they were ([`transit_fast`] relies on it to decline).
///
/// Errors: Segments Left already 0 ([`DropReason::SrouSegmentsLeftZero`]), the next
/// segment is a service segment ([`DropReason::SrouBadServiceSegment`]), no adjacency for
/// it ([`DropReason::SrouNoNextHop`]), TTL / hop limit 1 or 0 ([`DropReason::TtlExpired`]),
/// or `frame` is not the frame `rx` was classified from (a header error).
///
/// The segment list has the outer header's family (classification checked the
/// Protocol-ID against it and the Segment Type against the Protocol-ID), so the next
/// segment's address is copied into the outer header as raw bytes, and the first-hop ALG
/// copies the outer source address and port (which have the SRoU Source's layout) as they
/// are. Every checksum change is accumulated once: the old destination becomes the new
/// source (a move the sums do not see), so the IPv4 header checksum changes by TTL and new
/// destination against old source, and the UDP checksum (only when not 0) by the same
/// addresses, ports, Segments Left and the ALG bytes.
#[inline]
pub(crate) fn transit(
    t: &SrouTables,
    frame: &mut [u8],
    rx: &Rx,
    c: &SrouCounters,
) -> Result<Adjacency, DropReason> {
    if rx.v4 {
        transit_family::<true>(t, frame, rx, c)
    } else {
        transit_family::<false>(t, frame, rx, c)
    }
}

/// [`transit`] for one address family: with the address length a constant, every copy
/// and checksum word loop below is a few fixed-size moves instead of calls to `memcpy`
/// and `memset` (a seventh of the transit time when the length was a run-time value).
#[inline(always)]
fn transit_family<const V4: bool>(
    t: &SrouTables,
    frame: &mut [u8],
    rx: &Rx,
    c: &SrouCounters,
) -> Result<Adjacency, DropReason> {
    let v4 = V4;
    let (ip_min, truncated) = if v4 {
        (ipv4::HEADER_LEN, DropReason::Ipv4Truncated)
    } else {
        (ipv6::HEADER_LEN, DropReason::Ipv6Truncated)
    };
    let (l3, l4, srou) = (rx.l3, rx.l4, rx.srou);
    if l3 + ip_min > l4 || l4 + udp::HEADER_LEN != srou || rx.udp_end > frame.len() {
        return Err(truncated);
    }
    let sl = rx.segments_left;
    if sl == 0 {
        return Err(DropReason::SrouSegmentsLeftZero);
    }
    let new_sl = sl - 1;
    let (src_off, dst_off, alen) = addr_offsets(v4);
    let seg_at = rx.segment_at(new_sl);
    let mut next = [0u8; 16];
    let next_port = {
        let slot = frame
            .get(seg_at..seg_at + alen + PORT_LEN)
            .ok_or(DropReason::SrouSegmentListTruncated)?;
        if v4 && slot[0] == SERVICE_SEGMENT_MARK {
            return Err(DropReason::SrouBadServiceSegment);
        }
        next[..alen].copy_from_slice(&slot[..alen]);
        u16::from_be_bytes([slot[alen], slot[alen + 1]])
    };
    let new_dst = &next[..alen];
    let adj = t.next_hop_raw(new_dst).ok_or(DropReason::SrouNoNextHop)?;
    let alg = rx.last_entry == sl;
    let sl_at = srou + rx.sr_at + 3;
    let src_at = srou + rx.src_at;
    let src_len = alen + PORT_LEN;
    if sl_at >= rx.udp_end || src_at + src_len > rx.udp_end {
        return Err(DropReason::SrouTruncated);
    }

    // Everything below indexes inside ..udp_end, which the checks above bound.
    let ttl_at = if v4 { l3 + 8 } else { l3 + 7 };
    let ttl = frame[ttl_at];
    if ttl <= 1 {
        return Err(DropReason::TtlExpired);
    }
    let mut old_src_buf = [0u8; 16];
    old_src_buf[..alen].copy_from_slice(&frame[l3 + src_off..l3 + src_off + alen]);
    let old_src = &old_src_buf[..alen];
    let old_sport = u16::from_be_bytes([frame[l4], frame[l4 + 1]]);
    let old_dport = u16::from_be_bytes([frame[l4 + 2], frame[l4 + 3]]);
    let udp_csum = u16::from_be_bytes([frame[l4 + 6], frame[l4 + 7]]);
    // The first-hop ALG writes the outer source address and port, as received, into the
    // SRoU Source (same layout: address then port).
    let mut alg_new = [0u8; 18];
    alg_new[..alen].copy_from_slice(old_src);
    alg_new[alen..src_len].copy_from_slice(&old_sport.to_be_bytes());

    // UDP checksum (0 stays 0): pseudo-header addresses, ports, Segments Left, ALG Source.
    if udp_csum != 0 {
        let mut ud = Delta::default();
        ud.bytes(0, old_src, new_dst);
        ud.word(old_sport, next_port);
        ud.bytes(sl_at - l4, &[sl], &[new_sl]);
        if alg {
            ud.bytes(
                src_at - l4,
                &frame[src_at..src_at + src_len],
                &alg_new[..src_len],
            );
        }
        let c = match ud.apply(udp_csum) {
            0 => 0xffff,
            c => c,
        };
        frame[l4 + 6..l4 + 8].copy_from_slice(&c.to_be_bytes());
    }

    // IP header: TTL, then source := old destination (our locator), destination := next.
    if v4 {
        let proto = frame[l3 + 9];
        let old = u64::from(u16::from_be_bytes([ttl, proto])) + words(old_src);
        let new = u64::from(u16::from_be_bytes([ttl - 1, proto])) + words(new_dst);
        let hc = u16::from_be_bytes([frame[l3 + 10], frame[l3 + 11]]);
        frame[l3 + 10..l3 + 12].copy_from_slice(&update(hc, old, new).to_be_bytes());
    }
    frame[ttl_at] = ttl - 1;
    if v4 {
        let mut locator = [0u8; 4];
        locator.copy_from_slice(&frame[l3 + dst_off..l3 + dst_off + 4]);
        frame[l3 + src_off..l3 + src_off + 4].copy_from_slice(&locator);
    } else {
        let mut locator = [0u8; 16];
        locator.copy_from_slice(&frame[l3 + dst_off..l3 + dst_off + 16]);
        frame[l3 + src_off..l3 + src_off + 16].copy_from_slice(&locator);
    }
    frame[l3 + dst_off..l3 + dst_off + alen].copy_from_slice(new_dst);

    // UDP header: source port := old destination port (our locator's).
    frame[l4..l4 + 2].copy_from_slice(&old_dport.to_be_bytes());
    frame[l4 + 2..l4 + 4].copy_from_slice(&next_port.to_be_bytes());

    // SRoU header.
    frame[sl_at] = new_sl;
    if alg {
        frame[src_at..src_at + src_len].copy_from_slice(&alg_new[..src_len]);
        c.nat_alg.add(1);
    }

    adj.rewrite(frame);
    c.transited.add(1);
    Ok(*adj)
}

/// The one's-complement sum of the big-endian 16-bit words of an even-length field at an
/// even offset (unfolded).
#[inline(always)]
fn words(b: &[u8]) -> u64 {
    let mut s = 0u64;
    for w in b.chunks_exact(2) {
        s += u64::from(u16::from_be_bytes([w[0], w[1]]));
    }
    s
}

/// `~(~HC + ~old + new)` (RFC 1624, eqn. 3) for the unfolded sums of the old and new
/// contents of every changed word.
#[inline(always)]
fn update(hc: u16, old: u64, new: u64) -> u16 {
    !checksum::fold(u64::from(!hc) + u64::from(!checksum::fold(old)) + new)
}
