//! Service behaviours over hand-built frames, and the seed's figures 5 and 6 over several
//! nodes' tables passing the same frame bytes.

use core::net::{IpAddr, Ipv6Addr};

use proptest::prelude::*;

use super::*;
use crate::buf::{PacketBuf, VecBuf};
use crate::drop::DropReason;
use crate::packet::parse;
use crate::wire::{checksum, udp};

fn v6(s: &str) -> Ipv6Addr {
    s.parse().expect("ipv6")
}

fn sid(s: &str) -> SidPrefix {
    SidPrefix::of(v6(s))
}

fn adj(port: u16) -> Adjacency {
    Adjacency {
        port,
        dst_mac: [0x02, 0, 0, 0, 0xd0, port as u8],
        src_mac: [0x02, 0, 0, 0, 0x50, port as u8],
    }
}

const CLIENT: &str = "2001:db8:c::1";
const PAYLOAD: &[u8] = b"compute this, please";

/// An IPv6 UDP packet `src:5000 -> dst:80` with a valid checksum, hop limit `hl`.
fn ipv6_udp(src: Ipv6Addr, dst: Ipv6Addr, sport: u16, hl: u8) -> Vec<u8> {
    let mut u = Vec::new();
    u.extend(sport.to_be_bytes());
    u.extend(80u16.to_be_bytes());
    u.extend(((8 + PAYLOAD.len()) as u16).to_be_bytes());
    u.extend([0, 0]);
    u.extend_from_slice(PAYLOAD);
    let mut pseudo = Vec::new();
    pseudo.extend(src.octets());
    pseudo.extend(dst.octets());
    pseudo.extend((u.len() as u32).to_be_bytes());
    pseudo.extend([0, 0, 0, 17]);
    let c = checksum::combine(&[checksum::sum(&pseudo), checksum::sum(&u)]);
    u[6..8].copy_from_slice(&c.to_be_bytes());
    let mut p = Vec::new();
    p.extend(((6u32 << 28) | (0x28 << 20) | 0xbeef).to_be_bytes());
    p.extend((u.len() as u16).to_be_bytes());
    p.extend([17, hl]);
    p.extend(src.octets());
    p.extend(dst.octets());
    p.extend(u);
    p
}

fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 0xaa, 0x02, 0, 0, 0, 0, 0xbb];
    f.extend(ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// A client's request for `service` sent to the SID block `to`.
fn request(to: SidPrefix, service: ServiceId, sport: u16) -> Vec<u8> {
    eth(
        0x86dd,
        &ipv6_udp(v6(CLIENT), to.with_service(service), sport, 64),
    )
}

/// An IPv4 UDP frame 10.0.0.1 -> 10.0.0.2.
fn ipv4_frame() -> Vec<u8> {
    let mut ip = vec![
        0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];
    let c = checksum::checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    ip.extend([0, 1, 0, 2, 0, 8, 0, 0]);
    eth(0x0800, &ip)
}

fn udp_ok(ip: &[u8]) -> bool {
    let src = IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(&ip[8..24]).unwrap()));
    let dst = IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(&ip[24..40]).unwrap()));
    udp::Packet::new_checked(&ip[40..])
        .unwrap()
        .verify_checksum(&src, &dst)
}

// The seed's topology: PE1 (instances 1,1 and 1,2) and PE4 (instances 4,1 to 4,4) with
// the metrics of figures 5 and 6; PE2 and PE3 exist only as Global FIB entries.
const PE1_CG: &str = "fc00:0:1:c6::";
const PE1_CL: &str = "fc00:0:1:c1::";
const PE1_C: &str = "fc00:0:1:cc::";
const PE4_CG: &str = "fc00:0:4:c6::";
const PE4_CL: &str = "fc00:0:4:c1::";
const PE4_C: &str = "fc00:0:4:cc::";
const PORT_TO_PE1: u16 = 1;
const PORT_TO_PE2: u16 = 2;
const PORT_TO_PE3: u16 = 3;
const PORT_TO_PE4: u16 = 4;

fn instances(ids: &[(u32, u32)], down: &[u32]) -> (Vec<Instance>, Vec<(u32, u32)>) {
    let inst = ids
        .iter()
        .map(|(id, _)| Instance {
            id: *id,
            up: !down.contains(id),
            adjacency: adj(*id as u16),
            address: (*id == 41).then(|| v6("2001:db8:4::41")),
        })
        .collect();
    (inst, ids.to_vec())
}

