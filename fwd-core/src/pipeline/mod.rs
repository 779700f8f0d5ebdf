//! The per-packet pipeline: parse once, dispatch to the protocol handler, rewrite, choose
//! the egress port.
//!
//! Like a VPP graph, each step does one job: [`crate::packet::parse`] validates and locates
//! headers, a handler per protocol applies its forwarding rules (the MPLS LFIB of
//! [`crate::mpls`]; [`ip`] for IPv4/IPv6), and the chosen [`Adjacency`] rewrites the
//! Ethernet header for the egress port. The whole decision is a pure function over the
//! packet; the worker loop only moves mbufs.
//!
//! Three fast paths run before the parse, each for the bulk of one kind of node's
//! traffic, which they forward without the general parse and decision: the plain MPLS
//! swap on one adjacency ([`crate::mpls::forward::swap_fast`]), SRoU transit over
//! untagged IPv4 ([`crate::srou::transit::transit_fast`]) and, where no table claims
//! IPv4, the IPv4 cross-connect ([`ip::xconnect_ipv4_fast`]). Each either declines,
//! leaving the frame (and the counters) untouched, or gives the general path's result
//! exactly: action, bytes and counters (`fast_swap_tests`, `fast_transit_tests`,
//! `fast_xconnect_tests`: property tests over arbitrary and mutated frames).
//!
//! A [`Pipeline`] is one immutable snapshot of every forwarding table; the control side
//! builds a new one and publishes it RCU-style ([`crate::rcu`]).
//!
//! Each port may have a cross-connect: the port's default adjacency for what the tables do
//! not claim (IP packets, until the overlay routes of a later issue, and MPLS labels the
//! LFIB does not hold, forwarded with only their TTL decremented by [`mpls`]). Without a
//! cross-connect such packets are dropped (`no-route`, `mpls-no-label`).

pub mod flow;
pub mod ip;
pub mod mpls;

#[cfg(test)]
mod fast_swap_tests;
#[cfg(test)]
mod fast_transit_tests;
#[cfg(test)]
mod fast_xconnect_tests;
#[cfg(test)]
mod testutil;

use crate::adjacency::Adjacency;
use crate::buf::PacketBuf;
use crate::clock::TscClock;
use crate::counters::{Handler, WorkerCounters};
use crate::drop::DropReason;
use crate::dyncast::{self, DyncastFlows, DyncastTables};
use crate::mpls::{MplsOutcome, MplsTables};
use crate::overlay::OverlayTables;
use crate::packet::{parse, L3Kind, PacketMeta, MAX_VLAN_TAGS};
use crate::service::{self, ServiceFlows, ServiceTables};
use crate::srou::{self, SrouTables};
use crate::stamp::{self, StampOutcome, StampTables};
use crate::wire::ethernet::EtherType;

/// Port ids the pipeline can address (DPDK's default RTE_MAX_ETHPORTS).
pub const MAX_PORTS: usize = 32;

/// Offset of the Ethernet header's EtherType (or first TPID).
const ETHERTYPE_AT: usize = 12;
/// Bytes one VLAN tag adds in front of the EtherType.
const VLAN_TAG_LEN: usize = 4;

/// What happens to a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Send on `port`; `handler` is the protocol handler that forwarded it.
    Forward {
        /// Egress port id.
        port: u16,
        /// Handler that made the decision.
        handler: Handler,
    },
    /// Discard, counting the reason.
    Drop(DropReason),
}

/// The `port` of an [`Action::Forward`] whose packet the data plane consumed itself (a
/// STAMP reply measured by one of this node's session-senders): the worker counts it
/// under its handler and frees it; it is neither sent nor a drop. Never a real port
/// (ports are below [`MAX_PORTS`]).
pub const CONSUMED_PORT: u16 = u16::MAX;

