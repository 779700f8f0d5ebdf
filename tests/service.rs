//! Golden tests of the hierarchical service FIBs (seed 001,
//! draft-yuan-cats-hierarchical-loop-prevention-00, figures 4 to 6) on real packets
//! through real srgate processes: one srgate per PE, each loaded with its shipped
//! `config/service-pe<n>.toml` (only the pcap directory and the EAL file prefix changed),
//! every link a pcap file that the sender writes and the receiver reads. scapy builds the
//! inputs and plays PE2, a plain SRv6 End router (`tests/scapy/service.py`); tshark reads
//! every link.
//!
//! ```text
//! clients --access--> PE1 --core--> PE2 (End) --> PE4 --dc--> instances 4,1 .. 4,5
//!                      |dc    \--> PE3 (not run: its link is only read)
//!                      +--> instances 1,1, 1,2
//! ```
//!
//! What the links carry for a request of service 1 (client 2001:db8:c::10, hop limit 64):
//!
//! ```text
//! client -> PE1   2001:db8:c::10 -> fc00:0:1:c6::1 (END.CG of PE1, argument 1), HL 64
//! PE1 -> PE2      outer fc00:0:1::1 -> fc00:0:2::e HL 64, traffic class copied,
//!                 SRH SL 1 [fc00:0:4:c1::1, fc00:0:2::e] | client packet, HL 63
//! PE2 -> PE4      outer -> fc00:0:4:c1::1 HL 63, SRH SL 0 (End, played by scapy)
//! PE4 -> 4,4      client packet 2001:db8:c::10 -> 2001:db8:4::44, HL 62, UDP checksum
//!                 updated (figure 6, 4,4 down: -> 2001:db8:4::41 on 4,1's interface)
//! ```
//!
//! Service 2 is best at PE1 itself (END.CG hands it to the Local FIB: instances 1,1 and
//! 1,2 tie); service 3 ties between PE3 (no policy: outer destination its END.CL SID, no
//! SRH) and PE4 (4,2 and 4,3 tie; 4,3 has no address and keeps the client's
//! destination); plain IPv6 takes PE1's cross-connect. Every frame is checked on every
//! link (MACs, addresses, hop limits, traffic class, SRH, the client packet byte for byte
//! but for what the behaviour changes, UDP checksums as tshark verifies them), every flow
//! must stay on one PE and one instance, and every node's counters must agree.
//!
//! The checks collect violations instead of failing at the first, so that a deliberately
//! broken configuration can be shown to fail them ([`check_catches_a_misconfigured_pe1`]).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::Value;

/// The placeholder directory of the links in the shipped configs.
const SHIPPED_DIR: &str = "/tmp/srgate-service/";

/// SID blocks (the low 32 bits are the service ID).
const PE1_CL: &str = "fc00:0:1:c1::";
const PE3_CL: &str = "fc00:0:3:c1::";
const PE4_CL: &str = "fc00:0:4:c1::";
/// PE2's End SID, the policy segment toward PE4.
const PE2_END: &str = "fc00:0:2::e";
/// Encapsulation sources.
const PE1_SRC: &str = "fc00:0:1::1";
const PE4_SRC: &str = "fc00:0:4::1";
/// Outer hop limit of both shipped configs.
const OUTER_HL: u8 = 64;
/// The line of config/service-pe4.toml that figure 6 turns to `up = false`.
const INSTANCE_44_UP: &str =
    "up = true                       # figure 6: the failure of instance 4,4 is `up = false`";

/// MAC of `node`'s interface toward `peer` (the shipped configs' convention).
fn mac(node: &str, peer: &str) -> String {
    format!("02:5e:00:00:{node}:{peer}")
}

/// The SID of `block` for `service`.
fn sid(block: &str, service: u32) -> Ipv6Addr {
    let mut o = v6(block).octets();
    o[12..].copy_from_slice(&service.to_be_bytes());
    Ipv6Addr::from(o)
}

fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap_or_else(|_| panic!("IPv6 address {s:?}"))
}

/// The address of an instance (instance 4,3 has none: the destination is kept).
fn instance_addr(id: u32) -> Option<Ipv6Addr> {
    match id {
        11 | 12 => Some(v6(&format!("2001:db8:1::{id}"))),
        43 => None,
        41..=45 => Some(v6(&format!("2001:db8:4::{id}"))),
        _ => panic!("instance {id}"),
    }
}

