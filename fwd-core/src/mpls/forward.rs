//! The per-packet MPLS forwarding function, and label imposition for an ingress.
//!
//! [`forward`] works in two steps: a read-only decision over the label stack (which labels
//! the node consumes, which next hop it picks), then one rewrite of the frame: the stack is
//! grown or shrunk at the front ([`PacketBuf::prepend`] / [`PacketBuf::adj`]) with the L2
//! header (Ethernet and VLAN tags, `l3_offset` bytes) moved so it stays in front, the new
//! labels written, and the Ethernet header rewritten by the chosen [`Adjacency`]. A dropped
//! packet is never modified. See the [module documentation](super) for the TTL, TC, S-bit
//! and reserved-label rules.

use crate::adjacency::Adjacency;
use crate::buf::PacketBuf;
use crate::drop::DropReason;
use crate::packet::{MAX_MPLS_DEPTH, MAX_VLAN_TAGS};
use crate::wire::ethernet::EtherType;

use super::lfib::{NextHop, Route};
use super::{
    reserved, Lse, MplsTables, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_MPLS, ETHERTYPE_MPLS_MC,
    FIRST_UNRESERVED_LABEL, MAX_LABEL,
};

/// Most labels one packet may make the node examine (LFIB and V-LFIB lookups and reserved
/// labels popped): bounds the work of pop-and-lookup chains.
pub const MAX_LOOKUPS: usize = 4;

/// Bytes of an Ethernet header without tags: the smallest valid `l3_offset`.
const ETH_HDR_LEN: usize = 14;
/// Bytes of one label stack entry.
const LSE_LEN: usize = 4;
/// Bytes one VLAN tag adds in front of the EtherType.
const VLAN_TAG_LEN: usize = 4;

/// The payload under a popped bottom-of-stack label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Payload {
    /// IPv4 (first nibble 4).
    Ipv4,
    /// IPv6 (first nibble 6).
    Ipv6,
}

impl Payload {
    /// The payload whose first byte is `first`, if it is IP.
    #[inline]
    pub fn from_first_byte(first: u8) -> Option<Self> {
        match first >> 4 {
            4 => Some(Payload::Ipv4),
            6 => Some(Payload::Ipv6),
            _ => None,
        }
    }

    /// Its EtherType.
    #[inline]
    pub const fn ethertype(self) -> u16 {
        match self {
            Payload::Ipv4 => ETHERTYPE_IPV4,
            Payload::Ipv6 => ETHERTYPE_IPV6,
        }
    }
}

/// What [`forward`] did with a packet it did not drop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MplsOutcome {
    /// Rewritten for and to be sent on this adjacency (labels swapped, pushed or popped; a
    /// popped bottom label leaves an IP packet with its EtherType set).
    Forward(Adjacency),
    /// Every label was for this node (own node/anycast SID, explicit null at the bottom): the
    /// labels are removed and the frame is now an IP packet of this kind, EtherType set, for
    /// the local IP path. The Ethernet addresses are left as received.
    LocalDelivery(Payload),
}

/// The labels a chosen path writes in place of the label it replaces.
#[derive(Clone, Copy)]
enum OutLabels<'t> {
    /// One label (a swap), decoded from a fast LFIB entry.
    Swap(u32),
    /// A label stack (outermost first; empty: a pop), borrowed from a [`NextHop`].
    Stack(&'t [u32]),
}

/// The path chosen for a packet: where it goes and what it writes.
#[derive(Clone, Copy)]
struct Hop<'t> {
    adjacency: &'t Adjacency,
    labels: OutLabels<'t>,
}

impl<'t> Hop<'t> {
    #[inline]
    fn from_next_hop(hop: &'t NextHop) -> Self {
        Hop {
            adjacency: hop.adjacency(),
            labels: OutLabels::Stack(hop.out_labels()),
        }
    }

    #[inline]
    fn pops(&self) -> bool {
        matches!(self.labels, OutLabels::Stack([]))
    }
}

/// The read-only decision over the stack.
enum Decision<'t> {
    /// Remove `removed` labels, write `hop`'s labels in their place, send on its adjacency.
    Forward {
        removed: usize,
        hop: Hop<'t>,
        /// The last removed label (the one the next hop's labels replace).
        replaced: Lse,
        /// The payload, when the hop pops the bottom label.
        payload: Option<Payload>,
        /// The TTL every written (or exposed) label gets: arrival TTL - 1.
        ttl: u8,
    },
    /// Remove `removed` labels (the last one was the bottom) and deliver `payload`.
    Local { removed: usize, payload: Payload },
}

/// Forwards the MPLS packet in `pkt` whose label stack starts at `l3_offset` (after
/// Ethernet and VLAN tags), choosing among ECMP next hops by `flow_hash % n`.
///
/// On success the frame is rewritten (labels, EtherType when the bottom label is popped,
/// Ethernet addresses of the adjacency). On error the packet is unchanged and the reason is
/// the counter to increment. Never panics and never allocates, whatever the bytes.
#[inline]
pub fn forward<B: PacketBuf>(
    tables: &MplsTables,
    pkt: &mut B,
    l3_offset: usize,
    flow_hash: u32,
) -> Result<MplsOutcome, DropReason> {
    forward_hashing(tables, pkt, l3_offset, |_| flow_hash)
}

