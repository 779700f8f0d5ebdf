//! The map cache: DSEID (the service's anycast EID) → RLOC set, with LISP priorities and
//! weights (RFC 9300 / RFC 6830 Map-Reply semantics):
//!
//! - the **lowest priority** value is the most preferred; RLOCs of priority **255** must
//!   not be used for unicast forwarding;
//! - among the usable RLOCs of the best priority, traffic is split in proportion to the
//!   **weights**; an RLOC of weight 0 gets no traffic unless every RLOC of that priority
//!   has weight 0, in which case they share equally.
//!
//! Lookups are exact matches on the destination: IPv4 DSEIDs in an [`ExactMap`] keyed by
//! `u32`, IPv6 DSEIDs in one keyed by the 16 address bytes. Frozen by
//! [`MapCacheBuilder::freeze`].

use core::net::IpAddr;

use crate::adjacency::Adjacency;
use crate::service::hash::ExactMap;

use super::lisp::MAX_INSTANCE_ID;

/// Most RLOCs in one set.
pub const MAX_RLOCS: usize = 32;
/// The priority of an RLOC that must not be used.
pub const UNUSABLE: u8 = 255;

/// One locator of an RLOC set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rloc {
    /// The ETR's address (outer destination).
    pub addr: IpAddr,
    /// Lower is preferred; 255: unusable.
    pub priority: u8,
    /// Relative share among RLOCs of equal priority.
    pub weight: u8,
    /// Where packets to this RLOC leave (underlay next hop).
    pub adjacency: Adjacency,
}

impl Rloc {
    /// May carry traffic (priority below 255).
    #[inline]
    pub fn usable(&self) -> bool {
        self.priority != UNUSABLE
    }
}

/// The RLOC of `set` a flow of hash `pick` goes to (module docs for the rules), `None` if
/// no RLOC is usable. Pure: the same set and `pick` always give the same RLOC.
#[inline]
pub fn select(set: &[Rloc], pick: u32) -> Option<&Rloc> {
    let best = set
        .iter()
        .filter(|r| r.usable())
        .map(|r| r.priority)
        .min()?;
    let group = || set.iter().filter(move |r| r.priority == best);
    let total: u64 = group().map(|r| u64::from(r.weight)).sum();
    if total == 0 {
        let n = group().count() as u64;
        return group().nth(((u64::from(pick) * n) >> 32) as usize);
    }
    // Multiply-shift range reduction: `x` is uniform in 0..total.
    let mut x = (u64::from(pick) * total) >> 32;
    for r in group() {
        let w = u64::from(r.weight);
        if x < w {
            return Some(r);
        }
        x -= w;
    }
    None
}

/// A DSEID's mapping, as found by [`MapCache::lookup`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapping<'a> {
    /// The RLOC set, by priority.
    pub rlocs: &'a [Rloc],
    /// The LISP Instance ID to send with, if any.
    pub instance_id: Option<u32>,
}

impl<'a> Mapping<'a> {
    /// The usable RLOC of address `addr` (the affinity check).
    #[inline]
    pub fn live(&self, addr: &IpAddr) -> Option<&'a Rloc> {
        self.rlocs.iter().find(|r| r.addr == *addr && r.usable())
    }

    /// [`select`] over this set.
    #[inline]
    pub fn select(&self, pick: u32) -> Option<&'a Rloc> {
        select(self.rlocs, pick)
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    start: u32,
    len: u32,
    instance_id: Option<u32>,
}

/// The frozen map cache.
#[derive(Debug, Clone)]
pub struct MapCache {
    v4: ExactMap<u32>,
    v6: ExactMap<[u8; 16]>,
    entries: Box<[Entry]>,
    rlocs: Box<[Rloc]>,
}

impl Default for MapCache {
    fn default() -> Self {
        MapCache {
            v4: ExactMap::empty(),
            v6: ExactMap::empty(),
            entries: Box::new([]),
            rlocs: Box::new([]),
        }
    }
}

impl MapCache {
    /// A builder.
    pub fn builder() -> MapCacheBuilder {
        MapCacheBuilder::default()
    }

    /// The mapping of a destination, if it is a DSEID.
    #[inline]
    pub fn lookup(&self, dst: &IpAddr) -> Option<Mapping<'_>> {
        let i = match dst {
            IpAddr::V4(a) => self.v4.get(u32::from(*a))?,
            IpAddr::V6(a) => self.v6.get(a.octets())?,
        };
        let e = self.entries.get(i as usize)?;
        let start = e.start as usize;
        Some(Mapping {
            rlocs: self.rlocs.get(start..start + e.len as usize)?,
            instance_id: e.instance_id,
        })
    }

    /// Number of DSEIDs.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True without DSEIDs.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every RLOC of every set (control side: e.g. to check sources per family).
    pub fn rlocs(&self) -> &[Rloc] {
        &self.rlocs
    }
}

