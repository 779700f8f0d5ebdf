//! `pktgen run`: EAL, mempool, ports, TX and RX jobs on lcores, the live line, the result.
//!
//! Each lcore runs a loop over its jobs: TX jobs (one per TX core: a TX queue, its flows,
//! a token bucket) and at most one RX job (the RX port's queue). Nothing in the loops
//! allocates: templates, schedules and per-stream state are built before launch.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use dpdk_sys::cycles::{rdtsc, tsc_hz};
use dpdk_sys::eal::Eal;
use dpdk_sys::lcore;
use dpdk_sys::mbuf::{PktBurst, BURST_CAPACITY};
use dpdk_sys::mempool::PktMempool;
use dpdk_sys::port::{self, Port, PortConfig, RxQueue, TxQueue};
use fwd_core::clock::TscClock;
use serde::Serialize;

use crate::profile::{parse_device, Profile, Rate, Spec, Stop, L1_OVERHEAD};
use crate::rate::TokenBucket;
use crate::sig;
use crate::stats::{LatencyReport, RxState, StreamReport};
use crate::template::Template;

/// The line-rate convention `rate_percent` and the reported L1 rates use.
pub const LINE_RATE_CONVENTION: &str =
    "Ethernet L1: frame size (FCS included) + 8 bytes preamble/SFD + 12 bytes inter-frame gap";

/// Options of one run beyond the profile.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Write the result as JSON here.
    pub json: Option<PathBuf>,
    /// EAL arguments appended after the profile's.
    pub eal_extra: Vec<String>,
}

/// Counters one lcore job publishes for the live line (single writer).
#[derive(Debug, Default)]
#[repr(align(64))]
struct Live {
    tx: AtomicU64,
    tx_bytes: AtomicU64,
    rx: AtomicU64,
    rx_matched: AtomicU64,
    done: AtomicBool,
}

/// Run-wide flags.
#[derive(Debug, Default)]
struct Control {
    /// TX jobs stop (duration reached, or a signal).
    stop_tx: AtomicBool,
    /// Everything stops (drained, or a signal).
    stop_all: AtomicBool,
}

/// One TX core's job.
///
/// The transmit loop is written for 64-byte frames at full speed: per burst bulk
/// allocation, one TSC reading (and one more for the token bucket when a rate is set) and
/// one `tx_burst`; per packet a copy of the template, the flow's UDP port and the
/// signature (plus STAMP fields and incremental UDP checksums where the template has
/// them), nothing else (see [`TxJob::build_runs`] for the fastest case). Flow streams are served round-robin, so the k-th flow packet of a
/// core goes to local flow `k % flows` with sequence number `k / flows`: per-flow counts
/// follow from the number of flow packets sent and need no per-packet bookkeeping, and the
/// packets a queue did not take stay at the end of the burst, in order.
struct TxJob<'a> {
    core: u32,
    txq: TxQueue<'a>,
    pool: &'a PktMempool,
    templates: &'a [Template],
    malformed_tpl: &'a [Template],
    schedule: &'a [u16],
    /// Global flow ids of this core's flows, and their UDP source ports.
    flows: Vec<u32>,
    flow_info: Vec<FlowInfo>,
    /// With one plain template of a size: every local flow's own copy of it, its port and
    /// signature head (magic, stream) written, back to back (empty: not used).
    flow_frames: Vec<u8>,
    /// The next flow packet goes to local flow `rr` with sequence number `round`.
    rr: usize,
    round: u64,
    /// Built-packet index (`built`) of the next malformed packet (`u64::MAX`: none).
    next_bad: u64,
    malformed_every: u64,
    malformed_seq: u64,
    src_port: u16,
    quota: Option<u64>,
    /// Packets built (malformed included), flow packets and malformed ones among them,
    /// and their bytes.
    built: u64,
    flow_built: u64,
    malformed_built: u64,
    built_bytes: u64,
    /// Packets the queue took.
    sent: u64,
    /// Bit i set: packet i of the burst is malformed (shifted as the queue takes packets).
    bad_mask: u64,
    /// Every template (malformed ones included) is plain, with this layout.
    plain: Option<Plain>,
    /// ... and this long (0: lengths differ).
    plain_len: usize,
    /// Templates carry STAMP fields (an NTP time per burst).
    stamp: bool,
    bucket: TokenBucket,
    burst_size: u32,
    burst: PktBurst,
    sched_pos: usize,
    clock: TscClock,
    alloc_failures: u64,
    live: &'a Live,
    done: bool,
    /// Set by `finish`: what was sent, from what was built less what was left unsent.
    flow_sent: u64,
    malformed_sent: u64,
    sent_bytes: u64,
}

/// The most bytes of per-flow frames a TX core keeps (beyond, every packet is patched from
/// the shared template): they should stay in L2.
const FLOW_FRAMES_MAX: usize = 256 * 1024;

/// A TX job's position in its flow round-robin and malformed-packet schedule (see
/// [`TxJob::cursor`]).
#[derive(Debug, Clone, Copy)]
struct Cursor {
    /// The next local flow.
    rr: usize,
    /// Completed passes over the flows: every flow packet's sequence number.
    round: u64,
    /// The packet number of the next malformed packet.
    next_bad: u64,
    /// The next malformed packet's sequence number.
    malformed_seq: u64,
}

impl Cursor {
    /// Moves to the next of `flows` flows, starting a new round after the last.
    #[inline(always)]
    fn next_flow(&mut self, flows: usize) {
        self.rr += 1;
        if self.rr == flows {
            self.rr = 0;
            self.round += 1;
        }
    }
}

/// What a flow packet carries of its flow.
#[derive(Debug, Clone, Copy)]
struct FlowInfo {
    stream: u32,
    port: u16,
}

/// Where the per-packet fields of a plain template are (see [`Template::is_plain`]): the
/// flow's UDP source port and the signature, nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Plain {
    port_off: usize,
    sig_off: usize,
    form: sig::Form,
}

impl Plain {
    fn of(t: &Template) -> Option<Plain> {
        t.is_plain().then(|| Plain {
            port_off: t.port_offs[0],
            sig_off: t.sig_off,
            form: t.form,
        })
    }