impl Action {
    /// The packet was consumed by `handler` (see [`CONSUMED_PORT`]). A forward to a
    /// pseudo-port rather than a variant of its own, so that matches over [`Action`]
    /// elsewhere stay exhaustive.
    #[inline]
    pub const fn consumed(handler: Handler) -> Action {
        Action::Forward {
            port: CONSUMED_PORT,
            handler,
        }
    }

    /// True for [`Action::consumed`].
    #[inline]
    pub const fn is_consumed(&self) -> bool {
        matches!(
            self,
            Action::Forward {
                port: CONSUMED_PORT,
                ..
            }
        )
    }
}

/// Error building a pipeline.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PipelineError {
    /// Port id beyond [`MAX_PORTS`].
    #[error("port id {0} is beyond the supported maximum ({max})", max = MAX_PORTS - 1)]
    PortOutOfRange(u16),
}

/// One snapshot of the forwarding state every worker uses.
#[derive(Debug, Default)]
pub struct Pipeline {
    xconnect: [Option<Adjacency>; MAX_PORTS],
    mpls: MplsTables,
    srou: SrouTables,
    overlay: OverlayTables,
    stamp: StampTables,
    service: ServiceTables,
    dyncast: DyncastTables,
}

/// A worker's own per-flow state (instance and RLOC affinity): never shared, so never
/// locked. RSS keeps a flow on one worker.
pub struct FlowState {
    /// Service behaviours' affinity (seed 001).
    pub service: ServiceFlows,
    /// Dynamic anycast's affinity (seed 002).
    pub dyncast: DyncastFlows,
    /// Flow-table clock: ticks (TSC) per millisecond.
    pub ticks_per_ms: u64,
}

/// What [`Pipeline::prefetch`] started for a frame, for [`Pipeline::prefetch_second`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Prefetch {
    /// Nothing more to fetch.
    #[default]
    Done,
    /// The service flow table's bucket of this flow hash: its matching slots come next.
    ServiceFlow(u64),
}

/// What the pipeline needs from the worker that runs it: its counters, its clock and its
/// flow state.
pub struct WorkerCtx<'c> {
    /// The worker's per-flow affinity tables.
    pub flows: &'c mut FlowState,
    /// The worker's counters.
    pub counters: &'c WorkerCounters,
    /// TSC to wall-clock conversion.
    pub clock: TscClock,
    /// TSC when the current burst was received.
    pub rx_tsc: u64,
    /// Reads the TSC now (the worker passes `rdtsc`; tests pass a fake).
    pub tsc: fn() -> u64,
}

impl Pipeline {
    /// A pipeline that forwards nothing (every packet is a `no-route` drop).
    pub fn new() -> Self {
        Self::default()
    }

    /// Frames received on `in_port` that no table claims are forwarded to `adj`.
    pub fn set_xconnect(&mut self, in_port: u16, adj: Adjacency) -> Result<(), PipelineError> {
        if adj.port as usize >= MAX_PORTS {
            return Err(PipelineError::PortOutOfRange(adj.port));
        }
        let slot = self
            .xconnect
            .get_mut(in_port as usize)
            .ok_or(PipelineError::PortOutOfRange(in_port))?;
        *slot = Some(adj);
        Ok(())
    }

    /// Installs the MPLS LFIB and V-LFIBs.
    pub fn set_mpls(&mut self, tables: MplsTables) {
        self.mpls = tables;
    }

    /// Installs the SRoU locators, policies and token lists.
    pub fn set_srou(&mut self, tables: SrouTables) {
        self.srou = tables;
    }

    /// The SRoU tables.
    pub fn srou(&self) -> &SrouTables {
        &self.srou
    }

    /// Installs the overlay routes (EVPN type-2/5 per VRF), whose targets index the SRoU
    /// policies of the same snapshot.
    pub fn set_overlay(&mut self, tables: OverlayTables) {
        self.overlay = tables;
    }

    /// Installs the STAMP reflector's configuration.
    pub fn set_stamp(&mut self, tables: StampTables) {
        self.stamp = tables;
    }

