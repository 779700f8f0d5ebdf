//! The poll-mode worker: burst RX, pipeline, burst TX, on one lcore.
//!
//! One [`RxWork`] exists per (port, RX queue). An lcore runs one or more of them in turn
//! (several only when there are fewer lcores than queues) and owns one TX queue on every
//! port, so no queue is ever shared between threads. The loop never locks, never allocates
//! and never panics on packet data: the per-packet decision is [`Pipeline::process`], a pure
//! function over the frame bytes.
//!
//! A burst whose packets all go to one port by one handler (a transit node's steady state)
//! is sent as received and counted once; any other is sorted into per-port TX bursts.
//!
//! The lcore given a probe pool ([`LcoreWork::probe_pool`]; srgate: the first one) also
//! runs the STAMP session-senders of the current snapshot between polls
//! ([`crate::stamp::sender::ProbeScheduler`]): at most every few microseconds it compares
//! the TSC with each session's due time and sends what is due on its own TX queue of the
//! session's port, one mbuf from the probe pool each.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use dpdk_sys::cycles::{rdtsc, tsc_hz};

use crate::clock::TscClock;
use dpdk_sys::mbuf::{PktBurst, BURST_CAPACITY};
use dpdk_sys::mempool::PktMempool;
use dpdk_sys::port::{RxQueue, TxQueue};

use crate::counters::{Handler, WorkerCounters};
use crate::drop::DropReason;
use crate::pipeline::{Action, Pipeline, Prefetch, WorkerCtx, CONSUMED_PORT, MAX_PORTS};
use crate::prefetch_tuner::{PrefetchMode, PrefetchPolicy, PrefetchTuner, TunerParams};
use crate::rcu::Reader;
use crate::stamp::sender::{ProbeScheduler, SendError, SenderSession};

/// Packets asked of an RX queue per poll (DPDK's customary 32).
pub const RX_BURST: usize = 32;

/// How many packets ahead of the one whose headers the first pass over a burst reads
/// ([`Pipeline::prefetch`]) the loop prefetches the packet data (l3fwd uses 3).
const PREFETCH_AHEAD: usize = 4;

/// What a worker does when its queues are empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IdlePolicy {
    /// Consecutive empty polls before backing off (0: never back off, pure busy polling).
    pub empty_polls: u32,
    /// Sleep, in microseconds, once backing off.
    pub sleep_us: u32,
}

/// One (port, RX queue) and the counters of the worker that polls it.
pub struct RxWork<'p, 'c> {
    /// The queue.
    pub rx: RxQueue<'p>,
    /// Its counters (read by the monitor thread).
    pub counters: &'c WorkerCounters,
}

/// Everything one lcore runs.
pub struct LcoreWork<'p, 'c> {
    /// The RX queues this lcore polls, in turn.
    pub rx: Vec<RxWork<'p, 'c>>,
    /// This lcore's TX queue on each port, indexed by port id.
    pub tx: Vec<Option<TxQueue<'p>>>,
    /// The forwarding state, RCU-published by the control side.
    pub pipeline: Reader<Pipeline>,
    /// Idle back-off.
    pub idle: IdlePolicy,
    /// Where STAMP session-sender test packets come from: set on exactly one lcore, which
    /// then sends the probes of every session (counted in its first queue's counters).
    pub probe_pool: Option<Arc<PktMempool>>,
    /// Whether bursts get the staged prefetch pass: measured ([`PrefetchPolicy::Auto`])
    /// or fixed.
    pub prefetch: PrefetchPolicy,
}

