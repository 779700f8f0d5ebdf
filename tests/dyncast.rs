//! Golden tests of LISP-based dynamic anycast (seed 002, draft-kjsun-lisp-dyncast-02) on
//! real packets through real srgate processes: the ITR and one ETR of the seed's figure 3,
//! each loaded with its shipped `config/dyncast-{itr,etr}.toml` (only the pcap directory
//! and the EAL file prefix changed), every link a pcap file. scapy builds Host_1's flows
//! and plays the L2 underlay (`tests/scapy/dyncast.py`); tshark decodes every frame the
//! ITR sends as `lisp-data`.
//!
//! ```text
//! Host_1 --lan--> ITR_1 --wan--> (underlay) --> ETR_2 --site--> the service instances
//!                                    \--> ETR_3, ETR_4, ETR_5 (not run: only read)
//! ```
//!
//! ITR_1's map cache (`config/dyncast-itr.toml`):
//!
//! ```text
//! DSEID_A 198.51.100.10   192.0.2.2 p1 w70, 192.0.2.3 p1 w30, 192.0.2.4 p2, 192.0.2.5 p255
//! DSEID_B 2001:db8:5e::b  2001:db8:ff::2 p1 w50, 2001:db8:ff::3 p1 w50 (Instance ID 7)
//! DSEID_C 2001:db8:5e::c  192.0.2.2 p255, 192.0.2.4 p3 w0 (IPv6 over IPv4)
//! DSEID_D 198.51.100.99   192.0.2.5 p255 only: dropped, `dyncast-no-rloc`
//! ```
//!
//! What is checked, on every frame: the outer header to the chosen RLOC (source per
//! family, TTL / hop limit and TOS copied from the inner packet after its decrement, DF
//! and Identification 0 over IPv4, IPv4 header checksum, UDP 4341 from a port in
//! 0xC000..=0xFFFF, outer UDP checksum 0 over IPv4 and valid over IPv6, the LISP flags and
//! Instance ID), the inner packet byte for byte (TTL - 1, checksum valid); per flow: every
//! packet to one RLOC; per DSEID: the best priority only, the weights' split within a
//! tolerance, priority 255 never; at ETR_2: the inner packet delivered byte for byte as
//! it was inside the LISP packet; and both nodes' counters.
//!
//! The checks collect violations, so that a broken configuration can be shown to fail
//! them ([`check_catches_a_withdrawn_rloc_put_back`]).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::Value;

/// The placeholder directory of the links in the shipped configs.
const SHIPPED_DIR: &str = "/tmp/srgate-dyncast/";

const DSEID_A: &str = "198.51.100.10";
const DSEID_B: &str = "2001:db8:5e::b";
const DSEID_C: &str = "2001:db8:5e::c";
const DSEID_D: &str = "198.51.100.99";
/// ITR_1's outer sources.
const SRC4: &str = "192.0.2.1";
const SRC6: &str = "2001:db8:ff::1";
/// The line of config/dyncast-itr.toml that withdraws ETR_5 for DSEID_A.
const ETR5_WITHDRAWN: &str =
    r#"{ address = "192.0.2.5", priority = 255, weight = 100, adjacency = "to-etr5" },"#;

/// MAC of `node`'s interface toward `peer` (the shipped configs' convention).
fn mac(node: &str, peer: &str) -> String {
    format!("02:5e:00:00:{node}:{peer}")
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or_else(|_| panic!("IP address {s:?}"))
}

