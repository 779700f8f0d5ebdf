//! Hierarchical service FIBs with computing segments (seed 001,
//! draft-yuan-cats-hierarchical-loop-prevention-00): a Global FIB and a Local FIB, the
//! END.CG and END.CL SRv6 behaviours, per-flow instance affinity, and the microloop
//! prevention of the seed's figures 5 and 6.
//!
//! - [`sid`]: the SID format (service ID in the argument) and the node's computing SIDs;
//! - [`fib`]: the Global FIB (service → egress PEs) and the Local FIB (service → local
//!   instances), frozen from builders;
//! - [`hash`]: [`ExactMap`], the open-addressing exact-match table both FIBs (and the
//!   dyncast map cache) index services with, built for 1M keys;
//! - [`flow`]: the bounded per-worker flow table for instance affinity (shared with
//!   [`crate::dyncast`]);
//! - [`endpoint`]: the per-packet behaviours; [`process`] is the pipeline's entry point;
//! - [`config`]: the `[tables.service]` section, and `[tables.service_range]` for FIBs
//!   of a million services.
//!
//! # Encodings and behaviours (choices documented here)
//!
//! - **Service ID**: 32 bits, in the argument of the computing SID: a node's END.CG /
//!   END.CL / END.C SIDs are `/96` blocks `LOC:FUNCT::/96` and the low 32 bits of the
//!   destination are the service ID (RFC 8986 §3.1's `LOC:FUNCT:ARG`). It needs no new
//!   header, survives every hop of figure 4 (END.CG(PE1)::*svc* → END.CL(PE4)::*svc*), and
//!   a node recognises its SID with one 12-byte compare.
//! - **What arrives at a computing SID**: either the client's own IPv6 packet addressed to
//!   the SID (figure 4, left), or an IPv6 packet encapsulated to it (outer header, optional
//!   SRH, Next Header 41: figure 4, middle). The *client packet* is the packet itself or
//!   the inner one; the service ID is always read from the (outer) destination. An SRH in
//!   the received (outer) header must have Segments Left 0: a computing SID is the last
//!   segment of its path ([`DropReason::ServiceSidNotLast`]). An encapsulated IPv4 or
//!   malformed inner packet is [`DropReason::ServiceBadInner`]; an encapsulated packet
//!   that is a fragment is [`DropReason::ServiceFragment`] (no reassembly).
//! - **END.CG** (ingress PE): looks the service up in the Global FIB
//!   ([`DropReason::ServiceNoGlobalEntry`]), takes the flow's PE if it is still live, else
//!   the live PE of lowest metric (ties split by flow hash;
//!   [`DropReason::ServiceNoPe`] if none), and steers the client packet to that PE's
//!   END.CL SID with the service ID as argument: H.Encaps (RFC 8986 §5.1) into a new outer
//!   IPv6 header (source: [`ServiceTables::source`], hop limit
//!   [`ServiceTables::hop_limit`], traffic class copied, flow label from the flow hash) —
//!   with an SRH when the PE has a [`Policy`]: Segment List\[0\] the END.CL SID, then the
//!   policy's segments, Segments Left pointing at the first, which is the destination.
//!   When the chosen PE is this node ([`PeNextHop::Local`]) the packet goes straight to the
//!   Local FIB as at END.CL.
//! - **END.CL** (egress PE): removes the outer header if any, looks the service up in the
//!   Local FIB ([`DropReason::ServiceNoLocalEntry`]), takes the flow's instance if it is
//!   still live, else the live instance of lowest metric, and delivers the client packet
//!   on the instance's interface, its destination rewritten to the instance's address
//!   when one is configured (TCP, UDP and ICMPv6 checksums updated incrementally). If no
//!   local instance is live the packet is dropped ([`DropReason::ServiceNoInstance`]):
//!   END.CL has no route to any other PE by construction, which is the microloop
//!   prevention of figure 6.
//! - **END.C** (flat, the non-hierarchical baseline): one choice over local instances
//!   and remote PEs together (lowest metric; ties go to the local instance). Provided for
//!   single-level deployments and to show figure 5's microloop in tests.
//! - **Hop limit**: every computing-SID node is one hop of the client packet: a client
//!   hop limit of 0 or 1 on arrival is [`DropReason::TtlExpired`], else it is decremented
//!   once. This is what ends a flat microloop. The outer header of an encapsulated
//!   arrival ends here and is not checked.
//! - **Affinity**: one [`ServiceFlows`] table per worker. Keys are the client packet's
//!   5-tuple (its destination carries the service ID) and a zone per behaviour, so the
//!   key is the same at every node of the path. A choice is kept while the flow stays
//!   active and the chosen PE / instance stays in the FIB and up in the current snapshot;
//!   otherwise the flow chooses again ([`flow::FlowCounters::repicks`]). Fragments have
//!   ports 0 in the key (all fragments of a datagram choose alike). A flow entry also
//!   remembers the snapshot ([`ServiceTables::generation`]) that chose or last validated
//!   its target, and the target's index there: while that snapshot is current the choice
//!   cannot have become invalid (a snapshot never changes), so a live flow's packets skip
//!   the FIB altogether and their only table access is the flow's bucket; after a table
//!   replacement the first packet validates the choice in the FIB again (by ID) and
//!   refreshes the entry. [`prefetch`] lets a worker start a flow's bucket a few packets
//!   ahead.
//! - **L2**: frames leave untagged (`Ethernet | IPv6 ...`) with the chosen adjacency's
//!   MACs; VLAN tags of the received frame are not kept.
//!
//! Nothing on the per-packet path allocates, locks or panics.

