//! The etcd key schema: seed `000_*` exactly as written, plus documented extensions in the
//! same style for what the draft lacks (see `ctrl-plane/SCHEMA.md`, with an `etcdctl`
//! example for every key).
//!
//! Keys and values are untrusted: [`Key::parse`] and [`Value::parse`] validate everything
//! and return a [`SchemaError`] naming the key and what was expected. Nothing here panics.
//! [`Key::path`] writes a key back, so `Key::parse(k.path()) == k` for every valid key.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

/// Largest system label: labels are 24-bit (seed `000_*`, "Node Label allocation").
pub const MAX_SYSTEM_LABEL: u32 = (1 << 24) - 1;
/// Largest MPLS label (20 bits).
pub const MAX_MPLS_LABEL: u32 = (1 << 20) - 1;

/// A key or value that does not follow the schema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("etcd key `{key}`: {what}: expected {expected}, got {got:?}")]
pub struct SchemaError {
    /// The key (lossily decoded when not UTF-8).
    pub key: String,
    /// The part at fault: "key", "value" or a field name.
    pub what: String,
    /// What the schema wants.
    pub expected: String,
    /// What was found.
    pub got: String,
}

fn bad(key: &str, what: &str, expected: &str, got: impl fmt::Display) -> SchemaError {
    SchemaError {
        key: key.to_string(),
        what: what.to_string(),
        expected: expected.to_string(),
        got: got.to_string(),
    }
}

/// A node's role (seed `000_*` table "Node Role"), written in keys by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// 0x0: STUN server.
    Stun,
    /// 0x1: fabric node relaying SRoU traffic; probes other fabric nodes.
    Fabric,
    /// 0x2: linecard connecting an existing network.
    Linecard,
}

impl Role {
    /// The name used in keys.
    pub const fn name(self) -> &'static str {
        match self {
            Role::Stun => "stun",
            Role::Fabric => "fabric",
            Role::Linecard => "linecard",
        }
    }

    /// The draft's uint16 code.
    pub const fn code(self) -> u16 {
        match self {
            Role::Stun => 0,
            Role::Fabric => 1,
            Role::Linecard => 2,
        }
    }

    /// Parses a role name.
    pub fn from_name(s: &str) -> Option<Role> {
        match s {
            "stun" => Some(Role::Stun),
            "fabric" => Some(Role::Fabric),
            "linecard" => Some(Role::Linecard),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An SRoU locator (seed `000_*`, "SRoU Locator and Route"):
/// `SystemName/Color/LocalIP:Port/PublicIP:Port/LocalInterface/TXBW/RXBW`.
/// Bandwidths are in Mbit/s.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Locator {
    /// The node owning the socket.
    pub system: String,
    /// Colour (transport class) of the socket.
    pub color: u32,
    /// The socket's local address.
    pub local: SocketAddr,
    /// Its public address (as seen through STUN).
    pub public: SocketAddr,
    /// Local interface name.
    pub interface: String,
    /// Transmit bandwidth, Mbit/s.
    pub tx_mbps: u64,
    /// Receive bandwidth, Mbit/s.
    pub rx_mbps: u64,
}

impl Locator {
    /// Parses the seven `/`-separated fields.
    pub fn parse(key: &str, s: &str) -> Result<Locator, SchemaError> {
        let f: Vec<&str> = s.split('/').collect();
        const SHAPE: &str = "SystemName/Color/LocalIP:Port/PublicIP:Port/LocalInterface/TXBW/RXBW";
        if f.len() != 7 {
            return Err(bad(key, "locator", SHAPE, s));
        }
        Ok(Locator {
            system: name_field(key, "locator.SystemName", f[0])?,
            color: num(key, "locator.Color", f[1])?,
            local: sock(key, "locator.LocalIP:Port", f[2])?,
            public: sock(key, "locator.PublicIP:Port", f[3])?,
            interface: name_field(key, "locator.LocalInterface", f[4])?,
            tx_mbps: num(key, "locator.TXBW", f[5])?,
            rx_mbps: num(key, "locator.RXBW", f[6])?,
        })
    }
}

impl fmt::Display for Locator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}/{}/{}/{}",
            self.system,
            self.color,
            self.local,
            self.public,
            self.interface,
            self.tx_mbps,
            self.rx_mbps
        )
    }
}