/// An error building a [`MapCache`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapCacheError {
    /// The same DSEID twice.
    #[error("DSEID {0} mapped twice")]
    DuplicateEid(IpAddr),
    /// Too many RLOCs in a set.
    #[error("DSEID {0} has {1} RLOCs (max {MAX_RLOCS})")]
    TooManyRlocs(IpAddr, usize),
    /// The same RLOC twice in a set.
    #[error("DSEID {0} lists RLOC {1} twice")]
    DuplicateRloc(IpAddr, IpAddr),
    /// An Instance ID beyond 24 bits.
    #[error("instance ID {0} is beyond 24 bits")]
    InstanceId(u32),
    /// Too many DSEIDs.
    #[error("too many DSEIDs")]
    TooLarge,
}

/// Collects mappings, then freezes them into a [`MapCache`].
#[derive(Debug, Clone, Default)]
pub struct MapCacheBuilder {
    mappings: Vec<(IpAddr, Vec<Rloc>, Option<u32>)>,
}

impl MapCacheBuilder {
    /// Maps `dseid` to `rlocs` (kept in order of priority, then as given), sent with
    /// `instance_id`. An empty set is a negative entry: its packets are dropped.
    pub fn mapping(
        &mut self,
        dseid: IpAddr,
        mut rlocs: Vec<Rloc>,
        instance_id: Option<u32>,
    ) -> Result<&mut Self, MapCacheError> {
        if self.mappings.iter().any(|m| m.0 == dseid) {
            return Err(MapCacheError::DuplicateEid(dseid));
        }
        if rlocs.len() > MAX_RLOCS {
            return Err(MapCacheError::TooManyRlocs(dseid, rlocs.len()));
        }
        for (i, r) in rlocs.iter().enumerate() {
            if rlocs[..i].iter().any(|o| o.addr == r.addr) {
                return Err(MapCacheError::DuplicateRloc(dseid, r.addr));
            }
        }
        if let Some(id) = instance_id.filter(|id| *id > MAX_INSTANCE_ID) {
            return Err(MapCacheError::InstanceId(id));
        }
        rlocs.sort_by_key(|r| r.priority);
        self.mappings.push((dseid, rlocs, instance_id));
        Ok(self)
    }

