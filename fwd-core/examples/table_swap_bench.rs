//! Benchmark: replacing a 1M-entry LFIB while a worker forwards at full load.
//!
//! A worker on lcore 1 label-switches packets between two net_ring ports (real EAL, no
//! hugepages needed) as fast as the injector on the main lcore feeds it; meanwhile a
//! control thread builds complete new snapshots with a 1M-label swap block and publishes
//! them RCU-style. Reports packets lost (must be 0), the number of replacements, the
//! longest worker loop (TSC), the longest loop that started on a newly taken snapshot
//! (what a replacement costs the worker: the stall bound), and how many loops exceeded
//! 50 us. Run by perf/bench-table-swap.sh.
//!
//! usage: table_swap_bench [SECONDS] [swap|noswap]
//! `noswap` runs the same load without replacements: the stall it reports is the
//! machine's own (preemption on shared cores), the baseline for `swap`.
//!
//! Like srgate, it keeps freed memory in the process ([`dpdk_sys::mem::keep_freed_memory`])
//! and the LFIB's arrays are recycled ([`dpdk_sys::mem::HugeArray`]): a replacement then
//! makes the kernel send the worker's core no TLB shootdown.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dpdk_sys::eal::Eal;
use dpdk_sys::lcore;
use dpdk_sys::mbuf::PktBurst;
use dpdk_sys::mempool::PktMempool;
use dpdk_sys::port::{self, Port, PortConfig};
use fwd_core::adjacency::Adjacency;
use fwd_core::counters::WorkerCounters;
use fwd_core::mpls::{LfibAction, LfibBuilder, MplsTables, NextHop};
use fwd_core::pipeline::{Pipeline, MAX_PORTS};
use fwd_core::rcu::Publisher;
use fwd_core::worker::{self, IdlePolicy, LcoreWork, RxWork};

const LABELS: u32 = 1_000_000;

fn snapshot(generation: u32, out_port: u16) -> Pipeline {
    let adj = Adjacency {
        port: out_port,
        dst_mac: [2, 0, 0, 0, 0, (generation & 0xff) as u8],
        src_mac: [2, 0, 0, 0, 0, 0x01],
    };
    let mut b = LfibBuilder::new();
    for l in 0..LABELS {
        let hop = NextHop::swap(adj, 16 + ((l + generation) % LABELS)).expect("valid label");
        b.insert(16 + l, LfibAction::Forward(vec![hop]))
            .expect("valid entry");
    }
    let mut p = Pipeline::new();
    p.set_mpls(MplsTables::new(b.freeze(), Vec::new()).expect("tables"));
    p
}

fn frame(label: u32) -> Vec<u8> {
    let mut f = vec![0u8; 60];
    f[0..6].copy_from_slice(&[2, 0, 0, 0, 0, 2]);
    f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
    f[12..14].copy_from_slice(&[0x88, 0x47]);
    f[14..18].copy_from_slice(&((label << 12) | 0x100 | 64).to_be_bytes());
    let ip = &mut f[18..38];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&42u16.to_be_bytes());
    ip[8] = 64;
    ip[9] = 17;
    let c = fwd_core::wire::checksum::checksum(ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f
}

fn main() {
    // As srgate does first thing: freed tables stay in the process (no munmap IPIs).
    let _ = dpdk_sys::mem::keep_freed_memory();
    let secs: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let swap = std::env::args().nth(2).as_deref() != Some("noswap");
    let eal = Eal::init([
        "table_swap_bench",
        "-l",
        "0,1",
        "--no-huge",
        "-m",
        "512",
        "--no-pci",
        "--no-shconf",
        "--no-telemetry",
        "--file-prefix=swap-bench",
        "--vdev=net_ring0",
        "--vdev=net_ring1",
        "--log-level=lib.eal:warning",
    ])
    .expect("EAL");
    let pool =
        Arc::new(PktMempool::create("bench", 8191, 256, 2176, eal.socket_id()).expect("pool"));
    let cfg = PortConfig {
        rx_queues: 1,
        tx_queues: 1,
        rx_desc: 1024,
        tx_desc: 1024,
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
    pa.start().expect("start");
    pb.start().expect("start");
    let b_id = pb.id();

    let t0 = Instant::now();
    let mut tables = Publisher::new(snapshot(0, b_id));
    eprintln!("built a 1M-label snapshot in {:?}", t0.elapsed());
    let counters = WorkerCounters::default();
    let stop = AtomicBool::new(false);
    let published = AtomicU64::new(0);
    let mut tx: Vec<Option<_>> = (0..MAX_PORTS).map(|_| None).collect();
    tx[b_id as usize] = Some(pb.tx_queue(0).expect("b tx"));
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
    let frames: Vec<Vec<u8>> = (0..4096u32)
        .map(|i| frame(16 + (i * 7919) % LABELS))
        .collect();

    let ((sent, received), _) = lcore::scope(|s| {
        s.launch(1, || worker::run(work, &stop)).expect("launch");
        std::thread::scope(|ts| {
            // The control side: build and publish new 1M-entry snapshots back to back.
            let (tables, stop, published) = (&mut tables, &stop, &published);
            ts.spawn(move || {
                let mut g = 1;
                while swap && !stop.load(Ordering::Relaxed) {
                    let next = snapshot(g, b_id);
                    tables.publish(next);
                    tables.reclaim();
                    published.store(u64::from(g), Ordering::Relaxed);
                    // The injector shares this core: let it run now rather than at the
                    // next scheduler tick, so the worker meets the new table under load
                    // as it would behind a NIC (otherwise its first loop on the new table
                    // is the first after an input pause, lined up with its own tick).
                    std::thread::yield_now();
                    g += 1;
                }
            });
            let end = Instant::now() + Duration::from_secs(secs);
            let (mut sent, mut received) = (0u64, 0u64);
            let mut out = PktBurst::new();
            let mut got = PktBurst::new();
            let mut i = 0usize;
            while Instant::now() < end {
                if sent - received < 512 {
                    for _ in 0..32 {
                        let Some(mut m) = pool.alloc() else { break };
                        m.set_data(&frames[i % frames.len()]);
                        i += 1;
                        let _ = out.push(m);
                    }
                    let n = out.len();
                    let ok = inject.tx_burst(&mut out);
                    sent += ok as u64;
                    let _ = n;
                    out.free_all();
                }
                received += collect.rx_burst(&mut got, 64) as u64;
                got.free_all();
            }
            // Drain what is in flight.
            let until = Instant::now() + Duration::from_secs(2);
            while received < sent && Instant::now() < until {
                received += collect.rx_burst(&mut got, 64) as u64;
                got.free_all();
            }
            stop.store(true, Ordering::Relaxed);
            (sent, received)
        })
    });
    let c = counters.snapshot();
    let us = |cycles: u64| cycles as f64 * 1e6 / dpdk_sys::cycles::tsc_hz() as f64;
    println!(
        "table-swap({}): sent {sent} received {received} lost {} replacements {} drops {} longest-loop-us {:.1} snapshots {} longest-swap-loop-us {:.1} long-swap-loops {} loops {} long-loops {} rate-mpps {:.2}",
        if swap { "swap" } else { "noswap" },
        sent - received,
        published.load(Ordering::Relaxed),
        c.total_drops(),
        us(c.max_loop_cycles),
        c.snapshots,
        us(c.max_swap_loop_cycles),
        c.long_swap_loops,
        c.loops,
        c.long_loops,
        received as f64 / secs as f64 / 1e6
    );
    drop(inject);
    drop(collect);
}
