//! [`StampTables`]: the reflector's immutable configuration as the data plane reads it.
//!
//! Built once on the control side ([`StampTablesBuilder`], or
//! [`super::config::StampConfig::build`]) and then only read: lookups never allocate.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::sender::SenderTables;
use super::wire::ErrorEstimate;

/// The UDP port of STAMP and TWAMP-Test (RFC 8762 §4.1: 862).
pub const DEFAULT_PORT: u16 = 862;
/// TTL / hop limit of a reply by default (RFC 5357 §4.2.1 advises 255, so the sender can
/// count the hops of the return path).
pub const DEFAULT_REPLY_TTL: u8 = 255;
/// The reflector's Error Estimate by default: not synchronized, NTP format, scale 0,
/// multiplier 1.
pub const DEFAULT_ERROR_ESTIMATE: ErrorEstimate = ErrorEstimate::new(false, 0, 1);
/// Most own addresses of each family.
pub const MAX_OWN_ADDRESSES: usize = 64;
/// Most segments of one reverse segment list (the reply's SRH then holds this many plus
/// the sender's address: 8 + 17 × 16 = 280 bytes).
pub const MAX_REVERSE_SEGMENTS: usize = 16;
/// Most reverse paths (path segments) in one table.
pub const MAX_REVERSE_PATHS: usize = 4096;
/// SRH Flags bits the P-flag may not use: 0x20 is RFC 9259's O-flag, 0x08 is read by
/// Linux as its (pre-RFC 8754) HMAC flag.
pub const RESERVED_SRH_FLAGS: u8 = 0x20 | 0x08;

/// A reverse path as the table holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PathEntry {
    /// The forward path segment, as a number (the binary-search key).
    key: u128,
    /// Its segments: `segments[start..start + len]`.
    start: u32,
    len: u8,
}

/// The STAMP reflector's tables: enabled flag, UDP port, own addresses, reply settings,
/// SRH P-flag bit and the path segment → reverse segment list map; and this node's
/// session-senders ([`SenderTables`], independent of the reflector's `enabled`).
///
/// The default is a disabled reflector (every packet is "not for me") and no sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StampTables {
    enabled: bool,
    port: u16,
    reply_ttl: u8,
    error_estimate: ErrorEstimate,
    p_flag: u8,
    own_v4: Vec<Ipv4Addr>,
    own_v6: Vec<Ipv6Addr>,
    paths: Vec<PathEntry>,
    segments: Vec<Ipv6Addr>,
    sender: SenderTables,
}

impl Default for StampTables {
    fn default() -> Self {
        StampTables {
            enabled: false,
            port: DEFAULT_PORT,
            reply_ttl: DEFAULT_REPLY_TTL,
            error_estimate: DEFAULT_ERROR_ESTIMATE,
            p_flag: 0,
            own_v4: Vec::new(),
            own_v6: Vec::new(),
            paths: Vec::new(),
            segments: Vec::new(),
            sender: SenderTables::default(),
        }
    }
}

impl StampTables {
    /// A builder of an enabled reflector on [`DEFAULT_PORT`] with no addresses yet.
    pub fn builder() -> StampTablesBuilder {
        StampTablesBuilder {
            tables: StampTables {
                enabled: true,
                ..StampTables::default()
            },
        }
    }

    /// True if the reflector answers at all.
    #[inline]
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The UDP destination port of test packets (and source port of replies).
    #[inline]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// TTL / hop limit written in replies.
    #[inline]
    pub fn reply_ttl(&self) -> u8 {
        self.reply_ttl
    }

    /// The reflector's Error Estimate, written in replies.
    #[inline]
    pub fn error_estimate(&self) -> ErrorEstimate {
        self.error_estimate
    }

    /// The SRH Flags bit marking a path segment (one bit), or 0 when path segments are
    /// not looked at.
    #[inline]
    pub fn p_flag(&self) -> u8 {
        self.p_flag
    }

    /// True if `addr` is one of this node's IPv4 addresses.
    #[inline]
    pub fn is_own_v4(&self, addr: Ipv4Addr) -> bool {
        self.own_v4.contains(&addr)
    }

    /// True if `addr` is one of this node's IPv6 addresses.
    #[inline]
    pub fn is_own_v6(&self, addr: Ipv6Addr) -> bool {
        self.own_v6.contains(&addr)
    }

    /// The reverse segment list of the forward path segment `path_segment`, **in SRH
    /// order without Segment List\[0\]**: element `i` is the reply's Segment List\[i + 1\],
    /// so the last element is the first segment the reply visits (its destination
    /// address). Never allocates.
    #[inline]
    pub fn reverse_segments(&self, path_segment: Ipv6Addr) -> Option<&[Ipv6Addr]> {
        let key = u128::from(path_segment);
        let i = self.paths.binary_search_by_key(&key, |e| e.key).ok()?;
        let e = self.paths.get(i)?;
        let start = e.start as usize;
        self.segments.get(start..start + usize::from(e.len))
    }

