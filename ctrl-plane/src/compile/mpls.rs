//! MPLS tables (seed `004_*`): LFIB and V-LFIB entries from SPF over the link state.
//!
//! [`compile_mpls`] takes the MPLS view of the network ([`MplsTopology`]: nodes with their
//! SRGB, prefix SID index and anycast group memberships, and IGP links) and one node, the
//! one this srgate runs as, and produces that node's `[tables.mpls]`
//! ([`fwd_core::mpls::MplsConfig`], which the data plane builds and publishes) plus the
//! list of what had to be left out ([`MplsWarning`]). It never panics and never fails on
//! bad data about *other* nodes: such data is skipped and reported.
//!
//! # Rules (draft-psarkar-spring-mpls-anycast-segments-00)
//!
//! SPF runs once from this node over the IGP metric ([`crate::path::spf`]). For every SID
//! index `i` in the network (sorted), with `base`/`size` this node's SRGB:
//!
//! - **another node's prefix SID** (reachable): LFIB `base + i` swapped, on every ECMP
//!   first hop `n`, for `n`'s label for the same index, `n.base + i`. The last hop swaps
//!   too when the destination has an SRGB (no PHP: figure 4 keeps a label up to the
//!   destination's SRGB, 6030 arriving at R3); it *pops* (PHP) only when the destination
//!   has no SRGB at all, i.e. is an edge node without an SR label space (the PEs of figure
//!   2, popped to by R1 and R3 in `config/mpls-anycast-{r1,r3}.toml`). ECMP sets mixing
//!   both become `forward` entries.
//! - **this node's own prefix SID**: `base + i` is `pop-and-lookup`.
//! - **an anycast SID** `a` of a group this node is **not** in: `base + a` swapped toward
//!   the nearest member(s) over all equally near ones, with each first hop's
//!   `n.base + a` (section 3.4: R1 swaps 7100 for 1100 toward A1 or 2100 toward A2). Never
//!   popped: anycast segments are advertised No-PHP, and a neighbour without an SRGB
//!   cannot take the label (warned, path left out).
//! - **an anycast group this node is in** (section 3.5): an `[[anycast]]` entry
//!   `{ index = a, vlfib = "<group>" }` and a V-LFIB of that name holding, keyed by SID
//!   index, every prefix or anycast SID this node does not provision itself, with the same
//!   (outgoing label, adjacency) tuples as the LFIB entry (section 3.2, figure 3). Every
//!   group of the node gets its V-LFIB (same content), at most
//!   [`fwd_core::mpls::MAX_VLFIBS`].
//!
//! Paths are named by adjacency ([`AdjacencyNaming`]: the neighbour's name by default, as
//! srgate's `[[adjacency]]` sections are named after the neighbour, or `self-neighbour` as
//! in `config/mpls-anycast-*.toml`) and listed by neighbour name; entries by label and SID
//! index; so the output is a pure function of the input.
//!
//! # Left out and reported
//!
//! A label beyond a node's SRGB (index `>= size`), an SRGB that does not fit the 20-bit
//! label space, a SID index claimed twice (two nodes, or a node and a group), a group whose
//! members disagree on its index, an unreachable SID, a link naming an unknown node (or
//! with metric 0, or a loop), a node listed twice, more than
//! [`fwd_core::mpls::MAX_ECMP_PATHS`] first hops (the first ones by name are kept): each
//! is one [`MplsWarning`]. Only an unknown self node or a self node without a valid SRGB
//! is an error ([`MplsCompileError`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use fwd_core::mpls::config::{
    ActionConfig, AnycastConfig, LfibEntryConfig, MplsConfig, PathConfig, SrgbConfig, VlfibConfig,
    VlfibEntryConfig,
};
use fwd_core::mpls::{Srgb, FIRST_UNRESERVED_LABEL, MAX_ECMP_PATHS, MAX_LABEL, MAX_VLFIBS};
use serde::{Deserialize, Serialize};

use crate::path::graph::{EdgeAttrs, GraphBuilder, NodeId};
use crate::path::spf::spf;

/// The MPLS view of the network.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MplsTopology {
    /// The nodes.
    pub nodes: Vec<MplsNode>,
    /// IGP adjacencies, one per direction.
    #[serde(default)]
    pub links: Vec<MplsLink>,
}

/// One node of the MPLS network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MplsNode {
    /// Its name (and, by default, the name of the adjacency its neighbours reach it by).
    pub name: String,
    /// Its SRGB; none for a node without an SR label space (it can only be popped to).
    #[serde(default)]
    pub srgb: Option<SrgbBlock>,
    /// The index of its prefix (node) SID.
    #[serde(default)]
    pub prefix_sid: Option<u32>,
    /// The anycast groups it is a member of.
    #[serde(default)]
    pub anycast: Vec<AnycastMembership>,
}

/// An SRGB: labels `base..base + size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SrgbBlock {
    /// First label.
    pub base: u32,
    /// Number of labels.
    pub size: u32,
}

impl SrgbBlock {
    /// The block `base..base + size`.
    pub const fn new(base: u32, size: u32) -> Self {
        SrgbBlock { base, size }
    }

    /// Whether it is a usable block: starts at 16 or above, is not empty, ends within 20
    /// bits.
    pub fn is_valid(&self) -> bool {
        self.base >= FIRST_UNRESERVED_LABEL
            && self.size > 0
            && u64::from(self.base) + u64::from(self.size) - 1 <= u64::from(MAX_LABEL)
    }

    /// Its label for SID index `index`, if the index is within the block.
    pub fn label(&self, index: u32) -> Option<u32> {
        Srgb::new(self.base, self.size).label(index)
    }
}

/// Membership of an anycast group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnycastMembership {
    /// The group's name (also the name of its V-LFIB on a member).
    pub group: String,
    /// The group's anycast SID index.
    pub index: u32,
}

/// One direction of an IGP adjacency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MplsLink {
    /// The node that forwards over it.
    pub from: String,
    /// The neighbour.
    pub to: String,
    /// IGP metric (1 or more).
    pub metric: u32,
}

impl MplsLink {
    /// `from -> to` with `metric`.
    pub fn new(from: &str, to: &str, metric: u32) -> Self {
        MplsLink {
            from: from.into(),
            to: to.into(),
            metric,
        }
    }

