//! The `[tables.service]` section of srgate's configuration: this node's computing SIDs,
//! the egress PEs and local instances, and the Global and Local FIBs (seed 001's figure 3),
//! read by serde (unknown fields are errors) and turned into [`ServiceTables`] by
//! [`ServiceConfig::build`], whose errors name the field, what was expected and what was
//! found. Adjacencies are named `[[adjacency]]` entries, resolved by the caller.
//!
//! ```toml
//! [tables.service]
//! source = "fc00:0:1::1"          # outer source of END.CG encapsulation (needed with remote PEs)
//! hop_limit = 64                  # outer hop limit (1..=255)
//! flow_capacity = 65536           # affinity entries per worker
//! flow_idle_ms = 30000            # a flow idle this long chooses again
//!
//! [[tables.service.sid]]          # computing SIDs: /96 blocks, the service ID is the argument
//! prefix = "fc00:0:1:c6::/96"
//! behavior = "end.cg"             # end.cg | end.cl | end.c (flat)
//! [[tables.service.sid]]
//! prefix = "fc00:0:1:c1::/96"
//! behavior = "end.cl"
//!
//! [[tables.service.pe]]           # egress PEs of the Global FIB
//! id = 1
//! local = true                    # this node: END.CG hands over to the Local FIB
//! [[tables.service.pe]]
//! id = 4
//! sid = "fc00:0:4:c1::/96"        # its END.CL SID (END.C in a flat deployment)
//! adjacency = "to-pe4"
//! policy = ["fc00:0:2::e"]        # optional: segments before its SID, first hop first
//! # up = false                    # withdrawn
//!
//! [[tables.service.instance]]     # local instances of the Local FIB
//! id = 11
//! adjacency = "inst-1-1"
//! address = "2001:db8:1::11"      # optional: destination rewritten to it
//! # up = false                    # failed
//!
//! [[tables.service.global]]       # Global FIB: service -> PEs with metrics
//! service = 1
//! pes = [{ pe = 4, metric = 20 }, { pe = 1, metric = 25 }]
//!
//! [[tables.service.local]]        # Local FIB: service -> instances with metrics
//! service = 1
//! instances = [{ instance = 11, metric = 25 }]
//! ```

use core::net::Ipv6Addr;
use std::collections::BTreeMap;

use serde::Deserialize;

use super::fib::{
    FibError, GlobalFib, Instance, LocalFib, Pe, PeNextHop, Policy, MAX_CANDIDATES,
    MAX_POLICY_SEGMENTS,
};
use super::sid::{Behavior, SidPrefix, MAX_LOCAL_SIDS, SID_PREFIX_LEN};
use super::{FlowParams, ServiceTables, DEFAULT_HOP_LIMIT};
use crate::adjacency::Adjacency;

/// Where the section sits in srgate's configuration (the root of every field path).
pub const SECTION: &str = "tables.service";
/// Largest `flow_capacity`.
pub const MAX_FLOW_CAPACITY: usize = 1 << 28;

/// A value of `[tables.service]` that cannot be built: the field, what was expected, what
/// was found (the caller adds the file name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: expected {expected}, got {got}")]
pub struct ServiceConfigError {
    /// Dotted path of the field, e.g. `tables.service.global[0].pes[1].pe`.
    pub field: String,
    /// What was expected.
    pub expected: String,
    /// What was found.
    pub got: String,
}

fn err(field: &str, expected: impl Into<String>, got: impl ToString) -> ServiceConfigError {
    ServiceConfigError {
        field: field.to_string(),
        expected: expected.into(),
        got: got.to_string(),
    }
}

/// `[tables.service]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// Outer source address of END.CG encapsulation.
    pub source: Option<String>,
    /// Outer hop limit (default 64).
    #[serde(default = "default_hop_limit")]
    pub hop_limit: u8,
    /// Affinity entries per worker (default 65536).
    #[serde(default = "default_flow_capacity")]
    pub flow_capacity: usize,
    /// Idle time before a flow chooses again, ms (default 30000).
    #[serde(default = "default_flow_idle_ms")]
    pub flow_idle_ms: u64,
    /// `[[tables.service.sid]]`.
    #[serde(default)]
    pub sid: Vec<SidConfig>,
    /// `[[tables.service.pe]]`.
    #[serde(default)]
    pub pe: Vec<PeConfig>,
    /// `[[tables.service.instance]]`.
    #[serde(default)]
    pub instance: Vec<InstanceConfig>,
    /// `[[tables.service.global]]`.
    #[serde(default)]
    pub global: Vec<GlobalEntryConfig>,
    /// `[[tables.service.local]]`.
    #[serde(default)]
    pub local: Vec<LocalEntryConfig>,
}

