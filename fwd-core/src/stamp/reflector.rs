//! The per-packet STAMP Session-Reflector: turns a test packet into its reply in place.
//!
//! See the [module documentation](super) for the choices made; [`reflect`] is the entry
//! point.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::tables::StampTables;
use super::wire::{
    NtpTimestamp, ReflectorPacket, ReflectorRepr, SenderPacket, SenderRepr, REFLECTOR_LEN,
    SENDER_MIN_LEN,
};
use crate::adjacency::Adjacency;
use crate::buf::PacketBuf;
use crate::drop::DropReason;
use crate::packet::{flags, L3Kind, PacketMeta};
use crate::wire::{ethernet, ipv4, ipv6, srh, udp, vlan, IpProtocol};

/// What the reflector did with a frame that was not dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StampOutcome {
    /// Not a STAMP test packet for this node (reflector disabled, not UDP to the STAMP
    /// port, not to an own address, SRv6 segments left, ...): the frame is untouched;
    /// hand it to the other handlers.
    NotForMe,
    /// The frame is now the reply, MACs included: send it on the adjacency's port (the
    /// port it came in on; destination MAC = the test packet's source MAC, source MAC =
    /// its destination MAC).
    Reflected(Adjacency),
}

/// Longest L2 header the parser accepts: Ethernet and two VLAN tags.
const MAX_L2_LEN: usize = ethernet::HEADER_LEN + 2 * vlan::HEADER_LEN;

/// A test packet this node must answer, as read before anything is written.
#[derive(Debug, Clone, Copy)]
struct Request<'t> {
    /// The received L2 header (Ethernet and VLAN tags).
    l2: [u8; MAX_L2_LEN],
    l2_len: usize,
    /// Offset of the UDP header in the frame.
    udp_off: usize,
    /// UDP length field.
    udp_len: usize,
    /// UDP source port of the test packet.
    src_port: u16,
    /// TTL / hop limit of the (outermost) IP header as received.
    sender_ttl: u8,
    l3: Layer3<'t>,
}

#[derive(Debug, Clone, Copy)]
enum Layer3<'t> {
    /// IPv4: answered in place.
    V4 {
        ip_off: usize,
        header_len: usize,
        own: Ipv4Addr,
        peer: Ipv4Addr,
    },
    /// IPv6: the headers in front of the UDP datagram are rebuilt.
    V6 {
        own: Ipv6Addr,
        peer: Ipv6Addr,
        traffic_class: u8,
        flow_label: u32,
        /// The test packet was IPv6-in-IPv6 (outer IPv6 + SRH + inner IPv6 + UDP).
        encap: bool,
        /// The reverse segment list (SRH order, without Segment List\[0\]) when the
        /// P-flag was set.
        reverse: Option<&'t [Ipv6Addr]>,
    },
}