pub mod config;
pub mod endpoint;
pub mod fib;
pub mod flow;
pub mod hash;
pub mod sid;

#[cfg(test)]
mod tests;

use core::net::Ipv6Addr;
use core::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

pub use config::{ServiceConfig, ServiceConfigError, ServiceRangeConfig};
pub use endpoint::{prefetch, process};
pub use fib::{
    Candidate, Fib, FibBuilder, FibError, GlobalFib, Instance, LocalFib, Pe, PeNextHop, Policy,
};
pub use flow::{FlowCounterSnapshot, FlowCounters, FlowKey, FlowTable, Resolution};
pub use hash::ExactMap;
pub use sid::{Behavior, LocalSids, ServiceId, SidPrefix};

use crate::adjacency::Adjacency;
use crate::counters::Counter;
#[cfg(doc)]
use crate::drop::DropReason;

/// Default outer hop limit of END.CG encapsulation.
pub const DEFAULT_HOP_LIMIT: u8 = 64;

/// What a service behaviour did with a frame that was not dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Not addressed to one of our computing SIDs: the frame is untouched.
    Pass,
    /// Encapsulated towards a remote PE's SID; MACs written; send on the adjacency's port.
    Steered {
        /// Where it leaves.
        adjacency: Adjacency,
        /// The PE chosen.
        pe: u32,
    },
    /// Delivered to a local instance (the frame is `Ethernet | client packet`); send on
    /// the adjacency's port.
    Delivered {
        /// The instance's interface.
        adjacency: Adjacency,
        /// The instance chosen.
        instance: u32,
    },
}

impl Outcome {
    /// The adjacency to send on, unless [`Outcome::Pass`].
    pub fn adjacency(&self) -> Option<Adjacency> {
        match self {
            Outcome::Pass => None,
            Outcome::Steered { adjacency, .. } | Outcome::Delivered { adjacency, .. } => {
                Some(*adjacency)
            }
        }
    }
}

/// Whether a flow's choice is a PE or an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChoiceKind {
    /// An egress PE of the Global FIB.
    #[default]
    Pe,
    /// A local instance of the Local FIB.
    Instance,
}

