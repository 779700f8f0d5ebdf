//! STAMP test packets (RFC 8762, unauthenticated mode) and the NTP 64-bit timestamp.
//!
//! Session-Sender test packet (RFC 8762 §4.2.1), 44 bytes:
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                        Sequence Number                        |   0
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                          Timestamp                            |   4
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |         Error Estimate        |                               |  12
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//! |                         MBZ (30 octets)                       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Session-Reflector test packet (RFC 8762 §4.3.1), 44 bytes:
//!
//! ```text
//! |                        Sequence Number                        |   0
//! |                          Timestamp                            |   4
//! |         Error Estimate        |           MBZ                 |  12
//! |                        Receive Timestamp                      |  16
//! |                 Session-Sender Sequence Number                |  24
//! |                  Session-Sender Timestamp                     |  28
//! | Session-Sender Error Estimate |           MBZ                 |  36
//! |Ses-Sender TTL |                   MBZ                         |  40
//! ```
//!
//! A TWAMP-Light Session-Sender (RFC 5357 §4.1.2) sends only the first 14 bytes plus
//! padding of any length, so [`SenderPacket`] needs only [`SENDER_MIN_LEN`] bytes;
//! [`ReflectorPacket`] needs the full [`REFLECTOR_LEN`].
//!
//! Timestamps are NTP 64-bit ([`NtpTimestamp`], RFC 5905 §6): 32 bits of seconds since
//! 1900-01-01 and 32 bits of fraction. The Error Estimate is RFC 4656 §4.1.2's
//! ([`ErrorEstimate`]).

use core::time::Duration;

use crate::drop::DropReason;
use crate::wire::{read_u16, read_u32, write_u16, write_u32};

mod sender_field {
    use crate::wire::Field;

    pub const SEQ: Field = 0..4;
    pub const TIMESTAMP: Field = 4..12;
    pub const ERROR_ESTIMATE: Field = 12..14;
    pub const MBZ: Field = 14..44;
}

mod reflector_field {
    use crate::wire::Field;

    pub const SEQ: Field = 0..4;
    pub const TIMESTAMP: Field = 4..12;
    pub const ERROR_ESTIMATE: Field = 12..14;
    pub const MBZ1: Field = 14..16;
    pub const RX_TIMESTAMP: Field = 16..24;
    pub const SENDER_SEQ: Field = 24..28;
    pub const SENDER_TIMESTAMP: Field = 28..36;
    pub const SENDER_ERROR_ESTIMATE: Field = 36..38;
    pub const MBZ2: Field = 38..40;
    pub const SENDER_TTL: usize = 40;
    pub const MBZ3: Field = 41..44;
}

/// Bytes of a Session-Sender packet that carry information (sequence number, timestamp,
/// error estimate): the shortest test packet the reflector accepts.
pub const SENDER_MIN_LEN: usize = sender_field::ERROR_ESTIMATE.end;
/// Length of an unauthenticated STAMP Session-Sender packet (RFC 8762 §4.2.1).
pub const SENDER_LEN: usize = sender_field::MBZ.end;
/// Length of an unauthenticated STAMP Session-Reflector packet (RFC 8762 §4.3.1).
pub const REFLECTOR_LEN: usize = reflector_field::MBZ3.end;

/// Seconds from the NTP era 0 epoch (1900-01-01) to the UNIX epoch (1970-01-01).
pub const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// An NTP 64-bit timestamp (RFC 5905 §6): seconds since 1900-01-01 in the high 32 bits,
/// a binary fraction of a second in the low 32 bits.
///
/// Seconds wrap every 2^32 s (eras, RFC 5905): [`NtpTimestamp::to_unix`] reads a value
/// whose top bit is clear as era 1 (2036-02-07 to 2104), as RFC 4330 §3 recommends.
/// Ordering compares raw bits; use [`NtpTimestamp::not_before`] for wrap-safe ordering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct NtpTimestamp(pub u64);

impl NtpTimestamp {
    /// A timestamp from its seconds and fraction fields.
    #[inline]
    pub const fn from_parts(seconds: u32, fraction: u32) -> NtpTimestamp {
        NtpTimestamp(((seconds as u64) << 32) | fraction as u64)
    }

