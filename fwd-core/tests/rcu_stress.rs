//! RCU under traffic: a worker on its own lcore forwards packets between two real DPDK ports
//! (net_ring, real EAL) while the control side replaces the forwarding snapshot 1000 times.
//! Every packet must arrive (zero loss), each rewritten by one whole snapshot (never a mix),
//! and every replaced snapshot must be reclaimed once the worker has moved past it.
//!
//! EAL is initialised once per process, so this file is one test.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use dpdk_sys::eal::Eal;
use dpdk_sys::lcore;
use dpdk_sys::mbuf::PktBurst;
use dpdk_sys::mempool::PktMempool;
use dpdk_sys::port::{self, Port, PortConfig};
use fwd_core::adjacency::Adjacency;
use fwd_core::counters::WorkerCounters;
use fwd_core::pipeline::{Pipeline, MAX_PORTS};
use fwd_core::rcu::Publisher;
use fwd_core::worker::{self, IdlePolicy, LcoreWork, RxWork};

const PUBLICATIONS: u64 = 1000;

/// Packets sent (a replacement every `PACKETS / PUBLICATIONS`); `SRGATE_STRESS_PACKETS`
/// lowers it for runs under valgrind (`scripts/valgrind-stress.sh`), down to one
/// replacement per packet.
fn packets() -> u64 {
    std::env::var("SRGATE_STRESS_PACKETS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000u64)
        .max(PUBLICATIONS)
}

/// How long the test may take: `SRGATE_STRESS_DEADLINE_S` (default 120 s).
fn deadline() -> std::time::Duration {
    std::time::Duration::from_secs(
        std::env::var("SRGATE_STRESS_DEADLINE_S")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(120),
    )
}

fn frame(seq: u64) -> Vec<u8> {
    let mut f = vec![0u8; 60];
    f[0..6].copy_from_slice(&[2, 0, 0, 0, 0, 0xee]);
    f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 0x01]);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    let ip = &mut f[14..34];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&46u16.to_be_bytes());
    ip[8] = 64;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&[10, 0, 0, 1]);
    ip[16..20].copy_from_slice(&[10, 0, 0, 2]);
    let c = fwd_core::wire::checksum::checksum(ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f[34..36].copy_from_slice(&1000u16.to_be_bytes());
    f[36..38].copy_from_slice(&2000u16.to_be_bytes());
    f[38..40].copy_from_slice(&26u16.to_be_bytes());
    f[42..50].copy_from_slice(&seq.to_be_bytes());
    f
}

/// Snapshot `g` sends to a MAC that encodes g (low byte) in both MAC fields: a torn
/// snapshot would show as a destination and source that disagree.
fn snapshot(g: u64, a: u16, b: u16) -> Pipeline {
    let mut p = Pipeline::new();
    let tag = (g & 0xff) as u8;
    p.set_xconnect(
        a,
        Adjacency {
            port: b,
            dst_mac: [2, 0xd0, 0, 0, 0, tag],
            src_mac: [2, 0x50, 0, 0, 0, tag],
        },
    )
    .expect("valid port ids");
    p
}