/// One PE's tables. `flat`: an END.C SID and remote PEs reached at their END.C SIDs;
/// else END.CG + END.CL and remote PEs reached at their END.CL SIDs.
fn pe_tables(me: u32, flat: bool, down: &[u32]) -> ServiceTables {
    let (own_cg, own_cl, own_c, local) = if me == 1 {
        (PE1_CG, PE1_CL, PE1_C, vec![(11, 25), (12, 30)])
    } else {
        (
            PE4_CG,
            PE4_CL,
            PE4_C,
            vec![(41, 26), (42, 36), (43, 34), (44, 20)],
        )
    };
    let mut b = ServiceTables::builder();
    if flat {
        b.sid(sid(own_c), Behavior::EndC).unwrap();
    } else {
        b.sid(sid(own_cg), Behavior::EndCg).unwrap();
        b.sid(sid(own_cl), Behavior::EndCl).unwrap();
    }
    b.source(v6(&format!("fc00:0:{me}::1")));

    let mut g = GlobalFib::builder();
    let remote_sid = |pe: u32| -> SidPrefix {
        match (pe, flat) {
            (1, true) => sid(PE1_C),
            (1, false) => sid(PE1_CL),
            (4, true) => sid(PE4_C),
            (4, false) => sid(PE4_CL),
            (n, _) => sid(&format!("fc00:0:{n}:c1::")),
        }
    };
    // Global RIB of figures 5/6: PE1 25, PE2 28, PE3 35, PE4 20 (aggregated minimum).
    for (pe, metric, port) in [
        (1, 25, PORT_TO_PE1),
        (2, 28, PORT_TO_PE2),
        (3, 35, PORT_TO_PE3),
        (4, 20, PORT_TO_PE4),
    ] {
        let p = if pe == me {
            Pe::local(pe)
        } else {
            Pe::remote(pe, remote_sid(pe), adj(port))
        };
        g.target(p).unwrap().route(1, pe, metric).unwrap();
    }
    let mut l = LocalFib::builder();
    let (inst, routes) = instances(&local, down);
    for i in inst {
        l.target(i).unwrap();
    }
    for (id, metric) in routes {
        l.route(1, id, metric).unwrap();
    }
    b.global(g.freeze().unwrap()).local(l.freeze().unwrap());
    b.build().unwrap()
}

struct Node {
    name: &'static str,
    tables: ServiceTables,
    flows: ServiceFlows,
    c: ServiceCounters,
    /// Port -> neighbour node index (other ports lead to instances).
    neighbours: Vec<(u16, usize)>,
}

fn node(name: &'static str, tables: ServiceTables, neighbours: Vec<(u16, usize)>) -> Node {
    Node {
        name,
        flows: tables.flow_params().table(1),
        tables,
        c: ServiceCounters::default(),
        neighbours,
    }
}

/// Two PEs linked directly: PE1 (index 0) and PE4 (index 1).
fn network(flat: bool) -> Vec<Node> {
    vec![
        node("PE1", pe_tables(1, flat, &[]), vec![(PORT_TO_PE4, 1)]),
        node("PE4", pe_tables(4, flat, &[]), vec![(PORT_TO_PE1, 0)]),
    ]
}

/// Sends `frame` into node `start` and follows it hop by hop, the same bytes passed on
/// from node to node, until it reaches an instance or is dropped. Returns the trace and
/// the last frame.
fn walk(nodes: &mut [Node], start: usize, frame: &[u8], now: u64) -> (Vec<String>, VecBuf) {
    let mut buf = VecBuf::new(frame);
    let mut at = start;
    let mut trace = Vec::new();
    for _ in 0..1000 {
        let n = &mut nodes[at];
        let meta = parse(buf.data()).expect("every frame on the wire parses");
        match process(&n.tables, &mut buf, &meta, &mut n.flows, now, &n.c) {
            Ok(Outcome::Steered { adjacency, pe }) => {
                let next = n
                    .neighbours
                    .iter()
                    .find(|(p, _)| *p == adjacency.port)
                    .map(|(_, i)| *i)
                    .expect("a link to the chosen PE");
                trace.push(format!("{} -> PE{pe}", n.name));
                assert_eq!(nodes[next].name, format!("PE{pe}"));
                at = next;
            }
            Ok(Outcome::Delivered {
                adjacency,
                instance,
            }) => {
                assert_eq!(adjacency.port, instance as u16);
                assert_eq!(&buf.data()[..6], &adj(instance as u16).dst_mac);
                trace.push(format!("{} -> instance {instance}", n.name));
                return (trace, buf);
            }
            Ok(Outcome::Pass) => {
                trace.push(format!("{} pass", n.name));
                return (trace, buf);
            }
            Err(reason) => {
                trace.push(format!("{} drop {reason}", n.name));
                return (trace, buf);
            }
        }
    }
    panic!("no end after 1000 hops: {trace:?}");
}

