//! Route control (seed `000_*`, "Route control", inspired by BGP FlowSpec):
//!
//! - `/control/<RT>/2/<SRC_MAC>/<SRC_IP>/<DST_MAC>/<DST_IP>`: exact MACs and host
//!   addresses;
//! - `/control/<RT>/5/<SRC_Prefix>/<SRC_Mask>/<DST_Prefix>/<DST_Mask>`: IP prefixes; a
//!   mask is a length (`24`) or, for IPv4 and IPv6, a contiguous netmask
//!   (`255.255.255.0`); address bits beyond it are an error.
//!
//! Any match field may be `*` (anything); for a type-5 prefix both its address and its
//! mask are `*`. Source and destination addresses of one rule share a family. `<RT>` is
//! the route target whose VRFs import the rule: 1 to 64 ASCII letters, digits or `._:@-`
//! (e.g. `65000:100`).
//!
//! The value is an action — `drop` (aliases `deny`, `block`) or `permit` (aliases
//! `accept`, `allow`), case-insensitive — or a steering path: SRoU locators `ip:port`
//! (IPv6 as `[addr]:port`), first hop first, separated by `,`, all of one family, at most
//! 40 ([`ControlAction::Steer`]).
//!
//! What today's data plane can enforce is decided in [`crate::compile::srou`].

use core::fmt;
use core::net::{IpAddr, SocketAddr};
use std::collections::BTreeMap;

use fwd_core::overlay::IpPrefix;
use fwd_core::wire::ethernet::parse_mac;

use super::{is_name, quoted, segments, PolicyError};

/// Where route-control rules live.
pub const PREFIX: &str = "/control/";
/// Most locators of a steering path (an SRoU header holds 40 IPv4 ones).
pub const MAX_STEER_LOCATORS: usize = 40;

/// What a rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ControlMatch {
    /// EVPN type-2 style: exact MACs and host addresses (`None`: any).
    Type2 {
        /// Source MAC.
        src_mac: Option<[u8; 6]>,
        /// Source IP.
        src_ip: Option<IpAddr>,
        /// Destination MAC.
        dst_mac: Option<[u8; 6]>,
        /// Destination IP.
        dst_ip: Option<IpAddr>,
    },
    /// EVPN type-5 style: prefixes (`None`: any).
    Type5 {
        /// Source prefix.
        src: Option<IpPrefix>,
        /// Destination prefix.
        dst: Option<IpPrefix>,
    },
}

impl ControlMatch {
    /// True when the rule matches on a source field.
    pub fn has_source(&self) -> bool {
        match self {
            ControlMatch::Type2 {
                src_mac, src_ip, ..
            } => src_mac.is_some() || src_ip.is_some(),
            ControlMatch::Type5 { src, .. } => src.is_some(),
        }
    }
}

/// A rule's key: its route target and match.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ControlKey {
    /// The route target.
    pub rt: String,
    /// The match.
    pub matcher: ControlMatch,
}

fn mac_str(m: &Option<[u8; 6]>) -> String {
    match m {
        Some(m) => m
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":"),
        None => "*".into(),
    }
}

fn opt<T: fmt::Display>(x: &Option<T>) -> String {
    x.as_ref().map_or_else(|| "*".to_string(), T::to_string)
}

impl fmt::Display for ControlKey {
    /// The canonical etcd key (`*` for wildcards, prefixes with lengths).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{}/", self.rt)?;
        match &self.matcher {
            ControlMatch::Type2 {
                src_mac,
                src_ip,
                dst_mac,
                dst_ip,
            } => write!(
                f,
                "2/{}/{}/{}/{}",
                mac_str(src_mac),
                opt(src_ip),
                mac_str(dst_mac),
                opt(dst_ip)
            ),
            ControlMatch::Type5 { src, dst } => {
                let p = |x: &Option<IpPrefix>| match x {
                    Some(p) => format!("{}/{}", p.addr(), p.len()),
                    None => "*/*".into(),
                };
                write!(f, "5/{}/{}", p(src), p(dst))
            }
        }
    }
}