    /// The STAMP reflector's configuration.
    pub fn stamp(&self) -> &StampTables {
        &self.stamp
    }

    /// Installs the hierarchical service FIBs and computing SIDs (seed 001).
    pub fn set_service(&mut self, tables: ServiceTables) {
        self.service = tables;
    }

    /// Installs the dynamic-anycast map cache (seed 002).
    pub fn set_dyncast(&mut self, tables: DyncastTables) {
        self.dyncast = tables;
    }

    /// Fresh per-worker flow tables sized by this snapshot's configuration; `ticks_per_ms`
    /// is the unit of the worker's clock (TSC Hz / 1000). A worker creates them once at
    /// start; later snapshots keep the sizes the worker started with.
    pub fn new_flow_state(&self, ticks_per_ms: u64) -> FlowState {
        FlowState {
            service: self.service.flow_params().table(ticks_per_ms),
            dyncast: self.dyncast.flow_params().table(ticks_per_ms),
            ticks_per_ms,
        }
    }

    /// The cross-connect of `in_port`, if any.
    pub fn xconnect(&self, in_port: u16) -> Option<&Adjacency> {
        self.xconnect.get(in_port as usize)?.as_ref()
    }

    /// The MPLS tables.
    pub fn mpls(&self) -> &MplsTables {
        &self.mpls
    }

    /// Starts fetching the table entry that [`Pipeline::process`] of `frame` will read
    /// first, so that processing it later does not wait for memory (DPDK `l3fwd`'s
    /// prefetch across the burst): for an MPLS frame (EtherType 0x8847 or 0x8848 after at
    /// most two VLAN tags), the LFIB entry of the top label; for an IPv6 frame to one of
    /// the computing SIDs, the worker's flow-table bucket of its flow (`flows`), whose
    /// matching slots [`Pipeline::prefetch_second`] then fetches with what this returns.
    /// Changes nothing and never panics; other frames cost a few compares, and nothing is
    /// read at all while the LFIB and the computing SIDs are empty.
    #[inline]
    pub fn prefetch(&self, frame: &[u8], flows: &FlowState) -> Prefetch {
        // Without an LFIB or computing SIDs there is nothing to fetch, and reading the
        // frame this early costs the IP-only case a few percent.
        if !self.mpls.lfib().is_empty() {
            if let Some(label) = mpls_top_label(frame) {
                self.mpls.lfib().prefetch(label);
                return Prefetch::Done;
            }
        }
        if !self.service.is_empty() {
            // The flow table's bucket and home slot: a flow hit then finds both in cache.
            if let Some(h) = crate::service::prefetch(&self.service, &flows.service, frame) {
                return Prefetch::ServiceFlow(h);
            }
        }
        Prefetch::Done
    }

    /// True when [`Pipeline::prefetch`] can fetch anything (an LFIB or computing SIDs are
    /// loaded): otherwise a worker skips the staged pass over its bursts.
    #[inline]
    pub fn has_prefetch(&self) -> bool {
        !self.mpls.lfib().is_empty() || !self.service.is_empty()
    }

    /// The second stage of [`Pipeline::prefetch`], once what the first fetched has had
    /// time to arrive (a burst later): the flow-table slots whose tags match the flow.
    #[inline]
    pub fn prefetch_second(&self, p: Prefetch, flows: &FlowState) {
        if let Prefetch::ServiceFlow(h) = p {
            flows.service.prefetch_matches(h);
        }
    }

