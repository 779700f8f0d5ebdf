//! A compact directed graph of the link state: nodes by dense [`NodeId`] with a name map,
//! edges in compressed sparse rows (CSR) with their attributes stored column by column, so
//! that SPF touches only the targets and the IGP metrics.
//!
//! Every link direction is its own edge (a link state database advertises each direction
//! with its own metric, delay, loss and available bandwidth): [`GraphBuilder::add_edge`]
//! adds one direction, [`GraphBuilder::add_bidirectional`] both with the same attributes.
//! Parallel edges are kept (SPF uses the cheapest, the SLA search whichever fits); self
//! loops and zero IGP metrics are refused (an IGP metric is 1 or more, and zero-cost edges
//! would break the one-pass ECMP computation of [`super::spf`]).
//!
//! ```
//! use ctrl_plane::path::graph::{EdgeAttrs, GraphBuilder};
//! let mut b = GraphBuilder::new();
//! b.add_bidirectional_by_name("r1", "a1", EdgeAttrs::with_metric(10)).unwrap();
//! let g = b.build();
//! assert_eq!(g.node_count(), 2);
//! assert_eq!(g.edge_count(), 2);
//! ```

use std::collections::HashMap;
use std::ops::Range;

use serde::{Deserialize, Serialize};

/// A node: a dense index `0..node_count`.
pub type NodeId = u32;
/// An edge: a dense index `0..edge_count`, edges of one source node contiguous.
pub type EdgeId = u32;

/// Most nodes a graph may hold (ids `0..MAX_NODES`).
pub const MAX_NODES: u32 = u32::MAX - 2;

/// Loss is given in parts per million: this is 100 %.
pub const LOSS_PPM_MAX: u32 = 1_000_000;

/// The attributes of one edge (one direction of a link).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EdgeAttrs {
    /// IGP metric (1 or more), what SPF minimises.
    pub metric: u32,
    /// One-way delay, microseconds (what the SLA search minimises).
    #[serde(default)]
    pub delay_us: u32,
    /// Delay variation, microseconds (additive along a path, as the SLA search bounds it).
    #[serde(default)]
    pub jitter_us: u32,
    /// Packet loss in parts per million (`0..=1_000_000`).
    #[serde(default)]
    pub loss_ppm: u32,
    /// Available bandwidth, kbit/s (the SLA search prunes edges below its demand).
    #[serde(default = "unlimited_bandwidth")]
    pub bandwidth_kbps: u64,
}

fn unlimited_bandwidth() -> u64 {
    u64::MAX
}

impl EdgeAttrs {
    /// An edge with this IGP metric, no delay, jitter or loss, unlimited bandwidth.
    pub const fn with_metric(metric: u32) -> Self {
        EdgeAttrs {
            metric,
            delay_us: 0,
            jitter_us: 0,
            loss_ppm: 0,
            bandwidth_kbps: u64::MAX,
        }
    }

    /// The fraction of packets this edge delivers, `1 - loss_ppm / 1e6`.
    #[inline]
    pub fn delivery(&self) -> f64 {
        delivery(self.loss_ppm)
    }
}

/// `1 - loss_ppm / 1e6` in `f64`, the factor a path's delivery ratio is multiplied by.
#[inline]
pub fn delivery(loss_ppm: u32) -> f64 {
    1.0 - f64::from(loss_ppm) / 1e6
}

/// One direction of a link, by node names (the form the link state arrives in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// Advertising node.
    pub from: String,
    /// Neighbour.
    pub to: String,
    /// Its attributes.
    #[serde(flatten)]
    pub attrs: EdgeAttrs,
}

