//! The ETR action: LISP packets to one of our RLOCs lose their outer headers and the inner
//! packet is delivered as it is (pipe model).

use core::net::IpAddr;

use super::lisp::{self, DATA_PORT};
use super::{DyncastCounters, DyncastTables, Outcome};
use crate::buf::PacketBuf;
use crate::drop::DropReason;
use crate::packet::PacketMeta;
use crate::wire::udp;

use super::encap::destination;

const ETH_LEN: usize = 14;

/// A LISP packet to a local RLOC: where its inner packet is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// Offset of the inner packet.
    pub inner: usize,
    /// Its IP version (4 or 6).
    pub version: u8,
}

/// `Ok(None)` unless the frame is UDP to port 4341 at one of our RLOCs; else checks it:
/// not a fragment ([`DropReason::DyncastFragment`]), room for the LISP header
/// ([`DropReason::DyncastLispTruncated`]), an IPv4 or IPv6 packet inside
/// ([`DropReason::DyncastBadInner`]).
#[inline]
pub fn classify(
    t: &DyncastTables,
    frame: &[u8],
    meta: &PacketMeta,
) -> Result<Option<Received>, DropReason> {
    if t.local_rlocs().is_empty() {
        return Ok(None);
    }
    // A later fragment has no UDP header to show the port: any UDP fragment to one of our
    // RLOCs may be LISP, and there is no reassembly, so it is dropped below.
    let later_udp_fragment = meta.has(crate::packet::flags::LATER_FRAGMENT)
        && meta.l4_proto == crate::wire::IpProtocol::UDP.0;
    if !later_udp_fragment && (!meta.is_udp() || meta.dst_port != DATA_PORT) {
        return Ok(None);
    }
    let Some(dst) = destination(frame, meta) else {
        return Ok(None);
    };
    if !t.local_rlocs().contains(&dst) {
        return Ok(None);
    }
    if meta.is_fragment() {
        return Err(DropReason::DyncastFragment);
    }
    let dgram = meta.udp(frame).ok_or(DropReason::UdpBadLength)?;
    let h = lisp::Header::new_checked(dgram.payload())?;
    let version = h.payload().first().map(|b| b >> 4);
    let version = match version {
        Some(4) => 4,
        Some(6) => 6,
        _ => return Err(DropReason::DyncastBadInner),
    };
    Ok(Some(Received {
        inner: usize::from(meta.l4_offset) + udp::HEADER_LEN + lisp::HEADER_LEN,
        version,
    }))
}

/// Removes `Ethernet | outer IP | UDP | LISP` in front of the inner packet and writes a new
/// untagged Ethernet header: the decap adjacency's MACs, or the received ones when there is
/// none (the caller then hands the frame to the IP path).
pub fn decapsulate<B: PacketBuf>(
    t: &DyncastTables,
    pkt: &mut B,
    rx: Received,
    c: &DyncastCounters,
) -> Result<Outcome, DropReason> {
    let frame = pkt.data_mut();
    let eth_at = rx
        .inner
        .checked_sub(ETH_LEN)
        .ok_or(DropReason::DyncastBadInner)?;
    if frame.len() < rx.inner {
        return Err(DropReason::DyncastBadInner);
    }
    frame.copy_within(0..12, eth_at);
    let eth = frame
        .get_mut(eth_at..rx.inner)
        .ok_or(DropReason::DyncastBadInner)?;
    if let Some(adj) = t.decap_adjacency() {
        adj.rewrite(eth);
    }
    let ethertype: u16 = if rx.version == 4 { 0x0800 } else { 0x86dd };
    eth[12..14].copy_from_slice(&ethertype.to_be_bytes());
    if !pkt.adj(eth_at) {
        return Err(DropReason::DyncastBadInner);
    }
    c.decapsulated.add(1);
    Ok(Outcome::Decapsulated(t.decap_adjacency()))
}

/// True if `addr` is one of our RLOCs (for callers that classify themselves).
pub fn is_local(t: &DyncastTables, addr: &IpAddr) -> bool {
    t.local_rlocs().contains(addr)
}
