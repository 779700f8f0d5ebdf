//! Ingress: wrap a plain IP packet into `Ethernet | outer IP | UDP | SRoU` per its
//! destination's [`SrouPolicy`], and send it to the first hop (Segment List\[Last Entry\]).

use core::net::IpAddr;

use super::{addr_offsets, read_ip, Outcome, SrouCounters, SrouPolicy, SrouTables, ETH_LEN};
use crate::buf::PacketBuf;
use crate::drop::DropReason;
use crate::packet::{L3Kind, PacketMeta};
use crate::wire::{checksum, ethernet, ipv4, ipv6, udp, IpProtocol};

/// Encapsulates the frame if its IP destination has a policy; [`Outcome::Pass`] (frame
/// untouched) if not, or for MPLS.
#[inline]
pub fn encapsulate<B: PacketBuf>(
    t: &SrouTables,
    pkt: &mut B,
    meta: &PacketMeta,
    c: &SrouCounters,
) -> Result<Outcome, DropReason> {
    let v4 = match meta.l3 {
        L3Kind::Ipv4 => true,
        L3Kind::Ipv6 => false,
        L3Kind::Mpls => return Ok(Outcome::Pass),
    };
    let (_, dst_off, _) = addr_offsets(v4);
    let l3 = usize::from(meta.l3_offset);
    let Some(dst) = pkt.data().get(l3 + dst_off..).and_then(|b| read_ip(b, v4)) else {
        return Ok(Outcome::Pass);
    };
    match t.policy(&dst) {
        Some(policy) => encapsulate_with(t, policy, pkt, meta, c).map(Outcome::Encapsulated),
        None => Ok(Outcome::Pass),
    }
}

/// Encapsulates the IP packet of a parsed frame with `policy` (whatever its destination)
/// and returns the adjacency it must leave on (MACs already written).
///
/// The frame becomes `Ethernet | outer IP | UDP | SRoU | inner`, the inner IP datagram
/// untouched. Errors: the policy's token is refused ([`DropReason::SrouTokenBlocked`],
/// [`DropReason::SrouTokenNotPermitted`]), not an IP frame ([`DropReason::SrouBadInner`]),
/// too long ([`DropReason::SrouTooBig`]), not enough headroom
/// ([`DropReason::SrouNoHeadroom`]).
pub fn encapsulate_with<B: PacketBuf>(
    t: &SrouTables,
    policy: &SrouPolicy,
    pkt: &mut B,
    meta: &PacketMeta,
    c: &SrouCounters,
) -> Result<crate::adjacency::Adjacency, DropReason> {
    policy.token_decision().result()?;
    c.tokens_permitted.add(1);
    let inner_v4 = match meta.l3 {
        L3Kind::Ipv4 => true,
        L3Kind::Ipv6 => false,
        L3Kind::Mpls => return Err(DropReason::SrouBadInner),
    };
    let l3 = usize::from(meta.l3_offset);
    let end = usize::from(meta.l3_end);
    let frame = pkt.data();
    if end > frame.len() || end <= l3 {
        return Err(DropReason::SrouBadInner);
    }
    let inner_len = end - l3;
    let tos = if inner_v4 {
        *frame.get(l3 + 1).ok_or(DropReason::SrouBadInner)?
    } else {
        // Traffic class: the low nibble of byte 0 and the high nibble of byte 1.
        let b = frame.get(l3..l3 + 2).ok_or(DropReason::SrouBadInner)?;
        (b[0] << 4) | (b[1] >> 4)
    };

    let source = policy.source();
    let first_hop = policy.first_hop();
    let outer_v4 = source.is_ipv4();
    let srou = policy.header();
    let ip_len = if outer_v4 {
        ipv4::HEADER_LEN
    } else {
        ipv6::HEADER_LEN
    };
    let udp_len = udp::HEADER_LEN + srou.len() + inner_len;
    let ip_field = if outer_v4 { ip_len + udp_len } else { udp_len };
    let ip_field = u16::try_from(ip_field).map_err(|_| DropReason::SrouTooBig)?;
    let udp_field = udp_len as u16; // udp_len <= ip_field

    // The inner packet moves from l3 to inner_at; grow (or, never in practice, shrink)
    // at the front.
    let inner_at = ETH_LEN + ip_len + udp::HEADER_LEN + srou.len();
    let ok = if inner_at >= l3 {
        pkt.prepend(inner_at - l3)
    } else {
        pkt.adj(l3 - inner_at)
    };
    if !ok {
        return Err(DropReason::SrouNoHeadroom);
    }
    let frame = pkt.data_mut();
    let Some(hdrs) = frame.get_mut(..inner_at) else {
        return Err(DropReason::SrouNoHeadroom);
    };
    let adj = policy.adjacency();

    let (eth, rest) = hdrs.split_at_mut(ETH_LEN);
    adj.rewrite(eth);
    let ethertype = if outer_v4 {
        ethernet::EtherType::IPV4
    } else {
        ethernet::EtherType::IPV6
    };
    eth[12..14].copy_from_slice(&ethertype.0.to_be_bytes());

    let (ip, rest) = rest.split_at_mut(ip_len);
    if outer_v4 {
        ip[0] = 0x45;
        ip[1] = tos;
        ip[2..4].copy_from_slice(&ip_field.to_be_bytes());
        ip[4..6].copy_from_slice(&[0, 0]); // Identification 0: DF is set (RFC 6864)
        ip[6..8].copy_from_slice(&0x4000u16.to_be_bytes());
        ip[8] = t.outer_ttl();
        ip[9] = IpProtocol::UDP.0;
        ip[10..12].copy_from_slice(&[0, 0]);
    } else {
        let word = (6u32 << 28) | (u32::from(tos) << 20);
        ip[0..4].copy_from_slice(&word.to_be_bytes());
        ip[4..6].copy_from_slice(&ip_field.to_be_bytes());
        ip[6] = IpProtocol::UDP.0;
        ip[7] = t.outer_ttl();
    }
    let (src_off, dst_off, alen) = addr_offsets(outer_v4);
    write_ip(&mut ip[src_off..src_off + alen], &source.ip());
    write_ip(&mut ip[dst_off..dst_off + alen], &first_hop.ip());
    if outer_v4 {
        let c = checksum::checksum(ip);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
    }

    let (uh, sr) = rest.split_at_mut(udp::HEADER_LEN);
    uh[0..2].copy_from_slice(&source.port().to_be_bytes());
    uh[2..4].copy_from_slice(&first_hop.port().to_be_bytes());
    uh[4..6].copy_from_slice(&udp_field.to_be_bytes());
    uh[6..8].copy_from_slice(&[0, 0]);
    sr.copy_from_slice(srou);

    if !outer_v4 || t.udp_checksum() {
        let at = ETH_LEN + ip_len;
        if let Some(dgram) = frame.get_mut(at..at + udp_len) {
            udp::Packet::new_unchecked(dgram).fill_checksum(&source.ip(), &first_hop.ip());
        }
    }
    c.encapsulated.add(1);
    Ok(adj)
}

/// Writes an address into a slice of its exact length.
#[inline]
pub(crate) fn write_ip(b: &mut [u8], ip: &IpAddr) {
    match ip {
        IpAddr::V4(a) => b.copy_from_slice(&a.octets()),
        IpAddr::V6(a) => b.copy_from_slice(&a.octets()),
    }
}
