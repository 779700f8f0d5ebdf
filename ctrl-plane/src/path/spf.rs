//! Shortest path first over the IGP metric, with ECMP.
//!
//! [`Spf::run`] is Dijkstra from one source with a binary heap (lazy deletion): for every
//! node its distance and the set of *first hops*, the source's neighbours that begin at
//! least one shortest path to it (what an LFIB entry's ECMP set is made of), ascending by
//! [`NodeId`]. First-hop sets live in one pool: a node reached over a single predecessor
//! shares its predecessor's set (no copy); only a node with several shortest-path
//! predecessors gets a merged set of its own, computed once when it is settled. A run
//! allocates nothing per relaxation; [`Spf::run_into`] reuses a previous tree's memory.
//!
//! Anycast (seed `004_*`, section 3.4): [`SpfTree::nearest`] gives the distance to the
//! nearest member(s) of a set and the first hops over *all* equally near members (R1 of
//! the draft's figure 2 reaches A1 and A2 at the same cost, so it swaps 7100 for 1100
//! toward A1 or 2100 toward A2). [`Spf::run_to_set`] answers the same question for every
//! node at once: a reverse multi-source Dijkstra from the members, giving each node its
//! distance to the set and its next hops toward the nearest members.
//!
//! IGP metrics are 1 or more (the [`graph`](super::graph) refuses 0), so every
//! shortest-path predecessor of a node is settled before it, which is what makes the
//! one-pass first-hop computation exact. Distances are `u64`: no overflow for any path of
//! `u32` metrics in a graph of `u32` nodes.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::graph::{Graph, NodeId};

/// The distance of a node that cannot be reached.
pub const UNREACHABLE: u64 = u64::MAX;

/// `pred` marker: no predecessor yet.
const NO_PRED: u32 = u32::MAX;
/// `pred` marker: several shortest-path predecessors.
const MULTI_PRED: u32 = u32::MAX - 1;

/// A bad SPF request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpfError {
    /// A node id the graph does not have.
    #[error("node {id} is not in the graph ({count} nodes)")]
    UnknownNode {
        /// The id given.
        id: NodeId,
        /// Nodes in the graph.
        count: usize,
    },
}

fn check(g: &Graph, id: NodeId) -> Result<(), SpfError> {
    if g.contains(id) {
        Ok(())
    } else {
        Err(SpfError::UnknownNode {
            id,
            count: g.node_count(),
        })
    }
}

/// Node sets stored as `(start, len)` ranges of one pool.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct SetPool {
    range: Vec<(u32, u32)>,
    pool: Vec<NodeId>,
}

impl SetPool {
    fn reset(&mut self, n: usize) {
        self.range.clear();
        self.range.resize(n, (0, 0));
        self.pool.clear();
    }

    #[inline]
    fn get(&self, v: NodeId) -> &[NodeId] {
        match self.range.get(v as usize) {
            Some(&(a, l)) => &self.pool[a as usize..(a + l) as usize],
            None => &[],
        }
    }

    /// Sorts and deduplicates `pool[start..]` and makes it `v`'s set.
    fn seal(&mut self, v: NodeId, start: usize) {
        let tail = &mut self.pool[start..];
        tail.sort_unstable();
        let mut w = start;
        for r in start..self.pool.len() {
            if w == start || self.pool[r] != self.pool[w - 1] {
                self.pool[w] = self.pool[r];
                w += 1;
            }
        }
        self.pool.truncate(w);
        self.range[v as usize] = (start as u32, (w - start) as u32);
    }
}

/// The result of an SPF run from one source: distances and ECMP first hops.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpfTree {
    source: NodeId,
    dist: Vec<u64>,
    first: SetPool,
}

/// The nearest members of a set, seen from an SPF source ([`SpfTree::nearest`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nearest {
    /// Distance to the nearest member(s) (0 when the source is a member).
    pub distance: u64,
    /// Every member at that distance, ascending.
    pub members: Vec<NodeId>,
    /// The source's neighbours on the shortest paths to any of them, ascending (empty when
    /// the source is a member itself).
    pub first_hops: Vec<NodeId>,
}

impl SpfTree {
    /// The source of the run.
    pub fn source(&self) -> NodeId {
        self.source
    }

    /// Number of nodes of the graph it was computed on.
    pub fn node_count(&self) -> usize {
        self.dist.len()
    }

