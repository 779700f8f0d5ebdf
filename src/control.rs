//! `[control]`: joining the etcd control plane (issue 4).
//!
//! With a `[control]` section, `srgate run` starts the control thread
//! ([`ctrl_plane::controller`]) off the worker cores: the node registers in etcd under a
//! lease (`/node`, `/service`, `/systemlabel`, and its SRGB and SIDs), reports its links,
//! watches the whole schema, and every time the view changes compiles its MPLS tables
//! (SPF over the registered nodes' link state) and publishes a new snapshot RCU-style. The
//! tables of the config file stay the base: compiled LFIB entries replace the file's
//! `[tables.mpls]` entries label by label; everything else is kept.
//!
//! ```toml
//! [control]
//! name = "a"                        # system name (unique)
//! role = "fabric"                   # stun | fabric | linecard
//! site = 1
//! endpoints = ["127.0.0.1:2379"]
//! lease_ttl_s = 3
//! locators = ["a/1/10.0.0.1:8811/10.0.0.1:8811/p0/10000/10000"]
//! prefix_sid = 1                    # published as /sid/prefix/a; needs [tables.mpls].srgb
//! anycast = [{ group = "A", index = 100 }]
//! tls = { ca = "ca.pem", cert = "a.pem", key = "a.key" }
//!
//! [[control.link]]
//! neighbor = "b"                    # also the name of the [[adjacency]] towards b
//! metric = 10
//! delay_us = 200
//! ```

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;

use ctrl_plane::compile::overlay::{OverlayCompiled, OverlayContext};
use ctrl_plane::compile::service::{LocalInstance, LocalSid, ServiceNode};
use ctrl_plane::compile::srou::TokenFields;
use ctrl_plane::compile::ServiceContext;
use ctrl_plane::controller::{ControlStatus, ControllerConfig, LinkConfig};
use ctrl_plane::etcd::registration::NodeIdentity;
use ctrl_plane::etcd::schema::{Key, Locator, Role};
use ctrl_plane::etcd::watch::SyncOptions;
use ctrl_plane::etcd::{EtcdOptions, TlsFiles};
use fwd_core::mpls::MplsConfig;
use serde::{Deserialize, Serialize};

use crate::config::{Config, ConfigError};

/// `[control]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ControlSection {
    /// System name.
    pub name: String,
    /// `stun`, `fabric` or `linecard`.
    #[serde(default = "fabric")]
    pub role: String,
    /// Site or AS number.
    #[serde(default)]
    pub site: u32,
    /// `[latitude, longitude]`.
    pub location: Option<[f32; 2]>,
    /// etcd members, `host:port`.
    pub endpoints: Vec<String>,
    /// Registration lease, seconds.
    #[serde(default = "ttl")]
    pub lease_ttl_s: u64,
    /// Deadline of each etcd request, ms.
    #[serde(default = "request_ms")]
    pub request_timeout_ms: u64,
    /// TLS with a client certificate (seed 000 requires it outside tests).
    pub tls: Option<TlsSection>,
    /// SRoU locators, `SystemName/Color/LocalIP:Port/PublicIP:Port/Interface/TXBW/RXBW`.
    #[serde(default)]
    pub locators: Vec<String>,
    /// This node's prefix SID index.
    pub prefix_sid: Option<u32>,
    /// Anycast groups this node is a member of.
    #[serde(default)]
    pub anycast: Vec<AnycastSection>,
    /// `[[control.link]]`: links reported under `/stats/linkstate`.
    #[serde(default, rename = "link")]
    pub links: Vec<LinkSection>,
    /// `/stats/node` refresh, ms.
    #[serde(default = "stats_ms")]
    pub stats_interval_ms: u64,
    /// Export RTs of the overlay routes to import; empty: all (filtered by VRF VNID).
    #[serde(default)]
    pub import_rt: Vec<String>,
    /// Flow ID (token) of the SRoU policies compiled from overlay routes, hex.
    #[serde(default)]
    pub flow_id: String,
    /// `[[control.sla]]`: SLA classes, by the routes' PolicyTag.
    #[serde(default)]
    pub sla: Vec<SlaSection>,
    /// This node as a CATS PE (seed 001): published as `/cats/pe/<name>`; with it the
    /// node compiles `[tables.service]` from the instance metrics in etcd.
    pub cats_pe: Option<CatsPeSection>,
    /// How instance metrics fold into the PE metric: `min`, `mean` or `weighted`.
    #[serde(default = "min")]
    pub cats_aggregation: String,
    /// Route targets of `/control/<RT>/...` rules and the VNID of the VRF each steers in.
    #[serde(default)]
    pub route_targets: std::collections::BTreeMap<String, u32>,
    /// The `[[adjacency]]` dynamic-anycast RLOCs from `/dyncast` are reached through
    /// (needs `[tables.dyncast]`).
    pub dyncast_adjacency: Option<String>,
}

