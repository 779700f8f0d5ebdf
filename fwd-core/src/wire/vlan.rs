//! IEEE 802.1Q / 802.1ad VLAN tags.
//!
//! A tag sits where the EtherType of the enclosing header would be: that EtherType is the
//! tag's TPID (0x8100, or 0x88a8 for a QinQ service tag), and the view here covers the
//! four bytes that follow it: the Tag Control Information and the next EtherType.

use super::ethernet::EtherType;
use super::{read_u16, write_u16};
use crate::drop::DropReason;

mod field {
    use crate::wire::{Field, Rest};

    pub const TCI: Field = 0..2;
    pub const ETHERTYPE: Field = 2..4;
    pub const PAYLOAD: Rest = 4..;
}

/// Length of a tag after its TPID.
pub const HEADER_LEN: usize = field::PAYLOAD.start;

/// Largest VLAN ID (4095 is reserved, 0 means priority-tagged only).
pub const VID_MAX: u16 = 0x0fff;

/// A read/write view of a VLAN tag (TCI + encapsulated EtherType).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Tag<T> {
    /// Wraps a buffer without checking its length (getters may then panic).
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Tag<T> {
        Tag { buffer }
    }

    /// Wraps a buffer that holds at least a whole tag.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Tag<T>, DropReason> {
        let tag = Self::new_unchecked(buffer);
        tag.check_len()?;
        Ok(tag)
    }

    /// Errors with [`DropReason::VlanTruncated`] if the buffer is shorter than a tag.
    #[inline]
    pub fn check_len(&self) -> Result<(), DropReason> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            Err(DropReason::VlanTruncated)
        } else {
            Ok(())
        }
    }

    /// Unwraps the buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The whole Tag Control Information word.
    #[inline]
    pub fn tci(&self) -> u16 {
        read_u16(&self.buffer.as_ref()[field::TCI])
    }

    /// Priority Code Point (3 bits).
    #[inline]
    pub fn pcp(&self) -> u8 {
        (self.tci() >> 13) as u8
    }

    /// Drop Eligible Indicator.
    #[inline]
    pub fn dei(&self) -> bool {
        self.tci() & 0x1000 != 0
    }

    /// VLAN identifier (12 bits).
    #[inline]
    pub fn vlan_id(&self) -> u16 {
        self.tci() & VID_MAX
    }

    /// EtherType of what follows the tag (another TPID for stacked tags).
    #[inline]
    pub fn ethertype(&self) -> EtherType {
        EtherType(read_u16(&self.buffer.as_ref()[field::ETHERTYPE]))
    }

    /// Everything after the tag.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Tag<T> {
    /// Sets the whole Tag Control Information word.
    #[inline]
    pub fn set_tci(&mut self, value: u16) {
        write_u16(&mut self.buffer.as_mut()[field::TCI], value);
    }

    /// Sets the Priority Code Point (only the low 3 bits of `value` are used).
    #[inline]
    pub fn set_pcp(&mut self, value: u8) {
        let tci = (self.tci() & 0x1fff) | (u16::from(value & 0x7) << 13);
        self.set_tci(tci);
    }

    /// Sets the Drop Eligible Indicator.
    #[inline]
    pub fn set_dei(&mut self, value: bool) {
        let tci = (self.tci() & !0x1000) | if value { 0x1000 } else { 0 };
        self.set_tci(tci);
    }

    /// Sets the VLAN identifier (only the low 12 bits of `value` are used).
    #[inline]
    pub fn set_vlan_id(&mut self, value: u16) {
        let tci = (self.tci() & !VID_MAX) | (value & VID_MAX);
        self.set_tci(tci);
    }

    /// Sets the encapsulated EtherType.
    #[inline]
    pub fn set_ethertype(&mut self, value: EtherType) {
        write_u16(&mut self.buffer.as_mut()[field::ETHERTYPE], value.0);
    }

    /// Everything after the tag, mutable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD]
    }
}

/// The fields of a VLAN tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Priority Code Point (0..=7).
    pub pcp: u8,
    /// Drop Eligible Indicator.
    pub dei: bool,
    /// VLAN identifier (0..=4095).
    pub vlan_id: u16,
    /// EtherType of what follows the tag.
    pub ethertype: EtherType,
}

impl Repr {
    /// Reads a tag.
    pub fn parse<T: AsRef<[u8]>>(tag: &Tag<T>) -> Result<Repr, DropReason> {
        tag.check_len()?;
        Ok(Repr {
            pcp: tag.pcp(),
            dei: tag.dei(),
            vlan_id: tag.vlan_id(),
            ethertype: tag.ethertype(),
        })
    }

    /// Length of the emitted tag (not counting its TPID).
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the tag into `tag`, which must hold at least [`Repr::buffer_len`] bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, tag: &mut Tag<T>) {
        let tci = (u16::from(self.pcp & 0x7) << 13)
            | if self.dei { 0x1000 } else { 0 }
            | (self.vlan_id & VID_MAX);
        tag.set_tci(tci);
        tag.set_ethertype(self.ethertype);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // PCP 5, DEI 1, VID 0x123, then IPv6.
    static TAG_BYTES: [u8; 6] = [0xb1, 0x23, 0x86, 0xdd, 0x60, 0x00];

    #[test]
    fn deconstruct() {
        let tag = Tag::new_checked(&TAG_BYTES[..]).unwrap();
        assert_eq!(tag.tci(), 0xb123);
        assert_eq!(tag.pcp(), 5);
        assert!(tag.dei());
        assert_eq!(tag.vlan_id(), 0x123);
        assert_eq!(tag.ethertype(), EtherType::IPV6);
        assert_eq!(tag.payload(), &[0x60, 0x00]);
    }

    #[test]
    fn construct() {
        let mut bytes = [0u8; 6];
        let mut tag = Tag::new_unchecked(&mut bytes[..]);
        tag.set_vlan_id(0x123);
        tag.set_pcp(5);
        tag.set_dei(true);
        tag.set_ethertype(EtherType::IPV6);
        tag.payload_mut().copy_from_slice(&[0x60, 0x00]);
        assert_eq!(bytes, TAG_BYTES);
        let mut tag = Tag::new_unchecked(&mut bytes[..]);
        tag.set_dei(false);
        tag.set_vlan_id(0xffff);
        assert_eq!(tag.pcp(), 5);
        assert!(!tag.dei());
        assert_eq!(tag.vlan_id(), 0xfff);
    }

    #[test]
    fn repr_round_trip() {
        let repr = Repr {
            pcp: 5,
            dei: true,
            vlan_id: 0x123,
            ethertype: EtherType::IPV6,
        };
        let mut bytes = [0u8; 4];
        repr.emit(&mut Tag::new_unchecked(&mut bytes[..]));
        assert_eq!(&bytes[..], &TAG_BYTES[..4]);
        assert_eq!(Repr::parse(&Tag::new_unchecked(&bytes[..])), Ok(repr));
    }

    #[test]
    fn too_short() {
        for n in 0..4 {
            assert_eq!(
                Tag::new_checked(&TAG_BYTES[..n]).err(),
                Some(DropReason::VlanTruncated)
            );
        }
    }
}