/// The MAC node id of an instance (`11` for 1,1) and of the PE it hangs off.
fn instance_pe(id: u32) -> &'static str {
    if id < 20 {
        "01"
    } else {
        "04"
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// One frame on a link: tshark's reading of it, and its bytes.
#[derive(Debug, Clone)]
struct Frame {
    eth_src: String,
    eth_dst: String,
    /// Every IPv6 header, outermost first.
    src: Vec<Ipv6Addr>,
    dst: Vec<Ipv6Addr>,
    hlim: Vec<u8>,
    tclass: Vec<u8>,
    /// The SRH, if any: Segments Left, Last Entry, Segment List\[0..\].
    srh: Option<(u8, u8, Vec<Ipv6Addr>)>,
    /// tshark's UDP checksum status (1: good).
    udp_csum: String,
    /// The sequence number of the test payload.
    seq: u32,
    raw: Vec<u8>,
}

impl Frame {
    /// The innermost IPv6 packet (the client packet), from the raw bytes.
    fn client(&self) -> &[u8] {
        let mut at = 14;
        loop {
            let nh = self.raw[at + 6];
            let mut next = at + 40;
            if nh == 43 {
                let len = 8 + 8 * usize::from(self.raw[next + 1]);
                if self.raw[next] != 41 {
                    return &self.raw[at..];
                }
                next += len;
            } else if nh != 41 {
                return &self.raw[at..];
            }
            at = next;
        }
    }
}

const FIELDS: [&str; 12] = [
    "eth.src",
    "eth.dst",
    "ipv6.src",
    "ipv6.dst",
    "ipv6.hlim",
    "ipv6.tclass",
    "ipv6.routing.segleft",
    "ipv6.routing.srh.last_entry",
    "ipv6.routing.srh.addr",
    "udp.checksum.status",
    "udp.payload",
    "frame.len",
];

fn list<T>(s: &str, f: impl Fn(&str) -> T) -> Vec<T> {
    s.split(',').filter(|x| !x.is_empty()).map(f).collect()
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
    let extra = ["-o", "udp.check_checksum:TRUE", "-d", "udp.port==7777,data"];
    let rows = tshark(pcap, &FIELDS, &extra);
    assert_eq!(rows.len(), raw.len(), "{}: tshark rows", pcap.display());
    rows.into_iter()
        .zip(raw)
        .map(|(r, raw)| {
            let payload = r[10].rsplit(',').next().unwrap_or_default();
            let seq = seq_of_payload(payload)
                .unwrap_or_else(|| panic!("{}: test payload in {r:?}", pcap.display()));
            let srh = (!r[6].is_empty()).then(|| {
                (
                    r[6].parse().expect("segleft"),
                    r[7].parse().expect("last entry"),
                    list(&r[8], v6),
                )
            });
            Frame {
                eth_src: r[0].clone(),
                eth_dst: r[1].clone(),
                src: list(&r[2], v6),
                dst: list(&r[3], v6),
                hlim: list(&r[4], |x| x.parse().expect("hlim")),
                tclass: list(&r[5], hex_u8),
                srh,
                udp_csum: r[9].clone(),
                seq,
                raw,
            }
        })
        .collect()
}

/// Frames by sequence number; a sequence number seen twice is a violation.
fn by_seq(frames: Vec<Frame>, link: &str, bad: &mut Vec<String>) -> BTreeMap<u32, Frame> {
    let mut m = BTreeMap::new();
    for f in frames {
        let seq = f.seq;
        if m.insert(seq, f).is_some() {
            bad.push(format!("{link}: seq {seq} twice"));
        }
    }
    m
}

/// One client packet of `service.py clients` / `flat`, from its manifest line.
#[derive(Debug, Clone)]
struct Request {
    flow: u32,
    service: Option<u32>,
    tc: u8,
    /// The client's IPv6 packet as sent.
    ip: Vec<u8>,
}

/// `total.service.<key>` (`flows.hits` for the nested ones).
fn svc(json: &Value, key: &str) -> u64 {
    let mut v = &json["total"]["service"];
    for k in key.split('.') {
        v = &v[k];
    }
    v.as_u64()
        .unwrap_or_else(|| panic!("total.service.{key} in {json}"))
}

/// A config edit applied to a shipped config before it runs: (node, text) -> text.
type Edit<'a> = &'a dyn Fn(&str, String) -> String;

fn unchanged(_: &str, text: String) -> String {
    text
}

/// Figure 6: instance 4,4 fails (its `up` turned false in PE4's config).
fn instance_44_down(node: &str, text: String) -> String {
    if node != "pe4" {
        return text;
    }
    assert_eq!(text.matches(INSTANCE_44_UP).count(), 1, "PE4's 4,4 up line");
    text.replace(INSTANCE_44_UP, "up = false")
}

/// One test's network: a temporary directory with one subdirectory per set of links.
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

    /// The link file `name` in the links directory `links` (created).
    fn link(&self, links: &str, name: &str) -> PathBuf {
        let d = self.dir.path().join(links);
        std::fs::create_dir_all(&d).expect("links dir");
        d.join(name)
    }

    /// Runs `tests/scapy/service.py CMD ARGS..` with Debian's python3; returns stdout.
    fn py(&self, cmd: &str, args: &[&Path]) -> String {
        let out = Command::new("/usr/bin/python3")
            .arg(root().join("tests/scapy/service.py"))
            .arg(cmd)
            .args(args)
            .output()
            .expect("run /usr/bin/python3 (install python3-scapy: scripts/install-deps.sh)");
        assert!(
            out.status.success(),
            "service.py {cmd} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Writes the requests of `service.py CMD` to `links/name`; returns them by seq.
    fn requests(&self, cmd: &str, links: &str, name: &str) -> BTreeMap<u32, Request> {
        let pcap = self.link(links, name);
        let manifest = self.py(cmd, &[&pcap]);
        let raw = read_pcap(&pcap);
        let lines: Vec<&str> = manifest.lines().collect();
        assert_eq!(lines.len(), raw.len(), "one manifest line per frame");
        lines
            .iter()
            .zip(raw)
            .map(|(l, f)| {
                let v: Value = serde_json::from_str(l).expect("manifest json");
                let seq = v["seq"].as_u64().expect("seq") as u32;
                // `flat` requests arrive encapsulated: the client packet is the inner one.
                let at = if f[20] == 41 { 54 } else { 14 };
                let req = Request {
                    flow: v["flow"].as_u64().expect("flow") as u32,
                    service: v["service"].as_u64().map(|s| s as u32),
                    tc: v["tc"].as_u64().expect("tc") as u8,
                    ip: f[at..].to_vec(),
                };
                (seq, req)
            })
            .collect()
    }

    /// Runs `node`'s shipped config (after `edit`) with its links in `links`, until its
    /// input is drained; returns the final counters.
    fn run(&self, node: &str, links: &str, edit: Edit) -> Value {
        let shipped = root().join(format!("config/service-{node}.toml"));
        let text = std::fs::read_to_string(&shipped).expect("shipped config");
        let prefix = format!("file_prefix = \"srgate-service-{node}\"");
        assert!(text.contains(SHIPPED_DIR), "{}", shipped.display());
        assert_eq!(text.matches(&prefix).count(), 1, "{}", shipped.display());
        let links_dir = self.link(links, "");
        let file_prefix = format!("service-{}-{node}-{links}-{}", self.tag, std::process::id());
        let text = text
            .replace(SHIPPED_DIR, &format!("{}/", links_dir.display()))
            .replace(&prefix, &format!("file_prefix = \"{file_prefix}\""));
        let dir = self.dir.path().join(format!("run-{node}-{links}"));
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

    /// The clients' requests through PE1 and PE2's End, ready at PE4's input in `links`
    /// ("net"); returns the requests and PE1's counters.
    fn to_pe4(&self, edit: Edit) -> (BTreeMap<u32, Request>, Value) {
        let requests = self.requests("clients", "net", "clients-pe1.pcap");
        let pe1 = self.run("pe1", "net", edit);
        self.py(
            "p-router",
            &[
                &self.link("net", "pe1-core.pcap"),
                &self.link("net", "core-pe4.pcap"),
            ],
        );
        (requests, pe1)
    }

    /// Runs PE4 (after `edit`) on the "net" links' PE4 input, in links directory `links`.
    fn pe4(&self, links: &str, edit: Edit) -> Value {
        if links != "net" {
            std::fs::copy(
                self.link("net", "core-pe4.pcap"),
                self.link(links, "core-pe4.pcap"),
            )
            .expect("copy PE4's input");
        }
        self.run("pe4", links, edit)
    }
}

/// Where each flow went: its PE at PE1 and its instance at the serving PE.
#[derive(Debug, Default)]
struct Choices {
    pe: BTreeMap<u32, BTreeSet<u32>>,
    instance: BTreeMap<u32, BTreeSet<u32>>,
}

/// The client packet `ip` after `hops` computing-SID nodes, delivered with destination
/// `dst` (`None`: kept), UDP checksum field zeroed (tshark verifies it separately).
fn expected_client(ip: &[u8], hops: u8, dst: Option<Ipv6Addr>) -> Vec<u8> {
    let mut p = ip.to_vec();
    p[7] -= hops;
    if let Some(d) = dst {
        p[24..40].copy_from_slice(&d.octets());
    }
    p[46..48].copy_from_slice(&[0, 0]);
    p
}

/// Checks a client packet delivered to instance `inst` after `hops` nodes.
fn check_delivered(at: &str, f: &Frame, r: &Request, inst: u32, hops: u8, bad: &mut Vec<String>) {
    let pe = instance_pe(inst);
    let want_macs = (mac(pe, &inst.to_string()), mac(&inst.to_string(), pe));
    if (f.eth_src.clone(), f.eth_dst.clone()) != want_macs {
        bad.push(format!(
            "{at}: MACs {} -> {}, expected {want_macs:?}",
            f.eth_src, f.eth_dst
        ));
    }
    if f.raw[12..14] != [0x86, 0xdd] || f.src.len() != 1 || f.srh.is_some() {
        bad.push(format!(
            "{at}: not a bare IPv6 packet: {:?} -> {:?}",
            f.src, f.dst
        ));
        return;
    }
    let mut got = f.raw[14..].to_vec();
    if got.len() >= 48 {
        got[46..48].copy_from_slice(&[0, 0]);
    }
    let want = expected_client(&r.ip, hops, instance_addr(inst));
    // A NIC pads short frames: compare the IPv6 packet's own length.
    let len = 40 + usize::from(u16::from_be_bytes([r.ip[4], r.ip[5]]));
    if got.get(..len) != want.get(..len) {
        bad.push(format!(
            "{at}: client packet\n  got  {}\n  want {}",
            hex(&got),
            hex(&want)
        ));
    }
    if f.udp_csum != "1" {
        bad.push(format!("{at}: UDP checksum status {:?}", f.udp_csum));
    }
}

/// Checks a client packet END.CG steered to `pe`'s END.CL SID from `source`, leaving
/// `node` (`01` or `04`) toward `next` with outer hop limit `outer_hl`. `policy`: the
/// segments before the END.CL SID (first hop first).
#[allow(clippy::too_many_arguments)]
fn check_steered(
    at: &str,
    f: &Frame,
    r: &Request,
    (node, next): (&str, &str),
    source: &str,
    end_cl: Ipv6Addr,
    policy: &[Ipv6Addr],
    outer_hl: u8,
    bad: &mut Vec<String>,
) {
    let want_macs = (mac(node, next), mac(next, node));
    if (f.eth_src.clone(), f.eth_dst.clone()) != want_macs {
        bad.push(format!(
            "{at}: MACs {} -> {}, expected {want_macs:?}",
            f.eth_src, f.eth_dst
        ));
    }
    let first = policy.first().copied().unwrap_or(end_cl);
    let client_dst = Ipv6Addr::from(<[u8; 16]>::try_from(&r.ip[24..40]).expect("16"));
    if f.src.first() != Some(&v6(source)) || f.dst != [first, client_dst] {
        bad.push(format!(
            "{at}: addresses {:?} -> {:?}, expected outer {source} -> {first}",
            f.src, f.dst
        ));
    }
    if f.hlim != [outer_hl, r.ip[7] - 1] {
        bad.push(format!(
            "{at}: hop limits {:?}, expected outer {outer_hl}, client {}",
            f.hlim,
            r.ip[7] - 1
        ));
    }
    if f.tclass != [r.tc, r.tc] {
        bad.push(format!(
            "{at}: traffic classes {:?}, expected {} copied",
            f.tclass, r.tc
        ));
    }
    let mut segments = vec![end_cl];
    segments.extend(policy.iter().rev());
    let n = policy.len() as u8;
    let want_srh = (!policy.is_empty()).then_some((n, n, segments));
    if f.srh != want_srh {
        bad.push(format!("{at}: SRH {:?}, expected {want_srh:?}", f.srh));
    }
    let want = expected_client(&r.ip, 1, None);
    let mut got = f.client().to_vec();
    if got.len() >= 48 {
        got[46..48].copy_from_slice(&[0, 0]);
    }
    let len = want
        .len()
        .min(40 + usize::from(u16::from_be_bytes([r.ip[4], r.ip[5]])));
    if got.get(..len) != want.get(..len) || got.len() != len {
        bad.push(format!(
            "{at}: inner client packet\n  got  {}\n  want {}",
            hex(&got),
            hex(&want[..len])
        ));
    }
    if f.udp_csum != "1" {
        bad.push(format!("{at}: UDP checksum status {:?}", f.udp_csum));
    }
}

/// What the figure-4 chain must show, with instance 4,4 up (figure 4) or down (figure 6).
struct Expect {
    instance_44_up: bool,
}

/// Checks every link and counter of a chain clients -> PE1 -> PE2 -> PE4 (PE4's links in
/// `pe4_links`); returns the violations and each flow's choices.
fn chain_violations(
    net: &Net,
    requests: &BTreeMap<u32, Request>,
    pe1: &Value,
    pe4: &Value,
    pe4_links: &str,
    x: &Expect,
) -> (Vec<String>, Choices) {
    let mut bad = Vec::new();
    let mut ch = Choices::default();
    let pe1_core = by_seq(
        frames(&net.link("net", "pe1-core.pcap")),
        "PE1 core",
        &mut bad,
    );
    let pe1_dc = by_seq(frames(&net.link("net", "pe1-dc.pcap")), "PE1 dc", &mut bad);
    let at_pe4 = by_seq(
        frames(&net.link("net", "core-pe4.pcap")),
        "PE2 -> PE4",
        &mut bad,
    );
    let pe4_dc = by_seq(
        frames(&net.link(pe4_links, "pe4-dc.pcap")),
        "PE4 dc",
        &mut bad,
    );
    let pe4_core = read_pcap(&net.link(pe4_links, "pe4-core.pcap"));
    if !pe4_core.is_empty() {
        bad.push(format!(
            "PE4 sent {} frames back into the core (toward PE1): the microloop",
            pe4_core.len()
        ));
    }
    let via_pe2 = [v6(PE2_END)];
    let (mut n_steered, mut n_local, mut n_plain, mut n_to_pe4) = (0u64, 0u64, 0u64, 0u64);
    let mut pe4_flows = BTreeSet::new();
    for (seq, r) in requests {
        let seq = *seq;
        match r.service {
            None => {
                n_plain += 1;
                let Some(f) = pe1_core.get(&seq) else {
                    bad.push(format!("plain seq {seq}: not routed into the core"));
                    continue;
                };
                let at = format!("PE1 core, plain seq {seq}");
                if (f.eth_src.as_str(), f.eth_dst.as_str())
                    != (mac("01", "02").as_str(), mac("02", "01").as_str())
                    || f.src.len() != 1
                {
                    bad.push(format!("{at}: {f:?}"));
                }
                let mut want = r.ip.clone();
                want[7] -= 1;
                if f.raw[14..14 + want.len()] != want[..] {
                    bad.push(format!("{at}: packet changed beyond its hop limit"));
                }
            }
            Some(2) => {
                n_local += 1;
                if pe1_core.contains_key(&seq) {
                    bad.push(format!(
                        "service 2 seq {seq}: steered, expected served at PE1"
                    ));
                }
                let Some(f) = pe1_dc.get(&seq) else {
                    bad.push(format!("service 2 seq {seq}: not delivered at PE1"));
                    continue;
                };
                let inst = match f.eth_dst.as_str() {
                    d if d == mac("11", "01") => 11,
                    d if d == mac("12", "01") => 12,
                    d => {
                        bad.push(format!("service 2 seq {seq}: to MAC {d}"));
                        continue;
                    }
                };
                ch.instance.entry(r.flow).or_default().insert(inst);
                check_delivered(&format!("PE1 dc, seq {seq}"), f, r, inst, 1, &mut bad);
            }
            Some(service @ (1 | 3)) => {
                n_steered += 1;
                if pe1_dc.contains_key(&seq) {
                    bad.push(format!(
                        "service {service} seq {seq}: served at PE1, expected steered"
                    ));
                }
                let Some(f) = pe1_core.get(&seq) else {
                    bad.push(format!("service {service} seq {seq}: not steered"));
                    continue;
                };
                let at = format!("PE1 core, service {service} seq {seq}");
                let pe = if f.dst.first() == Some(&sid(PE3_CL, service)) {
                    3
                } else {
                    4
                };
                ch.pe.entry(r.flow).or_default().insert(pe);
                if pe == 3 {
                    check_steered(
                        &at,
                        f,
                        r,
                        ("01", "03"),
                        PE1_SRC,
                        sid(PE3_CL, service),
                        &[],
                        OUTER_HL,
                        &mut bad,
                    );
                    if service == 1 {
                        bad.push(format!("{at}: to PE3, expected PE4 (metric 20)"));
                    }
                    if at_pe4.contains_key(&seq) || pe4_dc.contains_key(&seq) {
                        bad.push(format!("{at}: steered to PE3 but seen at PE4"));
                    }
                    continue;
                }
                check_steered(
                    &at,
                    f,
                    r,
                    ("01", "02"),
                    PE1_SRC,
                    sid(PE4_CL, service),
                    &via_pe2,
                    OUTER_HL,
                    &mut bad,
                );
                n_to_pe4 += 1;
                pe4_flows.insert(r.flow);
                // PE2's End, then PE4's END.CL.
                match at_pe4.get(&seq) {
                    Some(g)
                        if g.dst.first() == Some(&sid(PE4_CL, service))
                            && g.srh.as_ref().map(|s| s.0) == Some(0) => {}
                    g => bad.push(format!("PE2 -> PE4 seq {seq}: {g:?}")),
                }
                let Some(d) = pe4_dc.get(&seq) else {
                    bad.push(format!("service {service} seq {seq}: not delivered at PE4"));
                    continue;
                };
                let inst: u32 = d.eth_dst[12..14].parse().unwrap_or(0);
                ch.instance.entry(r.flow).or_default().insert(inst);
                let at = format!("PE4 dc, service {service} seq {seq}");
                let allowed: &[u32] = match (service, x.instance_44_up) {
                    (1, true) => &[44],
                    (1, false) => &[41],
                    _ => &[42, 43],
                };
                if !allowed.contains(&inst) {
                    bad.push(format!(
                        "{at}: to instance {inst}, expected one of {allowed:?}"
                    ));
                    continue;
                }
                check_delivered(&at, d, r, inst, 2, &mut bad);
            }
            Some(s) => panic!("service {s} in the clients' manifest"),
        }
    }

    // Affinity: one PE and one instance per flow; the ties are split.
    for (flow, pes) in &ch.pe {
        if pes.len() != 1 {
            bad.push(format!("flow {flow}: split over PEs {pes:?}"));
        }
    }
    for (flow, insts) in &ch.instance {
        if insts.len() != 1 {
            bad.push(format!("flow {flow}: split over instances {insts:?}"));
        }
    }
    let used = |svc: u32, m: &BTreeMap<u32, BTreeSet<u32>>| -> BTreeSet<u32> {
        requests
            .values()
            .filter(|r| r.service == Some(svc))
            .filter_map(|r| m.get(&r.flow))
            .flatten()
            .copied()
            .collect()
    };
    let want_pes3: BTreeSet<u32> = [3, 4].into();
    if used(3, &ch.pe) != want_pes3 {
        bad.push(format!(
            "service 3: PEs {:?}, expected the tie split over PE3 and PE4",
            used(3, &ch.pe)
        ));
    }
    let want_inst2: BTreeSet<u32> = [11, 12].into();
    if used(2, &ch.instance) != want_inst2 {
        bad.push(format!(
            "service 2: instances {:?}, expected 1,1 and 1,2",
            used(2, &ch.instance)
        ));
    }
    let want_inst3: BTreeSet<u32> = [42, 43].into();
    if used(3, &ch.instance) != want_inst3 {
        bad.push(format!(
            "service 3 at PE4: instances {:?}, expected 4,2 and 4,3",
            used(3, &ch.instance)
        ));
    }

    // Nothing else on the links.
    let n = requests.len() as u64;
    for (link, got, want) in [
        ("PE1 core", pe1_core.len() as u64, n_steered + n_plain),
        ("PE1 dc", pe1_dc.len() as u64, n_local),
        ("PE2 -> PE4", at_pe4.len() as u64, n_to_pe4),
        ("PE4 dc", pe4_dc.len() as u64, n_to_pe4),
    ] {
        if got != want {
            bad.push(format!("{link}: {got} frames, expected {want}"));
        }
    }

    // Counters. Flows: END.CG looks every request up (one miss per flow); service 2 is
    // also looked up in PE1's Local FIB; PE4 looks each of its requests up once.
    let flows_of = |f: &dyn Fn(&Request) -> bool| -> u64 {
        requests
            .values()
            .filter(|r| f(r))
            .map(|r| r.flow)
            .collect::<BTreeSet<_>>()
            .len() as u64
    };
    let cg_flows = flows_of(&|r| r.service.is_some());
    let local_flows = flows_of(&|r| r.service == Some(2));
    let n_cg = n_steered + n_local;
    let counters = [
        ("PE1", "rx_packets", total(pe1, "rx_packets"), n),
        ("PE1", "tx_packets", total(pe1, "tx_packets"), n),
        ("PE1", "handled.service", handled(pe1, "service"), n_steered),
        (
            "PE1",
            "handled.service-local",
            handled(pe1, "service-local"),
            n_local,
        ),
        ("PE1", "handled.ipv6", handled(pe1, "ipv6"), n_plain),
        ("PE1", "service.steered", svc(pe1, "steered"), n_steered),
        ("PE1", "service.delivered", svc(pe1, "delivered"), n_local),
        (
            "PE1",
            "service.local_shortcut",
            svc(pe1, "local_shortcut"),
            n_local,
        ),
        ("PE1", "service.decapsulated", svc(pe1, "decapsulated"), 0),
        (
            "PE1",
            "service.flows.misses",
            svc(pe1, "flows.misses"),
            cg_flows + local_flows,
        ),
        (
            "PE1",
            "service.flows.hits",
            svc(pe1, "flows.hits"),
            n_cg + n_local - cg_flows - local_flows,
        ),
        ("PE1", "service.flows.repicks", svc(pe1, "flows.repicks"), 0),
        (
            "PE1",
            "ports.core.opackets",
            port_out(pe1, "core"),
            n_steered + n_plain,
        ),
        ("PE1", "ports.dc.opackets", port_out(pe1, "dc"), n_local),
        ("PE4", "rx_packets", total(pe4, "rx_packets"), n_to_pe4),
        (
            "PE4",
            "handled.service-local",
            handled(pe4, "service-local"),
            n_to_pe4,
        ),
        ("PE4", "handled.service", handled(pe4, "service"), 0),
        ("PE4", "service.delivered", svc(pe4, "delivered"), n_to_pe4),
        (
            "PE4",
            "service.decapsulated",
            svc(pe4, "decapsulated"),
            n_to_pe4,
        ),
        ("PE4", "service.steered", svc(pe4, "steered"), 0),
        (
            "PE4",
            "service.flows.misses",
            svc(pe4, "flows.misses"),
            pe4_flows.len() as u64,
        ),
        (
            "PE4",
            "service.flows.hits",
            svc(pe4, "flows.hits"),
            n_to_pe4 - pe4_flows.len() as u64,
        ),
        ("PE4", "ports.dc.opackets", port_out(pe4, "dc"), n_to_pe4),
        ("PE4", "ports.core.opackets", port_out(pe4, "core"), 0),
    ];
    for (node, name, got, want) in counters {
        if got != want {
            bad.push(format!("{node}: {name} = {got}, expected {want}"));
        }
    }
    for (node, j) in [("PE1", pe1), ("PE4", pe4)] {
        let d = nonzero_drops(j);
        if !d.is_empty() {
            bad.push(format!("{node}: drops {d:?}, expected none"));
        }
    }
    (bad, ch)
}

fn report(bad: &[String]) -> String {
    let shown: Vec<&str> = bad.iter().take(40).map(String::as_str).collect();
    format!("{} violations:\n  {}", bad.len(), shown.join("\n  "))
}

/// Figure 4: each request reaches the best PE through END.CG (PE4 through PE2's End SID,
/// PE3 directly, PE1 itself for service 2), then the best instance there through END.CL;
/// ties are split per flow and every flow keeps its PE and instance; the counters of both
/// PEs agree with the links.
#[test]
fn figure4_best_pe_then_best_instance() {
    let net = Net::new("fig4");
    let (requests, pe1) = net.to_pe4(&unchanged);
    let pe4 = net.pe4("net", &unchanged);
    let (bad, ch) = chain_violations(
        &net,
        &requests,
        &pe1,
        &pe4,
        "net",
        &Expect {
            instance_44_up: true,
        },
    );
    assert!(bad.is_empty(), "{}", report(&bad));
    // Spelled out once: the numbers the checks above derived from the links.
    assert_eq!(requests.len(), 108);
    let service1: BTreeSet<u32> = requests
        .values()
        .filter(|r| r.service == Some(1))
        .map(|r| r.flow)
        .collect();
    assert_eq!(service1.len(), 8);
    for f in &service1 {
        assert_eq!(ch.pe[f], [4].into(), "flow {f}: PE4 (metric 20)");
        assert_eq!(ch.instance[f], [44].into(), "flow {f}: instance 4,4 (20)");
    }
    assert_eq!(svc(&pe1, "local_shortcut"), 24);
    assert_eq!(handled(&pe1, "service"), 80);
    assert!(svc(&pe4, "flows.hits") > 0 && svc(&pe4, "flows.misses") > 0);
}

/// `[dataplane] prefetch` forced to `mode` at every node.
fn prefetch_mode(mode: &str, text: String) -> String {
    assert_eq!(text.matches("[dataplane]\n").count(), 1, "one [dataplane]");
    text.replace(
        "[dataplane]\n",
        &format!("[dataplane]\nprefetch = \"{mode}\"\n"),
    )
}

/// The staged prefetch pass and its absence (`fwd_core::prefetch_tuner`) forward alike:
/// figure 4 with the pass forced on, then off, at PE1 and PE4 passes the whole chain check
/// both times with byte-identical frames on every link the PEs write, and the counters
/// show which mode ran.
#[test]
fn prefetch_modes_forward_alike() {
    let mut written = Vec::new();
    for (mode, tag) in [("staged", "pf-staged"), ("inline", "pf-inline")] {
        let edit = move |_: &str, text: String| prefetch_mode(mode, text);
        let net = Net::new(tag);
        let (requests, pe1) = net.to_pe4(&edit);
        let pe4 = net.pe4("net", &edit);
        let expect = Expect {
            instance_44_up: true,
        };
        let (bad, _) = chain_violations(&net, &requests, &pe1, &pe4, "net", &expect);
        assert!(bad.is_empty(), "{mode}: {}", report(&bad));
        for json in [&pe1, &pe4] {
            let bursts = total(json, "rx_bursts");
            let staged = total(json, "staged_bursts");
            assert!(bursts > 0, "{json}");
            let want = if mode == "staged" { bursts } else { 0 };
            assert_eq!(staged, want, "{mode}: bursts with the staged pass");
        }
        written.push(
            [
                "pe1-core.pcap",
                "pe1-dc.pcap",
                "pe4-dc.pcap",
                "pe4-core.pcap",
            ]
            .map(|link| read_pcap(&net.link("net", link))),
        );
    }
    assert!(written[0].iter().map(Vec::len).sum::<usize>() > 100);
    assert!(written[0] == written[1], "the same frames in both modes");
}

/// Figure 6: instance 4,4 fails at PE4 (`up = false`) while PE1 still steers service 1 to
/// PE4. PE4's END.CL serves the same requests from 4,1 (26), the best instance left;
/// nothing leaves PE4 toward the core, although its Global FIB has PE1 at 25. Flows of
/// service 3 keep the instances they had with 4,4 up (each flow's choice depends on the
/// flow only).
#[test]
fn figure6_failed_instance_is_replaced_locally_without_a_microloop() {
    let net = Net::new("fig6");
    let (requests, pe1) = net.to_pe4(&unchanged);
    let before = net.pe4("net", &unchanged);
    let after = net.pe4("fig6", &instance_44_down);
    let up = Expect {
        instance_44_up: true,
    };
    let (bad, ch_up) = chain_violations(&net, &requests, &pe1, &before, "net", &up);
    assert!(bad.is_empty(), "figure 4 state: {}", report(&bad));
    let down = Expect {
        instance_44_up: false,
    };
    let (bad, ch_down) = chain_violations(&net, &requests, &pe1, &after, "fig6", &down);
    assert!(bad.is_empty(), "figure 6 state: {}", report(&bad));

    // The PE4 -> core link (toward PE1) is empty: the file exists, with no frame.
    let back = net.link("fig6", "pe4-core.pcap");
    assert!(back.exists(), "PE4's core TX pcap written");
    assert_eq!(read_pcap(&back).len(), 0, "nothing sent back toward PE1");
    assert_eq!(port_out(&after, "core"), 0);
    let mut moved = 0;
    for r in requests.values().filter(|r| r.service.is_some()) {
        let (b, a) = (&ch_up.instance.get(&r.flow), &ch_down.instance.get(&r.flow));
        match r.service {
            Some(1) => {
                assert_eq!(b.cloned(), Some([44].into()), "flow {}", r.flow);
                assert_eq!(a.cloned(), Some([41].into()), "flow {}", r.flow);
                moved += 1;
            }
            _ => assert_eq!(b, a, "flow {}: unaffected by 4,4's failure", r.flow),
        }
    }
    assert_eq!(moved, 32, "every service-1 request now served by 4,1");
    assert_eq!(
        handled(&after, "service-local"),
        handled(&before, "service-local")
    );
    assert_eq!(nonzero_drops(&after), BTreeMap::new());
}

/// The flat baseline of figure 5, for contrast: requests encapsulated to PE4's END.C SID
/// are served by 4,4 while it is up; once it fails, END.C's single choice over instances
/// and PEs prefers PE1 (25) to 4,1 (26) and sends them back toward PE1 — the first half of
/// the microloop END.CL prevents.
#[test]
fn figure5_flat_end_c_sends_requests_back_to_pe1() {
    let net = Net::new("fig5");
    let requests = net.requests("flat", "net", "core-pe4.pcap");
    let up = net.pe4("net", &unchanged);
    let down = net.pe4("fig5", &instance_44_down);
    let n = requests.len() as u64;
    assert_eq!(n, 18);
    let mut bad = Vec::new();
    let dc = by_seq(frames(&net.link("net", "pe4-dc.pcap")), "PE4 dc", &mut bad);
    let back = by_seq(
        frames(&net.link("fig5", "pe4-core.pcap")),
        "PE4 core",
        &mut bad,
    );
    assert!(read_pcap(&net.link("net", "pe4-core.pcap")).is_empty());
    assert!(read_pcap(&net.link("fig5", "pe4-dc.pcap")).is_empty());
    for (seq, r) in &requests {
        match dc.get(seq) {
            Some(f) => check_delivered(&format!("up, seq {seq}"), f, r, 44, 1, &mut bad),
            None => bad.push(format!("up, seq {seq}: not delivered to 4,4")),
        }
        match back.get(seq) {
            Some(f) => check_steered(
                &format!("down, seq {seq}"),
                f,
                r,
                ("04", "01"),
                PE4_SRC,
                sid(PE1_CL, 1),
                &[],
                OUTER_HL,
                &mut bad,
            ),
            None => bad.push(format!("down, seq {seq}: not steered back to PE1")),
        }
    }
    assert!(bad.is_empty(), "{}", report(&bad));
    assert_eq!(handled(&up, "service-local"), n);
    assert_eq!(svc(&up, "decapsulated"), n);
    assert_eq!(handled(&down, "service"), n);
    assert_eq!(svc(&down, "steered"), n);
    assert_eq!(port_out(&down, "core"), n);
    assert_eq!(svc(&down, "flows.misses"), 6);
    assert_eq!(svc(&down, "flows.hits"), n - 6);
}

/// The checks have teeth: a PE1 whose Global FIB gives PE4 metric 30 for service 1 (PE1's
/// own 25 then wins) serves service 1 locally, and the checks say where it went wrong.
#[test]
fn check_catches_a_misconfigured_pe1() {
    let net = Net::new("broken");
    let pe4_at_30 = |node: &str, text: String| -> String {
        if node != "pe1" {
            return text;
        }
        let from = "{ pe = 3, metric = 35 }, { pe = 4, metric = 20 }";
        assert_eq!(text.matches(from).count(), 1, "PE1's service 1 entry");
        text.replace(from, "{ pe = 3, metric = 35 }, { pe = 4, metric = 30 }")
    };
    let (requests, pe1) = net.to_pe4(&pe4_at_30);
    let pe4 = net.pe4("net", &unchanged);
    let up = Expect {
        instance_44_up: true,
    };
    let (bad, _) = chain_violations(&net, &requests, &pe1, &pe4, "net", &up);
    let text = report(&bad);
    assert!(
        bad.iter()
            .any(|b| b.starts_with("service 1 seq 0: served at PE1, expected steered")),
        "{text}"
    );
    assert!(
        bad.iter()
            .any(|b| b.starts_with("PE1: service.local_shortcut = 56")),
        "{text}"
    );
    assert!(
        bad.iter()
            .any(|b| b == "PE1: handled.service = 48, expected 80"),
        "{text}"
    );
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
                fwd.insert(v["seq"].as_u64().expect("seq") as u32, v);
            }
            _ => panic!("expectation line {line:?}"),
        }
    }
    (drops, fwd)
}

