//! The payload signature every generated packet carries right after its headers, and how
//! the receive side finds it again.
//!
//! Two forms, told apart by their magic (all fields big-endian):
//!
//! ```text
//! full, 24 bytes:   magic 0x53524746 "SRGF" | stream u32 | sequence u64 | TX TSC u64
//! short, 18 bytes:  magic 0x53524753 "SRGS" | stream u16 | sequence u32 | TX TSC u64
//! ```
//!
//! The full form is written whenever the frame has room for it; the short one only where
//! it does not (64-byte IPv4/UDP frames leave 18 bytes after the headers). The receiver
//! extends a short sequence number to 64 bits against the highest one it has seen on that
//! stream (as RTP does), so both forms count the same way.
//!
//! Finding it: the device under test may change the headers in front (an MPLS swap keeps
//! their length, a pop or an SRoU decapsulation does not), but never the payload. The
//! receiver tries the offset the sender used and the same distance from the frame's end,
//! then scans the frame for a magic; a hit counts only if its stream id is one that was
//! sent (or the malformed stream).

/// Length of the full form.
pub const FULL_LEN: usize = 24;
/// Length of the short form.
pub const SHORT_LEN: usize = 18;
/// Magic of the full form.
pub const MAGIC_FULL: u32 = 0x5352_4746;
/// Magic of the short form.
pub const MAGIC_SHORT: u32 = 0x5352_4753;
/// Number of streams (flows) the short form can name; the last id is the malformed
/// stream.
pub const MAX_STREAMS: u32 = 65_535;
/// Stream id carried by malformed packets (both forms read it back as this).
pub const MALFORMED: u32 = u32::MAX;

/// Which form a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// 24 bytes, 64-bit sequence.
    Full,
    /// 18 bytes, 32-bit sequence.
    Short,
}

impl Form {
    /// Bytes on the wire.
    pub const fn wire_len(self) -> usize {
        match self {
            Form::Full => FULL_LEN,
            Form::Short => SHORT_LEN,
        }
    }

    /// The form for a payload of `room` bytes, if any fits.
    pub const fn for_room(room: usize) -> Option<Form> {
        if room >= FULL_LEN {
            Some(Form::Full)
        } else if room >= SHORT_LEN {
            Some(Form::Short)
        } else {
            None
        }
    }

    /// Offset of the TSC field within the signature.
    pub const fn tsc_offset(self) -> usize {
        match self {
            Form::Full => 16,
            Form::Short => 10,
        }
    }
}

/// Writes a signature at the start of `buf` (which must hold `form.wire_len()` bytes).
#[inline]
pub fn write(buf: &mut [u8], form: Form, stream: u32, seq: u64, tsc: u64) {
    // One bounds check per form, then fixed-size stores.
    match form {
        Form::Full => {
            let b: &mut [u8; FULL_LEN] = (&mut buf[..FULL_LEN]).try_into().expect("FULL_LEN bytes");
            b[0..4].copy_from_slice(&MAGIC_FULL.to_be_bytes());
            b[4..8].copy_from_slice(&stream.to_be_bytes());
            b[8..16].copy_from_slice(&seq.to_be_bytes());
            b[16..24].copy_from_slice(&tsc.to_be_bytes());
        }
        Form::Short => {
            let b: &mut [u8; SHORT_LEN] =
                (&mut buf[..SHORT_LEN]).try_into().expect("SHORT_LEN bytes");
            b[0..4].copy_from_slice(&MAGIC_SHORT.to_be_bytes());
            let s = if stream == MALFORMED {
                u16::MAX
            } else {
                stream as u16
            };
            b[4..6].copy_from_slice(&s.to_be_bytes());
            b[6..10].copy_from_slice(&(seq as u32).to_be_bytes());
            b[10..18].copy_from_slice(&tsc.to_be_bytes());
        }
    }
}

/// Overwrites the sequence number and the TSC of a signature written at the start of
/// `buf` (the magic and the stream stay).
#[inline]
pub fn write_seq_tsc(buf: &mut [u8], form: Form, seq: u64, tsc: u64) {
    match form {
        Form::Full => {
            let b: &mut [u8; 16] = (&mut buf[8..FULL_LEN]).try_into().expect("16 bytes");
            b[..8].copy_from_slice(&seq.to_be_bytes());
            b[8..].copy_from_slice(&tsc.to_be_bytes());
        }
        Form::Short => {
            let b: &mut [u8; 12] = (&mut buf[6..SHORT_LEN]).try_into().expect("12 bytes");
            b[..4].copy_from_slice(&(seq as u32).to_be_bytes());
            b[4..].copy_from_slice(&tsc.to_be_bytes());
        }
    }
}

/// Overwrites only the TSC of a signature written at the start of `buf`.
#[inline]
pub fn write_tsc(buf: &mut [u8], form: Form, tsc: u64) {
    let o = form.tsc_offset();
    buf[o..o + 8].copy_from_slice(&tsc.to_be_bytes());
}

/// A signature read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    /// Stream id ([`MALFORMED`] for malformed packets).
    pub stream: u32,
    /// Sequence number: 64 bits (full form) or the low 32 bits (short form).
    pub seq: u64,
    /// True for the short form (`seq` must be extended).
    pub short: bool,
    /// The sender's TSC.
    pub tsc: u64,
    /// Where it was found.
    pub offset: usize,
}

#[inline]
fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

#[inline]
fn be64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_be_bytes(a)
}

