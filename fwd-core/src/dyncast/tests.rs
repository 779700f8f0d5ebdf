//! Dyncast over hand-built frames: ITR encapsulation (every header checked), per-flow
//! affinity across table snapshots, ETR decapsulation, counted drops, and fuzzing.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use super::lisp::DATA_PORT;
use super::*;
use crate::buf::{PacketBuf, VecBuf};
use crate::packet::parse;
use crate::wire::{checksum, ipv4, ipv6, udp};

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

fn adj(port: u16) -> Adjacency {
    Adjacency {
        port,
        dst_mac: [0x02, 0, 0, 0, 0xe0, port as u8],
        src_mac: [0x02, 0, 0, 0, 0x1e, port as u8],
    }
}

fn rloc(addr: &str, priority: u8, weight: u8, port: u16) -> Rloc {
    Rloc {
        addr: ip(addr),
        priority,
        weight,
        adjacency: adj(port),
    }
}

const DSEID_A: &str = "198.51.100.10";
const DSEID_B: &str = "2001:db8:5e::b";
const CLIENT4: &str = "10.1.0.5";
const CLIENT6: &str = "2001:db8:1::5";

fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 0xaa, 0x02, 0, 0, 0, 0, 0xbb];
    f.extend(ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

fn udp_dgram(src: &IpAddr, dst: &IpAddr, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::new();
    u.extend(sport.to_be_bytes());
    u.extend(dport.to_be_bytes());
    u.extend(((8 + payload.len()) as u16).to_be_bytes());
    u.extend([0, 0]);
    u.extend_from_slice(payload);
    let mut p = udp::Packet::new_unchecked(&mut u[..]);
    p.fill_checksum(src, dst);
    u
}

/// An IPv4 or IPv6 UDP packet with a valid checksum.
fn ip_udp(src: &str, dst: &str, sport: u16, ttl: u8) -> Vec<u8> {
    let (s, d) = (ip(src), ip(dst));
    let u = udp_dgram(&s, &d, sport, 443, b"hello service");
    let mut p = Vec::new();
    match (s, d) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            p.extend([0x45, 0xb9]); // DSCP 46, ECN 1
            p.extend(((20 + u.len()) as u16).to_be_bytes());
            p.extend([0x12, 0x34, 0, 0, ttl, 17, 0, 0]);
            p.extend(s.octets());
            p.extend(d.octets());
            let c = checksum::checksum(&p);
            p[10..12].copy_from_slice(&c.to_be_bytes());
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            p.extend(((6u32 << 28) | (0xb9 << 20) | 0x12345).to_be_bytes());
            p.extend((u.len() as u16).to_be_bytes());
            p.extend([17, ttl]);
            p.extend(s.octets());
            p.extend(d.octets());
        }
        _ => panic!("mixed families"),
    }
    p.extend(u);
    p
}

fn request4(sport: u16) -> Vec<u8> {
    eth(0x0800, &ip_udp(CLIENT4, DSEID_A, sport, 64))
}

fn request6(sport: u16) -> Vec<u8> {
    eth(0x86dd, &ip_udp(CLIENT6, DSEID_B, sport, 64))
}

/// ITR_1 of the seed's figure 3: DSEID_A on RLOC2 (weight 70) and RLOC3 (30), a backup
/// RLOC4 at priority 2; DSEID_B (IPv6) on an IPv6 RLOC with Instance ID 7.
fn itr(set_a: Vec<Rloc>) -> DyncastTables {
    let mut m = MapCache::builder();
    m.mapping(ip(DSEID_A), set_a, None).unwrap();
    m.mapping(ip(DSEID_B), vec![rloc("2001:db8:e7::2", 1, 1, 2)], Some(7))
        .unwrap();
    let mut b = DyncastTables::builder();
    b.map_cache(m.freeze().unwrap())
        .source_v4(Ipv4Addr::new(192, 0, 2, 1))
        .source_v6("2001:db8:e7::1".parse().unwrap());
    b.build().unwrap()
}

