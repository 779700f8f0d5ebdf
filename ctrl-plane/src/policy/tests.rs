//! [`PolicyState`]: etcd puts and deletes dispatched to each family.

use std::collections::BTreeSet;

use fwd_core::srou::FlowId;

use super::*;

fn fid(b: &[u8]) -> FlowId {
    FlowId::new(b).unwrap()
}

#[test]
fn puts_and_deletes_reach_each_family() {
    let t0 = Instant::now();
    let mut s = PolicyState::new(Duration::from_secs(10));
    assert_eq!(s.put("/token/block/0x0a", "", t0), Ok(Affects::Tokens));
    assert_eq!(
        s.put("/token/permit/0x0b", "anything", t0),
        Ok(Affects::Tokens)
    );
    assert_eq!(
        s.put("/identity/alice/0x0c", "staff", t0),
        Ok(Affects::Tokens)
    );
    assert_eq!(s.put("/policy/staff/db", "deny", t0), Ok(Affects::Tokens));
    assert_eq!(s.put("/key/r1", "K1", t0), Ok(Affects::Keys));
    assert_eq!(
        s.put("/control/rt1/5/*/*/10.0.0.0/8", "drop", t0),
        Ok(Affects::Control)
    );
    let db = BTreeSet::from(["db".parse::<GroupTag>().unwrap()]);
    let d = s.access.decide(&db);
    assert_eq!(d.block, BTreeSet::from([fid(&[0x0a]), fid(&[0x0c])]));
    assert_eq!(d.permit, BTreeSet::from([fid(&[0x0b])]));
    let r1 = KeyScope::Node("r1".into());
    assert!(s.keys.accepts(&r1, b"K1", t0));
    assert_eq!(s.control.len(), 1);

    // A rekey through put.
    s.put("/key/r1", "K1,K2", t0 + Duration::from_secs(1))
        .unwrap();
    assert!(s.keys.accepts(&r1, b"K1", t0 + Duration::from_secs(10)));
    assert!(!s.keys.accepts(&r1, b"K1", t0 + Duration::from_secs(11)));

    assert_eq!(s.delete("/token/block/0x0a"), Ok(Affects::Tokens));
    assert_eq!(
        s.delete("/token/block/0x0a"),
        Ok(Affects::Tokens),
        "idempotent"
    );
    assert_eq!(s.delete("/identity/alice/0x0c"), Ok(Affects::Tokens));
    assert_eq!(s.delete("/policy/staff/db"), Ok(Affects::Tokens));
    assert_eq!(s.delete("/key/r1"), Ok(Affects::Keys));
    assert!(!s.keys.accepts(&r1, b"K2", t0), "deletion revokes at once");
    assert_eq!(
        s.delete("/control/rt1/5/*/*/10.0.0.0/255.0.0.0"),
        Ok(Affects::Control)
    );
    assert!(s.control.is_empty());
    let d = s.access.decide(&db);
    assert!(d.block.is_empty());
    assert_eq!(d.permit, BTreeSet::from([fid(&[0x0b])]));
}

#[test]
fn errors_change_nothing() {
    let t0 = Instant::now();
    let mut s = PolicyState::new(Duration::from_secs(10));
    s.put("/identity/alice/0x0c", "staff", t0).unwrap();
    s.put("/key/r1", "K1", t0).unwrap();
    let e = |r: Result<Affects, PolicyError>| r.unwrap_err().to_string();
    assert_eq!(
        e(s.put("/identity/alice/0x0c", " ", t0)),
        "value of \"/identity/alice/0x0c\": expected at least one group tag, e.g. \
         \"staff,finance\", got \" \""
    );
    assert!(e(s.put("/key/r1", "K2,,", t0)).contains("got key 2 of 3 with 0 bytes"));
    assert!(e(s.put("/policy/a/b", "maybe", t0)).contains("got \"maybe\""));
    assert!(e(s.put("/control/rt1/5/*/*/10.0.0.0/8", "nowhere", t0)).contains("value of"));
    assert_eq!(
        e(s.put("/stats/node/r1", "1,2", t0)),
        "key \"/stats/node/r1\": expected a key under /token/, /identity/, /policy/, /key/ or \
         /control/, got \"/stats/node/r1\""
    );
    assert!(e(s.delete("/stats/node/r1")).contains("expected a key under"));
    assert!(e(s.delete("/token/maybe/0x01")).contains("`permit` or `block`"));
    assert!(e(s.delete("/key/a/b")).contains("SystemName"));
    assert!(e(s.delete("/identity/x")).contains("/identity/<userid>/<device_id>"));
    assert!(e(s.delete("/policy/x")).contains("/policy/<src_grp>/<dst_grp>"));
    assert!(e(s.delete("/control/x")).contains("/control/<RT>/2/"));
    // Still as before.
    assert!(s
        .access
        .groups_of(&fid(&[0x0c]))
        .is_some_and(|g| g.contains(&"staff".parse::<GroupTag>().unwrap())));
    assert!(s.keys.accepts(&KeyScope::Node("r1".into()), b"K1", t0));
    assert!(s.control.is_empty());
}

proptest::proptest! {
    /// Whatever the key and value, put and delete return (no panic).
    #[test]
    fn never_panics(
        family in proptest::sample::select(vec!["/token/", "/identity/", "/policy/", "/key/", "/control/", "/x/"]),
        rest in "[ -~]{0,60}",
        value in "[ -~\\u{80}-\\u{10ffff}]{0,60}",
    ) {
        let mut s = PolicyState::new(Duration::from_secs(1));
        let key = format!("{family}{rest}");
        let _ = s.put(&key, &value, Instant::now());
        let _ = s.delete(&key);
    }
}
