//! Per-worker flow tables for instance affinity: the first packet of a flow makes a choice
//! (an egress PE, a local instance, an RLOC), later packets of the flow find it here and
//! keep it while the choice stays valid and the flow stays active.
//!
//! One [`FlowTable`] per worker and per feature: RSS keeps a flow on one worker, so a
//! table is never shared, never locked and never written by two threads. Its counters are
//! single-writer [`Counter`]s the stats thread may read ([`FlowCounters`]).
//!
//! # Layout
//!
//! A fixed number of slots, allocated once at start-up, grouped in buckets of
//! [`BUCKET_SLOTS`] (set-associative, like a CPU cache). A flow's hash selects two
//! buckets, its primary and an alternative (two choices, as `rte_hash` does, so that a
//! table half full almost never has to evict a live flow: with one bucket, 2 % of flows
//! overflowed theirs at half load). A lookup compares the 8 32-bit tags of the primary
//! bucket (one half cache line) and the full [`FlowKey`] only where a tag matches, then
//! the alternative's. An insertion takes the flow's *home* slot of its primary bucket
//! (picked by the hash) if free, else a free slot of the primary, else of the alternative,
//! else an aged-out one of either, else evicts the least recently seen flow of the two.
//! Buckets are cache-line aligned, and [`FlowTable::prefetch`] fetches a flow's primary
//! tags and its home slot at once, so a lookup of a flow at home costs one memory
//! latency, not two; large tables ask for transparent huge pages. Nothing is allocated
//! per packet; work per packet is bounded by two buckets; there are no tombstones (a
//! removal just clears a tag).
//!
//! # Aging
//!
//! Every operation is given `now` (any monotonic clock: TSC cycles, nanoseconds...) and
//! the table an idle timeout in the same unit: an entry not seen for more than that is
//! dead. Dead entries are never returned and their slots are reused first; [`FlowTable::sweep`]
//! can also clear them a few slots at a time.

use dpdk_sys::mem::HugeArray;

use crate::counters::Counter;
use crate::packet::{L3Kind, PacketMeta};
use crate::wire::IpProtocol;

/// Slots per bucket.
pub const BUCKET_SLOTS: usize = 8;

/// Which feature or behaviour a [`FlowKey`] belongs to, so that one flow can hold one
/// choice per feature without collisions.
pub mod zone {
    /// END.CG: the egress PE chosen from the Global FIB.
    pub const SERVICE_GLOBAL: u8 = 1;
    /// END.CL: the local instance chosen from the Local FIB.
    pub const SERVICE_LOCAL: u8 = 2;
    /// END.C (flat): a local instance or a remote PE.
    pub const SERVICE_FLAT: u8 = 3;
    /// Dyncast: the RLOC chosen for a DSEID.
    pub const DYNCAST: u8 = 4;
}

/// A flow: the IP 5-tuple plus a zone. IPv4 addresses are stored IPv4-mapped
/// (`::ffff:a.b.c.d`) with `family` 4. Ports are 0 for protocols without ports and for
/// every fragment (so that all fragments of a datagram make the same choice).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct FlowKey {
    /// Source address.
    pub src: [u8; 16],
    /// Destination address.
    pub dst: [u8; 16],
    /// Source port (TCP, UDP, SCTP, UDP-Lite), else 0.
    pub src_port: u16,
    /// Destination port, else 0.
    pub dst_port: u16,
    /// Upper-layer protocol.
    pub proto: u8,
    /// 4 or 6.
    pub family: u8,
    /// A [`zone`] constant.
    pub zone: u8,
}

/// True for the protocols whose first 4 bytes are source and destination ports.
#[inline]
pub(crate) const fn has_ports(proto: u8) -> bool {
    matches!(proto, 6 | 17 | 132 | 136)
}

#[inline]
fn fold(h: u64, w: u64) -> u64 {
    (h.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95)
}

#[inline]
fn finish(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

#[inline]
fn word(b: &[u8; 16], half: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[half * 8..half * 8 + 8]);
    u64::from_le_bytes(w)
}

