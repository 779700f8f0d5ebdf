//! Overlay routing: per-VNID EVPN tables (seed 000, draft-zartbot-srou-control-00,
//! "Overlay Routing") that map a frame arriving on an access port to the SRoU path it
//! must take.
//!
//! - A **VRF** per VNID (24 bits) holds the routes the control plane imported for it:
//!   - **type-2** (`/route/2/exportRT/RD/MAC/IP`): a host, exact keys `(VNID, MAC)` and,
//!     when the route carries one, `(VNID, IP)`;
//!   - **type-5** (`/route/5/exportRT/RD/IPPrefix/IPMask`): an IPv4 or IPv6 prefix,
//!     longest-prefix match ([`lpm`]).
//! - Every route resolves to a [`RouteTarget`]: the index of an SRoU ingress policy
//!   (Flow ID + locator path) in the SRoU tables published in the same snapshot; the
//!   data plane encapsulates with that policy (`srou::encap::encapsulate_with`).
//! - The VRF of a frame is chosen by its ingress port, optionally refined by its outer
//!   VLAN ([`OverlayTables::vrf_for`]): a binding with a VLAN wins over the port's
//!   binding without one; frames of ports (and VLANs) bound to no VRF are not overlay
//!   traffic and go to the other handlers.
//!
//! # Lookup order within a VRF
//!
//! [`Vrf::lookup`] tries, first hit wins:
//! 1. type-2 `(VNID, destination IP)`: a host route is as specific as a route can be, so
//!    it beats every type-5 prefix, a type-5 /32 or /128 to the same address included
//!    (a host the control plane learnt by MAC/IP is more precise than a summary);
//! 2. type-2 `(VNID, destination MAC)`: a frame addressed to a remote host's MAC is
//!    bridged to that host's target whatever its IP destination (routed frames carry the
//!    gateway's MAC and miss here);
//! 3. type-5 longest-prefix match on the destination IP.
//!
//! A frame of a bound VRF that matches nothing is dropped as
//! [`DropReason::OverlayNoRoute`]: a VRF is isolated, it never falls back to the global
//! table.
//!
//! Everything is built once ([`OverlayTablesBuilder`], [`config`]) and immutable
//! afterwards; lookups hash small keys with [`FxBuildHasher`] and walk flat arrays, and
//! never allocate, lock or panic.

pub mod config;
pub mod lpm;

#[cfg(test)]
mod lpm_tests;
#[cfg(test)]
mod tests;

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::collections::{BTreeMap, HashMap};

pub use lpm::{IpPrefix, Lpm, Lpm4, Lpm6, LpmBuilder, LpmError, PrefixError};

use crate::drop::DropReason;
use crate::packet::{L3Kind, PacketMeta};
use crate::srou::tables::FxBuildHasher;

/// Largest VNID (24 bits).
pub const MAX_VNID: u32 = (1 << 24) - 1;

/// What an overlay route resolves to: the index of an SRoU ingress policy in the SRoU
/// tables of the same snapshot (`SrouTables::policy_at`). At most [`lpm::MAX_NEXT_HOP`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouteTarget(pub u32);

impl RouteTarget {
    /// The policy index as a `usize`.
    #[inline]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A routed overlay frame: its VRF and the target its destination resolved to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Routed {
    /// VNID of the ingress VRF.
    pub vnid: u32,
    /// The SRoU policy to encapsulate with.
    pub target: RouteTarget,
}

/// The routes of one VNID.
#[derive(Debug, Clone, Default)]
pub struct Vrf {
    vnid: u32,
    macs: HashMap<[u8; 6], RouteTarget, FxBuildHasher>,
    hosts4: HashMap<Ipv4Addr, RouteTarget, FxBuildHasher>,
    hosts6: HashMap<Ipv6Addr, RouteTarget, FxBuildHasher>,
    prefixes4: Lpm4,
    prefixes6: Lpm6,
}

