//! The SRoU fast transit ([`crate::srou::transit::transit_fast`]) against the general
//! path it short-cuts: on any frame, either it declines and leaves the frame and every
//! counter untouched, or it forwards exactly as the general path would (same port, same
//! handler, same bytes, same counters).

use core::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use proptest::prelude::*;

use super::testutil::general;
use super::*;
use crate::counters::CounterSnapshot;
use crate::srou::testutil::{srou, srou_frame};
use crate::srou::transit::transit_fast;
use crate::srou::{AclMode, FlowId, TokenAcl};
use crate::stamp::sender::{ProbeResults, SenderTables, SessionParams};

fn adj(port: u16) -> Adjacency {
    Adjacency {
        port,
        dst_mac: [0x02, 0xd0, 0, 0, 0, port as u8],
        src_mac: [0x02, 0x50, 0, 0, 0, port as u8],
    }
}

fn sa(s: &str) -> SocketAddr {
    s.parse().expect("socket address")
}

/// A transit-only locator, a decapsulating one (same address, other port) and an IPv6 one.
const TRANSIT: &str = "10.0.2.1:8811";
const DECAP: &str = "10.0.2.1:9000";
const V6: &str = "[2001:db8::2]:8811";
/// Next hops with an adjacency (without `default_hop`, others have none).
const HOPS: [&str; 2] = ["10.0.3.1", "10.0.4.1"];
/// Tokens: BLOCKED is on the block list (ACL variants 1 and 2), PERMITTED on the permit
/// list (variant 2).
const BLOCKED: [u8; 3] = [0xb1, 0x0c, 0xed];
const PERMITTED: [u8; 2] = [0x0a, 0x0b];

/// The tables one case runs on: `acl` 0 = block-only without lists, 1 = block-only with
/// BLOCKED, 2 = permit-only with PERMITTED (and BLOCKED blocked); `stamp` 0 = none, 1 = a
/// reflector on the locators' port, 2 = a reflector on 862, 3 = a session-sender whose
/// source port is the locators'.
fn pipeline(acl: u8, stamp: u8, default_hop: bool) -> Pipeline {
    let mut b = SrouTables::builder();
    b.locator(sa(TRANSIT), false).expect("locator");
    b.locator(sa(DECAP), true).expect("locator");
    b.locator(sa(V6), true).expect("locator");
    for (i, hop) in HOPS.iter().enumerate() {
        b.next_hop(hop.parse().expect("ip"), adj(1 + i as u16))
            .expect("next hop");
    }
    if default_hop {
        b.default_next_hop(adj(7));
    }
    b.decap_adjacency(adj(5));
    let mut lists = TokenAcl::new(if acl == 2 {
        AclMode::PermitOnly
    } else {
        AclMode::BlockOnly
    });
    if acl >= 1 {
        lists.block(FlowId::new(&BLOCKED).expect("token"));
    }
    if acl == 2 {
        lists.permit(FlowId::new(&PERMITTED).expect("token"));
    }
    b.acl(lists);
    let mut p = Pipeline::new();
    p.set_srou(b.build().expect("tables"));
    p.set_xconnect(0, adj(9)).expect("xconnect");
    let mut s = StampTables::builder();
    match stamp {
        1 => {
            s.enabled(true).port(8811).expect("port");
        }
        2 => {
            s.enabled(true);
        }
        3 => {
            let mut senders = SenderTables::builder(Arc::new(ProbeResults::new()));
            let me: IpAddr = "10.0.2.1".parse().expect("ip");
            let peer: IpAddr = "10.0.9.9".parse().expect("ip");
            senders
                .session(SessionParams::new(1, adj(3), me, 8811, peer))
                .expect("session");
            s.senders(senders.build());
        }
        _ => {}
    }
    p.set_stamp(s.build());
    p
}

/// What one path did to a frame: its action (None: the fast path declined), the frame it
/// left and the counters it counted.
type Run = (Option<Action>, Vec<u8>, CounterSnapshot);

fn fast(p: &Pipeline, frame: &[u8]) -> Run {
    let counters = WorkerCounters::default();
    let mut f = frame.to_vec();
    let claimed = |port| p.stamp_claims(port);
    let action =
        transit_fast(p.srou(), &mut f, claimed, &counters.srou).map(|adj| Action::Forward {
            port: adj.port,
            handler: Handler::Srou,
        });
    (action, f, counters.snapshot())
}

/// Recomputes the IPv4 header checksum of an untagged frame (its IHL's worth of header).
fn fix_ip_checksum(f: &mut [u8]) {
    let end = 14 + 4 * usize::from(f.get(14).map_or(5, |b| b & 0x0f));
    if f.len() >= end && end >= 34 {
        f[24..26].copy_from_slice(&[0, 0]);
        let c = crate::wire::checksum::checksum(&f[14..end]);
        f[24..26].copy_from_slice(&c.to_be_bytes());
    }
}

