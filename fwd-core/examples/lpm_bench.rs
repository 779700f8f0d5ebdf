//! Benchmark: srgate's LPM (`fwd_core::overlay::lpm`) against DPDK's `rte_fib` (IPv4,
//! DIR24_8, 4-byte next hops) and `rte_fib6` (IPv6, TRIE), bulk lookups of the same keys
//! in the same routes, in bursts (32 unless `--burst`), on the same EAL-pinned core, in
//! the same process. Run by `perf/bench-lpm.sh`, never by CI.
//!
//! Each round times every contender back to back (rte_fib first in even rounds, last in
//! odd ones); a ratio is the median of the per-round ratios.
//!
//! Routes: random prefixes with a BGP-like length mix plus overlay host routes (IPv4:
//! 55% /24, 15% /22-/23, 21% /16-/21, 1% /8-/15, 8% /25-/32; IPv6: in 2000::/3, 50% /48,
//! 35% /32-/47, 5% /28-/31, 10% /49-/64), duplicates removed, added shortest first
//! (DPDK 22.11's rte_fib rewrites its whole table when a prefix reaching the top of the
//! address space is added under routes covering it: see dpdk-sys/tests/fib.rs). Keys: 3/4
//! random addresses inside random routes, 1/4 uniformly random. Every key is checked to
//! get the same next hop from all tables before timing.
//!
//! usage: lpm_bench [--routes N] [--keys N] [--rounds N] [--core N] [--v6-routes N]
//!                  [--inside-pct P] (share of keys drawn inside routes, default 75)
//!                  [--burst B] (keys per lookup call, default 32, at most 256)
//! Prints `key=value` lines; the `ratio_*` lines are LPM lookups/s over rte_fib's.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

use dpdk_sys::eal::Eal;
use dpdk_sys::fib::{Fib4, Fib6, FibConfig};
use fwd_core::overlay::lpm::{Lpm, LpmBuilder};

const DEFAULT_NH: u64 = 0x7fff_ffff;

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
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
}

struct Args {
    routes: usize,
    keys: usize,
    rounds: usize,
    core: u32,
    v6_routes: usize,
    inside_pct: u64,
    burst: usize,
}

