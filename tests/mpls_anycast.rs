//! Golden tests of draft-psarkar-spring-mpls-anycast-segments-00 (seed 004), figure 4, on
//! real packets through real srgate processes: one srgate per MPLS node of figure 2 (R1,
//! A1, A2, A3, A4, R3), each loaded with the shipped `config/mpls-anycast-<node>.toml`
//! (only its pcap paths and EAL file prefix changed), every link a pcap file that the
//! sender writes and the receiver reads. scapy builds PE1's packets
//! (`tests/scapy/mpls.py`), tshark reads every link.
//!
//! The label stack on each link, outermost first (`label/S/TTL`), PE1 -> PE3:
//!
//! ```text
//! PE1 -> R1       7100/0/64 30/1/64    R1's label for anycast SID 100, then PE3's SID index
//! R1  -> A1 | A2  1100/0/63 30/1/64    swapped for the member's anycast label (No-PHP)
//!                 2100/0/63 30/1/64
//! A1|A2 -> A3     3030/1/62            anycast label popped, SID 30 looked up in the V-LFIB
//! A1|A2 -> A4     4030/1/62
//! A3|A4 -> R3     6030/1/61            ordinary swap in the default LFIB
//! R3  -> PE3      (IPv4 or IPv6)       PHP; the IP packet untouched (TTL 64, pipe model)
//! ```
//!
//! ECMP hashes the labels and the IP flow, so each node chooses independently: besides
//! figure 4's A1 -> A3 and A2 -> A4, the crossed A1 -> A4 and A2 -> A3 (which figure 3's
//! V-LFIBs allow) carry traffic too.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::Value;

/// The nodes srgate plays, in the order figure 4's packets reach them: the neighbours whose
/// links port "in" reads (figure 4's direction), and every neighbour (a TX-only port
/// `to-<neighbour>` each, writing the link `<node>-<neighbour>.pcap`).
const NODES: [(&str, &[&str], &[&str]); 6] = [
    ("r1", &["pe1"], &["pe1", "pe2", "a1", "a2"]),
    ("a1", &["r1"], &["r1", "a3", "a4"]),
    ("a2", &["r1"], &["r1", "a3", "a4"]),
    ("a3", &["a1", "a2"], &["a1", "a2", "r3"]),
    ("a4", &["a1", "a2"], &["a1", "a2", "r3"]),
    ("r3", &["a3", "a4"], &["a3", "a4", "pe3", "pe4"]),
];

/// Number of flows PE1 sends in the figure 4 test.
const FLOWS: usize = 48;

/// The placeholder directory of the links in the shipped configs.
const SHIPPED_DIR: &str = "/tmp/srgate-fig4/";

/// The MAC of `node`'s interface toward `peer` (the shipped configs' convention).
fn mac(node: &str, peer: &str) -> String {
    let id = |n: &str| match n {
        "r1" => "01".to_string(),
        "r3" => "03".to_string(),
        n if n.starts_with("pe") => format!("e{}", &n[2..]),
        n => n.to_string(),
    };
    format!("02:f4:00:00:{}:{}", id(node), id(peer))
}

/// `(label, bottom of stack, TTL)`, outermost first.
type Stack = Vec<(u32, bool, u8)>;

/// One frame on a link, as tshark reads it.
#[derive(Debug, Clone)]
struct Frame {
    seq: u32,
    payload: String,
    src: String,
    dst: String,
    ethertype: String,
    stack: Stack,
    /// IPv4 TTL (empty for IPv6).
    ip_ttl: String,
    /// IPv6 hop limit (empty for IPv4).
    hlim: String,
    /// tshark's IPv4 checksum status (1: good; empty for IPv6).
    checksum: String,
    len: usize,
}

impl Frame {
    fn ipv4(&self) -> bool {
        !self.ip_ttl.is_empty()
    }
}

const FIELDS: [&str; 11] = [
    "udp.payload",
    "eth.src",
    "eth.dst",
    "eth.type",
    "mpls.label",
    "mpls.bottom",
    "mpls.ttl",
    "ip.ttl",
    "ipv6.hlim",
    "ip.checksum.status",
    "frame.len",
];

