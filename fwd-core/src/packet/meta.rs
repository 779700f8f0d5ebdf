//! [`PacketMeta`]: what the parser learned about a frame, in 22 bytes.

use core::ops::Range;

use crate::wire::{ethernet, ipv4, ipv6, mpls, srh, udp, IpProtocol};

/// The network layer of a parsed frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum L3Kind {
    /// IPv4 (EtherType 0x0800). Also the value of a default, unparsed [`PacketMeta`].
    #[default]
    Ipv4,
    /// IPv6 (EtherType 0x86DD).
    Ipv6,
    /// An MPLS label stack (EtherType 0x8847 or 0x8848).
    Mpls,
}

/// Bits of [`PacketMeta::flags`].
pub mod flags {
    /// At least one VLAN tag; [`super::PacketMeta::outer_vlan`] is valid (it may be 0 for a
    /// priority tag).
    pub const VLAN: u8 = 1 << 0;
    /// Two VLAN tags; [`super::PacketMeta::inner_vlan`] is valid.
    pub const QINQ: u8 = 1 << 1;
    /// The IP datagram is a fragment (first or later).
    pub const FRAGMENT: u8 = 1 << 2;
    /// The IP datagram is a non-first fragment (offset ≠ 0): it carries no upper-layer
    /// header, so [`super::PacketMeta::l4_offset`] is 0.
    pub const LATER_FRAGMENT: u8 = 1 << 3;
    /// The IPv4 header carries options (IHL > 5).
    pub const IPV4_OPTIONS: u8 = 1 << 4;
    /// MPLS: the first nibble after the bottom of stack is 4 (looks like IPv4).
    pub const MPLS_INNER_IPV4: u8 = 1 << 5;
    /// MPLS: the first nibble after the bottom of stack is 6 (looks like IPv6).
    pub const MPLS_INNER_IPV6: u8 = 1 << 6;
}

/// What the parser learned about a frame. Offsets count bytes from the start of the
/// frame; 0 means "absent" for offsets that can never be 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct PacketMeta {
    /// Start of the network header (IPv4/IPv6 header, or the top MPLS label stack entry).
    pub l3_offset: u16,
    /// End of the IP datagram per its length fields, so Ethernet padding is excluded. For
    /// MPLS, which has no length field, the end of the frame.
    pub l3_end: u16,
    /// Start of the upper-layer header (after IPv6 extension headers), 0 if none: MPLS,
    /// and non-first fragments.
    pub l4_offset: u16,
    /// Start of the first SRv6 SRH, 0 if none.
    pub srh_offset: u16,
    /// VLAN ID of the outer tag (valid when [`flags::VLAN`] is set).
    pub outer_vlan: u16,
    /// VLAN ID of the inner tag (valid when [`flags::QINQ`] is set).
    pub inner_vlan: u16,
    /// EtherType after the VLAN tags.
    pub ethertype: u16,
    /// UDP source port (0 unless [`PacketMeta::is_udp`]).
    pub src_port: u16,
    /// UDP destination port (0 unless [`PacketMeta::is_udp`]).
    pub dst_port: u16,
    /// The network layer.
    pub l3: L3Kind,
    /// IPv4 protocol, or the last IPv6 Next Header (the upper layer); 0 for MPLS.
    pub l4_proto: u8,
    /// Number of MPLS label stack entries (0 unless MPLS).
    pub mpls_depth: u8,
    /// [`flags`] bits.
    pub flags: u8,
}

impl PacketMeta {
    /// True if all bits of `flag` (a [`flags`] constant) are set.
    #[inline]
    pub const fn has(&self, flag: u8) -> bool {
        self.flags & flag == flag
    }

    /// Outer VLAN ID, if the frame is tagged.
    #[inline]
    pub const fn vlan(&self) -> Option<u16> {
        if self.has(flags::VLAN) {
            Some(self.outer_vlan)
        } else {
            None
        }
    }

    /// Inner VLAN ID, if the frame carries two tags.
    #[inline]
    pub const fn inner_vlan(&self) -> Option<u16> {
        if self.has(flags::QINQ) {
            Some(self.inner_vlan)
        } else {
            None
        }
    }

    /// True for an IPv4 or IPv6 fragment.
    #[inline]
    pub const fn is_fragment(&self) -> bool {
        self.has(flags::FRAGMENT)
    }

    /// True if an upper-layer header was located.
    #[inline]
    pub const fn has_l4(&self) -> bool {
        self.l4_offset != 0
    }

