//! The SLA-constrained path search for SRoU segment lists (seed `000_*`: the ingress
//! "execute[s] A* algorithm to search the candidate path which meet the SLA requirement").
//!
//! # The problem
//!
//! Find a path from `source` to `target` of least total **delay** such that
//!
//! - total delay `<= max_delay_us`,
//! - total jitter `<= max_jitter_us` (jitter is taken as additive, a conservative bound),
//! - end-to-end loss `1 - prod(1 - loss_i) <= max_loss`, and
//! - every edge has `bandwidth_kbps >= min_bandwidth_kbps` (edges below are pruned).
//!
//! With two or more additive constraints this is the resource-constrained shortest path
//! problem, NP-hard in general. [`SlaSearch`] solves it *exactly* by label setting in A*
//! order:
//!
//! - a *label* is a partial path: its node, delay, jitter and delivery ratio
//!   `prod(1 - loss_i)`; labels are expanded in order of `delay + h(node)`, where `h` is
//!   the least delay from the node to the target (one reverse Dijkstra over the edges that
//!   meet the bandwidth demand): admissible and consistent, so the first label popped at
//!   the target has the least delay of all feasible paths;
//! - a new label is dropped when it cannot meet the SLA even along the best completion
//!   (delay + least delay to go, jitter + least jitter to go, delivery times the best
//!   delivery to go), and when another label at the same node is at least as good on
//!   delay, jitter and delivery (*dominance*); a label dominated by a new one is
//!   discarded. What is kept at each node is a Pareto set, which is why the search is
//!   exact where a single label per node (plain Dijkstra/A*) would not be;
//! - the jitter and delivery bounds to go take two more reverse searches that only prune,
//!   so they are computed once the search has created `node_count / 8 + 64` labels
//!   ([`SlaSearch::set_bounds_after`]): an easy query costs one reverse search. Every
//!   reverse search stops at the SLA's bound (a node farther than `max_delay_us` from the
//!   target is pruned anyway), so it costs about the ball of that radius around the
//!   target, not the whole graph;
//! - a cycle never improves any criterion, so every label describes a simple path, and
//!   the optimum over simple paths is found.
//!
//! The number of Pareto labels can grow exponentially in pathological graphs: the search
//! creates at most a **label budget** of labels ([`DEFAULT_LABEL_BUDGET`], or
//! [`SlaSearch::with_budget`]) and fails with [`SlaError::LabelBudgetExceeded`] past it.
//! That error means "undecided", never "no path": the caller may relax the SLA, raise the
//! budget or fall back to a heuristic. A label takes 48 bytes and its heap entry 32, so
//! the default budget bounds a search at about 80 MiB.
//!
//! Loss arithmetic is `f64`: a path's delivery ratio is the product of `1 - loss_ppm / 1e6`
//! over its edges **in path order**, its loss `1 - delivery`, compared with `max_loss` as
//! is. Pruning against the best delivery to go keeps a margin of 1e-9 so that rounding can
//! never drop a feasible path.
//!
//! The answer is canonical: among feasible paths of least delay, the least jitter, then
//! the least loss. Besides it, [`SlaSearch::alternatives`] returns the first `k` of the
//! Pareto set of feasible paths on (delay, jitter, loss), by increasing delay: for
//! instance a slightly slower path with much less jitter.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::graph::{delivery, Cols, EdgeId, Graph, NodeId};
use super::spf::UNREACHABLE;

/// Labels a search may create unless told otherwise.
pub const DEFAULT_LABEL_BUDGET: usize = 1 << 20;

/// Margin of the delivery-to-go pruning (see the [module documentation](self)).
const DELIVERY_SLACK: f64 = 1e-9;

const NONE: u32 = u32::MAX;

/// The service level a path must meet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sla {
    /// Most total delay, microseconds.
    pub max_delay_us: u64,
    /// Most total jitter, microseconds (jitter adds up along the path).
    pub max_jitter_us: u64,
    /// Most end-to-end loss, a fraction in `0.0..=1.0` (`1 - prod(1 - loss_i)`).
    pub max_loss: f64,
    /// Least available bandwidth on every edge, kbit/s.
    pub min_bandwidth_kbps: u64,
}

