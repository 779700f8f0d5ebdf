//! Computing-segment SIDs: `LOC:FUNCT` in the top 96 bits, the service ID in the 32-bit
//! argument (RFC 8986 §3.1).
//!
//! ```text
//!  0                               95 96                 127
//! +----------------------------------+---------------------+
//! |  locator + function (SidPrefix)  |  service ID (ARG)   |
//! +----------------------------------+---------------------+
//! ```
//!
//! A node instantiates its END.CG, END.CL (and, for flat deployments, END.C) SIDs as
//! `/96` blocks; any address of a block is that behaviour applied to the service whose ID
//! is the low 32 bits. Steering keeps the argument: END.CG(PE1)::*svc* becomes
//! END.CL(PE4)::*svc*.

use core::fmt;
use core::net::Ipv6Addr;

/// A service identifier (the SID argument).
pub type ServiceId = u32;

/// Bits of the SID before the argument.
pub const SID_PREFIX_LEN: u8 = 96;

/// Most computing SIDs one node instantiates.
pub const MAX_LOCAL_SIDS: usize = 16;

/// The 96-bit `LOC:FUNCT` part of a computing SID.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct SidPrefix(pub [u8; 12]);

impl SidPrefix {
    /// The top 96 bits of `addr` (the argument bits are ignored).
    #[inline]
    pub fn of(addr: Ipv6Addr) -> SidPrefix {
        Self::split(&addr.octets()).0
    }

    /// Splits a destination address into its SID block and service ID.
    #[inline]
    pub fn split(addr: &[u8; 16]) -> (SidPrefix, ServiceId) {
        let mut p = [0u8; 12];
        p.copy_from_slice(&addr[..12]);
        let s = u32::from_be_bytes([addr[12], addr[13], addr[14], addr[15]]);
        (SidPrefix(p), s)
    }

    /// The SID of this block for `service`.
    #[inline]
    pub fn with_service(&self, service: ServiceId) -> Ipv6Addr {
        let mut a = [0u8; 16];
        a[..12].copy_from_slice(&self.0);
        a[12..].copy_from_slice(&service.to_be_bytes());
        Ipv6Addr::from(a)
    }

    /// The block as an address with a zero argument (how it is written in configs).
    pub fn addr(&self) -> Ipv6Addr {
        self.with_service(0)
    }
}

impl fmt::Debug for SidPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{SID_PREFIX_LEN}", self.addr())
    }
}

impl fmt::Display for SidPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{SID_PREFIX_LEN}", self.addr())
    }
}

/// What a computing SID does with a packet.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Behavior {
    /// END.CG: look the service up in the Global FIB, choose an egress PE, steer the
    /// packet to that PE's END.CL SID (or hand it to the Local FIB when the PE is this
    /// node).
    EndCg,
    /// END.CL: look the service up in the Local FIB, choose a live local instance and
    /// deliver the packet to it; never sent to another PE.
    EndCl,
    /// END.C, the flat (non-hierarchical) computing segment: one choice among local
    /// instances and remote PEs together. Kept as the seed's baseline: it microloops when
    /// a local instance fails before remote PEs learn it (figure 5).
    EndC,
}

impl Behavior {
    /// Stable lowercase name (`end.cg`, `end.cl`, `end.c`).
    pub const fn name(self) -> &'static str {
        match self {
            Behavior::EndCg => "end.cg",
            Behavior::EndCl => "end.cl",
            Behavior::EndC => "end.c",
        }
    }
}

/// The computing SIDs a node instantiates (a handful: a linear scan of 12-byte
/// compares).
#[derive(Clone, Debug, Default)]
pub struct LocalSids {
    sids: Vec<(SidPrefix, Behavior)>,
}

impl LocalSids {
    /// Adds a SID; `false` if the block is already used or the table is full.
    pub fn insert(&mut self, prefix: SidPrefix, behavior: Behavior) -> bool {
        if self.sids.len() >= MAX_LOCAL_SIDS || self.sids.iter().any(|(p, _)| *p == prefix) {
            return false;
        }
        self.sids.push((prefix, behavior));
        true
    }

    /// The behaviour and service ID of a destination address, if it is one of our SIDs.
    #[inline]
    pub fn lookup(&self, dst: &[u8; 16]) -> Option<(Behavior, ServiceId)> {
        let (prefix, service) = SidPrefix::split(dst);
        self.sids
            .iter()
            .find(|(p, _)| *p == prefix)
            .map(|(_, b)| (*b, service))
    }

    /// The SID of `behavior` (the first one), if instantiated.
    pub fn of(&self, behavior: Behavior) -> Option<SidPrefix> {
        self.sids
            .iter()
            .find(|(_, b)| *b == behavior)
            .map(|(p, _)| *p)
    }

    /// Number of SIDs.
    pub fn len(&self) -> usize {
        self.sids.len()
    }

    /// True without SIDs.
    pub fn is_empty(&self) -> bool {
        self.sids.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_and_join() {
        let a: Ipv6Addr = "fc00:0:4:c1::1:2".parse().unwrap();
        let (p, s) = SidPrefix::split(&a.octets());
        assert_eq!(s, 0x0001_0002);
        assert_eq!(p.with_service(s), a);
        assert_eq!(p, SidPrefix::of(a));
        assert_eq!(p.to_string(), "fc00:0:4:c1::/96");
        assert_eq!(format!("{p:?}"), "fc00:0:4:c1::/96");
    }

    #[test]
    fn local_sids() {
        let mut t = LocalSids::default();
        assert!(t.is_empty());
        let cg = SidPrefix::of("fc00:0:1:c6::".parse().unwrap());
        let cl = SidPrefix::of("fc00:0:1:c1::".parse().unwrap());
        assert!(t.insert(cg, Behavior::EndCg));
        assert!(t.insert(cl, Behavior::EndCl));
        assert!(!t.insert(cl, Behavior::EndC));
        assert_eq!(t.len(), 2);
        assert_eq!(
            t.lookup(&cg.with_service(7).octets()),
            Some((Behavior::EndCg, 7))
        );
        assert_eq!(
            t.lookup(&cl.with_service(9).octets()),
            Some((Behavior::EndCl, 9))
        );
        assert_eq!(t.lookup(&[0; 16]), None);
        assert_eq!(t.of(Behavior::EndCl), Some(cl));
        assert_eq!(t.of(Behavior::EndC), None);
        assert_eq!(Behavior::EndC.name(), "end.c");
        for i in 0..20u8 {
            let mut p = [0u8; 12];
            p[0] = i + 1;
            t.insert(SidPrefix(p), Behavior::EndC);
        }
        assert_eq!(t.len(), MAX_LOCAL_SIDS);
    }
}
