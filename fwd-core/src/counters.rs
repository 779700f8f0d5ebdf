//! Per-worker counters: written by exactly one worker, read by anyone.
//!
//! Each [`Counter`] is an `AtomicU64` updated with a relaxed load and store (never a locked
//! read-modify-write): with a single writer that is exact, and on x86 it compiles to plain
//! moves. Each worker's block is cache-line aligned so workers never share a line.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use crate::drop::DropReason;
use crate::dyncast::{DyncastCounterSnapshot, DyncastCounters};
use crate::service::{ServiceCounterSnapshot, ServiceCounters};
use crate::srou::{SrouCounterSnapshot, SrouCounters};

/// A single-writer counter.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds `n`. Only the owning worker may call this.
    #[inline]
    pub fn add(&self, n: u64) {
        self.0.store(
            self.0.load(Ordering::Relaxed).wrapping_add(n),
            Ordering::Relaxed,
        );
    }

    /// Current value.
    #[inline]
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Forwarded packets per protocol handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Handler {
    /// IPv4 (TTL decrement, checksum update).
    Ipv4 = 0,
    /// IPv6 (hop-limit decrement).
    Ipv6 = 1,
    /// MPLS label switched by the LFIB / V-LFIB (swap, pop, push, anycast).
    Mpls = 2,
    /// MPLS label the LFIB does not hold, sent on the port's cross-connect (TTL decrement).
    MplsXconnect = 3,
    /// MPLS stack terminated here, the IP payload forwarded by the IP path.
    MplsLocal = 4,
    /// SRoU encapsulation at ingress or transit at a locator.
    Srou = 5,
    /// SRoU egress: decapsulated and the inner packet forwarded.
    SrouDecap = 6,
    /// STAMP test packet reflected.
    Stamp = 7,
    /// Service request steered to a remote PE (END.CG / END.C).
    Service = 8,
    /// Service request delivered to a local instance (END.CL / END.C).
    ServiceLocal = 9,
    /// Dynamic anycast: LISP-encapsulated to the flow's RLOC.
    Dyncast = 10,
    /// Dynamic anycast: decapsulated at this ETR.
    DyncastDecap = 11,
    /// STAMP reply consumed by one of this node's session-senders (never forwarded).
    StampSender = 12,
}

impl Handler {
    /// Every handler, in counter order.
    pub const ALL: [Handler; 13] = [
        Handler::Ipv4,
        Handler::Ipv6,
        Handler::Mpls,
        Handler::MplsXconnect,
        Handler::MplsLocal,
        Handler::Srou,
        Handler::SrouDecap,
        Handler::Stamp,
        Handler::Service,
        Handler::ServiceLocal,
        Handler::Dyncast,
        Handler::DyncastDecap,
        Handler::StampSender,
    ];

    /// Stable short name.
    pub const fn name(self) -> &'static str {
        match self {
            Handler::Ipv4 => "ipv4",
            Handler::Ipv6 => "ipv6",
            Handler::Mpls => "mpls",
            Handler::MplsXconnect => "mpls-xconnect",
            Handler::MplsLocal => "mpls-local",
            Handler::Srou => "srou",
            Handler::SrouDecap => "srou-decap",
            Handler::Stamp => "stamp",
            Handler::Service => "service",
            Handler::ServiceLocal => "service-local",
            Handler::Dyncast => "dyncast",
            Handler::DyncastDecap => "dyncast-decap",
            Handler::StampSender => "stamp-sender",
        }
    }
}

/// A poll loop longer than this (in microseconds) is counted as a stall
/// ([`WorkerCounters::long_loops`]): the bound the data plane promises across table
/// replacements.
pub const LONG_LOOP_US: u64 = 50;