    /// Both directions of a link with the same metric.
    pub fn both(a: &str, b: &str, metric: u32) -> [MplsLink; 2] {
        [Self::new(a, b, metric), Self::new(b, a, metric)]
    }
}

/// How paths name their adjacency.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AdjacencyNaming {
    /// The neighbour's name (`a3`).
    #[default]
    Neighbour,
    /// This node's name, a dash, the neighbour's (`a1-a3`, as in
    /// `config/mpls-anycast-*.toml`).
    SelfDashNeighbour,
}

/// Options of [`compile_mpls`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MplsCompileOptions {
    /// How adjacencies are named.
    pub adjacency_naming: AdjacencyNaming,
}

/// What a SID index stands for, in warnings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SidOwner {
    /// The prefix SID of this node.
    Node(String),
    /// The anycast SID of this group.
    Group(String),
}

impl fmt::Display for SidOwner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SidOwner::Node(n) => write!(f, "prefix SID of {n}"),
            SidOwner::Group(g) => write!(f, "anycast SID of group {g}"),
        }
    }
}

/// Something [`compile_mpls`] left out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MplsWarning {
    /// A second node of the same name (the first one is used).
    #[error("node {0} is listed more than once; the first entry is used")]
    DuplicateNode(String),
    /// An SRGB that is not a usable block (treated as no SRGB).
    #[error(
        "node {node}: SRGB base {base} size {size} is not a block of labels within \
         16..=1048575; ignored"
    )]
    BadSrgb {
        /// The node.
        node: String,
        /// Its base.
        base: u32,
        /// Its size.
        size: u32,
    },
    /// A link that cannot be used.
    #[error("link {from} -> {to} ignored: {reason}")]
    BadLink {
        /// Its source.
        from: String,
        /// Its target.
        to: String,
        /// Why.
        reason: String,
    },
    /// A group whose members give different indexes (the group is left out).
    #[error("anycast group {group}: members disagree on its SID index ({indexes:?}); ignored")]
    GroupIndexMismatch {
        /// The group.
        group: String,
        /// The indexes given.
        indexes: Vec<u32>,
    },
    /// A group with an empty name (left out).
    #[error("node {node}: anycast group with an empty name; ignored")]
    EmptyGroupName {
        /// The node listing it.
        node: String,
    },
    /// A SID index claimed by several owners (none of them is programmed).
    #[error("SID index {index} is claimed by {owners:?}; none of them is programmed")]
    SidConflict {
        /// The index.
        index: u32,
        /// Who claims it.
        owners: Vec<String>,
    },
    /// A SID index beyond 20 bits.
    #[error("{owner}: SID index {index} is beyond the 20-bit label space; ignored")]
    IndexOutOfRange {
        /// Who it is.
        owner: SidOwner,
        /// The index.
        index: u32,
    },
    /// No member of the SID is reachable.
    #[error("{owner} (index {index}) is unreachable")]
    Unreachable {
        /// Whose SID.
        owner: SidOwner,
        /// The index.
        index: u32,
    },
    /// This node's SRGB cannot hold the index: no LFIB entry (a V-LFIB entry may still be
    /// made, it is keyed by the index).
    #[error("{owner}: index {index} is beyond this node's SRGB (size {size}); no LFIB entry")]
    IndexBeyondOwnSrgb {
        /// Whose SID.
        owner: SidOwner,
        /// The index.
        index: u32,
        /// This node's SRGB size.
        size: u32,
    },
    /// A first hop whose SRGB cannot hold the index: that path is left out.
    #[error(
        "{owner}: index {index} is beyond the SRGB of neighbour {neighbour} (size {size}); \
         path left out"
    )]
    IndexBeyondNeighbourSrgb {
        /// Whose SID.
        owner: SidOwner,
        /// The index.
        index: u32,
        /// The neighbour.
        neighbour: String,
        /// Its SRGB size.
        size: u32,
    },
    /// A first hop without an SRGB that is not the destination (or a member of the anycast
    /// group, which is never popped to): it cannot take a label; path left out.
    #[error("{owner}: neighbour {neighbour} has no SRGB to take index {index}; path left out")]
    NeighbourWithoutSrgb {
        /// Whose SID.
        owner: SidOwner,
        /// The index.
        index: u32,
        /// The neighbour.
        neighbour: String,
    },
    /// More equal-cost first hops than an ECMP set holds.
    #[error("{owner}: {total} equal-cost first hops, the first {kept} by name are used")]
    TooManyPaths {
        /// Whose SID.
        owner: SidOwner,
        /// First hops found.
        total: usize,
        /// First hops kept.
        kept: usize,
    },
    /// More groups than V-LFIBs (the group is not provisioned on this node).
    #[error("anycast group {group}: more than {MAX_VLFIBS} groups on this node; not provisioned")]
    TooManyGroups {
        /// The group left out.
        group: String,
    },
}

/// Why a node's tables cannot be compiled at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MplsCompileError {
    /// The self node is not in the topology.
    #[error("node {0} is not in the MPLS topology")]
    UnknownSelf(String),
    /// The self node has no SRGB: it has no label space to compile.
    #[error("node {0} has no SRGB: it has no MPLS tables")]
    NoSrgb(String),
    /// The self node's SRGB is not a usable block.
    #[error(
        "node {node}: SRGB base {base} size {size} is not a block of labels within 16..=1048575"
    )]
    BadSrgb {
        /// The node.
        node: String,
        /// Its base.
        base: u32,
        /// Its size.
        size: u32,
    },
}

/// A node's compiled `[tables.mpls]` and what was left out of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MplsCompiled {
    /// The tables, ready for [`MplsConfig::build`].
    pub config: MplsConfig,
    /// What was left out, in the order met.
    pub warnings: Vec<MplsWarning>,
}

/// A SID of the network and the nodes that originate it.
struct Sid {
    owner: SidOwner,
    members: Vec<NodeId>,
}