impl Default for Sla {
    /// No constraint at all: the least-delay path.
    fn default() -> Self {
        Sla {
            max_delay_us: u64::MAX,
            max_jitter_us: u64::MAX,
            max_loss: 1.0,
            min_bandwidth_kbps: 0,
        }
    }
}

/// A path that meets the SLA, with its totals.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaPath {
    /// Nodes from source to target.
    pub nodes: Vec<NodeId>,
    /// Edges taken (one fewer than `nodes`; tells parallel edges apart).
    pub edges: Vec<EdgeId>,
    /// Total delay, microseconds.
    pub delay_us: u64,
    /// Total jitter, microseconds.
    pub jitter_us: u64,
    /// End-to-end loss, `1 - prod(1 - loss_i)` in path order.
    pub loss: f64,
    /// The smallest available bandwidth along it, kbit/s (`u64::MAX` for the empty path).
    pub bandwidth_kbps: u64,
    /// Sum of the IGP metrics.
    pub metric: u64,
}

/// Why a search gave no answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SlaError {
    /// A node id the graph does not have.
    #[error("node {id} is not in the graph ({count} nodes)")]
    UnknownNode {
        /// The id given.
        id: NodeId,
        /// Nodes in the graph.
        count: usize,
    },
    /// `max_loss` is negative or not a number.
    #[error("max_loss must be a fraction 0.0..=1.0, got {0}")]
    BadLossBound(f64),
    /// The search needed more labels than its budget: whether a path meets the SLA is not
    /// known (not "no path").
    #[error("SLA search gave up after {budget} labels (the answer is unknown, not 'no path')")]
    LabelBudgetExceeded {
        /// The budget.
        budget: usize,
    },
}

/// A partial path (see the [module documentation](self)).
#[derive(Debug, Clone, Copy)]
struct Label {
    delay: u64,
    jitter: u64,
    delivery: f64,
    node: NodeId,
    /// Edge into `node` (`NONE` for the source label).
    edge: EdgeId,
    parent: u32,
    /// Next label in `node`'s Pareto set.
    next: u32,
    alive: bool,
}

/// Heap key: least `delay + h` first, then least jitter, then best delivery, then the
/// oldest label (deterministic).
type Key = Reverse<(u64, u64, u64, u32)>;

/// The search workspace (reuse it to keep its memory between queries).
#[derive(Debug)]
pub struct SlaSearch {
    budget: usize,
    labels: Vec<Label>,
    heads: Vec<u32>,
    open: BinaryHeap<Key>,
    to_go_delay: Vec<u64>,
    to_go_jitter: Vec<u64>,
    to_go_delivery: Vec<f64>,
    /// Labels after which the jitter and delivery bounds are computed (`None`: default).
    bounds_after: Option<usize>,
    dheap: BinaryHeap<Reverse<(u64, NodeId)>>,
    pheap: BinaryHeap<(u64, NodeId)>,
}

impl Default for SlaSearch {
    fn default() -> Self {
        Self::with_budget(DEFAULT_LABEL_BUDGET)
    }
}

impl SlaSearch {
    /// A workspace with the default label budget.
    pub fn new() -> Self {
        Self::default()
    }

    /// A workspace whose searches create at most `budget` labels.
    pub fn with_budget(budget: usize) -> Self {
        SlaSearch {
            budget,
            labels: Vec::new(),
            heads: Vec::new(),
            open: BinaryHeap::new(),
            to_go_delay: Vec::new(),
            to_go_jitter: Vec::new(),
            to_go_delivery: Vec::new(),
            bounds_after: None,
            dheap: BinaryHeap::new(),
            pheap: BinaryHeap::new(),
        }
    }

    /// When to compute the jitter and loss bounds to go (two more reverse searches, which
    /// only prune): once a search has created `labels` labels. The default, `None`, is
    /// `node_count / 8 + 64`, where the search starts to cost about as much as those
    /// searches; `Some(0)` computes them up front, `Some(usize::MAX)` never. The answers
    /// are the same whatever the setting (the bounds only prune what cannot meet the SLA).
    pub fn set_bounds_after(&mut self, labels: Option<usize>) {
        self.bounds_after = labels;
    }

    /// Labels the last search created (its cost).
    pub fn labels_created(&self) -> usize {
        self.labels.len()
    }

