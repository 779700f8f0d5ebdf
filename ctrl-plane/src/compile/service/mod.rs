//! Service tables (seed `001_*`): the CATS Global and Local RIBs ([`crate::cats`])
//! compiled into the data plane's `[tables.service]` ([`ServiceConfig`]), which
//! `ServiceConfig::build` turns into the Global and Local FIBs.
//!
//! Inputs, besides the two RIBs:
//! - the node itself ([`ServiceNode`]): its PE ID, its computing SIDs, the outer source
//!   of END.CG encapsulation and the flow-table sizing;
//! - [`PeRecord`]s: for each remote PE, its END.CL SID block, the adjacency towards it
//!   and an optional SR policy (segments before the SID). A record carrying the local PE's
//!   ID is ignored: the local PE is always `local = true`;
//! - [`LocalInstance`]s: the node's instances, each behind a named adjacency, with an
//!   optional address the destination is rewritten to.
//!
//! # What is emitted
//!
//! - `global`: one entry per GRIB service, its PEs in GRIB order (metric, then ID). Only
//!   PEs the GRIB offers appear, so every listed PE is `up`; a PE that lost its last live
//!   instance is simply absent (flows that had chosen it choose again).
//! - `local`: one entry per LRIB service that has a live instance with a record, its live
//!   instances only, best first. An instance that is down for one service but up for
//!   another stays a target (`up = true`) and is left out of the first service's entry:
//!   the data plane's `up` flag is per instance, CATS liveness is per (instance, service).
//! - `pe` and `instance`: exactly the targets the entries refer to (the local PE as
//!   `local = true`), in ID order, so an unused record with a bad adjacency never blocks
//!   the tables.
//!
//! # What is left out, and reported
//!
//! The data plane holds at most 32 candidates per service (`MAX_CANDIDATES`): the best
//! 32 are kept, the rest reported as [`Skipped::Truncated`]. A GRIB PE without a record,
//! a PE whose policy has more than 4 segments, and an LRIB instance without a record are
//! skipped and reported ([`Skipped`]) rather than failing the whole table: one bad etcd
//! record must not stop every service. Errors ([`ServiceCompileError`]) are reserved for
//! the node's own inconsistencies (duplicate records or SIDs, no source with remote PEs).
//! Everything else (hop limit, flow sizing, SID syntax, adjacency names) is checked by
//! `ServiceConfig::build`, whose errors name the field.

use core::fmt;
use core::net::Ipv6Addr;
use std::collections::{BTreeMap, BTreeSet};

use fwd_core::service::config::{
    BehaviorConfig, GlobalEntryConfig, InstanceConfig, InstanceMetricConfig, LocalEntryConfig,
    PeConfig, PeMetricConfig, ServiceConfig, SidConfig,
};
use fwd_core::service::fib::{MAX_CANDIDATES, MAX_POLICY_SEGMENTS};
use fwd_core::service::sid::{SidPrefix, MAX_LOCAL_SIDS};
use fwd_core::service::DEFAULT_HOP_LIMIT;

use crate::cats::{Grib, InstanceId, Lrib, PeId, ServiceId};

/// A remote PE as the Global FIB reaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeRecord {
    /// The PE's ID (as in the GRIB).
    pub id: PeId,
    /// Its END.CL SID block (END.C in a flat deployment), `addr/96`.
    pub sid: SidPrefix,
    /// The name of the `[[adjacency]]` towards it.
    pub adjacency: String,
    /// Segments before its SID, first hop first (at most 4).
    pub policy: Vec<Ipv6Addr>,
}

/// One of this node's service instances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalInstance {
    /// The instance's ID (as in the LRIB).
    pub id: InstanceId,
    /// The name of the `[[adjacency]]` it is behind.
    pub adjacency: String,
    /// The address a delivered packet's destination is rewritten to, if any.
    pub address: Option<Ipv6Addr>,
}

/// One computing SID of this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalSid {
    /// The SID block, `addr/96`.
    pub prefix: SidPrefix,
    /// END.CG, END.CL or END.C.
    pub behavior: BehaviorConfig,
}

/// This node's own service settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceNode {
    /// This node's PE ID: its GRIB entries become `local = true`.
    pub local_pe: PeId,
    /// Outer source of END.CG encapsulation (required once a remote PE is used).
    pub source: Option<Ipv6Addr>,
    /// The computing SIDs (at most 16).
    pub sids: Vec<LocalSid>,
    /// Outer hop limit of END.CG encapsulation.
    pub hop_limit: u8,
    /// Flow-affinity entries per worker.
    pub flow_capacity: usize,
    /// Idle time after which a flow chooses again, ms.
    pub flow_idle_ms: u64,
}