/// Runs `work` until `stop` becomes true. Returns 0 (the lcore return code).
pub fn run(mut work: LcoreWork<'_, '_>, stop: &AtomicBool) -> i32 {
    let mut rx_burst = PktBurst::new();
    let mut drop_burst = PktBurst::new();
    // One pending TX burst per port id; allocated once, before the loop.
    let mut tx_bursts: Vec<PktBurst> = (0..MAX_PORTS).map(|_| PktBurst::new()).collect();
    let mut actions = [Action::Drop(DropReason::NoRoute); BURST_CAPACITY];
    let mut hints = [Prefetch::Done; BURST_CAPACITY];
    let mut tuner = PrefetchTuner::new(work.prefetch, TunerParams::default());
    let mut empty_polls: u32 = 0;
    let clock = TscClock::anchored(rdtsc(), tsc_hz());
    let mut flows = work
        .pipeline
        .load()
        .new_flow_state((tsc_hz() / 1000).max(1));
    let mut probes = ProbeScheduler::new(tsc_hz());
    let mut probe_burst = PktBurst::new();
    // A replacement taken in an empty poll is charged to the next loop that works.
    let mut swapped = false;
    let long_loop = tsc_hz() / 1_000_000 * crate::counters::LONG_LOOP_US;
    // The TSC at the end of the last poll: the next poll's start (one TSC read per loop).
    let mut now = rdtsc();

    while !stop.load(Ordering::Relaxed) {
        let mut got_any = false;
        for w in work.rx.iter_mut() {
            let start = now;
            // Quiescent point: let go of the previous snapshot, take the newest.
            let (pipeline, fresh) = work.pipeline.load_fresh();
            swapped |= fresh;
            let c = w.counters;
            let mut ctx = WorkerCtx {
                flows: &mut flows,
                counters: c,
                clock,
                rx_tsc: start,
                tsc: rdtsc,
            };
            c.loops.add(1);
            let n = w.rx.rx_burst(&mut rx_burst, RX_BURST);
            if n == 0 {
                now = rdtsc();
                continue;
            }
            got_any = true;
            c.rx_bursts.add(1);
            c.rx_packets.add(n as u64);
            let in_port = w.rx.port_id();
            let mut bytes = 0u64;
            let pkts = rx_burst.as_mut_slice();
            // The lookups of a burst in stages, as rte_hash's bulk lookup does: first
            // every frame's headers are read and the table entry it needs is requested
            // (the LFIB entry, or a flow's bucket), then, once those had the whole burst
            // to arrive, what they point to (the flow's slot), and only then is each
            // frame processed: the burst's cache misses overlap instead of queueing. When
            // the entries are cached anyway the pass only costs, so it runs when the
            // tuner measures it faster on this worker's traffic (`prefetch_tuner`).
            for m in pkts.iter().take(PREFETCH_AHEAD) {
                m.prefetch_data();
            }
            // With tables to prefetch from, the tuner says whether this burst gets the
            // staged pass (and measures it); without, there is nothing to choose.
            let tuned = pipeline.has_prefetch();
            let staged = tuned && tuner.mode() == PrefetchMode::Staged;
            if staged {
                c.staged_bursts.add(1);
                let mut second = false;
                for (i, hint) in hints.iter_mut().enumerate().take(pkts.len()) {
                    if let Some(ahead) = pkts.get(i + PREFETCH_AHEAD) {
                        ahead.prefetch_data();
                    }
                    *hint = pipeline.prefetch(pkts[i].data(), ctx.flows);
                    second |= *hint != Prefetch::Done;
                }
                if second {
                    for hint in &hints[..pkts.len()] {
                        pipeline.prefetch_second(*hint, ctx.flows);
                    }
                }
            }
            for i in 0..pkts.len() {
                if !staged {
                    if let Some(ahead) = pkts.get(i + PREFETCH_AHEAD) {
                        ahead.prefetch_data();
                    }
                }
                let (m, act) = (&mut pkts[i], &mut actions[i]);
                bytes += m.pkt_len() as u64;
                *act = if m.segments() == 1 {
                    pipeline.process(in_port, m, &mut ctx)
                } else {
                    // Multi-segment frames only arrive with scatter RX, which srgate does
                    // not enable; parsing only the first segment would be wrong.
                    Action::Drop(DropReason::EthTruncated)
                };
            }
            c.rx_bytes.add(bytes);
            // The common burst, a transit node's steady state: every packet forwarded to
            // one port by one handler. Sent as received and counted once, without moving
            // each mbuf to a per-port burst and counting it there.
            if let Some((port, handler)) = uniform_forward(&actions[..n]) {
                if let Some(txq) = work.tx.get_mut(port as usize).and_then(|q| q.as_mut()) {
                    c.handled_n(handler, n as u64);
                    send_all(txq, &mut rx_burst, c);
                    now = rdtsc();
                    let cycles = now.wrapping_sub(start);
                    c.loop_cycles(cycles, long_loop, swapped);
                    if tuned {
                        tuner.record(cycles, n, cycles > long_loop);
                    }
                    swapped = false;
                    continue;
                }
            }
            // Bit p set: tx_bursts[p] holds packets to send, pending_bytes[p] bytes.
            let mut pending: u32 = 0;
            let mut pending_bytes = [0u64; MAX_PORTS];
            for (m, act) in rx_burst.drain().zip(actions.iter()) {
                match *act {
                    Action::Forward {
                        port: CONSUMED_PORT,
                        handler,
                    } => {
                        // Consumed by the data plane itself: counted, freed, not a drop.
                        c.handled(handler);
                        if let Err(m) = drop_burst.push(m) {
                            drop(m);
                        }
                    }
                    Action::Forward { port, handler } => {
                        c.handled(handler);
                        let slot = tx_bursts.get_mut(port as usize);
                        match slot {
                            Some(b) => {
                                pending |= 1 << port;
                                let len = m.pkt_len() as u64;
                                match b.push(m) {
                                    Ok(()) => pending_bytes[port as usize] += len,
                                    Err(m) => {
                                        c.drop(DropReason::TxQueueFull, 1);
                                        let _ = drop_burst.push(m);
                                    }
                                }
                            }
                            None => {
                                c.drop(DropReason::NoRoute, 1);
                                let _ = drop_burst.push(m);
                            }
                        }
                    }
                    Action::Drop(reason) => {
                        c.drop(reason, 1);
                        if let Err(m) = drop_burst.push(m) {
                            drop(m);
                        }
                    }
                }
            }
            while pending != 0 {
                let port = pending.trailing_zeros() as usize;
                pending &= pending - 1;
                let b = &mut tx_bursts[port];
                let queued = b.len();
                match work.tx.get_mut(port).and_then(|q| q.as_mut()) {
                    Some(txq) => {
                        let sent = txq.tx_burst(b);
                        let mut sent_bytes = pending_bytes[port];
                        if sent < queued {
                            // What the queue refused is still ours: count it as dropped.
                            sent_bytes -= b
                                .as_mut_slice()
                                .iter()
                                .map(|m| m.pkt_len() as u64)
                                .sum::<u64>();
                            c.drop(DropReason::TxQueueFull, (queued - sent) as u64);
                        }
                        c.tx_packets.add(sent as u64);
                        c.tx_bytes.add(sent_bytes);
                    }
                    None => c.drop(DropReason::NoRoute, queued as u64),
                }
                b.free_all();
            }
            drop_burst.free_all();
            now = rdtsc();
            let cycles = now.wrapping_sub(start);
            c.loop_cycles(cycles, long_loop, swapped);
            if tuned {
                tuner.record(cycles, n, cycles > long_loop);
            }
            swapped = false;
        }
        if let Some(pool) = &work.probe_pool {
            if probes.due(now) {
                let (pipeline, fresh) = work.pipeline.load_fresh();
                swapped |= fresh;
                let senders = pipeline.stamp().sender();
                if !senders.is_empty() {
                    let c = work.rx.first().map(|w| w.counters);
                    let tx = &mut work.tx;
                    probes.poll(senders, now, |s, seq| {
                        send_probe(pool, tx, &mut probe_burst, s, seq, &clock, c)
                    });
                }
                now = rdtsc();
            }
        }
        if got_any {
            empty_polls = 0;
        } else if work.idle.empty_polls > 0 {
            empty_polls = empty_polls.saturating_add(1);
            if empty_polls >= work.idle.empty_polls {
                std::thread::sleep(std::time::Duration::from_micros(work.idle.sleep_us as u64));
                now = rdtsc();
            }
        }
    }
    0
}

