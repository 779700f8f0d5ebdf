//! The two FIBs of the seed's hierarchical entries (figure 3): the **Global FIB** maps a
//! service ID to the egress PEs that offer it (each reached through its END.CL SID), the
//! **Local FIB** maps a service ID to this node's instances (each behind an interface).
//! Both carry the control plane's metric per candidate; the data plane takes the best
//! (lowest) live one, ties split by flow hash.
//!
//! Both are a [`Fib`] over a target type ([`Pe`] or [`Instance`]): targets in an array,
//! each service's candidates as a run of a candidate arena sorted by metric, and an
//! [`ExactMap`] from service ID to that run (start and length packed into the map's
//! `u32` value, so a lookup is one map probe and one arena read). Frozen by
//! [`FibBuilder::freeze`]; rebuilt and republished on any change.

use core::net::Ipv6Addr;

use dpdk_sys::mem::HugeArray;

use super::hash::ExactMap;
use super::sid::{ServiceId, SidPrefix};
use crate::adjacency::Adjacency;

/// Most candidates (PEs or instances) one service may have.
pub const MAX_CANDIDATES: usize = 32;
/// Most segments of a PE's steering policy (besides its END.CL SID).
pub const MAX_POLICY_SEGMENTS: usize = 4;
/// Most candidates over all services of one FIB.
pub const MAX_ARENA: usize = 1 << 27;

/// An SR policy to reach a PE: segments visited before its END.CL SID, first hop first
/// (figure 3's "OutInt: Policy 1").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    segs: [Ipv6Addr; MAX_POLICY_SEGMENTS],
    len: u8,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            segs: [Ipv6Addr::UNSPECIFIED; MAX_POLICY_SEGMENTS],
            len: 0,
        }
    }
}

impl Policy {
    /// A policy of at most [`MAX_POLICY_SEGMENTS`] segments (`None` if longer).
    pub fn new(segments: &[Ipv6Addr]) -> Option<Policy> {
        let mut p = Policy::default();
        p.segs.get_mut(..segments.len())?.copy_from_slice(segments);
        p.len = segments.len() as u8;
        Some(p)
    }

    /// The segments, first hop first.
    #[inline]
    pub fn segments(&self) -> &[Ipv6Addr] {
        &self.segs[..usize::from(self.len).min(MAX_POLICY_SEGMENTS)]
    }

    /// True for the empty policy (the END.CL SID is routed natively).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// How a Global FIB candidate is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeNextHop {
    /// This node: END.CG hands the packet to its own Local FIB.
    Local,
    /// Another PE: encapsulate to its SID (END.CL, or END.C in a flat deployment).
    Remote {
        /// The PE's SID block; the argument is the service ID.
        sid: SidPrefix,
        /// Where the encapsulated packet leaves.
        adjacency: Adjacency,
        /// Segments before the SID (an SRH is added when not empty).
        policy: Policy,
    },
}

/// An egress PE of the Global FIB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pe {
    /// Stable identifier (the control plane's; flows remember it).
    pub id: u32,
    /// False: never chosen (withdrawn, unreachable).
    pub up: bool,
    /// How to reach it.
    pub next_hop: PeNextHop,
}

impl Pe {
    /// A live remote PE.
    pub fn remote(id: u32, sid: SidPrefix, adjacency: Adjacency) -> Pe {
        Pe {
            id,
            up: true,
            next_hop: PeNextHop::Remote {
                sid,
                adjacency,
                policy: Policy::default(),
            },
        }
    }

    /// This node, as a live PE.
    pub fn local(id: u32) -> Pe {
        Pe {
            id,
            up: true,
            next_hop: PeNextHop::Local,
        }
    }

    /// True when the PE is this node.
    #[inline]
    pub fn is_local(&self) -> bool {
        matches!(self.next_hop, PeNextHop::Local)
    }
}

/// A service instance of the Local FIB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Instance {
    /// Stable identifier (flows remember it).
    pub id: u32,
    /// False: failed; never chosen, and flows pinned to it choose again.
    pub up: bool,
    /// The interface (port and MACs) the instance is behind.
    pub adjacency: Adjacency,
    /// The instance's own address: when set, the packet's destination is rewritten to it
    /// (figure 4's last hop); else it is delivered with its destination unchanged.
    pub address: Option<Ipv6Addr>,
}

impl Instance {
    /// A live instance behind `adjacency`, without address rewrite.
    pub fn new(id: u32, adjacency: Adjacency) -> Instance {
        Instance {
            id,
            up: true,
            adjacency,
            address: None,
        }
    }
}

/// What a FIB candidate points at.
pub trait Target: Copy {
    /// Stable identifier.
    fn id(&self) -> u32;
    /// May be chosen.
    fn up(&self) -> bool;
}

