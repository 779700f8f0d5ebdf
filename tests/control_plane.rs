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
