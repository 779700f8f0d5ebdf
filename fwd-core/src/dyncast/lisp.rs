//! The LISP data-plane header (RFC 9300 §5.3), carried over UDP port 4341.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |N|L|E|V|I|R|K|K|            Nonce/Map-Version                  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                 Instance ID/Locator-Status-Bits               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! With the I flag the second word is a 24-bit Instance ID and 8 Locator-Status-Bits;
//! without it, 32 Locator-Status-Bits (meaningful only with the L flag).

use crate::drop::DropReason;

/// The UDP destination port of LISP data packets.
pub const DATA_PORT: u16 = 4341;
/// Length of the LISP header.
pub const HEADER_LEN: usize = 8;

/// Flag bits of the first byte.
pub mod flags {
    /// N: the nonce field is present.
    pub const NONCE: u8 = 0x80;
    /// L: the Locator-Status-Bits are in use.
    pub const LSB: u8 = 0x40;
    /// E: echo-nonce requested (with N).
    pub const ECHO_NONCE: u8 = 0x20;
    /// V: the field after the flags is a map version.
    pub const MAP_VERSION: u8 = 0x10;
    /// I: the second word holds an Instance ID.
    pub const INSTANCE_ID: u8 = 0x08;
}

/// Largest Instance ID (24 bits).
pub const MAX_INSTANCE_ID: u32 = (1 << 24) - 1;

/// A read/write view of a LISP data header.
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

    /// Wraps a buffer of at least [`HEADER_LEN`] bytes
    /// ([`DropReason::DyncastLispTruncated`] otherwise).
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Header<T>, DropReason> {
        if buffer.as_ref().len() < HEADER_LEN {
            return Err(DropReason::DyncastLispTruncated);
        }
        Ok(Header { buffer })
    }

    /// Unwraps the buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The flags byte.
    #[inline]
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[0]
    }

    /// The 24-bit nonce (or map version) field.
    #[inline]
    pub fn nonce(&self) -> u32 {
        let b = self.buffer.as_ref();
        u32::from_be_bytes([0, b[1], b[2], b[3]])
    }

    /// The Instance ID when the I flag is set.
    #[inline]
    pub fn instance_id(&self) -> Option<u32> {
        let b = self.buffer.as_ref();
        (self.flags() & flags::INSTANCE_ID != 0).then(|| u32::from_be_bytes([0, b[4], b[5], b[6]]))
    }

    /// The Locator-Status-Bits (8 with the I flag, else 32).
    #[inline]
    pub fn lsb(&self) -> u32 {
        let b = self.buffer.as_ref();
        if self.flags() & flags::INSTANCE_ID != 0 {
            u32::from(b[7])
        } else {
            u32::from_be_bytes([b[4], b[5], b[6], b[7]])
        }
    }

    /// What follows the header.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Header<T> {
    /// Sets the flags byte.
    #[inline]
    pub fn set_flags(&mut self, value: u8) {
        self.buffer.as_mut()[0] = value;
    }

    /// Sets the 24-bit nonce field (high byte of `value` ignored).
    #[inline]
    pub fn set_nonce(&mut self, value: u32) {
        self.buffer.as_mut()[1..4].copy_from_slice(&value.to_be_bytes()[1..]);
    }

    /// Sets the second word: the Instance ID and 8 LSBs when `iid` is given (and the I
    /// flag), else 32 LSBs (and the I flag cleared).
    #[inline]
    pub fn set_instance_id(&mut self, iid: Option<u32>, lsb: u32) {
        let f = self.flags();
        let b = self.buffer.as_mut();
        match iid {
            Some(id) => {
                b[0] = f | flags::INSTANCE_ID;
                b[4..8].copy_from_slice(&((id << 8) | (lsb & 0xff)).to_be_bytes());
            }
            None => {
                b[0] = f & !flags::INSTANCE_ID;
                b[4..8].copy_from_slice(&lsb.to_be_bytes());
            }
        }
    }
}

/// The fields srgate writes: no nonce, no LSBs, an optional Instance ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Repr {
    /// The Instance ID (24 bits), if any.
    pub instance_id: Option<u32>,
}

impl Repr {
    /// Reads the header (any flags accepted).
    pub fn parse<T: AsRef<[u8]>>(h: &Header<T>) -> Repr {
        Repr {
            instance_id: h.instance_id(),
        }
    }

    /// Writes it: flags I (with an Instance ID) or 0, nonce 0, LSBs 0.
    #[inline]
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, h: &mut Header<T>) {
        h.set_flags(0);
        h.set_nonce(0);
        h.set_instance_id(self.instance_id.map(|i| i & MAX_INSTANCE_ID), 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static WITH_IID: [u8; 10] = [0x88, 0x12, 0x34, 0x56, 0x00, 0x00, 0x2a, 0x05, 0x45, 0x00];

    #[test]
    fn deconstruct() {
        let h = Header::new_checked(&WITH_IID[..]).unwrap();
        assert_eq!(h.flags(), flags::NONCE | flags::INSTANCE_ID);
        assert_eq!(h.nonce(), 0x12_3456);
        assert_eq!(h.instance_id(), Some(42));
        assert_eq!(h.lsb(), 5);
        assert_eq!(h.payload(), &[0x45, 0x00]);
        let h = Header::new_checked(&[0x40u8, 0, 0, 0, 0, 0, 0, 3][..]).unwrap();
        assert_eq!(h.instance_id(), None);
        assert_eq!(h.lsb(), 3);
        assert_eq!(
            Header::new_checked(&WITH_IID[..7]).unwrap_err(),
            DropReason::DyncastLispTruncated
        );
    }

    #[test]
    fn construct_and_emit() {
        let mut b = [0xffu8; 8];
        let mut h = Header::new_unchecked(&mut b[..]);
        h.set_flags(flags::NONCE);
        h.set_nonce(0xab12_3456);
        h.set_instance_id(Some(42), 5);
        assert_eq!(b, WITH_IID[..8]);
        let mut b = [0xffu8; 8];
        Repr {
            instance_id: Some(0x0100_0007),
        }
        .emit(&mut Header::new_unchecked(&mut b[..]));
        assert_eq!(b, [0x08, 0, 0, 0, 0, 0, 7, 0]);
        assert_eq!(
            Repr::parse(&Header::new_unchecked(&b[..])),
            Repr {
                instance_id: Some(7)
            }
        );
        Repr::default().emit(&mut Header::new_unchecked(&mut b[..]));
        assert_eq!(b, [0; 8]);
        assert_eq!(Repr::parse(&Header::new_unchecked(&b[..])), Repr::default());
        let mut h = Header::new_unchecked(&mut b[..]);
        h.set_flags(flags::INSTANCE_ID | flags::LSB);
        h.set_instance_id(None, 0x0102_0304);
        assert_eq!(b, [0x40, 0, 0, 0, 1, 2, 3, 4]);
    }
}