    /// Freezes the map cache.
    pub fn freeze(self) -> Result<MapCache, MapCacheError> {
        let mut entries = Vec::with_capacity(self.mappings.len());
        let mut rlocs = Vec::new();
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for (i, (eid, set, iid)) in self.mappings.into_iter().enumerate() {
            let i = u32::try_from(i).map_err(|_| MapCacheError::TooLarge)?;
            entries.push(Entry {
                start: u32::try_from(rlocs.len()).map_err(|_| MapCacheError::TooLarge)?,
                len: set.len() as u32,
                instance_id: iid,
            });
            rlocs.extend(set);
            match eid {
                IpAddr::V4(a) => v4.push((u32::from(a), i)),
                IpAddr::V6(a) => v6.push((a.octets(), i)),
            }
        }
        Ok(MapCache {
            v4: ExactMap::build(v4).map_err(|_| MapCacheError::TooLarge)?,
            v6: ExactMap::build(v6).map_err(|_| MapCacheError::TooLarge)?,
            entries: entries.into_boxed_slice(),
            rlocs: rlocs.into_boxed_slice(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn rloc(last: u8, priority: u8, weight: u8) -> Rloc {
        Rloc {
            addr: IpAddr::from([192, 0, 2, last]),
            priority,
            weight,
            adjacency: Adjacency {
                port: u16::from(last),
                ..Adjacency::default()
            },
        }
    }

    fn share(set: &[Rloc]) -> HashMap<u8, u32> {
        let mut n = HashMap::new();
        for i in 0..10_000u32 {
            let pick = i.wrapping_mul(0x9E37_79B9);
            if let Some(r) = select(set, pick) {
                let IpAddr::V4(a) = r.addr else { panic!() };
                *n.entry(a.octets()[3]).or_default() += 1;
            }
        }
        n
    }

    #[test]
    fn priority_then_weight() {
        // RFC 6830's example: weights 30/20/20/30 at one priority.
        let set = [
            rloc(1, 1, 30),
            rloc(2, 1, 20),
            rloc(3, 1, 20),
            rloc(4, 1, 30),
            rloc(5, 2, 100),
        ];
        let n = share(&set);
        assert!(!n.contains_key(&5), "a worse priority gets nothing");
        for (k, w) in [(1u8, 3000u32), (2, 2000), (3, 2000), (4, 3000)] {
            assert!(n[&k].abs_diff(w) < 150, "{n:?}");
        }
        // The best priority unusable (255) or absent: the next one.
        let set = [rloc(1, 255, 100), rloc(2, 7, 1)];
        assert_eq!(share(&set).get(&2), Some(&10_000));
        assert_eq!(select(&[rloc(1, 255, 1)], 0), None);
        assert_eq!(select(&[], 0), None);
        // Weight 0 gets nothing unless all of its priority are 0.
        let n = share(&[rloc(1, 1, 0), rloc(2, 1, 5)]);
        assert_eq!(n.get(&1), None);
        let n = share(&[rloc(1, 1, 0), rloc(2, 1, 0)]);
        assert!(
            n[&1].abs_diff(5000) < 150 && n[&2].abs_diff(5000) < 150,
            "{n:?}"
        );
        assert_eq!(
            select(&[rloc(9, 3, 0)], u32::MAX).unwrap().addr,
            rloc(9, 3, 0).addr
        );
    }

    #[test]
    fn cache_lookup_and_builder_errors() {
        let a: IpAddr = "198.51.100.10".parse().unwrap();
        let b: IpAddr = "2001:db8:5e::1".parse().unwrap();
        let mut mb = MapCache::builder();
        mb.mapping(a, vec![rloc(3, 2, 1), rloc(2, 1, 1)], None)
            .unwrap();
        mb.mapping(b, vec![rloc(2, 1, 1)], Some(7)).unwrap();
        assert_eq!(
            mb.mapping(a, vec![], None).unwrap_err(),
            MapCacheError::DuplicateEid(a)
        );
        let c: IpAddr = "198.51.100.11".parse().unwrap();
        assert_eq!(
            mb.mapping(c, vec![rloc(1, 1, 1), rloc(1, 2, 1)], None)
                .unwrap_err(),
            MapCacheError::DuplicateRloc(c, rloc(1, 1, 1).addr)
        );
        assert_eq!(
            mb.mapping(c, vec![rloc(1, 1, 1); 33], None).unwrap_err(),
            MapCacheError::TooManyRlocs(c, 33)
        );
        assert_eq!(
            mb.mapping(c, vec![], Some(1 << 24)).unwrap_err(),
            MapCacheError::InstanceId(1 << 24)
        );
        mb.mapping(c, vec![], None).unwrap();
        let m = mb.freeze().unwrap();
        assert_eq!(m.len(), 3);
        let ma = m.lookup(&a).unwrap();
        assert_eq!(ma.rlocs[0].priority, 1, "sorted by priority");
        assert_eq!(ma.select(0).unwrap().addr, rloc(2, 1, 1).addr);
        assert!(ma.live(&rloc(3, 2, 1).addr).is_some());
        assert!(ma.live(&rloc(4, 2, 1).addr).is_none());
        assert_eq!(m.lookup(&b).unwrap().instance_id, Some(7));
        assert!(m.lookup(&c).unwrap().rlocs.is_empty());
        assert!(m.lookup(&"198.51.100.12".parse().unwrap()).is_none());
        assert!(m.lookup(&"::ffff:198.51.100.10".parse().unwrap()).is_none());
        assert_eq!(m.rlocs().len(), 3);
        assert!(MapCache::default().is_empty());
    }

    /// The plain reference of [`select`]: expand each RLOC of the best usable priority
    /// into `weight` tickets (one each when all weights are 0) and index the tickets.
    fn reference(set: &[Rloc], pick: u32) -> Option<IpAddr> {
        let best = set
            .iter()
            .filter(|r| r.priority != 255)
            .map(|r| r.priority)
            .min()?;
        let group: Vec<&Rloc> = set.iter().filter(|r| r.priority == best).collect();
        let all_zero = group.iter().all(|r| r.weight == 0);
        let tickets: Vec<IpAddr> = group
            .iter()
            .flat_map(|r| {
                let n = if all_zero { 1 } else { usize::from(r.weight) };
                std::iter::repeat_n(r.addr, n)
            })
            .collect();
        let i = ((u64::from(pick) * tickets.len() as u64) >> 32) as usize;
        tickets.get(i).copied()
    }

    proptest! {
        #[test]
        fn select_matches_the_ticket_reference(
            set in proptest::collection::vec((prop_oneof![0u8..4, Just(255u8)], prop_oneof![Just(0u8), any::<u8>()]), 0..10),
            pick in any::<u32>(),
        ) {
            let rlocs: Vec<Rloc> = set
                .iter()
                .enumerate()
                .map(|(i, (p, w))| rloc(i as u8, *p, *w))
                .collect();
            prop_assert_eq!(select(&rlocs, pick).map(|r| r.addr), reference(&rlocs, pick));
        }

        #[test]
        fn lookup_matches_a_hashmap(
            eids in proptest::collection::hash_set(prop_oneof![
                any::<[u8; 4]>().prop_map(IpAddr::from),
                any::<[u8; 16]>().prop_map(IpAddr::from),
            ], 0..60),
            probes in proptest::collection::vec(any::<[u8; 4]>(), 0..20),
        ) {
            let mut b = MapCache::builder();
            let mut reference = HashMap::new();
            for (i, e) in eids.iter().enumerate() {
                let set = vec![rloc(i as u8, (i % 3) as u8, 1)];
                b.mapping(*e, set.clone(), Some(i as u32)).unwrap();
                reference.insert(*e, (set, i as u32));
            }
            let m = b.freeze().unwrap();
            for (e, (set, iid)) in &reference {
                let got = m.lookup(e).unwrap();
                prop_assert_eq!(got.rlocs, &set[..]);
                prop_assert_eq!(got.instance_id, Some(*iid));
            }
            for p in probes {
                let a = IpAddr::from(p);
                prop_assert_eq!(m.lookup(&a).is_some(), reference.contains_key(&a));
            }
        }
    }
}