/// A key of the schema.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    /// `/node/<role>/<name>`: registration (value [`Value::Node`]).
    Node {
        /// Role.
        role: Role,
        /// System name.
        name: String,
    },
    /// `/systemlabel/<X>`: label X is taken (value: the system name).
    SystemLabel(u32),
    /// `/service/<role>/<name>`: the node's locators (value [`Value::Locators`]).
    Service {
        /// Role.
        role: Role,
        /// System name.
        name: String,
    },
    /// `/stats/linkstate/<src locator>-><dst locator>` (value [`Value::LinkState`]).
    LinkState {
        /// Probing side.
        src: Locator,
        /// Reflecting side.
        dst: Locator,
    },
    /// `/stats/node/<name>` (value [`Value::NodeStats`]).
    NodeStats(String),
    /// `/key/<name>`: node keys (value [`Value::Keys`]).
    NodeKey(String),
    /// `/key/socket/<locator>`: per-socket keys.
    SocketKey(Locator),
    /// `/key/session/<src>-><dst>`: per-session-pair keys.
    SessionKey {
        /// Source locator.
        src: Locator,
        /// Destination locator.
        dst: Locator,
    },
    /// `/route/2/<exportRT>/<RD>/<MAC>/<IP>`: EVPN type-2 (value [`Value::Route`]).
    Route2 {
        /// Export route target.
        rt: String,
        /// Route distinguisher.
        rd: String,
        /// MAC address.
        mac: [u8; 6],
        /// IP address.
        ip: IpAddr,
    },
    /// `/route/5/<exportRT>/<RD>/<IPPrefix>/<IPMask>`: EVPN type-5 (value [`Value::Route`]).
    Route5 {
        /// Export route target.
        rt: String,
        /// Route distinguisher.
        rd: String,
        /// Prefix (host bits zero).
        prefix: IpAddr,
        /// Prefix length.
        len: u8,
    },
    /// `/control/<RT>/2/...` or `/control/<RT>/5/...`: route control; the rest of the key is
    /// kept as written for the policy module (value: raw text).
    Control {
        /// Route target.
        rt: String,
        /// 2 or 5.
        route_type: u8,
        /// The match fields after the type, `/`-joined.
        spec: String,
    },
    /// `/token/permit/<flowid>`.
    TokenPermit(Vec<u8>),
    /// `/token/block/<flowid>`.
    TokenBlock(Vec<u8>),
    /// `/identity/<userid>/<user_device_id>` (value: group tags).
    Identity {
        /// User.
        user: String,
        /// Device.
        device: String,
    },
    /// `/policy/<src_grp>/<dst_grp>` (value: actions).
    GroupPolicy {
        /// Source group.
        src: String,
        /// Destination group.
        dst: String,
    },
    /// Extension: `/srgb/<name>` = `base,size` (seed `004_*`).
    Srgb(String),
    /// Extension: `/sid/prefix/<name>` = `index` (seed `004_*`).
    PrefixSid(String),
    /// Extension: `/sid/anycast/<group>/<name>` = `index`: `name` is a member of anycast
    /// group `group` whose SID index is the value (seed `004_*`).
    AnycastSid {
        /// Group name.
        group: String,
        /// Member node.
        name: String,
    },
    /// Extension: `/cats/pe/<name>` = `pe-id,sid-block/96` (seed `001_*`).
    CatsPe(String),
    /// Extension: `/cats/instance/<pe>/<service>/<instance>` = `metric[,up|down[,weight]]`.
    CatsInstance {
        /// PE name.
        pe: String,
        /// Service ID.
        service: u32,
        /// Instance ID.
        instance: u32,
    },
    /// Extension: `/cats/metric/<service>/<pe>` = aggregated metric a PE publishes.
    CatsMetric {
        /// Service ID.
        service: u32,
        /// PE name.
        pe: String,
    },
    /// Extension: `/dyncast/<eid>/<rloc>` = `priority,weight` (seed `002_*`).
    DyncastRloc {
        /// Service anycast EID.
        eid: IpAddr,
        /// RLOC.
        rloc: IpAddr,
    },
    /// Extension: `/stamp/session/<sender>-><reflector>` = `reflector-ip:port,interval-ms`
    /// (seed `003_*`).
    StampSession {
        /// Session-sender node.
        sender: String,
        /// Session-reflector node.
        reflector: String,
    },
    /// Extension: `/stamp/pathseg/<path segment>` = reverse segment list (seed `003_*`).
    PathSegment(Ipv6Addr),
}

/// The prefixes a full view watches.
pub const PREFIXES: &[&str] = &[
    "/node/",
    "/systemlabel/",
    "/service/",
    "/stats/",
    "/key/",
    "/route/",
    "/control/",
    "/token/",
    "/identity/",
    "/policy/",
    "/srgb/",
    "/sid/",
    "/cats/",
    "/dyncast/",
    "/stamp/",
];

fn name_field(key: &str, what: &str, s: &str) -> Result<String, SchemaError> {
    let ok = !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    if ok {
        Ok(s.to_string())
    } else {
        Err(bad(
            key,
            what,
            "a name of 1 to 128 letters, digits, '-', '_', '.' or ':'",
            s,
        ))
    }
}

fn num<T: std::str::FromStr>(key: &str, what: &str, s: &str) -> Result<T, SchemaError> {
    s.trim()
        .parse()
        .map_err(|_| bad(key, what, "a decimal number in range", s))
}

fn sock(key: &str, what: &str, s: &str) -> Result<SocketAddr, SchemaError> {
    s.parse()
        .map_err(|_| bad(key, what, "IP:port (IPv6 as [addr]:port)", s))
}