/// What a rule does.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ControlAction {
    /// Drop matching traffic.
    Drop,
    /// Let matching traffic follow its normal route.
    Permit,
    /// Send matching traffic over SRoU through these locators, first hop first.
    Steer(Vec<SocketAddr>),
}

/// The length of a contiguous netmask, `None` if not contiguous.
fn mask_len(octets: &[u8]) -> Option<u8> {
    let bits = octets
        .iter()
        .fold(0u128, |acc, b| (acc << 8) | u128::from(*b));
    let total = 8 * octets.len() as u32;
    let ones = (bits << (128 - total)).leading_ones();
    let expect = if ones == 0 {
        0
    } else {
        (u128::MAX << (128 - ones)) >> (128 - total)
    };
    (bits == expect).then_some(ones as u8)
}

/// Parses a prefix from its address and mask segments (`*`/`*`: any).
fn prefix(key: &str, which: &str, addr: &str, mask: &str) -> Result<Option<IpPrefix>, PolicyError> {
    if addr == "*" && mask == "*" {
        return Ok(None);
    }
    let a: IpAddr = addr.parse().map_err(|_| {
        PolicyError::key(
            key,
            format!("the {which} prefix's address (IPv4 or IPv6), or `*/*`"),
            quoted(addr),
        )
    })?;
    let max = if a.is_ipv4() { 32 } else { 128 };
    let len = if !mask.is_empty() && mask.len() <= 3 && mask.bytes().all(|b| b.is_ascii_digit()) {
        mask.parse::<u8>().ok().filter(|l| *l <= max)
    } else {
        match (a, mask.parse::<IpAddr>()) {
            (IpAddr::V4(_), Ok(IpAddr::V4(m))) => mask_len(&m.octets()),
            (IpAddr::V6(_), Ok(IpAddr::V6(m))) => mask_len(&m.octets()),
            _ => None,
        }
    };
    let len = len.ok_or_else(|| {
        PolicyError::key(
            key,
            format!(
                "the {which} mask: a length 0..={max} or a contiguous netmask of the \
                 address's family"
            ),
            quoted(mask),
        )
    })?;
    match IpPrefix::new(a, len) {
        Some(p) if p.addr() == a => Ok(Some(p)),
        _ => Err(PolicyError::key(
            key,
            format!("a {which} prefix with no address bits set beyond its mask"),
            format!("{addr}/{mask}"),
        )),
    }
}

fn family(ip: &IpAddr) -> u8 {
    if ip.is_ipv4() {
        4
    } else {
        6
    }
}