    /// Distance from the source to `v` (`None`: unreachable or not a node).
    #[inline]
    pub fn distance(&self, v: NodeId) -> Option<u64> {
        self.dist
            .get(v as usize)
            .copied()
            .filter(|&d| d != UNREACHABLE)
    }

    /// All distances, indexed by node ([`UNREACHABLE`] for nodes not reached).
    pub fn distances(&self) -> &[u64] {
        &self.dist
    }

    /// The source's neighbours that start a shortest path to `v`, ascending (empty for the
    /// source itself, an unreachable node or an unknown id).
    #[inline]
    pub fn first_hops(&self, v: NodeId) -> &[NodeId] {
        self.first.get(v)
    }

    /// The nearest of `members` (an anycast group): their distance, which members are that
    /// near, and the first hops over all of them. `None` when no member is reachable (or
    /// `members` is empty); unknown ids are ignored.
    pub fn nearest(&self, members: &[NodeId]) -> Option<Nearest> {
        let best = members.iter().filter_map(|&m| self.distance(m)).min()?;
        let mut near: Vec<NodeId> = members
            .iter()
            .copied()
            .filter(|&m| self.distance(m) == Some(best))
            .collect();
        near.sort_unstable();
        near.dedup();
        let mut first_hops: Vec<NodeId> = near
            .iter()
            .flat_map(|&m| self.first_hops(m).iter().copied())
            .collect();
        first_hops.sort_unstable();
        first_hops.dedup();
        Some(Nearest {
            distance: best,
            members: near,
            first_hops,
        })
    }
}

/// For every node: its distance to the nearest member of a set and its next hops toward
/// the nearest members ([`Spf::run_to_set`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetTree {
    dist: Vec<u64>,
    next: SetPool,
}

impl SetTree {
    /// Distance from `v` to the nearest member (0 for a member; `None`: no member can be
    /// reached from `v`, or `v` is not a node).
    #[inline]
    pub fn distance(&self, v: NodeId) -> Option<u64> {
        self.dist
            .get(v as usize)
            .copied()
            .filter(|&d| d != UNREACHABLE)
    }

    /// `v`'s neighbours on its shortest paths to the nearest members, ascending (empty for a
    /// member, a node that reaches none, or an unknown id).
    #[inline]
    pub fn next_hops(&self, v: NodeId) -> &[NodeId] {
        self.next.get(v)
    }
}

/// The SPF workspace: its heap and predecessor markers are kept between runs.
#[derive(Debug, Default)]
pub struct Spf {
    heap: BinaryHeap<Reverse<(u64, NodeId)>>,
    pred: Vec<u32>,
}

impl Spf {
    /// A new workspace.
    pub fn new() -> Self {
        Self::default()
    }

    /// Dijkstra from `source` with ECMP first hops.
    pub fn run(&mut self, g: &Graph, source: NodeId) -> Result<SpfTree, SpfError> {
        let mut t = SpfTree::default();
        self.run_into(g, source, &mut t)?;
        Ok(t)
    }

    /// [`run`](Spf::run), writing into `tree` (its memory is reused).
    pub fn run_into(
        &mut self,
        g: &Graph,
        source: NodeId,
        tree: &mut SpfTree,
    ) -> Result<(), SpfError> {
        check(g, source)?;
        let n = g.node_count();
        let c = g.cols();
        tree.source = source;
        tree.dist.clear();
        tree.dist.resize(n, UNREACHABLE);
        tree.first.reset(n);
        self.pred.clear();
        self.pred.resize(n, NO_PRED);
        self.heap.clear();
        let dist = &mut tree.dist;
        let first = &mut tree.first;
        let pred = &mut self.pred;

        dist[source as usize] = 0;
        self.heap.push(Reverse((0, source)));
        while let Some(Reverse((d, u))) = self.heap.pop() {
            let ui = u as usize;
            if d != dist[ui] {
                continue; // stale: u was improved after this push
            }
            // u is settled: every shortest-path predecessor of it already is (metrics > 0).
            if u != source {
                match pred[ui] {
                    p if p == source => {
                        let start = first.pool.len();
                        first.pool.push(u);
                        first.range[ui] = (start as u32, 1);
                    }
                    MULTI_PRED => {
                        let start = first.pool.len();
                        for &e in g.in_edge_ids(u) {
                            let e = e as usize;
                            let p = c.from[e];
                            let dp = dist[p as usize];
                            if dp != UNREACHABLE && dp + u64::from(c.metric[e]) == d {
                                if p == source {
                                    first.pool.push(u);
                                } else {
                                    let (a, l) = first.range[p as usize];
                                    first.pool.extend_from_within(a as usize..(a + l) as usize);
                                }
                            }
                        }
                        first.seal(u, start);
                    }
                    p => first.range[ui] = first.range[p as usize],
                }
            }
            for e in c.out(u) {
                let v = c.to[e];
                let vi = v as usize;
                let nd = d + u64::from(c.metric[e]);
                if nd < dist[vi] {
                    dist[vi] = nd;
                    pred[vi] = u;
                    self.heap.push(Reverse((nd, v)));
                } else if nd == dist[vi] && pred[vi] != u {
                    pred[vi] = MULTI_PRED;
                }
            }
        }
        Ok(())
    }

