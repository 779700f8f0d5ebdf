//! The LPM against a plain reference (a linear scan of the prefix list for the longest
//! covering prefix), on random overlapping IPv4 and IPv6 prefixes with inserts, replaces,
//! deletes and rebuilds, and on hand-written cases.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use super::lpm::{mask, IpPrefix, Lpm, LpmBuilder, LpmError, PrefixError, MAX_NEXT_HOP, NO_ROUTE};

/// splitmix64: the random source of one generated scenario (proptest picks the seed).
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

fn bit<const N: usize>(a: &[u8; N], i: usize) -> bool {
    a[i / 8] & (0x80 >> (i % 8)) != 0
}

/// True if the first `len` bits of `a` and `b` agree (written without [`mask`]).
fn same_bits<const N: usize>(a: &[u8; N], b: &[u8; N], len: u8) -> bool {
    (0..usize::from(len)).all(|i| bit(a, i) == bit(b, i))
}

/// The reference: a list of (address as given, length, next hop), replace on insert.
#[derive(Default)]
struct Reference<const N: usize> {
    routes: Vec<([u8; N], u8, u32)>,
}

impl<const N: usize> Reference<N> {
    fn insert(&mut self, a: [u8; N], len: u8, nh: u32) {
        self.remove(a, len);
        self.routes.push((a, len, nh));
    }
    fn remove(&mut self, a: [u8; N], len: u8) {
        self.routes
            .retain(|(b, l, _)| !(*l == len && same_bits(&a, b, len)));
    }
    fn lookup(&self, key: &[u8; N]) -> Option<u32> {
        self.routes
            .iter()
            .filter(|(a, l, _)| same_bits(a, key, *l))
            .max_by_key(|(_, l, _)| *l)
            .map(|r| r.2)
    }
}

/// A prefix near one of a few bases, so that prefixes nest and overlap.
fn gen_prefix<const N: usize>(r: &mut Rng, bases: &[[u8; N]]) -> ([u8; N], u8) {
    let bits = (N * 8) as u64;
    let mut a = bases[r.below(bases.len() as u64) as usize];
    // Keep `share` leading bits of the base, randomise the rest.
    let share = r.below(bits + 1) as u8;
    let noise: [u8; N] = r.bytes();
    for i in 0..N {
        let keep = mask([0xffu8; N], share)[i];
        a[i] = (a[i] & keep) | (noise[i] & !keep);
    }
    let len = match r.below(8) {
        0 => 0,
        1 => bits as u8,
        2 => (bits - r.below(9)) as u8,
        3 => (8 + r.below(17)) as u8,
        _ => r.below(bits + 1) as u8,
    };
    (a, len)
}

/// Keys that hit the edges of the prefixes: inside, at both ends, just past the last bit.
fn gen_keys<const N: usize>(r: &mut Rng, routes: &[([u8; N], u8, u32)]) -> Vec<[u8; N]> {
    let mut keys = vec![[0u8; N], [0xffu8; N]];
    for _ in 0..64 {
        keys.push(r.bytes());
    }
    for &(a, len, _) in routes {
        let host: [u8; N] = r.bytes();
        let net = mask(a, len);
        let mut inside = net;
        let mut last = net;
        for i in 0..N {
            let m = mask([0xffu8; N], len)[i];
            inside[i] |= host[i] & !m;
            last[i] |= !m;
        }
        keys.extend([net, inside, last]);
        if len > 0 {
            let mut flipped = net;
            let b = usize::from(len) - 1;
            flipped[b / 8] ^= 0x80 >> (b % 8);
            keys.push(flipped);
        }
    }
    keys
}

fn check_against<const N: usize>(lpm: &Lpm<N>, reference: &Reference<N>, keys: &[[u8; N]]) {
    let mut bulk = vec![Some(u32::MAX); keys.len()];
    lpm.lookup_bulk(keys, &mut bulk);
    let mut raw = vec![0; keys.len()];
    lpm.lookup_bulk_raw(keys, &mut raw);
    for ((k, b), r) in keys.iter().zip(&bulk).zip(&raw) {
        let want = reference.lookup(k);
        assert_eq!(
            lpm.lookup(k),
            want,
            "key {k:?}, routes {:?}",
            reference.routes
        );
        assert_eq!(*b, want, "bulk, key {k:?}");
        assert_eq!(*r, want.unwrap_or(NO_ROUTE), "bulk raw, key {k:?}");
    }
    assert_eq!(lpm.len(), reference.routes.len());
}