/// Figure 6: hierarchical entries. Instance 4,4 fails and only PE4 learns it; PE4's
/// END.CL picks instance 4,1 locally and never sends anything back to PE1.
#[test]
fn figure_6_hierarchical_entries_prevent_the_microloop() {
    let mut net = network(false);
    let f = request(sid(PE1_CG), 1, 5000);

    // Before the failure: PE1's Global FIB picks PE4 (20), PE4's Local FIB instance 4,4 (20).
    let (trace, out) = walk(&mut net, 0, &f, 0);
    assert_eq!(trace, ["PE1 -> PE4", "PE4 -> instance 44"]);
    let ip = &out.data()[14..];
    assert_eq!(&ip[24..40], &sid(PE1_CG).with_service(1).octets());
    assert_eq!(ip[7], 62, "one hop at PE1, one at PE4");
    assert_eq!(&ip[8..], &f[14 + 8..], "client packet delivered intact");

    // Instance 4,4 fails: PE4 republishes its tables; PE1 is not notified.
    net[1].tables = pe_tables(4, false, &[44]);

    // The same flow: PE1 keeps PE4 (affinity hit), PE4's flow is pinned to 4,4, which is
    // gone: it re-picks locally, instance 4,1 (26), not PE1 (25, a Global FIB entry
    // END.CL never consults).
    let (trace, out) = walk(&mut net, 0, &f, 1);
    assert_eq!(trace, ["PE1 -> PE4", "PE4 -> instance 41"]);
    let ip = &out.data()[14..];
    assert_eq!(
        &ip[24..40],
        &v6("2001:db8:4::41").octets(),
        "destination rewritten"
    );
    assert!(udp_ok(ip), "UDP checksum follows the rewrite");
    assert_eq!(&ip[40 + 8..], PAYLOAD);
    assert_eq!(net[0].c.flows.hits.get(), 1);
    assert_eq!(net[1].c.flows.repicks.get(), 1);

    // The next packet of that flow sticks to 4,1; a new flow also goes PE4 -> 4,1.
    let (trace, _) = walk(&mut net, 0, &f, 2);
    assert_eq!(trace, ["PE1 -> PE4", "PE4 -> instance 41"]);
    let (trace, _) = walk(&mut net, 0, &request(sid(PE1_CG), 1, 5001), 3);
    assert_eq!(trace, ["PE1 -> PE4", "PE4 -> instance 41"]);

    // Every local instance down: PE4 drops, still never back towards PE1.
    net[1].tables = pe_tables(4, false, &[41, 42, 43, 44]);
    let (trace, _) = walk(&mut net, 0, &f, 4);
    assert_eq!(trace, ["PE1 -> PE4", "PE4 drop service-no-instance"]);

    assert_eq!(
        net[1].c.steered.get(),
        0,
        "PE4 never steered a packet anywhere"
    );
    assert_eq!(net[0].c.steered.get(), 5);
    assert_eq!(net[1].c.decapsulated.get(), 4);
    assert_eq!(net[1].c.delivered.get(), 4);
}

/// Figure 5: the same failure with flat (non-hierarchical) entries. PE4's single FIB now
/// prefers PE1 (25) to instance 4,1 (26) and sends the packet back; PE1, not yet
/// notified, still prefers PE4: the packet loops until its hop limit runs out.
#[test]
fn figure_5_flat_entries_microloop() {
    let mut net = network(true);
    let f = request(sid(PE1_C), 1, 5000);
    let (trace, _) = walk(&mut net, 0, &f, 0);
    assert_eq!(trace, ["PE1 -> PE4", "PE4 -> instance 44"]);

    net[1].tables = pe_tables(4, true, &[44]);
    let (trace, _) = walk(&mut net, 0, &f, 1);
    assert_eq!(
        &trace[..5],
        [
            "PE1 -> PE4",
            "PE4 -> PE1",
            "PE1 -> PE4",
            "PE4 -> PE1",
            "PE1 -> PE4"
        ]
    );
    // Hop limit 64: 63 forwarding steps, the 64th node drops it.
    assert_eq!(trace.len(), 64);
    assert_eq!(trace.last().unwrap(), "PE4 drop ttl-expired");
    assert_eq!(
        net[1].c.flows.repicks.get(),
        1,
        "4,4 gone: PE4 re-picked PE1"
    );
    assert_eq!(
        net[1].c.steered.get(),
        31,
        "PE4 sent it back to PE1 31 times"
    );

    // Contrast: the hierarchical network under the same failure never loops.
    let mut net = network(false);
    net[1].tables = pe_tables(4, false, &[44]);
    let (trace, _) = walk(&mut net, 0, &request(sid(PE1_CG), 1, 5000), 1);
    assert_eq!(trace, ["PE1 -> PE4", "PE4 -> instance 41"]);
}

