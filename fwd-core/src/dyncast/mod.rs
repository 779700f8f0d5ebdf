//! LISP-based dynamic anycast (seed 002, draft-kjsun-lisp-dyncast-02): a service is an
//! anycast EID (the DSEID) mapped to a set of RLOCs (the ETRs in front of its instances)
//! with LISP priorities and weights; srgate acts as the D-Router/ITR that picks an RLOC
//! per flow and keeps the flow on it (instance affinity), and as an ETR.
//!
//! - [`map_cache`]: DSEID → RLOC set, and the priority/weight choice ([`select`]);
//! - [`lisp`]: the LISP data header view;
//! - [`encap`]: the ITR action; [`decap`]: the ETR action;
//! - [`process`]: the pipeline's entry point; [`config`]: the `[tables.dyncast]` section.
//!
//! # Decisions (documented here)
//!
//! - **Data-plane action: LISP encapsulation** (RFC 9300 §5), the seed's own data plane:
//!   a packet whose destination is a DSEID becomes
//!   `Ethernet | outer IPv4/IPv6 | UDP (dst 4341) | LISP | inner packet`, sent to the
//!   chosen RLOC. The outer family is the RLOC's; the inner may be either (it is not
//!   rewritten, so the service keeps seeing the anycast DSEID and the client's address).
//!   tshark decodes the result as `lisp-data`.
//! - **Outer headers**: source [`DyncastTables::source_v4`] / [`DyncastTables::source_v6`]
//!   (build fails without the source of a family some RLOC uses); TTL / hop limit copied
//!   from the inner packet after its decrement, DSCP and ECN copied (RFC 9300 §5.3);
//!   IPv4: DF set, Identification 0 (RFC 6864), header checksum computed; IPv6: flow label
//!   from the flow hash. UDP source port `0xC000 | 14 bits of the flow hash` (RFC 9300: a
//!   hash of the inner headers, for underlay ECMP); UDP checksum 0 over IPv4 (RFC 9300)
//!   unless [`DyncastTablesBuilder::udp_checksum`], always computed over IPv6.
//! - **LISP header**: no nonce, no map version, no Locator-Status-Bits; the I flag and a
//!   24-bit Instance ID when the mapping has one, else all zero.
//! - **Inner packet**: the ITR routes it, so its TTL / hop limit is decremented (IPv4
//!   checksum updated incrementally); 0 or 1 on arrival is [`DropReason::TtlExpired`].
//! - **RLOC choice** ([`map_cache`]): lowest usable priority, then weights (all-zero
//!   weights share equally); none usable is [`DropReason::DyncastNoRloc`].
//! - **Affinity**: one [`DyncastFlows`] table per worker (RSS keeps a flow on one worker:
//!   no sharing, no locks), fixed capacity, aged by the `now` it is given. The key is the
//!   inner 5-tuple (ports 0 for fragments, so that every fragment of a datagram takes the
//!   same RLOC); the value the RLOC address. A flow keeps its RLOC while the RLOC is in
//!   the DSEID's set of the current snapshot with a usable priority — even if it is no
//!   longer the best, as instance affinity asks; if it left the set (or became priority
//!   255), the flow chooses again ([`FlowCounters::repicks`]).
//! - **ETR** ([`decap`]): UDP to port 4341 at one of [`DyncastTables::local_rlocs`]: the
//!   outer headers are removed and the inner packet (IPv4 or IPv6 by its version nibble)
//!   is delivered as-is (pipe model) on [`DyncastTables::decap_adjacency`], or handed back
//!   to the IP path when none is set. Fragments to a local RLOC are dropped (no
//!   reassembly).
//! - **L2**: frames leave untagged with the adjacency's MACs.
//!
//! Nothing on the per-packet path allocates, locks or panics.

pub mod config;
pub mod decap;
pub mod encap;
pub mod lisp;
pub mod map_cache;

#[cfg(test)]
mod tests;

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Serialize;

pub use config::{DyncastConfig, DyncastConfigError};
pub use map_cache::{select, MapCache, MapCacheBuilder, MapCacheError, Mapping, Rloc};

use crate::adjacency::Adjacency;
use crate::buf::PacketBuf;
use crate::counters::Counter;
use crate::drop::DropReason;
use crate::packet::{L3Kind, PacketMeta};
use crate::service::flow::{zone, FlowCounterSnapshot, FlowCounters, FlowKey, FlowTable};
use crate::service::FlowParams;