    /// For every node, the distance to the nearest of `members` and the next hops toward
    /// the nearest ones: Dijkstra over the reversed edges from all members at once. Empty
    /// `members`: every node unreachable.
    pub fn run_to_set(&mut self, g: &Graph, members: &[NodeId]) -> Result<SetTree, SpfError> {
        for &m in members {
            check(g, m)?;
        }
        let n = g.node_count();
        let c = g.cols();
        let mut dist = vec![UNREACHABLE; n];
        self.heap.clear();
        for &m in members {
            if dist[m as usize] != 0 {
                dist[m as usize] = 0;
                self.heap.push(Reverse((0, m)));
            }
        }
        while let Some(Reverse((d, u))) = self.heap.pop() {
            if d != dist[u as usize] {
                continue;
            }
            for &e in g.in_edge_ids(u) {
                let e = e as usize;
                let p = c.from[e] as usize;
                let nd = d + u64::from(c.metric[e]);
                if nd < dist[p] {
                    dist[p] = nd;
                    self.heap.push(Reverse((nd, p as NodeId)));
                }
            }
        }
        let mut next = SetPool::default();
        next.reset(n);
        for v in g.nodes() {
            let dv = dist[v as usize];
            if dv == 0 || dv == UNREACHABLE {
                continue;
            }
            let start = next.pool.len();
            for e in c.out(v) {
                let w = c.to[e];
                let dw = dist[w as usize];
                if dw != UNREACHABLE && dw + u64::from(c.metric[e]) == dv {
                    next.pool.push(w);
                }
            }
            next.seal(v, start);
        }
        Ok(SetTree { dist, next })
    }
}

/// One SPF run from `source` (a fresh [`Spf`] workspace).
pub fn spf(g: &Graph, source: NodeId) -> Result<SpfTree, SpfError> {
    Spf::new().run(g, source)
}

/// Every node's distance and next hops toward the nearest of `members` (a fresh [`Spf`]).
pub fn spf_to_set(g: &Graph, members: &[NodeId]) -> Result<SetTree, SpfError> {
    Spf::new().run_to_set(g, members)
}

#[cfg(test)]
mod tests {
    use super::super::graph::{EdgeAttrs, GraphBuilder};
    use super::*;
    use proptest::prelude::*;

    /// The draft's figure 2 (all metrics 1), nodes named as in the figure.
    fn figure2() -> Graph {
        let mut b = GraphBuilder::new();
        for (x, y) in [
            ("PE1", "R1"),
            ("PE2", "R1"),
            ("R1", "A1"),
            ("R1", "A2"),
            ("A1", "A3"),
            ("A1", "A4"),
            ("A2", "A3"),
            ("A2", "A4"),
            ("A3", "R3"),
            ("A4", "R3"),
            ("R3", "PE3"),
            ("R3", "PE4"),
        ] {
            b.add_bidirectional_by_name(x, y, EdgeAttrs::with_metric(1))
                .unwrap();
        }
        b.build()
    }

    fn names(g: &Graph, ids: &[NodeId]) -> Vec<String> {
        ids.iter()
            .map(|&i| g.name(i).unwrap().to_string())
            .collect()
    }

