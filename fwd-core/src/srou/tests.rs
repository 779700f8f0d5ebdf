//! Data-plane tests of SRoU on hand-built frames: encapsulation, transit, decapsulation,
//! token checks, a four-node path and malformed inputs.

use core::net::SocketAddr;

use proptest::prelude::*;

use super::testutil::*;
use super::*;
use crate::buf::VecBuf;
use crate::packet::parse;
use crate::wire::checksum;

const FLOW: [u8; 3] = [0x00, 0x01, 0x23];

fn adj(port: u16, n: u8) -> Adjacency {
    Adjacency {
        port,
        dst_mac: [0x02, 0xd0, 0, 0, 0, n],
        src_mac: [0x02, 0x50, 0, 0, 0, n],
    }
}

/// The addresses of a four-node path: ingress I, transits T1 and T2, egress E.
struct Net {
    i: SocketAddr,
    t1: SocketAddr,
    t2: SocketAddr,
    e: SocketAddr,
    /// The inner destination with a policy at I.
    dst: &'static str,
}

const NET4: Net = Net {
    i: SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 1, 1)), 8811),
    t1: SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 2, 1)), 8811),
    t2: SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 3, 1)), 9000),
    e: SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 4, 1)), 8811),
    dst: "172.16.0.5",
};

fn net6() -> Net {
    Net {
        i: sa("[2001:db8:1::1]:8811"),
        t1: sa("[2001:db8:2::1]:8811"),
        t2: sa("[2001:db8:3::1]:9000"),
        e: sa("[2001:db8:4::1]:8811"),
        dst: "fd00::5",
    }
}

/// Tables of one node: its locator, next hops to every other node (port 1, MAC byte =
/// last address byte), and at the ingress a policy I -> T1 -> T2 -> E.
fn node(
    net: &Net,
    me: SocketAddr,
    decap: bool,
    f: impl FnOnce(&mut SrouTablesBuilder),
) -> SrouTables {
    let mut b = SrouTables::builder();
    b.locator(me, decap).expect("locator");
    for (n, hop) in [net.i, net.t1, net.t2, net.e].iter().enumerate() {
        if *hop != me {
            b.next_hop(hop.ip(), adj(1, n as u8)).expect("next hop");
        }
    }
    if me == net.i {
        b.policy(
            ip(net.dst),
            PolicySpec {
                flow_id: FlowId::new(&FLOW).expect("flow"),
                source: net.i,
                path: vec![net.t1, net.t2, net.e],
                service: None,
            },
        );
    }
    f(&mut b);
    b.build().expect("tables")
}

/// Headroom enough for the longest encapsulation: 14 + 40 + 8 + 255 - 14 bytes.
const BIG_HEADROOM: usize = 320;

/// Runs `process` over a copy of `frame` (which must parse) with [`BIG_HEADROOM`];
/// returns the outcome and the resulting frame.
fn run(t: &SrouTables, frame: &[u8], c: &SrouCounters) -> (Result<Outcome, DropReason>, Vec<u8>) {
    let mut buf = VecBuf::with_headroom(frame, BIG_HEADROOM);
    let meta = parse(buf.data()).expect("input frame parses");
    let out = process(t, &mut buf, &meta, c);
    (out, buf.data().to_vec())
}

fn inner4() -> Vec<u8> {
    ip_udp("192.168.1.10", "172.16.0.5", b"hello, srou", 64, 0xb8)
}

/// The SRoU segments of the I -> T1 -> T2 -> E path in wire order.
fn segs(net: &Net) -> [SocketAddr; 3] {
    [net.e, net.t2, net.t1]
}

/// A NAT between the ingress and the first hop: rewrites the outer source and refreshes
/// the checksums from scratch.
fn nat(frame: &mut [u8], src: SocketAddr) {
    let IpAddr::V4(a) = src.ip() else {
        panic!("IPv4 NAT only")
    };
    frame[14 + 12..14 + 16].copy_from_slice(&a.octets());
    frame[14 + 10..14 + 12].copy_from_slice(&[0, 0]);
    let c = checksum::checksum(&frame[14..34]);
    frame[14 + 10..14 + 12].copy_from_slice(&c.to_be_bytes());
    frame[34..36].copy_from_slice(&src.port().to_be_bytes());
    if frame[40..42] != [0, 0] {
        frame[40..42].copy_from_slice(&[0, 0]);
        let len = usize::from(u16::from_be_bytes([frame[38], frame[39]]));
        let dst = IpAddr::from(<[u8; 4]>::try_from(&frame[30..34]).expect("4"));
        let c = match udp_sum(&src.ip(), &dst, &frame[34..34 + len]) {
            0 => 0xffff,
            c => c,
        };
        frame[40..42].copy_from_slice(&c.to_be_bytes());
    }
}

// ---------------------------------------------------------------- encapsulation

