//! Shared helpers of pktgen's integration tests: pktgen and srgate run as two DPDK
//! processes on real EAL (`--no-huge --no-pci --no-shconf`), joined by net_memif.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The pktgen binary cargo built for these tests.
pub fn pktgen() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_pktgen"))
}

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("pktgen/ is in the workspace")
        .to_path_buf()
}

/// The srgate binary: `target/debug/srgate` (built by `cargo test --workspace`, or by
/// `cargo build --bin srgate`). If it is missing it is built here, into a target directory
/// of its own (the workspace's may be locked by the cargo running these tests).
pub fn srgate() -> PathBuf {
    let bin = root().join("target/debug/srgate");
    if bin.exists() {
        return bin;
    }
    let own = root().join("target/pktgen-tests");
    let out = own.join("debug/srgate");
    if !out.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let st = Command::new(cargo)
            .current_dir(root())
            .args(["build", "--bin", "srgate", "--target-dir"])
            .arg(&own)
            .status()
            .expect("run cargo build --bin srgate");
        assert!(st.success(), "cargo build --bin srgate failed");
    }
    out
}

/// EAL arguments that let test processes run side by side without hugepages.
pub const EAL_ARGS: &str = r#"args = ["--no-huge", "-m", "256", "--no-pci", "--no-shconf", "--no-telemetry", "--iova-mode=va", "--log-level=lib.eal:warning", "--log-level=pmd.net.memif:error"]"#;

/// A running srgate.
pub struct Srgate {
    child: Child,
    stats: PathBuf,
}