/// One worker's counters.
#[derive(Debug)]
#[repr(align(64))]
pub struct WorkerCounters {
    /// Packets received.
    pub rx_packets: Counter,
    /// Bytes received.
    pub rx_bytes: Counter,
    /// Packets handed to a TX queue and accepted.
    pub tx_packets: Counter,
    /// Bytes accepted by TX queues.
    pub tx_bytes: Counter,
    /// RX bursts that returned at least one packet.
    pub rx_bursts: Counter,
    /// RX bursts processed with the staged prefetch pass
    /// ([`crate::prefetch_tuner::PrefetchMode::Staged`]); the rest ran inline.
    pub staged_bursts: Counter,
    /// Poll loops run.
    pub loops: Counter,
    /// Longest poll loop seen, in TSC cycles (written by the worker, a max, not a sum).
    pub max_loop_cycles: Counter,
    /// Poll loops longer than [`LONG_LOOP_US`] (stalls: preemption, a slow table...).
    pub long_loops: Counter,
    /// New table snapshots the worker took at its quiescent point (RCU replacements seen).
    pub snapshots: Counter,
    /// Longest poll loop that started on a newly taken snapshot, in TSC cycles: what a
    /// table replacement costs the worker (a max).
    pub max_swap_loop_cycles: Counter,
    /// Loops that started on a newly taken snapshot and ran longer than [`LONG_LOOP_US`]
    /// (the replacements that broke the bound, whatever the cause).
    pub long_swap_loops: Counter,
    /// Packets forwarded per handler (for [`Handler::StampSender`]: consumed, see
    /// [`crate::pipeline::Action::consumed`]).
    pub handled: [Counter; Handler::ALL.len()],
    /// Drops per reason.
    pub drops: [Counter; DropReason::COUNT],
    /// SRoU behaviour counters.
    pub srou: SrouCounters,
    /// Service-FIB behaviour and affinity counters.
    pub service: ServiceCounters,
    /// Dynamic-anycast behaviour and affinity counters.
    pub dyncast: DyncastCounters,
}

impl Default for WorkerCounters {
    fn default() -> Self {
        WorkerCounters {
            rx_packets: Counter::default(),
            rx_bytes: Counter::default(),
            tx_packets: Counter::default(),
            tx_bytes: Counter::default(),
            rx_bursts: Counter::default(),
            staged_bursts: Counter::default(),
            loops: Counter::default(),
            max_loop_cycles: Counter::default(),
            long_loops: Counter::default(),
            snapshots: Counter::default(),
            max_swap_loop_cycles: Counter::default(),
            long_swap_loops: Counter::default(),
            handled: std::array::from_fn(|_| Counter::default()),
            drops: std::array::from_fn(|_| Counter::default()),
            srou: SrouCounters::default(),
            service: ServiceCounters::default(),
            dyncast: DyncastCounters::default(),
        }
    }
}

impl WorkerCounters {
    /// Counts a drop.
    #[inline]
    pub fn drop(&self, reason: DropReason, n: u64) {
        self.drops[reason.index()].add(n);
    }

    /// Counts packets forwarded by a handler.
    #[inline]
    pub fn handled(&self, h: Handler) {
        self.handled[h as usize].add(1);
    }

    /// Counts `n` packets forwarded by a handler.
    #[inline]
    pub fn handled_n(&self, h: Handler, n: u64) {
        self.handled[h as usize].add(n);
    }

    /// Records a loop duration, keeping the maximum; `long` is [`LONG_LOOP_US`] in TSC
    /// cycles and `new_snapshot` says the loop started on a snapshot just taken.
    #[inline]
    pub fn loop_cycles(&self, cycles: u64, long: u64, new_snapshot: bool) {
        if cycles > self.max_loop_cycles.get() {
            self.max_loop_cycles.0.store(cycles, Ordering::Relaxed);
        }
        if cycles > long {
            self.long_loops.add(1);
        }
        if new_snapshot {
            self.snapshots.add(1);
            if cycles > self.max_swap_loop_cycles.get() {
                self.max_swap_loop_cycles.0.store(cycles, Ordering::Relaxed);
            }
            if cycles > long {
                self.long_swap_loops.add(1);
            }
        }
    }

    /// A plain copy of the counters.
    pub fn snapshot(&self) -> CounterSnapshot {
        CounterSnapshot {
            rx_packets: self.rx_packets.get(),
            rx_bytes: self.rx_bytes.get(),
            tx_packets: self.tx_packets.get(),
            tx_bytes: self.tx_bytes.get(),
            rx_bursts: self.rx_bursts.get(),
            staged_bursts: self.staged_bursts.get(),
            loops: self.loops.get(),
            max_loop_cycles: self.max_loop_cycles.get(),
            long_loops: self.long_loops.get(),
            snapshots: self.snapshots.get(),
            max_swap_loop_cycles: self.max_swap_loop_cycles.get(),
            long_swap_loops: self.long_swap_loops.get(),
            handled: Handler::ALL
                .iter()
                .map(|h| (h.name().to_string(), self.handled[*h as usize].get()))
                .collect(),
            drops: DropReason::ALL
                .iter()
                .map(|r| (r.name().to_string(), self.drops[r.index()].get()))
                .collect(),
            srou: self.srou.snapshot(),
            service: self.service.snapshot(),
            dyncast: self.dyncast.snapshot(),
        }
    }
}