#[test]
fn encap_ipv4_writes_every_field() {
    let t = node(&NET4, NET4.i, true, |_| {});
    let c = SrouCounters::default();
    let inner = inner4();
    let (out, f) = run(&t, &eth(&[], 0x0800, &inner), &c);
    let a = adj(1, 1);
    assert_eq!(out, Ok(Outcome::Encapsulated(a)));
    let srou_len = 4 + 3 + 6 + 4 + 3 * 6;
    let udp_len = 8 + srou_len + inner.len();
    let total = 20 + udp_len;
    assert_eq!(f.len(), 14 + total);
    // Ethernet.
    assert_eq!(f[0..6], a.dst_mac);
    assert_eq!(f[6..12], a.src_mac);
    assert_eq!(f[12..14], [0x08, 0x00]);
    // Outer IPv4: TOS copied, DF, ident 0, TTL 64, UDP, I -> T1.
    let mut want_ip = vec![0x45, 0xb8];
    want_ip.extend((total as u16).to_be_bytes());
    want_ip.extend([0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 1, 1, 10, 0, 2, 1]);
    let csum = checksum::checksum(&want_ip);
    want_ip[10..12].copy_from_slice(&csum.to_be_bytes());
    assert_eq!(f[14..34], want_ip[..]);
    assert_eq!(checksum::checksum(&f[14..34]), 0);
    // UDP: 8811 -> 8811, length, checksum 0.
    let mut want_udp = vec![0x22, 0x6b, 0x22, 0x6b];
    want_udp.extend((udp_len as u16).to_be_bytes());
    want_udp.extend([0, 0]);
    assert_eq!(f[34..42], want_udp[..]);
    // SRoU: the draft layout, Segment List[0] = E ... [2] = T1, SL = LE = 2.
    let want_srou: [u8; 35] = [
        0x00, 35, 3, 0x01, // magic, length, flow ID length, IPv4
        0x00, 0x01, 0x23, // flow ID
        10, 0, 1, 1, 0x22, 0x6b, // source: I
        0x01, 22, 2, 2, // type, SR hdr len, last entry, segments left
        10, 0, 4, 1, 0x22, 0x6b, // [0] E
        10, 0, 3, 1, 0x23, 0x28, // [1] T2 (port 9000)
        10, 0, 2, 1, 0x22, 0x6b, // [2] T1
    ];
    assert_eq!(srou_len, want_srou.len());
    assert_eq!(f[42..42 + srou_len], want_srou[..]);
    assert_eq!(f[42 + srou_len..], inner[..]);
    let o = outer(&f);
    assert_eq!((o.src, o.dst, o.ttl, o.udp_csum), (NET4.i, NET4.t1, 64, 0));
    let meta = parse(&f).expect("output parses");
    assert!(meta.is_udp());
    assert_eq!(meta.dst_port, 8811);
    let s = c.snapshot();
    assert_eq!((s.encapsulated, s.tokens_permitted), (1, 1));
}

#[test]
fn encap_drops_vlan_tags_and_padding_from_the_lengths() {
    let t = node(&NET4, NET4.i, true, |_| {});
    let c = SrouCounters::default();
    let inner = ip_udp("192.168.1.10", "172.16.0.5", b"x", 9, 0);
    let mut frame = eth(&[100, 200], 0x0800, &inner);
    frame.resize(64, 0xee); // Ethernet padding
    let (out, f) = run(&t, &frame, &c);
    assert!(matches!(out, Ok(Outcome::Encapsulated(_))));
    assert_eq!(f[12..14], [0x08, 0x00], "untagged");
    let o = outer(&f);
    assert_eq!(o.udp_len, 8 + 35 + inner.len());
    let inner_at = o.srou_at + 35;
    assert_eq!(f[inner_at..inner_at + inner.len()], inner[..]);
    assert!(f[inner_at + inner.len()..].iter().all(|b| *b == 0xee));
    assert_eq!(f[inner_at + 8], 9, "inner TTL untouched (pipe model)");
}

