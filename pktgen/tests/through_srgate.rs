//! pktgen through srgate, two DPDK processes on one machine joined by net_memif: pktgen
//! (memif client) sends a counted number of packets to srgate (memif server), which
//! forwards them back on the same port; pktgen matches every packet that returns by the
//! signature in its payload. Every assertion is on exact counters, none on timing:
//! sent = received + srgate's counted drops.

mod common;

use common::*;

/// srgate's side: one memif port `gen`, cross-connected back to itself, with `queues` RX
/// queues (a memif server must have as many RX queues as its client has TX queues).
fn xconnect_body(socket: &std::path::Path, queues: u32) -> String {
    format!(
        "[[port]]\nname = \"gen\"\ndevice = \"net_memif0,role=server,socket={}\"\nrx_queues = {queues}\n\n[[xconnect]]\nfrom = \"gen\"\nto = \"gen\"\ndst_mac = \"02:00:00:00:00:99\"\n",
        socket.display()
    )
}

#[test]
fn ipv4_with_malformed_packets_adds_up_exactly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("memif.sock");
    let sg = Srgate::start(dir.path(), "pgt-v4-sg", &xconnect_body(&sock, 1));
    let prof = profile(
        dir.path(),
        "pgt-v4-pg",
        "[0]",
        &sock,
        "protocol = \"ipv4\"\nflows = 4\nsize = 64\nrate_pps = 200000\ncount = 10000\nmalformed_every = 50\n",
    );
    let (out, pg) = run_pktgen(&prof);
    let sg = sg.stop();
    assert_conserved(&pg, &sg);
    assert_eq!(u(&pg, "/tx/packets"), 10_000);
    assert_eq!(u(&pg, "/tx/malformed"), 200, "every 50th packet");
    let (drops, dropped) = srgate_drops(&sg);
    let bad = drops
        .iter()
        .find(|d| d.0 == "ipv4-bad-checksum")
        .map_or(0, |d| d.1);
    assert_eq!(
        bad, 200,
        "srgate drops exactly the malformed ones: {drops:?}"
    );
    assert_eq!(u(&pg, "/rx/malformed"), 0);
    assert_eq!(
        u(&pg, "/totals/lost"),
        dropped - 200,
        "lost flow packets are srgate's other drops"
    );
    for s in pg["streams"].as_array().expect("streams") {
        assert_eq!(u(s, "/sent"), 2450, "9800 flow packets over 4 flows: {s}");
    }
    let ports = pg["ports"].as_array().expect("ports");
    assert_eq!(u(&ports[0], "/opackets"), 10_000);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("== pktgen result: ipv4"), "{stdout}");
}

/// The 64-byte fast path (per-flow frames, runs between malformed packets and flow wraps,
/// mbufs allocated a few at a time) with counts that divide nothing evenly: every flow's
/// count and every sequence number must still come out exact (no loss, duplicate or
/// reordering beyond srgate's counted drops).
#[test]
fn ipv4_fast_path_counts_flows_and_sequences_exactly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("memif.sock");
    let sg = Srgate::start(dir.path(), "pgt-fast-sg", &xconnect_body(&sock, 1));
    let prof = profile(
        dir.path(),
        "pgt-fast-pg",
        "[0]",
        &sock,
        "protocol = \"ipv4\"\nflows = 7\nsize = 64\nburst = 29\nrate_pps = 300000\ncount = 9999\nmalformed_every = 13\n",
    );
    let (_, pg) = run_pktgen(&prof);
    let sg = sg.stop();
    assert_conserved(&pg, &sg);
    assert_eq!(u(&pg, "/tx/packets"), 9999);
    assert_eq!(u(&pg, "/tx/malformed"), 9999 / 13);
    assert_eq!(u(&pg, "/tx/bytes"), 9999 * 60);
    // 9999 - 769 = 9230 flow packets round-robin over 7 flows: 1319 for flows 0..=3.
    for s in pg["streams"].as_array().expect("streams") {
        let want = if u(s, "/id") < 4 { 1319 } else { 1318 };
        assert_eq!(u(s, "/sent"), want, "{s}");
        assert_eq!(u(s, "/duplicates"), 0, "{s}");
    }
    assert_eq!(u(&pg, "/totals/reordered"), 0);
    let (_, dropped) = srgate_drops(&sg);
    assert_eq!(u(&pg, "/totals/lost"), dropped - 9999 / 13);
}

