//! [`ExactMap`]: a frozen open-addressing hash table with inline keys, for the per-packet
//! exact-match lookups of the service FIBs (service ID → entry) and of the dyncast map
//! cache (DSEID → RLOC set).
//!
//! # Why this layout (and not a `HashMap`, a trie or a cuckoo table like `rte_hash`)
//!
//! - **Inline keys, one array.** Each slot holds the key and a `u32` value side by side
//!   (8 bytes for a 32-bit service ID, 20 bytes for a 128-bit address), so a hit reads one
//!   cache line and compares the key in place. `rte_hash` reads a bucket of signatures,
//!   then follows a key index into a separate key store (two to three lines per lookup) to
//!   support deletes and concurrent writers, which a frozen table does not need.
//! - **Frozen.** Tables are built once by the control side and published RCU-style
//!   ([`crate::rcu`]): no deletes, hence no tombstones; no writers, hence no locks, no
//!   version counters and no per-lookup allocation.
//! - **Linear probing at load ≤ 0.5.** The capacity is the next power of two of twice the
//!   number of keys: a hit takes about 1.5 probes and a miss about 2.5 on average, and
//!   consecutive probes stay in the same or the next cache line (8 slots per line for
//!   `u32` keys). The longest probe sequence of the built table is recorded, so a lookup
//!   never scans more than that: the worst case is bounded and known at build time.
//! - **Multiplicative (Fibonacci) hashing** of the key, taking the high bits: one multiply,
//!   and sequential IDs (the common case for service IDs) spread perfectly. Keys come from
//!   the configuration or the controller, never from packets, so a keyed hash is not
//!   needed against collision attacks.
//! - **Memory** for 1M services: 2M slots × 8 B = 16 MiB (the values index an arena).
//!
//! [`ExactMap::get_many`] looks up a burst in two passes (all slot indices first, then the
//! probes) so that the cache misses of a burst overlap, as `rte_hash_lookup_bulk` does.

use core::fmt;

use dpdk_sys::mem::HugeArray;

/// A key an [`ExactMap`] can hold: fixed size, compared bytewise.
pub trait MapKey: Copy + Eq {
    /// A 64-bit hash of the key (well mixed in its high bits).
    fn hash64(&self) -> u64;
}

const FIB: u64 = 0x9E37_79B9_7F4A_7C15;

impl MapKey for u32 {
    #[inline]
    fn hash64(&self) -> u64 {
        u64::from(*self).wrapping_add(0x5bd1_e995).wrapping_mul(FIB)
    }
}

impl MapKey for [u8; 16] {
    #[inline]
    fn hash64(&self) -> u64 {
        let mut hi = [0u8; 8];
        let mut lo = [0u8; 8];
        hi.copy_from_slice(&self[..8]);
        lo.copy_from_slice(&self[8..]);
        let h = u64::from_le_bytes(hi).wrapping_mul(FIB).rotate_left(29) ^ u64::from_le_bytes(lo);
        (h ^ (h >> 31)).wrapping_mul(FIB)
    }
}

/// The value of an empty slot (so values are `0..u32::MAX`).
const EMPTY: u32 = u32::MAX;

/// Largest value an [`ExactMap`] stores.
pub const MAX_VALUE: u32 = u32::MAX - 1;

#[derive(Clone, Copy, PartialEq, Eq)]
struct Slot<K> {
    key: K,
    value: u32,
}

/// An error building an [`ExactMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ExactMapError {
    /// The same key was given twice.
    #[error("duplicate key")]
    DuplicateKey,
    /// A value of `u32::MAX` (reserved for empty slots).
    #[error("value {0:#x} is reserved")]
    ReservedValue(u32),
    /// More keys than the table can address.
    #[error("{0} keys is more than an exact-match table holds (2^30)")]
    TooManyKeys(usize),
}

/// A frozen exact-match hash table from keys `K` to `u32` values (module docs for the
/// design).
#[derive(Clone)]
pub struct ExactMap<K: Copy> {
    slots: HugeArray<Slot<K>>,
    shift: u32,
    mask: usize,
    len: usize,
    max_probe: usize,
}

impl<K: MapKey + Default> Default for ExactMap<K> {
    fn default() -> Self {
        Self::empty()
    }
}

impl<K: MapKey + fmt::Debug> fmt::Debug for ExactMap<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExactMap")
            .field("len", &self.len)
            .field("capacity", &self.slots.len())
            .field("max_probe", &self.max_probe)
            .finish()
    }
}

/// Most keys an [`ExactMap`] holds.
pub const MAX_KEYS: usize = 1 << 30;