/// [`forward`], computing the flow hash only when an ECMP choice needs it: `flow_hash`
/// gets the (unmodified) frame and is called at most once, never for a single-path entry.
#[inline]
pub fn forward_hashing<B: PacketBuf>(
    tables: &MplsTables,
    pkt: &mut B,
    l3_offset: usize,
    flow_hash: impl Fn(&[u8]) -> u32,
) -> Result<MplsOutcome, DropReason> {
    match decide(tables, pkt.data(), l3_offset, flow_hash)? {
        Decision::Local { removed, payload } => {
            resize(pkt, l3_offset, removed, 0)?;
            set_ethertype(pkt.data_mut(), l3_offset, payload.ethertype())?;
            Ok(MplsOutcome::LocalDelivery(payload))
        }
        Decision::Forward {
            removed,
            hop,
            replaced,
            payload,
            ttl,
        } => {
            if let (OutLabels::Swap(label), 1) = (hop.labels, removed) {
                // The plain swap: one label out, one in, the frame keeps its length (the
                // general path below does the same through resize and a loop).
                let frame = pkt.data_mut();
                Lse::new(label, replaced.tc(), replaced.bos(), ttl)
                    .write(frame, l3_offset)
                    .ok_or(DropReason::MplsTruncated)?;
                hop.adjacency.rewrite(frame);
                return Ok(MplsOutcome::Forward(*hop.adjacency));
            }
            let one;
            let labels: &[u32] = match hop.labels {
                OutLabels::Swap(label) => {
                    one = [label];
                    &one
                }
                OutLabels::Stack(labels) => labels,
            };
            resize(pkt, l3_offset, removed, labels.len())?;
            let frame = pkt.data_mut();
            let last = labels.len().saturating_sub(1);
            for (i, &label) in labels.iter().enumerate() {
                let bos = i == last && replaced.bos();
                Lse::new(label, replaced.tc(), bos, ttl)
                    .write(frame, l3_offset + i * LSE_LEN)
                    .ok_or(DropReason::MplsTruncated)?;
            }
            if labels.is_empty() {
                match payload {
                    // PHP of the bottom label: an IP packet leaves, untouched (pipe model).
                    Some(p) => set_ethertype(frame, l3_offset, p.ethertype())?,
                    // PHP exposing the next label: it carries the decremented TTL.
                    None => {
                        *frame
                            .get_mut(l3_offset + 3)
                            .ok_or(DropReason::MplsTruncated)? = ttl;
                    }
                }
            }
            hop.adjacency.rewrite(frame);
            Ok(MplsOutcome::Forward(*hop.adjacency))
        }
    }
}

/// The plain swap without the general path ([`forward`]'s parse, decision and rewrite
/// steps): a unicast MPLS frame (untagged, or under at most the parser's number of VLAN
/// tags) whose top label's entry swaps it to one label on one adjacency, with a TTL above
/// 1 and a label stack the parser accepts. The frame is rewritten exactly as [`forward`]
/// would (new label, TC and S kept, TTL - 1, MACs; tags untouched) and the adjacency
/// returned; anything else returns `None` with the frame untouched, for the general path
/// to decide (and count, if it drops). The bulk of a transit LSR's traffic, in a third of
/// the general path's time.
#[inline]
pub fn swap_fast<'t>(tables: &'t MplsTables, frame: &mut [u8]) -> Option<&'t Adjacency> {
    let &[.., e0, e1, l0, l1, l2, l3] = frame.get(..ETH_HDR_LEN + LSE_LEN)? else {
        return None;
    };
    match EtherType(u16::from_be_bytes([e0, e1])) {
        // Untagged, the common case: every offset a constant.
        EtherType::MPLS => swap_at(
            tables,
            frame,
            ETH_HDR_LEN,
            Lse(u32::from_be_bytes([l0, l1, l2, l3])),
        ),
        tpid if tpid.is_vlan_tpid() => swap_tagged(tables, frame),
        _ => None,
    }
}

/// [`swap_fast`] for a VLAN-tagged frame.
#[inline(never)]
fn swap_tagged<'t>(tables: &'t MplsTables, frame: &mut [u8]) -> Option<&'t Adjacency> {
    let l3 = tagged_l3(frame)?;
    swap_at(tables, frame, l3, Lse::read(frame, l3)?)
}

/// Where the label stack of a VLAN-tagged MPLS frame starts (at most the parser's number
/// of tags), if it is one.
#[inline]
fn tagged_l3(frame: &[u8]) -> Option<usize> {
    let mut l3 = ETH_HDR_LEN;
    let mut ethertype = EtherType(be16(frame, l3 - 2)?);
    for _ in 0..MAX_VLAN_TAGS {
        if !ethertype.is_vlan_tpid() {
            break;
        }
        // A tag: TCI, then the EtherType it carries.
        ethertype = EtherType(be16(frame, l3 + 2)?);
        l3 += VLAN_TAG_LEN;
    }
    (ethertype == EtherType::MPLS).then_some(l3)
}

/// [`swap_fast`] for a label stack at `l3` whose top entry is `lse`.
#[inline(always)]
fn swap_at<'t>(
    tables: &'t MplsTables,
    frame: &mut [u8],
    l3: usize,
    lse: Lse,
) -> Option<&'t Adjacency> {
    let ttl = lse.ttl();
    if lse.label() < FIRST_UNRESERVED_LABEL || ttl <= 1 {
        return None;
    }
    if !lse.bos() {
        // The parser's bound on the stack (the general path drops deeper ones).
        crate::wire::mpls::stack_depth(frame.get(l3..)?, MAX_MPLS_DEPTH).ok()?;
    }
    let (label, adjacency) = tables.lfib().single_swap(lse.label())?;
    Lse::new(label, lse.tc(), lse.bos(), ttl - 1).write(frame, l3)?;
    adjacency.rewrite(frame);
    Some(adjacency)
}

/// The big-endian `u16` at `at`, if two bytes are there.
#[inline]
fn be16(frame: &[u8], at: usize) -> Option<u16> {
    let &[hi, lo] = frame.get(at..at + 2)? else {
        return None;
    };
    Some(u16::from_be_bytes([hi, lo]))
}

/// The forwarding decision once the hop is known: `removed` labels consumed, `replaced`
/// the label whose entry chose `hop`. A function rather than a closure of [`decide`] so
/// that it is always inlined: called from two places, a closure was not, and its result,
/// written to memory and read back with wider loads, cost a store-forwarding stall per
/// packet (a quarter of the MPLS swap time).
#[inline(always)]
fn send<'t>(
    frame: &[u8],
    l3: usize,
    ttl: u8,
    removed: usize,
    hop: Hop<'t>,
    replaced: Lse,
) -> Result<Decision<'t>, DropReason> {
    if ttl <= 1 {
        return Err(DropReason::TtlExpired);
    }
    let payload = match (hop.pops(), replaced.bos()) {
        (true, true) => Some(
            frame
                .get(l3 + removed * LSE_LEN)
                .and_then(|b| Payload::from_first_byte(*b))
                .ok_or(DropReason::MplsBadPayload)?,
        ),
        (true, false) => {
            // The pop exposes the next label, which gets the TTL: it must be there.
            Lse::read(frame, l3 + removed * LSE_LEN).ok_or(DropReason::MplsTruncated)?;
            None
        }
        (false, _) => None,
    };
    Ok(Decision::Forward {
        removed,
        hop,
        replaced,
        payload,
        ttl: ttl - 1,
    })
}

