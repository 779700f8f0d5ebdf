//! The `[tables.dyncast]` section of srgate's configuration: the DSEID → RLOC-set map
//! cache (the seed's figure 2), this node's source RLOCs and ETR addresses, read by serde
//! (unknown fields are errors) and turned into [`DyncastTables`] by
//! [`DyncastConfig::build`], whose errors name the field, what was expected and what was
//! found. Adjacencies are named `[[adjacency]]` entries, resolved by the caller.
//!
//! ```toml
//! [tables.dyncast]
//! source_v4 = "192.0.2.1"          # outer source towards IPv4 RLOCs (this ITR's RLOC)
//! # source_v6 = "2001:db8::1"      # outer source towards IPv6 RLOCs
//! udp_checksum = false             # compute the UDP checksum over IPv4 too (IPv6: always)
//! local_rlocs = ["192.0.2.1"]      # ETR: decapsulate LISP packets to these addresses
//! # decap_adjacency = "site"       # where decapsulated packets go (default: the IP path)
//! flow_capacity = 65536            # affinity entries per worker
//! flow_idle_ms = 30000             # a flow idle this long chooses again
//!
//! [[tables.dyncast.mapping]]       # DSEID_A -> RLOC-set_A
//! dseid = "198.51.100.10"          # the service's anycast EID (IPv4 or IPv6)
//! # instance_id = 7                # LISP Instance ID (24 bits), sent with the I flag
//! rlocs = [
//!   { address = "192.0.2.2", priority = 1, weight = 70, adjacency = "to-etr2" },
//!   { address = "192.0.2.3", priority = 1, weight = 30, adjacency = "to-etr3" },
//!   { address = "192.0.2.4", priority = 2, weight = 100, adjacency = "to-etr4" },  # backup
//! ]
//! ```

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Deserialize;

use super::lisp::MAX_INSTANCE_ID;
use super::map_cache::{MapCache, Rloc, MAX_RLOCS};
use super::{DyncastTables, MAX_LOCAL_RLOCS};
use crate::adjacency::Adjacency;
use crate::service::config::MAX_FLOW_CAPACITY;
use crate::service::FlowParams;

/// Where the section sits in srgate's configuration (the root of every field path).
pub const SECTION: &str = "tables.dyncast";

/// A value of `[tables.dyncast]` that cannot be built: the field, what was expected, what
/// was found (the caller adds the file name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: expected {expected}, got {got}")]
pub struct DyncastConfigError {
    /// Dotted path of the field, e.g. `tables.dyncast.mapping[0].rlocs[1].address`.
    pub field: String,
    /// What was expected.
    pub expected: String,
    /// What was found.
    pub got: String,
}

fn err(field: &str, expected: impl Into<String>, got: impl ToString) -> DyncastConfigError {
    DyncastConfigError {
        field: field.to_string(),
        expected: expected.into(),
        got: got.to_string(),
    }
}

/// `[tables.dyncast]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DyncastConfig {
    /// Outer source towards IPv4 RLOCs.
    pub source_v4: Option<String>,
    /// Outer source towards IPv6 RLOCs.
    pub source_v6: Option<String>,
    /// UDP checksum over IPv4 too (default false).
    #[serde(default)]
    pub udp_checksum: bool,
    /// ETR addresses.
    #[serde(default)]
    pub local_rlocs: Vec<String>,
    /// Where decapsulated packets go.
    pub decap_adjacency: Option<String>,
    /// Affinity entries per worker (default 65536).
    #[serde(default = "default_flow_capacity")]
    pub flow_capacity: usize,
    /// Idle time before a flow chooses again, ms (default 30000).
    #[serde(default = "default_flow_idle_ms")]
    pub flow_idle_ms: u64,
    /// `[[tables.dyncast.mapping]]`.
    #[serde(default)]
    pub mapping: Vec<MappingConfig>,
}

fn default_flow_capacity() -> usize {
    FlowParams::default().capacity
}
fn default_flow_idle_ms() -> u64 {
    FlowParams::default().idle_ms
}

impl Default for DyncastConfig {
    fn default() -> Self {
        DyncastConfig {
            source_v4: None,
            source_v6: None,
            udp_checksum: false,
            local_rlocs: Vec::new(),
            decap_adjacency: None,
            flow_capacity: default_flow_capacity(),
            flow_idle_ms: default_flow_idle_ms(),
            mapping: Vec::new(),
        }
    }
}