    #[test]
    fn figure2_ecmp() {
        let g = figure2();
        let id = |n| g.node(n).unwrap();
        let t = spf(&g, id("R1")).unwrap();
        assert_eq!(t.source(), id("R1"));
        assert_eq!(t.distance(id("R1")), Some(0));
        assert!(t.first_hops(id("R1")).is_empty());
        assert_eq!(t.distance(id("PE3")), Some(4));
        assert_eq!(names(&g, t.first_hops(id("PE3"))), ["A1", "A2"]);
        assert_eq!(names(&g, t.first_hops(id("A3"))), ["A1", "A2"]);
        assert_eq!(names(&g, t.first_hops(id("PE1"))), ["PE1"]);
        assert_eq!(names(&g, t.first_hops(id("A1"))), ["A1"]);
        let t = spf(&g, id("A1")).unwrap();
        assert_eq!(names(&g, t.first_hops(id("PE3"))), ["A3", "A4"]);
        assert_eq!(names(&g, t.first_hops(id("PE1"))), ["R1"]);
        // A1 -> A2: via R1, A3 or A4, all at 2.
        assert_eq!(t.distance(id("A2")), Some(2));
        assert_eq!(names(&g, t.first_hops(id("A2"))), ["R1", "A3", "A4"]);
    }

    #[test]
    fn figure2_anycast_nearest() {
        // Section 3.4: R1 reaches group A over A1 and A2.
        let g = figure2();
        let id = |n| g.node(n).unwrap();
        let group: Vec<NodeId> = ["A1", "A2", "A3", "A4"].iter().map(|n| id(n)).collect();
        let near = spf(&g, id("R1")).unwrap().nearest(&group).unwrap();
        assert_eq!(near.distance, 1);
        assert_eq!(names(&g, &near.members), ["A1", "A2"]);
        assert_eq!(names(&g, &near.first_hops), ["A1", "A2"]);
        let near = spf(&g, id("PE1")).unwrap().nearest(&group).unwrap();
        assert_eq!(
            (near.distance, names(&g, &near.first_hops)),
            (2, vec!["R1".into()])
        );
        // A member is its own nearest.
        let near = spf(&g, id("A3")).unwrap().nearest(&group).unwrap();
        assert_eq!((near.distance, near.members.clone()), (0, vec![id("A3")]));
        assert!(near.first_hops.is_empty());
        assert_eq!(spf(&g, id("A3")).unwrap().nearest(&[]), None);

        let to = spf_to_set(&g, &group).unwrap();
        assert_eq!(to.distance(id("R1")), Some(1));
        assert_eq!(names(&g, to.next_hops(id("R1"))), ["A1", "A2"]);
        assert_eq!(names(&g, to.next_hops(id("R3"))), ["A3", "A4"]);
        assert_eq!(to.distance(id("PE4")), Some(2));
        assert_eq!(to.distance(id("A4")), Some(0));
        assert!(to.next_hops(id("A4")).is_empty());
    }

    #[test]
    fn directed_unreachable_and_errors() {
        let mut b = GraphBuilder::new();
        b.add_edge_by_name("a", "b", EdgeAttrs::with_metric(5))
            .unwrap();
        b.add_edge_by_name("b", "c", EdgeAttrs::with_metric(5))
            .unwrap();
        b.add_edge_by_name("a", "c", EdgeAttrs::with_metric(20))
            .unwrap();
        b.add_node("island").unwrap();
        let g = b.build();
        let t = spf(&g, 0).unwrap();
        assert_eq!(t.distance(2), Some(10));
        assert_eq!(t.first_hops(2), &[1]);
        assert_eq!(t.distance(3), None);
        assert!(t.first_hops(3).is_empty());
        assert_eq!(t.distance(99), None);
        // Edges are directed: nothing comes back to a.
        let t = spf(&g, 2).unwrap();
        assert_eq!(t.distance(0), None);
        assert_eq!(
            spf(&g, 4).unwrap_err().to_string(),
            "node 4 is not in the graph (4 nodes)"
        );
        assert!(spf_to_set(&g, &[1, 9]).is_err());
        let to = spf_to_set(&g, &[]).unwrap();
        assert_eq!(to.distance(0), None);
    }