    /// Number of reverse paths.
    #[inline]
    pub fn reverse_path_count(&self) -> usize {
        self.paths.len()
    }

    /// This node's STAMP session-senders (empty by default).
    #[inline]
    pub fn sender(&self) -> &SenderTables {
        &self.sender
    }
}

/// An error building [`StampTables`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StampTablesError {
    /// UDP port 0.
    #[error("UDP port 0 cannot receive test packets")]
    PortZero,
    /// Reply TTL 0.
    #[error("a reply TTL of 0 would never leave this node")]
    ReplyTtlZero,
    /// Error Estimate multiplier 0 (RFC 4656 §4.1.2: must not be zero).
    #[error("the Error Estimate multiplier must not be 0")]
    ErrorMultiplierZero,
    /// A P-flag that is not a single bit, or a reserved one.
    #[error("P-flag {0:#04x}: expected a single SRH Flags bit other than 0x20 (O-flag) and 0x08 (Linux HMAC)")]
    BadPFlag(u8),
    /// An address added twice.
    #[error("address {0} listed twice")]
    DuplicateAddress(IpAddr),
    /// More than [`MAX_OWN_ADDRESSES`] of one family.
    #[error("more than {MAX_OWN_ADDRESSES} own addresses of one family")]
    TooManyAddresses,
    /// A path segment given twice.
    #[error("path segment {0} listed twice")]
    DuplicatePathSegment(Ipv6Addr),
    /// A reverse segment list empty or longer than [`MAX_REVERSE_SEGMENTS`].
    #[error("{0} segments in a reverse segment list (expected 1..={MAX_REVERSE_SEGMENTS})")]
    BadSegmentCount(usize),
    /// More than [`MAX_REVERSE_PATHS`] reverse paths.
    #[error("more than {MAX_REVERSE_PATHS} reverse paths")]
    TooManyPaths,
}

/// Builds [`StampTables`]; every setter validates its value.
#[derive(Debug, Clone)]
pub struct StampTablesBuilder {
    tables: StampTables,
}

impl StampTablesBuilder {
    /// Answers (true, the default) or ignores every test packet.
    pub fn enabled(&mut self, enabled: bool) -> &mut Self {
        self.tables.enabled = enabled;
        self
    }

    /// The UDP port test packets are sent to (default [`DEFAULT_PORT`]).
    pub fn port(&mut self, port: u16) -> Result<&mut Self, StampTablesError> {
        if port == 0 {
            return Err(StampTablesError::PortZero);
        }
        self.tables.port = port;
        Ok(self)
    }

    /// TTL / hop limit of replies (default [`DEFAULT_REPLY_TTL`]).
    pub fn reply_ttl(&mut self, ttl: u8) -> Result<&mut Self, StampTablesError> {
        if ttl == 0 {
            return Err(StampTablesError::ReplyTtlZero);
        }
        self.tables.reply_ttl = ttl;
        Ok(self)
    }

    /// The reflector's Error Estimate (default [`DEFAULT_ERROR_ESTIMATE`]).
    pub fn error_estimate(&mut self, e: ErrorEstimate) -> Result<&mut Self, StampTablesError> {
        if e.multiplier() == 0 {
            return Err(StampTablesError::ErrorMultiplierZero);
        }
        self.tables.error_estimate = e;
        Ok(self)
    }

    /// The SRH Flags bit marking a path segment: one bit, not in [`RESERVED_SRH_FLAGS`].
    pub fn p_flag(&mut self, bit: u8) -> Result<&mut Self, StampTablesError> {
        if bit.count_ones() != 1 || bit & RESERVED_SRH_FLAGS != 0 {
            return Err(StampTablesError::BadPFlag(bit));
        }
        self.tables.p_flag = bit;
        Ok(self)
    }

    /// Adds one of this node's addresses: test packets to it are answered from it.
    pub fn own_address(&mut self, addr: IpAddr) -> Result<&mut Self, StampTablesError> {
        let t = &mut self.tables;
        match addr {
            IpAddr::V4(a) => push_unique(&mut t.own_v4, a, addr)?,
            IpAddr::V6(a) => push_unique(&mut t.own_v6, a, addr)?,
        }
        Ok(self)
    }

    /// Maps the forward path segment `path_segment` to the reverse segment list
    /// `segments`, **in travel order** (the first segment the reply visits first; the
    /// draft's NodeD: `SID-D1, SID-C1, SID-B1` for `SID-Path-1`). The sender's address is
    /// added as the last segment of each reply.
    pub fn reverse_path(
        &mut self,
        path_segment: Ipv6Addr,
        segments: &[Ipv6Addr],
    ) -> Result<&mut Self, StampTablesError> {
        if segments.is_empty() || segments.len() > MAX_REVERSE_SEGMENTS {
            return Err(StampTablesError::BadSegmentCount(segments.len()));
        }
        let t = &mut self.tables;
        if t.paths.len() >= MAX_REVERSE_PATHS {
            return Err(StampTablesError::TooManyPaths);
        }
        let key = u128::from(path_segment);
        let at = match t.paths.binary_search_by_key(&key, |e| e.key) {
            Ok(_) => return Err(StampTablesError::DuplicatePathSegment(path_segment)),
            Err(at) => at,
        };
        let start = t.segments.len() as u32;
        // Stored in SRH order: Segment List[1] (the last segment before the sender) first.
        t.segments.extend(segments.iter().rev());
        t.paths.insert(
            at,
            PathEntry {
                key,
                start,
                len: segments.len() as u8,
            },
        );
        Ok(self)
    }

