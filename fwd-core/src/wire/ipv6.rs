//! IPv6 fixed headers (RFC 8200) and the generic extension-header helpers used to walk
//! the header chain: a view of the common `Next Header` / `Hdr Ext Len` layout, a view of
//! the Fragment header, and an allocation-free iterator over a chain.

use core::net::Ipv6Addr;

use super::{read_u16, read_u32, write_u16, write_u32, IpProtocol};
use crate::drop::DropReason;

mod field {
    use crate::wire::{Field, Rest};

    pub const VER_TC_FLOW: Field = 0..4;
    pub const LENGTH: Field = 4..6;
    pub const NXT_HDR: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC_ADDR: Field = 8..24;
    pub const DST_ADDR: Field = 24..40;
    pub const PAYLOAD: Rest = 40..;
}

/// Length of the IPv6 fixed header.
pub const HEADER_LEN: usize = field::PAYLOAD.start;

fn addr(b: &[u8]) -> Ipv6Addr {
    let mut o = [0u8; 16];
    o.copy_from_slice(&b[..16]);
    Ipv6Addr::from(o)
}

/// A read/write view of an IPv6 packet.
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

    /// Checks that the buffer holds the fixed header ([`DropReason::Ipv6Truncated`]) and
    /// the payload length it announces ([`DropReason::Ipv6BadPayloadLen`]). Bytes after
    /// the payload (Ethernet padding) are allowed. The version is not checked here.
    #[inline]
    pub fn check_len(&self) -> Result<(), DropReason> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(DropReason::Ipv6Truncated);
        }
        if HEADER_LEN + usize::from(self.payload_len()) > len {
            return Err(DropReason::Ipv6BadPayloadLen);
        }
        Ok(())
    }

    /// Unwraps the buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Version field (6 for IPv6).
    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TC_FLOW.start] >> 4
    }

    /// Traffic class.
    #[inline]
    pub fn traffic_class(&self) -> u8 {
        (read_u16(&self.buffer.as_ref()[field::VER_TC_FLOW]) >> 4) as u8
    }

    /// Flow label (20 bits).
    #[inline]
    pub fn flow_label(&self) -> u32 {
        read_u32(&self.buffer.as_ref()[field::VER_TC_FLOW]) & 0x000f_ffff
    }

    /// Payload length: bytes after the fixed header, extension headers included.
    #[inline]
    pub fn payload_len(&self) -> u16 {
        read_u16(&self.buffer.as_ref()[field::LENGTH])
    }

    /// Next header (the first extension header or the upper layer).
    #[inline]
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol(self.buffer.as_ref()[field::NXT_HDR])
    }

    /// Hop limit.
    #[inline]
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::HOP_LIMIT]
    }

    /// Source address.
    #[inline]
    pub fn src_addr(&self) -> Ipv6Addr {
        addr(&self.buffer.as_ref()[field::SRC_ADDR])
    }

    /// Destination address.
    #[inline]
    pub fn dst_addr(&self) -> Ipv6Addr {
        addr(&self.buffer.as_ref()[field::DST_ADDR])
    }

    /// The payload up to the payload length: Ethernet padding is excluded (requires a
    /// checked view).
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..HEADER_LEN + usize::from(self.payload_len())]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the version field.
    #[inline]
    pub fn set_version(&mut self, value: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_TC_FLOW.start];
        *b = (*b & 0x0f) | (value << 4);
    }

    /// Sets the traffic class.
    #[inline]
    pub fn set_traffic_class(&mut self, value: u8) {
        let f = &mut self.buffer.as_mut()[field::VER_TC_FLOW];
        let w = (read_u16(f) & 0xf00f) | (u16::from(value) << 4);
        write_u16(f, w);
    }

    /// Sets the flow label (only the low 20 bits of `value` are used).
    #[inline]
    pub fn set_flow_label(&mut self, value: u32) {
        let f = &mut self.buffer.as_mut()[field::VER_TC_FLOW];
        let w = (read_u32(f) & 0xfff0_0000) | (value & 0x000f_ffff);
        write_u32(f, w);
    }

    /// Sets the payload length.
    #[inline]
    pub fn set_payload_len(&mut self, value: u16) {
        write_u16(&mut self.buffer.as_mut()[field::LENGTH], value);
    }

    /// Sets the next header.
    #[inline]
    pub fn set_next_header(&mut self, value: IpProtocol) {
        self.buffer.as_mut()[field::NXT_HDR] = value.0;
    }

    /// Sets the hop limit.
    #[inline]
    pub fn set_hop_limit(&mut self, value: u8) {
        self.buffer.as_mut()[field::HOP_LIMIT] = value;
    }

    /// Sets the source address.
    #[inline]
    pub fn set_src_addr(&mut self, value: Ipv6Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&value.octets());
    }

    /// Sets the destination address.
    #[inline]
    pub fn set_dst_addr(&mut self, value: Ipv6Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&value.octets());
    }

    /// The payload up to the payload length, mutable (requires a checked view).
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = HEADER_LEN + usize::from(self.payload_len());
        &mut self.buffer.as_mut()[HEADER_LEN..end]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// The meaningful fields of an IPv6 fixed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Source address.
    pub src_addr: Ipv6Addr,
    /// Destination address.
    pub dst_addr: Ipv6Addr,
    /// Next header.
    pub next_header: IpProtocol,
    /// Payload length (extension headers included).
    pub payload_len: usize,
    /// Hop limit.
    pub hop_limit: u8,
    /// Traffic class.
    pub traffic_class: u8,
    /// Flow label (20 bits).
    pub flow_label: u32,
}