/// Runs a malformed suite at `node`: every malformed frame is a drop counted under the
/// reason service.py names, srgate exits 0, and exactly the valid frames between them
/// leave, on the link service.py names.
fn malformed(node: &str, suite: &str, input: &str) -> (Net, BTreeMap<u32, Value>, Value) {
    let net = Net::new(if node == "pe1" { "bad1" } else { "bad4" });
    let pcap = net.link("net", input);
    let (want_drops, want_fwd) = expectations(&net.py(suite, &[&pcap]));
    let n_in = read_pcap(&pcap).len() as u64;
    let json = net.run(node, "net", &unchanged);
    assert_eq!(total(&json, "rx_packets"), n_in);
    assert_eq!(nonzero_drops(&json), want_drops, "{node}: drops by reason");
    assert_eq!(
        want_drops.values().sum::<u64>() + want_fwd.len() as u64,
        n_in
    );
    assert_eq!(total(&json, "tx_packets"), want_fwd.len() as u64);
    let mut bad = Vec::new();
    let core = by_seq(
        frames(&net.link("net", &format!("{node}-core.pcap"))),
        "core",
        &mut bad,
    );
    let dc = by_seq(
        frames(&net.link("net", &format!("{node}-dc.pcap"))),
        "dc",
        &mut bad,
    );
    assert!(bad.is_empty(), "{}", report(&bad));
    assert_eq!(
        core.len() + dc.len(),
        want_fwd.len(),
        "only the valid frames"
    );
    for (seq, w) in &want_fwd {
        let on = match w["link"].as_str() {
            Some("core") => &core,
            Some("dc") => &dc,
            l => panic!("link {l:?}"),
        };
        let f = on
            .get(seq)
            .unwrap_or_else(|| panic!("{node}: seq {seq} not on {w}"));
        assert_eq!(f.udp_csum, "1", "{node}: seq {seq}: UDP checksum");
        if let Some(pe) = w["pe"].as_u64() {
            assert_eq!(pe, 4);
            assert_eq!(f.dst[0], v6(PE2_END), "{node}: seq {seq}: via PE2");
            let srh = f.srh.as_ref().expect("SRH");
            assert_eq!(srh.2[0], sid(PE4_CL, 1), "{node}: seq {seq}: END.CL of PE4");
            assert_eq!(f.src[0], v6(PE1_SRC));
            assert_eq!(f.dst.len(), 2, "{node}: seq {seq}: one outer header only");
        }
        if let Some(inst) = w["instance"].as_u64() {
            assert_eq!(f.eth_dst, mac(&inst.to_string(), instance_pe(inst as u32)));
            assert_eq!(f.dst, [instance_addr(inst as u32).expect("address")]);
            assert!(
                f.srh.is_none() && f.src.len() == 1,
                "{node}: seq {seq}: bare"
            );
        }
        if w["decap"].as_bool() == Some(true) {
            assert_eq!(f.src.len(), 1, "{node}: seq {seq}: outer header removed");
            assert!(f.dst[0] == v6("2001:db8:1::11") || f.dst[0] == v6("2001:db8:1::12"));
        }
    }
    (net, want_fwd, json)
}

