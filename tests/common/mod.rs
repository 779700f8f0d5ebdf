//! Shared helpers of the integration tests: scapy builds inputs, srgate runs on real EAL
//! with virtual devices, tshark reads outputs.
#![allow(dead_code)]

pub mod node;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The srgate binary cargo built for these tests.
pub fn srgate() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_srgate"))
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `tests/scapy/frames.py` with Debian's python3 (which has scapy); returns stdout.
pub fn scapy(args: &[&str]) -> String {
    let out = Command::new("/usr/bin/python3")
        .arg(root().join("tests/scapy/frames.py"))
        .args(args)
        .output()
        .expect("run /usr/bin/python3 (install python3-scapy: scripts/install-deps.sh)");
    assert!(
        out.status.success(),
        "scapy failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Reads `fields` of every frame of `pcap` with tshark (`-T fields`), one row per frame.
pub fn tshark(pcap: &Path, fields: &[&str], extra: &[&str]) -> Vec<Vec<String>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-n").arg("-r").arg(pcap).args(extra);
    cmd.args([
        "-T",
        "fields",
        "-E",
        "separator=|",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
    ]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd
        .output()
        .expect("run tshark (scripts/install-deps.sh installs it)");
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('|').map(str::to_string).collect())
        .collect()
}

/// EAL arguments that let test processes run side by side without hugepages.
pub fn eal_args_toml() -> &'static str {
    r#"args = ["--no-huge", "-m", "256", "--no-pci", "--no-shconf", "--no-telemetry", "--iova-mode=va", "--log-level=lib.eal:warning"]"#
}

/// Writes a config with the given `[[port]]` and `[[xconnect]]` TOML fragments.
pub fn write_config(dir: &Path, cores: &str, body: &str) -> PathBuf {
    let text = format!(
        "[eal]\n{}\n\n[dataplane]\ncores = {cores}\nidle_empty_polls = 64\nidle_sleep_us = 200\nstats_interval_ms = 0\n\n[mempool]\nmbufs = 4095\ncache = 128\ndata_room = 2176\n\n{body}\n",
        eal_args_toml()
    );
    let p = dir.join("srgate.toml");
    std::fs::write(&p, text).expect("write config");
    p
}

/// Runs `srgate run --config CFG --stats-json ... ARGS` to completion; returns the process
/// output and the parsed final counters.
pub fn run_srgate(cfg: &Path, args: &[&str]) -> (Output, Value) {
    let stats = cfg.with_file_name("stats.json");
    let out = Command::new(srgate())
        .arg("run")
        .arg("--config")
        .arg(cfg)
        .arg("--stats-json")
        .arg(&stats)
        .args(args)
        .output()
        .expect("spawn srgate");
    assert!(
        out.status.success(),
        "srgate failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&std::fs::read(&stats).expect("stats json written"))
        .expect("stats json parses");
    (out, json)
}

/// A counter from the `total` block of the stats JSON.
pub fn total(json: &Value, key: &str) -> u64 {
    json["total"][key]
        .as_u64()
        .unwrap_or_else(|| panic!("total.{key} in {json}"))
}

/// A drop counter by reason name.
pub fn drops(json: &Value, reason: &str) -> u64 {
    json["total"]["drops"][reason]
        .as_u64()
        .unwrap_or_else(|| panic!("drop reason {reason} in {json}"))
}

/// A handler counter by name.
pub fn handled(json: &Value, handler: &str) -> u64 {
    json["total"]["handled"][handler]
        .as_u64()
        .unwrap_or_else(|| panic!("handler {handler} in {json}"))
}

/// The UDP payload of a scapy-built test frame: "SRG" + u32 sequence + filler, as hex.
pub fn seq_of_payload(hex: &str) -> Option<u32> {
    let b = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    if b.len() < 7 || &b[..3] != b"SRG" {
        return None;
    }
    Some(u32::from_be_bytes([b[3], b[4], b[5], b[6]]))
}

/// The frames of a pcap file, raw (classic pcap, either byte order); none if absent.
pub fn read_pcap(path: &Path) -> Vec<Vec<u8>> {
    let Ok(b) = std::fs::read(path) else {
        return Vec::new();
    };
    assert!(b.len() >= 24, "{}: no pcap header", path.display());
    let le = match &b[..4] {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => true,
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => false,
        m => panic!("{}: not a pcap file ({m:02x?})", path.display()),
    };
    let u32_at = |at: usize| {
        let w: [u8; 4] = b[at..at + 4].try_into().expect("4 bytes");
        if le {
            u32::from_le_bytes(w)
        } else {
            u32::from_be_bytes(w)
        }
    };
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= b.len() {
        let caplen = u32_at(at + 8) as usize;
        out.push(b[at + 16..at + 16 + caplen].to_vec());
        at += 16 + caplen;
    }
    out
}

/// The non-zero drop counters.
pub fn nonzero_drops(json: &Value) -> BTreeMap<String, u64> {
    json["total"]["drops"]
        .as_object()
        .expect("drops")
        .iter()
        .filter_map(|(k, v)| {
            let n = v.as_u64().unwrap_or(0);
            (n > 0).then(|| (k.clone(), n))
        })
        .collect()
}

/// `opackets` of the port named `name`.
pub fn port_out(json: &Value, name: &str) -> u64 {
    json["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .find(|p| p["name"] == name)
        .and_then(|p| p["opackets"].as_u64())
        .unwrap_or_else(|| panic!("port {name} in {json}"))
}