/// The counters of a worker that counted nothing.
fn nothing_counted() -> CounterSnapshot {
    WorkerCounters::default().snapshot()
}

/// Checks the fast path on `frame` against the general path; true if it took the frame.
fn check(p: &Pipeline, frame: &[u8]) -> Result<bool, TestCaseError> {
    let (action, out, counted) = fast(p, frame);
    if action.is_none() {
        prop_assert_eq!(&out[..], frame, "declined, yet the frame changed");
        prop_assert_eq!(counted, nothing_counted(), "declined, yet counted");
        return Ok(false);
    }
    let (g_action, g_out, g_counted) = general(p, frame);
    prop_assert_eq!(action, Some(g_action));
    prop_assert_eq!(out, g_out);
    prop_assert_eq!(counted, g_counted);
    Ok(true)
}

/// A transit frame to `to` with `segments` (wire order), Segments Left `sl`, flow `flow`.
fn transit_frame(
    to: &str,
    segments: &[&str],
    sl: u8,
    flow: &[u8],
    ttl: u8,
    udp_csum: bool,
) -> Vec<u8> {
    let segs: Vec<SocketAddr> = segments.iter().map(|s| sa(s)).collect();
    let hdr = srou(flow, sa("192.0.2.7:4444"), &segs, sl);
    let inner = crate::srou::testutil::ip_udp("172.16.0.1", "172.16.0.2", b"data", 64, 0);
    srou_frame(sa("198.51.100.9:5555"), sa(to), ttl, &hdr, &inner, udp_csum)
}

#[test]
fn takes_plain_transit_and_declines_the_rest() {
    let p = pipeline(1, 2, false);
    let segs = ["10.0.4.1:8811", "10.0.3.1:9999", TRANSIT];
    for (sl, csum) in [(2, false), (2, true), (1, false), (1, true)] {
        let f = transit_frame(TRANSIT, &segs, sl, &[1, 2, 3], 64, csum);
        let (action, out, counted) = fast(&p, &f);
        assert_eq!(
            action,
            Some(Action::Forward {
                port: if sl == 2 { 1 } else { 2 },
                handler: Handler::Srou
            })
        );
        assert_ne!(out, f);
        assert_eq!(counted.srou.transited, 1);
        assert_eq!(counted.srou.tokens_permitted, 1);
        assert_eq!(counted.srou.nat_alg, u64::from(sl == 2));
        assert!(check(&p, &f).expect("same as the general path"));
    }
    let ok = transit_frame(TRANSIT, &segs, 2, &[1, 2, 3], 64, false);
    let mut options = ok.clone();
    options[14] = 0x46;
    fix_ip_checksum(&mut options);
    let mut fragment = ok.clone();
    fragment[14 + 6] = 0x20;
    fix_ip_checksum(&mut fragment);
    let mut udp_beyond_ip = ok.clone();
    udp_beyond_ip.extend([0; 8]);
    let udp_len = u16::from_be_bytes([ok[38], ok[39]]) + 4;
    udp_beyond_ip[38..40].copy_from_slice(&udp_len.to_be_bytes());
    let mut bad_csum = ok.clone();
    bad_csum[14 + 10] ^= 1;
    let mut tagged = ok[..12].to_vec();
    tagged.extend([0x81, 0x00, 0x00, 0x64]);
    tagged.extend(&ok[12..]);
    let service = {
        let mut f = transit_frame(TRANSIT, &["10.0.4.1:8811", TRANSIT], 1, &[1], 64, false);
        // Segment List[0] becomes a service segment (0xFF | VNID | End.DT4).
        let at = f.len() - 6 - 6 - 32;
        f[at] = 0xff;
        f
    };
    let declined = [
        // The general path's business: not a locator, another port, a decapsulating
        // locator's last hop, Segments Left 0, no next hop, TTL 1, a blocked token, IPv4
        // options, a fragment, a bad header checksum, a VLAN tag, a service segment next.
        transit_frame("10.0.2.9:8811", &segs, 2, &[1], 64, false),
        transit_frame("10.0.2.1:8812", &segs, 2, &[1], 64, false),
        transit_frame(DECAP, &segs, 0, &[1], 64, false),
        transit_frame(TRANSIT, &segs, 0, &[1], 64, false),
        transit_frame(TRANSIT, &["10.9.9.9:1", TRANSIT], 1, &[1], 64, false),
        transit_frame(TRANSIT, &segs, 2, &[1], 1, false),
        transit_frame(TRANSIT, &segs, 2, &BLOCKED, 64, false),
        options,
        fragment,
        udp_beyond_ip,
        bad_csum,
        tagged,
        ok[..60].to_vec(),
    ];
    for f in declined {
        let (action, out, counted) = fast(&p, &f);
        assert_eq!(action, None, "{f:02x?}");
        assert_eq!(out, f);
        assert_eq!(counted, nothing_counted());
    }
    // Taken unless a STAMP handler claims the locators' port.
    let f = transit_frame(TRANSIT, &segs, 2, &[1], 64, false);
    for (stamp, taken) in [(0, true), (1, false), (2, true), (3, false)] {
        assert_eq!(fast(&pipeline(0, stamp, false), &f).0.is_some(), taken);
    }
    // Permit-only: only the permitted token.
    let permit_only = pipeline(2, 0, false);
    let permitted = transit_frame(TRANSIT, &segs, 2, &PERMITTED, 64, false);
    assert!(fast(&permit_only, &permitted).0.is_some());
    assert!(fast(&permit_only, &f).0.is_none());
    // Service segment as Segment List[0] at Segments Left 1 (decapsulation): declined.
    assert!(fast(&pipeline(0, 0, false), &service).0.is_none());
}

