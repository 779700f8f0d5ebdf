//! The STAMP session-sender end to end (issue 4 E): two srgate processes on real EAL
//! joined by a net_memif link, one sending, one reflecting.
//!
//! ```text
//!   sender S                                     reflector R
//!   10.0.0.1 / fd00::1   to-r ====memif==== to-s   10.0.0.2 / fd00::2 ([tables.stamp])
//!   session 1: 10.0.0.1:40862 -> 10.0.0.2:862
//!   session 2: [fd00::1]:40863 -> [fd00::2]:862
//!              cap (net_pcap, TX only) -> probes.pcap
//!   session 3: 10.9.0.1:40864 -> 10.9.0.2:862  (nobody answers)
//!   session 4: [fd09::1]:40865 -> [fd09::2]:862 (nobody answers)
//! ```
//!
//! S's first worker sends every 10 ms per session from its probe pool; R's reflector
//! answers sessions 1 and 2 over memif; S's pipeline measures and consumes the replies.
//! The stats JSON of S must show every probe of sessions 1 and 2 answered (no loss, sane
//! RTTs), sessions 3 and 4 lost entirely, and tshark must decode the captured probes of
//! sessions 3 and 4 as STAMP test packets with valid checksums and consecutive sequence
//! numbers.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::*;
use serde_json::Value;

const EAL: &str = r#"args = ["--no-huge", "-m", "256", "--no-pci", "--no-shconf", "--no-telemetry", "--iova-mode=va", "--log-level=lib.eal:warning", "--log-level=pmd.net.memif:error"]"#;

/// Seconds from the NTP epoch to the UNIX epoch.
const NTP_UNIX: u64 = 2_208_988_800;

fn config(dir: &Path, name: &str, core: u32, body: &str) -> std::path::PathBuf {
    let text = format!(
        "[eal]\n{EAL}\nfile_prefix = \"stamp-sender-{name}-{}\"\n\n[dataplane]\ncores = [{core}]\nidle_empty_polls = 64\nidle_sleep_us = 200\nstats_interval_ms = 0\n\n[mempool]\nmbufs = 4095\ncache = 128\n\n{body}\n",
        std::process::id()
    );
    let p = dir.join(format!("{name}.toml"));
    std::fs::write(&p, text).expect("write config");
    p
}

/// Kills the reflector if the test fails before stopping it.
struct Reflector(Option<Child>);

impl Drop for Reflector {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Reflector {
    fn stop(mut self, stats: &Path, log: &Path) -> Value {
        let mut c = self.0.take().expect("running");
        let _ = Command::new("kill")
            .args(["-INT", &c.id().to_string()])
            .status();
        let t0 = Instant::now();
        loop {
            if let Some(st) = c.try_wait().expect("wait") {
                assert!(
                    st.success(),
                    "reflector exited with {st}:\n{}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
                break;
            }
            assert!(t0.elapsed() < Duration::from_secs(30), "reflector hangs");
            std::thread::sleep(Duration::from_millis(50));
        }
        serde_json::from_slice(&std::fs::read(stats).expect("reflector stats")).expect("json")
    }
}

fn session(json: &Value, id: u64) -> &Value {
    json["stamp_sessions"]
        .as_array()
        .expect("stamp_sessions")
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("session {id} in {}", json["stamp_sessions"]))
}

fn n(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("{key} in {v}"))
}

fn unix_now() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock")
}

