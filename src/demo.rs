//! `srgate demo`: the embedded default configuration and the traffic it replays.
//!
//! The traffic mixes every protocol the pipeline parses (IPv4, 802.1Q, IPv6, IPv6 with an
//! SRv6 SRH, MPLS label stacks) and every behaviour the embedded tables configure (MPLS
//! swap, PHP and the anycast segment with its V-LFIB; SRoU encapsulation, transit and
//! decapsulation; STAMP reflection; the service FIBs' END.CG; dynamic anycast) with
//! malformed frames, so the final counters show
//! forwarding per handler, per behaviour, and drops per reason.

use std::path::Path;

use anyhow::{Context, Result};
use fwd_core::wire::checksum::checksum;

use crate::config::Config;

const DEMO_TOML: &str = include_str!("../config/demo.toml");

/// Writes the demo traffic into `dir` and returns the embedded configuration pointing at it.
pub fn prepare(dir: &Path) -> Result<Config> {
    let pcap = dir.join("demo-traffic.pcap");
    write_pcap(&pcap, &demo_frames()).with_context(|| format!("writing {}", pcap.display()))?;
    let dir_str = dir
        .to_str()
        .context("the demo directory must be valid UTF-8")?;
    let text = DEMO_TOML.replace("@WORKDIR@", dir_str);
    Ok(Config::from_str_named(
        &text,
        Path::new("<embedded config/demo.toml>"),
    )?)
}

/// Writes frames as a classic libpcap file (Ethernet link type).
pub fn write_pcap(path: &Path, frames: &[Vec<u8>]) -> std::io::Result<()> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    for (i, f) in frames.iter().enumerate() {
        out.extend_from_slice(&(i as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(f);
    }
    std::fs::write(path, out)
}

const DST: [u8; 6] = [0x02, 0, 0, 0, 0, 0x10];
const SRC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];

fn eth(ethertype: u16) -> Vec<u8> {
    let mut f = Vec::with_capacity(128);
    f.extend_from_slice(&DST);
    f.extend_from_slice(&SRC);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f
}

fn udp(payload_len: usize, sport: u16) -> Vec<u8> {
    udp_to(payload_len, sport, 5000)
}

fn udp_to(payload_len: usize, sport: u16, dport: u16) -> Vec<u8> {
    let mut u = Vec::with_capacity(8 + payload_len);
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + payload_len) as u16).to_be_bytes());
    u.extend_from_slice(&0u16.to_be_bytes());
    u.extend(std::iter::repeat_n(0x5a, payload_len));
    u
}

fn ipv4(ttl: u8, l4: &[u8]) -> Vec<u8> {
    ipv4_to([192, 0, 2, 1], [198, 51, 100, 7], ttl, l4)
}

fn ipv4_to(src: [u8; 4], dst: [u8; 4], ttl: u8, l4: &[u8]) -> Vec<u8> {
    let mut h = vec![0u8; 20];
    h[0] = 0x45;
    h[2..4].copy_from_slice(&((20 + l4.len()) as u16).to_be_bytes());
    h[8] = ttl;
    h[9] = 17;
    h[12..16].copy_from_slice(&src);
    h[16..20].copy_from_slice(&dst);
    let c = checksum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h.extend_from_slice(l4);
    h
}

fn udp_raw(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::with_capacity(8 + payload.len());
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&0u16.to_be_bytes());
    u.extend_from_slice(payload);
    u
}

/// An SRoU header (IPv4 family, flow ID 0x000123) with `segments` (wire order: Segment
/// List\[0\], the final node, first) and Segments Left `sl`, followed by `inner`.
fn srou_header(
    inner: &[u8],
    origin: [u8; 4],
    origin_port: u16,
    segments: [([u8; 4], u16); 2],
    sl: u8,
) -> Vec<u8> {
    let flow_id = [0x00, 0x01, 0x23];
    let len = 4 + flow_id.len() + 4 + 2 + 4 + 6 * segments.len();
    let mut h = vec![0x00, len as u8, flow_id.len() as u8, 0x01];
    h.extend_from_slice(&flow_id);
    h.extend_from_slice(&origin);
    h.extend_from_slice(&origin_port.to_be_bytes());
    h.extend_from_slice(&[0x01, (4 + 6 * segments.len()) as u8, 1, sl]);
    for (ip, port) in segments {
        h.extend_from_slice(&ip);
        h.extend_from_slice(&port.to_be_bytes());
    }
    h.extend_from_slice(inner);
    h
}