fn ip(key: &str, what: &str, s: &str) -> Result<IpAddr, SchemaError> {
    s.parse().map_err(|_| bad(key, what, "an IP address", s))
}

/// Parses `aa:bb:cc:dd:ee:ff`.
fn mac(key: &str, s: &str) -> Result<[u8; 6], SchemaError> {
    fwd_core::wire::ethernet::parse_mac(s).ok_or_else(|| bad(key, "MAC", "aa:bb:cc:dd:ee:ff", s))
}

/// Parses a Flow ID token written in hex (`0x` optional), 1 to 16 bytes.
pub fn parse_flow_id(key: &str, s: &str) -> Result<Vec<u8>, SchemaError> {
    let h = s.strip_prefix("0x").unwrap_or(s);
    let ok = !h.is_empty() && h.len() % 2 == 0 && h.len() <= 32;
    let bytes = ok
        .then(|| {
            (0..h.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(h.get(i..i + 2)?, 16).ok())
                .collect::<Option<Vec<u8>>>()
        })
        .flatten();
    bytes.ok_or_else(|| bad(key, "flowid", "hex of 1 to 16 bytes, e.g. 0x000123", s))
}

/// Writes a Flow ID as the keys spell it.
pub fn flow_id_hex(id: &[u8]) -> String {
    let mut s = String::from("0x");
    for b in id {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

fn pair<'a>(key: &str, s: &'a str) -> Result<(&'a str, &'a str), SchemaError> {
    s.split_once("->")
        .ok_or_else(|| bad(key, "key", "<src>-><dst>", s))
}

impl Key {
    /// Parses a key; `None`-like errors name the key.
    pub fn parse(key: &str) -> Result<Key, SchemaError> {
        let unknown = || bad(key, "key", "a key of the schema (see SCHEMA.md)", key);
        let rest = key.strip_prefix('/').ok_or_else(unknown)?;
        let (top, rest) = rest.split_once('/').ok_or_else(unknown)?;
        let parts: Vec<&str> = rest.split('/').collect();
        let role = |s: &str| {
            Role::from_name(s).ok_or_else(|| bad(key, "role", "stun, fabric or linecard", s))
        };
        let k = match top {
            "node" | "service" if parts.len() == 2 => {
                let role = role(parts[0])?;
                let name = name_field(key, "name", parts[1])?;
                if top == "node" {
                    Key::Node { role, name }
                } else {
                    Key::Service { role, name }
                }
            }
            "systemlabel" if parts.len() == 1 => {
                let x: u32 = num(key, "label", parts[0])?;
                if x > MAX_SYSTEM_LABEL || parts[0].starts_with('+') {
                    return Err(bad(key, "label", "an integer in 0..=16777215", parts[0]));
                }
                Key::SystemLabel(x)
            }
            "stats" => match parts.first() {
                Some(&"linkstate") => {
                    let (s, d) = pair(key, rest.trim_start_matches("linkstate/"))?;
                    Key::LinkState {
                        src: Locator::parse(key, s)?,
                        dst: Locator::parse(key, d)?,
                    }
                }
                Some(&"node") if parts.len() == 2 => {
                    Key::NodeStats(name_field(key, "name", parts[1])?)
                }
                _ => return Err(unknown()),
            },
            "key" => match parts.first() {
                Some(&"socket") if parts.len() > 1 => {
                    Key::SocketKey(Locator::parse(key, &rest["socket/".len()..])?)
                }
                Some(&"session") if parts.len() > 1 => {
                    let (s, d) = pair(key, &rest["session/".len()..])?;
                    Key::SessionKey {
                        src: Locator::parse(key, s)?,
                        dst: Locator::parse(key, d)?,
                    }
                }
                Some(n) if parts.len() == 1 => Key::NodeKey(name_field(key, "name", n)?),
                _ => return Err(unknown()),
            },
            "route" => match (parts.first(), parts.len()) {
                (Some(&"2"), 5) => Key::Route2 {
                    rt: name_field(key, "exportRT", parts[1])?,
                    rd: name_field(key, "RD", parts[2])?,
                    mac: mac(key, parts[3])?,
                    ip: ip(key, "IP", parts[4])?,
                },
                (Some(&"5"), 5) => {
                    let prefix = ip(key, "IPPrefix", parts[3])?;
                    let max = if prefix.is_ipv4() { 32 } else { 128 };
                    let len: u8 = num(key, "IPMask", parts[4])?;
                    if len > max {
                        return Err(bad(key, "IPMask", "a prefix length of the family", len));
                    }
                    if mask(prefix, len) != prefix {
                        return Err(bad(key, "IPPrefix", "host bits zero", prefix));
                    }
                    Key::Route5 {
                        rt: name_field(key, "exportRT", parts[1])?,
                        rd: name_field(key, "RD", parts[2])?,
                        prefix,
                        len,
                    }
                }
                _ => return Err(unknown()),
            },
            "control" if parts.len() == 6 && matches!(parts[1], "2" | "5") => Key::Control {
                rt: name_field(key, "RT", parts[0])?,
                route_type: if parts[1] == "2" { 2 } else { 5 },
                spec: parts[2..].join("/"),
            },
            "token" if parts.len() == 2 => {
                let id = parse_flow_id(key, parts[1])?;
                match parts[0] {
                    "permit" => Key::TokenPermit(id),
                    "block" => Key::TokenBlock(id),
                    _ => return Err(unknown()),
                }
            }
            "identity" if parts.len() == 2 => Key::Identity {
                user: name_field(key, "userid", parts[0])?,
                device: name_field(key, "user_device_id", parts[1])?,
            },
            "policy" if parts.len() == 2 => Key::GroupPolicy {
                src: name_field(key, "src_grp", parts[0])?,
                dst: name_field(key, "dst_grp", parts[1])?,
            },
            "srgb" if parts.len() == 1 => Key::Srgb(name_field(key, "name", parts[0])?),
            "sid" => match (parts.first(), parts.len()) {
                (Some(&"prefix"), 2) => Key::PrefixSid(name_field(key, "name", parts[1])?),
                (Some(&"anycast"), 3) => Key::AnycastSid {
                    group: name_field(key, "group", parts[1])?,
                    name: name_field(key, "name", parts[2])?,
                },
                _ => return Err(unknown()),
            },
            "cats" => match (parts.first(), parts.len()) {
                (Some(&"pe"), 2) => Key::CatsPe(name_field(key, "pe", parts[1])?),
                (Some(&"instance"), 4) => Key::CatsInstance {
                    pe: name_field(key, "pe", parts[1])?,
                    service: num(key, "service", parts[2])?,
                    instance: num(key, "instance", parts[3])?,
                },
                (Some(&"metric"), 3) => Key::CatsMetric {
                    service: num(key, "service", parts[1])?,
                    pe: name_field(key, "pe", parts[2])?,
                },
                _ => return Err(unknown()),
            },
            "dyncast" if parts.len() == 2 => Key::DyncastRloc {
                eid: ip(key, "eid", parts[0])?,
                rloc: ip(key, "rloc", parts[1])?,
            },
            "stamp" => match (parts.first(), parts.len()) {
                (Some(&"session"), 2) => {
                    let (s, d) = pair(key, parts[1])?;
                    Key::StampSession {
                        sender: name_field(key, "sender", s)?,
                        reflector: name_field(key, "reflector", d)?,
                    }
                }
                (Some(&"pathseg"), 2) => Key::PathSegment(
                    parts[1]
                        .parse()
                        .map_err(|_| bad(key, "path segment", "an IPv6 address", parts[1]))?,
                ),
                _ => return Err(unknown()),
            },
            _ => return Err(unknown()),
        };
        Ok(k)
    }

    /// The key as written in etcd.
    pub fn path(&self) -> String {
        match self {
            Key::Node { role, name } => format!("/node/{role}/{name}"),
            Key::SystemLabel(x) => format!("/systemlabel/{x}"),
            Key::Service { role, name } => format!("/service/{role}/{name}"),
            Key::LinkState { src, dst } => format!("/stats/linkstate/{src}->{dst}"),
            Key::NodeStats(n) => format!("/stats/node/{n}"),
            Key::NodeKey(n) => format!("/key/{n}"),
            Key::SocketKey(l) => format!("/key/socket/{l}"),
            Key::SessionKey { src, dst } => format!("/key/session/{src}->{dst}"),
            Key::Route2 { rt, rd, mac, ip } => format!(
                "/route/2/{rt}/{rd}/{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}/{ip}",
                mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]
            ),
            Key::Route5 {
                rt,
                rd,
                prefix,
                len,
            } => format!("/route/5/{rt}/{rd}/{prefix}/{len}"),
            Key::Control {
                rt,
                route_type,
                spec,
            } => format!("/control/{rt}/{route_type}/{spec}"),
            Key::TokenPermit(id) => format!("/token/permit/{}", flow_id_hex(id)),
            Key::TokenBlock(id) => format!("/token/block/{}", flow_id_hex(id)),
            Key::Identity { user, device } => format!("/identity/{user}/{device}"),
            Key::GroupPolicy { src, dst } => format!("/policy/{src}/{dst}"),
            Key::Srgb(n) => format!("/srgb/{n}"),
            Key::PrefixSid(n) => format!("/sid/prefix/{n}"),
            Key::AnycastSid { group, name } => format!("/sid/anycast/{group}/{name}"),
            Key::CatsPe(n) => format!("/cats/pe/{n}"),
            Key::CatsInstance {
                pe,
                service,
                instance,
            } => format!("/cats/instance/{pe}/{service}/{instance}"),
            Key::CatsMetric { service, pe } => format!("/cats/metric/{service}/{pe}"),
            Key::DyncastRloc { eid, rloc } => format!("/dyncast/{eid}/{rloc}"),
            Key::StampSession { sender, reflector } => {
                format!("/stamp/session/{sender}->{reflector}")
            }
            Key::PathSegment(p) => format!("/stamp/pathseg/{p}"),
        }
    }
}

