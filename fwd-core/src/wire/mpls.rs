//! MPLS label stack entries (RFC 3032).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                Label                  | TC  |S|       TTL     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use super::{read_u32, write_u32};
use crate::drop::DropReason;

mod field {
    use crate::wire::{Field, Rest};

    pub const LSE: Field = 0..4;
    pub const TTL: usize = 3;
    pub const NEXT: Rest = 4..;
}

/// Length of one label stack entry.
pub const ENTRY_LEN: usize = field::NEXT.start;
/// Largest label value (20 bits).
pub const LABEL_MAX: u32 = 0x000f_ffff;

/// Reserved label: IPv4 Explicit NULL.
pub const LABEL_IPV4_EXPLICIT_NULL: u32 = 0;
/// Reserved label: Router Alert.
pub const LABEL_ROUTER_ALERT: u32 = 1;
/// Reserved label: IPv6 Explicit NULL.
pub const LABEL_IPV6_EXPLICIT_NULL: u32 = 2;
/// Reserved label: Implicit NULL (signalled only, never on the wire).
pub const LABEL_IMPLICIT_NULL: u32 = 3;
/// Reserved label: Entropy Label Indicator.
pub const LABEL_ELI: u32 = 7;
/// Reserved label: Generic Associated Channel Label.
pub const LABEL_GAL: u32 = 13;
/// Reserved label: OAM Alert.
pub const LABEL_OAM_ALERT: u32 = 14;
/// Reserved label: Extension Label.
pub const LABEL_EXTENSION: u32 = 15;

const S_BIT: u32 = 1 << 8;

/// A read/write view of one label stack entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Entry<T> {
    /// Wraps a buffer without checking its length (getters may then panic).
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Entry<T> {
        Entry { buffer }
    }

    /// Wraps a buffer that holds at least one entry.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Entry<T>, DropReason> {
        let e = Self::new_unchecked(buffer);
        e.check_len()?;
        Ok(e)
    }

    /// Errors with [`DropReason::MplsTruncated`] if the buffer is shorter than an entry.
    #[inline]
    pub fn check_len(&self) -> Result<(), DropReason> {
        if self.buffer.as_ref().len() < ENTRY_LEN {
            Err(DropReason::MplsTruncated)
        } else {
            Ok(())
        }
    }

    /// Unwraps the buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The whole 32-bit entry.
    #[inline]
    pub fn raw(&self) -> u32 {
        read_u32(&self.buffer.as_ref()[field::LSE])
    }

    /// Label (20 bits).
    #[inline]
    pub fn label(&self) -> u32 {
        self.raw() >> 12
    }

    /// Traffic Class (3 bits).
    #[inline]
    pub fn tc(&self) -> u8 {
        ((self.raw() >> 9) & 0x7) as u8
    }

    /// Bottom-of-stack bit.
    #[inline]
    pub fn bottom_of_stack(&self) -> bool {
        self.raw() & S_BIT != 0
    }

    /// Time to live.
    #[inline]
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    /// Everything after this entry (the next entry, or the payload after the bottom).
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::NEXT]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Entry<T> {
    /// Sets the whole 32-bit entry.
    #[inline]
    pub fn set_raw(&mut self, value: u32) {
        write_u32(&mut self.buffer.as_mut()[field::LSE], value);
    }

    /// Sets the label (only the low 20 bits of `value` are used).
    #[inline]
    pub fn set_label(&mut self, value: u32) {
        let raw = (self.raw() & 0xfff) | ((value & LABEL_MAX) << 12);
        self.set_raw(raw);
    }

    /// Sets the Traffic Class (only the low 3 bits of `value` are used).
    #[inline]
    pub fn set_tc(&mut self, value: u8) {
        let raw = (self.raw() & !(0x7 << 9)) | (u32::from(value & 0x7) << 9);
        self.set_raw(raw);
    }

    /// Sets the bottom-of-stack bit.
    #[inline]
    pub fn set_bottom_of_stack(&mut self, value: bool) {
        let raw = (self.raw() & !S_BIT) | if value { S_BIT } else { 0 };
        self.set_raw(raw);
    }

    /// Sets the time to live.
    #[inline]
    pub fn set_ttl(&mut self, value: u8) {
        self.buffer.as_mut()[field::TTL] = value;
    }

    /// Everything after this entry, mutable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::NEXT]
    }
}

/// The fields of a label stack entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Repr {
    /// Label (0..=0xfffff).
    pub label: u32,
    /// Traffic Class (0..=7).
    pub tc: u8,
    /// Bottom-of-stack bit.
    pub bottom_of_stack: bool,
    /// Time to live.
    pub ttl: u8,
}