/// `(port, handler)` when every action of a non-empty burst forwards to the same real
/// port by the same handler.
#[inline]
fn uniform_forward(actions: &[Action]) -> Option<(u16, Handler)> {
    let (&first, rest) = actions.split_first()?;
    match first {
        Action::Forward { port, handler } if port != CONSUMED_PORT => {
            rest.iter().all(|a| *a == first).then_some((port, handler))
        }
        _ => None,
    }
}

/// Sends every packet of `burst` on `txq`, counting what left (packets and bytes) and
/// what the queue refused (`tx-queue-full`, freed).
#[inline]
fn send_all(txq: &mut TxQueue<'_>, burst: &mut PktBurst, c: &WorkerCounters) {
    let bytes: u64 = burst
        .as_mut_slice()
        .iter()
        .map(|m| m.pkt_len() as u64)
        .sum();
    let queued = burst.len();
    let sent = txq.tx_burst(burst);
    let mut sent_bytes = bytes;
    if sent < queued {
        sent_bytes -= burst
            .as_mut_slice()
            .iter()
            .map(|m| m.pkt_len() as u64)
            .sum::<u64>();
        c.drop(DropReason::TxQueueFull, (queued - sent) as u64);
        burst.free_all();
    }
    c.tx_packets.add(sent as u64);
    c.tx_bytes.add(sent_bytes);
}