    /// True for a UDP datagram whose header was parsed (ports are valid).
    #[inline]
    pub const fn is_udp(&self) -> bool {
        self.has_l4() && self.l4_proto == IpProtocol::UDP.0 && !matches!(self.l3, L3Kind::Mpls)
    }

    /// The upper-layer protocol, for IP packets.
    #[inline]
    pub const fn l4_protocol(&self) -> Option<IpProtocol> {
        match self.l3 {
            L3Kind::Mpls => None,
            _ => Some(IpProtocol(self.l4_proto)),
        }
    }

    /// The EtherType after the VLAN tags.
    #[inline]
    pub const fn ethertype(&self) -> ethernet::EtherType {
        ethernet::EtherType(self.ethertype)
    }

    /// The network layer: IP datagram without Ethernet padding, or the MPLS packet.
    #[inline]
    pub fn l3_range(&self) -> Range<usize> {
        usize::from(self.l3_offset)..usize::from(self.l3_end)
    }

    /// From the upper-layer header to the end of the datagram, if one was located.
    #[inline]
    pub fn l4_range(&self) -> Option<Range<usize>> {
        self.has_l4()
            .then(|| usize::from(self.l4_offset)..usize::from(self.l3_end))
    }

    /// Offset of the first SRH, if any.
    #[inline]
    pub fn srh_offset(&self) -> Option<usize> {
        (self.srh_offset != 0).then_some(usize::from(self.srh_offset))
    }

    /// MPLS: offset of the payload after the bottom of stack.
    #[inline]
    pub fn mpls_payload_offset(&self) -> Option<usize> {
        match self.l3 {
            L3Kind::Mpls => {
                Some(usize::from(self.l3_offset) + mpls::ENTRY_LEN * usize::from(self.mpls_depth))
            }
            _ => None,
        }
    }

    /// MPLS: what the payload looks like by its first nibble (IPv4 or IPv6), if either.
    #[inline]
    pub const fn mpls_inner(&self) -> Option<L3Kind> {
        if self.has(flags::MPLS_INNER_IPV4) {
            Some(L3Kind::Ipv4)
        } else if self.has(flags::MPLS_INNER_IPV6) {
            Some(L3Kind::Ipv6)
        } else {
            None
        }
    }