/// What dyncast did with a frame that was not dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Neither to a DSEID nor LISP to a local RLOC: the frame is untouched.
    Pass,
    /// LISP-encapsulated to `rloc`; MACs written; send on the adjacency's port.
    Encapsulated {
        /// Where it leaves.
        adjacency: Adjacency,
        /// The RLOC chosen.
        rloc: IpAddr,
    },
    /// Decapsulated at this ETR: the frame is `Ethernet | inner packet`. With an adjacency
    /// its MACs are written (send on its port); without, hand the frame to the IP path.
    Decapsulated(Option<Adjacency>),
}

/// What a flow remembers: its RLOC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RlocChoice(pub IpAddr);

impl Default for RlocChoice {
    fn default() -> Self {
        RlocChoice(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }
}

/// The per-worker affinity table of dyncast.
pub type DyncastFlows = FlowTable<RlocChoice>;

/// Dyncast counters of one worker (single writer; drops are counted by reason).
#[derive(Debug, Default)]
pub struct DyncastCounters {
    /// Packets LISP-encapsulated to an RLOC (ITR).
    pub encapsulated: Counter,
    /// LISP packets decapsulated (ETR).
    pub decapsulated: Counter,
    /// The affinity table.
    pub flows: FlowCounters,
}

/// A copy of [`DyncastCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DyncastCounterSnapshot {
    /// Encapsulated.
    pub encapsulated: u64,
    /// Decapsulated.
    pub decapsulated: u64,
    /// Affinity table.
    pub flows: FlowCounterSnapshot,
}

impl DyncastCounters {
    /// Reads every counter.
    pub fn snapshot(&self) -> DyncastCounterSnapshot {
        DyncastCounterSnapshot {
            encapsulated: self.encapsulated.get(),
            decapsulated: self.decapsulated.get(),
            flows: self.flows.snapshot(),
        }
    }
}

impl DyncastCounterSnapshot {
    /// Adds another snapshot (totals over workers).
    pub fn accumulate(&mut self, o: &DyncastCounterSnapshot) {
        self.encapsulated += o.encapsulated;
        self.decapsulated += o.decapsulated;
        self.flows.accumulate(&o.flows);
    }
}

/// Most local RLOCs (ETR addresses).
pub const MAX_LOCAL_RLOCS: usize = 16;

/// An error assembling [`DyncastTables`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TablesError {
    /// An RLOC of a family without a configured source address.
    #[error("RLOC {0} needs an IPv{v} source address", v = if .0.is_ipv4() { 4 } else { 6 })]
    NoSource(IpAddr),
    /// Too many local RLOCs, or one given twice.
    #[error("local RLOC {0} given twice, or more than {MAX_LOCAL_RLOCS}")]
    LocalRloc(IpAddr),
}

/// Everything dyncast reads. Immutable once built; publish through [`crate::rcu`].
#[derive(Debug, Clone, Default)]
pub struct DyncastTables {
    map: MapCache,
    source_v4: Option<Ipv4Addr>,
    source_v6: Option<Ipv6Addr>,
    local_rlocs: Vec<IpAddr>,
    decap: Option<Adjacency>,
    udp_checksum: bool,
    flows: FlowParams,
}

impl DyncastTables {
    /// A builder.
    pub fn builder() -> DyncastTablesBuilder {
        DyncastTablesBuilder::default()
    }

    /// True without mappings nor local RLOCs (every packet passes).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.map.is_empty() && self.local_rlocs.is_empty()
    }

    /// The map cache.
    #[inline]
    pub fn map_cache(&self) -> &MapCache {
        &self.map
    }

    /// Outer source over IPv4 RLOCs.
    pub fn source_v4(&self) -> Option<Ipv4Addr> {
        self.source_v4
    }

    /// Outer source over IPv6 RLOCs.
    pub fn source_v6(&self) -> Option<Ipv6Addr> {
        self.source_v6
    }

    /// The addresses this node decapsulates LISP packets on (ETR).
    pub fn local_rlocs(&self) -> &[IpAddr] {
        &self.local_rlocs
    }

    /// Where decapsulated packets go (`None`: to the IP path).
    pub fn decap_adjacency(&self) -> Option<Adjacency> {
        self.decap
    }

    /// UDP checksum computed over IPv4 RLOCs too.
    pub fn udp_checksum(&self) -> bool {
        self.udp_checksum
    }

    /// Per-worker flow table sizing.
    pub fn flow_params(&self) -> FlowParams {
        self.flows
    }

    #[inline]
    fn source_for(&self, rloc: &IpAddr) -> Option<IpAddr> {
        match rloc {
            IpAddr::V4(_) => self.source_v4.map(IpAddr::V4),
            IpAddr::V6(_) => self.source_v6.map(IpAddr::V6),
        }
    }
}

