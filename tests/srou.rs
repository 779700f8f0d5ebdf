//! Golden tests of SRoU (draft-zartbot-sr-udp-00) on real packets through real srgate
//! processes: one srgate per SRoU node, each loaded with its shipped
//! `config/srou-<node>.toml` (only the pcap directory and the EAL file prefix changed),
//! every link a pcap file that the sender writes and the receiver reads. scapy builds the
//! inputs (`tests/scapy/srou.py`) and plays router R; tshark reads every link.
//!
//! ```text
//! host A ---lan--- I ---wan--- R (NAT44) ---west--- T ---east--- E ---lan--- host B
//! ```
//!
//! What each link carries for a flow over three IPv4 locators (`172.16.20.2`: path
//! T 10.99.2.1, T 10.99.2.2, E 10.99.3.1; flow ID 0x00c0ffee), outer fields first, then the
//! SRoU header (Source, Last Entry/Segments Left):
//!
//! ```text
//! A -> I   inner packet 172.16.1.10 -> 172.16.20.2, TTL 64
//! I -> R   10.99.1.1:8811 -> 10.99.2.1:8811 TTL 64 | Source 10.99.1.1:8811, LE 2 SL 2,
//!          segments [E, T-b, T-a] | inner untouched
//! R -> T   198.51.100.77:40001 -> 10.99.2.1:8811 TTL 63 (R: NAT44, TTL - 1)
//! T -> R   10.99.2.1:8811 -> 10.99.2.2:8811 TTL 62 | Source 198.51.100.77:40001 (NAT ALG
//!          at the first SRoU hop), SL 1
//! R -> T   (routed back) TTL 61
//! T -> E   10.99.2.2:8811 -> 10.99.3.1:8811 TTL 60 | Source unchanged (no ALG), SL 0
//! E -> B   the inner packet, byte for byte as host A sent it
//! ```
//!
//! A flow over two locators leaves T's first pass straight to E (SL 0, TTL 62). On every
//! link: MACs of that link, IPv4 header and UDP checksums good (tshark verifies them), the
//! whole SRoU header byte for byte, the inner packet byte for byte, each flow's packets
//! exactly once and only on the links of its path, and each node's counters.

mod common;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::Value;

/// The placeholder directory of the links in the shipped configs.
const SHIPPED_DIR: &str = "/tmp/srgate-srou/";

/// The MAC of `node`'s interface toward `peer` (the shipped configs' convention).
fn mac(node: &str, peer: &str) -> String {
    format!("02:5e:00:00:{node}:{peer}")
}
const A: &str = "aa";
const I: &str = "11";
const R: &str = "99";
const T: &str = "22";
const E: &str = "33";
const B: &str = "bb";

/// R's NAT44 mapping of I's IPv4 locator 10.99.1.1:8811 (tests/scapy/srou.py).
const NAT_TO: &str = "198.51.100.77:40001";

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap_or_else(|_| panic!("socket address {s}"))
}

/// One ingress policy of `config/srou-ingress.toml`, as the test expects it on the wire.
struct Policy {
    destination: &'static str,
    flow_id: &'static [u8],
    source: &'static str,
    /// First hop first.
    path: &'static [&'static str],
}

const T4A: &str = "10.99.2.1:8811";
const T4B: &str = "10.99.2.2:8811";
const T6: &str = "[2001:db8:99:2::1]:8811";
const E4: &str = "10.99.3.1:8811";
const E6: &str = "[2001:db8:99:3::1]:8811";
const I4: &str = "10.99.1.1:8811";
const I6: &str = "[2001:db8:99:1::1]:8811";

const POLICIES: [Policy; 9] = [
    Policy {
        destination: "172.16.20.1",
        flow_id: &[0x00, 0x01, 0x23],
        source: I4,
        path: &[T4A, E4],
    },
    Policy {
        destination: "172.16.20.2",
        flow_id: &[0x00, 0xc0, 0xff, 0xee],
        source: I4,
        path: &[T4A, T4B, E4],
    },
    Policy {
        destination: "2001:db8:20::1",
        flow_id: &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16],
        source: I4,
        path: &[T4A, T4B, E4],
    },
    Policy {
        destination: "2001:db8:20::2",
        flow_id: &[0x00, 0x04],
        source: I6,
        path: &[T6, E6],
    },
    Policy {
        destination: "172.16.20.5",
        flow_id: &[0x05],
        source: I6,
        path: &[T6, E6],
    },
    Policy {
        destination: "172.16.20.66",
        flow_id: &[0xde, 0xad, 0xbe, 0xef],
        source: I4,
        path: &[T4A, E4],
    },
    Policy {
        destination: "172.16.20.67",
        flow_id: &[0x0b, 0xad, 0x00, 0x02],
        source: I4,
        path: &[T4A, E4],
    },
    Policy {
        destination: "172.16.20.68",
        flow_id: &[0x0b, 0xad, 0x00, 0x03],
        source: I4,
        path: &[T4A, T4B, E4],
    },
    Policy {
        destination: "2001:db8:20::69",
        flow_id: &[0x0b, 0xad, 0x00, 0x04],
        source: I6,
        path: &[T6, E6],
    },
];

fn policy(dst: IpAddr) -> Option<&'static Policy> {
    POLICIES
        .iter()
        .find(|p| p.destination.parse::<IpAddr>().ok() == Some(dst))
}