impl Vrf {
    /// The VNID.
    #[inline]
    pub fn vnid(&self) -> u32 {
        self.vnid
    }

    /// Type-2 route of a MAC.
    #[inline]
    pub fn lookup_mac(&self, mac: &[u8; 6]) -> Option<RouteTarget> {
        if self.macs.is_empty() {
            return None;
        }
        self.macs.get(mac).copied()
    }

    /// Type-2 host route, else type-5 longest prefix, of an IPv4 destination.
    #[inline]
    pub fn lookup_v4(&self, dst: Ipv4Addr) -> Option<RouteTarget> {
        self.host_v4(dst)
            .or_else(|| self.prefixes4.lookup(&dst.octets()).map(RouteTarget))
    }

    /// Type-2 host route, else type-5 longest prefix, of an IPv6 destination.
    #[inline]
    pub fn lookup_v6(&self, dst: &Ipv6Addr) -> Option<RouteTarget> {
        self.host_v6(dst)
            .or_else(|| self.prefixes6.lookup(&dst.octets()).map(RouteTarget))
    }

    /// [`Vrf::lookup_v4`] or [`Vrf::lookup_v6`].
    #[inline]
    pub fn lookup_ip(&self, dst: &IpAddr) -> Option<RouteTarget> {
        match dst {
            IpAddr::V4(a) => self.lookup_v4(*a),
            IpAddr::V6(a) => self.lookup_v6(a),
        }
    }

    #[inline]
    fn host_v4(&self, dst: Ipv4Addr) -> Option<RouteTarget> {
        if self.hosts4.is_empty() {
            return None;
        }
        self.hosts4.get(&dst).copied()
    }

    #[inline]
    fn host_v6(&self, dst: &Ipv6Addr) -> Option<RouteTarget> {
        if self.hosts6.is_empty() {
            return None;
        }
        self.hosts6.get(dst).copied()
    }

    /// The target of a parsed frame: type-2 IP host, type-2 destination MAC, type-5
    /// prefix, in that order (module documentation). MPLS frames are looked up by MAC only.
    #[inline]
    pub fn lookup(&self, frame: &[u8], meta: &PacketMeta) -> Option<RouteTarget> {
        let l3 = usize::from(meta.l3_offset);
        let dst_mac = |f: &[u8]| -> Option<[u8; 6]> { f.get(..6)?.try_into().ok() };
        match meta.l3 {
            L3Kind::Ipv4 => {
                let o: [u8; 4] = frame.get(l3 + 16..l3 + 20)?.try_into().ok()?;
                let dst = Ipv4Addr::from(o);
                self.host_v4(dst)
                    .or_else(|| self.lookup_mac(&dst_mac(frame)?))
                    .or_else(|| self.prefixes4.lookup(&o).map(RouteTarget))
            }
            L3Kind::Ipv6 => {
                let o: [u8; 16] = frame.get(l3 + 24..l3 + 40)?.try_into().ok()?;
                let dst = Ipv6Addr::from(o);
                self.host_v6(&dst)
                    .or_else(|| self.lookup_mac(&dst_mac(frame)?))
                    .or_else(|| self.prefixes6.lookup(&o).map(RouteTarget))
            }
            L3Kind::Mpls => self.lookup_mac(&dst_mac(frame)?),
        }
    }

    /// Route counts: (type-2 MACs, type-2 IP hosts, type-5 prefixes).
    pub fn route_counts(&self) -> (usize, usize, usize) {
        (
            self.macs.len(),
            self.hosts4.len() + self.hosts6.len(),
            self.prefixes4.len() + self.prefixes6.len(),
        )
    }

    /// The type-5 IPv4 table.
    pub fn prefixes_v4(&self) -> &Lpm4 {
        &self.prefixes4
    }

    /// The type-5 IPv6 table.
    pub fn prefixes_v6(&self) -> &Lpm6 {
        &self.prefixes6
    }
}