#[test]
fn mpls_imix_on_two_tx_cores() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("memif.sock");
    let sg = Srgate::start(dir.path(), "pgt-mpls-sg", &xconnect_body(&sock, 2));
    let prof = profile(
        dir.path(),
        "pgt-mpls-pg",
        "[0, 1]",
        &sock,
        "protocol = \"mpls\"\nflows = 6\ntx_cores = 2\nimix = [[76, 7], [576, 4], [1518, 1]]\nrate_pps = 100000\ncount = 6000\n\n[traffic.mpls]\nlabels = [1000, 2000, 3000]\n",
    );
    let (_, pg) = run_pktgen(&prof);
    let sg = sg.stop();
    assert_conserved(&pg, &sg);
    assert_eq!(u(&pg, "/tx/packets"), 6000);
    // Every packet srgate handled went out, or was counted as refused by the memif TX
    // ring (pktgen's receive side shares two loaded cores with three other threads).
    assert_eq!(
        u(&sg, "/total/handled/mpls-xconnect"),
        u(&sg, "/total/tx_packets") + only_tx_queue_full_drops(&sg)
    );
    // Flows 0, 2, 4 on TX core 0 and 1, 3, 5 on TX core 1, 1000 packets each.
    for s in pg["streams"].as_array().expect("streams") {
        assert_eq!(u(s, "/tx_core"), u(s, "/id") % 2, "{s}");
        assert_eq!(u(s, "/sent"), 1000, "{s}");
    }
    // The mix: 7/12 of the packets are 72 bytes in the mbuf, 4/12 572, 1/12 1514.
    assert_eq!(u(&pg, "/tx/bytes"), 500 * (7 * 72 + 4 * 572 + 1514));
}

#[test]
fn srou_decapsulated_by_srgate_still_matches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("memif.sock");
    let body = format!(
        "{}\n[tables.srou]\n[[tables.srou.locator]]\naddress = \"10.99.3.1:8811\"\ndecap = true\n\n[tables.srou.decap]\nport = \"gen\"\ndst_mac = \"02:00:00:00:00:99\"\n",
        xconnect_body(&sock, 1)
    );
    let sg = Srgate::start(dir.path(), "pgt-srou-sg", &body);
    let prof = profile(
        dir.path(),
        "pgt-srou-pg",
        "[0]",
        &sock,
        "protocol = \"srou\"\nflows = 3\nsize = 200\nrate_pps = 100000\ncount = 3000\n\n[traffic.srou]\nsource = \"10.0.0.1:4000\"\nlocators = [\"10.99.3.1:8811\"]\nflow_id = \"0x000123\"\n",
    );
    let (_, pg) = run_pktgen(&prof);
    let sg = sg.stop();
    assert_conserved(&pg, &sg);
    assert_eq!(
        u(&sg, "/total/srou/decapsulated"),
        u(&sg, "/total/tx_packets") + only_tx_queue_full_drops(&sg)
    );
    assert!(u(&pg, "/rx/matched") > 0);
    // The inner packet comes back 51 bytes shorter than it was sent (outer IPv4, UDP and
    // a 23-byte SRoU header stripped).
    assert_eq!(
        u(&pg, "/rx/bytes"),
        u(&pg, "/rx/packets") * (196 - 51),
        "received frames are the inner packets"
    );
}

#[test]
fn stamp_over_ipv6_is_reflected_with_valid_checksums() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("memif.sock");
    let body = format!(
        "{}\n[tables.stamp]\naddresses = [\"2001:db8:d::1\"]\n",
        xconnect_body(&sock, 1)
    );
    let sg = Srgate::start(dir.path(), "pgt-stamp-sg", &body);
    let prof = profile(
        dir.path(),
        "pgt-stamp-pg",
        "[0]",
        &sock,
        "protocol = \"stamp\"\nflows = 2\nsize = 200\nsrc_ip = \"2001:db8:a::1\"\ndst_ip = \"2001:db8:d::1\"\nsrc_port = 40000\nrate_pps = 50000\ncount = 2000\n",
    );
    let (_, pg) = run_pktgen(&prof);
    let sg = sg.stop();
    assert_conserved(&pg, &sg);
    let (drops, _) = srgate_drops(&sg);
    assert!(
        drops.iter().all(|d| d.0 != "stamp-bad-checksum"),
        "pktgen's incremental UDP checksums verify at the reflector: {drops:?}"
    );
    assert_eq!(u(&pg, "/rx/matched"), u(&sg, "/total/tx_packets"));
}

#[test]
fn shipped_srgate_configs_for_the_profiles_are_valid() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/srgate");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).expect("profiles/srgate") {
        let p = e.expect("entry").path();
        if p.extension().is_some_and(|x| x == "toml") {
            let out = std::process::Command::new(srgate())
                .arg("check-config")
                .arg(&p)
                .output()
                .expect("spawn srgate");
            assert!(
                out.status.success(),
                "{}: {}",
                p.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            n += 1;
        }
    }
    assert!(n >= 2);
}
