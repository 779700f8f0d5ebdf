//! The STAMP / TWAMP-Light Session-Reflector end to end (RFC 8762; SRv6 path consistency
//! of seed 003): scapy builds Session-Sender packets (`tests/scapy/stamp.py`), srgate runs
//! the shipped `config/stamp-reflector.toml` (paths moved into a temporary directory) on
//! net_pcap with real EAL, and tshark decodes every reply as `twamp.test`.
//!
//! The reflector answers on the port the request came in on, so the "core" port is one
//! net_pcap device with `rx_pcap` (the requests) and `tx_pcap` (the replies); what is not
//! for the reflector takes the cross-connect to the TX-only "onward" port.
//!
//! `stamp.py` prints, for every frame it writes, what must become of it (reflected with
//! which reply headers, dropped with which reason, cross-connected); [`violations`] checks
//! the replies, the onward frames and the counters against that and returns what is
//! wrong, so that a deliberately broken configuration can be shown to fail the check.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use serde_json::Value;

/// The worked example the tests run.
const SHIPPED: &str = "config/stamp-reflector.toml";
/// The directory of its pcap files, replaced by a temporary one.
const SHIPPED_DIR: &str = "/tmp/srgate-stamp/";
/// tshark: decode UDP port 862 as STAMP / TWAMP-Test.
const DECODE_STAMP: &str = "udp.port==862,twamp.test";
/// `reply_ttl` in the shipped config.
const REPLY_TTL: u64 = 255;
/// The shipped `error_estimate`: S = 0, Z = 0, scale 22, multiplier 1.
const REFLECTOR_ERROR_ESTIMATE: u64 = (22 << 8) | 1;
/// What stamp.py's senders write: S = 1, scale 0, multiplier 1.
const SENDER_ERROR_ESTIMATE: u64 = 0x8001;
/// The cross-connect's next hop and D's MAC toward it.
const ONWARD_DST_MAC: &str = "02:5e:00:00:ee:dd";
const ONWARD_SRC_MAC: &str = "02:5e:00:00:dd:ee";
/// How far T2 / T3 may be from the wall clock around the run (TSC anchoring, scheduling).
const CLOCK_SLACK: Duration = Duration::from_secs(2);

/// One srgate run over one `stamp.py` suite.
struct Run {
    dir: tempfile::TempDir,
    /// One entry per input frame (stamp.py's stdout).
    manifest: Vec<Value>,
    /// The final counters.
    json: Value,
    /// Wall clock just before stamp.py built the frames, and after srgate exited.
    before: Duration,
    after: Duration,
}