fn write_addr(out: &mut Vec<u8>, a: &SocketAddr) {
    match a.ip() {
        IpAddr::V4(ip) => out.extend_from_slice(&ip.octets()),
        IpAddr::V6(ip) => out.extend_from_slice(&ip.octets()),
    }
    out.extend_from_slice(&a.port().to_be_bytes());
}

/// The SRoU header the draft's layout gives (no TLVs): Segment List\[0\] is the final node,
/// so `path` (first hop first) is written reversed; Last Entry = len - 1.
fn srou_header(flow_id: &[u8], source: &SocketAddr, path: &[SocketAddr], sl: u8) -> Vec<u8> {
    let v4 = source.is_ipv4();
    let mut body = flow_id.to_vec();
    write_addr(&mut body, source);
    let seg_len = if v4 { 6 } else { 18 };
    body.extend_from_slice(&[
        if v4 { 1 } else { 2 },
        (4 + seg_len * path.len()) as u8,
        (path.len() - 1) as u8,
        sl,
    ]);
    for hop in path.iter().rev() {
        write_addr(&mut body, hop);
    }
    let mut h = vec![
        0x00,
        (4 + body.len()) as u8,
        flow_id.len() as u8,
        if v4 { 1 } else { 2 },
    ];
    h.extend_from_slice(&body);
    h
}

/// A decoded SRoU header (the test's own reading of the draft, independent of srgate's).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Srou {
    magic: u8,
    len: usize,
    protocol: u8,
    flow_id: Vec<u8>,
    source: SocketAddr,
    segment_type: u8,
    last_entry: u8,
    segments_left: u8,
    /// Segment List\[0\] first.
    segments: Vec<SocketAddr>,
}

fn read_sock(b: &[u8], v4: bool) -> SocketAddr {
    if v4 {
        let ip: [u8; 4] = b[..4].try_into().expect("4 bytes");
        SocketAddr::new(IpAddr::from(ip), u16::from_be_bytes([b[4], b[5]]))
    } else {
        let ip: [u8; 16] = b[..16].try_into().expect("16 bytes");
        SocketAddr::new(IpAddr::from(ip), u16::from_be_bytes([b[16], b[17]]))
    }
}

