//! Reflector tests over hand-built frames.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use super::tables::StampTables;
use super::wire::{ErrorEstimate, NtpTimestamp, ReflectorPacket, ReflectorRepr, SenderRepr};
use super::{reflect, StampOutcome};
use crate::adjacency::Adjacency;
use crate::buf::{PacketBuf, VecBuf};
use crate::drop::DropReason;
use crate::packet::parse;
use crate::wire::{checksum, ipv4, ipv6, srh, udp};

const MAC_S: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a]; // the sender's router
const MAC_R: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0d]; // this node's port
const IN_PORT: u16 = 3;
const SENDER_PORT: u16 = 50_000;

const T1: NtpTimestamp = NtpTimestamp::from_parts(0xe9b7_3a80, 0x8000_0000);
const T2: NtpTimestamp = NtpTimestamp::from_parts(0xe9b7_3a81, 0x0000_0001);
const T3: NtpTimestamp = NtpTimestamp::from_parts(0xe9b7_3a81, 0x0000_1000);
const SENDER_ERR: ErrorEstimate = ErrorEstimate(0x8102);

fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

// The draft's figure 2 / 5 / 7, in 2001:db8::/32.
fn addr_a() -> Ipv6Addr {
    v6("2001:db8:a::1")
}
fn addr_d() -> Ipv6Addr {
    v6("2001:db8:d::1")
}
fn sid(name: &str) -> Ipv6Addr {
    v6(match name {
        "A1" => "2001:db8:a::a1",
        "B1" => "2001:db8:b::b1",
        "B2" => "2001:db8:b::b2",
        "C1" => "2001:db8:c::c1",
        "C2" => "2001:db8:c::c2",
        "D1" => "2001:db8:d::d1",
        "Path-1" => "2001:db8:ffff::1",
        "Path-3" => "2001:db8:ffff::3",
        other => panic!("{other}"),
    })
}

/// NodeD: own 192.0.2.4 and D's address, P-flag 0x40, SID-Path-1 -> D1, C1, B1.
fn tables() -> StampTables {
    let mut b = StampTables::builder();
    b.own_address(IpAddr::V4(v4("192.0.2.4"))).unwrap();
    b.own_address(IpAddr::V6(addr_d())).unwrap();
    b.p_flag(0x40).unwrap();
    b.reverse_path(sid("Path-1"), &[sid("D1"), sid("C1"), sid("B1")])
        .unwrap();
    b.build()
}

/// An RFC 8762 Session-Sender packet (seq 7, T1, SENDER_ERR), `len` bytes (MBZ / padding
/// 0xee beyond byte 44 so untouched bytes are visible).
fn sender_payload(len: usize) -> Vec<u8> {
    let mut p = vec![0u8; len.max(14)];
    let repr = SenderRepr {
        seq: 7,
        timestamp: T1,
        error_estimate: SENDER_ERR,
    };
    repr.emit(&mut super::wire::SenderPacket::new_unchecked(&mut p[..]));
    for b in p.iter_mut().skip(44) {
        *b = 0xee;
    }
    p.truncate(len);
    p
}

/// The reflector packet expected for [`sender_payload`], written out byte by byte.
fn expected_reflector(sender_ttl: u8) -> [u8; 44] {
    [
        0x00, 0x00, 0x00, 0x07, // seq (copied: stateless)
        0xe9, 0xb7, 0x3a, 0x81, 0x00, 0x00, 0x10, 0x00, // T3
        0x00, 0x01, // reflector error estimate (default)
        0x00, 0x00, // MBZ
        0xe9, 0xb7, 0x3a, 0x81, 0x00, 0x00, 0x00, 0x01, // T2
        0x00, 0x00, 0x00, 0x07, // sender seq
        0xe9, 0xb7, 0x3a, 0x80, 0x80, 0x00, 0x00, 0x00, // T1
        0x81, 0x02, // sender error estimate
        0x00, 0x00, // MBZ
        sender_ttl, 0x00, 0x00, 0x00, // sender TTL, MBZ
    ]
}

fn eth(dst: [u8; 6], src: [u8; 6], vlan: Option<u16>, ethertype: u16) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend(dst);
    f.extend(src);
    if let Some(vid) = vlan {
        f.extend(0x8100u16.to_be_bytes());
        f.extend(vid.to_be_bytes());
    }
    f.extend(ethertype.to_be_bytes());
    f
}

/// A UDP datagram with a valid checksum for `src` -> `dst`.
fn udp_dgram(src: IpAddr, dst: IpAddr, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut d = vec![0u8; 8 + payload.len()];
    d[8..].copy_from_slice(payload);
    let mut u = udp::Packet::new_unchecked(&mut d[..]);
    u.set_src_port(sport);
    u.set_dst_port(dport);
    u.set_len((8 + payload.len()) as u16);
    u.fill_checksum(&src, &dst);
    d
}