impl<K: MapKey + Default> ExactMap<K> {
    /// A table without keys (every lookup misses).
    pub fn empty() -> Self {
        Self::with_capacity(8)
    }

    fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.next_power_of_two().max(8);
        // Large tables get transparent huge pages (every lookup is a random access), and
        // a replaced table's slots are recycled rather than unmapped.
        let slots = HugeArray::filled(
            capacity,
            Slot {
                key: K::default(),
                value: EMPTY,
            },
        );
        ExactMap {
            slots,
            shift: 64 - capacity.trailing_zeros(),
            mask: capacity - 1,
            len: 0,
            max_probe: 0,
        }
    }

    /// Builds a table from `(key, value)` pairs: distinct keys, values up to
    /// [`MAX_VALUE`].
    pub fn build(pairs: impl IntoIterator<Item = (K, u32)>) -> Result<Self, ExactMapError> {
        let pairs: Vec<(K, u32)> = pairs.into_iter().collect();
        if pairs.len() > MAX_KEYS {
            return Err(ExactMapError::TooManyKeys(pairs.len()));
        }
        let mut t = Self::with_capacity(pairs.len() * 2);
        for (key, value) in pairs {
            if value == EMPTY {
                return Err(ExactMapError::ReservedValue(value));
            }
            let mut i = t.home(&key);
            let mut dist = 0;
            loop {
                let s = &mut t.slots[i];
                if s.value == EMPTY {
                    *s = Slot { key, value };
                    break;
                }
                if s.key == key {
                    return Err(ExactMapError::DuplicateKey);
                }
                i = (i + 1) & t.mask;
                dist += 1;
            }
            t.max_probe = t.max_probe.max(dist);
            t.len += 1;
        }
        Ok(t)
    }
}

impl<K: MapKey> ExactMap<K> {
    #[inline]
    fn home(&self, key: &K) -> usize {
        // `shift` is 64 - log2(capacity) with capacity >= 8, so this is < capacity.
        (key.hash64() >> self.shift) as usize
    }

    /// The value of `key`, if present. At most `max_probe() + 1` slots are read.
    #[inline]
    pub fn get(&self, key: K) -> Option<u32> {
        self.probe(self.home(&key), key)
    }

    #[inline(always)]
    fn probe(&self, mut i: usize, key: K) -> Option<u32> {
        for _ in 0..=self.max_probe {
            let s = self.slots.get(i)?;
            if s.value == EMPTY {
                return None;
            }
            if s.key == key {
                return Some(s.value);
            }
            i = (i + 1) & self.mask;
        }
        None
    }

    /// Starts fetching the cache line of slot `i` (its first probe), so that a lookup a
    /// little later does not wait for memory.
    #[inline]
    fn prefetch_slot(&self, i: usize) {
        if let Some(s) = self.slots.get(i) {
            dpdk_sys::prefetch::prefetch_read(s);
        }
    }

    /// Starts fetching the home slot of `key` (see [`ExactMap::get`]): a caller that knows
    /// its keys a few packets ahead hides the cache miss of the lookup.
    #[inline]
    pub fn prefetch(&self, key: K) {
        self.prefetch_slot(self.home(&key));
    }

    /// Looks up a burst: `out[i]` becomes the value of `keys[i]` (extra elements of the
    /// longer slice are left alone). Hashes every key of a group of 32 before probing any,
    /// so that the memory accesses of a burst overlap.
    pub fn get_many(&self, keys: &[K], out: &mut [Option<u32>]) {
        const GROUP: usize = 32;
        let mut homes = [0usize; GROUP];
        for (kc, oc) in keys.chunks(GROUP).zip(out.chunks_mut(GROUP)) {
            for (h, k) in homes.iter_mut().zip(kc) {
                *h = self.home(k);
                self.prefetch_slot(*h);
            }
            for ((o, k), h) in oc.iter_mut().zip(kc).zip(homes.iter()) {
                *o = self.probe(*h, *k);
            }
        }
    }

    /// Number of keys.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True without keys.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of slots (a power of two, at least twice [`ExactMap::len`]).
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// The longest probe distance of any key (0: every key in its home slot).
    pub fn max_probe(&self) -> usize {
        self.max_probe
    }

    /// Bytes of slot memory.
    pub fn memory_bytes(&self) -> usize {
        self.slots.len() * core::mem::size_of::<Slot<K>>()
    }