    /// The part of [`Plain::write`] that changes from packet to packet of one flow.
    #[inline(always)]
    fn write_seq_tsc(self, buf: &mut [u8], seq: u64, tsc: u64) {
        sig::write_seq_tsc(&mut buf[self.sig_off..], self.form, seq, tsc);
    }

    /// What [`Template::fill`] writes into a copy of a plain template.
    #[inline(always)]
    fn write(self, buf: &mut [u8], port: u16, stream: u32, seq: u64, tsc: u64) {
        buf[self.port_off..self.port_off + 2].copy_from_slice(&port.to_be_bytes());
        sig::write(&mut buf[self.sig_off..], self.form, stream, seq, tsc);
    }
}

/// The copy of a template into a fresh mbuf. `N` is the template's length when every
/// template of the run has it (the copy is then a few inlined vector moves instead of a
/// call to `memcpy`), or 0.
#[inline(always)]
fn copy_template<const N: usize>(m: &mut dpdk_sys::mbuf::Mbuf, bytes: &[u8]) -> bool {
    if N != 0 {
        match <&[u8; N]>::try_from(bytes) {
            Ok(b) => m.set_data(b),
            Err(_) => m.set_data(bytes),
        }
    } else {
        m.set_data(bytes)
    }
}

impl TxJob<'_> {
    /// One iteration; true if it did something.
    #[inline]
    fn step(&mut self, stop: bool) -> bool {
        if self.done {
            return false;
        }
        if stop {
            self.finish();
            return false;
        }
        if self.burst.is_empty() {
            let left = self.quota.map_or(u64::MAX, |q| q - self.built);
            if left == 0 {
                self.finish();
                return false;
            }
            let want = (self.burst_size as u64).min(left) as u32;
            let n = if self.bucket.unlimited() {
                want
            } else {
                self.bucket.available(rdtsc(), want)
            };
            if n == 0 {
                return false;
            }
            let single = self.schedule.len() == 1;
            let built = match (self.plain, self.plain_len) {
                (Some(p), 60) if single => self.build_runs::<60>(n, p),
                (Some(p), _) if single => self.build_runs::<0>(n, p),
                (Some(p), _) => self.build_plain::<0>(n, p),
                (None, _) => self.build(n),
            };
            self.bucket.consume(built);
            if built == 0 {
                return false;
            }
        }
        let sent = self.txq.tx_burst(&mut self.burst);
        if sent > 0 {
            self.bad_mask = self.bad_mask.checked_shr(sent as u32).unwrap_or(0);
            self.sent += sent as u64;
            self.live.tx.store(self.sent, Ordering::Relaxed);
            self.live
                .tx_bytes
                .store(self.built_bytes, Ordering::Relaxed);
        }
        if self.burst.is_empty() && self.quota == Some(self.built) {
            self.finish();
        }
        true
    }

    /// [`TxJob::build_plain`] for one template size, the 64-byte fast path: the mbufs
    /// are taken from the pool without DPDK's reset pass and each is reset, filled with
    /// its flow's frame and stamped (sequence number, TSC) in one pass while its header
    /// and data lines are hot ([`PktMempool::alloc_bulk_with`]), as testpmd's txonly does.
    ///
    /// [`PktMempool::alloc_bulk_with`]: dpdk_sys::mempool::PktMempool::alloc_bulk_with
    #[inline(always)]
    fn build_runs<const N: usize>(&mut self, n: u32, p: Plain) -> u32 {
        let tsc = rdtsc();
        let tpl = &self.templates[0].bytes;
        let bad_tpl = &self.malformed_tpl[0].bytes;
        let first = self.built;
        let nf = self.flows.len();
        let mut at = self.cursor();
        let malformed_every = self.malformed_every;
        let src_port = self.src_port;
        let mut bad_mask = 0u64;
        let mut ok = true;
        let l = tpl.len();
        let (flow_frames, flow_info) = (&self.flow_frames, &self.flow_info);
        let got = self
            .pool
            .alloc_bulk_with(&mut self.burst, n as usize, |k, m| {
                if first + k as u64 == at.next_bad {
                    at.next_bad = at.next_bad.saturating_add(malformed_every);
                    bad_mask |= 1 << k;
                    ok &= copy_template::<N>(m, bad_tpl);
                    p.write(
                        m.data_mut(),
                        src_port,
                        sig::MALFORMED,
                        at.malformed_seq,
                        tsc,
                    );
                    at.malformed_seq += 1;
                    return;
                }
                let rr = at.rr;
                if flow_frames.is_empty() {
                    let f = flow_info[rr];
                    ok &= copy_template::<N>(m, tpl);
                    p.write(m.data_mut(), f.port, f.stream, at.round, tsc);
                } else {
                    // The flow's own copy of the template (port and signature head written):
                    // per packet the copy, the sequence number and the timestamp.
                    ok &= copy_template::<N>(m, &flow_frames[rr * l..(rr + 1) * l]);
                    p.write_seq_tsc(m.data_mut(), at.round, tsc);
                }
                at.next_flow(nf);
            });
        self.commit_burst(got, ok, at, bad_mask, got as u64 * l as u64)
    }

    /// Where the flow round-robin and the malformed-packet schedule stand, for a builder
    /// to advance while it fills a burst and [`TxJob::commit_burst`] to store.
    #[inline(always)]
    fn cursor(&self) -> Cursor {
        Cursor {
            rr: self.rr,
            round: self.round,
            next_bad: self.next_bad,
            malformed_seq: self.malformed_seq,
        }
    }

    /// Accounts a burst a builder filled: `got` mbufs (0: the pool could not supply
    /// them), `ok` every copy fitted, `at` the cursor after them, `bad_mask` which are
    /// malformed, `bytes` their total length. Returns how many were built.
    #[inline(always)]
    fn commit_burst(&mut self, got: usize, ok: bool, at: Cursor, bad_mask: u64, bytes: u64) -> u32 {
        if got == 0 {
            self.alloc_failures += 1;
            return 0;
        }
        if !ok {
            // Cannot happen: see `build`.
            self.alloc_failures += 1;
            self.burst.free_all();
            self.done = true;
            return 0;
        }
        let bad = u64::from(bad_mask.count_ones());
        self.rr = at.rr;
        self.round = at.round;
        self.next_bad = at.next_bad;
        self.malformed_seq = at.malformed_seq;
        self.built += got as u64;
        self.flow_built += got as u64 - bad;
        self.malformed_built += bad;
        self.built_bytes += bytes;
        self.bad_mask = bad_mask;
        got as u32
    }

    /// [`TxJob::build`] for plain templates (see [`Plain`]): the per-packet work is the
    /// template copy and five fixed-size stores, done as each mbuf comes from the pool
    /// ([`TxJob::build_runs`]). `N`: see [`copy_template`].
    #[inline(always)]
    fn build_plain<const N: usize>(&mut self, n: u32, p: Plain) -> u32 {
        let tsc = rdtsc();
        let single = self.schedule.len() == 1;
        let first = self.built;
        let mut at = self.cursor();
        let mut sched_pos = self.sched_pos;
        let mut bad_mask = 0u64;
        let mut bytes = 0u64;
        let nf = self.flows.len();
        let mut ok = true;
        let (schedule, templates, malformed_tpl, flow_info) = (
            &self.schedule,
            self.templates,
            &self.malformed_tpl,
            &self.flow_info,
        );
        let (malformed_every, src_port) = (self.malformed_every, self.src_port);
        let got = self
            .pool
            .alloc_bulk_with(&mut self.burst, n as usize, |k, m| {
                let tpl_i = if single {
                    0
                } else {
                    let t = schedule[sched_pos];
                    sched_pos += 1;
                    if sched_pos == schedule.len() {
                        sched_pos = 0;
                    }
                    t as usize
                };
                let (tpl, port, stream, seq) = if first + k as u64 == at.next_bad {
                    at.next_bad = at.next_bad.saturating_add(malformed_every);
                    bad_mask |= 1 << k;
                    let seq = at.malformed_seq;
                    at.malformed_seq += 1;
                    (&malformed_tpl[tpl_i], src_port, sig::MALFORMED, seq)
                } else {
                    let (f, seq) = (flow_info[at.rr], at.round);
                    at.next_flow(nf);
                    (&templates[tpl_i], f.port, f.stream, seq)
                };
                ok &= copy_template::<N>(m, &tpl.bytes);
                bytes += tpl.bytes.len() as u64;
                p.write(m.data_mut(), port, stream, seq, tsc);
            });
        self.sched_pos = sched_pos;
        self.commit_burst(got, ok, at, bad_mask, bytes)
    }

    /// Builds `n` packets into the (empty) burst; returns how many (all or none).
    #[inline(always)]
    fn build(&mut self, n: u32) -> u32 {
        // One bulk allocation per burst (all or nothing), then fill the mbufs in place.
        let got = self.pool.alloc_bulk(&mut self.burst, n as usize);
        if got == 0 {
            self.alloc_failures += 1;
            return 0;
        }
        // One timestamp for the burst, taken once its mbufs are there, before writing them.
        let tsc = rdtsc();
        let ntp = if self.stamp {
            self.clock.ntp_at(tsc).0
        } else {
            0
        };
        let single = self.schedule.len() == 1;
        let first = self.built;
        let mut bad_mask = 0u64;
        let mut bytes = 0u64;
        let mut flow_pkts = 0u64;
        let mut ok = true;
        for (k, m) in self.burst.as_mut_slice().iter_mut().enumerate() {
            let tpl_i = if single {
                0
            } else {
                let t = self.schedule[self.sched_pos];
                self.sched_pos += 1;
                if self.sched_pos == self.schedule.len() {
                    self.sched_pos = 0;
                }
                t as usize
            };
            if first + k as u64 == self.next_bad {
                self.next_bad = self.next_bad.saturating_add(self.malformed_every);
                let tpl = &self.malformed_tpl[tpl_i];
                if !m.set_data(&tpl.bytes) {
                    ok = false;
                    break;
                }
                let seq = self.malformed_seq;
                self.malformed_seq += 1;
                tpl.fill(m.data_mut(), self.src_port, sig::MALFORMED, seq, ntp, tsc);
                bad_mask |= 1 << k;
                bytes += tpl.bytes.len() as u64;
            } else {
                let tpl = &self.templates[tpl_i];
                if !m.set_data(&tpl.bytes) {
                    ok = false;
                    break;
                }
                let local = self.rr;
                tpl.fill(
                    m.data_mut(),
                    self.flow_info[local].port,
                    self.flow_info[local].stream,
                    self.round,
                    ntp,
                    tsc,
                );
                self.rr += 1;
                if self.rr == self.flows.len() {
                    self.rr = 0;
                    self.round += 1;
                }
                flow_pkts += 1;
                bytes += tpl.bytes.len() as u64;
            }
        }
        if !ok {
            // Cannot happen (data_room is checked against the largest frame); never send
            // half-built mbufs: give them all back. The flow and sequence counters moved
            // on, which the receiver sees as loss: count it as allocation failure.
            self.alloc_failures += 1;
            self.burst.free_all();
            self.done = true;
            return 0;
        }
        self.built += got as u64;
        self.flow_built += flow_pkts;
        self.malformed_built += u64::from(bad_mask.count_ones());
        self.built_bytes += bytes;
        self.bad_mask = bad_mask;
        got as u32
    }

    fn finish(&mut self) {
        // Packets built but never accepted are freed and not counted as sent: they are the
        // last ones built, in order.
        let left = self.burst.len();
        let left_bytes: u64 = self
            .burst
            .as_mut_slice()
            .iter()
            .map(|m| m.data_len() as u64)
            .sum();
        let keep = if left >= 64 {
            u64::MAX
        } else {
            (1u64 << left) - 1
        };
        let left_bad = u64::from((self.bad_mask & keep).count_ones());
        self.malformed_sent = self.malformed_built - left_bad;
        self.flow_sent = self.flow_built - (left as u64 - left_bad);
        self.sent_bytes = self.built_bytes - left_bytes;
        self.burst.free_all();
        self.done = true;
        self.live.tx_bytes.store(self.sent_bytes, Ordering::Relaxed);
        self.live.done.store(true, Ordering::Release);
    }

    /// Packets sent per local flow (round-robin from local flow 0).
    fn sent_per_flow(&self) -> Vec<u64> {
        let nf = self.flows.len() as u64;
        (0..nf)
            .map(|f| self.flow_sent / nf + u64::from(f < self.flow_sent % nf))
            .collect()
    }
}