/// Compiles the MPLS tables of node `self_name` (see the [module documentation](self)).
pub fn compile_mpls(
    topo: &MplsTopology,
    self_name: &str,
    opts: &MplsCompileOptions,
) -> Result<MplsCompiled, MplsCompileError> {
    let mut warnings = Vec::new();

    // Nodes: the first of each name; SRGBs checked.
    let mut graph = GraphBuilder::new();
    let mut nodes: Vec<&MplsNode> = Vec::new();
    let mut srgbs: Vec<Option<SrgbBlock>> = Vec::new();
    for n in &topo.nodes {
        if graph.node(&n.name).is_some() {
            warnings.push(MplsWarning::DuplicateNode(n.name.clone()));
            continue;
        }
        // Ids are dense and in order, so `nodes[id]` is node `id`; a node that cannot get
        // an id (more than u32 nodes) cannot be reached and is left out with the rest.
        if graph.add_node(&n.name).is_err() {
            break;
        }
        let srgb = match n.srgb {
            Some(s) if !s.is_valid() => {
                if n.name != self_name {
                    warnings.push(MplsWarning::BadSrgb {
                        node: n.name.clone(),
                        base: s.base,
                        size: s.size,
                    });
                }
                None
            }
            s => s,
        };
        nodes.push(n);
        srgbs.push(srgb);
    }
    let me = graph
        .node(self_name)
        .ok_or_else(|| MplsCompileError::UnknownSelf(self_name.to_string()))?;
    let my_srgb = match nodes[me as usize].srgb {
        None => return Err(MplsCompileError::NoSrgb(self_name.to_string())),
        Some(s) if !s.is_valid() => {
            return Err(MplsCompileError::BadSrgb {
                node: self_name.to_string(),
                base: s.base,
                size: s.size,
            })
        }
        Some(s) => s,
    };

    for l in &topo.links {
        let reason = match (graph.node(&l.from), graph.node(&l.to)) {
            (Some(f), Some(t)) => match graph.add_edge(f, t, EdgeAttrs::with_metric(l.metric)) {
                Ok(_) => continue,
                Err(e) => e.to_string(),
            },
            (None, _) => format!("unknown node {}", l.from),
            (_, None) => format!("unknown node {}", l.to),
        };
        warnings.push(MplsWarning::BadLink {
            from: l.from.clone(),
            to: l.to.clone(),
            reason,
        });
    }
    let graph = graph.build();

    let sids = collect_sids(&nodes, &mut warnings);
    let tree = match spf(&graph, me) {
        Ok(t) => t,
        // `me` comes from this graph: unreachable, but never panic.
        Err(_) => return Err(MplsCompileError::UnknownSelf(self_name.to_string())),
    };

    // The groups this node provisions (those its SRGB can hold), each with its V-LFIB, by
    // name.
    let mut own_groups: Vec<String> = sids
        .iter()
        .filter(|(&i, s)| s.members.contains(&me) && my_srgb.label(i).is_some())
        .filter_map(|(_, s)| match &s.owner {
            SidOwner::Group(g) => Some(g.clone()),
            SidOwner::Node(_) => None,
        })
        .collect();
    own_groups.sort();
    if own_groups.len() > MAX_VLFIBS {
        for group in own_groups.drain(MAX_VLFIBS..) {
            warnings.push(MplsWarning::TooManyGroups { group });
        }
    }

    let adjacency = |n: NodeId| -> String {
        let name = &nodes[n as usize].name;
        match opts.adjacency_naming {
            AdjacencyNaming::Neighbour => name.clone(),
            AdjacencyNaming::SelfDashNeighbour => format!("{self_name}-{name}"),
        }
    };

    let mut lfib = Vec::new();
    let mut anycast = Vec::new();
    let mut vlfib_entries = Vec::new();
    for (&index, sid) in &sids {
        if sid.members.contains(&me) {
            let Some(label) = my_srgb.label(index) else {
                warnings.push(MplsWarning::IndexBeyondOwnSrgb {
                    owner: sid.owner.clone(),
                    index,
                    size: my_srgb.size,
                });
                continue;
            };
            match &sid.owner {
                SidOwner::Node(_) => lfib.push(LfibEntryConfig {
                    label,
                    action: ActionConfig::PopAndLookup,
                    paths: Vec::new(),
                }),
                SidOwner::Group(g) => {
                    if own_groups.contains(g) {
                        anycast.push(AnycastConfig {
                            label: None,
                            index: Some(index),
                            vlfib: g.clone(),
                        });
                    }
                }
            }
            continue;
        }
        let Some(near) = tree.nearest(&sid.members) else {
            warnings.push(MplsWarning::Unreachable {
                owner: sid.owner.clone(),
                index,
            });
            continue;
        };
        let mut hops = near.first_hops;
        hops.sort_by(|&a, &b| nodes[a as usize].name.cmp(&nodes[b as usize].name));
        let mut paths = Vec::with_capacity(hops.len().min(MAX_ECMP_PATHS));
        for &n in &hops {
            let labels = match srgbs[n as usize] {
                Some(s) => match s.label(index) {
                    Some(out) => vec![out],
                    None => {
                        warnings.push(MplsWarning::IndexBeyondNeighbourSrgb {
                            owner: sid.owner.clone(),
                            index,
                            neighbour: nodes[n as usize].name.clone(),
                            size: s.size,
                        });
                        continue;
                    }
                },
                // PHP: only to the destination itself, and only for a prefix SID.
                None if matches!(sid.owner, SidOwner::Node(_)) && sid.members == [n] => Vec::new(),
                None => {
                    warnings.push(MplsWarning::NeighbourWithoutSrgb {
                        owner: sid.owner.clone(),
                        index,
                        neighbour: nodes[n as usize].name.clone(),
                    });
                    continue;
                }
            };
            paths.push(PathConfig {
                adjacency: adjacency(n),
                labels,
            });
        }
        if paths.is_empty() {
            continue;
        }
        if paths.len() > MAX_ECMP_PATHS {
            warnings.push(MplsWarning::TooManyPaths {
                owner: sid.owner.clone(),
                total: paths.len(),
                kept: MAX_ECMP_PATHS,
            });
            paths.truncate(MAX_ECMP_PATHS);
        }
        if !own_groups.is_empty() {
            vlfib_entries.push(VlfibEntryConfig {
                sid: index,
                paths: paths.clone(),
            });
        }
        match my_srgb.label(index) {
            Some(label) => {
                let action = if paths.iter().all(|p| p.labels.len() == 1) {
                    ActionConfig::Swap
                } else if paths.iter().all(|p| p.labels.is_empty()) {
                    ActionConfig::Pop
                } else {
                    ActionConfig::Forward
                };
                lfib.push(LfibEntryConfig {
                    label,
                    action,
                    paths,
                });
            }
            None => warnings.push(MplsWarning::IndexBeyondOwnSrgb {
                owner: sid.owner.clone(),
                index,
                size: my_srgb.size,
            }),
        }
    }
    lfib.sort_by_key(|e| e.label);
    anycast.sort_by(|a, b| a.vlfib.cmp(&b.vlfib));
    let vlfib = own_groups
        .iter()
        .map(|g| VlfibConfig {
            name: g.clone(),
            entry: vlfib_entries.clone(),
        })
        .collect();
    Ok(MplsCompiled {
        config: MplsConfig {
            srgb: Some(SrgbConfig {
                base: my_srgb.base,
                size: my_srgb.size,
            }),
            lfib,
            anycast,
            vlfib,
            swap_block: Vec::new(),
        },
        warnings,
    })
}