/// Why an edge or a graph cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// An IGP metric of 0.
    #[error("edge {from} -> {to}: IGP metric 0 (metrics are 1 or more)")]
    ZeroMetric {
        /// Source node name.
        from: String,
        /// Target node name.
        to: String,
    },
    /// A loss beyond 100 %.
    #[error("edge {from} -> {to}: loss {loss_ppm} ppm is beyond 1000000 (100 %)")]
    LossOutOfRange {
        /// Source node name.
        from: String,
        /// Target node name.
        to: String,
        /// The loss given.
        loss_ppm: u32,
    },
    /// An edge from a node to itself.
    #[error("edge {0} -> {0}: a self loop")]
    SelfLoop(String),
    /// A node id the builder did not hand out.
    #[error("node id {0} does not exist")]
    UnknownNode(NodeId),
    /// More nodes or edges than 32-bit ids can name.
    #[error("more than {0} {1}")]
    TooMany(u32, &'static str),
}

/// Collects nodes and edges, then [`build`](GraphBuilder::build)s the immutable [`Graph`].
#[derive(Debug, Default, Clone)]
pub struct GraphBuilder {
    names: Vec<String>,
    ids: HashMap<String, NodeId>,
    edges: Vec<(NodeId, NodeId, EdgeAttrs)>,
}

impl GraphBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// The id of node `name`, adding it if new (ids are handed out densely, in order).
    pub fn add_node(&mut self, name: &str) -> Result<NodeId, GraphError> {
        if let Some(&id) = self.ids.get(name) {
            return Ok(id);
        }
        // The two largest values are markers of the path algorithms.
        let id = NodeId::try_from(self.names.len())
            .ok()
            .filter(|&id| id < MAX_NODES)
            .ok_or(GraphError::TooMany(MAX_NODES, "nodes"))?;
        self.names.push(name.to_string());
        self.ids.insert(name.to_string(), id);
        Ok(id)
    }

    /// The id of an existing node.
    pub fn node(&self, name: &str) -> Option<NodeId> {
        self.ids.get(name).copied()
    }

    /// Number of nodes so far.
    pub fn node_count(&self) -> usize {
        self.names.len()
    }

    /// Adds the edge `from -> to`.
    pub fn add_edge(
        &mut self,
        from: NodeId,
        to: NodeId,
        attrs: EdgeAttrs,
    ) -> Result<EdgeId, GraphError> {
        let name = |id: NodeId| self.names[id as usize].clone();
        for id in [from, to] {
            if id as usize >= self.names.len() {
                return Err(GraphError::UnknownNode(id));
            }
        }
        if from == to {
            return Err(GraphError::SelfLoop(name(from)));
        }
        if attrs.metric == 0 {
            return Err(GraphError::ZeroMetric {
                from: name(from),
                to: name(to),
            });
        }
        if attrs.loss_ppm > LOSS_PPM_MAX {
            return Err(GraphError::LossOutOfRange {
                from: name(from),
                to: name(to),
                loss_ppm: attrs.loss_ppm,
            });
        }
        let id = EdgeId::try_from(self.edges.len())
            .ok()
            .filter(|&id| id < EdgeId::MAX)
            .ok_or(GraphError::TooMany(EdgeId::MAX, "edges"))?;
        self.edges.push((from, to, attrs));
        Ok(id)
    }

    /// Adds `from -> to` and `to -> from` with the same attributes.
    pub fn add_bidirectional(
        &mut self,
        a: NodeId,
        b: NodeId,
        attrs: EdgeAttrs,
    ) -> Result<(), GraphError> {
        self.add_edge(a, b, attrs)?;
        self.add_edge(b, a, attrs)?;
        Ok(())
    }

    /// Adds `from -> to` by names, adding the nodes if new.
    pub fn add_edge_by_name(
        &mut self,
        from: &str,
        to: &str,
        attrs: EdgeAttrs,
    ) -> Result<EdgeId, GraphError> {
        let f = self.add_node(from)?;
        let t = self.add_node(to)?;
        self.add_edge(f, t, attrs)
    }

    /// Adds both directions by names, adding the nodes if new.
    pub fn add_bidirectional_by_name(
        &mut self,
        a: &str,
        b: &str,
        attrs: EdgeAttrs,
    ) -> Result<(), GraphError> {
        let a = self.add_node(a)?;
        let b = self.add_node(b)?;
        self.add_bidirectional(a, b, attrs)
    }

    /// The graph. Edge ids are assigned by source node, then in insertion order (so the
    /// result does not depend on anything but the order of the calls).
    pub fn build(self) -> Graph {
        let n = self.names.len();
        let m = self.edges.len();
        let mut out_start = vec![0u32; n + 1];
        let mut in_start = vec![0u32; n + 1];
        for &(f, t, _) in &self.edges {
            out_start[f as usize + 1] += 1;
            in_start[t as usize + 1] += 1;
        }
        for i in 0..n {
            out_start[i + 1] += out_start[i];
            in_start[i + 1] += in_start[i];
        }
        let mut next = out_start.clone();
        let mut from = vec![0; m];
        let mut to = vec![0; m];
        let mut metric = vec![0; m];
        let mut delay = vec![0; m];
        let mut jitter = vec![0; m];
        let mut loss = vec![0; m];
        let mut bandwidth = vec![0; m];
        for &(f, t, a) in &self.edges {
            let e = next[f as usize] as usize;
            next[f as usize] += 1;
            from[e] = f;
            to[e] = t;
            metric[e] = a.metric;
            delay[e] = a.delay_us;
            jitter[e] = a.jitter_us;
            loss[e] = a.loss_ppm;
            bandwidth[e] = a.bandwidth_kbps;
        }
        // In-edges: edge ids grouped by target, ascending within a target.
        let mut next_in = in_start.clone();
        let mut in_edges = vec![0; m];
        for (e, &t) in to.iter().enumerate() {
            in_edges[next_in[t as usize] as usize] = e as EdgeId;
            next_in[t as usize] += 1;
        }
        Graph {
            names: self.names,
            ids: self.ids,
            out_start,
            from,
            to,
            metric,
            delay,
            jitter,
            loss,
            bandwidth,
            in_start,
            in_edges,
        }
    }
}

