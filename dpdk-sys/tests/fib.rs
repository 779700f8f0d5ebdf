//! `rte_fib` (DIR24_8) and `rte_fib6` (TRIE) through the safe wrappers, on real EAL
//! (`--no-huge`), against srgate's own LPM (fwd-core's `overlay/lpm.rs`, compiled in here:
//! it depends on nothing but std) and a linear-scan reference, on random overlapping
//! routes with deletes. EAL can be initialised once per process, so this file is one test.

#[allow(dead_code, clippy::all)]
#[path = "../../fwd-core/src/overlay/lpm.rs"]
mod lpm;

use dpdk_sys::eal::Eal;
use dpdk_sys::fib::{Fib4, Fib6, FibConfig, FibError, NextHopSize};

const DEFAULT_NH: u64 = 0x7fff_ffff;

/// splitmix64, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut a = [0u8; N];
        for b in &mut a {
            *b = self.next() as u8;
        }
        a
    }
}

/// Random prefixes around a few bases (so they nest), lengths 0..=bits with /0, /bits and
/// lengths near the strides over-represented.
fn routes<const N: usize>(r: &mut Rng, n: usize) -> Vec<([u8; N], u8, u32)> {
    let bits = (N * 8) as u64;
    let bases: Vec<[u8; N]> = (0..4).map(|_| r.bytes()).collect();
    (0..n)
        .map(|i| {
            let share = r.below(bits + 1) as u8;
            let keep = lpm::mask([0xff; N], share);
            let base = bases[r.below(4) as usize];
            let noise: [u8; N] = r.bytes();
            let mut a = [0u8; N];
            for j in 0..N {
                a[j] = (base[j] & keep[j]) | (noise[j] & !keep[j]);
            }
            let len = match r.below(6) {
                0 => 0,
                1 => bits as u8,
                2 => (bits - r.below(9)) as u8,
                3 => (16 + r.below(17)) as u8,
                _ => r.below(bits + 1) as u8,
            };
            (lpm::mask(a, len), len, i as u32 % 997)
        })
        .filter(|&(a, len, _)| !reaches_top(&a, len))
        .collect()
}

/// True if the prefix's last address is all ones (the /0 among them).
///
/// DPDK 22.11's rte_fib and rte_fib6 (dir24_8.c / trie.c `modify_fib`) compute the end of
/// such a prefix as 0 after wrapping, and when more-specific routes cover it entirely at
/// the time it is added or deleted, the "ledge == redge && ledge != 0" test reads the
/// wrapped edges as "the whole address space" and rewrites every entry of the table
/// (e.g. 128.0.0.0/2, 192.0.0.0/2, then 128.0.0.0/1: every address, 10.0.0.1 included,
/// then resolves to the /1). srgate's LPM has no such case; the comparison leaves these
/// prefixes out (a /0 is rte_fib's default next hop anyway).
fn reaches_top<const N: usize>(a: &[u8; N], len: u8) -> bool {
    let m = lpm::mask([0xff; N], len);
    a.iter().zip(&m).all(|(b, m)| b | !m == 0xff)
}

/// Addresses inside, at the edges of and just outside every prefix, plus random ones.
fn keys<const N: usize>(r: &mut Rng, routes: &[([u8; N], u8, u32)]) -> Vec<[u8; N]> {
    let mut k: Vec<[u8; N]> = (0..2000).map(|_| r.bytes()).collect();
    for &(a, len, _) in routes {
        let m = lpm::mask([0xff; N], len);
        let host: [u8; N] = r.bytes();
        let mut inside = a;
        let mut last = a;
        for j in 0..N {
            inside[j] |= host[j] & !m[j];
            last[j] |= !m[j];
        }
        k.extend([a, inside, last]);
        if len > 0 {
            let mut out = a;
            let b = usize::from(len) - 1;
            out[b / 8] ^= 0x80 >> (b % 8);
            k.push(out);
        }
    }
    k
}

/// The longest covering prefix, by linear scan.
fn reference<const N: usize>(routes: &[([u8; N], u8, u32)], key: &[u8; N]) -> u64 {
    routes
        .iter()
        .filter(|(a, l, _)| lpm::mask(*key, *l) == *a)
        .max_by_key(|(_, l, _)| *l)
        .map_or(DEFAULT_NH, |r| u64::from(r.2))
}

/// Last occurrence of each prefix wins, as in both tables.
fn dedup<const N: usize>(routes: &[([u8; N], u8, u32)]) -> Vec<([u8; N], u8, u32)> {
    let mut m = std::collections::BTreeMap::new();
    for &(a, l, nh) in routes {
        m.insert((a, l), nh);
    }
    m.into_iter().map(|((a, l), nh)| (a, l, nh)).collect()
}

fn check4(fib: &Fib4, table: &lpm::Lpm<4>, live: &[([u8; 4], u8, u32)], keys: &[[u8; 4]]) {
    let ips: Vec<u32> = keys.iter().map(|k| u32::from_be_bytes(*k)).collect();
    let mut got = vec![0u64; ips.len()];
    fib.lookup_bulk(&ips, &mut got).expect("lookup");
    let mut ours = vec![None; keys.len()];
    table.lookup_bulk(keys, &mut ours);
    for ((k, g), o) in keys.iter().zip(&got).zip(&ours) {
        let want = reference(live, k);
        assert_eq!(*g, want, "rte_fib, key {k:?}");
        assert_eq!(o.map_or(DEFAULT_NH, u64::from), want, "lpm, key {k:?}");
    }
}