    /// The least-delay path from `source` to `target` that meets `sla`; among paths of equal
    /// delay, the one of least jitter, then least loss (so the totals of the answer are
    /// unique). `Ok(None)` when no path meets the SLA.
    pub fn best(
        &mut self,
        g: &Graph,
        source: NodeId,
        target: NodeId,
        sla: &Sla,
    ) -> Result<Option<SlaPath>, SlaError> {
        Ok(self.alternatives(g, source, target, sla, 1)?.pop())
    }

    /// The first `k` paths of the Pareto set of the paths that meet `sla` (no two with
    /// the same totals, none with at least as much delay, jitter and loss as another), by
    /// increasing delay, then jitter, then loss; the first is [`best`](SlaSearch::best)'s.
    /// Empty when none meets the SLA.
    pub fn alternatives(
        &mut self,
        g: &Graph,
        source: NodeId,
        target: NodeId,
        sla: &Sla,
        k: usize,
    ) -> Result<Vec<SlaPath>, SlaError> {
        for id in [source, target] {
            if !g.contains(id) {
                return Err(SlaError::UnknownNode {
                    id,
                    count: g.node_count(),
                });
            }
        }
        if sla.max_loss.is_nan() || sla.max_loss < 0.0 {
            return Err(SlaError::BadLossBound(sla.max_loss));
        }
        self.labels.clear();
        self.open.clear();
        if k == 0 {
            return Ok(Vec::new());
        }
        let c = g.cols();
        let n = g.node_count();
        reverse_bounded(
            g,
            c,
            target,
            sla.min_bandwidth_kbps,
            c.delay,
            sla.max_delay_us,
            &mut self.to_go_delay,
            &mut self.dheap,
        );
        if self.to_go_delay[source as usize] == UNREACHABLE {
            return Ok(Vec::new());
        }
        // No jitter or delivery bounds to go yet: 0 and 1 are trivially admissible.
        self.to_go_jitter.clear();
        self.to_go_jitter.resize(n, 0);
        self.to_go_delivery.clear();
        self.to_go_delivery.resize(n, 1.0);
        let bounds_after = self.bounds_after.unwrap_or(n / 8 + 64);
        let mut have_bounds = false;
        self.heads.clear();
        self.heads.resize(g.node_count(), NONE);

        self.push(
            sla,
            target,
            Label {
                delay: 0,
                jitter: 0,
                delivery: 1.0,
                node: source,
                edge: NONE,
                parent: NONE,
                next: NONE,
                alive: true,
            },
        )?;
        // Target labels popped; once k of them are alive, the labels still to come all have
        // more delay (f never decreases along the search), so only those with the same
        // delay as the last one found can still dominate one of them: pop those too.
        let mut at_target: Vec<u32> = Vec::new();
        let mut last_delay = None;
        while let Some(&Reverse((f, _, _, i))) = self.open.peek() {
            if let Some(d) = last_delay {
                if f > d && self.alive(&at_target) >= k {
                    break;
                }
            }
            self.open.pop();
            if !have_bounds && self.labels.len() >= bounds_after {
                self.secondary_bounds(g, c, target, sla);
                have_bounds = true;
            }
            let l = self.labels[i as usize];
            if !l.alive {
                continue;
            }
            if l.node == target {
                at_target.push(i);
                last_delay = Some(l.delay);
                continue; // going on from the target only makes cycles
            }
            for e in c.out(l.node) {
                if c.bandwidth[e] < sla.min_bandwidth_kbps {
                    continue;
                }
                let next = Label {
                    delay: l.delay.saturating_add(u64::from(c.delay[e])),
                    jitter: l.jitter.saturating_add(u64::from(c.jitter[e])),
                    delivery: l.delivery * delivery(c.loss[e]),
                    node: c.to[e],
                    edge: e as EdgeId,
                    parent: i,
                    next: NONE,
                    alive: true,
                };
                self.push(sla, target, next)?;
            }
        }
        // Alive target labels are exactly the Pareto set found (a dominated one was either
        // refused or killed by the one dominating it).
        let mut found: Vec<SlaPath> = at_target
            .iter()
            .filter(|&&i| self.labels[i as usize].alive)
            .map(|&i| self.path(c, i))
            .collect();
        found.sort_by(|a, b| {
            (a.delay_us, a.jitter_us)
                .cmp(&(b.delay_us, b.jitter_us))
                .then(a.loss.total_cmp(&b.loss))
        });
        found.truncate(k);
        Ok(found)
    }