/// An IPv4 header (with `options`) for `payload_len` bytes, checksum filled.
fn ipv4_hdr(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ttl: u8,
    options: &[u8],
    payload_len: usize,
    mf: bool,
) -> Vec<u8> {
    let hl = 20 + options.len();
    let mut h = vec![0u8; hl];
    h[20..].copy_from_slice(options);
    let mut p = ipv4::Packet::new_unchecked(&mut h[..]);
    p.set_version(4);
    p.set_header_len(hl);
    p.set_dscp(46);
    p.set_total_len((hl + payload_len) as u16);
    p.set_ident(0x1234);
    p.set_dont_frag(!mf);
    p.set_more_frags(mf);
    p.set_ttl(ttl);
    p.set_protocol(crate::wire::IpProtocol::UDP);
    p.set_src_addr(src);
    p.set_dst_addr(dst);
    p.fill_checksum();
    h
}

/// A fixed IPv6 header.
fn ipv6_hdr(src: Ipv6Addr, dst: Ipv6Addr, next: u8, hop_limit: u8, payload_len: usize) -> Vec<u8> {
    let mut h = vec![0u8; 40];
    let mut p = ipv6::Packet::new_unchecked(&mut h[..]);
    p.set_version(6);
    p.set_traffic_class(0xb8);
    p.set_flow_label(0x12345);
    p.set_payload_len(payload_len as u16);
    p.set_next_header(crate::wire::IpProtocol(next));
    p.set_hop_limit(hop_limit);
    p.set_src_addr(src);
    p.set_dst_addr(dst);
    h
}

/// An SRH (Segment List\[0\] first).
fn srh_hdr(next: u8, sl: u8, flags: u8, segs: &[Ipv6Addr]) -> Vec<u8> {
    let mut h = vec![
        next,
        (2 * segs.len()) as u8,
        4,
        sl,
        (segs.len() - 1) as u8,
        flags,
        0,
        0,
    ];
    for s in segs {
        h.extend(s.octets());
    }
    h
}

/// IPv4 test frame 192.0.2.1:50000 -> 192.0.2.4:862.
fn v4_frame(payload: &[u8], ttl: u8, vlan: Option<u16>, options: &[u8]) -> Vec<u8> {
    let (s, d) = (v4("192.0.2.1"), v4("192.0.2.4"));
    let u = udp_dgram(s.into(), d.into(), SENDER_PORT, 862, payload);
    let mut f = eth(MAC_R, MAC_S, vlan, 0x0800);
    f.extend(ipv4_hdr(s, d, ttl, options, u.len(), false));
    f.extend(u);
    f
}

/// What the IPv4 reply to [`v4_frame`] must be, built independently.
fn v4_reply(stamp: &[u8], vlan: Option<u16>, options: &[u8]) -> Vec<u8> {
    let (s, d) = (v4("192.0.2.4"), v4("192.0.2.1"));
    let u = udp_dgram(s.into(), d.into(), 862, SENDER_PORT, stamp);
    let mut f = eth(MAC_S, MAC_R, vlan, 0x0800);
    f.extend(ipv4_hdr(s, d, 255, options, u.len(), false));
    f.extend(u);
    f
}

/// A plain IPv6 test frame A -> D.
fn v6_frame(payload: &[u8], hop_limit: u8) -> Vec<u8> {
    let u = udp_dgram(addr_a().into(), addr_d().into(), SENDER_PORT, 862, payload);
    let mut f = eth(MAC_R, MAC_S, None, 0x86dd);
    f.extend(ipv6_hdr(addr_a(), addr_d(), 17, hop_limit, u.len()));
    f.extend(u);
    f
}

/// Figure 5 as received at D: SA = A, DA = D, SRH SL 0, P-flag, segments
/// D, C2, B2, A1, Path-1. With `encap`, figure 4's inner IPv6 A -> D follows the SRH.
fn srv6_frame(payload: &[u8], flags: u8, psid: Ipv6Addr, encap: bool, hop_limit: u8) -> Vec<u8> {
    let u = udp_dgram(addr_a().into(), addr_d().into(), SENDER_PORT, 862, payload);
    let segs = [addr_d(), sid("C2"), sid("B2"), sid("A1"), psid];
    let mut inner = Vec::new();
    if encap {
        inner.extend(ipv6_hdr(addr_a(), addr_d(), 17, 64, u.len()));
    }
    inner.extend(u);
    let s = srh_hdr(if encap { 41 } else { 17 }, 0, flags, &segs);
    let mut f = eth(MAC_R, MAC_S, None, 0x86dd);
    f.extend(ipv6_hdr(
        addr_a(),
        addr_d(),
        43,
        hop_limit,
        s.len() + inner.len(),
    ));
    f.extend(s);
    f.extend(inner);
    f
}