fn default_hop_limit() -> u8 {
    DEFAULT_HOP_LIMIT
}
fn default_flow_capacity() -> usize {
    FlowParams::default().capacity
}
fn default_flow_idle_ms() -> u64 {
    FlowParams::default().idle_ms
}
fn default_up() -> bool {
    true
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            source: None,
            hop_limit: DEFAULT_HOP_LIMIT,
            flow_capacity: default_flow_capacity(),
            flow_idle_ms: default_flow_idle_ms(),
            sid: Vec::new(),
            pe: Vec::new(),
            instance: Vec::new(),
            global: Vec::new(),
            local: Vec::new(),
        }
    }
}

/// `behavior = "..."` of a SID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum BehaviorConfig {
    /// END.CG.
    #[serde(rename = "end.cg")]
    EndCg,
    /// END.CL.
    #[serde(rename = "end.cl")]
    EndCl,
    /// END.C (flat).
    #[serde(rename = "end.c")]
    EndC,
}

impl From<BehaviorConfig> for Behavior {
    fn from(b: BehaviorConfig) -> Behavior {
        match b {
            BehaviorConfig::EndCg => Behavior::EndCg,
            BehaviorConfig::EndCl => Behavior::EndCl,
            BehaviorConfig::EndC => Behavior::EndC,
        }
    }
}

/// One `[[tables.service.sid]]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SidConfig {
    /// `addr/96`, argument bits zero.
    pub prefix: String,
    /// The behaviour.
    pub behavior: BehaviorConfig,
}

/// One `[[tables.service.pe]]`: `local = true`, or a `sid` and an `adjacency`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeConfig {
    /// Stable ID.
    pub id: u32,
    /// This node.
    #[serde(default)]
    pub local: bool,
    /// The PE's END.CL (or END.C) SID block, `addr/96`.
    pub sid: Option<String>,
    /// The adjacency towards it.
    pub adjacency: Option<String>,
    /// Segments before its SID, first hop first (at most 4).
    #[serde(default)]
    pub policy: Vec<String>,
    /// False: never chosen.
    #[serde(default = "default_up")]
    pub up: bool,
}

/// One `[[tables.service.instance]]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceConfig {
    /// Stable ID.
    pub id: u32,
    /// The adjacency (interface and MAC) the instance is behind.
    pub adjacency: String,
    /// Optional address the destination is rewritten to.
    pub address: Option<String>,
    /// False: failed.
    #[serde(default = "default_up")]
    pub up: bool,
}

/// One `[[tables.service.global]]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalEntryConfig {
    /// Service ID.
    pub service: u32,
    /// PEs offering it.
    pub pes: Vec<PeMetricConfig>,
}

/// `{ pe, metric }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeMetricConfig {
    /// A PE ID.
    pub pe: u32,
    /// Its (aggregated) metric, lower is better.
    pub metric: u32,
}

/// One `[[tables.service.local]]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalEntryConfig {
    /// Service ID.
    pub service: u32,
    /// Instances offering it here.
    pub instances: Vec<InstanceMetricConfig>,
}

/// `{ instance, metric }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceMetricConfig {
    /// An instance ID.
    pub instance: u32,
    /// Its metric, lower is better.
    pub metric: u32,
}

/// Where the bulk ranges sit in srgate's configuration: a section of its own next to
/// `[tables.service]`, whose PEs and instances they name.
pub const RANGE_SECTION: &str = "tables.service_range";
/// Most services one range may hold.
pub const MAX_RANGE_SERVICES: u32 = 1 << 24;

/// `[tables.service_range]`: FIB entries in bulk, for tables of a million services that a
/// TOML table per service would take half a minute and gigabytes to read. Each range
/// gives `count` consecutive service IDs from `first` the same candidates; the FIBs get
/// one entry per service exactly as if each had been listed in `[[tables.service.global]]`
/// / `[[tables.service.local]]` (the ranges are merged into those, and may not overlap
/// them or each other).
///
/// ```toml
/// [[tables.service_range.global]]   # services 1..=1000000 at PEs 2 and 3
/// first = 1
/// count = 1000000
/// pes = [{ pe = 2, metric = 10 }, { pe = 3, metric = 10 }]
///
/// [[tables.service_range.local]]
/// first = 1
/// count = 1000000
/// instances = [{ instance = 11, metric = 5 }, { instance = 12, metric = 5 }]
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceRangeConfig {
    /// `[[tables.service_range.global]]`.
    #[serde(default)]
    pub global: Vec<GlobalRangeConfig>,
    /// `[[tables.service_range.local]]`.
    #[serde(default)]
    pub local: Vec<LocalRangeConfig>,
}

/// One `[[tables.service_range.global]]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalRangeConfig {
    /// First service ID.
    pub first: u32,
    /// Number of consecutive service IDs (1..=[`MAX_RANGE_SERVICES`]).
    pub count: u32,
    /// PEs offering every service of the range.
    pub pes: Vec<PeMetricConfig>,
}