impl FlowKey {
    /// The flow of an IPv4 or IPv6 packet starting at `l3` in `frame`, with its upper
    /// layer `proto` at `l4` (`None`: no upper-layer header, e.g. a later fragment) and
    /// `fragment` set for any fragment. `None` if the addresses are not in `frame`.
    #[inline]
    pub fn from_ip(
        frame: &[u8],
        l3: usize,
        v4: bool,
        proto: u8,
        l4: Option<usize>,
        fragment: bool,
        zone: u8,
    ) -> Option<FlowKey> {
        let mut k = FlowKey {
            proto,
            zone,
            ..FlowKey::default()
        };
        if v4 {
            let a = frame.get(l3 + 12..l3 + 20)?;
            k.src[10] = 0xff;
            k.src[11] = 0xff;
            k.src[12..].copy_from_slice(&a[..4]);
            k.dst[10] = 0xff;
            k.dst[11] = 0xff;
            k.dst[12..].copy_from_slice(&a[4..]);
            k.family = 4;
        } else {
            k.src.copy_from_slice(frame.get(l3 + 8..l3 + 24)?);
            k.dst.copy_from_slice(frame.get(l3 + 24..l3 + 40)?);
            k.family = 6;
        }
        if let (Some(at), false, true) = (l4, fragment, has_ports(proto)) {
            if let Some(p) = frame.get(at..at + 4) {
                k.src_port = u16::from_be_bytes([p[0], p[1]]);
                k.dst_port = u16::from_be_bytes([p[2], p[3]]);
            }
        }
        Some(k)
    }

    /// The flow of a parsed IPv4/IPv6 frame; `None` for MPLS.
    #[inline]
    pub fn from_meta(frame: &[u8], meta: &PacketMeta, zone: u8) -> Option<FlowKey> {
        let v4 = match meta.l3 {
            L3Kind::Ipv4 => true,
            L3Kind::Ipv6 => false,
            L3Kind::Mpls => return None,
        };
        let l4 = meta.has_l4().then_some(usize::from(meta.l4_offset));
        let proto = meta.l4_protocol().unwrap_or(IpProtocol(0)).0;
        Self::from_ip(
            frame,
            usize::from(meta.l3_offset),
            v4,
            proto,
            l4,
            meta.is_fragment(),
            zone,
        )
    }

    /// A 64-bit hash of every field (used for the table and for weighted choices).
    #[inline]
    pub fn hash(&self) -> u64 {
        let mut h = 0x2545_f491_4f6c_dd1d;
        h = fold(h, word(&self.src, 0));
        h = fold(h, word(&self.src, 1));
        h = fold(h, word(&self.dst, 0));
        h = fold(h, word(&self.dst, 1));
        let tail = u64::from(self.src_port)
            | u64::from(self.dst_port) << 16
            | u64::from(self.proto) << 32
            | u64::from(self.family) << 40
            | u64::from(self.zone) << 48;
        finish(fold(h, tail))
    }
}

/// Flow-table counters of one worker (single writer).
#[derive(Debug, Default)]
pub struct FlowCounters {
    /// Packets whose flow had a live, still valid choice.
    pub hits: Counter,
    /// Packets of flows not in the table (first packet, or after aging or eviction).
    pub misses: Counter,
    /// Flows whose stored choice was no longer valid (gone from a new table snapshot,
    /// marked down) and chose again.
    pub repicks: Counter,
    /// Live flows pushed out of a full bucket by a new flow.
    pub evictions: Counter,
    /// Entries found aged out (idle longer than the timeout).
    pub expired: Counter,
}

/// A copy of [`FlowCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct FlowCounterSnapshot {
    /// Hits.
    pub hits: u64,
    /// Misses.
    pub misses: u64,
    /// Re-picks.
    pub repicks: u64,
    /// Evictions.
    pub evictions: u64,
    /// Aged-out entries.
    pub expired: u64,
}

impl FlowCounters {
    /// Reads every counter.
    pub fn snapshot(&self) -> FlowCounterSnapshot {
        FlowCounterSnapshot {
            hits: self.hits.get(),
            misses: self.misses.get(),
            repicks: self.repicks.get(),
            evictions: self.evictions.get(),
            expired: self.expired.get(),
        }
    }
}

impl FlowCounterSnapshot {
    /// Adds another snapshot (totals over workers).
    pub fn accumulate(&mut self, o: &FlowCounterSnapshot) {
        self.hits += o.hits;
        self.misses += o.misses;
        self.repicks += o.repicks;
        self.evictions += o.evictions;
        self.expired += o.expired;
    }
}

/// How [`FlowTable::resolve`] found its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// The flow's stored choice, still valid.
    Hit,
    /// A new flow (or an aged-out or evicted one): a fresh choice, now stored.
    Miss,
    /// The stored choice was no longer valid: a fresh choice replaced it.
    Repick,
}

