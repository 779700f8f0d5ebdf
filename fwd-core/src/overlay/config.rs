//! `[tables.overlay]` of srgate's configuration: VRFs bound to ingress ports, EVPN
//! type-2 and type-5 routes, read by serde (unknown fields are errors) and compiled into
//! [`OverlayTables`] by [`OverlayConfig::build`], whose errors name the field, what was
//! expected and what was found.
//!
//! Routes name their target, an SRoU ingress policy; `build` takes resolvers from port
//! names to port ids and from policy names to [`RouteTarget`] indexes (both configured
//! elsewhere).
//!
//! ```toml
//! # A VRF: frames received on these ports (and, with `vlan`, only those with that outer
//! # VLAN ID) are routed in VNID 100. A binding with a VLAN wins over one without.
//! [[tables.overlay.vrf]]
//! vnid = 100                     # 0..=16777215
//! ports = ["in"]                 # [[port]] names; may be empty (routes only)
//! # vlan = 10                    # 1..=4094
//!
//! # Type-5 (IP prefix) route: longest-prefix match, IPv4 or IPv6.
//! [[tables.overlay.route5]]
//! vnid = 100
//! prefix = "10.0.0.0/8"          # no bits set beyond the length
//! target = "to-site-b"           # the name of a [[tables.srou.policy]]
//!
//! # Type-2 (MAC/IP) route: exact MAC, and exact host IP when given. Wins over type-5.
//! [[tables.overlay.route2]]
//! vnid = 100
//! mac = "02:00:00:00:00:05"
//! ip = "10.1.1.5"                # optional
//! target = "to-site-b"
//! ```

use core::net::IpAddr;
use std::collections::HashMap;

use serde::Deserialize;

use super::lpm::{IpPrefix, PrefixError, MAX_NEXT_HOP};
use super::{OverlayTables, OverlayTablesBuilder, RouteTarget, MAX_VNID};
use crate::srou::config::parse_mac;

/// Where the section sits in srgate's configuration (the root of every field path).
pub const SECTION: &str = "tables.overlay";

/// `[tables.overlay]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverlayConfig {
    /// `[[tables.overlay.vrf]]`: VRFs and their ingress ports.
    #[serde(default)]
    pub vrf: Vec<VrfConfig>,
    /// `[[tables.overlay.route5]]`: EVPN type-5 (IP prefix) routes.
    #[serde(default)]
    pub route5: Vec<Route5Config>,
    /// `[[tables.overlay.route2]]`: EVPN type-2 (MAC/IP) routes.
    #[serde(default)]
    pub route2: Vec<Route2Config>,
}

/// One `[[tables.overlay.vrf]]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VrfConfig {
    /// The VNID (24 bits).
    pub vnid: u32,
    /// Names of the ports whose frames are routed in this VRF.
    #[serde(default)]
    pub ports: Vec<String>,
    /// Only frames with this outer VLAN ID (1..=4094); all frames of the ports if absent.
    pub vlan: Option<u16>,
}

/// One `[[tables.overlay.route5]]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route5Config {
    /// The VNID of a declared VRF.
    pub vnid: u32,
    /// `address/length`, IPv4 or IPv6, host bits zero.
    pub prefix: String,
    /// Name of the SRoU policy.
    pub target: String,
}

/// One `[[tables.overlay.route2]]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route2Config {
    /// The VNID of a declared VRF.
    pub vnid: u32,
    /// The host's MAC, `02:00:00:00:00:05`.
    pub mac: String,
    /// The host's IPv4 or IPv6 address, if the route carries one.
    pub ip: Option<String>,
    /// Name of the SRoU policy.
    pub target: String,
}

/// A value of `[tables.overlay]` that cannot be built: the field, what was expected, what
/// was found (the caller adds the file name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: expected {expected}, got {got}")]
pub struct OverlayConfigError {
    /// Dotted path of the field, e.g. `tables.overlay.route5[2].prefix`.
    pub field: String,
    /// What was expected.
    pub expected: String,
    /// What was found.
    pub got: String,
}

fn err(field: String, expected: impl Into<String>, got: impl ToString) -> OverlayConfigError {
    OverlayConfigError {
        field,
        expected: expected.into(),
        got: got.to_string(),
    }
}

impl OverlayConfig {
    /// True with no VRF and no route.
    pub fn is_empty(&self) -> bool {
        self.vrf.is_empty() && self.route5.is_empty() && self.route2.is_empty()
    }