/// One `[[tables.service_range.local]]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalRangeConfig {
    /// First service ID.
    pub first: u32,
    /// Number of consecutive service IDs (1..=[`MAX_RANGE_SERVICES`]).
    pub count: u32,
    /// Instances offering every service of the range here.
    pub instances: Vec<InstanceMetricConfig>,
}

/// Checks the ranges of one FIB: sizes, no overlap with each other nor with the
/// explicitly listed services (`listed`: service -> index of its entry in `list`).
fn check_ranges(
    kind: &str,
    list: &str,
    ranges: &[(u32, u32)],
    listed: &BTreeMap<u32, usize>,
) -> Result<(), ServiceConfigError> {
    let mut spans: BTreeMap<u32, (u32, usize)> = BTreeMap::new();
    for (i, &(first, count)) in ranges.iter().enumerate() {
        let at = format!("{RANGE_SECTION}.{kind}[{i}]");
        if count == 0 || count > MAX_RANGE_SERVICES {
            return Err(err(
                &format!("{at}.count"),
                format!("1..={MAX_RANGE_SERVICES} services"),
                count,
            ));
        }
        let last = first.checked_add(count - 1).ok_or_else(|| {
            err(
                &format!("{at}.count"),
                format!("a range ending at most at service {}", u32::MAX),
                format!("{count} services from {first}"),
            )
        })?;
        if let Some((s, j)) = listed.range(first..=last).next() {
            return Err(err(
                &at,
                format!("services not already listed ({list}[{j}] lists service {s})"),
                format!("services {first}..={last}"),
            ));
        }
        let before = spans.range(..=last).next_back();
        if let Some((&f, &(l, j))) = before.filter(|(_, (l, _))| *l >= first) {
            return Err(err(
                &at,
                format!("a range not overlapping {RANGE_SECTION}.{kind}[{j}] ({f}..={l})"),
                format!("services {first}..={last}"),
            ));
        }
        spans.insert(first, (last, i));
    }
    Ok(())
}

/// Parses `addr/96` with a zero argument.
pub fn parse_sid_prefix(s: &str) -> Option<SidPrefix> {
    let (a, len) = s.split_once('/')?;
    if len != SID_PREFIX_LEN.to_string() {
        return None;
    }
    let addr: Ipv6Addr = a.parse().ok()?;
    let (p, arg) = SidPrefix::split(&addr.octets());
    (arg == 0).then_some(p)
}

fn sid_field(field: &str, s: &str) -> Result<SidPrefix, ServiceConfigError> {
    parse_sid_prefix(s).ok_or_else(|| {
        err(
            field,
            "an IPv6 /96 SID block with zero argument bits, e.g. \"fc00:0:4:c1::/96\"",
            format!("{s:?}"),
        )
    })
}

fn v6_field(field: &str, s: &str) -> Result<Ipv6Addr, ServiceConfigError> {
    s.parse()
        .map_err(|_| err(field, "an IPv6 address", format!("{s:?}")))
}

fn adjacency_field(
    field: &str,
    name: &str,
    resolve: &impl Fn(&str) -> Option<Adjacency>,
) -> Result<Adjacency, ServiceConfigError> {
    resolve(name).ok_or_else(|| err(field, "the name of an [[adjacency]]", format!("`{name}`")))
}

fn fib_err(field: &str, e: FibError) -> ServiceConfigError {
    err(field, "a valid FIB", e)
}

impl ServiceConfig {
    /// True when no computing SID is configured.
    pub fn is_empty(&self) -> bool {
        self.sid.is_empty()
    }

    /// Builds the tables, resolving adjacency names with `resolve`.
    pub fn build(
        &self,
        resolve: impl Fn(&str) -> Option<Adjacency>,
    ) -> Result<ServiceTables, ServiceConfigError> {
        self.build_with_ranges(&ServiceRangeConfig::default(), resolve)
    }