/// Assembles [`DyncastTables`].
#[derive(Debug, Clone, Default)]
pub struct DyncastTablesBuilder {
    t: DyncastTables,
}

impl DyncastTablesBuilder {
    /// Installs the map cache.
    pub fn map_cache(&mut self, map: MapCache) -> &mut Self {
        self.t.map = map;
        self
    }

    /// Sets the outer source over IPv4 RLOCs.
    pub fn source_v4(&mut self, a: Ipv4Addr) -> &mut Self {
        self.t.source_v4 = Some(a);
        self
    }

    /// Sets the outer source over IPv6 RLOCs.
    pub fn source_v6(&mut self, a: Ipv6Addr) -> &mut Self {
        self.t.source_v6 = Some(a);
        self
    }

    /// Adds an address this node is an ETR on.
    pub fn local_rloc(&mut self, a: IpAddr) -> Result<&mut Self, TablesError> {
        if self.t.local_rlocs.len() >= MAX_LOCAL_RLOCS || self.t.local_rlocs.contains(&a) {
            return Err(TablesError::LocalRloc(a));
        }
        self.t.local_rlocs.push(a);
        Ok(self)
    }

    /// Where decapsulated packets go.
    pub fn decap_adjacency(&mut self, adj: Adjacency) -> &mut Self {
        self.t.decap = Some(adj);
        self
    }

    /// Computes the UDP checksum over IPv4 too.
    pub fn udp_checksum(&mut self, on: bool) -> &mut Self {
        self.t.udp_checksum = on;
        self
    }

    /// Sets the per-worker flow table sizing.
    pub fn flows(&mut self, flows: FlowParams) -> &mut Self {
        self.t.flows = flows;
        self
    }

    /// Checks (every RLOC family has a source) and returns the tables.
    pub fn build(&self) -> Result<DyncastTables, TablesError> {
        if let Some(r) = self
            .t
            .map
            .rlocs()
            .iter()
            .find(|r| self.t.source_for(&r.addr).is_none())
        {
            return Err(TablesError::NoSource(r.addr));
        }
        Ok(self.t.clone())
    }
}

/// The dyncast step of the pipeline for one parsed frame: decapsulates LISP packets to a
/// local RLOC (ETR), encapsulates packets to a DSEID towards the flow's RLOC (ITR), and
/// returns [`Outcome::Pass`] (frame untouched) for anything else.
///
/// `flows` is the calling worker's affinity table, `now` its clock (the unit of the
/// table's idle timeout), `c` its counters. Never panics, never allocates.
#[inline]
pub fn process<B: PacketBuf>(
    t: &DyncastTables,
    pkt: &mut B,
    meta: &PacketMeta,
    flows: &mut DyncastFlows,
    now: u64,
    c: &DyncastCounters,
) -> Result<Outcome, DropReason> {
    if t.is_empty() || meta.l3 == L3Kind::Mpls {
        return Ok(Outcome::Pass);
    }
    if let Some(at) = decap::classify(t, pkt.data(), meta)? {
        return decap::decapsulate(t, pkt, at, c);
    }
    let Some(dst) = encap::destination(pkt.data(), meta) else {
        return Ok(Outcome::Pass);
    };
    let Some(m) = t.map.lookup(&dst) else {
        return Ok(Outcome::Pass);
    };
    encap::check_ttl(pkt.data(), meta)?;
    let key =
        FlowKey::from_meta(pkt.data(), meta, zone::DYNCAST).ok_or(DropReason::DyncastNoRloc)?;
    let h = key.hash();
    let pick = (h >> 32) as u32;
    let (choice, _) = flows
        .resolve(
            &key,
            h,
            now,
            &c.flows,
            |v| m.live(&v.0).is_some(),
            || m.select(pick).map(|r| RlocChoice(r.addr)),
        )
        .ok_or(DropReason::DyncastNoRloc)?;
    let rloc = m.live(&choice.0).ok_or(DropReason::DyncastNoRloc)?;
    let source = t.source_for(&rloc.addr).ok_or(DropReason::DyncastNoRloc)?;
    encap::encapsulate(t, pkt, meta, rloc, source, m.instance_id, h)?;
    c.encapsulated.add(1);
    Ok(Outcome::Encapsulated {
        adjacency: rloc.adjacency,
        rloc: rloc.addr,
    })
}
