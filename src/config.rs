//! srgate's configuration file (`config/*.toml`): EAL arguments, ports, cores, mempool,
//! forwarding and (filled by later issues) tables.
//!
//! Loading is two steps: serde reads the TOML into [`Config`] (unknown fields are errors),
//! then [`Config::validate`] checks what types cannot. Every error names the file, the field
//! and what was expected.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use dpdk_sys::device::parse_device;
use fwd_core::adjacency::Adjacency;
use fwd_core::pipeline::Pipeline;
use fwd_core::stamp::ProbeResults;
pub use fwd_core::wire::ethernet::parse_mac;
use serde::Deserialize;

/// A configuration error: file, field, expectation.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: cannot read: {source}")]
    Read {
        /// The file.
        file: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML does not parse or does not match the schema.
    #[error("{file}: {message}")]
    Syntax {
        /// The file.
        file: PathBuf,
        /// toml's message (names the field and the line).
        message: String,
    },
    /// A value is out of range or inconsistent.
    #[error("{file}: field `{field}`: expected {expected}, got {got}")]
    Invalid {
        /// The file.
        file: PathBuf,
        /// Dotted path of the field, e.g. `port[1].rx_queues`.
        field: String,
        /// What was expected.
        expected: String,
        /// What was found.
        got: String,
    },
}

/// The whole file.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// EAL arguments.
    #[serde(default)]
    pub eal: EalConfig,
    /// Worker cores and polling behaviour.
    #[serde(default)]
    pub dataplane: DataplaneConfig,
    /// Packet-buffer pool.
    #[serde(default)]
    pub mempool: MempoolConfig,
    /// Ports, in port-id order.
    #[serde(default, rename = "port")]
    pub ports: Vec<PortConfig>,
    /// Port-to-port forwarding (each port's default for what the tables do not claim).
    #[serde(default)]
    pub xconnect: Vec<XConnectConfig>,
    /// Named adjacencies (egress port + next-hop MAC) the tables forward to.
    #[serde(default)]
    pub adjacency: Vec<AdjacencyConfig>,
    /// Lookup tables (MPLS, SRoU, service FIBs, ...): filled by later issues.
    #[serde(default)]
    pub tables: TablesConfig,
    /// `[control]`: join the etcd control plane (see [`crate::control`]).
    pub control: Option<crate::control::ControlSection>,
}

/// `[eal]`.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct EalConfig {
    /// Extra EAL arguments (e.g. `["--no-huge", "-m", "512"]`). srgate adds `-l` from
    /// `dataplane.cores` and `--vdev`/`-a` for each port.
    #[serde(default)]
    pub args: Vec<String>,
    /// `--file-prefix`, needed to run several DPDK processes at once.
    pub file_prefix: Option<String>,
}

/// `[dataplane]`; every field has a default.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DataplaneConfig {
    /// CPU cores for EAL lcores; the first is the main lcore. Workers run on all of them.
    pub cores: Vec<u32>,
    /// Consecutive empty polls before a worker sleeps (0: busy-poll forever).
    pub idle_empty_polls: u32,
    /// Sleep in microseconds once idle.
    pub idle_sleep_us: u32,
    /// Live rate line interval in milliseconds (0: off).
    pub stats_interval_ms: u64,
    /// Whether workers run the staged prefetch pass over their bursts: `"auto"` (measure
    /// both ways on the live traffic and run the faster, the default), `"staged"` or
    /// `"inline"` (fixed; see `fwd_core::prefetch_tuner`).
    pub prefetch: PrefetchSetting,
}

/// `dataplane.prefetch`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum PrefetchSetting {
    /// Measured per worker.
    #[default]
    Auto,
    /// Always the staged pass.
    Staged,
    /// Never the staged pass.
    Inline,
}