/// One scenario: inserts (some replacing), deletes, rebuilds after each phase.
fn scenario<const N: usize>(seed: u64, root_bits: Option<u8>, n: usize) {
    let mut r = Rng(seed);
    let bases: Vec<[u8; N]> = (0..3).map(|_| r.bytes()).collect();
    let mut b = LpmBuilder::<N>::new();
    if let Some(bits) = root_bits {
        b.root_bits(bits).expect("root bits");
    }
    let mut reference = Reference::<N>::default();
    for phase in 0..3 {
        for _ in 0..n {
            let (a, len) = gen_prefix(&mut r, &bases);
            let nh = r.below(u64::from(MAX_NEXT_HOP) + 1) as u32 % 1000;
            b.insert(a, len, nh).expect("insert");
            reference.insert(a, len, nh);
        }
        if phase > 0 {
            // Delete about a third, plus some prefixes that are not there.
            let victims: Vec<_> = reference
                .routes
                .iter()
                .filter(|_| r.below(3) == 0)
                .copied()
                .collect();
            for (a, len, nh) in victims {
                // Delete through an address with host bits set.
                let mut dirty = a;
                dirty[N - 1] |= 1;
                let dirty = if usize::from(len) == N * 8 { a } else { dirty };
                assert_eq!(b.remove(dirty, len), Some(nh));
                reference.remove(a, len);
            }
            for _ in 0..4 {
                let (a, len) = gen_prefix(&mut r, &bases);
                if reference.lookup_exact(a, len).is_none() {
                    assert_eq!(b.remove(a, len), None);
                }
            }
        }
        let lpm = b.build();
        let keys = gen_keys(&mut r, &reference.routes);
        check_against(&lpm, &reference, &keys);
    }
}