/// Which VRFs the frames of one port go to.
#[derive(Debug, Clone, Default)]
struct PortBinding {
    /// VRF index for frames without a more specific VLAN binding.
    any: Option<u32>,
    /// `(VLAN ID, VRF index)`, sorted by VLAN.
    vlans: Vec<(u16, u32)>,
}

/// Every VRF and the port/VLAN bindings: one immutable snapshot.
#[derive(Debug, Clone, Default)]
pub struct OverlayTables {
    vrfs: Vec<Vrf>,
    by_vnid: HashMap<u32, u32, FxBuildHasher>,
    ports: Vec<PortBinding>,
}

impl OverlayTables {
    /// An empty builder.
    pub fn builder() -> OverlayTablesBuilder {
        OverlayTablesBuilder::default()
    }

    /// True without any VRF: overlay routing has nothing to do.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.vrfs.is_empty()
    }

    /// The VRF of a VNID.
    #[inline]
    pub fn vrf(&self, vnid: u32) -> Option<&Vrf> {
        let i = *self.by_vnid.get(&vnid)?;
        self.vrfs.get(i as usize)
    }

    /// All VRFs, by increasing VNID.
    pub fn vrfs(&self) -> impl Iterator<Item = &Vrf> {
        self.vrfs.iter()
    }

    /// The VRF of frames arriving on `port` with outer VLAN `vlan` (`None`: untagged): a
    /// binding of that port and VLAN, else the port's binding without a VLAN.
    #[inline]
    pub fn vrf_for(&self, port: u16, vlan: Option<u16>) -> Option<&Vrf> {
        let b = self.ports.get(usize::from(port))?;
        let tagged = match vlan {
            Some(v) if !b.vlans.is_empty() => b
                .vlans
                .binary_search_by_key(&v, |&(vid, _)| vid)
                .ok()
                .and_then(|i| b.vlans.get(i))
                .map(|&(_, vrf)| vrf),
            _ => None,
        };
        self.vrfs.get(tagged.or(b.any)? as usize)
    }

    /// The target of a frame in VNID `vnid` ([`Vrf::lookup`]); `None` for an unknown VNID
    /// or no route.
    #[inline]
    pub fn lookup(&self, vnid: u32, frame: &[u8], meta: &PacketMeta) -> Option<RouteTarget> {
        self.vrf(vnid)?.lookup(frame, meta)
    }

    /// The overlay step for a frame received on `in_port`: `Ok(None)` if its port and
    /// VLAN are bound to no VRF (not overlay traffic), the VRF and target if routed,
    /// [`DropReason::OverlayNoRoute`] if its VRF has no route for it.
    #[inline]
    pub fn route(
        &self,
        in_port: u16,
        frame: &[u8],
        meta: &PacketMeta,
    ) -> Result<Option<Routed>, DropReason> {
        if self.vrfs.is_empty() {
            return Ok(None);
        }
        let Some(vrf) = self.vrf_for(in_port, meta.vlan()) else {
            return Ok(None);
        };
        match vrf.lookup(frame, meta) {
            Some(target) => Ok(Some(Routed {
                vnid: vrf.vnid,
                target,
            })),
            None => Err(DropReason::OverlayNoRoute),
        }
    }

    /// The largest route target any route refers to (to check it against the SRoU
    /// policy list when both are published together).
    pub fn max_target(&self) -> Option<RouteTarget> {
        self.vrfs
            .iter()
            .flat_map(|v| {
                let p4 = v.prefixes4.max_next_hop().map(RouteTarget);
                let p6 = v.prefixes6.max_next_hop().map(RouteTarget);
                v.macs
                    .values()
                    .chain(v.hosts4.values())
                    .chain(v.hosts6.values())
                    .copied()
                    .chain(p4)
                    .chain(p6)
            })
            .max()
    }
}