impl PrefetchSetting {
    /// The worker's policy.
    pub fn policy(self) -> fwd_core::prefetch_tuner::PrefetchPolicy {
        use fwd_core::prefetch_tuner::{PrefetchMode, PrefetchPolicy};
        match self {
            PrefetchSetting::Auto => PrefetchPolicy::Auto,
            PrefetchSetting::Staged => PrefetchPolicy::Fixed(PrefetchMode::Staged),
            PrefetchSetting::Inline => PrefetchPolicy::Fixed(PrefetchMode::Inline),
        }
    }
}

impl Default for DataplaneConfig {
    fn default() -> Self {
        DataplaneConfig {
            cores: vec![0],
            idle_empty_polls: 0,
            idle_sleep_us: 0,
            stats_interval_ms: 1000,
            prefetch: PrefetchSetting::Auto,
        }
    }
}

/// `[mempool]`; every field has a default.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MempoolConfig {
    /// Number of mbufs (2^n - 1 is optimal).
    pub mbufs: u32,
    /// Per-lcore cache.
    pub cache: u32,
    /// Buffer size of each mbuf, headroom included.
    pub data_room: u16,
}

impl Default for MempoolConfig {
    fn default() -> Self {
        MempoolConfig {
            mbufs: 8191,
            cache: 256,
            data_room: 2048 + 128,
        }
    }
}

/// One `[[port]]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PortConfig {
    /// Name used by `[[xconnect]]` and in counters.
    pub name: String,
    /// A DPDK virtual device string (`net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap`,
    /// `net_tap0,iface=srg0`, ...) or a PCI address (`0000:3b:00.0`).
    pub device: String,
    /// RX queues, one worker each; 0 makes a TX-only port that no worker polls.
    #[serde(default = "one")]
    pub rx_queues: u16,
    /// RX descriptors per queue.
    #[serde(default = "desc")]
    pub rx_desc: u16,
    /// TX descriptors per queue.
    #[serde(default = "desc")]
    pub tx_desc: u16,
    /// Receive frames for any MAC.
    #[serde(default = "yes")]
    pub promiscuous: bool,
}

fn one() -> u16 {
    1
}
fn desc() -> u16 {
    1024
}
fn yes() -> bool {
    true
}

/// One `[[xconnect]]`: frames from `from` leave on `to` with rewritten MACs.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct XConnectConfig {
    /// Ingress port name.
    pub from: String,
    /// Egress port name.
    pub to: String,
    /// Destination MAC of the next hop, `aa:bb:cc:dd:ee:ff`.
    pub dst_mac: String,
    /// Source MAC; default: the egress port's own MAC.
    pub src_mac: Option<String>,
}

/// One `[[adjacency]]`: a name the tables use for "send on this port to this MAC".
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AdjacencyConfig {
    /// Name referred to by table entries.
    pub name: String,
    /// Egress port name.
    pub port: String,
    /// Next hop's MAC.
    pub dst_mac: String,
    /// Source MAC; default: the egress port's own MAC.
    pub src_mac: Option<String>,
}

/// `[tables]`: the lookup tables (see `config/` for a worked example of each).
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct TablesConfig {
    /// `[tables.mpls]`: LFIB, anycast segments and V-LFIBs (seed 004).
    pub mpls: Option<fwd_core::mpls::MplsConfig>,
    /// `[tables.srou]`: SRoU locators, policies, next hops and tokens (seed 000).
    pub srou: Option<fwd_core::srou::config::SrouConfig>,
    /// `[tables.overlay]`: VRFs and EVPN type-2/type-5 routes to SRoU policies (seed 000).
    pub overlay: Option<fwd_core::overlay::config::OverlayConfig>,
    /// `[tables.stamp]`: the STAMP/TWAMP-light reflector (seed 003, RFC 8762).
    pub stamp: Option<fwd_core::stamp::StampConfig>,
    /// `[tables.service]`: computing SIDs, Global and Local service FIBs (seed 001).
    pub service: Option<fwd_core::service::ServiceConfig>,
    /// `[tables.service_range]`: service FIB entries in bulk (ranges of consecutive
    /// service IDs sharing their candidates), merged into `[tables.service]`'s FIBs.
    pub service_range: Option<fwd_core::service::ServiceRangeConfig>,
    /// `[tables.dyncast]`: dynamic-anycast map cache, RLOCs (seed 002).
    pub dyncast: Option<fwd_core::dyncast::DyncastConfig>,
}