fn mask(a: IpAddr, len: u8) -> IpAddr {
    match a {
        IpAddr::V4(v) => {
            let m = if len == 0 {
                0
            } else {
                u32::MAX << (32 - len as u32)
            };
            IpAddr::V4((u32::from(v) & m).into())
        }
        IpAddr::V6(v) => {
            let m = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len as u32)
            };
            IpAddr::V6((u128::from(v) & m).into())
        }
    }
}

/// `/node/<role>/<name>` = `SiteID,SystemLabel,Lat,Long` (lat/long may be empty).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NodeInfo {
    /// Site or autonomous system.
    pub site: u32,
    /// The 24-bit system label.
    pub label: u32,
    /// Latitude and longitude, when given.
    pub location: Option<(f32, f32)>,
}

impl fmt::Display for NodeInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.location {
            Some((lat, lon)) => write!(f, "{},{},{lat},{lon}", self.site, self.label),
            None => write!(f, "{},{},,", self.site, self.label),
        }
    }
}

/// `/stats/linkstate/...` = `JitterUs,DelayUs,LossPpm,LoadPct[,Metric]`: the TWAMP/STAMP
/// results in the draft's order (jitter/delay/loss, then interface load). `Metric`, an
/// extension, is the IGP metric SPF uses; absent, it is `1 + delay in ms` (so paths whose
/// delays differ by less than a millisecond are equal-cost).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkStats {
    /// Jitter, microseconds.
    pub jitter_us: u32,
    /// One-way delay, microseconds.
    pub delay_us: u32,
    /// Loss, parts per million.
    pub loss_ppm: u32,
    /// Interface load, percent.
    pub load_pct: u8,
    /// IGP metric (1 or more).
    pub metric: u32,
}

