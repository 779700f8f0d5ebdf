//! Hand-built frames for the SRoU tests (test-only).

use core::net::{IpAddr, SocketAddr};

use super::wire::{Body, Header, Repr, SegmentType, Segments};
use crate::wire::checksum;

pub const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
pub const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];

pub fn sa(s: &str) -> SocketAddr {
    s.parse().expect("socket address")
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip address")
}

fn octets(a: &IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// The UDP checksum over an IPv4/IPv6 pseudo-header and `dgram` (checksum field included).
pub fn udp_sum(src: &IpAddr, dst: &IpAddr, dgram: &[u8]) -> u16 {
    let mut pseudo = Vec::new();
    pseudo.extend(octets(src));
    pseudo.extend(octets(dst));
    if src.is_ipv4() {
        pseudo.extend([0, 17]);
        pseudo.extend((dgram.len() as u16).to_be_bytes());
    } else {
        pseudo.extend((dgram.len() as u32).to_be_bytes());
        pseudo.extend([0, 0, 0, 17]);
    }
    checksum::combine(&[checksum::sum(&pseudo), checksum::sum(dgram)])
}

/// An IP packet (`src`/`dst` family) carrying UDP 1000 -> 2000 with `payload`, valid
/// checksums, TTL / hop limit `ttl`, TOS / traffic class `tos`.
pub fn ip_udp(src: &str, dst: &str, payload: &[u8], ttl: u8, tos: u8) -> Vec<u8> {
    let (s, d) = (ip(src), ip(dst));
    let mut u = Vec::new();
    u.extend(1000u16.to_be_bytes());
    u.extend(2000u16.to_be_bytes());
    u.extend(((8 + payload.len()) as u16).to_be_bytes());
    u.extend([0, 0]);
    u.extend_from_slice(payload);
    let c = match udp_sum(&s, &d, &u) {
        0 => 0xffff,
        c => c,
    };
    u[6..8].copy_from_slice(&c.to_be_bytes());
    ip_packet(&s, &d, 17, ttl, tos, &u)
}

/// An IP header of `src`'s family in front of `payload` (IPv4 checksum filled, DF clear,
/// ident 0x1234).
pub fn ip_packet(
    src: &IpAddr,
    dst: &IpAddr,
    proto: u8,
    ttl: u8,
    tos: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut p = Vec::new();
    if src.is_ipv4() {
        p.extend([0x45, tos]);
        p.extend(((20 + payload.len()) as u16).to_be_bytes());
        p.extend([0x12, 0x34, 0, 0, ttl, proto, 0, 0]);
        p.extend(octets(src));
        p.extend(octets(dst));
        let c = checksum::checksum(&p);
        p[10..12].copy_from_slice(&c.to_be_bytes());
    } else {
        let word = (6u32 << 28) | (u32::from(tos) << 20) | 0x12345;
        p.extend(word.to_be_bytes());
        p.extend((payload.len() as u16).to_be_bytes());
        p.extend([proto, ttl]);
        p.extend(octets(src));
        p.extend(octets(dst));
    }
    p.extend_from_slice(payload);
    p
}

/// Ethernet MAC_B <- MAC_A with optional VLAN tags, then `payload` of `ethertype`.
pub fn eth(vlans: &[u16], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend(MAC_B);
    f.extend(MAC_A);
    for v in vlans {
        f.extend([0x81, 0x00]);
        f.extend(v.to_be_bytes());
    }
    f.extend(ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// The EtherType of an IP packet.
pub fn ethertype_of(packet: &[u8]) -> u16 {
    if packet[0] >> 4 == 4 {
        0x0800
    } else {
        0x86dd
    }
}

/// An SRoU header: `segments` in wire order (Segment List[0], the final node, first).
pub fn srou(flow: &[u8], source: SocketAddr, segments: &[SocketAddr], sl: u8) -> Vec<u8> {
    let mut raw = Vec::new();
    for s in segments {
        let mut slot = [0u8; 18];
        let n = super::wire::encode_segment(s, &mut slot);
        raw.extend_from_slice(&slot[..n]);
    }
    srou_raw(flow, source, &raw, sl)
}

/// An SRoU header with raw segment bytes of `source`'s family.
pub fn srou_raw(flow: &[u8], source: SocketAddr, raw: &[u8], sl: u8) -> Vec<u8> {
    let ty = if source.is_ipv4() {
        SegmentType::IPV4
    } else {
        SegmentType::IPV6
    };
    let repr = Repr {
        magic: 0,
        flow_id: flow,
        body: Body::Sr {
            source,
            segments: Segments::new(ty, raw).expect("segments"),
            segments_left: sl,
            tlvs: &[],
        },
    };
    let mut out = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Header::new_unchecked(&mut out[..]));
    out
}

/// `Ethernet | IP(src -> dst) | UDP(src port -> dst port) | srou | inner`, with a valid
/// UDP checksum when `udp_csum` (else 0).
pub fn srou_frame(
    src: SocketAddr,
    dst: SocketAddr,
    ttl: u8,
    srou: &[u8],
    inner: &[u8],
    udp_csum: bool,
) -> Vec<u8> {
    let mut u = Vec::new();
    u.extend(src.port().to_be_bytes());
    u.extend(dst.port().to_be_bytes());
    u.extend(((8 + srou.len() + inner.len()) as u16).to_be_bytes());
    u.extend([0, 0]);
    u.extend_from_slice(srou);
    u.extend_from_slice(inner);
    if udp_csum {
        let c = match udp_sum(&src.ip(), &dst.ip(), &u) {
            0 => 0xffff,
            c => c,
        };
        u[6..8].copy_from_slice(&c.to_be_bytes());
    }
    let p = ip_packet(&src.ip(), &dst.ip(), 17, ttl, 0, &u);
    let et = if src.is_ipv4() { 0x0800 } else { 0x86dd };
    eth(&[], et, &p)
}

/// Facts about the outer headers of an SRoU frame (untagged Ethernet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outer {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub ttl: u8,
    pub udp_csum: u16,
    pub udp_len: usize,
    pub srou_at: usize,
}

/// Reads the outer headers and checks every checksum: IPv4 header checksum verifies, UDP
/// checksum verifies or is 0 over IPv4, IP and UDP lengths agree with the frame.
pub fn outer(frame: &[u8]) -> Outer {
    let v4 = u16::from_be_bytes([frame[12], frame[13]]) == 0x0800;
    let (ip_len, src, dst, ttl, ip_total) = if v4 {
        let h = &frame[14..34];
        assert_eq!(checksum::checksum(h), 0, "outer IPv4 header checksum");
        (
            20,
            IpAddr::from(<[u8; 4]>::try_from(&h[12..16]).expect("4")),
            IpAddr::from(<[u8; 4]>::try_from(&h[16..20]).expect("4")),
            h[8],
            usize::from(u16::from_be_bytes([h[2], h[3]])),
        )
    } else {
        let h = &frame[14..54];
        (
            40,
            IpAddr::from(<[u8; 16]>::try_from(&h[8..24]).expect("16")),
            IpAddr::from(<[u8; 16]>::try_from(&h[24..40]).expect("16")),
            h[7],
            40 + usize::from(u16::from_be_bytes([h[4], h[5]])),
        )
    };
    let l4 = 14 + ip_len;
    let u = &frame[l4..];
    let udp_len = usize::from(u16::from_be_bytes([u[4], u[5]]));
    assert_eq!(
        ip_total,
        ip_len + udp_len,
        "IP length covers exactly the UDP datagram"
    );
    assert!(14 + ip_total <= frame.len());
    let udp_csum = u16::from_be_bytes([u[6], u[7]]);
    if udp_csum != 0 || !v4 {
        assert_eq!(
            udp_sum(&src, &dst, &u[..udp_len]),
            0,
            "UDP checksum verifies"
        );
    }
    Outer {
        src: SocketAddr::new(src, u16::from_be_bytes([u[0], u[1]])),
        dst: SocketAddr::new(dst, u16::from_be_bytes([u[2], u[3]])),
        ttl,
        udp_csum,
        udp_len,
        srou_at: l4 + 8,
    }
}
