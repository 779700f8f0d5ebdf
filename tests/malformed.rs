//! Malformed frames are counted drops with the right reason, nothing malformed is forwarded,
//! and srgate keeps running and forwarding the valid frames between them.

mod common;

use std::collections::BTreeMap;

use common::*;

#[test]
fn malformed_frames_are_counted_drops_and_never_forwarded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in.pcap");
    let output = dir.path().join("out.pcap");
    let listing = scapy(&["malformed", input.to_str().expect("utf8")]);
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for name in listing.lines().filter(|l| !l.is_empty()) {
        *expected.entry(name.to_string()).or_default() += 1;
    }
    let n_bad: u64 = expected.values().sum();
    assert!(n_bad >= 15, "the suite covers every parser drop reason");
    let cfg = write_config(
        dir.path(),
        "[0]",
        &format!(
            r#"
[[port]]
name = "in"
device = "net_pcap0,rx_pcap={}"

[[port]]
name = "out"
device = "net_pcap1,tx_pcap={}"
rx_queues = 0

[[xconnect]]
from = "in"
to = "out"
dst_mac = "02:00:00:00:00:aa"
"#,
            input.display(),
            output.display()
        ),
    );
    let (_, json) = run_srgate(
        &cfg,
        &[
            "--exit-idle-ms",
            "700",
            "--duration",
            "30",
            "--",
            "--file-prefix=malformed",
        ],
    );
    // One valid frame follows each malformed one.
    assert_eq!(total(&json, "rx_packets"), 2 * n_bad, "{json}");
    assert_eq!(total(&json, "tx_packets"), n_bad, "{json}");
    for (reason, n) in &expected {
        assert_eq!(drops(&json, reason), *n, "drop reason {reason}: {json}");
    }
    let all_drops: u64 = json["total"]["drops"]
        .as_object()
        .expect("drops")
        .values()
        .map(|v| v.as_u64().unwrap_or(0))
        .sum();
    assert_eq!(all_drops, n_bad, "no other drops");

    let out = tshark(
        &output,
        &["udp.payload", "eth.dst"],
        &["-d", "udp.port==7777,data"],
    );
    assert_eq!(out.len() as u64, n_bad);
    let seqs: Vec<u32> = out
        .iter()
        .map(|r| seq_of_payload(&r[0]).expect("only valid test frames"))
        .collect();
    assert!(
        out.iter().all(|r| r[1] == "02:00:00:00:00:aa"),
        "forwarded frames carry the rewritten MAC"
    );
    assert_eq!(
        seqs,
        (0..n_bad as u32).collect::<Vec<_>>(),
        "exactly the valid frames, in order"
    );
}