fn set_a() -> Vec<Rloc> {
    vec![
        rloc("192.0.2.2", 1, 70, 2),
        rloc("192.0.2.3", 1, 30, 3),
        rloc("192.0.2.4", 2, 100, 4),
    ]
}

struct Worker {
    flows: DyncastFlows,
    c: DyncastCounters,
}

fn worker() -> Worker {
    Worker {
        flows: FlowTable::new(1 << 14, 100),
        c: DyncastCounters::default(),
    }
}

fn run(
    t: &DyncastTables,
    w: &mut Worker,
    f: &[u8],
    now: u64,
) -> (Result<Outcome, DropReason>, VecBuf) {
    let mut buf = VecBuf::new(f);
    let meta = parse(f).expect("valid input");
    let r = process(t, &mut buf, &meta, &mut w.flows, now, &w.c);
    (r, buf)
}

fn v4_at(b: &[u8]) -> Ipv4Addr {
    Ipv4Addr::new(b[0], b[1], b[2], b[3])
}

#[test]
fn itr_encapsulates_ipv4_over_ipv4_with_every_field_set() {
    let t = itr(set_a());
    let mut w = worker();
    let f = request4(40000);
    let (r, out) = run(&t, &mut w, &f, 0);
    let Ok(Outcome::Encapsulated { adjacency, rloc }) = r else {
        panic!("{r:?}")
    };
    assert!(rloc == ip("192.0.2.2") || rloc == ip("192.0.2.3"), "{rloc}");
    let o = out.data();
    assert_eq!(&o[..6], &adjacency.dst_mac);
    assert_eq!(&o[6..12], &adjacency.src_mac);
    assert_eq!(&o[12..14], &[0x08, 0x00]);
    let inner_len = f.len() - 14;
    let outer = ipv4::Packet::new_checked(&o[14..]).unwrap();
    assert_eq!(outer.version(), 4);
    assert_eq!(outer.header_len(), 20);
    assert_eq!(
        (outer.dscp(), outer.ecn()),
        (46, 1),
        "copied from the inner packet"
    );
    assert_eq!(usize::from(outer.total_len()), 20 + 8 + 8 + inner_len);
    assert!(outer.dont_frag());
    assert_eq!(outer.ident(), 0);
    assert_eq!(outer.ttl(), 63, "the inner TTL after its decrement");
    assert_eq!(outer.protocol(), crate::wire::IpProtocol::UDP);
    assert!(outer.verify_checksum());
    assert_eq!(outer.src_addr(), Ipv4Addr::new(192, 0, 2, 1));
    assert_eq!(IpAddr::V4(outer.dst_addr()), rloc);
    let u = udp::Packet::new_checked(&o[34..]).unwrap();
    assert!(u.src_port() >= 0xc000);
    assert_eq!(u.dst_port(), DATA_PORT);
    assert_eq!(usize::from(u.len()), 16 + inner_len);
    assert_eq!(u.checksum(), 0, "RFC 9300: zero over IPv4");
    assert_eq!(
        &o[42..50],
        &[0u8; 8],
        "LISP header: no flags, no nonce, no IID"
    );
    let inner = &o[50..];
    assert_eq!(inner.len(), inner_len);
    let ip4 = ipv4::Packet::new_checked(inner).unwrap();
    assert_eq!(ip4.ttl(), 63);
    assert!(ip4.verify_checksum());
    assert_eq!(inner[9], f[14 + 9]);
    assert_eq!(
        &inner[12..],
        &f[14 + 12..],
        "everything but TTL and checksum intact"
    );
    assert_eq!(v4_at(&inner[16..]), DSEID_A.parse::<Ipv4Addr>().unwrap());
    // The frame is a valid UDP packet to port 4341 as far as the parser goes.
    let m = parse(o).unwrap();
    assert_eq!(m.dst_port, DATA_PORT);
    assert_eq!(w.c.encapsulated.get(), 1);
}