fn run(t: &StampTables, buf: &mut VecBuf) -> Result<StampOutcome, DropReason> {
    let meta = parse(buf.data()).expect("test frames parse");
    reflect(t, IN_PORT, buf, &meta, T2, T3)
}

fn reflected_adj() -> StampOutcome {
    StampOutcome::Reflected(Adjacency {
        port: IN_PORT,
        dst_mac: MAC_S,
        src_mac: MAC_R,
    })
}

/// Verifies the reply by recomputing its checksums (IPv4 header, UDP over the final
/// destination's pseudo-header) and returns the STAMP payload.
fn check_reply(frame: &[u8]) -> Vec<u8> {
    let meta = parse(frame).expect("a reply always parses");
    let (src, dst, dgram) = if let Some(ip) = meta.ipv4(frame) {
        assert_eq!(checksum::checksum(&ip.as_ref()[..ip.header_len()]), 0);
        let u = meta.udp(frame).expect("UDP");
        (IpAddr::V4(ip.src_addr()), IpAddr::V4(ip.dst_addr()), u)
    } else {
        let ip = meta.ipv6(frame).expect("IP");
        if meta.l4_proto == 41 {
            // Encapsulated reply: the inner header carries UDP.
            let at = usize::from(meta.l4_offset);
            let inner = ipv6::Packet::new_checked(&frame[at..usize::from(meta.l3_end)]).unwrap();
            assert_eq!(inner.next_header().0, 17);
            let pl = usize::from(inner.payload_len());
            let u = udp::Packet::new_checked(&frame[at + 40..at + 40 + pl]).unwrap();
            (
                IpAddr::V6(inner.src_addr()),
                IpAddr::V6(inner.dst_addr()),
                u,
            )
        } else {
            let dst = match meta.srh(frame) {
                Some(h) => h.segment(0).unwrap(),
                None => ip.dst_addr(),
            };
            let u = meta.udp(frame).expect("UDP");
            (IpAddr::V6(ip.src_addr()), IpAddr::V6(dst), u)
        }
    };
    assert_ne!(
        dgram.checksum(),
        0,
        "the reply always carries a UDP checksum"
    );
    assert!(dgram.verify_checksum(&src, &dst), "UDP checksum");
    assert!(dgram.payload().len() >= 44);
    dgram.payload().to_vec()
}

#[test]
fn ipv4_reflection_every_field() {
    let t = tables();
    let req = v4_frame(&sender_payload(44), 61, None, &[]);
    let mut buf = VecBuf::new(&req);
    assert_eq!(run(&t, &mut buf), Ok(reflected_adj()));
    let out = buf.data().to_vec();
    let expected = v4_reply(&expected_reflector(61), None, &[]);
    assert_eq!(out, expected);
    assert_eq!(out.len(), req.len(), "length kept");

    // Field by field, as tshark would read them.
    assert_eq!(&out[0..6], &MAC_S);
    assert_eq!(&out[6..12], &MAC_R);
    let ip = ipv4::Packet::new_checked(&out[14..]).unwrap();
    assert!(ip.verify_checksum());
    assert_eq!(ip.src_addr(), v4("192.0.2.4"));
    assert_eq!(ip.dst_addr(), v4("192.0.2.1"));
    assert_eq!(ip.ttl(), 255);
    assert_eq!(ip.ident(), 0x1234);
    assert_eq!(ip.dscp(), 46);
    let u = udp::Packet::new_checked(ip.payload()).unwrap();
    assert_eq!((u.src_port(), u.dst_port()), (862, SENDER_PORT));
    assert!(u.verify_checksum(&v4("192.0.2.4").into(), &v4("192.0.2.1").into()));
    let r = ReflectorRepr::parse(&ReflectorPacket::new_checked(u.payload()).unwrap()).unwrap();
    assert_eq!(r.seq, 7);
    assert_eq!(r.sender.seq, 7);
    assert_eq!(r.sender.timestamp, T1);
    assert_eq!(r.sender.error_estimate, SENDER_ERR);
    assert_eq!(r.rx_timestamp, T2);
    assert_eq!(r.timestamp, T3);
    assert!(r.timestamp.diff(r.rx_timestamp) >= 0, "T3 >= T2");
    assert_eq!(r.sender_ttl, 61);
    assert_eq!(r.error_estimate, ErrorEstimate(1));
    assert_eq!(check_reply(&out), expected_reflector(61));
}