/// One `[[tables.dyncast.mapping]]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingConfig {
    /// The DSEID (IPv4 or IPv6).
    pub dseid: String,
    /// LISP Instance ID (24 bits).
    pub instance_id: Option<u32>,
    /// The RLOC set (may be empty: a negative entry, its packets are dropped).
    #[serde(default)]
    pub rlocs: Vec<RlocConfig>,
}

/// `{ address, priority, weight, adjacency }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RlocConfig {
    /// The ETR's address.
    pub address: String,
    /// 0..=255, lower preferred, 255 unusable.
    pub priority: u8,
    /// Relative share among equal priorities.
    pub weight: u8,
    /// The adjacency towards it.
    pub adjacency: String,
}

fn ip_field(field: &str, s: &str) -> Result<IpAddr, DyncastConfigError> {
    s.parse()
        .map_err(|_| err(field, "an IPv4 or IPv6 address", format!("{s:?}")))
}

fn unicast(a: &IpAddr) -> bool {
    !a.is_unspecified() && !a.is_multicast() && !matches!(a, IpAddr::V4(v) if v.is_broadcast())
}

impl DyncastConfig {
    /// True when nothing is configured (no mapping, no local RLOC).
    pub fn is_empty(&self) -> bool {
        self.mapping.is_empty() && self.local_rlocs.is_empty()
    }