#[test]
fn end_cg_encapsulates_with_a_policy_srh() {
    let mut b = ServiceTables::builder();
    b.sid(sid(PE1_CG), Behavior::EndCg).unwrap();
    b.source(v6("fc00:0:1::1")).hop_limit(40);
    let mut g = GlobalFib::builder();
    let mut pe = Pe::remote(4, sid(PE4_CL), adj(PORT_TO_PE4));
    if let PeNextHop::Remote { policy, .. } = &mut pe.next_hop {
        *policy = Policy::new(&[v6("fc00:0:2::e"), v6("fc00:0:3::e")]).unwrap();
    }
    g.target(pe).unwrap().route(9, 4, 1).unwrap();
    b.global(g.freeze().unwrap());
    let t = b.build().unwrap();
    let mut flows: ServiceFlows = FlowTable::new(64, 100);
    let c = ServiceCounters::default();

    let f = request(sid(PE1_CG), 9, 7);
    let mut buf = VecBuf::new(&f);
    let meta = parse(&f).unwrap();
    let out = process(&t, &mut buf, &meta, &mut flows, 0, &c).unwrap();
    assert_eq!(
        out,
        Outcome::Steered {
            adjacency: adj(PORT_TO_PE4),
            pe: 4
        }
    );
    let o = buf.data();
    assert_eq!(&o[..6], &adj(PORT_TO_PE4).dst_mac);
    assert_eq!(&o[6..12], &adj(PORT_TO_PE4).src_mac);
    assert_eq!(&o[12..14], &[0x86, 0xdd]);
    let m = parse(o).unwrap();
    let ip = m.ipv6(o).unwrap();
    assert_eq!(ip.traffic_class(), 0x28, "copied from the client");
    assert_eq!(ip.hop_limit(), 40);
    assert_eq!(ip.src_addr(), v6("fc00:0:1::1"));
    assert_eq!(ip.dst_addr(), v6("fc00:0:2::e"), "the first policy segment");
    assert_eq!(ip.next_header(), crate::wire::IpProtocol::IPV6_ROUTE);
    let srh = m.srh(o).unwrap();
    assert_eq!((srh.segments_left(), srh.last_entry()), (2, 2));
    assert_eq!(srh.segment(0), Some(sid(PE4_CL).with_service(9)));
    assert_eq!(srh.segment(1), Some(v6("fc00:0:3::e")));
    assert_eq!(srh.segment(2), Some(v6("fc00:0:2::e")));
    assert_eq!(srh.next_header(), crate::wire::IpProtocol::IPV6);
    assert_eq!(m.l4_proto, 41);
    let inner = &o[m.l4_offset as usize..];
    assert_eq!(inner.len(), f.len() - 14);
    assert_eq!(inner[7], 63);
    assert_eq!(&inner[8..], &f[14 + 8..]);
    assert_eq!(usize::from(ip.payload_len()), 8 + 48 + inner.len());
    assert_eq!(c.steered.get(), 1);

    // At an SRv6 transit/End node the SRH advances; at SL 0 the END.CL SID is the
    // destination and the packet is valid for END.CL.
    let mut fwd = o.to_vec();
    let m2 = parse(&fwd).unwrap();
    let next = m2.srh_mut(&mut fwd).unwrap().advance().unwrap();
    m2.ipv6_mut(&mut fwd).unwrap().set_dst_addr(next);
    let m3 = parse(&fwd).unwrap();
    let next = m3.srh_mut(&mut fwd).unwrap().advance().unwrap();
    assert_eq!(next, sid(PE4_CL).with_service(9));
}

