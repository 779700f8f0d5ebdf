//! IPv4 headers (RFC 791).

use core::net::Ipv4Addr;

use super::checksum;
use super::{read_u16, write_u16, IpProtocol};
use crate::drop::DropReason;

mod field {
    use crate::wire::Field;

    pub const VER_IHL: usize = 0;
    pub const DSCP_ECN: usize = 1;
    pub const LENGTH: Field = 2..4;
    pub const IDENT: Field = 4..6;
    pub const FLG_OFF: Field = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Field = 10..12;
    pub const SRC_ADDR: Field = 12..16;
    pub const DST_ADDR: Field = 16..20;
}

/// Length of an IPv4 header without options.
pub const HEADER_LEN: usize = field::DST_ADDR.end;
/// Longest IPv4 header (IHL 15).
pub const MAX_HEADER_LEN: usize = 60;

/// Don't Fragment flag in the flags/fragment-offset word.
const FLAG_DF: u16 = 0x4000;
/// More Fragments flag in the flags/fragment-offset word.
const FLAG_MF: u16 = 0x2000;
/// Fragment offset bits (in 8-byte units) of the flags/fragment-offset word.
const OFFSET_MASK: u16 = 0x1fff;

/// A read/write view of an IPv4 packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
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
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds the whole header and the whole datagram:
    /// - fewer than 20 bytes: [`DropReason::Ipv4Truncated`];
    /// - IHL below 5 or header beyond the buffer: [`DropReason::Ipv4BadHeaderLen`];
    /// - total length below the header length or beyond the buffer:
    ///   [`DropReason::Ipv4BadTotalLen`].
    ///
    /// Bytes after the total length (Ethernet padding) are allowed. The version and the
    /// checksum are not checked here.
    #[inline]
    pub fn check_len(&self) -> Result<(), DropReason> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(DropReason::Ipv4Truncated);
        }
        let header_len = self.header_len();
        if header_len < HEADER_LEN || header_len > len {
            return Err(DropReason::Ipv4BadHeaderLen);
        }
        let total_len = usize::from(self.total_len());
        if total_len < header_len || total_len > len {
            return Err(DropReason::Ipv4BadTotalLen);
        }
        Ok(())
    }

    /// Unwraps the buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Version field (4 for IPv4).
    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// Header length in bytes (IHL × 4).
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }

    /// Differentiated Services Code Point.
    #[inline]
    pub fn dscp(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN] >> 2
    }

    /// Explicit Congestion Notification.
    #[inline]
    pub fn ecn(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN] & 0x03
    }

    /// Total length of the datagram (header and payload) in bytes.
    #[inline]
    pub fn total_len(&self) -> u16 {
        read_u16(&self.buffer.as_ref()[field::LENGTH])
    }

    /// Identification.
    #[inline]
    pub fn ident(&self) -> u16 {
        read_u16(&self.buffer.as_ref()[field::IDENT])
    }

    /// Don't Fragment flag.
    #[inline]
    pub fn dont_frag(&self) -> bool {
        read_u16(&self.buffer.as_ref()[field::FLG_OFF]) & FLAG_DF != 0
    }

    /// More Fragments flag.
    #[inline]
    pub fn more_frags(&self) -> bool {
        read_u16(&self.buffer.as_ref()[field::FLG_OFF]) & FLAG_MF != 0
    }

    /// Fragment offset in bytes (the field × 8).
    #[inline]
    pub fn frag_offset(&self) -> u16 {
        (read_u16(&self.buffer.as_ref()[field::FLG_OFF]) & OFFSET_MASK) << 3
    }

    /// True if the datagram is a fragment (More Fragments set or a non-zero offset).
    #[inline]
    pub fn is_fragment(&self) -> bool {
        read_u16(&self.buffer.as_ref()[field::FLG_OFF]) & (FLAG_MF | OFFSET_MASK) != 0
    }

    /// Time to live.
    #[inline]
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    /// Protocol of the payload.
    #[inline]
    pub fn protocol(&self) -> IpProtocol {
        IpProtocol(self.buffer.as_ref()[field::PROTOCOL])
    }

    /// Header checksum as stored.
    #[inline]
    pub fn checksum(&self) -> u16 {
        read_u16(&self.buffer.as_ref()[field::CHECKSUM])
    }

    /// Source address.
    #[inline]
    pub fn src_addr(&self) -> Ipv4Addr {
        let d = &self.buffer.as_ref()[field::SRC_ADDR];
        Ipv4Addr::new(d[0], d[1], d[2], d[3])
    }

    /// Destination address.
    #[inline]
    pub fn dst_addr(&self) -> Ipv4Addr {
        let d = &self.buffer.as_ref()[field::DST_ADDR];
        Ipv4Addr::new(d[0], d[1], d[2], d[3])
    }

    /// True if the header checksum verifies (requires a checked view).
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        let hdr = &self.buffer.as_ref()[..self.header_len()];
        match hdr.first_chunk::<HEADER_LEN>() {
            // No options, the common case.
            Some(h) if hdr.len() == HEADER_LEN => checksum::checksum20(h) == 0,
            _ => checksum::checksum(hdr) == 0,
        }
    }

    /// The options between the fixed header and the payload (requires a checked view).
    #[inline]
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..self.header_len()]
    }

    /// The payload, up to the total length: Ethernet padding is excluded (requires a
    /// checked view).
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..usize::from(self.total_len())]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the version field.
    #[inline]
    pub fn set_version(&mut self, value: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0x0f) | (value << 4);
    }

    /// Sets the header length in bytes (must be a multiple of 4, at most 60).
    #[inline]
    pub fn set_header_len(&mut self, value: usize) {
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0xf0) | ((value / 4) as u8 & 0x0f);
    }

    /// Sets the DSCP (6 bits).
    #[inline]
    pub fn set_dscp(&mut self, value: u8) {
        let b = &mut self.buffer.as_mut()[field::DSCP_ECN];
        *b = (*b & 0x03) | (value << 2);
    }

    /// Sets the ECN (2 bits).
    #[inline]
    pub fn set_ecn(&mut self, value: u8) {
        let b = &mut self.buffer.as_mut()[field::DSCP_ECN];
        *b = (*b & 0xfc) | (value & 0x03);
    }

    /// Sets the total length.
    #[inline]
    pub fn set_total_len(&mut self, value: u16) {
        write_u16(&mut self.buffer.as_mut()[field::LENGTH], value);
    }

    /// Sets the identification.
    #[inline]
    pub fn set_ident(&mut self, value: u16) {
        write_u16(&mut self.buffer.as_mut()[field::IDENT], value);
    }

    fn set_flg_off(&mut self, mask: u16, value: u16) {
        let old = read_u16(&self.buffer.as_ref()[field::FLG_OFF]);
        write_u16(
            &mut self.buffer.as_mut()[field::FLG_OFF],
            (old & !mask) | (value & mask),
        );
    }

    /// Clears the flags (DF, MF and the reserved bit), keeping the offset.
    #[inline]
    pub fn clear_flags(&mut self) {
        self.set_flg_off(0xe000, 0);
    }

    /// Sets the Don't Fragment flag.
    #[inline]
    pub fn set_dont_frag(&mut self, value: bool) {
        self.set_flg_off(FLAG_DF, if value { FLAG_DF } else { 0 });
    }

    /// Sets the More Fragments flag.
    #[inline]
    pub fn set_more_frags(&mut self, value: bool) {
        self.set_flg_off(FLAG_MF, if value { FLAG_MF } else { 0 });
    }

    /// Sets the fragment offset in bytes (must be a multiple of 8).
    #[inline]
    pub fn set_frag_offset(&mut self, value: u16) {
        self.set_flg_off(OFFSET_MASK, value >> 3);
    }

    /// Sets the time to live.
    #[inline]
    pub fn set_ttl(&mut self, value: u8) {
        self.buffer.as_mut()[field::TTL] = value;
    }

    /// Sets the protocol.
    #[inline]
    pub fn set_protocol(&mut self, value: IpProtocol) {
        self.buffer.as_mut()[field::PROTOCOL] = value.0;
    }

    /// Sets the header checksum field.
    #[inline]
    pub fn set_checksum(&mut self, value: u16) {
        write_u16(&mut self.buffer.as_mut()[field::CHECKSUM], value);
    }

    /// Sets the source address.
    #[inline]
    pub fn set_src_addr(&mut self, value: Ipv4Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&value.octets());
    }

    /// Sets the destination address.
    #[inline]
    pub fn set_dst_addr(&mut self, value: Ipv4Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&value.octets());
    }

    /// Recomputes and stores the header checksum (the header length must be set).
    #[inline]
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let c = checksum::checksum(&self.buffer.as_ref()[..self.header_len()]);
        self.set_checksum(c);
    }

    /// Decrements the TTL and updates the checksum incrementally (RFC 1624). Returns the
    /// new TTL; the caller must first check that the TTL is above 1.
    #[inline]
    pub fn decrement_ttl(&mut self) -> u8 {
        let ttl = self.ttl();
        let old_word = u16::from_be_bytes([ttl, self.protocol().0]);
        let new_ttl = ttl.wrapping_sub(1);
        let new_word = u16::from_be_bytes([new_ttl, self.protocol().0]);
        self.set_ttl(new_ttl);
        let c = checksum::update_u16(self.checksum(), old_word, new_word);
        self.set_checksum(c);
        new_ttl
    }

    /// The payload up to the total length, mutable (requires a checked view).
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let range = self.header_len()..usize::from(self.total_len());
        &mut self.buffer.as_mut()[range]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// The meaningful fields of an IPv4 header without options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Source address.
    pub src_addr: Ipv4Addr,
    /// Destination address.
    pub dst_addr: Ipv4Addr,
    /// Protocol of the payload.
    pub protocol: IpProtocol,
    /// Payload length in bytes (total length − 20).
    pub payload_len: usize,
    /// Time to live.
    pub ttl: u8,
    /// Differentiated Services Code Point.
    pub dscp: u8,
    /// Identification.
    pub ident: u16,
    /// Don't Fragment flag.
    pub dont_frag: bool,
}