/// The path of `route` for this packet (`flow_hash % n` among n paths). A function that
/// is always inlined rather than a closure of [`decide`], which was not (called from two
/// places) and returned its `Hop` through memory: 3 % of the MPLS swap core.
#[inline(always)]
fn choose<'t>(
    route: Route<'t>,
    frame: &[u8],
    flow_hash: &impl Fn(&[u8]) -> u32,
) -> Result<Hop<'t>, DropReason> {
    match route {
        Route::Uniform { label, adjacencies } => Ok(Hop {
            adjacency: select(adjacencies, || flow_hash(frame))?,
            labels: match label {
                Some(label) => OutLabels::Swap(label),
                None => OutLabels::Stack(&[]),
            },
        }),
        Route::Paths(hops) => Ok(Hop::from_next_hop(select(hops, || flow_hash(frame))?)),
        // Not forwarding entries (and never in a V-LFIB).
        Route::PopAndLookup | Route::Anycast(_) => Err(DropReason::NoRoute),
    }
}

/// The decision: walks the stack from `l3` without modifying it.
#[inline]
fn decide<'t>(
    tables: &'t MplsTables,
    frame: &[u8],
    l3: usize,
    flow_hash: impl Fn(&[u8]) -> u32,
) -> Result<Decision<'t>, DropReason> {
    if l3 < ETH_HDR_LEN || frame.len() < l3 {
        return Err(DropReason::EthTruncated);
    }
    let lse_at = |i: usize| Lse::read(frame, l3 + i * LSE_LEN).ok_or(DropReason::MplsTruncated);
    let payload_after = |removed: usize| {
        frame
            .get(l3 + removed * LSE_LEN)
            .and_then(|b| Payload::from_first_byte(*b))
            .ok_or(DropReason::MplsBadPayload)
    };
    let local = |removed: usize| {
        Ok(Decision::Local {
            removed,
            payload: payload_after(removed)?,
        })
    };
    let ttl = lse_at(0)?.ttl();
    // `i`: index of the label being examined (= labels consumed so far).
    let mut i = 0usize;
    let mut lookups = 0usize;
    loop {
        lookups += 1;
        if lookups > MAX_LOOKUPS {
            return Err(DropReason::MplsTooManyLookups);
        }
        let lse = lse_at(i)?;
        match lse.label() {
            reserved::IPV4_EXPLICIT_NULL | reserved::IPV6_EXPLICIT_NULL => {
                if lse.bos() {
                    return local(i + 1);
                }
                i += 1;
            }
            reserved::ELI => {
                // An entropy label follows; both are popped (RFC 6790 egress).
                if lse.bos() {
                    return Err(DropReason::MplsReservedLabel);
                }
                let el = lse_at(i + 1)?;
                if el.label() < FIRST_UNRESERVED_LABEL {
                    return Err(DropReason::MplsReservedLabel);
                }
                lookups += 1;
                if el.bos() {
                    return local(i + 2);
                }
                i += 2;
            }
            reserved::ROUTER_ALERT => return Err(DropReason::MplsRouterAlert),
            reserved::IMPLICIT_NULL => return Err(DropReason::MplsImplicitNull),
            l if l < FIRST_UNRESERVED_LABEL => return Err(DropReason::MplsReservedLabel),
            label => match tables.lfib().route(label) {
                None => return Err(DropReason::MplsNoLabel),
                Some(route @ (Route::Uniform { .. } | Route::Paths(_))) => {
                    return send(
                        frame,
                        l3,
                        ttl,
                        i + 1,
                        choose(route, frame, &flow_hash)?,
                        lse,
                    );
                }
                Some(Route::PopAndLookup) => {
                    if lse.bos() {
                        return local(i + 1);
                    }
                    i += 1;
                }
                Some(Route::Anycast(id)) => {
                    // Draft section 3.5: pop the anycast segment label; at the bottom the
                    // packet is for this node, otherwise the next label is a SID index
                    // looked up in the V-LFIB, and swapped to the selected tuple's label.
                    if lse.bos() {
                        return local(i + 1);
                    }
                    lookups += 1;
                    if lookups > MAX_LOOKUPS {
                        return Err(DropReason::MplsTooManyLookups);
                    }
                    let sid = lse_at(i + 1)?;
                    let route = tables
                        .vlfib(id)
                        .and_then(|v| v.route(sid.label()))
                        .ok_or(DropReason::MplsVlfibNoEntry)?;
                    return send(
                        frame,
                        l3,
                        ttl,
                        i + 2,
                        choose(route, frame, &flow_hash)?,
                        sid,
                    );
                }
            },
        }
    }
}

/// The ECMP member `flow_hash() % n` of `paths` (stable per flow); the hash is only
/// computed when there is a choice to make.
#[inline]
fn select<T>(paths: &[T], flow_hash: impl FnOnce() -> u32) -> Result<&T, DropReason> {
    match paths {
        [] => Err(DropReason::NoRoute),
        [only] => Ok(only),
        _ => paths
            .get((flow_hash() % paths.len() as u32) as usize)
            .ok_or(DropReason::NoRoute),
    }
}

/// Replaces `removed` label stack entries at `l3` by `added` (content unspecified),
/// moving the `l3` bytes of L2 header so it stays at the front.
#[inline]
fn resize<B: PacketBuf>(
    pkt: &mut B,
    l3: usize,
    removed: usize,
    added: usize,
) -> Result<(), DropReason> {
    if added > removed {
        let grow = (added - removed) * LSE_LEN;
        if !pkt.prepend(grow) {
            return Err(DropReason::MplsNoHeadroom);
        }
        let frame = pkt.data_mut();
        if frame.len() < grow + l3 {
            return Err(DropReason::MplsTruncated);
        }
        frame.copy_within(grow..grow + l3, 0);
    } else if removed > added {
        let shrink = (removed - added) * LSE_LEN;
        let frame = pkt.data_mut();
        if frame.len() < shrink + l3 {
            return Err(DropReason::MplsTruncated);
        }
        frame.copy_within(0..l3, shrink);
        if !pkt.adj(shrink) {
            return Err(DropReason::MplsTruncated);
        }
    }
    Ok(())
}