fn ipv6(next: u8, rest: &[u8]) -> Vec<u8> {
    let mut h = vec![0u8; 40];
    h[0] = 0x60;
    h[4..6].copy_from_slice(&(rest.len() as u16).to_be_bytes());
    h[6] = next;
    h[7] = 64;
    h[8..24].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    h[24..40].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    h.extend_from_slice(rest);
    h
}

fn srh(segments: &[[u8; 16]], l4: &[u8]) -> Vec<u8> {
    let n = segments.len();
    let mut h = vec![
        17u8,
        (2 * n) as u8,
        4,
        (n - 1) as u8,
        (n - 1) as u8,
        0,
        0,
        0,
    ];
    for s in segments {
        h.extend_from_slice(s);
    }
    h.extend_from_slice(l4);
    h
}

fn mpls(labels: &[u32], inner: &[u8]) -> Vec<u8> {
    let mut h = Vec::new();
    for (i, l) in labels.iter().enumerate() {
        let bos = u32::from(i + 1 == labels.len());
        h.extend_from_slice(&((l << 12) | (bos << 8) | 64).to_be_bytes());
    }
    h.extend_from_slice(inner);
    h
}

fn frame(ethertype: u16, body: &[u8]) -> Vec<u8> {
    let mut f = eth(ethertype);
    f.extend_from_slice(body);
    if f.len() < 60 {
        f.resize(60, 0);
    }
    f
}