    /// Checks every value and compiles the tables, resolving port names with `port_id`
    /// and SRoU policy names with `resolve_target`.
    pub fn build(
        &self,
        port_id: impl Fn(&str) -> Option<u16>,
        resolve_target: impl Fn(&str) -> Option<u32>,
    ) -> Result<OverlayTables, OverlayConfigError> {
        self.builder(port_id, resolve_target).map(|b| b.build())
    }

    /// As [`OverlayConfig::build`], but returns the builder (for a control plane that
    /// keeps adding and removing routes on top of the configured ones).
    pub fn builder(
        &self,
        port_id: impl Fn(&str) -> Option<u16>,
        resolve_target: impl Fn(&str) -> Option<u32>,
    ) -> Result<OverlayTablesBuilder, OverlayConfigError> {
        let mut b = OverlayTables::builder();
        let mut vrf_at: HashMap<u32, usize> = HashMap::new();
        for (i, v) in self.vrf.iter().enumerate() {
            let at = format!("{SECTION}.vrf[{i}]");
            if v.vnid > MAX_VNID {
                return Err(err(
                    format!("{at}.vnid"),
                    format!("0..={MAX_VNID} (24 bits)"),
                    v.vnid,
                ));
            }
            if let Some(j) = vrf_at.insert(v.vnid, i) {
                return Err(err(
                    format!("{at}.vnid"),
                    format!("a VNID not declared by {SECTION}.vrf[{j}]"),
                    v.vnid,
                ));
            }
            if let Some(vlan) = v.vlan {
                if !(1..=4094).contains(&vlan) {
                    return Err(err(format!("{at}.vlan"), "a VLAN ID in 1..=4094", vlan));
                }
            }
            b.vrf(v.vnid)
                .map_err(|e| err(format!("{at}.vnid"), "a valid VNID", e))?;
        }
        // (port id, VLAN) -> field that bound it.
        let mut bound: HashMap<(u16, Option<u16>), String> = HashMap::new();
        for (i, v) in self.vrf.iter().enumerate() {
            for (j, name) in v.ports.iter().enumerate() {
                let field = format!("{SECTION}.vrf[{i}].ports[{j}]");
                let id = port_id(name).ok_or_else(|| {
                    err(field.clone(), "the name of a [[port]]", format!("{name:?}"))
                })?;
                if let Some(other) = bound.get(&(id, v.vlan)) {
                    let what = match v.vlan {
                        Some(vlan) => format!("{name:?} with VLAN {vlan}"),
                        None => format!("{name:?}"),
                    };
                    return Err(err(
                        field,
                        format!("a port (and VLAN) not already bound by `{other}`"),
                        what,
                    ));
                }
                b.bind(id, v.vlan, v.vnid)
                    .map_err(|e| err(field.clone(), "a free port binding", e))?;
                bound.insert((id, v.vlan), field);
            }
        }

        // Field paths are only written out for an error: a bulk of 100k routes from the
        // control plane must not format 300k strings to build nothing but the tables.
        let vnid = |field: &dyn Fn() -> String, vnid: u32| -> Result<u32, OverlayConfigError> {
            if vrf_at.contains_key(&vnid) {
                Ok(vnid)
            } else {
                Err(err(field(), "the VNID of a [[tables.overlay.vrf]]", vnid))
            }
        };
        let target =
            |field: &dyn Fn() -> String, name: &str| -> Result<RouteTarget, OverlayConfigError> {
                match resolve_target(name) {
                    Some(t) if t <= MAX_NEXT_HOP => Ok(RouteTarget(t)),
                    Some(t) => Err(err(
                        field(),
                        format!("a policy index at most {MAX_NEXT_HOP}"),
                        t,
                    )),
                    None => Err(err(
                        field(),
                        "the name of an SRoU policy ([[tables.srou.policy]] name)",
                        format!("{name:?}"),
                    )),
                }
            };

        let mut prefixes: HashMap<(u32, IpPrefix), usize> = HashMap::new();
        for (i, r) in self.route5.iter().enumerate() {
            let at = || format!("{SECTION}.route5[{i}]");
            let vnid = vnid(&|| format!("{}.vnid", at()), r.vnid)?;
            let prefix: IpPrefix = r.prefix.parse().map_err(|e| {
                let expected = match e {
                    PrefixError::Syntax => "an IPv4 or IPv6 prefix `address/length`",
                    PrefixError::Length => "a length of at most 32 (IPv4) or 128 (IPv6)",
                    PrefixError::HostBits => {
                        "a prefix with no address bits set beyond its length (e.g. 10.0.0.0/8)"
                    }
                };
                err(
                    format!("{}.prefix", at()),
                    expected,
                    format!("{:?}", r.prefix),
                )
            })?;
            if let Some(j) = prefixes.insert((vnid, prefix), i) {
                return Err(err(
                    format!("{}.prefix", at()),
                    format!("a prefix not already routed in VNID {vnid} by {SECTION}.route5[{j}]"),
                    prefix,
                ));
            }
            let t = target(&|| format!("{}.target", at()), &r.target)?;
            b.route5(vnid, prefix, t)
                .map_err(|e| err(format!("{}.target", at()), "a valid route target", e))?;
        }

        let mut macs: HashMap<(u32, [u8; 6]), usize> = HashMap::new();
        let mut hosts: HashMap<(u32, IpAddr), usize> = HashMap::new();
        for (i, r) in self.route2.iter().enumerate() {
            let at = || format!("{SECTION}.route2[{i}]");
            let vnid = vnid(&|| format!("{}.vnid", at()), r.vnid)?;
            let mac = parse_mac(&r.mac).ok_or_else(|| {
                err(
                    format!("{}.mac", at()),
                    "a MAC address (02:00:00:00:00:05)",
                    format!("{:?}", r.mac),
                )
            })?;
            if let Some(j) = macs.insert((vnid, mac), i) {
                return Err(err(
                    format!("{}.mac", at()),
                    format!("a MAC not already routed in VNID {vnid} by {SECTION}.route2[{j}]"),
                    &r.mac,
                ));
            }
            let ip = match &r.ip {
                None => None,
                Some(s) => {
                    let ip: IpAddr = s.parse().map_err(|_| {
                        err(
                            format!("{}.ip", at()),
                            "an IPv4 or IPv6 host address",
                            format!("{s:?}"),
                        )
                    })?;
                    if let Some(j) = hosts.insert((vnid, ip), i) {
                        return Err(err(
                            format!("{}.ip", at()),
                            format!(
                                "an address not already routed in VNID {vnid} by {SECTION}.route2[{j}]"
                            ),
                            ip,
                        ));
                    }
                    Some(ip)
                }
            };
            let t = target(&|| format!("{}.target", at()), &r.target)?;
            b.route2(vnid, mac, ip, t)
                .map_err(|e| err(format!("{}.target", at()), "a valid route target", e))?;
        }
        Ok(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::parse;
    use serde::de::value::{Error as DeError, MapDeserializer};

    fn ports(name: &str) -> Option<u16> {
        match name {
            "in" => Some(0),
            "in2" => Some(2),
            _ => None,
        }
    }

    fn targets(name: &str) -> Option<u32> {
        match name {
            "site-b" => Some(0),
            "site-c" => Some(1),
            "huge" => Some(u32::MAX),
            _ => None,
        }
    }

    fn good() -> OverlayConfig {
        OverlayConfig {
            vrf: vec![
                VrfConfig {
                    vnid: 100,
                    ports: vec!["in".into()],
                    vlan: None,
                },
                VrfConfig {
                    vnid: 200,
                    ports: vec!["in".into(), "in2".into()],
                    vlan: Some(20),
                },
            ],
            route5: vec![
                Route5Config {
                    vnid: 100,
                    prefix: "10.0.0.0/8".into(),
                    target: "site-b".into(),
                },
                Route5Config {
                    vnid: 100,
                    prefix: "2001:db8::/32".into(),
                    target: "site-c".into(),
                },
                Route5Config {
                    vnid: 200,
                    prefix: "0.0.0.0/0".into(),
                    target: "site-c".into(),
                },
            ],
            route2: vec![Route2Config {
                vnid: 100,
                mac: "02:00:00:00:00:05".into(),
                ip: Some("10.1.1.5".into()),
                target: "site-c".into(),
            }],
        }
    }

    fn ipv4_frame(vlan: Option<u16>, dst: [u8; 4]) -> Vec<u8> {
        let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
        if let Some(v) = vlan {
            f.extend_from_slice(&[0x81, 0x00]);
            f.extend_from_slice(&v.to_be_bytes());
        }
        f.extend_from_slice(&[0x08, 0x00]);
        let mut ip = [
            0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 192, 0, 2, 1, 0, 0, 0, 0,
        ];
        ip[16..20].copy_from_slice(&dst);
        let c = crate::wire::checksum::checksum(&ip);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        f.extend_from_slice(&ip);
        f.extend_from_slice(&[0x04, 0xd2, 0x16, 0x2e, 0, 8, 0, 0]);
        f
    }

    #[test]
    fn builds_and_routes() {
        let t = good().build(ports, targets).expect("builds");
        assert_eq!(t.vrfs().count(), 2);
        assert_eq!(t.vrf(100).map(|v| v.route_counts()), Some((1, 1, 2)));
        assert_eq!(t.max_target(), Some(RouteTarget(1)));
        let route = |port: u16, vlan: Option<u16>, dst: [u8; 4]| {
            let f = ipv4_frame(vlan, dst);
            let m = parse(&f).expect("parses");
            t.route(port, &f, &m)
        };
        // Port 0 untagged: VNID 100.
        let r = route(0, None, [10, 9, 9, 9]).expect("ok").expect("routed");
        assert_eq!((r.vnid, r.target), (100, RouteTarget(0)));
        // The type-2 host beats the /8.
        let r = route(0, None, [10, 1, 1, 5]).expect("ok").expect("routed");
        assert_eq!(r.target, RouteTarget(1));
        // VLAN 20 on port 0 goes to VNID 200 (default route); VLAN 30 falls back to 100.
        let r = route(0, Some(20), [172, 16, 0, 1])
            .expect("ok")
            .expect("routed");
        assert_eq!((r.vnid, r.target), (200, RouteTarget(1)));
        assert_eq!(
            route(0, Some(30), [172, 16, 0, 1]),
            Err(crate::drop::DropReason::OverlayNoRoute)
        );
        // Port 2: only VLAN 20 is bound.
        assert_eq!(route(2, None, [10, 0, 0, 1]), Ok(None));
        assert!(route(2, Some(20), [10, 0, 0, 1]).expect("ok").is_some());
        // Unbound port.
        assert_eq!(route(1, None, [10, 0, 0, 1]), Ok(None));
        assert_eq!(route(999, None, [10, 0, 0, 1]), Ok(None));
        assert!(OverlayConfig::default().is_empty());
        assert!(OverlayConfig::default()
            .build(ports, targets)
            .expect("empty")
            .is_empty());
    }

    fn build_err(f: impl FnOnce(&mut OverlayConfig)) -> String {
        let mut c = good();
        f(&mut c);
        c.build(ports, targets).expect_err("must fail").to_string()
    }

    #[test]
    fn errors_name_the_field() {
        type Edit = Box<dyn FnOnce(&mut OverlayConfig)>;
        let cases: Vec<(Edit, &str)> = vec![
            (
                Box::new(|c| c.vrf[0].vnid = 1 << 24),
                "field `tables.overlay.vrf[0].vnid`: expected 0..=16777215 (24 bits), got 16777216",
            ),
            (
                Box::new(|c| c.vrf[1].vnid = 100),
                "field `tables.overlay.vrf[1].vnid`: expected a VNID not declared by tables.overlay.vrf[0], got 100",
            ),
            (
                Box::new(|c| c.vrf[1].vlan = Some(4095)),
                "field `tables.overlay.vrf[1].vlan`: expected a VLAN ID in 1..=4094, got 4095",
            ),
            (
                Box::new(|c| c.vrf[0].ports.push("nope".into())),
                "field `tables.overlay.vrf[0].ports[1]`: expected the name of a [[port]], got \"nope\"",
            ),
            (
                Box::new(|c| c.vrf[1].vlan = None),
                "field `tables.overlay.vrf[1].ports[0]`: expected a port (and VLAN) not already bound by `tables.overlay.vrf[0].ports[0]`, got \"in\"",
            ),
            (
                Box::new(|c| c.vrf[1].ports.push("in2".into())),
                "field `tables.overlay.vrf[1].ports[2]`: expected a port (and VLAN) not already bound by `tables.overlay.vrf[1].ports[1]`, got \"in2\" with VLAN 20",
            ),
            (
                Box::new(|c| c.route5[1].vnid = 7),
                "field `tables.overlay.route5[1].vnid`: expected the VNID of a [[tables.overlay.vrf]], got 7",
            ),
            (
                Box::new(|c| c.route5[0].prefix = "10.0.0.0".into()),
                "field `tables.overlay.route5[0].prefix`: expected an IPv4 or IPv6 prefix `address/length`, got \"10.0.0.0\"",
            ),
            (
                Box::new(|c| c.route5[0].prefix = "10.0.0.0/33".into()),
                "field `tables.overlay.route5[0].prefix`: expected a length of at most 32 (IPv4) or 128 (IPv6), got \"10.0.0.0/33\"",
            ),
            (
                Box::new(|c| c.route5[0].prefix = "10.0.0.1/8".into()),
                "field `tables.overlay.route5[0].prefix`: expected a prefix with no address bits set beyond its length (e.g. 10.0.0.0/8), got \"10.0.0.1/8\"",
            ),
            (
                Box::new(|c| c.route5[0].prefix = "10.0.0.0/+8".into()),
                "field `tables.overlay.route5[0].prefix`: expected an IPv4 or IPv6 prefix",
            ),
            (
                Box::new(|c| c.route5.push(c.route5[1].clone())),
                "field `tables.overlay.route5[3].prefix`: expected a prefix not already routed in VNID 100 by tables.overlay.route5[1], got 2001:db8::/32",
            ),
            (
                Box::new(|c| c.route5[2].target = "site-z".into()),
                "field `tables.overlay.route5[2].target`: expected the name of an SRoU policy ([[tables.srou.policy]] name), got \"site-z\"",
            ),
            (
                Box::new(|c| c.route5[2].target = "huge".into()),
                "field `tables.overlay.route5[2].target`: expected a policy index at most 2147483646, got 4294967295",
            ),
            (
                Box::new(|c| c.route2[0].vnid = 300),
                "field `tables.overlay.route2[0].vnid`: expected the VNID of a [[tables.overlay.vrf]], got 300",
            ),
            (
                Box::new(|c| c.route2[0].mac = "02:00:00:00:00".into()),
                "field `tables.overlay.route2[0].mac`: expected a MAC address (02:00:00:00:00:05), got \"02:00:00:00:00\"",
            ),
            (
                Box::new(|c| c.route2[0].ip = Some("10.1.1.0/24".into())),
                "field `tables.overlay.route2[0].ip`: expected an IPv4 or IPv6 host address, got \"10.1.1.0/24\"",
            ),
            (
                Box::new(|c| {
                    let mut r = c.route2[0].clone();
                    r.ip = None;
                    c.route2.push(r);
                }),
                "field `tables.overlay.route2[1].mac`: expected a MAC not already routed in VNID 100 by tables.overlay.route2[0], got 02:00:00:00:00:05",
            ),
            (
                Box::new(|c| {
                    let mut r = c.route2[0].clone();
                    r.mac = "02:00:00:00:00:06".into();
                    c.route2.push(r);
                }),
                "field `tables.overlay.route2[1].ip`: expected an address not already routed in VNID 100 by tables.overlay.route2[0], got 10.1.1.5",
            ),
            (
                Box::new(|c| c.route2[0].target = String::new()),
                "field `tables.overlay.route2[0].target`: expected the name of an SRoU policy",
            ),
        ];
        for (f, want) in cases {
            let got = build_err(f);
            assert!(got.starts_with(want), "got: {got}\nwant: {want}");
        }
        // The same MAC, IP or prefix in another VNID is fine.
        let mut c = good();
        c.route2.push(Route2Config {
            vnid: 200,
            ..c.route2[0].clone()
        });
        c.route5.push(Route5Config {
            vnid: 200,
            ..c.route5[0].clone()
        });
        assert!(c.build(ports, targets).is_ok());
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let bad = Route2Config::deserialize(MapDeserializer::<_, DeError>::new(
            [
                ("mac", "02:00:00:00:00:01"),
                ("target", "x"),
                ("nexthop", "y"),
            ]
            .into_iter(),
        ))
        .expect_err("unknown field");
        assert!(bad.to_string().contains("unknown field `nexthop`"), "{bad}");
        let bad = VrfConfig::deserialize(MapDeserializer::<_, DeError>::new(
            [("port", "in")].into_iter(),
        ))
        .expect_err("unknown field");
        assert!(bad.to_string().contains("unknown field `port`"), "{bad}");
        let bad = OverlayConfig::deserialize(MapDeserializer::<_, DeError>::new(
            [("route3", "in")].into_iter(),
        ))
        .expect_err("unknown field");
        assert!(bad.to_string().contains("unknown field `route3`"), "{bad}");
    }
}