#[derive(Clone, Copy, Debug)]
struct Slot<V> {
    key: FlowKey,
    value: V,
    last: u64,
}

/// The slots of one bucket, aligned to a cache line: a slot whose size is a multiple of
/// 64 bytes (the service table's) never straddles two lines, and other sizes waste
/// nothing (8 slots of any size end on a line boundary up to the padding).
#[derive(Clone, Copy, Debug)]
#[repr(align(64))]
struct Bucket<V>([Slot<V>; BUCKET_SLOTS]);

/// A bounded per-worker flow table (module docs).
#[derive(Debug, Clone)]
pub struct FlowTable<V: Copy> {
    tags: HugeArray<u32>,
    buckets: HugeArray<Bucket<V>>,
    bucket_mask: usize,
    idle: u64,
    sweep_at: usize,
}

#[inline]
fn tag_of(hash: u64) -> u32 {
    ((hash >> 32) as u32) | 1
}

/// A flow's alternative bucket (of `buckets`, a power of two): from the tag's bits, never
/// the primary bucket `primary` when there are two buckets or more.
#[inline]
fn alt_bucket(primary: usize, hash: u64, mask: usize) -> usize {
    let mixed = u64::from(tag_of(hash)).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32;
    let alt = (mixed as usize) & mask;
    if alt == primary {
        (alt ^ 1) & mask
    } else {
        alt
    }
}

/// A flow's home slot in its bucket: where it goes when that slot is free, so that a
/// lookup can fetch the slot together with the bucket's tags instead of after them. Bits
/// 29..32 of the hash: above the bucket index (at most 28 bits), below the tag.
#[inline]
fn home_of(hash: u64) -> usize {
    ((hash >> 29) & (BUCKET_SLOTS as u64 - 1)) as usize
}

impl<V: Copy + Default> FlowTable<V> {
    /// A table of at least `capacity` flows (rounded up to a power of two, at least one
    /// bucket), forgetting flows idle for more than `idle` units of the `now` clock.
    /// Allocates everything now; nothing later.
    pub fn new(capacity: usize, idle: u64) -> Self {
        let slots = capacity.clamp(BUCKET_SLOTS, 1 << 31).next_power_of_two();
        // Large tables get transparent huge pages from their first touch (every lookup is
        // a random access), on mappings of their own.
        let tags = HugeArray::filled(slots, 0);
        let buckets = HugeArray::filled(
            slots / BUCKET_SLOTS,
            Bucket(
                [Slot {
                    key: FlowKey::default(),
                    value: V::default(),
                    last: 0,
                }; BUCKET_SLOTS],
            ),
        );
        FlowTable {
            tags,
            buckets,
            bucket_mask: slots / BUCKET_SLOTS - 1,
            idle,
            sweep_at: 0,
        }
    }
}