/// Reflects one STAMP / TWAMP-Light test packet in place.
///
/// `meta` is [`crate::packet::parse`]'s result for `pkt`. `rx_time` is when the packet was
/// received (T2), `tx_time` when the reply will be sent (T3; a `tx_time` before
/// `rx_time` is raised to it). Both are wall-clock NTP timestamps, e.g. the worker's TSC
/// anchored to the system clock at start.
///
/// Returns [`StampOutcome::NotForMe`] (the frame untouched) for anything that is not a
/// test packet to this node, [`StampOutcome::Reflected`] once the frame has become the
/// reply, or the [`DropReason`] of a test packet to this node that cannot be answered
/// (the frame may then have been partly rewritten: drop it). Never panics, never
/// allocates.
pub fn reflect<B: PacketBuf>(
    tables: &StampTables,
    in_port: u16,
    pkt: &mut B,
    meta: &PacketMeta,
    rx_time: NtpTimestamp,
    tx_time: NtpTimestamp,
) -> Result<StampOutcome, DropReason> {
    let Some(req) = classify(tables, pkt.data(), meta)? else {
        return Ok(StampOutcome::NotForMe);
    };

    // The reply's lengths.
    let stamp_len = (req.udp_len - udp::HEADER_LEN).max(REFLECTOR_LEN);
    let udp_len = udp::HEADER_LEN + stamp_len;
    let (ip_len, srh_len) = match req.l3 {
        Layer3::V4 { header_len, .. } => (header_len, 0),
        Layer3::V6 { reverse, encap, .. } => {
            let srh_len = reverse.map_or(0, |r| srh::HEADER_LEN + srh::SEGMENT_LEN * (r.len() + 1));
            let inner = if encap && reverse.is_some() {
                ipv6::HEADER_LEN
            } else {
                0
            };
            (ipv6::HEADER_LEN + srh_len + inner, srh_len)
        }
    };
    let Ok(udp_len16) = u16::try_from(udp_len) else {
        return Err(DropReason::StampTooBig);
    };
    let ip_length_field = match req.l3 {
        Layer3::V4 { .. } => ip_len + udp_len,
        Layer3::V6 { .. } => ip_len - ipv6::HEADER_LEN + udp_len,
    };
    let Ok(ip_length_field) = u16::try_from(ip_length_field) else {
        return Err(DropReason::StampTooBig);
    };

    // 1. Room for a whole reflector packet after the UDP header (TWAMP-Light senders may
    //    send fewer than 44 bytes): Ethernet padding first, else shift the frame forward.
    let need = req.udp_off + udp_len;
    let have = pkt.data().len();
    if need > have {
        let grow = need - have;
        if !pkt.prepend(grow) {
            return Err(DropReason::StampNoHeadroom);
        }
        pkt.data_mut().copy_within(grow..grow + have, 0);
    }

    // 2. The STAMP payload: read the sender's fields, write the reflector packet.
    {
        let stamp_at = req.udp_off + udp::HEADER_LEN;
        let Some(stamp) = pkt.data_mut().get_mut(stamp_at..need) else {
            return Err(DropReason::StampTooShort);
        };
        let sender = SenderRepr::parse(&SenderPacket::new_unchecked(&stamp[..]))?;
        let Some(out) = stamp.get_mut(..REFLECTOR_LEN) else {
            return Err(DropReason::StampTooShort);
        };
        ReflectorRepr {
            seq: sender.seq,
            timestamp: tx_time.not_before(rx_time),
            error_estimate: tables.error_estimate(),
            rx_timestamp: rx_time,
            sender,
            sender_ttl: req.sender_ttl,
        }
        .emit(&mut ReflectorPacket::new_unchecked(out));
    }

    // 3. The IP headers.
    let (udp_at, own, peer) = match req.l3 {
        Layer3::V4 {
            ip_off,
            header_len,
            own,
            peer,
        } => {
            let Some(hdr) = pkt.data_mut().get_mut(ip_off..ip_off + header_len) else {
                return Err(DropReason::Ipv4Truncated);
            };
            let mut ip = ipv4::Packet::new_unchecked(hdr);
            ip.set_src_addr(own);
            ip.set_dst_addr(peer);
            ip.set_ttl(tables.reply_ttl());
            ip.set_total_len(ip_length_field);
            ip.fill_checksum();
            (req.udp_off, IpAddr::V4(own), IpAddr::V4(peer))
        }
        Layer3::V6 {
            own,
            peer,
            traffic_class,
            flow_label,
            encap,
            reverse,
        } => {
            // The UDP datagram stays where it is; the new headers end right before it.
            let udp_at = req.l2_len + ip_len;
            if udp_at > req.udp_off {
                if !pkt.prepend(udp_at - req.udp_off) {
                    return Err(DropReason::StampNoHeadroom);
                }
            } else if udp_at < req.udp_off && !pkt.adj(req.udp_off - udp_at) {
                return Err(DropReason::Ipv6Truncated);
            }
            let Some(hdrs) = pkt.data_mut().get_mut(req.l2_len..udp_at) else {
                return Err(DropReason::StampNoHeadroom);
            };
            let (outer, rest) = hdrs.split_at_mut(ipv6::HEADER_LEN);
            // Leading reverse segments that are this node's own addresses are consumed
            // here (End behaviour): Segments Left then points at the first foreign one.
            let (next, segments_left, dst) = match reverse {
                Some(r) => {
                    let own_prefix = r.iter().rev().take_while(|s| tables.is_own_v6(**s));
                    let sl = r.len() - own_prefix.count();
                    let dst = match sl {
                        0 => peer,
                        n => r.get(n - 1).copied().unwrap_or(peer),
                    };
                    (IpProtocol::IPV6_ROUTE, sl as u8, dst)
                }
                None => (IpProtocol::UDP, 0, peer),
            };
            let fixed = V6Fixed {
                traffic_class,
                flow_label,
                hop_limit: tables.reply_ttl(),
                src: own,
            };
            fixed.emit(outer, ip_length_field, next, dst);
            if let Some(r) = reverse {
                let (srh_bytes, inner) = rest.split_at_mut(srh_len);
                let next = if encap {
                    IpProtocol::IPV6
                } else {
                    IpProtocol::UDP
                };
                emit_srh(srh_bytes, next, segments_left, peer, r);
                if encap {
                    fixed.emit(inner, udp_len16, IpProtocol::UDP, peer);
                }
            }
            (udp_at, IpAddr::V6(own), IpAddr::V6(peer))
        }
    };

    // 4. UDP: ports swapped, length, checksum over the final pseudo-header.
    let frame = pkt.data_mut();
    let Some(dgram) = frame.get_mut(udp_at..udp_at + udp_len) else {
        return Err(DropReason::UdpTruncated);
    };
    let mut u = udp::Packet::new_unchecked(dgram);
    u.set_src_port(tables.port());
    u.set_dst_port(req.src_port);
    u.set_len(udp_len16);
    u.fill_checksum(&own, &peer);

    // 5. L2: the received header (VLAN tags kept), MACs swapped.
    let mut src_mac = [0u8; 6];
    let mut dst_mac = [0u8; 6];
    dst_mac.copy_from_slice(&req.l2[6..12]);
    src_mac.copy_from_slice(&req.l2[0..6]);
    let adj = Adjacency {
        port: in_port,
        dst_mac,
        src_mac,
    };
    let Some(l2) = frame.get_mut(..req.l2_len) else {
        return Err(DropReason::EthTruncated);
    };
    l2.copy_from_slice(&req.l2[..req.l2_len]);
    adj.rewrite(l2);
    Ok(StampOutcome::Reflected(adj))
}