#[test]
fn itr_ipv6_over_ipv6_with_instance_id_and_ipv6_over_ipv4() {
    let t = itr(set_a());
    let mut w = worker();
    let f = request6(1);
    let (r, out) = run(&t, &mut w, &f, 0);
    assert_eq!(
        r,
        Ok(Outcome::Encapsulated {
            adjacency: adj(2),
            rloc: ip("2001:db8:e7::2")
        })
    );
    let o = out.data();
    assert_eq!(&o[12..14], &[0x86, 0xdd]);
    let outer = ipv6::Packet::new_checked(&o[14..]).unwrap();
    assert_eq!(outer.traffic_class(), 0xb9);
    assert_eq!(outer.hop_limit(), 63);
    assert_eq!(outer.next_header(), crate::wire::IpProtocol::UDP);
    assert_eq!(usize::from(outer.payload_len()), 16 + f.len() - 14);
    let (s, d) = (IpAddr::V6(outer.src_addr()), IpAddr::V6(outer.dst_addr()));
    assert_eq!(s, ip("2001:db8:e7::1"));
    let u = udp::Packet::new_checked(&o[54..]).unwrap();
    assert_ne!(u.checksum(), 0);
    assert!(u.verify_checksum(&s, &d), "UDP checksum over IPv6 computed");
    assert_eq!(
        &o[62..70],
        &[0x08, 0, 0, 0, 0, 0, 7, 0],
        "I flag, Instance ID 7"
    );
    assert_eq!(o[70 + 7], 63, "inner hop limit decremented");
    assert_eq!(&o[70 + 8..], &f[14 + 8..]);

    // IPv6 inside IPv4 RLOCs.
    let mut m = MapCache::builder();
    m.mapping(ip(DSEID_B), vec![rloc("192.0.2.9", 0, 0, 9)], None)
        .unwrap();
    let mut b = DyncastTables::builder();
    b.map_cache(m.freeze().unwrap())
        .source_v4(Ipv4Addr::new(192, 0, 2, 1))
        .udp_checksum(true);
    let t = b.build().unwrap();
    let (r, out) = run(&t, &mut w, &f, 0);
    assert_eq!(
        r,
        Ok(Outcome::Encapsulated {
            adjacency: adj(9),
            rloc: ip("192.0.2.9")
        })
    );
    let o = out.data();
    let outer = ipv4::Packet::new_checked(&o[14..]).unwrap();
    assert_eq!(outer.dscp() << 2 | outer.ecn(), 0xb9);
    let u = udp::Packet::new_checked(&o[34..]).unwrap();
    assert!(u.verify_checksum(&ip("192.0.2.1"), &ip("192.0.2.9")));
    assert_ne!(u.checksum(), 0, "computed when asked, over IPv4 too");
    assert_eq!(o[50] >> 4, 6);
}

