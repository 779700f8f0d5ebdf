//! UDP headers (RFC 768).

use core::net::IpAddr;

use super::checksum;
use super::{read_u16, write_u16, IpProtocol};
use crate::drop::DropReason;

mod field {
    use crate::wire::Field;

    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
    pub const LENGTH: Field = 4..6;
    pub const CHECKSUM: Field = 6..8;
}

/// Length of a UDP header.
pub const HEADER_LEN: usize = field::CHECKSUM.end;

/// A read/write view of a UDP datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

/// The checksum over the pseudo-header and the datagram `data` (length field included).
fn compute_checksum(src: &IpAddr, dst: &IpAddr, data: &[u8]) -> Option<u16> {
    let pseudo = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            checksum::pseudo_header_v4(*s, *d, IpProtocol::UDP, u16::try_from(data.len()).ok()?)
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            checksum::pseudo_header_v6(*s, *d, IpProtocol::UDP, u32::try_from(data.len()).ok()?)
        }
        _ => return None,
    };
    Some(checksum::combine(&[pseudo, checksum::sum(data)]))
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking its length (getters may then panic).
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a buffer after [`Packet::check_len`].
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Packet<T>, DropReason> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks that the buffer holds the header ([`DropReason::UdpTruncated`]) and that
    /// the length field is at least 8 and within the buffer ([`DropReason::UdpBadLength`]).
    #[inline]
    pub fn check_len(&self) -> Result<(), DropReason> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(DropReason::UdpTruncated);
        }
        let field_len = usize::from(self.len());
        if field_len < HEADER_LEN || field_len > len {
            return Err(DropReason::UdpBadLength);
        }
        Ok(())
    }

    /// Unwraps the buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Source port.
    #[inline]
    pub fn src_port(&self) -> u16 {
        read_u16(&self.buffer.as_ref()[field::SRC_PORT])
    }

    /// Destination port.
    #[inline]
    pub fn dst_port(&self) -> u16 {
        read_u16(&self.buffer.as_ref()[field::DST_PORT])
    }

    /// Length field: header and payload in bytes.
    #[inline]
    pub fn len(&self) -> u16 {
        read_u16(&self.buffer.as_ref()[field::LENGTH])
    }

    /// True if the length field announces no payload.
    #[inline]
    pub fn is_empty(&self) -> bool {
        usize::from(self.len()) <= HEADER_LEN
    }

    /// Checksum as stored (0 means none was computed, IPv4 only).
    #[inline]
    pub fn checksum(&self) -> u16 {
        read_u16(&self.buffer.as_ref()[field::CHECKSUM])
    }

    /// The payload up to the length field (requires a checked view).
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..usize::from(self.len())]
    }

    /// True if the checksum verifies against the pseudo-header of `src`/`dst`, or if it is
    /// 0 (no checksum) over IPv4. Requires a checked view; false for mixed address families.
    pub fn verify_checksum(&self, src: &IpAddr, dst: &IpAddr) -> bool {
        if src.is_ipv4() && self.checksum() == 0 {
            return true;
        }
        let data = &self.buffer.as_ref()[..usize::from(self.len())];
        compute_checksum(src, dst, data) == Some(0)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the source port.
    #[inline]
    pub fn set_src_port(&mut self, value: u16) {
        write_u16(&mut self.buffer.as_mut()[field::SRC_PORT], value);
    }

    /// Sets the destination port.
    #[inline]
    pub fn set_dst_port(&mut self, value: u16) {
        write_u16(&mut self.buffer.as_mut()[field::DST_PORT], value);
    }

    /// Sets the length field.
    #[inline]
    pub fn set_len(&mut self, value: u16) {
        write_u16(&mut self.buffer.as_mut()[field::LENGTH], value);
    }

    /// Sets the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, value: u16) {
        write_u16(&mut self.buffer.as_mut()[field::CHECKSUM], value);
    }

    /// Computes and stores the checksum over the pseudo-header and the datagram (length
    /// field set, payload written). A computed 0 is sent as `0xffff` (RFC 768).
    pub fn fill_checksum(&mut self, src: &IpAddr, dst: &IpAddr) {
        self.set_checksum(0);
        let data = &self.buffer.as_ref()[..usize::from(self.len())];
        let c = match compute_checksum(src, dst, data) {
            Some(0) => 0xffff,
            Some(c) => c,
            None => 0,
        };
        self.set_checksum(c);
    }

    /// The payload up to the length field, mutable (requires a checked view).
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = usize::from(self.len());
        &mut self.buffer.as_mut()[HEADER_LEN..end]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// The fields of a UDP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Payload length in bytes (length field − 8).
    pub payload_len: usize,
}