/// Every SID index of the network and who originates it; conflicts and inconsistent
/// groups are left out (and warned about).
fn collect_sids(nodes: &[&MplsNode], warnings: &mut Vec<MplsWarning>) -> BTreeMap<u32, Sid> {
    // Groups: name -> (indexes given, members).
    let mut groups: BTreeMap<&str, (BTreeSet<u32>, Vec<NodeId>)> = BTreeMap::new();
    for (id, n) in nodes.iter().enumerate() {
        for m in &n.anycast {
            if m.group.is_empty() {
                warnings.push(MplsWarning::EmptyGroupName {
                    node: n.name.clone(),
                });
                continue;
            }
            let g = groups.entry(&m.group).or_default();
            g.0.insert(m.index);
            if !g.1.contains(&(id as NodeId)) {
                g.1.push(id as NodeId);
            }
        }
    }
    let mut claims: BTreeMap<u32, Vec<Sid>> = BTreeMap::new();
    for (id, n) in nodes.iter().enumerate() {
        if let Some(index) = n.prefix_sid {
            claims.entry(index).or_default().push(Sid {
                owner: SidOwner::Node(n.name.clone()),
                members: vec![id as NodeId],
            });
        }
    }
    for (name, (indexes, members)) in groups {
        if indexes.len() > 1 {
            warnings.push(MplsWarning::GroupIndexMismatch {
                group: name.to_string(),
                indexes: indexes.into_iter().collect(),
            });
            continue;
        }
        if let Some(&index) = indexes.first() {
            claims.entry(index).or_default().push(Sid {
                owner: SidOwner::Group(name.to_string()),
                members,
            });
        }
    }
    let mut sids = BTreeMap::new();
    for (index, mut c) in claims {
        if c.len() > 1 {
            warnings.push(MplsWarning::SidConflict {
                index,
                owners: c.iter().map(|s| s.owner.to_string()).collect(),
            });
            continue;
        }
        let Some(sid) = c.pop() else { continue };
        if index > MAX_LABEL {
            warnings.push(MplsWarning::IndexOutOfRange {
                owner: sid.owner,
                index,
            });
            continue;
        }
        sids.insert(index, sid);
    }
    sids
}

#[cfg(test)]
mod tests {
    use super::*;
    use fwd_core::adjacency::Adjacency;
    use fwd_core::buf::{PacketBuf, VecBuf};
    use fwd_core::mpls::{forward, MplsOutcome, MplsTables, Payload};
    use std::collections::HashMap;

    fn node(
        name: &str,
        srgb: Option<(u32, u32)>,
        sid: Option<u32>,
        groups: &[(&str, u32)],
    ) -> MplsNode {
        MplsNode {
            name: name.into(),
            srgb: srgb.map(|(base, size)| SrgbBlock::new(base, size)),
            prefix_sid: sid,
            anycast: groups
                .iter()
                .map(|&(g, index)| AnycastMembership {
                    group: g.into(),
                    index,
                })
                .collect(),
        }
    }

    const FIG2_LINKS: [(&str, &str); 12] = [
        ("pe1", "r1"),
        ("pe2", "r1"),
        ("r1", "a1"),
        ("r1", "a2"),
        ("a1", "a3"),
        ("a1", "a4"),
        ("a2", "a3"),
        ("a2", "a4"),
        ("a3", "r3"),
        ("a4", "r3"),
        ("r3", "pe3"),
        ("r3", "pe4"),
    ];

    /// The draft's figure 2: SRGBs "1000-2000" etc. (1001 labels), group A = anycast SID
    /// 100, PEs without SRGB with prefix SIDs 10..40, every metric 10.
    fn figure2() -> MplsTopology {
        let a = [("group-a", 100)];
        MplsTopology {
            nodes: vec![
                node("pe1", None, Some(10), &[]),
                node("pe2", None, Some(20), &[]),
                node("pe3", None, Some(30), &[]),
                node("pe4", None, Some(40), &[]),
                node("r1", Some((7000, 1001)), None, &[]),
                node("a1", Some((1000, 1001)), None, &a),
                node("a2", Some((2000, 1001)), None, &a),
                node("a3", Some((3000, 1001)), None, &a),
                node("a4", Some((4000, 1001)), None, &a),
                node("r3", Some((6000, 1001)), None, &[]),
            ],
            links: FIG2_LINKS
                .iter()
                .flat_map(|(x, y)| MplsLink::both(x, y, 10))
                .collect(),
        }
    }

    fn compile(t: &MplsTopology, me: &str) -> MplsCompiled {
        compile_mpls(t, me, &MplsCompileOptions::default()).unwrap()
    }

    /// `[(label, adjacency)]` of a path list.
    fn tuples(paths: &[PathConfig]) -> Vec<(Vec<u32>, String)> {
        paths
            .iter()
            .map(|p| (p.labels.clone(), p.adjacency.clone()))
            .collect()
    }

    /// An LFIB entry as (label, action, [(labels, adjacency)]).
    type Entry = (u32, ActionConfig, Vec<(Vec<u32>, String)>);

    fn lfib(c: &MplsConfig) -> Vec<Entry> {
        c.lfib
            .iter()
            .map(|e| (e.label, e.action, tuples(&e.paths)))
            .collect()
    }

    fn t(label: u32, adj: &str) -> (Vec<u32>, String) {
        (vec![label], adj.to_string())
    }

    fn pop(adj: &str) -> (Vec<u32>, String) {
        (vec![], adj.to_string())
    }