#[test]
fn packets_from_the_stamp_port_are_never_reflected() {
    // 862 -> 862 would bounce between two reflectors forever.
    let t = tables();
    let (s, d) = (v4("192.0.2.1"), v4("192.0.2.4"));
    let u = udp_dgram(s.into(), d.into(), 862, 862, &sender_payload(44));
    let mut f = eth(MAC_R, MAC_S, None, 0x0800);
    f.extend(ipv4_hdr(s, d, 64, &[], u.len(), false));
    f.extend(u);
    let mut buf = VecBuf::new(&f);
    assert_eq!(run(&t, &mut buf), Ok(StampOutcome::NotForMe));
    assert_eq!(buf.data(), &f[..], "untouched");
}

#[test]
fn ipv4_vlan_options_and_padding_kept() {
    let t = tables();
    let options = [0x01, 0x01, 0x01, 0x00]; // NOP NOP NOP EOL
    let req = v4_frame(&sender_payload(60), 7, Some(100), &options);
    let mut buf = VecBuf::new(&req);
    assert_eq!(run(&t, &mut buf), Ok(reflected_adj()));
    let mut stamp = expected_reflector(7).to_vec();
    stamp.extend([0xee; 16]);
    assert_eq!(buf.data(), &v4_reply(&stamp, Some(100), &options)[..]);
    check_reply(buf.data());
}

#[test]
fn ipv4_zero_udp_checksum_is_accepted_and_the_reply_has_one() {
    let t = tables();
    let mut req = v4_frame(&sender_payload(44), 64, None, &[]);
    req[14 + 20 + 6..14 + 20 + 8].copy_from_slice(&[0, 0]);
    let mut buf = VecBuf::new(&req);
    assert_eq!(run(&t, &mut buf), Ok(reflected_adj()));
    assert_eq!(
        buf.data(),
        &v4_reply(&expected_reflector(64), None, &[])[..]
    );
}

#[test]
fn twamp_light_short_payload_is_extended_to_44() {
    let t = tables();
    for len in [14usize, 27, 41, 43] {
        // No Ethernet padding: the frame is shifted into the headroom.
        let req = v4_frame(&sender_payload(len), 64, None, &[]);
        let mut buf = VecBuf::new(&req);
        assert_eq!(run(&t, &mut buf), Ok(reflected_adj()), "{len}");
        assert_eq!(
            buf.data(),
            &v4_reply(&expected_reflector(64), None, &[])[..]
        );
        assert_eq!(buf.headroom(), VecBuf::HEADROOM - (44 - len));

        // Ethernet padding to 60 bytes (or more) is used first.
        let mut padded = req.clone();
        padded.resize(req.len() + 44 - len, 0x55);
        let mut buf = VecBuf::new(&padded);
        assert_eq!(run(&t, &mut buf), Ok(reflected_adj()));
        assert_eq!(
            buf.data(),
            &v4_reply(&expected_reflector(64), None, &[])[..]
        );
        assert_eq!(buf.headroom(), VecBuf::HEADROOM, "no shift needed");

        // No room at all.
        let mut buf = VecBuf::with_headroom(&req, 44 - len - 1);
        assert_eq!(run(&t, &mut buf), Err(DropReason::StampNoHeadroom));
    }
    // A minimum-size Ethernet frame: 14 + 20 + 8 + 14 = 56, padded to 60.
    let mut req = v4_frame(&sender_payload(14), 64, None, &[]);
    req.resize(60, 0);
    let mut buf = VecBuf::new(&req);
    assert_eq!(run(&t, &mut buf), Ok(reflected_adj()));
    assert_eq!(
        buf.data(),
        &v4_reply(&expected_reflector(64), None, &[])[..]
    );
}

#[test]
fn too_short_bad_checksum_and_fragments_are_counted_drops() {
    let t = tables();
    for len in 0..14 {
        let mut buf = VecBuf::new(&v4_frame(&sender_payload(len), 64, None, &[]));
        assert_eq!(run(&t, &mut buf), Err(DropReason::StampTooShort), "{len}");
        let mut buf = VecBuf::new(&v6_frame(&sender_payload(len), 64));
        assert_eq!(run(&t, &mut buf), Err(DropReason::StampTooShort), "{len}");
    }
    let mut req = v4_frame(&sender_payload(44), 64, None, &[]);
    let last = req.len() - 1;
    req[last] ^= 1;
    assert_eq!(
        run(&t, &mut VecBuf::new(&req)),
        Err(DropReason::StampBadChecksum)
    );
    let mut req = v6_frame(&sender_payload(44), 64);
    req[14 + 40 + 6..14 + 40 + 8].copy_from_slice(&[0, 0]);
    assert_eq!(
        run(&t, &mut VecBuf::new(&req)),
        Err(DropReason::StampBadChecksum),
        "a zero UDP checksum is invalid over IPv6"
    );

    // A first fragment (MF) to the STAMP port.
    let (s, d) = (v4("192.0.2.1"), v4("192.0.2.4"));
    let u = udp_dgram(s.into(), d.into(), SENDER_PORT, 862, &sender_payload(44));
    let mut req = eth(MAC_R, MAC_S, None, 0x0800);
    req.extend(ipv4_hdr(s, d, 64, &[], u.len(), true));
    req.extend(&u);
    assert_eq!(
        run(&t, &mut VecBuf::new(&req)),
        Err(DropReason::StampFragment)
    );
}