fn args() -> Args {
    let mut a = Args {
        routes: 1_000_000,
        keys: 1_000_000,
        rounds: 5,
        core: 0,
        v6_routes: 100_000,
        inside_pct: 75,
        burst: 32,
    };
    let v: Vec<String> = std::env::args().skip(1).collect();
    for w in v.chunks(2) {
        let n = || -> usize {
            w.get(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("{} needs a number", w[0]))
        };
        match w[0].as_str() {
            "--routes" => a.routes = n(),
            "--keys" => a.keys = n(),
            "--rounds" => a.rounds = n(),
            "--core" => a.core = n() as u32,
            "--v6-routes" => a.v6_routes = n(),
            "--inside-pct" => a.inside_pct = n() as u64,
            "--burst" => a.burst = n().clamp(1, 256),
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

fn mask<const N: usize>(a: [u8; N], len: u8) -> [u8; N] {
    fwd_core::overlay::lpm::mask(a, len)
}

fn routes4(r: &mut Rng, n: usize) -> Vec<([u8; 4], u8, u32)> {
    let mut m = BTreeMap::new();
    while m.len() < n {
        let len = match r.below(100) {
            0..=54 => 24,
            55..=69 => r.range(22, 23),
            70..=90 => r.range(16, 21),
            91 => r.range(8, 15),
            _ => r.range(25, 32),
        } as u8;
        let a = mask((r.next() as u32).to_be_bytes(), len);
        m.insert((a, len), r.below(1 << 20) as u32);
    }
    sorted(m)
}

fn routes6(r: &mut Rng, n: usize) -> Vec<([u8; 16], u8, u32)> {
    let mut m = BTreeMap::new();
    while m.len() < n {
        let len = match r.below(100) {
            0..=49 => 48,
            50..=84 => r.range(32, 47),
            85..=89 => r.range(28, 31),
            _ => r.range(49, 64),
        } as u8;
        let mut a = ((u128::from(r.next()) << 64) | u128::from(r.next())).to_be_bytes();
        a[0] = 0x20 | (a[0] & 0x1f);
        m.insert((mask(a, len), len), r.below(1 << 20) as u32);
    }
    sorted(m)
}

/// Shortest first (see the module documentation).
fn sorted<const N: usize>(m: BTreeMap<([u8; N], u8), u32>) -> Vec<([u8; N], u8, u32)> {
    let mut v: Vec<_> = m.into_iter().map(|((a, l), nh)| (a, l, nh)).collect();
    v.sort_by_key(|&(_, l, _)| l);
    v
}

fn keys<const N: usize>(
    r: &mut Rng,
    routes: &[([u8; N], u8, u32)],
    n: usize,
    inside_pct: u64,
) -> Vec<[u8; N]> {
    (0..n)
        .map(|_| {
            let mut k = [0u8; N];
            for b in &mut k {
                *b = r.next() as u8;
            }
            if r.below(100) < inside_pct {
                let (a, len, _) = routes[r.below(routes.len() as u64) as usize];
                let m = mask([0xff; N], len);
                for i in 0..N {
                    k[i] = a[i] | (k[i] & !m[i]);
                }
            }
            k
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Lookups per second: `n` keys in `secs` seconds.
fn rate(n: usize, secs: f64) -> f64 {
    n as f64 / secs
}

fn time(f: impl FnOnce() -> u64) -> f64 {
    let t = Instant::now();
    black_box(f());
    t.elapsed().as_secs_f64()
}

/// `Lpm::lookup_bulk_raw`: plain next hops, `NO_ROUTE` for a miss (as rte_fib writes
/// its default next hop).
fn lpm_bulk<const N: usize>(t: &Lpm<N>, keys: &[[u8; N]], burst: usize) -> u64 {
    let mut out = [0u32; 256];
    let mut sum = 0u64;
    for b in keys.chunks(burst) {
        let o = &mut out[..b.len()];
        t.lookup_bulk_raw(b, o);
        for v in o.iter() {
            sum = sum.wrapping_add(u64::from(*v));
        }
    }
    sum
}

/// `Lpm::lookup_bulk`: `Option` next hops.
fn lpm_bulk_option<const N: usize>(t: &Lpm<N>, keys: &[[u8; N]], burst: usize) -> u64 {
    let mut out = [None; 256];
    let mut sum = 0u64;
    for b in keys.chunks(burst) {
        t.lookup_bulk(b, &mut out[..b.len()]);
        for o in &out[..b.len()] {
            sum = sum.wrapping_add(u64::from(o.unwrap_or(0)));
        }
    }
    sum
}

fn lpm_single<const N: usize>(t: &Lpm<N>, keys: &[[u8; N]]) -> u64 {
    keys.iter().fold(0u64, |s, k| {
        s.wrapping_add(u64::from(t.lookup(k).unwrap_or(0)))
    })
}

fn fib4_bulk(f: &Fib4, ips: &[u32], burst: usize) -> u64 {
    let mut out = [0u64; 256];
    let mut sum = 0u64;
    for b in ips.chunks(burst) {
        let o = &mut out[..b.len()];
        f.lookup_bulk(b, o).expect("rte_fib lookup");
        for v in o.iter() {
            sum = sum.wrapping_add(*v);
        }
    }
    sum
}

fn fib6_bulk(f: &Fib6, ips: &[[u8; 16]], burst: usize) -> u64 {
    let mut out = [0u64; 256];
    let mut sum = 0u64;
    for b in ips.chunks(burst) {
        let o = &mut out[..b.len()];
        f.lookup_bulk(b, o).expect("rte_fib6 lookup");
        for v in o.iter() {
            sum = sum.wrapping_add(*v);
        }
    }
    sum
}

fn main() {
    let a = args();
    let eal = Eal::init([
        "lpm_bench".to_string(),
        "-l".into(),
        a.core.to_string(),
        "--no-huge".into(),
        "-m".into(),
        "3072".into(),
        "--no-pci".into(),
        "--no-shconf".into(),
        "--no-telemetry".into(),
        "--file-prefix=lpmbench".into(),
        "--log-level=lib.eal:warning".into(),
    ])
    .expect("EAL init");
    let socket = eal.socket_id();
    let mut r = Rng(0x00c0_ffee);

    // IPv4.
    let routes = routes4(&mut r, a.routes);
    let keys4 = keys(&mut r, &routes, a.keys, a.inside_pct);
    let ips: Vec<u32> = keys4.iter().map(|k| u32::from_be_bytes(*k)).collect();
    let mut b = LpmBuilder::<4>::new();
    let t0 = Instant::now();
    for &(addr, len, nh) in &routes {
        b.insert(addr, len, nh).expect("insert");
    }
    // The table as srgate builds it (automatic root stride), and the other stride.
    let lpm = b.build();
    let build_s = t0.elapsed().as_secs_f64();
    b.root_bits(if lpm.root_bits() == 16 { 24 } else { 16 })
        .expect("stride");
    let other = b.build();
    let mut cfg = FibConfig::new(a.routes as u32 + 16, DEFAULT_NH);
    cfg.num_tbl8 = 1 << 17;
    let mut fib = Fib4::create("bench_fib4", socket, &cfg).expect("rte_fib_create");
    let t0 = Instant::now();
    for &(addr, len, nh) in &routes {
        fib.add(u32::from_be_bytes(addr), len, u64::from(nh))
            .expect("rte_fib_add");
    }
    let fib_build = t0.elapsed().as_secs_f64();

    // Cross-check every key.
    let mut want = vec![0u64; ips.len()];
    fib.lookup_bulk(&ips, &mut want).expect("lookup");
    for (i, k) in keys4.iter().enumerate() {
        assert_eq!(
            lpm.lookup(k).map_or(DEFAULT_NH, u64::from),
            want[i],
            "key {k:?}"
        );
        assert_eq!(other.lookup(k).map_or(DEFAULT_NH, u64::from), want[i]);
    }
    let hits = want.iter().filter(|&&w| w != DEFAULT_NH).count();

    println!("v4_routes={}", routes.len());
    println!(
        "v4_keys={} v4_hit_fraction={:.3} burst={}",
        ips.len(),
        hits as f64 / ips.len() as f64,
        a.burst
    );
    println!(
        "v4_lpm_root_bits={} v4_lpm_mem_mib={:.1} v4_lpm_groups={} v4_lpm_build_s={:.2}",
        lpm.root_bits(),
        lpm.memory_bytes() as f64 / 1048576.0,
        lpm.group_count(),
        build_s
    );
    println!(
        "v4_other_root_bits={} v4_other_mem_mib={:.1}",
        other.root_bits(),
        other.memory_bytes() as f64 / 1048576.0
    );
    println!(
        "v4_rte_fib_mem_mib={:.1} v4_rte_fib_add_s={:.2}",
        ((1usize << 24) * 4 + cfg.num_tbl8 as usize * 256 * 4) as f64 / 1048576.0,
        fib_build
    );
    // Each round times every contender back to back (rte_fib first in even rounds, last
    // in odd ones); a ratio is the median of the per-round ratios, so that the noise of a
    // shared machine hits both sides of each ratio alike.
    let (mut lb, mut lother, mut ls, mut lo, mut fb) = (vec![], vec![], vec![], vec![], vec![]);
    for round in 0..a.rounds {
        let fib_rate = || rate(ips.len(), time(|| fib4_bulk(&fib, &ips, a.burst)));
        if round % 2 == 0 {
            fb.push(fib_rate());
        }
        lb.push(rate(ips.len(), time(|| lpm_bulk(&lpm, &keys4, a.burst))));
        lother.push(rate(ips.len(), time(|| lpm_bulk(&other, &keys4, a.burst))));
        ls.push(rate(ips.len(), time(|| lpm_single(&lpm, &keys4))));
        lo.push(rate(
            ips.len(),
            time(|| lpm_bulk_option(&lpm, &keys4, a.burst)),
        ));
        if round % 2 == 1 {
            fb.push(fib_rate());
        }
    }
    let ratio = |ours: &[f64]| median(ours.iter().zip(&fb).map(|(o, f)| o / f).collect());
    let mlps = |v: &[f64]| median(v.to_vec()) / 1e6;
    println!("v4_rte_fib_mlps={:.2}", mlps(&fb));
    println!("v4_lpm_bulk_mlps={:.2}", mlps(&lb));
    println!("v4_other_bulk_mlps={:.2}", mlps(&lother));
    println!("v4_lpm_single_mlps={:.2}", mlps(&ls));
    println!("v4_lpm_bulk_option_mlps={:.2}", mlps(&lo));
    println!("ratio_v4={:.3}", ratio(&lb));
    println!("ratio_v4_other={:.3}", ratio(&lother));
    println!("ratio_v4_single={:.3}", ratio(&ls));
    println!("ratio_v4_bulk_option={:.3}", ratio(&lo));
    drop((fib, lpm, other, b));

    // IPv6.
    if a.v6_routes == 0 {
        return;
    }
    let routes = routes6(&mut r, a.v6_routes);
    let keys6 = keys(&mut r, &routes, a.keys, a.inside_pct);
    let mut b = LpmBuilder::<16>::new();
    for &(addr, len, nh) in &routes {
        b.insert(addr, len, nh).expect("insert");
    }
    let lpm6 = b.build();
    let mut cfg = FibConfig::new(a.v6_routes as u32 + 16, DEFAULT_NH);
    cfg.num_tbl8 = (a.v6_routes as u32).saturating_mul(4).max(1 << 12);
    let mut fib6 = Fib6::create("bench_fib6", socket, &cfg).expect("rte_fib6_create");
    for &(addr, len, nh) in &routes {
        fib6.add(&addr, len, u64::from(nh)).expect("rte_fib6_add");
    }
    let mut want = vec![0u64; keys6.len()];
    fib6.lookup_bulk(&keys6, &mut want).expect("lookup");
    for (k, w) in keys6.iter().zip(&want) {
        assert_eq!(
            lpm6.lookup(k).map_or(DEFAULT_NH, u64::from),
            *w,
            "key {k:?}"
        );
    }
    println!("v6_routes={} v6_keys={}", routes.len(), keys6.len());
    println!(
        "v6_lpm_root_bits={} v6_lpm_mem_mib={:.1} v6_lpm_groups={}",
        lpm6.root_bits(),
        lpm6.memory_bytes() as f64 / 1048576.0,
        lpm6.group_count()
    );
    let (mut l6, mut f6) = (vec![], vec![]);
    for round in 0..a.rounds {
        let fib_rate = || rate(keys6.len(), time(|| fib6_bulk(&fib6, &keys6, a.burst)));
        if round % 2 == 0 {
            f6.push(fib_rate());
        }
        l6.push(rate(keys6.len(), time(|| lpm_bulk(&lpm6, &keys6, a.burst))));
        if round % 2 == 1 {
            f6.push(fib_rate());
        }
    }
    let ratio6 = median(l6.iter().zip(&f6).map(|(o, f)| o / f).collect());
    println!("v6_rte_fib6_mlps={:.2}", median(f6) / 1e6);
    println!("v6_lpm_bulk_mlps={:.2}", median(l6) / 1e6);
    println!("ratio_v6={:.3}", ratio6);
    drop((fib6, lpm6));
    drop(eal);
}
