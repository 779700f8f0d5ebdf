//! Longest-prefix match for IPv4 and IPv6: a multibit trie with an 8-, 16- or 24-bit
//! root stride followed by 8-bit strides, with controlled prefix expansion and leaf
//! pushing (DIR-16-8-8 for IPv4 by default, 16-8-8-...-8 for IPv6).
//!
//! # Layout
//!
//! Every table entry is one `u32`:
//! - bit 31 set: a pointer to a *group* of 256 entries (the next 8 address bits), the
//!   low 31 bits being the group number;
//! - bit 31 clear: a leaf, the next hop itself, or [`NO_ROUTE`] (`0x7fff_ffff`).
//!
//! The root is a flat array of 2^root_bits entries indexed by the first root_bits bits of
//! the address (256 KiB for the default 16-bit root). A prefix that ends inside a level
//! is expanded over the 2^(level end - length) entries it covers (controlled prefix
//! expansion); a prefix longer than the level turns the entry into a pointer to a new
//! group whose 256 entries start as copies of the leaf it replaced (leaf pushing), so a
//! lookup never backtracks: it follows pointers until a leaf, one memory access per
//! level, and the leaf is the answer. IPv4 takes at most 3 accesses with a 16-bit root,
//! 2 with a 24-bit one; IPv6 with a 16-bit root takes at most 16 (one per byte after the
//! root), in practice 5 to 7 for /48 to /64 routes.
//!
//! # Why this design
//!
//! - DIR-24-8 (what `rte_fib` does) needs 2^24 entries up front, 64 MiB per table with
//!   4-byte entries: far too much per VRF when a gateway holds hundreds of VRFs with a
//!   few routes each. The 16-bit root costs 256 KiB, the 8-bit one 1 KiB, and groups
//!   (1 KiB each) are only created under prefixes longer than the root.
//! - The root stride is chosen at build time ([`LpmBuilder::auto_root_bits`]): 8 bits
//!   below [`AUTO_ROOT16_MIN_ROUTES`] prefixes (small VRFs: 1 KiB root, one more access
//!   for /9-/16), 24 bits (DIR-24-8 itself, 64 MiB) once half the /16 blocks hold longer
//!   prefixes (a full table: the groups under a 16-bit root would cost as much, and the
//!   24-bit root saves an access), 16 bits in between. [`LpmBuilder::root_bits`] forces
//!   8, 16 or 24.
//! - Tables are immutable once built: the control side keeps the prefix list in an
//!   [`LpmBuilder`] (a `BTreeMap`, so deletes are plain removals), builds a fresh
//!   [`Lpm`] and publishes it RCU-style. No incremental update logic, no tbl8 recycling.
//! - Lookups read only the two flat arrays: no allocation, no lock, no panic (every
//!   index is taken with `get`; a corrupt table would give "no route", never a crash).
//!
//! [`Lpm::lookup_bulk_raw`] resolves a burst level by level (all roots first, then the
//! keys that need a group, and so on), so the cache misses of independent keys overlap;
//! [`Lpm::lookup_bulk`] decodes its output into `Option`s.
//!
//! # Measured (perf/RESULTS.md, `perf/bench-lpm.sh`)
//!
//! Same routes, same keys, bursts of 32, one core, against DPDK 22.11's `rte_fib`
//! (DIR24_8, 4-byte next hops) and `rte_fib6` (TRIE), on the 2-vCPU AMD EPYC benchmark
//! VM with 4 KiB pages on both sides:
//! - IPv4, 1M routes (BGP-like mix plus /25-/32 hosts): [`Lpm::lookup_bulk_raw`] 0.76x
//!   `rte_fib_lookup_bulk` (60 vs 80 Mlookups/s) with the automatic 24-bit root
//!   (145 MiB); 0.57x with a forced 16-bit root (same memory at this size, one more
//!   access); [`Lpm::lookup`] one key at a time 0.66x; [`Lpm::lookup_bulk`] 0.66x.
//! - IPv6, 100k routes (/28-/64 in 2000::/3): 1.41x `rte_fib6_lookup_bulk` (15.8 vs
//!   11.5 Mlookups/s), 16-bit root, 283 MiB.
//! - Small tables are where the design pays: 1 KiB of root below 1024 prefixes, where
//!   `rte_fib` always takes 64 MiB plus its tbl8 pool.
//!
//! What moved the IPv4 figure (0.3x at first): no data-dependent branch in the bulk
//! passes (mispredictions flushed the loads in flight), then as few instructions per key
//! as possible in the root pass (the CPU's window then holds more independent misses),
//! then the 24-bit root for full tables. Software prefetching (through `dpdk-sys`) and
//! faulting the root in address order made no measurable difference and were dropped.
//!
//! This file depends on nothing but `core`/`std`: the `rte_fib` test of `dpdk-sys`
//! compiles it too, to check both against each other.