impl Repr {
    /// Reads a fixed header: checks lengths and version.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr, DropReason> {
        if packet.as_ref().len() < HEADER_LEN {
            return Err(DropReason::Ipv6Truncated);
        }
        if packet.version() != 6 {
            return Err(DropReason::Ipv6BadVersion);
        }
        packet.check_len()?;
        Ok(Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            next_header: packet.next_header(),
            payload_len: usize::from(packet.payload_len()),
            hop_limit: packet.hop_limit(),
            traffic_class: packet.traffic_class(),
            flow_label: packet.flow_label(),
        })
    }

    /// Length of the emitted header.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the fixed header; `packet` must hold at least [`Repr::buffer_len`] bytes and
    /// `payload_len` must be at most 65535 (the flow label keeps its low 20 bits).
    ///
    /// The header is assembled in registers and stored whole: no field is read back, so
    /// a header written into cold headroom (encapsulation) costs one write, not a read
    /// miss followed by partial stores that defeat store forwarding.
    #[inline]
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        let mut h = [0u8; HEADER_LEN];
        let first =
            (6u32 << 28) | (u32::from(self.traffic_class) << 20) | (self.flow_label & 0x000f_ffff);
        h[0..4].copy_from_slice(&first.to_be_bytes());
        h[4..6].copy_from_slice(&(self.payload_len as u16).to_be_bytes());
        h[6] = self.next_header.0;
        h[7] = self.hop_limit;
        h[8..24].copy_from_slice(&self.src_addr.octets());
        h[24..40].copy_from_slice(&self.dst_addr.octets());
        packet.buffer.as_mut()[..HEADER_LEN].copy_from_slice(&h);
    }
}

mod ext_field {
    use crate::wire::Field;

    pub const NXT_HDR: usize = 0;
    pub const LENGTH: usize = 1;
    pub const DATA: Field = 2..8;
}

/// Smallest extension header (Hdr Ext Len 0).
pub const EXT_HEADER_MIN_LEN: usize = 8;