impl fmt::Display for LinkStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{},{},{},{},{}",
            self.jitter_us, self.delay_us, self.loss_ppm, self.load_pct, self.metric
        )
    }
}

/// A CATS service instance's report (extension of seed `001_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceReport {
    /// Metric, lower is better.
    pub metric: u32,
    /// False: failed.
    pub up: bool,
    /// Weight for weighted aggregation (default 1).
    pub weight: u32,
}

/// A typed value; which variant follows from the key.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `/node/...`.
    Node(NodeInfo),
    /// `/systemlabel/X`: the system name holding X.
    LabelOwner(String),
    /// `/service/...`: `Locator1,Locator2`.
    Locators(Vec<Locator>),
    /// `/stats/linkstate/...`.
    LinkState(LinkStats),
    /// `/stats/node/...`: `CPULoad,MemoryUsage` (percent).
    NodeStats {
        /// CPU load, percent.
        cpu_pct: f32,
        /// Memory usage, percent.
        mem_pct: f32,
    },
    /// `/key/...`: `Key1,Key2` (opaque strings; usually old and new during a rekey).
    Keys(Vec<String>),
    /// `/route/2|5/...`: `VNID/SystemName/PolicyTag`.
    Route {
        /// VXLAN/VPN network identifier (24 bits).
        vnid: u32,
        /// The node announcing it.
        system: String,
        /// Policy tag (may be empty).
        policy: String,
    },
    /// Text kept for the policy module (`/control`, `/identity`, `/policy`), or empty for
    /// tokens.
    Text(String),
    /// `/srgb/<name>` = `base,size`.
    Srgb {
        /// First label.
        base: u32,
        /// Number of labels.
        size: u32,
    },
    /// `/sid/...` = `index`.
    SidIndex(u32),
    /// `/cats/pe/<name>` = `pe-id,sid-block`.
    CatsPe {
        /// The PE's stable ID.
        id: u32,
        /// Its END.CL SID block, `addr/96`.
        sid: String,
    },
    /// `/cats/instance/...`.
    Instance(InstanceReport),
    /// `/cats/metric/...` = aggregated metric.
    Metric(u32),
    /// `/dyncast/...` = `priority,weight`.
    Rloc {
        /// Lower is preferred.
        priority: u8,
        /// Weight among equal priorities.
        weight: u8,
    },
    /// `/stamp/session/...` = `reflector-ip:port,interval-ms`.
    StampSession {
        /// Where the reflector listens.
        reflector: SocketAddr,
        /// Probe interval.
        interval_ms: u32,
    },
    /// `/stamp/pathseg/...` = reverse segment list, comma-separated IPv6 addresses.
    Segments(Vec<Ipv6Addr>),
}

