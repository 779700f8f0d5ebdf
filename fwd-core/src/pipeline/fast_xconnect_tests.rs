//! The IPv4 cross-connect fast path ([`ip::xconnect_ipv4_fast`], tried by
//! [`Pipeline::process`] where no table claims IPv4) against the general path it
//! short-cuts: on any frame, either it declines and leaves the frame untouched, or it
//! forwards exactly as the general path would (same port, same handler, same bytes, same
//! counters); and `process` with every fast path gives the general path's result whatever
//! the node's tables, including those that claim IPv4 packets the fast path would take.

use std::sync::Arc;

use proptest::prelude::*;

use super::testutil::{general, processed};
use super::*;
use crate::dyncast::DyncastTables;
use crate::stamp::sender::{ProbeResults, SenderTables, SessionParams};

fn adj(port: u16) -> Adjacency {
    Adjacency {
        port,
        dst_mac: [0x02, 0xd0, 0, 0, 0, port as u8],
        src_mac: [0x02, 0x50, 0, 0, 0, port as u8],
    }
}

/// The node's own address, where the claiming tables listen.
const ME: [u8; 4] = [10, 0, 2, 1];
/// The claiming tables' UDP ports: STAMP reflector, SRoU locator, LISP data, and a STAMP
/// session-sender's source port.
const STAMP_PORT: u16 = 862;
const SROU_PORT: u16 = 8811;
const LISP_PORT: u16 = 4341;
const SENDER_PORT: u16 = 5000;

/// The tables of one case: `claim` 0 = a bare cross-connect (the fast path runs), 1 = a
/// STAMP reflector, 2 = a STAMP session-sender, 3 = an SRoU locator, 4 = a dynamic-anycast
/// ETR (each of which makes the general path claim some IPv4 packets), 5 = no
/// cross-connect on the receiving port.
fn pipeline(claim: u8) -> Pipeline {
    let me = core::net::IpAddr::from(ME);
    let mut p = Pipeline::new();
    if claim != 5 {
        p.set_xconnect(0, adj(9)).expect("xconnect");
    }
    match claim {
        1 => {
            let mut s = StampTables::builder();
            s.enabled(true).own_address(me).expect("address");
            p.set_stamp(s.build());
        }
        2 => {
            let mut senders = SenderTables::builder(Arc::new(ProbeResults::new()));
            let peer = "10.0.9.9".parse().expect("ip");
            senders
                .session(SessionParams::new(1, adj(3), me, SENDER_PORT, peer))
                .expect("session");
            let mut s = StampTables::builder();
            s.senders(senders.build());
            p.set_stamp(s.build());
        }
        3 => {
            let mut b = SrouTables::builder();
            b.locator((me, SROU_PORT).into(), true).expect("locator");
            b.decap_adjacency(adj(5));
            p.set_srou(b.build().expect("srou"));
        }
        4 => {
            let mut b = DyncastTables::builder();
            b.local_rloc(me).expect("rloc");
            b.decap_adjacency(adj(6));
            p.set_dyncast(b.build().expect("dyncast"));
        }
        _ => {}
    }
    p
}

/// Every case's tables, built once.
fn pipelines() -> &'static [Pipeline] {
    static ALL: std::sync::OnceLock<Vec<Pipeline>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| (0..=5).map(pipeline).collect())
}

/// An IPv4 frame: `tags` VLAN tags, a header of `ihl` words (options zero), then
/// `payload`; total length, TTL, protocol, flags/fragment field as given, checksum
/// correct unless `bad_checksum`.
#[allow(clippy::too_many_arguments)]
fn frame(
    tags: usize,
    ihl: u8,
    total_delta: i32,
    ttl: u8,
    proto: u8,
    frag: u16,
    dst: [u8; 4],
    payload: &[u8],
    bad_checksum: bool,
) -> Vec<u8> {
    let mut f = vec![0x02, 0xbb, 0, 0, 0, 1, 0x02, 0xaa, 0, 0, 0, 1];
    for _ in 0..tags {
        f.extend_from_slice(&[0x81, 0x00, 0x00, 0x64]);
    }
    f.extend_from_slice(&[0x08, 0x00]);
    let hlen = 4 * usize::from(ihl & 0x0f);
    let mut ip = vec![0u8; hlen.max(20)];
    ip[0] = 0x40 | (ihl & 0x0f);
    let total = (hlen + payload.len()) as i32 + total_delta;
    ip[2..4].copy_from_slice(&(total.clamp(0, 0xffff) as u16).to_be_bytes());
    ip[4..6].copy_from_slice(&0x1234u16.to_be_bytes());
    ip[6..8].copy_from_slice(&frag.to_be_bytes());
    ip[8] = ttl;
    ip[9] = proto;
    ip[12..16].copy_from_slice(&[192, 0, 2, 7]);
    ip[16..20].copy_from_slice(&dst);
    let c = crate::wire::checksum::checksum(&ip[..hlen.clamp(20, ip.len())]);
    let c = if bad_checksum { c ^ 0x0101 } else { c };
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(payload);
    f
}