    fn alive(&self, labels: &[u32]) -> usize {
        labels
            .iter()
            .filter(|&&i| self.labels[i as usize].alive)
            .count()
    }

    /// Adds `l` unless it cannot meet the SLA or is dominated at its node.
    fn push(&mut self, sla: &Sla, target: NodeId, mut l: Label) -> Result<(), SlaError> {
        let v = l.node as usize;
        let hd = self.to_go_delay[v];
        let hj = self.to_go_jitter[v];
        if hd == UNREACHABLE
            || l.delay.saturating_add(hd) > sla.max_delay_us
            || l.jitter.saturating_add(hj) > sla.max_jitter_us
        {
            return Ok(());
        }
        let loss_ok = if l.node == target {
            1.0 - l.delivery <= sla.max_loss
        } else {
            1.0 - l.delivery * self.to_go_delivery[v] <= sla.max_loss + DELIVERY_SLACK
        };
        if !loss_ok {
            return Ok(());
        }
        // Dominance against the node's Pareto set; unlink what the new label dominates.
        let mut prev = NONE;
        let mut cur = self.heads[v];
        while cur != NONE {
            let q = self.labels[cur as usize];
            if q.delay <= l.delay && q.jitter <= l.jitter && q.delivery >= l.delivery {
                return Ok(());
            }
            if l.delay <= q.delay && l.jitter <= q.jitter && l.delivery >= q.delivery {
                self.labels[cur as usize].alive = false;
                if prev == NONE {
                    self.heads[v] = q.next;
                } else {
                    self.labels[prev as usize].next = q.next;
                }
            } else {
                prev = cur;
            }
            cur = q.next;
        }
        if self.labels.len() >= self.budget || self.labels.len() >= NONE as usize {
            return Err(SlaError::LabelBudgetExceeded {
                budget: self.budget,
            });
        }
        let i = self.labels.len() as u32;
        l.next = self.heads[v];
        self.heads[v] = i;
        self.labels.push(l);
        self.open.push(Reverse((
            l.delay + hd,
            l.jitter,
            u64::MAX - l.delivery.to_bits(),
            i,
        )));
        Ok(())
    }

    /// The path of label `i`, with its totals.
    fn path(&self, c: Cols<'_>, i: u32) -> SlaPath {
        let mut nodes = Vec::new();
        let mut edges = Vec::new();
        let mut cur = i;
        while cur != NONE {
            let l = self.labels[cur as usize];
            nodes.push(l.node);
            if l.edge != NONE {
                edges.push(l.edge);
            }
            cur = l.parent;
        }
        nodes.reverse();
        edges.reverse();
        let l = self.labels[i as usize];
        let metric = edges.iter().map(|&e| u64::from(c.metric[e as usize])).sum();
        let bandwidth_kbps = edges
            .iter()
            .map(|&e| c.bandwidth[e as usize])
            .min()
            .unwrap_or(u64::MAX);
        SlaPath {
            nodes,
            edges,
            delay_us: l.delay,
            jitter_us: l.jitter,
            loss: 1.0 - l.delivery,
            bandwidth_kbps,
            metric,
        }
    }

