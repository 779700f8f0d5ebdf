//! The SRoU tables: the node's own locators, ingress policies, underlay next hops and the
//! token lists. Built once by [`SrouTablesBuilder`] (or [`super::config`]), immutable
//! afterwards, published to workers RCU-style.
//!
//! Per-packet lookups hash small fixed-size keys with [`FxHasher`] (keys come from the
//! configuration, so a fast non-keyed hash is fine) and never allocate.

use core::hash::{BuildHasher, Hasher};
use core::net::{IpAddr, SocketAddr};
use std::collections::HashMap;

use super::acl::{TokenAcl, TokenDecision};
use super::wire::{
    Body, Header, Repr, SegmentType, Segments, ServiceSegment, MAGIC, MAX_LEN, SERVICE_SEGMENT_MARK,
};
use crate::adjacency::Adjacency;
use crate::service::hash::ExactMap;

/// Longest Flow ID a policy or a token list holds.
pub const MAX_FLOW_ID_LEN: usize = 16;
/// Outer TTL / hop limit of encapsulated packets unless configured.
pub const DEFAULT_OUTER_TTL: u8 = 64;

/// A Flow ID of at most [`MAX_FLOW_ID_LEN`] bytes, stored inline (no allocation).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct FlowId {
    len: u8,
    bytes: [u8; MAX_FLOW_ID_LEN],
}

impl FlowId {
    /// Copies `bytes`; `None` if longer than [`MAX_FLOW_ID_LEN`].
    #[inline]
    pub fn new(bytes: &[u8]) -> Option<FlowId> {
        let mut id = FlowId::default();
        id.bytes.get_mut(..bytes.len())?.copy_from_slice(bytes);
        id.len = bytes.len() as u8;
        Some(id)
    }

    /// The Flow ID bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// Length in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// True for a zero-length Flow ID.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl core::fmt::Debug for FlowId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "FlowId(0x")?;
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

/// A fast, non-keyed hasher (FxHash mixing with a murmur3 finaliser) for table keys.
#[derive(Debug, Clone, Copy, Default)]
pub struct FxHasher {
    hash: u64,
}

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(FX_SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        let mut h = self.hash;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h
    }
}

/// Builds [`FxHasher`]s.
#[derive(Debug, Clone, Copy, Default)]
pub struct FxBuildHasher;

impl BuildHasher for FxBuildHasher {
    type Hasher = FxHasher;
    #[inline]
    fn build_hasher(&self) -> FxHasher {
        FxHasher::default()
    }
}

/// One of the node's own SRoU sockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Locator {
    /// Address and UDP port the node receives SRoU packets on.
    pub addr: SocketAddr,
    /// True if packets may end here (Segments Left 0: decapsulate); false for a
    /// transit-only (fabric) locator, where Segments Left 0 is a drop.
    pub decap: bool,
}

/// An ingress policy as configured: where packets to one overlay destination go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySpec {
    /// Flow ID (token) written into every packet.
    pub flow_id: FlowId,
    /// The node's own locator, the outer source and the SRoU Source.
    pub source: SocketAddr,
    /// Locators in travel order: the first hop first, the final (decapsulating) node
    /// last. Written reversed on the wire (Segment List\[0\] is the final node).
    pub path: Vec<SocketAddr>,
    /// A service segment placed after the final node (Segment List\[0\]): the final
    /// locator decapsulates into this VNID's VRF. IPv4 locators only.
    pub service: Option<ServiceSegment>,
}

/// An ingress policy compiled for the data plane: the whole SRoU header is pre-built.
#[derive(Debug, Clone)]
pub struct SrouPolicy {
    flow_id: FlowId,
    source: SocketAddr,
    first_hop: SocketAddr,
    adjacency: Adjacency,
    token: TokenDecision,
    header: [u8; MAX_LEN],
    header_len: u8,
}

impl SrouPolicy {
    /// The Flow ID.
    #[inline]
    pub fn flow_id(&self) -> &FlowId {
        &self.flow_id
    }

    /// The outer source (own locator).
    #[inline]
    pub fn source(&self) -> SocketAddr {
        self.source
    }

    /// The outer destination: Segment List\[Last Entry\].
    #[inline]
    pub fn first_hop(&self) -> SocketAddr {
        self.first_hop
    }