    /// Resolves any adjacency name (every name the compiler writes is accepted).
    fn any_adjacency(_: &str) -> Option<Adjacency> {
        Some(Adjacency::default())
    }

    /// Figure 3 of the draft, transcribed: device -> [(SID, [(label, link)])].
    #[test]
    fn figure3_vlfibs() {
        let topo = figure2();
        let toward_a = |sid: u32| vec![t(1000 + sid, "a1"), t(2000 + sid, "a2")];
        let toward_b = |sid: u32| vec![t(3000 + sid, "a3"), t(4000 + sid, "a4")];
        let r1 = |sid: u32| vec![t(7000 + sid, "r1")];
        let r3 = |sid: u32| vec![t(6000 + sid, "r3")];
        let expect = [
            ("a1", [r1(10), r1(20), toward_b(30), toward_b(40)]),
            ("a2", [r1(10), r1(20), toward_b(30), toward_b(40)]),
            ("a3", [toward_a(10), toward_a(20), r3(30), r3(40)]),
            ("a4", [toward_a(10), toward_a(20), r3(30), r3(40)]),
        ];
        for (dev, want) in expect {
            let c = compile(&topo, dev);
            assert!(c.warnings.is_empty(), "{dev}: {:?}", c.warnings);
            let cfg = &c.config;
            assert_eq!(
                cfg.anycast,
                vec![AnycastConfig {
                    label: None,
                    index: Some(100),
                    vlfib: "group-a".into()
                }],
                "{dev}"
            );
            assert_eq!(cfg.vlfib.len(), 1);
            assert_eq!(cfg.vlfib[0].name, "group-a");
            let got: Vec<_> = cfg.vlfib[0]
                .entry
                .iter()
                .map(|e| (e.sid, tuples(&e.paths)))
                .collect();
            let want: Vec<_> = [10, 20, 30, 40].into_iter().zip(want).collect();
            assert_eq!(got, want, "{dev}: figure 3");
            // The default LFIB holds the same SIDs in the node's own SRGB, same paths.
            let base = cfg.srgb.unwrap().base;
            let l = lfib(cfg);
            assert_eq!(l.len(), 4, "{dev}: no LFIB entry for its own anycast SID");
            for ((label, action, paths), (sid, vpaths)) in l.iter().zip(&got) {
                assert_eq!((*label, *action), (base + sid, ActionConfig::Swap));
                assert_eq!(paths, vpaths);
            }
            assert!(cfg.build(any_adjacency).is_ok(), "{dev}");
        }
    }

    /// R1 and R3 as config/mpls-anycast-{r1,r3}.toml: PHP to the PEs (no SRGB), swaps
    /// elsewhere, the anycast SID swapped toward the nearest members (section 3.4).
    #[test]
    fn r1_and_r3() {
        let topo = figure2();
        let c = compile(&topo, "r1");
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        assert_eq!(
            lfib(&c.config),
            vec![
                (7010, ActionConfig::Pop, vec![pop("pe1")]),
                (7020, ActionConfig::Pop, vec![pop("pe2")]),
                (7030, ActionConfig::Swap, vec![t(1030, "a1"), t(2030, "a2")]),
                (7040, ActionConfig::Swap, vec![t(1040, "a1"), t(2040, "a2")]),
                (7100, ActionConfig::Swap, vec![t(1100, "a1"), t(2100, "a2")]),
            ]
        );
        assert!(c.config.anycast.is_empty() && c.config.vlfib.is_empty());
        assert_eq!(
            c.config.srgb,
            Some(SrgbConfig {
                base: 7000,
                size: 1001
            })
        );
        let c = compile_mpls(
            &topo,
            "r3",
            &MplsCompileOptions {
                adjacency_naming: AdjacencyNaming::SelfDashNeighbour,
            },
        )
        .unwrap();
        assert_eq!(
            lfib(&c.config),
            vec![
                (
                    6010,
                    ActionConfig::Swap,
                    vec![t(3010, "r3-a3"), t(4010, "r3-a4")]
                ),
                (
                    6020,
                    ActionConfig::Swap,
                    vec![t(3020, "r3-a3"), t(4020, "r3-a4")]
                ),
                (6030, ActionConfig::Pop, vec![pop("r3-pe3")]),
                (6040, ActionConfig::Pop, vec![pop("r3-pe4")]),
                (
                    6100,
                    ActionConfig::Swap,
                    vec![t(3100, "r3-a3"), t(4100, "r3-a4")]
                ),
            ]
        );
        // A PE has no label space.
        assert_eq!(
            compile_mpls(&topo, "pe1", &MplsCompileOptions::default()),
            Err(MplsCompileError::NoSrgb("pe1".into()))
        );
    }

    /// Node names in a fixed order: an adjacency resolves to the port of its neighbour's
    /// index, so a forwarded packet tells which node it goes to.
    fn fig2_tables(topo: &MplsTopology) -> (Vec<String>, HashMap<String, MplsTables>) {
        let names: Vec<String> = topo.nodes.iter().map(|n| n.name.clone()).collect();
        let resolve = |adj: &str| {
            names.iter().position(|n| n == adj).map(|port| Adjacency {
                port: port as u16,
                ..Adjacency::default()
            })
        };
        let mut tables = HashMap::new();
        for n in ["r1", "a1", "a2", "a3", "a4", "r3"] {
            let c = compile(topo, n);
            tables.insert(n.to_string(), c.config.build(resolve).unwrap());
        }
        (names, tables)
    }