    /// Builds the tables with the bulk entries of `ranges` merged into the FIBs
    /// ([`ServiceRangeConfig`]), resolving adjacency names with `resolve`.
    pub fn build_with_ranges(
        &self,
        ranges: &ServiceRangeConfig,
        resolve: impl Fn(&str) -> Option<Adjacency>,
    ) -> Result<ServiceTables, ServiceConfigError> {
        let mut b = ServiceTables::builder();
        if self.hop_limit == 0 {
            return Err(err(&format!("{SECTION}.hop_limit"), "1..=255", 0));
        }
        b.hop_limit(self.hop_limit);
        if self.flow_capacity == 0 || self.flow_capacity > MAX_FLOW_CAPACITY {
            return Err(err(
                &format!("{SECTION}.flow_capacity"),
                format!("1..={MAX_FLOW_CAPACITY}"),
                self.flow_capacity,
            ));
        }
        if self.flow_idle_ms == 0 {
            return Err(err(
                &format!("{SECTION}.flow_idle_ms"),
                "at least 1 (milliseconds)",
                0,
            ));
        }
        b.flows(FlowParams {
            capacity: self.flow_capacity,
            idle_ms: self.flow_idle_ms,
        });
        if let Some(s) = &self.source {
            let f = format!("{SECTION}.source");
            let a = v6_field(&f, s)?;
            if a.is_unspecified() || a.is_multicast() {
                return Err(err(&f, "a unicast IPv6 address", format!("{s:?}")));
            }
            b.source(a);
        }

        if self.sid.len() > MAX_LOCAL_SIDS {
            return Err(err(
                &format!("{SECTION}.sid"),
                format!("at most {MAX_LOCAL_SIDS} computing SIDs"),
                self.sid.len(),
            ));
        }
        let mut blocks: BTreeMap<SidPrefix, String> = BTreeMap::new();
        for (i, s) in self.sid.iter().enumerate() {
            let f = format!("{SECTION}.sid[{i}].prefix");
            let p = sid_field(&f, &s.prefix)?;
            if let Some(other) = blocks.insert(p, f.clone()) {
                return Err(err(
                    &f,
                    format!("a SID block not already used by `{other}`"),
                    format!("{:?}", s.prefix),
                ));
            }
            b.sid(p, s.behavior.into())
                .map_err(|e| err(&f, "a valid SID", e))?;
        }

        let mut g = GlobalFib::builder();
        let mut pe_at: BTreeMap<u32, usize> = BTreeMap::new();
        let mut local_pe: Option<usize> = None;
        let mut remote = None;
        for (i, p) in self.pe.iter().enumerate() {
            let at = format!("{SECTION}.pe[{i}]");
            if let Some(j) = pe_at.insert(p.id, i) {
                return Err(err(
                    &format!("{at}.id"),
                    format!("an ID not already used by {SECTION}.pe[{j}]"),
                    p.id,
                ));
            }
            let next_hop = if p.local {
                if p.sid.is_some() || p.adjacency.is_some() || !p.policy.is_empty() {
                    return Err(err(
                        &at,
                        "no sid, adjacency or policy on the local PE (`local = true`)",
                        "some",
                    ));
                }
                if let Some(j) = local_pe.replace(i) {
                    return Err(err(
                        &format!("{at}.local"),
                        format!("one local PE only ({SECTION}.pe[{j}] is local)"),
                        true,
                    ));
                }
                PeNextHop::Local
            } else {
                let (Some(sid), Some(adj)) = (&p.sid, &p.adjacency) else {
                    return Err(err(
                        &at,
                        "both `sid` and `adjacency` (or `local = true`)",
                        match (&p.sid, &p.adjacency) {
                            (None, None) => "neither",
                            (None, _) => "no sid",
                            _ => "no adjacency",
                        },
                    ));
                };
                let sid = sid_field(&format!("{at}.sid"), sid)?;
                let adjacency = adjacency_field(&format!("{at}.adjacency"), adj, &resolve)?;
                if p.policy.len() > MAX_POLICY_SEGMENTS {
                    return Err(err(
                        &format!("{at}.policy"),
                        format!("at most {MAX_POLICY_SEGMENTS} segments"),
                        p.policy.len(),
                    ));
                }
                let mut segs = Vec::with_capacity(p.policy.len());
                for (k, s) in p.policy.iter().enumerate() {
                    segs.push(v6_field(&format!("{at}.policy[{k}]"), s)?);
                }
                remote.get_or_insert(i);
                PeNextHop::Remote {
                    sid,
                    adjacency,
                    policy: Policy::new(&segs).unwrap_or_default(),
                }
            };
            g.target(Pe {
                id: p.id,
                up: p.up,
                next_hop,
            })
            .map_err(|e| fib_err(&at, e))?;
        }
        if let (Some(i), None) = (remote, &self.source) {
            return Err(err(
                &format!("{SECTION}.source"),
                format!("an encapsulation source address ({SECTION}.pe[{i}] is a remote PE)"),
                "none",
            ));
        }

        let mut l = LocalFib::builder();
        let mut inst_at: BTreeMap<u32, usize> = BTreeMap::new();
        for (i, x) in self.instance.iter().enumerate() {
            let at = format!("{SECTION}.instance[{i}]");
            if let Some(j) = inst_at.insert(x.id, i) {
                return Err(err(
                    &format!("{at}.id"),
                    format!("an ID not already used by {SECTION}.instance[{j}]"),
                    x.id,
                ));
            }
            let adjacency = adjacency_field(&format!("{at}.adjacency"), &x.adjacency, &resolve)?;
            let address = match &x.address {
                Some(a) => Some(v6_field(&format!("{at}.address"), a)?),
                None => None,
            };
            l.target(Instance {
                id: x.id,
                up: x.up,
                adjacency,
                address,
            })
            .map_err(|e| fib_err(&at, e))?;
        }

        let mut seen: BTreeMap<u32, usize> = BTreeMap::new();
        for (i, e) in self.global.iter().enumerate() {
            let at = format!("{SECTION}.global[{i}]");
            if let Some(j) = seen.insert(e.service, i) {
                return Err(err(
                    &format!("{at}.service"),
                    format!("a service not already listed by {SECTION}.global[{j}]"),
                    e.service,
                ));
            }
            check_candidates(&at, PES, e.pes.iter().map(|p| p.pe), &pe_at)?;
            for (k, p) in e.pes.iter().enumerate() {
                let f = format!("{at}.pes[{k}].pe");
                g.route(e.service, p.pe, p.metric)
                    .map_err(|x| fib_err(&f, x))?;
            }
        }
        let spans: Vec<(u32, u32)> = ranges.global.iter().map(|r| (r.first, r.count)).collect();
        check_ranges("global", &format!("{SECTION}.global"), &spans, &seen)?;
        for (i, r) in ranges.global.iter().enumerate() {
            let at = format!("{RANGE_SECTION}.global[{i}]");
            check_candidates(&at, PES, r.pes.iter().map(|p| p.pe), &pe_at)?;
            // check_ranges bounded first + count - 1 within u32.
            for service in r.first..=r.first + (r.count - 1) {
                for p in &r.pes {
                    g.route(service, p.pe, p.metric)
                        .map_err(|x| fib_err(&at, x))?;
                }
            }
        }
        let mut seen: BTreeMap<u32, usize> = BTreeMap::new();
        for (i, e) in self.local.iter().enumerate() {
            let at = format!("{SECTION}.local[{i}]");
            if let Some(j) = seen.insert(e.service, i) {
                return Err(err(
                    &format!("{at}.service"),
                    format!("a service not already listed by {SECTION}.local[{j}]"),
                    e.service,
                ));
            }
            check_candidates(
                &at,
                INSTANCES,
                e.instances.iter().map(|x| x.instance),
                &inst_at,
            )?;
            for (k, x) in e.instances.iter().enumerate() {
                let f = format!("{at}.instances[{k}].instance");
                l.route(e.service, x.instance, x.metric)
                    .map_err(|y| fib_err(&f, y))?;
            }
        }
        let spans: Vec<(u32, u32)> = ranges.local.iter().map(|r| (r.first, r.count)).collect();
        check_ranges("local", &format!("{SECTION}.local"), &spans, &seen)?;
        for (i, r) in ranges.local.iter().enumerate() {
            let at = format!("{RANGE_SECTION}.local[{i}]");
            check_candidates(
                &at,
                INSTANCES,
                r.instances.iter().map(|x| x.instance),
                &inst_at,
            )?;
            for service in r.first..=r.first + (r.count - 1) {
                for x in &r.instances {
                    l.route(service, x.instance, x.metric)
                        .map_err(|y| fib_err(&at, y))?;
                }
            }
        }
        b.global(g.freeze().map_err(|e| fib_err(SECTION, e))?);
        b.local(l.freeze().map_err(|e| fib_err(SECTION, e))?);
        b.build()
            .map_err(|e| err(SECTION, "consistent service tables", e))
    }
}

