//! Traffic profiles (`pktgen/profiles/*.toml`): EAL arguments, ports, what to send and how
//! fast.
//!
//! Loading is two steps, as for srgate's configuration: serde reads the TOML into
//! [`Profile`] (unknown fields are errors), then [`Profile::resolve`] checks what types
//! cannot and produces the [`Spec`] the generator runs from. Every error names the file,
//! the field and what was expected:
//!
//! ```text
//! p.toml: field `traffic.mpls.labels[1]`: expected a label 16..=1048575, got 2000000
//! ```

pub use dpdk_sys::device::{parse_device, Device};
pub use fwd_core::wire::ethernet::parse_mac;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::sig;

/// A profile error: file, field, expectation.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The file could not be read.
    #[error("{file}: cannot read: {source}")]
    Read {
        /// The file.
        file: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML does not parse or does not match the schema (toml names the field).
    #[error("{file}: {message}")]
    Syntax {
        /// The file.
        file: PathBuf,
        /// toml's message.
        message: String,
    },
    /// A value is out of range or inconsistent with another.
    #[error("{file}: field `{field}`: expected {expected}, got {got}")]
    Invalid {
        /// The file.
        file: PathBuf,
        /// Dotted path of the field, e.g. `traffic.imix[2]`.
        field: String,
        /// What was expected.
        expected: String,
        /// What was found.
        got: String,
    },
}

/// The whole profile file.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// `[eal]`: EAL arguments.
    #[serde(default)]
    pub eal: EalSection,
    /// `[run]`: cores and run-time behaviour.
    #[serde(default)]
    pub run: RunSection,
    /// `[mempool]`: the packet-buffer pool.
    #[serde(default)]
    pub mempool: MempoolSection,
    /// `[[port]]`: the ports (TX and RX are named in `[traffic]`).
    #[serde(default, rename = "port")]
    pub ports: Vec<PortSection>,
    /// `[traffic]`: what to send.
    pub traffic: TrafficSection,
}

/// `[eal]`.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct EalSection {
    /// Extra EAL arguments (e.g. `["--no-huge", "-m", "512", "--no-pci"]`). pktgen adds
    /// `-l` from `run.cores`, `--file-prefix` and one `--vdev`/`-a` per port.
    #[serde(default)]
    pub args: Vec<String>,
    /// `--file-prefix`, needed to run several DPDK processes at once (srgate and pktgen).
    pub file_prefix: Option<String>,
}

/// `[run]`; every field has a default.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RunSection {
    /// CPU cores for EAL lcores (`-l`); the first is the main lcore. TX and RX jobs run
    /// on all of them (see [`Spec::layout`]).
    pub cores: Vec<u32>,
    /// Live line interval in milliseconds (0: off).
    pub stats_interval_ms: u64,
    /// After the last packet is sent, wait at most this long for the rest to come back.
    pub drain_ms: u64,
    /// Wait at most this long for every port's link to come up (memif: the peer).
    pub link_wait_ms: u64,
    /// Consecutive idle loops (no RX, no TX token) before an lcore sleeps (0: never).
    pub idle_loops: u32,
    /// How long an idle lcore sleeps, in microseconds.
    pub idle_sleep_us: u32,
}

impl Default for RunSection {
    fn default() -> Self {
        RunSection {
            cores: vec![0],
            stats_interval_ms: 1000,
            drain_ms: 500,
            link_wait_ms: 10_000,
            idle_loops: 0,
            idle_sleep_us: 0,
        }
    }
}

/// `[mempool]`; every field has a default.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MempoolSection {
    /// Number of mbufs (2^n - 1 is optimal).
    pub mbufs: u32,
    /// Per-lcore cache.
    pub cache: u32,
    /// Buffer size of each mbuf, headroom included.
    pub data_room: u16,
}

impl Default for MempoolSection {
    fn default() -> Self {
        MempoolSection {
            mbufs: 8191,
            cache: 256,
            data_room: 2048 + 128,
        }
    }
}

/// One `[[port]]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PortSection {
    /// Name used by `traffic.tx_port` / `traffic.rx_port` and in the results.
    pub name: String,
    /// A DPDK virtual device string (`net_memif0,role=client,socket=/tmp/sr.sock`,
    /// `net_null0`, ...) or a PCI address (`0000:3b:00.0`).
    pub device: String,
    /// RX descriptors.
    #[serde(default = "desc")]
    pub rx_desc: u16,
    /// TX descriptors per queue.
    #[serde(default = "desc")]
    pub tx_desc: u16,
    /// Link speed for `traffic.rate_percent`, in Mb/s; default: what the port reports.
    pub speed_mbps: Option<u32>,
    /// Receive frames for any MAC.
    #[serde(default = "yes")]
    pub promiscuous: bool,
}

fn desc() -> u16 {
    1024
}
fn yes() -> bool {
    true
}

/// The protocol of the generated packets.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// Ethernet | IPv4 | UDP | payload.
    Ipv4,
    /// Ethernet | IPv6 | UDP | payload.
    Ipv6,
    /// Ethernet | MPLS label stack | IPv4 or IPv6 | UDP | payload.
    Mpls,
    /// Ethernet | IPv6 | SRH | IPv4 or IPv6 | UDP | payload (H.Encaps).
    Srv6,
    /// Ethernet | IPv4 or IPv6 | UDP | SRoU | IPv4 or IPv6 | UDP | payload.
    Srou,
    /// Ethernet | IPv4 or IPv6 | UDP (to 862) | STAMP Session-Sender packet | payload.
    Stamp,
}

