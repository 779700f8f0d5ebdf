//! The ITR action: LISP encapsulation of a packet to a DSEID towards its flow's RLOC
//! (module docs of [`crate::dyncast`] for the header choices).

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::lisp::{self, DATA_PORT};
use super::map_cache::Rloc;
use super::DyncastTables;
use crate::buf::PacketBuf;
use crate::drop::DropReason;
use crate::packet::{L3Kind, PacketMeta};
use crate::wire::{ipv4, ipv6, udp, IpProtocol};

const ETH_LEN: usize = 14;

/// The IP destination of a parsed IPv4/IPv6 frame.
#[inline]
pub fn destination(frame: &[u8], meta: &PacketMeta) -> Option<IpAddr> {
    let l3 = usize::from(meta.l3_offset);
    match meta.l3 {
        L3Kind::Ipv4 => {
            let b: [u8; 4] = frame.get(l3 + 16..l3 + 20)?.try_into().ok()?;
            Some(IpAddr::V4(Ipv4Addr::from(b)))
        }
        L3Kind::Ipv6 => {
            let b: [u8; 16] = frame.get(l3 + 24..l3 + 40)?.try_into().ok()?;
            Some(IpAddr::V6(Ipv6Addr::from(b)))
        }
        L3Kind::Mpls => None,
    }
}

/// [`DropReason::TtlExpired`] unless the TTL / hop limit is above 1.
#[inline]
pub fn check_ttl(frame: &[u8], meta: &PacketMeta) -> Result<(), DropReason> {
    let l3 = usize::from(meta.l3_offset);
    let at = match meta.l3 {
        L3Kind::Ipv4 => l3 + 8,
        _ => l3 + 7,
    };
    match frame.get(at) {
        Some(t) if *t > 1 => Ok(()),
        _ => Err(DropReason::TtlExpired),
    }
}

/// Wraps the IP packet of a parsed frame as
/// `Ethernet | outer IP | UDP 4341 | LISP | inner` towards `rloc` (MACs written), the inner
/// TTL / hop limit decremented. The caller has checked the TTL ([`check_ttl`]) and that
/// `source` is of the RLOC's family.
///
/// Errors: [`DropReason::DyncastTooBig`] beyond 65535 bytes of outer IP,
/// [`DropReason::DyncastNoHeadroom`] without room in front.
pub fn encapsulate<B: PacketBuf>(
    t: &DyncastTables,
    pkt: &mut B,
    meta: &PacketMeta,
    rloc: &Rloc,
    source: IpAddr,
    instance_id: Option<u32>,
    hash: u64,
) -> Result<(), DropReason> {
    let inner_v4 = match meta.l3 {
        L3Kind::Ipv4 => true,
        L3Kind::Ipv6 => false,
        L3Kind::Mpls => return Err(DropReason::DyncastNoRloc),
    };
    let l3 = usize::from(meta.l3_offset);
    let end = usize::from(meta.l3_end);
    let inner_len = end.saturating_sub(l3);
    let outer_v4 = rloc.addr.is_ipv4();
    let ip_len = if outer_v4 {
        ipv4::HEADER_LEN
    } else {
        ipv6::HEADER_LEN
    };
    let udp_len = udp::HEADER_LEN + lisp::HEADER_LEN + inner_len;
    let ip_field = if outer_v4 { ip_len + udp_len } else { udp_len };
    let ip_field = u16::try_from(ip_field).map_err(|_| DropReason::DyncastTooBig)?;
    let udp_field = udp_len as u16; // udp_len <= ip_field

    // Route the inner packet: decrement its TTL / hop limit, and read what the outer
    // header copies (TOS, the new TTL).
    let (tos, ttl) = {
        let frame = pkt.data_mut();
        let ip = frame
            .get_mut(l3..end)
            .filter(|ip| {
                ip.len()
                    >= if inner_v4 {
                        ipv4::HEADER_LEN
                    } else {
                        ipv6::HEADER_LEN
                    }
            })
            .ok_or(DropReason::DyncastNoRloc)?;
        if inner_v4 {
            let mut p = ipv4::Packet::new_unchecked(ip);
            let ttl = p.decrement_ttl();
            (p.dscp() << 2 | p.ecn(), ttl)
        } else {
            let mut p = ipv6::Packet::new_unchecked(ip);
            let hl = p.hop_limit().saturating_sub(1);
            p.set_hop_limit(hl);
            (p.traffic_class(), hl)
        }
    };

    let hdr = ETH_LEN + ip_len + udp::HEADER_LEN + lisp::HEADER_LEN;
    let ok = if l3 >= hdr {
        pkt.adj(l3 - hdr)
    } else {
        pkt.prepend(hdr - l3)
    };
    if !ok {
        return Err(DropReason::DyncastNoHeadroom);
    }
    let frame = pkt.data_mut();
    let hdrs = frame.get_mut(..hdr).ok_or(DropReason::DyncastNoHeadroom)?;
    let (eth, rest) = hdrs.split_at_mut(ETH_LEN);
    rloc.adjacency.rewrite(eth);
    let ethertype: u16 = if outer_v4 { 0x0800 } else { 0x86dd };
    eth[12..14].copy_from_slice(&ethertype.to_be_bytes());

    let (ip, rest) = rest.split_at_mut(ip_len);
    match (source, rloc.addr) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let mut o = ipv4::Packet::new_unchecked(&mut *ip);
            o.set_version(4);
            o.set_header_len(ipv4::HEADER_LEN);
            o.set_dscp(tos >> 2);
            o.set_ecn(tos & 3);
            o.set_total_len(ip_field);
            o.set_ident(0);
            o.clear_flags();
            o.set_dont_frag(true);
            o.set_frag_offset(0);
            o.set_ttl(ttl);
            o.set_protocol(IpProtocol::UDP);
            o.set_src_addr(s);
            o.set_dst_addr(d);
            o.fill_checksum();
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            ipv6::Repr {
                src_addr: s,
                dst_addr: d,
                next_header: IpProtocol::UDP,
                payload_len: usize::from(ip_field),
                hop_limit: ttl,
                traffic_class: tos,
                flow_label: hash as u32,
            }
            .emit(&mut ipv6::Packet::new_unchecked(&mut *ip));
        }
        _ => return Err(DropReason::DyncastNoRloc),
    }

    let (uh, lh) = rest.split_at_mut(udp::HEADER_LEN);
    let mut u = udp::Packet::new_unchecked(uh);
    u.set_src_port(0xc000 | ((hash >> 16) as u16 & 0x3fff));
    u.set_dst_port(DATA_PORT);
    u.set_len(udp_field);
    u.set_checksum(0);
    lisp::Repr { instance_id }.emit(&mut lisp::Header::new_unchecked(lh));

    if !outer_v4 || t.udp_checksum() {
        let at = ETH_LEN + ip_len;
        if let Some(dgram) = frame.get_mut(at..at + udp_len) {
            udp::Packet::new_unchecked(dgram).fill_checksum(&source, &rloc.addr);
        }
    }
    Ok(())
}