#[test]
fn end_cg_without_policy_and_local_shortcut() {
    let mut net = network(false);
    let f = request(sid(PE1_CG), 1, 5000);
    let mut buf = VecBuf::new(&f);
    let meta = parse(&f).unwrap();
    let n = &mut net[0];
    process(&n.tables, &mut buf, &meta, &mut n.flows, 0, &n.c).unwrap();
    let o = buf.data();
    let m = parse(o).unwrap();
    let ip = m.ipv6(o).unwrap();
    assert_eq!(ip.dst_addr(), sid(PE4_CL).with_service(1));
    assert_eq!(ip.next_header(), crate::wire::IpProtocol::IPV6);
    assert_eq!(usize::from(ip.payload_len()), f.len() - 14);
    assert_eq!(m.srh_offset(), None);

    // PE4 withdrawn at PE1: the best PE is PE1 itself (25): END.CG hands over to its
    // Local FIB, instance 1,1.
    let mut b = ServiceTables::builder();
    b.sid(sid(PE1_CG), Behavior::EndCg).unwrap();
    let mut g = GlobalFib::builder();
    g.target(Pe::local(1)).unwrap().route(1, 1, 25).unwrap();
    let mut pe4 = Pe::remote(4, sid(PE4_CL), adj(4));
    pe4.up = false;
    g.target(pe4).unwrap().route(1, 4, 20).unwrap();
    let mut l = LocalFib::builder();
    l.target(Instance::new(11, adj(11)))
        .unwrap()
        .route(1, 11, 25)
        .unwrap();
    b.source(v6("fc00:0:1::1"))
        .global(g.freeze().unwrap())
        .local(l.freeze().unwrap());
    let t = b.build().unwrap();
    let c = ServiceCounters::default();
    let mut flows: ServiceFlows = FlowTable::new(64, 100);
    let mut buf = VecBuf::new(&f);
    let out = process(&t, &mut buf, &meta, &mut flows, 0, &c).unwrap();
    assert_eq!(
        out,
        Outcome::Delivered {
            adjacency: adj(11),
            instance: 11
        }
    );
    assert_eq!(out.adjacency(), Some(adj(11)));
    assert_eq!(&buf.data()[14..21], &f[14..21]);
    assert_eq!(buf.data()[21], 63);
    assert_eq!(c.local_shortcut.get(), 1);
    assert_eq!(c.delivered.get(), 1);
    assert_eq!(c.decapsulated.get(), 0);
}

#[test]
fn end_cl_plain_request_with_vlan_leaves_untagged() {
    let mut net = network(false);
    let ip = ipv6_udp(v6(CLIENT), sid(PE4_CL).with_service(1), 6000, 9);
    let mut f = vec![
        0x02, 0, 0, 0, 0, 0xaa, 0x02, 0, 0, 0, 0, 0xbb, 0x81, 0x00, 0x00, 0x64,
    ];
    f.extend([0x86, 0xdd]);
    f.extend(&ip);
    f.extend([0u8; 6]); // Ethernet padding
    let mut buf = VecBuf::new(&f);
    let meta = parse(&f).unwrap();
    let n = &mut net[1];
    let out = process(&n.tables, &mut buf, &meta, &mut n.flows, 0, &n.c).unwrap();
    assert_eq!(
        out,
        Outcome::Delivered {
            adjacency: adj(44),
            instance: 44
        }
    );
    let o = buf.data();
    assert_eq!(&o[12..14], &[0x86, 0xdd]);
    assert_eq!(o[14 + 7], 8);
    assert_eq!(&o[14 + 8..14 + ip.len()], &ip[8..]);
    assert_eq!(n.c.decapsulated.get(), 0);
}

fn one(t: &ServiceTables, f: &[u8]) -> Result<Outcome, DropReason> {
    let mut flows: ServiceFlows = FlowTable::new(64, 100);
    let c = ServiceCounters::default();
    let mut buf = VecBuf::new(f);
    let meta = parse(f)?;
    process(t, &mut buf, &meta, &mut flows, 0, &c)
}

/// An encapsulated packet to `sid::svc` carrying `inner` (Next Header `nh`).
fn encapsulated(to: Ipv6Addr, nh: u8, inner: &[u8]) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend((6u32 << 28).to_be_bytes());
    p.extend((inner.len() as u16).to_be_bytes());
    p.extend([nh, 64]);
    p.extend(v6("fc00:0:1::1").octets());
    p.extend(to.octets());
    p.extend_from_slice(inner);
    eth(0x86dd, &p)
}

