//! `[tables.srou]` of srgate's TOML configuration, and its compilation into
//! [`SrouTables`].
//!
//! ```toml
//! [tables.srou]
//! outer_ttl = 64                 # TTL / hop limit of encapsulated packets (1..=255)
//! udp_checksum = false           # compute the UDP checksum over IPv4 too (IPv6: always)
//! token_mode = "block-only"      # or "permit-only"
//! permit = ["0x000123"]          # Flow IDs (tokens), hex, 1..=16 bytes
//! block = ["0xdeadbeef"]         # the block list wins over the permit list
//!
//! [[tables.srou.locator]]        # the node's own SRoU sockets
//! address = "10.99.1.1:8811"
//! decap = true                   # false: transit only (fabric node); default true
//!
//! [[tables.srou.next_hop]]       # underlay adjacency per outer destination (exact)
//! address = "10.99.2.1"
//! port = "out"                   # a [[port]] name
//! dst_mac = "02:00:00:00:00:02"
//! # src_mac = "02:00:00:00:00:01"  (default: the port's MAC)
//!
//! [tables.srou.default_next_hop] # optional: for outer destinations without a next_hop
//! port = "out"
//! dst_mac = "02:00:00:00:00:fe"
//!
//! [tables.srou.decap]            # optional: where decapsulated packets go
//! port = "in"
//! dst_mac = "02:00:00:00:00:10"
//!
//! [[tables.srou.policy]]         # ingress: overlay destination -> path
//! destination = "172.16.0.5"     # exact inner destination (IPv4 or IPv6)
//! flow_id = "0x000123"           # hex, 0..=16 bytes
//! source = "10.99.1.1:8811"      # one of the locators
//! path = ["10.99.2.1:8811", "10.99.3.1:8811"]   # first hop first, final node last
//! # vnid = 100                   # optional service segment: decapsulate into VRF 100
//! # behavior = "end.dt46"        # end.dt4 | end.dt6 | end.dt46 (default)
//! ```
//!
//! [`SrouConfig::build`] checks every value; errors name the field (e.g.
//! `tables.srou.policy[0].path[1]`), what was expected and what was found.

use core::net::{IpAddr, SocketAddr};

use serde::Deserialize;

use super::acl::{AclMode, TokenAcl};
use super::tables::{
    FlowId, PolicyError, PolicySpec, SrouTables, TablesError, DEFAULT_OUTER_TTL, MAX_FLOW_ID_LEN,
};
use super::wire::ServiceSegment;
use crate::adjacency::Adjacency;

/// A configuration error: the field, what was expected, what was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: expected {expected}, got {got}")]
pub struct SrouConfigError {
    /// Dotted path of the field, e.g. `tables.srou.policy[0].source`.
    pub field: String,
    /// What was expected.
    pub expected: String,
    /// What was found.
    pub got: String,
}

fn err(field: String, expected: &str, got: impl Into<String>) -> SrouConfigError {
    SrouConfigError {
        field,
        expected: expected.to_string(),
        got: got.into(),
    }
}

const PREFIX: &str = "tables.srou";

/// A port as the data plane knows it: id and own MAC (the default source MAC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRef {
    /// Port id.
    pub id: u16,
    /// The port's MAC.
    pub mac: [u8; 6],
}