impl Target for Pe {
    #[inline]
    fn id(&self) -> u32 {
        self.id
    }
    #[inline]
    fn up(&self) -> bool {
        self.up
    }
}

impl Target for Instance {
    #[inline]
    fn id(&self) -> u32 {
        self.id
    }
    #[inline]
    fn up(&self) -> bool {
        self.up
    }
}

/// One candidate of a service: a target and its metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// Index of the target in the FIB.
    pub index: u32,
    /// The control plane's metric (lower is better).
    pub metric: u32,
}

/// What fills a candidate array before the routes are written in.
const NO_CANDIDATE: Candidate = Candidate {
    index: u32::MAX,
    metric: u32::MAX,
};

/// An error building a FIB.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FibError {
    /// Two targets with one ID.
    #[error("target id {0} given twice")]
    DuplicateTarget(u32),
    /// A route to a target that was not added.
    #[error("service {service} names target {target}, which does not exist")]
    UnknownTarget {
        /// The service.
        service: ServiceId,
        /// The target ID.
        target: u32,
    },
    /// The same target twice for one service.
    #[error("service {service} lists target {target} twice")]
    DuplicateRoute {
        /// The service.
        service: ServiceId,
        /// The target ID.
        target: u32,
    },
    /// Too many candidates for one service.
    #[error("service {service} has {count} candidates (max {MAX_CANDIDATES})")]
    TooManyCandidates {
        /// The service.
        service: ServiceId,
        /// How many.
        count: usize,
    },
    /// The FIB as a whole is too large.
    #[error("{0} routes in one FIB (max {MAX_ARENA})")]
    TooLarge(usize),
}

/// A frozen service FIB over targets `T` (module docs).
#[derive(Clone, Debug)]
pub struct Fib<T> {
    map: ExactMap<u32>,
    cands: HugeArray<Candidate>,
    targets: Box<[T]>,
}

/// service ID → egress PEs.
pub type GlobalFib = Fib<Pe>;
/// service ID → local instances.
pub type LocalFib = Fib<Instance>;

impl<T> Default for Fib<T> {
    fn default() -> Self {
        Fib {
            map: ExactMap::empty(),
            cands: HugeArray::filled(0, NO_CANDIDATE),
            targets: Box::new([]),
        }
    }
}

#[inline]
const fn pack(start: usize, len: usize) -> u32 {
    ((start as u32) << 5) | (len as u32 - 1)
}

impl<T: Target> Fib<T> {
    /// A builder.
    pub fn builder() -> FibBuilder<T> {
        FibBuilder {
            targets: Vec::new(),
            routes: Vec::new(),
        }
    }

    /// A FIB without services.
    pub fn empty() -> Self {
        Self::default()
    }

    /// The candidates of `service`, best metric first.
    #[inline]
    pub fn candidates(&self, service: ServiceId) -> Option<&[Candidate]> {
        let v = self.map.get(service)? as usize;
        let start = v >> 5;
        let len = (v & 31) + 1;
        self.cands.get(start..start + len)
    }

    /// Starts fetching the index slot of `service` (the first cache miss of
    /// [`Fib::candidates`]), so that a lookup a little later does not wait for memory.
    #[inline]
    pub fn prefetch(&self, service: ServiceId) {
        self.map.prefetch(service);
    }

    /// The target a candidate points at.
    #[inline]
    pub fn target(&self, c: &Candidate) -> Option<&T> {
        self.targets.get(c.index as usize)
    }

    /// Every target.
    pub fn targets(&self) -> &[T] {
        &self.targets
    }

    /// Number of services.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True without services.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The exact-match index (for its statistics).
    pub fn index(&self) -> &ExactMap<u32> {
        &self.map
    }

    /// Among `cands`, the live target of ID `id` (the affinity check), with its metric.
    #[inline]
    pub fn live(&self, cands: &[Candidate], id: u32) -> Option<(u32, &T)> {
        cands.iter().find_map(|c| {
            let t = self.target(c)?;
            (t.id() == id && t.up()).then_some((c.metric, t))
        })
    }

    /// [`Fib::live`] with the target's index in [`Fib::targets`] instead of the metric.
    #[inline]
    pub fn live_index(&self, cands: &[Candidate], id: u32) -> Option<(u32, &T)> {
        cands.iter().find_map(|c| {
            let t = self.target(c)?;
            (t.id() == id && t.up()).then_some((c.index, t))
        })
    }

    /// The target at `index` of [`Fib::targets`].
    #[inline]
    pub fn target_at(&self, index: u32) -> Option<&T> {
        self.targets.get(index as usize)
    }

