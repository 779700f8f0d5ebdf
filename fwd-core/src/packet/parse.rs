//! The single-pass frame parser.

use super::meta::{flags, L3Kind, PacketMeta};
use crate::drop::DropReason;
use crate::wire::ethernet::{self, EtherType};
use crate::wire::ipv6::{self, FragmentHeader};
use crate::wire::{ipv4, mpls, srh, udp, vlan, IpProtocol};

/// Longest frame the parser looks at. A DPDK mbuf segment holds at most 65535 bytes
/// (`data_len` is 16-bit), so every offset fits [`PacketMeta`]'s `u16`s; bytes of a
/// longer slice past this are treated as absent.
pub const MAX_FRAME_LEN: usize = u16::MAX as usize;
/// Most VLAN tags accepted (QinQ).
pub const MAX_VLAN_TAGS: usize = 2;
/// Most IPv6 extension headers accepted in one chain.
pub const MAX_IPV6_EXT_HEADERS: usize = 8;
/// Deepest MPLS label stack accepted.
pub const MAX_MPLS_DEPTH: usize = 8;

/// The bytes of `frame` from `off` on (empty if `off` is past the end).
#[inline]
fn rest(frame: &[u8], off: usize) -> &[u8] {
    frame.get(off..).unwrap_or(&[])
}

/// An offset into a frame of at most [`MAX_FRAME_LEN`] bytes, as stored in the meta.
#[inline]
fn off16(v: usize) -> u16 {
    u16::try_from(v).unwrap_or(u16::MAX)
}

/// Parses a received Ethernet frame (no FCS) in one pass, validating every header the
/// data plane relies on, and returns where each one is. Never panics and never allocates.
///
/// Walks Ethernet II, up to [`MAX_VLAN_TAGS`] VLAN tags (TPID 0x8100 or 0x88a8), then:
/// - IPv4: version, IHL, total length (Ethernet padding after it is allowed and excluded
///   from [`PacketMeta::l3_end`]), header checksum; UDP parsed unless the datagram is a
///   non-first fragment;
/// - IPv6: version, payload length, then up to [`MAX_IPV6_EXT_HEADERS`] Hop-by-Hop,
///   Routing, Fragment and Destination Options headers; a Routing header of type 4 is an
///   SRv6 SRH and is validated (RFC 8754); the walk stops at the first other Next Header,
///   which is recorded, and UDP is parsed;
/// - MPLS: the label stack up to the bottom of stack, at most [`MAX_MPLS_DEPTH`] entries,
///   and a first-nibble guess of what it carries.
///
/// In the first fragment of a fragmented datagram the UDP length covers the whole
/// datagram, so there it is only checked to be at least 8.
///
/// Any other EtherType is [`DropReason::UnknownEthertype`]. Every error is the
/// [`DropReason`] the packet is counted under.
#[inline]
pub fn parse(frame: &[u8]) -> Result<PacketMeta, DropReason> {
    let frame = frame.get(..MAX_FRAME_LEN).unwrap_or(frame);
    let eth = ethernet::Frame::new_checked(frame)?;
    if frame.len() == ethernet::HEADER_LEN {
        return Err(DropReason::EthNoPayload);
    }
    let mut meta = PacketMeta::default();
    let mut ethertype = eth.ethertype();
    let mut off = ethernet::HEADER_LEN;

    let mut tags = 0;
    while ethertype.is_vlan_tpid() {
        if tags == MAX_VLAN_TAGS {
            return Err(DropReason::VlanTooManyTags);
        }
        let tag = vlan::Tag::new_checked(rest(frame, off))?;
        if tags == 0 {
            meta.outer_vlan = tag.vlan_id();
            meta.flags |= flags::VLAN;
        } else {
            meta.inner_vlan = tag.vlan_id();
            meta.flags |= flags::QINQ;
        }
        ethertype = tag.ethertype();
        off += vlan::HEADER_LEN;
        tags += 1;
    }
    meta.ethertype = ethertype.0;

    match ethertype {
        EtherType::IPV4 => parse_ipv4(frame, off, &mut meta)?,
        EtherType::IPV6 => parse_ipv6(frame, off, &mut meta)?,
        EtherType::MPLS | EtherType::MPLS_MCAST => parse_mpls(frame, off, &mut meta)?,
        _ => return Err(DropReason::UnknownEthertype),
    }
    Ok(meta)
}

/// IPv4 header at `off`, then UDP.
#[inline]
fn parse_ipv4(frame: &[u8], off: usize, meta: &mut PacketMeta) -> Result<(), DropReason> {
    let buf = rest(frame, off);
    if buf.len() < ipv4::HEADER_LEN {
        return Err(DropReason::Ipv4Truncated);
    }
    let ip = ipv4::Packet::new_unchecked(buf);
    if ip.version() != 4 {
        return Err(DropReason::Ipv4BadVersion);
    }
    ip.check_len()?;
    if !ip.verify_checksum() {
        return Err(DropReason::Ipv4BadChecksum);
    }
    let header_len = ip.header_len();
    meta.l3 = L3Kind::Ipv4;
    meta.l3_offset = off16(off);
    meta.l3_end = off16(off + usize::from(ip.total_len()));
    meta.l4_proto = ip.protocol().0;
    if header_len > ipv4::HEADER_LEN {
        meta.flags |= flags::IPV4_OPTIONS;
    }
    let fragment = ip.is_fragment();
    if fragment {
        meta.flags |= flags::FRAGMENT;
        if ip.frag_offset() != 0 {
            meta.flags |= flags::LATER_FRAGMENT;
            return Ok(());
        }
    }
    let l4 = off + header_len;
    meta.l4_offset = off16(l4);
    if ip.protocol() == IpProtocol::UDP {
        parse_udp(ip.payload(), fragment, meta)?;
    }
    Ok(())
}

/// IPv6 header at `off`, its extension header chain, then UDP.
#[inline]
fn parse_ipv6(frame: &[u8], off: usize, meta: &mut PacketMeta) -> Result<(), DropReason> {
    let buf = rest(frame, off);
    if buf.len() < ipv6::HEADER_LEN {
        return Err(DropReason::Ipv6Truncated);
    }
    let ip = ipv6::Packet::new_unchecked(buf);
    if ip.version() != 6 {
        return Err(DropReason::Ipv6BadVersion);
    }
    ip.check_len()?;
    let payload = ip.payload();
    let base = off + ipv6::HEADER_LEN;
    meta.l3 = L3Kind::Ipv6;
    meta.l3_offset = off16(off);
    meta.l3_end = off16(base + payload.len());

    let mut next = ip.next_header();
    let mut pos = 0;
    let mut count = 0;
    let mut fragment = false;
    while next.is_ipv6_extension() {
        if count == MAX_IPV6_EXT_HEADERS {
            return Err(DropReason::Ipv6TooManyExt);
        }
        count += 1;
        let hdr = rest(payload, pos);
        let (after, len) = match next {
            IpProtocol::IPV6_FRAG => {
                let frag = FragmentHeader::new_checked(hdr)?;
                if frag.more_frags() || frag.frag_offset() != 0 {
                    fragment = true;
                    meta.flags |= flags::FRAGMENT;
                }
                if frag.frag_offset() != 0 {
                    meta.flags |= flags::LATER_FRAGMENT;
                    meta.l4_proto = frag.next_header().0;
                    return Ok(());
                }
                (frag.next_header(), ipv6::FRAG_HEADER_LEN)
            }
            IpProtocol::IPV6_ROUTE if hdr.get(2) == Some(&srh::ROUTING_TYPE) => {
                let seg = srh::Header::new_checked(hdr)?;
                seg.check_segments_left()?;
                if meta.srh_offset == 0 {
                    meta.srh_offset = off16(base + pos);
                }
                (seg.next_header(), seg.header_len())
            }
            _ => ipv6::ext_header_len(next, hdr)?,
        };
        next = after;
        pos += len;
    }

    meta.l4_proto = next.0;
    meta.l4_offset = off16(base + pos);
    if next == IpProtocol::UDP {
        parse_udp(rest(payload, pos), fragment, meta)?;
    }
    Ok(())
}

