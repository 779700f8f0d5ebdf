//! Incremental Internet-checksum updates over several changed fields (RFC 1624, eqn. 3),
//! at any byte alignment.

use crate::wire::checksum;

/// The one's-complement sums of the old and new contents of every changed field.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Delta {
    old: u16,
    new: u16,
}

/// The sum of `bytes` placed at an odd (`odd`) or even offset of the covered data: at an
/// odd offset every byte sits in the other half of its word, which byte-swaps the sum.
#[inline]
fn placed_sum(bytes: &[u8], odd: bool) -> u16 {
    let s = checksum::sum(bytes);
    if odd {
        s.swap_bytes()
    } else {
        s
    }
}

impl Delta {
    /// Records that the field at `offset` (from the start of the covered data) changes
    /// from `old` to `new` (same length).
    #[inline]
    pub(crate) fn bytes(&mut self, offset: usize, old: &[u8], new: &[u8]) {
        let odd = offset % 2 == 1;
        self.old = checksum::add(self.old, placed_sum(old, odd));
        self.new = checksum::add(self.new, placed_sum(new, odd));
    }

    /// Records an aligned 16-bit word changing from `old` to `new`.
    #[inline]
    pub(crate) fn word(&mut self, old: u16, new: u16) {
        self.old = checksum::add(self.old, old);
        self.new = checksum::add(self.new, new);
    }

    /// The checksum after the recorded changes: `~(~HC + ~old + new)`.
    #[inline]
    pub(crate) fn apply(&self, csum: u16) -> u16 {
        !checksum::add(checksum::add(!csum, !self.old), self.new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn matches_recompute_at_any_alignment(
            mut data in proptest::collection::vec(any::<u8>(), 8..64),
            changes in proptest::collection::vec((0usize..64, proptest::collection::vec(any::<u8>(), 1..5)), 1..4),
        ) {
            // Bytes 0..2 hold the checksum; fields never overlap it or each other here.
            data[0] = 0;
            data[1] = 0;
            data[2] |= 1; // never all-zero data
            let c = checksum::checksum(&data);
            data[0..2].copy_from_slice(&c.to_be_bytes());
            let mut delta = Delta::default();
            let mut used = vec![false; data.len()];
            used[0] = true;
            used[1] = true;
            for (at, new) in changes {
                let at = at % data.len();
                let end = (at + new.len()).min(data.len());
                if used[at..end].iter().any(|u| *u) {
                    continue;
                }
                let new = &new[..end - at];
                let old = data[at..end].to_vec();
                delta.bytes(at, &old, new);
                data[at..end].copy_from_slice(new);
                used[at..end].iter_mut().for_each(|u| *u = true);
            }
            let updated = delta.apply(u16::from_be_bytes([data[0], data[1]]));
            data[0..2].copy_from_slice(&updated.to_be_bytes());
            let verify = checksum::checksum(&data);
            prop_assert!(verify == 0 || verify == 0xffff, "verify {:#x}", verify);
        }
    }

    #[test]
    fn word_update() {
        let mut d = Delta::default();
        d.word(0x4011, 0x3f11);
        let hdr = [
            0x45u8, 0, 0, 0x73, 0, 0, 0x40, 0, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8, 0, 1, 0xc0,
            0xa8, 0, 0xc7,
        ];
        let mut h = hdr;
        h[8] = 0x3f;
        let c = d.apply(0xb861);
        h[10..12].copy_from_slice(&c.to_be_bytes());
        assert_eq!(checksum::checksum(&h), 0);
    }
}