    /// The seconds field.
    #[inline]
    pub const fn seconds(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// The fraction field (units of 2^-32 s).
    #[inline]
    pub const fn fraction(self) -> u32 {
        self.0 as u32
    }

    /// The wall-clock time `since_unix_epoch` as an NTP timestamp; the fraction is
    /// truncated (a nanosecond maps to about 4.29 fraction units). Times after 2036-02-07
    /// wrap into era 1, as NTP does.
    #[inline]
    pub const fn from_unix(since_unix_epoch: Duration) -> NtpTimestamp {
        let seconds = since_unix_epoch.as_secs().wrapping_add(NTP_UNIX_OFFSET) as u32;
        let fraction = ((since_unix_epoch.subsec_nanos() as u64) << 32) / 1_000_000_000;
        NtpTimestamp::from_parts(seconds, fraction as u32)
    }

    /// The time since the UNIX epoch, rounded to the nearest nanosecond; `None` for times
    /// before 1970 (seconds in 2^31..2208988800: era 0 between 1968 and 1970). A value with
    /// the seconds' top bit clear is read as era 1 (RFC 4330 §3).
    #[inline]
    pub const fn to_unix(self) -> Option<Duration> {
        let mut secs = self.seconds() as u64;
        if secs & 0x8000_0000 == 0 {
            secs += 1 << 32;
        }
        if secs < NTP_UNIX_OFFSET {
            return None;
        }
        let nanos = ((self.fraction() as u64) * 1_000_000_000 + (1 << 31)) >> 32;
        // `nanos` may round up to 1e9: carry it into the seconds.
        Some(Duration::new(
            secs - NTP_UNIX_OFFSET + nanos / 1_000_000_000,
            (nanos % 1_000_000_000) as u32,
        ))
    }

    /// `self`, or `earlier` if `self` is before it (wrap-safe: the two are taken to be
    /// less than 2^31 s, 68 years, apart). The reflector's transmit timestamp T3 is
    /// `tx.not_before(rx)`, so a clock step backwards never gives T3 < T2.
    #[inline]
    pub const fn not_before(self, earlier: NtpTimestamp) -> NtpTimestamp {
        if (self.0.wrapping_sub(earlier.0) as i64) < 0 {
            earlier
        } else {
            self
        }
    }

    /// `self - earlier` in 2^-32 s units, wrap-safe (negative if `self` is earlier).
    #[inline]
    pub const fn diff(self, earlier: NtpTimestamp) -> i64 {
        self.0.wrapping_sub(earlier.0) as i64
    }
}

/// The Error Estimate field (RFC 4656 §4.1.2, used by RFC 8762):
/// `S | Z | Scale (6 bits) | Multiplier (8 bits)`. S: the clock is synchronized to UTC;
/// Z: timestamps are PTP (1) rather than NTP (0); the error is
/// `Multiplier × 2^(Scale − 32)` seconds. The multiplier must not be 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ErrorEstimate(pub u16);

impl ErrorEstimate {
    const S: u16 = 0x8000;
    const Z: u16 = 0x4000;

    /// An estimate for NTP-format timestamps (Z = 0); `scale` is taken modulo 64.
    #[inline]
    pub const fn new(synchronized: bool, scale: u8, multiplier: u8) -> ErrorEstimate {
        let s = if synchronized { Self::S } else { 0 };
        ErrorEstimate(s | (((scale & 0x3f) as u16) << 8) | multiplier as u16)
    }

    /// S: the clock is synchronized to an external source (UTC).
    #[inline]
    pub const fn synchronized(self) -> bool {
        self.0 & Self::S != 0
    }

    /// Z: the timestamps are in PTP (true) rather than NTP (false) format.
    #[inline]
    pub const fn ptp_format(self) -> bool {
        self.0 & Self::Z != 0
    }

    /// Scale (6 bits).
    #[inline]
    pub const fn scale(self) -> u8 {
        ((self.0 >> 8) & 0x3f) as u8
    }