/// The RX job.
struct RxJob<'a> {
    rxq: RxQueue<'a>,
    state: RxState,
    burst: PktBurst,
    sig_off: usize,
    sig_from_end: usize,
    streams: u32,
    received: u64,
    received_bytes: u64,
    live: &'a Live,
}

impl RxJob<'_> {
    #[inline]
    fn step(&mut self) -> bool {
        let n = self.rxq.rx_burst(&mut self.burst, BURST_CAPACITY);
        if n == 0 {
            return false;
        }
        let now = rdtsc();
        for m in self.burst.as_mut_slice() {
            let d = m.data();
            let f = sig::find(d, self.sig_off, self.sig_from_end, self.streams);
            self.state.record(f, d.len(), now);
            self.received_bytes += m.pkt_len() as u64;
        }
        self.burst.free_all();
        self.received += n as u64;
        self.live.rx.store(self.received, Ordering::Relaxed);
        self.live
            .rx_matched
            .store(self.state.matched, Ordering::Relaxed);
        true
    }
}

/// What one lcore ran, handed back after the run.
struct LcoreOut {
    lcore: u32,
    tx: Vec<TxOut>,
    rx: Option<RxOut>,
}

struct TxOut {
    core: u32,
    flows: Vec<u32>,
    sent_per_flow: Vec<u64>,
    sent: u64,
    sent_bytes: u64,
    malformed_sent: u64,
    alloc_failures: u64,
}