fn min() -> String {
    "min".into()
}

/// `cats_pe = { id, sid }`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CatsPeSection {
    /// The PE's stable ID.
    pub id: u32,
    /// Its END.CL SID block, `addr/96`.
    pub sid: String,
}

/// One `[[control.sla]]`: bounds a path must meet for routes tagged `tag`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SlaSection {
    /// The PolicyTag of `/route/*` values.
    pub tag: String,
    /// Most total delay, us.
    pub max_delay_us: Option<u64>,
    /// Most total jitter, us.
    pub max_jitter_us: Option<u64>,
    /// Most end-to-end loss, ppm.
    pub max_loss_ppm: Option<u32>,
    /// Least available bandwidth on every link, Mbit/s.
    pub min_bandwidth_mbps: Option<u64>,
}

fn fabric() -> String {
    "fabric".into()
}
fn ttl() -> u64 {
    3
}
fn request_ms() -> u64 {
    2000
}
fn stats_ms() -> u64 {
    5000
}

/// `tls = { ca, cert, key, server_name }`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    /// CA certificate (PEM).
    pub ca: PathBuf,
    /// Client certificate (PEM).
    pub cert: PathBuf,
    /// Client key (PEM).
    pub key: PathBuf,
    /// Name on the server's certificate, when not the endpoint's host.
    pub server_name: Option<String>,
}

/// `{ group, index }`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AnycastSection {
    /// Group name.
    pub group: String,
    /// Anycast SID index.
    pub index: u32,
}

/// One `[[control.link]]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LinkSection {
    /// Neighbour's system name, also its `[[adjacency]]` name.
    pub neighbor: String,
    /// IGP metric.
    #[serde(default = "metric")]
    pub metric: u32,
    /// Delay, microseconds (published until the probe measures the link).
    #[serde(default)]
    pub delay_us: u32,
    /// The `id` of the `[[tables.stamp.sender]]` session probing this link: its delay,
    /// jitter and loss go to `/stats/linkstate`.
    pub probe: Option<u32>,
}

fn metric() -> u32 {
    10
}

/// What the control thread did, for the final report.
#[derive(Debug, Clone, Serialize, Default)]
pub struct ControlReport {
    /// System label (-1: never registered).
    pub label: i64,
    /// Registrations (more than one: the lease was lost and the node came back).
    pub registrations: u64,
    /// Tables published.
    pub publications: u64,
    /// Compilations the data plane refused.
    pub refused: u64,
    /// etcd revision of the last publication.
    pub revision: i64,
    /// etcd values rejected.
    pub rejected: u64,
    /// Full snapshots (1 + resyncs after compaction).
    pub snapshots: u64,
}

impl ControlReport {
    /// Reads the control thread's counters.
    pub fn from_status(s: &ControlStatus) -> Self {
        ControlReport {
            label: s.label.load(Ordering::Relaxed),
            registrations: s.registrations.load(Ordering::Relaxed),
            publications: s.publications.load(Ordering::Relaxed),
            refused: s.refused.load(Ordering::Relaxed),
            revision: s.revision.load(Ordering::Relaxed),
            rejected: s.rejected.load(Ordering::Relaxed),
            snapshots: s.snapshots.load(Ordering::Relaxed),
        }
    }
}