#[test]
fn encap_fills_the_udp_checksum_when_asked_and_over_ipv6() {
    let c = SrouCounters::default();
    let t = node(&NET4, NET4.i, true, |b| {
        b.udp_checksum(true).outer_ttl(17);
    });
    let (out, f) = run(&t, &eth(&[], 0x0800, &inner4()), &c);
    assert!(matches!(out, Ok(Outcome::Encapsulated(_))));
    let o = outer(&f);
    assert_ne!(o.udp_csum, 0);
    assert_eq!(o.ttl, 17);

    let n6 = net6();
    let t = node(&n6, n6.i, true, |_| {});
    let inner = ip_udp("fd00::1", "fd00::5", b"v6 inner", 30, 0x2e);
    let (out, f) = run(&t, &eth(&[], 0x86dd, &inner), &c);
    assert_eq!(out, Ok(Outcome::Encapsulated(adj(1, 1))));
    assert_eq!(f[12..14], [0x86, 0xdd]);
    // Version 6, traffic class 0x2e copied, flow label 0.
    assert_eq!(f[14..18], [0x62, 0xe0, 0, 0]);
    let srou_len = 4 + 3 + 18 + 4 + 3 * 18;
    let udp_len = 8 + srou_len + inner.len();
    assert_eq!(f[18..20], (udp_len as u16).to_be_bytes());
    assert_eq!(f[20..22], [17, 64]);
    let o = outer(&f);
    assert_eq!((o.src, o.dst), (n6.i, n6.t1));
    assert_ne!(o.udp_csum, 0, "IPv6 always carries a UDP checksum");
    // 40 + 8 + 83 bytes: more than a default mbuf's 128-byte headroom.
    assert_eq!(t.max_overhead(), 131);
    let mut mbuf_like = VecBuf::with_headroom(&eth(&[], 0x86dd, &inner), VecBuf::HEADROOM);
    let meta = parse(mbuf_like.data()).expect("parses");
    assert_eq!(
        process(&t, &mut mbuf_like, &meta, &c),
        Err(DropReason::SrouNoHeadroom)
    );
    let h = wire::Header::new_checked(&f[o.srou_at..o.srou_at + srou_len]).expect("srou");
    assert_eq!(h.protocol_id(), wire::ProtocolId::IPV6);
    assert_eq!(h.segment(0), Some(n6.e));
    assert_eq!(h.segment(2), Some(n6.t1));
    assert_eq!(f[o.srou_at + srou_len..], inner[..]);
}

#[test]
fn encap_pass_and_errors() {
    let c = SrouCounters::default();
    let t = node(&NET4, NET4.i, true, |_| {});
    // No policy: untouched.
    let other = eth(
        &[],
        0x0800,
        &ip_udp("192.168.1.10", "172.16.0.6", b"x", 64, 0),
    );
    let (out, f) = run(&t, &other, &c);
    assert_eq!(out, Ok(Outcome::Pass));
    assert_eq!(f, other);
    // Empty tables: untouched.
    let (out, _) = run(&SrouTables::default(), &eth(&[], 0x0800, &inner4()), &c);
    assert_eq!(out, Ok(Outcome::Pass));
    // Tokens.
    let blocked = node(&NET4, NET4.i, true, |b| {
        let mut acl = TokenAcl::new(AclMode::BlockOnly);
        acl.block(FlowId::new(&FLOW).expect("flow"));
        b.acl(acl);
    });
    let frame = eth(&[], 0x0800, &inner4());
    assert_eq!(
        run(&blocked, &frame, &c).0,
        Err(DropReason::SrouTokenBlocked)
    );
    let permit_only = node(&NET4, NET4.i, true, |b| {
        b.acl(TokenAcl::new(AclMode::PermitOnly));
    });
    assert_eq!(
        run(&permit_only, &frame, &c).0,
        Err(DropReason::SrouTokenNotPermitted)
    );
    // Headroom: a DPDK mbuf's default 128 bytes hold this IPv4 encapsulation (63 bytes
    // more than the received Ethernet header), not 62.
    let mut mbuf_like = VecBuf::with_headroom(&frame, VecBuf::HEADROOM);
    let meta = parse(mbuf_like.data()).expect("parses");
    assert!(process(&t, &mut mbuf_like, &meta, &c).is_ok());
    let mut small = VecBuf::with_headroom(&frame, 20 + 8 + 35 - 1);
    let meta = parse(small.data()).expect("parses");
    assert_eq!(
        process(&t, &mut small, &meta, &c),
        Err(DropReason::SrouNoHeadroom)
    );
    // Too big for an IPv4 total length.
    let big = ip_packet(
        &ip("192.168.1.10"),
        &ip("172.16.0.5"),
        253,
        64,
        0,
        &vec![0u8; 65_480],
    );
    let (out, _) = run(&t, &eth(&[], 0x0800, &big), &c);
    assert_eq!(out, Err(DropReason::SrouTooBig));
    assert_eq!(c.snapshot().encapsulated, 1);
}

// ---------------------------------------------------------------- transit

/// The frame a transit node must produce, built from scratch.
fn expected(
    src: SocketAddr,
    dst: SocketAddr,
    ttl: u8,
    srou: &[u8],
    inner: &[u8],
    csum: bool,
    a: Adjacency,
) -> Vec<u8> {
    let mut f = srou_frame(src, dst, ttl, srou, inner, csum);
    a.rewrite(&mut f);
    f
}