    /// The underlay adjacency towards the first hop.
    #[inline]
    pub fn adjacency(&self) -> Adjacency {
        self.adjacency
    }

    /// The token decision for this policy's Flow ID (taken when the tables were built).
    #[inline]
    pub fn token_decision(&self) -> TokenDecision {
        self.token
    }

    /// The SRoU header every packet of this policy carries (Segments Left = Last Entry).
    #[inline]
    pub fn header(&self) -> &[u8] {
        &self.header[..usize::from(self.header_len)]
    }

    /// Bytes encapsulation adds in front of the inner IP packet besides the Ethernet
    /// header: outer IP + UDP + SRoU. A frame needs this much headroom (less the L2 bytes
    /// beyond 14 it arrived with); a DPDK mbuf has 128 by default.
    #[inline]
    pub fn overhead(&self) -> usize {
        let ip = if self.source.is_ipv4() { 20 } else { 40 };
        ip + 8 + usize::from(self.header_len)
    }
}

/// Why a policy cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// `source` is not one of the node's locators.
    #[error("source {0} is not one of the node's locators")]
    SourceNotLocator(SocketAddr),
    /// No locator in `path`.
    #[error("an empty path")]
    EmptyPath,
    /// A locator whose family differs from the source's (Protocol-ID is one family).
    #[error("locator {0} is not of the source's address family")]
    FamilyMismatch(SocketAddr),
    /// A locator in 255.0.0.0/8 (read as a service segment on the wire).
    #[error("locator {0} is in 255.0.0.0/8, reserved for service segments")]
    ReservedLocator(SocketAddr),
    /// A service segment with IPv6 locators.
    #[error("a service segment needs IPv4 locators")]
    ServiceNeedsIpv4,
    /// A VNID above 24 bits.
    #[error("VNID {0} does not fit 24 bits")]
    BadVnid(u32),
    /// The header would exceed SRoU Length's 255 bytes.
    #[error("the SRoU header would be {0} bytes, above 255")]
    TooLong(usize),
    /// No underlay adjacency for the first hop.
    #[error("no next hop for the first hop {0}")]
    NoNextHop(IpAddr),
}

/// Why tables cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TablesError {
    /// The same locator twice.
    #[error("locator {0} given twice")]
    DuplicateLocator(SocketAddr),
    /// A locator in 255.0.0.0/8.
    #[error("locator {0} is in 255.0.0.0/8, reserved for service segments")]
    ReservedLocator(SocketAddr),
    /// The same next-hop address twice.
    #[error("next hop {0} given twice")]
    DuplicateNextHop(IpAddr),
    /// Two policies for one destination.
    #[error("two policies for destination {0}")]
    DuplicatePolicy(IpAddr),
    /// Two policies with one name.
    #[error("two policies named {0:?}")]
    DuplicatePolicyName(String),
    /// A policy that does not compile; `index` counts policies in the order added.
    #[error("policy {index}: {error}")]
    Policy {
        /// Position of the policy, in the order added.
        index: usize,
        /// What is wrong.
        error: PolicyError,
    },
}

/// Own locators and next hops keyed by raw address bytes (see [`SrouTables`]).
#[derive(Debug, Clone, Default)]
struct FastIndex {
    /// IPv4 locators: (address as read from the header, port, locator).
    locators_v4: Vec<(u32, u16, Locator)>,
    /// IPv6 locators.
    locators_v6: Vec<([u8; 16], u16, Locator)>,
    next_hop_v4: ExactMap<u32>,
    next_hop_v6: ExactMap<[u8; 16]>,
    next_hop_adjs: Vec<Adjacency>,
}

impl FastIndex {
    fn build(
        locators: &HashMap<SocketAddr, Locator, FxBuildHasher>,
        next_hops: &HashMap<IpAddr, Adjacency, FxBuildHasher>,
    ) -> FastIndex {
        let mut f = FastIndex::default();
        for l in locators.values() {
            match l.addr.ip() {
                IpAddr::V4(a) => {
                    f.locators_v4
                        .push((u32::from_ne_bytes(a.octets()), l.addr.port(), *l))
                }
                IpAddr::V6(a) => f.locators_v6.push((a.octets(), l.addr.port(), *l)),
            }
        }
        let (mut v4, mut v6) = (Vec::new(), Vec::new());
        for (ip, adj) in next_hops {
            let i = f.next_hop_adjs.len() as u32;
            f.next_hop_adjs.push(*adj);
            match ip {
                IpAddr::V4(a) => v4.push((u32::from_ne_bytes(a.octets()), i)),
                IpAddr::V6(a) => v6.push((a.octets(), i)),
            }
        }
        // Distinct keys (they come from a map) and small indices: building cannot fail.
        f.next_hop_v4 = ExactMap::build(v4).unwrap_or_default();
        f.next_hop_v6 = ExactMap::build(v6).unwrap_or_default();
        f
    }
}