    /// Least jitter and best delivery from every node to `target` over the edges with
    /// enough bandwidth, each search stopped at the SLA's bound: a node left beyond it
    /// keeps a value that is also beyond it (a tentative distance, or none), so `push`
    /// prunes it just as it would with the exact value. An unbounded jitter or loss needs
    /// no search at all (the trivial bounds stay).
    fn secondary_bounds(&mut self, g: &Graph, c: Cols<'_>, target: NodeId, sla: &Sla) {
        let min_bw = sla.min_bandwidth_kbps;
        if sla.max_jitter_us != u64::MAX {
            reverse_bounded(
                g,
                c,
                target,
                min_bw,
                c.jitter,
                sla.max_jitter_us,
                &mut self.to_go_jitter,
                &mut self.dheap,
            );
        }
        if sla.max_loss >= 1.0 {
            return;
        }
        // Best delivery to go: factors are <= 1, so Dijkstra on the product (max first),
        // down to the least delivery the SLA allows.
        let best = &mut self.to_go_delivery;
        let floor = 1.0 - sla.max_loss - DELIVERY_SLACK;
        best.clear();
        best.resize(g.node_count(), -1.0);
        best[target as usize] = 1.0;
        self.pheap.clear();
        self.pheap.push((1.0f64.to_bits(), target));
        while let Some((bits, u)) = self.pheap.pop() {
            let p = f64::from_bits(bits);
            if p < floor {
                break;
            }
            if p != best[u as usize] {
                continue;
            }
            for &e in g.in_edge_ids(u) {
                let e = e as usize;
                if c.bandwidth[e] < min_bw {
                    continue;
                }
                let q = c.from[e] as usize;
                let np = p * delivery(c.loss[e]);
                if np > best[q] {
                    best[q] = np;
                    self.pheap.push((np.to_bits(), q as NodeId));
                }
            }
        }
    }
}

/// Dijkstra toward `target` over the reversed edges with enough bandwidth, weights `w`,
/// stopped once the nearest unsettled node is beyond `bound`.
#[allow(clippy::too_many_arguments)]
fn reverse_bounded(
    g: &Graph,
    c: Cols<'_>,
    target: NodeId,
    min_bw: u64,
    w: &[u32],
    bound: u64,
    out: &mut Vec<u64>,
    heap: &mut BinaryHeap<Reverse<(u64, NodeId)>>,
) {
    out.clear();
    out.resize(g.node_count(), UNREACHABLE);
    out[target as usize] = 0;
    heap.clear();
    heap.push(Reverse((0, target)));
    while let Some(Reverse((d, u))) = heap.pop() {
        if d > bound {
            break;
        }
        if d != out[u as usize] {
            continue;
        }
        for &e in g.in_edge_ids(u) {
            let e = e as usize;
            if c.bandwidth[e] < min_bw {
                continue;
            }
            let p = c.from[e] as usize;
            let nd = d + u64::from(w[e]);
            if nd < out[p] {
                out[p] = nd;
                heap.push(Reverse((nd, p as NodeId)));
            }
        }
    }
}

/// The least-delay path meeting `sla` with a fresh [`SlaSearch`] (default budget).
pub fn sla_path(
    g: &Graph,
    source: NodeId,
    target: NodeId,
    sla: &Sla,
) -> Result<Option<SlaPath>, SlaError> {
    SlaSearch::new().best(g, source, target, sla)
}

#[cfg(test)]
mod tests {
    use super::super::graph::{EdgeAttrs, GraphBuilder};
    use super::*;

    fn e(delay_us: u32, jitter_us: u32, loss_ppm: u32, bandwidth_kbps: u64) -> EdgeAttrs {
        EdgeAttrs {
            metric: 1,
            delay_us,
            jitter_us,
            loss_ppm,
            bandwidth_kbps,
        }
    }

    /// s -> t three ways:
    ///   fast:  s-a-t  delay 10, jitter 50, loss 1 %, 1 Gb/s
    ///   calm:  s-b-t  delay 20, jitter 4,  loss 0,   1 Gb/s
    ///   thin:  s-c-t  delay 15, jitter 2,  loss 0,   10 Mb/s
    fn three_ways() -> Graph {
        let mut b = GraphBuilder::new();
        for (f, t, a) in [
            ("s", "a", e(5, 25, 5_000, 1_000_000)),
            ("a", "t", e(5, 25, 5_000, 1_000_000)),
            ("s", "b", e(10, 2, 0, 1_000_000)),
            ("b", "t", e(10, 2, 0, 1_000_000)),
            ("s", "c", e(7, 1, 0, 10_000)),
            ("c", "t", e(8, 1, 0, 10_000)),
        ] {
            b.add_edge_by_name(f, t, a).unwrap();
        }
        b.build()
    }

    fn via(g: &Graph, p: &SlaPath) -> String {
        p.nodes
            .iter()
            .map(|&n| g.name(n).unwrap())
            .collect::<Vec<_>>()
            .join("-")
    }