    /// Builds the tables, resolving adjacency names with `resolve`.
    pub fn build(
        &self,
        resolve: impl Fn(&str) -> Option<Adjacency>,
    ) -> Result<DyncastTables, DyncastConfigError> {
        let mut b = DyncastTables::builder();
        b.udp_checksum(self.udp_checksum);
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
        if let Some(s) = &self.source_v4 {
            let f = format!("{SECTION}.source_v4");
            match s.parse::<Ipv4Addr>() {
                Ok(a) if unicast(&IpAddr::V4(a)) => b.source_v4(a),
                _ => return Err(err(&f, "a unicast IPv4 address", format!("{s:?}"))),
            };
        }
        if let Some(s) = &self.source_v6 {
            let f = format!("{SECTION}.source_v6");
            match s.parse::<Ipv6Addr>() {
                Ok(a) if unicast(&IpAddr::V6(a)) => b.source_v6(a),
                _ => return Err(err(&f, "a unicast IPv6 address", format!("{s:?}"))),
            };
        }
        if self.local_rlocs.len() > MAX_LOCAL_RLOCS {
            return Err(err(
                &format!("{SECTION}.local_rlocs"),
                format!("at most {MAX_LOCAL_RLOCS} addresses"),
                self.local_rlocs.len(),
            ));
        }
        for (i, s) in self.local_rlocs.iter().enumerate() {
            let f = format!("{SECTION}.local_rlocs[{i}]");
            let a = ip_field(&f, s)?;
            b.local_rloc(a)
                .map_err(|_| err(&f, "an address not already listed", format!("{s:?}")))?;
        }
        if let Some(name) = &self.decap_adjacency {
            let adj = resolve(name).ok_or_else(|| {
                err(
                    &format!("{SECTION}.decap_adjacency"),
                    "the name of an [[adjacency]]",
                    format!("`{name}`"),
                )
            })?;
            b.decap_adjacency(adj);
        }

        let mut m = MapCache::builder();
        let mut seen: Vec<(IpAddr, usize)> = Vec::new();
        for (i, e) in self.mapping.iter().enumerate() {
            let at = format!("{SECTION}.mapping[{i}]");
            let f = format!("{at}.dseid");
            let eid = ip_field(&f, &e.dseid)?;
            if !unicast(&eid) {
                return Err(err(&f, "a unicast address", format!("{:?}", e.dseid)));
            }
            if let Some((_, j)) = seen.iter().find(|(a, _)| *a == eid) {
                return Err(err(
                    &f,
                    format!("a DSEID not already mapped by {SECTION}.mapping[{j}]"),
                    format!("{:?}", e.dseid),
                ));
            }
            seen.push((eid, i));
            if let Some(id) = e.instance_id.filter(|id| *id > MAX_INSTANCE_ID) {
                return Err(err(
                    &format!("{at}.instance_id"),
                    format!("0..={MAX_INSTANCE_ID} (24 bits)"),
                    id,
                ));
            }
            if e.rlocs.len() > MAX_RLOCS {
                return Err(err(
                    &format!("{at}.rlocs"),
                    format!("at most {MAX_RLOCS} RLOCs"),
                    e.rlocs.len(),
                ));
            }
            let mut set: Vec<Rloc> = Vec::with_capacity(e.rlocs.len());
            for (k, r) in e.rlocs.iter().enumerate() {
                let here = format!("{at}.rlocs[{k}]");
                let f = format!("{here}.address");
                let addr = ip_field(&f, &r.address)?;
                if !unicast(&addr) {
                    return Err(err(&f, "a unicast address", format!("{:?}", r.address)));
                }
                if let Some(j) = set.iter().position(|x| x.addr == addr) {
                    return Err(err(
                        &f,
                        format!("an RLOC not already in rlocs[{j}]"),
                        format!("{:?}", r.address),
                    ));
                }
                let family_source = match addr {
                    IpAddr::V4(_) => ("source_v4", self.source_v4.is_some()),
                    IpAddr::V6(_) => ("source_v6", self.source_v6.is_some()),
                };
                if !family_source.1 {
                    return Err(err(
                        &format!("{SECTION}.{}", family_source.0),
                        format!("an outer source address ({f} is of that family)"),
                        "none",
                    ));
                }
                let adjacency = resolve(&r.adjacency).ok_or_else(|| {
                    err(
                        &format!("{here}.adjacency"),
                        "the name of an [[adjacency]]",
                        format!("`{}`", r.adjacency),
                    )
                })?;
                set.push(Rloc {
                    addr,
                    priority: r.priority,
                    weight: r.weight,
                    adjacency,
                });
            }
            m.mapping(eid, set, e.instance_id)
                .map_err(|x| err(&at, "a valid mapping", x))?;
        }
        b.map_cache(
            m.freeze()
                .map_err(|x| err(SECTION, "a valid map cache", x))?,
        );
        b.build()
            .map_err(|x| err(SECTION, "consistent dyncast tables", x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::value::{Error as DeError, MapDeserializer};

    fn resolve(name: &str) -> Option<Adjacency> {
        let port = match name {
            "to-etr2" => 2,
            "to-etr3" => 3,
            "site" => 9,
            _ => return None,
        };
        Some(Adjacency {
            port,
            ..Adjacency::default()
        })
    }

    fn rloc(a: &str, p: u8, w: u8, adj: &str) -> RlocConfig {
        RlocConfig {
            address: a.into(),
            priority: p,
            weight: w,
            adjacency: adj.into(),
        }
    }

    /// ITR_1 of the seed's figure 3: DSEID_A and DSEID_B on RLOC2 and RLOC3.
    fn itr1() -> DyncastConfig {
        DyncastConfig {
            source_v4: Some("192.0.2.1".into()),
            local_rlocs: vec!["192.0.2.1".into()],
            decap_adjacency: Some("site".into()),
            mapping: vec![
                MappingConfig {
                    dseid: "198.51.100.10".into(),
                    instance_id: None,
                    rlocs: vec![
                        rloc("192.0.2.2", 1, 70, "to-etr2"),
                        rloc("192.0.2.3", 1, 30, "to-etr3"),
                    ],
                },
                MappingConfig {
                    dseid: "2001:db8:5e::b".into(),
                    instance_id: Some(7),
                    rlocs: vec![rloc("192.0.2.2", 1, 1, "to-etr2")],
                },
            ],
            ..DyncastConfig::default()
        }
    }

    fn build_err(c: &DyncastConfig) -> String {
        c.build(resolve).unwrap_err().to_string()
    }

    #[test]
    fn builds_itr1() {
        let t = itr1().build(resolve).unwrap();
        let a = t
            .map_cache()
            .lookup(&"198.51.100.10".parse().unwrap())
            .unwrap();
        assert_eq!(a.rlocs.len(), 2);
        assert_eq!(a.rlocs[1].adjacency.port, 3);
        let b = t
            .map_cache()
            .lookup(&"2001:db8:5e::b".parse().unwrap())
            .unwrap();
        assert_eq!(b.instance_id, Some(7));
        assert_eq!(t.local_rlocs(), &["192.0.2.1".parse::<IpAddr>().unwrap()]);
        assert_eq!(t.decap_adjacency().unwrap().port, 9);
        assert_eq!(t.source_v4(), Some(Ipv4Addr::new(192, 0, 2, 1)));
        assert_eq!(t.source_v6(), None);
        assert!(!t.udp_checksum());
        assert_eq!(t.flow_params(), FlowParams::default());
        assert!(DyncastConfig::default().is_empty());
        assert!(DyncastConfig::default().build(resolve).unwrap().is_empty());
    }

    #[test]
    fn errors_name_the_field() {
        let mut c = itr1();
        c.mapping[0].rlocs[1].address = "192.0.2.2".into();
        assert_eq!(
            build_err(&c),
            "field `tables.dyncast.mapping[0].rlocs[1].address`: expected an RLOC not already \
             in rlocs[0], got \"192.0.2.2\""
        );
        c.mapping[0].rlocs[1].address = "2001:db8::3".into();
        assert_eq!(
            build_err(&c),
            "field `tables.dyncast.source_v6`: expected an outer source address \
             (tables.dyncast.mapping[0].rlocs[1].address is of that family), got none"
        );
        c.mapping[0].rlocs[1].address = "224.0.0.1".into();
        assert!(build_err(&c).contains("expected a unicast address"));
        c.mapping[0].rlocs[1].address = "etr3".into();
        assert!(build_err(&c).contains("expected an IPv4 or IPv6 address, got \"etr3\""));

        let mut c = itr1();
        c.mapping[0].rlocs[0].adjacency = "nowhere".into();
        assert_eq!(
            build_err(&c),
            "field `tables.dyncast.mapping[0].rlocs[0].adjacency`: expected the name of an \
             [[adjacency]], got `nowhere`"
        );
        let mut c = itr1();
        c.mapping[1].dseid = "198.51.100.10".into();
        assert!(build_err(&c).contains("mapping[1].dseid`: expected a DSEID not already mapped"));
        c.mapping[1].dseid = "0.0.0.0".into();
        assert!(build_err(&c).contains("a unicast address"));
        let mut c = itr1();
        c.mapping[1].instance_id = Some(1 << 24);
        assert_eq!(
            build_err(&c),
            "field `tables.dyncast.mapping[1].instance_id`: expected 0..=16777215 (24 bits), got \
             16777216"
        );
        let mut c = itr1();
        c.mapping[0].rlocs = vec![rloc("192.0.2.2", 1, 1, "to-etr2"); 33];
        assert!(build_err(&c)
            .starts_with("field `tables.dyncast.mapping[0].rlocs`: expected at most 32"));
        let mut c = itr1();
        c.source_v4 = Some("255.255.255.255".into());
        assert!(build_err(&c).starts_with("field `tables.dyncast.source_v4`"));
        let mut c = itr1();
        c.source_v6 = Some("::".into());
        assert!(build_err(&c).starts_with("field `tables.dyncast.source_v6`"));
        let mut c = itr1();
        c.local_rlocs.push("192.0.2.1".into());
        assert!(build_err(&c).starts_with("field `tables.dyncast.local_rlocs[1]`"));
        let mut c = itr1();
        c.decap_adjacency = Some("x".into());
        assert!(build_err(&c).starts_with("field `tables.dyncast.decap_adjacency`"));
        let mut c = itr1();
        c.flow_capacity = 0;
        assert!(build_err(&c).starts_with("field `tables.dyncast.flow_capacity`"));
        let mut c = itr1();
        c.flow_idle_ms = 0;
        assert!(build_err(&c).starts_with("field `tables.dyncast.flow_idle_ms`"));
    }

    #[test]
    fn deserialization_denies_unknown_fields() {
        let e = MappingConfig::deserialize(MapDeserializer::<_, DeError>::new(
            [("dseid", "198.51.100.10"), ("eid", "x")].into_iter(),
        ))
        .unwrap_err();
        assert!(e.to_string().contains("unknown field `eid`"), "{e}");
        let m = MappingConfig::deserialize(MapDeserializer::<_, DeError>::new(
            [("dseid", "198.51.100.10")].into_iter(),
        ))
        .unwrap();
        assert!(m.rlocs.is_empty());
    }
}
