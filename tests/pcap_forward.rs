//! Packets really cross DPDK ports: a scapy-built pcap goes through srgate on net_pcap
//! (real EAL, `--no-huge --no-pci`) and tshark reads the output back.

mod common;

use common::*;

const DST: &str = "02:00:00:00:00:aa";
const SRC: &str = "02:00:00:00:00:bb";

/// Input fields per frame, keyed by the sequence number in the payload.
fn fields_by_seq(pcap: &std::path::Path) -> Vec<(u32, Vec<String>)> {
    tshark(
        pcap,
        &[
            "udp.payload",
            "eth.dst",
            "eth.src",
            "ip.ttl",
            "ipv6.hlim",
            "mpls.ttl",
            "mpls.label",
            "frame.len",
            "ip.checksum.status",
            "vlan.id",
            "ipv6.routing.segleft",
        ],
        &["-o", "ip.check_checksum:TRUE", "-d", "udp.port==7777,data"],
    )
    .into_iter()
    .map(|row| (seq_of_payload(&row[0]).expect("test payload"), row))
    .collect()
}

#[test]
fn forwards_every_protocol_between_pcap_ports_with_rewrite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in.pcap");
    let output = dir.path().join("out.pcap");
    scapy(&["mixed", input.to_str().expect("utf8"), "60"]);
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
dst_mac = "{DST}"
src_mac = "{SRC}"
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
            "--file-prefix=pcapfwd",
        ],
    );

    // Counters: everything received was forwarded, per handler, nothing dropped.
    assert_eq!(total(&json, "rx_packets"), 60, "{json}");
    assert_eq!(total(&json, "tx_packets"), 60, "{json}");
    assert_eq!(handled(&json, "ipv4"), 30);
    assert_eq!(handled(&json, "ipv6"), 20);
    assert_eq!(
        handled(&json, "mpls-xconnect"),
        10,
        "labels the (empty) LFIB does not hold use the cross-connect"
    );
    assert_eq!(
        json["total"]["drops"]
            .as_object()
            .expect("drops")
            .values()
            .map(|v| v.as_u64().unwrap_or(0))
            .sum::<u64>(),
        0
    );
    let out_port = json["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .find(|p| p["name"] == "out")
        .expect("out port");
    assert_eq!(out_port["opackets"], 60);

    let inp = fields_by_seq(&input);
    let out = fields_by_seq(&output);
    assert_eq!(out.len(), 60, "every frame comes out");
    for (i, ((sin, a), (sout, b))) in inp.iter().zip(out.iter()).enumerate() {
        assert_eq!(sin, sout, "frame {i}: order kept");
        assert_eq!(a[0], b[0], "frame {i}: payload intact");
        assert_eq!(b[1], DST, "frame {i}: destination MAC rewritten");
        assert_eq!(b[2], SRC, "frame {i}: source MAC rewritten");
        assert_eq!(a[7], b[7], "frame {i}: length unchanged");
        assert_eq!(a[9], b[9], "frame {i}: VLAN tags kept");
        assert_eq!(a[10], b[10], "frame {i}: SRH untouched");
        let dec = |s: &str| s.split(',').next().and_then(|t| t.parse::<u32>().ok());
        match sin % 6 {
            0..=2 => {
                assert_eq!(
                    dec(&b[3]),
                    dec(&a[3]).map(|t| t - 1),
                    "frame {i}: IPv4 TTL decremented"
                );
                assert_eq!(
                    b[8], "1",
                    "frame {i}: IPv4 checksum still good (tshark: 1 = good)"
                );
            }
            3 | 4 => assert_eq!(
                dec(&b[4]),
                dec(&a[4]).map(|t| t - 1),
                "frame {i}: hop limit decremented"
            ),
            _ => {
                let ttl_in: Vec<&str> = a[5].split(',').collect();
                let ttl_out: Vec<&str> = b[5].split(',').collect();
                assert_eq!(
                    ttl_out[0].parse::<u32>().ok(),
                    ttl_in[0].parse::<u32>().ok().map(|t| t - 1),
                    "frame {i}: top label TTL"
                );
                assert_eq!(
                    ttl_out[1..],
                    ttl_in[1..],
                    "frame {i}: inner labels untouched"
                );
                assert_eq!(a[6], b[6], "frame {i}: labels unchanged");
                assert_eq!(a[3], b[3], "frame {i}: inner IPv4 TTL untouched under MPLS");
            }
        }
    }
}

#[test]
fn several_rx_queues_run_on_several_lcores() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("a.pcap");
    let b = dir.path().join("b.pcap");
    let o1 = dir.path().join("o1.pcap");
    let o2 = dir.path().join("o2.pcap");
    scapy(&["mixed", a.to_str().expect("utf8"), "30"]);
    scapy(&["mixed", b.to_str().expect("utf8"), "42"]);
    let cfg = write_config(
        dir.path(),
        "[0, 1]",
        &format!(
            r#"
[[port]]
name = "in"
device = "net_pcap0,rx_pcap={},rx_pcap={}"
rx_queues = 2

[[port]]
name = "out"
device = "net_pcap1,tx_pcap={},tx_pcap={}"
rx_queues = 0

[[xconnect]]
from = "in"
to = "out"
dst_mac = "{DST}"
"#,
            a.display(),
            b.display(),
            o1.display(),
            o2.display()
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
            "--file-prefix=pcapmq",
        ],
    );
    let all = json["workers"].as_array().expect("workers");
    assert_eq!(all.len(), 2, "one worker per RX queue (out is TX-only)");
    let workers: Vec<_> = all.iter().filter(|w| w["port"] == "in").collect();
    let mut per_queue: Vec<(u64, u64, u64)> = workers
        .iter()
        .map(|w| {
            (
                w["queue"].as_u64().unwrap_or(99),
                w["lcore"].as_u64().unwrap_or(99),
                w["counters"]["rx_packets"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    per_queue.sort();
    assert_eq!(
        per_queue,
        vec![(0, 0, 30), (1, 1, 42)],
        "queue 0 on lcore 0, queue 1 on lcore 1"
    );
    assert_eq!(total(&json, "tx_packets"), 72);
    let n1 = tshark(&o1, &["eth.dst"], &[]);
    let n2 = tshark(&o2, &["eth.dst"], &[]);
    assert_eq!(
        n1.len() + n2.len(),
        72,
        "each lcore sends on its own TX queue"
    );
    assert!(n1.iter().chain(n2.iter()).all(|r| r[0] == DST));
}