/// Writes the EtherType just in front of the L3 header (Ethernet or innermost VLAN tag).
#[inline]
fn set_ethertype(frame: &mut [u8], l3: usize, ethertype: u16) -> Result<(), DropReason> {
    frame
        .get_mut(l3.wrapping_sub(2)..l3)
        .ok_or(DropReason::EthTruncated)?
        .copy_from_slice(&ethertype.to_be_bytes());
    Ok(())
}

/// Pushes `labels` (the first outermost) at `l3_offset`, as an SR ingress (or a controller's
/// policy) does: every new entry gets `tc` and `ttl`, the innermost one S=1 when the frame was
/// not MPLS yet (its EtherType, just before `l3_offset`, is then set to MPLS), S=0 when it
/// is pushed onto an existing stack. Labels are truncated to 20 bits. The L2 header is moved
/// to the new front; the Ethernet addresses are not touched.
pub fn impose<B: PacketBuf>(
    pkt: &mut B,
    l3_offset: usize,
    labels: &[u32],
    ttl: u8,
    tc: u8,
) -> Result<(), DropReason> {
    let frame = pkt.data();
    if l3_offset < ETH_HDR_LEN || frame.len() < l3_offset {
        return Err(DropReason::EthTruncated);
    }
    let ethertype = u16::from_be_bytes([frame[l3_offset - 2], frame[l3_offset - 1]]);
    let onto_stack = ethertype == ETHERTYPE_MPLS || ethertype == ETHERTYPE_MPLS_MC;
    resize(pkt, l3_offset, 0, labels.len())?;
    let frame = pkt.data_mut();
    let last = labels.len().saturating_sub(1);
    for (i, &label) in labels.iter().enumerate() {
        Lse::new(label & MAX_LABEL, tc, i == last && !onto_stack, ttl)
            .write(frame, l3_offset + i * LSE_LEN)
            .ok_or(DropReason::MplsTruncated)?;
    }
    if !labels.is_empty() && !onto_stack {
        set_ethertype(frame, l3_offset, ETHERTYPE_MPLS)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buf::VecBuf;
    use crate::mpls::lfib::{Lfib, LfibAction};
    use crate::mpls::vlfib::{Vlfib, VlfibId};
    use proptest::prelude::*;

    const SRC: [u8; 6] = [0x02, 0xaa, 0, 0, 0, 1];
    const DST: [u8; 6] = [0x02, 0xbb, 0, 0, 0, 1];

    fn adj(port: u16) -> Adjacency {
        Adjacency {
            port,
            dst_mac: [0x02, 0xd0, 0, 0, 0, port as u8],
            src_mac: [0x02, 0x50, 0, 0, 0, port as u8],
        }
    }

    /// An IPv4 header (20 bytes, TTL 64) plus 4 bytes of payload.
    fn ipv4() -> Vec<u8> {
        let mut ip = vec![
            0x45, 0, 0, 24, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        ip.extend_from_slice(b"data");
        ip
    }

    fn ipv6() -> Vec<u8> {
        let mut ip = vec![0x60, 0, 0, 0, 0, 4, 17, 64];
        ip.extend_from_slice(&[0u8; 32]);
        ip.extend_from_slice(b"data");
        ip
    }

    /// Ethernet (optionally one VLAN tag) + MPLS stack `(label, tc, ttl)` (S set on the last)
    /// + payload.
    fn frame(vlan: bool, stack: &[(u32, u8, u8)], payload: &[u8]) -> (Vec<u8>, usize) {
        let mut f = Vec::new();
        f.extend_from_slice(&DST);
        f.extend_from_slice(&SRC);
        if vlan {
            f.extend_from_slice(&[0x81, 0x00, 0x00, 0x64]);
        }
        f.extend_from_slice(&ETHERTYPE_MPLS.to_be_bytes());
        let l3 = f.len();
        for (i, &(label, tc, ttl)) in stack.iter().enumerate() {
            f.extend_from_slice(
                &Lse::new(label, tc, i + 1 == stack.len(), ttl)
                    .0
                    .to_be_bytes(),
            );
        }
        f.extend_from_slice(payload);
        (f, l3)
    }

    /// `(label, tc, bos, ttl)` of each entry from `l3` up to the bottom.
    fn stack_of(f: &[u8], l3: usize) -> Vec<(u32, u8, bool, u8)> {
        let mut out = Vec::new();
        let mut at = l3;
        while let Some(lse) = Lse::read(f, at) {
            out.push((lse.label(), lse.tc(), lse.bos(), lse.ttl()));
            at += 4;
            if lse.bos() {
                break;
            }
        }
        out
    }

    fn ethertype(f: &[u8], l3: usize) -> u16 {
        u16::from_be_bytes([f[l3 - 2], f[l3 - 1]])
    }

    fn tables(entries: &[(u32, LfibAction)], vlfibs: Vec<Vlfib>) -> MplsTables {
        let mut b = Lfib::builder();
        for (l, a) in entries {
            b.insert(*l, a.clone()).unwrap();
        }
        MplsTables::new(b.freeze(), vlfibs).unwrap()
    }

    fn run(
        t: &MplsTables,
        f: &[u8],
        l3: usize,
        hash: u32,
    ) -> (Result<MplsOutcome, DropReason>, VecBuf) {
        let mut pkt = VecBuf::new(f);
        let r = forward(t, &mut pkt, l3, hash);
        (r, pkt)
    }

    #[test]
    fn swap_decrements_ttl_keeps_tc_and_s() {
        let t = tables(&[(100, LfibAction::swap(adj(3), 200).unwrap())], vec![]);
        for vlan in [false, true] {
            let (f, l3) = frame(vlan, &[(100, 5, 64), (999, 1, 9)], &ipv4());
            let (r, pkt) = run(&t, &f, l3, 0);
            assert_eq!(r, Ok(MplsOutcome::Forward(adj(3))));
            let out = pkt.data();
            assert_eq!(out.len(), f.len());
            assert_eq!(
                stack_of(out, l3),
                vec![(200, 5, false, 63), (999, 1, true, 9)]
            );
            assert_eq!(&out[0..6], &adj(3).dst_mac);
            assert_eq!(&out[6..12], &adj(3).src_mac);
            assert_eq!(&out[12..l3], &f[12..l3], "tags and EtherType kept");
            assert_eq!(&out[l3 + 8..], &ipv4()[..]);
        }
        // bottom label swapped keeps S=1
        let (f, l3) = frame(false, &[(100, 0, 2)], &ipv4());
        let (r, pkt) = run(&t, &f, l3, 0);
        assert!(r.is_ok());
        assert_eq!(stack_of(pkt.data(), l3), vec![(200, 0, true, 1)]);
    }

    #[test]
    fn ttl_expiry() {
        let t = tables(
            &[
                (100, LfibAction::swap(adj(3), 200).unwrap()),
                (101, LfibAction::PopAndLookup),
            ],
            vec![],
        );
        for ttl in [0, 1] {
            let (f, l3) = frame(false, &[(100, 0, ttl)], &ipv4());
            let (r, pkt) = run(&t, &f, l3, 0);
            assert_eq!(r, Err(DropReason::TtlExpired));
            assert_eq!(pkt.data(), &f[..], "a dropped packet is unchanged");
            // Delivered locally: not TTL-checked.
            let (f, l3) = frame(false, &[(101, 0, ttl)], &ipv4());
            assert_eq!(
                run(&t, &f, l3, 0).0,
                Ok(MplsOutcome::LocalDelivery(Payload::Ipv4))
            );
        }
    }

    #[test]
    fn php_of_bottom_label_exposes_ip_untouched() {
        let t = tables(&[(6030, LfibAction::pop(adj(7)))], vec![]);
        for (payload, et, kind) in [
            (ipv4(), ETHERTYPE_IPV4, "v4"),
            (ipv6(), ETHERTYPE_IPV6, "v6"),
        ] {
            for vlan in [false, true] {
                let (f, l3) = frame(vlan, &[(6030, 3, 64)], &payload);
                let (r, pkt) = run(&t, &f, l3, 0);
                assert_eq!(r, Ok(MplsOutcome::Forward(adj(7))), "{kind}");
                let out = pkt.data();
                assert_eq!(out.len(), f.len() - 4);
                assert_eq!(ethertype(out, l3), et);
                assert_eq!(&out[l3..], &payload[..], "pipe model: IP header untouched");
                assert_eq!(&out[0..12], &[adj(7).dst_mac, adj(7).src_mac].concat()[..]);
                if vlan {
                    assert_eq!(&out[12..16], &[0x81, 0x00, 0x00, 0x64]);
                }
            }
        }
        // Not IP under the bottom label: dropped, unchanged.
        let (f, l3) = frame(false, &[(6030, 0, 64)], &[0x00, 1, 2, 3]);
        let (r, pkt) = run(&t, &f, l3, 0);
        assert_eq!(r, Err(DropReason::MplsBadPayload));
        assert_eq!(pkt.data(), &f[..]);
        let (f, l3) = frame(false, &[(6030, 0, 64)], &[]);
        assert_eq!(run(&t, &f, l3, 0).0, Err(DropReason::MplsBadPayload));
    }

    #[test]
    fn php_exposing_a_missing_label_is_dropped_unchanged() {
        let t = tables(&[(6030, LfibAction::pop(adj(7)))], vec![]);
        let (mut f, l3) = frame(false, &[(6030, 0, 64)], &[]);
        f[l3 + 2] &= !1; // S=0 but nothing follows
        let (r, pkt) = run(&t, &f, l3, 0);
        assert_eq!(r, Err(DropReason::MplsTruncated));
        assert_eq!(pkt.data(), &f[..]);
    }

    #[test]
    fn php_exposing_next_label_gives_it_the_ttl() {
        let t = tables(&[(6030, LfibAction::pop(adj(7)))], vec![]);
        let (f, l3) = frame(false, &[(6030, 3, 64), (500, 6, 255)], &ipv4());
        let (r, pkt) = run(&t, &f, l3, 0);
        assert_eq!(r, Ok(MplsOutcome::Forward(adj(7))));
        assert_eq!(stack_of(pkt.data(), l3), vec![(500, 6, true, 63)]);
        assert_eq!(ethertype(pkt.data(), l3), ETHERTYPE_MPLS);
    }

    #[test]
    fn push_replaces_top_with_a_stack() {
        let t = tables(
            &[(
                100,
                LfibAction::push(adj(2), &[16001, 16002, 16003]).unwrap(),
            )],
            vec![],
        );
        // onto a deeper stack: all new labels S=0
        let (f, l3) = frame(true, &[(100, 4, 10), (24, 1, 200)], &ipv6());
        let (r, pkt) = run(&t, &f, l3, 0);
        assert_eq!(r, Ok(MplsOutcome::Forward(adj(2))));
        let out = pkt.data();
        assert_eq!(out.len(), f.len() + 8);
        assert_eq!(
            stack_of(out, l3),
            vec![
                (16001, 4, false, 9),
                (16002, 4, false, 9),
                (16003, 4, false, 9),
                (24, 1, true, 200)
            ]
        );
        assert_eq!(&out[12..18], &[0x81, 0x00, 0x00, 0x64, 0x88, 0x47]);
        // replacing the bottom label: the last new label has S=1
        let (f, l3) = frame(false, &[(100, 0, 10)], &ipv6());
        let (_, pkt) = run(&t, &f, l3, 0);
        assert_eq!(
            stack_of(pkt.data(), l3),
            vec![
                (16001, 0, false, 9),
                (16002, 0, false, 9),
                (16003, 0, true, 9)
            ]
        );
        assert_eq!(&pkt.data()[l3 + 12..], &ipv6()[..]);
        // no headroom: dropped, unchanged
        let mut pkt = VecBuf::with_headroom(&f, 7);
        assert_eq!(
            forward(&t, &mut pkt, l3, 0),
            Err(DropReason::MplsNoHeadroom)
        );
        assert_eq!(pkt.data(), &f[..]);
    }

    #[test]
    fn ecmp_is_stable_per_flow_hash() {
        let hops = vec![
            NextHop::swap(adj(1), 1100).unwrap(),
            NextHop::swap(adj(2), 2100).unwrap(),
            NextHop::pop(adj(3)),
        ];
        let t = tables(&[(7100, LfibAction::ecmp(hops).unwrap())], vec![]);
        let (f, l3) = frame(false, &[(7100, 0, 64), (30, 0, 64)], &ipv4());
        for (hash, port, top) in [
            (0, 1, 1100),
            (1, 2, 2100),
            (2, 3, 30),
            (3, 1, 1100),
            (u32::MAX, 1, 1100),
        ] {
            let (r, pkt) = run(&t, &f, l3, hash);
            assert_eq!(r, Ok(MplsOutcome::Forward(adj(port))), "hash {hash}");
            assert_eq!(stack_of(pkt.data(), l3)[0].0, top);
        }
    }

    #[test]
    fn compact_ecmp_and_php_choose_by_flow_hash() {
        // A swap block towards an ECMP set (same label, three adjacencies) and an ECMP PHP:
        // both compact in the LFIB, same choice as `flow_hash % n` over the paths.
        let swap3 = (1..=3)
            .map(|p| NextHop::swap(adj(p), 5000).unwrap())
            .collect();
        let pop2 = vec![NextHop::pop(adj(7)), NextHop::pop(adj(8))];
        let t = tables(
            &[
                (4000, LfibAction::ecmp(swap3).unwrap()),
                (4001, LfibAction::ecmp(pop2).unwrap()),
            ],
            vec![],
        );
        let (f, l3) = frame(true, &[(4000, 3, 64)], &ipv4());
        for (hash, port) in [(0, 1), (1, 2), (2, 3), (3, 1), (u32::MAX, 1)] {
            let (r, pkt) = run(&t, &f, l3, hash);
            assert_eq!(r, Ok(MplsOutcome::Forward(adj(port))), "hash {hash}");
            assert_eq!(stack_of(pkt.data(), l3), vec![(5000, 3, true, 63)]);
        }
        let (f, l3) = frame(false, &[(4001, 0, 64), (30, 0, 64)], &ipv4());
        for (hash, port) in [(0, 7), (1, 8)] {
            let (r, pkt) = run(&t, &f, l3, hash);
            assert_eq!(r, Ok(MplsOutcome::Forward(adj(port))));
            assert_eq!(stack_of(pkt.data(), l3), vec![(30, 0, true, 63)]);
        }
    }

    #[test]
    fn flow_hash_only_computed_for_a_choice() {
        let t = tables(
            &[
                (100, LfibAction::swap(adj(1), 200).unwrap()),
                (101, LfibAction::push(adj(1), &[300, 301]).unwrap()),
                (
                    102,
                    LfibAction::ecmp(vec![
                        NextHop::swap(adj(1), 200).unwrap(),
                        NextHop::swap(adj(2), 200).unwrap(),
                    ])
                    .unwrap(),
                ),
            ],
            vec![],
        );
        for (label, hashed) in [(100, 0), (101, 0), (102, 1)] {
            let calls = std::cell::Cell::new(0);
            let (f, l3) = frame(false, &[(label, 0, 64)], &ipv4());
            let mut pkt = VecBuf::new(&f);
            let hash = |frame: &[u8]| {
                assert_eq!(frame, &f[..], "the hash sees the frame as received");
                calls.set(calls.get() + 1);
                1
            };
            let r = forward_hashing(&t, &mut pkt, l3, hash);
            assert!(r.is_ok(), "label {label}");
            assert_eq!(calls.get(), hashed, "label {label}");
        }
    }

    #[test]
    fn pop_and_lookup_chain_and_local_delivery() {
        let t = tables(
            &[
                (16001, LfibAction::PopAndLookup),
                (16002, LfibAction::PopAndLookup),
                (500, LfibAction::swap(adj(4), 600).unwrap()),
            ],
            vec![],
        );
        let (f, l3) = frame(
            false,
            &[(16001, 2, 50), (16002, 0, 9), (500, 5, 200)],
            &ipv4(),
        );
        let (r, pkt) = run(&t, &f, l3, 0);
        assert_eq!(r, Ok(MplsOutcome::Forward(adj(4))));
        // TTL from the top label on arrival, TC of the swapped label
        assert_eq!(stack_of(pkt.data(), l3), vec![(600, 5, true, 49)]);
        assert_eq!(pkt.data().len(), f.len() - 8);
        assert_eq!(
            &pkt.data()[0..12],
            &[adj(4).dst_mac, adj(4).src_mac].concat()[..]
        );

        // own SID at the bottom: local delivery, L2 addresses kept
        let (f, l3) = frame(true, &[(16001, 0, 1), (16002, 0, 1)], &ipv6());
        let (r, pkt) = run(&t, &f, l3, 0);
        assert_eq!(r, Ok(MplsOutcome::LocalDelivery(Payload::Ipv6)));
        assert_eq!(&pkt.data()[..12], &f[..12]);
        assert_eq!(&pkt.data()[12..16], &f[12..16]);
        assert_eq!(ethertype(pkt.data(), l3), ETHERTYPE_IPV6);
        assert_eq!(&pkt.data()[l3..], &ipv6()[..]);

        // unknown label under a pop-and-lookup
        let (f, l3) = frame(false, &[(16001, 0, 64), (501, 0, 64)], &ipv4());
        assert_eq!(run(&t, &f, l3, 0).0, Err(DropReason::MplsNoLabel));
        // stack ends without S=1
        let mut f2 = f.clone();
        f2.truncate(l3 + 4);
        f2[l3 + 2] &= !1;
        assert_eq!(run(&t, &f2, l3, 0).0, Err(DropReason::MplsTruncated));
    }

    #[test]
    fn lookups_are_bounded() {
        let t = tables(
            &[
                (16001, LfibAction::PopAndLookup),
                (500, LfibAction::swap(adj(4), 600).unwrap()),
            ],
            vec![],
        );
        let (ok, l3) = frame(
            false,
            &[(16001, 0, 9), (16001, 0, 9), (16001, 0, 9), (500, 0, 9)],
            &ipv4(),
        );
        assert!(run(&t, &ok, l3, 0).0.is_ok());
        let (f, l3) = frame(
            false,
            &[
                (16001, 0, 9),
                (16001, 0, 9),
                (16001, 0, 9),
                (16001, 0, 9),
                (500, 0, 9),
            ],
            &ipv4(),
        );
        assert_eq!(run(&t, &f, l3, 0).0, Err(DropReason::MplsTooManyLookups));
    }

    #[test]
    fn reserved_labels() {
        let t = tables(&[(500, LfibAction::swap(adj(4), 600).unwrap())], vec![]);
        // explicit null at the bottom: local delivery by payload
        for null in [0, 2] {
            let (f, l3) = frame(false, &[(null, 0, 64)], &ipv4());
            assert_eq!(
                run(&t, &f, l3, 0).0,
                Ok(MplsOutcome::LocalDelivery(Payload::Ipv4))
            );
            let (f, l3) = frame(false, &[(null, 0, 64)], &ipv6());
            let (r, pkt) = run(&t, &f, l3, 0);
            assert_eq!(r, Ok(MplsOutcome::LocalDelivery(Payload::Ipv6)));
            assert_eq!(&pkt.data()[l3..], &ipv6()[..]);
            // explicit null above another label (RFC 4182): popped, next label looked up
            let (f, l3) = frame(false, &[(null, 0, 64), (500, 1, 3)], &ipv4());
            let (r, pkt) = run(&t, &f, l3, 0);
            assert_eq!(r, Ok(MplsOutcome::Forward(adj(4))));
            assert_eq!(stack_of(pkt.data(), l3), vec![(600, 1, true, 63)]);
        }
        // ELI + EL: both popped
        let (f, l3) = frame(false, &[(7, 0, 64), (123456, 0, 0), (500, 2, 64)], &ipv4());
        let (r, pkt) = run(&t, &f, l3, 0);
        assert_eq!(r, Ok(MplsOutcome::Forward(adj(4))));
        assert_eq!(stack_of(pkt.data(), l3), vec![(600, 2, true, 63)]);
        let (f, l3) = frame(false, &[(7, 0, 64), (123456, 0, 0)], &ipv4());
        assert_eq!(
            run(&t, &f, l3, 0).0,
            Ok(MplsOutcome::LocalDelivery(Payload::Ipv4))
        );
        let (f, l3) = frame(false, &[(7, 0, 64)], &ipv4());
        assert_eq!(run(&t, &f, l3, 0).0, Err(DropReason::MplsReservedLabel));
        let (f, l3) = frame(false, &[(7, 0, 64), (13, 0, 0)], &ipv4());
        assert_eq!(run(&t, &f, l3, 0).0, Err(DropReason::MplsReservedLabel));
        // the others
        let (f, l3) = frame(false, &[(1, 0, 64), (500, 0, 64)], &ipv4());
        assert_eq!(run(&t, &f, l3, 0).0, Err(DropReason::MplsRouterAlert));
        let (f, l3) = frame(false, &[(3, 0, 64)], &ipv4());
        assert_eq!(run(&t, &f, l3, 0).0, Err(DropReason::MplsImplicitNull));
        for l in [4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15] {
            let (f, l3) = frame(false, &[(l, 0, 64)], &ipv4());
            assert_eq!(
                run(&t, &f, l3, 0).0,
                Err(DropReason::MplsReservedLabel),
                "label {l}"
            );
        }
        // unknown
        let (f, l3) = frame(false, &[(16, 0, 64)], &ipv4());
        assert_eq!(run(&t, &f, l3, 0).0, Err(DropReason::MplsNoLabel));
    }

    #[test]
    fn anycast_pops_then_vlfib() {
        let mut v = Vlfib::builder();
        v.insert(
            30,
            vec![
                NextHop::swap(adj(3), 3030).unwrap(),
                NextHop::swap(adj(4), 4030).unwrap(),
            ],
        )
        .unwrap();
        v.insert(10, vec![NextHop::swap(adj(1), 7010).unwrap()])
            .unwrap();
        let t = tables(
            &[
                (1100, LfibAction::Anycast(VlfibId(0))),
                // the same value in the default LFIB means something else
                (30, LfibAction::swap(adj(9), 99).unwrap()),
            ],
            vec![v.freeze()],
        );
        let (f, l3) = frame(false, &[(1100, 2, 62), (30, 0, 62)], &ipv4());
        for (hash, port, label) in [(0, 3, 3030), (1, 4, 4030)] {
            let (r, pkt) = run(&t, &f, l3, hash);
            assert_eq!(r, Ok(MplsOutcome::Forward(adj(port))));
            assert_eq!(stack_of(pkt.data(), l3), vec![(label, 0, true, 61)]);
            assert_eq!(pkt.data().len(), f.len() - 4);
            assert_eq!(&pkt.data()[l3 + 4..], &ipv4()[..]);
        }
        // SID index 10 is in the reserved range as a label, but is a plain key of the V-LFIB
        let (f, l3) = frame(false, &[(1100, 0, 64), (10, 0, 64)], &ipv4());
        assert_eq!(run(&t, &f, l3, 0).0, Ok(MplsOutcome::Forward(adj(1))));
        // at the bottom: for this node
        let (f, l3) = frame(false, &[(1100, 0, 64)], &ipv4());
        assert_eq!(
            run(&t, &f, l3, 0).0,
            Ok(MplsOutcome::LocalDelivery(Payload::Ipv4))
        );
        // SID not in the V-LFIB (e.g. the group's own anycast SID)
        let (f, l3) = frame(false, &[(1100, 0, 64), (100, 0, 64)], &ipv4());
        assert_eq!(run(&t, &f, l3, 0).0, Err(DropReason::MplsVlfibNoEntry));
        // nothing under the anycast label although S=0
        let (mut f, l3) = frame(false, &[(1100, 0, 64)], &[]);
        f[l3 + 2] &= !1;
        assert_eq!(run(&t, &f, l3, 0).0, Err(DropReason::MplsTruncated));
        // TTL
        let (f, l3) = frame(false, &[(1100, 0, 1), (30, 0, 64)], &ipv4());
        assert_eq!(run(&t, &f, l3, 0).0, Err(DropReason::TtlExpired));
    }

    #[test]
    fn tables_reject_unknown_vlfib() {
        let mut b = Lfib::builder();
        b.insert(1100, LfibAction::Anycast(VlfibId(1))).unwrap();
        let lfib = b.freeze();
        assert_eq!(
            MplsTables::new(lfib.clone(), vec![Vlfib::default()]).unwrap_err(),
            crate::mpls::TableError::UnknownVlfib {
                label: 1100,
                vlfib: 1,
                count: 1
            }
        );
        let t = MplsTables::new(lfib, vec![Vlfib::default(), Vlfib::default()]).unwrap();
        assert_eq!(t.vlfib_count(), 2);
        assert!(t.vlfib(VlfibId(2)).is_none());
        assert!(MplsTables::default().lfib().is_empty());
    }

    #[test]
    fn bad_offsets_and_truncation() {
        let t = tables(&[(100, LfibAction::swap(adj(3), 200).unwrap())], vec![]);
        let (f, l3) = frame(false, &[(100, 0, 64)], &ipv4());
        assert_eq!(run(&t, &f, 13, 0).0, Err(DropReason::EthTruncated));
        assert_eq!(run(&t, &f, f.len() + 1, 0).0, Err(DropReason::EthTruncated));
        assert_eq!(
            run(&t, &f[..l3 + 3], l3, 0).0,
            Err(DropReason::MplsTruncated)
        );
        assert_eq!(run(&t, &f[..l3], l3, 0).0, Err(DropReason::MplsTruncated));
    }

    #[test]
    fn impose_on_ip_and_onto_a_stack() {
        let mut f = Vec::new();
        f.extend_from_slice(&DST);
        f.extend_from_slice(&SRC);
        f.extend_from_slice(&[0x81, 0x00, 0x00, 0x05, 0x08, 0x00]);
        let l3 = f.len();
        f.extend_from_slice(&ipv4());
        let mut pkt = VecBuf::new(&f);
        impose(&mut pkt, l3, &[7100, 30], 64, 5).unwrap();
        assert_eq!(pkt.data().len(), f.len() + 8);
        assert_eq!(&pkt.data()[..l3 - 2], &f[..l3 - 2]);
        assert_eq!(ethertype(pkt.data(), l3), ETHERTYPE_MPLS);
        assert_eq!(
            stack_of(pkt.data(), l3),
            vec![(7100, 5, false, 64), (30, 5, true, 64)]
        );
        impose(&mut pkt, l3, &[16], 9, 0).unwrap();
        assert_eq!(
            stack_of(pkt.data(), l3),
            vec![(16, 0, false, 9), (7100, 5, false, 64), (30, 5, true, 64)]
        );
        assert_eq!(&pkt.data()[l3 + 12..], &ipv4()[..]);
        let before = pkt.clone();
        impose(&mut pkt, l3, &[], 9, 0).unwrap();
        assert_eq!(pkt, before);
        let mut small = VecBuf::with_headroom(&f, 4);
        assert_eq!(
            impose(&mut small, l3, &[1, 2], 1, 1),
            Err(DropReason::MplsNoHeadroom)
        );
        assert_eq!(
            impose(&mut small, 2, &[1], 1, 1),
            Err(DropReason::EthTruncated)
        );
    }

    fn fuzz_tables() -> &'static MplsTables {
        static TABLES: std::sync::OnceLock<MplsTables> = std::sync::OnceLock::new();
        TABLES.get_or_init(build_fuzz_tables)
    }

    fn build_fuzz_tables() -> MplsTables {
        let mut v = Vlfib::builder();
        for sid in 0..40 {
            v.insert(
                sid,
                vec![
                    NextHop::swap(adj(1), 3000 + sid).unwrap(),
                    NextHop::pop(adj(2)),
                ],
            )
            .unwrap();
        }
        let mut b = Lfib::builder();
        for l in 16..64 {
            let a = match l % 5 {
                0 => LfibAction::PopAndLookup,
                1 => LfibAction::Anycast(VlfibId(0)),
                2 => LfibAction::pop(adj(3)),
                3 => LfibAction::push(adj(4), &[100, 200, 300, 400, 500, 600, 700, 800]).unwrap(),
                _ => LfibAction::ecmp(vec![
                    NextHop::swap(adj(5), l + 1).unwrap(),
                    NextHop::pop(adj(6)),
                ])
                .unwrap(),
            };
            b.insert(l, a).unwrap();
        }
        // Compact entries: a swap, and a swap block's ECMP (same label, two adjacencies);
        // 68 and 69 stay unknown.
        b.insert(64, LfibAction::swap(adj(7), 16).unwrap()).unwrap();
        for l in 65..68 {
            let hops = vec![
                NextHop::swap(adj(7), l + 100).unwrap(),
                NextHop::swap(adj(8), l + 100).unwrap(),
            ];
            b.insert(l, LfibAction::ecmp(hops).unwrap()).unwrap();
        }
        MplsTables::new(b.freeze(), vec![v.freeze()]).unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Arbitrary bytes (biased toward labels the tables know) never make `forward`
        /// panic; a drop leaves the packet unchanged; a forward keeps the L2 header bytes
        /// between the MACs and the EtherType.
        #[test]
        fn forward_never_panics(
            l2 in proptest::collection::vec(any::<u8>(), 0..26),
            stack in proptest::collection::vec((0u32..70, any::<u8>(), any::<bool>(), any::<u8>()), 0..8),
            tail in proptest::collection::vec(any::<u8>(), 0..24),
            l3 in 0usize..40,
            headroom in 0usize..40,
            hash in any::<u32>(),
        ) {
            let t = fuzz_tables();
            let mut f = l2.clone();
            for (label, tc, bos, ttl) in stack {
                f.extend_from_slice(&Lse::new(label, tc, bos, ttl).0.to_be_bytes());
            }
            f.extend_from_slice(&tail);
            let mut pkt = VecBuf::with_headroom(&f, headroom);
            match forward(t, &mut pkt, l3, hash) {
                Err(_) => prop_assert_eq!(pkt.data(), &f[..]),
                Ok(_) => prop_assert_eq!(&pkt.data()[12..l3 - 2], &f[12..l3 - 2]),
            }
        }

        #[test]
        fn forward_never_panics_on_raw_bytes(
            f in proptest::collection::vec(any::<u8>(), 0..64),
            l3 in 0usize..70,
            hash in any::<u32>(),
        ) {
            let t = fuzz_tables();
            let mut pkt = VecBuf::with_headroom(&f, 16);
            let _ = forward(t, &mut pkt, l3, hash);
        }
    }
}
