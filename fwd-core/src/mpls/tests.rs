//! End to end: the packet flow of the draft's figure 4, one [`MplsTables`] per node, the
//! same frame bytes passed from node to node along the link of the adjacency each node
//! picks.
//!
//! Topology (figure 2), ports in brackets:
//!
//! ```text
//! PE1[0]--[0]R1[1]--[0]A1[1]--[1]A3[0]--[1]R3[0]--[0]PE3
//!              [2]--[0]A2[1]--[2]A3
//!                 A1[2]--[1]A4[0]--[2]R3
//!                 A2[2]--[2]A4
//! ```

use super::*;
use crate::adjacency::Adjacency;
use crate::buf::{PacketBuf, VecBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Node {
    Pe1,
    R1,
    A1,
    A2,
    A3,
    A4,
    R3,
    Pe3,
}
use Node::*;

/// One end of a link: a node and its port.
type End = (Node, u16);

/// Point-to-point links: (node, port) <-> (node, port).
const LINKS: &[(End, End)] = &[
    ((Pe1, 0), (R1, 0)),
    ((R1, 1), (A1, 0)),
    ((R1, 2), (A2, 0)),
    ((A1, 1), (A3, 1)),
    ((A1, 2), (A4, 1)),
    ((A2, 1), (A3, 2)),
    ((A2, 2), (A4, 2)),
    ((A3, 0), (R3, 1)),
    ((A4, 0), (R3, 2)),
    ((R3, 0), (Pe3, 0)),
];

fn peer(node: Node, port: u16) -> (Node, u16) {
    LINKS
        .iter()
        .find_map(|&(a, b)| {
            if a == (node, port) {
                Some(b)
            } else if b == (node, port) {
                Some(a)
            } else {
                None
            }
        })
        .unwrap_or_else(|| panic!("no link on {node:?} port {port}"))
}

fn mac(node: Node, port: u16) -> [u8; 6] {
    [0x02, 0, 0, 0, node as u8, port as u8]
}

/// The adjacency of `node` toward `neighbour`.
fn adj(node: Node, neighbour: Node) -> Adjacency {
    let &(a, b) = LINKS
        .iter()
        .find(|(a, b)| (a.0 == node && b.0 == neighbour) || (b.0 == node && a.0 == neighbour))
        .unwrap_or_else(|| panic!("{node:?} and {neighbour:?} are not neighbours"));
    let (local, remote) = if a.0 == node { (a, b) } else { (b, a) };
    Adjacency {
        port: local.1,
        dst_mac: mac(remote.0, remote.1),
        src_mac: mac(local.0, local.1),
    }
}

fn swap(node: Node, to: Node, label: u32) -> NextHop {
    NextHop::swap(adj(node, to), label).unwrap()
}

/// Figure 3, the V-LFIB of each group A device: SID index -> (outgoing label, neighbour).
fn figure3(node: Node) -> Vec<(u32, Vec<(u32, Node)>)> {
    match node {
        A1 | A2 => vec![
            (10, vec![(7010, R1)]),
            (20, vec![(7020, R1)]),
            (30, vec![(3030, A3), (4030, A4)]),
            (40, vec![(3040, A3), (4040, A4)]),
        ],
        A3 | A4 => vec![
            (10, vec![(1010, A1), (2010, A2)]),
            (20, vec![(1020, A1), (2020, A2)]),
            (30, vec![(6030, R3)]),
            (40, vec![(6040, R3)]),
        ],
        _ => vec![],
    }
}

/// Figure 2's SRGBs.
fn srgb(node: Node) -> Srgb {
    let first = match node {
        R1 => 7000,
        A1 => 1000,
        A2 => 2000,
        A3 => 3000,
        A4 => 4000,
        R3 => 6000,
        Pe1 | Pe3 => unreachable!("the draft gives the PEs no SRGB"),
    };
    Srgb::from_range(first, first + 1000).unwrap()
}

const GROUP_A: u32 = 100;
const PE1_SID: u32 = 10;
const PE3_SID: u32 = 30;

/// The tables of each transit node. The anycast label of group A is derived from the
/// node's SRGB; R1 and R3 swap it toward the group (No-PHP, section 3.4); the prefix SIDs
/// of PE1/PE3 are ordinary LFIB entries with PHP on the last hop.
fn tables(node: Node) -> MplsTables {
    let mut lfib = Lfib::builder();
    let own = |n: Node, index: u32| srgb(n).label(index).unwrap();
    let mut vlfibs = Vec::new();
    match node {
        R1 => {
            lfib.insert(
                own(R1, GROUP_A),
                LfibAction::ecmp(vec![
                    swap(R1, A1, own(A1, GROUP_A)),
                    swap(R1, A2, own(A2, GROUP_A)),
                ])
                .unwrap(),
            )
            .unwrap();
            lfib.insert(own(R1, PE1_SID), LfibAction::pop(adj(R1, Pe1)))
                .unwrap();
        }
        R3 => {
            lfib.insert(
                own(R3, GROUP_A),
                LfibAction::ecmp(vec![
                    swap(R3, A3, own(A3, GROUP_A)),
                    swap(R3, A4, own(A4, GROUP_A)),
                ])
                .unwrap(),
            )
            .unwrap();
            lfib.insert(own(R3, PE3_SID), LfibAction::pop(adj(R3, Pe3)))
                .unwrap();
        }
        A1 | A2 | A3 | A4 => {
            lfib.insert(own(node, GROUP_A), LfibAction::Anycast(VlfibId(0)))
                .unwrap();
            let mut v = Vlfib::builder();
            for (sid, tuples) in figure3(node) {
                let hops = tuples.iter().map(|&(l, n)| swap(node, n, l)).collect();
                v.insert(sid, hops).unwrap();
                // The default LFIB maps the same prefix SIDs in this node's own SRGB.
                let hops = tuples.iter().map(|&(l, n)| swap(node, n, l)).collect();
                lfib.insert(own(node, sid), LfibAction::ecmp(hops).unwrap())
                    .unwrap();
            }
            vlfibs.push(v.freeze());
        }
        Pe1 | Pe3 => {}
    }
    MplsTables::new(lfib.freeze(), vlfibs).unwrap()
}

fn ipv4_packet() -> Vec<u8> {
    let mut ip = vec![
        0x45, 0, 0, 24, 0, 1, 0, 0, 64, 17, 0, 0, 192, 0, 2, 1, 198, 51, 100, 3,
    ];
    ip.extend_from_slice(b"flow");
    ip
}

/// `(label, S, TTL)` of the stack at `l3`.
fn labels(f: &[u8], l3: usize) -> Vec<(u32, bool, u8)> {
    let mut out = Vec::new();
    let mut at = l3;
    while let Some(lse) = Lse::read(f, at) {
        out.push((lse.label(), lse.bos(), lse.ttl()));
        at += 4;
        if lse.bos() {
            break;
        }
    }
    out
}

/// One hop of a trace: the node that received the frame and the label stack it carried.
type Hop = (Node, Vec<(u32, bool, u8)>);

/// Sends an IP frame from `from` (an ingress PE imposing `stack` toward `first_hop`)
/// through the network to a PE, each transit node forwarding with its own tables and
/// `hash(node)` as the flow hash. Returns the hops and the frame the PE receives.
fn run(
    from: Node,
    first_hop: Node,
    stack: &[u32],
    vlan: bool,
    hash: impl Fn(Node) -> u32,
) -> (Vec<Hop>, Node, Vec<u8>) {
    let all: Vec<(Node, MplsTables)> = [R1, A1, A2, A3, A4, R3]
        .iter()
        .map(|&n| (n, tables(n)))
        .collect();
    let mut frame = vec![0u8; 12];
    if vlan {
        frame.extend_from_slice(&[0x81, 0x00, 0x00, 0x2a]);
    }
    frame.extend_from_slice(&[0x08, 0x00]);
    let l3 = frame.len();
    frame.extend_from_slice(&ipv4_packet());
    let mut pkt = VecBuf::new(&frame);
    impose(&mut pkt, l3, stack, 64, 0).unwrap();
    let out = adj(from, first_hop);
    out.rewrite(pkt.data_mut());
    let mut port = out.port;
    let mut at = from;
    let mut hops = Vec::new();
    for _ in 0..10 {
        let (node, in_port) = peer(at, port);
        let f = pkt.data();
        assert_eq!(
            &f[0..6],
            &mac(node, in_port),
            "{node:?} is the L2 destination"
        );
        assert_eq!(&f[6..12], &mac(at, port), "{at:?} is the L2 source");
        if vlan {
            assert_eq!(
                &f[12..16],
                &[0x81, 0x00, 0x00, 0x2a],
                "VLAN tag kept in front"
            );
        }
        if matches!(node, Pe1 | Pe3) {
            return (hops, node, f.to_vec());
        }
        hops.push((node, labels(f, l3)));
        let t = &all.iter().find(|(n, _)| *n == node).unwrap().1;
        match forward(t, &mut pkt, l3, hash(node)) {
            Ok(MplsOutcome::Forward(a)) => port = a.port,
            other => panic!("{node:?}: {other:?}"),
        }
        at = node;
    }
    panic!("loop");
}

/// Figure 4, PE1 to PE3 through anycast group A, both ECMP branches (the flow hash picks
/// the same position at R1 and at the group member): the label stacks on the wire are
/// 7100/30 -> 1100/30 -> 3030 -> 6030 -> (IP) and 7100/30 -> 2100/30 -> 4030 -> 6030 ->
/// (IP), with the TTL decremented once per hop and the IP packet untouched (pipe model).
#[test]
fn figure4_packet_flow() {
    let stack = label_stack(
        srgb(R1),
        &[
            Segment::Anycast { index: GROUP_A },
            Segment::Prefix {
                node: Pe3,
                index: PE3_SID,
            },
        ],
        |n| Some(srgb(n)),
    )
    .unwrap();
    assert_eq!(stack, vec![7100, 30]);
    for vlan in [false, true] {
        for (hash, member, next, label) in [(0, A1, A3, 3030), (1, A2, A4, 4030)] {
            let (hops, dest, frame) = run(Pe1, R1, &stack, vlan, |_| hash);
            let member_label = if member == A1 { 1100 } else { 2100 };
            assert_eq!(
                hops,
                vec![
                    (R1, vec![(7100, false, 64), (30, true, 64)]),
                    (member, vec![(member_label, false, 63), (30, true, 64)]),
                    (next, vec![(label, true, 62)]),
                    (R3, vec![(6030, true, 61)]),
                ],
                "hash {hash} vlan {vlan}"
            );
            assert_eq!(dest, Pe3);
            let l3 = if vlan { 18 } else { 14 };
            assert_eq!(&frame[l3 - 2..l3], &[0x08, 0x00]);
            assert_eq!(
                &frame[l3..],
                &ipv4_packet()[..],
                "IPv4 TTL 64 and checksum untouched"
            );
        }
    }
}

/// The ECMP choices are independent per node: A1 may send to A4 (4030) and A2 to A3
/// (3030), the paths figure 4 does not draw.
#[test]
fn figure4_crossed_branches() {
    let hash_a1_then_a4 = |n: Node| if n == R1 { 0 } else { 1 };
    let (hops, dest, _) = run(Pe1, R1, &[7100, 30], false, hash_a1_then_a4);
    let trace: Vec<(Node, u32)> = hops.iter().map(|(n, s)| (*n, s[0].0)).collect();
    assert_eq!(trace, vec![(R1, 7100), (A1, 1100), (A4, 4030), (R3, 6030)]);
    assert_eq!(dest, Pe3);

    let hash_a2_then_a3 = |n: Node| if n == R1 { 1 } else { 0 };
    let (hops, _, _) = run(Pe1, R1, &[7100, 30], false, hash_a2_then_a3);
    let trace: Vec<(Node, u32)> = hops.iter().map(|(n, s)| (*n, s[0].0)).collect();
    assert_eq!(trace, vec![(R1, 7100), (A2, 2100), (A3, 3030), (R3, 6030)]);
}

/// The reverse direction, PE3 to PE1 through group A: R3's anycast label is 6100, and the
/// bare SID 10 (a reserved value as a label) is only ever looked up in a V-LFIB.
#[test]
fn reverse_flow_pe3_to_pe1() {
    let stack = label_stack(
        srgb(R3),
        &[
            Segment::Anycast { index: GROUP_A },
            Segment::Prefix {
                node: Pe1,
                index: PE1_SID,
            },
        ],
        |n| Some(srgb(n)),
    )
    .unwrap();
    assert_eq!(stack, vec![6100, 10]);
    let (hops, dest, frame) = run(Pe3, R3, &stack, false, |_| 1);
    let trace: Vec<(Node, u32)> = hops.iter().map(|(n, s)| (*n, s[0].0)).collect();
    assert_eq!(trace, vec![(R3, 6100), (A4, 4100), (A2, 2010), (R1, 7010)]);
    assert_eq!(dest, Pe1);
    assert_eq!(&frame[14..], &ipv4_packet()[..]);
}

/// A packet whose anycast label is the bottom of the stack is for the member itself.
#[test]
fn anycast_label_alone_is_delivered_to_the_member() {
    let t = tables(A1);
    let mut f = vec![0u8; 12];
    f.extend_from_slice(&ETHERTYPE_MPLS.to_be_bytes());
    f.extend_from_slice(&Lse::new(1100, 0, true, 5).0.to_be_bytes());
    f.extend_from_slice(&ipv4_packet());
    let mut pkt = VecBuf::new(&f);
    assert_eq!(
        forward(&t, &mut pkt, 14, 0),
        Ok(MplsOutcome::LocalDelivery(Payload::Ipv4))
    );
    assert_eq!(&pkt.data()[12..14], &[0x08, 0x00]);
    assert_eq!(&pkt.data()[14..], &ipv4_packet()[..]);
}
