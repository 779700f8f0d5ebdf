//! The per-packet pipeline: parse once, dispatch to the protocol handler, rewrite, choose
//! the egress port.
//!
//! Like a VPP graph, each step does one job: [`crate::packet::parse`] validates and locates
//! headers, a handler per protocol applies its forwarding rules (the MPLS LFIB of
//! [`crate::mpls`]; [`ip`] for IPv4/IPv6), and the chosen [`Adjacency`] rewrites the
//! Ethernet header for the egress port. The whole decision is a pure function over the
//! packet; the worker loop only moves mbufs.
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

use crate::adjacency::Adjacency;
use crate::buf::PacketBuf;
use crate::clock::TscClock;
use crate::counters::{Handler, WorkerCounters};
use crate::drop::DropReason;
use crate::mpls::{MplsOutcome, MplsTables};
use crate::packet::{parse, L3Kind, PacketMeta};
use crate::srou::{self, SrouTables};
use crate::stamp::{self, StampOutcome, StampTables};

/// Port ids the pipeline can address (DPDK's default RTE_MAX_ETHPORTS).
pub const MAX_PORTS: usize = 32;

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
    stamp: StampTables,
}

/// What the pipeline needs from the worker that runs it: its counters and its clock.
pub struct WorkerCtx<'c> {
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

    /// Installs the STAMP reflector's configuration.
    pub fn set_stamp(&mut self, tables: StampTables) {
        self.stamp = tables;
    }

    /// The STAMP reflector's configuration.
    pub fn stamp(&self) -> &StampTables {
        &self.stamp
    }

    /// The cross-connect of `in_port`, if any.
    pub fn xconnect(&self, in_port: u16) -> Option<&Adjacency> {
        self.xconnect.get(in_port as usize)?.as_ref()
    }

    /// The MPLS tables.
    pub fn mpls(&self) -> &MplsTables {
        &self.mpls
    }

    /// Decides the fate of one frame received on `in_port`, rewriting it in place when it
    /// is forwarded; behaviour counters go to `c` (the calling worker's). Never panics,
    /// whatever the bytes.
    #[inline]
    pub fn process<B: PacketBuf>(&self, in_port: u16, pkt: &mut B, ctx: &WorkerCtx<'_>) -> Action {
        let meta = match parse(pkt.data()) {
            Ok(m) => m,
            Err(reason) => return Action::Drop(reason),
        };
        match meta.l3 {
            L3Kind::Mpls => self.mpls_packet(in_port, pkt, &meta),
            L3Kind::Ipv4 | L3Kind::Ipv6 => {
                // Timestamps cost a TSC read and two conversions: only for test packets.
                // (An SRv6-encapsulated request has its UDP inside; the reflector finds it.)
                let maybe_stamp = (meta.is_udp() && meta.dst_port == self.stamp.port())
                    || (meta.l3 == L3Kind::Ipv6 && !meta.is_udp());
                if self.stamp.enabled() && maybe_stamp {
                    let rx = ctx.clock.ntp_at(ctx.rx_tsc);
                    let tx = ctx.clock.ntp_at((ctx.tsc)());
                    match stamp::reflect(&self.stamp, in_port, pkt, &meta, rx, tx) {
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
                self.ip_or_srou(in_port, pkt, &meta, ctx.counters)
            }
        }
    }

    /// IP packets meet SRoU first: to one of our locators (transit, egress), or matching an
    /// ingress policy (encapsulation); everything else takes the IP path.
    #[inline]
    fn ip_or_srou<B: PacketBuf>(
        &self,
        in_port: u16,
        pkt: &mut B,
        meta: &PacketMeta,
        c: &WorkerCounters,
    ) -> Action {
        match srou::process(&self.srou, pkt, meta, &c.srou) {
            Ok(srou::Outcome::Pass) => self.ip_packet(in_port, pkt.data_mut(), meta, None),
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
        let hash = flow::flow_hash(pkt.data(), meta);
        match crate::mpls::forward(&self.mpls, pkt, meta.l3_offset as usize, hash) {
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