/// An immutable directed graph (see the [module documentation](self)).
#[derive(Debug, Clone, Default)]
pub struct Graph {
    names: Vec<String>,
    ids: HashMap<String, NodeId>,
    /// Out-edges of `v`: `out_start[v]..out_start[v + 1]`.
    out_start: Vec<u32>,
    from: Vec<NodeId>,
    to: Vec<NodeId>,
    metric: Vec<u32>,
    delay: Vec<u32>,
    jitter: Vec<u32>,
    loss: Vec<u32>,
    bandwidth: Vec<u64>,
    /// In-edges of `v`: `in_edges[in_start[v]..in_start[v + 1]]`.
    in_start: Vec<u32>,
    in_edges: Vec<EdgeId>,
}

/// One edge and its attributes, as [`Graph::edge`] and [`Graph::out_edges`] give them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdgeRef {
    /// Its id.
    pub id: EdgeId,
    /// Source node.
    pub from: NodeId,
    /// Target node.
    pub to: NodeId,
    /// Attributes.
    pub attrs: EdgeAttrs,
}

impl Graph {
    /// A graph of `links` (each one direction), nodes numbered in order of first mention.
    pub fn from_links(links: &[Link]) -> Result<Graph, GraphError> {
        let mut b = GraphBuilder::new();
        for l in links {
            b.add_edge_by_name(&l.from, &l.to, l.attrs)?;
        }
        Ok(b.build())
    }

    /// Number of nodes.
    #[inline]
    pub fn node_count(&self) -> usize {
        self.names.len()
    }

    /// Number of edges.
    #[inline]
    pub fn edge_count(&self) -> usize {
        self.to.len()
    }

    /// The id of node `name`.
    pub fn node(&self, name: &str) -> Option<NodeId> {
        self.ids.get(name).copied()
    }

    /// The name of node `id`.
    pub fn name(&self, id: NodeId) -> Option<&str> {
        self.names.get(id as usize).map(String::as_str)
    }

