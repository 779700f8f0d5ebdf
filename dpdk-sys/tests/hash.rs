//! `rte_hash` through the safe wrapper, on real EAL (`--no-huge`), against a `HashMap`:
//! inserts and replacements, single and bulk lookups (values and positions) of present
//! and absent keys, and the errors the wrapper reports. EAL can be initialised once per
//! process, so this file is one test.

use std::collections::HashMap;

use dpdk_sys::eal::Eal;
use dpdk_sys::hash::{Hash, HashError, BULK_MAX, MAX_NAME_LEN};

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
    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut a = [0u8; N];
        for b in &mut a {
            *b = self.next() as u8;
        }
        a
    }
}

/// Fills `h` with `n` random keys (some replaced), then checks every lookup path against
/// the reference on present keys mixed with absent ones.
fn against_reference<const N: usize>(h: &mut Hash, r: &mut Rng, n: usize) {
    let mut reference: HashMap<[u8; N], u64> = HashMap::new();
    for i in 0..n {
        let k: [u8; N] = r.bytes();
        let v = r.next() >> 1;
        h.insert(&k, v).expect("insert");
        reference.insert(k, v);
        if i % 7 == 0 {
            h.insert(&k, v ^ 1).expect("replace");
            reference.insert(k, v ^ 1);
        }
    }
    assert_eq!(h.len(), reference.len());
    let present: Vec<[u8; N]> = reference.keys().copied().collect();
    let mut probe: Vec<[u8; N]> = Vec::new();
    for (i, k) in present.iter().enumerate() {
        probe.push(*k);
        if i % 3 == 0 {
            probe.push(r.bytes());
        }
    }
    for k in &probe {
        assert_eq!(h.get(k).unwrap(), reference.get(k).copied());
    }
    let mut positions_of: HashMap<i32, [u8; N]> = HashMap::new();
    for burst in probe.chunks(BULK_MAX - 5) {
        let mut values = vec![u64::MAX; burst.len()];
        let hits = h.get_bulk(burst, &mut values).unwrap();
        let mut positions = vec![0i32; burst.len()];
        h.positions_bulk(burst, &mut positions).unwrap();
        for (i, k) in burst.iter().enumerate() {
            let want = reference.get(k).copied();
            assert_eq!(hits >> i & 1 == 1, want.is_some());
            match want {
                Some(v) => {
                    assert_eq!(values[i], v);
                    assert!(positions[i] >= 0);
                    // One key per position.
                    assert_eq!(*positions_of.entry(positions[i]).or_insert(*k), *k);
                }
                None => {
                    assert_eq!(values[i], u64::MAX, "a miss leaves its slot alone");
                    assert!(positions[i] < 0);
                }
            }
        }
    }
}

#[test]
fn rte_hash_matches_a_hashmap() {
    let eal = Eal::init([
        "hash",
        "-l",
        "0",
        "--no-huge",
        "-m",
        "512",
        "--no-pci",
        "--no-shconf",
        "--no-telemetry",
        "--iova-mode=va",
        "--file-prefix=hashtest",
        "--log-level=lib.eal:warning",
    ])
    .expect("EAL init");
    let socket = eal.socket_id();
    let mut r = Rng(0x5eed);

    let mut h4 = Hash::create("t4", socket, 1 << 14, 4).expect("create");
    assert!(h4.is_empty());
    assert_eq!((h4.name(), h4.key_len()), ("t4", 4));
    against_reference::<4>(&mut h4, &mut r, 5000);

    let mut h16 = Hash::create("t16", socket, 1 << 12, 16).expect("create");
    against_reference::<16>(&mut h16, &mut r, 2000);

    // Errors.
    assert!(matches!(
        h4.get(&[0u8; 16]),
        Err(HashError::KeyLength {
            expected: 4,
            got: 16
        })
    ));
    assert!(matches!(
        h4.insert(&[0u8; 3], 1),
        Err(HashError::KeyLength { .. })
    ));
    let many = vec![[0u8; 4]; BULK_MAX + 1];
    let mut out = vec![0u64; BULK_MAX + 1];
    assert_eq!(
        h4.get_bulk(&many, &mut out).unwrap_err(),
        HashError::Bulk {
            keys: BULK_MAX + 1,
            out: BULK_MAX + 1
        }
    );
    assert!(h4.get_bulk(&many[..2], &mut out[..1]).is_err());
    let mut pos = vec![0i32; 1];
    assert!(h4.positions_bulk(&many[..2], &mut pos).is_err());
    assert!(matches!(
        Hash::create(&"x".repeat(MAX_NAME_LEN + 1), socket, 64, 4),
        Err(HashError::BadName(_))
    ));
    assert!(matches!(
        Hash::create("nul\0", socket, 64, 4),
        Err(HashError::BadName(_))
    ));
    assert!(matches!(
        Hash::create("zero", socket, 64, 0),
        Err(HashError::KeyLength { .. })
    ));
    let e = Hash::create("t4", socket, 64, 4).unwrap_err();
    assert!(matches!(e, HashError::Dpdk { .. }), "{e}");

    // A full table refuses adds.
    let mut tiny = Hash::create("tiny", socket, 8, 4).expect("create");
    let mut full = None;
    for i in 0..1000u32 {
        if let Err(e) = tiny.insert(&i.to_ne_bytes(), 1) {
            full = Some(e);
            break;
        }
    }
    assert!(
        matches!(full, Some(HashError::Dpdk { .. })),
        "{full:?} after {} keys",
        tiny.len()
    );
    drop((h4, h16, tiny));
    drop(eal);
}
