//! The ingress label-stack computation of the anycast-segments draft, section 3.3: how an
//! ingress (or a controller) turns a segment list into MPLS labels when anycast segments,
//! whose member nodes need not share an SRGB, are involved.
//!
//! The draft's algorithm, with its implicit parts made explicit:
//!
//! ```text
//! last_segment = NONE
//! for segment in segment_list:
//!     if segment is an adjacency segment:  label = its adjacency label
//!     elif last_segment is an anycast segment: label = segment.SID_index        (raw)
//!     else: label = segment.SID_index offset into the SRGB of the node that reads it
//!     label_stack.push(label); last_segment = segment
//! ```
//!
//! - *The node that reads the label* is the ingress's downstream neighbour for the first
//!   segment (the draft: "the anycast segment label advertised by the downstream neighbor";
//!   R1's 7100 in figure 4), and afterwards the node where the previous segment ends (its
//!   originator for a prefix segment, the far end for an adjacency segment): that node pops
//!   or receives the previous label by PHP and looks the next one up in its own LFIB.
//! - After an anycast segment the member reached is not known in advance, so the next
//!   segment's label is its bare SID index, looked up by the member in its V-LFIB; an
//!   adjacency segment cannot follow an anycast segment (the draft says so, section 3.3).
//! - The draft's pseudo-code never updates `last_segment`; it must be set at the end of
//!   each iteration for the algorithm to mean what its prose says.

use super::MAX_LABEL;

/// A Segment Routing Global Block: the label of SID index `i` is `base + i`, for
/// `i < size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Srgb {
    /// First label of the block.
    pub base: u32,
    /// Number of labels in the block.
    pub size: u32,
}

impl Srgb {
    /// The block `base..base + size`.
    pub const fn new(base: u32, size: u32) -> Self {
        Srgb { base, size }
    }

    /// The block `first..=last`, as the draft writes SRGBs ("1000-2000"). `None` if
    /// `last < first`.
    pub const fn from_range(first: u32, last: u32) -> Option<Self> {
        if last < first {
            return None;
        }
        Some(Srgb {
            base: first,
            size: last - first + 1,
        })
    }

    /// The label of SID index `index` (draft section 3.1), if it is in the block and fits
    /// 20 bits.
    pub fn label(&self, index: u32) -> Option<u32> {
        if index >= self.size {
            return None;
        }
        self.base
            .checked_add(index)
            .filter(|label| *label <= MAX_LABEL)
    }

    /// The SID index of `label`, if the label is in the block.
    pub fn index_of(&self, label: u32) -> Option<u32> {
        let index = label.checked_sub(self.base)?;
        (index < self.size).then_some(index)
    }
}

/// One segment of an SR path. `N` names nodes (whatever the caller uses: names, ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Segment<N> {
    /// A unicast prefix (or node) segment originated by `node`, with SID index `index`.
    Prefix {
        /// The originating node, where the segment ends.
        node: N,
        /// Its SID index.
        index: u32,
    },
    /// An anycast prefix segment with SID index `index`: it ends on whichever member of
    /// the group is nearest.
    Anycast {
        /// The group's SID index.
        index: u32,
    },
    /// An adjacency segment: the local label of the node it starts from, toward `remote`.
    Adjacency {
        /// The adjacency label.
        label: u32,
        /// The node at the far end of the adjacency.
        remote: N,
    },
}