#[test]
fn malformed_and_unroutable_packets_are_counted_drops() {
    let pe4 = pe_tables(4, false, &[]);
    let pe1 = pe_tables(1, false, &[]);
    let to_cl = sid(PE4_CL).with_service(1);

    // Not ours: pass.
    assert_eq!(
        one(&pe4, &request(sid("fc00:9::"), 1, 1)),
        Ok(Outcome::Pass)
    );
    assert_eq!(one(&pe4, &ipv4_frame()), Ok(Outcome::Pass));
    assert_eq!(
        one(&ServiceTables::default(), &request(sid(PE4_CL), 1, 1)),
        Ok(Outcome::Pass)
    );

    // Unknown services.
    assert_eq!(
        one(&pe4, &request(sid(PE4_CL), 2, 1)),
        Err(DropReason::ServiceNoLocalEntry)
    );
    assert_eq!(
        one(&pe1, &request(sid(PE1_CG), 2, 1)),
        Err(DropReason::ServiceNoGlobalEntry)
    );
    assert_eq!(
        one(&pe_tables(1, true, &[]), &request(sid(PE1_C), 2, 1)),
        Err(DropReason::ServiceNoGlobalEntry)
    );

    // Hop limit.
    let f = eth(0x86dd, &ipv6_udp(v6(CLIENT), to_cl, 1, 1));
    assert_eq!(one(&pe4, &f), Err(DropReason::TtlExpired));
    let inner = ipv6_udp(v6(CLIENT), to_cl, 1, 1);
    assert_eq!(
        one(&pe4, &encapsulated(to_cl, 41, &inner)),
        Err(DropReason::TtlExpired)
    );

    // Encapsulated IPv4, or garbage, inside.
    let v4_inner = &ipv4_frame()[14..];
    assert_eq!(
        one(&pe4, &encapsulated(to_cl, 4, v4_inner)),
        Err(DropReason::ServiceBadInner)
    );
    assert_eq!(
        one(&pe4, &encapsulated(to_cl, 41, &[0x60, 0, 0, 0, 0, 200])),
        Err(DropReason::ServiceBadInner)
    );
    let mut bad_version = ipv6_udp(v6(CLIENT), to_cl, 1, 9);
    bad_version[0] = 0x40;
    assert_eq!(
        one(&pe4, &encapsulated(to_cl, 41, &bad_version)),
        Err(DropReason::ServiceBadInner)
    );
    // Inner extension header cut short.
    let mut cut = ipv6_udp(v6(CLIENT), to_cl, 1, 9);
    cut[6] = 60; // Destination Options...
    cut[40 + 1] = 200; // ...claiming 1608 bytes
    assert_eq!(
        one(&pe4, &encapsulated(to_cl, 41, &cut)),
        Err(DropReason::Ipv6ExtTruncated)
    );

    // Encapsulated fragment.
    let mut frag = vec![41, 0, 0, 0, 0, 0, 0, 1]; // first fragment, M=1
    frag[3] = 1;
    frag.extend(ipv6_udp(v6(CLIENT), to_cl, 1, 9));
    assert_eq!(
        one(&pe4, &encapsulated(to_cl, 44, &frag)),
        Err(DropReason::ServiceFragment)
    );

    // An SRH with Segments Left 1 at a computing SID.
    let mut srh = vec![17, 4, 4, 1, 1, 0, 0, 0];
    srh.extend(v6("fc00::99").octets());
    srh.extend(to_cl.octets());
    let udp_part = &ipv6_udp(v6(CLIENT), to_cl, 1, 9)[40..];
    srh.extend_from_slice(udp_part);
    let mut p = Vec::new();
    p.extend((6u32 << 28).to_be_bytes());
    p.extend((srh.len() as u16).to_be_bytes());
    p.extend([43, 64]);
    p.extend(v6(CLIENT).octets());
    p.extend(to_cl.octets());
    p.extend(&srh);
    assert_eq!(
        one(&pe4, &eth(0x86dd, &p)),
        Err(DropReason::ServiceSidNotLast)
    );

    // All PEs down at END.CG.
    let mut b = ServiceTables::builder();
    b.sid(sid(PE1_CG), Behavior::EndCg)
        .unwrap()
        .source(v6("fc00::1"));
    let mut g = GlobalFib::builder();
    let mut p4 = Pe::remote(4, sid(PE4_CL), adj(4));
    p4.up = false;
    g.target(p4).unwrap().route(1, 4, 1).unwrap();
    b.global(g.freeze().unwrap());
    let t = b.build().unwrap();
    assert_eq!(
        one(&t, &request(sid(PE1_CG), 1, 1)),
        Err(DropReason::ServiceNoPe)
    );

    // No headroom for the encapsulation.
    let f = request(sid(PE1_CG), 1, 1);
    let mut buf = VecBuf::with_headroom(&f, 0);
    let meta = parse(&f).unwrap();
    let mut flows: ServiceFlows = FlowTable::new(8, 1);
    let c = ServiceCounters::default();
    assert_eq!(
        process(&pe1, &mut buf, &meta, &mut flows, 0, &c),
        Err(DropReason::ServiceNoHeadroom)
    );
}