use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use core::str::FromStr;
use std::collections::BTreeMap;

/// What [`Lpm::lookup_bulk_raw`] writes for an address no prefix covers (the leaf value
/// of "no route" in the tables).
pub const NO_ROUTE: u32 = (1 << 31) - 1;

/// Largest next hop an [`Lpm`] can hold (31 bits, less [`NO_ROUTE`]).
pub const MAX_NEXT_HOP: u32 = NO_ROUTE - 1;

/// With at least this many prefixes an automatic root stride is 16 bits, below it 8.
pub const AUTO_ROOT16_MIN_ROUTES: usize = 1024;

/// An automatic root stride is 24 bits when at least this many of the 65536 /16 blocks
/// hold a prefix longer than /16: their groups under a 16-bit root would take 32 MiB or
/// more, half of a 24-bit root, which saves them and one memory access per lookup.
pub const AUTO_ROOT24_MIN_BLOCKS: usize = 32768;

const CHILD: u32 = 1 << 31;
const GROUP: usize = 256;
/// Keys per chunk of [`Lpm::lookup_bulk`] (its scratch array lives on the stack).
const BULK_CHUNK: usize = 64;

/// An LPM table over `N`-byte keys in network byte order; see the module documentation.
#[derive(Clone)]
pub struct Lpm<const N: usize> {
    root: Box<[u32]>,
    groups: Box<[u32]>,
    root_bytes: usize,
    prefixes: usize,
}

/// An IPv4 LPM table (4-byte keys).
pub type Lpm4 = Lpm<4>;
/// An IPv6 LPM table (16-byte keys).
pub type Lpm6 = Lpm<16>;
/// Builder of an [`Lpm4`].
pub type Lpm4Builder = LpmBuilder<4>;
/// Builder of an [`Lpm6`].
pub type Lpm6Builder = LpmBuilder<16>;

impl<const N: usize> fmt::Debug for Lpm<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lpm")
            .field("key_bits", &(N * 8))
            .field("root_bits", &self.root_bits())
            .field("prefixes", &self.prefixes)
            .field("groups", &self.group_count())
            .field("memory_bytes", &self.memory_bytes())
            .finish()
    }
}

impl<const N: usize> Default for Lpm<N> {
    /// An empty table (8-bit root): every lookup misses.
    fn default() -> Self {
        LpmBuilder::new().build()
    }
}

/// Decodes a leaf entry (or a pointer left by a truncated walk: no route).
#[inline(always)]
fn leaf(e: u32) -> Option<u32> {
    (e < NO_ROUTE).then_some(e)
}

impl<const N: usize> Lpm<N> {
    /// Index of `key` in the root array.
    #[inline(always)]
    fn root_index(&self, key: &[u8; N]) -> usize {
        let head = key.first_chunk::<4>().copied().unwrap_or_default();
        // root_bytes is 1..=3 by construction; wrapping_shr cannot panic whatever it is.
        u32::from_be_bytes(head).wrapping_shr(32 - 8 * (self.root_bytes as u32 & 3)) as usize
    }