    /// Decides the fate of one frame received on `in_port`, rewriting it in place when it
    /// is forwarded; behaviour counters go to `c` (the calling worker's). Never panics,
    /// whatever the bytes.
    #[inline]
    pub fn process<B: PacketBuf>(
        &self,
        in_port: u16,
        pkt: &mut B,
        ctx: &mut WorkerCtx<'_>,
    ) -> Action {
        // The plain MPLS swap first: the same result as the general path (property test
        // in `fast_swap_tests`), without its parse and decision.
        if let Some(adj) = crate::mpls::forward::swap_fast(&self.mpls, pkt.data_mut()) {
            return Action::Forward {
                port: adj.port,
                handler: Handler::Mpls,
            };
        }
        // SRoU transit over IPv4 likewise (`fast_transit_tests`).
        if self.srou.has_ipv4_locator() {
            if let Some(adj) = self.srou_transit_fast(pkt.data_mut(), ctx.counters) {
                return Action::Forward {
                    port: adj.port,
                    handler: Handler::Srou,
                };
            }
        }
        // The plain IPv4 cross-connect likewise (`fast_xconnect_tests`), where no table
        // claims IPv4.
        if self.ipv4_unclaimed() {
            if let Some(adj) = self.xconnect_ipv4_fast(in_port, pkt.data_mut()) {
                return Action::Forward {
                    port: adj.port,
                    handler: Handler::Ipv4,
                };
            }
        }
        self.process_general(in_port, pkt, ctx)
    }

    /// True when the general path gives every IPv4 packet to the cross-connect: no STAMP
    /// reflector or session-sender, no SRoU (locators, policies, hence no overlay routes
    /// either) and no dynamic anycast; the service behaviours only take IPv6.
    #[inline]
    fn ipv4_unclaimed(&self) -> bool {
        self.srou.is_empty()
            && self.dyncast.is_empty()
            && !self.stamp.enabled()
            && self.stamp.sender().is_empty()
    }

    /// [`ip::xconnect_ipv4_fast`] on `in_port`'s cross-connect. Out of line, as
    /// [`Pipeline::srou_transit_fast`].
    #[inline(never)]
    fn xconnect_ipv4_fast(&self, in_port: u16, frame: &mut [u8]) -> Option<Adjacency> {
        let adj = self.xconnect(in_port)?;
        ip::xconnect_ipv4_fast(frame, adj).then_some(*adj)
    }

    /// [`srou::transit::transit_fast`] with this snapshot's tables. Out of line, so that
    /// [`Pipeline::process`] stays small enough to be inlined into the worker's loop
    /// (the MPLS swap's rate depends on it).
    #[inline(never)]
    fn srou_transit_fast(&self, frame: &mut [u8], c: &WorkerCounters) -> Option<Adjacency> {
        let claimed = |port| self.stamp_claims(port);
        srou::transit::transit_fast(&self.srou, frame, claimed, &c.srou)
    }

    /// True when the STAMP handlers, which see UDP packets before SRoU does, may claim
    /// datagrams to `port`: the reflector's port, or one of this node's session-senders'.
    #[inline(always)]
    fn stamp_claims(&self, port: u16) -> bool {
        let senders = self.stamp.sender();
        (self.stamp.enabled() && port == self.stamp.port())
            || (!senders.is_empty() && senders.claims(port))
    }

