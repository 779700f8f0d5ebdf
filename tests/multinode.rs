//! Several srgate processes and a real etcd, end to end (issue 4 J).
//!
//! Four nodes, each its own DPDK process (`--file-prefix`), joined by net_memif links, and
//! pktgen feeding node a and listening behind node c:
//!
//! ```text
//!             10        10
//!   pktgen -> a ------- b ------- c -> pktgen
//!              \                 /
//!            20 `------ d ------' 20
//! ```
//!
//! The nodes register in etcd, get dense system labels, publish their SRGBs, prefix SIDs
//! and links, and compile their LFIBs from SPF over what they see. pktgen sends MPLS
//! packets labelled for c's prefix SID (a's label 16003) over a 999 label that c pops
//! towards pktgen. Traffic crosses a -> b -> c. Then b is killed (SIGKILL: no goodbye); its
//! lease expires, etcd deletes its keys, and a moves the traffic to a -> d -> c: packets
//! lost during the failover fit within the lease TTL plus one second at the offered rate.

#[path = "../ctrl-plane/tests/common/mod.rs"]
mod etcd_harness;

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::node::{adjacency, memif, pktgen, scopeguard, u, Node, EAL};
use etcd_harness::Etcd;
use serde_json::Value;

const TTL_S: u64 = 2;
const RATE_PPS: u64 = 2000;
#[test]
fn traffic_crosses_a_b_c_and_fails_over_to_d_when_b_dies() {
    let etcd = Etcd::start();
    let ep = etcd.endpoint();
    let tmp = tempfile::tempdir().unwrap();
    let s = |n: &str| tmp.path().join(format!("{n}.sock"));
    // memif device names must differ within a process: the socket stem numbers them.
    let (ab, ad, bc, dc, ga, gc) = (s("1"), s("2"), s("3"), s("4"), s("5"), s("6"));
    let cfg = |ports: &[String],
               adjs: &[String],
               base: u32,
               sid: u32,
               links: &[(&str, u32)],
               extra: &str| {
        let mut t = ports.concat() + &adjs.concat();
        t += &format!("[tables.mpls]\nsrgb = {{ base = {base}, size = 1000 }}\n{extra}\n");
        let mut c = format!("prefix_sid = {sid}\n");
        for (n, m) in links {
            c += &format!("[[control.link]]\nneighbor = \"{n}\"\nmetric = {m}\n");
        }
        (t, c)
    };
    // Node bodies: ports, adjacencies (named after the neighbour), SRGB; [control] fields.
    let a = cfg(
        &[
            memif("gen", "server", &ga),
            memif("to-b", "server", &ab),
            memif("to-d", "server", &ad),
        ],
        &[adjacency("b", "to-b"), adjacency("d", "to-d")],
        16000,
        1,
        &[("b", 10), ("d", 20)],
        "",
    );
    let b = cfg(
        &[memif("to-a", "client", &ab), memif("to-c", "server", &bc)],
        &[adjacency("a", "to-a"), adjacency("c", "to-c")],
        17000,
        2,
        &[("a", 10), ("c", 10)],
        "",
    );
    let d = cfg(
        &[memif("to-a", "client", &ad), memif("to-c", "server", &dc)],
        &[adjacency("a", "to-a"), adjacency("c", "to-c")],
        19000,
        4,
        &[("a", 20), ("c", 20)],
        "",
    );
    let c = cfg(
        &[
            memif("to-b", "client", &bc),
            memif("to-d", "client", &dc),
            memif("gen", "server", &gc),
        ],
        &[
            adjacency("b", "to-b"),
            adjacency("d", "to-d"),
            adjacency("sink", "gen"),
        ],
        18000,
        3,
        &[("b", 10), ("d", 20)],
        "[[tables.mpls.lfib]]\nlabel = 999\naction = \"pop\"\npaths = [{ adjacency = \"sink\" }]\n",
    );

    // Servers before their clients: a, then b and d (clients of a), then c.
    let na = Node::start(tmp.path(), "a", &ep, TTL_S, &a);
    let mut nb = Node::start(tmp.path(), "b", &ep, TTL_S, &b);
    let nd = Node::start(tmp.path(), "d", &ep, TTL_S, &d);
    let nc = Node::start(tmp.path(), "c", &ep, TTL_S, &c);

    // Registration: four nodes, dense labels; eight links; then a's LFIB goes via b.
    let t0 = Instant::now();
    loop {
        let labels = etcd.ctl(&["get", "--prefix", "/systemlabel/", "--keys-only"]);
        let links = etcd.ctl(&["get", "--prefix", "/stats/linkstate/", "--keys-only"]);
        let n_links = links.lines().filter(|l| !l.is_empty()).count();
        if (0..4).all(|x| labels.contains(&format!("/systemlabel/{x}\n"))) && n_links == 8 {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "registration did not converge:\n{labels}\n{links}\n{}",
            na.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!etcd
        .ctl(&["get", "--prefix", "/systemlabel/"])
        .contains("/systemlabel/4"));
    std::thread::sleep(Duration::from_millis(500));
    for n in [&na, &nb, &nc, &nd] {
        n.wait_log(
            "control plane published new tables",
            Duration::from_secs(10),
        );
    }

    // pktgen: MPLS [16003 (c's prefix SID at a), 999 (c pops it to pktgen)].
    let prof = tmp.path().join("pktgen.toml");
    let count = RATE_PPS * 12;
    std::fs::write(
        &prof,
        format!(
            "[eal]\n{EAL}\nfile_prefix = \"mn-pg\"\n\n[run]\ncores = [1]\nstats_interval_ms = 0\ndrain_ms = 1500\nidle_loops = 64\nidle_sleep_us = 100\n\n[mempool]\nmbufs = 8191\ncache = 128\n\n{}{}[traffic]\ntx_port = \"tx\"\nrx_port = \"rx\"\nprotocol = \"mpls\"\nflows = 4\nsize = 96\nrate_pps = {RATE_PPS}\ncount = {count}\n\n[traffic.mpls]\nlabels = [16003, 999]\n",
            memif("tx", "client", &ga),
            memif("rx", "client", &gc)
        ),
    )
    .unwrap();
    let json = tmp.path().join("pktgen.json");
    let pg = Command::new(pktgen())
        .args(["run", "--profile"])
        .arg(&prof)
        .arg("--json")
        .arg(&json)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(tmp.path().join("pktgen.log")).unwrap())
        .spawn()
        .expect("spawn pktgen");
    let mut pg = scopeguard(pg);

    // Four seconds via b, then b dies without a word.
    std::thread::sleep(Duration::from_secs(4));
    nb.kill();
    let killed = Instant::now();
    // b's lease expires and its keys go.
    loop {
        let nodes = etcd.ctl(&["get", "--prefix", "/node/", "--keys-only"]);
        if !nodes.contains("/node/fabric/b") {
            break;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(TTL_S + 5),
            "b's lease did not expire"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let st = pg.0.wait().expect("pktgen ran");
    assert!(
        st.success(),
        "pktgen: {}",
        std::fs::read_to_string(tmp.path().join("pktgen.log")).unwrap_or_default()
    );
    let pg: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let sa = na.stop();
    let sc = nc.stop();
    let sd = nd.stop();
    let _ = nb.log();

    let sent = u(&pg, "/tx/packets");
    let received = u(&pg, "/rx/packets");
    assert_eq!(sent, count);
    let lost = sent - received;
    // Traffic went through b (a's first LFIB), then through d.
    assert!(
        lost > 0,
        "killing b must have cost packets: the path went through b"
    );
    let via_d = u(&sd, "/total/tx_packets");
    assert!(via_d > RATE_PPS * 4, "d carried the rest: {via_d}");
    assert_eq!(
        u(&sc, "/total/tx_packets"),
        received,
        "everything c sent reached pktgen"
    );
    // Failover within the lease TTL plus one second at the offered rate.
    let budget = RATE_PPS * (TTL_S + 1);
    assert!(
        lost <= budget,
        "lost {lost} packets = {:.2} s at {RATE_PPS} pps; more than TTL + 1 s",
        lost as f64 / RATE_PPS as f64
    );
    // The control planes: a recompiled after b left; labels stayed dense.
    assert!(u(&sa, "/control/publications") >= 2, "{}", sa["control"]);
    assert_eq!(u(&sa, "/control/registrations"), 1);
    eprintln!(
        "failover: lost {lost} of {sent} packets ({:.2} s at {RATE_PPS} pps)",
        lost as f64 / RATE_PPS as f64
    );
}