/// Every frame of `pcap` (missing file: none).
fn frames(pcap: &Path) -> Vec<Frame> {
    if !pcap.exists() {
        return Vec::new();
    }
    let extra = ["-o", "ip.check_checksum:TRUE", "-d", "udp.port==7777,data"];
    tshark(pcap, &FIELDS, &extra)
        .into_iter()
        .map(|r| {
            let list = |s: &str| -> Vec<u32> {
                s.split(',')
                    .filter(|t| !t.is_empty())
                    .map(|t| {
                        t.parse()
                            .unwrap_or_else(|_| panic!("number {t:?} in {r:?}"))
                    })
                    .collect()
            };
            let (labels, bottoms, ttls) = (list(&r[4]), list(&r[5]), list(&r[6]));
            assert!(
                labels.len() == bottoms.len() && labels.len() == ttls.len(),
                "{r:?}"
            );
            Frame {
                seq: seq_of_payload(&r[0]).unwrap_or_else(|| panic!("test payload in {r:?}")),
                payload: r[0].clone(),
                src: r[1].clone(),
                dst: r[2].clone(),
                ethertype: r[3].clone(),
                stack: (0..labels.len())
                    .map(|i| (labels[i], bottoms[i] == 1, ttls[i] as u8))
                    .collect(),
                ip_ttl: r[7].clone(),
                hlim: r[8].clone(),
                checksum: r[9].clone(),
                len: r[10]
                    .parse()
                    .unwrap_or_else(|_| panic!("frame.len in {r:?}")),
            }
        })
        .collect()
}

/// Runs `tests/scapy/mpls.py ARGS` with Debian's python3 (which has scapy).
fn scapy_mpls(args: &[&str]) {
    let out = Command::new("/usr/bin/python3")
        .arg(root().join("tests/scapy/mpls.py"))
        .args(args)
        .output()
        .expect("run /usr/bin/python3 (install python3-scapy: scripts/install-deps.sh)");
    assert!(
        out.status.success(),
        "scapy failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The network of figure 2 in a temporary directory: `<from>-<to>.pcap` per link,
/// `<node>/srgate.toml` and `<node>/stats.json` per node.
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

    fn link(&self, from: &str, to: &str) -> PathBuf {
        self.dir.path().join(format!("{from}-{to}.pcap"))
    }

    /// The frames on the link `from -> to`.
    fn frames(&self, from: &str, to: &str) -> Vec<Frame> {
        frames(&self.link(from, to))
    }

    /// Writes `node`'s shipped config with the links in this directory and an EAL file
    /// prefix of this test's own, after `edit` (the identity but for deliberate breakage).
    fn config(&self, node: &str, edit: &dyn Fn(&str, String) -> String) -> PathBuf {
        let shipped = root().join(format!("config/mpls-anycast-{node}.toml"));
        let text = std::fs::read_to_string(&shipped).expect("shipped config");
        let prefix = format!("file_prefix = \"srgate-fig4-{node}\"");
        assert!(text.contains(SHIPPED_DIR), "{}", shipped.display());
        assert_eq!(text.matches(&prefix).count(), 1, "{}", shipped.display());
        let text = text.replace(SHIPPED_DIR, &format!("{}/", self.dir.path().display()));
        let text = text.replace(
            &prefix,
            &format!(
                "file_prefix = \"fig4-{}-{node}-{}\"",
                self.tag,
                std::process::id()
            ),
        );
        let dir = self.dir.path().join(node);
        std::fs::create_dir_all(&dir).expect("node dir");
        let path = dir.join("srgate.toml");
        std::fs::write(&path, edit(node, text)).expect("write config");
        path
    }

    /// Runs `node` until its input is drained; returns its stats JSON.
    fn run(&self, node: &str, edit: &dyn Fn(&str, String) -> String) -> Value {
        let cfg = self.config(node, edit);
        let (_, json) = run_srgate(&cfg, &["--exit-idle-ms", "700", "--duration", "30"]);
        json
    }

    /// Runs every node in figure 4's order.
    fn run_all(&self, edit: &dyn Fn(&str, String) -> String) -> BTreeMap<&'static str, Value> {
        NODES
            .iter()
            .map(|&(node, _, _)| (node, self.run(node, edit)))
            .collect()
    }
}