#[test]
fn not_for_me_leaves_the_frame_untouched() {
    let t = tables();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            {
                let (s, d) = (v4("192.0.2.1"), v4("192.0.2.4"));
                let u = udp_dgram(s.into(), d.into(), SENDER_PORT, 863, &sender_payload(44));
                let mut f = eth(MAC_R, MAC_S, None, 0x0800);
                f.extend(ipv4_hdr(s, d, 64, &[], u.len(), false));
                f.extend(u);
                f
            },
            "wrong port",
        ),
        (
            {
                let (s, d) = (v4("192.0.2.1"), v4("192.0.2.5"));
                let u = udp_dgram(s.into(), d.into(), SENDER_PORT, 862, &sender_payload(44));
                let mut f = eth(MAC_R, MAC_S, None, 0x0800);
                f.extend(ipv4_hdr(s, d, 64, &[], u.len(), false));
                f.extend(u);
                f
            },
            "not an own address",
        ),
        (
            {
                let mut f = srv6_frame(&sender_payload(44), 0x40, sid("Path-1"), false, 60);
                f[14 + 40 + 3] = 1; // Segments Left 1
                f
            },
            "SRv6 segments left",
        ),
        (
            {
                // TCP to port 862.
                let mut f = v6_frame(&sender_payload(44), 64);
                f[14 + 6] = 6;
                f
            },
            "not UDP",
        ),
        (
            {
                // Encapsulated, inner destination not ours.
                let mut f = srv6_frame(&sender_payload(44), 0, sid("Path-1"), true, 60);
                let inner = 14 + 40 + 8 + 5 * 16;
                f[inner + 24..inner + 40].copy_from_slice(&v6("2001:db8:99::1").octets());
                f
            },
            "inner destination",
        ),
        (
            {
                // Encapsulated, inner header truncated.
                let f = srv6_frame(&sender_payload(44), 0, sid("Path-1"), true, 60);
                let inner = 14 + 40 + 8 + 5 * 16;
                let mut g = f[..inner + 20].to_vec();
                let pl = (g.len() - 14 - 40) as u16;
                g[14 + 4..14 + 6].copy_from_slice(&pl.to_be_bytes());
                g
            },
            "inner truncated",
        ),
    ];
    for (frame, what) in cases {
        let mut buf = VecBuf::new(&frame);
        assert_eq!(run(&t, &mut buf), Ok(StampOutcome::NotForMe), "{what}");
        assert_eq!(buf.data(), &frame[..], "{what}");
    }
    // Disabled reflector.
    let frame = v4_frame(&sender_payload(44), 64, None, &[]);
    let mut buf = VecBuf::new(&frame);
    let off = StampTables::default();
    assert_eq!(run(&off, &mut buf), Ok(StampOutcome::NotForMe));
    assert_eq!(buf.data(), &frame[..]);
    // MPLS.
    let mut f = eth(MAC_R, MAC_S, None, 0x8847);
    f.extend([0x00, 0x01, 0x01, 0x40]);
    f.extend(&frame[14..]);
    assert_eq!(run(&t, &mut VecBuf::new(&f)), Ok(StampOutcome::NotForMe));
}

#[test]
fn ipv6_reflection_every_field() {
    let t = tables();
    let req = v6_frame(&sender_payload(44), 57);
    let mut buf = VecBuf::new(&req);
    assert_eq!(run(&t, &mut buf), Ok(reflected_adj()));
    let u = udp_dgram(
        addr_d().into(),
        addr_a().into(),
        862,
        SENDER_PORT,
        &expected_reflector(57),
    );
    let mut expected = eth(MAC_S, MAC_R, None, 0x86dd);
    expected.extend(ipv6_hdr(addr_d(), addr_a(), 17, 255, u.len()));
    expected.extend(&u);
    assert_eq!(buf.data(), &expected[..]);
    let meta = parse(buf.data()).unwrap();
    let ip = meta.ipv6(buf.data()).unwrap();
    assert_eq!(ip.traffic_class(), 0xb8, "traffic class kept");
    assert_eq!(ip.flow_label(), 0x12345, "flow label kept");
    assert_eq!(ip.hop_limit(), 255);
    assert!(meta
        .udp(buf.data())
        .unwrap()
        .verify_checksum(&addr_d().into(), &addr_a().into()));
    assert_eq!(check_reply(buf.data()), expected_reflector(57));
}