/// Parses `/control/<RT>/2/...` or `/control/<RT>/5/...`.
pub fn parse_key(key: &str) -> Result<ControlKey, PolicyError> {
    let shape = "/control/<RT>/2/<SRC_MAC>/<SRC_IP>/<DST_MAC>/<DST_IP> or \
                 /control/<RT>/5/<SRC_Prefix>/<SRC_Mask>/<DST_Prefix>/<DST_Mask>";
    let seg = segments(key, PREFIX).ok_or_else(|| PolicyError::key(key, shape, quoted(key)))?;
    let (rt, kind, fields) = match seg.as_slice() {
        [rt, kind, rest @ ..] => (*rt, *kind, rest),
        _ => return Err(PolicyError::key(key, shape, quoted(key))),
    };
    if !is_name(rt, 64) {
        return Err(PolicyError::key(
            key,
            "a route target of 1 to 64 ASCII letters, digits or `._:@-`",
            quoted(rt),
        ));
    }
    let matcher = match (kind, fields) {
        ("2", [sm, si, dm, di]) => {
            let mac = |which: &str, s: &str| -> Result<Option<[u8; 6]>, PolicyError> {
                if s == "*" {
                    return Ok(None);
                }
                parse_mac(s).map(Some).ok_or_else(|| {
                    PolicyError::key(
                        key,
                        format!("the {which} MAC (02:00:00:00:00:05) or `*`"),
                        quoted(s),
                    )
                })
            };
            let ip = |which: &str, s: &str| -> Result<Option<IpAddr>, PolicyError> {
                if s == "*" {
                    return Ok(None);
                }
                s.parse().map(Some).map_err(|_| {
                    PolicyError::key(
                        key,
                        format!("the {which} IP (IPv4 or IPv6) or `*`"),
                        quoted(s),
                    )
                })
            };
            let m = ControlMatch::Type2 {
                src_mac: mac("source", sm)?,
                src_ip: ip("source", si)?,
                dst_mac: mac("destination", dm)?,
                dst_ip: ip("destination", di)?,
            };
            if let ControlMatch::Type2 {
                src_ip: Some(s),
                dst_ip: Some(d),
                ..
            } = m
            {
                if family(&s) != family(&d) {
                    return Err(PolicyError::key(
                        key,
                        "source and destination IPs of one family",
                        format!("{s} and {d}"),
                    ));
                }
            }
            m
        }
        ("5", [sp, sm, dp, dm]) => {
            let src = prefix(key, "source", sp, sm)?;
            let dst = prefix(key, "destination", dp, dm)?;
            if let (Some(s), Some(d)) = (src, dst) {
                if family(&s.addr()) != family(&d.addr()) {
                    return Err(PolicyError::key(
                        key,
                        "source and destination prefixes of one family",
                        format!("{s} and {d}"),
                    ));
                }
            }
            ControlMatch::Type5 { src, dst }
        }
        ("2" | "5", _) => {
            return Err(PolicyError::key(
                key,
                format!("4 match fields after /control/<RT>/{kind}/"),
                format!("{} fields", fields.len()),
            ))
        }
        _ => {
            return Err(PolicyError::key(
                key,
                "route type `2` or `5` after the route target",
                quoted(kind),
            ))
        }
    };
    Ok(ControlKey {
        rt: rt.to_string(),
        matcher,
    })
}

/// Parses a rule's value (the value of `key`).
pub fn parse_action(key: &str, value: &str) -> Result<ControlAction, PolicyError> {
    let v = value.trim();
    match v.to_ascii_lowercase().as_str() {
        "drop" | "deny" | "block" => return Ok(ControlAction::Drop),
        "permit" | "accept" | "allow" => return Ok(ControlAction::Permit),
        _ => {}
    }
    let expected = "`drop`, `permit`, or SRoU locators `ip:port` separated by `,`";
    let parts: Vec<&str> = v.split(',').map(str::trim).collect();
    if parts.len() > MAX_STEER_LOCATORS {
        return Err(PolicyError::value(
            key,
            format!("at most {MAX_STEER_LOCATORS} locators"),
            format!("{} locators", parts.len()),
        ));
    }
    let mut path = Vec::with_capacity(parts.len());
    for p in parts {
        let a: SocketAddr = p
            .parse()
            .map_err(|_| PolicyError::value(key, expected, quoted(p)))?;
        if let Some(first) = path.first() {
            if family(&SocketAddr::ip(first)) != family(&a.ip()) {
                return Err(PolicyError::value(
                    key,
                    "locators of one address family",
                    format!("{first} and {a}"),
                ));
            }
        }
        if a.port() == 0 || a.ip().is_unspecified() || a.ip().is_multicast() {
            return Err(PolicyError::value(
                key,
                "unicast locators with a non-zero port",
                a.to_string(),
            ));
        }
        path.push(a);
    }
    Ok(ControlAction::Steer(path))
}

/// The rules as etcd holds them, by key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ControlRules {
    rules: BTreeMap<ControlKey, ControlAction>,
}

impl ControlRules {
    /// Sets a rule; returns the previous action.
    pub fn insert(&mut self, key: ControlKey, action: ControlAction) -> Option<ControlAction> {
        self.rules.insert(key, action)
    }