impl ControlSection {
    /// Checks the section and turns it into the control thread's configuration.
    pub fn controller_config(
        &self,
        cfg: &Config,
        file: &Path,
    ) -> Result<ControllerConfig, ConfigError> {
        let bad = |field: &str, expected: &str, got: String| ConfigError::Invalid {
            file: file.to_path_buf(),
            field: format!("control.{field}"),
            expected: expected.to_string(),
            got,
        };
        let role = Role::from_name(&self.role)
            .ok_or_else(|| bad("role", "stun, fabric or linecard", self.role.clone()))?;
        Key::parse(&format!("/node/{role}/{}", self.name)).map_err(|_| {
            bad(
                "name",
                "1 to 128 letters, digits, '-', '_', '.' or ':'",
                format!("{:?}", self.name),
            )
        })?;
        if self.endpoints.is_empty() {
            return Err(bad("endpoints", "at least one host:port", "[]".into()));
        }
        if !(1..=3600).contains(&self.lease_ttl_s) {
            return Err(bad(
                "lease_ttl_s",
                "1 to 3600 seconds",
                self.lease_ttl_s.to_string(),
            ));
        }
        if !(100..=60_000).contains(&self.request_timeout_ms) {
            return Err(bad(
                "request_timeout_ms",
                "100 to 60000",
                self.request_timeout_ms.to_string(),
            ));
        }
        let mut locators = Vec::new();
        for (i, l) in self.locators.iter().enumerate() {
            let loc = Locator::parse("control.locators", l)
                .map_err(|e| bad(&format!("locators[{i}]"), &e.expected, format!("{l:?}")))?;
            if loc.system != self.name {
                return Err(bad(
                    &format!("locators[{i}]"),
                    "a locator whose SystemName is this node's name",
                    loc.system,
                ));
            }
            locators.push(loc);
        }
        let srgb = cfg.tables.mpls.as_ref().and_then(|m| m.srgb);
        let mut static_keys = Vec::new();
        if let Some(s) = srgb {
            static_keys.push((
                Key::Srgb(self.name.clone()).path(),
                format!("{},{}", s.base, s.size),
            ));
        }
        if let Some(i) = self.prefix_sid {
            let Some(s) = srgb else {
                return Err(bad(
                    "prefix_sid",
                    "a [tables.mpls] srgb to derive labels from",
                    "no srgb".into(),
                ));
            };
            if i >= s.size {
                return Err(bad(
                    "prefix_sid",
                    &format!("an index within the SRGB (below {})", s.size),
                    i.to_string(),
                ));
            }
            static_keys.push((Key::PrefixSid(self.name.clone()).path(), i.to_string()));
        }
        for (n, a) in self.anycast.iter().enumerate() {
            let key =
                Key::parse(&format!("/sid/anycast/{}/{}", a.group, self.name)).map_err(|_| {
                    bad(
                        &format!("anycast[{n}].group"),
                        "a group name",
                        a.group.clone(),
                    )
                })?;
            if a.index >= 1 << 20 {
                return Err(bad(
                    &format!("anycast[{n}].index"),
                    "a SID index below 2^20",
                    a.index.to_string(),
                ));
            }
            static_keys.push((key.path(), a.index.to_string()));
        }
        let mut links = Vec::new();
        for (n, l) in self.links.iter().enumerate() {
            if !cfg.adjacency.iter().any(|a| a.name == l.neighbor) {
                return Err(bad(
                    &format!("link[{n}].neighbor"),
                    "the name of an [[adjacency]] towards that neighbour",
                    format!("{:?}", l.neighbor),
                ));
            }
            if l.metric == 0 {
                return Err(bad(&format!("link[{n}].metric"), "1 or more", "0".into()));
            }
            if let Some(id) = l.probe {
                let known = cfg
                    .tables
                    .stamp
                    .as_ref()
                    .is_some_and(|s| s.sender.iter().any(|x| x.id == id));
                if !known {
                    return Err(bad(
                        &format!("link[{n}].probe"),
                        "the id of a [[tables.stamp.sender]] session",
                        id.to_string(),
                    ));
                }
            }
            links.push(LinkConfig {
                neighbor: l.neighbor.clone(),
                metric: l.metric,
                delay_us: l.delay_us,
                probe: l.probe,
            });
        }
        if !links.is_empty() && locators.is_empty() {
            return Err(bad(
                "locators",
                "at least one locator when links are reported (link-state keys name locators)",
                "[]".into(),
            ));
        }
        let tls = self.tls.as_ref().map(|t| {
            let rel = |p: &PathBuf| match file.parent() {
                Some(dir) if p.is_relative() => dir.join(p),
                _ => p.clone(),
            };
            TlsFiles {
                ca: rel(&t.ca),
                cert: rel(&t.cert),
                key: rel(&t.key),
                server_name: t.server_name.clone(),
            }
        });
        let mut sla = std::collections::BTreeMap::new();
        for (n, c) in self.sla.iter().enumerate() {
            if c.max_loss_ppm.is_some_and(|l| l > 1_000_000) {
                return Err(bad(
                    &format!("sla[{n}].max_loss_ppm"),
                    "at most 1000000",
                    format!("{:?}", c.max_loss_ppm),
                ));
            }
            let d = ctrl_plane::path::astar::Sla::default();
            let class = ctrl_plane::path::astar::Sla {
                max_delay_us: c.max_delay_us.unwrap_or(d.max_delay_us),
                max_jitter_us: c.max_jitter_us.unwrap_or(d.max_jitter_us),
                max_loss: c.max_loss_ppm.map_or(d.max_loss, |l| l as f64 / 1e6),
                min_bandwidth_kbps: c
                    .min_bandwidth_mbps
                    .map_or(d.min_bandwidth_kbps, |b| b.saturating_mul(1000)),
            };
            if sla.insert(c.tag.clone(), class).is_some() {
                return Err(bad(
                    &format!("sla[{n}].tag"),
                    "each tag once",
                    c.tag.clone(),
                ));
            }
        }
        if !self.flow_id.is_empty()
            && fwd_core::srou::config::parse_flow_id(&self.flow_id).is_none()
        {
            return Err(bad(
                "flow_id",
                "a hex token of 1 to 16 bytes, e.g. \"0x000123\"",
                format!("{:?}", self.flow_id),
            ));
        }
        // Overlay routes are imported into the file's VRFs, through its SRoU locators.
        let overlay = match (&cfg.tables.overlay, &cfg.tables.srou) {
            (Some(o), Some(srou)) if !o.vrf.is_empty() => {
                // Segment lists compiled from etcd start at locators the file cannot
                // know: without a default next hop one of them would make the whole
                // compiled table unbuildable.
                if srou.default_next_hop.is_none() {
                    return Err(ConfigError::Invalid {
                        file: file.to_path_buf(),
                        field: "tables.srou.default_next_hop".into(),
                        expected: "a default next hop for the first hops of segment lists \
                                   compiled from etcd (overlay import is on)"
                            .into(),
                        got: "none".into(),
                    });
                }
                if locators.is_empty() {
                    return Err(bad(
                        "locators",
                        "at least one locator to import overlay routes into [tables.overlay] VRFs",
                        "[]".into(),
                    ));
                }
                Some(OverlayContext {
                    node: self.name.clone(),
                    vnids: o.vrf.iter().map(|v| v.vnid).collect(),
                    import_rt: self.import_rt.clone(),
                    sla,
                    flow_id: self.flow_id.clone(),
                    route_targets: self.route_targets.clone(),
                })
            }
            _ => None,
        };
        let aggregation: ctrl_plane::cats::Aggregation =
            self.cats_aggregation.parse().map_err(|_| {
                bad(
                    "cats_aggregation",
                    "min, mean or weighted",
                    self.cats_aggregation.clone(),
                )
            })?;
        let service = match &self.cats_pe {
            None => None,
            Some(pe) => {
                if fwd_core::service::config::parse_sid_prefix(&pe.sid).is_none() {
                    return Err(bad(
                        "cats_pe.sid",
                        "an IPv6 /96 SID block with zero argument bits",
                        format!("{:?}", pe.sid),
                    ));
                }
                let Some(file_service) = &cfg.tables.service else {
                    return Err(bad(
                        "cats_pe",
                        "a [tables.service] section with this node's SIDs and instances",
                        "none".into(),
                    ));
                };
                static_keys.push((
                    Key::CatsPe(self.name.clone()).path(),
                    format!("{},{}", pe.id, pe.sid),
                ));
                Some(service_context(self, file_service, cfg, aggregation, file)?)
            }
        };
        let token_mode = cfg.tables.srou.as_ref().map(|s| s.token_mode);
        if let Some(adj) = &self.dyncast_adjacency {
            if cfg.tables.dyncast.is_none() {
                return Err(bad(
                    "dyncast_adjacency",
                    "a [tables.dyncast] section (source RLOCs) to add etcd's mappings to",
                    "none".into(),
                ));
            }
            if !cfg.adjacency.iter().any(|a| &a.name == adj) {
                return Err(bad(
                    "dyncast_adjacency",
                    "the name of an [[adjacency]]",
                    format!("{adj:?}"),
                ));
            }
        }
        Ok(ControllerConfig {
            etcd: EtcdOptions {
                endpoints: self.endpoints.clone(),
                connect_timeout: Duration::from_millis(self.request_timeout_ms.min(2000)),
                request_timeout: Duration::from_millis(self.request_timeout_ms),
                tls,
            },
            node: NodeIdentity {
                role,
                name: self.name.clone(),
                site: self.site,
                location: self.location.map(|[a, b]| (a, b)),
                locators,
            },
            lease_ttl: Duration::from_secs(self.lease_ttl_s),
            static_keys,
            links,
            stats_interval: Duration::from_millis(self.stats_interval_ms.max(100)),
            sync: SyncOptions::default(),
            probes: None,
            overlay,
            service,
            token_mode,
            dyncast_adjacency: self.dyncast_adjacency.clone(),
            // Reverse paths need the path segment's P-flag bit from the file.
            reverse_paths: cfg
                .tables
                .stamp
                .as_ref()
                .is_some_and(|s| s.p_flag.is_some()),
        })
    }
}