struct RxOut {
    state: RxState,
    received: u64,
    received_bytes: u64,
}

fn lcore_loop(
    lcore: u32,
    mut txs: Vec<TxJob<'_>>,
    mut rx: Option<RxJob<'_>>,
    ctl: &Control,
    idle_loops: u32,
    idle_sleep: Duration,
) -> LcoreOut {
    let mut idle = 0u32;
    loop {
        let stop_tx = ctl.stop_tx.load(Ordering::Relaxed);
        let mut work = false;
        for t in txs.iter_mut() {
            work |= t.step(stop_tx);
        }
        if let Some(r) = rx.as_mut() {
            work |= r.step();
        }
        let tx_done = txs.iter().all(|t| t.done);
        if tx_done && (rx.is_none() || ctl.stop_all.load(Ordering::Relaxed)) {
            break;
        }
        if work {
            idle = 0;
        } else if idle_loops > 0 {
            idle += 1;
            if idle >= idle_loops {
                std::thread::sleep(idle_sleep);
                idle = 0;
            }
        }
    }
    LcoreOut {
        lcore,
        tx: txs
            .into_iter()
            .map(|t| TxOut {
                core: t.core,
                sent_per_flow: t.sent_per_flow(),
                flows: t.flows,
                sent: t.sent,
                sent_bytes: t.sent_bytes,
                malformed_sent: t.malformed_sent,
                alloc_failures: t.alloc_failures,
            })
            .collect(),
        rx: rx.map(|r| RxOut {
            state: r.state,
            received: r.received,
            received_bytes: r.received_bytes,
        }),
    }
}

/// Transmit totals.
#[derive(Debug, Serialize)]
pub struct TxReport {
    /// Packets accepted by the TX queues (malformed included).
    pub packets: u64,
    /// Their bytes, FCS excluded.
    pub bytes: u64,
    /// Malformed packets among them.
    pub malformed: u64,
    /// Packets per second over the TX time.
    pub pps: f64,
    /// Bits per second on the wire (L1 convention, see `line_rate_convention`).
    pub l1_bps: f64,
    /// Mbuf allocation failures (pool exhausted: raise mempool.mbufs).
    pub alloc_failures: u64,
}

/// Receive totals.
#[derive(Debug, Serialize)]
pub struct RxReport {
    /// All packets received on the RX port.
    pub packets: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Packets whose signature names a flow stream.
    pub matched: u64,
    /// Packets carrying the malformed stream's signature (the DUT forwarded them).
    pub malformed: u64,
    /// Packets without a signature.
    pub unmatched: u64,
    /// Matched packets per second over the TX time.
    pub pps: f64,
    /// Latency samples dropped because RX TSC < TX TSC.
    pub clock_errors: u64,
}

/// Flow-stream totals (malformed packets excluded).
#[derive(Debug, Serialize)]
pub struct Totals {
    /// Packets sent on flow streams.
    pub sent: u64,
    /// Received (duplicates included).
    pub received: u64,
    /// Lost.
    pub lost: u64,
    /// Reordered.
    pub reordered: u64,
    /// Duplicates.
    pub duplicates: u64,
}

/// A port's driver counters at the end.
#[derive(Debug, Serialize)]
pub struct PortReport {
    /// Profile name.
    pub name: String,
    /// DPDK port id.
    pub id: u16,
    /// Device name.
    pub device: String,
    /// Packets received.
    pub ipackets: u64,
    /// Packets sent.
    pub opackets: u64,
    /// Bytes received.
    pub ibytes: u64,
    /// Bytes sent.
    pub obytes: u64,
    /// Missed (RX ring full).
    pub imissed: u64,
    /// RX errors.
    pub ierrors: u64,
    /// TX errors.
    pub oerrors: u64,
    /// RX without mbuf.
    pub rx_nombuf: u64,
}

/// One lcore's share.
#[derive(Debug, Serialize)]
pub struct LcoreReport {
    /// Lcore id.
    pub lcore: u32,
    /// TX cores it ran.
    pub tx_cores: Vec<u32>,
    /// Packets it sent.
    pub tx_packets: u64,
    /// Packets it received.
    pub rx_packets: u64,
}