/// How a FIB entry's candidate list is spelled in the config and named in errors.
struct CandidateList {
    /// The list's field (`pes`).
    list: &'static str,
    /// Each item's ID field, also the table defining the IDs (`pe`: `[[tables.service.pe]]`).
    key: &'static str,
    /// One item, with its article (`a PE`).
    one: &'static str,
    /// Several items (`PEs`).
    many: &'static str,
}

const PES: CandidateList = CandidateList {
    list: "pes",
    key: "pe",
    one: "a PE",
    many: "PEs",
};

const INSTANCES: CandidateList = CandidateList {
    list: "instances",
    key: "instance",
    one: "an instance",
    many: "instances",
};

/// Checks the candidate list `{at}.{list}` of a FIB entry: 1..=MAX_CANDIDATES items, each
/// naming an ID defined in `known` (ID -> position of its definition), none twice.
fn check_candidates(
    at: &str,
    kind: CandidateList,
    ids: impl ExactSizeIterator<Item = u32>,
    known: &BTreeMap<u32, usize>,
) -> Result<(), ServiceConfigError> {
    let CandidateList {
        list,
        key,
        one,
        many,
    } = kind;
    check_count(&format!("{at}.{list}"), ids.len(), many)?;
    let mut seen = BTreeMap::new();
    for (k, id) in ids.enumerate() {
        let f = format!("{at}.{list}[{k}].{key}");
        if !known.contains_key(&id) {
            return Err(err(&f, format!("the id of a [[tables.service.{key}]]"), id));
        }
        if let Some(m) = seen.insert(id, k) {
            return Err(err(&f, format!("{one} not already in {list}[{m}]"), id));
        }
    }
    Ok(())
}

