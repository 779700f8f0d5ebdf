//! The per-packet computing-segment behaviours END.CG, END.CL and END.C (the module docs
//! of [`crate::service`] give the rules).

use super::fib::{Instance, Pe, PeNextHop, Policy};
use super::flow::{zone, FlowKey};
use super::sid::{Behavior, ServiceId, SidPrefix};
use super::{Choice, ChoiceKind, Outcome, ServiceCounters, ServiceFlows, ServiceTables};
use crate::adjacency::Adjacency;
use crate::buf::PacketBuf;
use crate::drop::DropReason;
use crate::packet::{L3Kind, PacketMeta, MAX_IPV6_EXT_HEADERS};
use crate::wire::ipv6::{self, ExtHeaders, FragmentHeader};
use crate::wire::{checksum, srh, IpProtocol};

const ETH_LEN: usize = 14;
const ETHERTYPE_IPV6: [u8; 2] = [0x86, 0xdd];

/// Where the client packet is in the frame, and its flow.
#[derive(Debug, Clone, Copy)]
struct Client {
    /// Offset of its IPv6 header.
    at: usize,
    /// End of its datagram.
    end: usize,
    /// Its upper-layer header, when present (not a later fragment).
    l4: Option<usize>,
    /// Its upper-layer protocol.
    proto: u8,
    /// It is a fragment.
    fragment: bool,
    /// It arrived inside an outer header.
    encapsulated: bool,
}

impl Client {
    fn key(&self, frame: &[u8], zone: u8) -> Option<FlowKey> {
        FlowKey::from_ip(
            frame,
            self.at,
            false,
            self.proto,
            self.l4,
            self.fragment,
            zone,
        )
    }
}

/// Walks the extension headers of the IPv6 packet at `at..end` (an encapsulated inner
/// packet) to its upper layer.
#[inline]
fn inner_client(frame: &[u8], at: usize, end: usize) -> Result<Client, DropReason> {
    let bytes = frame.get(at..end).ok_or(DropReason::ServiceBadInner)?;
    let ip = ipv6::Packet::new_checked(bytes).map_err(|_| DropReason::ServiceBadInner)?;
    if ip.version() != 6 {
        return Err(DropReason::ServiceBadInner);
    }
    let payload = ip.payload();
    let mut walk = ExtHeaders::new(payload, ip.next_header(), MAX_IPV6_EXT_HEADERS);
    let mut fragment = false;
    let mut later = None;
    for h in walk.by_ref() {
        let h = h?;
        if h.kind == IpProtocol::IPV6_FRAG {
            let f = payload
                .get(h.offset..)
                .and_then(|b| FragmentHeader::new_checked(b).ok())
                .ok_or(DropReason::Ipv6ExtTruncated)?;
            fragment |= f.more_frags() || f.frag_offset() != 0;
            if f.frag_offset() != 0 {
                later = Some(f.next_header().0);
                break;
            }
        }
    }
    let base = at + ipv6::HEADER_LEN;
    let (proto, l4) = match later {
        Some(p) => (p, None),
        None => {
            let (p, off) = walk.upper_layer();
            (p.0, Some(base + off))
        }
    };
    Ok(Client {
        at,
        end: base + payload.len(),
        l4,
        proto,
        fragment,
        encapsulated: true,
    })
}

/// Finds the client packet of a frame addressed to a computing SID. Inlined: returned
/// through memory, its result would be read back with wider loads than the stores that
/// wrote it (a store-forwarding stall measured at ~15 % of END.CG's time).
#[inline(always)]
fn client(frame: &[u8], meta: &PacketMeta) -> Result<Client, DropReason> {
    let l3 = usize::from(meta.l3_offset);
    let end = usize::from(meta.l3_end);
    match IpProtocol(meta.l4_proto) {
        IpProtocol::IPV6 if meta.has_l4() => {
            if meta.is_fragment() {
                return Err(DropReason::ServiceFragment);
            }
            inner_client(frame, usize::from(meta.l4_offset), end)
        }
        IpProtocol::IPV4 if meta.has_l4() => Err(DropReason::ServiceBadInner),
        // A later fragment of an encapsulated packet.
        IpProtocol::IPV4 | IpProtocol::IPV6 if meta.is_fragment() => {
            Err(DropReason::ServiceFragment)
        }
        _ => Ok(Client {
            at: l3,
            end,
            l4: meta.has_l4().then_some(usize::from(meta.l4_offset)),
            proto: meta.l4_proto,
            fragment: meta.is_fragment(),
            encapsulated: false,
        }),
    }
}