fn check6(fib: &Fib6, table: &lpm::Lpm<16>, live: &[([u8; 16], u8, u32)], keys: &[[u8; 16]]) {
    let mut got = vec![0u64; keys.len()];
    fib.lookup_bulk(keys, &mut got).expect("lookup");
    for (k, g) in keys.iter().zip(&got) {
        let want = reference(live, k);
        assert_eq!(*g, want, "rte_fib6, key {k:?}");
        assert_eq!(
            table.lookup(k).map_or(DEFAULT_NH, u64::from),
            want,
            "lpm, key {k:?}"
        );
    }
}

#[test]
fn rte_fib_agrees_with_srgate_lpm() {
    let eal = Eal::init([
        "fib",
        "-l",
        "0",
        "--no-huge",
        "-m",
        "512",
        "--no-pci",
        "--no-shconf",
        "--no-telemetry",
        "--iova-mode=va",
        "--file-prefix=fibtest",
        "--log-level=lib.eal:warning",
    ])
    .expect("EAL init");
    let socket = eal.socket_id();
    let mut r = Rng(0x5eed);

    // IPv4: 600 random routes, then a third of them deleted.
    let mut cfg = FibConfig::new(1024, DEFAULT_NH);
    cfg.num_tbl8 = 1 << 12;
    let mut fib = Fib4::create("t_fib4", socket, &cfg).expect("rte_fib_create");
    assert_eq!(fib.name(), "t_fib4");
    assert!(matches!(
        Fib4::create("t_fib4", socket, &cfg),
        Err(FibError::Dpdk { .. })
    ));
    let all = routes::<4>(&mut r, 600);
    let mut b = lpm::LpmBuilder::<4>::new();
    for &(a, l, nh) in &all {
        fib.add(u32::from_be_bytes(a), l, u64::from(nh))
            .expect("rte_fib_add");
        b.insert(a, l, nh).expect("lpm insert");
    }
    let mut live = dedup(&all);
    assert_eq!(b.len(), live.len());
    let k = keys(&mut r, &live);
    check4(&fib, &b.build(), &live, &k);
    let gone: Vec<_> = live.iter().filter(|_| r.below(3) == 0).copied().collect();
    for &(a, l, _) in &gone {
        fib.delete(u32::from_be_bytes(a), l)
            .expect("rte_fib_delete");
        b.remove(a, l).expect("lpm remove");
    }
    live.retain(|x| !gone.contains(x));
    check4(&fib, &b.build(), &live, &k);
    // The 16-bit and 24-bit roots agree too.
    b.root_bits(24).expect("stride");
    check4(&fib, &b.build(), &live, &k);
    b.root_bits(16).expect("stride");
    check4(&fib, &b.build(), &live, &k);

    // Errors of the wrapper.
    assert_eq!(fib.add(0, 33, 1), Err(FibError::BadDepth(33)));
    assert!(matches!(
        fib.add(0, 8, DEFAULT_NH + 1),
        Err(FibError::NextHopTooLarge { .. })
    ));
    let missing = (0u8..=32)
        .map(|l| ([203, 0, 113, 0], l))
        .find(|(a, l)| {
            !live
                .iter()
                .any(|(b, m, _)| b == &lpm::mask(*a, *l) && m == l)
        })
        .expect("a prefix not in the table");
    assert!(matches!(
        fib.delete(u32::from_be_bytes(missing.0), missing.1),
        Err(FibError::Dpdk { .. })
    ));
    let mut short = [0u64; 1];
    assert!(matches!(
        fib.lookup_bulk(&[1, 2], &mut short),
        Err(FibError::LengthMismatch {
            ips: 2,
            next_hops: 1
        })
    ));
    fib.lookup_bulk(&[], &mut []).expect("empty lookup");
    assert!(matches!(
        Fib4::create(&"x".repeat(64), socket, &cfg),
        Err(FibError::BadName(_))
    ));
    assert!(matches!(
        Fib4::create("a\0b", socket, &cfg),
        Err(FibError::BadName(_))
    ));
    assert_eq!(NextHopSize::Two.max_next_hop(), 32767);
    drop(fib);
    // The name is free again once dropped.
    let fib = Fib4::create("t_fib4", socket, &cfg).expect("recreate after drop");
    let mut nh = [0u64; 1];
    fib.lookup_bulk(&[0x0a00_0001], &mut nh).expect("lookup");
    assert_eq!(nh[0], DEFAULT_NH);
    drop(fib);

    // IPv6: 300 random routes, then a third of them deleted.
    let mut cfg6 = FibConfig::new(512, DEFAULT_NH);
    cfg6.num_tbl8 = 1 << 13;
    let mut fib6 = Fib6::create("t_fib6", socket, &cfg6).expect("rte_fib6_create");
    let all = routes::<16>(&mut r, 300);
    let mut b = lpm::LpmBuilder::<16>::new();
    for &(a, l, nh) in &all {
        fib6.add(&a, l, u64::from(nh)).expect("rte_fib6_add");
        b.insert(a, l, nh).expect("lpm insert");
    }
    let mut live = dedup(&all);
    let k = keys(&mut r, &live);
    check6(&fib6, &b.build(), &live, &k);
    let gone: Vec<_> = live.iter().filter(|_| r.below(3) == 0).copied().collect();
    for &(a, l, _) in &gone {
        fib6.delete(&a, l).expect("rte_fib6_delete");
        b.remove(a, l).expect("lpm remove");
    }
    live.retain(|x| !gone.contains(x));
    check6(&fib6, &b.build(), &live, &k);
    assert_eq!(fib6.add(&[0; 16], 129, 1), Err(FibError::BadDepth(129)));
    assert_eq!(fib6.name(), "t_fib6");
    drop(fib6);
    drop(eal);
}