    /// Multiplier.
    #[inline]
    pub const fn multiplier(self) -> u8 {
        self.0 as u8
    }
}

/// A read/write view of a STAMP Session-Sender test packet (the UDP payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> SenderPacket<T> {
    /// Wraps a buffer without checking its length (getters may then panic).
    #[inline]
    pub const fn new_unchecked(buffer: T) -> SenderPacket<T> {
        SenderPacket { buffer }
    }

    /// Wraps a buffer after [`SenderPacket::check_len`].
    #[inline]
    pub fn new_checked(buffer: T) -> Result<SenderPacket<T>, DropReason> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Errors with [`DropReason::StampTooShort`] if the buffer is shorter than
    /// [`SENDER_MIN_LEN`] (shorter than RFC 8762's 44 bytes is accepted: TWAMP Light).
    #[inline]
    pub fn check_len(&self) -> Result<(), DropReason> {
        if self.buffer.as_ref().len() < SENDER_MIN_LEN {
            Err(DropReason::StampTooShort)
        } else {
            Ok(())
        }
    }

    /// Unwraps the buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Sequence Number.
    #[inline]
    pub fn seq(&self) -> u32 {
        read_u32(&self.buffer.as_ref()[sender_field::SEQ])
    }

    /// Timestamp (T1, when the sender sent the packet).
    #[inline]
    pub fn timestamp(&self) -> NtpTimestamp {
        NtpTimestamp(read_u64(&self.buffer.as_ref()[sender_field::TIMESTAMP]))
    }

    /// Error Estimate of the sender's clock.
    #[inline]
    pub fn error_estimate(&self) -> ErrorEstimate {
        ErrorEstimate(read_u16(
            &self.buffer.as_ref()[sender_field::ERROR_ESTIMATE],
        ))
    }

    /// The MBZ bytes present (from byte 14 up to byte 44 or the end of the buffer).
    #[inline]
    pub fn mbz(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        &b[sender_field::MBZ.start..b.len().min(sender_field::MBZ.end)]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> SenderPacket<T> {
    /// Sets the Sequence Number.
    #[inline]
    pub fn set_seq(&mut self, value: u32) {
        write_u32(&mut self.buffer.as_mut()[sender_field::SEQ], value);
    }

    /// Sets the Timestamp.
    #[inline]
    pub fn set_timestamp(&mut self, value: NtpTimestamp) {
        write_u64(&mut self.buffer.as_mut()[sender_field::TIMESTAMP], value.0);
    }

    /// Sets the Error Estimate.
    #[inline]
    pub fn set_error_estimate(&mut self, value: ErrorEstimate) {
        write_u16(
            &mut self.buffer.as_mut()[sender_field::ERROR_ESTIMATE],
            value.0,
        );
    }

    /// Zeroes the MBZ bytes present.
    #[inline]
    pub fn clear_mbz(&mut self) {
        let b = self.buffer.as_mut();
        let end = b.len().min(sender_field::MBZ.end);
        b[sender_field::MBZ.start..end].fill(0);
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for SenderPacket<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// The fields of a Session-Sender packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SenderRepr {
    /// Sequence Number.
    pub seq: u32,
    /// Timestamp (T1).
    pub timestamp: NtpTimestamp,
    /// Error Estimate.
    pub error_estimate: ErrorEstimate,
}

impl SenderRepr {
    /// Reads the fields ([`DropReason::StampTooShort`] below [`SENDER_MIN_LEN`] bytes).
    /// The MBZ bytes are not checked (RFC 8762: ignored on receipt).
    pub fn parse<T: AsRef<[u8]>>(packet: &SenderPacket<T>) -> Result<SenderRepr, DropReason> {
        packet.check_len()?;
        Ok(SenderRepr {
            seq: packet.seq(),
            timestamp: packet.timestamp(),
            error_estimate: packet.error_estimate(),
        })
    }

    /// Length of the emitted packet.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        SENDER_LEN
    }

    /// Writes the fields and zeroes the MBZ bytes; `packet` must hold at least
    /// [`SENDER_MIN_LEN`] bytes ([`SENDER_LEN`] for an RFC 8762 packet).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut SenderPacket<T>) {
        packet.set_seq(self.seq);
        packet.set_timestamp(self.timestamp);
        packet.set_error_estimate(self.error_estimate);
        packet.clear_mbz();
    }
}

/// A read/write view of a STAMP Session-Reflector test packet (the UDP payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReflectorPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ReflectorPacket<T> {
    /// Wraps a buffer without checking its length (getters may then panic).
    #[inline]
    pub const fn new_unchecked(buffer: T) -> ReflectorPacket<T> {
        ReflectorPacket { buffer }
    }