#[test]
fn transit_first_hop_rewrites_source_and_matches_a_fresh_frame() {
    let t = node(&NET4, NET4.t1, false, |_| {});
    let c = SrouCounters::default();
    let inner = inner4();
    let natted = sa("203.0.113.7:40000");
    for csum in [true, false] {
        let hdr = srou(&FLOW, NET4.i, &segs(&NET4), 2);
        let frame = srou_frame(natted, NET4.t1, 64, &hdr, &inner, csum);
        let (out, f) = run(&t, &frame, &c);
        let a = adj(1, 2);
        assert_eq!(out, Ok(Outcome::Transited(a)));
        let want_srou = srou(&FLOW, natted, &segs(&NET4), 1);
        // Source and SL are the only SRoU bytes that change.
        assert_eq!(want_srou[7..13], [203, 0, 113, 7, 0x9c, 0x40]);
        assert_eq!(want_srou[16], 1);
        assert_eq!(
            f,
            expected(NET4.t1, NET4.t2, 63, &want_srou, &inner, csum, a)
        );
        let o = outer(&f);
        assert_eq!((o.src, o.dst, o.ttl), (NET4.t1, NET4.t2, 63));
        assert_eq!(o.udp_csum != 0, csum);
    }
    let s = c.snapshot();
    assert_eq!((s.transited, s.nat_alg, s.tokens_permitted), (2, 2, 2));
}

#[test]
fn transit_later_hop_keeps_source() {
    let t = node(&NET4, NET4.t2, false, |_| {});
    let c = SrouCounters::default();
    let inner = inner4();
    let hdr = srou(&FLOW, sa("203.0.113.7:40000"), &segs(&NET4), 1);
    let frame = srou_frame(NET4.t1, NET4.t2, 5, &hdr, &inner, true);
    let (out, f) = run(&t, &frame, &c);
    let a = adj(1, 3);
    assert_eq!(out, Ok(Outcome::Transited(a)));
    let want = srou(&FLOW, sa("203.0.113.7:40000"), &segs(&NET4), 0);
    assert_eq!(f, expected(NET4.t2, NET4.e, 4, &want, &inner, true, a));
    assert_eq!(c.snapshot().nat_alg, 0);
}

#[test]
fn transit_incremental_checksums_at_every_alignment_and_family() {
    for n in [NET4, net6()] {
        let t = node(&n, n.t1, false, |_| {});
        let c = SrouCounters::default();
        for flow_len in 0..=6usize {
            let flow: Vec<u8> = (0..flow_len as u8).map(|i| 0xa0 + i).collect();
            for inner in [inner4(), ip_udp("fd00::1", "fd00::5", b"odd", 9, 0)] {
                let hdr = srou(&flow, n.i, &segs(&n), 2);
                let frame = srou_frame(n.i, n.t1, 64, &hdr, &inner, true);
                let (out, f) = run(&t, &frame, &c);
                let a = adj(1, 2);
                assert_eq!(out, Ok(Outcome::Transited(a)), "flow len {flow_len}");
                let want = srou(&flow, n.i, &segs(&n), 1);
                assert_eq!(f, expected(n.t1, n.t2, 63, &want, &inner, true, a));
                outer(&f);
            }
        }
    }
}

#[test]
fn transit_errors_are_specific() {
    let c = SrouCounters::default();
    let t1 = node(&NET4, NET4.t1, false, |_| {});
    let inner = inner4();
    let ok = srou(&FLOW, NET4.i, &segs(&NET4), 2);
    let frame = |hdr: &[u8], ttl: u8| srou_frame(NET4.i, NET4.t1, ttl, hdr, &inner, false);
    assert_eq!(run(&t1, &frame(&ok, 1), &c).0, Err(DropReason::TtlExpired));
    assert_eq!(run(&t1, &frame(&ok, 0), &c).0, Err(DropReason::TtlExpired));
    // SL 0 at a transit-only locator: no wrap to 255.
    let sl0 = srou(&FLOW, NET4.i, &segs(&NET4), 0);
    assert_eq!(
        run(&t1, &frame(&sl0, 64), &c).0,
        Err(DropReason::SrouSegmentsLeftZero)
    );
    // No adjacency for the next segment.
    let lonely = SrouTables::builder();
    let mut lonely = lonely;
    lonely.locator(NET4.t1, false).expect("locator");
    let lonely = lonely.build().expect("tables");
    assert_eq!(
        run(&lonely, &frame(&ok, 64), &c).0,
        Err(DropReason::SrouNoNextHop)
    );
    // A service segment anywhere but Segment List[0].
    let svc = wire::ServiceSegment {
        vnid: 7,
        behavior: wire::ServiceSegment::END_DT4,
    }
    .to_slot();
    let mut raw = Vec::new();
    raw.extend([10, 0, 4, 1, 0x22, 0x6b]);
    raw.extend(svc);
    raw.extend([10, 0, 2, 1, 0x22, 0x6b]);
    let misplaced = srou_raw(&FLOW, NET4.i, &raw, 2);
    assert_eq!(
        run(&t1, &frame(&misplaced, 64), &c).0,
        Err(DropReason::SrouBadServiceSegment)
    );
    // OAM.
    let oam = [0x00, 8, 3, 0x00, 0x00, 0x01, 0x23, 0x01];
    assert_eq!(
        run(&t1, &frame(&oam, 64), &c).0,
        Err(DropReason::SrouOamUnsupported)
    );
    // Protocol-ID IPv6 inside an IPv4 outer header.
    let v6 = srou(
        &FLOW,
        sa("[2001:db8::1]:1"),
        &[sa("[2001:db8::2]:2"), sa("[2001:db8::3]:3")],
        1,
    );
    assert_eq!(
        run(&t1, &frame(&v6, 64), &c).0,
        Err(DropReason::SrouFamilyMismatch)
    );
    // A first fragment to the locator.
    let mut frag = frame(&ok, 64);
    frag[14 + 6] = 0x20; // MF
    frag[14 + 10..14 + 12].copy_from_slice(&[0, 0]);
    let ck = checksum::checksum(&frag[14..34]);
    frag[14 + 10..14 + 12].copy_from_slice(&ck.to_be_bytes());
    assert_eq!(run(&t1, &frag, &c).0, Err(DropReason::SrouFragment));
    // Another port on the locator's address is not SRoU.
    let other = srou_frame(NET4.i, sa("10.0.2.1:53"), 64, &ok, &inner, false);
    assert_eq!(run(&t1, &other, &c).0, Ok(Outcome::Pass));
    assert_eq!(c.snapshot().transited, 0);
}