    /// Removes a rule.
    pub fn remove(&mut self, key: &ControlKey) -> Option<ControlAction> {
        self.rules.remove(key)
    }

    /// Every rule, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&ControlKey, &ControlAction)> {
        self.rules.iter()
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True with no rule.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> ControlKey {
        parse_key(k).unwrap()
    }

    fn e(k: &str) -> String {
        parse_key(k).unwrap_err().to_string()
    }

    fn pfx(s: &str) -> IpPrefix {
        s.parse().unwrap()
    }

    #[test]
    fn parses_type2_keys() {
        let k = key("/control/65000:100/2/*/*/02:00:00:00:00:05/10.1.1.5");
        assert_eq!(
            k,
            ControlKey {
                rt: "65000:100".into(),
                matcher: ControlMatch::Type2 {
                    src_mac: None,
                    src_ip: None,
                    dst_mac: Some([2, 0, 0, 0, 0, 5]),
                    dst_ip: Some("10.1.1.5".parse().unwrap()),
                },
            }
        );
        assert!(!k.matcher.has_source());
        assert_eq!(
            k.to_string(),
            "/control/65000:100/2/*/*/02:00:00:00:00:05/10.1.1.5"
        );
        let k = key("/control/rt1/2/02-00-00-00-00-01/2001:db8::1/*/*");
        assert!(k.matcher.has_source());
        assert_eq!(
            k.to_string(),
            "/control/rt1/2/02:00:00:00:00:01/2001:db8::1/*/*"
        );

        assert_eq!(
            e("/control/rt1/2/*/*/02:00:00:00:00/*"),
            "key \"/control/rt1/2/*/*/02:00:00:00:00/*\": expected the destination MAC \
             (02:00:00:00:00:05) or `*`, got \"02:00:00:00:00\""
        );
        assert!(
            e("/control/rt1/2/*/10.0.0.256/*/*").contains("the source IP (IPv4 or IPv6) or `*`")
        );
        assert!(e("/control/rt1/2/*/10.0.0.1/*/2001:db8::1").contains("of one family"));
        assert!(e("/control/rt1/2/*/*/*")
            .contains("expected 4 match fields after /control/<RT>/2/, got 3 fields"));
        assert!(e("/control/rt1/2/*/*/*/*/*").contains("got 5 fields"));
        assert!(e("/control/rt1/3/*/*/*/*").contains("route type `2` or `5`"));
        assert!(e("/control/r t/2/*/*/*/*").contains("a route target of 1 to 64"));
        assert!(e("/control/rt1").contains("expected /control/<RT>/2/"));
        assert!(e("/control/").contains("expected /control/<RT>/2/"));
    }