/// Segments a case draws from: two with next hops, one without (unless a default next
/// hop), our own locators, a service segment.
fn arb_segment() -> impl Strategy<Value = [u8; 6]> {
    let known = |s: &str| {
        let a = sa(s);
        let IpAddr::V4(ip) = a.ip() else {
            unreachable!("IPv4 segments")
        };
        let o = ip.octets();
        let p = a.port().to_be_bytes();
        [o[0], o[1], o[2], o[3], p[0], p[1]]
    };
    prop_oneof![
        3 => Just(known("10.0.3.1:8811")),
        3 => Just(known("10.0.4.1:9000")),
        1 => Just(known("10.9.9.9:1")),
        1 => Just(known(TRANSIT)),
        1 => Just([0xff, 0, 0, 7, 0, 0x13]),
        1 => any::<[u8; 6]>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn same_as_the_general_path(
        acl in 0u8..3,
        stamp in prop_oneof![3 => Just(0u8), 1 => Just(1), 2 => Just(2), 1 => Just(3)],
        default_hop in any::<bool>(),
        to in prop_oneof![4 => Just(TRANSIT), 2 => Just(DECAP), 1 => Just("10.0.2.1:1")],
        flow in prop_oneof![
            Just(BLOCKED.to_vec()),
            Just(PERMITTED.to_vec()),
            proptest::collection::vec(any::<u8>(), 0..20),
        ],
        segments in proptest::collection::vec(arb_segment(), 1..5),
        sl_pick in prop_oneof![4 => Just(None), 1 => (0u8..6).prop_map(Some)],
        ttl in prop_oneof![1 => Just(0u8), 1 => Just(1), 1 => Just(2), 4 => Just(64), 2 => any::<u8>()],
        udp_csum in any::<bool>(),
        // Bits flipped in the headers (offset, bit), the IPv4 checksum then mostly fixed.
        flips in prop_oneof![
            3 => Just(vec![]),
            2 => proptest::collection::vec((0usize..80, 0u8..8), 1..4),
        ],
        fix_ip_csum in proptest::bool::weighted(0.8),
        // IPv4 flags and fragment offset: none, DF, MF, the reserved bit, anything.
        frag_field in prop_oneof![
            8 => Just(0u16),
            4 => Just(0x4000),
            1 => Just(0x2000),
            1 => Just(0x8000),
            1 => any::<u16>(),
        ],
        cut in any::<prop::sample::Index>(),
        truncate in proptest::bool::weighted(0.1),
        pad in proptest::collection::vec(any::<u8>(), 0..8),
    ) {
        let p = pipeline(acl, stamp, default_hop);
        let raw: Vec<u8> = segments.concat();
        let last = segments.len() as u8 - 1;
        // Mostly the first hop (the ALG) or within the list, sometimes beyond Last Entry.
        let sl = sl_pick.map_or(last, |sl| sl.min(last + 1));
        let hdr = crate::srou::testutil::srou_raw(&flow, sa("192.0.2.7:4444"), &raw, sl);
        let inner = crate::srou::testutil::ip_udp("172.16.0.1", "172.16.0.2", b"data", 64, 0);
        let mut f = srou_frame(sa("198.51.100.9:5555"), sa(to), ttl, &hdr, &inner, udp_csum);
        f.extend_from_slice(&pad);
        f[20..22].copy_from_slice(&frag_field.to_be_bytes());
        for (at, bit) in flips {
            if let Some(b) = f.get_mut(at) {
                *b ^= 1 << bit;
            }
        }
        if fix_ip_csum {
            fix_ip_checksum(&mut f);
        }
        if truncate {
            f.truncate(cut.index(f.len() + 1));
        }
        check(&p, &f)?;
    }
}