    fn frame(labels: &[u32]) -> Vec<u8> {
        let mut f = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x88, 0x47];
        for (i, &l) in labels.iter().enumerate() {
            let s = u32::from(i + 1 == labels.len());
            f.extend_from_slice(&((l << 12) | (s << 8) | 64).to_be_bytes());
        }
        // A minimal IPv4 header (payload detection reads its first nibble).
        f.extend_from_slice(&[
            0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 3,
        ]);
        f
    }

    /// The label values on a frame (empty: an IP packet).
    fn labels_of(f: &[u8]) -> Vec<u32> {
        let mut out = Vec::new();
        if f[12..14] != [0x88, 0x47] {
            assert_eq!(f[12..14], [0x08, 0x00], "IPv4 after the last pop");
            return out;
        }
        for lse in f[14..].chunks(4) {
            let v = u32::from_be_bytes([lse[0], lse[1], lse[2], lse[3]]);
            out.push(v >> 12);
            if v & 0x100 != 0 {
                break;
            }
        }
        out
    }

    type Hop = (String, String, Vec<u32>);

    /// Forwards `f` from `at` through the data plane's own `forward` over every ECMP branch
    /// (flow hashes 0..4), recording (from, to, labels on the wire) per link; stops at a
    /// node without tables (a PE) or on local delivery (recorded with `to` = "local").
    fn walk(
        names: &[String],
        tables: &HashMap<String, MplsTables>,
        at: &str,
        f: &[u8],
        seen: &mut BTreeSet<Hop>,
    ) {
        let Some(t) = tables.get(at) else { return };
        for hash in 0..4 {
            let mut b = VecBuf::new(f);
            match forward(t, &mut b, 14, hash) {
                Ok(MplsOutcome::Forward(adj)) => {
                    let next = names[adj.port as usize].clone();
                    let hop = (at.to_string(), next.clone(), labels_of(b.data()));
                    if seen.insert(hop) {
                        walk(names, tables, &next, b.data(), seen);
                    }
                }
                Ok(MplsOutcome::LocalDelivery(p)) => {
                    assert_eq!(p, Payload::Ipv4);
                    seen.insert((at.to_string(), "local".into(), vec![]));
                }
                Err(e) => panic!("{at}: dropped {e:?}"),
            }
        }
    }

    fn hops(list: &[(&str, &str, &[u32])]) -> BTreeSet<Hop> {
        list.iter()
            .map(|(a, b, l)| (a.to_string(), b.to_string(), l.to_vec()))
            .collect()
    }

    /// Figure 4 through the data plane: PE1 sends 7100/30 to R1; every link carries what
    /// the figure shows (both ECMP branches), and PE3 gets the bare IP packet.
    #[test]
    fn figure4_label_flow() {
        let topo = figure2();
        let (names, tables) = fig2_tables(&topo);
        let mut seen = BTreeSet::new();
        walk(&names, &tables, "r1", &frame(&[7100, 30]), &mut seen);
        let want = hops(&[
            ("r1", "a1", &[1100, 30]),
            ("r1", "a2", &[2100, 30]),
            ("a1", "a3", &[3030]),
            ("a1", "a4", &[4030]),
            ("a2", "a3", &[3030]),
            ("a2", "a4", &[4030]),
            ("a3", "r3", &[6030]),
            ("a4", "r3", &[6030]),
            ("r3", "pe3", &[]),
        ]);
        assert_eq!(seen, want);

        // The opposite direction (config/mpls-anycast-a3.toml's comment): PE3 -> PE1 via
        // group A, 6100/10 at R3.
        let mut seen = BTreeSet::new();
        walk(&names, &tables, "r3", &frame(&[6100, 10]), &mut seen);
        let want = hops(&[
            ("r3", "a3", &[3100, 10]),
            ("r3", "a4", &[4100, 10]),
            ("a3", "a1", &[1010]),
            ("a3", "a2", &[2010]),
            ("a4", "a1", &[1010]),
            ("a4", "a2", &[2010]),
            ("a1", "r1", &[7010]),
            ("a2", "r1", &[7010]),
            ("r1", "pe1", &[]),
        ]);
        assert_eq!(seen, want);

        // The anycast label at the bottom of the stack: delivered at the nearest member.
        let mut seen = BTreeSet::new();
        walk(&names, &tables, "r1", &frame(&[7100]), &mut seen);
        let want = hops(&[
            ("r1", "a1", &[1100]),
            ("r1", "a2", &[2100]),
            ("a1", "local", &[]),
            ("a2", "local", &[]),
        ]);
        assert_eq!(seen, want);
    }

    /// Section 3.3 end to end: the ingress computes the stack with fwd-core's label_stack
    /// (anycast segment label from R1's SRGB, then the bare index) and it reaches PE4.
    #[test]
    fn label_stack_reaches_pe4() {
        use fwd_core::mpls::{label_stack, Segment};
        let topo = figure2();
        let (names, tables) = fig2_tables(&topo);
        let r1 = Srgb::new(7000, 1001);
        let stack = label_stack(
            r1,
            &[
                Segment::Anycast { index: 100 },
                Segment::Prefix {
                    node: "pe4",
                    index: 40,
                },
            ],
            |_| None,
        );
        let Ok(stack) = stack else {
            panic!("label stack: {stack:?}")
        };
        assert_eq!(stack, vec![7100, 40]);
        let mut seen = BTreeSet::new();
        walk(&names, &tables, "r1", &frame(&stack), &mut seen);
        assert!(
            seen.contains(&("r3".into(), "pe4".into(), vec![])),
            "{seen:?}"
        );
        assert!(
            seen.contains(&("a2".into(), "a4".into(), vec![4040])),
            "{seen:?}"
        );
    }

    #[test]
    fn own_prefix_sid_and_several_groups() {
        let mut topo = figure2();
        // a1 gets a prefix SID and joins group B (with a4) too.
        topo.nodes[5].prefix_sid = Some(1);
        topo.nodes[5].anycast.push(AnycastMembership {
            group: "group-b".into(),
            index: 200,
        });
        topo.nodes[8].anycast.push(AnycastMembership {
            group: "group-b".into(),
            index: 200,
        });
        let c = compile(&topo, "a1");
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        let l = lfib(&c.config);
        assert_eq!(l[0], (1001, ActionConfig::PopAndLookup, vec![]));
        assert_eq!(
            c.config
                .anycast
                .iter()
                .map(|a| (a.index, a.vlfib.as_str()))
                .collect::<Vec<_>>(),
            [(Some(100), "group-a"), (Some(200), "group-b")]
        );
        assert_eq!(c.config.vlfib.len(), 2);
        assert_eq!(c.config.vlfib[0].entry, c.config.vlfib[1].entry);
        let sids: Vec<u32> = c.config.vlfib[0].entry.iter().map(|e| e.sid).collect();
        assert_eq!(sids, [10, 20, 30, 40], "own SIDs 1, 100, 200 are not in it");
        assert!(c.config.build(any_adjacency).is_ok());
        // r1 sees a1's prefix SID (PHP? no: a1 has an SRGB, swap) and group B's nearest
        // member a1 (at 10, a4 at 20).
        let c = compile(&topo, "r1");
        let l = lfib(&c.config);
        assert!(l.contains(&(7001, ActionConfig::Swap, vec![t(1001, "a1")])));
        assert!(l.contains(&(7200, ActionConfig::Swap, vec![t(1200, "a1")])));
        // a2 is in group A only: group B's SID goes into its V-LFIB (section 3.2), toward
        // a4 (a direct neighbour at 10, a1 is at 20); a1's prefix SID over r1, a3 and a4 (20).
        let c = compile(&topo, "a2");
        let v: Vec<_> = c.config.vlfib[0]
            .entry
            .iter()
            .map(|e| (e.sid, tuples(&e.paths)))
            .collect();
        assert!(v.contains(&(200, vec![t(4200, "a4")])), "{v:?}");
        assert!(
            v.contains(&(1, vec![t(3001, "a3"), t(4001, "a4"), t(7001, "r1")])),
            "{v:?}"
        );
    }

    #[test]
    fn ecmp_mixing_php_and_swap_is_forward() {
        // s -(20)- d and s -(10)- m -(10)- d; d has no SRGB.
        let topo = MplsTopology {
            nodes: vec![
                node("s", Some((100, 100)), None, &[]),
                node("m", Some((500, 100)), None, &[]),
                node("d", None, Some(7), &[]),
            ],
            links: [("s", "d", 20), ("s", "m", 10), ("m", "d", 10)]
                .iter()
                .flat_map(|&(a, b, m)| MplsLink::both(a, b, m))
                .collect(),
        };
        let c = compile(&topo, "s");
        assert_eq!(
            lfib(&c.config),
            vec![(107, ActionConfig::Forward, vec![pop("d"), t(507, "m")])]
        );
        assert!(c.config.build(any_adjacency).is_ok());
    }

    #[test]
    fn bad_data_is_left_out_and_reported() {
        let mut topo = figure2();
        // pe1's SRGB is too small for its own index: r1 cannot swap toward it.
        topo.nodes[0].srgb = Some(SrgbBlock::new(100, 5));
        // pe2: an SRGB beyond 20 bits, ignored (so PHP stays possible).
        topo.nodes[1].srgb = Some(SrgbBlock::new(MAX_LABEL, 2));
        // pe4 claims pe3's index.
        topo.nodes[3].prefix_sid = Some(30);
        // An island, a node listed twice, a bad index, links to nowhere and bad links.
        topo.nodes
            .push(node("island", Some((9000, 100)), Some(50), &[]));
        topo.nodes.push(node("r1", Some((1, 1)), Some(60), &[]));
        topo.nodes.push(node("far", None, Some(MAX_LABEL + 1), &[]));
        topo.links.push(MplsLink::new("r1", "nowhere", 1));
        topo.links.push(MplsLink::new("r1", "island", 0));
        topo.links.push(MplsLink::new("r1", "r1", 5));
        let c = compile(&topo, "r1");
        let w: Vec<String> = c.warnings.iter().map(|w| w.to_string()).collect();
        assert_eq!(
            w,
            [
                "node pe2: SRGB base 1048575 size 2 is not a block of labels within \
                 16..=1048575; ignored",
                "node r1 is listed more than once; the first entry is used",
                "link r1 -> nowhere ignored: unknown node nowhere",
                "link r1 -> island ignored: edge r1 -> island: IGP metric 0 (metrics are 1 \
                 or more)",
                "link r1 -> r1 ignored: edge r1 -> r1: a self loop",
                "SID index 30 is claimed by [\"prefix SID of pe3\", \"prefix SID of pe4\"]; \
                 none of them is programmed",
                "prefix SID of far: SID index 1048576 is beyond the 20-bit label space; ignored",
                "prefix SID of pe1: index 10 is beyond the SRGB of neighbour pe1 (size 5); \
                 path left out",
                "prefix SID of island (index 50) is unreachable",
            ]
        );
        assert_eq!(
            lfib(&c.config),
            vec![
                (7020, ActionConfig::Pop, vec![pop("pe2")]),
                (7100, ActionConfig::Swap, vec![t(1100, "a1"), t(2100, "a2")]),
            ]
        );
        assert!(c.config.build(any_adjacency).is_ok());
    }

    #[test]
    fn groups_and_own_srgb_limits() {
        let mut topo = figure2();
        // a2 gives group A another index: the group is left out everywhere.
        topo.nodes[6].anycast[0].index = 101;
        // r1's SRGB holds indexes 0..35 only.
        topo.nodes[4].srgb = Some(SrgbBlock::new(7000, 35));
        topo.nodes[9].anycast.push(AnycastMembership {
            group: String::new(),
            index: 5,
        });
        let c = compile(&topo, "r1");
        let w: Vec<String> = c.warnings.iter().map(|w| w.to_string()).collect();
        assert_eq!(
            w,
            [
                "node r3: anycast group with an empty name; ignored",
                "anycast group group-a: members disagree on its SID index ([100, 101]); \
                 ignored",
                "prefix SID of pe4: index 40 is beyond this node's SRGB (size 35); no LFIB \
                 entry",
            ]
        );
        assert_eq!(c.config.lfib.len(), 3);
        let c = compile(&topo, "a1");
        assert!(c.config.anycast.is_empty() && c.config.vlfib.is_empty());
        // A member whose SRGB cannot hold the group's index: no anycast entry, no V-LFIB.
        let mut topo = figure2();
        topo.nodes[5].srgb = Some(SrgbBlock::new(1000, 100));
        let c = compile(&topo, "a1");
        assert!(c.config.anycast.is_empty() && c.config.vlfib.is_empty());
        assert_eq!(
            c.warnings,
            [MplsWarning::IndexBeyondOwnSrgb {
                owner: SidOwner::Group("group-a".into()),
                index: 100,
                size: 100
            }]
        );
        assert_eq!(c.config.lfib.len(), 4);
        // A group SID colliding with a prefix SID: neither is programmed.
        let mut topo = figure2();
        for n in &mut topo.nodes[5..9] {
            n.anycast[0].index = 40;
        }
        let c = compile(&topo, "a1");
        assert!(c.config.anycast.is_empty());
        assert!(matches!(
            &c.warnings[..],
            [MplsWarning::SidConflict { index: 40, .. }]
        ));
    }

    #[test]
    fn transit_without_srgb_and_too_many_paths() {
        // s - m (no SRGB) - d: d is reachable but m cannot take a label.
        let mut topo = MplsTopology {
            nodes: vec![
                node("s", Some((100, 100)), None, &[]),
                node("m", None, None, &[]),
                node("d", Some((300, 100)), Some(9), &[("g", 8)]),
            ],
            links: [("s", "m"), ("m", "d")]
                .iter()
                .flat_map(|&(a, b)| MplsLink::both(a, b, 1))
                .collect(),
        };
        let c = compile(&topo, "s");
        assert!(c.config.lfib.is_empty());
        let w: Vec<String> = c.warnings.iter().map(|w| w.to_string()).collect();
        assert_eq!(
            w,
            [
                "anycast SID of group g: neighbour m has no SRGB to take index 8; path left out",
                "prefix SID of d: neighbour m has no SRGB to take index 9; path left out",
            ]
        );
        // 70 equal-cost ways from s to d: 64 kept.
        topo.nodes.truncate(1);
        topo.links.clear();
        topo.nodes.push(node("d", Some((300, 100)), Some(9), &[]));
        for i in 0..70 {
            let m = format!("m{i:02}");
            topo.nodes
                .push(node(&m, Some((1000 + 100 * i, 100)), None, &[]));
            topo.links.extend(MplsLink::both("s", &m, 1));
            topo.links.extend(MplsLink::both(&m, "d", 1));
        }
        let c = compile(&topo, "s");
        assert_eq!(
            c.warnings,
            [MplsWarning::TooManyPaths {
                owner: SidOwner::Node("d".into()),
                total: 70,
                kept: 64
            }]
        );
        let paths = &c.config.lfib[0].paths;
        assert_eq!(paths.len(), 64);
        assert_eq!(
            (paths[0].adjacency.as_str(), paths[0].labels[0]),
            ("m00", 1009)
        );
        assert_eq!(paths[63].adjacency, "m63");
        assert!(c.config.build(any_adjacency).is_ok());
    }

    #[test]
    fn self_errors() {
        let mut topo = figure2();
        let o = MplsCompileOptions::default();
        assert_eq!(
            compile_mpls(&topo, "r9", &o).unwrap_err().to_string(),
            "node r9 is not in the MPLS topology"
        );
        topo.nodes[4].srgb = Some(SrgbBlock::new(8, 10));
        assert_eq!(
            compile_mpls(&topo, "r1", &o),
            Err(MplsCompileError::BadSrgb {
                node: "r1".into(),
                base: 8,
                size: 10
            })
        );
        // Others still compile, without a warning about r1's SRGB being ignored?
        let c = compile(&topo, "a1");
        assert!(matches!(&c.warnings[0], MplsWarning::BadSrgb { node, .. } if node == "r1"));
        // a1 can no longer reach PE1/PE2 through r1 (no SRGB, not the destination).
        assert!(c
            .warnings
            .iter()
            .any(|w| matches!(w, MplsWarning::NeighbourWithoutSrgb { index: 10, .. })));
    }

    #[test]
    fn topology_from_json() {
        let topo: MplsTopology = serde_json::from_str(
            r#"{"nodes": [
                  {"name": "x", "srgb": {"base": 16000, "size": 8000}, "prefix_sid": 1,
                   "anycast": [{"group": "g", "index": 500}]},
                  {"name": "y", "srgb": {"base": 20000, "size": 8000}, "prefix_sid": 2}],
                "links": [{"from": "x", "to": "y", "metric": 10},
                          {"from": "y", "to": "x", "metric": 10}]}"#,
        )
        .unwrap();
        let c = compile(&topo, "y");
        assert_eq!(
            lfib(&c.config),
            vec![
                (20001, ActionConfig::Swap, vec![t(16001, "x")]),
                (20002, ActionConfig::PopAndLookup, vec![]),
                (20500, ActionConfig::Swap, vec![t(16500, "x")]),
            ]
        );
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn arb_topology() -> impl Strategy<Value = MplsTopology> {
            let srgb = prop_oneof![
                Just(None),
                (0u32..40_000, 0u32..2_000).prop_map(|(b, s)| Some((b, s))),
                Just(Some((MAX_LABEL - 10, 20))),
            ];
            let n = (
                srgb,
                proptest::option::of(0u32..60),
                proptest::option::of((0usize..3, 0u32..60)),
            );
            (2usize..12).prop_flat_map(move |count| {
                (
                    proptest::collection::vec(n.clone(), count),
                    proptest::collection::vec((0..count + 1, 0..count, 0u32..4), 0..count * 3),
                )
                    .prop_map(move |(nodes, links)| MplsTopology {
                        nodes: nodes
                            .into_iter()
                            .enumerate()
                            .map(|(i, (srgb, sid, g))| {
                                let groups: Vec<(String, u32)> =
                                    g.map(|(g, x)| (format!("g{g}"), x)).into_iter().collect();
                                MplsNode {
                                    name: format!("n{i}"),
                                    srgb: srgb.map(|(b, s)| SrgbBlock::new(b, s)),
                                    prefix_sid: sid,
                                    anycast: groups
                                        .into_iter()
                                        .map(|(group, index)| AnycastMembership { group, index })
                                        .collect(),
                                }
                            })
                            .collect(),
                        links: links
                            .into_iter()
                            .map(|(a, b, m)| MplsLink::new(&format!("n{a}"), &format!("n{b}"), m))
                            .collect(),
                    })
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(48))]
            /// Whatever the topology: no panic, and what compiles is accepted by the data
            /// plane's builder; every LFIB label is in the node's SRGB.
            #[test]
            fn compiles_to_buildable_tables(topo in arb_topology(), me in 0usize..12) {
                let me = format!("n{}", me % topo.nodes.len());
                match compile_mpls(&topo, &me, &MplsCompileOptions::default()) {
                    Ok(c) => {
                        let s = c.config.srgb.unwrap();
                        for e in &c.config.lfib {
                            prop_assert!(e.label >= s.base && e.label - s.base < s.size);
                        }
                        let built = c.config.build(any_adjacency);
                        prop_assert!(built.is_ok(), "{:?}", built.err());
                    }
                    Err(MplsCompileError::NoSrgb(_)) | Err(MplsCompileError::BadSrgb { .. }) => {}
                    Err(e) => prop_assert!(false, "{}", e),
                }
            }
        }
    }
}