    /// Wraps a buffer after [`ReflectorPacket::check_len`].
    #[inline]
    pub fn new_checked(buffer: T) -> Result<ReflectorPacket<T>, DropReason> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Errors with [`DropReason::StampTooShort`] if the buffer is shorter than
    /// [`REFLECTOR_LEN`].
    #[inline]
    pub fn check_len(&self) -> Result<(), DropReason> {
        if self.buffer.as_ref().len() < REFLECTOR_LEN {
            Err(DropReason::StampTooShort)
        } else {
            Ok(())
        }
    }

    /// Unwraps the buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Sequence Number (the reflector's; a stateless reflector copies the sender's).
    #[inline]
    pub fn seq(&self) -> u32 {
        read_u32(&self.buffer.as_ref()[reflector_field::SEQ])
    }

    /// Timestamp (T3, when the reflector sent the reply).
    #[inline]
    pub fn timestamp(&self) -> NtpTimestamp {
        NtpTimestamp(read_u64(&self.buffer.as_ref()[reflector_field::TIMESTAMP]))
    }

    /// Error Estimate of the reflector's clock.
    #[inline]
    pub fn error_estimate(&self) -> ErrorEstimate {
        ErrorEstimate(read_u16(
            &self.buffer.as_ref()[reflector_field::ERROR_ESTIMATE],
        ))
    }

    /// Receive Timestamp (T2, when the reflector received the test packet).
    #[inline]
    pub fn rx_timestamp(&self) -> NtpTimestamp {
        NtpTimestamp(read_u64(
            &self.buffer.as_ref()[reflector_field::RX_TIMESTAMP],
        ))
    }

    /// Session-Sender Sequence Number (copied from the test packet).
    #[inline]
    pub fn sender_seq(&self) -> u32 {
        read_u32(&self.buffer.as_ref()[reflector_field::SENDER_SEQ])
    }

    /// Session-Sender Timestamp (T1, copied from the test packet).
    #[inline]
    pub fn sender_timestamp(&self) -> NtpTimestamp {
        NtpTimestamp(read_u64(
            &self.buffer.as_ref()[reflector_field::SENDER_TIMESTAMP],
        ))
    }

    /// Session-Sender Error Estimate (copied from the test packet).
    #[inline]
    pub fn sender_error_estimate(&self) -> ErrorEstimate {
        ErrorEstimate(read_u16(
            &self.buffer.as_ref()[reflector_field::SENDER_ERROR_ESTIMATE],
        ))
    }

    /// Session-Sender TTL: the TTL / hop limit of the test packet as received.
    #[inline]
    pub fn sender_ttl(&self) -> u8 {
        self.buffer.as_ref()[reflector_field::SENDER_TTL]
    }

