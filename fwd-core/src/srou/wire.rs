//! The SRoU header (draft-zartbot-sr-udp-00): a zero-copy view in smoltcp style and a
//! [`Repr`] to parse and emit it.
//!
//! The header is the start of a UDP payload; the inner packet follows it.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Magic     |  SRoU Length  |  Flow ID Len  |  Protocol-ID  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! //                 Flow ID (Flow ID Len bytes)                 //
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! //   Source Address (4 B if Protocol-ID is 1, 16 B if 2)      //
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Source Port          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Segment Type  |  SR Hdr Len   |  Last Entry   | Segments Left |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! //  Segment List[0] .. Segment List[Last Entry]                //
//! //  (address + port: 6 B each for type 0x1, 18 B for type 0x2) //
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! //  Optional TLVs, up to SRoU Length                           //
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! An OAM header (Protocol-ID 0) has no Source and no SR part: after the Flow ID comes one
//! OAM-Type byte and the OAM body, up to SRoU Length.
//!
//! The decisions on the draft's open points (Protocol-ID as address family, segment sizes,
//! SR Hdr Len ignored, Segments Left bounds) are listed in [`crate::srou`]; this file
//! enforces them: [`Header::check_len`] proves every byte a getter reads lies inside both
//! the buffer and SRoU Length.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::drop::DropReason;

mod field {
    pub const MAGIC: usize = 0;
    pub const LENGTH: usize = 1;
    pub const FLOW_ID_LEN: usize = 2;
    pub const PROTOCOL: usize = 3;
    pub const FLOW_ID: usize = 4;

    // Offsets inside the SR part.
    pub const SEG_TYPE: usize = 0;
    pub const SR_HDR_LEN: usize = 1;
    pub const LAST_ENTRY: usize = 2;
    pub const SEG_LEFT: usize = 3;
}

/// Length of the fixed part (Magic, SRoU Length, Flow ID Length, Protocol-ID).
pub const FIXED_LEN: usize = field::FLOW_ID;
/// Length of the fixed SR part (Segment Type, SR Hdr Len, Last Entry, Segments Left).
pub const SR_FIXED_LEN: usize = 4;
/// Length of the Source Port field.
pub const PORT_LEN: usize = 2;
/// Longest SRoU header: SRoU Length is one byte.
pub const MAX_LEN: usize = u8::MAX as usize;
/// The Magic Number srgate sends: 0x00, which no QUIC packet starts with (QUIC sets the
/// high bit of long headers and the fixed bit 0x40 of short ones).
pub const MAGIC: u8 = 0x00;
/// The alternative Magic Number the draft gives for sockets shared with IPsec NAT-T.
/// Accepted on receive, kept as received.
pub const MAGIC_ALT: u8 = 0xFE;
/// First byte of a service segment in an IPv4 segment slot (Ruta's VPN mode):
/// `0xFF | 24-bit VNID | 16-bit endpoint behaviour`.
pub const SERVICE_SEGMENT_MARK: u8 = 0xFF;

/// The Protocol-ID field. srgate reads it as the address family of the Source field and
/// of the segment list (the draft's "inner payload type" is read from the inner packet's
/// version nibble instead); 0 is OAM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct ProtocolId(pub u8);

impl ProtocolId {
    /// OAM: no Source, no segment list; an OAM-Type byte follows the Flow ID.
    pub const OAM: ProtocolId = ProtocolId(0);
    /// IPv4 Source and IPv4 locators (Segment Type 0x1).
    pub const IPV4: ProtocolId = ProtocolId(1);
    /// IPv6 Source and IPv6 locators (Segment Type 0x2).
    pub const IPV6: ProtocolId = ProtocolId(2);

    /// The Protocol-ID of an address family.
    #[inline]
    pub const fn of(addr: &IpAddr) -> ProtocolId {
        match addr {
            IpAddr::V4(_) => ProtocolId::IPV4,
            IpAddr::V6(_) => ProtocolId::IPV6,
        }
    }

    /// Length of the Source Address field: 4, 16, or `None` for OAM and unknown values.
    #[inline]
    pub const fn address_len(self) -> Option<usize> {
        match self.0 {
            1 => Some(4),
            2 => Some(16),
            _ => None,
        }
    }

    /// The only Segment Type accepted with this Protocol-ID.
    #[inline]
    pub const fn segment_type(self) -> Option<SegmentType> {
        match self.0 {
            1 => Some(SegmentType::IPV4),
            2 => Some(SegmentType::IPV6),
            _ => None,
        }
    }
}

/// The Segment Type field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct SegmentType(pub u8);

impl SegmentType {
    /// IPv4 address + UDP port, 6 bytes per segment.
    pub const IPV4: SegmentType = SegmentType(0x1);
    /// IPv6 address + UDP port, 18 bytes per segment (what the prototypes send; the
    /// draft's table says "SRv6, 16 B").
    pub const IPV6: SegmentType = SegmentType(0x2);
    /// Compressed segment list: no published layout; rejected.
    pub const COMPRESSED: SegmentType = SegmentType(0x3);

    /// Bytes per segment, or `None` for a type srgate does not accept.
    #[inline]
    pub const fn segment_len(self) -> Option<usize> {
        match self.0 {
            1 => Some(6),
            2 => Some(18),
            _ => None,
        }
    }
}

/// A service segment (only in an IPv4 slot): the last locator decapsulates into the VRF
/// of `vnid` with endpoint `behavior` (IANA SRv6 endpoint behaviour codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ServiceSegment {
    /// 24-bit VPN / VRF identifier.
    pub vnid: u32,
    /// Endpoint behaviour, e.g. [`ServiceSegment::END_DT4`].
    pub behavior: u16,
}