impl Repr {
    /// Reads a datagram header: checks lengths, version and checksum. Options are skipped;
    /// fragments are accepted (the fragment fields are not part of the representation).
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr, DropReason> {
        if packet.as_ref().len() < HEADER_LEN {
            return Err(DropReason::Ipv4Truncated);
        }
        if packet.version() != 4 {
            return Err(DropReason::Ipv4BadVersion);
        }
        packet.check_len()?;
        if !packet.verify_checksum() {
            return Err(DropReason::Ipv4BadChecksum);
        }
        Ok(Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            protocol: packet.protocol(),
            payload_len: usize::from(packet.total_len()) - packet.header_len(),
            ttl: packet.ttl(),
            dscp: packet.dscp(),
            ident: packet.ident(),
            dont_frag: packet.dont_frag(),
        })
    }

    /// Length of the emitted header.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes a 20-byte header (no options, ECN 0, not a fragment) with a valid checksum.
    /// `packet` must hold at least [`Repr::buffer_len`] bytes; `payload_len` must be at most
    /// 65515.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_version(4);
        packet.set_header_len(HEADER_LEN);
        packet.set_dscp(self.dscp);
        packet.set_ecn(0);
        packet.set_total_len((HEADER_LEN + self.payload_len) as u16);
        packet.set_ident(self.ident);
        packet.set_flg_off(0xffff, 0);
        packet.set_dont_frag(self.dont_frag);
        packet.set_ttl(self.ttl);
        packet.set_protocol(self.protocol);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
        packet.fill_checksum();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static PACKET_BYTES: [u8; 30] = [
        0x45, 0x00, 0x00, 0x1e, // ver 4, IHL 5, DSCP 0, total 30
        0x01, 0x02, 0x62, 0x03, // ident 0x0102, DF + MF, offset 0x203 × 8
        0x1a, 0x11, 0xd5, 0x5e, // TTL 26, UDP, checksum
        0x11, 0x12, 0x13, 0x14, // src 17.18.19.20
        0x21, 0x22, 0x23, 0x24, // dst 33.34.35.36
        0xaa, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, // payload
    ];

    static PAYLOAD_BYTES: [u8; 10] = [0xaa, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff];

    #[test]
    fn deconstruct() {
        let packet = Packet::new_checked(&PACKET_BYTES[..]).unwrap();
        assert_eq!(packet.version(), 4);
        assert_eq!(packet.header_len(), 20);
        assert_eq!(packet.dscp(), 0);
        assert_eq!(packet.ecn(), 0);
        assert_eq!(packet.total_len(), 30);
        assert_eq!(packet.ident(), 0x102);
        assert!(packet.dont_frag());
        assert!(packet.more_frags());
        assert!(packet.is_fragment());
        assert_eq!(packet.frag_offset(), 0x203 * 8);
        assert_eq!(packet.ttl(), 0x1a);
        assert_eq!(packet.protocol(), IpProtocol::UDP);
        assert_eq!(packet.checksum(), 0xd55e);
        assert_eq!(packet.src_addr(), Ipv4Addr::new(0x11, 0x12, 0x13, 0x14));
        assert_eq!(packet.dst_addr(), Ipv4Addr::new(0x21, 0x22, 0x23, 0x24));
        assert!(packet.verify_checksum());
        assert_eq!(packet.options(), &[]);
        assert_eq!(packet.payload(), &PAYLOAD_BYTES[..]);
    }

    #[test]
    fn construct() {
        let mut bytes = [0xa5u8; 30];
        let mut packet = Packet::new_unchecked(&mut bytes[..]);
        packet.set_version(4);
        packet.set_header_len(20);
        packet.clear_flags();
        packet.set_dscp(0);
        packet.set_ecn(0);
        packet.set_total_len(30);
        packet.set_ident(0x102);
        packet.set_more_frags(true);
        packet.set_dont_frag(true);
        packet.set_frag_offset(0x203 * 8);
        packet.set_ttl(0x1a);
        packet.set_protocol(IpProtocol::UDP);
        packet.set_src_addr(Ipv4Addr::new(0x11, 0x12, 0x13, 0x14));
        packet.set_dst_addr(Ipv4Addr::new(0x21, 0x22, 0x23, 0x24));
        packet.fill_checksum();
        packet.payload_mut().copy_from_slice(&PAYLOAD_BYTES[..]);
        assert_eq!(&bytes[..], &PACKET_BYTES[..]);
    }

    #[test]
    fn padding_is_not_payload() {
        let mut bytes = PACKET_BYTES.to_vec();
        bytes.extend_from_slice(&[0u8; 16]);
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(packet.payload(), &PAYLOAD_BYTES[..]);
    }

    #[test]
    fn check_len_errors() {
        for n in 0..20 {
            assert_eq!(
                Packet::new_checked(&PACKET_BYTES[..n]).err(),
                Some(DropReason::Ipv4Truncated)
            );
        }
        for n in 20..30 {
            assert_eq!(
                Packet::new_checked(&PACKET_BYTES[..n]).err(),
                Some(DropReason::Ipv4BadTotalLen)
            );
        }
        let mut bytes = PACKET_BYTES;
        bytes[0] = 0x44; // IHL 4
        assert_eq!(
            Packet::new_checked(&bytes[..]).err(),
            Some(DropReason::Ipv4BadHeaderLen)
        );
        bytes[0] = 0x48; // IHL 8 = 32 bytes > 30
        assert_eq!(
            Packet::new_checked(&bytes[..]).err(),
            Some(DropReason::Ipv4BadHeaderLen)
        );
        bytes[0] = 0x46; // IHL 6 = 24 bytes, fits, total length 30 ok
        assert!(Packet::new_checked(&bytes[..]).is_ok());
        bytes[3] = 22; // total 22 < header 24
        assert_eq!(
            Packet::new_checked(&bytes[..]).err(),
            Some(DropReason::Ipv4BadTotalLen)
        );
    }

    #[test]
    fn options_are_exposed() {
        let mut bytes = [0u8; 28];
        let mut p = Packet::new_unchecked(&mut bytes[..]);
        p.set_version(4);
        p.set_header_len(24);
        p.set_total_len(28);
        p.set_ttl(64);
        p.set_protocol(IpProtocol::TCP);
        p.buffer[20..24].copy_from_slice(&[0x94, 0x04, 0x00, 0x00]); // router alert
        p.fill_checksum();
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.options(), &[0x94, 0x04, 0x00, 0x00]);
        assert_eq!(p.payload().len(), 4);
        assert!(p.verify_checksum());
    }

    fn repr() -> Repr {
        Repr {
            src_addr: Ipv4Addr::new(0x11, 0x12, 0x13, 0x14),
            dst_addr: Ipv4Addr::new(0x21, 0x22, 0x23, 0x24),
            protocol: IpProtocol::UDP,
            payload_len: 10,
            ttl: 64,
            dscp: 46,
            ident: 7,
            dont_frag: true,
        }
    }

    #[test]
    fn repr_round_trip() {
        let mut bytes = [0u8; 30];
        repr().emit(&mut Packet::new_unchecked(&mut bytes[..]));
        assert_eq!(&bytes[..4], &[0x45, 46 << 2, 0x00, 0x1e]);
        assert_eq!(&bytes[6..8], &[0x40, 0x00]);
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert!(p.verify_checksum());
        assert_eq!(Repr::parse(&p), Ok(repr()));
    }

    #[test]
    fn repr_parse_errors() {
        let mut bytes = [0u8; 30];
        repr().emit(&mut Packet::new_unchecked(&mut bytes[..]));
        let mut bad = bytes;
        bad[0] = 0x65;
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&bad[..])),
            Err(DropReason::Ipv4BadVersion)
        );
        let mut bad = bytes;
        bad[12] ^= 1;
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&bad[..])),
            Err(DropReason::Ipv4BadChecksum)
        );
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&bytes[..10])),
            Err(DropReason::Ipv4Truncated)
        );
    }

    #[test]
    fn decrement_ttl_keeps_checksum_valid() {
        let mut bytes = PACKET_BYTES;
        for expected in (0..0x1a).rev() {
            let mut p = Packet::new_unchecked(&mut bytes[..]);
            assert_eq!(p.decrement_ttl(), expected);
            assert!(p.verify_checksum());
        }
    }
}