#[test]
fn tables_builder_checks() {
    let mut b = ServiceTables::builder();
    b.sid(sid(PE1_CG), Behavior::EndCg).unwrap();
    assert_eq!(
        b.sid(sid(PE1_CG), Behavior::EndCl).unwrap_err(),
        TablesError::Sid(sid(PE1_CG))
    );
    let mut g = GlobalFib::builder();
    g.target(Pe::remote(4, sid(PE4_CL), adj(4))).unwrap();
    b.global(g.freeze().unwrap());
    assert_eq!(b.build().unwrap_err(), TablesError::NoSource);
    b.source(v6("fc00::1")).hop_limit(0);
    assert_eq!(b.build().unwrap_err(), TablesError::HopLimit);
    b.hop_limit(1).flows(FlowParams {
        capacity: 8,
        idle_ms: 1,
    });
    let t = b.build().unwrap();
    assert_eq!(t.flow_params().capacity, 8);
    assert_eq!(t.flow_params().table::<Choice>(1000).idle_timeout(), 1000);
    let mut s = ServiceCounterSnapshot::default();
    let c = ServiceCounters::default();
    c.steered.add(2);
    c.flows.hits.add(3);
    s.accumulate(&c.snapshot());
    s.accumulate(&c.snapshot());
    assert_eq!((s.steered, s.flows.hits), (4, 6));
}

#[test]
fn equal_metrics_split_flows_and_each_flow_sticks() {
    let mut b = ServiceTables::builder();
    b.sid(sid(PE1_CG), Behavior::EndCg)
        .unwrap()
        .source(v6("fc00::1"));
    let mut g = GlobalFib::builder();
    for pe in [2u32, 3, 4] {
        g.target(Pe::remote(
            pe,
            sid(&format!("fc00:0:{pe}:c1::")),
            adj(pe as u16),
        ))
        .unwrap()
        .route(1, pe, 10)
        .unwrap();
    }
    b.global(g.freeze().unwrap());
    let t = b.build().unwrap();
    let mut flows: ServiceFlows = FlowTable::new(4096, 1000);
    let c = ServiceCounters::default();
    let mut per_pe = [0u32; 5];
    for sport in 0..600u16 {
        let f = request(sid(PE1_CG), 1, sport);
        let meta = parse(&f).unwrap();
        let mut first = None;
        for now in 0..3 {
            let mut buf = VecBuf::new(&f);
            let Outcome::Steered { pe, .. } =
                process(&t, &mut buf, &meta, &mut flows, now, &c).unwrap()
            else {
                panic!("steered")
            };
            assert_eq!(*first.get_or_insert(pe), pe, "a flow keeps its PE");
        }
        per_pe[first.unwrap() as usize] += 1;
    }
    for n in &per_pe[2..] {
        assert!((150..250).contains(n), "{per_pe:?}");
    }
    assert_eq!(c.flows.misses.get(), 600);
    assert_eq!(c.flows.hits.get(), 1200);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let pe4 = pe_tables(4, false, &[]);
        let pe1 = pe_tables(1, true, &[]);
        let mut flows: ServiceFlows = FlowTable::new(64, 100);
        let c = ServiceCounters::default();
        for t in [&pe4, &pe1] {
            let mut buf = VecBuf::new(&bytes);
            if let Ok(meta) = parse(&bytes) {
                let _ = process(t, &mut buf, &meta, &mut flows, 0, &c);
            }
        }
    }

    /// Frames addressed to a computing SID with random bytes after the IPv6 header (and
    /// random mutations of a valid encapsulated request): never a panic, and every frame
    /// forwarded parses.
    #[test]
    fn mutated_requests_never_panic(
        tail in proptest::collection::vec(any::<u8>(), 0..120),
        nh in prop_oneof![Just(41u8), Just(43), Just(44), Just(60), Just(0), Just(17), Just(4), any::<u8>()],
        flips in proptest::collection::vec((0usize..200, any::<u8>()), 0..6),
        headroom in 0usize..80,
        which in 0usize..3,
    ) {
        let nets = [pe_tables(4, false, &[]), pe_tables(1, false, &[]), pe_tables(4, true, &[44])];
        let targets = [sid(PE4_CL), sid(PE1_CG), sid(PE4_C)];
        let t = &nets[which];
        let to = targets[which].with_service(1);
        let mut f = encapsulated(to, nh, &tail);
        let mut g = encapsulated(to, 41, &ipv6_udp(v6(CLIENT), to, 77, 9));
        for (at, v) in &flips {
            if let Some(b) = g.get_mut(*at) {
                *b = *v;
            }
            if let Some(b) = f.get_mut(*at % 80) {
                *b ^= *v;
            }
        }
        let mut flows: ServiceFlows = FlowTable::new(64, 100);
        let c = ServiceCounters::default();
        for frame in [&f, &g] {
            let mut buf = VecBuf::with_headroom(frame, headroom);
            if let Ok(meta) = parse(frame) {
                if let Ok(Outcome::Steered { .. } | Outcome::Delivered { .. }) =
                    process(t, &mut buf, &meta, &mut flows, 0, &c)
                {
                    prop_assert!(buf.data().len() >= 14 + 40);
                }
            }
        }
    }
}