    /// The best live target of `cands` that passes `keep`: the lowest metric; among
    /// equal metrics, the `pick % n`-th. Returns the metric too.
    #[inline]
    pub fn best_where(
        &self,
        cands: &[Candidate],
        pick: u32,
        keep: impl Fn(&T) -> bool,
    ) -> Option<(u32, &T)> {
        let usable = |c: &&Candidate| self.target(c).is_some_and(|t| t.up() && keep(t));
        let best = cands.iter().find(usable)?.metric;
        // Candidates are sorted by metric: the tied ones are one run.
        let tied = || {
            cands
                .iter()
                .skip_while(|c| c.metric < best)
                .take_while(|c| c.metric == best)
                .filter(usable)
        };
        let n = tied().count() as u32;
        let c = tied().nth((pick % n.max(1)) as usize)?;
        Some((c.metric, self.target(c)?))
    }

    /// The best live target of `cands` ([`Fib::best_where`] without a filter).
    #[inline]
    pub fn best(&self, cands: &[Candidate], pick: u32) -> Option<(u32, &T)> {
        self.best_where(cands, pick, |_| true)
    }
}

/// Collects targets and routes, then freezes them into a [`Fib`].
#[derive(Clone, Debug)]
pub struct FibBuilder<T> {
    targets: Vec<T>,
    routes: Vec<(ServiceId, u32, u32)>,
}

impl<T: Target> FibBuilder<T> {
    /// Adds a target (a PE or an instance), refusing a second one with the same ID.
    pub fn target(&mut self, t: T) -> Result<&mut Self, FibError> {
        if self.targets.iter().any(|x| x.id() == t.id()) {
            return Err(FibError::DuplicateTarget(t.id()));
        }
        self.targets.push(t);
        Ok(self)
    }

    /// Offers `service` at target `target` with `metric`.
    pub fn route(
        &mut self,
        service: ServiceId,
        target: u32,
        metric: u32,
    ) -> Result<&mut Self, FibError> {
        let index = self
            .targets
            .iter()
            .position(|t| t.id() == target)
            .ok_or(FibError::UnknownTarget { service, target })?;
        self.routes.push((service, index as u32, metric));
        Ok(self)
    }