/// Hand-built requests to PE1's SIDs (`service.py malformed-pe1`): an unknown service at
/// END.CG and at END.CL, END.CG not the last segment, hop limit 1, encapsulated IPv4, a
/// truncated inner packet, both fragments of a fragmented encapsulation — each counted
/// under its reason; the valid requests between them (one with hop limit 2, one
/// encapsulated with an SRH at SL 0: decapsulated and steered again, one encapsulated to
/// PE1's END.CL) are forwarded.
#[test]
fn malformed_requests_at_pe1_are_dropped_by_reason() {
    let (_net, fwd, json) = malformed("pe1", "malformed-pe1", "clients-pe1.pcap");
    let steered = fwd.values().filter(|w| w["link"] == "core").count() as u64;
    assert_eq!(svc(&json, "steered"), steered);
    assert_eq!(svc(&json, "delivered"), 1);
    assert_eq!(
        svc(&json, "decapsulated"),
        2,
        "one steered again, one delivered"
    );
    assert_eq!(handled(&json, "service"), steered);
    assert_eq!(handled(&json, "service-local"), 1);
}

/// Hand-built packets to PE4's END.CL (`service.py malformed-pe4`): an unknown service, a
/// service whose only instance is down (dropped, never re-steered), END.CL not the last
/// segment, both fragments of a fragmented encapsulation, IPv4 and truncated inner
/// packets, client hop limit 1, a packet for no SID (PE4 has no cross-connect) — each
/// counted under its reason; the valid requests between them reach instance 4,4.
#[test]
fn malformed_requests_at_pe4_are_dropped_by_reason() {
    let (net, fwd, json) = malformed("pe4", "malformed-pe4", "core-pe4.pcap");
    let n = fwd.len() as u64;
    assert_eq!(handled(&json, "service-local"), n);
    assert_eq!(svc(&json, "delivered"), n);
    assert_eq!(svc(&json, "decapsulated"), n);
    assert_eq!(svc(&json, "steered"), 0);
    assert!(read_pcap(&net.link("net", "pe4-core.pcap")).is_empty());
}