impl<const N: usize> Reference<N> {
    fn lookup_exact(&self, a: [u8; N], len: u8) -> Option<u32> {
        self.routes
            .iter()
            .find(|(b, l, _)| *l == len && same_bits(&a, b, len))
            .map(|r| r.2)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn ipv4_matches_reference(seed in any::<u64>(), root in prop_oneof![Just(None), Just(Some(8u8)), Just(Some(16u8))], n in 1usize..120) {
        scenario::<4>(seed, root, n);
    }

    #[test]
    fn ipv6_matches_reference(seed in any::<u64>(), root in prop_oneof![Just(None), Just(Some(8u8)), Just(Some(16u8))], n in 1usize..80) {
        scenario::<16>(seed, root, n);
    }
}

#[test]
fn dir24_root_matches_reference() {
    // 64 MiB root: a couple of scenarios only.
    scenario::<4>(7, Some(24), 300);
    scenario::<16>(8, Some(24), 100);
}

#[test]
fn auto_root_stride_follows_size() {
    let mut b = LpmBuilder::<4>::new();
    assert_eq!(b.build().root_bits(), 8);
    assert_eq!(b.build().memory_bytes(), 1024);
    for i in 0..super::lpm::AUTO_ROOT16_MIN_ROUTES as u32 {
        b.insert((i << 8).to_be_bytes(), 24, i).expect("insert");
    }
    let t = b.build();
    assert_eq!(t.root_bits(), 16);
    // 1024 /24s share 4 /16s: 4 groups under the 256 KiB root.
    assert_eq!(t.group_count(), 4);
    assert_eq!(t.memory_bytes(), 65536 * 4 + 4 * 1024);
    assert_eq!(t.lookup(&[0, 3, 255, 7]), Some(1023));
    assert_eq!(t.lookup(&[0, 4, 0, 0]), None);
    assert_eq!(t.max_next_hop(), Some(1023));
    // A full-table shape: longer prefixes in half the /16 blocks picks a 24-bit root.
    let mut b = LpmBuilder::<4>::new();
    for i in 0..super::lpm::AUTO_ROOT24_MIN_BLOCKS as u32 - 1 {
        b.insert((i << 16 | 0x100).to_be_bytes(), 24, i)
            .expect("insert");
    }
    assert_eq!(b.auto_root_bits(), 16);
    b.insert([0xff, 0xff, 0, 0], 17, 1).expect("insert");
    assert_eq!(b.auto_root_bits(), 24);
    b.insert([0xff, 0xfe, 0, 0], 16, 1).expect("insert");
    assert_eq!(b.auto_root_bits(), 24);
}

#[test]
fn hand_written_ipv4() {
    let mut b = LpmBuilder::<4>::new();
    b.insert([0, 0, 0, 0], 0, 1).expect("default");
    b.insert([10, 0, 0, 0], 8, 2).expect("/8");
    b.insert([10, 1, 0, 0], 16, 3).expect("/16");
    b.insert([10, 1, 1, 0], 24, 4).expect("/24");
    b.insert([10, 1, 1, 1], 32, 5).expect("/32");
    b.insert([10, 1, 1, 128], 25, 6).expect("/25");
    b.insert([192, 168, 0, 0], 17, 7).expect("/17");
    for bits in [8, 16, 24] {
        b.root_bits(bits).expect("stride");
        let t = b.build();
        let l = |a: [u8; 4]| t.lookup_v4(Ipv4Addr::from(a));
        assert_eq!(l([10, 1, 1, 1]), Some(5));
        assert_eq!(l([10, 1, 1, 2]), Some(4));
        assert_eq!(l([10, 1, 1, 200]), Some(6));
        assert_eq!(l([10, 1, 2, 1]), Some(3));
        assert_eq!(l([10, 2, 0, 0]), Some(2));
        assert_eq!(l([11, 0, 0, 0]), Some(1));
        assert_eq!(l([192, 168, 127, 255]), Some(7));
        assert_eq!(l([192, 168, 128, 0]), Some(1));
        assert_eq!(t.len(), 7);
    }
    // Without the default route, misses are None.
    b.remove([1, 2, 3, 4], 0).expect("removed");
    let t = b.build();
    assert_eq!(t.lookup(&[11, 0, 0, 0]), None);
    assert_eq!(t.lookup(&[10, 9, 9, 9]), Some(2));
    // Replace keeps one entry.
    assert_eq!(b.insert([10, 0, 0, 0], 8, 9), Ok(Some(2)));
    assert_eq!(b.get([10, 200, 0, 0], 8), Some(9));
    assert_eq!(b.len(), 6);
    assert_eq!(b.build().lookup(&[10, 9, 9, 9]), Some(9));
    b.clear();
    assert!(b.is_empty());
    assert!(b.build().is_empty());
    assert_eq!(Lpm::<4>::default().lookup(&[1, 2, 3, 4]), None);
}

#[test]
fn hand_written_ipv6() {
    let p = |s: &str| -> ([u8; 16], u8) {
        let pr: IpPrefix = s.parse().expect("prefix");
        match pr.addr() {
            IpAddr::V6(a) => (a.octets(), pr.len()),
            IpAddr::V4(_) => unreachable!(),
        }
    };
    let mut b = LpmBuilder::<16>::new();
    for (i, s) in [
        "::/0",
        "2001:db8::/32",
        "2001:db8:1::/48",
        "2001:db8:1:2::/64",
        "2001:db8:1:2::1/128",
        "2001:db8:1:2::/127",
        "2001:db8:8000::/33",
    ]
    .iter()
    .enumerate()
    {
        let (a, l) = p(s);
        b.insert(a, l, i as u32).expect("insert");
    }
    let t = b.build();
    let l = |s: &str| t.lookup_v6(&s.parse::<Ipv6Addr>().expect("ip"));
    assert_eq!(l("2001:db8:1:2::1"), Some(4));
    assert_eq!(l("2001:db8:1:2::"), Some(5));
    assert_eq!(l("2001:db8:1:2::2"), Some(3));
    assert_eq!(l("2001:db8:1:3::"), Some(2));
    assert_eq!(l("2001:db8:2::"), Some(1));
    assert_eq!(l("2001:db8:ffff::"), Some(6));
    assert_eq!(l("2001:db9::"), Some(0));
    assert_eq!(l("::"), Some(0));
}

#[test]
fn bulk_handles_any_lengths() {
    let mut b = LpmBuilder::<4>::new();
    b.insert([10, 0, 0, 0], 8, 1).expect("insert");
    b.insert([10, 1, 1, 1], 32, 2).expect("insert");
    let t = b.build();
    let keys: Vec<[u8; 4]> = (0..150u32).map(|i| [10, 1, 1, i as u8]).collect();
    // Output shorter than the keys: only what fits is written.
    let mut out = vec![None; 100];
    t.lookup_bulk(&keys, &mut out);
    assert_eq!(out[1], Some(2));
    assert_eq!(out[99], Some(1));
    // Output longer than the keys: the rest is untouched.
    let mut out = vec![Some(77); 200];
    t.lookup_bulk(&keys, &mut out);
    assert_eq!(out[1], Some(2));
    assert_eq!(out[149], Some(1));
    assert_eq!(out[150], Some(77));
    t.lookup_bulk(&[], &mut out);
    let mut raw = vec![7; 200];
    t.lookup_bulk_raw(&keys, &mut raw[..100]);
    assert_eq!((raw[1], raw[99], raw[100]), (2, 1, 7));
    t.lookup_bulk_raw(&keys, &mut raw);
    assert_eq!((raw[1], raw[149], raw[150]), (2, 1, 7));
    t.lookup_bulk_raw(&[[11, 0, 0, 0]], &mut raw);
    assert_eq!(raw[0], NO_ROUTE);
}

#[test]
fn builder_errors() {
    let mut b = LpmBuilder::<4>::new();
    assert_eq!(b.insert([0; 4], 33, 0), Err(LpmError::BadLength(33)));
    assert_eq!(
        b.insert([0; 4], 8, MAX_NEXT_HOP + 1),
        Err(LpmError::NextHopTooLarge(MAX_NEXT_HOP + 1))
    );
    assert_eq!(b.insert([0; 4], 8, MAX_NEXT_HOP), Ok(None));
    assert_eq!(b.build().lookup(&[0, 1, 2, 3]), Some(MAX_NEXT_HOP));
    assert!(matches!(b.root_bits(12), Err(LpmError::BadRootBits(12))));
    assert!(LpmBuilder::<16>::new().insert([0; 16], 129, 0).is_err());
    assert!(!LpmError::BadRootBits(3).to_string().is_empty());
}

#[test]
fn mask_and_prefixes() {
    assert_eq!(mask([0xff; 4], 0), [0; 4]);
    assert_eq!(mask([0xff; 4], 12), [0xff, 0xf0, 0, 0]);
    assert_eq!(mask([0xff; 4], 32), [0xff; 4]);
    let p: IpPrefix = "10.0.0.0/8".parse().expect("prefix");
    assert_eq!(p.to_string(), "10.0.0.0/8");
    assert!(p.contains(&"10.255.0.1".parse().expect("ip")));
    assert!(!p.contains(&"11.0.0.1".parse().expect("ip")));
    assert!(!p.contains(&"::1".parse().expect("ip")));
    assert_eq!("0.0.0.0/0".parse::<IpPrefix>().map(|p| p.len()), Ok(0));
    assert_eq!("::/0".parse::<IpPrefix>().map(|p| p.len()), Ok(0));
    assert_eq!(
        "2001:db8::1/128".parse::<IpPrefix>().map(|p| p.len()),
        Ok(128)
    );
    assert_eq!("10.0.0.1/8".parse::<IpPrefix>(), Err(PrefixError::HostBits));
    assert_eq!("10.0.0.0/33".parse::<IpPrefix>(), Err(PrefixError::Length));
    assert_eq!("::/129".parse::<IpPrefix>(), Err(PrefixError::Length));
    for bad in [
        "10.0.0.0",
        "10.0.0.0/",
        "10.0.0.0/+8",
        "x/8",
        "10.0.0.0/0008",
        "/8",
    ] {
        assert_eq!(bad.parse::<IpPrefix>(), Err(PrefixError::Syntax), "{bad}");
    }
    assert_eq!(
        IpPrefix::new("10.1.2.3".parse().expect("ip"), 16).map(|p| p.to_string()),
        Some("10.1.0.0/16".into())
    );
    assert_eq!(IpPrefix::new("10.1.2.3".parse().expect("ip"), 33), None);
}