/// Why overlay tables cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverlayError {
    /// A VNID above 24 bits.
    #[error("VNID {0} does not fit 24 bits")]
    BadVnid(u32),
    /// The same VNID declared twice.
    #[error("VNID {0} declared twice")]
    DuplicateVrf(u32),
    /// A route or binding for a VNID without a VRF.
    #[error("no VRF for VNID {0}")]
    UnknownVnid(u32),
    /// A VLAN ID outside 1..=4094.
    #[error("VLAN {0} is not in 1..=4094")]
    BadVlan(u16),
    /// A port (and VLAN) already bound to a VRF.
    #[error("port {port}{} is already bound to VNID {vnid}", vlan.map(|v| format!(" VLAN {v}")).unwrap_or_default())]
    DuplicateBinding {
        /// The port id.
        port: u16,
        /// The VLAN, if the binding has one.
        vlan: Option<u16>,
        /// The VNID it is bound to.
        vnid: u32,
    },
    /// A target above [`lpm::MAX_NEXT_HOP`].
    #[error("route target {0} is too large")]
    BadTarget(u32),
}

/// Collects VRFs, bindings and routes; [`OverlayTablesBuilder::build`] compiles them.
/// Routes can be replaced and removed (the control plane keeps one builder and publishes
/// a new build after each batch of changes).
#[derive(Debug, Clone, Default)]
pub struct OverlayTablesBuilder {
    vrfs: BTreeMap<u32, VrfBuilder>,
    bindings: BTreeMap<(u16, Option<u16>), u32>,
}

/// The routes of one VNID under construction.
#[derive(Debug, Clone, Default)]
struct VrfBuilder {
    macs: HashMap<[u8; 6], RouteTarget, FxBuildHasher>,
    hosts4: HashMap<Ipv4Addr, RouteTarget, FxBuildHasher>,
    hosts6: HashMap<Ipv6Addr, RouteTarget, FxBuildHasher>,
    prefixes4: LpmBuilder<4>,
    prefixes6: LpmBuilder<16>,
}

fn check_target(t: RouteTarget) -> Result<(), OverlayError> {
    if t.0 > lpm::MAX_NEXT_HOP {
        return Err(OverlayError::BadTarget(t.0));
    }
    Ok(())
}

impl OverlayTablesBuilder {
    /// Declares the VRF of `vnid` (with no routes).
    pub fn vrf(&mut self, vnid: u32) -> Result<&mut Self, OverlayError> {
        if vnid > MAX_VNID {
            return Err(OverlayError::BadVnid(vnid));
        }
        if self.vrfs.insert(vnid, VrfBuilder::default()).is_some() {
            return Err(OverlayError::DuplicateVrf(vnid));
        }
        Ok(self)
    }

    /// True if the VRF of `vnid` is declared.
    pub fn has_vrf(&self, vnid: u32) -> bool {
        self.vrfs.contains_key(&vnid)
    }

    fn vrf_mut(&mut self, vnid: u32) -> Result<&mut VrfBuilder, OverlayError> {
        self.vrfs
            .get_mut(&vnid)
            .ok_or(OverlayError::UnknownVnid(vnid))
    }

    /// Sends the frames of `port` (with outer VLAN `vlan`, or any frame of the port
    /// without a more specific binding when `None`) to the VRF of `vnid`.
    pub fn bind(
        &mut self,
        port: u16,
        vlan: Option<u16>,
        vnid: u32,
    ) -> Result<&mut Self, OverlayError> {
        if let Some(v) = vlan {
            if !(1..=4094).contains(&v) {
                return Err(OverlayError::BadVlan(v));
            }
        }
        self.vrf_mut(vnid)?;
        if let Some(&other) = self.bindings.get(&(port, vlan)) {
            return Err(OverlayError::DuplicateBinding {
                port,
                vlan,
                vnid: other,
            });
        }
        self.bindings.insert((port, vlan), vnid);
        Ok(self)
    }