/// Starts fetching the flow-table entry [`process`] will look up for `frame`, for a
/// worker to call a few packets ahead of processing it (DPDK `l3fwd`-style): a flow hit
/// then finds its bucket's tags and its home slot in cache. Reads only fixed offsets of an
/// untagged Ethernet / IPv6 frame addressed to one of our computing SIDs, whose client
/// packet (the frame's own, or the one inside an outer header without extension headers)
/// has no extension header; does nothing for anything else (the lookup then simply
/// misses the cache). Returns the flow's hash when it fetched something, for
/// [`FlowTable::prefetch_matches`](super::flow::FlowTable::prefetch_matches) later.
/// Changes nothing and never panics.
#[inline]
pub fn prefetch(t: &ServiceTables, flows: &ServiceFlows, frame: &[u8]) -> Option<u64> {
    const L3: usize = ETH_LEN;
    if t.is_empty() || frame.get(12..14) != Some(&ETHERTYPE_IPV6[..]) {
        return None;
    }
    let dst = <&[u8; 16]>::try_from(frame.get(L3 + 24..L3 + 40)?).ok()?;
    let (behavior, _) = t.sids().lookup(dst)?;
    let at = match frame.get(L3 + 6)? {
        41 => L3 + ipv6::HEADER_LEN,
        _ => L3,
    };
    let proto = *frame.get(at + 6)?;
    let z = match behavior {
        Behavior::EndCg => zone::SERVICE_GLOBAL,
        Behavior::EndCl => zone::SERVICE_LOCAL,
        Behavior::EndC => zone::SERVICE_FLAT,
    };
    let k = FlowKey::from_ip(
        frame,
        at,
        false,
        proto,
        Some(at + ipv6::HEADER_LEN),
        false,
        z,
    )?;
    let h = k.hash();
    flows.prefetch(h);
    Some(h)
}

/// The service step of the pipeline for one parsed frame: runs the behaviour of the
/// computing SID the frame is addressed to, or returns [`Outcome::Pass`] (frame
/// untouched) if it is not addressed to one.
///
/// `flows` is the calling worker's affinity table, `now` its clock (the unit of the
/// table's idle timeout), `c` its counters. Never panics, never allocates.
#[inline]
pub fn process<B: PacketBuf>(
    t: &ServiceTables,
    pkt: &mut B,
    meta: &PacketMeta,
    flows: &mut ServiceFlows,
    now: u64,
    c: &ServiceCounters,
) -> Result<Outcome, DropReason> {
    if t.is_empty() || meta.l3 != L3Kind::Ipv6 {
        return Ok(Outcome::Pass);
    }
    let frame = pkt.data();
    let l3 = usize::from(meta.l3_offset);
    let Some(dst) = frame
        .get(l3 + 24..l3 + 40)
        .and_then(|b| <[u8; 16]>::try_from(b).ok())
    else {
        return Ok(Outcome::Pass);
    };
    let Some((behavior, service)) = t.sids().lookup(&dst) else {
        return Ok(Outcome::Pass);
    };
    if let Some(h) = meta.srh(frame) {
        if h.segments_left() != 0 {
            return Err(DropReason::ServiceSidNotLast);
        }
    }
    let cl = client(frame, meta)?;
    match frame.get(cl.at + 7) {
        Some(hl) if *hl > 1 => {}
        Some(_) => return Err(DropReason::TtlExpired),
        None => return Err(DropReason::ServiceBadInner),
    }
    match behavior {
        Behavior::EndCg => end_cg(t, pkt, cl, service, flows, now, c),
        Behavior::EndCl => end_cl(t, pkt, cl, service, flows, now, c),
        Behavior::EndC => end_c(t, pkt, cl, service, flows, now, c),
    }
}

/// The flow key and its hash, and a 32-bit value for tie-breaking.
#[inline]
fn flow(frame: &[u8], cl: &Client, zone: u8) -> Result<(FlowKey, u64, u32), DropReason> {
    let key = cl.key(frame, zone).ok_or(DropReason::ServiceBadInner)?;
    let h = key.hash();
    Ok((key, h, (h >> 40) as u32 ^ (h as u32)))
}