impl ServiceSegment {
    /// End.DT6: decapsulate, lookup the inner IPv6 packet in the VRF.
    pub const END_DT6: u16 = 0x0012;
    /// End.DT4: decapsulate, lookup the inner IPv4 packet in the VRF.
    pub const END_DT4: u16 = 0x0013;
    /// End.DT46: decapsulate, lookup the inner IPv4 or IPv6 packet in the VRF.
    pub const END_DT46: u16 = 0x0019;
    /// End.DT2U: decapsulate, L2 unicast lookup in the bridge domain (not supported).
    pub const END_DT2U: u16 = 0x0017;

    /// Largest VNID (24 bits).
    pub const MAX_VNID: u32 = 0x00ff_ffff;

    /// Reads a 6-byte IPv4 segment slot, if it holds a service segment.
    #[inline]
    pub fn from_slot(slot: &[u8]) -> Option<ServiceSegment> {
        match slot {
            [SERVICE_SEGMENT_MARK, a, b, c, d, e] => Some(ServiceSegment {
                vnid: u32::from_be_bytes([0, *a, *b, *c]),
                behavior: u16::from_be_bytes([*d, *e]),
            }),
            _ => None,
        }
    }

    /// The 6-byte slot (the VNID is truncated to 24 bits).
    #[inline]
    pub fn to_slot(self) -> [u8; 6] {
        let v = self.vnid.to_be_bytes();
        let b = self.behavior.to_be_bytes();
        [SERVICE_SEGMENT_MARK, v[1], v[2], v[3], b[0], b[1]]
    }
}

/// Decodes an address + port segment slot of 6 or 18 bytes.
#[inline]
pub fn decode_segment(slot: &[u8]) -> Option<SocketAddr> {
    match slot.len() {
        6 => {
            let ip = Ipv4Addr::new(slot[0], slot[1], slot[2], slot[3]);
            Some(SocketAddr::new(
                IpAddr::V4(ip),
                u16::from_be_bytes([slot[4], slot[5]]),
            ))
        }
        18 => {
            let mut o = [0u8; 16];
            o.copy_from_slice(&slot[..16]);
            Some(SocketAddr::new(
                IpAddr::V6(Ipv6Addr::from(o)),
                u16::from_be_bytes([slot[16], slot[17]]),
            ))
        }
        _ => None,
    }
}

/// Encodes `addr` into `slot` (6 bytes for IPv4, 18 for IPv6). Returns the bytes written,
/// 0 if `slot` is too short.
#[inline]
pub fn encode_segment(addr: &SocketAddr, slot: &mut [u8]) -> usize {
    let port = addr.port().to_be_bytes();
    match addr.ip() {
        IpAddr::V4(ip) => {
            let Some(s) = slot.get_mut(..6) else { return 0 };
            s[..4].copy_from_slice(&ip.octets());
            s[4..].copy_from_slice(&port);
            6
        }
        IpAddr::V6(ip) => {
            let Some(s) = slot.get_mut(..18) else {
                return 0;
            };
            s[..16].copy_from_slice(&ip.octets());
            s[16..].copy_from_slice(&port);
            18
        }
    }
}

/// Where the fields of a checked header are ([`Header::layout`]); offsets from the start
/// of the header. For OAM, only `header_len` and `source` (the OAM-Type byte) count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// SRoU Length.
    pub header_len: usize,
    /// Offset of the Source Address (of the OAM-Type byte for OAM).
    pub source: usize,
    /// Bytes of the Source Address (4 or 16; 0 for OAM).
    pub address_len: usize,
    /// Offset of the SR part (Segment Type).
    pub sr: usize,
    /// Bytes per segment (6 or 18; 0 for OAM).
    pub segment_len: usize,
    /// Last Entry.
    pub last_entry: u8,
    /// Segments Left.
    pub segments_left: u8,
}

impl Layout {
    /// True for OAM (no Source, no segment list).
    #[inline]
    pub fn is_oam(&self) -> bool {
        self.address_len == 0
    }

    /// Offset of Segment List\[`index`\] (`index <= last_entry`).
    #[inline]
    pub fn segment_offset(&self, index: u8) -> usize {
        self.sr + SR_FIXED_LEN + usize::from(index) * self.segment_len
    }
}