#[test]
fn flows_stick_to_their_rloc_and_repick_only_when_it_leaves() {
    let mut w = worker();
    let t = itr(set_a());
    let mut first = Vec::new();
    for sport in 0..1000u16 {
        let (r, _) = run(&t, &mut w, &request4(sport), 0);
        let Ok(Outcome::Encapsulated { rloc, .. }) = r else {
            panic!()
        };
        first.push(rloc);
    }
    let n2 = first.iter().filter(|r| **r == ip("192.0.2.2")).count();
    let n3 = first.iter().filter(|r| **r == ip("192.0.2.3")).count();
    assert_eq!(n2 + n3, 1000, "priority 2 is a backup only");
    assert!((630..770).contains(&n2), "weights 70/30: {n2}/{n3}");
    assert_eq!(w.c.flows.misses.get(), 1000);

    // Later packets: same RLOC, all hits.
    for (sport, want) in first.iter().enumerate().take(200) {
        let (r, _) = run(&t, &mut w, &request4(sport as u16), 1);
        assert!(matches!(r, Ok(Outcome::Encapsulated { rloc, .. }) if rloc == *want));
    }
    assert_eq!(w.c.flows.hits.get(), 200);

    // A new snapshot where RLOC3 got priority 2 and RLOC2's weight changed: every flow
    // keeps its RLOC (affinity beats re-balancing while the RLOC lives).
    let t2 = itr(vec![
        rloc("192.0.2.2", 1, 10, 2),
        rloc("192.0.2.3", 2, 30, 3),
        rloc("192.0.2.4", 2, 100, 4),
    ]);
    for (sport, want) in first.iter().enumerate().take(200) {
        let (r, _) = run(&t2, &mut w, &request4(sport as u16), 2);
        assert!(matches!(r, Ok(Outcome::Encapsulated { rloc, .. }) if rloc == *want));
    }
    assert_eq!(w.c.flows.repicks.get(), 0);

    // RLOC3 disappears: its flows re-pick (now only RLOC2 at the best priority); RLOC2's
    // flows stay.
    let t3 = itr(vec![
        rloc("192.0.2.2", 1, 10, 2),
        rloc("192.0.2.4", 2, 100, 4),
    ]);
    for (sport, was) in first.iter().enumerate().take(200) {
        let (r, _) = run(&t3, &mut w, &request4(sport as u16), 3);
        assert!(
            matches!(r, Ok(Outcome::Encapsulated { rloc, .. }) if rloc == ip("192.0.2.2")),
            "{was}"
        );
    }
    let moved = first[..200]
        .iter()
        .filter(|r| **r == ip("192.0.2.3"))
        .count() as u64;
    assert_eq!(w.c.flows.repicks.get(), moved);
    assert!(moved > 20);

    // Priority 255 is as good as gone; with every RLOC unusable the packet is dropped.
    let t4 = itr(vec![
        rloc("192.0.2.2", 255, 10, 2),
        rloc("192.0.2.4", 2, 100, 4),
    ]);
    let (r, _) = run(&t4, &mut w, &request4(0), 4);
    assert!(matches!(r, Ok(Outcome::Encapsulated { rloc, .. }) if rloc == ip("192.0.2.4")));
    let t5 = itr(vec![rloc("192.0.2.2", 255, 10, 2)]);
    assert_eq!(
        run(&t5, &mut w, &request4(0), 5).0,
        Err(DropReason::DyncastNoRloc)
    );
    assert_eq!(
        run(&itr(vec![]), &mut w, &request4(0), 5).0,
        Err(DropReason::DyncastNoRloc)
    );

    // Aging: idle past the timeout, the flow is new again (a miss).
    let misses = w.c.flows.misses.get();
    let expired = w.c.flows.expired.get();
    let (r, _) = run(&t, &mut w, &request4(999), 1000);
    assert!(r.is_ok());
    assert_eq!(w.c.flows.misses.get(), misses + 1);
    assert_eq!(w.c.flows.expired.get(), expired + 1);
    let s = w.c.snapshot();
    let mut total = DyncastCounterSnapshot::default();
    total.accumulate(&s);
    total.accumulate(&s);
    assert_eq!(total.flows.hits, 2 * s.flows.hits);
}

