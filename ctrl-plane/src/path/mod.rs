//! Path computation: SPF with ECMP and the SLA-constrained A*.
//!
//! - [`graph`]: the link state as a compact directed graph (CSR), nodes by dense id with a
//!   name map, edges with IGP metric, delay, jitter, loss and available bandwidth;
//! - [`spf`]: Dijkstra with ECMP first hops from one source, the nearest members of an
//!   anycast set, and every node's next hops toward a set (reverse multi-source SPF);
//! - [`astar`]: the exact SLA-constrained least-delay path (label-setting A* with
//!   dominance and a label budget) for SRoU segment lists.
//!
//! [`crate::compile::mpls`] turns SPF results into a node's MPLS tables.

pub mod astar;
pub mod graph;
pub mod spf;

pub use astar::{sla_path, Sla, SlaError, SlaPath, SlaSearch};
pub use graph::{EdgeAttrs, EdgeId, Graph, GraphBuilder, GraphError, Link, NodeId};
pub use spf::{spf, spf_to_set, Nearest, SetTree, Spf, SpfError, SpfTree, UNREACHABLE};