    /// This node's session-senders (built with [`SenderTables::builder`]). They run
    /// whether or not the reflector is enabled.
    pub fn senders(&mut self, sender: SenderTables) -> &mut Self {
        self.tables.sender = sender;
        self
    }

    /// The finished tables.
    pub fn build(&self) -> StampTables {
        self.tables.clone()
    }
}

fn push_unique<A: PartialEq>(
    list: &mut Vec<A>,
    a: A,
    addr: IpAddr,
) -> Result<(), StampTablesError> {
    if list.contains(&a) {
        return Err(StampTablesError::DuplicateAddress(addr));
    }
    if list.len() >= MAX_OWN_ADDRESSES {
        return Err(StampTablesError::TooManyAddresses);
    }
    list.push(a);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v6(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    #[test]
    fn default_is_disabled() {
        let t = StampTables::default();
        assert!(!t.enabled());
        assert_eq!(t.port(), 862);
        assert_eq!(t.reply_ttl(), 255);
        assert_eq!(t.p_flag(), 0);
        assert_eq!(t.error_estimate(), ErrorEstimate(0x0001));
        assert!(!t.is_own_v4(Ipv4Addr::LOCALHOST));
        assert_eq!(t.reverse_segments(Ipv6Addr::UNSPECIFIED), None);
    }

    #[test]
    fn builder_validates() {
        let mut b = StampTables::builder();
        assert_eq!(b.port(0).err(), Some(StampTablesError::PortZero));
        assert_eq!(b.reply_ttl(0).err(), Some(StampTablesError::ReplyTtlZero));
        assert_eq!(
            b.error_estimate(ErrorEstimate::new(true, 3, 0)).err(),
            Some(StampTablesError::ErrorMultiplierZero)
        );
        for bad in [0u8, 0x20, 0x08, 0x41, 0xff] {
            assert_eq!(b.p_flag(bad).err(), Some(StampTablesError::BadPFlag(bad)));
        }
        for good in [0x80u8, 0x40, 0x10, 0x04, 0x02, 0x01] {
            assert!(b.p_flag(good).is_ok());
        }
        b.own_address("10.0.0.1".parse().unwrap()).unwrap();
        assert!(matches!(
            b.own_address("10.0.0.1".parse().unwrap()),
            Err(StampTablesError::DuplicateAddress(_))
        ));
        for i in 0..63u8 {
            b.own_address(IpAddr::V4(Ipv4Addr::new(10, 1, 0, i)))
                .unwrap();
        }
        assert_eq!(
            b.own_address("10.2.0.0".parse().unwrap()).err(),
            Some(StampTablesError::TooManyAddresses)
        );
        assert_eq!(
            b.reverse_path(v6("fc00::1"), &[]).err(),
            Some(StampTablesError::BadSegmentCount(0))
        );
        assert_eq!(
            b.reverse_path(v6("fc00::1"), &[v6("fc00::2"); 17]).err(),
            Some(StampTablesError::BadSegmentCount(17))
        );
        b.reverse_path(v6("fc00::1"), &[v6("fc00::2"); 16]).unwrap();
        assert_eq!(
            b.reverse_path(v6("fc00::1"), &[v6("fc00::2")]).err(),
            Some(StampTablesError::DuplicatePathSegment(v6("fc00::1")))
        );
        let t = b.build();
        assert!(t.enabled());
        assert!(t.is_own_v4(Ipv4Addr::new(10, 1, 0, 62)));
        assert!(!t.is_own_v6(v6("::1")));
    }

    #[test]
    fn reverse_segments_are_in_srh_order() {
        let mut b = StampTables::builder();
        // Inserted out of key order on purpose.
        b.reverse_path(v6("fc00::1:3"), &[v6("fc00::d2"), v6("fc00::e1")])
            .unwrap();
        b.reverse_path(
            v6("fc00::1:1"),
            &[v6("fc00::d1"), v6("fc00::c1"), v6("fc00::b1")],
        )
        .unwrap();
        let t = b.build();
        assert_eq!(t.reverse_path_count(), 2);
        assert_eq!(
            t.reverse_segments(v6("fc00::1:1")).unwrap(),
            &[v6("fc00::b1"), v6("fc00::c1"), v6("fc00::d1")]
        );
        assert_eq!(
            t.reverse_segments(v6("fc00::1:3")).unwrap(),
            &[v6("fc00::e1"), v6("fc00::d2")]
        );
        assert_eq!(t.reverse_segments(v6("fc00::1:2")), None);
    }
}
