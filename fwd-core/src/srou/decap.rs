//! Egress: Segments Left 0 (or 1 before a service segment) at one of our decapsulating
//! locators. The outer IP, UDP and SRoU headers are stripped; the frame becomes
//! `Ethernet | inner packet` with the EtherType of the inner packet's version.

use core::net::SocketAddr;

use super::wire::{Header, ServiceSegment};
use super::{Rx, SrouCounters, SrouTables, ETH_LEN};
use crate::adjacency::Adjacency;
use crate::buf::PacketBuf;
use crate::drop::DropReason;
use crate::packet::L3Kind;
use crate::wire::ethernet::EtherType;
use crate::wire::{ipv4, ipv6};

/// What the egress learned from a decapsulated packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decap {
    /// The inner packet's family (the frame's new EtherType).
    pub inner: L3Kind,
    /// The original sender's locator: the SRoU Source, or the outer source when this node
    /// was also the first SRoU hop (Last Entry == Segments Left). For a return-path cache.
    pub origin: SocketAddr,
    /// The VRF, when the packet ended on a service segment.
    pub vnid: Option<u32>,
    /// Where to send the inner packet, if the tables configure it (MACs then written);
    /// `None`: the caller routes it (the frame keeps the received MACs).
    pub adjacency: Option<Adjacency>,
}

/// The inner IP header is self-consistent with the bytes that carry it: IPv4 IHL >= 5 and
/// a total length that covers the header and fits the payload; IPv6 payload length + 40
/// fits. A header that lies about the SRoU Length lands the "inner packet" at a wrong
/// offset, which this catches instead of delivering garbage.
fn inner_header_fits(kind: L3Kind, inner: &[u8]) -> bool {
    match kind {
        L3Kind::Ipv4 => {
            let ihl = usize::from(inner[0] & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([inner[2], inner[3]]));
            ihl >= ipv4::HEADER_LEN && total >= ihl && total <= inner.len()
        }
        L3Kind::Ipv6 => {
            let payload = usize::from(u16::from_be_bytes([inner[4], inner[5]]));
            ipv6::HEADER_LEN + payload <= inner.len()
        }
        L3Kind::Mpls => false,
    }
}

/// Strips the outer headers of a classified packet ([`super::classify`]).
///
/// Errors: the inner packet is empty, too short or neither IPv4 nor IPv6
/// ([`DropReason::SrouBadInner`]); a service segment with another behaviour than End.DT4,
/// End.DT6 or End.DT46, or of the wrong family for the inner packet
/// ([`DropReason::SrouBadServiceSegment`]); segments left that do not end here
/// ([`DropReason::SrouNotFinal`]); `pkt` is not the frame `rx` was classified
/// from (a header error).
pub(crate) fn decapsulate<B: PacketBuf>(
    t: &SrouTables,
    pkt: &mut B,
    rx: &Rx,
    c: &SrouCounters,
) -> Result<Decap, DropReason> {
    let frame = pkt.data_mut();
    if frame.len() < ETH_LEN || rx.srou < ETH_LEN {
        return Err(DropReason::SrouTruncated);
    }
    let bytes = frame
        .get(rx.srou..rx.udp_end)
        .ok_or(DropReason::SrouTruncated)?;
    let h = Header::new_checked(bytes)?;
    let sl = h.segments_left();
    let service = if sl == 0 {
        None
    } else {
        match h.service_segment(0) {
            Some(s) if sl == 1 => Some(s),
            _ => return Err(DropReason::SrouNotFinal),
        }
    };
    let origin = if h.last_entry() == sl {
        rx.outer_src(frame).ok_or(DropReason::SrouTruncated)?
    } else {
        h.source().ok_or(DropReason::SrouBadProtocol)?
    };
    let inner_at = rx.srou + h.header_len();
    let inner = &frame[inner_at..rx.udp_end];
    let (kind, ethertype, min) = match inner.first().map(|b| b >> 4) {
        Some(4) => (L3Kind::Ipv4, EtherType::IPV4, ipv4::HEADER_LEN),
        Some(6) => (L3Kind::Ipv6, EtherType::IPV6, ipv6::HEADER_LEN),
        _ => return Err(DropReason::SrouBadInner),
    };
    if inner.len() < min || !inner_header_fits(kind, inner) {
        return Err(DropReason::SrouBadInner);
    }
    if let Some(s) = service {
        let fits = match s.behavior {
            ServiceSegment::END_DT46 => true,
            ServiceSegment::END_DT4 => kind == L3Kind::Ipv4,
            ServiceSegment::END_DT6 => kind == L3Kind::Ipv6,
            _ => false,
        };
        if !fits {
            return Err(DropReason::SrouBadServiceSegment);
        }
    }

    // New Ethernet header just before the inner packet; inner_at >= ETH_LEN + IP + UDP.
    let eth_at = inner_at - ETH_LEN;
    frame.copy_within(0..12, eth_at);
    let adjacency = t.decap_adjacency();
    let eth = &mut frame[eth_at..inner_at];
    if let Some(adj) = &adjacency {
        adj.rewrite(eth);
    }
    eth[12..14].copy_from_slice(&ethertype.0.to_be_bytes());
    if !pkt.adj(eth_at) {
        return Err(DropReason::SrouTruncated);
    }
    c.decapsulated.add(1);
    Ok(Decap {
        inner: kind,
        origin,
        vnid: service.map(|s| s.vnid),
        adjacency,
    })
}
