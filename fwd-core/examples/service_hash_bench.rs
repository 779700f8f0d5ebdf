//! Benchmark: the service FIBs' exact-match index (`fwd_core::service::hash::ExactMap`,
//! service ID -> packed candidate run) against DPDK's `rte_hash`
//! (`rte_hash_lookup_bulk_data`, CRC32-C hash, cuckoo buckets of 8, separate key store),
//! bulk lookups of the same keys in the same tables, in bursts (32 unless `--burst`), on
//! the same EAL-pinned core, in the same process. Run by `perf/bench-service-hash.sh`,
//! never by CI.
//!
//! Both tables map the same `--services` 32-bit service IDs (random distinct IDs, or
//! `1..=N` with `--ids sequential`, what `[tables.service_range]` configures) to the same
//! random 31-bit values; rte_hash keys are the IDs' 4 bytes. Lookup keys are service IDs
//! drawn at random from the table (`--miss-pct` of them replaced by absent IDs). Every key
//! is checked to get the same answer from both before timing.
//!
//! Each round times every contender back to back (rte_hash first in even rounds, last in
//! odd ones); a ratio is the median of the per-round ratios (above 1: ExactMap is faster).
//! Contenders: `ExactMap::get_many` (bursts), `ExactMap::get` (one key at a time, what
//! the per-packet path does), `rte_hash_lookup_bulk_data` (the baseline) and
//! `rte_hash_lookup_bulk` (positions only, which an application still has to turn into
//! values).
//!
//! usage: service_hash_bench [--services N] [--lookups N] [--rounds N] [--core N]
//!                           [--burst B] (1..=64) [--miss-pct P] [--ids random|sequential]
//!                           [--rte-entries N] (rte_hash size; default 2 x services, the
//!                           same over-provisioning as ExactMap's load factor 1/2)
//! Prints `key=value` lines.

use std::collections::HashSet;
use std::hint::black_box;
use std::time::Instant;

use dpdk_sys::eal::Eal;
use dpdk_sys::hash::{Hash, BULK_MAX};
use fwd_core::service::hash::ExactMap;

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
}

struct Args {
    services: usize,
    lookups: usize,
    rounds: usize,
    core: u32,
    burst: usize,
    miss_pct: u64,
    sequential: bool,
    rte_entries: Option<u32>,
}