/// What a flow remembers: the stable ID of its PE or instance, and where that target was
/// in the snapshot that last validated it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Choice {
    /// PE or instance.
    pub kind: ChoiceKind,
    /// Its ID.
    pub id: u32,
    /// Its index among the FIB's targets in the snapshot of [`Choice::generation`].
    pub index: u32,
    /// The low 32 bits of [`ServiceTables::generation`] of the snapshot that chose or last
    /// validated it (0: none). While it is the current snapshot's, the choice is valid
    /// without reading the FIB: a snapshot never changes, so the service still lists the
    /// target and the target is still up.
    pub generation: u32,
}

/// The per-worker affinity table of the service behaviours.
pub type ServiceFlows = FlowTable<Choice>;

/// Sizing of the per-worker flow tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowParams {
    /// Flows per worker (rounded up to a power of two).
    pub capacity: usize,
    /// Idle time after which a flow forgets its choice, in milliseconds.
    pub idle_ms: u64,
}

impl Default for FlowParams {
    fn default() -> Self {
        FlowParams {
            capacity: 1 << 16,
            idle_ms: 30_000,
        }
    }
}

impl FlowParams {
    /// A flow table of this size whose clock ticks `ticks_per_ms` per millisecond (the
    /// unit of the `now` given to the behaviours, e.g. the TSC rate / 1000).
    pub fn table<V: Copy + Default>(&self, ticks_per_ms: u64) -> FlowTable<V> {
        FlowTable::new(self.capacity, self.idle_ms.saturating_mul(ticks_per_ms))
    }
}

/// Service counters of one worker (single writer; drops are counted by reason).
#[derive(Debug, Default)]
pub struct ServiceCounters {
    /// Packets encapsulated towards a remote PE (END.CG, END.C).
    pub steered: Counter,
    /// Packets delivered to a local instance (END.CL, END.C, END.CG choosing this node).
    pub delivered: Counter,
    /// Packets that arrived encapsulated and had their outer header removed.
    pub decapsulated: Counter,
    /// END.CG packets whose best PE was this node.
    pub local_shortcut: Counter,
    /// The affinity table.
    pub flows: FlowCounters,
}

/// A copy of [`ServiceCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ServiceCounterSnapshot {
    /// Steered to a remote PE.
    pub steered: u64,
    /// Delivered to a local instance.
    pub delivered: u64,
    /// Outer header removed.
    pub decapsulated: u64,
    /// END.CG chose this node.
    pub local_shortcut: u64,
    /// Affinity table.
    pub flows: FlowCounterSnapshot,
}

impl ServiceCounters {
    /// Reads every counter.
    pub fn snapshot(&self) -> ServiceCounterSnapshot {
        ServiceCounterSnapshot {
            steered: self.steered.get(),
            delivered: self.delivered.get(),
            decapsulated: self.decapsulated.get(),
            local_shortcut: self.local_shortcut.get(),
            flows: self.flows.snapshot(),
        }
    }
}

impl ServiceCounterSnapshot {
    /// Adds another snapshot (totals over workers).
    pub fn accumulate(&mut self, o: &ServiceCounterSnapshot) {
        self.steered += o.steered;
        self.delivered += o.delivered;
        self.decapsulated += o.decapsulated;
        self.local_shortcut += o.local_shortcut;
        self.flows.accumulate(&o.flows);
    }
}

/// An error assembling [`ServiceTables`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TablesError {
    /// A SID block used twice, or too many SIDs.
    #[error("SID {0} given twice, or more than {max} computing SIDs", max = sid::MAX_LOCAL_SIDS)]
    Sid(SidPrefix),
    /// Remote PEs exist but no encapsulation source is set.
    #[error("an encapsulation source address is needed to steer to remote PEs")]
    NoSource,
    /// Outer hop limit 0.
    #[error("outer hop limit 0")]
    HopLimit,
}

/// Source of [`ServiceTables::generation`]: every built snapshot gets its own.
static GENERATIONS: AtomicU64 = AtomicU64::new(1);

