//! Fuzzes `fwd_core::packet::parse` on arbitrary frames.
//!
//! Run with `cargo +nightly fuzz run parse_frame` from `fwd-core/`. Beyond "never panics",
//! every successful parse must satisfy the invariants handlers rely on: offsets in
//! bounds and ordered, and every typed view the meta promises constructible, also after
//! the in-place rewrites the pipeline performs.
#![no_main]

use fwd_core::packet::{flags, parse, L3Kind, PacketMeta, MAX_FRAME_LEN, MAX_MPLS_DEPTH};
use fwd_core::wire::{ipv6, IpProtocol};
use libfuzzer_sys::fuzz_target;

fn check(frame: &[u8], m: &PacketMeta) {
    let len = frame.len().min(MAX_FRAME_LEN);
    let l3 = usize::from(m.l3_offset);
    let end = usize::from(m.l3_end);
    assert!(l3 >= 14 && l3 <= end && end <= len, "{m:?}");
    if m.has_l4() {
        let l4 = usize::from(m.l4_offset);
        assert!(l3 < l4 && l4 <= end, "{m:?}");
    }
    if m.has(flags::LATER_FRAGMENT) {
        assert!(!m.has_l4(), "{m:?}");
    }
    if m.has(flags::QINQ) {
        assert!(m.has(flags::VLAN), "{m:?}");
    }
    match m.l3 {
        L3Kind::Ipv4 => {
            let ip = m.ipv4(frame).expect("IPv4 view");
            assert!(ip.verify_checksum());
            assert_eq!(ip.version(), 4);
        }
        L3Kind::Ipv6 => {
            let ip = m.ipv6(frame).expect("IPv6 view");
            assert_eq!(ip.version(), 6);
            // The generic walker agrees with the parser when there is no SRH or fragment.
            if m.srh_offset().is_none() && !m.is_fragment() && m.has_l4() {
                let mut walk = ipv6::ExtHeaders::new(ip.payload(), ip.next_header(), 8);
                for item in walk.by_ref() {
                    item.expect("the parser accepted this chain");
                }
                let (proto, off) = walk.upper_layer();
                assert_eq!(proto, IpProtocol(m.l4_proto));
                assert_eq!(l3 + ipv6::HEADER_LEN + off, usize::from(m.l4_offset));
            }
        }
        L3Kind::Mpls => {
            assert!(m.mpls_top(frame).is_some());
            assert!((1..=MAX_MPLS_DEPTH).contains(&usize::from(m.mpls_depth)));
            assert!(m.mpls_payload_offset().expect("MPLS payload") <= len);
        }
    }
    if let Some(srh) = m.srh(frame) {
        assert!(srh.check_segments_left().is_ok());
        let _ = srh.active_segment();
        let _ = srh.tlvs();
    } else {
        assert!(m.srh_offset().is_none(), "{m:?}");
    }
    if m.is_udp() && !m.is_fragment() {
        let udp = m.udp(frame).expect("UDP view");
        assert_eq!((udp.src_port(), udp.dst_port()), (m.src_port, m.dst_port));
        let _ = udp.payload();
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(meta) = parse(data) else {
        return;
    };
    check(data, &meta);

    // The rewrites handlers do must keep the frame parseable to the same meta.
    let mut frame = data.to_vec();
    match meta.l3 {
        L3Kind::Ipv4 => {
            if let Some(mut ip) = meta.ipv4_mut(&mut frame) {
                if ip.ttl() > 1 {
                    ip.decrement_ttl();
                }
            }
        }
        L3Kind::Ipv6 => {
            if let Some(mut srh) = meta.srh_mut(&mut frame) {
                if let Some(next) = srh.advance() {
                    if let Some(mut ip) = meta.ipv6_mut(&mut frame) {
                        ip.set_dst_addr(next);
                    }
                }
            }
        }
        L3Kind::Mpls => {
            if let Some(mut top) = meta.mpls_top_mut(&mut frame) {
                let ttl = top.ttl();
                top.set_ttl(ttl.saturating_sub(1));
            }
        }
    }
    if let Some(mut eth) = meta.ethernet_mut(&mut frame) {
        let src = eth.src_addr();
        eth.set_dst_addr(src);
    }
    let again = parse(&frame).expect("rewritten frame still parses");
    assert_eq!(again, meta);
    check(&frame, &again);
});