    /// The next hop of the longest prefix covering `key` (network byte order).
    #[inline]
    pub fn lookup(&self, key: &[u8; N]) -> Option<u32> {
        let mut e = *self.root.get(self.root_index(key))?;
        let mut depth = self.root_bytes;
        while e & CHILD != 0 {
            let byte = usize::from(*key.get(depth)?);
            e = *self.groups.get(((e & !CHILD) as usize) * GROUP + byte)?;
            depth += 1;
        }
        leaf(e)
    }

    /// Looks up a burst: `out[i]` is the next hop of `keys[i]`. Keys beyond `out.len()`
    /// (or outputs beyond `keys.len()`) are left alone.
    ///
    /// [`Lpm::lookup_bulk_raw`], then decoded; the result is the same as [`Lpm::lookup`]
    /// on each key.
    pub fn lookup_bulk(&self, keys: &[[u8; N]], out: &mut [Option<u32>]) {
        let mut raw = [NO_ROUTE; BULK_CHUNK];
        for (keys, out) in keys.chunks(BULK_CHUNK).zip(out.chunks_mut(BULK_CHUNK)) {
            self.lookup_bulk_raw(keys, &mut raw);
            for (o, r) in out.iter_mut().zip(raw.iter()).take(keys.len()) {
                *o = leaf(*r);
            }
        }
    }

    /// Looks up a burst into plain next hops: `out[i]` is the next hop of `keys[i]`, or
    /// [`NO_ROUTE`]. Keys beyond `out.len()` (or outputs beyond `keys.len()`) are left
    /// alone. The fastest form: no decoding pass (like `rte_fib_lookup_bulk`, which
    /// writes its default next hop for a miss).
    ///
    /// One pass over the keys reads the root entries straight into `out`; only if one of
    /// them points to a group does a pass per further level follow. That pass has no
    /// data-dependent branch (a key already resolved re-reads group 0, a hot line, and
    /// keeps its value), so the CPU keeps many independent cache misses in flight and
    /// never mispredicts.
    #[inline]
    pub fn lookup_bulk_raw(&self, keys: &[[u8; N]], out: &mut [u32]) {
        match self.root_bytes {
            1 => self.bulk::<1>(keys, out),
            2 => self.bulk::<2>(keys, out),
            _ => self.bulk::<3>(keys, out),
        }
    }

    /// [`Lpm::lookup_bulk_raw`] with the root stride as a constant (`RB` bytes).
    #[inline(always)]
    fn bulk<const RB: usize>(&self, keys: &[[u8; N]], out: &mut [u32]) {
        let shift = 32 - 8 * RB as u32;
        let mut pending = 0;
        // The loop the lookup rate depends on: as few instructions per key as possible,
        // so that many independent cache misses fit in the CPU's window.
        for (o, k) in out.iter_mut().zip(keys) {
            let head = k.first_chunk::<4>().copied().unwrap_or_default();
            let e = self
                .root
                .get((u32::from_be_bytes(head) >> shift) as usize)
                .copied()
                .unwrap_or(NO_ROUTE);
            *o = e;
            pending |= e;
        }
        let mut depth = RB;
        while pending & CHILD != 0 && depth < N {
            pending = 0;
            for (o, k) in out.iter_mut().zip(keys) {
                let e = *o;
                // All ones for a pointer, zero for a leaf.
                let sel = 0usize.wrapping_sub((e >> 31) as usize);
                let byte = usize::from(k.get(depth).copied().unwrap_or(0));
                let at = ((((e & !CHILD) as usize) << 8) | byte) & sel;
                let next = self.groups.get(at).copied().unwrap_or(NO_ROUTE);
                *o = if sel != 0 { next } else { e };
                pending |= *o;
            }
            depth += 1;
        }
    }

    /// Number of prefixes the table was built from.
    pub fn len(&self) -> usize {
        self.prefixes
    }

    /// True if built from no prefix.
    pub fn is_empty(&self) -> bool {
        self.prefixes == 0
    }

    /// Bits of the root stride (8, 16 or 24).
    pub fn root_bits(&self) -> u8 {
        (self.root_bytes * 8) as u8
    }