/// Figure 5 -> figure 7.
#[test]
fn srv6_p_flag_reply_takes_the_reverse_path() {
    let t = tables();
    let req = srv6_frame(&sender_payload(44), 0x40, sid("Path-1"), false, 60);
    let mut buf = VecBuf::new(&req);
    assert_eq!(run(&t, &mut buf), Ok(reflected_adj()));

    let u = udp_dgram(
        addr_d().into(),
        addr_a().into(),
        862,
        SENDER_PORT,
        &expected_reflector(60),
    );
    let s = srh_hdr(17, 3, 0, &[addr_a(), sid("B1"), sid("C1"), sid("D1")]);
    let mut expected = eth(MAC_S, MAC_R, None, 0x86dd);
    expected.extend(ipv6_hdr(addr_d(), sid("D1"), 43, 255, s.len() + u.len()));
    expected.extend(&s);
    expected.extend(&u);
    assert_eq!(buf.data(), &expected[..]);
    // 5 request segments (88-byte SRH) -> 4 reply segments (72 bytes).
    assert_eq!(buf.data().len(), req.len() - 16);

    let meta = parse(buf.data()).unwrap();
    let h = meta.srh(buf.data()).unwrap();
    assert_eq!(h.segments_left(), 3);
    assert_eq!(h.last_entry(), 3);
    assert_eq!(h.flags(), 0, "P-flag clear in the reply");
    assert_eq!(h.active_segment(), Some(sid("D1")));
    assert_eq!(meta.ipv6(buf.data()).unwrap().dst_addr(), sid("D1"));
    // The UDP checksum covers the final destination (the sender), RFC 8200 §8.1.
    assert!(meta
        .udp(buf.data())
        .unwrap()
        .verify_checksum(&addr_d().into(), &addr_a().into()));
    assert_eq!(check_reply(buf.data()), expected_reflector(60));
}

/// Figure 4 -> figure 6: encapsulated test packet, encapsulated reply.
#[test]
fn srv6_encapsulated_p_flag_reply() {
    let t = tables();
    let req = srv6_frame(&sender_payload(44), 0x40, sid("Path-1"), true, 59);
    let mut buf = VecBuf::new(&req);
    assert_eq!(run(&t, &mut buf), Ok(reflected_adj()));

    let u = udp_dgram(
        addr_d().into(),
        addr_a().into(),
        862,
        SENDER_PORT,
        &expected_reflector(59),
    );
    let s = srh_hdr(41, 3, 0, &[addr_a(), sid("B1"), sid("C1"), sid("D1")]);
    let mut expected = eth(MAC_S, MAC_R, None, 0x86dd);
    expected.extend(ipv6_hdr(
        addr_d(),
        sid("D1"),
        43,
        255,
        s.len() + 40 + u.len(),
    ));
    expected.extend(&s);
    expected.extend(ipv6_hdr(addr_d(), addr_a(), 17, 255, u.len()));
    expected.extend(&u);
    assert_eq!(buf.data(), &expected[..]);
    let meta = parse(buf.data()).unwrap();
    assert_eq!(meta.l4_proto, 41);
}

#[test]
fn srv6_without_p_flag_gets_a_plain_reply() {
    let t = tables();
    let plain = |hop_limit: u8| {
        let u = udp_dgram(
            addr_d().into(),
            addr_a().into(),
            862,
            SENDER_PORT,
            &expected_reflector(hop_limit),
        );
        let mut f = eth(MAC_S, MAC_R, None, 0x86dd);
        f.extend(ipv6_hdr(addr_d(), addr_a(), 17, 255, u.len()));
        f.extend(&u);
        f
    };
    for encap in [false, true] {
        let req = srv6_frame(&sender_payload(44), 0x00, sid("Path-1"), encap, 33);
        let mut buf = VecBuf::new(&req);
        assert_eq!(run(&t, &mut buf), Ok(reflected_adj()), "encap {encap}");
        assert_eq!(buf.data(), &plain(33)[..], "encap {encap}");

        // The P-flag bit is a configuration value: 0x80 set, 0x40 configured.
        let req = srv6_frame(&sender_payload(44), 0x80, sid("Path-3"), encap, 33);
        let mut buf = VecBuf::new(&req);
        assert_eq!(run(&t, &mut buf), Ok(reflected_adj()));
        assert_eq!(buf.data(), &plain(33)[..]);
    }
    // No P-flag configured: the flags are not looked at.
    let mut b = StampTables::builder();
    b.own_address(IpAddr::V6(addr_d())).unwrap();
    let no_p = b.build();
    let req = srv6_frame(&sender_payload(44), 0x40, sid("Path-3"), false, 33);
    let mut buf = VecBuf::new(&req);
    assert_eq!(run(&no_p, &mut buf), Ok(reflected_adj()));
    assert_eq!(buf.data(), &plain(33)[..]);
}