impl Protocol {
    /// The name used in profiles.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Ipv4 => "ipv4",
            Protocol::Ipv6 => "ipv6",
            Protocol::Mpls => "mpls",
            Protocol::Srv6 => "srv6",
            Protocol::Srou => "srou",
            Protocol::Stamp => "stamp",
        }
    }
}

/// `[traffic]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrafficSection {
    /// What to send.
    pub protocol: Protocol,
    /// The `[[port]]` to send on.
    pub tx_port: String,
    /// The `[[port]]` the packets come back on; none: send only (no loss or latency).
    pub rx_port: Option<String>,
    /// Number of flows (streams), varied by UDP source port: flow `f` uses
    /// `src_port + f`. Each has its own sequence numbers.
    #[serde(default = "one_u32")]
    pub flows: u32,
    /// Frame size in bytes, FCS included (64 = a minimum Ethernet frame).
    pub size: Option<u32>,
    /// A size mix: `[[size, weight], ...]`, e.g. `[[64, 7], [576, 4], [1518, 1]]`.
    pub imix: Option<Vec<Vec<u32>>>,
    /// Total rate in packets per second (over all TX cores).
    pub rate_pps: Option<f64>,
    /// Total rate in percent of the TX port's line rate (Ethernet L1: preamble, SFD,
    /// inter-frame gap and FCS counted, 20 bytes per frame on top of `size - 4`).
    pub rate_percent: Option<f64>,
    /// Send for this long.
    pub duration_s: Option<f64>,
    /// Send exactly this many packets (malformed ones included), then drain.
    pub count: Option<u64>,
    /// Number of TX cores (each gets a TX queue and every `tx_cores`-th flow).
    #[serde(default = "one_u32")]
    pub tx_cores: u32,
    /// Packets per TX burst.
    #[serde(default = "burst")]
    pub burst: u32,
    /// Source MAC; default: the TX port's own.
    pub src_mac: Option<String>,
    /// Destination MAC (the device under test's port).
    #[serde(default = "dst_mac")]
    pub dst_mac: String,
    /// Source address of the (inner) IP packet; default 198.18.0.1 or 2001:db8::1
    /// (the family follows `dst_ip`, or the protocol for ipv4/ipv6).
    pub src_ip: Option<String>,
    /// Destination address of the (inner) IP packet; default 198.19.0.1 or 2001:db8::2.
    pub dst_ip: Option<String>,
    /// UDP source port of flow 0.
    #[serde(default = "src_port")]
    pub src_port: u16,
    /// UDP destination port (STAMP: 862 unless set).
    pub dst_port: Option<u16>,
    /// IP TTL / hop limit.
    #[serde(default = "ttl")]
    pub ttl: u8,
    /// IP DSCP (0..=63).
    #[serde(default)]
    pub dscp: u8,
    /// Every n-th packet of each TX core is malformed (see the README); none: never.
    pub malformed_every: Option<u64>,
    /// `protocol = "mpls"`: the label stack.
    pub mpls: Option<MplsSection>,
    /// `protocol = "srv6"`: the outer IPv6 header and segment list.
    pub srv6: Option<Srv6Section>,
    /// `protocol = "srou"`: the SRoU path.
    pub srou: Option<SrouSection>,
}

fn one_u32() -> u32 {
    1
}
fn burst() -> u32 {
    32
}
fn dst_mac() -> String {
    "02:00:00:00:00:02".into()
}
fn src_port() -> u16 {
    1024
}
fn ttl() -> u8 {
    64
}

/// `[traffic.mpls]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MplsSection {
    /// Labels, top first (1..=16 of them).
    pub labels: Vec<u32>,
    /// TTL of every entry.
    #[serde(default = "ttl")]
    pub ttl: u8,
    /// Traffic class of every entry (0..=7).
    #[serde(default)]
    pub tc: u8,
}

/// `[traffic.srv6]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Srv6Section {
    /// Outer IPv6 source (the encapsulating node).
    pub src: String,
    /// Segments in travel order (first segment first, the last one is the final node);
    /// the outer destination is the first. 1..=16.
    pub segments: Vec<String>,
}

/// `[traffic.srou]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SrouSection {
    /// Outer source socket (`ip:port`); its family is the SRoU Protocol-ID's.
    pub source: String,
    /// Locators (`ip:port`) in travel order: the first is the first hop (the outer
    /// destination), the last the egress. 1..=16, the family of `source`.
    pub locators: Vec<String>,
    /// Flow ID as hex (`"0x123"` or `"000123"`: whole bytes), 0..=16 bytes.
    #[serde(default)]
    pub flow_id: String,
}

// ----------------------------------------------------------------------------------------
// The resolved form.
// ----------------------------------------------------------------------------------------

/// How fast to send.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rate {
    /// As fast as the TX queues take packets.
    Unlimited,
    /// Packets per second over all TX cores.
    Pps(f64),
    /// Percent of the TX port's line rate (resolved to pps once the link speed is known).
    Percent(f64),
}

/// When to stop sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// After this many packets.
    Count(u64),
    /// After this long.
    Duration(Duration),
}