/// A copy of one or more workers' counters, for printing and JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CounterSnapshot {
    /// Packets received.
    pub rx_packets: u64,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Non-empty RX bursts.
    pub rx_bursts: u64,
    /// Bursts run with the staged prefetch pass.
    pub staged_bursts: u64,
    /// Poll loops.
    pub loops: u64,
    /// Longest loop in TSC cycles.
    pub max_loop_cycles: u64,
    /// Loops longer than [`LONG_LOOP_US`].
    pub long_loops: u64,
    /// Table snapshots taken (replacements seen, per worker).
    pub snapshots: u64,
    /// Longest loop that started on a newly taken snapshot, in TSC cycles.
    pub max_swap_loop_cycles: u64,
    /// Loops on a newly taken snapshot longer than [`LONG_LOOP_US`].
    pub long_swap_loops: u64,
    /// Forwarded packets per handler name.
    pub handled: std::collections::BTreeMap<String, u64>,
    /// Drops per reason name (every reason listed, zeros included).
    pub drops: std::collections::BTreeMap<String, u64>,
    /// SRoU behaviours.
    pub srou: SrouCounterSnapshot,
    /// Service-FIB behaviours and affinity.
    pub service: ServiceCounterSnapshot,
    /// Dynamic anycast and affinity.
    pub dyncast: DyncastCounterSnapshot,
}

impl CounterSnapshot {
    /// Total drops over all reasons.
    pub fn total_drops(&self) -> u64 {
        self.drops.values().sum()
    }

    /// Adds another snapshot into this one (for totals over workers).
    pub fn accumulate(&mut self, o: &CounterSnapshot) {
        self.rx_packets += o.rx_packets;
        self.rx_bytes += o.rx_bytes;
        self.tx_packets += o.tx_packets;
        self.tx_bytes += o.tx_bytes;
        self.rx_bursts += o.rx_bursts;
        self.staged_bursts += o.staged_bursts;
        self.loops += o.loops;
        self.max_loop_cycles = self.max_loop_cycles.max(o.max_loop_cycles);
        self.long_loops += o.long_loops;
        self.snapshots += o.snapshots;
        self.max_swap_loop_cycles = self.max_swap_loop_cycles.max(o.max_swap_loop_cycles);
        self.long_swap_loops += o.long_swap_loops;
        for (k, v) in &o.handled {
            *self.handled.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &o.drops {
            *self.drops.entry(k.clone()).or_default() += v;
        }
        let (a, b) = (&mut self.srou, &o.srou);
        a.encapsulated += b.encapsulated;
        a.transited += b.transited;
        a.decapsulated += b.decapsulated;
        a.nat_alg += b.nat_alg;
        a.tokens_permitted += b.tokens_permitted;
        self.service.accumulate(&o.service);
        self.dyncast.accumulate(&o.dyncast);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_add_and_snapshot() {
        let c = WorkerCounters::default();
        c.rx_packets.add(3);
        c.drop(DropReason::TtlExpired, 2);
        c.handled(Handler::Mpls);
        c.loop_cycles(10, 100, false);
        c.loop_cycles(5, 100, false);
        c.loop_cycles(150, 100, false);
        c.loop_cycles(120, 100, true);
        c.loop_cycles(30, 100, true);
        let s = c.snapshot();
        assert_eq!(s.long_loops, 2);
        assert_eq!(s.snapshots, 2);
        assert_eq!(s.max_swap_loop_cycles, 120);
        assert_eq!(s.long_swap_loops, 1, "only the long loop on a new snapshot");
        assert_eq!(s.rx_packets, 3);
        assert_eq!(s.drops["ttl-expired"], 2);
        assert_eq!(s.handled["mpls"], 1);
        assert_eq!(s.max_loop_cycles, 150);
        assert_eq!(s.total_drops(), 2);
        let mut t = CounterSnapshot::default();
        t.accumulate(&s);
        t.accumulate(&s);
        assert_eq!(t.rx_packets, 6);
        assert_eq!(t.drops["ttl-expired"], 4);
        assert_eq!(t.max_loop_cycles, 150);
        assert_eq!((t.long_swap_loops, t.max_swap_loop_cycles), (2, 120));
    }

    #[test]
    fn worker_blocks_do_not_share_cache_lines() {
        assert_eq!(std::mem::align_of::<WorkerCounters>(), 64);
    }
}