    /// Whether `id` is a node of this graph.
    #[inline]
    pub fn contains(&self, id: NodeId) -> bool {
        (id as usize) < self.names.len()
    }

    /// Every node id.
    pub fn nodes(&self) -> Range<NodeId> {
        0..self.names.len() as NodeId
    }

    /// The ids of the out-edges of `v` (empty for an unknown node).
    #[inline]
    pub fn out_edge_ids(&self, v: NodeId) -> Range<EdgeId> {
        match (
            self.out_start.get(v as usize),
            self.out_start.get(v as usize + 1),
        ) {
            (Some(&a), Some(&b)) => a..b,
            _ => 0..0,
        }
    }

    /// The ids of the in-edges of `v`, ascending (empty for an unknown node).
    #[inline]
    pub fn in_edge_ids(&self, v: NodeId) -> &[EdgeId] {
        match (
            self.in_start.get(v as usize),
            self.in_start.get(v as usize + 1),
        ) {
            (Some(&a), Some(&b)) => &self.in_edges[a as usize..b as usize],
            _ => &[],
        }
    }

    /// The out-edges of `v` with their attributes.
    pub fn out_edges(&self, v: NodeId) -> impl Iterator<Item = EdgeRef> + '_ {
        self.out_edge_ids(v).map(move |e| self.edge_unchecked(e))
    }

    /// Edge `e`.
    pub fn edge(&self, e: EdgeId) -> Option<EdgeRef> {
        ((e as usize) < self.to.len()).then(|| self.edge_unchecked(e))
    }

    fn edge_unchecked(&self, e: EdgeId) -> EdgeRef {
        let i = e as usize;
        EdgeRef {
            id: e,
            from: self.from[i],
            to: self.to[i],
            attrs: EdgeAttrs {
                metric: self.metric[i],
                delay_us: self.delay[i],
                jitter_us: self.jitter[i],
                loss_ppm: self.loss[i],
                bandwidth_kbps: self.bandwidth[i],
            },
        }
    }

    /// Column views for the path algorithms (indexed by [`EdgeId`]).
    #[inline]
    pub(crate) fn cols(&self) -> Cols<'_> {
        Cols {
            out_start: &self.out_start,
            from: &self.from,
            to: &self.to,
            metric: &self.metric,
            delay: &self.delay,
            jitter: &self.jitter,
            loss: &self.loss,
            bandwidth: &self.bandwidth,
        }
    }
}

/// Borrowed columns of a [`Graph`] for the inner loops.
#[derive(Clone, Copy)]
pub(crate) struct Cols<'g> {
    pub out_start: &'g [u32],
    pub from: &'g [NodeId],
    pub to: &'g [NodeId],
    pub metric: &'g [u32],
    pub delay: &'g [u32],
    pub jitter: &'g [u32],
    pub loss: &'g [u32],
    pub bandwidth: &'g [u64],
}