/// Why a segment list has no label stack.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelStackError {
    /// An adjacency segment right after an anycast segment (draft section 3.3).
    #[error("segment {position}: an adjacency segment cannot follow an anycast segment")]
    AdjacencyAfterAnycast {
        /// Position in the segment list.
        position: usize,
    },
    /// The SRGB of the node that reads a label is unknown.
    #[error("segment {position}: the SRGB of the node that reads its label is unknown")]
    UnknownSrgb {
        /// Position in the segment list.
        position: usize,
    },
    /// A SID index outside the SRGB that must map it.
    #[error("segment {position}: SID index {index} is outside the SRGB {base}+{size}")]
    IndexOutsideSrgb {
        /// Position in the segment list.
        position: usize,
        /// The SID index.
        index: u32,
        /// The SRGB's base.
        base: u32,
        /// The SRGB's size.
        size: u32,
    },
    /// A label (adjacency label or bare SID index) beyond 20 bits.
    #[error("segment {position}: label {label} is beyond 20 bits")]
    LabelOutOfRange {
        /// Position in the segment list.
        position: usize,
        /// The label.
        label: u32,
    },
}

/// Computes the label stack (outermost first) that steers a packet along `segments`.
///
/// `first_hop` is the SRGB of the ingress's downstream neighbour (the node that reads the
/// top label); `srgb_of` gives the SRGB of the node where a segment ends, asked only when
/// that node must map the next label.
pub fn label_stack<N: Copy>(
    first_hop: Srgb,
    segments: &[Segment<N>],
    srgb_of: impl Fn(N) -> Option<Srgb>,
) -> Result<Vec<u32>, LabelStackError> {
    /// Who reads the next label.
    enum Reader<N> {
        Srgb(Srgb),
        Node(N),
        AnycastMember,
    }
    let mut reader = Reader::Srgb(first_hop);
    let mut stack = Vec::with_capacity(segments.len());
    for (position, segment) in segments.iter().enumerate() {
        let index = match *segment {
            Segment::Adjacency { label, remote } => {
                if matches!(reader, Reader::AnycastMember) {
                    return Err(LabelStackError::AdjacencyAfterAnycast { position });
                }
                if label > MAX_LABEL {
                    return Err(LabelStackError::LabelOutOfRange { position, label });
                }
                stack.push(label);
                reader = Reader::Node(remote);
                continue;
            }
            Segment::Prefix { index, .. } | Segment::Anycast { index } => index,
        };
        let label = match reader {
            Reader::AnycastMember => {
                if index > MAX_LABEL {
                    return Err(LabelStackError::LabelOutOfRange {
                        position,
                        label: index,
                    });
                }
                index
            }
            Reader::Srgb(srgb) => map(srgb, index, position)?,
            Reader::Node(node) => {
                let srgb = srgb_of(node).ok_or(LabelStackError::UnknownSrgb { position })?;
                map(srgb, index, position)?
            }
        };
        stack.push(label);
        reader = match *segment {
            Segment::Prefix { node, .. } => Reader::Node(node),
            _ => Reader::AnycastMember,
        };
    }
    Ok(stack)
}