/// The demo's frame mix: 60 valid frames over five encapsulations, 40 for the demo's
/// tables (MPLS swap, PHP, anycast; SRoU encapsulation by exact policy and by overlay
/// route, SRoU transit and egress; STAMP; END.CG steering and local delivery; dynamic anycast), 4
/// malformed.
pub fn demo_frames() -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    for i in 0..12u16 {
        v.push(frame(0x0800, &ipv4(64, &udp(18, 1000 + i))));
        let mut tagged = eth(0x8100);
        tagged.extend_from_slice(&(100u16).to_be_bytes());
        tagged.extend_from_slice(&0x0800u16.to_be_bytes());
        tagged.extend_from_slice(&ipv4(64, &udp(14, 2000 + i)));
        v.push(tagged);
        v.push(frame(0x86dd, &ipv6(17, &udp(10, 3000 + i))));
        let segs = [
            [0xfcu8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            [0xfc, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
        ];
        v.push(frame(0x86dd, &ipv6(43, &srh(&segs, &udp(10, 4000 + i)))));
        v.push(frame(
            0x8847,
            &mpls(
                &[16010 + u32::from(i), 24001],
                &ipv4(64, &udp(10, 5000 + i)),
            ),
        ));
    }
    // The tables of config/demo.toml: MPLS prefix-SID swap, PHP, anycast segment + V-LFIB.
    for i in 0..4u16 {
        v.push(frame(
            0x8847,
            &mpls(&[16030], &ipv4(64, &udp(10, 6000 + i))),
        ));
        v.push(frame(
            0x8847,
            &mpls(&[16040], &ipv4(64, &udp(10, 6100 + i))),
        ));
        v.push(frame(
            0x8847,
            &mpls(&[16100, 30], &ipv4(64, &udp(10, 6200 + i))),
        ));
    }
    // SRoU: overlay traffic to 172.16.0.5 is encapsulated; SRoU packets ending at our
    // locator 10.99.1.1:8811 are decapsulated; SRoU packets whose first hop is our locator
    // transit it (NAT ALG, Segments Left 1 -> 0) towards 10.99.3.1:8811.
    for i in 0..4u16 {
        let inner = ipv4_to([192, 168, 1, 1], [172, 16, 0, 5], 64, &udp(20, 7000 + i));
        v.push(frame(0x0800, &inner));
        let routed = ipv4_to(
            [192, 168, 1, 1],
            [10, 20, 3, i as u8],
            64,
            &udp(20, 7200 + i),
        );
        let mut tagged = eth(0x8100);
        tagged.extend_from_slice(&200u16.to_be_bytes());
        tagged.extend_from_slice(&0x0800u16.to_be_bytes());
        tagged.extend_from_slice(&routed);
        v.push(tagged);
        let inner = ipv4_to([172, 16, 9, 9], [192, 168, 1, 1], 64, &udp(20, 7100 + i));
        let us = ([10, 99, 1, 1], 8811);
        let srou = srou_header(
            &inner,
            [10, 99, 7, 7],
            8811,
            [us, ([10, 99, 2, 1], 8811)],
            0,
        );
        let outer = ipv4_to(
            [10, 99, 2, 1],
            [10, 99, 1, 1],
            64,
            &udp_raw(8811, 8811, &srou),
        );
        v.push(frame(0x0800, &outer));
        let srou = srou_header(
            &inner,
            [10, 99, 7, 7],
            8811,
            [([10, 99, 3, 1], 8811), us],
            1,
        );
        let outer = ipv4_to(
            [10, 99, 7, 7],
            [10, 99, 1, 1],
            64,
            &udp_raw(40000 + i, 8811, &srou),
        );
        v.push(frame(0x0800, &outer));
    }
    // STAMP: RFC 8762 session-sender test packets to our address, port 862.
    for seq in 0..4u32 {
        let mut test = vec![0u8; 44];
        test[0..4].copy_from_slice(&seq.to_be_bytes());
        test[12..14].copy_from_slice(&0x0001u16.to_be_bytes());
        let l4 = udp_raw(50000 + seq as u16, 862, &test);
        v.push(frame(
            0x0800,
            &ipv4_to([192, 0, 2, 1], [192, 0, 2, 100], 64, &l4),
        ));
    }
    // Service FIBs: client requests to END.CG fc00:0:1:c6::<service>, services 1 and 2.
    for i in 0..4u16 {
        let service = 1 + u32::from(i % 2);
        let mut sid = [0u8; 16];
        sid[..8].copy_from_slice(&[0xfc, 0, 0, 0, 0, 1, 0, 0xc6]);
        sid[12..].copy_from_slice(&service.to_be_bytes());
        let mut p = ipv6(17, &udp(10, 8000 + i));
        p[24..40].copy_from_slice(&sid);
        v.push(frame(0x86dd, &p));
    }
    // Dynamic anycast: traffic to DSEID 198.51.100.10.
    for i in 0..4u16 {
        let p = ipv4_to([192, 0, 2, 9], [198, 51, 100, 10], 64, &udp(10, 8100 + i));
        v.push(frame(0x0800, &p));
    }
    // Malformed: bare Ethernet, IPv4 whose total length lies, a bad checksum, TTL 1.
    v.push(eth(0x0800));
    let mut lie = frame(0x0800, &ipv4(64, &udp(10, 9)));
    lie[16..18].copy_from_slice(&1500u16.to_be_bytes());
    v.push(lie);
    let mut bad = frame(0x0800, &ipv4(64, &udp(10, 9)));
    bad[24] ^= 0xff;
    v.push(bad);
    v.push(frame(0x0800, &ipv4(1, &udp(10, 9))));
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use fwd_core::buf::VecBuf;
    use fwd_core::pipeline::Action;

    #[test]
    fn demo_mix_forwards_valid_and_drops_malformed() {
        let cfg = Config::from_str_named(
            &DEMO_TOML.replace("@WORKDIR@", "/tmp"),
            Path::new("demo.toml"),
        )
        .expect("embedded config is valid");
        let p = cfg
            .build_pipeline(&[0, 1], &[[3; 6], [4; 6]], Path::new("demo.toml"))
            .expect("builds");
        let counters = fwd_core::counters::WorkerCounters::default();
        let mut flows = p.new_flow_state(1);
        let mut ctx = fwd_core::pipeline::WorkerCtx {
            flows: &mut flows,
            counters: &counters,
            clock: fwd_core::clock::TscClock::with_anchor(std::time::Duration::ZERO, 0, 1),
            rx_tsc: 0,
            tsc: || 0,
        };
        let mut by_handler = std::collections::BTreeMap::new();
        let mut drops = Vec::new();
        for f in demo_frames() {
            match p.process(0, &mut VecBuf::new(&f), &mut ctx) {
                Action::Forward { handler, .. } => {
                    *by_handler.entry(handler.name()).or_insert(0) += 1
                }
                Action::Drop(r) => drops.push(r.name()),
            }
        }
        let expect: std::collections::BTreeMap<&str, i32> = [
            ("ipv4", 24),
            ("ipv6", 24),
            ("mpls-xconnect", 12),
            ("mpls", 12),
            ("srou", 12),
            ("srou-decap", 4),
            ("stamp", 4),
            ("service", 2),
            ("service-local", 2),
            ("dyncast", 4),
        ]
        .into_iter()
        .collect();
        assert_eq!(by_handler, expect, "drops: {drops:?}");
        let s = counters.srou.snapshot();
        assert_eq!(
            (s.encapsulated, s.transited, s.nat_alg, s.decapsulated),
            (8, 4, 4, 4)
        );
        let sv = counters.service.snapshot();
        assert_eq!((sv.steered, sv.delivered, sv.local_shortcut), (2, 2, 2));
        let d = counters.dyncast.snapshot();
        assert_eq!(d.encapsulated, 4);
        assert_eq!(
            drops,
            [
                "eth-no-payload",
                "ipv4-bad-total-len",
                "ipv4-bad-checksum",
                "ttl-expired"
            ]
        );
    }
}