    /// Every `(key, value)`, in slot order (control side).
    pub fn iter(&self) -> impl Iterator<Item = (K, u32)> + '_ {
        self.slots
            .iter()
            .filter(|s| s.value != EMPTY)
            .map(|s| (s.key, s.value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    #[test]
    fn empty_and_small() {
        let m = ExactMap::<u32>::empty();
        assert!(m.is_empty());
        assert_eq!(m.get(0), None);
        assert_eq!(m.get(u32::MAX), None);
        let m = ExactMap::build([(0u32, 7), (u32::MAX, 9), (5, 0)]).unwrap();
        assert_eq!(m.len(), 3);
        assert_eq!(m.get(0), Some(7));
        assert_eq!(m.get(u32::MAX), Some(9));
        assert_eq!(m.get(5), Some(0));
        assert_eq!(m.get(6), None);
        assert_eq!(m.capacity(), 8);
        let mut all: Vec<_> = m.iter().collect();
        all.sort_unstable();
        assert_eq!(all, vec![(0, 7), (5, 0), (u32::MAX, 9)]);
    }

    #[test]
    fn build_errors() {
        assert_eq!(
            ExactMap::build([(1u32, 1), (1, 2)]).unwrap_err(),
            ExactMapError::DuplicateKey
        );
        assert_eq!(
            ExactMap::build([(1u32, u32::MAX)]).unwrap_err(),
            ExactMapError::ReservedValue(u32::MAX)
        );
    }

    #[test]
    fn a_million_sequential_services_probe_little() {
        let m = ExactMap::build((0..1_000_000u32).map(|k| (k, k ^ 0x55))).unwrap();
        assert_eq!(m.capacity(), 1 << 21);
        assert!(m.max_probe() < 16, "max probe {}", m.max_probe());
        assert_eq!(m.memory_bytes(), 16 << 20);
        for k in (0..1_000_000u32).step_by(9973) {
            assert_eq!(m.get(k), Some(k ^ 0x55));
        }
        assert_eq!(m.get(1_000_000), None);
        let keys: Vec<u32> = (999_990..1_000_010).collect();
        let mut out = vec![None; keys.len()];
        m.get_many(&keys, &mut out);
        for (k, o) in keys.iter().zip(&out) {
            assert_eq!(*o, (*k < 1_000_000).then_some(k ^ 0x55));
        }
    }

    #[test]
    fn address_keys() {
        let a = [1u8; 16];
        let mut b = [1u8; 16];
        b[15] = 2;
        let m = ExactMap::build([(a, 1), (b, 2)]).unwrap();
        assert_eq!(m.get(a), Some(1));
        assert_eq!(m.get(b), Some(2));
        assert_eq!(m.get([0; 16]), None);
    }

    proptest! {
        #[test]
        fn u32_map_matches_hashmap(
            keys in proptest::collection::hash_set(any::<u32>(), 0..300),
            small in proptest::collection::hash_set(0u32..64, 0..40),
            probes in proptest::collection::vec(any::<u32>(), 0..100),
        ) {
            let reference: HashMap<u32, u32> = keys
                .iter()
                .chain(small.iter())
                .enumerate()
                .map(|(i, k)| (*k, i as u32))
                .collect();
            let m = ExactMap::build(reference.iter().map(|(k, v)| (*k, *v))).unwrap();
            prop_assert_eq!(m.len(), reference.len());
            for (k, v) in &reference {
                prop_assert_eq!(m.get(*k), Some(*v));
            }
            for p in probes.iter().chain([0u32, 1, 2, 63].iter()) {
                prop_assert_eq!(m.get(*p), reference.get(p).copied());
            }
            let all: Vec<u32> = probes.iter().chain(reference.keys()).copied().collect();
            let mut out = vec![None; all.len()];
            m.get_many(&all, &mut out);
            for (k, o) in all.iter().zip(&out) {
                prop_assert_eq!(*o, reference.get(k).copied());
            }
        }

        #[test]
        fn address_map_matches_hashmap(
            keys in proptest::collection::hash_set(any::<[u8; 16]>(), 0..200),
            probes in proptest::collection::vec(any::<[u8; 16]>(), 0..50),
        ) {
            let reference: HashMap<[u8; 16], u32> =
                keys.iter().enumerate().map(|(i, k)| (*k, i as u32)).collect();
            let m = ExactMap::build(reference.iter().map(|(k, v)| (*k, *v))).unwrap();
            for (k, v) in &reference {
                prop_assert_eq!(m.get(*k), Some(*v));
            }
            for p in &probes {
                prop_assert_eq!(m.get(*p), reference.get(p).copied());
            }
        }
    }
}