    /// Freezes the FIB.
    pub fn freeze(mut self) -> Result<Fib<T>, FibError> {
        if self.routes.len() > MAX_ARENA {
            return Err(FibError::TooLarge(self.routes.len()));
        }
        let id = |i: u32| self.targets[i as usize].id();
        self.routes.sort_unstable_by_key(|r| (r.0, r.1));
        if let Some(w) = self
            .routes
            .windows(2)
            .find(|w| w[0].0 == w[1].0 && w[0].1 == w[1].1)
        {
            return Err(FibError::DuplicateRoute {
                service: w[0].0,
                target: id(w[0].1),
            });
        }
        self.routes.sort_unstable_by_key(|r| (r.0, r.2, id(r.1)));
        // On a recycled huge-page mapping of its own (a replaced FIB's, typically): no
        // page faults, no khugepaged collapse under the workers, nothing unmapped.
        let mut cands = HugeArray::filled(self.routes.len(), NO_CANDIDATE);
        let mut filled = 0;
        let mut index = Vec::new();
        for run in self.routes.chunk_by(|a, b| a.0 == b.0) {
            let service = run[0].0;
            if run.len() > MAX_CANDIDATES {
                return Err(FibError::TooManyCandidates {
                    service,
                    count: run.len(),
                });
            }
            index.push((service, pack(filled, run.len())));
            for (c, r) in cands[filled..].iter_mut().zip(run) {
                *c = Candidate {
                    index: r.1,
                    metric: r.2,
                };
            }
            filled += run.len();
        }
        let map = ExactMap::build(index).map_err(|_| FibError::TooLarge(self.routes.len()))?;
        Ok(Fib {
            map,
            cands,
            targets: self.targets.into_boxed_slice(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn adj(port: u16) -> Adjacency {
        Adjacency {
            port,
            ..Adjacency::default()
        }
    }

    /// PE 4's Local RIB of figure 6.
    fn pe4_local(up44: bool) -> LocalFib {
        let mut b = LocalFib::builder();
        for (id, metric) in [(41, 26), (42, 36), (43, 34), (44, 20)] {
            let mut i = Instance::new(id, adj(id as u16));
            i.up = id != 44 || up44;
            b.target(i).unwrap().route(1, id, metric).unwrap();
        }
        b.freeze().unwrap()
    }

    #[test]
    fn figure_6_local_choice() {
        let f = pe4_local(true);
        let c = f.candidates(1).unwrap();
        assert_eq!(
            c.iter().map(|c| c.metric).collect::<Vec<_>>(),
            vec![20, 26, 34, 36]
        );
        assert_eq!(f.best(c, 0).unwrap().1.id, 44);
        let f = pe4_local(false);
        let c = f.candidates(1).unwrap();
        assert_eq!(f.best(c, 12345).unwrap(), (26, &f.targets()[0]));
        assert_eq!(f.live(c, 44), None, "failed instance is not live");
        assert_eq!(f.live(c, 43).unwrap().0, 34);
        assert_eq!(f.candidates(2), None);
        assert_eq!(f.len(), 1);
    }

    #[test]
    fn ties_split_by_hash_and_filters_apply() {
        let mut b = GlobalFib::builder();
        b.target(Pe::local(1)).unwrap();
        for id in [2, 3] {
            b.target(Pe::remote(id, SidPrefix([id as u8; 12]), adj(id as u16)))
                .unwrap();
        }
        b.route(7, 1, 10).unwrap();
        b.route(7, 2, 10).unwrap();
        b.route(7, 3, 10).unwrap();
        let f = b.freeze().unwrap();
        let c = f.candidates(7).unwrap();
        let ids: Vec<u32> = (0..3).map(|p| f.best(c, p).unwrap().1.id).collect();
        assert_eq!(ids, vec![1, 2, 3]);
        let remote = |p: u32| f.best_where(c, p, |t| !t.is_local()).unwrap().1.id;
        assert_eq!((remote(0), remote(1), remote(2)), (2, 3, 2));
    }

    #[test]
    fn builder_errors() {
        let mut b = LocalFib::builder();
        b.target(Instance::new(1, adj(0))).unwrap();
        assert_eq!(
            b.target(Instance::new(1, adj(1))).unwrap_err(),
            FibError::DuplicateTarget(1)
        );
        assert_eq!(
            b.route(5, 2, 0).unwrap_err(),
            FibError::UnknownTarget {
                service: 5,
                target: 2
            }
        );
        b.route(5, 1, 0).unwrap().route(5, 1, 3).unwrap();
        assert_eq!(
            b.clone().freeze().unwrap_err(),
            FibError::DuplicateRoute {
                service: 5,
                target: 1
            }
        );
        let mut b = LocalFib::builder();
        for id in 0..33 {
            b.target(Instance::new(id, adj(0)))
                .unwrap()
                .route(9, id, id)
                .unwrap();
        }
        assert_eq!(
            b.freeze().unwrap_err(),
            FibError::TooManyCandidates {
                service: 9,
                count: 33
            }
        );
        assert!(Policy::new(&[Ipv6Addr::LOCALHOST; 5]).is_none());
        let p = Policy::new(&[Ipv6Addr::LOCALHOST; 2]).unwrap();
        assert_eq!(p.segments().len(), 2);
        assert!(!p.is_empty());
        assert!(Policy::default().is_empty());
        assert!(LocalFib::empty().is_empty());
    }

    proptest! {
        /// Lookups and best choices against a BTreeMap and a plain minimum.
        #[test]
        fn matches_a_btreemap_reference(
            targets in proptest::collection::vec(any::<bool>(), 1..12),
            routes in proptest::collection::vec((0u32..50, 0usize..12, 0u32..6), 0..200),
            pick in any::<u32>(),
        ) {
            let mut b = LocalFib::builder();
            for (id, up) in targets.iter().enumerate() {
                let mut i = Instance::new(id as u32, adj(id as u16));
                i.up = *up;
                b.target(i).unwrap();
            }
            let mut reference: BTreeMap<u32, BTreeMap<u32, u32>> = BTreeMap::new();
            for (s, t, m) in routes {
                let t = (t % targets.len()) as u32;
                if reference.entry(s).or_default().len() < MAX_CANDIDATES
                    && !reference[&s].contains_key(&t)
                {
                    reference.get_mut(&s).unwrap().insert(t, m);
                    b.route(s, t, m).unwrap();
                }
            }
            let f = b.freeze().unwrap();
            for s in 0..55u32 {
                match reference.get(&s) {
                    None => prop_assert!(f.candidates(s).is_none()),
                    Some(r) => {
                        let c = f.candidates(s).unwrap();
                        prop_assert_eq!(c.len(), r.len());
                        let live: Vec<(u32, u32)> = r
                            .iter()
                            .filter(|(t, _)| targets[**t as usize])
                            .map(|(t, m)| (*m, *t))
                            .collect();
                        let best = live.iter().map(|x| x.0).min();
                        let got = f.best(c, pick);
                        prop_assert_eq!(got.map(|g| g.0), best);
                        if let Some((m, t)) = got {
                            prop_assert!(live.contains(&(m, t.id)));
                        }
                        for t in 0..targets.len() as u32 {
                            let want = r.get(&t).filter(|_| targets[t as usize]).copied();
                            prop_assert_eq!(f.live(c, t).map(|x| x.0), want);
                        }
                    }
                }
            }
        }
    }
}
