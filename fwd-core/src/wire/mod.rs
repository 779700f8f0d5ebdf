//! Zero-copy views over protocol header bytes, in the style of smoltcp's `wire` module.
//!
//! Every header has a view type (`Frame`, `Packet`, `Tag`, `Header` or `Entry`) that owns a
//! buffer `T: AsRef<[u8]>` and reads its fields in network byte order on demand; setters
//! exist only when the buffer is also `AsMut<[u8]>`. A private `field` module in each file
//! names every field as a byte range.
//!
//! Construction follows smoltcp's contract:
//! - `new_unchecked` wraps any buffer; the getters then **panic** if the buffer is shorter
//!   than the field they read, exactly like slice indexing;
//! - `new_checked` (or `check_len` on an unchecked view) first proves that the buffer holds
//!   the whole header and that its length fields are consistent, returning the matching
//!   [`crate::drop::DropReason`] otherwise. Every getter of a checked view is then in bounds.
//!
//! The data-plane parser ([`crate::packet::parse`]) only ever reads through checked views,
//! so no input can make it panic.
//!
//! Headers where building packets matters (Ethernet, 802.1Q, IPv4, IPv6, SRH, UDP, MPLS)
//! also have a `Repr`: a plain struct of the meaningful fields with `parse` and `emit`.

pub mod checksum;
pub mod ethernet;
pub mod ipv4;
pub mod ipv6;
pub mod mpls;
pub mod srh;
pub mod udp;
pub mod vlan;

/// A field of a header, as a byte range from the start of the header.
pub(crate) type Field = core::ops::Range<usize>;
/// The variable part of a header that runs to the end of the buffer.
pub(crate) type Rest = core::ops::RangeFrom<usize>;

/// Reads a big-endian `u16` from the first two bytes of `b`.
#[inline]
pub(crate) fn read_u16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

/// Reads a big-endian `u32` from the first four bytes of `b`.
#[inline]
pub(crate) fn read_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Writes `v` big-endian into the first two bytes of `b`.
#[inline]
pub(crate) fn write_u16(b: &mut [u8], v: u16) {
    b[..2].copy_from_slice(&v.to_be_bytes());
}

/// Writes `v` big-endian into the first four bytes of `b`.
#[inline]
pub(crate) fn write_u32(b: &mut [u8], v: u32) {
    b[..4].copy_from_slice(&v.to_be_bytes());
}

/// An IP protocol number (IPv4 Protocol / IPv6 Next Header), as registered by IANA.
///
/// A transparent newtype rather than an enum, so every value of the byte round-trips; the
/// associated constants can be used in `match` patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct IpProtocol(pub u8);

impl IpProtocol {
    /// IPv6 Hop-by-Hop Options extension header.
    pub const HOP_BY_HOP: IpProtocol = IpProtocol(0);
    /// ICMP for IPv4.
    pub const ICMP: IpProtocol = IpProtocol(1);
    /// IPv4 encapsulated in IP (IP-in-IP).
    pub const IPV4: IpProtocol = IpProtocol(4);
    /// TCP.
    pub const TCP: IpProtocol = IpProtocol(6);
    /// UDP.
    pub const UDP: IpProtocol = IpProtocol(17);
    /// IPv6 encapsulated in IP.
    pub const IPV6: IpProtocol = IpProtocol(41);
    /// IPv6 Routing extension header (Routing Type 4 is the SRv6 SRH).
    pub const IPV6_ROUTE: IpProtocol = IpProtocol(43);
    /// IPv6 Fragment extension header.
    pub const IPV6_FRAG: IpProtocol = IpProtocol(44);
    /// ICMP for IPv6.
    pub const ICMPV6: IpProtocol = IpProtocol(58);
    /// IPv6 No Next Header.
    pub const IPV6_NO_NXT: IpProtocol = IpProtocol(59);
    /// IPv6 Destination Options extension header.
    pub const IPV6_OPTS: IpProtocol = IpProtocol(60);

    /// True for the IPv6 extension headers the parser walks (Hop-by-Hop, Routing,
    /// Fragment, Destination Options).
    #[inline]
    pub const fn is_ipv6_extension(self) -> bool {
        matches!(self.0, 0 | 43 | 44 | 60)
    }
}

impl From<u8> for IpProtocol {
    #[inline]
    fn from(v: u8) -> Self {
        IpProtocol(v)
    }
}

impl From<IpProtocol> for u8 {
    #[inline]
    fn from(v: IpProtocol) -> Self {
        v.0
    }
}

impl core::fmt::Display for IpProtocol {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let name = match *self {
            IpProtocol::HOP_BY_HOP => "hop-by-hop",
            IpProtocol::ICMP => "icmp",
            IpProtocol::IPV4 => "ipv4",
            IpProtocol::TCP => "tcp",
            IpProtocol::UDP => "udp",
            IpProtocol::IPV6 => "ipv6",
            IpProtocol::IPV6_ROUTE => "ipv6-route",
            IpProtocol::IPV6_FRAG => "ipv6-frag",
            IpProtocol::ICMPV6 => "icmpv6",
            IpProtocol::IPV6_NO_NXT => "ipv6-no-nxt",
            IpProtocol::IPV6_OPTS => "ipv6-opts",
            IpProtocol(other) => return write!(f, "proto-{other}"),
        };
        f.write_str(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_protocol_constants_match_in_patterns() {
        let p = IpProtocol::from(17u8);
        assert!(matches!(p, IpProtocol::UDP));
        assert_eq!(u8::from(IpProtocol::TCP), 6);
        assert!(IpProtocol::IPV6_ROUTE.is_ipv6_extension());
        assert!(IpProtocol::IPV6_FRAG.is_ipv6_extension());
        assert!(IpProtocol::HOP_BY_HOP.is_ipv6_extension());
        assert!(IpProtocol::IPV6_OPTS.is_ipv6_extension());
        assert!(!IpProtocol::UDP.is_ipv6_extension());
        assert!(!IpProtocol::IPV6_NO_NXT.is_ipv6_extension());
        assert_eq!(IpProtocol::UDP.to_string(), "udp");
        assert_eq!(IpProtocol(200).to_string(), "proto-200");
    }

    #[test]
    fn byte_helpers() {
        let mut b = [0u8; 4];
        write_u16(&mut b, 0x1234);
        assert_eq!(read_u16(&b), 0x1234);
        write_u32(&mut b, 0xdead_beef);
        assert_eq!(read_u32(&b), 0xdead_beef);
        assert_eq!(b, [0xde, 0xad, 0xbe, 0xef]);
    }
}