fn end_cg<B: PacketBuf>(
    t: &ServiceTables,
    pkt: &mut B,
    cl: Client,
    service: ServiceId,
    flows: &mut ServiceFlows,
    now: u64,
    c: &ServiceCounters,
) -> Result<Outcome, DropReason> {
    let g = t.global();
    let generation = t.generation() as u32;
    let fk = flow(pkt.data(), &cl, zone::SERVICE_GLOBAL);
    // A live flow whose PE this very snapshot chose or validated: the snapshot never
    // changes, so the PE is still among the service's candidates and up, and the FIB
    // need not be read (the flow's bucket is the packet's only table access).
    if let Ok((key, h, _)) = &fk {
        // Tags and home slot: two misses in flight at once rather than one after the other.
        flows.prefetch(*h);
        if let Some(v) = flows.hit_if(key, *h, now, &c.flows, |v| v.generation == generation) {
            if let Some(pe) = g.target_at(v.index) {
                return to_pe(t, pkt, cl, service, pe, *h, flows, now, c);
            }
        }
    }
    let cands = g
        .candidates(service)
        .ok_or(DropReason::ServiceNoGlobalEntry)?;
    let (key, h, pick) = fk?;
    let (choice, _) = flows
        .resolve(
            &key,
            h,
            now,
            &c.flows,
            |v| g.live(cands, v.id).is_some(),
            || {
                g.best(cands, pick).map(|(_, pe)| Choice {
                    kind: ChoiceKind::Pe,
                    id: pe.id,
                    ..Choice::default()
                })
            },
        )
        .ok_or(DropReason::ServiceNoPe)?;
    let (index, pe) = g
        .live_index(cands, choice.id)
        .ok_or(DropReason::ServiceNoPe)?;
    remember(flows, &key, h, choice, index, generation, now, c);
    to_pe(t, pkt, cl, service, pe, h, flows, now, c)
}

/// Stores where the flow's target is in the current snapshot (see [`Choice::generation`]),
/// unless the entry already says so.
#[allow(clippy::too_many_arguments)]
#[inline]
fn remember(
    flows: &mut ServiceFlows,
    key: &FlowKey,
    hash: u64,
    choice: Choice,
    index: u32,
    generation: u32,
    now: u64,
    c: &ServiceCounters,
) {
    if choice.generation != generation || choice.index != index {
        let v = Choice {
            index,
            generation,
            ..choice
        };
        flows.insert(key, hash, v, now, &c.flows);
    }
}

/// END.CG's last step once the flow's PE is known: steer to it, or hand over to the
/// Local FIB when it is this node.
#[allow(clippy::too_many_arguments)]
#[inline]
fn to_pe<B: PacketBuf>(
    t: &ServiceTables,
    pkt: &mut B,
    cl: Client,
    service: ServiceId,
    pe: &Pe,
    hash: u64,
    flows: &mut ServiceFlows,
    now: u64,
    c: &ServiceCounters,
) -> Result<Outcome, DropReason> {
    match pe.next_hop {
        PeNextHop::Local => {
            c.local_shortcut.add(1);
            end_cl(t, pkt, cl, service, flows, now, c)
        }
        PeNextHop::Remote {
            sid,
            adjacency,
            policy,
        } => {
            steer(t, pkt, &cl, sid, service, &adjacency, &policy, hash, c)?;
            Ok(Outcome::Steered {
                adjacency,
                pe: pe.id,
            })
        }
    }
}

fn end_cl<B: PacketBuf>(
    t: &ServiceTables,
    pkt: &mut B,
    cl: Client,
    service: ServiceId,
    flows: &mut ServiceFlows,
    now: u64,
    c: &ServiceCounters,
) -> Result<Outcome, DropReason> {
    let l = t.local();
    let generation = t.generation() as u32;
    let fk = flow(pkt.data(), &cl, zone::SERVICE_LOCAL);
    // As in end_cg: an instance this snapshot chose or validated needs no FIB lookup.
    if let Ok((key, h, _)) = &fk {
        // Tags and home slot: two misses in flight at once rather than one after the other.
        flows.prefetch(*h);
        if let Some(v) = flows.hit_if(key, *h, now, &c.flows, |v| v.generation == generation) {
            if let Some(inst) = l.target_at(v.index) {
                deliver(pkt, &cl, inst, c)?;
                return Ok(Outcome::Delivered {
                    adjacency: inst.adjacency,
                    instance: inst.id,
                });
            }
        }
    }
    let cands = l
        .candidates(service)
        .ok_or(DropReason::ServiceNoLocalEntry)?;
    let (key, h, pick) = fk?;
    let (choice, _) = flows
        .resolve(
            &key,
            h,
            now,
            &c.flows,
            |v| l.live(cands, v.id).is_some(),
            || {
                l.best(cands, pick).map(|(_, i)| Choice {
                    kind: ChoiceKind::Instance,
                    id: i.id,
                    ..Choice::default()
                })
            },
        )
        .ok_or(DropReason::ServiceNoInstance)?;
    let (index, inst) = l
        .live_index(cands, choice.id)
        .ok_or(DropReason::ServiceNoInstance)?;
    remember(flows, &key, h, choice, index, generation, now, c);
    deliver(pkt, &cl, inst, c)?;
    Ok(Outcome::Delivered {
        adjacency: inst.adjacency,
        instance: inst.id,
    })
}

