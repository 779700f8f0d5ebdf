//! SRoU tables (seed `000_*`): the policies of [`crate::policy`] compiled into the data
//! plane's `[tables.srou]` ([`SrouConfig`]) and `[tables.overlay]` ([`OverlayConfig`]).
//!
//! # Tokens, identities, group policies
//!
//! [`token_fields`] turns the per-token [`AccessDecisions`] of one node
//! ([`crate::policy::AccessPolicy::decide`] with the node's destination groups) into the
//! `token_mode`, `permit` and `block` fields: hex Flow IDs, sorted, a blocked token never
//! on the permit list. The mode is the node's choice: block-only (everything passes but
//! blocked tokens) or permit-only (only permitted tokens pass; blocked ones never).
//! [`log_decisions`] reports the decisions of rules marked `log`.
//!
//! # Route control
//!
//! Today's overlay routes a frame of a VRF by its **destination** (type-2 MAC or host IP,
//! type-5 prefix) to an SRoU ingress policy; it has no source match and no drop target.
//! [`compile_control`] therefore installs exactly the rules it can honour:
//!
//! | rule | becomes |
//! |---|---|
//! | steer, type-5, no source | a named SRoU policy (the rule's locators) and a type-5 route to it in the VRF of the rule's RT (`*` destination: `0.0.0.0/0` and `::/0`) |
//! | steer, type-2, no source, destination MAC (and optional IP) | the policy and a type-2 route |
//! | permit, no source | nothing: forwarding as usual is what permit means ([`NotInstalled::PermitIsDefault`]) |
//! | drop | not installed ([`NotInstalled::Drop`]) |
//! | any source match | not installed ([`NotInstalled::SourceMatch`]) |
//! | type-2 steer without destination MAC | not installed ([`NotInstalled::NoDestinationMac`]) |
//! | RT not imported here | nothing ([`NotInstalled::NotImported`]) |
//!
//! The policy is named after the rule's canonical key (`/control/<RT>/5/...`), carries
//! the node's own token and leaves from the node's locator of the path's family. Rules are
//! taken in key order; one whose VRF destination an earlier rule already took is
//! [`NotInstalled::Shadowed`]. [`CompiledControl::merge_into`] adds the result to the
//! configured tables, **replacing** EVPN routes with the same VRF destination (control
//! policy overrides routing), and is idempotent.

use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::collections::BTreeMap;

use fwd_core::overlay::config::{OverlayConfig, Route2Config, Route5Config};
use fwd_core::overlay::IpPrefix;
use fwd_core::srou::config::{PolicyConfig, SrouConfig};
use fwd_core::srou::{AclMode, FlowId};
use fwd_core::wire::ethernet::parse_mac;

use crate::policy::access::{AccessDecisions, Verdict};
use crate::policy::control::{ControlAction, ControlKey, ControlMatch, ControlRules};
use crate::policy::token::format_token;

/// The token fields of `[tables.srou]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenFields {
    /// Block-only or permit-only.
    pub token_mode: AclMode,
    /// Permitted tokens, hex, sorted.
    pub permit: Vec<String>,
    /// Blocked tokens, hex, sorted.
    pub block: Vec<String>,
}

impl TokenFields {
    /// Writes the fields into `cfg` (replacing its token lists and mode).
    pub fn apply_to(&self, cfg: &mut SrouConfig) {
        cfg.token_mode = self.token_mode;
        cfg.permit.clone_from(&self.permit);
        cfg.block.clone_from(&self.block);
    }
}

/// The token fields for `decisions` in `mode`.
pub fn token_fields(decisions: &AccessDecisions, mode: AclMode) -> TokenFields {
    TokenFields {
        token_mode: mode,
        permit: decisions
            .permit
            .iter()
            .filter(|t| !decisions.block.contains(t))
            .map(format_token)
            .collect(),
        block: decisions.block.iter().map(format_token).collect(),
    }
}

/// Reports (tracing, info) every decision made by a group policy marked `log`; returns
/// how many.
pub fn log_decisions(decisions: &AccessDecisions) -> usize {
    let mut n = 0;
    for d in decisions.decisions.iter().filter(|d| d.log) {
        let verdict = match d.verdict {
            Verdict::Permit => "permit",
            Verdict::Deny => "block",
        };
        tracing::info!(token = %format_token(&d.token), verdict, reason = %d.reason, "token policy");
        n += 1;
    }
    n
}

