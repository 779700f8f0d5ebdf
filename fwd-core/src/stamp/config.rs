//! The `[tables.stamp]` section of srgate's configuration, read by serde (unknown fields
//! are errors) and turned into [`StampTables`] by [`StampConfig::build`], whose errors
//! name the field and what was expected.
//!
//! ```toml
//! [tables.stamp]
//! enabled = true                  # default true once the section is present
//! udp_port = 862                  # test packets' UDP destination port (1..=65535)
//! addresses = ["192.0.2.4", "2001:db8:d::1"]   # this node's own addresses (reflected from)
//! reply_ttl = 255                 # TTL / hop limit of replies (1..=255)
//! error_estimate = { synchronized = false, scale = 0, multiplier = 1 }
//! p_flag = 0x40                   # SRH Flags bit of the path segment (needed by reverse_path)
//!
//! # The draft's NodeD (figure 3): a test packet whose path segment is SID-Path-1 is
//! # answered along SID-D1, SID-C1, SID-B1 (travel order), then the sender's address.
//! [[tables.stamp.reverse_path]]
//! path_segment = "2001:db8:ffff::1"
//! segments = ["2001:db8:d::d1", "2001:db8:c::c1", "2001:db8:b::b1"]
//! ```

use core::net::{IpAddr, Ipv6Addr};

use serde::Deserialize;

use super::tables::{
    StampTables, StampTablesError, DEFAULT_PORT, DEFAULT_REPLY_TTL, MAX_OWN_ADDRESSES,
    MAX_REVERSE_PATHS, MAX_REVERSE_SEGMENTS, RESERVED_SRH_FLAGS,
};
use super::wire::ErrorEstimate;

/// Where the section sits in srgate's configuration (the root of every field path).
pub const SECTION: &str = "tables.stamp";

/// `[tables.stamp]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StampConfig {
    /// Answer test packets (default true).
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// UDP destination port of test packets (default 862).
    #[serde(default = "default_port")]
    pub udp_port: u16,
    /// This node's own IPv4 / IPv6 addresses: test packets to them are answered, and
    /// leading reverse segments equal to one of them are consumed by the reflector.
    #[serde(default)]
    pub addresses: Vec<String>,
    /// TTL / hop limit of replies (default 255).
    #[serde(default = "default_reply_ttl")]
    pub reply_ttl: u8,
    /// The reflector clock's Error Estimate (default: unsynchronized, scale 0, multiplier 1).
    #[serde(default)]
    pub error_estimate: ErrorEstimateConfig,
    /// SRH Flags bit of the path segment (P-flag): one bit, not 0x20 nor 0x08. Required
    /// when `reverse_path` entries exist; without it the SRH flags are not looked at.
    #[serde(default)]
    pub p_flag: Option<u8>,
    /// `[[tables.stamp.reverse_path]]`: path segment -> reverse segment list.
    #[serde(default)]
    pub reverse_path: Vec<ReversePathConfig>,
}

fn default_true() -> bool {
    true
}

fn default_port() -> u16 {
    DEFAULT_PORT
}

fn default_reply_ttl() -> u8 {
    DEFAULT_REPLY_TTL
}

impl Default for StampConfig {
    fn default() -> Self {
        StampConfig {
            enabled: true,
            udp_port: DEFAULT_PORT,
            addresses: Vec::new(),
            reply_ttl: DEFAULT_REPLY_TTL,
            error_estimate: ErrorEstimateConfig::default(),
            p_flag: None,
            reverse_path: Vec::new(),
        }
    }
}

/// `error_estimate = { synchronized, scale, multiplier }` (RFC 4656 §4.1.2): the error is
/// `multiplier × 2^(scale − 32)` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorEstimateConfig {
    /// The clock is synchronized to UTC (S bit; default false).
    #[serde(default)]
    pub synchronized: bool,
    /// Scale, 0..=63 (default 0).
    #[serde(default)]
    pub scale: u8,
    /// Multiplier, 1..=255 (default 1).
    #[serde(default = "default_multiplier")]
    pub multiplier: u8,
}

fn default_multiplier() -> u8 {
    1
}

impl Default for ErrorEstimateConfig {
    fn default() -> Self {
        ErrorEstimateConfig {
            synchronized: false,
            scale: 0,
            multiplier: 1,
        }
    }
}