/// A read/write view of an SRoU header at the start of a UDP payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Header<T> {
    /// Wraps a buffer without checking it (getters may then panic).
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

    /// Validates the header against the buffer and against its own SRoU Length, in this
    /// order:
    /// - fewer than 4 bytes: [`DropReason::SrouTruncated`];
    /// - Magic neither [`MAGIC`] nor [`MAGIC_ALT`]: [`DropReason::SrouBadMagic`];
    /// - SRoU Length below 4: [`DropReason::SrouBadLength`]; beyond the buffer:
    ///   [`DropReason::SrouTruncated`];
    /// - Protocol-ID not 0, 1 or 2: [`DropReason::SrouBadProtocol`];
    /// - Flow ID past SRoU Length: [`DropReason::SrouBadFlowIdLength`];
    /// - OAM: no room for the OAM-Type byte: [`DropReason::SrouBadLength`];
    /// - otherwise Source or the fixed SR part past SRoU Length:
    ///   [`DropReason::SrouBadLength`]; Segment Type not the one of the Protocol-ID:
    ///   [`DropReason::SrouBadSegmentType`]; Last Entry + 1 segments past SRoU Length:
    ///   [`DropReason::SrouSegmentListTruncated`]; Segments Left above Last Entry:
    ///   [`DropReason::SrouSegmentsLeftBeyondLast`].
    ///
    /// SR Hdr Len is not checked (implementations disagree on it). After this every getter
    /// is in bounds; SR getters additionally require a non-OAM header.
    pub fn check_len(&self) -> Result<(), DropReason> {
        self.layout().map(|_| ())
    }

    /// [`Header::check_len`] that also returns where everything is, read in the same
    /// single pass over the fixed fields (what the per-packet path uses instead of the
    /// getters, each of which recomputes the offsets before it).
    #[inline(always)]
    pub fn layout(&self) -> Result<Layout, DropReason> {
        let buf = self.buffer.as_ref();
        let Some(&[magic, len, flow_id_len, proto]) = buf.first_chunk::<FIXED_LEN>() else {
            return Err(DropReason::SrouTruncated);
        };
        if magic != MAGIC && magic != MAGIC_ALT {
            return Err(DropReason::SrouBadMagic);
        }
        let len = usize::from(len);
        if len < FIXED_LEN {
            return Err(DropReason::SrouBadLength);
        }
        if len > buf.len() {
            return Err(DropReason::SrouTruncated);
        }
        let proto = ProtocolId(proto);
        if proto.0 > ProtocolId::IPV6.0 {
            return Err(DropReason::SrouBadProtocol);
        }
        let src = FIXED_LEN + usize::from(flow_id_len);
        if src > len {
            return Err(DropReason::SrouBadFlowIdLength);
        }
        let Some(addr_len) = proto.address_len() else {
            // OAM: the OAM-Type byte must be there.
            return if src < len {
                Ok(Layout {
                    header_len: len,
                    source: src,
                    address_len: 0,
                    sr: src,
                    segment_len: 0,
                    last_entry: 0,
                    segments_left: 0,
                })
            } else {
                Err(DropReason::SrouBadLength)
            };
        };
        let sr = src + addr_len + PORT_LEN;
        let Some(&[seg_type, _, last_entry, segments_left]) = buf
            .get(sr..len)
            .and_then(|b| b.first_chunk::<SR_FIXED_LEN>())
        else {
            return Err(DropReason::SrouBadLength);
        };
        let seg_type = SegmentType(seg_type);
        if proto.segment_type() != Some(seg_type) {
            return Err(DropReason::SrouBadSegmentType);
        }
        let segment_len = seg_type.segment_len().unwrap_or(0);
        if sr + SR_FIXED_LEN + (usize::from(last_entry) + 1) * segment_len > len {
            return Err(DropReason::SrouSegmentListTruncated);
        }
        if segments_left > last_entry {
            return Err(DropReason::SrouSegmentsLeftBeyondLast);
        }
        Ok(Layout {
            header_len: len,
            source: src,
            address_len: addr_len,
            sr,
            segment_len,
            last_entry,
            segments_left,
        })
    }

    /// Unwraps the buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Magic Number.
    #[inline]
    pub fn magic(&self) -> u8 {
        self.buffer.as_ref()[field::MAGIC]
    }

    /// SRoU Length: bytes of the whole header (segment list and TLVs included).
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::LENGTH])
    }

    /// Flow ID Length in bytes.
    #[inline]
    pub fn flow_id_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::FLOW_ID_LEN])
    }

    /// Protocol-ID.
    #[inline]
    pub fn protocol_id(&self) -> ProtocolId {
        ProtocolId(self.buffer.as_ref()[field::PROTOCOL])
    }

    /// True for an OAM header (Protocol-ID 0).
    #[inline]
    pub fn is_oam(&self) -> bool {
        self.protocol_id() == ProtocolId::OAM
    }

    /// The Flow ID.
    #[inline]
    pub fn flow_id(&self) -> &[u8] {
        &self.buffer.as_ref()[field::FLOW_ID..self.source_offset()]
    }

    /// Offset of the Source Address (or of the OAM-Type byte), just after the Flow ID.
    #[inline]
    pub fn source_offset(&self) -> usize {
        FIXED_LEN + self.flow_id_len()
    }

    /// OAM-Type byte, for an OAM header.
    #[inline]
    pub fn oam_type(&self) -> Option<u8> {
        if self.is_oam() {
            self.buffer.as_ref().get(self.source_offset()).copied()
        } else {
            None
        }
    }

    /// The OAM body after the OAM-Type byte, up to SRoU Length (empty for non-OAM).
    #[inline]
    pub fn oam_data(&self) -> &[u8] {
        if !self.is_oam() {
            return &[];
        }
        let start = self.source_offset() + 1;
        self.buffer
            .as_ref()
            .get(start..self.header_len())
            .unwrap_or(&[])
    }

    /// Length of the Source Address field for this Protocol-ID (0 for OAM).
    #[inline]
    pub fn address_len(&self) -> usize {
        self.protocol_id().address_len().unwrap_or(0)
    }

    /// Source Address; `None` for OAM.
    #[inline]
    pub fn source_addr(&self) -> Option<IpAddr> {
        let at = self.source_offset();
        let b = self.buffer.as_ref();
        match self.address_len() {
            4 => {
                let mut o = [0u8; 4];
                o.copy_from_slice(&b[at..at + 4]);
                Some(IpAddr::V4(Ipv4Addr::from(o)))
            }
            16 => {
                let mut o = [0u8; 16];
                o.copy_from_slice(&b[at..at + 16]);
                Some(IpAddr::V6(Ipv6Addr::from(o)))
            }
            _ => None,
        }
    }

    /// Source Port (requires a checked non-OAM header).
    #[inline]
    pub fn source_port(&self) -> u16 {
        let at = self.source_offset() + self.address_len();
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[at], b[at + 1]])
    }

    /// Source Address and Port; `None` for OAM.
    #[inline]
    pub fn source(&self) -> Option<SocketAddr> {
        Some(SocketAddr::new(self.source_addr()?, self.source_port()))
    }

    /// Offset of the SR part (Segment Type), for a non-OAM header.
    #[inline]
    pub fn sr_offset(&self) -> usize {
        self.source_offset() + self.address_len() + PORT_LEN
    }

    /// Segment Type (requires a checked non-OAM header).
    #[inline]
    pub fn segment_type(&self) -> SegmentType {
        SegmentType(self.buffer.as_ref()[self.sr_offset() + field::SEG_TYPE])
    }

    /// SR Hdr Len as received (not trusted by srgate).
    #[inline]
    pub fn sr_hdr_len(&self) -> u8 {
        self.buffer.as_ref()[self.sr_offset() + field::SR_HDR_LEN]
    }

    /// Last Entry: index of the last segment (the first hop).
    #[inline]
    pub fn last_entry(&self) -> u8 {
        self.buffer.as_ref()[self.sr_offset() + field::LAST_ENTRY]
    }

    /// Segments Left: index of the active segment.
    #[inline]
    pub fn segments_left(&self) -> u8 {
        self.buffer.as_ref()[self.sr_offset() + field::SEG_LEFT]
    }

    /// Offset of the Segments Left byte.
    #[inline]
    pub fn segments_left_offset(&self) -> usize {
        self.sr_offset() + field::SEG_LEFT
    }

    /// Bytes per segment (0 if the Segment Type is not accepted).
    #[inline]
    pub fn segment_len(&self) -> usize {
        self.segment_type().segment_len().unwrap_or(0)
    }

    /// Number of segments (Last Entry + 1).
    #[inline]
    pub fn segment_count(&self) -> usize {
        usize::from(self.last_entry()) + 1
    }

    /// Offset of the segment list.
    #[inline]
    pub fn segment_list_offset(&self) -> usize {
        self.sr_offset() + SR_FIXED_LEN
    }

    /// Offset just after the segment list.
    #[inline]
    pub fn segment_list_end(&self) -> usize {
        self.segment_list_offset() + self.segment_count() * self.segment_len()
    }

    /// Offset of Segment List\[`index`\] (no bounds check).
    #[inline]
    pub fn segment_offset(&self, index: usize) -> usize {
        self.segment_list_offset() + index * self.segment_len()
    }

    /// The raw bytes of Segment List\[`index`\], `None` beyond Last Entry or the buffer.
    #[inline]
    pub fn segment_slot(&self, index: usize) -> Option<&[u8]> {
        if index >= self.segment_count() {
            return None;
        }
        let at = self.segment_offset(index);
        self.buffer.as_ref().get(at..at + self.segment_len())
    }

    /// Segment List\[`index`\] as address + port (a service segment decodes as a 255.x
    /// address: check [`Header::service_segment`] first where it matters).
    #[inline]
    pub fn segment(&self, index: usize) -> Option<SocketAddr> {
        decode_segment(self.segment_slot(index)?)
    }

    /// Segment List\[`index`\] if it is a service segment (IPv4 slots only).
    #[inline]
    pub fn service_segment(&self, index: usize) -> Option<ServiceSegment> {
        ServiceSegment::from_slot(self.segment_slot(index)?)
    }

    /// The active segment, Segment List\[Segments Left\].
    #[inline]
    pub fn active_segment(&self) -> Option<SocketAddr> {
        self.segment(usize::from(self.segments_left()))
    }

    /// The raw segment list (requires a checked non-OAM header).
    #[inline]
    pub fn segment_list(&self) -> &[u8] {
        &self.buffer.as_ref()[self.segment_list_offset()..self.segment_list_end()]
    }

    /// Optional TLVs after the segment list, up to SRoU Length (requires a checked
    /// non-OAM header).
    #[inline]
    pub fn tlvs(&self) -> &[u8] {
        &self.buffer.as_ref()[self.segment_list_end()..self.header_len()]
    }

    /// What follows the header (the inner packet), to the end of the buffer.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Header<T> {
    /// Sets the Magic Number.
    #[inline]
    pub fn set_magic(&mut self, value: u8) {
        self.buffer.as_mut()[field::MAGIC] = value;
    }

    /// Sets SRoU Length.
    #[inline]
    pub fn set_header_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::LENGTH] = value;
    }

    /// Sets Flow ID Length.
    #[inline]
    pub fn set_flow_id_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::FLOW_ID_LEN] = value;
    }

    /// Sets Protocol-ID.
    #[inline]
    pub fn set_protocol_id(&mut self, value: ProtocolId) {
        self.buffer.as_mut()[field::PROTOCOL] = value.0;
    }

    /// The Flow ID, mutable (Flow ID Length must be set).
    #[inline]
    pub fn flow_id_mut(&mut self) -> &mut [u8] {
        let end = self.source_offset();
        &mut self.buffer.as_mut()[field::FLOW_ID..end]
    }

    /// Sets the OAM-Type byte (Flow ID Length must be set).
    #[inline]
    pub fn set_oam_type(&mut self, value: u8) {
        let at = self.source_offset();
        self.buffer.as_mut()[at] = value;
    }

    /// Writes Source Address and Port. The address family must match the Protocol-ID
    /// (set it first); returns false, writing nothing, if it does not.
    #[inline]
    pub fn set_source(&mut self, value: SocketAddr) -> bool {
        if self.protocol_id() != ProtocolId::of(&value.ip()) {
            return false;
        }
        let at = self.source_offset();
        encode_segment(&value, &mut self.buffer.as_mut()[at..]) != 0
    }

    /// Sets Segment Type.
    #[inline]
    pub fn set_segment_type(&mut self, value: SegmentType) {
        let at = self.sr_offset() + field::SEG_TYPE;
        self.buffer.as_mut()[at] = value.0;
    }

    /// Sets SR Hdr Len.
    #[inline]
    pub fn set_sr_hdr_len(&mut self, value: u8) {
        let at = self.sr_offset() + field::SR_HDR_LEN;
        self.buffer.as_mut()[at] = value;
    }

    /// Sets Last Entry.
    #[inline]
    pub fn set_last_entry(&mut self, value: u8) {
        let at = self.sr_offset() + field::LAST_ENTRY;
        self.buffer.as_mut()[at] = value;
    }

    /// Sets Segments Left.
    #[inline]
    pub fn set_segments_left(&mut self, value: u8) {
        let at = self.sr_offset() + field::SEG_LEFT;
        self.buffer.as_mut()[at] = value;
    }

    /// Writes Segment List\[`index`\] (Segment Type and Last Entry must be set). Returns
    /// false, writing nothing, if `index` is beyond Last Entry or `value`'s family does
    /// not match the Segment Type.
    #[inline]
    pub fn set_segment(&mut self, index: usize, value: SocketAddr) -> bool {
        let want = match value.ip() {
            IpAddr::V4(_) => SegmentType::IPV4,
            IpAddr::V6(_) => SegmentType::IPV6,
        };
        if index >= self.segment_count() || self.segment_type() != want {
            return false;
        }
        let at = self.segment_offset(index);
        encode_segment(&value, &mut self.buffer.as_mut()[at..]) != 0
    }

    /// The raw segment list, mutable (requires a checked non-OAM header).
    #[inline]
    pub fn segment_list_mut(&mut self) -> &mut [u8] {
        let range = self.segment_list_offset()..self.segment_list_end();
        &mut self.buffer.as_mut()[range]
    }

    /// The TLVs, mutable (requires a checked non-OAM header).
    #[inline]
    pub fn tlvs_mut(&mut self) -> &mut [u8] {
        let range = self.segment_list_end()..self.header_len();
        &mut self.buffer.as_mut()[range]
    }

    /// What follows the header, mutable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let at = self.header_len();
        &mut self.buffer.as_mut()[at..]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Header<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// A segment list as wire bytes: Segment List\[0\] (the final node) first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Segments<'a> {
    seg_type: SegmentType,
    raw: &'a [u8],
}