/// The file's `[tables.mpls]` with the compiled entries laid over it: the compiled LFIB,
/// anycast segments and V-LFIBs, plus the file's own LFIB entries for labels the
/// compilation does not use (static routes), its swap blocks and its SRGB.
pub fn merge_mpls(base: Option<&MplsConfig>, compiled: MplsConfig) -> MplsConfig {
    let Some(base) = base else {
        return compiled;
    };
    let mut out = compiled;
    out.srgb = base.srgb.or(out.srgb);
    for e in &base.lfib {
        if !out.lfib.iter().any(|c| c.label == e.label) {
            out.lfib.push(e.clone());
        }
    }
    out.swap_block.extend(base.swap_block.iter().cloned());
    out
}

/// The CATS compilation context from the file's `[tables.service]`: its SIDs, source and
/// sizing, and its instances (the RIBs come from etcd).
fn service_context(
    section: &ControlSection,
    svc: &fwd_core::service::ServiceConfig,
    cfg: &Config,
    aggregation: ctrl_plane::cats::Aggregation,
    file: &Path,
) -> Result<ServiceContext, ConfigError> {
    let bad = |field: String, expected: &str, got: String| ConfigError::Invalid {
        file: file.to_path_buf(),
        field,
        expected: expected.to_string(),
        got,
    };
    let mut settings = ServiceNode::new(0);
    settings.source = match &svc.source {
        Some(s) => Some(
            s.parse()
                .map_err(|_| bad("tables.service.source".into(), "an IPv6 address", s.clone()))?,
        ),
        None => None,
    };
    settings.hop_limit = svc.hop_limit;
    settings.flow_capacity = svc.flow_capacity;
    settings.flow_idle_ms = svc.flow_idle_ms;
    for (i, s) in svc.sid.iter().enumerate() {
        let prefix = fwd_core::service::config::parse_sid_prefix(&s.prefix).ok_or_else(|| {
            bad(
                format!("tables.service.sid[{i}].prefix"),
                "an IPv6 /96 SID block",
                s.prefix.clone(),
            )
        })?;
        settings.sids.push(LocalSid {
            prefix,
            behavior: s.behavior,
        });
    }
    let mut instances = Vec::new();
    for (i, inst) in svc.instance.iter().enumerate() {
        let address = match &inst.address {
            Some(a) => Some(a.parse().map_err(|_| {
                bad(
                    format!("tables.service.instance[{i}].address"),
                    "an IPv6 address",
                    a.clone(),
                )
            })?),
            None => None,
        };
        instances.push(LocalInstance {
            id: inst.id,
            adjacency: inst.adjacency.clone(),
            address,
        });
    }
    Ok(ServiceContext {
        node: section.name.clone(),
        settings,
        instances,
        aggregation: ctrl_plane::cats::AggregationPolicy::new(aggregation),
        adjacencies: cfg.adjacency.iter().map(|a| a.name.clone()).collect(),
    })
}