#[test]
fn itr_drops_and_passes() {
    let t = itr(set_a());
    let mut w = worker();
    // Not a DSEID, MPLS, or no tables: untouched.
    let other = eth(0x0800, &ip_udp(CLIENT4, "198.51.100.11", 1, 64));
    let (r, out) = run(&t, &mut w, &other, 0);
    assert_eq!(r, Ok(Outcome::Pass));
    assert_eq!(out.data(), &other[..]);
    let mut mpls = eth(0x8847, &[0, 0, 0x11, 64]);
    mpls.extend(ip_udp(CLIENT4, DSEID_A, 1, 64));
    assert_eq!(run(&t, &mut w, &mpls, 0).0, Ok(Outcome::Pass));
    assert_eq!(
        run(&DyncastTables::default(), &mut w, &request4(1), 0).0,
        Ok(Outcome::Pass)
    );
    // TTL.
    let f = eth(0x0800, &ip_udp(CLIENT4, DSEID_A, 1, 1));
    assert_eq!(run(&t, &mut w, &f, 0).0, Err(DropReason::TtlExpired));
    let f = eth(0x86dd, &ip_udp(CLIENT6, DSEID_B, 1, 0));
    assert_eq!(run(&t, &mut w, &f, 0).0, Err(DropReason::TtlExpired));
    // Headroom.
    let f = request4(1);
    let mut buf = VecBuf::with_headroom(&f, 10);
    let meta = parse(&f).unwrap();
    assert_eq!(
        process(&t, &mut buf, &meta, &mut w.flows, 0, &w.c),
        Err(DropReason::DyncastNoHeadroom)
    );
    // Too big for an outer IPv4 header.
    let mut big = vec![0u8; 14 + 65_515];
    big[12..14].copy_from_slice(&[0x08, 0x00]);
    let h = &mut big[14..34];
    h.copy_from_slice(&[
        0x45, 0, 0xff, 0xeb, 0, 0, 0, 0, 64, 6, 0, 0, 10, 1, 0, 5, 198, 51, 100, 10,
    ]);
    let c = checksum::checksum(h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    let mut buf = VecBuf::new(&big);
    let meta = parse(&big).unwrap();
    assert_eq!(
        process(&t, &mut buf, &meta, &mut w.flows, 0, &w.c),
        Err(DropReason::DyncastTooBig)
    );
}

#[test]
fn tables_need_a_source_per_rloc_family() {
    let mut m = MapCache::builder();
    m.mapping(ip(DSEID_A), vec![rloc("2001:db8::2", 1, 1, 2)], None)
        .unwrap();
    let mut b = DyncastTables::builder();
    b.map_cache(m.freeze().unwrap())
        .source_v4(Ipv4Addr::new(192, 0, 2, 1));
    assert_eq!(
        b.build().unwrap_err(),
        TablesError::NoSource(ip("2001:db8::2"))
    );
    b.source_v6(Ipv6Addr::LOCALHOST);
    assert!(b.build().is_ok());
    b.local_rloc(ip("192.0.2.1")).unwrap();
    assert_eq!(
        b.local_rloc(ip("192.0.2.1")).unwrap_err(),
        TablesError::LocalRloc(ip("192.0.2.1"))
    );
}

/// ETR_2's tables: RLOC2 local, decapsulated packets to the site adjacency.
fn etr(decap: bool) -> DyncastTables {
    let mut b = DyncastTables::builder();
    b.local_rloc(ip("192.0.2.2")).unwrap();
    b.local_rloc(ip("2001:db8:e7::2")).unwrap();
    if decap {
        b.decap_adjacency(adj(20));
    }
    b.build().unwrap()
}

#[test]
fn itr_to_etr_round_trip() {
    let t = itr(vec![rloc("192.0.2.2", 1, 1, 2)]);
    let mut w = worker();
    for (f, is_v4) in [(request4(7), true), (request6(7), false)] {
        let (r, out) = run(&t, &mut w, &f, 0);
        assert!(r.is_ok());
        let e = etr(true);
        let mut ew = worker();
        let (r, back) = run(&e, &mut ew, out.data(), 0);
        assert_eq!(r, Ok(Outcome::Decapsulated(Some(adj(20)))));
        let b = back.data();
        assert_eq!(&b[..6], &adj(20).dst_mac);
        assert_eq!(
            &b[12..14],
            if is_v4 { &[0x08, 0x00] } else { &[0x86, 0xdd] }
        );
        // The inner packet as the ITR routed it: TTL one less, all else equal.
        assert_eq!(b.len(), f.len());
        let (ttl_at, rest) = if is_v4 {
            (14 + 8, 14 + 12)
        } else {
            (14 + 7, 14 + 8)
        };
        assert_eq!(b[ttl_at], 63);
        assert_eq!(&b[rest..], &f[rest..]);
        assert!(parse(b).is_ok());
        assert_eq!(ew.c.decapsulated.get(), 1);

        // Without a decap adjacency: received MACs kept, for the IP path.
        let (r, back) = run(&etr(false), &mut ew, out.data(), 0);
        assert_eq!(r, Ok(Outcome::Decapsulated(None)));
        assert_eq!(&back.data()[..12], &out.data()[..12]);
    }
}

/// A UDP datagram to `dst:4341` carrying `lisp_and_inner`.
fn to_etr(dst: &str, lisp_and_inner: &[u8], frag: bool) -> Vec<u8> {
    let (s, d) = (ip("192.0.2.1"), ip(dst));
    let u = udp_dgram(&s, &d, 50000, DATA_PORT, lisp_and_inner);
    let mut p = vec![0x45, 0];
    p.extend(((20 + u.len()) as u16).to_be_bytes());
    p.extend([0, 1, if frag { 0x20 } else { 0 }, 0, 64, 17, 0, 0]);
    p.extend([192, 0, 2, 1]);
    let IpAddr::V4(d4) = d else { panic!() };
    p.extend(d4.octets());
    let c = checksum::checksum(&p);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p.extend(u);
    eth(0x0800, &p)
}

#[test]
fn etr_drops_malformed_lisp() {
    let e = etr(true);
    let mut w = worker();
    assert_eq!(
        run(&e, &mut w, &to_etr("192.0.2.2", &[0; 7], false), 0).0,
        Err(DropReason::DyncastLispTruncated)
    );
    assert_eq!(
        run(&e, &mut w, &to_etr("192.0.2.2", &[0; 8], false), 0).0,
        Err(DropReason::DyncastBadInner)
    );
    let mut l = vec![0u8; 8];
    l.push(0x55);
    assert_eq!(
        run(&e, &mut w, &to_etr("192.0.2.2", &l, false), 0).0,
        Err(DropReason::DyncastBadInner)
    );
    let mut l = vec![0u8; 8];
    l.extend(ip_udp(CLIENT4, DSEID_A, 1, 9));
    assert_eq!(
        run(&e, &mut w, &to_etr("192.0.2.2", &l, true), 0).0,
        Err(DropReason::DyncastFragment)
    );
    // Not to a local RLOC: not ours.
    assert_eq!(
        run(&e, &mut w, &to_etr("192.0.2.3", &l, false), 0).0,
        Ok(Outcome::Pass)
    );
    assert!(decap::is_local(&e, &ip("192.0.2.2")));
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let tables = [itr(set_a()), etr(true)];
        let mut w = worker();
        for t in &tables {
            let mut buf = VecBuf::new(&bytes);
            if let Ok(meta) = parse(&bytes) {
                let _ = process(t, &mut buf, &meta, &mut w.flows, 0, &w.c);
            }
        }
    }

    /// Valid requests and LISP packets with random mutations, random headroom: never a
    /// panic, and what is sent parses.
    #[test]
    fn mutated_frames_never_panic(
        flips in proptest::collection::vec((0usize..120, any::<u8>()), 0..6),
        headroom in 0usize..100,
        tail in proptest::collection::vec(any::<u8>(), 0..40),
        now in 0u64..300,
    ) {
        let tables = [itr(set_a()), etr(false)];
        let mut w = worker();
        let mut lisp = vec![0u8; 8];
        lisp.extend(&tail);
        let mut frames = [request4(3), request6(4), to_etr("192.0.2.2", &lisp, false)];
        for f in frames.iter_mut() {
            for (at, v) in &flips {
                let n = f.len();
                f[*at % n] ^= *v;
            }
        }
        for t in &tables {
            for f in &frames {
                let mut buf = VecBuf::with_headroom(f, headroom);
                if let Ok(meta) = parse(f) {
                    if let Ok(Outcome::Encapsulated { .. }) =
                        process(t, &mut buf, &meta, &mut w.flows, now, &w.c)
                    {
                        prop_assert!(parse(buf.data()).is_ok());
                    }
                }
            }
        }
    }
}