// ---------------------------------------------------------------- tokens at receivers

#[test]
fn tokens_are_checked_at_transit_and_egress() {
    let c = SrouCounters::default();
    let inner = inner4();
    let mk = |mode: AclMode, permit: &[&[u8]], block: &[&[u8]], me: SocketAddr| {
        node(&NET4, me, true, |b| {
            let mut acl = TokenAcl::new(mode);
            permit
                .iter()
                .for_each(|p| acl.permit(FlowId::new(p).expect("flow")));
            block
                .iter()
                .for_each(|p| acl.block(FlowId::new(p).expect("flow")));
            b.acl(acl);
        })
    };
    let at_t1 = srou_frame(
        NET4.i,
        NET4.t1,
        64,
        &srou(&FLOW, NET4.i, &segs(&NET4), 2),
        &inner,
        false,
    );
    let at_e = srou_frame(
        NET4.t2,
        NET4.e,
        64,
        &srou(&FLOW, NET4.i, &segs(&NET4), 0),
        &inner,
        false,
    );
    for (frame, me) in [(&at_t1, NET4.t1), (&at_e, NET4.e)] {
        let t = mk(AclMode::BlockOnly, &[], &[&FLOW], me);
        assert_eq!(run(&t, frame, &c).0, Err(DropReason::SrouTokenBlocked));
        let t = mk(AclMode::PermitOnly, &[&FLOW], &[&FLOW], me);
        assert_eq!(
            run(&t, frame, &c).0,
            Err(DropReason::SrouTokenBlocked),
            "block wins"
        );
        let t = mk(AclMode::PermitOnly, &[&[1, 2]], &[], me);
        assert_eq!(run(&t, frame, &c).0, Err(DropReason::SrouTokenNotPermitted));
        let t = mk(AclMode::PermitOnly, &[&FLOW], &[&[9]], me);
        assert!(run(&t, frame, &c).0.is_ok());
        let t = mk(AclMode::BlockOnly, &[], &[&[9]], me);
        assert!(run(&t, frame, &c).0.is_ok(), "{me}");
    }
    assert_eq!(c.snapshot().tokens_permitted, 4);
}

// ---------------------------------------------------------------- decapsulation

#[test]
fn decap_delivers_the_inner_packet() {
    let c = SrouCounters::default();
    let e = node(&NET4, NET4.e, true, |_| {});
    let origin = sa("203.0.113.7:40000");
    for inner in [inner4(), ip_udp("fd00::1", "fd00::5", b"six", 3, 0)] {
        let hdr = srou(&FLOW, origin, &segs(&NET4), 0);
        let frame = srou_frame(NET4.t2, NET4.e, 64, &hdr, &inner, true);
        let (out, f) = run(&e, &frame, &c);
        let kind = if inner[0] >> 4 == 4 {
            L3Kind::Ipv4
        } else {
            L3Kind::Ipv6
        };
        assert_eq!(
            out,
            Ok(Outcome::Decapsulated(Decap {
                inner: kind,
                origin,
                vnid: None,
                adjacency: None,
            }))
        );
        // The received MACs are kept when no decap adjacency is configured.
        assert_eq!(f, eth(&[], ethertype_of(&inner), &inner));
        parse(&f).expect("delivered frame parses");
    }
    // With a decap adjacency, and sent straight from the ingress (LE == SL == 0): the
    // origin is the outer source (the ingress may be behind a NAT).
    let d = adj(4, 9);
    let e = node(&NET4, NET4.e, true, |b| {
        b.decap_adjacency(d);
    });
    let inner = inner4();
    let hdr = srou(&FLOW, NET4.i, &[NET4.e], 0);
    let frame = srou_frame(origin, NET4.e, 64, &hdr, &inner, false);
    let (out, f) = run(&e, &frame, &c);
    let Ok(Outcome::Decapsulated(got)) = out else {
        panic!("{out:?}")
    };
    assert_eq!(got.origin, origin);
    assert_eq!(got.adjacency, Some(d));
    let mut want = eth(&[], 0x0800, &inner);
    d.rewrite(&mut want);
    assert_eq!(f, want);
    assert_eq!(c.snapshot().decapsulated, 3);
}