impl<'a> Segments<'a> {
    /// Wraps raw segment bytes of `seg_type`: `None` unless the type is accepted and `raw`
    /// holds 1 to 256 whole segments.
    pub fn new(seg_type: SegmentType, raw: &'a [u8]) -> Option<Segments<'a>> {
        let len = seg_type.segment_len()?;
        let n = raw.len() / len;
        (raw.len() % len == 0 && (1..=256).contains(&n)).then_some(Segments { seg_type, raw })
    }

    /// Segment Type.
    #[inline]
    pub fn segment_type(&self) -> SegmentType {
        self.seg_type
    }

    /// The raw bytes.
    #[inline]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.raw
    }

    /// Number of segments.
    #[inline]
    pub fn len(&self) -> usize {
        self.raw.len() / self.seg_type.segment_len().unwrap_or(usize::MAX)
    }

    /// Always false for a constructed list (at least one segment).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Segment List\[`index`\].
    #[inline]
    pub fn get(&self, index: usize) -> Option<SocketAddr> {
        let len = self.seg_type.segment_len()?;
        decode_segment(self.raw.get(index * len..(index + 1) * len)?)
    }
}

/// What the header carries after the Flow ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Body<'a> {
    /// OAM (Protocol-ID 0).
    Oam {
        /// OAM-Type (0 PM, 1/2 IPv4 STUN request/response, ...).
        oam_type: u8,
        /// The OAM body after the OAM-Type byte.
        data: &'a [u8],
    },
    /// A source-routed packet (Protocol-ID 1 or 2, from the family of `source`).
    Sr {
        /// Source Address and Port (same family as the segments).
        source: SocketAddr,
        /// The segment list.
        segments: Segments<'a>,
        /// Segments Left (at most Last Entry).
        segments_left: u8,
        /// Optional TLVs, raw.
        tlvs: &'a [u8],
    },
}