/// A read/write view of an extension header with the common layout of Hop-by-Hop,
/// Routing and Destination Options headers: Next Header, Hdr Ext Len (in 8-byte units not
/// counting the first 8 bytes), then type-specific data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtHeader<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ExtHeader<T> {
    /// Wraps a buffer without checking its length (getters may then panic).
    #[inline]
    pub const fn new_unchecked(buffer: T) -> ExtHeader<T> {
        ExtHeader { buffer }
    }

    /// Wraps a buffer that holds the whole header as announced by Hdr Ext Len.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<ExtHeader<T>, DropReason> {
        let h = Self::new_unchecked(buffer);
        h.check_len()?;
        Ok(h)
    }

    /// Errors with [`DropReason::Ipv6ExtTruncated`] unless the buffer holds at least 8 bytes
    /// and the whole length announced by Hdr Ext Len.
    #[inline]
    pub fn check_len(&self) -> Result<(), DropReason> {
        let len = self.buffer.as_ref().len();
        if len < EXT_HEADER_MIN_LEN || self.header_len() > len {
            return Err(DropReason::Ipv6ExtTruncated);
        }
        Ok(())
    }

    /// Unwraps the buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Next header.
    #[inline]
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol(self.buffer.as_ref()[ext_field::NXT_HDR])
    }

    /// The raw Hdr Ext Len field.
    #[inline]
    pub fn header_len_field(&self) -> u8 {
        self.buffer.as_ref()[ext_field::LENGTH]
    }

    /// Length of the whole header in bytes: (Hdr Ext Len + 1) × 8.
    #[inline]
    pub fn header_len(&self) -> usize {
        (usize::from(self.header_len_field()) + 1) * 8
    }

    /// The type-specific data after the first two bytes (requires a checked view).
    #[inline]
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[ext_field::DATA.start..self.header_len()]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ExtHeader<T> {
    /// Sets the next header.
    #[inline]
    pub fn set_next_header(&mut self, value: IpProtocol) {
        self.buffer.as_mut()[ext_field::NXT_HDR] = value.0;
    }

    /// Sets the raw Hdr Ext Len field.
    #[inline]
    pub fn set_header_len_field(&mut self, value: u8) {
        self.buffer.as_mut()[ext_field::LENGTH] = value;
    }

    /// The type-specific data, mutable (requires a checked view).
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        let end = self.header_len();
        &mut self.buffer.as_mut()[ext_field::DATA.start..end]
    }
}

mod frag_field {
    use crate::wire::Field;

    pub const NXT_HDR: usize = 0;
    pub const RESERVED: usize = 1;
    pub const FR_OFF_M: Field = 2..4;
    pub const IDENT: Field = 4..8;
}

/// Length of the Fragment header (fixed).
pub const FRAG_HEADER_LEN: usize = frag_field::IDENT.end;

/// A read/write view of an IPv6 Fragment header (RFC 8200 §4.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FragmentHeader<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> FragmentHeader<T> {
    /// Wraps a buffer without checking its length (getters may then panic).
    #[inline]
    pub const fn new_unchecked(buffer: T) -> FragmentHeader<T> {
        FragmentHeader { buffer }
    }

    /// Wraps a buffer that holds the 8-byte header.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<FragmentHeader<T>, DropReason> {
        let h = Self::new_unchecked(buffer);
        h.check_len()?;
        Ok(h)
    }

    /// Errors with [`DropReason::Ipv6ExtTruncated`] if the buffer is shorter than 8 bytes.
    #[inline]
    pub fn check_len(&self) -> Result<(), DropReason> {
        if self.buffer.as_ref().len() < FRAG_HEADER_LEN {
            Err(DropReason::Ipv6ExtTruncated)
        } else {
            Ok(())
        }
    }

    /// Unwraps the buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Next header of the fragmentable part.
    #[inline]
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol(self.buffer.as_ref()[frag_field::NXT_HDR])
    }

    /// Fragment offset in bytes (the 13-bit field × 8).
    #[inline]
    pub fn frag_offset(&self) -> u16 {
        read_u16(&self.buffer.as_ref()[frag_field::FR_OFF_M]) & 0xfff8
    }

    /// More Fragments flag.
    #[inline]
    pub fn more_frags(&self) -> bool {
        read_u16(&self.buffer.as_ref()[frag_field::FR_OFF_M]) & 0x1 != 0
    }

    /// Identification.
    #[inline]
    pub fn ident(&self) -> u32 {
        read_u32(&self.buffer.as_ref()[frag_field::IDENT])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> FragmentHeader<T> {
    /// Sets the next header.
    #[inline]
    pub fn set_next_header(&mut self, value: IpProtocol) {
        self.buffer.as_mut()[frag_field::NXT_HDR] = value.0;
    }

    /// Clears the reserved byte and the reserved bits.
    #[inline]
    pub fn clear_reserved(&mut self) {
        self.buffer.as_mut()[frag_field::RESERVED] = 0;
        let f = &mut self.buffer.as_mut()[frag_field::FR_OFF_M];
        let w = read_u16(f) & 0xfff9;
        write_u16(f, w);
    }

    /// Sets the fragment offset in bytes (must be a multiple of 8).
    #[inline]
    pub fn set_frag_offset(&mut self, value: u16) {
        let f = &mut self.buffer.as_mut()[frag_field::FR_OFF_M];
        let w = (read_u16(f) & 0x0007) | (value & 0xfff8);
        write_u16(f, w);
    }

    /// Sets the More Fragments flag.
    #[inline]
    pub fn set_more_frags(&mut self, value: bool) {
        let f = &mut self.buffer.as_mut()[frag_field::FR_OFF_M];
        let w = (read_u16(f) & !1) | u16::from(value);
        write_u16(f, w);
    }

    /// Sets the identification.
    #[inline]
    pub fn set_ident(&mut self, value: u32) {
        write_u32(&mut self.buffer.as_mut()[frag_field::IDENT], value);
    }
}

/// The next header and length of the extension header of type `kind` at the start of
/// `buf`: 8 bytes for a Fragment header, (Hdr Ext Len + 1) × 8 for the others.
///
/// Errors with [`DropReason::Ipv6ExtTruncated`] if the header does not fit in `buf`.
#[inline]
pub fn ext_header_len(kind: IpProtocol, buf: &[u8]) -> Result<(IpProtocol, usize), DropReason> {
    if kind == IpProtocol::IPV6_FRAG {
        let h = FragmentHeader::new_checked(buf)?;
        Ok((h.next_header(), FRAG_HEADER_LEN))
    } else {
        let h = ExtHeader::new_checked(buf)?;
        Ok((h.next_header(), h.header_len()))
    }
}

/// One extension header found by [`ExtHeaders`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtHeaderInfo {
    /// Which extension header this is.
    pub kind: IpProtocol,
    /// Offset from the start of the walked buffer (the IPv6 payload).
    pub offset: usize,
    /// Length in bytes.
    pub len: usize,
    /// The header's Next Header field.
    pub next_header: IpProtocol,
}