/// The MAC node id of the ETR owning `rloc`.
fn etr_of(rloc: &IpAddr) -> &'static str {
    match rloc.to_string().as_str() {
        "192.0.2.2" | "2001:db8:ff::2" => "02",
        "192.0.2.3" | "2001:db8:ff::3" => "03",
        "192.0.2.4" => "04",
        "192.0.2.5" => "05",
        r => panic!("RLOC {r}"),
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The length of the IP packet at the start of `ip` (Ethernet padding excluded).
fn ip_len(ip: &[u8]) -> usize {
    match ip[0] >> 4 {
        4 => usize::from(u16::from_be_bytes([ip[2], ip[3]])),
        _ => 40 + usize::from(u16::from_be_bytes([ip[4], ip[5]])),
    }
}

/// The sequence number of the test payload of a UDP-in-IP packet.
fn seq_of_ip(ip: &[u8]) -> Option<u32> {
    let l4 = match ip.first()? >> 4 {
        4 => usize::from(ip[0] & 0x0f) * 4,
        6 => 40,
        _ => return None,
    };
    seq_of_payload(&hex(ip.get(l4 + 8..ip_len(ip))?))
}

/// One frame the ITR sent, as tshark reads it (outer headers) and its inner packet.
#[derive(Debug, Clone)]
struct Frame {
    eth_src: String,
    eth_dst: String,
    protocols: String,
    /// Outer header (the only one for plain IP).
    src: IpAddr,
    dst: IpAddr,
    ttl: u8,
    tos: u8,
    /// IPv4 only: header checksum status, DF, Identification.
    ip_csum: String,
    df: String,
    id: String,
    sport: u16,
    dport: u16,
    /// Outer UDP checksum status (1: good, 3: zero, not present).
    udp_csum: String,
    /// Every UDP checksum status, outermost first.
    udp_csums: Vec<String>,
    /// Every IPv4 header checksum status, outermost first.
    ip_csums: Vec<String>,
    lisp_flags: String,
    lisp_iid: String,
    /// The inner packet (LISP) or the IP packet (plain).
    inner: Vec<u8>,
    seq: u32,
    raw: Vec<u8>,
}

const FIELDS: [&str; 20] = [
    "eth.src",
    "eth.dst",
    "frame.protocols",
    "ip.src",
    "ip.dst",
    "ipv6.src",
    "ipv6.dst",
    "ip.ttl",
    "ipv6.hlim",
    "ip.dsfield",
    "ipv6.tclass",
    "ip.checksum.status",
    "ip.flags.df",
    "ip.id",
    "udp.srcport",
    "udp.dstport",
    "udp.checksum.status",
    "lisp-data.flags",
    "lisp-data.iid",
    "frame.len",
];

fn first(s: &str) -> &str {
    s.split(',').next().unwrap_or_default()
}

fn hex_u8(s: &str) -> u8 {
    u32::from_str_radix(s.trim_start_matches("0x"), 16).unwrap_or_else(|_| panic!("hex {s}")) as u8
}

/// Every frame of `pcap` (a missing file: none).
fn frames(pcap: &Path) -> Vec<Frame> {
    let raw = read_pcap(pcap);
    if raw.is_empty() {
        return Vec::new();
    }
    let extra = [
        "-o",
        "ip.check_checksum:TRUE",
        "-o",
        "udp.check_checksum:TRUE",
        "-d",
        "udp.port==7777,data",
    ];
    let rows = tshark(pcap, &FIELDS, &extra);
    assert_eq!(rows.len(), raw.len(), "{}: tshark rows", pcap.display());
    rows.into_iter()
        .zip(raw)
        .map(|(r, raw)| {
            let v4 = raw[12..14] == [0x08, 0x00];
            let (s, d, ttl, tos) = if v4 {
                (&r[3], &r[4], &r[7], &r[9])
            } else {
                (&r[5], &r[6], &r[8], &r[10])
            };
            let lisp = r[2].contains("lisp-data");
            let outer_len = if v4 {
                usize::from(raw[14] & 0x0f) * 4
            } else {
                40
            };
            let inner = if lisp {
                raw[14 + outer_len + 16..].to_vec()
            } else {
                raw[14..].to_vec()
            };
            let inner = inner[..ip_len(&inner).min(inner.len())].to_vec();
            let seq = seq_of_ip(&inner).unwrap_or_else(|| panic!("test payload in {r:?}"));
            let port = |s: &str| first(s).parse::<u16>().unwrap_or(0);
            Frame {
                eth_src: r[0].clone(),
                eth_dst: r[1].clone(),
                protocols: r[2].clone(),
                src: ip(first(s)),
                dst: ip(first(d)),
                ttl: first(ttl).parse().expect("ttl"),
                tos: hex_u8(first(tos)),
                ip_csum: if v4 {
                    first(&r[11]).into()
                } else {
                    String::new()
                },
                df: if v4 {
                    first(&r[12]).into()
                } else {
                    String::new()
                },
                id: if v4 {
                    first(&r[13]).into()
                } else {
                    String::new()
                },
                sport: port(&r[14]),
                dport: port(&r[15]),
                udp_csum: first(&r[16]).into(),
                udp_csums: r[16].split(',').map(str::to_string).collect(),
                ip_csums: r[11]
                    .split(',')
                    .filter(|x| !x.is_empty())
                    .map(str::to_string)
                    .collect(),
                lisp_flags: r[17].clone(),
                lisp_iid: r[18].clone(),
                inner,
                seq,
                raw,
            }
        })
        .collect()
}

/// One of Host_1's packets, from its manifest line.
#[derive(Debug, Clone)]
struct Sent {
    flow: u32,
    dst: String,
    /// The IP packet as sent.
    ip: Vec<u8>,
}

/// `total.dyncast.<key>` (`flows.hits` for the nested ones).
fn dc(json: &Value, key: &str) -> u64 {
    let mut v = &json["total"]["dyncast"];
    for k in key.split('.') {
        v = &v[k];
    }
    v.as_u64()
        .unwrap_or_else(|| panic!("total.dyncast.{key} in {json}"))
}

/// A config edit applied to a shipped config before it runs: (node, text) -> text.
type Edit<'a> = &'a dyn Fn(&str, String) -> String;

fn unchanged(_: &str, text: String) -> String {
    text
}

/// One test's network: a temporary directory holding every link.
struct Net {
    dir: tempfile::TempDir,
    tag: &'static str,
}

impl Net {
    fn new(tag: &'static str) -> Net {
        Net {
            dir: tempfile::tempdir().expect("tempdir"),
            tag,
        }
    }

    fn link(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `tests/scapy/dyncast.py CMD ARGS..` with Debian's python3; returns stdout.
    fn py(&self, cmd: &str, args: &[&str]) -> String {
        let out = Command::new("/usr/bin/python3")
            .arg(root().join("tests/scapy/dyncast.py"))
            .arg(cmd)
            .args(args)
            .output()
            .expect("run /usr/bin/python3 (install python3-scapy: scripts/install-deps.sh)");
        assert!(
            out.status.success(),
            "dyncast.py {cmd} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn arg(&self, name: &str) -> String {
        self.link(name).to_str().expect("utf8 path").to_string()
    }

    /// Runs `node`'s shipped config (after `edit`) until its input is drained.
    fn run(&self, node: &str, edit: Edit) -> Value {
        let shipped = root().join(format!("config/dyncast-{node}.toml"));
        let text = std::fs::read_to_string(&shipped).expect("shipped config");
        let prefix = format!("file_prefix = \"srgate-dyncast-{node}\"");
        assert!(text.contains(SHIPPED_DIR), "{}", shipped.display());
        assert_eq!(text.matches(&prefix).count(), 1, "{}", shipped.display());
        let file_prefix = format!("dyncast-{}-{node}-{}", self.tag, std::process::id());
        let text = text
            .replace(SHIPPED_DIR, &format!("{}/", self.dir.path().display()))
            .replace(&prefix, &format!("file_prefix = \"{file_prefix}\""));
        let dir = self.link(&format!("run-{node}"));
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

    /// Host_1's flows through ITR_1, the underlay to ETR_2, and ETR_2.
    fn chain(&self, edit: Edit) -> (BTreeMap<u32, Sent>, Value, Value) {
        let manifest = self.py("hosts", &[&self.arg("hosts-itr.pcap")]);
        let raw = read_pcap(&self.link("hosts-itr.pcap"));
        let lines: Vec<&str> = manifest.lines().collect();
        assert_eq!(lines.len(), raw.len(), "one manifest line per frame");
        let sent = lines
            .iter()
            .zip(raw)
            .map(|(l, f)| {
                let v: Value = serde_json::from_str(l).expect("manifest json");
                let len = ip_len(&f[14..]);
                let s = Sent {
                    flow: v["flow"].as_u64().expect("flow") as u32,
                    dst: v["dst"].as_str().expect("dst").to_string(),
                    ip: f[14..14 + len].to_vec(),
                };
                (v["seq"].as_u64().expect("seq") as u32, s)
            })
            .collect();
        let itr = self.run("itr", edit);
        self.py(
            "underlay",
            &[&self.arg("itr-wan.pcap"), &self.arg("wan-etr2.pcap"), "02"],
        );
        let etr = self.run("etr", edit);
        (sent, itr, etr)
    }
}

/// The inner packet the ITR must send for `sent`: TTL / hop limit - 1 (the IPv4 header
/// checksum is left as sent: tshark verifies the one on the wire).
fn routed(sent: &[u8]) -> Vec<u8> {
    let mut p = sent.to_vec();
    if p[0] >> 4 == 4 {
        p[8] -= 1;
        p[10..12].copy_from_slice(&[0, 0]);
    } else {
        p[7] -= 1;
    }
    p
}

fn masked(inner: &[u8]) -> Vec<u8> {
    let mut p = inner.to_vec();
    if p.first().map(|b| b >> 4) == Some(4) && p.len() >= 12 {
        p[10..12].copy_from_slice(&[0, 0]);
    }
    p
}

/// Flows of DSEID_A (200 flows, weights 70/30): how far from 140 the count on ETR_2 may
/// be (the binomial's standard deviation is about 6.5 flows: this is about 4 sigma, and
/// the hash is deterministic, so the outcome does not vary between runs).
const SPLIT_TOLERANCE: i64 = 25;

/// Checks every frame and counter of a chain; returns the violations and each flow's
/// RLOCs.
fn chain_violations(
    net: &Net,
    sent: &BTreeMap<u32, Sent>,
    itr: &Value,
    etr: &Value,
) -> (Vec<String>, BTreeMap<u32, BTreeSet<IpAddr>>) {
    let mut bad = Vec::new();
    let mut rlocs: BTreeMap<u32, BTreeSet<IpAddr>> = BTreeMap::new();
    let mut wan: BTreeMap<u32, Frame> = BTreeMap::new();
    for f in frames(&net.link("itr-wan.pcap")) {
        let seq = f.seq;
        if wan.insert(seq, f).is_some() {
            bad.push(format!("ITR wan: seq {seq} twice"));
        }
    }
    let (mut n_lisp, mut n_plain, mut n_none) = (0u64, 0u64, 0u64);
    let mut lisp_flows = BTreeSet::new();
    let mut to_etr2 = 0u64;
    for (seq, s) in sent {
        let at = format!("ITR wan, seq {seq} (flow {}, {})", s.flow, s.dst);
        let f = wan.get(seq);
        let allowed: &[&str] = match s.dst.as_str() {
            DSEID_A => &["192.0.2.2", "192.0.2.3"],
            DSEID_B => &["2001:db8:ff::2", "2001:db8:ff::3"],
            DSEID_C => &["192.0.2.4"],
            DSEID_D => {
                n_none += 1;
                lisp_flows.insert(s.flow);
                if f.is_some() {
                    bad.push(format!("{at}: sent, expected dropped (every RLOC p255)"));
                }
                continue;
            }
            _ => {
                n_plain += 1;
                match f {
                    Some(f) if !f.protocols.contains("lisp") => {
                        let want = routed(&s.ip);
                        if (f.eth_src.as_str(), f.eth_dst.as_str())
                            != (mac("01", "99").as_str(), mac("99", "01").as_str())
                            || masked(&f.inner) != want
                            || f.ip_csum != "1"
                        {
                            bad.push(format!("{at}: plain IP routed wrong: {f:?}"));
                        }
                    }
                    f => bad.push(format!("{at}: plain IP not routed: {f:?}")),
                }
                continue;
            }
        };
        let Some(f) = f else {
            bad.push(format!("{at}: not sent"));
            continue;
        };
        n_lisp += 1;
        lisp_flows.insert(s.flow);
        rlocs.entry(s.flow).or_default().insert(f.dst);
        if !allowed.contains(&f.dst.to_string().as_str()) {
            bad.push(format!(
                "{at}: to RLOC {}, expected one of {allowed:?}",
                f.dst
            ));
            continue;
        }
        if etr_of(&f.dst) == "02" {
            to_etr2 += 1;
        }
        if !f.protocols.contains("lisp-data") {
            bad.push(format!("{at}: tshark does not see LISP: {}", f.protocols));
        }
        let etr = etr_of(&f.dst);
        if (f.eth_src.clone(), f.eth_dst.clone()) != (mac("01", etr), mac(etr, "01")) {
            bad.push(format!("{at}: MACs {} -> {}", f.eth_src, f.eth_dst));
        }
        let src = if f.dst.is_ipv4() { SRC4 } else { SRC6 };
        if f.src != ip(src) {
            bad.push(format!("{at}: outer source {}, expected {src}", f.src));
        }
        let inner_v4 = s.ip[0] >> 4 == 4;
        let (ttl, tos) = if inner_v4 {
            (s.ip[8] - 1, s.ip[1])
        } else {
            (s.ip[7] - 1, (s.ip[0] << 4) | (s.ip[1] >> 4))
        };
        if (f.ttl, f.tos) != (ttl, tos) {
            bad.push(format!(
                "{at}: outer TTL/TOS {}/{:#x}, expected {ttl}/{tos:#x} (the inner's)",
                f.ttl, f.tos
            ));
        }
        if f.dport != 4341 || f.sport < 0xc000 {
            bad.push(format!("{at}: UDP {} -> {}", f.sport, f.dport));
        }
        if f.dst.is_ipv4() {
            if (f.ip_csum.as_str(), f.df.as_str()) != ("1", "1")
                || u32::from_str_radix(f.id.trim_start_matches("0x"), 16) != Ok(0)
            {
                bad.push(format!(
                    "{at}: outer IPv4 checksum {} DF {} id {}",
                    f.ip_csum, f.df, f.id
                ));
            }
            if f.udp_csum != "3" {
                bad.push(format!(
                    "{at}: outer UDP checksum {}, expected 0",
                    f.udp_csum
                ));
            }
        } else if f.udp_csum != "1" {
            bad.push(format!("{at}: outer UDP checksum status {}", f.udp_csum));
        }
        let (flags, iid) = if s.dst == DSEID_B {
            ("0x08", "7")
        } else {
            ("0x00", "")
        };
        if (f.lisp_flags.as_str(), f.lisp_iid.as_str()) != (flags, iid) {
            bad.push(format!(
                "{at}: LISP flags {} IID {:?}, expected {flags} {iid:?}",
                f.lisp_flags, f.lisp_iid
            ));
        }
        if masked(&f.inner) != routed(&s.ip) {
            bad.push(format!(
                "{at}: inner packet\n  got  {}\n  want {}",
                hex(&masked(&f.inner)),
                hex(&routed(&s.ip))
            ));
        }
        let inner_ok = f.udp_csums.last().map(String::as_str) == Some("1")
            && (!inner_v4 || f.ip_csums.last().map(String::as_str) == Some("1"));
        if !inner_ok {
            bad.push(format!(
                "{at}: inner checksums IP {:?} UDP {:?}",
                f.ip_csums, f.udp_csums
            ));
        }
        let outer_len = if f.dst.is_ipv4() { 20 } else { 40 };
        if f.raw.len() != 14 + outer_len + 16 + s.ip.len() {
            bad.push(format!("{at}: frame length {}", f.raw.len()));
        }
    }
    if wan.len() as u64 != n_lisp + n_plain {
        bad.push(format!(
            "ITR wan: {} frames, expected {}",
            wan.len(),
            n_lisp + n_plain
        ));
    }

    // Affinity, priorities and weights.
    for (flow, set) in &rlocs {
        if set.len() != 1 {
            bad.push(format!("flow {flow}: packets to several RLOCs {set:?}"));
        }
    }
    let flows_to = |dseid: &str| -> BTreeMap<String, i64> {
        let mut m = BTreeMap::new();
        let flows: BTreeSet<u32> = sent
            .values()
            .filter(|s| s.dst == dseid)
            .map(|s| s.flow)
            .collect();
        for f in flows {
            for r in rlocs.get(&f).into_iter().flatten() {
                *m.entry(r.to_string()).or_default() += 1;
            }
        }
        m
    };
    let a = flows_to(DSEID_A);
    let on2 = a.get("192.0.2.2").copied().unwrap_or(0);
    let on3 = a.get("192.0.2.3").copied().unwrap_or(0);
    if on2 + on3 != 200 || (on2 - 140).abs() > SPLIT_TOLERANCE {
        bad.push(format!(
            "DSEID_A: flows per RLOC {a:?}, expected 200 split 70/30 \
             (140 +- {SPLIT_TOLERANCE} on 192.0.2.2)"
        ));
    }
    let b = flows_to(DSEID_B);
    if b.len() != 2 || b.values().any(|n| (n - 20).abs() > 10) {
        bad.push(format!(
            "DSEID_B: flows per RLOC {b:?}, expected 40 split 50/50"
        ));
    }

    // ETR_2: what the underlay delivered, decapsulated byte for byte.
    let at_etr = read_pcap(&net.link("wan-etr2.pcap"));
    let site = read_pcap(&net.link("etr2-site.pcap"));
    if at_etr.len() as u64 != to_etr2 || site.len() != at_etr.len() {
        bad.push(format!(
            "ETR_2: {} frames in, {} out, expected {to_etr2}",
            at_etr.len(),
            site.len()
        ));
    }
    for (i, (lisp, out)) in at_etr.iter().zip(&site).enumerate() {
        let outer = if lisp[12..14] == [0x08, 0x00] { 20 } else { 40 };
        let inner = &lisp[14 + outer + 16..];
        let ethertype: [u8; 2] = if inner[0] >> 4 == 4 {
            [0x08, 0x00]
        } else {
            [0x86, 0xdd]
        };
        let want_eth = format!("{}{}", mac("5e", "02"), mac("02", "5e")).replace(':', "");
        if hex(&out[..12]) != want_eth || out[12..14] != ethertype {
            bad.push(format!(
                "ETR_2 site frame {i}: Ethernet {}",
                hex(&out[..14])
            ));
        }
        let len = ip_len(inner);
        if out.get(14..14 + len) != inner.get(..len) {
            bad.push(format!(
                "ETR_2 site frame {i}: not the inner packet\n  got  {}\n  want {}",
                hex(&out[14..]),
                hex(inner)
            ));
        }
    }

    // Counters.
    let n = sent.len() as u64;
    let counters = [
        ("ITR", "rx_packets", total(itr, "rx_packets"), n),
        (
            "ITR",
            "tx_packets",
            total(itr, "tx_packets"),
            n_lisp + n_plain,
        ),
        ("ITR", "handled.dyncast", handled(itr, "dyncast"), n_lisp),
        ("ITR", "handled.ipv4", handled(itr, "ipv4"), n_plain),
        (
            "ITR",
            "dyncast.encapsulated",
            dc(itr, "encapsulated"),
            n_lisp,
        ),
        ("ITR", "dyncast.decapsulated", dc(itr, "decapsulated"), 0),
        // Every flow to a DSEID misses once (DSEID_D's too: nothing is stored for them).
        (
            "ITR",
            "dyncast.flows.misses",
            dc(itr, "flows.misses"),
            lisp_flows.len() as u64,
        ),
        (
            "ITR",
            "dyncast.flows.hits",
            dc(itr, "flows.hits"),
            n_lisp + n_none - lisp_flows.len() as u64,
        ),
        ("ITR", "dyncast.flows.repicks", dc(itr, "flows.repicks"), 0),
        (
            "ITR",
            "dyncast.flows.evictions",
            dc(itr, "flows.evictions"),
            0,
        ),
        (
            "ITR",
            "ports.wan.opackets",
            port_out(itr, "wan"),
            n_lisp + n_plain,
        ),
        ("ETR_2", "rx_packets", total(etr, "rx_packets"), to_etr2),
        (
            "ETR_2",
            "handled.dyncast-decap",
            handled(etr, "dyncast-decap"),
            to_etr2,
        ),
        (
            "ETR_2",
            "dyncast.decapsulated",
            dc(etr, "decapsulated"),
            to_etr2,
        ),
        ("ETR_2", "dyncast.encapsulated", dc(etr, "encapsulated"), 0),
        (
            "ETR_2",
            "ports.site.opackets",
            port_out(etr, "site"),
            to_etr2,
        ),
    ];
    for (node, name, got, want) in counters {
        if got != want {
            bad.push(format!("{node}: {name} = {got}, expected {want}"));
        }
    }
    let want_drops: BTreeMap<String, u64> = [("dyncast-no-rloc".to_string(), n_none)].into();
    if nonzero_drops(itr) != want_drops {
        bad.push(format!(
            "ITR: drops {:?}, expected {want_drops:?}",
            nonzero_drops(itr)
        ));
    }
    if !nonzero_drops(etr).is_empty() {
        bad.push(format!("ETR_2: drops {:?}", nonzero_drops(etr)));
    }
    (bad, rlocs)
}

fn report(bad: &[String]) -> String {
    let shown: Vec<&str> = bad.iter().take(40).map(String::as_str).collect();
    format!("{} violations:\n  {}", bad.len(), shown.join("\n  "))
}

/// Host_1's flows to the four DSEIDs and to a plain address, through ITR_1 and ETR_2:
/// LISP-encapsulated to the best-priority RLOCs in the weights' proportions, every packet
/// of a flow to the same RLOC, never to a priority-255 RLOC; ETR_2 delivers the inner
/// packets byte for byte; the counters of both nodes agree.
#[test]
fn flows_to_dseids_are_encapsulated_to_one_rloc_each_and_decapsulated() {
    let net = Net::new("e2e");
    let (sent, itr, etr) = net.chain(&unchanged);
    let (bad, rlocs) = chain_violations(&net, &sent, &itr, &etr);
    assert!(bad.is_empty(), "{}", report(&bad));
    // Spelled out once.
    assert_eq!(sent.len(), 709);
    let used: BTreeSet<String> = rlocs.values().flatten().map(|r| r.to_string()).collect();
    assert!(!used.contains("192.0.2.5"), "priority 255 used");
    assert!(used.contains("192.0.2.4"), "DSEID_C's only usable RLOC");
    assert_eq!(handled(&itr, "dyncast"), 700);
    assert_eq!(drops(&itr, "dyncast-no-rloc"), 5);
    assert_eq!(dc(&itr, "flows.misses"), 255);
    assert!(handled(&etr, "dyncast-decap") > 100);
}

/// The checks have teeth: with ETR_5's priority 255 for DSEID_A turned into 1 (weight
/// 100: the largest share), flows go to the withdrawn RLOC and the checks say so.
#[test]
fn check_catches_a_withdrawn_rloc_put_back() {
    let net = Net::new("broken");
    let put_back = |node: &str, text: String| -> String {
        if node != "itr" {
            return text;
        }
        assert_eq!(text.matches(ETR5_WITHDRAWN).count(), 1, "ETR_5's line");
        text.replace(
            ETR5_WITHDRAWN,
            &ETR5_WITHDRAWN.replace("priority = 255", "priority = 1"),
        )
    };
    let (sent, itr, etr) = net.chain(&put_back);
    let (bad, _) = chain_violations(&net, &sent, &itr, &etr);
    let text = report(&bad);
    assert!(
        bad.iter()
            .any(|b| b.contains("to RLOC 192.0.2.5, expected one of")),
        "{text}"
    );
    assert!(
        bad.iter().any(|b| b.starts_with("DSEID_A: flows per RLOC")),
        "{text}"
    );
}

/// Hand-built LISP packets to ETR_2 (`dyncast.py malformed-etr`): shorter than the LISP
/// header (IPv4 and IPv6 RLOCs), carrying neither IPv4 nor IPv6, fragmented, or to an
/// address that is not ETR_2's — each counted under its reason, srgate exiting 0; the
/// valid ones between them (Instance ID, nonce, IPv4 inside IPv6) are delivered byte for
/// byte.
#[test]
fn malformed_lisp_at_the_etr_is_dropped_by_reason() {
    let net = Net::new("bad");
    let input = net.arg("wan-etr2.pcap");
    let out = net.py("malformed-etr", &[&input]);
    let mut want_drops: BTreeMap<String, u64> = BTreeMap::new();
    let mut fwd: Vec<Value> = Vec::new();
    for line in out.lines() {
        match line.split_once(' ') {
            Some(("drop", reason)) => *want_drops.entry(reason.into()).or_default() += 1,
            Some(("forward", j)) => fwd.push(serde_json::from_str(j).expect("json")),
            _ => panic!("expectation line {line:?}"),
        }
    }
    let n_in = read_pcap(&net.link("wan-etr2.pcap")).len() as u64;
    let json = net.run("etr", &unchanged);
    assert_eq!(total(&json, "rx_packets"), n_in);
    assert_eq!(nonzero_drops(&json), want_drops, "drops by reason");
    assert!(want_drops["dyncast-lisp-truncated"] >= 3);
    assert_eq!(
        want_drops.values().sum::<u64>() + fwd.len() as u64,
        n_in,
        "every frame accounted for"
    );
    assert_eq!(handled(&json, "dyncast-decap"), fwd.len() as u64);
    assert_eq!(dc(&json, "decapsulated"), fwd.len() as u64);
    let site = read_pcap(&net.link("etr2-site.pcap"));
    assert_eq!(site.len(), fwd.len(), "only the valid packets");
    for (out, w) in site.iter().zip(&fwd) {
        let inner = w["inner"].as_str().expect("inner");
        assert_eq!(
            hex(&out[14..14 + inner.len() / 2]),
            inner,
            "seq {}: the inner packet byte for byte",
            w["seq"]
        );
        assert_eq!(seq_of_ip(&out[14..]), w["seq"].as_u64().map(|s| s as u32));
    }
}