/// The fields shared by the reply's outer and inner IPv6 headers.
#[derive(Clone, Copy)]
struct V6Fixed {
    traffic_class: u8,
    flow_label: u32,
    hop_limit: u8,
    src: Ipv6Addr,
}

impl V6Fixed {
    /// Writes a fixed IPv6 header into `buf` (at least 40 bytes).
    fn emit(&self, buf: &mut [u8], payload_len: u16, next: IpProtocol, dst: Ipv6Addr) {
        let mut ip = ipv6::Packet::new_unchecked(buf);
        ip.set_version(6);
        ip.set_traffic_class(self.traffic_class);
        ip.set_flow_label(self.flow_label);
        ip.set_payload_len(payload_len);
        ip.set_next_header(next);
        ip.set_hop_limit(self.hop_limit);
        ip.set_src_addr(self.src);
        ip.set_dst_addr(dst);
    }
}

/// Writes the reply's SRH into `buf` (exactly its length): Segment List\[0\] = the
/// sender, then `reverse` (already in SRH order); Last Entry = `reverse.len()`; flags and
/// tag 0.
fn emit_srh(
    buf: &mut [u8],
    next: IpProtocol,
    segments_left: u8,
    sender: Ipv6Addr,
    reverse: &[Ipv6Addr],
) {
    let last = reverse.len() as u8;
    let mut h = srh::Header::new_unchecked(buf);
    h.set_next_header(next);
    h.set_header_len_field(2 * (last + 1));
    h.set_routing_type(srh::ROUTING_TYPE);
    h.set_segments_left(segments_left);
    h.set_last_entry(last);
    h.set_flags(0);
    h.set_tag(0);
    h.set_segment(0, sender);
    for (i, seg) in reverse.iter().enumerate() {
        h.set_segment(i + 1, *seg);
    }
}

/// Decides whether `frame` is a test packet this node answers, reading everything the
/// reply needs. `Ok(None)`: not for the reflector.
fn classify<'t>(
    t: &'t StampTables,
    frame: &[u8],
    meta: &PacketMeta,
) -> Result<Option<Request<'t>>, DropReason> {
    if !t.enabled() || meta.has(flags::LATER_FRAGMENT) {
        return Ok(None);
    }
    let l2_len = usize::from(meta.l3_offset);
    if !(ethernet::HEADER_LEN..=MAX_L2_LEN).contains(&l2_len) {
        return Ok(None);
    }
    let Some(l2_bytes) = frame.get(..l2_len) else {
        return Ok(None);
    };
    let mut l2 = [0u8; MAX_L2_LEN];
    l2[..l2_len].copy_from_slice(l2_bytes);
    let found = match meta.l3 {
        L3Kind::Ipv4 => classify_v4(t, frame, meta)?,
        L3Kind::Ipv6 => classify_v6(t, frame, meta)?,
        L3Kind::Mpls => None,
    };
    Ok(
        found.map(|(udp_off, udp_len, src_port, sender_ttl, l3)| Request {
            l2,
            l2_len,
            udp_off,
            udp_len,
            src_port,
            sender_ttl,
            l3,
        }),
    )
}

/// UDP offset, UDP length, source port, sender TTL and the layer-3 facts.
type Found<'t> = (usize, usize, u16, u8, Layer3<'t>);

