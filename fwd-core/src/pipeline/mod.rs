//! The per-packet pipeline: parse once, dispatch to the protocol handler, rewrite, choose
//! the egress port.
//!
//! Like a VPP graph, each step does one job: [`crate::packet::parse`] validates and locates
//! headers, a handler per protocol ([`ip`], [`mpls`]) applies its forwarding rules, and the
//! chosen [`Adjacency`] rewrites the Ethernet header for the egress port. The whole decision is a pure
//! function over the frame bytes; the worker loop only moves mbufs.
//!
//! The forwarding action of the foundation is a cross-connect: frames from one port go to
//! another with MAC rewrite. The lookup tables of later issues replace the cross-connect as the
//! source of the egress decision.
//!
//! A cross-connect maps an ingress port to an [`Adjacency`].

pub mod ip;
pub mod mpls;

use crate::adjacency::Adjacency;
use crate::buf::PacketBuf;
use crate::counters::Handler;
use crate::drop::DropReason;
use crate::packet::{parse, L3Kind};

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

/// The forwarding state one worker uses. Cheap to clone (fixed-size arrays).
#[derive(Debug, Clone)]
pub struct Pipeline {
    xconnect: [Option<Adjacency>; MAX_PORTS],
}

impl Default for Pipeline {
    fn default() -> Self {
        Self::new()
    }
}

impl Pipeline {
    /// A pipeline that forwards nothing (every packet is a `no-route` drop).
    pub fn new() -> Self {
        Pipeline {
            xconnect: [None; MAX_PORTS],
        }
    }

    /// Frames received on `in_port` are forwarded to `adj`.
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

    /// The cross-connect of `in_port`, if any.
    pub fn xconnect(&self, in_port: u16) -> Option<&Adjacency> {
        self.xconnect.get(in_port as usize)?.as_ref()
    }

    /// Decides the fate of one frame received on `in_port`, rewriting it in place when it
    /// is forwarded. Never panics, whatever the bytes.
    #[inline]
    pub fn process<B: PacketBuf>(&self, in_port: u16, pkt: &mut B) -> Action {
        let frame = pkt.data_mut();
        let meta = match parse(frame) {
            Ok(m) => m,
            Err(reason) => return Action::Drop(reason),
        };
        let Some(adj) = self.xconnect(in_port) else {
            return Action::Drop(DropReason::NoRoute);
        };
        let handled = match meta.l3 {
            L3Kind::Ipv4 => ip::forward_ipv4(frame, &meta).map(|()| Handler::Ipv4),
            L3Kind::Ipv6 => ip::forward_ipv6(frame, &meta).map(|()| Handler::Ipv6),
            L3Kind::Mpls => mpls::forward(frame, &meta).map(|()| Handler::Mpls),
        };
        match handled {
            Ok(handler) => {
                adj.rewrite(frame);
                Action::Forward {
                    port: adj.port,
                    handler,
                }
            }
            Err(reason) => Action::Drop(reason),
        }
    }
}