/// Protocol-specific header fields, validated.
#[derive(Debug, Clone, PartialEq)]
pub enum Headers {
    /// Plain IPv4 or IPv6 / UDP (also the inner packet of every other kind).
    Ip,
    /// An MPLS label stack over the IP packet.
    Mpls {
        /// Labels, top first.
        labels: Vec<u32>,
        /// TTL of every entry.
        ttl: u8,
        /// Traffic class.
        tc: u8,
    },
    /// An outer IPv6 header and SRH over the IP packet.
    Srv6 {
        /// Outer source.
        src: Ipv6Addr,
        /// Segments in travel order.
        segments: Vec<Ipv6Addr>,
    },
    /// Outer IP, UDP and SRoU header over the IP packet.
    Srou {
        /// Outer source socket.
        source: SocketAddr,
        /// Locators in travel order.
        locators: Vec<SocketAddr>,
        /// Flow ID bytes.
        flow_id: Vec<u8>,
    },
    /// A STAMP Session-Sender packet as UDP payload.
    Stamp,
}

/// Everything the generator needs, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// The protocol.
    pub protocol: Protocol,
    /// Its header fields.
    pub headers: Headers,
    /// TX port index into `Profile::ports`.
    pub tx_port: usize,
    /// RX port index, if packets come back.
    pub rx_port: Option<usize>,
    /// Number of flows.
    pub flows: u32,
    /// Frame sizes (FCS included) and weights; one entry with weight 1 for a fixed size.
    pub sizes: Vec<(u32, u32)>,
    /// Rate.
    pub rate: Rate,
    /// Stop condition.
    pub stop: Stop,
    /// TX cores.
    pub tx_cores: u32,
    /// Packets per burst.
    pub burst: u32,
    /// Source MAC (None: the TX port's).
    pub src_mac: Option<[u8; 6]>,
    /// Destination MAC.
    pub dst_mac: [u8; 6],
    /// Inner source address.
    pub src_ip: IpAddr,
    /// Inner destination address.
    pub dst_ip: IpAddr,
    /// UDP source port of flow 0.
    pub src_port: u16,
    /// UDP destination port.
    pub dst_port: u16,
    /// TTL / hop limit.
    pub ttl: u8,
    /// DSCP.
    pub dscp: u8,
    /// Every n-th packet per core malformed.
    pub malformed_every: Option<u64>,
}

/// Fixed bytes per frame on the wire beyond `size`: preamble + SFD (8) and the minimum
/// inter-frame gap (12). `size` already counts the 4-byte FCS.
pub const L1_OVERHEAD: u32 = 20;
/// Bytes of FCS counted in `size` but not written by pktgen (the NIC appends it).
pub const FCS_LEN: u32 = 4;
/// Largest frame, FCS included (a 2048-byte mbuf data room holds it).
pub const MAX_FRAME: u32 = 2048;

impl Spec {
    /// Weighted mean frame size, FCS included.
    pub fn mean_size(&self) -> f64 {
        let w: u64 = self.sizes.iter().map(|s| u64::from(s.1)).sum();
        let t: u64 = self
            .sizes
            .iter()
            .map(|s| u64::from(s.0) * u64::from(s.1))
            .sum();
        t as f64 / w.max(1) as f64
    }

    /// Packets per second that fill `speed_mbps` with this size mix, counting
    /// [`L1_OVERHEAD`] bytes per frame on top of `size` (so 64-byte frames at 10 Gb/s give
    /// 14.88 Mpps).
    pub fn line_rate_pps(&self, speed_mbps: u32) -> f64 {
        f64::from(speed_mbps) * 1e6 / ((self.mean_size() + f64::from(L1_OVERHEAD)) * 8.0)
    }

    /// Which lcore slot (index into `run.cores`) runs TX core `i`, and which runs RX:
    /// TX core `i` runs on slot `i % n`; RX runs on slot `tx_cores` if there are more
    /// cores than TX cores, else on the last TX core's slot (TX and RX share it).
    pub fn layout(&self, n_cores: usize) -> (Vec<usize>, usize) {
        let n = n_cores.max(1);
        let tx: Vec<usize> = (0..self.tx_cores as usize).map(|i| i % n).collect();
        let rx = if n > self.tx_cores as usize {
            self.tx_cores as usize
        } else {
            (self.tx_cores as usize - 1) % n
        };
        (tx, rx)
    }
}

fn parse_hex_bytes(s: &str) -> Option<Vec<u8>> {
    let h = s.strip_prefix("0x").unwrap_or(s);
    if h.len() % 2 != 0 || !h.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).ok())
        .collect()
}

/// Bytes of headers in front of the payload signature, for this spec's protocol and
/// address families.
pub fn header_len(headers: &Headers, inner_v4: bool) -> usize {
    let ip = if inner_v4 { 20 } else { 40 };
    let inner = ip + 8;
    14 + match headers {
        Headers::Ip => inner,
        Headers::Mpls { labels, .. } => 4 * labels.len() + inner,
        Headers::Srv6 { segments, .. } => 40 + 8 + 16 * segments.len() + inner,
        Headers::Srou {
            source,
            locators,
            flow_id,
        } => {
            let (oip, alen, slen) = if source.is_ipv4() {
                (20, 4, 6)
            } else {
                (40, 16, 18)
            };
            oip + 8 + 4 + flow_id.len() + alen + 2 + 4 + slen * locators.len() + inner
        }
        Headers::Stamp => inner + fwd_core::stamp::wire::SENDER_LEN,
    }
}