    /// True if every MBZ byte (14..16, 38..40, 41..44) is zero.
    #[inline]
    pub fn mbz_is_zero(&self) -> bool {
        let b = self.buffer.as_ref();
        [
            reflector_field::MBZ1,
            reflector_field::MBZ2,
            reflector_field::MBZ3,
        ]
        .into_iter()
        .all(|r| b[r].iter().all(|x| *x == 0))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ReflectorPacket<T> {
    /// Sets the Sequence Number.
    #[inline]
    pub fn set_seq(&mut self, value: u32) {
        write_u32(&mut self.buffer.as_mut()[reflector_field::SEQ], value);
    }

    /// Sets the Timestamp (T3).
    #[inline]
    pub fn set_timestamp(&mut self, value: NtpTimestamp) {
        write_u64(
            &mut self.buffer.as_mut()[reflector_field::TIMESTAMP],
            value.0,
        );
    }

    /// Sets the Error Estimate.
    #[inline]
    pub fn set_error_estimate(&mut self, value: ErrorEstimate) {
        write_u16(
            &mut self.buffer.as_mut()[reflector_field::ERROR_ESTIMATE],
            value.0,
        );
    }

    /// Sets the Receive Timestamp (T2).
    #[inline]
    pub fn set_rx_timestamp(&mut self, value: NtpTimestamp) {
        write_u64(
            &mut self.buffer.as_mut()[reflector_field::RX_TIMESTAMP],
            value.0,
        );
    }

    /// Sets the Session-Sender Sequence Number.
    #[inline]
    pub fn set_sender_seq(&mut self, value: u32) {
        write_u32(
            &mut self.buffer.as_mut()[reflector_field::SENDER_SEQ],
            value,
        );
    }

    /// Sets the Session-Sender Timestamp.
    #[inline]
    pub fn set_sender_timestamp(&mut self, value: NtpTimestamp) {
        write_u64(
            &mut self.buffer.as_mut()[reflector_field::SENDER_TIMESTAMP],
            value.0,
        );
    }

    /// Sets the Session-Sender Error Estimate.
    #[inline]
    pub fn set_sender_error_estimate(&mut self, value: ErrorEstimate) {
        write_u16(
            &mut self.buffer.as_mut()[reflector_field::SENDER_ERROR_ESTIMATE],
            value.0,
        );
    }

    /// Sets the Session-Sender TTL.
    #[inline]
    pub fn set_sender_ttl(&mut self, value: u8) {
        self.buffer.as_mut()[reflector_field::SENDER_TTL] = value;
    }

    /// Zeroes the MBZ bytes (14..16, 38..40, 41..44).
    #[inline]
    pub fn clear_mbz(&mut self) {
        let b = self.buffer.as_mut();
        b[reflector_field::MBZ1].fill(0);
        b[reflector_field::MBZ2].fill(0);
        b[reflector_field::MBZ3].fill(0);
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for ReflectorPacket<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// The fields of a Session-Reflector packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReflectorRepr {
    /// Sequence Number.
    pub seq: u32,
    /// Timestamp (T3).
    pub timestamp: NtpTimestamp,
    /// Error Estimate of the reflector.
    pub error_estimate: ErrorEstimate,
    /// Receive Timestamp (T2).
    pub rx_timestamp: NtpTimestamp,
    /// The test packet's fields, copied.
    pub sender: SenderRepr,
    /// TTL / hop limit of the test packet as received.
    pub sender_ttl: u8,
}

impl ReflectorRepr {
    /// Reads the fields ([`DropReason::StampTooShort`] below [`REFLECTOR_LEN`] bytes).
    /// The MBZ bytes are not checked.
    pub fn parse<T: AsRef<[u8]>>(packet: &ReflectorPacket<T>) -> Result<ReflectorRepr, DropReason> {
        packet.check_len()?;
        Ok(ReflectorRepr {
            seq: packet.seq(),
            timestamp: packet.timestamp(),
            error_estimate: packet.error_estimate(),
            rx_timestamp: packet.rx_timestamp(),
            sender: SenderRepr {
                seq: packet.sender_seq(),
                timestamp: packet.sender_timestamp(),
                error_estimate: packet.sender_error_estimate(),
            },
            sender_ttl: packet.sender_ttl(),
        })
    }

    /// Length of the emitted packet.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        REFLECTOR_LEN
    }

    /// Writes all 44 bytes (MBZ zeroed); `packet` must hold at least [`REFLECTOR_LEN`].
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut ReflectorPacket<T>) {
        packet.set_seq(self.seq);
        packet.set_timestamp(self.timestamp);
        packet.set_error_estimate(self.error_estimate);
        packet.set_rx_timestamp(self.rx_timestamp);
        packet.set_sender_seq(self.sender.seq);
        packet.set_sender_timestamp(self.sender.timestamp);
        packet.set_sender_error_estimate(self.sender.error_estimate);
        packet.set_sender_ttl(self.sender_ttl);
        packet.clear_mbz();
    }
}

#[inline]
fn read_u64(b: &[u8]) -> u64 {
    (u64::from(read_u32(b)) << 32) | u64::from(read_u32(&b[4..]))
}

#[inline]
fn write_u64(b: &mut [u8], v: u64) {
    b[..8].copy_from_slice(&v.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Session-Sender packet: seq 0x01020304, timestamp 0xe9b7_3a80.8000_0000
    /// (2024-04-03T02:16:32.5Z), error estimate S=1 scale 1 multiplier 2 (0x8102).
    static SENDER_BYTES: [u8; 44] = [
        0x01, 0x02, 0x03, 0x04, // seq
        0xe9, 0xb7, 0x3a, 0x80, 0x80, 0x00, 0x00, 0x00, // timestamp
        0x81, 0x02, // error estimate
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // MBZ
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, //
    ];

    /// Session-Reflector packet answering it.
    static REFLECTOR_BYTES: [u8; 44] = [
        0x01, 0x02, 0x03, 0x04, // seq
        0xe9, 0xb7, 0x3a, 0x81, 0x00, 0x00, 0x10, 0x00, // timestamp T3
        0x00, 0x01, // error estimate
        0x00, 0x00, // MBZ
        0xe9, 0xb7, 0x3a, 0x81, 0x00, 0x00, 0x00, 0x01, // receive timestamp T2
        0x01, 0x02, 0x03, 0x04, // sender seq
        0xe9, 0xb7, 0x3a, 0x80, 0x80, 0x00, 0x00, 0x00, // sender timestamp
        0x81, 0x02, // sender error estimate
        0x00, 0x00, // MBZ
        0x3d, // sender TTL 61
        0x00, 0x00, 0x00, // MBZ
    ];

    fn sender_repr() -> SenderRepr {
        SenderRepr {
            seq: 0x0102_0304,
            timestamp: NtpTimestamp::from_parts(0xe9b7_3a80, 0x8000_0000),
            error_estimate: ErrorEstimate::new(true, 1, 2),
        }
    }

    fn reflector_repr() -> ReflectorRepr {
        ReflectorRepr {
            seq: 0x0102_0304,
            timestamp: NtpTimestamp::from_parts(0xe9b7_3a81, 0x1000),
            error_estimate: ErrorEstimate::new(false, 0, 1),
            rx_timestamp: NtpTimestamp::from_parts(0xe9b7_3a81, 1),
            sender: sender_repr(),
            sender_ttl: 61,
        }
    }

    #[test]
    fn sender_deconstruct() {
        let p = SenderPacket::new_checked(&SENDER_BYTES[..]).unwrap();
        assert_eq!(p.seq(), 0x0102_0304);
        assert_eq!(p.timestamp(), NtpTimestamp(0xe9b7_3a80_8000_0000));
        assert_eq!(p.timestamp().seconds(), 0xe9b7_3a80);
        assert_eq!(p.timestamp().fraction(), 0x8000_0000);
        let e = p.error_estimate();
        assert_eq!(e, ErrorEstimate(0x8102));
        assert!(e.synchronized());
        assert!(!e.ptp_format());
        assert_eq!(e.scale(), 1);
        assert_eq!(e.multiplier(), 2);
        assert_eq!(p.mbz(), &[0u8; 30]);
        assert_eq!(SenderRepr::parse(&p), Ok(sender_repr()));
    }

    #[test]
    fn sender_construct() {
        let mut bytes = [0xa5u8; 44];
        let mut p = SenderPacket::new_unchecked(&mut bytes[..]);
        p.set_seq(0x0102_0304);
        p.set_timestamp(NtpTimestamp::from_parts(0xe9b7_3a80, 0x8000_0000));
        p.set_error_estimate(ErrorEstimate(0x8102));
        p.clear_mbz();
        assert_eq!(bytes, SENDER_BYTES);
        let mut bytes = [0xa5u8; 44];
        sender_repr().emit(&mut SenderPacket::new_unchecked(&mut bytes[..]));
        assert_eq!(bytes, SENDER_BYTES);
        assert_eq!(sender_repr().buffer_len(), 44);
    }

    #[test]
    fn sender_twamp_light_short_and_too_short() {
        // TWAMP Light: 14 bytes of fields and 27 of padding are fine.
        let p = SenderPacket::new_checked(&SENDER_BYTES[..41]).unwrap();
        assert_eq!(p.mbz().len(), 27);
        let p = SenderPacket::new_checked(&SENDER_BYTES[..14]).unwrap();
        assert_eq!(p.mbz(), &[]);
        assert_eq!(SenderRepr::parse(&p), Ok(sender_repr()));
        for n in 0..14 {
            assert_eq!(
                SenderPacket::new_checked(&SENDER_BYTES[..n]).err(),
                Some(DropReason::StampTooShort),
                "{n}"
            );
        }
        // Longer packets (padding, RFC 8972 TLVs): the MBZ view stops at byte 44.
        let mut long = [0xffu8; 60];
        let mut p = SenderPacket::new_unchecked(&mut long[..]);
        p.clear_mbz();
        assert_eq!(p.mbz(), &[0u8; 30]);
        assert!(long[44..].iter().all(|b| *b == 0xff));
    }

    #[test]
    fn reflector_deconstruct() {
        let p = ReflectorPacket::new_checked(&REFLECTOR_BYTES[..]).unwrap();
        assert_eq!(p.seq(), 0x0102_0304);
        assert_eq!(p.timestamp(), NtpTimestamp::from_parts(0xe9b7_3a81, 0x1000));
        assert_eq!(p.error_estimate(), ErrorEstimate(0x0001));
        assert_eq!(p.rx_timestamp(), NtpTimestamp::from_parts(0xe9b7_3a81, 1));
        assert_eq!(p.sender_seq(), 0x0102_0304);
        assert_eq!(
            p.sender_timestamp(),
            NtpTimestamp::from_parts(0xe9b7_3a80, 0x8000_0000)
        );
        assert_eq!(p.sender_error_estimate(), ErrorEstimate(0x8102));
        assert_eq!(p.sender_ttl(), 61);
        assert!(p.mbz_is_zero());
        assert_eq!(ReflectorRepr::parse(&p), Ok(reflector_repr()));
    }

    #[test]
    fn reflector_construct() {
        let mut bytes = [0xa5u8; 44];
        let mut p = ReflectorPacket::new_unchecked(&mut bytes[..]);
        assert!(!p.mbz_is_zero());
        p.set_seq(0x0102_0304);
        p.set_timestamp(NtpTimestamp::from_parts(0xe9b7_3a81, 0x1000));
        p.set_error_estimate(ErrorEstimate(1));
        p.set_rx_timestamp(NtpTimestamp::from_parts(0xe9b7_3a81, 1));
        p.set_sender_seq(0x0102_0304);
        p.set_sender_timestamp(NtpTimestamp(0xe9b7_3a80_8000_0000));
        p.set_sender_error_estimate(ErrorEstimate(0x8102));
        p.set_sender_ttl(61);
        p.clear_mbz();
        assert_eq!(bytes, REFLECTOR_BYTES);
        let mut bytes = [0x5au8; 44];
        reflector_repr().emit(&mut ReflectorPacket::new_unchecked(&mut bytes[..]));
        assert_eq!(bytes, REFLECTOR_BYTES);
        assert_eq!(reflector_repr().buffer_len(), 44);
    }

    #[test]
    fn reflector_too_short() {
        for n in 0..44 {
            assert_eq!(
                ReflectorPacket::new_checked(&REFLECTOR_BYTES[..n]).err(),
                Some(DropReason::StampTooShort)
            );
        }
    }

    #[test]
    fn error_estimate_fields() {
        let e = ErrorEstimate::new(false, 0x3f, 0xff);
        assert_eq!(e.0, 0x3fff);
        assert!(!e.synchronized());
        assert_eq!(e.scale(), 63);
        assert_eq!(e.multiplier(), 255);
        assert_eq!(
            ErrorEstimate::new(true, 0x40, 1).0,
            0x8001,
            "scale is 6 bits"
        );
        assert!(ErrorEstimate(0x4000).ptp_format());
    }

    #[test]
    fn ntp_known_values() {
        // The UNIX epoch is NTP 2208988800 = 0x83aa7e80.
        let t = NtpTimestamp::from_unix(Duration::ZERO);
        assert_eq!(t, NtpTimestamp::from_parts(0x83aa_7e80, 0));
        assert_eq!(t.to_unix(), Some(Duration::ZERO));
        // Half a second is fraction 2^31.
        let t = NtpTimestamp::from_unix(Duration::new(1_712_110_592, 500_000_000));
        assert_eq!(t, NtpTimestamp::from_parts(0xe9b7_3a80, 0x8000_0000));
        assert_eq!(t.to_unix(), Some(Duration::new(1_712_110_592, 500_000_000)));
        // One nanosecond truncates to 4 fraction units.
        assert_eq!(
            NtpTimestamp::from_unix(Duration::from_nanos(1)).fraction(),
            4
        );
        // Era 1 starts 2036-02-07T06:28:16Z: UNIX 2085978496 is NTP seconds 0.
        let era1 = Duration::from_secs((1u64 << 32) - NTP_UNIX_OFFSET);
        assert_eq!(era1.as_secs(), 2_085_978_496);
        let t = NtpTimestamp::from_unix(era1);
        assert_eq!(t, NtpTimestamp(0));
        assert_eq!(t.to_unix(), Some(era1));
        // Era 0 before 1970 has no UNIX time.
        assert_eq!(NtpTimestamp::from_parts(0x8000_0000, 0).to_unix(), None);
        assert_eq!(NtpTimestamp::from_parts(0x83aa_7e7f, 0).to_unix(), None);
        // A fraction that rounds up to a whole second carries.
        assert_eq!(
            NtpTimestamp::from_parts(0x83aa_7e80, u32::MAX).to_unix(),
            Some(Duration::from_secs(1))
        );
    }

    #[test]
    fn ntp_ordering_is_wrap_safe() {
        let a = NtpTimestamp::from_parts(0xffff_ffff, 0xf000_0000);
        let b = NtpTimestamp::from_parts(0, 0x1000_0000); // after a, in the next era
        assert_eq!(b.not_before(a), b);
        assert_eq!(a.not_before(b), b);
        assert_eq!(a.not_before(a), a);
        assert_eq!(b.diff(a), 0x2000_0000);
        assert_eq!(a.diff(b), -0x2000_0000);
    }

    proptest! {
        #[test]
        fn ntp_unix_round_trip(secs in 0u64..(1u64 << 32) * 2 - NTP_UNIX_OFFSET - (1 << 31),
                               nanos in 0u32..1_000_000_000) {
            // Every time from 1970 to the end of era 1's first half round-trips exactly.
            let d = Duration::new(secs, nanos);
            prop_assert_eq!(NtpTimestamp::from_unix(d).to_unix(), Some(d));
        }

        #[test]
        fn ntp_fraction_error_is_below_a_nanosecond(frac in any::<u32>()) {
            let t = NtpTimestamp::from_parts(0x83aa_7e80, frac);
            let d = t.to_unix().unwrap();
            let back = NtpTimestamp::from_unix(d);
            // One nanosecond is about 4.29 fraction units.
            prop_assert!((i64::from(back.fraction()) - i64::from(frac)).abs() <= 5
                || back.seconds() != t.seconds());
        }

        #[test]
        fn views_never_panic_after_check(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(p) = SenderPacket::new_checked(&bytes[..]) {
                let _ = SenderRepr::parse(&p);
                let _ = p.mbz();
            }
            if let Ok(p) = ReflectorPacket::new_checked(&bytes[..]) {
                let r = ReflectorRepr::parse(&p).unwrap();
                let mut out = [0u8; 44];
                r.emit(&mut ReflectorPacket::new_unchecked(&mut out[..]));
                let again = ReflectorRepr::parse(&ReflectorPacket::new_unchecked(&out[..]));
                prop_assert_eq!(again, Ok(r));
            }
        }
    }
}