/// The immutable SRoU state a worker reads.
#[derive(Debug, Clone)]
pub struct SrouTables {
    locators: HashMap<SocketAddr, Locator, FxBuildHasher>,
    /// Every policy, in the order added: overlay routes refer to them by index.
    policies: Vec<SrouPolicy>,
    /// Exact overlay destination -> policy index.
    by_destination: HashMap<IpAddr, u32, FxBuildHasher>,
    /// Policy name -> index (for overlay routes; control side only).
    by_name: HashMap<String, u32, FxBuildHasher>,
    next_hops: HashMap<IpAddr, Adjacency, FxBuildHasher>,
    /// The per-packet forms of `locators` and `next_hops`, built by
    /// [`SrouTablesBuilder::build`]: lookups on raw header bytes, without building a
    /// `SocketAddr` or hashing an enum. A node has a handful of locators (scanned); next
    /// hops are exact-match maps to an index into `next_hop_adjs`.
    fast: FastIndex,
    default_next_hop: Option<Adjacency>,
    decap_adjacency: Option<Adjacency>,
    acl: TokenAcl,
    outer_ttl: u8,
    udp_checksum: bool,
}

impl Default for SrouTables {
    fn default() -> Self {
        SrouTables {
            locators: HashMap::default(),
            policies: Vec::new(),
            by_destination: HashMap::default(),
            by_name: HashMap::default(),
            next_hops: HashMap::default(),
            fast: FastIndex::default(),
            default_next_hop: None,
            decap_adjacency: None,
            acl: TokenAcl::default(),
            outer_ttl: DEFAULT_OUTER_TTL,
            udp_checksum: false,
        }
    }
}

impl SrouTables {
    /// An empty builder.
    pub fn builder() -> SrouTablesBuilder {
        SrouTablesBuilder::default()
    }