/// The result of a run (the JSON file).
#[derive(Debug, Serialize)]
pub struct Report {
    /// Profile file.
    pub profile: String,
    /// Protocol.
    pub protocol: &'static str,
    /// DPDK version EAL ran on.
    pub dpdk_version: String,
    /// TSC frequency.
    pub tsc_hz: u64,
    /// How line rate is counted.
    pub line_rate_convention: &'static str,
    /// Target rate in pps over all TX cores (None: unlimited).
    pub target_pps: Option<f64>,
    /// Frame sizes (FCS included) and weights.
    pub sizes: Vec<(u32, u32)>,
    /// Flows.
    pub flows: u32,
    /// TX cores.
    pub tx_cores: u32,
    /// Seconds from start until the last TX core finished.
    pub tx_seconds: f64,
    /// Seconds from start until the end (drain included).
    pub seconds: f64,
    /// Transmit totals.
    pub tx: TxReport,
    /// Receive totals (zero without an RX port).
    pub rx: RxReport,
    /// Flow-stream totals.
    pub totals: Totals,
    /// Latency of matched packets, ns.
    pub latency_ns: LatencyReport,
    /// Per stream.
    pub streams: Vec<StreamReport>,
    /// Per port (driver counters).
    pub ports: Vec<PortReport>,
    /// Per lcore.
    pub lcores: Vec<LcoreReport>,
}

/// The size schedule: template indices interleaved by smooth weighted round-robin, so a
/// mix `[[64, 7], [576, 4], [1518, 1]]` repeats a 12-packet pattern without long runs.
pub fn size_schedule(weights: &[u32]) -> Vec<u16> {
    let total: i64 = weights.iter().map(|w| i64::from(*w)).sum();
    let mut current: Vec<i64> = vec![0; weights.len()];
    let mut out = Vec::with_capacity(total as usize);
    for _ in 0..total {
        for (c, w) in current.iter_mut().zip(weights) {
            *c += i64::from(*w);
        }
        let (best, _) = current
            .iter()
            .enumerate()
            .max_by_key(|(i, c)| (**c, -(*i as i64)))
            .expect("at least one size");
        current[best] -= total;
        out.push(best as u16);
    }
    out
}