impl Repr {
    /// Reads a header after checking the lengths (not the checksum, which needs the IP
    /// addresses: see [`Packet::verify_checksum`]).
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr, DropReason> {
        packet.check_len()?;
        Ok(Repr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            payload_len: usize::from(packet.len()) - HEADER_LEN,
        })
    }

    /// Length of the emitted header.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header with a zero checksum; call [`Packet::fill_checksum`] once the
    /// payload is in place. `payload_len` must be at most 65527.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_len((HEADER_LEN + self.payload_len) as u16);
        packet.set_checksum(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::{Ipv4Addr, Ipv6Addr};

    static PACKET_BYTES: [u8; 12] = [
        0xbf, 0x00, 0x00, 0x35, // 48896 -> 53
        0x00, 0x0c, 0x12, 0x4d, // length 12, checksum
        0xaa, 0x00, 0x00, 0xff, // payload
    ];

    fn src4() -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 168, 1, 1))
    }

    fn dst4() -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 168, 1, 2))
    }

    #[test]
    fn deconstruct() {
        let p = Packet::new_checked(&PACKET_BYTES[..]).unwrap();
        assert_eq!(p.src_port(), 48896);
        assert_eq!(p.dst_port(), 53);
        assert_eq!(p.len(), 12);
        assert!(!p.is_empty());
        assert_eq!(p.checksum(), 0x124d);
        assert_eq!(p.payload(), &[0xaa, 0x00, 0x00, 0xff]);
        assert!(p.verify_checksum(&src4(), &dst4()));
    }

    #[test]
    fn construct() {
        let mut bytes = [0xa5u8; 12];
        let mut p = Packet::new_unchecked(&mut bytes[..]);
        p.set_src_port(48896);
        p.set_dst_port(53);
        p.set_len(12);
        p.payload_mut().copy_from_slice(&[0xaa, 0x00, 0x00, 0xff]);
        p.fill_checksum(&src4(), &dst4());
        assert_eq!(bytes, PACKET_BYTES);
    }

    #[test]
    fn checksum_v6_and_zero() {
        let src = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
        let dst = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2));
        let mut bytes = PACKET_BYTES;
        let mut p = Packet::new_unchecked(&mut bytes[..]);
        p.fill_checksum(&src, &dst);
        assert!(p.verify_checksum(&src, &dst));
        assert!(!p.verify_checksum(&src4(), &dst4()));
        assert!(
            !p.verify_checksum(&src, &dst4()),
            "mixed families never verify"
        );
        p.set_checksum(0);
        assert!(
            !p.verify_checksum(&src, &dst),
            "zero checksum is invalid over IPv6"
        );
        assert!(
            p.verify_checksum(&src4(), &dst4()),
            "zero checksum means none over IPv4"
        );
    }

    #[test]
    fn length_errors() {
        for n in 0..8 {
            assert_eq!(
                Packet::new_checked(&PACKET_BYTES[..n]).err(),
                Some(DropReason::UdpTruncated)
            );
        }
        for n in 8..12 {
            assert_eq!(
                Packet::new_checked(&PACKET_BYTES[..n]).err(),
                Some(DropReason::UdpBadLength)
            );
        }
        let mut bad = PACKET_BYTES;
        bad[5] = 7;
        assert_eq!(
            Packet::new_checked(&bad[..]).err(),
            Some(DropReason::UdpBadLength)
        );
        bad[5] = 8;
        let p = Packet::new_checked(&bad[..]).unwrap();
        assert!(p.is_empty());
        assert_eq!(p.payload(), &[]);
    }

    #[test]
    fn repr_round_trip() {
        let repr = Repr {
            src_port: 48896,
            dst_port: 53,
            payload_len: 4,
        };
        let mut bytes = [0u8; 12];
        bytes[8..].copy_from_slice(&[0xaa, 0x00, 0x00, 0xff]);
        let mut p = Packet::new_unchecked(&mut bytes[..]);
        repr.emit(&mut p);
        assert_eq!(p.checksum(), 0);
        p.fill_checksum(&src4(), &dst4());
        assert_eq!(bytes, PACKET_BYTES);
        assert_eq!(Repr::parse(&Packet::new_unchecked(&bytes[..])), Ok(repr));
    }
}