#[test]
fn srv6_path_segment_errors() {
    let t = tables();
    // Unknown path segment.
    let req = srv6_frame(&sender_payload(44), 0x40, sid("Path-3"), false, 60);
    assert_eq!(
        run(&t, &mut VecBuf::new(&req)),
        Err(DropReason::StampNoReversePath)
    );
    // P-flag with Last Entry 0: no room for a path segment.
    let u = udp_dgram(
        addr_a().into(),
        addr_d().into(),
        SENDER_PORT,
        862,
        &sender_payload(44),
    );
    let s = srh_hdr(17, 0, 0x40, &[addr_d()]);
    let mut req = eth(MAC_R, MAC_S, None, 0x86dd);
    req.extend(ipv6_hdr(addr_a(), addr_d(), 43, 60, s.len() + u.len()));
    req.extend(&s);
    req.extend(&u);
    assert_eq!(
        run(&t, &mut VecBuf::new(&req)),
        Err(DropReason::StampBadPathSegment)
    );
    // Without the P-flag the same packet gets a plain reply.
    req[14 + 40 + 5] = 0;
    assert_eq!(run(&t, &mut VecBuf::new(&req)), Ok(reflected_adj()));
}

#[test]
fn srv6_reply_needing_headroom() {
    let t = tables();
    // Plain IPv6 request, reply with a 72-byte SRH would need headroom; a reverse path
    // only applies to SRH requests, so use a 2-segment request (40-byte SRH + 32 more).
    let u = udp_dgram(
        addr_a().into(),
        addr_d().into(),
        SENDER_PORT,
        862,
        &sender_payload(44),
    );
    let s = srh_hdr(17, 0, 0x40, &[addr_d(), sid("Path-1")]);
    let mut req = eth(MAC_R, MAC_S, None, 0x86dd);
    req.extend(ipv6_hdr(addr_a(), addr_d(), 43, 60, s.len() + u.len()));
    req.extend(&s);
    req.extend(&u);
    let mut buf = VecBuf::with_headroom(&req, 31);
    assert_eq!(run(&t, &mut buf), Err(DropReason::StampNoHeadroom));
    let mut buf = VecBuf::with_headroom(&req, 32);
    assert_eq!(run(&t, &mut buf), Ok(reflected_adj()));
    assert_eq!(buf.headroom(), 0);
    assert_eq!(buf.data().len(), req.len() + 32);
    check_reply(buf.data());
}

#[test]
fn own_leading_reverse_segments_are_consumed() {
    let mut b = StampTables::builder();
    b.own_address(IpAddr::V6(addr_d())).unwrap();
    b.own_address(IpAddr::V6(sid("D1"))).unwrap();
    b.p_flag(0x40).unwrap();
    b.reverse_path(sid("Path-1"), &[sid("D1"), sid("C1"), sid("B1")])
        .unwrap();
    b.reverse_path(sid("Path-3"), &[sid("D1")]).unwrap();
    let t = b.build();

    let req = srv6_frame(&sender_payload(44), 0x40, sid("Path-1"), false, 60);
    let mut buf = VecBuf::new(&req);
    assert_eq!(run(&t, &mut buf), Ok(reflected_adj()));
    let meta = parse(buf.data()).unwrap();
    let h = meta.srh(buf.data()).unwrap();
    assert_eq!((h.segments_left(), h.last_entry()), (2, 3));
    assert_eq!(meta.ipv6(buf.data()).unwrap().dst_addr(), sid("C1"));
    check_reply(buf.data());

    // Every reverse segment ours: Segments Left 0, straight to the sender.
    let req = srv6_frame(&sender_payload(44), 0x40, sid("Path-3"), false, 60);
    let mut buf = VecBuf::new(&req);
    assert_eq!(run(&t, &mut buf), Ok(reflected_adj()));
    let meta = parse(buf.data()).unwrap();
    assert_eq!(meta.srh(buf.data()).unwrap().segments_left(), 0);
    assert_eq!(meta.ipv6(buf.data()).unwrap().dst_addr(), addr_a());
    check_reply(buf.data());
}

