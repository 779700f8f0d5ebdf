//! The MPLS fast swap ([`crate::mpls::forward::swap_fast`]) against the general path it
//! short-cuts: on any frame, either it declines and leaves the frame untouched, or it
//! forwards exactly as the general path would (same port, same handler, same bytes).

use proptest::prelude::*;

use super::testutil::general;
use super::*;
use crate::mpls::forward::swap_fast;
use crate::mpls::lfib::{Lfib, LfibAction, NextHop};
use crate::mpls::vlfib::{Vlfib, VlfibId};

fn adj(port: u16) -> Adjacency {
    Adjacency {
        port,
        dst_mac: [0x02, 0xd0, 0, 0, 0, port as u8],
        src_mac: [0x02, 0x50, 0, 0, 0, port as u8],
    }
}

/// Labels 16..=23, one of each kind the LFIB holds, and a cross-connect for the rest.
fn pipeline() -> Pipeline {
    let mut b = Lfib::builder();
    let entries = [
        (16, LfibAction::swap(adj(1), 1000).unwrap()),
        (17, LfibAction::swap(adj(2), 17).unwrap()),
        (
            18,
            LfibAction::ecmp(vec![
                NextHop::swap(adj(1), 1800).unwrap(),
                NextHop::swap(adj(2), 1800).unwrap(),
            ])
            .unwrap(),
        ),
        (
            19,
            LfibAction::ecmp(vec![
                NextHop::swap(adj(1), 1900).unwrap(),
                NextHop::swap(adj(2), 1901).unwrap(),
            ])
            .unwrap(),
        ),
        (20, LfibAction::pop(adj(3))),
        (21, LfibAction::push(adj(1), &[2100, 2101]).unwrap()),
        (22, LfibAction::PopAndLookup),
        (23, LfibAction::Anycast(VlfibId(0))),
    ];
    for (label, action) in entries {
        b.insert(label, action).unwrap();
    }
    let mut v = Vlfib::builder();
    v.insert(16, vec![NextHop::swap(adj(4), 4016).unwrap()])
        .unwrap();
    let mut p = Pipeline::new();
    p.set_mpls(MplsTables::new(b.freeze(), vec![v.freeze()]).unwrap());
    p.set_xconnect(0, adj(9)).unwrap();
    p
}

/// An MPLS frame: `stack` of `(label, tc, s, ttl)` after VLAN tags with the TPIDs
/// `tags`, then `payload`.
fn frame(ethertype: u16, tags: &[u16], stack: &[(u32, u8, bool, u8)], payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x02, 0xbb, 0, 0, 0, 1, 0x02, 0xaa, 0, 0, 0, 1];
    for tpid in tags {
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&[0x00, 0x64]);
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    for &(label, tc, s, ttl) in stack {
        let lse = (label << 12) | (u32::from(tc & 7) << 9) | (u32::from(s) << 8) | u32::from(ttl);
        f.extend_from_slice(&lse.to_be_bytes());
    }
    f.extend_from_slice(payload);
    f
}

fn check(p: &Pipeline, f: &[u8]) -> Result<bool, TestCaseError> {
    let mut fast = f.to_vec();
    match swap_fast(p.mpls(), &mut fast) {
        None => {
            prop_assert_eq!(&fast[..], f, "declined, yet the frame changed");
            Ok(false)
        }
        Some(a) => {
            let (action, out, _) = general(p, f);
            prop_assert_eq!(
                action,
                Action::Forward {
                    port: a.port,
                    handler: Handler::Mpls
                }
            );
            prop_assert_eq!(fast, out);
            Ok(true)
        }
    }
}