    #[test]
    fn each_constraint_changes_the_answer() {
        let g = three_ways();
        let (s, t) = (g.node("s").unwrap(), g.node("t").unwrap());
        let best = |sla: Sla| sla_path(&g, s, t, &sla).unwrap().map(|p| via(&g, &p));
        assert_eq!(best(Sla::default()).as_deref(), Some("s-a-t"));
        let p = sla_path(&g, s, t, &Sla::default()).unwrap().unwrap();
        assert_eq!((p.delay_us, p.jitter_us, p.metric), (10, 50, 2));
        assert!((p.loss - (1.0 - 0.995 * 0.995)).abs() < 1e-15);
        assert_eq!(p.bandwidth_kbps, 1_000_000);
        assert_eq!(p.edges.len(), 2);
        let jitter = Sla {
            max_jitter_us: 10,
            ..Sla::default()
        };
        assert_eq!(best(jitter).as_deref(), Some("s-c-t"));
        let jitter_bw = Sla {
            min_bandwidth_kbps: 100_000,
            ..jitter
        };
        assert_eq!(best(jitter_bw).as_deref(), Some("s-b-t"));
        let loss = Sla {
            max_loss: 0.005,
            min_bandwidth_kbps: 100_000,
            ..Sla::default()
        };
        assert_eq!(best(loss).as_deref(), Some("s-b-t"));
        let loss_ok = Sla {
            max_loss: 0.01,
            ..loss
        };
        assert_eq!(best(loss_ok).as_deref(), Some("s-a-t"), "1 - 0.995^2 < 1 %");
        let tight = Sla {
            max_delay_us: 19,
            ..jitter_bw
        };
        assert_eq!(best(tight), None);
        let bw = Sla {
            min_bandwidth_kbps: 2_000_000,
            ..Sla::default()
        };
        assert_eq!(best(bw), None);
        // Source = target: the empty path.
        let p = sla_path(&g, s, s, &tight).unwrap().unwrap();
        assert_eq!((p.nodes, p.delay_us, p.loss), (vec![s], 0, 0.0));
    }

    #[test]
    fn alternatives_are_pareto_and_by_delay() {
        let g = three_ways();
        let (s, t) = (g.node("s").unwrap(), g.node("t").unwrap());
        let all = SlaSearch::new()
            .alternatives(&g, s, t, &Sla::default(), 5)
            .unwrap();
        let names: Vec<_> = all.iter().map(|p| via(&g, p)).collect();
        assert_eq!(names, ["s-a-t", "s-c-t"], "s-b-t is dominated by s-c-t");
        let wide = Sla {
            min_bandwidth_kbps: 100_000,
            ..Sla::default()
        };
        let all = SlaSearch::new().alternatives(&g, s, t, &wide, 5).unwrap();
        let names: Vec<_> = all.iter().map(|p| via(&g, p)).collect();
        assert_eq!(names, ["s-a-t", "s-b-t"]);
        assert!(SlaSearch::new()
            .alternatives(&g, s, t, &wide, 0)
            .unwrap()
            .is_empty());
    }

    /// Plain (single-label) Dijkstra on delay would keep only the fastest way into `m` and
    /// miss the feasible path: the label-setting search keeps both.
    #[test]
    fn keeps_pareto_labels_where_dijkstra_would_not() {
        let mut b = GraphBuilder::new();
        for (f, t, a) in [
            ("s", "x", e(1, 100, 0, 1)),
            ("s", "y", e(5, 1, 0, 1)),
            ("x", "m", e(1, 0, 0, 1)),
            ("y", "m", e(1, 0, 0, 1)),
            ("m", "t", e(1, 0, 0, 1)),
            ("x", "t", e(50, 0, 0, 1)),
        ] {
            b.add_edge_by_name(f, t, a).unwrap();
        }
        let g = b.build();
        let (s, t) = (g.node("s").unwrap(), g.node("t").unwrap());
        let sla = Sla {
            max_jitter_us: 10,
            ..Sla::default()
        };
        let p = sla_path(&g, s, t, &sla).unwrap().unwrap();
        assert_eq!(via(&g, &p), "s-y-m-t");
        assert_eq!((p.delay_us, p.jitter_us), (7, 1));
    }