impl Cols<'_> {
    /// Out-edges of `v` (which must be a node) as a `usize` range.
    #[inline]
    pub fn out(&self, v: NodeId) -> Range<usize> {
        self.out_start[v as usize] as usize..self.out_start[v as usize + 1] as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(metric: u32, delay_us: u32) -> EdgeAttrs {
        EdgeAttrs {
            delay_us,
            ..EdgeAttrs::with_metric(metric)
        }
    }

    #[test]
    fn csr_groups_edges_by_source_in_insertion_order() {
        let mut b = GraphBuilder::new();
        b.add_edge_by_name("c", "a", attrs(1, 10)).unwrap();
        b.add_edge_by_name("a", "b", attrs(2, 20)).unwrap();
        b.add_edge_by_name("c", "b", attrs(3, 30)).unwrap();
        b.add_edge_by_name("a", "c", attrs(4, 40)).unwrap();
        // Parallel edge: kept.
        b.add_edge_by_name("a", "b", attrs(5, 50)).unwrap();
        let g = b.build();
        let (a, bb, c) = (
            g.node("a").unwrap(),
            g.node("b").unwrap(),
            g.node("c").unwrap(),
        );
        assert_eq!((c, a, bb), (0, 1, 2), "ids in order of first mention");
        assert_eq!(g.node_count(), 3);
        assert_eq!(g.edge_count(), 5);
        let out_a: Vec<_> = g.out_edges(a).map(|e| (e.to, e.attrs.metric)).collect();
        assert_eq!(out_a, vec![(bb, 2), (c, 4), (bb, 5)]);
        let out_c: Vec<_> = g.out_edges(c).map(|e| (e.to, e.attrs.delay_us)).collect();
        assert_eq!(out_c, vec![(a, 10), (bb, 30)]);
        assert_eq!(g.out_edges(bb).count(), 0);
        let into_b: Vec<_> = g
            .in_edge_ids(bb)
            .iter()
            .map(|&e| g.edge(e).unwrap())
            .map(|e| (e.from, e.attrs.metric))
            .collect();
        assert_eq!(into_b, vec![(c, 3), (a, 2), (a, 5)]);
        for e in 0..g.edge_count() as EdgeId {
            let r = g.edge(e).unwrap();
            assert!(g.out_edge_ids(r.from).contains(&e));
            assert!(g.in_edge_ids(r.to).contains(&e));
        }
        assert_eq!(g.edge(5), None);
        assert_eq!(g.name(2), Some("b"));
        assert_eq!(g.name(3), None);
        assert_eq!(g.out_edge_ids(99), 0..0);
        assert!(g.in_edge_ids(99).is_empty());
    }

    #[test]
    fn refuses_bad_edges() {
        let mut b = GraphBuilder::new();
        let x = b.add_node("x").unwrap();
        let y = b.add_node("y").unwrap();
        assert_eq!(b.add_node("x").unwrap(), x, "idempotent");
        assert_eq!(
            b.add_edge(x, x, attrs(1, 0)),
            Err(GraphError::SelfLoop("x".into()))
        );
        assert!(matches!(
            b.add_edge(x, y, attrs(0, 0)),
            Err(GraphError::ZeroMetric { .. })
        ));
        let lossy = EdgeAttrs {
            loss_ppm: LOSS_PPM_MAX + 1,
            ..attrs(1, 0)
        };
        assert_eq!(
            b.add_edge(x, y, lossy).unwrap_err().to_string(),
            "edge x -> y: loss 1000001 ppm is beyond 1000000 (100 %)"
        );
        assert_eq!(
            b.add_edge(x, 7, attrs(1, 0)),
            Err(GraphError::UnknownNode(7))
        );
        assert_eq!(b.add_edge(x, y, attrs(1, 0)), Ok(0));
        assert_eq!(b.build().edge_count(), 1);
    }

    #[test]
    fn links_deserialize_with_defaults() {
        let links: Vec<Link> = serde_json::from_str(
            r#"[{"from": "a", "to": "b", "metric": 10},
                {"from": "b", "to": "a", "metric": 10, "delay_us": 7, "jitter_us": 2,
                 "loss_ppm": 100, "bandwidth_kbps": 1000}]"#,
        )
        .unwrap();
        assert_eq!(links[0].attrs, EdgeAttrs::with_metric(10));
        assert_eq!(links[1].attrs.bandwidth_kbps, 1000);
        let g = Graph::from_links(&links).unwrap();
        assert_eq!(g.edge_count(), 2);
        let back = g.out_edges(1).next().unwrap();
        assert_eq!(back.attrs.delay_us, 7);
        assert!((back.attrs.delivery() - 0.9999).abs() < 1e-12);
        let bad = [Link {
            from: "a".into(),
            to: "b".into(),
            attrs: EdgeAttrs::with_metric(0),
        }];
        assert!(Graph::from_links(&bad).is_err());
    }
}