fn classify_v4<'t>(
    t: &'t StampTables,
    frame: &[u8],
    meta: &PacketMeta,
) -> Result<Option<Found<'t>>, DropReason> {
    // A packet *from* the STAMP port is a reply, never a request: reflecting it would let
    // one spoofed 862 -> 862 packet bounce between two reflectors forever.
    if !meta.is_udp() || meta.dst_port != t.port() || meta.src_port == t.port() {
        return Ok(None);
    }
    let Some(ip) = meta.ipv4(frame) else {
        return Ok(None);
    };
    let (own, peer) = (ip.dst_addr(), ip.src_addr());
    if !t.is_own_v4(own) {
        return Ok(None);
    }
    if meta.is_fragment() {
        return Err(DropReason::StampFragment);
    }
    let udp_off = usize::from(meta.l4_offset);
    let Some(buf) = frame.get(udp_off..usize::from(meta.l3_end)) else {
        return Ok(None);
    };
    let dgram = udp::Packet::new_checked(buf)?;
    check_stamp(&dgram, IpAddr::V4(peer), IpAddr::V4(own))?;
    Ok(Some((
        udp_off,
        usize::from(dgram.len()),
        dgram.src_port(),
        ip.ttl(),
        Layer3::V4 {
            ip_off: usize::from(meta.l3_offset),
            header_len: ip.header_len(),
            own,
            peer,
        },
    )))
}

fn classify_v6<'t>(
    t: &'t StampTables,
    frame: &[u8],
    meta: &PacketMeta,
) -> Result<Option<Found<'t>>, DropReason> {
    let Some(outer) = meta.ipv6(frame) else {
        return Ok(None);
    };
    let srh = meta.srh(frame);
    if srh.as_ref().is_some_and(|s| s.segments_left() != 0) {
        // Not the last segment: SRv6 forwarding's business.
        return Ok(None);
    }
    if !t.is_own_v6(outer.dst_addr()) {
        return Ok(None);
    }
    // The IPv6 header carrying the UDP datagram, and where the datagram may end.
    let (carrier, udp_off, udp_end, encap) = if meta.is_udp() {
        if meta.dst_port != t.port() || meta.src_port == t.port() {
            return Ok(None);
        }
        let at = usize::from(meta.l4_offset);
        (outer.clone(), at, usize::from(meta.l3_end), false)
    } else if meta.l4_proto == IpProtocol::IPV6.0
        && srh.is_some()
        && meta.has_l4()
        && !meta.is_fragment()
    {
        // Encapsulated test packet (the draft's figure 4): outer IPv6 + SRH + IPv6 + UDP.
        let at = usize::from(meta.l4_offset);
        let Some(buf) = frame.get(at..usize::from(meta.l3_end)) else {
            return Ok(None);
        };
        let Ok(inner) = ipv6::Packet::new_checked(buf) else {
            return Ok(None);
        };
        if inner.version() != 6 || inner.next_header() != IpProtocol::UDP {
            return Ok(None);
        }
        let payload_len = inner.payload().len();
        let Some(ports) = inner.payload().get(0..4) else {
            return Ok(None);
        };
        let (sport, dport) = (
            u16::from_be_bytes([ports[0], ports[1]]),
            u16::from_be_bytes([ports[2], ports[3]]),
        );
        if dport != t.port() || sport == t.port() || !t.is_own_v6(inner.dst_addr()) {
            return Ok(None);
        }
        let udp_off = at + ipv6::HEADER_LEN;
        (inner, udp_off, udp_off + payload_len, true)
    } else {
        return Ok(None);
    };
    if meta.is_fragment() {
        return Err(DropReason::StampFragment);
    }
    let (own, peer) = (carrier.dst_addr(), carrier.src_addr());
    let Some(buf) = frame.get(udp_off..udp_end) else {
        return Ok(None);
    };
    let dgram = udp::Packet::new_checked(buf)?;
    check_stamp(&dgram, IpAddr::V6(peer), IpAddr::V6(own))?;

    let reverse = match &srh {
        Some(s) if t.p_flag() != 0 && s.flags() & t.p_flag() != 0 => {
            // The path segment is Segment List[Last Entry] (the draft's figure 5).
            let last = usize::from(s.last_entry());
            if last == 0 {
                return Err(DropReason::StampBadPathSegment);
            }
            let Some(psid) = s.segment(last) else {
                return Err(DropReason::StampBadPathSegment);
            };
            Some(
                t.reverse_segments(psid)
                    .ok_or(DropReason::StampNoReversePath)?,
            )
        }
        _ => None,
    };
    Ok(Some((
        udp_off,
        usize::from(dgram.len()),
        dgram.src_port(),
        outer.hop_limit(),
        Layer3::V6 {
            own,
            peer,
            traffic_class: carrier.traffic_class(),
            flow_label: carrier.flow_label(),
            encap,
            reverse,
        },
    )))
}

/// Checks the UDP checksum and that the payload holds the sender's fields.
fn check_stamp(dgram: &udp::Packet<&[u8]>, src: IpAddr, dst: IpAddr) -> Result<(), DropReason> {
    if !dgram.verify_checksum(&src, &dst) {
        return Err(DropReason::StampBadChecksum);
    }
    if dgram.payload().len() < SENDER_MIN_LEN {
        return Err(DropReason::StampTooShort);
    }
    Ok(())
}