/// What [`compile_control`] needs to know about the node.
pub struct ControlParams<'a> {
    /// The node's IPv4 locator steering policies leave from (IPv4 paths).
    pub source_v4: Option<SocketAddr>,
    /// The node's IPv6 locator (IPv6 paths).
    pub source_v6: Option<SocketAddr>,
    /// The token steered packets carry.
    pub flow_id: FlowId,
    /// The VNID of the VRF importing a route target here (`None`: not imported).
    pub vnid_of_rt: &'a dyn Fn(&str) -> Option<u32>,
    /// Append a service segment (the VRF's VNID) to IPv4 paths, so that the last locator
    /// decapsulates into the same VNID (SRoU's VPN mode; IPv6 locators cannot carry one).
    pub service_segment: bool,
}

/// Why a rule is not (entirely) in the tables.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NotInstalled {
    /// No VRF here imports the rule's route target.
    NotImported,
    /// The rule matches a source: overlay routes match destinations only.
    SourceMatch,
    /// A drop: the overlay has no drop target.
    Drop,
    /// A permit without source match: forwarding as usual, nothing to install.
    PermitIsDefault,
    /// A type-2 steer without a destination MAC (type-2 routes are keyed by MAC).
    NoDestinationMac,
    /// No own locator of the path's family to leave from.
    NoSourceLocator {
        /// The path's family is IPv4.
        v4: bool,
    },
    /// An earlier rule (in key order) took the same VRF destination.
    Shadowed {
        /// That rule.
        by: ControlKey,
    },
    /// The VNID the RT maps to has no `[[tables.overlay.vrf]]` (from `merge_into`).
    NoVrf {
        /// The VNID.
        vnid: u32,
    },
}

impl fmt::Display for NotInstalled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotInstalled::NotImported => f.write_str("route target not imported here"),
            NotInstalled::SourceMatch => {
                f.write_str("source match: the overlay routes by destination only")
            }
            NotInstalled::Drop => f.write_str("drop: the overlay has no drop target"),
            NotInstalled::PermitIsDefault => f.write_str("permit: forwarding as usual"),
            NotInstalled::NoDestinationMac => f.write_str("type-2 steer without a destination MAC"),
            NotInstalled::NoSourceLocator { v4 } => write!(
                f,
                "no own IPv{} locator for the path",
                if *v4 { 4 } else { 6 }
            ),
            NotInstalled::Shadowed { by } => write!(f, "destination already taken by {by}"),
            NotInstalled::NoVrf { vnid } => write!(f, "VNID {vnid} has no VRF"),
        }
    }
}

/// One overlay route of an installed rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OverlayRoute {
    /// A type-5 route.
    Route5(Route5Config),
    /// A type-2 route.
    Route2(Route2Config),
}

impl OverlayRoute {
    fn vnid(&self) -> u32 {
        match self {
            OverlayRoute::Route5(r) => r.vnid,
            OverlayRoute::Route2(r) => r.vnid,
        }
    }
}

/// An installed rule: its SRoU policy and overlay routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Install {
    /// The rule.
    pub key: ControlKey,
    /// The SRoU policy (named after the rule).
    pub policy: PolicyConfig,
    /// The routes to it (one, or two for a `*` type-5 destination).
    pub routes: Vec<OverlayRoute>,
}

/// The rules compiled for one node.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CompiledControl {
    /// What goes into the tables.
    pub installs: Vec<Install>,
    /// What does not, and why.
    pub not_installed: Vec<(ControlKey, NotInstalled)>,
}

/// A VRF destination an overlay route takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Slot {
    Prefix(u32, IpPrefix),
    Mac(u32, [u8; 6]),
    Host(u32, IpAddr),
}

fn default_route(v4: bool) -> Option<IpPrefix> {
    let a = if v4 {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    } else {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    };
    IpPrefix::new(a, 0)
}