impl Repr {
    /// Reads an entry.
    pub fn parse<T: AsRef<[u8]>>(entry: &Entry<T>) -> Result<Repr, DropReason> {
        entry.check_len()?;
        Ok(Repr {
            label: entry.label(),
            tc: entry.tc(),
            bottom_of_stack: entry.bottom_of_stack(),
            ttl: entry.ttl(),
        })
    }

    /// The entry as a 32-bit word.
    #[inline]
    pub const fn to_raw(&self) -> u32 {
        ((self.label & LABEL_MAX) << 12)
            | ((self.tc as u32 & 0x7) << 9)
            | if self.bottom_of_stack { S_BIT } else { 0 }
            | self.ttl as u32
    }

    /// Length of the emitted entry.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        ENTRY_LEN
    }

    /// Writes the entry; `entry` must hold at least [`Repr::buffer_len`] bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, entry: &mut Entry<T>) {
        entry.set_raw(self.to_raw());
    }
}

/// Walks the label stack at the start of `buf` and returns its depth (the number of
/// entries up to and including the first with the bottom-of-stack bit).
///
/// Errors with [`DropReason::MplsStackTooDeep`] if no bottom is found within `max_depth`
/// entries, and with [`DropReason::MplsTruncated`] if the bytes run out first.
#[inline]
pub fn stack_depth(buf: &[u8], max_depth: usize) -> Result<usize, DropReason> {
    let mut depth = 0;
    loop {
        if depth >= max_depth {
            return Err(DropReason::MplsStackTooDeep);
        }
        let at = depth * ENTRY_LEN;
        let entry = Entry::new_checked(buf.get(at..).unwrap_or(&[]))?;
        depth += 1;
        if entry.bottom_of_stack() {
            return Ok(depth);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // label 0x12345, TC 5, S=1, TTL 64
    static ENTRY_BYTES: [u8; 6] = [0x12, 0x34, 0x5b, 0x40, 0x45, 0x00];

    #[test]
    fn deconstruct() {
        let e = Entry::new_checked(&ENTRY_BYTES[..]).unwrap();
        assert_eq!(e.raw(), 0x12345b40);
        assert_eq!(e.label(), 0x12345);
        assert_eq!(e.tc(), 5);
        assert!(e.bottom_of_stack());
        assert_eq!(e.ttl(), 64);
        assert_eq!(e.payload(), &[0x45, 0x00]);
        assert_eq!(
            Repr::parse(&e),
            Ok(Repr {
                label: 0x12345,
                tc: 5,
                bottom_of_stack: true,
                ttl: 64
            })
        );
    }

    #[test]
    fn construct() {
        let mut bytes = [0xffu8; 6];
        let mut e = Entry::new_unchecked(&mut bytes[..]);
        e.set_label(0x12345);
        e.set_tc(5);
        e.set_bottom_of_stack(false);
        e.set_bottom_of_stack(true);
        e.set_ttl(64);
        e.payload_mut().copy_from_slice(&[0x45, 0x00]);
        assert_eq!(bytes, ENTRY_BYTES);
    }

    #[test]
    fn repr_emit() {
        let repr = Repr {
            label: 0x12345,
            tc: 5,
            bottom_of_stack: true,
            ttl: 64,
        };
        let mut bytes = [0u8; 4];
        repr.emit(&mut Entry::new_unchecked(&mut bytes[..]));
        assert_eq!(&bytes[..], &ENTRY_BYTES[..4]);
        assert_eq!(repr.to_raw(), 0x12345b40);
        assert_eq!(repr.buffer_len(), 4);
    }

    #[test]
    fn too_short() {
        for n in 0..4 {
            assert_eq!(
                Entry::new_checked(&ENTRY_BYTES[..n]).err(),
                Some(DropReason::MplsTruncated)
            );
        }
    }

    #[test]
    fn stack_depth_walk() {
        let stack = [
            0x00, 0x01, 0x00, 0x40, // label 16, S=0
            0x00, 0x01, 0x10, 0x40, // label 17, S=0
            0x00, 0x01, 0x21, 0x40, // label 18, S=1
            0x45, 0x00,
        ];
        assert_eq!(stack_depth(&stack, 8), Ok(3));
        assert_eq!(stack_depth(&stack, 3), Ok(3));
        assert_eq!(stack_depth(&stack, 2), Err(DropReason::MplsStackTooDeep));
        for n in 0..12 {
            assert_eq!(
                stack_depth(&stack[..n], 8),
                Err(DropReason::MplsTruncated),
                "{n}"
            );
        }
        assert_eq!(
            stack_depth(&[0u8; 40], 8),
            Err(DropReason::MplsStackTooDeep)
        );
        assert_eq!(stack_depth(&[0u8; 10], 8), Err(DropReason::MplsTruncated));
    }
}