/// The file's SRoU token lists with the compiled ones added (the file's mode stays).
pub fn merge_tokens(tables: &mut crate::config::TablesConfig, tokens: TokenFields) {
    if let Some(srou) = tables.srou.as_mut() {
        for t in tokens.permit {
            if !srou.permit.contains(&t) {
                srou.permit.push(t);
            }
        }
        for t in tokens.block {
            if !srou.block.contains(&t) {
                srou.block.push(t);
            }
        }
    }
}

/// Lays route-control rules over the tables (after the overlay routes, so a rule replaces
/// an EVPN route for the same destination); what cannot go in is logged.
pub fn merge_control(
    tables: &mut crate::config::TablesConfig,
    control: &ctrl_plane::compile::srou::CompiledControl,
) {
    if let (Some(srou), Some(overlay)) = (tables.srou.as_mut(), tables.overlay.as_mut()) {
        for (key, why) in control.merge_into(srou, overlay) {
            tracing::warn!(rule = ?key, reason = ?why, "route-control rule left out");
        }
    }
}

/// etcd's dynamic-anycast mappings over the file's: an EID etcd maps replaces the file's
/// mapping of the same EID.
pub fn merge_dyncast(
    tables: &mut crate::config::TablesConfig,
    mappings: Vec<fwd_core::dyncast::config::MappingConfig>,
) {
    if let Some(d) = tables.dyncast.as_mut() {
        d.mapping
            .retain(|m| !mappings.iter().any(|e| e.dseid == m.dseid));
        d.mapping.extend(mappings);
    }
}