impl ServiceNode {
    /// PE `local_pe` with no SID, no source and the data plane's default sizing.
    pub fn new(local_pe: PeId) -> ServiceNode {
        let d = ServiceConfig::default();
        ServiceNode {
            local_pe,
            source: None,
            sids: Vec::new(),
            hop_limit: DEFAULT_HOP_LIMIT,
            flow_capacity: d.flow_capacity,
            flow_idle_ms: d.flow_idle_ms,
        }
    }
}

/// Which FIB a [`Skipped::Truncated`] concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fib {
    /// The Global FIB (PEs).
    Global,
    /// The Local FIB (instances).
    Local,
}

/// Something of the RIBs the tables could not carry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Skipped {
    /// The GRIB offers `pe` for `service` but no [`PeRecord`] says how to reach it.
    PeWithoutRecord {
        /// The service.
        service: ServiceId,
        /// The PE.
        pe: PeId,
    },
    /// A PE whose policy is longer than the data plane carries (reported once).
    PePolicyTooLong {
        /// The PE.
        pe: PeId,
        /// Its policy's length.
        segments: usize,
    },
    /// The LRIB has a live `instance` for `service` but no [`LocalInstance`] record.
    InstanceWithoutRecord {
        /// The service.
        service: ServiceId,
        /// The instance.
        instance: InstanceId,
    },
    /// More than 32 usable candidates: the worst `dropped` were left out.
    Truncated {
        /// Global or Local FIB.
        fib: Fib,
        /// The service.
        service: ServiceId,
        /// How many candidates were left out.
        dropped: usize,
    },
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Skipped::PeWithoutRecord { service, pe } => {
                write!(
                    f,
                    "service {service}: PE {pe} left out: no PE record (SID, adjacency)"
                )
            }
            Skipped::PePolicyTooLong { pe, segments } => write!(
                f,
                "PE {pe} left out: its policy has {segments} segments, at most \
                 {MAX_POLICY_SEGMENTS} fit"
            ),
            Skipped::InstanceWithoutRecord { service, instance } => write!(
                f,
                "service {service}: instance {instance} left out: no instance record (adjacency)"
            ),
            Skipped::Truncated {
                fib,
                service,
                dropped,
            } => write!(
                f,
                "service {service}: the {dropped} worst {} left out (at most {MAX_CANDIDATES})",
                match fib {
                    Fib::Global => "PEs",
                    Fib::Local => "instances",
                }
            ),
        }
    }
}

/// The node's own records are inconsistent: nothing can be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceCompileError {
    /// Too many computing SIDs.
    #[error("local SIDs: expected at most {MAX_LOCAL_SIDS}, got {0}")]
    TooManySids(usize),
    /// One SID block twice.
    #[error("local SIDs: expected each block once, got {0} twice")]
    DuplicateSid(SidPrefix),
    /// Two PE records with one ID.
    #[error("PE records: expected each PE ID once, got {0} twice")]
    DuplicatePe(PeId),
    /// Two instance records with one ID.
    #[error("instance records: expected each instance ID once, got {0} twice")]
    DuplicateInstance(InstanceId),
    /// A remote PE is used but there is no encapsulation source.
    #[error(
        "source: expected an IPv6 encapsulation source (remote PE {0} is in the Global RIB), \
         got none"
    )]
    NoSource(PeId),
}

/// The compiled `[tables.service]` and what it had to leave out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompiledService {
    /// Ready for `ServiceConfig::build` (with the node's adjacency resolver).
    pub config: ServiceConfig,
    /// What the RIBs hold that the tables do not (for logs; empty when all fits).
    pub skipped: Vec<Skipped>,
}