impl Srgate {
    /// Starts `srgate run` on a config whose `[[port]]`/tables part is `body`, with one
    /// memif server port named `gen` on `socket` unless `body` defines its own.
    pub fn start(dir: &Path, prefix: &str, body: &str) -> Srgate {
        let cfg = dir.join("srgate.toml");
        let text = format!(
            "[eal]\n{EAL_ARGS}\nfile_prefix = \"{prefix}\"\n\n[dataplane]\ncores = [1]\nidle_empty_polls = 64\nidle_sleep_us = 100\nstats_interval_ms = 0\n\n[mempool]\nmbufs = 4095\ncache = 128\ndata_room = 2176\n\n{body}\n"
        );
        std::fs::write(&cfg, text).expect("write srgate config");
        let stats = dir.join("srgate-stats.json");
        let log = std::fs::File::create(dir.join("srgate.log")).expect("log file");
        let child = Command::new(srgate())
            .args(["run", "--config"])
            .arg(&cfg)
            .arg("--stats-json")
            .arg(&stats)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn srgate");
        // Wait until its port is up, so pktgen's memif client meets a ready server.
        let log = dir.join("srgate.log");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("data plane running") {
                break;
            }
            assert!(Instant::now() < deadline, "srgate did not start:\n{text}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Srgate { child, stats }
    }

    /// SIGINT, wait, and the final counters.
    pub fn stop(mut self) -> Value {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-INT", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(st) = self.child.try_wait().expect("wait srgate") {
                assert!(st.success(), "srgate exited with {st}");
                break;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("srgate did not stop on SIGINT");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        serde_json::from_slice(&std::fs::read(&self.stats).expect("srgate stats written"))
            .expect("srgate stats parse")
    }
}

impl Drop for Srgate {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Writes a pktgen profile: EAL args, `[run]` for a shared test machine (a 3 s drain: a
/// run ends as soon as everything came back, and only waits that long for packets srgate
/// dropped; a starved srgate gets time to empty its rings before pktgen leaves), one
/// memif client port `gw` on `socket`, and `traffic` (the `[traffic]` table and its
/// sub-tables).
pub fn profile(dir: &Path, prefix: &str, cores: &str, socket: &Path, traffic: &str) -> PathBuf {
    let p = dir.join("pktgen.toml");
    let text = format!(
        "[eal]\n{EAL_ARGS}\nfile_prefix = \"{prefix}\"\n\n[run]\ncores = {cores}\nstats_interval_ms = 0\ndrain_ms = 3000\nidle_loops = 64\nidle_sleep_us = 100\n\n[mempool]\nmbufs = 8191\ncache = 128\n\n[[port]]\nname = \"gw\"\ndevice = \"net_memif0,role=client,socket={}\"\n\n[traffic]\ntx_port = \"gw\"\nrx_port = \"gw\"\n{traffic}\n",
        socket.display()
    );
    std::fs::write(&p, text).expect("write profile");
    p
}

/// Runs `pktgen run --profile P --json ...` to completion; returns its output and result.
pub fn run_pktgen(profile: &Path) -> (Output, Value) {
    let json = profile.with_file_name("pktgen.json");
    let out = Command::new(pktgen())
        .args(["run", "--profile"])
        .arg(profile)
        .arg("--json")
        .arg(&json)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("spawn pktgen");
    assert!(
        out.status.success(),
        "pktgen failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let v = serde_json::from_slice(&std::fs::read(&json).expect("pktgen json written"))
        .expect("pktgen json parses");
    (out, v)
}

/// A u64 at a JSON pointer.
pub fn u(v: &Value, ptr: &str) -> u64 {
    v.pointer(ptr)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("{ptr} in {v}"))
}

/// srgate's drops by reason (non-zero ones) and their sum.
pub fn srgate_drops(v: &Value) -> (Vec<(String, u64)>, u64) {
    let d: Vec<(String, u64)> = v["total"]["drops"]
        .as_object()
        .expect("drops")
        .iter()
        .filter_map(|(k, n)| n.as_u64().filter(|n| *n > 0).map(|n| (k.clone(), n)))
        .collect();
    let sum = d.iter().map(|x| x.1).sum();
    (d, sum)
}

/// srgate's `tx-queue-full` drops, asserting they are its only drops: packets it handled
/// that the memif TX ring refused because pktgen's receive side, sharing a loaded machine,
/// had not emptied it yet. A handled packet is transmitted or counted there.
pub fn only_tx_queue_full_drops(sg: &Value) -> u64 {
    let (drops, _) = srgate_drops(sg);
    assert!(
        drops.iter().all(|d| d.0 == "tx-queue-full"),
        "no drops but tx-queue-full: {drops:?}"
    );
    drops
        .iter()
        .find(|d| d.0 == "tx-queue-full")
        .map_or(0, |d| d.1)
}

/// The exact accounting every scenario must satisfy: what pktgen sent reached srgate, and
/// came back or was counted as dropped there; per stream, sent = received + lost.
pub fn assert_conserved(pg: &Value, sg: &Value) {
    let sent = u(pg, "/tx/packets");
    let (drops, dropped) = srgate_drops(sg);
    assert_eq!(
        u(sg, "/total/rx_packets"),
        sent,
        "srgate received all pktgen sent"
    );
    assert_eq!(
        sent,
        u(pg, "/rx/packets") + dropped,
        "sent = received + srgate's drops {drops:?}"
    );
    assert_eq!(u(sg, "/total/tx_packets"), u(pg, "/rx/packets"));
    assert_eq!(
        u(pg, "/rx/unmatched"),
        0,
        "every packet back carries its signature"
    );
    let mut per_stream = 0;
    for s in pg["streams"].as_array().expect("streams") {
        assert_eq!(
            u(s, "/sent"),
            u(s, "/received") - u(s, "/duplicates") + u(s, "/lost"),
            "{s}"
        );
        per_stream += u(s, "/sent");
    }
    assert_eq!(per_stream + u(pg, "/tx/malformed"), sent);
    assert_eq!(u(pg, "/totals/duplicates"), 0);
    assert_eq!(u(pg, "/totals/reordered"), 0, "one memif queue keeps order");
    let l = &pg["latency_ns"];
    assert_eq!(u(l, "/samples"), u(pg, "/rx/matched"));
    if u(l, "/samples") > 0 {
        let (min, p50, p99, p999, max) = (
            u(l, "/min"),
            u(l, "/p50"),
            u(l, "/p99"),
            u(l, "/p999"),
            u(l, "/max"),
        );
        assert!(
            0 < min && min <= p50 && p50 <= p99 && p99 <= p999 && p999 <= max,
            "{l}"
        );
    }
}