    /// [`Pipeline::process`] without the fast paths: parse, then the handler of the
    /// frame's protocol.
    #[inline]
    fn process_general<B: PacketBuf>(
        &self,
        in_port: u16,
        pkt: &mut B,
        ctx: &mut WorkerCtx<'_>,
    ) -> Action {
        // Borrowed where `parse` wrote it: moving the meta out of the `Result` reloads it
        // 16 bytes at a time over parse's narrower stores, a store-forwarding stall that
        // cost about a tenth of a packet's time.
        let parsed = parse(pkt.data());
        let meta = match &parsed {
            Ok(m) => m,
            Err(reason) => return Action::Drop(*reason),
        };
        match meta.l3 {
            L3Kind::Mpls => self.mpls_packet(in_port, pkt, meta),
            L3Kind::Ipv4 | L3Kind::Ipv6 => {
                // Replies to this node's own STAMP session-senders, before the reflector
                // (which never answers a packet from its port anyway): measured and
                // consumed. Without sessions this is one test of an empty list.
                let senders = self.stamp.sender();
                if !senders.is_empty() && meta.is_udp() && senders.claims(meta.dst_port) {
                    let t4 = ctx.clock.ntp_at(ctx.rx_tsc);
                    match stamp::sender::receive(senders, pkt.data(), meta, t4) {
                        Ok(None) => {}
                        Ok(Some(_)) => return Action::consumed(Handler::StampSender),
                        Err(reason) => return Action::Drop(reason),
                    }
                }
                // Timestamps cost a TSC read and two conversions: only for test packets.
                // (An SRv6-encapsulated request has its UDP inside; the reflector finds it.)
                // `enabled` first: without a reflector, no field of the meta is read here.
                let maybe_stamp = || {
                    (meta.is_udp() && meta.dst_port == self.stamp.port())
                        || (meta.l3 == L3Kind::Ipv6 && !meta.is_udp())
                };
                if self.stamp.enabled() && maybe_stamp() {
                    let rx = ctx.clock.ntp_at(ctx.rx_tsc);
                    let tx = ctx.clock.ntp_at((ctx.tsc)());
                    match stamp::reflect(&self.stamp, in_port, pkt, meta, rx, tx) {
                        Ok(StampOutcome::NotForMe) => {}
                        Ok(StampOutcome::Reflected(adj)) => {
                            return Action::Forward {
                                port: adj.port,
                                handler: Handler::Stamp,
                            }
                        }
                        Err(reason) => return Action::Drop(reason),
                    }
                }
                self.ip_or_srou(in_port, pkt, meta, ctx)
            }
        }
    }

    /// IP packets meet SRoU first: to one of our locators (transit, egress), or matching an
    /// ingress policy (encapsulation); then the computing SIDs of the service FIBs; then
    /// dynamic anycast; everything else takes the IP path.
    #[inline]
    fn ip_or_srou<B: PacketBuf>(
        &self,
        in_port: u16,
        pkt: &mut B,
        meta: &PacketMeta,
        ctx: &mut WorkerCtx<'_>,
    ) -> Action {
        let c = ctx.counters;
        match self.srou_step(in_port, pkt, meta, c) {
            Ok(srou::Outcome::Pass) => self.service_or_dyncast(in_port, pkt, meta, ctx),
            Ok(srou::Outcome::Encapsulated(adj)) | Ok(srou::Outcome::Transited(adj)) => {
                Action::Forward {
                    port: adj.port,
                    handler: Handler::Srou,
                }
            }
            Ok(srou::Outcome::Decapsulated(d)) => match d.adjacency {
                Some(adj) => Action::Forward {
                    port: adj.port,
                    handler: Handler::SrouDecap,
                },
                None => match parse(pkt.data()) {
                    Ok(inner) => {
                        self.ip_packet(in_port, pkt.data_mut(), &inner, Some(Handler::SrouDecap))
                    }
                    Err(reason) => Action::Drop(reason),
                },
            },
            Err(reason) => Action::Drop(reason),
        }
    }

    #[inline]
    fn mpls_packet<B: PacketBuf>(&self, in_port: u16, pkt: &mut B, meta: &PacketMeta) -> Action {
        // The flow hash only matters for ECMP: computed only when an entry has a choice.
        let hash = |frame: &[u8]| flow::flow_hash(frame, meta);
        let l3 = meta.l3_offset as usize;
        match crate::mpls::forward::forward_hashing(&self.mpls, pkt, l3, hash) {
            Ok(MplsOutcome::Forward(adj)) => Action::Forward {
                port: adj.port,
                handler: Handler::Mpls,
            },
            Ok(MplsOutcome::LocalDelivery(_)) => {
                // The stack ended here: the frame is now an IP packet for the IP path.
                match parse(pkt.data()) {
                    Ok(inner) => {
                        self.ip_packet(in_port, pkt.data_mut(), &inner, Some(Handler::MplsLocal))
                    }
                    Err(reason) => Action::Drop(reason),
                }
            }
            Err(DropReason::MplsNoLabel) => match self.xconnect(in_port) {
                Some(adj) => {
                    let frame = pkt.data_mut();
                    match mpls::forward(frame, meta) {
                        Ok(()) => {
                            adj.rewrite(frame);
                            Action::Forward {
                                port: adj.port,
                                handler: Handler::MplsXconnect,
                            }
                        }
                        Err(reason) => Action::Drop(reason),
                    }
                }
                None => Action::Drop(DropReason::MplsNoLabel),
            },
            Err(reason) => Action::Drop(reason),
        }
    }