impl Profile {
    /// Reads and parses `path` (not yet validated: see [`Profile::resolve`]).
    pub fn load(path: &Path) -> Result<Profile, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
            file: path.to_path_buf(),
            source,
        })?;
        Profile::from_str_named(&text, path)
    }

    /// Parses TOML text; `file` is only used in error messages.
    pub fn from_str_named(text: &str, file: &Path) -> Result<Profile, ProfileError> {
        toml::from_str(text).map_err(|e| ProfileError::Syntax {
            file: file.to_path_buf(),
            message: e.to_string().trim_end().replace('\n', "\n  "),
        })
    }

    /// Loads and validates in one step.
    pub fn load_resolved(path: &Path) -> Result<(Profile, Spec), ProfileError> {
        let p = Profile::load(path)?;
        let s = p.resolve(path)?;
        Ok((p, s))
    }

    /// Index of the port named `name`.
    pub fn port_index(&self, name: &str) -> Option<usize> {
        self.ports.iter().position(|p| p.name == name)
    }

    /// The full EAL argument vector (program name first).
    pub fn eal_args(&self, extra: &[String]) -> Vec<String> {
        let mut a = vec!["pktgen".to_string()];
        let cores: Vec<String> = self.run.cores.iter().map(u32::to_string).collect();
        a.push("-l".into());
        a.push(cores.join(","));
        if let Some(p) = &self.eal.file_prefix {
            a.push(format!("--file-prefix={p}"));
        }
        a.extend(self.eal.args.iter().cloned());
        for p in &self.ports {
            if let Some(d) = parse_device(&p.device) {
                a.extend(d.eal_args());
            }
        }
        a.extend(extra.iter().cloned());
        a
    }

    /// Checks what the schema cannot and resolves defaults into a [`Spec`].
    pub fn resolve(&self, file: &Path) -> Result<Spec, ProfileError> {
        let bad = |field: &str, expected: &str, got: String| ProfileError::Invalid {
            file: file.to_path_buf(),
            field: field.to_string(),
            expected: expected.to_string(),
            got,
        };
        // [run]
        let r = &self.run;
        if r.cores.is_empty() {
            return Err(bad("run.cores", "at least one core", "[]".into()));
        }
        for (i, c) in r.cores.iter().enumerate() {
            if *c >= 1024 {
                return Err(bad(
                    &format!("run.cores[{i}]"),
                    "a core id below 1024",
                    c.to_string(),
                ));
            }
            if r.cores[..i].contains(c) {
                return Err(bad(
                    &format!("run.cores[{i}]"),
                    "each core once",
                    format!("{c} again"),
                ));
            }
        }
        if r.idle_loops > 0 && !(1..=100_000).contains(&r.idle_sleep_us) {
            return Err(bad(
                "run.idle_sleep_us",
                "1..=100000 when run.idle_loops is set",
                r.idle_sleep_us.to_string(),
            ));
        }
        if r.drain_ms > 600_000 {
            return Err(bad(
                "run.drain_ms",
                "at most 600000 (10 minutes)",
                r.drain_ms.to_string(),
            ));
        }
        // [mempool]
        let m = &self.mempool;
        if m.mbufs < 1024 {
            return Err(bad("mempool.mbufs", "at least 1024", m.mbufs.to_string()));
        }
        if m.cache > 512 || u64::from(m.cache) * 2 > u64::from(m.mbufs) {
            return Err(bad(
                "mempool.cache",
                "at most 512 and at most half of mempool.mbufs",
                m.cache.to_string(),
            ));
        }
        // [[port]]
        if self.ports.is_empty() {
            return Err(bad("port", "at least one [[port]] table", "none".into()));
        }
        let mut devs: Vec<String> = Vec::new();
        for (i, p) in self.ports.iter().enumerate() {
            if p.name.is_empty() || self.ports[..i].iter().any(|q| q.name == p.name) {
                return Err(bad(
                    &format!("port[{i}].name"),
                    "a unique non-empty name",
                    format!("{:?}", p.name),
                ));
            }
            let Some(dev) = parse_device(&p.device) else {
                return Err(bad(
                    &format!("port[{i}].device"),
                    "a vdev spec starting with net_ (e.g. \"net_memif0,role=client,socket=/tmp/sr.sock\") or a PCI address (e.g. \"0000:3b:00.0\")",
                    format!("{:?}", p.device),
                ));
            };
            if devs.iter().any(|d| d == dev.name()) {
                return Err(bad(
                    &format!("port[{i}].device"),
                    "a device used by one port only",
                    dev.name().to_string(),
                ));
            }
            devs.push(dev.name().to_string());
            for (f, v) in [("rx_desc", p.rx_desc), ("tx_desc", p.tx_desc)] {
                if !(64..=16384).contains(&v) {
                    return Err(bad(&format!("port[{i}].{f}"), "64..=16384", v.to_string()));
                }
            }
            if p.speed_mbps == Some(0) {
                return Err(bad(
                    &format!("port[{i}].speed_mbps"),
                    "a speed above 0 Mb/s",
                    "0".into(),
                ));
            }
        }
        let names: Vec<&str> = self.ports.iter().map(|p| p.name.as_str()).collect();
        let t = &self.traffic;
        let tx_port = self.port_index(&t.tx_port).ok_or_else(|| {
            bad(
                "traffic.tx_port",
                &format!("the name of a [[port]] (one of {names:?})"),
                format!("{:?}", t.tx_port),
            )
        })?;
        let rx_port = match &t.rx_port {
            None => None,
            Some(n) => Some(self.port_index(n).ok_or_else(|| {
                bad(
                    "traffic.rx_port",
                    &format!("the name of a [[port]] (one of {names:?})"),
                    format!("{n:?}"),
                )
            })?),
        };

        // Cores, flows, burst.
        if !(1..=64).contains(&t.tx_cores) {
            return Err(bad("traffic.tx_cores", "1..=64", t.tx_cores.to_string()));
        }
        if t.tx_cores as usize > r.cores.len() {
            return Err(bad(
                "traffic.tx_cores",
                &format!(
                    "at most the number of run.cores ({}): one lcore per TX core",
                    r.cores.len()
                ),
                t.tx_cores.to_string(),
            ));
        }
        if !(1..=sig::MAX_STREAMS).contains(&t.flows) {
            return Err(bad(
                "traffic.flows",
                &format!("1..={}", sig::MAX_STREAMS),
                t.flows.to_string(),
            ));
        }
        if t.flows < t.tx_cores {
            return Err(bad(
                "traffic.flows",
                &format!(
                    "at least traffic.tx_cores ({}): each TX core sends its own flows",
                    t.tx_cores
                ),
                t.flows.to_string(),
            ));
        }
        if u32::from(t.src_port) + t.flows - 1 > u32::from(u16::MAX) {
            return Err(bad(
                "traffic.flows",
                &format!("src_port + flows - 1 <= 65535 (src_port is {})", t.src_port),
                t.flows.to_string(),
            ));
        }
        if !(1..=dpdk_sys::mbuf::BURST_CAPACITY as u32).contains(&t.burst) {
            return Err(bad(
                "traffic.burst",
                &format!("1..={}", dpdk_sys::mbuf::BURST_CAPACITY),
                t.burst.to_string(),
            ));
        }
        // Stop condition.
        let stop = match (t.count, t.duration_s) {
            (Some(_), Some(_)) => {
                return Err(bad(
                    "traffic.count",
                    "either traffic.count or traffic.duration_s, not both",
                    "both".into(),
                ))
            }
            (None, None) => {
                return Err(bad(
                    "traffic.duration_s",
                    "traffic.duration_s (seconds) or traffic.count (packets)",
                    "neither".into(),
                ))
            }
            (Some(0), None) => return Err(bad("traffic.count", "at least 1 packet", "0".into())),
            (Some(n), None) => Stop::Count(n),
            (None, Some(d)) => {
                if !(d > 0.0 && d <= 31_536_000.0) {
                    return Err(bad(
                        "traffic.duration_s",
                        "0 < seconds <= 31536000",
                        d.to_string(),
                    ));
                }
                Stop::Duration(Duration::from_secs_f64(d))
            }
        };
        // Rate.
        let rate = match (t.rate_pps, t.rate_percent) {
            (Some(_), Some(_)) => {
                return Err(bad(
                    "traffic.rate_pps",
                    "either traffic.rate_pps or traffic.rate_percent, not both",
                    "both".into(),
                ))
            }
            (None, None) => Rate::Unlimited,
            (Some(p), None) => {
                if !(p > 0.0 && p <= 1e10) {
                    return Err(bad("traffic.rate_pps", "0 < pps <= 1e10", p.to_string()));
                }
                Rate::Pps(p)
            }
            (None, Some(p)) => {
                if !(p > 0.0 && p <= 100.0) {
                    return Err(bad(
                        "traffic.rate_percent",
                        "0 < percent <= 100",
                        p.to_string(),
                    ));
                }
                Rate::Percent(p)
            }
        };
        if t.malformed_every == Some(0) || t.malformed_every == Some(1) {
            return Err(bad(
                "traffic.malformed_every",
                "at least 2 (every n-th packet is malformed)",
                t.malformed_every.unwrap_or(0).to_string(),
            ));
        }
        // L2.
        let src_mac = match &t.src_mac {
            None => None,
            Some(s) => Some(parse_mac(s).ok_or_else(|| {
                bad(
                    "traffic.src_mac",
                    "a MAC address like 02:00:00:00:00:01",
                    format!("{s:?}"),
                )
            })?),
        };
        let dst_mac = parse_mac(&t.dst_mac).ok_or_else(|| {
            bad(
                "traffic.dst_mac",
                "a MAC address like 02:00:00:00:00:02",
                format!("{:?}", t.dst_mac),
            )
        })?;
        if t.dscp > 63 {
            return Err(bad("traffic.dscp", "0..=63", t.dscp.to_string()));
        }
        if t.ttl == 0 {
            return Err(bad("traffic.ttl", "1..=255", "0".into()));
        }
        // Inner addresses: the family follows the protocol, else dst_ip, else IPv4.
        let parse_ip = |field: &str, s: &str| -> Result<IpAddr, ProfileError> {
            s.parse::<IpAddr>().map_err(|_| {
                bad(
                    field,
                    "an IPv4 or IPv6 address (e.g. 198.18.0.1, 2001:db8::1)",
                    format!("{s:?}"),
                )
            })
        };
        let dst_given = t
            .dst_ip
            .as_deref()
            .map(|s| parse_ip("traffic.dst_ip", s))
            .transpose()?;
        let src_given = t
            .src_ip
            .as_deref()
            .map(|s| parse_ip("traffic.src_ip", s))
            .transpose()?;
        let v4 = match t.protocol {
            Protocol::Ipv4 => true,
            Protocol::Ipv6 => false,
            _ => dst_given.or(src_given).is_none_or(|a| a.is_ipv4()),
        };
        let fam = if v4 {
            "an IPv4 address"
        } else {
            "an IPv6 address"
        };
        let src_ip = src_given.unwrap_or(if v4 {
            IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1))
        } else {
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1))
        });
        let dst_ip = dst_given.unwrap_or(if v4 {
            IpAddr::V4(Ipv4Addr::new(198, 19, 0, 1))
        } else {
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2))
        });
        for (f, a) in [("traffic.src_ip", src_ip), ("traffic.dst_ip", dst_ip)] {
            if a.is_ipv4() != v4 {
                return Err(bad(
                    f,
                    &format!(
                        "{fam} (protocol {} and the other address are {})",
                        t.protocol.name(),
                        if v4 { "IPv4" } else { "IPv6" }
                    ),
                    a.to_string(),
                ));
            }
        }
        // Protocol sections: exactly the one of the protocol.
        let sections = [
            ("traffic.mpls", t.mpls.is_some(), Protocol::Mpls),
            ("traffic.srv6", t.srv6.is_some(), Protocol::Srv6),
            ("traffic.srou", t.srou.is_some(), Protocol::Srou),
        ];
        for (name, present, proto) in sections {
            if present && proto != t.protocol {
                return Err(bad(
                    name,
                    &format!(
                        "no [{name}] section with protocol = \"{}\"",
                        t.protocol.name()
                    ),
                    "a section".into(),
                ));
            }
        }
        for (name, present, proto) in sections {
            if !present && proto == t.protocol {
                return Err(bad(
                    name,
                    &format!(
                        "a [{name}] section for protocol = \"{}\"",
                        t.protocol.name()
                    ),
                    "none".into(),
                ));
            }
        }
        let headers = match t.protocol {
            Protocol::Ipv4 | Protocol::Ipv6 => Headers::Ip,
            Protocol::Stamp => Headers::Stamp,
            Protocol::Mpls => {
                let s = t
                    .mpls
                    .as_ref()
                    .ok_or_else(|| bad("traffic.mpls", "a section", "none".into()))?;
                if !(1..=16).contains(&s.labels.len()) {
                    return Err(bad(
                        "traffic.mpls.labels",
                        "1..=16 labels",
                        s.labels.len().to_string(),
                    ));
                }
                for (i, l) in s.labels.iter().enumerate() {
                    if !(16..=fwd_core::wire::mpls::LABEL_MAX).contains(l) {
                        return Err(bad(
                            &format!("traffic.mpls.labels[{i}]"),
                            "a label 16..=1048575 (0..=15 are reserved)",
                            l.to_string(),
                        ));
                    }
                }
                if s.tc > 7 {
                    return Err(bad("traffic.mpls.tc", "0..=7", s.tc.to_string()));
                }
                if s.ttl == 0 {
                    return Err(bad("traffic.mpls.ttl", "1..=255", "0".into()));
                }
                Headers::Mpls {
                    labels: s.labels.clone(),
                    ttl: s.ttl,
                    tc: s.tc,
                }
            }
            Protocol::Srv6 => {
                let s = t
                    .srv6
                    .as_ref()
                    .ok_or_else(|| bad("traffic.srv6", "a section", "none".into()))?;
                let src = s.src.parse::<Ipv6Addr>().map_err(|_| {
                    bad(
                        "traffic.srv6.src",
                        "an IPv6 address",
                        format!("{:?}", s.src),
                    )
                })?;
                if !(1..=16).contains(&s.segments.len()) {
                    return Err(bad(
                        "traffic.srv6.segments",
                        "1..=16 segments",
                        s.segments.len().to_string(),
                    ));
                }
                let mut segments = Vec::new();
                for (i, g) in s.segments.iter().enumerate() {
                    segments.push(g.parse::<Ipv6Addr>().map_err(|_| {
                        bad(
                            &format!("traffic.srv6.segments[{i}]"),
                            "an IPv6 address (a SID)",
                            format!("{g:?}"),
                        )
                    })?);
                }
                Headers::Srv6 { src, segments }
            }
            Protocol::Srou => {
                let s = t
                    .srou
                    .as_ref()
                    .ok_or_else(|| bad("traffic.srou", "a section", "none".into()))?;
                let sock = |field: &str, v: &str| -> Result<SocketAddr, ProfileError> {
                    v.parse::<SocketAddr>().map_err(|_| {
                        bad(
                            field,
                            "a socket address ip:port (e.g. 10.99.1.1:8811, [2001:db8::1]:8811)",
                            format!("{v:?}"),
                        )
                    })
                };
                let source = sock("traffic.srou.source", &s.source)?;
                if !(1..=16).contains(&s.locators.len()) {
                    return Err(bad(
                        "traffic.srou.locators",
                        "1..=16 locators",
                        s.locators.len().to_string(),
                    ));
                }
                let mut locators = Vec::new();
                for (i, l) in s.locators.iter().enumerate() {
                    let f = format!("traffic.srou.locators[{i}]");
                    let a = sock(&f, l)?;
                    if a.is_ipv4() != source.is_ipv4() {
                        return Err(bad(
                            &f,
                            "the address family of traffic.srou.source (the SRoU Protocol-ID)",
                            l.clone(),
                        ));
                    }
                    locators.push(a);
                }
                let flow_id = parse_hex_bytes(&s.flow_id)
                    .filter(|b| b.len() <= 16)
                    .ok_or_else(|| {
                        bad(
                            "traffic.srou.flow_id",
                            "0..=16 bytes as hex (e.g. \"0x000123\")",
                            format!("{:?}", s.flow_id),
                        )
                    })?;
                let h = Headers::Srou {
                    source,
                    locators,
                    flow_id,
                };
                let srou_len = header_len(&h, v4)
                    - header_len(&Headers::Ip, v4)
                    - if source.is_ipv4() { 28 } else { 48 };
                if srou_len > fwd_core::srou::wire::MAX_LEN {
                    return Err(bad(
                        "traffic.srou.locators",
                        "an SRoU header of at most 255 bytes (fewer locators, a shorter flow ID)",
                        format!("{srou_len} bytes"),
                    ));
                }
                h
            }
        };
        let dst_port = t.dst_port.unwrap_or(if t.protocol == Protocol::Stamp {
            862
        } else {
            5001
        });

        // Sizes: each must hold the headers and the short signature.
        let sizes: Vec<(u32, u32)> = match (&t.size, &t.imix) {
            (Some(_), Some(_)) => {
                return Err(bad(
                    "traffic.size",
                    "either traffic.size or traffic.imix, not both",
                    "both".into(),
                ))
            }
            (None, None) => {
                return Err(bad(
                    "traffic.size",
                    "traffic.size (bytes) or traffic.imix ([[size, weight], ...])",
                    "neither".into(),
                ))
            }
            (Some(s), None) => vec![(*s, 1)],
            (None, Some(mix)) => {
                if mix.is_empty() || mix.len() > 16 {
                    return Err(bad(
                        "traffic.imix",
                        "1..=16 [size, weight] pairs",
                        mix.len().to_string(),
                    ));
                }
                let mut out = Vec::new();
                for (i, e) in mix.iter().enumerate() {
                    let [s, w] = e.as_slice() else {
                        return Err(bad(
                            &format!("traffic.imix[{i}]"),
                            "a pair [size, weight]",
                            format!("{e:?}"),
                        ));
                    };
                    if !(1..=1000).contains(w) {
                        return Err(bad(
                            &format!("traffic.imix[{i}]"),
                            "a weight 1..=1000",
                            w.to_string(),
                        ));
                    }
                    out.push((*s, *w));
                }
                out
            }
        };
        let hdr = header_len(&headers, v4) as u32;
        let min = (hdr + sig::SHORT_LEN as u32 + FCS_LEN).max(64);
        for (i, (s, _)) in sizes.iter().enumerate() {
            let field = if t.imix.is_some() {
                format!("traffic.imix[{i}]")
            } else {
                "traffic.size".to_string()
            };
            if *s < min || *s > MAX_FRAME {
                return Err(bad(
                    &field,
                    &format!(
                        "a frame size {min}..={MAX_FRAME} for protocol {} ({hdr} bytes of headers + {} of signature + 4 of FCS, at least 64)",
                        t.protocol.name(),
                        sig::SHORT_LEN
                    ),
                    s.to_string(),
                ));
            }
        }
        if u32::from(self.mempool.data_room)
            < MAX_FRAME.min(sizes.iter().map(|s| s.0).max().unwrap_or(64)) + 128
        {
            return Err(bad(
                "mempool.data_room",
                "at least the largest frame + 128 bytes of headroom",
                self.mempool.data_room.to_string(),
            ));
        }
        Ok(Spec {
            protocol: t.protocol,
            headers,
            tx_port,
            rx_port,
            flows: t.flows,
            sizes,
            rate,
            stop,
            tx_cores: t.tx_cores,
            burst: t.burst,
            src_mac,
            dst_mac,
            src_ip,
            dst_ip,
            src_port: t.src_port,
            dst_port,
            ttl: t.ttl,
            dscp: t.dscp,
            malformed_every: t.malformed_every,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const GOOD: &str = r#"
[eal]
args = ["--no-huge", "-m", "256", "--no-pci"]
file_prefix = "pg"

[run]
cores = [0, 1]

[[port]]
name = "gw"
device = "net_memif0,role=client,socket=/tmp/x.sock"

[traffic]
protocol = "mpls"
tx_port = "gw"
rx_port = "gw"
flows = 4
size = 128
rate_pps = 1000000
count = 10000

[traffic.mpls]
labels = [1000, 2000]
"#;

    fn load(s: &str) -> Result<Spec, ProfileError> {
        Profile::from_str_named(s, Path::new("p.toml"))?.resolve(Path::new("p.toml"))
    }

    fn err(s: &str) -> String {
        load(s).expect_err("must be rejected").to_string()
    }

    #[test]
    fn good_profile_resolves() {
        let s = load(GOOD).expect("valid");
        assert_eq!(s.protocol, Protocol::Mpls);
        assert_eq!(s.flows, 4);
        assert_eq!(s.sizes, vec![(128, 1)]);
        assert_eq!(s.stop, Stop::Count(10_000));
        assert_eq!(s.rate, Rate::Pps(1e6));
        assert_eq!(s.dst_port, 5001);
        assert!(s.src_ip.is_ipv4());
        let p = Profile::from_str_named(GOOD, Path::new("p.toml")).expect("parses");
        assert_eq!(
            p.eal_args(&[]),
            [
                "pktgen",
                "-l",
                "0,1",
                "--file-prefix=pg",
                "--no-huge",
                "-m",
                "256",
                "--no-pci",
                "--vdev",
                "net_memif0,role=client,socket=/tmp/x.sock"
            ]
        );
    }

    #[test]
    fn line_rate_follows_the_l1_convention() {
        let mut s = load(GOOD).expect("valid");
        s.sizes = vec![(64, 1)];
        assert!((s.line_rate_pps(10_000) - 14_880_952.38).abs() < 1.0);
        assert!((s.line_rate_pps(100_000) - 148_809_523.8).abs() < 10.0);
        s.sizes = vec![(64, 7), (576, 4), (1518, 1)];
        assert!((s.mean_size() - 355.83).abs() < 0.01);
    }

    #[test]
    fn layout_spreads_tx_and_places_rx() {
        let mut s = load(GOOD).expect("valid");
        assert_eq!(s.layout(2), (vec![0], 1));
        assert_eq!(s.layout(1), (vec![0], 0));
        s.tx_cores = 2;
        assert_eq!(s.layout(2), (vec![0, 1], 1));
        assert_eq!(s.layout(3), (vec![0, 1], 2));
    }

    #[test]
    fn errors_name_file_and_field() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "labels = [1000, 2000]",
                "labels = [1000, 2000000]",
                "traffic.mpls.labels[1]",
            ),
            (
                "labels = [1000, 2000]",
                "labels = []",
                "traffic.mpls.labels",
            ),
            ("size = 128", "size = 60", "traffic.size"),
            ("size = 128", "imix = [[64, 7], [576]]", "traffic.imix[1]"),
            (
                "size = 128",
                "imix = [[128, 7], [5000, 1]]",
                "traffic.imix[1]",
            ),
            (
                "rate_pps = 1000000",
                "rate_percent = 150",
                "traffic.rate_percent",
            ),
            (
                "rate_pps = 1000000",
                "rate_pps = 1\nrate_percent = 5",
                "traffic.rate_pps",
            ),
            (
                "count = 10000",
                "count = 1\nduration_s = 3",
                "traffic.count",
            ),
            ("count = 10000", "", "traffic.duration_s"),
            ("flows = 4", "flows = 0", "traffic.flows"),
            ("rx_port = \"gw\"", "rx_port = \"nope\"", "traffic.rx_port"),
            ("tx_port = \"gw\"", "tx_port = \"nope\"", "traffic.tx_port"),
            ("protocol = \"mpls\"", "protocol = \"ipv4\"", "traffic.mpls"),
            ("cores = [0, 1]", "cores = [0, 0]", "run.cores[1]"),
            (
                "device = \"net_memif0",
                "device = \"memif0",
                "port[0].device",
            ),
            ("flows = 4", "flows = 4\ntx_cores = 3", "traffic.tx_cores"),
            (
                "flows = 4",
                "flows = 4\ndst_ip = \"2001:db8::9\"\nsrc_ip = \"10.0.0.1\"",
                "traffic.src_ip",
            ),
            (
                "flows = 4",
                "flows = 4\nmalformed_every = 1",
                "traffic.malformed_every",
            ),
            (
                "flows = 4",
                "flows = 4\ndst_mac = \"02:00\"",
                "traffic.dst_mac",
            ),
        ];
        for (from, to, field) in cases {
            assert!(GOOD.contains(from), "{from}");
            let e = err(&GOOD.replace(from, to));
            assert!(
                e.starts_with("p.toml: ") && e.contains(&format!("field `{field}`")),
                "{to}: {e}"
            );
        }
    }

    #[test]
    fn schema_errors_name_the_field() {
        let e = err(&GOOD.replace("flows = 4", "flow = 4"));
        assert!(e.contains("p.toml") && e.contains("flow"), "{e}");
        let e = err(&GOOD.replace("protocol = \"mpls\"", "protocol = \"gre\""));
        assert!(e.contains("protocol") && e.contains("gre"), "{e}");
        let e = err(&GOOD.replace("flows = 4", "flows = \"four\""));
        assert!(e.contains("flows"), "{e}");
    }

    #[test]
    fn per_protocol_minimum_sizes() {
        // IPv4/UDP at 64 bytes fits the short signature; IPv6/UDP needs more.
        let v4 = GOOD
            .replace("protocol = \"mpls\"", "protocol = \"ipv4\"")
            .replace("[traffic.mpls]\nlabels = [1000, 2000]\n", "")
            .replace("size = 128", "size = 64");
        load(&v4).expect("64-byte IPv4");
        let v6 = v4.replace("protocol = \"ipv4\"", "protocol = \"ipv6\"");
        let e = err(&v6);
        assert!(e.contains("traffic.size") && e.contains("84..=2048"), "{e}");
    }

    #[test]
    fn srou_and_srv6_sections_are_checked() {
        let base = GOOD
            .replace("protocol = \"mpls\"", "protocol = \"srou\"")
            .replace("[traffic.mpls]\nlabels = [1000, 2000]\n", "");
        let ok = format!("{base}[traffic.srou]\nsource = \"10.0.0.1:4000\"\nlocators = [\"10.99.1.1:8811\", \"10.99.2.1:8811\"]\nflow_id = \"0x000123\"\n");
        let s = load(&ok).expect("valid srou");
        assert!(matches!(&s.headers, Headers::Srou { flow_id, .. } if flow_id == &[0, 1, 0x23]));
        let e = err(&ok.replace("\"10.99.2.1:8811\"", "\"[2001:db8::1]:8811\""));
        assert!(e.contains("traffic.srou.locators[1]"), "{e}");
        let e = err(&ok.replace("0x000123", "0x12345"));
        assert!(e.contains("traffic.srou.flow_id"), "{e}");
        let v6 = GOOD
            .replace("protocol = \"mpls\"", "protocol = \"srv6\"")
            .replace(
                "[traffic.mpls]\nlabels = [1000, 2000]\n",
                "[traffic.srv6]\nsrc = \"2001:db8:a::1\"\nsegments = [\"2001:db8:b::1\", \"fc00::x\"]\n",
            );
        let e = err(&v6);
        assert!(e.contains("traffic.srv6.segments[1]"), "{e}");
    }
}
