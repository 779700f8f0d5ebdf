//! The SRv6 Segment Routing Header (RFC 8754): an IPv6 Routing header of Routing Type 4.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Next Header   |  Hdr Ext Len  | Routing Type  | Segments Left |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Last Entry   |     Flags     |              Tag              |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |            Segment List[0] (128-bit IPv6 address)             |
//! |                              ...                              |
//! |            Segment List[n] (128-bit IPv6 address)             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! //         Optional Type Length Value objects (variable)       //
//! ```
//!
//! Segment List\[0\] is the last segment of the path; Segments Left indexes the active
//! segment. Per RFC 8754 §4.3.1.1 a Segments Left of up to Last Entry + 1 is valid (with
//! reduced encapsulation the first segment is only in the destination address, so the
//! active segment is then not in the list); more than that is an error.

use core::net::Ipv6Addr;

use super::{read_u16, write_u16, IpProtocol};
use crate::drop::DropReason;

mod field {
    use crate::wire::Field;

    pub const NXT_HDR: usize = 0;
    pub const LENGTH: usize = 1;
    pub const TYPE: usize = 2;
    pub const SEG_LEFT: usize = 3;
    pub const LAST_ENTRY: usize = 4;
    pub const FLAGS: usize = 5;
    pub const TAG: Field = 6..8;
    pub const SEGMENTS: usize = 8;
}

/// Length of the fixed part (before the segment list).
pub const HEADER_LEN: usize = field::SEGMENTS;
/// Length of one segment.
pub const SEGMENT_LEN: usize = 16;
/// The Routing Type of an SRH.
pub const ROUTING_TYPE: u8 = 4;