/// Compiles the RIBs into `[tables.service]` (see the module documentation).
pub fn compile(
    node: &ServiceNode,
    grib: &Grib,
    lrib: &Lrib,
    pes: &[PeRecord],
    instances: &[LocalInstance],
) -> Result<CompiledService, ServiceCompileError> {
    if node.sids.len() > MAX_LOCAL_SIDS {
        return Err(ServiceCompileError::TooManySids(node.sids.len()));
    }
    let mut blocks = BTreeSet::new();
    for s in &node.sids {
        if !blocks.insert(s.prefix) {
            return Err(ServiceCompileError::DuplicateSid(s.prefix));
        }
    }
    let mut pe_rec: BTreeMap<PeId, &PeRecord> = BTreeMap::new();
    for p in pes {
        if pe_rec.insert(p.id, p).is_some() {
            return Err(ServiceCompileError::DuplicatePe(p.id));
        }
    }
    let mut inst_rec: BTreeMap<InstanceId, &LocalInstance> = BTreeMap::new();
    for i in instances {
        if inst_rec.insert(i.id, i).is_some() {
            return Err(ServiceCompileError::DuplicateInstance(i.id));
        }
    }

    let mut skipped = Vec::new();
    let mut too_long = BTreeSet::new();
    let mut used_pes = BTreeSet::new();
    let mut global = Vec::new();
    for (service, routes) in grib.iter() {
        let mut pes = Vec::new();
        let mut dropped = 0;
        for r in routes {
            let usable = if r.pe == node.local_pe {
                true
            } else {
                match pe_rec.get(&r.pe) {
                    None => {
                        skipped.push(Skipped::PeWithoutRecord { service, pe: r.pe });
                        false
                    }
                    Some(rec) if rec.policy.len() > MAX_POLICY_SEGMENTS => {
                        if too_long.insert(r.pe) {
                            skipped.push(Skipped::PePolicyTooLong {
                                pe: r.pe,
                                segments: rec.policy.len(),
                            });
                        }
                        false
                    }
                    Some(_) => true,
                }
            };
            if !usable {
                continue;
            }
            if pes.len() == MAX_CANDIDATES {
                dropped += 1;
                continue;
            }
            used_pes.insert(r.pe);
            pes.push(PeMetricConfig {
                pe: r.pe,
                metric: r.metric,
            });
        }
        if dropped > 0 {
            skipped.push(Skipped::Truncated {
                fib: Fib::Global,
                service,
                dropped,
            });
        }
        if !pes.is_empty() {
            global.push(GlobalEntryConfig { service, pes });
        }
    }

    let mut used_instances = BTreeSet::new();
    let mut local = Vec::new();
    for (service, routes) in lrib.iter() {
        let mut list = Vec::new();
        let mut dropped = 0;
        for r in routes.iter().filter(|r| r.up) {
            if !inst_rec.contains_key(&r.instance) {
                skipped.push(Skipped::InstanceWithoutRecord {
                    service,
                    instance: r.instance,
                });
                continue;
            }
            if list.len() == MAX_CANDIDATES {
                dropped += 1;
                continue;
            }
            used_instances.insert(r.instance);
            list.push(InstanceMetricConfig {
                instance: r.instance,
                metric: r.metric,
            });
        }
        if dropped > 0 {
            skipped.push(Skipped::Truncated {
                fib: Fib::Local,
                service,
                dropped,
            });
        }
        if !list.is_empty() {
            local.push(LocalEntryConfig {
                service,
                instances: list,
            });
        }
    }

    let mut pe = Vec::with_capacity(used_pes.len());
    for id in used_pes {
        let cfg = match pe_rec.get(&id) {
            Some(rec) if id != node.local_pe => {
                if node.source.is_none() {
                    return Err(ServiceCompileError::NoSource(id));
                }
                PeConfig {
                    id,
                    local: false,
                    sid: Some(rec.sid.to_string()),
                    adjacency: Some(rec.adjacency.clone()),
                    policy: rec.policy.iter().map(Ipv6Addr::to_string).collect(),
                    up: true,
                }
            }
            _ => PeConfig {
                id,
                local: true,
                sid: None,
                adjacency: None,
                policy: Vec::new(),
                up: true,
            },
        };
        pe.push(cfg);
    }
    let instance = used_instances
        .into_iter()
        .filter_map(|id| inst_rec.get(&id))
        .map(|r| InstanceConfig {
            id: r.id,
            adjacency: r.adjacency.clone(),
            address: r.address.map(|a| a.to_string()),
            up: true,
        })
        .collect();

    Ok(CompiledService {
        config: ServiceConfig {
            source: node.source.map(|a| a.to_string()),
            hop_limit: node.hop_limit,
            flow_capacity: node.flow_capacity,
            flow_idle_ms: node.flow_idle_ms,
            sid: node
                .sids
                .iter()
                .map(|s| SidConfig {
                    prefix: s.prefix.to_string(),
                    behavior: s.behavior,
                })
                .collect(),
            pe,
            instance,
            global,
            local,
        },
        skipped,
    })
}

#[cfg(test)]
mod tests;