#[test]
fn sessions_probe_a_peer_reflector_through_memif_and_measure() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let sock = d.join("7.sock");

    // R: the reflector, memif server.
    let r_cfg = config(
        d,
        "r",
        1,
        &format!(
            "[[port]]\nname = \"to-s\"\ndevice = \"net_memif7,role=server,socket={}\"\n\n\
             [tables.stamp]\naddresses = [\"10.0.0.2\", \"fd00::2\"]\n",
            sock.display()
        ),
    );
    let r_log = d.join("r.log");
    let r_stats = d.join("r-stats.json");
    let child = Command::new(srgate())
        .args(["run", "--config"])
        .arg(&r_cfg)
        .arg("--stats-json")
        .arg(&r_stats)
        .args(["--duration", "60"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&r_log).expect("log"))
        .spawn()
        .expect("spawn the reflector");
    let reflector = Reflector(Some(child));
    let t0 = Instant::now();
    while !std::fs::read_to_string(&r_log)
        .unwrap_or_default()
        .contains("data plane running")
    {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "reflector did not start:\n{}",
            std::fs::read_to_string(&r_log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // S: the sender, memif client, a TX-only capture port for the unanswered sessions.
    let pcap = d.join("probes.pcap");
    let sender = |id: u32, adj: &str, src: &str, sport: u16, dst: &str, extra: &str| {
        format!(
            "[[tables.stamp.sender]]\nid = {id}\nadjacency = \"{adj}\"\nsource = \"{src}\"\n\
             source_port = {sport}\nreflector = \"{dst}\"\ninterval_ms = 10\n\
             loss_window_ms = 500\n{extra}\n"
        )
    };
    let s_cfg = config(
        d,
        "s",
        0,
        &format!(
            "[[port]]\nname = \"to-r\"\ndevice = \"net_memif7,role=client,socket={}\"\n\n\
             [[port]]\nname = \"cap\"\ndevice = \"net_pcap1,tx_pcap={}\"\nrx_queues = 0\n\n\
             [[adjacency]]\nname = \"r\"\nport = \"to-r\"\ndst_mac = \"02:00:00:00:00:02\"\n\n\
             [[adjacency]]\nname = \"nowhere\"\nport = \"cap\"\ndst_mac = \"02:00:00:00:00:99\"\n\
             src_mac = \"02:00:00:00:00:01\"\n\n\
             [tables.stamp]\nenabled = false\n\
             error_estimate = {{ synchronized = false, scale = 22, multiplier = 1 }}\n\n{}{}{}{}",
            sock.display(),
            pcap.display(),
            sender(1, "r", "10.0.0.1", 40862, "10.0.0.2", ""),
            sender(2, "r", "fd00::1", 40863, "fd00::2", "padding = 100\n"),
            sender(
                3,
                "nowhere",
                "10.9.0.1",
                40864,
                "10.9.0.2",
                "padding = 20\nttl = 64\ntimeout_ms = 100\n"
            ),
            sender(
                4,
                "nowhere",
                "fd09::1",
                40865,
                "fd09::2",
                "timeout_ms = 100\n"
            ),
        ),
    );
    let before = unix_now();
    let (out, s) = run_srgate(&s_cfg, &["--duration", "4"]);
    let after = unix_now();
    let r = reflector.stop(&r_stats, &r_log);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let ctx = format!(
        "sender stats: {}\nreflector stats: {r}",
        s["stamp_sessions"]
    );
    eprintln!("sender's sessions: {:#}", s["stamp_sessions"]);
    eprintln!(
        "{}",
        stdout
            .lines()
            .filter(|l| l.starts_with("stamp session"))
            .collect::<Vec<_>>()
            .join("\n")
    );

    // Sessions 1 and 2: every settled probe answered, nothing late, duplicated, rejected.
    let mut consumed = 0;
    let mut send_errors = 0;
    let mut answered = 0;
    for id in [1, 2] {
        let x = session(&s, id);
        let sent = n(x, "sent");
        assert!(
            sent >= 100,
            "session {id}: {sent} probes in 4 s at 10 ms\n{ctx}"
        );
        let settled = n(x, "settled_sent");
        assert!(
            settled >= sent.saturating_sub(110) && settled >= 50,
            "session {id}: settled {settled} of {sent} (1 s in flight)\n{ctx}"
        );
        assert_eq!(n(x, "settled_received"), settled, "session {id}\n{ctx}");
        assert_eq!(n(x, "loss_ppm"), 0, "session {id}\n{ctx}");
        assert_eq!(n(x, "window_sent"), 50, "500 ms of 10 ms probes\n{ctx}");
        assert!(
            n(x, "received") >= settled && n(x, "received") <= sent,
            "{ctx}"
        );
        for k in ["late", "duplicates", "rejected"] {
            assert_eq!(n(x, k), 0, "session {id} {k}\n{ctx}");
        }
        let (min, mean, max) = (n(x, "rtt_min_ns"), n(x, "rtt_mean_ns"), n(x, "rtt_max_ns"));
        assert!(
            0 < min && min <= mean && mean <= max && max < 1_000_000_000,
            "session {id}: rtt {min}/{mean}/{max} ns\n{ctx}"
        );
        let delay = x["delay_us"].as_f64().expect("delay_us");
        assert!(
            delay > 0.0 && delay * 1e3 <= max as f64 / 2.0 + 1.0,
            "session {id}: delay {delay} us\n{ctx}"
        );
        assert!(x["jitter_us"].as_f64().expect("jitter_us") >= 0.0);
        consumed += n(x, "received") + n(x, "late") + n(x, "duplicates");
        send_errors += n(x, "send_errors");
        answered += n(x, "received");
    }
    // Sessions 3 and 4: every probe sent, none answered, every settled one lost.
    let mut captured_sent = 0;
    for id in [3, 4] {
        let x = session(&s, id);
        assert!(n(x, "sent") >= 100, "session {id}\n{ctx}");
        assert_eq!(n(x, "received"), 0, "{ctx}");
        assert!(n(x, "settled_sent") >= n(x, "sent") - 11, "{ctx}");
        assert_eq!(n(x, "settled_received"), 0, "{ctx}");
        assert_eq!(n(x, "loss_ppm"), 1_000_000, "{ctx}");
        assert_eq!(n(x, "rtt_min_ns"), 0, "{ctx}");
        assert_eq!(
            n(x, "send_errors"),
            0,
            "the pcap port takes everything\n{ctx}"
        );
        captured_sent += n(x, "sent");
    }

    // Counters: replies consumed (not forwarded, not dropped); the only drops are probes
    // the memif port refused before the link came up.
    assert_eq!(handled(&s, "stamp-sender"), consumed, "{ctx}");
    let drops = nonzero_drops(&s);
    assert!(
        drops.keys().all(|k| k == "tx-queue-full"),
        "unexpected drops {drops:?}\n{ctx}"
    );
    assert_eq!(
        drops.get("tx-queue-full").copied().unwrap_or(0),
        send_errors,
        "{ctx}"
    );
    assert_eq!(port_out(&s, "cap"), captured_sent, "{ctx}");
    // R reflected what S sent it (each probe once), and dropped nothing.
    let reflected = handled(&r, "stamp");
    let sent12 = n(session(&s, 1), "sent") + n(session(&s, 2), "sent");
    assert!(
        answered <= reflected && reflected <= sent12,
        "reflected {reflected}, answered {answered}, sent {sent12}\n{ctx}"
    );
    assert!(nonzero_drops(&r).is_empty(), "{ctx}");
    assert!(r["stamp_sessions"].as_array().is_some_and(|a| a.is_empty()));
    // The operator's summary names the sessions.
    assert!(stdout.contains("stamp session 1: sent"), "{stdout}");

    // tshark decodes the captured probes as STAMP test packets with good checksums.
    let rows = tshark(
        &pcap,
        &[
            "frame.len",
            "eth.src",
            "eth.dst",
            "ip.src",
            "ipv6.src",
            "ip.ttl",
            "ipv6.hlim",
            "ip.checksum.status",
            "udp.srcport",
            "udp.dstport",
            "udp.length",
            "udp.checksum.status",
            "twamp.test.seq_number",
            "twamp.test.error_estimate",
            "udp.payload",
        ],
        &[
            "-d",
            "udp.port==862,twamp.test",
            "-o",
            "ip.check_checksum:TRUE",
            "-o",
            "udp.check_checksum:TRUE",
        ],
    );
    assert_eq!(rows.len() as u64, captured_sent);
    let (lo, hi) = (before.as_secs() - 2, after.as_secs() + 2);
    for (sport, v4) in [("40864", true), ("40865", false)] {
        let mine: Vec<&Vec<String>> = rows.iter().filter(|r| r[8] == sport).collect();
        assert_eq!(
            mine.len() as u64,
            n(session(&s, if v4 { 3 } else { 4 }), "sent"),
            "{sport}"
        );
        for (i, r) in mine.iter().enumerate() {
            let at = format!("probe {i} of port {sport}: {r:?}");
            assert_eq!(r[12], i.to_string(), "consecutive sequence numbers: {at}");
            assert_eq!(
                (r[1].as_str(), r[2].as_str()),
                ("02:00:00:00:00:01", "02:00:00:00:00:99"),
                "{at}"
            );
            assert_eq!(r[9], "862", "{at}");
            assert_eq!(r[11], "1", "UDP checksum good: {at}");
            let estimate = match r[13].strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16).ok(),
                None => r[13].parse().ok(),
            };
            assert_eq!(estimate, Some((22 << 8) | 1), "Error Estimate: {at}");
            if v4 {
                assert_eq!((r[3].as_str(), r[5].as_str()), ("10.9.0.1", "64"), "{at}");
                assert_eq!(r[7], "1", "IPv4 checksum good: {at}");
                assert_eq!((r[0].as_str(), r[10].as_str()), ("106", "72"), "{at}");
            } else {
                assert_eq!((r[4].as_str(), r[6].as_str()), ("fd09::1", "255"), "{at}");
                assert_eq!((r[0].as_str(), r[10].as_str()), ("106", "52"), "{at}");
            }
            // T1: NTP seconds within the run.
            let p = &r[14];
            let secs = u64::from_str_radix(p.get(8..16).expect("T1 in the payload"), 16)
                .expect("hex")
                .saturating_sub(NTP_UNIX);
            assert!(
                (lo..=hi).contains(&secs),
                "T1 {secs} outside [{lo}, {hi}]: {at}"
            );
            assert!(p[28..88].bytes().all(|c| c == b'0'), "MBZ zero: {at}");
        }
    }
}