    /// Number of 256-entry groups below the root.
    pub fn group_count(&self) -> usize {
        self.groups.len() / GROUP
    }

    /// The largest next hop any prefix maps to (a scan of the table: control side only).
    pub fn max_next_hop(&self) -> Option<u32> {
        self.root
            .iter()
            .chain(self.groups.iter())
            .filter(|&&e| e & CHILD == 0)
            .filter_map(|&e| leaf(e))
            .max()
    }

    /// Bytes of the lookup arrays (root and groups).
    pub fn memory_bytes(&self) -> usize {
        (self.root.len() + self.groups.len()) * core::mem::size_of::<u32>()
    }
}

impl Lpm<4> {
    /// [`Lpm::lookup`] of an IPv4 address.
    #[inline]
    pub fn lookup_v4(&self, addr: Ipv4Addr) -> Option<u32> {
        self.lookup(&addr.octets())
    }
}

impl Lpm<16> {
    /// [`Lpm::lookup`] of an IPv6 address.
    #[inline]
    pub fn lookup_v6(&self, addr: &Ipv6Addr) -> Option<u32> {
        self.lookup(&addr.octets())
    }
}

/// Why a prefix or next hop cannot be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LpmError {
    /// A prefix length beyond the key's bits.
    BadLength(u8),
    /// A next hop above [`MAX_NEXT_HOP`].
    NextHopTooLarge(u32),
    /// A root stride other than 8, 16 or 24 bits (or wider than the key).
    BadRootBits(u8),
}

impl fmt::Display for LpmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LpmError::BadLength(l) => write!(f, "prefix length {l} is beyond the address"),
            LpmError::NextHopTooLarge(n) => {
                write!(f, "next hop {n} is above the maximum {MAX_NEXT_HOP}")
            }
            LpmError::BadRootBits(b) => write!(f, "root stride {b} is not 8, 16 or 24 bits"),
        }
    }
}

impl std::error::Error for LpmError {}

/// Keeps `len` leading bits of `addr`, zeroing the rest.
pub fn mask<const N: usize>(mut addr: [u8; N], len: u8) -> [u8; N] {
    let len = usize::from(len);
    for (i, b) in addr.iter_mut().enumerate() {
        let keep = len.saturating_sub(i * 8).min(8);
        *b &= if keep == 0 { 0 } else { 0xffu8 << (8 - keep) };
    }
    addr
}

/// The control-side form of an [`Lpm`]: a sorted map of prefixes to next hops, where
/// inserts and removes are cheap; [`LpmBuilder::build`] compiles it.
#[derive(Debug, Clone)]
pub struct LpmBuilder<const N: usize> {
    routes: BTreeMap<([u8; N], u8), u32>,
    root_bits: Option<u8>,
}

impl<const N: usize> Default for LpmBuilder<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> LpmBuilder<N> {
    /// An empty builder with an automatic root stride.
    pub fn new() -> Self {
        LpmBuilder {
            routes: BTreeMap::new(),
            root_bits: None,
        }
    }

    /// Forces the root stride: 8, 16 or 24 bits (24 is DIR-24-8: 64 MiB of root).
    pub fn root_bits(&mut self, bits: u8) -> Result<&mut Self, LpmError> {
        if !matches!(bits, 8 | 16 | 24) || usize::from(bits) > N * 8 {
            return Err(LpmError::BadRootBits(bits));
        }
        self.root_bits = Some(bits);
        Ok(self)
    }

    /// Adds (or replaces) `addr/len` -> `next_hop`; bits of `addr` beyond `len` are
    /// ignored. Returns the next hop it replaced.
    pub fn insert(
        &mut self,
        addr: [u8; N],
        len: u8,
        next_hop: u32,
    ) -> Result<Option<u32>, LpmError> {
        if usize::from(len) > N * 8 {
            return Err(LpmError::BadLength(len));
        }
        if next_hop > MAX_NEXT_HOP {
            return Err(LpmError::NextHopTooLarge(next_hop));
        }
        Ok(self.routes.insert((mask(addr, len), len), next_hop))
    }

