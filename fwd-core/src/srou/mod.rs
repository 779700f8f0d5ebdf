//! SRoU, Segment Routing over UDP (draft-zartbot-sr-udp-00; control plane in seed 000,
//! draft-zartbot-srou-control-00): header view, tables, and the three data-plane
//! behaviours on Ethernet frames.
//!
//! A packet is `Ethernet | outer IP | UDP | SRoU | inner IP packet`. Each SRoU node
//! listens on its own sockets, its *locators* (IP + UDP port, e.g. `10.99.1.1:8811`); the
//! SRoU header carries the path as a list of locators, SRv6-style: Segment List\[0\] is the
//! final node, Segment List\[Last Entry\] the first hop, and the outer destination is always
//! Segment List\[Segments Left\].
//!
//! - [`encap::encapsulate`] (ingress): a plain IP packet whose destination has an
//!   [`SrouPolicy`] is wrapped and sent to the first hop;
//! - [`transit`]: a packet to one of our locators with Segments Left > 0 is
//!   re-addressed to the next locator (NAT ALG at the first hop);
//!   [`transit::transit_fast`] does the same for untagged IPv4 without the general parse,
//!   and the pipeline tries it first;
//! - [`decap`] (egress): Segments Left 0 at our locator: the inner packet is
//!   delivered;
//! - [`acl`]: token access control on the Flow ID, applied at every step;
//! - [`process`] chooses among them for one frame; [`receive`] only handles packets to our
//!   locators.
//!
//! Each function works on a [`PacketBuf`] or a byte slice, never panics, never allocates
//! and returns either an [`Outcome`] or the [`DropReason`] the packet is counted under.
//!
//! # Decisions on what the draft leaves open
//!
//! - **Protocol-ID** is the address family of the Source field *and* of the locators
//!   (1 = IPv4, 2 = IPv6), as every implementation uses it; 0 is OAM. It must also be the
//!   family of the outer IP header ([`DropReason::SrouFamilyMismatch`]). The type of the
//!   *inner* packet is read from its version nibble (4 or 6, else
//!   [`DropReason::SrouBadInner`]), so IPv6 can ride over IPv4 locators and vice versa.
//! - **Segment Type** must be the one of the Protocol-ID: 0x1 = IPv4 address + port
//!   (6 B per segment), 0x2 = IPv6 address + port (18 B, as the prototypes send; the
//!   draft's table says 16 B SRv6). 0x3 (compressed list: no published layout) and any
//!   mismatch are [`DropReason::SrouBadSegmentType`].
//! - **SR Hdr Len** is never trusted nor checked (the prototypes disagree); srgate writes
//!   4 + the segment list length (the SR part without TLVs). SRoU Length is what is
//!   validated, against the UDP payload and against every field it must hold
//!   ([`wire::Header::check_len`]); a header that lies about its length is dropped.
//! - **Segments Left** must be at most Last Entry on receipt
//!   ([`DropReason::SrouSegmentsLeftBeyondLast`]); there is no "Last Entry + 1" reduced
//!   mode as in SRv6. A transit node decrements only when it is above 0: Segments Left 0
//!   at a transit-only locator is [`DropReason::SrouSegmentsLeftZero`], never a wrap.
//! - **OAM** (Protocol-ID 0) has no Source and no segment list: the view checks only the
//!   Flow ID and the OAM-Type byte; the data plane drops OAM packets at its locators
//!   ([`DropReason::SrouOamUnsupported`]) until STUN/PM responders exist.
//! - **Magic**: 0x00 is sent; 0x00 and 0xFE are accepted ([`DropReason::SrouBadMagic`]).
//! - **NAT ALG**: a node receiving Segments Left == Last Entry is the first SRoU hop and
//!   copies the outer source IP/port into the SRoU Source (it overwrites what the ingress
//!   wrote: the ingress may be behind a NAT). The final node does the same when Last
//!   Entry is 0 (the ingress sent straight to it).
//! - **Outer source at transit** is the locator the packet arrived on (its outer
//!   destination), so replies and uRPF see the relaying socket.
//! - **Service segment** (Ruta's VPN mode): an IPv4 slot `0xFF | VNID | behaviour` may only
//!   be Segment List\[0\]. The locator receiving Segments Left 1 with such a Segment
//!   List\[0\] decapsulates into that VNID (End.DT4, End.DT6, End.DT46;
//!   others: [`DropReason::SrouBadServiceSegment`]); 255.0.0.0/8 cannot be a locator.
//! - **Egress "restore the source"**: the outer headers are stripped, so the original
//!   sender (SRoU Source, or the outer source under the ALG rule above) is returned in
//!   [`Decap::origin`] for a return-path cache; the inner packet itself is not changed.
//! - **Checksums**: the outer IPv4 header checksum is computed at encapsulation and
//!   updated incrementally (RFC 1624) at transit (addresses, TTL). The UDP checksum is sent
//!   as 0 over IPv4 unless [`SrouTablesBuilder::udp_checksum`] is set (RFC 768 allows it;
//!   a tunnel's inner packet has its own checks, as for VXLAN), and always computed over
//!   IPv6 (RFC 8200). At transit a zero UDP checksum stays zero; any other is updated
//!   incrementally for every rewritten field (pseudo-header addresses, ports, Segments
//!   Left, ALG Source), at any byte alignment. The egress does not verify it.
//! - **TTL**: the outer TTL / hop limit is [`SrouTables::outer_ttl`] at encapsulation and
//!   decremented at each transit ([`DropReason::TtlExpired`] at 1 or 0). The inner packet
//!   is carried untouched end to end (pipe model): the egress output equals the ingress
//!   input.
//! - **Outer IPv4**: no options, DF set, Identification 0 (RFC 6864), TOS (DSCP and ECN)
//!   copied from the inner packet; outer IPv6: traffic class copied, flow label 0.
//! - **L2**: an encapsulated or decapsulated frame is untagged Ethernet (VLAN tags of the
//!   received frame are not kept); a transit frame keeps its L2 header and only has its
//!   MACs rewritten, like the IP handlers. Ethernet padding of the received frame is left
//!   behind the packet (the IP and UDP lengths exclude it).
//! - **Fragments** addressed to a locator are dropped ([`DropReason::SrouFragment`]):
//!   there is no reassembly.
//! - **Tokens**: Flow IDs of at most 16 bytes can be listed; see [`acl`] for the modes.