#[test]
fn thousand_table_replacements_under_traffic_lose_nothing() {
    let total = packets();
    let eal = Eal::init([
        "rcu_stress",
        "-l",
        "0,1",
        "--no-huge",
        "-m",
        "256",
        "--no-pci",
        "--no-shconf",
        "--no-telemetry",
        "--iova-mode=va",
        "--file-prefix=rcu-stress",
        "--vdev=net_ring0",
        "--vdev=net_ring1",
        "--log-level=lib.eal:warning",
    ])
    .expect("EAL");
    let pool =
        Arc::new(PktMempool::create("stress", 4095, 64, 2176, eal.socket_id()).expect("pool"));
    let cfg = PortConfig {
        rx_queues: 1,
        tx_queues: 1,
        rx_desc: 512,
        tx_desc: 512,
        promiscuous: false,
    };
    let mut pa = Port::configure(
        port::id_by_name("net_ring0").expect("a"),
        &cfg,
        Arc::clone(&pool),
    )
    .expect("a");
    let mut pb = Port::configure(
        port::id_by_name("net_ring1").expect("b"),
        &cfg,
        Arc::clone(&pool),
    )
    .expect("b");
    pa.start().expect("start a");
    pb.start().expect("start b");
    let (a, b) = (pa.id(), pb.id());

    let mut tables = Publisher::new(snapshot(0, a, b));
    let counters = WorkerCounters::default();
    let stop = AtomicBool::new(false);
    // The worker polls A's RX queue and sends on B's TX queue; net_ring loops each TX queue
    // back to the RX queue of the same index, so the test injects with A's TX queue and
    // collects from B's RX queue.
    let mut tx: Vec<Option<_>> = (0..MAX_PORTS).map(|_| None).collect();
    tx[b as usize] = Some(pb.tx_queue(0).expect("b tx"));
    let work = LcoreWork {
        rx: vec![RxWork {
            rx: pa.rx_queue(0).expect("a rx"),
            counters: &counters,
        }],
        tx,
        pipeline: tables.reader(),
        idle: IdlePolicy::default(),
        probe_pool: None,
        prefetch: Default::default(),
    };
    let mut inject = pa.tx_queue(0).expect("a tx");
    let mut collect = pb.rx_queue(0).expect("b rx");

    let (summary, codes) = lcore::scope(|s| {
        s.launch(1, || worker::run(work, &stop))
            .expect("launch worker");
        let mut sent = 0u64;
        let mut received = 0u64;
        let mut published = 0u64;
        let mut reclaimed = 0usize;
        let mut out = PktBurst::new();
        let mut got = PktBurst::new();
        let mut tags_seen = std::collections::BTreeSet::new();
        let deadline = std::time::Instant::now() + deadline();
        while received < total && std::time::Instant::now() < deadline {
            // Inject a burst, keeping at most ~256 packets in flight so rings never overflow.
            if sent < total && sent - received < 256 {
                for _ in 0..32.min(total - sent) {
                    let Some(mut m) = pool.alloc() else { break };
                    assert!(m.set_data(&frame(sent)));
                    out.push(m).expect("room");
                    sent += 1;
                }
                let n = out.len();
                let ok = inject.tx_burst(&mut out);
                sent -= (n - ok) as u64;
                out.free_all();
            }
            // Replace the tables every `total / PUBLICATIONS` packets sent (catching up when
            // a burst sent more than that).
            while published < PUBLICATIONS && sent >= (published + 1) * (total / PUBLICATIONS) {
                published = tables.publish(snapshot(published + 1, a, b));
                reclaimed += tables.reclaim();
            }
            collect.rx_burst(&mut got, 32);
            for m in got.as_mut_slice() {
                let d = m.data();
                assert_eq!(d[1], 0xd0, "destination MAC from a snapshot");
                assert_eq!(d[5], d[11], "destination and source from the same snapshot");
                assert_eq!(d[22], 63, "TTL decremented once");
                tags_seen.insert(d[5]);
                received += 1;
            }
            got.free_all();
        }
        // Let the worker pass its quiescent point once more, then reclaim everything.
        let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while tables.retired() > 0 && std::time::Instant::now() < until {
            reclaimed += tables.reclaim();
            std::thread::yield_now();
        }
        stop.store(true, Ordering::Relaxed);
        (sent, received, published, reclaimed, tags_seen.len())
    });
    let (sent, received, published, reclaimed, distinct) = summary;
    assert_eq!(codes, vec![(1, 0)]);
    assert_eq!(published, PUBLICATIONS);
    assert_eq!(sent, total);
    assert_eq!(
        received, total,
        "zero packets lost across {PUBLICATIONS} replacements"
    );
    let c = counters.snapshot();
    assert_eq!(c.rx_packets, total);
    assert_eq!(c.tx_packets, total);
    assert_eq!(c.total_drops(), 0, "{c:?}");
    // Snapshots are tagged modulo 256. A scaled-down run (valgrind: a replacement every
    // 20 packets, several per burst) sees fewer of them, but still many.
    let want = if total < 200_000 { 10 } else { 100 };
    assert!(distinct > want, "traffic saw many snapshots ({distinct})");
    // The worker counts the replacements it took at its quiescent points: at least those
    // whose packets it forwarded on a new snapshot, at most one per publication.
    assert!(
        c.snapshots >= distinct as u64 - 1 && c.snapshots <= PUBLICATIONS,
        "snapshots taken {} (distinct tags seen {distinct}, publications {PUBLICATIONS})",
        c.snapshots
    );
    assert_eq!(tables.retired(), 0, "every replaced snapshot reclaimed");
    assert_eq!(reclaimed as u64, PUBLICATIONS);
    let tsc = dpdk_sys::cycles::tsc_hz();
    eprintln!(
        "rcu stress: {total} packets, {PUBLICATIONS} replacements, {distinct} snapshots seen, {} taken, longest worker loop {:.1} us, longest on a new snapshot {:.1} us",
        c.snapshots,
        c.max_loop_cycles as f64 * 1e6 / tsc as f64,
        c.max_swap_loop_cycles as f64 * 1e6 / tsc as f64
    );
    drop(inject);
    drop(collect);
    drop(tables);
    drop(pa);
    drop(pb);
    assert_eq!(pool.in_use(), 0, "no mbuf leaked");
}
