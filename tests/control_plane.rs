//! One srgate under the etcd control plane, with pktgen over net_memif: what etcd says
//! reaches the packets. Exact counters, no timing.
//!
//! SRoU tokens (seed `000_*`, "Access Control"): a Flow ID blocked under `/token/block/`
//! is dropped by the data plane (`srou-token-blocked`) once the control thread has
//! compiled and published the token lists; while etcd is down the data plane goes on with
//! its last tables; once etcd is back, deleting the key lets the same flow through.

mod common;
#[path = "../ctrl-plane/tests/common/mod.rs"]
mod etcd_harness;

use std::time::{Duration, Instant};

use common::node::{memif, pktgen, u, Node, EAL};
use etcd_harness::Etcd;
use serde_json::Value;

fn run_pktgen(dir: &std::path::Path, sock: &std::path::Path, round: u32) -> Value {
    let prof = dir.join(format!("pktgen-{round}.toml"));
    std::fs::write(
        &prof,
        format!(
            "[eal]\n{EAL}\nfile_prefix = \"cp-pg{round}\"\n\n[run]\ncores = [1]\nstats_interval_ms = 0\ndrain_ms = 1000\nidle_loops = 64\nidle_sleep_us = 100\n\n[mempool]\nmbufs = 8191\ncache = 128\n\n{}[traffic]\ntx_port = \"gw\"\nrx_port = \"gw\"\nprotocol = \"srou\"\nflows = 3\nsize = 200\nrate_pps = 50000\ncount = 3000\n\n[traffic.srou]\nsource = \"10.0.0.1:4000\"\nlocators = [\"10.99.3.1:8811\"]\nflow_id = \"0x000123\"\n",
            memif("gw", "client", sock)
        ),
    )
    .unwrap();
    let json = dir.join(format!("pktgen-{round}.json"));
    let out = std::process::Command::new(pktgen())
        .args(["run", "--profile"])
        .arg(&prof)
        .arg("--json")
        .arg(&json)
        .output()
        .expect("pktgen");
    assert!(
        out.status.success(),
        "pktgen: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap()
}

fn publications(n: &Node) -> usize {
    n.log()
        .matches("control plane published new tables")
        .count()
}

fn wait_publications(n: &Node, at_least: usize) {
    let t0 = Instant::now();
    while publications(n) < at_least {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "no publication #{at_least}:\n{}",
            n.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_token_blocked_in_etcd_is_dropped_stays_blocked_while_etcd_is_down_and_passes_once_unblocked() {
    let mut etcd = Etcd::start();
    etcd.ctl(&["put", "/token/block/0x000123", ""]);
    let tmp = tempfile::tempdir().unwrap();
    let sock = tmp.path().join("7.sock");
    let body = format!(
        "{}[tables.srou]\n[[tables.srou.locator]]\naddress = \"10.99.3.1:8811\"\ndecap = true\n\n[tables.srou.decap]\nport = \"gen\"\ndst_mac = \"02:00:00:00:00:99\"\n",
        memif("gen", "server", &sock)
    );
    let node = Node::start(
        tmp.path(),
        "gw1",
        &etcd.endpoint(),
        3,
        &(body, String::new()),
    );
    wait_publications(&node, 1);

    // Blocked: every packet is a counted drop.
    let first = run_pktgen(tmp.path(), &sock, 1);
    assert_eq!(u(&first, "/tx/packets"), 3000);
    assert_eq!(u(&first, "/rx/packets"), 0, "a blocked token must not pass");

    // etcd goes away: the data plane keeps its last tables (still blocked), no crash.
    etcd.kill();
    let outage = run_pktgen(tmp.path(), &sock, 2);
    assert_eq!(
        u(&outage, "/rx/packets"),
        0,
        "last tables kept while etcd is down"
    );
    etcd.restart();

    // Unblocked through etcd, once the control thread has reconnected.
    let before = publications(&node);
    etcd.ctl(&["del", "/token/block/0x000123"]);
    wait_publications(&node, before + 1);
    let second = run_pktgen(tmp.path(), &sock, 3);
    assert_eq!(
        u(&second, "/rx/packets"),
        3000,
        "the token passes once unblocked"
    );

    let st = node.stop();
    assert_eq!(u(&st, "/total/drops/srou-token-blocked"), 6000);
    assert_eq!(u(&st, "/total/srou/decapsulated"), 3000);
    assert_eq!(u(&st, "/total/rx_packets"), 9000);
    assert!(u(&st, "/control/publications") >= 2);
    // The lease (3 s) outlived the short outage or was granted again: registered either way.
    assert!(u(&st, "/control/registrations") >= 1);
}

/// Issue 4 E: each node's data-plane STAMP session-sender probes its neighbour's
/// reflector over the memif link, and the control thread publishes what it measured under
/// `/stats/linkstate` (instead of the configured 123456 us) with zero loss.
#[test]
fn link_state_in_etcd_is_measured_by_stamp_probes_through_the_data_plane() {
    let etcd = Etcd::start();
    let tmp = tempfile::tempdir().unwrap();
    let sock = tmp.path().join("8.sock");
    let node = |me: &str, peer: &str, role: &str, mine: &str, theirs: &str| {
        (
            format!(
                "{}[[adjacency]]\nname = \"{peer}\"\nport = \"link\"\ndst_mac = \"02:00:00:00:00:01\"\n\n[tables.stamp]\naddresses = [\"{mine}\"]\n\n[[tables.stamp.sender]]\nid = 1\nadjacency = \"{peer}\"\nsource = \"{mine}\"\nsource_port = 40862\nreflector = \"{theirs}\"\ninterval_ms = 50\n",
                memif("link", role, &sock)
            ),
            format!(
                "stats_interval_ms = 300\n[[control.link]]\nneighbor = \"{peer}\"\nmetric = 10\ndelay_us = 123456\nprobe = 1\n# {me}\n"
            ),
        )
    };
    let a = Node::start(
        tmp.path(),
        "pa",
        &etcd.endpoint(),
        3,
        &node("pa", "pb", "server", "10.0.0.1", "10.0.0.2"),
    );
    let b = Node::start(
        tmp.path(),
        "pb",
        &etcd.endpoint(),
        3,
        &node("pb", "pa", "client", "10.0.0.2", "10.0.0.1"),
    );
    // Both links measured: delay no longer the configured 123456 us, no loss.
    let t0 = Instant::now();
    let measured = loop {
        let out = etcd.ctl(&["get", "--prefix", "/stats/linkstate/"]);
        let lines: Vec<&str> = out.lines().collect();
        let values: Vec<Vec<u64>> = lines
            .chunks(2)
            .filter(|c| c.len() == 2)
            .map(|c| c[1].split(',').filter_map(|x| x.parse().ok()).collect())
            .collect();
        if values.len() == 2 && values.iter().all(|v| v.len() == 5 && v[1] != 123_456) {
            break values;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "link state not measured:\n{out}\n{}",
            a.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    for v in &measured {
        let (_jitter, delay, loss, _load, metric) = (v[0], v[1], v[2], v[3], v[4]);
        assert!(
            delay < 100_000,
            "a memif hop measures well under 100 ms: {v:?}"
        );
        assert_eq!(loss, 0, "{v:?}");
        assert_eq!(metric, 10, "the IGP metric stays the configured one");
    }
    let sa = a.stop();
    let sb = b.stop();
    for s in [&sa, &sb] {
        let sessions = s["stamp_sessions"].as_array().expect("stamp_sessions");
        assert!(u(&sessions[0], "/received") > 0, "{s}");
        assert!(
            u(s, "/total/handled/stamp") > 0,
            "each node reflected the other's probes"
        );
    }
}