impl Value {
    /// Parses the value stored under `key` (already parsed from `key_text`).
    pub fn parse(key: &Key, key_text: &str, raw: &[u8]) -> Result<Value, SchemaError> {
        let text = std::str::from_utf8(raw)
            .map_err(|_| bad(key_text, "value", "UTF-8 text", "non-UTF-8 bytes"))?;
        if text.len() > 64 * 1024 {
            return Err(bad(key_text, "value", "at most 64 KiB", text.len()));
        }
        let fields: Vec<&str> = text.split(',').collect();
        let k = key_text;
        let v = match key {
            Key::Node { .. } => {
                const SHAPE: &str = "SiteID,SystemLabel,Lat,Long";
                if fields.len() != 4 && fields.len() != 2 {
                    return Err(bad(k, "value", SHAPE, text));
                }
                let label: u32 = num(k, "SystemLabel", fields[1])?;
                if label > MAX_SYSTEM_LABEL {
                    return Err(bad(k, "SystemLabel", "a 24-bit label", label));
                }
                let location = match fields.get(2..4) {
                    Some([a, b]) if !a.is_empty() || !b.is_empty() => {
                        let lat: f32 = num(k, "Lat", a)?;
                        let lon: f32 = num(k, "Long", b)?;
                        if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
                            return Err(bad(k, "Lat,Long", "a latitude and longitude", text));
                        }
                        Some((lat, lon))
                    }
                    _ => None,
                };
                Value::Node(NodeInfo {
                    site: num(k, "SiteID", fields[0])?,
                    label,
                    location,
                })
            }
            Key::SystemLabel(_) => Value::LabelOwner(name_field(k, "value", text)?),
            Key::Service { .. } => Value::Locators(
                fields
                    .iter()
                    .map(|f| Locator::parse(k, f))
                    .collect::<Result<_, _>>()?,
            ),
            Key::LinkState { .. } => {
                if fields.len() != 4 && fields.len() != 5 {
                    return Err(bad(
                        k,
                        "value",
                        "JitterUs,DelayUs,LossPpm,LoadPct[,Metric]",
                        text,
                    ));
                }
                let delay_us: u32 = num(k, "DelayUs", fields[1])?;
                let loss_ppm: u32 = num(k, "LossPpm", fields[2])?;
                let load_pct: u8 = num(k, "LoadPct", fields[3])?;
                if loss_ppm > 1_000_000 || load_pct > 100 {
                    return Err(bad(k, "LossPpm/LoadPct", "<= 1000000 / <= 100", text));
                }
                let metric = match fields.get(4) {
                    Some(m) => num(k, "Metric", m)?,
                    None => 1 + delay_us / 1000,
                };
                if metric == 0 {
                    return Err(bad(k, "Metric", "1 or more", 0));
                }
                Value::LinkState(LinkStats {
                    jitter_us: num(k, "JitterUs", fields[0])?,
                    delay_us,
                    loss_ppm,
                    load_pct,
                    metric,
                })
            }
            Key::NodeStats(_) => {
                let [c, m] = fields[..] else {
                    return Err(bad(k, "value", "CPULoad,MemoryUsage", text));
                };
                let cpu_pct: f32 = num(k, "CPULoad", c)?;
                let mem_pct: f32 = num(k, "MemoryUsage", m)?;
                if !(0.0..=100.0).contains(&cpu_pct) || !(0.0..=100.0).contains(&mem_pct) {
                    return Err(bad(k, "value", "percentages 0..=100", text));
                }
                Value::NodeStats { cpu_pct, mem_pct }
            }
            Key::NodeKey(_) | Key::SocketKey(_) | Key::SessionKey { .. } => {
                if fields.is_empty() || fields.len() > 2 || fields.iter().any(|f| f.is_empty()) {
                    return Err(bad(k, "value", "Key1 or Key1,Key2 (old,new)", text));
                }
                Value::Keys(fields.iter().map(|s| s.to_string()).collect())
            }
            Key::Route2 { .. } | Key::Route5 { .. } => {
                let f: Vec<&str> = text.split('/').collect();
                let [vnid, system, policy] = f[..] else {
                    return Err(bad(k, "value", "VNID/SystemName/PolicyTag", text));
                };
                let vnid: u32 = num(k, "VNID", vnid)?;
                if vnid >= 1 << 24 {
                    return Err(bad(k, "VNID", "a 24-bit VNID", vnid));
                }
                Value::Route {
                    vnid,
                    system: name_field(k, "SystemName", system)?,
                    policy: policy.to_string(),
                }
            }
            Key::Control { .. } | Key::Identity { .. } | Key::GroupPolicy { .. } => {
                if text.trim().is_empty() {
                    return Err(bad(k, "value", "a non-empty value", text));
                }
                Value::Text(text.to_string())
            }
            Key::TokenPermit(_) | Key::TokenBlock(_) => Value::Text(text.to_string()),
            Key::Srgb(_) => {
                let [b, s] = fields[..] else {
                    return Err(bad(k, "value", "base,size", text));
                };
                let base: u32 = num(k, "base", b)?;
                let size: u32 = num(k, "size", s)?;
                if base < 16
                    || size == 0
                    || base
                        .checked_add(size - 1)
                        .is_none_or(|e| e > MAX_MPLS_LABEL)
                {
                    return Err(bad(
                        k,
                        "value",
                        "an SRGB within labels 16..=1048575 (base >= 16, size >= 1)",
                        text,
                    ));
                }
                Value::Srgb { base, size }
            }
            Key::PrefixSid(_) | Key::AnycastSid { .. } => {
                let i: u32 = num(k, "index", text)?;
                if i > MAX_MPLS_LABEL {
                    return Err(bad(k, "index", "a SID index below 2^20", i));
                }
                Value::SidIndex(i)
            }
            Key::CatsPe(_) => {
                let [id, sid] = fields[..] else {
                    return Err(bad(k, "value", "pe-id,sid-block/96", text));
                };
                if fwd_core::service::config::parse_sid_prefix(sid).is_none() {
                    return Err(bad(k, "sid-block", "an IPv6 /96 with zero argument", sid));
                }
                Value::CatsPe {
                    id: num(k, "pe-id", id)?,
                    sid: sid.to_string(),
                }
            }
            Key::CatsInstance { .. } => {
                if fields.is_empty() || fields.len() > 3 {
                    return Err(bad(k, "value", "metric[,up|down[,weight]]", text));
                }
                let up = match fields.get(1).copied() {
                    None | Some("up") => true,
                    Some("down") => false,
                    Some(other) => return Err(bad(k, "state", "up or down", other)),
                };
                let weight = match fields.get(2) {
                    Some(w) => num(k, "weight", w)?,
                    None => 1,
                };
                Value::Instance(InstanceReport {
                    metric: num(k, "metric", fields[0])?,
                    up,
                    weight,
                })
            }
            Key::CatsMetric { .. } => Value::Metric(num(k, "metric", text)?),
            Key::DyncastRloc { .. } => {
                let [p, w] = fields[..] else {
                    return Err(bad(k, "value", "priority,weight", text));
                };
                Value::Rloc {
                    priority: num(k, "priority", p)?,
                    weight: num(k, "weight", w)?,
                }
            }
            Key::StampSession { .. } => {
                let [r, i] = fields[..] else {
                    return Err(bad(k, "value", "reflector-ip:port,interval-ms", text));
                };
                let interval_ms: u32 = num(k, "interval-ms", i)?;
                if interval_ms == 0 {
                    return Err(bad(k, "interval-ms", "1 or more", 0));
                }
                Value::StampSession {
                    reflector: sock(k, "reflector", r)?,
                    interval_ms,
                }
            }
            Key::PathSegment(_) => {
                let segs = fields
                    .iter()
                    .map(|s| {
                        s.parse::<Ipv6Addr>()
                            .map_err(|_| bad(k, "segment", "an IPv6 address", s))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                if segs.is_empty() || segs.len() > 16 {
                    return Err(bad(k, "value", "1 to 16 segments", text));
                }
                Value::Segments(segs)
            }
        };
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOC: &str = "r1/1/10.0.0.1:8811/198.51.100.1:8811/eth0/1000/1000";
    const LOC2: &str = "r2/1/10.0.0.2:8811/198.51.100.2:8811/eth0/1000/1000";

    fn roundtrip(k: &str) -> Key {
        let key = Key::parse(k).unwrap_or_else(|e| panic!("{k}: {e}"));
        assert_eq!(key.path(), k, "path of {key:?}");
        key
    }

    #[test]
    fn every_seed_key_parses_and_writes_back() {
        assert_eq!(
            roundtrip("/node/fabric/r1"),
            Key::Node {
                role: Role::Fabric,
                name: "r1".into()
            }
        );
        assert_eq!(roundtrip("/systemlabel/42"), Key::SystemLabel(42));
        roundtrip("/service/linecard/lc-7");
        roundtrip(&format!("/stats/linkstate/{LOC}->{LOC2}"));
        roundtrip("/stats/node/r1");
        roundtrip("/key/r1");
        roundtrip(&format!("/key/socket/{LOC}"));
        roundtrip(&format!("/key/session/{LOC}->{LOC2}"));
        roundtrip("/route/2/rt100/r1:100/02:00:00:00:00:01/10.1.0.5");
        roundtrip("/route/5/rt100/r1:100/10.1.0.0/16");
        roundtrip("/route/5/rt100/r1:100/2001:db8::/32");
        roundtrip("/control/rt100/5/10.0.0.0/8/192.168.0.0/16");
        roundtrip("/control/rt100/2/02:00:00:00:00:01/10.0.0.1/02:00:00:00:00:02/10.0.0.2");
        assert_eq!(
            roundtrip("/token/permit/0x000123"),
            Key::TokenPermit(vec![0, 1, 0x23])
        );
        roundtrip("/token/block/0xdeadbeef");
        roundtrip("/identity/alice/0x000001");
        roundtrip("/policy/eng/finance");
    }

    #[test]
    fn every_extension_key_parses_and_writes_back() {
        roundtrip("/srgb/a1");
        roundtrip("/sid/prefix/pe3");
        roundtrip("/sid/anycast/groupA/a1");
        roundtrip("/cats/pe/pe4");
        roundtrip("/cats/instance/pe4/100/4");
        roundtrip("/cats/metric/100/pe4");
        roundtrip("/dyncast/10.255.0.1/192.0.2.11");
        roundtrip("/stamp/session/r1->r2");
        roundtrip("/stamp/pathseg/fc00:0:9::1");
    }

    #[test]
    fn malformed_keys_are_rejected_with_the_key_named() {
        for k in [
            "",
            "node/fabric/r1",
            "/node/router/r1",
            "/node/fabric/",
            "/node/fabric/r 1",
            "/systemlabel/16777216",
            "/systemlabel/-1",
            "/systemlabel/x",
            "/stats/linkstate/r1->r2",
            "/route/5/rt/rd/10.1.0.1/16",
            "/route/5/rt/rd/10.1.0.0/33",
            "/route/2/rt/rd/zz:00:00:00:00:01/10.0.0.1",
            "/token/permit/0x123",
            "/token/permit/0x",
            "/token/allow/0x12",
            "/cats/instance/pe4/x/1",
            "/unknown/thing",
        ] {
            let e = Key::parse(k).expect_err(k);
            assert_eq!(e.key, k);
        }
    }

    #[test]
    fn values_are_validated() {
        let p = |k: &str, v: &str| {
            let key = Key::parse(k).unwrap();
            Value::parse(&key, k, v.as_bytes())
        };
        assert_eq!(
            p("/node/fabric/r1", "7,3,48.85,2.35").unwrap(),
            Value::Node(NodeInfo {
                site: 7,
                label: 3,
                location: Some((48.85, 2.35))
            })
        );
        assert!(matches!(
            p("/node/fabric/r1", "7,3,,").unwrap(),
            Value::Node(NodeInfo { location: None, .. })
        ));
        assert!(p("/node/fabric/r1", "7,16777216,,").is_err());
        assert!(p("/node/fabric/r1", "7,3,91,0").is_err());
        assert!(p("/node/fabric/r1", "garbage").is_err());
        let ls = p(&format!("/stats/linkstate/{LOC}->{LOC2}"), "20,1500,10,5").unwrap();
        assert_eq!(
            ls,
            Value::LinkState(LinkStats {
                jitter_us: 20,
                delay_us: 1500,
                loss_ppm: 10,
                load_pct: 5,
                metric: 2
            })
        );
        assert!(p(&format!("/stats/linkstate/{LOC}->{LOC2}"), "1,2,2000000,5").is_err());
        assert!(p(&format!("/stats/linkstate/{LOC}->{LOC2}"), "1,2,3,4,0").is_err());
        assert_eq!(
            p("/srgb/a1", "1000,1000").unwrap(),
            Value::Srgb {
                base: 1000,
                size: 1000
            }
        );
        assert!(p("/srgb/a1", "1048000,1000").is_err());
        assert!(p("/srgb/a1", "3,10").is_err());
        assert!(p("/sid/prefix/pe3", "1048576").is_err());
        assert!(p("/route/5/rt/rd/10.0.0.0/8", "16777216/r1/").is_err());
        assert!(matches!(
            p("/route/5/rt/rd/10.0.0.0/8", "100/r1/gold").unwrap(),
            Value::Route { vnid: 100, .. }
        ));
        assert!(p("/cats/instance/pe4/1/4", "10,sideways").is_err());
        assert!(p("/cats/pe/pe4", "4,fc00:0:4:c1::1/96").is_err());
        assert!(p("/cats/pe/pe4", "4,fc00:0:4:c1::/96").is_ok());
        assert!(p("/node/fabric/r1", "\u{0}").is_err());
        let key = Key::parse("/stats/node/r1").unwrap();
        assert!(Value::parse(&key, "/stats/node/r1", &[0xff, 0xfe]).is_err());
    }

    /// Every `etcdctl put` example of `ctrl-plane/SCHEMA.md` (kept, line for line, in
    /// `tests/schema_examples.txt`) parses, and its key is written back as is.
    #[test]
    fn every_schema_md_example_parses() {
        let text = include_str!("../../tests/schema_examples.txt");
        let mut n = 0;
        for line in text.lines().filter(|l| !l.is_empty()) {
            let (k, v) = line.split_once('\t').unwrap_or((line, ""));
            let key = Key::parse(k).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(key.path(), k);
            Value::parse(&key, k, v.as_bytes()).unwrap_or_else(|e| panic!("{line}: {e}"));
            n += 1;
        }
        assert!(n >= 24, "one example per key kind at least: {n}");
    }

    #[test]
    fn locator_roundtrips_including_ipv6() {
        let s = "lc1/2/[2001:db8::1]:8811/[2001:db8::2]:9000/ens3/10000/5000";
        let l = Locator::parse("k", s).unwrap();
        assert_eq!(l.to_string(), s);
        assert_eq!(l.color, 2);
        assert!(Locator::parse("k", "lc1/2/10.0.0.1/1.2.3.4:1/e/1/1").is_err());
    }
}