/// Builds one STAMP test packet in an mbuf of `pool` and puts it on this lcore's TX queue
/// of the session's port; never blocks. Failures are counted (`stamp-probe-no-mbuf`,
/// `tx-queue-full`, `no-route`) and returned for the session's results.
fn send_probe(
    pool: &PktMempool,
    tx: &mut [Option<TxQueue<'_>>],
    burst: &mut PktBurst,
    s: &SenderSession,
    seq: u32,
    clock: &TscClock,
    c: Option<&WorkerCounters>,
) -> Result<(), SendError> {
    let count = |reason: DropReason| {
        if let Some(c) = c {
            c.drop(reason, 1);
        }
    };
    let Some(txq) = tx
        .get_mut(usize::from(s.params().adjacency.port))
        .and_then(|q| q.as_mut())
    else {
        count(DropReason::NoRoute);
        return Err(SendError::NoPort);
    };
    let len = s.frame_len();
    let Some(mut m) = pool.alloc() else {
        count(DropReason::StampProbeNoMbuf);
        return Err(SendError::NoMbuf);
    };
    let written = match m.append(len) {
        // T1 as late as possible: right before the packet is handed to the queue.
        Some(frame) => s.emit(frame, seq, clock.ntp_at(rdtsc())),
        None => None,
    };
    if written.is_none() {
        drop(m);
        count(DropReason::StampProbeNoMbuf);
        return Err(SendError::NoMbuf);
    }
    if let Err(m) = burst.push(m) {
        drop(m);
        count(DropReason::TxQueueFull);
        return Err(SendError::TxFull);
    }
    let sent = txq.tx_burst(burst);
    burst.free_all();
    if sent == 0 {
        count(DropReason::TxQueueFull);
        return Err(SendError::TxFull);
    }
    if let Some(c) = c {
        c.tx_packets.add(1);
        c.tx_bytes.add(len as u64);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FWD: Action = Action::Forward {
        port: 1,
        handler: Handler::Mpls,
    };

    #[test]
    fn uniform_forward_only_when_every_action_is_the_same_real_forward() {
        assert_eq!(uniform_forward(&[FWD; 32]), Some((1, Handler::Mpls)));
        assert_eq!(uniform_forward(&[FWD]), Some((1, Handler::Mpls)));
        assert_eq!(uniform_forward(&[]), None);
        let other_port = Action::Forward {
            port: 2,
            handler: Handler::Mpls,
        };
        let other_handler = Action::Forward {
            port: 1,
            handler: Handler::Ipv4,
        };
        let dropped = Action::Drop(DropReason::TtlExpired);
        for odd in [other_port, other_handler, dropped] {
            for at in [0, 1, 31] {
                let mut burst = [FWD; 32];
                burst[at] = odd;
                assert_eq!(uniform_forward(&burst), None, "{odd:?} at {at}");
            }
        }
        let consumed = Action::consumed(Handler::StampSender);
        assert_eq!(uniform_forward(&[consumed; 4]), None);
        assert_eq!(uniform_forward(&[dropped; 4]), None);
    }
}