/// A PE4 with END.CL only, offering service 1 at the given instances (id, metric, up), in
/// that order (so the instances' indices in the FIB follow the list).
fn cl_tables(list: &[(u32, u32, bool)]) -> ServiceTables {
    let mut b = ServiceTables::builder();
    b.sid(sid(PE4_CL), Behavior::EndCl).unwrap();
    let mut l = LocalFib::builder();
    for &(id, metric, up) in list {
        let mut i = Instance::new(id, adj(id as u16));
        i.up = up;
        l.target(i).unwrap().route(1, id, metric).unwrap();
    }
    b.local(l.freeze().unwrap());
    b.build().unwrap()
}

/// The instance a request of flow `sport` is delivered to.
fn delivered_to(
    t: &ServiceTables,
    flows: &mut ServiceFlows,
    c: &ServiceCounters,
    sport: u16,
) -> u32 {
    let mut buf = VecBuf::new(&request(sid(PE4_CL), 1, sport));
    let meta = parse(buf.data()).unwrap();
    match process(t, &mut buf, &meta, flows, 0, c).unwrap() {
        Outcome::Delivered { instance, .. } => instance,
        other => panic!("{other:?}"),
    }
}

#[test]
fn flow_hits_skip_the_fib_only_within_their_snapshot() {
    // Each snapshot has its own generation.
    let a = cl_tables(&[(41, 10, true), (42, 10, true)]);
    let a2 = cl_tables(&[(41, 10, true), (42, 10, true)]);
    assert_ne!(a.generation(), a2.generation());
    assert_ne!(a.generation(), 0);
    assert_eq!(ServiceTables::default().generation(), 0);

    let c = ServiceCounters::default();
    let mut flows = a.flow_params().table(1);
    let first = delivered_to(&a, &mut flows, &c, 7000);
    for _ in 0..3 {
        assert_eq!(delivered_to(&a, &mut flows, &c, 7000), first);
    }
    assert_eq!((c.flows.misses.get(), c.flows.hits.get()), (1, 3));

    // A new snapshot where the chosen instance moved (another one listed first): the flow
    // keeps it (validated by ID in the FIB, then remembered at its new index).
    let other = if first == 41 { 42 } else { 41 };
    let b = cl_tables(&[(40, 10, true), (other, 10, true), (first, 10, true)]);
    for _ in 0..3 {
        assert_eq!(delivered_to(&b, &mut flows, &c, 7000), first);
    }
    assert_eq!((c.flows.misses.get(), c.flows.hits.get()), (1, 6));
    assert_eq!(c.flows.repicks.get(), 0);

    // The chosen instance fails in the next snapshot: the flow chooses again, among the
    // live ones, and keeps its new choice.
    let d = cl_tables(&[(40, 10, true), (other, 10, true), (first, 10, false)]);
    let again = delivered_to(&d, &mut flows, &c, 7000);
    assert_ne!(again, first);
    assert_eq!(c.flows.repicks.get(), 1);
    for _ in 0..3 {
        assert_eq!(delivered_to(&d, &mut flows, &c, 7000), again);
    }
    // Back in the old snapshot (a table swapped back): still validated, never trusted.
    assert_ne!(delivered_to(&a, &mut flows, &c, 7000), 40);
}