#[test]
fn t3_is_never_before_t2() {
    let t = tables();
    let req = v4_frame(&sender_payload(44), 64, None, &[]);
    let mut buf = VecBuf::new(&req);
    let meta = parse(buf.data()).unwrap();
    // tx before rx (a clock step): T3 = T2.
    assert_eq!(
        reflect(&t, IN_PORT, &mut buf, &meta, T3, T2),
        Ok(reflected_adj())
    );
    let r = ReflectorPacket::new_checked(&buf.data()[14 + 28..]).unwrap();
    assert_eq!(r.rx_timestamp(), T3);
    assert_eq!(r.timestamp(), T3);
}

#[test]
fn custom_port_ttl_and_error_estimate() {
    let mut b = StampTables::builder();
    b.port(4000).unwrap();
    b.reply_ttl(64).unwrap();
    b.error_estimate(ErrorEstimate::new(true, 2, 5)).unwrap();
    b.own_address(IpAddr::V4(v4("192.0.2.4"))).unwrap();
    let t = b.build();
    let (s, d) = (v4("192.0.2.1"), v4("192.0.2.4"));
    let u = udp_dgram(s.into(), d.into(), SENDER_PORT, 4000, &sender_payload(44));
    let mut req = eth(MAC_R, MAC_S, None, 0x0800);
    req.extend(ipv4_hdr(s, d, 64, &[], u.len(), false));
    req.extend(u);
    let mut buf = VecBuf::new(&req);
    assert_eq!(run(&t, &mut buf), Ok(reflected_adj()));
    let f = buf.data();
    assert_eq!(f[14 + 8], 64, "reply TTL");
    assert_eq!(&f[34..36], &4000u16.to_be_bytes());
    assert_eq!(&f[42 + 12..42 + 14], &[0x82, 0x05]);
    check_reply(f);
    // Port 862 is not ours then.
    let req = v4_frame(&sender_payload(44), 64, None, &[]);
    assert_eq!(run(&t, &mut VecBuf::new(&req)), Ok(StampOutcome::NotForMe));
}

/// Valid test frames of every shape, for mutation.
fn seeds() -> Vec<Vec<u8>> {
    vec![
        v4_frame(&sender_payload(44), 64, None, &[]),
        v4_frame(&sender_payload(20), 64, Some(7), &[1, 1, 1, 0]),
        v6_frame(&sender_payload(50), 64),
        srv6_frame(&sender_payload(44), 0x40, sid("Path-1"), false, 60),
        srv6_frame(&sender_payload(30), 0x40, sid("Path-1"), true, 60),
        srv6_frame(&sender_payload(44), 0x00, sid("Path-1"), true, 60),
    ]
}

/// Runs the reflector on `frame`; a reflected reply must parse and verify.
fn reflect_any(t: &StampTables, frame: &[u8], headroom: usize) {
    let Ok(meta) = parse(frame) else { return };
    let mut buf = VecBuf::with_headroom(frame, headroom);
    if let Ok(StampOutcome::Reflected(_)) = reflect(t, IN_PORT, &mut buf, &meta, T2, T3) {
        check_reply(buf.data());
    }
}

#[test]
fn seeds_reflect_and_verify() {
    let t = tables();
    for s in seeds() {
        let meta = parse(&s).unwrap();
        let mut buf = VecBuf::new(&s);
        assert!(
            matches!(
                reflect(&t, IN_PORT, &mut buf, &meta, T2, T3),
                Ok(StampOutcome::Reflected(_))
            ),
            "{s:02x?}"
        );
        reflect_any(&t, &s, 128);
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300),
                                   headroom in 0usize..200) {
        let t = tables();
        reflect_any(&t, &bytes, headroom);
    }

    #[test]
    fn mutated_test_frames_never_panic(which in 0usize..6,
                                       flips in proptest::collection::vec((any::<u16>(), any::<u8>()), 1..6),
                                       cut in any::<u16>(),
                                       headroom in 0usize..200) {
        let t = tables();
        let mut f = seeds()[which].clone();
        for (at, x) in flips {
            let i = usize::from(at) % f.len();
            f[i] ^= x;
        }
        reflect_any(&t, &f, headroom);
        let n = usize::from(cut) % (f.len() + 1);
        reflect_any(&t, &f[..n], headroom);
    }
}

#[test]
fn srh_view_constants_agree() {
    // The reply's SRH length formula relies on these.
    assert_eq!(srh::HEADER_LEN, 8);
    assert_eq!(srh::SEGMENT_LEN, 16);
}