/// Starts a port and waits for its link, for up to `wait` in all. A start that fails is
/// retried (a memif client cannot start before its server has created the socket), and a
/// link still down after a second is restarted (a memif handshake with a server that was
/// not yet ready is not retried by the driver).
fn bring_up(port: &mut Port, name: &str, wait: Duration) -> Result<dpdk_sys::port::LinkStatus> {
    let start = Instant::now();
    loop {
        match port.start() {
            Ok(()) => {
                let attempt = Instant::now();
                while attempt.elapsed() < Duration::from_secs(1) {
                    let l = port.link().with_context(|| format!("port {name:?}: link"))?;
                    if l.up {
                        return Ok(l);
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                if start.elapsed() >= wait {
                    bail!(
                        "port {name:?} ({}): link still down after {wait:?} (memif: is the peer running, with the other role on the same socket, and does the server have as many RX queues as traffic.tx_cores?)",
                        port.name()
                    );
                }
                tracing::debug!(port = name, "link down: restarting the port");
                port.stop()
                    .with_context(|| format!("stopping port {name:?}"))?;
            }
            Err(e) if start.elapsed() < wait => {
                tracing::debug!(port = name, error = %e, "start failed: retrying");
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => {
                return Err(e).with_context(|| {
                    format!(
                        "starting port {name:?} (retried for {wait:?}; memif client: is the server running on that socket?)"
                    )
                })
            }
        }
    }
}

/// Moves the calling (non-EAL) thread to a core no lcore runs on, if there is one.
fn pin_off(cores: &[u32]) {
    let free = core_affinity::get_core_ids()
        .unwrap_or_default()
        .into_iter()
        .find(|c| !cores.contains(&(c.id as u32)));
    if let Some(core) = free {
        core_affinity::set_for_current(core);
    }
}

/// Runs the profile: sends, receives, prints the live line, returns the result.
pub fn run(profile: &Profile, spec: &Spec, file: &Path, opts: &RunOptions) -> Result<Report> {
    let signal = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(sig, 130, Arc::clone(&signal))
            .context("installing signal handler")?;
        signal_hook::flag::register(sig, Arc::clone(&signal))
            .context("installing signal handler")?;
    }
    let args = profile.eal_args(&opts.eal_extra);
    tracing::info!(?args, "initialising EAL");
    let eal = Eal::init(&args).context("EAL init (check [eal].args and the port devices)")?;
    let lcores: Vec<u32> = std::iter::once(lcore::main_lcore())
        .chain(lcore::worker_lcores())
        .collect();
    let hz = tsc_hz();
    let m = &profile.mempool;
    let pool = Arc::new(
        PktMempool::create("pktgen", m.mbufs, m.cache, m.data_room, eal.socket_id())
            .context("creating the mbuf pool (with --no-huge, keep mempool.mbufs within -m)")?,
    );

    // Ports: the TX port gets one TX queue per TX core; the RX port one RX queue.
    let mut ports: Vec<Option<Port>> = Vec::new();
    let mut speeds: Vec<u32> = Vec::new();
    for (i, p) in profile.ports.iter().enumerate() {
        let is_tx = i == spec.tx_port;
        let is_rx = spec.rx_port == Some(i);
        if !is_tx && !is_rx {
            tracing::warn!(port = %p.name, "port is neither traffic.tx_port nor rx_port: left unconfigured");
            ports.push(None);
            speeds.push(0);
            continue;
        }
        let dev = parse_device(&p.device).context("validated device")?;
        let id = port::id_by_name(dev.name()).with_context(|| {
            format!("port {:?}: device {:?} did not appear", p.name, dev.name())
        })?;
        let pc = PortConfig {
            rx_queues: u16::from(is_rx),
            tx_queues: if is_tx { spec.tx_cores as u16 } else { 1 },
            rx_desc: p.rx_desc,
            tx_desc: p.tx_desc,
            promiscuous: p.promiscuous,
        };
        let mut port = Port::configure(id, &pc, Arc::clone(&pool))
            .with_context(|| format!("configuring port {:?}", p.name))?;
        let link = bring_up(
            &mut port,
            &p.name,
            Duration::from_millis(profile.run.link_wait_ms),
        )?;
        tracing::info!(port = %p.name, id, device = port.name(), speed_mbps = link.speed_mbps, "port up");
        speeds.push(p.speed_mbps.unwrap_or(link.speed_mbps));
        ports.push(Some(port));
    }
    let tx_port = ports[spec.tx_port].as_ref().context("TX port configured")?;

    // Rate.
    let target_pps = match spec.rate {
        Rate::Unlimited => None,
        Rate::Pps(p) => Some(p),
        Rate::Percent(pct) => {
            let speed = speeds[spec.tx_port];
            if speed == 0 {
                bail!(
                    "{}: field `port[{}].speed_mbps`: expected a link speed for traffic.rate_percent, got none (the device reports no speed: set speed_mbps or use rate_pps)",
                    file.display(),
                    spec.tx_port
                );
            }
            Some(spec.line_rate_pps(speed) * pct / 100.0)
        }
    };

    // Templates, one per size, and their malformed variants.
    let src_mac = spec.src_mac.unwrap_or_else(|| tx_port.mac());
    let templates: Vec<Template> = spec
        .sizes
        .iter()
        .map(|(s, _)| Template::build(spec, src_mac, *s, false))
        .collect();
    let malformed: Vec<Template> = spec
        .sizes
        .iter()
        .map(|(s, _)| Template::build(spec, src_mac, *s, true))
        .collect();
    let weights: Vec<u32> = spec.sizes.iter().map(|s| s.1).collect();
    let schedule = size_schedule(&weights);
    for t in &templates {
        tracing::info!(layout = %t.describe(spec), "template");
    }

    // Jobs.
    let (tx_slots, rx_slot) = spec.layout(lcores.len());
    let n_tx = spec.tx_cores as usize;
    let lives: Vec<Live> = (0..n_tx + 1).map(|_| Live::default()).collect();
    let per_core_pps = target_pps.map(|p| p / n_tx as f64);
    let idle_sleep = Duration::from_micros(u64::from(profile.run.idle_sleep_us));
    let cap = per_core_pps.map_or(spec.burst, |p| {
        let catch_up = p * (0.010 + idle_sleep.as_secs_f64());
        (catch_up.ceil() as u32).max(spec.burst * 2)
    });
    let clock = TscClock::anchored(rdtsc(), hz);
    let all_tpl = || templates.iter().chain(&malformed);
    // The fast path's conditions: one plain layout for every template; one length.
    let plain = templates
        .first()
        .and_then(Plain::of)
        .filter(|p| all_tpl().all(|t| Plain::of(t) == Some(*p)));
    let plain_len = match templates.first() {
        Some(t) if all_tpl().all(|x| x.bytes.len() == t.bytes.len()) => t.bytes.len(),
        _ => 0,
    };
    let stamp = all_tpl().any(|t| t.stamp_off.is_some());
    let mut per_slot_tx: Vec<Vec<TxJob<'_>>> = (0..lcores.len()).map(|_| Vec::new()).collect();
    for c in 0..n_tx {
        let flows: Vec<u32> = (0..spec.flows)
            .filter(|f| *f as usize % n_tx == c)
            .collect();
        let quota = match spec.stop {
            Stop::Count(n) => Some(n / n_tx as u64 + u64::from((c as u64) < n % n_tx as u64)),
            Stop::Duration(_) => None,
        };
        per_slot_tx[tx_slots[c]].push(TxJob {
            core: c as u32,
            txq: tx_port.tx_queue(c as u16)?,
            pool: &pool,
            templates: &templates,
            malformed_tpl: &malformed,
            schedule: &schedule,
            flow_info: flows
                .iter()
                .map(|f| FlowInfo {
                    stream: *f,
                    port: spec.src_port.wrapping_add(*f as u16),
                })
                .collect(),
            flow_frames: match plain {
                Some(p) if schedule.len() == 1 && flows.len() * plain_len <= FLOW_FRAMES_MAX => {
                    let t = &templates[0];
                    let mut b = Vec::with_capacity(flows.len() * t.bytes.len());
                    for f in &flows {
                        let at = b.len();
                        b.extend_from_slice(&t.bytes);
                        p.write(
                            &mut b[at..],
                            spec.src_port.wrapping_add(*f as u16),
                            *f,
                            0,
                            0,
                        );
                    }
                    b
                }
                _ => Vec::new(),
            },
            flows,
            rr: 0,
            round: 0,
            next_bad: match spec.malformed_every {
                Some(every) if every > 0 => every - 1,
                _ => u64::MAX,
            },
            malformed_every: spec.malformed_every.unwrap_or(0),
            malformed_seq: 0,
            src_port: spec.src_port,
            quota,
            built: 0,
            flow_built: 0,
            malformed_built: 0,
            built_bytes: 0,
            sent: 0,
            bad_mask: 0,
            plain,
            plain_len,
            stamp,
            bucket: TokenBucket::new(per_core_pps, hz, cap, rdtsc()),
            burst_size: spec.burst,
            burst: PktBurst::new(),
            sched_pos: 0,
            clock,
            alloc_failures: 0,
            live: &lives[c],
            done: false,
            flow_sent: 0,
            malformed_sent: 0,
            sent_bytes: 0,
        });
    }
    let mut rx_job = match spec.rx_port {
        None => None,
        Some(i) => Some(RxJob {
            rxq: ports[i]
                .as_ref()
                .context("RX port configured")?
                .rx_queue(0)?,
            state: RxState::new(spec.flows, hz),
            burst: PktBurst::new(),
            sig_off: templates[0].sig_off,
            sig_from_end: templates[0].sig_from_end(),
            streams: spec.flows,
            received: 0,
            received_bytes: 0,
            live: &lives[n_tx],
        }),
    };
    let used = if spec.rx_port.is_some() {
        (tx_slots.iter().copied().max().unwrap_or(0)).max(rx_slot) + 1
    } else {
        tx_slots.iter().copied().max().unwrap_or(0) + 1
    };
    let mut slot_jobs: Vec<(u32, Vec<TxJob<'_>>, Option<RxJob<'_>>)> = Vec::new();
    for (slot, txs) in per_slot_tx.into_iter().enumerate().take(used) {
        let rx = if slot == rx_slot { rx_job.take() } else { None };
        slot_jobs.push((lcores[slot], txs, rx));
    }
    drop(rx_job);

    let ctl = Control::default();
    let results: Vec<Mutex<Option<LcoreOut>>> =
        slot_jobs.iter().map(|_| Mutex::new(None)).collect();
    let started = Instant::now();
    let tx_end: Mutex<Option<Instant>> = Mutex::new(None);
    tracing::info!(
        lcores = used,
        tx_cores = n_tx,
        target_pps = ?target_pps,
        "running (SIGINT or SIGTERM stops it)"
    );
    let idle_loops = profile.run.idle_loops;
    let (launch, codes) = lcore::scope(|s| -> Result<()> {
        let mut jobs = slot_jobs.into_iter().enumerate();
        let (_, main_job) = jobs.next().context("at least one lcore")?;
        for (i, (lc, txs, rx)) in jobs {
            let (ctl, out) = (&ctl, &results[i]);
            s.launch(lc, move || {
                let r = lcore_loop(lc, txs, rx, ctl, idle_loops, idle_sleep);
                *out.lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
                0
            })?;
        }
        std::thread::scope(|ts| {
            let (ctl, lives, signal, tx_end) = (&ctl, &lives, &signal, &tx_end);
            let cores = &profile.run.cores;
            ts.spawn(move || {
                pin_off(cores);
                monitor(ctl, lives, n_tx, signal, spec, profile, started, tx_end);
            });
            let (lc, txs, rx) = main_job;
            let r = lcore_loop(lc, txs, rx, ctl, idle_loops, idle_sleep);
            *results[0].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
        });
        Ok(())
    });
    // Whatever happened at launch, make every loop stop before reporting.
    ctl.stop_tx.store(true, Ordering::Relaxed);
    ctl.stop_all.store(true, Ordering::Relaxed);
    launch?;
    for (lc, rc) in codes {
        if rc != 0 {
            tracing::warn!(lcore = lc, rc, "lcore returned an error");
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let tx_seconds = tx_end
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .map_or(seconds, |t| (t - started).as_secs_f64());

    // Collect.
    let outs: Vec<LcoreOut> = results
        .into_iter()
        .filter_map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()))
        .collect();
    let mut sent_per_stream = vec![0u64; spec.flows as usize];
    let mut stream_core = vec![0u32; spec.flows as usize];
    let (mut tx_pkts, mut tx_bytes, mut tx_bad, mut alloc_fail) = (0, 0, 0, 0);
    let mut rx = RxState::new(spec.flows, hz);
    let (mut rx_all, mut rx_bytes) = (0, 0);
    let mut lcore_reports = Vec::new();
    for o in &outs {
        let mut lr = LcoreReport {
            lcore: o.lcore,
            tx_cores: Vec::new(),
            tx_packets: 0,
            rx_packets: 0,
        };
        for t in &o.tx {
            for (f, n) in t.flows.iter().zip(&t.sent_per_flow) {
                sent_per_stream[*f as usize] += n;
                stream_core[*f as usize] = t.core;
            }
            tx_pkts += t.sent;
            tx_bytes += t.sent_bytes;
            tx_bad += t.malformed_sent;
            alloc_fail += t.alloc_failures;
            lr.tx_cores.push(t.core);
            lr.tx_packets += t.sent;
        }
        if let Some(r) = &o.rx {
            rx.merge(&r.state);
            rx_all += r.received;
            rx_bytes += r.received_bytes;
            lr.rx_packets = r.received;
        }
        lcore_reports.push(lr);
    }
    let streams: Vec<StreamReport> = (0..spec.flows)
        .map(|f| {
            let mut s = StreamReport::new(
                f,
                spec.src_port.wrapping_add(f as u16),
                stream_core[f as usize],
                sent_per_stream[f as usize],
                &rx.streams[f as usize],
            );
            if spec.rx_port.is_none() {
                s.lost = 0; // send only: nothing is measured
            }
            s
        })
        .collect();
    let totals = Totals {
        sent: streams.iter().map(|s| s.sent).sum(),
        received: streams.iter().map(|s| s.received).sum(),
        lost: streams.iter().map(|s| s.lost).sum(),
        reordered: streams.iter().map(|s| s.reordered).sum(),
        duplicates: streams.iter().map(|s| s.duplicates).sum(),
    };
    let mut port_reports = Vec::new();
    for (p, pc) in ports.iter().zip(&profile.ports) {
        if let Some(p) = p {
            let s = p.stats().unwrap_or_default();
            port_reports.push(PortReport {
                name: pc.name.clone(),
                id: p.id(),
                device: p.name().to_string(),
                ipackets: s.ipackets,
                opackets: s.opackets,
                ibytes: s.ibytes,
                obytes: s.obytes,
                imissed: s.imissed,
                ierrors: s.ierrors,
                oerrors: s.oerrors,
                rx_nombuf: s.rx_nombuf,
            });
        }
    }
    // Queue handles are gone with the jobs; stop and close the ports, then the pool, then EAL.
    drop(outs);
    drop(ports);
    drop(pool);
    let tx_secs = tx_seconds.max(1e-9);
    let report = Report {
        profile: file.display().to_string(),
        protocol: spec.protocol.name(),
        dpdk_version: dpdk_sys::eal::version(),
        tsc_hz: hz,
        line_rate_convention: LINE_RATE_CONVENTION,
        target_pps,
        sizes: spec.sizes.clone(),
        flows: spec.flows,
        tx_cores: spec.tx_cores,
        tx_seconds,
        seconds,
        tx: TxReport {
            packets: tx_pkts,
            bytes: tx_bytes,
            malformed: tx_bad,
            pps: tx_pkts as f64 / tx_secs,
            l1_bps: (tx_bytes + tx_pkts * u64::from(L1_OVERHEAD + 4)) as f64 * 8.0 / tx_secs,
            alloc_failures: alloc_fail,
        },
        rx: RxReport {
            packets: rx_all,
            bytes: rx_bytes,
            matched: rx.matched,
            malformed: rx.malformed,
            unmatched: rx.unmatched,
            pps: rx.matched as f64 / tx_secs,
            clock_errors: rx.clock_errors,
        },
        totals,
        latency_ns: LatencyReport::of(&rx.latency),
        streams,
        ports: port_reports,
        lcores: lcore_reports,
    };
    if let Some(path) = &opts.json {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?;
    }
    drop(eal);
    Ok(report)
}

fn sum_live(lives: &[Live], n_tx: usize) -> (u64, u64, u64, u64, usize) {
    let mut tx = 0;
    let mut txb = 0;
    let mut done = 0;
    for l in &lives[..n_tx] {
        tx += l.tx.load(Ordering::Relaxed);
        txb += l.tx_bytes.load(Ordering::Relaxed);
        done += usize::from(l.done.load(Ordering::Acquire));
    }
    let rx = lives[n_tx].rx.load(Ordering::Relaxed);
    let matched = lives[n_tx].rx_matched.load(Ordering::Relaxed);
    (tx, txb, rx, matched, done)
}

/// Prints the live line, ends TX after the duration, ends the run once drained.
#[allow(clippy::too_many_arguments)]
fn monitor(
    ctl: &Control,
    lives: &[Live],
    n_tx: usize,
    signal: &AtomicBool,
    spec: &Spec,
    profile: &Profile,
    started: Instant,
    tx_end: &Mutex<Option<Instant>>,
) {
    let tick = Duration::from_millis(10);
    let interval = Duration::from_millis(profile.run.stats_interval_ms);
    let drain = Duration::from_millis(profile.run.drain_ms);
    let mut last_print = started;
    let mut last = (0u64, 0u64, 0u64);
    let mut last_rx = 0u64;
    let mut last_rx_change = Instant::now();
    let mut done_at: Option<Instant> = None;
    while !ctl.stop_all.load(Ordering::Relaxed) {
        std::thread::sleep(tick);
        let now = Instant::now();
        let (tx, txb, rx, matched, done) = sum_live(lives, n_tx);
        if signal.load(Ordering::Relaxed) {
            tracing::info!("signal: stopping");
            ctl.stop_tx.store(true, Ordering::Relaxed);
            ctl.stop_all.store(true, Ordering::Relaxed);
        }
        if let Stop::Duration(d) = spec.stop {
            if now - started >= d {
                ctl.stop_tx.store(true, Ordering::Relaxed);
            }
        }
        if rx != last_rx {
            last_rx = rx;
            last_rx_change = now;
        }
        if done == n_tx && done_at.is_none() {
            done_at = Some(now);
            *tx_end.lock().unwrap_or_else(|e| e.into_inner()) = Some(now);
        }
        if let Some(d) = done_at {
            // Drained: everything came back, or nothing arrived for drain_ms since the end.
            let quiet = now - last_rx_change.max(d) >= drain;
            if spec.rx_port.is_none() || matched >= tx || quiet {
                ctl.stop_all.store(true, Ordering::Relaxed);
            }
        }
        if !interval.is_zero() && now - last_print >= interval {
            let dt = (now - last_print).as_secs_f64();
            let loss = tx.saturating_sub(matched);
            let mut out = std::io::stdout().lock();
            let head = format!(
                "[{:7.1}s] tx {:8.3} Mpps {:8.3} Gb/s",
                (now - started).as_secs_f64(),
                (tx - last.0) as f64 / dt / 1e6,
                ((txb - last.1) + (tx - last.0) * u64::from(L1_OVERHEAD + 4)) as f64 * 8.0
                    / dt
                    / 1e9,
            );
            let _ =
                if spec.rx_port.is_some() {
                    writeln!(
                    out,
                    "{head} | rx {:8.3} Mpps | sent {tx} received {matched} loss {loss} ({:.3}%)",
                    (matched - last.2) as f64 / dt / 1e6,
                    if tx > 0 { loss as f64 * 100.0 / tx as f64 } else { 0.0 }
                )
                } else {
                    writeln!(out, "{head} | sent {tx} (send only)")
                };
            last = (tx, txb, matched);
            last_print = now;
        }
    }
}

/// Prints the result for an operator.
pub fn print_report(out: &mut impl Write, r: &Report) -> std::io::Result<()> {
    writeln!(
        out,
        "== pktgen result: {} ({}, {:.2} s sending, {:.2} s total) ==",
        r.protocol, r.dpdk_version, r.tx_seconds, r.seconds
    )?;
    writeln!(
        out,
        "tx {} pkts ({} malformed) {:.3} Mpps {:.3} Gb/s L1 | rx {} pkts, {} matched, {} malformed, {} without signature",
        r.tx.packets,
        r.tx.malformed,
        r.tx.pps / 1e6,
        r.tx.l1_bps / 1e9,
        r.rx.packets,
        r.rx.matched,
        r.rx.malformed,
        r.rx.unmatched
    )?;
    let t = &r.totals;
    writeln!(
        out,
        "streams: sent {} received {} lost {} reordered {} duplicates {}",
        t.sent, t.received, t.lost, t.reordered, t.duplicates
    )?;
    let l = &r.latency_ns;
    writeln!(
        out,
        "latency ns: samples {} min {} p50 {} p99 {} p99.9 {} max {} mean {:.0}",
        l.samples, l.min, l.p50, l.p99, l.p999, l.max, l.mean
    )?;
    for p in &r.ports {
        writeln!(
            out,
            "port {} ({}): ipackets {} opackets {} imissed {} ierrors {} oerrors {} rx_nombuf {}",
            p.name, p.device, p.ipackets, p.opackets, p.imissed, p.ierrors, p.oerrors, p.rx_nombuf
        )?;
    }
    if r.tx.alloc_failures > 0 {
        writeln!(
            out,
            "warning: {} mbuf allocation failures (raise mempool.mbufs)",
            r.tx.alloc_failures
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_interleaves_by_weight() {
        let s = size_schedule(&[7, 4, 1]);
        assert_eq!(s.len(), 12);
        for (i, w) in [7, 4, 1].iter().enumerate() {
            assert_eq!(s.iter().filter(|x| **x as usize == i).count(), *w);
        }
        assert!(
            !s.windows(3).any(|w| w.iter().all(|x| *x == 1)),
            "no run of three 576s: {s:?}"
        );
        assert_eq!(size_schedule(&[1]), vec![0]);
    }
}