/// One `[[tables.stamp.reverse_path]]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReversePathConfig {
    /// The forward path's path segment as test packets carry it (an IPv6 address).
    pub path_segment: String,
    /// The reply's segments in travel order, first segment first (1..=16 IPv6
    /// addresses); the sender's address is added after them.
    pub segments: Vec<String>,
}

/// A value of `[tables.stamp]` that cannot be built: the field, what was expected, what
/// was found (the caller adds the file name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: expected {expected}, got {got}")]
pub struct StampConfigError {
    /// Dotted path of the field, e.g. `tables.stamp.reverse_path[1].segments[0]`.
    pub field: String,
    /// What was expected.
    pub expected: String,
    /// What was found.
    pub got: String,
}

fn err(field: &str, expected: impl Into<String>, got: impl ToString) -> StampConfigError {
    StampConfigError {
        field: field.to_string(),
        expected: expected.into(),
        got: got.to_string(),
    }
}

impl StampConfig {
    /// Checks every value and builds the tables.
    pub fn build(&self) -> Result<StampTables, StampConfigError> {
        let mut b = StampTables::builder();
        b.enabled(self.enabled);
        b.port(self.udp_port).map_err(|_| {
            err(
                &format!("{SECTION}.udp_port"),
                "a UDP port in 1..=65535",
                self.udp_port,
            )
        })?;
        b.reply_ttl(self.reply_ttl).map_err(|_| {
            err(
                &format!("{SECTION}.reply_ttl"),
                "a TTL in 1..=255",
                self.reply_ttl,
            )
        })?;

        let e = self.error_estimate;
        if e.scale > 63 {
            return Err(err(
                &format!("{SECTION}.error_estimate.scale"),
                "a scale in 0..=63 (6 bits)",
                e.scale,
            ));
        }
        b.error_estimate(ErrorEstimate::new(e.synchronized, e.scale, e.multiplier))
            .map_err(|_| {
                err(
                    &format!("{SECTION}.error_estimate.multiplier"),
                    "a multiplier in 1..=255 (RFC 4656: not 0)",
                    e.multiplier,
                )
            })?;

        if let Some(bit) = self.p_flag {
            b.p_flag(bit).map_err(|_| {
                err(
                    &format!("{SECTION}.p_flag"),
                    format!(
                        "a single SRH Flags bit (0x80, 0x40, 0x10, 0x04, 0x02 or 0x01; \
                         {RESERVED_SRH_FLAGS:#04x} are the O-flag and Linux's HMAC flag)"
                    ),
                    format!("{bit:#04x}"),
                )
            })?;
        }

        if self.enabled && self.addresses.is_empty() {
            return Err(err(
                &format!("{SECTION}.addresses"),
                "at least one own address when the reflector is enabled",
                "none",
            ));
        }
        for (i, a) in self.addresses.iter().enumerate() {
            let field = format!("{SECTION}.addresses[{i}]");
            let ip: IpAddr = a
                .parse()
                .map_err(|_| err(&field, "an IPv4 or IPv6 address", format!("{a:?}")))?;
            b.own_address(ip).map_err(|e| match e {
                StampTablesError::DuplicateAddress(_) => {
                    err(&field, "an address not listed before", format!("{a:?}"))
                }
                _ => err(
                    &field,
                    format!("at most {MAX_OWN_ADDRESSES} addresses of each family"),
                    format!("{a:?}"),
                ),
            })?;
        }

        if !self.reverse_path.is_empty() && self.p_flag.is_none() {
            return Err(err(
                &format!("{SECTION}.p_flag"),
                "the SRH Flags bit of the path segment (e.g. `p_flag = 0x40`) for the \
                 reverse_path entries",
                "none",
            ));
        }
        if self.reverse_path.len() > MAX_REVERSE_PATHS {
            return Err(err(
                &format!("{SECTION}.reverse_path"),
                format!("at most {MAX_REVERSE_PATHS} reverse paths"),
                self.reverse_path.len(),
            ));
        }
        let mut segs: Vec<Ipv6Addr> = Vec::with_capacity(MAX_REVERSE_SEGMENTS);
        for (i, p) in self.reverse_path.iter().enumerate() {
            let at = format!("{SECTION}.reverse_path[{i}]");
            let psid = parse_v6(&format!("{at}.path_segment"), &p.path_segment)?;
            let n = p.segments.len();
            if n == 0 || n > MAX_REVERSE_SEGMENTS {
                return Err(err(
                    &format!("{at}.segments"),
                    format!("1..={MAX_REVERSE_SEGMENTS} IPv6 segments"),
                    format!("{n} segments"),
                ));
            }
            segs.clear();
            for (j, s) in p.segments.iter().enumerate() {
                segs.push(parse_v6(&format!("{at}.segments[{j}]"), s)?);
            }
            b.reverse_path(psid, &segs).map_err(|e| match e {
                StampTablesError::DuplicatePathSegment(_) => err(
                    &format!("{at}.path_segment"),
                    "a path segment not listed before",
                    format!("{:?}", p.path_segment),
                ),
                other => err(&at, "a valid reverse path", other),
            })?;
        }
        Ok(b.build())
    }
}