/// An allocation-free iterator over the extension header chain of an IPv6 payload.
///
/// It yields each Hop-by-Hop, Routing, Fragment and Destination Options header in order,
/// and stops at the first other Next Header value (the upper layer), which
/// [`ExtHeaders::upper_layer`] then returns with its offset. It yields one error and then
/// stops if a header does not fit ([`DropReason::Ipv6ExtTruncated`]) or if the chain is
/// longer than the limit ([`DropReason::Ipv6TooManyExt`]). It does not stop at
/// fragments: callers decide what a non-first fragment means.
#[derive(Debug, Clone)]
pub struct ExtHeaders<'a> {
    buf: &'a [u8],
    offset: usize,
    next: IpProtocol,
    count: usize,
    max: usize,
    failed: bool,
}

impl<'a> ExtHeaders<'a> {
    /// Walks `payload` (the bytes after the fixed header, up to the payload length),
    /// starting with the fixed header's Next Header `first`, accepting at most `max`
    /// extension headers.
    pub fn new(payload: &'a [u8], first: IpProtocol, max: usize) -> ExtHeaders<'a> {
        ExtHeaders {
            buf: payload,
            offset: 0,
            next: first,
            count: 0,
            max,
            failed: false,
        }
    }

    /// The Next Header value after the headers walked so far and the offset where that
    /// header starts. Once the iterator has returned `None` without an error, this is the
    /// upper-layer protocol.
    #[inline]
    pub fn upper_layer(&self) -> (IpProtocol, usize) {
        (self.next, self.offset)
    }
}

impl Iterator for ExtHeaders<'_> {
    type Item = Result<ExtHeaderInfo, DropReason>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || !self.next.is_ipv6_extension() {
            return None;
        }
        if self.count >= self.max {
            self.failed = true;
            return Some(Err(DropReason::Ipv6TooManyExt));
        }
        let rest = self.buf.get(self.offset..).unwrap_or(&[]);
        match ext_header_len(self.next, rest) {
            Ok((next_header, len)) => {
                let info = ExtHeaderInfo {
                    kind: self.next,
                    offset: self.offset,
                    len,
                    next_header,
                };
                self.count += 1;
                self.offset += len;
                self.next = next_header;
                Some(Ok(info))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static PACKET_BYTES: [u8; 52] = [
        0x60, 0x00, 0x00, 0x01, // ver 6, TC 0, flow 1
        0x00, 0x0c, 0x11, 0x40, // payload 12, UDP, hop limit 64
        0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // src fe80::1
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, //
        0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // dst ff02::1
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, //
        0x00, 0x01, 0x00, 0x02, 0x00, 0x0c, 0x02, 0x4e, // payload
        0xff, 0xff, 0xff, 0xff,
    ];

    fn src() -> Ipv6Addr {
        Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)
    }

    fn dst() -> Ipv6Addr {
        Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1)
    }