    /// SRoU for an IP packet: to one of our locators (transit, egress); else an overlay
    /// route of the ingress port's VRF (EVPN type-2/5) naming an SRoU policy; else a policy
    /// for the exact destination; else [`srou::Outcome::Pass`].
    #[inline]
    fn srou_step<B: PacketBuf>(
        &self,
        in_port: u16,
        pkt: &mut B,
        meta: &PacketMeta,
        c: &WorkerCounters,
    ) -> Result<srou::Outcome, DropReason> {
        if self.srou.is_empty() {
            return Ok(srou::Outcome::Pass);
        }
        match srou::receive(&self.srou, pkt, meta, &c.srou)? {
            srou::Outcome::Pass => {}
            done => return Ok(done),
        }
        if !self.overlay.is_empty() {
            if let Some(routed) = self.overlay.route(in_port, pkt.data(), meta)? {
                let policy = self
                    .srou
                    .policy_at(routed.target.0)
                    .ok_or(DropReason::OverlayBadTarget)?;
                return srou::encap::encapsulate_with(&self.srou, policy, pkt, meta, &c.srou)
                    .map(srou::Outcome::Encapsulated);
            }
        }
        srou::encap::encapsulate(&self.srou, pkt, meta, &c.srou)
    }

    #[inline]
    fn service_or_dyncast<B: PacketBuf>(
        &self,
        in_port: u16,
        pkt: &mut B,
        meta: &PacketMeta,
        ctx: &mut WorkerCtx<'_>,
    ) -> Action {
        let c = ctx.counters;
        let now = ctx.rx_tsc;
        if !self.service.is_empty() && meta.l3 == L3Kind::Ipv6 {
            match service::process(
                &self.service,
                pkt,
                meta,
                &mut ctx.flows.service,
                now,
                &c.service,
            ) {
                Ok(service::Outcome::Pass) => {}
                Ok(service::Outcome::Steered { adjacency, .. }) => {
                    return Action::Forward {
                        port: adjacency.port,
                        handler: Handler::Service,
                    }
                }
                Ok(service::Outcome::Delivered { adjacency, .. }) => {
                    return Action::Forward {
                        port: adjacency.port,
                        handler: Handler::ServiceLocal,
                    }
                }
                Err(reason) => return Action::Drop(reason),
            }
        }
        if !self.dyncast.is_empty() {
            match dyncast::process(
                &self.dyncast,
                pkt,
                meta,
                &mut ctx.flows.dyncast,
                now,
                &c.dyncast,
            ) {
                Ok(dyncast::Outcome::Pass) => {}
                Ok(dyncast::Outcome::Encapsulated { adjacency, .. }) => {
                    return Action::Forward {
                        port: adjacency.port,
                        handler: Handler::Dyncast,
                    }
                }
                Ok(dyncast::Outcome::Decapsulated(Some(adj))) => {
                    return Action::Forward {
                        port: adj.port,
                        handler: Handler::DyncastDecap,
                    }
                }
                Ok(dyncast::Outcome::Decapsulated(None)) => {
                    return match parse(pkt.data()) {
                        Ok(inner) => self.ip_packet(
                            in_port,
                            pkt.data_mut(),
                            &inner,
                            Some(Handler::DyncastDecap),
                        ),
                        Err(reason) => Action::Drop(reason),
                    }
                }
                Err(reason) => return Action::Drop(reason),
            }
        }
        self.ip_packet(in_port, pkt.data_mut(), meta, None)
    }