#[test]
fn decap_rejects_bad_inner_packets() {
    let c = SrouCounters::default();
    let e = node(&NET4, NET4.e, true, |_| {});
    let hdr = srou(&FLOW, NET4.i, &segs(&NET4), 0);
    // The last two: headers that lie about their lengths (IHL 0 after a shifted start,
    // IPv4 total length beyond the payload, IPv6 payload length beyond it).
    let mut ihl0 = inner4();
    ihl0[0] = 0x40;
    let mut long4 = inner4();
    long4[2..4].copy_from_slice(&1400u16.to_be_bytes());
    let mut long6 = vec![0u8; 48];
    long6[0] = 0x60;
    long6[4..6].copy_from_slice(&9u16.to_be_bytes());
    for inner in [
        vec![],
        vec![0x55; 30],
        vec![0x45; 10],
        vec![0x60; 39],
        ihl0,
        long4,
        long6,
    ] {
        let frame = srou_frame(NET4.t2, NET4.e, 64, &hdr, &inner, false);
        assert_eq!(
            run(&e, &frame, &c).0,
            Err(DropReason::SrouBadInner),
            "{inner:?}"
        );
    }
}

#[test]
fn service_segment_decapsulates_into_a_vrf() {
    let c = SrouCounters::default();
    let svc = |behavior| {
        wire::ServiceSegment {
            vnid: 0x00ab_cdef,
            behavior,
        }
        .to_slot()
    };
    let raw = |behavior| {
        let mut r = svc(behavior).to_vec();
        r.extend([10, 0, 4, 1, 0x22, 0x6b]); // [1] E
        r.extend([10, 0, 2, 1, 0x22, 0x6b]); // [2] T1
        r
    };
    let e = node(&NET4, NET4.e, true, |_| {});
    let inner = inner4();
    let ok = srou_raw(&FLOW, NET4.i, &raw(wire::ServiceSegment::END_DT4), 1);
    let frame = srou_frame(NET4.t1, NET4.e, 64, &ok, &inner, false);
    let (out, f) = run(&e, &frame, &c);
    assert_eq!(
        out,
        Ok(Outcome::Decapsulated(Decap {
            inner: L3Kind::Ipv4,
            origin: NET4.i,
            vnid: Some(0x00ab_cdef),
            adjacency: None,
        }))
    );
    assert_eq!(f, eth(&[], 0x0800, &inner));
    // End.DT6 with an IPv4 inner packet; End.DT2U; a transit-only locator; SL 0 on it.
    let dt6 = srou_raw(&FLOW, NET4.i, &raw(wire::ServiceSegment::END_DT6), 1);
    let dt2u = srou_raw(&FLOW, NET4.i, &raw(wire::ServiceSegment::END_DT2U), 1);
    let sl0 = srou_raw(&FLOW, NET4.i, &raw(wire::ServiceSegment::END_DT4), 0);
    for hdr in [&dt6, &dt2u, &sl0] {
        let frame = srou_frame(NET4.t1, NET4.e, 64, hdr, &inner, false);
        assert_eq!(
            run(&e, &frame, &c).0,
            Err(DropReason::SrouBadServiceSegment)
        );
    }
    let transit_only = node(&NET4, NET4.e, false, |_| {});
    assert_eq!(
        run(&transit_only, &frame, &c).0,
        Err(DropReason::SrouBadServiceSegment)
    );
    // The ingress side: a policy with a service segment builds that layout.
    let i = node(&NET4, NET4.i, true, |b| {
        b.policy(
            ip("172.16.9.9"),
            PolicySpec {
                flow_id: FlowId::new(&FLOW).expect("flow"),
                source: NET4.i,
                path: vec![NET4.t1, NET4.e],
                service: Some(wire::ServiceSegment {
                    vnid: 0x00ab_cdef,
                    behavior: wire::ServiceSegment::END_DT4,
                }),
            },
        );
    });
    let p = i.policy(&ip("172.16.9.9")).expect("policy");
    assert_eq!(
        p.header(),
        &srou_raw(&FLOW, NET4.i, &raw(wire::ServiceSegment::END_DT4), 2)[..]
    );
}

// ---------------------------------------------------------------- four nodes