pub mod acl;
pub mod config;
mod csum;
pub mod decap;
pub mod encap;
pub mod tables;
pub mod transit;
pub mod wire;

#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod testutil;

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use serde::Serialize;

pub use acl::{AclMode, TokenAcl, TokenDecision};
pub use decap::Decap;
pub use tables::{
    FlowId, Locator, PolicyError, PolicySpec, SrouPolicy, SrouTables, SrouTablesBuilder,
    TablesError,
};
pub use wire::ServiceSegment;

use crate::adjacency::Adjacency;
use crate::buf::PacketBuf;
use crate::counters::Counter;
use crate::drop::DropReason;
use crate::packet::{L3Kind, PacketMeta};
use crate::wire::udp;

/// What SRoU did with a frame that was not dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Not SRoU's business (no locator, no policy): the frame is untouched; hand it to the
    /// other handlers.
    Pass,
    /// Encapsulated towards the first hop; MACs written; send on the adjacency's port.
    Encapsulated(Adjacency),
    /// Re-addressed to the next locator; MACs written; send on the adjacency's port.
    Transited(Adjacency),
    /// Decapsulated: the frame is now `Ethernet | inner packet`.
    Decapsulated(Decap),
}

/// SRoU counters of one worker (single writer; drops are counted by [`DropReason`]).
#[derive(Debug, Default)]
pub struct SrouCounters {
    /// Packets encapsulated at ingress.
    pub encapsulated: Counter,
    /// Packets forwarded by a transit locator.
    pub transited: Counter,
    /// Packets decapsulated at egress.
    pub decapsulated: Counter,
    /// Packets whose SRoU Source was rewritten from the outer source (first hop ALG).
    pub nat_alg: Counter,
    /// Flow IDs that passed the token check (blocked and not-permitted ones are drops).
    pub tokens_permitted: Counter,
}

/// A copy of [`SrouCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SrouCounterSnapshot {
    /// Packets encapsulated at ingress.
    pub encapsulated: u64,
    /// Packets forwarded by a transit locator.
    pub transited: u64,
    /// Packets decapsulated at egress.
    pub decapsulated: u64,
    /// First-hop NAT ALG rewrites.
    pub nat_alg: u64,
    /// Token checks passed.
    pub tokens_permitted: u64,
}

impl SrouCounters {
    /// Reads every counter.
    pub fn snapshot(&self) -> SrouCounterSnapshot {
        SrouCounterSnapshot {
            encapsulated: self.encapsulated.get(),
            transited: self.transited.get(),
            decapsulated: self.decapsulated.get(),
            nat_alg: self.nat_alg.get(),
            tokens_permitted: self.tokens_permitted.get(),
        }
    }
}

/// Ethernet header length of frames SRoU writes.
pub(crate) const ETH_LEN: usize = 14;

/// Reads an IPv4 (`v4`) or IPv6 address from the start of `b`.
#[inline]
pub(crate) fn read_ip(b: &[u8], v4: bool) -> Option<IpAddr> {
    if v4 {
        let o: [u8; 4] = b.get(..4)?.try_into().ok()?;
        Some(IpAddr::V4(Ipv4Addr::from(o)))
    } else {
        let o: [u8; 16] = b.get(..16)?.try_into().ok()?;
        Some(IpAddr::V6(Ipv6Addr::from(o)))
    }
}