/// `[tables.srou]`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SrouConfig {
    /// Outer TTL / hop limit at encapsulation (default 64).
    #[serde(default = "default_ttl")]
    pub outer_ttl: u8,
    /// Compute the UDP checksum at encapsulation over IPv4 too (default false: 0).
    #[serde(default)]
    pub udp_checksum: bool,
    /// `"block-only"` (default) or `"permit-only"`.
    #[serde(default)]
    pub token_mode: AclMode,
    /// Permitted tokens (hex Flow IDs).
    #[serde(default)]
    pub permit: Vec<String>,
    /// Blocked tokens (hex Flow IDs); blocking wins.
    #[serde(default)]
    pub block: Vec<String>,
    /// `[[tables.srou.locator]]`: the node's own sockets.
    #[serde(default, rename = "locator")]
    pub locators: Vec<LocatorConfig>,
    /// `[[tables.srou.next_hop]]`: underlay adjacencies.
    #[serde(default, rename = "next_hop")]
    pub next_hops: Vec<NextHopConfig>,
    /// `[tables.srou.default_next_hop]`.
    #[serde(default)]
    pub default_next_hop: Option<AdjacencyConfig>,
    /// `[tables.srou.decap]`: where decapsulated packets go.
    #[serde(default)]
    pub decap: Option<AdjacencyConfig>,
    /// `[[tables.srou.policy]]`: ingress policies.
    #[serde(default, rename = "policy")]
    pub policies: Vec<PolicyConfig>,
}

fn default_ttl() -> u8 {
    DEFAULT_OUTER_TTL
}

fn default_true() -> bool {
    true
}

impl Default for SrouConfig {
    fn default() -> Self {
        SrouConfig {
            outer_ttl: DEFAULT_OUTER_TTL,
            udp_checksum: false,
            token_mode: AclMode::default(),
            permit: Vec::new(),
            block: Vec::new(),
            locators: Vec::new(),
            next_hops: Vec::new(),
            default_next_hop: None,
            decap: None,
            policies: Vec::new(),
        }
    }
}

/// `[[tables.srou.locator]]`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LocatorConfig {
    /// `ip:port` (IPv6 as `[addr]:port`).
    pub address: String,
    /// Packets may end here (default true); false for a transit-only locator.
    #[serde(default = "default_true")]
    pub decap: bool,
}

/// `[[tables.srou.next_hop]]`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NextHopConfig {
    /// Outer destination IP (exact).
    pub address: String,
    /// Egress port name.
    pub port: String,
    /// Next hop's MAC.
    pub dst_mac: String,
    /// Source MAC (default: the port's MAC).
    pub src_mac: Option<String>,
}

/// An adjacency without an address (`default_next_hop`, `decap`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AdjacencyConfig {
    /// Egress port name.
    pub port: String,
    /// Next hop's MAC.
    pub dst_mac: String,
    /// Source MAC (default: the port's MAC).
    pub src_mac: Option<String>,
}

/// `[[tables.srou.policy]]`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// Name, for overlay routes (`[tables.overlay]`) that steer into this policy.
    pub name: Option<String>,
    /// Inner destination IP (exact); optional for a named policy used only by overlay
    /// routes.
    pub destination: Option<String>,
    /// Flow ID, hex (`0x000123`), 0 to 16 bytes.
    #[serde(default)]
    pub flow_id: String,
    /// Own locator `ip:port`: outer source and SRoU Source.
    pub source: String,
    /// Locators `ip:port`, first hop first, final node last.
    pub path: Vec<String>,
    /// Service segment VNID (24 bits): the final node decapsulates into that VRF.
    pub vnid: Option<u32>,
    /// Service segment behaviour: `end.dt4`, `end.dt6` or `end.dt46` (default).
    pub behavior: Option<String>,
}

pub use crate::wire::ethernet::parse_mac;

/// Parses a hex Flow ID (`0x000123` or `000123`, an even number of digits, at most 16
/// bytes).
pub fn parse_flow_id(s: &str) -> Option<FlowId> {
    let hex = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    if hex.len() % 2 != 0
        || hex.len() > 2 * MAX_FLOW_ID_LEN
        || !hex.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return None;
    }
    let mut bytes = [0u8; MAX_FLOW_ID_LEN];
    for (i, b) in bytes.iter_mut().take(hex.len() / 2).enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    FlowId::new(&bytes[..hex.len() / 2])
}

fn parse_sock(field: String, s: &str) -> Result<SocketAddr, SrouConfigError> {
    s.parse::<SocketAddr>().map_err(|_| {
        err(
            field,
            "an `ip:port` (IPv6 as `[addr]:port`)",
            format!("{s:?}"),
        )
    })
}