/// I -> (NAT) -> T1 -> T2 -> E, passing the frame bytes along; checks every hop.
fn four_nodes(n: &Net, inner: &[u8], udp_checksum: bool, nat_to: Option<SocketAddr>) {
    let c = SrouCounters::default();
    let i = node(n, n.i, true, |b| {
        b.udp_checksum(udp_checksum);
    });
    let t1 = node(n, n.t1, false, |_| {});
    let t2 = node(n, n.t2, false, |_| {});
    let e = node(n, n.e, true, |_| {});

    let (out, mut f) = run(&i, &eth(&[], ethertype_of(inner), inner), &c);
    assert_eq!(out, Ok(Outcome::Encapsulated(adj(1, 1))));
    let o = outer(&f);
    assert_eq!((o.src, o.dst, o.ttl), (n.i, n.t1, 64));
    let sl = |f: &[u8], o: &Outer| {
        wire::Header::new_checked(&f[o.srou_at..])
            .expect("srou")
            .segments_left()
    };
    assert_eq!(sl(&f, &o), 2);
    if let Some(public) = nat_to {
        nat(&mut f, public);
    }
    let origin = nat_to.unwrap_or(n.i);

    let (out, f) = run(&t1, &f, &c);
    assert_eq!(out, Ok(Outcome::Transited(adj(1, 2))));
    let o = outer(&f);
    assert_eq!((o.src, o.dst, o.ttl), (n.t1, n.t2, 63));
    assert_eq!(sl(&f, &o), 1);
    let h = wire::Header::new_checked(&f[o.srou_at..]).expect("srou");
    assert_eq!(h.source(), Some(origin), "NAT ALG at the first hop");

    let (out, f) = run(&t2, &f, &c);
    assert_eq!(out, Ok(Outcome::Transited(adj(1, 3))));
    let o = outer(&f);
    assert_eq!((o.src, o.dst, o.ttl), (n.t2, n.e, 62));
    assert_eq!(sl(&f, &o), 0);

    let (out, f) = run(&e, &f, &c);
    let Ok(Outcome::Decapsulated(d)) = out else {
        panic!("{out:?}")
    };
    assert_eq!(d.origin, origin);
    assert_eq!(f[12..14], ethertype_of(inner).to_be_bytes());
    assert_eq!(
        &f[14..],
        inner,
        "the egress delivers the original inner packet"
    );
    let s = c.snapshot();
    assert_eq!(
        (
            s.encapsulated,
            s.transited,
            s.decapsulated,
            s.nat_alg,
            s.tokens_permitted
        ),
        (1, 2, 1, 1, 4)
    );
}

#[test]
fn four_node_path_ipv4() {
    four_nodes(&NET4, &inner4(), false, None);
    four_nodes(&NET4, &inner4(), true, None);
    four_nodes(&NET4, &inner4(), true, Some(sa("203.0.113.7:40000")));
    four_nodes(&NET4, &inner4(), false, Some(sa("198.51.100.1:1")));
    // An empty inner UDP payload and inner TTL 1: the pipe model never looks at it.
    four_nodes(
        &NET4,
        &ip_udp("192.168.1.10", "172.16.0.5", b"", 1, 0),
        true,
        None,
    );
}

#[test]
fn four_node_path_ipv6_and_mixed() {
    let n6 = net6();
    four_nodes(
        &n6,
        &ip_udp("fd00::1", "fd00::5", b"over v6", 64, 0),
        false,
        None,
    );
    // IPv4 inner over IPv6 locators.
    let mut n = net6();
    n.dst = "172.16.0.5";
    four_nodes(&n, &inner4(), true, None);
    // IPv6 inner over IPv4 locators.
    let mut n = NET4;
    n.dst = "fd00::5";
    four_nodes(
        &n,
        &ip_udp("fd00::1", "fd00::5", b"over v4", 64, 0),
        true,
        Some(sa("203.0.113.9:5")),
    );
}

// ---------------------------------------------------------------- malformed