    /// Removes `addr/len` (bits beyond `len` ignored); returns its next hop.
    pub fn remove(&mut self, addr: [u8; N], len: u8) -> Option<u32> {
        self.routes.remove(&(mask(addr, len), len))
    }

    /// The next hop of exactly `addr/len`.
    pub fn get(&self, addr: [u8; N], len: u8) -> Option<u32> {
        self.routes.get(&(mask(addr, len), len)).copied()
    }

    /// Number of prefixes.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// True without prefixes.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// Removes every prefix.
    pub fn clear(&mut self) {
        self.routes.clear();
    }

    /// The prefixes `(address, length, next hop)`, in address order.
    pub fn iter(&self) -> impl Iterator<Item = ([u8; N], u8, u32)> + '_ {
        self.routes.iter().map(|(&(a, l), &n)| (a, l, n))
    }

    /// The root stride [`LpmBuilder::build`] picks when none is forced: 8 bits below
    /// [`AUTO_ROOT16_MIN_ROUTES`] prefixes, 24 bits when [`AUTO_ROOT24_MIN_BLOCKS`] /16
    /// blocks hold longer prefixes, else 16.
    pub fn auto_root_bits(&self) -> u8 {
        if self.routes.len() < AUTO_ROOT16_MIN_ROUTES {
            return 8;
        }
        let mut blocks = vec![0u64; 1024];
        let mut count = 0;
        for (addr, len) in self.routes.keys() {
            if *len > 16 {
                let b = (usize::from(addr[0]) << 8) | usize::from(addr[1]);
                if let Some(w) = blocks.get_mut(b / 64) {
                    count += usize::from(*w & (1 << (b % 64)) == 0);
                    *w |= 1 << (b % 64);
                }
            }
        }
        if count >= AUTO_ROOT24_MIN_BLOCKS {
            24
        } else {
            16
        }
    }

    /// Compiles the prefixes into a lookup table.
    pub fn build(&self) -> Lpm<N> {
        let bits = self.root_bits.unwrap_or_else(|| self.auto_root_bits());
        let root_bytes = (usize::from(bits) / 8).clamp(1, N.min(3));
        let mut t = Trie {
            root: vec![NO_ROUTE; 1 << (root_bytes * 8)],
            groups: Vec::new(),
            root_bytes,
        };
        // Shorter prefixes first: a longer one then only overwrites what it refines, and
        // groups created under it inherit the covering leaf.
        let mut order: Vec<(&([u8; N], u8), &u32)> = self.routes.iter().collect();
        order.sort_by_key(|((_, len), _)| *len);
        for (&(addr, len), &nh) in order {
            t.insert(&addr, len, nh);
        }
        Lpm {
            root: t.root.into_boxed_slice(),
            groups: t.groups.into_boxed_slice(),
            root_bytes,
            prefixes: self.routes.len(),
        }
    }
}

/// The table under construction.
struct Trie {
    root: Vec<u32>,
    groups: Vec<u32>,
    root_bytes: usize,
}

impl Trie {
    /// Writes leaf `value` over `count` entries from `start` of the root (`group` None)
    /// or of a group, descending into groups already there.
    fn fill(&mut self, group: Option<usize>, start: usize, count: usize, value: u32) {
        let range = match group {
            None => self.root.get_mut(start..start + count),
            Some(g) => self
                .groups
                .get_mut(g * GROUP + start..g * GROUP + start + count),
        };
        let Some(range) = range else { return };
        if range.iter().all(|&e| e & CHILD == 0) {
            // Always the case when prefixes come shortest first.
            range.fill(value);
            return;
        }
        for i in start..start + count {
            let slot = match group {
                None => self.root.get_mut(i),
                Some(g) => self.groups.get_mut(g * GROUP + i),
            };
            let Some(slot) = slot else { return };
            if *slot & CHILD != 0 {
                // Only reachable if a longer prefix was inserted first; keep it correct.
                let g = (*slot & !CHILD) as usize;
                self.fill(Some(g), 0, GROUP, value);
            } else {
                *slot = value;
            }
        }
    }