    /// True with no locator and no policy: SRoU has nothing to do.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.locators.is_empty() && self.policies.is_empty()
    }

    /// True when one of the own locators is an IPv4 one (what
    /// [`super::transit::transit_fast`] can take packets for).
    #[inline]
    pub fn has_ipv4_locator(&self) -> bool {
        !self.fast.locators_v4.is_empty()
    }

    /// The own locator at `addr`, if any.
    #[inline]
    pub fn locator(&self, addr: &SocketAddr) -> Option<&Locator> {
        if self.locators.is_empty() {
            return None;
        }
        self.locators.get(addr)
    }

    /// The own locator at the address `addr` (4 or 16 bytes, as in an IP header) and
    /// UDP port `port`, if any (what [`SrouTables::locator`] answers, for the per-packet
    /// path).
    #[inline]
    pub fn locator_raw(&self, addr: &[u8], port: u16) -> Option<&Locator> {
        match addr.len() {
            4 => {
                let a = u32::from_ne_bytes(addr.try_into().ok()?);
                self.fast
                    .locators_v4
                    .iter()
                    .find(|(la, lp, _)| *la == a && *lp == port)
                    .map(|(_, _, l)| l)
            }
            16 => {
                let a: [u8; 16] = addr.try_into().ok()?;
                self.fast
                    .locators_v6
                    .iter()
                    .find(|(la, lp, _)| *la == a && *lp == port)
                    .map(|(_, _, l)| l)
            }
            _ => None,
        }
    }

    /// All own locators.
    pub fn locators(&self) -> impl Iterator<Item = &Locator> {
        self.locators.values()
    }

    /// The ingress policy for an overlay destination (exact match).
    #[inline]
    pub fn policy(&self, destination: &IpAddr) -> Option<&SrouPolicy> {
        if self.by_destination.is_empty() {
            return None;
        }
        let i = *self.by_destination.get(destination)?;
        self.policies.get(i as usize)
    }

    /// The policy at `index` (an overlay route's target).
    #[inline]
    pub fn policy_at(&self, index: u32) -> Option<&SrouPolicy> {
        self.policies.get(index as usize)
    }

    /// The index of the policy named `name`.
    pub fn policy_index(&self, name: &str) -> Option<u32> {
        self.by_name.get(name).copied()
    }

    /// Number of ingress policies.
    pub fn policy_count(&self) -> usize {
        self.policies.len()
    }

    /// The largest [`SrouPolicy::overhead`] (0 without policies): the packet-buffer
    /// headroom encapsulation needs in the worst case.
    pub fn max_overhead(&self) -> usize {
        self.policies
            .iter()
            .map(SrouPolicy::overhead)
            .max()
            .unwrap_or(0)
    }

    /// The underlay adjacency towards `ip`: an exact next hop, else the default one.
    #[inline]
    pub fn next_hop(&self, ip: &IpAddr) -> Option<Adjacency> {
        self.next_hops.get(ip).copied().or(self.default_next_hop)
    }

    /// [`SrouTables::next_hop`] of the address `ip` given as raw bytes (4 or 16, as in an
    /// IP header or a segment slot), for the per-packet path.
    #[inline(always)]
    pub fn next_hop_raw(&self, ip: &[u8]) -> Option<&Adjacency> {
        let f = &self.fast;
        let i = match ip.len() {
            4 => f.next_hop_v4.get(u32::from_ne_bytes(ip.try_into().ok()?)),
            16 => f.next_hop_v6.get(ip.try_into().ok()?),
            _ => return None,
        };
        match i {
            Some(i) => f.next_hop_adjs.get(i as usize),
            None => self.default_next_hop.as_ref(),
        }
    }

    /// Where decapsulated packets go, if configured (else the caller routes them).
    #[inline]
    pub fn decap_adjacency(&self) -> Option<Adjacency> {
        self.decap_adjacency
    }

    /// The token lists.
    #[inline]
    pub fn acl(&self) -> &TokenAcl {
        &self.acl
    }

    /// Outer TTL / hop limit written at encapsulation.
    #[inline]
    pub fn outer_ttl(&self) -> u8 {
        self.outer_ttl
    }

    /// True if the UDP checksum is computed at encapsulation over IPv4 (always over IPv6).
    #[inline]
    pub fn udp_checksum(&self) -> bool {
        self.udp_checksum
    }
}

/// Collects locators, next hops, tokens and policies, then compiles them into
/// [`SrouTables`].
#[derive(Debug, Clone, Default)]
pub struct SrouTablesBuilder {
    tables: SrouTables,
    policies: Vec<(Option<IpAddr>, Option<String>, PolicySpec)>,
}

fn reserved(addr: &SocketAddr) -> bool {
    matches!(addr.ip(), IpAddr::V4(ip) if ip.octets()[0] == SERVICE_SEGMENT_MARK)
}

impl SrouTablesBuilder {
    /// Adds an own locator.
    pub fn locator(&mut self, addr: SocketAddr, decap: bool) -> Result<&mut Self, TablesError> {
        if reserved(&addr) {
            return Err(TablesError::ReservedLocator(addr));
        }
        let key = SocketAddr::new(addr.ip(), addr.port());
        if self.tables.locators.contains_key(&key) {
            return Err(TablesError::DuplicateLocator(addr));
        }
        self.tables
            .locators
            .insert(key, Locator { addr: key, decap });
        Ok(self)
    }

    /// Adds an underlay next hop: packets whose outer destination is `ip` use `adj`.
    pub fn next_hop(&mut self, ip: IpAddr, adj: Adjacency) -> Result<&mut Self, TablesError> {
        if self.tables.next_hops.insert(ip, adj).is_some() {
            return Err(TablesError::DuplicateNextHop(ip));
        }
        Ok(self)
    }

    /// The adjacency for outer destinations without an exact next hop.
    pub fn default_next_hop(&mut self, adj: Adjacency) -> &mut Self {
        self.tables.default_next_hop = Some(adj);
        self
    }