fn parse_ip(field: String, s: &str) -> Result<IpAddr, SrouConfigError> {
    s.parse::<IpAddr>()
        .map_err(|_| err(field, "an IPv4 or IPv6 address", format!("{s:?}")))
}

fn adjacency(
    field: &str,
    port: &str,
    dst_mac: &str,
    src_mac: Option<&str>,
    ports: &dyn Fn(&str) -> Option<PortRef>,
) -> Result<Adjacency, SrouConfigError> {
    let p = ports(port).ok_or_else(|| {
        err(
            format!("{field}.port"),
            "the name of a [[port]]",
            format!("{port:?}"),
        )
    })?;
    let mac = |name: &str, s: &str| {
        parse_mac(s).ok_or_else(|| {
            err(
                format!("{field}.{name}"),
                "a MAC address aa:bb:cc:dd:ee:ff",
                format!("{s:?}"),
            )
        })
    };
    let dst = mac("dst_mac", dst_mac)?;
    let src = match src_mac {
        Some(s) => mac("src_mac", s)?,
        None => p.mac,
    };
    Ok(Adjacency {
        port: p.id,
        dst_mac: dst,
        src_mac: src,
    })
}

impl SrouConfig {
    /// True when nothing is configured (no locator, no policy).
    pub fn is_empty(&self) -> bool {
        self.locators.is_empty() && self.policies.is_empty()
    }

    /// Validates and compiles into [`SrouTables`]. `ports` resolves a port name to its id
    /// and MAC (for `check-config` without EAL, any MAC will do).
    pub fn build(
        &self,
        ports: &dyn Fn(&str) -> Option<PortRef>,
    ) -> Result<SrouTables, SrouConfigError> {
        if self.outer_ttl == 0 {
            return Err(err(format!("{PREFIX}.outer_ttl"), "1..=255", "0"));
        }
        let mut b = SrouTables::builder();
        b.outer_ttl(self.outer_ttl).udp_checksum(self.udp_checksum);

        let mut acl = TokenAcl::new(self.token_mode);
        for (name, list) in [("permit", &self.permit), ("block", &self.block)] {
            for (i, s) in list.iter().enumerate() {
                let id = parse_flow_id(s).filter(|f| !f.is_empty()).ok_or_else(|| {
                    err(
                        format!("{PREFIX}.{name}[{i}]"),
                        "a hex token of 1 to 16 bytes, e.g. \"0x000123\"",
                        format!("{s:?}"),
                    )
                })?;
                if name == "permit" {
                    acl.permit(id);
                } else {
                    acl.block(id);
                }
            }
        }
        b.acl(acl);

        for (i, l) in self.locators.iter().enumerate() {
            let field = format!("{PREFIX}.locator[{i}].address");
            let addr = parse_sock(field.clone(), &l.address)?;
            b.locator(addr, l.decap).map_err(|e| match e {
                TablesError::ReservedLocator(_) => err(
                    field.clone(),
                    "an address outside 255.0.0.0/8 (service segments)",
                    l.address.clone(),
                ),
                _ => err(
                    field.clone(),
                    "each locator once",
                    format!("{} again", l.address),
                ),
            })?;
        }
        for (i, n) in self.next_hops.iter().enumerate() {
            let field = format!("{PREFIX}.next_hop[{i}]");
            let ip = parse_ip(format!("{field}.address"), &n.address)?;
            let adj = adjacency(&field, &n.port, &n.dst_mac, n.src_mac.as_deref(), ports)?;
            b.next_hop(ip, adj).map_err(|_| {
                err(
                    format!("{field}.address"),
                    "each next hop once",
                    format!("{} again", n.address),
                )
            })?;
        }
        if let Some(d) = &self.default_next_hop {
            let field = format!("{PREFIX}.default_next_hop");
            b.default_next_hop(adjacency(
                &field,
                &d.port,
                &d.dst_mac,
                d.src_mac.as_deref(),
                ports,
            )?);
        }
        if let Some(d) = &self.decap {
            let field = format!("{PREFIX}.decap");
            b.decap_adjacency(adjacency(
                &field,
                &d.port,
                &d.dst_mac,
                d.src_mac.as_deref(),
                ports,
            )?);
        }

        for (i, p) in self.policies.iter().enumerate() {
            let field = format!("{PREFIX}.policy[{i}]");
            let destination = match (&p.destination, &p.name) {
                (Some(d), _) => Some(parse_ip(format!("{field}.destination"), d)?),
                (None, Some(_)) => None,
                (None, None) => {
                    return Err(err(
                        field.to_string(),
                        "a `destination` or a `name` (or both)",
                        "neither",
                    ))
                }
            };
            let flow_id = parse_flow_id(&p.flow_id).ok_or_else(|| {
                err(
                    format!("{field}.flow_id"),
                    "a hex flow ID of 0 to 16 bytes, e.g. \"0x000123\"",
                    format!("{:?}", p.flow_id),
                )
            })?;
            let source = parse_sock(format!("{field}.source"), &p.source)?;
            let path = p
                .path
                .iter()
                .enumerate()
                .map(|(j, s)| parse_sock(format!("{field}.path[{j}]"), s))
                .collect::<Result<Vec<_>, _>>()?;
            let service = match (p.vnid, p.behavior.as_deref()) {
                (None, None) => None,
                (None, Some(beh)) => {
                    return Err(err(
                        format!("{field}.vnid"),
                        "a vnid with `behavior`",
                        format!("behavior {beh:?} alone"),
                    ))
                }
                (Some(vnid), beh) => {
                    let behavior = match beh.unwrap_or("end.dt46") {
                        "end.dt4" => ServiceSegment::END_DT4,
                        "end.dt6" => ServiceSegment::END_DT6,
                        "end.dt46" => ServiceSegment::END_DT46,
                        other => {
                            return Err(err(
                                format!("{field}.behavior"),
                                "one of \"end.dt4\", \"end.dt6\", \"end.dt46\"",
                                format!("{other:?}"),
                            ))
                        }
                    };
                    Some(ServiceSegment { vnid, behavior })
                }
            };
            b.named_policy(
                p.name.clone(),
                destination,
                PolicySpec {
                    flow_id,
                    source,
                    path,
                    service,
                },
            );
        }
        b.build().map_err(|e| self.policy_error(e))
    }