/// Offsets of the source and destination addresses in an IPv4 / IPv6 header.
#[inline(always)]
pub(crate) const fn addr_offsets(v4: bool) -> (usize, usize, usize) {
    if v4 {
        (12, 16, 4)
    } else {
        (8, 24, 16)
    }
}

/// A validated SRoU packet addressed to one of the node's locators, token-checked.
/// Produced by [`classify`]; consumed by [`dispatch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// The locator it arrived on (its outer destination).
    pub locator: Locator,
    /// The outer source IP and UDP port.
    pub outer_src: SocketAddr,
    /// Segments Left on arrival.
    pub segments_left: u8,
    /// Last Entry.
    pub last_entry: u8,
    /// Segment List\[0\] when it is a service segment.
    pub service: Option<ServiceSegment>,
    pub(crate) at: Rx,
}

/// Where a validated SRoU packet's fields are (what the behaviours read, computed once by
/// [`classify`]'s validation): small and `Copy`, so that the per-packet path never builds
/// addresses it does not need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rx {
    /// IPv4 outer header (and locators); else IPv6.
    pub(crate) v4: bool,
    /// The locator it arrived on may decapsulate.
    pub(crate) decap: bool,
    /// Segments Left on arrival.
    pub(crate) segments_left: u8,
    /// Last Entry.
    pub(crate) last_entry: u8,
    /// Offsets in the frame: outer IP header, UDP header, SRoU header, end of the UDP
    /// datagram (`srou + header length <= udp_end <= frame length`).
    pub(crate) l3: usize,
    pub(crate) l4: usize,
    pub(crate) srou: usize,
    pub(crate) udp_end: usize,
    /// SRoU Length.
    pub(crate) hdr_len: usize,
    /// Offsets in the SRoU header of the Source Address and of the SR part.
    pub(crate) src_at: usize,
    pub(crate) sr_at: usize,
    /// Bytes per segment (6 or 18).
    pub(crate) seg_len: usize,
}

impl Rx {
    /// Where the fields are in a frame whose outer IP header is at `l3` and UDP header at
    /// `l4`, the datagram ending at `udp_end`, the SRoU header (right after UDP) laid out
    /// as `lay`, received on `locator`.
    #[inline(always)]
    pub(crate) fn new(
        v4: bool,
        locator: &Locator,
        l3: usize,
        l4: usize,
        udp_end: usize,
        lay: &wire::Layout,
    ) -> Rx {
        Rx {
            v4,
            decap: locator.decap,
            segments_left: lay.segments_left,
            last_entry: lay.last_entry,
            l3,
            l4,
            srou: l4 + udp::HEADER_LEN,
            udp_end,
            hdr_len: lay.header_len,
            src_at: lay.source,
            sr_at: lay.sr,
            seg_len: lay.segment_len,
        }
    }

    /// Offset in the frame of Segment List\[`index`\] (`index <= last_entry`).
    #[inline]
    pub(crate) fn segment_at(&self, index: u8) -> usize {
        self.srou + self.sr_at + wire::SR_FIXED_LEN + usize::from(index) * self.seg_len
    }

    /// Segment List\[0\] if it is a service segment (IPv4 slots only).
    #[inline]
    pub(crate) fn service(&self, frame: &[u8]) -> Option<ServiceSegment> {
        if !self.v4 {
            return None;
        }
        let at = self.segment_at(0);
        ServiceSegment::from_slot(frame.get(at..at + self.seg_len)?)
    }

    /// The outer source IP and UDP port.
    #[inline]
    pub(crate) fn outer_src(&self, frame: &[u8]) -> Option<SocketAddr> {
        let (src_off, _, _) = addr_offsets(self.v4);
        let ip = read_ip(frame.get(self.l3 + src_off..)?, self.v4)?;
        let p = frame.get(self.l4..self.l4 + 2)?;
        Some(SocketAddr::new(ip, u16::from_be_bytes([p[0], p[1]])))
    }
}