impl Run {
    fn pcap(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
}

/// Runs `tests/scapy/stamp.py SUITE OUT` with Debian's python3; returns the manifest.
fn scapy_stamp(suite: &str, out: &Path) -> Vec<Value> {
    let o = Command::new("/usr/bin/python3")
        .arg(root().join("tests/scapy/stamp.py"))
        .arg(suite)
        .arg(out)
        .output()
        .expect("run /usr/bin/python3 (install python3-scapy: scripts/install-deps.sh)");
    assert!(
        o.status.success(),
        "stamp.py failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("manifest line {l:?}: {e}")))
        .collect()
}

/// Builds `suite`'s requests, writes the shipped config with this run's directory (after
/// `edit`, the identity but for deliberate breakage) and runs srgate until the requests
/// are drained.
fn run(suite: &str, tag: &str, edit: &dyn Fn(String) -> String) -> Run {
    let dir = tempfile::tempdir().expect("tempdir");
    let before = now();
    let manifest = scapy_stamp(suite, &dir.path().join("requests.pcap"));
    let text = std::fs::read_to_string(root().join(SHIPPED)).expect("shipped config");
    assert!(
        text.contains(&format!("rx_pcap={SHIPPED_DIR}requests.pcap")),
        "{SHIPPED}: the pcap files live in {SHIPPED_DIR}"
    );
    let text = text.replace(SHIPPED_DIR, &format!("{}/", dir.path().display()));
    let cfg = dir.path().join("srgate.toml");
    std::fs::write(&cfg, edit(text)).expect("write config");
    let prefix = format!("--file-prefix=stamp-{tag}-{}", std::process::id());
    let (_, json) = run_srgate(
        &cfg,
        &["--exit-idle-ms", "700", "--duration", "30", "--", &prefix],
    );
    Run {
        dir,
        manifest,
        json,
        before,
        after: now(),
    }
}

/// The fields read from every reply, by name.
const REPLY_FIELDS: &[&str] = &[
    "frame.len",
    "eth.src",
    "eth.dst",
    "vlan.id",
    "ip.src",
    "ip.dst",
    "ip.ttl",
    "ip.checksum.status",
    "ipv6.src",
    "ipv6.dst",
    "ipv6.hlim",
    "ipv6.tclass",
    "ipv6.flow",
    "ipv6.routing.segleft",
    "ipv6.routing.srh.last_entry",
    "ipv6.routing.srh.flags",
    "ipv6.routing.srh.addr",
    "udp.srcport",
    "udp.dstport",
    "udp.length",
    "udp.checksum.status",
    "udp.payload",
    "twamp.test.seq_number",
    "twamp.test.timestamp",
    "twamp.test.error_estimate",
    "twamp.test.receive_timestamp",
    "twamp.test.sender_seq_number",
    "twamp.test.sender_timestamp",
    "twamp.test.sender_error_estimate",
    "twamp.test.sender_ttl",
];

/// One frame as tshark decoded it: field name -> value (occurrences joined by ',').
struct Row(Vec<(&'static str, String)>);

impl Row {
    fn get(&self, field: &str) -> &str {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("field {field} not read"))
    }

    fn num(&self, field: &str) -> Option<u64> {
        num(self.get(field).split(',').next()?)
    }
}

/// A tshark number: decimal, or hex with 0x.
fn num(s: &str) -> Option<u64> {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// `fields` of every frame of `pcap`, STAMP decoded, checksums verified, times in UTC.
fn decode(pcap: &Path, fields: &[&'static str]) -> Vec<Row> {
    let mut cmd = Command::new("tshark");
    cmd.env("TZ", "UTC").arg("-n").arg("-r").arg(pcap);
    cmd.args([
        "-d",
        DECODE_STAMP,
        "-o",
        "ip.check_checksum:TRUE",
        "-o",
        "udp.check_checksum:TRUE",
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
        .map(|l| {
            Row(fields
                .iter()
                .copied()
                .zip(l.split('|').map(str::to_string))
                .collect())
        })
        .collect()
}

/// tshark's absolute time (`Nov 23, 2026 09:24:03.263555765 UTC`) as nanoseconds since
/// the Unix epoch.
fn parse_time(s: &str) -> Option<i128> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let mut it = s.strip_suffix(" UTC")?.split_whitespace();
    let month_name = it.next()?;
    let month = MONTHS.iter().position(|m| *m == month_name)? as i64 + 1;
    let day: i64 = it.next()?.strip_suffix(',')?.parse().ok()?;
    let year: i64 = it.next()?.parse().ok()?;
    let (hms, frac) = it.next()?.split_once('.')?;
    if it.next().is_some() || frac.is_empty() || frac.len() > 9 {
        return None;
    }
    let mut hms = hms.split(':').map(|x| x.parse::<i64>().ok());
    let (h, m, sec) = (hms.next()??, hms.next()??, hms.next()??);
    let nanos: i64 = format!("{frac:0<9}").parse().ok()?;
    // Days from civil (H. Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + m * 60 + sec;
    Some(i128::from(secs) * 1_000_000_000 + i128::from(nanos))
}

fn nanos(d: Duration) -> i128 {
    d.as_nanos() as i128
}

fn entry_str<'a>(e: &'a Value, key: &str) -> &'a str {
    e[key].as_str().unwrap_or("")
}

fn entry_num(e: &Value, key: &str) -> Option<u64> {
    e[key].as_u64()
}

/// Everything wrong with `run` compared with its manifest; empty when the reflector did
/// exactly what `stamp.py` announced.
fn violations(run: &Run) -> Vec<String> {
    let mut bad = Vec::new();
    let m = &run.manifest;
    let fate = |f: &'static str| m.iter().filter(move |e| e["fate"] == f);

    // T1 as tshark decodes each request: (UDP source port, Sequence Number) -> timestamp.
    let requests = decode(
        &run.pcap("requests.pcap"),
        &[
            "udp.srcport",
            "twamp.test.seq_number",
            "twamp.test.timestamp",
        ],
    );
    if requests.len() != m.len() {
        bad.push(format!(
            "requests.pcap holds {} frames, the manifest {}",
            requests.len(),
            m.len()
        ));
    }
    let t1_of = |sport: u64, seq: u64| -> Option<&str> {
        requests
            .iter()
            .find(|r| {
                r.num("udp.srcport") == Some(sport) && r.num("twamp.test.seq_number") == Some(seq)
            })
            .map(|r| r.get("twamp.test.timestamp"))
    };

    // Replies: one per valid test packet to D, matched by (UDP destination port, Sender
    // Sequence Number), in request order (one RX queue, one worker).
    let replies = decode(&run.pcap("replies.pcap"), REPLY_FIELDS);
    let expected: Vec<&Value> = fate("reflect").collect();
    let key_of_reply = |r: &Row| (r.num("udp.dstport"), r.num("twamp.test.sender_seq_number"));
    let key_of_request = |e: &Value| (entry_num(e, "sport"), entry_num(e, "seq"));
    if replies.len() != expected.len() {
        bad.push(format!(
            "{} replies, expected {} (one per valid test packet to D)",
            replies.len(),
            expected.len()
        ));
    }
    for r in &replies {
        if !expected
            .iter()
            .any(|e| key_of_request(e) == key_of_reply(r))
        {
            bad.push(format!(
                "unexpected reply to port {} seq {}",
                r.get("udp.dstport"),
                r.get("twamp.test.sender_seq_number")
            ));
        }
    }
    let order: Vec<_> = replies.iter().map(key_of_reply).collect();
    let want_order: Vec<_> = expected.iter().map(|e| key_of_request(e)).collect();
    if replies.len() == expected.len() && order != want_order {
        bad.push(format!(
            "replies out of request order: {order:?}, expected {want_order:?}"
        ));
    }
    let (lo, hi) = (
        nanos(run.before - CLOCK_SLACK),
        nanos(run.after + CLOCK_SLACK),
    );
    for e in &expected {
        let sport = entry_num(e, "sport").unwrap_or(0);
        let seq = entry_num(e, "seq").unwrap_or(0);
        let at = format!("reply to sport {sport} seq {seq}");
        let Some(r) = replies
            .iter()
            .find(|r| key_of_reply(r) == key_of_request(e))
        else {
            bad.push(format!("{at}: missing"));
            continue;
        };
        let mut check = |ok: bool, what: String| {
            if !ok {
                bad.push(format!("{at}: {what}"));
            }
        };
        let v4 = e["family"] == 4;

        // L2: MACs swapped, VLAN kept.
        check(
            r.get("eth.src") == entry_str(e, "eth_dst")
                && r.get("eth.dst") == entry_str(e, "eth_src"),
            format!(
                "MACs not swapped: {} -> {}",
                r.get("eth.src"),
                r.get("eth.dst")
            ),
        );
        let vlan = e["vlan"]
            .as_u64()
            .map(|v| v.to_string())
            .unwrap_or_default();
        check(
            r.get("vlan.id") == vlan,
            format!("VLAN {:?}, expected {vlan:?}", r.get("vlan.id")),
        );

        // L3: addresses swapped, reply TTL, checksums, SRv6 reverse path.
        let (src, dst) = (entry_str(e, "src"), entry_str(e, "dst"));
        let mut ip_len = 0;
        if v4 {
            ip_len = 20;
            check(
                r.get("ip.src") == dst && r.get("ip.dst") == src,
                format!(
                    "IPv4 {} -> {}, expected {dst} -> {src}",
                    r.get("ip.src"),
                    r.get("ip.dst")
                ),
            );
            check(
                r.num("ip.ttl") == Some(REPLY_TTL),
                format!("TTL {}", r.get("ip.ttl")),
            );
            check(
                r.get("ip.checksum.status") == "1",
                format!(
                    "IPv4 checksum status {:?} (1 = good)",
                    r.get("ip.checksum.status")
                ),
            );
        } else {
            let reply = &e["reply"];
            let encap = reply["encap"] == true;
            let outer_dst = entry_str(reply, "outer_dst");
            let (want_src, want_dst, want_hlim) = if encap {
                (
                    format!("{dst},{dst}"),
                    format!("{outer_dst},{src}"),
                    format!("{REPLY_TTL},{REPLY_TTL}"),
                )
            } else {
                (
                    dst.to_string(),
                    outer_dst.to_string(),
                    REPLY_TTL.to_string(),
                )
            };
            check(
                r.get("ipv6.src") == want_src && r.get("ipv6.dst") == want_dst,
                format!(
                    "IPv6 {} -> {}, expected {want_src} -> {want_dst}",
                    r.get("ipv6.src"),
                    r.get("ipv6.dst")
                ),
            );
            check(
                r.get("ipv6.hlim") == want_hlim,
                format!("hop limits {}", r.get("ipv6.hlim")),
            );
            ip_len += 40 * if encap { 2 } else { 1 };
            match reply["srh"].as_object() {
                Some(srh) => {
                    let addrs: Vec<&str> = srh["addrs"]
                        .as_array()
                        .map(|a| a.iter().filter_map(Value::as_str).collect())
                        .unwrap_or_default();
                    ip_len += 8 + 16 * addrs.len();
                    check(
                        r.get("ipv6.routing.srh.addr") == addrs.join(","),
                        format!(
                            "SRH segment list {}, expected {}",
                            r.get("ipv6.routing.srh.addr"),
                            addrs.join(",")
                        ),
                    );
                    check(
                        r.num("ipv6.routing.segleft") == srh["segleft"].as_u64(),
                        format!(
                            "Segments Left {}, expected {}",
                            r.get("ipv6.routing.segleft"),
                            srh["segleft"]
                        ),
                    );
                    check(
                        r.num("ipv6.routing.srh.last_entry") == Some(addrs.len() as u64 - 1),
                        format!("Last Entry {}", r.get("ipv6.routing.srh.last_entry")),
                    );
                    check(
                        r.num("ipv6.routing.srh.flags") == Some(0),
                        format!(
                            "SRH flags {} (P-flag must be clear in a reply)",
                            r.get("ipv6.routing.srh.flags")
                        ),
                    );
                }
                None => check(
                    r.get("ipv6.routing.srh.addr").is_empty(),
                    format!("unexpected SRH {}", r.get("ipv6.routing.srh.addr")),
                ),
            }
            if let (Some(tc), Some(fl)) = (entry_num(e, "tclass"), entry_num(e, "flow")) {
                check(
                    r.num("ipv6.tclass") == Some(tc) && r.num("ipv6.flow") == Some(fl),
                    format!(
                        "traffic class {} flow {}, expected {tc:#x} {fl:#x}",
                        r.get("ipv6.tclass"),
                        r.get("ipv6.flow")
                    ),
                );
            }
        }

        // UDP: ports swapped, length padded to 44 bytes of STAMP, checksum good.
        check(
            r.num("udp.srcport") == Some(862) && r.num("udp.dstport") == Some(sport),
            format!(
                "UDP {} -> {}, expected 862 -> {sport}",
                r.get("udp.srcport"),
                r.get("udp.dstport")
            ),
        );
        let stamp_len = entry_num(e, "payload_len").unwrap_or(0).max(44);
        check(
            r.num("udp.length") == Some(8 + stamp_len),
            format!(
                "UDP length {}, expected {}",
                r.get("udp.length"),
                8 + stamp_len
            ),
        );
        check(
            r.get("udp.checksum.status") == "1",
            format!(
                "UDP checksum status {:?} (1 = good)",
                r.get("udp.checksum.status")
            ),
        );
        let l2 = 14 + if vlan.is_empty() { 0 } else { 4 };
        let frame_len = l2 + ip_len + 8 + stamp_len as usize;
        check(
            r.num("frame.len") == Some(frame_len as u64),
            format!(
                "frame of {} bytes, expected {frame_len}",
                r.get("frame.len")
            ),
        );

        // STAMP: the reflector packet.
        check(
            r.num("twamp.test.sender_seq_number") == Some(seq),
            format!(
                "Sender Sequence Number {}",
                r.get("twamp.test.sender_seq_number")
            ),
        );
        check(
            r.num("twamp.test.seq_number") == Some(seq),
            format!(
                "Sequence Number {} (stateless: the sender's)",
                r.get("twamp.test.seq_number")
            ),
        );
        check(
            r.num("twamp.test.sender_ttl") == entry_num(e, "ttl"),
            format!(
                "Sender TTL {}, the request had {}",
                r.get("twamp.test.sender_ttl"),
                e["ttl"]
            ),
        );
        check(
            r.num("twamp.test.sender_error_estimate") == Some(SENDER_ERROR_ESTIMATE),
            format!(
                "Sender Error Estimate {}",
                r.get("twamp.test.sender_error_estimate")
            ),
        );
        check(
            r.num("twamp.test.error_estimate") == Some(REFLECTOR_ERROR_ESTIMATE),
            format!(
                "Error Estimate {}, configured {REFLECTOR_ERROR_ESTIMATE}",
                r.get("twamp.test.error_estimate")
            ),
        );
        let t1 = r.get("twamp.test.sender_timestamp");
        match t1_of(sport, seq) {
            Some(req) => check(
                t1 == req,
                format!("Sender Timestamp {t1}, the request's T1 {req}"),
            ),
            None => check(false, "request not found in requests.pcap".into()),
        }
        let t1 = parse_time(t1);
        let t2 = parse_time(r.get("twamp.test.receive_timestamp"));
        let t3 = parse_time(r.get("twamp.test.timestamp"));
        match (t1, t2, t3) {
            (Some(t1), Some(t2), Some(t3)) => {
                check(t2 <= t3, format!("T2 {t2} after T3 {t3}"));
                check(
                    t1 <= t2 + nanos(CLOCK_SLACK),
                    format!("T1 {t1} after T2 {t2}"),
                );
                for (name, t) in [("T1", t1), ("T2", t2), ("T3", t3)] {
                    check(
                        (lo..=hi).contains(&t),
                        format!("{name} {t} ns outside the run's wall clock [{lo}, {hi}]"),
                    );
                }
                check(t3 - t2 < 1_000_000_000, format!("T3 - T2 = {} ns", t3 - t2));
            }
            _ => check(
                false,
                format!(
                    "timestamps not decoded: T1 {:?} T2 {:?} T3 {:?}",
                    r.get("twamp.test.sender_timestamp"),
                    r.get("twamp.test.receive_timestamp"),
                    r.get("twamp.test.timestamp")
                ),
            ),
        }
        // MBZ bytes zero, bytes after the 44th returned untouched.
        let payload = r.get("udp.payload");
        let mbz_zero = [(14, 16), (38, 40), (41, 44)].iter().all(|&(a, b)| {
            payload
                .get(2 * a..2 * b)
                .is_some_and(|h| h.bytes().all(|c| c == b'0'))
        });
        check(mbz_zero, format!("MBZ bytes not zero in {payload}"));
        let tail = entry_str(e, "tail");
        check(
            payload.get(88..) == Some(tail),
            format!(
                "bytes after the 44th {:?}, sent {tail:?}",
                payload.get(88..)
            ),
        );
    }

    // Not for the reflector: cross-connected, TTL / hop limit decremented.
    let onward = decode(
        &run.pcap("onward.pcap"),
        &[
            "eth.src",
            "eth.dst",
            "udp.srcport",
            "ip.dst",
            "ipv6.dst",
            "ip.ttl",
            "ipv6.hlim",
        ],
    );
    let expected: Vec<&Value> = fate("xconnect").collect();
    if onward.len() != expected.len() {
        bad.push(format!(
            "{} frames onward, expected {} (not for the reflector)",
            onward.len(),
            expected.len()
        ));
    }
    for (i, (r, e)) in onward.iter().zip(expected.iter()).enumerate() {
        let (ttl, dst) = if e["family"] == 4 {
            (r.num("ip.ttl"), r.get("ip.dst"))
        } else {
            (r.num("ipv6.hlim"), r.get("ipv6.dst"))
        };
        let ok = r.get("eth.dst") == ONWARD_DST_MAC
            && r.get("eth.src") == ONWARD_SRC_MAC
            && r.num("udp.srcport") == entry_num(e, "sport")
            && ttl == entry_num(e, "ttl").map(|t| t - 1);
        if !ok {
            bad.push(format!(
                "onward frame {i}: {} -> {} sport {} dst {dst} ttl {ttl:?}, expected sport {} ttl {} - 1",
                r.get("eth.src"),
                r.get("eth.dst"),
                r.get("udp.srcport"),
                e["sport"],
                e["ttl"]
            ));
        }
    }

    // Counters.
    let json = &run.json;
    let count = |key: &str| json["total"][key].as_u64().unwrap_or(u64::MAX);
    let n = |f: &'static str| fate(f).count() as u64;
    let handled = |h: &str| json["total"]["handled"][h].as_u64().unwrap_or(u64::MAX);
    let port_out = |name: &str| {
        json["ports"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == name))
            .and_then(|p| p["opackets"].as_u64())
            .unwrap_or(u64::MAX)
    };
    let drops = json["total"]["drops"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    // (counter, value, expected)
    let mut counters = vec![
        (
            "rx_packets".to_string(),
            count("rx_packets"),
            m.len() as u64,
        ),
        (
            "tx_packets".into(),
            count("tx_packets"),
            n("reflect") + n("xconnect"),
        ),
        ("handled.stamp".into(), handled("stamp"), n("reflect")),
        (
            "handled.ipv4 + handled.ipv6".into(),
            handled("ipv4").saturating_add(handled("ipv6")),
            n("xconnect"),
        ),
        ("ports.core.opackets".into(), port_out("core"), n("reflect")),
        (
            "ports.onward.opackets".into(),
            port_out("onward"),
            n("xconnect"),
        ),
    ];
    for (reason, v) in &drops {
        let want = fate("drop")
            .filter(|e| e["reason"] == reason.as_str())
            .count() as u64;
        counters.push((
            format!("drops.{reason}"),
            v.as_u64().unwrap_or(u64::MAX),
            want,
        ));
    }
    for (what, got, want) in counters {
        if got != want {
            bad.push(format!("counter {what} = {got}, expected {want}"));
        }
    }
    for e in fate("drop") {
        let reason = entry_str(e, "reason");
        if !drops.contains_key(reason) {
            bad.push(format!("drop reason {reason} missing from the counters"));
        }
    }
    bad
}

fn report(bad: &[String]) -> String {
    format!("{} violations:\n  {}", bad.len(), bad.join("\n  "))
}

fn unchanged(text: String) -> String {
    text
}

#[test]
fn tshark_times_parse() {
    assert_eq!(parse_time("Jan 1, 1970 00:00:00.000000000 UTC"), Some(0));
    assert_eq!(
        parse_time("Nov 23, 2026 09:24:03.263555765 UTC"),
        Some(1_795_425_843_263_555_765)
    );
    assert_eq!(
        parse_time("Feb 29, 2000 23:59:59.5 UTC"),
        Some(951_868_799_500_000_000)
    );
    assert_eq!(parse_time("Nov 23, 2026 10:24:03.263555765 CET"), None);
    assert_eq!(parse_time(""), None);
}

/// Test 1: IPv4 and IPv6 Session-Sender packets (RFC 8762, 44 bytes; TWAMP-Light 14 and
/// 30 bytes padded by the reflector; 60 bytes with padding returned; VLAN-tagged; IPv4
/// without UDP checksum; TTL 1; to an own SID) are all reflected as documented.
#[test]
fn reflects_ipv4_and_ipv6_session_sender_packets() {
    let run = run("valid", "valid", &unchanged);
    let bad = violations(&run);
    assert!(bad.is_empty(), "{}", report(&bad));
    assert_eq!(handled(&run.json, "stamp"), 15, "{}", run.json);
    assert_eq!(run.manifest.len(), 15);
}

/// Test 2: SRv6 test packets with the P-flag and the path segment at Segment List[Last
/// Entry] are answered along the configured reverse segment list (figures 5 and 4, both
/// reverse paths of the shipped config); without the P-flag as plain IPv6; in transit
/// (Segments Left 1) not at all.
#[test]
fn srv6_p_flag_reply_follows_the_reverse_path() {
    let run = run("srv6", "srv6", &unchanged);
    let bad = violations(&run);
    assert!(bad.is_empty(), "{}", report(&bad));
    // Spelled out once for the reader: figure 7 as it leaves D.
    let replies = decode(&run.pcap("replies.pcap"), REPLY_FIELDS);
    let first = &replies[0];
    assert_eq!(
        first.get("ipv6.routing.srh.addr"),
        "2001:db8:a::1,2001:db8:b::b1,2001:db8:c::c1,2001:db8:d::d1"
    );
    assert_eq!(first.get("ipv6.routing.segleft"), "2");
    assert_eq!(first.get("ipv6.dst"), "2001:db8:c::c1");
    assert_eq!(handled(&run.json, "stamp"), 8);
}

/// Test 3: malformed test packets are dropped under their own reason and never
/// reflected; UDP 862 to someone else, and traffic from port 862, take the cross-connect;
/// the valid test packets between them keep being reflected; srgate exits 0.
#[test]
fn malformed_test_packets_are_counted_never_reflected() {
    let run = run("malformed", "malformed", &unchanged);
    let bad = violations(&run);
    assert!(bad.is_empty(), "{}", report(&bad));
    for reason in [
        "stamp-too-short",
        "stamp-bad-checksum",
        "stamp-fragment",
        "srh-truncated",
        "stamp-bad-path-segment",
        "stamp-no-reverse-path",
    ] {
        assert!(drops(&run.json, reason) >= 1, "{reason}: {}", run.json);
    }
}

/// The check is not vacuous: with D's IPv4 address misconfigured, its IPv4 test packets
/// are not reflected (they take the cross-connect) and [`violations`] says so.
#[test]
fn check_catches_a_wrong_reflector_address() {
    let run = run("valid", "broken", &|text: String| {
        assert_eq!(text.matches("\"192.0.2.4\"").count(), 1);
        text.replace("\"192.0.2.4\"", "\"192.0.2.5\"")
    });
    let bad = violations(&run);
    eprintln!("as it must, the check fails: {}", report(&bad));
    assert!(
        bad.iter().any(|b| b.contains("replies, expected 15")),
        "{}",
        report(&bad)
    );
    assert!(
        bad.iter().any(|b| b.starts_with("counter handled.stamp")),
        "{}",
        report(&bad)
    );
}