    #[test]
    fn parses_type5_keys() {
        let k = key("/control/rt1/5/10.0.0.0/255.0.0.0/192.168.4.0/22");
        assert_eq!(
            k.matcher,
            ControlMatch::Type5 {
                src: Some(pfx("10.0.0.0/8")),
                dst: Some(pfx("192.168.4.0/22")),
            }
        );
        assert_eq!(k.to_string(), "/control/rt1/5/10.0.0.0/8/192.168.4.0/22");
        let k = key("/control/rt1/5/*/*/2001:db8::/ffff:ffff::");
        assert_eq!(
            k.matcher,
            ControlMatch::Type5 {
                src: None,
                dst: Some(pfx("2001:db8::/32")),
            }
        );
        assert_eq!(k.to_string(), "/control/rt1/5/*/*/2001:db8::/32");
        assert_eq!(
            key("/control/rt1/5/*/*/0.0.0.0/0").matcher,
            ControlMatch::Type5 {
                src: None,
                dst: Some(pfx("0.0.0.0/0"))
            }
        );
        assert_eq!(
            key("/control/rt1/5/*/*/*/*").matcher,
            ControlMatch::Type5 {
                src: None,
                dst: None
            }
        );

        assert_eq!(
            e("/control/rt1/5/*/*/10.0.0.1/8"),
            "key \"/control/rt1/5/*/*/10.0.0.1/8\": expected a destination prefix with no \
             address bits set beyond its mask, got 10.0.0.1/8"
        );
        assert!(e("/control/rt1/5/*/*/10.0.0.0/255.0.255.0").contains(
            "expected the destination mask: a length 0..=32 or a contiguous netmask of the \
             address's family, got \"255.0.255.0\""
        ));
        assert!(e("/control/rt1/5/*/*/10.0.0.0/33").contains("a length 0..=32"));
        assert!(e("/control/rt1/5/*/*/2001:db8::/129").contains("a length 0..=128"));
        assert!(e("/control/rt1/5/*/*/10.0.0.0/ffff::").contains("contiguous netmask"));
        assert!(e("/control/rt1/5/*/*/10.0.0.0/").contains("destination mask"));
        assert!(e("/control/rt1/5/*/8/*/*").contains("the source prefix's address"));
        assert!(e("/control/rt1/5/10.0.0.0/8/2001:db8::/32").contains("of one family"));
        assert_eq!(mask_len(&[255, 255, 255, 255]), Some(32));
        assert_eq!(mask_len(&[0, 0, 0, 0]), Some(0));
        assert_eq!(mask_len(&[255, 128, 0, 0]), Some(9));
        assert_eq!(mask_len(&[255, 0, 0, 1]), None);
        assert_eq!(mask_len(&[0xff; 16]), Some(128));
    }

    #[test]
    fn parses_actions() {
        let a = |v: &str| parse_action("/control/x", v);
        assert_eq!(a(" DROP "), Ok(ControlAction::Drop));
        assert_eq!(a("deny"), Ok(ControlAction::Drop));
        assert_eq!(a("Permit"), Ok(ControlAction::Permit));
        assert_eq!(
            a("10.99.2.1:8811, 10.99.3.1:8811"),
            Ok(ControlAction::Steer(vec![
                "10.99.2.1:8811".parse().unwrap(),
                "10.99.3.1:8811".parse().unwrap()
            ]))
        );
        assert_eq!(
            a("[2001:db8::1]:8811"),
            Ok(ControlAction::Steer(vec!["[2001:db8::1]:8811"
                .parse()
                .unwrap()]))
        );
        let e = |v: &str| a(v).unwrap_err().to_string();
        assert_eq!(
            e("redirect"),
            "value of \"/control/x\": expected `drop`, `permit`, or SRoU locators `ip:port` \
             separated by `,`, got \"redirect\""
        );
        assert!(e("").contains("got \"\""));
        assert!(e("10.0.0.1:1,,10.0.0.2:1").contains("got \"\""));
        assert!(e("10.0.0.1").contains("got \"10.0.0.1\""));
        assert!(e("10.0.0.1:1,[2001:db8::1]:1").contains("locators of one address family"));
        assert!(e("10.0.0.1:0").contains("unicast locators with a non-zero port"));
        assert!(e("0.0.0.0:1").contains("unicast locators"));
        assert!(e("224.0.0.1:1").contains("unicast locators"));
        let many = vec!["10.0.0.1:1"; 41].join(",");
        assert!(e(&many).contains("at most 40 locators, got 41 locators"));
    }

    #[test]
    fn rules_by_key() {
        let mut r = ControlRules::default();
        let k = key("/control/rt1/5/*/*/10.0.0.0/8");
        assert_eq!(r.insert(k.clone(), ControlAction::Drop), None);
        assert_eq!(
            r.insert(k.clone(), ControlAction::Permit),
            Some(ControlAction::Drop)
        );
        assert_eq!(r.len(), 1);
        // Equivalent spellings are one rule.
        let k2 = key("/control/rt1/5/*/*/10.0.0.0/255.0.0.0");
        assert_eq!(r.remove(&k2), Some(ControlAction::Permit));
        assert!(r.is_empty());
    }
}