fn end_c<B: PacketBuf>(
    t: &ServiceTables,
    pkt: &mut B,
    cl: Client,
    service: ServiceId,
    flows: &mut ServiceFlows,
    now: u64,
    c: &ServiceCounters,
) -> Result<Outcome, DropReason> {
    let (g, l) = (t.global(), t.local());
    let gc = g.candidates(service).unwrap_or(&[]);
    let lc = l.candidates(service).unwrap_or(&[]);
    if gc.is_empty() && lc.is_empty() {
        return Err(DropReason::ServiceNoGlobalEntry);
    }
    let (key, h, pick) = flow(pkt.data(), &cl, zone::SERVICE_FLAT)?;
    let valid = |v: &Choice| match v.kind {
        ChoiceKind::Instance => l.live(lc, v.id).is_some(),
        ChoiceKind::Pe => g.live(gc, v.id).is_some_and(|(_, p)| !p.is_local()),
    };
    let best = || {
        let inst = l.best(lc, pick);
        let pe = g.best_where(gc, pick, |p| !p.is_local());
        match (inst, pe) {
            (Some((mi, i)), Some((mp, _))) if mi <= mp => Some(Choice {
                kind: ChoiceKind::Instance,
                id: i.id,
                ..Choice::default()
            }),
            (_, Some((_, p))) => Some(Choice {
                kind: ChoiceKind::Pe,
                id: p.id,
                ..Choice::default()
            }),
            (Some((_, i)), None) => Some(Choice {
                kind: ChoiceKind::Instance,
                id: i.id,
                ..Choice::default()
            }),
            (None, None) => None,
        }
    };
    let (choice, _) = flows
        .resolve(&key, h, now, &c.flows, valid, best)
        .ok_or(DropReason::ServiceNoPe)?;
    match choice.kind {
        ChoiceKind::Instance => {
            let (_, inst) = l.live(lc, choice.id).ok_or(DropReason::ServiceNoPe)?;
            deliver(pkt, &cl, inst, c)?;
            Ok(Outcome::Delivered {
                adjacency: inst.adjacency,
                instance: inst.id,
            })
        }
        ChoiceKind::Pe => {
            let (_, pe) = g.live(gc, choice.id).ok_or(DropReason::ServiceNoPe)?;
            let PeNextHop::Remote {
                sid,
                adjacency,
                policy,
            } = pe.next_hop
            else {
                return Err(DropReason::ServiceNoPe);
            };
            steer(t, pkt, &cl, sid, service, &adjacency, &policy, h, c)?;
            Ok(Outcome::Steered {
                adjacency,
                pe: pe.id,
            })
        }
    }
}

/// Moves the start of the packet so that `hdr` bytes of new headers end exactly where
/// the client packet starts; returns `false` without headroom.
#[inline]
fn make_room<B: PacketBuf>(pkt: &mut B, client_at: usize, hdr: usize) -> bool {
    if client_at >= hdr {
        pkt.adj(client_at - hdr)
    } else {
        pkt.prepend(hdr - client_at)
    }
}

/// Decrements the client's hop limit (checked above 1 by [`process`]).
#[inline]
fn decrement_hop_limit(frame: &mut [u8], at: usize) {
    if let Some(hl) = frame.get_mut(at + 7) {
        *hl = hl.saturating_sub(1);
    }
}

/// Updates the upper-layer checksum at `l4` after the destination changed from `old` to
/// `new` (the pseudo-header): RFC 1624 eqn. 3 over the 8 changed words.
fn fix_l4_checksum(frame: &mut [u8], l4: usize, proto: u8, old: &[u8; 16], new: &[u8; 16]) {
    let off = match proto {
        6 => 16,
        17 => 6,
        58 => 2,
        _ => return,
    };
    let Some(f) = frame.get_mut(l4 + off..l4 + off + 2) else {
        return;
    };
    let cs = u16::from_be_bytes([f[0], f[1]]);
    if proto == 17 && cs == 0 {
        return;
    }
    let mut n = !checksum::add(checksum::add(!cs, !checksum::sum(old)), checksum::sum(new));
    if proto == 17 && n == 0 {
        n = 0xffff;
    }
    f.copy_from_slice(&n.to_be_bytes());
}