    #[test]
    fn deconstruct() {
        let p = Packet::new_checked(&PACKET_BYTES[..]).unwrap();
        assert_eq!(p.version(), 6);
        assert_eq!(p.traffic_class(), 0);
        assert_eq!(p.flow_label(), 1);
        assert_eq!(p.payload_len(), 12);
        assert_eq!(p.next_header(), IpProtocol::UDP);
        assert_eq!(p.hop_limit(), 64);
        assert_eq!(p.src_addr(), src());
        assert_eq!(p.dst_addr(), dst());
        assert_eq!(p.payload(), &PACKET_BYTES[40..]);
    }

    #[test]
    fn construct() {
        let mut bytes = [0xa5u8; 52];
        let mut p = Packet::new_unchecked(&mut bytes[..]);
        p.set_version(6);
        p.set_traffic_class(0);
        p.set_flow_label(1);
        p.set_payload_len(12);
        p.set_next_header(IpProtocol::UDP);
        p.set_hop_limit(64);
        p.set_src_addr(src());
        p.set_dst_addr(dst());
        p.payload_mut().copy_from_slice(&PACKET_BYTES[40..]);
        assert_eq!(bytes, PACKET_BYTES);
    }

    #[test]
    fn traffic_class_and_flow_do_not_overlap() {
        let mut bytes = [0u8; 40];
        let mut p = Packet::new_unchecked(&mut bytes[..]);
        p.set_version(6);
        p.set_traffic_class(0xab);
        p.set_flow_label(0xfffff);
        assert_eq!(p.version(), 6);
        assert_eq!(p.traffic_class(), 0xab);
        assert_eq!(p.flow_label(), 0xfffff);
        p.set_flow_label(0x12345);
        assert_eq!(p.traffic_class(), 0xab);
        assert_eq!(&bytes[..4], &[0x6a, 0xb1, 0x23, 0x45]);
    }

    #[test]
    fn check_len_errors_and_padding() {
        for n in 0..40 {
            assert_eq!(
                Packet::new_checked(&PACKET_BYTES[..n]).err(),
                Some(DropReason::Ipv6Truncated)
            );
        }
        for n in 40..52 {
            assert_eq!(
                Packet::new_checked(&PACKET_BYTES[..n]).err(),
                Some(DropReason::Ipv6BadPayloadLen)
            );
        }
        let mut padded = PACKET_BYTES.to_vec();
        padded.extend_from_slice(&[0; 8]);
        let p = Packet::new_checked(&padded[..]).unwrap();
        assert_eq!(p.payload(), &PACKET_BYTES[40..]);
    }