/// UDP header at the start of `payload` (the rest of the IP payload, padding excluded).
/// In a first fragment the length field covers the whole datagram, so it is only checked
/// to be at least 8.
#[inline]
fn parse_udp(payload: &[u8], fragment: bool, meta: &mut PacketMeta) -> Result<(), DropReason> {
    if payload.len() < udp::HEADER_LEN {
        return Err(DropReason::UdpTruncated);
    }
    let dgram = udp::Packet::new_unchecked(payload);
    let len = usize::from(dgram.len());
    if len < udp::HEADER_LEN || (!fragment && len > payload.len()) {
        return Err(DropReason::UdpBadLength);
    }
    meta.src_port = dgram.src_port();
    meta.dst_port = dgram.dst_port();
    Ok(())
}

/// MPLS label stack at `off`.
#[inline]
fn parse_mpls(frame: &[u8], off: usize, meta: &mut PacketMeta) -> Result<(), DropReason> {
    let buf = rest(frame, off);
    let depth = mpls::stack_depth(buf, MAX_MPLS_DEPTH)?;
    meta.l3 = L3Kind::Mpls;
    meta.l3_offset = off16(off);
    meta.l3_end = off16(frame.len());
    meta.mpls_depth = depth as u8;
    match buf.get(depth * mpls::ENTRY_LEN).map(|b| b >> 4) {
        Some(4) => meta.flags |= flags::MPLS_INNER_IPV4,
        Some(6) => meta.flags |= flags::MPLS_INNER_IPV6,
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ethernet::Address;
    use crate::wire::{checksum, ipv6::ExtHeader};
    use core::net::{Ipv4Addr, Ipv6Addr};
    use proptest::prelude::*;

    const DST_MAC: Address = Address([0x02, 0, 0, 0, 0, 0x02]);
    const SRC_MAC: Address = Address([0x02, 0, 0, 0, 0, 0x01]);

    /// Ethernet header with VLAN tags `(tpid, vid)` and the final EtherType.
    fn eth(tags: &[(EtherType, u16)], ethertype: EtherType) -> Vec<u8> {
        let mut f = vec![0u8; ethernet::HEADER_LEN + tags.len() * vlan::HEADER_LEN];
        let first = tags.first().map_or(ethertype, |t| t.0);
        ethernet::Repr {
            src_addr: SRC_MAC,
            dst_addr: DST_MAC,
            ethertype: first,
        }
        .emit(&mut ethernet::Frame::new_unchecked(&mut f[..]));
        for (i, (_, vid)) in tags.iter().enumerate() {
            let next = tags.get(i + 1).map_or(ethertype, |t| t.0);
            let at = ethernet::HEADER_LEN + i * vlan::HEADER_LEN;
            vlan::Repr {
                pcp: 3,
                dei: false,
                vlan_id: *vid,
                ethertype: next,
            }
            .emit(&mut vlan::Tag::new_unchecked(&mut f[at..]));
        }
        f
    }

    /// UDP datagram with a zero checksum.
    fn udp_dgram(src_port: u16, dst_port: u16, payload: &[u8]) -> Vec<u8> {
        let mut d = vec![0u8; udp::HEADER_LEN + payload.len()];
        d[udp::HEADER_LEN..].copy_from_slice(payload);
        udp::Repr {
            src_port,
            dst_port,
            payload_len: payload.len(),
        }
        .emit(&mut udp::Packet::new_unchecked(&mut d[..]));
        d
    }

    fn v4(a: u8) -> Ipv4Addr {
        Ipv4Addr::new(10, 0, 0, a)
    }

    /// IPv4 datagram without options.
    fn ipv4_dgram(protocol: IpProtocol, payload: &[u8]) -> Vec<u8> {
        let mut d = vec![0u8; ipv4::HEADER_LEN + payload.len()];
        d[ipv4::HEADER_LEN..].copy_from_slice(payload);
        ipv4::Repr {
            src_addr: v4(1),
            dst_addr: v4(2),
            protocol,
            payload_len: payload.len(),
            ttl: 64,
            dscp: 0,
            ident: 0x1234,
            dont_frag: false,
        }
        .emit(&mut ipv4::Packet::new_unchecked(&mut d[..]));
        d
    }

    /// IPv4 datagram with options, fragment fields, valid checksum.
    fn ipv4_full(
        protocol: IpProtocol,
        options: &[u8],
        more_frags: bool,
        frag_offset: u16,
        payload: &[u8],
    ) -> Vec<u8> {
        let hl = ipv4::HEADER_LEN + options.len();
        let mut d = vec![0u8; hl + payload.len()];
        d[ipv4::HEADER_LEN..hl].copy_from_slice(options);
        d[hl..].copy_from_slice(payload);
        let mut p = ipv4::Packet::new_unchecked(&mut d[..]);
        p.set_version(4);
        p.set_header_len(hl);
        p.set_total_len((hl + payload.len()) as u16);
        p.set_more_frags(more_frags);
        p.set_frag_offset(frag_offset);
        p.set_ttl(64);
        p.set_protocol(protocol);
        p.set_src_addr(v4(1));
        p.set_dst_addr(v4(2));
        p.fill_checksum();
        d
    }

    fn v6(a: u16) -> Ipv6Addr {
        Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, a)
    }

    /// IPv6 datagram whose payload (extension headers included) is `payload`.
    fn ipv6_dgram(next_header: IpProtocol, payload: &[u8]) -> Vec<u8> {
        let mut d = vec![0u8; ipv6::HEADER_LEN + payload.len()];
        d[ipv6::HEADER_LEN..].copy_from_slice(payload);
        ipv6::Repr {
            src_addr: v6(1),
            dst_addr: v6(2),
            next_header,
            payload_len: payload.len(),
            hop_limit: 64,
            traffic_class: 0,
            flow_label: 0,
        }
        .emit(&mut ipv6::Packet::new_unchecked(&mut d[..]));
        d
    }

    /// An 8-byte Hop-by-Hop or Destination Options header (PadN).
    fn opts(next: IpProtocol) -> Vec<u8> {
        let mut h = vec![0u8; 8];
        let mut e = ExtHeader::new_unchecked(&mut h[..]);
        e.set_next_header(next);
        e.set_header_len_field(0);
        e.data_mut().copy_from_slice(&[0x01, 0x04, 0, 0, 0, 0]);
        h
    }

    fn frag(next: IpProtocol, offset: u16, more: bool) -> Vec<u8> {
        let mut h = vec![0u8; 8];
        let mut f = FragmentHeader::new_unchecked(&mut h[..]);
        f.set_next_header(next);
        f.set_frag_offset(offset);
        f.set_more_frags(more);
        f.set_ident(0xcafe);
        h
    }

    /// An SRH over `segs` (Segment List\[0\] first).
    fn srh_hdr(next: IpProtocol, segments_left: u8, segs: &[Ipv6Addr]) -> Vec<u8> {
        let raw: Vec<u8> = segs.iter().flat_map(|s| s.octets()).collect();
        let repr = srh::Repr {
            next_header: next,
            segments_left,
            flags: 0,
            tag: 0,
            segments: &raw,
        };
        let mut h = vec![0u8; repr.buffer_len()];
        repr.emit(&mut srh::Header::new_unchecked(&mut h[..]));
        h
    }

    /// Label stack entries `(label, bottom)` with TTL 64.
    fn mpls_stack(labels: &[(u32, bool)]) -> Vec<u8> {
        let mut s = vec![0u8; labels.len() * mpls::ENTRY_LEN];
        for (i, (label, bos)) in labels.iter().enumerate() {
            mpls::Repr {
                label: *label,
                tc: 0,
                bottom_of_stack: *bos,
                ttl: 64,
            }
            .emit(&mut mpls::Entry::new_unchecked(&mut s[i * 4..]));
        }
        s
    }

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    fn eth_ipv4_udp() -> Vec<u8> {
        let l4 = udp_dgram(1000, 2000, b"hello");
        cat(&[
            &eth(&[], EtherType::IPV4),
            &ipv4_dgram(IpProtocol::UDP, &l4),
        ])
    }

    fn eth_ipv6_hbh_srh_udp() -> Vec<u8> {
        let l4 = udp_dgram(5000, 6000, b"srv6 payload");
        let ext = cat(&[
            &opts(IpProtocol::IPV6_ROUTE),
            &srh_hdr(IpProtocol::UDP, 2, &[v6(30), v6(20), v6(10)]),
            &l4,
        ]);
        cat(&[
            &eth(&[], EtherType::IPV6),
            &ipv6_dgram(IpProtocol::HOP_BY_HOP, &ext),
        ])
    }

    fn eth_mpls3_ipv4() -> Vec<u8> {
        let inner = ipv4_dgram(IpProtocol::UDP, &udp_dgram(1, 2, b"x"));
        cat(&[
            &eth(&[], EtherType::MPLS),
            &mpls_stack(&[(100, false), (200, false), (300, true)]),
            &inner,
        ])
    }

    /// Checks what any successful parse must guarantee about its offsets and views.
    fn check_invariants(frame: &[u8], m: &PacketMeta) {
        let len = frame.len().min(MAX_FRAME_LEN);
        let l3 = usize::from(m.l3_offset);
        let end = usize::from(m.l3_end);
        assert!(l3 >= ethernet::HEADER_LEN, "{m:?}");
        assert!(l3 <= end && end <= len, "{m:?}");
        if m.has_l4() {
            let l4 = usize::from(m.l4_offset);
            assert!(l3 < l4 && l4 <= end, "{m:?}");
        }
        match m.l3 {
            L3Kind::Ipv4 => assert!(m.ipv4(frame).is_some()),
            L3Kind::Ipv6 => assert!(m.ipv6(frame).is_some()),
            L3Kind::Mpls => {
                assert!(m.mpls_top(frame).is_some());
                assert!((1..=MAX_MPLS_DEPTH as u8).contains(&m.mpls_depth));
                assert!(m.mpls_payload_offset().unwrap() <= len);
            }
        }
        if m.srh_offset().is_some() {
            assert!(m.srh(frame).is_some());
        }
        if m.is_udp() && !m.is_fragment() {
            assert!(m.udp(frame).is_some());
        }
        if m.has(flags::LATER_FRAGMENT) {
            assert!(!m.has_l4());
        }
    }

    fn parse_ok(frame: &[u8]) -> PacketMeta {
        let m = parse(frame).unwrap_or_else(|e| panic!("expected a valid frame, got {e}"));
        check_invariants(frame, &m);
        m
    }

    #[test]
    fn ethernet_ipv4_udp() {
        let f = eth_ipv4_udp();
        let m = parse_ok(&f);
        assert_eq!(
            m,
            PacketMeta {
                l3_offset: 14,
                l3_end: 14 + 20 + 8 + 5,
                l4_offset: 34,
                srh_offset: 0,
                outer_vlan: 0,
                inner_vlan: 0,
                ethertype: 0x0800,
                src_port: 1000,
                dst_port: 2000,
                l3: L3Kind::Ipv4,
                l4_proto: 17,
                mpls_depth: 0,
                flags: 0,
            }
        );
        assert!(m.is_udp());
        assert_eq!(m.vlan(), None);
        assert_eq!(m.l3_range(), 14..47);
        assert_eq!(m.l4_range(), Some(34..47));
        assert_eq!(m.l4_protocol(), Some(IpProtocol::UDP));
        assert_eq!(m.ethertype(), EtherType::IPV4);
        let ip = m.ipv4(&f).unwrap();
        assert_eq!(ip.dst_addr(), v4(2));
        let u = m.udp(&f).unwrap();
        assert_eq!(u.payload(), b"hello");
        assert_eq!(m.ethernet(&f).unwrap().src_addr(), SRC_MAC);
    }

    #[test]
    fn ethernet_padding_is_not_payload() {
        let mut f = eth_ipv4_udp();
        let unpadded = parse_ok(&f);
        f.resize(60, 0);
        let m = parse_ok(&f);
        assert_eq!(m, unpadded);
        assert_eq!(m.l3_end, 47);
        assert_eq!(m.udp(&f).unwrap().payload(), b"hello");
        assert_eq!(m.ipv4(&f).unwrap().as_ref().len(), 33);
    }

    #[test]
    fn mutable_views_rewrite_in_place() {
        let mut f = eth_ipv4_udp();
        let m = parse_ok(&f);
        {
            let mut ip = m.ipv4_mut(&mut f).unwrap();
            assert_eq!(ip.decrement_ttl(), 63);
        }
        m.udp_mut(&mut f).unwrap().set_dst_port(4242);
        m.ethernet_mut(&mut f)
            .unwrap()
            .set_dst_addr(Address::BROADCAST);
        let again = parse_ok(&f);
        assert_eq!(again.dst_port, 4242);
        assert_eq!(m.ipv4(&f).unwrap().ttl(), 63);
        assert!(m.ethernet(&f).unwrap().dst_addr().is_broadcast());
    }

    #[test]
    fn ipv4_with_options() {
        let options = [0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00]; // RA, NOP, NOP, NOP, EOL
        let l4 = udp_dgram(7, 9, b"opt");
        let f = cat(&[
            &eth(&[], EtherType::IPV4),
            &ipv4_full(IpProtocol::UDP, &options, false, 0, &l4),
        ]);
        let m = parse_ok(&f);
        assert_eq!(m.l4_offset, 14 + 28);
        assert!(m.has(flags::IPV4_OPTIONS));
        assert_eq!((m.src_port, m.dst_port), (7, 9));
        assert_eq!(m.ipv4(&f).unwrap().options(), &options);
        // Longest header: IHL 15, 40 bytes of options.
        let options = [0x01u8; 40];
        let f = cat(&[
            &eth(&[], EtherType::IPV4),
            &ipv4_full(IpProtocol::TCP, &options, false, 0, &[0u8; 20]),
        ]);
        let m = parse_ok(&f);
        assert_eq!(m.l4_offset, 14 + 60);
        assert_eq!(m.l4_proto, 6);
        assert!(!m.is_udp());
    }

    #[test]
    fn single_tag_and_priority_tag() {
        let l3 = ipv4_dgram(IpProtocol::UDP, &udp_dgram(1, 2, &[]));
        let f = cat(&[&eth(&[(EtherType::VLAN, 42)], EtherType::IPV4), &l3]);
        let m = parse_ok(&f);
        assert_eq!(m.vlan(), Some(42));
        assert_eq!(m.inner_vlan(), None);
        assert_eq!(m.l3_offset, 18);
        assert_eq!(m.ethertype, 0x0800);
        let f = cat(&[&eth(&[(EtherType::VLAN, 0)], EtherType::IPV4), &l3]);
        let m = parse_ok(&f);
        assert_eq!(m.vlan(), Some(0), "a priority tag still counts as tagged");
        assert!(m.has(flags::VLAN));
    }

    #[test]
    fn qinq() {
        let l3 = ipv4_dgram(IpProtocol::UDP, &udp_dgram(1, 2, b"qinq"));
        let f = cat(&[
            &eth(
                &[(EtherType::QINQ, 100), (EtherType::VLAN, 200)],
                EtherType::IPV4,
            ),
            &l3,
        ]);
        let m = parse_ok(&f);
        assert_eq!(m.vlan(), Some(100));
        assert_eq!(m.inner_vlan(), Some(200));
        assert!(m.has(flags::VLAN | flags::QINQ));
        assert_eq!(m.l3_offset, 22);
        assert_eq!(m.l4_offset, 42);
        assert_eq!(m.ethertype, 0x0800);
        assert!(m.is_udp());
    }

    #[test]
    fn ipv6_udp() {
        let l4 = udp_dgram(53, 5353, b"v6");
        let f = cat(&[
            &eth(&[], EtherType::IPV6),
            &ipv6_dgram(IpProtocol::UDP, &l4),
        ]);
        let m = parse_ok(&f);
        assert_eq!(
            m,
            PacketMeta {
                l3_offset: 14,
                l3_end: 14 + 40 + 10,
                l4_offset: 54,
                ethertype: 0x86dd,
                src_port: 53,
                dst_port: 5353,
                l3: L3Kind::Ipv6,
                l4_proto: 17,
                ..Default::default()
            }
        );
        assert_eq!(m.ipv6(&f).unwrap().dst_addr(), v6(2));
        let mut padded = f.clone();
        padded.resize(80, 0xee);
        assert_eq!(parse_ok(&padded), m);
    }

    #[test]
    fn ipv6_hbh_srh_udp() {
        let f = eth_ipv6_hbh_srh_udp();
        let m = parse_ok(&f);
        assert_eq!(m.l3, L3Kind::Ipv6);
        assert_eq!(m.srh_offset(), Some(14 + 40 + 8));
        assert_eq!(m.l4_offset, 14 + 40 + 8 + 56);
        assert_eq!(m.l4_proto, 17);
        assert_eq!((m.src_port, m.dst_port), (5000, 6000));
        assert_eq!(usize::from(m.l3_end), f.len());
        let srh = m.srh(&f).unwrap();
        assert_eq!(srh.segment_count(), 3);
        assert_eq!(srh.segments_left(), 2);
        assert_eq!(srh.active_segment(), Some(v6(10)));
        assert_eq!(m.udp(&f).unwrap().payload(), b"srv6 payload");

        // An SRv6 endpoint: advance the SRH and copy the active segment into the DA.
        let mut f = f;
        let next = m.srh_mut(&mut f).unwrap().advance().unwrap();
        assert_eq!(next, v6(20));
        m.ipv6_mut(&mut f).unwrap().set_dst_addr(next);
        let m2 = parse_ok(&f);
        assert_eq!(m2.srh(&f).unwrap().segments_left(), 1);
        assert_eq!(m2.ipv6(&f).unwrap().dst_addr(), v6(20));
    }

    #[test]
    fn ipv6_other_upper_layers_are_recorded() {
        for (proto, body) in [
            (IpProtocol::TCP, vec![0u8; 20]),
            (IpProtocol::ICMPV6, vec![128, 0, 0, 0]),
            (IpProtocol::IPV6_NO_NXT, vec![]),
            (
                IpProtocol::IPV4,
                ipv4_dgram(IpProtocol::UDP, &udp_dgram(1, 2, &[])),
            ),
            (IpProtocol::IPV6, ipv6_dgram(IpProtocol::IPV6_NO_NXT, &[])),
        ] {
            let ext = cat(&[&opts(proto), &body]);
            let f = cat(&[
                &eth(&[], EtherType::IPV6),
                &ipv6_dgram(IpProtocol::IPV6_OPTS, &ext),
            ]);
            let m = parse_ok(&f);
            assert_eq!(m.l4_proto, proto.0);
            assert_eq!(m.l4_offset, 14 + 40 + 8);
            assert!(!m.is_udp());
            assert_eq!((m.src_port, m.dst_port), (0, 0));
        }
    }

    #[test]
    fn ipv6_routing_header_not_srh_is_skipped() {
        // Routing Type 0 (deprecated): walked as a generic extension header.
        let mut rh = vec![17, 2, 0, 0, 0, 0, 0, 0];
        rh.extend_from_slice(&[0u8; 16]);
        let ext = cat(&[&rh, &udp_dgram(1, 2, &[])]);
        let f = cat(&[
            &eth(&[], EtherType::IPV6),
            &ipv6_dgram(IpProtocol::IPV6_ROUTE, &ext),
        ]);
        let m = parse_ok(&f);
        assert_eq!(m.srh_offset(), None);
        assert_eq!(m.l4_offset, 14 + 40 + 24);
        assert!(m.is_udp());
    }

    #[test]
    fn ipv6_fragments() {
        // First fragment: the UDP length covers the whole datagram, beyond this fragment.
        let mut l4 = udp_dgram(1111, 2222, &[0u8; 16]);
        l4[4..6].copy_from_slice(&3000u16.to_be_bytes());
        let ext = cat(&[&frag(IpProtocol::UDP, 0, true), &l4]);
        let f = cat(&[
            &eth(&[], EtherType::IPV6),
            &ipv6_dgram(IpProtocol::IPV6_FRAG, &ext),
        ]);
        let m = parse_ok(&f);
        assert!(m.is_fragment());
        assert!(!m.has(flags::LATER_FRAGMENT));
        assert_eq!(m.l4_offset, 14 + 48);
        assert_eq!((m.src_port, m.dst_port), (1111, 2222));

        // Later fragment: no upper-layer header.
        let ext = cat(&[&frag(IpProtocol::UDP, 1480, false), &[0xabu8; 24]]);
        let f = cat(&[
            &eth(&[], EtherType::IPV6),
            &ipv6_dgram(IpProtocol::IPV6_FRAG, &ext),
        ]);
        let m = parse_ok(&f);
        assert!(m.has(flags::FRAGMENT | flags::LATER_FRAGMENT));
        assert_eq!(m.l4_offset, 0);
        assert_eq!(m.l4_proto, 17);
        assert!(!m.is_udp());
        assert_eq!(m.l4_range(), None);

        // Atomic fragment (offset 0, M=0): a whole datagram, UDP length strictly checked.
        let ext = cat(&[&frag(IpProtocol::UDP, 0, false), &udp_dgram(1, 2, b"a")]);
        let f = cat(&[
            &eth(&[], EtherType::IPV6),
            &ipv6_dgram(IpProtocol::IPV6_FRAG, &ext),
        ]);
        let m = parse_ok(&f);
        assert!(!m.is_fragment());
        assert!(m.is_udp());
    }

    #[test]
    fn ipv4_fragments() {
        let mut l4 = udp_dgram(1111, 2222, &[0u8; 16]);
        l4[4..6].copy_from_slice(&3000u16.to_be_bytes());
        let f = cat(&[
            &eth(&[], EtherType::IPV4),
            &ipv4_full(IpProtocol::UDP, &[], true, 0, &l4),
        ]);
        let m = parse_ok(&f);
        assert!(m.is_fragment());
        assert_eq!((m.src_port, m.dst_port), (1111, 2222));
        let f = cat(&[
            &eth(&[], EtherType::IPV4),
            &ipv4_full(IpProtocol::UDP, &[], false, 1480, &[0u8; 3]),
        ]);
        let m = parse_ok(&f);
        assert!(m.has(flags::FRAGMENT | flags::LATER_FRAGMENT));
        assert_eq!(m.l4_offset, 0);
        assert_eq!(m.l4_proto, 17);
        assert_eq!(m.l3_end, 14 + 23);
    }

    #[test]
    fn mpls_three_labels_over_ipv4() {
        let f = eth_mpls3_ipv4();
        let m = parse_ok(&f);
        assert_eq!(
            m,
            PacketMeta {
                l3_offset: 14,
                l3_end: f.len() as u16,
                ethertype: 0x8847,
                l3: L3Kind::Mpls,
                mpls_depth: 3,
                flags: flags::MPLS_INNER_IPV4,
                ..Default::default()
            }
        );
        assert_eq!(m.mpls_payload_offset(), Some(26));
        assert_eq!(m.mpls_inner(), Some(L3Kind::Ipv4));
        assert_eq!(m.l4_protocol(), None);
        let top = m.mpls_top(&f).unwrap();
        assert_eq!(top.label(), 100);
        assert!(!top.bottom_of_stack());
        assert!(!m.is_udp());
    }

    #[test]
    fn mpls_variants() {
        // One label over IPv6, multicast EtherType, behind a VLAN tag.
        let f = cat(&[
            &eth(&[(EtherType::VLAN, 7)], EtherType::MPLS_MCAST),
            &mpls_stack(&[(16, true)]),
            &ipv6_dgram(IpProtocol::IPV6_NO_NXT, &[]),
        ]);
        let m = parse_ok(&f);
        assert_eq!(m.mpls_depth, 1);
        assert_eq!(m.l3_offset, 18);
        assert_eq!(m.mpls_inner(), Some(L3Kind::Ipv6));
        // Bottom of stack with nothing after it, and a pseudowire control word.
        let f = cat(&[&eth(&[], EtherType::MPLS), &mpls_stack(&[(16, true)])]);
        assert_eq!(parse_ok(&f).mpls_inner(), None);
        let f = cat(&[
            &eth(&[], EtherType::MPLS),
            &mpls_stack(&[(16, true)]),
            &[0u8; 4],
        ]);
        assert_eq!(parse_ok(&f).mpls_inner(), None);
        // Exactly the maximum depth.
        let mut labels = vec![(16, false); MAX_MPLS_DEPTH - 1];
        labels.push((17, true));
        let f = cat(&[&eth(&[], EtherType::MPLS), &mpls_stack(&labels), &[0x45]]);
        let m = parse_ok(&f);
        assert_eq!(usize::from(m.mpls_depth), MAX_MPLS_DEPTH);
        assert_eq!(m.mpls_payload_offset(), Some(14 + 32));
    }

    /// Builds an IPv4 frame then lets `edit` change the IP header; the checksum is refilled
    /// afterwards unless `fix_checksum` is false.
    fn ipv4_edit(fix_checksum: bool, edit: impl FnOnce(&mut [u8])) -> Vec<u8> {
        let mut f = eth_ipv4_udp();
        edit(&mut f[14..]);
        if fix_checksum {
            let hl = usize::from(f[14] & 0x0f) * 4;
            if hl >= 20 && 14 + hl <= f.len() {
                f[24] = 0;
                f[25] = 0;
                let c = checksum::checksum(&f[14..14 + hl]);
                f[24..26].copy_from_slice(&c.to_be_bytes());
            }
        }
        f
    }

    fn ipv6_with(next: IpProtocol, payload: &[u8]) -> Vec<u8> {
        cat(&[&eth(&[], EtherType::IPV6), &ipv6_dgram(next, payload)])
    }

    /// One malformed frame per drop reason the parser can return.
    fn bad_frames() -> Vec<(&'static str, Vec<u8>, DropReason)> {
        use DropReason::*;
        let good4 = eth_ipv4_udp();
        let udp_ok = udp_dgram(1, 2, b"data");
        let mut v = vec![
            ("empty frame", vec![], EthTruncated),
            ("13 bytes", good4[..13].to_vec(), EthTruncated),
            ("header only", good4[..14].to_vec(), EthNoPayload),
            (
                "cut VLAN tag",
                cat(&[&eth(&[], EtherType::VLAN), &[0x00, 0x05, 0x08]]),
                VlanTruncated,
            ),
            (
                "three tags",
                cat(&[
                    &eth(
                        &[
                            (EtherType::QINQ, 1),
                            (EtherType::VLAN, 2),
                            (EtherType::VLAN, 3),
                        ],
                        EtherType::IPV4,
                    ),
                    &ipv4_dgram(IpProtocol::UDP, &udp_ok),
                ]),
                VlanTooManyTags,
            ),
            (
                "ARP",
                cat(&[&eth(&[], EtherType::ARP), &[0u8; 28]]),
                UnknownEthertype,
            ),
            (
                "802.3 length field",
                cat(&[&eth(&[], EtherType(46)), &[0u8; 46]]),
                UnknownEthertype,
            ),
            (
                "tagged unknown",
                cat(&[&eth(&[(EtherType::VLAN, 5)], EtherType(0x9000)), &[0u8; 46]]),
                UnknownEthertype,
            ),
            (
                "19-byte IPv4 header",
                good4[..14 + 19].to_vec(),
                Ipv4Truncated,
            ),
            (
                "IPv4 version 6",
                ipv4_edit(true, |ip| ip[0] = 0x65),
                Ipv4BadVersion,
            ),
            (
                "IHL 4",
                ipv4_edit(true, |ip| ip[0] = 0x44),
                Ipv4BadHeaderLen,
            ),
            (
                "IHL 0",
                ipv4_edit(true, |ip| ip[0] = 0x40),
                Ipv4BadHeaderLen,
            ),
            (
                "IHL beyond frame",
                ipv4_edit(true, |ip| ip[0] = 0x4f),
                Ipv4BadHeaderLen,
            ),
            (
                "total length below IHL",
                ipv4_edit(true, |ip| ip[2..4].copy_from_slice(&19u16.to_be_bytes())),
                Ipv4BadTotalLen,
            ),
            (
                "total length beyond frame",
                ipv4_edit(true, |ip| ip[2..4].copy_from_slice(&34u16.to_be_bytes())),
                Ipv4BadTotalLen,
            ),
            (
                "bad checksum",
                ipv4_edit(false, |ip| ip[8] = 1),
                Ipv4BadChecksum,
            ),
            (
                "UDP cut by total length",
                ipv4_edit(true, |ip| ip[2..4].copy_from_slice(&24u16.to_be_bytes())),
                UdpTruncated,
            ),
            (
                "UDP length 7",
                ipv4_edit(true, |ip| ip[24..26].copy_from_slice(&7u16.to_be_bytes())),
                UdpBadLength,
            ),
            (
                "UDP length beyond IP payload",
                ipv4_edit(true, |ip| ip[24..26].copy_from_slice(&14u16.to_be_bytes())),
                UdpBadLength,
            ),
            (
                "UDP length reaching into padding",
                {
                    let mut f =
                        ipv4_edit(true, |ip| ip[24..26].copy_from_slice(&20u16.to_be_bytes()));
                    f.resize(60, 0);
                    f
                },
                UdpBadLength,
            ),
            (
                "39-byte IPv6 header",
                ipv6_with(IpProtocol::UDP, &udp_ok)[..14 + 39].to_vec(),
                Ipv6Truncated,
            ),
            (
                "IPv6 version 4",
                {
                    let mut f = ipv6_with(IpProtocol::UDP, &udp_ok);
                    f[14] = 0x40;
                    f
                },
                Ipv6BadVersion,
            ),
            (
                "IPv6 payload length beyond frame",
                {
                    let mut f = ipv6_with(IpProtocol::UDP, &udp_ok);
                    f[14 + 5] += 1;
                    f
                },
                Ipv6BadPayloadLen,
            ),
            (
                "HBH cut by payload length",
                ipv6_with(IpProtocol::HOP_BY_HOP, &opts(IpProtocol::UDP)[..6]),
                Ipv6ExtTruncated,
            ),
            (
                "DestOpts length beyond payload",
                {
                    let mut h = opts(IpProtocol::UDP);
                    h[1] = 1;
                    ipv6_with(IpProtocol::IPV6_OPTS, &cat(&[&h, &[0u8; 4]]))
                },
                Ipv6ExtTruncated,
            ),
            (
                "fragment header cut",
                ipv6_with(IpProtocol::IPV6_FRAG, &frag(IpProtocol::UDP, 0, false)[..7]),
                Ipv6ExtTruncated,
            ),
            (
                "routing header too short for its type",
                ipv6_with(IpProtocol::IPV6_ROUTE, &[17, 0]),
                Ipv6ExtTruncated,
            ),
            (
                "nine extension headers",
                {
                    let mut ext = Vec::new();
                    for _ in 0..8 {
                        ext.extend_from_slice(&opts(IpProtocol::IPV6_OPTS));
                    }
                    ext.extend_from_slice(&opts(IpProtocol::UDP));
                    ext.extend_from_slice(&udp_ok);
                    ipv6_with(IpProtocol::IPV6_OPTS, &ext)
                },
                Ipv6TooManyExt,
            ),
            (
                "SRH fixed part cut",
                ipv6_with(IpProtocol::IPV6_ROUTE, &[17, 2, 4, 0, 0, 0]),
                SrhTruncated,
            ),
            (
                "SRH segment list cut by payload length",
                {
                    let s = srh_hdr(IpProtocol::UDP, 1, &[v6(3), v6(2), v6(1)]);
                    ipv6_with(IpProtocol::IPV6_ROUTE, &s[..40])
                },
                SrhTruncated,
            ),
            (
                "SRH Hdr Ext Len too small for Last Entry",
                {
                    let mut s = srh_hdr(IpProtocol::UDP, 1, &[v6(3), v6(2), v6(1)]);
                    s[1] = 4;
                    ipv6_with(IpProtocol::IPV6_ROUTE, &cat(&[&s, &udp_ok]))
                },
                SrhBadLength,
            ),
            (
                "SRH Segments Left beyond Last Entry + 1",
                {
                    let s = srh_hdr(IpProtocol::UDP, 4, &[v6(3), v6(2), v6(1)]);
                    ipv6_with(IpProtocol::IPV6_ROUTE, &cat(&[&s, &udp_ok]))
                },
                SrhSegmentsLeftBeyondLast,
            ),
            (
                "UDP over IPv6 cut",
                ipv6_with(IpProtocol::UDP, &udp_ok[..7]),
                UdpTruncated,
            ),
            (
                "UDP over IPv6 lying length",
                {
                    let mut u = udp_ok.clone();
                    u[5] += 1;
                    ipv6_with(IpProtocol::UDP, &u)
                },
                UdpBadLength,
            ),
            (
                "MPLS without bottom of stack",
                cat(&[
                    &eth(&[], EtherType::MPLS),
                    &mpls_stack(&[(16, false), (17, false)]),
                ]),
                MplsTruncated,
            ),
            (
                "MPLS entry cut",
                cat(&[&eth(&[], EtherType::MPLS), &[0x00, 0x01, 0x01]]),
                MplsTruncated,
            ),
            (
                "MPLS nine labels",
                {
                    let mut labels = vec![(16, false); MAX_MPLS_DEPTH];
                    labels.push((17, true));
                    cat(&[&eth(&[], EtherType::MPLS), &mpls_stack(&labels), &[0x45]])
                },
                MplsStackTooDeep,
            ),
        ];
        v.push((
            "MPLS too deep even when cut",
            cat(&[&eth(&[], EtherType::MPLS), &mpls_stack(&[(16, false); 8])]),
            MplsStackTooDeep,
        ));
        v
    }

    /// Every reason [`parse`] can return.
    const PARSE_REASONS: [DropReason; 22] = [
        DropReason::EthTruncated,
        DropReason::EthNoPayload,
        DropReason::VlanTruncated,
        DropReason::VlanTooManyTags,
        DropReason::UnknownEthertype,
        DropReason::Ipv4Truncated,
        DropReason::Ipv4BadVersion,
        DropReason::Ipv4BadHeaderLen,
        DropReason::Ipv4BadTotalLen,
        DropReason::Ipv4BadChecksum,
        DropReason::Ipv6Truncated,
        DropReason::Ipv6BadVersion,
        DropReason::Ipv6BadPayloadLen,
        DropReason::Ipv6ExtTruncated,
        DropReason::Ipv6TooManyExt,
        DropReason::SrhTruncated,
        DropReason::SrhBadLength,
        DropReason::SrhSegmentsLeftBeyondLast,
        DropReason::UdpTruncated,
        DropReason::UdpBadLength,
        DropReason::MplsTruncated,
        DropReason::MplsStackTooDeep,
    ];

    #[test]
    fn every_parse_drop_reason() {
        let mut seen = Vec::new();
        for (name, frame, expected) in bad_frames() {
            assert_eq!(parse(&frame), Err(expected), "{name}");
            assert!(PARSE_REASONS.contains(&expected), "{name}");
            seen.push(expected);
        }
        for reason in PARSE_REASONS {
            assert!(seen.contains(&reason), "no test frame for {reason}");
        }
    }

    proptest! {
        #[test]
        fn parse_errors_are_parse_reasons(data in proptest::collection::vec(any::<u8>(), 0..128)) {
            if let Err(e) = parse(&data) {
                prop_assert!(PARSE_REASONS.contains(&e));
            }
        }
    }

    #[test]
    fn limits_are_inclusive() {
        // Eight extension headers are accepted.
        let mut ext = Vec::new();
        for _ in 0..7 {
            ext.extend_from_slice(&opts(IpProtocol::IPV6_OPTS));
        }
        ext.extend_from_slice(&opts(IpProtocol::UDP));
        ext.extend_from_slice(&udp_dgram(1, 2, &[]));
        let m = parse_ok(&ipv6_with(IpProtocol::IPV6_OPTS, &ext));
        assert_eq!(m.l4_offset, 14 + 40 + 64);
        // Segments Left = Last Entry + 1 (reduced SRH) is valid, per RFC 8754 §4.3.1.1.
        let s = srh_hdr(IpProtocol::UDP, 3, &[v6(3), v6(2), v6(1)]);
        let f = ipv6_with(IpProtocol::IPV6_ROUTE, &cat(&[&s, &udp_dgram(1, 2, &[])]));
        let m = parse_ok(&f);
        assert_eq!(m.srh(&f).unwrap().active_segment(), None);
        // An SRH with TLVs after the segment list.
        let mut s = srh_hdr(IpProtocol::UDP, 0, &[v6(1)]);
        s[1] += 1;
        s.extend_from_slice(&[0x01, 0x06, 0, 0, 0, 0, 0, 0]);
        let m = parse_ok(&ipv6_with(
            IpProtocol::IPV6_ROUTE,
            &cat(&[&s, &udp_dgram(1, 2, &[])]),
        ));
        assert_eq!(m.l4_offset, 14 + 40 + 32);
    }

    #[test]
    fn two_srhs_record_the_first() {
        let s1 = srh_hdr(IpProtocol::IPV6_ROUTE, 0, &[v6(1)]);
        let s2 = srh_hdr(IpProtocol::UDP, 0, &[v6(2)]);
        let f = ipv6_with(
            IpProtocol::IPV6_ROUTE,
            &cat(&[&s1, &s2, &udp_dgram(1, 2, &[])]),
        );
        let m = parse_ok(&f);
        assert_eq!(m.srh_offset(), Some(54));
        assert_eq!(m.l4_offset, 54 + 48);
    }

    fn valid_frames() -> Vec<Vec<u8>> {
        let options = [0x01u8; 12];
        vec![
            eth_ipv4_udp(),
            cat(&[
                &eth(&[], EtherType::IPV4),
                &ipv4_full(IpProtocol::UDP, &options, false, 0, &udp_dgram(1, 2, b"o")),
            ]),
            cat(&[
                &eth(
                    &[(EtherType::QINQ, 100), (EtherType::VLAN, 200)],
                    EtherType::IPV4,
                ),
                &ipv4_dgram(IpProtocol::UDP, &udp_dgram(1, 2, b"qinq")),
            ]),
            ipv6_with(IpProtocol::UDP, &udp_dgram(1, 2, b"v6")),
            eth_ipv6_hbh_srh_udp(),
            ipv6_with(
                IpProtocol::IPV6_FRAG,
                &cat(&[&frag(IpProtocol::UDP, 0, true), &udp_dgram(1, 2, b"f")]),
            ),
            ipv6_with(
                IpProtocol::IPV6_FRAG,
                &cat(&[&frag(IpProtocol::UDP, 8, false), b"later"]),
            ),
        ]
    }

    #[test]
    fn every_truncation_is_an_error() {
        for f in valid_frames() {
            parse_ok(&f);
            for n in 0..f.len() {
                assert!(parse(&f[..n]).is_err(), "prefix of {n} bytes of {f:02x?}");
            }
        }
        // MPLS has no length: cuts inside the stack fail, cuts after it do not.
        let f = eth_mpls3_ipv4();
        for n in 0..f.len() {
            match parse(&f[..n]) {
                Ok(m) => {
                    assert!(n >= 26, "{n}");
                    check_invariants(&f[..n], &m);
                }
                Err(e) => {
                    assert!(n < 26, "{n}: {e}");
                }
            }
        }
    }

    #[test]
    fn truncated_bad_frames_never_panic() {
        for (_, f, _) in bad_frames() {
            for n in 0..=f.len() {
                if let Ok(m) = parse(&f[..n]) {
                    check_invariants(&f[..n], &m);
                }
            }
        }
    }

    #[test]
    fn frames_longer_than_u16_are_cut() {
        let mut f = eth_ipv4_udp();
        f.resize(70_000, 0);
        let m = parse_ok(&f);
        assert_eq!(m.l3_end, 47);
        let mut f = cat(&[&eth(&[], EtherType::MPLS), &mpls_stack(&[(16, true)])]);
        f.resize(70_000, 0x45);
        let m = parse_ok(&f);
        assert_eq!(usize::from(m.l3_end), MAX_FRAME_LEN);
        // A 65535-byte IPv6 payload cannot fit in 65535 bytes of frame.
        let mut f = ipv6_with(IpProtocol::IPV6_NO_NXT, &[]);
        f[18..20].copy_from_slice(&u16::MAX.to_be_bytes());
        f.resize(100_000, 0);
        assert_eq!(parse(&f), Err(DropReason::Ipv6BadPayloadLen));
    }

    prop_compose! {
        fn arb_tags()(n in 0usize..=2, a in 0u16..4096, b in 0u16..4096, qinq in any::<bool>())
            -> Vec<(EtherType, u16)> {
            let outer = if qinq && n == 2 { EtherType::QINQ } else { EtherType::VLAN };
            [(outer, a), (EtherType::VLAN, b)][..n].to_vec()
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..256)) {
            if let Ok(m) = parse(&data) {
                check_invariants(&data, &m);
            }
        }

        #[test]
        fn arbitrary_bytes_after_known_ethertypes_never_panic(
            et in prop_oneof![
                Just(0x0800u16), Just(0x86dd), Just(0x8847), Just(0x8848), Just(0x8100),
                Just(0x88a8)
            ],
            mut data in proptest::collection::vec(any::<u8>(), 0..256),
            nibble in prop_oneof![Just(0x40u8), Just(0x60), Just(0x45), any::<u8>()],
        ) {
            if let Some(b) = data.first_mut() {
                *b = nibble;
            }
            let f = cat(&[&eth(&[], EtherType(et)), &data]);
            if let Ok(m) = parse(&f) {
                check_invariants(&f, &m);
            }
        }

        #[test]
        fn mutated_valid_frames_never_panic(
            which in 0usize..8,
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut frames = valid_frames();
            frames.push(eth_mpls3_ipv4());
            let mut f = frames.swap_remove(which % frames.len());
            for (at, byte) in edits {
                let i = at.index(f.len());
                f[i] = byte;
            }
            let n = cut.index(f.len() + 1);
            if let Ok(m) = parse(&f[..n]) {
                check_invariants(&f[..n], &m);
            }
            if let Ok(m) = parse(&f) {
                check_invariants(&f, &m);
            }
        }

        #[test]
        fn ipv4_udp_round_trip(
            tags in arb_tags(),
            src in any::<u32>(),
            dst in any::<u32>(),
            ttl in any::<u8>(),
            dscp in 0u8..64,
            ident in any::<u16>(),
            dont_frag in any::<bool>(),
            sport in any::<u16>(),
            dport in any::<u16>(),
            payload in proptest::collection::vec(any::<u8>(), 0..64),
            pad in 0usize..32,
        ) {
            let mut dgram = udp_dgram(sport, dport, &payload);
            let ip = ipv4::Repr {
                src_addr: Ipv4Addr::from(src),
                dst_addr: Ipv4Addr::from(dst),
                protocol: IpProtocol::UDP,
                payload_len: dgram.len(),
                ttl,
                dscp,
                ident,
                dont_frag,
            };
            let mut l3 = vec![0u8; ip.buffer_len()];
            ip.emit(&mut ipv4::Packet::new_unchecked(&mut l3[..]));
            l3.append(&mut dgram);
            let mut f = cat(&[&eth(&tags, EtherType::IPV4), &l3]);
            let unpadded_len = f.len();
            f.resize(unpadded_len + pad, 0);
            let m = parse_ok(&f);
            let l3_off = 14 + 4 * tags.len();
            prop_assert_eq!(usize::from(m.l3_offset), l3_off);
            prop_assert_eq!(usize::from(m.l3_end), unpadded_len);
            prop_assert_eq!(usize::from(m.l4_offset), l3_off + 20);
            prop_assert_eq!(m.l3, L3Kind::Ipv4);
            prop_assert_eq!(m.l4_proto, 17);
            prop_assert_eq!((m.src_port, m.dst_port), (sport, dport));
            prop_assert_eq!(m.vlan(), tags.first().map(|t| t.1));
            prop_assert_eq!(m.inner_vlan(), tags.get(1).map(|t| t.1));
            prop_assert_eq!(m.ethertype, 0x0800);
            let view = m.ipv4(&f).unwrap();
            prop_assert_eq!(ipv4::Repr::parse(&view), Ok(ip));
            let u = m.udp(&f).unwrap();
            prop_assert_eq!(udp::Repr::parse(&u).unwrap().payload_len, payload.len());
            prop_assert_eq!(u.payload(), &payload[..]);
        }

        #[test]
        fn ipv6_srh_udp_round_trip(
            tags in arb_tags(),
            nsegs in 1usize..=6,
            sl_seed in any::<u8>(),
            with_hbh in any::<bool>(),
            sport in any::<u16>(),
            dport in any::<u16>(),
            payload in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let segs: Vec<Ipv6Addr> = (0..nsegs).map(|i| v6(0x100 + i as u16)).collect();
            let sl = sl_seed % (nsegs as u8 + 1);
            let srh = srh_hdr(IpProtocol::UDP, sl, &segs);
            let hbh = if with_hbh { opts(IpProtocol::IPV6_ROUTE) } else { vec![] };
            let first = if with_hbh { IpProtocol::HOP_BY_HOP } else { IpProtocol::IPV6_ROUTE };
            let ext = cat(&[&hbh, &srh, &udp_dgram(sport, dport, &payload)]);
            let f = cat(&[&eth(&tags, EtherType::IPV6), &ipv6_dgram(first, &ext)]);
            let m = parse_ok(&f);
            let l3_off = 14 + 4 * tags.len();
            let srh_off = l3_off + 40 + hbh.len();
            prop_assert_eq!(m.l3, L3Kind::Ipv6);
            prop_assert_eq!(m.srh_offset(), Some(srh_off));
            prop_assert_eq!(usize::from(m.l4_offset), srh_off + 8 + 16 * nsegs);
            prop_assert_eq!((m.src_port, m.dst_port), (sport, dport));
            prop_assert_eq!(usize::from(m.l3_end), f.len());
            let h = m.srh(&f).unwrap();
            let repr = srh::Repr::parse(&h).unwrap();
            prop_assert_eq!(repr.segment_count(), nsegs);
            prop_assert_eq!(repr.segments_left, sl);
            for (i, s) in segs.iter().enumerate() {
                prop_assert_eq!(repr.segment(i), Some(*s));
            }
        }

        #[test]
        fn mpls_round_trip(
            labels in proptest::collection::vec(0u32..=mpls::LABEL_MAX, 1..=MAX_MPLS_DEPTH),
            inner in prop_oneof![Just(0x45u8), Just(0x60), Just(0x00)],
        ) {
            let entries: Vec<(u32, bool)> = labels
                .iter()
                .enumerate()
                .map(|(i, l)| (*l, i + 1 == labels.len()))
                .collect();
            let f = cat(&[&eth(&[], EtherType::MPLS), &mpls_stack(&entries), &[inner, 0, 0, 0]]);
            let m = parse_ok(&f);
            prop_assert_eq!(usize::from(m.mpls_depth), labels.len());
            prop_assert_eq!(m.mpls_top(&f).unwrap().label(), labels[0]);
            let expect = match inner >> 4 { 4 => Some(L3Kind::Ipv4), 6 => Some(L3Kind::Ipv6), _ => None };
            prop_assert_eq!(m.mpls_inner(), expect);
        }
    }
}