fn args() -> Args {
    let mut a = Args {
        services: 1_000_000,
        lookups: 1_000_000,
        rounds: 9,
        core: 0,
        burst: 32,
        miss_pct: 0,
        sequential: false,
        rte_entries: None,
    };
    let v: Vec<String> = std::env::args().skip(1).collect();
    for w in v.chunks(2) {
        let val = || {
            w.get(1)
                .cloned()
                .unwrap_or_else(|| panic!("{} needs a value", w[0]))
        };
        let n = || -> usize {
            val()
                .parse()
                .unwrap_or_else(|_| panic!("{} needs a number", w[0]))
        };
        match w[0].as_str() {
            "--services" => a.services = n(),
            "--lookups" => a.lookups = n(),
            "--rounds" => a.rounds = n(),
            "--core" => a.core = n() as u32,
            "--burst" => a.burst = n().clamp(1, BULK_MAX),
            "--miss-pct" => a.miss_pct = n().min(100) as u64,
            "--ids" => {
                a.sequential = match val().as_str() {
                    "sequential" => true,
                    "random" => false,
                    other => panic!("--ids random|sequential, not {other}"),
                }
            }
            "--rte-entries" => a.rte_entries = Some(n() as u32),
            other => panic!("unknown argument {other}"),
        }
    }
    a
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

/// Lookups per second of `f` over `n` keys.
fn rate(n: usize, f: impl FnOnce() -> u64) -> f64 {
    let t = Instant::now();
    black_box(f());
    n as f64 / t.elapsed().as_secs_f64()
}

/// `ExactMap::get_many` in bursts; the sum of the values found (so nothing is elided).
fn map_bulk(m: &ExactMap<u32>, keys: &[u32], burst: usize) -> u64 {
    let mut out = [None; BULK_MAX];
    let mut sum = 0u64;
    for b in keys.chunks(burst) {
        let o = &mut out[..b.len()];
        m.get_many(b, o);
        for v in o.iter() {
            sum = sum.wrapping_add(u64::from(v.unwrap_or(0)));
        }
    }
    sum
}

/// `ExactMap::get`, one key at a time.
fn map_single(m: &ExactMap<u32>, keys: &[u32]) -> u64 {
    keys.iter().fold(0u64, |s, k| {
        s.wrapping_add(u64::from(m.get(*k).unwrap_or(0)))
    })
}

/// `rte_hash_lookup_bulk_data` in bursts; misses count 0, like the map's.
fn rte_bulk(h: &Hash, keys: &[[u8; 4]], burst: usize) -> u64 {
    let mut out = [0u64; BULK_MAX];
    let mut sum = 0u64;
    for b in keys.chunks(burst) {
        let o = &mut out[..b.len()];
        let hits = h.get_bulk(b, o).expect("rte_hash lookup");
        for (i, v) in o.iter().enumerate() {
            if hits >> i & 1 == 1 {
                sum = sum.wrapping_add(*v);
            }
        }
    }
    sum
}

/// `rte_hash_lookup_bulk` (positions) in bursts.
fn rte_positions(h: &Hash, keys: &[[u8; 4]], burst: usize) -> u64 {
    let mut out = [0i32; BULK_MAX];
    let mut sum = 0u64;
    for b in keys.chunks(burst) {
        let o = &mut out[..b.len()];
        h.positions_bulk(b, o).expect("rte_hash lookup");
        for p in o.iter() {
            sum = sum.wrapping_add(*p as u64);
        }
    }
    sum
}

fn main() {
    let a = args();
    let eal = Eal::init([
        "service_hash_bench".to_string(),
        "-l".into(),
        a.core.to_string(),
        "--no-huge".into(),
        "-m".into(),
        "1024".into(),
        "--no-pci".into(),
        "--no-shconf".into(),
        "--no-telemetry".into(),
        "--file-prefix=svchashbench".into(),
        "--log-level=lib.eal:warning".into(),
    ])
    .expect("EAL init");
    let socket = eal.socket_id();
    let mut r = Rng(0x005e_4a1c);

    // The services and their values.
    let ids: Vec<u32> = if a.sequential {
        (1..=a.services as u32).collect()
    } else {
        let mut seen = HashSet::with_capacity(a.services);
        let mut v = Vec::with_capacity(a.services);
        while v.len() < a.services {
            let id = r.next() as u32;
            if seen.insert(id) {
                v.push(id);
            }
        }
        v
    };
    let present: HashSet<u32> = ids.iter().copied().collect();
    let pairs: Vec<(u32, u32)> = ids.iter().map(|&id| (id, (r.next() as u32) >> 1)).collect();

    let t0 = Instant::now();
    let map = ExactMap::build(pairs.iter().copied()).expect("ExactMap::build");
    let map_build = t0.elapsed().as_secs_f64();
    let entries = a
        .rte_entries
        .unwrap_or((a.services as u32).saturating_mul(2));
    let mut h = Hash::create("svc_bench", socket, entries, 4).expect("rte_hash_create");
    let t0 = Instant::now();
    for &(id, v) in &pairs {
        h.insert(&id.to_ne_bytes(), u64::from(v))
            .expect("rte_hash_add_key_data");
    }
    let rte_build = t0.elapsed().as_secs_f64();

    // Lookup keys.
    let keys: Vec<u32> = (0..a.lookups)
        .map(|_| {
            if r.below(100) < a.miss_pct {
                loop {
                    let id = r.next() as u32;
                    if !present.contains(&id) {
                        break id;
                    }
                }
            } else {
                ids[r.below(ids.len() as u64) as usize]
            }
        })
        .collect();
    let rkeys: Vec<[u8; 4]> = keys.iter().map(|k| k.to_ne_bytes()).collect();

    // Cross-check every key.
    let mut hits = 0usize;
    for (k, rk) in keys.iter().zip(&rkeys) {
        let want = h.get(rk).expect("rte_hash_lookup_data");
        assert_eq!(map.get(*k).map(u64::from), want, "key {k}");
        hits += usize::from(want.is_some());
    }
    let mut mo = vec![None; a.burst];
    let mut ro = vec![0u64; a.burst];
    for (kb, rb) in keys.chunks(a.burst).zip(rkeys.chunks(a.burst)) {
        map.get_many(kb, &mut mo[..kb.len()]);
        let mask = h.get_bulk(rb, &mut ro[..rb.len()]).expect("bulk");
        for i in 0..kb.len() {
            let rte = (mask >> i & 1 == 1).then_some(ro[i]);
            assert_eq!(mo[i].map(u64::from), rte, "key {}", kb[i]);
        }
    }

    // rte_hash memory: buckets of 64 bytes (8 signatures, 8 key indices) for the entries
    // rounded up to a power of two, and a key store of 16-byte slots (8-byte data + the
    // 4-byte key, aligned) for every entry.
    let rte_mib =
        (entries.next_power_of_two() as f64 / 8.0 * 64.0 + entries as f64 * 16.0) / 1048576.0;
    println!(
        "services={} ids={} lookups={} miss_pct={} hit_fraction={:.3} burst={}",
        a.services,
        if a.sequential { "sequential" } else { "random" },
        keys.len(),
        a.miss_pct,
        hits as f64 / keys.len() as f64,
        a.burst
    );
    println!(
        "map_capacity={} map_max_probe={} map_mem_mib={:.1} map_build_s={:.2}",
        map.capacity(),
        map.max_probe(),
        map.memory_bytes() as f64 / 1048576.0,
        map_build
    );
    println!(
        "rte_entries={} rte_mem_mib={:.1} rte_build_s={:.2}",
        entries, rte_mib, rte_build
    );

    let (mut mb, mut ms, mut rb, mut rp) = (vec![], vec![], vec![], vec![]);
    for round in 0..a.rounds {
        let rte = || rate(keys.len(), || rte_bulk(&h, &rkeys, a.burst));
        if round % 2 == 0 {
            rb.push(rte());
        }
        mb.push(rate(keys.len(), || map_bulk(&map, &keys, a.burst)));
        ms.push(rate(keys.len(), || map_single(&map, &keys)));
        rp.push(rate(keys.len(), || rte_positions(&h, &rkeys, a.burst)));
        if round % 2 == 1 {
            rb.push(rte());
        }
    }
    let ratio = |ours: &[f64]| median(ours.iter().zip(&rb).map(|(o, f)| o / f).collect());
    let mlps = |v: &[f64]| median(v.to_vec()) / 1e6;
    println!("rte_bulk_data_mlps={:.2}", mlps(&rb));
    println!("rte_bulk_positions_mlps={:.2}", mlps(&rp));
    println!("map_bulk_mlps={:.2}", mlps(&mb));
    println!("map_single_mlps={:.2}", mlps(&ms));
    println!("ratio_bulk={:.3}", ratio(&mb));
    println!("ratio_single={:.3}", ratio(&ms));
    println!("ratio_rte_positions={:.3}", ratio(&rp));
    drop((map, h));
    drop(eal);
}