/// A read/write view of a Segment Routing Header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Header<T> {
    /// Wraps a buffer without checking its length (getters may then panic).
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Header<T> {
        Header { buffer }
    }

    /// Wraps a buffer after [`Header::check_len`].
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Header<T>, DropReason> {
        let h = Self::new_unchecked(buffer);
        h.check_len()?;
        Ok(h)
    }

    /// Checks the lengths, in this order:
    /// - fewer than 8 bytes: [`DropReason::SrhTruncated`];
    /// - Hdr Ext Len too small for Last Entry + 1 segments: [`DropReason::SrhBadLength`];
    /// - the header (segment list and TLVs) runs past the buffer:
    ///   [`DropReason::SrhTruncated`].
    ///
    /// The Routing Type and Segments Left are not checked here (see
    /// [`Header::check_segments_left`]).
    #[inline]
    pub fn check_len(&self) -> Result<(), DropReason> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(DropReason::SrhTruncated);
        }
        if self.segment_list_end() > self.header_len() {
            return Err(DropReason::SrhBadLength);
        }
        if self.header_len() > len {
            return Err(DropReason::SrhTruncated);
        }
        Ok(())
    }

    /// Errors with [`DropReason::SrhSegmentsLeftBeyondLast`] if Segments Left is greater
    /// than Last Entry + 1 (RFC 8754 §4.3.1.1).
    #[inline]
    pub fn check_segments_left(&self) -> Result<(), DropReason> {
        if usize::from(self.segments_left()) > usize::from(self.last_entry()) + 1 {
            Err(DropReason::SrhSegmentsLeftBeyondLast)
        } else {
            Ok(())
        }
    }

    /// Unwraps the buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Next header.
    #[inline]
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol(self.buffer.as_ref()[field::NXT_HDR])
    }

    /// The raw Hdr Ext Len field (8-byte units, not counting the first 8 bytes).
    #[inline]
    pub fn header_len_field(&self) -> u8 {
        self.buffer.as_ref()[field::LENGTH]
    }

    /// Length of the whole header in bytes: (Hdr Ext Len + 1) × 8.
    #[inline]
    pub fn header_len(&self) -> usize {
        (usize::from(self.header_len_field()) + 1) * 8
    }

    /// Routing Type (4 for an SRH).
    #[inline]
    pub fn routing_type(&self) -> u8 {
        self.buffer.as_ref()[field::TYPE]
    }

    /// Segments Left: index of the active segment in the list.
    #[inline]
    pub fn segments_left(&self) -> u8 {
        self.buffer.as_ref()[field::SEG_LEFT]
    }

    /// Last Entry: index of the last element of the segment list (the first segment).
    #[inline]
    pub fn last_entry(&self) -> u8 {
        self.buffer.as_ref()[field::LAST_ENTRY]
    }

    /// Flags.
    #[inline]
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS]
    }

    /// Tag.
    #[inline]
    pub fn tag(&self) -> u16 {
        read_u16(&self.buffer.as_ref()[field::TAG])
    }

    /// Number of segments in the list (Last Entry + 1).
    #[inline]
    pub fn segment_count(&self) -> usize {
        usize::from(self.last_entry()) + 1
    }

    /// Offset just after the segment list, per Last Entry.
    #[inline]
    fn segment_list_end(&self) -> usize {
        HEADER_LEN + SEGMENT_LEN * self.segment_count()
    }

    /// Segment List\[`index`\], or `None` if `index` is beyond Last Entry or the buffer.
    #[inline]
    pub fn segment(&self, index: usize) -> Option<Ipv6Addr> {
        if index >= self.segment_count() {
            return None;
        }
        let start = HEADER_LEN + index * SEGMENT_LEN;
        let b = self.buffer.as_ref().get(start..start + SEGMENT_LEN)?;
        let mut o = [0u8; 16];
        o.copy_from_slice(b);
        Some(Ipv6Addr::from(o))
    }

    /// The active segment, Segment List\[Segments Left\]; `None` when Segments Left is
    /// Last Entry + 1 (the active segment is then only in the IPv6 destination address).
    #[inline]
    pub fn active_segment(&self) -> Option<Ipv6Addr> {
        self.segment(usize::from(self.segments_left()))
    }

    /// The raw segment list (requires a checked view).
    #[inline]
    pub fn segment_list(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..self.segment_list_end()]
    }

    /// The optional TLVs after the segment list (requires a checked view).
    #[inline]
    pub fn tlvs(&self) -> &[u8] {
        &self.buffer.as_ref()[self.segment_list_end()..self.header_len()]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Header<T> {
    /// Sets the next header.
    #[inline]
    pub fn set_next_header(&mut self, value: IpProtocol) {
        self.buffer.as_mut()[field::NXT_HDR] = value.0;
    }

    /// Sets the raw Hdr Ext Len field.
    #[inline]
    pub fn set_header_len_field(&mut self, value: u8) {
        self.buffer.as_mut()[field::LENGTH] = value;
    }

    /// Sets the Routing Type.
    #[inline]
    pub fn set_routing_type(&mut self, value: u8) {
        self.buffer.as_mut()[field::TYPE] = value;
    }

    /// Sets Segments Left.
    #[inline]
    pub fn set_segments_left(&mut self, value: u8) {
        self.buffer.as_mut()[field::SEG_LEFT] = value;
    }

    /// Sets Last Entry.
    #[inline]
    pub fn set_last_entry(&mut self, value: u8) {
        self.buffer.as_mut()[field::LAST_ENTRY] = value;
    }

    /// Sets the flags.
    #[inline]
    pub fn set_flags(&mut self, value: u8) {
        self.buffer.as_mut()[field::FLAGS] = value;
    }

    /// Sets the tag.
    #[inline]
    pub fn set_tag(&mut self, value: u16) {
        write_u16(&mut self.buffer.as_mut()[field::TAG], value);
    }

    /// Writes Segment List\[`index`\]. Returns `false` (writing nothing) if `index` is
    /// beyond Last Entry or the buffer.
    #[inline]
    pub fn set_segment(&mut self, index: usize, value: Ipv6Addr) -> bool {
        if index >= self.segment_count() {
            return false;
        }
        let start = HEADER_LEN + index * SEGMENT_LEN;
        match self.buffer.as_mut().get_mut(start..start + SEGMENT_LEN) {
            Some(b) => {
                b.copy_from_slice(&value.octets());
                true
            }
            None => false,
        }
    }

    /// Decrements Segments Left and returns the new active segment, which an SRv6
    /// endpoint then copies into the IPv6 destination address. `None` (changing nothing)
    /// if Segments Left is already 0 or the new active segment is not in the buffer.
    #[inline]
    pub fn advance(&mut self) -> Option<Ipv6Addr> {
        let sl = self.segments_left().checked_sub(1)?;
        let seg = self.segment(usize::from(sl))?;
        self.set_segments_left(sl);
        Some(seg)
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Header<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// The fields of an SRH without TLVs.
///
/// The segment list is kept as raw bytes (16 per segment, Segment List\[0\] first) so that
/// parsing borrows the packet instead of allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr<'a> {
    /// Next header.
    pub next_header: IpProtocol,
    /// Segments Left.
    pub segments_left: u8,
    /// Flags.
    pub flags: u8,
    /// Tag.
    pub tag: u16,
    /// The raw segment list: a non-empty multiple of 16 bytes, at most 128 segments.
    pub segments: &'a [u8],
}

impl<'a> Repr<'a> {
    /// Reads an SRH: checks lengths and Segments Left; TLVs are ignored. The caller has
    /// already dispatched on Routing Type 4 (it is not checked here).
    pub fn parse<T: AsRef<[u8]> + ?Sized>(header: &Header<&'a T>) -> Result<Repr<'a>, DropReason> {
        header.check_len()?;
        header.check_segments_left()?;
        let buf: &'a [u8] = <T as AsRef<[u8]>>::as_ref(header.buffer);
        let end = HEADER_LEN + SEGMENT_LEN * header.segment_count();
        Ok(Repr {
            next_header: header.next_header(),
            segments_left: header.segments_left(),
            flags: header.flags(),
            tag: header.tag(),
            segments: &buf[HEADER_LEN..end],
        })
    }

    /// Number of segments.
    #[inline]
    pub fn segment_count(&self) -> usize {
        self.segments.len() / SEGMENT_LEN
    }

    /// Segment List\[`index`\].
    pub fn segment(&self, index: usize) -> Option<Ipv6Addr> {
        let start = index.checked_mul(SEGMENT_LEN)?;
        let b = self.segments.get(start..start + SEGMENT_LEN)?;
        let mut o = [0u8; 16];
        o.copy_from_slice(b);
        Some(Ipv6Addr::from(o))
    }

    /// Length of the emitted header.
    #[inline]
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + SEGMENT_LEN * self.segment_count()
    }

    /// Writes the header; `header` must hold at least [`Repr::buffer_len`] bytes and
    /// `segments` must hold 1 to 128 whole segments.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, header: &mut Header<T>) {
        let n = self.segment_count();
        header.set_next_header(self.next_header);
        header.set_header_len_field((2 * n) as u8);
        header.set_routing_type(ROUTING_TYPE);
        header.set_segments_left(self.segments_left);
        header.set_last_entry(n.saturating_sub(1) as u8);
        header.set_flags(self.flags);
        header.set_tag(self.tag);
        let len = n * SEGMENT_LEN;
        header.buffer.as_mut()[HEADER_LEN..HEADER_LEN + len].copy_from_slice(&self.segments[..len]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Next header UDP, Hdr Ext Len 6 (56 bytes), type 4, SL 1, LE 2, flags 0, tag 0x0102,
    // segments 2001:db8::3, 2001:db8::2, 2001:db8::1.
    static SRH_BYTES: [u8; 56] = [
        0x11, 0x06, 0x04, 0x01, 0x02, 0x00, 0x01, 0x02, //
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x03, //
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, //
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, //
    ];

    fn seg(n: u16) -> Ipv6Addr {
        Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, n)
    }

    #[test]
    fn deconstruct() {
        let h = Header::new_checked(&SRH_BYTES[..]).unwrap();
        assert_eq!(h.next_header(), IpProtocol::UDP);
        assert_eq!(h.header_len_field(), 6);
        assert_eq!(h.header_len(), 56);
        assert_eq!(h.routing_type(), 4);
        assert_eq!(h.segments_left(), 1);
        assert_eq!(h.last_entry(), 2);
        assert_eq!(h.flags(), 0);
        assert_eq!(h.tag(), 0x0102);
        assert_eq!(h.segment_count(), 3);
        assert_eq!(h.segment(0), Some(seg(3)));
        assert_eq!(h.segment(1), Some(seg(2)));
        assert_eq!(h.segment(2), Some(seg(1)));
        assert_eq!(h.segment(3), None);
        assert_eq!(h.active_segment(), Some(seg(2)));
        assert_eq!(h.segment_list(), &SRH_BYTES[8..]);
        assert_eq!(h.tlvs(), &[]);
        assert!(h.check_segments_left().is_ok());
    }

    #[test]
    fn construct() {
        let mut bytes = [0xffu8; 56];
        let mut h = Header::new_unchecked(&mut bytes[..]);
        h.set_next_header(IpProtocol::UDP);
        h.set_header_len_field(6);
        h.set_routing_type(4);
        h.set_segments_left(1);
        h.set_last_entry(2);
        h.set_flags(0);
        h.set_tag(0x0102);
        assert!(h.set_segment(0, seg(3)));
        assert!(h.set_segment(1, seg(2)));
        assert!(h.set_segment(2, seg(1)));
        assert!(!h.set_segment(3, seg(9)));
        assert_eq!(bytes, SRH_BYTES);
    }

    #[test]
    fn advance_walks_towards_segment_zero() {
        let mut bytes = SRH_BYTES;
        let mut h = Header::new_unchecked(&mut bytes[..]);
        assert_eq!(h.advance(), Some(seg(3)));
        assert_eq!(h.segments_left(), 0);
        assert_eq!(h.advance(), None);
        assert_eq!(h.segments_left(), 0);
    }

    #[test]
    fn tlvs_after_segments() {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&[59, 3, 4, 0, 0, 0, 0, 0]); // 1 segment + 8 bytes of TLV
        bytes[24..32].copy_from_slice(&[0x04, 0x06, 1, 2, 3, 4, 5, 6]);
        let h = Header::new_checked(&bytes[..]).unwrap();
        assert_eq!(h.segment_count(), 1);
        assert_eq!(h.tlvs(), &[0x04, 0x06, 1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn length_errors() {
        for n in 0..8 {
            assert_eq!(
                Header::new_checked(&SRH_BYTES[..n]).err(),
                Some(DropReason::SrhTruncated)
            );
        }
        for n in 8..56 {
            assert_eq!(
                Header::new_checked(&SRH_BYTES[..n]).err(),
                Some(DropReason::SrhTruncated),
                "{n}"
            );
        }
        let mut bad = SRH_BYTES;
        bad[1] = 4; // 40 bytes: room for 2 segments, Last Entry says 3
        assert_eq!(
            Header::new_checked(&bad[..]).err(),
            Some(DropReason::SrhBadLength)
        );
        bad[1] = 6;
        bad[4] = 3; // Last Entry 3: 4 segments need 72 bytes
        assert_eq!(
            Header::new_checked(&bad[..]).err(),
            Some(DropReason::SrhBadLength)
        );
        bad[1] = 0;
        bad[4] = 0; // Hdr Ext Len 0 cannot hold any segment
        assert_eq!(
            Header::new_checked(&bad[..]).err(),
            Some(DropReason::SrhBadLength)
        );
    }

    #[test]
    fn segments_left_bounds() {
        let mut bytes = SRH_BYTES;
        for sl in 0..=3u8 {
            bytes[3] = sl;
            let h = Header::new_checked(&bytes[..]).unwrap();
            assert!(h.check_segments_left().is_ok(), "SL {sl} <= LE + 1");
        }
        bytes[3] = 3; // reduced SRH: active segment only in the DA
        assert_eq!(Header::new_unchecked(&bytes[..]).active_segment(), None);
        for sl in [4u8, 5, 255] {
            bytes[3] = sl;
            assert_eq!(
                Header::new_unchecked(&bytes[..]).check_segments_left(),
                Err(DropReason::SrhSegmentsLeftBeyondLast)
            );
        }
    }

    #[test]
    fn repr_round_trip() {
        let h = Header::new_checked(&SRH_BYTES[..]).unwrap();
        let repr = Repr::parse(&h).unwrap();
        assert_eq!(repr.segment_count(), 3);
        assert_eq!(repr.segment(0), Some(seg(3)));
        assert_eq!(repr.segment(2), Some(seg(1)));
        assert_eq!(repr.segment(3), None);
        assert_eq!(repr.buffer_len(), 56);
        let mut out = [0u8; 56];
        repr.emit(&mut Header::new_unchecked(&mut out[..]));
        assert_eq!(out, SRH_BYTES);

        let mut bad = SRH_BYTES;
        bad[3] = 9;
        assert_eq!(
            Repr::parse(&Header::new_unchecked(&bad[..])),
            Err(DropReason::SrhSegmentsLeftBeyondLast)
        );
    }
}