fn mac_string(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Compiles the route-control rules for one node (module documentation).
pub fn compile_control(rules: &ControlRules, p: &ControlParams<'_>) -> CompiledControl {
    let mut out = CompiledControl::default();
    let mut taken: BTreeMap<Slot, ControlKey> = BTreeMap::new();
    for (key, action) in rules.iter() {
        let mut skip = |why| out.not_installed.push((key.clone(), why));
        let Some(vnid) = (p.vnid_of_rt)(&key.rt) else {
            skip(NotInstalled::NotImported);
            continue;
        };
        if key.matcher.has_source() {
            skip(NotInstalled::SourceMatch);
            continue;
        }
        let path = match action {
            ControlAction::Drop => {
                skip(NotInstalled::Drop);
                continue;
            }
            ControlAction::Permit => {
                skip(NotInstalled::PermitIsDefault);
                continue;
            }
            ControlAction::Steer(path) => path,
        };
        let Some(first) = path.first() else {
            // The parser never yields an empty path; nothing to steer to.
            skip(NotInstalled::PermitIsDefault);
            continue;
        };
        let v4 = first.is_ipv4();
        let Some(source) = (if v4 { p.source_v4 } else { p.source_v6 }) else {
            skip(NotInstalled::NoSourceLocator { v4 });
            continue;
        };
        let name = key.to_string();
        let (routes, slots): (Vec<OverlayRoute>, Vec<Slot>) = match key.matcher {
            ControlMatch::Type5 { dst, .. } => {
                let prefixes: Vec<IpPrefix> = match dst {
                    Some(d) => vec![d],
                    None => [true, false]
                        .into_iter()
                        .filter_map(default_route)
                        .collect(),
                };
                prefixes
                    .into_iter()
                    .map(|pfx| {
                        (
                            OverlayRoute::Route5(Route5Config {
                                vnid,
                                prefix: pfx.to_string(),
                                target: name.clone(),
                            }),
                            Slot::Prefix(vnid, pfx),
                        )
                    })
                    .unzip()
            }
            ControlMatch::Type2 {
                dst_mac, dst_ip, ..
            } => {
                let Some(mac) = dst_mac else {
                    skip(NotInstalled::NoDestinationMac);
                    continue;
                };
                let mut slots = vec![Slot::Mac(vnid, mac)];
                slots.extend(dst_ip.map(|ip| Slot::Host(vnid, ip)));
                let route = OverlayRoute::Route2(Route2Config {
                    vnid,
                    mac: mac_string(&mac),
                    ip: dst_ip.map(|ip| ip.to_string()),
                    target: name.clone(),
                });
                (vec![route], slots)
            }
        };
        if let Some(by) = slots.iter().find_map(|s| taken.get(s)) {
            skip(NotInstalled::Shadowed { by: by.clone() });
            continue;
        }
        for s in slots {
            taken.insert(s, key.clone());
        }
        out.installs.push(Install {
            key: key.clone(),
            policy: PolicyConfig {
                name: Some(name),
                destination: None,
                flow_id: format_token(&p.flow_id),
                source: source.to_string(),
                path: path.iter().map(SocketAddr::to_string).collect(),
                vnid: (p.service_segment && v4).then_some(vnid),
                behavior: None,
            },
            routes,
        });
    }
    out
}

fn same_mac(a: &str, b: &str) -> bool {
    matches!((parse_mac(a), parse_mac(b)), (Some(x), Some(y)) if x == y)
}

fn same_ip(a: &Option<String>, b: &Option<String>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => matches!(
            (a.parse::<IpAddr>(), b.parse::<IpAddr>()),
            (Ok(x), Ok(y)) if x == y
        ),
        _ => false,
    }
}

fn same_prefix(a: &str, b: &str) -> bool {
    matches!((a.parse::<IpPrefix>(), b.parse::<IpPrefix>()), (Ok(x), Ok(y)) if x == y)
}

impl CompiledControl {
    /// Adds the installed rules to `srou` and `overlay`: each policy replaces one of the
    /// same name, each route replaces the routes of its VRF destination (same VNID and
    /// prefix; same VNID and MAC or host IP). Routes into a VNID without a
    /// `[[tables.overlay.vrf]]` are left out (a rule left with no route adds no policy)
    /// and returned.
    pub fn merge_into(
        &self,
        srou: &mut SrouConfig,
        overlay: &mut OverlayConfig,
    ) -> Vec<(ControlKey, NotInstalled)> {
        let mut left_out = Vec::new();
        for inst in &self.installs {
            let routes: Vec<&OverlayRoute> = inst
                .routes
                .iter()
                .filter(|r| {
                    let ok = overlay.vrf.iter().any(|v| v.vnid == r.vnid());
                    if !ok {
                        left_out.push((inst.key.clone(), NotInstalled::NoVrf { vnid: r.vnid() }));
                    }
                    ok
                })
                .collect();
            if routes.is_empty() {
                continue;
            }
            srou.policies.retain(|p| p.name != inst.policy.name);
            srou.policies.push(inst.policy.clone());
            for r in routes {
                match r {
                    OverlayRoute::Route5(r5) => {
                        overlay
                            .route5
                            .retain(|x| !(x.vnid == r5.vnid && same_prefix(&x.prefix, &r5.prefix)));
                        overlay.route5.push(r5.clone());
                    }
                    OverlayRoute::Route2(r2) => {
                        overlay.route2.retain(|x| {
                            !(x.vnid == r2.vnid
                                && (same_mac(&x.mac, &r2.mac) || same_ip(&x.ip, &r2.ip)))
                        });
                        overlay.route2.push(r2.clone());
                    }
                }
            }
        }
        left_out
    }
}

#[cfg(test)]
mod tests;