fn unchanged(_: &str, text: String) -> String {
    text
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

/// The label stack figure 4's traffic must carry on the link `from -> to`; `None` for a
/// link that must stay silent.
fn expected_stack(from: &str, to: &str) -> Option<Stack> {
    Some(match (from, to) {
        ("pe1", "r1") => vec![(7100, false, 64), (30, true, 64)],
        ("r1", "a1") => vec![(1100, false, 63), (30, true, 64)],
        ("r1", "a2") => vec![(2100, false, 63), (30, true, 64)],
        ("a1" | "a2", "a3") => vec![(3030, true, 62)],
        ("a1" | "a2", "a4") => vec![(4030, true, 62)],
        ("a3" | "a4", "r3") => vec![(6030, true, 61)],
        ("r3", "pe3") => vec![],
        _ => return None,
    })
}

/// Checks the whole of figure 4 on the links and counters of `net`; returns every
/// violation (none when srgate forwards as the draft says).
fn figure4_violations(net: &Net, stats: &BTreeMap<&str, Value>) -> Vec<String> {
    let mut bad = Vec::new();
    let sent = net.frames("pe1", "r1");
    let by_seq: BTreeMap<u32, &Frame> = sent.iter().map(|f| (f.seq, f)).collect();
    if sent.len() != FLOWS || by_seq.len() != FLOWS {
        bad.push(format!("PE1 sent {} frames, expected {FLOWS}", sent.len()));
    }
    // Every link with its frames, in figure 4's order: the PE1 link, then each node's.
    let mut links = vec![("pe1", "r1", sent.clone())];
    for &(node, _, peers) in &NODES {
        for &peer in peers {
            links.push((node, peer, net.frames(node, peer)));
        }
    }
    let on = |from: &str, to: &str| {
        links
            .iter()
            .find(|l| (l.0, l.1) == (from, to))
            .map_or(0, |l| l.2.len())
    };
    // seq -> the links it was seen on, in order.
    let mut traces: BTreeMap<u32, Vec<(&str, &str)>> = BTreeMap::new();
    for (from, to, frames) in &links {
        let (from, to) = (*from, *to);
        let expected = expected_stack(from, to);
        if expected.is_none() && !frames.is_empty() {
            bad.push(format!(
                "{from}->{to}: {} frames on a link figure 4 does not use",
                frames.len()
            ));
        }
        for f in frames {
            let at = format!("{from}->{to} seq {}", f.seq);
            traces.entry(f.seq).or_default().push((from, to));
            let Some(s) = by_seq.get(&f.seq) else {
                bad.push(format!("{at}: PE1 never sent it"));
                continue;
            };
            if let Some(stack) = &expected {
                if &f.stack != stack {
                    bad.push(format!(
                        "{at}: label stack {:?}, expected {stack:?}",
                        f.stack
                    ));
                }
                let ethertype = match (stack.is_empty(), s.ipv4()) {
                    (false, _) => "0x8847",
                    (true, true) => "0x0800",
                    (true, false) => "0x86dd",
                };
                if f.ethertype != ethertype {
                    bad.push(format!(
                        "{at}: EtherType {}, expected {ethertype}",
                        f.ethertype
                    ));
                }
                let len = s.len - 4 * (2 - stack.len().min(2));
                if f.len != len {
                    bad.push(format!("{at}: {} bytes, expected {len}", f.len));
                }
            }
            if (f.src.as_str(), f.dst.as_str()) != (mac(from, to).as_str(), mac(to, from).as_str())
            {
                bad.push(format!(
                    "{at}: MACs {} -> {}, expected this link's {} -> {}",
                    f.src,
                    f.dst,
                    mac(from, to),
                    mac(to, from)
                ));
            }
            if f.payload != s.payload {
                bad.push(format!("{at}: UDP payload changed"));
            }
            // Pipe model: the IP packet under the labels, and at PE3, is the one PE1 sent.
            let ip = if s.ipv4() {
                (f.ip_ttl.as_str(), f.checksum.as_str())
            } else {
                (f.hlim.as_str(), "")
            };
            let want = if s.ipv4() { ("64", "1") } else { ("64", "") };
            if ip != want {
                bad.push(format!(
                    "{at}: IP TTL/hop limit and checksum status {ip:?}, expected {want:?}"
                ));
            }
        }
    }
    // Every flow: PE1 -> R1 -> member -> member -> R3 -> PE3, each link once.
    let mut paths: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for &seq in by_seq.keys() {
        let trace = traces.get(&seq).cloned().unwrap_or_default();
        let path = match trace.as_slice() {
            [("pe1", "r1"), ("r1", m), (m2, n), (n2, "r3"), ("r3", "pe3")]
                if m == m2 && n == n2 && ["a1", "a2"].contains(m) && ["a3", "a4"].contains(n) =>
            {
                Some((*m, *n))
            }
            _ => None,
        };
        match path {
            Some(p) => *paths.entry(p).or_default() += 1,
            None => bad.push(format!(
                "seq {seq}: links {trace:?}, expected pe1->r1->(a1|a2)->(a3|a4)->r3->pe3 once each"
            )),
        }
    }
    // ECMP: both of R1's branches, both second members, and every member-to-member link.
    for (m, n) in [("a1", "a3"), ("a1", "a4"), ("a2", "a3"), ("a2", "a4")] {
        if paths.get(&(m, n)).copied().unwrap_or(0) == 0 {
            bad.push(format!("no flow took R1->{m}->{n}: {paths:?}"));
        }
    }
    // Counters: each node handled as MPLS exactly what reached it, dropped nothing, and
    // each port sent exactly what is on its link.
    for &(node, ups, peers) in &NODES {
        let Some(json) = stats.get(node) else {
            bad.push(format!("{node}: no stats"));
            continue;
        };
        let rx: usize = ups.iter().map(|&u| on(u, node)).sum();
        let tx: usize = peers.iter().map(|&p| on(node, p)).sum();
        let counters = [
            ("rx_packets", total(json, "rx_packets"), rx),
            ("tx_packets", total(json, "tx_packets"), tx),
            ("handled mpls", handled(json, "mpls"), rx),
            ("handled mpls-local", handled(json, "mpls-local"), 0),
            ("handled mpls-xconnect", handled(json, "mpls-xconnect"), 0),
        ];
        for (what, got, want) in counters {
            if got != want as u64 {
                bad.push(format!("{node}: {what} {got}, expected {want}"));
            }
        }
        for &peer in peers {
            let (got, want) = (port_out(json, &format!("to-{peer}")), on(node, peer));
            if got != want as u64 {
                bad.push(format!(
                    "{node}: port to-{peer} opackets {got}, frames on the link {want}"
                ));
            }
        }
        let dropped: BTreeMap<&String, &Value> = json["total"]["drops"]
            .as_object()
            .expect("drops")
            .iter()
            .filter(|(_, v)| v.as_u64() != Some(0))
            .collect();
        if !dropped.is_empty() {
            bad.push(format!("{node}: drops {dropped:?}, expected none"));
        }
    }
    bad
}

fn report(bad: &[String]) -> String {
    let shown: Vec<&str> = bad.iter().take(40).map(String::as_str).collect();
    format!("{} violations:\n{}", bad.len(), shown.join("\n"))
}

/// Figure 4 end to end: every flow PE1 sends reaches PE3 exactly once, over one of the
/// four paths through group A, with the draft's label stack, TTLs and each link's MACs on
/// every link, and every node's counters agree.
#[test]
fn figure4_pe1_to_pe3_through_anycast_group_a() {
    let net = Net::new("ok");
    scapy_mpls(&[
        "fig4",
        net.link("pe1", "r1").to_str().expect("utf8"),
        &FLOWS.to_string(),
    ]);
    let stats = net.run_all(&unchanged);
    let bad = figure4_violations(&net, &stats);
    assert!(bad.is_empty(), "{}", report(&bad));
    // What figure 4 draws, spelled out once: both of R1's branches carry traffic, and
    // PE3 receives bare IPv4 and IPv6 packets.
    assert!(!net.frames("r1", "a1").is_empty() && !net.frames("r1", "a2").is_empty());
    let at_pe3 = net.frames("r3", "pe3");
    assert_eq!(at_pe3.len(), FLOWS);
    assert!(at_pe3.iter().all(|f| f.stack.is_empty()));
    assert!(at_pe3.iter().any(|f| f.ethertype == "0x86dd"));
    assert!(at_pe3.iter().any(|f| f.ethertype == "0x0800"));
}

/// The checker has teeth: A1's V-LFIB with the labels of SID 30 exchanged (4030 toward A3,
/// 3030 toward A4) sends each member a label it does not hold; the flows through A1 are
/// lost at A3/A4 (`mpls-no-label`) and the check says so.
#[test]
fn figure4_check_catches_a_broken_vlfib() {
    let net = Net::new("broken");
    scapy_mpls(&[
        "fig4",
        net.link("pe1", "r1").to_str().expect("utf8"),
        &FLOWS.to_string(),
    ]);
    let swap_sid30 = |node: &str, text: String| -> String {
        if node != "a1" {
            return text;
        }
        let mut doc: toml::Table = toml::from_str(&text).expect("toml");
        let vlfib = doc["tables"]["mpls"]["vlfib"][0]["entry"]
            .as_array_mut()
            .expect("entries");
        let sid30 = vlfib
            .iter_mut()
            .find(|e| e["sid"].as_integer() == Some(30))
            .expect("SID 30");
        let paths = sid30["paths"].as_array_mut().expect("paths");
        let l0 = paths[0]["labels"].clone();
        paths[0]["labels"] = paths[1]["labels"].clone();
        paths[1]["labels"] = l0;
        toml::to_string(&doc).expect("toml")
    };
    let stats = net.run_all(&swap_sid30);
    let bad = figure4_violations(&net, &stats);
    let text = report(&bad);
    assert!(
        bad.iter()
            .any(|b| b.starts_with("a1->a3") && b.contains("label stack [(4030, true, 62)]")),
        "{text}"
    );
    assert!(
        bad.iter()
            .any(|b| b.starts_with("a1->a4") && b.contains("label stack [(3030, true, 62)]")),
        "{text}"
    );
    assert!(bad.iter().any(|b| b.contains("expected pe1->r1")), "{text}");
    let through_a1 = net.frames("r1", "a1").len() as u64;
    assert!(through_a1 > 0);
    let lost = drops(&stats["a3"], "mpls-no-label") + drops(&stats["a4"], "mpls-no-label");
    assert_eq!(lost, through_a1, "{text}");
    assert_eq!(
        net.frames("r3", "pe3").len() as u64,
        FLOWS as u64 - through_a1
    );
}

/// R1 drops what it cannot forward, and counts why: a label it has no entry for (7500,
/// inside its SRGB; and the bare SID index 30 on top, which is only meaningful in a
/// member's V-LFIB) is `mpls-no-label` (R1 has no cross-connect to fall back on), TTL 1 is
/// `ttl-expired`. None of them leaves R1. A packet with TTL 2 leaves R1 with TTL 1 and
/// expires at the member.
#[test]
fn r1_drops_unknown_labels_and_expired_ttl() {
    let net = Net::new("neg");
    scapy_mpls(&["negative", net.link("pe1", "r1").to_str().expect("utf8")]);
    let sent = net.frames("pe1", "r1");
    let seqs: Vec<u32> = sent.iter().map(|f| f.seq).collect();
    assert_eq!(seqs, [0, 1, 2, 3, 4, 5]);
    assert_eq!(sent[1].stack[0].0, 7500);
    assert_eq!(sent[2].stack[0], (7100, false, 1));
    assert_eq!(sent[5].stack, [(30, true, 64)]);

    let r1 = net.run("r1", &unchanged);
    assert_eq!(total(&r1, "rx_packets"), 6, "{r1}");
    assert_eq!(drops(&r1, "mpls-no-label"), 2, "7500 and 30: {r1}");
    assert_eq!(drops(&r1, "ttl-expired"), 1, "{r1}");
    assert_eq!(all_drops(&r1), 3, "no other drop: {r1}");
    assert_eq!(handled(&r1, "mpls"), 3);
    assert_eq!(handled(&r1, "mpls-xconnect"), 0);
    assert_eq!(total(&r1, "tx_packets"), 3);
    let mut out: Vec<Frame> = ["a1", "a2"]
        .iter()
        .flat_map(|m| net.frames("r1", m))
        .collect();
    out.sort_by_key(|f| f.seq);
    let out_seqs: Vec<u32> = out.iter().map(|f| f.seq).collect();
    assert_eq!(out_seqs, [0, 3, 4], "only the forwardable frames leave R1");
    assert_eq!(out[2].stack[0].2, 1, "TTL 2 leaves R1 as 1");
    assert_eq!(out[2].stack[1], (30, true, 2), "the SID under it untouched");
    assert!(net.frames("r1", "pe1").is_empty() && net.frames("r1", "pe2").is_empty());

    let (a1, a2) = (net.run("a1", &unchanged), net.run("a2", &unchanged));
    assert_eq!(
        drops(&a1, "ttl-expired") + drops(&a2, "ttl-expired"),
        1,
        "{a1}\n{a2}"
    );
    assert_eq!(all_drops(&a1) + all_drops(&a2), 1);
    assert_eq!(handled(&a1, "mpls") + handled(&a2, "mpls"), 2);
    let mut onward: Vec<u32> = ["a1", "a2"]
        .iter()
        .flat_map(|m| ["a3", "a4"].map(|n| net.frames(m, n)))
        .flatten()
        .map(|f| f.seq)
        .collect();
    onward.sort();
    assert_eq!(onward, [0, 3]);
}