    /// Adds or replaces the type-2 route of `mac` (and of `ip` when given) in `vnid`;
    /// returns the targets replaced (MAC, IP).
    pub fn route2(
        &mut self,
        vnid: u32,
        mac: [u8; 6],
        ip: Option<IpAddr>,
        target: RouteTarget,
    ) -> Result<(Option<RouteTarget>, Option<RouteTarget>), OverlayError> {
        check_target(target)?;
        let v = self.vrf_mut(vnid)?;
        let old_mac = v.macs.insert(mac, target);
        let old_ip = match ip {
            Some(IpAddr::V4(a)) => v.hosts4.insert(a, target),
            Some(IpAddr::V6(a)) => v.hosts6.insert(a, target),
            None => None,
        };
        Ok((old_mac, old_ip))
    }

    /// Removes the type-2 route of `mac` (and of `ip` when given) from `vnid`.
    pub fn remove_route2(
        &mut self,
        vnid: u32,
        mac: [u8; 6],
        ip: Option<IpAddr>,
    ) -> Result<(), OverlayError> {
        let v = self.vrf_mut(vnid)?;
        v.macs.remove(&mac);
        match ip {
            Some(IpAddr::V4(a)) => {
                v.hosts4.remove(&a);
            }
            Some(IpAddr::V6(a)) => {
                v.hosts6.remove(&a);
            }
            None => {}
        }
        Ok(())
    }

    /// Adds or replaces the type-5 route of `prefix` in `vnid`; returns the target replaced.
    pub fn route5(
        &mut self,
        vnid: u32,
        prefix: IpPrefix,
        target: RouteTarget,
    ) -> Result<Option<RouteTarget>, OverlayError> {
        check_target(target)?;
        let v = self.vrf_mut(vnid)?;
        let old = match prefix.addr() {
            IpAddr::V4(a) => v.prefixes4.insert(a.octets(), prefix.len(), target.0),
            IpAddr::V6(a) => v.prefixes6.insert(a.octets(), prefix.len(), target.0),
        };
        // The prefix length is valid by construction and the target was checked.
        old.map(|o| o.map(RouteTarget))
            .map_err(|_| OverlayError::BadTarget(target.0))
    }

    /// Removes the type-5 route of `prefix` from `vnid`; returns its target.
    pub fn remove_route5(
        &mut self,
        vnid: u32,
        prefix: IpPrefix,
    ) -> Result<Option<RouteTarget>, OverlayError> {
        let v = self.vrf_mut(vnid)?;
        let old = match prefix.addr() {
            IpAddr::V4(a) => v.prefixes4.remove(a.octets(), prefix.len()),
            IpAddr::V6(a) => v.prefixes6.remove(a.octets(), prefix.len()),
        };
        Ok(old.map(RouteTarget))
    }

    /// Compiles every VRF (LPM tables built here) and the bindings.
    pub fn build(&self) -> OverlayTables {
        let mut t = OverlayTables::default();
        for (&vnid, v) in &self.vrfs {
            t.by_vnid.insert(vnid, t.vrfs.len() as u32);
            t.vrfs.push(Vrf {
                vnid,
                macs: v.macs.clone(),
                hosts4: v.hosts4.clone(),
                hosts6: v.hosts6.clone(),
                prefixes4: v.prefixes4.build(),
                prefixes6: v.prefixes6.build(),
            });
        }
        for (&(port, vlan), vnid) in &self.bindings {
            let Some(&vrf) = t.by_vnid.get(vnid) else {
                continue;
            };
            let i = usize::from(port);
            if t.ports.len() <= i {
                t.ports.resize_with(i + 1, PortBinding::default);
            }
            if let Some(b) = t.ports.get_mut(i) {
                match vlan {
                    None => b.any = Some(vrf),
                    // The map iterates in (port, VLAN) order: each list ends up sorted.
                    Some(v) => b.vlans.push((v, vrf)),
                }
            }
        }
        t
    }
}