    #[test]
    fn parallel_edges_and_shared_first_hop_sets() {
        // s -> x twice (3 and 2); x -> y; s -> z -> y at the same cost as via x.
        let mut b = GraphBuilder::new();
        for (f, t, m) in [
            ("s", "x", 3),
            ("s", "x", 2),
            ("x", "y", 2),
            ("s", "z", 1),
            ("z", "y", 3),
            ("y", "w", 1),
        ] {
            b.add_edge_by_name(f, t, EdgeAttrs::with_metric(m)).unwrap();
        }
        let g = b.build();
        let id = |n| g.node(n).unwrap();
        let mut w = Spf::new();
        let mut t = SpfTree::default();
        w.run_into(&g, id("s"), &mut t).unwrap();
        assert_eq!(t.distance(id("x")), Some(2));
        assert_eq!(names(&g, t.first_hops(id("x"))), ["x"]);
        assert_eq!(t.distance(id("y")), Some(4));
        assert_eq!(names(&g, t.first_hops(id("y"))), ["x", "z"]);
        assert_eq!(names(&g, t.first_hops(id("w"))), ["x", "z"]);
        // Reuse the workspace and the tree from another source.
        w.run_into(&g, id("z"), &mut t).unwrap();
        assert_eq!(t.distance(id("w")), Some(4));
        assert_eq!(names(&g, t.first_hops(id("w"))), ["y"]);
        assert_eq!(t.distance(id("s")), None);
    }

    /// A random graph description: node count and directed edges with metrics.
    fn arb_graph() -> impl Strategy<Value = (usize, Vec<(usize, usize, u32)>)> {
        (1usize..24).prop_flat_map(|n| {
            let edge = (0..n, 0..n, 1u32..6);
            (Just(n), proptest::collection::vec(edge, 0..n * 4))
        })
    }

    fn build(n: usize, edges: &[(usize, usize, u32)]) -> Graph {
        let mut b = GraphBuilder::new();
        for i in 0..n {
            b.add_node(&format!("n{i}")).unwrap();
        }
        for &(f, t, m) in edges {
            if f != t {
                b.add_edge(f as NodeId, t as NodeId, EdgeAttrs::with_metric(m))
                    .unwrap();
            }
        }
        b.build()
    }

    /// Plain Bellman-Ford over the edge list.
    fn bellman_ford(n: usize, edges: &[(usize, usize, u32)], s: usize) -> Vec<u64> {
        let mut d = vec![UNREACHABLE; n];
        d[s] = 0;
        for _ in 0..n {
            for &(f, t, m) in edges {
                if f != t && d[f] != UNREACHABLE && d[f] + u64::from(m) < d[t] {
                    d[t] = d[f] + u64::from(m);
                }
            }
        }
        d
    }

    proptest! {
        /// Distances equal Bellman-Ford's; the first hops of v are exactly the neighbours
        /// w of the source with metric(s, w) + d(w, v) == d(s, v) (Bellman-Ford from w).
        #[test]
        fn spf_matches_bellman_ford((n, edges) in arb_graph(), s in 0usize..24) {
            let s = s % n;
            let g = build(n, &edges);
            let t = spf(&g, s as NodeId).unwrap();
            let d = bellman_ford(n, &edges, s);
            let from_nb: Vec<(usize, u32, Vec<u64>)> = edges
                .iter()
                .filter(|&&(f, t, _)| f == s && t != s)
                .map(|&(_, w, m)| (w, m, bellman_ford(n, &edges, w)))
                .collect();
            for v in 0..n {
                let want = (d[v] != UNREACHABLE).then_some(d[v]);
                prop_assert_eq!(t.distance(v as NodeId), want, "distance to {}", v);
                let mut fh: Vec<NodeId> = from_nb
                    .iter()
                    .filter(|(_, m, dw)| {
                        v != s && dw[v] != UNREACHABLE && u64::from(*m) + dw[v] == d[v]
                    })
                    .map(|(w, _, _)| *w as NodeId)
                    .collect();
                fh.sort_unstable();
                fh.dedup();
                prop_assert_eq!(t.first_hops(v as NodeId), &fh[..], "first hops to {}", v);
            }
        }

        /// The reverse multi-source run agrees with each source's own SPF + nearest.
        #[test]
        fn to_set_matches_nearest(
            (n, edges) in arb_graph(),
            members in proptest::collection::vec(0usize..24, 0..4),
        ) {
            let g = build(n, &edges);
            let members: Vec<NodeId> = members.iter().map(|&m| (m % n) as NodeId).collect();
            let to = spf_to_set(&g, &members).unwrap();
            let mut w = Spf::new();
            for s in g.nodes() {
                let near = w.run(&g, s).unwrap().nearest(&members);
                prop_assert_eq!(to.distance(s), near.as_ref().map(|x| x.distance));
                let hops = near.map(|x| x.first_hops).unwrap_or_default();
                prop_assert_eq!(to.next_hops(s), &hops[..]);
            }
        }
    }
}