    #[test]
    fn repr_round_trip() {
        let repr = Repr {
            src_addr: src(),
            dst_addr: dst(),
            next_header: IpProtocol::UDP,
            payload_len: 12,
            hop_limit: 64,
            traffic_class: 0,
            flow_label: 1,
        };
        let mut bytes = [0u8; 52];
        repr.emit(&mut Packet::new_unchecked(&mut bytes[..]));
        assert_eq!(&bytes[..40], &PACKET_BYTES[..40]);
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&PACKET_BYTES[..])),
            Ok(repr)
        );
        let mut bad = PACKET_BYTES;
        bad[0] = 0x40;
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&bad[..])),
            Err(DropReason::Ipv6BadVersion)
        );
    }

    // Hop-by-Hop (PadN to 8 bytes), Destination Options (16 bytes), Fragment, then UDP.
    static CHAIN: [u8; 36] = [
        60, 0, 0x01, 0x04, 0, 0, 0, 0, // HBH: next DestOpts, len 0, PadN(4)
        44, 1, 0x01, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // DestOpts: next Frag, len 1
        17, 0, 0x00, 0x09, 0xde, 0xad, 0xbe, 0xef, // Frag: UDP, offset 8 bytes, M=1
        0x12, 0x34, 0x56, 0x78, // upper layer
    ];

    #[test]
    fn ext_header_views() {
        let hbh = ExtHeader::new_checked(&CHAIN[..]).unwrap();
        assert_eq!(hbh.next_header(), IpProtocol::IPV6_OPTS);
        assert_eq!(hbh.header_len_field(), 0);
        assert_eq!(hbh.header_len(), 8);
        assert_eq!(hbh.data(), &[0x01, 0x04, 0, 0, 0, 0]);
        let dst = ExtHeader::new_checked(&CHAIN[8..]).unwrap();
        assert_eq!(dst.header_len(), 16);
        assert_eq!(
            ExtHeader::new_checked(&CHAIN[8..20]).err(),
            Some(DropReason::Ipv6ExtTruncated)
        );
        assert_eq!(
            ExtHeader::new_checked(&CHAIN[..7]).err(),
            Some(DropReason::Ipv6ExtTruncated)
        );
        let frag = FragmentHeader::new_checked(&CHAIN[24..]).unwrap();
        assert_eq!(frag.next_header(), IpProtocol::UDP);
        assert_eq!(frag.frag_offset(), 8);
        assert!(frag.more_frags());
        assert_eq!(frag.ident(), 0xdead_beef);
        assert_eq!(
            FragmentHeader::new_checked(&CHAIN[24..31]).err(),
            Some(DropReason::Ipv6ExtTruncated)
        );
    }

    #[test]
    fn ext_header_construct() {
        let mut bytes = [0xffu8; 8];
        let mut h = ExtHeader::new_unchecked(&mut bytes[..]);
        h.set_next_header(IpProtocol::IPV6_OPTS);
        h.set_header_len_field(0);
        h.data_mut().copy_from_slice(&[0x01, 0x04, 0, 0, 0, 0]);
        assert_eq!(&bytes[..], &CHAIN[..8]);

        let mut bytes = [0xffu8; 8];
        let mut f = FragmentHeader::new_unchecked(&mut bytes[..]);
        f.set_next_header(IpProtocol::UDP);
        f.clear_reserved();
        f.set_frag_offset(8);
        f.set_more_frags(false);
        f.set_more_frags(true);
        f.set_ident(0xdead_beef);
        assert_eq!(&bytes[..], &CHAIN[24..32]);
    }

    #[test]
    fn walk_chain() {
        let mut walk = ExtHeaders::new(&CHAIN[..], IpProtocol::HOP_BY_HOP, 8);
        let kinds: Vec<_> = walk.by_ref().map(|r| r.unwrap()).collect();
        assert_eq!(
            kinds,
            vec![
                ExtHeaderInfo {
                    kind: IpProtocol::HOP_BY_HOP,
                    offset: 0,
                    len: 8,
                    next_header: IpProtocol::IPV6_OPTS
                },
                ExtHeaderInfo {
                    kind: IpProtocol::IPV6_OPTS,
                    offset: 8,
                    len: 16,
                    next_header: IpProtocol::IPV6_FRAG
                },
                ExtHeaderInfo {
                    kind: IpProtocol::IPV6_FRAG,
                    offset: 24,
                    len: 8,
                    next_header: IpProtocol::UDP
                },
            ]
        );
        assert_eq!(walk.upper_layer(), (IpProtocol::UDP, 32));
        assert_eq!(
            ext_header_len(IpProtocol::IPV6_OPTS, &CHAIN[8..]),
            Ok((IpProtocol::IPV6_FRAG, 16))
        );
    }

    #[test]
    fn walk_errors() {
        // Limit of 2: the third header is refused.
        let mut walk = ExtHeaders::new(&CHAIN[..], IpProtocol::HOP_BY_HOP, 2);
        assert!(walk.next().unwrap().is_ok());
        assert!(walk.next().unwrap().is_ok());
        assert_eq!(walk.next(), Some(Err(DropReason::Ipv6TooManyExt)));
        assert_eq!(walk.next(), None);
        // Cut inside the Destination Options header.
        let mut walk = ExtHeaders::new(&CHAIN[..20], IpProtocol::HOP_BY_HOP, 8);
        assert!(walk.next().unwrap().is_ok());
        assert_eq!(walk.next(), Some(Err(DropReason::Ipv6ExtTruncated)));
        assert_eq!(walk.next(), None);
        // No extension header at all.
        let mut walk = ExtHeaders::new(&[], IpProtocol::TCP, 8);
        assert_eq!(walk.next(), None);
        assert_eq!(walk.upper_layer(), (IpProtocol::TCP, 0));
    }

    #[test]
    fn walk_never_panics_on_any_prefix() {
        for n in 0..=CHAIN.len() {
            for first in [0u8, 43, 44, 60, 17] {
                let walk = ExtHeaders::new(&CHAIN[..n], IpProtocol(first), 8);
                for item in walk {
                    if item.is_err() {
                        break;
                    }
                }
            }
        }
    }
}