    #[inline]
    fn ip_packet(
        &self,
        in_port: u16,
        frame: &mut [u8],
        meta: &PacketMeta,
        handler: Option<Handler>,
    ) -> Action {
        let Some(adj) = self.xconnect(in_port) else {
            return Action::Drop(DropReason::NoRoute);
        };
        let handled = match meta.l3 {
            L3Kind::Ipv4 => ip::forward_ipv4(frame, meta).map(|()| Handler::Ipv4),
            L3Kind::Ipv6 => ip::forward_ipv6(frame, meta).map(|()| Handler::Ipv6),
            L3Kind::Mpls => Err(DropReason::MplsBadPayload),
        };
        match handled {
            Ok(h) => {
                adj.rewrite(frame);
                Action::Forward {
                    port: adj.port,
                    handler: handler.unwrap_or(h),
                }
            }
            Err(reason) => Action::Drop(reason),
        }
    }
}

/// The top label of an MPLS frame (EtherType 0x8847 or 0x8848 after at most
/// [`MAX_VLAN_TAGS`] tags), read without validating anything else.
#[inline]
fn mpls_top_label(frame: &[u8]) -> Option<u32> {
    let mut at = ETHERTYPE_AT;
    for _ in 0..=MAX_VLAN_TAGS {
        let &[hi, lo, l0, l1, l2] = frame.get(at..at + 5)? else {
            return None;
        };
        let ethertype = EtherType(u16::from_be_bytes([hi, lo]));
        if ethertype.is_mpls() {
            return Some((u32::from(l0) << 12) | (u32::from(l1) << 4) | (u32::from(l2) >> 4));
        }
        if !ethertype.is_vlan_tpid() {
            return None;
        }
        at += VLAN_TAG_LEN;
    }
    None
}

#[cfg(test)]
mod prefetch_tests {
    use super::*;
    use proptest::prelude::*;

    /// Ethernet, `tpids` tags, `ethertype`, then `rest`.
    fn frame(tpids: &[u16], ethertype: u16, rest: &[u8]) -> Vec<u8> {
        let mut f = vec![0x02; 12];
        for t in tpids {
            f.extend_from_slice(&t.to_be_bytes());
            f.extend_from_slice(&[0x00, 0x64]);
        }
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(rest);
        f
    }

    #[test]
    fn top_label_after_zero_one_or_two_tags() {
        // label 0xABCDE, TC 5, S=1, TTL 64
        let lse = [0xAB, 0xCD, 0xEB, 0x40];
        for tpids in [&[][..], &[0x8100], &[0x88a8, 0x8100]] {
            for et in [0x8847, 0x8848] {
                assert_eq!(mpls_top_label(&frame(tpids, et, &lse)), Some(0xABCDE));
                // three bytes of the entry are enough for the label
                assert_eq!(mpls_top_label(&frame(tpids, et, &lse[..3])), Some(0xABCDE));
                assert_eq!(mpls_top_label(&frame(tpids, et, &lse[..2])), None);
            }
            assert_eq!(mpls_top_label(&frame(tpids, 0x0800, &lse)), None);
        }
        assert_eq!(
            mpls_top_label(&frame(&[0x8100, 0x8100, 0x8100], 0x8847, &lse)),
            None
        );
        assert_eq!(mpls_top_label(&[]), None);
        assert_eq!(mpls_top_label(&[0u8; 13]), None);
    }

    proptest! {
        #[test]
        fn prefetch_never_panics(f in proptest::collection::vec(any::<u8>(), 0..40)) {
            let p = Pipeline::new();
            let flows = p.new_flow_state(1000);
            let second = p.prefetch(&f, &flows);
            p.prefetch_second(second, &flows);
            if let Some(label) = mpls_top_label(&f) {
                prop_assert!(label <= crate::mpls::MAX_LABEL);
            }
        }
    }
}