    /// Where decapsulated packets are sent (else the caller routes them).
    pub fn decap_adjacency(&mut self, adj: Adjacency) -> &mut Self {
        self.tables.decap_adjacency = Some(adj);
        self
    }

    /// The token lists.
    pub fn acl(&mut self, acl: TokenAcl) -> &mut Self {
        self.tables.acl = acl;
        self
    }

    /// Outer TTL / hop limit at encapsulation (default [`DEFAULT_OUTER_TTL`]).
    pub fn outer_ttl(&mut self, ttl: u8) -> &mut Self {
        self.tables.outer_ttl = ttl;
        self
    }

    /// Compute the UDP checksum at encapsulation over IPv4 too (default: send 0).
    pub fn udp_checksum(&mut self, on: bool) -> &mut Self {
        self.tables.udp_checksum = on;
        self
    }

    /// Adds an ingress policy for `destination` (compiled in [`SrouTablesBuilder::build`]).
    pub fn policy(&mut self, destination: IpAddr, spec: PolicySpec) -> &mut Self {
        self.policies.push((Some(destination), None, spec));
        self
    }

    /// Adds a policy with a name (overlay routes refer to it) and optionally an exact
    /// overlay destination.
    pub fn named_policy(
        &mut self,
        name: Option<String>,
        destination: Option<IpAddr>,
        spec: PolicySpec,
    ) -> &mut Self {
        self.policies.push((destination, name, spec));
        self
    }

    /// Compiles the policies against the locators, next hops and token lists.
    pub fn build(self) -> Result<SrouTables, TablesError> {
        let SrouTablesBuilder {
            mut tables,
            policies,
        } = self;
        tables.fast = FastIndex::build(&tables.locators, &tables.next_hops);
        for (index, (destination, name, spec)) in policies.into_iter().enumerate() {
            let policy =
                compile(&tables, &spec).map_err(|error| TablesError::Policy { index, error })?;
            let at = tables.policies.len() as u32;
            if let Some(d) = destination {
                if tables.by_destination.insert(d, at).is_some() {
                    return Err(TablesError::DuplicatePolicy(d));
                }
            }
            if let Some(n) = name {
                if tables.by_name.contains_key(&n) {
                    return Err(TablesError::DuplicatePolicyName(n));
                }
                tables.by_name.insert(n, at);
            }
            tables.policies.push(policy);
        }
        Ok(tables)
    }
}