#[test]
fn malformed_srou_headers_are_counted_drops() {
    let c = SrouCounters::default();
    let e = node(&NET4, NET4.e, true, |_| {});
    let t1 = node(&NET4, NET4.t1, false, |_| {});
    let inner = inner4();
    let ok = srou(&FLOW, NET4.i, &segs(&NET4), 2);
    let mutate = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut h = ok.clone();
        f(&mut h);
        h
    };
    let cases: Vec<(Vec<u8>, DropReason)> = vec![
        // SRoU Length longer than the UDP payload.
        (mutate(&|h| h[1] = 255), DropReason::SrouTruncated),
        // SRoU Length shorter than the segment list it announces.
        (mutate(&|h| h[1] = 30), DropReason::SrouSegmentListTruncated),
        (mutate(&|h| h[1] = 2), DropReason::SrouBadLength),
        // Segments Left beyond Last Entry.
        (
            mutate(&|h| h[16] = 3),
            DropReason::SrouSegmentsLeftBeyondLast,
        ),
        // Last Entry beyond the list.
        (mutate(&|h| h[15] = 5), DropReason::SrouSegmentListTruncated),
        // Flow ID longer than the header and than the packet.
        (mutate(&|h| h[2] = 40), DropReason::SrouBadFlowIdLength),
        (mutate(&|h| h[2] = 255), DropReason::SrouBadFlowIdLength),
        (mutate(&|h| h[0] = 0x41), DropReason::SrouBadMagic),
        (mutate(&|h| h[3] = 9), DropReason::SrouBadProtocol),
        (mutate(&|h| h[13] = 3), DropReason::SrouBadSegmentType),
        // The UDP payload ends inside the header.
        (ok[..3].to_vec(), DropReason::SrouTruncated),
    ];
    for (hdr, want) in &cases {
        for (t, dst) in [(&e, NET4.e), (&t1, NET4.t1)] {
            // Inner packet only after an intact header; a short payload otherwise.
            let frame = srou_frame(
                NET4.i,
                dst,
                64,
                hdr,
                if hdr.len() < 4 { &[] } else { &inner },
                true,
            );
            assert_eq!(run(t, &frame, &c).0, Err(*want), "{hdr:?} at {dst}");
        }
    }
    // A segment list cut short by the UDP length (the header claims 35 bytes).
    let frame = srou_frame(NET4.i, NET4.t1, 64, &ok[..30], &[], false);
    assert_eq!(run(&t1, &frame, &c).0, Err(DropReason::SrouTruncated));
    assert_eq!(c.snapshot(), SrouCounterSnapshot::default());
}

fn fuzz_tables() -> [SrouTables; 3] {
    [
        node(&NET4, NET4.i, true, |b| {
            b.udp_checksum(true);
        }),
        node(&NET4, NET4.t1, false, |_| {}),
        node(&NET4, NET4.e, true, |_| {}),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_frames_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let c = SrouCounters::default();
        for t in fuzz_tables() {
            let mut buf = VecBuf::new(&bytes);
            if let Ok(meta) = parse(buf.data()) {
                let _ = process(&t, &mut buf, &meta, &c);
            }
            // A meta that does not describe the frame must not panic either.
            let mut buf = VecBuf::new(&bytes);
            let meta = crate::packet::PacketMeta {
                l3_offset: 14,
                l3_end: 300,
                l4_offset: 34,
                l4_proto: 17,
                dst_port: 8811,
                ..Default::default()
            };
            let _ = process(&t, &mut buf, &meta, &c);
        }
    }

    #[test]
    fn arbitrary_srou_payloads_to_a_locator_never_panic(
        payload in proptest::collection::vec(any::<u8>(), 0..120),
        head in proptest::collection::vec(any::<u8>(), 4),
    ) {
        let c = SrouCounters::default();
        let mut p = head.clone();
        p[0] &= 0x01; // magic 0x00 or 0x01
        p[3] &= 0x03;
        p.extend(&payload);
        for (t, dst) in fuzz_tables().iter().zip([NET4.i, NET4.t1, NET4.e]) {
            let frame = srou_frame(NET4.i, dst, 64, &p, &[], true);
            let (out, f) = run(t, &frame, &c);
            if let Ok(Outcome::Transited(_)) = out {
                outer(&f);
            }
        }
    }

    #[test]
    fn mutated_valid_frames_never_panic_and_keep_checksums(
        edits in proptest::collection::vec((0usize..200, any::<u8>()), 1..4),
        hop in 0usize..3,
    ) {
        let c = SrouCounters::default();
        let inner = inner4();
        let frames = [
            srou_frame(NET4.i, NET4.t1, 64, &srou(&FLOW, NET4.i, &segs(&NET4), 2), &inner, false),
            srou_frame(NET4.t2, NET4.e, 64, &srou(&FLOW, NET4.i, &segs(&NET4), 0), &inner, false),
            eth(&[], 0x0800, &inner),
        ];
        let tables = fuzz_tables();
        let (t, base) = match hop {
            0 => (&tables[1], &frames[0]),
            1 => (&tables[2], &frames[1]),
            _ => (&tables[0], &frames[2]),
        };
        // Only SRoU / inner bytes are edited, so the outer headers still parse.
        let mut f = base.clone();
        let start = if hop == 2 { 14 + 20 } else { 42 };
        for (at, v) in edits {
            let at = start + at % (f.len() - start);
            f[at] = v;
        }
        let mut buf = VecBuf::new(&f);
        if let Ok(meta) = parse(buf.data()) {
            match process(t, &mut buf, &meta, &c) {
                Ok(Outcome::Transited(_)) | Ok(Outcome::Encapsulated(_)) => {
                    let o = outer(buf.data());
                    prop_assert!(o.ttl > 0);
                }
                _ => {}
            }
        }
    }
}