/// Delivers the client packet to a local instance: hop limit, optional destination
/// rewrite, outer header (if any) removed, untagged Ethernet with the instance's MACs.
fn deliver<B: PacketBuf>(
    pkt: &mut B,
    cl: &Client,
    inst: &Instance,
    c: &ServiceCounters,
) -> Result<(), DropReason> {
    let frame = pkt.data_mut();
    decrement_hop_limit(frame, cl.at);
    if let Some(addr) = inst.address {
        let new = addr.octets();
        let d = frame
            .get_mut(cl.at + 24..cl.at + 40)
            .ok_or(DropReason::ServiceBadInner)?;
        let mut old = [0u8; 16];
        old.copy_from_slice(d);
        d.copy_from_slice(&new);
        if let Some(l4) = cl.l4 {
            fix_l4_checksum(frame, l4, cl.proto, &old, &new);
        }
    }
    // cl.at >= 14: the client packet starts after an Ethernet header at least.
    let eth_at = cl
        .at
        .checked_sub(ETH_LEN)
        .ok_or(DropReason::ServiceBadInner)?;
    let eth = frame
        .get_mut(eth_at..cl.at)
        .ok_or(DropReason::ServiceBadInner)?;
    inst.adjacency.rewrite(eth);
    eth[12..14].copy_from_slice(&ETHERTYPE_IPV6);
    if !pkt.adj(eth_at) {
        return Err(DropReason::ServiceBadInner);
    }
    if cl.encapsulated {
        c.decapsulated.add(1);
    }
    c.delivered.add(1);
    Ok(())
}

/// H.Encaps of the client packet towards `sid::service` (through `policy`), leaving on
/// `adj`.
#[allow(clippy::too_many_arguments)]
fn steer<B: PacketBuf>(
    t: &ServiceTables,
    pkt: &mut B,
    cl: &Client,
    sid: SidPrefix,
    service: ServiceId,
    adj: &Adjacency,
    policy: &Policy,
    hash: u64,
    c: &ServiceCounters,
) -> Result<(), DropReason> {
    let segs = policy.segments();
    let srh_len = if segs.is_empty() {
        0
    } else {
        srh::HEADER_LEN + srh::SEGMENT_LEN * (segs.len() + 1)
    };
    let client_len = cl.end.saturating_sub(cl.at);
    let payload_len = u16::try_from(srh_len + client_len).map_err(|_| DropReason::ServiceTooBig)?;
    let hdr = ETH_LEN + ipv6::HEADER_LEN + srh_len;
    decrement_hop_limit(pkt.data_mut(), cl.at);
    let tc = {
        let b = pkt
            .data()
            .get(cl.at..cl.at + 2)
            .ok_or(DropReason::ServiceBadInner)?;
        (b[0] << 4) | (b[1] >> 4)
    };
    if !make_room(pkt, cl.at, hdr) {
        return Err(DropReason::ServiceNoHeadroom);
    }
    let frame = pkt.data_mut();
    let hdrs = frame.get_mut(..hdr).ok_or(DropReason::ServiceNoHeadroom)?;
    let (eth, rest) = hdrs.split_at_mut(ETH_LEN);
    adj.rewrite(eth);
    eth[12..14].copy_from_slice(&ETHERTYPE_IPV6);

    let final_sid = sid.with_service(service);
    let (ip, sr) = rest.split_at_mut(ipv6::HEADER_LEN);
    ipv6::Repr {
        src_addr: t.source(),
        dst_addr: segs.first().copied().unwrap_or(final_sid),
        next_header: if segs.is_empty() {
            IpProtocol::IPV6
        } else {
            IpProtocol::IPV6_ROUTE
        },
        payload_len: usize::from(payload_len),
        hop_limit: t.hop_limit(),
        traffic_class: tc,
        flow_label: hash as u32,
    }
    .emit(&mut ipv6::Packet::new_unchecked(ip));
    if !segs.is_empty() {
        let n = segs.len();
        let mut h = srh::Header::new_unchecked(sr);
        h.set_next_header(IpProtocol::IPV6);
        h.set_header_len_field((2 * (n + 1)) as u8);
        h.set_routing_type(srh::ROUTING_TYPE);
        h.set_segments_left(n as u8);
        h.set_last_entry(n as u8);
        h.set_flags(0);
        h.set_tag(0);
        h.set_segment(0, final_sid);
        for (i, s) in segs.iter().enumerate() {
            // Segment List[n] is the first hop.
            h.set_segment(n - i, *s);
        }
    }
    if cl.encapsulated {
        c.decapsulated.add(1);
    }
    c.steered.add(1);
    Ok(())
}
