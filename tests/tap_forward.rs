//! net_tap: the kernel sends frames into srgate through one tap interface and receives the
//! forwarded ones on another.
//!
//! Needs root and /dev/net/tun (CI has both). Without them the test fails, unless
//! SRGATE_SKIP_TAP=1 says to skip it on purpose.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const DST: &str = "02:00:00:00:02:02";
const SRC: &str = "02:00:00:00:02:01";

#[test]
fn kernel_frames_cross_srgate_between_two_taps() {
    if std::env::var("SRGATE_SKIP_TAP").as_deref() == Ok("1") {
        eprintln!("SRGATE_SKIP_TAP=1: skipping the net_tap test");
        return;
    }
    assert!(
        std::path::Path::new("/dev/net/tun").exists(),
        "/dev/net/tun missing: the net_tap test needs it (or set SRGATE_SKIP_TAP=1)"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let tag = std::process::id() % 100_000;
    let (ia, ib) = (format!("sgt{tag}a"), format!("sgt{tag}b"));
    let cfg = write_config(
        dir.path(),
        "[0]",
        &format!(
            r#"
[[port]]
name = "a"
device = "net_tap0,iface={ia}"

[[port]]
name = "b"
device = "net_tap1,iface={ib}"

[[xconnect]]
from = "a"
to = "b"
dst_mac = "{DST}"
src_mac = "{SRC}"

[[xconnect]]
from = "b"
to = "a"
dst_mac = "02:00:00:00:02:03"
"#
        ),
    );
    let stats = dir.path().join("stats.json");
    let mut child = Command::new(srgate())
        .args(["run", "--duration", "60", "--config"])
        .arg(&cfg)
        .arg("--stats-json")
        .arg(&stats)
        .args(["--", "--file-prefix=tapfwd"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn srgate");

    // Wait for the workers to run.
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("srgate: {line}");
            if line.contains("data plane running") {
                let _ = tx.send(());
            }
        }
    });
    let start = Instant::now();
    if rx.recv_timeout(Duration::from_secs(30)).is_err() {
        let _ = child.kill();
        panic!("srgate did not start its workers within 30 s");
    }
    eprintln!("srgate running after {:?}", start.elapsed());

    let captured = dir.path().join("captured.pcap");
    const N: u32 = 40;
    let py = Command::new("/usr/bin/python3")
        .arg(root().join("tests/scapy/tap_exchange.py"))
        .args([&ia, &ib, &N.to_string()])
        .arg(&captured)
        .output()
        .expect("run scapy");
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().expect("wait srgate");
    assert!(
        py.status.success(),
        "scapy side failed: {}",
        String::from_utf8_lossy(&py.stderr)
    );
    assert!(
        kill.map(|s| s.success()).unwrap_or(false),
        "SIGTERM delivered"
    );
    assert!(
        status.success(),
        "srgate exits cleanly on SIGTERM: {status}"
    );

    let rows = tshark(
        &captured,
        &["udp.payload", "eth.dst", "eth.src", "ip.ttl", "ipv6.hlim"],
        &["-Y", "udp.dstport == 7777", "-d", "udp.port==7777,data"],
    );
    let mut seqs: Vec<u32> = rows
        .iter()
        .map(|r| seq_of_payload(&r[0]).expect("test payload"))
        .collect();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(
        seqs,
        (0..N).collect::<Vec<_>>(),
        "every frame the kernel sent came back through srgate"
    );
    for r in &rows {
        assert_eq!(r[1], DST, "destination MAC rewritten");
        assert_eq!(r[2], SRC, "source MAC rewritten");
        assert!(
            r[3] == "63" || r[4] == "63",
            "TTL / hop limit decremented: {r:?}"
        );
    }

    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&stats).expect("stats written on SIGTERM"))
            .expect("json");
    assert!(total(&json, "rx_packets") >= u64::from(N), "{json}");
    assert!(total(&json, "tx_packets") >= u64::from(N), "{json}");
}
