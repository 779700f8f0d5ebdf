//! The safe DPDK layer against real EAL (`--no-huge --no-pci`) and a real PMD (net_ring,
//! whose TX ring feeds its own RX). EAL can be initialised once per process, so this file
//! is one test.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use dpdk_sys::eal::Eal;
use dpdk_sys::error::Error;
use dpdk_sys::lcore;
use dpdk_sys::mbuf::PktBurst;
use dpdk_sys::mempool::PktMempool;
use dpdk_sys::port::{self, Port, PortConfig};

#[test]
fn eal_mempool_mbuf_port_and_lcores() {
    let eal = Eal::init([
        "safe_layer",
        "-l",
        "0,1",
        "--no-huge",
        "-m",
        "256",
        "--no-pci",
        "--no-shconf",
        "--no-telemetry",
        "--iova-mode=va",
        "--file-prefix=dpdksys-test",
        "--vdev=net_ring0",
        "--log-level=lib.eal:warning",
    ])
    .expect("EAL init");
    assert!(matches!(
        Eal::init(["again"]),
        Err(Error::EalAlreadyInitialised)
    ));
    assert!(Eal::version().starts_with("DPDK "), "{}", Eal::version());
    assert!(dpdk_sys::cycles::tsc_hz() > 0);

    // Mempool and mbuf data operations.
    let pool =
        Arc::new(PktMempool::create("t_pool", 1023, 32, 2176, eal.socket_id()).expect("pool"));
    assert!(
        PktMempool::create("t_pool", 1023, 32, 2176, -1).is_err(),
        "duplicate pool name"
    );
    let mut m = pool.alloc().expect("mbuf");
    assert_eq!(m.data_len(), 0);
    assert!(m.set_data(b"hello world"));
    assert_eq!(m.data(), b"hello world");
    let head = m.prepend(4).expect("headroom");
    head[..4].copy_from_slice(b"abcd");
    assert_eq!(m.data(), b"abcdhello world");
    assert!(m.adj(4));
    assert!(m.trim(6));
    assert_eq!(m.data(), b"hello");
    assert!(!m.adj(100), "cannot remove more than there is");
    assert!(m.prepend(100_000).is_none());
    assert_eq!(m.pkt_len(), 5);
    assert_eq!(pool.in_use(), 1);
    drop(m);
    assert_eq!(pool.in_use(), 0, "an Mbuf frees itself on drop");

    // Port over net_ring: TX feeds RX.
    assert_eq!(port::count(), 1);
    assert!(matches!(
        port::id_by_name("net_nope9"),
        Err(Error::PortNotFound(_))
    ));
    let id = port::id_by_name("net_ring0").expect("port");
    let bad = PortConfig {
        tx_queues: 0,
        ..PortConfig::default()
    };
    assert!(Port::configure(id, &bad, Arc::clone(&pool)).is_err());
    let cfg = PortConfig {
        rx_queues: 1,
        tx_queues: 2,
        rx_desc: 256,
        tx_desc: 256,
        promiscuous: false,
    };
    let mut p = Port::configure(id, &cfg, Arc::clone(&pool)).expect("configure");
    p.start().expect("start");
    assert_eq!(p.name(), "net_ring0");
    let mut txq = p.tx_queue(0).expect("txq 0");
    assert!(
        matches!(p.tx_queue(0), Err(Error::QueueUnavailable { .. })),
        "a queue is handed out once"
    );
    assert!(p.tx_queue(2).is_err(), "out of range");
    let mut rxq = p.rx_queue(0).expect("rxq");

    let mut burst = PktBurst::new();
    for i in 0..10u8 {
        let mut m = pool.alloc().expect("mbuf");
        assert!(m.set_data(&[i; 60]));
        burst.push(m).expect("room");
    }
    assert_eq!(txq.tx_burst(&mut burst), 10);
    assert!(burst.is_empty());
    let mut got = PktBurst::new();
    assert_eq!(rxq.rx_burst(&mut got, 32), 10);
    for (i, m) in got.as_mut_slice().iter().enumerate() {
        assert_eq!(
            m.data(),
            &[i as u8; 60][..],
            "packet {i} round-trips intact and in order"
        );
    }
    let drained: Vec<usize> = got.drain().map(|m| m.data_len()).collect();
    assert_eq!(drained, vec![60; 10]);
    let stats = p.stats().expect("stats");
    assert_eq!((stats.opackets, stats.ipackets), (10, 10));
    assert_eq!(pool.in_use(), 0, "drained mbufs are freed");

    // Bulk allocation: all or nothing, into the free slots.
    let mut bulk = PktBurst::new();
    assert_eq!(pool.alloc_bulk(&mut bulk, 40), 40);
    assert_eq!(pool.alloc_bulk(&mut bulk, 40), 0, "only 24 free slots left");
    assert_eq!(pool.alloc_bulk(&mut bulk, 24), 24);
    assert_eq!(pool.in_use(), 64);
    for m in bulk.as_mut_slice() {
        assert_eq!(m.data_len(), 0, "fresh mbufs are empty");
        assert!(m.set_data(&[7; 100]));
        assert!(!m.set_data(&[0; 4000]), "larger than the buffer");
        assert_eq!(m.data(), &[7; 100][..]);
    }
    bulk.free_all();
    assert_eq!(pool.in_use(), 0);

    // Allocation with set-up in one pass: mbufs left dirty (data moved into the headroom,
    // data written, a port) come back reset before `init` sees them, in index order.
    let mut dirty = PktBurst::new();
    assert_eq!(pool.alloc_bulk(&mut dirty, 64), 64);
    for m in dirty.as_mut_slice() {
        assert!(m.set_data(&[9; 80]));
        assert!(m.prepend(20).is_some());
        assert!(m.adj(3));
    }
    dirty.free_all();
    let mut fresh = PktBurst::new();
    assert!(fresh.push(pool.alloc().expect("mbuf")).is_ok());
    let mut seen = Vec::new();
    let got = pool.alloc_bulk_with(&mut fresh, 63, |i, m| {
        seen.push((
            i,
            m.data_len(),
            m.pkt_len(),
            m.headroom(),
            m.port(),
            m.segments(),
        ));
        assert!(m.set_data(&[i as u8; 60]));
    });
    assert_eq!(got, 63);
    assert_eq!(fresh.len(), 64);
    let want: Vec<_> = (0..63)
        .map(|i| (i, 0, 0, dpdk_sys::mbuf::HEADROOM, u16::MAX, 1))
        .collect();
    assert_eq!(seen, want, "every mbuf reset, handed over once, in order");
    for (i, m) in fresh.as_mut_slice()[1..].iter().enumerate() {
        assert_eq!(m.data(), &[i as u8; 60][..]);
    }
    assert_eq!(
        pool.alloc_bulk_with(&mut fresh, 1, |_, _| panic!("no room")),
        0,
        "a full burst takes nothing"
    );
    fresh.free_all();
    assert_eq!(pool.in_use(), 0);

    // A burst that is dropped frees what it holds.
    {
        let mut b = PktBurst::new();
        for _ in 0..5 {
            b.push(pool.alloc().expect("mbuf")).expect("room");
        }
        assert_eq!(pool.in_use(), 5);
    }
    assert_eq!(pool.in_use(), 0);
    drop(rxq);
    drop(txq);
    p.tx_queue(0).expect("released queue can be taken again");

    // Scoped launch on the worker lcore, borrowing from this stack frame.
    let hits = AtomicU64::new(0);
    let workers = lcore::worker_lcores();
    assert_eq!(workers, vec![1]);
    let (_, codes) = lcore::scope(|s| {
        s.launch(1, || {
            hits.fetch_add(41, Ordering::SeqCst);
            assert_eq!(lcore::current(), 1);
            7
        })
        .expect("launch");
        assert!(
            s.launch(0, || 0).is_err(),
            "the main lcore cannot be launched on"
        );
        hits.fetch_add(1, Ordering::SeqCst);
    });
    assert_eq!(hits.load(Ordering::SeqCst), 42);
    assert_eq!(codes, vec![(1, 7)]);
    assert_eq!(lcore::cpu_of(1), 1);

    drop(p);
    drop(pool);
    drop(eal);
}