impl Config {
    /// Reads, parses and validates `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            file: path.to_path_buf(),
            source,
        })?;
        Config::from_str_named(&text, path)
    }

    /// Parses and validates TOML text; `file` is only used in error messages.
    pub fn from_str_named(text: &str, file: &Path) -> Result<Config, ConfigError> {
        let cfg: Config = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            file: file.to_path_buf(),
            message: e.to_string().trim_end().replace('\n', "\n  "),
        })?;
        cfg.validate(file)?;
        Ok(cfg)
    }

    /// Checks what the schema cannot.
    pub fn validate(&self, file: &Path) -> Result<(), ConfigError> {
        let bad = |field: String, expected: &str, got: String| ConfigError::Invalid {
            file: file.to_path_buf(),
            field,
            expected: expected.to_string(),
            got,
        };
        let d = &self.dataplane;
        if d.cores.is_empty() {
            return Err(bad(
                "dataplane.cores".into(),
                "at least one core",
                "[]".into(),
            ));
        }
        let mut seen = BTreeSet::new();
        for (i, c) in d.cores.iter().enumerate() {
            if *c >= 1024 {
                return Err(bad(
                    format!("dataplane.cores[{i}]"),
                    "a core id below 1024",
                    c.to_string(),
                ));
            }
            if !seen.insert(*c) {
                return Err(bad(
                    format!("dataplane.cores[{i}]"),
                    "each core once",
                    format!("{c} again"),
                ));
            }
        }
        if d.idle_empty_polls > 0 && d.idle_sleep_us == 0 {
            return Err(bad(
                "dataplane.idle_sleep_us".into(),
                "a sleep above 0 when idle_empty_polls is set",
                "0".into(),
            ));
        }
        if d.idle_sleep_us > 100_000 {
            return Err(bad(
                "dataplane.idle_sleep_us".into(),
                "at most 100000 (0.1 s)",
                d.idle_sleep_us.to_string(),
            ));
        }
        let m = &self.mempool;
        if m.mbufs < 1024 {
            return Err(bad(
                "mempool.mbufs".into(),
                "at least 1024",
                m.mbufs.to_string(),
            ));
        }
        if m.cache > 512 || m.cache as u64 * 2 > m.mbufs as u64 {
            return Err(bad(
                "mempool.cache".into(),
                "at most 512 and at most half of mempool.mbufs",
                m.cache.to_string(),
            ));
        }
        if m.data_room < 128 + 64 {
            return Err(bad(
                "mempool.data_room".into(),
                "at least 192 bytes (128 headroom + a 64-byte frame)",
                m.data_room.to_string(),
            ));
        }
        if self.ports.is_empty() {
            return Err(bad(
                "port".into(),
                "at least one [[port]] table",
                "none".into(),
            ));
        }
        if self.ports.len() > fwd_core::pipeline::MAX_PORTS {
            return Err(bad(
                "port".into(),
                "at most 32 ports",
                self.ports.len().to_string(),
            ));
        }
        let mut names = BTreeSet::new();
        let mut devs = BTreeSet::new();
        for (i, p) in self.ports.iter().enumerate() {
            if p.name.is_empty() || !names.insert(p.name.as_str()) {
                return Err(bad(
                    format!("port[{i}].name"),
                    "a unique non-empty name",
                    format!("{:?}", p.name),
                ));
            }
            let Some(dev) = parse_device(&p.device) else {
                return Err(bad(
                    format!("port[{i}].device"),
                    "a vdev spec starting with net_ (e.g. \"net_pcap0,rx_pcap=in.pcap\") or a PCI address (e.g. \"0000:3b:00.0\")",
                    format!("{:?}", p.device),
                ));
            };
            if !devs.insert(dev.name().to_string()) {
                return Err(bad(
                    format!("port[{i}].device"),
                    "a device used by one port only",
                    dev.name().to_string(),
                ));
            }
            if p.rx_queues > 64 {
                return Err(bad(
                    format!("port[{i}].rx_queues"),
                    "0..=64 (0: TX only)",
                    p.rx_queues.to_string(),
                ));
            }
            for (f, v) in [("rx_desc", p.rx_desc), ("tx_desc", p.tx_desc)] {
                if !(64..=16384).contains(&v) {
                    return Err(bad(format!("port[{i}].{f}"), "64..=16384", v.to_string()));
                }
            }
        }
        let mut from_seen = BTreeSet::new();
        for (i, x) in self.xconnect.iter().enumerate() {
            for (f, v) in [("from", &x.from), ("to", &x.to)] {
                if !names.contains(v.as_str()) {
                    return Err(bad(
                        format!("xconnect[{i}].{f}"),
                        &format!("the name of a [[port]] (one of {:?})", names),
                        format!("{v:?}"),
                    ));
                }
            }
            if !from_seen.insert(x.from.as_str()) {
                return Err(bad(
                    format!("xconnect[{i}].from"),
                    "one xconnect per ingress port",
                    format!("{:?} again", x.from),
                ));
            }
            if parse_mac(&x.dst_mac).is_none() {
                return Err(bad(
                    format!("xconnect[{i}].dst_mac"),
                    "a MAC address like 02:00:00:00:00:01",
                    format!("{:?}", x.dst_mac),
                ));
            }
            if let Some(s) = &x.src_mac {
                if parse_mac(s).is_none() {
                    return Err(bad(
                        format!("xconnect[{i}].src_mac"),
                        "a MAC address like 02:00:00:00:00:01",
                        format!("{s:?}"),
                    ));
                }
            }
        }
        let mut adj_names = BTreeSet::new();
        for (i, a) in self.adjacency.iter().enumerate() {
            if a.name.is_empty() || !adj_names.insert(a.name.as_str()) {
                return Err(bad(
                    format!("adjacency[{i}].name"),
                    "a unique non-empty name",
                    format!("{:?}", a.name),
                ));
            }
            if !names.contains(a.port.as_str()) {
                return Err(bad(
                    format!("adjacency[{i}].port"),
                    &format!("the name of a [[port]] (one of {:?})", names),
                    format!("{:?}", a.port),
                ));
            }
            for (f, v) in [
                ("dst_mac", Some(&a.dst_mac)),
                ("src_mac", a.src_mac.as_ref()),
            ] {
                if let Some(v) = v {
                    if parse_mac(v).is_none() {
                        return Err(bad(
                            format!("adjacency[{i}].{f}"),
                            "a MAC address like 02:00:00:00:00:01",
                            format!("{v:?}"),
                        ));
                    }
                }
            }
        }
        // Build the tables once with stand-in port ids and MACs: every table error is
        // found here, before EAL starts.
        let ids: Vec<u16> = (0..self.ports.len() as u16).collect();
        let macs = vec![[0u8; 6]; self.ports.len()];
        self.build_pipeline(&ids, &macs, file)?;
        if let Some(c) = &self.control {
            c.controller_config(self, file)?;
        }
        Ok(())
    }

    /// Builds the forwarding snapshot: cross-connects and tables, given each configured
    /// port's DPDK id and MAC (in `[[port]]` order). STAMP session-senders get results of
    /// their own: a run uses [`Config::build_pipeline_with_probes`].
    pub fn build_pipeline(
        &self,
        port_ids: &[u16],
        port_macs: &[[u8; 6]],
        file: &Path,
    ) -> Result<Pipeline, ConfigError> {
        self.build_pipeline_with_probes(port_ids, port_macs, file, None)
    }

    /// True if `[tables.stamp]` lists session-senders (the run then needs a probe pool).
    pub fn has_stamp_senders(&self) -> bool {
        self.tables
            .stamp
            .as_ref()
            .is_some_and(|s| !s.sender.is_empty())
    }

    /// [`Config::build_pipeline`] whose STAMP session-senders write to `probes`: the one
    /// [`ProbeResults`] a run creates and passes to every snapshot it builds, so the
    /// results survive table replacements.
    pub fn build_pipeline_with_probes(
        &self,
        port_ids: &[u16],
        port_macs: &[[u8; 6]],
        file: &Path,
        probes: Option<&Arc<ProbeResults>>,
    ) -> Result<Pipeline, ConfigError> {
        let invalid = |field: String, expected: String, got: String| ConfigError::Invalid {
            file: file.to_path_buf(),
            field,
            expected,
            got,
        };
        let adjacency = |port: &str, dst: &str, src: Option<&String>| -> Option<Adjacency> {
            let i = self.port_index(port)?;
            Some(Adjacency {
                port: *port_ids.get(i)?,
                dst_mac: parse_mac(dst)?,
                src_mac: match src {
                    Some(s) => parse_mac(s)?,
                    None => *port_macs.get(i)?,
                },
            })
        };
        let mut p = Pipeline::new();
        for (i, x) in self.xconnect.iter().enumerate() {
            let from = self
                .port_index(&x.from)
                .and_then(|f| port_ids.get(f))
                .ok_or_else(|| {
                    invalid(
                        format!("xconnect[{i}].from"),
                        "a port".into(),
                        x.from.clone(),
                    )
                })?;
            let adj = adjacency(&x.to, &x.dst_mac, x.src_mac.as_ref()).ok_or_else(|| {
                invalid(
                    format!("xconnect[{i}]"),
                    "a valid port and MACs".into(),
                    x.to.clone(),
                )
            })?;
            p.set_xconnect(*from, adj).map_err(|e| {
                invalid(
                    format!("xconnect[{i}]"),
                    "a port id below 32".into(),
                    e.to_string(),
                )
            })?;
        }
        let named = |name: &str| -> Option<Adjacency> {
            let a = self.adjacency.iter().find(|a| a.name == name)?;
            adjacency(&a.port, &a.dst_mac, a.src_mac.as_ref())
        };
        if let Some(mpls) = &self.tables.mpls {
            let tables = mpls
                .build(named)
                .map_err(|e| invalid(e.field, e.expected, e.got))?;
            p.set_mpls(tables);
        }
        if let Some(srou) = &self.tables.srou {
            let port_ref = |name: &str| -> Option<fwd_core::srou::config::PortRef> {
                let i = self.port_index(name)?;
                Some(fwd_core::srou::config::PortRef {
                    id: *port_ids.get(i)?,
                    mac: *port_macs.get(i)?,
                })
            };
            let tables = srou
                .build(&port_ref)
                .map_err(|e| invalid(e.field, e.expected, e.got))?;
            // Encapsulation prepends into the mbuf headroom; a policy that needs more
            // would drop every packet (`srou-no-headroom`), so refuse it here.
            if tables.max_overhead() > dpdk_sys::mbuf::HEADROOM {
                return Err(invalid(
                    "tables.srou.policy".into(),
                    format!(
                        "policies whose encapsulation fits the {}-byte mbuf headroom \
                         (outer IP + UDP + SRoU header: fewer or IPv4 locators, a shorter flow ID)",
                        dpdk_sys::mbuf::HEADROOM
                    ),
                    format!("a policy needing {} bytes", tables.max_overhead()),
                ));
            }
            if let Some(overlay) = &self.tables.overlay {
                let port_id = |name: &str| port_ref(name).map(|r| r.id);
                let routes = overlay
                    .build(port_id, |n| tables.policy_index(n))
                    .map_err(|e| invalid(e.field, e.expected, e.got))?;
                p.set_overlay(routes);
            }
            p.set_srou(tables);
        } else if self.tables.overlay.is_some() {
            return Err(invalid(
                "tables.overlay".into(),
                "a [tables.srou] section whose named policies the routes target".into(),
                "no [tables.srou]".into(),
            ));
        }
        if let Some(service) = &self.tables.service {
            let no_ranges = fwd_core::service::ServiceRangeConfig::default();
            let ranges = self.tables.service_range.as_ref().unwrap_or(&no_ranges);
            let tables = service
                .build_with_ranges(ranges, named)
                .map_err(|e| invalid(e.field, e.expected, e.got))?;
            p.set_service(tables);
        }
        if self.tables.service.is_none() && self.tables.service_range.is_some() {
            return Err(invalid(
                "tables.service_range".into(),
                "a [tables.service] section with the PEs and instances the ranges name".into(),
                "no [tables.service]".into(),
            ));
        }
        if let Some(dyncast) = &self.tables.dyncast {
            let tables = dyncast
                .build(named)
                .map_err(|e| invalid(e.field, e.expected, e.got))?;
            p.set_dyncast(tables);
        }
        if let Some(stamp) = &self.tables.stamp {
            let tables = stamp
                .build_with(named, probes)
                .map_err(|e| invalid(e.field, e.expected, e.got))?;
            p.set_stamp(tables);
        }
        Ok(p)
    }

    /// Index of the port named `name`.
    pub fn port_index(&self, name: &str) -> Option<usize> {
        self.ports.iter().position(|p| p.name == name)
    }

    /// The full EAL argument vector (program name first).
    pub fn eal_args(&self, extra: &[String]) -> Vec<String> {
        let mut a = vec!["srgate".to_string()];
        let cores: Vec<String> = self.dataplane.cores.iter().map(u32::to_string).collect();
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use dpdk_sys::device::Device;

    const GOOD: &str = r#"
[eal]
args = ["--no-huge", "-m", "256", "--no-pci"]
file_prefix = "t1"

[dataplane]
cores = [0, 1]
idle_empty_polls = 100
idle_sleep_us = 50
stats_interval_ms = 0

[[port]]
name = "a"
device = "net_pcap0,rx_pcap=/tmp/in.pcap"

[[port]]
name = "b"
device = "0000:3B:00.1"
rx_queues = 4

[[xconnect]]
from = "a"
to = "b"
dst_mac = "02:00:00:00:00:02"
"#;

    fn load(s: &str) -> Result<Config, ConfigError> {
        Config::from_str_named(s, Path::new("t.toml"))
    }

    fn err(s: &str) -> String {
        load(s).expect_err("must be rejected").to_string()
    }

    #[test]
    fn good_config_loads_and_builds_eal_args() {
        let c = load(GOOD).expect("valid");
        assert_eq!(c.ports.len(), 2);
        assert_eq!(c.ports[1].rx_queues, 4);
        assert_eq!(c.ports[0].rx_queues, 1);
        let a = c.eal_args(&["--log-level=8".into()]);
        assert_eq!(
            a,
            [
                "srgate",
                "-l",
                "0,1",
                "--file-prefix=t1",
                "--no-huge",
                "-m",
                "256",
                "--no-pci",
                "--vdev",
                "net_pcap0,rx_pcap=/tmp/in.pcap",
                "-a",
                "0000:3b:00.1",
                "--log-level=8"
            ]
        );
    }

    #[test]
    fn shipped_configs_are_valid() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let mut n = 0;
        for e in std::fs::read_dir(&dir).expect("config dir") {
            let p = e.expect("entry").path();
            if p.extension().is_some_and(|x| x == "toml") {
                Config::load(&p).unwrap_or_else(|e| panic!("{e}"));
                n += 1;
            }
        }
        assert!(n >= 1);
    }

    #[test]
    fn errors_name_file_field_and_expectation() {
        let e = err(&GOOD.replace("rx_queues = 4", "rx_queues = 65"));
        assert!(
            e.contains("t.toml") && e.contains("port[1].rx_queues") && e.contains("0..=64"),
            "{e}"
        );
        let e = err(&GOOD.replace("to = \"b\"", "to = \"zz\""));
        assert!(e.contains("xconnect[0].to") && e.contains("\"zz\""), "{e}");
        let e = err(&GOOD.replace("02:00:00:00:00:02", "02:00:00:00:00"));
        assert!(e.contains("xconnect[0].dst_mac"), "{e}");
        let e = err(&GOOD.replace("0000:3B:00.1", "eth0"));
        assert!(
            e.contains("port[1].device") && e.contains("PCI address"),
            "{e}"
        );
        let e = err(&GOOD.replace("cores = [0, 1]", "cores = [0, 0]"));
        assert!(e.contains("dataplane.cores[1]"), "{e}");
        let e = err(&GOOD.replace("idle_sleep_us = 50", "idle_sleep_us = 0"));
        assert!(e.contains("dataplane.idle_sleep_us"), "{e}");
        let e = err(&GOOD.replace("name = \"b\"", "name = \"a\""));
        assert!(e.contains("port[1].name"), "{e}");
    }

    #[test]
    fn schema_errors_name_the_field() {
        let e = err(&GOOD.replace("rx_queues = 4", "rx_queue = 4"));
        assert!(e.contains("t.toml") && e.contains("rx_queue"), "{e}");
        let e = err(&GOOD.replace("rx_queues = 4", "rx_queues = \"four\""));
        assert!(e.contains("rx_queues"), "{e}");
        let e = err(&GOOD.replace("rx_queues = 4", "rx_queues = 70000"));
        assert!(e.contains("rx_queues"), "{e}");
        let e = err("[[port]]\nname = \"a\"\n");
        assert!(e.contains("device"), "{e}");
        let e = err(&GOOD.replace("stats_interval_ms = 0", "prefetch = \"sometimes\""));
        assert!(
            e.contains("prefetch") && e.contains("auto") && e.contains("inline"),
            "{e}"
        );
    }

    #[test]
    fn prefetch_policy_defaults_to_measured() {
        use fwd_core::prefetch_tuner::{PrefetchMode, PrefetchPolicy};
        assert_eq!(
            load(GOOD).expect("valid").dataplane.prefetch.policy(),
            PrefetchPolicy::Auto
        );
        for (text, policy) in [
            ("auto", PrefetchPolicy::Auto),
            ("staged", PrefetchPolicy::Fixed(PrefetchMode::Staged)),
            ("inline", PrefetchPolicy::Fixed(PrefetchMode::Inline)),
        ] {
            let c = load(&GOOD.replace(
                "stats_interval_ms = 0",
                &format!("stats_interval_ms = 0\nprefetch = \"{text}\""),
            ))
            .expect("valid");
            assert_eq!(c.dataplane.prefetch.policy(), policy, "{text}");
        }
    }

    #[test]
    fn mpls_tables_and_adjacencies_are_validated_at_load() {
        let base = format!(
            "{GOOD}\n[[adjacency]]\nname = \"to-b\"\nport = \"b\"\ndst_mac = \"02:00:00:00:00:0b\"\n\n[tables.mpls]\n"
        );
        let ok = format!(
            "{base}[[tables.mpls.lfib]]\nlabel = 1000\naction = \"swap\"\npaths = [{{ adjacency = \"to-b\", labels = [2000] }}]\n"
        );
        let c = load(&ok).expect("valid MPLS table");
        let p = c
            .build_pipeline(&[3, 4], &[[0; 6], [9; 6]], Path::new("t.toml"))
            .expect("builds");
        assert_eq!(p.mpls().lfib().len(), 1);
        let e = err(&ok.replace("adjacency = \"to-b\"", "adjacency = \"nowhere\""));
        assert!(
            e.contains("t.toml") && e.contains("tables.mpls.lfib[0].paths[0].adjacency"),
            "{e}"
        );
        let e = err(&ok.replace("label = 1000", "label = 2000000"));
        assert!(e.contains("tables.mpls.lfib[0].label"), "{e}");
        let e = err(&ok.replace("port = \"b\"", "port = \"zz\""));
        assert!(e.contains("adjacency[0].port"), "{e}");

        // A swap block: 100 000 labels mapped onto a neighbour's block, label by label.
        let block = format!(
            "{base}[[tables.mpls.swap_block]]\nfirst = 16\ncount = 100000\nout_first = 200000\nadjacencies = [\"to-b\"]\n"
        );
        let c = load(&block).expect("valid block");
        let p = c
            .build_pipeline(&[3, 4], &[[0; 6], [9; 6]], Path::new("t.toml"))
            .expect("builds");
        assert_eq!(p.mpls().lfib().len(), 100_000);
        let e = err(&block.replace("out_first = 200000", "out_first = 1000000"));
        assert!(e.contains("tables.mpls.swap_block[0].out_first"), "{e}");
        let e = err(&format!(
            "{block}[[tables.mpls.lfib]]\nlabel = 500\naction = \"pop\"\npaths = [{{ adjacency = \"to-b\" }}]\n"
        ));
        assert!(
            e.contains("tables.mpls.swap_block[0].first"),
            "overlap is refused: {e}"
        );
    }

    #[test]
    fn stamp_senders_resolve_adjacencies_and_share_results() {
        let ok = format!(
            "{GOOD}\n[[adjacency]]\nname = \"to-b\"\nport = \"b\"\ndst_mac = \"02:00:00:00:00:0b\"\n\n\
             [tables.stamp]\nenabled = false\n\n[[tables.stamp.sender]]\nid = 5\nadjacency = \"to-b\"\n\
             source = \"10.0.0.1\"\nsource_port = 40862\nreflector = \"10.0.0.2\"\ninterval_ms = 50\n"
        );
        let c = load(&ok).expect("valid sender");
        assert!(c.has_stamp_senders());
        let probes = Arc::new(ProbeResults::new());
        let build = || {
            c.build_pipeline_with_probes(
                &[3, 4],
                &[[0; 6], [9; 6]],
                Path::new("t.toml"),
                Some(&probes),
            )
            .expect("builds")
        };
        let (p1, p2) = (build(), build());
        let s = &p1.stamp().sender().sessions()[0];
        assert_eq!(s.params().adjacency.port, 4);
        assert_eq!(s.params().adjacency.src_mac, [9; 6], "the port's own MAC");
        assert_eq!(s.interval_ns(), 50_000_000);
        assert_eq!(
            p1.stamp().sender(),
            p2.stamp().sender(),
            "same results, same slot"
        );
        assert!(Arc::ptr_eq(p1.stamp().sender().results().unwrap(), &probes));
        assert_eq!(probes.snapshot().len(), 1);
        assert!(!load(GOOD).unwrap().has_stamp_senders());

        let e = err(&ok.replace("adjacency = \"to-b\"", "adjacency = \"to-z\""));
        assert!(
            e.contains("t.toml") && e.contains("tables.stamp.sender[0].adjacency"),
            "{e}"
        );
        let e = err(&ok.replace("source_port = 40862", "source_port = 862"));
        assert!(e.contains("tables.stamp.sender[0].source_port"), "{e}");
        let e = err(&ok.replace("interval_ms = 50", "interval = 50"));
        assert!(e.contains("unknown field `interval`"), "{e}");
    }

    #[test]
    fn mac_and_device_parsing() {
        assert_eq!(parse_mac("02:00:00:00:00:0a"), Some([2, 0, 0, 0, 0, 10]));
        assert_eq!(parse_mac("02-00-00-00-00-0A"), Some([2, 0, 0, 0, 0, 10]));
        for bad in [
            "",
            "02:00:00:00:00",
            "02:00:00:00:00:00:00",
            "0g:00:00:00:00:00",
            "2:0:0:0:0:0",
        ] {
            assert_eq!(parse_mac(bad), None, "{bad}");
        }
        assert_eq!(
            parse_device("3b:00.0"),
            Some(Device::Pci {
                address: "0000:3b:00.0".into()
            })
        );
        assert_eq!(
            parse_device("net_tap0,iface=x").map(|d| d.name().to_string()),
            Some("net_tap0".into())
        );
        for bad in ["", "net_", "tap0", "3b:00.8", "0000:3b:00", "net_a b"] {
            assert_eq!(parse_device(bad), None, "{bad}");
        }
    }
}