/// Everything the service behaviours read: the node's computing SIDs and both FIBs.
/// Immutable once built; publish new snapshots through [`crate::rcu`].
#[derive(Debug, Clone)]
pub struct ServiceTables {
    generation: u64,
    sids: LocalSids,
    source: Ipv6Addr,
    hop_limit: u8,
    global: GlobalFib,
    local: LocalFib,
    flows: FlowParams,
}

impl Default for ServiceTables {
    fn default() -> Self {
        ServiceTables {
            generation: 0,
            sids: LocalSids::default(),
            source: Ipv6Addr::UNSPECIFIED,
            hop_limit: DEFAULT_HOP_LIMIT,
            global: GlobalFib::empty(),
            local: LocalFib::empty(),
            flows: FlowParams::default(),
        }
    }
}

impl ServiceTables {
    /// A builder.
    pub fn builder() -> ServiceTablesBuilder {
        ServiceTablesBuilder {
            t: ServiceTables::default(),
        }
    }

    /// This snapshot's number, unique among the snapshots built by this process (0 for
    /// the empty default): per-worker flow entries remember it to skip the FIB while it
    /// stays current ([`Choice::generation`]; the low 32 bits, which would need 2^32
    /// snapshots between two packets of a live flow to repeat).
    #[inline]
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// True without computing SIDs (every packet passes).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.sids.is_empty()
    }

    /// The node's computing SIDs.
    pub fn sids(&self) -> &LocalSids {
        &self.sids
    }

    /// Outer source address of END.CG encapsulation.
    pub fn source(&self) -> Ipv6Addr {
        self.source
    }

    /// Outer hop limit of END.CG encapsulation.
    pub fn hop_limit(&self) -> u8 {
        self.hop_limit
    }

    /// The Global FIB.
    pub fn global(&self) -> &GlobalFib {
        &self.global
    }

    /// The Local FIB.
    pub fn local(&self) -> &LocalFib {
        &self.local
    }

    /// Per-worker flow table sizing.
    pub fn flow_params(&self) -> FlowParams {
        self.flows
    }
}

/// Assembles [`ServiceTables`].
#[derive(Debug, Clone)]
pub struct ServiceTablesBuilder {
    t: ServiceTables,
}

impl ServiceTablesBuilder {
    /// Instantiates a computing SID.
    pub fn sid(&mut self, prefix: SidPrefix, behavior: Behavior) -> Result<&mut Self, TablesError> {
        if !self.t.sids.insert(prefix, behavior) {
            return Err(TablesError::Sid(prefix));
        }
        Ok(self)
    }

    /// Sets the encapsulation source address.
    pub fn source(&mut self, source: Ipv6Addr) -> &mut Self {
        self.t.source = source;
        self
    }

    /// Sets the outer hop limit (default [`DEFAULT_HOP_LIMIT`]).
    pub fn hop_limit(&mut self, hop_limit: u8) -> &mut Self {
        self.t.hop_limit = hop_limit;
        self
    }

    /// Installs the Global FIB.
    pub fn global(&mut self, fib: GlobalFib) -> &mut Self {
        self.t.global = fib;
        self
    }

    /// Installs the Local FIB.
    pub fn local(&mut self, fib: LocalFib) -> &mut Self {
        self.t.local = fib;
        self
    }

    /// Sets the per-worker flow table sizing.
    pub fn flows(&mut self, flows: FlowParams) -> &mut Self {
        self.t.flows = flows;
        self
    }

    /// Checks and returns the tables.
    pub fn build(&self) -> Result<ServiceTables, TablesError> {
        if self.t.hop_limit == 0 {
            return Err(TablesError::HopLimit);
        }
        let remote = self.t.global.targets().iter().any(|p| !p.is_local());
        if remote && self.t.source.is_unspecified() {
            return Err(TablesError::NoSource);
        }
        let mut t = self.t.clone();
        t.generation = GENERATIONS.fetch_add(1, Ordering::Relaxed);
        Ok(t)
    }
}