    /// Names the field of a policy compilation error.
    fn policy_error(&self, e: TablesError) -> SrouConfigError {
        match e {
            TablesError::Policy { index, error, .. } => {
                let field = format!("{PREFIX}.policy[{index}]");
                let p = self.policies.get(index);
                let path_index = |a: &SocketAddr| {
                    p.and_then(|p| {
                        p.path
                            .iter()
                            .position(|s| s.parse::<SocketAddr>().ok().as_ref() == Some(a))
                    })
                    .unwrap_or(0)
                };
                match error {
                    PolicyError::SourceNotLocator(a) => err(
                        format!("{field}.source"),
                        "one of the [[tables.srou.locator]] addresses",
                        a.to_string(),
                    ),
                    PolicyError::EmptyPath => {
                        err(format!("{field}.path"), "at least one locator", "[]")
                    }
                    PolicyError::FamilyMismatch(a) => err(
                        format!("{field}.path[{}]", path_index(&a)),
                        "a locator of the source's address family",
                        a.to_string(),
                    ),
                    PolicyError::ReservedLocator(a) => err(
                        format!("{field}.path[{}]", path_index(&a)),
                        "a locator outside 255.0.0.0/8 (service segments)",
                        a.to_string(),
                    ),
                    PolicyError::ServiceNeedsIpv4 => err(
                        format!("{field}.vnid"),
                        "IPv4 locators for a service segment",
                        "IPv6 locators",
                    ),
                    PolicyError::BadVnid(v) => {
                        err(format!("{field}.vnid"), "0..=16777215 (24 bits)", v.to_string())
                    }
                    PolicyError::TooLong(n) => err(
                        format!("{field}.path"),
                        "an SRoU header of at most 255 bytes (40 IPv4 or 13 IPv6 locators with an empty flow ID)",
                        format!("{n} bytes"),
                    ),
                    PolicyError::NoNextHop(ip) => err(
                        format!("{field}.path[0]"),
                        "a first hop with a [[tables.srou.next_hop]] or a default_next_hop",
                        ip.to_string(),
                    ),
                }
            }
            TablesError::DuplicatePolicy(dst) => {
                let i = self
                    .policies
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| {
                        p.destination
                            .as_deref()
                            .and_then(|d| d.parse::<IpAddr>().ok())
                            == Some(dst)
                    })
                    .map(|(i, _)| i)
                    .nth(1)
                    .unwrap_or(0);
                err(
                    format!("{PREFIX}.policy[{i}].destination"),
                    "one policy per destination",
                    format!("{dst} again"),
                )
            }
            other => err(PREFIX.to_string(), "valid SRoU tables", other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::value::{Error as DeError, MapDeserializer};

    fn ports(name: &str) -> Option<PortRef> {
        match name {
            "in" => Some(PortRef {
                id: 0,
                mac: [2, 0, 0, 0, 0, 0x10],
            }),
            "out" => Some(PortRef {
                id: 1,
                mac: [2, 0, 0, 0, 0, 0x11],
            }),
            _ => None,
        }
    }

    fn good() -> SrouConfig {
        SrouConfig {
            token_mode: AclMode::PermitOnly,
            permit: vec!["0x000123".into()],
            block: vec!["deadbeef".into()],
            locators: vec![
                LocatorConfig {
                    address: "10.99.1.1:8811".into(),
                    decap: true,
                },
                LocatorConfig {
                    address: "[2001:db8::1]:8811".into(),
                    decap: false,
                },
            ],
            next_hops: vec![NextHopConfig {
                address: "10.99.2.1".into(),
                port: "out".into(),
                dst_mac: "02:00:00:00:00:02".into(),
                src_mac: None,
            }],
            default_next_hop: Some(AdjacencyConfig {
                port: "out".into(),
                dst_mac: "02:00:00:00:00:fe".into(),
                src_mac: Some("02-00-00-00-00-01".into()),
            }),
            decap: Some(AdjacencyConfig {
                port: "in".into(),
                dst_mac: "02:00:00:00:00:20".into(),
                src_mac: None,
            }),
            policies: vec![PolicyConfig {
                name: None,
                destination: Some("172.16.0.5".into()),
                flow_id: "0x000123".into(),
                source: "10.99.1.1:8811".into(),
                path: vec!["10.99.2.1:8811".into(), "10.99.3.1:8811".into()],
                vnid: Some(100),
                behavior: None,
            }],
            ..SrouConfig::default()
        }
    }

    #[test]
    fn builds_tables() {
        let t = good().build(&ports).expect("builds");
        assert_eq!(t.outer_ttl(), 64);
        assert!(!t.udp_checksum());
        assert_eq!(t.acl().mode(), AclMode::PermitOnly);
        assert_eq!(t.acl().len(), (1, 1));
        let loc = t
            .locator(&"[2001:db8::1]:8811".parse().expect("sa"))
            .expect("locator");
        assert!(!loc.decap);
        let p = t
            .policy(&"172.16.0.5".parse().expect("ip"))
            .expect("policy");
        assert_eq!(p.adjacency().port, 1);
        assert_eq!(p.adjacency().dst_mac, [2, 0, 0, 0, 0, 2]);
        assert_eq!(p.adjacency().src_mac, [2, 0, 0, 0, 0, 0x11]);
        assert_eq!(p.flow_id().as_bytes(), &[0, 1, 0x23]);
        // Service segment first, then the final node, then the first hop.
        let h = super::super::wire::Header::new_checked(p.header()).expect("header");
        assert_eq!(h.last_entry(), 2);
        assert_eq!(h.segments_left(), 2);
        assert_eq!(
            h.service_segment(0),
            Some(ServiceSegment {
                vnid: 100,
                behavior: ServiceSegment::END_DT46
            })
        );
        assert_eq!(h.segment(1), Some("10.99.3.1:8811".parse().expect("sa")));
        assert_eq!(h.segment(2), Some("10.99.2.1:8811".parse().expect("sa")));
        let d = t
            .next_hop(&"10.99.9.9".parse().expect("ip"))
            .expect("default");
        assert_eq!(d.src_mac, [2, 0, 0, 0, 0, 1]);
        assert_eq!(t.decap_adjacency().map(|a| a.port), Some(0));
    }

    fn fails(f: impl FnOnce(&mut SrouConfig)) -> String {
        let mut c = good();
        f(&mut c);
        c.build(&ports).expect_err("must fail").to_string()
    }

    #[test]
    fn errors_name_the_field() {
        type Edit = Box<dyn FnOnce(&mut SrouConfig)>;
        let cases: Vec<(Edit, &str)> = vec![
            (
                Box::new(|c| c.outer_ttl = 0),
                "field `tables.srou.outer_ttl`: expected 1..=255, got 0",
            ),
            (
                Box::new(|c| c.permit[0] = "0x123".into()),
                "field `tables.srou.permit[0]`: expected a hex token of 1 to 16 bytes, e.g. \"0x000123\", got \"0x123\"",
            ),
            (
                Box::new(|c| c.block.push("".into())),
                "field `tables.srou.block[1]`",
            ),
            (
                Box::new(|c| c.locators[1].address = "10.0.0.1".into()),
                "field `tables.srou.locator[1].address`: expected an `ip:port`",
            ),
            (
                Box::new(|c| c.locators.push(c.locators[0].clone())),
                "field `tables.srou.locator[2].address`: expected each locator once, got 10.99.1.1:8811 again",
            ),
            (
                Box::new(|c| c.next_hops[0].port = "nope".into()),
                "field `tables.srou.next_hop[0].port`: expected the name of a [[port]], got \"nope\"",
            ),
            (
                Box::new(|c| c.next_hops[0].dst_mac = "02:00".into()),
                "field `tables.srou.next_hop[0].dst_mac`: expected a MAC address",
            ),
            (
                Box::new(|c| c.next_hops.push(c.next_hops[0].clone())),
                "field `tables.srou.next_hop[1].address`: expected each next hop once",
            ),
            (
                Box::new(|c| c.decap.as_mut().expect("decap").src_mac = Some("x".into())),
                "field `tables.srou.decap.src_mac`",
            ),
            (
                Box::new(|c| c.policies[0].destination = Some("172.16.0.0/24".into())),
                "field `tables.srou.policy[0].destination`: expected an IPv4 or IPv6 address",
            ),
            (
                Box::new(|c| c.policies[0].flow_id = "0x".to_string() + &"00".repeat(17)),
                "field `tables.srou.policy[0].flow_id`",
            ),
            (
                Box::new(|c| c.policies[0].source = "10.99.1.2:8811".into()),
                "field `tables.srou.policy[0].source`: expected one of the [[tables.srou.locator]] addresses, got 10.99.1.2:8811",
            ),
            (
                Box::new(|c| c.policies[0].path.clear()),
                "field `tables.srou.policy[0].path`: expected at least one locator, got []",
            ),
            (
                Box::new(|c| c.policies[0].path.push("[2001:db8::9]:1".into())),
                "field `tables.srou.policy[0].path[2]`: expected a locator of the source's address family",
            ),
            (
                Box::new(|c| c.policies[0].path[1] = "10.99.3.1".into()),
                "field `tables.srou.policy[0].path[1]`: expected an `ip:port`",
            ),
            (
                Box::new(|c| c.policies[0].vnid = Some(1 << 24)),
                "field `tables.srou.policy[0].vnid`: expected 0..=16777215 (24 bits), got 16777216",
            ),
            (
                Box::new(|c| c.policies[0].behavior = Some("end.dx4".into())),
                "field `tables.srou.policy[0].behavior`",
            ),
            (
                Box::new(|c| {
                    c.default_next_hop = None;
                    c.policies[0].path[0] = "10.99.7.7:1".into();
                }),
                "field `tables.srou.policy[0].path[0]`: expected a first hop with a [[tables.srou.next_hop]] or a default_next_hop, got 10.99.7.7",
            ),
            (
                Box::new(|c| c.policies.push(c.policies[0].clone())),
                "field `tables.srou.policy[1].destination`: expected one policy per destination, got 172.16.0.5 again",
            ),
            (
                Box::new(|c| c.policies[0].path = vec!["10.99.2.1:8811".into(); 40]),
                "field `tables.srou.policy[0].path`: expected an SRoU header of at most 255 bytes",
            ),
        ];
        for (f, want) in cases {
            let got = fails(f);
            assert!(got.starts_with(want), "got: {got}\nwant: {want}");
        }
    }

    #[test]
    fn flow_id_and_mac_parsing() {
        assert_eq!(
            parse_flow_id("0x000123").map(|f| f.as_bytes().to_vec()),
            Some(vec![0, 1, 0x23])
        );
        assert_eq!(
            parse_flow_id("ABcd").map(|f| f.as_bytes().to_vec()),
            Some(vec![0xab, 0xcd])
        );
        assert_eq!(parse_flow_id("").map(|f| f.len()), Some(0));
        assert!(parse_flow_id("0x1").is_none());
        assert!(parse_flow_id("zz").is_none());
        assert!(parse_flow_id("0x+1").is_none());
        assert!(parse_flow_id(&"ab".repeat(17)).is_none());
        assert!(parse_flow_id(&"ab".repeat(16)).is_some());
        assert_eq!(parse_mac("02:00:00:00:00:0a"), Some([2, 0, 0, 0, 0, 10]));
        assert!(parse_mac("02:00:00:00:00").is_none());
        assert!(parse_mac("02:00:00:00:00:00:00").is_none());
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let ok = NextHopConfig::deserialize(MapDeserializer::<_, DeError>::new(
            [
                ("address", "10.0.0.1"),
                ("port", "out"),
                ("dst_mac", "02:00:00:00:00:01"),
            ]
            .into_iter(),
        ))
        .expect("deserializes");
        assert_eq!(ok.address, "10.0.0.1");
        assert_eq!(ok.src_mac, None);
        let bad = NextHopConfig::deserialize(MapDeserializer::<_, DeError>::new(
            [
                ("address", "10.0.0.1"),
                ("port", "out"),
                ("dst_mac", "02:00:00:00:00:01"),
                ("gateway", "10.0.0.254"),
            ]
            .into_iter(),
        ))
        .expect_err("unknown field");
        assert!(bad.to_string().contains("unknown field `gateway`"), "{bad}");
        let bad = PolicyConfig::deserialize(MapDeserializer::<_, DeError>::new(
            [("source", "1.2.3.4:1"), ("segments", "x")].into_iter(),
        ))
        .expect_err("unknown field");
        assert!(
            bad.to_string().contains("unknown field `segments`"),
            "{bad}"
        );
        let mode = AclMode::deserialize(serde::de::value::StrDeserializer::<DeError>::new(
            "permit-only",
        ))
        .expect("mode");
        assert_eq!(mode, AclMode::PermitOnly);
        assert!(
            AclMode::deserialize(serde::de::value::StrDeserializer::<DeError>::new("permit"))
                .is_err()
        );
    }

    #[test]
    fn empty_config_builds_empty_tables() {
        let c = SrouConfig::default();
        assert!(c.is_empty());
        assert!(c.build(&ports).expect("builds").is_empty());
    }
}