    #[test]
    fn budget_and_errors() {
        // The memory figure of the module documentation.
        assert_eq!(std::mem::size_of::<Label>(), 48);
        assert_eq!(std::mem::size_of::<Key>(), 32);
        let g = three_ways();
        let (s, t) = (g.node("s").unwrap(), g.node("t").unwrap());
        let mut small = SlaSearch::with_budget(2);
        assert_eq!(
            small.best(&g, s, t, &Sla::default()),
            Err(SlaError::LabelBudgetExceeded { budget: 2 })
        );
        let mut w = SlaSearch::with_budget(100);
        assert!(w.best(&g, s, t, &Sla::default()).unwrap().is_some());
        assert!(w.labels_created() >= 3 && w.labels_created() <= 7);
        assert!(matches!(
            w.best(&g, s, 42, &Sla::default()),
            Err(SlaError::UnknownNode { id: 42, .. })
        ));
        let nan = Sla {
            max_loss: f64::NAN,
            ..Sla::default()
        };
        assert!(matches!(
            w.best(&g, s, t, &nan),
            Err(SlaError::BadLossBound(_))
        ));
        // Unreachable: t has no way back to s.
        assert_eq!(w.best(&g, t, s, &Sla::default()), Ok(None));
    }

    /// The jitter and loss bounds to go prune labels that the delay bound alone keeps:
    /// same answer, fewer labels.
    #[test]
    fn bounds_to_go_prune() {
        // s fans out to 20 nodes over cheap but jittery edges, each going on to t;
        // one calm path s-c-t is slower.
        let mut b = GraphBuilder::new();
        for i in 0..20 {
            let m = format!("m{i}");
            b.add_edge_by_name("s", &m, e(1, 1, 0, 1)).unwrap();
            b.add_edge_by_name(&m, "t", e(1, 100, 0, 1)).unwrap();
        }
        b.add_edge_by_name("s", "c", e(10, 1, 0, 1)).unwrap();
        b.add_edge_by_name("c", "t", e(10, 1, 0, 1)).unwrap();
        let g = b.build();
        let (s, t) = (g.node("s").unwrap(), g.node("t").unwrap());
        let sla = Sla {
            max_jitter_us: 10,
            ..Sla::default()
        };
        let run = |after| {
            let mut w = SlaSearch::new();
            w.set_bounds_after(after);
            let p = w.best(&g, s, t, &sla).unwrap().unwrap();
            (via(&g, &p), w.labels_created())
        };
        let (eager, lazy, never) = (run(Some(0)), run(None), run(Some(usize::MAX)));
        assert_eq!(eager.0, "s-c-t");
        assert_eq!((lazy.0.as_str(), never.0.as_str()), ("s-c-t", "s-c-t"));
        // Eager: the 20 jittery branches are pruned at once (s, c, t).
        assert_eq!(eager.1, 3);
        assert_eq!(never.1, 23);
        assert!(lazy.1 >= eager.1 && lazy.1 <= never.1);
    }

    /// A grid of equal edges has exponentially many equal paths: dominance keeps one
    /// label per node and the search stays linear.
    #[test]
    fn equal_paths_collapse() {
        let n = 30;
        let mut b = GraphBuilder::new();
        for i in 0..n {
            for j in 0..n {
                let here = format!("{i}.{j}");
                if i + 1 < n {
                    b.add_edge_by_name(&here, &format!("{}.{j}", i + 1), e(1, 1, 10, 1))
                        .unwrap();
                }
                if j + 1 < n {
                    b.add_edge_by_name(&here, &format!("{i}.{}", j + 1), e(1, 1, 10, 1))
                        .unwrap();
                }
            }
        }
        let g = b.build();
        let (s, t) = (g.node("0.0").unwrap(), g.node("29.29").unwrap());
        let mut w = SlaSearch::with_budget(10 * n * n);
        let p = w
            .best(
                &g,
                s,
                t,
                &Sla {
                    max_jitter_us: 58,
                    ..Sla::default()
                },
            )
            .unwrap()
            .unwrap();
        assert_eq!((p.delay_us, p.nodes.len()), (58, 59));
        assert!(w.labels_created() <= n * n, "{}", w.labels_created());
    }
}