/// Validates a parsed frame addressed to one of our locators (the work of [`classify`]
/// without building its [`Received`]): `Ok(None)` if not addressed to a locator.
#[inline]
fn classify_rx(t: &SrouTables, frame: &[u8], meta: &PacketMeta) -> Result<Option<Rx>, DropReason> {
    if !meta.is_udp() {
        return Ok(None);
    }
    let v4 = match meta.l3 {
        L3Kind::Ipv4 => true,
        L3Kind::Ipv6 => false,
        L3Kind::Mpls => return Ok(None),
    };
    let l3 = usize::from(meta.l3_offset);
    let (_, dst_off, alen) = addr_offsets(v4);
    let Some(dst) = frame.get(l3 + dst_off..l3 + dst_off + alen) else {
        return Ok(None);
    };
    let Some(locator) = t.locator_raw(dst, meta.dst_port) else {
        return Ok(None);
    };
    if meta.is_fragment() {
        return Err(DropReason::SrouFragment);
    }
    let dgram = meta.udp(frame).ok_or(DropReason::UdpBadLength)?;
    let l4 = usize::from(meta.l4_offset);
    let srou = l4 + udp::HEADER_LEN;
    let udp_end = l4 + usize::from(dgram.len());
    let bytes = frame.get(srou..udp_end).ok_or(DropReason::SrouTruncated)?;
    let lay = wire::Header::new_unchecked(bytes).layout()?;
    if lay.is_oam() {
        return Err(DropReason::SrouOamUnsupported);
    }
    if (lay.address_len == 4) != v4 {
        return Err(DropReason::SrouFamilyMismatch);
    }
    let flow_id = bytes
        .get(wire::FIXED_LEN..lay.source)
        .ok_or(DropReason::SrouBadFlowIdLength)?;
    t.acl().check(flow_id).result()?;
    Ok(Some(Rx::new(v4, locator, l3, l4, udp_end, &lay)))
}

/// Checks whether a parsed frame is an SRoU packet to one of our locators: `Ok(None)` if
/// it is not addressed to a locator; otherwise validates the UDP and SRoU headers, the
/// family and the token, returning the drop reason of the first failure.
pub fn classify(
    t: &SrouTables,
    frame: &[u8],
    meta: &PacketMeta,
) -> Result<Option<Received>, DropReason> {
    let Some(at) = classify_rx(t, frame, meta)? else {
        return Ok(None);
    };
    let (_, dst_off, alen) = addr_offsets(at.v4);
    let dst = frame
        .get(at.l3 + dst_off..at.l3 + dst_off + alen)
        .ok_or(DropReason::Ipv4Truncated)?;
    let locator = *t
        .locator_raw(dst, meta.dst_port)
        .ok_or(DropReason::SrouTruncated)?;
    Ok(Some(Received {
        locator,
        outer_src: at.outer_src(frame).ok_or(DropReason::Ipv4Truncated)?,
        segments_left: at.segments_left,
        last_entry: at.last_entry,
        service: at.service(frame),
        at,
    }))
}

/// Handles a classified packet: decapsulates at Segments Left 0 (or 1 before a service
/// segment) on a decapsulating locator, else transits.
pub fn dispatch<B: PacketBuf>(
    t: &SrouTables,
    pkt: &mut B,
    rx: &Received,
    c: &SrouCounters,
) -> Result<Outcome, DropReason> {
    dispatch_rx(t, pkt, &rx.at, c)
}

#[inline]
fn dispatch_rx<B: PacketBuf>(
    t: &SrouTables,
    pkt: &mut B,
    rx: &Rx,
    c: &SrouCounters,
) -> Result<Outcome, DropReason> {
    c.tokens_permitted.add(1);
    // A service segment only matters when it is the next (or the active) one.
    let ends_here = match rx.segments_left {
        0 if rx.service(pkt.data()).is_some() => return Err(DropReason::SrouBadServiceSegment),
        0 => true,
        1 => rx.service(pkt.data()).is_some(),
        _ => false,
    };
    if ends_here {
        if !rx.decap {
            return Err(if rx.segments_left == 0 {
                DropReason::SrouSegmentsLeftZero
            } else {
                DropReason::SrouBadServiceSegment
            });
        }
        return decap::decapsulate(t, pkt, rx, c).map(Outcome::Decapsulated);
    }
    transit::transit(t, pkt.data_mut(), rx, c).map(Outcome::Transited)
}

/// Handles a frame if it is addressed to one of our locators ([`Outcome::Pass`] if not).
#[inline]
pub fn receive<B: PacketBuf>(
    t: &SrouTables,
    pkt: &mut B,
    meta: &PacketMeta,
    c: &SrouCounters,
) -> Result<Outcome, DropReason> {
    match classify_rx(t, pkt.data(), meta)? {
        Some(rx) => dispatch_rx(t, pkt, &rx, c),
        None => Ok(Outcome::Pass),
    }
}

/// The SRoU step of the pipeline for one parsed frame: receive if it is addressed to one
/// of our locators, else encapsulate if its destination has a policy, else
/// [`Outcome::Pass`].
#[inline]
pub fn process<B: PacketBuf>(
    t: &SrouTables,
    pkt: &mut B,
    meta: &PacketMeta,
    c: &SrouCounters,
) -> Result<Outcome, DropReason> {
    if t.is_empty() {
        return Ok(Outcome::Pass);
    }
    match receive(t, pkt, meta, c)? {
        Outcome::Pass => encap::encapsulate(t, pkt, meta, c),
        done => Ok(done),
    }
}