impl Srou {
    fn parse(b: &[u8]) -> Srou {
        let (len, flen, protocol) = (usize::from(b[1]), usize::from(b[2]), b[3]);
        let v4 = protocol == 1;
        let alen = if v4 { 4 } else { 16 };
        let src_at = 4 + flen;
        let sr = src_at + alen + 2;
        let seg_len = alen + 2;
        let last_entry = b[sr + 2];
        Srou {
            magic: b[0],
            len,
            protocol,
            flow_id: b[4..src_at].to_vec(),
            source: read_sock(&b[src_at..], v4),
            segment_type: b[sr],
            last_entry,
            segments_left: b[sr + 3],
            segments: (0..=usize::from(last_entry))
                .map(|i| read_sock(&b[sr + 4 + i * seg_len..], v4))
                .collect(),
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

/// An IP packet inside a frame: where it starts, its length (Ethernet padding excluded),
/// its destination and the sequence number of the test payload it carries.
#[derive(Debug, Clone)]
struct IpInFrame {
    l3: usize,
    len: usize,
    dst: IpAddr,
    seq: u32,
    vlan: bool,
}

/// Reads the IP packet of a plain (not encapsulated) test frame.
fn ip_in_frame(f: &[u8]) -> IpInFrame {
    let mut l3 = 14;
    let mut ethertype = u16::from_be_bytes([f[12], f[13]]);
    let vlan = ethertype == 0x8100;
    while ethertype == 0x8100 || ethertype == 0x88a8 {
        ethertype = u16::from_be_bytes([f[l3 + 2], f[l3 + 3]]);
        l3 += 4;
    }
    let ip = &f[l3..];
    let (len, dst, l4) = match ethertype {
        0x0800 => {
            let d: [u8; 4] = ip[16..20].try_into().expect("4 bytes");
            (
                usize::from(u16::from_be_bytes([ip[2], ip[3]])),
                IpAddr::from(d),
                usize::from(ip[0] & 0x0f) * 4,
            )
        }
        0x86dd => {
            let d: [u8; 16] = ip[24..40].try_into().expect("16 bytes");
            (
                40 + usize::from(u16::from_be_bytes([ip[4], ip[5]])),
                IpAddr::from(d),
                40,
            )
        }
        t => panic!("ethertype {t:#06x} in {}", hex(f)),
    };
    let seq = seq_of_payload(&hex(&ip[l4 + 8..len]))
        .unwrap_or_else(|| panic!("test payload in {}", hex(f)));
    IpInFrame {
        l3,
        len,
        dst,
        seq,
        vlan,
    }
}

/// Sequence number of the test payload of an inner IP packet.
fn seq_of_ip(ip: &[u8]) -> Option<u32> {
    let l4 = match ip.first()? >> 4 {
        4 => usize::from(ip[0] & 0x0f) * 4,
        6 => 40,
        _ => return None,
    };
    seq_of_payload(&hex(ip.get(l4 + 8..)?))
}

/// One frame on a link as tshark reads it (outer headers; the inner packet undissected).
#[derive(Debug, Clone)]
struct Frame {
    seq: u32,
    eth_src: String,
    eth_dst: String,
    src: SocketAddr,
    dst: SocketAddr,
    /// IPv4 TTL or IPv6 hop limit.
    ttl: u8,
    /// tshark's IPv4 header checksum status (1: good; empty for IPv6).
    ip_csum: String,
    /// tshark's UDP checksum status (1: good, 3: not present).
    udp_csum: String,
    /// IPv4 TOS or IPv6 traffic class.
    tos: u8,
    /// IPv4: DF flag and Identification; IPv6: flow label.
    df_id_flow: (String, String, String),
    /// The SRoU header, if the frame is addressed to a locator's port 8811.
    srou: Option<(Srou, Vec<u8>)>,
    /// The inner IP packet (SRoU) or the UDP payload (plain).
    payload: Vec<u8>,
}

const FIELDS: [&str; 18] = [
    "eth.src",
    "eth.dst",
    "ip.src",
    "ip.dst",
    "ipv6.src",
    "ipv6.dst",
    "udp.srcport",
    "udp.dstport",
    "ip.ttl",
    "ipv6.hlim",
    "ip.checksum.status",
    "udp.checksum.status",
    "ip.dsfield",
    "ipv6.tclass",
    "ip.flags.df",
    "ip.id",
    "ipv6.flow",
    "udp.payload",
];

fn parse_hex_field(s: &str) -> u32 {
    u32::from_str_radix(s.trim_start_matches("0x"), 16)
        .unwrap_or_else(|_| panic!("hex field {s:?}"))
}

/// Every frame of `pcap` (a missing file: none).
fn frames(pcap: &Path) -> Vec<Frame> {
    if !pcap.exists() {
        return Vec::new();
    }
    let extra = [
        "-o",
        "ip.check_checksum:TRUE",
        "-o",
        "udp.check_checksum:TRUE",
        "-d",
        "udp.port==8811,data",
        "-d",
        "udp.port==7777,data",
    ];
    tshark(pcap, &FIELDS, &extra)
        .into_iter()
        .map(|r| {
            let v4 = !r[2].is_empty();
            let (s, d) = if v4 { (&r[2], &r[3]) } else { (&r[4], &r[5]) };
            let port = |s: &str| s.parse::<u16>().unwrap_or_else(|_| panic!("port in {r:?}"));
            let src = SocketAddr::new(s.parse().expect("ip"), port(&r[6]));
            let dst = SocketAddr::new(d.parse().expect("ip"), port(&r[7]));
            let ttl = if v4 { &r[8] } else { &r[9] };
            let tos = if v4 { &r[12] } else { &r[13] };
            let udp_payload = unhex(&r[17]);
            let srou = (dst.port() == 8811).then(|| {
                let h = Srou::parse(&udp_payload);
                (h.clone(), udp_payload[..h.len].to_vec())
            });
            let payload = match &srou {
                Some((h, _)) => udp_payload[h.len..].to_vec(),
                None => udp_payload,
            };
            let seq = match &srou {
                Some(_) => seq_of_ip(&payload),
                None => seq_of_payload(&hex(&payload)),
            }
            .unwrap_or_else(|| panic!("test payload in {r:?}"));
            Frame {
                seq,
                eth_src: r[0].clone(),
                eth_dst: r[1].clone(),
                src,
                dst,
                ttl: ttl.parse().unwrap_or_else(|_| panic!("ttl in {r:?}")),
                ip_csum: r[10].clone(),
                udp_csum: r[11].clone(),
                tos: parse_hex_field(tos) as u8,
                df_id_flow: (r[14].clone(), r[15].clone(), r[16].clone()),
                srou,
                payload,
            }
        })
        .collect()
}

/// Frames by sequence number; each sequence number at most once.
fn by_seq(frames: Vec<Frame>, link: &str) -> BTreeMap<u32, Frame> {
    let mut m = BTreeMap::new();
    for f in frames {
        let seq = f.seq;
        assert!(m.insert(seq, f).is_none(), "{link}: seq {seq} twice");
    }
    m
}

/// Sum of all drop counters.
fn all_drops(json: &Value) -> u64 {
    json["total"]["drops"]
        .as_object()
        .expect("drops")
        .values()
        .map(|v| v.as_u64().unwrap_or(0))
        .sum()
}

/// `total.srou.<key>`.
fn srou_count(json: &Value, key: &str) -> u64 {
    json["total"]["srou"][key]
        .as_u64()
        .unwrap_or_else(|| panic!("total.srou.{key} in {json}"))
}

/// A config edit applied to every shipped config before it runs (the identity, but for a
/// deliberate breakage when checking that these tests can fail).
type Edit<'a> = &'a dyn Fn(&str, String) -> String;

fn unchanged(_: &str, text: String) -> String {
    text
}

/// One test's overlay: a temporary directory with one subdirectory per set of links.
struct Overlay {
    dir: tempfile::TempDir,
    tag: &'static str,
}

/// The four srgate runs of a chain, and their stats.
struct Chain {
    ingress: Value,
    transit1: Value,
    transit2: Value,
    egress: Value,
}

impl Overlay {
    fn new(tag: &'static str) -> Overlay {
        Overlay {
            dir: tempfile::tempdir().expect("tempdir"),
            tag,
        }
    }

    /// A link file `name` in the links directory `links` (created).
    fn link(&self, links: &str, name: &str) -> PathBuf {
        self.links(links).join(name)
    }

    /// The links directory `links` (created).
    fn links(&self, links: &str) -> PathBuf {
        let d = self.dir.path().join(links);
        std::fs::create_dir_all(&d).expect("links dir");
        d
    }

    /// Runs `tests/scapy/srou.py CMD PATHS.. TAIL..` with Debian's python3; returns stdout.
    fn py(&self, cmd: &str, paths: &[&Path], tail: &[&str]) -> String {
        let out = Command::new("/usr/bin/python3")
            .arg(root().join("tests/scapy/srou.py"))
            .arg(cmd)
            .args(paths)
            .args(tail)
            .output()
            .expect("run /usr/bin/python3 (install python3-scapy: scripts/install-deps.sh)");
        assert!(
            out.status.success(),
            "srou.py {cmd} {paths:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs `node`'s shipped config with its links in `links`, until its input is drained.
    fn run(&self, node: &str, links: &str, run: &str, edit: Edit) -> Value {
        let shipped = root().join(format!("config/srou-{node}.toml"));
        let text = std::fs::read_to_string(&shipped).expect("shipped config");
        let prefix = format!("file_prefix = \"srgate-srou-{node}\"");
        assert!(text.contains(SHIPPED_DIR), "{}", shipped.display());
        assert_eq!(text.matches(&prefix).count(), 1, "{}", shipped.display());
        let links_dir = self.links(links);
        let file_prefix = format!("srou-{}-{run}-{}", self.tag, std::process::id());
        let text = text
            .replace(SHIPPED_DIR, &format!("{}/", links_dir.display()))
            .replace(&prefix, &format!("file_prefix = \"{file_prefix}\""));
        let dir = self.dir.path().join(format!("run-{run}"));
        std::fs::create_dir_all(&dir).expect("run dir");
        let cfg = dir.join("srgate.toml");
        std::fs::write(&cfg, edit(node, text)).expect("write config");
        let (_, json) = run_srgate(
            &cfg,
            &[
                "--exit-idle-ms",
                "700",
                "--duration",
                "30",
                "--",
                &format!("--file-prefix={file_prefix}"),
            ],
        );
        json
    }

    /// Host A's packets of `suite` through I, R (with NAT), T, R, T again and E.
    fn chain(&self, suite: &str, edit: Edit) -> Chain {
        self.py(suite, &[&self.link("net", "a-i.pcap")], &[]);
        let ingress = self.run("ingress", "net", "ingress", edit);
        self.py(
            "route",
            &[&self.link("net", "i-r.pcap"), &self.link("net", "r-t.pcap")],
            &["nat"],
        );
        let transit1 = self.run("transit", "net", "transit1", edit);
        self.py(
            "route",
            &[
                &self.link("net", "t-r.pcap"),
                &self.link("pass2", "r-t.pcap"),
            ],
            &[],
        );
        let transit2 = self.run("transit", "pass2", "transit2", edit);
        self.py(
            "cat",
            &[
                &self.link("egress", "t-e.pcap"),
                &self.link("net", "t-e.pcap"),
                &self.link("pass2", "t-e.pcap"),
            ],
            &[],
        );
        let egress = self.run("egress", "egress", "egress", edit);
        Chain {
            ingress,
            transit1,
            transit2,
            egress,
        }
    }
}

/// Host A's frames, by sequence number.
fn host_a(path: &Path) -> BTreeMap<u32, (Vec<u8>, IpInFrame)> {
    read_pcap(path)
        .into_iter()
        .map(|f| {
            let ip = ip_in_frame(&f);
            (ip.seq, (f, ip))
        })
        .collect()
}

/// Checks one SRoU frame on a link: MACs, outer addresses, ports and TTL, checksums, the
/// SRoU header byte for byte, the inner packet byte for byte.
#[allow(clippy::too_many_arguments)]
fn check_srou_frame(
    link: &str,
    f: &Frame,
    macs: (&str, &str),
    src: SocketAddr,
    dst: SocketAddr,
    ttl: u8,
    header: &[u8],
    inner: &[u8],
) {
    let seq = f.seq;
    let at = format!("{link}, seq {seq}");
    assert_eq!(
        (f.eth_src.as_str(), f.eth_dst.as_str()),
        (mac(macs.0, macs.1).as_str(), mac(macs.1, macs.0).as_str()),
        "{at}: MACs of the link"
    );
    assert_eq!(
        (f.src, f.dst),
        (src, dst),
        "{at}: outer source, destination"
    );
    assert_eq!(f.ttl, ttl, "{at}: outer TTL / hop limit");
    if src.is_ipv4() {
        assert_eq!(f.ip_csum, "1", "{at}: IPv4 header checksum good");
        assert_eq!(f.df_id_flow.0, "1", "{at}: DF set");
        assert_eq!(
            parse_hex_field(&f.df_id_flow.1),
            0,
            "{at}: Identification 0"
        );
    } else {
        assert_eq!(parse_hex_field(&f.df_id_flow.2), 0, "{at}: flow label 0");
    }
    assert_eq!(f.udp_csum, "1", "{at}: UDP checksum present and good");
    let (h, raw) = f.srou.as_ref().expect("SRoU frame");
    let want = Srou::parse(header);
    assert_eq!(h.magic, 0, "{at}: magic");
    assert_eq!(h.flow_id, want.flow_id, "{at}: flow ID");
    assert_eq!(h.protocol, want.protocol, "{at}: Protocol-ID");
    assert_eq!(h.segment_type, want.segment_type, "{at}: segment type");
    assert_eq!(h.source, want.source, "{at}: SRoU Source");
    assert_eq!(h.last_entry, want.last_entry, "{at}: Last Entry");
    assert_eq!(h.segments_left, want.segments_left, "{at}: Segments Left");
    assert_eq!(h.segments, want.segments, "{at}: segment list");
    assert_eq!(h.len, header.len(), "{at}: SRoU Length");
    assert_eq!(hex(raw), hex(header), "{at}: SRoU header bytes");
    assert_eq!(
        h.segments[usize::from(h.segments_left)],
        f.dst,
        "{at}: outer destination = Segment List[Segments Left]"
    );
    assert_eq!(hex(&f.payload), hex(inner), "{at}: inner packet untouched");
}

/// Inner TOS / traffic class of an IP packet.
fn tos_of(ip: &[u8]) -> u8 {
    if ip[0] >> 4 == 4 {
        ip[1]
    } else {
        (ip[0] << 4) | (ip[1] >> 4)
    }
}

/// Host A's 48 frames (five policies: IPv4 and IPv6 inner packets over two or three IPv4
/// locators or two IPv6 locators, one of them 802.1Q-tagged; and plain IPv4/IPv6 without a
/// policy) through I, R, T twice and E: every link checked (see the module doc), every
/// node's counters exact, no drop anywhere.
#[test]
fn end_to_end_ingress_transit_twice_egress() {
    let o = Overlay::new("e2e");
    let c = o.chain("e2e", &unchanged);
    let input = host_a(&o.link("net", "a-i.pcap"));
    assert_eq!(input.len(), 48, "host A's frames");

    let i_r = by_seq(frames(&o.link("net", "i-r.pcap")), "I -> R");
    let t1_e = by_seq(frames(&o.link("net", "t-e.pcap")), "T -> E (pass 1)");
    let t1_r = by_seq(frames(&o.link("net", "t-r.pcap")), "T -> R (pass 1)");
    let t2_e = by_seq(frames(&o.link("pass2", "t-e.pcap")), "T -> E (pass 2)");
    let t2_r = frames(&o.link("pass2", "t-r.pcap"));
    let i_a = read_pcap(&o.link("net", "i-a.pcap"));
    let e_b: BTreeMap<u32, (Vec<u8>, IpInFrame)> = host_a(&o.link("egress", "e-b.pcap"));
    let e_b_fields = by_seq(frames(&o.link("egress", "e-b.pcap")), "E -> B");
    assert!(i_a.is_empty(), "nothing goes back to host A");
    assert!(t2_r.is_empty(), "pass 2 sends nothing back west");

    let (mut n_srou, mut n_three, mut n_plain4, mut n_plain6) = (0, 0, 0, 0);
    for (seq, (frame, ip)) in &input {
        let seq = *seq;
        let inner = &frame[ip.l3..ip.l3 + ip.len];
        let macs = format!("{}{}", mac(I, A), mac(A, I)).replace(':', "");
        assert_eq!(hex(&frame[..12]), macs, "A -> I: seq {seq}: MACs");
        let Some(p) = policy(ip.dst) else {
            // Plain IP: the cross-connect of every node, TTL - 1 each (I, R, T, E).
            if ip.dst.is_ipv4() {
                n_plain4 += 1;
            } else {
                n_plain6 += 1;
            }
            for (link, f, macs, ttl) in [
                ("I -> R", i_r.get(&seq), (I, R), 63),
                ("T -> E", t1_e.get(&seq), (T, E), 61),
                ("E -> B", e_b_fields.get(&seq), (E, B), 60),
            ] {
                let f = f.unwrap_or_else(|| panic!("{link}: plain seq {seq} missing"));
                assert!(f.srou.is_none(), "{link}: seq {seq} not encapsulated");
                assert_eq!(f.ttl, ttl, "{link}: seq {seq}: TTL");
                assert_eq!(
                    (f.eth_src.as_str(), f.eth_dst.as_str()),
                    (mac(macs.0, macs.1).as_str(), mac(macs.1, macs.0).as_str()),
                    "{link}: seq {seq}: MACs"
                );
                if ip.dst.is_ipv4() {
                    assert_eq!(f.ip_csum, "1", "{link}: seq {seq}: IPv4 checksum");
                }
            }
            assert!(!t1_r.contains_key(&seq) && !t2_e.contains_key(&seq));
            continue;
        };
        n_srou += 1;
        let path: Vec<SocketAddr> = p.path.iter().map(|s| sa(s)).collect();
        let source = sa(p.source);
        let le = (path.len() - 1) as u8;
        let v4 = source.is_ipv4();

        // I -> R: encapsulated, Segments Left = Last Entry, to the first hop.
        let f = i_r
            .get(&seq)
            .unwrap_or_else(|| panic!("I -> R: seq {seq} ({}) missing", p.destination));
        check_srou_frame(
            "I -> R",
            f,
            (I, R),
            source,
            path[0],
            64,
            &srou_header(p.flow_id, &source, &path, le),
            inner,
        );
        assert_eq!(f.tos, tos_of(inner), "I -> R: seq {seq}: TOS copied");

        // T, pass 1: the first SRoU hop. NAT ALG: the SRoU Source becomes the outer source
        // T received (R's NAT mapping for IPv4; I's own locator over IPv6, untranslated).
        let alg = if v4 { sa(NAT_TO) } else { source };
        let (link, f, macs) = if path.len() == 3 {
            ("T -> R (pass 1)", t1_r.get(&seq), (T, R))
        } else {
            ("T -> E (pass 1)", t1_e.get(&seq), (T, E))
        };
        let f = f.unwrap_or_else(|| panic!("{link}: seq {seq} missing"));
        check_srou_frame(
            link,
            f,
            macs,
            path[0],
            path[1],
            62,
            &srou_header(p.flow_id, &alg, &path, le - 1),
            inner,
        );
        assert_eq!(f.tos, tos_of(inner), "{link}: seq {seq}: TOS kept");

        // T, pass 2 (three locators): not the first hop, no ALG.
        if path.len() == 3 {
            n_three += 1;
            let f = t2_e
                .get(&seq)
                .unwrap_or_else(|| panic!("T -> E (pass 2): seq {seq} missing"));
            check_srou_frame(
                "T -> E (pass 2)",
                f,
                (T, E),
                path[1],
                path[2],
                60,
                &srou_header(p.flow_id, &alg, &path, 0),
                inner,
            );
            assert!(
                !t1_e.contains_key(&seq),
                "seq {seq} skipped T's second locator"
            );
        } else {
            assert!(!t2_e.contains_key(&seq) && !t1_r.contains_key(&seq));
        }

        // E -> B: the inner packet as host A sent it (Ethernet padding included; a VLAN tag
        // on A's LAN is not carried), with the MACs of E's LAN.
        let (out, oip) = e_b
            .get(&seq)
            .unwrap_or_else(|| panic!("E -> B: seq {seq} missing"));
        assert_eq!(
            hex(&out[14..]),
            hex(&frame[ip.l3..]),
            "E -> B: seq {seq}: the inner packet byte for byte"
        );
        assert_eq!(
            oip.l3, 14,
            "E -> B: seq {seq}: untagged (input tagged: {})",
            ip.vlan
        );
        assert_eq!(
            hex(&out[..6]),
            mac(B, E).replace(':', ""),
            "E -> B: dst MAC"
        );
        assert_eq!(
            hex(&out[6..12]),
            mac(E, B).replace(':', ""),
            "E -> B: src MAC"
        );
        let ethertype = if ip.dst.is_ipv4() { "0800" } else { "86dd" };
        assert_eq!(hex(&out[12..14]), ethertype, "E -> B: seq {seq}: EtherType");
    }
    assert_eq!((n_srou, n_three, n_plain4, n_plain6), (36, 12, 6, 6));
    assert!(input.values().any(|(_, ip)| ip.vlan), "a tagged input");
    let n_plain = n_plain4 + n_plain6;
    assert_eq!(i_r.len(), 48);
    assert_eq!(t1_e.len() + t1_r.len(), 48);
    assert_eq!(t1_r.len(), 12);
    assert_eq!(t2_e.len(), 12);
    assert_eq!(e_b.len(), 48);

    // Counters of each node.
    let j = &c.ingress;
    assert_eq!(all_drops(j), 0, "I drops: {}", j["total"]["drops"]);
    assert_eq!(total(j, "rx_packets"), 48);
    assert_eq!(total(j, "tx_packets"), 48);
    assert_eq!(handled(j, "srou"), n_srou);
    assert_eq!(
        (handled(j, "ipv4"), handled(j, "ipv6")),
        (n_plain4, n_plain6)
    );
    assert_eq!(srou_count(j, "encapsulated"), n_srou);
    assert_eq!(srou_count(j, "tokens_permitted"), n_srou);
    for k in ["transited", "decapsulated", "nat_alg"] {
        assert_eq!(srou_count(j, k), 0, "I: srou.{k}");
    }
    assert_eq!(port_out(j, "wan"), 48);

    let j = &c.transit1;
    assert_eq!(all_drops(j), 0, "T pass 1 drops: {}", j["total"]["drops"]);
    assert_eq!(handled(j, "srou"), n_srou);
    assert_eq!(
        (handled(j, "ipv4"), handled(j, "ipv6")),
        (n_plain4, n_plain6)
    );
    assert_eq!(srou_count(j, "transited"), n_srou);
    assert_eq!(srou_count(j, "nat_alg"), n_srou, "every packet: first hop");
    assert_eq!(srou_count(j, "tokens_permitted"), n_srou);
    assert_eq!(
        srou_count(j, "encapsulated") + srou_count(j, "decapsulated"),
        0
    );
    assert_eq!(port_out(j, "east"), n_srou - n_three + n_plain);
    assert_eq!(port_out(j, "west"), n_three);

    let j = &c.transit2;
    assert_eq!(all_drops(j), 0, "T pass 2 drops: {}", j["total"]["drops"]);
    assert_eq!(total(j, "rx_packets"), n_three);
    assert_eq!(handled(j, "srou"), n_three);
    assert_eq!(srou_count(j, "transited"), n_three);
    assert_eq!(srou_count(j, "nat_alg"), 0, "second hop: no ALG");
    assert_eq!(port_out(j, "east"), n_three);

    let j = &c.egress;
    assert_eq!(all_drops(j), 0, "E drops: {}", j["total"]["drops"]);
    assert_eq!(total(j, "rx_packets"), 48);
    assert_eq!(handled(j, "srou-decap"), n_srou);
    assert_eq!(handled(j, "srou"), 0);
    assert_eq!(
        (handled(j, "ipv4"), handled(j, "ipv6")),
        (n_plain4, n_plain6)
    );
    assert_eq!(srou_count(j, "decapsulated"), n_srou);
    assert_eq!(srou_count(j, "tokens_permitted"), n_srou);
    assert_eq!(srou_count(j, "nat_alg") + srou_count(j, "transited"), 0);
    assert_eq!(port_out(j, "lan"), 48);
}

/// Tokens refused along the path: 0xdeadbeef on I's block list, 0x0bad0002 missing from
/// T's permit list (permit-only), 0x0bad0004 on both of T's lists (blocking wins),
/// 0x0bad0003 revoked at E after passing T twice. Each is a counted drop at exactly that
/// node and appears on no link after it; the allowed flows arrive byte for byte.
#[test]
fn token_acl_drops_at_the_node_that_checks() {
    let o = Overlay::new("acl");
    let c = o.chain("acl", &unchanged);
    let input = host_a(&o.link("net", "a-i.pcap"));
    let i_r = by_seq(frames(&o.link("net", "i-r.pcap")), "I -> R");
    let t1: BTreeMap<u32, Frame> = frames(&o.link("net", "t-e.pcap"))
        .into_iter()
        .chain(frames(&o.link("net", "t-r.pcap")))
        .map(|f| (f.seq, f))
        .collect();
    let t2_e = by_seq(frames(&o.link("pass2", "t-e.pcap")), "T -> E (pass 2)");
    let e_b = host_a(&o.link("egress", "e-b.pcap"));

    // Where each destination's packets must stop: (node, reason) or None (delivered).
    let stop = |dst: &str| match dst {
        "172.16.20.66" => Some(("I", "srou-token-blocked")),
        "172.16.20.67" => Some(("T", "srou-token-not-permitted")),
        "2001:db8:20::69" => Some(("T", "srou-token-blocked")),
        "172.16.20.68" => Some(("E", "srou-token-blocked")),
        _ => None,
    };
    let mut want: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    let (mut delivered, mut at_t, mut at_t2, mut at_e) = (0, 0, 0, 0);
    for (seq, (frame, ip)) in &input {
        let p = policy(ip.dst).expect("every ACL flow has a policy");
        let three = p.path.len() == 3;
        let stopped = stop(p.destination);
        let node = stopped.map(|(n, _)| n);
        if let Some(k) = stopped {
            *want.entry(k).or_default() += 1;
        }
        let reaches_t = node != Some("I");
        let passes_t = reaches_t && node != Some("T");
        assert_eq!(
            i_r.contains_key(seq),
            reaches_t,
            "I -> R: seq {seq} ({:?})",
            ip.dst
        );
        assert_eq!(
            t1.contains_key(seq),
            passes_t,
            "T pass 1: seq {seq} ({:?})",
            ip.dst
        );
        assert_eq!(
            t2_e.contains_key(seq),
            passes_t && three,
            "T pass 2: seq {seq} ({:?})",
            ip.dst
        );
        assert_eq!(e_b.contains_key(seq), node.is_none(), "E -> B: seq {seq}");
        if let Some((out, _)) = e_b.get(seq) {
            assert_eq!(hex(&out[14..]), hex(&frame[ip.l3..]), "E -> B: seq {seq}");
            delivered += 1;
        }
        at_t += u64::from(reaches_t);
        at_t2 += u64::from(passes_t && three);
        at_e += u64::from(passes_t);
    }
    assert_eq!(input.len(), 35);
    assert_eq!(delivered, 15, "three allowed flows, five packets each");
    for ((node, reason), n) in &want {
        assert_eq!(*n, 5, "{node}: {reason}");
    }
    let drops_at = |node: &str| -> BTreeMap<String, u64> {
        want.iter()
            .filter(|((n, _), _)| *n == node)
            .map(|((_, r), c)| (r.to_string(), *c))
            .collect()
    };
    assert_eq!(nonzero_drops(&c.ingress), drops_at("I"), "I");
    assert_eq!(srou_count(&c.ingress, "encapsulated"), at_t);
    assert_eq!(nonzero_drops(&c.transit1), drops_at("T"), "T pass 1");
    assert_eq!(total(&c.transit1, "rx_packets"), at_t);
    assert_eq!(srou_count(&c.transit1, "tokens_permitted"), at_e);
    assert_eq!(srou_count(&c.transit1, "transited"), at_e);
    assert_eq!(nonzero_drops(&c.transit2), BTreeMap::new(), "T pass 2");
    assert_eq!(srou_count(&c.transit2, "transited"), at_t2);
    assert_eq!(nonzero_drops(&c.egress), drops_at("E"), "E");
    assert_eq!(total(&c.egress, "rx_packets"), at_e);
    assert_eq!(srou_count(&c.egress, "decapsulated"), delivered);
    assert_eq!(port_out(&c.egress, "lan"), delivered);
}

/// Reads a malformed suite's expectations: the drop reasons with their counts, and the
/// `forward` lines by sequence number.
fn expectations(stdout: &str) -> (BTreeMap<String, u64>, BTreeMap<u32, Value>) {
    let mut drops = BTreeMap::new();
    let mut fwd = BTreeMap::new();
    for line in stdout.lines() {
        match line.split_once(' ') {
            Some(("drop", reason)) => *drops.entry(reason.to_string()).or_default() += 1,
            Some(("forward", j)) => {
                let v: Value = serde_json::from_str(j).expect("json");
                let seq = v["seq"].as_u64().expect("seq") as u32;
                fwd.insert(seq, v);
            }
            _ => panic!("expectation line {line:?}"),
        }
    }
    (drops, fwd)
}

/// Hand-built SRoU packets to T's locators (`srou.py malformed-transit`): each malformed
/// one is counted under its own drop reason and forwarded nowhere; the valid ones between
/// them (first and second hop, IPv4 and IPv6 locators, magic 0xFE, zero and computed UDP
/// checksums, TLVs, a 16-byte token) come out re-addressed, with the SRoU header srou.py
/// expects, byte for byte.
#[test]
fn malformed_srou_at_a_transit_locator_is_dropped_by_reason() {
    let o = Overlay::new("badt");
    let input = o.link("net", "r-t.pcap");
    let (want_drops, want_fwd) = expectations(&o.py("malformed-transit", &[&input], &[]));
    let n_in = read_pcap(&input).len() as u64;
    assert!(want_drops.len() >= 20, "{want_drops:?}");
    let json = o.run("transit", "net", "transit", &unchanged);

    assert_eq!(total(&json, "rx_packets"), n_in);
    assert_eq!(nonzero_drops(&json), want_drops, "drops by reason");
    let n_fwd = want_fwd.len() as u64;
    assert_eq!(all_drops(&json) + n_fwd, n_in);
    assert_eq!(handled(&json, "srou"), n_fwd);
    assert_eq!(srou_count(&json, "transited"), n_fwd);
    let n_alg = want_fwd
        .values()
        .filter(|v| v["src"] != "10.99.2.2")
        .count() as u64;
    assert_eq!(srou_count(&json, "nat_alg"), n_alg);

    let east = by_seq(frames(&o.link("net", "t-e.pcap")), "T -> E");
    let west = by_seq(frames(&o.link("net", "t-r.pcap")), "T -> R");
    assert_eq!(
        east.len() + west.len(),
        want_fwd.len(),
        "only the valid packets"
    );
    for (seq, w) in &want_fwd {
        let (f, peer) = match w["link"].as_str() {
            Some("east") => (east.get(seq), E),
            Some("west") => (west.get(seq), R),
            l => panic!("link {l:?}"),
        };
        let f = f.unwrap_or_else(|| panic!("seq {seq} not forwarded ({w})"));
        let ip = |k: &str| w[k].as_str().expect(k).parse::<IpAddr>().expect("ip");
        let port = |k: &str| w[k].as_u64().expect(k) as u16;
        let src = SocketAddr::new(ip("src"), port("sport"));
        let dst = SocketAddr::new(ip("dst"), port("dport"));
        let at = format!("seq {seq}");
        assert_eq!(
            (f.eth_src.as_str(), f.eth_dst.as_str()),
            (mac(T, peer).as_str(), mac(peer, T).as_str()),
            "{at}: MACs"
        );
        assert_eq!((f.src, f.dst), (src, dst), "{at}: outer addresses");
        assert_eq!(
            u64::from(f.ttl),
            w["ttl"].as_u64().expect("ttl"),
            "{at}: TTL"
        );
        if src.is_ipv4() {
            assert_eq!(f.ip_csum, "1", "{at}: IPv4 checksum");
        }
        assert_eq!(
            f.udp_csum,
            w["udp_csum"].to_string(),
            "{at}: UDP checksum (1: good, 3: zero, not present)"
        );
        let (h, raw) = f.srou.as_ref().expect("SRoU");
        assert_eq!(
            hex(raw),
            w["srou"].as_str().expect("srou"),
            "{at}: SRoU header"
        );
        assert_eq!(u64::from(h.segments_left), w["sl"].as_u64().expect("sl"));
        assert_eq!(u64::from(h.magic), w["magic"].as_u64().expect("magic"));
        assert_eq!(
            hex(&f.payload),
            w["inner"].as_str().expect("inner"),
            "{at}: inner"
        );
    }
}

/// Hand-built SRoU packets to E's locators (`srou.py malformed-egress`): bad inner packets,
/// misplaced or unsupported service segments, Segments Left 1 without a next hop, OAM,
/// fragments, a revoked token, each counted under its reason; the valid ones between them
/// are delivered byte for byte.
#[test]
fn malformed_srou_at_an_egress_locator_is_dropped_by_reason() {
    let o = Overlay::new("bade");
    let input = o.link("egress", "t-e.pcap");
    let (want_drops, want_fwd) = expectations(&o.py("malformed-egress", &[&input], &[]));
    let n_in = read_pcap(&input).len() as u64;
    let json = o.run("egress", "egress", "egress", &unchanged);

    assert_eq!(total(&json, "rx_packets"), n_in);
    assert_eq!(nonzero_drops(&json), want_drops, "drops by reason");
    let n_fwd = want_fwd.len() as u64;
    assert_eq!(all_drops(&json) + n_fwd, n_in);
    assert_eq!(handled(&json, "srou-decap"), n_fwd);
    assert_eq!(srou_count(&json, "decapsulated"), n_fwd);

    let out = read_pcap(&o.link("egress", "e-b.pcap"));
    assert_eq!(out.len(), want_fwd.len(), "only the valid packets");
    for f in &out {
        let ip = ip_in_frame(f);
        let w = want_fwd
            .get(&ip.seq)
            .unwrap_or_else(|| panic!("seq {} delivered: {}", ip.seq, hex(f)));
        assert_eq!(
            hex(&f[14..]),
            w["inner"].as_str().expect("inner"),
            "seq {}",
            ip.seq
        );
        assert_eq!(
            hex(&f[..12]),
            format!("{}{}", mac(B, E), mac(E, B)).replace(':', "")
        );
    }
}
