//! The etcd side of the control plane against a real etcd (Debian's `etcd-server`, started
//! here on loopback ports): TLS with client certificates, registration under a lease and
//! re-registration after the lease is lost, label allocation racing, a lock held by a dead
//! client, watches that resume, resync after a compaction, and reject malformed values.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{eventually, Etcd, Pki, Proxy};
use ctrl_plane::etcd::registration::{self, NodeIdentity, Registered};
use ctrl_plane::etcd::watch::{SyncOptions, SyncReason, Syncer};
use ctrl_plane::etcd::{connect, label, EtcdOptions, Key, Role, TlsFiles, Value, View};
use etcd_client::{Client, GetOptions, LockOptions};

fn opts(endpoint: String) -> EtcdOptions {
    EtcdOptions {
        endpoints: vec![endpoint],
        connect_timeout: Duration::from_millis(500),
        request_timeout: Duration::from_secs(2),
        tls: None,
    }
}

async fn client(e: &Etcd) -> Client {
    connect(&opts(e.endpoint())).await.expect("connect")
}

fn node(name: &str) -> NodeIdentity {
    NodeIdentity {
        role: Role::Fabric,
        name: name.into(),
        site: 1,
        location: Some((48.5, 2.25)),
        locators: vec![ctrl_plane::etcd::schema::Locator::parse(
            "t",
            &format!("{name}/1/10.0.0.1:8811/198.51.100.1:8811/eth0/1000/1000"),
        )
        .unwrap()],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_client_certificates_both_sides_verified() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let etcd = Etcd::start_tls(&pki);
    let tls = |cert: &str, key: &str| TlsFiles {
        ca: pki.file("ca.pem"),
        cert: pki.file(cert),
        key: pki.file(key),
        server_name: Some("localhost".into()),
    };
    let mut o = opts(etcd.endpoint());
    o.tls = Some(tls("client.pem", "client.key"));
    let mut c = connect(&o).await.expect("connect with TLS");
    c.put("/node/fabric/tls1", "1,0,,", None)
        .await
        .expect("put over TLS with a client certificate");
    let r = c.get("/node/fabric/tls1", None).await.unwrap();
    assert_eq!(r.kvs()[0].value(), b"1,0,,");

    // A client certificate from another CA: etcd refuses the handshake.
    o.tls = Some(tls("rogue.pem", "rogue.key"));
    let mut rogue = connect(&o).await.expect("lazy connect");
    assert!(
        rogue.get("/node/fabric/tls1", None).await.is_err(),
        "etcd must refuse a client certificate it did not sign"
    );
    // A server whose certificate the client's CA did not sign: the client refuses.
    o.tls = Some(TlsFiles {
        ca: pki.file("rogue-ca.pem"),
        ..tls("client.pem", "client.key")
    });
    let mut wrong_ca = connect(&o).await.expect("lazy connect");
    assert!(
        wrong_ca.get("/node/fabric/tls1", None).await.is_err(),
        "the client must refuse a server certificate its CA did not sign"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_is_leased_and_comes_back_after_the_lease_is_lost() {
    let etcd = Etcd::start();
    let ep = etcd.endpoint();
    let regs: Arc<Mutex<Vec<Registered>>> = Arc::default();
    let regs2 = Arc::clone(&regs);
    let task = tokio::spawn(registration::maintain(
        move || {
            let o = opts(ep.clone());
            async move { connect(&o).await }
        },
        node("r1"),
        Duration::from_secs(2),
        || vec![("/stats/node/r1".to_string(), "12.5,40".to_string())],
        move |r| regs2.lock().unwrap().push(r),
    ));
    let first = eventually(Duration::from_secs(10), "first registration", || {
        regs.lock().unwrap().first().copied()
    })
    .await;
    assert_eq!(first.label, 0);
    let out = etcd.ctl(&["get", "--prefix", "/", "--keys-only"]);
    for k in [
        "/node/fabric/r1",
        "/service/fabric/r1",
        "/systemlabel/0",
        "/stats/node/r1",
    ] {
        assert!(out.contains(k), "{k} missing from {out}");
    }
    assert_eq!(
        etcd.ctl(&["get", "/node/fabric/r1", "--print-value-only"])
            .trim(),
        "1,0,48.5,2.25"
    );
    // Keep-alive holds the keys well past the TTL.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(etcd.ctl(&["get", "/node/fabric/r1"]).contains("r1"));

    // Revoke the lease (what expiry does): etcd deletes every key of the node at once...
    etcd.ctl(&["lease", "revoke", &format!("{:x}", first.lease)]);
    let keys = etcd.ctl(&["get", "--prefix", "/node", "--keys-only"]);
    assert!(!keys.contains("/node/fabric/r1") || regs.lock().unwrap().len() > 1);
    // ...and the node registers again with a new lease and the same (smallest) label.
    let second = eventually(Duration::from_secs(10), "re-registration", || {
        regs.lock().unwrap().get(1).copied()
    })
    .await;
    assert_ne!(second.lease, first.lease);
    assert_eq!(second.label, 0);
    let c = etcd.ctl(&["get", "/node/fabric/r1", "-w", "json"]);
    assert!(c.contains(&format!("\"lease\":{}", second.lease)), "{c}");
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twelve_nodes_racing_for_labels_get_unique_dense_labels() {
    let etcd = Etcd::start();
    let mut tasks = Vec::new();
    for i in 0..12 {
        let ep = etcd.endpoint();
        tasks.push(tokio::spawn(async move {
            let mut c = connect(&opts(ep)).await.expect("connect");
            let lease = c.lease_grant(30, None).await.unwrap().id();
            label::allocate(&mut c, &format!("n{i}"), lease, Duration::from_secs(20))
                .await
                .expect("label")
        }));
    }
    let mut labels = Vec::new();
    for t in tasks {
        labels.push(t.await.unwrap());
    }
    labels.sort_unstable();
    assert_eq!(labels, (0..12).collect::<Vec<u32>>());
    // etcd agrees: twelve keys, each naming a different node.
    let out = etcd.ctl(&["get", "--prefix", "/systemlabel/"]);
    for x in 0..12 {
        assert!(out.contains(&format!("/systemlabel/{x}\n")), "{out}");
    }
    // A freed label is reused first.
    let mut c = client(&etcd).await;
    c.delete("/systemlabel/4", None).await.unwrap();
    let lease = c.lease_grant(30, None).await.unwrap().id();
    let x = label::allocate(&mut c, "late", lease, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(x, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_held_by_a_dead_client_is_released_by_its_lease() {
    let etcd = Etcd::start();
    {
        // The "dead" client: takes the lock under a 2 s lease and never comes back.
        let mut dead = client(&etcd).await;
        let lease = dead.lease_grant(2, None).await.unwrap().id();
        dead.lock(label::LOCK, Some(LockOptions::new().with_lease(lease)))
            .await
            .unwrap();
    }
    let mut c = client(&etcd).await;
    let lease = c.lease_grant(30, None).await.unwrap().id();
    // While the dead client's lease lives, the lock is held: a short wait times out.
    let e = label::allocate(&mut c, "n1", lease, Duration::from_millis(300))
        .await
        .expect_err("lock still held");
    assert!(e.to_string().contains("/lock/systemlabel"), "{e}");
    // Once the lease expires, allocation goes through.
    let t0 = std::time::Instant::now();
    let x = label::allocate(&mut c, "n1", lease, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(x, 0);
    assert!(t0.elapsed() < Duration::from_secs(8));
}

type Seen = Arc<Mutex<Vec<(View, SyncReason)>>>;

fn start_syncer(endpoint: String) -> (Seen, tokio::task::JoinHandle<Syncer>) {
    let seen: Seen = Arc::default();
    let seen2 = Arc::clone(&seen);
    let task = tokio::spawn(async move {
        let o = opts(endpoint);
        let client = connect(&o).await.expect("connect");
        let mut s = Syncer::new(SyncOptions::default());
        s.run(
            client,
            move || {
                let o = o.clone();
                async move { connect(&o).await }
            },
            move |v, why| {
                seen2.lock().unwrap().push((v.clone(), why));
                true
            },
        )
        .await;
        s
    });
    (seen, task)
}

fn latest(seen: &Seen) -> Option<View> {
    seen.lock().unwrap().last().map(|(v, _)| v.clone())
}

fn snapshots(seen: &Seen) -> (usize, usize) {
    let s = seen.lock().unwrap();
    let total = s
        .iter()
        .filter(|(_, r)| matches!(r, SyncReason::Snapshot { .. }))
        .count();
    let compaction = s
        .iter()
        .filter(|(_, r)| {
            matches!(
                r,
                SyncReason::Snapshot {
                    after_compaction: true
                }
            )
        })
        .count();
    (total, compaction)
}

fn has(v: &View, key: &str) -> bool {
    v.get(&Key::parse(key).unwrap()).is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_resumes_from_its_revision_after_a_broken_connection() {
    let etcd = Etcd::start();
    let proxy = Proxy::start(etcd.client);
    let mut c = client(&etcd).await;
    // More keys than one snapshot page, to exercise paging at one revision.
    for i in 0..6000 {
        c.put(format!("/sid/prefix/n{i}"), format!("{i}"), None)
            .await
            .unwrap();
    }
    let (seen, task) = start_syncer(proxy.endpoint());
    let v = eventually(Duration::from_secs(20), "snapshot", || {
        latest(&seen).filter(|v| v.len() == 6000)
    })
    .await;
    assert!(v.revision() > 0);
    c.put("/srgb/n1", "16000,8000", None).await.unwrap();
    eventually(Duration::from_secs(5), "a watched put", || {
        latest(&seen).filter(|v| has(v, "/srgb/n1"))
    })
    .await;

    // Cut the syncer off; change things meanwhile; let it back in.
    proxy.cut();
    tokio::time::sleep(Duration::from_millis(300)).await;
    c.put("/srgb/n2", "17000,8000", None).await.unwrap();
    c.delete("/sid/prefix/n5", None).await.unwrap();
    c.put("/sid/prefix/n6", "999", None).await.unwrap();
    proxy.restore();
    let v = eventually(
        Duration::from_secs(15),
        "changes made while cut off",
        || latest(&seen).filter(|v| has(v, "/srgb/n2") && !has(v, "/sid/prefix/n5")),
    )
    .await;
    assert_eq!(
        v.get(&Key::parse("/sid/prefix/n6").unwrap()),
        Some(&Value::SidIndex(999))
    );
    assert_eq!(v.len(), 6000 + 2 - 1);
    // Resumed, not reloaded: still one snapshot.
    assert_eq!(snapshots(&seen), (1, 0));
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compaction_while_cut_off_forces_a_full_resync() {
    let etcd = Etcd::start();
    let proxy = Proxy::start(etcd.client);
    let mut c = client(&etcd).await;
    c.put("/srgb/a", "1000,1000", None).await.unwrap();
    c.put("/srgb/b", "2000,1000", None).await.unwrap();
    let (seen, task) = start_syncer(proxy.endpoint());
    eventually(Duration::from_secs(10), "snapshot", || {
        latest(&seen).filter(|v| v.len() == 2)
    })
    .await;
    proxy.cut();
    tokio::time::sleep(Duration::from_millis(300)).await;
    c.delete("/srgb/a", None).await.unwrap();
    c.put("/srgb/c", "3000,1000", None).await.unwrap();
    let rev = c.put("/srgb/d", "4000,1000", None).await.unwrap();
    let rev = rev.header().unwrap().revision();
    etcd.ctl(&["compaction", &rev.to_string()]);
    proxy.restore();
    let v = eventually(Duration::from_secs(15), "resync after compaction", || {
        latest(&seen).filter(|v| has(v, "/srgb/d"))
    })
    .await;
    assert!(!has(&v, "/srgb/a"), "the compacted delete must be seen");
    assert!(has(&v, "/srgb/b") && has(&v, "/srgb/c"));
    assert_eq!(v.revision(), rev);
    assert_eq!(snapshots(&seen), (2, 1));
    // And the watch goes on after the resync.
    c.put("/srgb/e", "5000,1000", None).await.unwrap();
    eventually(Duration::from_secs(5), "a put after the resync", || {
        latest(&seen).filter(|v| has(v, "/srgb/e"))
    })
    .await;
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_values_are_rejected_and_the_previous_state_stays() {
    let etcd = Etcd::start();
    let mut c = client(&etcd).await;
    let (seen, task) = start_syncer(etcd.endpoint());
    eventually(Duration::from_secs(10), "snapshot", || latest(&seen)).await;
    c.put("/srgb/r1", "16000,8000", None).await.unwrap();
    c.put("/node/fabric/r1", "1,7,,", None).await.unwrap();
    eventually(Duration::from_secs(5), "valid values", || {
        latest(&seen).filter(|v| v.len() == 2)
    })
    .await;
    // Out of range, garbage, a 24-bit label overflow, an unknown key, non-UTF-8.
    c.put("/srgb/r1", "1048000,8000", None).await.unwrap();
    c.put("/node/fabric/r1", "1,16777216,,", None)
        .await
        .unwrap();
    c.put("/systemlabel/99999999", "r9", None).await.unwrap();
    c.put("/route/5/rt1/rd1/10.0.0.0/8", "100/r9/", None)
        .await
        .unwrap();
    c.put("/srgb/r2", vec![0xffu8, 0xfe], None).await.unwrap();
    c.put("/stats/linkstate/garbage", "1,2,3,4", None)
        .await
        .unwrap();
    let v = eventually(Duration::from_secs(5), "rejections", || {
        latest(&seen).filter(|v| v.rejected() >= 5)
    })
    .await;
    assert_eq!(
        v.get(&Key::parse("/srgb/r1").unwrap()),
        Some(&Value::Srgb {
            base: 16000,
            size: 8000
        })
    );
    assert!(matches!(
        v.get(&Key::parse("/node/fabric/r1").unwrap()),
        Some(Value::Node(n)) if n.label == 7
    ));
    // The one valid write among them went in.
    assert!(has(&v, "/route/5/rt1/rd1/10.0.0.0/8"));
    assert_eq!(v.len(), 3);
    task.abort();
    // The lock's own keys never reach the view.
    let mut c2 = client(&etcd).await;
    let l = c2.lease_grant(10, None).await.unwrap().id();
    label::allocate(&mut c2, "x", l, Duration::from_secs(5))
        .await
        .unwrap();
    let r = c2
        .get("/lock/", Some(GetOptions::new().with_prefix()))
        .await
        .unwrap();
    assert_eq!(r.kvs().len(), 0, "lock released");
}

/// The member that leads the cluster now.
fn leader(members: &[Etcd]) -> usize {
    for (i, m) in members.iter().enumerate() {
        let out = m.ctl(&["endpoint", "status", "-w", "json"]);
        let v: serde_json::Value = serde_json::from_str(&out).expect("status json");
        let s = &v[0]["Status"];
        if s["header"]["member_id"] == s["leader"] {
            return i;
        }
    }
    panic!("no leader among {} members", members.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_thread_goes_on_when_the_etcd_leader_is_killed() {
    use ctrl_plane::controller::{Compiled, Controller, ControllerConfig};
    let mut members = Etcd::cluster(3, None);
    let endpoints: Vec<String> = members.iter().map(Etcd::endpoint).collect();
    let published: Arc<Mutex<Vec<Compiled>>> = Arc::default();
    let p2 = Arc::clone(&published);
    let cfg = ControllerConfig {
        etcd: EtcdOptions {
            endpoints: endpoints.clone(),
            ..opts(String::new())
        },
        node: node("a"),
        lease_ttl: Duration::from_secs(3),
        static_keys: vec![
            ("/srgb/a".into(), "16000,1000".into()),
            ("/sid/prefix/a".into(), "1".into()),
        ],
        links: vec![],
        stats_interval: Duration::from_secs(1),
        sync: SyncOptions::default(),
        overlay: None,
        service: None,
        token_mode: None,
        dyncast_adjacency: None,
        reverse_paths: false,
        probes: None,
    };
    let ctl = Controller::spawn(
        cfg,
        || {},
        move |c| {
            p2.lock().unwrap().push(c);
            Ok(())
        },
    )
    .expect("control thread");
    let status = ctl.status();
    let has_label = |label: u32| {
        let p = Arc::clone(&published);
        move || {
            p.lock()
                .unwrap()
                .last()
                .and_then(|c| c.mpls.as_ref())
                .filter(|m| m.lfib.iter().any(|e| e.label == label))
                .map(|_| ())
        }
    };
    // Registered, and its own prefix SID compiled: 16001 pop-and-lookup.
    eventually(
        Duration::from_secs(15),
        "first compilation",
        has_label(16001),
    )
    .await;
    let lease_before = members[0].ctl(&["get", "/node/fabric/a", "-w", "json"]);

    // Kill the leader outright.
    let l = leader(&members);
    members[l].kill();
    let alive: Vec<&Etcd> = members
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != l)
        .map(|(_, m)| m)
        .collect();
    // A new node appears through a surviving member; the control thread sees it and
    // compiles a path to it.
    let mut c = connect(&opts(alive[0].endpoint())).await.unwrap();
    let put = |k: &'static str, v: &'static str| {
        let mut c = c.clone();
        async move {
            // The cluster needs a moment to elect a new leader.
            for _ in 0..100 {
                if c.put(k, v, None).await.is_ok() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("no leader after the kill");
        }
    };
    put("/node/fabric/b", "1,9,,").await;
    put("/srgb/b", "17000,1000").await;
    put("/sid/prefix/b", "2").await;
    put(
        "/stats/linkstate/a/1/10.0.0.1:8811/198.51.100.1:8811/eth0/1000/1000->b/1/10.0.0.2:8811/10.0.0.2:8811/p0/1000/1000",
        "0,100,0,0,10",
    )
    .await;
    put(
        "/service/fabric/b",
        "b/1/10.0.0.2:8811/10.0.0.2:8811/p0/1000/1000",
    )
    .await;
    eventually(
        Duration::from_secs(20),
        "compilation after the leader died",
        has_label(16002),
    )
    .await;
    // Registered all along: still one registration, the same lease, keys in place.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        status
            .registrations
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    let lease_after = alive[0].ctl(&["get", "/node/fabric/a", "-w", "json"]);
    let lease_of = |s: &str| -> i64 {
        let v: serde_json::Value = serde_json::from_str(s).unwrap();
        v["kvs"][0]["lease"].as_i64().expect("a leased key")
    };
    assert_eq!(lease_of(&lease_before), lease_of(&lease_after));
    let _ = c.get("/", None).await;
    ctl.stop();
}