/// A UDP header (checksum 0) of length field `len_delta` off the true one, and `data`.
fn udp(dst_port: u16, len_delta: i32, data: &[u8]) -> Vec<u8> {
    let len = ((8 + data.len()) as i32 + len_delta).clamp(0, 0xffff) as u16;
    let mut u = vec![0x9c, 0x40];
    u.extend_from_slice(&dst_port.to_be_bytes());
    u.extend_from_slice(&len.to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(data);
    u
}

/// Runs the fast path alone on `f` with the bare cross-connect: `true` if it took the
/// frame, which must then be what the general path leaves; a decline must leave `f` as it
/// was. And, on every pipeline, `process` must give the general path's result.
fn check(f: &[u8]) -> Result<bool, TestCaseError> {
    let p = &pipelines()[0];
    let mut fast = f.to_vec();
    let taken = ip::xconnect_ipv4_fast(&mut fast, &adj(9));
    if taken {
        let (action, out, _) = general(p, f);
        prop_assert_eq!(
            action,
            Action::Forward {
                port: 9,
                handler: Handler::Ipv4
            }
        );
        prop_assert_eq!(&fast, &out);
    } else {
        prop_assert_eq!(&fast[..], f, "declined, yet the frame changed");
    }
    for (claim, p) in pipelines().iter().enumerate() {
        let (a, out_a, count_a) = processed(p, f);
        let (b, out_b, count_b) = general(p, f);
        prop_assert_eq!(a, b, "tables {}", claim);
        prop_assert_eq!(count_a, count_b, "tables {}", claim);
        // A STAMP reply carries the time it was made at: the rest must match.
        let reflected = matches!(
            b,
            Action::Forward {
                handler: Handler::Stamp,
                ..
            }
        );
        if !reflected {
            prop_assert_eq!(out_a, out_b, "tables {}", claim);
        }
    }
    Ok(taken)
}

#[test]
fn takes_the_plain_ipv4_cross_connect_and_declines_the_rest() {
    let data = [7u8; 18];
    let plain = frame(0, 5, 0, 64, 17, 0, [10, 1, 0, 1], &udp(53, 0, &data), false);
    assert!(check(&plain).unwrap());
    let mut out = plain.clone();
    assert!(ip::xconnect_ipv4_fast(&mut out, &adj(9)));
    assert_eq!(
        &out[..12],
        &[0x02, 0xd0, 0, 0, 0, 9, 0x02, 0x50, 0, 0, 0, 9]
    );
    assert_eq!(out[14 + 8], 63, "TTL decremented");
    assert_eq!(
        crate::wire::checksum::checksum(&out[14..34]),
        0,
        "checksum patched"
    );
    assert_eq!(&out[34..], &plain[34..], "payload untouched");
    // TCP, ICMP, a DF flag, Ethernet padding after the datagram, TTL 2: taken too.
    for f in [
        frame(0, 5, 0, 64, 6, 0, [10, 1, 0, 1], &[1; 20], false),
        frame(0, 5, 0, 64, 1, 0, [10, 1, 0, 1], &[8; 8], false),
        frame(
            0,
            5,
            0,
            64,
            17,
            0x4000,
            [10, 1, 0, 1],
            &udp(53, 0, &data),
            false,
        ),
        frame(
            0,
            5,
            -6,
            64,
            17,
            0,
            [10, 1, 0, 1],
            &udp(53, -6, &data),
            false,
        ),
        frame(0, 5, 0, 2, 17, 0, [10, 1, 0, 1], &udp(53, 0, &data), false),
    ] {
        assert!(check(&f).unwrap(), "{f:02x?}");
    }
    // What the general path decides instead: a VLAN tag, options, a bad checksum, TTL 1
    // and 0, a first and a later fragment, a total length beyond the frame, a UDP length
    // beyond the datagram or under 8, a UDP header cut short, version 6 in an IPv4
    // EtherType, a frame cut inside the header; and the packets the tables claim.
    let declined = [
        frame(1, 5, 0, 64, 17, 0, [10, 1, 0, 1], &udp(53, 0, &data), false),
        frame(0, 6, 0, 64, 17, 0, [10, 1, 0, 1], &udp(53, 0, &data), false),
        frame(0, 5, 0, 64, 17, 0, [10, 1, 0, 1], &udp(53, 0, &data), true),
        frame(0, 5, 0, 1, 17, 0, [10, 1, 0, 1], &udp(53, 0, &data), false),
        frame(0, 5, 0, 0, 17, 0, [10, 1, 0, 1], &udp(53, 0, &data), false),
        frame(
            0,
            5,
            0,
            64,
            17,
            0x2000,
            [10, 1, 0, 1],
            &udp(53, 0, &data),
            false,
        ),
        frame(0, 5, 0, 64, 17, 0x0003, [10, 1, 0, 1], &[1; 16], false),
        frame(0, 5, 1, 64, 17, 0, [10, 1, 0, 1], &udp(53, 0, &data), false),
        frame(0, 5, 0, 64, 17, 0, [10, 1, 0, 1], &udp(53, 1, &data), false),
        frame(
            0,
            5,
            0,
            64,
            17,
            0,
            [10, 1, 0, 1],
            &udp(53, -1 - 18, &data),
            false,
        ),
        frame(0, 5, 0, 64, 17, 0, [10, 1, 0, 1], &[0; 6], false),
        frame(0, 5, 0, 64, 17, 0, [10, 1, 0, 1], &udp(53, 0, &data), false)[..30].to_vec(),
    ];
    for f in declined {
        assert!(!check(&f).unwrap(), "{f:02x?}");
    }
    let mut v6 = plain.clone();
    v6[14] = 0x65;
    assert!(!check(&v6).unwrap());
    // Claimed by a table where one is loaded: the general path's decision, not the
    // cross-connect's (`check` compares `process` with it on every pipeline).
    for port in [STAMP_PORT, SENDER_PORT, SROU_PORT, LISP_PORT] {
        let f = frame(0, 5, 0, 64, 17, 0, ME, &udp(port, 0, &data), false);
        assert!(check(&f).unwrap());
    }
    let (stamp, _, _) = general(
        &pipeline(1),
        &frame(0, 5, 0, 64, 17, 0, ME, &udp(STAMP_PORT, 0, &[0; 44]), false),
    );
    assert_ne!(
        stamp,
        Action::Forward {
            port: 9,
            handler: Handler::Ipv4
        },
        "the reflector claims its port"
    );
}

proptest! {
    // Each case runs 13 paths over fresh flow tables (6 sets of tables): fewer cases than
    // the other fast paths' 4096, for the same time.
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn same_as_the_general_path(
        tags in prop_oneof![8 => Just(0usize), 1 => 1usize..3],
        ihl in prop_oneof![8 => Just(5u8), 1 => 0u8..16],
        total_delta in prop_oneof![6 => Just(0i32), 1 => -30i32..30],
        ttl in prop_oneof![Just(0u8), Just(1), Just(2), Just(64), any::<u8>()],
        proto in prop_oneof![6 => Just(17u8), 1 => Just(6), 1 => Just(1), 1 => any::<u8>()],
        frag in prop_oneof![6 => Just(0u16), 1 => Just(0x4000), 1 => any::<u16>()],
        to_me in any::<bool>(),
        dst_port in prop_oneof![
            Just(STAMP_PORT), Just(SROU_PORT), Just(LISP_PORT), Just(SENDER_PORT), any::<u16>()
        ],
        udp_delta in prop_oneof![6 => Just(0i32), 1 => -12i32..12],
        data in proptest::collection::vec(any::<u8>(), 0..48),
        padding in proptest::collection::vec(any::<u8>(), 0..3),
        bad_checksum in proptest::bool::weighted(0.1),
        flip in proptest::option::weighted(0.1, (0usize..60, 0u8..8)),
        cut in proptest::option::weighted(0.1, any::<prop::sample::Index>()),
    ) {
        let dst = if to_me { ME } else { [10, 1, 0, 1] };
        let payload = if proto == 17 { udp(dst_port, udp_delta, &data) } else { data };
        let mut f = frame(tags, ihl, total_delta, ttl, proto, frag, dst, &payload, bad_checksum);
        f.extend_from_slice(&padding);
        if let Some((at, bit)) = flip {
            if let Some(b) = f.get_mut(at) {
                *b ^= 1 << bit;
            }
        }
        if let Some(cut) = cut {
            f.truncate(cut.index(f.len() + 1));
        }
        check(&f)?;
    }
}