#[test]
fn takes_the_plain_swap_and_declines_the_rest() {
    let p = pipeline();
    let ip = [0x45u8, 0, 0, 20];
    let swap = frame(0x8847, &[], &[(16, 5, true, 64)], &ip);
    let mut out = swap.clone();
    assert_eq!(swap_fast(p.mpls(), &mut out), Some(&adj(1)));
    assert_eq!(
        &out[..12],
        &[0x02, 0xd0, 0, 0, 0, 1, 0x02, 0x50, 0, 0, 0, 1]
    );
    assert_eq!(
        &out[14..18],
        &((1000 << 12) | (5 << 9) | (1 << 8) | 63u32).to_be_bytes()
    );
    assert_eq!(&out[18..], &ip);
    // A deeper stack is swapped too, the labels under it untouched.
    let deep = frame(0x8847, &[], &[(17, 0, false, 9), (99, 1, true, 7)], &ip);
    let mut out = deep.clone();
    assert_eq!(swap_fast(p.mpls(), &mut out), Some(&adj(2)));
    assert_eq!(&out[18..], &deep[18..]);
    // Under one or two VLAN tags (802.1Q, 802.1ad), the tags untouched.
    for tags in [&[0x8100][..], &[0x88a8, 0x8100]] {
        let tagged = frame(0x8847, tags, &[(16, 2, true, 5)], &ip);
        let l3 = 14 + 4 * tags.len();
        let mut out = tagged.clone();
        assert_eq!(swap_fast(p.mpls(), &mut out), Some(&adj(1)));
        assert_eq!(&out[12..l3], &tagged[12..l3]);
        assert_eq!(
            &out[l3..l3 + 4],
            &((1000 << 12) | (2 << 9) | (1 << 8) | 4u32).to_be_bytes()
        );
    }
    // What the general path decides instead: TTL 1, ECMP, pop, push, pop-and-lookup,
    // anycast, unknown and reserved labels, three VLAN tags (one more than the parser
    // takes), multicast MPLS, a stack without a bottom within the parser's bound, a
    // truncated entry.
    let declined = [
        frame(0x8847, &[], &[(16, 0, true, 1)], &ip),
        frame(0x8847, &[], &[(18, 0, true, 64)], &ip),
        frame(0x8847, &[], &[(19, 0, true, 64)], &ip),
        frame(0x8847, &[], &[(20, 0, true, 64)], &ip),
        frame(0x8847, &[], &[(21, 0, true, 64)], &ip),
        frame(0x8847, &[], &[(22, 0, false, 64), (16, 0, true, 64)], &ip),
        frame(0x8847, &[], &[(23, 0, false, 64), (16, 0, true, 64)], &ip),
        frame(0x8847, &[], &[(24, 0, true, 64)], &ip),
        frame(0x8847, &[], &[(3, 0, true, 64)], &ip),
        frame(0x8847, &[0x8100, 0x8100, 0x8100], &[(16, 0, true, 64)], &ip),
        frame(0x8847, &[0x8100], &[(16, 0, true, 1)], &ip),
        frame(0x8848, &[], &[(16, 0, true, 64)], &ip),
        frame(0x8847, &[], &[(16, 0, false, 64); 9], &ip),
        frame(0x8847, &[], &[(16, 0, false, 64); 3], &[]),
        frame(0x8847, &[], &[(16, 0, true, 64)], &[])[..17].to_vec(),
    ];
    for f in declined {
        let mut out = f.clone();
        assert_eq!(swap_fast(p.mpls(), &mut out), None, "{f:02x?}");
        assert_eq!(out, f);
    }
}

fn arb_entry() -> impl Strategy<Value = (u32, u8, bool, u8)> {
    (
        prop_oneof![4 => 14u32..26, 1 => 0u32..16, 1 => 0u32..=0xfffff],
        0u8..8,
        any::<bool>(),
        prop_oneof![Just(0u8), Just(1), Just(2), Just(64), any::<u8>()],
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn same_as_the_general_path(
        ethertype in prop_oneof![6 => Just(0x8847u16), 1 => Just(0x8848), 1 => Just(0x0800)],
        tags in proptest::collection::vec(
            prop_oneof![Just(0x8100u16), Just(0x88a8), Just(0x8847)],
            0..4,
        ),
        stack in proptest::collection::vec(arb_entry(), 0..11),
        payload in proptest::collection::vec(any::<u8>(), 0..24),
        cut in any::<prop::sample::Index>(),
        truncate in proptest::bool::weighted(0.1),
    ) {
        let p = pipeline();
        let mut f = frame(ethertype, &tags, &stack, &payload);
        if truncate {
            f.truncate(cut.index(f.len() + 1));
        }
        check(&p, &f)?;
    }
}