/// Reads a signature at `off` if one is there and names a stream below `streams` (or the
/// malformed stream).
#[inline]
pub fn read_at(frame: &[u8], off: usize, streams: u32) -> Option<Found> {
    let b = frame.get(off..)?;
    if b.len() < SHORT_LEN {
        return None;
    }
    let (stream, seq, short, tsc) = match be32(b) {
        MAGIC_FULL if b.len() >= FULL_LEN => (be32(&b[4..]), be64(&b[8..]), false, be64(&b[16..])),
        MAGIC_SHORT => {
            let s = u16::from_be_bytes([b[4], b[5]]);
            let s = if s == u16::MAX {
                MALFORMED
            } else {
                u32::from(s)
            };
            (s, u64::from(be32(&b[6..])), true, be64(&b[10..]))
        }
        _ => return None,
    };
    if stream >= streams && stream != MALFORMED {
        return None;
    }
    Some(Found {
        stream,
        seq,
        short,
        tsc,
        offset: off,
    })
}

/// Finds the signature in `frame`: first at `tx_offset` (where the sender put it), then
/// at the same distance `from_end` from the end of the frame, then by scanning.
#[inline]
pub fn find(frame: &[u8], tx_offset: usize, from_end: usize, streams: u32) -> Option<Found> {
    if let Some(f) = read_at(frame, tx_offset, streams) {
        return Some(f);
    }
    if let Some(off) = frame.len().checked_sub(from_end) {
        if off != tx_offset {
            if let Some(f) = read_at(frame, off, streams) {
                return Some(f);
            }
        }
    }
    let full = MAGIC_FULL.to_be_bytes();
    let short = MAGIC_SHORT.to_be_bytes();
    let last = frame.len().checked_sub(SHORT_LEN)?;
    (0..=last).find_map(|off| {
        let w = &frame[off..off + 4];
        if w == full || w == short {
            read_at(frame, off, streams)
        } else {
            None
        }
    })
}

/// Extends a 32-bit sequence number to the 64-bit one closest to `reference` (the
/// highest seen on the stream).
#[inline]
pub fn extend_seq(low: u32, reference: u64) -> u64 {
    let base = reference & !0xffff_ffff;
    let cand = base | u64::from(low);
    // Pick among cand - 2^32, cand, cand + 2^32 the one nearest reference.
    let up = cand.wrapping_add(1 << 32);
    let down = cand.wrapping_sub(1 << 32);
    let dist = |x: u64| x.abs_diff(reference);
    let mut best = cand;
    if cand >= (1 << 32) && dist(down) < dist(best) {
        best = down;
    }
    if up > cand && dist(up) < dist(best) {
        best = up;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_round_trip() {
        let mut b = [0u8; 40];
        write(&mut b[5..], Form::Full, 7, 0x1_0000_0002, 99);
        write_tsc(&mut b[5..], Form::Full, 1234);
        assert_eq!(
            read_at(&b, 5, 8),
            Some(Found {
                stream: 7,
                seq: 0x1_0000_0002,
                short: false,
                tsc: 1234,
                offset: 5
            })
        );
        assert_eq!(read_at(&b, 5, 7), None, "stream beyond the streams sent");
        let mut s = [0u8; 18];
        write(&mut s, Form::Short, MALFORMED, 0x1_0000_0002, 5);
        let f = read_at(&s, 0, 1).expect("short form");
        assert_eq!((f.stream, f.seq, f.short, f.tsc), (MALFORMED, 2, true, 5));
        assert_eq!(Form::for_room(17), None);
        assert_eq!(Form::for_room(18), Some(Form::Short));
        assert_eq!(Form::for_room(24), Some(Form::Full));
    }

    #[test]
    fn seq_and_tsc_overwrite_leaves_the_head() {
        for form in [Form::Full, Form::Short] {
            let mut a = [0u8; 24];
            write(&mut a, form, 3, 1, 2);
            write_seq_tsc(&mut a, form, 0x5_0000_0007, 99);
            let mut b = [0u8; 24];
            write(&mut b, form, 3, 0x5_0000_0007, 99);
            assert_eq!(a, b, "{form:?}");
        }
    }

    #[test]
    fn find_tries_hints_then_scans() {
        let mut frame = vec![0u8; 100];
        write(&mut frame[42..], Form::Full, 1, 10, 20);
        let f = find(&frame, 42, 58, 2).expect("at the TX offset");
        assert_eq!(f.offset, 42);
        // Four bytes popped in front (an MPLS label): found from the end.
        let popped = &frame[4..];
        assert_eq!(find(popped, 42, 58, 2).map(|f| f.offset), Some(38));
        // Eight bytes pushed and 3 bytes of padding at the end: found by scanning.
        let mut pushed = vec![0u8; 8];
        pushed.extend_from_slice(&frame);
        pushed.extend_from_slice(&[0, 0, 0]);
        assert_eq!(find(&pushed, 42, 58, 2).map(|f| f.offset), Some(50));
        assert_eq!(find(&[0u8; 60], 42, 18, 2), None);
    }

    #[test]
    fn short_sequences_extend_to_the_nearest() {
        assert_eq!(extend_seq(5, 0), 5);
        assert_eq!(extend_seq(5, 3), 5);
        assert_eq!(extend_seq(0xffff_fff0, 0x1_0000_0005), 0xffff_fff0);
        assert_eq!(extend_seq(3, 0xffff_fff0), 0x1_0000_0003);
        assert_eq!(extend_seq(0xffff_ffff, 0), 0xffff_ffff);
    }
}