    /// The group an entry points to, creating it (filled with the entry's leaf) if the
    /// entry is a leaf.
    fn descend(&mut self, group: Option<usize>, index: usize) -> usize {
        let e = match group {
            None => self.root.get(index),
            Some(g) => self.groups.get(g * GROUP + index),
        }
        .copied()
        .unwrap_or(NO_ROUTE);
        if e & CHILD != 0 {
            return (e & !CHILD) as usize;
        }
        let g = self.groups.len() / GROUP;
        self.groups.resize(self.groups.len() + GROUP, e);
        let slot = match group {
            None => self.root.get_mut(index),
            Some(p) => self.groups.get_mut(p * GROUP + index),
        };
        if let Some(slot) = slot {
            *slot = CHILD | g as u32;
        }
        g
    }

    fn insert<const N: usize>(&mut self, addr: &[u8; N], len: u8, value: u32) {
        let len = usize::from(len);
        let rb = self.root_bytes;
        let root_bits = rb * 8;
        let root_index = addr
            .iter()
            .take(rb)
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        if len <= root_bits {
            self.fill(None, root_index, 1 << (root_bits - len), value);
            return;
        }
        let mut g = self.descend(None, root_index);
        let mut depth = rb;
        loop {
            let byte = usize::from(addr.get(depth).copied().unwrap_or(0));
            let end = (depth + 1) * 8;
            if len <= end {
                self.fill(Some(g), byte, 1 << (end - len), value);
                return;
            }
            g = self.descend(Some(g), byte);
            depth += 1;
        }
    }
}

/// An IPv4 or IPv6 prefix `address/length`, host bits zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IpPrefix {
    addr: IpAddr,
    len: u8,
}

/// Why a string is not an [`IpPrefix`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrefixError {
    /// Not `address/length` with a valid address and a decimal length.
    Syntax,
    /// A length beyond 32 (IPv4) or 128 (IPv6).
    Length,
    /// Bits set beyond the length (e.g. `10.0.0.1/8`).
    HostBits,
}

impl fmt::Display for PrefixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PrefixError::Syntax => "not an `address/length` prefix",
            PrefixError::Length => "prefix length beyond the address",
            PrefixError::HostBits => "address bits set beyond the prefix length",
        })
    }
}

impl std::error::Error for PrefixError {}

impl IpPrefix {
    /// `addr/len` with the bits beyond `len` cleared; `None` if `len` is too long.
    pub fn new(addr: IpAddr, len: u8) -> Option<IpPrefix> {
        let addr = match addr {
            IpAddr::V4(a) if len <= 32 => IpAddr::V4(mask(a.octets(), len).into()),
            IpAddr::V6(a) if len <= 128 => IpAddr::V6(mask(a.octets(), len).into()),
            _ => return None,
        };
        Some(IpPrefix { addr, len })
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u8 {
        self.len
    }

    /// True if `ip` is inside the prefix.
    pub fn contains(&self, ip: &IpAddr) -> bool {
        IpPrefix::new(*ip, self.len).is_some_and(|p| p.addr == self.addr)
    }
}

impl FromStr for IpPrefix {
    type Err = PrefixError;

    /// Parses `address/length`, refusing bits set beyond the length.
    fn from_str(s: &str) -> Result<Self, PrefixError> {
        let (a, l) = s.split_once('/').ok_or(PrefixError::Syntax)?;
        let addr: IpAddr = a.parse().map_err(|_| PrefixError::Syntax)?;
        if l.is_empty() || !l.bytes().all(|b| b.is_ascii_digit()) || l.len() > 3 {
            return Err(PrefixError::Syntax);
        }
        let len: u8 = l.parse().map_err(|_| PrefixError::Length)?;
        let p = IpPrefix::new(addr, len).ok_or(PrefixError::Length)?;
        if p.addr != addr {
            return Err(PrefixError::HostBits);
        }
        Ok(p)
    }
}

impl fmt::Display for IpPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}