/// The meaningful fields of an SRoU header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr<'a> {
    /// Magic Number ([`MAGIC`] or [`MAGIC_ALT`]).
    pub magic: u8,
    /// Flow ID (at most 255 bytes; the whole header must fit SRoU Length).
    pub flow_id: &'a [u8],
    /// OAM or SR body.
    pub body: Body<'a>,
}

impl<'a> Repr<'a> {
    /// Reads a header; runs [`Header::check_len`] first. SR Hdr Len is ignored.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        header: &'a Header<&'a T>,
    ) -> Result<Repr<'a>, DropReason> {
        header.check_len()?;
        let buf: &'a [u8] = header.buffer.as_ref();
        let flow_id = &buf[field::FLOW_ID..header.source_offset()];
        let body = if header.is_oam() {
            Body::Oam {
                oam_type: buf[header.source_offset()],
                data: &buf[header.source_offset() + 1..header.header_len()],
            }
        } else {
            let raw = &buf[header.segment_list_offset()..header.segment_list_end()];
            let segments =
                Segments::new(header.segment_type(), raw).ok_or(DropReason::SrouBadSegmentType)?;
            Body::Sr {
                source: header.source().ok_or(DropReason::SrouBadProtocol)?,
                segments,
                segments_left: header.segments_left(),
                tlvs: &buf[header.segment_list_end()..header.header_len()],
            }
        };
        Ok(Repr {
            magic: header.magic(),
            flow_id,
            body,
        })
    }

    /// Length of the emitted header (the SRoU Length it will carry).
    pub fn buffer_len(&self) -> usize {
        let body = match self.body {
            Body::Oam { data, .. } => 1 + data.len(),
            Body::Sr {
                source,
                segments,
                tlvs,
                ..
            } => {
                let addr = if source.is_ipv4() { 4 } else { 16 };
                addr + PORT_LEN + SR_FIXED_LEN + segments.as_bytes().len() + tlvs.len()
            }
        };
        FIXED_LEN + self.flow_id.len() + body
    }

    /// Checks that the representation can be emitted: [`Repr::buffer_len`] at most
    /// [`MAX_LEN`] ([`DropReason::SrouBadLength`]), the Source family matches the
    /// segments ([`DropReason::SrouBadSegmentType`]) and Segments Left is at most Last
    /// Entry ([`DropReason::SrouSegmentsLeftBeyondLast`]).
    pub fn check(&self) -> Result<(), DropReason> {
        if self.buffer_len() > MAX_LEN {
            return Err(DropReason::SrouBadLength);
        }
        if let Body::Sr {
            source,
            segments,
            segments_left,
            ..
        } = self.body
        {
            if ProtocolId::of(&source.ip()).segment_type() != Some(segments.segment_type()) {
                return Err(DropReason::SrouBadSegmentType);
            }
            if usize::from(segments_left) >= segments.len() {
                return Err(DropReason::SrouSegmentsLeftBeyondLast);
            }
        }
        Ok(())
    }

    /// Writes the header into the start of `header`'s buffer, which must hold
    /// [`Repr::buffer_len`] bytes; the representation must pass [`Repr::check`]. SR Hdr
    /// Len is written as 4 + the segment list length (the SR part without TLVs).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, header: &mut Header<T>) {
        header.set_magic(self.magic);
        header.set_header_len(self.buffer_len() as u8);
        header.set_flow_id_len(self.flow_id.len() as u8);
        match self.body {
            Body::Oam { oam_type, data } => {
                header.set_protocol_id(ProtocolId::OAM);
                header.flow_id_mut().copy_from_slice(self.flow_id);
                header.set_oam_type(oam_type);
                let at = header.source_offset() + 1;
                header.buffer.as_mut()[at..at + data.len()].copy_from_slice(data);
            }
            Body::Sr {
                source,
                segments,
                segments_left,
                tlvs,
            } => {
                header.set_protocol_id(ProtocolId::of(&source.ip()));
                header.flow_id_mut().copy_from_slice(self.flow_id);
                header.set_source(source);
                header.set_segment_type(segments.segment_type());
                let raw = segments.as_bytes();
                header.set_sr_hdr_len((SR_FIXED_LEN + raw.len()) as u8);
                header.set_last_entry((segments.len() - 1) as u8);
                header.set_segments_left(segments_left);
                header.segment_list_mut().copy_from_slice(raw);
                header.tlvs_mut().copy_from_slice(tlvs);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The draft's worked example: flow ID 0x000123 (3 bytes), IPv4, Source
    /// 192.168.1.10:5000, two segments: [0] = 10.0.0.2:8811 (final), [1] = 10.0.0.1:8811
    /// (first hop), Segments Left 1. SRoU Length 29 = 4 + 3 + 4 + 2 + 4 + 2 x 6.
    static EXAMPLE: [u8; 29] = [
        0x00, 29, 3, 0x01, // magic, SRoU length, flow ID length, Protocol-ID IPv4
        0x00, 0x01, 0x23, // flow ID
        192, 168, 1, 10, 0x13, 0x88, // source 192.168.1.10:5000
        0x01, 16, 1, 1, // segment type IPv4, SR hdr len 4 + 12, last entry 1, SL 1
        10, 0, 0, 2, 0x22, 0x6b, // segment list[0] 10.0.0.2:8811
        10, 0, 0, 1, 0x22, 0x6b, // segment list[1] 10.0.0.1:8811
    ];

    fn sa(s: &str) -> SocketAddr {
        s.parse().expect("socket address")
    }

    #[test]
    fn deconstruct_draft_example() {
        let h = Header::new_checked(&EXAMPLE[..]).expect("valid");
        assert_eq!(h.magic(), MAGIC);
        assert_eq!(h.header_len(), 29);
        assert_eq!(h.flow_id_len(), 3);
        assert_eq!(h.protocol_id(), ProtocolId::IPV4);
        assert!(!h.is_oam());
        assert_eq!(h.flow_id(), &[0x00, 0x01, 0x23]);
        assert_eq!(h.source(), Some(sa("192.168.1.10:5000")));
        assert_eq!(h.segment_type(), SegmentType::IPV4);
        assert_eq!(h.sr_hdr_len(), 16);
        assert_eq!(h.last_entry(), 1);
        assert_eq!(h.segments_left(), 1);
        assert_eq!(h.segment_count(), 2);
        assert_eq!(h.segment(0), Some(sa("10.0.0.2:8811")));
        assert_eq!(h.segment(1), Some(sa("10.0.0.1:8811")));
        assert_eq!(h.segment(2), None);
        assert_eq!(h.active_segment(), Some(sa("10.0.0.1:8811")));
        assert_eq!(h.tlvs(), &[] as &[u8]);
        assert_eq!(h.payload(), &[] as &[u8]);
        assert_eq!(h.oam_type(), None);
        assert_eq!(h.service_segment(0), None);
    }

    #[test]
    fn construct_draft_example() {
        let mut bytes = [0xa5u8; 29];
        let mut h = Header::new_unchecked(&mut bytes[..]);
        h.set_magic(MAGIC);
        h.set_header_len(29);
        h.set_flow_id_len(3);
        h.set_protocol_id(ProtocolId::IPV4);
        h.flow_id_mut().copy_from_slice(&[0x00, 0x01, 0x23]);
        assert!(h.set_source(sa("192.168.1.10:5000")));
        assert!(!h.set_source(sa("[2001:db8::1]:1")), "family must match");
        h.set_segment_type(SegmentType::IPV4);
        h.set_sr_hdr_len(16);
        h.set_last_entry(1);
        h.set_segments_left(1);
        assert!(h.set_segment(0, sa("10.0.0.2:8811")));
        assert!(h.set_segment(1, sa("10.0.0.1:8811")));
        assert!(!h.set_segment(2, sa("10.0.0.3:8811")), "beyond last entry");
        assert!(
            !h.set_segment(0, sa("[2001:db8::1]:1")),
            "wrong segment type"
        );
        assert_eq!(bytes, EXAMPLE);
    }

    #[test]
    fn parse_and_emit_draft_example() {
        let h = Header::new_unchecked(&EXAMPLE[..]);
        let repr = Repr::parse(&h).expect("parses");
        assert_eq!(repr.magic, MAGIC);
        assert_eq!(repr.flow_id, &[0x00, 0x01, 0x23]);
        let Body::Sr {
            source,
            segments,
            segments_left,
            tlvs,
        } = repr.body
        else {
            panic!("not an SR body");
        };
        assert_eq!(source, sa("192.168.1.10:5000"));
        assert_eq!(segments.len(), 2);
        assert_eq!(segments.get(0), Some(sa("10.0.0.2:8811")));
        assert_eq!(segments.get(1), Some(sa("10.0.0.1:8811")));
        assert_eq!(segments_left, 1);
        assert!(tlvs.is_empty());
        assert_eq!(repr.buffer_len(), 29);
        repr.check().expect("emittable");
        let mut out = [0u8; 29];
        repr.emit(&mut Header::new_unchecked(&mut out[..]));
        assert_eq!(out, EXAMPLE);
    }

    /// IPv6 Protocol-ID: 16-byte Source, 18-byte segments, a 4-byte TLV, an inner payload.
    static V6: [u8; 4 + 1 + 18 + 4 + 18 + 4 + 2] = [
        0x00, 49, 1, 0x02, // magic, length 49, flow ID length 1, IPv6
        0xab, // flow ID
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, // 2001:db8::1
        0x04, 0xd2, // port 1234
        0x02, 22, 0, 0, // type IPv6, SR hdr len 22, last entry 0, SL 0
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, // 2001:db8::2
        0x22, 0x6b, // port 8811
        0x00, 0x02, 0xbe, 0xef, // TLV type 0 (SR integrity), length 2, value
        0x45, 0x00, // inner payload (2 bytes)
    ];

    #[test]
    fn ipv6_header_with_tlv_and_payload() {
        let h = Header::new_checked(&V6[..]).expect("valid");
        assert_eq!(h.header_len(), 49);
        assert_eq!(h.protocol_id(), ProtocolId::IPV6);
        assert_eq!(h.source(), Some(sa("[2001:db8::1]:1234")));
        assert_eq!(h.segment_type(), SegmentType::IPV6);
        assert_eq!(h.segment_len(), 18);
        assert_eq!(h.segment(0), Some(sa("[2001:db8::2]:8811")));
        assert_eq!(h.tlvs(), &[0x00, 0x02, 0xbe, 0xef]);
        assert_eq!(h.payload(), &[0x45, 0x00]);
        let repr = Repr::parse(&h).expect("parses");
        assert_eq!(repr.buffer_len(), 49);
        let mut out = [0u8; 49];
        repr.emit(&mut Header::new_unchecked(&mut out[..]));
        assert_eq!(out[..], V6[..49]);
    }

    #[test]
    fn oam_header_has_no_source_and_no_segments() {
        // magic, length 8, flow ID 2 bytes, OAM; flow ID; OAM-Type 1 (STUN request);
        // one body byte.
        let bytes = [0x00, 8, 2, 0x00, 0x12, 0x34, 0x01, 0x00];
        let h = Header::new_checked(&bytes[..]).expect("valid");
        assert!(h.is_oam());
        assert_eq!(h.flow_id(), &[0x12, 0x34]);
        assert_eq!(h.oam_type(), Some(1));
        assert_eq!(h.oam_data(), &[0x00]);
        assert_eq!(h.source(), None);
        let repr = Repr::parse(&h).expect("parses");
        assert_eq!(
            repr.body,
            Body::Oam {
                oam_type: 1,
                data: &[0x00]
            }
        );
        let mut out = [0u8; 8];
        repr.emit(&mut Header::new_unchecked(&mut out[..]));
        assert_eq!(out, bytes);
        // No room for the OAM-Type byte.
        let short = [0x00, 6, 2, 0x00, 0x12, 0x34, 0x01];
        assert_eq!(
            Header::new_checked(&short[..]).err(),
            Some(DropReason::SrouBadLength)
        );
    }

    fn with(f: impl FnOnce(&mut [u8])) -> Vec<u8> {
        let mut b = EXAMPLE.to_vec();
        f(&mut b);
        b
    }

    fn err(b: &[u8]) -> Option<DropReason> {
        Header::new_checked(b).err()
    }

    #[test]
    fn malformed_headers_are_specific_errors() {
        assert_eq!(err(&EXAMPLE[..3]), Some(DropReason::SrouTruncated));
        assert_eq!(err(&with(|b| b[0] = 0x40)), Some(DropReason::SrouBadMagic));
        let alt = with(|b| b[0] = MAGIC_ALT);
        assert_eq!(err(&alt), None, "0xFE is accepted");
        // SRoU Length lies: longer than the buffer.
        assert_eq!(err(&EXAMPLE[..28]), Some(DropReason::SrouTruncated));
        assert_eq!(err(&with(|b| b[1] = 30)), Some(DropReason::SrouTruncated));
        // SRoU Length lies: shorter than the segment list it announces.
        assert_eq!(
            err(&with(|b| b[1] = 28)),
            Some(DropReason::SrouSegmentListTruncated)
        );
        assert_eq!(err(&with(|b| b[1] = 3)), Some(DropReason::SrouBadLength));
        assert_eq!(err(&with(|b| b[1] = 12)), Some(DropReason::SrouBadLength));
        assert_eq!(err(&with(|b| b[3] = 3)), Some(DropReason::SrouBadProtocol));
        // Flow ID longer than the header / the packet.
        assert_eq!(
            err(&with(|b| b[2] = 26)),
            Some(DropReason::SrouBadFlowIdLength)
        );
        assert_eq!(
            err(&with(|b| b[2] = 200)),
            Some(DropReason::SrouBadFlowIdLength)
        );
        // Protocol-ID IPv6 with an IPv4 segment type (and the lengths then also differ).
        assert_eq!(
            err(&with(|b| b[13] = 0x02)),
            Some(DropReason::SrouBadSegmentType)
        );
        assert_eq!(
            err(&with(|b| b[13] = 0x03)),
            Some(DropReason::SrouBadSegmentType)
        );
        // Last Entry 2: three segments do not fit SRoU Length 29.
        assert_eq!(
            err(&with(|b| b[15] = 2)),
            Some(DropReason::SrouSegmentListTruncated)
        );
        // Segments Left 2 > Last Entry 1.
        assert_eq!(
            err(&with(|b| b[16] = 2)),
            Some(DropReason::SrouSegmentsLeftBeyondLast)
        );
        assert_eq!(
            err(&with(|b| b[16] = 255)),
            Some(DropReason::SrouSegmentsLeftBeyondLast)
        );
        // SR Hdr Len is not trusted.
        assert_eq!(err(&with(|b| b[14] = 0)), None);
        assert_eq!(err(&with(|b| b[14] = 255)), None);
    }

    #[test]
    fn service_segment_slot() {
        let s = ServiceSegment {
            vnid: 0x012345,
            behavior: ServiceSegment::END_DT4,
        };
        let slot = s.to_slot();
        assert_eq!(slot, [0xff, 0x01, 0x23, 0x45, 0x00, 0x13]);
        assert_eq!(ServiceSegment::from_slot(&slot), Some(s));
        assert_eq!(ServiceSegment::from_slot(&[10, 0, 0, 1, 0, 1]), None);
        assert_eq!(ServiceSegment::from_slot(&slot[..5]), None);
        let b = with(|b| b[17..23].copy_from_slice(&slot));
        let h = Header::new_checked(&b[..]).expect("valid");
        assert_eq!(h.service_segment(0), Some(s));
        assert_eq!(h.service_segment(1), None);
    }

    #[test]
    fn repr_check_rejects_what_cannot_be_emitted() {
        let raw = [10, 0, 0, 1, 0, 1];
        let segs = Segments::new(SegmentType::IPV4, &raw).expect("one segment");
        let ok = Repr {
            magic: MAGIC,
            flow_id: &[1],
            body: Body::Sr {
                source: sa("10.0.0.9:1"),
                segments: segs,
                segments_left: 0,
                tlvs: &[],
            },
        };
        assert_eq!(ok.check(), Ok(()));
        let mut bad = ok;
        bad.body = Body::Sr {
            source: sa("10.0.0.9:1"),
            segments: segs,
            segments_left: 1,
            tlvs: &[],
        };
        assert_eq!(bad.check(), Err(DropReason::SrouSegmentsLeftBeyondLast));
        bad.body = Body::Sr {
            source: sa("[::1]:1"),
            segments: segs,
            segments_left: 0,
            tlvs: &[],
        };
        assert_eq!(bad.check(), Err(DropReason::SrouBadSegmentType));
        let long = [0u8; 250];
        bad = ok;
        bad.flow_id = &long;
        assert_eq!(bad.check(), Err(DropReason::SrouBadLength));
        assert!(Segments::new(SegmentType::IPV4, &raw[..5]).is_none());
        assert!(Segments::new(SegmentType::IPV4, &[]).is_none());
        assert!(Segments::new(SegmentType::COMPRESSED, &raw).is_none());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(h) = Header::new_checked(&bytes[..]) {
                let _ = (h.magic(), h.flow_id(), h.oam_type(), h.oam_data(), h.payload());
                if !h.is_oam() {
                    let _ = (h.source(), h.segment_type(), h.sr_hdr_len(), h.tlvs());
                    let _ = (h.segment_list(), h.active_segment());
                    for i in 0..h.segment_count() + 1 {
                        let _ = (h.segment(i), h.service_segment(i));
                    }
                    prop_assert!(h.segments_left() <= h.last_entry());
                }
                let repr = Repr::parse(&h).expect("a checked header parses");
                prop_assert_eq!(repr.buffer_len(), h.header_len());
                let mut out = vec![0u8; repr.buffer_len()];
                repr.emit(&mut Header::new_unchecked(&mut out[..]));
                let again = Header::new_checked(&out[..]).expect("emitted header is valid");
                prop_assert_eq!(Repr::parse(&again).expect("parses"), repr);
            }
        }

        #[test]
        fn arbitrary_ipv4_headers_with_valid_magic(
            mut bytes in proptest::collection::vec(any::<u8>(), 4..120),
            len in 0u8..=120,
            fl in 0u8..8,
            proto in 0u8..4,
        ) {
            bytes[0] = MAGIC;
            bytes[1] = len;
            bytes[2] = fl;
            bytes[3] = proto;
            let _ = Header::new_checked(&bytes[..]).map(|h| Repr::parse(&h).map(|r| r.buffer_len()));
        }
    }
}