/// Builds the SRoU header and resolves the first hop of one policy.
fn compile(tables: &SrouTables, spec: &PolicySpec) -> Result<SrouPolicy, PolicyError> {
    let source = SocketAddr::new(spec.source.ip(), spec.source.port());
    if tables.locator(&source).is_none() {
        return Err(PolicyError::SourceNotLocator(spec.source));
    }
    let first_hop = *spec.path.first().ok_or(PolicyError::EmptyPath)?;
    for hop in &spec.path {
        if hop.is_ipv4() != source.is_ipv4() {
            return Err(PolicyError::FamilyMismatch(*hop));
        }
        if reserved(hop) {
            return Err(PolicyError::ReservedLocator(*hop));
        }
    }
    let (seg_type, seg_len) = if source.is_ipv4() {
        (SegmentType::IPV4, 6)
    } else {
        (SegmentType::IPV6, 18)
    };
    let count = spec.path.len() + usize::from(spec.service.is_some());
    // Flow ID, Source and the fixed parts alone must leave room for the list.
    let need = super::wire::FIXED_LEN
        + spec.flow_id.len()
        + if source.is_ipv4() { 4 } else { 16 }
        + super::wire::PORT_LEN
        + super::wire::SR_FIXED_LEN
        + count * seg_len;
    if need > MAX_LEN || count > 256 {
        return Err(PolicyError::TooLong(need));
    }
    let mut raw = [0u8; MAX_LEN];
    let mut at = 0;
    if let Some(svc) = spec.service {
        if !source.is_ipv4() {
            return Err(PolicyError::ServiceNeedsIpv4);
        }
        if svc.vnid > ServiceSegment::MAX_VNID {
            return Err(PolicyError::BadVnid(svc.vnid));
        }
        raw[..6].copy_from_slice(&svc.to_slot());
        at = 6;
    }
    for hop in spec.path.iter().rev() {
        at += super::wire::encode_segment(hop, &mut raw[at..]);
    }
    let segments = Segments::new(seg_type, &raw[..at]).ok_or(PolicyError::TooLong(need))?;
    let repr = Repr {
        magic: MAGIC,
        flow_id: spec.flow_id.as_bytes(),
        body: Body::Sr {
            source,
            segments,
            segments_left: (count - 1) as u8,
            tlvs: &[],
        },
    };
    repr.check().map_err(|_| PolicyError::TooLong(need))?;
    let mut header = [0u8; MAX_LEN];
    let header_len = repr.buffer_len();
    repr.emit(&mut Header::new_unchecked(&mut header[..header_len]));
    let adjacency = tables
        .next_hop(&first_hop.ip())
        .ok_or(PolicyError::NoNextHop(first_hop.ip()))?;
    Ok(SrouPolicy {
        flow_id: spec.flow_id,
        source,
        first_hop,
        adjacency,
        token: tables.acl.check(spec.flow_id.as_bytes()),
        header,
        header_len: header_len as u8,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::srou::acl::AclMode;

    fn sa(s: &str) -> SocketAddr {
        s.parse().expect("socket address")
    }

    fn adj(port: u16) -> Adjacency {
        Adjacency {
            port,
            dst_mac: [2, 0, 0, 0, 0, port as u8],
            src_mac: [2, 0, 0, 0, 1, port as u8],
        }
    }

    #[test]
    fn flow_id_is_bounded_and_inline() {
        let f = FlowId::new(&[0, 1, 0x23]).expect("fits");
        assert_eq!(f.as_bytes(), &[0, 1, 0x23]);
        assert_eq!(f.len(), 3);
        assert_eq!(format!("{f:?}"), "FlowId(0x000123)");
        assert!(FlowId::new(&[0u8; 16]).is_some());
        assert!(FlowId::new(&[0u8; 17]).is_none());
        assert_ne!(FlowId::new(&[0]), FlowId::new(&[0, 0]));
    }

    #[test]
    fn policy_header_is_the_draft_layout() {
        let mut b = SrouTables::builder();
        b.locator(sa("192.168.1.10:5000"), true).expect("locator");
        b.next_hop("10.0.0.1".parse().expect("ip"), adj(1))
            .expect("next hop");
        b.policy(
            "172.16.0.5".parse().expect("ip"),
            PolicySpec {
                flow_id: FlowId::new(&[0, 1, 0x23]).expect("flow id"),
                source: sa("192.168.1.10:5000"),
                path: vec![sa("10.0.0.1:8811"), sa("10.0.0.2:8811")],
                service: None,
            },
        );
        let t = b.build().expect("builds");
        let p = t
            .policy(&"172.16.0.5".parse().expect("ip"))
            .expect("policy");
        assert_eq!(p.first_hop(), sa("10.0.0.1:8811"));
        assert_eq!(p.overhead(), 20 + 8 + 29);
        assert_eq!(t.max_overhead(), 57);
        assert_eq!(p.adjacency(), adj(1));
        assert_eq!(p.token_decision(), TokenDecision::Permitted);
        assert_eq!(
            p.header(),
            &[
                0x00, 29, 3, 0x01, 0x00, 0x01, 0x23, 192, 168, 1, 10, 0x13, 0x88, 0x01, 16, 1, 1,
                10, 0, 0, 2, 0x22, 0x6b, 10, 0, 0, 1, 0x22, 0x6b,
            ]
        );
    }

    #[test]
    fn build_errors() {
        let mut b = SrouTables::builder();
        b.locator(sa("10.0.0.9:1"), true).expect("locator");
        assert_eq!(
            b.locator(sa("10.0.0.9:1"), false).err(),
            Some(TablesError::DuplicateLocator(sa("10.0.0.9:1")))
        );
        assert_eq!(
            b.locator(sa("255.1.2.3:1"), false).err(),
            Some(TablesError::ReservedLocator(sa("255.1.2.3:1")))
        );
        let ip: IpAddr = "10.0.0.1".parse().expect("ip");
        b.next_hop(ip, adj(1)).expect("next hop");
        assert_eq!(
            b.next_hop(ip, adj(2)).err(),
            Some(TablesError::DuplicateNextHop(ip))
        );
        let dst: IpAddr = "172.16.0.1".parse().expect("ip");
        let spec = |source: &str, path: &[&str]| PolicySpec {
            flow_id: FlowId::new(&[1]).expect("flow"),
            source: sa(source),
            path: path.iter().map(|p| sa(p)).collect(),
            service: None,
        };
        let cases = [
            (
                spec("10.0.0.8:1", &["10.0.0.1:1"]),
                PolicyError::SourceNotLocator(sa("10.0.0.8:1")),
            ),
            (spec("10.0.0.9:1", &[]), PolicyError::EmptyPath),
            (
                spec("10.0.0.9:1", &["10.0.0.1:1", "[::1]:1"]),
                PolicyError::FamilyMismatch(sa("[::1]:1")),
            ),
            (
                spec("10.0.0.9:1", &["10.0.0.1:1", "255.0.0.1:1"]),
                PolicyError::ReservedLocator(sa("255.0.0.1:1")),
            ),
            (
                spec("10.0.0.9:1", &["10.0.0.2:1"]),
                PolicyError::NoNextHop("10.0.0.2".parse().expect("ip")),
            ),
            (
                spec("10.0.0.9:1", &["10.0.0.1:1"; 41]),
                PolicyError::TooLong(4 + 1 + 6 + 4 + 41 * 6),
            ),
        ];
        for (s, want) in cases {
            let mut bb = b.clone();
            bb.policy(dst, s);
            match bb.build() {
                Err(TablesError::Policy {
                    index: 0, error, ..
                }) => assert_eq!(error, want),
                other => panic!("expected {want:?}, got {other:?}"),
            }
        }
        let mut bb = b.clone();
        let mut svc = spec("10.0.0.9:1", &["10.0.0.1:1"]);
        svc.service = Some(ServiceSegment {
            vnid: 1 << 24,
            behavior: ServiceSegment::END_DT4,
        });
        bb.policy(dst, svc);
        assert!(matches!(
            bb.build(),
            Err(TablesError::Policy {
                error: PolicyError::BadVnid(_),
                ..
            })
        ));
        let mut bb = b.clone();
        bb.policy(dst, spec("10.0.0.9:1", &["10.0.0.1:1"]));
        bb.policy(dst, spec("10.0.0.9:1", &["10.0.0.1:1"]));
        assert_eq!(bb.build().err(), Some(TablesError::DuplicatePolicy(dst)));
        // 40 IPv4 segments is the most that fits.
        let mut bb = b;
        bb.policy(dst, spec("10.0.0.9:1", &["10.0.0.1:1"; 40]));
        let t = bb.build().expect("40 segments fit");
        assert_eq!(t.policy(&dst).expect("policy").header().len(), 255);
    }

    #[test]
    fn token_decision_is_precomputed_and_next_hop_falls_back_to_default() {
        let mut acl = TokenAcl::new(AclMode::PermitOnly);
        acl.permit(FlowId::new(&[7]).expect("flow"));
        let mut b = SrouTables::builder();
        b.acl(acl)
            .default_next_hop(adj(3))
            .locator(sa("10.0.0.9:1"), true)
            .expect("locator");
        b.policy(
            "172.16.0.1".parse().expect("ip"),
            PolicySpec {
                flow_id: FlowId::new(&[8]).expect("flow"),
                source: sa("10.0.0.9:1"),
                path: vec![sa("10.1.1.1:1")],
                service: None,
            },
        );
        let t = b.build().expect("builds");
        let p = t
            .policy(&"172.16.0.1".parse().expect("ip"))
            .expect("policy");
        assert_eq!(p.token_decision(), TokenDecision::NotPermitted);
        assert_eq!(p.adjacency(), adj(3));
        assert_eq!(t.next_hop(&"1.2.3.4".parse().expect("ip")), Some(adj(3)));
        assert!(!t.is_empty());
        assert!(SrouTables::default().is_empty());
        assert_eq!(
            SrouTables::default().next_hop(&"1.2.3.4".parse().expect("ip")),
            None
        );
    }

    #[test]
    fn fx_hasher_spreads_small_keys() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..4096u32 {
            let mut h = FxBuildHasher.build_hasher();
            h.write_u32(i);
            seen.insert(h.finish() & 0xfff);
        }
        assert!(seen.len() > 2000, "low bits too clustered: {}", seen.len());
    }
}