fn parse_v6(field: &str, s: &str) -> Result<Ipv6Addr, StampConfigError> {
    s.parse()
        .map_err(|_| err(field, "an IPv6 address", format!("{s:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::Ipv4Addr;
    use serde::de::value::{Error as DeError, MapDeserializer};

    /// The draft's NodeD.
    fn node_d() -> StampConfig {
        StampConfig {
            addresses: vec!["192.0.2.4".into(), "2001:db8:d::1".into()],
            p_flag: Some(0x40),
            reverse_path: vec![
                ReversePathConfig {
                    path_segment: "2001:db8:ffff::1".into(),
                    segments: vec![
                        "2001:db8:d::d1".into(),
                        "2001:db8:c::c1".into(),
                        "2001:db8:b::b1".into(),
                    ],
                },
                ReversePathConfig {
                    path_segment: "2001:db8:ffff::3".into(),
                    segments: vec!["2001:db8:d::d2".into(), "2001:db8:e::e1".into()],
                },
            ],
            ..StampConfig::default()
        }
    }

    fn v6(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    #[test]
    fn builds_node_d() {
        let t = node_d().build().unwrap();
        assert!(t.enabled());
        assert_eq!(t.port(), 862);
        assert_eq!(t.reply_ttl(), 255);
        assert_eq!(t.p_flag(), 0x40);
        assert_eq!(t.error_estimate(), ErrorEstimate(0x0001));
        assert!(t.is_own_v4(Ipv4Addr::new(192, 0, 2, 4)));
        assert!(t.is_own_v6(v6("2001:db8:d::1")));
        assert_eq!(
            t.reverse_segments(v6("2001:db8:ffff::1")).unwrap(),
            &[
                v6("2001:db8:b::b1"),
                v6("2001:db8:c::c1"),
                v6("2001:db8:d::d1")
            ]
        );
        assert_eq!(t.reverse_path_count(), 2);

        let mut c = node_d();
        c.enabled = false;
        c.addresses.clear();
        assert!(!c.build().unwrap().enabled(), "disabled needs no address");

        let mut c = node_d();
        c.error_estimate = ErrorEstimateConfig {
            synchronized: true,
            scale: 63,
            multiplier: 255,
        };
        c.udp_port = 4000;
        c.reply_ttl = 64;
        let t = c.build().unwrap();
        assert_eq!(t.error_estimate(), ErrorEstimate(0xbfff));
        assert_eq!(t.port(), 4000);
        assert_eq!(t.reply_ttl(), 64);
    }

    fn build_err(c: &StampConfig) -> String {
        c.build().unwrap_err().to_string()
    }

    #[test]
    fn errors_name_the_field() {
        let mut c = node_d();
        c.udp_port = 0;
        assert_eq!(
            build_err(&c),
            "field `tables.stamp.udp_port`: expected a UDP port in 1..=65535, got 0"
        );
        let mut c = node_d();
        c.reply_ttl = 0;
        assert_eq!(
            build_err(&c),
            "field `tables.stamp.reply_ttl`: expected a TTL in 1..=255, got 0"
        );
        let mut c = node_d();
        c.error_estimate.scale = 64;
        assert!(build_err(&c).starts_with("field `tables.stamp.error_estimate.scale`"));
        let mut c = node_d();
        c.error_estimate.multiplier = 0;
        assert_eq!(
            build_err(&c),
            "field `tables.stamp.error_estimate.multiplier`: expected a multiplier in 1..=255 \
             (RFC 4656: not 0), got 0"
        );
        for bad in [0x20u8, 0x08, 0x00, 0x41] {
            let mut c = node_d();
            c.p_flag = Some(bad);
            let e = c.build().unwrap_err();
            assert_eq!(e.field, "tables.stamp.p_flag");
            assert_eq!(e.got, format!("{bad:#04x}"));
        }
        let mut c = node_d();
        c.p_flag = None;
        assert!(build_err(&c).starts_with(
            "field `tables.stamp.p_flag`: expected the SRH Flags bit of the path segment"
        ));

        let mut c = node_d();
        c.addresses.clear();
        assert_eq!(
            build_err(&c),
            "field `tables.stamp.addresses`: expected at least one own address when the \
             reflector is enabled, got none"
        );
        let mut c = node_d();
        c.addresses.push("192.0.2.400".into());
        assert_eq!(
            build_err(&c),
            "field `tables.stamp.addresses[2]`: expected an IPv4 or IPv6 address, got \
             \"192.0.2.400\""
        );
        let mut c = node_d();
        c.addresses.push("2001:db8:d::1".into());
        assert_eq!(
            build_err(&c),
            "field `tables.stamp.addresses[2]`: expected an address not listed before, got \
             \"2001:db8:d::1\""
        );

        let mut c = node_d();
        c.reverse_path[1].path_segment = "10.0.0.1".into();
        assert_eq!(
            build_err(&c),
            "field `tables.stamp.reverse_path[1].path_segment`: expected an IPv6 address, got \
             \"10.0.0.1\""
        );
        let mut c = node_d();
        c.reverse_path[1].path_segment = "2001:db8:ffff::1".into();
        assert_eq!(
            build_err(&c),
            "field `tables.stamp.reverse_path[1].path_segment`: expected a path segment not \
             listed before, got \"2001:db8:ffff::1\""
        );
        let mut c = node_d();
        c.reverse_path[0].segments[2] = "b1".into();
        assert_eq!(
            build_err(&c),
            "field `tables.stamp.reverse_path[0].segments[2]`: expected an IPv6 address, got \
             \"b1\""
        );
        let mut c = node_d();
        c.reverse_path[0].segments.clear();
        assert_eq!(
            build_err(&c),
            "field `tables.stamp.reverse_path[0].segments`: expected 1..=16 IPv6 segments, got \
             0 segments"
        );
        c.reverse_path[0].segments = vec!["::1".into(); 17];
        assert!(build_err(&c).ends_with("got 17 segments"));
    }

    #[test]
    fn deserialization_denies_unknown_fields() {
        let ok = ReversePathConfig::deserialize(MapDeserializer::<_, DeError>::new(
            [("path_segment", "::1")].into_iter(),
        ));
        // `segments` is required.
        assert!(ok
            .unwrap_err()
            .to_string()
            .contains("missing field `segments`"));
        let e = ErrorEstimateConfig::deserialize(MapDeserializer::<_, DeError>::new(
            [("synchronised", true)].into_iter(),
        ))
        .unwrap_err();
        assert!(
            e.to_string().contains("unknown field `synchronised`"),
            "{e}"
        );
        let ok = ErrorEstimateConfig::deserialize(MapDeserializer::<_, DeError>::new(
            [("synchronized", true)].into_iter(),
        ))
        .unwrap();
        assert_eq!(
            ok,
            ErrorEstimateConfig {
                synchronized: true,
                scale: 0,
                multiplier: 1
            }
        );
        let c = StampConfig::deserialize(MapDeserializer::<_, DeError>::new(
            [("enabled", false)].into_iter(),
        ))
        .unwrap();
        assert_eq!(
            c,
            StampConfig {
                enabled: false,
                ..StampConfig::default()
            }
        );
        let e = StampConfig::deserialize(MapDeserializer::<_, DeError>::new(
            [("enable", true)].into_iter(),
        ))
        .unwrap_err();
        assert!(e.to_string().contains("unknown field `enable`"), "{e}");
    }
}