    /// The Ethernet header of `frame` (the frame this meta was parsed from).
    #[inline]
    pub fn ethernet<'a>(&self, frame: &'a [u8]) -> Option<ethernet::Frame<&'a [u8]>> {
        ethernet::Frame::new_checked(frame).ok()
    }

    /// The Ethernet header of `frame`, mutable.
    #[inline]
    pub fn ethernet_mut<'a>(&self, frame: &'a mut [u8]) -> Option<ethernet::Frame<&'a mut [u8]>> {
        ethernet::Frame::new_checked(frame).ok()
    }

    /// The IPv4 datagram (padding excluded) if this is an IPv4 packet.
    #[inline]
    pub fn ipv4<'a>(&self, frame: &'a [u8]) -> Option<ipv4::Packet<&'a [u8]>> {
        match self.l3 {
            L3Kind::Ipv4 => ipv4::Packet::new_checked(frame.get(self.l3_range())?).ok(),
            _ => None,
        }
    }

    /// The IPv4 datagram, mutable.
    #[inline]
    pub fn ipv4_mut<'a>(&self, frame: &'a mut [u8]) -> Option<ipv4::Packet<&'a mut [u8]>> {
        match self.l3 {
            L3Kind::Ipv4 => ipv4::Packet::new_checked(frame.get_mut(self.l3_range())?).ok(),
            _ => None,
        }
    }

    /// The IPv6 datagram (padding excluded) if this is an IPv6 packet.
    #[inline]
    pub fn ipv6<'a>(&self, frame: &'a [u8]) -> Option<ipv6::Packet<&'a [u8]>> {
        match self.l3 {
            L3Kind::Ipv6 => ipv6::Packet::new_checked(frame.get(self.l3_range())?).ok(),
            _ => None,
        }
    }

    /// The IPv6 datagram, mutable.
    #[inline]
    pub fn ipv6_mut<'a>(&self, frame: &'a mut [u8]) -> Option<ipv6::Packet<&'a mut [u8]>> {
        match self.l3 {
            L3Kind::Ipv6 => ipv6::Packet::new_checked(frame.get_mut(self.l3_range())?).ok(),
            _ => None,
        }
    }

    /// The first SRH, up to the end of the datagram.
    #[inline]
    pub fn srh<'a>(&self, frame: &'a [u8]) -> Option<srh::Header<&'a [u8]>> {
        let at = self.srh_offset()?;
        srh::Header::new_checked(frame.get(at..usize::from(self.l3_end))?).ok()
    }

    /// The first SRH, mutable.
    #[inline]
    pub fn srh_mut<'a>(&self, frame: &'a mut [u8]) -> Option<srh::Header<&'a mut [u8]>> {
        let at = self.srh_offset()?;
        srh::Header::new_checked(frame.get_mut(at..usize::from(self.l3_end))?).ok()
    }

    /// The UDP datagram, up to the end of the IP datagram. `None` for a first fragment,
    /// whose UDP length covers more than the fragment holds.
    #[inline]
    pub fn udp<'a>(&self, frame: &'a [u8]) -> Option<udp::Packet<&'a [u8]>> {
        if !self.is_udp() {
            return None;
        }
        udp::Packet::new_checked(frame.get(self.l4_range()?)?).ok()
    }

    /// The UDP datagram, mutable.
    #[inline]
    pub fn udp_mut<'a>(&self, frame: &'a mut [u8]) -> Option<udp::Packet<&'a mut [u8]>> {
        if !self.is_udp() {
            return None;
        }
        udp::Packet::new_checked(frame.get_mut(self.l4_range()?)?).ok()
    }

    /// The top MPLS label stack entry (the rest of the frame follows it).
    #[inline]
    pub fn mpls_top<'a>(&self, frame: &'a [u8]) -> Option<mpls::Entry<&'a [u8]>> {
        match self.l3 {
            L3Kind::Mpls => mpls::Entry::new_checked(frame.get(self.l3_range())?).ok(),
            _ => None,
        }
    }

    /// The top MPLS label stack entry, mutable.
    #[inline]
    pub fn mpls_top_mut<'a>(&self, frame: &'a mut [u8]) -> Option<mpls::Entry<&'a mut [u8]>> {
        match self.l3 {
            L3Kind::Mpls => mpls::Entry::new_checked(frame.get_mut(self.l3_range())?).ok(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact() {
        assert!(core::mem::size_of::<PacketMeta>() <= 32);
        assert_eq!(core::mem::size_of::<PacketMeta>(), 22);
        assert_eq!(core::mem::size_of::<L3Kind>(), 1);
    }

    #[test]
    fn default_is_empty() {
        let m = PacketMeta::default();
        assert_eq!(m.vlan(), None);
        assert_eq!(m.inner_vlan(), None);
        assert!(!m.has_l4());
        assert!(!m.is_udp());
        assert!(!m.is_fragment());
        assert_eq!(m.srh_offset(), None);
        assert_eq!(m.l4_range(), None);
        assert_eq!(m.mpls_payload_offset(), None);
        assert_eq!(m.mpls_inner(), None);
        assert_eq!(m.l3_range(), 0..0);
    }

    #[test]
    fn views_never_panic_on_a_lying_meta() {
        let mut frame = [0u8; 64];
        let metas = [
            PacketMeta {
                l3_offset: 60,
                l3_end: 200,
                l4_offset: 100,
                srh_offset: 70,
                l4_proto: 17,
                ..Default::default()
            },
            PacketMeta {
                l3: L3Kind::Ipv6,
                l3_offset: 30,
                l3_end: 10,
                l4_offset: 50,
                srh_offset: 40,
                l4_proto: 17,
                ..Default::default()
            },
            PacketMeta {
                l3: L3Kind::Mpls,
                l3_offset: 63,
                l3_end: 64,
                mpls_depth: 200,
                ..Default::default()
            },
        ];
        for m in metas {
            let _ = m.ipv4(&frame);
            let _ = m.ipv4_mut(&mut frame);
            let _ = m.ipv6(&frame);
            let _ = m.ipv6_mut(&mut frame);
            let _ = m.srh(&frame);
            let _ = m.srh_mut(&mut frame);
            let _ = m.udp(&frame);
            let _ = m.udp_mut(&mut frame);
            let _ = m.mpls_top(&frame);
            let _ = m.mpls_top_mut(&mut frame);
            let _ = m.ethernet(&frame[..3]);
            let _ = m.ethernet_mut(&mut frame[..3]);
            let _ = m.mpls_payload_offset();
        }
    }
}