fn check_count(field: &str, n: usize, what: &str) -> Result<(), ServiceConfigError> {
    if n == 0 || n > MAX_CANDIDATES {
        return Err(err(
            field,
            format!("1..={MAX_CANDIDATES} {what}"),
            format!("{n} {what}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::value::{Error as DeError, MapDeserializer, StrDeserializer};

    fn resolve(name: &str) -> Option<Adjacency> {
        let port = match name {
            "to-pe4" => 4,
            "inst-1-1" => 11,
            "inst-1-2" => 12,
            _ => return None,
        };
        Some(Adjacency {
            port,
            ..Adjacency::default()
        })
    }

    /// PE 1 of the seed's figure 6.
    fn pe1() -> ServiceConfig {
        ServiceConfig {
            source: Some("fc00:0:1::1".into()),
            sid: vec![
                SidConfig {
                    prefix: "fc00:0:1:c6::/96".into(),
                    behavior: BehaviorConfig::EndCg,
                },
                SidConfig {
                    prefix: "fc00:0:1:c1::/96".into(),
                    behavior: BehaviorConfig::EndCl,
                },
            ],
            pe: vec![
                PeConfig {
                    id: 1,
                    local: true,
                    sid: None,
                    adjacency: None,
                    policy: vec![],
                    up: true,
                },
                PeConfig {
                    id: 4,
                    local: false,
                    sid: Some("fc00:0:4:c1::/96".into()),
                    adjacency: Some("to-pe4".into()),
                    policy: vec!["fc00:0:2::e".into()],
                    up: true,
                },
            ],
            instance: vec![
                InstanceConfig {
                    id: 11,
                    adjacency: "inst-1-1".into(),
                    address: Some("2001:db8:1::11".into()),
                    up: true,
                },
                InstanceConfig {
                    id: 12,
                    adjacency: "inst-1-2".into(),
                    address: None,
                    up: false,
                },
            ],
            global: vec![GlobalEntryConfig {
                service: 1,
                pes: vec![
                    PeMetricConfig { pe: 4, metric: 20 },
                    PeMetricConfig { pe: 1, metric: 25 },
                ],
            }],
            local: vec![LocalEntryConfig {
                service: 1,
                instances: vec![
                    InstanceMetricConfig {
                        instance: 11,
                        metric: 25,
                    },
                    InstanceMetricConfig {
                        instance: 12,
                        metric: 30,
                    },
                ],
            }],
            ..ServiceConfig::default()
        }
    }

    fn build_err(c: &ServiceConfig) -> String {
        c.build(resolve).unwrap_err().to_string()
    }

    #[test]
    fn builds_pe1() {
        let t = pe1().build(resolve).unwrap();
        assert_eq!(t.sids().len(), 2);
        assert_eq!(t.source(), "fc00:0:1::1".parse::<Ipv6Addr>().unwrap());
        let g = t.global().candidates(1).unwrap();
        let (m, pe) = t.global().best(g, 0).unwrap();
        assert_eq!((m, pe.id), (20, 4));
        let PeNextHop::Remote {
            sid,
            adjacency,
            policy,
        } = pe.next_hop
        else {
            panic!("remote")
        };
        assert_eq!(sid.to_string(), "fc00:0:4:c1::/96");
        assert_eq!(adjacency.port, 4);
        assert_eq!(policy.segments().len(), 1);
        let l = t.local().candidates(1).unwrap();
        assert_eq!(t.local().best(l, 0).unwrap().1.id, 11);
        assert_eq!(t.local().live(l, 12), None, "configured down");
        assert_eq!(
            t.flow_params(),
            FlowParams {
                capacity: 65536,
                idle_ms: 30000
            }
        );
        assert!(ServiceConfig::default().build(resolve).unwrap().is_empty());
        assert!(ServiceConfig::default().is_empty());
    }

    #[test]
    fn errors_name_the_field() {
        let mut c = pe1();
        c.sid[1].prefix = "fc00:0:1:c1::5/96".into();
        assert_eq!(
            build_err(&c),
            "field `tables.service.sid[1].prefix`: expected an IPv6 /96 SID block with zero \
             argument bits, e.g. \"fc00:0:4:c1::/96\", got \"fc00:0:1:c1::5/96\""
        );
        c.sid[1].prefix = "fc00:0:1:c1::/64".into();
        assert!(build_err(&c).starts_with("field `tables.service.sid[1].prefix`"));
        c.sid[1].prefix = "fc00:0:1:c6::/96".into();
        assert!(build_err(&c).contains("not already used by `tables.service.sid[0].prefix`"));

        let mut c = pe1();
        c.source = None;
        assert_eq!(
            build_err(&c),
            "field `tables.service.source`: expected an encapsulation source address \
             (tables.service.pe[1] is a remote PE), got none"
        );
        c.source = Some("ff02::1".into());
        assert!(build_err(&c).contains("a unicast IPv6 address"));
        c.source = Some("10.0.0.1".into());
        assert!(build_err(&c).contains("expected an IPv6 address, got \"10.0.0.1\""));

        let mut c = pe1();
        c.pe[1].adjacency = Some("nowhere".into());
        assert_eq!(
            build_err(&c),
            "field `tables.service.pe[1].adjacency`: expected the name of an [[adjacency]], \
             got `nowhere`"
        );
        c.pe[1].adjacency = None;
        assert_eq!(
            build_err(&c),
            "field `tables.service.pe[1]`: expected both `sid` and `adjacency` (or `local = \
             true`), got no adjacency"
        );
        let mut c = pe1();
        c.pe[1].policy = vec!["::1".into(); 5];
        assert!(
            build_err(&c).starts_with("field `tables.service.pe[1].policy`: expected at most 4")
        );
        c.pe[1].policy = vec!["x".into()];
        assert!(build_err(&c).starts_with("field `tables.service.pe[1].policy[0]`"));
        let mut c = pe1();
        c.pe[1].id = 1;
        assert!(build_err(&c).contains("pe[1].id`: expected an ID not already used by"));
        let mut c = pe1();
        c.pe[1] = c.pe[0].clone();
        c.pe[1].id = 9;
        assert!(build_err(&c).contains("one local PE only"));
        let mut c = pe1();
        c.pe[0].sid = Some("fc00::/96".into());
        assert!(build_err(&c).starts_with("field `tables.service.pe[0]`: expected no sid"));

        let mut c = pe1();
        c.global[0].pes[1].pe = 7;
        assert_eq!(
            build_err(&c),
            "field `tables.service.global[0].pes[1].pe`: expected the id of a \
             [[tables.service.pe]], got 7"
        );
        c.global[0].pes[1].pe = 4;
        assert!(build_err(&c).contains("expected a PE not already in pes[0]"));
        c.global[0].pes.clear();
        assert_eq!(
            build_err(&c),
            "field `tables.service.global[0].pes`: expected 1..=32 PEs, got 0 PEs"
        );
        let mut c = pe1();
        c.global.push(c.global[0].clone());
        assert!(build_err(&c).contains("global[1].service`: expected a service not already"));

        let mut c = pe1();
        c.local[0].instances[0].instance = 99;
        assert_eq!(
            build_err(&c),
            "field `tables.service.local[0].instances[0].instance`: expected the id of a \
             [[tables.service.instance]], got 99"
        );
        let mut c = pe1();
        let first = c.local[0].instances[0];
        c.local[0].instances.push(first);
        assert!(build_err(&c).ends_with(
            "instances[2].instance`: expected an instance not already in instances[0], got 11"
        ));
        c.local[0].instances.clear();
        assert_eq!(
            build_err(&c),
            "field `tables.service.local[0].instances`: expected 1..=32 instances, got 0 instances"
        );
        let mut c = pe1();
        c.instance[1].id = 11;
        assert!(build_err(&c).contains("instance[1].id`"));
        let mut c = pe1();
        c.instance[0].address = Some("nope".into());
        assert!(build_err(&c).starts_with("field `tables.service.instance[0].address`"));

        let mut c = pe1();
        c.hop_limit = 0;
        assert_eq!(
            build_err(&c),
            "field `tables.service.hop_limit`: expected 1..=255, got 0"
        );
        let mut c = pe1();
        c.flow_capacity = 0;
        assert!(build_err(&c).starts_with("field `tables.service.flow_capacity`"));
        let mut c = pe1();
        c.flow_idle_ms = 0;
        assert!(build_err(&c).starts_with("field `tables.service.flow_idle_ms`"));
    }

    #[test]
    fn ranges_are_merged_and_checked() {
        let c = pe1();
        let pm = |pe, metric| PeMetricConfig { pe, metric };
        let im = |instance, metric| InstanceMetricConfig { instance, metric };
        let good = ServiceRangeConfig {
            global: vec![
                GlobalRangeConfig {
                    first: 100,
                    count: 1000,
                    pes: vec![pm(4, 7), pm(1, 9)],
                },
                GlobalRangeConfig {
                    first: u32::MAX - 1,
                    count: 2,
                    pes: vec![pm(1, 3)],
                },
            ],
            local: vec![LocalRangeConfig {
                first: 2,
                count: 5,
                instances: vec![im(11, 3)],
            }],
        };
        let t = c.build_with_ranges(&good, resolve).unwrap();
        assert_eq!(t.global().len(), 1 + 1000 + 2);
        assert_eq!(t.local().len(), 1 + 5);
        for s in [100, 555, 1099] {
            let cands = t.global().candidates(s).unwrap();
            assert_eq!(cands.len(), 2);
            assert_eq!(t.global().best(cands, s).unwrap().0, 7);
        }
        assert!(t.global().candidates(99).is_none());
        assert!(t.global().candidates(1100).is_none());
        assert_eq!(t.global().candidates(u32::MAX).unwrap().len(), 1);
        let one = t.local().candidates(1).unwrap();
        assert_eq!(
            t.local().best(one, 0).unwrap().1.id,
            11,
            "listed entry kept"
        );
        for s in 2..=6 {
            let cands = t.local().candidates(s).unwrap();
            assert_eq!(
                t.local().best(cands, 0).unwrap(),
                (3, &t.local().targets()[0])
            );
        }
        assert!(t.local().candidates(7).is_none());
        assert_eq!(
            c.build_with_ranges(&ServiceRangeConfig::default(), resolve)
                .unwrap()
                .global()
                .len(),
            c.build(resolve).unwrap().global().len()
        );

        let bad = |f: &dyn Fn(&mut ServiceRangeConfig)| {
            let mut r = good.clone();
            f(&mut r);
            c.build_with_ranges(&r, resolve).unwrap_err().to_string()
        };
        assert_eq!(
            bad(&|r| r.global[0].first = 0),
            "field `tables.service_range.global[0]`: expected services not already listed \
             (tables.service.global[0] lists service 1), got services 0..=999"
        );
        assert_eq!(
            bad(&|r| r.global[1].first = 1099),
            "field `tables.service_range.global[1]`: expected a range not overlapping \
             tables.service_range.global[0] (100..=1099), got services 1099..=1100"
        );
        assert!(bad(&|r| r.global[1].first = 99).contains("not overlapping"));
        assert_eq!(
            bad(&|r| r.global[0].count = 0),
            "field `tables.service_range.global[0].count`: expected 1..=16777216 services, \
             got 0"
        );
        assert!(bad(&|r| r.global[1].count = 3)
            .starts_with("field `tables.service_range.global[1].count`: expected a range ending"));
        assert_eq!(
            bad(&|r| r.global[0].pes[1].pe = 8),
            "field `tables.service_range.global[0].pes[1].pe`: expected the id of a \
             [[tables.service.pe]], got 8"
        );
        assert!(bad(&|r| r.global[0].pes[1].pe = 4).contains("a PE not already in pes[0]"));
        assert!(bad(&|r| r.global[0].pes.clear())
            .starts_with("field `tables.service_range.global[0].pes`: expected 1..=32 PEs"));
        assert!(
            bad(&|r| r.local[0].first = 1).contains("(tables.service.local[0] lists service 1)")
        );
        assert!(bad(&|r| r.local[0].instances[0].instance = 99)
            .starts_with("field `tables.service_range.local[0].instances[0].instance`"));
    }

    #[test]
    fn deserialization() {
        let ok = PeMetricConfig::deserialize(MapDeserializer::<_, DeError>::new(
            [("pe", 4u32), ("metric", 20)].into_iter(),
        ))
        .unwrap();
        assert_eq!(ok, PeMetricConfig { pe: 4, metric: 20 });
        let e = PeMetricConfig::deserialize(MapDeserializer::<_, DeError>::new(
            [("pe", 4u32), ("metirc", 20)].into_iter(),
        ))
        .unwrap_err();
        assert!(e.to_string().contains("unknown field `metirc`"), "{e}");
        for (s, b) in [
            ("end.cg", BehaviorConfig::EndCg),
            ("end.cl", BehaviorConfig::EndCl),
            ("end.c", BehaviorConfig::EndC),
        ] {
            assert_eq!(
                BehaviorConfig::deserialize(StrDeserializer::<DeError>::new(s)).unwrap(),
                b
            );
        }
        assert!(BehaviorConfig::deserialize(StrDeserializer::<DeError>::new("end.dx6")).is_err());
        let s = SidConfig::deserialize(MapDeserializer::<_, DeError>::new(
            [("prefix", "fc00::/96"), ("behavior", "end.cl")].into_iter(),
        ))
        .unwrap();
        assert_eq!(s.behavior, BehaviorConfig::EndCl);
        assert_eq!(parse_sid_prefix("fc00::/96").unwrap().0, {
            let mut p = [0u8; 12];
            p[0] = 0xfc;
            p
        });
        assert_eq!(parse_sid_prefix("fc00::"), None);
    }
}