impl<V: Copy> FlowTable<V> {
    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.tags.len()
    }

    #[inline]
    fn slot(&self, i: usize) -> Option<&Slot<V>> {
        self.buckets.get(i / BUCKET_SLOTS)?.0.get(i % BUCKET_SLOTS)
    }

    #[inline]
    fn slot_mut(&mut self, i: usize) -> Option<&mut Slot<V>> {
        self.buckets
            .get_mut(i / BUCKET_SLOTS)?
            .0
            .get_mut(i % BUCKET_SLOTS)
    }

    /// The idle timeout.
    pub fn idle_timeout(&self) -> u64 {
        self.idle
    }

    /// Slots in use, aged-out entries not yet reclaimed included.
    pub fn occupied(&self) -> usize {
        self.tags.iter().filter(|t| **t != 0).count()
    }

    /// The primary bucket of a flow of this hash (where it lives unless that bucket was
    /// full when it arrived).
    #[inline]
    pub fn bucket_of(&self, hash: u64) -> usize {
        (hash as usize) & self.bucket_mask
    }

    /// The first slots of the flow's two buckets (the same one twice in a one-bucket
    /// table).
    #[inline]
    fn bases(&self, hash: u64) -> [usize; 2] {
        let primary = self.bucket_of(hash);
        [
            primary * BUCKET_SLOTS,
            alt_bucket(primary, hash, self.bucket_mask) * BUCKET_SLOTS,
        ]
    }

    #[inline]
    fn expired(&self, last: u64, now: u64) -> bool {
        now.saturating_sub(last) > self.idle
    }

    /// The slot holding `key` in the bucket starting at `base`, if any.
    #[inline]
    fn find_in(&self, base: usize, key: &FlowKey, tag: u32) -> Option<usize> {
        let tags = self.tags.get(base..base + BUCKET_SLOTS)?;
        for (i, t) in tags.iter().enumerate() {
            if *t == tag && self.slot(base + i).is_some_and(|s| s.key == *key) {
                return Some(base + i);
            }
        }
        None
    }

    /// The slot holding `key` in its primary or alternative bucket, if any (live or not).
    #[inline]
    fn find(&self, key: &FlowKey, hash: u64) -> Option<usize> {
        let [primary, alt] = self.bases(hash);
        let tag = tag_of(hash);
        match self.find_in(primary, key, tag) {
            Some(i) => Some(i),
            None if alt != primary => self.find_in(alt, key, tag),
            None => None,
        }
    }

    /// The slot a new flow takes: its home slot if free, else a free one of its primary
    /// bucket, else of its alternative, else an aged-out one of either; else, both full of
    /// live flows, one whose other bucket has room moves there (a one-step cuckoo move,
    /// first such slot in bucket order) and its slot is taken; else the least recently
    /// seen of either is evicted. Counts what it reclaims.
    #[inline]
    fn victim(&mut self, hash: u64, now: u64, c: &FlowCounters) -> usize {
        let [primary, alt] = self.bases(hash);
        let home = primary + home_of(hash);
        if self.tags.get(home) == Some(&0) {
            return home;
        }
        let candidates = (primary..primary + BUCKET_SLOTS).chain(alt..alt + BUCKET_SLOTS);
        if let Some(i) = candidates
            .clone()
            .find(|i| self.tags.get(*i).copied().unwrap_or(0) == 0)
        {
            return i;
        }
        let mut oldest = primary;
        let mut oldest_last = u64::MAX;
        for i in candidates.clone() {
            let last = self.slot(i).map_or(0, |s| s.last);
            if self.expired(last, now) {
                c.expired.add(1);
                return i;
            }
            if last < oldest_last {
                oldest_last = last;
                oldest = i;
            }
        }
        for i in candidates {
            if self.relocate(i) {
                return i;
            }
        }
        c.evictions.add(1);
        oldest
    }

    /// Moves the flow in slot `i` to a free slot of its other bucket, if that has one;
    /// returns whether it did (slot `i` is then free to take).
    fn relocate(&mut self, i: usize) -> bool {
        let Some(s) = self.slot(i).copied() else {
            return false;
        };
        let [p, a] = self.bases(s.key.hash());
        let here = i / BUCKET_SLOTS * BUCKET_SLOTS;
        let other = if here == p { a } else { p };
        if other == here {
            return false;
        }
        let Some(j) = (other..other + BUCKET_SLOTS).find(|j| self.tags.get(*j).copied() == Some(0))
        else {
            return false;
        };
        let tag = self.tags.get(i).copied().unwrap_or(0);
        if let Some(t) = self.tags.get_mut(j) {
            *t = tag;
        }
        if let Some(d) = self.slot_mut(j) {
            *d = s;
        }
        true
    }

    #[inline]
    fn store(&mut self, i: usize, key: &FlowKey, hash: u64, value: V, now: u64) {
        let slot = self
            .buckets
            .get_mut(i / BUCKET_SLOTS)
            .and_then(|b| b.0.get_mut(i % BUCKET_SLOTS));
        if let (Some(t), Some(s)) = (self.tags.get_mut(i), slot) {
            *t = tag_of(hash);
            *s = Slot {
                key: *key,
                value,
                last: now,
            };
        }
    }

    #[inline]
    fn clear_slot(&mut self, i: usize) {
        if let Some(t) = self.tags.get_mut(i) {
            *t = 0;
        }
    }

    /// Starts fetching the tags of the bucket of `hash` and the flow's home slot (the
    /// cache misses of a lookup, which then overlap), so that a lookup a little later
    /// does not wait for memory.
    #[inline]
    pub fn prefetch(&self, hash: u64) {
        let base = self.bucket_of(hash) * BUCKET_SLOTS;
        if let Some(t) = self.tags.get(base) {
            dpdk_sys::prefetch::prefetch_read(t);
        }
        if let Some(s) = self.slot(base + home_of(hash)) {
            dpdk_sys::prefetch::prefetch_read(s);
        }
    }

    /// The second stage of a burst lookup (as `rte_hash_lookup_bulk` does), for a bucket
    /// whose tags [`FlowTable::prefetch`] fetched a while ago: reads them and starts
    /// fetching every slot whose tag matches the flow's, so that a flow living away from
    /// its home slot is in cache too when it is looked up; when none matches, starts
    /// fetching the alternative bucket's tags instead. Changes nothing.
    #[inline]
    pub fn prefetch_matches(&self, hash: u64) {
        let [base, alt] = self.bases(hash);
        let home = base + home_of(hash);
        let tag = tag_of(hash);
        let Some(tags) = self.tags.get(base..base + BUCKET_SLOTS) else {
            return;
        };
        let mut matched = false;
        for (i, t) in tags.iter().enumerate() {
            if *t == tag {
                matched = true;
                if base + i != home {
                    if let Some(s) = self.slot(base + i) {
                        dpdk_sys::prefetch::prefetch_read(s);
                    }
                }
            }
        }
        if !matched && alt != base {
            if let Some(t) = self.tags.get(alt) {
                dpdk_sys::prefetch::prefetch_read(t);
            }
        }
    }

    /// The flow's live choice, refreshing its last-seen time (no counters, no validity
    /// check).
    #[inline]
    pub fn get(&mut self, key: &FlowKey, hash: u64, now: u64) -> Option<V> {
        let i = self.find(key, hash)?;
        let idle = self.idle;
        let s = self.slot_mut(i)?;
        if now.saturating_sub(s.last) > idle {
            return None;
        }
        s.last = now;
        Some(s.value)
    }

    /// The flow's live value when `fast` accepts it, refreshing its last-seen time and
    /// counting a hit, as [`FlowTable::resolve`] would for a valid entry. `None` (nothing
    /// changed, nothing counted) when the flow is absent, aged out or `fast` refuses its
    /// value: the caller then calls [`FlowTable::resolve`], which finds it again. For a
    /// fast path whose check needs no other table (see the service behaviours).
    #[inline]
    pub fn hit_if(
        &mut self,
        key: &FlowKey,
        hash: u64,
        now: u64,
        c: &FlowCounters,
        fast: impl FnOnce(&V) -> bool,
    ) -> Option<V> {
        let i = self.find(key, hash)?;
        let idle = self.idle;
        let s = self.slot_mut(i)?;
        if now.saturating_sub(s.last) > idle || !fast(&s.value) {
            return None;
        }
        s.last = now;
        c.hits.add(1);
        Some(s.value)
    }

    /// The choice for a flow, in one pass over its bucket:
    /// - a live entry whose value passes `valid`: that value ([`Resolution::Hit`]);
    /// - a live entry that fails `valid`: `pick()` replaces it ([`Resolution::Repick`]);
    /// - no entry (or an aged-out one): `pick()` is stored ([`Resolution::Miss`]),
    ///   reclaiming a free, aged-out or least recently seen slot of the bucket.
    ///
    /// When `pick()` returns `None` nothing is stored (an invalid entry is removed) and
    /// `None` is returned. `hash` must be `key.hash()` (as for every method taking one: a
    /// cuckoo move recomputes it from the stored key).
    #[inline]
    pub fn resolve(
        &mut self,
        key: &FlowKey,
        hash: u64,
        now: u64,
        c: &FlowCounters,
        valid: impl FnOnce(&V) -> bool,
        pick: impl FnOnce() -> Option<V>,
    ) -> Option<(V, Resolution)> {
        let found = self.find(key, hash);
        if let Some(i) = found {
            let s = *self.slot(i)?;
            if !self.expired(s.last, now) {
                if valid(&s.value) {
                    c.hits.add(1);
                    if let Some(s) = self.slot_mut(i) {
                        s.last = now;
                    }
                    return Some((s.value, Resolution::Hit));
                }
                c.repicks.add(1);
                let Some(v) = pick() else {
                    self.clear_slot(i);
                    return None;
                };
                self.store(i, key, hash, v, now);
                return Some((v, Resolution::Repick));
            }
            c.expired.add(1);
        }
        c.misses.add(1);
        let v = pick()?;
        let i = match found {
            Some(i) => i,
            None => self.victim(hash, now, c),
        };
        self.store(i, key, hash, v, now);
        Some((v, Resolution::Miss))
    }

    /// Stores a choice for a flow (replacing its entry, else like a miss of
    /// [`FlowTable::resolve`]).
    pub fn insert(&mut self, key: &FlowKey, hash: u64, value: V, now: u64, c: &FlowCounters) {
        let i = match self.find(key, hash) {
            Some(i) => i,
            None => self.victim(hash, now, c),
        };
        self.store(i, key, hash, value, now);
    }

    /// Forgets a flow; returns its value if it was there (live or not).
    pub fn remove(&mut self, key: &FlowKey, hash: u64) -> Option<V> {
        let i = self.find(key, hash)?;
        let v = self.slot(i)?.value;
        self.clear_slot(i);
        Some(v)
    }

    /// Clears aged-out entries among the next `budget` slots (round robin over calls, for
    /// idle loops); returns how many it cleared. They are not counted as expired again.
    pub fn sweep(&mut self, now: u64, budget: usize) -> usize {
        let n = self.tags.len();
        let mut cleared = 0;
        for _ in 0..budget.min(n) {
            let i = self.sweep_at;
            self.sweep_at = (i + 1) & (n - 1);
            let live = self.tags.get(i).is_some_and(|t| *t != 0);
            if live && self.slot(i).is_some_and(|s| self.expired(s.last, now)) {
                self.clear_slot(i);
                cleared += 1;
            }
        }
        cleared
    }

    /// Forgets every flow.
    pub fn clear(&mut self) {
        self.tags.iter_mut().for_each(|t| *t = 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn key(n: u32) -> FlowKey {
        let mut k = FlowKey {
            family: 6,
            proto: 17,
            zone: zone::DYNCAST,
            ..FlowKey::default()
        };
        k.src[12..].copy_from_slice(&n.to_be_bytes());
        k.src_port = n as u16;
        k
    }

    #[test]
    fn hit_miss_repick_and_aging() {
        let c = FlowCounters::default();
        let mut t: FlowTable<u32> = FlowTable::new(64, 100);
        let k = key(1);
        let h = k.hash();
        assert_eq!(
            t.resolve(&k, h, 10, &c, |_| true, || Some(7)),
            Some((7, Resolution::Miss))
        );
        assert_eq!(
            t.resolve(&k, h, 20, &c, |_| true, || Some(8)),
            Some((7, Resolution::Hit))
        );
        assert_eq!(
            t.resolve(&k, h, 30, &c, |v| *v != 7, || Some(9)),
            Some((9, Resolution::Repick))
        );
        assert_eq!(
            t.get(&k, h, 130),
            Some(9),
            "idle exactly the timeout: alive"
        );
        assert_eq!(t.get(&k, h, 231), None, "aged out");
        assert_eq!(
            t.resolve(&k, h, 231, &c, |_| true, || Some(10)),
            Some((10, Resolution::Miss))
        );
        assert_eq!(t.resolve(&k, h, 232, &c, |_| false, || None), None);
        assert_eq!(
            t.get(&k, h, 232),
            None,
            "an invalid entry without a new pick is removed"
        );
        assert_eq!(t.resolve(&k, h, 233, &c, |_| true, || None), None);
        let s = c.snapshot();
        assert_eq!(
            s,
            FlowCounterSnapshot {
                hits: 1,
                misses: 3,
                repicks: 2,
                evictions: 0,
                expired: 1
            }
        );
        assert_eq!(t.occupied(), 0);
    }

    #[test]
    fn full_bucket_evicts_the_least_recently_seen() {
        let c = FlowCounters::default();
        let mut t: FlowTable<u32> = FlowTable::new(8, 1000);
        assert_eq!(t.capacity(), 8);
        for n in 0..8 {
            let k = key(n);
            t.resolve(&k, k.hash(), u64::from(n), &c, |_| true, || Some(n));
        }
        // Touch flow 0 so that flow 1 is the oldest.
        assert_eq!(t.get(&key(0), key(0).hash(), 50), Some(0));
        let k = key(100);
        t.resolve(&k, k.hash(), 60, &c, |_| true, || Some(100));
        assert_eq!(c.evictions.get(), 1);
        assert_eq!(t.get(&key(1), key(1).hash(), 61), None);
        assert_eq!(t.get(&key(0), key(0).hash(), 61), Some(0));
        assert_eq!(t.get(&k, k.hash(), 61), Some(100));
        // Aged-out slots are reused before anything is evicted.
        let k2 = key(200);
        t.resolve(&k2, k2.hash(), 2000, &c, |_| true, || Some(200));
        assert_eq!(c.evictions.get(), 1);
        assert_eq!(c.expired.get(), 1);
        assert_eq!(t.sweep(2000, 100), 7);
        assert_eq!(t.occupied(), 1);
        assert_eq!(t.remove(&k2, k2.hash()), Some(200));
        assert_eq!(t.remove(&k2, k2.hash()), None);
        t.insert(&k2, k2.hash(), 5, 2001, &c);
        assert_eq!(t.get(&k2, k2.hash(), 2001), Some(5));
        t.clear();
        assert_eq!(t.occupied(), 0);
    }

    #[test]
    fn half_full_it_keeps_every_flow() {
        // With one bucket per flow about 2 % of flows overflow theirs at half load (8-slot
        // buckets, Poisson(4) arrivals); with two choices none does.
        let c = FlowCounters::default();
        let mut t: FlowTable<u32> = FlowTable::new(1 << 16, u64::MAX);
        let n = 1u32 << 15;
        for i in 0..n {
            let k = key(i);
            t.insert(&k, k.hash(), i, 0, &c);
        }
        assert_eq!(c.evictions.get(), 0);
        assert_eq!(t.occupied(), n as usize);
        assert!((0..n).all(|i| t.get(&key(i), key(i).hash(), 1) == Some(i)));
        let in_alt = (0..n)
            .filter(|i| {
                let h = key(*i).hash();
                t.find(&key(*i), h).map(|s| s / BUCKET_SLOTS) != Some(t.bucket_of(h))
            })
            .count();
        assert!(in_alt > 0, "some flows did need their alternative bucket");
    }

    #[test]
    fn keys_from_frames() {
        // IPv4 UDP 10.0.0.1:1000 -> 10.0.0.2:2000.
        let mut f = vec![0u8; 14 + 20 + 8];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14] = 0x45;
        f[14 + 2..14 + 4].copy_from_slice(&28u16.to_be_bytes());
        f[14 + 8] = 64;
        f[14 + 9] = 17;
        f[14 + 12..14 + 16].copy_from_slice(&[10, 0, 0, 1]);
        f[14 + 16..14 + 20].copy_from_slice(&[10, 0, 0, 2]);
        let c = crate::wire::checksum::checksum(&f[14..34]);
        f[24..26].copy_from_slice(&c.to_be_bytes());
        f[34..36].copy_from_slice(&1000u16.to_be_bytes());
        f[36..38].copy_from_slice(&2000u16.to_be_bytes());
        f[38..40].copy_from_slice(&8u16.to_be_bytes());
        let m = crate::packet::parse(&f).unwrap();
        let k = FlowKey::from_meta(&f, &m, zone::DYNCAST).unwrap();
        assert_eq!(k.family, 4);
        assert_eq!(&k.src[10..], &[0xff, 0xff, 10, 0, 0, 1]);
        assert_eq!(&k.dst[12..], &[10, 0, 0, 2]);
        assert_eq!((k.src_port, k.dst_port, k.proto), (1000, 2000, 17));
        let mut k2 = k;
        k2.zone = zone::SERVICE_LOCAL;
        assert_ne!(k.hash(), k2.hash());
        let frag = FlowKey::from_ip(&f, 14, true, 17, Some(34), true, 0).unwrap();
        assert_eq!((frag.src_port, frag.dst_port), (0, 0));
        assert_eq!(FlowKey::from_ip(&f, 30, true, 17, None, false, 0), None);
    }

    /// The reference: the same slots and policy, written as plain linear scans over
    /// `Option`s, without tags.
    struct Reference {
        slots: Vec<Option<(FlowKey, u32, u64)>>,
        idle: u64,
    }

    impl Reference {
        /// The flow's primary bucket's slots, then its alternative's (if another).
        fn buckets(&self, hash: u64) -> Vec<usize> {
            let n = self.slots.len() / BUCKET_SLOTS;
            let b = (hash as usize) % n;
            let alt = alt_bucket(b, hash, n - 1);
            let mut v: Vec<usize> = (b * BUCKET_SLOTS..(b + 1) * BUCKET_SLOTS).collect();
            if alt != b {
                v.extend(alt * BUCKET_SLOTS..(alt + 1) * BUCKET_SLOTS);
            }
            v
        }
        fn resolve(
            &mut self,
            k: &FlowKey,
            now: u64,
            valid: bool,
            pick: Option<u32>,
            c: &mut FlowCounterSnapshot,
        ) -> Option<(u32, Resolution)> {
            let r = self.buckets(k.hash());
            let idle = self.idle;
            let dead = |last: u64| now.saturating_sub(last) > idle;
            let found = r
                .iter()
                .copied()
                .find(|i| self.slots[*i].is_some_and(|(kk, _, _)| kk == *k));
            if let Some(i) = found {
                let (_, v, last) = self.slots[i].unwrap();
                if !dead(last) {
                    if valid {
                        c.hits += 1;
                        self.slots[i] = Some((*k, v, now));
                        return Some((v, Resolution::Hit));
                    }
                    c.repicks += 1;
                    return match pick {
                        Some(p) => {
                            self.slots[i] = Some((*k, p, now));
                            Some((p, Resolution::Repick))
                        }
                        None => {
                            self.slots[i] = None;
                            None
                        }
                    };
                }
                c.expired += 1;
            }
            c.misses += 1;
            let p = pick?;
            let i = match found {
                Some(i) => i,
                None => {
                    let home = r[0] + home_of(k.hash());
                    let slots = r.iter().copied();
                    if self.slots[home].is_none() {
                        home
                    } else if let Some(i) = slots.clone().find(|i| self.slots[*i].is_none()) {
                        i
                    } else if let Some(i) = slots.clone().find(|i| dead(self.slots[*i].unwrap().2))
                    {
                        c.expired += 1;
                        i
                    } else if let Some((i, j)) = slots.clone().find_map(|i| {
                        // A flow of these buckets whose other bucket has a free slot.
                        let theirs = self.buckets(self.slots[i].unwrap().0.hash());
                        let here = i / BUCKET_SLOTS * BUCKET_SLOTS;
                        let other: Vec<usize> = theirs
                            .into_iter()
                            .filter(|j| j / BUCKET_SLOTS * BUCKET_SLOTS != here)
                            .collect();
                        other
                            .into_iter()
                            .find(|j| self.slots[*j].is_none())
                            .map(|j| (i, j))
                    }) {
                        self.slots[j] = self.slots[i];
                        i
                    } else {
                        c.evictions += 1;
                        slots.min_by_key(|i| self.slots[*i].unwrap().2).unwrap()
                    }
                }
            };
            self.slots[i] = Some((*k, p, now));
            Some((p, Resolution::Miss))
        }
    }

    proptest! {
        #[test]
        fn matches_the_linear_scan_reference(
            ops in proptest::collection::vec((0u32..40, 0u64..30, any::<bool>(), proptest::option::of(0u32..5)), 1..300),
            slots in prop_oneof![Just(8usize), Just(16), Just(32), Just(64)],
        ) {
            let c = FlowCounters::default();
            let mut t: FlowTable<u32> = FlowTable::new(slots, 50);
            let mut r = Reference { slots: vec![None; slots], idle: 50 };
            let mut rc = FlowCounterSnapshot::default();
            let mut now = 0;
            for (n, dt, valid, pick) in ops {
                now += dt;
                let k = key(n);
                let got = t.resolve(&k, k.hash(), now, &c, |_| valid, || pick);
                let want = r.resolve(&k, now, valid, pick, &mut rc);
                prop_assert_eq!(got, want);
                prop_assert_eq!(c.snapshot(), rc);
            }
        }

        #[test]
        fn without_evictions_it_is_an_exact_map(
            ops in proptest::collection::vec((0u32..50, any::<u32>()), 1..200),
        ) {
            let c = FlowCounters::default();
            let mut t: FlowTable<u32> = FlowTable::new(1 << 12, u64::MAX);
            let mut m: HashMap<FlowKey, u32> = HashMap::new();
            for (i, (n, v)) in ops.into_iter().enumerate() {
                let k = key(n);
                let now = i as u64;
                let got = t.resolve(&k, k.hash(), now, &c, |_| true, || Some(v)).unwrap().0;
                prop_assert_eq!(got, *m.entry(k).or_insert(v));
            }
            if c.evictions.get() == 0 {
                for (k, v) in &m {
                    prop_assert_eq!(t.get(k, k.hash(), 0), Some(*v));
                }
            }
        }
    }
}
