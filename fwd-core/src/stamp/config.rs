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
//!
//! # This node's own session-senders (see `super::sender`): probe a peer's reflector.
//! # They run whether or not this node's reflector is enabled (a sender-only node sets
//! # `enabled = false` and lists no addresses).
//! [[tables.stamp.sender]]
//! id = 1                          # unique; names the session's results across reloads
//! adjacency = "to-b"              # an [[adjacency]]: egress port and MACs
//! source = "10.0.0.1"             # this node's address the probes come from
//! source_port = 40862             # this node's UDP port (not udp_port above); replies come here
//! reflector = "10.0.0.2"          # the peer reflector (same family as source)
//! reflector_port = 862            # default 862
//! interval_ms = 100               # default 100 (1..=3600000)
//! timeout_ms = 1000               # unanswered this long: lost (default 1000; at most 1023 intervals)
//! loss_window_ms = 10000          # loss is reported over this many ms of settled probes (default 10000)
//! padding = 0                     # zero bytes after the 44-byte test packet (0..=1400)
//! ttl = 255                       # TTL / hop limit of the probes (1..=255)
//! ```
//!
//! The senders' Error Estimate is the section's `error_estimate` (one clock per node).

use core::net::{IpAddr, Ipv6Addr};
use core::time::Duration;
use std::sync::Arc;

use serde::Deserialize;

use super::sender::{
    ProbeResults, SenderError, SenderTables, SessionParams, MAX_PADDING, MAX_SESSIONS,
    MAX_SETTLE_LAG,
};
use crate::adjacency::Adjacency;

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
    /// `[[tables.stamp.sender]]`: this node's STAMP session-senders.
    #[serde(default)]
    pub sender: Vec<SenderConfig>,
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
            sender: Vec::new(),
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

/// One `[[tables.stamp.sender]]`: a STAMP session-sender of this node.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SenderConfig {
    /// Session id, unique in the section: names its results across table reloads.
    pub id: u32,
    /// Name of the `[[adjacency]]` the probes leave by (egress port and MACs).
    pub adjacency: String,
    /// This node's address the probes come from.
    pub source: String,
    /// This node's UDP port for the session (replies come back to it).
    pub source_port: u16,
    /// The peer reflector's address.
    pub reflector: String,
    /// The peer reflector's UDP port (default 862).
    #[serde(default = "default_port")]
    pub reflector_port: u16,
    /// Milliseconds between probes (default 100).
    #[serde(default = "default_interval_ms")]
    pub interval_ms: u64,
    /// Milliseconds after which an unanswered probe is lost (default 1000).
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Milliseconds of settled probes over which loss is reported (default 10000).
    #[serde(default = "default_loss_window_ms")]
    pub loss_window_ms: u64,
    /// Zero bytes after the 44-byte test packet (default 0).
    #[serde(default)]
    pub padding: u16,
    /// TTL / hop limit of the probes (default 255).
    #[serde(default = "default_sender_ttl")]
    pub ttl: u8,
}

fn default_interval_ms() -> u64 {
    100
}

fn default_timeout_ms() -> u64 {
    1000
}

fn default_loss_window_ms() -> u64 {
    10_000
}

fn default_sender_ttl() -> u8 {
    super::sender::DEFAULT_TTL
}