fn map(srgb: Srgb, index: u32, position: usize) -> Result<u32, LabelStackError> {
    srgb.label(index).ok_or(LabelStackError::IndexOutsideSrgb {
        position,
        index,
        base: srgb.base,
        size: srgb.size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The devices of the draft's figures 2-4.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Node {
        Pe1,
        Pe2,
        Pe3,
        Pe4,
        R1,
        R3,
        A1,
        A2,
        A3,
        A4,
    }
    use Node::*;

    /// SRGBs of figure 2 ("1000-2000" and so on, inclusive). The PEs' SRGBs are not given.
    fn srgb(n: Node) -> Option<Srgb> {
        let (first, last) = match n {
            R1 => (7000, 8000),
            A1 => (1000, 2000),
            A2 => (2000, 3000),
            A3 => (3000, 4000),
            A4 => (4000, 5000),
            R3 => (6000, 7000),
            Pe1 | Pe2 | Pe3 | Pe4 => return None,
        };
        Srgb::from_range(first, last)
    }

    const GROUP_A: u32 = 100;

    fn sid(n: Node) -> u32 {
        match n {
            Pe1 => 10,
            Pe2 => 20,
            Pe3 => 30,
            Pe4 => 40,
            _ => unreachable!(),
        }
    }

    #[test]
    fn srgb_mapping() {
        let s = Srgb::from_range(1000, 2000).unwrap();
        assert_eq!(s, Srgb::new(1000, 1001));
        assert_eq!(s.label(0), Some(1000));
        assert_eq!(s.label(1000), Some(2000));
        assert_eq!(s.label(1001), None);
        assert_eq!(s.index_of(1030), Some(30));
        assert_eq!(s.index_of(999), None);
        assert_eq!(s.index_of(2001), None);
        assert_eq!(Srgb::from_range(5, 4), None);
        assert_eq!(Srgb::new(MAX_LABEL, 10).label(1), None);
        assert_eq!(Srgb::new(u32::MAX, 10).label(1), None);
    }

    /// Table 1: the anycast segment label of SID 100 on each device.
    #[test]
    fn table1_anycast_segment_labels() {
        for (node, label) in [
            (R1, 7100),
            (A1, 1100),
            (A2, 2100),
            (A3, 3100),
            (A4, 4100),
            (R3, 6100),
        ] {
            assert_eq!(srgb(node).unwrap().label(GROUP_A), Some(label), "{node:?}");
        }
    }

    /// Section 2: without the proposal, A1 and A2 allocate different labels for SID 30
    /// (1030 and 2030), so no single second label works.
    #[test]
    fn section2_problem() {
        assert_eq!(srgb(A1).unwrap().label(sid(Pe3)), Some(1030));
        assert_eq!(srgb(A2).unwrap().label(sid(Pe3)), Some(2030));
    }

    /// Figure 3: each V-LFIB tuple's outgoing label is the SID index in the SRGB of the
    /// neighbour on the shortest path.
    #[test]
    fn figure3_outgoing_labels() {
        // (device, destination PE, [(neighbour, outgoing label)])
        type Row = (Node, Node, &'static [(Node, u32)]);
        let expected: &[Row] = &[
            (A1, Pe1, &[(R1, 7010)]),
            (A1, Pe2, &[(R1, 7020)]),
            (A1, Pe3, &[(A3, 3030), (A4, 4030)]),
            (A1, Pe4, &[(A3, 3040), (A4, 4040)]),
            (A2, Pe1, &[(R1, 7010)]),
            (A2, Pe3, &[(A3, 3030), (A4, 4030)]),
            (A3, Pe1, &[(A1, 1010), (A2, 2010)]),
            (A3, Pe2, &[(A1, 1020), (A2, 2020)]),
            (A3, Pe3, &[(R3, 6030)]),
            (A4, Pe4, &[(R3, 6040)]),
            (A4, Pe2, &[(A1, 1020), (A2, 2020)]),
        ];
        for (_device, dest, tuples) in expected {
            for (neighbour, label) in *tuples {
                assert_eq!(srgb(*neighbour).unwrap().label(sid(*dest)), Some(*label));
            }
        }
    }

    /// Figures 2 and 4: PE1 (or PE2) steers a packet to PE3 through group A: its downstream
    /// neighbour is R1, so the stack is 7100 (R1's label for SID 100) then the bare SID 30.
    #[test]
    fn figure4_pe1_to_pe3_via_group_a() {
        let segments = [
            Segment::Anycast { index: GROUP_A },
            Segment::Prefix {
                node: Pe3,
                index: sid(Pe3),
            },
        ];
        assert_eq!(
            label_stack(srgb(R1).unwrap(), &segments, srgb),
            Ok(vec![7100, 30])
        );
        // PE3 to PE1 through group A: R3 is PE3's downstream neighbour.
        let back = [
            Segment::Anycast { index: GROUP_A },
            Segment::Prefix {
                node: Pe1,
                index: sid(Pe1),
            },
        ];
        assert_eq!(
            label_stack(srgb(R3).unwrap(), &back, srgb),
            Ok(vec![6100, 10])
        );
    }

    /// Without anycast, each prefix label comes from the SRGB of the node where the
    /// previous segment ends: via A3's node SID (index 103, hypothetical: the draft gives
    /// the A nodes none) then to PE3 gives 7103 (R1's SRGB) then 3030 (A3's SRGB), the
    /// label figure 4 shows on the A3 hop.
    #[test]
    fn unicast_prefix_chain() {
        let segments = [
            Segment::Prefix {
                node: A3,
                index: 103,
            },
            Segment::Prefix {
                node: Pe3,
                index: sid(Pe3),
            },
        ];
        assert_eq!(
            label_stack(srgb(R1).unwrap(), &segments, srgb),
            Ok(vec![7103, 3030])
        );
        // only a prefix SID: R1's label for SID 30
        let direct = [Segment::Prefix {
            node: Pe3,
            index: sid(Pe3),
        }];
        assert_eq!(
            label_stack(srgb(R1).unwrap(), &direct, srgb),
            Ok(vec![7030])
        );
        assert_eq!(
            label_stack::<Node>(srgb(R1).unwrap(), &[], srgb),
            Ok(vec![])
        );
    }

    #[test]
    fn adjacency_segments() {
        // an adjacency of R1 toward A2 (label 24002), then SID 30 mapped by A2
        let segments = [
            Segment::Adjacency {
                label: 24002,
                remote: A2,
            },
            Segment::Prefix {
                node: Pe3,
                index: sid(Pe3),
            },
        ];
        assert_eq!(
            label_stack(srgb(R1).unwrap(), &segments, srgb),
            Ok(vec![24002, 2030])
        );
        // not after an anycast segment
        let bad = [
            Segment::Anycast { index: GROUP_A },
            Segment::Adjacency {
                label: 24002,
                remote: A2,
            },
        ];
        assert_eq!(
            label_stack(srgb(R1).unwrap(), &bad, srgb),
            Err(LabelStackError::AdjacencyAfterAnycast { position: 1 })
        );
        let big = [Segment::Adjacency {
            label: 1 << 20,
            remote: A2,
        }];
        assert_eq!(
            label_stack(srgb(R1).unwrap(), &big, srgb),
            Err(LabelStackError::LabelOutOfRange {
                position: 0,
                label: 1 << 20
            })
        );
    }

    /// An anycast segment after an anycast segment is itself a bare SID index, and so is
    /// the segment after it.
    #[test]
    fn anycast_after_anycast() {
        let segments = [
            Segment::Anycast { index: GROUP_A },
            Segment::Anycast { index: 200 },
            Segment::Prefix {
                node: Pe3,
                index: sid(Pe3),
            },
        ];
        assert_eq!(
            label_stack(srgb(R1).unwrap(), &segments, srgb),
            Ok(vec![7100, 200, 30])
        );
        let big = [
            Segment::Anycast { index: GROUP_A },
            Segment::Anycast { index: 1 << 20 },
        ];
        assert!(matches!(
            label_stack(srgb(R1).unwrap(), &big, srgb),
            Err(LabelStackError::LabelOutOfRange { position: 1, .. })
        ));
    }

    #[test]
    fn errors() {
        // SID index beyond R1's SRGB
        let segments = [Segment::Prefix {
            node: Pe3,
            index: 1001,
        }];
        let err = label_stack(srgb(R1).unwrap(), &segments, srgb).unwrap_err();
        assert_eq!(
            err,
            LabelStackError::IndexOutsideSrgb {
                position: 0,
                index: 1001,
                base: 7000,
                size: 1001
            }
        );
        assert!(err.to_string().contains("segment 0"));
        // PE3's SRGB is unknown, needed to map what follows it
        let segments = [
            Segment::Prefix {
                node: Pe3,
                index: sid(Pe3),
            },
            Segment::Prefix {
                node: Pe4,
                index: sid(Pe4),
            },
        ];
        assert_eq!(
            label_stack(srgb(R1).unwrap(), &segments, srgb),
            Err(LabelStackError::UnknownSrgb { position: 1 })
        );
        let _ = (Pe2, Pe4);
    }
}