/// etcd's STAMP reverse paths over the file's: a path segment etcd maps replaces the
/// file's entry for it.
pub fn merge_reverse_paths(
    tables: &mut crate::config::TablesConfig,
    paths: Vec<fwd_core::stamp::config::ReversePathConfig>,
) {
    if let Some(s) = tables.stamp.as_mut() {
        s.reverse_path
            .retain(|r| !paths.iter().any(|p| p.path_segment == r.path_segment));
        s.reverse_path.extend(paths);
    }
}

/// Lays compiled overlay routes and their SRoU policies over the file's tables (its VRFs,
/// locators, next hops and own policies stay).
pub fn merge_overlay(tables: &mut crate::config::TablesConfig, compiled: OverlayCompiled) {
    if let (Some(srou), Some(overlay)) = (tables.srou.as_mut(), tables.overlay.as_mut()) {
        srou.policies.extend(compiled.policies);
        overlay.route5.extend(compiled.overlay.route5);
        overlay.route2.extend(compiled.overlay.route2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(extra: &str) -> Result<ControllerConfig, String> {
        let text = format!(
            r#"
[[port]]
name = "p0"
device = "net_null0"
[[adjacency]]
name = "b"
port = "p0"
dst_mac = "02:00:00:00:00:02"
[tables.mpls]
srgb = {{ base = 16000, size = 8000 }}
[control]
name = "a"
endpoints = ["127.0.0.1:2379"]
locators = ["a/1/10.0.0.1:8811/10.0.0.1:8811/p0/1000/1000"]
{extra}
"#
        );
        let f = Path::new("ctl.toml");
        let cfg = Config::from_str_named(&text, f).map_err(|e| e.to_string())?;
        cfg.control
            .as_ref()
            .expect("[control]")
            .controller_config(&cfg, f)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_good_section_gives_static_keys_and_links() {
        let c = load("prefix_sid = 1\nanycast = [{ group = \"A\", index = 100 }]\n[[control.link]]\nneighbor = \"b\"\nmetric = 5\n").unwrap();
        assert_eq!(
            c.static_keys,
            vec![
                ("/srgb/a".to_string(), "16000,8000".to_string()),
                ("/sid/prefix/a".to_string(), "1".to_string()),
                ("/sid/anycast/A/a".to_string(), "100".to_string()),
            ]
        );
        assert_eq!(c.links[0].metric, 5);
        assert_eq!(c.node.role, Role::Fabric);
    }

    #[test]
    fn bad_sections_name_file_field_and_expectation() {
        for (extra, field) in [
            ("role = \"router\"", "control.role"),
            ("prefix_sid = 9000", "control.prefix_sid"),
            ("lease_ttl_s = 0", "control.lease_ttl_s"),
            (
                "[[control.link]]\nneighbor = \"zz\"",
                "control.link[0].neighbor",
            ),
            (
                "anycast = [{ group = \"A\", index = 2000000 }]",
                "control.anycast[0].index",
            ),
        ] {
            let e = load(extra).expect_err(extra);
            assert!(e.contains("ctl.toml") && e.contains(field), "{extra}: {e}");
        }
    }
}