/// Most milliseconds between two probes (one hour).
pub const MAX_INTERVAL_MS: u64 = 3_600_000;

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
    /// Checks every value and builds the tables; session-senders need
    /// [`StampConfig::build_with`] (their adjacencies are named).
    pub fn build(&self) -> Result<StampTables, StampConfigError> {
        self.build_with(|_| None, None)
    }

    /// Checks every value and builds the tables. `adjacency` resolves the senders'
    /// adjacency names; `results` is the run's one [`ProbeResults`] (srgate creates it once
    /// and passes it to every build, so results survive table replacements); `None` gives
    /// the senders fresh results of their own (validation, tests).
    pub fn build_with<F>(
        &self,
        adjacency: F,
        results: Option<&Arc<ProbeResults>>,
    ) -> Result<StampTables, StampConfigError>
    where
        F: Fn(&str) -> Option<Adjacency>,
    {
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
        if !self.sender.is_empty() {
            let e = self.error_estimate;
            let estimate = ErrorEstimate::new(e.synchronized, e.scale, e.multiplier);
            b.senders(self.build_senders(&adjacency, results, estimate)?);
        }
        Ok(b.build())
    }

    fn build_senders<F>(
        &self,
        adjacency: &F,
        results: Option<&Arc<ProbeResults>>,
        estimate: ErrorEstimate,
    ) -> Result<SenderTables, StampConfigError>
    where
        F: Fn(&str) -> Option<Adjacency>,
    {
        if self.sender.len() > MAX_SESSIONS {
            return Err(err(
                &format!("{SECTION}.sender"),
                format!("at most {MAX_SESSIONS} sessions"),
                self.sender.len(),
            ));
        }
        let results = results
            .cloned()
            .unwrap_or_else(|| Arc::new(ProbeResults::new()));
        let mut t = SenderTables::builder(results);
        for (i, c) in self.sender.iter().enumerate() {
            let at = format!("{SECTION}.sender[{i}]");
            let f = |name: &str| format!("{at}.{name}");
            let adj = adjacency(&c.adjacency).ok_or_else(|| {
                err(
                    &f("adjacency"),
                    "the name of an [[adjacency]]",
                    format!("{:?}", c.adjacency),
                )
            })?;
            let ip = |name: &str, s: &str| -> Result<IpAddr, StampConfigError> {
                s.parse()
                    .map_err(|_| err(&f(name), "an IPv4 or IPv6 address", format!("{s:?}")))
            };
            let source = ip("source", &c.source)?;
            let reflector = ip("reflector", &c.reflector)?;
            if source.is_ipv4() != reflector.is_ipv4() {
                return Err(err(
                    &f("reflector"),
                    format!("an address of the same family as source {}", c.source),
                    format!("{:?}", c.reflector),
                ));
            }
            if c.source_port == 0 || c.source_port == self.udp_port {
                return Err(err(
                    &f("source_port"),
                    format!(
                        "a UDP port in 1..=65535 other than this node's reflector port \
                         (udp_port = {})",
                        self.udp_port
                    ),
                    c.source_port,
                ));
            }
            if c.reflector_port == 0 {
                return Err(err(&f("reflector_port"), "a UDP port in 1..=65535", 0));
            }
            if c.interval_ms == 0 || c.interval_ms > MAX_INTERVAL_MS {
                return Err(err(
                    &f("interval_ms"),
                    format!("milliseconds in 1..={MAX_INTERVAL_MS}"),
                    c.interval_ms,
                ));
            }
            let max_timeout = c.interval_ms.saturating_mul(u64::from(MAX_SETTLE_LAG));
            if c.timeout_ms == 0 || c.timeout_ms > max_timeout {
                return Err(err(
                    &f("timeout_ms"),
                    format!(
                        "milliseconds in 1..={max_timeout} (at most {MAX_SETTLE_LAG} intervals \
                         of interval_ms = {})",
                        c.interval_ms
                    ),
                    c.timeout_ms,
                ));
            }
            if c.loss_window_ms == 0 || c.loss_window_ms / c.interval_ms > u64::from(u32::MAX) {
                return Err(err(
                    &f("loss_window_ms"),
                    "milliseconds, at least 1 (and fewer than 2^32 intervals)",
                    c.loss_window_ms,
                ));
            }
            if c.padding > MAX_PADDING {
                return Err(err(
                    &f("padding"),
                    format!("bytes in 0..={MAX_PADDING}"),
                    c.padding,
                ));
            }
            if c.ttl == 0 {
                return Err(err(&f("ttl"), "a TTL in 1..=255", 0));
            }
            let params = SessionParams {
                id: c.id,
                adjacency: adj,
                source,
                source_port: c.source_port,
                reflector,
                reflector_port: c.reflector_port,
                interval: Duration::from_millis(c.interval_ms),
                timeout: Duration::from_millis(c.timeout_ms),
                loss_window: Duration::from_millis(c.loss_window_ms),
                padding: c.padding,
                ttl: c.ttl,
                error_estimate: estimate,
            };
            t.session(params).map_err(|e| match e {
                SenderError::DuplicateId(id) => err(&f("id"), "a session id not used before", id),
                SenderError::DuplicateSource(..) => err(
                    &f("source_port"),
                    format!(
                        "a (source, source_port) pair not used before ({})",
                        c.source
                    ),
                    c.source_port,
                ),
                SenderError::NotUnicast(a) if a == source => {
                    err(&f("source"), "a unicast address", format!("{:?}", c.source))
                }
                SenderError::NotUnicast(_) => err(
                    &f("reflector"),
                    "a unicast address",
                    format!("{:?}", c.reflector),
                ),
                SenderError::TooManySessions => err(
                    &f("id"),
                    format!("at most {MAX_SESSIONS} distinct session ids in one run"),
                    c.id,
                ),
                other => err(&at, "a valid session", other),
            })?;
        }
        Ok(t.build())
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

    fn to_b() -> Adjacency {
        Adjacency {
            port: 2,
            dst_mac: [2, 0, 0, 0, 0, 0xb],
            src_mac: [2, 0, 0, 0, 0, 0xa],
        }
    }

    fn named(name: &str) -> Option<Adjacency> {
        (name == "to-b").then(to_b)
    }

    fn sender(id: u32, source: &str, reflector: &str) -> SenderConfig {
        SenderConfig {
            id,
            adjacency: "to-b".into(),
            source: source.into(),
            source_port: 40862,
            reflector: reflector.into(),
            reflector_port: 862,
            interval_ms: 100,
            timeout_ms: 1000,
            loss_window_ms: 10_000,
            padding: 0,
            ttl: 255,
        }
    }

    /// A sender-only node: reflector off, two sessions.
    fn senders() -> StampConfig {
        StampConfig {
            enabled: false,
            error_estimate: ErrorEstimateConfig {
                synchronized: true,
                scale: 22,
                multiplier: 1,
            },
            sender: vec![
                sender(1, "10.0.0.1", "10.0.0.2"),
                sender(2, "2001:db8::1", "2001:db8::2"),
            ],
            ..StampConfig::default()
        }
    }

    fn sender_err(c: &StampConfig) -> String {
        c.build_with(named, None).unwrap_err().to_string()
    }

    #[test]
    fn builds_senders_with_shared_results() {
        let results = Arc::new(ProbeResults::new());
        let t = senders().build_with(named, Some(&results)).unwrap();
        assert!(!t.enabled(), "the reflector is off, the senders run");
        let s = t.sender();
        assert_eq!(s.sessions().len(), 2);
        let p = s.sessions()[1].params();
        assert_eq!(p.adjacency, to_b());
        assert_eq!(p.source, "2001:db8::1".parse::<IpAddr>().unwrap());
        assert_eq!((p.source_port, p.reflector_port, p.ttl), (40862, 862, 255));
        assert_eq!(p.interval, Duration::from_millis(100));
        assert_eq!(p.error_estimate, ErrorEstimate::new(true, 22, 1));
        assert!(Arc::ptr_eq(s.results().unwrap(), &results));
        // Rebuilding (a table replacement) keeps the slots.
        let again = senders().build_with(named, Some(&results)).unwrap();
        assert_eq!(again.sender(), t.sender());
        assert_eq!(results.snapshot().len(), 2);
        // Without a resolver (plain `build`), the adjacency is unknown.
        assert_eq!(
            senders().build().unwrap_err().field,
            "tables.stamp.sender[0].adjacency"
        );
        // No sender: no results at all.
        assert!(node_d()
            .build_with(named, Some(&results))
            .unwrap()
            .sender()
            .is_empty());
    }

    #[test]
    fn sender_errors_name_the_field() {
        let check = |f: &dyn Fn(&mut SenderConfig), want: &str| {
            let mut c = senders();
            f(&mut c.sender[1]);
            let e = sender_err(&c);
            assert!(e.starts_with(want), "{e}\nexpected {want}");
        };
        check(
            &|s| s.adjacency = "to-z".into(),
            "field `tables.stamp.sender[1].adjacency`: expected the name of an [[adjacency]], got \"to-z\"",
        );
        check(
            &|s| s.source = "2001:db8::zz".into(),
            "field `tables.stamp.sender[1].source`: expected an IPv4 or IPv6 address",
        );
        check(
            &|s| s.reflector = "10.0.0.2".into(),
            "field `tables.stamp.sender[1].reflector`: expected an address of the same family \
             as source 2001:db8::1, got \"10.0.0.2\"",
        );
        check(
            &|s| s.reflector = "ff02::1".into(),
            "field `tables.stamp.sender[1].reflector`: expected a unicast address",
        );
        check(
            &|s| s.source_port = 862,
            "field `tables.stamp.sender[1].source_port`: expected a UDP port in 1..=65535 other \
             than this node's reflector port (udp_port = 862), got 862",
        );
        check(
            &|s| s.source_port = 0,
            "field `tables.stamp.sender[1].source_port`",
        );
        check(
            &|s| s.reflector_port = 0,
            "field `tables.stamp.sender[1].reflector_port`: expected a UDP port in 1..=65535, got 0",
        );
        check(
            &|s| s.interval_ms = 0,
            "field `tables.stamp.sender[1].interval_ms`: expected milliseconds in 1..=3600000, got 0",
        );
        check(
            &|s| s.timeout_ms = 102_400,
            "field `tables.stamp.sender[1].timeout_ms`: expected milliseconds in 1..=102300 (at \
             most 1023 intervals of interval_ms = 100), got 102400",
        );
        check(
            &|s| s.loss_window_ms = 0,
            "field `tables.stamp.sender[1].loss_window_ms`",
        );
        check(
            &|s| s.padding = 1401,
            "field `tables.stamp.sender[1].padding`: expected bytes in 0..=1400, got 1401",
        );
        check(
            &|s| s.ttl = 0,
            "field `tables.stamp.sender[1].ttl`: expected a TTL in 1..=255, got 0",
        );
        check(
            &|s| s.id = 1,
            "field `tables.stamp.sender[1].id`: expected a session id not used before, got 1",
        );
        let mut c = senders();
        c.sender[1] = sender(2, "10.0.0.1", "10.0.0.3");
        assert_eq!(
            sender_err(&c),
            "field `tables.stamp.sender[1].source_port`: expected a (source, source_port) pair \
             not used before (10.0.0.1), got 40862"
        );
        let mut c = senders();
        c.sender = (0..65).map(|i| sender(i, "10.0.0.1", "10.0.0.2")).collect();
        assert_eq!(
            sender_err(&c),
            "field `tables.stamp.sender`: expected at most 64 sessions, got 65"
        );
        // A run's 64 slots all taken by other ids.
        let results = Arc::new(ProbeResults::new());
        for id in 100..164 {
            results.bind(id).unwrap();
        }
        assert_eq!(
            senders()
                .build_with(named, Some(&results))
                .unwrap_err()
                .to_string(),
            "field `tables.stamp.sender[0].id`: expected at most 64 distinct session ids in one \
             run, got 1"
        );
        // The reflector's own rule still holds when it is enabled.
        let mut c = senders();
        c.enabled = true;
        assert!(sender_err(&c).starts_with("field `tables.stamp.addresses`"));
    }

    #[test]
    fn sender_deserializes_with_defaults() {
        use serde::de::value::MapDeserializer;
        let c = SenderConfig::deserialize(MapDeserializer::<_, DeError>::new(
            [
                ("id", toml_like::U(3)),
                ("adjacency", toml_like::S("to-b")),
                ("source", toml_like::S("10.0.0.1")),
                ("source_port", toml_like::U(40862)),
                ("reflector", toml_like::S("10.0.0.2")),
            ]
            .into_iter(),
        ))
        .unwrap();
        assert_eq!(c, sender(3, "10.0.0.1", "10.0.0.2"));
        let e = SenderConfig::deserialize(MapDeserializer::<_, DeError>::new(
            [
                ("id", toml_like::U(3)),
                ("adjacency", toml_like::S("to-b")),
                ("source", toml_like::S("10.0.0.1")),
                ("source_port", toml_like::U(40862)),
                ("reflector", toml_like::S("10.0.0.2")),
                ("interval", toml_like::U(5)),
            ]
            .into_iter(),
        ))
        .unwrap_err();
        assert!(e.to_string().contains("unknown field `interval`"), "{e}");
    }

    /// Mixed-type values for the map deserializer.
    mod toml_like {
        use serde::de::{value, IntoDeserializer};

        pub enum V {
            U(u64),
            S(&'static str),
        }
        pub use V::{S, U};

        impl<'de> IntoDeserializer<'de, value::Error> for V {
            type Deserializer = Self;
            fn into_deserializer(self) -> Self {
                self
            }
        }

        impl<'de> serde::Deserializer<'de> for V {
            type Error = value::Error;
            fn deserialize_any<W: serde::de::Visitor<'de>>(
                self,
                v: W,
            ) -> Result<W::Value, value::Error> {
                match self {
                    V::U(n) => v.visit_u64(n),
                    V::S(s) => v.visit_str(s),
                }
            }
            serde::forward_to_deserialize_any! {
                bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
                bytes byte_buf option unit unit_struct newtype_struct seq tuple
                tuple_struct map struct enum identifier ignored_any
            }
        }
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
